"""Pass 2 — fence: refuse, up front and located, the syntax sct does not differentiate.

Input: a :class:`~sct.parse.Parsed` function.  Output: nothing; raises
:class:`~sct.errors.UnsupportedSyntaxError` at the first unsupported node, naming
the construct, the file, line and column, with a hint.  Later passes may then
assume only the constructs listed in ``_ALLOWED_STMTS`` and ``_ALLOWED_EXPRS``.
"""
from __future__ import annotations

import inspect
import types

import gast

from . import syntax as S
from .errors import AliasingError, TransformError, UnsupportedSyntaxError
from .parse import Parsed, parse_function
from .rules import REGISTRY

# node type -> (what to call it, what to do instead)
_REFUSED = {
    gast.Try: ("a `try` statement", "move the error handling outside the differentiated function"),
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
    gast.Import: ("an import inside the function", "import at module level"),
    gast.ImportFrom: ("an import inside the function", "import at module level"),
    gast.Set: ("a set display", "use a tuple or list"),
    gast.SetComp: ("a set comprehension", "use a list"),
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
    nodes = list(S.walk(fn))  # (walked once for the checks below that look at the whole function)
    spread = {id(a) for node in nodes if isinstance(node, gast.Call) for a in node.args
              if isinstance(a, gast.Starred)}  # f(*args): passed on as they are
    for stmt in fn.body:
        for node in S.walk(stmt):
            if not isinstance(node, _CHECKED):
                continue
            if isinstance(node, gast.Starred) and id(node) not in spread:
                _refuse(parsed, node, "a starred expression outside a call's arguments",
                        "unpack by index, or pass *args on to a call")
            _check_node(parsed, node)
    _check_aliasing(parsed, nodes)


# the nodes _check_node (or the starred check) may refuse: the others are passed over
_CHECKED = tuple(_REFUSED) + (gast.Starred, gast.Delete, gast.For, gast.While, gast.Assign, gast.AugAssign, gast.With,
                              gast.Dict, gast.ListComp, gast.GeneratorExp, gast.DictComp, gast.Constant, gast.Name,
                              gast.Attribute)
# complex values inside the function: sct's rules are those of real functions (no conjugates), so a complex
# intermediate (np.abs(z) ** 2, a sum of x * 1j) would get wrong derivatives; its constants and dtypes refuse
_COMPLEX_NAMES = {"complex", "complex64", "complex128", "complex256", "complex_", "cdouble", "csingle", "clongdouble",
                  "cfloat", "longcomplex", "singlecomplex"}


def _refuse(parsed: Parsed, node: gast.AST, what: str, hint: str | None = None):
    raise UnsupportedSyntaxError(f"sct cannot differentiate {what}", parsed.location(node), hint)


def _check_node(parsed: Parsed, node: gast.AST) -> None:
    if isinstance(node, (gast.Constant, gast.Name, gast.Attribute)):
        _check_complex(parsed, node)
        return
    for kind, (what, hint) in _REFUSED.items():
        if isinstance(node, kind):
            _refuse(parsed, node, what, hint)
    if isinstance(node, gast.Delete) and not all(isinstance(t, gast.Name) for t in node.targets):
        _refuse(parsed, node, "a `del` of an element or attribute", "build a new list or array instead")
    if isinstance(node, (gast.For, gast.While)) and node.orelse:
        _refuse(parsed, node, f"a `{type(node).__name__.lower()} ... else` clause",
                "use a flag variable set before `break`")
    if isinstance(node, (gast.Assign, gast.AugAssign)):
        targets = node.targets if isinstance(node, gast.Assign) else [node.target]
        for target in targets:
            _check_target(parsed, target)
    if isinstance(node, gast.For):
        _check_target(parsed, node.target)
    if isinstance(node, gast.With):
        _check_with(parsed, node)
    if isinstance(node, gast.Dict) and any(key is None for key in node.keys):
        _refuse(parsed, node, "a dict display that unpacks another dict ({**d, ...})",
                "copy it and write the new entries one by one: e = dict(d); e[k] = v")
    if isinstance(node, (gast.ListComp, gast.GeneratorExp, gast.DictComp)):
        for gen in node.generators:
            if gen.is_async:
                _refuse(parsed, node, "an async comprehension")
            _check_target(parsed, gen.target)


def _check_complex(parsed: Parsed, node: gast.AST) -> None:
    """Refuse a complex constant (``1j``) or a complex dtype (``complex``, ``np.complex128``, ``"complex64"``)."""
    value = getattr(node, "value", None) if isinstance(node, gast.Constant) else None
    name = node.id if isinstance(node, gast.Name) else node.attr if isinstance(node, gast.Attribute) else value
    if isinstance(value, complex) or isinstance(name, str) and name in _COMPLEX_NAMES:
        _refuse(parsed, node, "complex numbers (sct's derivative rules are those of real functions)",
                "split the computation into real and imaginary parts, as two real arrays")


def _check_with(parsed: Parsed, node: gast.With) -> None:
    """``with m(...) [as name]:`` where ``m`` is a context manager declared in the registry (``np.errstate``,
    ``warnings.catch_warnings``: they change no value sct differentiates) and not refused there."""
    for item in node.items:
        expr = item.context_expr
        manager = _global_object(parsed, expr.func if isinstance(expr, gast.Call) else expr)
        declared, why = REGISTRY.context(manager) if manager is not None else (False, None)
        label = S.unparse(expr.func if isinstance(expr, gast.Call) else expr)
        if why is not None:
            _refuse(parsed, expr, f"a `with {label}(...)` block: {why}",
                    "move the `with` outside the differentiated function")
        if not declared:
            _refuse(parsed, expr, f"a `with` block under {label}, which sct does not know to leave values alone",
                    "move the `with` outside the differentiated function, or declare the manager with "
                    "sct.rules.context_manager(...) if it changes no value sct differentiates")
        if item.optional_vars is not None and not isinstance(item.optional_vars, gast.Name):
            _refuse(parsed, item.optional_vars, "`with ... as` unpacking into several names", "bind one name")


def _global_object(parsed: Parsed, expr: gast.expr):
    """The module-level object a name or attribute chain refers to (None for a local or unknown one)."""
    if isinstance(expr, gast.Attribute):
        base = _global_object(parsed, expr.value)
        return None if base is None else getattr(base, expr.attr, None)
    if isinstance(expr, gast.Name) and expr.id not in _locals(parsed.node):
        return parsed.namespace.lookup(expr.id, None)
    return None


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
                "index an array once with a tuple: a[i, j] = ...; for an item of a list or dict, build the new "
                "item and store it whole: row = list(a[i]); row[j] = ...; a[i] = row")
    if isinstance(target, gast.Attribute):
        _refuse(parsed, target, "an assignment to an attribute (obj.x = ...)",
                "keep the value in a local variable")
    _refuse(parsed, target, f"an assignment to {type(target).__name__}")


