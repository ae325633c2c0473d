"""Consoles that write what their stream's encoding can carry.

On a UTF-8 stream a `FallbackConsole` is Rich's console; on Latin-1, cp1252 or
ASCII each character the encoding lacks is written as an ASCII stand-in (`∂`
as `d`), and text a user wrote (marked `VERBATIM`) is shown escaped instead.
`encoding_fallback` is the same policy as a codec error handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.table import Table
from rich.text import Text as RichText

# Output encodings without the symbols (Latin-1, cp1252, ASCII): what to write
# instead of each. Rich already draws ASCII boxes for such an encoding; these
# cover the maths and the drawings. A character missing here (and from the
# encoding) becomes "?" (see `fallback_for`).
ASCII_FALLBACKS = {
    "∂": "d", "∇": "grad", "·": "*", "×": "x", "÷": "/", "−": "-", "–": "-", "—": "-",
    "→": "->", "←": "<-", "↑": "^", "↓": "v", "⏎": "\\n", "…": "...", "≈": "~",
    "≤": "<=", "≥": ">=", "≠": "!=", "±": "+/-", "√": "sqrt", "Σ": "sum", "Π": "prod",
    "Δ": "Delta", "ε": "eps", "θ": "theta", "μ": "mu", "µ": "mu", "‖": "||",
    "✓": "+", "✗": "-", "\u2003": " ", "\u00a0": " ",
    "⁰": "^0", "¹": "^1", "²": "^2", "³": "^3", "⁴": "^4", "⁵": "^5", "⁶": "^6",
    "⁷": "^7", "⁸": "^8", "⁹": "^9", "ⁿ": "^n", "⁻": "^-", "ᵀ": "^T",
    "▁": "_", "▂": "_", "▃": "-", "▄": "-", "▅": "=", "▆": "=", "▇": "#", "█": "#",
    "•": "*", "─": "-", "│": "|", "┼": "+", "═": "=", "║": "|",
}


def fallback_for(char: str) -> str:
    """An ASCII stand-in for `char`, for an output encoding that lacks it."""
    return ASCII_FALLBACKS.get(char, "?")


# The combining overline that marks an adjoint (`x̅`, `o̅u̅t̅`) has no ASCII
# form: an overlined name is written `x_bar`, `out_bar` instead, so an adjoint
# never reads as the node's value.
OVERLINE = "\u0305"
BAR = "_bar"


def _overline_for(text: str, at: int) -> str:
    """The stand-in of the overline at `text[at]`: nothing inside an overlined
    name, `_bar` after its last character."""
    return "" if text[at + 2:at + 3] == OVERLINE else BAR


def _stand_ins(text: str, start: int, end: int) -> str:
    return "".join(_overline_for(text, k) if text[k] == OVERLINE else fallback_for(text[k])
                   for k in range(start, end))


def _encodes(encoding: str) -> Callable[[str], bool]:
    def can(char: str) -> bool:
        try:
            char.encode(encoding)
        except (UnicodeError, LookupError):
            return False
        return True
    return can


def for_encoding(text: str, encoding: str) -> str:
    """`text` with every character `encoding` cannot write replaced by its
    ASCII stand-in (`∂out/∂x` becomes `dout/dx` in ASCII; Latin-1 keeps `²`)."""
    if text.isascii() or encoding.replace("_", "-").lower().startswith("utf"):
        return text
    can = _encodes(encoding)
    return "".join(char if char.isascii() or can(char) else _stand_ins(text, k, k + 1)
                   for k, char in enumerate(text))


def encoding_fallback(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler (`errors="exprgraph-fallback"`): the ASCII
    stand-ins of the characters a stream's encoding cannot write."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return _stand_ins(error.object, error.start, error.end), error.end


# A style that marks text a user wrote (a source line, a character an error
# quotes): for an encoding that lacks a character, it is shown escaped (\u2202),
# never as a stand-in, which would misquote it (`unexpected character 'd'`).
VERBATIM = RichStyle.from_meta({"exprgraph": "verbatim"})


def _is_verbatim(part: RichText) -> bool:
    return any(isinstance(span.style, RichStyle) and span.style.meta.get("exprgraph") == "verbatim"
               for span in part.spans)


def _escaped(text: str, encoding: str) -> str:
    can = _encodes(encoding)
    return "".join(char if char.isascii() or can(char)
                   else char.encode("ascii", "backslashreplace").decode("ascii")
                   for char in text)


def _text_for(text: RichText, encoding: str) -> RichText:
    """A copy of the Rich `text` written for `encoding`, styles kept."""
    if text.plain.isascii():
        return text
    cuts = sorted({offset for span in text.spans for offset in (span.start, span.end)})
    copy = text.blank_copy()
    for part in text.divide(cuts) if cuts else [text]:
        written = _escaped if _is_verbatim(part) else for_encoding
        piece = RichText(written(part.plain, encoding), style=part.style)
        for span in part.spans:
            piece.stylize(span.style)
        copy.append_text(piece)
    return copy


class FallbackConsole(Console):
    """A Rich console that writes what its output encoding can carry.

    On a UTF-8 stream it is Rich's console. On another (Latin-1, cp1252,
    ASCII) Rich draws ASCII boxes, and this swaps each text for its ASCII
    stand-ins before it is laid out, so columns still line up: a table's
    cells and titles when the table is rendered (before it measures them),
    every other text and string as it is rendered.
    """

    def render_str(self, text: str, *args: Any, **kwargs: Any) -> RichText:
        """Rich's `render_str`, of the text written for this encoding."""
        return super().render_str(for_encoding(text, self.encoding), *args, **kwargs)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None
               ) -> Iterable[Segment]:
        """Rich's `render`, with texts and tables written for this encoding."""
        encoding = self.encoding
        if not encoding.startswith("utf"):
            if isinstance(renderable, RichText):
                renderable = _text_for(renderable, encoding)
            elif isinstance(renderable, Table):
                _table_for(renderable, encoding)
            else:
                from .layout import Fitted

                if isinstance(renderable, Fitted):  # it measured its cells: measure again
                    _table_for(renderable.table, encoding)
                    renderable = Fitted(renderable.table)
        return super().render(renderable, options)


def _table_for(table: Table, encoding: str) -> None:
    """Rewrite `table`'s texts in place for `encoding` (its title, caption,
    headers, footers and cells; a cell that is a table is done when drawn)."""

    def one(item: Any) -> Any:
        if isinstance(item, RichText):
            return _text_for(item, encoding)
        if isinstance(item, str):
            return for_encoding(item, encoding)
        return item

    table.title, table.caption = one(table.title), one(table.caption)
    for column in table.columns:
        column.header, column.footer = one(column.header), one(column.footer)
        column._cells = [one(cell) for cell in column._cells]
