"""Gaussian-mixture log-likelihood over unconstrained parameters.

The two log-likelihood functions in this module are the functions that sct
differentiates, so they are written as plain straight-line NumPy using only
the subset of NumPy that sct supports: arithmetic operators, ``np.exp``,
``np.log``, reductions with ``axis``/``keepdims``, ``np.einsum`` with explicit
subscripts, ``np.tril``, ``np.eye``, ``np.stack``, indexing reads and a
Python ``for`` loop. There are no in-place writes, no ``try``, no SciPy, no
module-level names other than ``np`` and no annotations on these two
functions, so that the transformer sees nothing but straight-line code.

Parametrisation (K components, D dimensions)::

    logits   (K,)      mixture weights  pi = softmax(logits)
    means    (K, D)    component means  mu_k
    log_diag (K, D)    log of the diagonal of the precision Cholesky factor
    lower    (K, D, D) strictly lower part of that factor (rest is ignored)

For component ``k`` the precision Cholesky factor is
``L_k = diag(exp(log_diag[k])) + tril(lower[k], -1)``, the precision matrix is
``L_k L_k^T`` and therefore::

    log N(x | mu_k) = -D/2 log(2 pi) + sum(log_diag[k])
                      - 1/2 || L_k^T (x - mu_k) ||^2

Every value of the four arrays is a valid mixture, which is what makes plain
gradient methods applicable.  The helpers :func:`to_unconstrained` and
:func:`from_unconstrained` convert from and to the usual
``(weights, means, covariances)`` description, and :func:`pack` /
:func:`unpack` flatten the parameters into one vector.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

#: The unconstrained parameters ``(logits, means, log_diag, lower)``.
Unconstrained = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class MixtureParams(NamedTuple):
    """A Gaussian mixture with full covariances."""

    weights: np.ndarray  # (K,)
    means: np.ndarray  # (K, D)
    covariances: np.ndarray  # (K, D, D)


# ---------------------------------------------------------------------------
# The log-likelihood (differentiated by sct: keep to the supported subset)
# ---------------------------------------------------------------------------


def loglik_loop(logits, means, log_diag, lower, X):
    """Total log-likelihood ``sum_j log sum_k pi_k N(x_j | mu_k, P_k^-1)``.

    Reference version with a Python loop over the K components.

    Args:
        logits: ``(K,)`` unnormalised log-weights.
        means: ``(K, D)`` component means.
        log_diag: ``(K, D)`` log-diagonal of the precision Cholesky factors.
        lower: ``(K, D, D)``; only the strictly lower triangle is used.
        X: ``(N, D)`` data.

    Returns:
        The total log-likelihood of ``X`` (a float).
    """
    K = logits.shape[0]
    D = X.shape[1]
    m_w = np.max(logits)
    log_w = logits - m_w - np.log(np.sum(np.exp(logits - m_w)))
    cols = []
    for k in range(K):
        chol = np.exp(log_diag[k])[:, None] * np.eye(D) + np.tril(lower[k], -1)
        y = (X - means[k]) @ chol
        maha = np.sum(y * y, axis=1)
        cols.append(log_w[k] - 0.5 * D * np.log(2.0 * np.pi) + np.sum(log_diag[k]) - 0.5 * maha)
    log_joint = np.stack(cols, axis=1)
    m = np.max(log_joint, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(log_joint - m), axis=1, keepdims=True)) + m
    return np.sum(lse)


def loglik_vec(logits, means, log_diag, lower, X):
    """Total log-likelihood, vectorised over components (see :func:`loglik_loop`).

    Args:
        logits: ``(K,)`` unnormalised log-weights.
        means: ``(K, D)`` component means.
        log_diag: ``(K, D)`` log-diagonal of the precision Cholesky factors.
        lower: ``(K, D, D)``; only the strictly lower triangle is used.
        X: ``(N, D)`` data.

    Returns:
        The total log-likelihood of ``X`` (a float).
    """
    D = X.shape[1]
    m_w = np.max(logits)
    log_w = logits - m_w - np.log(np.sum(np.exp(logits - m_w)))
    chol = np.exp(log_diag)[:, :, None] * np.eye(D) + np.tril(lower, -1)
    diff = X[:, None, :] - means[None, :, :]
    y = np.einsum("nkd,kde->nke", diff, chol)
    maha = np.sum(y * y, axis=2)
    log_norm = log_w - 0.5 * D * np.log(2.0 * np.pi) + np.sum(log_diag, axis=1)
    log_joint = log_norm[None, :] - 0.5 * maha
    m = np.max(log_joint, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(log_joint - m), axis=1, keepdims=True)) + m
    return np.sum(lse)


# ---------------------------------------------------------------------------
# Conversions (ordinary NumPy, not differentiated)
# ---------------------------------------------------------------------------


def precision_cholesky(log_diag: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The lower-triangular precision factors ``L_k`` of shape ``(K, D, D)``."""
    D = log_diag.shape[1]
    return np.exp(log_diag)[:, :, None] * np.eye(D) + np.tril(lower, -1)


