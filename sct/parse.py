"""Pass 1 — parse: a Python function object in, its gast tree and namespace out.

Input: a function defined with ``def`` whose source ``inspect`` can find.
Output: :class:`Parsed` — the ``FunctionDef`` with line and column numbers of the
user's file, the file's lines (for error messages) and a :class:`Namespace` that
resolves the function's free names (closure cells, then globals, then builtins).
The closure's values are what the passes analyse (their kinds, the functions they
hold); the cells themselves are kept so that the generated program reads them
when it runs, as the function does.  Functions defined inside it (``def``,
``lambda``) are lifted out by :mod:`sct.lift`, which this pass calls: the tree
returned has none, and its namespace holds the lifted functions.
"""
from __future__ import annotations

import ast
import builtins
import copy
import functools
import inspect
import linecache
import os
import site
import sys
import sysconfig
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

import gast

from . import syntax as S
from .errors import Location, SourceError, UnsupportedSyntaxError

_MISSING = object()


@dataclass
class Namespace:
    """The free names a function sees: closure values, then its globals, then builtins."""

    globals: dict
    closure: dict = field(default_factory=dict)  # name -> value of a filled cell, when the program was built
    cells: dict = field(default_factory=dict)  # name -> the cell itself (every free variable)

    def lookup(self, name: str, default: Any = _MISSING) -> Any:
        if name in self.closure:
            return self.closure[name]
        try:
            return self.globals[name]  # (generated code's globals fall back to the user's module)
        except KeyError:
            pass
        if hasattr(builtins, name):
            return getattr(builtins, name)
        if default is _MISSING:
            raise KeyError(name)
        return default


@dataclass
class Parsed:
    """A function ready for the compiler: its tree, where it lives, what it can see."""

    fn: Callable
    node: gast.FunctionDef
    filename: str
    namespace: Namespace

    def location(self, node: gast.AST) -> Location:
        """Where ``node`` stands in the user's file, with that line's text."""
        line = getattr(node, "lineno", None) or self.node.lineno
        col = getattr(node, "col_offset", None) or 0
        return Location(self.filename, line, col, linecache.getline(self.filename, line))


def closure_values(fn: Callable) -> dict:
    """The closure cells of ``fn`` that hold values, by name."""
    cells = fn.__closure__ or ()
    out = {}
    for name, cell in zip(fn.__code__.co_freevars, cells):
        try:
            out[name] = cell.cell_contents
        except ValueError:  # an empty cell: the name is not bound yet
            pass
    return out


def closure_cells(fn: Callable) -> dict:
    """The closure cells of ``fn`` by name (filled or not)."""
    return dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))


def _what(obj) -> str:
    """How an error describes an object sct cannot read."""
    if isinstance(obj, type):
        return "a class"
    kind = type(obj).__name__
    if kind == "ufunc":
        return "a NumPy ufunc (C code)"
    if inspect.isbuiltin(obj) or kind in ("method-wrapper", "wrapper_descriptor", "method_descriptor"):
        return "a builtin (C code)"
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _where(fn: Callable) -> Location:
    code = getattr(fn, "__code__", None)
    if code is None:
        return Location("<unknown>", 0, 0)
    return Location(code.co_filename, code.co_firstlineno, 0,
                    linecache.getline(code.co_filename, code.co_firstlineno))


# ------------------------------------------------------------------ whose source sct follows

_FOLLOWED: set[str] = set()  # installed packages whose source sct reads when your code calls them (sct.follow)


def follow(*packages: str) -> None:
    """Let sct read the source of functions in these installed packages (top-level names, ``"mylib"``).

    sct differentiates the Python source of the functions your code calls, but not
    the internals of the standard library and of installed packages
    (site-packages): a call of one that has no derivative rule, with an argument
    that depends on the inputs, is refused at your line.  Your own code installed
    as a package is followed anyway from a function of that package given to sct
    (calls within one package are followed); ``sct.follow("mylib")`` lets calls
    from anywhere into ``mylib`` be followed too.
    """
    for package in packages:
        if not isinstance(package, str) or not package or "." in package:
            raise TypeError(f"sct.follow takes top-level package names such as 'mylib'; got {package!r}")
        _FOLLOWED.add(package)


