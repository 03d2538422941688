"""``GaussianMixture``: a scikit-learn estimator fitted by EM or by sct derivatives.

``method="em"`` reproduces scikit-learn's EM (same conventions, same numbers
from the same starting point). ``"gradient"`` (Armijo ascent), ``"adam"``,
``"lbfgs"`` (scipy) and ``"newton"`` (damped Newton with ``sct.hessian``)
maximise the log-likelihood plus the ``reg_covar`` prior over the
unconstrained parameters of :mod:`examples.gmm.parametrisations`, for every
covariance type, with derivatives sct generates from plain NumPy.

With scikit-learn installed the class derives from its ``BaseEstimator`` and
``DensityMixin`` (``clone``, ``Pipeline``, ``GridSearchCV``,
``cross_val_score``, ``check_estimator``); without it a small stand-in gives
``get_params``/``set_params`` and EM still works.

Besides scikit-learn's fitted attributes the estimator records ``history_``
(mean log-likelihood per point after each iteration, ``history_[0]`` at the
start; for gradient methods the value they maximise, log-likelihood plus log
prior), ``times_`` (seconds at which each of those was known) and
``n_evaluations_`` (function, gradient and Hessian evaluations).
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np

from . import em
from .gradient import METHODS as GRADIENT_METHODS
from .gradient import StopRule, fit_gradient

METHODS = ("em",) + GRADIENT_METHODS

try:
    from sklearn.base import BaseEstimator, DensityMixin
    from sklearn.exceptions import ConvergenceWarning, NotFittedError
    from sklearn.utils.validation import check_is_fitted, validate_data

    HAVE_SKLEARN = True
except ImportError:  # scikit-learn is an optional dependency of the examples
    HAVE_SKLEARN = False

    class ConvergenceWarning(UserWarning):
        """A fit stopped at ``max_iter`` before its convergence test was met."""

    class NotFittedError(ValueError, AttributeError):
        """A method needing a fitted model was called before ``fit``."""

    class BaseEstimator:
        """``get_params``/``set_params``/``repr`` from the ``__init__`` signature."""

        @classmethod
        def _param_names(cls) -> list[str]:
            return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {name: getattr(self, name) for name in self._param_names()}

        def set_params(self, **params: Any) -> "BaseEstimator":
            for name, value in params.items():
                if name not in self._param_names():
                    raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}")
                setattr(self, name, value)
            return self

        def __repr__(self) -> str:
            defaults = inspect.signature(type(self).__init__).parameters
            changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                       if not (isinstance(v, type(defaults[k].default)) and v == defaults[k].default)]
            return f"{type(self).__name__}({', '.join(changed)})"

    class DensityMixin:
        """``score`` is the estimator's own."""

    def check_is_fitted(estimator: Any) -> None:
        if not hasattr(estimator, "means_"):
            raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet; call fit")


#: Methods that fit a Dask array (larger than memory, or on a ``dask.distributed`` cluster).
LAZY_METHODS = ("gradient", "adam", "lbfgs")
#: Rows of a Dask array the initialisation (k-means) reads: evenly spaced, computed once.
INIT_SAMPLE = 100_000


def _is_dask(X: Any) -> bool:
    return type(X).__module__.startswith("dask.")


