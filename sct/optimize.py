"""Pass 6 — optimize: fewer statements, same numbers.

Input and output: statement lists of the generated function.

* ``sink_zeros``: an adjoint initialised to ``0.0`` is not materialised until
  something reads it; the first ``x_bar = x_bar + e`` becomes ``x_bar = e``.
  Adjoints nobody reaches are never written.
* ``propagate_copies`` / ``propagate_constants``: read ``b`` after ``a = b``;
  read the number after ``f_bar = 1.0`` (the gradient program's seed), folded.
* ``drop_dead``: assignments to derivative names whose value is never read again
  are removed (e.g. the adjoint of a statement's inputs when those inputs are
  constants).
* ``fuse_temporaries``: a single-use temporary goes back into the expression
  that uses it (the forward sweep reads like the user's code).
* ``move_scales``: constant factors multiply out and move to the smallest array.
* ``sum_before_product``: a matrix product's adjoint that is summed over rows
  sums them first.
* ``prune_empty``: loops and branches left with nothing to do disappear.
"""
from __future__ import annotations

import bisect
import copy
from typing import NamedTuple

import gast

from . import syntax as S


def _is_zero(node) -> bool:
    return isinstance(node, gast.Constant) and type(node.value) is float and node.value == 0.0


def _simplify_add(node: gast.expr, adders: set[str]) -> gast.expr:
    """``0.0 + e`` -> ``e``; ``add(0.0, e)`` -> ``e`` (``adders``: the names bound to runtime ``add``)."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Sub)):
        if _is_zero(node.left):
            return node.right if isinstance(node.op, gast.Add) else gast.UnaryOp(op=gast.USub(), operand=node.right)
        if _is_zero(node.right):
            return node.left
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id in adders \
            and len(node.args) == 2 and _is_zero(node.args[0]):
        return node.args[1]
    return node


def sink_zeros(stmts: list[gast.stmt], names: set[str], adders: set[str] = frozenset(),
               top: bool = True) -> list[gast.stmt]:
    """Defer ``n = 0.0`` for ``n`` in ``names`` until ``n`` is read; fold it into the first use."""
    out, pending = _sink(stmts, names, adders, set())
    if not top:
        out += _zeros(pending)
    return out


def _zeros(which) -> list[gast.stmt]:
    return [S.with_origin(S.assign(n, S.const(0.0)), None) for n in sorted(which)]


def _sink(stmts, names, adders, pending: set[str]) -> tuple[list[gast.stmt], set[str]]:
    """Sink zeros through ``stmts``, starting with ``pending`` known to be zero; returns (stmts, still zero)."""
    pending = set(pending)
    out: list[gast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name):
            target = stmt.targets[0].id
            if target in names and _is_zero(stmt.value):
                pending.add(target)
                continue
            used = S.loads(stmt.value) & pending
            if used:
                stmt = copy.copy(stmt)
                stmt.value = _simplify_add(S.substitute(stmt.value, {n: S.const(0.0) for n in used}), adders)
            pending.discard(target)
            out.append(stmt)
        elif isinstance(stmt, (gast.For, gast.While)):
            out += _sink_loop(stmt, names, adders, pending)
        elif isinstance(stmt, gast.With):  # its body runs once, here: as if inline
            stmt.body, pending = _sink(stmt.body, names, adders, pending)
            stmt.body = stmt.body or [gast.Pass()]
            out.append(stmt)
        elif isinstance(stmt, gast.If):
            touched = set(S.names_in(stmt)) & pending
            body, zb = _sink(stmt.body, names, adders, touched)
            orelse, zo = _sink(stmt.orelse, names, adders, touched)
            stmt.body = body + _zeros(zb - zo)        # zero on one path only: write it there
            stmt.orelse = orelse + _zeros(zo - zb)
            pending = (pending - touched) | (zb & zo)
            out.append(stmt)
        else:
            touched = set(S.names_in(stmt)) & pending
            out += _zeros(touched)
            pending -= touched
            out.append(stmt)
    return out, pending


def _sink_loop(stmt, names, adders, pending: set[str]) -> list[gast.stmt]:
    """A name zero before the loop and again at the end of every iteration stays implicit throughout."""
    touched = set(S.names_in(stmt)) & pending
    candidates = set(touched)
    while True:
        body, still = _sink(_blocks_copied(stmt.body), names, adders, candidates)
        if candidates <= still:
            break
        candidates &= still
    stmt.body = body + _zeros(still - candidates)
    before = _zeros(touched - candidates)
    pending -= touched - candidates
    return before + [stmt]


def drop_dead(stmts: list[gast.stmt], names: set[str], live_after: set[str],
              pure=None) -> tuple[list[gast.stmt], set[str]]:
    """Remove assignments to ``names`` that no later statement reads; returns (stmts, live before).

    An assignment whose value calls something is kept unless ``pure(call)`` vouches for every call.
    """
    live = set(live_after)
    out: list[gast.stmt] = []
    for stmt in reversed(stmts):
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name):
            target = stmt.targets[0].id
            if target in names and target not in live and not _has_call(stmt.value, pure):
                continue
            live.discard(target)
            live |= S.loads(stmt)
            out.append(stmt)
        elif isinstance(stmt, gast.If):
            stmt.body, lb = drop_dead(stmt.body, names, live, pure)
            stmt.orelse, lo = drop_dead(stmt.orelse, names, live, pure)
            live = lb | lo | S.loads(stmt.test)
            out.append(stmt)
        elif isinstance(stmt, gast.With):
            stmt.body, live = drop_dead(stmt.body, names, live, pure)
            live |= S.loads(stmt.items[0].context_expr)
            out.append(stmt)
        elif isinstance(stmt, (gast.For, gast.While)):
            loop_live = set(live)
            for _ in range(3):  # a loop's body sees what its next iteration reads
                body, before = drop_dead(_blocks_copied(stmt.body), names, loop_live | live, pure)
                if before <= loop_live:
                    break
                loop_live |= before
            stmt.body, before = drop_dead(stmt.body, names, loop_live | live, pure)
            live = live | before | S.loads(stmt.iter if isinstance(stmt, gast.For) else stmt.test)
            out.append(stmt)
        else:
            live |= S.loads(stmt)
            out.append(stmt)
    return list(reversed(out)), live


def _has_call(node, pure=None) -> bool:
    """Calls may have effects (a tape pop, a user function): such assignments are kept."""
    return any(isinstance(n, gast.Call) and (pure is None or not pure(n)) for n in S.walk(node))


def propagate_copies(stmts: list[gast.stmt], names: set[str]) -> list[gast.stmt]:
    """After ``a = b`` (both derivative names), read ``b`` where ``a`` is read, until either changes.

    Works within each straight-line block; ``drop_dead`` then removes copies nobody reads.
    """
    out: list[gast.stmt] = []
    copies = _Copies()  # a -> b
    for stmt in stmts:
        if isinstance(stmt, (gast.If, gast.For, gast.While, gast.With)):
            copies = _Copies()
            for field in _blocks(stmt):
                setattr(stmt, field, propagate_copies(getattr(stmt, field), names))
            out.append(stmt)
            continue
        if copies and isinstance(stmt, gast.Assign):
            stmt.value = S.substitute(stmt.value, copies)
        elif copies:
            stmt = S.substitute(stmt, copies)
        if isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Name) \
                and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id == stmt.value.id:
            continue  # x = x
        for name in S.stores(stmt):
            copies.forget(name)
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name) \
                and isinstance(stmt.value, gast.Name) and stmt.targets[0].id in names and stmt.value.id in names \
                and stmt.targets[0].id != stmt.value.id:
            copies.add(stmt.targets[0].id, stmt.value.id)
        out.append(stmt)
    return out


class _Copies:
    """The live copies ``a -> b`` of a block, as the mapping :func:`S.substitute` takes (``a`` -> Name ``b``),
    indexed both ways so that an assignment forgets the copies it breaks without a scan of all of them."""

    def __init__(self):
        self.source: dict[str, str] = {}        # a -> b
        self.copied: dict[str, set[str]] = {}   # b -> {a, ...}

    def __bool__(self) -> bool:
        return bool(self.source)

    def __contains__(self, name: str) -> bool:
        return name in self.source

    def __getitem__(self, name: str) -> gast.expr:
        return S.name(self.source[name])

    def add(self, a: str, b: str) -> None:
        self.source[a] = b
        self.copied.setdefault(b, set()).add(a)

    def forget(self, name: str) -> None:
        """``name`` is assigned: copies of it and copies into it end."""
        b = self.source.pop(name, None)
        if b is not None:
            self.copied[b].discard(name)
        for a in self.copied.pop(name, ()):
            del self.source[a]


def propagate_constants(stmts: list[gast.stmt], names: set[str]) -> list[gast.stmt]:
    """A derivative name set once, at the top, to a number before anything reads it: read the number.

    The gradient program's ``f_bar = 1.0`` so disappears into the rules it
    seeds, folded: ``t_bar = t_bar + f_bar * e`` reads ``t_bar = t_bar + e``.
    """
    from .inline import fold  # (inline's constant folding; imported here to keep the pass order one way)

    counts = _name_counts(stmts, gast.Store)
    constants: dict[str, gast.expr] = {}
    read: set[str] = set()
    for stmt in stmts:
        target = _single_target(stmt)
        if target in names and counts.get(target) == 1 and target not in read and _number(stmt.value):
            constants[target] = stmt.value
        read |= S.loads(stmt)
    if not constants:
        return stmts
    return [fold(S.substitute(stmt, constants)) for stmt in stmts if _single_target(stmt) not in constants]


def fuse_temporaries(stmts: list[gast.stmt], temporaries: set[str], protected: set[str], pure,
                     copies_only: bool = False) -> list[gast.stmt]:
    """Put a temporary's expression back where its single use is (the forward sweep reads like your code).

    ``t = e`` is folded into the one later statement of the same block that reads
    ``t`` when ``t`` is a compiler temporary nothing else reads (``protected``: the
    backward sweep's reads), ``e`` is pure (``pure(call)`` says which calls are),
    and nothing in between changes what ``e`` reads.  With ``copies_only``, only
    into a statement that is just ``v = t``, ``if t:`` or ``for v in t:`` (the tangent program keeps
    one operation per statement, without the copies normalisation left).
    """
    uses = _name_counts(stmts, gast.Load)
    return _fuse_block(stmts, temporaries, protected, pure, uses, copies_only)


def _fuse_block(stmts, temporaries, protected, pure, uses, copies_only):
    for stmt in stmts:
        for field in _blocks(stmt):
            setattr(stmt, field, _fuse_block(getattr(stmt, field), temporaries, protected, pure, uses, copies_only))
    block = _Block(stmts)
    out = block.stmts  # (a fused temporary's place becomes None, so that positions stay put)
    for i, stmt in enumerate(out):
        target = _single_target(stmt)
        if (target in temporaries and target not in protected and uses.get(target) == 1
                and _pure(stmt.value, pure)):
            j = block.use_site(i, target, S.loads(stmt.value))
            if j is not None and (not copies_only or _is_plain_use(out[j], target)):
                block.replace(j, _substitute_use(out[j], target, stmt.value))
                out[i] = None
    return [s for s in out if s is not None]


class _Block:
    """One block's statements indexed by position: which read each name, which change it (assign it, write
    into it, append to it), and which no expression moves past -- so that :meth:`use_site` answers what
    :func:`_use_site` does without scanning the statements in between (a temporary may be used far down)."""

    def __init__(self, stmts):
        self.stmts = list(stmts)
        self.loads: list[set[str]] = []
        self.loaded_at: dict[str, list[int]] = {}   # name -> positions (ascending) of the statements reading it
        self.changed_at: dict[str, list[int]] = {}  # name -> positions of the statements changing it
        self.stops: list[int] = []                  # compound statements, returns, calls other than appends
        for k, stmt in enumerate(self.stmts):
            compound = isinstance(stmt, (gast.If, gast.While, gast.For))
            loads, changed = (set(), set()) if compound else S.loads_and_stores(stmt)
            self.loads.append(loads)
            for name in loads:
                self.loaded_at.setdefault(name, []).append(k)
            if isinstance(stmt, gast.Assign):
                changed |= {t.value.id for t in stmt.targets
                            if isinstance(t, gast.Subscript) and isinstance(t.value, gast.Name)}
            elif isinstance(stmt, gast.Expr) and _is_append_to_other(stmt, ()):
                changed.add(stmt.value.func.value.id)
            else:
                self.stops.append(k)
            for name in changed:
                self.changed_at.setdefault(name, []).append(k)

    def use_site(self, i: int, target: str, reads: set[str]) -> int | None:
        """:func:`_use_site` of these statements (with the fused ones gone)."""
        k = min([_next(self.stops, i), _next(self.loaded_at.get(target, ()), i)]
                + [_next(self.changed_at.get(name, ()), i) for name in reads])
        if k >= len(self.stmts):
            return None
        stmt = self.stmts[k]
        if isinstance(stmt, (gast.If, gast.While, gast.For)):
            head = stmt.test if not isinstance(stmt, gast.For) else stmt.iter
            return k if target in S.loads(head) and target not in _loads_in_bodies(stmt) else None
        if target in self.loads[k]:
            return k if isinstance(stmt, (gast.Assign, gast.Expr, gast.Return)) else None
        return None

    def replace(self, k: int, stmt) -> None:
        """Statement ``k`` becomes ``stmt`` (the same one with an expression put in a temporary's place)."""
        self.stmts[k] = stmt
        if not isinstance(stmt, (gast.If, gast.While, gast.For)):
            loads = S.loads(stmt)
            for name in loads - self.loads[k]:
                bisect.insort(self.loaded_at.setdefault(name, []), k)
            self.loads[k] = loads  # (a name no longer read keeps its entry: read by nothing, never asked for)


def _next(positions, i: int) -> int:
    """The first of the ascending ``positions`` after ``i`` (a large number if none)."""
    k = bisect.bisect_right(positions, i)
    return positions[k] if k < len(positions) else 1 << 62


def _is_plain_use(stmt, name: str) -> bool:
    """``v = name``, ``if name:``, ``while name:`` or ``for v in name:``."""
    heads = {gast.If: "test", gast.While: "test", gast.For: "iter"}
    value = getattr(stmt, heads.get(type(stmt), "value"), None)
    return isinstance(value, gast.Name) and value.id == name and \
        (type(stmt) in heads or _single_target(stmt) is not None)


def _name_counts(stmts: list[gast.stmt], ctx: type) -> dict[str, int]:
    """How often each name occurs with context ``ctx`` (Load: read, Store: assigned) in ``stmts``."""
    counts: dict[str, int] = {}
    for stmt in stmts:
        for name in S.name_list(stmt, ctx):
            counts[name] = counts.get(name, 0) + 1
    return counts


def _single_target(stmt):
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name):
        return stmt.targets[0].id
    return None


