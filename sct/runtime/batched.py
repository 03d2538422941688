"""Helpers of the batched tangent program: tangents with a leading axis of B directions.

In a batched program the tangent of ``x`` has shape ``(B,) + x.shape`` (``(B,)``
for a number); the tangent of a list is a list of batched tangents, of a dict a
dict of them (of a NamedTuple or dataclass instance: one of the same type, or the
list or dict sct builds for it).  Primal values
keep their shapes, so they line up with a tangent's trailing axes: ``dx * cos(x)``
batches by itself once ``dx`` has as many axes as the result (``lift``).  A rule
without a batched form runs once per direction inside the sweep (``direction``,
``stack_like``).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .broadcast import sum_axes, unreduce
from .containers import add, add_at, take
from .namespace import is_array, namespace


def _array(d) -> bool:
    """Is the tangent ``d`` an array with the batch axis (NumPy's, Dask's, JAX's), rather than a symbolic
    zero (``0.0``) or a container's tangent?"""
    return type(d) is np.ndarray or is_array(d)


def batch_size(*tangents) -> int:
    """B, read from the first batched tangent (a list's first item)."""
    for t in tangents:
        if _array(t) and t.ndim:
            return t.shape[0]
        items = _items_of(t)
        if items:
            try:
                return batch_size(*items)
            except ValueError:
                continue
    raise ValueError("sct: a batched tangent program needs at least one tangent with a leading batch axis")


def _has_batch(d) -> bool:
    """Does the batched tangent ``d`` (a container's: any of its items) carry directions, or is it zero?"""
    try:
        batch_size(d)
    except ValueError:
        return False
    return True


def zeros_batched(n: int, like):
    """A zero tangent of ``like`` for ``n`` directions: ``(n,) + like.shape`` (a list of them for a list)."""
    if isinstance(like, (list, tuple)):
        return [zeros_batched(n, item) for item in like]
    if isinstance(like, dict):
        return {key: zeros_batched(n, item) for key, item in like.items()}
    if dataclasses.is_dataclass(like) and not isinstance(like, type):
        return {f.name: zeros_batched(n, getattr(like, f.name)) for f in dataclasses.fields(like)}
    return np.zeros((n,) + np.shape(like))


def _items_of(t) -> list:
    """The items of a container tangent (a list's, a dict's values, a dataclass instance's fields)."""
    if isinstance(t, (list, tuple)):
        return list(t)
    if isinstance(t, dict):
        return list(t.values())
    if dataclasses.is_dataclass(t) and not isinstance(t, type):
        return [getattr(t, f.name) for f in dataclasses.fields(t)]
    return []


def lift(d, like):
    """The batched tangent ``d`` with unit axes after the batch axis, so it has as many axes as ``like``
    plus one: its directions then broadcast against values shaped like ``like``."""
    if not _array(d):
        return d
    missing = (like.ndim if type(like) is np.ndarray else np.ndim(like)) + 1 - d.ndim  # (called per operation)
    if missing <= 0:
        return d
    return d.reshape(d.shape[:1] + (1,) * missing + d.shape[1:])


def expand_batched(d, like):
    """``expand`` for a batched tangent: widened to ``(B,) + like.shape``."""
    if not _array(d):
        return d
    d = lift(d, like)
    shape = d.shape[:1] + np.shape(like)
    return d if d.shape == shape else namespace(d).broadcast_to(d, shape)


def batch_index(d, index):
    """The index that reads ``x[index]`` in every direction of the tangent ``d``, the batch axis first:
    ``d[:, index]`` for an array (a list's tangent is a list: the same index).  Where ``index`` has advanced
    indices apart (``x[0, :, [0, 1]]``), NumPy puts their axes first, before a ``:``; the directions are then
    read by an index array of their own, whose axis leads the broadcast ones."""
    if not _array(d):
        return index
    if type(index) is not tuple:
        return (slice(None), index)
    apart = None if _basic(index) else _advanced_apart(index)
    if apart is None:
        return (slice(None),) + index
    return (np.arange(d.shape[0]).reshape((d.shape[0],) + (1,) * apart),) + index


_BASIC = (slice, type(None), type(Ellipsis))
_NUMBER_OR_BASIC = (int, np.integer) + _BASIC


def _basic(index: tuple) -> bool:
    """Is ``index`` made of numbers, slices, None and Ellipsis only (no advanced index)?"""
    for i in index:
        if type(i) is not int and type(i) is not slice and not isinstance(i, _NUMBER_OR_BASIC):
            return False
    return True


def _advanced_apart(index: tuple) -> int | None:
    """For an index whose advanced indices (arrays, lists, and integers alongside them) are not side by side:
    the number of axes they broadcast to (NumPy puts those axes first); None for any other index."""
    where, shapes = [], []
    for k, i in enumerate(index):
        if isinstance(i, _BASIC):
            continue
        where.append(k)
        dtype = np.asarray(i).dtype if isinstance(i, (list, tuple)) else getattr(i, "dtype", None)
        if isinstance(i, (bool, np.bool_)) or dtype == bool:
            shapes.append((-1,))  # (a mask is read as the positions of its True elements: one axis)
        else:
            shapes.append(np.shape(i))
    if where[-1] - where[0] == len(where) - 1:
        return None
    return max(len(s) for s in shapes)


def take_batched(d, index):
    """``take`` (indexing) of a batched tangent."""
    if type(d) is np.ndarray:  # (the common cases, called per index: d[:, index])
        if type(index) is not tuple:
            return d[(slice(None), index)]
        if _basic(index):
            return d[(slice(None),) + index]
    return take(d, batch_index(d, index))


def batched_array(d):
    """A list's batched tangent (a list of batched tangents) as one array, the batch axis first, as NumPy
    reads the list itself; an array's as it is."""
    if isinstance(d, (list, tuple)):
        items = [batched_array(t) for t in d]
        return namespace(*items).stack(items, axis=1)
    return d


def direction(d, k: int):
    """Direction ``k`` of a batched tangent (of each item, for a list)."""
    if _array(d):
        return d[k]
    if isinstance(d, (list, tuple)):
        return [direction(item, k) for item in d]
    if isinstance(d, dict):
        return {key: direction(item, k) for key, item in d.items()}
    if dataclasses.is_dataclass(d) and not isinstance(d, type):
        return {f.name: direction(getattr(d, f.name), k) for f in dataclasses.fields(d)}
    return d  # a symbolic zero


def stack_like(tangents: list, like):
    """One tangent per direction, each shaped like ``like``, as a batched tangent."""
    if isinstance(like, (list, tuple)):
        return [stack_like([take(t, i) for t in tangents], item) for i, item in enumerate(like)]
    if isinstance(like, dict):
        return {key: stack_like([take(t, key) for t in tangents], item) for key, item in like.items()}
    shape = np.shape(like)
    xp = namespace(*tangents)
    return xp.stack([xp.broadcast_to(t, shape) for t in tangents])


def unbroadcast_batched(d, x):
    """``unbroadcast`` of each direction of ``d`` to x's shape."""
    if not _array(d):
        return d
    shape = np.shape(x)
    if d.shape[1:] == shape:
        return d
    if d.ndim == 1:  # the same number in every element of x, per direction
        return d
    gshape = d.shape[1:]
    extra = len(gshape) - len(shape)
    axes = tuple(range(1, extra + 1)) + tuple(i + extra + 1 for i, n in enumerate(shape)
                                              if n == 1 and gshape[i + extra] != 1)
    out = sum_axes(d, axes) if axes else d
    return out.reshape(d.shape[:1] + shape)


def unreduce_batched(d, x, axis=None, keepdims=False):
    """``unreduce`` of each direction of ``d``: spread back over x's shape (batch axis first)."""
    shape = np.shape(x)
    n = d.shape[0]
    if axis is None:
        return namespace(d).broadcast_to(d.reshape((n,) + (1,) * len(shape)), (n,) + shape)
    return unreduce(d, np.broadcast_to(0.0, (n,) + shape), shift_axis(axis, len(shape)), keepdims)


def shift_axis(axis, ndim: int):
    """An axis argument of a function applied to a batched tangent: ``None`` (every axis) becomes every axis
    but the first, an axis ``k`` becomes ``k + 1``."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, (tuple, list)):
        return tuple(a % ndim + 1 for a in axis)
    return axis % ndim + 1


def add_at_batched(x, index, d):
    """The tangent of ``add_at(0.0, x, index, g)``: ``d`` (batched) scattered at ``x[index]``."""
    if not _has_batch(d):
        return 0.0  # (no direction reaches it: a zero)
    if not _array(x):
        return add_at(0.0, x, index, d)
    n = batch_size(d)
    columns = [add_at(0.0, x, index, direction(d, k)) for k in range(n)]
    return namespace(*columns).stack(columns)


def join_slices_batched(x, bounds, d):
    """The tangent of ``join_slices(x, bounds, pieces)``: each piece's batched tangent in ``d`` scattered at
    its slice, summed (a float: no direction reaches that piece)."""
    if type(d) is not tuple:
        return d
    total = 0.0
    for k, piece in enumerate(d):
        if not isinstance(piece, float):
            scattered = add_at_batched(x, slice(bounds[2 * k], bounds[2 * k + 1]), piece)
            total = add(total, scattered)  # (lists and tuples item by item)
    return total


def join_items_batched(x, d):
    """The tangent of ``join_items(x, pieces)``: the pieces' batched tangents in ``d`` as a list (a tuple or
    list ``x``), else each scattered at its item (the rows of an array), summed."""
    if type(d) is not tuple:
        return d
    if (type(x) is tuple or type(x) is list) and len(x) == len(d):
        return list(d)
    total = 0.0
    for k, piece in enumerate(d):
        if not isinstance(piece, float):
            total = add(total, add_at_batched(x, k, piece))
    return total


def last_batched(d):
    """The tangent of ``last(acc)`` for batched directions: the last item of a list's, the last row of an
    array adjoint's (directions first: ``d[:, -1]``, not the last direction)."""
    if _array(d):
        return d[:, -1] if d.ndim > 1 else 0.0  # (a (B,) tangent of a number: no items, a zero)
    return d if isinstance(d, float) else d[-1]


