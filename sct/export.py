"""The derivative as a file: :func:`export` writes a program sct generated as a module that imports only NumPy.

The file holds, in this order: a header (what it computes, from which source file
and revision, with which options, the command that regenerates it), the imports
(``numpy``, ``math``, other standard-library modules the code names), the
constants the programs read from your module, the derivative programs (the root
one first, then the programs of the functions it calls — the same text
:func:`sct.source` prints), your plain functions the programs call, and the
source of the sct helpers they call (:mod:`sct.exportable` lists those).  It runs
where sct is not installed.  Anything that cannot be written out as source (an
object from another library, a closure, a value without a literal form) raises
:class:`~sct.errors.ExportError` naming it.  A closure variable holding data, which
the program reads at each call, is written out with the value it has at export
(commented as such).
"""
from __future__ import annotations

import ast
import builtins
import dis
import hashlib
import inspect
import math
import os
import shlex
import sys
import textwrap
import types
from typing import Any, Callable, Mapping, Sequence

import gast
import numpy as np

from . import exportable
from .analysis import ANY, ARRAY, DICT, EMPTY_SEQ, RECORD, SCALAR, SEQ, SEQ_OF_SCALARS, SEQ_OF_SEQS, is_kind
from .compiler import BATCHED, FORWARD, GRADIENT, REVERSE, Derived, derive
from .errors import ArgumentError, ExportError
from .parse import closure_values

MODES = {"reverse": GRADIENT, "vjp": REVERSE, "forward": FORWARD, "batched": BATCHED}
KINDS = (SCALAR, ARRAY, SEQ, SEQ_OF_SCALARS, SEQ_OF_SEQS, EMPTY_SEQ, DICT, RECORD, ANY)  # (and seq[K], dict{...}, record{...})
_ABSENT = object()
_MAX_ARRAY = 10_000  # elements of a module-level array written into the file as a literal
_NAMESPACES = (("numpy", np), ("numpy.linalg", np.linalg), ("math", math))


def export(fn: Callable, path: str | os.PathLike | None = None, *, mode: str = "reverse",
           wrt: int | str | Sequence[int | str] = 0, example_args: Sequence | Mapping | None = None,
           kinds: Mapping[str, str] | None = None, command: str | None = None, calls: str | None = None) -> str:
    """Write the derivative program of ``fn`` as a stand-alone Python module; return its text.

    ``mode`` is ``"reverse"`` (the gradient program ``f_grad(...) -> (f, x_bar, ...)``),
    ``"vjp"`` (``f_vjp(..., *, f_bar)``, an explicit output seed) or ``"forward"``
    (the tangent program ``f_jvp(..., *, dx, ...)``).  The program is specialised
    like a call's: to the kinds of ``example_args`` (a tuple of positional
    arguments or a dict by name), or to ``kinds`` given directly
    (``{"x": "array", "n": "scalar"}``), else to arguments of unknown kind.
    ``fn`` may also be a function sct made (``sct.grad(f, wrt=...)``): its primal,
    ``wrt``, mode and ``calls`` are used.  ``calls`` (reverse mode): how calls of your functions are
    differentiated, as for :func:`sct.grad` (the split mode's programs, a forward and a backward sweep per
    function called, are written too).  With ``path``, the text is written there too.
    The module imports only ``numpy`` (and standard-library modules such as
    ``math``): it runs where sct is not installed.
    """
    from .api import _Spec, _target

    target = _target(fn)
    if target.args or target.keywords:
        marker = getattr(target.fn, "__sct_spec__", None)
        function = (marker[0].fn if marker else target.fn).__qualname__
        raise ExportError(f"sct.export writes a program of every parameter of a function; {target.describe()} "
                          f"binds some of them",
                          hint=f"export the function itself, sct.export({function}, wrt=...): its program takes "
                               f"every parameter ({'self' if target.kind != 'partial' else 'those the partial binds'}"
                               f" too)")
    primal, wrt, mode, calls = _unwrap(target.fn, wrt, mode, calls)
    if mode not in MODES:
        raise ArgumentError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    spec = _Spec.of(primal, wrt, calls=calls if mode != "forward" else None)
    kind_map = _kinds(spec, example_args, kinds)
    derived = derive(primal, MODES[mode], spec.wrt, kind_map, calls=spec.calls)
    module = _Module()
    module.program(derived)
    text = _render(module, derived, mode, spec.wrt, kind_map, command, spec.calls)
    if path is not None:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    return text


