"""Pass 1b — lift: nested ``def`` and ``lambda`` become functions of their own (lambda-lifting).

Input: a parsed function (:class:`~sct.parse.Parsed`) whose body may define
functions.  Output: the same tree without them, and its namespace extended with
one *lifted* function per nested one.  A lifted function takes the enclosing
function's locals it reads (its *captured* variables) as extra leading
parameters, so ``def penalty(v): return scale * v`` becomes
``penalty(scale, v)`` and every call ``penalty(w)`` becomes
``penalty(scale, w)``: the captured value is read when the call runs, as Python
reads a closure.  A nested function that calls another one captures what that
one captures.  Names the enclosing function itself gets from its closure or its
globals stay what they were: the lifted function is a closure over the same cells.

A nested function used as a *value* (passed to a helper, stored, returned) is
``functools.partial(penalty, scale)``: its captured values are bound where it
is used, which is what Python would read only if no captured variable is
rebound after that point; sct refuses the other cases.

Lifted functions are real function objects, compiled from the nested function's
own text (its nested functions stay inside it: they are lifted in turn when sct
parses it), and keep their tree with the user's line numbers in
``__sct_lifted__`` for :func:`~sct.parse.parse_function`.  They are made once
per enclosing function object, so derived programs are cached as for any helper.
"""
from __future__ import annotations

import ast
import functools
import types
import weakref
from dataclasses import dataclass

import gast

from . import syntax as S
from .errors import UnsupportedSyntaxError

_SCOPES = (gast.FunctionDef, gast.Lambda)


@dataclass
class Lifted:
    """What a lifted function object carries for the parse pass."""

    node: gast.FunctionDef  # its tree, located in the user's file
    filename: str
    outer: str  # the qualified name of the function it was defined in


@dataclass
class _Nested:
    """One nested function of the function being lifted."""

    name: str            # the lifted function's name (the def's, the lambda's variable, or lambda_<line>)
    node: gast.AST       # the FunctionDef or Lambda
    statement: gast.AST  # what defines it in the enclosing body (the def, `f = lambda`, or the lambda itself)
    captured: list       # the enclosing function's locals it reads (directly or through other nested functions)


# enclosing function object -> {lifted name: (cell, function)}: one set of lifted objects per function
_MADE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def lift(parsed) -> None:
    """Replace ``parsed``'s nested functions by lifted ones (in place: its tree and its namespace)."""
    fn_node = parsed.node
    if not any(isinstance(node, _SCOPES) for stmt in fn_node.body for node in S.walk(stmt)):
        return  # (most functions have none: one walk instead of _find's four)
    nested = _find(parsed, fn_node)
    if not nested:
        return
    outer_locals = _ordered_locals(fn_node)
    names = {n.name for n in nested}
    for n in nested:
        n.captured = [v for v in outer_locals if v in _free(n.node) and v not in names]
    _close_over_calls(nested, outer_locals)
    rewrite = _Rewrite(parsed, {n.name: n for n in nested}, _binder_name(fn_node, names), fn_node)
    rewrite.run()
    binder = rewrite.binder  # (None when no nested function is used as a value with captured values)
    made = _make(parsed, nested)
    namespace = parsed.namespace
    for name, (cell, obj) in made.items():
        namespace.closure[name] = obj
        namespace.cells[name] = cell
    if binder is not None:
        namespace.closure[binder] = functools.partial
        namespace.cells[binder] = types.CellType(functools.partial)


# -- finding the nested functions ------------------------------------------------------

def _refuse(parsed, node, what: str, hint: str | None = None):
    raise UnsupportedSyntaxError(f"sct cannot differentiate {what}", parsed.location(node), hint)


def _find(parsed, fn_node) -> list[_Nested]:
    """The functions defined directly in ``fn_node`` (not inside another nested one), checked."""
    found: list[_Nested] = []
    bindings = _binding_counts(fn_node)
    for node in _own_nodes(fn_node):
        if isinstance(node, gast.FunctionDef):
            _check_nested(parsed, node, bindings, node.name)
            found.append(_Nested(node.name, node, node, []))
        elif isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda) and len(node.targets) == 1 \
                and isinstance(node.targets[0], gast.Name):
            _check_nested(parsed, node.value, bindings, node.targets[0].id)
            found.append(_Nested(node.targets[0].id, node.value, node, []))
    named = {id(n.node) for n in found}
    taken = {n.id for n in S.walk(fn_node) if isinstance(n, gast.Name)} | {n.name for n in found}
    for node in _own_nodes(fn_node):
        if isinstance(node, gast.Lambda) and id(node) not in named:
            _check_nested(parsed, node, bindings, None)
            name = _fresh(f"lambda_{node.lineno}", taken)
            found.append(_Nested(name, node, node, []))
    return found


