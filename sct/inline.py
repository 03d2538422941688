"""Instantiate a rule: its return expression with the call's operands put in.

Shared by ``forward`` (tangent rules) and ``reverse`` (adjoint rules).  The
rule's free names (``np``, ``math``, ``unbroadcast``) become symbols of the
generated code; where every operand is known to be a number, the broadcasting
helpers ``unbroadcast`` and ``expand`` are dropped; constants are folded so that
``x ** (2 - 1)`` reads ``x``.
"""
from __future__ import annotations

import builtins
import copy
import operator

import gast

from . import runtime
from . import syntax as S
from .analysis import ARRAY, SCALAR, Analysis, Op
from .context import Context
from .rules import REGISTRY


def rule_expression(ctx: Context, analysis: Analysis, op: Op, which: str, index: int,
                    seeds: dict[str, gast.expr], target: str | None) -> gast.expr | None:
    """The contribution of the rule for operand ``index`` (``None``: it has none).

    ``seeds`` maps the rule's seed parameters (``g``, ``acc`` or ``d<param>``) to atoms.
    """
    rule = op.rule
    parsed = rule.expressions(which)
    mapping = dict(seeds)
    # the rule's own names for the seed(s) and the output, by position: (g, ans, ...) or (dx, dy, ans, ...)
    n_seeds = 1 if which == "adjoint" else rule.n_diff
    canonical = ["g"] if which == "adjoint" else [f"d{p}" for p in rule.diff_params]
    for own, standard in zip(parsed.params[:n_seeds], canonical):
        if standard in seeds:
            mapping[own] = seeds[standard]
    if target is not None:
        mapping[parsed.params[n_seeds]] = S.name(target)
    for param in rule.params:
        if param in op.bound:
            mapping[param] = index_value(ctx, op.bound[param])
        else:
            mapping[param] = _default(ctx, rule.defaults.get(param))
    if rule.varargs:
        mapping[rule.varargs] = op.bound.get(rule.varargs, S.tuple_([]))
    if parsed.exprs is None:  # not a single return: call the rule function itself
        args = [mapping.get(p, S.const(None)) for p in parsed.params]
        call = S.call(ctx.symbol(parsed.fn, parsed.fn.__name__), args)
        if rule.n_diff > 1:
            return gast.Subscript(value=call, slice=S.const(index), ctx=gast.Load())
        return call
    expr = parsed.exprs[index]
    if expr is None:
        return None
    # numbers in, a number out: no broadcasting to undo (np.full(3, x) has a number in, an array out)
    scalars = target is not None and analysis.kind(S.name(target)) == SCALAR and \
        all(analysis.kind(a) == SCALAR for p, a in op.bound.items() if p != rule.varargs)
    expr = _resolved(ctx, parsed, index, scalars)
    expr = fold(S.substitute(expr, mapping))
    if which == "adjoint" and not scalars and (rule.kind == "elementwise" or rule.batched == "broadcast"):
        expr = _drop_shaped(ctx, analysis, op, expr)
    expr = _zero_through(expr, ctx.symbols)
    if isinstance(expr, gast.Constant) and expr.value == 0:
        return None  # no contribution
    return expr


def _drop_shaped(ctx: Context, analysis: Analysis, op: Op, expr: gast.expr) -> gast.expr:
    """``unbroadcast(e, x)`` becomes ``e`` where the result is shaped like ``x`` for certain: ``x`` is an array
    or a number, the function elementwise (broadcasting), its other operands all numbers (``x * 2.0``,
    ``1.0 / x``)."""
    operands = [(p, a) for p, a in op.bound.items() if p != op.rule.varargs]
    shaped = {a.id for p, a in operands if isinstance(a, gast.Name) and analysis.kind(a) in (ARRAY, SCALAR)
              and all(analysis.kind(b) == SCALAR for q, b in operands if q != p)}  # (a list: `xs * 2` repeats)
    identity = {name for name, obj in ctx.symbols.items()  # (unbroadcast, expand: shaped like x already)
                if getattr(REGISTRY.helper_info(obj), "scalar_identity", False)}
    return _DropShaped(shaped, identity).visit(expr) if shaped and identity else expr


class _DropShaped(S.Transformer):
    def __init__(self, shaped: set[str], identity: set[str]):
        self.shaped, self.identity = shaped, identity

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, gast.Name) and node.func.id in self.identity and len(node.args) == 2 \
                and isinstance(node.args[1], gast.Name) and node.args[1].id in self.shaped:
            return node.args[0]
        return node


def _zero_through(expr: gast.expr, symbols: dict) -> gast.expr:
    """``unbroadcast(0.0, x)`` (a call of a helper declared linear, ``symbols`` binding its name) and ``-0.0``
    are zero too."""
    return _Zero(symbols).visit(expr)


class _Zero(S.Transformer):
    def __init__(self, symbols: dict):
        self.symbols = symbols

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, gast.Name) and node.args and isinstance(node.args[0], gast.Constant) \
                and node.args[0].value == 0 and node.func.id in self.symbols \
                and getattr(REGISTRY.helper_info(self.symbols[node.func.id]), "linear", False):
            return S.const(0.0)
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.USub) and isinstance(node.operand, gast.Constant) and node.operand.value == 0:
            return S.const(0.0)
        return node


