"""Rules for NumPy: ufuncs, reductions, contractions, shapes, construction.

Families, in order: elementwise unary, elementwise binary (broadcasting, so
adjoints are ``unbroadcast`` back to each argument's shape), selection,
reductions, contractions, shape and joining, construction, array methods and
attributes, non-differentiable.  Helpers named ``_..._adjoint`` hold the
adjoints too long for one expression; generated code calls them by name (and
differentiates them again for second derivatives, so they avoid ``*args``).
Rules that move the seed's elements around take it through ``_like(g, ans)``:
an adjoint nothing has reached yet is the number ``0.0``, not an array.
"""
import math
import operator

import numpy as np

from ..runtime import add_at, expand, snapshot, unbroadcast, unreduce
from ..runtime.batched import (array_batched, concatenate_batched, cross_left, cross_right, dot_left, dot_right,
                               expand_batched, matmul_left, matmul_right, outer_left, outer_right, reshape_batched,
                               shift_axis, stack_batched, transpose_axes)
from ..runtime.broadcast import sum_axes
from ..runtime.namespace import is_numpy
from . import builtins as _ops
from .registry import (REGISTRY, _like, adjoint_rule, alias, attribute, batched_tangent_rule, bilinear, broadcasts,
                       context_manager, effect_only, elementwise, linear, method, nondifferentiable, overloaded,
                       result_kind, returns_view, tangent_rule)

# ---------------------------------------------------------------- elementwise unary
# Declared by their partial derivatives: sct writes both modes from them (``registry.elementwise``);
# ``scalar=`` gives the ``math`` function with the same derivative (``np.cos`` read as ``math.cos``).

elementwise(np.exp, lambda ans, x: ans, scalar=math.exp)
elementwise(np.exp2, lambda ans, x: ans * np.log(2.0), scalar=(math.exp2,) if hasattr(math, "exp2") else ())
elementwise(np.expm1, lambda ans, x: ans + 1.0, scalar=math.expm1)
elementwise(np.log, lambda ans, x: 1.0 / x, scalar=math.log)
elementwise(np.log1p, lambda ans, x: 1.0 / (1.0 + x), scalar=math.log1p)
elementwise(np.log2, lambda ans, x: 1.0 / (x * np.log(2.0)), scalar=math.log2)
elementwise(np.log10, lambda ans, x: 1.0 / (x * np.log(10.0)), scalar=math.log10)
elementwise(np.sqrt, lambda ans, x: 1.0 / (2.0 * ans), scalar=math.sqrt)
elementwise(np.cbrt, lambda ans, x: 1.0 / (3.0 * ans * ans), scalar=(math.cbrt,) if hasattr(math, "cbrt") else ())
elementwise(np.square, lambda ans, x: 2.0 * x)
elementwise(np.reciprocal, lambda ans, x: -ans * ans)
elementwise(np.negative, lambda ans, x: -1.0)
alias(np.positive, operator.pos, name="np.positive")
alias(np.absolute, abs, name="np.absolute")
alias(np.fabs, abs, name="np.fabs")
elementwise(np.sin, lambda ans, x: np.cos(x), scalar=math.sin)
elementwise(np.cos, lambda ans, x: -np.sin(x), scalar=math.cos)
elementwise(np.tan, lambda ans, x: 1.0 + ans * ans, scalar=math.tan)
elementwise(np.arcsin, lambda ans, x: 1.0 / np.sqrt(1.0 - x * x), scalar=math.asin)
elementwise(np.arccos, lambda ans, x: -1.0 / np.sqrt(1.0 - x * x), scalar=math.acos)
elementwise(np.arctan, lambda ans, x: 1.0 / (1.0 + x * x), scalar=math.atan)
elementwise(np.sinh, lambda ans, x: np.cosh(x), scalar=math.sinh)
elementwise(np.cosh, lambda ans, x: np.sinh(x), scalar=math.cosh)
elementwise(np.tanh, lambda ans, x: 1.0 - ans * ans, scalar=math.tanh)
elementwise(np.arcsinh, lambda ans, x: 1.0 / np.sqrt(x * x + 1.0), scalar=math.asinh)
elementwise(np.arccosh, lambda ans, x: 1.0 / np.sqrt(x * x - 1.0), scalar=math.acosh)
elementwise(np.arctanh, lambda ans, x: 1.0 / (1.0 - x * x), scalar=math.atanh)
elementwise(np.deg2rad, lambda ans, x: np.pi / 180.0, scalar=math.radians)
elementwise(np.rad2deg, lambda ans, x: 180.0 / np.pi, scalar=math.degrees)
alias(np.radians, np.deg2rad)
alias(np.degrees, np.rad2deg)


# sinc(x) = sin(πx) / (πx).  From x·sinc(x) = sin(πx)/π: sinc + x·sinc' = cos(πx) and
# 2·sinc' + x·sinc'' = -π²·x·sinc.  Dividing by x loses digits near 0 (and is 0/0 at 0), so there the
# derivatives are their Taylor series in t = (πx)²: sinc' = π²x·P(t), sinc'' = π²·(P(t) + 2t·P'(t)), with
# P(t) = -1/3 + t/30 - t²/840 + t³/45360 - t⁴/3991680 (the next term is below 1e-17 for |x| < 0.05).
# Each is declared with the next as its derivative (sct differentiates sinc'' from its source: its
# polynomial branch gives the higher derivatives at 0 too).
_SINC_NEAR = 0.05


def _sinc_slope(x):
    """d sinc(x)/dx = (cos(πx) - sinc(x)) / x; its Taylor series near 0 (0 at 0)."""
    x = np.asarray(x, dtype=float)
    t = (np.pi * x) ** 2
    near = np.abs(x) < _SINC_NEAR
    safe = np.where(near, 1.0, x)
    series = np.pi ** 2 * x * (-1.0 / 3.0 + t * (1.0 / 30.0 + t * (-1.0 / 840.0 + t * (1.0 / 45360.0
                                                                                       - t / 3991680.0))))
    return np.where(near, series, (np.cos(np.pi * x) - np.sinc(x)) / safe)


def _sinc_curvature(x):
    """d² sinc(x)/dx² = -(π²x·sinc(x) + 2·sinc'(x)) / x; its Taylor series near 0 (-π²/3 at 0)."""
    x = np.asarray(x, dtype=float)
    t = (np.pi * x) ** 2
    near = np.abs(x) < _SINC_NEAR
    safe = np.where(near, 1.0, x)
    series = np.pi ** 2 * (-1.0 / 3.0 + t * (3.0 / 30.0 + t * (-5.0 / 840.0 + t * (7.0 / 45360.0
                                                                                     - 9.0 * t / 3991680.0))))
    return np.where(near, series, -(np.pi ** 2 * x * np.sinc(x) + 2.0 * _sinc_slope(x)) / safe)

elementwise(np.sinc, lambda ans, x: _sinc_slope(x))
elementwise(_sinc_slope, lambda ans, x: _sinc_curvature(x))
elementwise(np.real, lambda ans, val: 1.0, doc="For real input (sct differentiates real functions): the identity.")
alias(np.conjugate, np.real, name="np.conjugate")

# ---------------------------------------------------------------- elementwise binary

alias(np.add, operator.add, name="np.add")
alias(np.subtract, operator.sub, name="np.subtract")
alias(np.multiply, operator.mul, name="np.multiply")
alias(np.divide, operator.truediv, name="np.divide")
alias(np.power, operator.pow, name="np.power")
alias(np.mod, operator.mod, name="np.mod")

elementwise(np.fmod, lambda ans, x1, x2: 1.0, lambda ans, x1, x2: -np.trunc(x1 / x2), scalar=math.fmod)
elementwise(np.float_power, lambda ans, x, y: y * np.float_power(x, y - 1.0), lambda ans, x, y: ans * np.log(x),
            scalar=math.pow)
elementwise(np.maximum, lambda ans, x, y: x >= y, lambda ans, x, y: x < y,
            doc="Ties send the derivative to the first argument.")
alias(np.fmax, np.maximum)
elementwise(np.minimum, lambda ans, x, y: x <= y, lambda ans, x, y: x > y,
            doc="Ties send the derivative to the first argument.")
alias(np.fmin, np.minimum)
elementwise(np.arctan2, lambda ans, y, x: x / (x * x + y * y), lambda ans, y, x: -y / (x * x + y * y),
            scalar=math.atan2)
elementwise(np.hypot, lambda ans, x, y: x / ans, lambda ans, x, y: y / ans, scalar=math.hypot)
elementwise(np.logaddexp, lambda ans, x, y: np.exp(x - ans), lambda ans, x, y: np.exp(y - ans))
elementwise(np.logaddexp2, lambda ans, x, y: np.exp2(x - ans), lambda ans, x, y: np.exp2(y - ans))
elementwise(np.copysign, lambda ans, x1, x2: np.sign(x1) * np.sign(x2), None, scalar=math.copysign,
            doc="The sign's argument has no derivative.")
elementwise(np.ldexp, lambda ans, x1, x2: np.ldexp(1.0, x2), None, scalar=math.ldexp,
            doc="The exponent has no derivative.")

# ---------------------------------------------------------------- selection

@adjoint_rule(np.where)
def where(g, ans, condition, x, y):
    """The condition has no derivative; x and y broadcast."""
    return None, unbroadcast(np.where(condition, g, 0.0), x), unbroadcast(np.where(condition, 0.0, g), y)

@tangent_rule(np.where, expand=True)
def where(dcondition, dx, dy, ans, condition, x, y):
    return None, np.where(condition, dx, 0.0), np.where(condition, 0.0, dy)


def where_indices(condition):
    """``np.where(condition)``: the indices where it holds (no derivative)."""
    return np.nonzero(condition)

nondifferentiable(where_indices)
overloaded(np.where, lambda n, kws: np.where if n + len(kws) == 3 else where_indices)


def _clip_parts(a, a_min, a_max):
    """Which argument ``clip(a, a_min, a_max) = minimum(maximum(a, a_min), a_max)`` passes through,
    as 0/1 masks for a, a_min and a_max (exact even where a_min > a_max; None bounds pass nothing)."""
    lower = np.maximum(a, a_min) if a_min is not None else a
    kept = lower <= a_max if a_max is not None else np.ones(np.shape(lower), dtype=bool)
    from_a = kept if a_min is None else kept & (a >= a_min)
    from_min = 0.0 if a_min is None else kept & (a < a_min)
    from_max = 0.0 if a_max is None else ~kept
    return from_a, from_min, from_max

@adjoint_rule(np.clip)
def clip(g, ans, a, a_min, a_max):
    """Bounds may be numbers, arrays (differentiable too) or None."""
    return (unbroadcast(g * _clip_parts(a, a_min, a_max)[0], a),
            unbroadcast(g * _clip_parts(a, a_min, a_max)[1], a_min),
            unbroadcast(g * _clip_parts(a, a_min, a_max)[2], a_max))

@tangent_rule(np.clip, expand=True)
def clip(da, da_min, da_max, ans, a, a_min, a_max):
    return (da * _clip_parts(a, a_min, a_max)[0], da_min * _clip_parts(a, a_min, a_max)[1],
            da_max * _clip_parts(a, a_min, a_max)[2])

# ---------------------------------------------------------------- reductions

def _count(x, axis):
    """How many elements a reduction over ``axis`` combines."""
    shape = np.shape(x)
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return int(np.prod([shape[a] for a in axes]))

REGISTRY.helper(_count, shape_args=(0,))


linear(np.sum, lambda g, ans, a, axis=None, dtype=None, out=None, keepdims=False: unreduce(g, a, axis, keepdims),
       like=False, doc="Any axis (int, tuple, negative) and keepdims.")


linear(np.mean, lambda g, ans, a, axis=None, dtype=None, out=None, keepdims=False:
       unreduce(g, a, axis, keepdims) / _count(a, axis), like=False)


def _extreme_mask(ans, a, axis, keepdims):
    """Where ``a`` attains its max (or min) along ``axis``, ties sharing equally."""
    hits = a == unreduce(ans, a, axis, keepdims)
    if _no_ties(hits, ans):  # one hit per result: no ties to share (the usual case)
        return hits
    return hits / np.sum(hits, axis=axis, keepdims=True)

