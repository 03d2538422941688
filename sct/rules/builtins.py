"""Rules for Python's operators and built-in functions.

Families, in the order every rule file uses: arithmetic operators, elementwise
functions, reductions, indexing and containers, non-differentiable.
Operators act on numbers and on arrays alike, so adjoints of broadcasting
operations go through ``unbroadcast`` (sct drops it where both operands are
known to be numbers).
"""
import builtins
import contextlib
import logging
import operator
import warnings

import numpy as np

from ..runtime import add as add_adjoints, add_at, indices, take, unbroadcast
from ..runtime.containers import field_index, field_of
from ..runtime.batched import take_batched
from .registry import (REGISTRY, adjoint_rule, alias, batched_tangent_rule, broadcasts, context_manager, effect_only,
                       is_constant, method, nondifferentiable, overloaded, replaced_by, result_kind, returns_view,
                       tangent_rule)

# ---------------------------------------------------------------- arithmetic operators

@adjoint_rule(operator.add, name="+")
def add(g, ans, x, y):
    return unbroadcast(g, x), unbroadcast(g, y)

@tangent_rule(operator.add, name="+", expand=True)
def add(dx, dy, ans, x, y):
    return dx, dy


@adjoint_rule(operator.sub, name="-")
def sub(g, ans, x, y):
    return unbroadcast(g, x), -unbroadcast(g, y)  # (negate after summing: less work)

@tangent_rule(operator.sub, name="-", expand=True)
def sub(dx, dy, ans, x, y):
    return dx, -dy


@adjoint_rule(operator.mul, name="*")
def mul(g, ans, x, y):
    return unbroadcast(g * y, x), unbroadcast(g * x, y)

@tangent_rule(operator.mul, name="*")
def mul(dx, dy, ans, x, y):
    return dx * y, x * dy


@adjoint_rule(operator.truediv, name="/")
def truediv(g, ans, x, y):
    return unbroadcast(g / y, x), unbroadcast(-(g * ans / y), y)

@tangent_rule(operator.truediv, name="/")
def truediv(dx, dy, ans, x, y):
    return dx / y, -(dy * ans / y)


def _log0(x):
    """log(x), and 0 where x == 0 (there x**y == 0, and d(x**y)/dy = x**y log x -> 0)."""
    return np.log(np.where(x == 0, 1.0, x))


def _dpow(x, y):
    """d(x ** y)/dx = y * x ** (y - 1) for a variable exponent, 0 where y == 0 (x ** 0 is 1 for
    every x, also at x == 0, where x ** (y - 1) does not exist)."""
    if np.ndim(x) == 0 and np.ndim(y) == 0:
        return 0.0 if y == 0 else y * np.float64(x) ** (y - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.equal(y, 0), 0.0, y * np.power(x, np.subtract(y, 1.0)))


def pow_variable(x, y):
    """``x ** y`` whose exponent is a variable (a literal exponent keeps the plain rule: ``2 * x``)."""
    return x ** y


def _exponent_varies(n, args) -> bool:
    """x ** y with y not a literal: the exponent may be an input (0 ** 0 needs the guarded rule)."""
    return n == 2 and not is_constant(args[1])

@adjoint_rule(operator.pow, name="**")
def pow_(g, ans, x, y):
    return unbroadcast(g * y * x ** (y - 1), x), unbroadcast(g * ans * _log0(x), y)

@tangent_rule(operator.pow, name="**")
def pow_(dx, dy, ans, x, y):
    return dx * y * x ** (y - 1), dy * ans * _log0(x)


@adjoint_rule(pow_variable, name="**")
def pow_variable_(g, ans, x, y):
    return unbroadcast(g * _dpow(x, y), x), unbroadcast(g * ans * _log0(x), y)

@tangent_rule(pow_variable, name="**")
def pow_variable_(dx, dy, ans, x, y):
    return dx * _dpow(x, y), dy * ans * _log0(x)

overloaded(operator.pow, lambda n, kws, args: pow_variable if _exponent_varies(n, args) else operator.pow)
overloaded(builtins.pow, lambda n, kws, args: pow_variable if _exponent_varies(n, args) else builtins.pow)


