"""The only code generated functions call besides NumPy and ``math``.

``broadcast`` sums adjoints back to an argument's shape and widens tangents;
``containers`` updates adjoints of arrays, lists and dicts functionally (a new value,
never an in-place write on a value another name may hold; ``add_into`` writes in place
only where the compiler proved no other name holds the adjoint).  The tape itself is
a plain Python list in the generated code: ``tape.append(x)`` / ``x = tape.pop()``.
``checkpoint`` cuts a checkpointed loop's steps into segments.
"""
from . import checkpoint
from .broadcast import expand, shape_only, unbroadcast, unreduce, zeros_like
from .containers import (add, add_at, add_into, drop_last, entry, indices, join_items, join_slices, last, number_at,
                         refill, restore_entry, snapshot, stored_float, take, take_written, unshared, zero_at)

__all__ = ["add", "add_at", "add_into", "drop_last", "entry", "expand", "indices", "join_items", "join_slices", "last",
           "number_at", "refill", "restore_entry", "shape_only", "snapshot", "stored_float", "take", "take_written",
           "unbroadcast", "unreduce", "unshared", "zero_at", "zeros_like"]