def _check_nested(parsed, node, bindings: dict, name: str | None) -> None:
    """Refuse, located, what lifting would change the meaning of."""
    if isinstance(node, gast.FunctionDef) and node.decorator_list:
        _refuse(parsed, node.decorator_list[0], "a decorated nested function",
                "define the decorated function at module level")
    if name is not None and bindings.get(name, 0) != 1:
        _refuse(parsed, node, f"a nested function `{name}` whose name is bound more than once",
                "give each nested function its own name, and do not assign to it")
    for default in list(node.args.defaults) + [d for d in node.args.kw_defaults if d is not None]:
        if not _constant(default):
            _refuse(parsed, default, "a default value computed when the nested function is defined",
                    "use a constant default, or pass the value as an argument")
    for sub in S.walk(node):
        if isinstance(sub, (gast.Yield, gast.YieldFrom)):
            _refuse(parsed, sub, "a nested generator function (`yield`)", "build and return a list instead")
        if isinstance(sub, (gast.Nonlocal, gast.Global)):
            word = "nonlocal" if isinstance(sub, gast.Nonlocal) else "global"
            _refuse(parsed, sub, f"a `{word}` statement (a nested function rebinding a variable outside it)",
                    "return the new value from the nested function and assign it in the caller")
        if isinstance(sub, gast.ClassDef):
            _refuse(parsed, sub, "a class definition", "define the class outside the differentiated function")


def _constant(node) -> bool:
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        node = node.operand
    return isinstance(node, gast.Constant)


def _own_nodes(scope):
    """The nodes of ``scope``'s own body, in source order: nested functions are yielded with their defaults
    (evaluated in ``scope``) but not entered."""
    todo = list(reversed(scope.body)) if isinstance(scope, gast.FunctionDef) else [scope.body]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, _SCOPES):
            inner = list(node.args.defaults) + [d for d in node.args.kw_defaults if d is not None]
            if isinstance(node, gast.FunctionDef):
                inner += node.decorator_list
        else:
            inner = [c for c in ast.iter_child_nodes(node)]
        todo.extend(reversed(inner))


def _params(scope) -> list[str]:
    args = scope.args
    every = list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    return [a.id for a in every]


def _locals(scope) -> set[str]:
    """The names a function scope binds: parameters, assignment targets, nested functions' names."""
    out = set(_params(scope))
    for node in _own_nodes(scope):
        if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
            out.add(node.id)
        elif isinstance(node, gast.FunctionDef):
            out.add(node.name)
    return out


def _free(scope) -> set[str]:
    """The names ``scope`` (or a function inside it) reads from outside it."""
    names = set()
    for node in _own_nodes(scope):
        if node is scope:
            continue
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            names.add(node.id)
        elif isinstance(node, _SCOPES):
            names |= _free(node)
    return names - _locals(scope)


def _binding_counts(fn_node) -> dict[str, int]:
    """How many places bind each name of ``fn_node``'s scope (a def counts once; a loop's target once)."""
    counts: dict[str, int] = {}
    for name in _params(fn_node):
        counts[name] = counts.get(name, 0) + 1
    for node in _own_nodes(fn_node):
        if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
            counts[node.id] = counts.get(node.id, 0) + 1
        elif isinstance(node, gast.FunctionDef):
            counts[node.name] = counts.get(node.name, 0) + 1
    return counts


def _ordered_locals(fn_node) -> list[str]:
    """The enclosing function's locals: its parameters, then the others by their first binding in the source."""
    out = list(_params(fn_node))
    stores = [n for n in _own_nodes(fn_node) if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load)]
    for node in sorted(stores, key=_position):
        if node.id not in out:
            out.append(node.id)
    return out


def _position(node) -> tuple[int, int]:
    return getattr(node, "lineno", 0) or 0, getattr(node, "col_offset", 0) or 0


def _fresh(base: str, taken: set) -> str:
    name, i = base, 0
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    taken.add(name)
    return name


def _close_over_calls(nested: list[_Nested], order: list[str]) -> None:
    """A nested function that refers to another captures what the other captures (to pass it on)."""
    by_name = {n.name: n for n in nested}
    refers = {n.name: [m for m in _free(n.node) if m in by_name] for n in nested}
    changed = True
    while changed:
        changed = False
        for n in nested:
            for other in refers[n.name]:
                new = [v for v in by_name[other].captured if v not in n.captured]
                n.captured += new
                changed = changed or bool(new)
    for n in nested:  # (in the enclosing function's order)
        n.captured.sort(key=order.index)


