"""Transformation time: how long sct takes to generate a derivative program, by program size.

Generated test programs of n statements (``program(shape, n)``), each written to a
file and imported (sct reads source), then derived once in each mode with
respect to both arguments; the time of that first call is the transformation
(parse, fence, normalise, analyse, forward/reverse, optimise, render, compile):

* ``straight``: n scalar statements ``v{i} = math.sin(a) op b * 0.5`` reading earlier ones;
* ``loop``: the same n statements as the body of a ``for`` loop;
* ``branches``: n/3 small ``if``/``else`` statements, one after the other;
* ``lists``: n/2 pairs ``t = math.sin(xs[i]) * xs[i + 1]; xs.append(t)``;
* ``helpers``: straight-line code where every fourth statement calls a user function.

    python -m bench.transform                    # straight-line code, n = 10, 100, 1000
    python -m bench.transform --large            # ... and n = 10000 (about a minute)
    python -m bench.transform --shapes           # every shape at n = 1000
    python -m bench.transform --sizes 100,300 --hash   # also a hash of each generated text

CPU time is reported next to wall time: on a shared machine it is the steadier
of the two.  See bench/README.md ("Transformation time") for measurements.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
import tempfile
import time

if __package__ in (None, ""):  # run as `python bench/transform.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sct  # noqa: E402

SHAPES = ("straight", "loop", "branches", "lists", "helpers")


def _statements(n: int, indent: str, first: str) -> tuple[list[str], list[str]]:
    """n statements ``v{i} = math.sin(a) op b * 0.5``, a and b earlier names; (lines, names)."""
    lines, names = [], [first]
    for i in range(n):
        a, b = names[i % len(names)], names[(i * 7 + 3) % len(names)]
        lines.append(f"{indent}v{i} = math.sin({a}) {'+*-'[i % 3]} {b} * 0.5")
        names.append(f"v{i}")
    return lines, names


def source(shape: str, n: int) -> str:
    """The text of a module defining ``f(x, y)`` of about n statements of the given shape."""
    if shape == "straight":
        body, names = _statements(n, "    ", "a")
        lines = ["def f(x, y):", "    a = x * y", *body, f"    return {names[-1]} + {names[len(names) // 2]}"]
    elif shape == "loop":
        body, names = _statements(n, "        ", "s")
        lines = ["def f(x, y):", "    s = x * y", "    for i in range(3):", *body,
                 f"        s = {names[-1]} * 0.1 + s * 0.2", "    return s"]
    elif shape == "branches":
        lines = ["def f(x, y):", "    s = x * y"]
        for i in range(max(1, n // 3)):
            lines += [f"    if s > {0.1 * (i % 7):.1f}:", f"        s = math.sin(s) + y * {0.5 + i % 3}", "    else:",
                      f"        s = s * x - {0.01 * (i % 5):.2f}"]
        lines.append("    return s")
    elif shape == "lists":
        lines = ["def f(x, y):", "    xs = [x, y]"]
        for i in range(max(1, n // 2)):
            lines += [f"    t{i} = math.sin(xs[{i}]) * xs[{i + 1}]", f"    xs.append(t{i})"]
        lines.append("    return xs[-1] + xs[len(xs) // 2]")
    elif shape == "helpers":
        lines = ["def g(u, v):", "    return math.sin(u) * v + u", "", "", "def f(x, y):", "    a = x * y"]
        names = ["a"]
        for i in range(n):
            a, b = names[i % len(names)], names[(i * 7 + 3) % len(names)]
            lines.append(f"    v{i} = g({a}, {b})" if i % 4 == 0 else f"    v{i} = math.sin({a}) + {b} * 0.5")
            names.append(f"v{i}")
        lines.append(f"    return {names[-1]} + {names[len(names) // 2]}")
    else:
        raise ValueError(f"unknown shape {shape!r}; one of {', '.join(SHAPES)}")
    return "import math\n\n\n" + "\n".join(lines) + "\n"


def program(shape: str, n: int, directory: str | None = None):
    """``f`` of :func:`source` (shape, n), written to a file in ``directory`` (a temporary one if None) and imported."""
    directory = directory or tempfile.mkdtemp(prefix="sct_transform_")
    name = f"sct_transform_{shape}_{n}"
    path = os.path.join(directory, name + ".py")
    with open(path, "w") as out:
        out.write(source(shape, n))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def measure(shape: str, n: int, mode: str, directory: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, sha256 of the text) of generating f's gradient program in ``mode``."""
    f = program(shape, n, directory)
    g = sct.grad(f, wrt=(0, 1), mode=mode)
    wall, cpu = time.perf_counter(), time.process_time()
    g(0.3, 0.4)  # the first call generates, compiles (and runs) the program
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, hashlib.sha256(sct.source(g).encode()).hexdigest()[:16]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None, help="comma-separated statement counts (default 10,100,1000)")
    parser.add_argument("--large", action="store_true", help="also 10000 statements")
    parser.add_argument("--shapes", nargs="?", const=",".join(SHAPES), default="straight",
                        help="comma-separated shapes (alone: all of them, at 1000 statements unless --sizes)")
    parser.add_argument("--modes", default="reverse,forward")
    parser.add_argument("--hash", action="store_true", help="print a hash of each generated text")
    args = parser.parse_args(argv)
    shapes = args.shapes.split(",")
    default = "1000" if shapes != ["straight"] else "10,100,1000"
    sizes = [int(s) for s in (args.sizes or default).split(",")] + ([10000] if args.large else [])
    directory = tempfile.mkdtemp(prefix="sct_transform_")
    print(f"| shape | statements | mode | wall s | CPU s | CPU ms / statement |{' text |' if args.hash else ''}")
    print(f"| --- | ---: | --- | ---: | ---: | ---: |{' --- |' if args.hash else ''}")
    for shape in shapes:
        for n in sizes:
            for mode in args.modes.split(","):
                wall, cpu, digest = measure(shape, n, mode, directory)
                print(f"| {shape} | {n} | {mode} | {wall:.2f} | {cpu:.2f} | {1000 * cpu / n:.2f} |"
                      + (f" {digest} |" if args.hash else ""), flush=True)


if __name__ == "__main__":
    main()
