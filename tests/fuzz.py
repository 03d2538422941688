"""Random user-style programs: a seeded generator and an oracle for sct as a whole.

::

    python -m tests.fuzz --n 10000 --seed 1 [--mode both|forward|reverse] [--show-failures K] [--shrink]
    python -m tests.fuzz --seed 1 --index 17          # one program: source, arguments, outcome per mode

Program ``i`` of a run with seed ``S`` comes from ``random.Random(S * 1_000_003 + i)`` (its source and its
arguments), so a failure is reproduced from ``(seed, index)`` alone.

**The generator** writes a module: ``import math``, ``import numpy as np``, a few constant arrays, zero to
three helper functions and ``def f(x, ...)`` with one to three parameters, each a float or a small float
array ((2,), (3,), (2, 3)), returning a number.  Bodies mix what users write: straight-line NumPy and
``math`` code, broadcasting, reductions with ``axis=``/``keepdims``, ``np.mean``/``np.var``/``np.std``,
``np.where``, ``np.maximum``, ``@``; overwrites in loops and branches, branch tests on variables the
branch changes, ``for`` over ranges, arrays and lists (``enumerate``, ``zip``), ``while`` with a counter,
nested loops, ``break``/``continue``/early ``return``, loop indices read after their loop, helper calls
(keyword defaults, tuple results, recursion, a helper writing into its argument), lists built with
``append`` or comprehensions and indexed, indexed writes into arrays the function made, views
(``q.T``, ``q.reshape(-1)``, ``q[1:]``) with and without writes through them, ``+=``/``*=``.
Values stay in a safe domain (``np.log(1.0 + a ** 2)``, ``np.sqrt(a ** 2 + 0.5)``, ``a / (1.0 + b ** 2)``,
``np.exp(np.sin(a))``, loop updates squashed by ``tanh``/``0.5 *``); the generator never writes into the
caller's arguments or the module's constants.  Each program records the *features* it uses, so failures
can be grouped by construct.

**The oracle**, per program and mode: (a) the value from ``sct.value_and_grad`` equals ``f(*args)``;
(b) the caller's arguments are unchanged; (c) the gradient matches central finite differences (taken at
two step sizes; where they disagree with each other the point is near a kink or jump and another point
is drawn, and if none is smooth the comparison is skipped); (d) a second call gives the same answer
(the cached program) and leaves ``f`` unchanged; and with both modes, forward and reverse agree.
Outcomes: ``ok``, ``refused:<TransformError subclass>``, ``wrong`` (a numeric or state mismatch),
``crash:<exception>`` (sct raised anything else, or ran out of time, although ``f`` runs) and
``primal-error`` (``f`` itself fails on the inputs: a generator bug, discarded).

:func:`run` is what ``tests/test_fuzz.py`` calls; :func:`shrink` reduces a failing program to a few
lines by deleting statements and replacing expressions with their parts while the failure persists.
"""
from __future__ import annotations

import argparse
import ast
import copy
import importlib.util
import linecache
import math
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

import numpy as np

import sct

# ============================================================================ shapes and variables

SCALAR: tuple = ()
VECTOR_SHAPES = [(2,), (3,)]
MATRIX_SHAPES = [(2, 3), (3, 2), (2, 2), (3, 3)]
FLAT = (6,)  # what reshape(-1) makes of a (2, 3) or (3, 2) array
ARRAY_SHAPES = VECTOR_SHAPES + MATRIX_SHAPES + [FLAT]
PARAM_SHAPES = [(), (), (3,), (2, 3), (2,)]  # drawn uniformly: floats twice as often
PARAM_NAMES = ["x", "y", "z"]

FLOAT, INT, ARRAY, LIST = "float", "int", "array", "list"
READ_ONLY = "read-only"  # a root no generated code may write into: an argument, a constant, a helper's result

LOCAL_NAMES = ["a", "b", "c", "d", "e", "g", "h", "p", "q", "r", "s", "t", "u", "v", "w",
               "acc", "tmp", "out", "res", "val", "cur", "prev", "tot"]
INDEX_NAMES = ["i", "j", "k", "m", "n"]
LIST_NAMES = ["ys", "zs", "vals", "terms", "parts", "items"]
ELEMENT_NAMES = ["el", "row", "item", "xi", "yi", "wi"]


def operand_shapes(shape: tuple) -> list[tuple]:
    """Shapes that broadcast against ``shape`` without changing it (a number, itself, a matrix's row)."""
    out = [SCALAR, shape]
    if len(shape) == 2:
        out.append(shape[1:])
    return out


def shape_text(shape: tuple) -> str:
    return str(shape[0]) if len(shape) == 1 else f"({shape[0]}, {shape[1]})"


@dataclass(frozen=True)
class Var:
    """A variable the generated code may read at this point.

    ``roots`` names the storage an array (or a list's arrays) may share: two variables with a common
    root are aliases (a view, a plain ``a = b``); a root of an argument or constant is read-only.
    ``size`` bounds an int (its values lie in ``range(size)``) and is a list's length.
    """

    name: str
    kind: str
    shape: tuple = ()
    roots: frozenset = frozenset()
    size: int = 0

    @property
    def writable(self) -> bool:
        return self.kind in (ARRAY, LIST) and not any(r == READ_ONLY for r in self.roots)


@dataclass(frozen=True)
class Expr:
    """Source text of an expression; ``roots`` as for :class:`Var` (empty: a fresh value)."""

    text: str
    roots: frozenset = frozenset()
    atom: bool = True  # needs no parentheses as an operand

    def op(self) -> str:
        return self.text if self.atom else f"({self.text})"


def compound(text: str) -> Expr:
    return Expr(text, atom=False)


Env = dict  # name -> Var


def merge(before: Env, *afters: Env) -> Env:
    """The variables after a block: those defined before it, with any aliasing the block may have added."""
    out = {}
    for name, var in before.items():
        roots, size = set(var.roots), var.size
        for after in afters:
            other = after.get(name)
            if other is not None:
                roots |= other.roots
                size = max(size, other.size)
        out[name] = replace(var, roots=frozenset(roots), size=size)
    return out


@dataclass(frozen=True)
class Ctx:
    """Where a statement goes: its indentation, the innermost loop, what ``return`` must give back."""

    indent: int = 1
    loop: str | None = None        # "for" or "while" when break/continue may appear
    nest: int = 0                  # compound statements around this one
    returns: tuple | None = None   # shapes of the function's result(s); None: no early return here
    in_loop: bool = False          # inside any loop (updates of outer variables are squashed)

    def deeper(self, loop: str | None = None, jumps: bool = True) -> "Ctx":
        return replace(self, indent=self.indent + 1, nest=self.nest + 1,
                       loop=(loop or self.loop) if jumps else None,
                       returns=self.returns if jumps else None,
                       in_loop=self.in_loop or loop is not None)


@dataclass
class Helper:
    """A module-level function the main function (or a later helper) may call."""

    name: str
    kind: str                       # "plain", "pair", "recursive", "mutating"
    params: list[tuple[str, tuple]]
    results: list[tuple]            # shapes of what it returns (two for "pair", none for "mutating")
    default: str | None = None      # name of a float parameter with a default value
    fresh: bool = True              # its array results never alias its arguments


# ============================================================================ the generator

