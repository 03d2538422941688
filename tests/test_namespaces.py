"""Generated programs on arrays of other libraries: Dask (lazily, by NumPy's dispatch) and JAX (eagerly and
under ``jax.jit``), with the numbers NumPy gives.

A sample of the rule table (tests/test_rules_numpy.py) runs in reverse mode with its arguments made Dask
arrays (chunked along the first axis) or JAX arrays; the gradients equal the NumPy ones.  On Dask nothing is
computed until the one ``dask.compute`` (a scheduler that raises guards the call).  Skipped where Dask or
JAX is not installed.
"""
from __future__ import annotations

import numpy as np
import pytest

import sct
from test_rules_numpy import CASES, FLOAT, draw, shape_id

import numpy_cases as nc

SAMPLE = ["exp", "log", "sin", "tanh", "sqrt", "add", "multiply", "divide", "power", "maximum", "logaddexp",
          "where", "clip", "sum_", "mean", "max_", "min_", "prod", "var", "std", "cumsum", "matmul", "dot",
          "einsum2", "einsum3", "outer", "tensordot", "reshape", "transpose", "expand_dims", "squeeze",
          "broadcast_to", "concatenate", "stack", "tril", "index_slice", "index_int", "index_none",
          "index_int_array", "index_repeated", "index_row", "take"]

# Dask computes eagerly, or fails, in np.tensordot with axis lists,
# reshape of chunked arrays to unknown chunks, np.take with a list, np.dot with a 0-d operand
DASK_DOES_NOT_DISPATCH = ("tensordot", "reshape", "take", "dot")


def _rows():
    rows = []
    for case in CASES:
        if case.fn.__name__ not in SAMPLE:
            continue
        arrays = [v for v in case.variants if all(s != FLOAT for s in v[0]) and any(len(s) for s in v[0])]
        for shapes, extra, wrt in arrays[:2]:
            name = "-".join([case.fn.__name__, "-".join(shape_id(s) for s in shapes)]
                            + ([",".join(map(repr, extra)).replace(" ", "")] if extra else []))
            rows.append(pytest.param(case, shapes, extra, wrt, id=name))
    return rows


ROWS = _rows()


def _inputs(case, shapes, extra, wrt):
    rng = np.random.default_rng(len(ROWS) + sum(map(len, shapes)))
    domains = (case.domain,) * len(shapes) if isinstance(case.domain, str) else case.domain
    arrays = [draw(d, s, rng) for d, s in zip(domains, shapes)]
    return arrays, list(extra), tuple(range(len(shapes))) if wrt is None else wrt


def _reference(case, arrays, extra, wrt):
    value, grads = sct.value_and_grad(case.fn, wrt=wrt)(*arrays, *extra)
    return value, grads


def _close(got, want, rtol=1e-10, atol=1e-12):
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g, dtype=float), np.asarray(w, dtype=float), rtol=rtol, atol=atol)


def _refuse_compute(*args, **kwargs):
    raise AssertionError("a Dask array was computed while sct built the gradient (it should stay lazy)")


