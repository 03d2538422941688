"""Rules for ``np.linalg``: inverse, determinants, solves, factorizations, norms.

Families, in order: inverse and determinants, solves, symmetric factorizations
(cholesky, eigh, eigvalsh), the singular value decomposition, norms, fields of
NumPy's result tuples, non-differentiable.  Every rule acts on stacks of
matrices (the last two axes), as the NumPy functions do, so ``_T`` transposes
the last two axes and products are ``@``.  Formulas follow M. Giles, "An
extended collection of matrix derivative results for forward and reverse mode
AD" (2008); for the Cholesky factor, I. Murray, "Differentiation of the
Cholesky decomposition" (2016); for the SVD, J. Townsend, "Differentiating the
singular value decomposition" (2016).

``cholesky``, ``eigh`` and ``eigvalsh`` read one triangle of a matrix that is
meant to be symmetric, so their derivatives are those of the function on
symmetric matrices: the tangent rule uses the symmetric part of the input's
tangent and the adjoint rule returns a symmetric matrix (the two agree, and
match finite differences of any function that symmetrizes its input).
"""
import numpy as np

from ..runtime import add_at, take, unbroadcast, unreduce
from .numpy import _like
from .registry import REGISTRY, adjoint_rule, attribute, nondifferentiable, overloaded, tangent_rule


def _T(a):
    """Transpose the last two axes (a stack of matrices)."""
    return np.swapaxes(a, -1, -2)


def _sym(a):
    """The symmetric part of (a stack of) square matrices."""
    return 0.5 * (a + _T(a))


def _matrix_seed(g):
    """A seed per matrix of a stack (shape ``(...)``) as ``(..., 1, 1)``, to scale whole matrices."""
    return np.expand_dims(g, (-2, -1))


def _is_zero(g):
    return isinstance(g, float) and g == 0.0

# ---------------------------------------------------------------- inverse and determinants

@adjoint_rule(np.linalg.inv)
def inv(g, ans, a):
    """Stacks of matrices."""
    return -(_T(ans) @ _like(g, ans) @ _T(ans))

@tangent_rule(np.linalg.inv)
def inv(da, ans, a):
    return -(ans @ da @ ans)


def _trace_of_solve(a, da):
    """tr(a⁻¹ da) for each matrix of a stack: the derivative of log|det a| along da."""
    return np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)

@adjoint_rule(np.linalg.det)
def det(g, ans, a):
    """Stacks of matrices."""
    return _matrix_seed(g * ans) * _T(np.linalg.inv(a))

@tangent_rule(np.linalg.det)
def det(da, ans, a):
    return ans * _trace_of_solve(a, da)


def _slogdet_adjoint(g, a):
    """ā of ``sign, logabsdet = slogdet(a)``: only logabsdet (output 1) has a derivative."""
    g_log = take(g, 1)
    if _is_zero(g_log):
        return np.zeros(np.shape(a))
    return _matrix_seed(g_log) * _T(np.linalg.inv(a))

def _slogdet_tangent(da, ans, a):
    """The tangent of the pair ``(sign, logabsdet)``: zero for the sign."""
    return (np.zeros(np.shape(ans[0])), _trace_of_solve(a, da))

@adjoint_rule(np.linalg.slogdet)
def slogdet(g, ans, a):
    """The derivative of logabsdet (sign has none); stacks of matrices."""
    return _slogdet_adjoint(g, a)

@tangent_rule(np.linalg.slogdet)
def slogdet(da, ans, a):
    return _slogdet_tangent(da, ans, a)

# ---------------------------------------------------------------- solves

def _solve(a, rhs, vector):
    """``a⁻¹ rhs`` where rhs is a (stack of) vector(s) when ``vector`` (the b of the call was 1-D)."""
    if vector:
        return np.linalg.solve(a, rhs[..., None])[..., 0]
    return np.linalg.solve(a, rhs)

