"""`jsonl` and `json` mean the same in `batch` and `check`: JSON Lines, and one document.

`batch --format json` is the JSON Lines objects in one document, `{results,
summary}`; `check --format jsonl` is what `check --format json` printed, and
the old spelling still prints it, with a deprecation note on stderr.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from exprgraph.cli import app
from exprgraph.core.errors import ValueInputError

from .oracles import central_difference, close

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
runner = CliRunner()
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="needs the source tree")


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_batch_json_is_the_jsonl_objects_in_one_document(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.expr")
    paths = [str(SAMPLES / "corpus.expr"), str(SAMPLES / "broken.expr"), missing]
    lines = runner.invoke(app, ["batch", *paths, "--format", "jsonl"])
    document = runner.invoke(app, ["batch", *paths, "--format", "json"])
    assert document.exit_code == lines.exit_code == 2  # a path is missing
    data = json.loads(document.stdout)  # the whole output is one JSON value
    assert data["results"] == _lines(lines.stdout)
    # The summary counts what the results say, worked out here from them.
    results = data["results"]
    file_errors = [r for r in results if r.get("error", {}).get("kind") == "file"]
    problems = [r for r in results if r not in file_errors]
    failed = [r for r in problems if "error" in r]
    assert data["summary"] == {"problems": len(problems), "ok": len(problems) - len(failed),
                               "failed": len(failed), "file_errors": len(file_errors),
                               "faults": {"not_found": 1}}


def test_batch_json_values_are_right(tmp_path: Path) -> None:
    path = tmp_path / "two.expr"
    path.write_text("x*y + sin(x) where x=0.5, y=2\nexp(x)/y where x=1, y=4\n")
    result = runner.invoke(app, ["batch", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.stdout)["results"]
    f = lambda p: p["x"] * p["y"] + math.sin(p["x"])  # noqa: E731
    g = lambda p: math.exp(p["x"]) / p["y"]  # noqa: E731
    for result_of, function, point in ((first, f, {"x": 0.5, "y": 2.0}),
                                        (second, g, {"x": 1.0, "y": 4.0})):
        assert close(result_of["value"], function(point))
        for name in point:
            assert close(result_of["gradient"][name], central_difference(function, point, name),
                         rel=1e-6, abs_=1e-8)


def test_an_empty_batch_is_still_a_document(tmp_path: Path) -> None:
    empty = tmp_path / "empty.expr"
    empty.write_text("# nothing here\n")
    result = runner.invoke(app, ["batch", str(empty), "--format", "json"])
    data = json.loads(result.stdout)
    assert data["results"] == [] and data["summary"]["problems"] == 0


def test_a_run_stopped_midway_still_ends_its_document(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # A cluster lost mid-run stops the command: the document written so far
    # is closed with the error, so that it still parses.
    from exprgraph.tasks import batch as core

    solve = core.run

    def stops_after_two(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for count, item in enumerate(solve(*args, **kwargs)):
            if count == 4:  # asides (file starts) and results alike
                raise ValueInputError("every worker of the cluster was lost",
                                      hint="start workers")
            yield item

    monkeypatch.setattr(core, "run", stops_after_two)
    result = runner.invoke(app, ["batch", str(SAMPLES / "corpus.expr"), "--format", "json"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["error"]["message"] == "every worker of the cluster was lost"
    assert len(data["results"]) == data["summary"]["problems"] > 0
    assert "every worker of the cluster was lost" in result.stderr


def test_batch_json_carries_nodes_and_derivatives(tmp_path: Path) -> None:
    path = tmp_path / "one.expr"
    path.write_text("x^3 where x=2\n")
    result = runner.invoke(app, ["batch", str(path), "--format", "json", "--nodes",
                                 "--derivatives"])
    assert result.exit_code == 0
    assert result.stderr.count("has no effect") == 0
    (only,) = json.loads(result.stdout)["results"]
    assert "nodes" in only and "derivatives" in only


def test_check_jsonl_is_what_check_json_printed_and_json_is_deprecated() -> None:
    target = str(SAMPLES / "homework.toml")
    new = runner.invoke(app, ["check", target, "--format", "jsonl"])
    old = runner.invoke(app, ["check", target, "--format", "json"])
    assert new.exit_code == old.exit_code == 1  # the sample has wrong answers
    assert new.stdout == old.stdout
    reports = _lines(new.stdout)
    assert reports and all("answers" in r for r in reports)
    assert "deprecated" not in new.stderr
    said = " ".join(old.stderr.split())
    assert "check --format json is deprecated" in said and "--format jsonl" in said


def test_check_jsonl_reports_a_stopping_error_as_json() -> None:
    result = runner.invoke(app, ["check", "x +", "--answer", "d/dx=1", "--format", "jsonl"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["kind"] == "parse"


@pytest.mark.parametrize("command", ["batch", "check"])
def test_help_names_both_formats(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.stdout.split())
    assert "jsonl: one JSON object per problem" in text
    assert "json:" in text


def test_ctrl_c_still_ends_the_document(monkeypatch: pytest.MonkeyPatch) -> None:
    from exprgraph.tasks import batch as core

    solve = core.run

    def interrupted_after_three(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for count, item in enumerate(solve(*args, **kwargs)):
            if count == 4:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(core, "run", interrupted_after_three)
    result = runner.invoke(app, ["batch", str(SAMPLES / "corpus.expr"), "--format", "json"])
    assert result.exit_code != 0
    data = json.loads(result.stdout)
    assert data["error"]["kind"] == "interrupted"
    assert len(data["results"]) == data["summary"]["problems"] == 3


@pytest.mark.parametrize("command", ["batch", "check"])
def test_help_at_60_columns_splits_no_format_name(command: str) -> None:
    # The choices as a metavar, [table|jsonl|json|csv], were folded mid-word
    # ("js on") in a 60-column terminal; the help text names them anyway.
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "60"})
    assert result.exit_code == 0
    assert "--format" in result.stdout and "FORMAT" in result.stdout
    assert "[table|" not in result.stdout
    if command == "batch":  # the example is one line, whole, to copy
        assert any(line.strip() == "exprgraph batch samples/ --format jsonl > results.jsonl"
                   for line in result.stdout.splitlines())


@pytest.mark.parametrize("command", ["batch", "check", "eval", "diff", "plan", "fit"])
def test_help_paragraphs_wrap_at_the_terminal_s_width(command: str) -> None:
    # Typer keeps a docstring's line breaks: lines written for 80 columns broke
    # in two at 60 ("stderr in every" / "format."). A description line ends
    # short only where its paragraph ends, or before an example or a list item.
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "60"})
    assert result.exit_code == 0
    text = result.stdout.split("╭")[0]  # the description, above the boxes
    lines = [line.rstrip() for line in text.splitlines()]
    for line, after in zip(lines, [*lines[1:], ""], strict=True):
        if not line.strip() or not after.strip() or after.strip().startswith("exprgraph") or \
                after.strip()[:1].isdigit() or line.endswith(":"):
            continue
        assert len(line) >= 40, (line, after)