def _no_ties(hits, ans) -> bool:
    """Is there one hit per result?  Asked of NumPy arrays only: a lazy or traced array (Dask, JAX) would have
    to be computed to answer, so its ties are always divided by their count (the same numbers)."""
    return is_numpy(hits) and np.count_nonzero(hits) == np.size(ans)

nondifferentiable(_no_ties)

@adjoint_rule(np.max)
def max_(g, ans, a, axis=None, out=None, keepdims=False):
    """Any axis and keepdims; tied maxima share the derivative equally."""
    return unreduce(g, a, axis, keepdims) * _extreme_mask(ans, a, axis, keepdims)

@tangent_rule(np.max)
def max_(da, ans, a, axis=None, out=None, keepdims=False):
    return np.sum(da * _extreme_mask(ans, a, axis, keepdims), axis=axis, keepdims=keepdims)

@adjoint_rule(np.min)
def min_(g, ans, a, axis=None, out=None, keepdims=False):
    """Any axis and keepdims; tied minima share the derivative equally."""
    return unreduce(g, a, axis, keepdims) * _extreme_mask(ans, a, axis, keepdims)

@tangent_rule(np.min)
def min_(da, ans, a, axis=None, out=None, keepdims=False):
    return np.sum(da * _extreme_mask(ans, a, axis, keepdims), axis=axis, keepdims=keepdims)

if np.amax is not np.max:
    alias(np.amax, np.max)
    alias(np.amin, np.min)


def _spread_last(g, n):
    """g with a new last axis of length n along which it is constant."""
    return np.broadcast_to(np.expand_dims(g, -1), np.shape(g) + (n,))

def _interleave(first, second):
    """(f0, s0, f1, s1, ...): the shape that views a Kronecker or tiled array as blocks."""
    out = []
    for f, s in zip(first, second):
        out.append(f)
        out.append(s)
    return tuple(out)

def _reduced_axes(ndim, axis):
    """The axes a reduction over ``axis`` removes, as non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return tuple(sorted(int(a) % ndim for a in axes))

def _others_product(a, axis):
    """For each element of ``a``, the product of the *other* elements of its reduction group.

    Exclusive products from both ends, so zeros in ``a`` are handled exactly.
    """
    a = np.multiply(a, 1.0)  # (a float array; not np.asarray, which would compute a Dask array)
    axes = _reduced_axes(a.ndim, axis)
    kept = tuple(i for i in range(a.ndim) if i not in axes)
    moved = np.transpose(a, kept + axes)
    flat = np.reshape(moved, tuple(a.shape[i] for i in kept) + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,))
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1)
    out = np.reshape(before * after, moved.shape)
    return np.transpose(out, _inverse_axes(kept + axes, a.ndim))

@adjoint_rule(np.prod)
def prod(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    """Any axis and keepdims; exact where elements are zero."""
    return unreduce(g, a, axis, keepdims) * _others_product(a, axis)

@tangent_rule(np.prod)
def prod(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(da * _others_product(a, axis), axis=axis, keepdims=keepdims)


@adjoint_rule(np.var)
def var(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Any axis, keepdims and ddof."""
    return unreduce(g, a, axis, keepdims) * 2.0 * (a - np.mean(a, axis=axis, keepdims=True)) / (_count(a, axis) - ddof)

