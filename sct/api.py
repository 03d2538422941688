"""sct's public functions: grad, value_and_grad, jvp, vjp, source.

Each takes an ordinary Python function — or a bound method, classmethod,
``functools.partial`` or callable object, whose function sct reads with what it
binds (self, cls, the partial's arguments) supplied at each call — and returns a
new function that keeps the signature a caller sees (keywords and defaults work;
``wrt`` counts the parameters a call passes).  The derivative program is
generated on the first call, specialised to the kinds of the arguments (numbers,
arrays, lists, dicts and records with their keys and their items' kinds), cached,
and readable with :func:`source`.  An argument may be a pytree (a list, tuple,
dict, NamedTuple or dataclass instance of numbers and arrays, see
:mod:`sct.pytree`): its derivatives have its structure.
"""
from __future__ import annotations

import copy
import functools
import inspect
import sys
import types
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence, Union

import numpy as np

from . import pytree
from .analysis import ARRAY, SCALAR, kind_of_value
from .checkpoint import check_option
from .compiler import BATCHED, CALLS, FORWARD, GRADIENT, REVERSE, VMAP, Derived, called_programs, cached, derive
from .errors import ArgumentError, NotBatchable, SourceError
from .names import stem
from .runtime import expand, zeros_like
from .runtime.batched import direction
from .runtime.namespace import (NUMPY, broadcast_to, dispatch_for, is_array, is_numpy, name_of, namespace,
                                rebound)

Wrt = Union[int, str, Sequence[Union[int, str]]]


@dataclass(frozen=True)
class _Spec:
    """A function and the parameters to differentiate it with respect to."""

    fn: Callable  # a Python function (or a derivative sct made): what sct reads, with its full signature
    wrt: tuple[str, ...]
    single: bool
    signature: inspect.Signature  # fn's: calls reaching the spec carry every argument (self, a partial's, ...)
    checkpoint: Any = None  # reverse mode: how loops are checkpointed (sct/checkpoint.py); None: a full tape
    calls: str | None = None  # reverse mode: calls of your functions in "joint" or "split" mode; None: chosen
    programs: dict = field(default_factory=dict, compare=False, repr=False)  # (mode, kinds) -> Derived
    target: "_Target | None" = field(default=None, compare=False, repr=False)  # what the user gave, bound how
    fixed: int = 0  # leading parameters the binding supplies (a method's self, a partial's arguments)
    raw_wrt: Any = field(default=None, compare=False, repr=False)  # wrt as given (positions, names)

    def program(self, mode: str, bound: inspect.BoundArguments) -> Derived:
        """The derivative program for these arguments' kinds (a dict lookup after the first call)."""
        kinds = self.kinds(bound)
        library = _library(bound.arguments.values())
        key = (mode, tuple(kinds.values())) + (() if library == NUMPY else (library,))
        derived = self.programs.get(key)
        if derived is None or derived.fn is None or not derived.fresh():
            derived = self.programs[key] = _in_library(derive(self.fn, mode, self.wrt, kinds, self.checkpoint,
                                                              self.calls), library, bound.arguments.values())
        return derived

    def quick_program(self, mode: str, args: tuple) -> Derived | None:
        """The program for a plain call (every parameter passed positionally, each a float (or NumPy float64)
        or a float64 array) when it is already built and fresh; else None (take the general path)."""
        if len(args) != len(self.signature.parameters) or not self.all_positional:
            return None
        kinds = [kind_of_value(a) for a in args[:self.fixed]]  # (self, or a partial's arguments)
        for a in args[self.fixed:]:
            if type(a) is float or type(a) is np.float64:
                kinds.append(SCALAR)
            elif type(a) is np.ndarray and a.dtype == np.float64:
                kinds.append(ARRAY)
            else:
                return None
        derived = self.programs.get((mode, tuple(kinds)))
        return derived if derived is not None and derived.fn is not None and derived.fresh() else None

    @functools.cached_property
    def all_positional(self) -> bool:
        return all(p.kind is p.POSITIONAL_OR_KEYWORD for p in self.signature.parameters.values())

    @functools.cached_property
    def wrt_positions(self) -> tuple[int, ...]:
        return tuple(list(self.signature.parameters).index(n) for n in self.wrt)

    @classmethod
    def of(cls, fn: Callable, wrt: Wrt, checkpoint=None, calls: str | None = None) -> "_Spec":
        target = _target(fn)
        fn, shown = target.fn, target.signature
        signature = _signature(fn)
        single = isinstance(wrt, (int, str))
        items = (wrt,) if single else tuple(wrt)
        if not items:
            raise ArgumentError("wrt is empty: name at least one parameter to differentiate with respect to")
        params = list(shown.parameters.values())
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, str)):
                raise ArgumentError(f"wrt takes parameter positions or names; got {item!r}")
            if isinstance(item, int):
                if not -len(positional) <= item < len(positional):
                    raise ArgumentError(f"wrt={item} names no parameter of {target.describe()}{shown} "
                                        f"(it has {len(positional)} positional parameters"
                                        f"{target.counted()})")
                names.append(positional[item])
            elif item not in shown.parameters:
                if item in signature.parameters:  # self, cls, or an argument a partial supplies
                    raise ArgumentError(f"wrt={item!r} names a parameter of {_name(fn)}{signature} that "
                                        f"{target.describe()} supplies itself ({target.kind}); sct differentiates "
                                        f"with respect to the arguments a call passes{target.counted()}",
                                        hint="to differentiate with respect to data an object holds, pass it "
                                             "as an argument (def loss(self, w, scale)), or differentiate the "
                                             "function itself: sct.grad(Model.loss, wrt=...)")
                raise ArgumentError(f"wrt={item!r} names no parameter of {target.describe()}{shown}")
            else:
                if shown.parameters[item].kind in (inspect.Parameter.VAR_POSITIONAL,
                                                   inspect.Parameter.VAR_KEYWORD):
                    raise ArgumentError(f"wrt={item!r} names the *args or **kwargs of {_name(fn)}{signature}: sct "
                                        f"passes those on as constants; differentiate with respect to named parameters")
                names.append(item)
        if len(set(names)) != len(names):
            raise ArgumentError(f"wrt names a parameter twice: {names}")
        check_option(checkpoint)
        if calls not in CALLS:
            raise ArgumentError(f"calls must be 'joint' or 'split' (or None: split, joint inside checkpointed "
                                f"loops), not {calls!r}")
        fixed = len(signature.parameters) - len(shown.parameters)
        return cls(fn, tuple(names), single, signature, checkpoint, calls, target=target, fixed=fixed, raw_wrt=wrt)

    def bind(self, args, kwargs) -> inspect.BoundArguments:
        params = self.signature.parameters
        if not kwargs and len(args) == len(params) and all(
                p.kind is p.POSITIONAL_OR_KEYWORD for p in params.values()):
            bound = inspect.BoundArguments(self.signature, dict(zip(params, args)))  # the common call
        else:
            try:
                bound = self.signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise ArgumentError(f"{_name(self.fn)}{self.signature}: {exc}") from None
            _apply_defaults(bound, self.fn)
        for name in self.wrt:
            bound.arguments[name] = _differentiable(name, bound.arguments[name])
        return bound

    def call_args(self, bound: inspect.BoundArguments) -> tuple[tuple, dict]:
        """Positional and keyword arguments for the generated program (which has f's parameters)."""
        if all(p.kind is p.POSITIONAL_OR_KEYWORD for p in self.signature.parameters.values()):
            return tuple(bound.arguments.values()), {}
        return bound.args, bound.kwargs

    def kinds(self, bound: inspect.BoundArguments) -> dict[str, str]:
        return {name: kind_of_value(value) for name, value in bound.arguments.items()}

    def pack(self, grads: list) -> Any:
        return grads[0] if self.single else tuple(grads)


def _name(fn) -> str:
    return getattr(fn, "__qualname__", repr(fn))


def _apply_defaults(bound: inspect.BoundArguments, fn: Callable) -> None:
    """``bound.apply_defaults()`` with the default values ``fn`` has now: a default rebound
    (``fn.__defaults__ = ...``) after the derivative was made counts, as it does in a call of ``fn``."""
    given = set(bound.arguments)
    bound.apply_defaults()
    if not inspect.isfunction(fn):
        return
    code = fn.__code__
    positional = code.co_varnames[:code.co_argcount]
    values = fn.__defaults__ or ()
    live = dict(zip(positional[len(positional) - len(values):], values)) if values else {}
    live.update(fn.__kwdefaults__ or {})
    for name in bound.arguments:
        if name not in given and name in live:
            bound.arguments[name] = live[name]


def _signature(fn) -> inspect.Signature:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        raise SourceError(f"sct cannot read the signature of {fn!r}") from None


