"""Pass 4 — analysis: what each statement computes, what kind of value, what is active.

Input: the normalized body and the kinds of the arguments (``"scalar"``,
``"array"``, ``"seq[...]"``, ``"dict{...}"``, ``"record{...}"`` or ``"any"``; see
``seq_of`` and ``dict_of`` below).  Output: an :class:`Analysis` with

* ``ops``: for each assignment, the :class:`Op` it performs — which rule (resolved
  through the registry), which user function, or which structural operation —
  and which operands are differentiable;
* ``kinds``: for each name, the join of the kinds it may hold (numbers only, arrays,
  sequences, dicts, records or unknown); sct drops broadcasting code where operands
  are numbers, and tells a record's fields (``p.w``) and a dict's loops by them;
* ``active``: names that depend on a ``wrt`` input *and* reach the output.  Only
  active statements get derivative code.
"""
from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import inspect
import operator
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import gast
import numpy as np

from . import syntax as S
from .context import LOCAL, UNRESOLVED, Context
from .errors import AliasingError, NoRuleError, UnsupportedSyntaxError
from .parse import _package, library_callee
from .rules import REGISTRY, Rule
from .runtime.namespace import is_array

SCALAR, ARRAY, SEQ, ANY = "scalar", "array", "seq", "any"

_BINOPS = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul, gast.Div: operator.truediv,
    gast.Pow: operator.pow, gast.Mod: operator.mod, gast.FloorDiv: operator.floordiv,
    gast.MatMult: operator.matmul, gast.BitAnd: operator.and_, gast.BitOr: operator.or_,
    gast.BitXor: operator.xor, gast.LShift: operator.lshift, gast.RShift: operator.rshift,
}
_BROADCASTING = (operator.add, operator.sub, operator.mul, operator.truediv, operator.pow, operator.mod,
                 operator.floordiv, operator.neg, operator.pos)
_UNARY = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Not: operator.not_, gast.Invert: operator.invert}


@dataclass
class Op:
    """One normalized statement, understood.

    ``kind`` is one of ``const`` (no derivative), ``copy`` (``y = x``), ``rule``,
    ``call`` (a user function sct differentiates), ``build`` (tuple/list/dict display),
    ``store`` (``a[i] = v``), ``append`` (``xs.append(v)``), ``nondiff`` and
    ``unknown`` (a call sct has no derivative for: fine while inactive).
    """

    kind: str
    target: str | None = None
    rule: Rule | None = None
    bound: dict[str, gast.expr] = field(default_factory=dict)  # rule parameter -> operand
    operands: list[tuple[str, gast.expr]] = field(default_factory=list)  # differentiable: (param, atom)
    callee: Any = None
    label: str = ""
    hint: str | None = None  # what to do instead, when the op is refused
    passed: list = field(default_factory=list)  # atoms a user call passes on whole (*args, **kwargs): constants
    refusal: tuple[str, str] | None = None  # (message, hint) when active: why sct has no derivative here


@dataclass
class Analysis:
    ops: dict[int, Op]
    kinds: dict[str, str]
    varied: set[str]
    useful: set[str]
    shared: dict[str, set[str]] = field(default_factory=dict)  # name -> names that may share its memory

    @property
    def active(self) -> set[str]:
        # (read once per operand by the sweeps: computed once, again only if varied or useful changed)
        key = (id(self.varied), len(self.varied), id(self.useful), len(self.useful))
        if self.__dict__.get("_active_key") != key:
            self.__dict__["_active"], self.__dict__["_active_key"] = self.varied & self.useful, key
        return self.__dict__["_active"]

    def op(self, stmt) -> Op:
        return self.ops[id(stmt)]

    def kind(self, atom: gast.expr) -> str:
        if isinstance(atom, gast.Constant):
            return SCALAR if isinstance(atom.value, (int, float)) else ANY
        if isinstance(atom, gast.Name):
            return self.kinds.get(atom.id, ANY)
        return ANY

    def varied_by(self, body: list[gast.stmt], seeds: set[str]) -> set[str]:
        """Names whose value may depend on ``seeds`` (the rest hold the same value whatever they are)."""
        return _varied(list(_walk(body)), self.ops, seeds)

    def is_active(self, atom) -> bool:
        return isinstance(atom, gast.Name) and atom.id in self.active

    def result_kind(self, body: list[gast.stmt]) -> str:
        """The kind of what the function returns: the join over its ``return`` statements."""
        out = None
        for stmt in _walk(body):
            if isinstance(stmt, gast.Return):
                out = join(out, self.kind(stmt.value) if stmt.value is not None else ANY)
        return out or ANY


def analyze(ctx: Context, body: list[gast.stmt], wrt: list[str], arg_kinds: dict[str, str]) -> Analysis:
    """Classify every statement, infer kinds and compute activity (see module docstring)."""
    ops: dict[int, Op] = {}
    statements = list(_walk(body))
    for stmt in statements:
        if isinstance(stmt, gast.Assign) or (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call)):
            ops[id(stmt)] = classify(ctx, stmt)
    kinds = _infer_kinds(statements, ops, arg_kinds, ctx)
    _global_kinds(ctx, statements, kinds)
    found = _dict_loops(statements, ops, kinds)
    if not found <= ctx.dict_loops:
        raise DictLoops(ctx.dict_loops | found)
    _sequence_arithmetic(ctx, ops, kinds)
    _container_reads(ctx, statements, ops, kinds)
    shared = _shared_memory(ctx, statements, ops)
    _check_augmented(ctx, statements, ops, kinds, shared)
    varied = _varied(statements, ops, set(wrt))
    useful = _useful(statements, ops)
    _refuse_varied_constants(ctx, statements, ops, kinds, varied, useful)
    _refuse_varied_passing(ctx, statements, ops, varied)
    return Analysis(ops, kinds, varied, useful, shared)


def _refuse_varied_passing(ctx, statements, ops, varied) -> None:
    """What sct passes on without following must not depend on the inputs: ``*args`` and ``**kwargs`` given to
    a call (passed on as they are, as constants) and what a ``with ... as name`` binds."""
    def refuse(node, what, hint):
        raise UnsupportedSyntaxError(f"sct cannot differentiate {what}", ctx.parsed.location(S.locate(node)), hint)

    for stmt in statements:
        if isinstance(stmt, gast.With):
            item = stmt.items[0]
            if item.optional_vars is not None and S.loads(item.context_expr) & varied:
                refuse(stmt, f"`with ... as {item.optional_vars.id}` whose manager is given values that depend on "
                             f"the inputs (the name may be bound to one of them)",
                       "use the value itself in the block, not the name bound by `as`")
        call = stmt.value if isinstance(stmt, (gast.Assign, gast.Expr)) else None
        op = ops.get(id(stmt))
        if not isinstance(call, gast.Call) or op is None or op.kind in ("nondiff", "const"):
            continue
        spread = [a.value for a in call.args if isinstance(a, gast.Starred)]
        spread += [kw.value for kw in call.keywords if kw.arg is None]
        for atom in spread + op.passed:
            if isinstance(atom, gast.Name) and atom.id in varied:
                what = f"`{atom.id}`" if atom.id in ctx.user_locals else "a value"
                refuse(stmt, f"a call that passes {what} on as *args or **kwargs: it depends on the inputs, and sct "
                             f"passes *args and **kwargs on as constants",
                       "give the values that depend on the inputs to named parameters")


