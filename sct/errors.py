"""Errors sct raises, each naming where in the user's source the problem is.

Every refusal is a :class:`TransformError` (or a subclass): sct never returns a
derivative it cannot vouch for.  Messages read like a compiler's::

    model.py:12:8: sct cannot differentiate a `try` statement
        try:
        ^
    hint: move the error handling outside the differentiated function

A refusal inside a function that the differentiated function calls (a helper of
yours, in any module) is located at the call in the function you gave sct, and
carries the chain of calls down to the line refused (:attr:`TransformError.chain`)::

    model.py:20:11: in the call of helper: sct cannot differentiate a `try` statement
        return helper(x)
               ^
    call chain (outermost first):
        model.py:20:11  loss calls helper
        helpers.py:5:4  helper: sct cannot differentiate a `try` statement
            try:
    hint: move the error handling outside the differentiated function
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A place in user source: file name, 1-based line, 0-based column, the line's text."""

    filename: str
    line: int
    col: int
    text: str = ""

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Hop:
    """One step of a chain of calls: where it happens and what happens there."""

    location: Location
    text: str


class TransformError(Exception):
    """sct cannot produce a correct derivative for this code.

    ``location`` (when known) says where; ``hint`` says what to do instead.
    When the refused code is in a function that the differentiated function calls
    (directly or through others), ``location`` is the call in the outermost
    function and ``chain`` lists the calls down to the refused line
    (``chain[-1].location``, also :attr:`inner`), outermost first.
    """

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None):
        self.message = message
        self.location = location
        self.hint = hint
        self.chain: list[Hop] = []
        self.callee: str | None = None  # the function called at ``location``, when the refusal is inside it
        super().__init__(self._render())

    @property
    def inner(self) -> Location | None:
        """Where the refused code itself is (the end of the chain; ``location`` when there is no chain)."""
        return self.chain[-1].location if self.chain else self.location

    def called_from(self, location: Location, caller: str, callee: str) -> "TransformError":
        """Relocate this refusal to the call of ``callee`` in ``caller`` at ``location`` (one hop up the
        chain of calls); returns self, to re-raise."""
        if not self.chain and self.location is not None:
            self.chain.append(Hop(self.location, f"{callee}: {self.message}"))
        self.chain.insert(0, Hop(location, f"{caller} calls {callee}"))
        self.location, self.callee = location, callee
        self.args = (self._render(),)
        return self

    def _render(self) -> str:
        parts = []
        message = self.message if not self.chain else f"in the call of {self.callee}: {self.message}"
        if self.location is not None:
            parts.append(f"{self.location}: {message}")
            parts += _show(self.location, "    ")
        else:
            parts.append(message)
        if self.chain:
            parts.append("call chain (outermost first):")
            for hop in self.chain:
                parts.append(f"    {hop.location}  {hop.text}")
            parts += _show(self.chain[-1].location, "        ")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


def _show(location: Location, indent: str) -> list[str]:
    """The location's source line and a caret under its column."""
    if not location.text:
        return []
    text = location.text.rstrip("\n")
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    return [indent + stripped, indent + " " * max(location.col - lead, 0) + "^"]


class SourceError(TransformError):
    """The function's source cannot be retrieved (builtin, C extension, prompt lambda)."""


class UnsupportedSyntaxError(TransformError):
    """The function uses a construct sct does not differentiate (try, with, yield, ...)."""


class NoRuleError(TransformError):
    """A call to a function that has neither a derivative rule nor Python source."""


class AliasingError(TransformError):
    """An in-place write that could change another name's value behind sct's back."""


class ArgumentError(TransformError, TypeError):
    """A call-time problem: bad ``wrt``, a non-numeric argument, a non-scalar output for ``grad``."""


class ExportError(TransformError):
    """A derivative program that cannot be written as a stand-alone file (it reads a value sct cannot write out)."""


class VmapError(TransformError):
    """sct.vmap cannot vectorise this code soundly (a loop over batched values, an index that differs from
    example to example, a function without a batched form, ...)."""


class NotBatchable(NoRuleError):
    """A tangent program that cannot carry several directions in one sweep (a rule declared
    ``not_batchable``, a list argument); the batched entry points then run one sweep per direction."""
