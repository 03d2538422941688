"""Every control-flow form, in both modes, against finite differences and the dot-product identity."""
import math

import numpy as np
import pytest

import sct
from sct.testing import check_dot_product, check_grad, numerical_grad

from programs import control_flow as cf

CASES = [
    (cf.branches, (0.3, 0.7), (0, 1)),
    (cf.branches, (-2.0, 0.7), (0, 1)),
    (cf.branches, (-0.5, 0.7), (0, 1)),
    (cf.loop_range, (0.7,), 0),
    (cf.loop_break, (0.5,), 0),
    (cf.loop_continue, (0.5,), 0),
    (cf.while_loop, (0.5,), 0),
    (cf.early_return, (2.0,), 0),
    (cf.early_return, (0.5,), 0),
    (cf.return_in_loop, (0.5,), 0),
    (cf.return_in_loop, (0.01,), 0),
    (cf.newton_sqrt, (2.0,), 0),
    (cf.swap, (0.5, 1.5), (0, 1)),
    (cf.lists, (0.7,), 0),
    (cf.ternary, (0.7,), 0),
    (cf.ternary, (-0.2,), 0),
    (cf.calls, (0.3, 0.8), (0, 1)),
    (cf.rec, (0.9,), 0),
    (cf.mathy, (1.3, 0.4), (0, 1)),
    (cf.comp, (0.5,), 0),
    (cf.chained, (1.0,), 0),
    (cf.chained, (3.0,), 0),
    (cf.nested_loops, (0.5,), 0),
    (cf.augmented, (0.5,), 0),
    (cf.multiple_returns, (2.0, 1.0), (0, 1)),
    (cf.multiple_returns, (-2.0, 1.0), (0, 1)),
    (cf.multiple_returns, (0.5, 1.0), (0, 1)),
    (cf.while_data, (1.1,), 0),
    (cf.loop_over_tuple, (0.3,), 0),
    (cf.enumerate_zip, (0.3, 1.7), (0, 1)),
    (cf.shadowing, (0.4,), 0),
    (cf.not_and_or, (0.5,), 0),
    (cf.not_and_or, (2.0,), 0),
    (cf.not_and_or, (4.0,), 0),
    (cf.conditional_expr, (0.5, 0.2), (0, 1)),
    (cf.conditional_expr, (-0.5, 0.2), (0, 1)),
    (cf.closure_user, (0.7,), 0),
    (cf.keyword_calls, (1.1, 0.6), (0, 1)),
    (cf.mutual, (0.4,), 0),
    (cf.defaults, (0.9,), 0),
    (cf.defaults, (0.9, 1.5), (0, 1)),
    (cf.inactive_branch, (0.9,), 0),
    (cf.pow_int, (1.3,), 0),
    (cf.break_in_while, (0.7,), 0),
    (cf.continue_nested, (0.7,), 0),
    (cf.list_index_write, (0.7,), 0),
]


@pytest.mark.parametrize("fn, args, wrt", CASES, ids=lambda v: getattr(v, "__name__", None) or str(v))
def test_matches_finite_differences(fn, args, wrt):
    check_grad(fn, args, wrt)


@pytest.mark.parametrize("fn, args, wrt", CASES, ids=lambda v: getattr(v, "__name__", None) or str(v))
def test_forward_and_reverse_agree(fn, args, wrt):
    check_dot_product(fn, args, wrt)


def test_newton_iteration_derivative():
    for a in (0.5, 2.0, 9.0):
        assert sct.grad(cf.newton_sqrt)(a) == pytest.approx(1 / (2 * math.sqrt(a)), rel=1e-12)
        assert sct.grad(cf.newton_sqrt, mode="forward")(a) == pytest.approx(1 / (2 * math.sqrt(a)), rel=1e-12)


def test_constant_output_has_zero_gradient():
    assert sct.grad(cf.constant_output)(2.0) == 0.0
    assert sct.grad(cf.constant_output, mode="forward")(2.0) == 0.0


def test_int_argument_is_differentiated_as_float():
    assert sct.grad(cf.int_arg)(3) == pytest.approx(6.0)
    assert isinstance(sct.grad(cf.int_arg)(3), float)
    assert sct.grad(cf.int_arg, mode="forward")(3) == pytest.approx(6.0)


def test_keywords_and_defaults_pass_through():
    g = sct.grad(cf.defaults, wrt=("x", "y"))
    gx, gy = g(0.9, y=1.5, n=2)
    assert gx == pytest.approx(1.5 ** 2)
    assert gy == pytest.approx(0.9 * 2 * 1.5)


def test_recursion():
    # fact(x, 4) = x**4
    assert sct.grad(cf.rec)(0.9) == pytest.approx(4 * 0.9 ** 3)
    assert sct.grad(cf.rec, mode="forward")(0.9) == pytest.approx(4 * 0.9 ** 3)


from programs import corpus as co

CORPUS = [
    (co.uses_tuple, (0.5, 1.5), (0, 1)), (co.kwonly, (1.3,), 0), (co.posonly, (1.3, 0.7), (0, 1)),
    (co.listaug, (0.7,), 0), (co.gen_sum, (0.7,), 0), (co.boolmul, (0.7,), 0), (co.boolmul, (-0.7,), 0),
    (co.floor_mod, (2.3,), 0), (co.inf_const, (1.2,), 0), (co.fstr, (1.2,), 0), (co.loop_list_index, (1.2,), 0),
    (co.np_scalar_mix, (1.2,), 0), (co.reversed_loop, (0.3,), 0), (co.minmax_list, (0.3, 0.9), (0, 1)),
    (co.while_else_free, (0.3,), 0), (co.nested_helpers, (0.8,), 0),
]


