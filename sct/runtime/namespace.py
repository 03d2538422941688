"""Which array library a value belongs to, and the few operations that differ between libraries.

Generated code and the runtime helpers call NumPy's functions.  Arrays that implement
NumPy's API by dispatch (Dask, through ``__array_function__`` / ``__array_ufunc__``)
run those calls themselves, lazily; arrays of the array API standard that do not
dispatch (JAX, CuPy) are handed to their own namespace (``x.__array_namespace__()``):
the helpers call ``namespace(x).sum(...)`` and a generated program for JAX arguments
is loaded with ``np`` bound to ``jax.numpy`` (see ``api``).  What no library spells the
same way is here: scatter-add (NumPy writes in place, JAX returns a new array, Dask
builds a graph) and broadcasting a small array against a large lazy one (Dask needs
the large one's chunks, else the small array is broadcast eagerly and shipped whole).
"""
from __future__ import annotations

import numpy as np

NUMPY = "numpy"


def name_of(value) -> str:
    """The array library of ``value``: "numpy" for numbers and NumPy arrays, "dask" for Dask arrays, the
    namespace module's name (``jax.numpy``) for other array-API arrays."""
    t = type(value)
    if t is np.ndarray or t is float or t is int or isinstance(value, (np.generic, int, float, list, tuple)):
        return NUMPY
    if is_dask(value):
        return "dask"
    get = getattr(value, "__array_namespace__", None)
    if get is not None and not hasattr(t, "__array_function__"):
        return get().__name__
    return NUMPY


def namespace(*values):
    """The module to call on ``values``: ``numpy`` unless one of them is an array of the array API standard
    that does not dispatch NumPy's functions (a JAX array or tracer): then its namespace (``jax.numpy``)."""
    for value in values:
        t = type(value)
        if t is np.ndarray or t is float or t is int:
            continue
        get = getattr(value, "__array_namespace__", None)
        if get is not None and not hasattr(t, "__array_function__"):
            return get()
    return np


def is_numpy(*values) -> bool:
    """Are all ``values`` NumPy arrays or numbers (the common case, decided by type alone)?"""
    for v in values:
        t = type(v)
        if t is not np.ndarray and t is not float and not isinstance(v, (np.generic, int, float)):
            return False
    return True


def is_dask(value) -> bool:
    """Is ``value`` a Dask array (decided without importing Dask)?"""
    return type(value).__module__.startswith("dask.") and hasattr(value, "chunks")


def is_array(value) -> bool:
    """Is ``value`` an array of some library sct runs on: NumPy, or one with a shape and dtype that
    dispatches NumPy's functions or names its array-API namespace (Dask, JAX, CuPy)?"""
    if isinstance(value, np.ndarray):
        return True
    t = type(value)
    return (hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic)
            and (hasattr(t, "__array_function__") or hasattr(value, "__array_namespace__")))


def float_dtype(value):
    """The dtype adjoints and tangents of ``value`` take: its own if floating (float32 stays float32),
    else float64."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None and np.issubdtype(np.dtype(dtype), np.floating):
        return dtype
    return np.float64


def broadcast_to(g, shape: tuple, like):
    """``g`` broadcast to ``shape``, which is ``like``'s shape or one ``like`` broadcasts to, in ``like``'s
    library: for a Dask ``like`` a lazy array chunked as ``like`` (a NumPy broadcast view of a large shape
    would enter the graph whole: 80 MB for a seed of 10⁷ rows)."""
    if is_dask(like) and len(shape) == like.ndim:
        import dask.array as da
        return da.broadcast_to(g, shape, chunks=like.chunks)
    if is_dask(like) or is_dask(g):
        import dask.array as da
        return da.broadcast_to(g, shape)
    return namespace(g, like).broadcast_to(g, shape)


def zeros(shape: tuple, like):
    """Zeros of ``shape`` in ``like``'s library and float dtype (chunked as ``like`` for Dask)."""
    dtype = float_dtype(like)
    if is_dask(like):
        import dask.array as da
        return da.zeros(shape, dtype=dtype, chunks=like.chunks if tuple(like.shape) == tuple(shape) else "auto")
    return namespace(like).zeros(shape, dtype=dtype)


def scatter_add(shape: tuple, like, index, g):
    """Zeros of ``shape`` plus ``g`` added at ``[index]``, repeated indices accumulating, as a new array in
    the library of ``like`` and ``g``: ``np.add.at`` for NumPy, ``.at[index].add`` for JAX, a lazy sum over
    flat positions (``bincount``) or a lazy assignment for Dask."""
    xp = namespace(like, g)
    dtype = float_dtype(like)
    if xp is not np:
        return xp.zeros(shape, dtype=dtype).at[index].add(g)
    if is_dask(like) or is_dask(g):
        return _dask_scatter_add(shape, like, index, g, dtype)
    out = np.zeros(shape, dtype=dtype)
    np.add.at(out, index, g)
    return out


