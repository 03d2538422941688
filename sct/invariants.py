"""Checks every generated program can be held to, run by the tests on each one.

A derivative program is built from trees and printed; these are the properties
that make the printed text mean what the tree meant, whatever the user wrote:

* the source text parses back to the tree it was printed from (no precedence
  lost, no name that only the tree could tell apart);
* no name the program assigns is a keyword, a soft keyword, or a global or
  builtin name the program also reads (which Python would then treat as local);
* every local name is assigned on every path before it is read (loops are
  taken to run at least once, as the user's own code may assume).

:func:`check` raises :class:`InvariantError` (an internal error: a bug in sct,
never the user's) naming the program and what failed.  The compiler calls it
when the environment variable ``SCT_CHECK_INVARIANTS`` is set, as the test
suite's ``conftest.py`` does; users pay nothing for it.
"""
from __future__ import annotations

import ast
import builtins
import copy
import keyword
import operator
import os

ENV = "SCT_CHECK_INVARIANTS"


class InvariantError(AssertionError):
    """A generated program broke an invariant: a bug in sct."""


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def check(tree: ast.Module, source: str, name: str, primal: ast.FunctionDef | None = None) -> None:
    """Check the program ``name``, printed as ``source`` from ``tree`` (a standard-library ``ast`` tree),
    derived from the function ``primal``."""
    _round_trips(tree, source, name)
    fn = next(node for node in tree.body if isinstance(node, ast.FunctionDef))
    _names_are_safe(fn, name, primal)
    _assigned_before_read(fn, name)


def _round_trips(tree: ast.Module, source: str, name: str) -> None:
    printed = ast.dump(_Canonical().visit(_without_docstrings(ast.parse(source))))
    built = ast.dump(_Canonical().visit(_without_docstrings(copy.deepcopy(tree))))
    if printed != built:
        at = next((i for i, (a, b) in enumerate(zip(printed, built)) if a != b), min(len(printed), len(built)))
        raise InvariantError(f"{name}: the printed source does not parse back to its tree; first difference "
                             f"at ...{printed[max(0, at - 80):at + 80]}... versus ...{built[max(0, at - 80):at + 80]}...")


class _Canonical(ast.NodeTransformer):
    """Spellings that print alike: a negative literal in the tree is ``-`` applied to a literal in the text."""

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and type(node.operand.value) in (int, float, complex):
            return ast.Constant(value=-node.operand.value)
        return node

    def visit_Constant(self, node):
        return ast.Constant(value=node.value)  # (drop `kind`)

    def visit_BinOp(self, node):
        """Arithmetic on two number literals, as the optimizer folds it in one sweep's copy of a test
        (``math.sqrt(0.28 ** 2 + 0.5)`` becomes ``math.sqrt(0.07840000000000001 + 0.5)``)."""
        self.generic_visit(node)
        fold = _FOLDABLE.get(type(node.op))
        if fold is not None and all(isinstance(v, ast.Constant) and type(v.value) in (int, float)
                                    for v in (node.left, node.right)) \
                and not (isinstance(node.op, ast.Pow) and abs(node.right.value) > 64):  # (no huge powers)
            try:
                return ast.Constant(value=fold(node.left.value, node.right.value))
            except (ArithmeticError, ValueError):
                return node
        return node


_FOLDABLE = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
             ast.Pow: operator.pow, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}


def _without_docstrings(tree):
    """Comments are string statements in the tree and ``#`` lines in the text: drop them from both."""
    for node in ast.walk(tree):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                kept = [s for s in block if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                                 and isinstance(s.value.value, str))]
                setattr(node, field, kept or [ast.Pass()])
    return tree


def _names_are_safe(fn: ast.FunctionDef, name: str, primal: ast.FunctionDef | None) -> None:
    assigned = _assigned_names(fn)
    reserved = {n for n in assigned if keyword.iskeyword(n) or keyword.issoftkeyword(n) and n != "_"}
    if reserved:
        raise InvariantError(f"{name} assigns the keyword(s) {sorted(reserved)}")
    if primal is None:
        return
    # a name sct made up must not be one the user's function reads from its module or builtins
    own = _assigned_names(primal)
    outside = {node.id for node in ast.walk(primal) if isinstance(node, ast.Name)
               and isinstance(node.ctx, ast.Load) and node.id not in own}
    shadowed = (assigned - own) & outside
    if shadowed:
        raise InvariantError(f"{name} assigns {sorted(shadowed)}, which the differentiated function reads "
                             f"as a global or builtin")


