"""A scikit-learn-like ``GaussianMixture`` fitted by EM or by sct gradients.

``GaussianMixture(method="em")`` reproduces scikit-learn's EM (same
conventions, same numbers from the same starting point);
``method="gradient"`` (Armijo gradient ascent) and ``method="adam"`` maximise
the same log-likelihood over unconstrained parameters with gradients from sct
(see :mod:`examples.gmm.gradient`); those two support
``covariance_type="full"`` only.

Besides scikit-learn's fitted attributes the estimator records ``history_``
(mean log-likelihood per point of the parameters after each iteration,
``history_[0]`` being the initial parameters and ``history_[-1]`` the fitted
ones) and ``times_`` (wall time in seconds at which each of those iterates was
known, counted from the end of the initialisation). ``lower_bound_`` follows
scikit-learn for EM (the mean log-likelihood computed in the last E step, i.e.
``history_[n_iter_ - 1]``); for gradient methods it is ``history_[-1]``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import em
from .gradient import METHODS as GRADIENT_METHODS
from .gradient import ValueAndGrad, fit_gradient
from .model import MixtureParams

METHODS = ("em",) + GRADIENT_METHODS


class NotFittedError(AttributeError, ValueError):
    """Raised when a method needing a fitted model is called before ``fit``."""


class GaussianMixture:
    """Gaussian mixture model.

    Args:
        n_components: number of components ``K >= 1``.
        covariance_type: ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``
            (gradient methods: ``"full"`` only).
        tol: stop when the mean log-likelihood per point changes by less than
            this between iterations (``0`` runs ``max_iter`` iterations).
            Gradient methods gain little per iteration even far from the
            optimum, so give them a smaller ``tol`` (or ``0`` and a budget).
        reg_covar: added to covariance diagonals in every EM M step and in
            the initialisation; it keeps a collapsing component's covariance
            positive definite so EM goes on. Gradient methods use it in the
            initialisation only (they maximise the plain likelihood).
        max_iter: maximum number of iterations.
        init_params: ``"kmeans++"`` or ``"random"``: seed points (by
            k-means++ or uniformly) define a hard partition of the data whose
            M step gives the initial parameters.
        random_state: seed (or ``numpy.random.Generator``) of the
            initialisation.
        method: ``"em"``, ``"gradient"`` or ``"adam"``.
        weights_init, means_init, precisions_init: explicit initial
            parameters (shapes as in scikit-learn); each one given replaces
            the corresponding value of the seeded initialisation.
        verbose: if positive, print the log-likelihood every
            ``verbose_interval`` iterations.
        verbose_interval: see ``verbose``.
        learning_rate: Adam's step size (standardised units).
        value_and_grad: builds ``value_and_grad(params)`` for gradient
            methods from (standardised) data; ``None`` uses sct.
    """

    def __init__(
        self,
        n_components: int = 1,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        init_params: str = "kmeans++",
        random_state: em.RandomState = None,
        method: str = "em",
        weights_init: np.ndarray | None = None,
        means_init: np.ndarray | None = None,
        precisions_init: np.ndarray | None = None,
        verbose: int = 0,
        verbose_interval: int = 10,
        learning_rate: float = 0.05,
        value_and_grad: Callable[[np.ndarray], ValueAndGrad] | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.init_params = init_params
        self.random_state = random_state
        self.method = method
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.learning_rate = learning_rate
        self.value_and_grad = value_and_grad

    # ------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------

    def _check_parameters(self) -> None:
        """Raise ``ValueError`` for invalid hyper-parameters."""
        if not isinstance(self.n_components, (int, np.integer)) or self.n_components < 1:
            raise ValueError(f"n_components must be an integer >= 1, got {self.n_components!r}")
        em.check_covariance_type(self.covariance_type)
        if self.method not in METHODS:
            raise ValueError(
                f"unknown method {self.method!r}; expected one of {', '.join(METHODS)}"
            )
        if self.method != "em" and self.covariance_type != "full":
            raise ValueError(
                f"method={self.method!r} supports covariance_type='full' only, "
                f"got {self.covariance_type!r}; use method='em'"
            )
        if self.init_params not in em.INIT_METHODS:
            raise ValueError(
                f"unknown init_params {self.init_params!r}; "
                f"expected one of {', '.join(em.INIT_METHODS)}"
            )
        if not self.tol >= 0:
            raise ValueError(f"tol must be >= 0, got {self.tol!r}")
        if not self.reg_covar >= 0:
            raise ValueError(f"reg_covar must be >= 0, got {self.reg_covar!r}")
        if not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 0:
            raise ValueError(f"max_iter must be an integer >= 0, got {self.max_iter!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")

    def _check_X(self, X: np.ndarray, fitting: bool = False) -> np.ndarray:
        """Return ``X`` as a finite 2-D float array or raise ``ValueError``."""
        try:
            X = np.asarray(X, dtype=float)
        except (TypeError, ValueError) as err:
            raise ValueError(f"X must be a numeric array: {err}") from err
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim}-D")
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"X is empty (shape {X.shape})")
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinity")
        if fitting and X.shape[0] < self.n_components:
            raise ValueError(
                f"need at least n_components={self.n_components} samples, got {X.shape[0]}"
            )
        if not fitting and X.shape[1] != self.means_.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features but the model was fitted with "
                f"{self.means_.shape[1]}"
            )
        return X

    def _check_fitted(self) -> None:
        if not hasattr(self, "means_"):
            raise NotFittedError("this GaussianMixture is not fitted yet; call fit first")

    def _initial_parameters(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Initial ``(weights, means, precisions_cholesky)`` with shape checks."""
        K, D = self.n_components, X.shape[1]
        ct = self.covariance_type
        given = (self.weights_init, self.means_init, self.precisions_init)
        weights = means = prec_chol = None
        if any(value is None for value in given):
            weights, means, covariances = em.initial_parameters(
                X, K, ct, self.reg_covar, self.init_params, self.random_state
            )
            prec_chol = em.compute_precision_cholesky(covariances, ct)
        if self.weights_init is not None:
            weights = _checked_array(self.weights_init, (K,), "weights_init")
            if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, atol=1e-6):
                raise ValueError("weights_init must be non-negative and sum to 1")
        if self.means_init is not None:
            means = _checked_array(self.means_init, (K, D), "means_init")
        if self.precisions_init is not None:
            shape = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K,)}[ct]
            precisions = _checked_array(self.precisions_init, shape, "precisions_init")
            prec_chol = em.precision_cholesky_from_precisions(precisions, ct)
        return weights, means, prec_chol

    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------

    def fit(self, X: np.ndarray, y: object = None) -> "GaussianMixture":
        """Fit the mixture to ``X`` of shape ``(n_samples, n_features)``."""
        self.fit_predict(X)
        return self

    def fit_predict(self, X: np.ndarray, y: object = None) -> np.ndarray:
        """Fit the mixture and return the most probable component of each point."""
        self._check_parameters()
        X = self._check_X(X, fitting=True)
        weights, means, prec_chol = self._initial_parameters(X)
        if self.method == "em":
            self._fit_em(X, weights, means, prec_chol)
        else:
            self._fit_gradient(X, weights, means, prec_chol)
        return self.predict(X)

    def _progress(self, i: int, value: float, *_: object) -> None:
        if i % max(1, self.verbose_interval):
            return
        print(f"  {self.method} iteration {i:4d}  mean log-likelihood {value:.10f}", flush=True)

    def _fit_em(self, X, weights, means, prec_chol) -> None:
        ct = self.covariance_type
        result = em.run_em(
            X, weights, means, prec_chol, ct, self.reg_covar, self.tol, self.max_iter,
            callback=self._progress if self.verbose else None,
        )
        covariances = result.covariances
        if covariances is None:  # max_iter == 0: covariances of the initial precisions
            covariances = em.covariances_from_precisions(
                em.precisions_from_cholesky(result.precisions_cholesky, ct), ct
            )
        self._set_parameters(result.weights, result.means, covariances)
        self.precisions_cholesky_ = result.precisions_cholesky
        self.precisions_ = em.precisions_from_cholesky(self.precisions_cholesky_, ct)
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.lower_bound_ = result.lower_bound
        self.history_ = np.array(result.history)
        self.times_ = np.array(result.times)

    def _fit_gradient(self, X, weights, means, prec_chol) -> None:
        precisions = em.precisions_from_cholesky(prec_chol, "full")
        initial = MixtureParams(weights, means, np.linalg.inv(precisions))
        fitted, result = fit_gradient(
            X, initial, self.method, self.max_iter, self.tol, self.learning_rate,
            make_value_and_grad=self.value_and_grad,
            callback=self._progress if self.verbose else None,
        )
        self._set_parameters(fitted.weights, fitted.means, fitted.covariances)
        self.precisions_cholesky_ = em.compute_precision_cholesky(self.covariances_, "full")
        self.precisions_ = em.precisions_from_cholesky(self.precisions_cholesky_, "full")
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.history_ = np.array(result.history)
        self.times_ = np.array(result.times)
        self.lower_bound_ = float(self.history_[-1])

    def _set_parameters(self, weights, means, covariances) -> None:
        self.weights_ = np.asarray(weights, dtype=float)
        self.means_ = np.asarray(means, dtype=float)
        self.covariances_ = np.asarray(covariances, dtype=float)

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------

    def _log_joint(self, X: np.ndarray) -> np.ndarray:
        """``log pi_k + log N(x_n | k)`` of shape ``(N, K)``."""
        self._check_fitted()
        X = self._check_X(X)
        log_prob = em.log_gaussian_prob(
            X, self.means_, self.precisions_cholesky_, self.covariance_type
        )
        with np.errstate(divide="ignore"):
            return log_prob + np.log(self.weights_)

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Log-density ``log p(x_n)`` of each point, shape ``(N,)``."""
        return em.logsumexp_rows(self._log_joint(X))

    def score(self, X: np.ndarray, y: object = None) -> float:
        """Mean log-likelihood per point."""
        return float(np.mean(self.score_samples(X)))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Posterior component probabilities ``(N, K)``."""
        log_joint = self._log_joint(X)
        return np.exp(log_joint - em.logsumexp_rows(log_joint)[:, None])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable component of each point."""
        return np.argmax(self._log_joint(X), axis=1)

    def sample(
        self, n_samples: int = 1, random_state: em.RandomState = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``(X, labels)`` from the fitted mixture.

        Unlike scikit-learn, points come out in random component order; pass
        ``random_state`` for reproducible draws.
        """
        self._check_fitted()
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        rng = em.as_generator(random_state)
        K, D = self.means_.shape
        covs = em.full_covariances(self.covariances_, self.covariance_type, K, D)
        labels = rng.choice(K, size=n_samples, p=self.weights_ / self.weights_.sum())
        chol = np.linalg.cholesky(covs)
        noise = rng.standard_normal((n_samples, D))
        X = self.means_[labels] + np.einsum("nde,ne->nd", chol[labels], noise)
        return X, labels

    def _n_parameters(self) -> int:
        K, D = self.means_.shape
        return em.n_parameters(K, D, self.covariance_type)

    def bic(self, X: np.ndarray) -> float:
        """Bayesian information criterion (lower is better)."""
        self._check_fitted()
        X = self._check_X(X)
        return -2.0 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X: np.ndarray) -> float:
        """Akaike information criterion (lower is better)."""
        self._check_fitted()
        X = self._check_X(X)
        return -2.0 * self.score(X) * X.shape[0] + 2.0 * self._n_parameters()

    def __repr__(self) -> str:
        return (
            f"GaussianMixture(n_components={self.n_components}, "
            f"covariance_type={self.covariance_type!r}, method={self.method!r})"
        )


def _checked_array(value: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``value`` as a finite float array of ``shape`` or a ``ValueError``."""
    array = np.asarray(value, dtype=float)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    return array
