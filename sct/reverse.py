"""Pass 5b — reverse: the adjoint program, a forward sweep then a backward sweep.

Input: the normalized body and its :class:`~sct.analysis.Analysis`.  Output: the
forward sweep (the primal statements, plus ``tape.append`` of values about to be
overwritten that the backward sweep reads) and the backward sweep (for each
active statement, in reverse order, ``x̄ ← x̄ + ȳ·∂y/∂x`` from the adjoint rule,
then the overwritten value popped back).

Control flow is replayed, not recorded: an ``if`` tests the same (restored)
condition again; a ``for`` loop over a range runs over ``reversed(range)``; a
loop that may ``break`` and a ``while`` loop count their iterations.  Nothing
else goes on the tape.  Adjoints start at ``0.0`` and accumulate by rebinding
(``x_bar = x_bar + ...``), never by ``+=`` on an array two names may share.
"""
from __future__ import annotations

import bisect
import builtins
import inspect
from dataclasses import dataclass, field

import gast

from . import codegen, runtime
from . import syntax as S
from .analysis import ANY, ARRAY, SCALAR, Analysis, Op, built_items, call_kinds, is_container, is_seq, refuse_unused_result
from .checkpoint import Checkpoints
from .context import Context, param_names
from .errors import NoRuleError
from .inline import float_guard, index_value, rule_expression
from .names import stem
from .normalize import _may_exit
from .rules import REGISTRY


@dataclass
class Site:
    name: str
    order: int
    top_level: bool
    in_loop: bool


@dataclass
class ReverseProgram:
    forward: list[gast.stmt]
    backward: list[gast.stmt]
    prologue: list[gast.stmt]          # tape creation and initialisations of the forward sweep
    adjoint_inits: list[gast.stmt]     # x_bar = 0.0 for every active name
    value: gast.expr                   # what the primal returns
    adjoints: dict[str, str] = field(default_factory=dict)


@dataclass
class SplitSite:
    """A call of a user function in split mode: its forward sweep's program and the record it returns."""
    forward: gast.Name   # the symbol of the callee's forward sweep program
    record: str | None   # the caller's name for the record (None: nothing saved; the function itself runs)
    saved: tuple         # what the record holds (the callee's names, for the comment)
    backward: str        # the callee's backward sweep program's name


