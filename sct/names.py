"""Deterministic names for everything the compiler invents.

Conventions (documented in the README):

* ``dx``     — the tangent of ``x`` (forward mode), as in the lecture's dual program;
* ``x_bar``  — the adjoint of ``x`` (reverse mode);
* ``t1, t2`` — temporaries of three-address form, numbered in source order.

A name that would collide with one the user wrote (or one already handed out),
or that is a keyword or builtin, gets the next free numeric suffix: ``t3`` taken
-> ``t4``; ``dx`` taken -> ``dx_1``; the tangent of ``el`` is ``del_1``.
Same input, same names: nothing here depends on memory addresses or randomness.
"""
from __future__ import annotations

import builtins
import keyword
import re
from typing import Iterable


def _reserved(name: str) -> bool:
    """Python's keywords, soft keywords and builtins: never a generated name (``el`` -> tangent ``del``)."""
    return keyword.iskeyword(name) or keyword.issoftkeyword(name) or hasattr(builtins, name)


def identifier(text: str) -> str:
    """``text`` as a Python identifier: a lambda's ``<lambda>`` reads ``lambda_``, ``Model.<locals>.f``
    reads ``Model_locals_f`` (what a generated name is made from may be any function's name)."""
    if text.isidentifier():
        return text
    out = "_".join(part for part in re.split(r"\W+", text) if part) or "f"
    if out[0].isdigit():
        out = "_" + out
    return out + "_" if keyword.iskeyword(out) else out


def stem(fn) -> str:
    """What the names made for a function end or start in (``x_bar_h``, ``h_grad_call``): its name,
    ``lambda`` for a lambda (named ``<lambda>``), an identifier made of any other."""
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str):
        return "call"
    return name if name.isidentifier() else identifier(name).rstrip("_") or "call"


class Namer:
    """Hands out fresh names that avoid a fixed set of user names and each other."""

    def __init__(self, taken: Iterable[str] = ()):
        self.taken: set[str] = set(taken)
        self._temps = 0
        self._derived: dict[tuple[str, str], str] = {}

    def reserve(self, name: str) -> None:
        self.taken.add(name)

    def fresh(self, base: str) -> str:
        """``base`` itself if free, else ``base_1``, ``base_2``, ..."""
        base = identifier(base)
        if base not in self.taken and not _reserved(base):
            self.taken.add(base)
            return base
        i = 1
        while f"{base}_{i}" in self.taken:
            i += 1
        name = f"{base}_{i}"
        self.taken.add(name)
        return name

    def temp(self) -> str:
        """The next temporary of three-address form: t1, t2, ... (skipping taken ones)."""
        while True:
            self._temps += 1
            name = f"t{self._temps}"
            if name not in self.taken and f"d{name}" not in self.taken and f"{name}_bar" not in self.taken:
                self.taken.add(name)
                return name

    def _derive(self, kind: str, primal: str, base: str) -> str:
        key = (kind, primal)
        if key not in self._derived:
            self._derived[key] = self.fresh(base)
        return self._derived[key]

    def tangent(self, primal: str) -> str:
        """``dx`` for ``x``."""
        return self._derive("tangent", primal, f"d{primal}")

    def adjoint(self, primal: str) -> str:
        """``x_bar`` for ``x``."""
        return self._derive("adjoint", primal, f"{primal}_bar")
