"""Pass 5a — forward: the tangent (dual) program.

Input: the normalized body and its :class:`~sct.analysis.Analysis`.  Output: the
body of ``f_jvp(<f's parameters>, *, dx...)`` — each primal statement followed by
the statement computing its tangent, as in the lecture's dual program::

    t1 = x1 * x2
    dt1 = dx1 * x2 + x1 * dx2

``return v`` becomes ``return v, dv``.  A call to another user function calls
that function's own tangent program, which returns value and tangent together.

:class:`BatchedForward` writes the batched variant (``f_jvp_batched``): every
tangent has a leading axis of ``nb`` directions, and each rule batches as the
registry declares (see ``Rule.batched``).
"""
from __future__ import annotations

import gast

from . import runtime
from .runtime import batched as B
from . import syntax as S
from .analysis import ANY, ARRAY, SCALAR, Analysis, Op, call_kinds, refuse_unused_result
from .context import Context, param_names
from .errors import NoRuleError, NotBatchable
from .inline import float_guard, rule_expression


class Forward:
    mode = "forward"  # the program a called user function contributes (its own tangent program)

    def __init__(self, ctx: Context, analysis: Analysis, derive):
        self.ctx = ctx
        self.an = analysis
        self.derive = derive  # (callee, mode, wrt names, kinds) -> symbol Name of its derivative
        self.written = {op.target for op in analysis.ops.values() if op.kind in ("store", "append")}

    def d(self, name: str) -> str:
        return self.ctx.namer.tangent(name)

    def tangent_of(self, atom: gast.expr) -> gast.expr:
        """The tangent of an operand: its ``d`` name if active, else a zero of its shape."""
        if self.an.is_active(atom):
            return S.name(self.d(atom.id))
        return self.zero_like(atom)

    def zero_like(self, atom: gast.expr) -> gast.expr:
        if self.an.kind(atom) == SCALAR or isinstance(atom, gast.Constant):
            return S.const(0.0)
        return S.call(self.ctx.symbol(runtime.zeros_like, "zeros_like"), [S.clone(atom)])

    def parameter_tangents(self, wrt) -> list[gast.stmt]:
        """``dy = 0.0`` for a parameter outside ``wrt`` that the body rebinds to an active value
        (``y = y * x``): its first value has a zero tangent, which the rebinding reads."""
        out = []
        for p in param_names(self.ctx.parsed.node):
            if p in self.an.active and p not in wrt:
                zero = S.assign(self.d(p), self.zero_like(S.name(p)))
                out.append(S.with_origin(zero, self.ctx.parsed.node))
        return out

    def block(self, stmts: list[gast.stmt]) -> list[gast.stmt]:
        out = []
        for stmt in stmts:
            out.extend(self.statement(stmt))
        return out

    def statement(self, stmt: gast.stmt) -> list[gast.stmt]:
        origin = S.origin_of(stmt)
        tag = lambda nodes: [S.with_origin(n, origin) for n in nodes]
        if isinstance(stmt, gast.If):
            return tag([S.if_(stmt.test, self.block(stmt.body), self.block(stmt.orelse))])
        if isinstance(stmt, gast.For):
            return tag([S.for_(stmt.target, stmt.iter, self.block(stmt.body))])
        if isinstance(stmt, gast.While):
            return tag([gast.While(test=stmt.test, body=self.block(stmt.body), orelse=[])])
        if isinstance(stmt, gast.With):  # the tangent statements inside the block, under the same manager
            return tag([gast.With(items=stmt.items, body=self.block(stmt.body), type_comment=None)])
        if isinstance(stmt, gast.Return):
            return tag([S.ret(S.tuple_([stmt.value, self.tangent_of(stmt.value)]))])
        if isinstance(stmt, (gast.Assign, gast.Expr)):
            return tag(self.assignment(stmt))
        return tag([stmt])

    def assignment(self, stmt) -> list[gast.stmt]:
        op = self.an.op(stmt)
        if op.kind == "store":
            return float_guard(self.ctx, self.an, stmt) + [stmt] + self.store(stmt, op)
        if op.kind == "append":
            if op.target not in self.an.active:
                return [stmt]
            value = stmt.value.args[0]
            push = S.call(S.attr(S.name(self.d(op.target)), "append"), [self.tangent_of(value)])
            return [stmt, S.expr_stmt(push)]
        if op.kind == "pop" and op.target is None:  # xs.pop() undoing an append: mirrored on the tangents
            source = op.operands[0][1]
            if not self.an.is_active(source):
                return [stmt]
            return [stmt, S.expr_stmt(S.call(S.attr(S.name(self.d(source.id)), "pop")))]
        if op.target is None:
            refuse_unused_result(self.ctx, self.an, stmt, op)
            return [stmt]
        if op.kind == "pop" and op.target not in self.an.active and self.an.is_active(op.operands[0][1]):
            # x = xs.pop() with x unused here: the tangent list still loses its last entry (a record's tape,
            # which another program filled, stays in step with its tangents)
            return [stmt, S.expr_stmt(S.call(S.attr(S.name(self.d(op.operands[0][1].id)), "pop")))]
        if op.target not in self.an.active:
            return [stmt]
        if op.kind == "call" and any(self.an.is_active(a) for _, a in op.operands):
            call = self.user_call(stmt, op)
            if op.target not in self.written:
                return [call]
            # (the callee's tangent may be read-only, expand's broadcast, or shared: a copy is written into)
            own = S.call(self.ctx.symbol(runtime.snapshot, "snapshot"), [S.name(self.d(op.target))])
            return [call, S.assign(self.d(op.target), own)]
        if op.kind == "pop":  # x = xs.pop() mirrored on the tangent list
            source = op.operands[0][1]
            if not self.an.is_active(source):
                return [stmt, S.assign(self.d(op.target), self.zero_like(S.name(op.target)))]
            return [stmt, S.assign(self.d(op.target), S.call(S.attr(S.name(self.d(source.id)), "pop")))]
        tangent = self.tangent(stmt, op)
        if op.target in self.written or self.may_share_written(tangent):
            tangent = S.call(self.ctx.symbol(runtime.snapshot, "snapshot"), [tangent])
        return [stmt, S.assign(self.d(op.target), tangent)]

    def may_share_written(self, tangent: gast.expr) -> bool:
        """Whether ``tangent`` may be (a view of) the tangent of an array the program writes into
        (``da[i] = ...`` would then change it too): it reads one, and is not an arithmetic
        expression, which NumPy always computes into a new array (``expand(da, b)``, ``add(da, 0.0)``
        and a linear rule's ``da.T`` return ``da`` or a view of it)."""
        if isinstance(tangent, (gast.BinOp, gast.UnaryOp)) or not self.written:
            return False
        written = {self.d(w) for w in self.written}
        return any(isinstance(n, gast.Name) and n.id in written for n in gast.walk(tangent))

    def store(self, stmt, op: Op) -> list[gast.stmt]:
        if op.target not in self.an.active:
            return []
        target = stmt.targets[0]
        slot = gast.Subscript(value=S.name(self.d(op.target)), slice=S.clone(target.slice), ctx=gast.Store())
        return [S.assign(slot, self.tangent_of(stmt.value))]

    def tangent(self, stmt, op: Op) -> gast.expr:
        active = [(p, a) for p, a in op.operands if self.an.is_active(a)]
        if op.kind == "copy" and active:
            return S.name(self.d(active[0][1].id))
        if op.kind == "build":
            if isinstance(stmt.value, gast.Dict):
                return gast.Dict(keys=[S.clone(k) for k in stmt.value.keys],
                                 values=[self.tangent_of(v) for v in stmt.value.values])
            elts = [self.tangent_of(e) for e in stmt.value.elts]
            if isinstance(stmt.value, gast.List):
                return gast.List(elts=elts, ctx=gast.Load())
            return S.tuple_(elts)
        if not active:
            return self.zero_like(S.name(op.target))
        if op.kind == "rule":
            return self.rule_tangent(stmt, op, active)
        if op.refusal is not None:
            raise NoRuleError(op.refusal[0], self.ctx.parsed.location(S.locate(stmt)), hint=op.refusal[1])
        raise NoRuleError(f"sct has no derivative for {op.label or 'this operation'}",
                          self.ctx.parsed.location(S.locate(stmt)),
                          hint=op.hint or "register one with @sct.tangent_rule and @sct.adjoint_rule")

    def rule_tangent(self, stmt, op: Op, active) -> gast.expr:
        self.require_rule(stmt, op.rule, "tangent")
        seeds = {f"d{p}": S.name(self.d(a.id)) for p, a in active}
        total = self.combine(op, active, seeds, "tangent", runtime.expand)
        return total if total is not None else self.zero_like(S.name(op.target))

    def require_rule(self, stmt, rule, which: str) -> None:
        if rule.expressions(which) is None:
            raise NoRuleError(f"sct has no tangent (forward-mode) rule for {rule.name}",
                              self.ctx.parsed.location(S.locate(stmt)),
                              hint="use mode='reverse', or register one with @sct.tangent_rule")

    def combine(self, op: Op, active, seeds: dict, which: str, expand) -> gast.expr | None:
        """The sum of the rule's contributions for the active operands (None: no contribution);
        widened by ``expand`` to the output where a contribution may be narrower."""
        rule = op.rule
        seeds = dict(seeds)
        seeds.update({f"d{p}": S.const(0.0) for p in rule.diff_params if f"d{p}" not in seeds})
        total = None
        for p, _ in active:
            term = rule_expression(self.ctx, self.an, op, which, rule.diff_params.index(p), seeds, op.target)
            if term is None:
                continue
            if total is None:
                total = term
            elif self.an.kind(S.name(op.target)) not in (SCALAR, ARRAY):  # lists: add elementwise
                total = S.call(self.ctx.symbol(runtime.add, "add"), [total, term])
            elif isinstance(term, gast.UnaryOp) and isinstance(term.op, gast.USub):
                total = S.binop(total, gast.Sub(), term.operand)  # a + -b reads a - b
            else:
                total = S.add(total, term)
        if total is None:
            return None
        covered = len(active) == len([p for p in rule.diff_params if p in op.bound])
        all_scalar = self.an.kind(S.name(op.target)) == SCALAR and \
            all(self.an.kind(a) == SCALAR for p, a in op.bound.items() if p != rule.varargs)
        if rule.expand and not covered and not all_scalar:
            total = S.call(self.ctx.symbol(expand, expand.__name__), [total, S.name(op.target)])
        return total

    def user_call(self, stmt, op: Op) -> gast.stmt:
        """``y = g(a, b)`` with ``a`` active becomes ``y, dy = g_jvp(a, b, da=da)``."""
        active = [(p, a) for p, a in op.operands if self.an.is_active(a)]
        kinds = call_kinds(self.ctx, self.an, op)
        fn, derived = self.derive(op.callee, self.mode, [p for p, _ in active], kinds, stmt)
        call = stmt.value
        value = S.call(fn, list(call.args), {derived.tangent_names[p]: S.name(self.d(a.id)) for p, a in active})
        value.keywords = list(call.keywords) + value.keywords  # (as written, **kwargs too)
        targets = S.tuple_([S.store(op.target), S.store(self.d(op.target))], gast.Store)
        return S.assign(targets, value)


