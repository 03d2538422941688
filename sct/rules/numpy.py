"""Rules for NumPy: ufuncs, reductions, contractions, shapes, construction.

Families, in order: elementwise unary, elementwise binary (broadcasting, so
adjoints are ``unbroadcast`` back to each argument's shape), selection,
reductions, contractions, shape and joining, construction, array methods and
attributes, non-differentiable.  Helpers named ``_..._adjoint`` hold the few
adjoints too long for one expression; generated code calls them by name.
"""
import operator

import numpy as np

from ..runtime import unbroadcast, unreduce
from . import builtins as _ops
from .registry import (adjoint_rule, alias, attribute, method, nondifferentiable, overloaded,
                       tangent_rule, REGISTRY)

# ---------------------------------------------------------------- elementwise unary

@adjoint_rule(np.exp)
def exp(g, ans, x):
    return g * ans

@tangent_rule(np.exp)
def exp(dx, ans, x):
    return dx * ans


@adjoint_rule(np.exp2)
def exp2(g, ans, x):
    return g * ans * np.log(2.0)

@tangent_rule(np.exp2)
def exp2(dx, ans, x):
    return dx * ans * np.log(2.0)


@adjoint_rule(np.expm1)
def expm1(g, ans, x):
    return g * (ans + 1.0)

@tangent_rule(np.expm1)
def expm1(dx, ans, x):
    return dx * (ans + 1.0)


@adjoint_rule(np.log)
def log(g, ans, x):
    return g / x

@tangent_rule(np.log)
def log(dx, ans, x):
    return dx / x


@adjoint_rule(np.log1p)
def log1p(g, ans, x):
    return g / (1.0 + x)

@tangent_rule(np.log1p)
def log1p(dx, ans, x):
    return dx / (1.0 + x)


@adjoint_rule(np.log2)
def log2(g, ans, x):
    return g / (x * np.log(2.0))

@tangent_rule(np.log2)
def log2(dx, ans, x):
    return dx / (x * np.log(2.0))


@adjoint_rule(np.log10)
def log10(g, ans, x):
    return g / (x * np.log(10.0))

@tangent_rule(np.log10)
def log10(dx, ans, x):
    return dx / (x * np.log(10.0))


@adjoint_rule(np.sqrt)
def sqrt(g, ans, x):
    return g / (2.0 * ans)

@tangent_rule(np.sqrt)
def sqrt(dx, ans, x):
    return dx / (2.0 * ans)


@adjoint_rule(np.cbrt)
def cbrt(g, ans, x):
    return g / (3.0 * ans * ans)

@tangent_rule(np.cbrt)
def cbrt(dx, ans, x):
    return dx / (3.0 * ans * ans)


@adjoint_rule(np.square)
def square(g, ans, x):
    return g * 2.0 * x

@tangent_rule(np.square)
def square(dx, ans, x):
    return dx * 2.0 * x


@adjoint_rule(np.reciprocal)
def reciprocal(g, ans, x):
    return -g * ans * ans

@tangent_rule(np.reciprocal)
def reciprocal(dx, ans, x):
    return -dx * ans * ans


@adjoint_rule(np.negative)
def negative(g, ans, x):
    return -g

@tangent_rule(np.negative)
def negative(dx, ans, x):
    return -dx


@adjoint_rule(np.positive)
def positive(g, ans, x):
    return g

@tangent_rule(np.positive)
def positive(dx, ans, x):
    return dx


@adjoint_rule(np.absolute)
def absolute(g, ans, x):
    return g * np.sign(x)

@tangent_rule(np.absolute)
def absolute(dx, ans, x):
    return dx * np.sign(x)


@adjoint_rule(np.fabs)
def fabs(g, ans, x):
    return g * np.sign(x)

@tangent_rule(np.fabs)
def fabs(dx, ans, x):
    return dx * np.sign(x)


@adjoint_rule(np.sin)
def sin(g, ans, x):
    return g * np.cos(x)

@tangent_rule(np.sin)
def sin(dx, ans, x):
    return dx * np.cos(x)


