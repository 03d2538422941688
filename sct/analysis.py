"""Pass 4 — analysis: what each statement computes, what kind of value, what is active.

Input: the normalized body and the kinds of the arguments (``"scalar"``,
``"array"``, ``"seq"`` or ``"any"``).  Output: an :class:`Analysis` with

* ``ops``: for each assignment, the :class:`Op` it performs — which rule (resolved
  through the registry), which user function, or which structural operation —
  and which operands are differentiable;
* ``kinds``: for each name, the join of the kinds it may hold (numbers only, arrays,
  sequences or unknown); sct drops broadcasting code where operands are numbers;
* ``active``: names that depend on a ``wrt`` input *and* reach the output.  Only
  active statements get derivative code.
"""
from __future__ import annotations

import builtins
import inspect
import operator
from dataclasses import dataclass, field
from typing import Any

import gast
import numpy as np

from . import syntax as S
from .context import LOCAL, UNRESOLVED, Context
from .errors import AliasingError, NoRuleError
from .rules import REGISTRY, Rule

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
    ``call`` (a user function sct differentiates), ``build`` (tuple/list display),
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


@dataclass
class Analysis:
    ops: dict[int, Op]
    kinds: dict[str, str]
    varied: set[str]
    useful: set[str]
    shared: dict[str, set[str]] = field(default_factory=dict)  # name -> names that may share its memory

    @property
    def active(self) -> set[str]:
        return self.varied & self.useful

    def op(self, stmt) -> Op:
        return self.ops[id(stmt)]

    def kind(self, atom: gast.expr) -> str:
        if isinstance(atom, gast.Constant):
            return SCALAR if isinstance(atom.value, (int, float)) else ANY
        if isinstance(atom, gast.Name):
            return self.kinds.get(atom.id, ANY)
        return ANY

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
    _sequence_arithmetic(ctx, ops, kinds)
    shared = _shared_memory(ctx, statements, ops)
    _check_augmented(ctx, statements, ops, kinds, shared)
    varied = _varied(statements, ops, set(wrt))
    useful = _useful(statements, ops)
    _refuse_varied_constants(ctx, statements, ops, kinds, varied, useful)
    return Analysis(ops, kinds, varied, useful, shared)


def _global_kinds(ctx: Context, statements, kinds: dict[str, str]) -> None:
    """The kinds of the module constants and closure variables the function reads (``G = 9.81`` is a
    number), so arithmetic with them is specialised like arithmetic with numbers.  (The program is rebuilt
    when a global is rebound, or a closure variable's kind changes.)"""
    for stmt in statements:
        for node in S.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and node.id not in kinds \
                    and node.id not in ctx.locals:
                value = ctx.resolve(node)
                if value is not LOCAL and value is not UNRESOLVED:
                    kind = kind_of_value(value)
                    if kind != ANY:
                        kinds[node.id] = kind


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
            built.setdefault(op.target, []).extend(stmt.value.elts)
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
        if primal is None:
            return Op("unknown", name, operands=_local_operands(ctx, [func.value] + call.args, keywords),
                      label=f".{func.attr}()")
        return _rule_op(ctx, name, primal, [func.value] + list(call.args), keywords, call)
    callee = ctx.resolve(func)
    label = _label(func)
    if callee is LOCAL or callee is UNRESOLVED:
        return Op("unknown", name, operands=_local_operands(ctx, call.args, keywords), label=label)
    if _is_nondiff(callee):
        return Op("nondiff", name, callee=callee, label=label)
    rule = REGISTRY.lookup(callee)
    if rule is not None:
        return _rule_op(ctx, name, callee, list(call.args), keywords, call)
    if getattr(callee, "__sct_source_function__", None) is not None:  # a gradient sct made
        _depend(ctx, func, callee)
        op = Op("call", name, callee=callee, label=label)
        op.bound = _bind_user_call(ctx, callee, call)
        op.operands = [(p, a) for p, a in op.bound.items() if isinstance(a, gast.Name) and ctx.resolve(a) is LOCAL]
        return op
    if inspect.isfunction(callee):
        _depend(ctx, func, callee)
        op = Op("call", name, callee=callee, label=label)
        op.bound = _bind_user_call(ctx, callee, call)
        op.operands = [(p, a) for p, a in op.bound.items() if isinstance(a, gast.Name) and ctx.resolve(a) is LOCAL]
        return op
    return Op("unknown", name, operands=_local_operands(ctx, call.args, keywords), callee=callee, label=label)


def _depend(ctx, func: gast.expr, callee) -> None:
    """Remember that the program calls this global function, so that redefining it invalidates the program."""
    if isinstance(func, gast.Name) and func.id not in ctx.parsed.namespace.closure:
        ctx.deps.append((ctx.parsed.namespace.globals, func.id, callee))


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


def _local_operands(ctx, args, keywords):
    atoms = list(args) + list(keywords.values())
    return [(str(i), a) for i, a in enumerate(atoms) if isinstance(a, gast.Name) and ctx.resolve(a) is LOCAL]


