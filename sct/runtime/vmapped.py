"""Helpers of the vectorised (``vmap``) program: a function written for one example run on B examples.

In a vmapped program a *batched* value holds one value per example on a leading
axis (shape ``(B,) + per-example shape``); the other values are shared by every
example and keep their shapes.  Elementwise operations need the per-example
axes lined up (a per-example number times a per-example vector: ``(B,)`` against
``(B, 2)``): ``align`` and ``align_batched`` insert unit axes after the batch
axis.  Reductions take the per-example axes (``batch_axes``); ``vdot`` and
``vcross`` are ``np.dot`` and ``np.cross`` of each example; a branch on a batched
test runs each side on the examples that take it (``branch_rows``, gathering
with ``x[rows]``) and ``merge_rows`` puts the two sides' results back in order.
"""
from __future__ import annotations

import numpy as np

from .batched import cross_last, shift_axis, transpose_axes


def vmap_size(*batched) -> int:
    """B, the number of examples: the length of the leading axis of the batched arguments (all the same)."""
    sizes = {np.shape(x)[0] for x in batched if np.ndim(x) > 0}
    if len(sizes) != 1 or any(np.ndim(x) == 0 for x in batched):
        shapes = [np.shape(x) for x in batched]
        raise ValueError(f"sct.vmap: the batched arguments need one leading axis of the same length; got {shapes}")
    return sizes.pop()


def align(x, like):
    """The batched ``x`` with unit axes after the batch axis so that each example has as many axes as the
    shared value ``like``: the two then broadcast example by example."""
    missing = np.ndim(like) + 1 - np.ndim(x)
    if missing <= 0:
        return x
    shape = np.shape(x)
    return np.reshape(x, shape[:1] + (1,) * missing + shape[1:])


def align_batched(x, like):
    """The batched ``x`` with unit axes after the batch axis so that each example has as many axes as the
    batched ``like``'s examples."""
    missing = np.ndim(like) - np.ndim(x)
    if missing <= 0:
        return x
    shape = np.shape(x)
    return np.reshape(x, shape[:1] + (1,) * missing + shape[1:])


def batch_axes(axis, x):
    """The ``axis`` argument of a reduction over each example of the batched ``x``: ``None`` (every axis of
    an example) becomes every axis but the batch axis; an axis ``k`` becomes ``k + 1``."""
    return shift_axis(axis, np.ndim(x) - 1)


def vsum(x, axis=None, keepdims=False):
    """``np.sum`` of each example of the batched ``x`` (``axis`` counts an example's axes)."""
    x = np.asarray(x)
    return _sum_axes(x, shift_axis(axis, x.ndim - 1), keepdims)


def vsum_batched(d, x, axis=None, keepdims=False):
    """``vsum`` of each direction of the batched tangent ``d`` of ``x`` (directions first, examples second)."""
    if type(d) is not np.ndarray:
        return d
    axes = shift_axis(axis, np.ndim(x) - 1)
    return _sum_axes(d, tuple(a + 1 for a in axes) if isinstance(axes, tuple) else axes + 1, keepdims)


def _sum_axes(x, axes, keepdims: bool):
    """``np.sum(x, axes)``; over trailing axes of a float array as a product with ones (BLAS), which costs a
    tenth of NumPy's reduction over a short last axis (3-vectors)."""
    axes = tuple(sorted(axes)) if isinstance(axes, tuple) else (axes,)
    n = len(axes)
    if keepdims or x.dtype != np.float64 or n == 0 or axes != tuple(range(x.ndim - n, x.ndim)):
        return np.sum(x, axis=axes, keepdims=keepdims)
    lead = x.shape[:x.ndim - n]
    width = int(np.prod(x.shape[x.ndim - n:]))
    return np.reshape(x, lead + (width,)) @ np.ones(width)


def batch_transpose(axes, x):
    """The ``axes`` of ``np.transpose`` of each example of the batched ``x`` (``None``: reversed): the batch
    axis stays first."""
    return transpose_axes(axes, np.ndim(x) - 1)


def to_batch(x, nb: int):
    """A shared value as a batched one: ``nb`` copies on a leading axis."""
    x = np.asarray(x)
    return np.repeat(x[np.newaxis], nb, axis=0)