class ModuleWriter:
    """State shared by the functions of one generated module: randomness, constants, features."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.features: set[str] = set()
        self.constants: dict[tuple, str] = {}
        self.constant_values: dict[str, list] = {}

    def tag(self, feature: str) -> None:
        self.features.add(feature)

    def constant(self, shape: tuple) -> str:
        """The name of a module-level constant array of this shape (made on first use)."""
        if shape not in self.constants:
            name = "C" + "".join(str(d) for d in shape)
            values = [round(self.rng.uniform(0.1, 1.0) * self.rng.choice((-1, 1)), 3)
                      for _ in range(int(np.prod(shape)))]
            self.constants[shape] = name
            self.constant_values[name] = np.reshape(values, shape).tolist()
        return self.constants[shape]

    def constant_lines(self) -> list[str]:
        return [f"{name} = np.array({values})" for name, values in sorted(self.constant_values.items())]


class Writer:
    """Writes one function: statements into ``lines``, tracking the variables they define."""

    def __init__(self, module: ModuleWriter, params: list[Var], helpers: list[Helper], budget: int):
        self.m = module
        self.rng = module.rng
        self.helpers = helpers
        self.budget = budget                   # statements left to write
        self.lines: list[str] = []
        self.used = {p.name for p in params} | {h.name for h in helpers}
        self.active: list[str] = []            # loop indices and counters of the enclosing loops

    # ------------------------------------------------------------------ small utilities

    def emit(self, ctx: Ctx, text: str) -> None:
        self.lines.append("    " * ctx.indent + text)

    def fresh(self, pool: list[str]) -> str:
        for name in pool:
            if name not in self.used:
                self.used.add(name)
                return name
        k = 1
        while f"{pool[0]}{k}" in self.used:
            k += 1
        self.used.add(f"{pool[0]}{k}")
        return f"{pool[0]}{k}"

    def root(self) -> frozenset:
        """A new storage root (for a freshly made array)."""
        return frozenset({f"#{len(self.lines)}.{self.rng.random()}"})

    def literal(self, low: float = -1.5, high: float = 1.5) -> Expr:
        value = 0.0
        while abs(value) < 0.05:
            value = round(self.rng.uniform(low, high), 2)
        return Expr(repr(value), atom=value > 0)

    def choose(self, options: list[tuple[float, Callable]], *args):
        """Try the productions in weighted random order; the first that applies (not None) wins."""
        options = list(options)
        while options:
            k = self.rng.choices(range(len(options)), [w for w, _ in options])[0]
            result = options[k][1](*args)
            if result is not None:
                return result
            options.pop(k)
        raise AssertionError("no production applies")

    @staticmethod
    def of(env: Env, kind: str, shape: tuple | None = None) -> list[Var]:
        return [v for v in env.values() if v.kind == kind and (shape is None or v.shape == shape)]

    def index(self, env: Env, length: int) -> str:
        """An index valid for an axis of this length: an int variable in range, or a literal."""
        ints = [v for v in self.of(env, INT) if v.size <= length]
        if ints and self.rng.random() < 0.6:
            var = self.rng.choice(ints)
            if var.name not in self.active:
                self.m.tag("index-after-loop")
            return var.name
        return str(self.rng.randrange(-length, length))

    def array_shape(self, env: Env) -> tuple:
        """A shape for a new array: mostly one the function already uses."""
        existing = [v.shape for v in self.of(env, ARRAY)]
        if existing and self.rng.random() < 0.6:
            return self.rng.choice(existing)
        return self.rng.choice(VECTOR_SHAPES + MATRIX_SHAPES)

    # ------------------------------------------------------------------ expressions

    def expr(self, env: Env, shape: tuple, depth: int) -> Expr:
        if shape == SCALAR:
            return self.scalar(env, depth)
        return self.array(env, shape, depth)

    def fresh_expr(self, env: Env, shape: tuple, depth: int) -> Expr:
        """An expression whose value shares no storage (a new array or a number)."""
        e = self.expr(env, shape, depth)
        if e.roots:
            fn = "np.tanh" if shape else "math.tanh"
            e = Expr(f"{fn}({e.text})")
        return e

    def bounded(self, env: Env, shape: tuple, depth: int) -> Expr:
        """An expression of this shape whose magnitude stays below about 1 (for loop updates)."""
        e = self.expr(env, shape, depth)
        ns = "np" if shape or self.rng.random() < 0.3 else "math"
        return Expr(self.rng.choice([f"{ns}.tanh({e.text})", f"{ns}.sin({e.text})", f"{ns}.cos({e.text})"]))

    # scalars

    def scalar(self, env: Env, depth: int) -> Expr:
        if depth <= 0:
            return self.scalar_leaf(env, depth)
        return self.choose([
            (3, self.scalar_leaf), (4, self.s_binop), (1.5, self.s_div), (2, self.s_unary),
            (2, self.s_safe), (1, self.s_kink), (3, self.s_reduce), (1, self.s_dot), (2, self.s_index),
            (0.5, self.s_ifexp), (1.5, self.s_helper), (0.7, self.s_list), (0.3, self.s_float),
        ], env, depth)

    def scalar_leaf(self, env: Env, depth: int) -> Expr:
        """A float variable, an element or total of an array, an int loop index, or a literal."""
        floats, ints, arrays = self.of(env, FLOAT), self.of(env, INT), self.of(env, ARRAY)
        kind = self.rng.choices(["float", "array", "int", "literal"],
                                [6 * bool(floats), (2 if floats else 6) * bool(arrays), bool(ints), 1.2])[0]
        if kind == "float":
            return Expr(self.rng.choice(floats).name)
        if kind == "array":
            var = self.rng.choice(arrays)
            if self.rng.random() < 0.5:
                return Expr(f"{self.rng.choice(['np.sum', 'np.mean'])}({var.name})")
            self.m.tag("index-read")
            return Expr(f"{var.name}[{', '.join(self.index(env, n) for n in var.shape)}]")
        if kind == "int":
            var = self.rng.choice(ints)
            if var.name not in self.active:
                self.m.tag("index-after-loop")
            return self.rng.choice([Expr(f"float({var.name})"), compound(f"0.5 * {var.name}"),
                                    compound(f"{var.name} + 1")])
        return self.literal()

    def s_binop(self, env, depth):
        a, b = self.scalar(env, depth - 1), self.scalar(env, depth - 1)
        return compound(f"{a.op()} {self.rng.choice('+-*')} {b.op()}")

    def s_div(self, env, depth):
        a, b = self.scalar(env, depth - 1), self.scalar(env, depth - 1)
        return compound(self.rng.choice([f"{a.op()} / (1.0 + {b.op()} ** 2)",
                                         f"{a.op()} / (2.0 + math.cos({b.text}))",
                                         f"{a.op()} / (1.5 + np.tanh({b.text}))"]))

    def s_unary(self, env, depth):
        a = self.scalar(env, depth - 1)
        fn = self.rng.choice(["math.sin", "math.cos", "math.tanh", "math.atan", "np.sin", "np.tanh", "-"])
        return compound(f"-{a.op()}") if fn == "-" else Expr(f"{fn}({a.text})")

    def s_safe(self, env, depth):
        a = self.scalar(env, depth - 1)
        self.m.tag("smooth-math")
        return self.rng.choice([
            Expr(f"math.exp(math.sin({a.text}))"), Expr(f"math.exp(-{a.op()} ** 2)"),
            Expr(f"math.log(1.0 + {a.op()} ** 2)"), Expr(f"math.sqrt({a.op()} ** 2 + 0.5)"),
            Expr(f"math.log1p({a.op()} ** 2)"), compound(f"{a.op()} ** 2"), compound(f"{a.op()} ** 3"),
            Expr(f"pow({a.text}, 2)"), compound(f"({a.op()} ** 2 + 1.0) ** 0.5"),
            Expr(f"math.hypot({a.text}, 0.5)"), Expr(f"np.exp(np.sin({a.text}))"),
        ])

    def s_kink(self, env, depth):
        a, b = self.scalar(env, depth - 1), self.scalar(env, depth - 1)
        self.m.tag("abs-max-min")
        return Expr(self.rng.choice([f"abs({a.text})", f"max({a.text}, {b.text})", f"min({a.text}, {b.text})"]))

    def s_reduce(self, env, depth):
        shape = self.array_shape(env)
        a = self.array(env, shape, depth - 1)
        options = [f"np.sum({a.text})", f"np.sum({a.text})", f"np.mean({a.text})", f"{a.op()}.sum()",
                   f"{a.op()}.mean()", f"np.var({a.text})", f"np.std({a.op()} + {self.m.constant(shape)})",
                   f"np.max({a.text})", f"np.min({a.text})", f"np.linalg.norm({a.op()} + {self.m.constant(shape)})"]
        if len(shape) == 1:
            options += [f"sum({a.text})"]
        if self.rng.random() < 0.05:
            options = [f"np.prod({a.text})"]
        text = self.rng.choice(options)
        self.m.tag("reduction")
        if "var" in text or "std" in text or "mean" in text:
            self.m.tag("mean-var-std")
        return Expr(text)

    def s_dot(self, env, depth):
        shape = self.rng.choice(VECTOR_SHAPES)
        a, b = self.array(env, shape, depth - 1), self.array(env, shape, depth - 1)
        self.m.tag("matmul")
        return self.rng.choice([compound(f"{a.op()} @ {b.op()}"), Expr(f"np.dot({a.text}, {b.text})")])

    def s_index(self, env, depth):
        arrays = self.of(env, ARRAY)
        if not arrays:
            return None
        var = self.rng.choice(arrays)
        self.m.tag("index-read")
        if len(var.shape) == 1:
            return Expr(f"{var.name}[{self.index(env, var.shape[0])}]")
        i, j = self.index(env, var.shape[0]), self.index(env, var.shape[1])
        return Expr(self.rng.choice([f"{var.name}[{i}, {j}]", f"{var.name}[{i}][{j}]"]))

    def s_ifexp(self, env, depth):
        a, b = self.scalar(env, depth - 1), self.scalar(env, depth - 1)
        self.m.tag("conditional-expression")
        return compound(f"{a.op()} if {self.condition(env)} else {b.op()}")

    def s_helper(self, env, depth):
        return self.helper_expr(env, SCALAR, depth)

    def s_list(self, env, depth):
        lists = [v for v in self.of(env, LIST) if v.shape == SCALAR]
        if not lists:
            return None
        var = self.rng.choice(lists)
        self.m.tag("list-read")
        return self.rng.choice([Expr(f"sum({var.name})"), Expr(f"{var.name}[{self.index(env, var.size)}]"),
                                Expr(f"{var.name}[-1]"), Expr(f"np.sum({var.name})")])

    def s_float(self, env, depth):
        return Expr(f"float({self.scalar(env, depth - 1).text})")

    # arrays

    def array(self, env: Env, shape: tuple, depth: int) -> Expr:
        if depth <= 0:
            return self.array_leaf(env, shape, depth)
        return self.choose([
            (3, self.array_leaf), (4, self.a_binop), (1.5, self.a_div), (2, self.a_unary), (2, self.a_safe),
            (1.2, self.a_kink), (1.5, self.a_matmul), (1.5, self.a_reduce_axis), (0.8, self.a_keepdims),
            (1.5, self.a_slice), (1, self.a_transpose), (0.8, self.a_reshape), (1, self.a_build),
            (0.6, self.a_fill), (0.4, self.a_ifexp), (1, self.a_helper),
        ], env, shape, depth)

    def array_leaf(self, env: Env, shape: tuple, depth: int) -> Expr:
        vars_ = self.of(env, ARRAY, shape)
        if vars_ and self.rng.random() < 0.85:
            var = self.rng.choice(vars_)
            return Expr(var.name, var.roots)
        # no variable of this shape (or not this time): make one from the variables there are
        derived = [production for production, applies in [
            (self.a_transpose, len(shape) == 2 and self.of(env, ARRAY, shape[::-1])),
            (self.a_slice, any(self.slice_texts({}, v.shape, shape) for v in self.of(env, ARRAY))),
            (self.a_reduce_axis, len(shape) == 1 and any(len(v.shape) == 2 and shape[0] in v.shape
                                                         for v in self.of(env, ARRAY))),
            (self.a_reshape, shape in ((2, 3), (3, 2), FLAT) and any(v.shape in ((2, 3), (3, 2), FLAT)
                                                                      for v in self.of(env, ARRAY))),
        ] if applies]
        if derived and self.rng.random() < 0.6:
            result = self.rng.choice(derived)(env, shape, 1)
            if result is not None:
                return result
        const = self.m.constant(shape)
        smaller = [v for s in operand_shapes(shape) if s != shape for v in self.of(env, ARRAY, s)]
        smaller += self.of(env, FLOAT)
        if smaller:
            self.m.tag("broadcast")
            return compound(f"{self.rng.choice(smaller).name} * {const}")
        arrays = self.of(env, ARRAY)
        if arrays:
            return compound(f"np.sum({self.rng.choice(arrays).name}) * {const}")
        return Expr(const, frozenset({READ_ONLY}))

    def a_binop(self, env, shape, depth):
        a = self.array(env, shape, depth - 1)
        other = self.rng.choice(operand_shapes(shape))
        b = self.expr(env, other, depth - 1)
        if other != shape:
            self.m.tag("broadcast")
        if self.rng.random() < 0.5:
            a, b = b, a
        return compound(f"{a.op()} {self.rng.choice('+-*')} {b.op()}")

    def a_div(self, env, shape, depth):
        a = self.array(env, shape, depth - 1)
        b = self.expr(env, self.rng.choice(operand_shapes(shape)), depth - 1)
        return compound(self.rng.choice([f"{a.op()} / (1.0 + {b.op()} ** 2)",
                                         f"{a.op()} / (2.0 + np.cos({b.text}))"]))

    def a_unary(self, env, shape, depth):
        a = self.array(env, shape, depth - 1)
        fn = self.rng.choice(["np.sin", "np.cos", "np.tanh", "np.arctan", "np.square", "-"])
        return compound(f"-{a.op()}") if fn == "-" else Expr(f"{fn}({a.text})")

    def a_safe(self, env, shape, depth):
        a = self.array(env, shape, depth - 1)
        self.m.tag("smooth-math")
        return self.rng.choice([
            Expr(f"np.exp(np.sin({a.text}))"), Expr(f"np.exp(-{a.op()} ** 2)"),
            Expr(f"np.log(1.0 + {a.op()} ** 2)"), Expr(f"np.log1p({a.op()} ** 2)"),
            Expr(f"np.sqrt({a.op()} ** 2 + 0.5)"), compound(f"{a.op()} ** 2"), compound(f"{a.op()} ** 3"),
            Expr(f"np.power({a.text}, 2)"), Expr(f"np.hypot({a.text}, 0.5)"),
        ])

    def a_kink(self, env, shape, depth):
        a = self.array(env, shape, depth - 1)
        b = self.expr(env, self.rng.choice(operand_shapes(shape)), depth - 1)
        text = self.rng.choice([
            f"np.maximum({a.text}, {b.text})", f"np.minimum({a.text}, {b.text})", f"np.abs({a.text})",
            f"np.where({a.op()} > {b.op()}, {a.text}, {b.text})",
            f"np.where({a.op()} > {self.literal(-0.5, 0.5).text}, {a.text}, 0.5 * {b.op()})",
            f"np.clip({a.text}, -0.8, 0.8)"])
        self.m.tag("where" if "where" in text else "abs-max-min")
        return Expr(text)

    def a_matmul(self, env, shape, depth):
        if shape == FLAT:
            return None
        k = self.rng.choice([2, 3])
        if len(shape) == 1:
            left, right = self.rng.choice([((shape[0], k), (k,)), ((k,), (k, shape[0]))])
        else:
            left, right = (shape[0], k), (k, shape[1])
        a, b = self.array(env, left, depth - 1), self.array(env, right, depth - 1)
        self.m.tag("matmul")
        return self.rng.choice([compound(f"{a.op()} @ {b.op()}"), Expr(f"np.dot({a.text}, {b.text})"),
                                Expr(f"np.matmul({a.text}, {b.text})")])

    def a_reduce_axis(self, env, shape, depth):
        if len(shape) != 1 or shape == FLAT:
            return None
        m = self.rng.choice([2, 3])
        source, axis = self.rng.choice([((shape[0], m), 1), ((m, shape[0]), 0)])
        a = self.array(env, source, depth - 1)
        if self.rng.random() < 0.2:
            axis = axis - 2  # -1 or -2
        fn = self.rng.choice(["np.sum", "np.sum", "np.mean", "np.var", "np.max", "np.min", "std", "method"])
        self.m.tag("axis")
        if fn == "std":
            self.m.tag("mean-var-std")
            return Expr(f"np.std({a.op()} + {self.m.constant(source)}, axis={axis})")
        if fn == "method":
            return Expr(f"{a.op()}.{self.rng.choice(['sum', 'mean'])}(axis={axis})")
        if fn in ("np.mean", "np.var"):
            self.m.tag("mean-var-std")
        return Expr(f"{fn}({a.text}, axis={axis})")

    def a_keepdims(self, env, shape, depth):
        a = self.array_leaf(env, shape, 0)
        axis = "" if len(shape) == 1 else f"axis={self.rng.choice([0, 1, -1])}, "
        self.m.tag("keepdims")
        return compound(self.rng.choice([
            f"{a.op()} - np.mean({a.text}, {axis}keepdims=True)",
            f"{a.op()} / (1.0 + np.sum({a.op()} ** 2, {axis}keepdims=True))",
            f"{a.op()} - np.max({a.text}, {axis}keepdims=True)",
            f"{a.op()} * np.std({a.op()} + {self.m.constant(shape)}, {axis}keepdims=True)",
        ]))

    def slice_texts(self, env: Env, source: tuple, target: tuple) -> list[str]:
        """Basic indexing of an array of shape ``source`` that gives shape ``target`` (a view)."""
        def part(full: int, want: int) -> list[str]:
            if want == full:
                return [":"]
            out = [f"{full - want}:", f":{want}", f"-{want}:"]
            if len(range(0, full, 2)) == want:
                out.append("::2")
            if len(range(1, full, 2)) == want:
                out.append("1::2")
            return out if want < full else []

        if len(source) == 1 and len(target) == 1 and target[0] <= source[0]:
            return [p for p in part(source[0], target[0]) if p != ":"] or ([":"] if source == target else [])
        if len(source) == 2 and len(target) == 1:
            out = []
            if source[1] == target[0]:
                out.append(self.index(env, source[0]))
            if source[0] == target[0]:
                out.append(f":, {self.index(env, source[1])}")
            return out
        if len(source) == 2 and len(target) == 2 and target[0] <= source[0] and target[1] <= source[1]:
            if target == source:
                return []
            rows, cols = part(source[0], target[0]), part(source[1], target[1])
            r, c = self.rng.choice(rows), self.rng.choice(cols)
            return [r if c == ":" else f"{r}, {c}"]
        return []

    def a_slice(self, env, shape, depth):
        sources = [v for v in self.of(env, ARRAY) if self.slice_texts({}, v.shape, shape)]
        if not sources:
            return None
        var = self.rng.choice(sources)
        text = self.rng.choice(self.slice_texts(env, var.shape, shape))
        self.m.tag("slice")
        if var.shape == (3,) and shape == (2,) and self.rng.random() < 0.2:
            return Expr(f"{var.name}[[0, 2]]")  # integer-array indexing: a copy
        return Expr(f"{var.name}[{text}]", var.roots)

    def a_transpose(self, env, shape, depth):
        if len(shape) != 2:
            return None
        a = self.array(env, shape[::-1], depth - 1)
        self.m.tag("transpose")
        return Expr(self.rng.choice([f"{a.op()}.T", f"np.transpose({a.text})", f"{a.op()}.transpose()"]),
                    a.roots)

    def a_reshape(self, env, shape, depth):
        if shape == FLAT:
            a = self.array(env, self.rng.choice([(2, 3), (3, 2)]), depth - 1)
            text = self.rng.choice([f"{a.op()}.reshape(-1)", f"np.ravel({a.text})", f"{a.op()}.ravel()",
                                    f"np.reshape({a.text}, -1)", f"{a.op()}.flatten()"])
        elif shape in ((2, 3), (3, 2)):
            a = self.array(env, self.rng.choice([FLAT, shape[::-1]]), depth - 1)
            text = self.rng.choice([f"{a.op()}.reshape({shape[0]}, {shape[1]})",
                                    f"np.reshape({a.text}, {shape})"])
        else:
            return None
        self.m.tag("reshape")
        return Expr(text, frozenset() if "flatten" in text else a.roots)

    def a_build(self, env, shape, depth):
        if len(shape) == 1 and shape != FLAT:
            lists = [v for v in self.of(env, LIST) if v.shape == SCALAR and v.size == shape[0]]
            if lists and self.rng.random() < 0.5:
                self.m.tag("list-read")
                return Expr(f"np.array({self.rng.choice(lists).name})")
            items = ", ".join(self.scalar(env, min(depth - 1, 1)).text for _ in range(shape[0]))
            return Expr(f"np.array([{items}])")
        if shape == FLAT:
            a, b = self.array(env, (3,), depth - 1), self.array(env, (3,), depth - 1)
            return Expr(f"np.concatenate([{a.text}, {b.text}])")
        lists = [v for v in self.of(env, LIST) if v.shape == shape[1:] and v.size == shape[0]]
        if lists and self.rng.random() < 0.5:
            self.m.tag("list-read")
            return Expr(f"{self.rng.choice(['np.array', 'np.stack'])}({self.rng.choice(lists).name})")
        if self.rng.random() < 0.5:
            a, b = self.array(env, shape[:1], depth - 1), self.array(env, shape[1:], depth - 1)
            return Expr(f"np.outer({a.text}, {b.text})")
        rows = ", ".join(self.array(env, shape[1:], min(depth - 1, 1)).text for _ in range(shape[0]))
        return Expr(f"{self.rng.choice(['np.stack', 'np.array', 'np.vstack'])}([{rows}])")

    def a_fill(self, env, shape, depth):
        s = self.scalar(env, depth - 1)
        small = self.expr(env, self.rng.choice(operand_shapes(shape)), depth - 1)
        self.m.tag("broadcast")
        return self.rng.choice([compound(f"np.ones({shape_text(shape)}) * {s.op()}"),
                                Expr(f"np.full({shape_text(shape)}, {s.text})"),
                                compound(f"np.zeros({shape_text(shape)}) + {small.op()}")])

    def a_ifexp(self, env, shape, depth):
        a, b = self.array(env, shape, depth - 1), self.array(env, shape, depth - 1)
        self.m.tag("conditional-expression")
        return Expr(f"({a.op()} if {self.condition(env)} else {b.op()})", a.roots | b.roots)

    def a_helper(self, env, shape, depth):
        return self.helper_expr(env, shape, depth)

    # calls, conditions

    def helper_args(self, env: Env, helper: Helper, depth: int) -> str:
        args = [self.expr(env, shape, max(depth - 1, 0)).text for _, shape in helper.params]
        if helper.kind == "recursive":
            args.append(str(self.rng.randint(1, 3)))
        if helper.default and self.rng.random() < 0.5:
            args.append(f"{helper.default}={self.literal(0.2, 1.2).text}")
            self.m.tag("keyword-argument")
        return ", ".join(args)

    def helper_expr(self, env: Env, shape: tuple, depth: int) -> Expr | None:
        helpers = [h for h in self.helpers if h.kind in ("plain", "recursive") and h.results[0] == shape]
        if not helpers:
            return None
        helper = self.rng.choice(helpers)
        self.m.tag("helper-call")
        if helper.kind == "recursive":
            self.m.tag("recursion")
        return Expr(f"{helper.name}({self.helper_args(env, helper, depth)})",
                    frozenset() if helper.fresh else frozenset({READ_ONLY}))

    def condition(self, env: Env, around: str | None = None) -> str:
        """A test for ``if``/``while``/``np.where``-free branches: always a number-valued comparison."""
        def simple() -> str:
            ints = self.of(env, INT)
            r = self.rng.random()
            if ints and r < 0.25:
                i = self.rng.choice(ints).name
                return self.rng.choice([f"{i} % 2 == 0", f"{i} == {self.rng.randint(0, 2)}", f"{i} > 0"])
            subject = around or self.scalar(env, self.rng.choice([0, 1])).op()
            if r < 0.55:
                return f"{subject} {self.rng.choice(['>', '<', '>=', '<='])} {self.literal(-0.8, 0.8).text}"
            if r < 0.75:
                return f"{subject} > {self.scalar(env, 1).op()}"
            if r < 0.85:
                return f"{self.literal(-1.0, -0.1).text} < {subject} < {self.literal(0.1, 1.0).text}"
            arrays = self.of(env, ARRAY)
            if arrays:
                a = self.rng.choice(arrays).name
                return f"np.{self.rng.choice(['sum', 'max', 'mean'])}({a}) > {self.literal(-0.8, 0.8).text}"
            return f"{subject} > 0.0"

        r = self.rng.random()
        if r < 0.12:
            return f"{simple()} and {simple()}"
        if r < 0.2:
            return f"{simple()} or {simple()}"
        if r < 0.25:
            return f"not {simple()}"
        return simple()

    # ------------------------------------------------------------------ statements

    def block(self, env: Env, ctx: Ctx, count: int) -> Env:
        """Write ``count`` statements (at least one); stop after a statement that cannot fall through."""
        for k in range(count):
            if k > 0 and self.budget <= 0:
                break
            env = self.statement(env, ctx)
        return env

    def statement(self, env: Env, ctx: Ctx) -> Env:
        self.budget -= 1
        options = [
            (4, self.st_assign), (4, self.st_overwrite), (2, self.st_augassign), (2, self.st_index_write),
            (1, self.st_view), (0.6, self.st_copy), (0.5, self.st_list_write), (1, self.st_helper_call),
            (0.4, self.st_swap),
        ]
        if ctx.nest < 2 and self.budget > 0:
            options += [(2.5, self.st_if), (2, self.st_for_range), (1.2, self.st_for_iter), (0.6, self.st_while),
                        (1, self.st_build_array), (1, self.st_build_list)]
        if ctx.loop or ctx.returns is not None:
            options.append((1.2 if ctx.loop else 0.5, self.st_jump))
        return self.choose(options, env, ctx)

    def new_var(self, env: Env, name: str, shape: tuple, e: Expr) -> Env:
        env = dict(env)
        kind = FLOAT if shape == SCALAR else ARRAY
        env[name] = Var(name, kind, shape, (e.roots or self.root()) if kind == ARRAY else frozenset())
        if kind == ARRAY and e.roots:
            self.m.tag("alias-or-view")
        return env

    def st_assign(self, env, ctx):
        shape = SCALAR if self.rng.random() < 0.35 else self.array_shape(env)
        e = self.expr(env, shape, self.rng.randint(1, 3))
        name = self.fresh(LOCAL_NAMES)
        self.emit(ctx, f"{name} = {e.text}")
        return self.new_var(env, name, shape, e)

    def targets(self, env: Env) -> list[Var]:
        return [v for v in env.values() if v.kind in (FLOAT, ARRAY)]

    def st_overwrite(self, env, ctx, var: Var | None = None):
        """Rebind a variable to a new value, usually computed from the old one."""
        if var is None:
            targets = self.targets(env)
            if not targets:
                return None
            var = self.rng.choice(targets)
        n, shape = var.name, var.shape
        ns = "np" if shape else self.rng.choice(["np", "math"])
        if ctx.in_loop:  # squashed, so that repeated updates stay small; always a fresh value
            e = self.expr(env, shape, self.rng.randint(1, 2))
            small = self.expr(env, self.rng.choice(operand_shapes(shape)), 1)
            text = self.rng.choice([f"{ns}.tanh({e.text})", f"0.5 * {n} + {ns}.sin({small.text})",
                                    f"{n} * {ns}.cos({small.text})", f"{ns}.sin({n} + {small.op()})"])
            e = compound(text)
        elif self.rng.random() < 0.5:
            e = self.expr(env, shape, self.rng.randint(1, 3))
        else:
            other = self.expr(env, self.rng.choice(operand_shapes(shape)), self.rng.randint(1, 2))
            e = compound(self.rng.choice([f"{n} {self.rng.choice('+-*')} {other.op()}",
                                          f"{ns}.sin({n}) + {other.op()}", f"{n} / (1.0 + {other.op()} ** 2)"]))
        self.emit(ctx, f"{n} = {e.text}")
        self.m.tag("overwrite")
        env = dict(env)
        env[n] = replace(var, roots=(e.roots or self.root()) if var.kind == ARRAY else frozenset())
        return env

    def shares(self, env: Env, var: Var) -> bool:
        """Whether another variable may see this array's storage (a write through one changes both)."""
        return any(other.name != var.name and other.roots & var.roots
                   for other in env.values() if other.kind in (ARRAY, LIST))

    def tag_write(self, env: Env, var: Var, what: str) -> None:
        self.m.tag(what)
        if self.shares(env, var):
            self.m.tag("aliased-write")

    def st_augassign(self, env, ctx):
        targets = [v for v in env.values() if v.kind == FLOAT or (v.kind == ARRAY and v.writable)]
        if not targets:
            return None
        var = self.rng.choice(targets)
        op = self.rng.choice(["+=", "-=", "*=", "/="])
        value = self.expr(env, self.rng.choice(operand_shapes(var.shape)), self.rng.randint(1, 2))
        if op == "/=":
            text = f"(1.0 + {value.op()} ** 2)"
        elif ctx.in_loop:
            ns = "np" if var.shape or self.rng.random() < 0.3 else "math"
            text = f"{ns}.cos({value.text})" if op == "*=" else f"0.5 * {ns}.tanh({value.text})"
        else:
            text = value.text
        self.emit(ctx, f"{var.name} {op} {text}")
        if var.kind == ARRAY:
            self.tag_write(env, var, "inplace-array")
        else:
            self.m.tag("augmented-assignment")
        return env

    def write_target(self, env: Env, var: Var) -> tuple[str, tuple]:
        """An indexed place in ``var`` and the shape of a value that may be stored there."""
        shape = var.shape
        if len(shape) == 1:
            n = shape[0]
            if self.rng.random() < 0.75:
                return f"[{self.index(env, n)}]", SCALAR
            start = self.rng.randint(1, n - 1)
            value = (n - start,) if (n - start,) in VECTOR_SHAPES and self.rng.random() < 0.5 else SCALAR
            return f"[{start}:]", value
        r, c = shape
        kind = self.rng.random()
        if kind < 0.5:
            return f"[{self.index(env, r)}, {self.index(env, c)}]", SCALAR
        if kind < 0.8:
            return f"[{self.index(env, r)}]", self.rng.choice([SCALAR, (c,)])
        return f"[:, {self.index(env, c)}]", self.rng.choice([SCALAR, (r,)])

    def st_index_write(self, env, ctx, var: Var | None = None):
        if var is None:
            targets = [v for v in self.of(env, ARRAY) if v.writable]
            if not targets:
                return None
            var = self.rng.choice(targets)
        where, value_shape = self.write_target(env, var)
        op = self.rng.choice(["=", "=", "+=", "*="])
        value = self.expr(env, value_shape, self.rng.randint(1, 2))
        text = value.text
        if ctx.in_loop and op != "=":
            text = f"np.cos({value.text})" if op == "*=" else f"0.5 * np.tanh({value.text})"
        self.emit(ctx, f"{var.name}{where} {op} {text}")
        self.tag_write(env, var, "index-write")
        return env

    def st_view(self, env, ctx):
        """A view of an array (``q.T``, ``q.reshape(-1)``, ``q[1:]``, ``q[0]``), maybe written through."""
        arrays = self.of(env, ARRAY)
        if not arrays:
            return None
        q = self.rng.choice(arrays)
        options = []  # (shape of the view, its text)
        if len(q.shape) == 2:
            options += [(q.shape[::-1], lambda: f"{q.name}.T"), (q.shape[::-1], lambda: f"np.transpose({q.name})"),
                        (q.shape[1:], lambda: f"{q.name}[{self.index(env, q.shape[0])}]"),
                        (q.shape[:1], lambda: f"{q.name}[:, {self.index(env, q.shape[1])}]"),
                        ((q.shape[0] - 1, q.shape[1]), lambda: f"{q.name}[1:]")]
            if q.shape in ((2, 3), (3, 2)):
                options += [(FLAT, lambda: f"{q.name}.reshape(-1)"), (FLAT, lambda: f"np.ravel({q.name})")]
        else:
            n = q.shape[0]
            options += [((n - 1,), lambda: f"{q.name}[1:]"), ((n - 1,), lambda: f"{q.name}[:{n - 1}]")]
            if n == 6:
                options += [((2, 3), lambda: f"{q.name}.reshape(2, 3)"), ((3,), lambda: f"{q.name}[::2]")]
        options = [(s, t) for s, t in options if s in ARRAY_SHAPES]
        if not options:
            return None
        shape, make_text = self.rng.choice(options)
        text = make_text()
        name = self.fresh(LOCAL_NAMES)
        self.emit(ctx, f"{name} = {text}")
        self.m.tag("view")
        env = dict(env)
        env[name] = Var(name, ARRAY, shape, q.roots)
        if q.writable and self.rng.random() < 0.5:
            self.m.tag("view-write")
            return self.st_index_write(env, ctx, self.rng.choice([env[name], q]))
        return env

    def st_copy(self, env, ctx):
        arrays = self.of(env, ARRAY)
        if not arrays:
            return None
        q = self.rng.choice(arrays)
        name = q.name if self.rng.random() < 0.5 and not ctx.in_loop else self.fresh(LOCAL_NAMES)
        fn = self.rng.choice([f"{q.name}.copy()", f"np.copy({q.name})", f"np.array({q.name})"])
        self.emit(ctx, f"{name} = {fn}")
        self.m.tag("copy")
        env = dict(env)
        env[name] = Var(name, ARRAY, q.shape, self.root())
        if any(r == READ_ONLY for r in q.roots) and self.rng.random() < 0.6:
            return self.st_index_write(env, ctx, env[name])  # x = x.copy(); x[0] = ...
        return env

    def st_list_write(self, env, ctx):
        lists = self.of(env, LIST)
        if not lists:
            return None
        var = self.rng.choice(lists)
        value = self.fresh_expr(env, var.shape, self.rng.randint(1, 2))
        op = "+=" if var.shape == SCALAR and self.rng.random() < 0.4 else "="
        self.emit(ctx, f"{var.name}[{self.index(env, var.size)}] {op} {value.text}")
        self.m.tag("list-write")
        return env

    def st_helper_call(self, env, ctx):
        if not self.helpers:
            return None
        helper = self.rng.choice(self.helpers)
        self.m.tag("helper-call")
        if helper.kind == "mutating":
            targets = [v for v in self.of(env, ARRAY) if v.writable]
            if not targets:
                return None
            var = self.rng.choice(targets)
            value = self.scalar(env, 1)
            self.emit(ctx, f"{helper.name}({var.name}, {value.text})")
            self.tag_write(env, var, "mutating-helper")
            return env
        args = self.helper_args(env, helper, self.rng.randint(1, 2))
        names = [self.fresh(LOCAL_NAMES) for _ in helper.results]
        self.emit(ctx, f"{', '.join(names)} = {helper.name}({args})")
        if helper.kind == "pair":
            self.m.tag("tuple-result")
        if helper.kind == "recursive":
            self.m.tag("recursion")
        roots = frozenset() if helper.fresh else frozenset({READ_ONLY})
        for name, shape in zip(names, helper.results):
            env = self.new_var(env, name, shape, Expr(name, roots))
        return env

    def st_swap(self, env, ctx):
        pairs = [(a, b) for a in self.targets(env) for b in self.targets(env)
                 if a.name < b.name and a.shape == b.shape and a.kind == b.kind
                 and (a.kind == FLOAT or not ctx.in_loop)]
        if not pairs:
            return None
        a, b = self.rng.choice(pairs)
        self.emit(ctx, f"{a.name}, {b.name} = {b.name}, {a.name}")
        self.m.tag("swap")
        env = dict(env)
        env[a.name], env[b.name] = replace(a, roots=b.roots), replace(b, roots=a.roots)
        return env

    # compound statements

    def st_if(self, env, ctx):
        floats = self.of(env, FLOAT)
        subject = self.rng.choice(floats) if floats and self.rng.random() < 0.6 else None
        self.emit(ctx, f"if {self.condition(env, subject.name if subject else None)}:")
        self.m.tag("if")
        inner = ctx.deeper()
        branches = [self.branch(env, inner, subject)]
        r = self.rng.random()
        if r < 0.2:
            self.emit(ctx, f"elif {self.condition(env)}:")
            branches.append(self.branch(env, inner, None))
            self.m.tag("elif")
        if r < 0.6:
            self.emit(ctx, "else:")
            branches.append(self.branch(env, inner, subject))
        else:
            branches.append(env)  # the test may fail: nothing runs
        return merge(env, *branches)

    def branch(self, env: Env, ctx: Ctx, subject: Var | None) -> Env:
        """A branch body; when ``subject`` (the test's variable) is given, the branch usually changes it."""
        if subject is not None and self.rng.random() < 0.7:
            self.m.tag("test-variable-changes")
            env = self.st_overwrite(env, ctx, subject)
            return self.block(env, ctx, self.rng.randint(0, 1)) if self.budget > 0 else env
        return self.block(env, ctx, self.rng.randint(1, 2))

    def loop_index(self, env: Env) -> str:
        reusable = [v.name for v in self.of(env, INT) if v.name not in self.active]
        if reusable and self.rng.random() < 0.5:
            return self.rng.choice(reusable)
        return self.fresh(INDEX_NAMES)

    def range_text(self, env: Env) -> tuple[str, int]:
        """``range(...)`` text and the number of values the index takes (at least 1)."""
        sized = [v for v in env.values() if v.kind in (ARRAY, LIST)]
        r = self.rng.random()
        if sized and r < 0.3:
            var = self.rng.choice(sized)
            if var.kind == LIST:
                n, count = f"len({var.name})", var.size
            elif len(var.shape) == 2 and self.rng.random() < 0.5:
                n, count = f"{var.name}.shape[1]", var.shape[1]
            else:
                n, count = self.rng.choice([f"len({var.name})", f"{var.name}.shape[0]"]), var.shape[0]
        else:
            count = self.rng.randint(1, 4)
            n = str(count)
        form = self.rng.random()
        if count >= 2 and form < 0.15:
            return f"range(1, {n})", count
        if form < 0.25:
            self.m.tag("reversed-range")
            return self.rng.choice([f"reversed(range({n}))", f"range({n} - 1, -1, -1)"]), count
        return f"range({n})", count

    def loop_body(self, env: Env, ctx: Ctx, loop: str) -> Env:
        if ctx.in_loop:
            self.m.tag("nested-loop")
        return self.block(env, ctx.deeper(loop), self.rng.randint(1, 3))

    def st_for_range(self, env, ctx):
        rng_text, count = self.range_text(env)
        i = self.loop_index(env)
        self.emit(ctx, f"for {i} in {rng_text}:")
        self.m.tag("for-range")
        body_env = dict(env)
        body_env[i] = Var(i, INT, size=count)
        self.active.append(i)
        after = self.loop_body(body_env, ctx, "for")
        self.active.pop()
        out = merge(env, after)
        out[i] = Var(i, INT, size=max(count, env[i].size if i in env else 0))  # the index outlives the loop
        return out

    def iterables(self, env: Env) -> list[tuple[str, list[Var], str]]:
        """``for`` headers over arrays and lists: (iterable text, element variables, feature)."""
        out = []
        sequences = [v for v in env.values() if v.kind in (ARRAY, LIST)]
        for seq in sequences:
            length = seq.size if seq.kind == LIST else seq.shape[0]
            elem_shape = seq.shape if seq.kind == LIST else seq.shape[1:]
            feature = "for-list" if seq.kind == LIST else "for-array"
            out.append((seq.name, [self.element(elem_shape, seq.roots)], feature))
            out.append((f"enumerate({seq.name})", [Var("", INT, size=length), self.element(elem_shape, seq.roots)],
                        "enumerate"))
            for other in sequences:
                other_len = other.size if other.kind == LIST else other.shape[0]
                if other is not seq and other_len == length:
                    other_shape = other.shape if other.kind == LIST else other.shape[1:]
                    out.append((f"zip({seq.name}, {other.name})", [self.element(elem_shape, seq.roots),
                                                                   self.element(other_shape, other.roots)], "zip"))
        return out

    @staticmethod
    def element(shape: tuple, roots: frozenset) -> Var:
        return Var("", FLOAT, SCALAR) if shape == SCALAR else Var("", ARRAY, shape, roots)

    def st_for_iter(self, env, ctx):
        options = self.iterables(env)
        if not options:
            return None
        iterable, elements, feature = self.rng.choice(options)
        body_env = dict(env)
        names = []
        for element in elements:
            name = self.fresh(INDEX_NAMES) if element.kind == INT else self.fresh(ELEMENT_NAMES)
            names.append(name)
            body_env[name] = replace(element, name=name)
        self.emit(ctx, f"for {', '.join(names)} in {iterable}:")
        self.m.tag(feature)
        self.active.extend(names)
        after = self.loop_body(body_env, ctx, "for")
        del self.active[-len(names):]
        return merge(env, after)

    def st_while(self, env, ctx):
        k = self.fresh(INDEX_NAMES)
        limit = self.rng.randint(1, 4)
        self.emit(ctx, f"{k} = 0")
        floats = self.of(env, FLOAT)
        subject = self.rng.choice(floats) if floats and self.rng.random() < 0.6 else None
        test = f"{k} < {limit}"
        if self.rng.random() < 0.6:
            extra = self.condition(env, subject.name if subject else None)
            test += f" and ({extra})" if " or " in extra else f" and {extra}"
        self.emit(ctx, f"while {test}:")
        self.emit(ctx.deeper(), self.rng.choice([f"{k} = {k} + 1", f"{k} += 1"]))  # first: continue is safe
        self.m.tag("while")
        body_env = dict(env)
        body_env[k] = Var(k, INT, size=limit + 1)
        self.active.append(k)
        inner = ctx.deeper("while")
        count = self.rng.randint(1, 3)
        if subject is not None:
            body_env = self.st_overwrite(body_env, inner, subject)
            self.m.tag("test-variable-changes")
            count -= 1
        if ctx.in_loop:
            self.m.tag("nested-loop")
        after = self.block(body_env, inner, count)
        self.active.pop()
        out = merge(env, after)
        out[k] = Var(k, INT, size=limit + 1)
        return out

    def st_jump(self, env, ctx):
        """``if <test>: [statement] break | continue | return <value>``."""
        choices = []
        if ctx.loop:
            choices += ["break", "continue"]
        if ctx.returns is not None:
            choices.append("return")
        jump = self.rng.choice(choices)
        self.emit(ctx, f"if {self.condition(env)}:")
        inner = replace(ctx, indent=ctx.indent + 1)
        if self.rng.random() < 0.3:
            env = merge(env, self.st_overwrite(env, inner))
        if jump == "return":
            values = ", ".join(self.fresh_expr(env, shape, self.rng.randint(1, 2)).text for shape in ctx.returns)
            self.emit(inner, f"return {values}")
            self.m.tag("early-return")
        else:
            self.emit(inner, jump)
            self.m.tag(jump)
        return env

    def st_build_array(self, env, ctx):
        """``y = np.zeros(n)`` then a loop writing its elements (or rows), sometimes reading the last one."""
        shape = self.array_shape(env)
        if shape == FLAT:
            shape = (3,)
        name = self.fresh(LOCAL_NAMES)
        same = self.of(env, ARRAY, shape)
        init = self.rng.choice([f"np.zeros({shape_text(shape)})", f"np.ones({shape_text(shape)})",
                                f"np.full({shape_text(shape)}, {self.literal(0.1, 1.0).text})"]
                               + ([f"np.zeros_like({self.rng.choice(same).name})"] if same else []))
        self.emit(ctx, f"{name} = {init}")
        env = dict(env)
        env[name] = Var(name, ARRAY, shape, self.root())
        i = self.loop_index(env)
        self.emit(ctx, f"for {i} in range({shape[0]}):")
        body = ctx.deeper("for")
        body_env = dict(env)
        body_env[i] = Var(i, INT, size=shape[0])
        self.active.append(i)
        if len(shape) == 2 and self.rng.random() < 0.5:
            j = self.fresh(INDEX_NAMES)
            self.emit(body, f"for {j} in range({shape[1]}):")
            body_env[j] = Var(j, INT, size=shape[1])
            self.active.append(j)
            value = self.scalar(body_env, 2)
            self.emit(body.deeper("for"), f"{name}[{i}, {j}] = {value.text}")
            self.active.pop()
            self.m.tag("nested-loop")
        else:
            value = self.expr(body_env, shape[1:], 2)
            if self.rng.random() < 0.25:
                value = compound(f"0.5 * {name}[{i} - 1] + {value.op()}")
                self.m.tag("recurrence")
            self.emit(body, f"{name}[{i}] = {value.text}")
        self.active.pop()
        self.m.tag("index-write")
        self.m.tag("build-array")
        out = env
        out[i] = Var(i, INT, size=max(shape[0], env[i].size if i in env else 0))
        return out

    def st_build_list(self, env, ctx):
        """A list of numbers or arrays: appended in a loop, a display, or a comprehension."""
        elem = SCALAR if self.rng.random() < 0.7 else self.array_shape(env)
        name = self.fresh(LIST_NAMES)
        form = self.rng.random()
        size = self.rng.randint(2, 4)
        inner_env = dict(env)
        if form < 0.45:
            self.emit(ctx, f"{name} = []")
            i = self.loop_index(env)
            self.emit(ctx, f"for {i} in range({size}):")
            inner_env[i] = Var(i, INT, size=size)
            self.active.append(i)
            body = ctx.deeper("for", jumps=False)
            if self.rng.random() < 0.3 and self.budget > 0:
                inner_env = self.statement(inner_env, replace(body, nest=2))
            self.emit(body, f"{name}.append({self.fresh_expr(inner_env, elem, 2).text})")
            self.active.pop()
            self.m.tag("list-append")
            env = dict(env)
            env[i] = Var(i, INT, size=max(size, env[i].size if i in env else 0))  # the index outlives the loop
        elif form < 0.65:
            items = ", ".join(self.fresh_expr(env, elem, 1).text for _ in range(size))
            self.emit(ctx, f"{name} = [{items}]")
        else:
            i = self.fresh(INDEX_NAMES)
            arrays = [v for v in self.of(env, ARRAY) if len(v.shape) == 1]
            if arrays and self.rng.random() < 0.4:
                source = self.rng.choice(arrays)
                size = source.shape[0]
                self.used.discard(i)
                i = self.fresh(ELEMENT_NAMES)
                inner_env[i] = Var(i, FLOAT)
                header = f"for {i} in {source.name}"
            else:
                inner_env[i] = Var(i, INT, size=size)
                header = f"for {i} in range({size})"
            self.active.append(i)
            self.emit(ctx, f"{name} = [{self.fresh_expr(inner_env, elem, 2).text} {header}]")
            self.active.pop()
            self.m.tag("comprehension")
        self.m.tag("list")
        env = dict(env)
        env[name] = Var(name, LIST, elem, self.root(), size)
        return env

    # ------------------------------------------------------------------ the final return

    def final_return(self, env: Env, ctx: Ctx) -> None:
        """``return`` a number that depends on several of the live variables."""
        candidates = [v for v in env.values() if v.kind in (FLOAT, ARRAY)
                      or (v.kind == LIST and v.shape == SCALAR)]
        self.rng.shuffle(candidates)
        terms = []
        for var in candidates[:self.rng.randint(1, 3)]:
            if var.kind == FLOAT:
                terms.append(self.rng.choice([var.name, f"math.sin({var.name})", f"{var.name} ** 2"]))
            elif var.kind == LIST:
                terms.append(f"sum({var.name})")
            else:
                terms.append(self.rng.choice([f"np.sum({var.name})", f"np.sum({var.name} ** 2)",
                                              f"np.mean(np.sin({var.name}))", f"{var.name}.sum()"]))
        if not terms or self.rng.random() < 0.4:
            terms.append(self.scalar(env, 2).op())
        self.emit(ctx, f"return {' + '.join(terms)}")


