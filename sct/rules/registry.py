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

import ast
import inspect
import linecache
import textwrap
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Any, Callable

import gast
import numpy as np

from ..runtime.broadcast import expand

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
    refused: frozenset = frozenset()  # parameters whose derivative sct lacks: refused when they vary
    result: str | None = None  # the result's kind when the passes cannot infer it: "tuple" or "scalar"
    kind: str = "custom"       # how it was declared: "elementwise", "linear", "bilinear" or "custom"
    builders: dict = field(default_factory=dict, repr=False)  # which -> () -> ParsedRule (declared kinds)
    # how the tangent runs on B directions at once (see ``batched_tangent_rule``): None, once per direction
    # inside the sweep; "broadcast", the tangent rule itself with lifted seeds; a function, a batched tangent
    # rule; False, not at all (the batched entry points run one sweep per direction)
    batched: Any = None
    batched_lists: bool = False  # the batched tangent rule takes a list's tangent (a list of batched tangents)
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
        fn = {"adjoint": self.adjoint, "tangent": self.tangent, "batched": self.batched}[which]
        if fn is None or not callable(fn):
            return None
        if which not in self._parsed:
            builder = self.builders.get(which)
            self._parsed[which] = builder(self) if builder else ParsedRule.of(fn, self.n_diff)
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
        value = return_expression(fn)
        if value is not None:
            if n_diff > 1:
                if not isinstance(value, gast.Tuple) or len(value.elts) != n_diff:
                    raise ValueError(f"rule {fn.__qualname__} must return {n_diff} expressions")
                exprs = [None if _is_none(e) else e for e in value.elts]
            else:
                exprs = [None if _is_none(value) else value]
        return cls(fn, params, exprs, fn.__globals__)


def function_tree(fn: Callable) -> gast.FunctionDef | gast.Lambda | None:
    """The gast tree of a ``def`` or a ``lambda`` (None when its source is not available).

    ``inspect.getsource`` of a lambda is the whole line (or statement) it sits on,
    perhaps with other lambdas, so a lambda is found in its file's tree by the
    line of its code and the parameter names, and among several on one line by
    the source positions its code's instructions carry.
    """
    if getattr(fn, "__name__", None) != "<lambda>":
        try:
            return gast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
        except (OSError, TypeError, SyntaxError, IndexError):
            return None
    code = fn.__code__
    lambdas = _module_lambdas(code.co_filename)
    if lambdas is None:
        return None
    names = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    candidates = [n for n in lambdas.get(code.co_firstlineno, ())
                  if [a.arg for a in n.args.posonlyargs + n.args.args + n.args.kwonlyargs] == names]
    if len(candidates) > 1:
        spots = [(l, c) for l, _, c, e in code.co_positions() if l is not None and c is not None and e]
        # the lambda whose body holds the most of its code's positions; the innermost among equals
        candidates.sort(key=lambda n: (-sum(_inside(n.body, spot) for spot in spots),
                                       n.body.end_lineno - n.body.lineno, n.body.end_col_offset - n.body.col_offset))
    if not candidates:
        return None
    return gast.ast_to_gast(ast.Expression(candidates[0])).body


def _module_tree(filename: str) -> ast.Module | None:
    """A source file's tree, parsed once per content (kept by the registry)."""
    text = "".join(linecache.getlines(filename))
    if not text:
        return None
    key = (filename, hash(text))
    trees = REGISTRY.source_trees
    if key not in trees:
        try:
            trees[key] = ast.parse(text)
        except SyntaxError:
            trees[key] = None
    return trees[key]


def _inside(node: ast.AST, spot: tuple[int, int]) -> bool:
    return (node.lineno, node.col_offset) <= spot < (node.end_lineno, node.end_col_offset)


def return_expression(fn: Callable) -> gast.expr | None:
    """The expression a rule returns: a lambda's body, or a def whose body is one ``return`` (docstring aside)."""
    tree = function_tree(fn)
    if isinstance(tree, gast.Lambda):
        return tree.body
    if not isinstance(tree, gast.FunctionDef):
        return None
    body = [s for s in tree.body if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant))]
    if len(body) == 1 and isinstance(body[0], gast.Return) and body[0].value is not None:
        return body[0].value
    return None