@adjoint_rule(operator.mod, name="%")
def mod(g, ans, x, y):
    return unbroadcast(g, x), unbroadcast(-g * np.floor_divide(x, y), y)

@tangent_rule(operator.mod, name="%", expand=True)
def mod(dx, dy, ans, x, y):
    return dx, -dy * np.floor_divide(x, y)


@adjoint_rule(operator.neg, name="unary -")
def neg(g, ans, x):
    return -g

@tangent_rule(operator.neg, name="unary -")
def neg(dx, ans, x):
    return -dx


@adjoint_rule(operator.pos, name="unary +")
def pos(g, ans, x):
    return g

@tangent_rule(operator.pos, name="unary +")
def pos(dx, ans, x):
    return dx

# ---------------------------------------------------------------- elementwise functions

@adjoint_rule(builtins.abs)
def abs_(g, ans, x):
    return g * np.sign(x)

@tangent_rule(builtins.abs)
def abs_(dx, ans, x):
    return dx * np.sign(x)


@adjoint_rule(builtins.float)
def float_(g, ans, x):
    return g

@tangent_rule(builtins.float)
def float_(dx, ans, x):
    return dx


@adjoint_rule(builtins.pow)
def pow_builtin(g, ans, x, y):
    return unbroadcast(g * y * x ** (y - 1), x), unbroadcast(g * ans * _log0(x), y)

@tangent_rule(builtins.pow)
def pow_builtin(dx, dy, ans, x, y):
    return dx * y * x ** (y - 1), dy * ans * _log0(x)


def max2(x, y):
    """``max(x, y)`` of two numbers (the first on ties, like Python)."""
    return builtins.max(x, y)

def min2(x, y):
    """``min(x, y)`` of two numbers (the first on ties, like Python)."""
    return builtins.min(x, y)

@adjoint_rule(max2, name="max")
def max2_(g, ans, x, y):
    return g * (x >= y), g * (x < y)

@tangent_rule(max2, name="max")
def max2_(dx, dy, ans, x, y):
    return dx * (x >= y), dy * (x < y)

@adjoint_rule(min2, name="min")
def min2_(g, ans, x, y):
    return g * (x <= y), g * (x > y)

@tangent_rule(min2, name="min")
def min2_(dx, dy, ans, x, y):
    return dx * (x <= y), dy * (x > y)

# ---------------------------------------------------------------- reductions over sequences

def max_of(xs):
    """``max(xs)`` of a sequence."""
    return builtins.max(xs)

def min_of(xs):
    """``min(xs)`` of a sequence."""
    return builtins.min(xs)

def sum_of(xs, start=0):
    """``sum(xs)`` of a sequence."""
    return builtins.sum(xs, start)

def _position_of(xs, value):
    for i, v in enumerate(xs):
        if v == value:
            return i
    return 0

@adjoint_rule(max_of, name="max")
def max_of_(g, ans, xs, acc):
    return add_at(acc, xs, _position_of(xs, ans), g)

@tangent_rule(max_of, name="max")
def max_of_(dxs, ans, xs):
    return dxs[_position_of(xs, ans)]

@adjoint_rule(min_of, name="min")
def min_of_(g, ans, xs, acc):
    return add_at(acc, xs, _position_of(xs, ans), g)

@tangent_rule(min_of, name="min")
def min_of_(dxs, ans, xs):
    return dxs[_position_of(xs, ans)]

def _spread(g, xs):
    """The adjoint of ``sum(xs)``: g for every element (a list for lists, broadcast rows for arrays)."""
    if isinstance(xs, (list, tuple)):
        return [g] * len(xs)
    return np.broadcast_to(g, np.shape(xs))

def _sum_tangents(dxs, start=0):
    total = 0.0
    for d in dxs:
        total = total + d
    return total

@adjoint_rule(sum_of, name="sum")
def sum_of_(g, ans, xs, start=0):
    return _spread(g, xs), g

@tangent_rule(sum_of, name="sum", expand=True)
def sum_of_(dxs, dstart, ans, xs, start=0):
    return _sum_tangents(dxs), dstart


