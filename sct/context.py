"""What one transformation knows while it runs: the function, its names, its symbols.

A :class:`Context` is created per (function, mode, wrt, argument kinds) and passed
through the passes.  ``symbol`` binds a Python object (``numpy``, a runtime helper,
another generated function) to a name the generated code can use, choosing the
plain name when nothing collides and the next free numbered name otherwise.
"""
from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

import gast

from . import syntax as S
from .names import Namer, identifier
from .parse import Parsed


@dataclass
class Context:
    parsed: Parsed
    namer: Namer
    locals: set[str]
    symbols: dict[str, Any] = field(default_factory=dict)
    user_locals: frozenset = frozenset()
    aliases: dict = field(default_factory=dict)  # local name bound once to a global reference -> that reference
    tables: dict = field(default_factory=dict)  # local name bound once to a display of functions -> the display
    augmented_slots: list = field(default_factory=list)  # (container, element, origin) of each `a[i] op= v`
    deps: list = field(default_factory=list)  # (globals dict, name, object): the program is stale if one changes
    # (function, {param: kind}) -> the kind it returns: how kinds flow into called functions and back out
    call_kind: Any = None
    static: dict = field(default_factory=dict)  # parameter -> the function every call passes it (its kind says)
    partials: dict = field(default_factory=dict)  # parameter -> (function, n): a functools.partial binding n args
    instances: dict = field(default_factory=dict)  # parameter -> its class (an ``ObjectKind``): self.m(...) is followed
    # where the function loops over a dict itself (``for k in d``), found by analysis from the kinds: the
    # source positions of the iterated expressions (see normalize._Lowering.iterated and analysis.dict_loops)
    dict_loops: frozenset = frozenset()
    _by_id: dict[int, str] = field(default_factory=dict)
    # (id of a parsed rule, expression index, numbers only) -> (the parsed rule, its expression with the free
    # names bound to symbols): see inline._resolved
    resolved_rules: dict = field(default_factory=dict)

    @classmethod
    def create(cls, parsed: Parsed) -> "Context":
        fn = parsed.node
        local = {a.id for a in _all_params(fn.args)}
        local |= {a.id for a in (fn.args.vararg, fn.args.kwarg) if a is not None}  # (*args, **kwargs)
        for stmt in fn.body:
            local |= S.stores(stmt)
        every = {n.id for n in S.walk(fn) if isinstance(n, gast.Name)}
        ctx = cls(parsed, Namer(every | {fn.name}), local, user_locals=frozenset(local))
        ctx.aliases = _function_aliases(fn, local)
        ctx.tables = _function_tables(fn, local)
        return ctx

    def table_item(self, node: gast.expr) -> gast.expr | None:
        """The item ``acts[0]`` (``acts["cube"]``) names, where ``acts`` is a table of functions (see
        ``_function_tables``) and the index a constant it has: a global reference (``cube``, ``np.sin``)."""
        if not (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)
                and node.value.id in self.tables and _constant_key(node.slice)):
            return None
        display, key = self.tables[node.value.id], _key(node.slice)
        if isinstance(display, gast.Dict):
            found = [v for k, v in zip(display.keys, display.values) if k.value == key]
            return found[-1] if found else None
        return display.elts[key] if type(key) is int and -len(display.elts) <= key < len(display.elts) else None

    def specialise(self, kinds: dict) -> None:
        """Parameters whose kind is a function (``FunctionKind``) and which the body does not rebind: calls
        through them are calls of that function; parameters whose kind is an object of a class
        (``ObjectKind``: ``self``): ``self.m(...)`` is a call of the class's function ``m``."""
        rebound = set().union(*map(S.stores, self.parsed.node.body)) if self.parsed.node.body else set()
        for param, kind in kinds.items():
            cls = getattr(kind, "cls", None)
            if cls is not None and param not in rebound:
                self.instances[param] = cls
            fn = getattr(kind, "fn", None)
            if fn is None or param in rebound:
                continue
            if kind.bound:
                self.partials[param] = (fn, kind.bound)
            else:
                self.static[param] = fn

    def symbol(self, obj: Any, preferred: str) -> gast.Name:
        """A Name that the generated code can load to get ``obj``."""
        key = id(obj)
        if key in self._by_id:
            return S.name(self._by_id[key])
        name = preferred = identifier(preferred)
        user_global = self.parsed.namespace.lookup(name, default=_NOTHING)
        clash = name in self.locals or name in self.symbols or (
            user_global is not _NOTHING and user_global is not obj)
        if clash or (name in self.namer.taken and user_global is _NOTHING):
            name = self.namer.fresh(preferred)
        else:
            self.namer.reserve(name)
        self.symbols[name] = obj
        self._by_id[key] = name
        return S.name(name)

    def resolve(self, node: gast.expr) -> Any:
        """The object a Name/Attribute chain refers to, or ``LOCAL`` / ``UNRESOLVED``."""
        if isinstance(node, gast.Name):
            if node.id in self.symbols:
                return self.symbols[node.id]
            if node.id in self.static:  # a parameter the callers give one function: apply(f, x) calling f
                return self.static[node.id]
            if node.id in self.aliases:  # f = np.sin, bound once: f(x) is np.sin(x) (functions and modules only)
                target = self.resolve(self.aliases[node.id])
                if isinstance(target, types.ModuleType) or (callable(target) and not isinstance(target, type)):
                    return target
                return LOCAL
            if node.id in self.locals:
                return LOCAL
            return self.parsed.namespace.lookup(node.id, default=UNRESOLVED)
        if isinstance(node, gast.Attribute):
            base = self.resolve(node.value)
            if base is LOCAL or base is UNRESOLVED:
                return base
            return getattr(base, node.attr, UNRESOLVED)
        return UNRESOLVED


