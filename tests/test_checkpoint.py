"""Checkpointed loops (sct/checkpoint.py): the same gradients as the full tape, less memory.

Every case runs the gradient program with the full tape and with several
schedules (√n, and 1, 2, 5, many snapshots; the binomial schedule with √n, 1, 2,
3, many snapshots) and asks for equal values and
gradients to 1e-12; the per-loop marker against the same loop unmarked; the text
is deterministic and shows what the README says; what cannot be checkpointed
is refused, located.
"""
import os
import pickle
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import sct
from sct.testing import numerical_grad

from programs import checkpoint as ck
from programs import control_flow as cf

R = np.random.default_rng(7)
W, V = R.normal(size=(3, 3)) * 0.5, R.normal(size=3)

CASES = [
    (ck.scalar, (0.3, 1.2, 0.01, 50), (0, 1)),
    (ck.branches, (0.3, 1.2, 7), (0, 1)),
    (ck.branches, (0.9, 0.4, 11), (0, 1)),
    (ck.with_break, (0.3, 1.5, 20), (0, 1)),
    (ck.with_break, (0.3, 0.1, 20), (0, 1)),      # runs to the end without breaking
    (ck.return_in_loop, (0.3, 1.3, 20), (0, 1)),
    (ck.return_in_loop, (0.3, 0.5, 20), (0, 1)),
    (ck.continue_in_loop, (0.3, 13), 0),
    (ck.nested, (0.3, 0.5, 6), (0, 1)),
    (ck.arrays, (W, V, 9), (0, 1)),
    (ck.in_place, (V, 10), 0),
    (ck.appends, (0.4, 7), 0),
    (ck.over_a_list, ([0.5, 1.0, 2.0, 3.0], 0.7), (0, 1)),
    (ck.two_loops, (0.3, 0.8, 9), (0, 1)),
    (ck.reassigned_after, (0.3, 0.8, 9), (0, 1)),
    (ck.scalar, (0.3, 1.2, 0.01, 0), (0, 1)),     # no steps
    (ck.scalar, (0.3, 1.2, 0.01, 1), (0, 1)),
]
SCHEDULES = ["sqrt", 1, 2, 5, 1000, "revolve", ("revolve", 1), ("revolve", 2), ("revolve", 3), ("revolve", 1000)]


def _copy(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else list(a) if isinstance(a, list) else a for a in args)


def _close(a, b):
    a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
    return all(np.allclose(x, y, rtol=1e-12, atol=1e-12) for x, y in zip(a, b)) and len(a) == len(b)


@pytest.mark.parametrize("fn, args, wrt", CASES, ids=lambda c: getattr(c, "__name__", None))
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_checkpointed_gradient_equals_the_full_tape(fn, args, wrt, schedule):
    value, full = sct.value_and_grad(fn, wrt=wrt)(*_copy(args))
    given = _copy(args)
    value_ck, checkpointed = sct.value_and_grad(fn, wrt=wrt, checkpoint=schedule)(*given)
    assert np.allclose(value_ck, value, rtol=1e-12, atol=0)
    assert _close(checkpointed, full), (full, checkpointed)
    for before, after in zip(_copy(args), given):  # arguments written into are given back as they were
        assert np.array_equal(before, after)


