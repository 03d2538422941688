"""Split mode for calls (issue 11): a call to a function of yours runs that function's forward sweep once, where
the call is, keeping a record; the backward sweep runs its backward sweep from the record.  Joint mode (the
function itself forward, its whole adjoint program backward) stays available, and is what checkpointed loops
and recursive calls use.  Numbers in both modes, and in the second order; the generated text; export."""
import math
import re

import numpy as np
import pytest

import sct
from programs import calls as C
from sct.testing import check_dot_product, check_grad, numerical_grad

RNG = np.random.default_rng(11)
W, X = RNG.standard_normal((3, 3)), RNG.standard_normal(3)
DATA = ([0.1, 0.5, -1.2, 2.0], [0.3, -0.2], [0.0, 1.0], [0.1, -0.3])

SCALAR_CASES = [
    (C.pendulum, (0.5, 0.1, 9.81, 0.2), (0, 1, 2, 3)),
    (C.pendulum_rk4, (0.5, 0.1, 9.81, 0.2), (0, 1, 2, 3)),
    (C.uses_a_tuple, (0.7, 1.3), (0, 1)),
    (C.in_branches, (0.7, 1.3), (0, 1)),
    (C.in_branches, (-0.7, 0.3), (0, 1)),
    (C.nested, (0.4, 0.9), (0, 1)),
    (C.calls_early, (0.3, 0.5), (0, 1)),
    (C.calls_early, (1.3, 0.5), (0, 1)),
    (C.calls_recursive, (0.7, 1.1), (0, 1)),
    (C.calls_mutual, (0.7,), (0,)),
    (C.keywords_and_defaults, (0.3, 0.8), (0, 1)),
    (C.calls_rebinds, (0.3, 0.8), (0, 1)),
    (C.top_level_calls, (0.3, 0.8), (0, 1)),
    (C.uses_returned_list, (0.3, 0.8), (0, 1)),
    (C.arrays_in_loop, (0.4,), (0,)),
]
ARRAY_CASES = [(C.array_helper, (W, X), (0, 1)), (C.array_written_after, (W, X), (0, 1))]
IDS = [f"{fn.__name__}{i}" for i, (fn, _, _) in enumerate(SCALAR_CASES + ARRAY_CASES)]