@dataclass(frozen=True)
class Helper:
    """What the passes may assume about a function that rules and generated code call.

    ``shape_args``: positions of arguments it reads only for their shape and dtype
    (the forward sweep may free their data); ``linear``: linear in its first
    argument, so a zero there gives zero; ``scalar_identity``: where every operand
    is a number it returns its first argument (sct drops the call); ``narrows``:
    given one more argument ``like`` after its ``narrows`` ones, it returns its
    result summed to ``like``'s shape, cheaper than ``unbroadcast(helper(...), like)``
    (the optimizer folds the one into the other).
    """

    shape_args: tuple[int, ...] = ()
    linear: bool = False
    scalar_identity: bool = False
    narrows: int | None = None


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
        self.views: set = set()                 # primals whose result may share memory with their first argument
        self.view_attributes: set[str] = set()  # names of methods/attributes without a rule that may (x.view())
        self.helpers: dict[Any, Helper] = {}    # runtime and rule helpers generated code calls
        self.source_trees: dict = {}           # (file, content hash) -> tree; ("lambdas", id(tree)) -> by line
        self.deferred: dict[str, Callable] = {}  # module -> registers its rules once it is imported
        self.contexts: dict[Any, str | None] = {}  # context manager -> None (its block is followed) or why refused
        self.effects: dict[Any, bool] = {}       # called for an effect alone (print, logging) -> a scoped setting?
        self.replacements: dict[Any, Any] = {}   # a function -> what generated code calls in its place
        self._view_names: tuple[int, frozenset] = (-1, frozenset())

    def key(self, obj):
        try:
            hash(obj)
            return obj
        except TypeError:
            return id(obj)

    def lookup(self, obj) -> Rule | None:
        try:
            rule = self.rules.get(self.key(obj))
        except TypeError:
            return None
        if rule is None and self.deferred and self.load_deferred():
            return self.lookup(obj)
        return rule

    def defer(self, module: str, load: Callable) -> None:
        """Run ``load`` (which registers rules) once ``module`` has been imported by someone, at the first
        lookup that misses: optional libraries cost nothing to ``import sct``."""
        self.deferred[module] = load

    def load_deferred(self, everything: bool = False) -> bool:
        """Register the deferred rules of the modules imported so far (all of them with ``everything``);
        whether any were."""
        import importlib.util
        import sys
        loaded = False
        for module, load in list(self.deferred.items()):
            if module in sys.modules or (everything and importlib.util.find_spec(module) is not None):
                del self.deferred[module]
                load()
                loaded = True
        return loaded

    def helper(self, fn, *, shape_args: tuple[int, ...] = (), linear: bool = False,
               scalar_identity: bool = False, narrows: int | None = None) -> None:
        """Declare what the passes may assume about a helper generated code calls (see :class:`Helper`)."""
        self.helpers[self.key(fn)] = Helper(tuple(shape_args), linear, scalar_identity, narrows)
        self.version += 1

    def narrowing_helpers(self) -> dict[Any, int]:
        """The helpers declared with ``narrows``, and their argument count without ``like``."""
        return {key: h.narrows for key, h in self.helpers.items() if h.narrows is not None}

    def helper_info(self, obj) -> Helper | None:
        """The declaration of a helper, or None for any other object."""
        try:
            return self.helpers.get(self.key(obj))
        except TypeError:
            return None

    def may_view(self, obj) -> bool:
        """Might ``obj(a, ...)`` return a view of ``a`` (memory shared with its first argument)?"""
        try:
            return self.key(obj) in self.views
        except TypeError:
            return False

    def is_view_name(self, name: str) -> bool:
        """Might ``x.name(...)``, ``x.name`` or ``np.name(x, ...)`` be a view of ``x``?  For passes that see names
        only (the fence): the methods, attributes and functions declared views, by name."""
        if self._view_names[0] != self.version:
            names = set(self.view_attributes)
            names |= {n for table in (self.methods, self.attributes) for n, p in table.items() if self.may_view(p)}
            names |= {getattr(p, "__name__", None) for p in self.views} - {None}
            self._view_names = (self.version, frozenset(names))
        return name in self._view_names[1]

    def _declared_in(self, table: dict, obj, *more):
        """``table``'s entry for ``obj``, or for the function behind a bound method (``logger.info``), or for
        one of ``more``."""
        for candidate in (obj, getattr(obj, "__func__", None), *more):
            try:
                key = self.key(candidate)
                if candidate is not None and key in table:
                    return key
            except TypeError:
                pass
        return None

    def context(self, obj) -> tuple[bool, str | None]:
        """(declared, why refused) for a context manager: a ``with`` block under ``obj(...)`` (or under ``obj``,
        an instance of a declared class) is followed when it is declared and not refused."""
        key = self._declared_in(self.contexts, obj, type(obj))
        return (False, None) if key is None else (True, self.contexts[key])

    def is_effect_only(self, obj) -> bool:
        """Is ``obj`` called for its effect alone (printing, logging, a warning), changing no argument?"""
        return self._declared_in(self.effects, obj) is not None

    def replacement(self, obj):
        """What generated code calls in place of ``obj`` (see :func:`replaced_by`), or None."""
        try:
            return self.replacements.get(self.key(obj))
        except TypeError:
            return None

    def is_scoped_setting(self, obj) -> bool:
        """Is ``obj`` a setting that a declared context manager restores on exit (``warnings.simplefilter``)?"""
        key = self._declared_in(self.effects, obj)
        return key is not None and self.effects[key]

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
    tree = function_tree(fn)
    if isinstance(tree, gast.Lambda):
        return len(tree.body.elts) if isinstance(tree.body, gast.Tuple) else 1
    if tree is None:
        return 1
    returns = [n for n in gast.walk(tree) if isinstance(n, gast.Return) and n.value is not None]
    if not returns:
        return 1
    last = returns[-1].value
    return len(last.elts) if isinstance(last, gast.Tuple) else 1


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