overloaded(builtins.max, lambda n, kws: max2 if n == 2 else max_of)
overloaded(builtins.min, lambda n, kws: min2 if n == 2 else min_of)
overloaded(builtins.sum, lambda n, kws: sum_of)
for _reduction in (max_of, min_of, sum_of):
    result_kind(_reduction, "item")       # a number when the sequence holds numbers
for _numeric in (max2, min2, builtins.float, builtins.abs):
    result_kind(_numeric, "operands")     # a number when its operands are numbers

# ---------------------------------------------------------------- sequences: xs * n, xs + ys

def repeat_seq(xs, n):
    """``xs * n`` for a list or tuple."""
    return xs * n

def concat_seq(xs, ys):
    """``xs + ys`` for lists or tuples."""
    return xs + ys

def _sum_repeats(g, xs):
    if isinstance(g, float) and g == 0.0:
        return 0.0
    size = len(xs)
    out = [0.0] * size
    for i, gi in enumerate(g):
        out[i % size] = add_adjoints(out[i % size], gi)
    return out

def _part(g, start, stop):
    if isinstance(g, float) and g == 0.0:
        return 0.0
    return list(g[start:stop])

@adjoint_rule(repeat_seq, name="list repetition")
def repeat_seq_(g, ans, xs, n):
    return _sum_repeats(g, xs)

@tangent_rule(repeat_seq, name="list repetition")
def repeat_seq_(dxs, ans, xs, n):
    return list(dxs) * n

@adjoint_rule(concat_seq, name="list concatenation")
def concat_seq_(g, ans, xs, ys):
    return _part(g, 0, len(xs)), _part(g, len(xs), len(ans))

@tangent_rule(concat_seq, name="list concatenation")
def concat_seq_(dxs, dys, ans, xs, ys):
    return list(dxs) + [0.0] * len(ys), [0.0] * len(xs) + list(dys)

def _sequence_adjoint(g, xs):
    """The adjoint of ``list(xs)`` / ``tuple(xs)``: a list for a sequence, an array for an array's rows."""
    if isinstance(g, float) and g == 0.0:
        return 0.0
    if isinstance(xs, np.ndarray):
        return np.array([np.broadcast_to(gi, np.shape(xs)[1:]) for gi in g])
    return list(g)

@adjoint_rule(builtins.list, name="list")
def list_(g, ans, iterable):
    return _sequence_adjoint(g, iterable)

@tangent_rule(builtins.list, name="list")
def list_(diterable, ans, iterable):
    return list(diterable)

alias(builtins.tuple, builtins.list, name="tuple")
# a list of the items (an array's rows): not an array, whose adjoint is added with + (a list's is added item by item)
result_kind(builtins.list, "items")
result_kind(builtins.tuple, "items")

# ---------------------------------------------------------------- order: sorted, reversed
# A permutation of the items: differentiable in the items; where they go (the key, the comparisons) is not.

def _order(xs, key, reverse):
    """The positions in ``xs`` of the items of ``sorted(xs, key=key, reverse=reverse)`` (as stable as sorted)."""
    items = list(xs)
    by = (lambda i: items[i]) if key is None else (lambda i: key(items[i]))
    return builtins.sorted(range(len(items)), key=by, reverse=reverse)

def _unsort(g, xs, key=None, reverse=False):
    """The adjoint of ``sorted(xs, ...)``: item ``k`` of ``g`` goes back to where the k-th smallest came from."""
    if isinstance(g, float) and g == 0.0:
        return 0.0
    out = [0.0] * len(xs)
    for k, i in enumerate(_order(xs, key, reverse)):
        out[i] = add_adjoints(out[i], g[k])
    return np.array(out) if isinstance(xs, np.ndarray) else out

def _sorted_tangent(dxs, xs, key=None, reverse=False):
    return [dxs[i] for i in _order(xs, key, reverse)]

@adjoint_rule(builtins.sorted)
def sorted_(g, ans, iterable, key=None, reverse=False):
    """Tied items keep their order (sorted is stable); the key is not differentiated."""
    return _unsort(g, iterable, key, reverse)

