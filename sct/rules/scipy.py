"""Rules for SciPy: ``scipy.special``, ``scipy.linalg``, ``scipy.stats`` (only when SciPy imports).

SciPy is optional: ``sct.rules`` imports this module inside a ``try``, so without
SciPy nothing here registers and calls to SciPy functions are refused as any
function without a rule is.  Families: special functions (elementwise, declared
by their partial derivatives), reductions over log-probabilities, linear
algebra, distributions.  Parameters sct has no derivative for (an order, a
shape parameter of a CDF) are declared ``NotImplemented``: a call where they
depend on the inputs is refused.
"""
import numpy as np
from scipy import linalg as sla
from scipy import special, stats

from ..runtime import take, unbroadcast, unreduce
from .linalg import _T, _cholesky_adjoint, _cholesky_tangent, _is_zero, _sym
from .registry import (REGISTRY, _like, adjoint_rule, alias, elementwise, linear, overloaded, result_kind,
                       tangent_rule)

# ---------------------------------------------------------------- special functions

def _i1_over_x(x):
    """i1(x) / x, and its limit 1/2 at x = 0."""
    x = np.asarray(x, dtype=float)
    return np.where(x == 0.0, 0.5, special.i1(x) / np.where(x == 0.0, 1.0, x))

def _i1e_over_x(x):
    """i1e(x) / x, and its limit 1/2 at x = 0."""
    x = np.asarray(x, dtype=float)
    return np.where(x == 0.0, 0.5, special.i1e(x) / np.where(x == 0.0, 1.0, x))

S = "scipy.special."
elementwise(special.gammaln, lambda ans, x: special.digamma(x), name=S + "gammaln")
elementwise(special.digamma, lambda ans, x: special.polygamma(1, x), name=S + "digamma")
elementwise(special.polygamma, NotImplemented, lambda ans, n, x: special.polygamma(n + 1, x), name=S + "polygamma",
            doc="In x (the order n has no derivative).")
elementwise(special.gamma, lambda ans, x: ans * special.digamma(x), name=S + "gamma")
elementwise(special.loggamma, lambda ans, x: special.digamma(x), name=S + "loggamma", doc="Real x > 0.")
elementwise(special.rgamma, lambda ans, x: -ans * special.digamma(x), name=S + "rgamma")
elementwise(special.betaln, lambda ans, a, b: special.digamma(a) - special.digamma(a + b),
            lambda ans, a, b: special.digamma(b) - special.digamma(a + b), name=S + "betaln")
elementwise(special.beta, lambda ans, a, b: ans * (special.digamma(a) - special.digamma(a + b)),
            lambda ans, a, b: ans * (special.digamma(b) - special.digamma(a + b)), name=S + "beta")
elementwise(special.erf, lambda ans, x: 2.0 / np.sqrt(np.pi) * np.exp(-x * x), name=S + "erf")
elementwise(special.erfc, lambda ans, x: -2.0 / np.sqrt(np.pi) * np.exp(-x * x), name=S + "erfc")
elementwise(special.erfinv, lambda ans, y: np.sqrt(np.pi) / 2.0 * np.exp(ans * ans), name=S + "erfinv")
elementwise(special.erfcinv, lambda ans, y: -np.sqrt(np.pi) / 2.0 * np.exp(ans * ans), name=S + "erfcinv")
elementwise(special.erfcx, lambda ans, x: 2.0 * x * ans - 2.0 / np.sqrt(np.pi), name=S + "erfcx")
elementwise(special.dawsn, lambda ans, x: 1.0 - 2.0 * x * ans, name=S + "dawsn")
elementwise(special.ndtr, lambda ans, x: np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi), name=S + "ndtr")
elementwise(special.log_ndtr, lambda ans, x: np.exp(-0.5 * x * x - ans) / np.sqrt(2.0 * np.pi), name=S + "log_ndtr")
elementwise(special.ndtri, lambda ans, y: np.sqrt(2.0 * np.pi) * np.exp(0.5 * ans * ans), name=S + "ndtri")
elementwise(special.expit, lambda ans, x: ans * (1.0 - ans), name=S + "expit")
elementwise(special.logit, lambda ans, x: 1.0 / (x * (1.0 - x)), name=S + "logit")
elementwise(special.log_expit, lambda ans, x: special.expit(-x), name=S + "log_expit")
if hasattr(special, "softplus"):
    elementwise(special.softplus, lambda ans, x: special.expit(x), name=S + "softplus")
