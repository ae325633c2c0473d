"""The tensor notation in the language: `@`, postfix `'`, `x[i]`, the tensor
functions and declarations, and the scalar pipeline staying safe with them.

Oracles: the same graph written another way (function-call spelling, or
built node by node), and scalar programs without the tensor ops.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app
from exprgraph.core.errors import ParseError, ProgramError, ShapeError
from exprgraph.core.graph import GraphBuilder
from exprgraph.core.ops import INPUT, OPS
from exprgraph.core.shapes import SCALAR, matrix, vector
from exprgraph.core.tensor_ops import INDEX, MATMUL, SUM, TRANSPOSE
from exprgraph.printing.latex import latex_text
from exprgraph.printing.text import expression_text
from exprgraph.syntax.parse import parse_program, parse_with

runner = CliRunner()


def _structure(text: str) -> list[tuple]:
    """The graph as data: op, arguments, label and value of every node, and the output."""
    graph = parse_program(text)
    return [(n.op.name, n.args, n.label, n.value) for n in graph.nodes] + [graph.output]


# --- syntax ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "same_as"), [
    ("A @ B @ C", "(A @ B) @ C"),  # left-associative
    ("a*b @ c", "(a*b) @ c"),  # at the precedence of * and /
    ("a @ b*c", "(a @ b)*c"),
    ("a @ b/c", "(a @ b)/c"),
    ("a + b @ c", "a + (b @ c)"),
    ("a @ b^2", "a @ (b^2)"),
    ("-a @ b", "(-a) @ b"),
    ("x'^2", "transpose(x)^2"),  # ' binds tighter than ^
    ("-x'", "-transpose(x)"),
    ("x^y'", "x^transpose(y)"),
    ("(A @ B)'", "transpose(A @ B)"),
    ("x''", "transpose(transpose(x))"),
    ("2x'", "2*transpose(x)"),
    ("W[1, 0]", "W[1][0]"),
    ("x[0]'^2", "transpose(x[0])^2"),
    ("-x[0]^2", "-(x[0]^2)"),
    ("2x[1]", "2*(x[1])"),
    ("A @ x' @ y", "(A @ transpose(x)) @ y"),
])
def test_precedence_matches_the_spelled_out_form(text: str, same_as: str) -> None:
    assert _structure(text) == _structure(same_as)


def _key(nodes: list, root: int) -> tuple:
    """Node `root` as a nested tuple (op, label, value, arguments): independent of order."""
    keys: dict[int, tuple] = {}
    for index, node in enumerate(nodes[: root + 1]):
        keys[index] = (node.op, node.label, node.value, tuple(keys[a] for a in node.args))
    return keys[root]


def test_the_notation_builds_the_tensor_op_entries() -> None:
    builder = GraphBuilder()
    w = builder.intern(INPUT, label="W")
    x = builder.intern(INPUT, label="x")
    element = builder.intern(INDEX, (builder.intern(INDEX, (w, builder.constant(1.0))),
                                     builder.constant(0.0)))
    flipped = builder.intern(TRANSPOSE, (builder.intern(MATMUL, (w, x)),))
    total = builder.intern(SUM, (flipped,))
    root = builder.intern(OPS["add"], (element, total))
    graph = parse_program("W[1, 0] + sum((W @ x)')")
    assert _key(list(graph.nodes), graph.output) == _key(builder.nodes, root)


@pytest.mark.parametrize("text", [
    "A @ B @ C", "A @ (B @ C)", "a*b @ c", "a*(b @ c)", "x'^2", "(x^2)'", "-x'", "(-x)'",
    "(A @ B)'", "x''", "x' @ A @ x", "x @ y'", "W[1, 0]", "W[1][0]'", "(x + y)[0]",
    "(-x)[0]", "2x[0]^2", "sum(x) + mean(y)*tr(A)", "det(A) + inv(A)^2 + logdet(A)",
    "norm(x) + dot(x, y) + outer(x, y) + diag(x)", "softmax(x) + logsumexp(x)",
    "transpose(A) - A'", "sum(W @ x + b)/n", "sum((tanh(W @ x + b) - y)^2)",
])
def test_print_then_parse_gives_the_same_graph(text: str) -> None:
    graph = parse_program(text)
    printed = expression_text(graph.nodes, graph.output)
    assert _structure(printed) == _structure(text)
    again = parse_program(printed)
    assert expression_text(again.nodes, again.output) == printed


def test_a_new_line_inside_square_brackets_is_white_space() -> None:
    for fast in (True, False):
        graph = parse_with("y = W[1,\n 0]\ny*2", frozenset(), fast)
        assert graph.output_name == "out"
    assert _structure("W[\n1,\n0]") == _structure("W[1, 0]")


def test_tensor_functions_are_callable_with_their_arities() -> None:
    for name in ("sum", "mean", "norm", "tr", "det", "inv", "logdet", "diag", "softmax",
                 "logsumexp", "transpose"):
        assert parse_program(f"{name}(x)").nodes[-1].op.name == name
    for name in ("dot", "outer"):
        assert parse_program(f"{name}(x, y)").nodes[-1].op.name == name
    with pytest.raises(ProgramError, match="dot takes 2 arguments, but 1 was given"):
        parse_program("dot(x)")
    with pytest.raises(ProgramError, match="sum takes 1 argument"):
        parse_program("sum(x, y)")


def test_tensor_function_names_stay_usable_as_variables() -> None:
    # Scalar programs written before the tensor functions keep working.
    assert exprgraph.compile("sum = a + b; mean = sum/2; mean").evaluate(a=1, b=3).value == 2
    with pytest.raises(ProgramError, match="ambiguous"):
        parse_program("sum = 2; sum(x)")


def test_unknown_function_hints_know_the_tensor_functions() -> None:
    with pytest.raises(ProgramError) as caught:
        parse_program("summ(x)")
    assert "sum" in (caught.value.hint or "")
    with pytest.raises(ProgramError) as caught:
        parse_program("Tr(A)")
    assert "did you mean tr?" in (caught.value.hint or "")


def test_latex_of_the_notation() -> None:
    graph = parse_program("x'^2 + sum(x) + A @ B + W[1]")
    text = latex_text(graph.nodes, graph.output)
    assert r"\left(x^{\top}\right)^{2}" in text
    assert r"\sum\left(x\right)" in text
    assert r"W\left[1\right]" in text
    assert "A B" in text


# --- declarations ----------------------------------------------------------------------


def test_declarations_are_recorded_on_the_graph() -> None:
    graph = parse_program("x: vector(n); W: matrix(m, 3)\ns: scalar\nsum(W @ x)*s")
    assert graph.declarations == {"x": vector("n"), "W": matrix("m", 3), "s": SCALAR}
    assert list(graph.declarations) == ["x", "W", "s"]
    assert graph.input_names == ("W", "x", "s")
    assert parse_program("x*2").declarations == {}


def test_a_declared_constant_name_is_an_input() -> None:
    assert parse_program("pi: scalar; pi*2").input_names == ("pi",)


def test_a_declared_name_never_used_is_a_warning() -> None:
    graph = parse_program("x: scalar\ny: vector(2); x*2")
    assert [(w.kind, w.line, w.column) for w in graph.warnings] == \
        [("unused_declaration", 2, 1)]
    assert "y is declared but never used" in graph.warnings[0].message
    assert not parse_program("x: scalar; x*2").warnings


@pytest.mark.parametrize(("text", "error", "line", "column", "words"), [
    ("x: vector(n); x: scalar; x", ProgramError, 1, 15, "x is declared twice"),
    ("y = x + 1\nx: scalar", ProgramError, 2, 1, "x is declared after its use"),
    ("y = 1; y: scalar; y", ProgramError, 1, 8, "y is assigned, so it cannot be declared"),
    ("x: scalar; x = 2", ProgramError, 1, 12, "x is declared as an input"),
    ("sin: scalar; 1", ProgramError, 1, 1, "sin is a function"),
    ("x: tensor(3); x", ProgramError, 1, 4, "unknown shape tensor"),
    ("x: vector; x", ProgramError, 1, 4, "vector takes one size"),
    ("x: vector(n, m); x", ProgramError, 1, 4, "vector takes one size"),
    ("x: matrix(3); x", ProgramError, 1, 4, "matrix takes two sizes"),
    ("x: vector(0); x", ProgramError, 1, 11, "a size must be a whole number >= 1"),
    ("x: vector(2.5); x", ProgramError, 1, 11, "not 2.5"),
    ("x[-1]", ProgramError, 1, 3, "an index must be a whole number >= 0, not -1"),
    ("W[0, 1.5]", ProgramError, 1, 6, "not 1.5"),
    ("x[1e2]", ProgramError, 1, 3, "not 1e2"),
    ("x[1e400]", ProgramError, 1, 3, "not 1e400"),
    ("x: scalar()", ParseError, 1, 11, "unexpected ')'"),
])
def test_errors_point_at_the_place(text: str, error: type, line: int, column: int,
                                   words: str) -> None:
    for fast in (True, False):
        with pytest.raises(error) as caught:
            parse_with(text, frozenset(), fast)
        assert words in caught.value.message
        assert (caught.value.line, caught.value.column) == (line, column)
        assert caught.value.source_line == text.split("\n")[line - 1]


def test_a_program_of_declarations_only_is_empty() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_program("x: vector(3)")


# --- the shape pass in compile -----------------------------------------------------------


@pytest.mark.parametrize(("text", "column", "words"), [
    ("x @ y", 3, "x @ y: @ needs a vector or a matrix on each side"),
    ("z = 1 + tr(x)", 9, "tr(x): tr needs a square matrix, not a scalar"),
    ("x[0] + 1", 3, "cannot index a scalar"),
    ("dot(x, y)", 1, "dot needs two vectors"),
    ("x: vector(n); y: vector(m); x + y", 31, "cannot combine"),
    ("W: matrix(2, 3); x: vector(2); W @ x", 34, "cannot multiply a 2×3 matrix by a vector"),
])
def test_shape_errors_are_raised_before_evaluation_with_their_place(text: str, column: int,
                                                                    words: str) -> None:
    """Declared shapes are checked by compile; an input neither declared nor
    given may be a vector, so its scalar value is checked by evaluate."""
    with pytest.raises(ShapeError) as caught:
        program = exprgraph.compile(text)
        program.evaluate({name: 1.0 for name in program.inputs})
    assert words in caught.value.message
    assert (caught.value.line, caught.value.column) == (1, column)


def test_a_shape_error_is_exit_2_with_a_caret_in_the_cli() -> None:
    result = runner.invoke(app, ["eval", "x @ y", "--x", "1", "--y", "2"])
    assert result.exit_code == 2
    assert "@ needs a vector or a matrix" in result.output
    assert "  1 | x @ y\n    |   ^" in result.output
    result = runner.invoke(app, ["eval", "x @ y", "--x", "1", "--y", "2", "--format", "json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert (error["kind"], error["line"], error["column"]) == ("shape", 1, 3)


def test_a_declared_vector_with_a_scalar_value_is_a_shape_error() -> None:
    program = exprgraph.compile("x: vector(n); sum(x)")
    with pytest.raises(ShapeError, match="x is declared as a vector of length n but its "
                       "value is a scalar"):
        program.evaluate(x=1)
    assert program.derivative("x") == "ones_like(x)"  # ∂ sum(x)/∂x, in matrix notation
    result = runner.invoke(app, ["eval", "W: matrix(2, 2); det(W)", "--W", "1"])
    assert result.exit_code == 2
    assert "W is declared as a 2×2 matrix but its value is a scalar" in result.output


def test_an_unused_tensor_declaration_does_not_stop_a_scalar_program() -> None:
    program = exprgraph.compile("v: vector(3); s: scalar; s*2")
    assert program.evaluate(s=2).value == 4
    assert program.derivative("s") == "2"


# --- scalar safety: transpose, sum and mean are the identity on a scalar -------------------


@pytest.mark.parametrize(("tensor", "scalar"), [
    ("sum(x)*y + mean(y)^2", "x*y + y^2"),
    ("x'^2 + sin(x')*y'", "x^2 + sin(x)*y"),
    ("p = mean(x*y); q = sum(p)'; exp(q)/(1 + x)", "p = x*y; q = p; exp(q)/(1 + x)"),
    ("transpose(x)*sum(mean(x')) - y", "x*x - y"),
    ("log(sum(x)^2 + 1) + mean(x)/y'", "log(x^2 + 1) + x/y"),
])
def test_scalar_programs_agree_with_the_same_program_without_them(tensor: str,
                                                                   scalar: str) -> None:
    with_ops, without = exprgraph.compile(tensor), exprgraph.compile(scalar)
    rng = random.Random(14)
    for _ in range(5):
        point = {"x": rng.uniform(0.2, 2.0), "y": rng.uniform(0.2, 2.0)}
        one, other = with_ops.evaluate(point), without.evaluate(point)
        assert math.isclose(one.value, other.value, rel_tol=1e-12)
        for name in ("x", "y"):
            assert math.isclose(one.gradient[name], other.gradient[name], rel_tol=1e-12)
    assert with_ops.derivatives() == without.derivatives()
    assert with_ops.text(with_ops.expression) == without.text(without.expression)


@pytest.mark.parametrize("command", [
    ["eval", "sum(x)*y'", "--x", "2", "--y", "3", "--steps"],
    ["eval", "sum(x)*y'", "--x", "2", "--y", "3", "--format", "json"],
    ["diff", "mean(x)^2*x'", "--latex"],
    ["simplify", "sum(x) + x'"],
    ["graph", "sum(x)*y'"],
    ["graph", "sum(x)*y'", "--format", "dot"],
    ["graph", "sum(x)*y'", "--format", "mermaid"],
])
def test_the_commands_run_scalar_programs_with_the_identity_ops(command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output


def test_batch_runs_scalar_programs_with_the_identity_ops(tmp_path: Path) -> None:
    lines = tmp_path / "t.expr"
    lines.write_text("sum(x)*y' where x=2, y=3\nx @ y where x=1, y=2\nmean(x)^2 where x=3\n",
                     encoding="utf-8")
    result = runner.invoke(app, ["batch", str(lines), "--format", "jsonl"])
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [row.get("value") for row in rows] == [6.0, None, 9.0]
    assert rows[1]["error"]["kind"] == "shape"


def test_a_missing_shape_after_a_colon_says_what_a_declaration_is() -> None:
    for text, column in (("x: 3", 4), ("lambda: 1", 9), ("x:", 3)):
        with pytest.raises(ParseError) as caught:
            parse_program(text)
        assert caught.value.column == column
        assert "scalar, vector(n) or matrix(m, n)" in (caught.value.hint or "")


def test_a_declared_vector_given_a_scalar_says_how_to_write_a_vector() -> None:
    program = exprgraph.compile("x: vector(n); y = sum(x)")
    with pytest.raises(ShapeError) as info:
        program.evaluate({"x": 2.0})
    assert "declared as a vector" in info.value.message
    assert "[1, 2, 3]" in (info.value.hint or "")
    assert (info.value.line, info.value.column) == (1, 1)  # at the declaration