@tangent_rule(np.var)
def var(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return (np.sum(2.0 * (a - np.mean(a, axis=axis, keepdims=True)) * da, axis=axis, keepdims=keepdims)
            / (_count(a, axis) - ddof))


def _nonzero(ans):
    """``ans`` with its zeros replaced by 1: where a standard deviation is 0, every deviation
    from the mean is 0 too, so dividing them by this gives the derivative 0 (not 0/0)."""
    return np.where(ans == 0, 1.0, ans)


@adjoint_rule(np.std)
def std(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Any axis, keepdims and ddof."""
    return (unreduce(g / _nonzero(ans), a, axis, keepdims) * (a - np.mean(a, axis=axis, keepdims=True))
            / (_count(a, axis) - ddof))

@tangent_rule(np.std)
def std(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return (np.sum((a - np.mean(a, axis=axis, keepdims=True)) * da, axis=axis, keepdims=keepdims)
            / ((_count(a, axis) - ddof) * _nonzero(ans)))


def _cumsum_adjoint(g, a, axis):
    if axis is None:
        return np.reshape(np.flip(np.cumsum(np.flip(np.ravel(g)))), np.shape(a))
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)

linear(np.cumsum, lambda g, ans, a, axis=None, dtype=None, out=None: _cumsum_adjoint(g, a, axis))


def _cumprod_adjoint(g, ans, a, axis):
    """ā of ``ans = cumprod(a, axis)``: āᵢ = Σ_{j≥i} ḡⱼ ∏_{k≤j, k≠i} aₖ."""
    a = np.asarray(a, dtype=float)
    if axis is None:
        return np.reshape(_cumprod_adjoint(g, ans, np.ravel(a), 0), np.shape(a))
    if np.all(a != 0.0):  # the reversed cumulative sum of ḡ·ans, divided by a
        return np.flip(np.cumsum(np.flip(g * ans, axis), axis), axis) / a
    a_last, g_last = np.moveaxis(a, axis, -1), np.moveaxis(np.broadcast_to(g, np.shape(ans)), axis, -1)
    out = np.zeros(a_last.shape)
    for i in range(a_last.shape[-1]):  # exact at zeros: drop aᵢ from the running product
        without = a_last.copy()
        without[..., i] = 1.0
        out[..., i] = np.sum((g_last * np.cumprod(without, axis=-1))[..., i:], axis=-1)
    return np.moveaxis(out, -1, axis)

def _cumprod_tangent(da, ans, a, axis):
    """d(cumprod(a)) = Σ_{i≤j} daᵢ ∏_{k≤j, k≠i} aₖ (the transpose of the adjoint)."""
    a = np.asarray(a, dtype=float)
    if axis is None:
        return _cumprod_tangent(np.ravel(da), ans, np.ravel(a), 0)
    if np.all(a != 0.0):
        return ans * np.cumsum(da / a, axis=axis)
    a_last, da_last = np.moveaxis(a, axis, -1), np.moveaxis(np.broadcast_to(da, a.shape), axis, -1)
    out = np.zeros(a_last.shape)
    for i in range(a_last.shape[-1]):
        without = a_last.copy()
        without[..., i] = 1.0
        term = da_last[..., i:i + 1] * np.cumprod(without, axis=-1)
        out[..., i:] += term[..., i:]
    return np.moveaxis(out, -1, axis)

@adjoint_rule(np.cumprod)
def cumprod(g, ans, a, axis=None, dtype=None, out=None):
    """Exact where elements are zero."""
    return _cumprod_adjoint(_like(g, ans), ans, a, axis)

@tangent_rule(np.cumprod)
def cumprod(da, ans, a, axis=None, dtype=None, out=None):
    return _cumprod_tangent(da, ans, a, axis)


def _diagonal_adjoint(g, a, offset, axis1, axis2):
    """ā of ``np.diagonal(a, offset, axis1, axis2)``: g written on that diagonal of zeros."""
    shape = np.shape(a)
    ndim = len(shape)
    axis1, axis2 = axis1 % ndim, axis2 % ndim
    rest = tuple(n for i, n in enumerate(shape) if i not in (axis1, axis2))
    out = np.zeros(rest + (shape[axis1], shape[axis2]))
    n = np.shape(g)[-1] if np.ndim(g) else 0
    rows = np.arange(n) + max(-offset, 0)
    cols = np.arange(n) + max(offset, 0)
    out[..., rows, cols] = g
    return np.moveaxis(out, (-2, -1), (axis1, axis2))

linear(np.diagonal, lambda g, ans, a, offset=0, axis1=0, axis2=1: _diagonal_adjoint(g, a, offset, axis1, axis2))


linear(np.trace, lambda g, ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None: _diagonal_adjoint(
    _spread_last(g, np.shape(np.diagonal(a, offset, axis1, axis2))[-1]), a, offset, axis1, axis2), like=False)

# ---------------------------------------------------------------- contractions

def _matmul_adjoint(g, x, y, which, like=None):
    """x̄ (which=0) or ȳ (which=1) of ``x @ y`` for 1-D, 2-D and batched operands.

    A 1-D x is a row (1, n) and a 1-D y a column (n, 1), so g gets those axes back
    before the matrix products; the products' batch axes are summed by unbroadcast.
    With ``like``, the result is summed to ``like``'s shape (``unbroadcast``), and
    rows of x̄ (columns of ȳ) that ``like`` sums are summed in g first: one small
    product instead of a large one (the gradient of ``b`` in ``(X - b) @ W``).
    """
    x2 = np.reshape(x, (1, -1)) if np.ndim(x) == 1 else x
    y2 = np.reshape(y, (-1, 1)) if np.ndim(y) == 1 else y
    g2 = np.asarray(g) if is_numpy(g) else g  # (np.asarray would compute a Dask array)
    if np.ndim(y) == 1:
        g2 = g2[..., None]
    if np.ndim(x) == 1:
        g2 = np.expand_dims(g2, -2)
    target = x if which == 0 else y
    if like is not None and np.ndim(target) >= 2:
        g2 = _sum_first(g2, np.shape(target), np.shape(like), -2 if which == 0 else -1)
    if which == 0:
        out = np.matmul(g2, _transposed(y2, g2))
        out = out[..., 0, :] if np.ndim(x) == 1 else out
    else:
        out = np.matmul(_transposed(x2, g2), g2)
        out = out[..., 0] if np.ndim(y) == 1 else out
    return unbroadcast(out, target if like is None else like)


REGISTRY.helper(_matmul_adjoint, narrows=4)  # (g, x, y, which) and like: sums to like's shape first


def _sum_first(g, shape, like_shape, axis):
    """g summed over ``axis`` (-2: rows, -1: columns) when the product's result is summed
    there anyway: ``like`` lacks that axis or has length 1 where ``shape`` has more."""
    summed = len(like_shape) < -axis or (like_shape[axis] == 1 and shape[axis] != 1)
    if not summed:
        return g
    return np.expand_dims(sum_axes(g, (np.ndim(g) + axis,)), axis)


def _transposed(a, g):
    """``a`` with its last two axes swapped, copied when it is smaller than ``g``: BLAS is
    up to 30x slower on a strided small operand, and copying a large one costs more than it saves."""
    t = np.swapaxes(a, -1, -2)
    return np.ascontiguousarray(t) if is_numpy(t) and np.prod(np.shape(t)) < np.prod(np.shape(g)) else t

@adjoint_rule(np.matmul)
def matmul(g, ans, x1, x2):
    """1-D, 2-D and stacked (broadcast) operands."""
    return _matmul_adjoint(_like(g, ans), x1, x2, 0), _matmul_adjoint(_like(g, ans), x1, x2, 1)

@tangent_rule(np.matmul)
def matmul(dx1, dx2, ans, x1, x2):
    return dx1 @ x2, x1 @ dx2

alias(operator.matmul, np.matmul, name="@")


def _tensordot_axes(a, b, axes):
    """``axes`` of ``np.tensordot(a, b, axes)`` as two lists of non-negative axes."""
    na, nb = np.ndim(a), np.ndim(b)
    if np.ndim(axes) == 0:
        n = int(axes)
        return list(range(na - n, na)), list(range(n))
    xa, xb = axes
    xa = [xa] if np.ndim(xa) == 0 else list(xa)
    xb = [xb] if np.ndim(xb) == 0 else list(xb)
    return [int(i) % na for i in xa], [int(i) % nb for i in xb]

def _tensordot_adjoint(g, a, b, axes, which):
    """ā (which=0) or b̄ (which=1) of ``ans = np.tensordot(a, b, axes)``.

    ans's axes are a's free axes then b's free axes; ā contracts g with b over
    b's free axes and b̄ contracts a with g over a's free axes; a transpose puts
    the surviving axes back in the operand's order.
    """
    xa, xb = _tensordot_axes(a, b, axes)
    free_a = [i for i in range(np.ndim(a)) if i not in xa]
    free_b = [i for i in range(np.ndim(b)) if i not in xb]
    g_a = list(range(len(free_a)))                      # g's axes that belong to a
    g_b = list(range(len(free_a), len(free_a) + len(free_b)))
    if which == 0:
        out = np.tensordot(g, b, (g_b, free_b))         # axes: free_a, then b's contracted in b's order
        order = free_a + [xa[xb.index(j)] for j in sorted(xb)]
    else:
        out = np.tensordot(a, g, (free_a, g_a))         # axes: a's contracted in a's order, then free_b
        order = [xb[xa.index(i)] for i in sorted(xa)] + free_b
    return np.transpose(out, np.argsort(order)) if order else out

bilinear(np.tensordot, lambda g, ans, a, b, axes=2: _tensordot_adjoint(g, a, b, axes, 0),
         lambda g, ans, a, b, axes=2: _tensordot_adjoint(g, a, b, axes, 1),
         doc="axes as an int or as a pair of axis lists.")


def _dot_adjoint(g, a, b, which):
    """ā or b̄ of ``np.dot(a, b)``: a product with a number, or a contraction of a's last axis
    with b's second-to-last (its only one when b is 1-D)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * (b if which == 0 else a), a if which == 0 else b)
    return _tensordot_adjoint(g, a, b, ([np.ndim(a) - 1], [max(np.ndim(b) - 2, 0)]), which)

bilinear(np.dot, lambda g, ans, a, b, out=None: _dot_adjoint(g, a, b, 0),
         lambda g, ans, a, b, out=None: _dot_adjoint(g, a, b, 1),
         doc="Numbers, vectors, matrices and N-D arrays.")


def _inner_adjoint(g, a, b, which):
    """ā or b̄ of ``np.inner(a, b)``: a contraction over the last axis of both."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * (b if which == 0 else a), a if which == 0 else b)
    return _tensordot_adjoint(g, a, b, ([np.ndim(a) - 1], [np.ndim(b) - 1]), which)

bilinear(np.inner, lambda g, ans, a, b: _inner_adjoint(g, a, b, 0), lambda g, ans, a, b: _inner_adjoint(g, a, b, 1),
         doc="Numbers, vectors and N-D arrays (contracting the last axes).")


bilinear(np.vdot, lambda g, ans, a, b: g * np.reshape(b, np.shape(a)),
         lambda g, ans, a, b: g * np.reshape(a, np.shape(b)))


bilinear(np.outer, lambda g, ans, a, b: np.reshape(np.dot(g, np.ravel(b)), np.shape(a)),
         lambda g, ans, a, b: np.reshape(np.dot(np.ravel(a), g), np.shape(b)))


def _kron_adjoint(g, a, b, which):
    """ā or b̄ of ``np.kron(a, b)``: view g with a's and b's axes interleaved, then contract."""
    nd = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (nd - np.ndim(a)) + np.shape(a)
    sb = (1,) * (nd - np.ndim(b)) + np.shape(b)
    blocks = np.reshape(g, _interleave(sa, sb))   # (a0, b0, a1, b1, ...)
    a_axes = tuple(range(0, 2 * nd, 2))
    b_axes = tuple(range(1, 2 * nd, 2))
    if which == 0:
        out = np.sum(blocks * np.reshape(b, _interleave((1,) * nd, sb)), axis=b_axes)
        return np.reshape(out, np.shape(a))
    out = np.sum(blocks * np.reshape(a, _interleave(sa, (1,) * nd)), axis=a_axes)
    return np.reshape(out, np.shape(b))

bilinear(np.kron, lambda g, ans, a, b: _kron_adjoint(g, a, b, 0), lambda g, ans, a, b: _kron_adjoint(g, a, b, 1),
         doc="Operands of any, and different, numbers of dimensions.")


def _einsum_parts(subscripts, n):
    """The operand terms and the output term of an einsum specification (implicit output filled in)."""
    spec = subscripts.replace(" ", "")
    if "." in spec:
        raise NotImplementedError("sct differentiates np.einsum without ellipsis ('...'); name every axis")
    if "->" in spec:
        inputs, output = spec.split("->")
    else:  # implicit mode: the letters used once, in alphabetical order
        inputs = spec
        letters = inputs.replace(",", "")
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    parts = inputs.split(",")
    if len(parts) != n:
        raise NotImplementedError(f"np.einsum('{subscripts}') names {len(parts)} operands but was given {n}")
    return parts, output

def _einsum_plan(subscripts, n, which):
    """For operand ``which`` of an n-operand einsum: (the spec contracting the seed with the other
    operands, the operand's term, its distinct letters, the letters the spec keeps)."""
    parts, output = _einsum_parts(subscripts, n)
    target = parts[which]
    others = [p for i, p in enumerate(parts) if i != which]
    present = set(output)
    for p in others:
        present = present | set(p)
    unique = "".join(dict.fromkeys(target))
    kept = "".join(c for c in unique if c in present)
    return ",".join([output] + others) + "->" + kept, target, unique, kept

def _einsum_adjoint(g, subscripts, operands, which):
    """The adjoint of one operand of an einsum: the seed contracted with the other operands.

    Letters of the operand that appear nowhere else are summed out of it alone, so
    the seed is spread along them; a letter repeated in the operand ('ii') reads a
    diagonal, so the seed is written back on that diagonal.
    """
    subscripts = _explicit(subscripts, operands)
    spec, target, unique, kept = _einsum_plan(subscripts, len(operands), which)
    shape = np.shape(operands[which])
    others = [op for i, op in enumerate(operands) if i != which]
    if len(others) == 0:  # one call per arity: the code stays differentiable (no *args) for second derivatives
        out = np.einsum(spec, g)
    elif len(others) == 1:
        out = np.einsum(spec, g, others[0])
    else:
        out = np.einsum(spec, g, others[0], others[1])
    if kept != unique:  # spread along the letters summed out of this operand alone
        sizes = _letter_sizes(target, shape)
        out = np.expand_dims(out, tuple(i for i, c in enumerate(unique) if c not in kept))
        out = np.broadcast_to(out, tuple(sizes[c] for c in unique))
    if unique == target:
        return out
    return add_at(0.0, operands[which], _diagonal_index(target, shape), out)  # (written on the diagonal)

def _explicit(subscripts, operands):
    """The einsum spec with ``...`` replaced by letters for the axes it stands for (aligned on the right)."""
    spec = subscripts.replace(" ", "")
    if "..." not in spec:
        return spec
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in spec]
    widths = [np.ndim(op) - (len(t) - 3) if "..." in t else 0 for t, op in zip(terms, operands)]
    width = max(widths)
    letters = "".join(spare[:width])
    terms = [t.replace("...", letters[width - w:] if w else "") for t, w in zip(terms, widths)]
    if arrow:
        output = output.replace("...", letters)
    else:
        joined = "".join(t for t in terms)
        output = letters + "".join(sorted(c for c in set(joined) if joined.count(c) == 1 and c not in letters))
    return ",".join(terms) + "->" + output

_SUBLIST_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

def _sublist_term(sub):
    return "".join("..." if s is Ellipsis else _SUBLIST_LETTERS[s] for s in sub)

def _sublist_spec(sublists, output=None):
    """``np.einsum(a, [0, 1], b, [1, 2], [0, 2])``'s subscripts as the string 'ab,bc->ac'."""
    spec = ",".join(_sublist_term(s) for s in sublists)
    return spec if output is None else spec + "->" + _sublist_term(output)

def _letter_sizes(term, shape):
    return dict(zip(term, shape))

def _diagonal_index(term, shape):
    """The index into an array with axes ``term`` ('iij') that reads its (generalised) diagonal."""
    sizes = _letter_sizes(term, shape)
    unique = "".join(dict.fromkeys(term))
    grids = np.ix_(*[np.arange(sizes[c]) for c in unique])
    return tuple(grids[unique.index(c)] for c in term)

def _einsum_spec(args):
    """The subscripts of an einsum call in either form: ``(subscripts, *operands)`` or
    ``(op, sublist, op, sublist, ..., [output sublist])``."""
    if isinstance(args[0], str):
        return args[0]
    n = len(args) // 2
    return _sublist_spec(args[1:2 * n:2], args[-1] if len(args) % 2 else None)

def _einsum_position(args, i):
    """Which operand argument i of an einsum call is (-1: subscripts or a sublist)."""
    if isinstance(args[0], str):
        return i - 1
    return i // 2 if i % 2 == 0 and i < 2 * (len(args) // 2) else -1

def _einsum_operands(args):
    if isinstance(args[0], str):
        return args[1:]
    return args[0:2 * (len(args) // 2):2]

nondifferentiable(_explicit, _sublist_spec, _einsum_spec, _einsum_position)   # work on the subscripts


def _einsum_slot_adjoint(g, args, i):
    """The adjoint of argument i of ``np.einsum(*args)`` (0.0 for subscripts and sublists)."""
    k = _einsum_position(args, i)
    if k < 0:
        return 0.0
    return _einsum_adjoint(g, _einsum_spec(args), _einsum_operands(args), k)

def _einsum_slot_tangent(d, args, i):
    """The tangent of ``np.einsum(*args)`` along argument i."""
    k = _einsum_position(args, i)
    if k < 0:
        return 0.0
    spec, operands = _einsum_spec(args), _einsum_operands(args)
    if len(operands) == 1:
        return np.einsum(spec, d)
    if len(operands) == 2:
        return np.einsum(spec, d, operands[1]) if k == 0 else np.einsum(spec, operands[0], d)
    if k == 0:
        return np.einsum(spec, d, operands[1], operands[2])
    if k == 1:
        return np.einsum(spec, operands[0], d, operands[2])
    return np.einsum(spec, operands[0], operands[1], d)

def einsum2(p0, p1, optimize=False):
    """``np.einsum`` with 2 arguments (subscripts and 1 operand, or an operand and its sublist)."""
    return np.einsum(p0, p1, optimize=optimize)

def einsum3(p0, p1, p2, optimize=False):
    """``np.einsum`` with 3 arguments."""
    return np.einsum(p0, p1, p2, optimize=optimize)

def einsum4(p0, p1, p2, p3, optimize=False):
    """``np.einsum`` with 4 arguments."""
    return np.einsum(p0, p1, p2, p3, optimize=optimize)

def einsum5(p0, p1, p2, p3, p4, optimize=False):
    """``np.einsum`` with 5 arguments."""
    return np.einsum(p0, p1, p2, p3, p4, optimize=optimize)

def einsum6(p0, p1, p2, p3, p4, p5, optimize=False):
    """``np.einsum`` with 6 arguments."""
    return np.einsum(p0, p1, p2, p3, p4, p5, optimize=optimize)

def einsum7(p0, p1, p2, p3, p4, p5, p6, optimize=False):
    """``np.einsum`` with 7 arguments."""
    return np.einsum(p0, p1, p2, p3, p4, p5, p6, optimize=optimize)

@adjoint_rule(einsum2, name="np.einsum")
def einsum2_(g, ans, p0, p1, optimize=False):
    """1 to 3 operands; subscripts or sublists; implicit output, repeated letters ('ii'), '...'."""
    return (_einsum_slot_adjoint(_like(g, ans), (p0, p1), 0),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1), 1))

@tangent_rule(einsum2, name="np.einsum")
def einsum2_(dp0, dp1, ans, p0, p1, optimize=False):
    return (_einsum_slot_tangent(dp0, (p0, p1), 0),
            _einsum_slot_tangent(dp1, (p0, p1), 1))

@adjoint_rule(einsum3, name="np.einsum")
def einsum3_(g, ans, p0, p1, p2, optimize=False):
    return (_einsum_slot_adjoint(_like(g, ans), (p0, p1, p2), 0),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2), 1),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2), 2))

@tangent_rule(einsum3, name="np.einsum")
def einsum3_(dp0, dp1, dp2, ans, p0, p1, p2, optimize=False):
    return (_einsum_slot_tangent(dp0, (p0, p1, p2), 0),
            _einsum_slot_tangent(dp1, (p0, p1, p2), 1),
            _einsum_slot_tangent(dp2, (p0, p1, p2), 2))

@adjoint_rule(einsum4, name="np.einsum")
def einsum4_(g, ans, p0, p1, p2, p3, optimize=False):
    return (_einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3), 0),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3), 1),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3), 2),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3), 3))

@tangent_rule(einsum4, name="np.einsum")
def einsum4_(dp0, dp1, dp2, dp3, ans, p0, p1, p2, p3, optimize=False):
    return (_einsum_slot_tangent(dp0, (p0, p1, p2, p3), 0),
            _einsum_slot_tangent(dp1, (p0, p1, p2, p3), 1),
            _einsum_slot_tangent(dp2, (p0, p1, p2, p3), 2),
            _einsum_slot_tangent(dp3, (p0, p1, p2, p3), 3))

