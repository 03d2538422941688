"""Pass 3 — normalize: the function body in three-address form, exits at the tails.

Input: a fenced ``FunctionDef``.  Output: a new body in which

* every assignment performs one operation on atoms (names, constants, or dotted
  references to globals such as ``math.pi``): ``t1 = x1 * x2``;
* no assignment reads its own target (``s = s + x`` becomes ``t1 = s + x; s = t1``);
* ``and``/``or``, conditional expressions and chained comparisons are lowered to
  ``if`` statements (they are lazy in Python);
* comprehensions become loops that ``append``; ``for`` loops run over a ``range``
  object bound to a name (``for x in xs`` indexes ``xs``); ``while c:`` becomes
  ``while True:`` with the test computed inside;
* ``return``, ``break`` and ``continue`` stand last on their path: the statements
  after an ``if`` that may exit move into its branches, ``continue`` disappears, a
  ``return`` inside a loop sets a flag and breaks, and every path ends in ``return``;
* ``with m(a) as v, n(b):`` becomes nested ``with`` statements whose managers are
  calls on atoms (a block left early must be left on every path: nothing moves into it);
* an assignment expression ``(n := e)`` becomes ``n = e`` where Python evaluates it
  (names it rebinds are read through copies where the same statement reads them).

Every produced statement carries ``sct_origin``: the user statement it comes from.
"""
from __future__ import annotations

import copy
import functools
import inspect

import gast

from . import runtime
from . import syntax as S
from .rules import builtins as dicts
from .checkpoint import marker_schedule
from .context import LOCAL, UNRESOLVED, Context
from .errors import UnsupportedSyntaxError
from .rules import REGISTRY

_EXITS = (gast.Return, gast.Break, gast.Continue)


def normalize(ctx: Context) -> list[gast.stmt]:
    """The function's body in three-address form (see the module docstring)."""
    lowering = _Lowering(ctx)
    body = lowering.block(ctx.parsed.node.body)
    body = _ReturnsInLoops(ctx, lowering).block(body, in_loop=False)
    if lowering.flag is not None:
        origin = ctx.parsed.node
        body = [S.with_origin(S.assign(lowering.flag, S.const(False)), origin),
                S.with_origin(S.assign(lowering.result, S.const(None)), origin)] + body
    body = restructure(body)
    body = _append_rest(body, [S.with_origin(S.ret(S.const(None)), ctx.parsed.node)])
    for stmt in _walk_stmts(body):
        if getattr(stmt, "sct_partial_exit", False):
            lowering.refuse(S.origin_of(stmt), "a `with` block left early (return, break, continue) on some paths "
                            "only, with code after it", "leave the block on every path, or move the `with` inside "
                            "the branch that stays (sct would otherwise run the code after it under the manager)")
    ctx.augmented_slots = lowering.augmented_slots
    return _freeze_tests(body, lowering)


def _walk_stmts(stmts):
    for stmt in stmts:
        yield stmt
        for fieldname in ("body", "orelse"):
            yield from _walk_stmts(getattr(stmt, fieldname, []) or [])


