"""`exprgraph check` and `eval --steps`: verdicts, equivalence, explanations.

The expected verdicts are the issue's own cases and hand-worked homework;
step numbers are checked against finite differences and forward mode.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import exprgraph
from exprgraph.autodiff import tangents
from exprgraph.check import CheckProblem, check_answer, check_problem
from exprgraph.cli import app

from .oracles import central_difference, close

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
runner = CliRunner()


def verdict(program: str, key: str, given: object, point: dict | None = None,
            tolerance: float = 1e-4) -> exprgraph.check.Verdict:  # type: ignore[name-defined]
    compiled = exprgraph.compile(program)
    evaluation = compiled.evaluate(point) if point else None
    return check_answer(compiled, evaluation, key, given, tolerance, f"test|{program}|{key}")


@pytest.mark.parametrize(("program", "key", "given", "expected"), [
    ("sin(x^2)", "d/dx", "cos(x^2)*2x", "correct"),          # ≡ 2*x*cos(x^2)
    ("abs(x)", "out", "sqrt(x^2)", "correct"),                # equal, though not by rules
    ("sqrt(x^2)", "out", "x", "incorrect"),                   # differs for x < 0
    ("x - 1", "out", "(x^2-1)/(x+1)", "correct"),             # equal where both defined
    ("(x+y)*z", "dg/dx", "-z", "incorrect"),                  # the right answer is z
    ("(x+y)*z", "dg/dx", "z", "correct"),
    ("x", "x", "sqrt(x)", "incorrect"),                       # undefined where x is not
    ("log(-(x^2) - 1) + x", "out", "x", "undecided"),          # the right answer: nowhere
])
def test_symbolic_equivalence(program: str, key: str, given: str, expected: str) -> None:
    assert verdict(program, key, given).verdict == expected


@pytest.mark.parametrize(("given", "expected"), [(-3.0001, "correct"), (-3.1, "incorrect"),
                                                 ("-3", "correct"), ("-6/2", "correct")])
def test_numeric_answers_with_a_tolerance(given: object, expected: str) -> None:
    found = verdict("(x+y)*z", "dg/dx", given, {"x": 1, "y": 3, "z": -3}, tolerance=1e-3)
    assert found.verdict == expected


def test_wrong_derivative_is_explained_by_the_chain_rule() -> None:
    found = verdict("c = a + b; d = b + 1; e = c * d", "de/db", 4, {"a": 2, "b": 6})
    assert found.verdict == "incorrect" and found.expected == "15"
    assert found.explanation.splitlines()[0] == \
        "∂e/∂b = ∂e/∂c·∂c/∂b + ∂e/∂d·∂d/∂b = 7·1 + 8·1 = 15"


def test_wrong_value_is_explained_by_its_forward_step() -> None:
    found = verdict("c = a + b; d = b + 1; e = c * d", "d", 6, {"a": 2, "b": 6})
    assert found.explanation == "d = b + 1 = 6 + 1 = 7"


def test_answers_may_use_node_names_and_keys_may_name_intermediate_nodes() -> None:
    point = {"a": 2, "b": 6}
    assert verdict("c = a + b; d = b + 1; e = c * d", "de/dc", "d", point).verdict == "correct"
    assert verdict("c = a + b; d = b + 1; e = c * d", "∂e/∂c", 7, point).verdict == "correct"
    assert verdict("c = a + b; d = b + 1; e = c * d", "dd/db", "1", point).verdict == "correct"


def test_same_source_same_verdicts() -> None:
    first = verdict("sqrt(x^2)", "out", "x")
    again = verdict("sqrt(x^2)", "out", "x")
    assert first == again


@pytest.mark.parametrize(("key", "given", "words"), [
    ("dq/dx", "1", "not a node"), ("q", 3, "not a node"), ("d/dx", "x +", "not a valid"),
    ("d/dx", "w", "not a name of the program"), ("dx", 1, "not a node"),
    ("xe/dy", 1, "cannot read the answer key"),
])
def test_bad_input_is_an_error_verdict_not_an_exception(key: str, given: object,
                                                        words: str) -> None:
    found = verdict("y = x^2", key, given, {"x": 1})
    assert found.verdict == "error" and words in found.explanation


def test_homework_sample_verdicts() -> None:
    from exprgraph.check import read_check_problems

    reports = [check_problem(p) for p in read_check_problems(SAMPLES / "homework.toml")]
    wrong = {(r.name, v.key) for r in reports for v in r.verdicts if v.verdict != "correct"}
    assert wrong == {("tutorial", "de/db"), ("sum-times", "df/dy")}


def test_check_command_exit_status_and_json() -> None:
    result = runner.invoke(app, ["check", str(SAMPLES / "homework.toml"), "--format", "json"])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["name"] for r in rows] == ["tutorial", "sum-times", "neuron"]
    assert rows[0]["score"] == {"correct": 4, "total": 5}
    assert set(rows[0]["answers"][0]) == {"key", "given", "expected", "verdict", "explanation"}
    ok = runner.invoke(app, ["check", "(x+y)*z", "--at", "x=1,y=3,z=-3",
                             "--answer", "dg/dz=x+y", "--answer", "dg/dx=-3"])
    assert ok.exit_code == 0
    bad = runner.invoke(app, ["check", "g = (x+y)*z", "--at", "x=1,y=3,z=-3",
                              "--answer", "dq/dz=1"])
    assert bad.exit_code == 2


def test_check_reports_unreadable_files_and_goes_on(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[[problem]\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(broken), str(SAMPLES / "homework.toml")])
    assert result.exit_code == 2
    assert "not valid TOML" in result.stderr
    assert "score 4/4" in result.stdout


def test_steps_add_up_and_match_finite_differences() -> None:
    text = "q = x*y; r = q + sin(q); s = r * x"
    point = {"x": 0.7, "y": -1.3}
    result = runner.invoke(app, ["eval", text, "--set", "x=0.7,y=-1.3", "--steps",
                                 "--format", "json"])
    steps = json.loads(result.stdout)["steps"]
    program = exprgraph.compile(text)
    evaluation = program.evaluate(point)
    for step in steps["backward"]:
        if step["terms"]:
            total = sum(t["adjoint"] * t["partial"] for t in step["terms"])
            assert close(total, step["adjoint"], rel=1e-12)
        if step["node"] in point:
            numeric = central_difference(lambda at: program.evaluate(at).value, point,
                                         step["node"])
            assert close(step["adjoint"], numeric, rel=1e-6, abs_=1e-8)
            forward = tangents(program.graph, evaluation.node_values, step["node"])
            assert close(step["adjoint"], forward[program.graph.output], rel=1e-12)
    assert [f["node"] for f in steps["forward"]] == ["q", "t1", "r", "s"]
    table = runner.invoke(app, ["eval", text, "--set", "x=0.7,y=-1.3", "--steps"])
    shown = table.stdout.replace("\n", " ")  # Rich wraps long lines at 80 columns
    assert "Forward pass" in shown
    assert "∂s/∂q = ∂s/∂t1·∂t1/∂q + ∂s/∂r·∂r/∂q = ∂s/∂t1·cos(q) + ∂s/∂r·1" in shown
    assert "sin(-0.91)" in shown


def test_check_problem_without_point_checks_symbolic_answers() -> None:
    report = check_problem(CheckProblem("s", "p", "x^3", None, {"d/dx": "3x^2", "out": 8}))
    assert [v.verdict for v in report.verdicts] == ["correct", "error"]


def test_a_folder_contributes_its_problem_sets_only() -> None:
    result = runner.invoke(app, ["check", str(SAMPLES)])
    assert result.exit_code == 1  # the homework's wrong answers, not the line files
    assert "3 problems, 11/13 answers correct" in result.stderr
    explicit = runner.invoke(app, ["check", str(SAMPLES / "corpus.expr")])
    assert explicit.exit_code == 2 and "has no answers" in explicit.stderr
