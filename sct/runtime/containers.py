"""Adjoints of arrays, lists and dicts, updated functionally.

An adjoint that nothing reached yet is the float ``0.0``; these helpers turn it
into an array (or list) of the primal's shape the first time an element is hit.
The adjoint of a dict is a dict holding the adjoints of the entries something
reached (a missing entry, like ``0.0``, is zero); the adjoint of a NamedTuple is a
list (it is a tuple), of a dataclass instance a dict by field name.
"""
from __future__ import annotations

import dataclasses
import linecache

import numpy as np

from .broadcast import zeros_like
from .namespace import broadcast_to, is_array, is_numpy, namespace, scatter_add

_SEQUENCES = (list, tuple, range, np.ndarray, str)


def indices(*seqs, strict: bool = False):
    """``range(len(seq))`` for the loop ``for x in seq`` (the shortest, for ``zip``; with ``strict``, as
    ``zip(..., strict=True)``, sequences of different lengths raise ValueError, before the loop)."""
    for seq in seqs:
        if isinstance(seq, dict):
            raise TypeError("sct loops over this dict by index: it could not tell, when it transformed the "
                            "function, that the loop runs over a dict; write `for k, v in d.items()` "
                            "(or d.keys(), d.values())")
        if not isinstance(seq, _SEQUENCES):
            raise TypeError(f"sct loops over a {type(seq).__name__} by index; "
                            f"convert it with list(...) before the loop")
    lengths = [len(s) for s in seqs]
    if strict:
        for i, n in enumerate(lengths[1:], start=2):
            if n != lengths[0]:
                raise ValueError(f"zip() argument {i} is {'shorter' if n < lengths[0] else 'longer'} "
                                 f"than argument{'s 1-' + str(i - 1) if i > 2 else ' 1'}")
    return range(min(lengths))


def number_at(seq, index, where: str):
    """``seq[index]``, the item of ``for x in seq`` when the loop body does ``x op= ...``, or of the list or
    dict in ``d[k] op= ...``: that rebinds only if the item is a number.  An item that is an array (a row
    of a matrix, an array in a list) would be changed in place, inside ``seq``, which sct does not follow:
    refused, located at ``where`` ("file:line:col" of the augmented assignment)."""
    item = seq[index]
    if isinstance(item, (np.ndarray, list)):
        _refuse(where, f"this augmented assignment changes an item in place (other names may hold it): the item "
                       f"of the {type(seq).__name__} is a {type(item).__name__}, not a number",
                "write a new value instead: `x = x + ...` for a loop variable, `d[k] = d[k] + ...` for an item")
    return item


def stored_float(container, where: str) -> None:
    """Before ``container[i] = v`` where ``v`` depends on the inputs: an integer or boolean array would
    truncate ``v`` (``np.full((2, 3), 1)[0, 0] = 0.7`` stores 0), whose derivative is not ``v``'s: refused,
    located at ``where`` ("file:line:col")."""
    if type(container) is np.ndarray and container.dtype.kind in "biu":
        from ..errors import NoRuleError
        raise NoRuleError(f"a value that depends on the inputs is written into an array of {container.dtype}, "
                          f"which truncates it; sct does not differentiate through the truncation",
                          _location(where), "make the array a float array (np.full(shape, 1.0), dtype=float), "
                                            "or round explicitly (np.floor) if the truncation is meant")


def unshared(item, where: str, container=None):
    """``item``, bound to a name from an indexing (``row = y[i]``) of an array the function writes into later:
    right only if NumPy copied it (an element, or fancy indexing).  A view (a row of a matrix, a slice) would
    change with the write, which sct does not follow: refused, located at ``where`` ("file:line:col").  The
    item of a list or dict ``container`` is not part of its memory (a write replaces it): let through."""
    if isinstance(container, (list, dict)):
        return item
    if isinstance(item, np.ndarray) and item.base is not None:
        _refuse(where, "this indexing is a view of an array the function writes into later, so the write "
                       "would change it too; sct cannot follow a write through two names",
                "make an independent copy: name = array[...].copy()")
    return item


def _refuse(where: str, message: str, hint: str):
    """Raise the AliasingError a check in generated code found, located at ``where`` ("file:line:col")."""
    from ..errors import AliasingError
    raise AliasingError(message, _location(where), hint)


