"""Pass 7 — codegen: source text, compilation, the cache.

Input: a generated ``FunctionDef`` (gast) whose statements carry ``sct_origin``.
Output: a Python function compiled from readable source text.  The text opens
with a header comment (mode, function, wrt, seed) and every block of statements
is preceded by a comment quoting the user's line it comes from.  The text is
registered with ``linecache`` so tracebacks, ``pdb`` and ``inspect.getsource``
show the generated lines — which also lets sct differentiate generated code again.
"""
from __future__ import annotations

import ast
import builtins
import copy
import dis
import hashlib
import linecache
import math
import re
import sys
import types
from typing import Any, Callable

import gast

from . import syntax as S

_COMMENT = "__sct_comment__ "
_COMMENT_LINE = re.compile(r"^(\s*)((?:'|\")(?:''|\"\")?" + re.escape(_COMMENT) + r".*)$")


def comment(text: str) -> gast.stmt:
    """A statement that renders as ``# text``."""
    return gast.Expr(value=S.const(_COMMENT + text))


def annotate(stmts: list[gast.stmt], parsed) -> list[gast.stmt]:
    """Insert ``# line N: <source>`` before each run of statements from one user line."""
    out: list[gast.stmt] = []
    previous = None
    for stmt in stmts:
        origin = S.origin_of(stmt)
        line = getattr(origin, "lineno", None)
        if line is not None and line != previous and line != parsed.node.lineno:
            text = linecache.getline(parsed.filename, line).strip()
            out.append(comment(f"line {line}: {text}"))
        if line is not None:
            previous = line
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if inner and isinstance(stmt, (gast.If, gast.For, gast.While, gast.With)):
                setattr(stmt, field, annotate(inner, parsed))
        out.append(stmt)
    return out


def _fill_empty_blocks(stmts: list[gast.stmt]) -> None:
    """Optimisation may empty a block: give it a ``pass`` (comments alone do not count)."""
    for sub in stmts:
        if isinstance(sub, (gast.If, gast.For, gast.While, gast.With, gast.FunctionDef)):
            if all(_is_comment(s) for s in sub.body):
                sub.body = sub.body + [gast.Pass()]
            if getattr(sub, "orelse", None) and all(_is_comment(s) for s in sub.orelse):
                sub.orelse = []
        for field in _BLOCKS:  # (statements sit in statement lists only)
            inner = getattr(sub, field, None)
            if inner:
                _fill_empty_blocks(inner)
        for handler in getattr(sub, "handlers", None) or ():
            _fill_empty_blocks(handler.body)


_BLOCKS = ("body", "orelse", "finalbody")


def _is_comment(stmt) -> bool:
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) \
        and isinstance(stmt.value.value, str) and stmt.value.value.startswith(_COMMENT)


def render(fn: gast.FunctionDef) -> str:
    """Python source of ``fn``, with comment markers turned into comments."""
    _fill_empty_blocks([fn])
    tree = ast.Module(body=[_to_ast(fn)], type_ignores=[])  # (ast.unparse needs no locations)
    lines = []
    for line in ast.unparse(tree).splitlines():
        match = _COMMENT_LINE.match(line)
        if match:  # (the string as ast.unparse quoted it: '...', "..." or triple quotes; read without
            # ast.literal_eval, whose closures make a reference cycle per call for the collector to find)
            text = ast.parse(match.group(2), mode="eval").body.value[len(_COMMENT):]
            line = f"{match.group(1)}# {text}"
        lines.append(line)
    return "\n".join(lines) + "\n"


class _NegativeConstants(ast.NodeTransformer):
    """A negative number (folded by a pass) as ``-(number)``: ``ast.unparse`` prints ``Constant(-1.3)``
    bare, so ``(-1.3) ** 2`` would read back as ``-(1.3 ** 2)``; a unary minus it parenthesises right."""

    def visit_Constant(self, node):
        value = node.value
        if type(value) in (int, float) and math.copysign(1, value) < 0:
            return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
        return node


def _to_ast(node):
    """``gast.gast_to_ast`` of ``node`` with each negative number written ``-(number)`` (``_NegativeConstants``),
    without locations, for ``ast.unparse``.

    Most gast nodes are their ast namesakes field for field; those are copied here (gast's own converter,
    a NodeTransformer, took a sixth of the transformation of a long function).  The others (a Name that
    is a parameter, ``arguments``, a ``def``, an ``except`` naming the exception, ...) are converted by gast,
    their statement lists emptied first and converted here.
    """
    new = _converted(node)
    if isinstance(new, ast.stmt):
        new.lineno = 1  # (ast.unparse looks a statement's type comment up by line; there are none)
    return new


def _converted(node):
    cls = node.__class__
    if cls is gast.Name and not isinstance(node.ctx, gast.Param):
        return ast.Name(node.id, _CONTEXTS[node.ctx.__class__])
    if cls is gast.Constant:
        value = node.value
        if type(value) in (int, float) and math.copysign(1, value) < 0:
            return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
        return ast.Constant(value, node.kind)
    if cls is gast.Assign:  # (gast leaves the type comment out)
        return ast.Assign(targets=[_to_ast(t) for t in node.targets], value=_to_ast(node.value))
    if cls in _SAME_FIELDS:
        return _SAME_FIELDS[cls](**{field: _to_ast_value(getattr(node, field)) for field in cls._fields
                                    if hasattr(node, field)})
    blocks = {field: getattr(node, field) for field in _BLOCKS + ("handlers",)
              if isinstance(getattr(node, field, None), list) and getattr(node, field)}  # (a lambda's body: not one)
    shell = copy.copy(node)  # (a shallow copy: the statement lists are replaced, not changed)
    for field in blocks:
        setattr(shell, field, [])
    new = _NegativeConstants().visit(gast.gast_to_ast(shell))
    for field, stmts in blocks.items():
        setattr(new, field, [_to_ast(s) for s in stmts])
    return new


