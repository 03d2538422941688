"""Derivatives of derivatives: sct differentiates the code it generated (forward over reverse)."""
import dataclasses
import math
from typing import NamedTuple

import numpy as np
import pytest

import sct
from sct.testing import numerical_grad
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


# ---------------------------------------------------------------- gradients that are identically zero

def _floor_sum(x):
    return np.sum(np.floor(x))


def _sign_sum(x):
    return np.sum(np.sign(x) * 3.0)


def _heaviside_sum(x):
    return np.sum(np.heaviside(x, 0.5))


def _where_sum(x):
    return np.sum(np.where(x > 0, 1.0, 2.0))


def _constant(x):
    return 2.5


def _unused(x, y):
    return np.sum(x ** 2)


def _fd_jacobian(fn, x, eps=1e-5):
    """d fn(x) / dx by central differences, in the layout fn(x).shape + x.shape."""
    columns = [(np.asarray(fn(x + eps * e.reshape(x.shape))) - np.asarray(fn(x - eps * e.reshape(x.shape))))
               / (2 * eps) for e in np.eye(x.size)]
    return np.moveaxis(np.array(columns), 0, -1).reshape(np.shape(fn(x)) + x.shape)


@pytest.mark.parametrize("fn", [_floor_sum, _sign_sum, _heaviside_sum, _where_sum, _constant])
@pytest.mark.parametrize("shape", [(2,), (3, 4)])
def test_second_derivatives_of_a_gradient_that_is_zero_have_their_shape(fn, shape):
    """The gradient program returns 0.0 for an argument nothing reaches: the Jacobian of the gradient (the
    Hessian) was shaped after that number, (3, 4) instead of (3, 4, 3, 4) (red-team 5)."""
    x = np.random.default_rng(3).normal(size=shape) + 0.25  # (away from the kinks)
    zero = np.zeros(shape + shape)
    for H in (sct.hessian(fn)(x), sct.jacobian(sct.grad(fn))(x), sct.jacobian(sct.grad(fn), mode="forward")(x),
              sct.jacobian(sct.grad(fn), mode="reverse")(x)):
        assert H.shape == shape + shape
        np.testing.assert_array_equal(H, zero)
    value, tangent = sct.jvp(sct.grad(fn))(x, np.ones(shape))
    assert np.shape(value) == shape and np.shape(tangent) == shape
    np.testing.assert_array_equal(sct.hvp(fn)(x, np.ones(shape)), np.zeros(shape))