def _function_aliases(fn: gast.FunctionDef, local: set[str]) -> dict[str, gast.expr]:
    """Locals assigned exactly once, from a global name or attribute chain (``f = np.sin``)."""
    bound: dict[str, list] = {}
    for node in S.walk(fn):
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Param, gast.Del)):
            bound.setdefault(node.id, []).append(node)
    out = {}
    for node in S.walk(fn):
        if isinstance(node, gast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], gast.Name):
            name = node.targets[0].id
            root = node.value
            while isinstance(root, gast.Attribute):
                root = root.value
            if isinstance(node.value, (gast.Name, gast.Attribute)) and isinstance(root, gast.Name) \
                    and root.id not in local and len(bound.get(name, [])) == 1:
                out[name] = node.value
    return out


def _function_tables(fn: gast.FunctionDef, local: set[str]) -> dict[str, gast.expr]:
    """Locals bound exactly once to a list, tuple or dict display (constant keys) of global references
    (``acts = [cube, np.tanh]``, ``acts = {"sin": np.sin}``: nested functions and lambdas are lifted by then,
    to ``partial(lifted, captured...)`` where they read locals) and read only to call an item at a constant
    index (``acts[0](x)``): nothing can change the table, so the call is a call of that item, which sct
    follows like a call by name."""
    bound: dict[str, int] = {}
    loads: dict[str, int] = {}
    for node in S.walk(fn):
        if isinstance(node, gast.Name):
            counts = loads if isinstance(node.ctx, gast.Load) else bound
            counts[node.id] = counts.get(node.id, 0) + 1
    calls: dict[str, list] = {}  # name -> where its loads `name[constant](...)` are
    for node in S.walk(fn):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Subscript) \
                and isinstance(node.func.value, gast.Name) and _constant_key(node.func.slice):
            calls.setdefault(node.func.value.id, []).append((node.lineno, node.col_offset))
    out = {}
    for node in fn.body:  # (a statement of the body itself, so what comes after it in the text runs after it)
        if not (isinstance(node, gast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], gast.Name)):
            continue
        name, display = node.targets[0].id, node.value
        if isinstance(display, gast.Dict):
            if not all(isinstance(k, gast.Constant) and type(k.value) in (int, str) for k in display.keys):
                continue
            items = display.values
        elif isinstance(display, (gast.List, gast.Tuple)):
            items = display.elts
        else:
            continue
        end = (node.end_lineno, node.end_col_offset)
        uses = calls.get(name, [])
        if bound.get(name) == 1 and len(uses) == loads.get(name, 0) > 0 and all(use > end for use in uses) \
                and items and all(_table_entry(item, local) for item in items):
            out[name] = display
    return out


def _constant_key(node: gast.expr) -> bool:
    """A key written as a constant: ``0``, ``-1``, ``"cube"``."""
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return isinstance(node.operand, gast.Constant) and type(node.operand.value) is int
    return isinstance(node, gast.Constant) and type(node.value) in (int, str)


def _key(node: gast.expr):
    """The value of a key ``_constant_key`` accepts."""
    return -node.operand.value if isinstance(node, gast.UnaryOp) else node.value


def _table_entry(node: gast.expr, local: set[str]) -> bool:
    """A global reference, or ``partial(f, a, b)`` of one: how lifting writes a nested function that reads
    locals ``a`` and ``b`` of the enclosing function (see ``lift``; ``normalize`` checks the callee)."""
    if isinstance(node, gast.Call) and not node.keywords and node.args and _global_reference(node.func, local):
        return _global_reference(node.args[0], local) and all(isinstance(a, gast.Name) for a in node.args[1:])
    return _global_reference(node, local)


def _global_reference(node: gast.expr, local: set[str]) -> bool:
    """``cube``, ``np.sin``: a name or attribute chain on a name that is not a local."""
    while isinstance(node, gast.Attribute):
        node = node.value
    return isinstance(node, gast.Name) and node.id not in local


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


_NOTHING = _Marker("NOTHING")
LOCAL = _Marker("LOCAL")
UNRESOLVED = _Marker("UNRESOLVED")


def _all_params(args: gast.arguments) -> list[gast.Name]:
    return list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)


def param_names(fn: gast.FunctionDef) -> list[str]:
    return [a.id for a in _all_params(fn.args)]
