"""One reader of TOML problem files (`exprgraph/problems.py`) for `check` and `batch`.

Malformed files are written by hand; each case says what a user gets: a clear
message naming the file and the problem, never a traceback, the same in both
commands.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exprgraph.cli import app

runner = CliRunner()

ANSWERS = '[problem.answers]\n"d/dx" = 2\n'
# (file text, words the message must hold, whether the whole file is refused)
MALFORMED = {
    "number": ("problem = 5\n", ["array of tables", "[[problem]]"], True),
    "single-brackets": ('[problem]\nname = "a"\nprogram = "x^2"\n' + ANSWERS,
                        ["array of tables", "[[problem]]"], True),
    "no-program": ('[[problem]]\nname = "a"\nat = { x = 1 }\n' + ANSWERS,
                   ["problem 'a'", "no program"], False),
    "program-not-text": ('[[problem]]\nname = "a"\nprogram = 3\n' + ANSWERS,
                         ["problem 'a'", "program must be a string"], False),
    "at-number": ('[[problem]]\nname = "a"\nprogram = "x^2"\nat = 5\n' + ANSWERS,
                  ["problem 'a'", "at must be a table"], False),
    "at-value": ('[[problem]]\nname = "a"\nprogram = "x^2"\nat = { x = true }\n' + ANSWERS,
                 ["problem 'a'", "the value of x must be a number"], False),
    "answers-number": ('[[problem]]\nname = "a"\nprogram = "x^2"\nat = { x = 1 }\n'
                       'answers = 3\n', ["problem 'a'", "answers must be a table"], False),
    "tolerance-text": ('[[problem]]\nname = "a"\nprogram = "x^2"\nat = { x = 1 }\n'
                       'tolerance = "big"\n' + ANSWERS,
                       ["problem 'a'", "tolerance must be a number"], False),
    "file-tolerance": ('tolerance = 2\n[[problem]]\nprogram = "x^2"\nat = { x = 1 }\n'
                       + ANSWERS, ["tolerance must be a number"], True),
    "wrt-text": ('[[problem]]\nname = "a"\nprogram = "x^2"\nat = { x = 1 }\nwrt = "x"\n'
                 + ANSWERS, ["problem 'a'", "wrt must be a list"], False),
    "name-number": ('[[problem]]\nname = 3\nprogram = "x^2"\nat = { x = 1 }\n' + ANSWERS,
                    ["problem 1", "name must be a non-empty string"], False),
    "unknown-key": ('[[problem]]\nname = "a"\nprogram = "x^2"\nat = { x = 1 }\n'
                    'answer = { "d/dx" = 2 }\n', ["problem 'a'", "unknown key 'answer'"], False),
    "unknown-top-key": ('problems = 1\n[[problem]]\nprogram = "x^2"\n',
                        ["unknown key 'problems'"], True),
    "not-a-table": ("problem = [1]\n", ["problem 1", "not a table"], False),
    "no-problems": ('title = "empty"\n', ["has no problems"], True),
    "same-name": ('[[problem]]\nname = "a"\nprogram = "x"\nat = { x = 1 }\n' + ANSWERS
                  + '[[problem]]\nname = "a"\nprogram = "x"\nat = { x = 1 }\n' + ANSWERS,
                  ["problem 'a'", "also problem 1"], False),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("command", ["check", "batch"])
def test_malformed_files_get_one_clear_message(tmp_path: Path, case: str, command: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    text, words, whole_file = MALFORMED[case]
    monkeypatch.chdir(tmp_path)  # a short path: Rich folds long words at 80 columns
    path = Path(f"{case}.toml")
    path.write_text(text, encoding="utf-8")
    # batch's table wraps its cells: read its messages from the JSON lines.
    extra = ["--format", "jsonl"] if command == "batch" else []
    result = runner.invoke(app, [command, str(path), *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    assert "Traceback" not in result.output
    stderr = " ".join(result.stderr.split())
    shown = stderr + " " + " ".join(result.stdout.split()).replace("\\\"", "\"")
    assert str(path) in shown
    for word in words:
        assert word in shown, (word, shown)
    # The message is given once, not once per key of a misread table.
    assert shown.count(words[-1]) == 1
    if command == "check" or whole_file:
        assert result.exit_code == 2
    else:
        assert result.exit_code == 1  # batch: a failed problem


@pytest.mark.parametrize("case", ["number", "at-number", "answers-number"])
def test_json_lines_name_the_file_and_problem(tmp_path: Path, case: str) -> None:
    text, words, _ = MALFORMED[case]
    path = tmp_path / "set.toml"
    path.write_text(text, encoding="utf-8")
    for command, fmt in (("check", "json"), ("batch", "jsonl")):
        result = runner.invoke(app, [command, str(path), "--format", fmt])
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        errors = [r for r in rows if "error" in r]
        assert len(errors) == 1
        assert errors[0]["source"].startswith(str(path))
        assert words[0] in errors[0]["error"]["message"]


def test_a_bad_problem_does_not_stop_the_others(tmp_path: Path) -> None:
    path = tmp_path / "set.toml"
    path.write_text('[[problem]]\nname = "bad"\nprogram = "x"\nat = 5\n' + ANSWERS
                    + '[[problem]]\nname = "good"\nprogram = "x^2"\nat = { x = 1 }\n'
                    + ANSWERS, encoding="utf-8")
    result = runner.invoke(app, ["check", str(path), "--format", "json"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    good = [r for r in rows if r.get("name") == "good"]
    assert good and good[0]["score"] == {"correct": 1, "total": 1}  # d(x^2)/dx at 1 is 2
    assert result.exit_code == 2


@pytest.mark.parametrize("command", ["check", "batch"])
def test_a_file_that_is_not_utf8_names_the_byte(tmp_path: Path, command: str) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[[problem]]\nname = "caf\xe9"\nprogram = "x"\n')
    result = runner.invoke(app, [command, str(path)])
    assert result.exit_code == 2
    shown = " ".join(result.stderr.split())
    assert f"{path}: byte 0xE9 at line 2, column 12, not UTF-8 text" in shown, shown
    assert "codec" not in shown


@pytest.mark.parametrize("text, words", [
    ("a = " + "[" * 100_000 + "]" * 100_000 + "\n", "nested deeper than"),
    ("a" + ".a" * 20_000 + " = 1\n", "dotted parts"),
])
@pytest.mark.parametrize("command", ["check", "batch"])
def test_hostile_toml_is_refused_before_the_reader_runs(tmp_path: Path, text: str, words: str,
                                                        command: str) -> None:
    # Nested 100,000 deep the TOML reader recursed to a RecursionError; dotted
    # keys cost it time quadratic in their length (gigabytes at 200 KB).
    path = tmp_path / "hostile.toml"
    path.write_text(text)
    result = runner.invoke(app, [command, str(path)])
    assert result.exit_code == 2
    assert words in result.stderr and "Traceback" not in result.output


def test_a_problem_file_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    # Windows editors write one; it was "not valid TOML ... line 1, column 1".
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'[[problem]]\nprogram = "x*y"\nat = {x = 2, y = 3}\n'
                     b'answers = {out = 6}\n')
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert "1/1" in result.output