class DictLoops(Exception):
    """Raised by :func:`analyze` when the kinds show loops over dicts (``for k in d``) that normalisation
    wrote as loops over a sequence: the function is normalised again with these loops (``Context.dict_loops``,
    source positions of what they run over) written as loops over the dicts' keys.  Not a refusal."""

    def __init__(self, loops: frozenset):
        super().__init__("loops over dicts")
        self.loops = frozenset(loops)


def _dict_loops(statements, ops, kinds) -> frozenset:
    """The source positions of the sequences loops run over (``indices(seq)``) that are dicts."""
    from .normalize import _position
    found = set()
    for stmt in statements:
        iterated = getattr(stmt, "sct_iterated", None)
        if iterated is None:
            continue
        for node, seq in zip(iterated, stmt.value.args):
            if isinstance(seq, gast.Name) and is_dict(kinds.get(seq.id)) and _position(node) is not None:
                found.add(_position(node))
    return frozenset(found)


def _container_reads(ctx, statements, ops, kinds) -> None:
    """Reclassify, now that kinds are known, what reads a dict or a record differently from a sequence or
    an array: ``p.w`` of a NamedTuple or dataclass instance is the field ``getfield(p, "w")`` (whatever
    attribute an array has by that name), and ``list(d)`` / ``tuple(d)`` of a dict its keys (no derivative)."""
    from .rules import builtins as rules
    for stmt in statements:
        op = ops.get(id(stmt))
        if op is None or op.target is None or not isinstance(stmt, gast.Assign):
            continue
        value = stmt.value
        if isinstance(value, gast.Attribute) and isinstance(value.value, gast.Name) \
                and ctx.resolve(value.value) is LOCAL and value.attr in (entries(kinds.get(value.value.id)) or {}) \
                and is_record(kinds.get(value.value.id)):
            ops[id(stmt)] = _rule_op(ctx, op.target, rules.getfield, [value.value, S.const(value.attr)], {}, value)
        elif op.kind == "rule" and op.rule.primal in (builtins.list, builtins.tuple) \
                and is_dict(kinds.get(getattr(op.bound.get(op.rule.params[0]), "id", None))):
            ops[id(stmt)] = Op("nondiff", op.target, callee=rules.keys_of, label="the keys of a dict")


def _global_kinds(ctx: Context, statements, kinds: dict[str, str]) -> None:
    """The kinds of the module constants and closure variables the function reads (``G = 9.81`` is a
    number), so arithmetic with them is specialised like arithmetic with numbers.  (The program is rebuilt
    when a global is rebound, or a closure variable's kind changes; and when a global dict changed in place
    is of another kind: ``HP["c"] = 3.0`` adds an entry, which a loop over ``HP.values()`` reads.)"""
    for stmt in statements:
        for node in S.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and node.id not in kinds \
                    and node.id not in ctx.locals:
                value = ctx.resolve(node)
                if value is not LOCAL and value is not UNRESOLVED:
                    kind = kind_of_value(value)
                    if kind != ANY:
                        kinds[node.id] = kind
                    if isinstance(value, dict) and node.id not in ctx.parsed.namespace.closure \
                            and node.id not in ctx.symbols and node.id not in ctx.static:
                        ctx.deps.append((_KindOf(ctx.parsed.namespace.globals, kind), node.id, _SAME_KIND))


_SAME_KIND = object()


class _KindOf:
    """A program's dep on the kind of a global dict it reads (a dep is ``(namespace, name, object)``, fresh
    while ``namespace.get(name)`` is that object): answers ``_SAME_KIND`` while the global holds a value of
    the kind the program was specialised to.  (A rebound global is caught by the dep on the object itself.)"""

    def __init__(self, namespace: dict, kind: str):
        self.namespace, self.kind = namespace, kind

    def get(self, name: str, default: Any = None) -> Any:
        value = self.namespace.get(name, default)
        return _SAME_KIND if isinstance(value, dict) and kind_of_value(value) == self.kind else default


def _refuse_varied_constants(ctx, statements, ops, kinds, varied, useful) -> None:
    """A value that depends on the inputs, given to a parameter the rule has no derivative for, is refused
    (``np.interp(x, xp, fp)`` with ``fp`` varied): the derivative through it would silently be zero.
    Numbers, arrays and sequences built of them count; values of unknown kind (what a helper function
    returns: an axis, a shape) are let through."""
    built, computed = {}, set()
    arithmetic = (operator.add, operator.sub, operator.mul, operator.truediv, operator.pow, operator.neg,
                  operator.matmul)
    for stmt in statements:
        op = ops.get(id(stmt))
        if op is not None and op.kind == "build":
            built.setdefault(op.target, []).extend(built_items(stmt.value))
        elif op is not None and op.kind == "rule" and (op.rule.primal in arithmetic or op.rule.kind == "elementwise"):
            computed.add(op.target)   # arithmetic on numbers or arrays, whatever kind sct inferred

    def carries(atom, seen) -> bool:
        if not (isinstance(atom, gast.Name) and isinstance(atom.ctx, gast.Load) and atom.id in varied):
            return False
        kind = kinds.get(atom.id, ANY)
        if kind in (SCALAR, ARRAY) or atom.id in computed:
            return True
        if is_seq(kind) and atom.id not in seen:
            return any(carries(e, seen | {atom.id}) for e in built.get(atom.id, []))
        return False

    for stmt in statements:
        op = ops.get(id(stmt))
        if op is None or op.kind != "rule" or op.target not in useful:
            continue
        diff = set(op.rule.diff_params) - op.rule.refused
        helper = REGISTRY.helper_info(op.rule.primal)
        shape_only = {op.rule.params[i] for i in helper.shape_args if i < len(op.rule.params)} if helper else set()
        for param, atom in op.bound.items():
            if param not in diff and param not in shape_only and any(carries(a, frozenset()) for a in S.walk(atom)):
                raise NoRuleError(f"sct has no derivative of {op.rule.name} with respect to its argument "
                                  f"'{param}', which depends on the differentiated inputs",
                                  ctx.parsed.location(S.locate(stmt)),
                                  hint="differentiate with respect to other inputs, or register a rule "
                                       "whose differentiable parameters include it")


def built_items(display: gast.expr) -> list[gast.expr]:
    """The items a display builds: a list's or tuple's elements, a dict's values (its keys are constants
    for differentiation)."""
    return display.values if isinstance(display, gast.Dict) else display.elts


def _walk(stmts):
    for stmt in stmts:
        yield stmt
        for fieldname in ("body", "orelse"):
            yield from _walk(getattr(stmt, fieldname, []) or [])


# ------------------------------------------------------------------ classification

