"""Vector and matrix values through the command line: `eval` (tables, JSON,
`--seed`, `--full`), `graph` and `batch`, and their errors.

Oracles, never a copy of the tool's own output: gradients by central
differences of the same computation written in NumPy (tests/oracles.py), a
seeded gradient against the gradient of `sum(out * S)` evaluated as a program
of its own, small gradients worked out by hand, and the errors' places read
off the program text.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app

from .oracles import central_gradient

runner = CliRunner()

LAYER = "h = tanh(W @ x + b); L = sum((h - y)^2)"
POINT = {"W": [[1.0, 2.0], [3.0, 4.0], [0.5, 0.1]], "x": [0.1, -0.2], "b": [0.0, 0.0, 1.0],
         "y": [1.0, 0.0, 0.0]}


def _options(values: dict[str, Any]) -> list[str]:
    """`--NAME VALUE` for each value, a vector or matrix typed as JSON brackets."""
    return [part for name, value in values.items() for part in (f"--{name}", json.dumps(value))]


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def _json(*args: str) -> tuple[int, dict[str, Any]]:
    """Exit status and the one JSON object of `... --format json`."""
    result = _run(*args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)


def _column_of(text: str, part: str, line: int = 1) -> int:
    """1-based column of `part` in line `line` of the program (the oracle for
    an error's place)."""
    return text.split("\n")[line - 1].index(part) + 1


def _depth(value: Any) -> int:
    """How deeply a JSON value nests lists (0 for a number)."""
    depth = 0
    while isinstance(value, list):
        assert value, "an empty list"
        depth, value = depth + 1, value[0]
    return depth


# --- shape mistakes: our error, its place, exit 2, before anything is computed ----------


SHAPE_MISTAKES = [
    # (program, values, the text at the error's place, its line, words of the message)
    ("y = sum(x)\nz = A @ B", {"x": [1, 2], "A": [[1, 2], [3, 4]], "B": [[1, 2, 3]]},
     "@", 2, "cannot multiply a 2×2 matrix by a 1×3 matrix"),
    ("s = 2*x + y", {"x": [1, 2], "y": [1, 2, 3]}, "+", 1,
     "cannot combine a vector of length 2 with a vector of length 3"),
    ("t = 1 + sum(inv(A))", {"A": [[1, 2, 3], [4, 5, 6]]}, "inv", 1,
     "inv needs a square matrix, not a 2×3 matrix"),
    ("q = 3*tr(x)", {"x": [1, 2, 3]}, "tr", 1,
     "tr needs a square matrix, not a vector of length 3"),
    ("x: vector(3); sum(x)", {"x": [1, 2]}, "x: vector(3)", 1,
     "x is declared as a vector of length 3 but its value is a vector of length 2"),
    ("W: matrix(2, 2); x: vector(3); sum(W) + sum(x)",
     {"W": [[1, 2], [3, 4]], "x": [1, 2]}, "x: vector(3)", 1,
     "x is declared as a vector of length 3 but its value is a vector of length 2"),
]


@pytest.mark.parametrize(("program", "values", "at", "line", "words"), SHAPE_MISTAKES)
def test_a_shape_mistake_is_our_error_at_its_place_with_exit_2(
        program: str, values: dict[str, Any], at: str, line: int, words: str) -> None:
    status, data = _json("eval", program, *_options(values))
    assert status == 2
    error = data["error"]
    assert error["kind"] == "shape"
    assert words in error["message"]
    assert (error["line"], error["column"]) == (line, _column_of(program, at, line))
    # The same as text: the message and a caret under the place, no traceback.
    result = _run("eval", program, *_options(values))
    assert result.exit_code == 2
    assert words in result.output
    column = _column_of(program, at, line)
    margin = " " * (len(str(line)) + 3)
    assert f"  {line} | {program.split(chr(10))[line - 1]}\n{margin}|{' ' * column}^" \
        in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("program", "values"), [
    ("A @ B", {"A": [[1, 2], [3, 4]], "B": [[1, 2, 3]]}),
    ("x + y", {"x": [1, 2], "y": [1, 2, 3]}),
    ("tr(x)", {"x": [1, 2, 3]}),
])
def test_a_shape_mistake_is_found_before_anything_is_computed(program: str,
                                                              values: dict[str, Any]) -> None:
    # log of a negative number would be a math error (exit 1) if computed first.
    guarded = f"bad = log(z); {program}"
    status, data = _json("eval", guarded, *_options({**values, "z": -1}))
    assert (status, data["error"]["kind"]) == (2, "shape")