def _pure(expr, pure) -> bool:
    for node in S.walk(expr):
        if isinstance(node, gast.Call) and not pure(node):
            return False
        if isinstance(node, (gast.Lambda, gast.NamedExpr, gast.Yield, gast.Await)):
            return False
    return True


def _use_site(stmts, i, target, reads, names=None):
    """Index of the statement after ``i`` that reads ``target``, if nothing in between disturbs ``reads``.

    ``names``: a :class:`_Names` shared by the calls of one pass (a temporary may be used far down its block).
    """
    names = names if names is not None else _Names()
    for j in range(i + 1, len(stmts)):
        stmt = stmts[j]
        if isinstance(stmt, (gast.If, gast.While, gast.For)):
            head = stmt.test if not isinstance(stmt, gast.For) else stmt.iter
            return j if target in S.loads(head) and target not in _loads_in_bodies(stmt) else None
        loads, stores = names.of(stmt)
        if target in loads:
            return j if isinstance(stmt, (gast.Assign, gast.Expr, gast.Return)) else None
        if stores & reads or _mutates(stmt, reads) or not isinstance(stmt, (gast.Assign, gast.Expr)):
            return None
        if isinstance(stmt, gast.Expr) and not _is_append_to_other(stmt, reads):
            return None
    return None


class _Names:
    """The names each statement reads and assigns, computed once per statement object."""

    def __init__(self):
        self.known: dict[int, tuple] = {}  # id(stmt) -> (stmt, loads, stores)

    def of(self, stmt) -> tuple[set[str], set[str]]:
        entry = self.known.get(id(stmt))
        if entry is None or entry[0] is not stmt:
            entry = self.known[id(stmt)] = (stmt, S.loads(stmt), S.stores(stmt))
        return entry[1], entry[2]

    def forget(self, stmt) -> None:
        self.known.pop(id(stmt), None)