class Reverse:
    def __init__(self, ctx: Context, analysis: Analysis, derive, seed: str | None, checkpoint=None,
                 calls: str | None = None):
        self.ctx = ctx
        self.an = analysis
        self.derive = derive
        self.seed = seed
        self.params = set(param_names(ctx.parsed.node))
        self.core: dict[int, list[gast.stmt]] = {}
        self.control: set[str] = set()
        self.sites: dict[str, list[Site]] = {}
        self.site_count = 0
        self.pushed: set[str] = set()
        self.tape = None
        self.control_tape = None  # integers, ranges, branch tests: values no input changes
        self.constant: set[str] = set()
        self.checkpoints = Checkpoints(self, checkpoint)  # loops that keep snapshots instead (sct/checkpoint.py)
        self.calls = calls  # None: split, joint in checkpointed loops and for short functions; "joint"; "split"
        self.split_sites: dict[int, SplitSite] = {}
        self.split_keep: set[str] = set()  # arrays and lists a split call's record may reach: writes are undone
        self.joint_region: set[int] = set()
        self.looped: set[int] = set()

    # -- names ---------------------------------------------------------------
    def bar(self, name: str) -> str:
        return self.ctx.namer.adjoint(name)

    def tape_name(self) -> str:
        if self.tape is None:
            self.tape = self.ctx.namer.fresh("tape")
        return self.tape

    def _tape_for(self, atom: gast.expr) -> str:
        """Values that depend on no parameter (loop ranges and indices, counters) go on a tape of their own:
        differentiating this program again then sees that what it pops there is constant."""
        if isinstance(atom, gast.Name) and atom.id in self.constant:
            if self.control_tape is None:
                self.control_tape = self.ctx.namer.fresh("control")
            return self.control_tape
        return self.tape_name()

    def push(self, value: gast.expr) -> gast.stmt:
        return S.expr_stmt(S.call(S.attr(S.name(self._tape_for(value)), "append"), [value]))

    def pop_into(self, target: gast.expr) -> gast.stmt:
        return S.assign(target, S.call(S.attr(S.name(self._tape_for(target)), "pop")))

    # -- driver --------------------------------------------------------------
    def run(self, body: list[gast.stmt]) -> ReverseProgram:
        self._body_for_firsts = body
        self._collect_sites(body, top_level=True, in_loop=False)
        self.looped = {id(s) for loop in _walk(body) if isinstance(loop, (gast.For, gast.While))
                       for s in _walk(loop.body)}
        if self.calls is None:  # checkpointed loops keep calls joint: a record per step is what they avoid
            self.joint_region = self.checkpoints.region(body)
        self._cores(body)
        primal = set(self.ctx.locals)
        needed = set(self.control)
        for stmts in self.core.values():
            for stmt in stmts:
                needed |= S.loads(stmt)
        for name in list(needed):  # a view read later reads its base's memory: the base's writes are undone too
            if self.an.kinds.get(name) != SCALAR:  # (numbers are immutable: `x = t3` shares nothing to undo)
                needed |= {n for n in self.an.shared.get(name, set()) if self.an.kinds.get(n) != SCALAR}
        needed |= self.split_keep
        for stmt in _walk(body):  # a write undone (a[i, j] = tape.pop()) reads its index where it is undone
            target = stmt.targets[0] if isinstance(stmt, gast.Assign) else None
            if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) and target.value.id in needed:
                needed |= S.loads(target.slice)
        self.needed = needed & primal
        self.needed |= self.checkpoints.plan(body) & primal  # what checkpointed loops re-run must be restored
        self.recompute = self._recomputable(body)
        records = {site.record for site in self.split_sites.values()}  # (they hold what callees tape)
        self.constant = primal - records - self.an.varied_by(body, self.params)
        returns = [s for s in _walk(body) if isinstance(s, gast.Return)]
        single = len(returns) == 1 and body and body[-1] is returns[0] and isinstance(returns[0].value, gast.Name)
        self.value_name = None if single and returns[0].value.id not in self._pushed_names() \
            else self.ctx.namer.fresh("value")
        forward, backward = self.block(body, depth=0)
        value = S.name(self.value_name) if self.value_name else returns[0].value
        prologue = []
        for tape in (self.tape, self.control_tape):  # a tape is a plain list
            if tape is not None:
                prologue.append(S.assign(tape, gast.List(elts=[], ctx=gast.Load())))
        for name in sorted(self._needs_init(), key=self._first_order):
            prologue.append(S.assign(name, S.const(None)))
        inits = [S.assign(self.bar(n), S.const(0.0)) for n in self._active_in_order(body)]
        return ReverseProgram(forward, backward, prologue, inits, value)

    def _collect_sites(self, stmts, top_level: bool, in_loop: bool):
        for stmt in stmts:
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
                self._site(stmt.targets[0].id, top_level, in_loop)
            elif isinstance(stmt, gast.For):
                self._site(stmt.target.id, False, True)
                self._collect_sites(stmt.body, False, True)
            elif isinstance(stmt, gast.While):
                self._collect_sites(stmt.body, False, True)
            elif isinstance(stmt, gast.If):
                self._collect_sites(stmt.body, False, in_loop)
                self._collect_sites(stmt.orelse, False, in_loop)
            elif isinstance(stmt, gast.With):  # (its body runs once, where the block stands)
                self._collect_sites(stmt.body, top_level, in_loop)

    def _site(self, name, top_level, in_loop):
        order = self.site_count
        self.site_count += 1
        self.sites.setdefault(name, []).append(Site(name, order, top_level, in_loop))

    def _first_order(self, name):
        return self.sites[name][0].order if name in self.sites else -1

    def overwritten(self, name: str) -> bool:
        """May this name be assigned again after a value of it was used?"""
        sites = self.sites.get(name, [])
        return len(sites) > 1 or any(s.in_loop for s in sites) or (name in self.params and bool(sites))

    def must_push(self, name: str, stmt_site_first: bool, top_level: bool) -> bool:
        if name not in self.needed:
            return False
        if name not in self.params and stmt_site_first and top_level:
            return False  # nothing was there before the first assignment
        return self.overwritten(name)

    def _pushed_names(self) -> set[str]:
        out = set()
        for name in self.sites:
            if name in self.needed and self.overwritten(name):
                out.add(name)
        return out | self.checkpoints.restored()

    def _needs_init(self) -> set[str]:
        out = set()
        for name in self.pushed:
            sites = self.sites.get(name, [])
            if name not in self.params and sites and not sites[0].top_level:
                out.add(name)
        return out

    def _active_in_order(self, body) -> list[str]:
        seen: dict[str, None] = {}  # (ordered, and a set for `in`)
        active = self.an.active
        for p in param_names(self.ctx.parsed.node):
            if p in active:
                seen[p] = None
        for stmt in _walk(body):
            for n in S.names_in(stmt):
                if n in active and n not in seen:
                    seen[n] = None
        return list(seen)

    # -- recomputation: cheap scalar temporaries are recomputed, not taped ------
    def _recomputable(self, body) -> set[str]:
        """Temporaries the backward sweep can recompute from values it has restored.

        A scalar temporary assigned once, by a rule, from numbers (parameters that are
        never reassigned, constants, the index of an enclosing loop, values the tape
        restores, or other such temporaries), costs less to recompute than to push
        and pop; one made from an array (a reduction) does not.  Its recomputation goes where the backward sweep has restored
        every value it reads (``self.anchors``): the start of its block's backward
        part, or -- when the block later overwrites a value it reads, as
        ``x = x + dt * sin(x)`` overwrites ``x`` -- right after that overwrite has
        been undone, provided no adjoint that runs before that point reads it.
        """
        self.mutated = {op.target for op in self.an.ops.values() if op.kind in ("store", "append")}
        for name in list(self.mutated):  # and every view of them: recomputing one reads changed memory
            self.mutated |= self.an.shared.get(name, set())
        candidates: dict[str, tuple] = {}   # temp -> (statement, enclosing loop indices, its block, its index)

        def visit(stmts, loops: frozenset):
            for j, stmt in enumerate(stmts):
                if isinstance(stmt, gast.For):
                    visit(stmt.body, loops | {stmt.target.id})
                elif isinstance(stmt, (gast.While, gast.If, gast.With)):
                    visit(stmt.body, loops)
                    visit(getattr(stmt, "orelse", []), loops)
                elif isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
                    name = stmt.targets[0].id
                    op = self.an.ops.get(id(stmt))
                    cheap = op is not None and (
                        (op.kind == "rule" and self.an.kinds.get(name) == SCALAR and self._reads_numbers(stmt))
                        or (op.kind == "nondiff" and isinstance(stmt.value, gast.Compare)))  # a branch test
                    if name not in self.ctx.user_locals and cheap and len(self.sites.get(name, [])) == 1:
                        candidates[name] = (stmt, loops, stmts, j)

        visit(body, frozenset())
        loop_targets = {s.target.id for s in _walk(body) if isinstance(s, gast.For)}
        memo: dict[str, tuple[bool, int | None]] = {}  # temp -> (recomputable, anchor)
        readers, stores = _Readers(self), _Stores()

        def anchor_of(name: str) -> tuple[bool, int | None]:
            """Can ``name`` be recomputed, and after which statement of its block (None: at the block's start)?"""
            if name not in memo:
                memo[name] = (False, None)  # (no cycles through a name under evaluation)
                stmt, loops, block, j = candidates[name]
                anchor = None
                for read in S.loads(stmt.value):
                    ok, at = restored(read, loops, block, j)
                    if not ok:
                        return memo[name]
                    anchor = at if anchor is None or (at is not None and at < anchor) else anchor
                if anchor is not None and readers.after(block, name, anchor):
                    return memo[name]  # an adjoint before the restoring point needs it
                memo[name] = (True, anchor)
            return memo[name]

        def restored(read: str, loops, block, j) -> tuple[bool, int | None]:
            """Does the backward sweep hold ``read``'s value of statement j of ``block``, and from where on?"""
            if read not in self.ctx.locals:
                return True, None
            if read in candidates:
                ok, at = anchor_of(read)
                same = candidates[read][2] is block
                return ok and (same or at is None), at if same else None
            if read in loops and len(self.sites.get(read, [])) == 1:
                return True, None
            if read in loop_targets or read in self.mutated:
                return False, None  # another loop's index: its reversed replay leaves it at its first value
            if not self.overwritten(read):
                return True, None
            if read not in self.needed:
                return False, None  # overwritten and not restored
            return True, stores.first_after(block, read, j)

        chosen = {n for n in candidates if n in self.needed and anchor_of(n)[0]}
        frontier = list(chosen)
        while frontier:  # the temporaries a recomputation reads are recomputed too
            stmt = candidates[frontier.pop()][0]
            for n in S.loads(stmt.value):
                if n in candidates and n not in chosen:
                    chosen.add(n)
                    frontier.append(n)
        self.anchors = {n: anchor_of(n)[1] for n in chosen}
        # (the closures refer to one another, a reference cycle that would keep this transformation's trees
        # until the garbage collector looks for them: a tenth of the time at 10 000 statements)
        visit = anchor_of = restored = None
        return chosen

    def _reads_numbers(self, stmt: gast.Assign) -> bool:
        """Does ``stmt`` read only numbers (locals of kind scalar, or names from outside)?  A number made from an
        array (``np.sum(t6)``) costs a pass over the array to recompute: it is taped instead."""
        return all(self.an.kinds.get(n) == SCALAR for n in S.loads(stmt.value) if n in self.ctx.locals)

    # -- cores: the adjoint statements of each primal statement ----------------
    def _cores(self, stmts):
        # lists whose state the backward sweep relies on (read by an adjoint rule)
        self.needed_lists = {a.id for op in self.an.ops.values() if op.kind == "rule"
                             for p, a in op.bound.items() if isinstance(a, gast.Name)}
        for op in self.an.ops.values():
            if op.kind == "append" and op.target in self.an.active:
                self.control.add(op.target)  # the backward sweep undoes the append on this very list
        for stmt in _walk(stmts):
            if isinstance(stmt, gast.If):
                self.control |= S.loads(stmt.test)
            elif isinstance(stmt, gast.For):
                self.control |= S.loads(stmt.iter)
            elif isinstance(stmt, gast.With):  # the backward sweep makes the manager again, with these values
                self.control |= S.loads(stmt.items[0].context_expr)
                self.control |= set().union(*map(S.loads, self.settings(stmt)))
            elif isinstance(stmt, (gast.Assign, gast.Expr)) and id(stmt) in self.an.ops:
                self.core[id(stmt)] = [S.with_origin(s, S.origin_of(stmt)) for s in self.adjoint(stmt)]
            elif isinstance(stmt, gast.Return):
                self.core[id(stmt)] = [S.with_origin(s, S.origin_of(stmt))
                                       for s in self.accumulate(stmt.value, self.seed_value())]

    def seed_value(self) -> gast.expr:
        """The adjoint of the result: the seed parameter, or 1.0 in a gradient program."""
        return S.name(self.seed) if self.seed is not None else S.const(1.0)

    def accumulate(self, atom: gast.expr, contribution: gast.expr) -> list[gast.stmt]:
        """``a_bar = a_bar + contribution`` (through ``add`` where ``a`` is a list or unknown)."""
        if not self.an.is_active(atom):
            return []
        bar = self.bar(atom.id)
        if self.an.kind(atom) == ANY or is_container(self.an.kind(atom)):
            value = S.call(self.ctx.symbol(runtime.add, "add"), [S.name(bar), contribution])
        elif isinstance(contribution, gast.UnaryOp) and isinstance(contribution.op, gast.USub):
            value = S.binop(S.name(bar), gast.Sub(), contribution.operand)  # x̄ + -e reads x̄ - e
        else:
            value = S.add(S.name(bar), contribution)
        return [S.assign(bar, value)]

    def adjoint(self, stmt) -> list[gast.stmt]:
        op = self.an.op(stmt)
        if op.kind == "pop" and (op.operands[0][1].id in self.an.active or op.operands[0][1].id in self.needed_lists):
            raise NoRuleError("sct differentiates `xs.pop()` in forward mode only (here: a generated adjoint "
                              "program differentiated again, or a list the adjoint sweep needs)",
                              self.ctx.parsed.location(S.locate(stmt)),
                              hint="use mode='forward' for the outer derivative, e.g. sct.hessian(f)")
        if op.kind == "store":
            return self.store_adjoint(stmt, op)
        if op.kind == "append":
            return self.append_adjoint(stmt, op)
        if op.target is None:
            refuse_unused_result(self.ctx, self.an, stmt, op)
            return []
        if op.target not in self.an.active:
            return []
        g = S.name(self.bar(op.target))
        out: list[gast.stmt] = []
        active = [(p, a) for p, a in op.operands if self.an.is_active(a)]
        if op.kind == "copy":
            for _, a in active:
                out += self.accumulate(a, g)
        elif op.kind == "build":
            take = self.ctx.symbol(runtime.take, "take")
            display = stmt.value
            keys = display.keys if isinstance(display, gast.Dict) else [S.const(i) for i in range(len(display.elts))]
            for key, elt in zip(keys, built_items(display)):
                out += self.accumulate(elt, S.call(take, [S.clone(g), S.clone(key)]))
        elif op.kind == "rule":
            out += self.rule_adjoint(stmt, op, active, g)
        elif op.kind == "call" and active:
            out += self.call_adjoint(stmt, op, active, g)

        elif active:
            if op.refusal is not None:
                raise NoRuleError(op.refusal[0], self.ctx.parsed.location(S.locate(stmt)), hint=op.refusal[1])
            raise NoRuleError(f"sct has no derivative for {op.label or 'this operation'}",
                              self.ctx.parsed.location(S.locate(stmt)),
                              hint=op.hint or "register one with @sct.adjoint_rule (and @sct.tangent_rule for forward mode)")
        if self.overwritten(op.target):
            out.append(S.assign(self.bar(op.target), S.const(0.0)))
        return out

    def rule_adjoint(self, stmt, op: Op, active, g) -> list[gast.stmt]:
        rule = op.rule
        if rule.expressions("adjoint") is None:
            raise NoRuleError(f"sct has no adjoint (reverse-mode) rule for {rule.name}",
                              self.ctx.parsed.location(S.locate(stmt)),
                              hint="use mode='forward', or register one with @sct.adjoint_rule")
        out = []
        for p, a in active:
            seeds = {"g": g, "acc": S.name(self.bar(a.id))}
            expr = rule_expression(self.ctx, self.an, op, "adjoint", rule.diff_params.index(p), seeds, op.target)
            if expr is None:
                continue
            if rule.scatter:
                out.append(S.assign(self.bar(a.id), expr))
            else:
                out += self.accumulate(a, expr)
        return out

    def call_adjoint(self, stmt, op: Op, active, g) -> list[gast.stmt]:
        """``y = h(a, b)``: in split mode ``a_bar_h, b_bar_h = h_bwd(h_saved, a, b, h_bar=y_bar)`` (the forward
        sweep called ``y, h_saved = h_fwd(a, b)``); in joint mode ``_, a_bar_h, b_bar_h = h_vjp(a, b,
        h_bar=y_bar)`` (the forward sweep called ``h`` itself); then accumulate."""
        kinds = call_kinds(self.ctx, self.an, op)
        wrt = list(dict.fromkeys(p for p, _ in active))
        if (self.calls == "split" or (self.calls is None and id(stmt) not in self.joint_region)) \
                and not _passes_on(op.callee, stmt.value):
            got = self.derive(op.callee, "split", wrt, kinds, stmt)
            # (None: a recursive call, which stays joint; by default, so does a call without arrays of a
            # function without loops or calls that keeps a record: running it again costs less than keeping the
            # record, where a NumPy call on an array costs more than the record)
            arrays = any(isinstance(k, str) and ARRAY in k for k in kinds.values())
            if got is not None and (self.calls == "split" or not got[1].straight or not got[1].saved
                                    or arrays):
                return self.split_adjoint(stmt, op, active, g, wrt, *got)
        fn, derived = self.derive(op.callee, "reverse", wrt, kinds, stmt)
        call = stmt.value
        value = S.call(fn, list(call.args), {derived.seed_name: g})
        value.keywords = list(call.keywords) + value.keywords  # (as written, **kwargs too)
        callee_name = stem(op.callee)
        parts = {p: self.ctx.namer.fresh(f"{p}_bar_{callee_name}") for p in wrt}
        targets = S.tuple_([S.store("_")] + [S.store(parts[p]) for p in wrt], gast.Store)
        out = [S.assign(targets, value)]
        for p, a in active:
            out += self.accumulate(a, S.name(parts[p]))
        return out

    def split_adjoint(self, stmt, op: Op, active, g, wrt, _, derived) -> list[gast.stmt]:
        back = derived.backward
        fwd = self.ctx.symbol(derived.fn, derived.name) if derived.saved else None
        bwd = self.ctx.symbol(back.fn if back.fn is not None else back, back.name)
        callee_name = stem(op.callee)
        record = None
        if derived.saved:  # (a function whose backward sweep reads only its parameters runs as itself)
            record = self.ctx.namer.fresh(f"{callee_name}_saved")
            self.ctx.locals.add(record)
        args, keywords, positional = [S.name(record)] if record else [], {}, True
        kinds = _parameter_kinds(op.callee)
        for p in derived.backward_params:
            if p not in op.bound and kinds.get(p) == "posonly":  # (a positional-only default, given as itself)
                default = inspect.signature(op.callee).parameters[p].default
                args.append(self.ctx.symbol(default, f"{p}_default"))
            elif p not in op.bound:
                positional = False  # its default: the backward sweep has it too
            elif positional and kinds.get(p) != "kwonly":
                args.append(S.clone(op.bound[p]))
            else:
                keywords[p] = S.clone(op.bound[p])
        keywords[derived.seed_name] = g
        parts = {p: self.ctx.namer.fresh(f"{p}_bar_{callee_name}") for p in wrt}
        if len(wrt) == 1:
            targets = S.store(parts[wrt[0]])
        else:
            targets = S.tuple_([S.store(parts[p]) for p in wrt], gast.Store)
        out = [S.assign(targets, S.call(bwd, args, keywords))]
        for p, a in active:
            out += self.accumulate(a, S.name(parts[p]))
        self.split_sites[id(stmt)] = SplitSite(fwd, record, derived.saved, back.name)
        # the record may hold (views of) the arrays and lists the call reads or returns: the caller's writes
        # into them after the call are undone before the backward sweep reaches it
        for atom in list(op.bound.values()) + [S.name(op.target)]:
            if isinstance(atom, gast.Name) and atom.id in self.ctx.locals and self.an.kind(atom) != SCALAR:
                self.split_keep.add(atom.id)
        return out

    def store_adjoint(self, stmt, op: Op) -> list[gast.stmt]:
        """``a[i] = v``: v̄ ← v̄ + ā[i], then ā[i] ← 0 (that slot's old value had its own adjoint)."""
        if op.target not in self.an.active:
            return []
        index = stmt.targets[0].slice
        bar = self.bar(op.target)
        out = []
        value = stmt.value
        if self.an.is_active(value):
            taken = S.call(self.ctx.symbol(runtime.take_written, "take_written"),
                           [S.name(bar), index_value(self.ctx, index)])
            if not is_container(self.an.kind(value)):  # (a list or dict stored whole: its adjoint as it is)
                taken = S.call(self.ctx.symbol(runtime.unbroadcast, "unbroadcast"), [taken, S.clone(value)])
            out += self.accumulate(value, taken)
        zero = S.call(self.ctx.symbol(runtime.zero_at, "zero_at"), [S.name(bar), index_value(self.ctx, index)])
        out.append(S.assign(bar, zero))
        return out

    def append_adjoint(self, stmt, op: Op) -> list[gast.stmt]:
        """``xs.append(v)``: v̄ ← v̄ + x̄s[-1]; x̄s loses its last entry."""
        if op.target not in self.an.active:
            return []
        bar = self.bar(op.target)
        value = stmt.value.args[0]
        out = self.accumulate(value, S.call(self.ctx.symbol(runtime.last, "last"), [S.name(bar)]))
        out.append(S.assign(bar, S.call(self.ctx.symbol(runtime.drop_last, "drop_last"), [S.name(bar)])))
        return out

    # -- assembling the sweeps ----------------------------------------------------
    def block(self, stmts, depth: int) -> tuple[list, list]:
        forward, backward_parts = [], []
        recomputed: dict[int | None, list] = {}  # anchor -> recomputations (None: at the block's start)
        for stmt in stmts:
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
                    and stmt.targets[0].id in self.recompute and depth > 0:
                anchor = self.anchors[stmt.targets[0].id]
                recomputed.setdefault(anchor, []).append(S.with_origin(S.clone(stmt), S.origin_of(stmt)))
            f, b = self.statement(stmt, depth)
            origin = S.origin_of(stmt)
            forward += [S.with_origin(s, S.origin_of(s) or origin) for s in f]
            backward_parts.append([S.with_origin(s, S.origin_of(s) or origin) for s in b])
        backward = list(recomputed.get(None, []))
        for k in reversed(range(len(backward_parts))):
            backward += backward_parts[k] + recomputed.get(k, [])  # after the overwrite at k is undone
        return forward, backward

    def statement(self, stmt, depth: int) -> tuple[list, list]:
        core = self.core.get(id(stmt), [])
        if id(stmt) in self.split_sites:
            return self.split_statement(stmt, depth, core)
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
            name = stmt.targets[0].id
            first = self._first_stmt(name) is stmt
            if name in self.recompute:
                return [stmt], core
            if self.must_push(name, first, depth == 0):
                self.pushed.add(name)
                return [self.push(S.name(name)), stmt], core + [self.pop_into(S.store(name))]
            return [stmt], core
        if isinstance(stmt, gast.Assign):  # a[i] = v
            target = stmt.targets[0]
            base = target.value.id
            forward, backward = self.store_statement(stmt, target, base, core)
            return float_guard(self.ctx, self.an, stmt) + forward, backward
        if isinstance(stmt, gast.Expr):
            op = self.an.ops.get(id(stmt))
            if op is not None and op.kind == "append" and (op.target in self.needed or op.target in self.an.active):
                undo = S.expr_stmt(S.call(S.attr(S.name(op.target), "pop")))
                return [stmt], core + [undo]
            return [stmt], core
        if isinstance(stmt, gast.Return):
            forward = [] if self.value_name is None else [S.assign(self.value_name, stmt.value)]
            return forward, core
        if isinstance(stmt, gast.If):
            fb, bb = self.block(stmt.body, depth + 1)
            fo, bo = self.block(stmt.orelse, depth + 1)
            backward = [S.if_(stmt.test, bb, bo)] if (bb or bo) else []
            return [S.if_(stmt.test, fb, fo)], backward
        if isinstance(stmt, (gast.For, gast.While)):
            return self.loop(stmt, depth)
        if isinstance(stmt, gast.With):
            return self.with_block(stmt, depth)
        return [stmt], []


    def store_statement(self, stmt, target, base: str, core) -> tuple[list, list]:
        """``a[i] = v`` in the forward sweep, and the undoing of the write in the backward sweep."""
        if base in self.needed and self.an.kinds.get(base) not in (ARRAY,) and not is_seq(self.an.kinds.get(base)):
            # a dict (or a container of unknown kind) may not have the entry yet: the tape keeps whether
            # it had it, and the backward sweep takes it out again
            index = index_value(self.ctx, target.slice)
            saved = S.call(self.ctx.symbol(runtime.entry, "entry"), [S.name(base), index])
            restore = S.call(self.ctx.symbol(runtime.restore_entry, "restore_entry"),
                             [S.name(base), S.call(S.attr(S.name(self.tape_name()), "pop")), S.clone(index)])
            return [self.push(saved), stmt], core + [S.assign(base, restore)]
        if base in self.needed:
            saved = S.call(self.ctx.symbol(runtime.snapshot, "snapshot"),
                           [gast.Subscript(value=S.name(base), slice=S.clone(target.slice), ctx=gast.Load())])
            restore = gast.Subscript(value=S.name(base), slice=S.clone(target.slice), ctx=gast.Store())
            return [self.push(saved), stmt], core + [self.pop_into(restore)]
        return [stmt], core

    def settings(self, stmt: gast.With) -> list[gast.stmt]:
        """The calls at the top of a ``with`` block that set what its manager restores on exit
        (``warnings.simplefilter(...)``: declared ``effect_only(..., scoped=True)`` in the registry)."""
        return [s for s in stmt.body if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call)
                and isinstance(s.value.func, (gast.Name, gast.Attribute))
                and REGISTRY.is_scoped_setting(self.ctx.resolve(s.value.func))]

    def with_block(self, stmt: gast.With, depth: int) -> tuple[list, list]:
        """``with m(a): body``: the forward sweep of the body under the manager, and its backward sweep under
        ``m(a)`` made again (the settings the block makes first, made again first)."""
        fb, bb = self.block(stmt.body, depth)
        forward = [gast.With(items=stmt.items, body=fb or [gast.Pass()], type_comment=None)]
        if not bb:
            return forward, []
        again = gast.withitem(context_expr=S.clone(stmt.items[0].context_expr), optional_vars=None)
        settings = [S.with_origin(S.clone(s), S.origin_of(s)) for s in self.settings(stmt)]
        return forward, [gast.With(items=[again], body=settings + bb, type_comment=None)]

    def split_statement(self, stmt, depth: int, core) -> tuple[list, list]:
        """``y = h(a, b)`` in split mode: ``y, h_saved = h_fwd(a, b)``; in a loop the record goes on the tape
        after the call and comes back just before the backward sweep's ``h_bwd`` reads it.  A function
        whose backward sweep reads nothing its forward sweep makes is called as itself: ``y = h(a, b)``."""
        site = self.split_sites[id(stmt)]
        name = stmt.targets[0].id
        call = stmt.value
        if site.record is None:
            forward = [codegen.comment(f"split: {site.backward} reads nothing {_name(call)}'s forward sweep makes"),
                       stmt]
        else:
            value = S.call(S.clone(site.forward), list(call.args), {kw.arg: kw.value for kw in call.keywords})
            forward = [codegen.comment(f"split: {site.record} keeps what {site.backward} reads "
                                       f"({', '.join(site.saved)})"),
                       S.assign(S.tuple_([S.store(name), S.store(site.record)], gast.Store), value)]
        backward = list(core)
        if self.must_push(name, self._first_stmt(name) is stmt, depth == 0):
            self.pushed.add(name)
            forward.insert(1, self.push(S.name(name)))
            backward.append(self.pop_into(S.store(name)))
        if id(stmt) in self.looped and site.record is not None:
            forward.append(self.push(S.name(site.record)))
            backward.insert(0, self.pop_into(S.store(site.record)))
        return forward, backward

    def _read_outside(self, loop, name: str) -> bool:
        inside = {id(s) for s in _walk(loop.body)}
        return any(name in S.loads(c) for sid, core in self.core.items() if sid not in inside for c in core)

    def _first_stmt(self, name):
        if not hasattr(self, "_firsts"):
            self._firsts = {}
            for s in _walk(self._body_for_firsts):
                if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
                    self._firsts.setdefault(s.targets[0].id, s)
                elif isinstance(s, gast.For):
                    self._firsts.setdefault(s.target.id, s)
        return self._firsts.get(name)

    def loop(self, stmt, depth: int) -> tuple[list, list]:
        checkpointed = self.checkpoints.sweeps(stmt, depth)
        if checkpointed is not None:
            return checkpointed
        fb, bb = self.block(stmt.body, depth + 1)
        counts = isinstance(stmt, gast.While) or _may_exit(stmt.body)
        forward, backward = [], []
        counter = None
        if counts:
            counter = self.ctx.namer.fresh("iters")
            forward.append(S.assign(counter, S.const(0)))
            fb = [S.assign(counter, S.add(S.name(counter), S.const(1)))] + fb
        if isinstance(stmt, gast.For):
            target = stmt.target.id
            # the reversed loop sets the target itself; save it if it is bound elsewhere too, or read
            # (by the backward sweep) outside this loop, which expects the value it had there
            push_target = self.must_push(target, False, False) and (
                len(self.sites.get(target, [])) > 1 or self._read_outside(stmt, target))
            if push_target:
                self.pushed.add(target)
                forward.append(self.push(S.name(target)))
            forward.append(S.for_(target, stmt.iter, fb))
            iterable = S.clone(stmt.iter)
            if counter:
                iterable = gast.Subscript(value=iterable, slice=gast.Slice(lower=None, upper=S.name(counter), step=None),
                                          ctx=gast.Load())
            reverse_loop = S.for_(target, S.call(self.ctx.symbol(builtins.reversed, "reversed"), [iterable]), bb) if bb else None
        else:
            forward.append(gast.While(test=S.const(True), body=fb, orelse=[]))
            reverse_loop = S.for_("_", S.call(self.ctx.symbol(builtins.range, "range"), [S.name(counter)]), bb) if bb else None
            push_target = False
        if counter and depth > 0 and reverse_loop is not None:
            forward.append(self.push(S.name(counter)))
            backward.append(self.pop_into(S.store(counter)))
        if reverse_loop is not None:
            backward.append(reverse_loop)
        if push_target:
            backward.append(self.pop_into(S.store(stmt.target.id)))
        return forward, backward


