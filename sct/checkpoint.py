"""Pass 5c — checkpoint: reverse mode over a long ``for`` loop without a tape entry per step.

Input: a ``for`` loop of the normalized body that is checkpointed — every
outermost ``for`` loop under ``sct.grad(f, checkpoint="sqrt" | s)``, or a loop
marked ``for i in sct.checkpointed(range(n)):`` — and the :class:`~sct.reverse.Reverse`
pass building the sweeps.  Output: that loop's part of the forward and backward sweeps.

The forward sweep runs the loop as the user wrote it (nothing taped), cut into
segments (:func:`sct.runtime.checkpoint.segments`: about √n segments of about √n
steps, or ``s`` segments for ``checkpoint=s``), and keeps a **snapshot** of the
loop-carried state before each: the names the body writes that are live into
it (or that the backward sweep of earlier statements reads), and a copy of each
array the body writes into.  The backward sweep takes the segments in reverse:
it restores a snapshot, re-runs that segment with the usual taping, then runs
its backward sweep (a loop that may ``break`` counts its steps while re-running).
Peak memory: one snapshot per segment plus the tape of one segment, for the
price of running the loop's primal twice.

Under the binomial schedule (``checkpoint="revolve"`` or ``("revolve", s)``) both
sweeps are a loop over the actions of one :func:`sct.runtime.checkpoint.revolve`
schedule, each action one branch: ``takeshot``/``restore``/``release`` keep, set
back and drop the top snapshot, ``advance`` runs steps as the user wrote them,
``youturn`` tapes one step and reverses it.  The forward sweep stops after
``firsturn``, which tapes the last step; the backward sweep starts by reversing
it.  At most ``s`` snapshots and one step's tape, for the fewest re-run steps
``s`` snapshots allow (Griewank's binomial bound).
"""
from __future__ import annotations

import builtins
import weakref
from dataclasses import dataclass

import gast

from . import codegen
from . import syntax as S
from .analysis import ANY, ARRAY, is_seq
from .errors import TransformError
from .runtime import checkpoint as runtime_checkpoint
from .runtime import refill as runtime_refill
from .runtime import snapshot as runtime_snapshot

SCHEDULES = ("sqrt", "revolve")
REVOLVE = "revolve"


def checkpointed(steps, schedule=None):
    """Mark a loop for checkpointing in reverse mode: ``for i in sct.checkpointed(range(n)):``.

    At run time it returns ``steps`` unchanged (the primal runs as before).  sct's
    gradient program of such a loop stores snapshots of the loop-carried state
    and recomputes segments instead of taping every step.  ``schedule``: ``"sqrt"``
    (√n snapshots, the default unless ``sct.grad(..., checkpoint=...)`` says
    otherwise), a number of snapshots, ``"revolve"`` or ``("revolve", s)`` (the
    binomial schedule with about √n or ``s`` snapshots); it must be written as a constant.
    """
    return steps


def check_option(checkpoint) -> None:
    """Refuse a ``checkpoint=`` value sct does not know: ``None``, ``"sqrt"``, a number of snapshots ≥ 1,
    ``"revolve"`` or ``("revolve", s)`` with ``s`` ≥ 1 snapshots."""
    from .errors import ArgumentError
    if checkpoint is None or (isinstance(checkpoint, str) and checkpoint in SCHEDULES):
        return
    if _count(checkpoint) or (isinstance(checkpoint, tuple) and len(checkpoint) == 2 and checkpoint[0] == REVOLVE
                              and _count(checkpoint[1])):
        return
    raise ArgumentError(f"checkpoint must be None, 'sqrt', a number of snapshots >= 1, 'revolve' or "
                        f"('revolve', snapshots), not {checkpoint!r}")


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def describe(schedule) -> str:
    """``schedule`` for the generated header: ``sqrt``, ``4``, ``revolve``, ``revolve with 3 snapshots``."""
    return f"{REVOLVE} with {schedule[1]} snapshots" if isinstance(schedule, tuple) else str(schedule)


def binomial(schedule) -> bool:
    """Is ``schedule`` (a checked ``checkpoint=`` value) the binomial one?"""
    return schedule == REVOLVE or isinstance(schedule, tuple)