def float_guard(ctx: Context, analysis: Analysis, stmt: gast.Assign) -> list[gast.stmt]:
    """``stored_float(a, where)`` before ``a[i] = v`` where v depends on the inputs: an integer array would
    truncate it (refused when the program runs).  For both modes' programs."""
    if not analysis.is_active(stmt.value):
        return []
    where = S.const(str(ctx.parsed.location(S.locate(stmt))))
    base = S.name(stmt.targets[0].value.id)
    return [S.expr_stmt(S.call(ctx.symbol(runtime.stored_float, "stored_float"), [base, where]))]


def index_value(ctx: Context, index: gast.expr) -> gast.expr:
    """An index as a value: ``x[:, 0]``'s index is ``np.s_[:, 0]`` (plain ``i`` stays ``i``)."""
    if isinstance(index, (gast.Name, gast.Constant)):  # (most operands: nothing to search)
        return S.clone(index)
    if any(isinstance(n, gast.Slice) for n in S.walk(index)):
        import numpy
        return gast.Subscript(value=S.attr(ctx.symbol(numpy, "np"), "s_"), slice=S.clone(index), ctx=gast.Load())
    return S.clone(index)


def _default(ctx: Context, value) -> gast.expr:
    if value is None or isinstance(value, (bool, int, float, str)):
        return S.const(value)
    if isinstance(value, tuple) and all(isinstance(v, (bool, int, float, str, type(None))) for v in value):
        return S.tuple_(S.const(v) for v in value)
    return ctx.symbol(value, "default")


def _resolved(ctx: Context, parsed, index: int, scalars: bool) -> gast.expr:
    """Expression ``index`` of a parsed rule with its free names bound (:func:`_resolve_globals`), made once
    per transformation: binding gives the same symbols every time (the first time registers them)."""
    key = (id(parsed), index, scalars)
    entry = ctx.resolved_rules.get(key)
    if entry is None or entry[0] is not parsed:
        expr = _resolve_globals(ctx, parsed.exprs[index], parsed.globals, set(parsed.params), scalars)
        entry = ctx.resolved_rules[key] = (parsed, expr)
    return entry[1]  # (shared: callers copy it, by substitution)


def _resolve_globals(ctx: Context, expr: gast.expr, module_globals: dict, params: set[str],
                     scalars: bool) -> gast.expr:
    """Bind the rule's free names to symbols of the generated code; drop broadcasting if scalar."""
    resolver = _Resolve(ctx, module_globals, params)
    expr = S.clone(expr)
    if scalars:
        expr = _Drop(resolver).visit(expr)
    return resolver.visit(expr)


class _Resolve(S.Transformer):
    """A rule's free names become symbols of the generated code."""

    def __init__(self, ctx: Context, module_globals: dict, params: set[str]):
        self.ctx, self.module_globals, self.params = ctx, module_globals, params

    def lookup(self, name: str):
        if name in self.module_globals:
            return self.module_globals[name]
        return getattr(builtins, name)

    def visit_Name(self, node):
        if isinstance(node.ctx, gast.Load) and node.id not in self.params:
            return self.ctx.symbol(self.lookup(node.id), node.id)
        return node


class _Drop(S.Transformer):
    """``unbroadcast(e, x)`` and ``expand(e, x)`` become ``e`` (numbers only)."""

    def __init__(self, resolver: _Resolve):
        self.resolver = resolver

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, gast.Name) and func.id not in self.resolver.params \
                and getattr(REGISTRY.helper_info(self.resolver.lookup(func.id)), "scalar_identity", False):
            return node.args[0]
        return node


_FOLD = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul, gast.Div: operator.truediv,
         gast.Pow: operator.pow}


def fold(expr: gast.expr) -> gast.expr:
    """Fold constant arithmetic and drop multiplications by one: readable generated code."""
    return _Fold().visit(expr)


def _boolean(expr: gast.expr) -> bool:
    """A comparison or logical expression: ``1.0 * (x < y)`` is a number, ``x < y`` a bool, which NumPy
    does not negate (``-(x < y)`` raises) -- so a multiplication by one is kept there."""
    return isinstance(expr, (gast.Compare, gast.BoolOp)) or \
        (isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.Not))


class _Fold(S.Transformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right = node.left, node.right
        lc = isinstance(left, gast.Constant) and type(left.value) in (int, float)
        rc = isinstance(right, gast.Constant) and type(right.value) in (int, float)
        if lc and rc and type(node.op) in _FOLD:
            try:
                return S.const(_FOLD[type(node.op)](left.value, right.value))
            except (ZeroDivisionError, OverflowError):
                return node
        if isinstance(node.op, gast.Mult) and ((lc and left.value == 0) or (rc and right.value == 0)):
            return S.const(0.0)  # a structural zero: d(x**0)/dx, whatever x ** -1 would be
        if rc and right.value == 1 and isinstance(node.op, (gast.Mult, gast.Div, gast.Pow)) and not _boolean(left):
            return left
        if isinstance(node.op, (gast.Mult, gast.Div)) and isinstance(left, gast.UnaryOp) \
                and isinstance(left.op, gast.USub):  # (-a) * b reads -(a * b): x̄ - a * b after accumulation
            return gast.UnaryOp(op=gast.USub(), operand=S.binop(left.operand, node.op, right))
        if lc and left.value == 1 and isinstance(node.op, gast.Mult) and not _boolean(right):
            return right
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.USub) and isinstance(node.operand, gast.Constant) \
                and type(node.operand.value) in (int, float):
            return S.const(-node.operand.value)
        return node
