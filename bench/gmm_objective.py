"""The ADBench Gaussian-mixture objective, written once per tool.

Parameters (ADBench layout, row-major NumPy arrays):

    alphas (K,)                   unnormalised log mixture weights
    means  (K, D)                 component means mu_k
    icf    (K, D + D(D-1)/2)      inverse-covariance factors: the first D
                                  entries are q_k = log diag(Q_k), the rest
                                  l_k are the strictly-lower entries of Q_k
                                  in column-major order
    x      (N, D)                 data

Q_k = diag(exp(q_k)) + L_k is the Cholesky factor of the precision matrix of
component k.  With a Wishart prior (gamma = 1, m = 0, as in ADBench):

    f = -N*D/2*log(2*pi)
        + sum_i logsumexp_k(alphas_k + sum(q_k) - 0.5*||Q_k (x_i - mu_k)||^2)
        - N * logsumexp(alphas)
        + sum_k 0.5*gamma^2*(||exp(q_k)||^2 + ||l_k||^2) - m*sum(q_k)
        - K * C(D, m, gamma)

with ADBench's constant C = n*D*(log(gamma) - 0.5*log(2)) - log Gamma_D(n/2),
n = D + m + 1, Gamma_D the multivariate gamma function.  All constant terms
are kept, and every version below returns the same number (to rounding).

Versions:

* ``gmm_numpy``       plain NumPy, straight-line, in the subset of NumPy that
                      sct differentiates (see its docstring);
* ``gmm_grad_hand``   its gradient, derived by hand (see the derivation in
                      the docstring);
* ``build_autograd`` / ``build_jax`` / ``build_torch``  the objective and its
                      gradient in each peer's own idiom; each builder imports
                      its library lazily and raises ImportError if missing.

All arrays are float64.
"""

import functools
import math

import numpy as np

GAMMA = 1.0  # Wishart prior parameters, as in ADBench
WISHART_M = 0


# ---------------------------------------------------------------------------
# constants and data (ordinary Python, never differentiated)
# ---------------------------------------------------------------------------

def icf_size(D):
    """Number of inverse-covariance-factor entries per component."""
    return D + D * (D - 1) // 2


@functools.lru_cache(maxsize=None)
def lower_positions(D):
    """(rows, cols) of the strictly-lower entries of a D x D matrix, in the
    column-major order used by ``icf``: column 0 top to bottom, then column 1...
    Cached: treat the returned arrays as read-only."""
    rows, cols = [], []
    for col in range(D):
        for row in range(col + 1, D):
            rows.append(row)
            cols.append(col)
    return np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)


def log_multigamma(a, p):
    """log Gamma_p(a) = p(p-1)/4 log(pi) + sum_{j=1..p} lgamma(a + (1-j)/2)."""
    out = 0.25 * p * (p - 1) * math.log(math.pi)
    for j in range(1, p + 1):
        out += math.lgamma(a + 0.5 * (1 - j))
    return out


def wishart_constant(D, gamma=GAMMA, m=WISHART_M):
    """ADBench's per-component log-normaliser C of the Wishart prior."""
    n = D + m + 1
    return n * D * (math.log(gamma) - 0.5 * math.log(2.0)) - log_multigamma(0.5 * n, D)


def gmm_constant(N, K, D):
    """All parameter-free terms of the objective: -N*D/2*log(2 pi) - K*C."""
    return -0.5 * N * D * math.log(2.0 * math.pi) - K * wishart_constant(D)


@functools.lru_cache(maxsize=None)
def gmm_numpy_consts(N, K, D):
    """The constant extra arguments of ``gmm_numpy``, in order:
    (qidx, lidx, tri, lower, eye, const).  Cached: treat as read-only."""
    rows, cols = lower_positions(D)
    qidx = np.arange(D, dtype=np.intp)
    lidx = np.arange(D, icf_size(D), dtype=np.intp)
    # tri[i, j] = column of icf holding Q[i, j] for i > j; 0 (masked out) elsewhere
    tri = np.zeros((D, D), dtype=np.intp)
    tri[rows, cols] = lidx
    lower = np.zeros((D, D))
    lower[rows, cols] = 1.0
    return qidx, lidx, tri, lower, np.eye(D), gmm_constant(N, K, D)


