"""Gradient-based GMM fitting.

sct's gradients and Hessians of the four parametrisations against finite
differences and a hand-derived gradient; the four optimisers on a quadratic;
the acceptance test of issue 13 (every method, every covariance type, reaches
EM's optimum on Old Faithful from the same start).
"""


import numpy as np
import pytest

import sct
from examples.gmm import GaussianMixture, em
from examples.gmm import parametrisations as pm
from examples.gmm.data import load_old_faithful, make_synthetic
from examples.gmm.gradient import (
    OPTIMISERS,
    Objective,
    Standardizer,
    StopRule,
    fit_gradient,
)
from examples.gmm.model import loglik_loop, loglik_vec, pack, to_unconstrained, unpack

COVARIANCE_TYPES = pm.COVARIANCE_TYPES

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
# the four parametrisations, differentiated by sct
# ---------------------------------------------------------------------------


def start_for(X, K, covariance_type, seed=0):
    return em.initial_parameters(X, K, covariance_type, 1e-6, "kmeans", seed)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parametrisation_round_trip_and_value(covariance_type):
    X, _ = make_synthetic(60, 3, 3, seed=4)
    w, m, c = start_for(X, 3, covariance_type)
    theta = pm.to_theta(covariance_type, w, m, c)
    assert theta.size == pm.n_free(covariance_type, 3, 3) == em.n_parameters(3, 3, covariance_type)
    for a, b in zip(pm.from_theta(covariance_type, theta, 3, 3), (w, m, c)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    prior = np.array([0.1, 0.2, 0.3])
    value = pm.OBJECTIVES[covariance_type](theta, X, prior, pm.tril_map(3), 3)
    prec_chol = em.compute_precision_cholesky(c, covariance_type)
    loglik = em.e_step(X, w, m, prec_chol, covariance_type)[0].sum()
    assert value == pytest.approx(loglik - pm.penalty(covariance_type, theta, prior, 3), rel=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sct_gradient_and_hessian_match_finite_differences(covariance_type):
    X, _ = make_synthetic(40, 2, 3, seed=1)
    w, m, c = start_for(X, 3, covariance_type)
    theta = pm.to_theta(covariance_type, w, m, c) + 0.05
    obj = Objective(covariance_type, X, np.array([0.1, 0.3]), 3)
    _, g = obj.value_and_grad(theta)
    H = obj.hessian(theta)
    h = 1e-6
    basis = np.eye(theta.size)
    fd_g = np.array([(obj.value(theta + h * e) - obj.value(theta - h * e)) / (2 * h)
                     for e in basis])
    fd_h = np.array([(obj.value_and_grad(theta + h * e)[1] - obj.value_and_grad(theta - h * e)[1])
                     / (2 * h) for e in basis])
    np.testing.assert_allclose(g, fd_g, atol=1e-7)
    np.testing.assert_allclose(H, fd_h, atol=1e-6)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    assert obj.counts["hessian"] == 1


def test_the_prior_bounds_a_collapsing_component():
    """Without the prior the likelihood of a component shrinking onto a point is unbounded."""
    X, _ = make_synthetic(30, 2, 2, seed=0)
    theta = pm.to_theta("spherical", np.array([0.5, 0.5]), np.stack([X.mean(0), X[0]]),
                        np.array([20.0, 1.0]))
    K, tm = 2, pm.tril_map(2)
    values, plain = [], []
    for log_prec in np.linspace(0, 30, 61):  # sigma of component 2 from 1 down to e^-30
        t = theta.copy()
        t[-1] = log_prec
        values.append(pm.objective_spherical(t, X, np.full(2, 1e-6), tm, K))
        plain.append(pm.objective_spherical(t, X, np.zeros(2), tm, K))
    assert plain[-1] > plain[0] + 20 and np.all(np.diff(plain[20:]) > 0)  # keeps rising
    assert values[-1] < values[0] - 1e3  # the penalised one turns down
    # at most the bonus of one point at sigma^2 = reg_covar, -log(2 pi reg_covar) ~ 12
    assert max(values) < values[0] - np.log(2 * np.pi * 1e-6)


# ---------------------------------------------------------------------------
# optimisers on a concave quadratic
# ---------------------------------------------------------------------------


class Quadratic:
    """``-(x - c)^T A (x - c)``, NaN far away, with the Objective interface."""

    def __init__(self, centre, A):
        self.centre, self.A = centre, A
        self.n_function = self.n_gradient = self.n_hessian = 0

    def value(self, x):
        self.n_function += 1
        d = x - self.centre
        v = -float(d @ self.A @ d)
        return float("nan") if -v > 1e6 else v

    def value_and_grad(self, x):
        self.n_gradient += 1
        return self.value(x), -2.0 * self.A @ (x - self.centre)

    def hessian(self, x):
        self.n_hessian += 1
        return -2.0 * self.A


@pytest.mark.parametrize("method", sorted(OPTIMISERS))
def test_optimisers_solve_an_ill_conditioned_quadratic(method):
    A = np.diag([1.0, 10.0, 100.0])
    obj = Quadratic(np.array([1.0, -2.0, 0.5]), A)
    result = OPTIMISERS[method](obj, np.zeros(3), max_iter=5000, stop=StopRule(gtol=1e-8, tol=0))
    assert result.converged and result.message == "converged"
    np.testing.assert_allclose(result.theta, obj.centre, atol=1e-6)
    assert len(result.history) == len(result.times) == result.n_iter + 1
    if method != "adam":  # Adam's history is its best value so far: never down either
        assert result.history[-1] == pytest.approx(result.value)
    assert np.all(np.diff(result.history) >= -1e-12)
    if method == "newton":
        assert result.n_iter == 1


@pytest.mark.parametrize("method", sorted(OPTIMISERS))
def test_max_iter_is_not_convergence(method):
    obj = Quadratic(np.array([1.0, -2.0]), np.diag([1.0, 1000.0]))
    result = OPTIMISERS[method](obj, np.array([50.0, 0.1]), max_iter=1,
                                stop=StopRule(gtol=1e-12, tol=0))
    assert not result.converged and result.n_iter <= 1


def test_window_rule():
    rule = StopRule(gtol=0.0, tol=1e-3, window=3)
    grad = np.ones(2)
    assert not rule.met([0.0, 1.0, 1.0], grad)  # not a full window yet
    assert rule.met([0.0, 0.0, 0.0005, 0.0009], grad)
    assert not rule.met([0.0, 0.0, 0.0005, 0.002], grad)
    assert StopRule(gtol=1e-3).met([0.0], np.array([1e-4, -1e-4]))


def test_newton_saddle_step_goes_uphill():
    A = np.diag([1.0, -1.0])  # a saddle of -(x^T A x)
    obj = Quadratic(np.zeros(2), A)
    obj.value = lambda x: -float(x @ A @ x) - 0.1 * float(x @ x) ** 2  # bounded above
    result = OPTIMISERS["newton"](obj, np.array([0.1, 1e-3]), max_iter=3,
                                  stop=StopRule(gtol=0, tol=0))
    assert result.history[-1] > result.history[0]


# ---------------------------------------------------------------------------
# issue 13's acceptance test: every method reaches EM's optimum
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def faithful_optima():
    """EM's optimum on Old Faithful, K=2, per covariance type, from the k-means start."""
    X = load_old_faithful()
    out = {}
    for ct in COVARIANCE_TYPES:
        start = start_for(X, 2, ct)
        prec_chol = em.compute_precision_cholesky(start[2], ct)
        result = em.run_em(X, *start[:2], prec_chol, ct, 1e-6, tol=1e-12, max_iter=1000)
        assert result.converged
        out[ct] = (start, result.history[-1] * len(X))
    return X, out


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("method", ["em", "gradient", "adam", "lbfgs", "newton"])
def test_every_method_reaches_the_em_optimum_on_old_faithful(method, covariance_type,
                                                             faithful_optima):
    X, optima = faithful_optima
    (weights, means, covariances), best = optima[covariance_type]
    precisions = em.covariances_from_precisions(covariances, covariance_type)
    model = GaussianMixture(2, covariance_type=covariance_type, method=method, tol=0,
                            gtol=1e-7, max_iter=3000, weights_init=weights,
                            means_init=means, precisions_init=precisions)
    if method == "em":
        model.set_params(tol=1e-12)
    model.fit(X)
    assert model.converged_
    assert model.score(X) * len(X) == pytest.approx(best, abs=1e-4)
    assert model.history_[0] * len(X) == pytest.approx(  # the same start
        optima[covariance_type][1] - (best - model.history_[0] * len(X)), abs=1e-12)


def test_history_is_in_the_data_units_with_and_without_standardising():
    X, _ = make_synthetic(300, 2, 2, seed=3)
    X = X * [1.0, 50.0] + [0.0, 100.0]
    start = start_for(X, 2, "full")
    for standardize in (True, False):
        fit = fit_gradient(X, start, "full", "lbfgs", reg_covar=0.0, max_iter=5,
                           stop=StopRule(0, 0), standardize=standardize)
        params = to_unconstrained(fit.weights, fit.means, fit.covariances)
        assert fit.result.history[-1] == pytest.approx(loglik_loop(*params, X) / 300, abs=1e-9)
        assert fit.result.history[0] == pytest.approx(
            loglik_vec(*to_unconstrained(*start), X) / 300, abs=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_standardizer_maps_covariances_both_ways(covariance_type):
    X, _ = make_synthetic(100, 3, 2, seed=1)
    X = X * [10.0, 1.0, 0.1] + 5.0
    std = Standardizer.fit(X, covariance_type)
    if covariance_type == "spherical":
        assert np.all(std.scale == std.scale[0])
    _, _, cov = start_for(X, 2, covariance_type)
    back = std.covariances(std.covariances(cov, covariance_type, True), covariance_type, False)
    np.testing.assert_allclose(back, cov, rtol=1e-12)


def test_unknown_gradient_method_raises():
    X = load_old_faithful()
    with pytest.raises(ValueError, match="method"):
        fit_gradient(X, start_for(X, 2, "full"), "full", "bfgs")


# ---------------------------------------------------------------------------
# the structured full-covariance model of model.py
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("function", [loglik_vec, loglik_loop], ids=["vec", "loop"])
def test_sct_gradient_matches_the_oracle(function):
    X, params = random_problem(N=50, K=3, D=4, seed=2)
    value, grads = sct.value_and_grad(function, wrt=(0, 1, 2, 3))(*params, X)
    expected_value, expected = analytic_value_and_grad(X)(params)
    assert float(value) == pytest.approx(expected_value * 50, rel=1e-12)
    assert len(grads) == 4
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(np.asarray(g) / 50, e, rtol=1e-8, atol=1e-10)