def _loads_in_bodies(stmt) -> set[str]:
    names = set()
    for block in (stmt.body, stmt.orelse):
        for s in block:
            names |= S.loads(s)
    return names


def _mutates(stmt, names) -> bool:
    for target in getattr(stmt, "targets", []):
        if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) and target.value.id in names:
            return True
    return False


def _is_append_to_other(stmt, reads) -> bool:
    """``xs.append(v)`` (a tape push, say) on a list none of ``reads`` names: it changes nothing they hold."""
    call = stmt.value
    return isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) and call.func.attr == "append" \
        and isinstance(call.func.value, gast.Name) and call.func.value.id not in reads


def _substitute_use(stmt, target, expr):
    if isinstance(stmt, (gast.If, gast.While)):
        stmt.test = S.substitute(stmt.test, {target: expr})
        return stmt
    if isinstance(stmt, gast.For):
        stmt.iter = S.substitute(stmt.iter, {target: expr})
        return stmt
    return S.substitute(stmt, {target: expr})  # (also an index inside a target: a[t] = v)


def prune_empty(stmts: list[gast.stmt]) -> list[gast.stmt]:
    """Drop ``if``s and loops of the backward sweep that are left with nothing to do."""
    out = []
    for stmt in stmts:
        if _blocks(stmt):
            for block in _blocks(stmt):
                setattr(stmt, block, prune_empty(getattr(stmt, block)))
            if not any(not isinstance(s, gast.Pass) for block in _blocks(stmt) for s in getattr(stmt, block)):
                continue
        out.append(stmt)
    return out