@tangent_rule(builtins.sorted)
def sorted_(diterable, ans, iterable, key=None, reverse=False):
    return _sorted_tangent(diterable, iterable, key, reverse)

@batched_tangent_rule(builtins.sorted, lists=True)
def sorted_(diterable, ans, iterable, key=None, reverse=False):
    return _sorted_tangent(diterable.T if isinstance(diterable, np.ndarray) else diterable, iterable, key, reverse)

@tangent_rule(_unsort)
def _unsort_tangent(dg, dxs, ans, g, xs, key=None, reverse=False):
    return _unsort(dg, xs, key, reverse), None

nondifferentiable(_order)
result_kind(builtins.sorted, "items")   # a list of the items: numbers when the sequence holds numbers


def reversed_seq(seq):
    """``reversed(seq)`` as a sequence that can be read more than once (the sweeps read it again):
    ``seq[::-1]`` for a list, tuple or array (a view of the array), a list otherwise."""
    if isinstance(seq, (list, tuple, np.ndarray, range, str)):
        return seq[::-1]
    return list(builtins.reversed(seq))

def _backwards(g):
    """The adjoint (or tangent) of ``reversed_seq``: ``g`` read backwards; the zero ``0.0`` stays."""
    if isinstance(g, float) and g == 0.0:
        return 0.0
    return g[::-1]

@adjoint_rule(reversed_seq, name="reversed")
def reversed_seq_(g, ans, seq):
    return _backwards(g)

@tangent_rule(reversed_seq, name="reversed")
def reversed_seq_(dseq, ans, seq):
    return _backwards(dseq)

@batched_tangent_rule(reversed_seq, lists=True)
def reversed_seq_(dseq, ans, seq):
    return dseq[:, ::-1] if isinstance(dseq, np.ndarray) else _backwards(dseq)

@tangent_rule(_backwards)
def _backwards_tangent(dg, ans, g):
    return _backwards(dg)

replaced_by(builtins.reversed, reversed_seq)  # generated code calls reversed_seq where you wrote reversed
returns_view(reversed_seq)
result_kind(reversed_seq, "same")


# ---------------------------------------------------------------- dicts and records
# ``d[k]`` is indexing (below): its adjoint ``add_at`` builds a dict adjoint for a dict.  Normalisation
# writes the other forms as calls of these functions: ``{k: v for ...}`` and ``dict(zip(ks, vs))`` as
# ``make_dict``, ``d.values()`` / ``d.items()`` / ``d.keys()`` as lists, ``d.get(k, default)`` as
# ``dict_get``, and a loop over a dict as a loop over ``keys_of(d)``; a field read ``p.w`` of a NamedTuple or
# dataclass instance is ``getfield`` (analysis tells fields from array attributes by the kind of ``p``).

def make_dict(values, keys):
    """``dict(zip(keys, values))``: a dict comprehension, collected into two lists first."""
    return dict(zip(keys, values))

def values_of(d):
    """``d.values()``, as a list."""
    return list(d.values())

def items_of(d):
    """``d.items()``, as a list of (key, value) pairs."""
    return list(d.items())

def keys_of(d):
    """``d.keys()`` (what a loop over a dict runs over), as a list."""
    return list(d)

def dict_get(d, key, default=None):
    """``d.get(key, default)`` (the key has no derivative)."""
    return d.get(key, default)

def getfield(x, name):
    """``x.name``, a field of a NamedTuple or dataclass instance."""
    return getattr(x, name)

def _entries_adjoint(g, keys):
    """The adjoint of ``make_dict``'s values: each entry's (where a key repeats, the last value is the entry)."""
    if isinstance(g, float) and g == 0.0:
        return 0.0
    last = {key: i for i, key in enumerate(keys)}
    return [take(g, key) if last[key] == i else 0.0 for i, key in enumerate(keys)]

def _values_adjoint(g, d):
    """The adjoint of ``d.values()`` (a list) as the dict's."""
    if isinstance(g, float) and g == 0.0:
        return 0.0
    return dict(zip(d, g))

