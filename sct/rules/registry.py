"""The rule registry: how a derivative rule is declared, stored and inlined.

A rule is an ordinary Python function whose ``return`` expression is copied into
the generated code with its parameters replaced by the call's operands:

.. code-block:: python

    @adjoint_rule(np.sin)
    def sin(g, ans, x):          # g: adjoint of the output, ans: the output
        return g * np.cos(x)     # contribution to x̄

    @tangent_rule(np.sin)
    def sin(dx, ans, x):         # dx: tangent of x
        return dx * np.cos(x)    # contribution to d(ans)

After the seed (``g`` or the tangents) and ``ans`` come the primal function's own
parameters, with its defaults.  The *differentiable* parameters come first: an
adjoint rule returns one expression per differentiable parameter (a tuple when
there are several; ``None`` for one without a derivative), a tangent rule takes one
tangent parameter per differentiable parameter, named ``d`` + the parameter, and
returns one contribution per parameter; the contributions of the active operands
are summed.  A rule whose body is more than a ``return`` is called, not inlined.

Seeds may be symbolic zeros: ``g`` (or a tangent) can arrive as the float ``0.0``
instead of an array of the output's shape — for instance when a result is used
only on a branch that was not taken.  Rules must give a correct (zero) answer
for it; elementwise expressions do so by themselves, structural ones go through
a helper (see ``_like`` in ``numpy.py``).
"""
from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

import gast

_NOT_GIVEN = object()


@dataclass
class Rule:
    """Everything sct knows about differentiating one function."""

    primal: Any
    name: str
    params: list[str] = field(default_factory=list)     # primal parameters, in order
    defaults: dict[str, Any] = field(default_factory=dict)
    varargs: str | None = None
    n_diff: int = 0
    adjoint: Callable | None = None
    tangent: Callable | None = None
    expand: bool = False       # tangent contributions may be narrower than the output
    select: Callable | None = None   # (n_positional, keyword names) -> Rule, for overloaded primals
    scatter: bool = False      # the adjoint takes the current adjoint as ``acc`` and returns the new one
    _parsed: dict = field(default_factory=dict, repr=False)

    @property
    def diff_params(self) -> list[str]:
        return self.params[: self.n_diff]

    def signature(self) -> inspect.Signature:
        kinds = []
        for p in self.params:
            default = self.defaults.get(p, inspect.Parameter.empty)
            kinds.append(inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default))
        if self.varargs:
            kinds.append(inspect.Parameter(self.varargs, inspect.Parameter.VAR_POSITIONAL))
        # keyword-only params are not distinguished: rules take them by name or position
        return inspect.Signature(kinds)

    def expressions(self, which: str) -> "ParsedRule | None":
        """The rule's return expressions (parsed once), or None if there is no such rule."""
        fn = self.adjoint if which == "adjoint" else self.tangent
        if fn is None:
            return None
        if which not in self._parsed:
            self._parsed[which] = ParsedRule.of(fn, self.n_diff)
        return self._parsed[which]


@dataclass
class ParsedRule:
    """A rule function's per-parameter expressions and the globals they may name."""

    fn: Callable
    params: list[str]
    exprs: list[gast.expr | None] | None      # None: the body is not a single return: call fn
    globals: dict

    @classmethod
    def of(cls, fn: Callable, n_diff: int) -> "ParsedRule":
        params = list(inspect.signature(fn).parameters)
        exprs = None
        try:
            tree = gast.parse(textwrap.dedent(inspect.getsource(fn)))
        except (OSError, TypeError):
            tree = None
        if tree is not None:
            body = [s for s in tree.body[0].body
                    if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant))]
            if len(body) == 1 and isinstance(body[0], gast.Return) and body[0].value is not None:
                value = body[0].value
                if n_diff > 1:
                    if not isinstance(value, gast.Tuple) or len(value.elts) != n_diff:
                        raise ValueError(f"rule {fn.__qualname__} must return {n_diff} expressions")
                    exprs = [None if _is_none(e) else e for e in value.elts]
                else:
                    exprs = [None if _is_none(value) else value]
        return cls(fn, params, exprs, fn.__globals__)


def _is_none(node) -> bool:
    return isinstance(node, gast.Constant) and node.value is None


