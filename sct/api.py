"""sct's public functions: grad, value_and_grad, jvp, vjp, source.

Each takes an ordinary Python function and returns a new function that keeps the
original's signature (keywords and defaults work).  The derivative program is
generated on the first call, specialised to the kinds of the arguments (numbers,
arrays, lists), cached, and readable with :func:`source`.
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, Union

import numpy as np

from .analysis import ARRAY, SCALAR, kind_of_value
from .checkpoint import check_option
from .compiler import BATCHED, CALLS, FORWARD, GRADIENT, REVERSE, Derived, called_programs, cached, derive
from .errors import ArgumentError, NotBatchable, SourceError
from .runtime import zeros_like

Wrt = Union[int, str, Sequence[Union[int, str]]]


@dataclass(frozen=True)
class _Spec:
    """A function and the parameters to differentiate it with respect to."""

    fn: Callable
    wrt: tuple[str, ...]
    single: bool
    signature: inspect.Signature
    checkpoint: Any = None  # reverse mode: how loops are checkpointed (sct/checkpoint.py); None: a full tape
    calls: str | None = None  # reverse mode: calls of your functions in "joint" or "split" mode; None: chosen
    programs: dict = field(default_factory=dict, compare=False, repr=False)  # (mode, kinds) -> Derived

    def program(self, mode: str, bound: inspect.BoundArguments) -> Derived:
        """The derivative program for these arguments' kinds (a dict lookup after the first call)."""
        kinds = self.kinds(bound)
        key = (mode, tuple(kinds.values()))
        derived = self.programs.get(key)
        if derived is None or derived.fn is None or not derived.fresh():
            derived = self.programs[key] = derive(self.fn, mode, self.wrt, kinds, self.checkpoint, self.calls)
        return derived

    def quick_program(self, mode: str, args: tuple) -> Derived | None:
        """The program for a plain call (every parameter passed positionally, each a float or a
        float64 array) when it is already built and fresh; else None (take the general path)."""
        if len(args) != len(self.signature.parameters) or not self.all_positional:
            return None
        kinds = []
        for a in args:
            if type(a) is float:
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
        if not callable(fn):
            raise ArgumentError(f"sct differentiates functions; got {type(fn).__name__}")
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):
            raise SourceError(f"sct cannot read the signature of {fn!r}") from None
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in signature.parameters.values()):
            from . import fence, parse
            fence.check(parse.parse_function(fn))  # raises the located refusal
        single = isinstance(wrt, (int, str))
        items = (wrt,) if single else tuple(wrt)
        if not items:
            raise ArgumentError("wrt is empty: name at least one parameter to differentiate with respect to")
        params = list(signature.parameters.values())
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, str)):
                raise ArgumentError(f"wrt takes parameter positions or names; got {item!r}")
            if isinstance(item, int):
                if not -len(positional) <= item < len(positional):
                    raise ArgumentError(f"wrt={item} names no parameter of {_name(fn)}{signature} "
                                        f"(it has {len(positional)} positional parameters)")
                names.append(positional[item])
            else:
                if item not in signature.parameters:
                    raise ArgumentError(f"wrt={item!r} names no parameter of {_name(fn)}{signature}")
                names.append(item)
        if len(set(names)) != len(names):
            raise ArgumentError(f"wrt names a parameter twice: {names}")
        check_option(checkpoint)
        if calls not in CALLS:
            raise ArgumentError(f"calls must be 'joint' or 'split' (or None: split, joint inside checkpointed "
                                f"loops), not {calls!r}")
        return cls(fn, tuple(names), single, signature, checkpoint, calls)

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
            bound.apply_defaults()
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


def _differentiable(name: str, value):
    """The argument as sct differentiates it: ints become floats; non-numbers are refused."""
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"argument {name!r} is a bool; sct differentiates with respect to real numbers")
    if isinstance(value, (int, np.integer)):
        return float(value)
    if isinstance(value, (float, np.floating)):
        return value
    if isinstance(value, (complex, np.complexfloating)):
        raise ArgumentError(f"argument {name!r} is complex; sct differentiates real functions of real numbers")
    if isinstance(value, np.ndarray):
        if np.issubdtype(value.dtype, np.floating):
            return value
        if np.issubdtype(value.dtype, np.complexfloating):
            raise ArgumentError(f"argument {name!r} is a complex array; sct supports real arrays only")
        if np.issubdtype(value.dtype, np.integer) or value.dtype == bool:
            raise ArgumentError(f"argument {name!r} is an array of {value.dtype}; a gradient needs a float array "
                                f"(pass {name}.astype(float))")
        raise ArgumentError(f"argument {name!r} is an array of {value.dtype}; sct needs a float array")
    if isinstance(value, (list, tuple)):
        return type(value)(_differentiable(name, v) for v in value)
    raise ArgumentError(f"argument {name!r} is a {type(value).__name__}, not a number or a float array")


