"""Errors as Rich text: the message, the source line with a caret, a hint."""

from __future__ import annotations

from rich.text import Text

from ..errors import ExprGraphError


def error_text(error: ExprGraphError) -> Text:
    """`error: ...`, then the offending line with a caret under the column."""
    text = Text()
    text.append("error: ", style="bold red")
    text.append(error.message)
    if error.source_line is not None and error.line:
        gutter = f"{error.line} | "
        text.append(f"\n  {gutter}", style="dim")
        text.append(error.source_line.expandtabs(1))
        caret_at = max((error.column or 1) - 1, 0)
        text.append("\n  " + " " * (len(gutter) - 2) + "| ", style="dim")
        text.append(" " * caret_at + "^", style="bold red")
    elif error.line:
        text.append(f" (line {error.line}, column {error.column})", style="dim")
    if error.hint:
        text.append("\nhint: ", style="bold cyan")
        text.append(error.hint)
    return text