class BatchedForward(Forward):
    """The tangent program carrying B directions at once: every tangent has a leading batch axis.

    A rule's tangent batches as the registry says (``Rule.batched``): by broadcasting
    (its seeds lifted to the output's number of axes), by a batched tangent rule,
    or, for a rule with neither, once per direction inside the sweep
    (``stack_like([... direction(dx, k) ... for k in range(nb)], y)``).  The batch
    size ``nb`` is read from the tangents once, at the top.
    """

    mode = "batched"

    def __init__(self, ctx: Context, analysis: Analysis, derive):
        super().__init__(ctx, analysis, derive)
        self.nb = ctx.namer.fresh("nb")
        self.k = ctx.namer.fresh("k")  # the direction in a per-direction comprehension

    def prologue(self, wrt) -> list[gast.stmt]:
        """``nb = batch_size(dx, ...)``: the number of directions."""
        size = S.call(self.ctx.symbol(B.batch_size, "batch_size"), [S.name(self.d(p)) for p in wrt])
        return [S.with_origin(S.assign(self.nb, size), self.ctx.parsed.node)]

    def zero_like(self, atom: gast.expr) -> gast.expr:
        return S.call(self.ctx.symbol(B.zeros_batched, "zeros_batched"), [S.name(self.nb), S.clone(atom)])

    def store(self, stmt, op: Op) -> list[gast.stmt]:
        """``y[i] = v`` gives ``dy[batch_index(dy, i)] = lift(dv, y[i])``: the same element in every direction."""
        if op.target not in self.an.active:
            return []
        target = stmt.targets[0]
        index = S.call(self.ctx.symbol(B.batch_index, "batch_index"), [S.name(self.d(op.target)),
                                                                         _index_value(target.slice)])
        slot = gast.Subscript(value=S.name(self.d(op.target)), slice=index, ctx=gast.Store())
        written = gast.Subscript(value=S.name(op.target), slice=S.clone(target.slice), ctx=gast.Load())
        value = S.call(self.ctx.symbol(B.lift, "lift"), [self.tangent_of(stmt.value), written])
        return [S.assign(slot, value)]

    def rule_tangent(self, stmt, op: Op, active) -> gast.expr:
        rule = op.rule
        self.require_rule(stmt, rule, "tangent")
        expand = B.expand_batched
        if rule.batched is False:
            raise NotBatchable(f"the tangent rule of {rule.name} is declared not batchable",
                               self.ctx.parsed.location(S.locate(stmt)))
        if rule.batched is None:
            return self.per_direction(op, active)
        if rule.batched == "broadcast":
            numbers = self.an.kind(S.name(op.target)) == SCALAR and \
                all(self.an.kind(a) == SCALAR for p, a in op.bound.items() if p != rule.varargs)
            seeds = {f"d{p}": S.name(self.d(a.id)) if numbers else self.lifted(a, op.target) for p, a in active}
            total = self.combine(op, active, seeds, "tangent", expand)
        elif not rule.batched_lists and any(self.an.kind(a) not in (SCALAR, ARRAY, ANY) for _, a in active):
            return self.per_direction(op, active)  # a list's tangent is a list of batched tangents
        else:
            seeds = {f"d{p}": self.as_array(a) if not rule.batched_lists else S.name(self.d(a.id))
                     for p, a in active}
            total = self.combine(op, active, seeds, "batched", expand)
        return total if total is not None else self.zero_like(S.name(op.target))

    def as_array(self, atom: gast.Name) -> gast.expr:
        """``dx``, or ``batched_array(dx)`` where x may be a list (its kind unknown): batch axis first."""
        if self.an.kind(atom) != ANY:
            return S.name(self.d(atom.id))
        return S.call(self.ctx.symbol(B.batched_array, "batched_array"), [S.name(self.d(atom.id))])

    def lifted(self, atom: gast.Name, target: str) -> gast.expr:
        """``lift(dx, y)``: dx with the axes of the output y (numbers and arrays; a list's tangent as it is)."""
        if self.an.kind(atom) not in (SCALAR, ARRAY, ANY):  # a list: its items' tangents are batched
            return S.name(self.d(atom.id))
        return S.call(self.ctx.symbol(B.lift, "lift"), [S.name(self.d(atom.id)), S.name(target)])

    def per_direction(self, op: Op, active) -> gast.expr:
        """The rule's ordinary tangent once per direction, the results stacked."""
        k = self.k
        direction = self.ctx.symbol(B.direction, "direction")
        pick = lambda a: S.call(S.clone(direction), [S.name(self.d(a.id)), S.name(k)])  # noqa: E731
        total = self.combine(op, active, {f"d{p}": pick(a) for p, a in active}, "tangent", runtime.expand)
        if total is None:
            return self.zero_like(S.name(op.target))
        loop = gast.comprehension(target=S.store(k), iter=S.call(S.name("range"), [S.name(self.nb)]),
                                  ifs=[], is_async=0)
        each = gast.ListComp(elt=total, generators=[loop])
        return S.call(self.ctx.symbol(B.stack_like, "stack_like"), [each, S.name(op.target)])


def _index_value(index: gast.expr) -> gast.expr:
    """An index as a value (``2:`` as ``slice(2, None, None)``), to pass to a helper."""
    if isinstance(index, gast.Slice):
        parts = [S.clone(p) if p is not None else S.const(None) for p in (index.lower, index.upper, index.step)]
        return S.call(S.name("slice"), parts)
    if isinstance(index, gast.Tuple):
        return S.tuple_([_index_value(e) for e in index.elts])
    return S.clone(index)