def _location(where: str):
    from ..errors import Location
    filename, line, col = where.rsplit(":", 2)
    return Location(filename, int(line), int(col), linecache.getline(filename, int(line)))


def _is_zero(a) -> bool:
    return isinstance(a, float) and a == 0.0


def add(a, b):
    """``a + b`` for adjoints of any structure: numbers and arrays add, lists add elementwise (also
    to an array adjoint of the same list, which NumPy read as an array), dicts entry by entry."""
    if type(a) is np.ndarray and type(b) is np.ndarray:  # (the common case, without a call)
        return a + b
    if _is_zero(a) and not isinstance(b, float):
        return b
    if _is_zero(b) and not isinstance(a, float):
        return a
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)):
            raise TypeError("sct: cannot add a dict adjoint to a non-dict adjoint")
        out = dict(a)
        for key, value in b.items():
            out[key] = add(out[key], value) if key in out else value
        return out
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple, np.ndarray)) and len(a) == len(b):
        return [add(x, y) for x, y in zip(a, b)]  # (an array: NumPy read the list as one; its rows are the items)
    if isinstance(b, (list, tuple)) and isinstance(a, np.ndarray) and len(a) == len(b):
        return [add(x, y) for x, y in zip(a, b)]
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        raise TypeError("sct: cannot add a list adjoint to a non-list adjoint")
    return a + b


def take(a, index):
    """``a[index]`` of an adjoint that may still be the zero ``0.0`` (of a dict's: 0.0 for a missing entry)."""
    kind = type(a)
    if kind is tuple or kind is list or kind is np.ndarray:  # (the common cases first, without a call)
        return a[index]
    if _is_zero(a):
        return 0.0
    if isinstance(a, dict):
        return a.get(index, 0.0)
    return a[index]


def take_written(acc, index):
    """The adjoint reaching the values written by ``a[index] = v``: where an index repeats, the last write wins."""
    if _is_zero(acc):
        return 0.0
    if isinstance(acc, dict):
        return acc.get(index, 0.0)
    g = acc[index]
    if type(index) is not int and isinstance(acc, np.ndarray) and _fancy(index):
        order = np.full(acc.shape, -1)
        writes = np.arange(np.size(g)).reshape(np.shape(g))
        order[index] = writes          # NumPy keeps the last of repeated writes, as it did for the values
        g = np.where(order[index] == writes, g, 0.0)
    return g


def _materialize(acc, x):
    if isinstance(x, dict) or _is_dataclass(x):  # (a dict of the entries reached; missing ones are zero)
        return {} if _is_zero(acc) else dict(acc)
    if isinstance(x, (list, tuple)):
        return [0.0] * len(x) if _is_zero(acc) else list(acc)
    if _is_zero(acc):
        return np.zeros(np.shape(x), dtype=np.result_type(np.asarray(x).dtype, float))
    return np.array(acc, dtype=np.result_type(np.asarray(acc).dtype, float))


def _fancy(index) -> bool:
    for part in index if isinstance(index, tuple) else (index,):  # (a loop: a generator costs more here)
        if isinstance(part, (np.ndarray, list)):
            return True
    return False


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
    numpy = is_numpy(x, g)
    if (numpy and isinstance(x, np.ndarray) or not numpy and is_array(x)) and _whole(index):
        # x[:, None] and the like: a reshape, not a scatter
        view = np.shape(x[index])
        if np.shape(g) != view:
            g = np.broadcast_to(g, view) if numpy else broadcast_to(g, view, x if is_numpy(g) else g)
        piece = namespace(g).reshape(g, np.shape(x))
        return piece if _is_zero(acc) else acc + piece
    if not numpy and (_foreign(x) or _foreign(g)):  # (JAX, Dask: no in-place writes)
        piece = scatter_add(np.shape(x), x, index, g)
        return piece if _is_zero(acc) else acc + piece
    out = _materialize(acc, x)
    if isinstance(out, dict):
        out[index] = add(out[index], g) if index in out else g
        return out
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