@pytest.mark.parametrize("case, shapes, extra, wrt", ROWS)
def test_rule_on_dask_arrays(case, shapes, extra, wrt):
    if case.fn.__name__ in DASK_DOES_NOT_DISPATCH:
        pytest.skip("Dask does not run this function lazily")
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    arrays, extra, wrt = _inputs(case, shapes, extra, wrt)
    want_value, want = _reference(case, arrays, extra, wrt)
    lazy = [da.from_array(a, chunks=(max(1, a.shape[0] // 2),) + a.shape[1:]) if a.ndim else a for a in arrays]
    with dask.config.set(scheduler=_refuse_compute):
        value, grads = sct.value_and_grad(case.fn, wrt=wrt)(*lazy, *extra)
    assert any(isinstance(g, da.Array) for g in (value, *grads))
    value, grads = dask.compute(value, grads, scheduler="sync")
    _close((value, *grads), (want_value, *want))
    for g, a in zip(grads, [arrays[i] for i in wrt]):
        assert np.shape(g) == a.shape


@pytest.mark.parametrize("case, shapes, extra, wrt", ROWS)
def test_rule_on_jax_arrays(case, shapes, extra, wrt):
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    if case.fn.__name__ in ("take", "index_repeated"):
        pytest.skip("JAX indexes by arrays, not lists (x[[0, 0, 1]]): the function itself does not run on JAX")
    arrays, extra, wrt = _inputs(case, shapes, extra, wrt)
    want_value, want = _reference(case, arrays, extra, wrt)
    g = sct.value_and_grad(case.fn, wrt=wrt)
    with jax.enable_x64(True):
        traced = [jnp.asarray(a) for a in arrays]
        value, grads = g(*traced, *extra)
        assert all(isinstance(v, jax.Array) for v in (value, *grads))
        _close((value, *grads), (want_value, *want))
        value, grads = jax.jit(lambda *xs: g(*xs, *extra))(*traced)
        _close((value, *grads), (want_value, *want))


def test_the_program_is_specialised_by_library():
    jnp = pytest.importorskip("jax.numpy")
    g = sct.grad(nc.tanh)
    x = np.linspace(-1.0, 1.0, 4)
    np.testing.assert_allclose(np.asarray(g(jnp.asarray(x))), g(x), rtol=1e-6)
    spec = g.__sct_spec__[0]
    assert sorted(len(key) for key in spec.programs) == [2, 3]  # (mode, kinds) and (mode, kinds, "jax.numpy")
    assert any("jax.numpy" in key for key in spec.programs)


def test_float32_in_float32_adjoints():
    da = pytest.importorskip("dask.array")
    x = np.linspace(0.5, 2.0, 6, dtype=np.float32)
    g = sct.grad(nc.log)(da.from_array(x, chunks=3))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g.compute(), sct.grad(nc.log)(x.astype(float)), rtol=1e-6)


def _gmm_problem(n=4000, k=3, d=2):
    rng = np.random.default_rng(7)
    params = (rng.normal(size=k), rng.normal(size=(k, d)), 0.1 * rng.normal(size=(k, d)),
              0.1 * rng.normal(size=(k, d, d)))
    return params, rng.normal(size=(n, d))


def test_gmm_gradient_on_dask_is_one_lazy_graph():
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    cloudpickle = pytest.importorskip("cloudpickle")
    from examples.gmm.model import loglik_vec

    params, _ = _gmm_problem()
    lazy_X = da.random.default_rng(3).normal(size=(100_000, 2), chunks=(25_000, 2))
    g = sct.value_and_grad(loglik_vec, wrt=(0, 1, 2, 3))
    with dask.config.set(scheduler=_refuse_compute):
        value, grads = g(*params, lazy_X)
    assert all(isinstance(v, da.Array) for v in (value, *grads))
    graph = {}
    for v in (value, *grads):
        graph.update(dict(v.__dask_graph__()))
    # nothing of X's length enters the graph (a NumPy seed of 10⁵ rows would pickle to 800 kB)
    assert len(cloudpickle.dumps(graph)) < 200_000
    value, grads = dask.compute(value, grads, scheduler="threads")
    want_value, want = g(*params, lazy_X.compute())
    _close((value, *grads), (want_value, *want), rtol=1e-9)


def test_jax_jit_of_sct_grad():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    from examples.gmm.model import loglik_vec

    params, X = _gmm_problem(n=500)
    want = sct.grad(loglik_vec, wrt=(0, 1, 2, 3))(*params, X)
    with jax.enable_x64(True):
        jitted = jax.jit(sct.grad(loglik_vec, wrt=(0, 1, 2, 3)))
        got = jitted(*[jnp.asarray(p) for p in params], jnp.asarray(X))
        got_again = jitted(*[jnp.asarray(p) + 0.0 for p in params], jnp.asarray(X))
    _close(got, want, rtol=1e-9)
    _close(got_again, want, rtol=1e-9)


def test_jax_float32_stays_float32():
    jnp = pytest.importorskip("jax.numpy")
    from examples.gmm.model import loglik_vec

    params, X = _gmm_problem(n=200)
    grads = sct.grad(loglik_vec, wrt=(0, 1, 2, 3))(*[jnp.asarray(p, dtype=jnp.float32) for p in params],
                                                   jnp.asarray(X, dtype=jnp.float32))
    assert all(g.dtype == jnp.float32 for g in grads)
    _close(grads, sct.grad(loglik_vec, wrt=(0, 1, 2, 3))(*params, X), rtol=2e-3, atol=2e-3)


# Forward mode and second derivatives on other libraries' arrays: the tangent program of a sample of rules
# (one shape per rule), and the GMM's Hessian, Hessian-vector product and Jacobian (forward over reverse,
# batched tangents), each equal to NumPy's.

JVP_ROWS = list({p.values[0].fn.__name__: p for p in ROWS}.values())


def _jvp_case(case, shapes, extra, wrt):
    arrays, extra, wrt = _inputs(case, shapes, extra, wrt)
    tangent = np.random.default_rng(5).normal(size=np.shape(arrays[wrt[0]]))
    jvp = sct.jvp(case.fn, wrt=wrt[0])
    return arrays, extra, tangent, jvp, jvp(*arrays, *extra, tangent)


@pytest.mark.parametrize("case, shapes, extra, wrt", JVP_ROWS)
def test_jvp_on_dask_arrays(case, shapes, extra, wrt):
    if case.fn.__name__ in DASK_DOES_NOT_DISPATCH:
        pytest.skip("Dask does not run this function lazily")
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    arrays, extra, tangent, jvp, want = _jvp_case(case, shapes, extra, wrt)

    def lazy(a):
        return da.from_array(a, chunks=(max(1, a.shape[0] // 2),) + a.shape[1:]) if np.ndim(a) else a
    with dask.config.set(scheduler=_refuse_compute):
        got = jvp(*map(lazy, arrays), *extra, lazy(tangent))
    _close(dask.compute(got, scheduler="sync")[0], want)


@pytest.mark.parametrize("case, shapes, extra, wrt", JVP_ROWS)
def test_jvp_on_jax_arrays_eagerly_and_under_jit(case, shapes, extra, wrt):
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    if case.fn.__name__ in ("take", "index_repeated"):
        pytest.skip("JAX indexes by arrays, not lists: the function itself does not run on JAX")
    arrays, extra, tangent, jvp, want = _jvp_case(case, shapes, extra, wrt)
    with jax.enable_x64(True):
        traced = [jnp.asarray(a) for a in arrays] + [jnp.asarray(tangent)]
        _close(jvp(*traced[:-1], *extra, traced[-1]), want)
        _close(jax.jit(lambda *xs: jvp(*xs[:-1], *extra, xs[-1]))(*traced), want)


def _second_order(params, X, v):
    from examples.gmm.model import loglik_vec
    return {"hessian": sct.hessian(loglik_vec, wrt=1)(*params, X),
            "hvp": sct.hvp(loglik_vec, wrt=1)(*params, X, v),
            "jacfwd": sct.jacfwd(loglik_vec, wrt=(1, 2))(*params, X),
            "jacrev": sct.jacrev(loglik_vec, wrt=(1, 2))(*params, X)}


def _gmm_second_order_problem():
    params, X = _gmm_problem(n=300)
    return params, X, np.random.default_rng(8).normal(size=params[1].shape)


def test_gmm_hessian_hvp_and_jacobians_on_jax_eagerly_and_under_jit():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    params, X, v = _gmm_second_order_problem()
    want = _second_order(params, X, v)
    with jax.enable_x64(True):
        args = [jnp.asarray(p) for p in params] + [jnp.asarray(X), jnp.asarray(v)]
        eager = _second_order(args[:4], args[4], args[5])
        jitted = jax.jit(lambda *a: _second_order(a[:4], a[4], a[5]))(*args)
    for got in (eager, jitted):
        assert all(isinstance(leaf, jax.Array) for leaf in jax.tree_util.tree_leaves(got))
        for key in want:
            _close(jax.tree_util.tree_leaves(got[key]), jax.tree_util.tree_leaves(want[key]), rtol=1e-9)


def test_gmm_hessian_hvp_and_jacobians_on_dask_stay_lazy():
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    params, X, v = _gmm_second_order_problem()
    want = _second_order(params, X, v)
    with dask.config.set(scheduler=_refuse_compute):
        got = _second_order(params, da.from_array(X, chunks=(100, X.shape[1])), v)
    assert isinstance(got["hessian"], da.Array) and isinstance(got["hvp"], da.Array)
    got = dask.compute(got, scheduler="threads")[0]
    for key in want:
        flat_got = got[key] if isinstance(got[key], tuple) else (got[key],)
        flat_want = want[key] if isinstance(want[key], tuple) else (want[key],)
        _close(flat_got, flat_want, rtol=1e-9)