def _solve_adjoint(g, ans, a, b, which):
    """ā (which=0) or b̄ (which=1) of ``ans = solve(a, b)``: b̄ = a⁻ᵀ g and ā = -b̄ ansᵀ."""
    vector = np.ndim(b) == 1
    b_bar = _solve(_T(a), g, vector)
    if which == 1:
        return unbroadcast(b_bar, b)
    if vector:
        return unbroadcast(-(b_bar[..., :, None] * ans[..., None, :]), a)
    return unbroadcast(-(b_bar @ _T(ans)), a)

def _solve_tangent_a(da, ans, a, b):
    """The tangent of ``solve(a, b)`` along da: -a⁻¹ da ans."""
    vector = np.ndim(b) == 1
    product = (da @ ans[..., None])[..., 0] if vector else da @ ans
    return -_solve(a, product, vector)

@adjoint_rule(np.linalg.solve)
def solve(g, ans, a, b):
    """Vector or matrix right-hand sides (NumPy 2 semantics); stacks of matrices."""
    return _solve_adjoint(_like(g, ans), ans, a, b, 0), _solve_adjoint(_like(g, ans), ans, a, b, 1)

@tangent_rule(np.linalg.solve)
def solve(da, db, ans, a, b):
    return _solve_tangent_a(da, ans, a, b), _solve(a, db, np.ndim(b) == 1)

# ---------------------------------------------------------------- symmetric factorizations

def _phi(x):
    """The lower triangle of (a stack of) square matrices with the diagonal halved."""
    return np.tril(x) - 0.5 * np.eye(np.shape(x)[-1]) * x

def _cholesky_adjoint(g, ans, upper):
    """Ā of ``L = cholesky(A)`` (Murray 2016): sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹)."""
    L, g_L = (_T(ans), _T(g)) if upper else (ans, g)
    P = _phi(_T(L) @ g_L)
    left = np.linalg.solve(_T(L), P)                 # L⁻ᵀ P
    return _sym(_T(np.linalg.solve(_T(L), _T(left))))  # (L⁻ᵀ (L⁻ᵀ P)ᵀ)ᵀ = L⁻ᵀ P L⁻¹

def _cholesky_tangent(da, ans, upper):
    """dL = L Φ(L⁻¹ sym(dA) L⁻ᵀ); for upper=True the transpose."""
    L = _T(ans) if upper else ans
    inner = _T(np.linalg.solve(L, _T(np.linalg.solve(L, _sym(da)))))
    dL = L @ _phi(inner)
    return _T(dL) if upper else dL

@adjoint_rule(np.linalg.cholesky)
def cholesky(g, ans, a, upper=False):
    """Differentiated on symmetric matrices (a symmetric adjoint); upper=True too; stacks."""
    return _cholesky_adjoint(_like(g, ans), ans, upper)

@tangent_rule(np.linalg.cholesky)
def cholesky(da, ans, a, upper=False):
    return _cholesky_tangent(da, ans, upper)


def _eigen_gaps(w):
    """F with F[i, j] = 1 / (w[j] - w[i]) off the diagonal and 0 on it (per matrix of a stack)."""
    n = np.shape(w)[-1]
    off = 1.0 - np.eye(n)
    gaps = w[..., None, :] - w[..., :, None]
    return off / np.where(off > 0, gaps, 1.0)

def _eigh_adjoint(g, ans, a):
    """Ā of ``w, V = eigh(A)``: sym(V (diag(w̄) + F ∘ (Vᵀ V̄)) Vᵀ)."""
    w, v = ans[0], ans[1]
    g_w, g_v = take(g, 0), take(g, 1)
    middle = np.zeros(np.shape(a))
    if not _is_zero(g_w):
        middle = middle + np.expand_dims(g_w, -2) * np.eye(np.shape(w)[-1])
    if not _is_zero(g_v):
        middle = middle + _eigen_gaps(w) * (_T(v) @ g_v)
    return _sym(v @ middle @ _T(v))

