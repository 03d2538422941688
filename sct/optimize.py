"""Pass 6 — optimize: fewer statements, same numbers.

Input and output: statement lists of the generated function.

* ``sink_zeros``: an adjoint initialised to ``0.0`` is not materialised until
  something reads it; the first ``x_bar = x_bar + e`` becomes ``x_bar = e``.
  Adjoints nobody reaches are never written.
* ``drop_dead``: assignments to derivative names whose value is never read again
  are removed (e.g. the adjoint of a statement's inputs when those inputs are
  constants).
"""
from __future__ import annotations

import copy

import gast

from . import syntax as S


def _is_zero(node) -> bool:
    return isinstance(node, gast.Constant) and type(node.value) is float and node.value == 0.0


def _simplify_add(node: gast.expr, adders: set[str]) -> gast.expr:
    """``0.0 + e`` -> ``e``; ``add(0.0, e)`` -> ``e`` (``adders``: the names bound to runtime ``add``)."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Add):
        if _is_zero(node.left):
            return node.right
        if _is_zero(node.right):
            return node.left
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id in adders \
            and len(node.args) == 2 and _is_zero(node.args[0]):
        return node.args[1]
    return node


def sink_zeros(stmts: list[gast.stmt], names: set[str], adders: set[str] = frozenset(), top: bool = True) -> list[gast.stmt]:
    """Defer ``n = 0.0`` for ``n`` in ``names`` until ``n`` is read; fold it into the first use."""
    pending: set[str] = set()
    out: list[gast.stmt] = []

    def materialize(which):
        for n in sorted(which):
            out.append(S.with_origin(S.assign(n, S.const(0.0)), None))
        pending.difference_update(which)

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
            continue
        if isinstance(stmt, (gast.If, gast.For, gast.While)):
            touched = set(S.names_in(stmt)) & pending
            materialize(touched)
            stmt.body = sink_zeros(stmt.body, names, adders, top=False)
            stmt.orelse = sink_zeros(stmt.orelse, names, adders, top=False)
            out.append(stmt)
            continue
        touched = set(S.names_in(stmt)) & pending
        materialize(touched)
        out.append(stmt)
    if not top:
        materialize(set(pending))
    return out


def drop_dead(stmts: list[gast.stmt], names: set[str], live_after: set[str]) -> tuple[list[gast.stmt], set[str]]:
    """Remove assignments to ``names`` that no later statement reads; returns (stmts, live before)."""
    live = set(live_after)
    out: list[gast.stmt] = []
    for stmt in reversed(stmts):
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name):
            target = stmt.targets[0].id
            if target in names and target not in live and not _has_call(stmt.value, "pop"):
                continue
            live.discard(target)
            live |= S.loads(stmt)
            out.append(stmt)
        elif isinstance(stmt, gast.If):
            stmt.body, lb = drop_dead(stmt.body, names, live)
            stmt.orelse, lo = drop_dead(stmt.orelse, names, live)
            live = lb | lo | S.loads(stmt.test)
            out.append(stmt)
        elif isinstance(stmt, (gast.For, gast.While)):
            loop_live = set(live)
            for _ in range(3):  # a loop's body sees what its next iteration reads
                body, before = drop_dead(S.clone(stmt.body), names, loop_live | live)
                if before <= loop_live:
                    break
                loop_live |= before
            stmt.body, before = drop_dead(stmt.body, names, loop_live | live)
            live = live | before | S.loads(stmt.iter if isinstance(stmt, gast.For) else stmt.test)
            out.append(stmt)
        else:
            live |= S.loads(stmt)
            out.append(stmt)
    return list(reversed(out)), live


def _has_call(node, attr: str) -> bool:
    return any(isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) and n.func.attr == attr
               for n in gast.walk(node))
