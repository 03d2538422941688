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
from .numpy import _cross_adjoint, _diagonal_adjoint, _spread_last
from .registry import (REGISTRY, _like, adjoint_rule, alias, attribute, bilinear, effect_only, linear, nondifferentiable,
                       overloaded, result_kind, returns_view, tangent_rule)


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

# ---------------------------------------------------------------- pseudo-inverse, least squares, QR, eig

def _pinv_adjoint(g, ans, a):
    """Ā of X = pinv(A) at constant rank (the transpose of Golub and Pereyra's 1973 derivative):
    -Xᵀ G Xᵀ + (I - A X) Gᵀ X Xᵀ + Xᵀ X Gᵀ (I - X A)."""
    x = ans
    eye_m, eye_n = np.eye(np.shape(a)[-2]), np.eye(np.shape(a)[-1])
    return (-(_T(x) @ g @ _T(x)) + (eye_m - a @ x) @ _T(g) @ x @ _T(x)
            + _T(x) @ x @ _T(g) @ (eye_n - x @ a))

def _pinv_tangent(da, ans, a):
    x = ans
    eye_m, eye_n = np.eye(np.shape(a)[-2]), np.eye(np.shape(a)[-1])
    return (-(x @ da @ x) + x @ _T(x) @ _T(da) @ (eye_m - a @ x)
            + (eye_n - x @ a) @ _T(da) @ _T(x) @ x)

@adjoint_rule(np.linalg.pinv)
def pinv(g, ans, a, rcond=None, hermitian=False):
    """Constant rank (full rank in practice); stacks."""
    return _pinv_adjoint(_like(g, ans), ans, a)

@tangent_rule(np.linalg.pinv)
def pinv(da, ans, a, rcond=None, hermitian=False):
    return _pinv_tangent(da, ans, a)


def _lstsq_adjoint(g, ans, a, b, which):
    """ā or b̄ of ``x, residuals, rank, s = lstsq(a, b)`` (full column rank): x = pinv(a) b;
    residuals = |a x - b|² per column.  The rank has no derivative; the singular values are refused."""
    x, res = ans[0], ans[1]
    g_x, g_res, g_s = take(g, 0), take(g, 1), take(g, 3)
    if not _is_zero(g_s):
        raise NotImplementedError("sct differentiates the solution and residuals of np.linalg.lstsq, "
                                  "not its singular values")
    vector = np.ndim(b) == 1
    x2 = x[:, None] if vector else x
    b2 = np.asarray(b, dtype=float)[:, None] if vector else np.asarray(b, dtype=float)
    p = np.linalg.pinv(a)
    a_bar = np.zeros(np.shape(a))
    b_bar = np.zeros(np.shape(b2))
    if not _is_zero(g_x):
        gx2 = np.reshape(np.broadcast_to(g_x, np.shape(x)), np.shape(x2))
        b_bar = b_bar + _T(p) @ gx2
        a_bar = a_bar + _pinv_adjoint(gx2 @ _T(b2), p, a)
    if not _is_zero(g_res) and np.size(res):
        r = a @ x2 - b2                                  # at the optimum, d|r|²/dx = 0
        gr = np.reshape(np.broadcast_to(g_res, np.shape(res)), (1, -1))
        b_bar = b_bar - 2.0 * r * gr
        a_bar = a_bar + 2.0 * (r * gr) @ _T(x2)
    return a_bar if which == 0 else np.reshape(b_bar, np.shape(b))

def _lstsq_tangent(da, db, ans, a, b):
    """(dx, dresiduals, 0, 0) along da and db."""
    x, res = ans[0], ans[1]
    vector = np.ndim(b) == 1
    x2 = x[:, None] if vector else x
    b2 = np.asarray(b, dtype=float)[:, None] if vector else np.asarray(b, dtype=float)
    p = np.linalg.pinv(a)
    da = np.zeros(np.shape(a)) if _is_zero(da) else da
    db2 = np.zeros(np.shape(b2)) if _is_zero(db) else np.reshape(db, np.shape(b2))
    dx2 = _pinv_tangent(da, p, a) @ b2 + p @ db2
    r = a @ x2 - b2
    dres = 2.0 * np.sum(r * (da @ x2 - db2), axis=0) if np.size(res) else np.zeros(np.shape(res))
    return (np.reshape(dx2, np.shape(x)), np.reshape(dres, np.shape(res)), np.zeros(np.shape(ans[2])),
            np.zeros(np.shape(ans[3])))

result_kind(np.linalg.lstsq, "tuple")   # (x, residuals, rank, singular values): tangents add per field
for _several in (np.linalg.slogdet, np.linalg.eigh, np.linalg.svd, np.linalg.qr, np.linalg.eig):
    result_kind(_several, "tuple")      # named tuples of results (svd without uv is an array: "unknown" is safe)

