"""Batch results: a Rich table per file with a summary, or CSV rows.

Tables list failed problems (up to 1,000 a file) and successful ones up to a
limit, so a corpus of thousands stays readable and its table stays small
however long the file; what is not shown is counted in the caption. CSV is in long
("tidy") form, one row per problem and input, so problems with different
inputs share one header.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..core.text import counted
from ..printing.values import value_text
from .errors import error_line
from .layout import never_cut

CSV_COLUMNS = ("source", "program", "output", "value", "input", "input_value", "partial",
               "derivative", "error")

# How the summary counts paths that gave no problems, by the FileError's
# `reason`: (one, several).
FILE_FAULTS = {
    "not_found": ("path not found", "paths not found"),
    "unreadable": ("file unreadable", "files unreadable"),
    "not_utf8": ("file not UTF-8 text", "files not UTF-8 text"),
    "malformed": ("file malformed", "files malformed"),
    "no_problem_files": ("folder without problem files", "folders without problem files"),
    "unreadable_folder": ("folder unreadable", "folders unreadable"),
    "not_a_problem_file": ("file not a problem file", "files not problem files"),
}
OTHER_FAULT = ("file with errors", "files with errors")


@dataclass
class Tally:
    """Counts for the summary line."""

    problems: int = 0
    failed: int = 0
    file_errors: int = 0
    faults: dict[str, int] = field(default_factory=dict)  # file errors by reason

    def add(self, result: dict[str, Any]) -> None:
        """Count one result (a problem's or a file error's)."""
        error = result.get("error", {})
        if error.get("kind") == "file":
            self.file_errors += 1
            reason = error.get("reason", "")
            self.faults[reason] = self.faults.get(reason, 0) + 1
            return
        self.problems += 1
        self.failed += "error" in result

    def summary(self) -> dict[str, Any]:
        """The counts as `batch --format json` ends its document with them."""
        return {"problems": self.problems, "ok": self.problems - self.failed,
                "failed": self.failed, "file_errors": self.file_errors,
                "faults": dict(self.faults)}

    def line(self, seconds: float) -> Text:
        """`N problems, N ok, N failed in T s`, then what went wrong with
        paths (`; 1 file malformed, 1 path not found`)."""
        ok = self.problems - self.failed
        noun = "problem" if self.problems == 1 else "problems"
        text = Text(f"{self.problems} {noun}, ")
        text.append(f"{ok} ok", style="green")
        text.append(", ")
        text.append(f"{self.failed} failed", style="bold red" if self.failed else "")
        text.append(f" in {seconds:.2f} s")
        if self.faults:
            said = []
            for reason, count in self.faults.items():
                one, several = FILE_FAULTS.get(reason, OTHER_FAULT)
                said.append(f"{count} {one if count == 1 else several}")
            text.append("; ")
            text.append(", ".join(said), style="bold red")
        return text


FAILURE_ROWS = 1_000  # failed problems listed per file table at most, unless max_rows is 0


class FileTable:
    """One file's table, built as its results arrive.

    Only the rows the table will show are kept (successes up to `max_rows`,
    failures up to `FAILURE_ROWS`; every row when `max_rows` is 0), as short
    strings, and the rest are counted: a line file of any length costs the
    memory of its table, not of its results.
    """

    def __init__(self, path: str, max_rows: int) -> None:
        self.path = path
        self.max_rows = max_rows
        # (label, output, value, gradient or error text, failed), in input order
        self.rows: list[tuple[str, str, str, str, bool]] = []
        self.shown = 0
        self.failures_shown = 0
        self.hidden = 0
        self.failures_hidden = 0

    def __len__(self) -> int:
        """How many results were added (shown or not)."""
        return len(self.rows) + self.hidden + self.failures_hidden

    def add(self, result: dict[str, Any]) -> None:
        """Keep the row of one result if the table shows it, else count it."""
        label = result["source"][len(self.path) + 1:] or result["source"]
        if "error" in result:
            if self.max_rows and self.failures_shown >= FAILURE_ROWS:
                self.failures_hidden += 1
                return
            self.failures_shown += 1
            self.rows.append((label, "", "", error_line(result["error"]), True))
            return
        if self.max_rows and self.shown >= self.max_rows:
            self.hidden += 1
            return
        self.shown += 1
        gradient = ", ".join(f"{k}={value_text(v, one_line=True)}"
                             for k, v in result["gradient"].items())
        self.rows.append((label, result["output"], value_text(result["value"], one_line=True),
                          gradient, False))

    def renderable(self) -> RenderableType:
        """The table: value and gradient, or the error, of each kept problem."""
        # Paths and problem names are the user's text: Text, never markup.
        table = Table(title=Text(self.path), title_justify="left")
        table.add_column("problem", style="bold")
        table.add_column("output")
        table.add_column("value", justify="right")
        table.add_column("gradient / error")
        for label, output, value, detail, failed in self.rows:
            if failed:
                table.add_row(Text(label), "", Text("error", style="bold red"),
                              Text(detail, style="red"))
            else:
                table.add_row(Text(label), Text(output), value, Text(detail))
        notes = []
        if self.failures_hidden:
            notes.append(f"{counted(self.failures_hidden, 'more failed problem')} not shown "
                         f"(the first {FAILURE_ROWS:,} are)")
        if self.hidden:
            notes.append(f"{counted(self.hidden, 'more successful problem')} not shown")
        if notes:
            # Numbers and our words only, no user text: safe as markup.
            table.caption = ("; ".join(notes) + ": --max-rows 0 shows all, "
                             "--format jsonl gives everything")
        return never_cut(table)


def file_table(path: str, results: Iterable[dict[str, Any]], max_rows: int) -> RenderableType:
    """One file's problems: value and gradient, or the error (see `FileTable`)."""
    table = FileTable(path, max_rows)
    for result in results:
        table.add(result)
    return table.renderable()


def csv_text(results: Iterable[dict[str, Any]], header: bool) -> str:
    """Results as CSV rows in long form (and the header line first if asked)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for result in results:
        for row in _csv_rows(result):
            writer.writerow(row)
    return buffer.getvalue()


def _csv_rows(result: dict[str, Any]) -> list[list[Any]]:
    if "error" in result:
        return [[result["source"], result.get("program", ""), "", "", "", "", "", "",
                 error_line(result["error"])]]
    base = [result["source"], result["program"], result["output"], repr(result["value"])]
    derivatives = result.get("derivatives", {})
    rows = [[*base, name, repr(result["inputs"].get(name, 0.0)), repr(partial),
             derivatives.get(name, ""), ""] for name, partial in result["gradient"].items()]
    return rows or [[*base, "", "", "", "", ""]]
