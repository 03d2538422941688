"""The public API: call forms, wrt, signatures, results, caching, source."""
import inspect
import math

import numpy as np
import pytest

import sct
from programs import control_flow as cf
from programs import lecture


def test_grad_call_forms():
    x1, x2 = 0.7, -1.3
    expected = (x2 + math.cos(x1), x1)
    assert sct.grad(lecture.f, wrt=(0, 1))(x1, x2) == pytest.approx(expected)

    @sct.grad
    def g(x):
        return x * x
    assert g(3.0) == pytest.approx(6.0)

    @sct.grad(wrt=("x1", "x2"), mode="forward")
    def h(x1, x2):
        return x1 * x2 + math.sin(x1)
    assert h(x1, x2) == pytest.approx(expected)


def test_single_wrt_returns_one_gradient_tuple_returns_tuple():
    assert isinstance(sct.grad(lecture.f)(0.7, -1.3), float)
    assert isinstance(sct.grad(lecture.f, wrt=(0,))(0.7, -1.3), tuple)
    assert sct.grad(lecture.f, wrt="x2")(0.7, -1.3) == pytest.approx(0.7)
    assert sct.grad(lecture.f, wrt=-1)(0.7, -1.3) == pytest.approx(0.7)


def test_signature_is_kept():
    g = sct.grad(cf.defaults, wrt=(0, 1))
    assert inspect.signature(g) == inspect.signature(cf.defaults)
    assert g.__doc__ == cf.defaults.__doc__
    assert g(0.9) == pytest.approx(sct.grad(cf.defaults, wrt=(0, 1))(0.9, 2.0, 3))


def test_value_and_grad():
    value, grads = sct.value_and_grad(lecture.f, wrt=(0, 1))(0.7, -1.3)
    assert value == pytest.approx(lecture.f(0.7, -1.3))
    assert grads == pytest.approx((-1.3 + math.cos(0.7), 0.7))
    value, g = sct.value_and_grad(lecture.f, mode="forward")(0.7, -1.3)
    assert value == pytest.approx(lecture.f(0.7, -1.3)) and g == pytest.approx(-1.3 + math.cos(0.7))


def test_jvp_is_the_dual_program():
    h = sct.jvp(lecture.f, wrt=(0, 1))
    value, tangent = h(0.7, -1.3, 1.0, 0.0)
    assert value == pytest.approx(lecture.f(0.7, -1.3))
    assert tangent == pytest.approx(-1.3 + math.cos(0.7))
    _, tangent = h(0.7, -1.3, 0.3, 2.0)
    assert tangent == pytest.approx(0.3 * (-1.3 + math.cos(0.7)) + 2.0 * 0.7)


def test_repeated_calls_take_the_quick_path_and_agree_with_the_first():
    # the second call of a built program skips argument binding; every call form must agree
    x = np.array([0.5, -1.0, 2.0])
    g = sct.grad(cf.defaults, wrt=(0, 1))
    first = g(0.9, 2.0, 3)
    assert g(0.9, 2.0, 3) == first == g(0.9, y=2.0, n=3)
    v = sct.value_and_grad(lecture.f, wrt=(1, 0))
    assert v(0.7, -1.3) == v(0.7, -1.3) == v(x1=0.7, x2=-1.3)
    assert sct.grad(lecture.f, wrt=1)(0.7, -1.3) == pytest.approx(0.7)
    a = sct.grad(lambda_free_sum, wrt=(0, 1))
    for _ in range(2):
        gx, gs = a(x, 2.0)
        assert isinstance(gs, float) and gs == pytest.approx(x.sum())
        assert np.allclose(gx, 2.0)
        assert a(x, 2) == (pytest.approx(gx), pytest.approx(gs))  # an int takes the general path
    f = sct.grad(lecture.f, wrt=(0, 1), mode="forward")
    assert f(0.7, -1.3) == f(0.7, -1.3) == pytest.approx((-1.3 + math.cos(0.7), 0.7))
    for mode in ("forward", "reverse"):
        pair = sct.grad(_pair, mode=mode)
        for _ in range(2):
            with pytest.raises(sct.ArgumentError, match="not a scalar"):
                pair(0.5)
    h = sct.jvp(lecture.f, wrt=(0, 1))
    for _ in range(2):
        assert h(0.7, -1.3, 1.0, 0.0)[1] == pytest.approx(-1.3 + math.cos(0.7))
        assert h(0.7, -1.3, 1, 0)[1] == pytest.approx(-1.3 + math.cos(0.7))


