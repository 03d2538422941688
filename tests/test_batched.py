"""The batched tangent program: B directions in one sweep equal B single tangent sweeps stacked.

Driven by the rule tables (NumPy, linalg, SciPy, scalar operators and math), so
every rule is covered in every way it batches (broadcast, a batched rule, once per
direction inside the sweep); then the fallback path and the entry points that use
batched sweeps (jacobian, forward grad, hessian).
"""
import math
import zlib

import numpy as np
import pytest

import sct
from sct.compiler import BATCHED, derive
from sct.rules import REGISTRY
from sct.rules.registry import adjoint_rule, not_batchable, tangent_rule

import test_rules_linalg
import test_rules_numpy
import test_rules_scipy
from programs.scalar_cases import BINARY, UNARY
from test_rules_numpy import draw

B = 3  # directions per sweep


def batched_params(cases):
    """One test per (case, variant): the forward checks of the tables' parameters."""
    return [p for p in test_rules_numpy.params(cases) if p.values[-1] == "forward"]


def stacked_single(fn, args, wrt, tangents):
    """B plain tangent sweeps, their results stacked on a leading axis."""
    jvp = sct.jvp(fn, wrt=wrt)
    outs = []
    for k in range(B):
        _, d = jvp(*args, *[t[k] for t in tangents])
        outs.append(d)
    return outs


def check_batched(fn, args, wrt):
    rng = np.random.default_rng(zlib.crc32(repr(wrt).encode()))
    tangents = [rng.standard_normal((B,) + np.shape(args[i])) for i in wrt]
    try:
        singles = stacked_single(fn, args, wrt, tangents)
    except (sct.TransformError, TypeError, ValueError, np.linalg.LinAlgError):
        pytest.skip("no single tangent to compare with")
    value, batched = sct.jvp(fn, wrt=wrt, batched=True)(*args, *tangents)
    if isinstance(value, (list, tuple)):
        pytest.skip("a function returning several values")
    expected = np.stack([np.broadcast_to(np.asarray(s, dtype=float), np.shape(value)) for s in singles])
    assert np.shape(batched) == (B,) + np.shape(value)
    np.testing.assert_allclose(batched, expected, rtol=1e-12, atol=1e-12)


def _case_args(case, shapes, extra, wrt):
    rng = np.random.default_rng(zlib.crc32(f"{case.fn.__name__}{shapes}{extra}".encode()))
    domains = (case.domain,) * len(shapes) if isinstance(case.domain, str) else case.domain
    args = [draw(d, s, rng) for d, s in zip(domains, shapes)] + list(extra)
    return args, tuple(range(len(shapes))) if wrt is None else tuple(wrt)


TABLES = test_rules_numpy.CASES + test_rules_linalg.CASES + test_rules_scipy.CASES


@pytest.mark.parametrize("case, shapes, extra, wrt, check", batched_params(TABLES))
def test_batched_tangent_equals_stacked_tangents(case, shapes, extra, wrt, check):
    args, wrt = _case_args(case, shapes, extra, wrt)
    check_batched(case.fn, args, wrt)


@pytest.mark.parametrize("fn, domain", UNARY, ids=lambda v: getattr(v, "__name__", None) or str(v))
def test_batched_scalar_unary(fn, domain):
    x = float(np.random.default_rng(0).uniform(*domain))
    check_batched(fn, [x], (0,))


@pytest.mark.parametrize("fn, domain", BINARY, ids=lambda v: getattr(v, "__name__", None) or str(v))
def test_batched_scalar_binary(fn, domain):
    x, y = np.random.default_rng(1).uniform(*domain, size=2)
    check_batched(fn, [float(x), float(y)], (0, 1))


# ---------------------------------------------------------------- how rules batch

def elementwise_mix(x, s, M):
    return np.sin(x) * s + math.cos(s) + np.sum(M @ x ** 2) * x[0] + np.transpose(M)[1]


def test_scalar_math_partials_take_a_batch_of_directions():
    program = derive(elementwise_mix, BATCHED, ("x", "s", "M"), {"x": "array", "s": "scalar", "M": "array"})
    assert "math.sin(s)" in program.source and "direction(" not in program.source
    rng = np.random.default_rng(3)
    check_batched(elementwise_mix, [rng.standard_normal(3), 0.4, rng.standard_normal((2, 3))], (0, 1, 2))