@functools.lru_cache(maxsize=None)
def _library_roots() -> tuple[str, ...]:
    """The directories holding the standard library and installed packages, deepest first."""
    paths = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            paths.add(path)
    try:
        paths.update(site.getsitepackages())
    except AttributeError:  # (an old virtualenv's site module)
        pass
    user = getattr(site, "getusersitepackages", lambda: None)()
    if user:
        paths.add(user)
    paths.add(os.path.dirname(os.__file__))  # the standard library, wherever sysconfig says it is
    return tuple(sorted({os.path.realpath(p) for p in paths}, key=len, reverse=True))


@functools.lru_cache(maxsize=4096)
def library_file(filename: str) -> str | None:
    """Where ``filename`` is, when it belongs to the standard library or an installed package:
    ``"scipy/integrate/_quadrature.py, in site-packages"``; None for a file of yours (anywhere else, an
    editable install included)."""
    if not filename or filename.startswith("<"):
        return None
    real = os.path.realpath(filename)
    parts = real.split(os.sep)
    for marker in ("site-packages", "dist-packages"):  # (a virtual environment sysconfig does not list)
        if marker in parts:
            return f"{os.sep.join(parts[len(parts) - parts[::-1].index(marker):])}, in {marker}"
    for root in _library_roots():
        if real.startswith(root + os.sep):
            return f"{os.path.relpath(real, root)}, in the standard library"
    return None


def _package(fn) -> str:
    return (getattr(fn, "__module__", None) or "").partition(".")[0]


def library_callee(callee: Callable, caller: Callable) -> str | None:
    """Where ``callee`` (a Python function that ``caller`` calls) lives, when sct does not follow it:
    library internals (the standard library, an installed package); None when sct follows it (your
    code, a package named in :func:`follow`, a function of the caller's own package, sct's own)."""
    code = getattr(callee, "__code__", None)
    where = library_file(code.co_filename) if code is not None else None
    if where is None:
        return None
    package = _package(callee)
    if package in _FOLLOWED or package == "sct" or (package and package == _package(caller)):
        return None
    return where


def parse_function(fn: Callable) -> Parsed:
    """Parse ``fn``'s source into a gast ``FunctionDef`` located in its own file, its nested functions
    lifted out (:mod:`sct.lift`)."""
    parsed = _read(fn)
    from .lift import lift  # (lift compiles functions: it needs Parsed)
    lift(parsed)
    return parsed


def _namespace(fn: Callable) -> Namespace:
    return Namespace(fn.__globals__, closure_values(fn), closure_cells(fn))


def _read(fn: Callable) -> Parsed:
    """The tree of ``fn`` as written: from its source, or, for a function sct lifted, the tree it keeps."""
    lifted = getattr(fn, "__sct_lifted__", None)
    if lifted is not None:  # a nested function sct lifted out of another (sct/lift.py)
        return Parsed(fn, S.clone(lifted.node), lifted.filename, _namespace(fn))
    name = getattr(fn, "__qualname__", repr(fn))
    if not inspect.isfunction(fn):
        raise SourceError(
            f"sct cannot read the source of {name!r}: it is {_what(fn)}, not a Python function defined with `def`",
            hint="sct differentiates Python functions, methods, functools.partial objects and objects with a "
                 "Python __call__; for a function written in C, register derivative rules "
                 "(sct.adjoint_rule, sct.tangent_rule) and call it from a def you differentiate",
        )
    try:
        # (of its code: the source of fn itself, not of what functools.wraps says it wraps, which
        # inspect would follow: a decorator's wrapper is what runs)
        lines, start = inspect.getsourcelines(fn.__code__)
    except (OSError, TypeError) as exc:
        raise SourceError(
            f"sct cannot read the source of {name!r} ({exc})", _where(fn),
            hint="define the function in a file (not at an interactive prompt or with exec), "
                 "or register a derivative rule for it",
        ) from None
    source = "".join(lines)
    dedented = textwrap.dedent(source)
    indent = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
    if fn.__name__ == "<lambda>":
        node = _lambda_def(fn, lines, start, indent)
    else:
        try:
            module = _parse(dedented)
        except SyntaxError as exc:
            raise SourceError(f"sct cannot parse the source of {name!r}: {exc.msg}", _where(fn)) from None
        node = module.body[0] if module.body else None
    if node is None or not isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)):
        raise SourceError(
            f"sct cannot tell which lambda on this line is {name!r}", _where(fn),
            hint="write it as a def, or put it on a line of its own",
        )
    for sub in S.walk(node):
        if hasattr(sub, "lineno"):
            sub.lineno += start - 1
            sub.col_offset = getattr(sub, "col_offset", 0) + indent
    node.decorator_list = []
    parsed = Parsed(fn, node, fn.__code__.co_filename, _namespace(fn))
    if isinstance(node, gast.AsyncFunctionDef):
        raise UnsupportedSyntaxError("sct cannot differentiate an `async def` function", parsed.location(node))
    return parsed


