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

from ..runtime import expand, unbroadcast, unreduce
from ..runtime.broadcast import sum_axes
from . import builtins as _ops
from .registry import (REGISTRY, _like, adjoint_rule, alias, attribute, bilinear, elementwise, linear, method,
                       nondifferentiable, overloaded, tangent_rule)

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


def _sinc_slope(x):
    """d sinc(x)/dx = (cos(πx) - sinc(x)) / x, which is 0 at x = 0."""
    x = np.asarray(x, dtype=float)
    safe = np.where(x == 0.0, 1.0, x)
    return np.where(x == 0.0, 0.0, (np.cos(np.pi * x) - np.sinc(x)) / safe)

elementwise(np.sinc, lambda ans, x: _sinc_slope(x))
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
    if np.count_nonzero(hits) == np.size(ans):  # one hit per result: no ties to share (the usual case)
        return hits
    return hits / np.sum(hits, axis=axis, keepdims=True)

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
    a = np.asarray(a, dtype=float)
    axes = _reduced_axes(a.ndim, axis)
    kept = tuple(i for i in range(a.ndim) if i not in axes)
    moved = np.transpose(a, kept + axes)
    flat = np.reshape(moved, tuple(a.shape[i] for i in kept) + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,))
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1)
    out = np.reshape(before * after, moved.shape)
    return np.transpose(out, np.argsort(kept + axes))

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