def _dask_scatter_add(shape, like, index, g, dtype):
    import dask.array as da
    parts = index if isinstance(index, tuple) else (index,)
    fancy = any(isinstance(p, (np.ndarray, list)) or is_array(p) for p in parts)
    if not fancy:  # a basic index selects each element once: an assignment into zeros
        out = da.zeros(shape, dtype=dtype, chunks=like.chunks if is_dask(like) else "auto")
        out[index] = da.broadcast_to(g, out[index].shape) if np.shape(g) != out[index].shape else g
        return out
    flat = np.arange(int(np.prod(shape))).reshape(shape)[index]  # (positions: small, host-side)
    weights = da.broadcast_to(g, flat.shape).ravel()
    positions = da.from_array(flat.ravel(), chunks=weights.chunks)
    return da.bincount(positions, weights=weights, minlength=int(np.prod(shape))).reshape(shape).astype(dtype)


class Dispatch:
    """``np`` for code run on another library's arrays: ``Dispatch(jax.numpy).exp(x)`` is ``jax.numpy.exp(x)``
    when an argument (or an item of a list or tuple argument) is one of that library's arrays, else
    ``numpy.exp(x)``: shape bookkeeping on host tuples (``np.prod(shape)``) and constants (``np.eye(3)``)
    stay NumPy's.  Attributes that are not functions (``np.pi``, ``np.ndarray``, ``np.s_``) are NumPy's."""

    def __init__(self, xp, owns=None, overrides: dict | None = None):
        self._xp = xp
        self._owns = owns or (lambda v: namespace(v) is xp)
        self._overrides = overrides or {}

    def __getattr__(self, name: str):
        host = getattr(np, name)
        theirs = self._overrides.get(name) or getattr(self._xp, name, None)
        if not callable(host) or isinstance(host, type) or theirs is None:
            value = host
        else:
            def value(*args, **kwargs):
                return (theirs if self._holds_theirs(args) or self._holds_theirs(kwargs.values()) else host)(
                    *args, **kwargs)
            value.__name__ = name
        setattr(self, name, value)  # (found once per name)
        return value

    def _holds_theirs(self, values) -> bool:
        for v in values:
            if isinstance(v, (list, tuple)):
                if any(self._owns(item) for item in v):
                    return True
            elif self._owns(v):
                return True
        return False


def _dask_split(a, indices_or_sections, axis=0):
    """``np.split`` of a Dask array, lazily (by slices; Dask does not implement it)."""
    n = a.shape[axis]
    if np.ndim(indices_or_sections) == 0:
        k = int(indices_or_sections)
        if n % k:
            raise ValueError("array split does not result in an equal division")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    axis = axis % a.ndim
    return [a[(slice(None),) * axis + (slice(lo, hi),)] for lo, hi in zip(bounds, bounds[1:])]


def _host_size(a, axis=None) -> int:
    """``np.size`` from the shape (NumPy's would compute a Dask array)."""
    return int(np.prod(a.shape)) if axis is None else a.shape[axis]


def dispatch_for(library: str, xp) -> Dispatch | None:
    """What ``np`` is bound to in programs run on arrays of ``library`` (None: NumPy itself)."""
    if library == "dask":  # (Dask dispatches NumPy's calls but computes in these)
        return Dispatch(np, is_dask, {"split": _dask_split, "size": _host_size})
    return None if xp is np else Dispatch(xp)


def rebound(fn, xp, memo: dict | None = None):
    """``fn`` with the global ``np`` bound to ``Dispatch(xp)`` (``xp``: ``jax.numpy``), and likewise every
    generated program and sct rule helper it calls: a program sct wrote with NumPy calls, run in another array
    namespace.  The runtime helpers (``sct.runtime``) are left as they are: they ask ``namespace(x)``
    themselves."""
    xp = xp if isinstance(xp, Dispatch) else Dispatch(xp)
    memo = {} if memo is None else memo
    if fn in memo:
        return memo[fn]
    import types
    globals_ = {}
    made = types.FunctionType(fn.__code__, globals_, fn.__name__, fn.__defaults__, fn.__closure__)
    made.__kwdefaults__, made.__qualname__, made.__doc__ = fn.__kwdefaults__, fn.__qualname__, fn.__doc__
    made.__module__ = fn.__module__
    memo[fn] = made
    globals_.update(fn.__globals__)
    for name in _names_read(fn.__code__) & globals_.keys():
        value = globals_[name]
        if value is np:
            globals_[name] = xp
        elif _rebindable(value):
            globals_[name] = rebound(value, xp, memo)
    return made


def _names_read(code) -> set:
    """The global (and attribute) names a code object and the code nested in it read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names_read(const)
    return names


def _rebindable(value) -> bool:
    """A generated program or a rule helper (their NumPy calls are the ones to bind to another namespace)."""
    if not callable(value) or not hasattr(value, "__code__") or not hasattr(value, "__globals__"):
        return False
    module = value.__globals__.get("__name__", "")
    return module == "sct.generated" or module.startswith("sct.rules.")