def to_unconstrained(
    weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
) -> Unconstrained:
    """Convert ``(weights, means, covariances)`` to unconstrained parameters.

    ``logits = log(weights)`` (centred to mean zero), and ``L_k`` is the lower
    Cholesky factor of the precision ``inv(covariances[k])``.

    Args:
        weights: ``(K,)`` positive mixture weights summing to one.
        means: ``(K, D)`` means.
        covariances: ``(K, D, D)`` symmetric positive-definite covariances.

    Returns:
        ``(logits, means, log_diag, lower)``.
    """
    weights = np.asarray(weights, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    logits = np.log(weights)
    logits = logits - logits.mean()
    precisions = np.linalg.inv(covariances)
    precisions = 0.5 * (precisions + np.swapaxes(precisions, -1, -2))
    chol = np.linalg.cholesky(precisions)
    log_diag = np.log(np.diagonal(chol, axis1=-2, axis2=-1))
    lower = np.tril(chol, -1)
    return logits, np.array(means, dtype=float), log_diag, lower


def from_unconstrained(
    logits: np.ndarray, means: np.ndarray, log_diag: np.ndarray, lower: np.ndarray
) -> MixtureParams:
    """Convert unconstrained parameters to ``(weights, means, covariances)``.

    Args:
        logits: ``(K,)`` unnormalised log-weights.
        means: ``(K, D)`` means.
        log_diag: ``(K, D)`` log-diagonal of the precision Cholesky factors.
        lower: ``(K, D, D)``; only the strictly lower triangle is used.

    Returns:
        A :class:`MixtureParams` with full ``(K, D, D)`` covariances.
    """
    logits = np.asarray(logits, dtype=float)
    weights = np.exp(logits - logits.max())
    weights = weights / weights.sum()
    chol = precision_cholesky(np.asarray(log_diag, float), np.asarray(lower, float))
    D = chol.shape[-1]
    inv_chol = np.linalg.solve(chol, np.broadcast_to(np.eye(D), chol.shape))
    # covariance = inv(L L^T) = L^-T L^-1
    covariances = np.einsum("kji,kjl->kil", inv_chol, inv_chol)
    return MixtureParams(weights, np.array(means, dtype=float), covariances)


def pack(params: Unconstrained) -> np.ndarray:
    """Flatten ``(logits, means, log_diag, lower)`` into one 1-D vector."""
    return np.concatenate([np.ravel(p) for p in params])


def unpack(vector: np.ndarray, n_components: int, n_features: int) -> Unconstrained:
    """Inverse of :func:`pack` for ``K = n_components`` and ``D = n_features``."""
    K, D = n_components, n_features
    shapes = [(K,), (K, D), (K, D), (K, D, D)]
    sizes = [int(np.prod(s)) for s in shapes]
    if vector.size != sum(sizes):
        raise ValueError(f"expected a vector of {sum(sizes)} values, got {vector.size}")
    parts = np.split(np.asarray(vector, dtype=float), np.cumsum(sizes)[:-1])
    logits, means, log_diag, lower = (p.reshape(s) for p, s in zip(parts, shapes))
    return logits, means, log_diag, lower


# ---------------------------------------------------------------------------
# The same model in pure Python (differentiated by sct too)
# ---------------------------------------------------------------------------


def loglik_python(logits, means, log_diag, lower, X, D):
    """:func:`loglik_vec` with flat lists of floats, ``math`` and loops: sct at its most literal.

    Flat (row-major) lists rather than nested ones: sct specialises a list of
    numbers to scalar code, while the elements of nested lists keep an unknown
    kind and their adjoints the general broadcasting bookkeeping (measured:
    the gradient costs about 130 times the function with nested lists).

    Args:
        logits: K floats; means, log_diag: K * D floats (``means[k * D + j]``);
            lower: K * D * D floats (``lower[(k * D + i) * D + j]``, only
            ``i > j`` used); X: N * D floats (``X[n * D + j]``); D: dimension.

    Returns:
        The total log-likelihood (a float).
    """
    K = len(logits)
    N = len(X) // D
    m_w = max(logits)
    norm = 0.0
    for k in range(K):
        norm = norm + math.exp(logits[k] - m_w)
    log_norm = m_w + math.log(norm)
    total = 0.0
    for n in range(N):
        terms = []
        for k in range(K):
            maha = 0.0
            log_det = 0.0
            for j in range(D):  # y_j = sum_i (x_i - mu_i) L_ij, L lower triangular
                log_det = log_det + log_diag[k * D + j]
                y = (X[n * D + j] - means[k * D + j]) * math.exp(log_diag[k * D + j])
                for i in range(j + 1, D):
                    y = y + (X[n * D + i] - means[k * D + i]) * lower[(k * D + i) * D + j]
                maha = maha + y * y
            terms.append(logits[k] - log_norm + log_det - 0.5 * maha
                         - 0.5 * D * math.log(2.0 * math.pi))
        m = max(terms)
        s = 0.0
        for t in terms:
            s = s + math.exp(t - m)
        total = total + m + math.log(s)
    return total