# -- in-place writes ----------------------------------------------------------
# sct tracks derivatives by name.  A write into an array or list (a[i] = v,
# xs.append(v)) is differentiated correctly only if no other name can see that
# object: so the written object must be one the function created itself, and it
# must not be bound to a second name or a view.

_MUTATORS = {"append", "pop"}
_REFUSED_MUTATORS = {"extend", "insert", "remove", "sort", "reverse", "fill", "resize", "clear",
                     "setdiag", "put", "itemset", "setfield", "__setitem__", "__iadd__",
                     "update", "setdefault", "popitem"}
_DICT_MUTATORS = {"update", "setdefault", "popitem"}
# Which calls, methods and attributes may return a view is declared once, with the rules
# (``returns_view`` in sct/rules); the fence sees names only, so it asks by name.
_is_view = REGISTRY.is_view_name


def _locals(fn: gast.FunctionDef) -> set[str]:
    args = fn.args
    names = {a.id for a in list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)}
    names |= {a.id for a in (args.vararg, args.kwarg) if a is not None}
    for stmt in fn.body:
        names |= {n.id for n in S.walk(stmt) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    return names


def _mutations(fn: gast.FunctionDef, local: set[str], nodes: list | None = None):
    """(name, node) for every in-place write to a local name (``nodes``: ``fn``'s, if walked already)."""
    for node in S.walk(fn) if nodes is None else nodes:
        if isinstance(node, gast.Assign):
            for target in node.targets:
                for sub in S.walk(target):
                    if isinstance(sub, gast.Subscript) and isinstance(sub.value, gast.Name):
                        yield sub.value.id, node
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Subscript):
            yield node.target.value.id, node
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                and isinstance(node.func.value, gast.Name) and node.func.value.id in local \
                and (node.func.attr in _MUTATORS or node.func.attr in _REFUSED_MUTATORS):
            yield node.func.value.id, node


