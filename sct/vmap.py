"""Pass 5c — vmap: the vectorised program, a function written for one example run on B at once.

Input: the normalized body, its :class:`~sct.analysis.Analysis` (run with the
per-example kinds), and the parameters that are *batched* (hold one value per
example on a leading axis).  Output: the body of ``f_vmap(<f's parameters>)``,
in which every value that depends on a batched parameter is batched too, and
every other value is shared by the examples, as it was.

Each statement reading a batched value becomes its batched form:

* an elementwise operation (``+``, ``*``, ``np.sin``, a comparison, ...): its
  batched operands get unit axes after the batch axis so that the examples line
  up (``w * t2`` with ``w`` a number and ``t2`` a vector per example reads
  ``align_batched(w, t2) * align_batched(t2, w)``: ``(B, 1) * (B, 2)``);
* a reduction (``np.sum``, ``np.mean``, ``np.prod``, ``np.max``, ``np.min``, ``np.var``, ``np.std``): its
  ``axis`` shifted past the batch axis (``batch_axes(None, x)``: every axis of an
  example; ``vsum(x, axis=...)`` for a sum);
* basic indexing with a shared index: ``x[:, 0:3]``; ``x.T`` and ``np.transpose`` of each example;
* ``np.dot`` and ``np.cross``: ``vdot``/``vcross``, the product of each example;
* a call of another function of yours: its vmapped program (batched in the
  parameters the call passes batched values to);
* ``if`` on a batched test: each side runs on the examples that take it
  (``rows, rest = branch_rows(test, nb)``; ``x_1 = x[rows]``), and the results
  are put back in order (``merge_rows``).  Neither side runs on an example that
  does not take it, so a side that divides by zero, or raises, for those examples
  (``rot / theta`` when ``theta == 0``) does not touch the result, nor its
  derivatives.

Anything else that reads a batched value — a loop over batched values, an
in-place write, an effect, another library function — is refused with a located
:class:`~sct.errors.VmapError`.  The program always returns a batched value.
"""
from __future__ import annotations

import builtins
import operator

import gast
import numpy as np

from . import syntax as S
from .analysis import Analysis, call_kinds
from .context import Context
from .errors import VmapError
from .runtime import vmapped as V

# reductions whose ``axis`` argument shifts past the batch axis (``keepdims`` works as it is)
_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std}
# Python operators that work elementwise on arrays (the builtins float, max, min, ... do not)
_OPERATORS = {operator.add, operator.sub, operator.mul, operator.truediv, operator.pow, operator.mod,
              operator.neg, operator.pos, builtins.abs}
_SELECTIONS = {np.where, np.clip}  # elementwise over all their (broadcast) arguments, not ufuncs
_COMPARISONS = (gast.Eq, gast.NotEq, gast.Lt, gast.LtE, gast.Gt, gast.GtE)