def _label(func: gast.expr) -> str:
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


def _bind_user_call(ctx, callee, call: gast.Call) -> dict[str, gast.expr]:
    sig = inspect.signature(callee)
    try:
        bound = sig.bind(*call.args, **{kw.arg: kw.value for kw in call.keywords})
    except TypeError as exc:
        raise NoRuleError(f"this call does not match {callee.__qualname__}{sig}: {exc}",
                          ctx.parsed.location(call)) from None
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name in bound.arguments:
            raise NoRuleError(f"sct cannot differentiate a call to {callee.__qualname__}, which takes *args/**kwargs",
                              ctx.parsed.location(call))
    return dict(bound.arguments)


# ------------------------------------------------------------------ kinds

def call_kinds(ctx: Context, analysis: "Analysis", op: Op) -> dict[str, str]:
    """The kinds of a user call's arguments, by parameter (what the callee's program is specialised to):
    a local's inferred kind, a constant's, or a global's value's kind (``G = 9.81`` is a number)."""
    out = {}
    for param, atom in op.bound.items():
        if isinstance(atom, gast.Name) and ctx.resolve(atom) is not LOCAL:
            value = ctx.resolve(atom)
            out[param] = ANY if value is UNRESOLVED else kind_of_value(value)
        elif isinstance(atom, gast.Constant):
            out[param] = SCALAR if type(atom.value) in (int, float) else ANY
        else:
            out[param] = analysis.kind(atom)
    return out


SEQ_OF_SCALARS, EMPTY_SEQ = "seq[scalar]", "seq[]"
SEQ_OF_SEQS = "seq[seq[scalar]]"  # a list of lists of numbers (rows of a data set): its items are lists of numbers


def kind_of_value(value) -> str:
    """The kind of a run-time argument."""
    if isinstance(value, (bool, np.bool_)):
        return ANY
    if isinstance(value, (int, float, np.integer, np.floating)):
        return SCALAR
    if isinstance(value, np.ndarray):
        return ARRAY
    if isinstance(value, (list, tuple)):
        if all(kind_of_value(v) == SCALAR for v in value):
            return SEQ_OF_SCALARS
        if value and all(isinstance(v, (list, tuple)) and kind_of_value(v) == SEQ_OF_SCALARS for v in value):
            return SEQ_OF_SEQS
        return SEQ
    return ANY