def _aliases(value: gast.expr, name: str) -> bool:
    """Could ``value`` be the object ``name`` refers to, or a view of it?"""
    if isinstance(value, gast.Name):
        return value.id == name
    if isinstance(value, gast.Attribute):
        return _is_view(value.attr) and _aliases(value.value, name)
    if isinstance(value, gast.Call):
        func = value.func
        if isinstance(func, gast.Attribute) and _is_view(func.attr):
            return _aliases(func.value, name) or any(_aliases(a, name) for a in value.args[:1])
        returned = getattr(value, "sct_returned_arguments", None)  # (see _mark_calls_returning_arguments)
        if returned is not None:
            return any(_aliases(a, name) for a in returned)
        return False
    if isinstance(value, (gast.Tuple, gast.List)):
        return False
    if isinstance(value, gast.IfExp):
        return _aliases(value.body, name) or _aliases(value.orelse, name)
    return False


def _check_aliasing(parsed: Parsed, nodes: list) -> None:
    """Refuse in-place writes sct could not follow (see the comment above ``_MUTATORS``); ``nodes``: the
    function's nodes in ``S.walk`` order."""
    fn = parsed.node
    local = _locals(fn)
    _mark_calls_returning_arguments(parsed, nodes)
    mutations = list(_mutations(fn, local, nodes))
    mutated = _written(parsed, mutations)
    _check_loops_over_written(parsed, local, nodes)
    _check_loop_items(parsed, mutated, nodes)
    if not parsed.filename.startswith("<sct "):  # sct's own programs put arrays on their tape on purpose
        _check_held(parsed, mutated, nodes, mutations)
    _check_arguments(parsed, mutated, local)
    _check_shared(parsed, mutated, local - _private_temporaries(nodes), nodes, mutations)
    if not parsed.filename.startswith("<sct "):  # (sct's own programs index into arrays they write on purpose)
        _check_indexed_views(parsed, nodes, mutations)


def _mark_calls_returning_arguments(parsed: Parsed, nodes: list) -> None:
    """Mark ``sct_returned_arguments`` on each call of a user function that may return one of its arguments
    or a view of one (``def h(a): return a.T``): the argument nodes its result may share memory with."""
    for node in nodes:
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
            _mark_call(node, parsed.namespace.lookup(node.func.id, None), set())


def _mark_call(call: gast.Call, callee, seen: set) -> None:
    params = _returned_parameters(callee, seen)
    if params:
        call.sct_returned_arguments = _arguments_for(callee, call, params)


def _arguments_for(callee, call: gast.Call, params: frozenset) -> list:
    """The argument nodes of ``call`` that ``callee`` binds to ``params`` (all of them if the call does not
    bind: a ``*args`` call, say)."""
    every = list(call.args) + [kw.value for kw in call.keywords]
    try:
        bound = inspect.signature(callee).bind(*call.args, **{kw.arg: kw.value for kw in call.keywords
                                                              if kw.arg is not None})
    except (TypeError, ValueError):
        return every
    out = []
    for param, value in bound.arguments.items():
        if param in params:
            out += list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, tuple) \
                else [value]
    return out


