"""sct.vmap: a per-example function run on a batch equals the loop over examples, for each construct the
vectorised program supports; vmap(jacobian(f)) equals the per-example Jacobians and finite differences
(ADBench's bundle adjustment, with an observation on each side of its branch); unsupported code is
refused, located."""
import math
import os
import sys

import numpy as np
import pytest

import sct

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from bench.adbench_ba import make_ba_data, reprojection_error  # noqa: E402

RNG = np.random.default_rng(11)
B = 6


def looped(fn, args, in_axes):
    """What vmap must return: fn on each example, stacked."""
    n = next(len(a) for a, ax in zip(args, in_axes) if ax == 0)
    return np.stack([np.asarray(fn(*[a[i] if ax == 0 else a for a, ax in zip(args, in_axes)]), dtype=float)
                     for i in range(n)])


def check(fn, args, in_axes=None):
    in_axes = in_axes or (0,) * len(args)
    got = sct.vmap(fn, in_axes=in_axes)(*args)
    expected = looped(fn, args, in_axes)
    assert np.shape(got) == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


# ---------------------------------------------------------------- constructs, one small program each

def scale_vector(s, v):  # a number per example times a vector per example: (B,) against (B, 3)
    return s * v + np.sin(s) - v / (1.0 + s * s)


def matrix_times_number(M, s):
    return np.exp(M) * s - M ** 2


def reductions(M):
    return np.sum(M, axis=0) + np.mean(M, axis=1) * np.max(M) - np.prod(M[0:2, 0]) + np.min(M, axis=-1)


def spreads(M):
    return np.var(M, axis=0) + np.std(M, ddof=1) * np.var(M)


def transposes(M, v):
    return M.T * v + np.transpose(M, (1, 0)) * 2.0 - np.transpose(M)[1]


def keepdims(M):
    return M / np.sum(M * M, axis=1, keepdims=True)


def indexing(M, v):
    return M[1, 0:2] * v[2] + M[:, 1][0:2] - v[0:2]


def dots(a, b, M):
    return np.dot(a, b) * np.dot(M, a) + np.dot(a, M) + np.dot(M, M)[0]


def crosses(a, b):
    return np.cross(a, b) + np.cross(a, np.cross(b, a))


def comparison_select(x, y):
    return np.where(x > y, x * y, x - y)


def branch_return(x, v):
    s = np.sum(x * x)
    if s > 1.0:
        return v / np.sqrt(s)
    return v * s


def branch_assign(x, v):
    y = v * 2.0
    if np.sum(x) > 0.0:
        y = v * x
        z = np.sum(y)
    else:
        z = np.max(v)
    return y * z


def nested_branches(x):
    s = np.sum(x)
    if s > 0.0:
        if x[0] > 0.5:
            return x * 3.0
        return x - 1.0
    return x * x


def shared_branch(x, flag):
    if flag > 0.0:
        y = x * 2.0
    else:
        y = flag
    return y + x


def helper(x, s):
    return np.tanh(x) * s


def calls(x, s):
    return helper(x, s) + helper(x, 2.0)


def unit_or_zero(x):
    n = np.sqrt(np.sum(x * x))
    if n != 0.0:
        return x / n  # 0/0 for the examples with x == 0: never computed for them
    return x


def early_return(x):  # (a shared value returned from a loop: made batched)
    for i in range(3):
        if i == 1:
            return np.ones(2)
    return x


AXES = np.array([1.0, 2.0, 3.0])


def shared_constant_operand(s):  # a module's array times a number per example
    return s * AXES