@adjoint_rule(np.cos)
def cos(g, ans, x):
    return -g * np.sin(x)

@tangent_rule(np.cos)
def cos(dx, ans, x):
    return -dx * np.sin(x)


@adjoint_rule(np.tan)
def tan(g, ans, x):
    return g * (1.0 + ans * ans)

@tangent_rule(np.tan)
def tan(dx, ans, x):
    return dx * (1.0 + ans * ans)


@adjoint_rule(np.arcsin)
def arcsin(g, ans, x):
    return g / np.sqrt(1.0 - x * x)

@tangent_rule(np.arcsin)
def arcsin(dx, ans, x):
    return dx / np.sqrt(1.0 - x * x)


@adjoint_rule(np.arccos)
def arccos(g, ans, x):
    return -g / np.sqrt(1.0 - x * x)

@tangent_rule(np.arccos)
def arccos(dx, ans, x):
    return -dx / np.sqrt(1.0 - x * x)


@adjoint_rule(np.arctan)
def arctan(g, ans, x):
    return g / (1.0 + x * x)

@tangent_rule(np.arctan)
def arctan(dx, ans, x):
    return dx / (1.0 + x * x)


@adjoint_rule(np.sinh)
def sinh(g, ans, x):
    return g * np.cosh(x)

@tangent_rule(np.sinh)
def sinh(dx, ans, x):
    return dx * np.cosh(x)


@adjoint_rule(np.cosh)
def cosh(g, ans, x):
    return g * np.sinh(x)

@tangent_rule(np.cosh)
def cosh(dx, ans, x):
    return dx * np.sinh(x)


@adjoint_rule(np.tanh)
def tanh(g, ans, x):
    return g * (1.0 - ans * ans)

@tangent_rule(np.tanh)
def tanh(dx, ans, x):
    return dx * (1.0 - ans * ans)


@adjoint_rule(np.arcsinh)
def arcsinh(g, ans, x):
    return g / np.sqrt(x * x + 1.0)

@tangent_rule(np.arcsinh)
def arcsinh(dx, ans, x):
    return dx / np.sqrt(x * x + 1.0)


@adjoint_rule(np.arccosh)
def arccosh(g, ans, x):
    return g / np.sqrt(x * x - 1.0)

@tangent_rule(np.arccosh)
def arccosh(dx, ans, x):
    return dx / np.sqrt(x * x - 1.0)


@adjoint_rule(np.arctanh)
def arctanh(g, ans, x):
    return g / (1.0 - x * x)

@tangent_rule(np.arctanh)
def arctanh(dx, ans, x):
    return dx / (1.0 - x * x)


@adjoint_rule(np.deg2rad)
def deg2rad(g, ans, x):
    return g * (np.pi / 180.0)

@tangent_rule(np.deg2rad)
def deg2rad(dx, ans, x):
    return dx * (np.pi / 180.0)


@adjoint_rule(np.rad2deg)
def rad2deg(g, ans, x):
    return g * (180.0 / np.pi)

@tangent_rule(np.rad2deg)
def rad2deg(dx, ans, x):
    return dx * (180.0 / np.pi)

alias(np.radians, np.deg2rad)
alias(np.degrees, np.rad2deg)

# ---------------------------------------------------------------- elementwise binary

alias(np.add, operator.add, name="np.add")
alias(np.subtract, operator.sub, name="np.subtract")
alias(np.multiply, operator.mul, name="np.multiply")
alias(np.divide, operator.truediv, name="np.divide")
alias(np.power, operator.pow, name="np.power")
alias(np.mod, operator.mod, name="np.mod")


@adjoint_rule(np.float_power)
def float_power(g, ans, x, y):
    return unbroadcast(g * y * np.float_power(x, y - 1.0), x), unbroadcast(g * ans * np.log(x), y)

@tangent_rule(np.float_power)
def float_power(dx, dy, ans, x, y):
    return dx * y * np.float_power(x, y - 1.0), dy * ans * np.log(x)