def returned_parameters(callee) -> frozenset:
    """The parameters of the plain Python function ``callee`` whose argument it may return, or a view of it."""
    return _returned_parameters(callee, set())


def _returned_parameters(callee, seen: set) -> frozenset:
    """The parameters of the plain Python function ``callee`` whose argument it may return (or a view of it,
    or hold it in a tuple it returns).  Followed through names it binds and the helpers it calls in turn."""
    if not isinstance(callee, types.FunctionType) or REGISTRY.lookup(callee) is not None or callee in seen:
        return frozenset()
    seen.add(callee)
    try:
        parsed = parse_function(callee)
    except TransformError:
        return frozenset()  # (sct refuses to read it when it derives the call)
    node = parsed.node
    for sub in S.walk(node):
        if isinstance(sub, gast.Call) and isinstance(sub.func, gast.Name):
            _mark_call(sub, parsed.namespace.lookup(sub.func.id, None), seen)
    args = node.args
    params = [a.id for a in list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)]
    params += [a.id for a in (args.vararg, args.kwarg) if a is not None]
    parts = lambda value: value.elts if isinstance(value, (gast.Tuple, gast.List)) else [value]
    returned = set()
    for param in params:
        shared = {param}
        changed = True
        while changed:  # names bound to (a view of) the argument, through any chain of assignments
            changed = False
            for sub in S.walk(node):
                if isinstance(sub, (gast.Assign, gast.For)):
                    value = sub.value if isinstance(sub, gast.Assign) else sub.iter
                    if any(_aliases(v, n) or _indexes(v, n) for v in parts(value) for n in shared):
                        targets = sub.targets if isinstance(sub, gast.Assign) else [sub.target]
                        new = {n.id for t in targets for n in S.walk(t) if isinstance(n, gast.Name)} - shared
                        changed, shared = changed or bool(new), shared | new
        if any(isinstance(sub, gast.Return) and sub.value is not None
               and any(_aliases(v, n) or _indexes(v, n) for v in parts(sub.value) for n in shared)
               for sub in S.walk(node)):
            returned.add(param)
    return frozenset(returned)


def _written(parsed: Parsed, mutations: list) -> dict[str, gast.AST]:
    """Names written into in place, each with its first write; refused in-place methods raise here."""
    mutated: dict[str, gast.AST] = {}
    for name, node in mutations:
        if isinstance(node, gast.Call) and (node.func.attr in _REFUSED_MUTATORS
                                            or (node.func.attr == "pop" and (node.args or node.keywords))):
            hint = "build a new list or array instead (xs = xs + [v], np.concatenate, ...)"
            if node.func.attr in _DICT_MUTATORS or node.func.attr == "pop":
                hint = ("write the entries one by one into a dict the function built (e = dict(d); e[k] = v), "
                        "or build a new one: {k: v for k, v in d.items() if k != key}")
            _refuse(parsed, node, f"the in-place method `.{node.func.attr}()`", hint)
        mutated.setdefault(name, node)
    return mutated


def _check_loops_over_written(parsed: Parsed, local: set[str], nodes: list) -> None:
    """``for a in u: u *= 0.5`` (or ``u[0] = ...``) changes what the loop is running over; sct loops over the
    value ``u`` had when the loop began."""
    for loop in nodes:
        if not isinstance(loop, gast.For):
            continue
        iterated = _bases(loop.iter) & local
        body = gast.Module(body=loop.body, type_ignores=[])
        written = list(_mutations(body, local))
        written += [(n.target.id, n) for n in S.walk(body)
                    if isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Name)]
        for name, node in written:
            if name in iterated:
                _refuse(parsed, node, f"a change to `{name}` while a loop runs over it",
                        f"loop over a copy: for ... in list({name}) (or {name}.copy()), "
                        f"or write `{name} = {name} * ...` (a new value)")