def _binder_name(fn_node, names: set) -> str:
    taken = {n.id for n in S.walk(fn_node) if isinstance(n, gast.Name)} | names
    return _fresh("partial", taken)


# -- rewriting the enclosing function ---------------------------------------------------

class _Rewrite:
    """Remove the nested functions from the enclosing tree; pass captured values at calls; bind them at uses."""

    def __init__(self, parsed, nested: dict[str, _Nested], binder: str, fn_node):
        self.parsed = parsed
        self.nested = nested
        self.binder = binder
        self.fn_node = fn_node
        self.used_binder = False
        self.loops = [n for n in _own_nodes(fn_node) if isinstance(n, (gast.For, gast.While))]
        self.bindings: dict[str, list] = {}
        for node in _own_nodes(fn_node):
            if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
                self.bindings.setdefault(node.id, []).append(node)

    def run(self) -> None:
        anonymous = {id(n.node): n for n in self.nested.values() if n.statement is n.node}
        statements = {id(n.statement) for n in self.nested.values() if n.statement is not n.node}
        for n in self.nested.values():  # their bodies first (they are not part of the enclosing body below)
            body = n.node.body if isinstance(n.node, gast.FunctionDef) else [n.node.body]
            shadow = _locals(n.node)
            new = [self.visit(stmt, shadow, n.statement) for stmt in body]
            if isinstance(n.node, gast.FunctionDef):
                n.node.body = new
            else:
                n.node.body = new[0]
        self.fn_node.body = self.block(self.fn_node.body, statements, anonymous)
        if not self.used_binder:
            self.binder = None

    def block(self, stmts, statements, anonymous) -> list:
        out = []
        for stmt in stmts:
            if isinstance(stmt, gast.FunctionDef) or id(stmt) in statements:
                continue  # (lifted)
            for field in ("body", "orelse"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                    setattr(stmt, field, self.block(inner, statements, anonymous) or [gast.Pass()])
            out.append(self.visit(stmt, set(), None, anonymous, statements_done=True))
        return out

    def visit(self, node, shadow: set, defined_at, anonymous=None, statements_done=False):
        """``node`` rewritten: calls of nested functions get their captured values, other uses are bound."""
        if isinstance(node, gast.Lambda) and anonymous is not None and id(node) in anonymous:
            return self.use(S.name(anonymous[id(node)].name), shadow, node, None)
        if isinstance(node, _SCOPES):
            inner_shadow = shadow | _locals(node)
            if isinstance(node, gast.FunctionDef):
                node.body = [self.visit(s, inner_shadow, defined_at) for s in node.body]
            else:
                node.body = self.visit(node.body, inner_shadow, defined_at)
            return node
        if isinstance(node, gast.Call) and anonymous is not None and id(node.func) in anonymous:
            node.func = self.located(S.name(anonymous[id(node.func)].name), node.func)  # (lambda z: ...)(x)
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and self.lifted(node.func.id, shadow):
            n = self.nested[node.func.id]
            self.check_shadow(n, shadow, node)
            node.args = [self.located(S.name(v), node) for v in n.captured] + \
                [self.visit(a, shadow, defined_at, anonymous) for a in node.args]
            for kw in node.keywords:
                kw.value = self.visit(kw.value, shadow, defined_at, anonymous)
            return node
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and self.lifted(node.id, shadow):
            return self.use(node, shadow, node, defined_at)
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                if statements_done and value and isinstance(value[0], gast.stmt):
                    continue
                setattr(node, field, [self.visit(v, shadow, defined_at, anonymous)
                                      if isinstance(v, ast.AST) else v for v in value])
            elif isinstance(value, ast.AST):
                setattr(node, field, self.visit(value, shadow, defined_at, anonymous))
        return node

    def lifted(self, name: str, shadow: set) -> bool:
        return name in self.nested and name not in shadow

    def located(self, new, where):
        return gast.copy_location(new, where)

    def check_shadow(self, n: _Nested, shadow: set, where) -> None:
        hidden = [v for v in n.captured if v in shadow]
        if hidden:
            _refuse(self.parsed, where, f"a call of `{n.name}`, which reads `{hidden[0]}` of the enclosing function, "
                                        f"from a nested function with its own `{hidden[0]}`",
                    f"rename one of the two `{hidden[0]}`")

    def use(self, name_node, shadow: set, where, defined_at):
        """A nested function used as a value: itself, or ``partial(f, captured...)`` when that is what Python
        would read (no captured variable rebound after this point)."""
        n = self.nested[name_node.id]
        if not n.captured:
            return self.located(name_node, where)
        self.check_shadow(n, shadow, where)
        point = defined_at if defined_at is not None else where
        for v in n.captured:
            later = [b for b in self.bindings.get(v, []) if _position(b) > _position(point)]
            looped = [b for b in self.bindings.get(v, [])
                      if any(_inside(b, loop) and _inside(point, loop) for loop in self.loops)]
            if later or looped:
                what = f"`{n.name}`" if n.statement is not n.node else "a lambda"
                how = f"rebinds later (line {later[0].lineno})" if later else \
                    f"rebinds in a loop around it (line {looped[0].lineno})"
                _refuse(self.parsed, where,
                        f"{what} used as a value: it reads `{v}`, which the function {how}, "
                        f"and Python would read the new value when it is called",
                        f"call it directly, or pass `{v}` to it as an argument")
        self.used_binder = True
        binder = S.name(self.binder)
        call = S.call(binder, [S.name(n.name)] + [S.name(v) for v in n.captured])
        for sub in S.walk(call):
            gast.copy_location(sub, where)
        return call


def _inside(node, outer) -> bool:
    return any(sub is node for sub in S.walk(outer))


# -- making the lifted functions --------------------------------------------------------

def _lifted_def(n: _Nested) -> gast.FunctionDef:
    """The lifted function's tree: the captured variables first, then the nested function's own parameters."""
    node = n.node
    args = S.clone(node.args)
    captured = [gast.copy_location(S.name(v, gast.Param), node) for v in n.captured]
    if args.posonlyargs:
        args.posonlyargs = captured + args.posonlyargs
    else:
        args.args = captured + args.args
    if isinstance(node, gast.FunctionDef):
        body = node.body
    else:
        body = [gast.copy_location(S.ret(node.body), node.body)]
    new = S.function_def(n.name, args, body)
    return gast.copy_location(new, node)


def _make(parsed, nested: list[_Nested]) -> dict:
    """The lifted function objects (and the cells the others reach them through), made once per function."""
    fn = parsed.fn
    made = _MADE.get(fn)
    if made is not None and set(made) == {n.name for n in nested}:
        return made
    cells = {name: cell for name, cell in parsed.namespace.cells.items()}
    own = {n.name: types.CellType() for n in nested}
    cells.update(own)
    trees = {n.name: _lifted_def(n) for n in nested}
    made = {}
    for n in nested:
        obj = _compile(trees[n.name], parsed, cells)
        obj.__qualname__ = f"{fn.__qualname__}.<locals>.{_original_name(n)}"
        obj.__module__ = fn.__module__
        obj.__sct_lifted__ = Lifted(trees[n.name], parsed.filename, fn.__qualname__)
        own[n.name].cell_contents = obj
        made[n.name] = (own[n.name], obj)
    _MADE[fn] = made
    return made


def _original_name(n: _Nested) -> str:
    return n.node.name if isinstance(n.node, gast.FunctionDef) else "<lambda>"


def _compile(tree: gast.FunctionDef, parsed, cells: dict):
    """Compile one lifted def as a closure over ``cells`` (the enclosing function's and the lifted ones')."""
    node = gast.gast_to_ast(S.clone(tree))
    for sub in ast.walk(node):  # (the user's line numbers; the end positions were not moved with them)
        if hasattr(sub, "lineno"):
            sub.end_lineno, sub.end_col_offset = sub.lineno, sub.col_offset
    outer = ast.FunctionDef(name="__sct_lift__", args=ast.arguments(
        posonlyargs=[], args=[ast.arg(arg=c) for c in cells], vararg=None, kwonlyargs=[], kw_defaults=[],
        kwarg=None, defaults=[]), body=[node, ast.Return(ast.Name(tree.name, ast.Load()))], decorator_list=[],
        returns=None, type_comment=None, **({"type_params": []} if "type_params" in ast.FunctionDef._fields else {}))
    module = ast.Module(body=[outer], type_ignores=[])
    ast.fix_missing_locations(module)
    code = compile(module, parsed.filename, "exec")
    outer_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in outer_code.co_consts if isinstance(c, types.CodeType) and c.co_name == tree.name)
    defaults = [_value(d) for d in tree.args.defaults]
    obj = types.FunctionType(inner, parsed.fn.__globals__, tree.name, tuple(defaults) or None,
                             tuple(cells[c] for c in inner.co_freevars))
    kwdefaults = {a.id: _value(d) for a, d in zip(tree.args.kwonlyargs, tree.args.kw_defaults) if d is not None}
    obj.__kwdefaults__ = kwdefaults or None
    return obj


def _value(node):
    return ast.literal_eval(gast.gast_to_ast(node))