def classify(ctx: Context, stmt) -> Op:
    if isinstance(stmt, gast.Expr):
        return _classify_call_stmt(ctx, stmt.value)
    target = stmt.targets[0]
    value = stmt.value
    if isinstance(target, gast.Subscript):
        op = Op("store", target=target.value.id, label="indexed assignment")
        op.operands = [("value", value)] if isinstance(value, gast.Name) else []
        return op
    name = target.id
    if isinstance(value, gast.Constant) or isinstance(value, gast.JoinedStr):
        return Op("const", name)
    if isinstance(value, gast.Name):
        if ctx.resolve(value) is LOCAL:
            return Op("copy", name, operands=[("x", value)])
        return Op("const", name)  # a global value: a constant for differentiation
    if isinstance(value, gast.Attribute):
        return _classify_attribute(ctx, name, value)
    if isinstance(value, gast.BinOp):
        return _rule_op(ctx, name, _BINOPS[type(value.op)], [value.left, value.right], {}, value)
    if isinstance(value, gast.UnaryOp):
        return _rule_op(ctx, name, _UNARY[type(value.op)], [value.operand], {}, value)
    if isinstance(value, gast.Compare):
        return Op("nondiff", name, label="comparison")
    if isinstance(value, gast.Subscript):
        return _rule_op(ctx, name, operator.getitem, [value.value, value.slice], {}, value)
    if isinstance(value, (gast.Tuple, gast.List)):
        return Op("build", name, operands=[(str(i), e) for i, e in enumerate(value.elts)
                                          if isinstance(e, gast.Name)], label="display")
    if isinstance(value, gast.Dict):
        return Op("build", name, operands=[(str(i), e) for i, e in enumerate(value.values)
                                          if isinstance(e, gast.Name)], label="dict display")
    if isinstance(value, gast.Call):
        return _classify_call(ctx, name, value)
    return Op("unknown", name, label=type(value).__name__)


def _classify_attribute(ctx, name, value: gast.Attribute) -> Op:
    if ctx.resolve(value) is not LOCAL:  # math.pi, np.newaxis
        return Op("const", name)
    if value.attr in REGISTRY.nondiff_attributes:
        return Op("nondiff", name, label=f".{value.attr}")
    primal = REGISTRY.attributes.get(value.attr)
    if primal is None:
        return Op("unknown", name, operands=[("x", value.value)], label=f".{value.attr}")
    return _rule_op(ctx, name, primal, [value.value], {}, value)


def _classify_call_stmt(ctx, call: gast.Call) -> Op:
    func = call.func
    if isinstance(func, gast.Attribute) and ctx.resolve(func.value) is LOCAL and func.attr == "append" \
            and len(call.args) == 1 and not call.keywords:
        op = Op("append", target=func.value.id, label=".append")
        op.operands = [("value", call.args[0])] if isinstance(call.args[0], gast.Name) else []
        return op
    op = _classify_call(ctx, None, call)
    if op.kind == "nondiff":  # its result unused: what it is given matters (see refuse_unused_result)
        op.operands = _local_operands(ctx, _unstarred(call.args), {kw.arg: kw.value for kw in call.keywords})
    if op.kind not in ("nondiff", "unknown", "const", "pop"):
        op = Op("unknown", None, operands=op.operands, label=op.label)
    return op


def _classify_call(ctx, name, call: gast.Call) -> Op:
    func = call.func
    keywords = {kw.arg: kw.value for kw in call.keywords}
    if isinstance(func, gast.Attribute) and ctx.resolve(func.value) is LOCAL and func.attr == "pop" \
            and not call.args and not call.keywords:
        # x = xs.pop(): the tape of a generated adjoint program (differentiated again)
        return Op("pop", name, operands=[("xs", func.value)], label=".pop()")
    if isinstance(func, gast.Attribute) and ctx.resolve(func.value) is LOCAL:
        # a method call on a local value: x.sum(axis=0) is np.sum(x, axis=0)
        if func.attr in REGISTRY.nondiff_methods:
            return Op("nondiff", name, label=f".{func.attr}()")
        primal = REGISTRY.methods.get(func.attr)
        if primal is None or _spreads(call):
            op = Op("unknown", name, operands=_local_operands(ctx, [func.value] + call.args, keywords),
                    label=f".{func.attr}()")
            owner = _defining_class(ctx.parsed.fn)
            through = f"{owner}.{func.attr}({_label(func.value)}, ...)" if owner else \
                f"TheClass.{func.attr}({_label(func.value)}, ...)"
            op.refusal = (f"sct has no derivative for {_label(func)}(...): sct differentiates the NumPy array "
                          f"methods it has rules for, and does not look up methods of other objects",
                          f"for a method of your own class, call it through the class, {through}: sct follows "
                          f"that call; otherwise register a rule (sct.adjoint_rule, sct.tangent_rule)")
            return op
        return _rule_op(ctx, name, primal, [func.value] + list(call.args), keywords, call)
    callee = ctx.resolve(func)
    label = _label(func)
    if callee is LOCAL:
        what = f"{label},"
        if isinstance(func, gast.Name) and func.id not in ctx.user_locals:  # (a temporary: xs[0](x), d["f"](x))
            what = "the function called here, taken from a list, tuple or dict (or otherwise computed):"
        return Op("unknown", name, operands=_local_operands(ctx, call.args, keywords),
                  label=f"{what} a variable holding a function sct cannot identify when it transforms the code",
                  hint="call the function by its name, or pass it to a helper that calls it")
    if callee is UNRESOLVED:
        return Op("unknown", name, operands=_local_operands(ctx, call.args, keywords), label=label)
    if callee is functools.partial and call.args and isinstance(call.args[0], gast.Name):
        return Op("unknown", name, operands=_local_operands(ctx, call.args[1:], keywords), callee=callee,
                  label=f"the values bound into `{call.args[0].id}`, a nested function used as a value "
                        f"({_label(call)}): they depend on the inputs",
                  hint=f"call `{call.args[0].id}` directly where it is needed, "
                       f"or pass those values to it as arguments")
    if REGISTRY.is_effect_only(callee) or _is_nondiff(callee):
        return Op("nondiff", name, callee=callee, label=label)
    rule = REGISTRY.lookup(callee)
    if rule is not None and _spreads(call):  # a rule binds its parameters by name: *args would hide them
        return Op("unknown", name, operands=_local_operands(ctx, _unstarred(call.args), keywords), callee=callee,
                  label=f"{rule.name} called with *args or **kwargs")
    if rule is not None:
        return _rule_op(ctx, name, callee, list(call.args), keywords, call)
    if getattr(callee, "__sct_source_function__", None) is not None:  # a gradient sct made
        _depend(ctx, func, callee)
        op = Op("call", name, callee=callee, label=label)
        op.bound, op.passed = _bind_user_call(ctx, callee, call)
        op.operands = [(p, a) for p, a in op.bound.items() if isinstance(a, gast.Name) and ctx.resolve(a) is LOCAL]
        return op
    if inspect.isclass(callee) and (dataclasses.is_dataclass(callee) or issubclass(callee, tuple)):
        label = (f"{label}(...): sct differentiates NamedTuples and dataclass instances given as arguments, but "
                 f"not one built inside the function (build a dict or a tuple there)")
        return Op("unknown", name, operands=_local_operands(ctx, call.args, keywords), callee=callee, label=label)
    library = library_callee(callee, ctx.parsed.fn) if inspect.isfunction(callee) else None
    if library is not None:  # library internals: not followed (fine while nothing active reaches it)
        op = Op("unknown", name, operands=_local_operands(ctx, call.args, keywords), callee=callee, label=label)
        op.refusal = (f"sct has no derivative rule for {label}, and does not differentiate library internals "
                      f"({_display(callee)}: {library})",
                      f"register a rule for it (sct.adjoint_rule and sct.tangent_rule, or sct.rules.elementwise "
                      f"...), or write the computation in NumPy; or let sct read {_package(callee)}'s source: "
                      f"sct.follow({_package(callee)!r})")
        return op
    if inspect.isfunction(callee):
        _depend(ctx, func, callee)
        op = Op("call", name, callee=callee, label=label)
        op.bound, op.passed = _bind_user_call(ctx, callee, call)
        op.operands = [(p, a) for p, a in op.bound.items() if isinstance(a, gast.Name) and ctx.resolve(a) is LOCAL]
        return op
    op = Op("unknown", name, operands=_local_operands(ctx, call.args, keywords), callee=callee, label=label)
    bound = _bound_callable(callee, label)
    if bound is not None:
        op.refusal = (f"sct has no derivative for {label}(...): sct follows calls of plain functions, and this is "
                      f"{bound[0]}", bound[1])
    return op


