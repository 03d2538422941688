"""Tiny NumPy functions that the rule tests differentiate (sct reads their source).

Each returns a number: the result of the operation under test, weighted by
``weights(y)`` (fixed, distinct, non-symmetric numbers shaped like ``y``) and
summed, so that every output element matters differently.  Families follow the
rule files: elementwise unary, elementwise binary, selection, reductions,
contractions, shapes and joining, construction, indexing, methods and
attributes, non-differentiable; the linear-algebra cases come last.
"""
import numpy as np

import sct


def weights(like):
    """Fixed weights shaped like ``like`` (no derivative: sct treats the result as a constant)."""
    shape = np.shape(like)
    n = int(np.prod(shape))
    return np.reshape(np.cos(1.0 + 1.7 * np.arange(n)) + 0.3, shape)


sct.nondifferentiable(weights)


def sym(a):
    """The symmetric part of (a stack of) square matrices, for factorizations of symmetric input."""
    return 0.5 * (a + np.swapaxes(a, -1, -2))

# ---------------------------------------------------------------- elementwise unary

def exp(x):
    return np.sum(np.exp(x) * weights(x))

def exp2(x):
    return np.sum(np.exp2(x) * weights(x))

def expm1(x):
    return np.sum(np.expm1(x) * weights(x))

def log(x):
    return np.sum(np.log(x) * weights(x))

def log1p(x):
    return np.sum(np.log1p(x) * weights(x))

def log2(x):
    return np.sum(np.log2(x) * weights(x))

def log10(x):
    return np.sum(np.log10(x) * weights(x))

def sqrt(x):
    return np.sum(np.sqrt(x) * weights(x))

def cbrt(x):
    return np.sum(np.cbrt(x) * weights(x))

def square(x):
    return np.sum(np.square(x) * weights(x))

def reciprocal(x):
    return np.sum(np.reciprocal(x) * weights(x))

def negative(x):
    return np.sum(np.negative(x) * weights(x))

def positive(x):
    return np.sum(np.positive(x) * weights(x))

def absolute(x):
    return np.sum(np.absolute(x) * weights(x))

def np_abs(x):
    return np.sum(np.abs(x) * weights(x))

def builtin_abs(x):
    return np.sum(abs(x) * weights(x))

def fabs(x):
    return np.sum(np.fabs(x) * weights(x))

def sin(x):
    return np.sum(np.sin(x) * weights(x))

def cos(x):
    return np.sum(np.cos(x) * weights(x))

def tan(x):
    return np.sum(np.tan(x) * weights(x))

def arcsin(x):
    return np.sum(np.arcsin(x) * weights(x))

def arccos(x):
    return np.sum(np.arccos(x) * weights(x))

def arctan(x):
    return np.sum(np.arctan(x) * weights(x))

def sinh(x):
    return np.sum(np.sinh(x) * weights(x))

def cosh(x):
    return np.sum(np.cosh(x) * weights(x))

def tanh(x):
    return np.sum(np.tanh(x) * weights(x))

def arcsinh(x):
    return np.sum(np.arcsinh(x) * weights(x))

def arccosh(x):
    return np.sum(np.arccosh(x) * weights(x))

def arctanh(x):
    return np.sum(np.arctanh(x) * weights(x))

def deg2rad(x):
    return np.sum(np.deg2rad(x) * weights(x))

def rad2deg(x):
    return np.sum(np.rad2deg(x) * weights(x))

def radians(x):
    return np.sum(np.radians(x) * weights(x))

def degrees(x):
    return np.sum(np.degrees(x) * weights(x))

def sinc(x):
    return np.sum(np.sinc(x) * weights(x))

def real(x):
    return np.sum(np.real(x) * weights(x))

def conjugate(x):
    return np.sum(np.conjugate(x) * weights(x)) + np.sum(np.conj(x))

def pow_const(x):
    return np.sum(x ** 3 * weights(x))

def pow_half(x):
    return np.sum(x ** 0.5 * weights(x))

def const_pow(x):
    return np.sum(2.0 ** x * weights(x))

def unary_minus(x):
    return np.sum(-x * weights(x))

def unary_plus(x):
    return np.sum(+x * weights(x))

def float64_of(x):
    return np.float64(x) * 2.5

def float_of(x):
    return float(x) * 2.5

# ---------------------------------------------------------------- elementwise binary

def add(x, y):
    z = np.add(x, y)
    return np.sum(z * weights(z))

def subtract(x, y):
    z = np.subtract(x, y)
    return np.sum(z * weights(z))

def multiply(x, y):
    z = np.multiply(x, y)
    return np.sum(z * weights(z))

def divide(x, y):
    z = np.divide(x, y)
    return np.sum(z * weights(z))

def true_divide(x, y):
    z = np.true_divide(x, y)
    return np.sum(z * weights(z))

def power(x, y):
    z = np.power(x, y)
    return np.sum(z * weights(z))

def float_power(x, y):
    z = np.float_power(x, y)
    return np.sum(z * weights(z))

def mod(x, y):
    z = np.mod(x, y)
    return np.sum(z * weights(z))

def fmod(x, y):
    z = np.fmod(x, y)
    return np.sum(z * weights(z))

def maximum(x, y):
    z = np.maximum(x, y)
    return np.sum(z * weights(z))

def minimum(x, y):
    z = np.minimum(x, y)
    return np.sum(z * weights(z))

def fmax(x, y):
    z = np.fmax(x, y)
    return np.sum(z * weights(z))

def fmin(x, y):
    z = np.fmin(x, y)
    return np.sum(z * weights(z))