def sum_before_product(stmts: list[gast.stmt], products: dict[str, int], narrowing: set[str],
                       names: set[str]) -> list[gast.stmt]:
    """``a = _matmul_adjoint(g, x, y, k)`` read once, as ``unbroadcast(a, t)``: one call with ``t``.

    ``_matmul_adjoint(g, x, y, k, t)`` sums the rows (or columns) that ``t`` does
    not keep before the matrix product, not after: for ``(X - b) @ W`` the
    gradient of ``b`` costs a vector-matrix product, not a matrix-matrix one.
    ``products``: the names of helpers declared ``narrows`` in the registry (as
    ``_matmul_adjoint``), with their argument count before ``like``; ``names``: adjoints.
    """
    uses = _name_counts(stmts, gast.Load)
    return _sum_before_block(stmts, products, narrowing, names, uses, _Names())


def _sum_before_block(stmts, products, narrowing, names, uses, seen):
    out = list(stmts)
    for stmt in out:
        for field in _blocks(stmt):
            setattr(stmt, field, _sum_before_block(getattr(stmt, field), products, narrowing, names, uses, seen))
    i = 0
    while i < len(out):
        target, value = _single_target(out[i]), getattr(out[i], "value", None)
        if target in names and uses.get(target) == 1 and isinstance(value, gast.Call) \
                and isinstance(value.func, gast.Name) and len(value.args) == products.get(value.func.id):
            j = _use_site(out, i, target, S.loads(value), seen)
            site = _narrowing_of(out[j], target, narrowing) if j is not None else None
            if site is not None:
                site.func, site.args = value.func, list(value.args) + [site.args[1]]
                seen.forget(out[j])  # (changed in place: it reads other names now)
                del out[i]
                continue
        i += 1
    return out