def join(a: str | None, b: str | None) -> str | None:
    """The least kind holding both (sequences of numbers stay sequences of numbers)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    if {a, b} <= {SCALAR, ARRAY}:
        return ARRAY
    if is_seq(a) and is_seq(b):
        if EMPTY_SEQ in (a, b):
            return b if a == EMPTY_SEQ else a
        return SEQ
    return ANY


def is_seq(kind: str | None) -> bool:
    return kind is not None and kind.startswith("seq")


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
        return ANY
    if op.kind == "const":
        value = stmt.value
        if isinstance(value, gast.Constant):
            return k(value)
        resolved = ctx.resolve(value) if isinstance(value, (gast.Name, gast.Attribute)) else None
        return kind_of_value(resolved) if resolved is not None else ANY
    if op.kind == "copy":
        return k(op.operands[0][1]) if op.operands else ANY
    if op.kind == "build":
        elts = stmt.value.elts
        if not elts:
            return EMPTY_SEQ
        return SEQ_OF_SCALARS if all(k(e) == SCALAR for e in elts) else SEQ
    if op.label == "comparison" and isinstance(stmt.value, gast.Compare) and len(stmt.value.ops) == 1:
        sides = [k(stmt.value.left), k(stmt.value.comparators[0])]  # an array compared with a number or array
        return ARRAY if ARRAY in sides and all(side in (SCALAR, ARRAY) for side in sides) else ANY
    if op.kind == "nondiff" and op.callee in _INTEGER_RESULTS:
        return SCALAR
    if op.kind == "nondiff" and op.callee in _ARRAY_CONSTRUCTORS:
        return ARRAY
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
    if declared is not None:
        return {"scalar": SCALAR, "array": ARRAY}.get(declared, ANY)
    if getattr(primal, "__module__", None) in _SCALAR_RESULT_MODULES:
        return SCALAR
    if primal is operator.getitem:
        base, index_node = k(op.bound["x"]), op.bound["index"]
        sliced = any(isinstance(n, gast.Slice) for n in S.walk(index_node))
        if base in (SEQ_OF_SCALARS, SEQ_OF_SEQS):
            if sliced:
                return base
            item = SCALAR if base == SEQ_OF_SCALARS else SEQ_OF_SCALARS
            return item if k(index_node) == SCALAR else ANY
        return ARRAY if base == ARRAY else ANY
    if primal in _FULL_REDUCTIONS and _reduces_everything(op):
        return SCALAR
    elementwise = isinstance(primal, np.ufunc) or isinstance(primal, type(operator.add)) \
        or op.rule.kind == "elementwise"
    if elementwise and arg_kinds and all(a == SCALAR for a in arg_kinds):
        return SCALAR
    if ARRAY in arg_kinds and (primal in _BROADCASTING or isinstance(primal, np.ufunc) or op.rule.kind == "elementwise"):
        return ARRAY  # (an array broadcast with anything NumPy accepts: a number, a list, an unknown)
    if any(a is None or a == ANY or is_seq(a) for a in arg_kinds):
        return ANY
    return ARRAY


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
    for _ in range(10):  # a two-level lattice per name: a few rounds reach the fixpoint
        before = dict(kinds)
        for stmt in statements:
            if isinstance(stmt, gast.For):
                kinds[stmt.target.id] = join(kinds.get(stmt.target.id), SCALAR)
                continue
            op = ops.get(id(stmt))
            if op is None or op.target is None:
                continue
            if op.kind in ("store", "append"):
                value = stmt.value if op.kind == "store" else stmt.value.args[0]
                element = SEQ_OF_SCALARS if _op_kind(Op("copy", operands=[("x", value)]), stmt, kinds, ctx) == SCALAR \
                    else SEQ
                if is_seq(kinds.get(op.target)):
                    kinds[op.target] = join(kinds.get(op.target), element)
                continue
            kinds[op.target] = join(kinds.get(op.target), _op_kind(op, stmt, kinds, ctx))
        if kinds == before:
            break
    return {n: (k or ANY) for n, k in kinds.items()}


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
        if op.kind != "rule" or op.rule.primal not in (operator.mul, operator.add):
            continue
        x, y = op.bound.get("x"), op.bound.get("y")
        kx, ky = kind(x), kind(y)
        if not (is_seq(kx) or is_seq(ky)) or ARRAY in (kx, ky):  # (a list and an array: NumPy arithmetic)
            continue
        if op.rule.primal is operator.mul:
            xs, n = (x, y) if is_seq(kx) else (y, x)
            new = _rule_op(ctx, op.target, rules.repeat_seq, [xs, n], {}, None)
        else:
            new = _rule_op(ctx, op.target, rules.concat_seq, [x, y], {}, None)
        ops[key] = new
        kinds[op.target] = SEQ


def _shared_memory(ctx, statements, ops) -> dict[str, set[str]]:
    """For each name, the other names whose memory it may share: one is bound to the other (``y = x``) or to
    a view of it -- whatever the registry declares ``returns_view`` (``x[1:]``, ``x.T``, ``x.reshape(-1)``,
    ``np.asarray(x)``, ``x.view()``).  Flow-insensitive, through temporaries (``y = x.T.reshape(-1)``)."""
    shared: dict[str, set[str]] = {}
    for stmt in statements:
        op = ops.get(id(stmt))
        if op is None or op.target is None or getattr(stmt, "sct_augassign", False):
            continue
        source = _viewed(ctx, stmt, op)
        if source is not None and source != op.target:
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


def _viewed(ctx, stmt, op: Op) -> str | None:
    """The local name whose memory the value ``op`` binds may share: ``x`` in ``y = x``, ``y = x[1:]``,
    ``y = x.T``, ``y = np.reshape(x, -1)``, ``y = x.view()`` (views as the registry declares them)."""
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
        return atom.id
    return None


def refuse_unused_result(ctx: Context, analysis: "Analysis", stmt, op: Op) -> None:
    """A call whose result is unused may matter only by changing its arguments in place: sct cannot see that."""
    if op.kind not in ("nondiff", "const") and any(a.id in analysis.varied for _, a in op.operands):
        raise AliasingError(f"the result of {op.label or 'this call'} is not used, so it would matter only by "
                            f"changing its arguments in place, which sct cannot follow",
                            ctx.parsed.location(S.locate(stmt)),
                            hint="return the new value and assign it: y = helper(y, x)")


# ------------------------------------------------------------------ activity

def _varied(statements, ops, seeds: set[str]) -> set[str]:
    """Names whose value may depend on a wrt input."""
    varied = set(seeds)
    changed = True
    while changed:
        changed = False
        for stmt in statements:
            op = ops.get(id(stmt))
            if op is None or op.target is None or op.target in varied:
                continue
            if any(atom.id in varied for _, atom in op.operands):
                varied.add(op.target)
                changed = True
    return varied


def _useful(statements, ops) -> set[str]:
    """Names whose value may reach the returned value."""
    useful = set()
    for stmt in statements:
        if isinstance(stmt, gast.Return) and isinstance(stmt.value, gast.Name):
            useful.add(stmt.value.id)
    changed = True
    while changed:
        changed = False
        for stmt in statements:
            op = ops.get(id(stmt))
            if op is None or op.target is None or op.target not in useful:
                continue
            for _, atom in op.operands:
                if atom.id not in useful:
                    useful.add(atom.id)
                    changed = True
    return useful
