"""Batch results: a Rich table per file with a summary, or CSV rows.

Tables list failures always and successful problems up to a limit, so a
corpus of thousands stays readable while no error is hidden. CSV is in long
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

from ..evaluate import format_value
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


def error_text(error: dict[str, Any]) -> str:
    """An error dict in one line: `[line L, column C] message (hint)`; a
    position in a TOML problem's program says so (`... of the program`)."""
    where = ""
    if "line" in error:
        where = f"line {error['line']}, column {error['column']}"
        where += " of the program: " if error.get("located_in") == "program" else ": "
    hint = f" ({error['hint']})" if error.get("hint") else ""
    return f"{where}{error['message']}{hint}"


def file_table(path: str, results: list[dict[str, Any]], max_rows: int) -> RenderableType:
    """One file's problems: value and gradient, or the error."""
    # Paths and problem names are the user's text: Text, never markup.
    table = Table(title=Text(path), title_justify="left")
    table.add_column("problem", style="bold")
    table.add_column("output")
    table.add_column("value", justify="right")
    table.add_column("gradient / error")
    shown = 0
    hidden = 0
    for result in results:
        label = Text(result["source"][len(path) + 1:] or result["source"])
        if "error" in result:
            table.add_row(label, "", Text("error", style="bold red"),
                          Text(error_text(result["error"]), style="red"))
            continue
        if max_rows and shown >= max_rows:
            hidden += 1
            continue
        shown += 1
        gradient = ", ".join(f"{k}={format_value(v)}" for k, v in result["gradient"].items())
        table.add_row(label, Text(result["output"]), format_value(result["value"]),
                      Text(gradient))
    if hidden:
        table.caption = (f"{hidden} more successful problems not shown: --max-rows 0 shows "
                         "all, --format jsonl gives everything")
    return never_cut(table)


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
                 error_text(result["error"])]]
    base = [result["source"], result["program"], result["output"], repr(result["value"])]
    derivatives = result.get("derivatives", {})
    rows = [[*base, name, repr(result["inputs"].get(name, 0.0)), repr(partial),
             derivatives.get(name, ""), ""] for name, partial in result["gradient"].items()]
    return rows or [[*base, "", "", "", "", ""]]