def _bound_callable(obj, label: str) -> tuple[str, str] | None:
    """(what it is, what works instead) for a method, partial or callable object that the function sct
    differentiates calls: sct does not follow it there (it does when it is given one: sct.grad(model.loss))."""
    import functools
    import types
    if isinstance(obj, types.MethodType) and inspect.isfunction(obj.__func__):
        if isinstance(obj.__self__, type):
            return ("a classmethod", "make it a staticmethod or a module-level function, which sct follows")
        base = label.rpartition(".")[0] or "obj"
        return ("a bound method", f"call the function through its class, {type(obj.__self__).__name__}."
                                  f"{obj.__func__.__name__}({base}, ...): sct follows that call")
    if isinstance(obj, functools.partial) and inspect.isfunction(obj.func):
        return ("a functools.partial object", f"call {obj.func.__name__} itself with the partial's arguments: "
                                              f"sct follows that call")
    call = getattr(type(obj), "__call__", None)
    if not isinstance(obj, type) and inspect.isfunction(call):
        return (f"a {type(obj).__name__} object (its class's __call__)",
                f"call {type(obj).__name__}.__call__({label}, ...): sct follows that call")
    return None


def _defining_class(fn) -> str | None:
    """The name of the class whose body defines ``fn`` (from its qualified name), if any."""
    parts = getattr(fn, "__qualname__", "").split(".")
    return parts[-2] if len(parts) >= 2 and parts[-2] != "<locals>" else None


def _display(fn) -> str:
    module = getattr(fn, "__module__", None)
    return f"{module}.{fn.__qualname__}" if module else fn.__qualname__


def _depend(ctx, func: gast.expr, callee) -> None:
    """Remember that the program calls this global function (or attribute of a global module, class or
    object: ``helpers.act``, ``Model.reg``), so that rebinding it invalidates the program."""
    if isinstance(func, gast.Name) and func.id not in ctx.parsed.namespace.closure:
        ctx.deps.append((ctx.parsed.namespace.globals, func.id, callee))
    elif isinstance(func, gast.Attribute):
        base = ctx.resolve(func.value)
        if base is LOCAL or base is UNRESOLVED:
            return
        own = getattr(base, "__dict__", None)  # (a module's, a class's or an object's own attributes)
        if own is not None and own.get(func.attr) is callee:
            ctx.deps.append((own, func.attr, callee))
        _depend(ctx, func.value, base)  # (and the name the chain starts from)


def _is_nondiff(obj) -> bool:
    if REGISTRY.is_nondiff(obj):
        return True
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return True
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, (np.random.Generator, np.random.RandomState)):
        return True
    module = getattr(obj, "__module__", None) or ""
    return module.startswith("numpy.random")


def _spreads(call: gast.Call) -> bool:
    """Does the call pass ``*args`` or ``**kwargs`` on?"""
    return any(isinstance(a, gast.Starred) for a in call.args) or any(kw.arg is None for kw in call.keywords)


def _unstarred(args) -> list:
    return [a.value if isinstance(a, gast.Starred) else a for a in args]


def _local_operands(ctx, args, keywords):
    atoms = list(args) + list(keywords.values())
    return [(str(i), a) for i, a in enumerate(atoms) if isinstance(a, gast.Name) and ctx.resolve(a) is LOCAL]


def _label(func: gast.expr) -> str:
    parts, node = [], func
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, gast.Name):  # (most calls: np.sum, math.sin -- as ast.unparse writes them, at less cost)
        return ".".join([node.id] + parts[::-1])
    import ast
    return ast.unparse(gast.gast_to_ast(func))


def _rule_op(ctx, name, primal, args, keywords, node) -> Op:
    rule = REGISTRY.lookup(primal)
    if rule is not None and rule.select is not None:
        primal = rule.select(len(args), set(keywords), args)
        rule = REGISTRY.lookup(primal)
    if _is_nondiff(primal):
        return Op("nondiff", name, label=_primal_label(primal))
    if rule is None or (rule.adjoint is None and rule.tangent is None):
        label = _primal_label(primal)
        return Op("unknown", name, operands=_local_operands(ctx, args, keywords), callee=primal, label=label)
    op = Op("rule", name, rule=rule, label=rule.name)
    try:
        bound = rule.signature().bind(*args, **keywords)
    except TypeError as exc:  # fine while nothing active flows through it; else a NoRuleError names this
        return Op("unknown", name, operands=_local_operands(ctx, args, keywords), callee=primal,
                  label=f"{rule.name} called with arguments sct's rule does not take ({exc})")
    for param, value in bound.arguments.items():
        op.bound[param] = S.tuple_(value) if param == rule.varargs else value
    if "out" in op.bound and not _is_none_const(op.bound["out"]):
        raise NoRuleError(f"sct cannot differentiate {rule.name}(..., out=...): it writes into an existing array",
                          ctx.parsed.location(node if getattr(node, "lineno", None) else ctx.parsed.node),
                          hint="assign the result instead: y = f(...)")
    for param in rule.diff_params:
        atom = op.bound.get(param)
        if isinstance(atom, gast.Name) and ctx.resolve(atom) is LOCAL:
            op.operands.append((param, atom))
    return op


def _primal_label(primal) -> str:
    rule = REGISTRY.lookup(primal)
    if rule is not None:
        return rule.name
    from .rules.registry import _display_name
    return _display_name(primal)


def _bind_user_call(ctx, callee, call: gast.Call) -> tuple[dict[str, gast.expr], list]:
    """The call's operand for each parameter of ``callee``, and the atoms it passes on whole.  Where the call
    passes ``*args`` or ``**kwargs`` on, or fills the callee's own ``*args`` / ``**kwargs``, those parameters
    are bound to a stand-in of unknown kind: their values are constants (``_refuse_varied_passing`` checks),
    and the callee's program takes them as they come."""
    sig = inspect.signature(callee)
    starred = [i for i, a in enumerate(call.args) if isinstance(a, gast.Starred)]
    positional = call.args[:starred[0]] if starred else call.args
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg is not None}
    spread = _spreads(call)
    try:
        bound = (sig.bind_partial if spread else sig.bind)(*positional, **keywords)
    except TypeError as exc:
        raise NoRuleError(f"this call does not match {callee.__qualname__}{sig}: {exc}",
                          ctx.parsed.location(call)) from None
    out = dict(bound.arguments)
    passed = [a.value if isinstance(a, gast.Starred) else a for a in call.args[len(positional):]]
    passed += [kw.value for kw in call.keywords if kw.arg is None]
    unknown = gast.Starred(value=S.const(None), ctx=gast.Load())  # (not a Name: of unknown kind, no operand)
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name in out:
            given = out[p.name]
            passed += list(given.values() if isinstance(given, dict) else given)
            out[p.name] = unknown
        elif spread:
            out.setdefault(p.name, unknown)
    return out, passed


# ------------------------------------------------------------------ kinds

