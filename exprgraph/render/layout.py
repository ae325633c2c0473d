"""Tables that never cut maths off, and never break a number or a name.

Rich shortens a cell that does not fit with '…', and folds a long word at any
character. For formulas and numbers both are wrong: a reader copies them. So a
table is laid out here, for the width it is drawn at:

- columns of numbers (right-justified) and the first column (labels) keep
  their full width: a number is never broken;
- formula columns share the rest and wrap only after an operator or a comma
  (`2*x*cos(y) +` / `exp(x)`), never inside a name or a number;
- where even that does not fit, the table becomes a list of records (one
  `header: value` line each), which needs no columns at all;
- formulas too long to read in a cell move below the table as numbered notes.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

# A formula longer than this reads better below the table than folded in a cell.
NOTE_AFTER = 120
# Beyond this a formula is not printed in a table view at all, only referred to.
PRINT_AT_MOST = 20_000
# A formula column gets at least this many characters (or its longest piece).
FORMULA_ROOM = 8

# A number as format_value writes it: never broken, even inside a formula cell.
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
# Where a formula may break: after an operator, a comma, an opening bracket or a
# space (not after `=`: `c=0.5` stays together; nor after a comma before a digit:
# `2,000,000` stays together).
_PIECES = re.compile(r"(?:[^*/+,;( ]|,(?=\d))*(?:[*/+,;(]+|\s+|$)")


def formula_pieces(text: str) -> list[str]:
    """`text` cut where a line may break (the pieces join back to `text`)."""
    return [piece for piece in _PIECES.findall(text) if piece]


def wrap_formula(text: str, width: int, indent: str = "") -> str:
    """`text` with new lines so that no line is wider than `width`, breaking
    only between pieces (a piece wider than `width` alone is folded); lines
    that continue a line start with `indent`."""
    lines: list[str] = []
    width = max(width, len(indent) + 1)
    for paragraph in text.split("\n"):
        line = ""
        for piece in formula_pieces(paragraph):
            if line.strip() and len((line + piece).rstrip()) > width:
                lines.append(line.rstrip())
                line = indent + piece.lstrip()
            else:
                line += piece
            while len(line.rstrip()) > width:  # one piece longer than the column
                lines.append(line[:width])
                line = indent + line[width:]
        lines.append(line.rstrip())
    return "\n".join(lines)


def _longest_piece(text: str) -> int:
    return max((len(piece.strip()) for line in text.split("\n")
                for piece in formula_pieces(line)), default=0)


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.split("\n")), default=0)


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _literal(cell: Any) -> Any:
    """A string cell or title as Text, so that Rich shows it as it is: a
    problem name or file path with `[/]` in it is no markup (and no error)."""
    return Text(cell) if isinstance(cell, str) else cell


class Fitted:
    """A Rich table drawn without cutting or breaking numbers (see the module)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.columns = [[_plain(cell) for cell in column.cells] for column in table.columns]
        self.headers = [_plain(column.header) for column in table.columns]
        # Labels and numbers keep their width; a right-hand column holding words
        # ("undefined: the argument must be ...") wraps like a formula instead.
        self.whole = [(k == 0 or column.justify == "right")
                      and not any(" " in cell for cell in self.columns[k])
                      for k, column in enumerate(table.columns)]

    def _minimum(self, k: int) -> int:
        """Column k's narrowest width that breaks no number, name or header word."""
        header = max((len(word) for word in self.headers[k].split()), default=0)
        if self.whole[k]:
            return max([header, *(_longest_line(cell) for cell in self.columns[k])])
        pieces = max((_longest_piece(cell) for cell in self.columns[k]), default=0)
        numbers = max((len(number) for cell in self.columns[k]
                       for number in _NUMBER.findall(cell)), default=0)
        return max(header, min(pieces, FORMULA_ROOM), numbers)

    def _content(self, k: int) -> int:
        """Column k's width for its cells: its longest cell line (and its longest
        header word, since a header may wrap at spaces)."""
        header = max((len(word) for word in self.headers[k].split()), default=0)
        return max([header, *(_longest_line(cell) for cell in self.columns[k])])

    def _widest(self, k: int) -> int:
        """Column k's natural width: its cells' and its header's, whole."""
        header = max((len(line) for line in self.headers[k].split("\n")), default=0)
        return max(header, self._content(k))

    def needed_width(self) -> int:
        """The narrowest terminal this table fits as a table."""
        count = len(self.columns)
        return sum(self._minimum(k) for k in range(count)) + 3 * count + 1

    def widths(self, available: int) -> list[int]:
        """Content widths: whole columns at their widest cell, formula columns
        sharing the rest, each at least its minimum and at most its widest
        cell; then, where room is left, each header on one line (a header
        folded at its spaces, `= contribution` over two lines, reads badly)."""
        count = len(self.columns)
        widths = [self._content(k) if self.whole[k] else self._minimum(k) for k in range(count)]
        spare = available - (sum(widths) + 3 * count + 1)
        spare = _share(widths, spare, [k for k in range(count) if not self.whole[k]],
                       self._content)
        _share(widths, spare, list(range(count)), self._widest)
        return widths

    def _laid_out(self, available: int) -> Table:
        source = self.table
        widths = self.widths(available)
        # The caption goes below as a line of its own (see __rich_console__):
        # at the table's width it wrapped into a narrow column.
        table = Table(title=_literal(source.title), title_justify=source.title_justify,
                      show_lines=source.show_lines,
                      show_header=source.show_header, box=source.box)
        for k, column in enumerate(source.columns):
            table.add_column(_literal(column.header), justify=column.justify, style=column.style,
                             header_style=column.header_style, width=widths[k],
                             overflow="fold", no_wrap=False)
        # Each column's cells once: listing them per row made a 10,000-row
        # table quadratic.
        column_cells = [list(column.cells) for column in source.columns]
        for r, row in enumerate(source.rows):
            cells: list[RenderableType] = []
            for k in range(len(source.columns)):
                cell = column_cells[k][r]
                text = self.columns[k][r]
                if self.whole[k] or len(text) <= widths[k] or not isinstance(cell, str | Text):
                    cells.append(_literal(cell))
                else:
                    wrapped = wrap_formula(text, widths[k])
                    cells.append(Text(wrapped, style=cell.style) if isinstance(cell, Text)
                                 else wrapped)
            table.add_row(*cells, style=row.style, end_section=row.end_section)
        return table

    def records(self) -> RenderableType:
        """The rows as `header: value` lines, for a terminal too narrow for columns."""
        parts: list[RenderableType] = []
        if self.table.title:
            parts.append(Text(_plain(self.table.title), style="italic", overflow="fold"))
        for r in range(len(self.table.rows)):
            parts.append(Text(self.columns[0][r], style="bold", overflow="fold"))
            for k in range(1, len(self.columns)):
                label = self.headers[k].replace("\n", " ").strip() or "value"
                value = self.columns[k][r].replace("\n", "\n    ")
                parts.append(Formula(f"  {label}: {value}", indent="    "))
        if self.table.caption:
            parts.append(Text(_plain(self.table.caption), style="dim", overflow="fold"))
        return Group(*parts)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.needed_width() <= options.max_width:
            yield self._laid_out(options.max_width)
            if self.table.caption:
                yield Text(_plain(self.table.caption), style="dim")
        else:
            yield self.records()


