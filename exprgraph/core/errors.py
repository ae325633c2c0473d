"""Typed errors raised by exprgraph's core.

The core never prints. Every mistake a user can make surfaces as one of these
exceptions, carrying what a front end needs to explain it: a kind (stable, for
JSON), a message, the exit status the CLI should use, and where known the
source position (1-based line and column) and the offending source line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

EXIT_MATH = 1
EXIT_USAGE = 2

# A name or token a message quotes is cut to this many characters (a 1,000,000-
# character unknown function name must not make a 1 MB error message).
QUOTE_LIMIT = 60
_LONG_WORD = re.compile(rf"\w{{{QUOTE_LIMIT + 1},}}")


def shortened(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` cut to `limit` characters with '…' where it is longer."""
    return text if len(text) <= limit else text[:limit] + "…"


def shorten_quoted(message: str) -> str:
    """`message` with every name or number in it longer than QUOTE_LIMIT
    characters shortened (`aaaa…`): what every error and warning does."""
    return _LONG_WORD.sub(lambda m: shortened(m.group()), message)


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
        message = shorten_quoted(message)
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.source_line = source_line
        self.hint = shorten_quoted(hint) if hint else hint
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


class ShapeError(ExprGraphError):
    """Shapes that do not fit an operation (a 3×2 matrix @ a vector of length 3),
    found before anything is computed."""

    kind = "shape"


class FileError(ExprGraphError):
    """A problem file cannot be read, decoded or parsed as a whole (or a path
    names no problem file). `details["reason"]` says which: one of the reasons
    listed in `tasks/problems.py` (`not_found`, `unreadable`, ...)."""

    kind = "file"


class ToolMissingError(ExprGraphError):
    """An external program the asked-for output needs is not installed."""

    kind = "missing_tool"


class ValueInputError(ExprGraphError):
    """A value the user supplied for an input is missing or not a number."""

    kind = "value"


class MathError(ExprGraphError):
    """Evaluation failed: a domain error, division by zero or overflow."""

    kind = "math"
    exit_code = EXIT_MATH


class CoefficientOverflowError(MathError):
    """A coefficient the simplifier computes is beyond the largest float (≈ 1.8e308).

    A plain simplification answers it by keeping the exact, unsimplified
    form; a derivative whose coefficient overflows reports it as a math
    error."""


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", shorten_quoted(self.message))
        if self.hint:
            object.__setattr__(self, "hint", shorten_quoted(self.hint))

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