class Vmap:
    """Writes the vmapped body; ``derive(callee, mode, batched params, kinds, where)`` gives the symbol of
    another function's vmapped program (as for the derivative passes)."""

    def __init__(self, ctx: Context, analysis: Analysis, derive):
        self.ctx = ctx
        self.an = analysis
        self.derive = derive

    def run(self, body: list[gast.stmt], batched: list[str], params: list[str]) -> list[gast.stmt]:
        nb = self.ctx.namer.fresh("nb")
        size = S.assign(nb, S.call(self.symbol(V.vmap_size), [S.name(p) for p in batched]))
        out, _, _ = self.block(body, set(batched), nb, set(params), set())
        return [S.with_origin(size, self.ctx.parsed.node)] + out

    # ---------------------------------------------------------------- statements

    def block(self, stmts, batched: set, nb: str, defined: set, live: set):
        """The statements' vmapped form, and the batched and defined names after them (``live``: the names
        read after the block)."""
        out = []
        later = [set(live)]
        for stmt in reversed(stmts[1:]):
            later.append(later[-1] | S.loads(stmt))
        for stmt, after in zip(stmts, reversed(later)):
            origin = S.origin_of(stmt)
            made, batched, defined = self.statement(stmt, batched, nb, defined, after)
            out.extend(S.with_origin(m, origin) for m in made)
        return out, batched, defined

    def statement(self, stmt, batched: set, nb: str, defined: set, live: set):
        if isinstance(stmt, gast.If):
            if isinstance(stmt.test, gast.Name) and stmt.test.id in batched:
                return self.branches(stmt, batched, nb, defined, live)
            return self.shared_if(stmt, batched, nb, defined, live)
        if isinstance(stmt, gast.Return):
            value = stmt.value
            if value is None or isinstance(value, gast.Name) and value.id in batched:
                return [stmt], batched, defined
            if value is not None and S.loads(value) & batched:
                self.refuse(stmt, "sct.vmap returns one batched array: this function returns a container of "
                                  "batched values", "return a single array (np.stack the values)")
            return [S.ret(S.call(self.symbol(V.to_batch), [value, S.name(nb)]))], batched, defined
        reads = S.loads(stmt) & batched
        if isinstance(stmt, (gast.For, gast.While, gast.With)):
            what = "a loop" if not isinstance(stmt, gast.With) else "a with block"
            if reads or S.stores(stmt) & batched:
                self.refuse(stmt, f"sct.vmap does not vectorise {what} that reads or writes batched values",
                            "write the loop's work on arrays, or call sct.vmap on the loop body's function")
            if any(isinstance(n, gast.Return) for n in S.walk(stmt)):  # (its value would not be batched)
                self.refuse(stmt, f"sct.vmap: a return inside {what}", "return after it")
            return [stmt], batched, defined | S.stores(stmt)
        if isinstance(stmt, gast.Assign):
            return self.assignment(stmt, batched, nb, defined)
        if reads or isinstance(stmt, gast.Expr) and not _is_comment(stmt):
            self.refuse(stmt, "sct.vmap does not run statements with effects (print, assert, ...): they would "
                              "run once, not once per example", None)
        return [stmt], batched, defined

    def assignment(self, stmt, batched: set, nb: str, defined: set):
        target = stmt.targets[0]
        reads = S.loads(stmt) & batched
        if not isinstance(target, gast.Name):
            if reads:
                self.refuse(stmt, "sct.vmap does not vectorise a write into part of a batched value "
                                  "(x[i] = ..., x.attr = ...)", "build the value with np.stack or np.where")
            return [stmt], batched, defined
        name = target.id
        if not S.loads(stmt.value) & batched:
            return [stmt], batched - {name}, defined | {name}
        value = self.batched_value(stmt, batched)
        return [S.assign(name, value)], batched | {name}, defined | {name}

    def batched_value(self, stmt, batched: set) -> gast.expr:
        """The right-hand side of ``stmt`` computed for every example."""
        value = stmt.value
        op = self.an.ops.get(id(stmt))
        kind = op.kind if op is not None else "unknown"
        if isinstance(value, gast.Name) or kind == "copy":
            return value
        if isinstance(value, gast.Compare):
            if len(value.ops) != 1:
                self.refuse(stmt, "sct.vmap: a chained comparison of batched values", "compare two at a time")
            if not isinstance(value.ops[0], _COMPARISONS):
                self.refuse(stmt, "sct.vmap: `is` or `in` with a batched value", None)
            return self.aligned(value, [value.left, value.comparators[0]], batched)
        if isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.Not):
            self.refuse(stmt, "sct.vmap: `not` of a batched value", "use np.logical_not")
        if kind == "call":
            return self.user_call(stmt, op, batched)
        if kind == "rule" or kind == "nondiff" and isinstance(value, gast.Call):
            return self.rule_value(stmt, op, batched)
        self.refuse(stmt, f"sct.vmap has no batched form of {op.label if op is not None and op.label else 'this'}",
                    None)

    def rule_value(self, stmt, op, batched: set) -> gast.expr:
        value = stmt.value
        primal = op.rule.primal if op.rule is not None else op.callee
        label = op.rule.name if op.rule is not None else op.label
        if isinstance(value, gast.Subscript):
            if S.loads(value.slice) & batched:
                self.refuse(stmt, "sct.vmap: an index that differs from example to example",
                            "index with values shared by every example")
            if not (isinstance(value.value, gast.Name) and value.value.id in batched):
                self.refuse(stmt, "sct.vmap: indexing of a batched value", None)
            return self.shifted_index(value)
        if isinstance(value, gast.BinOp) and isinstance(value.op, gast.MatMult):
            self.refuse(stmt, "sct.vmap: `@` of batched values (a matrix product of each example)",
                        "use np.dot, which sct.vmap batches for numbers, vectors and matrices")
        if isinstance(value, (gast.BinOp, gast.UnaryOp)) or self.elementwise(op, primal):
            operands = [value.left, value.right] if isinstance(value, gast.BinOp) else \
                [value.operand] if isinstance(value, gast.UnaryOp) else list(value.args)
            if isinstance(value, gast.Call) and (value.keywords or any(isinstance(a, gast.Starred)
                                                                       for a in value.args)):
                self.refuse(stmt, f"sct.vmap: {label} with keyword or starred arguments", None)
            return self.aligned(value, operands, batched)
        if primal in _REDUCTIONS and isinstance(value, gast.Call):
            return self.reduction(stmt, op, batched)
        transposed = self.transposed(stmt, value, primal, batched)
        if transposed is not None:
            return transposed
        if primal in (np.dot, np.cross) and isinstance(value, gast.Call) and len(value.args) == 2 \
                and not value.keywords:
            helper = V.vdot if primal is np.dot else V.vcross
            flags = [S.const(isinstance(a, gast.Name) and a.id in batched) for a in value.args]
            return S.call(self.symbol(helper), list(value.args) + flags)
        if getattr(primal, "__module__", None) == "math":
            self.refuse(stmt, f"sct.vmap: {label} of a batched value (math functions take one number)",
                        f"use np.{getattr(primal, '__name__', 'the NumPy function')}, which works elementwise")
        self.refuse(stmt, f"sct.vmap has no batched form of {label}",
                    "sct.vmap batches elementwise operations, reductions (sum, mean, prod, max, min, var, std), "
                    "basic indexing, np.dot, np.cross and calls of your functions")

    @staticmethod
    def elementwise(op, primal) -> bool:
        """An operation applied to each element of its (broadcast) operands: declared elementwise (or
        batching by broadcasting) and NumPy's, or a Python operator that is elementwise on arrays."""
        if primal in _OPERATORS or primal in _SELECTIONS or isinstance(primal, np.ufunc):
            return True
        rule = op.rule
        return rule is not None and (rule.kind == "elementwise" or rule.batched == "broadcast") and \
            (getattr(primal, "__module__", "") or "").startswith("numpy") and primal not in _REDUCTIONS

    def aligned(self, value: gast.expr, operands: list, batched: set) -> gast.expr:
        """``value`` with each batched operand given the per-example axes of the others (any operand but a
        number written in the code: a shared array, a module's constant, another batched value)."""
        others = [a for a in operands if not (isinstance(a, gast.Constant) and np.ndim(a.value) == 0)]
        mapping = {}
        for a in operands:
            if not (isinstance(a, gast.Name) and a.id in batched) or a.id in mapping:
                continue
            wrapped = S.name(a.id)
            for other in others:
                if isinstance(other, gast.Name) and other.id == a.id:
                    continue
                shared = not (isinstance(other, gast.Name) and other.id in batched)
                helper = V.align if shared else V.align_batched
                wrapped = S.call(self.symbol(helper), [wrapped, S.clone(other)])
            mapping[a.id] = wrapped
        return S.substitute(S.clone(value), mapping) if mapping else value

    def shifted_index(self, value: gast.Subscript) -> gast.expr:
        """``x[i]`` of every example: ``x[:, i]``."""
        index = value.slice
        every = gast.Slice(lower=None, upper=None, step=None)
        elts = [every] + (list(index.elts) if isinstance(index, gast.Tuple) else [index])
        return gast.Subscript(value=value.value, slice=gast.Tuple(elts=elts, ctx=gast.Load()), ctx=gast.Load())

    def reduction(self, stmt, op, batched: set) -> gast.expr:
        value = stmt.value
        first = value.args[0] if value.args else None
        if not (isinstance(first, gast.Name) and first.id in batched) or \
                S.loads(gast.Tuple(elts=list(value.args[1:]) + [k.value for k in value.keywords],
                                   ctx=gast.Load())) & batched:
            self.refuse(stmt, f"sct.vmap: {op.rule.name} of a batched array with batched options", None)
        axis = op.bound.get("axis", S.const(None))
        keywords = {k.arg: k.value for k in value.keywords if k.arg != "axis"}
        for p, atom in zip(op.rule.params[1:], value.args[1:]):  # positional options as keywords
            if p != "axis":
                keywords[p] = atom
        if op.rule.primal is np.sum and set(keywords) <= {"keepdims"}:  # (a faster sum over an example's axes)
            return S.call(self.symbol(V.vsum), [first], {"axis": S.clone(axis), **keywords})
        keywords["axis"] = S.call(self.symbol(V.batch_axes), [S.clone(axis), S.name(first.id)])
        return S.call(value.func, [first], keywords)

    def transposed(self, stmt, value, primal, batched: set) -> gast.expr | None:
        """``x.T`` and ``np.transpose(x[, axes])`` of each example: the batch axis stays first (None: another
        operation)."""
        if isinstance(value, gast.Attribute) and value.attr == "T":
            x, axes, func = value.value, S.const(None), self.symbol(np.transpose)
        elif primal is np.transpose and isinstance(value, gast.Call) and not value.keywords and \
                1 <= len(value.args) <= 2:
            x, axes, func = value.args[0], value.args[1] if len(value.args) == 2 else S.const(None), value.func
        else:
            return None
        if not (isinstance(x, gast.Name) and x.id in batched) or S.loads(axes) & batched:
            self.refuse(stmt, "sct.vmap: a transpose with batched axes", None)
        axes = S.call(self.symbol(V.batch_transpose), [S.clone(axes), S.name(x.id)])
        return S.call(S.clone(func), [S.name(x.id), axes])

    def user_call(self, stmt, op, batched: set) -> gast.expr:
        """``y = g(a, b)`` with ``a`` batched calls g's vmapped program (batched in g's parameter for ``a``)."""
        value = stmt.value
        if op.passed or any(isinstance(a, gast.Starred) for a in value.args):
            self.refuse(stmt, "sct.vmap: a call passing *args or **kwargs with batched values", None)
        params = [p for p, a in op.bound.items() if isinstance(a, gast.Name) and a.id in batched]
        kinds = call_kinds(self.ctx, self.an, op)
        fn, _ = self.derive(op.callee, "vmap", params, kinds, stmt)
        made = S.call(fn, list(value.args))
        made.keywords = list(value.keywords)
        return made

    # ---------------------------------------------------------------- branches

    def shared_if(self, stmt, batched: set, nb: str, defined: set, live: set):
        """``if`` on a test shared by the examples: both sides vmapped; a name batched after one side and
        not the other is made batched on that other side, so it is one or the other whichever runs."""
        body, b1, d1 = self.block(stmt.body, set(batched), nb, set(defined), live)
        orelse, b2, d2 = self.block(stmt.orelse, set(batched), nb, set(defined), live)
        ends1, ends2 = _returns(stmt.body), _returns(stmt.orelse)
        made = S.if_(stmt.test, body, orelse)
        if ends1 and ends2:  # (what follows does not run)
            return [made], set(), set()
        if ends1 or ends2:  # what follows runs after the other side only
            return ([made],) + ((b2, d2) if ends1 else (b1, d1))
        for names, side, defs in ((b1 - b2, orelse, d2), (b2 - b1, body, d1)):
            for n in sorted(names & defs):
                side.append(S.assign(n, S.call(self.symbol(V.to_batch), [S.name(n), S.name(nb)])))
        return [made], b1 | b2, d1 & d2

    def branches(self, stmt, batched: set, nb: str, defined: set, live: set):
        """``if`` on a batched test: each side on the examples taking it, the results merged in order.  Where
        both sides end in ``return`` (directly or in branches of their own), the returns assign one result,
        merged like any other name, and returned after the merge."""
        sides = (stmt.body, stmt.orelse)
        ends = [_returns(side) for side in sides]
        if ends[0] != ends[1]:
            self.refuse(stmt, "sct.vmap: a branch on a batched test where one side returns and the other "
                              "does not", "return from both sides, or from neither")
        result = self.ctx.namer.fresh("result") if ends[0] else None
        if result is not None:
            for side in sides:
                _assign_returns(side, result)
        for side in sides:
            for inner in _statements(side):  # (each side runs once, on its examples, even on none of them)
                if not isinstance(inner, (gast.Assign, gast.If)) and not _is_comment(inner):
                    self.refuse(inner, "sct.vmap: a branch on a batched test may hold assignments, other "
                                       "branches and returns that end both sides", None)
        namer = self.ctx.namer
        rows, rest = namer.fresh("rows"), namer.fresh("rest")
        split = S.call(self.symbol(V.branch_rows), [S.name(stmt.test.id), S.name(nb)])
        out = [S.assign(S.tuple_([S.store(rows), S.store(rest)], gast.Store), split)]
        assigned = set().union(*(S.stores(s) for side in sides for s in side)) if any(sides) else set()
        results = []
        for side, which, label in zip(sides, (rows, rest), ("then", "else")):
            made, finals = self.side(side, which, label, batched, defined, assigned, live | {result} - {None})
            out.extend(made)
            results.append(finals)
        names = sorted(n for n in assigned if n in results[0] and n in results[1])
        unmerged = sorted((assigned - set(names)) & live)
        if unmerged:
            self.refuse(stmt, f"sct.vmap: {', '.join(unmerged)} is assigned on one side of a branch on a batched "
                              f"test and read after it, but has no value on the other side", None)
        where = S.const(str(self.ctx.parsed.location(S.locate(stmt))))
        for n in names:
            merged = S.call(self.symbol(V.merge_rows), [S.name(results[0][n]), S.name(results[1][n]),
                                                        S.name(rows), S.name(rest), where])
            out.append(S.assign(n, merged))
        after_b, after_d = batched | set(names), defined | set(names)
        after_b -= {n for n in assigned if n not in names}  # (defined on one side only: not read after)
        after_d -= {n for n in assigned if n not in names}
        if result is not None:
            out.append(S.ret(S.name(result)))
        return out, after_b, after_d

    def side(self, stmts, rows: str, label: str, batched: set, defined: set, assigned: set, live: set):
        """One side of a batched branch on its examples ``rows``: the batched names it reads gathered
        (``x_then = x[rows]``), every name it uses renamed, its statements vmapped; and the batched name
        holding each assigned name's value on these examples."""
        namer, ctx = self.ctx.namer, self.ctx
        nb = namer.fresh("nb")
        out = [S.assign(nb, S.call(self.symbol(V.count_rows), [S.name(rows)]))]
        used = set().union(*(S.loads(s) | S.stores(s) for s in stmts)) if stmts else set()
        mapping = {}
        for n in sorted((used | assigned) & (batched | assigned)):
            fresh = mapping[n] = namer.fresh(f"{n}_{label}")
            ctx.locals.add(fresh)
            if n in self.an.kinds:
                self.an.kinds[fresh] = self.an.kinds[n]
            if n in batched and n in defined:
                out.append(S.assign(fresh, gast.Subscript(value=S.name(n), slice=S.name(rows), ctx=gast.Load())))
            elif n in defined:
                out.append(S.assign(fresh, S.name(n)))
        for s in stmts:
            _rename(s, mapping)
        inner_b = {mapping[n] for n in batched if n in mapping}
        inner_d = {mapping.get(n, n) for n in defined}
        made, inner_b, inner_d = self.block(stmts, inner_b, nb, inner_d, {mapping.get(n, n) for n in live})
        out.extend(made)
        finals = {}
        for n in sorted(assigned):
            held = mapping[n]
            if held not in inner_d:
                continue
            if held not in inner_b:
                out.append(S.assign(held, S.call(self.symbol(V.to_batch), [S.name(held), S.name(nb)])))
            finals[n] = held
        if not any(isinstance(m, gast.Assign) and S.stores(m) != {nb} and nb in S.loads(m) for m in out):
            out.pop(0)  # (nb unused)
        return out, finals

    # ---------------------------------------------------------------- helpers

    def symbol(self, fn) -> gast.Name:
        return self.ctx.symbol(fn, fn.__name__)

    def refuse(self, stmt, message: str, hint: str | None):
        raise VmapError(message, self.ctx.parsed.location(S.locate(stmt)), hint=hint)