@adjoint_rule(np.maximum)
def maximum(g, ans, x, y):
    return unbroadcast(g * (x >= y), x), unbroadcast(g * (x < y), y)

@tangent_rule(np.maximum)
def maximum(dx, dy, ans, x, y):
    return dx * (x >= y), dy * (x < y)

alias(np.fmax, np.maximum)


@adjoint_rule(np.minimum)
def minimum(g, ans, x, y):
    return unbroadcast(g * (x <= y), x), unbroadcast(g * (x > y), y)

@tangent_rule(np.minimum)
def minimum(dx, dy, ans, x, y):
    return dx * (x <= y), dy * (x > y)

alias(np.fmin, np.minimum)


@adjoint_rule(np.arctan2)
def arctan2(g, ans, y, x):
    return unbroadcast(g * x / (x * x + y * y), y), unbroadcast(-g * y / (x * x + y * y), x)

@tangent_rule(np.arctan2)
def arctan2(dy, dx, ans, y, x):
    return dy * x / (x * x + y * y), -dx * y / (x * x + y * y)


@adjoint_rule(np.hypot)
def hypot(g, ans, x, y):
    return unbroadcast(g * x / ans, x), unbroadcast(g * y / ans, y)

@tangent_rule(np.hypot)
def hypot(dx, dy, ans, x, y):
    return dx * x / ans, dy * y / ans


@adjoint_rule(np.logaddexp)
def logaddexp(g, ans, x, y):
    return unbroadcast(g * np.exp(x - ans), x), unbroadcast(g * np.exp(y - ans), y)

@tangent_rule(np.logaddexp)
def logaddexp(dx, dy, ans, x, y):
    return dx * np.exp(x - ans), dy * np.exp(y - ans)


@adjoint_rule(np.logaddexp2)
def logaddexp2(g, ans, x, y):
    return unbroadcast(g * np.exp2(x - ans), x), unbroadcast(g * np.exp2(y - ans), y)

@tangent_rule(np.logaddexp2)
def logaddexp2(dx, dy, ans, x, y):
    return dx * np.exp2(x - ans), dy * np.exp2(y - ans)

# ---------------------------------------------------------------- selection

@adjoint_rule(np.where)
def where(g, ans, condition, x, y):
    return None, unbroadcast(np.where(condition, g, 0.0), x), unbroadcast(np.where(condition, 0.0, g), y)

@tangent_rule(np.where, expand=True)
def where(dcondition, dx, dy, ans, condition, x, y):
    return None, np.where(condition, dx, 0.0), np.where(condition, 0.0, dy)


def _below(a, bound):
    return 0.0 if bound is None else a < bound

def _above(a, bound):
    return 0.0 if bound is None else a > bound

def _inside(a, a_min, a_max):
    inside = np.ones(np.shape(a), dtype=bool)
    if a_min is not None:
        inside = inside & (a >= a_min)
    if a_max is not None:
        inside = inside & (a <= a_max)
    return inside

@adjoint_rule(np.clip)
def clip(g, ans, a, a_min, a_max):
    return (unbroadcast(g * _inside(a, a_min, a_max), a), unbroadcast(g * _below(a, a_min), a_min),
            unbroadcast(g * _above(a, a_max), a_max))

@tangent_rule(np.clip, expand=True)
def clip(da, da_min, da_max, ans, a, a_min, a_max):
    return da * _inside(a, a_min, a_max), da_min * _below(a, a_min), da_max * _above(a, a_max)

# ---------------------------------------------------------------- reductions

def _count(x, axis):
    """How many elements a reduction over ``axis`` combines."""
    shape = np.shape(x)
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return int(np.prod([shape[a] for a in axes]))


