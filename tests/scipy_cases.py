"""Tiny SciPy functions that the rule tests differentiate (as ``numpy_cases``, weighted sums of results)."""
import numpy as np
from scipy import linalg as sla
from scipy import special, stats

from numpy_cases import sym, weights


def ws(r):
    return np.sum(r * weights(r))

# ---------------------------------------------------------------- special: one argument

def gammaln(x): return ws(special.gammaln(x))
def digamma(x): return ws(special.digamma(x))
def polygamma(x): return ws(special.polygamma(2, x))
def gamma(x): return ws(special.gamma(x))
def loggamma(x): return ws(special.loggamma(x))
def rgamma(x): return ws(special.rgamma(x))
def erf(x): return ws(special.erf(x))
def erfc(x): return ws(special.erfc(x))
def erfinv(x): return ws(special.erfinv(x))
def erfcinv(x): return ws(special.erfcinv(x + 1.0))
def erfcx(x): return ws(special.erfcx(x))
def dawsn(x): return ws(special.dawsn(x))
def ndtr(x): return ws(special.ndtr(x))
def log_ndtr(x): return ws(special.log_ndtr(x))
def ndtri(x): return ws(special.ndtri(0.5 + 0.4 * x))
def expit(x): return ws(special.expit(x))
def logit(x): return ws(special.logit(0.5 + 0.4 * x))
def log_expit(x): return ws(special.log_expit(x))
def softplus(x): return ws(special.softplus(x))
def entr(x): return ws(special.entr(x))
def i0(x): return ws(special.i0(x))
def i1(x): return ws(special.i1(x))
def i0e(x): return ws(special.i0e(x))
def i1e(x): return ws(special.i1e(x))
def exp10(x): return ws(special.exp10(x))
def exp2(x): return ws(special.exp2(x))
def cbrt(x): return ws(special.cbrt(x))
def expm1(x): return ws(special.expm1(x))
def log1p(x): return ws(special.log1p(x))
def cosm1(x): return ws(special.cosm1(x))
def gammainc(x): return ws(special.gammainc(1.5, x) + special.gammaincc(2.5, x))
def boxcox(x): return ws(special.boxcox(x, 0.3))
def huber(x): return ws(special.huber(0.7, x) + special.pseudo_huber(0.7, x))

# ---------------------------------------------------------------- special: two arguments

def betaln(a, b): return ws(special.betaln(a, b))
def beta(a, b): return ws(special.beta(a, b))
def xlogy(x, y): return ws(special.xlogy(x, y))
def xlog1py(x, y): return ws(special.xlog1py(x, y))
def kl_div(x, y): return ws(special.kl_div(x, y))
def rel_entr(x, y): return ws(special.rel_entr(x, y))

# ---------------------------------------------------------------- reductions

def logsumexp(a, axis):
    return ws(special.logsumexp(a, axis=axis))

def logsumexp_b(a, b, axis, keepdims):
    return ws(special.logsumexp(a, axis=axis, b=b, keepdims=keepdims))

def softmax(x, axis):
    return ws(special.softmax(x, axis=axis))

def log_softmax(x, axis):
    return ws(special.log_softmax(x, axis=axis))

# ---------------------------------------------------------------- linear algebra

def solve_triangular(a, b, lower, trans, unit):
    return ws(sla.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit))

def cholesky(a, lower):
    return ws(sla.cholesky(sym(a), lower=lower))

def cho_solve(a, b, lower):
    c = sla.cho_factor(sym(a), lower=lower)
    return ws(sla.cho_solve(c, b))

def lu_solve(a, b):
    lu = sla.lu_factor(a)
    return ws(sla.lu_solve(lu, b) + sla.lu_solve(lu, b, trans=1))

def block_diag(a, b, c):
    return ws(sla.block_diag(a, b, c)) + ws(sla.block_diag(a)) + ws(sla.block_diag(b, a))

def expm(a):
    return ws(sla.expm(a))

def scipy_inv_det_solve(a, b):
    return ws(sla.inv(a)) + sla.det(a) + ws(sla.solve(a, b))

# ---------------------------------------------------------------- distributions

def norm(x, loc, scale):
    return ws(stats.norm.logpdf(x, loc, scale) + stats.norm.pdf(x, loc, scale) + stats.norm.cdf(x, loc, scale)
              + stats.norm.logcdf(x, loc, scale) + stats.norm.sf(x, loc, scale) + stats.norm.logsf(x, loc, scale))

def norm_keywords(x):
    return ws(stats.norm.logpdf(x, scale=2.0) + stats.norm.cdf(x, loc=0.5))

def t(x, df, loc, scale):
    return ws(stats.t.logpdf(x, df, loc, scale) + stats.t.pdf(x, df, loc, scale))

def t_cdf(x, loc, scale):
    return ws(stats.t.cdf(x, 3.5, loc, scale) + stats.t.logcdf(x, 3.5, loc, scale))

def gamma_dist(x, a, scale):
    return ws(stats.gamma.logpdf(x, a, 0.0, scale) + stats.gamma.pdf(x, a, 0.0, scale))

def gamma_cdf(x, scale):
    return ws(stats.gamma.cdf(x, 2.5, 0.0, scale) + stats.gamma.logcdf(x, 2.5, 0.0, scale))

def beta_dist(x, a, b):
    return ws(stats.beta.logpdf(0.5 + 0.4 * x, a, b) + stats.beta.pdf(0.5 + 0.4 * x, a, b, 0.0, 1.2))

def beta_cdf(x, scale):
    return ws(stats.beta.cdf(0.5 + 0.4 * x, 2.0, 3.0, 0.0, scale) + stats.beta.logcdf(0.5 + 0.4 * x, 2.0, 3.0))

def poisson(mu):
    return ws(stats.poisson.logpmf(np.array([0.0, 2.0, 5.0]), mu) + stats.poisson.pmf(3.0, mu))

def mvn(x, mean, cov):
    return np.sum(stats.multivariate_normal.logpdf(x, mean, sym(cov)) * 1.3)

# ---------------------------------------------------------------- refused

def polygamma_in_order(x):
    return special.polygamma(x, 1.5)

def lu_factor(a):
    lu, piv = sla.lu_factor(a)
    return np.sum(lu)

def lu_solve_in_the_matrix(a):
    lu = sla.lu_factor(np.eye(3) * 2.0)
    return np.sum(sla.lu_solve((lu[0] + a, lu[1]), np.ones(3)))