@adjoint_rule(np.std)
def std(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Any axis, keepdims and ddof."""
    return unreduce(g / ans, a, axis, keepdims) * (a - np.mean(a, axis=axis, keepdims=True)) / (_count(a, axis) - ddof)

@tangent_rule(np.std)
def std(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return (np.sum((a - np.mean(a, axis=axis, keepdims=True)) * da, axis=axis, keepdims=keepdims)
            / ((_count(a, axis) - ddof) * ans))


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
    x2 = np.asarray(x)[None, :] if np.ndim(x) == 1 else x
    y2 = np.asarray(y)[:, None] if np.ndim(y) == 1 else y
    g2 = np.asarray(g)
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
    return np.ascontiguousarray(t) if np.size(t) < np.size(g) else t

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
         lambda g, ans, a, b, axes=2: _tensordot_adjoint(g, a, b, axes, 1), doc="axes as an int or as a pair of axis lists.")


def _dot_adjoint(g, a, b, which):
    """ā or b̄ of ``np.dot(a, b)``: a product with a number, or a contraction of a's last axis
    with b's second-to-last (its only one when b is 1-D)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * (b if which == 0 else a), a if which == 0 else b)
    return _tensordot_adjoint(g, a, b, ([np.ndim(a) - 1], [max(np.ndim(b) - 2, 0)]), which)

bilinear(np.dot, lambda g, ans, a, b, out=None: _dot_adjoint(g, a, b, 0), lambda g, ans, a, b, out=None: _dot_adjoint(g, a, b, 1),
         doc="Numbers, vectors, matrices and N-D arrays.")


def _inner_adjoint(g, a, b, which):
    """ā or b̄ of ``np.inner(a, b)``: a contraction over the last axis of both."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * (b if which == 0 else a), a if which == 0 else b)
    return _tensordot_adjoint(g, a, b, ([np.ndim(a) - 1], [np.ndim(b) - 1]), which)

bilinear(np.inner, lambda g, ans, a, b: _inner_adjoint(g, a, b, 0), lambda g, ans, a, b: _inner_adjoint(g, a, b, 1),
         doc="Numbers, vectors and N-D arrays (contracting the last axes).")


bilinear(np.vdot, lambda g, ans, a, b: g * np.reshape(b, np.shape(a)), lambda g, ans, a, b: g * np.reshape(a, np.shape(b)))


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
    full = np.zeros(shape)
    full[_diagonal_index(target, shape)] = out
    return full

def _letter_sizes(term, shape):
    return dict(zip(term, shape))

def _diagonal_index(term, shape):
    """The index into an array with axes ``term`` ('iij') that reads its (generalised) diagonal."""
    sizes = _letter_sizes(term, shape)
    unique = "".join(dict.fromkeys(term))
    grids = np.ix_(*[np.arange(sizes[c]) for c in unique])
    return tuple(grids[unique.index(c)] for c in term)

def einsum1(subscripts, a, optimize=False):
    return np.einsum(subscripts, a, optimize=optimize)

def einsum2(subscripts, a, b, optimize=False):
    return np.einsum(subscripts, a, b, optimize=optimize)

def einsum3(subscripts, a, b, c, optimize=False):
    return np.einsum(subscripts, a, b, c, optimize=optimize)

@adjoint_rule(einsum1, name="np.einsum")
def einsum1_(g, ans, subscripts, a, optimize=False):
    """1 to 3 operands; explicit or implicit output; repeated letters ('ii'); no ellipsis."""
    return None, _einsum_adjoint(_like(g, ans), subscripts, (a,), 0)

@tangent_rule(einsum1, name="np.einsum")
def einsum1_(dsubscripts, da, ans, subscripts, a, optimize=False):
    return None, np.einsum(subscripts, da)

@adjoint_rule(einsum2, name="np.einsum")
def einsum2_(g, ans, subscripts, a, b, optimize=False):
    """1 to 3 operands; explicit or implicit output; repeated letters ('ii'); no ellipsis."""
    return (None, _einsum_adjoint(_like(g, ans), subscripts, (a, b), 0),
            _einsum_adjoint(_like(g, ans), subscripts, (a, b), 1))

@tangent_rule(einsum2, name="np.einsum")
def einsum2_(dsubscripts, da, db, ans, subscripts, a, b, optimize=False):
    return None, np.einsum(subscripts, da, b), np.einsum(subscripts, a, db)

@adjoint_rule(einsum3, name="np.einsum")
def einsum3_(g, ans, subscripts, a, b, c, optimize=False):
    """1 to 3 operands; explicit or implicit output; repeated letters ('ii'); no ellipsis."""
    return (None, _einsum_adjoint(_like(g, ans), subscripts, (a, b, c), 0),
            _einsum_adjoint(_like(g, ans), subscripts, (a, b, c), 1),
            _einsum_adjoint(_like(g, ans), subscripts, (a, b, c), 2))

@tangent_rule(einsum3, name="np.einsum")
def einsum3_(dsubscripts, da, db, dc, ans, subscripts, a, b, c, optimize=False):
    return None, np.einsum(subscripts, da, b, c), np.einsum(subscripts, a, db, c), np.einsum(subscripts, a, b, dc)

overloaded(np.einsum, lambda n, kws: {2: einsum1, 3: einsum2, 4: einsum3}.get(n, np.einsum))

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
    prepared = [prepare(a) for a in arrays]
    if axis is None:
        sizes = [np.size(a) for a in prepared]
        pieces = np.split(np.ravel(g), np.cumsum(sizes)[:-1])
    else:
        sizes = [np.shape(a)[axis] for a in prepared]
        pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    return [np.reshape(p, np.shape(a)) for p, a in zip(pieces, arrays)]

linear(np.concatenate, lambda g, ans, arrays, axis=0: _join_adjoint(g, arrays, axis))


def _hstack_axis(arrays):
    return 0 if np.ndim(arrays[0]) <= 1 else 1

linear(np.hstack, lambda g, ans, tup: _join_adjoint(g, tup, _hstack_axis(tup), np.atleast_1d))


linear(np.vstack, lambda g, ans, tup: _join_adjoint(g, tup, 0, np.atleast_2d))


def _as_column(a):
    a = np.asarray(a)
    return a[:, None] if a.ndim < 2 else a

linear(np.column_stack, lambda g, ans, tup: _join_adjoint(g, tup, 1, _as_column))


def _unstack(g, arrays, axis):
    """Slices of ``g`` along ``axis`` (the adjoint of stack)."""
    return [np.take(g, i, axis=axis) for i in range(len(arrays))]

linear(np.stack, lambda g, ans, arrays, axis=0: _unstack(g, arrays, axis))


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

linear(np.diag, lambda g, ans, v, k=0: _diag_adjoint(g, v, k), doc="Vector to matrix and matrix to vector, any offset k.")


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

alias(np.asarray, np.array)


linear(np.copy, lambda g, ans, a: g, like=False)


linear(np.ascontiguousarray, lambda g, ans, a, dtype=None: g, like=False)


linear(np.tril, lambda g, ans, m, k=0: np.tril(g, k))


linear(np.triu, lambda g, ans, m, k=0: np.triu(g, k))

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


def item(a):
    """``a.item()``: the single element as a Python number."""
    return a.item()

@adjoint_rule(item, name="item")
def item_(g, ans, a):
    return np.reshape(g, np.shape(a))

@tangent_rule(item, name="item")
def item_(da, ans, a):
    return np.reshape(da, ())


for _name, _primal in [("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min), ("prod", np.prod),
                       ("var", np.var), ("std", np.std), ("cumsum", np.cumsum), ("dot", np.dot),
                       ("reshape", reshape_method), ("transpose", transpose_method), ("ravel", np.ravel),
                       ("flatten", np.ravel), ("squeeze", np.squeeze), ("copy", np.copy), ("swapaxes", np.swapaxes),
                       ("clip", np.clip), ("astype", astype), ("item", item), ("cumprod", np.cumprod),
                       ("diagonal", np.diagonal), ("trace", np.trace), ("repeat", np.repeat), ("take", np.take),
                       ("conj", np.conjugate), ("conjugate", np.conjugate)]:
    method(_name, _primal)

attribute("T", np.transpose)
REGISTRY.nondiff_attributes |= {"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides"}
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
