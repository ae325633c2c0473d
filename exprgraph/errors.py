"""Typed errors raised by exprgraph's core.

The core never prints. Every mistake a user can make surfaces as one of these
exceptions, carrying what a front end needs to explain it: a kind (stable, for
JSON), a message, the exit status the CLI should use, and where known the
source position (1-based line and column) and the offending source line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXIT_MATH = 1
EXIT_USAGE = 2


class ExprGraphError(Exception):
    """Base class of every error exprgraph raises for a user's input."""

    kind = "error"
    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
        hint: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.source_line = source_line
        self.hint = hint
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The error as a JSON-ready dict: kind, message, and what else is known."""
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.line is not None:
            out["line"] = self.line
            out["column"] = self.column
        if self.hint:
            out["hint"] = self.hint
        out.update(self.details)
        return out


class ParseError(ExprGraphError):
    """The text is not a valid program: a bad character, token or end."""

    kind = "parse"


class ProgramError(ExprGraphError):
    """The text parses but means nothing: unknown function, name reassigned, ..."""

    kind = "program"


class ValueInputError(ExprGraphError):
    """A value the user supplied for an input is missing or not a number."""

    kind = "value"


class MathError(ExprGraphError):
    """Evaluation failed: a domain error, division by zero or overflow."""

    kind = "math"
    exit_code = EXIT_MATH


class ExpressionTooLargeError(ExprGraphError):
    """A result (usually a symbolic derivative) would be too large to print."""

    kind = "too_large"
    exit_code = EXIT_MATH


@dataclass(frozen=True, slots=True)
class SourceWarning:
    """Something in the program that is valid but probably not what was meant.

    Not an exception: the program still compiles; a front end shows these
    (the CLI on stderr, JSON under `warnings`). `kind` is stable, for JSON.
    """

    kind: str
    message: str
    line: int
    column: int
    source_line: str = ""
    hint: str | None = None

    def __str__(self) -> str:
        """One line: the message, where, and the hint."""
        text = f"{self.message} (line {self.line}, column {self.column})"
        return f"{text}; {self.hint}" if self.hint else text

    def to_dict(self) -> dict[str, Any]:
        """The warning as a JSON-ready dict."""
        out: dict[str, Any] = {"kind": self.kind, "message": self.message,
                               "line": self.line, "column": self.column}
        if self.hint:
            out["hint"] = self.hint
        return out
