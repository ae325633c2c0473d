"""The one number formatting policy: every number the tool writes goes through here.

Each purpose has one function: a program literal (`format_number`, shortest text
that parses back), a value for a table or message (`format_value`, 12 digits),
a value in an explanation (`short_value`, 6 digits), a narrow column
(`six_digits`), a factor in a product (`factor`). Float noise, a tiny number
that the mathematics says is 0 (cos(pi/2) = 6.1e-17), reads as 0 where the
caller has judged it noise (`NOISE`, `is_tiny`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

NOISE = 1e-12
"""A nonzero number below this in size may be float noise where the maths gives 0."""


def is_tiny(value: float | None) -> bool:
    """Whether `value` is a finite nonzero number below `NOISE` in size."""
    return value is not None and math.isfinite(value) and 0 < abs(value) < NOISE


def format_number(value: float) -> str:
    """A float as the shortest text that parses back to it (3.0 prints as 3)."""
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def reads_exactly(value: float, operands: Iterable[str]) -> bool:
    """Whether a folded constant reads as exactly as the literals of its
    `operands`: a whole number (2*3 → 6), or a literal at most two characters
    longer than the widest operand (0.5*0.5 → 0.25, not 1/3 → 0.3333333333333333).
    `operands` is read only when `value` is not whole (it may be a generator)."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return True
    return len(format_number(value)) <= max(len(text) for text in operands) + 2


def format_value(value: float) -> str:
    """A float for a message or table: integers without '.0', else 12 digits."""
    if not math.isfinite(value):
        return str(value)  # inf, -inf, nan
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.12g}"


def table_value(value: float, noise: bool = False) -> str:
    """`format_value`, with float `noise` as 0, as explanations show it
    (`1.22464679915e-16` of cos(pi/2)*2 is `0`)."""
    if noise and is_tiny(value):
        return "0"
    return format_value(value)


def short_value(value: float, noise: bool = False) -> str:
    """A number for an explanation: 6 significant digits, integers whole; float
    `noise` as 0, so `2.4674·6.12323399574e-17` reads `2.4674·0`."""
    if noise and is_tiny(value):
        return "0"
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return six_digits(value)


def six_digits(value: float) -> str:
    """6 significant digits, always (a narrow column: 123456789 reads 1.23457e+08)."""
    return f"{value:.6g}"


def factor(value: float, text: str) -> str:
    """`text`, the written form of `value`, ready to be a factor in a product:
    parenthesised when negative, so `2·(-3)` never reads as a subtraction."""
    return f"({text})" if value < 0 and text != "0" else text