def _assigned_names(fn: ast.FunctionDef) -> set[str]:
    out = {a.arg for a in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs}
    out |= {a.arg for a in (fn.args.vararg, fn.args.kwarg) if a is not None}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
    return out


def _assigned_before_read(fn: ast.FunctionDef, name: str) -> None:
    local = _assigned_names(fn)
    params = {a.arg for a in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs}
    params |= {a.arg for a in (fn.args.vararg, fn.args.kwarg) if a is not None}
    stores: dict[str, int] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stores[node.id] = stores.get(node.id, 0) + 1
    once = {n for n, count in stores.items() if count == 1 and n not in params}
    _Flow(local, name, once).block(fn.body, set(params))


def _test_key(test: ast.expr, definitions: dict | None = None) -> str:
    """A branch test as printed, negative numbers folded: the two sweeps' copies of one test may be
    different trees (``-0.97`` folded to a constant in one, ``-(0.97)`` in the other), and a temporary
    assigned once is read through its definition (the forward sweep's ``t17 = t16 ** 3; if t17 > t18``
    is the backward sweep's recomputed ``t22 = t16 ** 3 > t18; if t22``)."""
    tree = copy.deepcopy(test)
    if definitions:
        tree = _Inlined(definitions).visit(tree)
    return ast.unparse(ast.fix_missing_locations(_Canonical().visit(tree)))


class _Inlined(ast.NodeTransformer):
    """Names replaced by the expressions they were assigned once (to a few levels)."""

    def __init__(self, definitions: dict, depth: int = 4):
        self.definitions, self.depth = definitions, depth

    def visit_Name(self, node):
        value = self.definitions.get(node.id)
        if value is None or not self.depth or not isinstance(node.ctx, ast.Load):
            return node
        return _Inlined(self.definitions, self.depth - 1).visit(copy.deepcopy(value))