def _check_loop_items(parsed: Parsed, mutated: dict, nodes: list) -> None:
    """``for row in b: row[1] = ...`` writes into an item of the sequence (a row of ``b``, an array in a
    list), which is not a copy: ``b`` changes too, and sct would follow ``row`` alone."""
    for loop in nodes:
        if not isinstance(loop, (gast.For, gast.comprehension)):
            continue
        for name in sorted({n.id for n in S.walk(loop.target) if isinstance(n, gast.Name)} & set(mutated)):
            raise AliasingError(
                f"`{name}` is an item of what the loop runs over (not a copy), and the function writes into it; "
                f"sct cannot follow a write through two names", parsed.location(mutated[name]),
                "write into the sequence by index: for k in range(len(seq)): seq[k, ...] = ...")


def _bases(value: gast.expr) -> set[str]:
    """The names whose memory ``value`` may be (or be a view of): ``u`` in ``u``, ``u.T``, ``u[1:]``,
    ``np.transpose(u)``, ``enumerate(u)``, ``zip(u, w)``."""
    if isinstance(value, gast.Name):
        return {value.id}
    if isinstance(value, gast.Subscript):
        return _bases(value.value)
    if isinstance(value, gast.Attribute):
        return _bases(value.value) if _is_view(value.attr) else set()
    if isinstance(value, gast.Call):
        func = value.func
        name = func.attr if isinstance(func, gast.Attribute) else func.id if isinstance(func, gast.Name) else ""
        if name in ("enumerate", "zip", "reversed", "iter"):
            return set().union(*map(_bases, value.args)) if value.args else set()
        if _is_view(name):
            own = _bases(func.value) if isinstance(func, gast.Attribute) else set()
            return own | (_bases(value.args[0]) if value.args else set())
    return set()


def _check_held(parsed: Parsed, mutated: dict, nodes: list, mutations: list) -> None:
    """``[xs]``, ``(xs, y)``, ``{"k": xs}``, ``ys.append(xs)``, ``c[k] = xs`` store ``xs`` itself: a write into
    ``xs`` after that would change the container too, which sct would not follow.  A write that certainly
    ran before (earlier in the source, ended before the store began, and in no loop around the store) changes
    nothing the container holds: ``s = x.copy(); s[0] = v; return y, s`` is fine."""
    writes, loops = _writes_by_name(mutations), _loops(nodes)
    for node in nodes:
        for name in _held_names(node, writes):
            around = [loop for loop in loops if _inside(node, loop)]
            if any(not _ends_before(w, node) or any(_inside(w, loop) for loop in around) for w in writes[name]):
                raise AliasingError(f"`{name}` is stored inside another container and written into after that; "
                                    f"sct cannot follow a write through two names", parsed.location(node),
                                    f"store a copy: list({name}), dict({name}) or {name}.copy()")


def _held_names(node: gast.AST, writes: dict) -> list[str]:
    """The names of written objects that ``node`` stores into a container (a display, an append, ``c[k] = xs``)."""
    held = []
    if isinstance(node, (gast.List, gast.Tuple)) and isinstance(node.ctx, gast.Load):
        held = node.elts
    elif isinstance(node, gast.Dict):
        held = node.values
    elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and node.func.attr == "append":
        held = node.args
    elif isinstance(node, gast.Assign) and any(isinstance(t, gast.Subscript) for t in node.targets):
        held = [node.value]
    return [elt.id for elt in held if isinstance(elt, gast.Name) and elt.id in writes]


def _blocks(stmts: list, out: dict | None = None) -> dict:
    """Each statement's block (the list holding it) and its place there."""
    out = {} if out is None else out
    for i, stmt in enumerate(stmts):
        out[id(stmt)] = (stmts, i)
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                _blocks(inner, out)
        for handler in getattr(stmt, "handlers", None) or ():
            _blocks(handler.body, out)
    return out