CASES = [
    (scale_vector, lambda: (RNG.uniform(0.5, 2, B), RNG.normal(size=(B, 3))), None),
    (matrix_times_number, lambda: (RNG.normal(size=(B, 2, 3)), RNG.normal(size=B)), None),
    (reductions, lambda: (RNG.normal(size=(B, 3, 3)),), None),
    (keepdims, lambda: (RNG.normal(size=(B, 3, 2)),), None),
    (spreads, lambda: (RNG.normal(size=(B, 3, 2)),), None),
    (transposes, lambda: (RNG.normal(size=(B, 3, 2)), RNG.normal(size=(B, 3))), None),
    (transposes, lambda: (RNG.normal(size=(B, 3, 2)), RNG.normal(size=3)), (0, None)),
    (indexing, lambda: (RNG.normal(size=(B, 3, 3)), RNG.normal(size=(B, 3))), None),
    (indexing, lambda: (RNG.normal(size=(3, 3)), RNG.normal(size=(B, 3))), (None, 0)),
    (dots, lambda: (RNG.normal(size=(B, 3)), RNG.normal(size=(B, 3)), RNG.normal(size=(B, 3, 3))), None),
    (dots, lambda: (RNG.normal(size=(B, 3)), RNG.normal(size=3), RNG.normal(size=(3, 3))), (0, None, None)),
    (dots, lambda: (RNG.normal(size=3), RNG.normal(size=(B, 3)), RNG.normal(size=(B, 3, 3))), (None, 0, 0)),
    (crosses, lambda: (RNG.normal(size=(B, 3)), RNG.normal(size=(B, 3))), None),
    (crosses, lambda: (RNG.normal(size=3), RNG.normal(size=(B, 3))), (None, 0)),
    (comparison_select, lambda: (RNG.normal(size=(B, 2)), RNG.normal(size=(B, 2))), None),
    (branch_return, lambda: (RNG.uniform(0, 0.9, (B, 2)), RNG.normal(size=(B, 2))), None),
    (branch_assign, lambda: (RNG.normal(size=(B, 2)), RNG.normal(size=(B, 2))), None),
    (nested_branches, lambda: (RNG.uniform(-1, 1, (B, 2)),), None),
    (shared_branch, lambda: (RNG.normal(size=(B, 2)), 1.0), (0, None)),
    (shared_branch, lambda: (RNG.normal(size=(B, 2)), -1.0), (0, None)),
    (calls, lambda: (RNG.normal(size=(B, 2)), RNG.normal(size=B)), None),
    (shared_constant_operand, lambda: (RNG.normal(size=3),), None),
    (early_return, lambda: (RNG.normal(size=(B, 2)),), None),  # (B == 3: a misaligned broadcast would run)
]


@pytest.mark.parametrize("fn, make, in_axes", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_vmap_equals_loop(fn, make, in_axes):
    check(fn, make(), in_axes)


def test_branch_sides_run_only_on_their_examples():
    x = RNG.normal(size=(B, 3))
    x[2] = 0.0
    with np.errstate(all="raise"):  # 0/0 would raise: the first side never sees example 2
        got = sct.vmap(unit_or_zero)(x)
    np.testing.assert_allclose(got, looped(unit_or_zero, (x,), (0,)))
    x[:] = 0.0  # every example on the second side
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(sct.vmap(unit_or_zero)(x), x)


def test_branch_derivative_has_no_nan_from_the_other_side():
    x = RNG.normal(size=(B, 3))
    x[1] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):  # (d sqrt at 0, before the branch: as per example)
        J = sct.vmap(sct.jacobian(unit_or_zero))(x)
    assert np.all(np.isfinite(J))
    np.testing.assert_array_equal(J[1], np.eye(3))
    for i in (0, 2):
        np.testing.assert_allclose(J[i], sct.jacobian(unit_or_zero)(x[i]), rtol=1e-12, atol=1e-14)


def test_source_shows_the_vmapped_program():
    text = sct.source(sct.vmap(branch_return), RNG.normal(size=(B, 2)), RNG.normal(size=(B, 2)))
    assert "def branch_return_vmap(x, v):" in text
    assert "branch_rows(" in text and "merge_rows(" in text


# ---------------------------------------------------------------- Jacobians: ADBench's bundle adjustment