def arctan2(x, y):
    z = np.arctan2(x, y)
    return np.sum(z * weights(z))

def hypot(x, y):
    z = np.hypot(x, y)
    return np.sum(z * weights(z))

def logaddexp(x, y):
    z = np.logaddexp(x, y)
    return np.sum(z * weights(z))

def logaddexp2(x, y):
    z = np.logaddexp2(x, y)
    return np.sum(z * weights(z))

def op_add(x, y):
    z = x + y
    return np.sum(z * weights(z))

def op_sub(x, y):
    z = x - y
    return np.sum(z * weights(z))

def op_mul(x, y):
    z = x * y
    return np.sum(z * weights(z))

def op_div(x, y):
    z = x / y
    return np.sum(z * weights(z))

def op_pow(x, y):
    z = x ** y
    return np.sum(z * weights(z))

def op_mod(x, y):
    z = x % y
    return np.sum(z * weights(z))

def builtin_pow(x, y):
    z = pow(x, y)
    return np.sum(z * weights(z))

# ---------------------------------------------------------------- selection

def where(x, y):
    z = np.where(x > 0.0, x, y)
    return np.sum(z * weights(z))

def where_const(x):
    z = np.where(x > 0.0, x * x, 0.5)
    return np.sum(z * weights(z))

def where_indices(x):
    idx = np.where(x > 0.0)[0]
    rows, cols = np.where(np.ones((2, 2)) > 0.0)
    return np.sum(x[idx] ** 2) + x[rows[1]] * x[cols[1]]

def clip(x):
    z = np.clip(x, -0.5, 0.7)
    return np.sum(z * weights(z))

def clip_arrays(x, lo, hi):
    z = np.clip(x, lo, hi)
    return np.sum(z * weights(z))

def clip_upper_only(x):
    z = np.clip(x, None, 0.2)
    return np.sum(z * weights(z))

# ---------------------------------------------------------------- reductions

def literal_axes(x):
    y = np.sum(x, 0) + np.mean(x, axis=(0, 1)) + x.sum(axis=-1, keepdims=True)[0] + np.max(x, 1)[0]
    z = x.reshape(-1) * np.var(x, (0, 1)) + np.linalg.norm(x, ord=2) + np.linalg.norm(x, 1, None, False)
    return np.sum(y * weights(y)) + np.sum(z * weights(z))

def sum_(x, axis=None, keepdims=False):
    y = np.sum(x, axis=axis, keepdims=keepdims)
    return np.sum(y * weights(y))

def mean(x, axis=None, keepdims=False):
    y = np.mean(x, axis=axis, keepdims=keepdims)
    return np.sum(y * weights(y))

def prod(x, axis=None, keepdims=False):
    y = np.prod(x, axis=axis, keepdims=keepdims)
    return np.sum(y * weights(y))

def prod_with_zero(x):
    z = x * np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    y = np.prod(z, axis=1)
    return np.sum(y * weights(y)) + np.prod(z)

def max_(x, axis=None, keepdims=False):
    y = np.max(x, axis=axis, keepdims=keepdims)
    return np.sum(y * weights(y))

def min_(x, axis=None, keepdims=False):
    y = np.min(x, axis=axis, keepdims=keepdims)
    return np.sum(y * weights(y))

def amax(x, axis=None, keepdims=False):
    y = np.amax(x, axis=axis, keepdims=keepdims)
    return np.sum(y * weights(y))

def amin(x, axis=None, keepdims=False):
    y = np.amin(x, axis=axis, keepdims=keepdims)
    return np.sum(y * weights(y))

def var(x, axis=None, keepdims=False):
    y = np.var(x, axis=axis, keepdims=keepdims)
    return np.sum(y * weights(y))

def var_ddof(x, axis=None):
    y = np.var(x, axis=axis, ddof=1)
    return np.sum(y * weights(y))

def std(x, axis=None, keepdims=False):
    y = np.std(x, axis=axis, keepdims=keepdims)
    return np.sum(y * weights(y))

def std_ddof(x, axis=None):
    y = np.std(x, axis=axis, ddof=1)
    return np.sum(y * weights(y))

def cumsum(x, axis=None):
    y = np.cumsum(x, axis=axis)
    return np.sum(y * weights(y))

def cumprod(x, axis=None):
    y = np.cumprod(x, axis=axis)
    return np.sum(y * weights(y))

def cumprod_with_zero(x):
    y = np.cumprod(x * np.array([1.0, 1.0, 0.0, 1.0]))
    return np.sum(y * weights(y))

def trace(x):
    return np.trace(x) * 1.7

def trace_offset(x):
    return np.trace(x, 1) + 2.0 * np.trace(x, -1)

def trace_axes(x):
    y = np.trace(x, 0, 1, 2)
    return np.sum(y * weights(y))

# ---------------------------------------------------------------- contractions

def matmul(a, b):
    y = np.matmul(a, b)
    return np.sum(y * weights(y))

def matmul_op(a, b):
    y = a @ b
    return np.sum(y * weights(y))

def dot(a, b):
    y = np.dot(a, b)
    return np.sum(y * weights(y))

def inner(a, b):
    y = np.inner(a, b)
    return np.sum(y * weights(y))

def outer(a, b):
    y = np.outer(a, b)
    return np.sum(y * weights(y))

def vdot(a, b):
    return np.vdot(a, b) * 1.3

def tensordot(a, b, axes=2):
    y = np.tensordot(a, b, axes)
    return np.sum(y * weights(y))