@adjoint_rule(np.sum)
def sum_(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return unreduce(g, a, axis, keepdims)

@tangent_rule(np.sum)
def sum_(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(da, axis=axis, keepdims=keepdims)


@adjoint_rule(np.mean)
def mean(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return unreduce(g, a, axis, keepdims) / _count(a, axis)

@tangent_rule(np.mean)
def mean(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.mean(da, axis=axis, keepdims=keepdims)


def _extreme_mask(ans, a, axis, keepdims):
    """Where ``a`` attains its max (or min) along ``axis``, ties sharing equally."""
    hits = a == unreduce(ans, a, axis, keepdims)
    return hits / np.sum(hits, axis=axis, keepdims=True)

@adjoint_rule(np.max)
def max_(g, ans, a, axis=None, out=None, keepdims=False):
    return unreduce(g, a, axis, keepdims) * _extreme_mask(ans, a, axis, keepdims)

@tangent_rule(np.max)
def max_(da, ans, a, axis=None, out=None, keepdims=False):
    return np.sum(da * _extreme_mask(ans, a, axis, keepdims), axis=axis, keepdims=keepdims)

@adjoint_rule(np.min)
def min_(g, ans, a, axis=None, out=None, keepdims=False):
    return unreduce(g, a, axis, keepdims) * _extreme_mask(ans, a, axis, keepdims)

@tangent_rule(np.min)
def min_(da, ans, a, axis=None, out=None, keepdims=False):
    return np.sum(da * _extreme_mask(ans, a, axis, keepdims), axis=axis, keepdims=keepdims)

if np.amax is not np.max:
    alias(np.amax, np.max)
    alias(np.amin, np.min)


@adjoint_rule(np.prod)
def prod(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return unreduce(g * ans, a, axis, keepdims) / a

@tangent_rule(np.prod)
def prod(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(da * unreduce(ans, a, axis, keepdims) / a, axis=axis, keepdims=keepdims)


@adjoint_rule(np.var)
def var(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return unreduce(g, a, axis, keepdims) * 2.0 * (a - np.mean(a, axis=axis, keepdims=True)) / (_count(a, axis) - ddof)

@tangent_rule(np.var)
def var(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return np.sum(2.0 * (a - np.mean(a, axis=axis, keepdims=True)) * da, axis=axis, keepdims=keepdims) / (_count(a, axis) - ddof)


@adjoint_rule(np.std)
def std(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return unreduce(g / ans, a, axis, keepdims) * (a - np.mean(a, axis=axis, keepdims=True)) / (_count(a, axis) - ddof)

@tangent_rule(np.std)
def std(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return np.sum((a - np.mean(a, axis=axis, keepdims=True)) * da, axis=axis, keepdims=keepdims) / ((_count(a, axis) - ddof) * ans)


def _cumsum_adjoint(g, a, axis):
    if axis is None:
        return np.reshape(np.flip(np.cumsum(np.flip(np.ravel(g)))), np.shape(a))
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)

@adjoint_rule(np.cumsum)
def cumsum(g, ans, a, axis=None, dtype=None, out=None):
    return _cumsum_adjoint(g, a, axis)

@tangent_rule(np.cumsum)
def cumsum(da, ans, a, axis=None, dtype=None, out=None):
    return np.cumsum(da, axis=axis)

# ---------------------------------------------------------------- contractions

def _matmul_adjoint(g, x, y, which):
    """x̄ (which=0) or ȳ (which=1) of ``x @ y`` for 1-D, 2-D and batched operands."""
    x2 = x[None, :] if np.ndim(x) == 1 else x
    y2 = y[:, None] if np.ndim(y) == 1 else y
    g2 = g
    if np.ndim(x) == 1:
        g2 = np.expand_dims(g2, -2)
    if np.ndim(y) == 1:
        g2 = np.expand_dims(g2, -1)
    if which == 0:
        out = np.matmul(g2, np.swapaxes(y2, -1, -2))
        out = out[..., 0, :] if np.ndim(x) == 1 else out
        return unbroadcast(out, x)
    out = np.matmul(np.swapaxes(x2, -1, -2), g2)
    out = out[..., 0] if np.ndim(y) == 1 else out
    return unbroadcast(out, y)

@adjoint_rule(np.matmul)
def matmul(g, ans, x1, x2):
    return _matmul_adjoint(g, x1, x2, 0), _matmul_adjoint(g, x1, x2, 1)

@tangent_rule(np.matmul)
def matmul(dx1, dx2, ans, x1, x2):
    return dx1 @ x2, x1 @ dx2

alias(operator.matmul, np.matmul, name="@")


def _dot_adjoint(g, a, b, which):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * (b if which == 0 else a), a if which == 0 else b)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise NotImplementedError("sct differentiates np.dot for operands of at most 2 dimensions; use np.matmul")
    return _matmul_adjoint(g, a, b, which)

@adjoint_rule(np.dot)
def dot(g, ans, a, b, out=None):
    return _dot_adjoint(g, a, b, 0), _dot_adjoint(g, a, b, 1)

@tangent_rule(np.dot)
def dot(da, db, ans, a, b, out=None):
    return np.dot(da, b), np.dot(a, db)


@adjoint_rule(np.inner)
def inner(g, ans, a, b):
    return (np.tensordot(g, b, (list(range(np.ndim(a) - 1, np.ndim(g))), list(range(np.ndim(b) - 1)))),
            np.moveaxis(np.tensordot(g, a, (list(range(np.ndim(a) - 1)), list(range(np.ndim(a) - 1)))), 0, -1)
            if np.ndim(a) and np.ndim(b) else unbroadcast(g * a, b))

@tangent_rule(np.inner)
def inner(da, db, ans, a, b):
    return np.inner(da, b), np.inner(a, db)


@adjoint_rule(np.outer)
def outer(g, ans, a, b):
    return np.reshape(np.dot(g, np.ravel(b)), np.shape(a)), np.reshape(np.dot(np.ravel(a), g), np.shape(b))

@tangent_rule(np.outer)
def outer(da, db, ans, a, b):
    return np.outer(da, b), np.outer(a, db)


def _einsum_parts(subscripts, n):
    inputs, output = subscripts.replace(" ", "").split("->")
    parts = inputs.split(",")
    if len(parts) != n or "." in subscripts:
        raise NotImplementedError("sct differentiates np.einsum with explicit subscripts ('ij,jk->ik'), "
                                  "one term per operand and no ellipsis")
    return parts, output

def _einsum_adjoint(g, subscripts, operands, which):
    """The adjoint of one operand of an einsum: the seed contracted with the other operands."""
    parts, output = _einsum_parts(subscripts, len(operands))
    target = parts[which]
    if len(set(target)) != len(target):
        raise NotImplementedError(f"sct cannot differentiate np.einsum with a repeated index in '{target}'")
    others = [(p, op) for i, (p, op) in enumerate(zip(parts, operands)) if i != which]
    present = set(output).union(*[set(p) for p, _ in others])
    kept = "".join(c for c in target if c in present)
    spec = ",".join([output] + [p for p, _ in others]) + "->" + kept
    out = np.einsum(spec, g, *[op for _, op in others])
    if kept != target:  # an index summed out of this operand alone: spread the seed along it
        shape = np.shape(operands[which])
        out = np.broadcast_to(np.expand_dims(out, tuple(i for i, c in enumerate(target) if c not in present)), shape)
    return out

def einsum1(subscripts, a):
    return np.einsum(subscripts, a)

def einsum2(subscripts, a, b):
    return np.einsum(subscripts, a, b)

def einsum3(subscripts, a, b, c):
    return np.einsum(subscripts, a, b, c)

@adjoint_rule(einsum1, name="np.einsum")
def einsum1_(g, ans, subscripts, a):
    return None, _einsum_adjoint(g, subscripts, (a,), 0)

@tangent_rule(einsum1, name="np.einsum")
def einsum1_(dsubscripts, da, ans, subscripts, a):
    return None, np.einsum(subscripts, da)

@adjoint_rule(einsum2, name="np.einsum")
def einsum2_(g, ans, subscripts, a, b):
    return None, _einsum_adjoint(g, subscripts, (a, b), 0), _einsum_adjoint(g, subscripts, (a, b), 1)

@tangent_rule(einsum2, name="np.einsum")
def einsum2_(dsubscripts, da, db, ans, subscripts, a, b):
    return None, np.einsum(subscripts, da, b), np.einsum(subscripts, a, db)

@adjoint_rule(einsum3, name="np.einsum")
def einsum3_(g, ans, subscripts, a, b, c):
    return (None, _einsum_adjoint(g, subscripts, (a, b, c), 0), _einsum_adjoint(g, subscripts, (a, b, c), 1),
            _einsum_adjoint(g, subscripts, (a, b, c), 2))

@tangent_rule(einsum3, name="np.einsum")
def einsum3_(dsubscripts, da, db, dc, ans, subscripts, a, b, c):
    return None, np.einsum(subscripts, da, b, c), np.einsum(subscripts, a, db, c), np.einsum(subscripts, a, b, dc)

overloaded(np.einsum, lambda n, kws: {2: einsum1, 3: einsum2, 4: einsum3}.get(n, np.einsum))

# ---------------------------------------------------------------- shape and joining

@adjoint_rule(np.reshape)
def reshape(g, ans, a, shape):
    return np.reshape(g, np.shape(a))

@tangent_rule(np.reshape)
def reshape(da, ans, a, shape):
    return np.reshape(da, shape)


def reshape_method(a, *shape):
    """``a.reshape(2, 3)`` or ``a.reshape((2, 3))``."""
    return np.reshape(a, shape[0] if len(shape) == 1 else shape)

@adjoint_rule(reshape_method, name="reshape")
def reshape_method_(g, ans, a, *shape):
    return np.reshape(g, np.shape(a))

@tangent_rule(reshape_method, name="reshape")
def reshape_method_(da, ans, a, *shape):
    return np.reshape(da, np.shape(ans))


@adjoint_rule(np.ravel)
def ravel(g, ans, a):
    return np.reshape(g, np.shape(a))

@tangent_rule(np.ravel)
def ravel(da, ans, a):
    return np.ravel(da)


def _inverse_axes(axes, ndim):
    if axes is None:
        return None
    return tuple(np.argsort([a % ndim for a in axes]))

@adjoint_rule(np.transpose)
def transpose(g, ans, a, axes=None):
    return np.transpose(g, _inverse_axes(axes, np.ndim(a)))

@tangent_rule(np.transpose)
def transpose(da, ans, a, axes=None):
    return np.transpose(da, axes)


def transpose_method(a, *axes):
    """``a.transpose()``, ``a.transpose(1, 0)`` or ``a.transpose((1, 0))``."""
    return np.transpose(a, _axes_arg(axes))

def _axes_arg(axes):
    if not axes:
        return None
    return axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes

@adjoint_rule(transpose_method, name="transpose")
def transpose_method_(g, ans, a, *axes):
    return np.transpose(g, _inverse_axes(_axes_arg(axes), np.ndim(a)))

@tangent_rule(transpose_method, name="transpose")
def transpose_method_(da, ans, a, *axes):
    return np.transpose(da, _axes_arg(axes))


@adjoint_rule(np.swapaxes)
def swapaxes(g, ans, a, axis1, axis2):
    return np.swapaxes(g, axis1, axis2)

@tangent_rule(np.swapaxes)
def swapaxes(da, ans, a, axis1, axis2):
    return np.swapaxes(da, axis1, axis2)


@adjoint_rule(np.moveaxis)
def moveaxis(g, ans, a, source, destination):
    return np.moveaxis(g, destination, source)

@tangent_rule(np.moveaxis)
def moveaxis(da, ans, a, source, destination):
    return np.moveaxis(da, source, destination)


@adjoint_rule(np.expand_dims)
def expand_dims(g, ans, a, axis):
    return np.reshape(g, np.shape(a))

@tangent_rule(np.expand_dims)
def expand_dims(da, ans, a, axis):
    return np.expand_dims(da, axis)


@adjoint_rule(np.squeeze)
def squeeze(g, ans, a, axis=None):
    return np.reshape(g, np.shape(a))

@tangent_rule(np.squeeze)
def squeeze(da, ans, a, axis=None):
    return np.squeeze(da, axis)


@adjoint_rule(np.broadcast_to)
def broadcast_to(g, ans, array, shape):
    return unbroadcast(g, array)

@tangent_rule(np.broadcast_to)
def broadcast_to(darray, ans, array, shape):
    return np.broadcast_to(darray, shape)


def _split_like(g, arrays, axis):
    """Pieces of ``g`` shaped like the joined ``arrays`` (the adjoint of concatenate)."""
    sizes = [np.shape(a)[axis] for a in arrays]
    return np.split(g, np.cumsum(sizes)[:-1], axis=axis)

@adjoint_rule(np.concatenate)
def concatenate(g, ans, arrays, axis=0):
    return _split_like(g, arrays, axis)

@tangent_rule(np.concatenate)
def concatenate(darrays, ans, arrays, axis=0):
    return np.concatenate(darrays, axis)


def _unstack(g, arrays, axis):
    """Slices of ``g`` along ``axis`` (the adjoint of stack)."""
    return [np.take(g, i, axis=axis) for i in range(len(arrays))]

@adjoint_rule(np.stack)
def stack(g, ans, arrays, axis=0):
    return _unstack(g, arrays, axis)

@tangent_rule(np.stack)
def stack(darrays, ans, arrays, axis=0):
    return np.stack(darrays, axis)


def _array_adjoint(g, obj):
    """The adjoint of ``np.array(obj)``: nested lists of g's entries, or g itself."""
    if isinstance(obj, (list, tuple)):
        return [_array_adjoint(g[i], item) for i, item in enumerate(obj)]
    return np.reshape(g, np.shape(obj)) if np.ndim(obj) else g

@adjoint_rule(np.array)
def array(g, ans, object, dtype=None):
    return _array_adjoint(g, object)

@tangent_rule(np.array)
def array(dobject, ans, object, dtype=None):
    return np.array(dobject, dtype=float)

alias(np.asarray, np.array)


@adjoint_rule(np.copy)
def copy(g, ans, a):
    return g

@tangent_rule(np.copy)
def copy(da, ans, a):
    return np.copy(da)


@adjoint_rule(np.tril)
def tril(g, ans, m, k=0):
    return np.tril(g, k)

@tangent_rule(np.tril)
def tril(dm, ans, m, k=0):
    return np.tril(dm, k)


@adjoint_rule(np.triu)
def triu(g, ans, m, k=0):
    return np.triu(g, k)

@tangent_rule(np.triu)
def triu(dm, ans, m, k=0):
    return np.triu(dm, k)

# ---------------------------------------------------------------- array methods and attributes

def astype(a, dtype):
    """``a.astype(dtype)``: differentiable when the new type is floating."""
    return a.astype(dtype)

@adjoint_rule(astype, name="astype")
def astype_(g, ans, a, dtype):
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
                       ("clip", np.clip), ("astype", astype), ("item", item)]:
    method(_name, _primal)

attribute("T", np.transpose)
REGISTRY.nondiff_attributes |= {"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides"}
REGISTRY.nondiff_methods |= {"argmax", "argmin", "argsort", "nonzero", "any", "all", "tolist"}

# ---------------------------------------------------------------- construction and non-differentiable

nondifferentiable(
    np.zeros, np.ones, np.empty, np.full, np.zeros_like, np.ones_like, np.empty_like, np.full_like, np.eye,
    np.identity, np.arange, np.linspace, np.logspace, np.meshgrid, np.indices, np.tri,
    np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero, np.flatnonzero, np.searchsorted, np.count_nonzero,
    np.floor, np.ceil, np.round, np.rint, np.trunc, np.fix, np.sign, np.floor_divide, np.heaviside,
    np.isnan, np.isinf, np.isfinite, np.isclose, np.allclose, np.array_equal, np.shape, np.ndim, np.size,
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.all, np.any,
    np.unique, np.histogram, np.bincount, np.digitize, np.result_type, np.dtype, np.int64, np.int32,
)
alias(np.float64, float, name="np.float64")
REGISTRY.nondiff.add(REGISTRY.key(round))