def test_an_index_out_of_range_is_a_shape_error_with_the_valid_range() -> None:
    for program, values, words in (
            ("x[5]", {"x": [1, 2, 3]}, "index 5 is out of range for a vector of length 3"),
            ("W[2]", {"W": [[1, 2], [3, 4]]}, "index 2 is out of range for a 2×2 matrix"),
            ("W[0, 2]", {"W": [[1, 2], [3, 4]]},
             "index 2 is out of range for a vector of length 2")):
        status, data = _json("eval", program, *_options(values))
        assert status == 2
        assert data["error"]["kind"] == "shape"
        assert words in data["error"]["message"]
        assert "0-based" in data["error"]["hint"]


def test_an_index_out_of_range_has_its_place_and_comes_before_evaluation() -> None:
    """The caret points at the index that is out of range (in W[0, 5], the 5)."""
    program = "y = x + 1; z = y[5]"
    status, data = _json("eval", program, "--x", "[1, 2, 3]")
    assert (status, data["error"]["kind"]) == (2, "shape")
    assert (data["error"].get("line"), data["error"].get("column")) == \
        (1, _column_of(program, "[5]") + 1)
    status, data = _json("eval", "y = log(x); z = y[5]", "--x", "[-1, 2, 3]")
    assert (status, data["error"]["kind"]) == (2, "shape")


# --- math errors of the matrix functions ----------------------------------------------


@pytest.mark.parametrize(("function", "matrix", "words"), [
    ("det", [[1, 2], [2, 4]], "singular"),
    ("inv", [[1, 2], [2, 4]], "singular"),
    ("logdet", [[1, 2], [2, 4]], "singular"),
    ("logdet", [[0, 1], [1, 0]], "negative"),  # det = -1
])
def test_a_singular_or_negative_determinant_matrix_is_a_math_error_naming_the_node(
        function: str, matrix: list[list[int]], words: str) -> None:
    program = f"d = {function}(A); s = 2*sum(d)"
    status, data = _json("eval", program, "--A", json.dumps(matrix))
    assert status == 1
    error = data["error"]
    assert (error["kind"], error["node"]) == ("math", "d")
    assert words in error["message"]
    assert f"d = {function}(A)" in error["message"]
    result = _run("eval", program, "--A", json.dumps(matrix))
    assert result.exit_code == 1
    assert f"d = {function}(A)" in result.output
    assert "Traceback" not in result.output


# --- JSON: nested lists, shapes, and a gradient that central differences confirm ----------


def _layer_loss(values: dict[str, np.ndarray]) -> float:
    """The LAYER program, written in NumPy."""
    h = np.tanh(values["W"] @ values["x"] + values["b"])
    return float(np.sum((h - values["y"]) ** 2))


def test_json_holds_nested_lists_with_their_shapes() -> None:
    status, data = _json("eval", LAYER, *_options(POINT))
    assert status == 0
    assert data["shapes"] == {"W": [3, 2], "x": [2], "b": [3], "y": [3]}
    assert data["inputs"] == POINT
    for name, dims in data["shapes"].items():
        assert np.asarray(data["gradient"][name]).shape == tuple(dims)
        assert _depth(data["gradient"][name]) == len(dims)
    nodes = {node["name"]: node for node in data["nodes"]}
    assert [nodes[name]["shape"] for name in ("W", "x", "h", "L")] == [[3, 2], [2], [3], []]
    for node in data["nodes"]:
        assert _depth(node["value"]) == len(node["shape"])
        if node["adjoint"] is not None:  # null for constants
            assert np.asarray(node["adjoint"]).shape == tuple(node["shape"])
    assert isinstance(data["value"], float)
    # Every edge from a variable carries its vector–Jacobian rule, and no scalar partial.
    rules = {(edge["from"], edge["to"]): edge["vjp"] for edge in data["edges"]}
    assert rules[("W", "t1")] == "ḡ @ x'"
    assert rules[("x", "t1")] == "W' @ ḡ"
    assert rules[("t2", "h")] == "ḡ * (1 - h^2)"
    assert all(edge["partial"] is None and edge["partial_expr"] is None
               for edge in data["edges"])
    # The gradients in matrix notation, read back, give the numbers of `gradient`.
    for name, text in data["derivatives"].items():
        formula = exprgraph.compile(text)
        got = formula.evaluate({k: v for k, v in POINT.items() if k in formula.inputs}).value
        assert np.allclose(got, data["gradient"][name]), (name, text)
    assert "seed" not in data


