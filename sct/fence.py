"""Pass 2 — fence: refuse, up front and located, the syntax sct does not differentiate.

Input: a :class:`~sct.parse.Parsed` function.  Output: nothing; raises
:class:`~sct.errors.UnsupportedSyntaxError` at the first unsupported node, naming
the construct, the file, line and column, with a hint.  Later passes may then
assume only the constructs listed in ``_ALLOWED_STMTS`` and ``_ALLOWED_EXPRS``.
"""
from __future__ import annotations

import gast

from .errors import UnsupportedSyntaxError
from .parse import Parsed

# node type -> (what to call it, what to do instead)
_REFUSED = {
    gast.Try: ("a `try` statement", "move the error handling outside the differentiated function"),
    gast.With: ("a `with` statement", "move the context manager outside the differentiated function"),
    gast.AsyncWith: ("an `async with` statement", None),
    gast.AsyncFor: ("an `async for` loop", None),
    gast.AsyncFunctionDef: ("an `async def`", None),
    gast.Await: ("`await`", None),
    gast.Yield: ("`yield` (a generator)", "return a list instead"),
    gast.YieldFrom: ("`yield from` (a generator)", "return a list instead"),
    gast.Global: ("a `global` statement", "pass the value in as an argument and return the new one"),
    gast.Nonlocal: ("a `nonlocal` statement", "pass the value in as an argument and return the new one"),
    gast.ClassDef: ("a class definition", "define the class outside the differentiated function"),
    gast.FunctionDef: ("a nested function definition",
                       "define the helper at module level (or in the enclosing scope); sct differentiates calls to it"),
    gast.Lambda: ("a lambda", "define the helper with def at module level; sct differentiates calls to it"),
    gast.Delete: ("a `del` statement", None),
    gast.Import: ("an import inside the function", "import at module level"),
    gast.ImportFrom: ("an import inside the function", "import at module level"),
    gast.NamedExpr: ("an assignment expression (:=)", "assign in a statement of its own"),
    gast.Dict: ("a dict display", "use a tuple or list, or separate variables"),
    gast.DictComp: ("a dict comprehension", "use a list"),
    gast.Set: ("a set display", "use a tuple or list"),
    gast.SetComp: ("a set comprehension", "use a list"),
    gast.Starred: ("a starred expression (*args)", "pass the arguments one by one"),
}
_MATCH = getattr(gast, "Match", None)
if _MATCH is not None:
    _REFUSED[_MATCH] = ("a `match` statement", "use if/elif")
_TRYSTAR = getattr(gast, "TryStar", None)
if _TRYSTAR is not None:
    _REFUSED[_TRYSTAR] = ("a `try` statement", "move the error handling outside the differentiated function")


def check(parsed: Parsed) -> None:
    """Raise UnsupportedSyntaxError at the first construct sct cannot differentiate."""
    fn = parsed.node
    _check_signature(parsed)
    for stmt in fn.body:
        for node in gast.walk(stmt):
            _check_node(parsed, node)


def _refuse(parsed: Parsed, node: gast.AST, what: str, hint: str | None = None):
    raise UnsupportedSyntaxError(f"sct cannot differentiate {what}", parsed.location(node), hint)


def _check_signature(parsed: Parsed) -> None:
    args = parsed.node.args
    if args.vararg is not None:
        _refuse(parsed, args.vararg, "a function with *args", "name each parameter")
    if args.kwarg is not None:
        _refuse(parsed, args.kwarg, "a function with **kwargs", "name each parameter")


def _check_node(parsed: Parsed, node: gast.AST) -> None:
    for kind, (what, hint) in _REFUSED.items():
        if isinstance(node, kind):
            _refuse(parsed, node, what, hint)
    if isinstance(node, (gast.For, gast.While)) and node.orelse:
        _refuse(parsed, node, f"a `{type(node).__name__.lower()} ... else` clause",
                "use a flag variable set before `break`")
    if isinstance(node, (gast.Assign, gast.AugAssign)):
        targets = node.targets if isinstance(node, gast.Assign) else [node.target]
        for target in targets:
            _check_target(parsed, target)
    if isinstance(node, gast.For):
        _check_target(parsed, node.target)
    if isinstance(node, gast.Call):
        for kw in node.keywords:
            if kw.arg is None:
                _refuse(parsed, node, "a call with **keywords", "pass the keyword arguments by name")
    if isinstance(node, (gast.ListComp, gast.GeneratorExp)):
        for gen in node.generators:
            if gen.is_async:
                _refuse(parsed, node, "an async comprehension")
            _check_target(parsed, gen.target)


def _check_target(parsed: Parsed, target: gast.AST) -> None:
    if isinstance(target, gast.Name):
        return
    if isinstance(target, (gast.Tuple, gast.List)):
        for elt in target.elts:
            _check_target(parsed, elt)
        return
    if isinstance(target, gast.Subscript):
        if isinstance(target.value, gast.Name):
            return
        _refuse(parsed, target, "an assignment into a nested subscript or attribute (a[i][j] = ...)",
                "index once with a tuple: a[i, j] = ...")
    if isinstance(target, gast.Attribute):
        _refuse(parsed, target, "an assignment to an attribute (obj.x = ...)",
                "keep the value in a local variable")
    _refuse(parsed, target, f"an assignment to {type(target).__name__}")
