"""One unconstrained parametrisation per covariance type, as plain NumPy sct differentiates.

Gradient, L-BFGS and Newton fitting need parameters that can take *any* real
value and still describe a valid mixture. Each covariance type gets its own
flat vector ``theta`` of exactly :func:`n_free` numbers (as many as the model
has degrees of freedom, so that the Hessian at a strict maximum is invertible):

=============  ==============================================================
``logits``     ``K - 1`` free logits; the last one is fixed at 0, and the
               weights are their softmax
``means``      ``K * D`` component means
covariances    through the Cholesky factor ``L`` of the *precision*
               ``Sigma^-1 = L L^T``, with a log-parametrised diagonal:

               * ``full``: per component ``D`` log-diagonal entries, then
                 ``D (D - 1) / 2`` strictly-lower entries
               * ``tied``: the same, once for all components
               * ``diag``: ``K * D`` values ``log(1 / sigma_kd)``
               * ``spherical``: ``K`` values ``log(1 / sigma_k)``
=============  ==============================================================

With ``y = L^T (x - mu_k)`` the component log-density is
``-D/2 log 2pi + sum(log diag L) - |y|^2 / 2`` — no inverse, no determinant.

**reg_covar as a prior.** Each objective adds ``-1/2 sum_d w_d (L L^T)_dd``
per component (``w = reg_covar`` per coordinate in the data's units): the log
of an (improper) inverse-Wishart prior with scale ``reg_covar * I``, whose
M step would be ``Sigma_k = S_k + reg_covar / N_k * I``. It makes the
objective bounded above: a component shrinking onto a point gains
``-D/2 log sigma^2`` but pays ``w D / (2 sigma^2)``, so no method can run off
to an infinite likelihood. At a well-posed optimum it moves the
log-likelihood by ~``reg_covar * tr(Sigma^-1)``, far below 1e-4.

The four ``objective_*`` functions share the signature
``(theta, X, prior, tril_map, K)`` and return the *penalised total*
log-likelihood; they are the code sct differentiates (``value_and_grad`` for
the first-order methods, ``hessian`` for Newton).
"""

from __future__ import annotations

import numpy as np

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


# ---------------------------------------------------------------------------
# The differentiated code: plain NumPy
# ---------------------------------------------------------------------------


def log_weights(free_logits):
    """``log softmax([free_logits, 0])``: K log-weights from K - 1 free logits."""
    logits = np.concatenate([free_logits, np.zeros(1)])
    m = np.max(logits)
    return logits - m - np.log(np.sum(np.exp(logits - m)))


def total_logsumexp(log_joint):
    """``sum_n log sum_k exp(log_joint[n, k])``, shifted by the row maxima for stability."""
    m = np.max(log_joint, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(log_joint - m), axis=1)) + m[:, 0])


def cholesky_factors(log_diag, offdiag, tril_map):
    """Lower factors ``diag(exp(log_diag)) + strictly-lower(offdiag)``, shape ``(..., D, D)``.

    ``tril_map`` (``M x D*D``, 0/1) places the ``M = D (D - 1) / 2`` free
    entries below the diagonal: a matrix product, so no indexed writes.
    """
    D = log_diag.shape[-1]
    lower = (offdiag @ tril_map).reshape(log_diag.shape + (D,))
    return np.exp(log_diag)[..., :, None] * np.eye(D) + lower


def objective_full(theta, X, prior, tril_map, K):
    """Penalised total log-likelihood, one precision factor per component."""
    N, D = X.shape
    a = K - 1
    b = a + K * D
    c = b + K * D
    log_w = log_weights(theta[:a])
    means = theta[a:b].reshape(K, D)
    log_diag = theta[b:c].reshape(K, D)
    chol = cholesky_factors(log_diag, theta[c:].reshape(K, tril_map.shape[0]), tril_map)
    # y[n, k, 0] = (x_n - mu_k)^T L_k: a batched matmul (cheaper than einsum, also to differentiate)
    y = (X[:, None, None, :] - means[None, :, None, :]) @ chol
    log_joint = log_w + np.sum(log_diag, axis=1) - 0.5 * np.sum(y * y, axis=(2, 3))
    penalty = 0.5 * np.sum(prior[:, None] * chol * chol)
    return total_logsumexp(log_joint) - 0.5 * N * D * np.log(2.0 * np.pi) - penalty


def objective_tied(theta, X, prior, tril_map, K):
    """Penalised total log-likelihood, one precision factor shared by all components."""
    N, D = X.shape
    a = K - 1
    b = a + K * D
    c = b + D
    log_w = log_weights(theta[:a])
    means = theta[a:b].reshape(K, D)
    log_diag = theta[b:c]
    chol = cholesky_factors(log_diag, theta[c:], tril_map)
    y = (X[:, None, :] - means[None, :, :]) @ chol
    log_joint = log_w + np.sum(log_diag) - 0.5 * np.sum(y * y, axis=2)
    penalty = 0.5 * np.sum(prior[:, None] * chol * chol)
    return total_logsumexp(log_joint) - 0.5 * N * D * np.log(2.0 * np.pi) - penalty