@pytest.mark.parametrize("fn, args, wrt", CORPUS, ids=lambda v: getattr(v, "__name__", None) or str(v))
def test_corpus(fn, args, wrt):
    check_grad(fn, args, wrt)
    check_dot_product(fn, args, wrt)


from programs import redteam as rt

REDTEAM = ["w1a", "w1b", "w1c", "w1d", "w2a", "w2b", "w2c", "w2d", "w3", "w4", "w4b", "i3", "i4"]


@pytest.mark.parametrize("name", REDTEAM)
def test_found_by_red_team(name):
    fn = getattr(rt, name)
    x = 0.7 if name == "w1d" else 1.4
    check_grad(fn, (x,), 0)
    check_dot_product(fn, (x,), 0)


@pytest.mark.parametrize("name", ["w5_full", "w5_linspace", "w5_ldexp"])
def test_constructors_that_carry_a_derivative(name):
    fn = getattr(rt, name)
    check_grad(fn, (0.7,), 0)
    check_dot_product(fn, (0.7,), 0)


def test_list_kinds_and_repetition_of_lists():
    check_grad(rt.i2, (0.7, 1.3), (0, 1))
    check_dot_product(rt.i2, (0.7, 1.3), (0, 1))
    check_grad(rt.i5, (0.7,), 0)


def test_power_at_zero():
    gx, gy = sct.grad(rt.w11_pow, wrt=(0, 1))(0.0, 2.0)
    assert gx == 0.0 and gy == 0.0
    gx, gy = sct.grad(rt.w11_pow, wrt=(0, 1), mode="forward")(0.0, 2.0)
    assert gx == 0.0 and gy == 0.0
    import numpy as np
    for mode in ("reverse", "forward"):
        assert np.allclose(sct.grad(rt.w11_zero, mode=mode)(np.array([0.0, 1.0])), [1.0, 1.0])
    check_grad(rt.i7, (0.5,), 0)


@pytest.mark.parametrize("name", ["w7_view", "w7_list", "w8", "w6"])
def test_writes_sct_cannot_follow_are_refused(name):
    with pytest.raises(sct.AliasingError):
        sct.grad(getattr(rt, name))(0.7)


@pytest.mark.parametrize("name", ["i1", "i1c"])
def test_lists_of_lists(name):
    check_grad(getattr(rt, name), (0.7,), 0)
    check_dot_product(getattr(rt, name), (0.7,), 0)


def test_an_argument_copied_first_may_be_written():
    import numpy as np
    x = np.array([0.5, -1.0, 2.0])
    check_grad(rt.copy_then_write, (x,), 0)
    assert x.tolist() == [0.5, -1.0, 2.0]
    g = sct.grad(rt.list_then_append)([0.5, 1.5])
    assert g == pytest.approx([2 * 0.5 + 2 * 9 * 0.5, 3.0])


def test_second_red_team_pass():
    import numpy as np
    check_grad(rt.lv1, (0.7,), 0)
    check_grad(rt.dup_set, (np.array([0.3, 0.7]),), 0)
    check_grad(rt.list_slot_iadd, (0.7,), 0)
    check_grad(rt.enum_zip, (np.array([0.3, 0.7]), np.array([1.5, -2.0])), (0, 1))
    check_grad(rt.unread_write, (0.7,), 0)
    check_dot_product(rt.zero_d, (np.array(0.7),), 0)
    with pytest.raises(sct.AliasingError):
        sct.grad(rt.list_rep_iadd)(np.array([0.3, -0.4, 1.2]))
    with pytest.raises(sct.NoRuleError):
        sct.grad(rt.z1)(0.7)


def test_a_local_name_for_a_function():
    import numpy as np
    check_grad(co.local_alias, (np.array([0.3, 0.8]),), 0)
    check_dot_product(co.local_alias, (np.array([0.3, 0.8]),), 0)


def test_locals_bound_to_global_arrays_stay_local():
    check_grad(co.writes_global_copy, (0.7,), 0)
    check_grad(co.reads_global_alias, (0.7,), 0)


def _loop_target_is_the_sequence(x):
    s = 0.0
    for x in x:
        s = s + x * x
    return s


def _enumerate_target_is_the_sequence(x):
    s = 0.0
    for i, x in enumerate(x):
        s = s + x * i
    return s


def _zip_targets_are_the_sequences(a, x):
    s = 0.0
    for a, x in zip(a, x):
        s = s + a * x
    return s


@pytest.mark.parametrize("options", [{}, {"mode": "forward"}, {"checkpoint": "sqrt"}])
def test_a_loop_whose_target_rebinds_the_sequence_it_runs_over(options):
    """``for x in x`` is Python: the sequence is read once.  sct held it in ``x``, which the loop rebinds
    (an IndexError inside the generated code, found by a red-team run)."""
    x, y = np.array([0.1, 0.2, 0.4]), np.array([0.3, -0.2, 0.5])
    for fn, args, wrt in [(_loop_target_is_the_sequence, (x,), 0), (_enumerate_target_is_the_sequence, (x,), 0),
                          (_zip_targets_are_the_sequences, (x, y), (0, 1))]:
        got = sct.grad(fn, wrt=wrt, **options)(*args)
        for g, e in zip(got if isinstance(wrt, tuple) else (got,), numerical_grad(fn, args, wrt)):
            np.testing.assert_allclose(g, e, rtol=1e-7)