def batched_tangent_rule(*primals, lists: bool = False):
    """Register the function below as the batched tangent rule of ``primal``: the tangent rule's signature,
    but each tangent ``d<p>`` carries B directions on a leading axis (shape ``(B,) + p.shape``; ``(B,)`` for a
    number) and each contribution must too.  Helpers for it are in ``sct.runtime.batched``.  A list's
    tangent is a list of batched tangents; unless ``lists=True`` says the rule takes those, sct runs the
    ordinary tangent rule once per direction where a list operand varies."""
    def decorate(fn):
        for primal in primals:  # (aliases made earlier, too)
            rule = REGISTRY._rule_for(primal, None)
            rule.batched, rule.batched_lists = fn, lists
        return fn
    return decorate


def broadcasts(*primals) -> None:
    """Declare tangent rules that batch by broadcasting: each contribution is a tangent times (or plus,
    minus, divided by) values shaped like the primal's operands, so B directions on a leading axis pass
    through once the tangents have the output's number of axes (elementwise rules are declared so)."""
    for p in primals:
        REGISTRY._rule_for(p, None).batched = "broadcast"


def not_batchable(*primals) -> None:
    """Declare tangent rules that cannot run on a batch of directions, even one direction at a time inside a
    sweep: batched entry points (``jvp(batched=True)``, ``jacobian``, ``hessian``) run one sweep per direction."""
    for p in primals:
        REGISTRY._rule_for(p, None).batched = False


def nondifferentiable(*primals) -> None:
    """Declare functions whose outputs carry no derivative (argmax, floor, len, ...)."""
    for p in primals:
        REGISTRY.nondiff.add(REGISTRY.key(p))
    REGISTRY.version += 1


def context_manager(*managers, refused: str | None = None) -> None:
    """Declare context managers that change no value sct differentiates (``np.errstate``,
    ``warnings.catch_warnings``): a ``with`` block under one of them is differentiated, its tangent statements
    sit inside the block, and the backward sweep of its body runs under the same manager (made again from
    the same arguments).  ``refused``: why a ``with`` block under these is refused instead
    (``contextlib.suppress`` changes where control goes)."""
    for m in managers:
        REGISTRY.contexts[REGISTRY.key(m)] = refused
    REGISTRY.version += 1


def replaced_by(primal, replacement) -> None:
    """Generated code calls ``replacement`` wherever the function calls ``primal`` (the same values, in a form
    the sweeps can read again: ``reversed(xs)``, an iterator read once, becomes a sequence).  The rules are
    ``replacement``'s."""
    REGISTRY.replacements[REGISTRY.key(primal)] = replacement
    REGISTRY.version += 1