# ============================================================================ programs

@dataclass
class Program:
    """A generated module with a function ``f``; reproducible from (seed, index)."""

    seed: int
    index: int
    source: str
    params: list[tuple[str, tuple]]
    features: frozenset

    @property
    def key(self) -> int:
        return program_seed(self.seed, self.index)

    def arguments(self, attempt: int = 0) -> list:
        """Arguments for ``f``; ``attempt`` draws another point of the same program."""
        rng = random.Random(self.key * 31 + attempt + 1)
        args = []
        for _, shape in self.params:
            if shape == SCALAR:
                args.append(rng.uniform(-1.2, 1.2))
            else:
                args.append(np.array([rng.uniform(-1.2, 1.2) for _ in range(int(np.prod(shape)))]).reshape(shape))
        return args


def program_seed(seed: int, index: int) -> int:
    return seed * 1_000_003 + index


def make_helper(module: ModuleWriter, index: int, earlier: list[Helper]) -> tuple[Helper, list[str]]:
    """A module-level helper and its source lines: plain, returning a pair, recursive, or writing its argument."""
    rng = module.rng
    name = f"helper{index}"
    kind = rng.choices(["plain", "pair", "recursive", "mutating"], [6, 1.5, 1.5, 1])[0]
    if kind == "mutating":
        where = rng.choice(["[0]", "[-1]"])
        op = rng.choice(["=", "+="])
        helper = Helper(name, kind, [("buf", ())], [])
        return helper, [f"def {name}(buf, s):", f"    buf{where} {op} s"]
    if kind == "recursive":
        shape = rng.choice([SCALAR, (3,), (2, 3)])
        params = [Var("a", FLOAT if shape == SCALAR else ARRAY, shape, frozenset({READ_ONLY})), Var("n", INT, size=4)]
        writer = Writer(module, params, earlier, budget=0)
        env = {p.name: p for p in params}
        ns = "np" if shape else "math"
        step = writer.expr(env, shape, 1)
        base = writer.fresh_expr(env, shape, 1)
        helper = Helper(name, kind, [("a", shape)], [shape])
        return helper, [f"def {name}(a, n):", "    if n <= 0:", f"        return {base.text}",
                        f"    return {name}({ns}.sin(a) + 0.5 * {step.op()}, n - 1)"]
    params = [(p, rng.choice(PARAM_SHAPES)) for p in ["a", "b"][:rng.randint(1, 2)]]
    env = {p: Var(p, FLOAT if s == SCALAR else ARRAY, s, frozenset({READ_ONLY}) if s else frozenset())
           for p, s in params}
    default = None
    if rng.random() < 0.4:
        default = "scale"
        env[default] = Var(default, FLOAT)
    results = [rng.choice([SCALAR, SCALAR] + ARRAY_SHAPES[:-1]) for _ in range(2 if kind == "pair" else 1)]
    writer = Writer(module, list(env.values()), earlier, budget=rng.randint(0, 4))
    ctx = Ctx(returns=tuple(results))
    if writer.budget:
        env = writer.block(env, ctx, writer.budget)
    values = [writer.fresh_expr(env, shape, 2).text for shape in results]
    writer.emit(ctx, f"return {', '.join(values)}")
    signature = ", ".join([p for p, _ in params] + ([f"{default}={writer.literal(0.2, 1.0).text}"] if default else []))
    helper = Helper(name, kind, params, results, default)
    return helper, [f"def {name}({signature}):"] + writer.lines


