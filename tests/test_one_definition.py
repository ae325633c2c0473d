"""Dead and doubled code stays gone: each helper below is written once, in core,
and every error type lives in core/errors.py (issue 13, item 5)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from exprgraph.core.ops import Op
from exprgraph.core.text import (
    bracket_end,
    closest,
    did_you_mean,
    source_line,
    split_top_level,
)

PACKAGE = Path(__file__).resolve().parent.parent / "exprgraph"


def _where(pattern: str) -> list[str]:
    """Every `file:line` of the package matching `pattern`."""
    found = re.compile(pattern)
    return [f"{path.relative_to(PACKAGE).as_posix()}:{number}"
            for path in sorted(PACKAGE.rglob("*.py"))
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if found.search(line)]


@pytest.mark.parametrize(("pattern", "home"), [
    (r"^def _?source_line\(", "core/text.py"),
    (r"^def _?error_text\(", "render/errors.py"),
    (r"get_close_matches\(", "core/text.py"),
    # The parenthesis scanner: matching brackets, splitting at top-level commas.
    (r"\(char == \"\(\"\) - \(char == \"\)\"\)", "core/text.py"),
])
def test_a_helper_is_written_once(pattern: str, home: str) -> None:
    places = _where(pattern)
    assert places and all(place.startswith(home + ":") for place in places), places


def test_every_error_kind_is_in_the_errors_module() -> None:
    """A new kind of error (a direct ExprGraphError, with its own `kind`) is
    core's; narrower internal catches such as check's AnswerError may stay put."""
    outside = [p for p in _where(r"^class \w+\(ExprGraphError\):")
               if not p.startswith("core/errors.py:")]
    assert outside == []


def test_an_op_has_no_unread_note() -> None:
    assert "note" not in {field.name for field in dataclasses.fields(Op)}


@pytest.mark.parametrize(("line", "expected"), [
    (1, "a = 1"), (2, "b\fc"), (3, ""), (4, "d"), (0, None), (5, None),
])
def test_a_source_line_ends_only_at_a_new_line(line: int, expected: str | None) -> None:
    # Hand-split: \r\n ends line 1; a form feed is white space inside line 2.
    assert source_line("a = 1\r\nb\fc\n\nd", line) == expected
    assert source_line("", 1) is None


def test_did_you_mean_names_the_closest_candidate() -> None:
    assert did_you_mean("Sin", ["cos", "sin", "tan"]) == "did you mean sin?"
    assert did_you_mean("titel", ["title", "problem"], quote=True) == "did you mean 'title'?"
    assert did_you_mean("zzz", ["title", "problem"]) is None
    # A sole beginning counts with `prefix` (`--tol`), but not two (`--s`).
    options = ["--tolerance", "--steps", "--show-every"]
    assert did_you_mean("--tol", options, cutoff=0.75, prefix=True) == "did you mean --tolerance?"
    assert did_you_mean("--tol", options, cutoff=0.75) is None
    assert closest("--s", options, cutoff=0.75, prefix=True) is None


@pytest.mark.parametrize(("text", "end"), [
    ("(a)", 2), ("(a(b)c)d", 6), ("x(y)", 0), ("((a)", -1), ("", -1),
])
def test_bracket_end(text: str, end: int) -> None:
    assert bracket_end(text) == end


@pytest.mark.parametrize(("text", "parts"), [
    ("x=max(1,2),y=3", ["x=max(1,2)", "y=3"]),
    ("a", ["a"]),
    ("", [""]),
    ("f(a,(b,c)),d,", ["f(a,(b,c))", "d", ""]),
])
def test_split_top_level(text: str, parts: list[str]) -> None:
    assert split_top_level(text) == parts