def _items_adjoint(g, d):
    """The adjoint of ``d.items()`` (a list of (key, value) adjoints) as the dict's."""
    if isinstance(g, float) and g == 0.0:
        return 0.0
    return {key: take(pair, 1) for key, pair in zip(d, g)}

def _items_tangent(dd, d):
    return [(0.0, take(dd, key)) for key in d]

def _values_tangent(dd, d):
    return [take(dd, key) for key in d]

def _dict_adjoint(g, x):
    """The adjoint of ``dict(x)``: a dict's for a dict; for a list of (key, value) pairs, each pair's (the
    last pair of a key holds its entry)."""
    if isinstance(g, float) and g == 0.0:
        return 0.0
    if isinstance(x, dict):
        return dict(g)
    last = {key: i for i, (key, _) in enumerate(x)}
    return [[0.0, take(g, key) if last[key] == i else 0.0] for i, (key, _) in enumerate(x)]

def _dict_tangent(dx, x):
    """The tangent of ``dict(x)`` (see ``_dict_adjoint``)."""
    if isinstance(x, dict):
        return dict(dx) if isinstance(dx, dict) else {key: take(dx, key) for key in x}
    return {key: take(take(dx, i), 1) for i, (key, _) in enumerate(x)}

def _present(g, d, key):
    """The adjoint of ``d`` in ``d.get(key, default)``: ``g`` at ``key`` where d has it."""
    return {key: g} if key in d else 0.0

@adjoint_rule(make_dict, name="dict comprehension")
def make_dict_(g, ans, values, keys):
    """``{k: v for ...}`` and ``dict(zip(keys, values))`` (keys have no derivative)."""
    return _entries_adjoint(g, keys)

@tangent_rule(make_dict, name="dict comprehension")
def make_dict_(dvalues, ans, values, keys):
    return make_dict(dvalues, keys)

@adjoint_rule(values_of, name="dict.values")
def values_of_(g, ans, d):
    """``d.values()``, a list to sct (its adjoint is the dict's)."""
    return _values_adjoint(g, d)

@tangent_rule(values_of, name="dict.values")
def values_of_(dd, ans, d):
    return _values_tangent(dd, d)

@adjoint_rule(builtins.dict, name="dict")
def dict_(g, ans, x):
    """``dict(d)``, a copy, or ``dict(pairs)``; ``dict(a=x, b=y)`` is the display ``{"a": x, "b": y}``."""
    return _dict_adjoint(g, x)

@tangent_rule(builtins.dict, name="dict")
def dict_(dx, ans, x):
    return _dict_tangent(dx, x)

@adjoint_rule(items_of, name="dict.items")
def items_of_(g, ans, d):
    """``d.items()``, a list of (key, value) pairs to sct (keys have no derivative)."""
    return _items_adjoint(g, d)

@tangent_rule(items_of, name="dict.items")
def items_of_(dd, ans, d):
    return _items_tangent(dd, d)

@adjoint_rule(dict_get, name="dict.get")
def dict_get_(g, ans, d, key, default=None):
    """``d.get(key, default)``: the derivative reaches the entry, or the default where there is none."""
    return _present(g, d, key), None, (0.0 if key in d else g)

@tangent_rule(dict_get, name="dict.get")
def dict_get_(dd, dkey, ddefault, ans, d, key, default=None):
    return (take(dd, key) if key in d else 0.0), None, (0.0 if key in d else ddefault)

@adjoint_rule(getfield, name="p.field")
def getfield_(g, ans, x, name, acc):
    """``p.w``, a field of a NamedTuple or dataclass instance (an argument: its gradient is one of its type)."""
    return add_at(acc, x, field_index(x, name), g)

@tangent_rule(getfield, name="p.field")
def getfield_(dx, ans, x, name):
    return field_of(dx, x, name)