def _unwrap(fn, wrt, mode, calls):
    marker = getattr(fn, "__sct_spec__", None)
    if marker is None:
        return fn, wrt, mode, calls
    spec, role, made_mode = marker
    if role not in ("grad", "value_and_grad", "jvp", "vjp"):
        raise ArgumentError(f"sct.export writes one program; a {role} runs several sweeps (or programs): "
                            f"export the primal with mode='forward' or 'reverse' instead")
    mode = {GRADIENT: "reverse", REVERSE: "vjp", FORWARD: "forward"}[made_mode]
    return spec.fn, spec.wrt, mode, spec.calls if calls is None else calls


def _kinds(spec, example_args, kinds) -> dict[str, str]:
    if example_args is not None and kinds is not None:
        raise ArgumentError("give example_args or kinds, not both")
    if example_args is not None:
        if isinstance(example_args, Mapping):
            bound = spec.bind((), dict(example_args))
        else:
            bound = spec.bind(tuple(example_args), {})
        return spec.kinds(bound)
    out = {}
    for name, kind in (kinds or {}).items():
        if name not in spec.signature.parameters:
            raise ArgumentError(f"kinds names {name!r}, which is no parameter of {spec.fn.__name__}{spec.signature}")
        if kind not in KINDS and not is_kind(kind):
            raise ArgumentError(f"kind {kind!r} of {name!r} is not one of {', '.join(KINDS)}, "
                                f"seq[K], dict{{'key': K, ...}} or record{{'field': K, ...}}")
        out[name] = kind
    return out


# ---------------------------------------------------------------- collecting what the file needs