def ba_batch(p=30):
    cams, X, w, obs, feats = make_ba_data(n=4, m=9, p=p, seed=3)
    C, P = cams[obs[:, 0]].copy(), X[obs[:, 1]].copy()
    C[5, 0:3] = 0.0  # rot = 0: rodrigues_rotate_point's other branch
    return C, P, w.copy(), feats


def central_differences(fn, args, k, h=1e-6):
    x = np.asarray(args[k], dtype=float)
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = h
        plus = list(args)
        minus = list(args)
        plus[k] = (x.ravel() + e).reshape(x.shape) if x.ndim else float(x) + h
        minus[k] = (x.ravel() - e).reshape(x.shape) if x.ndim else float(x) - h
        cols.append((fn(*plus) - fn(*minus)) / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(fn(*args)) + x.shape)


def test_ba_batched_jacobian_equals_per_observation_and_finite_differences():
    C, P, w, F = ba_batch()
    batched = sct.vmap(sct.jacobian(reprojection_error, wrt=(0, 1, 2)))(C, P, w, F)
    assert [b.shape for b in batched] == [(len(w), 2, 11), (len(w), 2, 3), (len(w), 2)]
    forward = sct.jacobian(reprojection_error, wrt=(0, 1, 2), mode="forward")
    reverse = sct.jacobian(reprojection_error, wrt=(0, 1, 2), mode="reverse")
    for i in range(len(w)):
        args = (C[i], P[i], w[i], F[i])
        for block, f_block, r_block, k in zip(batched, forward(*args), reverse(*args), range(3)):
            np.testing.assert_allclose(block[i], f_block, rtol=1e-12, atol=1e-10)
            np.testing.assert_allclose(block[i], r_block, rtol=1e-12, atol=1e-10)
            if i in (0, 5):  # (5: rot = 0)
                fd = central_differences(reprojection_error, args, k)
                np.testing.assert_allclose(block[i], fd, rtol=1e-6, atol=1e-4 * max(1.0, np.abs(fd).max()))


def test_ba_vmapped_values():
    C, P, w, F = ba_batch()
    np.testing.assert_allclose(sct.vmap(reprojection_error)(C, P, w, F),
                               looped(reprojection_error, (C, P, w, F), (0, 0, 0, 0)), rtol=1e-14)


def test_jacobian_with_respect_to_a_shared_argument():
    x, s = RNG.normal(size=(B, 3)), RNG.normal(size=3)
    J = sct.vmap(sct.jacobian(crosses, wrt=(0, 1)), in_axes=(None, 0))(s, x)
    assert J[0].shape == (B, 3, 3) and J[1].shape == (B, 3, 3)
    for i in range(B):
        Ja, Jb = sct.jacobian(crosses, wrt=(0, 1))(s, x[i])
        np.testing.assert_allclose(J[0][i], Ja, atol=1e-13)
        np.testing.assert_allclose(J[1][i], Jb, atol=1e-13)


def test_jacobian_chunks_examples():
    C, P, w, F = ba_batch(p=80)
    whole = sct.vmap(sct.jacobian(reprojection_error, wrt=(0, 1, 2)))(C, P, w, F)
    from sct import api
    saved, api.VMAP_ELEMENTS = api.VMAP_ELEMENTS, 15 * 7  # 7 examples per sweep
    try:
        chunked = sct.vmap(sct.jacobian(reprojection_error, wrt=(0, 1, 2)))(C, P, w, F)
    finally:
        api.VMAP_ELEMENTS = saved
    for a, b in zip(whole, chunked):  # (BLAS may sum the 3-vectors' products in another order per block)
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


# ---------------------------------------------------------------- refusals, located at the user's line

def loop_over_batched(x):
    s = 0.0
    for i in range(3):
        s = s + x[i]
    return s


def batched_index(x, i):
    return x[i]


def write_into(x):
    y = np.zeros(3)
    y[0] = x[0]
    return y