@adjoint_rule(einsum5, name="np.einsum")
def einsum5_(g, ans, p0, p1, p2, p3, p4, optimize=False):
    return (_einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4), 0),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4), 1),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4), 2),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4), 3),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4), 4))

@tangent_rule(einsum5, name="np.einsum")
def einsum5_(dp0, dp1, dp2, dp3, dp4, ans, p0, p1, p2, p3, p4, optimize=False):
    return (_einsum_slot_tangent(dp0, (p0, p1, p2, p3, p4), 0),
            _einsum_slot_tangent(dp1, (p0, p1, p2, p3, p4), 1),
            _einsum_slot_tangent(dp2, (p0, p1, p2, p3, p4), 2),
            _einsum_slot_tangent(dp3, (p0, p1, p2, p3, p4), 3),
            _einsum_slot_tangent(dp4, (p0, p1, p2, p3, p4), 4))

@adjoint_rule(einsum6, name="np.einsum")
def einsum6_(g, ans, p0, p1, p2, p3, p4, p5, optimize=False):
    return (_einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5), 0),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5), 1),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5), 2),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5), 3),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5), 4),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5), 5))

@tangent_rule(einsum6, name="np.einsum")
def einsum6_(dp0, dp1, dp2, dp3, dp4, dp5, ans, p0, p1, p2, p3, p4, p5, optimize=False):
    return (_einsum_slot_tangent(dp0, (p0, p1, p2, p3, p4, p5), 0),
            _einsum_slot_tangent(dp1, (p0, p1, p2, p3, p4, p5), 1),
            _einsum_slot_tangent(dp2, (p0, p1, p2, p3, p4, p5), 2),
            _einsum_slot_tangent(dp3, (p0, p1, p2, p3, p4, p5), 3),
            _einsum_slot_tangent(dp4, (p0, p1, p2, p3, p4, p5), 4),
            _einsum_slot_tangent(dp5, (p0, p1, p2, p3, p4, p5), 5))

@adjoint_rule(einsum7, name="np.einsum")
def einsum7_(g, ans, p0, p1, p2, p3, p4, p5, p6, optimize=False):
    return (_einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5, p6), 0),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5, p6), 1),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5, p6), 2),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5, p6), 3),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5, p6), 4),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5, p6), 5),
            _einsum_slot_adjoint(_like(g, ans), (p0, p1, p2, p3, p4, p5, p6), 6))

@tangent_rule(einsum7, name="np.einsum")
def einsum7_(dp0, dp1, dp2, dp3, dp4, dp5, dp6, ans, p0, p1, p2, p3, p4, p5, p6, optimize=False):
    return (_einsum_slot_tangent(dp0, (p0, p1, p2, p3, p4, p5, p6), 0),
            _einsum_slot_tangent(dp1, (p0, p1, p2, p3, p4, p5, p6), 1),
            _einsum_slot_tangent(dp2, (p0, p1, p2, p3, p4, p5, p6), 2),
            _einsum_slot_tangent(dp3, (p0, p1, p2, p3, p4, p5, p6), 3),
            _einsum_slot_tangent(dp4, (p0, p1, p2, p3, p4, p5, p6), 4),
            _einsum_slot_tangent(dp5, (p0, p1, p2, p3, p4, p5, p6), 5),
            _einsum_slot_tangent(dp6, (p0, p1, p2, p3, p4, p5, p6), 6))

_EINSUM_BY_COUNT = {2: einsum2, 3: einsum3, 4: einsum4, 5: einsum5, 6: einsum6, 7: einsum7}
overloaded(np.einsum, lambda n, kws: _EINSUM_BY_COUNT.get(n, np.einsum))


# ---------------------------------------------------------------- shape and joining

linear(np.reshape, lambda g, ans, a, shape: np.reshape(g, np.shape(a)))


def reshape_method(a, *shape):
    """``a.reshape(2, 3)`` or ``a.reshape((2, 3))``."""
    return np.reshape(a, shape[0] if len(shape) == 1 else shape)

@adjoint_rule(reshape_method, name="reshape")
def reshape_method_(g, ans, a, *shape):
    return np.reshape(_like(g, ans), np.shape(a))

@tangent_rule(reshape_method, name="reshape")
def reshape_method_(da, ans, a, *shape):
    return np.reshape(da, np.shape(ans))


linear(np.ravel, lambda g, ans, a: np.reshape(g, np.shape(a)))


def _inverse_axes(axes, ndim):
    if axes is None:
        return None
    return tuple(np.argsort([a % ndim for a in axes]))

linear(np.transpose, lambda g, ans, a, axes=None: np.transpose(g, _inverse_axes(axes, np.ndim(a))))


def transpose_method(a, *axes):
    """``a.transpose()``, ``a.transpose(1, 0)`` or ``a.transpose((1, 0))``."""
    return np.transpose(a, _axes_arg(axes))

def _axes_arg(axes):
    if not axes:
        return None
    return axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes

@adjoint_rule(transpose_method, name="transpose")
def transpose_method_(g, ans, a, *axes):
    return np.transpose(_like(g, ans), _inverse_axes(_axes_arg(axes), np.ndim(a)))

@tangent_rule(transpose_method, name="transpose")
def transpose_method_(da, ans, a, *axes):
    return np.transpose(da, _axes_arg(axes))


linear(np.swapaxes, lambda g, ans, a, axis1, axis2: np.swapaxes(g, axis1, axis2))


linear(np.moveaxis, lambda g, ans, a, source, destination: np.moveaxis(g, destination, source))


linear(np.expand_dims, lambda g, ans, a, axis: np.reshape(g, np.shape(a)))


linear(np.squeeze, lambda g, ans, a, axis=None: np.reshape(g, np.shape(a)))


linear(np.broadcast_to, lambda g, ans, array, shape: unbroadcast(g, array), like=False)


def _join_adjoint(g, arrays, axis, prepare=np.asarray):
    """Pieces of ``g`` shaped like ``arrays``, which were joined along ``axis`` after ``prepare``
    (the adjoint of concatenate, hstack, vstack, column_stack)."""
    if type(g) is np.ndarray and type(axis) is int:
        if axis == 0 and type(arrays) is tuple and prepare is np.atleast_1d:  # (concatenate's, the common case)
            pieces = _first_axis_pieces(g, arrays)
            if pieces is not None:
                return pieces
        least = _least_ndim(prepare)  # (arrays with that many axes are joined as they are: slices of g)
        if all(type(a) is np.ndarray and a.ndim >= least for a in arrays):
            return _join_slices(g, arrays, axis)
    prepared = [prepare(a) for a in arrays]
    if axis is None:
        sizes = [np.size(a) for a in prepared]
        pieces = np.split(np.ravel(g), np.cumsum(sizes)[:-1])
    else:
        sizes = [np.shape(a)[axis] for a in prepared]
        pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    out = [np.reshape(p, np.shape(a)) for p, a in zip(pieces, arrays)]
    return np.reshape(np.stack(out), np.shape(arrays)) if isinstance(arrays, np.ndarray) else out

def _first_axis_pieces(g: np.ndarray, arrays: tuple):
    """``g`` cut along its first axis into views of the arrays' lengths (each an array of one axis or
    more), or None if one is not."""
    out, start = [], 0
    for a in arrays:
        if type(a) is not np.ndarray or not a.ndim:
            return None
        stop = start + a.shape[0]
        out.append(g[start:stop])
        start = stop
    return out

def _least_ndim(prepare) -> int:
    """How many axes an array needs for ``prepare`` (``np.atleast_2d``, ...) to leave it as it is."""
    if prepare is np.atleast_3d:
        return 3
    return 2 if prepare is np.atleast_2d or prepare is _as_column else 1


def _join_slices(g, arrays, axis: int):
    """``g`` cut along ``axis`` into views shaped like ``arrays`` (arrays of at least one dimension)."""
    out, start = [], 0
    before = (slice(None),) * (axis % g.ndim)
    for a in arrays:
        stop = start + a.shape[axis]
        out.append(g[before + (slice(start, stop),)] if before else g[start:stop])
        start = stop
    if isinstance(arrays, np.ndarray):
        return np.reshape(np.stack(out), np.shape(arrays))
    return out

linear(np.concatenate, lambda g, ans, arrays, axis=0, out=None, dtype=None, casting="same_kind":
       _join_adjoint(g, arrays, axis, np.atleast_1d))  # (not np.asarray: it would compute a Dask array)


def _hstack_axis(arrays):
    return 0 if np.ndim(arrays[0]) <= 1 else 1

nondifferentiable(_hstack_axis)  # (reads the number of axes only)

linear(np.hstack, lambda g, ans, tup, dtype=None, casting="same_kind":
       _join_adjoint(g, tup, _hstack_axis(tup), np.atleast_1d))


linear(np.vstack, lambda g, ans, tup, dtype=None, casting="same_kind": _join_adjoint(g, tup, 0, np.atleast_2d))


def _as_column(a):
    a = np.asarray(a)
    return np.reshape(a, (-1, 1)) if a.ndim < 2 else a

linear(np.column_stack, lambda g, ans, tup: _join_adjoint(g, tup, 1, _as_column))


def _unstack(g, arrays, axis):
    """Slices of ``g`` along ``axis`` (the adjoint of stack)."""
    return [np.take(g, i, axis=axis) for i in range(len(arrays))]

linear(np.stack, lambda g, ans, arrays, axis=0, out=None, dtype=None, casting="same_kind": _unstack(g, arrays, axis))


# joins make a new array whatever they are given (lists of arrays or of numbers)
for _join in (np.concatenate, np.hstack, np.vstack, np.column_stack, np.stack):
    result_kind(_join, "array")


def _split_adjoint(g, ans, axis):
    """The adjoint of a split: the pieces' adjoints joined again (zeros for pieces nobody used)."""
    if isinstance(g, float) and g == 0.0:
        g = [0.0] * len(ans)
    pieces = [np.zeros(np.shape(p)) if isinstance(gi, float) and gi == 0.0 else np.broadcast_to(gi, np.shape(p))
              for gi, p in zip(g, ans)]
    return np.concatenate(pieces, axis=axis)

linear(np.split, lambda g, ans, ary, indices_or_sections, axis=0: _split_adjoint(g, ans, axis), like=False,
       doc="A list of pieces; pieces nobody uses get a zero adjoint.")


linear(np.array_split, lambda g, ans, ary, indices_or_sections, axis=0: _split_adjoint(g, ans, axis),
       like=False, doc="A list of pieces; pieces nobody uses get a zero adjoint.")


linear(np.hsplit, lambda g, ans, ary, indices_or_sections: _split_adjoint(g, ans, 0 if np.ndim(ary) == 1 else 1),
       like=False, doc="A list of pieces; pieces nobody uses get a zero adjoint.")


linear(np.vsplit, lambda g, ans, ary, indices_or_sections: _split_adjoint(g, ans, 0), like=False,
       doc="A list of pieces; pieces nobody uses get a zero adjoint.")


def _tile_adjoint(g, a, reps):
    """ā of ``np.tile(a, reps)``: g viewed as (r0, s0, r1, s1, ...) blocks, summed over the copies."""
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    nd = max(np.ndim(a), len(reps))
    shape = (1,) * (nd - np.ndim(a)) + np.shape(a)
    reps = (1,) * (nd - len(reps)) + reps
    blocks = np.reshape(g, _interleave(reps, shape))
    return np.reshape(np.sum(blocks, axis=tuple(range(0, 2 * nd, 2))), np.shape(a))

linear(np.tile, lambda g, ans, A, reps: _tile_adjoint(g, A, reps),
       doc="reps as an int or a tuple, shorter or longer than the array's dimensions.")


def _repeat_adjoint(g, a, repeats, axis):
    """ā of ``np.repeat(a, repeats, axis)``: each element collects the seeds of its copies."""
    if axis is None:
        return np.reshape(_repeat_adjoint(g, np.ravel(a), repeats, 0), np.shape(a))
    n = np.shape(a)[axis]
    source = np.repeat(np.arange(n), repeats)
    moved = np.moveaxis(np.asarray(g), axis, 0)
    out = np.zeros((n,) + moved.shape[1:])
    np.add.at(out, source, moved)
    return np.moveaxis(out, 0, axis)

linear(np.repeat, lambda g, ans, a, repeats, axis=None: _repeat_adjoint(g, a, repeats, axis),
       doc="repeats as an int or one count per element; any axis.")