class _Module:
    """The names the exported module binds, and the text that binds each."""

    def __init__(self):
        self.bound: dict[str, Any] = {}
        self.why: dict[str, str] = {}
        self.imports: set[str] = set()
        self.constants: list[str] = []
        self.programs: list[Derived] = []
        self.functions: list[tuple[Callable, str]] = []
        self.helpers: list[tuple[str, str]] = []   # (dotted name, source)
        self.aliases: list[str] = []
        self.closure_of: dict[str, str] = {}  # closure variable -> the function whose closure it is in

    def program(self, derived: Derived, name: str | None = None) -> None:
        """Add a program (and what it reads), defined as ``name`` (its own name unless that is taken)."""
        if any(d is derived for d, _ in self.programs):
            return
        name = name or derived.name
        self.programs.append((derived, name))
        self.bound[name] = derived.fn
        self.why[name] = "a generated program"
        code = compile(derived.source, f"<{derived.name}>", "exec")
        closure = closure_values(derived.fn)  # read at each call by the program; written out as it is now
        for name in closure:
            self.closure_of.setdefault(name, derived.primal.__qualname__)
        namespaces = (closure, derived.fn.__globals__, getattr(derived.primal, "__globals__", {}))
        for read in sorted(_reads(code) - {derived.name}):
            self.bind(read, _lookup(read, namespaces, derived.name), derived.name)
        if derived.name in _reads(derived.fn.__code__):  # recursion: its own name must mean itself here
            self.bind(derived.name, _lookup(derived.name, namespaces, derived.name), derived.name)

    def bind(self, name: str, obj: Any, who: str) -> None:
        if name in self.bound:
            if self.bound[name] is obj or _same_code(self.bound[name], obj):
                return
            raise ExportError(f"the exported module needs the name {name!r} for two different objects: "
                              f"{_describe(self.bound[name])} ({self.why[name]}) and {_describe(obj)} "
                              f"(read by {who})", hint=f"rename one of them in your code")
        self.bound[name] = obj
        self.why[name] = f"read by {who}"
        self._define(name, obj, who)

    def _define(self, name: str, obj: Any, who: str) -> None:
        if getattr(builtins, name, _ABSENT) is obj:
            return
        derived = getattr(obj, "__sct_derived__", None)
        if isinstance(derived, Derived):
            if any(d is derived for d, _ in self.programs):
                return self.aliases.append(f"{name} = {next(n for d, n in self.programs if d is derived)}")
            if derived.name in self.bound:  # two programs of one function (other wrt or kinds): rename this one
                return self.program(derived, name)
            return self._alias(name, derived.name, obj, who, lambda: self.program(derived))
        if isinstance(obj, types.ModuleType):
            return self._import(name, obj, who)
        dotted = exportable.dotted_name(obj)
        if dotted is not None:
            own = dotted.rsplit(".", 1)[1]
            return self._alias(name, own, obj, who, lambda: self._helper(dotted, obj))
        where = _library_path(obj)
        if where is not None:
            module, attr = where
            self.imports.add(f"from {module} import {attr}" + (f" as {name}" if attr != name else ""))
            return
        own = getattr(obj, "__name__", None)
        if isinstance(own, str) and getattr(builtins, own, _ABSENT) is obj:  # a builtin under another name
            self.aliases.append(f"{name} = {own}")
            return
        if isinstance(obj, types.FunctionType):
            if hasattr(obj, "__sct_spec__"):
                raise ExportError(f"{who} calls {name}, a function sct made; export that one separately")
            return self._alias(name, obj.__name__, obj, who, lambda: self._function(obj, who))
        literal = self._literal(obj, name, who)
        if name in self.closure_of:  # the program reads it at each call; the file holds today's value
            literal += f"  # closure variable of {self.closure_of[name]}: its value when exported"
        self.constants.append(f"{name} = {literal}")

    def _alias(self, name, own, obj, who, define) -> None:
        if own == name:
            define()
        else:
            self.bind(own, obj, who)
            self.aliases.append(f"{name} = {own}")

    def _import(self, name: str, module: types.ModuleType, who: str) -> None:
        root = module.__name__.split(".")[0]
        if root != "numpy" and root not in sys.stdlib_module_names:
            raise ExportError(f"{who} reads the module {module.__name__} (as {name!r}); an exported file "
                              f"imports only numpy and the standard library")
        if module.__name__ == name:
            self.imports.add(f"import {name}")
        else:
            self.imports.add(f"import {module.__name__} as {name}")

    def _helper(self, dotted: str, obj: Any) -> None:
        module_name, own = dotted.rsplit(".", 1)
        module = sys.modules[module_name]
        if callable(obj):
            text = _function_source(obj, dotted)
            reads, namespace = _reads(obj.__code__), obj.__globals__
        else:
            text = _assignment_source(module, own)
            reads, namespace = _reads(compile(text, dotted, "exec")) - {own}, vars(module)
        self.helpers.append((dotted, text))
        for name in sorted(reads):
            self.bind(name, _lookup(name, (namespace,), dotted), dotted)

    def _function(self, fn: types.FunctionType, who: str) -> None:
        if fn.__closure__:
            raise ExportError(f"{who} calls {fn.__qualname__}, a closure; an exported file can only hold "
                              f"module-level functions", hint="move it to module level")
        try:
            text = _function_source(fn, fn.__qualname__)
        except (OSError, TypeError):
            raise ExportError(f"{who} calls {fn.__qualname__}, whose source sct cannot read") from None
        self.functions.append((fn, text))
        for name in sorted(_reads(fn.__code__)):
            self.bind(name, _lookup(name, (fn.__globals__,), fn.__qualname__), fn.__qualname__)

    def _literal(self, obj: Any, name: str, who: str) -> str:
        text = _literal_text(obj)
        if text is None:
            raise ExportError(f"{who} reads {name!r}, {_describe(obj)}, which sct cannot write into a file",
                              hint="pass it as an argument, or make it a number, string, tuple or small array")
        if isinstance(obj, (np.ndarray, np.generic)):
            self.bind("np", np, f"the constant {name}")
        if "float(" in text and "float" in self.bound and self.bound["float"] is not float:
            raise ExportError(f"the constant {name} needs the builtin float, which your code rebinds")
        return text