def _pair(x):
    return np.array([x, 2.0 * x])


def lambda_free_sum(x, s):
    return np.sum(x * s)


def test_vjp_takes_an_explicit_seed():
    assert sct.vjp(lecture.f, wrt=(0, 1))(0.7, -1.3, 2.0) == pytest.approx((2 * (-1.3 + math.cos(0.7)), 1.4))
    x = np.array([1.0, 2.0, 3.0])
    assert np.allclose(sct.vjp(cf.__dict__["newton_sqrt"])(4.0, 1.0), 0.25)
    seed = np.array([1.0, 0.0, 2.0])
    assert np.allclose(sct.vjp(_double)(x, seed), 2 * seed)


def _double(x):
    return 2.0 * x


def test_gradients_have_the_argument_shape():
    g = sct.grad(_sum_squares)(np.ones((2, 3)))
    assert g.shape == (2, 3) and g.dtype == float
    assert np.allclose(g, 2.0)
    g0 = sct.grad(_ignores_x, wrt=(0, 1))(np.ones(3), 2.0)
    assert np.array_equal(g0[0], np.zeros(3)) and g0[1] == pytest.approx(1.0)
    gf = sct.grad(_sum_squares, mode="forward")(np.ones((2, 3)))
    assert gf.shape == (2, 3) and np.allclose(gf, 2.0)


def _sum_squares(x):
    return np.sum(x * x)


def _ignores_x(x, y):
    return y * 1.0


def test_list_arguments():
    g = sct.grad(_list_fn)([1.0, 2.0, 3.0])
    assert g == pytest.approx([2.0, 4.0, 6.0]) and isinstance(g, list)


def _list_fn(xs):
    s = 0.0
    for v in xs:
        s = s + v * v
    return s


def test_transform_is_cached_and_source_is_deterministic():
    g = sct.grad(lecture.f, wrt=(0, 1))
    g(0.7, -1.3)
    programs = sct.derived_programs(g)
    first = [p for p in programs if p.mode == "gradient" and p.wrt == ("x1", "x2")]
    assert first
    g(1.0, 2.0)
    sct.grad(lecture.f, wrt=(0, 1))(3.0, 4.0)
    again = [p for p in sct.derived_programs(g) if p.mode == "gradient" and p.wrt == ("x1", "x2")]
    assert [id(p) for p in again] == [id(p) for p in first]  # no new transformation
    assert sct.source(g) == sct.source(sct.grad(lecture.f, wrt=(0, 1)))


def test_source_with_example_arguments_and_before_any_call():
    text = sct.source(sct.grad(cf.loop_range), 0.5)
    assert "def loop_range_grad(x, n=5):" in text  # grad's program: the result's adjoint is 1.0
    text = sct.source(sct.vjp(cf.loop_range), 0.5)
    assert "def loop_range_vjp(x, n=5, *, loop_range_bar):" in text  # vjp's takes it
    generic = sct.source(sct.jvp(cf.pow_int))
    assert "def pow_int_jvp(x, *, dx):" in generic


def test_source_refuses_plain_functions():
    with pytest.raises(sct.ArgumentError):
        sct.source(lecture.f)


def test_traceback_shows_generated_line():
    g = sct.grad(_divides)
    with pytest.raises(ZeroDivisionError) as info:
        g(0.0)
    entries = [e for e in info.traceback if "sct _divides_grad" in str(e.path)]
    assert entries and "/" in str(entries[-1].statement)


def _divides(x):
    return 1.0 / x