def drop_last_batched(d):
    """The tangent of ``drop_last(acc)`` for batched directions (see ``last_batched``)."""
    if _array(d):
        return d[:, :-1] if d.ndim > 1 else d
    return d if isinstance(d, float) else d[:-1]


def _lifted(d, ndim: int):
    """``d`` with unit axes after the batch axis up to ``ndim + 1`` axes."""
    missing = ndim + 1 - d.ndim
    return d.reshape(d.shape[:1] + (1,) * missing + d.shape[1:]) if missing > 0 else d


def matmul_left(d, b):
    """``da @ b`` for each direction ``da`` of the batched tangent ``d`` of ``a``."""
    if not _array(d):
        return d
    if np.ndim(b) <= 2:  # one matrix product of every direction's rows with b (BLAS, not a loop over B)
        return (d.reshape(-1, d.shape[-1]) @ b).reshape(d.shape[:-1] + np.shape(b)[1:])
    if d.ndim == 2:  # a is a vector: a row of a stack of matrices
        row = d.reshape(d.shape[:1] + (1,) * (np.ndim(b) - 1) + d.shape[1:])
        return np.matmul(row, b)[..., 0, :]
    return np.matmul(_lifted(d, np.ndim(b)), b)


def matmul_right(a, d):
    """``a @ db`` for each direction ``db`` of the batched tangent ``d`` of ``b``."""
    if not _array(d):
        return d
    if np.ndim(a) == 2 and d.ndim == 2:  # b is a vector: every direction's a @ db is a row of db @ a.T
        return d @ a.T
    if np.ndim(a) == 2 and d.ndim == 3:  # one matrix product with the directions side by side
        n, (m, k) = d.shape[0], d.shape[1:]
        return (a @ d.transpose(1, 0, 2).reshape(m, n * k)).reshape(-1, n, k).transpose(1, 0, 2)
    if d.ndim == 2 and np.ndim(a) >= 2:  # b is a vector: a column
        column = d.reshape(d.shape[:1] + (1,) * (np.ndim(a) - 2) + d.shape[1:] + (1,))
        return np.matmul(a, column)[..., 0]
    if d.ndim == 2:  # two vectors: a number per direction
        return d @ a
    return np.matmul(a, _lifted(d, np.ndim(a)))


