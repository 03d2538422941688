"""Gradient-based GMM fitting.

The optimisers are tested with a hand-derived gradient (defined here, only for
tests); the tests marked ``needs_sct`` check sct's gradient and the default
fitting path, and are skipped until ``sct.value_and_grad`` exists.
"""


import numpy as np
import pytest

from examples.gmm import GaussianMixture, em
from examples.gmm.compare import run_comparison
from examples.gmm.data import load_old_faithful, make_synthetic
from examples.gmm.gradient import (
    Standardizer,
    adam,
    fit_gradient,
    gradient_ascent,
    mean_loglik,
)
from examples.gmm.model import (
    MixtureParams,
    loglik_loop,
    loglik_vec,
    pack,
    to_unconstrained,
    unpack,
)

try:
    import sct

    HAVE_SCT = hasattr(sct, "value_and_grad")
except ImportError:
    HAVE_SCT = False
needs_sct = pytest.mark.skipif(not HAVE_SCT, reason="sct.value_and_grad is not available yet")

OLD_FAITHFUL_BEST = -1130.26396  # total log-likelihood at the optimum (K=2, full)


def analytic_value_and_grad(X):
    """Hand-derived mean log-likelihood gradient (a test oracle, not used for fitting).

    With responsibilities r, d = x - mu_k, y = L_k^T d and G_k = -sum_n r d y^T:
    d/dlogits = sum_n r - N pi, d/dmu_k = L_k sum_n r y,
    d/dlog_diag = sum_n r + diag(G_k) exp(log_diag), d/dlower = tril(G_k, -1).
    """
    N, D = X.shape

    def value_and_grad(params):
        logits, means, log_diag, lower = params
        w = np.exp(logits - logits.max())
        w = w / w.sum()
        chol = np.exp(log_diag)[:, :, None] * np.eye(D) + np.tril(lower, -1)
        diff = X[:, None, :] - means[None]
        y = np.einsum("nkd,kde->nke", diff, chol)
        log_joint = (np.log(w) - 0.5 * D * np.log(2 * np.pi) + log_diag.sum(1)
                     - 0.5 * np.sum(y * y, axis=2))
        m = log_joint.max(axis=1, keepdims=True)
        lse = np.log(np.exp(log_joint - m).sum(axis=1, keepdims=True)) + m
        r = np.exp(log_joint - lse)
        G = -np.einsum("nk,nkd,nke->kde", r, diff, y)
        grads = (
            r.sum(0) - N * w,
            np.einsum("nk,kde,nke->kd", r, chol, y),
            r.sum(0)[:, None] + np.diagonal(G, axis1=1, axis2=2) * np.exp(log_diag),
            np.tril(G, -1),
        )
        return float(lse.sum()) / N, tuple(g / N for g in grads)

    return value_and_grad


def random_problem(N=40, K=3, D=3, seed=0):
    X, truth = make_synthetic(N, D, K, seed=seed)
    rng = np.random.default_rng(seed + 1)
    params = tuple(p + 0.2 * rng.standard_normal(p.shape) for p in to_unconstrained(*truth))
    return X, params


def finite_difference_grad(X, params, h=1e-6):
    K, D = params[1].shape
    v = pack(params)
    f = lambda u: loglik_vec(*unpack(u, K, D), X) / X.shape[0]  # noqa: E731
    g = np.array([(f(v + h * e) - f(v - h * e)) / (2 * h) for e in np.eye(v.size)])
    return unpack(g, K, D)


def em_optimum(X, K):
    return GaussianMixture(K, random_state=0, tol=0, max_iter=300).fit(X)


# ---------------------------------------------------------------------------
# the oracle itself
# ---------------------------------------------------------------------------


def test_oracle_gradient_matches_finite_differences():
    X, params = random_problem()
    value, grads = analytic_value_and_grad(X)(params)
    assert value == pytest.approx(loglik_vec(*params, X) / X.shape[0], abs=1e-12)
    for g, fd in zip(grads, finite_difference_grad(X, params)):
        np.testing.assert_allclose(g, fd, atol=1e-7)


# ---------------------------------------------------------------------------
# optimisers
# ---------------------------------------------------------------------------


def quadratic(centre):
    """Concave quadratic on a tuple of arrays, NaN far away."""

    def value_and_grad(params):
        diff = [c - p for p, c in zip(params, centre)]
        value = -sum(float(np.sum(d * d)) for d in diff)
        if -value > 1e4:
            return float("nan"), tuple(np.full_like(d, np.nan) for d in diff)
        return value, tuple(2.0 * d for d in diff)

    return value_and_grad


def test_gradient_ascent_solves_a_quadratic_without_step_tuning():
    centre = (np.array([1.0, -2.0]), np.full((2, 2), 3.0))
    start = (np.zeros(2), np.zeros((2, 2)))
    for initial_step in (1e-4, 1.0, 1e3):  # a NaN region is hit for the large steps
        result = gradient_ascent(quadratic(centre), start, max_iter=100, tol=1e-14,
                                 initial_step=initial_step)
        assert result.converged
        for p, c in zip(result.params, centre):
            np.testing.assert_allclose(p, c, atol=1e-6)
        assert np.all(np.diff(result.history) >= 0)


def test_adam_solves_a_quadratic():
    centre = (np.array([1.0, -2.0]),)
    result = adam(quadratic(centre), (np.zeros(2),), max_iter=2000, tol=0, learning_rate=0.05)
    np.testing.assert_allclose(result.params[0], centre[0], atol=1e-3)
    assert len(result.history) == len(result.times) == 2001


