"""Small builders and queries for gast trees, so passes read as what they build.

Every pass in sct works on gast nodes (the version-independent AST); these
helpers keep the constructors' many ``None`` fields out of the passes.
"""
from __future__ import annotations

import ast
from collections import deque
from typing import Iterable, Iterator

import gast


def name(id_: str, ctx: type = gast.Load) -> gast.Name:
    return gast.Name(id=id_, ctx=ctx(), annotation=None, type_comment=None)


def store(id_: str) -> gast.Name:
    return name(id_, gast.Store)


def const(value) -> gast.Constant:
    return gast.Constant(value=value, kind=None)


def attr(value: gast.expr, attr_: str) -> gast.Attribute:
    return gast.Attribute(value=value, attr=attr_, ctx=gast.Load())


def call(func: gast.expr | str, args: Iterable[gast.expr] = (), keywords: dict | None = None) -> gast.Call:
    if isinstance(func, str):
        func = dotted(func)
    kws = [gast.keyword(arg=k, value=v) for k, v in (keywords or {}).items()]
    return gast.Call(func=func, args=list(args), keywords=kws)


def dotted(path: str) -> gast.expr:
    """``"np.linalg.inv"`` as a Name/Attribute chain."""
    head, *rest = path.split(".")
    node: gast.expr = name(head)
    for part in rest:
        node = attr(node, part)
    return node


def assign(target: str | gast.expr, value: gast.expr) -> gast.Assign:
    if isinstance(target, str):
        target = store(target)
    return gast.Assign(targets=[target], value=value, type_comment=None)


def binop(left: gast.expr, op: gast.operator, right: gast.expr) -> gast.BinOp:
    return gast.BinOp(left=left, op=op, right=right)


def add(left: gast.expr, right: gast.expr) -> gast.BinOp:
    return binop(left, gast.Add(), right)


def tuple_(elts: Iterable[gast.expr], ctx: type = gast.Load) -> gast.Tuple:
    return gast.Tuple(elts=list(elts), ctx=ctx())


def expr_stmt(value: gast.expr) -> gast.Expr:
    return gast.Expr(value=value)


def if_(test: gast.expr, body: list, orelse: list | None = None) -> gast.If:
    return gast.If(test=test, body=body or [gast.Pass()], orelse=orelse or [])


def for_(target: str | gast.expr, iter_: gast.expr, body: list) -> gast.For:
    if isinstance(target, str):
        target = store(target)
    return gast.For(target=target, iter=iter_, body=body or [gast.Pass()], orelse=[], type_comment=None)


def function_def(name_: str, args: gast.arguments, body: list) -> gast.FunctionDef:
    """A ``def`` node (``type_params`` only where this gast version has that field)."""
    fields = dict(name=name_, args=args, body=body, decorator_list=[], returns=None, type_comment=None)
    if "type_params" in gast.FunctionDef._fields:
        fields["type_params"] = []
    return gast.FunctionDef(**fields)


def ret(value: gast.expr | None) -> gast.Return:
    return gast.Return(value=value)


def is_atom(node: gast.AST) -> bool:
    """A Name or a Constant: what three-address form allows as an operand."""
    return isinstance(node, (gast.Name, gast.Constant))


def walk(node: gast.AST) -> Iterator[gast.AST]:
    """``ast.walk`` (same nodes, same breadth-first order), without its generator per node."""
    todo = deque([node])
    pop, push, AST = todo.popleft, todo.append, ast.AST  # (locals: every pass walks every statement)
    while todo:
        node = pop()
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, AST):
                        push(item)
            elif isinstance(value, AST):
                push(value)
        yield node


def names_in(node: gast.AST, ctx: type | None = None) -> Iterator[str]:
    """Every Name id under ``node`` (optionally only those with context ``ctx``)."""
    for sub in walk(node):
        if isinstance(sub, gast.Name) and (ctx is None or isinstance(sub.ctx, ctx)):
            yield sub.id


def loads(node: gast.AST) -> set[str]:
    return set(names_in(node, gast.Load))


def stores(node: gast.AST) -> set[str]:
    return set(names_in(node, (gast.Store, gast.Param)))


def clone(node):
    """A deep copy of a tree that shares (does not copy) sct's annotations (``sct_*`` attributes)."""
    if isinstance(node, list):
        return [clone(n) for n in node]
    if not isinstance(node, gast.AST):
        return node
    new = node.__class__.__new__(node.__class__)  # (copy.copy, without its pickling protocol)
    new.__dict__.update(node.__dict__)
    for field in node._fields:
        setattr(new, field, clone(getattr(node, field, None)))
    return new


def with_origin(node: gast.stmt, origin) -> gast.stmt:
    """Tag a generated statement with the user statement it comes from."""
    node.sct_origin = origin
    return node


def origin_of(node: gast.AST):
    return getattr(node, "sct_origin", None)


def substitute(expr: gast.AST, mapping: dict[str, gast.expr]) -> gast.AST:
    """A copy of ``expr`` (or a statement) with every loaded Name in ``mapping`` replaced by a copy of its value."""

    return _Substitute(mapping).visit(clone(expr))


class _Substitute(gast.NodeTransformer):
    def __init__(self, mapping: dict[str, gast.expr]):
        self.mapping = mapping

    def visit_Name(self, node):
        if isinstance(node.ctx, gast.Load) and node.id in self.mapping:
            return clone(self.mapping[node.id])
        return node


def unparse(node: gast.AST) -> str:
    """Python source of an expression (for messages)."""
    return ast.unparse(gast.gast_to_ast(node))


def locate(stmt: gast.AST) -> gast.AST:
    """The most precise user node behind a generated statement (for error messages)."""
    for candidate in (getattr(stmt, "sct_expr", None), origin_of(stmt), stmt):
        if candidate is not None and getattr(candidate, "lineno", None) is not None:
            return candidate
    return stmt
