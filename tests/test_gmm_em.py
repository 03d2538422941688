"""EM for Gaussian mixtures, checked against scikit-learn and known results."""

import sys
import warnings

import numpy as np
import pytest

from examples.gmm import GaussianMixture, em
from examples.gmm.data import load_old_faithful, make_synthetic

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
# Runs cut at max_iter on purpose warn (tested in test_gmm_estimator.py).
pytestmark = pytest.mark.filterwarnings("ignore:Best of .* did not converge")


def initial_inits(X, K, covariance_type, seed=0):
    """Seeded initial parameters as weights_init / means_init / precisions_init."""
    weights, means, covs = em.initial_parameters(X, K, covariance_type, 1e-6, "k-means++", seed)
    precisions = em.covariances_from_precisions(covs, covariance_type)  # inverse either way
    return {"weights_init": weights, "means_init": means, "precisions_init": precisions}


def fit_sklearn(X, K, covariance_type, tol, max_iter, inits):
    sk_mixture = pytest.importorskip("sklearn.mixture")
    model = sk_mixture.GaussianMixture(
        K, covariance_type=covariance_type, tol=tol, max_iter=max_iter, **inits
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning with tol=0
        return model.fit(X)


DATASETS = {
    "faithful": lambda: (load_old_faithful(), 3),
    "synthetic": lambda: (make_synthetic(400, 3, 3, seed=5)[0], 3),
}


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_same_path_and_parameters_as_sklearn(dataset, covariance_type):
    X, K = DATASETS[dataset]()
    inits = initial_inits(X, K, covariance_type)
    n = 25
    sk = fit_sklearn(X, K, covariance_type, 0.0, n, inits)
    ours = GaussianMixture(K, covariance_type=covariance_type, tol=0.0, max_iter=n, **inits).fit(X)
    # history_[i]: parameters after i iterations; sklearn's lower_bounds_[i] likewise.
    assert ours.history_.shape == (n + 1,)
    np.testing.assert_allclose(ours.history_[:n], sk.lower_bounds_, rtol=0, atol=1e-6)
    assert ours.lower_bound_ == pytest.approx(sk.lower_bound_, abs=1e-6)
    assert ours.n_iter_ == sk.n_iter_ == n and not ours.converged_
    assert ours.history_[-1] == pytest.approx(sk.score(X), abs=1e-6)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(sk, name), rtol=1e-6, atol=1e-8,
                                   err_msg=name)
    np.testing.assert_allclose(ours.score_samples(X), sk.score_samples(X), atol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    assert ours.bic(X) == pytest.approx(sk.bic(X), abs=1e-4)
    assert ours.aic(X) == pytest.approx(sk.aic(X), abs=1e-4)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_stopping_as_sklearn(covariance_type):
    X, _ = make_synthetic(300, 2, 3, seed=1)
    inits = initial_inits(X, 3, covariance_type, seed=3)
    sk = fit_sklearn(X, 3, covariance_type, 1e-3, 100, inits)
    ours = GaussianMixture(3, covariance_type=covariance_type, tol=1e-3, max_iter=100, **inits).fit(X)
    assert ours.converged_ and sk.converged_
    assert ours.n_iter_ == sk.n_iter_
    assert ours.lower_bound_ == pytest.approx(sk.lower_bound_, abs=1e-8)
    assert ours.lower_bound_ == pytest.approx(ours.history_[ours.n_iter_ - 1])


def test_old_faithful_two_components():
    X = load_old_faithful()
    model = GaussianMixture(2, random_state=0).fit(X)
    assert model.converged_
    assert model.score(X) * X.shape[0] == pytest.approx(-1130.26, abs=0.01)
    assert model.score(X) == pytest.approx(-4.1554, abs=1e-4)
    order = np.argsort(model.means_[:, 0])
    np.testing.assert_allclose(model.weights_[order], [0.356, 0.644], atol=1e-3)
    np.testing.assert_allclose(model.means_[order], [[2.04, 54.5], [4.29, 80.0]], atol=0.05)
    assert np.all(np.diff(model.history_) > -1e-12)  # EM never decreases the likelihood
    assert np.all(np.diff(model.times_) >= 0) and model.times_.shape == model.history_.shape


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_seeded_initialisations(init_params, covariance_type):
    X, _ = make_synthetic(500, 2, 3, seed=8)
    kwargs = dict(init_params=init_params, random_state=4, max_iter=200)
    a = GaussianMixture(3, covariance_type=covariance_type, **kwargs).fit(X)
    b = GaussianMixture(3, covariance_type=covariance_type, **kwargs).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)
    assert a.converged_ and np.isfinite(a.score(X))
    assert np.all(np.diff(a.history_) > -1e-12)
    labels = a.fit_predict(X)
    np.testing.assert_array_equal(labels, a.predict(X))


