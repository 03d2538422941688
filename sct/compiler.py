"""The pipeline: parse → fence → normalize → analysis → forward/reverse → optimize → codegen.

:func:`derive` turns one Python function into its tangent or adjoint program,
specialised to the kinds of its arguments (numbers, arrays, sequences), and
caches the result per function object.  Calls to other user functions are
derived recursively through the same cache; recursion (a function calling
itself) refers to the program under construction by name.
"""
from __future__ import annotations

import gc
import ast
import builtins
import inspect
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import gast
import numpy as np

from . import codegen, fence, invariants
from . import syntax as S
from .analysis import DictLoops, analyze, kind_of_value
from .rules import REGISTRY
from .context import LOCAL, Context, param_names
from .errors import TransformError
from .checkpoint import describe
from .forward import BatchedForward, Forward
from .normalize import normalize
from .optimize import (accumulate_in_place, drop_dead, fuse_temporaries, join_slice_adjoints, move_scales,
                       propagate_constants, propagate_copies, prune_empty, sink_zeros, sum_before_product)
from .parse import parse_function
from .reverse import Reverse
from .vmap import Vmap
from . import runtime

FORWARD, REVERSE = "forward", "reverse"
GRADIENT = "gradient"  # reverse mode with the result's adjoint fixed at 1.0 (what grad runs)
BATCHED = "batched"    # forward mode with B directions per sweep (a leading batch axis on every tangent)
VMAP = "vmap"          # not a derivative: the function run on B examples at once (wrt: the batched parameters)
SPLIT = "split"        # reverse mode as two programs: the forward sweep (value and a record) and the backward sweep
CALLS = (None, "joint", "split")  # how reverse mode treats calls to the user's functions (None: chosen per call)


@dataclass
class Derived:
    """A generated derivative program and what calling it takes."""

    primal: Callable
    mode: str
    wrt: tuple[str, ...]
    kinds: tuple
    name: str = ""
    tangent_names: dict[str, str] = field(default_factory=dict)
    seed_name: str | None = None
    fn: Callable | None = None
    source: str = ""
    seconds: float = 0.0
    deps: list = field(default_factory=list, repr=False)  # (globals or closure, name, object) it relies on
    checkpoint: Any = None  # reverse mode: the schedule of checkpointed loops (None: loops are taped step by step)
    calls: str | None = None  # reverse mode: calls in "joint" or "split" mode (None: split, joint where checkpointed)
    registry_version: int = -1
    # split mode: this is the forward sweep program; ``backward`` the backward sweep's, ``saved`` the names its
    # record holds (what the backward sweep reads), ``backward_params`` the parameters the backward sweep takes
    backward: "Derived | None" = field(default=None, repr=False)
    saved: tuple = ()
    backward_params: tuple = ()
    straight: bool = False  # split mode: the function has no loop and calls no function of yours

    def fresh(self) -> bool:
        """Is every global this program reads still the object it was made from, every closure cell of the
        kind (data) or object (functions) it was made for, and are the rules the same?"""
        if self.registry_version != REGISTRY.version:
            return False
        for namespace, name, obj in self.deps:  # (a loop: called at every call of the program)
            if namespace.get(name, codegen.ABSENT) is not obj:
                return False
        return True
    _waiting: list = field(default_factory=list, repr=False)  # namespaces to patch once fn exists


_CACHE: "weakref.WeakKeyDictionary[Callable, dict]" = weakref.WeakKeyDictionary()
_BUILDING = threading.RLock()  # guards _CACHE while a program is built


def derive(fn: Callable, mode: str, wrt: list[str] | tuple[str, ...], kinds: dict[str, str],
           checkpoint=None, calls: str | None = None) -> Derived:
    """The cached derivative program of ``fn`` (building it on first request).

    Thread-safe: one thread builds at a time (a re-entrant lock, since building a
    program derives the functions it calls); the others wait for the finished
    program instead of seeing the placeholder of one under construction.
    """
    with _BUILDING:
        collecting = gc.isenabled()
        if collecting:  # (the cyclic collector would re-scan the growing trees: a third of the time at 3000 statements)
            gc.disable()
        try:
            return _derive(fn, mode, wrt, kinds, checkpoint, calls)
        finally:
            if collecting:
                gc.enable()


_IN_PROGRESS: list = []  # the primal functions whose programs are being built (a call to one is recursion)


def building(fn: Callable) -> bool:
    """Is a program of ``fn`` under construction (so that a call to ``fn`` now is a recursive call)?"""
    return any(f is fn for f in _IN_PROGRESS)