def objective_diag(theta, X, prior, tril_map, K):
    """Penalised total log-likelihood, diagonal covariances (``tril_map`` unused)."""
    N, D = X.shape
    a = K - 1
    b = a + K * D
    log_w = log_weights(theta[:a])
    means = theta[a:b].reshape(K, D)
    log_prec = theta[b:].reshape(K, D)
    y = (X[:, None, :] - means[None, :, :]) * np.exp(log_prec)
    log_joint = log_w + np.sum(log_prec, axis=1) - 0.5 * np.sum(y * y, axis=2)
    penalty = 0.5 * np.sum(prior * np.exp(2.0 * log_prec))
    return total_logsumexp(log_joint) - 0.5 * N * D * np.log(2.0 * np.pi) - penalty


def objective_spherical(theta, X, prior, tril_map, K):
    """Penalised total log-likelihood, one variance per component (``tril_map`` unused)."""
    N, D = X.shape
    a = K - 1
    b = a + K * D
    log_w = log_weights(theta[:a])
    means = theta[a:b].reshape(K, D)
    log_prec = theta[b:]
    y = (X[:, None, :] - means[None, :, :]) * np.exp(log_prec)[:, None]
    log_joint = log_w + D * log_prec - 0.5 * np.sum(y * y, axis=2)
    penalty = 0.5 * np.sum(prior) * np.sum(np.exp(2.0 * log_prec))
    return total_logsumexp(log_joint) - 0.5 * N * D * np.log(2.0 * np.pi) - penalty


OBJECTIVES = {
    "full": objective_full,
    "tied": objective_tied,
    "diag": objective_diag,
    "spherical": objective_spherical,
}


# ---------------------------------------------------------------------------
# Conversions (ordinary NumPy, not differentiated)
# ---------------------------------------------------------------------------


def tril_map(n_features: int) -> np.ndarray:
    """The 0/1 matrix ``(D (D - 1) / 2, D * D)`` placing free entries below the diagonal."""
    D = n_features
    rows, cols = np.tril_indices(D, -1)
    out = np.zeros((rows.size, D * D))
    out[np.arange(rows.size), rows * D + cols] = 1.0
    return out


def n_free(covariance_type: str, n_components: int, n_features: int) -> int:
    """Length of ``theta``: the number of free parameters of the mixture."""
    K, D = n_components, n_features
    cov = {"full": K * D * (D + 1) // 2, "tied": D * (D + 1) // 2, "diag": K * D, "spherical": K}
    return K - 1 + K * D + cov[covariance_type]


def _precision_factor(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of ``inv(cov)`` for ``(..., D, D)`` covariances."""
    precision = np.linalg.inv(cov)
    return np.linalg.cholesky(0.5 * (precision + np.swapaxes(precision, -1, -2)))


def to_theta(
    covariance_type: str, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
) -> np.ndarray:
    """Flat unconstrained vector from ``(weights, means, covariances)``.

    ``covariances`` has scikit-learn's shape for the type: ``(K, D, D)``,
    ``(D, D)``, ``(K, D)`` or ``(K,)``.
    """
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    cov = np.asarray(covariances, dtype=float)
    with np.errstate(divide="ignore"):
        logits = np.log(np.maximum(weights, 1e-300))
    parts = [logits[:-1] - logits[-1], means.ravel()]
    if covariance_type in ("full", "tied"):
        chol = _precision_factor(cov)
        rows, cols = np.tril_indices(cov.shape[-1], -1)
        parts += [np.log(np.diagonal(chol, axis1=-2, axis2=-1)).ravel(),
                  chol[..., rows, cols].ravel()]
    elif covariance_type in ("diag", "spherical"):
        parts.append(-0.5 * np.log(cov).ravel())
    else:
        raise ValueError(f"unknown covariance_type {covariance_type!r}")
    return np.concatenate(parts)


def from_theta(
    covariance_type: str, theta: np.ndarray, n_components: int, n_features: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(weights, means, covariances)`` (scikit-learn shapes) from ``theta``."""
    K, D = n_components, n_features
    theta = np.asarray(theta, dtype=float)
    weights = np.exp(log_weights(theta[: K - 1]))
    means = theta[K - 1 : K - 1 + K * D].reshape(K, D)
    rest = theta[K - 1 + K * D :]
    if covariance_type in ("full", "tied"):
        n = K if covariance_type == "full" else 1
        log_diag = rest[: n * D].reshape(n, D)
        chol = cholesky_factors(log_diag, rest[n * D :].reshape(n, -1), tril_map(D))
        inv = np.linalg.solve(chol, np.broadcast_to(np.eye(D), chol.shape))
        cov = np.swapaxes(inv, -1, -2) @ inv  # inv(L L^T) = L^-T L^-1
        return weights, means.copy(), cov if covariance_type == "full" else cov[0]
    return weights, means.copy(), np.exp(-2.0 * rest).reshape((K, D) if covariance_type == "diag" else (K,))


def penalty(
    covariance_type: str, theta: np.ndarray, prior: np.ndarray, n_components: int
) -> float:
    """The prior term the objectives subtract (to report the plain log-likelihood)."""
    K, D = n_components, prior.shape[0]
    rest = np.asarray(theta)[K - 1 + K * D :]
    if covariance_type in ("full", "tied"):
        n = K if covariance_type == "full" else 1
        chol = cholesky_factors(rest[: n * D].reshape(n, D), rest[n * D :].reshape(n, -1),
                                tril_map(D))
        return 0.5 * float(np.sum(prior[:, None] * chol * chol))
    if covariance_type == "diag":
        return 0.5 * float(np.sum(prior * np.exp(2.0 * rest.reshape(K, D))))
    return 0.5 * float(np.sum(prior) * np.sum(np.exp(2.0 * rest)))
