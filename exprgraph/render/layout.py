"""Tables that never cut maths off.

Rich shortens a cell that does not fit with '…'. For formulas and numbers that
is wrong: a reader copies them. Every column here folds onto more lines
instead, and formulas too long to read in a cell move below the table as
numbered notes.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

# A formula longer than this reads better below the table than folded in a cell.
NOTE_AFTER = 120
# Beyond this a formula is not printed in a table view at all, only referred to.
PRINT_AT_MOST = 20_000


def never_cut(table: Table) -> Table:
    """Make every column of `table` fold long text onto more lines instead of
    cutting it. (No minimum widths: where they add up to more than the
    terminal, Rich crops whole columns.)"""
    for column in table.columns:
        column.overflow = "fold"
        column.no_wrap = False
    return table


class Notes:
    """Formulas moved out of a table's cells, printed below it as [1] ..., [2] ..."""

    def __init__(self, how_to_get_all: str) -> None:
        self.lines: list[Text] = []
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
            self.lines.append(Text(f"[{number}] {label} = {formula}", overflow="fold"))
        return f"see [{number}] below"

    def below(self, table: RenderableType) -> RenderableType:
        """The table, followed by its notes (if any)."""
        return Group(table, *self.lines) if self.lines else table


class WideOrNarrow:
    """The wide table where its numbers and labels fit whole and its formulas
    get at least FORMULA_ROOM columns; the narrow one (fewer columns, the
    same content) otherwise. Decided at render time, for the actual width."""

    FORMULA_ROOM = 16

    def __init__(self, wide: Table, narrow: RenderableType, formula_columns: set[int]) -> None:
        self.wide, self.narrow, self.formula_columns = wide, narrow, formula_columns

    def needed_width(self) -> int:
        """Columns the wide table needs: whole numbers and labels, some room for formulas."""
        total = 1
        for k, column in enumerate(self.wide.columns):
            cells = [str(cell) for cell in column.cells] + [str(column.header)]
            widest = max(len(line) for cell in cells for line in cell.split("\n"))
            if k in self.formula_columns:
                widest = min(widest, self.FORMULA_ROOM)
            total += widest + 3
        return total

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.wide if self.needed_width() <= options.max_width else self.narrow