def _derive(fn: Callable, mode: str, wrt, kinds: dict[str, str], checkpoint=None, calls=None) -> Derived:
    maker = getattr(fn, "__sct_source_function__", None)
    if maker is not None:  # a gradient sct made: differentiate the generated code behind it
        fn = maker(kinds)
    reverse = mode in (REVERSE, GRADIENT, SPLIT)
    per_fn = _CACHE.setdefault(fn, {})
    key = (mode, tuple(wrt), tuple(sorted(kinds.items())))
    if checkpoint is not None and reverse:
        key += (("checkpoint", checkpoint),)
    if calls is not None and reverse:
        key += (("calls", calls),)
    if key in per_fn and (per_fn[key].fn is None or per_fn[key].fresh()):
        return per_fn[key]
    derived = Derived(fn, mode, tuple(wrt), key[2], checkpoint=checkpoint if reverse else None,
                      calls=calls if reverse else None)
    per_fn[key] = derived
    _IN_PROGRESS.append(fn)
    try:
        _build(derived, dict(kinds))
    except BaseException:
        del per_fn[key]
        raise
    finally:
        _IN_PROGRESS.pop()
    return derived


def cached(fn: Callable) -> list[Derived]:
    """Every program sct has generated for ``fn``, oldest first."""
    return [d for d in _CACHE.get(fn, {}).values() if d.fn is not None]


def called_programs(derived: Derived) -> list[Derived]:
    """The generated programs ``derived`` calls, directly or not, in the order their names first appear
    (a split pair as its forward then its backward sweep); each once, ``derived`` itself not."""
    out: list[Derived] = []
    seen = {id(derived)}

    def visit(d: Derived) -> None:
        for obj in _generated_symbols(d):
            if id(obj) not in seen:
                seen.add(id(obj))
                out.append(obj)
                visit(obj)
    visit(derived)
    return out


def _generated_symbols(derived: Derived) -> list[Derived]:
    if derived.fn is None:
        return []
    namespace = derived.fn.__globals__
    found = []
    names = sorted(((n.lineno, n.col_offset), n.id) for n in ast.walk(ast.parse(derived.source))
                   if isinstance(n, ast.Name))
    for name in dict.fromkeys(n for _, n in names):
        other = getattr(namespace.get(name), "__sct_derived__", None)
        if isinstance(other, Derived) and other is not derived:
            found.append(other)
    return found


def default_kinds(fn: Callable, kinds: dict[str, str]) -> dict[str, str]:
    """Kinds for every parameter: given ones, else the default value's kind, else unknown."""
    out = {}
    for name, p in inspect.signature(fn).parameters.items():
        if name in kinds:
            out[name] = kinds[name]
        elif p.default is not inspect.Parameter.empty:
            out[name] = kind_of_value(p.default)
        else:
            out[name] = "any"
    return out


def _build(derived: Derived, kinds: dict[str, str]) -> None:
    start = time.perf_counter()
    kinds = default_kinds(derived.primal, kinds)
    parsed, ctx, body, analysis = _analyzed(derived.primal, _call_kinds(frozenset({derived.primal}), {}),
                                            list(derived.wrt), kinds)
    fn_name = parsed.node.name
    suffix = {FORWARD: "jvp", BATCHED: "jvp_batched", REVERSE: "vjp", GRADIENT: "grad", SPLIT: "fwd",
              VMAP: "vmap"}[derived.mode]
    derived.name = ctx.namer.fresh(f"{fn_name}_{suffix}")
    args = _copy_args(ctx, parsed.node.args)
    extra = []
    if derived.mode == VMAP:
        stmts = Vmap(ctx, analysis, _callee(ctx)).run(body, list(derived.wrt), param_names(parsed.node))
        stmts = _header(ctx, derived) + codegen.annotate(stmts, ctx.parsed)
    elif derived.mode in (FORWARD, BATCHED):
        derived.tangent_names = {p: ctx.namer.tangent(p) for p in derived.wrt}
        extra = list(derived.tangent_names.values())
        stmts = _forward_body(ctx, analysis, body, derived)
    elif derived.mode == SPLIT:
        derived.seed_name = ctx.namer.fresh(f"{fn_name}_bar")
        backward = derived.backward = Derived(derived.primal, SPLIT, derived.wrt, derived.kinds,
                                              checkpoint=derived.checkpoint, calls=derived.calls)
        backward.name = ctx.namer.fresh(f"{fn_name}_bwd")
        backward.seed_name = derived.seed_name
        stmts, back_node = _split_bodies(ctx, analysis, body, derived, args)
        derived.straight = not any(isinstance(n, (gast.For, gast.While)) for n in S.walk(gast.Module(body=body))) \
            and not any(op.kind == "call" for op in analysis.ops.values())
    else:
        if derived.mode == REVERSE:
            derived.seed_name = ctx.namer.fresh(f"{fn_name}_bar")
            extra = [derived.seed_name]
        stmts = _reverse_body(ctx, analysis, body, derived)
    args.kwonlyargs += [S.name(n, gast.Param) for n in extra]
    args.kw_defaults += [None] * len(extra)
    node = S.function_def(derived.name, args, stmts)
    derived.source = codegen.render(node)
    nodes = [(derived, node)]
    if derived.mode == SPLIT:
        derived.backward.source = codegen.render(back_node)
        nodes.append((derived.backward, back_node))
    if invariants.enabled():
        for made, made_node in nodes:
            invariants.check(gast.gast_to_ast(gast.Module(body=[made_node], type_ignores=[])), made.source,
                             made.name, gast.gast_to_ast(parsed.node))
    symbols = dict(ctx.symbols)
    late = {name: obj for name, obj in symbols.items() if isinstance(obj, Derived)}
    for name in late:
        symbols[name] = None
    derived.registry_version = REGISTRY.version
    if derived.mode == SPLIT:  # the backward sweep first: the forward sweep's program is the one callers test
        back = derived.backward
        back.registry_version = REGISTRY.version
        back.fn, reads = codegen.load(back.source, back.name, symbols, parsed.namespace.globals,
                                      parsed.namespace.cells)
        back.deps = list(ctx.deps) + reads + _closure_deps(parsed.namespace.cells) + _defaults_deps(parsed.fn)
        _finish(back, late)
    derived.fn, reads = codegen.load(derived.source, derived.name, symbols, parsed.namespace.globals,
                                     parsed.namespace.cells)
    derived.deps = list(ctx.deps) + reads + _closure_deps(parsed.namespace.cells) + _defaults_deps(parsed.fn)
    if derived.mode == SPLIT:
        derived.deps += derived.backward.deps
    _finish(derived, late)
    if derived.mode == SPLIT:
        _backward_defaults(derived)
    derived.seconds = time.perf_counter() - start