@adjoint_rule(np.linalg.lstsq)
def lstsq(g, ans, a, b, rcond=None):
    """Full column rank; the solution and the residuals (not the singular values)."""
    return _lstsq_adjoint(g, ans, a, b, 0), _lstsq_adjoint(g, ans, a, b, 1)

@tangent_rule(np.linalg.lstsq)
def lstsq(da, db, ans, a, b, rcond=None):
    return _lstsq_tangent(da, 0.0, ans, a, b), _lstsq_tangent(0.0, db, ans, a, b)


def _copyltu(m):
    """The lower triangle of m mirrored into the upper one."""
    return np.tril(m) + _T(np.tril(m, -1))

def _qr_adjoint(g, ans, a, mode):
    """Ā of Q, R = qr(A), m ≥ n, reduced (H.-J. Liao et al., "Differentiable programming tensor
    networks", 2019): (Q̄ + Q copyltu(M)) R⁻ᵀ with M = R R̄ᵀ - Q̄ᵀ Q."""
    if mode == "r":
        q, r = np.linalg.qr(a)
        g_q, g_r = 0.0, g
    else:
        _check_qr(a, mode)
        q, r = ans[0], ans[1]
        g_q, g_r = take(g, 0), take(g, 1)
    g_q = np.zeros(np.shape(q)) if _is_zero(g_q) else g_q
    g_r = np.zeros(np.shape(r)) if _is_zero(g_r) else g_r
    m = r @ _T(g_r) - _T(g_q) @ q
    return _T(np.linalg.solve(r, _T(g_q + q @ _copyltu(m))))

def _qr_tangent(da, ans, a, mode):
    """dQ = dA R⁻¹ - Q (C - Ω), dR = (C - Ω) R, with C = Qᵀ dA R⁻¹ and Ω = tril(C, -1) - tril(C, -1)ᵀ."""
    if mode == "r":
        q, r = np.linalg.qr(a)
    else:
        _check_qr(a, mode)
        q, r = ans[0], ans[1]
    da_rinv = _T(np.linalg.solve(_T(r), _T(da)))
    c = _T(q) @ da_rinv
    omega = np.tril(c, -1) - _T(np.tril(c, -1))
    dr = (c - omega) @ r
    if mode == "r":
        return dr
    return (da_rinv - q @ (c - omega), dr)

def _check_qr(a, mode):
    m, n = np.shape(a)[-2:]
    if mode not in ("reduced", "r") or m < n:
        raise NotImplementedError("sct differentiates np.linalg.qr of matrices with at least as many rows as "
                                  "columns, modes 'reduced' and 'r'")

@adjoint_rule(np.linalg.qr)
def qr(g, ans, a, mode="reduced"):
    """m ≥ n (full column rank); modes 'reduced' and 'r'; stacks."""
    return _qr_adjoint(g, ans, a, mode)

@tangent_rule(np.linalg.qr)
def qr(da, ans, a, mode="reduced"):
    return _qr_tangent(da, ans, a, mode)


def _real_eig(a):
    w, v = np.linalg.eig(a)
    if np.iscomplexobj(w):
        raise NotImplementedError("sct differentiates np.linalg.eig/eigvals of matrices with real eigenvalues")
    return w, v

def _eig_adjoint(g, ans, a, values_only):
    """Ā of w, V = eig(A) (real, distinct eigenvalues; unit eigenvectors; M. Giles 2008):
    V⁻ᵀ (diag(w̄) + F ∘ (Vᵀ V̄')) Vᵀ, where V̄' = V̄ - V diag(Vᵀ V̄) accounts for the normalisation."""
    w, v = _real_eig(a)
    g_w, g_v = (g, 0.0) if values_only else (take(g, 0), take(g, 1))
    middle = np.zeros(np.shape(a))
    if not _is_zero(g_w):
        middle = middle + np.expand_dims(g_w, -2) * np.eye(np.shape(w)[-1])
    if not _is_zero(g_v):
        g_v = g_v - v * np.sum(v * g_v, axis=-2, keepdims=True)
        middle = middle + _eigen_gaps(w) * (_T(v) @ g_v)
    return np.linalg.solve(_T(v), middle @ _T(v))   # V⁻ᵀ middle Vᵀ

def _eig_tangent(da, ans, a, values_only):
    """dw = diag(V⁻¹ dA V); dV = P(V (F ∘ V⁻¹ dA V)), P removing the change of each column's length."""
    w, v = _real_eig(a)
    m = np.linalg.solve(v, da @ v)
    dw = np.diagonal(m, axis1=-2, axis2=-1)
    if values_only:
        return dw
    dv = v @ (_eigen_gaps(w) * m)
    return (dw, dv - v * np.sum(v * dv, axis=-2, keepdims=True))