def _as_gradient(adjoint, like):
    """The adjoint in the shape and type of the argument it belongs to."""
    if type(like) is float:
        return float(adjoint)
    if isinstance(like, (list, tuple)):
        if isinstance(adjoint, float) and adjoint == 0.0:
            adjoint = [0.0] * len(like)
        return type(like)(_as_gradient(a, x) for a, x in zip(adjoint, like))
    if isinstance(like, np.ndarray):
        if type(adjoint) is np.ndarray and adjoint.shape == like.shape and adjoint.dtype == like.dtype:
            return adjoint.copy()  # (the common case; a copy: the adjoint may be an array the program reads)
        out = np.broadcast_to(np.asarray(adjoint, dtype=like.dtype), like.shape)
        return np.array(out)
    return float(adjoint)


def _check_scalar(fn, value) -> None:
    if type(value) is float or type(value) is np.float64:
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
    """Unit tangents, one per element of ``value`` (a number yields one)."""
    if isinstance(value, np.ndarray):
        for i in range(value.size):
            e = np.zeros(value.size)
            e[i] = 1.0
            yield e.reshape(value.shape)
    elif isinstance(value, (list, tuple)):
        raise ArgumentError("forward-mode grad with respect to a list is not supported; pass an array")
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
    grads, value = [], None
    for name in spec.wrt:
        arg = bound.arguments[name]
        if isinstance(arg, (list, tuple)):
            raise ArgumentError("forward-mode grad with respect to a list is not supported; pass an array")
        value, columns = _columns(spec, bound, name, chunk_size)
        _check_scalar(spec.fn, value)
        grads.append(np.reshape(columns, np.shape(arg)) if isinstance(arg, np.ndarray) else float(columns[0]))
    return value, grads


CHUNK_ELEMENTS = 1 << 20  # default directions per batched sweep: tangents of the wrt arguments up to ~8 MB


def _batched(spec: _Spec, bound, tangents: dict) -> tuple[Any, Any]:
    """f's value and its derivatives along B directions: ``tangents`` maps each wrt name to B tangents on a
    leading axis.  One sweep of the batched tangent program; one sweep per direction when it cannot be
    built (a rule declared not batchable, a list argument)."""
    n = len(next(iter(tangents.values())))
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
                                **{plain.tangent_names[w]: t[k] for w, t in tangents.items()})
            columns.append(d)
        shape = np.shape(value)
        return value, np.stack([np.broadcast_to(np.asarray(c, dtype=float), shape) for c in columns])
    value, d = derived.fn(*bound.args, **bound.kwargs,
                          **{derived.tangent_names[w]: t for w, t in tangents.items()})
    return value, np.broadcast_to(d, (n,) + np.shape(value)) if np.shape(d) != (n,) + np.shape(value) else d