class _Readers:
    """Which statements of a block have backward parts that read a name (their adjoints, tests, iterables),
    indexed once per block: "read from statement k on" is a lookup."""

    def __init__(self, reverse: "Reverse"):
        self.reverse = reverse
        self.last: dict[int, dict[str, int]] = {}  # id(block) -> name -> the last statement that reads it

    def _reads(self, stmt) -> set[str]:
        names: set[str] = set()
        for sub in _walk([stmt]):
            for core in self.reverse.core.get(id(sub), []):
                names |= S.loads(core)
            if isinstance(sub, (gast.If, gast.While)):
                names |= S.loads(sub.test)
            elif isinstance(sub, gast.For):
                names |= S.loads(sub.iter)
        return names

    def after(self, block, name: str, anchor: int) -> bool:
        """Does a statement of ``block`` from ``anchor`` on read ``name`` in the backward sweep?"""
        if id(block) not in self.last:
            self.last[id(block)] = {n: k for k, stmt in enumerate(block) for n in self._reads(stmt)}
        return self.last[id(block)].get(name, -1) >= anchor


class _Stores:
    """Where each name is assigned in a block, indexed once per block: "the first assignment after statement
    j" is a binary search."""

    def __init__(self):
        self.at: dict[int, dict[str, list[int]]] = {}  # id(block) -> name -> the statements assigning it

    def first_after(self, block, name: str, j: int) -> int | None:
        if id(block) not in self.at:
            index: dict[str, list[int]] = {}
            for k, stmt in enumerate(block):
                for n in S.stores(stmt):
                    index.setdefault(n, []).append(k)
            self.at[id(block)] = index
        places = self.at[id(block)].get(name, [])
        k = bisect.bisect_right(places, j)
        return places[k] if k < len(places) else None