def reshape_batched(d, like):
    """A batched tangent reshaped to ``(B,) + like.shape`` (reshape, ravel, squeeze, expand_dims)."""
    if not _array(d):
        return d
    return d.reshape(d.shape[:1] + np.shape(like))


def transpose_axes(axes, ndim: int):
    """The ``axes`` of ``np.transpose`` applied to a batched tangent: the batch axis stays first."""
    if axes is None:
        return (0,) + tuple(range(ndim, 0, -1))
    return (0,) + tuple(a % ndim + 1 for a in axes)


def _each(fn, d, *args):
    return namespace(d).stack([fn(d[k], *args) for k in range(d.shape[0])])


def dot_left(d, a, b):
    """``np.dot(da, b)`` per direction."""
    if not _array(d):
        return d
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return lift(d, np.empty(np.broadcast_shapes(np.shape(a), np.shape(b)))) * b
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return matmul_left(d, b)
    return _each(np.dot, d, b)


def dot_right(a, b, d):
    """``np.dot(a, db)`` per direction."""
    if not _array(d):
        return d
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return a * lift(d, np.empty(np.broadcast_shapes(np.shape(a), np.shape(b))))
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return matmul_right(a, d)
    return _each(lambda dk, a: np.dot(a, dk), d, a)


def cross_left(d, a, b, axis=None):
    """``np.cross(da, b)`` per direction, in one call: the directions broadcast once ``da`` has the axes of
    the wider operand (vectors on the last axis; another ``axis`` runs once per direction)."""
    if type(d) is not np.ndarray:
        return d
    if axis is not None and axis != -1:
        return np.stack([np.cross(d[k], b, axis=axis) for k in range(d.shape[0])])
    if np.shape(b) == (3,) and np.shape(a)[-1:] == (3,):  # da × b = da @ [b]×, one product for every direction
        return d @ _skew(b)
    return cross_last(_lifted(d, max(np.ndim(a), np.ndim(b))), b)