def _freeze_tests(stmts: list[gast.stmt], lowering: "_Lowering") -> list[gast.stmt]:
    """``if c:`` whose branches assign ``c`` tests a copy, so the backward sweep sees the value tested."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, (gast.For, gast.While, gast.With)):
            stmt.body = _freeze_tests(stmt.body, lowering)
        elif isinstance(stmt, gast.If):
            stmt.body = _freeze_tests(stmt.body, lowering)
            stmt.orelse = _freeze_tests(stmt.orelse, lowering)
            inner = set().union(*map(S.stores, stmt.body + stmt.orelse)) if stmt.body + stmt.orelse else set()
            if isinstance(stmt.test, gast.Name) and stmt.test.id in inner:
                frozen = lowering.temp()
                out.append(S.with_origin(S.assign(frozen, S.name(stmt.test.id)), S.origin_of(stmt)))
                stmt.test = S.name(frozen)
        out.append(stmt)
    return out


class _Lowering:
    """Statement-by-statement lowering to three-address form."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.origin = ctx.parsed.node
        self.out: list[gast.stmt] = []
        self.flag: str | None = None     # set when a return inside a loop needs a flag
        self.augmented_slots: list = []  # (container, element temp, origin) of each `a[i] op= v`
        self.result: str | None = None
        self.rebound: set[str] = set()   # names an assignment expression in the current statement rebinds

    # -- helpers ---------------------------------------------------------------
    def emit(self, stmt: gast.stmt) -> None:
        self.out.append(S.with_origin(stmt, self.origin))

    def temp(self) -> str:
        name = self.ctx.namer.temp()
        self.ctx.locals.add(name)
        return name

    def fresh(self, base: str) -> str:
        name = self.ctx.namer.fresh(base)
        self.ctx.locals.add(name)
        return name

    def refuse(self, node: gast.AST, what: str, hint: str | None = None):
        raise UnsupportedSyntaxError(f"sct cannot differentiate {what}", self.ctx.parsed.location(node), hint)

    def runtime(self, fn_name: str) -> gast.Name:
        return self.ctx.symbol(getattr(runtime, fn_name), fn_name)

    def block(self, stmts: list[gast.stmt]) -> list[gast.stmt]:
        saved, self.out = self.out, []
        for stmt in stmts:
            saved_origin = self.origin
            if getattr(stmt, "lineno", None) is not None:
                self.origin = stmt
            saved_rebound = self.rebound
            self.rebound = {n.target.id for n in S.walk(stmt) if isinstance(n, gast.NamedExpr)}
            self.statement(stmt)
            self.origin, self.rebound = saved_origin, saved_rebound
        lowered, self.out = self.out, saved
        return lowered

    # -- expressions -----------------------------------------------------------
    def is_global_ref(self, node: gast.expr) -> bool:
        """``math.pi``, ``np.newaxis``: attribute chains on a name that is not local."""
        while isinstance(node, gast.Attribute):
            node = node.value
        return isinstance(node, gast.Name) and self.ctx.resolve(node) is not LOCAL

    def atom(self, node: gast.expr) -> gast.expr:
        value = self.value(node)
        if S.is_atom(value) or (isinstance(value, gast.Attribute) and self.is_global_ref(value)):
            return value
        name = self.temp()
        self.emit(S.assign(name, value))
        self.out[-1].sct_expr = node
        return S.name(name)

    def value(self, node: gast.expr) -> gast.expr:
        """``node`` as one operation on atoms, emitting what it needs first."""
        if isinstance(node, gast.Name) and node.id in self.rebound:
            return self.copied(node.id)  # (an assignment expression may rebind it before the statement is done)
        if isinstance(node, (gast.Name, gast.Constant)):
            return copy.copy(node)
        if isinstance(node, gast.Attribute) and self.is_global_ref(node):
            return S.clone(node)
        method = getattr(self, f"value_{type(node).__name__}", None)
        if method is None:
            self.refuse(node, f"the expression `{type(node).__name__}`")
        return method(node)

    def copied(self, name: str) -> gast.Name:
        """A temporary holding ``name``'s value now."""
        temp = self.temp()
        self.emit(S.assign(temp, S.name(name)))
        return S.name(temp)

    def value_NamedExpr(self, node):
        """``(n := e)``: ``n = e`` here, in evaluation order; its value read through a copy."""
        self.into(node.value, node.target.id)
        return self.copied(node.target.id)

    def value_BinOp(self, node):
        return S.binop(self.atom(node.left), node.op, self.atom(node.right))

    def value_UnaryOp(self, node):
        if isinstance(node.op, gast.UAdd):
            return self.atom(node.operand)
        operand = self.atom(node.operand)
        if isinstance(node.op, gast.USub) and isinstance(operand, gast.Constant) \
                and type(operand.value) in (int, float):
            return S.const(-operand.value)  # -0.5 is a number, not an operation (nothing to save or recompute)
        return gast.UnaryOp(op=node.op, operand=operand)

    def value_Compare(self, node):
        if len(node.ops) == 1:
            return gast.Compare(left=self.atom(node.left), ops=node.ops, comparators=[self.atom(node.comparators[0])])
        return self.lazy(node)

    def value_BoolOp(self, node):
        return self.lazy(node)

    def value_IfExp(self, node):
        return self.lazy(node)

    def value_Call(self, node):
        item = self.ctx.table_item(node.func)
        if isinstance(item, gast.Call) and self.ctx.resolve(item.func) is functools.partial:
            # a lifted nested function reading locals (which lifting checked are not rebound after)
            node = gast.Call(func=S.clone(item.args[0]), args=[S.clone(a) for a in item.args[1:]] + node.args,
                             keywords=node.keywords)
        elif item is not None and not isinstance(item, gast.Call):
            # acts[0](x), acts a table of functions that nothing changes: a call of that item
            node = gast.Call(func=S.clone(item), args=node.args, keywords=node.keywords)
        func = node.func
        callee = self.ctx.resolve(func) if isinstance(func, (gast.Name, gast.Attribute)) else None
        if callee in (min, max) and len(node.args) > 2 and not node.keywords:
            # max(a, b, c) is max(max(a, b), c): the first maximal argument wins, as in Python
            pair = gast.Call(func=node.func, args=node.args[:2], keywords=[])
            return self.value_Call(gast.Call(func=node.func, args=[pair] + node.args[2:], keywords=[]))
        if isinstance(func, gast.Name) and func.id in self.ctx.partials:  # f = partial(g, a): f(x) is g(a, x)
            target, n = self.ctx.partials[func.id]
            bound = self.atom(S.attr(S.name(func.id), "args"))
            leading = [self.atom(gast.Subscript(value=S.clone(bound), slice=S.const(i), ctx=gast.Load()))
                       for i in range(n)]
            node = gast.Call(func=self.ctx.symbol(target, target.__name__), args=leading + list(node.args),
                             keywords=node.keywords)
            func = node.func
        method = self.method_of(func)
        if method is not None:  # self.m(x), self of a known class: the call Cls.m(self, x), which sct follows
            cls = self.ctx.instances[func.value.id]
            declared = inspect.getattr_static(cls, func.attr)  # (self.m: a method, a staticmethod, a classmethod)
            first = [] if isinstance(declared, staticmethod) else \
                [self.ctx.symbol(cls, cls.__name__)] if isinstance(declared, classmethod) else [S.clone(func.value)]
            node = gast.Call(func=self.ctx.symbol(method, method.__qualname__.replace(".", "_")),
                             args=first + list(node.args), keywords=node.keywords)
            func = node.func
        if callee is dict:
            made = self.dict_call(node)
            if made is not None:
                return made
        if self.dict_view(node):
            # d.values(), d.items(), d.keys() as lists (what sct differentiates and loops over)
            helper = _DICT_VIEWS[func.attr]
            return S.call(self.ctx.symbol(helper, helper.__name__), [self.atom(func.value)])
        if isinstance(func, gast.Attribute) and not self.is_global_ref(func):
            func = S.attr(self.atom(func.value), func.attr)
        elif not isinstance(func, (gast.Name, gast.Attribute)):
            func = self.atom(func)
        elif callee not in (None, LOCAL, UNRESOLVED) and REGISTRY.replacement(callee) is not None:
            replacement = REGISTRY.replacement(callee)  # (declared beside the rules: reversed -> reversed_seq)
            func = self.ctx.symbol(replacement, replacement.__name__)
        args = [gast.Starred(value=self.atom(a.value), ctx=gast.Load()) if isinstance(a, gast.Starred)
                else self.atom(a) for a in node.args]  # (*args and **kwargs are passed on as they are)
        keywords = [gast.keyword(arg=kw.arg, value=self.atom(kw.value)) for kw in node.keywords]
        return gast.Call(func=S.clone(func), args=args, keywords=keywords)

    def dict_view(self, node: gast.expr) -> bool:
        """Is ``node`` ``d.values()``, ``d.items()`` or ``d.keys()`` of a local, or of a global or closure variable
        holding a dict (``HP.values()``: its entries read when the program runs; the program is rebuilt when
        the name is rebound, or the dict's kind changes, see ``analysis.global_kinds``)?"""
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and not node.args
                and not node.keywords and node.func.attr in _DICT_VIEWS):
            return False
        if not self.is_global_ref(node.func):
            return True
        owner = node.func.value
        return isinstance(owner, gast.Name) and isinstance(self.ctx.resolve(owner), dict)

    def dict_call(self, node) -> gast.expr | None:
        """``dict(a=x, b=y)`` as the display ``{'a': x, 'b': y}``, ``dict()`` as ``{}``, ``dict(zip(ks, vs))`` as
        ``make_dict``; None for other calls of ``dict`` (``dict(d)``, a copy, has a rule of its own)."""
        if not node.args:
            values = [self.atom(kw.value) for kw in node.keywords]
            return gast.Dict(keys=[S.const(kw.arg) for kw in node.keywords], values=values)
        arg = node.args[0]
        if len(node.args) == 1 and not node.keywords and isinstance(arg, gast.Call) and not arg.keywords \
                and len(arg.args) == 2 and self.ctx.resolve(arg.func) is zip:
            keys, values = self.atom(arg.args[0]), self.atom(arg.args[1])
            return S.call(self.ctx.symbol(dicts.make_dict, "make_dict"), [values, keys])
        return None

    def method_of(self, func: gast.expr):
        """The plain function ``m`` of the class of ``obj`` in ``obj.m``, where ``obj`` is a parameter the
        program is specialised to an object of that class (``self``); else None."""
        if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and func.value.id in self.ctx.instances):
            return None
        try:
            found = inspect.getattr_static(self.ctx.instances[func.value.id], func.attr)
        except AttributeError:
            return None
        if isinstance(found, (staticmethod, classmethod)):  # self.act(x): Cls.act(x), Cls.act(Cls, x)
            found = found.__func__
        return found if inspect.isfunction(found) else None

    def value_Attribute(self, node):
        return S.attr(self.atom(node.value), node.attr)

    def value_Subscript(self, node):
        return gast.Subscript(value=self.atom(node.value), slice=self.index(node.slice), ctx=gast.Load())

    def value_Tuple(self, node):
        return S.tuple_(self.atom(e) for e in node.elts)

    def value_List(self, node):
        return gast.List(elts=[self.atom(e) for e in node.elts], ctx=gast.Load())

    def value_Dict(self, node):
        keys, values = [], []
        for key, value in zip(node.keys, node.values):  # (key, value, key, value: Python's order)
            keys.append(self.atom(key))
            values.append(self.atom(value))
        if not all(isinstance(key, gast.Constant) for key in keys):
            # keys known only at run time may repeat: make_dict keeps the last value of a key, as Python does
            make = self.ctx.symbol(dicts.make_dict, "make_dict")
            return S.call(make, [self.atom(gast.List(elts=values, ctx=gast.Load())),
                                 self.atom(gast.List(elts=keys, ctx=gast.Load()))])
        entries = {}  # a repeated key: its first place, its last value (as Python builds the display)
        for key, value in zip(keys, values):
            entries[key.value] = (entries[key.value][0] if key.value in entries else key, value)
        return gast.Dict(keys=[k for k, _ in entries.values()], values=[v for _, v in entries.values()])

    def value_ListComp(self, node):
        name = self.temp()
        self.comprehension(node, [(name, node.elt)])
        return S.name(name)

    value_GeneratorExp = value_ListComp

    def value_DictComp(self, node):
        """``{k: v for ...}``: the keys and the values collected into two lists, then ``make_dict``."""
        keys, values = self.fresh("keys"), self.fresh("values")
        self.comprehension(node, [(keys, node.key), (values, node.value)])
        return S.call(self.ctx.symbol(dicts.make_dict, "make_dict"), [S.name(values), S.name(keys)])

    def value_JoinedStr(self, node):
        return S.clone(node)  # an f-string: never differentiable, kept whole

    def index(self, node: gast.expr) -> gast.expr:
        if isinstance(node, gast.Slice):
            part = lambda p: None if p is None else self.atom(p)
            return gast.Slice(lower=part(node.lower), upper=part(node.upper), step=part(node.step))
        if isinstance(node, gast.Tuple):
            return S.tuple_(self.index(e) for e in node.elts)
        return self.atom(node)

    def lazy(self, node: gast.expr) -> gast.Name:
        """Lower a lazily evaluated expression into a temporary through if statements."""
        name = self.temp()
        self.lazy_into(node, name)
        return S.name(name)

    def lazy_into(self, node: gast.expr, target: str) -> None:
        if isinstance(node, gast.BoolOp):
            self.into(node.values[0], target)
            rest = node.values[1:]
            if not rest:
                return
            tail = gast.BoolOp(op=node.op, values=rest) if len(rest) > 1 else rest[0]
            branch = self.nested(lambda: self.lazy_or_into(tail, target))
            if isinstance(node.op, gast.And):
                self.emit(S.if_(S.name(target), branch))
            else:
                self.emit(gast.If(test=S.name(target), body=[gast.Pass()], orelse=branch))
        elif isinstance(node, gast.IfExp):
            test = self.atom(node.test)
            body = self.nested(lambda: self.lazy_or_into(node.body, target))
            orelse = self.nested(lambda: self.lazy_or_into(node.orelse, target))
            self.emit(S.if_(test, body, orelse))
        else:  # a chained comparison a < b < c
            left = self.atom(node.left)
            right = self.atom(node.comparators[0])
            self.emit(S.assign(target, gast.Compare(left=left, ops=[node.ops[0]], comparators=[right])))
            rest = gast.Compare(left=right, ops=node.ops[1:], comparators=node.comparators[1:])
            self.emit(S.if_(S.name(target), self.nested(lambda: self.lazy_or_into(rest, target))))

    def lazy_or_into(self, node: gast.expr, target: str) -> None:
        if isinstance(node, (gast.BoolOp, gast.IfExp)) or (isinstance(node, gast.Compare) and len(node.ops) > 1):
            self.lazy_into(node, target)
        else:
            self.into(node, target)

    def nested(self, build) -> list[gast.stmt]:
        saved, self.out = self.out, []
        build()
        body, self.out = self.out, saved
        return body

    def into(self, node: gast.expr, target: str) -> None:
        """Assign ``node`` to the name ``target`` with one operation."""
        if isinstance(node, (gast.BoolOp, gast.IfExp)) or (isinstance(node, gast.Compare) and len(node.ops) > 1):
            value = self.lazy(node)
        else:
            value = self.value(node)
        if isinstance(value, gast.Name) and value.id == target:
            return
        if not S.is_atom(value) and target in S.loads(value):
            temp = self.temp()
            self.emit(S.assign(temp, value))
            self.out[-1].sct_expr = node
            value = S.name(temp)
        self.emit(S.assign(target, value))
        self.out[-1].sct_expr = node

    def comprehension(self, node, outputs: list[tuple[str, gast.expr]]) -> None:
        """``[elt for x in xs if c]`` as a loop appending to a list (each ``(list, elt)`` of ``outputs``: two for
        a dict comprehension, its keys and its values); ``x`` renamed to stay private."""
        for target, _ in outputs:
            self.emit(S.assign(target, gast.List(elts=[], ctx=gast.Load())))
        renames = {}
        for gen in node.generators:
            for old in S.stores(gen.target):
                renames[old] = S.name(self.fresh(old))

        def rename(expr):
            return _rename_stores(S.substitute(expr, renames), renames)

        inner: list[gast.stmt] = [S.expr_stmt(S.call(S.attr(S.name(target), "append"), [rename(elt)]))
                                  for target, elt in outputs]
        for gen in reversed(node.generators):
            for cond in reversed(gen.ifs):
                inner = [S.if_(rename(cond), inner)]
            inner = [S.for_(rename(gen.target), rename(gen.iter), inner)]
        for stmt in inner:
            gast.copy_location(stmt, self.origin)
        self.out.extend(self.block(inner))

    # -- statements ------------------------------------------------------------
    def statement(self, node: gast.stmt) -> None:
        method = getattr(self, f"stmt_{type(node).__name__}", None)
        if method is None:
            self.refuse(node, f"the statement `{type(node).__name__}`")
        method(node)

    def stmt_Assign(self, node):
        first, *others = node.targets
        if getattr(node, "sct_unshared", False):  # (see fence._check_indexed_views)
            where = S.const(str(self.ctx.parsed.location(node)))
            container = S.name(node.value.value.id)  # (a list's or dict's item is never a view of it)
            self.into(S.call(self.runtime("unshared"), [self.atom(node.value), where, container]), first.id)
            return
        if isinstance(first, gast.Name) and isinstance(node.value, (gast.ListComp, gast.GeneratorExp)) \
                and first.id not in S.loads(node.value):
            self.comprehension(node.value, [(first.id, node.value.elt)])  # built in place: no second name
            source = S.name(first.id)
        elif isinstance(first, gast.Name):
            self.into(node.value, first.id)
            source = S.name(first.id)
        else:
            source = self.atom(node.value)
            self.assign_to(first, source)
        for target in others:
            self.assign_to(target, source)

    def assign_to(self, target: gast.expr, value: gast.expr) -> None:
        """Bind an atom (or one operation) to any supported target."""
        if isinstance(target, gast.Name):
            self.into(value, target.id)
        elif isinstance(target, gast.Subscript):
            store = gast.Subscript(value=S.name(target.value.id), slice=self.index(target.slice), ctx=gast.Store())
            self.emit(S.assign(store, self.atom(value)))
        else:  # a tuple or list target: unpack by index
            source = self.atom(value)
            for i, elt in enumerate(target.elts):
                self.assign_to(elt, gast.Subscript(value=source, slice=S.const(i), ctx=gast.Load()))

    def stmt_AugAssign(self, node):
        target = node.target
        if isinstance(target, gast.Name):
            self.into(S.binop(S.name(target.id), node.op, node.value), target.id)
            self.out[-1].sct_augassign = True  # `x += e` rebinds here; analysis checks x is not shared
            return
        index = self.index(target.slice)
        current = self.temp()
        self.augmented_slots.append((target.value.id, current, self.origin))
        read = gast.Subscript(value=S.name(target.value.id), slice=index, ctx=gast.Load())
        if self._list_or_dict(target.value.id):  # d["b"] += v: right for a number, refused (at run time) otherwise
            where = S.const(str(self.ctx.parsed.location(node)))
            read = S.call(self.runtime("number_at"), [S.name(target.value.id), S.clone(index), where])
        self.emit(S.assign(current, read))
        updated = self.temp()
        self.emit(S.assign(updated, S.binop(S.name(current), node.op, self.atom(node.value))))
        self.emit(S.assign(gast.Subscript(value=S.name(target.value.id), slice=S.clone(index), ctx=gast.Store()),
                           S.name(updated)))

    def _list_or_dict(self, name: str) -> bool:
        """Is the local ``name`` bound only to list or dict displays (``[...]``, ``{...}``, comprehensions)?
        Then ``name[k] op= v`` rebinds the item where it is a number, and would change it in place where it
        is an array or a list: ``number_at`` tells which when the program runs."""
        nodes = list(S.walk(self.ctx.parsed.node))
        values = [n.value for n in nodes if isinstance(n, gast.Assign)
                  and any(isinstance(t, gast.Name) and t.id == name for t in n.targets)]
        bindings = [n for n in nodes if isinstance(n, gast.Name) and n.id == name
                    and isinstance(n.ctx, (gast.Store, gast.Param))]  # (a parameter, a loop target: not ours)
        return bool(values) and len(bindings) == len(values) and \
            all(isinstance(v, (gast.List, gast.Dict, gast.ListComp, gast.DictComp)) for v in values)

    def stmt_AnnAssign(self, node):
        if node.value is not None:
            self.stmt_Assign(gast.Assign(targets=[node.target], value=node.value, type_comment=None))

    def stmt_Expr(self, node):
        if isinstance(node.value, gast.Constant):
            return  # a docstring or a bare constant
        value = self.value(node.value)
        if isinstance(value, gast.Call):
            self.emit(S.expr_stmt(value))

    def stmt_Return(self, node):
        value = S.const(None) if node.value is None else self.atom(node.value)
        self.emit(S.ret(value))

    def stmt_If(self, node):
        test = self.atom(node.test)
        self.emit(S.if_(test, self.block(node.body), self.block(node.orelse)))

    def stmt_While(self, node):
        def loop_body():
            if isinstance(node.test, gast.Constant) and node.test.value is True:
                self.out.extend(self.block(node.body))
                return
            test = self.atom(node.test)
            self.emit(S.if_(test, self.block(node.body), [gast.Break()]))

        self.emit(gast.While(test=S.const(True), body=self.nested(loop_body), orelse=[]))

    def stmt_With(self, node):
        self.with_items(node.items, node.body)

    def with_items(self, items, body) -> None:
        """One ``with`` per manager, each made (its arguments computed) inside the ones before, as Python does."""
        item, rest = items[0], items[1:]
        expr = item.context_expr
        manager = self.value_Call(expr) if isinstance(expr, gast.Call) else S.clone(expr)
        inner = self.nested(lambda: self.with_items(rest, body)) if rest else self.block(body)
        bound = gast.withitem(context_expr=manager, optional_vars=S.clone(item.optional_vars))
        self.emit(gast.With(items=[bound], body=inner or [gast.Pass()], type_comment=None))

    def stmt_For(self, node):
        marked = marker_schedule(self.ctx, node.iter)
        if marked is not None:  # for i in sct.checkpointed(steps): the loop over steps (reverse mode reads the mark)
            node = copy.copy(node)
            node.iter = marked[0]
        it = node.iter
        callee = self.ctx.resolve(it.func) if isinstance(it, gast.Call) else None
        body_stores = set().union(*map(S.stores, node.body)) if node.body else set()
        if callee is range and isinstance(node.target, gast.Name) and not it.keywords:
            self.range_loop(node, body_stores)
        else:
            self.indexed_loop(node, callee, body_stores)

    def range_loop(self, node, body_stores: set[str]) -> None:
        """``for i in range(...)``: the range is bound to a name the backward sweep reverses."""
        rng = self.temp()
        self.emit(S.assign(rng, S.call(S.clone(node.iter.func), [self.atom(a) for a in node.iter.args])))
        index = self.loop_index(node.target.id, body_stores)

        def body():
            if index != node.target.id:
                self.emit(S.assign(node.target.id, S.name(index)))
            self.out.extend(self.block(node.body))
        self.emit(S.for_(index, S.name(rng), self.nested(body)))

    def indexed_loop(self, node, callee, body_stores: set[str]) -> None:
        """``for x in xs`` (and enumerate, zip, reversed) as a loop over indices that reads ``xs[k]``; a loop over
        a dict (``d.items()``, ``d.values()``, ``d.keys()``, ``d``) as a loop over its keys that reads ``d[key]``."""
        it = node.iter
        start = None
        rebound = body_stores | S.stores(node.target)  # (`for x in x`: the sequence is held in a name of its own)
        strict = []  # zip(..., strict=...): the lengths are checked before the loop
        if callee is enumerate and isinstance(node.target, (gast.Tuple, gast.List)) and len(node.target.elts) == 2 \
                and 1 <= len(it.args) + len(it.keywords) <= 2 and all(kw.arg == "start" for kw in it.keywords):
            inner, item = it.args[0], node.target.elts[1]
            inner_callee = self.ctx.resolve(inner.func) if isinstance(inner, gast.Call) else None
            if inner_callee is zip and isinstance(item, (gast.Tuple, gast.List)) \
                    and len(item.elts) == len(inner.args) and _strict_only(inner):  # enumerate(zip(a, b))
                iterated, targets = list(inner.args), list(item.elts)
                strict = inner.keywords
            else:
                iterated, targets = [inner], [item]
            seqs = [self.iterated(a, rebound) for a in iterated]
            index_target = node.target.elts[0]
            extra = list(it.args[1:]) + [kw.value for kw in it.keywords]
            start = self.atom(extra[0]) if extra else None
        elif callee is zip and isinstance(node.target, (gast.Tuple, gast.List)) \
                and len(node.target.elts) == len(it.args) and _strict_only(it):
            iterated, targets, index_target = list(it.args), list(node.target.elts), None
            seqs = [self.iterated(a, rebound) for a in iterated]
            strict = it.keywords
        elif callee is reversed and len(it.args) == 1 and not it.keywords:
            iterated, targets, index_target = [it.args[0]], [node.target], None
            seqs = [self.iterated(it.args[0], rebound, backwards=True)]
        else:
            if callee in (zip, enumerate, map, filter, iter, reversed):  # (sorted(...) is a list: looped over)
                self.refuse(it, f"a loop over {callee.__name__}(...) in this form",
                            "loop over range(len(...)), or over zip/enumerate with one name per item")
            iterated, targets, index_target = [it], [node.target], None
            seqs = [self.iterated(it, rebound)]
        rng = self.temp()
        self.emit(S.assign(rng, S.call(self.runtime("indices"), [seq for seq, _ in seqs],
                                       {kw.arg: self.atom(kw.value) for kw in strict})))
        self.out[-1].sct_iterated = iterated  # (analysis finds the loops over dicts among them)
        if isinstance(index_target, gast.Name) and start is None:
            index = self.loop_index(index_target.id, body_stores)
        else:
            index = self.fresh("k")

        def loop_body():
            if index_target is not None and (not isinstance(index_target, gast.Name) or index != index_target.id):
                value = S.name(index) if start is None else S.add(S.name(index), S.clone(start))
                self.assign_to(index_target, value)
            for (seq, source), target in zip(seqs, targets):
                self.assign_item(seq, source, index, target, node.body)
            self.out.extend(self.block(node.body))
        self.emit(S.for_(index, S.name(rng), self.nested(loop_body)))

    def iterated(self, node: gast.expr, body_stores: set[str], backwards: bool = False):
        """What a loop runs over, as ``(seq, source)``: ``seq`` an atom to index, ``source`` None; or, for a
        dict, ``seq`` the list of its keys and ``source`` ``(the dict, "keys" | "values" | "items")``."""
        part = None
        if self.dict_view(node):
            part, mapping = node.func.attr, node.func.value  # for k, v in d.items()
        elif _position(node) in self.ctx.dict_loops:
            part, mapping = "keys", node  # for k in d (analysis found d to be a dict)
        if part is None:
            if backwards:
                reverse = gast.Subscript(value=self.atom(node), slice=_backwards(), ctx=gast.Load())
                return self.atom(reverse), None
            return self.sequence(node, body_stores), None
        mapping = self.sequence(mapping, body_stores)
        keys = S.call(self.ctx.symbol(dicts.keys_of, "keys_of"), [S.clone(mapping)])
        if backwards:
            keys = gast.Subscript(value=self.atom(keys), slice=_backwards(), ctx=gast.Load())
        return self.atom(keys), (mapping, part)

    def assign_item(self, seq: gast.expr, source, index: str, target: gast.expr, body: list[gast.stmt]) -> None:
        """Bind the loop's target to the item at ``index`` (see ``iterated``)."""
        if source is None:
            self.assign_to(target, self.item(seq, index, target, body))
            return
        mapping, part = source
        key = gast.Subscript(value=S.clone(seq), slice=S.name(index), ctx=gast.Load())
        if part == "keys":
            self.assign_to(target, key)
            return
        pair = part == "items" and isinstance(target, (gast.Tuple, gast.List)) and len(target.elts) == 2
        if pair and isinstance(target.elts[0], gast.Name):
            self.assign_to(target.elts[0], key)
            name = target.elts[0].id
        else:
            name = self.atom(key).id
            if pair:
                self.assign_to(target.elts[0], S.name(name))
        if part == "values" or pair:
            value_target = target.elts[1] if pair else target
            self.assign_to(value_target, self.item(mapping, name, value_target, body))
        else:  # for kv in d.items(): the pair
            value = self.atom(self.item(mapping, name, target, body))
            self.assign_to(target, S.tuple_([S.name(name), value]))

    def item(self, seq: gast.expr, index: str, target: gast.expr, body: list[gast.stmt]) -> gast.expr:
        """``seq[index]``; or, when the body does ``target op= ...``, ``number_at(seq, index, where)``, which
        refuses (at run time) an item that is an array: the augmented assignment would change it in place."""
        augmented = [n for stmt in body for n in S.walk(stmt) if isinstance(n, gast.AugAssign)
                     and isinstance(target, gast.Name) and isinstance(n.target, gast.Name) and n.target.id == target.id]
        if not augmented:
            return gast.Subscript(value=S.clone(seq), slice=S.name(index), ctx=gast.Load())
        where = S.const(str(self.ctx.parsed.location(augmented[0])))
        return S.call(self.runtime("number_at"), [S.clone(seq), S.name(index), where])

    def loop_index(self, target: str, body_stores: set[str]) -> str:
        """The loop's own index: the target itself, unless the target is also bound elsewhere."""
        bound = sum(1 for n in S.walk(self.ctx.parsed.node)
                    if isinstance(n, gast.Name) and n.id == target and isinstance(n.ctx, (gast.Store, gast.Param)))
        if bound == 1 and target not in body_stores:
            return target
        return self.fresh("k")

    def sequence(self, node: gast.expr, body_stores: set[str]) -> gast.expr:
        """What a loop iterates over, held in a name the body does not rebind."""
        seq = self.atom(node)
        if isinstance(seq, gast.Name) and seq.id in body_stores:
            copy_ = self.temp()
            self.emit(S.assign(copy_, seq))
            seq = S.name(copy_)
        return seq

    def stmt_Pass(self, node):
        pass

    def stmt_Delete(self, node):
        pass  # `del name` only frees memory: a valid program does not read the name again

    def stmt_Break(self, node):
        self.emit(gast.Break())

    def stmt_Continue(self, node):
        self.emit(gast.Continue())

    def stmt_Assert(self, node):
        self.emit(S.clone(node))  # checked in the forward sweep only

    def stmt_Raise(self, node):
        self.emit(S.clone(node))


