"""Values as table cells: numbers, and vectors and matrices inline or summarised.

A float prints as everywhere else (`core.numbers.format_value`). A vector or
matrix with at most `INLINE_ELEMENTS` numbers prints whole, in the bracket
syntax values are typed in (`[0.76, -0.46]`, `[[1, 2], [3, 4]]`); a larger
one prints as a summary (its first and last elements, or for a matrix its
smallest, mean and largest), unless `full` asks for every number. Arrays
are read by duck typing (`ndim`, `flat`), so NumPy is not imported here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.numbers import format_value
from ..core.shapes import Shape

INLINE_ELEMENTS = 6  # at most this many numbers print inline, as [a, b, c]
_ENDS = 3  # a long vector shows this many numbers at each end


def shape_text(shape: Shape) -> str:
    """A shape in a table cell: `scalar`, `3` (a vector), `row 3`, `3×2`."""
    if shape.is_scalar:
        return "scalar"
    if shape.rank == 1:
        return f"row {shape.dims[0]}" if shape.row else f"{shape.dims[0]}"
    return "×".join(str(d) for d in shape.dims)


def value_text(value: Any, full: bool = False, one_line: bool = False) -> str:
    """A number, or a vector or matrix: whole, each number to 4 significant
    digits (a small one), every number in full (`full`), or summarised. A
    matrix prints a row per line, unless `one_line`. Nested lists (a value
    as JSON data) print as the array they hold."""
    if isinstance(value, list):
        import numpy as np  # the value was computed with it: already loaded

        value = np.asarray(value, dtype=np.float64)
    if not hasattr(value, "ndim") or value.ndim == 0:
        return format_value(float(value))
    if full:
        return bracketed(value, format_value, one_line)
    if value.size <= INLINE_ELEMENTS:
        return bracketed(value, short, one_line)
    if value.ndim == 1:
        head = ", ".join(short(v) for v in value[:_ENDS])
        tail = ", ".join(short(v) for v in value[-_ENDS:])
        return f"[{head}, …, {tail}]"
    return f"min {short(value.min())}, mean {short(value.mean())}, max {short(value.max())}"


def short(number: Any) -> str:
    """A number to 4 significant digits (as NumPy's summaries are terse)."""
    return format_value(float(f"{float(number):.4g}"))


def bracketed(value: Any, number: Callable[[Any], str], one_line: bool = False) -> str:
    """Every number, in the bracket syntax values are typed in."""
    if value.ndim == 1:
        return "[" + ", ".join(number(float(v)) for v in value) + "]"
    # A matrix row by row, one per line: it reads as a matrix in a cell.
    joint = ", " if one_line else ",\n "
    return "[" + joint.join(bracketed(row, number) for row in value) + "]"


def plain(value: Any) -> Any:
    """A value for JSON: a float, or nested lists of floats."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
