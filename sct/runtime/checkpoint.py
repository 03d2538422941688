"""Checkpointed loops: which steps to keep snapshots before, and which to re-run.

The gradient program of a checkpointed loop keeps snapshots of the loop-carried
state, not a tape entry per step; its backward sweep restores them, re-runs
steps (taping only what it is about to reverse) and reverses them.  Two schedules:

- :func:`segments` (``"sqrt"``, or ``s`` segments): a snapshot before each of
  about √n segments; the backward sweep re-runs one segment at a time with the tape.
- :func:`revolve` (``"revolve"``, ``("revolve", s)``): Griewank's binomial schedule
  for ``s`` snapshots, as a sequence of actions the generated code interprets.
  It tapes one block of steps at a time (one step for fewer than 16 snapshots) and
  runs the fewest blocks any schedule with ``s`` snapshots can: :func:`binomial_cost`
  of them besides the taped ones.
"""
from __future__ import annotations

import math

TAKESHOT = "takeshot"  # keep a snapshot of the state (on top of the others)
ADVANCE = "advance"    # run these steps without the tape
FIRSTURN = "firsturn"  # the last step: the forward sweep tapes it, the backward sweep reverses it
RESTORE = "restore"    # set the state back to the top snapshot
RELEASE = "release"    # drop the top snapshot
YOUTURN = "youturn"    # run this step with the tape and reverse it


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


def revolve(steps, snapshots=None, taped=True, block=None):
    """The binomial (revolve) schedule of a loop over ``steps``: ``(action, steps)`` pairs.

    At most ``snapshots`` snapshots (default: about √n, as many as ``"sqrt"`` keeps)
    are held at once.  One generator serves both sweeps.  The forward sweep takes
    actions until ``FIRSTURN``: ``TAKESHOT``, ``ADVANCE`` (these steps, untaped), and
    ``FIRSTURN`` (the last block of steps, taped if ``taped``; a forward sweep run again
    by an enclosing loop passes ``taped=False`` and runs it untaped), then stops.  The
    backward sweep takes the rest: ``FIRSTURN`` again (reverse that block, if taped),
    then ``RESTORE``, ``RELEASE``, ``TAKESHOT``, ``ADVANCE`` and ``YOUTURN`` (tape a block
    of steps and reverse it), reversing the steps last to first.  If the forward sweep
    leaves the loop early (``break``, ``return``) inside an ``ADVANCE``, the backward
    sweep reverses the steps up to the one that left.

    The schedule is Griewank's over blocks of ``block`` consecutive steps (default
    :func:`revolve_block`: one step for fewer than 16 snapshots, at most 64), taped
    and reversed as a unit: the tape holds at most one block, and each action
    serves a block instead of a step.  The snapshots form a stack.  With ``k``
    snapshots for blocks ``[p, e)`` (the one at ``p`` included), the schedule runs
    ``p .. p+m`` untaped, keeps a snapshot at ``p+m``, reverses ``[p+m, e)`` with
    ``k - 1``, then ``[p, p+m)`` with ``k``; ``m`` is a binomial split
    (:func:`binomial_split`), ``k = 1`` runs ``p .. e-1`` and turns.
    """
    n = len(steps)
    if n == 0:
        return
    s = snapshots if snapshots is not None else (math.isqrt(n - 1) + 1 if n > 1 else 1)
    size = block or revolve_block(s)
    blocks = -(-n // size)
    ran = [n]  # how many steps the loop ran (fewer if it left early)

    def piece(first, stop):  # the steps of blocks [first, stop)
        return steps[first * size:min(stop * size, ran[0])]

    shots = [0]  # the positions (in blocks) of the snapshots, bottom to top
    yield TAKESHOT, None
    progress = [0]
    end = None  # the blocks the loop ran, if it stopped early
    while end is None:
        p, k = shots[-1], s - len(shots) + 1
        if blocks - p == 1:
            break
        stop = blocks - 1 if k == 1 else p + binomial_split(blocks - p, k)
        yield ADVANCE, _counted(steps, p * size, stop * size, progress)
        if progress[0] < stop * size:  # the loop left at step progress[0]
            ran[0] = progress[0] + 1
            end = progress[0] // size + 1
        elif k == 1:
            break
        else:
            shots.append(stop)
            yield TAKESHOT, None
    if end is None:
        last = (blocks - 1) * size
        yield FIRSTURN, _counted(steps, last, n, progress)  # (the forward sweep stops here)
        if progress[0] < n:  # the loop left inside the last block
            ran[0] = progress[0] + 1
        end = blocks
        if taped:
            yield FIRSTURN, piece(blocks - 1, blocks)
            end = blocks - 1
    yield from _reverse(piece, shots, end, s)


def revolve_block(snapshots):
    """How many steps :func:`revolve` tapes and reverses as one: an eighth of the snapshots, 1 to 64."""
    return max(1, min(64, snapshots // 8))


def _counted(steps, start, stop, progress):
    """``steps[start:stop]``, noting in ``progress[0]`` the position reached (``stop``: all of them)."""
    for position in range(start, min(stop, len(steps))):
        progress[0] = position
        yield steps[position]
    progress[0] = stop


def _reverse(piece, shots, end, s):
    """The backward sweep's actions: reverse blocks ``[0, end)`` from the snapshots at block positions ``shots``
    (``piece(a, b)``: the steps of blocks ``[a, b)``)."""
    here = False  # is the state the top snapshot's?
    while shots:
        p, k = shots[-1], s - len(shots) + 1
        if end == p:
            shots.pop()
            yield RELEASE, None
            continue
        if not here:
            yield RESTORE, None
        here = False
        if end - p == 1:
            yield YOUTURN, piece(p, end)
            end = p
        elif k == 1:
            yield ADVANCE, piece(p, end - 1)
            yield YOUTURN, piece(end - 1, end)
            end = end - 1
        else:
            m = binomial_split(end - p, k)
            yield ADVANCE, piece(p, p + m)
            shots.append(p + m)
            yield TAKESHOT, None
            here = True


def binomial_split(length, snapshots):
    """Where to keep the next snapshot: ``m`` such that running ``m`` steps, reversing the last
    ``length - m`` with ``snapshots - 1`` snapshots and then the first ``m`` with ``snapshots`` costs
    the least (Griewank): with β(k, r) = C(k + r, k) and β(k, r-1) < length ≤ β(k, r), any ``m`` with
    β(k, r-2) ≤ m ≤ β(k, r-1) and β(k-1, r-1) ≤ length - m ≤ β(k-1, r); the largest is taken."""
    k, r = snapshots, _repetitions(length, snapshots)
    return min(math.comb(k + r - 1, k), length - math.comb(k + r - 2, k - 1))


def binomial_cost(length, snapshots):
    """Griewank's t(l, s): the fewest untaped steps that reverse ``length`` steps with ``snapshots``
    snapshots (the first state's included), each step also taped once: r·l − β(s+1, r−1)."""
    if length <= 1:
        return 0
    r = _repetitions(length, snapshots)
    return r * length - math.comb(snapshots + r, snapshots + 1)


def _repetitions(length, snapshots):
    """The r with β(s, r-1) < length ≤ β(s, r): how often the schedule runs a step, at most."""
    r = 0
    while math.comb(snapshots + r, snapshots) < length:
        r += 1
    return r