elementwise(special.xlogy, lambda ans, x, y: np.log(y), lambda ans, x, y: x / y, name=S + "xlogy", doc="y > 0.")
elementwise(special.xlog1py, lambda ans, x, y: np.log1p(y), lambda ans, x, y: x / (1.0 + y), name=S + "xlog1py")
elementwise(special.entr, lambda ans, x: -np.log(x) - 1.0, name=S + "entr", doc="x > 0.")
elementwise(special.kl_div, lambda ans, x, y: np.log(x / y), lambda ans, x, y: 1.0 - x / y, name=S + "kl_div",
            doc="x, y > 0.")
elementwise(special.rel_entr, lambda ans, x, y: np.log(x / y) + 1.0, lambda ans, x, y: -x / y, name=S + "rel_entr",
            doc="x, y > 0.")
elementwise(special.i0, lambda ans, x: special.i1(x), name=S + "i0")
elementwise(special.i1, lambda ans, x: special.i0(x) - _i1_over_x(x), name=S + "i1")
elementwise(special.i0e, lambda ans, x: special.i1e(x) - np.sign(x) * ans, name=S + "i0e")
elementwise(special.i1e, lambda ans, x: special.i0e(x) - _i1e_over_x(x) - np.sign(x) * ans, name=S + "i1e")
elementwise(special.exp10, lambda ans, x: ans * np.log(10.0), name=S + "exp10")
elementwise(special.exp2, lambda ans, x: ans * np.log(2.0), name=S + "exp2")
elementwise(special.cbrt, lambda ans, x: 1.0 / (3.0 * ans * ans), name=S + "cbrt")
elementwise(special.expm1, lambda ans, x: ans + 1.0, name=S + "expm1")
elementwise(special.log1p, lambda ans, x: 1.0 / (1.0 + x), name=S + "log1p")
elementwise(special.cosm1, lambda ans, x: -np.sin(x), name=S + "cosm1")
elementwise(special.gammainc, NotImplemented,
            lambda ans, a, x: np.exp((a - 1.0) * np.log(x) - x - special.gammaln(a)), name=S + "gammainc",
            doc="In x (a has no derivative).")
elementwise(special.gammaincc, NotImplemented,
            lambda ans, a, x: -np.exp((a - 1.0) * np.log(x) - x - special.gammaln(a)), name=S + "gammaincc",
            doc="In x (a has no derivative).")
elementwise(special.boxcox, lambda ans, x, lmbda: np.power(x, lmbda - 1.0), NotImplemented, name=S + "boxcox",
            doc="In x (lmbda has no derivative).")
elementwise(special.huber, NotImplemented, lambda ans, delta, r: np.clip(r, -delta, delta), name=S + "huber",
            doc="In r (delta has no derivative).")
elementwise(special.pseudo_huber, NotImplemented, lambda ans, delta, r: r / np.sqrt(1.0 + (r / delta) ** 2),
            name=S + "pseudo_huber", doc="In r (delta has no derivative).")

# ---------------------------------------------------------------- reductions over log-probabilities

def _lse_slope(ans, a, axis, b, keepdims, return_sign):
    """exp(a - logsumexp): the softmax weights of a's elements (without b)."""
    if return_sign:
        raise NotImplementedError("sct differentiates scipy.special.logsumexp with return_sign=False")
    return np.exp(a - unreduce(ans, a, axis, keepdims))

@adjoint_rule(special.logsumexp, name=S + "logsumexp")
def logsumexp(g, ans, a, axis=None, b=None, keepdims=False, return_sign=False):
    """Axis, keepdims, scale factors b (differentiable too); a positive sum."""
    return (unreduce(g, a, axis, keepdims) * _lse_slope(ans, a, axis, b, keepdims, return_sign)
            * (1.0 if b is None else b), None,
            unbroadcast(unreduce(g, a, axis, keepdims) * _lse_slope(ans, a, axis, b, keepdims, return_sign), b))

@tangent_rule(special.logsumexp, name=S + "logsumexp")
def logsumexp(da, daxis, db, ans, a, axis=None, b=None, keepdims=False, return_sign=False):
    return (np.sum(da * _lse_slope(ans, a, axis, b, keepdims, return_sign) * (1.0 if b is None else b), axis=axis,
                   keepdims=keepdims), None,
            np.sum(db * _lse_slope(ans, a, axis, b, keepdims, return_sign), axis=axis, keepdims=keepdims))


@adjoint_rule(special.softmax, name=S + "softmax")
def softmax(g, ans, x, axis=None):
    return ans * (g - np.sum(g * ans, axis=axis, keepdims=True))