def _sample_rows(X: Any, n: int) -> np.ndarray:
    """At most ``n`` evenly spaced rows of the Dask array ``X``, in memory."""
    step = max(1, X.shape[0] // n)
    return np.asarray(X[::step].compute(), dtype=np.float64)


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture model (scikit-learn's parameters, plus ``method`` and its options).

    Args:
        n_components: number of components ``K >= 1``.
        covariance_type: ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``.
        tol: EM stops when the mean log-likelihood per point changes by less
            than this; gradient methods when it rose by less than this over
            the last ``window`` iterations (``0``: never by this test).
        reg_covar: EM adds it to covariance diagonals in every M step;
            gradient methods maximise the log-likelihood plus an
            inverse-Wishart-type prior of scale ``reg_covar`` (see
            :mod:`examples.gmm.parametrisations`). Either way no component
            collapses to a point.
        max_iter: maximum number of iterations per initialisation.
        n_init: number of initialisations; the best fit is kept.
        init_params: ``"kmeans"`` (default), ``"k-means++"``, ``"random"`` or
            ``"random_from_data"`` (see :func:`examples.gmm.em.initial_responsibilities`).
        weights_init, means_init, precisions_init: explicit initial parameters
            (scikit-learn's shapes); each one given replaces the seeded value.
        random_state: seed of the initialisation and of :meth:`sample`.
        warm_start: start the next ``fit`` from the current fit (``n_init``
            is then ignored).
        verbose, verbose_interval: print the log-likelihood every
            ``verbose_interval`` iterations when ``verbose > 0``.
        method: ``"em"``, ``"gradient"``, ``"adam"``, ``"lbfgs"`` or ``"newton"``.
        gtol: gradient methods converge when the largest entry of the gradient
            (mean per point, on standardised data) is below this.
        window: see ``tol``.
        learning_rate: Adam's initial step size (standardised units).
        newton_max_params: Newton refuses models with more free parameters
            (its Hessian costs one tangent sweep per parameter).
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: np.ndarray | None = None,
        means_init: np.ndarray | None = None,
        precisions_init: np.ndarray | None = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        method: str = "em",
        gtol: float = 1e-5,
        window: int = 10,
        learning_rate: float = 0.05,
        newton_max_params: int = 200,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.method = method
        self.gtol = gtol
        self.window = window
        self.learning_rate = learning_rate
        self.newton_max_params = newton_max_params

    # ------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------

    def _check_parameters(self) -> None:
        """Raise ``ValueError`` for invalid hyper-parameters."""
        def integer(name: str, low: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")

        integer("n_components", 1)
        integer("max_iter", 0)
        integer("n_init", 1)
        integer("window", 1)
        integer("newton_max_params", 1)
        em.check_covariance_type(self.covariance_type)
        for name, allowed in (("method", METHODS), ("init_params", em.INIT_METHODS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; "
                                 f"expected one of {', '.join(allowed)}")
        for name in ("tol", "reg_covar", "gtol"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")

    def _validate(self, X: Any, reset: bool) -> np.ndarray:
        """``X`` as a finite 2-D float64/float32 array (sets ``n_features_in_`` when ``reset``).

        A Dask array stays lazy: its shape and dtype are checked, its values are not (that would read it)."""
        if _is_dask(X):
            return self._validate_lazy(X, reset)
        if HAVE_SKLEARN:
            return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32],
                                 ensure_min_samples=2 if reset else 1)
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        if X.ndim != 2 or X.shape[0] < (2 if reset else 1) or X.shape[1] < 1:
            raise ValueError(f"X must be 2-D with at least 2 samples, got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("Input X contains NaN or infinity.")
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        return X

    def _validate_lazy(self, X: Any, reset: bool) -> Any:
        if self.method not in LAZY_METHODS:
            raise ValueError(f"method={self.method!r} needs the data in memory; on a Dask array use one of "
                             f"{LAZY_METHODS} (each iteration evaluates the gradient as one Dask graph)")
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
            raise ValueError(f"X must be 2-D with at least 2 samples, got shape {X.shape}")
        if reset:
            self.n_features_in_ = X.shape[1]
        return X

    def _initial_parameters(self, X: np.ndarray, rng: np.random.Generator):
        """Initial ``(weights, means, covariances)`` (seeded, then any ``*_init`` given)."""
        K, D = self.n_components, X.shape[1]
        ct = self.covariance_type
        weights, means, covariances = em.initial_parameters(
            X, K, ct, self.reg_covar, self.init_params, rng)
        if self.weights_init is not None:
            weights = _checked_array(self.weights_init, (K,), "weights_init")
            if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, atol=1e-6):
                raise ValueError("weights_init must be non-negative and sum to 1")
        if self.means_init is not None:
            means = _checked_array(self.means_init, (K, D), "means_init")
        if self.precisions_init is not None:
            shape = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K,)}[ct]
            precisions = _checked_array(self.precisions_init, shape, "precisions_init")
            em.precision_cholesky_from_precisions(precisions, ct)  # raises unless positive definite
            covariances = em.covariances_from_precisions(precisions, ct)
        return weights, means, covariances

    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------

    def fit(self, X: Any, y: object = None) -> "GaussianMixture":
        """Fit the mixture to ``X`` (``n_samples x n_features``); return ``self``.

        Runs ``n_init`` initialisations (one with ``warm_start`` after a fit)
        and keeps the one with the highest final log-likelihood; warns with a
        ``ConvergenceWarning`` if that one stopped at ``max_iter``.
        """
        self._check_parameters()
        warm = bool(self.warm_start) and hasattr(self, "converged_")
        X = self._validate(X, reset=not warm)
        if X.shape[0] < self.n_components:
            raise ValueError(f"Expected n_samples >= n_components but got "
                             f"n_components = {self.n_components}, n_samples = {X.shape[0]}")
        lazy = _is_dask(X)
        X64 = X.astype(np.float64) if lazy else np.asarray(X, dtype=np.float64)
        rng = em.as_generator(self.random_state)
        seeds = _sample_rows(X64, INIT_SAMPLE) if lazy else X64  # (k-means on a sample of a Dask array)
        best = None
        for _ in range(1 if warm else self.n_init):
            start = (self.weights_, self.means_, self.covariances_) if warm \
                else self._initial_parameters(seeds, rng)
            fitted = self._fit_once(X64, start)
            if best is None or fitted["lower_bound_"] > best["lower_bound_"]:
                best = fitted
        self._set_fitted(best, X.dtype)
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                f"Best of {1 if warm else self.n_init} initialisation(s) did not converge "
                f"within max_iter={self.max_iter} iterations (method={self.method!r}). Try a "
                "larger max_iter, a larger tol or gtol, or check the data's scaling.",
                ConvergenceWarning, stacklevel=2)
        return self

    def fit_predict(self, X: Any, y: object = None) -> np.ndarray:
        """Fit the mixture and return the most probable component of each point."""
        return self.fit(X).predict(X)

    def _progress(self, i: int, value: float) -> None:
        if self.verbose and i % max(1, self.verbose_interval) == 0:
            print(f"  {self.method} iteration {i:4d}  mean log-likelihood {value:.10f}", flush=True)

    def _fit_once(self, X: np.ndarray, start) -> dict[str, Any]:
        """One fit from ``start = (weights, means, covariances)``; the fitted attributes."""
        ct = self.covariance_type
        weights, means, covariances = start
        if self.method == "em":
            prec_chol = em.compute_precision_cholesky(covariances, ct)
            r = em.run_em(X, weights, means, prec_chol, ct, self.reg_covar, self.tol,
                          self.max_iter, callback=self._progress)
            if r.covariances is not None:
                covariances = r.covariances
            n = len(r.history) - 1
            return {"weights_": r.weights, "means_": r.means, "covariances_": covariances,
                    "converged_": r.converged, "n_iter_": r.n_iter,
                    "lower_bound_": r.lower_bound, "lower_bounds_": r.history[:max(n, 1)],
                    "history_": r.history, "times_": r.times,
                    "n_evaluations_": {"function": n + 1, "gradient": 0, "hessian": 0}}
        fit = fit_gradient(
            X, (weights, means, covariances), ct, self.method, self.reg_covar, self.max_iter,
            StopRule(self.gtol, self.tol, self.window), self.learning_rate,
            self.newton_max_params, callback=self._progress)
        r = fit.result
        return {"weights_": fit.weights, "means_": fit.means, "covariances_": fit.covariances,
                "converged_": r.converged, "n_iter_": r.n_iter, "lower_bound_": r.history[-1],
                "lower_bounds_": r.history[1:] or r.history, "history_": r.history,
                "times_": r.times, "n_evaluations_": fit.evaluations}

    def _set_fitted(self, fitted: dict[str, Any], dtype: np.dtype) -> None:
        ct = self.covariance_type
        prec_chol = em.compute_precision_cholesky(fitted["covariances_"], ct)
        arrays = {"weights_": fitted["weights_"], "means_": fitted["means_"],
                  "covariances_": fitted["covariances_"],
                  "precisions_cholesky_": prec_chol,
                  "precisions_": em.precisions_from_cholesky(prec_chol, ct)}
        for name, value in arrays.items():  # float32 data gives float32 parameters
            setattr(self, name, np.asarray(value, dtype=dtype))
        self.converged_ = bool(fitted["converged_"])
        self.n_iter_ = int(fitted["n_iter_"])
        self.lower_bound_ = float(fitted["lower_bound_"])
        self.lower_bounds_ = list(fitted["lower_bounds_"])
        self.history_ = np.asarray(fitted["history_"], dtype=float)
        self.times_ = np.asarray(fitted["times_"], dtype=float)
        self.n_evaluations_ = dict(fitted["n_evaluations_"])

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------

    def _log_joint(self, X: Any) -> tuple[np.ndarray, np.dtype]:
        """``log pi_k + log N(x_n | k)`` of shape ``(N, K)``, and the input's dtype."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        prec_chol = np.asarray(self.precisions_cholesky_, dtype=float)
        log_prob = em.log_gaussian_prob(np.asarray(X, float), np.asarray(self.means_, float),
                                        prec_chol, self.covariance_type)
        with np.errstate(divide="ignore"):
            return log_prob + np.log(np.asarray(self.weights_, float)), X.dtype

    def score_samples(self, X: Any) -> np.ndarray:
        """Log-density ``log p(x_n)`` of each point, shape ``(N,)``."""
        log_joint, dtype = self._log_joint(X)
        return em.logsumexp_rows(log_joint).astype(dtype)

    def score(self, X: Any, y: object = None) -> float:
        """Mean log-likelihood per point."""
        return float(np.mean(self.score_samples(X)))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior component probabilities ``(N, K)``."""
        log_joint, dtype = self._log_joint(X)
        return np.exp(log_joint - em.logsumexp_rows(log_joint)[:, None]).astype(dtype)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable component of each point."""
        return np.argmax(self._log_joint(X)[0], axis=1)

    def sample(self, n_samples: int = 1, random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``(X, labels)`` from the fitted mixture, grouped by component.

        The draws come from ``random_state`` if given, else from the
        estimator's ``random_state``: with an integer there, the same call
        gives the same sample every time.
        """
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
                or n_samples < 1:
            raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
        rng = em.as_generator(self.random_state if random_state is None else random_state)
        K, D = self.means_.shape
        weights = np.asarray(self.weights_, float)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        covs = em.full_covariances(np.asarray(self.covariances_, float), self.covariance_type,
                                   K, D)
        chol = np.linalg.cholesky(covs)
        parts = [self.means_[k] + rng.standard_normal((c, D)) @ chol[k].T
                 for k, c in enumerate(counts)]
        return np.vstack(parts).astype(float), np.repeat(np.arange(K), counts)

    def _n_parameters(self) -> int:
        K, D = self.means_.shape
        return em.n_parameters(K, D, self.covariance_type)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion (lower is better)."""
        n = np.shape(X)[0]
        return -2.0 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X: Any) -> float:
        """Akaike information criterion (lower is better)."""
        return -2.0 * self.score(X) * np.shape(X)[0] + 2.0 * self._n_parameters()


def _checked_array(value: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``value`` as a finite float array of ``shape`` or a ``ValueError``."""
    array = np.asarray(value, dtype=float)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    return array
