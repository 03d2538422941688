"""Everyday Python (issue 11): `with` blocks, printing, logging, assertions, `:=`, *args/**kwargs passed on,
and the standard library's iteration forms, in both modes against finite differences and the dot-product
identity; and what is still refused, located."""
import inspect
import logging
import os
import warnings

import numpy as np
import pytest

import sct
from sct.testing import check_dot_product, check_grad, numerical_grad

from programs import everyday as ev

X = np.array([0.3, -0.2, 0.5])
FILE = os.path.basename(ev.__file__)

CASES = [
    # with blocks under managers that change no value
    (ev.with_errstate, (X,)), (ev.with_catch_warnings, (X,)), (ev.with_nullcontext, (0.7,)),
    (ev.with_as_constant, (X,)), (ev.with_several_managers, (X,)), (ev.with_return, (0.7,)),
    (ev.with_return, (0.2,)), (ev.with_in_loop, (0.7,)), (ev.with_break, (1.3,)), (ev.with_break, (0.5,)),
    (ev.with_in_branch, (0.6,)), (ev.with_in_branch, (-0.6,)),
    # statements with no derivative, :=, *args and **kwargs
    (ev.statements, (X,)), (ev.warns, (0.7,)), (ev.walrus_if, (X,)), (ev.walrus_if, (X * 0.1,)),
    (ev.walrus_order, (0.7,)), (ev.walrus_lazy, (0.7,)), (ev.walrus_lazy, (0.4,)), (ev.walrus_lazy, (-0.4,)), (ev.walrus_while, (0.7,)), (ev.walrus_comprehension, (0.7,)),
    (ev.calls_with_kwargs, (X,)), (ev.fills_kwargs, (0.7,)),
    # iteration and library forms
    (ev.sorted_loop, (X,)), (ev.sorted_expression, (X,)), (ev.reversed_forms, (X,)), (ev.enumerate_zip, (X,)),
    (ev.ranges, (X,)), (ev.tolist_forms, (X,)), (ev.reductions, (X,)), (ev.conditions, (X,)),
    (ev.everything_at_once, (X,)),
]
_ids = [f"{fn.__name__}-{'array' if isinstance(args[0], np.ndarray) else args[0]}" for fn, args in CASES]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fn, args", CASES, ids=_ids)
def test_matches_finite_differences(fn, args, mode):
    check_grad(fn, args, 0, modes=(mode,))
    value, _ = sct.value_and_grad(fn, mode=mode)(*args)
    assert value == pytest.approx(fn(*args))  # (the primal computed as Python does: := order, sorted, ...)


@pytest.mark.parametrize("fn, args", CASES, ids=_ids)
def test_forward_and_reverse_agree(fn, args):
    check_dot_product(fn, args, 0)


@pytest.mark.parametrize("fn", [ev.with_errstate, ev.with_catch_warnings, ev.sorted_expression, ev.reversed_forms,
                                ev.tolist_forms, ev.walrus_if])