@dataclass(frozen=True)
class _Target:
    """What sct differentiates, for any callable it is given: a Python function (or a derivative sct made)
    read with its full signature, and the leading arguments already bound to it.

    ``sct.grad(model.loss)`` differentiates ``Model.loss`` with ``self`` bound to ``model``; a classmethod
    binds its class; ``functools.partial(f, 3.0, scale=2.0)`` binds ``3.0`` and ``scale`` (a call may pass
    ``scale`` again, as it may to the partial); a callable object binds itself to its class's ``__call__``.
    ``wrt`` counts and names the parameters the caller still passes (``signature``).
    """

    fn: Callable
    signature: inspect.Signature  # what a call passes
    original: Any  # what the user gave
    kind: str = "function"  # "function", "bound method", "classmethod", "partial", "callable object", ...
    args: tuple = ()  # leading positional arguments bound (self, cls, a partial's)
    keywords: dict = field(default_factory=dict)  # keyword arguments bound (a partial's)

    def describe(self) -> str:
        """How messages and reprs name it."""
        if self.kind == "function":
            return _name(self.fn)
        if self.kind == "partial":
            shown = [_name(self.fn)] + [_short(a) for a in self.args] + \
                    [f"{k}={_short(v)}" for k, v in self.keywords.items()]
            return f"functools.partial({', '.join(shown)})"
        if self.kind == "callable object":
            return f"{type(self.original).__qualname__} object (its __call__)"
        return f"{self.kind} {_name(self.fn)}"

    def counted(self) -> str:
        """What wrt positions count, when the binding supplies leading parameters."""
        first = {"bound method": "self", "classmethod": "cls", "callable object": "self",
                 "method": "self"}.get(self.kind)
        if first:
            return f"; positions count the parameters after {first}"
        if self.kind == "partial" and self.args:
            return "; positions count the parameters the partial leaves"
        return ""


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 30 else f"<{type(value).__name__}>"


def _target(obj) -> _Target:
    """The function sct reads behind a callable, and what is bound to it (see :class:`_Target`)."""
    if isinstance(obj, _Target):
        return obj
    if isinstance(obj, Derivative):
        if obj._full is not None:  # a derivative bound to an object: the derivative over every parameter
            return _Target(obj._full, obj.__signature__, obj, obj._target.kind, obj._args, dict(obj._keywords))
        return _Target(obj, obj.__signature__, obj)
    if isinstance(obj, staticmethod):
        return replace(_target(obj.__func__), original=obj)
    if isinstance(obj, classmethod):
        fn = _target(obj.__func__).fn
        return _Target(fn, _without_first(_signature(fn), fn), obj, "classmethod")
    if isinstance(obj, types.MethodType):
        inner = _target(obj.__func__)
        kind = "classmethod" if isinstance(obj.__self__, type) else "bound method"
        return _Target(inner.fn, _signature(obj), obj, kind, inner.args + (obj.__self__,), inner.keywords)
    if isinstance(obj, functools.partial):
        inner = _target(obj.func)
        return _Target(inner.fn, _signature(obj), obj, "partial", inner.args + tuple(obj.args),
                       {**inner.keywords, **obj.keywords})
    if not callable(obj):
        raise ArgumentError(f"sct differentiates functions; got {type(obj).__name__}")
    if inspect.isfunction(obj):
        return _Target(obj, _signature(obj), obj)
    call = getattr(type(obj), "__call__", None)
    if not isinstance(obj, type) and (inspect.isfunction(call) or isinstance(call, (functools.partial,
                                                                                     Derivative))):
        inner = _target(types.MethodType(call, obj))
        return replace(inner, original=obj, kind="callable object")
    from .parse import parse_function
    parse_function(obj)  # a class, a builtin, a ufunc: raises the SourceError saying so
    raise SourceError(f"sct cannot read the source of {obj!r}")  # (not reached)


def _without_first(signature: inspect.Signature, fn) -> inspect.Signature:
    """A method's signature once bound: without self (or cls)."""
    params = list(signature.parameters.values())
    if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        raise ArgumentError(f"{_name(fn)}{signature} is used as a method, but has no parameter for the "
                            f"instance (or class) it is called on",
                            hint="add self as its first parameter, or make it a staticmethod")
    return signature.replace(parameters=params[1:])
def _shown(name: str) -> str:
    """A parameter's name quoted (``'x'``); a path into a pytree as it is (``params['W']``, ``p.w``)."""
    return repr(name) if name.isidentifier() else name
def _library(values) -> str:
    """The array library of the arguments ("numpy" unless one is a Dask or JAX array): part of the key a
    program is specialised by."""
    for value in values:
        if type(value) is not np.ndarray and type(value) is not float and is_array(value):
            return name_of(value)
    return NUMPY


def _in_library(derived: Derived, library: str, values) -> Derived:
    """The program for arguments of another array library: the same program with ``np`` bound to that
    library's functions (``jax.numpy``'s; for Dask, which dispatches NumPy's calls, lazy ``split`` and
    ``size``), where an argument is one of its arrays."""
    if library == NUMPY:
        return derived
    made = copy.copy(derived)
    made.fn = rebound(derived.fn, dispatch_for(library, namespace(*values)))
    return made


def _differentiable(name: str, value):
    """The argument as sct differentiates it: ints become floats; non-numbers are refused.  A pytree (a list,
    tuple, dict, NamedTuple or dataclass instance of such values) is checked leaf by leaf, and copied only
    where a leaf changes."""
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"argument {_shown(name)} is a bool; sct differentiates with respect to real numbers")
    if isinstance(value, (int, np.integer)):
        return float(value)
    if isinstance(value, (float, np.floating)):
        return value
    if isinstance(value, (complex, np.complexfloating)):
        raise ArgumentError(f"argument {_shown(name)} is complex; sct differentiates real functions of real numbers")
    if isinstance(value, np.ndarray) or is_array(value):  # (NumPy, Dask, JAX)
        if np.issubdtype(value.dtype, np.floating):
            return value
        if np.issubdtype(value.dtype, np.complexfloating):
            raise ArgumentError(f"argument {_shown(name)} is a complex array; sct supports real arrays only")
        if np.issubdtype(value.dtype, np.integer) or value.dtype == bool:
            raise ArgumentError(f"argument {_shown(name)} is an array of {value.dtype}; a gradient needs a float array "
                                f"(pass {name}.astype(float))")
        raise ArgumentError(f"argument {_shown(name)} is an array of {value.dtype}; sct needs a float array")
    if pytree.is_container(value):
        items = pytree.children(value)
        named = pytree.is_namedtuple(value) or pytree.is_dataclass_instance(value)
        new = [_differentiable(f"{name}.{key}" if named else f"{name}[{key!r}]", v) for key, v in items]
        if all(a is b for a, b in zip(new, (v for _, v in items))):
            return value
        return pytree.rebuild(value, new)
    raise ArgumentError(f"argument {_shown(name)} is a {type(value).__name__}, not a number or a float array"
                        + ("" if "[" not in name and "." not in name else
                           "; a pytree holds numbers and float arrays only: pass the others as separate arguments"))


def _as_gradient(adjoint, like):
    """The adjoint in the shape and type of the argument it belongs to (a pytree's: the same structure, a
    zero of its shape for each leaf nothing reached)."""
    if type(like) is float:
        return float(adjoint)
    if not is_numpy(adjoint) and is_array(adjoint) or not isinstance(like, np.ndarray) and is_array(like):
        return _lazy_gradient(adjoint, like)
    if pytree.is_container(like):
        return pytree.rebuild(like, [_as_gradient(_part(adjoint, key, i), x)
                                     for i, (key, x) in enumerate(pytree.children(like))])
    if isinstance(like, np.ndarray):
        if type(adjoint) is np.ndarray and adjoint.shape == like.shape and adjoint.dtype == like.dtype:
            return adjoint.copy()  # (the common case; a copy: the adjoint may be an array the program reads)
        out = np.broadcast_to(np.asarray(adjoint, dtype=like.dtype), like.shape)
        return np.array(out)
    return float(adjoint)


def _part(adjoint, key, position: int):
    """The adjoint of one item of a container from the container's: generated code holds a list's as a list
    (or an array, where NumPy read the list as one), a dict's or dataclass's as a dict of the entries it
    reached, a NamedTuple's as a list; 0.0 is zero."""
    if isinstance(adjoint, float) and adjoint == 0.0:
        return 0.0
    if isinstance(adjoint, dict):
        return adjoint.get(key, 0.0)
    if isinstance(adjoint, (list, tuple, np.ndarray)):
        return adjoint[position]
    return getattr(adjoint, key)
