"""Expectation-maximisation for Gaussian mixtures (closed-form E and M steps).

The conventions follow scikit-learn's ``GaussianMixture`` so that both can be
compared number for number when started from the same parameters:

* covariance types ``"full"`` (``(K, D, D)``), ``"tied"`` (one ``(D, D)``),
  ``"diag"`` (``(K, D)``) and ``"spherical"`` (``(K,)``);
* ``reg_covar`` is added to the diagonal of every covariance in the M step,
  and the component counts get ``10 * eps`` added before dividing;
* "precision Cholesky" arrays ``P`` satisfy ``precision = P P^T``; from a
  covariance ``C = L L^T`` the factor is ``P = L^-T`` (upper triangular);
* one iteration is an E step on the current parameters followed by an M step;
  the value compared with ``tol`` is the mean log-likelihood per sample of the
  parameters *before* that M step, and the loop stops when its absolute change
  is below ``tol``.

Collapsing components: when a component shrinks onto a point (or loses all its
points) the M step still returns a covariance with at least ``reg_covar`` on
the diagonal and a weight of at least ``10 * eps / N``, so the iteration goes
on with a finite log-likelihood; the component either recovers or stays
negligible. Only if a covariance is not positive definite even after
regularisation (for example with data on a scale where ``reg_covar`` is
negligible) is a ``ValueError`` raised, with advice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")

_ILL_DEFINED = (
    "Fitting the mixture model failed because some components have an "
    "ill-defined empirical covariance (for instance caused by singleton or "
    "collapsed samples). Try to decrease the number of components, increase "
    "reg_covar, or scale the input data."
)

RandomState = int | np.random.Generator | None


def check_covariance_type(covariance_type: str) -> str:
    """Return ``covariance_type`` or raise ``ValueError`` if it is unknown."""
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"unknown covariance_type {covariance_type!r}; "
            f"expected one of {', '.join(COVARIANCE_TYPES)}"
        )
    return covariance_type


def as_generator(random_state: RandomState) -> np.random.Generator:
    """A NumPy ``Generator`` from a seed, ``None`` or an existing generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):  # scikit-learn passes these
        return np.random.default_rng(random_state.randint(2**31 - 1))
    return np.random.default_rng(random_state)


# ---------------------------------------------------------------------------
# Covariance / precision conversions
# ---------------------------------------------------------------------------


def compute_precision_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Precision Cholesky factors ``P`` (``precision = P P^T``) from covariances.

    Raises:
        ValueError: if a covariance is not positive definite.
    """
    covariances = np.asarray(covariances, dtype=float)
    if covariance_type in ("full", "tied"):
        try:
            cov_chol = np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError as err:
            raise ValueError(_ILL_DEFINED) from err
        eye = np.broadcast_to(np.eye(covariances.shape[-1]), covariances.shape)
        return np.swapaxes(np.linalg.solve(cov_chol, eye), -1, -2)
    if np.any(~(covariances > 0.0)):
        raise ValueError(_ILL_DEFINED)
    return 1.0 / np.sqrt(covariances)


def precision_cholesky_from_precisions(
    precisions: np.ndarray, covariance_type: str
) -> np.ndarray:
    """Precision Cholesky factors from precisions (lower factor for full/tied)."""
    precisions = np.asarray(precisions, dtype=float)
    if covariance_type in ("full", "tied"):
        try:
            return np.linalg.cholesky(precisions)
        except np.linalg.LinAlgError as err:
            raise ValueError("precisions must be symmetric positive definite") from err
    if np.any(~(precisions > 0.0)):
        raise ValueError("precisions must be positive")
    return np.sqrt(precisions)


def precisions_from_cholesky(prec_chol: np.ndarray, covariance_type: str) -> np.ndarray:
    """Precisions ``P P^T`` (or ``P**2`` for diag/spherical)."""
    if covariance_type in ("full", "tied"):
        return prec_chol @ np.swapaxes(prec_chol, -1, -2)
    return prec_chol**2


def covariances_from_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Covariances as the inverse of the precisions."""
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(precisions)
    return 1.0 / precisions