@pytest.mark.parametrize("fn, args, wrt", CASES[:6], ids=lambda c: getattr(c, "__name__", None))
def test_checkpointed_gradient_against_finite_differences(fn, args, wrt):
    items = (wrt,) if isinstance(wrt, int) else wrt
    got = sct.grad(fn, wrt=tuple(items), checkpoint="sqrt")(*args)
    for g, e in zip(got, numerical_grad(fn, args, tuple(items))):
        assert np.allclose(g, e, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("marked, plain, args", [
    (ck.scalar_marked, ck.scalar, (0.3, 1.2, 0.01, 30)),
    (ck.branches_marked, ck.branches, (0.3, 1.2, 7)),
])
def test_the_marker_checkpoints_its_loop(marked, plain, args):
    assert np.allclose(marked(*args), plain(*args), rtol=0, atol=0)  # the identity at run time
    full = sct.grad(plain, wrt=(0, 1))(*args)
    got = sct.grad(marked, wrt=(0, 1))(*args)
    assert _close(got, full)
    text = sct.source(sct.grad(marked, wrt=(0, 1)), *args)
    assert "snapshots.append((segment," in text and "segments(t1, " in text


def test_the_marker_takes_the_binomial_schedule():
    args = (0.3, 1.2, 0.01, 30)
    full = sct.grad(ck.scalar, wrt=(0, 1))(*args)
    assert _close(sct.grad(ck.scalar_revolve_marked, wrt=(0, 1))(*args), full)
    text = sct.source(sct.grad(ck.scalar_revolve_marked, wrt=(0, 1)), *args)
    assert "schedule = revolve(t1, 3)" in text and "segments" not in text
    assert _close(sct.grad(ck.scalar_marked, wrt=(0, 1), checkpoint="revolve")(*args), full)  # the option as default
    with pytest.raises(sct.TransformError, match="as a constant"):
        sct.grad(ck.marker_with_a_variable_schedule)(0.3, 5, 2)


def test_a_marked_loop_inside_a_taped_loop_keeps_its_snapshots_on_the_tape():
    args = (0.3, 0.9, 8)
    text = sct.source(sct.grad(ck.marked_inside_a_loop), *args)
    assert "tape.append(snapshots)" in text and "snapshots = tape.pop()" in text
    value, got = sct.value_and_grad(ck.marked_inside_a_loop, wrt=(0, 1))(*args)
    assert value == ck.marked_inside_a_loop(*args)
    for g, e in zip(got, numerical_grad(ck.marked_inside_a_loop, args, (0, 1))):
        assert np.allclose(g, e, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", [c for c in __import__("test_control_flow").CASES], ids=lambda c: c[0].__name__)
@pytest.mark.parametrize("schedule", [2, ("revolve", 2)])
def test_control_flow_programs_checkpointed(case, schedule):
    fn, args, wrt = case
    full = sct.grad(fn, wrt=wrt)(*args)
    try:
        got = sct.grad(fn, wrt=wrt, checkpoint=schedule)(*args)
    except sct.TransformError as exc:
        assert "while" in str(exc)  # the only refusal: a while loop under checkpoint=
        return
    assert _close(got, full)


def test_forward_sweep_keeps_snapshots_not_a_tape():
    text = sct.source(sct.grad(ck.scalar, wrt=(0, 1), checkpoint="sqrt"), 0.3, 1.2, 0.01, 10)
    forward, backward = text.split("# -- backward sweep")
    assert "tape.append" not in forward
    assert "for segment in segments(t1, 'sqrt'):" in forward and "snapshots.append((segment, x))" in forward
    assert "segment, x = snapshots.pop()" in backward and "for i in reversed(segment):" in backward
    assert "checkpoint=sqrt" in text


def test_arrays_written_in_place_are_copied_and_written_back():
    text = sct.source(sct.grad(ck.in_place, checkpoint=2), V, 10)
    assert "snapshots.append((segment, snapshot(y)))" in text and "y[...] = y_saved" in text


def test_generated_source_is_deterministic():
    code = ("import sys; sys.path.insert(0, 'tests'); import sct; from programs import checkpoint as ck; "
            "print(sct.source(sct.grad(ck.branches, wrt=(0, 1), checkpoint='sqrt'), 0.3, 1.2, 7)); "
            "print(sct.source(sct.grad(ck.with_break, wrt=(0, 1), checkpoint=3), 0.3, 1.2, 7))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root, PYTHONHASHSEED="random")
    runs = [subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1] and "snapshots" in runs[0]
    here = sct.source(sct.grad(ck.branches, wrt=(0, 1), checkpoint="sqrt"), 0.3, 1.2, 7)
    assert runs[0].startswith(here.replace("test_checkpoint", "checkpoint").split("\n", 1)[0])


def test_peak_memory_stays_small():
    n = 20000
    full, checkpointed = sct.grad(ck.scalar, wrt=(0, 1)), sct.grad(ck.scalar, wrt=(0, 1), checkpoint="sqrt")
    peaks = []
    for g in (full, checkpointed):
        g(0.3, 1.2, 0.01, 10)  # (built)
        tracemalloc.start()
        g(0.3, 1.2, 0.01, n)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] * 20 < peaks[0], peaks


def test_options_are_checked_and_remembered():
    with pytest.raises(sct.ArgumentError, match="checkpoint must be"):
        sct.grad(ck.scalar, checkpoint="binomial")
    with pytest.raises(sct.ArgumentError, match="checkpoint must be"):
        sct.grad(ck.scalar, checkpoint=0)
    for wrong in [("revolve", 0), ("revolve",), ("sqrt", 3), ("revolve", 2.0)]:
        with pytest.raises(sct.ArgumentError, match="checkpoint must be"):
            sct.grad(ck.scalar, checkpoint=wrong)
    with pytest.raises(sct.ArgumentError, match="reverse mode"):
        sct.grad(ck.scalar, mode="forward", checkpoint="sqrt")
    g = sct.grad(ck.scalar, wrt=(0, 1), checkpoint=4)
    assert "checkpoint=4" in repr(g)
    again = pickle.loads(pickle.dumps(g))
    assert again(0.3, 1.2, 0.01, 9) == g(0.3, 1.2, 0.01, 9)
    assert sct.grad(ck.scalar)(0.3, 1.2, 0.01, 9) == sct.grad(ck.scalar, checkpoint="sqrt")(0.3, 1.2, 0.01, 9)
    assert "snapshots" not in sct.source(sct.grad(ck.scalar), 0.3, 1.2, 0.01, 9)  # the default: the full tape


def test_a_while_loop_is_refused_under_the_option():
    with pytest.raises(sct.TransformError, match="checkpoints `for` loops only") as info:
        sct.grad(ck.while_loop, checkpoint="sqrt")(1.0)
    assert "checkpoint.py" in str(info.value)


def test_an_array_carried_and_written_into_is_refused():
    with pytest.raises(sct.TransformError, match="`y` is carried from step to step") as info:
        sct.grad(ck.rebound_and_written, checkpoint="sqrt")(np.ones(3), 4)
    assert "checkpoint.py" in str(info.value)
    assert sct.grad(ck.rebound_and_written)(np.ones(3), 4) is not None  # (the full tape takes it)


def test_hessian_through_a_marked_loop():
    args = (0.3, 1.2, 0.01, 12)
    assert np.allclose(sct.hessian(ck.scalar_marked)(*args), sct.hessian(ck.scalar)(*args), rtol=1e-12, atol=1e-12)


# -- the binomial schedule ----------------------------------------------------------


def _binomial_cost_by_search(n, s, memo={}):
    """Griewank's recurrence, searched: run m steps, reverse the rest with s-1 snapshots, then the m."""
    if n <= 1:
        return 0
    if (n, s) not in memo:
        memo[n, s] = (n - 1 + _binomial_cost_by_search(n - 1, 1) if s == 1 else
                      min(m + _binomial_cost_by_search(n - m, s - 1) + _binomial_cost_by_search(m, s)
                          for m in range(1, n)))
    return memo[n, s]


def _drive(n, s, taped=True, leave_at=None):
    """Interpret a revolve schedule on the state "how many steps ran": (untaped steps, steps reversed, peak),
    one step taped and reversed at a time (fewer than 16 snapshots)."""
    runs, reversed_, peak, widest = _drive_blocks(n, s, None, leave_at, taped)
    assert widest <= 1
    return runs, reversed_, peak


@pytest.mark.parametrize("s", [1, 2, 3, 4, 6])
def test_revolve_runs_the_fewest_steps_binomial_bound(s):
    from sct.runtime.checkpoint import binomial_cost
    for n in range(0, 60):
        runs, reversed_, peak = _drive(n, s)
        assert reversed_ == list(range(n))[::-1] and peak <= s
        assert runs == binomial_cost(n, s) == _binomial_cost_by_search(n, s), (n, s)


def test_revolve_binomial_cost_known_values():
    from sct.runtime.checkpoint import binomial_cost
    assert [binomial_cost(n, 1) for n in range(1, 6)] == [0, 1, 3, 6, 10]  # n(n-1)/2: one snapshot
    assert binomial_cost(10, 3) == 2 * 10 - 5 and binomial_cost(20, 3) == 3 * 20 - 15  # r·l − β(s+1, r−1)
    assert binomial_cost(10**6, 1000) == 3 * 10**6 - 502503  # each step run at most 3 times untaped


@pytest.mark.parametrize("n, s", [(1, 1), (7, 1), (7, 2), (20, 3), (33, 5)])
def test_revolve_reverses_a_loop_left_early_and_an_untaped_last_step(n, s):
    for leave_at in range(n):
        runs, reversed_, peak = _drive(n, s, leave_at=leave_at)
        assert reversed_ == list(range(leave_at + 1))[::-1] and peak <= s
    runs, reversed_, peak = _drive(n, s, taped=False)
    assert reversed_ == list(range(n))[::-1] and peak <= s


@pytest.mark.parametrize("n, s", [(1, 2), (12, 1), (12, 2), (30, 3), (40, 6)])
def test_the_gradient_program_runs_revolves_count_of_steps(n, s):
    """Counted in the generated program itself: every step the loop body runs, taped or not."""
    from sct.runtime import checkpoint as rt
    from sct.compiler import GRADIENT, derive
    derived = derive(ck.scalar, GRADIENT, ("x", "p"), {}, ("revolve", s))
    counts = {"untaped": 0, "taped": 0}

    def counting(steps, snapshots=None, taped=True):
        for action, part in rt.revolve(steps, snapshots, taped):
            kind = "untaped" if action == rt.ADVANCE else "taped" if action == rt.YOUTURN else None
            yield action, (_counter(part, counts, kind) if kind else part)

    derived.fn.__globals__["revolve"] = counting
    full = sct.grad(ck.scalar, wrt=(0, 1))(0.3, 1.2, 0.01, n)
    value, *got = derived.fn(0.3, 1.2, 0.01, n)
    assert _close(tuple(got), full)
    firsturn = 1  # the last step, taped in the forward sweep
    assert counts["untaped"] == rt.binomial_cost(n, s) and counts["taped"] + firsturn == n


class _counter:
    def __init__(self, steps, counts, kind):
        self.steps, self.counts, self.kind = steps, counts, kind

    def __iter__(self):
        for step in self.steps:
            self.counts[self.kind] += 1
            yield step

    def __reversed__(self):
        return reversed(self.steps)


def test_revolve_source_reads_as_the_schedule():
    text = sct.source(sct.grad(ck.scalar, wrt=(0, 1), checkpoint=("revolve", 4)), 0.3, 1.2, 0.01, 10)
    forward, backward = text.split("# -- backward sweep")
    assert "checkpoint=revolve with 4 snapshots" in text
    assert "schedule = revolve(t1, 4)" in forward and "for action, steps in schedule:" in forward
    assert "if action == 'takeshot':" in forward and "snapshots.append((x,))" in forward
    assert "# firsturn: the last step, taped" in forward
    for action in ("restore", "release", "takeshot", "advance", "youturn"):
        assert f"action == '{action}'" in backward
    assert "(x,) = snapshots[-1]" in backward or "x, = snapshots[-1]" in backward
    assert "for i in reversed(steps):" in backward


def test_revolve_inside_a_taped_loop_runs_its_last_step_untaped():
    args = (0.3, 0.9, 8)
    text = sct.source(sct.grad(ck.marked_inside_a_loop, wrt=(0, 1), checkpoint=("revolve", 2)), *args)
    assert "revolve(t" in text and "taped=False" in text and "tape.append(schedule_1)" in text
    got = sct.grad(ck.marked_inside_a_loop, wrt=(0, 1), checkpoint=("revolve", 2))(*args)
    assert _close(got, sct.grad(ck.marked_inside_a_loop, wrt=(0, 1))(*args))


def test_revolve_peak_memory_stays_small():
    n = 20000
    full, revolve = sct.grad(ck.scalar, wrt=(0, 1)), sct.grad(ck.scalar, wrt=(0, 1), checkpoint=("revolve", 20))
    peaks = []
    for g in (full, revolve):
        g(0.3, 1.2, 0.01, 10)  # (built)
        tracemalloc.start()
        g(0.3, 1.2, 0.01, n)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] * 50 < peaks[0], peaks


def _drive_blocks(n, s, block, leave_at=None, taped=True):
    """Interpret a revolve schedule whose actions carry blocks of steps on the state "how many steps ran":
    (untaped steps, steps reversed, peak snapshots, the largest block taped at once)."""
    from sct.runtime import checkpoint as rt
    schedule = rt.revolve(range(n), s, taped, block)
    state, snaps, runs, reversed_, peak, widest, last = 0, [], 0, [], 0, 0, []
    for action, steps in schedule:  # the forward sweep: stops after FIRSTURN or when the loop leaves
        if action == rt.TAKESHOT:
            snaps.append(state)
            peak = max(peak, len(snaps))
            continue
        last = []
        for i in steps:
            assert i == state
            state += 1
            last.append(i)
            if i == leave_at:
                break
        if action == rt.ADVANCE:
            runs += len(last)
        if action == rt.FIRSTURN or (leave_at is not None and state == leave_at + 1):
            break
    for action, steps in schedule:  # the backward sweep
        if action == rt.TAKESHOT:
            snaps.append(state)
            peak = max(peak, len(snaps))
        elif action == rt.RESTORE:
            state = snaps[-1]
        elif action == rt.RELEASE:
            snaps.pop()
        elif action == rt.ADVANCE:
            assert steps[0] == state
            runs, state = runs + len(steps), state + len(steps)
        elif action == rt.YOUTURN:
            assert steps[0] == state
            widest = max(widest, len(steps))
            reversed_ += list(steps)[::-1]
            state += len(steps)
        else:
            assert action == rt.FIRSTURN and taped and list(steps) == last
            widest = max(widest, len(steps))
            reversed_ += list(steps)[::-1]
    assert not snaps
    return runs, reversed_, peak, widest


@pytest.mark.parametrize("s, block", [(16, None), (40, None), (5, 3), (2, 7)])
def test_revolve_in_blocks_reverses_every_step_once_within_its_memory(s, block):
    """Blocks of steps taped and reversed as one: each step reversed once, last to first, with at most
    ``s`` snapshots and one block on the tape -- also when the loop leaves early, inside any block."""
    from sct.runtime.checkpoint import revolve_block
    size = block or revolve_block(s)
    for n in [1, 2, size, size + 1, 3 * size - 1, 50, 97]:
        for leave_at in [None] + sorted({0, n // 2, n - 2, n - 1} - {-1}):
            _, reversed_, peak, widest = _drive_blocks(n, s, block, leave_at)
            ran = n if leave_at is None else leave_at + 1
            assert reversed_ == list(range(ran))[::-1], (n, leave_at)
            assert peak <= s and widest <= size