def test_json_gradient_agrees_with_central_differences() -> None:
    status, data = _json("eval", LAYER, *_options(POINT))
    assert status == 0
    point = {name: np.asarray(value, dtype=np.float64) for name, value in POINT.items()}
    assert math.isclose(data["value"], _layer_loss(point), rel_tol=1e-12)
    for name in POINT:
        def loss_of(moved: np.ndarray, name: str = name) -> float:
            return _layer_loss({**point, name: moved})

        expected = central_gradient(loss_of, point[name])
        assert np.allclose(np.asarray(data["gradient"][name]), expected,
                           rtol=1e-6, atol=1e-8), name
        # A node's adjoint is the gradient for an input.
        node = next(n for n in data["nodes"] if n["name"] == name)
        assert node["adjoint"] == data["gradient"][name]


def test_json_of_a_tensor_output_is_a_nested_list_and_its_adjoints_are_of_its_sum() -> None:
    a, b = [[1.0, 2.0], [3.0, 4.0]], [[0.5, -1.0], [2.0, 0.25]]
    status, data = _json("eval", "A @ B", "--A", json.dumps(a), "--B", json.dumps(b))
    assert status == 0
    assert data["value"] == (np.asarray(a) @ np.asarray(b)).tolist()
    # Of sum(A @ B): ∂/∂A = 1 @ B', ∂/∂B = A' @ 1 (by hand, with 1 all ones).
    ones = np.ones((2, 2))
    assert np.allclose(data["gradient"]["A"], ones @ np.asarray(b).T)
    assert np.allclose(data["gradient"]["B"], np.asarray(a).T @ ones)


# --- --seed -------------------------------------------------------------------------


@pytest.mark.parametrize(("program", "values", "seed"), [
    ("y = softmax(W @ x + b)", {"W": [[1, 2], [3, -4], [0.5, 0.1]], "x": [0.3, -0.7],
                                "b": [0, 1, -1]}, [1.0, -2.0, 0.5]),
    ("A @ B", {"A": [[1, 2], [3, 4]], "B": [[0.5, -1], [2, 0.25]]}, [[1.0, 0.0], [-2.0, 3.0]]),
    ("x @ y'", {"x": [1, -2], "y": [3, 4, 5]}, [[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]]),
])
def test_a_seed_gives_the_gradient_of_the_sum_of_output_times_seed(
        program: str, values: dict[str, Any], seed: Any) -> None:
    status, data = _json("eval", program, *_options(values), "--seed", json.dumps(seed))
    assert status == 0
    assert data["seed"] == seed
    # The oracle: the same computation times S, summed, as a program of its own.
    body = program.split("=", 1)[1] if "=" in program else program
    status, summed = _json("eval", f"L = sum(({body}) * S)", *_options(values),
                           "--S", json.dumps(seed))
    assert status == 0
    for name in values:
        assert np.allclose(data["gradient"][name], summed["gradient"][name],
                           rtol=1e-12, atol=1e-12), name
    # The table says whose adjoints they are.
    result = _run("eval", program, *_options(values), "--seed", json.dumps(seed))
    assert result.exit_code == 0
    assert "the seed given as" in " ".join(result.output.split())