def _rebound_before_writes(node, name: str, writes: list | None, loops: list, others: set, blocks: dict) -> bool:
    """After ``node`` binds two names to one object, is every write into ``name`` made where ``name`` no longer
    holds it?  A write that ran before (ended before ``node``, in no loop around it); one after ``name`` is
    bound anew to a value of its own, later in ``node``'s block with nothing that could skip it between
    (``traj = t3; ...; traj = tape.pop(); traj.pop()``, as a gradient program undoes appends to a list the
    function turned into an array); or, in a loop whose body is that block, one earlier in the body than
    ``node`` and after such a binding there (double buffering: ``un = u.copy(); un[i] = ...; u = un``)."""
    if not writes:
        return False
    block, i = blocks.get(id(node), (None, None))
    if block is None:
        return False
    rebinds = [k for k, stmt in enumerate(block) if isinstance(stmt, gast.Assign)
               and any(isinstance(t, gast.Name) and t.id == name for t in stmt.targets)
               and not _aliases_other(stmt.value, name, others) and not _aliases(stmt.value, name)]
    # (after node, the first new binding counts if nothing between could jump past it)
    after = next((k for k in rebinds if k > i), None)
    if after is not None and any(isinstance(n, (gast.Break, gast.Continue, gast.Return, gast.Raise))
                                 for stmt in block[i + 1:after] for n in S.walk(stmt)):
        after = None
    loop = next((lp for lp in loops if getattr(lp, "body", None) is block), None)
    around = [lp for lp in loops if _inside(node, lp)]
    for w in writes:
        if _ends_before(w, node) and not any(_inside(w, lp) for lp in around):
            continue  # (ran before)
        if after is not None and _ends_before(block[after], w):
            continue  # (bound anew after node, before the write)
        if loop is not None and _inside(w, loop) and _ends_before(w, node) \
                and any(k < i and _ends_before(block[k], w) for k in rebinds):
            continue  # (the next iteration binds it anew before writing)
        return False
    return True


def _writes_by_name(mutations: list) -> dict[str, list]:
    """The writes (statements, calls) into each name, from ``_mutations``."""
    writes: dict[str, list] = {}
    for name, node in mutations:
        writes.setdefault(name, []).append(node)
    return writes


def _loops(nodes: list) -> list:
    """The loops among ``nodes`` (comprehensions too: their bodies run again)."""
    return [n for n in nodes if isinstance(n, (gast.For, gast.While, gast.ListComp, gast.GeneratorExp, gast.DictComp))]


def _ends_before(write: gast.AST, node: gast.AST) -> bool:
    """Does the write (a statement, or a call such as ``.append``) certainly finish before ``node`` runs?
    It begins earlier in the source and does not contain ``node``: ``xs[0] = f((xs,))`` stores, then writes."""
    return _position(write) < _position(node) and not _inside(node, write)


def _check_arguments(parsed: Parsed, mutated: dict, local: set[str]) -> None:
    fn = parsed.node
    params = {a.id for a in list(fn.args.posonlyargs) + list(fn.args.args) + list(fn.args.kwonlyargs)}
    for name, node in mutated.items():
        if name in params and not _copied_first(fn, name, local):
            raise AliasingError(
                f"sct cannot differentiate an in-place write into the argument `{name}`: "
                f"the caller's object would change", parsed.location(node),
                f"write into a copy: {name} = {name}.copy() (or list({name}), dict({name})) before changing it")