def test_kinds_of_batching_are_declared_in_the_registry():
    assert REGISTRY.lookup(np.sin).batched == "broadcast"
    assert callable(REGISTRY.lookup(np.sum).batched)          # axis shifted by one
    assert callable(REGISTRY.lookup(np.matmul).batched)       # bilinear
    assert callable(REGISTRY.lookup(sct.runtime.unbroadcast).batched)  # for Hessians


def test_source_prints_the_batched_program():
    f = sct.jvp(elementwise_mix, wrt=0, batched=True)
    rng = np.random.default_rng(4)
    text = sct.source(f, rng.standard_normal(3), 0.3, rng.standard_normal((2, 3)))
    assert text.startswith("def elementwise_mix_jvp_batched(x, s, M, *, dx):")
    assert "nb = batch_size(dx)" in text


# ---------------------------------------------------------------- the fallback: one sweep per direction

def opaque(x):
    return 2.0 * x


@adjoint_rule(opaque)
def opaque_adjoint(g, ans, x):
    return 2.0 * g


@tangent_rule(opaque)
def opaque_tangent(dx, ans, x):
    return 2.0 * dx


not_batchable(opaque)


def uses_opaque(x):
    return np.sum(opaque(x) * x)


def test_a_rule_declared_not_batchable_falls_back_to_one_sweep_per_direction():
    with pytest.raises(sct.NotBatchable):
        derive(uses_opaque, BATCHED, ("x",), {"x": "array"})
    x = np.array([0.5, -1.0, 2.0])
    check_batched(uses_opaque, [x], (0,))
    np.testing.assert_allclose(sct.hessian(uses_opaque)(x), 4.0 * np.eye(3), atol=1e-12)
    np.testing.assert_allclose(sct.jacobian(opaque, mode="forward")(x), 2.0 * np.eye(3), atol=1e-12)


def per_direction_rule(x):
    return np.cumsum(x) * np.tril(np.outer(x, x))[1]  # cumsum has no batched rule: once per direction


def test_a_rule_without_batched_form_runs_once_per_direction_inside_the_sweep():
    program = derive(per_direction_rule, BATCHED, ("x",), {"x": "array"})
    assert "direction(dx, k)" in program.source and "stack_like" in program.source
    check_batched(per_direction_rule, [np.array([0.3, -0.2, 1.1])], (0,))


# ---------------------------------------------------------------- entry points

def tanh_map(x):
    return np.tanh(x) + 0.1 * np.sum(x ** 2) * x


@pytest.mark.parametrize("chunk_size", [None, 1, 2, 5])
def test_jacobian_in_chunks(chunk_size):
    x = np.linspace(-1.0, 1.0, 5)
    expected = sct.jacobian(tanh_map, mode="reverse")(x)
    got = sct.jacobian(tanh_map, mode="forward", chunk_size=chunk_size)(x)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def sin_weighted(x):
    return np.sum(np.sin(x) * x)


def test_forward_grad_is_one_batched_sweep():
    f = sin_weighted
    x = np.linspace(0.1, 1.0, 6)
    np.testing.assert_allclose(sct.grad(f, mode="forward")(x), sct.grad(f)(x), rtol=1e-12)
    assert any(d.mode == BATCHED for d in sct.derived_programs(f))


def test_hessian_of_the_gmm_objective_in_one_sweep_and_in_chunks():
    from examples.gmm import load_old_faithful
    from examples.gmm import parametrisations as P
    X = load_old_faithful()
    K, D = 2, X.shape[1]
    theta = np.random.default_rng(5).standard_normal(P.n_free("full", K, D)) * 0.1
    args = (theta, X, np.ones(K), P.tril_map(D), K)
    H = sct.hessian(P.objective_full)(*args)
    np.testing.assert_allclose(H, sct.hessian(P.objective_full, chunk_size=4)(*args), rtol=1e-10, atol=1e-8)
    hvp = sct.hvp(P.objective_full)
    columns = np.stack([hvp(*args, e) for e in np.eye(theta.size)], axis=-1)
    np.testing.assert_allclose(H, columns, rtol=1e-10, atol=1e-8)


# ---------------------------------------------------------------- indexing: the batch axis stays first