def make_gmm_data(N, K, D, seed=0):
    """Random but reproducible (alphas, means, icf, x), float64.

    alphas ~ N(0, 1), means ~ N(0, 1), icf ~ N(0, 0.1^2) (so each Q_k is
    near the identity), x ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    alphas = rng.standard_normal(K)
    means = rng.standard_normal((K, D))
    icf = 0.1 * rng.standard_normal((K, icf_size(D)))
    x = rng.standard_normal((N, D))
    return alphas, means, icf, x


# ---------------------------------------------------------------------------
# plain NumPy, for sct
# ---------------------------------------------------------------------------

def gmm_numpy(alphas, means, icf, x, qidx, lidx, tri, lower, eye, const):
    """ADBench GMM objective in plain, straight-line NumPy.

    Differentiate with respect to arguments 0, 1, 2.  The trailing arguments
    are constants from ``gmm_numpy_consts(N, K, D)``:
    integer index arrays ``qidx`` (D,), ``lidx`` (D(D-1)/2,), ``tri`` (D, D),
    the 0/1 strictly-lower mask ``lower`` (D, D), ``eye`` = np.eye(D) and the
    float ``const`` = gmm_constant(N, K, D).

    Uses only: + - * / ** @, unary minus, np.exp, np.log, np.sum / np.max with
    axis and keepdims, np.transpose with axes, and indexing reads with slices,
    None and constant integer arrays.  No in-place writes.
    The layout is component-major, (K, N, D), so that Q_k (x_i - mu_k) is one
    batched matrix product.
    """
    q = icf[:, qidx]                                        # (K, D)  log diag of Q_k
    l = icf[:, lidx]                                        # (K, D(D-1)/2)
    Q = np.exp(q)[:, :, None] * eye + icf[:, tri] * lower   # (K, D, D)
    xc = x[None, :, :] - means[:, None, :]                  # (K, N, D)
    Qxc = xc @ np.transpose(Q, (0, 2, 1))                   # (K, N, D)
    main = (alphas + np.sum(q, axis=1))[:, None] - 0.5 * np.sum(Qxc ** 2, axis=2)  # (K, N)
    mx = np.max(main, axis=0, keepdims=True)                # (1, N)
    lse = np.log(np.sum(np.exp(main - mx), axis=0, keepdims=True)) + mx
    amax = np.max(alphas)
    lse_alphas = np.log(np.sum(np.exp(alphas - amax))) + amax
    prior = 0.5 * (np.sum(np.exp(q) ** 2) + np.sum(l ** 2))
    # sum_i (lse_i - lse_alphas) = sum_i lse_i - N * lse_alphas
    return const + np.sum(lse - lse_alphas) + prior


def gmm_numpy_args(alphas, means, icf, x):
    """Full argument tuple for ``gmm_numpy`` (data plus constants)."""
    N, D = x.shape
    return (alphas, means, icf, x) + gmm_numpy_consts(N, alphas.shape[0], D)


# ---------------------------------------------------------------------------
# hand-written gradient
# ---------------------------------------------------------------------------

def _lse(a, axis):
    mx = np.max(a, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(a - mx), axis=axis, keepdims=True)) + mx


def gmm_grad_hand(alphas, means, icf, x):
    """Gradient of the objective with respect to (alphas, means, icf).

    Derivation.  Write z_ik = Q_k (x_i - mu_k), m_ik = alphas_k + sum(q_k)
    - 0.5 ||z_ik||^2 and r_ik = exp(m_ik - logsumexp_k m_ik) (responsibilities,
    sum_k r_ik = 1).  Then

        df/dalphas_k = sum_i r_ik - N softmax(alphas)_k
        df/dmu_k     = sum_i r_ik Q_k^T z_ik            (d/dmu of -||Q(x-mu)||^2/2)
        df/dQ_k      = G_k = -sum_i r_ik z_ik (x_i - mu_k)^T
        df/dq_kd     = sum_i r_ik + G_k[d, d] exp(q_kd) + gamma^2 exp(2 q_kd) - m
        df/dl_kp     = G_k[row_p, col_p] + gamma^2 l_kp

    (the diagonal of Q_k is exp(q_k), so dQ_k[d,d]/dq_kd = exp(q_kd); the
    prior contributes 0.5 gamma^2 d/dq exp(q)^2 = gamma^2 exp(2q)).
    """
    N, D = x.shape
    K = alphas.shape[0]
    rows, cols = lower_positions(D)
    q = icf[:, :D]
    l = icf[:, D:]
    eq = np.exp(q)
    Q = np.zeros((K, D, D))
    Q[:, rows, cols] = l
    Q[:, np.arange(D), np.arange(D)] = eq
    xc = x[None, :, :] - means[:, None, :]                 # (K, N, D)
    z = xc @ np.transpose(Q, (0, 2, 1))                    # (K, N, D)
    main = (alphas + q.sum(axis=1))[:, None] - 0.5 * np.sum(z * z, axis=2)
    r = np.exp(main - _lse(main, axis=0))                  # (K, N)
    r_sum = r.sum(axis=1)                                  # (K,)
    rz = r[:, :, None] * z                                 # (K, N, D)
    g_alphas = r_sum - N * np.exp(alphas - _lse(alphas, axis=0))
    g_means = np.einsum("ki,kij->kj", rz.sum(axis=1), Q)
    G = -(np.transpose(rz, (0, 2, 1)) @ xc)                # (K, D, D)
    g_q = r_sum[:, None] + np.diagonal(G, axis1=1, axis2=2) * eq + GAMMA ** 2 * eq * eq - WISHART_M
    g_l = G[:, rows, cols] + GAMMA ** 2 * l
    return g_alphas, g_means, np.concatenate([g_q, g_l], axis=1)


# ---------------------------------------------------------------------------
# peers, each in its own idiom
# ---------------------------------------------------------------------------

def build_autograd():
    """autograd: the objective in autograd.numpy, gradient by autograd.grad.

    autograd has no in-place writes, so Q_k is assembled by gather-and-mask,
    as in the NumPy version.  Returns (objective, gradient); both take
    (alphas, means, icf, x) NumPy arrays."""
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp

    def objective(alphas, means, icf, x):
        N, D = x.shape
        K = alphas.shape[0]
        _, _, tri, lower, eye, const = gmm_numpy_consts(N, K, D)
        q = icf[:, :D]
        l = icf[:, D:]
        Q = anp.exp(q)[:, :, None] * eye + icf[:, tri] * lower
        xc = x[None, :, :] - means[:, None, :]
        Qxc = xc @ anp.transpose(Q, (0, 2, 1))
        main = (alphas + anp.sum(q, axis=1))[:, None] - 0.5 * anp.sum(Qxc ** 2, axis=2)
        prior = 0.5 * (anp.sum(anp.exp(q) ** 2) + anp.sum(l ** 2))
        return const + anp.sum(logsumexp(main, axis=0)) - N * logsumexp(alphas) + prior

    return objective, autograd.grad(objective, argnum=(0, 1, 2))


def _jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    return jax


def build_jax():
    """JAX: jax.numpy objective; objective and jax.grad both under jax.jit, x64.

    Q_k is assembled with the functional update ``.at[...].set``.  Returns
    (objective, gradient, to_device): the callables take JAX arrays (use
    ``to_device`` to convert) and return JAX values (asynchronous: call
    ``block_until_ready`` when timing)."""
    jax = _jax()
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    def objective(alphas, means, icf, x):
        N, D = x.shape
        K = alphas.shape[0]
        rows, cols = lower_positions(D)
        q = icf[:, :D]
        l = icf[:, D:]
        Q = jnp.zeros((K, D, D), dtype=icf.dtype).at[:, rows, cols].set(l)
        Q = Q + jnp.exp(q)[:, :, None] * jnp.eye(D, dtype=icf.dtype)
        xc = x[None, :, :] - means[:, None, :]
        Qxc = jnp.einsum("kij,knj->kni", Q, xc)
        main = (alphas + jnp.sum(q, axis=1))[:, None] - 0.5 * jnp.sum(Qxc ** 2, axis=2)
        prior = 0.5 * (jnp.sum(jnp.exp(q) ** 2) + jnp.sum(l ** 2))
        return (gmm_constant(N, K, D) + jnp.sum(logsumexp(main, axis=0))
                - N * logsumexp(alphas) + prior)

    def to_device(*arrays):
        return tuple(jnp.asarray(a, dtype=jnp.float64) for a in arrays)

    return jax.jit(objective), jax.jit(jax.grad(objective, argnums=(0, 1, 2))), to_device


def build_torch():
    """PyTorch, CPU eager, float64; gradient by ``.backward()``.

    Q_k is assembled by indexed assignment into a fresh tensor.  Returns
    (objective, gradient, to_tensor): ``objective`` takes tensors and returns a
    0-d tensor; ``gradient`` takes leaf tensors with requires_grad=True, runs
    the objective and backward, and returns their ``.grad``."""
    import torch

    @functools.lru_cache(maxsize=None)
    def consts(N, K, D):
        rows, cols = lower_positions(D)
        return (torch.from_numpy(rows), torch.from_numpy(cols),
                torch.eye(D, dtype=torch.float64), gmm_constant(N, K, D))

    def objective(alphas, means, icf, x):
        N, D = x.shape
        K = alphas.shape[0]
        rows, cols, eye, const = consts(N, K, D)
        q = icf[:, :D]
        l = icf[:, D:]
        Q = torch.zeros((K, D, D), dtype=icf.dtype)
        Q[:, rows, cols] = l
        Q = Q + torch.exp(q)[:, :, None] * eye
        xc = x[None, :, :] - means[:, None, :]
        Qxc = torch.bmm(xc, Q.transpose(1, 2))
        main = (alphas + q.sum(dim=1))[:, None] - 0.5 * (Qxc ** 2).sum(dim=2)
        prior = 0.5 * ((torch.exp(q) ** 2).sum() + (l ** 2).sum())
        return (const + torch.logsumexp(main, dim=0).sum()
                - N * torch.logsumexp(alphas, dim=0) + prior)

    def gradient(alphas, means, icf, x):
        for p in (alphas, means, icf):
            p.grad = None
        objective(alphas, means, icf, x).backward()
        return alphas.grad, means.grad, icf.grad

    def to_tensor(alphas, means, icf, x):
        params = tuple(torch.tensor(a, dtype=torch.float64, requires_grad=True)
                       for a in (alphas, means, icf))
        return params + (torch.tensor(x, dtype=torch.float64),)

    return objective, gradient, to_tensor