def call_kinds(ctx: Context, analysis: "Analysis", op: Op) -> dict[str, str]:
    """The kinds of a user call's arguments, by parameter (what the callee's program is specialised to):
    a local's inferred kind, a constant's, or a global's value's kind (``G = 9.81`` is a number; a function
    named in the call, ``apply(np.tanh, x)``, is that very function: a ``FunctionKind``)."""
    out = {}
    for param, atom in op.bound.items():
        if isinstance(atom, (gast.Name, gast.Attribute)) and ctx.resolve(atom) is not LOCAL:
            value = ctx.resolve(atom)
            out[param] = ANY if value is UNRESOLVED else kind_of_value(value)
        elif isinstance(atom, gast.Constant):
            out[param] = SCALAR if type(atom.value) in (int, float) else ANY
        else:
            out[param] = analysis.kind(atom)
    return out


SEQ_OF_SCALARS, EMPTY_SEQ = sys.intern("seq[scalar]"), sys.intern("seq[]")

# Containers' kinds are strings too, built and read only through the functions below (the next container
# follows the same pattern: a constructor, a reader, a clause in ``join`` and ``kind_of_value``):
#
# * ``seq[K]``: a list or tuple whose items are all of kind K (``seq[scalar]``, ``seq[array]``,
#   ``seq[dict{...}]``); ``seq[]`` an empty one; ``seq`` items of different or unknown kinds;
# * ``dict{'W': array, 'b': scalar}``: a dict with these keys (str or int, in insertion order) and these
#   values' kinds; ``dict`` a dict whose keys sct does not know;
# * ``record{'w': array, 'b': scalar}``: a NamedTuple or a dataclass instance, its fields in order;
#   ``record`` one whose fields sct does not know.
#
# A kind is a specialisation key (api computes the arguments' kinds for the program cache), so two dicts
# with other keys, or whose values are of other kinds, get their own programs.  Kind strings are interned:
# closure cells compare kinds with ``is``.
DICT, RECORD = "dict", "record"
_MAX_DEPTH = 6  # containers nested deeper are of the unstructured kinds seq, dict, record
SEQ_OF_SEQS = sys.intern("seq[seq[scalar]]")  # a list of lists of numbers (rows of a data set): seq_of(SEQ_OF_SCALARS)


class FunctionKind(str):
    """The kind of a value that is a function sct can see: a user function (a nested one, lifted), a function
    with a rule, or ``functools.partial(f, ...)`` of a user function binding ``bound`` leading arguments.  A
    called function is specialised to it (``apply(f, x)`` calling ``f`` differentiates through ``f``), so
    the kind compares equal only for the very same function."""

    def __new__(cls, fn, bound: int = 0):
        label = getattr(fn, "__name__", type(fn).__name__)
        self = super().__new__(cls, f"function {label}" + (f" with {bound} bound arguments" if bound else ""))
        self.fn, self.bound = fn, bound
        return self

    def __eq__(self, other) -> bool:
        return isinstance(other, FunctionKind) and other.fn is self.fn and other.bound == self.bound

    def __ne__(self, other) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((id(self.fn), self.bound))


class ObjectKind(str):
    """The kind of an instance of a user class (a method's ``self``): its attributes are read when the program
    runs (constants), and ``self.m(...)`` is the call ``Cls.m(self, ...)``, followed and differentiated like
    any call of your functions.  A program is specialised to the class: it compares equal only for the very
    same class."""

    def __new__(cls, klass: type):
        self = super().__new__(cls, f"object {klass.__qualname__}")
        self.cls = klass
        return self

    def __eq__(self, other) -> bool:
        return isinstance(other, ObjectKind) and other.cls is self.cls

    def __ne__(self, other) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(("object", id(self.cls)))


def object_kind(value) -> ObjectKind | None:
    """The kind of an instance of a class whose methods sct can follow (one with a method written in Python,
    not a NumPy or builtin object)."""
    klass = type(value)
    if klass.__module__ in ("builtins", "numpy") or isinstance(value, type) or callable(value) and \
            not any(inspect.isfunction(v) for v in vars(klass).values() if v is not getattr(klass, "__call__", None)):
        return None
    if any(inspect.isfunction(v) for k in klass.__mro__ for v in vars(k).values()):
        own = getattr(value, "__dict__", None) or {}
        if any(callable(getattr(klass, name, None)) for name in own):
            return None  # (an attribute of the instance hides a method: self.act is not Cls.act)
        return ObjectKind(klass)
    return None


def function_kind(value) -> FunctionKind | None:
    """The kind of ``value`` if it is a function sct can specialise a callee to."""
    if isinstance(value, functools.partial) and inspect.isfunction(value.func) and not value.keywords:
        return FunctionKind(value.func, len(value.args))
    if inspect.isfunction(value) or inspect.isbuiltin(value) or isinstance(value, np.ufunc):
        return FunctionKind(value)
    return None


def seq_of(element: str | None) -> str:
    """The kind of a list or tuple whose items are all of kind ``element`` (None: empty)."""
    if element is None:
        return EMPTY_SEQ
    if element == ANY or _unspelled(element) or _depth(element) >= _MAX_DEPTH:
        return SEQ
    return sys.intern(f"seq[{element}]")


def dict_of(entries: dict, tag: str = DICT) -> str:
    """The kind of a dict (``tag`` "dict") or record ("record") with these entries (key -> kind)."""
    entries = {key: ANY if _unspelled(kind) else kind for key, kind in entries.items()}
    if not all(type(key) is str or type(key) is int for key in entries) \
            or any(_depth(k) >= _MAX_DEPTH for k in entries.values()):
        return tag
    return sys.intern(tag + "{" + ", ".join(f"{key!r}: {kind or ANY}" for key, kind in entries.items()) + "}")


def _unspelled(kind: str | None) -> bool:
    """A function's or an object's kind: the kind of that one value, which a container's kind does not spell
    (its items of these kinds are of unknown kind, ``any``: calling one is refused as a call of a variable
    holding a function sct cannot identify)."""
    return isinstance(kind, (FunctionKind, ObjectKind))


def element(kind: str | None) -> str | None:
    """The kind of every item of a ``seq[K]`` kind (None: empty, unknown, or not a sequence)."""
    parsed = _parse(kind) if is_seq(kind) else None
    return parsed[1] if parsed else None


def entries(kind: str | None) -> dict | None:
    """The entries (key -> kind) of a dict or record kind whose keys sct knows, in order; else None."""
    parsed = _parse(kind) if is_dict(kind) or is_record(kind) else None
    return dict(parsed[1]) if parsed and parsed[1] is not None else None


def is_seq(kind: str | None) -> bool:
    return kind is not None and kind.startswith("seq")


def is_dict(kind: str | None) -> bool:
    return kind is not None and kind.startswith(DICT)


def is_record(kind: str | None) -> bool:
    return kind is not None and kind.startswith(RECORD)


def is_container(kind: str | None) -> bool:
    """A list, tuple, dict or record: its derivatives are containers of derivatives, added by ``runtime.add``."""
    return is_seq(kind) or is_dict(kind) or is_record(kind)


def is_kind(kind: str) -> bool:
    """Is ``kind`` a kind sct understands (for kinds given by hand: ``sct.export(kinds=...)``, ``--kinds``)?"""
    try:
        _parse(kind)
    except ValueError:
        return False
    return True


def _depth(kind: str) -> int:
    return kind.count("[") + kind.count("{")


_KEY = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+")
_WORD = re.compile(r"[a-z]+")