@tangent_rule(special.softmax, name=S + "softmax")
def softmax(dx, ans, x, axis=None):
    return ans * (dx - np.sum(dx * ans, axis=axis, keepdims=True))


@adjoint_rule(special.log_softmax, name=S + "log_softmax")
def log_softmax(g, ans, x, axis=None):
    return g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True)

@tangent_rule(special.log_softmax, name=S + "log_softmax")
def log_softmax(dx, ans, x, axis=None):
    return dx - np.sum(np.exp(ans) * dx, axis=axis, keepdims=True)

# ---------------------------------------------------------------- linear algebra

L = "scipy.linalg."

def _triangle(m, lower, unit_diagonal):
    """The part of m a triangular solve reads."""
    if unit_diagonal:
        return np.tril(m, -1) if lower else np.triu(m, 1)
    return np.tril(m) if lower else np.triu(m)

def _flip_trans(trans):
    return 0 if trans in (1, 2, "T", "C") else 1

def _solve_triangular_adjoint(g, ans, a, b, trans, lower, unit_diagonal, which):
    """b̄ = T⁻ᵀ g (the other transpose); ā = -b̄ xᵀ (trans=0) or -x b̄ᵀ (trans=1), on the triangle read."""
    b_bar = sla.solve_triangular(a, g, trans=_flip_trans(trans), lower=lower, unit_diagonal=unit_diagonal)
    if which == 1:
        return b_bar
    x2, b2 = (ans[:, None], b_bar[:, None]) if np.ndim(ans) == 1 else (ans, b_bar)
    outer = -(x2 @ _T(b2)) if _flip_trans(trans) == 0 else -(b2 @ _T(x2))
    return _triangle(outer, lower, unit_diagonal)

def _solve_triangular_tangent(da, db, ans, a, b, trans, lower, unit_diagonal):
    """T dx = db - dT x (dT: the triangle of da read, transposed when trans is)."""
    rhs = np.zeros(np.shape(ans)) if _is_zero(db) else db
    if not _is_zero(da):
        t = _triangle(da, lower, unit_diagonal)
        tt = _T(t) if _flip_trans(trans) == 0 else t
        rhs = rhs - (tt @ ans[:, None])[:, 0] if np.ndim(ans) == 1 else rhs - tt @ ans
    return sla.solve_triangular(a, rhs, trans=trans, lower=lower, unit_diagonal=unit_diagonal)