def sorts(x):
    return np.sort(x)


def one_side_returns(x):
    if np.sum(x) > 0.0:
        return x
    y = x * 2.0
    return y + 1.0


def one_side_returns_inside(x):
    if np.sum(x) > 0.0:
        if x[0] > 0.0:
            return x
        y = x
    else:
        y = x * 2.0
    return y


def chained(x):
    return np.sum(x) if 0.0 < x[0] < 1.0 else 0.0


def printing(x):
    print(x)
    return x


def one_side_only(x):
    if np.sum(x) > 0.0:
        z = x * 2.0
    return z


def matmul_vectors(x, y):
    return x @ y


def raises_on_one_side(x):
    if np.sum(x) > 0.0:
        y = np.sqrt(x * x)
    else:
        raise ValueError("negative")
    return y


def shape_of(x):
    return x * x.shape[0]


def math_on_batched(x):
    return math.sin(x)


def method_sum(x):
    return x.sum()


@pytest.mark.parametrize("fn, args, line", [
    (loop_over_batched, (RNG.normal(size=(B, 3)),), "for i in range(3):"),
    (batched_index, (RNG.normal(size=(B, 3)), np.arange(B) % 3), "return x[i]"),
    (write_into, (RNG.normal(size=(B, 3)),), "y[0] = x[0]"),
    (sorts, (RNG.normal(size=(B, 3)),), "return np.sort(x)"),
    (printing, (RNG.normal(size=(B, 3)),), "print(x)"),
    (method_sum, (RNG.normal(size=(B, 3)),), "return x.sum()"),
    (math_on_batched, (RNG.normal(size=B),), "return math.sin(x)"),
    (one_side_only, (RNG.normal(size=(B, 3)),), "if np.sum(x) > 0.0:"),
    (matmul_vectors, (RNG.normal(size=(B, 3)), RNG.normal(size=(B, 3))), "return x @ y"),
    (raises_on_one_side, (RNG.normal(size=(B, 3)),), 'raise ValueError("negative")'),
    (shape_of, (RNG.normal(size=(B, 3)),), "return x * x.shape[0]"),
])
def test_refused_with_location(fn, args, line):
    with pytest.raises(sct.TransformError) as info:
        sct.vmap(fn)(*args)
    err = info.value
    assert err.location is not None and line in err.location.text, str(err)


def test_chained_comparison_refused_or_right():
    x = RNG.uniform(-1, 2, size=(B, 3))
    try:
        got = sct.vmap(chained)(x)
    except sct.TransformError:
        return
    np.testing.assert_allclose(got, looped(chained, (x,), (0,)))


@pytest.mark.parametrize("fn", [one_side_returns, one_side_returns_inside])
def test_one_side_returning_is_not_wrong(fn):
    x = RNG.normal(size=(B, 3))
    try:
        got = sct.vmap(fn)(x)
    except sct.TransformError as err:
        assert err.location is not None
        return
    np.testing.assert_allclose(got, looped(fn, (x,), (0,)))


@pytest.mark.parametrize("in_axes", [1, (0, 1), (0,), (True, 0)])
def test_in_axes_checked(in_axes):
    with pytest.raises(sct.ArgumentError):
        sct.vmap(scale_vector, in_axes=in_axes)


def test_batched_argument_must_be_an_array():
    with pytest.raises(sct.ArgumentError):
        sct.vmap(scale_vector)(1.0, RNG.normal(size=(B, 3)))


def test_pickles():
    import pickle
    x, s = RNG.normal(size=(B, 3)), RNG.normal(size=B)
    for made in (sct.vmap(scale_vector), sct.vmap(sct.jacobian(scale_vector, wrt=(0, 1)))):
        again = pickle.loads(pickle.dumps(made))
        expected, got = made(s, x), again(s, x)
        for a, b in zip(expected if isinstance(expected, tuple) else (expected,),
                        got if isinstance(got, tuple) else (got,)):
            np.testing.assert_array_equal(a, b)


