"""Closures and module globals are read when the derivative runs, as Python reads them.

The rule (README, "Soundness rules"): a generated program is a closure over the
user function's own cells, so a closure variable holding data (a number, an
array, a sequence) is read at each call; the program is specialised only to the
*kind* of that value, and is rebuilt when the kind changes.  A cell holding a
function (a helper the function calls), a module or any other object was
resolved when the program was built; rebinding it rebuilds the program.  A
module global is copied when the program is built and the program is rebuilt
when the global is rebound.  Every case runs in both modes.
"""
import subprocess
import sys

import numpy as np
import pytest

import sct

MODES = ["forward", "reverse"]
W = np.array([0.5, -1.0, 2.0])


def _programs(made):
    return [d.fn for d in sct.derived_programs(made)]


# -- closure variables holding data ------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_rebound_number_is_read_without_rebuilding(mode):
    temperature = 1.0

    def loss(w):
        return temperature * np.sum(w ** 2)

    made = sct.value_and_grad(loss, mode=mode)
    made(W)
    built = _programs(made)
    for temperature in (2.0, -0.5, 4.0):
        value, g = made(W)
        assert value == pytest.approx(temperature * np.sum(W ** 2), rel=1e-12)
        np.testing.assert_allclose(g, 2 * temperature * W, rtol=1e-12)
    assert _programs(made) == built  # same kind each time: the program read the cell, nothing was rebuilt