def _parse(text: str) -> gast.Module:
    """``gast.parse(text)``: the same tree, converted faster (:func:`_to_gast`)."""
    return _to_gast(ast.parse(text))


def _to_gast(node):
    """``gast.ast_to_gast(node)``, the same tree and locations.

    Most ast nodes are their gast namesakes field for field; those are copied here (gast's own converter,
    a NodeTransformer, took a third of the parse of a long function).  The others (a Name, which gains
    fields in gast; a parameter, an ``except``, a ``def`` ...) are converted by gast, their statement
    lists emptied first and converted here.
    """
    cls = node.__class__
    if cls is ast.Name:
        new = S._node(gast.Name, id=node.id, ctx=S._context(_GAST_CONTEXTS[node.ctx.__class__]), annotation=None,
                      type_comment=None)
    elif cls in _SAME_FIELDS:
        new = _SAME_FIELDS[cls](**{field: _to_gast_value(getattr(node, field)) for field in cls._fields
                                   if hasattr(node, field)})
    else:
        blocks = {field: getattr(node, field) for field in ("body", "orelse", "finalbody", "handlers")
                  if isinstance(getattr(node, field, None), list) and getattr(node, field)}
        shell = copy.copy(node)  # (a shallow copy: the statement lists are replaced, not changed)
        for field in blocks:
            setattr(shell, field, [])
        new = gast.ast_to_gast(shell)
        for field, stmts in blocks.items():
            setattr(new, field, [_to_gast(s) for s in stmts])
        return new
    for attr in node._attributes:  # (as gast copies them)
        if hasattr(node, attr):
            setattr(new, attr, getattr(node, attr))
    return new


def _to_gast_value(value):
    if value.__class__ is list:
        return [_to_gast(v) if isinstance(v, ast.AST) else v for v in value]
    return _to_gast(value) if isinstance(value, ast.AST) else value


_GAST_CONTEXTS = {ast.Load: gast.Load, ast.Store: gast.Store, ast.Del: gast.Del}
_SAME_FIELDS = S.plain_classes("Ast3ToGAst", S.COMMON_CLASSES, ast, gast)  # (ast classes gast copies as they are)


def _lambda_def(fn: Callable, lines: list[str], start: int, indent: int) -> gast.FunctionDef | None:
    """A lambda given to sct, as ``def lambda_<line>(params): return body`` (None: not found for sure).

    The lambda is the one on its code's first line with its parameters; among several alike, the one whose
    body starts where the code's first instruction does.  The lines ``inspect`` gives may cut a statement
    short, so the longest prefix that parses is used."""
    code = fn.__code__
    tree = None
    for stop in range(len(lines), 0, -1):
        text = textwrap.dedent("".join(lines[:stop]))
        # (a lambda in the header of a compound statement, `for f in (g(lambda z: z),):`, comes alone)
        for attempt in (text, text.rstrip() + "\n    pass\n"):
            try:
                tree = gast.parse(attempt)
                break
            except SyntaxError:
                continue
        if tree is not None:
            break
    if tree is None:
        return None
    line = code.co_firstlineno - start + 1
    n_params = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & inspect.CO_VARARGS) \
        + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    params = list(code.co_varnames[:n_params])
    found = [n for n in S.walk(tree) if isinstance(n, gast.Lambda) and n.lineno == line
             and [a.id for a in _all_params(n.args)] == params]
    if len(found) > 1:
        columns = {c for (ln, _, c, _) in code.co_positions() if ln == code.co_firstlineno and c is not None}
        found = [n for n in found if n.body.col_offset + indent in columns] if columns else found
    if len(found) != 1:
        return None
    node = found[0]
    new = S.function_def(f"lambda_{code.co_firstlineno}", node.args, [gast.copy_location(S.ret(node.body), node.body)])
    return gast.copy_location(new, node)


def _all_params(args: gast.arguments) -> list:
    """A signature's parameters in the order a code object lists them."""
    out = list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)
    return out + [a for a in (args.vararg, args.kwarg) if a is not None]
