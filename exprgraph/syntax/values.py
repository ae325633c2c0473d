"""Tensor values as users type them: `[1, 2, 3]` (a vector), `[[1, 2], [3, 4]]` (a matrix).

The bracket syntax of JSON and NumPy, read by a small scanner of our own (no
`eval`, no recursion: a value is at most a list of lists). Each number is a
decimal as in programs (`-2.5`, `1e-3`, `.5`), read as a float64; the result
is a NumPy float64 array of rank 1 or 2 with its `Shape`.

Refused, each with a message naming the value and the place: ragged rows,
empty lists, anything that is not a number (names, `nan`, `inf`, a number
beyond the largest float), deeper nesting than a matrix, and more than
MAX_ELEMENTS numbers.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from ..core.errors import ValueInputError
from ..core.shapes import Shape, check_rectangular, matrix, vector

if TYPE_CHECKING:
    import numpy as np

MAX_ELEMENTS = 10_000_000  # 80 MB of float64: far beyond any value typed or kept in a file
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SPACE = re.compile(r"[ \t\r\n]*")


def looks_like_tensor(text: str) -> bool:
    """Whether a typed value is meant as a list: it starts with "["."""
    return text.lstrip().startswith("[")


def parse_tensor(name: str, text: str) -> tuple[np.ndarray, Shape]:
    """`text` as a vector or matrix value of input `name`."""
    rows: list[list[float]] = []  # a matrix's rows
    flat: list[float] = []  # a vector's numbers
    depth = 0
    current: list[float] = flat  # where the next number goes
    position = _skip(text, 0)
    if not text.startswith("[", position):
        raise _error(name, text, position, "a list starts with [")
    count = 0
    expect_item = True  # after "[" or ",": a number or "[" comes next
    while True:
        position = _skip(text, position)
        if position >= len(text):
            raise _error(name, text, position, "the list is not closed with ]")
        char = text[position]
        if char == "[":
            if not expect_item or depth >= 2 or (depth == 1 and flat):
                raise _error(name, text, position, "only vectors [1, 2] and matrices "
                             "[[1, 2], [3, 4]] are values; this nests deeper or mixes "
                             "numbers and lists")
            depth += 1
            if depth == 2:
                current = []
                rows.append(current)
            position += 1
            continue
        if char == "]":
            if expect_item and not _just_opened(text, position):
                raise _error(name, text, position, "a number is missing before ]")
            if depth == 2 and not current:
                raise _error(name, text, position, "an empty row []")
            depth -= 1
            position += 1
            expect_item = False
            if depth == 0:
                break
            continue
        if char == ",":
            if expect_item:
                raise _error(name, text, position, "a number is missing before ,")
            expect_item = True
            position += 1
            continue
        if not expect_item:
            raise _error(name, text, position, "a , or ] is missing")
        match = _NUMBER.match(text, position)
        if match is None:
            word = re.match(r"[^,\[\] \t\r\n]+", text[position:])
            shown = word.group(0) if word else text[position]
            raise _error(name, text, position, f"{shown!r} is not a number")
        number = float(match.group(0))
        if not math.isfinite(number):
            raise _error(name, text, position, f"{match.group(0)} is beyond the largest "
                         "float (about 1.8e308)")
        if depth == 1 and rows:
            raise _error(name, text, position, "only vectors [1, 2] and matrices "
                         "[[1, 2], [3, 4]] are values; this mixes numbers and lists")
        current.append(number)
        count += 1
        if count > MAX_ELEMENTS:
            raise ValueInputError(f"the value of {name} has more than {MAX_ELEMENTS:,} "
                                  "numbers", variable=name)
        position = match.end()
        expect_item = False
    rest = _skip(text, position)
    if rest < len(text):
        raise _error(name, text, rest, "text after the closing ]")
    import numpy as np  # only for a value in brackets: start-up stays light

    if rows:
        return _matrix(name, rows)
    if not flat:
        raise ValueInputError(f"the value of {name} is an empty list", variable=name,
                              hint="a vector has at least one number: [1, 2, 3]")
    return np.array(flat, dtype=np.float64), vector(len(flat))


def _matrix(name: str, rows: list[list[float]]) -> tuple[np.ndarray, Shape]:
    check_rectangular(name, rows)
    import numpy as np

    return np.array(rows, dtype=np.float64), matrix(len(rows), len(rows[0]))


def _skip(text: str, position: int) -> int:
    match = _SPACE.match(text, position)
    return match.end() if match else position


def _just_opened(text: str, position: int) -> bool:
    """Whether the "]" at `position` closes a "[" with nothing in it."""
    before = text[:position].rstrip()
    return before.endswith("[")


def _error(name: str, text: str, position: int, problem: str) -> ValueInputError:
    column = position + 1
    shown = text if len(text) <= 60 else text[:57] + "..."
    return ValueInputError(f"the value of {name} is not a vector or matrix: {problem} "
                           f"(at character {column} of {shown!r})", variable=name,
                           hint="write a vector as [1, 2, 3] and a matrix as "
                           "[[1, 2], [3, 4]]")
