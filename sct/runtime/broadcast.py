"""Shapes of derivatives under NumPy broadcasting."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .namespace import broadcast_to, is_array, is_numpy, namespace, zeros


def unbroadcast(g, x):
    """Sum the adjoint ``g`` over the axes along which ``x`` was broadcast: x̄ has x's shape."""
    if type(g) is np.ndarray:
        if type(x) is np.ndarray and g.shape == x.shape:
            return g  # the common case, decided without a NumPy call
        if (type(x) is float or type(x) is np.float64) and g.size < 4096:
            return g.sum()  # (a number's adjoint: every element summed)
    if isinstance(g, (list, tuple)):
        raise TypeError("sct: an operator was applied to lists whose kind sct could not tell at transform time; "
                        "convert them with np.array(...) or keep them in a variable that is a list throughout")
    shape = np.shape(x)
    gshape = np.shape(g)
    if gshape == shape:
        return g
    if not gshape:  # a scalar adjoint (a symbolic zero or a scalar seed) broadcasts by itself
        return g
    if len(gshape) < len(shape) or any(n < m for n, m in zip(gshape[::-1], shape[::-1])):
        # narrower than x: a number standing for a whole adjoint (the zero 0.0) went through an
        # elementwise rule with a narrower operand; it stands for the same values along the axes it
        # lacks (as in ``_like``), so it is widened before summing
        g = broadcast_to(g, np.broadcast_shapes(gshape, shape), g)
        gshape = g.shape
    extra = len(gshape) - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and gshape[i + extra] != 1)
    if not axes:
        out = g
    else:  # (another library's sum for JAX: NumPy's would convert the array)
        out = sum_axes(g, axes) if type(g) is np.ndarray else namespace(g).sum(g, axis=axes)
    return namespace(out).reshape(out, shape) if shape else out


def sum_axes(g, axes: tuple[int, ...]):
    """``np.sum(g, axis=axes)``; for a large float64 array summed over leading, trailing or
    one middle block of axes, a product with a vector of ones (BLAS runs it 3-25x faster
    than NumPy's strided reduction)."""
    if type(g) is not np.ndarray or g.dtype != np.float64 or g.size < 4096 or not g.flags.c_contiguous:
        return np.sum(g, axis=axes)
    shape, first, last = g.shape, axes[0], axes[-1] + 1
    if axes != tuple(range(first, last)):
        return np.sum(g, axis=axes)
    n = math.prod(shape[first:last])
    kept = shape[:first] + shape[last:]
    rows, cols = math.prod(shape[:first]), math.prod(shape[last:])
    if cols == 1:
        out = g.reshape(rows, n) @ np.ones(n)
    else:
        out = np.ones(n) @ g.reshape(rows, n, cols)  # (rows, cols); rows == 1 is a plain vector-matrix product
    return out.reshape(kept)


def expand(dx, like):
    """The tangent ``dx`` widened to the shape of ``like`` (a broadcast operand left it narrower)."""
    shape = np.shape(like)
    if np.shape(dx) == shape:
        return dx
    return np.broadcast_to(dx, shape) if is_numpy(dx, like) else broadcast_to(dx, shape, like)


def unreduce(g, x, axis=None, keepdims=False):
    """The adjoint of a reduction over ``axis`` spread back over x's shape."""
    if axis is None and type(x) is np.ndarray and x.size <= 4096 and type(g) in (float, np.float64):
        return np.full(x.shape, g)  # (a small array: filling one costs less than NumPy's broadcast_to)
    shape = np.shape(x)
    xp = namespace(g)
    if axis is not None and not keepdims:
        axes = {a % len(shape) for a in ((axis,) if np.ndim(axis) == 0 else axis)}
        if np.shape(g) == tuple(n for i, n in enumerate(shape) if i not in axes):  # (as expand_dims, faster)
            g = xp.reshape(g, tuple(1 if i in axes else n for i, n in enumerate(shape)))
        elif np.ndim(g) > 0:  # (a number stands for the same value everywhere: broadcast below)
            g = xp.expand_dims(g, tuple(axes))
    # (for a Dask x, a lazy broadcast chunked as x: a NumPy one of a seed would enter the graph whole)
    return np.broadcast_to(g, shape) if is_numpy(g, x) else broadcast_to(g, shape, x)


def shape_only(x):
    """A stand-in for the array ``x`` that holds no data: its shape and dtype, every element zero.

    The forward sweep rebinds an array the backward sweep reads only for its shape
    (``unbroadcast(g, x)``) to this, so the array's memory is freed early.
    """
    if type(x) is np.ndarray and x.nbytes >= 1 << 16:  # (smaller arrays cost less to keep than to replace)
        return np.ndarray(x.shape, x.dtype, bytes(x.itemsize), 0, (0,) * x.ndim)  # read-only, zero strides
    return x


def zeros_like(x):
    """A zero tangent shaped like ``x``: 0.0 for numbers, a float array for arrays, a list for lists (and
    NamedTuples), a dict for dicts (and dataclass instances, by field name)."""
    if isinstance(x, (list, tuple)):
        return [zeros_like(v) for v in x]
    if isinstance(x, dict):
        return {k: zeros_like(v) for k, v in x.items()}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: zeros_like(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, np.ndarray):
        return np.zeros(x.shape, dtype=np.result_type(x.dtype, float))
    if is_array(x):
        return zeros(tuple(x.shape), x)
    return 0.0