def tensordot_pairs(a, b):
    y = np.tensordot(a, b, axes=([1, 0], [0, 2]))
    return np.sum(y * weights(y))

def einsum1(a, spec):
    y = np.einsum(spec, a)
    return np.sum(y * weights(y))

def einsum2(a, b, spec):
    y = np.einsum(spec, a, b)
    return np.sum(y * weights(y))

def einsum_optimize(a, b):
    y = np.einsum("ij,jk->ik", a, b, optimize=True)
    return np.sum(y * weights(y))

def einsum3(a, b, c, spec):
    y = np.einsum(spec, a, b, c)
    return np.sum(y * weights(y))

def kron(a, b):
    y = np.kron(a, b)
    return np.sum(y * weights(y))

# ---------------------------------------------------------------- shape and joining

def reshape(x):
    y = np.reshape(x, (3, -1))
    return np.sum(y * weights(y))

def reshape_method(x):
    y = x.reshape(3, 2)
    return np.sum(y * weights(y))

def reshape_method_tuple(x):
    y = x.reshape((6,))
    return np.sum(y * weights(y))

def ravel(x):
    y = np.ravel(x)
    return np.sum(y * weights(y))

def ravel_method(x):
    y = x.ravel()
    return np.sum(y * weights(y))

def flatten_method(x):
    y = x.flatten()
    return np.sum(y * weights(y))

def transpose(x):
    y = np.transpose(x)
    return np.sum(y * weights(y))

def transpose_axes(x):
    y = np.transpose(x, (2, 0, 1))
    return np.sum(y * weights(y))

def transpose_method(x):
    y = x.transpose(1, 0, 2)
    return np.sum(y * weights(y))

def transpose_attr(x):
    y = x.T
    return np.sum(y * weights(y))

def swapaxes(x):
    y = np.swapaxes(x, 0, -1)
    return np.sum(y * weights(y))

def swapaxes_method(x):
    y = x.swapaxes(0, 1)
    return np.sum(y * weights(y))

def moveaxis(x):
    y = np.moveaxis(x, 0, -1)
    return np.sum(y * weights(y))

def expand_dims(x):
    y = np.expand_dims(x, 1)
    return np.sum(y * weights(y))

def squeeze(x):
    y = np.squeeze(x)
    return np.sum(y * weights(y))

def squeeze_axis(x):
    y = np.squeeze(x, axis=0)
    return np.sum(y * weights(y))

def broadcast_to(x):
    y = np.broadcast_to(x, (2, 3))
    return np.sum(y * weights(y))

def concatenate(x, y):
    z = np.concatenate([x, y])
    return np.sum(z * weights(z))

def concatenate_axis1(x, y):
    z = np.concatenate((x, 2.0 * y, x), axis=1)
    return np.sum(z * weights(z))

def concatenate_flat(x, y):
    z = np.concatenate([x, y], axis=None)
    return np.sum(z * weights(z))

def concatenate_const(x):
    z = np.concatenate([x, np.ones(2)])
    return np.sum(z * weights(z))

def stack(x, y):
    z = np.stack([x, y])
    return np.sum(z * weights(z))

def stack_last(x, y):
    z = np.stack([x, y, x * y], axis=-1)
    return np.sum(z * weights(z))

def hstack(x, y):
    z = np.hstack([x, y])
    return np.sum(z * weights(z))

def vstack(x, y):
    z = np.vstack([x, y])
    return np.sum(z * weights(z))

def column_stack(x, y):
    z = np.column_stack([x, y])
    return np.sum(z * weights(z))

def split_unpack(x):
    a, b = np.split(x, 2)
    return np.sum(a * weights(a)) + 3.0 * np.sum(b * b)

def split_indices(x):
    parts = np.split(x, [1, 3], axis=1)
    return np.sum(parts[0]) + np.sum(parts[2] * weights(parts[2]))

def split_one_piece(x):
    pieces = np.split(x, 3)
    return np.sum(pieces[1] * weights(pieces[1]))

def array_split(x):
    a, b = np.array_split(x, 2)
    return np.sum(a * weights(a)) - np.sum(b * b)

def hsplit(x):
    a, b, c = np.hsplit(x, 3)
    return np.sum(a * c * weights(a)) + np.sum(b)

def vsplit(x):
    a, b = np.vsplit(x, 2)
    return np.sum(a * weights(a)) + np.sum(b * b)

def tile(x):
    y = np.tile(x, 2)
    return np.sum(y * weights(y))

def tile_tuple(x):
    y = np.tile(x, (2, 1, 2))
    return np.sum(y * weights(y))

def repeat(x):
    y = np.repeat(x, 2)
    return np.sum(y * weights(y))

def repeat_axis(x):
    y = np.repeat(x, [1, 0, 3], axis=1)
    return np.sum(y * weights(y))

def repeat_method(x):
    y = x.repeat(2, axis=0)
    return np.sum(y * weights(y))

def flip(x):
    y = np.flip(x)
    return np.sum(y * weights(y))

def flip_axis(x):
    y = np.flip(x, axis=1)
    return np.sum(y * weights(y))

def fliplr(x):
    y = np.fliplr(x)
    return np.sum(y * weights(y))

def flipud(x):
    y = np.flipud(x)
    return np.sum(y * weights(y))

def roll(x):
    y = np.roll(x, 1)
    return np.sum(y * weights(y))

def roll_axis(x):
    y = np.roll(x, (1, -1), axis=(0, 1))
    return np.sum(y * weights(y))

