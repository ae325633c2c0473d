"""The one number formatting policy (`exprgraph/core/numbers.py`): hand-worked values,
and a scan that no other module writes numbers its own way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exprgraph.core.numbers import (
    factor,
    format_number,
    format_value,
    short_value,
    six_digits,
    table_value,
)

PACKAGE = Path(__file__).resolve().parent.parent / "exprgraph"


@pytest.mark.parametrize(("value", "text"), [
    (3.0, "3"), (-2.0, "-2"), (0.1, "0.1"), (1 / 3, "0.3333333333333333"), (1e16, "1e+16"),
    (123456789.0, "123456789"), (2.5e-7, "2.5e-07"),
])
def test_a_literal_is_the_shortest_text_that_parses_back(value: float, text: str) -> None:
    assert format_number(value) == text
    assert float(text) == value


@pytest.mark.parametrize(("value", "text"), [
    (3.0, "3"), (1 / 3, "0.333333333333"), (float("inf"), "inf"), (float("nan"), "nan"),
    (1e15, "1e+15"), (999999999999999.0, "999999999999999"), (-0.5, "-0.5"),
])
def test_a_table_value_has_twelve_digits(value: float, text: str) -> None:
    assert format_value(value) == text


def test_an_explanation_value_has_six_digits_and_whole_integers() -> None:
    assert short_value(1 / 3) == "0.333333"
    assert short_value(123456789.0) == "123456789"
    assert six_digits(123456789.0) == "1.23457e+08"  # a narrow column
    assert short_value(6.123233995736766e-17) == "6.12323e-17"
    assert short_value(6.123233995736766e-17, noise=True) == "0"  # cos(pi/2) is 0
    assert table_value(1.2246467991473532e-16, noise=True) == "0"
    assert table_value(0.5, noise=True) == "0.5"  # not tiny: never noise


def test_a_negative_factor_is_parenthesised() -> None:
    assert factor(-3.0, "-3") == "(-3)"
    assert factor(2.0, "2") == "2"
    assert factor(-1e-17, "0") == "0"  # noise read as 0 needs no brackets


def test_no_other_module_formats_numbers_itself() -> None:
    """Every `:.6g`, `:.12g` and shortest-repr number goes through core/numbers.py."""
    own = re.compile(r":\.(6|12)g\}|repr\(value\)")  # other digit counts: one use each
    offenders = [f"{path.relative_to(PACKAGE)}:{number}"
                 for path in sorted(PACKAGE.rglob("*.py")) if path.name != "numbers.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if own.search(line)]
    assert offenders == []


def test_a_folded_constant_must_read_as_exactly_as_its_operands() -> None:
    from exprgraph.core.numbers import reads_exactly

    assert reads_exactly(6.0, ["2", "3"])  # 2*3
    assert reads_exactly(0.25, ["0.5", "0.5"])  # 4 characters, 3 + 2 allowed
    assert not reads_exactly(1 / 3, ["1", "3"])  # 0.3333333333333333
    assert reads_exactly(0.0, iter([str(float("-inf"))]))  # whole: operands never read


def test_no_other_module_judges_a_fold_itself() -> None:
    assert _where_fold() == []


def _where_fold() -> list[str]:
    own = re.compile(r"len\(format_number\(value\)\)")
    return [f"{path.relative_to(PACKAGE)}:{number}"
            for path in sorted(PACKAGE.rglob("*.py")) if path.name != "numbers.py"
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if own.search(line)]
