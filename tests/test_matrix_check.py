"""`check` of matrix answers: gradients in matrix notation, graded by sampling.

The verdicts and diagnoses are the teachers' words for the slips they see;
each row of the table is an answer a student might give, with what a teacher
would say. The right answers are the Matrix Cookbook's (derived by hand, not
by this code).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exprgraph.cli import app

runner = CliRunner()

QUADRATIC = "x: vector(n); A: matrix(n, n); f = x' @ A @ x"
LEAST_SQUARES = "W: matrix(m, n); x: vector(n); y: vector(m); L = 0.5*sum((W @ x - y)^2)"
LOGDET = "X: matrix(n, n); f = logdet(X)"
TRACE = "A: matrix(p, m); X: matrix(m, n); B: matrix(n, p); f = tr(A @ X @ B)"
LAYER = "W: matrix(m, n); x: vector(n); f = sum(tanh(W @ x))"
INVERSE = "a: vector(n); X: matrix(n, n); b: vector(n); f = a' @ inv(X) @ b"

# (program, key, answer, verdict, words in the explanation)
ANSWERS = [
    (QUADRATIC, "df/dx", "(A + A') @ x", "correct", ""),
    (QUADRATIC, "df/dx", "A @ x + A' @ x", "correct", ""),
    (QUADRATIC, "df/dx", "2*A @ x", "incorrect", "correct if A is symmetric"),
    (QUADRATIC, "df/dx", "x' @ (A + A')", "incorrect", "wrong shape"),
    (QUADRATIC, "df/dx", "2*(A + A') @ x", "incorrect", "off by a factor of 2"),
    (QUADRATIC, "df/dx", "-(A + A') @ x", "incorrect", "off in sign"),
    (QUADRATIC, "df/dx", "A @ x", "incorrect", "0.5 times the gradient (a factor is missing)"),
    (QUADRATIC, "df/dA", "x @ x'", "correct", ""),
    (QUADRATIC, "df/dA", "x' @ x", "incorrect", "wrong shape"),
    (LEAST_SQUARES, "dL/dW", "(W @ x - y) @ x'", "correct", ""),
    (LEAST_SQUARES, "dL/dW", "x @ (W @ x - y)'", "incorrect", "correct up to transpose"),
    (LEAST_SQUARES, "dL/dW", "2*(W @ x - y) @ x'", "incorrect", "off by a factor of 2"),
    (LEAST_SQUARES, "dL/dx", "W' @ (W @ x - y)", "correct", ""),
    (LEAST_SQUARES, "dL/dx", "W' @ W @ x - W' @ y", "correct", ""),
    (LEAST_SQUARES, "dL/dy", "y - W @ x", "correct", ""),
    (LEAST_SQUARES, "dL/dy", "W @ x - y", "incorrect", "off in sign"),
    (LOGDET, "df/dX", "inv(X)'", "correct", ""),
    (LOGDET, "df/dX", "inv(X')", "correct", ""),
    (LOGDET, "df/dX", "inv(X)", "incorrect", "correct up to transpose"),
    (TRACE, "df/dX", "A' @ B'", "correct", ""),
    (TRACE, "df/dX", "(B @ A)'", "correct", ""),
    (LAYER, "df/dW", "(1 - tanh(W @ x)^2) @ x'", "correct", ""),
    (LAYER, "df/dW", "ones_like(W @ x) @ x'", "incorrect",
     "missing a factor of the chain rule: the derivative of tanh at W @ x"),
    ("W: matrix(m, n); x: vector(n); y: vector(m); L = sum((sigmoid(W @ x) - y)^2)", "dL/dW",
     "2*(sigmoid(W @ x) - y) @ x'", "incorrect", "the derivative of sigmoid at W @ x"),
    (LAYER, "df/dW", "x @ ones_like(W @ x)'", "incorrect", "wrong shape"),
    (INVERSE, "df/dX", "-(inv(X)' @ a @ b' @ inv(X)')", "correct", ""),
    (INVERSE, "df/dX", "-(inv(X) @ a @ b' @ inv(X))", "incorrect", "correct if X is symmetric"),
    (INVERSE, "df/dX", "-(inv(X) @ b @ a' @ inv(X))", "incorrect", "correct up to transpose"),
    (QUADRATIC, "df/dx", "2*x' @ A", "incorrect", "wrong shape"),
    (QUADRATIC, "df/dx", "(A + A')x", "incorrect", "a matrix product is written @"),
    (TRACE.replace("B: matrix(n, p); f = tr(A @ X @ B)", "f = tr(A @ X)").replace(
        "A: matrix(p, m)", "A: matrix(n, m)"), "df/dX", "2*A'", "incorrect",
     "off by a factor of 2"),
    ("x: vector(n); f = sum(log(x))", "df/dx", "1/x", "correct", ""),
    ("x: vector(n); f = sum(sqrt(x) * x)", "df/dx", "1.5*sqrt(x)", "correct", ""),
    ("x: vector(n); A: matrix(n, n); B: matrix(n, n); f = x' @ A @ x + tr(B)", "df/dx",
     "2*A @ x", "incorrect", "correct if A is symmetric,"),
    ("X: matrix(n, n); A: matrix(n, n); f = tr(X' @ A @ X)", "df/dX", "2*A @ X", "incorrect",
     "correct if A is symmetric,"),
    ("x: vector(n); A: matrix(n, n); t = A @ x; f = x' @ t", "df/dt", "x", "error",
     "with respect to its inputs"),
]


def _verdict(program: str, key: str, answer: str) -> dict:
    result = runner.invoke(app, ["check", program, "--answer", f"{key}={answer}",
                                 "--format", "json"])
    assert result.exit_code in (0, 1, 2), result.output  # 2: the problem's own error
    (line,) = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    (verdict,) = line["answers"]
    return verdict


@pytest.mark.parametrize(("program", "key", "answer", "verdict", "words"), ANSWERS,
                         ids=[f"{k}={a}" for _, k, a, _, _ in ANSWERS])
def test_matrix_answers_are_graded_and_slips_named(program: str, key: str, answer: str,
                                                   verdict: str, words: str) -> None:
    found = _verdict(program, key, answer)
    assert found["verdict"] == verdict, found
    assert words in found["explanation"], found


def test_there_are_at_least_20_answer_pairs() -> None:
    assert len(ANSWERS) >= 20


def test_a_problem_file_holds_matrix_answers(tmp_path: Path) -> None:
    problems = tmp_path / "matrix.toml"
    problems.write_text(f'''
[[problem]]
name = "least squares"
program = "{LEAST_SQUARES}"
answers = {{ "dL/dW" = "(W @ x - y) @ x'", "dL/dx" = "W @ (W @ x - y)" }}
''', encoding="utf-8")
    result = runner.invoke(app, ["check", str(problems), "--format", "json"])
    (line,) = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    verdicts = {a["key"]: a["verdict"] for a in line["answers"]}
    assert verdicts == {"dL/dW": "correct", "dL/dx": "incorrect"}
    assert result.exit_code == 1


def test_values_at_a_point_are_refused_for_a_matrix_program() -> None:
    result = runner.invoke(app, ["check", QUADRATIC, "--x", "[1, 2]", "--answer",
                                 "df/dx=(A + A') @ x"])
    assert result.exit_code == 2
    assert "samples the declared shapes" in result.output