npsort = np.sort  # a call spelled np.sort(...) trips a core bug (see test_np_sort_is_not_an_in_place_sort)

def sort(x):
    y = npsort(x)
    return np.sum(y * weights(y))

def sort_axis(x):
    y = npsort(x, axis=0)
    return np.sum(y * weights(y))

def sort_flat(x):
    y = npsort(x, axis=None)
    return np.sum(y * weights(y))

def take(x):
    y = np.take(x, [2, 0, 2])
    return np.sum(y * weights(y))

def take_axis(x):
    y = np.take(x, np.array([[1, 0], [2, 2]]), axis=1)
    return np.sum(y * weights(y))

def diag_vector(x):
    y = np.diag(x)
    return np.sum(y * weights(y))

def diag_vector_offset(x):
    y = np.diag(x, 1)
    return np.sum(y * weights(y))

def diag_matrix(x):
    y = np.diag(x)
    return np.sum(y * weights(y))

def diag_matrix_offset(x):
    y = np.diag(x, -1)
    return np.sum(y * weights(y))

def diagonal(x):
    y = np.diagonal(x)
    return np.sum(y * weights(y))

def diagonal_offset_axes(x):
    y = np.diagonal(x, 1, 1, 2)
    return np.sum(y * weights(y))

def tril(x):
    y = np.tril(x)
    return np.sum(y * weights(y))

def triu(x):
    y = np.triu(x, 1)
    return np.sum(y * weights(y))

def array_of_numbers(x):
    y = np.array([x[0] * x[1], x[2], 3.0, np.sin(x[0])])
    return np.sum(y * weights(y))

def array_nested(x):
    y = np.array([[x[0], x[1]], [x[2] * 2.0, 1.0]])
    return np.sum(y * weights(y))

def array_of_arrays(x):
    y = np.array([x, 2.0 * x, np.ones(3)])
    return np.sum(y * weights(y))

def array_options(x):
    y = np.array(x, dtype=float, copy=True, ndmin=2) + np.array(x[0], ndmin=1)
    return np.sum(y * weights(y))

def asarray(x):
    y = np.asarray([x[1], x[0]])
    return np.sum(y * weights(y))

def ascontiguousarray(x):
    y = np.ascontiguousarray(x.T)
    return np.sum(y * weights(y))

def copy(x):
    y = np.copy(x)
    return np.sum(y * weights(y))

# ---------------------------------------------------------------- construction (no derivative)

def constructors(x):
    a = np.zeros(3) + np.ones(3) + np.full(3, 2.0) + np.arange(3) + np.linspace(0.0, 1.0, 3)
    b = np.eye(3) @ x + np.zeros_like(x) + np.ones_like(x) + np.full_like(x, 0.5) + np.identity(3)[0]
    return np.sum(a * x * b)

def empty_then_fill(x):
    y = np.empty(3)
    y[:] = 0.0
    y = y + x
    return np.sum(y * weights(y))

# ---------------------------------------------------------------- indexing: reads

def index_int(x):
    y = x[1] * 2.0 + x[0]
    return np.sum(y * weights(y))

def index_negative(x):
    y = x[-1] * 3.0 + x[-2]
    return np.sum(y * weights(y))

def index_slice(x):
    y = x[1:]
    return np.sum(y * weights(y))

def index_step(x):
    y = x[::2]
    return np.sum(y * weights(y))

def index_reverse(x):
    y = x[::-1]
    return np.sum(y * weights(y))

def index_ellipsis(x):
    y = x[..., 0]
    return np.sum(y * weights(y))

def index_none(x):
    y = x[None] * x[:, None]
    return np.sum(y * weights(y))

def index_multi(x):
    return x[0, 1] * x[1, 2] + x[-1, 0]

def index_row(x):
    y = x[1, :] * x[0]
    return np.sum(y * weights(y))

def index_column(x):
    y = x[:, -1]
    return np.sum(y * weights(y))

def index_slices_2d(x):
    y = x[1:, ::2]
    return np.sum(y * weights(y))

IDX = np.array([2, 0, 2])

def index_int_array(x):
    y = x[IDX]
    return np.sum(y * weights(y))

def index_list(x):
    y = x[[0, 2]]
    return np.sum(y * weights(y))

def index_repeated(x):
    y = x[[0, 0, 1, 0]]
    return np.sum(y * weights(y))

def index_mask(x):
    y = x[x > 0.0]
    return np.sum(y * y)

MASK = np.array([True, False, True])

def index_const_mask(x):
    y = x[MASK]
    return np.sum(y * weights(y))

def index_array_pair(x):
    y = x[np.array([0, 1, 1]), np.array([2, 0, 2])]
    return np.sum(y * weights(y))

def index_in_loop(x):
    total = 0.0
    for i in range(len(x)):
        total = total + x[i] * x[i - 1]
    return total

def index_2d_loop(x):
    total = 0.0
    n, m = x.shape
    for i in range(n):
        for j in range(m):
            total = total + x[i, j] * (i + 1.0) * (j + 2.0) * x[i, 0]
    return total

def iterate_rows(x):
    total = 0.0
    for row in x:
        total = total + np.sum(row * row) * total + row[0]
    return total

# ---------------------------------------------------------------- indexing: writes

def write_loop(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] * x[i] + 1.0
    return np.sum(y * weights(y))

def write_row_add(x):
    y = np.zeros((2, 3))
    y[0, :] += x
    y[1, :] += 2.0 * x
    y[1, :] += x * x
    return np.sum(y * weights(y))