class _Closure:
    """A function's closure cells as one dep of its program: ``get`` answers ``FRESH`` while they still fit it.

    A cell holding data (a number, an array, a sequence, a dict, a string, None) is read
    by the program when it runs, so only the value's kind must stay the one the
    program was specialised to.  Any other object (a function the program calls,
    a module, a class, an object whose attributes it reads) was resolved when the
    program was built, so the cell must still hold that very object.  Checked at
    every call: the same object as last time costs an identity test.
    """

    def __init__(self, cells: dict):
        self.entries = []  # [cell, the value last seen, its kind (None: compare the object itself)]
        for cell in cells.values():
            value = _contents(cell)
            self.entries.append([cell, value, _cell_kind(value)])

    def get(self, _name: str, _default: Any = None) -> Any:
        for entry in self.entries:
            cell, seen, kind = entry
            value = _contents(cell)
            if value is seen and type(value) not in (list, dict):  # (a list or dict may have changed in place)
                continue
            if kind is None or _cell_kind(value) is not kind:
                return _STALE
            entry[1] = value
        return _FRESH


_FRESH, _STALE = object(), object()


def _contents(cell) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return codegen.ABSENT


_DATA = (type(None), bool, int, float, complex, str, bytes, np.number, np.bool_, np.ndarray, list, tuple, dict)


def _cell_kind(value) -> str | None:
    """The kind a data value is compared by (``None``: compare the object)."""
    if isinstance(value, _DATA):
        return kind_of_value(value)
    return None


def _closure_deps(cells: dict) -> list:
    """The deps on a function's closure (one entry for all its cells)."""
    return [(_Closure(cells), "closure", _FRESH)] if cells else []


class _Defaults:
    """A function's default values as one dep of its program: ``get`` answers ``FRESH`` while
    ``fn.__defaults__`` and ``fn.__kwdefaults__`` hold the values the program was made with (the program's
    own defaults are those values, and its text may name them: rebinding them makes it stale)."""

    def __init__(self, fn: Callable):
        self.fn = weakref.ref(fn)
        self.defaults = fn.__defaults__
        self.kwdefaults = fn.__kwdefaults__
        self.kw_values = dict(fn.__kwdefaults__ or {})  # (the dict may be changed in place)

    def get(self, _name: str, _default: Any = None) -> Any:
        fn = self.fn()
        if fn is None or fn.__defaults__ is not self.defaults:
            return _STALE
        kw = fn.__kwdefaults__
        if kw is not self.kwdefaults:
            return _STALE
        if kw and (len(kw) != len(self.kw_values)
                   or any(kw.get(k, _NO_VALUE) is not v for k, v in self.kw_values.items())):
            return _STALE
        return _FRESH


def _defaults_deps(fn: Callable) -> list:
    """The dep on a function's default values (none for a function without defaults)."""
    return [(_Defaults(fn), "defaults", _FRESH)] if fn.__defaults__ or fn.__kwdefaults__ else []


def _finish(derived: Derived, late: dict[str, Derived]) -> None:
    fn, primal = derived.fn, derived.primal
    fn.__defaults__ = primal.__defaults__
    fn.__kwdefaults__ = dict(primal.__kwdefaults__ or {}) or None
    fn.__sct_derived__ = derived
    globals_ = fn.__globals__
    for name, pending in late.items():  # recursion: the program named itself (or a caller) while unfinished
        if pending.fn is not None:
            globals_[name] = pending.fn
        else:
            pending._waiting.append((globals_, name))
    for namespace, name in derived._waiting:
        namespace[name] = fn
    derived._waiting.clear()