def _eigh_tangent(da, ans, a):
    """``(dw, dV)`` with M = Vᵀ sym(dA) V: dw = diag(M), dV = V (F ∘ M)."""
    w, v = ans[0], ans[1]
    m = _T(v) @ _sym(da) @ v
    return (np.diagonal(m, axis1=-2, axis2=-1), v @ (_eigen_gaps(w) * m))

@adjoint_rule(np.linalg.eigh)
def eigh(g, ans, a, UPLO="L"):
    """Differentiated on symmetric matrices; eigenvalues must be distinct; stacks."""
    return _eigh_adjoint(g, ans, a)

@tangent_rule(np.linalg.eigh)
def eigh(da, ans, a, UPLO="L"):
    return _eigh_tangent(da, ans, a)


def _eigvalsh_adjoint(g, a, uplo):
    v = np.linalg.eigh(a, uplo)[1]
    return _sym(v @ (np.expand_dims(g, -1) * _T(v)))   # V diag(g) Vᵀ

def _eigvalsh_tangent(da, a, uplo):
    v = np.linalg.eigh(a, uplo)[1]
    return np.diagonal(_T(v) @ _sym(da) @ v, axis1=-2, axis2=-1)

@adjoint_rule(np.linalg.eigvalsh)
def eigvalsh(g, ans, a, UPLO="L"):
    """Differentiated on symmetric matrices; stacks."""
    return _eigvalsh_adjoint(g, a, UPLO)

@tangent_rule(np.linalg.eigvalsh)
def eigvalsh(da, ans, a, UPLO="L"):
    return _eigvalsh_tangent(da, a, UPLO)

# ---------------------------------------------------------------- singular value decomposition

def _svd_gaps(s):
    """F with F[i, j] = 1 / (s[j]² - s[i]²) off the diagonal and 0 on it (per matrix of a stack)."""
    return _eigen_gaps(s * s)

def _check_svd_shape(a, full_matrices):
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n:
        raise NotImplementedError("sct differentiates np.linalg.svd of a non-square matrix only with "
                                  "full_matrices=False (the extra singular vectors are not unique)")

def _svd_adjoint(g, ans, a, full_matrices, compute_uv):
    """Ā of ``U, s, Vh = svd(A)`` (reduced; distinct non-zero singular values), after J. Townsend,
    "Differentiating the singular value decomposition" (2016):
    U [diag(s̄) + (F∘(UᵀŪ - ŪᵀU)) S + S (F∘(VᵀV̄ - V̄ᵀV))] Vᵀ
    + (I - UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I - VVᵀ)."""
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return u @ (np.expand_dims(g, -1) * vh)
    _check_svd_shape(a, full_matrices)
    u, s, vh = ans[0], ans[1], ans[2]
    g_u, g_s, g_vh = take(g, 0), take(g, 1), take(g, 2)
    v = _T(vh)
    f = _svd_gaps(s)
    middle = np.zeros(np.shape(s) + (np.shape(s)[-1],))
    out = np.zeros(np.shape(a))
    if not _is_zero(g_s):
        middle = middle + np.expand_dims(g_s, -2) * np.eye(np.shape(s)[-1])
    if not _is_zero(g_u):
        ut_gu = _T(u) @ g_u
        middle = middle + (f * (ut_gu - _T(ut_gu))) * np.expand_dims(s, -2)
        out = out + ((g_u - u @ ut_gu) / np.expand_dims(s, -2)) @ vh
    if not _is_zero(g_vh):
        g_v = _T(g_vh)
        vt_gv = _T(v) @ g_v
        middle = middle + np.expand_dims(s, -1) * (f * (vt_gv - _T(vt_gv)))
        out = out + (u / np.expand_dims(s, -2)) @ _T(g_v - v @ vt_gv)
    return out + u @ middle @ vh