def generate(seed: int, index: int, size: float = 1.0) -> Program:
    """Program ``index`` of the run with this seed (``size`` scales the number of statements)."""
    rng = random.Random(program_seed(seed, index))
    module = ModuleWriter(rng)
    helpers: list[Helper] = []
    helper_lines: list[str] = []
    for k in range(rng.choices([0, 1, 2, 3], [4, 4, 2, 1])[0]):
        helper, lines = make_helper(module, k, list(helpers))
        helpers.append(helper)
        helper_lines += lines + ["", ""]
    params = [(PARAM_NAMES[k], rng.choice(PARAM_SHAPES)) for k in range(rng.randint(1, 3))]
    env = {p: Var(p, FLOAT if s == SCALAR else ARRAY, s, frozenset({READ_ONLY}) if s else frozenset())
           for p, s in params}
    writer = Writer(module, list(env.values()), helpers, budget=max(2, round(rng.randint(3, 12) * size)))
    ctx = Ctx(returns=(SCALAR,))
    env = writer.block(env, ctx, writer.budget)
    writer.final_return(env, ctx)
    if helpers:
        module.tag("helper")
    lines = ["import math", "", "import numpy as np", ""]
    constants = module.constant_lines()
    if constants:
        lines += constants + [""]
    lines += ["", *helper_lines]
    if not helper_lines:
        lines.append("")
    lines += [f"def f({', '.join(p for p, _ in params)}):"] + writer.lines
    return Program(seed, index, "\n".join(lines) + "\n", params, frozenset(module.features))