def test_a_seed_of_the_wrong_shape_is_exit_2() -> None:
    status, data = _json("eval", "W @ x", "--W", "[[1, 2], [3, 4]]", "--x", "[1, 1]",
                         "--seed", "[1, 2, 3]")
    assert status == 2
    assert data["error"]["kind"] == "shape"
    assert "vector of length 2" in data["error"]["message"]
    assert "vector of length 3" in data["error"]["message"]


def test_a_seed_for_a_scalar_output_is_an_error() -> None:
    for program, values in (("sum(x^2)", ["--x", "[1, 2]"]), ("x*2", ["--x", "3"])):
        status, data = _json("eval", program, *values, "--seed", "1")
        assert status == 2
        assert "scalar" in data["error"]["message"]
        result = _run("eval", program, *values, "--seed", "1")
        assert result.exit_code == 2
        assert "--seed" in result.output


def test_a_malformed_seed_is_exit_2() -> None:
    status, data = _json("eval", "W @ x", "--W", "[[1, 2], [3, 4]]", "--x", "[1, 1]",
                         "--seed", "[1, [2]]")
    assert status == 2
    assert data["error"]["kind"] == "value"


# --- --full and the summary -----------------------------------------------------------


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"-?\d+(?:\.\d+)?", text))


def test_full_prints_every_number_and_the_default_summarises_with_an_ellipsis() -> None:
    x = [i + 0.5 for i in range(20)]
    wanted = {f"{v:g}" for v in x}
    summary = _run("eval", "sum(x^2)", "--x", json.dumps(x))
    assert summary.exit_code == 0
    assert "…" in summary.output
    shown = _numbers(summary.output)
    assert {"0.5", "1.5", "2.5", "17.5", "18.5", "19.5"} <= shown
    assert not {"7.5", "9.5", "10.5", "12.5"} & shown
    full = _run("eval", "sum(x^2)", "--x", json.dumps(x), "--full")
    assert full.exit_code == 0
    assert "…" not in full.output
    assert wanted <= _numbers(full.output)
    # The gradient 2x, every element of it.
    assert {f"{2 * v:g}" for v in x} <= _numbers(full.output)


def test_json_always_has_every_number() -> None:
    x = [i + 0.5 for i in range(20)]
    status, data = _json("eval", "sum(x^2)", "--x", json.dumps(x))
    assert status == 0
    assert data["gradient"]["x"] == [2 * v for v in x]


# --- bad values on the command line ------------------------------------------------------


@pytest.mark.parametrize(("value", "words"), [
    ("[1, [2]]", "nests deeper or mixes numbers and lists"),
    ("[]", "empty"),
    ("[1, a]", "'a' is not a number"),
    ("[[1, 2], [3]]", "ragged"),
    ("[[[1]]]", "nests deeper"),
    ("[1, 2", "not closed"),
])
def test_a_bad_vector_or_matrix_value_is_exit_2_with_a_clear_message(value: str,
                                                                    words: str) -> None:
    status, data = _json("eval", "sum(x)", "--x", value)
    assert status == 2
    assert data["error"]["kind"] == "value"
    assert "x" in data["error"]["message"] and words in data["error"]["message"]
    result = _run("eval", "sum(x)", "--x", value)
    assert result.exit_code == 2
    assert words in result.output
    assert "Traceback" not in result.output


# --- batch: `where` clauses and TOML arrays ---------------------------------------------