class _Flow:
    """Definite assignment over a function body: which local names hold a value at each statement."""

    def __init__(self, local: set[str], name: str, once: set[str] = frozenset()):
        self.local, self.name, self.once = local, name, once
        self.definitions: dict[str, ast.expr] = {}  # a name assigned once -> its expression
        self.current = None  # the statement being checked, for messages
        self.values: dict[str, str] = {}  # a name assigned a comparison -> that comparison
        self.branches: dict[str, tuple[set[str], set[str]]] = {}  # test -> names each branch defined
        self.strict = True   # off while a loop body is first walked to learn what an iteration defines
        self.broke: list[set[str]] = []  # the names defined at each `break` of the innermost loop

    def block(self, stmts, defined: set[str]) -> set[str] | None:
        """The names defined after ``stmts`` (``None``: control never falls through)."""
        for stmt in stmts:
            defined = self.stmt(stmt, defined)
            if defined is None:
                return None
        return defined

    def reads(self, node, defined: set[str]) -> None:
        if node is None:
            return
        bound = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.comprehension):
                bound |= {n.id for n in ast.walk(sub.target) if isinstance(n, ast.Name)}
            elif isinstance(sub, ast.Lambda):
                bound |= {a.arg for a in sub.args.args}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id not in bound:
                self._read(sub, defined)

    def _read(self, name: ast.Name, defined: set[str]) -> None:
        if self.strict and name.id in self.local and name.id not in defined:
            where = ast.unparse(ast.fix_missing_locations(self.current)).splitlines()[0] if self.current else ""
            raise InvariantError(f"{self.name} reads `{name.id}` on a path where it was never assigned: {where}")

    def targets(self, target, defined: set[str]) -> set[str]:
        for sub in ast.walk(target):  # subscripts and attributes in a target read their base
            if isinstance(sub, (ast.Subscript, ast.Attribute)):
                self.reads(sub.value, defined)
                if isinstance(sub, ast.Subscript):
                    self.reads(sub.slice, defined)
        return defined | {n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}

    def stmt(self, stmt, defined: set[str]) -> set[str] | None:
        self.current = stmt
        if isinstance(stmt, ast.Assign):
            self.reads(stmt.value, defined)
            if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                if stmt.targets[0].id in self.once:
                    self.definitions[stmt.targets[0].id] = stmt.value
                if isinstance(stmt.value, ast.Compare):
                    self.values[stmt.targets[0].id] = _test_key(stmt.value, self.definitions)
            for target in stmt.targets:
                defined = self.targets(target, defined)
            return defined
        if isinstance(stmt, ast.AugAssign):
            self.reads(stmt.value, defined)
            if isinstance(stmt.target, ast.Name):
                self._read(stmt.target, defined)
            return self.targets(stmt.target, defined)
        if isinstance(stmt, ast.AnnAssign):
            self.reads(stmt.value, defined)
            return self.targets(stmt.target, defined) if stmt.value is not None else defined
        if isinstance(stmt, ast.If):
            self.reads(stmt.test, defined)
            if isinstance(stmt.test, ast.Constant):  # `if False:` -- only one branch runs
                return self.block(stmt.body if stmt.test.value else stmt.orelse, defined)
            # the backward sweep's `if t1:` takes the branch the forward sweep's `if t1:` took
            key = _test_key(stmt.test, self.definitions)
            if isinstance(stmt.test, ast.Name):  # (a test recomputed into a name: `t1 = x > 0; if t1:`)
                key = self.values.get(stmt.test.id, key)
            known_body, known_orelse = self.branches.get(key, (set(), set()))
            body = self.block(stmt.body, defined | known_body)
            orelse = self.block(stmt.orelse, defined | known_orelse)
            # (a test seen again, `if returned:` in a loop and after it: a branch defines what any
            # occurrence of it defined, so the backward sweep's copy of the last one knows its names)
            seen_body, seen_orelse = self.branches.get(key, (set(), set()))  # (also a nested copy's)
            self.branches[key] = (seen_body | (body or set()), seen_orelse | (orelse or set()))
            if body is None or orelse is None:
                return body if orelse is None else orelse
            return body & orelse
        if isinstance(stmt, (ast.For, ast.While)):
            if isinstance(stmt, ast.For):
                self.reads(stmt.iter, defined)
                inner = self.targets(stmt.target, defined)
                always = False
            else:
                self.reads(stmt.test, defined)
                inner = defined
                always = isinstance(stmt.test, ast.Constant) and bool(stmt.test.value)
            after = self._loop_body(stmt.body, inner)
            if always:  # `while True`: left by a break, whose defined names we collected
                return after
            self.block(stmt.orelse, defined)
            return after  # (loops are taken to run at least once)
        if isinstance(stmt, ast.With):  # its body runs once, where it stands
            for item in stmt.items:
                self.reads(item.context_expr, defined)
                if item.optional_vars is not None:
                    defined = self.targets(item.optional_vars, defined)
            return self.block(stmt.body, defined)
        if isinstance(stmt, (ast.Return, ast.Raise)):
            self.reads(getattr(stmt, "value", None) or getattr(stmt, "exc", None), defined)
            return None
        if isinstance(stmt, (ast.Break, ast.Continue)):
            if isinstance(stmt, ast.Break):
                self.broke.append(set(defined))
            return None
        if isinstance(stmt, (ast.Expr, ast.Assert)):
            self.reads(stmt, defined)
            return defined
        if isinstance(stmt, ast.Delete):
            return defined - {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        if isinstance(stmt, ast.Pass):
            return defined
        self.reads(stmt, defined)  # anything else: its reads, and no names defined
        return defined

    def _loop_body(self, body, inner: set[str]) -> set[str]:
        """The names defined after the loop; the body is checked with what one iteration leaves defined
        (a name set late in an iteration may be read early in the next)."""
        outer_breaks, strict = self.broke, self.strict
        self.broke, self.strict = [], False
        end = self.block(body, inner)
        exits = [e for e in (end,) if e is not None] + self.broke
        again = (set.intersection(*exits) if exits else set()) | inner
        self.broke, self.strict = [], strict
        end = self.block(body, again)
        exits = [e for e in (end,) if e is not None] + self.broke
        self.broke = outer_breaks
        return set.intersection(*exits) if exits else inner