def _name(call: gast.Call) -> str:
    import ast
    return ast.unparse(gast.gast_to_ast(call.func))


def _passes_on(fn, call: gast.Call) -> bool:
    """Does the call spread ``*args``/``**kwargs``, or the callee take them?  Such calls stay joint (what
    they pass on is a constant, and the callee's adjoint program takes it as it comes)."""
    if any(isinstance(a, gast.Starred) for a in call.args) or any(kw.arg is None for kw in call.keywords):
        return True
    return any(kind in ("varargs", "varkw") for kind in _parameter_kinds(fn).values())


def _parameter_kinds(fn) -> dict[str, str]:
    """``"posonly"``, ``"kwonly"`` or ``"either"`` for each parameter of ``fn``."""
    try:
        params = inspect.signature(fn).parameters.items()
    except (TypeError, ValueError):
        return {}
    return {n: "posonly" if p.kind is p.POSITIONAL_ONLY else "kwonly" if p.kind is p.KEYWORD_ONLY
            else "varargs" if p.kind is p.VAR_POSITIONAL else "varkw" if p.kind is p.VAR_KEYWORD else "either"
            for n, p in params}


def _walk(stmts):
    for stmt in stmts:
        yield stmt
        for fieldname in ("body", "orelse"):
            yield from _walk(getattr(stmt, fieldname, []) or [])