def _statements(stmts):
    """Every statement in ``stmts``, those inside ``if`` blocks too."""
    for stmt in stmts:
        yield stmt
        if isinstance(stmt, gast.If):
            yield from _statements(stmt.body)
            yield from _statements(stmt.orelse)


def _is_comment(stmt) -> bool:
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)


def _returns(stmts) -> bool:
    """Does every path through ``stmts`` end in a ``return`` (the last statement, or a last ``if`` whose
    sides both do)?"""
    if not stmts:
        return False
    last = stmts[-1]
    return isinstance(last, gast.Return) or isinstance(last, gast.If) and _returns(last.body) and \
        _returns(last.orelse)


def _assign_returns(stmts, result: str) -> None:
    """The returns ending ``stmts`` (see ``_returns``) as assignments to ``result``, in place."""
    last = stmts[-1]
    if isinstance(last, gast.Return):
        value = last.value if last.value is not None else S.const(None)
        stmts[-1] = S.with_origin(S.assign(result, value), S.origin_of(last) or last)
    else:
        _assign_returns(last.body, result)
        _assign_returns(last.orelse, result)


def _rename(node, mapping: dict) -> None:
    """Rename the names in ``mapping`` in place (loads and stores): the analysis keeps its ops by node."""
    for sub in S.walk(node):
        if isinstance(sub, gast.Name) and sub.id in mapping:
            sub.id = mapping[sub.id]