def test_hessian_blocks_of_an_argument_the_function_does_not_read():
    x, y = np.random.default_rng(4).normal(size=(3, 4)), np.array([0.5, -1.0])
    (H_xx, H_xy), (H_yx, H_yy) = sct.hessian(_unused, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(H_xx, 2.0 * np.eye(12).reshape(3, 4, 3, 4))
    assert H_xy.shape == (3, 4, 2) and H_yx.shape == (2, 3, 4) and H_yy.shape == (2, 2)
    for block in (H_xy, H_yx, H_yy):
        np.testing.assert_array_equal(block, 0.0)
    assert sct.hessian(_unused, wrt=1)(x, y).shape == (2, 2)


_floor_sum_grad = sct.grad(_floor_sum)


def _zero_then_squared(x):
    return np.sum(_floor_sum_grad(x) ** 2) + np.sum(x ** 3)


def test_gradient_of_code_calling_a_zero_gradient():
    """The gradient sct differentiates again is widened to its argument's shape (``expand``), in reverse
    mode too."""
    x = np.array([[0.5, -1.5], [2.0, 0.25]])
    np.testing.assert_allclose(sct.grad(_zero_then_squared)(x), 3 * x ** 2)
    np.testing.assert_allclose(sct.grad(_zero_then_squared, mode="forward")(x), 3 * x ** 2)


# ---------------------------------------------------------------- joins: their adjoints' axes are not differentiable

def _hstack(x):
    return np.sum(np.hstack([x, 2.0 * x]) ** 3)


def _hstack_rows(x):
    return np.sum(np.hstack([x[0], x[1] ** 2]) ** 3)


def _vstack(x):
    return np.sum(np.vstack([x, x[:1] ** 2]) ** 3)


def _column_stack(x):
    return np.sum(np.column_stack([x, x ** 2]) ** 3)


def _dstack(x):
    return np.sum(np.dstack([x, x ** 2]) ** 3)


def _concatenate(x):
    return np.sum(np.concatenate([x, x ** 2], axis=1) ** 3)


def _concatenate_flat(x):
    return np.sum(np.concatenate([x, x ** 2], axis=None) ** 3)


def _stack(x):
    return np.sum(np.stack([x, x ** 2], axis=-1) ** 3)


def _append(x):
    return np.sum(np.append(x, x ** 2) ** 3)


def _append_axis(x):
    return np.sum(np.append(x, x ** 2, axis=1) ** 3)


def _insert(x):
    return np.sum(np.insert(x, 1, x[0] ** 2, axis=0) ** 3)


def _delete(x):
    return np.sum(np.delete(x, 1, axis=1) ** 3)


def _split(x):
    a, b = np.split(x, 2, axis=1)
    return np.sum(a * b ** 2)


def _hsplit(x):
    a, b = np.hsplit(x, 2)
    return np.sum(a * b ** 2)


def _vsplit(x):
    a, b = np.vsplit(x, 2)
    return np.sum(a ** 2 * b)


def _array_split(x):
    a, b, c = np.array_split(x, 3, axis=1)
    return np.sum(a * b ** 2 * c)


JOINS = [_hstack, _hstack_rows, _vstack, _column_stack, _dstack, _concatenate, _concatenate_flat, _stack,
         _append, _append_axis, _insert, _delete, _split, _hsplit, _vsplit, _array_split]


@pytest.mark.parametrize("fn", JOINS)
def test_hessians_through_joins_and_splits(fn):
    """hstack's adjoint reads its axis from the arrays' number of axes (``_hstack_axis``): undeclared, the
    Hessian took the axis for a value depending on x and refused np.split's (red-team 5)."""
    shape = (4, 3) if fn in (_array_split,) else (2, 4)
    x = np.random.default_rng(6).normal(size=shape)
    H = sct.hessian(fn)(x)
    np.testing.assert_allclose(H, _fd_jacobian(sct.grad(fn), x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(H, np.swapaxes(H.reshape(x.size, x.size), 0, 1).reshape(H.shape), atol=1e-10)


def test_hessian_through_hstack_of_vectors():
    """hstack joins vectors along their only axis (axis 0), matrices along axis 1."""
    x = np.array([0.5, -1.0, 2.0])
    H = sct.hessian(_hstack)(x)
    np.testing.assert_allclose(H, np.diag(6 * x + 6 * 8 * x))


# ---------------------------------------------------------------- sinc: its derivatives at 0

def _sinc_weighted(x):
    return np.sum(np.sinc(x) * np.array([1.0, 2.0]))


def _sinc(x):
    return np.sinc(x)


def _sinc_second(x):
    """sinc''(x) in closed form (x != 0)."""
    px = np.pi * x
    return ((2.0 - px ** 2) * np.sin(px) - 2.0 * px * np.cos(px)) / (np.pi * x ** 3)


def test_second_derivative_of_sinc_at_zero():
    """sinc's slope is 0 at 0 by a special case; differentiated from its source, the special case gave a
    second derivative of 0 there (it is -π²/3: sinc = 1 - (πx)²/6 + ...)."""
    H = sct.hessian(_sinc_weighted)(np.array([0.0, 0.5]))
    np.testing.assert_allclose(H, np.diag([-np.pi ** 2 / 3, 2.0 * _sinc_second(0.5)]), rtol=1e-13, atol=1e-15)
    assert sct.grad(sct.grad(_sinc), mode="forward")(0.0) == pytest.approx(-np.pi ** 2 / 3, rel=1e-14)


@pytest.mark.parametrize("x", [0.0, 1e-12, -1e-7, 1e-4, 0.03, -0.0499, 0.05, 0.0501, 0.3, -1.7, 2.0, 3.25])
def test_derivatives_of_sinc_near_and_away_from_zero(x):
    """The first and second derivatives against their closed forms (their Taylor series at and near 0, where
    the closed forms divide 0 by 0 or lose digits) and central differences."""
    t = (np.pi * x) ** 2  # (near 0: two terms of the series are exact to rounding)
    slope = np.pi ** 2 * x * (-1 / 3 + t / 30) if abs(x) < 1e-3 else (np.cos(np.pi * x) - np.sinc(x)) / x
    second = np.pi ** 2 * (-1 / 3 + t / 10) if abs(x) < 1e-3 else _sinc_second(x)
    assert sct.grad(_sinc)(x) == pytest.approx(slope, rel=1e-12, abs=1e-15)
    assert sct.grad(_sinc, mode="forward")(x) == pytest.approx(slope, rel=1e-12, abs=1e-15)
    assert sct.hessian(_sinc)(x) == pytest.approx(second, rel=1e-10)
    xs = np.array([x, 0.5 + x])
    np.testing.assert_allclose(np.diag(sct.hessian(lambda_free_sinc_sum)(xs)), [second, _sinc_second(0.5 + x)],
                               rtol=1e-10)
    eps = 1e-4
    assert sct.grad(_sinc)(x) == pytest.approx((np.sinc(x + eps) - np.sinc(x - eps)) / (2 * eps), abs=1e-7)
    g = sct.grad(_sinc)
    assert sct.hessian(_sinc)(x) == pytest.approx((g(x + eps) - g(x - eps)) / (2 * eps), abs=1e-6)


def lambda_free_sinc_sum(x):
    return np.sum(np.sinc(x))


_sin_lambda = lambda x: np.sum(np.sin(x) * 2.0)  # noqa: E731


def test_hessian_of_a_lambda():
    """The gradient function sct differentiates again is named after the primal: '<lambda>_grad_call' was a
    SyntaxError."""
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(sct.hessian(_sin_lambda)(x), np.diag(-2.0 * np.sin(x)), rtol=1e-14)
    np.testing.assert_allclose(sct.jacobian(sct.grad(_sin_lambda))(x), np.diag(-2.0 * np.sin(x)), rtol=1e-14)


def _sin_cubed(x):
    return math.sin(x) * x ** 3


def test_a_third_derivative_by_differentiating_a_second_derivative():
    """grad(grad(grad(f))) differentiates a derivative sct made, which has no module globals of its own (an
    AttributeError before): forward over forward over reverse, and reverse over reverse over reverse."""
    x = 0.7
    exact = -math.cos(x) * x ** 3 - 9 * math.sin(x) * x ** 2 + 18 * math.cos(x) * x + 6 * math.sin(x)
    third = sct.grad(sct.grad(sct.grad(_sin_cubed), mode="forward"), mode="forward")
    assert third(x) == pytest.approx(exact, rel=1e-12)
    assert sct.grad(sct.grad(sct.grad(_sin_cubed)))(x) == pytest.approx(exact, rel=1e-12)


def _cubes(q):
    return np.sum(q ** 3)


def _broadcast_and_reduce(m):
    row = np.array([0.5, -1.0, 2.0])
    return np.sum(np.tanh(m * row) ** 2) + np.sum(np.mean(m, axis=0) ** 2) + np.sum(np.max(m, axis=1))


def _indexed(v):
    return v[0] * v[2] + np.sum(v[1:] ** 2) + np.sum(v[[0, 0, 2]] * v[1])


_cubes_grad, _broadcast_and_reduce_grad, _indexed_grad = (sct.grad(_cubes), sct.grad(_broadcast_and_reduce),
                                                         sct.grad(_indexed))


def _cubes_penalty(q):
    return np.sum(_cubes_grad(q) * np.array([0.3, -0.2, 0.7]))


def _broadcast_and_reduce_penalty(m):
    return np.sum(_broadcast_and_reduce_grad(m) * (np.arange(6.0).reshape(2, 3) / 5))


def _indexed_penalty(v):
    return np.sum(_indexed_grad(v) * np.array([1.0, -0.5, 0.25, 2.0]))


@pytest.mark.parametrize("h, x", [
    (_cubes_penalty, np.array([0.5, 1.0, -0.3])),
    (_broadcast_and_reduce_penalty, np.array([[0.2, -0.4, 0.6], [1.1, 0.3, -0.8]])),
    (_indexed_penalty, np.array([0.5, -0.3, 0.8, 1.2])),
], ids=lambda v: getattr(v, "__name__", ""))
def test_reverse_mode_through_a_gradient_sct_made(h, x):
    """A function calling a gradient (a leapfrog step's dU(q), a gradient penalty) differentiated in reverse
    mode: the adjoints of sct's own helpers (unbroadcast, unreduce, take, add_at, zero_at, shape_only) are
    rules too (refused before: no adjoint rule for shape_only)."""
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(sct.grad(h, mode=mode)(x), numerical_grad(h, (x,), 0)[0], rtol=1e-6, atol=1e-8)


def _mean_of_per_sample_losses(w, X):
    return np.mean([np.sum(x * w) ** 2 for x in X])


def _appended_losses(w, X):
    losses = []
    for x in X:
        losses.append(np.sum(x * w) ** 2)
    return np.mean(losses)


@pytest.mark.parametrize("fn", [_mean_of_per_sample_losses, _appended_losses])
def test_hessian_through_a_list_of_losses_of_another_length(fn):
    """The adjoint of a list of losses is an array; its batched tangent has the directions first, and the
    last loss's is its last column (``last`` took the last direction: a broadcast ValueError where the list
    and the parameters differ in length)."""
    w, X = np.array([0.3, -0.2, 0.5]), np.arange(12.0).reshape(4, 3) / 10
    np.testing.assert_allclose(sct.hessian(fn)(w, X), 2 * X.T @ X / 4, rtol=1e-12)


def _trajectory_as_an_array(x):
    traj = []
    for _ in range(3):
        x = np.sin(x)
        traj.append(x)
    traj = np.array(traj)
    return np.sum(traj ** 2)


def test_hessian_of_a_trajectory_list_turned_into_an_array_under_its_name():
    """The gradient program binds ``traj = t3`` (the array) and later pops the list back (``traj =
    tape.pop(); traj.pop()``): the fence, reading that program, refused the write into a name that had shared
    memory, though it had been bound anew in between."""
    x, v = np.array([0.3, 0.5]), np.array([1.0, -0.5])
    g, eps = sct.grad(_trajectory_as_an_array), 1e-5
    expected = np.array([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(2)])
    np.testing.assert_allclose(sct.hessian(_trajectory_as_an_array)(x), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sct.hvp(_trajectory_as_an_array)(x, v), expected @ v, rtol=1e-6, atol=1e-8)