def marker_schedule(ctx, node: gast.expr):
    """For ``sct.checkpointed(steps[, schedule])`` in a loop header: (steps, schedule); else None."""
    if not (isinstance(node, gast.Call) and ctx.resolve(node.func) is checkpointed):
        return None
    args = list(node.args) + [kw.value for kw in node.keywords]
    schedule = "sqrt"
    if len(args) == 2:
        value = _constant(args[1])
        try:
            check_option(value)
        except TransformError:
            value = None
        if value is None:
            raise TransformError("sct.checkpointed takes the schedule as a constant: 'sqrt', a number of snapshots, "
                                 "'revolve' or ('revolve', snapshots)",
                                 ctx.parsed.location(node))
        schedule = value
    elif len(args) != 1:
        raise TransformError("sct.checkpointed takes the loop's iterable and, optionally, a schedule",
                             ctx.parsed.location(node))
    return args[0], schedule


def _constant(node: gast.expr):
    """The value of a constant, or of a tuple of constants, written in the source (else None)."""
    if isinstance(node, gast.Constant):
        return node.value
    if isinstance(node, gast.Tuple) and all(isinstance(e, gast.Constant) for e in node.elts):
        return tuple(e.value for e in node.elts)
    return None


@dataclass
class Plan:
    """What one checkpointed loop keeps: names by reference, arrays by copy."""

    schedule: object
    carried: list[str]   # rebound by the body and live into a segment: kept as they are
    copied: list[str]    # written into by the body (not rebound): a copy kept, written back in place