@functools.lru_cache(maxsize=4096)
def _parse(kind: str):
    """``seq[K]`` -> ("seq", K or None); ``dict{...}``/``record{...}`` -> (tag, ((key, kind), ...)); the
    unstructured kinds -> (word, None).  Raises ValueError for anything else."""
    parsed, end = _parse_at(kind, 0)
    if end != len(kind):
        raise ValueError(f"not a kind: {kind!r}")
    return parsed


def _parse_at(text: str, i: int):
    match = _WORD.match(text, i)
    if match is None:
        raise ValueError(f"not a kind: {text!r}")
    word, i = match.group(), match.end()
    if word == "seq" and text.startswith("[", i):
        if text.startswith("]", i + 1):
            return ("seq", None), i + 2
        start = i + 1
        _, i = _parse_at(text, start)
        if not text.startswith("]", i):
            raise ValueError(f"not a kind: {text!r}")
        return ("seq", text[start:i]), i + 1
    if word in (DICT, RECORD) and text.startswith("{", i):
        i, items = i + 1, []
        while not text.startswith("}", i):
            if items:
                if not text.startswith(", ", i):
                    raise ValueError(f"not a kind: {text!r}")
                i += 2
            match = _KEY.match(text, i)
            if match is None or not text.startswith(": ", match.end()):
                raise ValueError(f"not a kind: {text!r}")
            start = match.end() + 2
            _, i = _parse_at(text, start)
            items.append((ast.literal_eval(match.group()), text[start:i]))
        return (word, tuple(items)), i + 1
    if word not in (SCALAR, ARRAY, ANY, "seq", DICT, RECORD):
        raise ValueError(f"not a kind: {text!r}")
    return (word, None), i


def kind_of_value(value, depth: int = 0) -> str:
    """The kind of a run-time argument (containers: with their items' kinds, see ``seq_of``, ``dict_of``)."""
    if isinstance(value, (bool, np.bool_)):
        return ANY
    if isinstance(value, (int, float, np.integer, np.floating)):
        return SCALAR
    if isinstance(value, np.ndarray) or is_array(value):  # (also Dask, JAX: the namespace is part of the key)
        return ARRAY
    if depth >= _MAX_DEPTH and isinstance(value, (list, tuple, dict)):
        return DICT if isinstance(value, dict) else SEQ
    if isinstance(value, tuple) and is_namedtuple(value):
        return dict_of({f: _contained(v, depth) for f, v in zip(value._fields, value)}, RECORD)
    if isinstance(value, (list, tuple)):
        if not value:
            return SEQ_OF_SCALARS  # (what an empty list argument has always been)
        items = {_contained(v, depth) for v in value}
        return seq_of(items.pop()) if len(items) == 1 else SEQ
    if isinstance(value, dict):
        return dict_of({key: _contained(v, depth) for key, v in value.items()})
    if is_dataclass_instance(value):
        return dict_of({f.name: _contained(getattr(value, f.name), depth) for f in dataclasses.fields(value)}, RECORD)
    return function_kind(value) or object_kind(value) or ANY


def _contained(value, depth: int) -> str:
    """The kind of an item of a container: a function or an object inside one is unknown (``any``: a
    container's kind spells its items' kinds, and those two are kinds of one value, not spelled)."""
    kind = kind_of_value(value, depth + 1)
    return ANY if _unspelled(kind) else kind


def is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and isinstance(getattr(type(value), "_fields", None), tuple)