def cross_right(a, b, d, axis=None):
    """``np.cross(a, db)`` per direction, in one call (see :func:`cross_left`)."""
    if type(d) is not np.ndarray:
        return d
    if axis is not None and axis != -1:
        return np.stack([np.cross(a, d[k], axis=axis) for k in range(d.shape[0])])
    if np.shape(a) == (3,) and np.shape(b)[-1:] == (3,):  # a × db = db @ [a]×ᵀ
        return d @ _skew(a).T
    return cross_last(a, _lifted(d, max(np.ndim(a), np.ndim(b))))


def _skew(v):
    """The matrix [v]× with [v]× w = v × w, for a 3-vector v."""
    v0, v1, v2 = v[0], v[1], v[2]
    return np.array([[0.0, -v2, v1], [v2, 0.0, -v0], [-v1, v0, 0.0]])


def cross_last(a, b):
    """``np.cross(a, b)`` of vectors on the last axis, broadcast, without np.cross's axis bookkeeping (which
    costs more than the arithmetic on small arrays): for 3-vectors by their components (gathered for small
    arrays, written in place for large ones); 2-vectors give a₀b₁ − a₁b₀; anything else goes to np.cross."""
    a, b = np.asarray(a), np.asarray(b)
    n, m = a.shape[-1:], b.shape[-1:]
    if n == m == (3,):
        shape = np.broadcast_shapes(a.shape, b.shape)
        if int(np.prod(shape)) < 3072:  # (small: few NumPy calls) (a × b)ᵢ = a_j b_k − a_k b_j, (i, j, k) cyclic
            return a[..., _NEXT] * b[..., _AFTER] - a[..., _AFTER] * b[..., _NEXT]
        out = np.empty(shape, dtype=np.result_type(a, b))
        for i, (j, k) in enumerate(zip(_NEXT, _AFTER)):  # (large: each component written in place)
            np.multiply(a[..., j], b[..., k], out=out[..., i])
            out[..., i] -= a[..., k] * b[..., j]
        return out
    if n == m == (2,):
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return np.cross(a, b)


_NEXT, _AFTER = (1, 2, 0), (2, 0, 1)


def outer_left(d, b):
    """``np.outer(da, b)`` per direction."""
    if not _array(d):
        return d
    return d.reshape(d.shape[0], -1, 1) * np.ravel(b)


def outer_right(a, d):
    """``np.outer(a, db)`` per direction."""
    if not _array(d):
        return d
    return np.ravel(a)[:, None] * d.reshape(d.shape[0], 1, -1)


def _items(d, arrays):
    """The batched tangents of the items of ``arrays`` (a list of tangents, or one batched array); None
    where no item has one (every tangent a zero)."""
    if _array(d):
        return [d[:, i] for i in range(d.shape[1])]
    if not _has_batch(d):
        return None
    n = batch_size(*d)
    return [namespace(t).broadcast_to(t, (n,) + np.shape(a)) for t, a in zip(d, arrays)]


def concatenate_batched(d, arrays, axis=0):
    """``np.concatenate`` per direction."""
    items = _items(d, arrays)
    if items is None:
        return 0.0
    xp = namespace(*items)
    if axis is None:
        return xp.concatenate([t.reshape(t.shape[0], -1) for t in items], axis=1)
    return xp.concatenate(items, axis=shift_axis(axis, items[0].ndim - 1))


def stack_batched(d, arrays, axis=0):
    """``np.stack`` per direction."""
    items = _items(d, arrays)
    if items is None:
        return 0.0
    return namespace(*items).stack(items, axis=shift_axis(axis, items[0].ndim))


def array_batched(d, ans):
    """``np.array`` of a tangent per direction: an array's copy, or a list's items stacked."""
    if type(d) is np.ndarray:
        return np.array(d, dtype=float).reshape(d.shape[:1] + np.shape(ans))
    if _array(d):  # (Dask, JAX: arrays nobody writes into, no copy needed)
        return d.reshape(d.shape[:1] + np.shape(ans))
    if not _has_batch(d):
        return 0.0
    n = batch_size(d)
    return np.stack([np.broadcast_to(np.array(direction(d, k), dtype=float), np.shape(ans)) for k in range(n)])