class Checkpoints:
    """Which loops of one program are checkpointed, and their sweeps."""

    def __init__(self, reverse, option):
        self.reverse = weakref.proxy(reverse)  # (its owner: a strong reference would be a cycle)
        self.option = option
        self.plans: dict[int, Plan] = {}

    # -- which loops, and what they keep ------------------------------------------
    def plan(self, body: list[gast.stmt]) -> set[str]:
        """Choose the checkpointed loops of ``body``; returns the names the re-runs read that later
        statements may change (the backward sweep of those statements must restore them)."""
        reads: set[str] = set()
        self._visit(body, outer=True, before=set(self.reverse.params), reads=reads)
        return reads

    def _visit(self, stmts, outer: bool, before: set[str], reads: set[str]) -> None:
        """``before``: the names some earlier statement binds (grows as the walk goes)."""
        for stmt in stmts:
            if isinstance(stmt, (gast.For, gast.While)):
                schedule = self._schedule(stmt, outer)
                if schedule is not None and self._active(stmt):
                    self.plans[id(stmt)] = self._plan(stmt, schedule, before)
                    written = _writes(stmt.body)
                    reads |= {n for s in stmt.body for n in S.loads(s)} - written
                    reads |= S.loads(stmt.iter)
                self._visit(stmt.body, False, before, reads)
            elif isinstance(stmt, gast.If):
                self._visit(stmt.body, outer, before, reads)
                self._visit(stmt.orelse, outer, before, reads)
            elif isinstance(stmt, gast.With):
                self._visit(stmt.body, outer, before, reads)
            before |= S.stores(stmt)

    def region(self, body: list[gast.stmt]) -> set[int]:
        """The ids of the statements inside loops that may be checkpointed (marked loops, and under
        ``checkpoint=`` the outermost ``for`` loops): known before the sweeps, from the syntax alone."""
        out: set[int] = set()

        def visit(stmts, outer: bool) -> None:
            for stmt in stmts:
                if isinstance(stmt, (gast.For, gast.While)):
                    origin = S.origin_of(stmt)
                    marked = isinstance(origin, gast.For) and isinstance(stmt, gast.For) \
                        and marker_schedule(self.reverse.ctx, origin.iter) is not None
                    if marked or (self.option is not None and outer and isinstance(stmt, gast.For)):
                        out.update(id(s) for s in _walk(stmt.body))
                    visit(stmt.body, False)
                elif isinstance(stmt, gast.If):
                    visit(stmt.body, outer)
                    visit(stmt.orelse, outer)
        visit(body, True)
        visit = None  # (a closure calling itself is a reference cycle: it would keep the program's trees)
        return out

    def _schedule(self, stmt, outer: bool):
        origin = S.origin_of(stmt)
        marked = isinstance(origin, gast.For) and isinstance(stmt, gast.For) \
            and marker_schedule(self.reverse.ctx, origin.iter) is not None
        if marked:  # the marker's own schedule, else the option's, else √n
            if _explicit(origin.iter):
                return marker_schedule(self.reverse.ctx, origin.iter)[1]
            return self.option if self.option is not None else "sqrt"
        if self.option is None or not outer:
            return None
        if isinstance(stmt, gast.While) and self._active(stmt):
            raise TransformError("sct checkpoints `for` loops only; this `while` loop would be taped step by step",
                                 self.reverse.ctx.parsed.location(S.locate(stmt)),
                                 hint="write it as a `for` loop over range(...) with a `break`, or drop checkpoint= "
                                      "and mark the `for` loops to checkpoint with sct.checkpointed(...)")
        return self.option if isinstance(stmt, gast.For) else None

    def _active(self, loop) -> bool:
        """Does the loop have a backward sweep (an adjoint statement somewhere in its body)?"""
        core = self.reverse.core
        return any(core.get(id(s)) for s in _walk(loop.body))

    def _plan(self, loop, schedule, before: set[str]) -> Plan:
        rv, an = self.reverse, self.reverse.an
        where = rv.ctx.parsed.location(S.locate(loop))
        rebound = _writes(loop.body) - {loop.target.id}
        live = _live_in(loop.body)
        # the state a segment starts from, and what the backward sweep of earlier statements reads
        carried = {n for n in rebound if n in live or (n in rv.needed and n in before)}
        written_into = {an.ops[id(s)].target for s in _walk(loop.body)
                        if id(s) in an.ops and an.ops[id(s)].kind in ("store", "append")}
        reached = set(written_into)
        for name in written_into:
            if an.kinds.get(name) in (ARRAY, ANY):  # (a list's or dict's items are replaced, never changed in place)
                reached |= an.shared.get(name, set())
        for name in sorted(reached & carried):
            raise TransformError(f"sct cannot checkpoint this loop: `{name}` is carried from step to step and "
                                 f"its array (or list) is also written into in place",
                                 where, hint="write a new array (`a = a + ...`, np.where) instead of `a[i] = ...`, "
                                             "or drop the checkpointing of this loop")
        loads = {n for s in loop.body for n in S.loads(s)}
        copied = {n for n in reached - rebound if n in loads or n in before or n in rv.params}
        order = rv._first_order
        return Plan(schedule, sorted(carried, key=lambda n: (order(n), n)), sorted(copied, key=lambda n: (order(n), n)))

    def restored(self) -> set[str]:
        """Names the backward sweep of a checkpointed loop sets back (from a snapshot) to earlier values."""
        return {n for plan in self.plans.values() for n in plan.carried + plan.copied}

    # -- the sweeps ------------------------------------------------------------------
    def sweeps(self, loop, depth: int) -> tuple[list, list] | None:
        """The forward and backward sweep of ``loop`` if it is checkpointed (else None)."""
        plan = self.plans.get(id(loop))
        if plan is None:
            return None
        rv, namer = self.reverse, self.reverse.ctx.namer
        rv.pushed |= set(plan.carried)  # (so a name first bound inside the loop starts as None)
        if binomial(plan.schedule):
            forward, backward = self._binomial(loop, plan, depth)
        else:
            forward, backward = self._segments(loop, plan, depth)
        target = loop.target.id
        if rv.must_push(target, False, False) and (len(rv.sites.get(target, [])) > 1 or rv._read_outside(loop, target)):
            rv.pushed.add(target)
            forward.insert(0, rv.push(S.name(target)))
            backward.append(rv.pop_into(S.store(target)))
        return forward, backward

    def _segments(self, loop, plan: Plan, depth: int) -> tuple[list, list]:
        """√n (or ``s``) segments: a snapshot before each; the backward sweep re-runs one with the tape."""
        rv, namer = self.reverse, self.reverse.ctx.namer
        target = loop.target.id
        snapshots, segment = namer.fresh("snapshots"), namer.fresh("segment")
        saved = {n: namer.fresh(f"{n}_saved") for n in plan.copied}
        kept = [S.name(segment)] + [S.name(n) for n in plan.carried]
        kept += [S.call(rv.ctx.symbol(runtime_snapshot, "snapshot"), [S.name(n)]) for n in plan.copied]
        from .normalize import _may_exit
        exits = _may_exit(loop.body)

        # forward sweep: the primal loop, one segment at a time, a snapshot before each
        cut = S.call(rv.ctx.symbol(runtime_checkpoint.segments, "segments"),
                     [S.clone(loop.iter), S.const(plan.schedule)])
        inner = gast.For(target=S.store(target), iter=S.name(segment), body=S.clone(loop.body),
                         orelse=[gast.Continue()] if exits else [], type_comment=None)
        outer_body = [S.expr_stmt(S.call(S.attr(S.name(snapshots), "append"), [S.tuple_(kept)])), inner]
        if exits:
            outer_body.append(gast.Break())  # the inner loop broke: so does the loop of segments
        names = ", ".join(plan.carried + plan.copied) or "nothing"
        forward = [codegen.comment(f"checkpointed: a snapshot of {names} before each segment"),
                   S.assign(snapshots, gast.List(elts=[], ctx=gast.Load())),
                   S.for_(segment, cut, outer_body)]

        # backward sweep: for each segment in reverse, restore, re-run with the tape, reverse
        restore = [S.assign(S.tuple_([S.store(segment)] + [S.store(n) for n in plan.carried]
                                     + [S.store(saved[n]) for n in plan.copied], gast.Store),
                            S.call(S.attr(S.name(snapshots), "pop")))]
        for n in plan.copied:
            restore.append(_refill(rv, n, saved[n]))
        fb, bb = rv.block(loop.body, depth + 1)
        steps = S.name(segment)
        rerun = []
        if exits:
            counter = namer.fresh("iters")
            rerun.append(S.assign(counter, S.const(0)))
            fb = [S.assign(counter, S.add(S.name(counter), S.const(1)))] + fb
            steps = gast.Subscript(value=steps, slice=gast.Slice(lower=None, upper=S.name(counter), step=None),
                                   ctx=gast.Load())
        rerun.append(S.for_(target, S.name(segment), fb))
        reverse_loop = S.for_(target, S.call(rv.ctx.symbol(builtins.reversed, "reversed"), [steps]), bb)
        each = S.call(rv.ctx.symbol(builtins.range, "range"),
                      [S.call(rv.ctx.symbol(builtins.len, "len"), [S.name(snapshots)])])
        backward = [S.for_("_", each, restore + rerun + [reverse_loop])]

        if depth > 0:  # one list of snapshots per run of the enclosing loop: it goes on the tape
            forward.append(rv.push(S.name(snapshots)))
            backward.insert(0, rv.pop_into(S.store(snapshots)))
        return forward, backward

    def _binomial(self, loop, plan: Plan, depth: int) -> tuple[list, list]:
        """Griewank's binomial schedule: both sweeps interpret the actions of one ``revolve`` schedule.

        The forward sweep tapes the last step (``firsturn``) and leaves its reversal to the backward
        sweep, unless an enclosing loop runs this one again (``depth > 0``): that run would overwrite
        what the step's reversal reads, so it runs untaped and the backward sweep re-runs it."""
        rv, namer = self.reverse, self.reverse.ctx.namer
        target = loop.target.id
        snapshots, schedule = namer.fresh("snapshots"), namer.fresh("schedule")
        action, steps = namer.fresh("action"), namer.fresh("steps")
        saved = {n: namer.fresh(f"{n}_saved") for n in plan.copied}
        kept = [S.name(n) for n in plan.carried]
        kept += [S.call(rv.ctx.symbol(runtime_snapshot, "snapshot"), [S.name(n)]) for n in plan.copied]
        from .normalize import _may_exit
        exits = _may_exit(loop.body)
        fb, bb = rv.block(loop.body, depth + 1)

        def is_(name):
            return gast.Compare(left=S.name(action), ops=[gast.Eq()], comparators=[S.const(name)])

        def chain(branches, last):  # if action == a: ... elif action == b: ... else: last
            out = last
            for name, body in reversed(branches):
                out = [S.if_(is_(name), body, out)]
            return out

        takeshot = [S.expr_stmt(S.call(S.attr(S.name(snapshots), "append"), [S.tuple_(kept)]))]
        advance = S.for_(target, S.name(steps), S.clone(loop.body))
        if exits:  # the loop left early: so does the forward sweep (the schedule notes where)
            advance.orelse = [gast.Continue()]
        taped = depth == 0
        args = [S.clone(loop.iter)]
        if isinstance(plan.schedule, tuple):
            args.append(S.const(plan.schedule[1]))
        keywords = {} if taped else {"taped": S.const(False)}
        revolve = S.call(rv.ctx.symbol(runtime_checkpoint.revolve, "revolve"), args, keywords)
        first = S.for_(target, S.name(steps), fb if taped else S.clone(loop.body))
        names = ", ".join(plan.carried + plan.copied) or "nothing"
        budget = f"{plan.schedule[1]} snapshots" if isinstance(plan.schedule, tuple) else "about √n snapshots"
        forward = [codegen.comment(f"checkpointed, binomial schedule ({budget}): snapshots of {names}"),
                   S.assign(snapshots, gast.List(elts=[], ctx=gast.Load())),
                   S.assign(schedule, revolve),
                   S.for_(S.tuple_([S.store(action), S.store(steps)], gast.Store), S.name(schedule),
                          chain([(runtime_checkpoint.TAKESHOT, takeshot),
                                 (runtime_checkpoint.ADVANCE, [advance] + ([gast.Break()] if exits else []))],
                                [codegen.comment("firsturn: the last step" + (", taped" if taped else "")),
                                 first, gast.Break()]))]

        restore = [S.assign(S.tuple_([S.store(n) for n in plan.carried] + [S.store(saved[n]) for n in plan.copied],
                                     gast.Store),
                            gast.Subscript(value=S.name(snapshots), slice=S.const(-1), ctx=gast.Load()))]
        for n in plan.copied:
            restore.append(_refill(rv, n, saved[n]))
        release = [S.expr_stmt(S.call(S.attr(S.name(snapshots), "pop")))]
        reverse_loop = S.for_(target, S.call(rv.ctx.symbol(builtins.reversed, "reversed"), [S.name(steps)]), bb)
        turn = [S.if_(is_(runtime_checkpoint.YOUTURN), [S.for_(target, S.name(steps), S.clone(fb) if taped else fb)]),
                reverse_loop]
        backward = [S.for_(S.tuple_([S.store(action), S.store(steps)], gast.Store), S.name(schedule),
                           chain([(runtime_checkpoint.RESTORE, restore), (runtime_checkpoint.RELEASE, release),
                                  (runtime_checkpoint.TAKESHOT, S.clone(takeshot)),
                                  (runtime_checkpoint.ADVANCE, [S.for_(target, S.name(steps), S.clone(loop.body))])],
                                 [codegen.comment("youturn: tape this step, then reverse it; firsturn: reverse "
                                                  "the step the forward sweep taped"), *turn]))]
        if depth > 0:  # one schedule and its snapshots per run of the enclosing loop: they go on the tape
            forward += [rv.push(S.name(snapshots)), rv.push(S.name(schedule))]
            backward[:0] = [rv.pop_into(S.store(schedule)), rv.pop_into(S.store(snapshots))]
        return forward, backward


