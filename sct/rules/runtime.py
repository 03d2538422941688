"""Rules for sct's own runtime helpers, so that generated code can be differentiated again.

A Hessian is the tangent program of an adjoint program (forward over reverse):
the adjoint program calls ``unbroadcast``, ``add_at`` and friends, which are all
linear in the adjoints they move, so their tangents are the same helpers applied
to the tangents.  Families: broadcasting, containers, non-differentiable.
"""
import numpy as np

from ..runtime import (add, add_at, add_into, drop_last, entry, expand, indices, join_items, join_slices, last,
                       number_at, refill, restore_entry, shape_only, snapshot, stored_float, take, take_written,
                       unbroadcast, unreduce, unshared, zero_at, zeros_like)
from ..runtime.containers import entry_tangent, field_index, field_of, restore_tangent
from ..runtime.batched import (add_at_batched, batch_index, drop_last_batched, expand_batched, join_items_batched,
                               join_slices_batched, last_batched, take_batched,
                               unbroadcast_batched, unreduce_batched)
from ..runtime.namespace import is_numpy
from ..runtime.vmapped import (align, align_batched, batch_axes, batch_transpose, branch_rows, count_rows, merge_rows, merge_rows_batched,
                               to_batch, to_batch_batched, vcross, vcross_left, vcross_right, vdot, vdot_left,
                               vdot_right, vmap_size, vsum, vsum_batched)
from ..runtime.batched import reshape_batched
from .registry import (REGISTRY, adjoint_rule, batched_tangent_rule, broadcasts, effect_only, nondifferentiable,
                       result_kind, tangent_rule)

# ---------------------------------------------------------------- what the passes may assume (see registry.Helper)

REGISTRY.helper(unbroadcast, shape_args=(1,), linear=True, scalar_identity=True)
REGISTRY.helper(expand, linear=True, scalar_identity=True)
REGISTRY.helper(unreduce, shape_args=(1,), linear=True)
REGISTRY.helper(add_at, shape_args=(1,))
REGISTRY.helper(add_into, shape_args=(1,))
REGISTRY.helper(join_slices, shape_args=(0,))
REGISTRY.helper(join_items, shape_args=(0,))
REGISTRY.helper(unshared, shape_args=(2,))  # (the container is read for its type only)

# ---------------------------------------------------------------- broadcasting

@tangent_rule(unbroadcast)
def unbroadcast_(dg, dx, ans, g, x):
    return unbroadcast(dg, x), None

@tangent_rule(unreduce)
def unreduce_(dg, dx, ans, g, x, axis=None, keepdims=False):
    return unreduce(dg, x, axis, keepdims), None

@tangent_rule(expand)
def expand_(ddx, dlike, ans, dx, like):
    return expand(ddx, like), None

@adjoint_rule(expand)  # (a gradient sct made widens an array's to its shape: reverse over reverse)
def expand_(g, ans, dx, like):
    return unbroadcast(g, dx), None

# adjoints of the broadcasting and container helpers (reverse over reverse: a gradient program called by a
# function differentiated in reverse mode); the seed is ``gb``, as the helpers' own first parameter is ``g``

@adjoint_rule(unbroadcast)
def unbroadcast_(gb, ans, g, x):
    return expand(gb, g), None

@adjoint_rule(unreduce)
def unreduce_(gb, ans, g, x, axis=None, keepdims=False):
    return unbroadcast(np.sum(gb, axis=axis, keepdims=keepdims), g), None

@tangent_rule(shape_only)
def shape_only_(dx, ans, x):
    return shape_only(dx)  # (read only for its shape, as x is)

@adjoint_rule(shape_only)
def shape_only_(g, ans, x):
    return 0.0  # (what it returns is read for its shape only: no value flows back)

# ---------------------------------------------------------------- containers

@tangent_rule(add)
def add_(da, db, ans, a, b):
    return da, db

@tangent_rule(take)
def take_(da, ans, a, index):
    return take(da, index)

@tangent_rule(take_written)
def take_written_(da, ans, a, index):
    return take_written(da, index)

@adjoint_rule(take)
def take_(gb, ans, a, index):
    return add_at(0.0, a, index, gb)