# the adjoint helpers above move the adjoint ``g`` linearly: a Hessian (the tangent program of an adjoint
# program) applies them to its tangent
tangent_rule(_entries_adjoint)(lambda dg, ans, g, keys: _entries_adjoint(dg, keys))
tangent_rule(_values_adjoint)(lambda dg, ans, g, d: _values_adjoint(dg, d))
tangent_rule(_items_adjoint)(lambda dg, ans, g, d: _items_adjoint(dg, d))
tangent_rule(_dict_adjoint)(lambda dg, ans, g, x: _dict_adjoint(dg, x))
tangent_rule(_present)(lambda dg, ans, g, d, key: _present(dg, d, key))
for _primal in (make_dict, values_of, items_of, dict_get, getfield, builtins.dict, _entries_adjoint, _values_adjoint,
                _items_adjoint, _dict_adjoint, _present):
    # a dict's (a list's, a record's) batched tangent is a dict (list, record) of batched tangents: the rules
    # above move them as they are
    batched_tangent_rule(_primal, lists=True)(REGISTRY.lookup(_primal).tangent)
method("get", dict_get)
result_kind(make_dict, "dict")
result_kind(values_of, "values")
result_kind(dict_get, "entry")
result_kind(getfield, "entry")
result_kind(builtins.dict, "mapping")
nondifferentiable(keys_of)

# ---------------------------------------------------------------- indexing

@adjoint_rule(operator.getitem, name="indexing")
def getitem(g, ans, x, index, acc):
    return add_at(acc, x, index, g)

@tangent_rule(operator.getitem, name="indexing")
def getitem(dx, ans, x, index):
    return take(dx, index)

@batched_tangent_rule(operator.getitem, lists=True)
def getitem(dx, ans, x, index):
    return take_batched(dx, index)  # dx[:, index] for an array

returns_view(operator.getitem)  # basic indexing (x[1:], x[0] of a matrix, x[...]) gives a view

# ---------------------------------------------------------------- batched tangents
# a tangent times (plus, minus, over) values shaped like the operands: B directions broadcast through

broadcasts(operator.add, operator.sub, operator.mul, operator.truediv, operator.pow, pow_variable, operator.mod,
           operator.neg, operator.pos, builtins.abs, builtins.float, builtins.pow, max2, min2)

# ---------------------------------------------------------------- non-differentiable

nondifferentiable(
    builtins.len, builtins.range, builtins.int, builtins.bool, builtins.round, builtins.isinstance,
    builtins.str, builtins.repr, builtins.type,
    builtins.hash, builtins.id, builtins.callable, builtins.format, builtins.any, builtins.all,
    builtins.hasattr, builtins.slice, builtins.ValueError, builtins.TypeError,
    builtins.ArithmeticError, builtins.RuntimeError, builtins.AssertionError, builtins.ZeroDivisionError,
    operator.floordiv, operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
    operator.not_, operator.invert, operator.and_, operator.or_, operator.xor, operator.is_, operator.is_not,
    operator.contains, operator.lshift, operator.rshift,
    
)

# ---------------------------------------------------------------- effects: printing, logging, warnings
# Called for what they do, not for a value: their arguments may depend on the inputs (they change none).

effect_only(builtins.print, warnings.warn, warnings.warn_explicit, warnings.showwarning,
            logging.debug, logging.info, logging.warning, logging.error, logging.critical, logging.exception,
            logging.log, logging.Logger.debug, logging.Logger.info, logging.Logger.warning, logging.Logger.error,
            logging.Logger.critical, logging.Logger.exception, logging.Logger.log, logging.LoggerAdapter.debug,
            logging.LoggerAdapter.info, logging.LoggerAdapter.warning, logging.LoggerAdapter.error,
            logging.LoggerAdapter.critical, logging.LoggerAdapter.exception, logging.LoggerAdapter.log)
# settings a `with warnings.catch_warnings():` restores on exit: the backward sweep's copy of the block sets them too
effect_only(warnings.simplefilter, warnings.filterwarnings, warnings.resetwarnings, scoped=True)

# ---------------------------------------------------------------- context managers
# `with` blocks under these are differentiated (they change no value); the backward sweep of the block's
# body runs under the same manager.

context_manager(warnings.catch_warnings, contextlib.nullcontext)
context_manager(contextlib.suppress, refused="it changes where control goes (an exception it suppresses skips "
                                             "the rest of the block), which sct does not follow")