def test_batch_reads_tensor_values_from_where_clauses_and_toml(tmp_path: Path) -> None:
    lines = tmp_path / "layer.expr"
    lines.write_text("sum(W @ x) where W=[[1, 2], [3, 4]], x=[1, 1]\n"
                     "x' @ A @ x where A=[[2, 0], [0, 3]], x=[1, 2]\n"
                     "sum(W @ x) where W=[[1, 2], [3, 4]], x=[1, 1, 1]\n", encoding="utf-8")
    problems = tmp_path / "set.toml"
    problems.write_text('[[problem]]\nname = "dot"\nprogram = "dot(u, v)"\n'
                        "at = [{ u = [1, 2], v = [3, 4] }, { u = [0.5, -1], v = [2, 2] }]\n\n"
                        '[[problem]]\nname = "matrix"\nprogram = "tr(W @ W)"\n'
                        "at = { W = [[1, 2], [3, 4]] }\n", encoding="utf-8")
    result = _run("batch", str(lines), str(problems), "--format", "jsonl")
    assert result.exit_code == 1  # the third line fails
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [row["source"].rsplit("/", 1)[-1] for row in rows] == [
        "layer.expr:1", "layer.expr:2", "layer.expr:3", "set.toml:dot#1", "set.toml:dot#2",
        "set.toml:matrix"]
    first, second, third, dot1, dot2, matrix = rows
    # sum(W @ x): ∂/∂W = 1 x' (every row is x), ∂/∂x = W' 1 (column sums).
    assert first["value"] == 10
    assert first["gradient"] == {"W": [[1, 1], [1, 1]], "x": [4, 6]}
    assert first["shapes"] == {"W": [2, 2], "x": [2]}
    assert first["inputs"]["W"] == [[1, 2], [3, 4]]
    # x'Ax with A symmetric: ∂/∂x = 2Ax, ∂/∂A = x x'.
    assert second["value"] == 1 * 2 * 1 + 2 * 3 * 2
    assert second["gradient"] == {"x": [4, 12], "A": [[1, 2], [2, 4]]}
    assert third["error"]["kind"] == "shape"
    assert third["error"]["line"] == 3
    assert (dot1["value"], dot1["gradient"]) == (11, {"u": [3, 4], "v": [1, 2]})
    assert (dot2["value"], dot2["gradient"]) == (-1, {"u": [2, 2], "v": [0.5, -1]})
    # tr(W @ W) = Σ W_ij W_ji: ∂/∂W = 2 W'.
    assert matrix["value"] == 1 + 6 + 6 + 16
    assert matrix["gradient"] == {"W": [[2, 6], [4, 8]]}