def _explicit(call: gast.Call) -> bool:
    return len(call.args) + len(call.keywords) > 1


def _writes(stmts) -> set[str]:
    out: set[str] = set()
    for stmt in stmts:
        out |= S.stores(stmt)
    return out


def _refill(rv, name: str, saved: str) -> gast.stmt:
    """Set the array, list or dict ``name`` back, in place, to its copy ``saved``: ``a[...] = a_saved``,
    ``xs[:] = xs_saved``, ``refill(d, d_saved)``."""
    kind = rv.an.kinds.get(name)
    if kind == ARRAY or is_seq(kind):
        whole = S.const(Ellipsis) if kind == ARRAY else gast.Slice(lower=None, upper=None, step=None)
        return S.assign(gast.Subscript(value=S.name(name), slice=whole, ctx=gast.Store()), S.name(saved))
    return S.expr_stmt(S.call(rv.ctx.symbol(runtime_refill, "refill"), [S.name(name), S.name(saved)]))


def _walk(stmts):
    for stmt in stmts:
        yield stmt
        for fieldname in ("body", "orelse"):
            yield from _walk(getattr(stmt, fieldname, []) or [])


def _live_in(stmts) -> set[str]:
    """Names a run of ``stmts`` may read before writing them (the loop-carried candidates)."""
    live: set[str] = set()
    _scan(stmts, set(), live)
    return live


def _scan(stmts, written: set[str], live: set[str]) -> set[str]:
    written = set(written)
    for stmt in stmts:
        if isinstance(stmt, gast.If):
            live |= S.loads(stmt.test) - written
            written = _scan(stmt.body, written, live) & _scan(stmt.orelse, written, live)
        elif isinstance(stmt, gast.For):
            live |= S.loads(stmt.iter) - written
            _scan(stmt.body, written | {stmt.target.id}, live)  # (may run no step: writes there are not certain)
        elif isinstance(stmt, gast.While):
            _scan(stmt.body, written, live)
        elif isinstance(stmt, gast.With):
            live |= S.loads(stmt.items[0].context_expr) - written
            written = _scan(stmt.body, written, live)
        else:
            live |= S.loads(stmt) - written
            if isinstance(stmt, gast.Assign):
                written |= S.stores(stmt)
    return written