def sum_of_vmapped(s, x):
    return np.sum(VMAPPED(s, x))


VMAPPED = sct.vmap(scale_vector)


def test_derivative_of_a_vmapped_function_is_refused():
    with pytest.raises(sct.TransformError):
        sct.grad(sum_of_vmapped)(RNG.normal(size=B), RNG.normal(size=(B, 3)))
    with pytest.raises(sct.TransformError):
        sct.jacobian(VMAPPED)(RNG.normal(size=B), RNG.normal(size=(B, 3)))


def constant(x, scale=2.0):
    return np.ones(2) * scale


def with_keyword(x, *, power=2.0):
    return x ** power


def test_constant_result_keywords_and_unused_arguments():
    x = RNG.normal(size=(B, 3))
    np.testing.assert_array_equal(sct.vmap(constant)(x), np.full((B, 2), 2.0))
    np.testing.assert_array_equal(sct.vmap(constant, in_axes=(0, None))(x, scale=3.0), np.full((B, 2), 3.0))
    np.testing.assert_allclose(sct.vmap(with_keyword)(x, power=3.0), x ** 3.0)
    with pytest.raises(ValueError):  # batched arguments of different lengths
        sct.vmap(scale_vector)(RNG.normal(size=B + 1), x)


JACOBIAN_CASES = [c for c in CASES if c[2] is None and c[0] not in (early_return,)]


@pytest.mark.parametrize("fn, make, in_axes", JACOBIAN_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(JACOBIAN_CASES)])
def test_vmapped_jacobian_equals_each_example_s(fn, make, in_axes):
    args = make()
    wrt = tuple(range(len(args)))
    batched = sct.vmap(sct.jacobian(fn, wrt=wrt))(*args)
    batched = batched if isinstance(batched, tuple) else (batched,)
    single = sct.jacobian(fn, wrt=wrt, mode="reverse")
    for i in range(len(args[0])):
        example = [a[i] if a.ndim > 1 else float(a[i]) for a in args]
        for got, want in zip(batched, single(*example)):
            np.testing.assert_allclose(got[i], want, rtol=1e-11, atol=1e-12)


def _number_or_vector(x, t):
    if t > 0.0:
        s = t
    else:
        s = x
    return s + x


def _default_then_update(x, t):
    y = 0.0
    if t > 0.0:
        y = x * t
    return np.sum(y + x)


def _same_shape_on_both_sides(x, t):
    y = x * 0.0
    if t > 0.0:
        y = x * t
    return np.sum(y + x)


def test_a_branch_whose_sides_give_an_example_values_of_different_shapes_is_refused():
    """One side leaves a number per example, the other a vector: merged, the number was spread over the
    vector, along the wrong axis where the batch and the vector had one length (wrong rows, no error)."""
    rng = np.random.default_rng(0)
    x, t = np.arange(18.0).reshape(6, 3), np.array([1.0, 2.0, 3.0, -1.0, -1.0, -1.0])
    with pytest.raises(sct.VmapError, match="different shapes per example") as info:
        sct.vmap(_number_or_vector)(x, t)
    assert "if t > 0.0" in info.value.location.text
    x, t = rng.standard_normal((4, 3)), np.array([-1.5, -0.5, 0.3, 1.5])
    with pytest.raises(sct.VmapError, match="different shapes per example"):
        sct.vmap(_default_then_update)(x, t)
    got = sct.vmap(_same_shape_on_both_sides)(x, t)
    np.testing.assert_allclose(got, [_same_shape_on_both_sides(x[i], t[i]) for i in range(4)])
    jac = sct.vmap(sct.jacobian(_same_shape_on_both_sides, wrt=0))(x, t)
    np.testing.assert_allclose(jac, [sct.jacobian(_same_shape_on_both_sides, wrt=0)(x[i], t[i]) for i in range(4)])