@adjoint_rule(sla.solve_triangular, name=L + "solve_triangular")
def solve_triangular(g, ans, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    """Vector or matrix b; trans, lower, unit_diagonal; ā on the triangle read."""
    return (_solve_triangular_adjoint(_like(g, ans), ans, a, b, trans, lower, unit_diagonal, 0),
            _solve_triangular_adjoint(_like(g, ans), ans, a, b, trans, lower, unit_diagonal, 1))

@tangent_rule(sla.solve_triangular, name=L + "solve_triangular")
def solve_triangular(da, db, ans, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    return (_solve_triangular_tangent(da, 0.0, ans, a, b, trans, lower, unit_diagonal),
            _solve_triangular_tangent(0.0, db, ans, a, b, trans, lower, unit_diagonal))


@adjoint_rule(sla.cholesky, name=L + "cholesky")
def cholesky(g, ans, a, lower=False, overwrite_a=False, check_finite=True):
    """Upper (SciPy's default) or lower; differentiated on symmetric matrices (a symmetric adjoint)."""
    return _cholesky_adjoint(_like(g, ans), ans, not lower)

@tangent_rule(sla.cholesky, name=L + "cholesky")
def cholesky(da, ans, a, lower=False, overwrite_a=False, check_finite=True):
    return _cholesky_tangent(da, ans, not lower)


def _factor(c, lower):
    """The Cholesky factor inside cho_factor's matrix (the other triangle holds leftovers)."""
    return np.tril(c) if lower else np.triu(c)

def _cho_factor_adjoint(g, ans, lower):
    g_c = take(g, 0)
    if _is_zero(g_c):
        return 0.0
    return _cholesky_adjoint(_factor(g_c, lower), _factor(ans[0], lower), not lower)

result_kind(sla.cho_factor, "tuple")

@adjoint_rule(sla.cho_factor, name=L + "cho_factor")
def cho_factor(g, ans, a, lower=False, overwrite_a=False, check_finite=True):
    """The factor's triangle has the derivative (the leftover triangle has none); symmetric adjoint."""
    return _cho_factor_adjoint(g, ans, lower)

@tangent_rule(sla.cho_factor, name=L + "cho_factor")
def cho_factor(da, ans, a, lower=False, overwrite_a=False, check_finite=True):
    return (_cholesky_tangent(da, _factor(ans[0], lower), not lower), 0.0)


def _cho_solve_adjoint(g, ans, c_and_lower, b, which):
    """b̄ = A⁻¹ g; Ā = -b̄ xᵀ, carried to the factor: L̄ = (Ā + Āᵀ) L (lower),
    Ū = U (Ā + Āᵀ) (upper)."""
    c, lower = c_and_lower
    b_bar = sla.cho_solve((c, lower), g)
    if which == 1:
        return b_bar
    x2, b2 = (ans[:, None], b_bar[:, None]) if np.ndim(ans) == 1 else (ans, b_bar)
    a_bar = -(b2 @ _T(x2))
    f = _factor(c, lower)
    return [_factor((a_bar + _T(a_bar)) @ f if lower else f @ (a_bar + _T(a_bar)), lower), 0.0]

def _cho_solve_tangent(dc_and_lower, db, ans, c_and_lower, b):
    c, lower = c_and_lower
    rhs = 0.0 if _is_zero(db) else db
    if not _is_zero(dc_and_lower) and not _is_zero(take(dc_and_lower, 0)):
        f, df = _factor(c, lower), _factor(take(dc_and_lower, 0), lower)
        da = df @ _T(f) + f @ _T(df) if lower else _T(df) @ f + _T(f) @ df
        rhs = rhs - (da @ ans[:, None])[:, 0] if np.ndim(ans) == 1 else rhs - da @ ans
    return sla.cho_solve((c, lower), rhs * np.ones(np.shape(ans)))

@adjoint_rule(sla.cho_solve, name=L + "cho_solve")
def cho_solve(g, ans, c_and_lower, b, overwrite_b=False, check_finite=True):
    """With the (factor, lower) pair of cho_factor; vector or matrix b."""
    return (_cho_solve_adjoint(_like(g, ans), ans, c_and_lower, b, 0),
            _cho_solve_adjoint(_like(g, ans), ans, c_and_lower, b, 1))

@tangent_rule(sla.cho_solve, name=L + "cho_solve")
def cho_solve(dc_and_lower, db, ans, c_and_lower, b, overwrite_b=False, check_finite=True):
    return _cho_solve_tangent(dc_and_lower, 0.0, ans, c_and_lower, b), _cho_solve_tangent(0.0, db, ans, c_and_lower, b)


def _expm_frechet(e, a, transpose=False):
    """The Fréchet derivative of expm at a (aᵀ with transpose) along e: the upper right block of
    expm([[a, e], [0, a]])."""
    a = _T(a) if transpose else a
    n = np.shape(a)[-1]
    block = np.zeros((2 * n, 2 * n))
    block[:n, :n], block[:n, n:], block[n:, n:] = a, e, a
    return sla.expm(block)[:n, n:]

# linear in e; its derivative in a (a second Fréchet derivative) is refused: no Hessians of expm yet
linear(_expm_frechet, lambda g, ans, e, a, transpose=False: _expm_frechet(g, a, not transpose))

@adjoint_rule(sla.expm, name=L + "expm")
def expm(g, ans, A):
    """Square matrices (the adjoint is the Fréchet derivative at Aᵀ)."""
    return _expm_frechet(_like(g, ans), A, True)

@tangent_rule(sla.expm, name=L + "expm")
def expm(dA, ans, A):
    return _expm_frechet(dA, A)


@adjoint_rule(sla.lu_solve, name=L + "lu_solve")
def lu_solve(g, ans, lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """In b (the factorization from lu_factor has no derivative: lu_factor is refused)."""
    return None, sla.lu_solve(lu_and_piv, _like(g, ans), trans=_flip_trans(trans))

@tangent_rule(sla.lu_solve, name=L + "lu_solve")
def lu_solve(dlu_and_piv, db, ans, lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    return None, sla.lu_solve(lu_and_piv, db, trans=trans)

REGISTRY.lookup(sla.lu_solve).refused = frozenset({"lu_and_piv"})


def _block_offsets(arrays):
    """Where each block of ``block_diag(*arrays)`` starts (rows, columns), and its 2-D shape."""
    shapes = [np.shape(np.atleast_2d(a)) for a in arrays]
    rows = np.cumsum([0] + [s[0] for s in shapes])
    cols = np.cumsum([0] + [s[1] for s in shapes])
    return rows, cols, shapes

def _block_adjoint(g, arrays, i):
    rows, cols, shapes = _block_offsets(arrays)
    piece = np.broadcast_to(g, (rows[-1], cols[-1]))[rows[i]:rows[i + 1], cols[i]:cols[i + 1]]
    return np.reshape(piece, np.shape(arrays[i]))

def _block_tangent(d, arrays, i):
    rows, cols, shapes = _block_offsets(arrays)
    out = np.zeros((rows[-1], cols[-1]))
    out[rows[i]:rows[i + 1], cols[i]:cols[i + 1]] = np.reshape(d, shapes[i])
    return out

def block_diag1(a):
    """``scipy.linalg.block_diag(a)``."""
    return sla.block_diag(a)

def block_diag2(a, b):
    """``scipy.linalg.block_diag(a, b)``."""
    return sla.block_diag(a, b)

def block_diag3(a, b, c):
    """``scipy.linalg.block_diag(a, b, c)``."""
    return sla.block_diag(a, b, c)

adjoint_rule(block_diag1, name=L + "block_diag")(lambda g, ans, a: _block_adjoint(g, (a,), 0))
tangent_rule(block_diag1, name=L + "block_diag")(lambda da, ans, a: _block_tangent(da, (a,), 0))
adjoint_rule(block_diag2, name=L + "block_diag")(
    lambda g, ans, a, b: (_block_adjoint(g, (a, b), 0), _block_adjoint(g, (a, b), 1)))
tangent_rule(block_diag2, name=L + "block_diag")(
    lambda da, db, ans, a, b: (_block_tangent(da, (a, b), 0), _block_tangent(db, (a, b), 1)))
adjoint_rule(block_diag3, name=L + "block_diag")(
    lambda g, ans, a, b, c: (_block_adjoint(g, (a, b, c), 0), _block_adjoint(g, (a, b, c), 1),
                             _block_adjoint(g, (a, b, c), 2)))
tangent_rule(block_diag3, name=L + "block_diag")(
    lambda da, db, dc, ans, a, b, c: (_block_tangent(da, (a, b, c), 0), _block_tangent(db, (a, b, c), 1),
                                      _block_tangent(dc, (a, b, c), 2)))
overloaded(sla.block_diag, lambda n, kws: {1: block_diag1, 2: block_diag2, 3: block_diag3}.get(n, sla.block_diag))

alias(sla.inv, np.linalg.inv, name=L + "inv")
alias(sla.det, np.linalg.det, name=L + "det")
alias(sla.solve, np.linalg.solve, name=L + "solve")

# ---------------------------------------------------------------- distributions

D = "scipy.stats."
elementwise(stats.norm.logpdf, lambda ans, x, loc=0.0, scale=1.0: -(x - loc) / (scale * scale),
            lambda ans, x, loc=0.0, scale=1.0: (x - loc) / (scale * scale),
            lambda ans, x, loc=0.0, scale=1.0: ((x - loc) ** 2 / (scale * scale) - 1.0) / scale,
            name=D + "norm.logpdf")
elementwise(stats.norm.pdf, lambda ans, x, loc=0.0, scale=1.0: -ans * (x - loc) / (scale * scale),
            lambda ans, x, loc=0.0, scale=1.0: ans * (x - loc) / (scale * scale),
            lambda ans, x, loc=0.0, scale=1.0: ans * ((x - loc) ** 2 / (scale * scale) - 1.0) / scale,
            name=D + "norm.pdf")
elementwise(stats.norm.cdf,
            lambda ans, x, loc=0.0, scale=1.0: np.exp(-0.5 * ((x - loc) / scale) ** 2) / (np.sqrt(2.0 * np.pi) * scale),
            lambda ans, x, loc=0.0, scale=1.0: -np.exp(-0.5 * ((x - loc) / scale) ** 2)
            / (np.sqrt(2.0 * np.pi) * scale),
            lambda ans, x, loc=0.0, scale=1.0: -np.exp(-0.5 * ((x - loc) / scale) ** 2) * (x - loc)
            / (np.sqrt(2.0 * np.pi) * scale * scale), name=D + "norm.cdf")
elementwise(stats.norm.logcdf,
            lambda ans, x, loc=0.0, scale=1.0: np.exp(-0.5 * ((x - loc) / scale) ** 2 - ans)
            / (np.sqrt(2.0 * np.pi) * scale),
            lambda ans, x, loc=0.0, scale=1.0: -np.exp(-0.5 * ((x - loc) / scale) ** 2 - ans)
            / (np.sqrt(2.0 * np.pi) * scale),
            lambda ans, x, loc=0.0, scale=1.0: -np.exp(-0.5 * ((x - loc) / scale) ** 2 - ans) * (x - loc)
            / (np.sqrt(2.0 * np.pi) * scale * scale), name=D + "norm.logcdf")
elementwise(stats.norm.sf,
            lambda ans, x, loc=0.0, scale=1.0: -np.exp(-0.5 * ((x - loc) / scale) ** 2)
            / (np.sqrt(2.0 * np.pi) * scale),
            lambda ans, x, loc=0.0, scale=1.0: np.exp(-0.5 * ((x - loc) / scale) ** 2) / (np.sqrt(2.0 * np.pi) * scale),
            lambda ans, x, loc=0.0, scale=1.0: np.exp(-0.5 * ((x - loc) / scale) ** 2) * (x - loc)
            / (np.sqrt(2.0 * np.pi) * scale * scale), name=D + "norm.sf")
elementwise(stats.norm.logsf,
            lambda ans, x, loc=0.0, scale=1.0: -np.exp(-0.5 * ((x - loc) / scale) ** 2 - ans)
            / (np.sqrt(2.0 * np.pi) * scale),
            lambda ans, x, loc=0.0, scale=1.0: np.exp(-0.5 * ((x - loc) / scale) ** 2 - ans)
            / (np.sqrt(2.0 * np.pi) * scale),
            lambda ans, x, loc=0.0, scale=1.0: np.exp(-0.5 * ((x - loc) / scale) ** 2 - ans) * (x - loc)
            / (np.sqrt(2.0 * np.pi) * scale * scale), name=D + "norm.logsf")


def _t_partials(x, df, loc, scale):
    """∂ t.logpdf / ∂(x, df, loc, scale)."""
    r2 = (x - loc) ** 2
    q = df * scale * scale + r2
    d_x = -(df + 1.0) * (x - loc) / q
    d_df = 0.5 * (special.digamma(0.5 * (df + 1.0)) - special.digamma(0.5 * df) - 1.0 / df
                  - np.log1p(r2 / (df * scale * scale)) + (df + 1.0) * r2 / (df * q))
    d_scale = ((df + 1.0) * r2 / q - 1.0) / scale
    return d_x, d_df, -d_x, d_scale

elementwise(stats.t.logpdf, lambda ans, x, df, loc=0.0, scale=1.0: _t_partials(x, df, loc, scale)[0],
            lambda ans, x, df, loc=0.0, scale=1.0: _t_partials(x, df, loc, scale)[1],
            lambda ans, x, df, loc=0.0, scale=1.0: _t_partials(x, df, loc, scale)[2],
            lambda ans, x, df, loc=0.0, scale=1.0: _t_partials(x, df, loc, scale)[3], name=D + "t.logpdf")
elementwise(stats.t.pdf, lambda ans, x, df, loc=0.0, scale=1.0: ans * _t_partials(x, df, loc, scale)[0],
            lambda ans, x, df, loc=0.0, scale=1.0: ans * _t_partials(x, df, loc, scale)[1],
            lambda ans, x, df, loc=0.0, scale=1.0: ans * _t_partials(x, df, loc, scale)[2],
            lambda ans, x, df, loc=0.0, scale=1.0: ans * _t_partials(x, df, loc, scale)[3], name=D + "t.pdf")
elementwise(stats.t.cdf, lambda ans, x, df, loc=0.0, scale=1.0: stats.t.pdf(x, df, loc, scale), NotImplemented,
            lambda ans, x, df, loc=0.0, scale=1.0: -stats.t.pdf(x, df, loc, scale),
            lambda ans, x, df, loc=0.0, scale=1.0: -stats.t.pdf(x, df, loc, scale) * (x - loc) / scale,
            name=D + "t.cdf", doc="In x, loc, scale (df has no derivative).")
elementwise(stats.t.logcdf, lambda ans, x, df, loc=0.0, scale=1.0: np.exp(stats.t.logpdf(x, df, loc, scale) - ans),
            NotImplemented,
            lambda ans, x, df, loc=0.0, scale=1.0: -np.exp(stats.t.logpdf(x, df, loc, scale) - ans),
            lambda ans, x, df, loc=0.0, scale=1.0: -np.exp(stats.t.logpdf(x, df, loc, scale) - ans) * (x - loc) / scale,
            name=D + "t.logcdf", doc="In x, loc, scale (df has no derivative).")


def _gamma_partials(x, a, loc, scale):
    """∂ gamma.logpdf / ∂(x, a, loc, scale)."""
    d_x = (a - 1.0) / (x - loc) - 1.0 / scale
    return d_x, np.log((x - loc) / scale) - special.digamma(a), -d_x, ((x - loc) / scale - a) / scale

elementwise(stats.gamma.logpdf, lambda ans, x, a, loc=0.0, scale=1.0: _gamma_partials(x, a, loc, scale)[0],
            lambda ans, x, a, loc=0.0, scale=1.0: _gamma_partials(x, a, loc, scale)[1],
            lambda ans, x, a, loc=0.0, scale=1.0: _gamma_partials(x, a, loc, scale)[2],
            lambda ans, x, a, loc=0.0, scale=1.0: _gamma_partials(x, a, loc, scale)[3], name=D + "gamma.logpdf")
elementwise(stats.gamma.pdf, lambda ans, x, a, loc=0.0, scale=1.0: ans * _gamma_partials(x, a, loc, scale)[0],
            lambda ans, x, a, loc=0.0, scale=1.0: ans * _gamma_partials(x, a, loc, scale)[1],
            lambda ans, x, a, loc=0.0, scale=1.0: ans * _gamma_partials(x, a, loc, scale)[2],
            lambda ans, x, a, loc=0.0, scale=1.0: ans * _gamma_partials(x, a, loc, scale)[3], name=D + "gamma.pdf")
elementwise(stats.gamma.cdf, lambda ans, x, a, loc=0.0, scale=1.0: stats.gamma.pdf(x, a, loc, scale), NotImplemented,
            lambda ans, x, a, loc=0.0, scale=1.0: -stats.gamma.pdf(x, a, loc, scale),
            lambda ans, x, a, loc=0.0, scale=1.0: -stats.gamma.pdf(x, a, loc, scale) * (x - loc) / scale,
            name=D + "gamma.cdf", doc="In x, loc, scale (a has no derivative).")
elementwise(stats.gamma.logcdf,
            lambda ans, x, a, loc=0.0, scale=1.0: np.exp(stats.gamma.logpdf(x, a, loc, scale) - ans), NotImplemented,
            lambda ans, x, a, loc=0.0, scale=1.0: -np.exp(stats.gamma.logpdf(x, a, loc, scale) - ans),
            lambda ans, x, a, loc=0.0, scale=1.0: -np.exp(stats.gamma.logpdf(x, a, loc, scale) - ans) * (x - loc)
            / scale, name=D + "gamma.logcdf", doc="In x, loc, scale (a has no derivative).")


def _beta_partials(x, a, b, loc, scale):
    """∂ beta.logpdf / ∂(x, a, b, loc, scale)."""
    d_x = (a - 1.0) / (x - loc) - (b - 1.0) / (loc + scale - x)
    d_a = np.log((x - loc) / scale) - special.digamma(a) + special.digamma(a + b)
    d_b = np.log1p(-(x - loc) / scale) - special.digamma(b) + special.digamma(a + b)
    d_scale = ((b - 1.0) * (x - loc) / (loc + scale - x) - a) / scale
    return d_x, d_a, d_b, -d_x, d_scale

elementwise(stats.beta.logpdf, lambda ans, x, a, b, loc=0.0, scale=1.0: _beta_partials(x, a, b, loc, scale)[0],
            lambda ans, x, a, b, loc=0.0, scale=1.0: _beta_partials(x, a, b, loc, scale)[1],
            lambda ans, x, a, b, loc=0.0, scale=1.0: _beta_partials(x, a, b, loc, scale)[2],
            lambda ans, x, a, b, loc=0.0, scale=1.0: _beta_partials(x, a, b, loc, scale)[3],
            lambda ans, x, a, b, loc=0.0, scale=1.0: _beta_partials(x, a, b, loc, scale)[4], name=D + "beta.logpdf")
elementwise(stats.beta.pdf, lambda ans, x, a, b, loc=0.0, scale=1.0: ans * _beta_partials(x, a, b, loc, scale)[0],
            lambda ans, x, a, b, loc=0.0, scale=1.0: ans * _beta_partials(x, a, b, loc, scale)[1],
            lambda ans, x, a, b, loc=0.0, scale=1.0: ans * _beta_partials(x, a, b, loc, scale)[2],
            lambda ans, x, a, b, loc=0.0, scale=1.0: ans * _beta_partials(x, a, b, loc, scale)[3],
            lambda ans, x, a, b, loc=0.0, scale=1.0: ans * _beta_partials(x, a, b, loc, scale)[4], name=D + "beta.pdf")
elementwise(stats.beta.cdf, lambda ans, x, a, b, loc=0.0, scale=1.0: stats.beta.pdf(x, a, b, loc, scale),
            NotImplemented, NotImplemented,
            lambda ans, x, a, b, loc=0.0, scale=1.0: -stats.beta.pdf(x, a, b, loc, scale),
            lambda ans, x, a, b, loc=0.0, scale=1.0: -stats.beta.pdf(x, a, b, loc, scale) * (x - loc) / scale,
            name=D + "beta.cdf", doc="In x, loc, scale (a and b have no derivative).")
elementwise(stats.beta.logcdf,
            lambda ans, x, a, b, loc=0.0, scale=1.0: np.exp(stats.beta.logpdf(x, a, b, loc, scale) - ans),
            NotImplemented, NotImplemented,
            lambda ans, x, a, b, loc=0.0, scale=1.0: -np.exp(stats.beta.logpdf(x, a, b, loc, scale) - ans),
            lambda ans, x, a, b, loc=0.0, scale=1.0: -np.exp(stats.beta.logpdf(x, a, b, loc, scale) - ans)
            * (x - loc) / scale, name=D + "beta.logcdf", doc="In x, loc, scale (a and b have no derivative).")

elementwise(stats.poisson.logpmf, NotImplemented, lambda ans, k, mu, loc=0: (k - loc) / mu - 1.0,
            name=D + "poisson.logpmf", doc="In mu (k and loc are integers).")
elementwise(stats.poisson.pmf, NotImplemented, lambda ans, k, mu, loc=0: ans * ((k - loc) / mu - 1.0),
            name=D + "poisson.pmf", doc="In mu (k and loc are integers).")


def _mvn_parts(x, mean, cov):
    """(residuals as rows, S⁻¹ r as rows, S⁻¹) of multivariate_normal.logpdf's arguments."""
    cov = np.asarray(cov, dtype=float)
    if cov.ndim != 2:
        raise NotImplementedError("sct differentiates multivariate_normal.logpdf with a 2-D covariance matrix")
    r = np.atleast_2d(np.asarray(x, dtype=float) - (0.0 if mean is None else mean))
    inv = np.linalg.inv(cov)
    return r, r @ inv, inv

def _mvn_adjoint(g, x, mean, cov, which):
    r, w, inv = _mvn_parts(x, mean, cov)
    gs = np.reshape(np.broadcast_to(g, (r.shape[0],)), (-1, 1))
    if which == 0:
        return np.reshape(-gs * w, np.shape(x))
    if which == 1:
        return np.sum(gs * w, axis=0)
    return _sym(0.5 * ((gs * w).T @ w - np.sum(gs) * inv))

def _mvn_tangent(dx, dmean, dcov, x, mean, cov):
    r, w, inv = _mvn_parts(x, mean, cov)
    out = np.zeros(r.shape[0])
    if not _is_zero(dx):
        out = out - np.sum(w * np.reshape(dx, r.shape), axis=1)
    if not _is_zero(dmean):
        out = out + w @ dmean
    if not _is_zero(dcov):
        s = _sym(dcov)
        out = out + 0.5 * np.sum((w @ s) * w, axis=1) - 0.5 * np.sum(inv * s)
    return out[0] if np.ndim(x) == 1 or r.shape[0] == 1 else out

@adjoint_rule(stats.multivariate_normal.logpdf, name=D + "multivariate_normal.logpdf")
def mvn_logpdf(g, ans, x, mean=None, cov=1, allow_singular=False):
    """x one point or rows of points; a 2-D covariance, differentiated on symmetric matrices."""
    return _mvn_adjoint(g, x, mean, cov, 0), _mvn_adjoint(g, x, mean, cov, 1), _mvn_adjoint(g, x, mean, cov, 2)

@tangent_rule(stats.multivariate_normal.logpdf, name=D + "multivariate_normal.logpdf")
def mvn_logpdf(dx, dmean, dcov, ans, x, mean=None, cov=1, allow_singular=False):
    return (_mvn_tangent(dx, 0.0, 0.0, x, mean, cov), _mvn_tangent(0.0, dmean, 0.0, x, mean, cov),
            _mvn_tangent(0.0, 0.0, dcov, x, mean, cov))