def _svd_tangent(da, ans, a, full_matrices, compute_uv):
    """``(dU, ds, dVh)`` with dP = Uᵀ dA V: ds = diag(dP), dU = U (F∘(dP S + S dPᵀ)) + (I - UUᵀ) dA V S⁻¹,
    dV = V (F∘(S dP + dPᵀ S)) + (I - VVᵀ) dAᵀ U S⁻¹."""
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return np.diagonal(_T(u) @ da @ _T(vh), axis1=-2, axis2=-1)
    _check_svd_shape(a, full_matrices)
    u, s, vh = ans[0], ans[1], ans[2]
    v = _T(vh)
    f = _svd_gaps(s)
    row, col = np.expand_dims(s, -1), np.expand_dims(s, -2)
    da_v = da @ v
    dat_u = _T(da) @ u
    dp = _T(u) @ da_v
    du = u @ (f * (dp * col + row * _T(dp))) + (da_v - u @ (_T(u) @ da_v)) / col
    dv = v @ (f * (row * dp + _T(dp) * col)) + (dat_u - v @ (_T(v) @ dat_u)) / col
    return (du, np.diagonal(dp, axis1=-2, axis2=-1), _T(dv))

@adjoint_rule(np.linalg.svd)
def svd(g, ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    """Distinct non-zero singular values; full_matrices=False unless square; compute_uv=False too; stacks."""
    return _svd_adjoint(g, ans, a, full_matrices, compute_uv)

@tangent_rule(np.linalg.svd)
def svd(da, ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    return _svd_tangent(da, ans, a, full_matrices, compute_uv)


@adjoint_rule(np.linalg.svdvals)
def svdvals(g, ans, x):
    """Distinct singular values; stacks."""
    return _svd_adjoint(g, ans, x, False, False)

@tangent_rule(np.linalg.svdvals)
def svdvals(dx, ans, x):
    return _svd_tangent(dx, ans, x, False, False)

# ---------------------------------------------------------------- norms

def _norm_axes(x, ord, axis):
    """How ``norm(x, ord, axis)`` reduces: ('flat' | 'vector' | 'matrix', the reduced axes)."""
    nd = np.ndim(x)
    if axis is None:
        if ord is None:
            return "flat", tuple(range(nd))
        return ("vector", (0,)) if nd == 1 else ("matrix", (0, 1))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    axes = tuple(int(a) % nd for a in axes)
    return ("vector" if len(axes) == 1 else "matrix"), axes

def _shared(mask, axes):
    """A 0/1 mask divided by its count over ``axes``: ties share the derivative equally."""
    return mask / np.sum(mask, axis=axes, keepdims=True)

def _norm_slope(ans, x, ord, axis, keepdims):
    """∂ norm / ∂x for every element of x (each element feeds exactly one norm)."""
    x = np.asarray(x, dtype=float)
    how, axes = _norm_axes(x, ord, axis)
    n = unreduce(ans, x, axes, keepdims)
    if how == "flat" or ord in (None, "fro") or (how == "vector" and ord == 2):
        return x / n
    if how == "vector":
        if ord == np.inf or ord == -np.inf:
            return np.sign(x) * _shared(np.abs(x) == n, axes)
        if ord == 0:
            return np.zeros(x.shape)
        if ord == 1:
            return np.sign(x)
        return np.sign(x) * (np.abs(x) / n) ** (ord - 1)
    rows, cols = axes
    if ord in (1, -1, np.inf, -np.inf):  # the max (min) absolute column (1) or row (inf) sum
        along = rows if ord in (1, -1) else cols
        other = cols if along == rows else rows
        sums = np.sum(np.abs(x), axis=along, keepdims=True)
        pick = np.max if ord in (1, np.inf) else np.min
        return np.sign(x) * _shared(sums == pick(sums, axis=other, keepdims=True), other)
    xm = np.moveaxis(x, (rows, cols), (-2, -1))
    u, s, vt = np.linalg.svd(xm, full_matrices=False)
    if ord == "nuc":
        slope = u @ vt
    elif ord == 2:
        slope = u[..., :, :1] @ vt[..., :1, :]
    elif ord == -2:
        slope = u[..., :, -1:] @ vt[..., -1:, :]
    else:
        raise NotImplementedError(f"sct has no derivative for np.linalg.norm with ord={ord!r}")
    return np.moveaxis(slope, (-2, -1), (rows, cols))

def _norm_reduced(x, ord, axis):
    return _norm_axes(x, ord, axis)[1]

@adjoint_rule(np.linalg.norm)
def norm(g, ans, x, ord=None, axis=None, keepdims=False):
    """Vector: any p, ±inf, 0; matrix: 'fro', 'nuc', ±1, ±2, ±inf; axis and keepdims."""
    return unreduce(g, x, _norm_reduced(x, ord, axis), keepdims) * _norm_slope(ans, x, ord, axis, keepdims)

@tangent_rule(np.linalg.norm)
def norm(dx, ans, x, ord=None, axis=None, keepdims=False):
    return np.sum(dx * _norm_slope(ans, x, ord, axis, keepdims), axis=_norm_reduced(x, ord, axis),
                  keepdims=keepdims)


def norm2(x, axis=None, keepdims=False):
    """``np.linalg.norm(x)`` or ``np.linalg.norm(x, axis=...)``: the 2-norm (Frobenius over two axes)."""
    return np.linalg.norm(x, None, axis, keepdims)

def _norm2_slope(ans, x, axis, keepdims):
    """x / ‖x‖ (kept apart from _norm_slope so that its second derivative needs no SVD)."""
    return x / unreduce(ans, x, _norm_reduced(x, None, axis), keepdims)

@adjoint_rule(norm2, name="np.linalg.norm")
def norm2_(g, ans, x, axis=None, keepdims=False):
    return unreduce(g, x, _norm_reduced(x, None, axis), keepdims) * _norm2_slope(ans, x, axis, keepdims)

@tangent_rule(norm2, name="np.linalg.norm")
def norm2_(dx, ans, x, axis=None, keepdims=False):
    return np.sum(dx * _norm2_slope(ans, x, axis, keepdims), axis=_norm_reduced(x, None, axis), keepdims=keepdims)

overloaded(np.linalg.norm, lambda n, kws: norm2 if n == 1 and "ord" not in kws else np.linalg.norm)

# ---------------------------------------------------------------- fields of result tuples

def logabsdet_field(result):
    """``np.linalg.slogdet(a).logabsdet``."""
    return result[1]

def eigenvalues_field(result):
    """``np.linalg.eigh(a).eigenvalues``."""
    return result[0]

def eigenvectors_field(result):
    """``np.linalg.eigh(a).eigenvectors``."""
    return result[1]

@adjoint_rule(logabsdet_field, name=".logabsdet")
def logabsdet_field_(g, ans, result, acc):
    return add_at(acc, result, 1, g)

@tangent_rule(logabsdet_field, name=".logabsdet")
def logabsdet_field_(dresult, ans, result):
    return dresult[1]

@adjoint_rule(eigenvalues_field, name=".eigenvalues")
def eigenvalues_field_(g, ans, result, acc):
    return add_at(acc, result, 0, g)

@tangent_rule(eigenvalues_field, name=".eigenvalues")
def eigenvalues_field_(dresult, ans, result):
    return dresult[0]

@adjoint_rule(eigenvectors_field, name=".eigenvectors")
def eigenvectors_field_(g, ans, result, acc):
    return add_at(acc, result, 1, g)

@tangent_rule(eigenvectors_field, name=".eigenvectors")
def eigenvectors_field_(dresult, ans, result):
    return dresult[1]

attribute("logabsdet", logabsdet_field)
attribute("eigenvalues", eigenvalues_field)
attribute("eigenvectors", eigenvectors_field)
REGISTRY.nondiff_attributes |= {"sign"}   # slogdet(a).sign

# ---------------------------------------------------------------- non-differentiable

nondifferentiable(np.linalg.matrix_rank)

# argument checks called by the adjoints: no derivative flows through them
nondifferentiable(_check_svd_shape)