def effect_only(*functions, scoped: bool = False) -> None:
    """Declare functions called for their effect alone (printing, logging, warnings): they may receive values
    that depend on the inputs, change none of them, and their result carries no derivative.  ``scoped=True``
    marks settings that a declared context manager restores on exit (``warnings.simplefilter`` under
    ``warnings.catch_warnings``): called at the top of a ``with`` block, they are called again at the top of
    that block's backward sweep."""
    for fn in functions:
        REGISTRY.effects[REGISTRY.key(fn)] = scoped
    REGISTRY.version += 1


def returns_view(*primals, names: tuple[str, ...] = ()) -> None:
    """Declare functions whose result may share memory with their first argument (a view: ``np.reshape``,
    basic indexing), and ``names``: methods or attributes without a rule that may (``x.view()``, ``x.real``).

    An in-place write through either name would change the other; sct refuses it (see analysis and fence).
    """
    for p in primals:
        REGISTRY.views.add(REGISTRY.key(p))
    REGISTRY.view_attributes.update(names)
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
                rule.n_diff, rule.adjoint, rule.tangent, rule.expand, rule.select, rule.scatter, rule.refused,
                rule.result, rule.kind, dict(rule.builders), rule.batched, rule.batched_lists)
    REGISTRY.rules[REGISTRY.key(primal)] = copy


def result_kind(primal, kind: str) -> None:
    """Declare what ``primal`` returns when the passes cannot tell: "tuple" (several results), "scalar", "array",
    "seq" (a list), "item" (an item of its sequence argument: a number when the sequence holds numbers),
    "items" (a list of the items of its sequence argument), "operands" (a number when all its operands are
    numbers, like an elementwise function), "entry" (the entry of its first argument, a dict, record or
    sequence, at its second: ``d.get(k)``, a field), "values" (a list of its first argument's entries), "same"
    (the kind of its first argument: a copy), "mapping" (that of its first argument when it is a dict, else a
    dict: ``dict(x)``) or "dict"."""
    assert kind in ("tuple", "scalar", "array", "seq", "item", "items", "operands", "entry", "values", "same",
                    "mapping", "dict"), kind
    REGISTRY._rule_for(primal, None).result = kind


def is_constant(atom) -> bool:
    """Is this operand (as ``select`` receives it) a literal number or string in the source?"""
    return isinstance(atom, gast.Constant)


def overloaded(primal, select: Callable) -> None:
    """``primal``'s rule depends on how it is called: ``select(n_args, keywords)`` picks the rule's key
    (or ``select(n_args, keywords, args)``, given the call's argument nodes too)."""
    rule = REGISTRY._rule_for(primal, None)
    if len(inspect.signature(select).parameters) == 2:
        rule.select = lambda n, keywords, args: select(n, keywords)
    else:
        rule.select = select


# ---------------------------------------------------------------- declared kinds
# One declaration gives both modes: sct writes the rule expressions from the partial
# derivatives (elementwise), the transpose (linear) or the two transposes (bilinear).

def _like(g, ans):
    """The seed ``g`` with the shape of the output ``ans``.

    An adjoint that nothing has reached yet is the float ``0.0`` (and a seed may be
    a number); rules that move g's elements around (contractions, reshapes, joins)
    need it as a full array, so it is broadcast (a free view) when its shape differs.
    """
    if type(g) is np.ndarray and type(ans) is np.ndarray and g.shape == ans.shape:
        return g  # (the common case, decided without a NumPy call)
    return g if np.shape(g) == np.shape(ans) else expand(g, ans)


REGISTRY.helper(_like, shape_args=(1,))


def elementwise(primal, *partials, name: str | None = None, scalar=(), doc: str | None = None) -> Rule:
    """Declare ``primal`` elementwise by its partial derivatives, one per differentiable argument.

    Each partial is a function of ``(ans, *primal_params)`` whose result (a lambda's
    body or a def's single ``return``) is the derivative of the output with respect
    to that argument (``None``: the derivative is zero; ``NotImplemented``: sct has
    none, and refuses a call where that argument depends on the inputs).  sct writes the tangent
    ``dx * partial`` and the adjoint ``unbroadcast(g * partial, x)`` (broadcasting is
    undone for each argument of a function of several).  ``scalar`` names ``math``
    functions that are the same function on numbers: they get the same rule with
    ``np.cos`` read as ``math.cos`` (no broadcasting).
    """
    rule = _declare_elementwise(primal, partials, name, doc, to_math=False)
    for other in (scalar if isinstance(scalar, (tuple, list)) else (scalar,)):
        _declare_elementwise(other, partials, None, doc, to_math=True)
    return rule