def is_dataclass_instance(value) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def join(a: str | None, b: str | None) -> str | None:
    """The least kind holding both (containers join item by item: ``seq[scalar]`` and ``seq[array]`` give
    ``seq[array]``; dicts keep the keys of both, each with the join of its kinds)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    if {a, b} <= {SCALAR, ARRAY}:
        return ARRAY
    if is_seq(a) and is_seq(b):
        if EMPTY_SEQ in (a, b):
            return b if a == EMPTY_SEQ else a
        if SEQ in (a, b):
            return SEQ
        return seq_of(join(element(a), element(b)))
    for tag in (DICT, RECORD):
        if a.startswith(tag) and b.startswith(tag):
            ea, eb = entries(a), entries(b)
            if ea is None or eb is None:
                return tag
            for key, kind in eb.items():
                ea[key] = join(ea.get(key), kind)
            return dict_of(ea, tag)
    return ANY


def widen(kind: str | None) -> str | None:
    """A container kind without its items' kinds (``seq``, ``dict``, ``record``): what kind inference falls
    back to when nested containers keep changing from round to round."""
    if is_seq(kind) and kind != EMPTY_SEQ:
        return SEQ
    if is_dict(kind):
        return DICT
    if is_record(kind):
        return RECORD
    return kind


_SCALAR_RESULT_MODULES = ("math",)
_INTEGER_RESULTS = (builtins.len, builtins.int, builtins.round)
# reductions that return one number unless given an axis, keepdims or out
_FULL_REDUCTIONS = (np.sum, np.mean, np.max, np.min, np.prod, np.var, np.std, np.amax, np.amin)
_ARRAY_CONSTRUCTORS = (np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like, np.eye,
                       np.identity, np.arange, np.tri)


def _op_kind(op: Op, stmt, kinds: dict[str, str], ctx) -> str:
    def k(atom):
        if isinstance(atom, gast.Constant):
            return SCALAR if isinstance(atom.value, (int, float)) and not isinstance(atom.value, bool) else ANY
        if isinstance(atom, gast.Name):
            if ctx.resolve(atom) is not LOCAL:
                value = ctx.resolve(atom)
                return kind_of_value(value)
            return kinds.get(atom.id)
        if isinstance(atom, gast.Attribute):  # math.sin given to a helper
            value = ctx.resolve(atom)
            return function_kind(value) or object_kind(value) or ANY
        return ANY
    value = getattr(stmt, "value", None)
    if isinstance(value, gast.Attribute) and isinstance(value.value, gast.Name) and is_record(k(value.value)) \
            and value.attr in (entries(k(value.value)) or {}):
        return entries(k(value.value))[value.attr]  # p.w: a field (see _container_reads)
    if op.kind == "const":
        value = stmt.value
        if isinstance(value, gast.Constant):
            return k(value)
        resolved = ctx.resolve(value) if isinstance(value, (gast.Name, gast.Attribute)) else None
        return kind_of_value(resolved) if resolved is not None else ANY
    if op.kind == "copy":
        return k(op.operands[0][1]) if op.operands else ANY
    if op.kind == "build":
        if isinstance(stmt.value, gast.Dict):
            keys = stmt.value.keys
            if not all(isinstance(key, gast.Constant) for key in keys):
                return DICT
            return dict_of({key.value: k(v) or ANY for key, v in zip(keys, stmt.value.values)})
        elts = stmt.value.elts
        if not elts:
            return EMPTY_SEQ
        found = {k(e) or ANY for e in elts}
        return seq_of(found.pop()) if len(found) == 1 else SEQ
    if op.label == "comparison" and isinstance(stmt.value, gast.Compare) and len(stmt.value.ops) == 1:
        sides = [k(stmt.value.left), k(stmt.value.comparators[0])]  # an array compared with a number or array
        return ARRAY if ARRAY in sides and all(side in (SCALAR, ARRAY) for side in sides) else ANY
    if op.kind == "nondiff" and op.callee in _INTEGER_RESULTS:
        return SCALAR
    if op.kind == "nondiff" and op.callee in _ARRAY_CONSTRUCTORS:
        return ARRAY
    if op.callee is functools.partial and isinstance(stmt.value, gast.Call) and not stmt.value.keywords:
        bound = ctx.resolve(stmt.value.args[0]) if isinstance(stmt.value.args[0], gast.Name) else None
        if inspect.isfunction(bound):  # partial(f, a, b): a nested function used as a value
            return FunctionKind(bound, len(stmt.value.args) - 1)
    if op.kind == "call" and ctx.call_kind is not None and inspect.isfunction(op.callee) \
            and getattr(op.callee, "__sct_source_function__", None) is None:
        return ctx.call_kind(op.callee, {p: k(a) for p, a in op.bound.items()})
    if op.kind in ("nondiff", "pop"):
        return ANY
    if op.kind == "rule":
        return _rule_kind(op, k)
    return ANY


def _rule_kind(op: Op, k) -> str:
    """The kind of a rule's result from its operands' kinds (``k`` gives an operand's kind)."""
    primal = op.rule.primal
    diff = set(op.rule.diff_params)
    arg_kinds = [k(a) for p, a in op.bound.items() if p in diff and not _is_none_const(a)]
    declared = op.rule.result  # in the registry
    if declared == "item":
        return SCALAR if arg_kinds and arg_kinds[0] == SEQ_OF_SCALARS else ANY
    if declared == "operands":
        return arg_kinds[0] if arg_kinds and all(a == SCALAR for a in arg_kinds) else ANY
    if declared == "items":  # a list of the items (numbers when the sequence holds numbers)
        first = arg_kinds[0] if arg_kinds else None
        return first if is_seq(first) and element(first) is not None else SEQ
    if declared == "seq":
        return SEQ
    if declared in ("entry", "values", "same", "mapping"):
        first = k(op.bound.get(op.rule.params[0]))
        if declared == "same":
            return first or ANY
        if declared == "mapping":
            return first if is_dict(first) else DICT
        if declared == "values":
            found = entries(first)
            return seq_of(functools.reduce(join, found.values(), None) or ANY) if found is not None else SEQ
        found = _item_kind(first, op.bound.get(op.rule.params[1]), k)
        default = op.bound.get("default")  # (dict.get's)
        return join(found, k(default) or ANY) if default is not None else found
    if declared is not None:
        return {"scalar": SCALAR, "array": ARRAY, "dict": DICT}.get(declared, ANY)
    if getattr(primal, "__module__", None) in _SCALAR_RESULT_MODULES:
        return SCALAR
    sequence = _sequence_arithmetic_kind(primal, [k(op.bound.get("x")), k(op.bound.get("y"))])
    if sequence is not None:
        return sequence
    if primal is operator.getitem:
        return _item_kind(k(op.bound["x"]), op.bound["index"], k)
    if primal in _FULL_REDUCTIONS and _reduces_everything(op):
        return SCALAR
    elementwise = isinstance(primal, np.ufunc) or isinstance(primal, type(operator.add)) \
        or op.rule.kind == "elementwise"
    if elementwise and arg_kinds and all(a == SCALAR for a in arg_kinds):
        return SCALAR
    if ARRAY in arg_kinds and (primal in _BROADCASTING or isinstance(primal, np.ufunc) or op.rule.kind == "elementwise"):
        return ARRAY  # (an array broadcast with anything NumPy accepts: a number, a list, an unknown)
    if any(a is None or a == ANY or is_container(a) for a in arg_kinds):
        return ANY
    return ARRAY


def _item_kind(base: str | None, index_node, k) -> str:
    """The kind of ``base[index]``: an item of a sequence, an entry of a dict, a field of a record."""
    if base == ARRAY:
        return ARRAY
    if index_node is None:
        return ANY
    if is_seq(base):
        if any(isinstance(n, gast.Slice) for n in S.walk(index_node)):
            return base  # (a slice of a list is a list of the same items)
        return (element(base) or ANY) if k(index_node) == SCALAR else ANY
    found = entries(base)
    if found is None:
        return ANY
    if isinstance(index_node, gast.Constant):
        key = index_node.value
        if is_record(base) and type(key) is int:  # a NamedTuple's field by position
            fields = list(found.values())
            return fields[key] if -len(fields) <= key < len(fields) else ANY
        return found.get(key, ANY) if isinstance(key, (str, int)) else ANY
    return functools.reduce(join, found.values(), None) or ANY  # (an entry of a key sct does not know)


def _reduces_everything(op: Op) -> bool:
    """No axis, keepdims or out argument (or each given as None / False)."""
    for param in ("axis", "keepdims", "out", "where"):
        atom = op.bound.get(param)
        # (`is`, not `in`: axis=0 equals False but reduces one axis only)
        if atom is not None and not (isinstance(atom, gast.Constant) and (atom.value is None or atom.value is False)):
            return False
    return True


def _is_none_const(atom) -> bool:
    return isinstance(atom, gast.Constant) and atom.value is None


def _infer_kinds(statements, ops, arg_kinds, ctx) -> dict[str, str]:
    kinds: dict[str, str] = dict(arg_kinds)
    # a few rounds reach the fixpoint; nested containers that still change after ten (``xs = [xs]``) are
    # widened to their unstructured kinds, whose lattice is as flat as the numbers'
    for round_ in range(10 + 4 * (len(statements) + len(arg_kinds))):
        wide = round_ >= 10
        before = dict(kinds)
        for stmt in statements:
            if isinstance(stmt, gast.For):
                kinds[stmt.target.id] = join(kinds.get(stmt.target.id), SCALAR)
                continue
            op = ops.get(id(stmt))
            if op is None or op.target is None:
                continue
            if op.kind in ("store", "append"):
                found = _written_kind(op, stmt, kinds, ctx)
            else:
                found = _op_kind(op, stmt, kinds, ctx)
            if found is not None:
                kinds[op.target] = join(kinds.get(op.target), widen(found) if wide else found)
                if wide:
                    kinds[op.target] = widen(kinds[op.target])
        if kinds == before:
            break
    return {n: (k or ANY) for n, k in kinds.items()}


def _written_kind(op: Op, stmt, kinds, ctx) -> str | None:
    """What ``xs.append(v)`` or ``c[i] = v`` adds to the kind of the container (None: nothing to add)."""
    container = kinds.get(op.target)
    value = stmt.value if op.kind == "store" else stmt.value.args[0]
    found = _op_kind(Op("copy", operands=[("x", value)]), stmt, kinds, ctx)
    found = ANY if found is None else found
    if is_seq(container):
        index = stmt.targets[0].slice if op.kind == "store" else None
        if index is not None and any(isinstance(n, gast.Slice) for n in S.walk(index)):
            return found if is_seq(found) else SEQ  # xs[1:3] = ys: the items of ys
        return seq_of(found)
    if is_dict(container) and op.kind == "store":
        key = stmt.targets[0].slice
        return dict_of({key.value: found}) if isinstance(key, gast.Constant) else DICT
    return None


def _sequence_arithmetic_kind(primal, operands) -> str | None:
    """The kind of ``xs * n`` (a list repeated) or ``xs + ys`` (lists joined), None for other arithmetic.
    (Here, in the kinds' fixed point, so that a name bound to a list and later to an array is of neither
    kind: ``h = [w] * 2; h = np.array(h); h * 3.0`` is NumPy's product.)"""
    kx, ky = operands
    if primal not in (operator.mul, operator.add) or not (is_seq(kx) or is_seq(ky)) or ARRAY in (kx, ky):
        return None
    if primal is operator.mul:
        xs, n = (kx, ky) if is_seq(kx) else (ky, kx)
        return xs if n == SCALAR else SEQ
    return join(kx, ky) if is_seq(kx) and is_seq(ky) else SEQ


def _sequence_arithmetic(ctx, ops, kinds) -> None:
    """``xs * n`` and ``xs + ys`` on lists repeat and concatenate: give them their own rules."""
    from .rules import builtins as rules

    def kind(atom):
        if isinstance(atom, gast.Name):
            return kinds.get(atom.id)
        if isinstance(atom, gast.Constant):
            return SCALAR
        return ANY

    for key, op in ops.items():
        if op.kind != "rule":
            continue
        x, y = op.bound.get("x"), op.bound.get("y")
        kx, ky = kind(x), kind(y)
        if _sequence_arithmetic_kind(op.rule.primal, [kx, ky]) is None:  # (numbers, arrays: NumPy's arithmetic)
            continue
        if op.rule.primal is operator.mul:
            xs, n = (x, y) if is_seq(kx) else (y, x)
            new = _rule_op(ctx, op.target, rules.repeat_seq, [xs, n], {}, None)
        else:
            new = _rule_op(ctx, op.target, rules.concat_seq, [x, y], {}, None)
        ops[key] = new


def _shared_memory(ctx, statements, ops) -> dict[str, set[str]]:
    """For each name, the other names whose memory it may share: one is bound to the other (``y = x``) or to
    a view of it -- whatever the registry declares ``returns_view`` (``x[1:]``, ``x.T``, ``x.reshape(-1)``,
    ``np.asarray(x)``, ``x.view()``).  Flow-insensitive, through temporaries (``y = x.T.reshape(-1)``)."""
    shared: dict[str, set[str]] = {}
    for stmt in statements:
        op = ops.get(id(stmt))
        if op is None or op.target is None or getattr(stmt, "sct_augassign", False):
            continue
        for source in _viewed(ctx, stmt, op):
            if source != op.target:
                group = shared.get(source, {source}) | shared.get(op.target, {op.target})
                for name in group:
                    shared[name] = group
    return {name: group - {name} for name, group in shared.items()}


def _check_augmented(ctx, statements, ops, kinds, shared) -> None:
    """``x += e`` on an array that another name shares would change both in Python; sct rebinds x only:
    refused, whichever of the two is written (see :func:`_shared_memory`)."""
    for container, element, origin in ctx.augmented_slots:
        # `xs[i] += v` on a list changes the element object in place when it is an array or a list
        if kinds.get(container) != ARRAY and kinds.get(element) != SCALAR:
            raise AliasingError(f"`{container}[...] op= ...` on a list whose element is not a number changes that "
                                f"element in place, and other names may hold it", ctx.parsed.location(origin),
                                f"write `{container}[i] = {container}[i] + ...` (a new value) instead")
    for stmt in statements:
        if getattr(stmt, "sct_augassign", False):
            name = stmt.targets[0].id
            others = sorted(shared.get(name, set()) & ctx.user_locals)
            if others and kinds.get(name) != SCALAR:
                other = others[0]
                symbol = _AUGMENTED.get(type(getattr(S.origin_of(stmt), "op", None)), "op")
                raise AliasingError(
                    f"`{name} {symbol}= ...` changes an array in place that another variable also names "
                    f"(`{name}` and `{other}` may share memory: one is the other or a view of it); "
                    f"sct would compute the other variable's value differently from Python",
                    ctx.parsed.location(S.origin_of(stmt)),
                    f"write `{name} = {name} {symbol} ...` (a new array) instead, or make one a copy "
                    f"(`... = {other}.copy()`)")


_AUGMENTED = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**", gast.MatMult: "@",
              gast.FloorDiv: "//", gast.Mod: "%"}


