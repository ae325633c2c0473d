"""`exprgraph descend` and `exprgraph fit`.

Oracles: minima known in closed form, the parameters that generated the
data, predictions evaluated independently, and per-row scalar evaluation
against the vectorised one.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app
from exprgraph.errors import MathError
from exprgraph.train import descend, fit, parse_criterion
from exprgraph.vector import evaluate_rows, gradient_rows

from .oracles import close
from .strategies import expressions

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "fit"
runner = CliRunner()


@pytest.mark.parametrize(("program", "start", "minimum"), [
    ("(x-3)^2 + (y+1)^2", {"x": 0.0, "y": 0.0}, {"x": 3.0, "y": -1.0}),
    # (x+y)^2 + (x-1)^2: zero at x = 1, y = -1.
    ("(x+y)^2 + (x-1)^2", {"x": 5.0, "y": 5.0}, {"x": 1.0, "y": -1.0}),
    # exp(x) + exp(-x) has its minimum at 0.
    ("exp(x) + exp(-x)", {"x": 1.5}, {"x": 0.0}),
])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_descend_reaches_the_minimum_of_convex_functions(program: str, start: dict,
                                                         minimum: dict, momentum: float) -> None:
    compiled = exprgraph.compile(program)
    trajectory = descend(compiled, start, list(start), 0.1, 5000,
                         [parse_criterion("grad<1e-9")], momentum)
    assert trajectory.stopped == "grad"
    for name, value in minimum.items():
        assert abs(trajectory.final[name] - value) < 1e-7


def test_descend_moves_only_the_chosen_params() -> None:
    result = runner.invoke(app, ["descend", "(x-a)^2", "--x", "0", "--a", "2", "--params", "x",
                                 "--steps", "500", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["params"] == ["x"] and abs(data["final"]["x"] - 2) < 1e-6
    assert set(data) >= {"program", "lr", "momentum", "trajectory", "final", "stopped"}
    first = data["trajectory"][0]
    assert first == {"step": 0, "loss": 4.0, "params": {"x": 0.0}, "grad_norm": 4.0}


def test_divergence_names_the_step_and_suggests_a_smaller_rate() -> None:
    result = runner.invoke(app, ["descend", "x^2", "--x", "1", "--lr", "1.5", "--steps",
                                 "5000"])
    assert result.exit_code == 1
    shown = " ".join(result.stdout.split())  # Rich wraps at 80 columns
    assert "diverged at step" in shown and "smaller learning rate" in shown


def test_stop_criteria() -> None:
    compiled = exprgraph.compile("(x-1)^2")
    by_loss = descend(compiled, {"x": 0.0}, ["x"], 0.1, 1000, [parse_criterion("loss<1e-4")])
    assert by_loss.stopped == "loss" and by_loss.steps[-1].loss < 1e-4
    assert by_loss.steps[-2].loss >= 1e-4
    by_change = descend(compiled, {"x": 0.0}, ["x"], 0.1, 1000,
                        [parse_criterion("change<1e-6")])
    assert by_change.stopped == "change"
    with pytest.raises(exprgraph.ExprGraphError):
        parse_criterion("speed<3")


@pytest.mark.parametrize("batch_size", [None, 5])
def test_fit_recovers_the_line_that_made_the_data(batch_size: int | None) -> None:
    # samples/fit/line.csv is y = 2x + 1 without noise.
    result = runner.invoke(app, ["fit", "(w*x + b - y)^2", "--data", str(SAMPLES / "line.csv"),
                                 "--params", "w=0,b=0", "--lr", "0.1", "--epochs", "400",
                                 "--format", "json",
                                 *(["--batch-size", str(batch_size)] if batch_size else [])])
    assert result.exit_code == 0, result.stdout
    final = json.loads(result.stdout)["final"]
    assert abs(final["w"] - 2) < 1e-6 and abs(final["b"] - 1) < 1e-6


def test_fit_with_a_model_and_mse_loss_is_the_same_fit() -> None:
    result = runner.invoke(app, ["fit", "w*x + b", "--loss", "mse", "--target", "y", "--data",
                                 str(SAMPLES / "line.csv"), "--params", "w,b", "--lr", "0.1",
                                 "--epochs", "400", "--format", "json"])
    final = json.loads(result.stdout)["final"]
    assert abs(final["w"] - 2) < 1e-6 and abs(final["b"] - 1) < 1e-6


def test_fit_separates_and() -> None:
    result = runner.invoke(app, ["fit", "sigmoid(w1*x1 + w2*x2 + b)", "--loss", "bce",
                                 "--target", "label", "--data", str(SAMPLES / "and.csv"),
                                 "--params", "w1,w2,b", "--lr", "1", "--epochs", "1000",
                                 "--format", "json"])
    final = json.loads(result.stdout)["final"]
    model = exprgraph.compile("sigmoid(w1*x1 + w2*x2 + b)")
    for x1, x2, label in [(0, 0, 0), (0, 1, 0), (1, 0, 0), (1, 1, 1)]:
        prediction = model.evaluate({**final, "x1": x1, "x2": x2}).value
        assert (prediction > 0.5) == bool(label)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(kinked=True))
def test_vectorised_evaluation_equals_per_row_evaluation(text: str) -> None:
    program = exprgraph.compile(text)
    graph = program.graph
    rng = np.random.default_rng(len(text))
    rows = 7
    columns = {name: rng.uniform(-2, 2, rows) for name in program.inputs}
    try:
        values = evaluate_rows(graph.nodes, columns, rows)
        grads = gradient_rows(graph.nodes, values, graph.output, list(graph.inputs))
    except MathError:
        assume(False)
        return
    for row in range(rows):
        point = {name: float(column[row]) for name, column in columns.items()}
        try:
            result = program.evaluate(point)
        except MathError:
            continue  # a slope undefined in this row; the vector pass may give inf there
        vector_value = np.broadcast_to(values[graph.output], (rows,))[row]
        assert close(float(vector_value), result.value, rel=1e-12, abs_=1e-12)
        for index, grad in zip(graph.inputs, grads, strict=True):
            name = graph.nodes[index].label
            got = float(np.broadcast_to(grad, (rows,))[row])
            assert close(got, result.gradient[name], rel=1e-9, abs_=1e-9), name


def test_a_row_outside_the_domain_is_named() -> None:
    result = runner.invoke(app, ["fit", "log(w*x)", "--data", str(SAMPLES / "line.csv"),
                                 "--params", "w=1", "--epochs", "1"])
    assert result.exit_code == 1
    shown = " ".join(result.stdout.split())
    assert "row 1" in shown and "> 0" in shown


@pytest.mark.parametrize(("csv_text", "words"), [
    ("x\n1\n2\n", "no column for y"),
    ("x,y\n1,2\n3,oops\n", "'oops' in column y is not a number"),
    ("x,y\n", "needs a header row and at least one row"),
])
def test_bad_data_is_reported(tmp_path: Path, csv_text: str, words: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(csv_text, encoding="utf-8")
    result = runner.invoke(app, ["fit", "(w*x - y)^2", "--data", str(path), "--params", "w"])
    assert result.exit_code == 2 and words in result.stderr


def test_plot_svg_is_written(tmp_path: Path) -> None:
    target = tmp_path / "loss.svg"
    result = runner.invoke(app, ["descend", "(x-3)^2", "--x", "0", "--plot", str(target)])
    assert result.exit_code == 0
    root = ElementTree.parse(target).getroot()
    polyline = root.find("{http://www.w3.org/2000/svg}polyline")
    assert polyline is not None and len(polyline.get("points", "").split()) == 101
    assert "loss" in result.stdout and "stopped after 100 steps" in result.stdout


def test_fit_loss_matches_the_mean_of_per_row_losses() -> None:
    program = exprgraph.compile("(w*x + b - y)^2")
    xs, ys = np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 5.0])
    trajectory = fit(program, {"x": xs, "y": ys}, 3, {"w": 0.5, "b": 0.0}, 0.0, 1)
    expected = sum(program.evaluate(w=0.5, b=0.0, x=x, y=y).value for x, y in zip(xs, ys,
                                                                                 strict=True)) / 3
    assert math.isclose(trajectory.steps[0].loss, expected, rel_tol=1e-12)


def test_plot_png_needs_matplotlib(tmp_path: Path) -> None:
    import importlib.util

    target = tmp_path / "loss.png"
    result = runner.invoke(app, ["descend", "(x-3)^2", "--x", "0", "--plot", str(target)])
    if importlib.util.find_spec("matplotlib") is None:
        assert result.exit_code == 2 and "matplotlib" in result.stderr
        assert ".svg" in result.stderr
    else:
        assert result.exit_code == 0 and target.read_bytes().startswith(b"\x89PNG")
    other = runner.invoke(app, ["descend", "(x-3)^2", "--x", "0", "--plot",
                                str(tmp_path / "loss.jpg")])
    assert other.exit_code == 2 and ".svg or .png" in other.stderr