linear(np.flip, lambda g, ans, m, axis=None: np.flip(g, axis))


linear(np.fliplr, lambda g, ans, m: np.fliplr(g))


linear(np.flipud, lambda g, ans, m: np.flipud(g))


linear(np.roll, lambda g, ans, a, shift, axis=None: np.roll(g, np.negative(shift), axis))


def _sorting(a, axis):
    """The permutation ``np.sort(a, axis)`` applies (ties broken stably)."""
    return np.argsort(a, axis=axis, kind="stable")

def _sort_adjoint(g, a, axis):
    if axis is None:
        return np.reshape(_sort_adjoint(g, np.ravel(a), 0), np.shape(a))
    out = np.zeros(np.shape(a))
    np.put_along_axis(out, _sorting(a, axis), g, axis)
    return out

@adjoint_rule(np.sort)
def sort(g, ans, a, axis=-1, kind=None, order=None):
    """Tied elements are ordered stably."""
    return _sort_adjoint(_like(g, ans), a, axis)

def _sort_tangent(da, a, axis):
    if axis is None:
        return _sort_tangent(np.ravel(da), np.ravel(a), 0)
    return np.take_along_axis(np.broadcast_to(da, np.shape(a)), _sorting(a, axis), axis)

@tangent_rule(np.sort)
def sort(da, ans, a, axis=-1, kind=None, order=None):
    return _sort_tangent(da, a, axis)


def _take_adjoint(g, a, indices, axis):
    """ā of ``np.take(a, indices, axis)``: the seeds added back where they were read."""
    if axis is None:
        return np.reshape(_take_adjoint(g, np.ravel(a), indices, 0), np.shape(a))
    axis = axis % np.ndim(a)
    out = np.zeros(np.shape(a))
    moved = np.moveaxis(out, axis, 0)      # a view: writing into it writes out
    idx = np.asarray(indices)
    g_moved = np.moveaxis(np.asarray(g), tuple(range(axis, axis + idx.ndim)), tuple(range(idx.ndim)))
    np.add.at(moved, idx, g_moved)
    return out

linear(np.take, lambda g, ans, a, indices, axis=None: _take_adjoint(g, a, indices, axis))


def _diag_adjoint(g, v, k):
    """v̄ of ``np.diag(v, k)``: read the k-th diagonal back (v a vector), or write g on it (v a matrix)."""
    if np.ndim(v) == 1:
        return np.diag(g, k)
    return _diagonal_adjoint(g, v, k, 0, 1)

linear(np.diag, lambda g, ans, v, k=0: _diag_adjoint(g, v, k),
       doc="Vector to matrix and matrix to vector, any offset k.")


def _array_adjoint(g, obj):
    """The adjoint of ``np.array(obj)``: nested lists of g's entries, or g itself."""
    if isinstance(obj, (list, tuple)):
        return [_array_adjoint(g[i], item) for i, item in enumerate(obj)]
    return g if np.shape(g) == np.shape(obj) else np.reshape(g, np.shape(obj))

@adjoint_rule(np.array)
def array(g, ans, object, dtype=None, copy=True, order="K", subok=False, ndmin=0):
    """Of numbers, arrays and nested lists of them."""
    return _array_adjoint(_like(g, ans), object)

@tangent_rule(np.array)
def array(dobject, ans, object, dtype=None, copy=True, order="K", subok=False, ndmin=0):
    return np.array(dobject, dtype=float, ndmin=ndmin)

result_kind(np.array, "array")  # (from nested lists too)
alias(np.asarray, np.array)


linear(np.copy, lambda g, ans, a: g, like=False)


linear(np.ascontiguousarray, lambda g, ans, a, dtype=None: g, like=False)


linear(np.tril, lambda g, ans, m, k=0: np.tril(g, k))


linear(np.triu, lambda g, ans, m, k=0: np.triu(g, k))

# ---------------------------------------------------------------- copying: functions that move elements around
# Their adjoints (and some tangents) follow the elements: the function applied to an array of
# positions tells, for each output element, which input element it copied (-1: a constant).

def _positions(a, start=0):
    """The flat positions of a's elements (numbered from ``start``), shaped like ``a``."""
    return start + np.reshape(np.arange(np.size(a)), np.shape(a))

def _gather(d, index, like, start=0):
    """Elements of ``d`` (shaped like ``like``, numbered from start) where ``index`` names them; 0 elsewhere."""
    index = np.asarray(index)
    mine = (index >= start) & (index < start + np.size(like))
    flat = np.ravel(np.broadcast_to(d, np.shape(like)))
    return np.where(mine, flat[np.where(mine, index - start, 0)], 0.0)

def _gather_adjoint(g, index, like, start=0):
    """The adjoint of ``_gather``: each element of ``like`` collects the seeds of its copies."""
    flat = np.ravel(np.broadcast_to(g, np.shape(index)))
    index = np.ravel(index)
    mine = (index >= start) & (index < start + np.size(like))
    return np.reshape(np.bincount(index[mine] - start, weights=flat[mine], minlength=np.size(like)), np.shape(like))

linear(_gather, lambda g, ans, d, index, like, start=0: _gather_adjoint(g, index, like, start))
linear(_gather_adjoint, lambda g, ans, g_, index, like, start=0: _gather(g, index, like, start), like=False)
REGISTRY.helper(_gather, shape_args=(2,))            # like: read for its shape only
REGISTRY.helper(_gather_adjoint, shape_args=(2,))


def _pad_positions(array, pad_width, mode):
    if mode == "constant":
        return np.pad(_positions(array), pad_width, mode="constant", constant_values=-1)
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise NotImplementedError(f"sct differentiates np.pad with modes constant, edge, reflect, symmetric, "
                                  f"wrap, not {mode!r}")
    return np.pad(_positions(array), pad_width, mode=mode)

linear(np.pad, lambda g, ans, array, pad_width, mode="constant", constant_values=0:
       _gather_adjoint(g, _pad_positions(array, pad_width, mode), array),
       tangent=lambda darray, ans, array, pad_width, mode="constant", constant_values=0:
       np.pad(darray, pad_width, mode=mode),
       doc="Modes constant (constant values have no derivative), edge, reflect, symmetric, wrap.")

linear(np.delete, lambda g, ans, arr, obj, axis=None: _gather_adjoint(g, np.delete(_positions(arr), obj, axis), arr),
       doc="Indices that do not depend on the inputs.")
linear(np.rot90, lambda g, ans, m, k=1, axes=(0, 1): np.rot90(g, -k, axes))
linear(np.rollaxis, lambda g, ans, a, axis, start=0: _gather_adjoint(g, np.rollaxis(_positions(a), axis, start), a))
linear(np.atleast_1d, lambda g, ans, ary: np.reshape(g, np.shape(ary)), doc="One array.")
linear(np.atleast_2d, lambda g, ans, ary: np.reshape(g, np.shape(ary)), doc="One array.")
linear(np.atleast_3d, lambda g, ans, ary: np.reshape(g, np.shape(ary)), doc="One array.")
linear(np.dstack, lambda g, ans, tup: _join_adjoint(g, tup, 2, np.atleast_3d))
linear(np.dsplit, lambda g, ans, ary, indices_or_sections: _split_adjoint(g, ans, 2), like=False,
       doc="A list of pieces; pieces nobody uses get a zero adjoint.")
if hasattr(np, "row_stack") and np.row_stack is not np.vstack:
    linear(np.row_stack, lambda g, ans, tup: _join_adjoint(g, tup, 0, np.atleast_2d))


def _append_index(arr, values, axis):
    return np.append(_positions(arr), _positions(values, np.size(arr)), axis)

@adjoint_rule(np.append)
def append(g, ans, arr, values, axis=None):
    return (_gather_adjoint(g, _append_index(arr, values, axis), arr),
            _gather_adjoint(g, _append_index(arr, values, axis), values, np.size(arr)))

@tangent_rule(np.append)
def append(darr, dvalues, ans, arr, values, axis=None):
    return (_gather(darr, _append_index(arr, values, axis), arr),
            _gather(dvalues, _append_index(arr, values, axis), values, np.size(arr)))


def _insert_index(arr, obj, values, axis):
    return np.insert(_positions(arr), obj, _positions(values, np.size(arr)), axis)

@adjoint_rule(np.insert)
def insert(g, ans, arr, obj, values, axis=None):
    """Indices that do not depend on the inputs; values broadcast."""
    return (_gather_adjoint(g, _insert_index(arr, obj, values, axis), arr), None,
            _gather_adjoint(g, _insert_index(arr, obj, values, axis), values, np.size(arr)))

@tangent_rule(np.insert)
def insert(darr, dobj, dvalues, ans, arr, obj, values, axis=None):
    return (_gather(darr, _insert_index(arr, obj, values, axis), arr), None,
            _gather(dvalues, _insert_index(arr, obj, values, axis), values, np.size(arr)))


def _partition_index(a, kth, axis):
    """Where each element of ``np.partition(a, kth, axis)`` came from (flat positions)."""
    if axis is None:
        return np.argpartition(np.ravel(a), kth)
    return np.take_along_axis(_positions(a), np.argpartition(a, kth, axis), axis)

# positions of elements: integers, whatever the values they index (no derivative through them)
nondifferentiable(_positions, _pad_positions, _append_index, _insert_index, _partition_index)

@adjoint_rule(np.partition)
def partition(g, ans, a, kth, axis=-1, kind="introselect", order=None):
    """The elements follow their positions (ties: any order is a valid derivative)."""
    return _gather_adjoint(_like(g, ans), _partition_index(a, kth, axis), a)

@tangent_rule(np.partition)
def partition(da, ans, a, kth, axis=-1, kind="introselect", order=None):
    return _gather(da, _partition_index(a, kth, axis), a)

# ---------------------------------------------------------------- differences, signals, polynomials

def _diff_adjoint(g, n, axis):
    """The transpose of n-th differences along axis: each is minus a difference of the zero-padded seed."""
    for _ in range(n):
        g = -np.diff(g, axis=axis, prepend=0.0, append=0.0)
    return g

linear(np.diff, lambda g, ans, a, n=1, axis=-1: _diff_adjoint(g, n, axis), doc="Any n and axis (no prepend/append).")
linear(_diff_adjoint, lambda g, ans, g_, n, axis: np.diff(g, n=n, axis=axis), like=False)   # (second derivatives)


def _gradient_adjoint(g, f, axis, edge_order):
    """The transpose of ``np.gradient(f, axis=axis, edge_order=...)`` with unit spacing."""
    if axis is None and np.ndim(f) != 1:
        raise NotImplementedError("sct differentiates np.gradient of a 1-D array, or along one axis")
    moved = np.moveaxis(np.asarray(g, dtype=float), -1 if axis is None else axis, 0)
    out = np.zeros(moved.shape)
    out[2:] = out[2:] + 0.5 * moved[1:-1]
    out[:-2] = out[:-2] - 0.5 * moved[1:-1]
    if edge_order == 1:
        out[1] = out[1] + moved[0]
        out[0] = out[0] - moved[0]
        out[-1] = out[-1] + moved[-1]
        out[-2] = out[-2] - moved[-1]
    else:
        out[0] = out[0] - 1.5 * moved[0]
        out[1] = out[1] + 2.0 * moved[0]
        out[2] = out[2] - 0.5 * moved[0]
        out[-1] = out[-1] + 1.5 * moved[-1]
        out[-2] = out[-2] - 2.0 * moved[-1]
        out[-3] = out[-3] + 0.5 * moved[-1]
    return np.moveaxis(out, 0, -1 if axis is None else axis)

linear(np.gradient, lambda g, ans, f, axis=None, edge_order=1: _gradient_adjoint(g, f, axis, edge_order),
       doc="Unit spacing; a 1-D array or one axis; edge_order 1 or 2.")


def _full_seed(g, n, m, mode):
    """The seed of ``np.convolve(a, v, mode)`` placed in the full-length output."""
    if mode == "full":
        return g
    full = n + m - 1
    length = np.size(g)
    start = (full - length) // 2 if mode == "same" else min(n, m) - 1
    out = np.zeros(full)
    out[start:start + length] = g
    return out

def _convolve_adjoint(g, a, v, mode, which):
    """ā (which=0) or v̄ of ``np.convolve(a, v, mode)``: the seed correlated with the other operand."""
    n, m = np.size(a), np.size(v)
    full = _full_seed(g, n, m, mode)
    return np.correlate(full, v, "valid") if which == 0 else np.correlate(full, a, "valid")