@adjoint_rule(np.linalg.eig)
def eig(g, ans, a):
    """Real, distinct eigenvalues; eigenvectors of unit length, as NumPy returns them; stacks."""
    return _eig_adjoint(g, ans, a, False)

@tangent_rule(np.linalg.eig)
def eig(da, ans, a):
    return _eig_tangent(da, ans, a, False)

@adjoint_rule(np.linalg.eigvals)
def eigvals(g, ans, a):
    """Real, distinct eigenvalues; stacks."""
    return _eig_adjoint(_like(g, ans), ans, a, True)

@tangent_rule(np.linalg.eigvals)
def eigvals(da, ans, a):
    return _eig_tangent(da, ans, a, True)

# ---------------------------------------------------------------- products of several matrices

def _matrix_power_adjoint(g, a, n):
    """Ā of Aⁿ: Σₖ (Aᵀ)ᵏ G (Aᵀ)ⁿ⁻¹⁻ᵏ (n < 0: through the inverse)."""
    if n < 0:
        inv = np.linalg.inv(a)
        return -(_T(inv) @ _matrix_power_adjoint(g, inv, -n) @ _T(inv))
    powers = [np.broadcast_to(np.eye(np.shape(a)[-1]), np.shape(a))]
    for _ in range(max(n - 1, 0)):
        powers.append(powers[-1] @ a)
    out = np.zeros(np.shape(a))
    for k in range(n):
        out = out + _T(powers[k]) @ g @ _T(powers[n - 1 - k])
    return out

def _matrix_power_tangent(da, a, n):
    if n < 0:
        inv = np.linalg.inv(a)
        return _matrix_power_tangent(-(inv @ da @ inv), inv, -n)
    powers = [np.broadcast_to(np.eye(np.shape(a)[-1]), np.shape(a))]
    for _ in range(max(n - 1, 0)):
        powers.append(powers[-1] @ a)
    out = np.zeros(np.shape(a))
    for k in range(n):
        out = out + powers[k] @ da @ powers[n - 1 - k]
    return out

@adjoint_rule(np.linalg.matrix_power)
def matrix_power(g, ans, a, n):
    """Any integer n (negative through the inverse); stacks."""
    return _matrix_power_adjoint(_like(g, ans), a, n)

@tangent_rule(np.linalg.matrix_power)
def matrix_power(da, ans, a, n):
    return _matrix_power_tangent(da, a, n)


def _as_chain(arrays):
    """The matrices of ``multi_dot(arrays)``: a 1-D first array is a row, a 1-D last one a column."""
    out = [np.asarray(m, dtype=float) for m in arrays]
    if out[0].ndim == 1:
        out[0] = out[0][None, :]
    if out[-1].ndim == 1:
        out[-1] = out[-1][:, None]
    return out

def _multi_dot_adjoint(g, arrays):
    """Āᵢ = (A₀…Aᵢ₋₁)ᵀ G (Aᵢ₊₁…Aₙ)ᵀ for each matrix of the chain."""
    chain = _as_chain(arrays)
    g2 = np.reshape(g, (chain[0].shape[0], chain[-1].shape[1]))
    out = []
    for i in range(len(chain)):
        left = np.eye(chain[0].shape[0])
        for m in chain[:i]:
            left = left @ m
        right = np.eye(chain[-1].shape[1])
        for m in reversed(chain[i + 1:]):
            right = m @ right
        out.append(np.reshape(_T(left) @ g2 @ _T(right), np.shape(arrays[i])))
    return out

def _multi_dot_tangent(darrays, arrays):
    total = 0.0
    for i, d in enumerate(darrays):
        if _is_zero(d):
            continue
        total = total + np.linalg.multi_dot([d if j == i else m for j, m in enumerate(arrays)])
    return total

@adjoint_rule(np.linalg.multi_dot)
def multi_dot(g, ans, arrays):
    """A list of matrices (1-D first and last allowed)."""
    return _multi_dot_adjoint(_like(g, ans), arrays)

@tangent_rule(np.linalg.multi_dot)
def multi_dot(darrays, ans, arrays):
    return _multi_dot_tangent(darrays, arrays)


def _tensorsolve_parts(a, b, axes):
    if axes is not None:
        raise NotImplementedError("sct differentiates np.linalg.tensorsolve with axes=None")
    n = int(np.size(b))
    return np.reshape(a, (n, -1))

def _tensorsolve_adjoint(g, ans, a, b, axes, which):
    """x solves a·x = b with a reshaped to a square matrix: b̄ = a⁻ᵀ g, ā = -b̄ ⊗ x."""
    a2 = _tensorsolve_parts(a, b, axes)
    b_bar = np.linalg.solve(_T(a2), np.ravel(g))
    if which == 1:
        return np.reshape(b_bar, np.shape(b))
    return np.reshape(-np.outer(b_bar, np.ravel(ans)), np.shape(a))