class Registry:
    """Rules by primal object, array methods and attributes by name, non-differentiables."""

    def __init__(self):
        self.version = 0  # bumped by every registration: programs made before are rebuilt
        self.rules: dict[Any, Rule] = {}
        self.methods: dict[str, Any] = {}      # "sum" -> np.sum: x.sum(...) is np.sum(x, ...)
        self.attributes: dict[str, Any] = {}   # "T" -> np.transpose
        self.nondiff: set = set()
        self.nondiff_attributes: set[str] = set()
        self.nondiff_methods: set[str] = set()

    def key(self, obj):
        try:
            hash(obj)
            return obj
        except TypeError:
            return id(obj)

    def lookup(self, obj) -> Rule | None:
        try:
            return self.rules.get(self.key(obj))
        except TypeError:
            return None

    def is_nondiff(self, obj) -> bool:
        try:
            return self.key(obj) in self.nondiff
        except TypeError:
            return False

    def _rule_for(self, primal, name: str | None) -> Rule:
        self.version += 1
        key = self.key(primal)
        if key not in self.rules:
            self.rules[key] = Rule(primal, name or _display_name(primal))
        elif name:
            self.rules[key].name = name
        return self.rules[key]

    def _set_signature(self, rule: Rule, fn: Callable, skip: int, n_diff: int) -> None:
        sig = inspect.signature(fn)
        params, defaults, varargs = [], {}, None
        for p in list(sig.parameters.values())[skip:]:
            if p.name == "acc":
                rule.scatter = True
                continue
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                varargs = p.name
                continue
            params.append(p.name)
            if p.default is not inspect.Parameter.empty:
                defaults[p.name] = p.default
        if rule.params and (rule.params != params or rule.n_diff != n_diff):
            raise ValueError(f"the adjoint and tangent rules of {rule.name} disagree on the parameters "
                             f"({rule.params[:rule.n_diff]} vs {params[:n_diff]})")
        rule.params, rule.defaults, rule.varargs, rule.n_diff = params, defaults, varargs, n_diff

    def add_adjoint(self, primal, fn: Callable, name: str | None = None) -> Rule:
        rule = self._rule_for(primal, name)
        n_diff = _count_returns(fn)
        self._set_signature(rule, fn, 2, n_diff)
        rule.adjoint = fn
        rule._parsed.pop("adjoint", None)
        return rule

    def add_tangent(self, primal, fn: Callable, name: str | None = None, expand: bool = False) -> Rule:
        rule = self._rule_for(primal, name)
        names = list(inspect.signature(fn).parameters)
        n_diff = names.index("ans")
        self._set_signature(rule, fn, n_diff + 1, n_diff)
        rule.tangent = fn
        rule.expand = rule.expand or expand
        rule._parsed.pop("tangent", None)
        return rule


def _count_returns(fn: Callable) -> int:
    """How many differentiable parameters an adjoint rule covers (its return arity)."""
    try:
        tree = gast.parse(textwrap.dedent(inspect.getsource(fn)))
        returns = [n for n in gast.walk(tree) if isinstance(n, gast.Return) and n.value is not None]
        last = returns[-1].value
        return len(last.elts) if isinstance(last, gast.Tuple) else 1
    except (OSError, TypeError, IndexError):
        return 1


def _display_name(obj) -> str:
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", repr(obj))
    short = {"numpy": "np", "numpy.linalg": "np.linalg", "builtins": "", "math": "math", "_operator": "operator",
             "operator": "operator"}
    if isinstance(obj, __import__("numpy").ufunc):
        return f"np.{obj.__name__}"
    prefix = short.get(module, module)
    return f"{prefix}.{name}" if prefix else name


REGISTRY = Registry()


def adjoint_rule(primal, *, name: str | None = None):
    """Register the function below as the adjoint (reverse-mode) rule of ``primal``.

    It takes ``(g, ans, *primal_params)`` and returns one expression per
    differentiable parameter (the leading ones), the contributions to their adjoints.
    """
    def decorate(fn):
        REGISTRY.add_adjoint(primal, fn, name)
        return fn
    return decorate


def tangent_rule(primal, *, name: str | None = None, expand: bool = False):
    """Register the function below as the tangent (forward-mode) rule of ``primal``.

    It takes ``(d<p1>, ..., ans, *primal_params)`` — one tangent per differentiable
    parameter — and returns one contribution per tangent; sct sums those of the
    active operands.  ``expand=True`` says a contribution can be narrower than the
    output (as for ``x + y`` when ``y`` is a broadcast constant).
    """
    def decorate(fn):
        REGISTRY.add_tangent(primal, fn, name, expand)
        return fn
    return decorate


def nondifferentiable(*primals) -> None:
    """Declare functions whose outputs carry no derivative (argmax, floor, len, ...)."""
    for p in primals:
        REGISTRY.nondiff.add(REGISTRY.key(p))
    REGISTRY.version += 1


def method(name: str, primal) -> None:
    """``x.name(...)`` on an array means ``primal(x, ...)``."""
    REGISTRY.methods[name] = primal


def attribute(name: str, primal) -> None:
    """``x.name`` on an array means ``primal(x)``."""
    REGISTRY.attributes[name] = primal


def alias(primal, existing, *, name: str | None = None) -> None:
    """``primal`` differentiates exactly like ``existing`` (``np.add`` like ``+``)."""
    rule = REGISTRY.lookup(existing)
    copy = Rule(primal, name or _display_name(primal), list(rule.params), dict(rule.defaults), rule.varargs,
                rule.n_diff, rule.adjoint, rule.tangent, rule.expand, rule.select, rule.scatter)
    REGISTRY.rules[REGISTRY.key(primal)] = copy


def overloaded(primal, select: Callable) -> None:
    """``primal``'s rule depends on how it is called: ``select(n_args, keywords)`` picks the rule's key."""
    rule = REGISTRY._rule_for(primal, None)
    rule.select = select