@adjoint_rule(add_at)
def add_at_(gb, ans, total, x, index, g):
    return unbroadcast(gb, total), None, None, unbroadcast(take(gb, index), g)

@adjoint_rule(add_into)
def add_into_(gb, ans, total, x, index, g):
    return unbroadcast(gb, total), None, None, unbroadcast(take(gb, index), g)

@adjoint_rule(zero_at)
def zero_at_(gb, ans, total, index):
    return zero_at(gb, index)

@tangent_rule(add_at)
def add_at_(dtotal, dx, dindex, dg, ans, total, x, index, g):
    return dtotal, None, None, add_at(0.0, x, index, dg)

@tangent_rule(add_into)  # (add_at written in place: the same tangent, a new value)
def add_into_(dtotal, dx, dindex, dg, ans, total, x, index, g):
    return dtotal, None, None, add_at(0.0, x, index, dg)

@tangent_rule(join_slices)  # (linear in the pieces)
def join_slices_(dx, dbounds, dpieces, ans, x, bounds, pieces):
    return None, None, join_slices(x, bounds, dpieces)

@tangent_rule(join_items)  # (linear in the pieces)
def join_items_(dx, dpieces, ans, x, pieces):
    return None, join_items(x, dpieces)

@tangent_rule(zero_at)
def zero_at_(dtotal, ans, total, index):
    return zero_at(dtotal, index)

@adjoint_rule(number_at)
def number_at_(g, ans, seq, index, where, acc):
    return add_at(acc, seq, index, g)  # as for seq[index]

@tangent_rule(number_at)
def number_at_(dseq, ans, seq, index, where):
    return take(dseq, index)

result_kind(number_at, "scalar")  # (it refuses any other item)

@adjoint_rule(unshared)
def unshared_(g, ans, item, where, container=None):
    return g

@tangent_rule(unshared)
def unshared_(ditem, ans, item, where, container=None):
    return ditem

@tangent_rule(last)
def last_(dtotal, ans, total):
    return last(dtotal)

@tangent_rule(drop_last)
def drop_last_(dtotal, ans, total):
    return drop_last(dtotal)

@tangent_rule(snapshot)
def snapshot_(dvalue, ans, value):
    return snapshot(dvalue)

# a dict's entries on the tape (``d[k] = v`` where d may not have k yet), and fields of records

@tangent_rule(entry)
def entry_(dcontainer, ans, container, key):
    return entry_tangent(dcontainer, container, key)

@tangent_rule(restore_entry)
def restore_entry_(dcontainer, dsaved, ans, container, saved, key):
    # (one contribution holds both: the entry of the restored tangent is the saved one's tangent; the tape
    # holds an entry's tangent exactly when the container has one)
    return restore_tangent(dcontainer, dsaved, container, saved, key), None

@tangent_rule(field_of)
def field_of_(ddx, ans, dx, x, name):
    return field_of(ddx, x, name)

# ---------------------------------------------------------------- batched tangents (B directions on a leading axis)

@batched_tangent_rule(unbroadcast)
def unbroadcast_(dg, dx, ans, g, x):
    return unbroadcast_batched(dg, x), None

@batched_tangent_rule(unreduce)
def unreduce_(dg, dx, ans, g, x, axis=None, keepdims=False):
    return unreduce_batched(dg, x, axis, keepdims), None

@batched_tangent_rule(expand)
def expand_(ddx, dlike, ans, dx, like):
    return expand_batched(ddx, like), None

@batched_tangent_rule(take, lists=True)
def take_(da, ans, a, index):
    return da if isinstance(a, float) else take_batched(da, index)  # (a float: a zero adjoint, zero tangent)

@batched_tangent_rule(take_written, lists=True)
def take_written_(da, ans, a, index):
    return da if isinstance(a, float) else take_written(da, batch_index(da, index))

@batched_tangent_rule(add_at, lists=True)
def add_at_(dtotal, dx, dindex, dg, ans, total, x, index, g):
    return 0.0 if isinstance(total, float) else dtotal, None, None, add_at_batched(x, index, dg)  # (a float: zero)

@batched_tangent_rule(add_into, lists=True)
def add_into_(dtotal, dx, dindex, dg, ans, total, x, index, g):
    return 0.0 if isinstance(total, float) else dtotal, None, None, add_at_batched(x, index, dg)  # (a float: zero)