def _narrowing_of(stmt, name: str, narrowing: set[str]):
    """The call ``unbroadcast(name, t)`` in an assignment or return, if there is one."""
    if not isinstance(stmt, (gast.Assign, gast.Return, gast.Expr)):
        return None
    for node in S.walk(stmt):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id in narrowing \
                and len(node.args) == 2 and isinstance(node.args[0], gast.Name) and node.args[0].id == name:
            return node
    return None


def move_scales(stmts: list[gast.stmt], widening: set[str], narrowing: set[str]) -> list[gast.stmt]:
    """Apply constant factors (``* 2``, ``* 0.5``, unary minus) where the arrays are smallest.

    Fused adjoints collect factors from several rules, as in
    ``unreduce(-unbroadcast(g, t) * 0.5, t13, 2, False) * 2 * Qxc``: each factor
    is a pass over a full array.  Factors multiply out (here to ``-1``) and move
    into the argument of a ``widening`` call (``unreduce``, which spreads a small
    array over a large one) or out of a ``narrowing`` one (``unbroadcast``, which
    sums a large array into a small one): ``unreduce(-g, t13, 2, False) * Qxc``;
    two minus signs cancel (``-(-(g * t4 / t3) * t2)`` is ``g * t4 / t3 * t2``).
    Sums and other calls are boundaries; their operands are rewritten separately.
    """
    for stmt in stmts:
        if isinstance(stmt, (gast.Assign, gast.Return)) and stmt.value is not None:
            stmt.value = _Scales(widening, narrowing).rewrite(stmt.value)
        for block in _blocks(stmt):
            setattr(stmt, block, move_scales(getattr(stmt, block), widening, narrowing))
    return stmts


def _blocks_copied(stmts: list[gast.stmt]) -> list[gast.stmt]:
    """``stmts`` for a trial run of a pass that changes compound statements' blocks but never a simple
    statement (``_sink`` copies one before changing it; ``drop_dead`` only drops them): the compound
    statements are copied, block by block, the simple ones shared -- not a copy of every expression."""
    out = []
    for stmt in stmts:
        fields = _blocks(stmt)
        if fields:
            stmt = copy.copy(stmt)
            for field in fields:
                setattr(stmt, field, _blocks_copied(getattr(stmt, field)))
        out.append(stmt)
    return out


def _blocks(stmt) -> tuple[str, ...]:
    """The statement lists of a compound statement (none for a simple one)."""
    if isinstance(stmt, (gast.If, gast.For, gast.While)):
        return ("body", "orelse")
    if isinstance(stmt, gast.With):
        return ("body",)
    return ()


def _number(node) -> bool:
    return isinstance(node, gast.Constant) and type(node.value) in (int, float)


