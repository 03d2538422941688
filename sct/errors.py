"""Errors sct raises, each naming where in the user's source the problem is.

Every refusal is a :class:`TransformError` (or a subclass): sct never returns a
derivative it cannot vouch for.  Messages read like a compiler's::

    model.py:12:8: sct cannot differentiate a `try` statement
        try:
        ^
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


class TransformError(Exception):
    """sct cannot produce a correct derivative for this code.

    ``location`` (when known) says where; ``hint`` says what to do instead.
    """

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None):
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(f"{self.location}: {self.message}")
            if self.location.text:
                text = self.location.text.rstrip("\n")
                stripped = text.lstrip()
                indent = len(text) - len(stripped)
                parts.append("    " + stripped)
                parts.append("    " + " " * max(self.location.col - indent, 0) + "^")
        else:
            parts.append(self.message)
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


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


class NotBatchable(NoRuleError):
    """A tangent program that cannot carry several directions in one sweep (a rule declared
    ``not_batchable``, a list argument); the batched entry points then run one sweep per direction."""
