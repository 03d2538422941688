"""Nested ``def``, closures over the function's own locals, and ``lambda``, in both modes.

sct lifts each nested function out (sct/lift.py): the enclosing function's locals it
reads become leading parameters, passed at every call, so they are read when the
call runs, as Python reads a closure.  Used as a value, a nested function is
``functools.partial(f, captured...)``, refused where Python would read a later value.
"""
import inspect
import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import sct
from programs import nested as N
from sct.testing import check_dot_product, check_grad

MODES = ["forward", "reverse"]
RNG = np.random.default_rng(0)
W, X, Y = RNG.normal(size=3), RNG.normal(size=(4, 3)), RNG.normal(size=4)
V = np.array([0.3, -0.2, 0.5])

CASES = [  # (function, arguments, wrt)
    (N.loss, (W, X, Y), 0),
    (N.squares, (V,), 0),
    (N.closure_active, (0.7,), 0),
    (N.lambda_scalar, (0.7,), 0),
    (N.lambda_inline, (0.7,), 0),
    (N.deep, (0.7,), 0),
    (N.in_helper, (0.7,), 0),
    (N.mutual, (0.7,), 0),
    (N.recursive, (0.7,), 0),
    (N.defaults, (0.7,), 0),
    (N.rebound_after, (0.7,), 0),
    (N.in_loop, (0.7,), 0),
    (N.arrays, (V,), 0),
    (N.closure_of_closure, (0.7,), 0),
    (N.passed, (0.7,), 0),
    (N.passed_binding, (0.7, 1.3), 0),
    (N.key_function, (V,), 0),
    (N.apply, (N.partial_mul, 0.7), 1),
    (N.nested_helper, (V,), 0),
]
IDS = [f"{fn.__name__}-{i}" for i, (fn, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn, args, wrt", CASES, ids=IDS)
def test_gradient_matches_finite_differences(fn, args, wrt, mode):
    check_grad(fn, args, wrt=wrt, modes=(mode,))


@pytest.mark.parametrize("fn, args, wrt", CASES, ids=IDS)
def test_forward_and_reverse_agree(fn, args, wrt):
    check_dot_product(fn, args, wrt=wrt)


def test_hessian_through_nested_functions():
    h = sct.hessian(N.loss)(W, X, Y)
    eps = 1e-5
    g = sct.grad(N.loss)
    numeric = np.array([(g(W + eps * e, X, Y) - g(W - eps * e, X, Y)) / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(h, numeric, rtol=1e-5, atol=1e-7)


def test_vjp_and_jvp_of_a_function_with_a_closure():
    value, tangent = sct.jvp(N.closure_active)(0.7, 1.0)
    (adjoint,) = sct.vjp(N.closure_active, wrt=(0,))(0.7, 1.0)
    assert tangent == pytest.approx(adjoint, rel=1e-12)


def test_captured_value_is_read_when_the_call_runs():
    """rebound_after: g(x) reads the new s after `s = exp(x)`, as Python does."""
    x = 0.7
    expected = 2 * x + (np.exp(x) + np.exp(x) * x)  # d/dx (x*x) + d/dx (exp(x) * x)
    for mode in MODES:
        assert sct.grad(N.rebound_after, mode=mode)(x) == pytest.approx(expected, rel=1e-12)


# -- the generated text ----------------------------------------------------------------

def test_generated_source_reads_well():
    text = sct.source(sct.grad(N.loss, calls="joint"), W, X, Y)
    assert "    p = sigmoid(t1)\n" in text
    assert "        t4 = act(t3)\n        tape.append(t5)\n        t5 = penalty(scale, t4)\n" in text
    assert "    t11 = penalty(scale, w)\n" in text  # the rebound scale, read at the call
    assert "_, scale_bar_penalty, v_bar_penalty = penalty_vjp(scale, t4, penalty_bar=" in text
    text = sct.source(sct.grad(N.loss), W, X, Y)  # (by default split: the helpers work on arrays)
    assert "    p, sigmoid_saved = sigmoid_fwd(t1)\n" in text
    assert "        t4, act_saved = act_fwd(t3)\n" in text
    assert "        t5, penalty_saved = penalty_fwd(scale, t4)\n" in text
    assert "    t11, penalty_saved_1 = penalty_fwd(scale, w)\n" in text  # the rebound scale, read at the call
    assert "scale_bar_penalty, v_bar_penalty = penalty_bwd(penalty_saved, scale, t4, penalty_bar=" in text
    forward = sct.source(sct.grad(N.loss, mode="forward"), W, X, Y)
    assert "t5, dt5 = penalty_jvp(scale, t4, dscale=dscale, dv=dt4)" in forward
    callee = sct.source(sct.grad(N.passed_binding), 0.7, 1.3)
    assert "t1 = partial(pen, s)\n" in callee and "apply_fwd(t1, x)" in callee  # (split mode: apply loops)


def _program_text():
    return sct.source(sct.grad(N.loss), W, X, Y) + sct.source(sct.grad(N.loss, mode="forward"), W, X, Y)


def test_generated_source_is_the_same_in_a_fresh_process():
    code = ("import sys, numpy as np; sys.path.insert(0, 'tests'); import sct; from programs import nested as N; "
            "rng = np.random.default_rng(0); W, X, Y = rng.normal(size=3), rng.normal(size=(4, 3)), rng.normal(size=4); "
            "sys.stdout.write(sct.source(sct.grad(N.loss), W, X, Y) + "
            "sct.source(sct.grad(N.loss, mode='forward'), W, X, Y))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True, env=env)
    assert run.stdout == _program_text()
    assert _program_text() == _program_text()


def test_lifted_functions_are_made_once_and_programs_cached():
    made = sct.grad(N.squares)
    made(V)
    programs = [d.fn for d in sct.derived_programs(made)]
    made(V + 1.0)
    assert [d.fn for d in sct.derived_programs(made)] == programs


def test_nested_helper_costs_what_a_module_level_one_does():
    """The loop body of the program is the same text for a nested helper and a module-level one."""
    def body(fn):
        text = sct.source(sct.grad(fn), V)
        return [line for line in text.splitlines() if not line.lstrip().startswith("#")][1:]
    assert body(N.nested_helper) == body(N.module_helper)
    nested, module = sct.grad(N.nested_helper), sct.grad(N.module_helper)
    nested(V), module(V)
    times = []
    for made in (nested, module, nested, module):
        start = time.perf_counter()
        for _ in range(200):
            made(V)
        times.append(time.perf_counter() - start)
    assert min(times[0::2]) < 1.5 * min(times[1::2])


# -- refused, located ------------------------------------------------------------------

FILE = os.path.basename(N.__file__)


def _line_of(fn, text):
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


REFUSED = [  # (function, error class, words of the message, the line's text)
    (N.uses_nonlocal, sct.UnsupportedSyntaxError, "`nonlocal` statement", "nonlocal s"),
    (N.uses_generator, sct.UnsupportedSyntaxError, "nested generator", "yield x * i"),
    (N.uses_decorated, sct.UnsupportedSyntaxError, "decorated nested function", "@functools.lru_cache"),
    (N.bound_twice, sct.UnsupportedSyntaxError, "`f` whose name is bound more than once", "def f(z):"),
    (N.uses_class, sct.UnsupportedSyntaxError, "class definition", "class A:"),
    (N.default_from_local, sct.UnsupportedSyntaxError, "default value computed", "def f(z, k=s):"),
    (N.value_rebound_later, sct.UnsupportedSyntaxError, "`g` used as a value: it reads `s`, which the function "
                                                         "rebinds later", "h = apply(g, 2.0)"),
    (N.value_in_loop, sct.UnsupportedSyntaxError, "a lambda used as a value: it reads `c`, which the function "
                                                   "rebinds in a loop around it", "fs.append(lambda z: z * c)"),
    (N.value_active, sct.NoRuleError, "the values bound into `pen`, a nested function used as a value",
     "return apply(pen, 3.0)"),
    (N.called_through_variable, sct.NoRuleError, "a variable holding a function", "t = t + f(x)"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn, error, words, text", REFUSED, ids=[r[0].__name__ for r in REFUSED])
def test_refused_with_file_line_and_message(fn, error, words, text, mode):
    with pytest.raises(error) as info:
        sct.grad(fn, mode=mode)(0.7)
    message = str(info.value)
    assert words in message
    assert f"{FILE}:{_line_of(fn, text)}:" in message
    assert text in message
    assert "hint:" in message


def test_error_inside_a_nested_function_points_at_its_line():
    def outer(x):
        def inner(z):
            try:
                return z
            except ValueError:
                return z
        return inner(x)

    with pytest.raises(sct.UnsupportedSyntaxError) as info:
        sct.grad(outer)(0.7)
    assert f"test_nested.py:{_line_of(outer, 'try:')}:" in str(info.value)


def test_export_writes_the_lifted_function(tmp_path):
    path = tmp_path / "closure_active_grad.py"
    text = sct.export(N.closure_active, str(path), example_args=(0.7,))
    assert "\ndef g(a, z):\n    return a * math.sin(z)\n" in text
    run = subprocess.run([sys.executable, "-c", "import closure_active_grad as m; "
                          "print(m.closure_active_grad(0.7)[1])"], cwd=tmp_path, capture_output=True, text=True,
                         check=True)
    assert float(run.stdout) == pytest.approx(sct.grad(N.closure_active)(0.7), rel=1e-12)


# -- a lambda given to sct itself ------------------------------------------------------

def _objective(X):
    return lambda w: np.sum((X @ w) ** 2) + w[0] * w[1]      # what users hand an optimiser


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_lambda_given_to_sct_is_differentiated(mode):
    """``sct.grad(lambda ...)``: the lambda's own tree, found by its line and parameters (and, among
    several alike on one line, by its column), becomes ``def lambda_<line>(...): return ...``."""
    X = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 3.0]])
    w = np.array([0.3, -0.7])
    f = _objective(X)
    check_grad(f, (w,), modes=(mode,))
    check_dot_product(f, (w,))
    assert "def lambda_" in sct.source(sct.grad(f, mode=mode), w)
    square, cube = sct.grad(lambda x: x ** 2, mode=mode), sct.grad(lambda x: x ** 3, mode=mode)  # one line
    assert square(2.0) == pytest.approx(4.0) and cube(2.0) == pytest.approx(12.0)
    scaled = sct.grad(lambda x, scale=2.0: scale * math.sin(x), mode=mode)
    assert scaled(0.4) == pytest.approx(2.0 * math.cos(0.4)) and scaled(0.4, scale=3.0) == pytest.approx(3 * math.cos(0.4))