def _lookup(name: str, namespaces, who: str):
    for namespace in namespaces:
        if name in namespace:
            return namespace[name]
    if hasattr(builtins, name):
        return getattr(builtins, name)
    raise ExportError(f"{who} reads {name!r}, which is not defined")


def _reads(code) -> set[str]:
    """Every global (or module-level) name ``code`` and the code nested in it load."""
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _reads(const)
    return names


def _same_code(a, b) -> bool:
    """Two helpers that do the same thing (``_is_zero`` is defined in two rule modules)."""
    if not (isinstance(a, types.FunctionType) and isinstance(b, types.FunctionType)):
        return False
    ca, cb = a.__code__, b.__code__
    return (ca.co_code, ca.co_consts, ca.co_names, a.__defaults__) == \
        (cb.co_code, cb.co_consts, cb.co_names, b.__defaults__)


def _library_path(obj) -> tuple[str, str] | None:
    """``("numpy", "cos")`` for ``np.cos``: where a NumPy or ``math`` object can be imported from."""
    name = getattr(obj, "__name__", None)
    if not isinstance(name, str) or isinstance(obj, types.ModuleType):
        return None
    for module_name, module in _NAMESPACES:
        try:
            if getattr(module, name, _ABSENT) is obj:
                return module_name, name
        except Exception:  # noqa: BLE001 - deprecated NumPy attributes may raise
            continue
    return None


def _function_source(fn, what: str) -> str:
    """The source of a module-level function, without decorators."""
    lifted = getattr(fn, "__sct_lifted__", None)
    if lifted is not None:  # a nested function sct lifted out (sct/lift.py): the lifted def, captured first
        return ast.unparse(gast.gast_to_ast(lifted.node)) + "\n"
    text = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(text)
    node = tree.body[0]
    if len(tree.body) != 1 or not isinstance(node, ast.FunctionDef) or node.name != fn.__name__:
        raise ExportError(f"the source of {what} is not a plain function definition")
    if node.decorator_list:
        if any(not isinstance(d, ast.Call) or getattr(d.func, "id", "") not in ("adjoint_rule", "tangent_rule")
               for d in node.decorator_list):
            raise ExportError(f"{what} is decorated; an exported file holds undecorated functions only")
        text = "\n".join(text.splitlines()[node.lineno - 1:]) + "\n"  # a rule called as a function
    return text


def _assignment_source(module, name: str) -> str:
    tree = ast.parse(inspect.getsource(module))
    source = inspect.getsource(module)
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            return ast.get_source_segment(source, node) + "\n"
    raise ExportError(f"sct.exportable lists {module.__name__}.{name}, which is no module-level assignment")


def _literal_text(obj) -> str | None:
    if obj is None or isinstance(obj, (bool, int, str, bytes)):
        return repr(obj)
    if type(obj) is float:
        return repr(obj) if math.isfinite(obj) else f"float({str(obj)!r})"
    if type(obj) is complex:
        return repr(obj)
    if isinstance(obj, (tuple, list)):
        items = [_literal_text(v) for v in obj]
        if any(i is None for i in items):
            return None
        inner = ", ".join(items) + ("," if isinstance(obj, tuple) and len(items) == 1 else "")
        return f"({inner})" if isinstance(obj, tuple) else f"[{inner}]"
    if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        items = [_literal_text(v) for v in obj.values()]
        if any(i is None for i in items):
            return None
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(obj, items)) + "}"
    if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
        return f"np.{obj.dtype.name}({_literal_text(obj.item())})"
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "biuf" and obj.size <= _MAX_ARRAY:
        values = _literal_text(obj.tolist())
        return f"np.array({values}, dtype=np.{obj.dtype.name}).reshape({obj.shape!r})"
    return None


def _describe(obj) -> str:
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    module = getattr(obj, "__module__", None)
    name = f"{module}.{name}" if name and isinstance(module, str) else name
    kind = type(obj).__name__
    return f"the {kind} {name}" if name else f"a {kind}"