def add_into(acc, x, index, g):
    """``add_at(acc, x, index, g)`` where no other name holds ``acc`` (the compiler proved it: ``acc`` is
    ``0.0`` or what an earlier ``add_into`` returned, read by nothing since).  A NumPy adjoint is written in
    place (``acc[index] += g``), allocated once at the first slice's adjoint; a list's item is replaced in
    place; anything else goes through ``add_at``.  What it returns is held by no other name, or is a view of
    ``g`` (``x[:, None]``'s adjoint from zero), which a later call copies rather than writes."""
    if type(x) is np.ndarray and (type(g) is np.ndarray or is_numpy(g)):
        if type(acc) is np.ndarray:
            if acc.base is not None or acc.shape != x.shape or acc.dtype.char not in "dDgG" \
                    or not acc.flags.writeable:  # (a view: g reshaped, below; a narrower dtype than add_at's)
                return add_at(acc, x, index, g)
            fresh = False
        elif _is_zero(acc):
            if type(index) is not int and _whole(index):
                return add_at(acc, x, index, g)  # (x[:, None]: g reshaped, a view of g, no new array)
            acc = np.zeros(x.shape, dtype=_adjoint_dtype(x))
            fresh = True
        else:
            return add_at(acc, x, index, g)
        # acc[index] += g, the cheapest way for small arrays (the call costs more than 14 additions)
        kind = type(index)
        if kind is not int and kind is not slice and _fancy(index):
            _scatter_add(acc, index, g)  # (repeated indices accumulate)
        elif fresh and (type(g) is float or type(g) is np.ndarray and g.dtype.kind == "f"):
            acc[index] = g  # (acc is all zeros: an assignment, no read)
        elif kind is slice or kind is int and acc.ndim > 1:
            part = acc[index]  # (a view, a row or a slice, added to in place: no write back)
            part += g
        else:
            acc[index] += g
        return acc
    if (type(x) is tuple or type(x) is list) and type(index) is int:  # (a tuple a helper returned, say)
        if _is_zero(acc):
            acc = [0.0] * len(x)
        elif type(acc) is not list or len(acc) != len(x):
            return add_at(acc, x, index, g)
        acc[index] = add(acc[index], g)
        return acc
    return add_at(acc, x, index, g)


def join_slices(x, bounds, pieces):
    """The adjoint of ``x`` read by the slices ``x[bounds[0]:bounds[1]]``, ``x[bounds[2]:bounds[3]]``, ...
    (along its first axis; ``None`` for an end left out) whose adjoints are ``pieces``: one concatenate
    where the slices tile ``x`` in this order, each piece its slice's length (the gates of an LSTM cut into
    four); else each piece added in turn, as ``add_into`` does.  A new array, held by no other name."""
    if type(pieces) is not tuple:
        return pieces  # (0.0: no piece has an adjoint; a tangent program's zero)
    if type(x) is np.ndarray and x.ndim and _tiles(x, bounds, pieces):
        out = np.concatenate(pieces)
        if out.shape == x.shape and out.dtype == _adjoint_dtype(x):
            return out
    acc = 0.0
    for k, g in enumerate(pieces):
        acc = add_into(acc, x, slice(bounds[2 * k], bounds[2 * k + 1]), g)
    return acc


def join_items(x, pieces):
    """The adjoint of ``x`` read at its items ``0, 1, ..., n - 1`` (each once) whose adjoints are ``pieces``:
    the list of the pieces where ``x`` is a tuple or list of n items (what ``h, c = cell(...)`` unpacks); else
    each piece added at its item, as ``add_into`` does (the rows of an array).  A new value."""
    if type(pieces) is not tuple:
        return pieces  # (0.0: no item has an adjoint; a tangent program's zero)
    if (type(x) is tuple or type(x) is list) and len(x) == len(pieces):
        return list(pieces)
    acc = 0.0
    for k, g in enumerate(pieces):
        acc = add_into(acc, x, k, g)
    return acc


