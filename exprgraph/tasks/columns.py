"""Fit's data: the columns of a CSV file as float arrays.

A header row names the columns; each used column must hold finite numbers
(plain ASCII digits, point and exponent), or the error names the line and
the column. The file is read up to `MAX_CSV_CHARS`, never whole beyond it.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from ..core.errors import ValueInputError


def read_csv(path: str | Path, used: Collection[str] | None = None
             ) -> tuple[dict[str, Any], int]:
    """Columns of a CSV file with a header row, as float arrays, and the row
    count; see `parse_csv` for `used`."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            text = handle.read(MAX_CSV_CHARS + 1)  # never all of /dev/zero
    except OSError as exc:
        raise ValueInputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueInputError(f"{path} is not UTF-8 text") from None
    if len(text) > MAX_CSV_CHARS:
        raise ValueInputError(f"{path} is larger than {MAX_CSV_CHARS // 1_000_000} million "
                              "characters, the limit for fit's data",
                              hint="fit a sample of the rows")
    return parse_csv(text, str(path), used)


def _csv_reason(error: csv.Error) -> str:
    """What is wrong with the CSV text, in our words rather than the csv module's."""
    if "field larger than field limit" in str(error):
        return (f"a cell is longer than {csv.field_size_limit():,} characters, the limit for "
                "one cell (a number is far shorter)")
    return f"not valid CSV ({error})"


# fit holds the data in memory as float arrays (and the text while reading it).
MAX_CSV_CHARS = 200_000_000


def parse_csv(text: str, name: str, used: Collection[str] | None = None
              ) -> tuple[dict[str, Any], int]:
    """Columns of CSV text with a header row, as float arrays, and the row count.

    Blank lines are skipped; a UTF-8 byte order mark is not part of the first
    name. Every cell of a `used` column (default: every column) must be a
    finite number, or the error names the line and the column; another column
    is kept only if all its cells are finite numbers (an ID or a label column
    is simply left out). `name` names the text in errors."""
    import numpy as np

    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header: list[str] | None = None
    cells: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if header is None:
                header = [cell.strip() for cell in row]
                _check_header(header, name, reader.line_num)
                continue
            if len(row) != len(header):
                raise ValueInputError(f"{name}, line {reader.line_num}: {len(row)} values for "
                                      f"{len(header)} columns")
            cells.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise ValueInputError(f"{name}, line {reader.line_num}: {_csv_reason(exc)}") from None
    if header is None or not cells:
        raise ValueInputError(f"{name} needs a header row and at least one row of data")
    columns: dict[str, Any] = {}
    for k, column in enumerate(header):
        if not column:
            continue  # a column without a name cannot be used
        strict = used is None or column in used
        values = _numbers([row[k] for row in cells], lines, name, column, strict)
        if values is not None:
            columns[column] = np.asarray(values)
    return columns, len(cells)


def _check_header(header: list[str], name: str, line: int) -> None:
    seen: set[str] = set()
    for column in header:
        if column and column in seen:
            raise ValueInputError(f"{name}, line {line}: column {column} appears twice in "
                                  "the header", hint="give each column its own name")
        seen.add(column)


_CSV_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|nan)",
                         re.IGNORECASE)  # inf/nan pass here to be refused as not finite


def _numbers(texts: list[str], lines: list[int], name: str, column: str,
             strict: bool) -> list[float] | None:
    """The cells of a column as finite floats; None (not `strict`) or an error
    naming the line (`strict`) where one is not."""
    values: list[float] = []
    for text, line in zip(texts, lines, strict=True):
        cell = text.strip()
        try:
            # float() also takes 1_0 (as 10) and non-ASCII digits: a CSV number
            # is plain ASCII digits, point, exponent.
            value = float(cell) if cell and _CSV_NUMBER.fullmatch(cell) else None
        except ValueError:
            value = None
        if value is not None and math.isfinite(value):
            values.append(value)
            continue
        if not strict:
            return None
        where = f"{name}, line {line}: "
        if not cell:
            raise ValueInputError(where + f"column {column} is empty", variable=column)
        if value is None:
            raise ValueInputError(where + f"{cell!r} in column {column} is not a number",
                                  variable=column)
        raise ValueInputError(where + f"{cell!r} in column {column} is not a finite number",
                              variable=column)
    return values