# ============================================================================ loading

class Loader:
    """Writes program sources to files in a temporary directory and imports them (sct reads source files)."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="sct-fuzz-")
        self.count = 0

    def load(self, source: str, stem: str):
        self.count += 1
        name = f"fuzz_{stem}_{self.count}"
        path = os.path.join(self.directory, name + ".py")
        with open(path, "w") as fh:
            fh.write(source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            self.unload(module)
            raise
        return module

    @staticmethod
    def unload(module) -> None:
        sys.modules.pop(module.__name__, None)
        linecache.cache.pop(getattr(module, "__file__", None) or "", None)

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


# ============================================================================ the oracle

RTOL, ATOL = 1e-5, 1e-6           # gradient against finite differences (ATOL scaled by the gradient's size)
STEPS = (1e-6, 1e-5)              # two finite-difference steps; where they disagree, the point is not smooth
CROSS_RTOL, CROSS_ATOL = 1e-8, 1e-10  # forward against reverse
VALUE_RTOL = 1e-9


class Timeout(BaseException):
    """Raised by the alarm when sct takes too long (a BaseException so no ``except Exception`` hides it)."""


class time_limit:
    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        if self.seconds and hasattr(signal, "setitimer"):
            self.previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        if self.seconds and hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)

    @staticmethod
    def _fire(signum, frame):
        raise Timeout()


@dataclass
class Outcome:
    """What happened to one program in one mode.

    ``category``: ok, refused:<Class>, wrong, crash:<Type>; ``group``: what to count it under
    (a refusal's reason, a crash's site, a mismatch's kind); ``detail``: the full story.
    """

    category: str
    group: str = ""
    detail: str = ""
    grads: list | None = field(default=None, repr=False)

    @property
    def failed(self) -> bool:
        return self.category == "wrong" or self.category.startswith("crash")

    @property
    def signature(self) -> tuple:
        """What a smaller program must reproduce: the category and group (for a wrong gradient, also
        which arguments are wrong)."""
        if (self.category, self.group) == ("wrong", "gradient"):
            return self.category, self.group, tuple(int(k) for k in re.findall(r"^argument (\d+):", self.detail, re.M))
        return self.category, self.group


def evaluate(f: Callable, args: list) -> float:
    """``f(*args)`` as a float; raises ValueError when it is not a finite number or f changes its arguments."""
    saved = [copy.deepcopy(a) for a in args]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = f(*args)
    if any(not _identical(a, b) for a, b in zip(args, saved)):
        for a, b in zip(args, saved):
            if isinstance(a, np.ndarray):
                np.copyto(a, b)
        raise ValueError("f changes its arguments")
    if np.ndim(value) != 0 or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"f returned {type(value).__name__} of shape {np.shape(value)}, not a number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"f returned {value}")
    return value


def finite_differences(f: Callable, args: list, step: float) -> list:
    """Central differences of ``f`` for every element of every argument."""
    def at(i, value):
        return evaluate(f, args[:i] + [value] + args[i + 1:])

    grads = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            g = np.empty(a.shape)
            for idx in np.ndindex(*a.shape):
                plus, minus = a.copy(), a.copy()
                plus[idx] += step
                minus[idx] -= step
                g[idx] = (at(i, plus) - at(i, minus)) / (2 * step)
            grads.append(g)
        else:
            grads.append((at(i, a + step) - at(i, a - step)) / (2 * step))
    return grads


def scale_of(grads: list) -> float:
    return max([1.0] + [float(np.max(np.abs(g))) for g in grads])


def mismatched(got: list, want: list, rtol: float, atol: float) -> list[int]:
    """The positions of the arguments whose gradients disagree (NaN never agrees)."""
    scale = scale_of(want)
    out = []
    for k, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g, dtype=float), np.asarray(w, dtype=float)
        if not np.all(np.abs(g - w) <= rtol * np.maximum(np.abs(g), np.abs(w)) + atol * scale):
            out.append(k)
    return out


def disagreement(got: list, want: list, rtol: float, atol: float) -> str | None:
    """None when every element agrees; else which arguments differ and how."""
    bad = mismatched(got, want, rtol, atol)
    return "\n".join(f"argument {k}: got {np.asarray(got[k]).tolist()!r}, expected {np.asarray(want[k]).tolist()!r}"
                     for k in bad) or None


def smooth_gradient(f: Callable, args: list) -> list | None:
    """Finite differences at the first step, when the second step agrees (else the point is near a kink)."""
    try:
        first, second = [finite_differences(f, args, h) for h in STEPS]
    except (ValueError, ArithmeticError):
        return None
    return first if disagreement(first, second, RTOL, ATOL) is None else None


def same_structure(grads, args) -> str | None:
    if not isinstance(grads, tuple) or len(grads) != len(args):
        return f"value_and_grad returned {type(grads).__name__} for {len(args)} arguments"
    for k, (g, a) in enumerate(zip(grads, args)):
        if isinstance(a, np.ndarray):
            if not isinstance(g, np.ndarray) or g.shape != a.shape:
                return f"gradient {k} is {type(g).__name__} {np.shape(g)}, argument is array {a.shape}"
        elif not isinstance(g, float):
            return f"gradient {k} is {type(g).__name__}, argument is a float"
    return None


def crash_site(exc: BaseException) -> str:
    """The innermost frame of sct or of generated code in the traceback (where the crash happened)."""
    site = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.sep + "sct" + os.sep in frame.filename or not os.path.exists(frame.filename):
            site = f"{re.sub(r' [0-9a-f]{6,}>', '>', os.path.basename(frame.filename))}:{frame.name}"
    return site


def refusal_reason(exc: sct.TransformError) -> str:
    """The first words of a refusal's message, with names replaced by placeholders (for grouping)."""
    message = getattr(exc, "message", str(exc)).splitlines()[0]
    message = re.sub(r"'[^']*'", "'…'", message)
    message = re.sub(r"`[^`]*`", "`…`", message)
    message = re.sub(r"\bhelper\d+\b", "helper…", message)
    return " ".join(message.split()[:10])


def check_mode(f: Callable, args: list, value: float, fd: list | None, mode: str,
               timeout: float = 20.0) -> Outcome:
    """Run sct in one mode and compare with the primal, the caller's arguments and finite differences."""
    saved, args = args, [copy.deepcopy(a) for a in args]  # (sct gets copies: the caller's stay intact)
    try:
        with time_limit(timeout), np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vg = sct.value_and_grad(f, wrt=tuple(range(len(args))), mode=mode)
            got_value, grads = vg(*args)
            again_value, again = vg(*args)
    except sct.TransformError as exc:
        return Outcome(f"refused:{type(exc).__name__}", refusal_reason(exc), str(exc))
    except Timeout:
        return Outcome("crash:Timeout", "timeout", f"no answer within {timeout} s")
    except Exception as exc:  # noqa: BLE001 - anything else sct raised is a crash
        name = type(exc).__name__
        return Outcome(f"crash:{name}", f"{name} at {crash_site(exc)}",
                       "".join(traceback.format_exception(exc)[-6:]))
    outcome = Outcome("ok", grads=list(grads) if isinstance(grads, tuple) else None)
    if any(not _identical(a, b) for a, b in zip(args, saved)):
        return replace(outcome, category="wrong", group="arguments changed", detail="the caller's arguments changed")
    problem = same_structure(grads, args)
    if problem:
        return replace(outcome, category="wrong", group="gradient type", detail=problem)
    try:
        got_value = float(got_value)
    except (TypeError, ValueError):
        return replace(outcome, category="wrong", group="value type", detail=f"value {got_value!r}")
    if not abs(got_value - value) <= VALUE_RTOL * max(1.0, abs(value)):
        return replace(outcome, category="wrong", group="value", detail=f"value {got_value!r}, f gives {value!r}")
    if not (_identical(got_value, again_value) and all(_identical(a, b) for a, b in zip(grads, again))):
        return replace(outcome, category="wrong", group="second call differs",
                       detail=f"first {got_value!r} {list(grads)!r}, second {again_value!r} {list(again)!r}")
    try:
        after = evaluate(f, args)
    except (ValueError, ArithmeticError) as exc:
        after = repr(exc)
    if after != value:
        return replace(outcome, category="wrong", group="state changed", detail=f"f gives {after!r} after sct ran")
    if fd is not None:
        problem = disagreement(list(grads), fd, RTOL, ATOL)
        if problem:
            return replace(outcome, category="wrong", group="gradient", detail=problem)
    return outcome


def _identical(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and \
            np.array_equal(a, b, equal_nan=True)
    return a == b or (a != a and b != b)


@dataclass
class Result:
    """One program's outcomes by mode (plus "cross": forward against reverse), at the arguments used."""

    program: Program
    outcomes: dict[str, Outcome]
    args: list = field(default_factory=list)
    checked: bool = True  # finite differences were compared (the point was smooth)
    needed: bool | None = None  # a refusal: does NumPy's sharing change the result? (see value_semantics)


def choose_point(f: Callable, program: Program, attempts: int = 4):
    """Arguments where ``f`` is finite and smooth: (args, value, finite differences or None)."""
    fallback, error = None, None
    for attempt in range(attempts):
        args = program.arguments(attempt)
        try:
            value = evaluate(f, args)
            if evaluate(f, args) != value:
                raise ValueError("f gives another value when called again (it changes global state)")
        except Exception as exc:  # noqa: BLE001 - f's own failure, a generator problem
            error = exc
            continue
        fd = smooth_gradient(f, args)
        if fd is not None:
            return args, value, fd
        fallback = fallback or (args, value, None)
    if fallback:
        return fallback
    raise error


MODES = {"both": ("reverse", "forward"), "reverse": ("reverse",), "forward": ("forward",)}


def check_program(program: Program, modes: tuple[str, ...], loader: Loader, timeout: float = 20.0) -> Result:
    try:
        module = loader.load(program.source, f"{program.seed}_{program.index}")
    except Exception as exc:  # noqa: BLE001
        return Result(program, {"primal": Outcome("primal-error", f"import: {type(exc).__name__}", str(exc))})
    try:
        try:
            with time_limit(timeout):
                args, value, fd = choose_point(module.f, program)
        except (Exception, Timeout) as exc:  # noqa: BLE001
            return Result(program, {"primal": Outcome("primal-error", f"{type(exc).__name__}: {str(exc)[:60]}",
                                                      str(exc))})
        outcomes = {mode: check_mode(module.f, args, value, fd, mode, timeout) for mode in modes}
        if len(modes) == 2 and all(outcomes[m].category == "ok" for m in modes):
            problem = disagreement(outcomes["forward"].grads, outcomes["reverse"].grads, CROSS_RTOL, CROSS_ATOL)
            outcomes["cross"] = Outcome("wrong", "forward and reverse differ", problem) if problem else Outcome("ok")
        needed = None
        if any(o.category.startswith("refused") for o in outcomes.values()):
            needed = refusal_needed(program, args, value, fd, loader)
        return Result(program, outcomes, args, fd is not None, needed)
    finally:
        loader.unload(module)


# ============================================================================ were refusals needed?

_OWN = """
def _sct_own(v):
    # a value of its own: arrays and lists copied (deeply), as if no two names could share memory
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, list):
        return [_sct_own(e) for e in v]
    return v
"""


class _ValueSemantics(ast.NodeTransformer):
    """The program as sct reads it: every name holds its own value (copied where it is bound), ``x op= e``
    rebinds ``x``.  Where this gives NumPy's result, a refusal over shared memory was not needed."""

    @staticmethod
    def _own(names):
        return [ast.parse(f"{n} = _sct_own({n})").body[0] for n in names]

    @staticmethod
    def _names(target):
        return [n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        node.body = self._own([a.arg for a in node.args.args]) + node.body
        return node

    def visit_Assign(self, node):
        self.generic_visit(node)
        return [node] + self._own([n for t in node.targets for n in self._names(t)])

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if isinstance(node.target, ast.Name):
            load = ast.Name(node.target.id, ast.Load())
            return ast.Assign(targets=[node.target], value=ast.BinOp(load, node.op, node.value), lineno=node.lineno)
        return node

    def visit_For(self, node):
        self.generic_visit(node)
        node.body = self._own(self._names(node.target)) + node.body
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "append" and node.args:
            node.args = [ast.Call(ast.Name("_sct_own", ast.Load()), [node.args[0]], [])]
        return node


def value_semantics(source: str) -> str:
    """``source`` with value semantics (see :class:`_ValueSemantics`)."""
    tree = ast.fix_missing_locations(_ValueSemantics().visit(ast.parse(source)))
    return "import numpy as np\n" + _OWN + "\n" + ast.unparse(tree)


def refusal_needed(program: Program, args: list, value: float, fd: list | None, loader: Loader) -> bool | None:
    """Would sct's reading of the program (no shared memory) give NumPy's value and gradient?  False: the
    refusal was not needed; True: sharing changes the result; None: could not tell."""
    try:
        module = loader.load(value_semantics(program.source), f"{program.seed}_{program.index}_own")
    except Exception:  # noqa: BLE001
        return None
    try:
        own = evaluate(module.f, copy.deepcopy(args))
        if not math.isclose(own, value, rel_tol=1e-9, abs_tol=1e-12):
            return True
        if fd is None:
            return None
        own_fd = smooth_gradient(module.f, copy.deepcopy(args))
        return own_fd is None or disagreement(own_fd, fd, 1e-5, 1e-7) is not None
    except Exception:  # noqa: BLE001
        return None
    finally:
        loader.unload(module)


# ============================================================================ runs and reports

@dataclass
class Report:
    """Counts and examples of a run; ``str(report)`` is the summary table."""

    seed: int
    modes: tuple[str, ...]
    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def counts(self) -> Counter:
        """(mode, category) -> number of programs; mode "primal" for discarded programs."""
        return Counter((mode, o.category) for r in self.results for mode, o in r.outcomes.items())

    @property
    def failures(self) -> list[tuple[Result, str]]:
        return [(r, mode) for r in self.results for mode, o in r.outcomes.items() if o.failed]

    def groups(self, prefix: str) -> dict[tuple[str, str], list[tuple[Result, str]]]:
        """Outcomes whose category starts with ``prefix``, by (category, group)."""
        out: dict = {}
        for r in self.results:
            for mode, o in r.outcomes.items():
                if o.category.startswith(prefix):
                    out.setdefault((o.category, o.group), []).append((r, mode))
        return dict(sorted(out.items(), key=lambda kv: -len(kv[1])))

    def __str__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        counts = self.counts
        columns = [m for m in (*self.modes, "cross") if any(k[0] == m for k in counts)]
        categories = sorted({c for (m, c) in counts if m != "primal"}, key=_category_order)
        discarded = sum(v for (m, _), v in counts.items() if m == "primal")
        ran = len(self.results) - discarded
        unchecked = sum(1 for r in self.results if "primal" not in r.outcomes and not r.checked)
        lines = [f"sct fuzz: {len(self.results)} programs, seed {self.seed}, modes {', '.join(self.modes)} "
                 f"({self.seconds:.1f} s)",
                 f"  {ran} ran; {discarded} primal-error (generator, discarded); "
                 f"{unchecked} without a smooth point (finite differences not compared)", ""]
        width = max([len(c) for c in categories] + [10])
        lines.append(f"  {'category':<{width}}" + "".join(f"{c:>10}" for c in columns))
        for category in categories:
            lines.append(f"  {category:<{width}}" + "".join(f"{counts.get((m, category), 0):>10}" for m in columns))
        refusals = self.groups("refused")
        if refusals:
            lines += ["", "refusals by reason (programs per mode; 'not needed': programs, first mode, whose value",
                      "and gradient are NumPy's when no two names share memory, as sct reads them; class: reason;",
                      "an example seed/index):",
                      "  " + "".join(f"{m:>8}" for m in self.modes) + "  not needed"]
            for (category, group), items in refusals.items():
                per_mode = Counter(m for _, m in items)
                r = items[0][0]
                unneeded = sum(1 for x, m in items if m == self.modes[0] and x.needed is False)
                lines.append("  " + "".join(f"{per_mode[m]:>8}" for m in self.modes) + f"{unneeded:>12}" +
                             f"  {category[8:]}: {group}   (e.g. {r.program.seed}/{r.program.index})")
        for title, prefix in (("crashes", "crash"), ("wrong results", "wrong")):
            groups = self.groups(prefix)
            if groups:
                lines += ["", f"{title} by kind (count, kind, modes, examples):"]
                for (category, group), items in groups.items():
                    modes = sorted({m for _, m in items})
                    examples = ", ".join(f"{r.program.seed}/{r.program.index}" for r, _ in items[:5])
                    lines.append(f"  {len(items):>5}  {category} {group}  [{'/'.join(modes)}]  {examples}")
        if self.failures:
            lines += ["", "features of failing programs (share among failures vs. among all programs):"]
            lines += self.feature_table()
        primal = self.groups("primal-error")
        if primal:
            lines += ["", "primal errors (generator problems):"]
            for (_, group), items in list(primal.items())[:8]:
                lines.append(f"  {len(items):>5}  {group}   (e.g. {items[0][0].program.seed}/{items[0][0].program.index})")
        return "\n".join(lines)

    def feature_table(self) -> list[str]:
        everyone = Counter(f for r in self.results for f in r.program.features)
        failing = {id(r): r for r, _ in self.failures}
        bad = Counter(f for r in failing.values() for f in r.program.features)
        n_all, n_bad = max(len(self.results), 1), max(len(failing), 1)
        rows = sorted(bad, key=lambda f: -(bad[f] / n_bad) / (everyone[f] / n_all))
        return [f"  {f:<24} {bad[f] / n_bad:6.0%} vs {everyone[f] / n_all:6.0%}" for f in rows[:12]]

    def describe_failures(self, limit: int) -> str:
        blocks = []
        for r, mode in self.failures[:limit]:
            blocks.append(describe(r, mode))
        return "\n".join(blocks)


def describe(result: Result, mode: str) -> str:
    o = result.outcomes[mode]
    p = result.program
    args = ", ".join(_literal(a) for a in result.args)
    return "\n".join([
        "=" * 78,
        f"seed {p.seed} index {p.index}  mode {mode}  {o.category}: {o.group}",
        f"features: {', '.join(sorted(p.features))}",
        f"arguments: f({args})",
        "-" * 78, p.source.rstrip(), "-" * 78, o.detail.rstrip(), ""])


def _literal(a) -> str:
    if isinstance(a, np.ndarray):
        return f"np.array({a.tolist()!r})"
    return repr(a)


def _category_order(category: str) -> tuple:
    order = ["ok", "refused", "wrong", "crash"]
    head = category.split(":")[0]
    return (order.index(head) if head in order else len(order), category)


def run(n: int, seed: int = 0, modes: tuple[str, ...] | str = ("reverse", "forward"), *, size: float = 1.0,
        timeout: float = 20.0, progress: bool = False, start: int = 0) -> Report:
    """Generate and check programs ``start .. start + n - 1`` of this seed; returns the :class:`Report`."""
    if isinstance(modes, str):
        modes = MODES[modes]
    report = Report(seed, tuple(modes))
    loader = Loader()
    began = time.perf_counter()
    try:
        for index in range(start, start + n):
            program = generate(seed, index, size)
            report.results.append(check_program(program, report.modes, loader, timeout))
            if progress and (index - start + 1) % 100 == 0:
                bad = len(report.failures)
                print(f"  {index - start + 1}/{n} programs, {bad} failures, "
                      f"{time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    finally:
        loader.close()
    report.seconds = time.perf_counter() - began
    return report


# ============================================================================ shrinking

def reproduces(source: str, args: list, mode: str, signature: tuple, loader: Loader,
               timeout: float = 10.0) -> bool:
    """Whether ``source`` still fails with ``signature`` in ``mode`` at these arguments (f itself must run;
    for a wrong gradient the point must be smooth, finite differences being the reference)."""
    try:
        module = loader.load(source, "shrink")
    except BaseException:  # noqa: BLE001 - a broken candidate
        return False
    try:
        f = getattr(module, "f", None)
        if f is None:
            return False
        try:
            with time_limit(timeout):
                value = evaluate(f, list(args))
                if evaluate(f, list(args)) != value:
                    return False  # f changes global state: finite differences would mean nothing
        except (Exception, Timeout):  # noqa: BLE001
            return False
        if mode == "cross":
            outs = [check_mode(f, list(args), value, None, m, timeout) for m in ("forward", "reverse")]
            return all(o.category == "ok" for o in outs) and \
                disagreement(outs[0].grads, outs[1].grads, CROSS_RTOL, CROSS_ATOL) is not None
        outcome = check_mode(f, list(args), value, None, mode, timeout)
        if signature[:2] != ("wrong", "gradient"):
            return outcome.signature == signature
        if outcome.category != "ok":
            return False
        fd = smooth_gradient(f, list(args))
        return fd is not None and ("wrong", "gradient", tuple(mismatched(outcome.grads, fd, RTOL, ATOL))) == signature
    finally:
        loader.unload(module)


def _statement_slots(tree: ast.AST) -> list[tuple[ast.AST, str, int]]:
    slots = []
    for node in ast.walk(tree):
        for name in ("body", "orelse"):
            stmts = getattr(node, name, None)
            if isinstance(stmts, list):
                slots += [(node, name, k) for k in range(len(stmts))]
    return slots


def _expression_slots(tree: ast.AST) -> list[tuple[ast.AST, str, int | None]]:
    slots = []
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]  # (constants stay)
    for node in (n for fn in functions for n in ast.walk(fn)):
        for name, value in ast.iter_fields(node):
            if name in ("targets", "target", "func"):
                continue  # (assignment targets and called functions stay)
            if isinstance(value, ast.expr):
                slots.append((node, name, None))
            elif isinstance(value, list):
                slots += [(node, name, k) for k, v in enumerate(value) if isinstance(v, ast.expr)]
    return slots


def _replacements(e: ast.expr) -> list[ast.expr]:
    """Simpler expressions to try in place of ``e``: its parts, or a constant for a test."""
    if isinstance(e, ast.BinOp):
        return [e.left, e.right]
    if isinstance(e, ast.UnaryOp):
        return [e.operand]
    if isinstance(e, ast.Call):
        out = [a for a in e.args if not isinstance(a, ast.Starred)]
        if e.keywords:
            out.append(ast.Call(e.func, e.args, []))
        return out
    if isinstance(e, ast.IfExp):
        return [e.body, e.orelse]
    if isinstance(e, ast.BoolOp):
        return list(e.values)
    if isinstance(e, ast.Compare):
        return [ast.Constant(True), ast.Constant(False)]
    if isinstance(e, ast.Attribute) and e.attr == "T":
        return [e.value]
    if isinstance(e, ast.Subscript):
        return [e.value]
    if isinstance(e, (ast.List, ast.Tuple)) and len(e.elts) > 1:
        return [type(e)(e.elts[:-1], e.ctx)]
    return []


def _statement_variants(tree: ast.Module, k: int) -> Iterator[ast.Module]:
    """Statement ``k`` dropped; a compound statement replaced by its body."""
    for action in ("drop", "unwrap"):
        new = copy.deepcopy(tree)
        node, name, i = _statement_slots(new)[k]
        stmts = getattr(node, name)
        if action == "drop":
            del stmts[i]
        elif isinstance(stmts[i], (ast.If, ast.For, ast.While)):
            stmts[i:i + 1] = stmts[i].body
        else:
            continue
        if not stmts:
            stmts.append(ast.Pass())
        yield new


def _expression_variants(tree: ast.Module, k: int) -> Iterator[ast.Module]:
    """Expression ``k`` replaced by each of its simpler parts."""
    node, name, i = _expression_slots(tree)[k]
    count = len(_replacements(getattr(node, name) if i is None else getattr(node, name)[i]))
    for r in range(count):
        new = copy.deepcopy(tree)
        node, name, i = _expression_slots(new)[k]
        current = getattr(node, name) if i is None else getattr(node, name)[i]
        replacement = _replacements(current)[r]
        if i is None:
            setattr(node, name, replacement)
        else:
            getattr(node, name)[i] = replacement
        yield new


def shrink(source: str, args: list, mode: str, signature: tuple, budget: float = 300.0) -> str:
    """Reduce ``source`` by one-step simplifications that keep the failure ``signature`` in ``mode``.

    Passes over the statements (drop, unwrap) and then the expressions (replace by a part), each
    resuming at the same position after a success, until a whole round changes nothing or the
    ``budget`` (seconds) is spent.
    """
    loader = Loader()
    deadline = time.perf_counter() + budget
    tree = ast.parse(source)
    current = ast.unparse(tree)
    try:
        changed = True
        while changed and time.perf_counter() < deadline:
            changed = False
            for slots, variants in ((_statement_slots, _statement_variants),
                                    (_expression_slots, _expression_variants)):
                k = 0
                while k < len(slots(tree)) and time.perf_counter() < deadline:
                    for candidate in variants(tree, k):
                        try:
                            text = ast.unparse(ast.fix_missing_locations(candidate))
                        except Exception:  # noqa: BLE001 - not a valid tree
                            continue
                        if len(text) < len(current) and reproduces(text, args, mode, signature, loader):
                            tree, current, changed = ast.parse(text), text, True
                            break
                    else:
                        k += 1
    finally:
        loader.close()
    return current + "\n"


# ============================================================================ command line

def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("SCT_CHECK_INVARIANTS", "1")  # every generated program is checked (sct/invariants.py)
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="number of programs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="index of the first program")
    parser.add_argument("--index", type=int, help="check one program (seed, index) and print everything about it")
    parser.add_argument("--mode", choices=sorted(MODES), default="both")
    parser.add_argument("--size", type=float, default=1.0, help="scale the number of statements per program")
    parser.add_argument("--show-failures", type=int, default=3, metavar="K", help="print the first K failures")
    parser.add_argument("--shrink", action="store_true", help="shrink the failures shown to minimal programs")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per program and mode")
    opts = parser.parse_args(argv)
    modes = MODES[opts.mode]
    if opts.index is not None:
        report = run(1, opts.seed, modes, size=opts.size, timeout=opts.timeout, start=opts.index)
        result = report.results[0]
        print(result.program.source)
        print("features:", ", ".join(sorted(result.program.features)))
        print("arguments:", ", ".join(_literal(a) for a in result.args))
        for mode, o in result.outcomes.items():
            print(f"{mode}: {o.category} {o.group}\n{o.detail}".rstrip())
        return 1 if report.failures else 0
    report = run(opts.n, opts.seed, modes, size=opts.size, timeout=opts.timeout, progress=True, start=opts.start)
    print(report.summary())
    shown = report.failures[:opts.show_failures]
    if shown:
        print()
        print(f"first {len(shown)} of {len(report.failures)} failures:")
        for result, mode in shown:
            print(describe(result, mode))
            if opts.shrink:
                o = result.outcomes[mode]
                small = shrink(result.program.source, result.args, mode, o.signature)
                print("shrunk:\n" + small)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