def full_covariances(
    covariances: np.ndarray, covariance_type: str, n_components: int, n_features: int
) -> np.ndarray:
    """Expand covariances of any type to ``(K, D, D)`` full matrices."""
    K, D = n_components, n_features
    c = np.asarray(covariances, dtype=float)
    if covariance_type == "full":
        return c.copy()
    if covariance_type == "tied":
        return np.broadcast_to(c, (K, D, D)).copy()
    if covariance_type == "diag":
        return c[:, :, None] * np.eye(D)
    return c[:, None, None] * np.eye(D)


def n_covariance_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """Number of free covariance parameters of a mixture."""
    K, D = n_components, n_features
    return {
        "full": K * D * (D + 1) // 2,
        "tied": D * (D + 1) // 2,
        "diag": K * D,
        "spherical": K,
    }[check_covariance_type(covariance_type)]


def n_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """Number of free parameters (weights, means, covariances) of a mixture."""
    K, D = n_components, n_features
    return (K - 1) + K * D + n_covariance_parameters(K, D, covariance_type)


# ---------------------------------------------------------------------------
# E step
# ---------------------------------------------------------------------------


def log_gaussian_prob(
    X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray, covariance_type: str
) -> np.ndarray:
    """``log N(x_n | mu_k, Sigma_k)`` for every point and component, ``(N, K)``."""
    N, D = X.shape
    K = means.shape[0]
    log_prob = np.empty((N, K))
    for k in range(K):
        diff = X - means[k]
        if covariance_type == "full":
            y = diff @ prec_chol[k]
            log_det = np.sum(np.log(np.diag(prec_chol[k])))
        elif covariance_type == "tied":
            y = diff @ prec_chol
            log_det = np.sum(np.log(np.diag(prec_chol)))
        elif covariance_type == "diag":
            y = diff * prec_chol[k]
            log_det = np.sum(np.log(prec_chol[k]))
        else:
            y = diff * prec_chol[k]
            log_det = D * np.log(prec_chol[k])
        log_prob[:, k] = log_det - 0.5 * np.sum(y * y, axis=1)
    return log_prob - 0.5 * D * np.log(2.0 * np.pi)


def logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """``log(sum(exp(a), axis=1))`` computed stably."""
    m = np.max(a, axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.log(np.sum(np.exp(a - m), axis=1)) + m[:, 0]


def e_step(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    prec_chol: np.ndarray,
    covariance_type: str,
) -> tuple[np.ndarray, np.ndarray]:
    """E step.

    Returns:
        ``(log_prob, log_resp)``: the per-sample log-likelihood ``(N,)`` and the
        log-responsibilities ``(N, K)``.
    """
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    weighted = log_gaussian_prob(X, means, prec_chol, covariance_type) + log_weights
    log_prob = logsumexp_rows(weighted)
    return log_prob, weighted - log_prob[:, None]


# ---------------------------------------------------------------------------
# M step
# ---------------------------------------------------------------------------


def m_step(
    X: np.ndarray, resp: np.ndarray, reg_covar: float, covariance_type: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M step: maximum-likelihood parameters given responsibilities ``(N, K)``.

    Returns:
        ``(weights, means, covariances)`` with covariances shaped by type.
    """
    D = X.shape[1]
    nk = resp.sum(axis=0) + 10.0 * np.finfo(resp.dtype).eps
    means = (resp.T @ X) / nk[:, None]
    if covariance_type == "full":
        covs = []
        for k in range(means.shape[0]):
            diff = X - means[k]
            covs.append((resp[:, k] * diff.T) @ diff / nk[k] + reg_covar * np.eye(D))
        covariances = np.stack(covs)
    elif covariance_type == "tied":
        cov = (X.T @ X - (nk * means.T) @ means) / nk.sum()
        covariances = cov + reg_covar * np.eye(D)
    else:
        diag = (resp.T @ (X * X)) / nk[:, None] - means**2 + reg_covar
        covariances = diag if covariance_type == "diag" else diag.mean(axis=1)
    return nk / nk.sum(), means, covariances


# ---------------------------------------------------------------------------
# Initialisation
# ---------------------------------------------------------------------------


def kmeans_plusplus(
    X: np.ndarray, n_components: int, rng: np.random.Generator, n_trials: int | None = None
) -> np.ndarray:
    """Indices of ``n_components`` seed points chosen by greedy k-means++.

    The first seed is uniform. Each next one is the best of ``n_trials``
    candidates drawn with probability proportional to the squared distance
    to the nearest seed so far, "best" meaning the smallest resulting sum of
    squared distances (Arthur and Vassilvitskii, 2007; ``n_trials`` defaults
    to ``2 + floor(log K)``).
    """
    N = X.shape[0]
    if n_trials is None:
        n_trials = 2 + int(np.log(n_components))
    indices = [int(rng.integers(N))]
    d2 = np.sum((X - X[indices[0]]) ** 2, axis=1)
    for _ in range(1, n_components):
        total = d2.sum()
        p = d2 / total if total > 0 else np.full(N, 1.0 / N)
        candidates = rng.choice(N, size=n_trials, p=p)
        cand_d2 = np.sum((X[None, :, :] - X[candidates][:, None, :]) ** 2, axis=2)
        new_d2 = np.minimum(d2, cand_d2)
        best = int(np.argmin(new_d2.sum(axis=1)))
        indices.append(int(candidates[best]))
        d2 = new_d2[best]
    return np.array(indices)


def lloyd(X: np.ndarray, centres: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Labels of k-means (Lloyd's iterations from ``centres`` until no label changes)."""
    sq = np.sum(X * X, axis=1)[:, None]
    labels = None
    for _ in range(max_iter):
        d2 = sq - 2.0 * X @ centres.T + np.sum(centres**2, axis=1)
        new = np.argmin(d2, axis=1)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        for k in range(centres.shape[0]):
            members = X[labels == k]
            if members.shape[0]:  # an empty cluster keeps its centre
                centres[k] = members.mean(axis=0)
    return labels


def _hard(labels: np.ndarray, n_components: int) -> np.ndarray:
    resp = np.zeros((labels.size, n_components))
    resp[np.arange(labels.size), labels] = 1.0
    return resp


def initial_responsibilities(
    X: np.ndarray,
    n_components: int,
    init_params: str,
    random_state: RandomState,
    n_seedings: int = 1,
) -> np.ndarray:
    """``(N, K)`` responsibilities to start from, as scikit-learn's ``init_params``.

    * ``"kmeans"``: the clusters of k-means (Lloyd's iterations from a greedy
      k-means++ seeding);
    * ``"k-means++"``: each point to its nearest of K greedy k-means++ seeds;
    * ``"random_from_data"``: each point to its nearest of K data points drawn
      uniformly (scikit-learn gives the seeds alone responsibility 1 instead,
      which starts every covariance at ``reg_covar``);
    * ``"random"``: uniform random responsibilities, normalised per point:
      every component starts near the data's mean and covariance, a
      deliberately poor, nearly symmetric start.

    For the seeded modes, ``n_seedings > 1`` keeps the seeding with the smallest
    sum of squared distances to the nearest seed.
    """
    rng = as_generator(random_state)
    K = n_components
    if init_params == "random":
        resp = rng.uniform(size=(X.shape[0], K))
        return resp / resp.sum(axis=1, keepdims=True)
    if init_params not in INIT_METHODS:
        raise ValueError(
            f"unknown init_params {init_params!r}; expected one of {', '.join(INIT_METHODS)}"
        )
    sq = np.sum(X * X, axis=1)[:, None]
    best_cost, best_seeds = np.inf, None
    for _ in range(max(1, n_seedings)):
        if init_params == "random_from_data":
            seeds = rng.choice(X.shape[0], size=K, replace=False)
        else:
            seeds = kmeans_plusplus(X, K, rng)
        d2 = sq - 2.0 * X @ X[seeds].T + np.sum(X[seeds] ** 2, axis=1)
        cost = float(np.sum(np.min(d2, axis=1)))
        if best_seeds is None or cost < best_cost:
            best_cost, best_seeds = cost, seeds
    if init_params == "kmeans":
        labels = lloyd(X, X[best_seeds].astype(float))
    else:
        d2 = sq - 2.0 * X @ X[best_seeds].T + np.sum(X[best_seeds] ** 2, axis=1)
        labels = np.argmin(d2, axis=1)
        labels[best_seeds] = np.arange(K)  # every seed owns at least itself
    return _hard(labels, K)


def initial_parameters(
    X: np.ndarray,
    n_components: int,
    covariance_type: str,
    reg_covar: float,
    init_params: str,
    random_state: RandomState,
    n_seedings: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(weights, means, covariances)``: the M step of :func:`initial_responsibilities`."""
    resp = initial_responsibilities(X, n_components, init_params, random_state, n_seedings)
    return m_step(X, resp, reg_covar, covariance_type)


# ---------------------------------------------------------------------------
# The EM loop
# ---------------------------------------------------------------------------


@dataclass
class EMResult:
    """Outcome of :func:`run_em`.

    ``history[i]`` is the mean log-likelihood per sample of the parameters
    after ``i`` iterations (``history[0]``: initial parameters,
    ``history[-1]``: returned parameters) and ``times[i]`` the wall time in
    seconds since the start of the loop at which those parameters were known.
    ``lower_bound`` follows scikit-learn: the value of the last E step, i.e.
    ``history[n_iter - 1]``.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray | None
    precisions_cholesky: np.ndarray
    converged: bool
    n_iter: int
    lower_bound: float
    history: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    log_resp: np.ndarray | None = None


def run_em(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    prec_chol: np.ndarray,
    covariance_type: str = "full",
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
    callback: Callable[[int, float], None] | None = None,
) -> EMResult:
    """Run EM from ``(weights, means, prec_chol)``.

    Args:
        X: ``(N, D)`` data.
        weights, means, prec_chol: initial parameters (precision Cholesky
            factors as in :func:`compute_precision_cholesky`).
        covariance_type: one of :data:`COVARIANCE_TYPES`.
        reg_covar: added to covariance diagonals in every M step.
        tol: stop when the mean log-likelihood changes by less than this.
        max_iter: maximum number of iterations.
        callback: called as ``callback(i, mean_loglik)`` after each E step,
            ``mean_loglik`` being the value of the parameters after ``i``
            iterations.

    Returns:
        An :class:`EMResult`.

    Raises:
        FloatingPointError: if the log-likelihood becomes NaN.
    """
    check_covariance_type(covariance_type)
    covariances = None
    history: list[float] = []
    times: list[float] = []
    lower_bound = -np.inf
    converged = False
    n_iter = 0
    start = time.perf_counter()
    elapsed = 0.0
    for n_iter in range(1, max_iter + 1):
        previous = lower_bound
        log_prob, log_resp = e_step(X, weights, means, prec_chol, covariance_type)
        lower_bound = _checked_mean(log_prob, n_iter - 1)
        history.append(lower_bound)
        times.append(elapsed)
        if callback is not None:
            callback(n_iter - 1, lower_bound)
        weights, means, covariances = m_step(X, np.exp(log_resp), reg_covar, covariance_type)
        prec_chol = compute_precision_cholesky(covariances, covariance_type)
        elapsed = time.perf_counter() - start
        if abs(lower_bound - previous) < tol:
            converged = True
            break
    log_prob, log_resp = e_step(X, weights, means, prec_chol, covariance_type)
    history.append(_checked_mean(log_prob, n_iter))
    times.append(elapsed)
    if callback is not None:
        callback(n_iter, history[-1])
    if max_iter == 0:
        lower_bound = history[-1]
    return EMResult(
        weights, means, covariances, prec_chol, converged, n_iter, float(lower_bound),
        history, times, log_resp,
    )


def _checked_mean(log_prob: np.ndarray, iteration: int) -> float:
    """Mean of per-sample log-likelihoods; raise instead of returning NaN."""
    value = float(np.mean(log_prob))
    if np.isnan(value):
        raise FloatingPointError(
            f"EM: the log-likelihood became NaN at iteration {iteration}; "
            "check the data for extreme values or increase reg_covar"
        )
    return value