def _tensorsolve_tangent(da, db, ans, a, b, axes):
    a2 = _tensorsolve_parts(a, b, axes)
    rhs = 0.0
    if not _is_zero(da):
        rhs = rhs - np.reshape(da, np.shape(a2)) @ np.ravel(ans)
    if not _is_zero(db):
        rhs = rhs + np.ravel(db)
    return np.reshape(np.linalg.solve(a2, rhs * np.ones(np.shape(a2)[0])), np.shape(ans))

@adjoint_rule(np.linalg.tensorsolve)
def tensorsolve(g, ans, a, b, axes=None):
    """axes=None."""
    return (_tensorsolve_adjoint(_like(g, ans), ans, a, b, axes, 0),
            _tensorsolve_adjoint(_like(g, ans), ans, a, b, axes, 1))

@tangent_rule(np.linalg.tensorsolve)
def tensorsolve(da, db, ans, a, b, axes=None):
    return _tensorsolve_tangent(da, 0.0, ans, a, b, axes), _tensorsolve_tangent(0.0, db, ans, a, b, axes)

# ---------------------------------------------------------------- NumPy 2's array-API functions in np.linalg

def _vector_norm_slope(ans, x, axis, keepdims, ord):
    """∂ vector_norm / ∂x: the vector norm of the flattened array (axis None) or along one axis."""
    if axis is None:
        flat = np.ravel(np.asarray(x, dtype=float))
        return np.reshape(_norm_slope(np.reshape(ans, ()), flat, ord, 0, False), np.shape(x))
    if np.ndim(axis) != 0:
        raise NotImplementedError("sct differentiates np.linalg.vector_norm over all axes or one axis")
    return _norm_slope(ans, x, ord, axis, keepdims)

def _vector_norm_axes(x, axis):
    return tuple(range(np.ndim(x))) if axis is None else axis

if hasattr(np.linalg, "vector_norm"):
    @adjoint_rule(np.linalg.vector_norm)
    def vector_norm(g, ans, x, axis=None, keepdims=False, ord=2):
        """All axes or one; any ord."""
        return unreduce(g, x, _vector_norm_axes(x, axis), keepdims) * _vector_norm_slope(ans, x, axis, keepdims, ord)

    @tangent_rule(np.linalg.vector_norm)
    def vector_norm(dx, ans, x, axis=None, keepdims=False, ord=2):
        return np.sum(dx * _vector_norm_slope(ans, x, axis, keepdims, ord), axis=_vector_norm_axes(x, axis),
                      keepdims=keepdims)

    @adjoint_rule(np.linalg.matrix_norm)
    def matrix_norm(g, ans, x, keepdims=False, ord="fro"):
        """'fro', 'nuc', ±1, ±2, ±inf; stacks."""
        return unreduce(g, x, (-2, -1), keepdims) * _norm_slope(ans, x, ord, (-2, -1), keepdims)

    @tangent_rule(np.linalg.matrix_norm)
    def matrix_norm(dx, ans, x, keepdims=False, ord="fro"):
        return np.sum(dx * _norm_slope(ans, x, ord, (-2, -1), keepdims), axis=(-2, -1), keepdims=keepdims)

    linear(np.linalg.trace, lambda g, ans, x, offset=0, dtype=None: _diagonal_adjoint(
        _spread_last(g, np.shape(np.diagonal(x, offset, -2, -1))[-1]), x, offset, -2, -1), like=False,
        doc="The last two axes.")
    linear(np.linalg.diagonal, lambda g, ans, x, offset=0: _diagonal_adjoint(g, x, offset, -2, -1),
           doc="The last two axes.")
    linear(np.linalg.matrix_transpose, lambda g, ans, x: _T(g))
    returns_view(np.linalg.diagonal, np.linalg.matrix_transpose)
    bilinear(np.linalg.cross, lambda g, ans, x1, x2, axis=-1: _cross_adjoint(g, x1, x2, axis, 0),
             lambda g, ans, x1, x2, axis=-1: _cross_adjoint(g, x1, x2, axis, 1), doc="3-vectors.")
    alias(np.linalg.matmul, np.matmul, name="np.linalg.matmul")
    alias(np.linalg.vecdot, np.vecdot, name="np.linalg.vecdot")
    alias(np.linalg.outer, np.outer, name="np.linalg.outer")
    alias(np.linalg.tensordot, np.tensordot, name="np.linalg.tensordot")

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

# argument checks called by the adjoints: no derivative flows through them, and they change nothing
nondifferentiable(_check_svd_shape, _check_qr)
effect_only(_check_svd_shape, _check_qr)