def write_rows_in_loop(x):
    y = np.zeros((3, 3))
    for i in range(3):
        y[i, :] = x * (i + 1.0)
        y[i, i] += x[i]
    return np.sum(y * weights(y))

def write_slice(x):
    y = np.ones(5)
    y[1:4] = x * 2.0
    y[0] = x[2]
    return np.sum(y * weights(y))

def write_overwrite(x):
    y = x.copy()
    y[0] = 0.0
    y[1] = y[1] * y[2]
    return np.sum(y * weights(y))

def write_aug_mul(x):
    y = x.copy()
    y[1] *= x[0]
    y[2] -= x[1]
    return np.sum(y * weights(y))

def write_column(x):
    y = np.zeros((3, 2))
    y[:, 0] = x
    y[:, 1] = np.sin(x)
    return np.sum(y * weights(y))

def write_mask(x):
    y = x.copy()
    y[x < 0.0] = 0.0
    return np.sum(y * weights(y))

def write_recurrence(x):
    y = np.zeros(4)
    y[0] = x[0]
    for i in range(1, 4):
        y[i] = 0.5 * y[i - 1] + x[i] * y[i - 1] + x[i]
    return np.sum(y * weights(y))

def write_outer_loop(x):
    y = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            y[i, j] = x[i] * x[j] * (1.0 + i)
    return np.sum(y * weights(y))

def write_broadcast(x):
    y = np.zeros((2, 3))
    y[:, 1] = x[0]
    y[1] = y[1] + x
    return np.sum(y * weights(y))

def write_fancy(x):
    y = np.zeros(4)
    y[[0, 2]] = x[1:]
    y[IDX[:1]] = y[IDX[:1]] + x[0]
    return np.sum(y * weights(y))

# ---------------------------------------------------------------- methods and attributes

def method_sum(x):
    return x.sum() * 2.0 + np.sum(x.sum(axis=0) * weights(x.sum(axis=0)))

def method_mean(x):
    return x.mean() + x.mean(axis=1)[0]

def method_max_min(x):
    return x.max() * 2.0 + x.min() + x.max(axis=0)[1]

def method_dot(x, y):
    z = x.dot(y)
    return np.sum(z * weights(z))

def method_copy(x):
    y = x.copy()
    return np.sum(y * weights(y))

def method_astype(x):
    y = x.astype(float) + x.astype(np.float64)
    return np.sum(y * weights(y))

def method_astype_int(x):
    y = x.astype(int) * x
    return np.sum(y * weights(y))

def attributes(x):
    n = x.shape[0] + x.ndim + x.size + len(x)
    return np.sum(x * weights(x)) * n

def method_prod(x):
    return x.prod() + x.prod(axis=0)[1]

def method_var_std(x):
    return x.var() + x.std(axis=0)[1] + x.var(ddof=1)

def method_cumsum(x):
    y = x.cumsum()
    return np.sum(y * weights(y))

def method_cumprod(x):
    y = x.cumprod(axis=1)
    return np.sum(y * weights(y))

def method_clip(x):
    y = x.clip(-0.5, 0.5)
    return np.sum(y * weights(y))

def method_diagonal(x):
    y = x.diagonal()
    return np.sum(y * weights(y))

def method_trace(x):
    return x.trace() * 1.5

def method_squeeze(x):
    y = x.squeeze()
    return np.sum(y * weights(y))

def method_take(x):
    y = x.take([1, 1, 0])
    return np.sum(y * weights(y))

def method_item(x):
    return x.item() * 3.0

def method_chain(x):
    return x.T.reshape(-1).cumsum().sum()

# ---------------------------------------------------------------- non-differentiable

def argmax(x):
    return x[np.argmax(x)] * 2.0 + x[x.argmin()]

def argsort(x):
    y = x[np.argsort(x)]
    return np.sum(y * weights(y))

def floor_round_sign(x):
    return np.sum(x * np.floor(x) + x * np.round(x) + np.sign(x) * x * x + x * np.ceil(x))

def comparisons(x):
    return np.sum(x * (x > 0.0) + x * np.less(x, 0.5) + (x == x) * x)

def isnan_mask(x):
    return np.sum(np.where(np.isnan(x), 0.0, x) * weights(x)) + np.sum(x * np.isfinite(x))

def shape_queries(x):
    n = np.shape(x)[0] + np.ndim(x) + np.size(x)
    return np.sum(x * weights(x)) / n

def random_draws(x):
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(np.shape(x))
    return np.sum(x * noise)

def legacy_random(x):
    np.random.seed(1)
    noise = np.random.normal(size=np.shape(x)) + np.random.random(np.shape(x))
    return np.sum(x * noise)

def count_and_sort_indices(x):
    k = np.count_nonzero(x > 0.0)
    order = np.argsort(-x)
    return x[order[0]] * (k + 1.0)

# ---------------------------------------------------------------- seeds that are still zero

