"""Small builders and queries for gast trees, so passes read as what they build.

Every pass in sct works on gast nodes (the version-independent AST); these
helpers keep the constructors' many ``None`` fields out of the passes.
"""
from __future__ import annotations

import ast
from collections import deque
from types import MappingProxyType
from typing import Callable, Iterable, Iterator, Mapping

import gast


def _node(cls: type, **fields) -> gast.AST:
    """``cls(**fields)`` without gast's constructor (a Python function per node: passes build tens of
    thousands of nodes); the same node, its fields in its ``__dict__``."""
    node = cls.__new__(cls)
    node.__dict__ = fields
    return node


def _context(ctx: type) -> gast.expr_context:
    """The shared instance of a context class (CPython's parser shares them too: a leaf, which nothing in sct
    changes), or a new one of another class."""
    shared = _CONTEXTS.get(ctx)
    return ctx() if shared is None else shared


_CONTEXTS = MappingProxyType({ctx: ctx() for ctx in (gast.Load, gast.Store, gast.Del, gast.Param)})


def name(id_: str, ctx: type = gast.Load) -> gast.Name:
    return _node(gast.Name, id=id_, ctx=_context(ctx), annotation=None, type_comment=None)


def store(id_: str) -> gast.Name:
    return name(id_, gast.Store)


def const(value) -> gast.Constant:
    return _node(gast.Constant, value=value, kind=None)


def attr(value: gast.expr, attr_: str) -> gast.Attribute:
    return _node(gast.Attribute, value=value, attr=attr_, ctx=_context(gast.Load))


def call(func: gast.expr | str, args: Iterable[gast.expr] = (), keywords: dict | None = None) -> gast.Call:
    if isinstance(func, str):
        func = dotted(func)
    kws = [_node(gast.keyword, arg=k, value=v) for k, v in (keywords or {}).items()]
    return _node(gast.Call, func=func, args=list(args), keywords=kws)


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
    return _node(gast.Assign, targets=[target], value=value, type_comment=None)


def binop(left: gast.expr, op: gast.operator, right: gast.expr) -> gast.BinOp:
    return _node(gast.BinOp, left=left, op=op, right=right)


def add(left: gast.expr, right: gast.expr) -> gast.BinOp:
    return binop(left, gast.Add(), right)


def tuple_(elts: Iterable[gast.expr], ctx: type = gast.Load) -> gast.Tuple:
    return _node(gast.Tuple, elts=list(elts), ctx=_context(ctx))


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


# Node classes without fields of their own (``Load()``, ``Add()``, ``Lt()``, ...): nothing below them, and
# nothing in sct mutates or annotates one, so a copy of a tree may share them (as CPython's parser does).
_LEAVES = (gast.expr_context, gast.operator, gast.unaryop, gast.cmpop, gast.boolop)

# Fields that never hold a node with a Name below it: identifiers, flags, and the leaves above.
_PLAIN_FIELDS = frozenset({"id", "attr", "arg", "ctx", "op", "ops", "kind", "type_comment", "level", "is_async",
                           "simple", "conversion", "module", "asname", "tag"})


def _searched_fields(cls: type) -> tuple[str, ...]:
    """The fields of ``cls`` that may hold nodes with a Name below them."""
    if issubclass(cls, _LEAVES) or cls is gast.Constant:
        return ()
    return tuple(f for f in cls._fields if f not in _PLAIN_FIELDS)


# (computed once, at import; read-only afterwards)
_SEARCHED = MappingProxyType({cls: _searched_fields(cls) for cls in vars(gast).values()
                              if isinstance(cls, type) and issubclass(cls, ast.AST)})


def walk(node: gast.AST) -> Iterator[gast.AST]:
    """``ast.walk``'s nodes in its (breadth-first) order, without its generator per node, and without the
    field-less leaves (``Load()``, ``Add()``, ``Lt()``): what a pass looks for is above them."""
    todo = deque([node])
    pop, push, AST, searched = todo.popleft, todo.append, ast.AST, _SEARCHED  # (locals: every pass walks)
    while todo:
        node = pop()
        fields = searched.get(node.__class__)
        for name in node._fields if fields is None else fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, AST):
                        push(item)
            elif isinstance(value, AST):
                push(value)
        yield node