def test_a_where_clause_with_a_bad_vector_fails_that_line_only(tmp_path: Path) -> None:
    lines = tmp_path / "t.expr"
    lines.write_text("sum(x) where x=[1, [2]]\nsum(x) where x=[1, 2]\n", encoding="utf-8")
    result = _run("batch", str(lines), "--format", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert rows[0]["error"]["line"] == 1
    assert rows[1]["value"] == 3


def test_eval_reads_a_where_clause_with_tensor_values() -> None:
    status, data = _json("eval", "sum(W @ x) where W=[[1, 2], [3, 4]], x=[1, 1]")
    assert status == 0
    assert data["gradient"] == {"W": [[1, 1], [1, 1]], "x": [4, 6]}


# --- graph: shapes on nodes and edges ---------------------------------------------------


@pytest.mark.parametrize("output_format", ["mermaid", "dot"])
def test_graph_shows_shapes(output_format: str) -> None:
    result = _run("graph", LAYER, *_options(POINT), "--format", output_format)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "shape 3×2" in text and "shape 2" in text and "shape scalar" in text
    edge = re.compile(r'-->\|"3×2"\|' if output_format == "mermaid" else r'\[label="3×2"\]')
    assert edge.search(text)


@pytest.mark.parametrize("output_format", ["mermaid", "dot"])
def test_graph_of_declared_shapes_needs_no_values(output_format: str) -> None:
    result = _run("graph", "W: matrix(m, n); x: vector(n); sum(W @ x)", "--format",
                  output_format)
    assert result.exit_code == 0, result.output
    assert "shape m×n" in result.stdout and "shape m" in result.stdout


def test_the_terminal_graph_shows_shapes_and_values() -> None:
    result = _run("graph", "sum(W @ x)", "--W", "[[1, 2], [3, 4]]", "--x", "[1, 1]")
    assert result.exit_code == 0
    assert "(2×2)" in result.stdout and "(2)" in result.stdout
    assert "[3, 7]" in result.stdout  # W @ x


# --- --steps ---------------------------------------------------------------------------


def test_steps_narrate_the_vector_jacobian_rules_with_numbers() -> None:
    result = _run("eval", "sum(W @ x)", "--W", "[[1, 2], [3, 4]]", "--x", "[1, -1]",
                  "--steps")
    assert result.exit_code == 0
    text = result.stdout
    assert "[[1, 2], [3, 4]] @ [1, -1] = [-1, -1]" in text
    # By hand: ∂/∂x = W' 1 = [4, 6]; ∂/∂W = 1 x' = [[1, -1], [1, -1]].
    assert "@ t̅1̅ = [4, 6]" in text
    assert "@ x' = [[1, -1], [1, -1]]" in text


# --- found by a fresh-user test ------------------------------------------------------


def test_a_missing_value_in_a_tensor_program_names_the_missing_input() -> None:
    result = runner.invoke(app, ["eval", "sum(x + b)", "--x", "[1, 2]"])
    assert result.exit_code == 2
    assert "no value given for b" in result.output
    result = runner.invoke(app, ["eval", "sum(W @ x)", "--W", "[[1, 2], [3, 4]]"])
    assert "no value given for x" in result.output


@pytest.mark.parametrize("value", [[1, True], [1 + 2j, 1], np.array([1 + 1j]),
                                   np.ma.array([1.0, 2.0], mask=[0, 1]), np.array(["a"]),
                                   [[1, "2"]]])
def test_values_that_are_not_real_numbers_are_refused(value: object) -> None:
    with pytest.raises(exprgraph.ValueInputError):
        exprgraph.compile("sum(x)").evaluate(x=value)


def test_an_unused_vector_input_has_a_zero_gradient_of_its_shape() -> None:
    result = exprgraph.compile("sum(x)").evaluate(x=[1, 2], y=[[1, 2], [3, 4]])
    assert np.array_equal(result.gradient["y"], np.zeros((2, 2)))


def test_check_grades_a_vector_program_by_shape_too() -> None:
    """∂ sum(x)/∂x is ones of x's shape: the number 1 is the wrong shape."""
    result = runner.invoke(app, ["check", "x: vector(2); L = sum(x)", "--answer", "dL/dx=1",
                                 "--answer", "dL/dx=ones_like(x)"])
    assert result.exit_code == 1
    assert "wrong shape: the answer is a scalar" in result.output
    assert "1/2 answers correct" in result.output


def test_an_element_error_names_each_arguments_own_element() -> None:
    """x / z with a scalar z at element [0]: x[0], but z itself; a vector added to a
    matrix's rows at [0, 1] is the vector's element [1]."""
    result = runner.invoke(app, ["eval", "y = x / z", "--x", "[1, 2]", "--z", "0"])
    assert "(here x[0] = 1, z = 0)" in result.output
    result = runner.invoke(app, ["eval", "y = W / x", "--W", "[[1, 2], [3, 4]]",
                                 "--x", "[1, 0]"])
    assert "at element [0, 1]" in result.output
    assert "(here W[0, 1] = 2, x[1] = 0)" in result.output


def test_fit_names_the_data_row_where_a_vector_program_fails(tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("a,b\n1,2\n1,-9\n", encoding="utf-8")
    result = runner.invoke(app, ["fit", "w: vector(2); L = log(w @ x + 1)", "--data",
                                 str(data), "--columns", "x=a,b", "--params", "w=[0.5, 0.5]"])
    assert result.exit_code == 1
    assert "in row 2: the argument must be > 0" in result.output


@pytest.mark.parametrize(("program", "values"), [
    ("sum(x)", ["--x", "[1e308, 1e308]"]),
    ("norm(x)", ["--x", "[1e308, 1e308]"]),
    ("x' @ x", ["--x", "[1e155, 1e155]"]),
    ("A @ x", ["--A", "[[1e308, 1e308], [1, 1]]", "--x", "[1e10, 1]"]),
])
def test_a_tensor_function_that_overflows_is_a_math_error_not_a_traceback(
        program: str, values: list[str]) -> None:
    for extra in ([], ["--format", "json"]):
        result = runner.invoke(app, ["eval", program, *values, *extra])
        assert result.exit_code == 1, result.output
        assert "too large for a float" in result.output
        assert "Traceback" not in result.output