def branch_rows(test, nb: int):
    """The examples taking each side of a branch on a batched test: ``(rows where true, rows where false)``
    (slices where every example takes one side: its values are then views, and nothing is merged)."""
    test = np.asarray(test)
    if test.shape != (nb,):
        raise ValueError(f"sct.vmap: a branch needs one truth value per example, shape ({nb},); got {test.shape}")
    taken = int(np.count_nonzero(test))
    if taken == nb:
        return slice(0, nb), slice(0, 0)
    if taken == 0:
        return slice(0, 0), slice(0, nb)
    return np.flatnonzero(test), np.flatnonzero(~test.astype(bool))


def count_rows(rows) -> int:
    """How many examples ``rows`` (from ``branch_rows``) holds."""
    return rows.stop - rows.start if isinstance(rows, slice) else len(rows)


def merge_rows(a, b, rows, rest, where: str | None = None):
    """The examples ``rows`` from the batched ``a`` and ``rest`` from the batched ``b``, in order
    (``a`` or ``b`` may be the number 0.0: zeros).  The two sides must give each example a value of one
    shape (``where``: "file:line:col" of the branch, for the refusal)."""
    _same_example_shapes(np.shape(a)[1:] if np.ndim(a) else None, np.shape(b)[1:] if np.ndim(b) else None, where)
    n = count_rows(rows) + count_rows(rest)
    shape = (n,) + np.broadcast_shapes(np.shape(a)[1:], np.shape(b)[1:])
    if count_rows(rest) == 0 and np.shape(a) == shape:  # (every example took the first side)
        return a
    if count_rows(rows) == 0 and np.shape(b) == shape:
        return b
    out = np.empty(shape, dtype=np.result_type(a, b, float))
    out[rows] = a
    out[rest] = b
    return out


def merge_rows_batched(da, db, rows, rest, where: str | None = None):
    """``merge_rows`` of batched tangents (directions first, examples second)."""
    if np.ndim(da) == 0 and np.ndim(db) == 0:  # (two zeros)
        return 0.0
    _same_example_shapes(np.shape(da)[2:] if np.ndim(da) else None, np.shape(db)[2:] if np.ndim(db) else None,
                         where)
    if np.ndim(da) == 0 and da == 0.0 and count_rows(rest) == 0 or \
            np.ndim(db) == 0 and db == 0.0 and count_rows(rows) == 0:
        return 0.0  # (a zero on the side every example took)
    nd = np.shape(da)[0] if np.ndim(da) else np.shape(db)[0]
    shape = (nd, count_rows(rows) + count_rows(rest)) + np.broadcast_shapes(np.shape(da)[2:], np.shape(db)[2:])
    if count_rows(rest) == 0 and np.shape(da) == shape:
        return da
    if count_rows(rows) == 0 and np.shape(db) == shape:
        return db
    out = np.empty(shape, dtype=np.result_type(da, db, float))
    out[:, rows] = da
    out[:, rest] = db
    return out


def _same_example_shapes(first, second, where: str | None) -> None:
    """Refuse a branch whose sides leave an example's value with different shapes (a number on one side,
    a vector on the other): merged, the number would be spread over the vector, which the example's own
    run would not do (``np.sum(y)`` would differ).  None: a zero, which takes any shape."""
    if first is None or second is None or first == second:
        return
    from ..errors import VmapError
    location = None
    if where:
        from .containers import _location
        location = _location(where)
    raise VmapError(f"sct.vmap: the two sides of a branch on a batched test give a variable values of different "
                    f"shapes per example ({first} and {second})", location,
                    "give it one shape on both sides, e.g. y = x * 0.0 rather than y = 0.0")


def to_batch_batched(dx, nb: int):
    """``to_batch`` of a batched tangent (directions first): the examples' axis second."""
    dx = np.asarray(dx)
    return np.repeat(dx[:, np.newaxis], nb, axis=1)


