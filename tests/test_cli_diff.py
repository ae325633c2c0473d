"""`exprgraph diff` and `exprgraph simplify` as a user runs them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app

from .oracles import close

runner = CliRunner()


def diff_json(*args: str) -> tuple[dict, int]:
    result = runner.invoke(app, ["diff", *args, "--format", "json"])
    return json.loads(result.stdout), result.exit_code


def test_every_printed_derivative_evaluates_to_the_reverse_mode_gradient() -> None:
    text = "sin(x)*exp(y) + sqrt(x)*log(y) - pi"
    data, code = diff_json(text, "--gradient", "--at", "x=0.5,y=2")
    assert code == 0
    gradient = exprgraph.compile(text).evaluate(x=0.5, y=2).gradient
    for entry in data["results"]:
        (name,) = entry["wrt"]
        assert close(entry["value"], gradient[name])
        back = exprgraph.compile(entry["expr"]).evaluate(
            {k: v for k, v in {"x": 0.5, "y": 2.0}.items()
             if k in exprgraph.compile(entry["expr"]).inputs}).value
        assert close(back, gradient[name])


def test_json_keys_of_diff() -> None:
    data, code = diff_json("x^2*y + y^3", "--hessian", "--at", "x=1,y=2")
    assert code == 0
    assert set(data) == {"program", "kind", "inputs", "at", "results", "rows", "matrix"}
    assert data["kind"] == "hessian" and data["rows"] == ["x", "y"]
    # ∂²/∂x² (x²y + y³) = 2y, ∂²/∂x∂y = 2x, ∂²/∂y² = 6y, by hand.
    assert data["matrix"] == [["2*y", "2*x"], ["2*x", "6*y"]]
    assert [r["value"] for r in data["results"]] == [4.0, 2.0, 2.0, 12.0]
    for result in data["results"]:
        assert set(result) == {"of", "wrt", "label", "expr", "latex", "value"}


@pytest.mark.parametrize(("args", "expected"), [
    (["x^2*sin(x)"], "x^2*cos(x) + 2*x*sin(x)"),
    (["(x+y)*z", "--wrt", "z"], "x + y"),
    (["x^3*y", "--wrt", "x", "--wrt", "y"], "3*x^2"),
    (["x^3", "--order", "3"], "6"),
    (["x^2*sin(x)", "--latex"], r"x^{2} \cos\left(x\right) + 2 x \sin\left(x\right)"),
])
def test_text_and_latex_formats(args: list[str], expected: str) -> None:
    fmt = [] if "--latex" in args else ["--format", "text"]
    result = runner.invoke(app, ["diff", *args, *fmt])
    assert result.exit_code == 0
    assert result.stdout.strip() == expected


def test_table_shows_the_notation() -> None:
    result = runner.invoke(app, ["diff", "x^3*y", "--wrt", "x", "--wrt", "y"])
    assert "∂²out/∂y∂x" in result.stdout
    result = runner.invoke(app, ["diff", "x^3", "--order", "3"])
    assert "d³out/dx³" in result.stdout


def test_jacobian_by_default_and_with_outputs() -> None:
    data, _ = diff_json("u = x*y; v = x + y", "--jacobian")
    assert data["rows"] == ["u", "v"] and data["matrix"] == [["y", "x"], ["1", "1"]]
    data, _ = diff_json("u = x*y; v = x + y", "--jacobian", "--output", "v")
    assert data["rows"] == ["v"]


def test_undefined_value_at_the_point_exits_1_but_prints_the_rest() -> None:
    data, code = diff_json("log(x) + y", "--gradient", "--at", "x=1,y=1")
    assert code == 0
    data, code = diff_json("sqrt(x - 2) + y", "--gradient", "--at", "x=2,y=1")
    assert code == 1  # ∂/∂x = 1/(2*sqrt(x - 2)) is undefined at x = 2; the program is not
    by_name = {r["wrt"][0]: r for r in data["results"]}
    assert by_name["x"]["value"] is None and by_name["x"]["error"]["kind"] == "math"
    assert by_name["y"]["value"] == 1.0


def test_where_the_program_is_undefined_so_is_every_derivative() -> None:
    # log(x) + y has no partials at x = 0 (it has no value there), though the
    # formulas 1/x and 1 could be evaluated; nor has x/x at 0, though d/dx = 0.
    for program, point in (("log(x) + y", "x=0,y=1"), ("x/x", "x=0")):
        data, code = diff_json(program, "--gradient", "--at", point)
        assert code == 1
        assert all(r["value"] is None and "program is undefined" in r["error"]["message"]
                   for r in data["results"])


@pytest.mark.parametrize(("args", "words"), [
    (["x*y", "--wrt", "z"], "z is not an input"),
    (["x*y", "--gradient", "--hessian"], "choose one"),
    (["x*y", "--wrt", "x", "--wrt", "y", "--order", "2"], "--order repeats one variable"),
    (["x*y", "--at", "x=1"], "no value given for y"),
    (["x*y", "--output", "q"], "no node named q"),
])
def test_usage_errors(args: list[str], words: str) -> None:
    result = runner.invoke(app, ["diff", *args])
    assert result.exit_code == 2
    assert words in result.stderr


def test_simplify() -> None:
    result = runner.invoke(app, ["simplify", "x*1 + 0 + x", "--format", "text"])
    assert (result.exit_code, result.stdout.strip()) == (0, "2*x")
    result = runner.invoke(app, ["simplify", "x*1 + 0 + x", "--format", "text", "--at", "x=2"])
    assert result.stdout.strip() == "2*x  (= 4)"
    result = runner.invoke(app, ["simplify", "c = a + b; d = b + 1; e = c * d",
                                 "--format", "json", "--at", "a=2,b=6"])
    data = json.loads(result.stdout)
    assert data["expr"] == "(a + b)*(b + 1)" and data["value"] == 56.0
    result = runner.invoke(app, ["simplify", "x*1 + 0 + x"])
    assert "2*x" in result.stdout and "simplified" in result.stdout