def _strict_only(call: gast.Call) -> bool:
    """``zip(a, b)`` or ``zip(a, b, strict=...)``."""
    return all(kw.arg == "strict" for kw in call.keywords)


_DICT_VIEWS = {"values": dicts.values_of, "items": dicts.items_of, "keys": dicts.keys_of}


def _backwards() -> gast.Slice:
    return gast.Slice(lower=None, upper=None, step=S.const(-1))


def _position(node: gast.AST):
    """Where an expression is in the source (None for one normalisation made): how analysis names a loop."""
    where = tuple(getattr(node, f, None) for f in ("lineno", "col_offset", "end_lineno", "end_col_offset"))
    return None if where[0] is None else where


def _rename_stores(node, renames):
    for sub in S.walk(node):
        if isinstance(sub, gast.Name) and sub.id in renames and not isinstance(sub.ctx, gast.Load):
            sub.id = renames[sub.id].id
    return node


class _ReturnsInLoops:
    """``return v`` inside a loop becomes ``result = v; returned = True; break``."""

    def __init__(self, ctx: Context, lowering: _Lowering):
        self.ctx = ctx
        self.lowering = lowering

    def names(self) -> tuple[str, str]:
        if self.lowering.flag is None:
            self.lowering.flag = self.lowering.fresh("returned")
            self.lowering.result = self.lowering.fresh("result")
        return self.lowering.flag, self.lowering.result

    def block(self, stmts, in_loop: bool):
        out = []
        for stmt in stmts:
            origin = S.origin_of(stmt)
            if isinstance(stmt, gast.Return) and in_loop:
                flag, result = self.names()
                out += [S.with_origin(S.assign(result, stmt.value), origin),
                        S.with_origin(S.assign(flag, S.const(True)), origin),
                        S.with_origin(gast.Break(), origin)]
            elif isinstance(stmt, gast.If):
                stmt.body = self.block(stmt.body, in_loop)
                stmt.orelse = self.block(stmt.orelse, in_loop)
                out.append(stmt)
            elif isinstance(stmt, gast.With):
                stmt.body = self.block(stmt.body, in_loop)
                out.append(stmt)
            elif isinstance(stmt, (gast.For, gast.While)):
                had = _has_return(stmt.body)
                stmt.body = self.block(stmt.body, in_loop=True)
                out.append(stmt)
                if had:
                    flag, result = self.names()
                    leave = [gast.Break()] if in_loop else [S.ret(S.name(result))]
                    out.append(S.with_origin(S.if_(S.name(flag), [S.with_origin(s, origin) for s in leave]), origin))
            else:
                out.append(stmt)
        return out