class _Scales:
    def __init__(self, widening: set[str], narrowing: set[str]):
        self.widening, self.narrowing = widening, narrowing

    def _call_to(self, node, names) -> bool:
        return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id in names \
            and bool(node.args) and not node.keywords

    def rewrite(self, node: gast.expr) -> gast.expr:
        moving = self.widening | self.narrowing
        signs = 0
        for n in S.walk(node):
            if self._call_to(n, moving):
                break
            signs += isinstance(n, gast.UnaryOp) and isinstance(n.op, gast.USub)
        else:
            if signs < 2:
                return node  # nothing to move past or cancel: keep the expression as the rules wrote it
        core, factor = self.split(node)
        return self.join(core, factor)

    def split(self, node: gast.expr) -> tuple[gast.expr, int | float]:
        """``(core, factor)`` with ``node == core * factor``; operands outside the product rewritten."""
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) and not _number(node.operand):
            core, factor = self.split(node.operand)
            return core, -factor
        if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
            if _number(node.right) and not _number(node.left):
                core, factor = self.split(node.left)
                return core, factor * node.right.value
            if _number(node.left) and not _number(node.right):
                core, factor = self.split(node.right)
                return core, node.left.value * factor
            left, lf = self.split(node.left)
            right, rf = self.split(node.right)
            return S.binop(left, gast.Mult(), right), lf * rf
        if self._call_to(node, self.narrowing):
            core, factor = self.split(node.args[0])
            inside = self.widen(core, factor)
            if inside is not None:
                return self._with_first(node, inside), 1
            return self._with_first(node, core), factor
        if self._call_to(node, self.widening):
            return self._with_first(node, self.rewrite(node.args[0])), 1
        for field, value in gast.iter_fields(node):  # a boundary: rewrite what is inside
            if isinstance(value, gast.expr):
                setattr(node, field, self.rewrite(value))
            elif isinstance(value, list):
                setattr(node, field, [self.rewrite(v) if isinstance(v, gast.expr) else v for v in value])
        return node, 1

    def widen(self, core: gast.expr, factor) -> gast.expr | None:
        """``core * factor`` with the factor inside a widening call of the product ``core``; None if none."""
        if factor == 1:
            return core
        if self._call_to(core, self.widening):
            inner, f = self.split(core.args[0])
            return self._with_first(core, self.join(inner, f * factor))
        if isinstance(core, gast.BinOp) and isinstance(core.op, gast.Mult):
            for side in ("left", "right"):
                placed = self.widen(getattr(core, side), factor)
                if placed is not None:
                    setattr(core, side, placed)
                    return core
        return None

    def join(self, core: gast.expr, factor) -> gast.expr:
        """``core * factor``, the factor applied inside a widening call of the product if there is one."""
        placed = self.widen(core, factor)
        if placed is not None:
            return placed
        if factor == -1:
            return gast.UnaryOp(op=gast.USub(), operand=core)
        if factor < 0:
            return gast.UnaryOp(op=gast.USub(), operand=S.binop(core, gast.Mult(), S.const(-factor)))
        return S.binop(core, gast.Mult(), S.const(factor))

    @staticmethod
    def _with_first(call: gast.Call, first: gast.expr) -> gast.Call:
        call.args = [first] + list(call.args[1:])
        return call


# ---------------------------------------------------------------- adjoints accumulated in place

def accumulate_in_place(stmts: list[gast.stmt], scatters: set[str], into) -> list[gast.stmt]:
    """``x_bar = add_at(x_bar, x, i, g)`` (``x_bar`` plus ``g`` at ``x[i]``, a new array) becomes
    ``x_bar = add_into(x_bar, x, i, g)`` (``x_bar[i] += g``) where ``x_bar`` certainly holds ``0.0`` or an
    adjoint no other name holds: what an earlier ``add_into`` (or ``add_at`` from ``0.0``) returned, with
    nothing reading ``x_bar`` since, on every path (a read may keep a reference: ``y_bar = x_bar``,
    ``tape.append(x_bar)``, ``unbroadcast(x_bar, y)`` returns it).  So the adjoint of an array read by
    several slices or rows is allocated once and each slice's adjoint added into it.

    ``scatters``: the names bound to ``add_at``; ``into()``: a Name for ``add_into`` (asked for only if used).
    """
    _Owned(scatters, into).block(stmts, frozenset(), True)
    return stmts