def _check_shared(parsed: Parsed, mutated: dict, others: set[str], nodes: list, mutations: list = ()) -> None:
    """A written name must not be bound to, or from, another name or a view of one -- unless no write into it
    is made while the two share (``_rebound_before_writes``: ``L[0] = t; M = L.T``, the view sees only what
    was written, as a container stores it in ``_check_held``) and the new name is not written into itself."""
    writes, loops, blocks = _writes_by_name(mutations), _loops(nodes), _blocks(parsed.node.body)
    for node in nodes:
        if not isinstance(node, gast.Assign):
            continue
        targets = [t for t in node.targets if isinstance(t, gast.Name)]
        for name in mutated:
            if _aliases(node.value, name) and any(t.id != name for t in targets) \
                    and ({t.id for t in targets} & set(mutated)
                         or not _rebound_before_writes(node, name, writes.get(name), loops, others, blocks)):
                raise AliasingError(
                    f"`{targets[0].id}` would share memory with `{name}`, which the function writes into; "
                    f"sct cannot follow a write through two names", parsed.location(node),
                    f"make an independent copy: {targets[0].id} = {name}.copy()")
            if any(t.id == name for t in targets) and _aliases_other(node.value, name, others) \
                    and not _rebound_before_writes(node, name, writes.get(name), loops, others, blocks):
                raise AliasingError(
                    f"`{name}` is written into but shares memory with another variable", parsed.location(node),
                    f"start from a fresh copy: {name} = ....copy()")


def _check_indexed_views(parsed: Parsed, nodes: list, mutations: list) -> None:
    """``c = a[:, 1]`` (or ``a[1]`` of a matrix) is a view: a write into ``a`` after it (later in the
    source, or anywhere in a loop around both) changes ``c``, which the backward sweep would not follow.
    Which indexings make views depends on shapes sct does not know here, so any indexing counts; a plain
    ``row = y[i]`` is marked ``sct_unshared`` instead, and the generated code checks it when it runs."""
    writes: dict[str, list] = {}
    for name, node in mutations:
        if not isinstance(node, gast.Call):  # (.append/.pop change a list, not the items a name took from it)
            writes.setdefault(name, []).append(node)
    if not writes:
        return
    enclosing: dict[int, list] = {}  # id(assignment) -> the loops around it (one walk per loop)
    for loop in nodes:
        if isinstance(loop, (gast.For, gast.While)):
            for sub in S.walk(loop):
                if isinstance(sub, gast.Assign):
                    enclosing.setdefault(id(sub), []).append(loop)
    for node in nodes:
        if not isinstance(node, gast.Assign):
            continue
        targets = {n.id for t in node.targets for n in S.walk(t) if isinstance(n, gast.Name)}
        around = enclosing.get(id(node), [])
        for name, written in writes.items():
            if not (_indexes(node.value, name) and targets - {name}):
                continue
            if any(_position(w) > _position(node) or any(_inside(w, loop) for loop in around) for w in written):
                if _plain_indexing(node, name):  # `row = y[i]`: a copy or a view, as the shapes decide at run time
                    node.sct_unshared = True
                    continue
                target = sorted(targets - {name})[0]
                raise AliasingError(
                    f"`{target}` may be a view of `{name}` (an indexing of it), and the function writes into "
                    f"`{name}` later; sct cannot follow a write through two names", parsed.location(node),
                    f"make an independent copy: {target} = {name}[...].copy()")


def _plain_indexing(node: gast.Assign, name: str) -> bool:
    """``target = name[...]``: normalisation checks at run time that NumPy copied the item (sct_unshared)."""
    return len(node.targets) == 1 and isinstance(node.targets[0], gast.Name) \
        and isinstance(node.value, gast.Subscript) and isinstance(node.value.value, gast.Name) \
        and node.value.value.id == name