def _has_return(stmts) -> bool:
    return any(isinstance(n, gast.Return) for s in stmts for n in S.walk(s))


def _may_exit(stmts) -> bool:
    """Does this block contain a return/break/continue that leaves it (not an inner loop's)?"""
    for stmt in stmts:
        if isinstance(stmt, _EXITS):
            return True
        if isinstance(stmt, gast.If) and (_may_exit(stmt.body) or _may_exit(stmt.orelse)):
            return True
        if isinstance(stmt, gast.With) and _may_exit(stmt.body):
            return True
    return False


def _ends(block) -> bool:
    """Does every path through this restructured block end in an exit (never fall through)?"""
    last = block[-1] if block else None
    if isinstance(last, gast.If):
        return _ends(last.body) and _ends(last.orelse)
    if isinstance(last, gast.With):
        return _ends(last.body)
    return isinstance(last, _EXITS)


def restructure(stmts: list[gast.stmt]) -> list[gast.stmt]:
    """Move what follows an exiting ``if`` into its branches so exits end their paths."""
    out = []
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, _EXITS):
            out.append(stmt)
            return out  # the rest is unreachable
        if isinstance(stmt, (gast.For, gast.While)):
            stmt.body = _drop_tail_continues(restructure(stmt.body))
            out.append(stmt)
        elif isinstance(stmt, gast.If):
            stmt.body = restructure(stmt.body)
            stmt.orelse = restructure(stmt.orelse)
            if _may_exit(stmt.body) or _may_exit(stmt.orelse):
                rest = restructure(stmts[i + 1:])
                if rest:
                    stmt.body = _append_rest(stmt.body, rest)
                    stmt.orelse = _append_rest(stmt.orelse, S.clone(rest))
                out.append(stmt)
                return out
            out.append(stmt)
        elif isinstance(stmt, gast.With):
            stmt.body = restructure(stmt.body)
            out.append(stmt)
            if _may_exit(stmt.body):  # what follows is unreachable, unless the block falls through: refused
                stmt.sct_partial_exit = not _ends(stmt.body) and bool(stmts[i + 1:])
                return out
        else:
            out.append(stmt)
    return out


def _append_rest(block, rest):
    """Append ``rest`` to every path of ``block`` that falls through."""
    if not block:
        return list(rest)
    last = block[-1]
    if isinstance(last, _EXITS):
        return block
    if isinstance(last, gast.With) and _may_exit(last.body):
        last.sct_partial_exit = getattr(last, "sct_partial_exit", False) or not _ends(last.body)  # (refused: rest cannot move in)
        return block
    if isinstance(last, gast.If) and (_may_exit(last.body) or _may_exit(last.orelse)):
        last.body = _append_rest(last.body, rest)
        last.orelse = _append_rest(last.orelse, S.clone(rest))
        return block
    return block + list(rest)


def _drop_tail_continues(stmts):
    """In a restructured loop body a ``continue`` ends its path: it is the same as falling through."""
    if not stmts:
        return stmts
    last = stmts[-1]
    if isinstance(last, gast.Continue):
        return stmts[:-1]
    if isinstance(last, gast.If):
        last.body = _drop_tail_continues(last.body)
        last.orelse = _drop_tail_continues(last.orelse)
    if isinstance(last, gast.With):
        last.body = _drop_tail_continues(last.body) or [gast.Pass()]
    return stmts
