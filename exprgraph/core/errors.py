"""Typed errors raised by exprgraph's core.

The core never prints. Every mistake a user can make surfaces as one of these
exceptions, carrying what a front end needs to explain it: a kind (stable, for
JSON), a message, the exit status the CLI should use, and where known the
source position (1-based line and column) and the offending source line.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from .records import Record

if TYPE_CHECKING:
    import re

EXIT_MATH = 1
EXIT_USAGE = 2

# A name or token a message quotes is cut to this many characters (a 1,000,000-
# character unknown function name must not make a 1 MB error message).
QUOTE_LIMIT = 60


@functools.cache
def _long_word() -> re.Pattern[str]:
    # Compiled when a long message first needs it, not at import: a one-shot
    # command that warns of nothing needs no regex here (issue 17's start-up).
    import re

    return re.compile(rf"\w{{{QUOTE_LIMIT + 1},}}")


def shortened(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` cut to `limit` characters with '…' where it is longer."""
    return text if len(text) <= limit else text[:limit] + "…"


def shorten_quoted(message: str) -> str:
    """`message` with every name or number in it longer than QUOTE_LIMIT
    characters shortened (`aaaa…`): what every error and warning does."""
    if len(message) <= QUOTE_LIMIT:
        return message  # no word in it can be longer
    return _long_word().sub(lambda m: shortened(m.group()), message)


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


# A plain class rather than a frozen dataclass, for start-up: see core/records.py.
class SourceWarning(Record):
    """Something in the program that is valid but probably not what was meant.

    Not an exception: the program still compiles; a front end shows these
    (the CLI on stderr, JSON under `warnings`). `kind` is stable, for JSON.
    Immutable, and equal to another with the same fields.
    """

    __slots__ = _fields = ("kind", "message", "line", "column", "source_line", "hint")
    kind: str
    message: str
    line: int
    column: int
    source_line: str
    hint: str | None

    def __init__(self, kind: str, message: str, line: int, column: int, source_line: str = "",
                 hint: str | None = None) -> None:
        _set = object.__setattr__
        _set(self, "kind", kind)
        _set(self, "message", shorten_quoted(message))
        _set(self, "line", line)
        _set(self, "column", column)
        _set(self, "source_line", source_line)
        _set(self, "hint", shorten_quoted(hint) if hint else hint)

    def __repr__(self) -> str:
        return f"<SourceWarning {self.kind} at {self.line}:{self.column}>"

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