def test_generated_code_runs_with_numpy_alone():
    text = sct.source(sct.grad(_sum_squares), np.ones(3))
    namespace = {"np": np}
    from sct import runtime
    namespace.update({name: getattr(runtime, name) for name in runtime.__all__})
    exec(text, namespace)
    value, bar = namespace["_sum_squares_grad"](np.arange(3.0))
    assert value == 5.0 and np.allclose(bar, [0.0, 2.0, 4.0])


def test_augmented_assignment_on_an_argument_leaves_the_callers_array_alone():
    from programs import corpus
    x = np.array([1.0, 2.0, 3.0])
    for mode in ("reverse", "forward"):
        g = sct.grad(corpus.scales_argument, mode=mode)(x)
        assert np.allclose(g, 8.0 * np.array([1.0, 2.0, 3.0]))
        assert x.tolist() == [1.0, 2.0, 3.0]


def test_redefining_a_called_function_rebuilds_the_program():
    from programs import redefined
    g = sct.grad(redefined.uses_helper)
    assert g(2.0) == pytest.approx(5.0)
    original = redefined.helper
    try:
        redefined.helper = redefined.cubic
        assert g(2.0) == pytest.approx(13.0)
        assert sct.value_and_grad(redefined.uses_helper)(2.0) == pytest.approx((10.0, 13.0))
    finally:
        redefined.helper = original
    assert g(2.0) == pytest.approx(5.0)


def test_rebinding_a_global_value_is_seen_in_both_modes():
    from programs import redefined
    for mode in ("reverse", "forward"):
        g = sct.grad(redefined.scaled, mode=mode)
        assert g(3.0) == pytest.approx(12.0)
        try:
            redefined.SCALE = 5.0
            assert g(3.0) == pytest.approx(30.0)
        finally:
            redefined.SCALE = 2.0
        assert g(3.0) == pytest.approx(12.0)


def test_a_global_defined_after_the_first_call_is_found():
    from programs import redefined
    g = sct.grad(redefined.uses_later)
    with pytest.raises(NameError):
        g(3.0)
    redefined.LATER = 4.0
    try:
        assert g(3.0) == pytest.approx(4.0)
    finally:
        del redefined.LATER


def test_generated_globals_are_a_plain_dict():
    # CPython caches global lookups only in exact dicts; a dict subclass cost the scalar loop about 25 %.
    from programs import redefined
    g = sct.grad(redefined.scaled)
    g(1.0)
    assert type(sct.derived_programs(g)[-1].fn.__globals__) is dict


def test_registering_a_rule_rebuilds_programs():
    from programs import redefined
    g = sct.grad(redefined.uses_helper)
    assert g(2.0) == pytest.approx(5.0)

    @sct.adjoint_rule(redefined.helper)
    def helper_adjoint(g_, ans, x):
        return g_ * 10.0

    @sct.tangent_rule(redefined.helper)
    def helper_tangent(dx, ans, x):
        return dx * 10.0
    try:
        assert g(2.0) == pytest.approx(11.0)  # the (deliberately odd) rule is used
        assert sct.grad(redefined.uses_helper, mode="forward")(2.0) == pytest.approx(11.0)
    finally:
        from sct.rules import REGISTRY
        del REGISTRY.rules[REGISTRY.key(redefined.helper)]
        REGISTRY.version += 1
    assert g(2.0) == pytest.approx(5.0)


def test_source_takes_the_calls_own_arguments():
    h = sct.jvp(lecture.f, wrt=(0, 1))
    assert sct.source(h, 0.7, -1.3, 1.0, 0.0) == sct.source(h, 0.7, -1.3)
    v = sct.vjp(lecture.f, wrt=(0, 1))
    assert sct.source(v, 0.7, -1.3, 1.0) == sct.source(v, 0.7, -1.3)


def _sum_of_squares_f32(x):
    return np.sum(x ** 2)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_a_float32_argument_gets_a_float32_gradient_in_both_modes(mode):
    """The gradient has its argument's shape and type (forward mode gave float64)."""
    x = np.array([0.5, 1.5], dtype=np.float32)
    got = sct.grad(_sum_of_squares_f32, mode=mode)(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [1.0, 3.0])