def results_used_in_one_branch(x, flag):
    """With flag False every result below is active but its adjoint is still the zero 0.0 when its rule runs."""
    m = np.reshape(x, (2, 3))
    a = m @ m.T + np.dot(m, x[:3])[:, None] + np.inner(m, m) + np.tensordot(m, m, ([1], [1]))
    b = np.einsum("ij,kj->ik", m, m) + np.einsum("ij->ji", m)[:2, :2] + np.einsum("ij,jk,kl->il", m, m.T, m)[:, :2]
    c = np.outer(x[:2], x[:2]) + np.kron(m[:1, :1], m[:, :2])[:2] + np.diag(x[:2]) + np.diag(np.diag(m @ m.T))
    d = np.concatenate([x, x]) + np.hstack([x, x]) + np.tile(x, 2) + np.repeat(x, 2) + np.ravel(np.stack([x, x]))
    e = np.vstack([m, m]) + np.swapaxes(np.moveaxis(np.expand_dims(np.vstack([m, m]), 0), 0, 2), 1, 2)[:, :, 0]
    f = np.column_stack([x, x]) + np.flip(np.fliplr(np.flipud(np.column_stack([x, x])))) + np.roll(x, 1)[:, None]
    h = npsort(x) + np.take(x, [1, 0, 2, 3, 4, 5]) + np.cumsum(x) + np.cumprod(x) + np.transpose(m).ravel()
    k = np.tril(m @ m.T) + np.triu(m @ m.T) + np.squeeze(m[None]).T.T[:, :2] + np.array([[x[0], x[1]], [x[2], 0.0]])
    n = np.diagonal(m) + np.linalg.inv(m @ m.T + np.eye(2)).sum(axis=0) + np.linalg.solve(m @ m.T + np.eye(2), x[:2])
    p = np.linalg.cholesky(m @ m.T + np.eye(2)) + m.reshape(3, 2)[:2]
    if flag:
        return np.sum(a) + np.sum(b) + np.sum(c) + np.sum(d) + np.sum(e) + np.sum(f) + np.sum(h) + np.sum(k) \
            + np.sum(n) + np.sum(p)
    return np.sum(x * x)

# ---------------------------------------------------------------- core bugs (minimal functions)

def np_sort_call(x):
    return np.sum(np.sort(x) * weights(x))

def tangent_alias_write(x):
    y = x * 1.0
    y[0] = 2.0 * x[1]
    return y[0] + x[0]

def gather(x):
    return np.sum(x[IDX] * x[IDX])

def nested_loop_2d(x):
    total = 0.0
    for i in range(2):
        for j in range(2):
            total = total + x[i, j] * x[i, 0]
    return total

def fill_then_rebind(x):
    y = np.zeros(3)
    y[:] = 0.0
    y = y + x
    return np.sum(y * y)

CONST = np.array([1.0, 2.0, 3.0])

def inactive_call_form(x):
    k = np.sum(CONST, initial=1.0)
    return x * k

# ---------------------------------------------------------------- no rule

def no_rule(x):
    y = np.fft.fft(x)
    return np.sum(np.abs(y))

# ---------------------------------------------------------------- linear algebra

def inv(a):
    y = np.linalg.inv(a)
    return np.sum(y * weights(y))

def det(a):
    y = np.linalg.det(a)
    return np.sum(y * weights(y))

def slogdet(a):
    sign, logdet = np.linalg.slogdet(a)
    return np.sum(logdet * weights(logdet))

def slogdet_sign_used(a):
    sign, logdet = np.linalg.slogdet(a)
    return np.sum(sign * logdet * weights(logdet))

def slogdet_index(a):
    return np.linalg.slogdet(a)[1] * 2.0

def slogdet_field(a):
    return np.linalg.slogdet(a).logabsdet * 2.0 + np.linalg.slogdet(a).sign

def solve(a, b):
    y = np.linalg.solve(a, b)
    return np.sum(y * weights(y))

def cholesky(a):
    y = np.linalg.cholesky(sym(a))
    return np.sum(y * weights(y))

def cholesky_upper(a):
    y = np.linalg.cholesky(sym(a), upper=True)
    return np.sum(y * weights(y))

def eigh_values(a):
    w, v = np.linalg.eigh(sym(a))
    return np.sum(w * weights(w))

def eigh_vectors(a):
    w, v = np.linalg.eigh(sym(a))
    return np.sum(v * v * weights(v))

def eigh_both(a):
    w, v = np.linalg.eigh(sym(a))
    y = (v * w[..., None, :]) @ np.swapaxes(v, -1, -2)
    return np.sum(y * weights(y)) + np.sum(w * w)

def eigh_fields(a):
    result = np.linalg.eigh(sym(a))
    return np.sum(result.eigenvalues * weights(result.eigenvalues)) + np.sum(result.eigenvectors[0] ** 2)

def eigvalsh(a):
    w = np.linalg.eigvalsh(sym(a))
    return np.sum(w * weights(w))

def svd_values(a):
    s = np.linalg.svd(a, compute_uv=False)
    return np.sum(s * weights(s))

def svdvals(a):
    s = np.linalg.svdvals(a)
    return np.sum(s * weights(s))