def vdot(a, b, a_batched: bool, b_batched: bool):
    """``np.dot`` of each example (per-example numbers, vectors and matrices), the batched operands
    carrying the examples on a leading axis."""
    ra, rb = np.ndim(a) - a_batched, np.ndim(b) - b_batched
    if ra == 0 or rb == 0:  # a number: the product
        if a_batched and b_batched:
            return align_batched(a, b) * align_batched(b, a)
        if a_batched:
            return align(a, b) * b
        return a * align(b, a) if b_batched else a * b
    if ra > 2 or rb > 2:
        raise NotImplementedError("sct.vmap: np.dot of numbers, vectors and matrices per example")
    if a_batched and b_batched:
        if ra == rb == 1:
            return np.einsum("...i,...i->...", a, b)
        left = a[:, np.newaxis, :] if ra == 1 else a
        right = b[..., np.newaxis] if rb == 1 else b
        out = np.matmul(left, right)
        out = out[:, 0] if ra == 1 else out
        return out[..., 0] if rb == 1 else out
    if a_batched:  # a_i · b: a matrix product with b on the right
        return np.matmul(a, b)
    if rb == 1:  # a · b_i for vectors b_i
        return b @ (a if ra == 1 else a.T)
    return np.matmul(a, b)  # a · b_i for matrices b_i (a broadcast over the examples)


def vcross(a, b, a_batched: bool, b_batched: bool):
    """``np.cross`` (vectors on the last axis) of each example."""
    if a_batched and b_batched:
        a, b = align_batched(a, b), align_batched(b, a)
    elif a_batched:
        a = align(a, b)
    elif b_batched:
        b = align(b, a)
    return cross_last(a, b)


def _operands(a, b, a_batched: bool, b_batched: bool):
    """``a`` and ``b`` with the per-example axes lined up, as vcross and vdot's tangents see them."""
    if a_batched and b_batched:
        return align_batched(a, b), align_batched(b, a)
    if a_batched:
        return align(a, b), b
    return a, align(b, a) if b_batched else b


def vcross_left(d, a, b, a_batched: bool, b_batched: bool):
    """``vcross(da, b)`` for each direction ``da`` of the batched tangent ``d`` of ``a`` (directions first)."""
    if type(d) is not np.ndarray:
        return d
    a2, b2 = _operands(a, b, a_batched, b_batched)
    return cross_last(np.reshape(d, d.shape[:1] + np.shape(a2)), b2)


def vcross_right(a, b, d, a_batched: bool, b_batched: bool):
    """``vcross(a, db)`` for each direction ``db`` of the batched tangent ``d`` of ``b``."""
    if type(d) is not np.ndarray:
        return d
    a2, b2 = _operands(a, b, a_batched, b_batched)
    return cross_last(a2, np.reshape(d, d.shape[:1] + np.shape(b2)))


def vdot_left(d, a, b, a_batched: bool, b_batched: bool):
    """``vdot(da, b)`` for each direction of the batched tangent ``d`` of ``a``."""
    if type(d) is not np.ndarray:
        return d
    if np.ndim(a) - a_batched == 1 and np.ndim(b) - b_batched == 1 and (a_batched or not b_batched):
        return _dot_last(d, b)  # (vectors: b lines up with each direction's examples)
    return np.stack([vdot(d[k], b, a_batched, b_batched) for k in range(d.shape[0])])


def vdot_right(a, b, d, a_batched: bool, b_batched: bool):
    """``vdot(a, db)`` for each direction of the batched tangent ``d`` of ``b``."""
    if type(d) is not np.ndarray:
        return d
    if np.ndim(a) - a_batched == 1 and np.ndim(b) - b_batched == 1 and (b_batched or not a_batched):
        return _dot_last(d, a)
    return np.stack([vdot(a, d[k], a_batched, b_batched) for k in range(d.shape[0])])


def _dot_last(d, b):
    """The dot products of ``d``'s and ``b``'s vectors on the last axis (broadcast): for a contiguous float
    ``d`` a product with ones (BLAS), else einsum (which reads a broadcast ``d`` without copying it)."""
    if type(d) is np.ndarray and d.flags.c_contiguous and d.dtype == np.float64:
        return (d * b) @ np.ones(d.shape[-1])
    return np.einsum("...i,...i->...", d, b)