def linear(primal, transpose: Callable, *, tangent: Callable | None = None, name: str | None = None,
           doc: str | None = None, like: bool = True) -> Rule:
    """Declare ``primal`` linear in its first argument by its transpose.

    ``transpose(g, ans, *primal_params)`` returns the adjoint of the first
    argument; ``g`` arrives shaped like the output (a zero seed is broadcast by
    ``_like``; ``like=False`` when the transpose takes any seed as it is).  The
    tangent is ``primal`` applied to the tangent, with the other arguments passed
    by keyword (``out``, ``dtype`` and ``casting`` left out), unless ``tangent`` (a
    tangent rule taking ``(d<first>, ans, *primal_params)``) says otherwise.
    """
    params, defaults = _partial_params(transpose, 2)
    rule = _declared(primal, name, "linear", params, defaults, 1, doc)

    def adjoint(rule):
        return _seeded(transpose, ["g", "ans"] + params, 1, like)

    def tangent_(rule):
        if tangent is not None:
            return ParsedRule.of(tangent, 1)
        call = S_call(_reference(primal), [gast.Name("d" + params[0], gast.Load(), None, None)],
                      {p: gast.Name(p, gast.Load(), None, None) for p in params[1:] if p not in _LEFT_OUT})
        return ParsedRule(rule.tangent, ["d" + params[0], "ans"] + params, [call], _globals(primal, transpose))
    rule.builders = {"adjoint": adjoint, "tangent": tangent_}
    return rule


def bilinear(primal, transpose_a: Callable, transpose_b: Callable, *, name: str | None = None,
             doc: str | None = None) -> Rule:
    """Declare ``primal`` linear in each of its first two arguments by the two transposes.

    ``transpose_a(g, ans, a, b, ...)`` returns ā and ``transpose_b`` returns b̄
    (``g`` shaped like the output); the tangent is ``primal(da, b, ...) + primal(a, db, ...)``.
    """
    params, defaults = _partial_params(transpose_a, 2)
    if _partial_params(transpose_b, 2)[0] != params:
        raise ValueError(f"the transposes of {name or _display_name(primal)} disagree on the parameters")
    rule = _declared(primal, name, "bilinear", params, defaults, 2, doc)

    def adjoint(rule):
        a, b = _seeded(transpose_a, ["g", "ans"] + params, 1), _seeded(transpose_b, ["g", "ans"] + params, 1)
        return ParsedRule(rule.adjoint, a.params, [a.exprs[0], b.exprs[0]], ChainMap(a.globals, b.globals))

    def tangent(rule):
        rest = {p: gast.Name(p, gast.Load(), None, None) for p in params[2:] if p not in _LEFT_OUT}
        name_ = lambda p: gast.Name(p, gast.Load(), None, None)  # noqa: E731
        exprs = [S_call(_reference(primal), [name_("d" + params[0]), name_(params[1])], rest),
                 S_call(_reference(primal), [name_(params[0]), name_("d" + params[1])], rest)]
        return ParsedRule(rule.tangent, ["d" + params[0], "d" + params[1], "ans"] + params, exprs,
                          _globals(primal, transpose_a))
    rule.builders = {"adjoint": adjoint, "tangent": tangent}
    return rule


_LEFT_OUT = ("out", "dtype", "casting")   # arguments a linear function's tangent does not pass on


def _declared(primal, name, kind, params, defaults, n_diff, doc) -> Rule:
    """A rule of a declared kind: signature set, builders to come, stand-in functions for both modes."""
    rule = REGISTRY._rule_for(primal, name)
    rule.params, rule.defaults, rule.varargs, rule.n_diff = list(params), dict(defaults), None, n_diff
    rule.kind, rule.scatter = kind, False
    label = rule.name

    def adjoint(g, ans, *args):
        raise NotImplementedError(f"the {kind} adjoint of {label} is inlined, never called")

    def tangent(*args):
        raise NotImplementedError(f"the {kind} tangent of {label} is inlined, never called")
    adjoint.__doc__ = tangent.__doc__ = doc
    adjoint.__qualname__, tangent.__qualname__ = f"{label} adjoint", f"{label} tangent"
    rule.adjoint, rule.tangent = adjoint, tangent
    rule._parsed.clear()
    return rule