def test_second_derivatives(fn):
    """Forward over reverse: the generated adjoint program, `with` blocks and sort adjoints included."""
    h = sct.hessian(fn)(X)
    eps = 1e-5
    columns = []
    for i in range(3):
        e = np.zeros(3)
        e[i] = eps
        columns.append((sct.grad(fn)(X + e) - sct.grad(fn)(X - e)) / (2 * eps))
    np.testing.assert_allclose(h, np.array(columns).T, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("schedule", ["sqrt", ("revolve", 2)])
@pytest.mark.parametrize("fn, x", [(ev.with_in_loop, 0.7), (ev.with_break, 1.3), (ev.with_break, 0.5)])
def test_with_blocks_in_checkpointed_loops(fn, x, schedule):
    assert sct.grad(fn, checkpoint=schedule)(x) == pytest.approx(sct.grad(fn)(x), rel=1e-12)


@pytest.mark.parametrize("fn", [ev.log_of_square, ev.log_of_square_filtered])
def test_gradient_silent_under_the_managers_of_the_primal(fn):
    """Silenced in the primal, silenced in the gradient: the backward sweep of the block runs under the same
    manager (and the settings the block makes first).  (Forward mode's tangents sit inside the block.)"""
    x = np.array([0.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning the gradient lets out fails the test
        g = sct.grad(fn)(x)
    assert g[0] == np.inf and g[1] == pytest.approx(4.0)


def test_backward_sweep_of_a_with_block_runs_under_its_manager():
    g = sct.grad(ev.log_of_square_filtered)
    g(X)
    text = sct.source(g)
    backward = text.split("# -- backward sweep")[1]
    assert "with warnings.catch_warnings():" in backward and "warnings.simplefilter('ignore')" in backward
    tangent = sct.jvp(ev.with_errstate)
    tangent(X, X)
    assert "with np.errstate(divide='ignore', invalid='ignore'):" in sct.source(tangent)


def test_kwargs_passed_through_at_the_call():
    g = sct.grad(ev.passes_kwargs)
    np.testing.assert_allclose(g(X, scale=2.0), 4.0 * X)
    np.testing.assert_allclose(g(X, scale=2.0, shift=1.0), 4.0 * X + 1.0)
    np.testing.assert_allclose(sct.grad(ev.passes_args, mode="forward")(X, 3.0, 0.5), 6.0 * X + 0.5)
    np.testing.assert_allclose(sct.grad(ev.passes_both)(X, 2.0, shift=1.0), 6.0 * X + 2.0)
    np.testing.assert_allclose(sct.hessian(ev.passes_kwargs)(X, scale=2.0), 4.0 * np.eye(3))


def test_effect_only_calls_run_in_the_derivative(capsys, caplog):
    with caplog.at_level(logging.INFO, logger="sct.tests.everyday"):
        sct.grad(ev.statements)(X)
    assert "x[0] is 0.30" in capsys.readouterr().out
    assert any("sum" in r.getMessage() for r in caplog.records)


def test_a_declared_manager_is_followed():
    with pytest.raises(sct.UnsupportedSyntaxError):
        sct.grad(ev.user_managed)(0.7)
    sct.context_manager(ev.UserManager)
    try:
        for mode in ("reverse", "forward"):
            assert sct.grad(ev.user_managed, mode=mode)(0.7) == pytest.approx(1.4)
    finally:
        sct.rules.REGISTRY.contexts.pop(ev.UserManager)
        sct.rules.REGISTRY.version += 1


def test_zip_strict_raises_as_python_does():
    from sct.runtime import indices  # (what `for u, v in zip(a, b, strict=True)` loops over)
    with pytest.raises(ValueError, match="zip\\(\\) argument 2 is shorter than argument 1"):
        indices([1, 2], [1], strict=True)
    assert list(indices([1, 2], [1])) == [0]


def _line_of(fn, text):
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


REFUSED = [
    (ev.uses_suppress, (0.7,), sct.UnsupportedSyntaxError, "with contextlib.suppress", "changes where control goes"),
    (ev.uses_unknown_manager, (0.7,), sct.UnsupportedSyntaxError, "with TIMER", "does not know to leave values"),
    (ev.binds_active, (0.7,), sct.UnsupportedSyntaxError, "as y", "`with ... as y` whose manager is given values"),
    (ev.leaves_partly, (0.7,), sct.UnsupportedSyntaxError, "with np.errstate", "left early"),
    (ev.breaks_partly, (0.7,), sct.UnsupportedSyntaxError, "with np.errstate", "left early"),
    (ev.spreads_active, (0.7,), sct.UnsupportedSyntaxError, "**scales", "passes `scales` on as *args or **kwargs"),
    (ev.spreads_active_args, (0.7,), sct.UnsupportedSyntaxError, "*[x]", "passes a value on as *args"),
    (ev.fills_kwargs_actively, (0.7,), sct.UnsupportedSyntaxError, "a=x", "passes `x` on as *args or **kwargs"),
    (ev.rule_with_spread, (X,), sct.NoRuleError, "np.sum(x, **kw)", "np.sum called with *args or **kwargs"),
    (ev.shuffles, (X,), sct.AliasingError, "RNG.shuffle", "result of RNG.shuffle is not used"),
    (ev.unused_result_of_nondiff, (X,), sct.AliasingError, "np.random.shuffle", "changing its arguments in place"),
]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fn, args, error, text, message", REFUSED, ids=[r[0].__name__ for r in REFUSED])
def test_refused_and_located(fn, args, error, text, message, mode):
    with pytest.raises(error) as info:
        sct.grad(fn, mode=mode)(*args)
    shown = str(info.value)
    assert message in shown
    assert f"{FILE}:{_line_of(fn, text)}:" in shown
    assert text in shown  # the offending line is shown
    assert info.value.hint


def test_wrt_cannot_name_varargs():
    with pytest.raises(sct.ArgumentError, match="passes those on as constants"):
        sct.grad(ev.passes_kwargs, wrt="kw")


def _running_sums_in_a_dict_and_a_list(x):
    d = {"s": 0.0, "n": x[0]}
    for i in range(3):
        d["s"] += x[i] * x[i]
    totals = [0.0, 0.0]
    for i in range(3):
        totals[i % 2] += x[i]
    d["n"] *= x[1]
    return d["s"] * totals[0] + totals[1] + d["n"]


def _augmented_item_that_is_an_array(x):
    v = [x * 1.0, x * 2.0]
    v[0] += 1.0  # would change the array v[0] in place
    return np.sum(v[0] * v[1])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_augmented_assignment_to_an_item_of_a_dict_or_list(mode):
    """``d[k] += v`` on a dict or list the function builds: rebinds a number (differentiated); an array item
    would change in place (refused when the program runs, located)."""
    x = np.array([0.3, -0.5, 0.8])
    got = sct.grad(_running_sums_in_a_dict_and_a_list, mode=mode)(x)
    np.testing.assert_allclose(got, numerical_grad(_running_sums_in_a_dict_and_a_list, (x,), 0)[0], rtol=1e-7)
    with pytest.raises(sct.AliasingError, match="changes an item in place") as info:
        sct.grad(_augmented_item_that_is_an_array, mode=mode)(x)
    assert "v[0] += 1.0" in info.value.location.text


def _list_then_array_under_one_name(w):
    h = [w] * 2
    h = np.array(h)
    return np.sum(h * 3.0)


def _preallocated_list_then_array(w):
    h = [0.0] * 2
    h[0] = w
    h[1] = w * w
    h = np.array(h)
    return np.sum(h * h)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_name_bound_to_a_list_then_to_an_array(mode):
    """``h = np.array(h)`` after building the list ``h``: ``h * 3.0`` is NumPy's product, not a list repeated
    (the kind of the list's repetition was forced on the name: 2.0 where 6.0 is right, a TypeError forward)."""
    for fn in (_list_then_array_under_one_name, _preallocated_list_then_array):
        got = sct.grad(fn, mode=mode)(0.5)
        assert got == pytest.approx(numerical_grad(fn, (0.5,), 0)[0], rel=1e-7)