def names_in(node: gast.AST, ctx: type | None = None) -> Iterator[str]:
    """Every Name id under ``node`` (optionally only those with context ``ctx``), in ``walk``'s order."""
    found = []
    todo = deque([node])
    pop, push, AST, Name, searched = todo.popleft, todo.append, ast.AST, gast.Name, _SEARCHED
    while todo:  # (walk, inline: a Name's id is all this wants of the nodes)
        node = pop()
        if isinstance(node, Name) and (ctx is None or isinstance(node.ctx, ctx)):
            found.append(node.id)
        fields = searched.get(node.__class__)
        for name in node._fields if fields is None else fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, AST):
                        push(item)
            elif isinstance(value, AST):
                push(value)
    return iter(found)


def _name_nodes(node: gast.AST) -> list[gast.Name]:
    """The Names under ``node``, depth first, without a walk's visits of the leaves (every pass asks for
    the names of every statement, often more than once)."""
    found: list[gast.Name] = []
    todo = [node]
    pop, push, add, AST, Name, searched = todo.pop, todo.append, found.append, ast.AST, gast.Name, _SEARCHED
    while todo:
        node = pop()
        cls = node.__class__
        if cls is Name:
            add(node)
            if node.annotation is not None:
                push(node.annotation)
            continue
        fields = searched.get(cls)
        if fields is None:  # (not a gast class: search it all)
            if isinstance(node, Name):
                add(node)
            fields = node._fields
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, AST):
                        push(item)
            elif isinstance(value, AST):
                push(value)
    return found


def name_set(node: gast.AST, ctx: type | tuple = gast.expr_context) -> set[str]:
    """``set(names_in(node, ctx))`` (every Name's id if no ``ctx``), faster."""
    return {n.id for n in _name_nodes(node) if isinstance(n.ctx, ctx)}


def name_list(node: gast.AST, ctx: type | tuple = gast.expr_context) -> list[str]:
    """The ids of the Names under ``node`` with context ``ctx``, each as often as it occurs (in no
    particular order)."""
    return [n.id for n in _name_nodes(node) if isinstance(n.ctx, ctx)]


def loads(node: gast.AST) -> set[str]:
    return name_set(node, gast.Load)


def stores(node: gast.AST) -> set[str]:
    return name_set(node, (gast.Store, gast.Param))


def loads_and_stores(node: gast.AST) -> tuple[set[str], set[str]]:
    """``(loads(node), stores(node))``, in one search."""
    names = _name_nodes(node)
    return ({n.id for n in names if isinstance(n.ctx, gast.Load)},
            {n.id for n in names if isinstance(n.ctx, (gast.Store, gast.Param))})


def clone(node):
    """A deep copy of a tree that shares (does not copy) sct's annotations (``sct_*`` attributes) and the
    field-less leaves (``Load()``, ``Add()``)."""
    if node.__class__ is list:
        return [clone(n) for n in node]
    if not isinstance(node, gast.AST) or isinstance(node, _LEAVES):
        return node
    cls = node.__class__
    new = cls.__new__(cls)  # (copy.copy, without its pickling protocol)
    fields = dict(node.__dict__)
    for field in cls._fields:
        value = fields.get(field)
        if value.__class__ is list:
            fields[field] = [clone(n) for n in value]
        elif isinstance(value, gast.AST):
            fields[field] = clone(value)
        elif value is None:
            fields[field] = None  # (a missing field becomes None)
    new.__dict__ = fields
    return new


def with_origin(node: gast.stmt, origin) -> gast.stmt:
    """Tag a generated statement with the user statement it comes from."""
    node.sct_origin = origin
    return node


def origin_of(node: gast.AST):
    return getattr(node, "sct_origin", None)


def substitute(expr: gast.AST, mapping: dict[str, gast.expr]) -> gast.AST:
    """A copy of ``expr`` (or a statement) with every loaded Name in ``mapping`` replaced by a copy of its value."""
    if not mapping:
        return clone(expr)
    return _substituted(expr, mapping)


def _substituted(node, mapping: dict[str, gast.expr]):
    """:func:`clone`, with loaded Names in ``mapping`` replaced (one pass; a Name's annotation is copied as is)."""
    cls = node.__class__
    if cls is list:
        return [_substituted(n, mapping) for n in node]
    if not isinstance(node, gast.AST) or isinstance(node, _LEAVES):
        return node
    if cls is gast.Name:
        if node.id in mapping and isinstance(node.ctx, gast.Load):
            return clone(mapping[node.id])
        return clone(node)
    new = cls.__new__(cls)
    fields = dict(node.__dict__)
    for field in cls._fields:
        value = fields.get(field)
        if value.__class__ is list:
            fields[field] = [_substituted(n, mapping) for n in value]
        elif isinstance(value, gast.AST):
            fields[field] = _substituted(value, mapping)
        elif value is None:
            fields[field] = None
    new.__dict__ = fields
    return new