def _declare_elementwise(primal, partials, name, doc, to_math: bool) -> Rule:
    refused = [p is NotImplemented for p in partials]
    partials = [None if p is NotImplemented else p for p in partials]
    live = [p for p in partials if p is not None]
    params, defaults = _partial_params(live[0], 1)
    for p in live[1:]:
        if _partial_params(p, 1)[0] != params:
            raise ValueError(f"the partials of {name or _display_name(primal)} disagree on the parameters")
    n_diff = len(partials)
    rule = _declared(primal, name, "elementwise", params, defaults, n_diff, doc)
    rule.batched = "broadcast"
    diff = params[:n_diff]
    rule.refused = frozenset(p for p, r in zip(diff, refused) if r)

    def bodies():
        out = [None if p is None else return_expression(p) for p in partials]
        if any(b is None for b, p in zip(out, partials) if p is not None):
            raise ValueError(f"a partial of {rule.name} is not a lambda or a def with one return")
        return [_to_math(b) if to_math and b is not None else b for b in out]

    def adjoint(rule):
        exprs = []
        for body, p in zip(bodies(), diff):
            if body is None:
                exprs.append(None)
                continue
            e = _scaled(gast.Name("g", gast.Load(), None, None), body, set(params) | {"ans"})
            if n_diff > 1 and not to_math:
                e = S_call(gast.Name("unbroadcast", gast.Load(), None, None),
                           [e, gast.Name(p, gast.Load(), None, None)], {})
            exprs.append(e)
        return ParsedRule(rule.adjoint, ["g", "ans"] + params, exprs, _globals(primal, live[0]))

    def tangent(rule):
        found = bodies()
        exprs = [None if b is None else _scaled(gast.Name("d" + p, gast.Load(), None, None), b,
                                                 set(params) | {"ans"}) for b, p in zip(found, diff)]
        # a contribution may be narrower than the output when its partial reads neither ans nor the others
        rule.expand = n_diff > 1 and any(
            b is not None and "ans" not in _names(b) and not set(diff) - {p} <= _names(b)
            for b, p in zip(found, diff))
        return ParsedRule(rule.tangent, ["d" + p for p in diff] + ["ans"] + params, exprs,
                          _globals(primal, live[0]))
    rule.builders = {"adjoint": adjoint, "tangent": tangent}
    return rule


def _partial_params(fn: Callable, skip: int) -> tuple[list[str], dict]:
    """The primal parameters a partial or transpose takes after its first ``skip`` ones, with defaults."""
    sig = list(inspect.signature(fn).parameters.values())
    params = [p.name for p in sig[skip:]]
    defaults = {p.name: p.default for p in sig[skip:] if p.default is not inspect.Parameter.empty}
    return params, defaults


def _seeded(fn: Callable, params: list[str], n_diff: int, like: bool = True) -> ParsedRule:
    """A transpose as an adjoint rule: its own parameter names made the standard ones, g made ``_like(g, ans)``."""
    own = list(inspect.signature(fn).parameters)
    body = return_expression(fn)
    if body is None:
        raise ValueError(f"the transpose {fn.__qualname__} is not a lambda or a def with one return")
    rename = {o: gast.Name(p, gast.Load(), None, None) for o, p in zip(own, params) if o != p}
    body = _substitute(body, rename)
    seed = gast.Call(gast.Name("_like", gast.Load(), None, None),
                     [gast.Name("g", gast.Load(), None, None), gast.Name("ans", gast.Load(), None, None)], [])
    body = _substitute(body, {"g": seed}) if like else body
    return ParsedRule(fn, params, [body], ChainMap(fn.__globals__, {"_like": _like}))


def _substitute(expr, mapping: dict):
    import copy

    class Sub(gast.NodeTransformer):
        def visit_Name(self, node):
            if isinstance(node.ctx, gast.Load) and node.id in mapping:
                return copy.deepcopy(mapping[node.id])
            return node
    return Sub().visit(copy.deepcopy(expr))


def _names(expr) -> set[str]:
    return {n.id for n in gast.walk(expr) if isinstance(n, gast.Name)}