class _Owned:
    """Which names hold an adjoint nobody else holds, statement by statement (a forward data-flow
    analysis: a set, intersected where paths join, iterated to a fixed point around loops)."""

    def __init__(self, scatters: set[str], into):
        self.scatters, self.into = scatters, into
        self.exits: list[list] = []  # per enclosing loop: (Break or Continue, the set there)

    def block(self, stmts, owned: frozenset, rewrite: bool) -> frozenset:
        for stmt in stmts:
            owned = self.statement(stmt, owned, rewrite)
        return owned

    def statement(self, stmt, owned: frozenset, rewrite: bool) -> frozenset:
        if isinstance(stmt, gast.Assign):
            return self.assign(stmt, owned, rewrite)
        if isinstance(stmt, gast.If):
            owned = owned - S.loads(stmt.test)
            return self.block(stmt.body, owned, rewrite) & self.block(stmt.orelse, owned, rewrite)
        if isinstance(stmt, gast.For):
            return self.loop(stmt, owned - S.loads(stmt.iter), S.stores(stmt.target), frozenset(), rewrite)
        if isinstance(stmt, gast.While):
            return self.loop(stmt, owned, frozenset(), S.loads(stmt.test), rewrite)
        if isinstance(stmt, gast.With):
            owned = owned - set().union(*(S.loads(item) for item in stmt.items))
            return self.block(stmt.body, owned - set().union(*(S.stores(item) for item in stmt.items)), rewrite)
        if isinstance(stmt, (gast.Break, gast.Continue)) and self.exits:
            self.exits[-1].append((type(stmt), owned))
        return owned - S.loads(stmt) - S.stores(stmt)  # (anything else: whatever it reads or binds is shared)

    def assign(self, stmt: gast.Assign, owned: frozenset, rewrite: bool) -> frozenset:
        target = stmt.targets[0].id if len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name) else None
        call = stmt.value
        if target is not None and _is_zero(call):
            return owned | {target}
        if target is not None and isinstance(call, gast.Call) and isinstance(call.func, gast.Name) \
                and call.func.id in self.scatters and len(call.args) == 4 and not call.keywords:
            acc = call.args[0]
            owned = owned - set().union(*(S.loads(a) | S.stores(a) for a in call.args[1:]))
            if _is_zero(acc) or (isinstance(acc, gast.Name) and acc.id == target and target in owned):
                if rewrite:
                    call.func = self.into()
                return owned | {target}
        return owned - S.loads(stmt) - S.stores(stmt)

    def loop(self, stmt, owned: frozenset, targets: frozenset, test: frozenset, rewrite: bool) -> frozenset:
        """At the loop's head: what holds before it, after each iteration and at each ``continue``."""
        head = owned - test
        while True:
            self.exits.append([])
            end = self.block(stmt.body, head - targets, False)
            exits = self.exits.pop()
            again = head & (end - test)
            for kind, at in exits:
                if kind is gast.Continue:
                    again &= at - test
            if again == head:
                break
            head = again
        self.exits.append([])
        self.block(stmt.body, head - targets, rewrite)
        exits = self.exits.pop()
        after = self.block(stmt.orelse, head - targets, rewrite)
        for kind, at in exits:
            if kind is gast.Break:
                after &= at
        return after - targets


def join_slice_adjoints(stmts: list[gast.stmt], into: set[str], slicers: set[str], join, join_items,
                        fresh) -> list[gast.stmt]:
    """Two or more slices of one array read in a row (``x[0:b]``, ``x[b:2 * b]``, ...) have adjoints
    added into one buffer, ``x_bar = add_into(0.0, x, np.s_[0:b], g1)``, ``x_bar = add_into(x_bar, x,
    np.s_[b:t6], g2)``, ...; where nothing reads ``x_bar`` in between, the last becomes
    ``x_bar = join_slices(x, (0, b, b, t6, ...), (g1, g2, ...))``: one concatenate where the slices tile
    ``x`` (checked when it runs), the same additions otherwise.  Likewise the items of a tuple read each
    once (``h, c = cell(...)`` reads ``t[0]``, ``t[1]``): ``t_bar = join_items(t, (h_bar, c_bar))``, the
    adjoint as a list at once where ``t`` is a tuple or list of that length.  Each earlier piece stays where
    it was computed (a Name, or ``x_bar_part = g``), so the sweep's order and its line comments are
    unchanged.

    ``into``: the names bound to ``add_into``; ``slicers``: those bound to NumPy (``np.s_``); ``join()``,
    ``join_items()``: Names for ``join_slices``, ``join_items``; ``fresh(base)``: a new name."""
    _Chains(into, slicers, join, join_items, fresh).block(stmts)
    return stmts


class _Link(NamedTuple):
    """One ``target = add_into(acc, x, index, piece)`` of a chain: a slice ``np.s_[lower:upper]`` of the
    first axis, or an item ``i`` (a constant; ``lower``)."""
    target: str
    acc: str | None  # None: from 0.0
    x: str
    item: bool
    lower: gast.expr | None
    upper: gast.expr | None
    piece: gast.expr
    guarded: frozenset  # the names it reads: a new value of one ends the chain before it
    position: int = -1


