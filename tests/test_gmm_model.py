"""The GMM log-likelihood (both versions) and its parameter conversions."""


import numpy as np
import pytest

from examples.gmm import em
from examples.gmm.data import load_old_faithful, make_synthetic
from examples.gmm.model import (
    from_unconstrained,
    loglik_loop,
    loglik_vec,
    pack,
    precision_cholesky,
    to_unconstrained,
    unpack,
)


def random_params(K, D, seed):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal(K),
        rng.standard_normal((K, D)),
        0.3 * rng.standard_normal((K, D)),
        0.5 * rng.standard_normal((K, D, D)),
    )


@pytest.mark.parametrize("K,D,N", [(1, 1, 7), (2, 2, 50), (3, 5, 40), (8, 10, 30)])
def test_loop_and_vectorised_versions_agree(K, D, N):
    params = random_params(K, D, seed=K + D)
    X = np.random.default_rng(1).standard_normal((N, D))
    a = loglik_loop(*params, X)
    b = loglik_vec(*params, X)
    assert np.isfinite(a)
    assert abs(a - b) <= 1e-10 * max(1.0, abs(a))


def test_matches_independent_gaussian_density():
    stats = pytest.importorskip("scipy.stats")
    X, truth = make_synthetic(60, 3, 3, seed=4)
    expected = np.log(sum(
        w * stats.multivariate_normal(m, c).pdf(X)
        for w, m, c in zip(*truth)
    )).sum()
    params = to_unconstrained(*truth)
    assert loglik_vec(*params, X) == pytest.approx(expected, abs=1e-9)
    assert loglik_loop(*params, X) == pytest.approx(expected, abs=1e-9)


def test_matches_em_e_step():
    X, truth = make_synthetic(200, 4, 3, seed=2)
    prec_chol = em.compute_precision_cholesky(truth.covariances, "full")
    log_prob, _ = em.e_step(X, truth.weights, truth.means, prec_chol, "full")
    assert loglik_vec(*to_unconstrained(*truth), X) == pytest.approx(log_prob.sum(), abs=1e-9)


def test_only_strict_lower_triangle_and_logit_differences_matter():
    logits, means, log_diag, lower = random_params(3, 4, seed=0)
    X = np.random.default_rng(3).standard_normal((20, 4))
    base = loglik_vec(logits, means, log_diag, lower, X)
    noisy = lower + np.triu(np.random.default_rng(5).standard_normal((3, 4, 4)))
    assert loglik_vec(logits, means, log_diag, noisy, X) == pytest.approx(base, abs=1e-12)
    assert loglik_vec(logits + 7.0, means, log_diag, lower, X) == pytest.approx(base, abs=1e-9)


def test_stable_far_from_every_component():
    params = random_params(2, 2, seed=1)
    X = np.array([[1e4, -1e4], [0.0, 0.0]])
    a, b = loglik_loop(*params, X), loglik_vec(*params, X)
    assert np.isfinite(a) and a < -1e7
    assert a == pytest.approx(b, rel=1e-12)


def test_unconstrained_round_trip():
    _, truth = make_synthetic(10, 4, 3, seed=7)
    params = to_unconstrained(*truth)
    back = from_unconstrained(*params)
    np.testing.assert_allclose(back.weights, truth.weights, atol=1e-14)
    np.testing.assert_allclose(back.means, truth.means, atol=1e-14)
    np.testing.assert_allclose(back.covariances, truth.covariances, atol=1e-12)
    chol = precision_cholesky(params[2], params[3])
    np.testing.assert_allclose(chol, np.tril(chol))
    np.testing.assert_allclose(
        chol @ np.swapaxes(chol, 1, 2), np.linalg.inv(truth.covariances), atol=1e-10
    )
    again = to_unconstrained(*back)
    for x, y in zip(again, params):
        np.testing.assert_allclose(x, y, atol=1e-10)


def test_from_unconstrained_of_arbitrary_values_is_a_valid_mixture():
    weights, means, covs = from_unconstrained(*random_params(4, 3, seed=9))
    assert weights.sum() == pytest.approx(1.0) and np.all(weights > 0)
    np.testing.assert_allclose(covs, np.swapaxes(covs, 1, 2), atol=1e-12)
    assert np.all(np.linalg.eigvalsh(covs) > 0)
    assert means.shape == (4, 3)


def test_pack_unpack_round_trip():
    params = random_params(3, 2, seed=3)
    vector = pack(params)
    assert vector.shape == (3 + 6 + 6 + 12,)
    for x, y in zip(unpack(vector, 3, 2), params):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError):
        unpack(vector[:-1], 3, 2)


def test_old_faithful_data():
    X = load_old_faithful()
    assert X.shape == (272, 2)
    assert X[0].tolist() == [3.6, 79.0]
    assert X.mean(axis=0) == pytest.approx([3.4877831, 70.8970588], abs=1e-6)


def test_synthetic_data_follows_its_mixture():
    X, truth = make_synthetic(20000, 3, 2, seed=11)
    assert X.shape == (20000, 3)
    assert truth.weights.sum() == pytest.approx(1.0)
    mean = truth.weights @ truth.means
    assert np.abs(X.mean(axis=0) - mean).max() < 0.1
    X2, truth2 = make_synthetic(20000, 3, 2, seed=11)
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError):
        make_synthetic(0, 2, 2)


@pytest.mark.parametrize("K,D,N", [(1, 1, 5), (2, 2, 30), (3, 3, 20)])
def test_pure_python_model_and_its_sct_gradient_equal_the_numpy_versions(K, D, N):
    import sct
    from examples.gmm.model import loglik_python

    params = random_params(K, D, seed=K * D)
    X = np.random.default_rng(2).standard_normal((N, D))
    lists = [p.ravel().tolist() for p in params]
    value = loglik_python(*lists, X.ravel().tolist(), D)
    assert value == pytest.approx(loglik_vec(*params, X), rel=1e-12)
    py_value, py_grads = sct.value_and_grad(loglik_python, wrt=(0, 1, 2, 3))(
        *lists, X.ravel().tolist(), D)
    np_value, np_grads = sct.value_and_grad(loglik_vec, wrt=(0, 1, 2, 3))(*params, X)
    assert py_value == pytest.approx(np_value, rel=1e-12)
    assert all(isinstance(g, list) for g in py_grads)
    np_grads = list(np_grads)
    np_grads[3] = np.tril(np_grads[3], -1)  # the upper part is unused by both
    for g, e in zip(py_grads, np_grads):
        np.testing.assert_allclose(np.reshape(g, np.shape(e)), e, rtol=1e-10, atol=1e-12)