def _scaled(seed, partial, params: set[str]):
    """``seed * partial`` written as a person would: ``g / x`` for ``1.0 / x``, ``-(g * s)`` for ``-s``,
    ``g * a * b`` for ``a * b``; constant factors stay together (``g * (pi / 180.0)``)."""
    if isinstance(partial, gast.UnaryOp) and isinstance(partial.op, gast.USub):
        return gast.UnaryOp(gast.USub(), _scaled(seed, partial.operand, params))
    if isinstance(partial, gast.Constant) and partial.value == 1:
        return seed
    if not (_names(partial) & params):
        return gast.BinOp(seed, gast.Mult(), partial)
    if isinstance(partial, gast.BinOp) and isinstance(partial.op, (gast.Mult, gast.Div)):
        return gast.BinOp(_scaled(seed, partial.left, params), partial.op, partial.right)
    return gast.BinOp(seed, gast.Mult(), partial)


# np.<name> read as math.<name> in the scalar forms of elementwise rules
_MATH_NAMES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh", "arccosh": "acosh",
               "arctanh": "atanh", "arctan2": "atan2", "float_power": "pow", "power": "pow", "absolute": "fabs",
               "abs": "fabs", "fabs": "fabs", "hypot": "hypot", "deg2rad": "radians", "rad2deg": "degrees"}


def _to_math(expr):
    """``np.cos(x)`` becomes ``math.cos(x)`` (and ``np.sign(x)`` ``math.copysign(1.0, x)``) where math has it."""
    import copy
    import math

    class ToMath(gast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            f = node.func
            if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) and f.value.id == "math" \
                    and f.attr == "sign":
                return gast.Call(gast.Attribute(f.value, "copysign", gast.Load()), [gast.Constant(1.0, None)]
                                 + node.args, [])
            return node

        def visit_Attribute(self, node):
            self.generic_visit(node)
            if isinstance(node.value, gast.Name) and node.value.id == "np":
                name = _MATH_NAMES.get(node.attr, node.attr)
                if hasattr(math, name) or node.attr == "sign":
                    return gast.Attribute(gast.Name("math", gast.Load(), None, None),
                                          "sign" if node.attr == "sign" else name, gast.Load())
            return node
    return ToMath().visit(copy.deepcopy(expr))


def _reference(primal) -> gast.expr:
    """How a declared rule's generated code names the primal: ``np.flip``, ``np.linalg.pinv``, or its name."""
    import math
    import numpy as np
    name = getattr(primal, "__name__", "")
    for path, module in (("np", np), ("np.linalg", np.linalg), ("math", math)):
        if name and getattr(module, name, None) is primal:
            node = gast.Name("np" if path != "math" else "math", gast.Load(), None, None)
            if path == "np.linalg":
                node = gast.Attribute(node, "linalg", gast.Load())
            return gast.Attribute(node, name, gast.Load())
    return gast.Name(name, gast.Load(), None, None)


def _globals(primal, fn: Callable) -> ChainMap:
    """The names a declared rule's expressions may use: the declaring module's, then sct's helpers."""
    import math
    import numpy as np
    from ..runtime import unbroadcast
    fixed = {"np": np, "math": math, "unbroadcast": unbroadcast, "_like": _like}
    reference = _reference(primal)
    own = {reference.id: primal} if isinstance(reference, gast.Name) else {}
    return ChainMap(own, fn.__globals__, fixed)


def S_call(func, args, keywords: dict):
    return gast.Call(func, list(args), [gast.keyword(k, v) for k, v in keywords.items()])


def _module_lambdas(filename: str) -> dict[int, list[ast.Lambda]] | None:
    """The lambdas of a source file by the line they start on, each line's in ``ast.walk`` order (indexed
    once per content, kept by the registry: a rules module holds hundreds of them)."""
    module = _module_tree(filename)
    if module is None:
        return None
    key = ("lambdas", id(module))
    trees = REGISTRY.source_trees
    if key not in trees or trees[key][0] is not module:
        by_line: dict[int, list[ast.Lambda]] = {}
        for node in ast.walk(module):
            if isinstance(node, ast.Lambda):
                by_line.setdefault(node.lineno, []).append(node)
        trees[key] = (module, by_line)
    return trees[key][1]