def _tiles(x: np.ndarray, bounds, pieces) -> bool:
    """Do the slices, of the pieces' lengths, follow one another from x's start to its end?  (Each slice
    starts where the one before stopped, at the sum of the pieces' lengths before it: so, from 0, every
    slice is within x, of its piece's length, and none overlaps the next.)"""
    at = 0
    if bounds[0] is not None and bounds[0] != 0:
        return False
    ndim = x.ndim
    for k, g in enumerate(pieces):
        if type(g) is not np.ndarray or g.ndim != ndim:
            return False  # (a number: a zero adjoint, or a piece that broadcasts)
        start, stop = bounds[2 * k], bounds[2 * k + 1]
        if k and start != at:
            return False
        at += g.shape[0]
        if stop is None:
            if at != x.shape[0]:
                return False
        elif stop != at:
            return False
    return at == x.shape[0]


def _adjoint_dtype(x: np.ndarray):
    """The dtype of an array adjoint of x (``add_into``'s): x's if inexact, else float's."""
    return x.dtype if x.dtype.char in "dDgG" else np.result_type(x.dtype, float)


def _foreign(value) -> bool:
    """An array of another library than NumPy (Dask, JAX): adjoints of it are built without writes."""
    return not isinstance(value, np.ndarray) and is_array(value)


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
    if type(acc) is np.ndarray:  # (the common case, first)
        out = acc.copy()
        out[index] = 0.0
        return out
    if _is_zero(acc):
        return acc
    if isinstance(acc, dict):
        out = dict(acc)
        out.pop(index, None)
        return out
    if not isinstance(acc, (list, tuple, np.ndarray)) and is_array(acc):  # (JAX, Dask: a new array)
        xp = namespace(acc)
        if xp is not np:
            return acc.at[index].set(0.0)
        out = acc.copy()  # (a Dask array: the assignment rebinds the copy's graph, not acc's)
        out[index] = 0.0
        return out
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
    if isinstance(value, dict):
        return dict(value)
    return value


# ---------------------------------------------------------------- dicts and records

def entry(container, key):
    """What ``container[key] = v`` is about to overwrite, for the tape: ``(True, old value)``, or
    ``(False, None)`` where a dict has no such key yet (the write adds it)."""
    if isinstance(container, dict) and key not in container:
        return (False, None)
    return (True, snapshot(container[key]))


def restore_entry(container, saved, key):
    """Undo ``container[key] = v`` (in place) from what ``entry`` saved; returns the container."""
    present, value = saved
    if present:
        container[key] = value
    else:
        container.pop(key)
    return container


def entry_tangent(dcontainer, container, key):
    """The tangent of ``entry(container, key)`` from the container's tangent."""
    if isinstance(container, dict) and key not in container:
        return (False, None)
    return (True, snapshot(take(dcontainer, key)))


def restore_tangent(dcontainer, dsaved, container, saved, key):
    """The tangent of ``restore_entry(container, saved, key)``: the container's tangent, restored alike."""
    if _is_zero(dcontainer):
        dcontainer = zeros_like(container)
    present, _ = saved
    if present:
        dcontainer[key] = 0.0 if _is_zero(dsaved) else dsaved[1]
    else:
        dcontainer.pop(key)
    return dcontainer


def refill(container, saved):
    """Set a dict, list or array back (in place) to the copy ``saved`` of an earlier state of it (a number
    cannot have changed in place: nothing to do)."""
    if isinstance(container, dict):
        container.clear()
        container.update(saved)
    elif isinstance(container, np.ndarray):
        container[...] = saved
    elif isinstance(container, list):
        container[:] = saved


def field_index(x, name: str):
    """Where the field ``name`` of ``x`` sits in its adjoint: its position in a NamedTuple (whose adjoint is a
    list, as a tuple's), the name itself in a dataclass instance (whose adjoint is a dict)."""
    if isinstance(x, tuple):
        return type(x)._fields.index(name)
    return name


def field_of(dx, x, name: str):
    """The tangent of ``x.name`` from the tangent ``dx`` of a NamedTuple or dataclass instance ``x``: a value
    of the same type, or a list (by position) or dict (by field name) that sct built."""
    if _is_zero(dx):
        return 0.0
    if isinstance(dx, dict):
        return dx.get(name, 0.0)
    if isinstance(dx, list) or (isinstance(dx, tuple) and not hasattr(type(dx), "_fields")):
        return dx[type(x)._fields.index(name)]
    return getattr(dx, name)


def _is_dataclass(x) -> bool:
    return dataclasses.is_dataclass(x) and not isinstance(x, type)