class Transformer(gast.NodeTransformer):
    """``gast.NodeTransformer`` (same contract, same order), faster: each subclass's visitors are looked up
    once, by node class, and the leaves (``Load()``, ``Add()``) are not visited -- so a subclass must not
    define a visitor for one."""

    _visitors: Mapping[type, Callable] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        visitors = {}
        for node in _SEARCHED:
            method = getattr(cls, f"visit_{node.__name__}", None)
            # (not ast.NodeVisitor's own visit_Constant: it looks for an old Python's visit_Num, then generic_visit)
            if method is not None and method is not getattr(ast.NodeVisitor, method.__name__, None):
                visitors[node] = method
        cls._visitors = MappingProxyType(visitors)
        assert not any(issubclass(node, _LEAVES) for node in cls._visitors), "leaves are not visited"

    def visit(self, node):
        visitor = self._visitors.get(node.__class__)
        return self.generic_visit(node) if visitor is None else visitor(self, node)

    def generic_visit(self, node):
        fields = _SEARCHED.get(node.__class__)
        for field in node._fields if fields is None else fields:
            old = getattr(node, field, None)
            if isinstance(old, list):
                new_values = []
                for value in old:
                    if isinstance(value, ast.AST):
                        value = self.visit(value)
                        if value is None:
                            continue
                        if not isinstance(value, ast.AST):
                            new_values.extend(value)
                            continue
                    new_values.append(value)
                old[:] = new_values
            elif isinstance(old, ast.AST):
                new = self.visit(old)
                if new is None:
                    delattr(node, field)
                else:
                    setattr(node, field, new)
        return node


def plain_classes(converter: str, names: Iterable[str], source, target) -> Mapping[type, type]:
    """Of the node classes ``names``, those gast's converter ``converter`` (``"GAstToAst3"``, ``"Ast3ToGAst"``)
    copies field by field, from module ``source`` (gast or ast) to ``target``: no visitor of its own there,
    the same fields on both sides (whatever the versions of Python and gast) -- class -> its namesake."""
    translator = getattr(getattr(gast, "ast3", None), converter, None)
    out = {}
    for node in names:
        from_cls, to_cls = getattr(source, node, None), getattr(target, node, None)
        visitor = getattr(translator, f"visit_{node}", None)
        if translator is not None and from_cls is not None and to_cls is not None \
                and visitor is getattr(ast.NodeVisitor, f"visit_{node}", None) and from_cls._fields == to_cls._fields:
            out[from_cls] = to_cls
    return MappingProxyType(out)


# what a generated program or a user's function is made of, mostly
COMMON_CLASSES = (
    "Module", "Expr", "Return", "Assign", "AugAssign", "AnnAssign", "Delete", "Pass", "Break", "Continue", "If",
    "For", "While", "With", "withitem", "BinOp", "UnaryOp", "BoolOp", "Compare", "Call", "keyword", "Attribute",
    "Subscript", "Slice", "Tuple", "List", "Dict", "Set", "IfExp", "Starred", "ListComp", "SetComp",
    "GeneratorExp", "DictComp", "comprehension", "Constant", "Add", "Sub", "Mult", "MatMult", "Div", "Mod", "Pow",
    "FloorDiv", "USub", "UAdd", "Not", "Invert", "And", "Or", "Eq", "NotEq", "Lt", "LtE", "Gt", "GtE", "Is",
    "IsNot", "In", "NotIn", "Load", "Store", "Del")


def unparse(node: gast.AST) -> str:
    """Python source of an expression (for messages)."""
    return ast.unparse(gast.gast_to_ast(node))


def locate(stmt: gast.AST) -> gast.AST:
    """The most precise user node behind a generated statement (for error messages)."""
    for candidate in (getattr(stmt, "sct_expr", None), origin_of(stmt), stmt):
        if candidate is not None and getattr(candidate, "lineno", None) is not None:
            return candidate
    return stmt