def _front(fn: Callable, call_kind: Callable, kinds: dict | None = None, dict_loops: frozenset = frozenset()):
    """The passes before analysis: parse, fence, normalise (``call_kind``: how calls' result kinds are found;
    ``kinds``: the parameters' kinds, which say which parameters hold a known function; ``dict_loops``: the
    loops that run over dicts, see ``analysis.DictLoops``)."""
    parsed = parse_function(fn)
    fence.check(parsed)
    ctx = Context.create(parsed)
    ctx.call_kind = call_kind
    ctx.specialise(kinds or {})
    ctx.dict_loops = dict_loops
    return parsed, ctx, normalize(ctx)


def _analyzed(fn: Callable, call_kind: Callable, wrt: list[str], kinds: dict[str, str]):
    """``_front`` and analysis; normalised again while analysis finds loops over dicts it wrote as loops
    over sequences (each round knows more of them, so this ends)."""
    dict_loops = frozenset()
    while True:
        parsed, ctx, body = _front(fn, call_kind, kinds, dict_loops)
        try:
            return parsed, ctx, body, analyze(ctx, body, wrt, kinds)
        except DictLoops as found:
            dict_loops = found.loops


def _call_kinds(calling: frozenset, memo: dict) -> Callable:
    """What a call of the user's function returns, given its arguments' kinds: the callee is analysed with
    them (kinds flow into called functions and back out, so ``s = s + helper(x)`` stays a number when the
    helper returns one).  Unknown for recursion, and for a callee sct refuses (its own build says why)."""
    def call_kind(fn, kinds: dict[str, str]) -> str:
        key = (fn, tuple(sorted(kinds.items())))
        if fn in calling:
            return "any"
        if key not in memo:
            memo[key] = "any"  # (while it is being worked out)
            try:
                kinds = default_kinds(fn, kinds)
                _, _, body, analysis = _analyzed(fn, _call_kinds(calling | {fn}, memo), [], kinds)
                memo[key] = analysis.result_kind(body)
            except TransformError:
                pass
        return memo[key]
    return call_kind


def _copy_args(ctx: Context, args: gast.arguments) -> gast.arguments:
    """The program's parameters: the function's, without annotations, with its default values.

    Python evaluated each default once, where the function was defined, perhaps in a
    scope the program cannot see (an enclosing function, a class body, a comprehension):
    the program takes the values (``fn.__defaults__``, ``fn.__kwdefaults__``), not the
    expressions.  A default written as a literal, or as a module global (or a chain of
    attributes of one) that still holds the value, keeps its text; any other reads a
    symbol bound to the value: ``def loss_grad(x, lam=lam_default)``.  (``_finish`` sets
    the program's defaults to the very values.)"""
    new = S.clone(args)
    for a in list(new.posonlyargs) + list(new.args) + list(new.kwonlyargs):
        a.annotation = None
    fn = ctx.parsed.fn
    positional = list(new.posonlyargs) + list(new.args)
    written = dict(zip([a.id for a in positional[len(positional) - len(new.defaults):]], new.defaults))
    values = fn.__defaults__ or ()  # (the last parameters', perhaps rebound since the def ran)
    firsts = positional[len(positional) - len(values):] if values else []
    new.defaults = [_default(ctx, a.id, written.get(a.id), v) for a, v in zip(firsts, values)]
    written = {a.id: d for a, d in zip(new.kwonlyargs, new.kw_defaults) if d is not None}
    kw_values = fn.__kwdefaults__ or {}
    new.kw_defaults = [_default(ctx, a.id, written.get(a.id), kw_values[a.id]) if a.id in kw_values else None
                       for a in new.kwonlyargs]
    return new


def _default(ctx: Context, param: str, written: gast.expr | None, value: Any) -> gast.expr:
    """How the program's text gives ``param`` its default ``value`` (``written``: the expression in the source)."""
    if written is not None and (_literal_of(written, value) or _global_of(ctx, written, value)):
        return written
    return ctx.symbol(value, f"{param}_default")