def _chunks(size: int, like, chunk_size: int | None) -> list[tuple[int, int]]:
    """Ranges of directions per batched sweep: ``chunk_size`` each, or by default as many as keep one
    batched tangent of ``like`` under CHUNK_ELEMENTS elements."""
    step = chunk_size or max(1, CHUNK_ELEMENTS // max(1, np.size(like)))
    return [(start, min(size, start + step)) for start in range(0, size, step)]


def _unit_directions(x, start: int, stop: int):
    """The unit tangents ``start .. stop - 1`` of ``x``, on a leading axis."""
    size = np.size(x)
    e = np.zeros((stop - start, size))
    e[np.arange(stop - start), np.arange(start, stop)] = 1.0
    return e.reshape((stop - start,) + np.shape(x))


def _columns(spec: _Spec, bound, name: str, chunk_size: int | None):
    """f's value and its derivatives along every unit direction of the wrt argument ``name`` (leading axis),
    the other wrt tangents zero, in batched sweeps."""
    x = bound.arguments[name]
    parts, value = [], None
    for start, stop in _chunks(np.size(x), x, chunk_size):
        tangents = {w: np.zeros((stop - start,) + np.shape(bound.arguments[w])) for w in spec.wrt}
        tangents[name] = _unit_directions(x, start, stop)
        value, d = _batched(spec, bound, tangents)
        parts.append(np.asarray(d, dtype=float))
    return value, np.concatenate(parts) if len(parts) > 1 else parts[0]


def _jacobian_block(columns, value, x):
    """Directions on the leading axis moved last: JAX's layout ``out.shape + x.shape`` (a float for R->R)."""
    if not isinstance(x, np.ndarray) and np.shape(value) == ():
        return float(columns[0])
    return np.moveaxis(columns, 0, -1).reshape(np.shape(value) + np.shape(x))


class Derivative:
    """A function sct made (``grad``, ``jvp``, ...): called like the primal, pickled by reference.

    Pickling stores the primal (by its module and name, as pickle stores functions)
    and the options it was made with; unpickling makes it again, so multiprocessing,
    joblib or Dask can ship it (the program is regenerated on the first call there).
    """

    def __init__(self, spec: _Spec, call: Callable, role: str, mode: str, options: dict):
        functools.update_wrapper(self, spec.fn)
        del self.__wrapped__  # so inspect does not mistake the primal's source for ours
        self._call = call
        self._made = (role, spec.fn, {"wrt": spec.wrt[0] if spec.single else spec.wrt, **options})
        self.__sct_spec__ = (spec, role, mode)
        if role in ("grad", "value_and_grad"):
            self.__sct_source_function__ = functools.partial(_gradient_function, spec, role, mode)
        self.__name__ = f"{spec.fn.__name__}_{role}"
        self.__qualname__ = f"{_name(spec.fn)}_{role}"
        self.__signature__ = spec.signature

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __reduce__(self):
        return _remake, self._made

    def __repr__(self) -> str:
        role, fn, options = self._made
        shown = ", ".join(f"{k}={v!r}" for k, v in options.items())
        return f"<sct.{role} of {_name(fn)}, {shown}>"


def _remake(role: str, fn: Callable, options: dict) -> "Derivative":
    """Unpickling: the same derivative of the same primal."""
    factories = {"grad": grad, "value_and_grad": value_and_grad, "jvp": jvp, "vjp": vjp, "hessian": hessian,
                 "hvp": hvp, "jacobian": jacobian}
    return factories[role](fn, **options)


def _wrap(spec: _Spec, call: Callable, role: str, program_mode: str, **options) -> Callable:
    return Derivative(spec, call, role, program_mode, options)


def _gradient_function(spec: _Spec, role: str, mode: str, kinds: dict) -> Callable:
    """The gradient as a generated Python function calling the derivative program (so sct can differentiate it)."""
    from . import codegen

    fn = spec.fn
    derived = derive(fn, mode, spec.wrt, kinds, spec.checkpoint, spec.calls)
    params = list(spec.signature.parameters.values())
    header = ", ".join(p.name if p.kind != p.KEYWORD_ONLY else p.name for p in params
                       if p.kind != p.KEYWORD_ONLY)
    kwonly = [p.name for p in params if p.kind == p.KEYWORD_ONLY]
    signature = header + (", *, " + ", ".join(kwonly) if kwonly else "")
    passed = ", ".join([p.name for p in params if p.kind != p.KEYWORD_ONLY] + [f"{k}={k}" for k in kwonly])
    name = f"{fn.__name__}_{role}_call"  # (f_grad is the gradient program it calls)
    lines = [f"def {name}({signature}):",
             f"    # sct: the gradient of {fn.__name__} with respect to {', '.join(spec.wrt)}, "
             f"by its {'gradient' if mode == GRADIENT else 'tangent'} program"]
    if mode == GRADIENT:
        lines.append(f"    out = {derived.name}({passed})")
        grads = [f"out[{i + 1}]" for i in range(len(spec.wrt))]
        value = "out[0]"
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
    made, _ = codegen.load(source, name, {derived.name: derived.fn}, fn.__globals__)
    made.__defaults__, made.__kwdefaults__ = fn.__defaults__, fn.__kwdefaults__
    return made


def hessian(fn: Callable, *, wrt: Wrt = 0, chunk_size: int | None = None) -> Callable:
    """The Hessian of a scalar function (forward over reverse).

    sct generates the adjoint program of ``fn``, then the batched tangent program
    of that adjoint program, and runs it once for all input elements (in chunks
    of ``chunk_size`` directions; by default as many as keep a batched tangent
    under about 8 MB).  For one ``wrt``: a float for a number argument, an array
    of shape ``x.shape * 2`` for an array.  For a tuple ``wrt=(a, b)``: the blocks
    ``((H_aa, H_ab), (H_ba, H_bb))``, block ``H_ij`` of shape ``x_i.shape + x_j.shape``
    (JAX's layout).
    """
    spec = _Spec.of(fn, wrt)
    inners = {name: grad(fn, wrt=name) for name in spec.wrt}
    outers = {(i, j): _Spec.of(inners[i], j) for i in spec.wrt for j in spec.wrt}

    def call(*args, **kwargs):
        bound = spec.bind(args, kwargs)
        blocks = tuple(tuple(_jacobian_of(outers[i, j], bound, j, chunk_size) for j in spec.wrt) for i in spec.wrt)
        return blocks[0][0] if spec.single else blocks
    made = _wrap(spec, call, "hessian", BATCHED, chunk_size=chunk_size)
    # what sct.source prints: the batched tangent program of the gradient program
    made.__sct_shows__ = jvp(inners[spec.wrt[0]], wrt=spec.wrt[0], batched=True)
    return made


def _jacobian_of(outer: _Spec, bound, by: str, chunk_size: int | None):
    """d(gradient)/d``by``: the gradient function's batched tangents along every element of ``by``."""
    inner = outer.bind(bound.args, bound.kwargs)
    value, columns = _columns(outer, inner, by, chunk_size)
    return _jacobian_block(columns, value, bound.arguments[by])


def hvp(fn: Callable, *, wrt: Union[int, str] = 0) -> Callable:
    """The Hessian-vector product ``hvp(f)(x, ..., v) = H(x) @ v`` in one sweep (forward over reverse).

    sct runs the tangent program of f's gradient program once, with tangent ``v``
    (shaped like the ``wrt`` argument): the cost of about two gradients, whatever
    the size of ``x``.  The result has the shape of ``x``.
    """
    spec = _Spec.of(fn, wrt)
    if not spec.single:
        raise ArgumentError("hvp takes one wrt argument")
    name = spec.wrt[0]
    outer = jvp(grad(fn, wrt=name), wrt=name)

    def call(*args, **kwargs):
        if not args:
            raise ArgumentError(f"hvp of {_name(fn)} takes the arguments, then the vector v")
        bound = spec.bind(args[:-1], kwargs)
        _, product = outer(*bound.args, args[-1], **bound.kwargs)
        return _as_gradient(product, bound.arguments[name])
    made = _wrap(spec, call, "hvp", FORWARD)
    made.__sct_shows__ = outer  # what sct.source prints: the tangent program of the gradient program
    return made


def jacobian(fn: Callable, *, wrt: Wrt = 0, mode: str = "auto", chunk_size: int | None = None) -> Callable:
    """The Jacobian of a function with number or array output, in JAX's layout ``out.shape + x.shape``.

    ``mode="forward"`` runs the batched tangent program once, carrying every
    element of the ``wrt`` arguments as a direction (in chunks of ``chunk_size``
    directions; by default as many as keep a batched tangent under about 8 MB);
    ``"reverse"`` the adjoint program once per element of the output; ``"auto"``
    forward when the inputs are no more than the outputs.  A tuple ``wrt`` gives a
    tuple of Jacobians.
    """
    spec = _Spec.of(fn, wrt)
    if mode not in (FORWARD, REVERSE, "auto"):
        raise ArgumentError(f"mode must be 'forward', 'reverse' or 'auto', not {mode!r}")

    def call(*args, **kwargs):
        bound = spec.bind(args, kwargs)
        for name in spec.wrt:
            if isinstance(bound.arguments[name], (list, tuple)):
                raise ArgumentError(f"jacobian with respect to {name!r}, a list: pass an array")
        chosen = mode
        if mode == "auto":
            size = sum(np.size(bound.arguments[n]) for n in spec.wrt)
            chosen = FORWARD if size <= np.size(_output(spec, bound)) else REVERSE
        blocks = _jacobian_forward(spec, bound, chunk_size) if chosen == FORWARD else _jacobian_reverse(spec, bound)
        return spec.pack(blocks)
    return _wrap(spec, call, "jacobian", REVERSE if mode == REVERSE else BATCHED, mode=mode, chunk_size=chunk_size)


def jacfwd(fn: Callable, *, wrt: Wrt = 0, chunk_size: int | None = None) -> Callable:
    """``jacobian(fn, wrt=wrt, mode="forward")`` (JAX's name)."""
    return jacobian(fn, wrt=wrt, mode=FORWARD, chunk_size=chunk_size)


def jacrev(fn: Callable, *, wrt: Wrt = 0) -> Callable:
    """``jacobian(fn, wrt=wrt, mode="reverse")`` (JAX's name)."""
    return jacobian(fn, wrt=wrt, mode=REVERSE)


def _output(spec: _Spec, bound):
    return _check_output(spec, spec.fn(*bound.args, **bound.kwargs))


def _check_output(spec: _Spec, value):
    if isinstance(value, (list, tuple)) or np.iscomplexobj(value) or not isinstance(
            value, (int, float, np.number, np.ndarray)):
        raise ArgumentError(f"jacobian of {_name(spec.fn)}: the function returned a {type(value).__name__}; "
                            f"it needs a number or a float array")
    return value


def _jacobian_forward(spec: _Spec, bound, chunk_size: int | None = None) -> list:
    blocks = []
    for name in spec.wrt:
        value, columns = _columns(spec, bound, name, chunk_size)
        _check_output(spec, value)
        blocks.append(_jacobian_block(columns, value, bound.arguments[name]))
    return blocks


def _jacobian_reverse(spec: _Spec, bound) -> list:
    derived = spec.program(REVERSE, bound)
    value = _output(spec, bound)
    rows: list[list] = [[] for _ in spec.wrt]
    for seed in _basis(np.asarray(value, dtype=float) if isinstance(value, np.ndarray) else 1.0):
        _, *adjoints = derived.fn(*bound.args, **bound.kwargs, **{derived.seed_name: seed})
        for row, adjoint, name in zip(rows, adjoints, spec.wrt):
            row.append(np.asarray(_as_gradient(adjoint, bound.arguments[name]), dtype=float))
    out = []
    for row, name in zip(rows, spec.wrt):
        x = bound.arguments[name]
        if not isinstance(x, np.ndarray) and np.shape(value) == ():
            out.append(float(row[0]))
        else:
            out.append(np.stack(row, axis=0).reshape(np.shape(value) + np.shape(x)))
    return out


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


def grad(fn: Callable | None = None, *, wrt: Wrt = 0, mode: str = REVERSE, checkpoint=None,
         calls: str | None = None) -> Callable:
    """The gradient of a scalar function, as a function with the same signature.

    ``grad(f)(x, y)`` returns df/dx; ``grad(f, wrt=(0, "y"))(x, y)`` returns
    ``(df/dx, df/dy)``.  Gradients have the shape and type of their argument
    (a float for a number, an array for an array).  ``mode="reverse"`` runs one
    adjoint sweep; ``mode="forward"`` one batched tangent sweep carrying every input element as a
    direction.
    Works as ``grad(f)``, ``@grad`` and ``@grad(wrt=..., mode=...)``.

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
    spec, mode = _Spec.of(fn, wrt, _reverse_only(checkpoint, mode, calls), calls), _mode(mode)
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
    spec, mode = _Spec.of(fn, wrt, _reverse_only(checkpoint, mode, calls), calls), _mode(mode)
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
    parameters; the result is the value and its directional derivative.

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
            t = _differentiable("d" + name, t)
            if isinstance(bound.arguments[name], np.ndarray) and not isinstance(t, np.ndarray):
                t = np.asarray(t, dtype=float)  # a 0-d argument gets a 0-d tangent
            if np.shape(t) != np.shape(bound.arguments[name]):
                raise ArgumentError(f"the tangent of {name!r} has shape {np.shape(t)}, "
                                    f"the argument {np.shape(bound.arguments[name])}")
            tangents[derived.tangent_names[name]] = t
        return derived.fn(*bound.args, **bound.kwargs, **tangents)
    return _wrap(spec, call, "jvp", BATCHED if batched else FORWARD, **({"batched": True} if batched else {}))


def _jvp_batched(spec: _Spec, args, kwargs, given) -> tuple[Any, Any]:
    bound = spec.bind(args, kwargs)
    tangents, sizes = {}, set()
    for name, t in zip(spec.wrt, given):
        x = bound.arguments[name]
        if isinstance(x, (list, tuple)):
            raise ArgumentError(f"a batched jvp with respect to {name!r}, a list: pass an array")
        t = np.asarray(t, dtype=float)
        if t.ndim == 0 or t.shape[1:] != np.shape(x):
            raise ArgumentError(f"the batched tangent of {name!r} has shape {t.shape}; it needs a leading batch "
                                f"axis before the argument's shape {np.shape(x)}")
        tangents[name] = t
        sizes.add(t.shape[0])
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
    shows = getattr(fn, "__sct_shows__", None)
    if shows is not None:  # a Hessian or HVP: the tangent program of the gradient program
        return source(shows, *args, **kwargs)
    spec, role, mode = marker
    if args or kwargs:
        extra = {"jvp": len(spec.wrt), "vjp": 1}.get(role, 0)  # the call's tangents or seed, if given
        if extra and len(args) == len(spec.signature.parameters) + extra:
            args = args[:-extra]
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