bilinear(np.convolve, lambda g, ans, a, v, mode="full": _convolve_adjoint(g, a, v, mode, 0),
         lambda g, ans, a, v, mode="full": _convolve_adjoint(g, a, v, mode, 1), doc="1-D; modes full, same, valid.")
bilinear(np.correlate, lambda g, ans, a, v, mode="valid": _convolve_adjoint(g, a, np.flip(v), mode, 0),
         lambda g, ans, a, v, mode="valid": np.flip(_convolve_adjoint(g, a, np.flip(v), mode, 1)),
         doc="1-D; modes full, same, valid.")


def _cross_adjoint(g, a, b, axis, which):
    """ā = b × g (which=0) or b̄ = g × a of ``np.cross(a, b)`` for 3-vectors; 2-vectors give a number."""
    axis = -1 if axis is None else axis
    a_, b_ = np.moveaxis(np.asarray(a, dtype=float), axis, -1), np.moveaxis(np.asarray(b, dtype=float), axis, -1)
    if a_.shape[-1] == 2 and b_.shape[-1] == 2:
        other = b_ if which == 0 else a_
        turned = np.stack([other[..., 1], -other[..., 0]], -1) * (1.0 if which == 0 else -1.0)
        out = np.expand_dims(g, -1) * turned
    elif a_.shape[-1] == 3 and b_.shape[-1] == 3:
        g_ = np.moveaxis(np.asarray(g, dtype=float), axis, -1)
        out = np.cross(b_, g_) if which == 0 else np.cross(g_, a_)
    else:
        raise NotImplementedError("sct differentiates np.cross of two 3-vectors or two 2-vectors")
    return unbroadcast(np.moveaxis(out, -1, axis), a if which == 0 else b)

bilinear(np.cross, lambda g, ans, a, b, axis=None: _cross_adjoint(g, a, b, axis, 0),
         lambda g, ans, a, b, axis=None: _cross_adjoint(g, a, b, axis, 1),
         doc="Two 3-vectors or two 2-vectors (stacked, broadcast, axis=); not axisa/axisb/axisc.")


def _polyval_slope(p, x):
    return np.polyval(np.polyder(np.asarray(p, dtype=float)), x) if np.size(p) > 1 else np.zeros(np.shape(x))

def _polyval_p_adjoint(g, p, x):
    powers = np.vander(np.ravel(np.asarray(x, dtype=float)), np.size(p))
    return np.ravel(np.broadcast_to(g, np.shape(x))) @ powers

@adjoint_rule(np.polyval)
def polyval(g, ans, p, x):
    """Coefficients as a 1-D array; x a number or an array."""
    return _polyval_p_adjoint(g, p, x), g * _polyval_slope(p, x)

@tangent_rule(np.polyval)
def polyval(dp, dx, ans, p, x):
    return np.polyval(dp, x), dx * _polyval_slope(p, x)


def _interp_slope(x, xp, fp, period):
    """d np.interp(x, xp, fp) / dx: the slope of the segment x falls in (0 outside xp's range)."""
    if period is not None:
        raise NotImplementedError("sct differentiates np.interp without period")
    xp, fp = np.asarray(xp, dtype=float), np.asarray(fp, dtype=float)
    i = np.clip(np.searchsorted(xp, x, side="right"), 1, len(xp) - 1)
    slope = (fp[i] - fp[i - 1]) / (xp[i] - xp[i - 1])
    return np.where((x < xp[0]) | (x > xp[-1]), 0.0, slope)

elementwise(np.interp, lambda ans, x, xp, fp, left=None, right=None, period=None: _interp_slope(x, xp, fp, period),
            doc="In x (xp and fp constant); no period.")
elementwise(np.nan_to_num, lambda ans, x, copy=True, nan=0.0, posinf=None, neginf=None: np.isfinite(x),
            doc="Replaced elements have no derivative.")
elementwise(np.real_if_close, lambda ans, a, tol=100: 1.0, doc="For real input: the identity.")

# ---------------------------------------------------------------- statistics

def _trapezoid_weights(y, x, dx, axis):
    """The weight of each sample of y in ``np.trapezoid(y, x, dx, axis)``, shaped to broadcast against y."""
    n = np.shape(y)[axis]
    if x is None:
        steps, along = np.full(n - 1, float(dx)), -1
    else:
        x = np.asarray(x, dtype=float)
        along = axis if x.ndim > 1 else -1
        steps = np.diff(x, axis=along)
    pad = [(0, 0)] * np.ndim(steps)
    before, after = list(pad), list(pad)
    before[along], after[along] = (1, 0), (0, 1)
    w = 0.5 * (np.pad(steps, before) + np.pad(steps, after))
    if np.ndim(w) == 1 and np.ndim(y) > 1:
        shape = [1] * np.ndim(y)
        shape[axis] = n
        w = np.reshape(w, shape)
    return w

linear(np.trapezoid, lambda g, ans, y, x=None, dx=1.0, axis=-1:
       unreduce(g, y, axis, False) * _trapezoid_weights(y, x, dx, axis), like=False,
       doc="In y (x and dx constant); x 1-D or shaped like y.")


def _quantile_weights(a, q, axis, method):
    """∂ quantile(a, q, axis) / ∂a for one q: the weights of the two order statistics it interpolates."""
    if method != "linear" or np.ndim(q) != 0:
        raise NotImplementedError("sct differentiates quantiles with method='linear' and one q")
    a = np.asarray(a, dtype=float)
    if axis is None:
        return np.reshape(_quantile_weights(np.ravel(a), q, 0, method), np.shape(a))
    moved = np.moveaxis(a, axis, -1)
    n = moved.shape[-1]
    h = (n - 1) * float(q)
    lo = min(int(np.floor(h)), n - 1)
    frac = h - lo
    order = np.argsort(moved, axis=-1, kind="stable")
    w = np.zeros(moved.shape)
    np.put_along_axis(w, order[..., lo:lo + 1], 1.0 - frac, -1)
    if frac > 0.0:
        np.put_along_axis(w, order[..., lo + 1:lo + 2], frac, -1)
    return np.moveaxis(w, -1, axis)