@pytest.mark.parametrize("mode", MODES)
def test_rebound_number_in_scalar_code_and_as_loop_count(mode):
    rate, n = 0.5, 2

    def f(x):
        s = 0.0
        for _ in range(n):
            s = s + rate * x * x
        return s

    made = sct.grad(f, mode=mode)
    for rate, n in ((0.5, 2), (3.0, 1), (-1.0, 4)):
        assert made(1.5) == pytest.approx(2 * n * rate * 1.5, rel=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_closure_over_an_array_is_a_constant_read_at_each_call(mode):
    scale = np.array([1.0, 2.0, 3.0])

    def loss(w):
        return np.sum(scale * w ** 2)

    made = sct.value_and_grad(loss, mode=mode)
    for scale in (np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 0.0])):
        value, g = made(W)
        assert value == pytest.approx(np.sum(scale * W ** 2), rel=1e-12)
        np.testing.assert_allclose(g, 2 * scale * W, rtol=1e-12)  # no derivative through scale
    scale[1] = 10.0  # written in place: the program reads the same array
    np.testing.assert_allclose(made(W)[1], 2 * scale * W, rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_cell_changing_kind_rebuilds_the_program(mode):
    scale = 2.0

    def loss(w):
        return np.sum(scale * w ** 2)

    made = sct.value_and_grad(loss, mode=mode)
    for scale in (2.0, np.array([1.0, -2.0, 3.0]), 3.0, [1.0, 2.0, 0.5]):
        value, g = made(W)
        assert value == pytest.approx(np.sum(np.asarray(scale) * W ** 2), rel=1e-12)
        np.testing.assert_allclose(g, 2 * np.asarray(scale) * W, rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_list_cell_whose_elements_change_kind(mode):
    weights = [1.0, 2.0]

    def f(x):
        return weights[0] * x + weights[1] * x * x

    made = sct.grad(f, mode=mode)
    assert made(1.5) == pytest.approx(1.0 + 2 * 2.0 * 1.5)
    weights[1] = 4.0  # same kinds: read at the call
    assert made(1.5) == pytest.approx(1.0 + 2 * 4.0 * 1.5)
    weights[0] = np.array(3.0)  # now a list holding an array: rebuilt for the new kind
    assert made(1.5) == pytest.approx(3.0 + 2 * 4.0 * 1.5)


# -- closure variables holding functions -------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_helper_that_is_itself_a_closure_reads_its_cells_at_each_call(mode):
    scale = 1.0

    def helper(v):
        return np.sum(scale * v ** 3)

    def loss(w):
        return helper(w) + np.sum(w)

    made = sct.value_and_grad(loss, mode=mode)
    for scale in (1.0, 2.0, np.array([1.0, 2.0, 3.0])):
        value, g = made(W)
        assert value == pytest.approx(np.sum(scale * W ** 3) + np.sum(W), rel=1e-12)
        np.testing.assert_allclose(g, 3 * scale * W ** 2 + 1, rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_rebound_helper_rebuilds_the_program(mode):
    def act(v):
        return 2.0 * v

    def f(x):
        return act(x) + x

    made = sct.grad(f, mode=mode)
    assert made(3.0) == pytest.approx(3.0)

    def act(v):  # noqa: F811 - the point of the test
        return v * v

    assert made(3.0) == pytest.approx(7.0)  # the new helper, as Python calls it


@pytest.mark.parametrize("mode", MODES)
def test_nested_closures_two_levels_deep(mode):
    def make(k):
        def inner(v):
            return k * np.sin(v)

        def middle(v):
            return inner(v) * v

        def loss(w):
            return np.sum(middle(w))
        return loss, (lambda: k)

    loss, _ = make(2.0)
    other, _ = make(-3.0)
    for fn, k in ((loss, 2.0), (other, -3.0), (loss, 2.0)):
        g = sct.grad(fn, mode=mode)(W)
        np.testing.assert_allclose(g, k * (np.cos(W) * W + np.sin(W)), rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_recursive_inner_function(mode):
    def power(x, n):
        if n == 0:
            return 1.0
        return x * power(x, n - 1)

    assert sct.grad(power, mode=mode)(2.0, 3) == pytest.approx(12.0)


def test_second_derivative_reads_the_closure_at_each_call():
    k = 2.0

    def f(x):
        return k * x ** 3

    h = sct.hessian(f)
    for k in (2.0, 3.0, -1.0):
        assert h(1.5) == pytest.approx(6 * k * 1.5)


def test_source_names_the_closure_variables_it_reads():
    temperature = 1.0

    def loss(w):
        return temperature * np.sum(w ** 2)

    text = sct.source(sct.grad(loss), W)
    assert "reads temperature from the closure of" in text
    assert "temperature * " in text  # read by name, not baked in as 1.0
    temperature = 2.0
    assert sct.source(sct.grad(loss), W) == text  # the same program: deterministic, nothing rebuilt


# -- module globals ----------------------------------------------------------------

SCALE = 1.0


def global_loss(w):
    return np.sum(SCALE * w ** 2)


@pytest.mark.parametrize("mode", MODES)
def test_rebound_module_global_is_seen(mode, monkeypatch):
    made = sct.value_and_grad(global_loss, mode=mode)
    for scale in (1.0, 3.0, np.array([1.0, 0.0, -2.0])):  # also a change of kind
        monkeypatch.setitem(globals(), "SCALE", scale)
        value, g = made(W)
        assert value == pytest.approx(np.sum(scale * W ** 2), rel=1e-12)
        np.testing.assert_allclose(g, 2 * scale * W, rtol=1e-12)


# -- export and pickling -----------------------------------------------------------

def test_export_writes_the_closure_value_of_the_moment(tmp_path):
    temperature = 2.5

    def loss(w):
        return temperature * np.sum(w ** 2)

    path = tmp_path / "loss_grad.py"
    text = sct.export(loss, path, example_args=(W,))
    assert "temperature = 2.5  # closure variable of" in text
    run = subprocess.run([sys.executable, "-c", "import numpy as np, loss_grad; "
                          "print(loss_grad.loss_grad(np.array([0.5, -1.0, 2.0]))[1].tolist())"],
                         cwd=tmp_path, capture_output=True, text=True, check=True)
    assert eval(run.stdout) == pytest.approx((2 * 2.5 * W).tolist())  # noqa: S307


# -- default values computed where the function was defined --------------------------
# Python evaluates a default once, when the def runs, perhaps in a scope the generated
# program cannot see (an enclosing function, a class body, a comprehension): the program
# takes the values (fn.__defaults__, fn.__kwdefaults__), and is rebuilt when they are rebound.

def _closure_default(lam):
    def loss(w, lam=lam):
        return lam * np.sum(w ** 2)
    return loss


class _Scaled:
    SCALE = np.array([1.0, -2.0, 0.5])

    def loss(self, w, s=SCALE, *, k=SCALE[0] * 3):
        return np.sum(s * w ** 2) + k * np.sum(w)


_POWERS = [lambda z, p=p: np.sum(z ** p) for p in (2, 3)]
_CUBE = _POWERS[1]
_HELPER = _closure_default(3.0)
_MODEL = _Scaled()


def _calls_defaults(w):
    return _HELPER(w) + _CUBE(w) + _Scaled.loss(_MODEL, w) + _CUBE(w, 2)


def _check(made, fn, args, wrt=0):
    expected = sct.testing.numerical_grad(fn, args, wrt=wrt)[0]
    np.testing.assert_allclose(made(*args), expected, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_default_from_an_enclosing_function(mode):
    fn = _closure_default(3.0)
    _check(sct.grad(fn, mode=mode), fn, (W,))
    assert sct.grad(fn)(W) == pytest.approx(6.0 * W)


@pytest.mark.parametrize("mode", MODES)
def test_default_from_a_class_body(mode):
    _check(sct.grad(_MODEL.loss, mode=mode), _MODEL.loss, (W,))
    np.testing.assert_allclose(sct.grad(_MODEL.loss, mode=mode)(W), 2 * _Scaled.SCALE * W + 3.0)


@pytest.mark.parametrize("mode", MODES)
def test_defaults_of_lambdas_made_in_a_comprehension(mode):
    for f, p in zip(_POWERS, (2, 3)):
        _check(sct.grad(f, mode=mode), f, (W,))
        np.testing.assert_allclose(sct.grad(f, mode=mode)(W), p * W ** (p - 1))


@pytest.mark.parametrize("mode, calls", [("reverse", "split"), ("reverse", "joint"), ("reverse", None),
                                         ("forward", None)])
def test_defaults_of_helpers_called_from_a_differentiated_function(mode, calls):
    options = {"calls": calls} if calls else {}
    _check(sct.grad(_calls_defaults, mode=mode, **options), _calls_defaults, (W,))


def test_generated_text_names_a_default_value_it_cannot_write_as_source():
    made = sct.grad(_closure_default(3.0))
    made(W)
    source = sct.derived_programs(made)[0].source
    assert "def loss_grad(w, lam=lam_default):" in source
    assert "def default_global_loss_grad(w, s=SCALE):" in sct.derived_programs(
        _made(sct.grad(default_global_loss)))[0].source  # a module global holding the value: as written


def _made(made):
    made(W)
    return made


def default_global_loss(w, s=SCALE):
    return np.sum(s * w ** 2)


def test_a_module_global_default_keeps_its_value_when_the_global_is_rebound(monkeypatch):
    made = sct.grad(default_global_loss)
    np.testing.assert_allclose(made(W), 2 * SCALE * W)
    monkeypatch.setitem(globals(), "SCALE", 5.0)  # (the default was evaluated when the def ran)
    np.testing.assert_allclose(made(W), 2 * default_global_loss.__defaults__[0] * W)
    _check(made, default_global_loss, (W,))


@pytest.mark.parametrize("mode, calls", [("reverse", "split"), ("reverse", "joint"), ("forward", None)])
def test_rebound_defaults_of_a_helper_rebuild_its_program(mode, calls):
    def helper(w, p=2):
        return np.sum(w ** p)

    def scaled(w, *, c=1.0):
        return c * np.sum(w)

    def outer(w):
        return helper(w) + scaled(w)

    options = {"calls": calls} if calls else {}
    made = sct.grad(outer, mode=mode, **options)
    _check(made, outer, (W,))
    helper.__defaults__ = (3,)
    _check(made, outer, (W,))
    np.testing.assert_allclose(made(W), 3 * W ** 2 + 1.0)
    scaled.__kwdefaults__["c"] = -4.0  # (changed in place)
    _check(made, outer, (W,))
    np.testing.assert_allclose(made(W), 3 * W ** 2 - 4.0)


@pytest.mark.parametrize("mode", MODES)
def test_rebound_default_of_the_differentiated_function_is_seen(mode):
    def loss(w, p=2):
        return np.sum(w ** p)

    made = sct.grad(loss, mode=mode)
    np.testing.assert_allclose(made(W), 2 * W)
    loss.__defaults__ = (3,)
    np.testing.assert_allclose(made(W), 3 * W ** 2)
    _check(made, loss, (W,))