def _viewed(ctx, stmt, op: Op) -> list[str]:
    """The local names whose memory the value ``op`` binds may share: ``x`` in ``y = x``, ``y = x[1:]``,
    ``y = x.T``, ``y = np.reshape(x, -1)``, ``y = x.view()`` (views as the registry declares them), and the
    arguments a helper of yours may return or return a view of (``def tail(a): return a[1:]``)."""
    if op.kind == "call" and inspect.isfunction(op.callee):
        from .fence import returned_parameters  # (what the fence found; the same reading of the helper)
        params = returned_parameters(op.callee)
        return [a.id for p, a in op.bound.items() if p in params and isinstance(a, gast.Name)
                and ctx.resolve(a) is LOCAL]
    atom = None
    if op.kind == "copy":
        atom = op.operands[0][1]
    elif op.kind == "rule" and op.rule.params and REGISTRY.may_view(op.rule.primal):
        atom = op.bound.get(op.rule.params[0])
    elif op.kind in ("unknown", "nondiff") and isinstance(stmt, gast.Assign):
        value = stmt.value.func if isinstance(stmt.value, gast.Call) else stmt.value
        if isinstance(value, gast.Attribute) and REGISTRY.is_view_name(value.attr):
            atom = value.value  # x.view(), x.real: a method or attribute without a rule
    if isinstance(atom, gast.Name) and ctx.resolve(atom) is LOCAL:
        return [atom.id]
    return []


def refuse_unused_result(ctx: Context, analysis: "Analysis", stmt, op: Op) -> None:
    """A call whose result is unused may matter only by changing its arguments in place: sct cannot see that,
    unless the function is declared called for its effect alone (``print``, ``logging.info``: ``effect_only``)."""
    if op.kind != "const" and not REGISTRY.is_effect_only(op.callee) \
            and any(a.id in analysis.varied for _, a in op.operands):
        raise AliasingError(f"the result of {op.label or 'this call'} is not used, so it would matter only by "
                            f"changing its arguments in place, which sct cannot follow",
                            ctx.parsed.location(S.locate(stmt)),
                            hint="return the new value and assign it: y = helper(y, x)")


# ------------------------------------------------------------------ activity

def _varied(statements, ops, seeds: set[str]) -> set[str]:
    """Names whose value may depend on a wrt input (a worklist along operand -> target edges)."""
    readers: dict[str, list[str]] = {}  # operand -> targets of the statements reading it
    for stmt in statements:
        op = ops.get(id(stmt))
        if op is not None and op.target is not None:
            for _, atom in op.operands:
                readers.setdefault(atom.id, []).append(op.target)
    return _reach(seeds, readers)


def _useful(statements, ops) -> set[str]:
    """Names whose value may reach the returned value (a worklist along target -> operand edges)."""
    returned = set()
    sources: dict[str, list[str]] = {}  # target -> operands of the statements assigning it
    for stmt in statements:
        if isinstance(stmt, gast.Return) and isinstance(stmt.value, gast.Name):
            returned.add(stmt.value.id)
        op = ops.get(id(stmt))
        if op is not None and op.target is not None:
            sources.setdefault(op.target, []).extend(atom.id for _, atom in op.operands)
    return _reach(returned, sources)


def _reach(start: set[str], edges: dict[str, list[str]]) -> set[str]:
    """Every name reachable from ``start`` along ``edges``."""
    reached = set(start)
    todo = list(reached)
    while todo:
        for name in edges.get(todo.pop(), ()):
            if name not in reached:
                reached.add(name)
                todo.append(name)
    return reached