def _share(widths: list[int], spare: int, growing: list[int], target: Any) -> int:
    """Grow the columns `growing` evenly toward `target(k)` out of `spare`
    characters; what is left of `spare`."""
    growing = [k for k in growing if widths[k] < target(k)]
    while spare > 0 and growing:
        share = max(spare // len(growing), 1)
        for k in list(growing):
            grow = min(share, target(k) - widths[k], spare)
            widths[k] += grow
            spare -= grow
            if widths[k] >= target(k):
                growing.remove(k)
            if spare <= 0:
                break
    return spare


def never_cut(table: Table) -> Fitted:
    """`table`, to be drawn without cutting or breaking numbers (see the module)."""
    return Fitted(table)


class WideOrNarrow:
    """The wide table where it fits as a table; the narrow one (fewer columns,
    the same content) otherwise, which itself falls back to records."""

    def __init__(self, wide: Fitted, narrow: Fitted) -> None:
        self.wide, self.narrow = wide, narrow

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.wide if self.wide.needed_width() <= options.max_width else self.narrow


class Formula:
    """A formula on lines of its own, wrapped after operators at the width it
    is drawn at (Rich would wrap only at spaces and fold names and numbers)."""

    def __init__(self, text: str, style: str = "", indent: str = "") -> None:
        self.text, self.style, self.indent = text, style, indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(wrap_formula(self.text, options.max_width, self.indent), style=self.style)


class Notes:
    """Formulas moved out of a table's cells, printed below it as [1] ..., [2] ..."""

    def __init__(self, how_to_get_all: str) -> None:
        self.lines: list[RenderableType] = []
        self.how_to_get_all = how_to_get_all

    def cell(self, label: str, formula: str) -> str:
        """`formula` itself if it is short, otherwise a reference to a note."""
        if len(formula) <= NOTE_AFTER:
            return formula
        number = len(self.lines) + 1
        if len(formula) > PRINT_AT_MOST:
            self.lines.append(Text(f"[{number}] {label}: {len(formula):,} characters, too "
                                   f"long to print here; {self.how_to_get_all}"))
        else:
            self.lines.append(Formula(f"[{number}] {label} = {formula}", indent="    "))
        return f"see [{number}] below"

    def below(self, table: RenderableType) -> RenderableType:
        """The table, followed by its notes (if any)."""
        return Group(table, *self.lines) if self.lines else table
