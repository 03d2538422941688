"""Checkpointed loops: which steps to keep snapshots before, and which to re-run.

The gradient program of a checkpointed loop keeps snapshots of the loop-carried
state, not a tape entry per step; its backward sweep restores them, re-runs
steps (taping only what it is about to reverse) and reverses them.  Two schedules:

- :func:`segments` (``"sqrt"``, or ``s`` segments): a snapshot before each of
  about √n segments; the backward sweep re-runs one segment at a time with the tape.
- :func:`revolve` (``"revolve"``, ``("revolve", s)``): Griewank's binomial schedule
  for ``s`` snapshots, as a sequence of actions the generated code interprets.
  It tapes one step at a time and runs the fewest steps any schedule with ``s``
  snapshots can: :func:`binomial_cost` of them besides the ``n`` taped ones.
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


def revolve(steps, snapshots=None, taped=True):
    """The binomial (revolve) schedule of a loop over ``steps``: ``(action, steps)`` pairs.

    At most ``snapshots`` snapshots (default: about √n, as many as ``"sqrt"`` keeps)
    are held at once.  One generator serves both sweeps.  The forward sweep takes
    actions until ``FIRSTURN``: ``TAKESHOT``, ``ADVANCE`` (these steps, untaped), and
    ``FIRSTURN`` (the last step, taped if ``taped``; a forward sweep run again by an
    enclosing loop passes ``taped=False`` and runs it untaped), then stops.  The
    backward sweep takes the rest: ``FIRSTURN`` again (reverse that step, if taped),
    then ``RESTORE``, ``RELEASE``, ``TAKESHOT``, ``ADVANCE`` and ``YOUTURN`` (tape one
    step and reverse it), reversing the steps last to first.  If the forward sweep
    leaves the loop early (``break``, ``return``) inside an ``ADVANCE``, the backward
    sweep reverses the steps up to the one that left.

    The snapshots form a stack.  With ``k`` snapshots for steps ``[p, e)`` (the one
    at ``p`` included), the schedule runs ``p .. p+m`` untaped, keeps a snapshot at
    ``p+m``, reverses ``[p+m, e)`` with ``k - 1``, then ``[p, p+m)`` with ``k``; ``m``
    is a binomial split (:func:`binomial_split`), ``k = 1`` runs ``p .. e-1`` and turns.
    """
    n = len(steps)
    if n == 0:
        return
    s = snapshots if snapshots is not None else (math.isqrt(n - 1) + 1 if n > 1 else 1)
    shots = [0]  # the positions of the snapshots, bottom to top
    yield TAKESHOT, None
    progress = [0]
    end = None  # the steps the loop ran, if it stopped early
    while end is None:
        p, k = shots[-1], s - len(shots) + 1
        if n - p == 1:
            break
        stop = n - 1 if k == 1 else p + binomial_split(n - p, k)
        yield ADVANCE, _counted(steps, p, stop, progress)
        if progress[0] < stop:  # the loop left at step progress[0]
            end = progress[0] + 1
        elif k == 1:
            break
        else:
            shots.append(stop)
            yield TAKESHOT, None
    if end is None:
        yield FIRSTURN, steps[n - 1:n]  # (the forward sweep stops here)
        end = n
        if taped:
            yield FIRSTURN, steps[n - 1:n]
            end = n - 1
    yield from _reverse(steps, shots, end, s)


def _counted(steps, start, stop, progress):
    """``steps[start:stop]``, noting in ``progress[0]`` the position reached (``stop``: all of them)."""
    for position in range(start, stop):
        progress[0] = position
        yield steps[position]
    progress[0] = stop


def _reverse(steps, shots, end, s):
    """The backward sweep's actions: reverse ``steps[:end]`` from the snapshots at positions ``shots``."""
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
            yield YOUTURN, steps[p:end]
            end = p
        elif k == 1:
            yield ADVANCE, steps[p:end - 1]
            yield YOUTURN, steps[end - 1:end]
            end = end - 1
        else:
            m = binomial_split(end - p, k)
            yield ADVANCE, steps[p:p + m]
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
