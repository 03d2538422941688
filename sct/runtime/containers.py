"""Adjoints of arrays and lists, updated functionally.

An adjoint that nothing reached yet is the float ``0.0``; these helpers turn it
into an array (or list) of the primal's shape the first time an element is hit.
"""
from __future__ import annotations

import linecache

import numpy as np

_SEQUENCES = (list, tuple, range, np.ndarray, str)


def indices(*seqs):
    """``range(len(seq))`` for the loop ``for x in seq`` (the shortest, for ``zip``)."""
    for seq in seqs:
        if not isinstance(seq, _SEQUENCES):
            raise TypeError(f"sct loops over a {type(seq).__name__} by index; "
                            f"convert it with list(...) before the loop")
    return range(min(len(s) for s in seqs))


def number_at(seq, index, where: str):
    """``seq[index]``, the item of ``for x in seq`` when the loop body does ``x op= ...``: that rebinds ``x``
    only if the item is a number.  An item that is an array (a row of a matrix, an array in a list) would be
    changed in place, inside ``seq``, which sct does not follow: refused, located at ``where``
    ("file:line:col" of the augmented assignment)."""
    item = seq[index]
    if isinstance(item, (np.ndarray, list)):
        _refuse(where, f"an augmented assignment to the loop variable changes the item in place: the loop runs "
                       f"over a {type(seq).__name__} whose items are {type(item).__name__}s, not numbers",
                "write `x = x + ...` (a new value) instead, or loop over a copy")
    return item


def unshared(item, where: str):
    """``item``, bound to a name from an indexing (``row = y[i]``) of an array the function writes into later:
    right only if NumPy copied it (an element, or fancy indexing).  A view (a row of a matrix, a slice) would
    change with the write, which sct does not follow: refused, located at ``where`` ("file:line:col")."""
    if isinstance(item, np.ndarray) and item.base is not None:
        _refuse(where, "this indexing is a view of an array the function writes into later, so the write "
                       "would change it too; sct cannot follow a write through two names",
                "make an independent copy: name = array[...].copy()")
    return item


def _refuse(where: str, message: str, hint: str):
    """Raise the AliasingError a check in generated code found, located at ``where`` ("file:line:col")."""
    from ..errors import AliasingError, Location
    filename, line, col = where.rsplit(":", 2)
    location = Location(filename, int(line), int(col), linecache.getline(filename, int(line)))
    raise AliasingError(message, location, hint)


def _is_zero(a) -> bool:
    return isinstance(a, float) and a == 0.0


def add(a, b):
    """``a + b`` for adjoints of any structure: numbers and arrays add, lists add elementwise (also
    to an array adjoint of the same list, which NumPy read as an array)."""
    if _is_zero(a) and not isinstance(b, float):
        return b
    if _is_zero(b) and not isinstance(a, float):
        return a
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple, np.ndarray)) and len(a) == len(b):
        return [add(x, y) for x, y in zip(a, b)]  # (an array: NumPy read the list as one; its rows are the items)
    if isinstance(b, (list, tuple)) and isinstance(a, np.ndarray) and len(a) == len(b):
        return [add(x, y) for x, y in zip(a, b)]
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        raise TypeError("sct: cannot add a list adjoint to a non-list adjoint")
    return a + b


def take(a, index):
    """``a[index]`` of an adjoint that may still be the zero ``0.0``."""
    if _is_zero(a):
        return 0.0
    return a[index]


def take_written(acc, index):
    """The adjoint reaching the values written by ``a[index] = v``: where an index repeats, the last write wins."""
    if _is_zero(acc):
        return 0.0
    g = acc[index]
    if isinstance(acc, np.ndarray) and _fancy(index):
        order = np.full(acc.shape, -1)
        writes = np.arange(np.size(g)).reshape(np.shape(g))
        order[index] = writes          # NumPy keeps the last of repeated writes, as it did for the values
        g = np.where(order[index] == writes, g, 0.0)
    return g


def _materialize(acc, x):
    if isinstance(x, (list, tuple)):
        return [0.0] * len(x) if _is_zero(acc) else list(acc)
    if _is_zero(acc):
        return np.zeros(np.shape(x), dtype=np.result_type(np.asarray(x).dtype, float))
    return np.array(acc, dtype=np.result_type(np.asarray(acc).dtype, float))


def _fancy(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


def _whole(index) -> bool:
    """Does ``x[index]`` keep every element (only ``:``, ``...`` and ``None``)?"""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or (isinstance(p, slice) and p == slice(None)) for p in parts)


def add_at(acc, x, index, g):
    """The adjoint ``acc`` of ``x`` plus ``g`` scattered at ``x[index]`` (a new value)."""
    if type(acc) is list and type(index) is int and type(g) is float:  # a number read from a list of numbers
        out = acc.copy()
        out[index] = out[index] + g
        return out
    if isinstance(x, np.ndarray) and _whole(index):  # x[:, None] and the like: a reshape, not a scatter
        view = np.shape(x[index])
        piece = np.reshape(g if np.shape(g) == view else np.broadcast_to(g, view), np.shape(x))
        return piece if _is_zero(acc) else acc + piece
    out = _materialize(acc, x)
    if isinstance(out, list):
        if isinstance(index, slice):
            positions = range(len(out))[index]
            for pos, gi in zip(positions, _as_items(g, len(positions))):
                out[pos] = add(out[pos], gi)
        else:
            out[index] = add(out[index], g)
        return out
    if _fancy(index):
        _scatter_add(out, index, g)
    else:
        out[index] += g
    return out


def _scatter_add(out: np.ndarray, index, g) -> None:
    """``out[index] += g`` where repeated indices accumulate (``np.add.at``).

    For float64 arrays not much larger than ``g``, by ``np.bincount`` over the
    flat positions ``index`` selects: the same sums, several times faster.
    """
    if out.dtype != np.float64 or out.size > 4 * max(np.size(g), 1):
        np.add.at(out, index, g)
        return
    flat = np.arange(out.size).reshape(out.shape)[index]
    weights = np.broadcast_to(g, flat.shape).ravel()
    out += np.bincount(flat.ravel(), weights=weights, minlength=out.size).reshape(out.shape)


def _as_items(g, n):
    if _is_zero(g):
        return [0.0] * n
    return list(g)


def zero_at(acc, index):
    """A copy of the adjoint ``acc`` with ``acc[index]`` set to zero (it was overwritten)."""
    if _is_zero(acc):
        return acc
    out = list(acc) if isinstance(acc, (list, tuple)) else np.array(acc)
    if isinstance(out, list) and isinstance(index, slice):
        for pos in range(len(out))[index]:
            out[pos] = 0.0
    else:
        out[index] = 0.0
    return out


def last(acc):
    """The adjoint of the last element of a list (for ``xs.append(v)``)."""
    return 0.0 if _is_zero(acc) else acc[-1]


def drop_last(acc):
    """The adjoint of a list without its last element (undoing ``append``)."""
    return acc if _is_zero(acc) else acc[:-1]


def snapshot(value):
    """A copy of ``value`` safe to keep on the tape while the original is written into."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return list(value)
    return value
