"""Derivatives of derivatives: sct differentiates the code it generated (forward over reverse)."""
import dataclasses
import math
from typing import NamedTuple

import numpy as np
import pytest

import sct
from programs import second_order as so


def _fd_hessian(grad_fn, x, eps=1e-6):
    return np.array([(grad_fn(x + e * eps) - grad_fn(x - e * eps)) / (2 * eps) for e in np.eye(len(x))])


def test_hessian_of_a_scalar_loop():
    x = 0.7
    g = sct.grad(so.f)
    expected = (g(x + 1e-6) - g(x - 1e-6)) / 2e-6
    assert sct.hessian(so.f)(x) == pytest.approx(expected, rel=1e-6)


def test_mixed_second_derivative_forward_over_reverse_and_forward_over_forward():
    exact = 2 * 0.3 + math.exp(0.15) * (1 + 0.15)
    assert sct.grad(sct.grad(so.g, wrt=0), wrt=1, mode="forward")(0.3, 0.5) == pytest.approx(exact, rel=1e-12)
    assert sct.grad(sct.grad(so.g, wrt=0, mode="forward"), wrt=1, mode="forward")(0.3, 0.5) == \
        pytest.approx(exact, rel=1e-12)


def test_hessian_of_array_code():
    x = np.array([0.1, 0.5, 0.9])
    H = sct.hessian(so.h)(x)
    assert H.shape == (3, 3)
    assert np.allclose(H, H.T)
    assert np.allclose(H, _fd_hessian(sct.grad(so.h), x), atol=1e-6)


def test_reverse_over_reverse_runs_forward_over_reverse():
    """grad(grad(f)) would be the adjoint of an adjoint program (its tape's pops): sct runs the outer
    derivative in forward mode instead, which gives the same number in one sweep."""
    x = 0.7
    expected = sct.hessian(so.f)(x)
    assert sct.grad(sct.grad(so.f))(x) == pytest.approx(expected, rel=1e-12)
    value, second = sct.value_and_grad(sct.grad(so.f))(x)
    assert value == pytest.approx(sct.grad(so.f)(x), rel=1e-12) and second == pytest.approx(expected, rel=1e-12)
    g = sct.grad(so.g, wrt=0)
    assert sct.grad(g, wrt=1)(0.3, 0.5) == pytest.approx(sct.grad(g, wrt=1, mode="forward")(0.3, 0.5), rel=1e-12)


@pytest.mark.parametrize("name, scale", [("h_sort", 6.0), ("h_take", 6.0), ("h_repeat", 12.0), ("h_split", 12.0)])
def test_hessians_through_gathering_rules(name, scale):
    from programs import redteam as rt
    v = np.array([0.3, 0.9, 0.6])
    assert np.allclose(sct.hessian(getattr(rt, name))(v), scale * np.diag(v))