def _to_ast_value(value):
    if value.__class__ is list:
        return [_to_ast(v) if isinstance(v, gast.AST) else v for v in value]
    return _to_ast(value) if isinstance(value, gast.AST) else value


_CONTEXTS = {gast.Load: ast.Load(), gast.Store: ast.Store(), gast.Del: ast.Del()}
# gast classes gast converts field by field (a Name is one unless it is a parameter; an Assign loses its type
# comment; a Constant may be a negative number, written -(number))
_SAME_FIELDS = S.plain_classes("GAstToAst3", S.COMMON_CLASSES, gast, ast)


ABSENT = object()  # marks a global name that was not defined when a program was loaded


def load(source: str, name: str, symbols: dict, user_globals: dict,
         cells: dict | None = None) -> tuple[Callable, list]:
    """Compile ``source`` (registered with linecache); the function ``name`` it defines, and its deps.

    The generated code's globals are a plain dict (CPython specialises global
    lookups only in exact dicts): sct's symbols, then every other global name the
    code reads, copied from the user's module.  The deps list those copies as
    ``(user_globals, name, object)`` so a caller can tell when one is rebound
    (``ABSENT`` for a name the module did not define yet); builtins are found
    through ``__builtins__`` as in any module.  A name the code reads that is in
    ``cells`` (the user function's closure, by name) is not copied: the function
    is made a closure over those very cells, so it reads them when it runs.
    """
    digest = hashlib.sha1(source.encode()).hexdigest()[:10]
    filename = f"<sct {name} {digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    code = compile(source, filename, "exec")  # (from the text: compiling an ast.Module costs 5x more)
    namespace = {"__name__": "sct.generated", "__builtins__": builtins, **symbols}
    reads = _global_reads(code)
    free = {n: cells[n] for n in sorted(reads & (cells or {}).keys())}
    deps = []
    for global_name in sorted(reads - namespace.keys() - free.keys()):
        if global_name in user_globals:
            namespace[global_name] = user_globals[global_name]
            deps.append((user_globals, global_name, namespace[global_name]))
        elif not hasattr(builtins, global_name):
            deps.append((user_globals, global_name, ABSENT))
    if free:
        namespace[name] = _closure(ast.parse(source, filename), name, filename, namespace, free)
    else:
        exec(code, namespace)  # noqa: S102 - this is a compiler
    return namespace[name], deps


def _closure(tree: ast.Module, name: str, filename: str, namespace: dict, cells: dict) -> Callable:
    """The function ``name`` of ``tree``, compiled as a closure over ``cells`` (the user's cell objects).

    The text is compiled inside a function whose parameters are the cells' names
    (so that the compiler makes them free variables of ``name``); that outer
    function is never run: its inner code object is bound to the cells directly.
    Line numbers are those of the text alone.
    """
    outer = ast.parse(f"def __sct_cells__({', '.join(cells)}): pass").body[0]
    outer.body = tree.body
    code = compile(ast.Module(body=[outer], type_ignores=[]), filename, "exec")
    outer_code = next(c for c in code.co_consts if hasattr(c, "co_code"))
    inner = next(c for c in outer_code.co_consts if hasattr(c, "co_code") and c.co_name == name)
    fn = types.FunctionType(inner, namespace, name, None, tuple(cells[n] for n in inner.co_freevars))
    fn.__qualname__ = name
    return fn


def _global_reads(code) -> set[str]:
    """Every name ``code`` (and the code nested in it) reads as a global (the module level's ``LOAD_NAME``:
    a default value written as a module constant, ``def f_grad(x, n=STEPS)``).

    Read off the raw bytecode (``dis.get_instructions`` builds an object per instruction: a tenth of the
    transformation of a long function): two bytes per instruction, ``EXTENDED_ARG`` prefixes widening the
    next one's argument, the inline caches of Python >= 3.11 being ``CACHE`` (opcode 0) entries.
    """
    names = set()
    raw, co_names, extended = code.co_code, code.co_names, 0
    for i in range(0, len(raw), 2):
        op = raw[i]
        if op == _EXTENDED_ARG:
            extended = (extended | raw[i + 1]) << 8
            continue
        arg, extended = extended | raw[i + 1], 0
        if op == _LOAD_GLOBAL:
            names.add(co_names[arg >> _GLOBAL_SHIFT])
        elif op == _LOAD_NAME:
            names.add(co_names[arg])
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            names |= _global_reads(const)
    return names


_EXTENDED_ARG, _LOAD_GLOBAL, _LOAD_NAME = dis.opmap["EXTENDED_ARG"], dis.opmap["LOAD_GLOBAL"], dis.opmap["LOAD_NAME"]
_GLOBAL_SHIFT = 1 if sys.version_info >= (3, 11) else 0  # (3.11: LOAD_GLOBAL's low bit says "push NULL")
