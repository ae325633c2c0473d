"""Errors and warnings as Rich text: the message, the source line with a caret, a hint."""

from __future__ import annotations

import unicodedata
from typing import Any

from rich.text import Text

from ..core.errors import ExprGraphError, SourceWarning
from .console import VERBATIM


def error_text(error: ExprGraphError) -> Text:
    """`error: ...`, then the offending line with a caret under the column."""
    return _located("error: ", "bold red", error.message, error.line, error.column,
                    error.source_line, error.hint)


def error_line(error: dict[str, Any]) -> str:
    """An error as a batch result's JSON dict, in one line: `line L, column C:
    message (hint)`; a position in a TOML problem's program says so (`... of
    the program`). `error_text` is the same for an error object, with its caret."""
    where = ""
    if "line" in error:
        column = error.get("column")
        where = f"line {error['line']}" + (f", column {column}" if column is not None else "")
        where += " of the program: " if error.get("located_in") == "program" else ": "
    hint = f" ({error['hint']})" if error.get("hint") else ""
    return f"{where}{error['message']}{hint}"


def warning_text(warning: SourceWarning) -> Text:
    """`warning: ...`, then the line it is about with a caret, and the hint."""
    return _located("warning: ", "bold yellow", warning.message, warning.line,
                    warning.column, warning.source_line or None, warning.hint)


def _located(label: str, style: str, message: str, line: int | None, column: int | None,
             source_line: str | None, hint: str | None) -> Text:
    text = Text()
    # What may quote the user's text is verbatim: an output encoding without
    # one of its characters shows it escaped, not as a look-alike.
    text.append(label, style=style)
    text.append(message, style=VERBATIM)
    if source_line is not None and line:
        gutter = f"{line} | "
        text.append(f"\n  {gutter}", style="dim")
        shown, caret_at = _window(*_visible(source_line.expandtabs(1),
                                            max((column or 1) - 1, 0)))
        text.append(shown, style=VERBATIM)
        text.append("\n  " + " " * (len(gutter) - 2) + "| ", style="dim")
        text.append(" " * caret_at + "^", style=style)
    elif line:
        text.append(f" (line {line}, column {column})", style="dim")
    if hint:
        text.append("\nhint: ", style="bold cyan")
        text.append(hint, style=VERBATIM)
    return text


# Characters of a source line shown around the error (a 1 MB line is not echoed).
WINDOW = 60


def _window(line: str, at: int) -> tuple[str, int]:
    """`line` cut to WINDOW characters either side of column `at` (marked with
    '…' where cut), and the caret's position in what is shown."""
    if len(line) <= 2 * WINDOW + 1:
        return line, at
    start = max(at - WINDOW, 0)
    end = min(at + WINDOW + 1, len(line))
    shown = ("…" if start else "") + line[start:end] + ("…" if end < len(line) else "")
    return shown, at - start + (1 if start else 0)


# Characters that show nothing (controls such as NUL, formats such as a
# byte-order mark or a zero-width space): a quoted source line shows them
# escaped, `\ufeff`, so that the caret points at something visible.
INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


def _visible(line: str, at: int) -> tuple[str, int]:
    """`line` with its invisible characters escaped, and where column `at` is then."""
    if line.isprintable():
        return line, at
    pieces = [_escape(char) if unicodedata.category(char) in INVISIBLE else char
              for char in line]
    return "".join(pieces), sum(len(piece) for piece in pieces[:at])


def _escape(char: str) -> str:
    r"""`\x00`, `\ufeff`, `\U000e0001`: as Python writes the character in a string."""
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"