def _position(node: gast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _inside(node: gast.AST, outer: gast.AST) -> bool:
    return any(sub is node for sub in S.walk(outer))


def _indexes(value: gast.expr, name: str) -> bool:
    """Is ``value`` an indexing of ``name`` (or of a view of it), which may share its memory?"""
    if isinstance(value, gast.Subscript):
        return _aliases(value.value, name) or _indexes(value.value, name)
    if isinstance(value, gast.IfExp):
        return _indexes(value.body, name) or _indexes(value.orelse, name)
    if isinstance(value, gast.Tuple):
        return any(_indexes(v, name) for v in value.elts)
    return False


def _private_temporaries(nodes: list) -> set[str]:
    """Names assigned once from a new value and read once (as in generated code): they share nothing
    (``nodes``: the function's)."""
    loads: dict[str, int] = {}
    values: dict[str, list] = {}
    for node in nodes:
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            loads[node.id] = loads.get(node.id, 0) + 1
        if isinstance(node, gast.Assign):
            for t in node.targets:
                if isinstance(t, gast.Name):
                    values.setdefault(t.id, []).append(node.value)
    return {n for n, vs in values.items()
            if len(vs) == 1 and loads.get(n, 0) == 1 and isinstance(vs[0], (gast.BinOp, gast.UnaryOp))}


def _aliases_other(value: gast.expr, name: str, local: set[str]) -> bool:
    """Is ``value`` another local name (or a view of one), so that ``name`` would alias it?"""
    def is_local(node) -> bool:  # (a local, or a view of one through a chain: x.reshape(-1).reshape(3, 2).T)
        if isinstance(node, gast.Name):
            return node.id in local
        if isinstance(node, gast.Attribute):
            return _is_view(node.attr) and is_local(node.value)
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and _is_view(node.func.attr):
            return is_local(node.func.value) or (bool(node.args) and is_local(node.args[0]))
        return isinstance(node, gast.Subscript) and is_local(node.value)

    if isinstance(value, gast.Name):
        return value.id != name and value.id in local
    if isinstance(value, gast.Subscript):
        return is_local(value.value) and not (isinstance(value.value, gast.Name) and value.value.id == name)
    if isinstance(value, gast.Attribute):
        return _is_view(value.attr) and is_local(value.value)
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) and _is_view(value.func.attr):
        return is_local(value.func.value) or (bool(value.args) and is_local(value.args[0]))
    returned = getattr(value, "sct_returned_arguments", None)  # a helper that may return (a view of) an argument
    if isinstance(value, gast.Call) and returned is not None:
        return any(_aliases_other(a, name, local) for a in returned)
    if isinstance(value, gast.IfExp):
        return _aliases_other(value.body, name, local) or _aliases_other(value.orelse, name, local)
    return False


def _copied_first(fn: gast.FunctionDef, name: str, local: set[str]) -> bool:
    """Is the argument ``name`` rebound to a fresh value (x = x.copy()) before anything writes into it?"""
    for stmt in fn.body:
        if isinstance(stmt, gast.Assign) and any(isinstance(t, gast.Name) and t.id == name for t in stmt.targets):
            return _fresh(stmt.value, local)
        if any(n == name for n, _ in _mutations(gast.Module(body=[stmt], type_ignores=[]), local)):
            return False
        if name in {n.id for n in S.walk(stmt) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}:
            return False  # rebound inside a branch or loop: too subtle to vouch for
    return False


def _fresh(value: gast.expr, local: set[str]) -> bool:
    """Does ``value`` certainly build a new object (not a view or another name for an existing one)?"""
    if isinstance(value, (gast.List, gast.Tuple, gast.ListComp, gast.Dict, gast.DictComp, gast.BinOp, gast.UnaryOp,
                          gast.Constant)):
        return True
    if isinstance(value, gast.Call):
        func = value.func
        if isinstance(func, gast.Attribute):
            if func.attr == "copy":
                return True
            if _is_view(func.attr):
                return False
            if isinstance(func.value, gast.Name) and func.value.id not in local:  # np.array(x), np.zeros(n), ...
                return func.attr in ("array", "copy", "zeros", "ones", "full", "empty", "zeros_like", "ones_like",
                                     "full_like", "empty_like", "concatenate", "stack", "arange", "linspace")
        if isinstance(func, gast.Name) and func.id in ("list", "tuple", "dict"):
            return True
    return False