@adjoint_rule(np.quantile)
def quantile(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """One q, method 'linear'; axis and keepdims; q has no derivative."""
    return unreduce(g, a, axis, keepdims) * _quantile_weights(a, q, axis, method)

@tangent_rule(np.quantile)
def quantile(da, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    return np.sum(da * _quantile_weights(a, q, axis, method), axis=axis, keepdims=keepdims)

@adjoint_rule(np.percentile)
def percentile(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """One q, method 'linear'; axis and keepdims; q has no derivative."""
    return unreduce(g, a, axis, keepdims) * _quantile_weights(a, q / 100.0, axis, method)

@tangent_rule(np.percentile)
def percentile(da, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    return np.sum(da * _quantile_weights(a, q / 100.0, axis, method), axis=axis, keepdims=keepdims)

@adjoint_rule(np.median)
def median(g, ans, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Axis and keepdims; an even count shares the derivative between the two middle elements."""
    return unreduce(g, a, axis, keepdims) * _quantile_weights(a, 0.5, axis, "linear")

@tangent_rule(np.median)
def median(da, ans, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return np.sum(da * _quantile_weights(a, 0.5, axis, "linear"), axis=axis, keepdims=keepdims)


def _average_weights(a, weights, axis):
    """The weights of ``np.average`` as a float array shaped like a (ones when None)."""
    if weights is None:
        return np.ones(np.shape(a))
    w = np.asarray(weights, dtype=float)
    if w.shape != np.shape(a):
        shape = [1] * np.ndim(a)
        shape[axis] = np.size(w)
        w = np.reshape(w, shape)
    return np.broadcast_to(w, np.shape(a))

def _average_weight_adjoint(g, ans, a, weights, axis, keepdims):
    """w̄ of ``np.average``: the seed times (a - average) / Σw, summed to the weights' shape."""
    w = _average_weights(a, weights, axis)
    total = np.sum(w, axis=axis, keepdims=True)
    full = unreduce(g, a, axis, keepdims) * (a - unreduce(ans, a, axis, keepdims)) / total
    if np.shape(weights) == np.shape(a):
        return full
    return np.sum(np.reshape(np.moveaxis(full, axis, -1), (-1, np.shape(a)[axis])), axis=0)

def _check_returned(returned):
    if returned:
        raise NotImplementedError("sct differentiates np.average with returned=False")
    return 1.0

@adjoint_rule(np.average)
def average(g, ans, a, axis=None, weights=None, returned=False, keepdims=False):
    """Weights (differentiable too) shaped like a or 1-D along axis; returned=False."""
    return (unreduce(g, a, axis, keepdims) * _average_weights(a, weights, axis)
            / np.sum(_average_weights(a, weights, axis), axis=axis, keepdims=True) * _check_returned(returned),
            None, _average_weight_adjoint(g, ans, a, weights, axis, keepdims))

@tangent_rule(np.average)
def average(da, daxis, dweights, ans, a, axis=None, weights=None, returned=False, keepdims=False):
    return (np.sum(da * _average_weights(a, weights, axis), axis=axis, keepdims=keepdims)
            / np.sum(_average_weights(a, weights, axis), axis=axis, keepdims=keepdims), None,
            np.sum(_average_weights(a, dweights, axis) * (a - unreduce(ans, a, axis, keepdims)), axis=axis,
                   keepdims=keepdims) / np.sum(_average_weights(a, weights, axis), axis=axis, keepdims=keepdims))


def _cov_rows(m, y, rowvar):
    """The variables as rows (what np.cov stacks), and how many rows m gave."""
    x = np.atleast_2d(np.asarray(m, dtype=float))
    if not rowvar and x.shape[0] != 1:
        x = x.T
    rows = x.shape[0]
    if y is not None:
        yy = np.atleast_2d(np.asarray(y, dtype=float))
        if not rowvar and yy.shape[0] != 1:
            yy = yy.T
        x = np.concatenate([x, yy], axis=0)
    return x, rows

def _cov_divisor(x, bias, ddof):
    if ddof is None:
        ddof = 0 if bias else 1
    return x.shape[1] - ddof

def _cov_back(x_bar, m, rows, rowvar):
    """x̄ (variables as rows) back to m's shape."""
    part = x_bar[:rows]
    if not rowvar and np.ndim(m) == 2 and np.shape(m)[0] != 1:
        part = part.T
    return np.reshape(part, np.shape(m))

def _cov_adjoint(g, m, y, rowvar, bias, ddof):
    """m̄ of C = Xc Xcᵀ / k (Xc: the centred rows): (G + Gᵀ) Xc / k."""
    x, rows = _cov_rows(m, y, rowvar)
    xc = x - np.mean(x, axis=1, keepdims=True)
    g2 = np.reshape(np.broadcast_to(g, (x.shape[0], x.shape[0])), (x.shape[0], x.shape[0]))
    return _cov_back((g2 + g2.T) @ xc / _cov_divisor(x, bias, ddof), m, rows, rowvar)

def _cov_tangent(dm, m, y, rowvar, bias, ddof):
    x, rows = _cov_rows(m, y, rowvar)
    dx, _ = _cov_rows(dm, None if y is None else np.zeros(np.shape(y)), rowvar)
    xc = x - np.mean(x, axis=1, keepdims=True)
    dxc = dx - np.mean(dx, axis=1, keepdims=True)
    dc = (dxc @ xc.T + xc @ dxc.T) / _cov_divisor(x, bias, ddof)
    return dc[0, 0] if x.shape[0] == 1 else dc

@adjoint_rule(np.cov)
def cov(g, ans, m, y=None, rowvar=True, bias=False, ddof=None):
    """In m (y constant); rowvar, bias, ddof; no frequency or analytic weights."""
    return _cov_adjoint(g, m, y, rowvar, bias, ddof)

@tangent_rule(np.cov)
def cov(dm, ans, m, y=None, rowvar=True, bias=False, ddof=None):
    return _cov_tangent(dm, m, y, rowvar, bias, ddof)


def _corrcoef_cov_seed(g, ans, x, y, rowvar):
    """C̄ of R = C / (s sᵀ), s = sqrt(diag C)."""
    c = np.atleast_2d(np.cov(x, y, rowvar))
    s = np.sqrt(np.diagonal(c))
    r = np.atleast_2d(ans)
    g2 = np.reshape(np.broadcast_to(g, r.shape), r.shape)
    c_bar = g2 / np.outer(s, s)
    s_bar = -(np.sum(g2 * r, axis=1) + np.sum(g2 * r, axis=0)) / s
    return c_bar + np.diag(s_bar / (2.0 * s))

def _corrcoef_tangent(dx, ans, x, y, rowvar):
    c = np.atleast_2d(np.cov(x, y, rowvar))
    dc = np.atleast_2d(_cov_tangent(dx, x, y, rowvar, False, None))
    s = np.sqrt(np.diagonal(c))
    ds = np.diagonal(dc) / (2.0 * s)
    r = np.atleast_2d(ans)
    dr = dc / np.outer(s, s) - r * (ds[:, None] / s[:, None] + ds[None, :] / s[None, :])
    return dr[0, 0] if np.ndim(ans) == 0 else dr

@adjoint_rule(np.corrcoef)
def corrcoef(g, ans, x, y=None, rowvar=True):
    """In x (y constant); rowvar."""
    return _cov_adjoint(_corrcoef_cov_seed(g, ans, x, y, rowvar), x, y, rowvar, False, None)

@tangent_rule(np.corrcoef)
def corrcoef(dx, ans, x, y=None, rowvar=True):
    return _corrcoef_tangent(dx, ans, x, y, rowvar)


def _select_masks(condlist):
    """Which choice each element takes (the first condition that holds), then the default's mask."""
    taken = False
    masks = []
    for c in condlist:
        masks.append(np.logical_and(c, np.logical_not(taken)))
        taken = np.logical_or(taken, c)
    return masks + [np.logical_not(taken)]

def _select_adjoint(g, condlist, choicelist):
    return [unbroadcast(g * m, c) for m, c in zip(_select_masks(condlist), choicelist)]

@adjoint_rule(np.select)
def select(g, ans, condlist, choicelist, default=0):
    """Conditions have no derivative; choices and default broadcast."""
    return (None, _select_adjoint(g, condlist, choicelist),
            unbroadcast(g * _select_masks(condlist)[-1], default))

@tangent_rule(np.select, expand=True)
def select(dcondlist, dchoicelist, ddefault, ans, condlist, choicelist, default=0):
    return None, np.select(condlist, dchoicelist, 0.0), ddefault * _select_masks(condlist)[-1]

# ---------------------------------------------------------------- NumPy 2 array-API functions, NaN-aware reductions

if hasattr(np, "vecdot"):
    bilinear(np.vecdot, lambda g, ans, x1, x2, axis=-1: unbroadcast(np.expand_dims(g, axis) * x2, x1),
             lambda g, ans, x1, x2, axis=-1: unbroadcast(np.expand_dims(g, axis) * x1, x2),
             doc="Real vectors along axis; broadcast.")
if hasattr(np, "matvec"):
    bilinear(np.matvec, lambda g, ans, x1, x2: unbroadcast(np.expand_dims(g, -1) * np.expand_dims(x2, -2), x1),
             lambda g, ans, x1, x2: unbroadcast(np.matvec(np.swapaxes(x1, -1, -2), g), x2), doc="Stacks; broadcast.")
    bilinear(np.vecmat, lambda g, ans, x1, x2: unbroadcast(np.matvec(x2, g), x1),
             lambda g, ans, x1, x2: unbroadcast(np.expand_dims(x1, -1) * np.expand_dims(g, -2), x2),
             doc="Stacks; broadcast.")
if hasattr(np, "matrix_transpose"):
    linear(np.matrix_transpose, lambda g, ans, x: np.matrix_transpose(g))


def _stack_pieces(g, ans, axis):
    """The adjoint of an unstack: the pieces' adjoints stacked again (zeros for pieces nobody used)."""
    if isinstance(g, float) and g == 0.0:
        g = [0.0] * len(ans)
    return np.stack([np.zeros(np.shape(p)) if isinstance(gi, float) and gi == 0.0
                     else np.broadcast_to(gi, np.shape(p)) for gi, p in zip(g, ans)], axis=axis)

if hasattr(np, "unstack"):
    linear(np.unstack, lambda g, ans, x, axis=0: _stack_pieces(g, ans, axis), like=False,
           doc="A tuple of slices; slices nobody uses get a zero adjoint.")


def _no_initial(include_initial):
    if include_initial:
        raise NotImplementedError("sct differentiates cumulative_sum/cumulative_prod with include_initial=False")
    return 1.0

if hasattr(np, "cumulative_sum"):
    linear(np.cumulative_sum, lambda g, ans, x, axis=None, dtype=None, out=None, include_initial=False:
           _cumsum_adjoint(g, x, axis) * _no_initial(include_initial), doc="include_initial=False.")

    @adjoint_rule(np.cumulative_prod)
    def cumulative_prod(g, ans, x, axis=None, dtype=None, out=None, include_initial=False):
        """include_initial=False; exact where elements are zero."""
        return _cumprod_adjoint(_like(g, ans), ans, x, axis) * _no_initial(include_initial)

    @tangent_rule(np.cumulative_prod)
    def cumulative_prod(dx, ans, x, axis=None, dtype=None, out=None, include_initial=False):
        return _cumprod_tangent(dx, ans, x, axis)


def _valid(a):
    """1.0 where a is a number, 0.0 where it is NaN (NaN-aware reductions skip those)."""
    return 1.0 - np.isnan(a)

def _nan_count(a, axis):
    return np.sum(_valid(a), axis=axis, keepdims=True)

@adjoint_rule(np.nansum)
def nansum(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    """NaNs get no derivative; axis and keepdims."""
    return unreduce(g, a, axis, keepdims) * _valid(a)

@tangent_rule(np.nansum)
def nansum(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(da * _valid(a), axis=axis, keepdims=keepdims)

@adjoint_rule(np.nanmean)
def nanmean(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    """NaNs get no derivative; axis and keepdims."""
    return unreduce(g, a, axis, keepdims) * _valid(a) / _nan_count(a, axis)

@tangent_rule(np.nanmean)
def nanmean(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(da * _valid(a) / _nan_count(a, axis), axis=axis, keepdims=keepdims)

# NaNs get no derivative: a NaN never equals the extreme, so _extreme_mask leaves it out
alias(np.nanmax, np.max, name="np.nanmax")
alias(np.nanmin, np.min, name="np.nanmin")

@adjoint_rule(np.nanprod)
def nanprod(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    """NaNs count as ones and get no derivative; exact at zeros."""
    return unreduce(g, a, axis, keepdims) * _others_product(np.nan_to_num(a, nan=1.0), axis) * _valid(a)

@tangent_rule(np.nanprod)
def nanprod(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(da * _others_product(np.nan_to_num(a, nan=1.0), axis) * _valid(a), axis=axis, keepdims=keepdims)


def _nan_centred(a, axis, ddof):
    """(a - nanmean) / (count - ddof), 0 at NaNs: the slope of nanvar is twice this."""
    return np.nan_to_num(a - np.nanmean(a, axis=axis, keepdims=True)) / (_nan_count(a, axis) - ddof)

@adjoint_rule(np.nanvar)
def nanvar(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """NaNs get no derivative; axis, keepdims, ddof."""
    return unreduce(g, a, axis, keepdims) * 2.0 * _nan_centred(a, axis, ddof)

@tangent_rule(np.nanvar)
def nanvar(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return np.sum(2.0 * _nan_centred(a, axis, ddof) * np.nan_to_num(da), axis=axis, keepdims=keepdims)

@adjoint_rule(np.nanstd)
def nanstd(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """NaNs get no derivative; axis, keepdims, ddof."""
    return unreduce(g / ans, a, axis, keepdims) * _nan_centred(a, axis, ddof)

@tangent_rule(np.nanstd)
def nanstd(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return np.sum(_nan_centred(a, axis, ddof) * np.nan_to_num(da), axis=axis, keepdims=keepdims) / ans

linear(np.nancumsum, lambda g, ans, a, axis=None, dtype=None, out=None: _cumsum_adjoint(g, a, axis) * _valid(a),
       tangent=lambda da, ans, a, axis=None, dtype=None, out=None: np.cumsum(da * _valid(a), axis=axis),
       doc="NaNs count as zeros and get no derivative.")


def _ptp_mask(ans, a, axis, keepdims):
    return (1.0 * _extreme_mask(np.max(a, axis=axis, keepdims=keepdims), a, axis, keepdims)
            - _extreme_mask(np.min(a, axis=axis, keepdims=keepdims), a, axis, keepdims))

@adjoint_rule(np.ptp)
def ptp(g, ans, a, axis=None, out=None, keepdims=False):
    """max - min; ties share the derivative."""
    return unreduce(g, a, axis, keepdims) * _ptp_mask(ans, a, axis, keepdims)

@tangent_rule(np.ptp)
def ptp(da, ans, a, axis=None, out=None, keepdims=False):
    return np.sum(da * _ptp_mask(ans, a, axis, keepdims), axis=axis, keepdims=keepdims)

# ---------------------------------------------------------------- more copying

def _ediff1d_adjoint(g, ary, to_end, to_begin):
    g = np.ravel(g)
    first = 0 if to_begin is None else np.size(to_begin)
    last = np.size(g) - (0 if to_end is None else np.size(to_end))
    return np.reshape(_diff_adjoint(g[first:last], 1, -1), np.shape(ary))

def _zeros_for(v):
    return None if v is None else np.zeros(np.size(v))

linear(np.ediff1d, lambda g, ans, ary, to_end=None, to_begin=None: _ediff1d_adjoint(g, ary, to_end, to_begin),
       tangent=lambda dary, ans, ary, to_end=None, to_begin=None:
       np.ediff1d(dary, to_end=_zeros_for(to_end), to_begin=_zeros_for(to_begin)),
       doc="to_end and to_begin have no derivative.")
linear(np.take_along_axis, lambda g, ans, arr, indices, axis=-1:
       _gather_adjoint(g, np.take_along_axis(_positions(arr), indices, axis), arr))
linear(np.resize, lambda g, ans, a, new_shape: _gather_adjoint(g, np.resize(_positions(a), new_shape), a))

@adjoint_rule(np.compress)
def compress(g, ans, condition, a, axis=None):
    """The condition has no derivative."""
    return None, _gather_adjoint(_like(g, ans), np.compress(condition, _positions(a), axis), a)

@tangent_rule(np.compress)
def compress(dcondition, da, ans, condition, a, axis=None):
    return None, np.compress(condition, da, axis)

@adjoint_rule(np.extract)
def extract(g, ans, condition, arr):
    """The condition has no derivative."""
    return None, _gather_adjoint(_like(g, ans), np.extract(condition, _positions(arr)), arr)

@tangent_rule(np.extract)
def extract(dcondition, darr, ans, condition, arr):
    return None, np.extract(condition, darr)

# ---------------------------------------------------------------- array methods and attributes

def astype(a, dtype):
    """``a.astype(dtype)``: differentiable when the new type is floating."""
    return a.astype(dtype)

@adjoint_rule(astype, name="astype")
def astype_(g, ans, a, dtype):
    """A zero derivative when converting to an integer or bool type."""
    return g * np.issubdtype(np.dtype(dtype), np.floating)

@tangent_rule(astype, name="astype")
def astype_(da, ans, a, dtype):
    return da * np.issubdtype(np.dtype(dtype), np.floating)


def flatten(a):
    """``a.flatten()``: ``np.ravel``, but always a copy (never a view)."""
    return a.flatten()

linear(flatten, lambda g, ans, a: np.reshape(g, np.shape(a)))


def item(a):
    """``a.item()``: the single element as a Python number."""
    return a.item()

@adjoint_rule(item, name="item")
def item_(g, ans, a):
    return np.reshape(g, np.shape(a))

@tangent_rule(item, name="item")
def item_(da, ans, a):
    return np.reshape(da, ())


def tolist(a):
    """``a.tolist()``: the elements as (nested lists of) Python numbers."""
    return a.tolist()

def _fill(out, g):
    """Write the (nested) list ``g`` into the array ``out``; an entry ``0.0`` stands for a row nothing reached."""
    if not isinstance(g, (list, tuple)):
        out[...] = g
        return
    for i, gi in enumerate(g):
        if isinstance(gi, (list, tuple)):
            _fill(out[i], gi)
        else:
            out[i] = gi

def _from_nested(g, a):
    """The adjoint of ``a.tolist()`` as an array shaped like ``a`` (the zero ``0.0`` stays)."""
    if isinstance(g, float) and g == 0.0:
        return 0.0
    out = np.zeros(np.shape(a))
    _fill(out, g)
    return out

def _to_nested(da, a):
    return np.broadcast_to(da, np.shape(a)).tolist()

def _to_nested_batched(da):
    """A batched tangent ``(B,) + shape`` as nested lists of ``(B,)`` tangents (a list's batched tangent)."""
    if np.ndim(da) <= 1:
        return da
    return [_to_nested_batched(da[:, i]) for i in range(np.shape(da)[1])]

@adjoint_rule(tolist, name="tolist")
def tolist_(g, ans, a):
    return _from_nested(g, a)

@tangent_rule(tolist, name="tolist")
def tolist_(da, ans, a):
    return _to_nested(da, a)

@batched_tangent_rule(tolist)
def tolist_(da, ans, a):
    return _to_nested_batched(da)

@tangent_rule(_from_nested)
def _from_nested_tangent(dg, ans, g, a):
    return _from_nested(dg, a)

REGISTRY.helper(_from_nested, shape_args=(1,), linear=True)
result_kind(tolist, "seq")
def copy_of(x):
    """``x.copy()``: an array's, or a list's or dict's (a copy of the same kind)."""
    return x.copy()

@adjoint_rule(copy_of, name="copy")
def copy_of_(g, ans, x):
    return g

@tangent_rule(copy_of, name="copy")
def copy_of_(dx, ans, x):
    return snapshot(dx)

result_kind(copy_of, "same")
broadcasts(copy_of)


for _name, _primal in [("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min), ("prod", np.prod),
                       ("var", np.var), ("std", np.std), ("cumsum", np.cumsum), ("dot", np.dot),
                       ("reshape", reshape_method), ("transpose", transpose_method), ("ravel", np.ravel),
                       ("flatten", flatten), ("squeeze", np.squeeze), ("copy", copy_of), ("swapaxes", np.swapaxes),
                       ("clip", np.clip), ("astype", astype), ("item", item), ("cumprod", np.cumprod),
                       ("diagonal", np.diagonal), ("trace", np.trace), ("repeat", np.repeat), ("take", np.take),
                       ("conj", np.conjugate), ("conjugate", np.conjugate),
                       ("tolist", tolist)]:
    method(_name, _primal)

attribute("T", np.transpose)
REGISTRY.nondiff_attributes |= {"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides"}

# views: results that may share memory with the first argument, so that an in-place write through one name
# changes the other (x.T, x.reshape(-1), np.asarray(x), ...).  sct refuses such writes; copies (flatten,
# np.copy, np.array) are not listed.
returns_view(np.reshape, reshape_method, np.ravel, np.transpose, transpose_method, np.swapaxes, np.moveaxis,
             np.expand_dims, np.squeeze, np.broadcast_to, np.diagonal, np.flip, np.fliplr, np.flipud, np.rot90,
             np.atleast_1d, np.atleast_2d, np.atleast_3d, np.asarray, np.ascontiguousarray, np.real,
             np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit,
             *[getattr(np, f) for f in ("matrix_transpose", "unstack") if hasattr(np, f)],
             names=("view", "real", "imag", "mT", "flat", "asanyarray", "asfortranarray", "require"))
# several results: a list or tuple of arrays, never an array (an adjoint of it adds with `add`, not `+`)
for _several in (np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit,
                 *[getattr(np, f) for f in ("unstack",) if hasattr(np, f)]):
    result_kind(_several, "tuple")
REGISTRY.nondiff_methods |= {"argmax", "argmin", "argsort", "argpartition", "nonzero", "any", "all",
                             "round", "searchsorted"}

# ---------------------------------------------------------------- construction

@adjoint_rule(np.full)
def full(g, ans, shape, fill_value, dtype=None):
    return None, unbroadcast(g, fill_value)

@tangent_rule(np.full)
def full(dshape, dfill_value, ans, shape, fill_value, dtype=None):
    return None, expand(dfill_value, ans)


@adjoint_rule(np.full_like)
def full_like(g, ans, a, fill_value, dtype=None):
    return None, unbroadcast(g, fill_value)

@tangent_rule(np.full_like)
def full_like(da, dfill_value, ans, a, fill_value, dtype=None):
    return None, expand(dfill_value, ans)


def _ramp(start, num, endpoint):
    """The weights of ``stop`` in ``np.linspace`` (those of ``start`` are one minus them)."""
    if np.ndim(start) != 0:
        raise NotImplementedError("sct differentiates np.linspace with number start and stop only")
    return np.linspace(0.0, 1.0, num, endpoint=endpoint)

@adjoint_rule(np.linspace)
def linspace(g, ans, start, stop, num=50, endpoint=True):
    return np.sum(g * (1.0 - _ramp(start, num, endpoint))), np.sum(g * _ramp(stop, num, endpoint))

@tangent_rule(np.linspace)
def linspace(dstart, dstop, ans, start, stop, num=50, endpoint=True):
    return dstart * (1.0 - _ramp(start, num, endpoint)), dstop * _ramp(stop, num, endpoint)

# ---------------------------------------------------------------- non-differentiable

nondifferentiable(
    np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like, np.eye,
    np.identity, np.arange, np.indices, np.tri,
    np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero, np.flatnonzero, np.searchsorted, np.count_nonzero,
    np.floor, np.ceil, np.round, np.rint, np.trunc, np.fix, np.sign, np.floor_divide, np.heaviside,
    np.isnan, np.isinf, np.isfinite, np.isclose, np.allclose, np.array_equal, np.shape, np.ndim, np.size,
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.all, np.any,
    np.digitize, np.result_type, np.dtype, np.int64, np.int32,
    np.around, np.signbit, np.isneginf, np.isposinf, np.isscalar, np.iscomplexobj, np.isrealobj,
    np.argpartition, np.lexsort, np.unravel_index, np.ravel_multi_index, np.broadcast_shapes,
    np.tril_indices, np.triu_indices, np.diag_indices, np.mask_indices, np.intp, np.bool_,
    np.random.default_rng,
)
alias(np.float64, float, name="np.float64")
REGISTRY.nondiff.add(REGISTRY.key(round))

# ---------------------------------------------------------------- effects and context managers
# (see the same section in builtins.py)

effect_only(np.testing.assert_allclose, np.testing.assert_array_less, np.testing.assert_array_equal,
            np.testing.assert_equal, np.testing.assert_almost_equal, np.testing.assert_array_almost_equal)
effect_only(np.seterr, np.set_printoptions, scoped=True)  # restored by np.errstate, np.printoptions
context_manager(np.errstate, np.printoptions)

# ---------------------------------------------------------------- rule helpers, for second derivatives
# These adjoints write into a fresh array (np.add.at, put_along_axis), which sct does not
# differentiate through; each is linear in the seed g, and its other arguments only give
# shapes and positions, so its tangent is the same helper applied to the tangent of g.

@tangent_rule(_diagonal_adjoint)
def _diagonal_adjoint_tangent(dg, da, ans, g, a, offset, axis1, axis2):
    return _diagonal_adjoint(dg, a, offset, axis1, axis2), None

@tangent_rule(_repeat_adjoint)
def _repeat_adjoint_tangent(dg, da, ans, g, a, repeats, axis):
    return _repeat_adjoint(dg, a, repeats, axis), None

@tangent_rule(_sort_adjoint)
def _sort_adjoint_tangent(dg, da, ans, g, a, axis):
    return _sort_adjoint(dg, a, axis), None

@tangent_rule(_take_adjoint)
def _take_adjoint_tangent(dg, da, ans, g, a, indices, axis):
    return _take_adjoint(dg, a, indices, axis), None


# ---------------------------------------------------------------- batched tangents (B directions on a leading axis)
# elementwise rules batch by broadcasting (declared so by ``elementwise``); the rest below.  A rule not
# listed runs once per direction inside the batched sweep.

@batched_tangent_rule(np.sum)
def sum_(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(da, axis=shift_axis(axis, np.ndim(a)), keepdims=keepdims)

@batched_tangent_rule(np.mean)
def mean_(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.mean(da, axis=shift_axis(axis, np.ndim(a)), keepdims=keepdims)

@batched_tangent_rule(np.diagonal)
def diagonal_(da, ans, a, offset=0, axis1=0, axis2=1):
    return np.diagonal(da, offset, shift_axis(axis1, np.ndim(a)), shift_axis(axis2, np.ndim(a)))

@batched_tangent_rule(np.trace)
def trace_(da, ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return np.trace(da, offset, shift_axis(axis1, np.ndim(a)), shift_axis(axis2, np.ndim(a)))

@batched_tangent_rule(np.matmul, operator.matmul)
def matmul_(dx1, dx2, ans, x1, x2):
    return matmul_left(dx1, x2), matmul_right(x1, dx2)

@batched_tangent_rule(np.dot)
def dot_(da, db, ans, a, b, out=None):
    return dot_left(da, a, b), dot_right(a, b, db)

@batched_tangent_rule(np.cross)
def cross_(da, db, ans, a, b, axis=None):
    return cross_left(da, a, b, axis), cross_right(a, b, db, axis)

@batched_tangent_rule(np.outer)
def outer_(da, db, ans, a, b):
    return outer_left(da, b), outer_right(a, db)

@batched_tangent_rule(np.reshape)
def reshape_(da, ans, a, shape):
    return reshape_batched(da, ans)

@batched_tangent_rule(reshape_method)
def reshape_method_(da, ans, a, *shape):
    return reshape_batched(da, ans)

@batched_tangent_rule(np.ravel)
def ravel_(da, ans, a):
    return reshape_batched(da, ans)

@batched_tangent_rule(np.expand_dims)
def expand_dims_(da, ans, a, axis):
    return reshape_batched(da, ans)

@batched_tangent_rule(np.squeeze)
def squeeze_(da, ans, a, axis=None):
    return reshape_batched(da, ans)

@batched_tangent_rule(np.transpose)
def transpose_(da, ans, a, axes=None):
    return np.transpose(da, transpose_axes(axes, np.ndim(a)))

@batched_tangent_rule(transpose_method)
def transpose_method_(da, ans, a, *axes):
    return np.transpose(da, transpose_axes(_axes_arg(axes), np.ndim(a)))

@batched_tangent_rule(np.swapaxes)
def swapaxes_(da, ans, a, axis1, axis2):
    return np.swapaxes(da, shift_axis(axis1, np.ndim(a)), shift_axis(axis2, np.ndim(a)))

@batched_tangent_rule(np.broadcast_to)
def broadcast_to_(darray, ans, array, shape):
    return expand_batched(darray, ans)

@batched_tangent_rule(np.flip)
def flip_(dm, ans, m, axis=None):
    return np.flip(dm, shift_axis(axis, np.ndim(m)))

broadcasts(np.copy, np.ascontiguousarray)

@batched_tangent_rule(*{np.max, np.amax})
def max_(da, ans, a, axis=None, out=None, keepdims=False):
    return np.sum(da * _extreme_mask(ans, a, axis, keepdims), axis=shift_axis(axis, np.ndim(a)), keepdims=keepdims)

@batched_tangent_rule(*{np.min, np.amin})
def min_(da, ans, a, axis=None, out=None, keepdims=False):
    return np.sum(da * _extreme_mask(ans, a, axis, keepdims), axis=shift_axis(axis, np.ndim(a)), keepdims=keepdims)

@batched_tangent_rule(np.prod)
def prod_(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(da * _others_product(a, axis), axis=shift_axis(axis, np.ndim(a)), keepdims=keepdims)

@batched_tangent_rule(np.array, np.asarray, lists=True)
def array_(dobject, ans, object, dtype=None, copy=True, order="K", subok=False, ndmin=0):
    return array_batched(dobject, ans)

@batched_tangent_rule(np.concatenate, lists=True)
def concatenate_(darrays, ans, arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    return concatenate_batched(darrays, arrays, axis)

@batched_tangent_rule(np.stack, lists=True)
def stack_(darrays, ans, arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    return stack_batched(darrays, arrays, axis)

@batched_tangent_rule(np.split)
def split_(dary, ans, ary, indices_or_sections, axis=0):
    return np.split(dary, indices_or_sections, axis=shift_axis(axis, np.ndim(ary)))