def _lazy_gradient(adjoint, like):
    """The gradient of a Dask or JAX computation: left in its library (lazy, or traced), in like's dtype."""
    dtype = getattr(like, "dtype", None)
    if dtype is not None and getattr(adjoint, "dtype", dtype) != dtype:
        adjoint = adjoint.astype(dtype) if hasattr(adjoint, "astype") else np.asarray(adjoint, dtype=dtype)
    shape = np.shape(like)
    return adjoint if np.shape(adjoint) == shape else broadcast_to(adjoint, shape, like)


def _check_scalar(fn, value) -> None:
    if type(value) is float or type(value) is np.float64 or \
            is_array(value) and value.ndim == 0 and not np.iscomplexobj(value):
        return
    if np.ndim(value) != 0 or not isinstance(value, (int, float, np.number, np.ndarray)):
        shape = np.shape(value) if isinstance(value, (np.ndarray, list, tuple)) else type(value).__name__
        raise ArgumentError(f"grad of {_name(fn)}: the function returned {shape}, not a scalar; "
                            f"use sct.vjp (or sct.jvp) for a function with several outputs")
    if np.iscomplexobj(value):
        raise ArgumentError(f"grad of {_name(fn)}: the function returned a complex number")


def _reverse_quick(spec: _Spec, args: tuple) -> tuple[Any, list] | None:
    """``_reverse`` for a plain call whose program exists (a few dict lookups instead of binding)."""
    derived = spec.quick_program(GRADIENT, args)
    if derived is None:
        return None
    value, *adjoints = derived.fn(*args)
    _check_scalar(spec.fn, value)
    return value, [_as_gradient(a, args[i]) for a, i in zip(adjoints, spec.wrt_positions)]


def _reverse(spec: _Spec, bound) -> tuple[Any, list]:
    derived = spec.program(GRADIENT, bound)
    args, kwargs = spec.call_args(bound)
    value, *adjoints = derived.fn(*args, **kwargs)
    _check_scalar(spec.fn, value)
    return value, [_as_gradient(a, bound.arguments[n]) for a, n in zip(adjoints, spec.wrt)]


def _basis(value):
    """Unit seeds, one per element of the output ``value`` (a number yields one); NumPy arrays whatever
    library ``value`` is of (generated code mixes them with its arrays)."""
    if is_array(value):
        size = int(np.prod(value.shape))
        for i in range(size):
            e = np.zeros(size)
            e[i] = 1.0
            yield e.reshape(value.shape)
    else:
        yield 1.0


def _forward_quick(spec: _Spec, args: tuple) -> tuple[Any, list] | None:
    """``_forward`` for a plain call on numbers whose program exists: one sweep per wrt argument."""
    if any(type(a) is not float for a in args):
        return None
    derived = spec.quick_program(FORWARD, args)
    if derived is None:
        return None
    names = list(derived.tangent_names.values())
    grads, value = [], None
    for which in names:
        value, dvalue = derived.fn(*args, **{n: 1.0 if n == which else 0.0 for n in names})
        _check_scalar(spec.fn, value)
        grads.append(float(dvalue))
    return value, grads


def _forward(spec: _Spec, bound, chunk_size: int | None = None) -> tuple[Any, list]:
    """f's value and gradient: one batched sweep carrying every element of every wrt argument."""
    value, columns = _columns(spec, bound, spec.wrt, chunk_size)
    _check_scalar(spec.fn, value)
    blocks = _split_columns(spec, bound, columns, value)
    # (a gradient has its argument's shape and type, a float32 array's float32, as in reverse mode)
    return value, [b if isinstance(b, float) else _as_gradient(b, bound.arguments[n]) for b, n in zip(blocks, spec.wrt)]


CHUNK_ELEMENTS = 1 << 20  # default directions per batched sweep: tangents of the wrt arguments up to ~8 MB


def _batched(spec: _Spec, bound, tangents: dict) -> tuple[Any, Any]:
    """f's value and its derivatives along B directions: ``tangents`` maps each wrt name to B tangents on a
    leading axis.  One sweep of the batched tangent program; one sweep per direction when it cannot be
    built (a rule declared not batchable, a list argument)."""
    n = len(pytree.leaves(next(iter(tangents.values())))[0])
    refused = ("not batchable", tuple(spec.kinds(bound).values()))
    derived = None
    if refused not in spec.programs:
        try:
            derived = spec.program(BATCHED, bound)
        except NotBatchable:
            spec.programs[refused] = True  # (not tried again for these kinds)
    if derived is None:  # the fallback: correct, one tangent sweep per direction
        plain = spec.program(FORWARD, bound)
        columns, value = [], None
        for k in range(n):
            value, d = plain.fn(*bound.args, **bound.kwargs,
                                **{plain.tangent_names[w]: direction(t, k) for w, t in tangents.items()})
            columns.append(d)
        shape = np.shape(value)
        return value, np.stack([np.broadcast_to(np.asarray(c, dtype=float), shape) for c in columns])
    value, d = derived.fn(*bound.args, **bound.kwargs,
                          **{derived.tangent_names[w]: t for w, t in tangents.items()})
    return value, np.broadcast_to(d, (n,) + np.shape(value)) if np.shape(d) != (n,) + np.shape(value) else d


def _unit_directions(x, start: int, stop: int, offset: int = 0):
    """The unit tangents ``start .. stop - 1`` of ``x``, on a leading axis (of a pytree: its elements
    counted leaf after leaf, each leaf's batched tangent cut from the same unit vectors).  With ``offset``,
    x's elements are numbered from ``offset`` among several arguments' (directions outside them are zero)."""
    size = pytree.size(x)
    e = np.zeros((stop - start, size))
    first, last = max(start, offset), min(stop, offset + size)
    if first < last:
        e[np.arange(first - start, last - start), np.arange(first - offset, last - offset)] = 1.0
    if not pytree.is_container(x):
        return e.reshape((stop - start,) + np.shape(x))
    parts, at = [], 0
    for leaf in pytree.leaves(x):
        parts.append(e[:, at:at + np.size(leaf)].reshape((stop - start,) + np.shape(leaf)))
        at += np.size(leaf)
    return pytree.unflatten(x, parts, records_as_dicts=True)


def _zero_directions(x, n: int):
    """A zero batched tangent of ``x`` for ``n`` directions (of the same structure, for a pytree)."""
    zeros = [np.zeros((n,) + np.shape(leaf)) for leaf in pytree.leaves(x)]
    return pytree.unflatten(x, zeros, records_as_dicts=True) if pytree.is_container(x) else zeros[0]