def test_max_iter_zero_keeps_initial_parameters():
    X = load_old_faithful()
    inits = initial_inits(X, 2, "full")
    model = GaussianMixture(2, max_iter=0, **inits).fit(X)
    assert model.n_iter_ == 0 and model.history_.shape == (1,)
    np.testing.assert_allclose(model.means_, inits["means_init"])
    np.testing.assert_allclose(np.linalg.inv(model.covariances_), inits["precisions_init"])
    assert model.lower_bound_ == pytest.approx(model.score(X))


def test_collapsing_component_recovers_through_reg_covar():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((100, 2)), np.tile([[5.0, 5.0]], (30, 1))])
    model = GaussianMixture(2, random_state=0, max_iter=50).fit(X)
    assert np.all(np.isfinite(model.history_))
    variances = np.linalg.eigvalsh(model.covariances_)
    assert variances.min() >= 1e-6 * (1 - 1e-6)  # reg_covar is the floor
    # a component that owns no point at all keeps a finite, tiny weight
    X2 = np.vstack([X, [[5.0, 5.0]]])
    inits = {"weights_init": np.array([0.5, 0.49, 0.01]),
             "means_init": np.array([[0.0, 0.0], [5.0, 5.0], [1e3, 1e3]]),
             "precisions_init": np.stack([np.eye(2)] * 3)}
    model = GaussianMixture(3, max_iter=20, tol=0, **inits).fit(X2)
    assert np.all(np.isfinite(model.history_)) and model.weights_.min() < 1e-10


def test_zero_regularisation_on_degenerate_data_raises_clearly():
    X = np.tile([[1.0, 2.0]], (10, 1))
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(1, reg_covar=0.0).fit(X)
    model = GaussianMixture(1).fit(X)  # the default reg_covar handles it
    np.testing.assert_allclose(model.covariances_[0], 1e-6 * np.eye(2), atol=1e-20)


def test_sample():
    X = load_old_faithful()
    model = GaussianMixture(2, random_state=0).fit(X)
    Y, labels = model.sample(20000, random_state=1)
    assert Y.shape == (20000, 2) and labels.shape == (20000,)
    np.testing.assert_allclose(np.bincount(labels) / 20000, model.weights_, atol=0.02)
    np.testing.assert_allclose(Y.mean(axis=0), model.weights_ @ model.means_, rtol=0.01)
    for ct in ("tied", "diag", "spherical"):
        assert GaussianMixture(2, covariance_type=ct, random_state=0).fit(X).sample(5)[0].shape == (5, 2)


def test_verbose_prints_progress(capsys):
    GaussianMixture(2, random_state=0, verbose=1, verbose_interval=1).fit(load_old_faithful())
    assert "mean log-likelihood" in capsys.readouterr().out


BAD_FITS = [
    ({}, np.array([[1.0, np.nan], [2.0, 3.0], [1.0, 1.0]]), "NaN"),
    ({}, np.array([[1.0, np.inf], [2.0, 3.0], [1.0, 1.0]]), "infinity"),
    ({"n_components": 5}, np.ones((3, 2)), "n_samples >= n_components"),
    ({"n_components": 0}, np.ones((3, 2)), "n_components"),
    ({"n_components": 1.5}, np.ones((3, 2)), "n_components"),
    ({}, np.ones(5), "2D"),
    ({}, np.ones((2, 2, 2)), "dim"),
    ({}, np.ones((0, 2)), "0 sample"),
    ({}, [["a", "b"]], "convert"),
    ({"covariance_type": "banded"}, np.ones((3, 2)), "covariance_type"),
    ({"method": "bfgs"}, np.ones((3, 2)), "method"),
    ({"init_params": "kmeans++"}, np.ones((3, 2)), "init_params"),
    ({"tol": -1.0}, np.ones((3, 2)), "tol"),
    ({"gtol": -1.0}, np.ones((3, 2)), "gtol"),
    ({"n_init": 0}, np.ones((3, 2)), "n_init"),
    ({"reg_covar": -1.0}, np.ones((3, 2)), "reg_covar"),
    ({"max_iter": -1}, np.ones((3, 2)), "max_iter"),
    ({"weights_init": [0.5, 0.5, 0.0]}, np.ones((3, 2)), "weights_init"),
    ({"weights_init": [0.2, 0.2]}, np.ones((3, 2)), "sum to 1"),
    ({"means_init": np.zeros((2, 3))}, np.ones((3, 2)), "means_init"),
    ({"precisions_init": np.zeros((2, 2, 2))}, np.ones((3, 2)), "positive definite"),
]


@pytest.mark.parametrize("kwargs,X,message", BAD_FITS)
def test_bad_input_raises_value_error(kwargs, X, message):
    params = {"n_components": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        GaussianMixture(**params).fit(X)


def test_using_an_unfitted_or_mismatched_model_raises():
    with pytest.raises(ValueError, match="not fitted"):  # scikit-learn's NotFittedError
        GaussianMixture(2).predict(np.ones((3, 2)))
    model = GaussianMixture(2, random_state=0).fit(load_old_faithful())
    with pytest.raises(ValueError, match="features"):
        model.score(np.ones((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        model.score_samples(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)