@batched_tangent_rule(join_slices, lists=True)
def join_slices_(dx, dbounds, dpieces, ans, x, bounds, pieces):
    return None, None, join_slices_batched(x, bounds, dpieces)

@batched_tangent_rule(join_items, lists=True)
def join_items_(dx, dpieces, ans, x, pieces):
    return None, join_items_batched(x, dpieces)

@batched_tangent_rule(zero_at, lists=True)
def zero_at_(dtotal, ans, total, index):
    return dtotal if isinstance(total, float) else zero_at(dtotal, batch_index(dtotal, index))

@batched_tangent_rule(number_at, lists=True)
def number_at_(dseq, ans, seq, index, where):
    return take_batched(dseq, index)

broadcasts(shape_only, add, snapshot)

@batched_tangent_rule(last, lists=True)
def last_(dtotal, ans, total):
    return last_batched(dtotal)  # (an array adjoint's last row: the directions come first)

@batched_tangent_rule(drop_last, lists=True)
def drop_last_(dtotal, ans, total):
    return drop_last_batched(dtotal)
for _structural in (entry, restore_entry, field_of):  # (they move batched tangents as they are)
    batched_tangent_rule(_structural, lists=True)(REGISTRY.lookup(_structural).tangent)

# ---------------------------------------------------------------- the vmapped program's helpers (sct.vmap)
# so that sct differentiates a vmapped program (what sct.vmap(sct.jacobian(f)) runs): forward mode only

REGISTRY.helper(align, shape_args=(1,), linear=True)  # (like: read for its number of axes only)
REGISTRY.helper(align_batched, shape_args=(1,), linear=True)

@tangent_rule(align)
def align_(dx, ans, x, like):
    return align(dx, like)

@tangent_rule(align_batched)
def align_batched_(dx, ans, x, like):
    return align_batched(dx, like)

@tangent_rule(to_batch)
def to_batch_(dx, ans, x, nb):
    return to_batch(dx, nb)

@tangent_rule(merge_rows)
def merge_rows_(da, db, ans, a, b, rows, rest, where=None):
    return merge_rows(da, 0.0, rows, rest, where), merge_rows(0.0, db, rows, rest, where)

@tangent_rule(vsum)
def vsum_(dx, ans, x, axis=None, keepdims=False):
    return vsum(dx, axis, keepdims)

@tangent_rule(vdot)
def vdot_(da, db, ans, a, b, a_batched, b_batched):
    return vdot(da, b, a_batched, b_batched), vdot(a, db, a_batched, b_batched)

@tangent_rule(vcross)
def vcross_(da, db, ans, a, b, a_batched, b_batched):
    return vcross(da, b, a_batched, b_batched), vcross(a, db, a_batched, b_batched)

@batched_tangent_rule(align, align_batched)
def align_(dx, ans, x, like):
    return reshape_batched(dx, ans)

@batched_tangent_rule(vsum)
def vsum_(dx, ans, x, axis=None, keepdims=False):
    return vsum_batched(dx, x, axis, keepdims)

@batched_tangent_rule(vdot)
def vdot_(da, db, ans, a, b, a_batched, b_batched):
    return vdot_left(da, a, b, a_batched, b_batched), vdot_right(a, b, db, a_batched, b_batched)

@batched_tangent_rule(vcross)
def vcross_(da, db, ans, a, b, a_batched, b_batched):
    return vcross_left(da, a, b, a_batched, b_batched), vcross_right(a, b, db, a_batched, b_batched)

@batched_tangent_rule(to_batch)
def to_batch_(dx, ans, x, nb):
    return to_batch_batched(dx, nb)

@batched_tangent_rule(merge_rows)
def merge_rows_(da, db, ans, a, b, rows, rest, where=None):
    return merge_rows_batched(da, 0.0, rows, rest, where), merge_rows_batched(0.0, db, rows, rest, where)

# ---------------------------------------------------------------- non-differentiable

effect_only(stored_float)  # (a check before a store: it returns nothing)

nondifferentiable(zeros_like, indices, field_index, refill, is_numpy, vmap_size, batch_axes, batch_transpose, branch_rows, count_rows)