# x has shape (2, 3, 4).  Advanced indices (arrays, lists, and integers beside them) side by side keep
# their place; apart (x[0, :, [0, 1]]), NumPy puts their axes first, before any ``:`` (red-team 5)
INDEXES = {
    "int_slice_list": (0, slice(None), [0, 1]),
    "int_slice_array_repeats": (1, slice(None), np.array([0, 2, 0, 0])),
    "list_slice_list": ([0, 1], slice(None), [0, 1]),
    "slice_int_list": (slice(None), 0, [0, 1]),
    "list_list_slice": ([1, 0], [2, 2], slice(None)),
    "array2d_slice_int": (np.array([[0, 1], [1, 1]]), slice(None), 3),
    "int_ellipsis_list": (1, Ellipsis, [3, 1, 1]),
    "list_none_list": ([0, 1], None, [1, 2]),
    "list_none_slice_list": ([0, 1], None, slice(1, 3), [[1], [2]]),
    "mask_slice_list": (np.array([True, False]), slice(None), [0, 3]),
    "slice_mask": (slice(None), np.array([True, False, True])),
    "mask_2d_list": (np.array([[True, False, True], [False, True, True]]), [0, 3, 1, 2]),
    "int_slice_int": (1, slice(0, 2), 3),
    "ellipsis_list": (Ellipsis, [0, 0, 2]),
    "none_int_slice_list": (None, 1, slice(None), [2, 0]),
}


def _reading(index):
    def read(x):
        return x[index] ** 3
    return read


def _writing(index):
    def write(x, y):
        z = x.copy()
        z[index] = y * x[index]
        return z ** 2
    return write



def _per_direction(fn, args, tangents):
    """The unbatched tangent program run once per direction, stacked."""
    n = len(tangents[0])
    return np.stack([sct.jvp(fn, wrt=tuple(range(len(args))))(*args, *(t[k] for t in tangents))[1]
                     for k in range(n)])


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_batched_read_of_any_index_form(name):
    index = INDEXES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x = rng.normal(size=(2, 3, 4))
    dx = rng.normal(size=(B,) + x.shape)
    read = _reading(index)
    value, d = sct.jvp(read, batched=True)(x, dx)
    np.testing.assert_allclose(value, x[index] ** 3)
    assert d.shape == (B,) + x[index].shape
    np.testing.assert_allclose(d, np.stack([sct.jvp(read)(x, t)[1] for t in dx]), rtol=1e-12)
    np.testing.assert_allclose(d, np.stack([3 * x[index] ** 2 * t[index] for t in dx]), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_batched_write_of_any_index_form(name):
    index = INDEXES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 1)
    x = rng.normal(size=(2, 3, 4))
    y = rng.normal(size=np.shape(x[index]))
    dx, dy = rng.normal(size=(B,) + x.shape), rng.normal(size=(B,) + y.shape)
    write = _writing(index)
    _, d = sct.jvp(write, wrt=(0, 1), batched=True)(x, y, dx, dy)
    assert d.shape == (B,) + x.shape
    np.testing.assert_allclose(d, _per_direction(write, (x, y), (dx, dy)), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_forward_gradient_hessian_and_jacobian_through_any_index_form(name):
    index = INDEXES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 2)
    x = rng.normal(size=(2, 3, 4))
    y = rng.normal(size=np.shape(x[index]))
    read, write = _reading(index), _writing(index)

    def f(x):
        return np.sum(read(x))

    def h(x, y):
        return np.sum(write(x, y) * x)

    reverse = sct.grad(f)(x)
    np.testing.assert_allclose(sct.grad(f, mode="forward")(x), reverse, rtol=1e-12)
    np.testing.assert_allclose(sct.jacobian(read, mode="forward")(x), sct.jacobian(read, mode="reverse")(x),
                               rtol=1e-12)
    for got, expected in zip(sct.grad(h, wrt=(0, 1), mode="forward")(x, y), sct.grad(h, wrt=(0, 1))(x, y)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    # the Hessian: forward over reverse, its columns against the gradient's central differences
    H = sct.hessian(f)(x).reshape(x.size, x.size)
    g = sct.grad(f)
    eps = 1e-6
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        column = (g(x + e.reshape(x.shape)) - g(x - e.reshape(x.shape))).ravel() / (2 * eps)
        np.testing.assert_allclose(H[:, k], column, rtol=1e-6, atol=1e-6)
    H_yx = sct.hessian(h, wrt=(0, 1))(x, y)[1][0].reshape(y.size, x.size)
    g_y = sct.grad(h, wrt=1)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        column = (g_y(x + e.reshape(x.shape), y) - g_y(x - e.reshape(x.shape), y)).ravel() / (2 * eps)
        np.testing.assert_allclose(H_yx[:, k], column, rtol=1e-6, atol=1e-6)
