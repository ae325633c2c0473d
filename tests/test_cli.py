"""`exprgraph eval` as a user runs it: values, formats, warnings and errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from exprgraph.cli import app

runner = CliRunner()

JSON_KEYS = {"program", "output", "value", "inputs", "gradient", "derivatives", "nodes", "edges",
             "warnings"}


def run_json(*args: str) -> tuple[dict, int, str]:
    result = runner.invoke(app, ["eval", *args, "--format", "json"])
    return json.loads(result.stdout), result.exit_code, result.stderr


def test_json_document_of_the_seed_example() -> None:
    data, code, _ = run_json("(x+y)*z", "--x", "1", "--y", "3", "--z", "-3")
    assert code == 0
    assert set(data) == JSON_KEYS
    assert data["value"] == -12.0
    assert data["inputs"] == {"x": 1.0, "y": 3.0, "z": -3.0}
    assert data["gradient"] == {"x": -3.0, "y": -3.0, "z": 4.0}
    assert data["derivatives"] == {"x": "z", "y": "z", "z": "x + y"}
    by_name = {n["name"]: n for n in data["nodes"]}
    assert [n["op"] for n in data["nodes"][:3]] == ["input"] * 3
    add = next(n for n in data["nodes"] if n["op"] == "add")
    assert add["args"] == ["x", "y"] and add["expr"] == "x + y"
    assert (add["value"], add["adjoint"]) == (4.0, -3.0)
    assert by_name[data["output"]]["adjoint"] == 1.0
    for node in data["nodes"]:
        assert set(node) == {"name", "op", "args", "expr", "value", "adjoint", "aliases"}
    edge = next(e for e in data["edges"] if e["from"] == "z")
    assert edge == {"from": "z", "to": data["output"], "partial": 4.0,
                    "partial_expr": add["name"], "contribution": 4.0}


@pytest.mark.parametrize("args", [
    ["x*y", "--x=2", "--y", "3"],
    ["--x", "2", "x*y", "--y", "3"],
    ["x*y", "--set", "x=2,y=3"],
    ["x*y", "--at", "x=2", "--set", "y=3"],
    ["x*y", "--x", "4/2", "--y", "max(1, 3)"],
])
def test_ways_to_give_values(args: list[str]) -> None:
    data, code, _ = run_json(*args)
    assert code == 0
    assert data["value"] == 6.0


def test_values_may_be_negative_scientific_or_constants() -> None:
    data, code, _ = run_json("x + y + z", "--x", "-3", "--y", "1e-3", "--z", "pi")
    assert code == 0
    assert data["inputs"] == {"x": -3.0, "y": 1e-3, "z": 3.141592653589793}


def test_program_starting_with_minus_is_the_program() -> None:
    data, code, _ = run_json("-x^2", "--x", "3")
    assert (code, data["value"], data["gradient"]) == (0, -9.0, {"x": -6.0})


def test_given_e_shadows_the_constant() -> None:
    data, _, _ = run_json("e*x", "--e", "2", "--x", "5")
    assert data["value"] == 10.0
    assert data["gradient"] == {"e": 5.0, "x": 2.0}


def test_unused_value_warns_and_gets_gradient_zero() -> None:
    result = runner.invoke(app, ["eval", "x*x", "--x", "3", "--y", "4"])
    assert result.exit_code == 0
    assert "warning" in result.stderr and "y is not used" in result.stderr
    data, _, _ = run_json("x*x", "--x", "3", "--y", "4")
    assert data["gradient"] == {"x": 6.0, "y": 0.0}
    (warning,) = data["warnings"]
    assert warning.startswith("y is not used by the program")


def test_missing_value_names_the_variable_and_how_to_pass_it() -> None:
    result = runner.invoke(app, ["eval", "x + y", "--x", "1"])
    assert result.exit_code == 2
    assert "no value given for y" in result.stderr
    assert "--y VALUE" in result.stderr
    data, code, _ = run_json("x + y", "--x", "1")
    assert code == 2
    assert data["error"]["kind"] == "value" and data["error"]["variable"] == "y"


@pytest.mark.parametrize(("args", "words"), [
    (["x", "--x", "abc"], "must be a number"),
    (["x", "--x"], "--x needs a value"),
    (["x", "--x", "1", "stray"], "unexpected argument"),
    (["x", "--x", "1", "--x", "2"], "two values"),
    (["x", "--set", "x"], "NAME=VALUE"),
])
def test_bad_values_are_usage_errors(args: list[str], words: str) -> None:
    result = runner.invoke(app, ["eval", *args])
    assert result.exit_code == 2
    assert words in result.stderr


def test_parse_error_shows_the_line_and_a_caret() -> None:
    result = runner.invoke(app, ["eval", "x + * 2", "--x", "1"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: unexpected '*'")
    source = next(i for i, line in enumerate(lines) if "x + * 2" in line)
    assert lines[source + 1].index("^") == lines[source].index("*")
    data, code, _ = run_json("x + * 2", "--x", "1")
    assert code == 2
    assert data["error"]["kind"] == "parse"
    assert (data["error"]["line"], data["error"]["column"]) == (1, 5)


@pytest.mark.parametrize(("program", "value", "words"), [
    ("log(x)", "-1", "log"),
    ("sqrt(x)", "-4", "sqrt"),
    ("1/x", "0", "divisor"),
    ("exp(x)", "1000", "too large"),
    ("x*10", "1e308", "too large"),
    ("x^(1/3)", "-8", "integer power"),
    ("9^9^9^x", "9", "too large"),
])
def test_math_errors_exit_1_and_name_the_node_and_values(program: str, value: str,
                                                         words: str) -> None:
    data, code, _ = run_json(program, "--x", value)
    assert code == 1
    assert data["error"]["kind"] == "math"
    assert words in data["error"]["message"]
    assert "node" in data["error"] and "arguments" in data["error"]


def test_table_output_shows_nodes_edges_and_gradient() -> None:
    result = runner.invoke(app, ["eval", "p = x + y; g = p * z", "--x", "1", "--y", "3",
                                 "--z", "-3"])
    assert result.exit_code == 0
    out = result.stdout
    assert "output g = -12" in out
    assert "∂g/∂p = z" in out and "∂g/∂z = p" in out
    assert "Gradient of g" in out


def test_large_tables_are_cut_with_a_note() -> None:
    program = " + ".join(f"x{i}" for i in range(30))
    args = [arg for i in range(30) for arg in (f"--x{i}", "1")]
    result = runner.invoke(app, ["eval", program, *args, "--max-rows", "10"])
    assert result.exit_code == 0
    assert "more rows not shown" in result.stdout


def test_program_from_stdin() -> None:
    result = runner.invoke(app, ["eval", "-", "--a", "2", "--b", "6", "--format", "json"],
                           input="c = a + b\nd = b + 1\ne = c * d\n")
    assert json.loads(result.stdout)["gradient"] == {"a": 7.0, "b": 15.0}


def test_help_and_version() -> None:
    assert runner.invoke(app, ["--help"]).exit_code == 0
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0 and "--NAME VALUE" in result.stdout
    assert runner.invoke(app, ["--version"]).stdout.startswith("exprgraph ")


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "exprgraph", "eval", "x*y", "--x", "2",
                             "--y", "3", "--format", "json"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["gradient"] == {"x": 3.0, "y": 2.0}


def test_another_commands_option_is_not_suggested_as_itself() -> None:
    """`descend --wrt w` once said "did you mean --wrt?" about --wrt itself;
    descend's way to choose what moves is --params."""
    result = runner.invoke(app, ["descend", "(w - 1)^2", "--w", "0", "--wrt", "w"])
    assert result.exit_code == 2
    assert "did you mean --wrt" not in result.output
    assert "--params" in result.output
