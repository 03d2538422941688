"""Whole NumPy programs of the kind users write: log-densities, losses, networks."""
import numpy as np


def logsumexp(x):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(m[:, 0] + np.log(np.sum(np.exp(x - m), axis=1)))


def softmax_cross_entropy(W, X, y):
    logits = X @ W
    logits = logits - np.max(logits, axis=1, keepdims=True)
    p = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(y)), y]))


def mlp(W1, b1, W2, X):
    h = np.tanh(X @ W1 + b1)
    out = h @ W2
    return np.sum(out ** 2) / X.shape[0]


def rnn(W, U, xs):
    h = np.zeros(W.shape[0])
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return h.sum()


def writes(x):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = x[i] * x[i - 1]
    y[0] += 3.0 * x[0]
    return np.sum(y * y)


def gaussian_logpdf(mu, A, X):
    S = A @ A.T + np.eye(A.shape[0])
    sign, logdet = np.linalg.slogdet(S)
    diff = X - mu
    sol = np.linalg.solve(S, diff.T)
    return -0.5 * np.sum(diff.T * sol) - 0.5 * X.shape[0] * (logdet + X.shape[1] * np.log(2 * np.pi))


def gaussian_cholesky(mu, A, X):
    S = A @ A.T + np.eye(A.shape[0])
    L = np.linalg.cholesky(S)
    z = np.linalg.solve(L, (X - mu).T)
    return -0.5 * np.sum(z ** 2) - X.shape[0] * np.sum(np.log(np.diagonal(L)))


def slicing(x):
    y = np.zeros((3, 4))
    y[:, 1:3] = x[:3, ::2] * 2
    y[1, :] += x[0]
    return np.sum(y ** 2) + np.sum(x[..., None, 1:] * 3) + x[np.array([0, 0, 2]), 1].sum() + x[x > 0].sum()


def methods(x):
    return x.T.reshape(-1).mean() + x.max() + x.dot(x.T).sum() + np.var(x, axis=0).sum() + x.std()


def shapes_and_totals(x, w):
    """Arrays the backward sweep needs only for their shapes; totals that are numbers."""
    big = x[None, :, :] * w[:, None, None]        # (K, N, D)
    per_row = np.sum(big ** 2, axis=2)           # (K, N); big ** 2 is read back only for its shape
    total = np.sum(per_row)                      # a number
    scale = np.log(total) + np.max(w) * 0.5      # numbers
    return scale * total - np.mean(per_row, axis=None)


def centered_projection(b, W, X):
    """(X - b) @ W: b's gradient sums rows before the product."""
    Z = (X[None, :, :] - b[:, None, :]) @ W
    return np.sum(np.tanh(Z))