def test_nan_objective_raises_floating_point_error():
    def bad(params):
        return float("nan"), tuple(np.zeros_like(p) for p in params)

    with pytest.raises(FloatingPointError, match="log-likelihood"):
        adam(bad, (np.zeros(2),))
    with pytest.raises(FloatingPointError, match="log-likelihood"):
        gradient_ascent(bad, (np.zeros(2),))

    calls = []

    def explodes(params):  # finite at the start, NaN after one step
        calls.append(1)
        value = 0.0 if len(calls) == 1 else float("nan")
        return value, tuple(np.ones_like(p) for p in params)

    with pytest.raises(FloatingPointError, match="iteration 1"):
        adam(explodes, (np.zeros(2),))


@pytest.mark.parametrize("method", ["gradient", "adam"])
def test_gradient_methods_reach_the_em_optimum_on_old_faithful(method):
    X = load_old_faithful()
    model = GaussianMixture(2, random_state=0, method=method, tol=0, max_iter=400,
                            value_and_grad=analytic_value_and_grad).fit(X)
    assert model.score(X) * 272 == pytest.approx(OLD_FAITHFUL_BEST, abs=1e-3)
    assert model.lower_bound_ == pytest.approx(model.score(X), abs=1e-12)
    assert model.history_.shape == model.times_.shape == (401,)
    reference = em_optimum(X, 2)
    order, ref_order = np.argsort(model.means_[:, 0]), np.argsort(reference.means_[:, 0])
    np.testing.assert_allclose(model.weights_[order], reference.weights_[ref_order], atol=1e-3)
    np.testing.assert_allclose(model.means_[order], reference.means_[ref_order], rtol=1e-3)
    if method == "gradient":
        assert np.all(np.diff(model.history_) >= 0)  # Armijo steps never go down


def test_history_is_in_original_units_with_and_without_standardising():
    X, _ = make_synthetic(300, 2, 2, seed=3)
    X = X * [1.0, 50.0] + [0.0, 100.0]
    weights, means, covs = em.initial_parameters(X, 2, "full", 1e-6, "kmeans++", 0)
    initial = MixtureParams(weights, means, covs)
    for standardize in (True, False):
        fitted, result = fit_gradient(X, initial, "gradient", max_iter=5, tol=0,
                                      make_value_and_grad=analytic_value_and_grad,
                                      standardize=standardize)
        params = to_unconstrained(*fitted)
        assert result.history[-1] == pytest.approx(loglik_loop(*params, X) / 300, abs=1e-9)
        assert result.history[0] == pytest.approx(
            loglik_vec(*to_unconstrained(*initial), X) / 300, abs=1e-9)


def test_standardizer_maps_parameters_both_ways():
    X, truth = make_synthetic(100, 3, 2, seed=1)
    X = X * [10.0, 1.0, 0.1] + 5.0
    std = Standardizer.fit(X)
    back = std.params_to_x(std.params_to_z(truth))
    for a, b in zip(back, truth):
        np.testing.assert_allclose(a, b, atol=1e-12)
    # mean log-likelihoods differ by sum(log scale)
    z = mean_loglik(std.transform(X))(to_unconstrained(*std.params_to_z(truth)))
    x = loglik_vec(*to_unconstrained(*truth), X) / 100
    assert z - std.log_jacobian == pytest.approx(x, abs=1e-10)


def test_unknown_gradient_method_raises():
    X = load_old_faithful()
    weights, means, covs = em.initial_parameters(X, 2, "full", 1e-6, "kmeans++", 0)
    with pytest.raises(ValueError, match="method"):
        fit_gradient(X, MixtureParams(weights, means, covs), "lbfgs")


def test_comparison_runs_all_methods(tmp_path):
    lines = []
    results = run_comparison("quick", tmp_path, make_value_and_grad=analytic_value_and_grad,
                             log=lines.append)
    text = "\n".join(lines)
    assert "Old Faithful EM check: total log-likelihood -1130.2640" in text and "OK" in text
    for runs in results.values():
        assert [r.method for r in runs] == ["em", "gradient", "adam"]
        assert all(r.model is not None for r in runs)
    assert (tmp_path / "old_faithful_ellipses.png").stat().st_size > 10_000
    assert (tmp_path / "convergence_old_faithful.png").exists()
    assert "gradient" in (tmp_path / "summary.txt").read_text()


# ---------------------------------------------------------------------------
# with sct
# ---------------------------------------------------------------------------


@needs_sct
@pytest.mark.parametrize("function", [loglik_vec, loglik_loop], ids=["vec", "loop"])
def test_sct_gradient_matches_the_oracle(function):
    X, params = random_problem(N=50, K=3, D=4, seed=2)
    value, grads = sct.value_and_grad(function, wrt=(0, 1, 2, 3))(*params, X)
    expected_value, expected = analytic_value_and_grad(X)(params)
    assert float(value) == pytest.approx(expected_value * 50, rel=1e-12)
    assert len(grads) == 4
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(np.asarray(g) / 50, e, rtol=1e-8, atol=1e-10)


@needs_sct
@pytest.mark.parametrize("method", ["gradient", "adam"])
def test_default_sct_fitting_on_old_faithful(method):
    X = load_old_faithful()
    model = GaussianMixture(2, random_state=0, method=method, tol=0, max_iter=400).fit(X)
    assert model.score(X) * 272 == pytest.approx(OLD_FAITHFUL_BEST, abs=1e-3)