def _columns(spec: _Spec, bound, names, chunk_size: int | None):
    """f's value and its derivatives along every unit direction of the wrt argument(s) ``names`` (a name, or
    a tuple of names whose elements are counted one argument after another), on a leading axis, the other
    wrt tangents zero: in batched sweeps, one for all of them unless ``chunk_size`` cuts them."""
    names = (names,) if isinstance(names, str) else tuple(names)
    sizes = [pytree.size(bound.arguments[n]) for n in names]
    total = sum(sizes)
    parts, value = [], None
    if total == 0:  # (an empty list or dict: no directions)
        value = spec.fn(*bound.args, **bound.kwargs)
        return value, np.zeros((0,) + np.shape(value))
    step = chunk_size or max(1, CHUNK_ELEMENTS // max(1, total))
    for start in range(0, total, step):
        stop = min(total, start + step)
        tangents = {w: _zero_directions(bound.arguments[w], stop - start) for w in spec.wrt}
        offset = 0
        for name, size in zip(names, sizes):
            if offset < stop and start < offset + size:
                tangents[name] = _unit_directions(bound.arguments[name], start, stop, offset)
            offset += size
        value, d = _batched(spec, bound, tangents)
        parts.append(d if is_array(d) and not is_numpy(d) else np.asarray(d, dtype=float))  # (Dask stays lazy)
    return value, namespace(*parts).concatenate(parts) if len(parts) > 1 else parts[0]


def _split_columns(spec: _Spec, bound, columns, value) -> list:
    """The blocks of each wrt argument, cut from the columns of all of them (``_columns`` over spec.wrt)."""
    blocks, offset = [], 0
    for name in spec.wrt:
        x = bound.arguments[name]
        size = pytree.size(x)
        blocks.append(_jacobian_block(columns[offset:offset + size], value, x))
        offset += size
    return blocks


def _jacobian_block(columns, value, x):
    """Directions on the leading axis moved last: JAX's layout ``out.shape + x.shape`` (a float for R->R);
    for a pytree ``x``, its structure holding one such block per leaf."""
    if pytree.is_container(x):
        blocks, offset = [], 0
        for leaf in pytree.leaves(x):
            blocks.append(_jacobian_block(columns[offset:offset + np.size(leaf)], value, leaf))
            offset += np.size(leaf)
        return pytree.unflatten(x, blocks)
    if not is_array(x) and np.shape(value) == ():
        return float(columns[0])
    moved = columns.transpose(tuple(range(1, columns.ndim)) + (0,))  # (np.moveaxis without its checks; any library)
    return moved.reshape(np.shape(value) + np.shape(x))


class Derivative:
    """A function sct made (``grad``, ``jvp``, ...): called like the primal, pickled by reference.

    Pickling stores the primal (by its module and name, as pickle stores functions)
    and the options it was made with; unpickling makes it again, so multiprocessing,
    joblib or Dask can ship it (the program is regenerated on the first call there).
    A derivative decorating a function at module level, or a method in a class body,
    pickles by its name there, as the function would.

    Like a function, a derivative of a plain function stored in a class binds to the
    instance it is read from (``@sct.grad`` on a method: ``model.loss(w)`` is the
    gradient with respect to ``w``); ``@sct.grad`` over ``@classmethod`` binds the class.
    """

    def __init__(self, spec: _Spec, call: Callable, role: str, mode: str, options: dict,
                 target: _Target | None = None):
        target = target or spec.target or _target(spec.fn)
        self._call = call  # takes every parameter of spec.fn
        self._target = target
        self._args, self._keywords = target.args, dict(target.keywords)  # what the binding supplies
        self._full = None  # when something is bound: the same derivative over every parameter
        self._origin = self._owner = None  # a derivative read from an instance or class: the one stored there
        self._made = (role, target.original, {"wrt": spec.wrt[0] if spec.single else spec.wrt, **options})
        self._options = options
        self._method = None  # the method form, made when an instance first reads it from its class
        self._binds = None  # what reading it from a class binds: "instance" (a function), "class" (classmethod)
        if target.kind == "function" and not isinstance(target.original, staticmethod):
            self._binds = "instance"
        elif target.kind == "classmethod" and not target.args:
            self._binds = "class"
        self.__sct_spec__ = (spec, role, mode)
        self.__module__, name, qualname, self.__doc__ = _metadata(target)
        if inspect.isfunction(target.original):  # (a function's own attributes, as functools.wraps copies them)
            self.__dict__.update({k: v for k, v in vars(target.original).items()
                                  if not k.startswith("__sct") and k != "__wrapped__"})
        self.__name__ = f"{name}_{role}"
        self.__qualname__ = f"{qualname}_{role}"
        if self._args or self._keywords:
            self._full = Derivative(spec, call, role, mode, options, _Target(spec.fn, spec.signature, spec.fn))
            self.__signature__ = target.signature
        else:
            self.__signature__ = spec.signature
            if role in ("grad", "value_and_grad"):
                self.__sct_source_function__ = functools.partial(_gradient_function, spec, role, mode)

    def __call__(self, *args, **kwargs):
        if self._args or self._keywords:
            return self._call(*self._args, *args, **({**self._keywords, **kwargs} if self._keywords else kwargs))
        if self._binds == "class":
            raise ArgumentError(f"{self.__qualname__} differentiates a classmethod: call it through its class "
                                f"or an instance")
        return self._call(*args, **kwargs)

    def _full_args(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """A call's arguments with what the binding supplies (self, a partial's arguments) put in."""
        return self._args + tuple(args), {**self._keywords, **kwargs}

    def __get__(self, obj, owner=None):
        if self._binds == "class":
            return self._bound_to(owner if owner is not None else type(obj), self)
        if self._binds is None or (obj is None and owner is None):
            return self
        if self._method is None:  # the same derivative with wrt counted after self (over every parameter)
            spec = self.__sct_spec__[0]
            fn = self._target.fn
            method = _Target(fn, _without_first(_signature(fn), fn), fn, "method")
            self._method = _FACTORIES[self._made[0]](method, wrt=spec.raw_wrt, **self._options)
        if obj is None:  # read from the class: Model.loss(model, w) is model.loss(w)
            return self._method._read_from(owner, self)
        return self._method._bound_to(obj, self)

    def _read_from(self, owner, origin: "Derivative") -> "Derivative":
        """This derivative as read from ``owner`` (where ``origin`` is stored): it pickles by that name."""
        made = object.__new__(Derivative)
        made.__dict__.update(self.__dict__)
        made._origin, made._owner = origin, owner
        return made

    def _bound_to(self, obj, origin: "Derivative") -> "Derivative":
        """This derivative (over every parameter, its wrt counted after the first) bound to ``obj``."""
        bound = self._read_from(obj, origin)
        bound.__dict__.pop("__sct_source_function__", None)  # (that one takes self: see _target)
        bound._args, bound._keywords, bound._full, bound._binds = (obj,), {}, self, None
        kind = "classmethod" if isinstance(obj, type) else "bound method"
        bound._target = replace(self._target, original=types.MethodType(self._target.fn, obj), kind=kind,
                                args=(obj,))
        bound.__signature__ = self._target.signature
        return bound

    def __reduce__(self):
        if self._origin is not None:  # a method sct made, read from an instance or class: read it there again
            name = self._target.fn.__name__
            if _class_dict(self._owner).get(name) is not self._origin:
                import pickle
                raise pickle.PicklingError(f"cannot pickle {self!r}: it is not found as {name} on "
                                           f"{self._owner!r}")
            return getattr, (self._owner, name)
        if self._decorates():
            return self._made[1].__qualname__  # pickle finds it by the name of the function it decorates
        return _remake, self._made

    def _decorates(self) -> bool:
        """Is this the object found where the primal was defined (``@sct.grad`` on it)?"""
        fn = self._made[1]
        if not inspect.isfunction(fn) or "<locals>" in fn.__qualname__:
            return False
        found = sys.modules.get(fn.__module__)
        for part in fn.__qualname__.split("."):
            found = inspect.getattr_static(found, part, None) if found is not None else None
        return found is self

    def __repr__(self) -> str:
        role, _, options = self._made
        shown = ", ".join(f"{k}={v!r}" for k, v in options.items())
        return f"<sct.{role} of {self._target.describe()}, {shown}>"


def _class_dict(obj) -> dict:
    """The attributes a method read from ``obj`` may come from (its class's, through the MRO)."""
    names = {}
    for klass in reversed((obj if isinstance(obj, type) else type(obj)).__mro__):
        names.update(vars(klass))
    return names


def _metadata(target: _Target) -> tuple[str, str, str, str | None]:
    """``__module__``, ``__name__``, ``__qualname__``, ``__doc__`` of what ``target`` differentiates."""
    fn = target.fn
    if target.kind == "callable object":
        klass = type(target.original)
        return klass.__module__, klass.__name__, klass.__qualname__, fn.__doc__ or klass.__doc__
    return (getattr(fn, "__module__", None), getattr(fn, "__name__", type(fn).__name__), _name(fn),
            getattr(fn, "__doc__", None))


def _remake(role: str, fn: Callable, options: dict) -> "Derivative":
    """Unpickling: the same derivative of the same primal."""
    return _FACTORIES[role](fn, **options)


def _wrap(spec: _Spec, call: Callable, role: str, program_mode: str, **options) -> Callable:
    return Derivative(spec, call, role, program_mode, options)


def _gradient_function(spec: _Spec, role: str, mode: str, kinds: dict) -> Callable:
    """The gradient as a generated Python function calling the derivative program (so sct can differentiate it)."""
    from . import codegen

    fn = spec.fn
    derived = derive(fn, mode, spec.wrt, kinds, spec.checkpoint, spec.calls)
    params = list(spec.signature.parameters.values())
    stars = {inspect.Parameter.VAR_POSITIONAL: "*"}
    shown = [stars.get(p.kind, "") + p.name for p in params if p.kind not in (p.KEYWORD_ONLY, p.VAR_KEYWORD)]
    kwonly = [p.name for p in params if p.kind == p.KEYWORD_ONLY]
    kwargs = [f"**{p.name}" for p in params if p.kind == p.VAR_KEYWORD]
    signature = ", ".join(shown + (["*"] if kwonly and not any(s.startswith("*") for s in shown) else [])
                          + kwonly + kwargs)
    passed = ", ".join(shown + [f"{k}={k}" for k in kwonly] + kwargs)
    name = f"{stem(fn)}_{role}_call"  # (f_grad is the gradient program it calls)
    lines = [f"def {name}({signature}):",
             f"    # sct: the gradient of {fn.__name__} with respect to {', '.join(spec.wrt)}, "
             f"by its {'gradient' if mode == GRADIENT else 'tangent'} program"]
    symbols = {derived.name: derived.fn}
    if mode == GRADIENT:
        lines.append(f"    out = {derived.name}({passed})")
        grads = [f"out[{i + 1}]" for i in range(len(spec.wrt))]
        value = "out[0]"
        # an array's gradient has its shape: a gradient program may return 0.0 for it (nothing reached it),
        # and a Jacobian of the gradient (a Hessian) is shaped after what it returns
        widen = "expand" if "expand" not in spec.signature.parameters else "expand_"
        for i, w in enumerate(spec.wrt):
            if kinds.get(w) == ARRAY:
                grads[i] = f"{widen}({grads[i]}, {w})"
                symbols[widen] = expand
    else:
        grads, value = [], None
        for w in spec.wrt:
            if kinds.get(w) != "scalar":
                raise ArgumentError("a forward-mode gradient differentiated again needs number arguments; "
                                    "use mode='reverse' for the inner gradient")
            seeds = ", ".join(f"{derived.tangent_names[v]}={1.0 if v == w else 0.0}" for v in spec.wrt)
            lines.append(f"    along_{w} = {derived.name}({passed}, {seeds})")
            grads.append(f"along_{w}[1]")
            value = f"along_{w}[0]"
    result = grads[0] if spec.single else "(" + ", ".join(grads) + ("," if len(grads) == 1 else "") + ")"
    lines.append(f"    return {result}" if role == "grad" else f"    return ({value}, {result})")
    source = "\n".join(lines) + "\n"
    # (fn may be a derivative sct made, differentiated once more: a third derivative; it has no globals)
    made, _ = codegen.load(source, name, symbols, getattr(fn, "__globals__", None) or {})
    made.__defaults__ = getattr(fn, "__defaults__", None)
    made.__kwdefaults__ = getattr(fn, "__kwdefaults__", None)
    return made


def hessian(fn: Callable, *, wrt: Wrt = 0, chunk_size: int | None = None) -> Callable:
    """The Hessian of a scalar function (forward over reverse).

    sct generates the adjoint program of ``fn``, then the batched tangent program
    of that adjoint program, and runs it once for all input elements (in chunks
    of ``chunk_size`` directions; by default as many as keep a batched tangent
    under about 8 MB).  For one ``wrt``: a float for a number argument, an array
    of shape ``x.shape * 2`` for an array.  For a tuple ``wrt=(a, b)``: the blocks
    ``((H_aa, H_ab), (H_ba, H_bb))``, block ``H_ij`` of shape ``x_i.shape + x_j.shape``
    (JAX's layout).  A pytree argument is refused (:func:`hvp` takes one).
    """
    spec = _Spec.of(fn, wrt)
    inners = {name: grad(spec.fn, wrt=name) for name in spec.wrt}  # (over every parameter: calls carry them all)
    outers = {(i, j): _Spec.of(inners[i], j) for i in spec.wrt for j in spec.wrt}

    def call(*args, **kwargs):
        bound = spec.bind(args, kwargs)
        for name in spec.wrt:
            if pytree.is_container(bound.arguments[name]):
                raise ArgumentError(
                    f"hessian with respect to {name!r}, a {type(bound.arguments[name]).__name__}: sct.hessian takes "
                    f"numbers and arrays; pass the leaves as separate arguments (wrt=(...)) or as one flat "
                    f"array, or use sct.hvp, which takes a vector of the argument's structure")
        blocks = tuple(tuple(_jacobian_of(outers[i, j], bound, j, chunk_size) for j in spec.wrt) for i in spec.wrt)
        return blocks[0][0] if spec.single else blocks
    made = _wrap(spec, call, "hessian", BATCHED, chunk_size=chunk_size)
    # what sct.source prints: the batched tangent program of the gradient program
    _shows(made, jvp(inners[spec.wrt[0]], wrt=spec.wrt[0], batched=True))
    return made


def _shows(made: Derivative, program: Derivative) -> None:
    """What sct.source prints for ``made`` (a Hessian, an HVP): another derivative's program."""
    made.__sct_shows__ = program
    if made._full is not None:
        made._full.__sct_shows__ = program


def _jacobian_of(outer: _Spec, bound, by: str, chunk_size: int | None):
    """d(gradient)/d``by``: the gradient function's batched tangents along every element of ``by``."""
    inner = outer.bind(bound.args, bound.kwargs)
    value, columns = _columns(outer, inner, by, chunk_size)
    return _jacobian_block(columns, value, bound.arguments[by])


def hvp(fn: Callable, *, wrt: Union[int, str] = 0) -> Callable:
    """The Hessian-vector product ``hvp(f)(x, ..., v) = H(x) @ v`` in one sweep (forward over reverse).

    sct runs the tangent program of f's gradient program once, with tangent ``v``
    (shaped like the ``wrt`` argument, or of its structure for a pytree): the cost
    of about two gradients, whatever the size of ``x``.  The result has the shape
    (structure) of ``x``.
    """
    spec = _Spec.of(fn, wrt)
    if not spec.single:
        raise ArgumentError("hvp takes one wrt argument")
    name = spec.wrt[0]
    outer = jvp(grad(spec.fn, wrt=name), wrt=name)

    def call(*args, **kwargs):
        if not args:
            raise ArgumentError(f"hvp of {_name(fn)} takes the arguments, then the vector v")
        bound = spec.bind(args[:-1], kwargs)
        _, product = outer(*bound.args, args[-1], **bound.kwargs)
        return _as_gradient(product, bound.arguments[name])
    made = _wrap(spec, call, "hvp", FORWARD)
    _shows(made, outer)  # what sct.source prints: the tangent program of the gradient program
    return made


def jacobian(fn: Callable, *, wrt: Wrt = 0, mode: str = "auto", chunk_size: int | None = None) -> Callable:
    """The Jacobian of a function with number or array output, in JAX's layout ``out.shape + x.shape``.

    ``mode="forward"`` runs the batched tangent program once, carrying every
    element of the ``wrt`` arguments as a direction (in chunks of ``chunk_size``
    directions; by default as many as keep a batched tangent under about 8 MB);
    ``"reverse"`` the adjoint program once per element of the output; ``"auto"``
    forward when the inputs are no more than the outputs, or no more than 64 elements (one batched sweep of
    that many directions costs less than adjoint sweeps).  A tuple ``wrt`` gives a
    tuple of Jacobians; a pytree argument its structure, with one block
    ``out.shape + leaf.shape`` per leaf.
    """
    spec = _Spec.of(fn, wrt)
    if mode not in (FORWARD, REVERSE, "auto"):
        raise ArgumentError(f"mode must be 'forward', 'reverse' or 'auto', not {mode!r}")

    def call(*args, **kwargs):
        if mode != REVERSE and not kwargs:
            done = _jacobian_quick(spec, args, chunk_size)
            if done is not None:
                return spec.pack(done)
        bound = spec.bind(args, kwargs)
        chosen = mode
        if mode == "auto":
            size = sum(pytree.size(bound.arguments[n]) for n in spec.wrt)
            chosen = FORWARD if size <= AUTO_FORWARD or size <= np.size(_output(spec, bound)) else REVERSE
        blocks = _jacobian_forward(spec, bound, chunk_size) if chosen == FORWARD else _jacobian_reverse(spec, bound)
        return spec.pack(blocks)
    return _wrap(spec, call, "jacobian", REVERSE if mode == REVERSE else BATCHED, mode=mode, chunk_size=chunk_size)


# mode="auto" runs forward mode for up to this many input elements whatever the output: one batched sweep
# of <= 64 directions costs less than the adjoint sweep(s) here (bench/README.md, "Jacobian mode choice")
AUTO_FORWARD = 64


def _jacobian_quick(spec: _Spec, args: tuple, chunk_size: int | None) -> list | None:
    """The forward Jacobian of a plain call (positional numbers and float64 arrays, the batched program
    built, at most AUTO_FORWARD input elements, one sweep): the unit directions are the columns of one
    identity matrix, and no binding.  None: take the general path."""
    derived = spec.quick_program(BATCHED, args)
    if derived is None:
        return None
    xs = [args[i] for i in spec.wrt_positions]
    sizes = [x.size if type(x) is np.ndarray else 1 for x in xs]
    total = sum(sizes)
    if not 0 < total <= AUTO_FORWARD or chunk_size is not None and chunk_size < total:
        return None
    eye, tangents, offset = np.eye(total), {}, 0
    for name, x, size in zip(spec.wrt, xs, sizes):
        block = eye[:, offset:offset + size]
        tangents[derived.tangent_names[name]] = block.reshape((total,) + x.shape) if type(x) is np.ndarray \
            else block[:, 0]
        offset += size
    value, d = derived.fn(*args, **tangents)
    if type(value) is not np.ndarray or value.dtype != np.float64:
        _check_output(spec, value)
    out = np.shape(value)
    if type(d) is not np.ndarray or d.shape != (total,) + out:
        d = np.broadcast_to(np.asarray(d, dtype=float), (total,) + out)
    columns = d.transpose(tuple(range(1, d.ndim)) + (0,))  # out.shape + (total,): JAX's layout
    blocks, offset = [], 0
    for x, size in zip(xs, sizes):
        if type(x) is np.ndarray:
            blocks.append(columns[..., offset:offset + size].reshape(out + x.shape))
        else:  # (a number: the block has the output's shape; a float for a number output)
            blocks.append(float(columns[..., offset]) if not out else np.array(columns[..., offset]))
        offset += size
    return blocks


def jacfwd(fn: Callable, *, wrt: Wrt = 0, chunk_size: int | None = None) -> Callable:
    """``jacobian(fn, wrt=wrt, mode="forward")`` (JAX's name)."""
    return jacobian(fn, wrt=wrt, mode=FORWARD, chunk_size=chunk_size)


def jacrev(fn: Callable, *, wrt: Wrt = 0) -> Callable:
    """``jacobian(fn, wrt=wrt, mode="reverse")`` (JAX's name)."""
    return jacobian(fn, wrt=wrt, mode=REVERSE)


def _output(spec: _Spec, bound):
    """f's value at the bound arguments.  On arrays that are not NumPy's (a JAX tracer under ``jit``), where
    the user's own code may not run, the value is read from the adjoint program run with a zero seed."""
    if is_numpy(*pytree.leaves(list(bound.arguments.values()))):
        return _check_output(spec, spec.fn(*bound.args, **bound.kwargs))
    derived = spec.program(REVERSE, bound)
    return _check_output(spec, derived.fn(*bound.args, **bound.kwargs, **{derived.seed_name: 0.0})[0])


def _check_output(spec: _Spec, value):
    if isinstance(value, (list, tuple)) or not isinstance(value, (int, float, np.number)) and not is_array(value) \
            or np.issubdtype(getattr(value, "dtype", np.float64), np.complexfloating):
        raise ArgumentError(f"jacobian of {_name(spec.fn)}: the function returned a {type(value).__name__}; "
                            f"it needs a number or a float array")
    return value


def _jacobian_forward(spec: _Spec, bound, chunk_size: int | None = None) -> list:
    """One batched sweep (or one per chunk) carrying every element of every wrt argument as a direction."""
    try:
        value, columns = _columns(spec, bound, spec.wrt, chunk_size)
    except (ValueError, TypeError):  # (a tuple, list or dict output fails in stacking its columns: say so)
        _check_output(spec, _output(spec, bound))
        raise
    _check_output(spec, value)
    return _split_columns(spec, bound, columns, value)


def _jacobian_reverse(spec: _Spec, bound) -> list:
    derived = spec.program(REVERSE, bound)
    value = _output(spec, bound)
    rows: list[list] = [[] for _ in spec.wrt]
    for seed in _basis(value):
        _, *adjoints = derived.fn(*bound.args, **bound.kwargs, **{derived.seed_name: seed})
        for row, adjoint, name in zip(rows, adjoints, spec.wrt):
            leaves = [_flat(leaf) for leaf in pytree.leaves(_as_gradient(adjoint, bound.arguments[name]))]
            row.append(namespace(*leaves).concatenate(leaves))
    out = []
    for row, name in zip(rows, spec.wrt):
        if row:  # (the argument's elements first)
            columns = namespace(*row).stack(row, axis=1).reshape((-1,) + np.shape(value))
        else:  # (an empty output: no adjoint sweep ran)
            size = sum(int(np.size(leaf)) for leaf in pytree.leaves(bound.arguments[name]))
            columns = np.zeros((size,) + np.shape(value))
        out.append(_jacobian_block(columns, value, bound.arguments[name]))
    return out


def _flat(leaf):
    """A gradient's leaf as a flat float vector (in its own library)."""
    if is_array(leaf) and not is_numpy(leaf):
        return leaf.reshape(-1)
    return np.ravel(np.asarray(leaf, dtype=float))


def _reverse_only(checkpoint, mode: str, calls: str | None = None):
    if checkpoint is not None and mode == FORWARD:
        raise ArgumentError("checkpoint= applies to reverse mode (forward mode keeps no tape)")
    if calls is not None and mode == FORWARD:
        raise ArgumentError("calls= applies to reverse mode (forward mode calls each function's tangent program)")
    return checkpoint


def _given(checkpoint, calls: str | None = None) -> dict:
    """The checkpoint and calls options as the derivative remembers them (for pickling and repr): only
    when given."""
    return {**({} if checkpoint is None else {"checkpoint": checkpoint}), **({} if calls is None else {"calls": calls})}


def _mode(mode: str) -> str:
    if mode not in (FORWARD, REVERSE):
        raise ArgumentError(f"mode must be 'forward' or 'reverse', not {mode!r}")
    return mode


def _outer_mode(fn, mode: str, checkpoint) -> str:
    """Reverse mode over a program sct made in reverse mode (``grad(grad(f))``) would need the adjoint of its
    tape's pops, which sct does not write: the outer derivative runs in forward mode instead, as
    :func:`hessian` does (one sweep for a number, one batched sweep for an array)."""
    marker = getattr(fn, "__sct_spec__", None)
    if mode == REVERSE and checkpoint is None and marker is not None and marker[2] in (GRADIENT, REVERSE):
        return FORWARD
    return mode


def grad(fn: Callable | None = None, *, wrt: Wrt = 0, mode: str = REVERSE, checkpoint=None,
         calls: str | None = None) -> Callable:
    """The gradient of a scalar function, as a function with the same signature.

    ``grad(f)(x, y)`` returns df/dx; ``grad(f, wrt=(0, "y"))(x, y)`` returns
    ``(df/dx, df/dy)``.  Gradients have the shape and type of their argument
    (a float for a number, an array for an array; for a pytree — a list, tuple,
    dict, NamedTuple or dataclass instance of those — the same structure, with a
    zero of its shape for each leaf the function does not depend on).  ``mode="reverse"`` runs one
    adjoint sweep; ``mode="forward"`` one batched tangent sweep carrying every input element as a
    direction.
    Works as ``grad(f)``, ``@grad`` and ``@grad(wrt=..., mode=...)``.
    ``grad(grad(f))`` differentiates the gradient program in forward mode whatever
    ``mode`` says (forward over reverse: a second derivative in one sweep).

    ``checkpoint="sqrt"`` (or a number of snapshots ``s``) makes reverse mode keep,
    for each outermost ``for`` loop, snapshots of the loop-carried state before
    √n (or ``s``) segments instead of a tape entry per step, and recompute one
    segment at a time in the backward sweep (see :mod:`sct.checkpoint`; a single
    loop can be marked with ``sct.checkpointed`` instead).

    ``calls`` says how reverse mode treats a call to another function of yours:
    ``"split"`` runs its forward sweep where the call is (keeping a record) and its
    backward sweep from that record; ``"joint"`` calls the function itself, then its
    whole adjoint program (forward sweep again, then backward) in the backward
    sweep.  ``None`` (the default): split, but joint inside checkpointed loops (where
    a record per step is what checkpointing avoids) and for recursive calls.
    """
    if fn is None:
        return lambda f: grad(f, wrt=wrt, mode=mode, checkpoint=checkpoint, calls=calls)
    spec = _Spec.of(fn, wrt, _reverse_only(checkpoint, mode, calls), calls)
    mode = _outer_mode(fn, _mode(mode), checkpoint)
    run = _reverse if mode == REVERSE else _forward
    quick = _reverse_quick if mode == REVERSE else _forward_quick

    def call(*args, **kwargs):
        done = None if kwargs else quick(spec, args)
        return spec.pack((done or run(spec, spec.bind(args, kwargs)))[1])
    return _wrap(spec, call, "grad", GRADIENT if mode == REVERSE else mode, mode=mode, **_given(checkpoint, calls))


def value_and_grad(fn: Callable | None = None, *, wrt: Wrt = 0, mode: str = REVERSE, checkpoint=None,
                   calls: str | None = None) -> Callable:
    """Like :func:`grad`, but the new function returns ``(f(...), gradient)``."""
    if fn is None:
        return lambda f: value_and_grad(f, wrt=wrt, mode=mode, checkpoint=checkpoint, calls=calls)
    spec = _Spec.of(fn, wrt, _reverse_only(checkpoint, mode, calls), calls)
    mode = _outer_mode(fn, _mode(mode), checkpoint)
    run = _reverse if mode == REVERSE else _forward
    quick = _reverse_quick if mode == REVERSE else _forward_quick

    def call(*args, **kwargs):
        done = None if kwargs else quick(spec, args)
        value, grads = done or run(spec, spec.bind(args, kwargs))
        return value, spec.pack(grads)
    return _wrap(spec, call, "value_and_grad", GRADIENT if mode == REVERSE else mode, mode=mode,
                 **_given(checkpoint, calls))


def jvp(fn: Callable, *, wrt: Wrt = 0, batched: bool = False) -> Callable:
    """The tangent (dual) program: ``jvp(f, wrt=(0, 1))(x1, x2, dx1, dx2) -> (f(x1, x2), df)``.

    The last ``len(wrt)`` positional arguments are the tangents of the ``wrt``
    parameters (of a pytree argument: of its structure); the result is the value
    and its directional derivative.

    ``batched=True`` runs B directions in one sweep (JAX's ``vmap`` of ``jvp``):
    each tangent carries them on a leading axis (shape ``(B,) + x.shape``; ``(B,)``
    for a number), and so does the derivative returned (``(B,) + f(...).shape``).
    Where a rule cannot batch, sct runs one sweep per direction instead.
    """
    spec = _Spec.of(fn, wrt)
    n = len(spec.wrt)

    def call(*args, **kwargs):
        if len(args) < n:
            raise ArgumentError(f"jvp of {_name(fn)} takes the arguments, then {n} tangent(s)")
        if batched:
            return _jvp_batched(spec, args[:-n], kwargs, args[-n:])
        derived = None if kwargs or any(type(a) is not float for a in args) \
            else spec.quick_program(FORWARD, args[:-n])
        if derived is not None:  # a plain call on numbers whose program exists
            return derived.fn(*args[:-n], **dict(zip(derived.tangent_names.values(), args[-n:])))
        bound = spec.bind(args[:-n], kwargs)
        derived = spec.program(FORWARD, bound)
        tangents = {}
        for name, t in zip(spec.wrt, args[-n:]):
            tangents[derived.tangent_names[name]] = _tangent(name, t, bound.arguments[name])
        value, tangent = derived.fn(*bound.args, **bound.kwargs, **tangents)
        return _as_called(fn, bound, value), _as_called(fn, bound, tangent)
    return _wrap(spec, call, "jvp", BATCHED if batched else FORWARD, **({"batched": True} if batched else {}))


def _as_called(fn, bound, result):
    """What ``fn`` returns, from what its program returned: for a gradient sct made (``jvp(grad(f))``), the
    gradients in their arguments' structures (a dataclass's, a NamedTuple's), as calling it gives them."""
    inner = getattr(fn, "__sct_spec__", None)
    if inner is None or inner[1] not in ("grad", "value_and_grad"):
        return result
    spec = inner[0]
    if not any(pytree.is_container(bound.arguments.get(name)) for name in spec.wrt):
        return result  # (numbers and arrays: as the program returns them)
    if inner[1] == "value_and_grad":
        return result[0], _as_called_grads(spec, bound, result[1])
    return _as_called_grads(spec, bound, result)


def _as_called_grads(spec, bound, grads):
    if spec.single:
        return _as_gradient(grads, bound.arguments[spec.wrt[0]])
    return tuple(_as_gradient(g, bound.arguments[name]) for g, name in zip(grads, spec.wrt))


def _tangent(name: str, t, x):
    """The tangent ``t`` the caller gave for the argument ``x``, checked: of x's shape, or of its structure
    for a pytree (then with the argument's containers; a dataclass's as a dict by field name)."""
    t = _differentiable("d" + name, t)
    if pytree.is_container(x):
        problem = pytree.mismatch(t, x, f"the tangent of {name}")
        if problem:
            raise ArgumentError(problem)
        return pytree.conform(t, x, records_as_dicts=True)
    if isinstance(x, np.ndarray) and not isinstance(t, np.ndarray):
        t = np.asarray(t, dtype=float)  # a 0-d argument gets a 0-d tangent
    if np.shape(t) != np.shape(x):
        raise ArgumentError(f"the tangent of {name!r} has shape {np.shape(t)}, the argument {np.shape(x)}")
    return t


def _jvp_batched(spec: _Spec, args, kwargs, given) -> tuple[Any, Any]:
    bound = spec.bind(args, kwargs)
    tangents, sizes = {}, set()
    for name, t in zip(spec.wrt, given):
        x = bound.arguments[name]
        if pytree.is_container(x):
            problem = pytree.mismatch(t, x, f"the batched tangent of {name}", leaves_too=False)
            if problem:
                raise ArgumentError(problem)
            t = pytree.conform(t, x, records_as_dicts=True)
        parts = []
        for leaf, tl in zip(pytree.leaves(x), pytree.leaves(t)):
            tl = np.asarray(tl, dtype=float)
            if tl.ndim == 0 or tl.shape[1:] != np.shape(leaf):
                raise ArgumentError(f"the batched tangent of {name!r} has shape {tl.shape}; it needs a leading "
                                    f"batch axis before the argument's shape {np.shape(leaf)}")
            parts.append(tl)
            sizes.add(tl.shape[0])
        tangents[name] = pytree.unflatten(x, parts, records_as_dicts=True) if pytree.is_container(x) else parts[0]
    if len(sizes) != 1:
        raise ArgumentError(f"the batched tangents have different numbers of directions: {sorted(sizes)}")
    return _batched(spec, bound, tangents)


def vjp(fn: Callable, *, wrt: Wrt = 0, checkpoint=None, calls: str | None = None) -> Callable:
    """The adjoint program with an explicit seed: ``vjp(f, wrt=(0, 1))(x1, x2, ybar) -> (x1_bar, x2_bar)``.

    The last positional argument is the seed (the adjoint of f's output, shaped
    like it); the result is the adjoint of each ``wrt`` parameter.  ``checkpoint``, ``calls``: as for
    :func:`grad`.
    """
    spec = _Spec.of(fn, wrt, checkpoint, calls)

    def call(*args, **kwargs):
        if not args:
            raise ArgumentError(f"vjp of {_name(fn)} takes the arguments, then the output seed")
        bound = spec.bind(args[:-1], kwargs)
        derived = spec.program(REVERSE, bound)
        value, *adjoints = derived.fn(*bound.args, **bound.kwargs, **{derived.seed_name: args[-1]})
        return spec.pack([_as_gradient(a, bound.arguments[n]) for a, n in zip(adjoints, spec.wrt)])
    return _wrap(spec, call, "vjp", REVERSE, **_given(checkpoint, calls))


def source(fn: Callable, *args, **kwargs) -> str:
    """The generated source of a function sct made (``grad``, ``jvp``, ... of something).

    With example arguments (a call's arguments; for ``jvp`` and ``vjp`` the tangents
    or seed may be included), the program specialised to them; without, the one used
    by the most recent call (or, before any call, the program for arguments of
    unknown kind).
    """
    marker = getattr(fn, "__sct_spec__", None)
    if marker is None:
        raise ArgumentError(f"{_name(fn)} was not made by sct; pass the result of sct.grad, sct.jvp, ...")
    if (args or kwargs) and isinstance(fn, Derivative):
        args, kwargs = fn._full_args(args, kwargs)  # (a method's self, a partial's arguments)
    shows = getattr(fn, "__sct_shows__", None)
    if shows is not None:  # a Hessian or HVP: the tangent program of the gradient program
        return source(shows, *args, **kwargs)
    spec, role, mode = marker
    if args or kwargs:
        extra = {"jvp": len(spec.wrt), "vjp": 1}.get(role, 0)  # the call's tangents or seed, if given
        if extra and len(args) == len(spec.signature.parameters) + extra:
            args = args[:-extra]
        if role == "vmap":  # (specialised to each example's kinds)
            return _with_callees(_vmap_program(spec, *_vmap_bind(spec, args, kwargs)))
        bound = spec.bind(args, kwargs)
        return _with_callees(derive(spec.fn, mode, spec.wrt, spec.kinds(bound), spec.checkpoint, spec.calls))
    reverse = mode not in (FORWARD, BATCHED)
    checkpoint = spec.checkpoint if reverse else None
    calls = spec.calls if reverse else None
    programs = [d for d in cached(spec.fn) if d.mode == mode and d.wrt == spec.wrt and d.checkpoint == checkpoint
                and d.calls == calls]
    if programs:
        return _with_callees(programs[-1])
    return _with_callees(derive(spec.fn, mode, spec.wrt, {}, spec.checkpoint, spec.calls))


def _with_callees(derived: Derived) -> str:
    """The program's text, then the text of each program it calls that sct generated (the derivatives of
    the functions yours call: in split mode their forward and backward sweeps), each once."""
    parts = [derived.source]
    for other in called_programs(derived):
        parts.append(other.source)
    return "\n".join(parts)


def derived_programs(fn: Callable) -> list[Derived]:
    """Every program sct generated for the primal behind ``fn`` (for inspection and benchmarks)."""
    marker = getattr(fn, "__sct_spec__", None)
    return cached(marker[0].fn if marker else fn)


InAxes = Union[int, None, Sequence[Union[int, None]]]


def vmap(fn: Callable, in_axes: InAxes = 0) -> Callable:
    """``fn`` run on a batch of examples at once (JAX's ``vmap``), from ``fn`` written for one example.

    ``in_axes`` says which positional arguments carry one example per row of their leading axis: ``0``
    (all of them), or one entry per positional parameter, ``0`` (batched) or ``None`` (shared by every
    example); a parameter the call leaves to its default is shared.  ``vmap(f)(X, W)`` returns ``np.stack([f(X[i], W[i]) for i in range(B)])``, computed by a
    generated program in which every value depending on a batched argument carries the examples on a
    leading axis (``sct.source`` shows it; see :mod:`sct.vmap` for what it vectorises and what it
    refuses with :class:`~sct.errors.VmapError`).

    ``vmap(jacobian(f, wrt=...))`` (or ``jacfwd``/``jacrev``) is the Jacobian of every example, in one
    batched tangent sweep of the vmapped program: its directions are the unit vectors of one example's
    ``wrt`` arguments, the same for every example (examples are independent, so one sweep gives every
    example's block).  Each block has shape ``(B,) + out.shape + x.shape`` (``x.shape`` of one example).
    """
    if isinstance(fn, Derivative) and fn._made[0] == "jacobian" and fn._full is None:
        return _vmap_jacobian(fn, in_axes)
    if isinstance(fn, Derivative):
        raise ArgumentError(f"sct.vmap takes a function, or a jacobian sct made; not {fn!r}")
    spec = _Spec.of(fn, _batched_params(fn, in_axes))

    def call(*args, **kwargs):
        bound, batched = _vmap_bind(spec, args, kwargs)
        derived = _vmap_program(spec, bound, batched)
        return derived.fn(*bound.args, **bound.kwargs)
    made = _wrap(spec, call, "vmap", VMAP, in_axes=in_axes)
    made._made = ("vmap", made._made[1], {"in_axes": in_axes})  # (its options: in_axes alone)
    return made


def _batched_params(fn: Callable, in_axes: InAxes) -> tuple[str, ...]:
    """The names of the positional parameters ``in_axes`` batches."""
    shown = _target(fn).signature
    positional = [p.name for p in shown.parameters.values() if p.kind in (p.POSITIONAL_ONLY,
                                                                          p.POSITIONAL_OR_KEYWORD)]
    axes = [in_axes] * len(positional) if in_axes is None or isinstance(in_axes, int) else list(in_axes)
    if len(axes) != len(positional):
        raise ArgumentError(f"in_axes has {len(axes)} entries; {_name(fn)}{shown} has {len(positional)} "
                            f"positional parameters")
    if any(a not in (0, None) or isinstance(a, bool) for a in axes):
        raise ArgumentError(f"in_axes entries are 0 (batched on the leading axis) or None (shared); got {in_axes!r}")
    names = tuple(n for n, a in zip(positional, axes) if a == 0)
    if not names:
        raise ArgumentError("in_axes batches no argument")
    return names


def _vmap_bind(spec: _Spec, args: tuple, kwargs: dict) -> tuple[inspect.BoundArguments, tuple[str, ...]]:
    """A call's arguments (defaults applied), and the batched parameters it passes (a parameter left to its
    default is shared by the examples).  Not spec.bind: a batched argument may hold integers."""
    try:
        bound = spec.signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise ArgumentError(f"{_name(spec.fn)}{spec.signature}: {exc}") from None
    batched = tuple(n for n in spec.wrt if n in bound.arguments)
    _apply_defaults(bound, spec.fn)
    return bound, batched


def _vmap_program(spec: _Spec, bound, batched: tuple | None = None) -> Derived:
    """The vmapped program of spec.fn batched in ``batched`` (default: spec.wrt), for these arguments'
    per-example kinds."""
    batched = spec.wrt if batched is None else batched
    if not batched:
        raise ArgumentError("sct.vmap: the call passes no batched argument (in_axes batches only arguments "
                            "given in the call; defaults are shared)")
    kinds = {}
    for name, value in bound.arguments.items():
        if name in batched:
            if not isinstance(value, np.ndarray) or value.ndim == 0:
                raise ArgumentError(f"sct.vmap: argument {_shown(name)} is batched, so it needs a NumPy array "
                                    f"with the examples on its leading axis; got {type(value).__name__}")
            kinds[name] = SCALAR if value.ndim == 1 else ARRAY
        else:
            kinds[name] = kind_of_value(value)
    key = (VMAP, batched, tuple(kinds.values()))
    derived = spec.programs.get(key)
    if derived is None or derived.fn is None or not derived.fresh():
        derived = spec.programs[key] = derive(spec.fn, VMAP, batched, kinds)
    return derived


VMAP_ELEMENTS = 1 << 15  # vmap(jacobian): directions x examples per batched sweep (measured: bench/README.md)


def _vmap_jacobian(jac: "Derivative", in_axes: InAxes) -> Callable:
    """``vmap(jacobian(f, wrt=...))``: see :func:`vmap`.

    Every ``wrt`` argument is batched in the vmapped program, a shared one as ``nb`` views of itself: then
    every value carrying a derivative is batched, and every tangent has the directions first and the
    examples second (a shared value's tangent would line its directions up with the examples)."""
    _, original, _ = jac._made
    inner = jac.__sct_spec__[0]
    shared = set(_Spec.of(original, 0).signature.parameters) - set(_batched_params(original, in_axes))
    batched = _batched_params(original, in_axes)
    spec = _Spec.of(original, batched + tuple(n for n in inner.wrt if n not in batched))
    if spec.fn is not inner.fn:
        raise ArgumentError("sct.vmap of a jacobian of a bound method or partial: vmap the function itself")
    tangent_specs: dict = {}  # the vmapped program -> the _Spec of its batched tangent program

    def call(*args, **kwargs):
        bound = inner.bind(args, kwargs)
        for name in inner.wrt:
            if pytree.is_container(bound.arguments[name]):
                raise ArgumentError(f"sct.vmap(jacobian): argument {_shown(name)} is a container; pass arrays")
        nb = len(next(bound.arguments[n] for n in spec.wrt if n not in shared))
        shapes = [np.shape(bound.arguments[n]) if n in shared else np.shape(bound.arguments[n])[1:]
                  for n in inner.wrt]
        for name, shape in zip(inner.wrt, shapes):
            if name in shared:  # (views: nb rows of the one value)
                bound.arguments[name] = np.broadcast_to(np.asarray(bound.arguments[name], dtype=float),
                                                        (nb,) + shape)
        program = _vmap_program(spec, bound)
        tspec = tangent_specs.get(program.fn)
        if tspec is None:
            tangent_specs.clear()
            tspec = tangent_specs[program.fn] = _Spec.of(program.fn, inner.wrt)
        sizes = [int(np.prod(s)) for s in shapes]
        total, units, offset = sum(sizes), {}, 0
        for name, shape, size in zip(inner.wrt, shapes, sizes):
            units[name] = np.eye(total)[:, offset:offset + size].reshape((total,) + shape)
            offset += size
        step = max(1, VMAP_ELEMENTS // max(1, total))
        parts = []
        for start in range(0, nb or 1, step):  # (examples in blocks: the batched tangents stay in cache; none: one)
            stop = min(nb, start + step)
            rows = {n: v[start:stop] if n in spec.wrt else v for n, v in bound.arguments.items()}
            tangents = {n: np.broadcast_to(u[:, None], (total, stop - start) + u.shape[1:]) for n, u in units.items()}
            value, d = _batched(tspec, inspect.BoundArguments(tspec.signature, rows), tangents)
            parts.append(np.moveaxis(np.broadcast_to(d, (total,) + np.shape(value)), 0, -1))
        columns = np.concatenate(parts) if len(parts) > 1 else parts[0]
        blocks, offset = [], 0
        for shape, size in zip(shapes, sizes):
            blocks.append(columns[..., offset:offset + size].reshape(columns.shape[:-1] + shape))
            offset += size
        return inner.pack(blocks)
    made = _wrap(spec, call, "vmap", VMAP, in_axes=in_axes)
    made._made = ("vmap", jac, {"in_axes": in_axes})  # (pickles as the vmap of that jacobian)
    return made


_FACTORIES = {"grad": grad, "value_and_grad": value_and_grad, "jvp": jvp, "vjp": vjp, "hessian": hessian,
              "hvp": hvp, "jacobian": jacobian, "vmap": vmap}
