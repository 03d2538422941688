"""Checkpointed loops: how a loop's iterations are cut into segments.

The gradient program of a checkpointed loop keeps a snapshot of the loop-carried
state before each segment, not a tape entry per step; its backward sweep re-runs
one segment at a time (taping only that segment) and reverses it.
"""
from __future__ import annotations

import math


def segments(steps, schedule):
    """``steps`` (a range or sequence) cut into consecutive slices, one snapshot each.

    ``schedule`` is ``"sqrt"`` (about √n slices of about √n steps) or a number of
    snapshots ``s`` (``s`` slices of ``ceil(n / s)`` steps).  Peak memory is one
    snapshot per slice plus the tape of one slice.
    """
    n = len(steps)
    if schedule == "sqrt":
        stride = math.isqrt(n - 1) + 1 if n > 1 else 1
    else:
        stride = -(-n // schedule) if n else 1
    return [steps[start:start + stride] for start in range(0, n, stride)]