# ---------------------------------------------------------------- the text

def _render(module: _Module, root: Derived, mode: str, wrt, kinds: dict, command: str | None,
            calls: str | None = None) -> str:
    parts = [_header(module, root, mode, wrt, kinds, command, calls)]
    parts.append("\n".join(["from __future__ import annotations", ""]  # (helpers' annotations stay unevaluated)
                           + sorted(i for i in module.imports if i.startswith("import "))
                           + sorted(i for i in module.imports if i.startswith("from "))) + "\n")
    if module.constants:
        parts.append("# values the programs read from the module they were made from\n"
                     + "\n".join(module.constants) + "\n")
    parts += [_renamed(d, name) for d, name in module.programs]
    if module.functions:
        parts.append("# -- functions of yours the programs call (their source, unchanged)\n")
        parts += [text for _, text in module.functions]
    if module.helpers:
        parts.append("# -- sct's helpers the programs call (their source, from sct "
                     f"{_version()}; listed in sct/exportable.py)\n")
        order = list(exportable.HELPERS)
        for dotted, text in sorted(module.helpers, key=lambda h: order.index(h[0])):
            parts.append(f"# {dotted}\n{text}")
    if module.aliases:
        parts.append("# names the programs use for the functions above\n" + "\n".join(module.aliases) + "\n")
    return "\n\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def _renamed(derived: Derived, name: str) -> str:
    """The program's text, defined as ``name`` (a second program of one function gets its caller's name)."""
    if name == derived.name:
        return derived.source
    first, rest = derived.source.split("\n", 1)
    return first.replace(f"def {derived.name}(", f"def {name}(", 1) + "\n" + rest


def _header(module: _Module, root: Derived, mode: str, wrt, kinds: dict, command: str | None,
            calls: str | None = None) -> str:
    primal = root.primal
    filename = inspect.getsourcefile(primal) or "<unknown>"
    shown = os.path.relpath(filename) if not os.path.relpath(filename).startswith("..") else filename
    line = primal.__code__.co_firstlineno
    what = {"reverse": "gradient (reverse mode)", "vjp": "vector-Jacobian product (reverse mode)",
            "forward": "Jacobian-vector product (forward mode)",
            "batched": "Jacobian-vector products along nb directions at once (batched forward mode)"}[mode]
    comments = []
    for text in root.source.splitlines()[1:]:  # the program's own header comment
        if not text.strip().startswith("# "):
            break
        comments.append(text.strip()[2:])
    comments = [c for c in comments if not c.startswith(("line ", "-- ", "calls ", "split: "))]
    revisions = ", ".join(dict.fromkeys(f"{d.primal.__name__} {_revision(d.primal)}" for d, _ in module.programs
                                        if d.primal is not primal))
    kind_text = ", ".join(f"{k}={v}" for k, v in kinds.items()) or "none given (any kind)"
    if command is None:
        command = f"python -m sct {shown}:{primal.__qualname__} --wrt {','.join(wrt)} --mode {mode}"
        if kinds:
            command += f" --kinds {shlex.quote(','.join(f'{k}={v}' for k, v in kinds.items()))}"
        if calls:
            command += f" --calls {calls}"
    lines = [f"{root.name}: the {what} of {primal.__qualname__}, written by sct {_version()}.",
             "",
             *comments,
             "",
             f"Source: {shown}:{line}, function {primal.__qualname__}, revision {_revision(primal)}",
             "  (the first 12 hex digits of the SHA-256 of the function's source text)"]
    if revisions:
        lines.append(f"Also differentiated: {revisions}")
    lines += [f"Options: mode={mode}, wrt={','.join(wrt)}, kinds: {kind_text}" + (f", calls={calls}" if calls else ""),
              f"Regenerate: {command}",
              "",
              "Imports only numpy and the standard library: runs where sct is not installed.",
              "Generated code: do not edit, regenerate."]
    body = "\n".join(lines).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return f'"""{body}\n"""\n'


def _revision(fn) -> str:
    try:
        text = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return "unknown"
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _version() -> str:
    return sys.modules["sct"].__version__