def test_hessian_through_the_memory_stand_ins():
    # the adjoint program replaces arrays it reads only for their shape by shape_only(...) stand-ins
    # (for arrays of 64 KiB and more); the tangent program of that program differentiates through them
    from programs import numpy_programs as npp
    rng = np.random.default_rng(5)
    b, W, X = rng.standard_normal((2, 3)), rng.standard_normal((2, 3, 5)), rng.standard_normal((3000, 3))
    assert "shape_only(" in sct.source(sct.grad(npp.centered_projection), b, W, X)
    H = sct.hessian(npp.centered_projection, wrt=0)(b, W, X)
    g = sct.grad(npp.centered_projection, wrt=0)
    eps = 1e-6
    for i in np.ndindex(b.shape):
        e = np.zeros_like(b)
        e[i] = eps
        column = (g(b + e, W, X) - g(b - e, W, X)) / (2 * eps)
        assert np.allclose(H[(...,) + i], column, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", [so.sum_of_generator, so.comprehension_then_reads, so.scatter_by_computed_index])
def test_hessians_of_programs_whose_gradient_pops_ranges_and_lists(fn):
    """The gradient program keeps loop ranges and indices on a tape of their own (``control``), so
    differentiating it again sees them constant; a comprehension builds its list under the user's name."""
    x = np.array([0.5, -1.0, 2.0, 0.3])
    H = sct.hessian(fn)(x)
    assert np.allclose(H, _fd_hessian(sct.grad(fn), x), atol=1e-6)
    assert np.allclose(H, H.T, atol=1e-12)


def test_hessian_through_a_recomputed_temporary():
    """``dt * sin(x)`` is recomputed after the tape restores x: the second derivative still follows it."""
    args = (0.7, 1.3)
    H = sct.hessian(so.loop_with_recomputed_step, wrt=(0, 1))(*args)
    g = sct.grad(so.loop_with_recomputed_step, wrt=(0, 1))
    eps = 1e-6
    for i in range(2):
        for j in range(2):
            plus, minus = list(args), list(args)
            plus[j] += eps
            minus[j] -= eps
            expected = (g(*plus)[i] - g(*minus)[i]) / (2 * eps)
            assert H[i][j] == pytest.approx(expected, rel=1e-6, abs=1e-8)


def _list_of_an_array(x):
    v = list(x)
    return v[0] * v[3] + v[1] * v[2] + v[0] ** 3


def test_hessian_through_a_list_of_an_arrays_elements():
    """``list(x)`` is a list (its adjoint added item by item), not an array: the tangent of its adjoint once
    concatenated two lists instead of adding them, and the Hessian lost every cross term."""
    x = np.array([0.3, 0.6, 0.9, 1.2])
    expected = np.array([[6 * x[0], 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0]])
    np.testing.assert_allclose(sct.hessian(_list_of_an_array)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(sct.hvp(_list_of_an_array)(x, np.eye(4)[3]), expected[3], rtol=1e-12)
    np.testing.assert_allclose(sct.grad(_list_of_an_array)(x), [x[3] + 3 * x[0] ** 2, x[2], x[1], x[0]])


def _item_never_read(x):
    t = (x[0], x[1])
    return t[0] * x[1]


def _list_of_items_read_once(x):
    v = [t for t in x]
    return v[0] * x[1]


def _list_of_slices_one_read(x):
    v = [x[:2], x[2:]]
    return np.sum(v[0] * x[3])


@pytest.mark.parametrize("fn", [_item_never_read, _list_of_items_read_once, _list_of_slices_one_read])
def test_batched_second_derivatives_where_a_container_item_gets_no_adjoint(fn):
    """An item nothing reads has a zero adjoint (0.0), whose batched tangent has no directions: the batched
    runtime once asked it for its batch size and raised (hessian, jacobian of grad; hvp was right)."""
    x = np.array([0.3, -0.7, 1.1, 0.5])
    g, eps = sct.grad(fn), 1e-5
    expected = np.array([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(4)])
    np.testing.assert_allclose(sct.hessian(fn)(x), expected, atol=1e-7)
    np.testing.assert_allclose(sct.jacobian(sct.grad(fn))(x), expected, atol=1e-7)


@dataclasses.dataclass
class _Params:
    w: np.ndarray
    b: float


class _Pair(NamedTuple):
    w: np.ndarray
    b: float


def _record_loss(p):
    return np.sum(p.w * p.w) * p.b


@pytest.mark.parametrize("record", [_Params, _Pair])
def test_jvp_of_a_gradient_keeps_the_arguments_structure(record):
    """jvp(grad(f)) returns the gradient and its tangent as grad(f) returns the gradient (a dataclass, a
    NamedTuple), not sct's inner form of them (a dict by field name, a list)."""
    p, v = record(np.array([1.0, 2.0]), 0.5), record(np.array([0.1, 0.0]), 1.0)
    value, tangent = sct.jvp(sct.grad(_record_loss))(p, v)
    assert type(value) is record and type(tangent) is record
    np.testing.assert_allclose(value.w, sct.grad(_record_loss)(p).w)
    hv = sct.hvp(_record_loss)(p, v)
    np.testing.assert_allclose(tangent.w, hv.w)
    assert tangent.b == pytest.approx(hv.b)