class _Chains:
    """Chains of ``add_into`` of slices along the first axis (or of items) into one adjoint, statement by
    statement in one block (a compound statement ends every chain; its bodies are blocks of their own)."""

    def __init__(self, into, slicers, join, join_items, fresh):
        self.into, self.slicers, self.join, self.join_items, self.fresh = into, slicers, join, join_items, fresh
        self.dropped: set[int] = set()  # the links whose piece is a name (ids of their statements)

    def block(self, stmts: list[gast.stmt]) -> None:
        open_: dict[str, list[_Link]] = {}  # adjoint name -> its links so far
        for i, stmt in enumerate(stmts):
            if isinstance(stmt, (gast.If, gast.For, gast.While, gast.With, gast.Try)):
                self._close_all(stmts, open_)
                for field in ("body", "orelse", "finalbody"):
                    if getattr(stmt, field, None):
                        self.block(getattr(stmt, field))
                for handler in getattr(stmt, "handlers", None) or ():
                    self.block(handler.body)
                continue
            link = self._link(stmt)
            reads, stores = S.loads(stmt), S.stores(stmt)
            for name in list(open_):  # a chain ends where its adjoint is read, or what a link read changes
                links = open_[name]
                if link is not None and name == link.target and self._continues(link, links):
                    continue
                if name in reads or name in stores or any(stores & earlier.guarded for earlier in links):
                    self._close(stmts, name, open_.pop(name))
            if link is not None and link.acc is None:  # (from 0.0: a chain starts)
                open_[link.target] = []
            if link is not None and link.target in open_:
                open_[link.target].append(link._replace(position=i))
        self._close_all(stmts, open_)
        if self.dropped:
            stmts[:] = [s for s in stmts if id(s) not in self.dropped]

    def _link(self, stmt) -> _Link | None:
        """The link ``stmt`` is, if it is one."""
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)):
            return None
        call = stmt.value
        if not (isinstance(call, gast.Call) and isinstance(call.func, gast.Name) and call.func.id in self.into
                and len(call.args) == 4 and not call.keywords):
            return None
        acc, x, index, piece = call.args
        target = stmt.targets[0].id
        if not isinstance(x, gast.Name) or not (_is_zero(acc) or isinstance(acc, gast.Name) and acc.id == target):
            return None
        guarded = frozenset(S.loads(x) | S.loads(index) | S.loads(piece))
        start = None if _is_zero(acc) else target
        if isinstance(index, gast.Constant) and type(index.value) is int and index.value >= 0:
            return _Link(target, start, x.id, True, index, None, piece, guarded)
        if isinstance(index, gast.Subscript) and isinstance(index.slice, gast.Slice) and index.slice.step is None \
                and isinstance(index.value, gast.Attribute) and index.value.attr == "s_" \
                and isinstance(index.value.value, gast.Name) and index.value.value.id in self.slicers:
            return _Link(target, start, x.id, False, index.slice.lower, index.slice.upper, piece, guarded)
        return None

    @staticmethod
    def _continues(link: _Link, links: list[_Link]) -> bool:
        """Does ``link`` add into the chain's adjoint, of the same array and the same kind of index, without
        reading that adjoint?"""
        return link.acc is not None and bool(links) and link.x == links[0].x and link.item == links[0].item \
            and link.target not in link.guarded

    def _close_all(self, stmts, open_) -> None:
        for name in list(open_):
            self._close(stmts, name, open_.pop(name))

    def _close(self, stmts, name: str, links: list[_Link]) -> None:
        """The last link becomes ``join_slices`` (``join_items``); the earlier ones keep their piece in place."""
        if len(links) < 2:
            return
        if links[0].item:  # items 0, 1, ..., n - 1, each once: in that order
            order = sorted(links, key=lambda link: link.lower.value)
            if [link.lower.value for link in order] != list(range(len(links))):
                return
        else:
            order = links[::-1]  # (the backward sweep meets the slices last to first)
        pieces = [self._piece(stmts, name, link, link is links[-1]) for link in order]
        last = stmts[links[-1].position]
        if links[0].item:
            last.value = S.call(self.join_items(), [S.name(links[0].x), S.tuple_(pieces)])
            return
        bounds = []
        for link in order:
            bounds += [S.clone(end) if end is not None else S.const(None) for end in (link.lower, link.upper)]
        last.value = S.call(self.join(), [S.name(links[0].x), S.tuple_(bounds), S.tuple_(pieces)])

    def _piece(self, stmts, name: str, link: _Link, last: bool) -> gast.expr:
        """The piece of ``link`` as the join reads it: its expression at the last link, else a name computed
        where the link was (the link removed when its piece is a name already)."""
        if last or isinstance(link.piece, gast.Name):
            if not last:
                self.dropped.add(id(stmts[link.position]))
            return link.piece
        part = self.fresh(f"{name}_part")
        stmt = stmts[link.position]
        stmt.targets = [S.store(part)]
        stmt.value = link.piece
        return S.name(part)