def _close(got, expected):
    for g, e in zip(got, expected):
        np.testing.assert_allclose(np.asarray(g, dtype=float), np.asarray(e, dtype=float), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn, args, wrt", SCALAR_CASES + ARRAY_CASES, ids=IDS)
@pytest.mark.parametrize("calls", [None, "joint", "split"])
def test_gradients_match_finite_differences_in_every_call_mode(fn, args, wrt, calls):
    _close(sct.grad(fn, wrt=wrt, calls=calls)(*args), numerical_grad(fn, args, wrt))


@pytest.mark.parametrize("fn, args, wrt", SCALAR_CASES + ARRAY_CASES, ids=IDS)
def test_both_modes_and_the_dot_product(fn, args, wrt):
    check_grad(fn, args, wrt=wrt)
    check_dot_product(fn, args, wrt=wrt)


@pytest.mark.parametrize("calls", [None, "joint", "split"])
def test_lists_of_numbers_through_helpers(calls):
    """A Gaussian mixture over lists with ``logsumexp(values)`` and ``log_normal`` helpers."""
    got = sct.grad(C.mixture, wrt=(1, 2, 3), calls=calls)(*DATA)
    arrays = [np.array(a) for a in DATA[1:]]
    expected = numerical_grad(lambda xs, w, m, s: C.mixture(xs, list(w), list(m), list(s)),
                              [DATA[0]] + arrays, (1, 2, 3))
    _close(got, expected)


# -- what runs ------------------------------------------------------------------------------------------

RUNS = []


def tick():
    RUNS.append(1)


sct.nondifferentiable(tick)


def counted(x):
    tick()
    s = 0.0
    for i in range(2):
        s = s + math.sin(x) * x
    return s


def counted2(x):
    return counted(x) * counted(x + 1.0)


def counted3(x):
    return counted2(x) + x


def runs_counted(x):
    s = 0.0
    for i in range(5):
        s = s + counted3(x + i)
    return s


@pytest.mark.parametrize("calls, runs", [(None, 10), ("split", 10), ("joint", 40)])
def test_split_mode_runs_each_helper_once_per_call(calls, runs):
    """Three levels deep, in a loop: the primal runs ``counted`` 10 times; so does the split gradient (each
    helper's forward sweep once); joint mode re-runs it at every level of the backward sweep (1 + 3)."""
    g = sct.grad(runs_counted, calls=calls)
    g(0.3)  # (builds)
    RUNS.clear()
    value = g(0.3)
    assert len(RUNS) == runs
    assert value == pytest.approx(numerical_grad(runs_counted, [0.3])[0], rel=1e-6)


def test_split_call_sites_read_as_a_forward_and_a_backward_sweep():
    text = sct.source(sct.grad(C.pendulum, wrt=(0, 1, 2, 3), calls="split"), 0.5, 0.1, 9.81, 0.2)
    main = text.split("\ndef ")[0]
    # the forward sweep calls accel's forward sweep, saves its record; the backward sweep its backward sweep
    assert "# split: accel_saved keeps what accel_bwd reads (" in main
    assert "a, accel_saved = accel_fwd(theta, omega, g, c)" in main
    assert "tape.append(accel_saved)" in main and "accel_saved = tape.pop()" in main
    assert re.search(r"= accel_bwd\(accel_saved, theta, omega, c, accel_bar=a_bar\)", main)
    forward = main.split("-- forward sweep")[1].split("-- backward sweep")[0]
    assert "accel(" not in "\n".join(line for line in forward.splitlines() if not line.strip().startswith("#"))
    assert "accel_vjp" not in text
    # the derived programs print after the caller
    assert "def accel_fwd(theta, omega, g, c):" in text and "def accel_bwd(saved, theta, omega, c, *, accel_bar):" in text
    assert "# what accel_bwd reads: " in text and "return (t5, (" in text


def test_nested_helpers_are_split_all_the_way_down():
    text = sct.source(sct.grad(C.nested, wrt=(0, 1), calls="split"), 0.4, 0.9)
    for name in ("level1", "level2", "level3"):
        assert f"def {name}_fwd(" in text and f"def {name}_bwd(" in text
    assert "_vjp" not in text
    assert text.count("def level3_fwd(") == 1  # each program printed once


def test_by_default_a_function_without_loops_or_calls_is_run_again_rather_than_recorded():
    """Recomputing ``level3`` (two math calls) costs less than keeping a record of it; the functions that call
    others are split."""
    text = sct.source(sct.grad(C.nested, wrt=(0, 1)), 0.4, 0.9)
    assert "def level1_fwd(" in text and "def level2_fwd(" in text and "def level2_bwd(" in text
    assert "level3_vjp(" in text and "level3_fwd" not in text
    pendulum = sct.source(sct.grad(C.pendulum, wrt=(0, 1, 2, 3)), 0.5, 0.1, 9.81, 0.2)
    assert "accel_vjp(" in pendulum and "accel_fwd" not in pendulum


def test_a_helper_whose_backward_sweep_reads_only_its_parameters_runs_as_itself():
    text = sct.source(sct.grad(C.top_level_calls, wrt=(0, 1)), 0.3, 0.8)
    main = text.split("\ndef ")[0]
    assert "linear_saved" not in main and "= linear(a, y)" in main  # nothing to keep: the primal runs
    assert "linear_bwd(linear_bar=" in main or "linear_bwd(" in main


def test_joint_mode_on_request_and_for_recursion():
    joint = sct.source(sct.grad(C.nested, wrt=0, calls="joint"), 0.4, 0.9)
    assert "level1_vjp(" in joint and "_fwd" not in joint
    assert "calls='joint'" in joint
    recursive = sct.source(sct.grad(C.calls_recursive, wrt=(0, 1)), 0.7, 1.1)
    assert "power_fwd(" in recursive and "power_vjp(" in recursive  # its recursive call stays joint


def test_checkpointed_loops_keep_calls_joint_unless_split_is_asked_for():
    args = (0.5, 0.1, 9.81, 0.2)
    expected = sct.grad(C.pendulum, wrt=(0, 1, 2, 3))(*args)
    chk = sct.grad(C.pendulum_calls_early, wrt=(0, 1, 2, 3), checkpoint="sqrt")
    _close(chk(*args), sct.grad(C.pendulum_calls_early, wrt=(0, 1, 2, 3))(*args))
    assert "early_vjp(" in sct.source(chk, *args) and "early_fwd" not in sct.source(chk, *args)
    assert "early_fwd(" in sct.source(sct.grad(C.pendulum_calls_early, wrt=(0, 1, 2, 3)), *args)
    forced = sct.grad(C.pendulum, wrt=(0, 1, 2, 3), checkpoint=("revolve", 3), calls="split")
    _close(forced(*args), expected)
    assert "accel_fwd(" in sct.source(forced, *args)


@pytest.mark.parametrize("fn, x", [(C.pendulum, [0.5, 0.1, 9.81, 0.2]), (C.uses_a_tuple, [0.7, 1.3]),
                                   (C.nested, [0.4, 0.9]), (C.calls_early, [0.3, 0.5]),
                                   (C.calls_recursive, [0.7, 1.1]), (C.uses_returned_list, [0.3, 0.8]),
                                   (C.keywords_and_defaults, [0.3, 0.8])])
def test_second_derivatives_go_through_the_split_programs(fn, x):
    n = len(x)
    H = sct.hessian(fn, wrt=tuple(range(n)))(*x)
    H = np.array([[H[i][j] for j in range(n)] for i in range(n)])
    g = sct.grad(fn, wrt=tuple(range(n)), calls="joint")
    reference = np.zeros((n, n))
    for j in range(n):
        up, down = list(x), list(x)
        up[j] += 1e-5
        down[j] -= 1e-5
        reference[:, j] = (np.array(g(*up)) - np.array(g(*down))) / 2e-5
    np.testing.assert_allclose(H, reference, rtol=1e-4, atol=1e-5)
    assert sct.hvp(fn, wrt=0)(*x, 1.0) == pytest.approx(reference[0, 0], rel=1e-4, abs=1e-5)


def test_kinds_flow_into_helpers_called_with_constants_and_globals():
    """A helper called with numbers is specialised for numbers, whether they are locals, literals or module
    constants: no unbroadcast, no np.shape."""
    text = sct.source(sct.grad(uses_a_global), 0.4)
    assert "unbroadcast" not in text and "np.shape" not in text and "add(" not in text


G = 9.81


def uses_a_global(x):
    return C.accel(x, 0.1, G, 0.2) + C.accel(x * G, x, 9.81, G)


def test_export_writes_the_split_programs(tmp_path):
    text = sct.export(C.pendulum, wrt=(0, 1, 2, 3), example_args=(0.5, 0.1, 9.81, 0.2), calls="split")
    assert "def accel_fwd(" in text and "def accel_bwd(" in text
    namespace = {}
    exec(compile(text, str(tmp_path / "pendulum_grad.py"), "exec"), namespace)  # noqa: S102
    value, *grads = namespace["pendulum_grad"](0.5, 0.1, 9.81, 0.2)
    assert value == pytest.approx(C.pendulum(0.5, 0.1, 9.81, 0.2))
    _close(grads, sct.grad(C.pendulum, wrt=(0, 1, 2, 3), calls="joint")(0.5, 0.1, 9.81, 0.2))
    joint = sct.export(sct.grad(C.pendulum, wrt=0, calls="joint"), example_args=(0.5, 0.1, 9.81, 0.2))
    assert "def accel_vjp(" in joint and "--calls joint" in joint


def test_calls_option_is_checked_and_pickles():
    import pickle
    with pytest.raises(sct.ArgumentError, match="calls"):
        sct.grad(C.pendulum, calls="both")
    with pytest.raises(sct.ArgumentError, match="reverse mode"):
        sct.grad(C.pendulum, mode="forward", calls="split")
    g = pickle.loads(pickle.dumps(sct.grad(C.pendulum, wrt=0, calls="joint")))
    assert "calls='joint'" in repr(g)
    assert g(0.5, 0.1, 9.81, 0.2) == pytest.approx(sct.grad(C.pendulum)(0.5, 0.1, 9.81, 0.2))