def svd_reduced(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    top = u[..., :, :1] @ vh[..., :1, :]          # u₁v₁ᵀ: independent of the singular vectors' signs
    return np.sum(top * weights(top)) + np.sum(s * weights(s)) + np.sum(u * u * weights(u))

def svd_square(a):
    u, s, vh = np.linalg.svd(a)
    y = (u * s[..., None, :]) @ vh
    return np.sum(y * weights(y)) + np.sum(vh ** 2 * weights(vh))

def norm(x, ord=None, axis=None, keepdims=False):
    y = np.linalg.norm(x, ord, axis, keepdims)
    return np.sum(y * weights(y))

def norm_default(x):
    return np.linalg.norm(x) * 2.0

def norm_axis_keyword(x, axis, keepdims):
    y = np.linalg.norm(x, axis=axis, keepdims=keepdims)
    return np.sum(y * weights(y))

def gaussian_logpdf(x, mu, factor):
    """log N(x; mu, S) with S = factor factorᵀ + I, through slogdet and solve."""
    d = x - mu
    cov = factor @ factor.T + np.eye(len(x))
    sign, logdet = np.linalg.slogdet(cov)
    return -0.5 * (d @ np.linalg.solve(cov, d)) - 0.5 * logdet - 0.5 * len(x) * np.log(2.0 * np.pi)

def gaussian_logpdf_cholesky(x, mu, factor):
    """The same density through the Cholesky factor: S = L Lᵀ."""
    d = x - mu
    cov = factor @ factor.T + np.eye(len(x))
    L = np.linalg.cholesky(cov)
    z = np.linalg.solve(L, d)
    return -0.5 * np.sum(z ** 2) - np.sum(np.log(np.diag(L))) - 0.5 * len(x) * np.log(2.0 * np.pi)

def gaussian_logpdf_inv(x, mu, factor):
    """The same density through the inverse and the determinant, for a batch of points."""
    d = x - mu
    cov = factor @ factor.T + np.eye(mu.shape[0])
    quad = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
    return np.sum(-0.5 * quad - 0.5 * np.log(np.linalg.det(cov)))

# ---------------------------------------------------------------- added with the declared rule kinds

def copysign(x, y):
    return np.sum(np.copysign(x, y) * weights(np.copysign(x, y)))

def ldexp(x):
    return np.sum(np.ldexp(x, np.arange(np.size(x)).reshape(np.shape(x))) * weights(x))

def einsum_sublist(x, y):
    return np.sum(np.einsum(x, (0, 1), y, (1, 2), (0, 2)) * weights(np.ones((2, 4))))

def einsum_sublist_transpose(x):
    return np.sum(np.einsum(x, (0, 1), (1, 0)) * weights(x.T))

def einsum_ellipsis(x, y):
    r = np.einsum("...ij,...jk->...ik", x, y)
    return np.sum(r * weights(r))

def einsum_ellipsis_implicit(x):
    r = np.einsum("...ii", x)
    return np.sum(r * weights(r))

def cross(a, b):
    r = np.cross(a, b)
    return np.sum(r * weights(r))

def cross_axis(a, b):
    r = np.cross(a, b, axis=0)
    return np.sum(r * weights(r))

def diff(x, n, axis):
    r = np.diff(x, n, axis)
    return np.sum(r * weights(r))

def gradient(x, edge_order):
    r = np.gradient(x, edge_order=edge_order)
    return np.sum(r * weights(r))

def gradient_axis(x, axis):
    r = np.gradient(x, axis=axis)
    return np.sum(r * weights(r))

def convolve(a, v, mode):
    r = np.convolve(a, v, mode)
    return np.sum(r * weights(r))

def correlate(a, v, mode):
    r = np.correlate(a, v, mode)
    return np.sum(r * weights(r))

def pad(x, mode):
    r = np.pad(x, 2, mode)
    return np.sum(r * weights(r))

def pad_widths(x):
    r = np.pad(x, ((1, 0), (0, 2)), constant_values=3.0)
    return np.sum(r * weights(r))

def append(x, y, axis):
    r = np.append(x, y, axis)
    return np.sum(r * weights(r))

def insert(x, y):
    r = np.insert(x, 1, y)
    return np.sum(r * weights(r))

def insert_axis(x, y):
    r = np.insert(x, [0, 2], y, axis=1)
    return np.sum(r * weights(r))

def delete(x):
    r = np.delete(x, [0, 2])
    return np.sum(r * weights(r))

def delete_axis(x):
    r = np.delete(x, 1, axis=1)
    return np.sum(r * weights(r))

def rollaxis(x):
    r = np.rollaxis(x, 2)
    return np.sum(r * weights(r))

def rot90(x, k):
    r = np.rot90(x, k)
    return np.sum(r * weights(r))

def atleast(x):
    return np.sum(np.atleast_1d(x) * 2.0) + np.sum(np.atleast_2d(x) * weights(np.atleast_2d(x))) \
        + np.sum(np.atleast_3d(x) ** 2)

def dstack(x, y):
    r = np.dstack((x, y))
    return np.sum(r * weights(r))

def dsplit(x):
    a, b = np.dsplit(x, 2)
    return np.sum(a * weights(a)) - 2.0 * np.sum(b * b)

def row_stack(x, y):
    r = np.row_stack((x, y))
    return np.sum(r * weights(r))

def vstack_dtype(x, y):
    r = np.vstack((x, y), dtype=float)
    return np.sum(r * weights(r))

def partition(x, kth, axis):
    r = np.partition(x, kth, axis)
    return np.sum(r * weights(r))

def select(x, y, z):
    r = np.select([x > 0.5, x < -0.5], [x * y, y], z)
    return np.sum(r * weights(r))

def nan_to_num(x):
    r = np.nan_to_num(np.log(x))
    return np.sum(r * weights(r))

def real_if_close(x):
    return np.sum(np.real_if_close(x) * weights(x))

def interp(x):
    r = np.interp(x, [-1.0, 0.0, 0.5, 2.0], [0.3, -1.0, 2.0, 1.0])
    return np.sum(r * weights(r))

def polyval(p, x):
    r = np.polyval(p, x)
    return np.sum(r * weights(r))

def trapezoid(y, axis):
    r = np.trapezoid(y, axis=axis)
    return np.sum(r * weights(r))

def trapezoid_x(y):
    return np.sum(np.trapezoid(y, x=np.array([0.0, 0.5, 1.5, 1.7])) * 2.0 + np.trapezoid(y, dx=0.3))

def median(x, axis):
    r = np.median(x, axis=axis)
    return np.sum(r * weights(r))

def quantile(x, q, axis):
    r = np.quantile(x, q, axis=axis)
    return np.sum(r * weights(r))

def percentile(x, q, axis, keepdims):
    r = np.percentile(x, q, axis=axis, keepdims=keepdims)
    return np.sum(r * weights(r))

def average(x, w, axis):
    r = np.average(x, axis=axis, weights=w)
    return np.sum(r * weights(r))

def average_plain(x):
    return np.average(x) + np.sum(np.average(x, axis=0) * 2.0)

def cov(x, rowvar, ddof):
    r = np.cov(x, rowvar=rowvar, ddof=ddof)
    return np.sum(r * weights(r))

def cov_vector(x):
    return np.cov(x) * 2.0

def corrcoef(x, rowvar):
    r = np.corrcoef(x, rowvar=rowvar)
    return np.sum(r * weights(r))

def index_trick(x, y):
    return np.sum(np.r_[x, y] ** 2)

def with_nans(x):
    """x with every third element NaN (no derivative there)."""
    return np.where(np.reshape(np.arange(np.size(x)), np.shape(x)) % 3 == 1, np.nan, x)

def nan_reductions(x, axis):
    y = with_nans(x)
    r = (np.nansum(y, axis=axis) + 2.0 * np.nanmean(y, axis=axis) - np.nanmax(y, axis=axis)
         + 0.5 * np.nanmin(y, axis=axis) + np.nanprod(y, axis=axis) + np.nanvar(y, axis=axis)
         - 0.3 * np.nanstd(y, axis=axis, ddof=1))
    return np.sum(r * weights(r))

def nancumsum(x, axis):
    r = np.nancumsum(with_nans(x), axis=axis)
    return np.sum(r * weights(r))

def ptp(x, axis):
    r = np.ptp(x, axis=axis)
    return np.sum(r * weights(r))

def vecdot(x, y):
    r = np.vecdot(x, y)
    return np.sum(r * weights(r))

def matvec(a, v):
    r = np.matvec(a, v)
    return np.sum(r * weights(r))

def vecmat(v, a):
    r = np.vecmat(v, a)
    return np.sum(r * weights(r))

def matrix_transpose(x):
    r = np.matrix_transpose(x)
    return np.sum(r * weights(r))

def unstack(x):
    a, b = np.unstack(x)
    return np.sum(a * weights(a)) + np.sum(b ** 2)

def cumulative(x):
    r = np.cumulative_sum(x, axis=0) + np.cumulative_prod(x, axis=0)
    return np.sum(r * weights(r))

def ediff1d(x):
    r = np.ediff1d(x, to_begin=[1.0])
    return np.sum(r * weights(r))

def take_along_axis(x):
    r = np.take_along_axis(x, np.argsort(x, axis=1), axis=1)
    return np.sum(r * weights(r))

def resize(x):
    r = np.resize(x, (3, 3))
    return np.sum(r * weights(r))

def compress_extract(x):
    r = np.compress([True, False, True], x, axis=0)
    s = np.extract(x > 0.0, x)
    return np.sum(r * weights(r)) + np.sum(s * weights(s))

# ---------------------------------------------------------------- more np.linalg

def pinv(a):
    r = np.linalg.pinv(a)
    return np.sum(r * weights(r))

def lstsq(a, b):
    x, res, rank, s = np.linalg.lstsq(a, b)
    return np.sum(x * weights(x)) + np.sum(res * 0.7)

def lstsq_solution(a, b):
    x = np.linalg.lstsq(a, b)[0]
    return np.sum(x * weights(x))

def qr(a):
    q, r = np.linalg.qr(a)
    return np.sum(q * weights(q)) + np.sum(r * weights(r) * 0.5)

def qr_r(a):
    r = np.linalg.qr(a, mode="r")
    return np.sum(r * weights(r))

def eig(a):
    w, v = np.linalg.eig(a)
    return np.sum(w * weights(w)) + np.sum(v * weights(v) * np.sign(v[0:1]))

def eigvals(a):
    w = np.linalg.eigvals(a)
    return np.sum(w * weights(w))

def matrix_power(a, n):
    r = np.linalg.matrix_power(a, n)
    return np.sum(r * weights(r))

def multi_dot(a, b, c):
    r = np.linalg.multi_dot([a, b, c])
    return np.sum(r * weights(r))

def tensorsolve(a, b):
    r = np.linalg.tensorsolve(a, b)
    return np.sum(r * weights(r))

def vector_norm(x, axis, ord):
    r = np.linalg.vector_norm(x, axis=axis, ord=ord)
    return np.sum(r * weights(r))

def matrix_norm(x, ord):
    r = np.linalg.matrix_norm(x, ord=ord)
    return np.sum(r * weights(r))

def linalg_array_api(x, y):
    r = (np.linalg.trace(x) + np.sum(np.linalg.diagonal(x), axis=-1) + np.sum(np.linalg.matrix_transpose(x) * y, axis=(-2, -1))
         + np.sum(np.linalg.matmul(x, y), axis=(-2, -1)) + np.sum(np.linalg.vecdot(x, y), axis=-1)
         + np.sum(np.linalg.cross(x, y), axis=(-2, -1)))
    return np.sum(r * weights(r)) + np.sum(np.linalg.outer(x[0, 0], y[0, 1]) ** 2) \
        + np.sum(np.linalg.tensordot(x, y[0], axes=2) ** 2)

def column_stack_of_one(x):
    r = np.column_stack(x) + np.column_stack([x]).T
    return np.sum(r * weights(r))