def _literal_of(node: gast.expr, value: Any) -> bool:
    """Is ``node`` a literal (``2.0``, ``-1``, ``None``, ``(1, 2)``) equal to ``value``, of its type?"""
    try:
        literal = ast.literal_eval(gast.gast_to_ast(S.clone(node)))
        return type(literal) is type(value) and bool(literal == value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _global_of(ctx: Context, node: gast.expr, value: Any) -> bool:
    """Is ``node`` a module global, or attributes of one (``SCALE``, ``np.pi``), that holds ``value`` itself?"""
    attrs = []
    while isinstance(node, gast.Attribute):
        attrs.insert(0, node.attr)
        node = node.value
    namespace = ctx.parsed.namespace
    if not isinstance(node, gast.Name) or node.id in namespace.cells:
        return False
    obj = namespace.globals.get(node.id, _NO_VALUE)
    if obj is _NO_VALUE:
        obj = getattr(builtins, node.id, _NO_VALUE)
    for attr in attrs:
        if obj is _NO_VALUE:
            break
        try:
            obj = getattr(obj, attr, _NO_VALUE)
        except Exception:  # (a property that raises: not a plain reference)
            return False
    return obj is value


_NO_VALUE = object()


def _callee(ctx: Context, calls: str | None = None):
    """The callback passes use to get a symbol for another function's derivative program (``calls``: the
    caller's option, passed on).  For ``SPLIT``: None when the callee is recursive (its programs are being
    built); its caller then calls it in joint mode.

    A refusal while deriving the callee (or anything it calls) is relocated to the call, ``where``, in
    this function, one more hop on its chain of calls: the error the user sees is located in the
    function they gave sct, and lists the calls down to the line refused."""
    def derive_call(callee, mode, wrt, kinds, where=None):
        if mode == SPLIT and building(callee):
            return None
        try:
            derived = derive(callee, mode, wrt, kinds, calls=calls if mode != FORWARD and mode != BATCHED else None)
        except TransformError as err:
            if where is None:
                raise
            caller = ctx.parsed.fn.__qualname__
            raise err.called_from(ctx.parsed.location(S.locate(where)), caller, _display(callee)) from None
        ctx.deps.extend(derived.deps)  # a change below the callee makes this program stale too
        if mode == SPLIT:  # (the caller takes the symbols of the two programs it uses)
            return None, derived
        target = derived.fn if derived.fn is not None else derived
        return ctx.symbol(target, derived.name or f"{callee.__name__}_{'jvp' if mode == FORWARD else 'vjp'}"), derived
    return derive_call


def _display(fn) -> str:
    """How a chain of calls names a function: its qualified name (a gradient sct made: its own name)."""
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _header(ctx: Context, derived: Derived) -> list[gast.stmt]:
    parsed = ctx.parsed
    params = ", ".join(param_names(parsed.node))
    where = f"{os.path.basename(parsed.filename)}:{parsed.node.lineno}"
    wrt = ", ".join(derived.wrt) or "nothing"
    kinds = ", ".join(f"{p} {k}" for p, k in derived.kinds if k != "any")
    lines = []
    if derived.mode == VMAP:
        lines.append(f"sct vmap (vectorised program) of {parsed.node.name}({params}), {where}")
        lines.append(f"batched in {wrt}: one example per row of a leading axis of nb examples")
        lines.append(f"returns {parsed.node.name}({params}) of every example, on a leading axis")
    elif derived.mode == FORWARD:
        tangents = ", ".join(derived.tangent_names.values())
        lines.append(f"sct forward mode (tangent program) of {parsed.node.name}({params}), {where}")
        lines.append(f"with respect to {wrt}; tangents {tangents}")
        lines.append(f"returns ({parsed.node.name}({params}), its derivative along {tangents})")
    elif derived.mode == BATCHED:
        tangents = ", ".join(derived.tangent_names.values())
        lines.append(f"sct batched forward mode (tangent program, nb directions) of {parsed.node.name}({params}), "
                     f"{where}")
        lines.append(f"with respect to {wrt}; tangents {tangents}, each with a leading axis of nb directions")
        lines.append(f"returns ({parsed.node.name}({params}), its derivatives along the nb directions)")
    elif derived.mode == SPLIT:
        bars = ", ".join(ctx.namer.adjoint(p) for p in derived.wrt)
        if derived.backward is not None:
            lines.append(f"sct reverse mode, split: the forward sweep of {parsed.node.name}({params}), {where}")
            lines.append(f"with respect to {wrt}; {derived.backward.name} runs the backward sweep")
            lines.append(f"returns ({parsed.node.name}({params}), the record {derived.backward.name} takes)")
        else:
            lines.append(f"sct reverse mode, split: the backward sweep of {parsed.node.name}({params}), {where}")
            lines.append(f"with respect to {wrt}; {derived.seed_name} is the adjoint of the result")
            lines.append(f"returns ({bars})" if len(derived.wrt) > 1 else f"returns {bars}")
    else:
        bars = ", ".join(ctx.namer.adjoint(p) for p in derived.wrt)
        if derived.mode == GRADIENT:
            lines.append(f"sct reverse mode (gradient program) of {parsed.node.name}({params}), {where}")
            lines.append(f"with respect to {wrt}; the adjoint of the result is 1.0")
        else:
            lines.append(f"sct reverse mode (adjoint program) of {parsed.node.name}({params}), {where}")
            lines.append(f"with respect to {wrt}; {derived.seed_name} is the adjoint of the result")
        lines.append(f"returns ({parsed.node.name}({params}), {bars})")
    if kinds:
        lines.append(f"specialised for {kinds}" + (" (each example's)" if derived.mode == VMAP else ""))
    free = _closure_reads(ctx)
    if free:
        lines.append(f"reads {', '.join(free)} from the closure of {parsed.fn.__qualname__} when it runs")
    if derived.checkpoint is not None:
        lines.append(f"checkpoint={describe(derived.checkpoint)}: each outermost for loop keeps snapshots, not a tape entry per step")
    if derived.calls is not None:
        lines.append(f"calls={derived.calls!r}: every call of a function of yours in {derived.calls} mode"
                     + (" (recursive calls: joint)" if derived.calls == "split" else ""))
    helpers = _helpers(ctx)
    while helpers:  # wrapped at about 100 characters
        line = "calls " + helpers.pop(0)
        while helpers and len(line) + len(helpers[0]) < 96:
            line += ", " + helpers.pop(0)
        lines.append(line + ("," if helpers else ""))
    return [codegen.comment(line) for line in lines]


def _closure_reads(ctx: Context) -> list[str]:
    """The closure variables holding data (not functions) that the function reads, in order of first read."""
    namespace = ctx.parsed.namespace
    loads = [n.id for n in S.walk(ctx.parsed.node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]
    return [n for n in dict.fromkeys(loads) if n in namespace.cells and n in namespace.closure
            and _cell_kind(namespace.closure[n]) is not None]


def _helpers(ctx: Context) -> list[str]:
    """Where the non-obvious names the program calls come from (sct's runtime, rule helpers, other programs)."""
    out = []
    for name, obj in ctx.symbols.items():
        if isinstance(obj, Derived) or getattr(obj, "__sct_derived__", None) is not None:
            out.append(f"{name} (generated)")
            continue
        module = getattr(obj, "__module__", None) or ""
        if callable(obj) and module.startswith("sct."):
            out.append(f"{name} ({module.replace('.containers', '').replace('.broadcast', '')})")
    return out


def _forward_body(ctx, analysis, body, derived) -> list[gast.stmt]:
    if derived.mode == BATCHED:
        forward = BatchedForward(ctx, analysis, _callee(ctx))
        stmts = forward.prologue(derived.wrt)
    else:
        forward, stmts = Forward(ctx, analysis, _callee(ctx)), []
    stmts = stmts + forward.parameter_tangents(derived.wrt) + forward.block(body)
    tangents = {ctx.namer.tangent(n) for n in ctx.locals | set(param_names(ctx.parsed.node))}
    stmts = propagate_copies(stmts, tangents)  # dt4 = dx: read dx
    pure = _pure_call(ctx)
    stmts, _ = drop_dead(stmts, tangents, set(), pure)
    temporaries = ctx.locals - ctx.user_locals
    temporaries |= {ctx.namer.tangent(t) for t in temporaries}
    stmts = fuse_temporaries(stmts, temporaries, set(), pure, copies_only=True)  # t12 = e; s = t12
    return _header(ctx, derived) + codegen.annotate(stmts, ctx.parsed)


def _reverse_body(ctx, analysis, body, derived) -> list[gast.stmt]:
    program, forward, backward = _reverse_sweeps(ctx, analysis, body, derived)
    release = _release(ctx, analysis, body, forward[len(program.prologue):], backward, derived)
    return (_header(ctx, derived) + [codegen.comment("-- forward sweep")] + codegen.annotate(forward, ctx.parsed)
            + release + [codegen.comment("-- backward sweep")] + codegen.annotate(backward, ctx.parsed))


def _reverse_sweeps(ctx, analysis, body, derived):
    """The adjoint program's forward sweep (prologue included) and backward sweep (ending in
    ``return (value, x_bar, ...)``), optimised, not yet annotated."""
    program = Reverse(ctx, analysis, _callee(ctx, derived.calls), derived.seed_name, derived.checkpoint,
                      derived.calls).run(body)
    adjoint_names = {ctx.namer.adjoint(n) for n in analysis.active}
    results = [program.value] + [S.name(ctx.namer.adjoint(p)) if p in analysis.active else S.const(0.0)
                                 for p in derived.wrt]
    final = S.ret(S.tuple_(results))
    adders = _symbols_for(ctx, runtime.add)
    backward = sink_zeros(program.adjoint_inits + program.backward + [final], adjoint_names, adders)
    backward = propagate_copies(backward, adjoint_names | ({derived.seed_name} if derived.seed_name else set()))
    backward = propagate_constants(backward, adjoint_names)  # the gradient program's seed, 1.0
    recomputed = ctx.locals - ctx.user_locals  # temporaries the backward sweep recomputes, when nobody reads them
    backward, _ = drop_dead(backward, adjoint_names | recomputed, set(), _pure_call(ctx))
    backward = prune_empty(backward)
    protected = _live(backward)  # what the backward sweep reads before writing
    temporaries = ctx.locals - ctx.user_locals
    temporary_adjoints = {ctx.namer.adjoint(t) for t in temporaries if t in analysis.active}
    backward = fuse_temporaries(backward, temporaries | temporary_adjoints, set(), _pure_call(ctx))
    narrowing = _symbols_for(ctx, runtime.unbroadcast)
    backward = move_scales(backward, _symbols_for(ctx, runtime.unreduce, runtime.expand), narrowing)
    products = {name: n for fn, n in REGISTRY.narrowing_helpers().items() for name in _symbols_for(ctx, fn)}
    backward = sum_before_product(backward, products, narrowing, adjoint_names)
    backward = accumulate_in_place(backward, _symbols_for(ctx, runtime.add_at),
                                   lambda: ctx.symbol(runtime.add_into, "add_into"))
    backward = join_slice_adjoints(backward, _symbols_for(ctx, runtime.add_into), _symbols_for(ctx, np),
                                   lambda: ctx.symbol(runtime.join_slices, "join_slices"),
                                   lambda: ctx.symbol(runtime.join_items, "join_items"), ctx.namer.fresh)
    fused = fuse_temporaries(program.forward, temporaries, protected, _pure_call(ctx))
    return program, program.prologue + fused, backward


def _split_bodies(ctx, analysis, body, derived, args: gast.arguments):
    """Split mode: the forward sweep as one program returning ``(value, record)``, the backward sweep as
    another taking the record (the values its statements read that the forward sweep made: temporaries,
    the tape, parameters the function rebinds), the parameters it reads, and the result's adjoint.

    The record holds what the backward sweep reads before writing it, so nothing else outlives the
    forward sweep; an array it reads only for its shape is kept as ``shape_only`` (no data)."""
    back = derived.backward
    program, forward, backward = _reverse_sweeps(ctx, analysis, body, derived)
    final = backward[-1]
    bars = final.value.elts[1:]
    final.value = bars[0] if len(bars) == 1 else S.tuple_(bars)  # the backward sweep returns the adjoints only
    params = param_names(ctx.parsed.node)
    live = _live(backward)
    made = set().union(*map(S.stores, forward)) if forward else set()
    order = _first_stores(forward)
    saved = sorted((n for n in live if n in made and n != derived.seed_name),
                   key=lambda n: (order.get(n, len(order)), n))
    taken = [p for p in params if p in live and p not in made]
    derived.saved = back.saved = tuple(saved)
    derived.backward_params = back.backward_params = tuple(taken)
    shape_read = set()
    for stmt in backward:
        shape_read |= _shape_reads(ctx, stmt)
    value_read = _value_reads(backward, shape_read)
    record = ctx.namer.fresh("saved")
    kept = []
    for n in saved:
        if n not in value_read and analysis.kinds.get(n) not in ("scalar",):
            kept.append(S.call(S.clone(ctx.symbol(runtime.shape_only, "shape_only")), [S.name(n)]))
        else:
            kept.append(S.name(n))
    unset = [n for n in saved if n not in _certainly_bound(forward) and n not in params]
    inits = [S.assign(n, S.const(None)) for n in unset]  # (bound on some paths only: None on the others)
    what = ", ".join(saved) or "nothing"
    fwd = (_header(ctx, derived) + [codegen.comment("-- forward sweep")] + codegen.annotate(inits + forward, ctx.parsed)
           + [codegen.comment(f"what {back.name} reads: {what}"),
              S.ret(S.tuple_([S.clone(program.value), S.tuple_(kept)]))])
    unpack = []
    if saved:
        target = S.tuple_([S.store(n) for n in saved], gast.Store) if len(saved) > 1 else \
            S.tuple_([S.store(saved[0])], gast.Store)
        unpack = [codegen.comment(f"what {derived.name} saved"), S.assign(target, S.name(record))]
    back_body = (_header(ctx, back) + unpack + [codegen.comment("-- backward sweep")]
                 + codegen.annotate(backward, ctx.parsed))
    back_args = _backward_args(args, taken, record if saved else None, derived.seed_name)
    return fwd, S.function_def(back.name, back_args, back_body)


def _live(stmts) -> set[str]:
    """The names ``stmts`` read before writing them.  (``drop_dead`` with no names to drop: it drops
    nothing, and gives each compound statement a new list of the same statements, so it needs no copy.)"""
    return drop_dead(stmts, set(), set())[1]


def _first_stores(stmts) -> dict[str, int]:
    order: dict[str, int] = {}
    for stmt in stmts:
        for node in S.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                order.setdefault(node.id, len(order))
    return order


def _certainly_bound(stmts) -> set[str]:
    """Names a top-level assignment of ``stmts`` binds (bound whatever path the code takes)."""
    out = set()
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            out |= S.stores(stmt)
    return out


def _backward_args(args: gast.arguments, taken: list[str], record: str | None, seed: str) -> gast.arguments:
    """The backward sweep's parameters: the record first (if it reads any), then the primal's parameters it
    reads (their kinds and defaults as in the primal), the result's adjoint keyword-only."""
    new = S.clone(args)
    positional = list(new.posonlyargs) + list(new.args)
    defaults = dict(zip([a.id for a in positional[len(positional) - len(new.defaults):]], new.defaults))
    new.posonlyargs = [a for a in new.posonlyargs if a.id in taken]
    new.args = [a for a in new.args if a.id in taken]
    kept = [(a, d) for a, d in zip(new.kwonlyargs, new.kw_defaults) if a.id in taken]
    new.kwonlyargs = [a for a, _ in kept] + [S.name(seed, gast.Param)]
    new.kw_defaults = [d for _, d in kept] + [None]
    new.vararg = new.kwarg = None
    positional = list(new.posonlyargs) + list(new.args)
    tail = []
    for a in reversed(positional):  # the defaults of the last positional parameters, as in the primal
        if a.id not in defaults:
            break
        tail.insert(0, defaults[a.id])
    new.defaults = tail
    if record is None:
        return new
    head = S.name(record, gast.Param)
    if new.posonlyargs:
        new.posonlyargs.insert(0, head)
    else:
        new.args.insert(0, head)
    return new


def _backward_defaults(derived: Derived) -> None:
    """The backward sweep's defaults: the primal's, for the parameters it takes."""
    fn, primal = derived.backward.fn, derived.primal
    signature = inspect.signature(primal)
    values = {n: p.default for n, p in signature.parameters.items() if p.default is not p.empty}
    code = fn.__code__
    positional = code.co_varnames[:code.co_argcount]
    tail = []
    for n in reversed(positional):
        if n not in values:
            break
        tail.insert(0, values[n])
    fn.__defaults__ = tuple(tail) or None
    kwonly = code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
    fn.__kwdefaults__ = {n: values[n] for n in kwonly if n in values} or None


def _symbols_for(ctx: Context, *objects) -> set[str]:
    """The names the generated code uses for these helpers."""
    return {name for name, obj in ctx.symbols.items() if any(obj is o for o in objects)}


def _pure_call(ctx: Context):
    """Calls the forward sweep may move: functions with a derivative rule or declared non-differentiable."""
    from .rules import REGISTRY

    def pure(call: gast.Call) -> bool:
        if not isinstance(call.func, (gast.Name, gast.Attribute)):
            return False
        obj = ctx.resolve(call.func)
        if obj is None or isinstance(obj, type(LOCAL)):
            return False
        return REGISTRY.lookup(obj) is not None or REGISTRY.is_nondiff(obj)
    return pure


def _release(ctx, analysis, body, forward, backward, derived) -> list[gast.stmt]:
    """Free, before the backward sweep, the arrays it does not need, so its peak memory stays low.

    An array the backward sweep never reads is deleted (``del``); one it reads
    only for its shape (``unbroadcast(g, x)``) is replaced by a stand-in of that
    shape holding no data (``shape_only``).  Only names bound once at the top
    level (so certainly bound) that may hold arrays; numbers cost nothing to keep.
    """
    top = [t.id for stmt in body if isinstance(stmt, gast.Assign) for t in stmt.targets if isinstance(t, gast.Name)]
    params = set(param_names(ctx.parsed.node))
    names = [n for n in dict.fromkeys(top) if n not in params and analysis.kinds.get(n) not in ("scalar",)]
    if not names:
        return []  # (numbers only, say: nothing to count or look up)
    counts: dict[str, int] = {}
    for stmt in forward:
        for n in S.stores(stmt):
            counts[n] = counts.get(n, 0) + 1
    nested = set().union(*(S.stores(s) for s in forward if not isinstance(s, gast.Assign)))  # in loops, branches
    names = [n for n in names if counts.get(n) == 1 and n not in nested]
    if not names:
        return []
    read, shape_read = set(), set()
    for stmt in backward:
        read |= S.loads(stmt)
        shape_read |= _shape_reads(ctx, stmt)
    unread = [n for n in names if n not in read]
    value_read = _value_reads(backward, shape_read)
    shapes = [n for n in names if n in read and n not in value_read]
    out = []
    if unread:
        out += [codegen.comment("values the backward sweep does not read"),
                gast.Delete(targets=[S.name(n, gast.Del) for n in unread])]
    if shapes:
        helper = ctx.symbol(runtime.shape_only, "shape_only")
        out.append(codegen.comment("values the backward sweep reads only for their shapes"))
        out += [S.assign(n, S.call(S.clone(helper), [S.name(n)])) for n in shapes]
    return out


def _shape_reads(ctx, stmt) -> set[int]:
    """The ids of the Name nodes in ``stmt`` that sit where a helper reads only a shape and dtype."""
    found = set()
    for node in S.walk(stmt):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
            info = REGISTRY.helper_info(ctx.symbols.get(node.func.id))  # shape-only arguments are declared there
            for where in info.shape_args if info else ():
                if len(node.args) > where and isinstance(node.args[where], gast.Name):
                    found.add(id(node.args[where]))
    return found


def _value_reads(stmts, shape_read: set[int]) -> set[str]:
    """Names the statements read for their values (every load not in ``shape_read``)."""
    names = set()
    for stmt in stmts:
        for node in S.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and id(node) not in shape_read:
                names.add(node.id)
    return names
