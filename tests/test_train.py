"""`exprgraph descend` and `exprgraph fit`.

Oracles: minima known in closed form, the parameters that generated the
data, predictions evaluated independently, and per-row scalar evaluation
against the vectorised one.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app
from exprgraph.core.errors import MathError
from exprgraph.passes.vector import evaluate_rows, gradient_rows
from exprgraph.tasks import progress, train
from exprgraph.tasks.train import descend, fit, parse_criterion

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
    shown = " ".join(result.stderr.split())
    assert "row 1" in shown and "> 0" in shown


@pytest.mark.parametrize(("csv_text", "words"), [
    ("x\n1\n2\n", "y is neither a column of the data nor a parameter"),
    ("x,y\n1,2\n3,oops\n", "'oops' in column y is not a number"),
    ("x,y\n", "needs a header row and at least one row"),
])
def test_bad_data_is_reported(tmp_path: Path, csv_text: str, words: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(csv_text, encoding="utf-8")
    result = runner.invoke(app, ["fit", "(w*x - y)^2", "--data", str(path), "--params", "w"])
    assert result.exit_code == 2 and words in " ".join(result.stderr.split())


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
        assert ".svg" in result.stderr and result.stdout == ""
    else:
        assert result.exit_code == 0 and target.read_bytes().startswith(b"\x89PNG")
    other = runner.invoke(app, ["descend", "(x-3)^2", "--x", "0", "--plot",
                                str(tmp_path / "loss.jpg")])
    assert other.exit_code == 2 and ".svg or .png" in other.stderr


# --- issue 11: what new users hit -----------------------------------------------

LINE = str(SAMPLES / "line.csv")
DESCEND = ["descend", "(x-3)^2", "--x", "0"]
FIT = ["fit", "(w*x + b - y)^2", "--data", LINE, "--params", "w,b", "--epochs", "5"]


def _bad_plot_paths(tmp_path: Path) -> list[tuple[str, str]]:
    (tmp_path / "plain").write_text("not a folder", encoding="utf-8")
    return [
        (str(tmp_path / "missing" / "loss.svg"), "does not exist"),
        (str(tmp_path / "plain" / "loss.svg"), "not a folder"),
        (str(tmp_path / "loss.jpg"), ".svg or .png"),
        (str(tmp_path / "loss"), ".svg or .png"),
    ]


@pytest.mark.parametrize("command", [DESCEND, FIT], ids=["descend", "fit"])
def test_a_bad_plot_path_is_refused_before_training(tmp_path: Path, command: list[str]) -> None:
    folder = tmp_path / "a.svg"
    folder.mkdir()
    for path, reason in [*_bad_plot_paths(tmp_path), (str(folder), "folder")]:
        for extra in ([], ["--format", "json"]):
            result = runner.invoke(app, [*command, "--plot", path, *extra])
            assert result.exit_code == 2, (path, result.output)
            shown = " ".join(result.output.split())
            assert f"cannot write {path}" in shown and reason in shown, shown
            assert "Traceback" not in result.output
            assert result.exception is None or isinstance(result.exception, SystemExit)
            # Refused before training: no table, no trajectory.
            assert "stopped after" not in result.output and "trajectory" not in result.output


@pytest.mark.skipif(hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0,
                    reason="root may write anywhere")
def test_a_read_only_folder_is_refused_before_training(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = runner.invoke(app, [*DESCEND, "--plot", str(folder / "loss.svg")])
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 2 and "cannot write" in result.stderr
    assert "stopped after" not in result.stdout


def test_a_png_without_matplotlib_is_refused_before_training(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    result = runner.invoke(app, [*FIT, "--plot", str(tmp_path / "loss.png")])
    assert result.exit_code == 2
    shown = " ".join(result.stderr.split())
    assert "cannot write" in shown and "matplotlib" in shown and "SVG" in shown
    assert result.stdout == "" and not (tmp_path / "loss.png").exists()


@pytest.mark.parametrize("command", [DESCEND, FIT], ids=["descend", "fit"])
def test_a_failed_write_leaves_no_file_behind(tmp_path: Path, command: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    target = tmp_path / "loss.svg"
    target.write_text("the old plot", encoding="utf-8")

    def full_disk(source: str, destination: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full_disk)
    result = runner.invoke(app, [*command, "--plot", str(target)])
    assert result.exit_code == 2, result.output
    shown = " ".join(result.stderr.split())
    assert "cannot write" in shown and "No space left" in shown
    assert target.read_text(encoding="utf-8") == "the old plot"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.svg"]


@pytest.mark.parametrize("command", [DESCEND, FIT], ids=["descend", "fit"])
def test_plot_is_written_with_json_output(tmp_path: Path, command: list[str]) -> None:
    target = tmp_path / "loss.svg"
    result = runner.invoke(app, [*command, "--plot", str(target), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    root = ElementTree.parse(target).getroot()
    polyline = root.find("{http://www.w3.org/2000/svg}polyline")
    assert polyline is not None
    assert len(polyline.get("points", "").split()) == len(data["trajectory"])


def _line_loss_and_gradient(w: float, b: float) -> tuple[float, float]:
    """Mean of (w·x + b − y)² over samples/fit/line.csv and its gradient's norm,
    by hand: ∂/∂w = mean 2(w·x + b − y)·x, ∂/∂b = mean 2(w·x + b − y)."""
    rows = (SAMPLES / "line.csv").read_text(encoding="utf-8").split()[1:]
    points = [tuple(map(float, row.split(","))) for row in rows]
    residuals = [(w * x + b - y, x) for x, y in points]
    loss = sum(r * r for r, _ in residuals) / len(points)
    dw = sum(2 * r * x for r, x in residuals) / len(points)
    db = sum(2 * r for r, _ in residuals) / len(points)
    return loss, math.hypot(dw, db)


@pytest.mark.parametrize("extra", [[], ["--batch-size", "7"], ["--momentum", "0.5"],
                                   ["--until", "change<1e-3"]])
def test_fit_rows_pair_parameters_with_the_loss_and_gradient_at_them(extra: list[str]) -> None:
    result = runner.invoke(app, ["fit", "(w*x + b - y)^2", "--data", LINE, "--params",
                                 "w=0.5,b=-1", "--lr", "0.05", "--epochs", "30",
                                 "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = data["trajectory"]
    assert rows[0]["step"] == 0 and rows[0]["params"] == {"w": 0.5, "b": -1.0}
    assert [row["step"] for row in rows] == list(range(len(rows)))
    for row in rows:
        loss, norm = _line_loss_and_gradient(row["params"]["w"], row["params"]["b"])
        assert close(row["loss"], loss, rel=1e-12), row
        assert close(row["grad_norm"], norm, rel=1e-12), row
    assert rows[-1]["params"] == data["final"]
    assert close(rows[-1]["loss"], data["final_loss"], rel=1e-15)


def test_fit_table_ends_with_the_final_loss() -> None:
    result = runner.invoke(app, [*FIT, "--show-every", "2"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    last_row = [line for line in lines if line.startswith("│")][-1]
    final = next(line for line in lines if line.startswith("final:"))
    epoch, loss = [cell.strip() for cell in last_row.strip("│").split("│")][:2]
    assert epoch == "5" and float(loss) == pytest.approx(float(final.split("loss ")[1]),
                                                         rel=1e-5)
    first_row = next(line for line in lines if line.startswith("│"))
    assert first_row.strip("│").split("│")[0].strip() == "0"


def test_descend_rows_pair_parameters_with_the_loss_at_them() -> None:
    result = runner.invoke(app, ["descend", "(x-3)^2 + (y+1)^2", "--x", "0", "--y", "0",
                                 "--steps", "20", "--momentum", "0.3", "--format", "json"])
    data = json.loads(result.stdout)
    for row in data["trajectory"]:
        x, y = row["params"]["x"], row["params"]["y"]
        assert close(row["loss"], (x - 3) ** 2 + (y + 1) ** 2, rel=1e-12)
        assert close(row["grad_norm"], math.hypot(2 * (x - 3), 2 * (y + 1)), rel=1e-12)
    assert data["trajectory"][-1]["params"] == data["final"]
    assert data["trajectory"][-1]["loss"] == data["final_loss"]


@pytest.mark.parametrize(("program", "value", "reason"), [
    ("log(x)", "-1", "> 0"),
    ("sqrt(x)", "0", "derivative"),
    ("1/x", "0", "must not be 0"),
])
def test_descend_from_outside_the_domain_says_so(program: str, value: str, reason: str) -> None:
    result = runner.invoke(app, ["descend", program, "--x", value])
    assert result.exit_code == 1
    shown = " ".join(result.output.split())
    assert "start point is outside the program's domain" in shown and reason in shown
    assert "learning rate" not in shown and "diverged" not in shown
    as_json = runner.invoke(app, ["descend", program, "--x", value, "--format", "json"])
    error = json.loads(as_json.stdout)["error"]
    assert as_json.exit_code == 1 and "outside the program's domain" in error["message"]


def test_fit_from_outside_the_domain_says_so() -> None:
    result = runner.invoke(app, ["fit", "log(w*x)", "--data", LINE, "--params", "w=1"])
    assert result.exit_code == 1
    shown = " ".join(result.output.split())
    assert "outside" in shown and "domain" in shown and "row 1" in shown and "> 0" in shown
    assert "learning rate" not in shown


def test_divergence_during_fit_still_suggests_a_smaller_rate() -> None:
    result = runner.invoke(app, ["fit", "(w*x + b - y)^2", "--data", LINE, "--params", "w,b",
                                 "--lr", "5", "--epochs", "2000"])
    assert result.exit_code == 1
    shown = " ".join(result.output.split())
    assert "diverged at epoch" in shown and "smaller" in shown and "--lr" not in shown.split(
        "diverged")[1].split(";")[0]


@pytest.mark.parametrize(("params", "extra", "words", "not_words"), [
    ("w,x", [], "x is a column of the data", "no column for b"),
    ("w", [], "b is neither a column of the data nor a parameter", ""),
    ("w,b,z", [], "z is not an input of the program", ""),
    ("w,b", ["--target", "y"], "--target", ""),
])
def test_fit_names_the_actual_problem_with_params(params: str, extra: list[str], words: str,
                                                  not_words: str) -> None:
    result = runner.invoke(app, ["fit", "(w*x + b - y)^2", "--data", LINE, "--params", params,
                                 *extra])
    assert result.exit_code == 2, result.output
    shown = " ".join(result.stderr.split())
    assert words in shown, shown
    assert not not_words or not_words not in shown


def test_fit_model_needs_a_target_and_the_target_cannot_be_a_parameter() -> None:
    result = runner.invoke(app, ["fit", "w*x + b", "--loss", "mse", "--data", LINE,
                                 "--params", "w,b"])
    assert result.exit_code == 2 and "--target" in result.stderr
    result = runner.invoke(app, ["fit", "w*x + b", "--loss", "mse", "--target", "y",
                                 "--data", LINE, "--params", "w,b,y"])
    assert result.exit_code == 2 and "y" in result.stderr


def test_descend_start_values_in_params_are_used() -> None:
    result = runner.invoke(app, ["descend", "(x-3)^2", "--params", "x=5", "--steps", "0",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trajectory"][0]["params"] == {"x": 5.0}
    both = runner.invoke(app, ["descend", "(x-3)^2", "--params", "x=5", "--x", "1"])
    assert both.exit_code == 2 and "two" in both.stderr


@pytest.mark.parametrize(("typo", "words"), [
    ("--step", "did you mean --steps?"),
    ("--stpes", "did you mean --steps?"),
    ("--show_every", "did you mean --show-every?"),
    ("--epochs", "exprgraph fit"),
])
def test_descend_typo_of_an_option_is_not_swallowed(typo: str, words: str) -> None:
    result = runner.invoke(app, [*DESCEND, typo, "5"])
    shown = " ".join(result.stderr.split())
    assert words in shown and typo in shown
    assert result.exit_code == 2 and "stopped after" not in result.stdout


def test_fit_typo_of_an_option_suggests_the_option() -> None:
    result = runner.invoke(app, [*FIT, "--epoch", "3"])
    assert result.exit_code == 2
    assert "--epoch" in result.stderr and "--epochs" in result.stderr


@pytest.mark.parametrize(("command", "every", "steps", "shown"), [
    (DESCEND, "30", 100, [0, 30, 60, 90, 100]),  # 100 steps by default
    (FIT, "2", 5, [0, 2, 4, 5]),
], ids=["descend", "fit"])
def test_show_every_thins_the_json_rows_too(command: list[str], every: str, steps: int,
                                            shown: list[int]) -> None:
    """JSON prints the rows the table would: every --show-every-th step and the
    last; without --show-every, every step."""
    result = runner.invoke(app, [*command, "--show-every", every, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [row["step"] for row in data["trajectory"]] == shown
    assert data["every"] == int(every)
    plain = json.loads(runner.invoke(app, [*command, "--format", "json"]).stdout)
    assert [row["step"] for row in plain["trajectory"]] == list(range(steps + 1))


def test_seed_without_mini_batches_is_not_silently_ignored() -> None:
    result = runner.invoke(app, [*FIT, "--seed", "3"])
    assert result.exit_code == 0 and "--seed" in result.stderr


# --- a new user's report -------------------------------------------------------

def _run(*args: str, width: str = "80", stdin: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, piped, at `width` columns."""
    env = {**os.environ, "COLUMNS": width}
    return subprocess.run([sys.executable, "-m", "exprgraph", *args], capture_output=True,
                          text=True, env=env, input=stdin, check=False)


def _tokens(output: str) -> set[str]:
    """Every whitespace- or border-separated word of `output`, without the
    punctuation that follows a number in a sentence."""
    words = re.split(r"[\s│┃]+", output)
    return {word.rstrip(",;:") for word in words if word}


def _many_params(count: int) -> tuple[str, str, list[float]]:
    """Σ (pk − ck)² with long, distinct minimisers ck; its --params and the ck."""
    centres = [round(1.23456789 * (k + 1) * (-1) ** k, 8) for k in range(count)]
    centres[-1] = -123456.789
    program = "+".join(f"(p{k}-({c}))^2" for k, c in enumerate(centres))
    return program, ",".join(f"p{k}=0" for k in range(count)), centres


@pytest.mark.parametrize("width", ["60", "80"])
@pytest.mark.parametrize("count", [5, 20, 300])
def test_training_tables_show_every_number_whole(width: str, count: int) -> None:
    program, params, centres = _many_params(count)
    done = _run("descend", program, "--params", params, "--lr", "0.01", "--steps", "3",
                width=width)
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= int(width)
    shown = _tokens(done.stdout)
    # By hand: p ← p − lr·2(p − c) from 0, so after k steps p = c·(1 − 0.98^k).
    for step in range(4):
        point = [c * (1 - 0.98 ** step) + 0.0 for c in centres]  # + 0.0: no -0
        loss = sum((p - c) ** 2 for p, c in zip(point, centres, strict=True))
        norm = math.hypot(*(2 * (p - c) for p, c in zip(point, centres, strict=True)))
        assert f"{step}" in shown
        assert f"{loss:.6g}" in shown, (step, loss)
        assert f"{norm:.6g}" in shown, (step, norm)
        if count <= 5:  # the parameters of every step fit in the table
            for value in point:
                assert f"{value:.6g}" in shown, (step, value)
    from exprgraph.passes.evaluate import format_value

    final = [c * (1 - 0.98 ** 3) for c in centres]
    for value in final:
        assert any(format_value(value)[:-1] in word for word in shown), value
    assert "‖gradient‖" in shown or "‖∇‖" in shown


def test_fit_table_at_60_columns_shows_four_parameters_whole() -> None:
    done = _run("fit", "(a*x + b - y)^2 + (c - 1.23456789)^2 + (d + 98765.4321)^2",
                "--data", LINE, "--params", "a,b,c,d", "--lr", "0.01", "--epochs", "2",
                width="60")
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 60
    shown = _tokens(done.stdout)
    # c and d move independently of the data: c ← c − lr·2(c − 1.23456789).
    for epoch in range(3):
        c = 1.23456789 * (1 - 0.98 ** epoch)
        d = -98765.4321 * (1 - 0.98 ** epoch) + 0.0  # + 0.0: no -0
        assert f"{c:.6g}" in shown and f"{d:.6g}" in shown


def test_overflow_in_a_row_is_not_called_a_domain_error(tmp_path: Path) -> None:
    path = tmp_path / "bigp.csv"
    path.write_text("x\n1e200\n", encoding="utf-8")
    result = runner.invoke(app, ["fit", "(x+w)^2", "--data", str(path), "--params", "w"])
    shown = " ".join(result.stderr.split())
    assert result.exit_code == 1
    assert "too large for a float" in shown and "negative power" not in shown
    assert not re.search(r"\bt\d\b", shown), shown
    assert "x + w = 1e+200" in shown or "x+w = 1e+200" in shown


def test_a_diverged_fit_says_the_result_became_too_large() -> None:
    result = runner.invoke(app, ["fit", "(w*x + b - y)^2", "--data", LINE, "--params", "w,b",
                                 "--lr", "1e300", "--epochs", "3"])
    shown = " ".join(result.stdout.split())
    assert result.exit_code == 1 and "diverged at epoch 1" in shown
    assert "too large for a float" in shown and "negative power" not in shown
    assert not re.search(r"\bt\d\b", shown), shown


@pytest.mark.parametrize(("program", "point", "words"), [
    ("x^w", {"x": 0.0, "w": -1.0}, "0 cannot be raised to a negative power"),
    ("x^w", {"x": 1e200, "w": 2.0}, "too large for a float"),
    ("exp(x)", {"x": 1000.0}, "too large for a float"),
    ("log(x)", {"x": 0.0}, "> 0"),
    ("x/w", {"x": 1.0, "w": 0.0}, "must not be 0"),
])
def test_row_errors_say_what_eval_says(program: str, point: dict, words: str) -> None:
    compiled = exprgraph.compile(program)
    with pytest.raises(MathError) as scalar:
        compiled.evaluate(point)
    assert words in scalar.value.message  # the oracle: eval at the same point
    columns = {k: np.array([1.0, v]) for k, v in point.items()}  # row 1 is fine
    with pytest.raises(MathError) as rows:
        evaluate_rows(compiled.graph.nodes, columns, 2, compiled.graph.source)
    assert words in rows.value.message and "row 2" in rows.value.message


@pytest.mark.parametrize("cell", ["nan", "inf", "-inf", "1e400", "NaN"])
def test_a_non_finite_number_in_the_data_is_refused_when_read(tmp_path: Path,
                                                              cell: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(f"x,y\n1,2\n\n2,{cell}\n", encoding="utf-8")
    result = runner.invoke(app, ["fit", "(w*x - y)^2", "--data", str(path), "--params", "w"])
    shown = " ".join(result.stderr.split())
    assert result.exit_code == 2
    assert f"{path}, line 4: '{cell}' in column y is not a finite number" in shown
    assert "start parameters" not in shown


@pytest.mark.parametrize("command", [
    ["descend", "--", "-x^2 + x^4", "--x", "0.5", "--steps", "3"],
    ["descend", "x-100", "--x", "0", "--steps", "3"],
    ["fit", "(w-1)^2 - 10 + 0*x", "--data", LINE, "--params", "w", "--lr", "0.1",
     "--epochs", "3"],
])
def test_a_falling_negative_loss_gets_no_warning_that_it_grew(command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "grew" not in result.output and "too large" not in result.output


def test_a_growing_loss_still_gets_the_warning() -> None:
    # x ← x − 1.05·2x = −1.1x: the loss x² grows 1.21-fold a step.
    result = runner.invoke(app, ["descend", "x^2", "--x", "1", "--lr", "1.05", "--steps",
                                 "30"])
    assert result.exit_code == 0
    assert "learning rate may be too large" in " ".join(result.stdout.split())


def test_a_start_value_for_an_input_named_like_an_option_is_given_with_set() -> None:
    result = runner.invoke(app, ["descend", "(lr-1)^2", "--lr", "0.5"])
    shown = " ".join(result.stderr.split())
    assert result.exit_code == 2 and "no start value for lr" in shown
    assert "--set lr=0" in shown and "--lr 0" not in shown
    fine = runner.invoke(app, ["descend", "(lr-1)^2", "--set", "lr=0", "--lr", "0.25",
                               "--steps", "200", "--format", "json"])
    assert fine.exit_code == 0, fine.output
    assert abs(json.loads(fine.stdout)["final"]["lr"] - 1) < 1e-9


def _strict_json(text: str) -> dict:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_parameters_that_stop_being_finite_are_divergence() -> None:
    # x ← 0 − 1e308·(−2) = 2e308: beyond the largest float.
    result = runner.invoke(app, ["descend", "(x-1)^2", "--x", "0", "--lr", "1e308",
                                 "--steps", "3", "--format", "json"])
    assert result.exit_code == 1
    data = _strict_json(result.stdout)
    assert data["stopped"] == "diverged" and data["final"] == {"x": None}
    table = runner.invoke(app, ["descend", "(x-1)^2", "--x", "0", "--lr", "1e308",
                                "--steps", "3"])
    assert table.exit_code == 1 and "diverged" in table.stdout
    assert "inf" not in table.stdout.replace("infinite", "")
    fitted = runner.invoke(app, ["fit", "(w*x - y)^2", "--data", LINE, "--params", "w",
                                 "--lr", "1e308", "--epochs", "3", "--format", "json"])
    assert fitted.exit_code == 1
    data = _strict_json(fitted.stdout)
    assert data["stopped"] == "diverged" and data["final"] == {"w": None}


def test_a_non_finite_learning_rate_is_refused() -> None:
    result = runner.invoke(app, [*DESCEND, "--lr", "inf"])
    assert result.exit_code == 2 and "--lr" in result.stderr


def _fit_csv(tmp_path: Path, text: str, *extra: str, program: str = "(w*x + b - y)^2",
             params: str = "w,b") -> Any:
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode("utf-8"))
    return runner.invoke(app, ["fit", program, "--data", str(path), "--params", params,
                               "--lr", "0.1", "--epochs", "300", "--format", "json", *extra])


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    result = _fit_csv(tmp_path, "\ufeffx,y\n0,1\n1,3\n2,5\n")
    assert result.exit_code == 0, result.output
    final = json.loads(result.stdout)["final"]
    assert abs(final["w"] - 2) < 1e-3 and abs(final["b"] - 1) < 1e-3  # y = 2x + 1


def test_columns_the_program_does_not_use_are_ignored(tmp_path: Path) -> None:
    result = _fit_csv(tmp_path, "id,x,label,y\na1,0,cat,1\na2,1,dog,3\n,2,,5\n")
    assert result.exit_code == 0, result.output
    final = json.loads(result.stdout)["final"]
    assert abs(final["w"] - 2) < 1e-3 and abs(final["b"] - 1) < 1e-3


@pytest.mark.parametrize(("text", "words"), [
    ("x,x,y\n1,2,3\n", "column x appears twice in the header"),
    ("x,y\n1,2\n,\n", "line 3: column x is empty"),
    ("x,y\n1,2\n1,\n", "line 3: column y is empty"),
    ("x,y\n1,2\n\n\n3, \n", "line 5: column y is empty"),
    ("x,y\n1,2\n3\n", "line 3: 1 values for 2 columns"),
])
def test_bad_rows_and_headers_name_line_and_column(tmp_path: Path, text: str,
                                                   words: str) -> None:
    result = _fit_csv(tmp_path, text)
    assert result.exit_code == 2
    assert words in json.loads(result.stdout)["error"]["message"]


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    result = _fit_csv(tmp_path, "x,y\n\n0,1\n   \n1,3\n2,5\n\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 3


def test_bce_targets_must_be_between_0_and_1(tmp_path: Path) -> None:
    result = _fit_csv(tmp_path, "x,label\n0,0\n1,1\n2,2\n3,-1\n", "--loss", "bce",
                      "--target", "label", program="sigmoid(w*x + b)")
    assert result.exit_code == 2
    message = json.loads(result.stdout)["error"]["message"]
    assert "row 3" in message and "label = 2" in message and "between 0 and 1" in message


@pytest.mark.parametrize(("plot", "words"), [("", "no file name"),
                                             ("newdir.svg/", "folder")])
def test_plot_names_that_name_no_file_are_refused(tmp_path: Path, monkeypatch: Any,
                                                  plot: str, words: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*DESCEND, "--plot", plot])
    assert result.exit_code == 2 and words in " ".join(result.stderr.split())
    assert list(tmp_path.iterdir()) == []


def test_fit_reads_the_program_or_the_data_from_stdin() -> None:
    data = (SAMPLES / "line.csv").read_text(encoding="utf-8")
    program = _run("fit", "-", "--data", LINE, "--params", "w,b", "--lr", "0.1", "--epochs",
                   "300", "--format", "json", stdin="(w*x + b - y)^2\n")
    assert program.returncode == 0, program.stderr
    final = json.loads(program.stdout)["final"]
    assert abs(final["w"] - 2) < 1e-3 and abs(final["b"] - 1) < 1e-3
    rows = _run("fit", "(w*x + b - y)^2", "--data", "-", "--params", "w,b", "--lr", "0.1",
                "--epochs", "300", "--format", "json", stdin=data)
    assert rows.returncode == 0, rows.stderr
    assert json.loads(rows.stdout)["final"] == final
    both = _run("fit", "-", "--data", "-", "--params", "w,b", stdin=data)
    assert both.returncode == 2 and "stdin" in both.stderr and "Traceback" not in both.stderr


def test_a_program_without_inputs_has_nothing_to_move() -> None:
    result = runner.invoke(app, ["descend", "3"])
    assert result.exit_code == 2
    assert "the program has no inputs to move" in result.stderr


def test_csv_numbers_are_plain_ascii_numbers(tmp_path: Path) -> None:
    # float() reads 1_0 as 10 and full-width digits as numbers; a CSV cell must not.
    for cell in ("1_0", "\uff13"):
        path = tmp_path / "odd.csv"
        path.write_text(f"x,y\n{cell},2\n3,4\n", encoding="utf-8")
        result = runner.invoke(app, ["fit", "(w*x - y)^2", "--data", str(path), "--params", "w",
                                     "--epochs", "2"])
        assert result.exit_code == 2 and "not a number" in result.stderr


def test_data_beyond_the_limit_is_refused_without_reading_it_all(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("exprgraph.tasks.columns.MAX_CSV_CHARS", 100)
    path = tmp_path / "big.csv"
    path.write_text("x,y\n" + "1,2\n" * 100)
    result = runner.invoke(app, ["fit", "(w*x - y)^2", "--data", str(path), "--params", "w"])
    assert result.exit_code == 2 and "larger than" in result.stderr


def test_a_negative_seed_is_a_usage_error() -> None:
    result = runner.invoke(app, ["fit", "(w*x + b - y)^2", "--data", str(LINE), "--params", "w,b",
                                 "--seed", "-1", "--batch-size", "2"])
    assert result.exit_code == 2


# --- a bounded history (issue 12) --------------------------------------------------


def test_descend_keeps_only_the_shown_rows_and_a_bounded_curve(monkeypatch: Any) -> None:
    """2,000 steps with room for 100 rows and 50 curve points: the rows are
    the multiples of the final spacing plus the last step, the curve likewise,
    and each kept row has the loss worked by hand: on x²/2 a step is
    x ← (1 − lr)·x, so at step k the loss is ((1 − lr)^k · x0)² / 2."""
    monkeypatch.setattr(progress, "MAX_ROWS", 100)
    monkeypatch.setattr(progress, "CURVE_POINTS", 50)
    lr, steps = 0.001, 2_000
    trajectory = descend(exprgraph.compile("x^2/2"), {"x": 1.0}, ["x"], lr, steps, every=7)
    kept = [s.step for s in trajectory.steps]
    assert len(kept) <= 101 and trajectory.every in (7 * 2 ** k for k in range(1, 6))
    assert kept == [*range(0, steps + 1, trajectory.every)][:len(kept) - 1] + [steps]  # noqa: RUF005
    assert kept[-2] + trajectory.every > steps  # no row that should be there is missing
    for row in trajectory.steps:
        assert close(row.loss, (1 - lr) ** (2 * row.step) / 2, rel=1e-9)
    points = [step for step, _ in trajectory.curve]
    assert len(points) <= 51 and points[0] == 0 and points[-1] == steps
    assert all(not p % trajectory.curve_every for p in points[:-1])
    assert all(close(loss, (1 - lr) ** (2 * step) / 2, rel=1e-9)
               for step, loss in trajectory.curve)
    assert trajectory.final_loss == trajectory.steps[-1].loss


def test_fit_keeps_a_bounded_history(monkeypatch: Any) -> None:
    monkeypatch.setattr(progress, "MAX_ROWS", 20)
    monkeypatch.setattr(progress, "CURVE_POINTS", 10)
    columns, rows = train.read_csv(LINE)
    trajectory = fit(exprgraph.compile("(w*x + b - y)^2"), columns, rows, {"w": 0.0, "b": 0.0},
                     0.01, 300)
    assert len(trajectory.steps) <= 21 and len(trajectory.curve) <= 11
    assert trajectory.steps[0].step == 0 and trajectory.steps[-1].step == 300
    assert trajectory.curve[0][0] == 0 and trajectory.curve[-1][0] == 300


def test_many_parameters_keep_fewer_rows() -> None:
    """A row holds every parameter: the rows kept shrink with their number."""
    names = [f"x{k}" for k in range(5_000)]
    trajectory = train._trajectory(names, 1, None)
    assert trajectory.max_rows * len(names) <= train.MAX_ROW_NUMBERS


def test_the_table_says_when_rows_were_thinned_past_show_every(monkeypatch: Any) -> None:
    monkeypatch.setattr(progress, "MAX_ROWS", 10)
    result = runner.invoke(app, [*DESCEND, "--steps", "200", "--show-every", "1"],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "a row every 32 steps: at most 10 rows are kept" in " ".join(result.stdout.split())


def test_json_and_plot_are_bounded_for_long_runs(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(progress, "MAX_ROWS", 30)
    monkeypatch.setattr(progress, "CURVE_POINTS", 40)
    target = tmp_path / "loss.svg"
    result = runner.invoke(app, [*DESCEND, "--steps", "500", "--plot", str(target),
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["trajectory"]) <= 31 and data["trajectory"][-1]["step"] == 500
    root = ElementTree.parse(target).getroot()
    polyline = root.find("{http://www.w3.org/2000/svg}polyline")
    assert polyline is not None
    assert 2 <= len(polyline.get("points", "").split()) <= 41


def test_steps_up_to_a_billion_are_accepted() -> None:
    """Steps cost time, not memory: a long run that stops early is fine."""
    result = runner.invoke(app, [*DESCEND, "--steps", "1000000000", "--until", "grad<1e-3",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["stopped"] == "grad" and abs(data["final"]["x"] - 3) < 1e-3


def test_ctrl_c_stops_training_with_what_was_reached() -> None:
    def interrupt(step: int) -> None:
        if step == 5:
            raise KeyboardInterrupt
    trajectory = descend(exprgraph.compile("(x-3)^2"), {"x": 0.0}, ["x"], 0.1, 1_000,
                         on_step=interrupt)
    assert trajectory.interrupted and trajectory.message == "interrupted at step 4"
    # x_k = 3 - 3·0.8^k on (x-3)^2 with lr 0.1
    assert close(trajectory.final["x"], 3 - 3 * 0.8 ** 4, rel=1e-12)
    assert trajectory.final_loss == trajectory.steps[-1].loss


def test_ctrl_c_in_the_cli_prints_the_result_and_exits_130() -> None:
    """A real SIGINT to a run that would last hours: the table of what was
    reached, exit status 130, no traceback."""
    import signal

    # As from a shell: Ctrl-C's default action. An ignored SIGINT is inherited,
    # and in a long test session something in the test process may ignore it
    # (CI saw the child ignore the signal only in the full suite).
    process = subprocess.Popen(
        [sys.executable, "-m", "exprgraph", *DESCEND, "--steps", "1000000000",
         "--until", "loss<-1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "80"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        process.communicate(timeout=3)  # long enough to be training, not importing
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"no exit 60 s after SIGINT (the test process's SIGINT handler: "
                    f"{signal.getsignal(signal.SIGINT)!r})")
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert re.search(r"interrupted at step \d+", out)
    assert "final: x = 3" in out


def test_an_undefined_partial_of_a_fixed_input_does_not_stop_descend() -> None:
    """∂/∂y of x·sqrt(y) is undefined at y = 0, but only x moves: on
    x² + x·sqrt(y) at y = 0 a step is x ← (1 − 2·lr)·x."""
    program = exprgraph.compile("x^2 + x*sqrt(y)")
    trajectory = descend(program, {"x": 1.0, "y": 0.0}, ["x"], 0.1, 3)
    assert not trajectory.diverged
    assert [close(s.params["x"], 0.8 ** s.step) for s in trajectory.steps] == [True] * 4
    result = runner.invoke(app, ["descend", "x^2 + x*sqrt(y)", "--x", "1", "--y", "0",
                                 "--params", "x", "--steps", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert close(json.loads(result.stdout)["final"]["x"], 0.8 ** 3)


def test_an_undefined_partial_of_a_moved_input_still_stops_descend() -> None:
    result = runner.invoke(app, ["descend", "x^2 + x*sqrt(y)", "--x", "1", "--y", "0"])
    assert result.exit_code == 1
    assert "outside the program's domain" in result.stderr and "y" in result.stderr


def test_the_steps_table_never_rounds_a_small_value_to_0() -> None:
    """descend's table prints 6 significant digits, however small: 1e-13 stays."""
    result = runner.invoke(app, ["descend", "1e-13*x^2", "--x", "1", "--steps", "1",
                                 "--lr", "1"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "1e-13" in result.stdout and "2e-13" in result.stdout


def test_with_until_the_default_table_rows_span_the_steps_actually_run() -> None:
    """--steps 1e9 --until stops at step 21 on (x-3)^2 from 0 with lr 0.1
    (loss 9·0.64^k < 1e-3 first at k = 21): the table's rows cover steps 0 to
    21, not only the two ends of a billion-step plan."""
    result = runner.invoke(app, [*DESCEND, "--steps", "1000000000", "--until", "loss<1e-3"],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    steps = [int(m) for m in re.findall(r"^│\s+(\d+) │", result.stdout, re.MULTILINE)]
    assert steps[0] == 0 and steps[-1] == 21 and 8 <= len(steps) <= 17
    assert "stopped at step 21" in result.stdout


@pytest.mark.parametrize("command", [
    ["descend", "x^2", "--x", "1", "--steps", "2"],
    ["fit", "(w*x - y)^2", "--data", str(Path(__file__).resolve().parent.parent / "samples" /
                                          "fit" / "line.csv"), "--params", "w=0", "--epochs", "2"]])
def test_a_learning_rate_that_reads_as_zero_is_warned_about(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--lr", "1e-400"])
    assert result.exit_code == 0, result.output
    assert "warning: --lr 1e-400 is below the smallest float and reads as 0" in result.stderr


@pytest.mark.parametrize(("criterion", "message"), [
    ("loss<1e999", "1e999 in 'loss<1e999' is beyond a float"),
    ("grad<-1", "'grad<-1' can never hold: a gradient norm is never below 0"),
    ("grad<0", "'grad<0' can never hold"),
    ("change<-1e-9", "'change<-1e-9' can never hold: a loss change is never below 0")])
def test_a_stop_criterion_that_means_nothing_is_refused(criterion: str, message: str) -> None:
    result = CliRunner().invoke(app, ["descend", "x^2", "--x", "1", "--until", criterion])
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    # A loss may be negative: loss<-1 can hold, and is taken.
    assert parse_criterion("loss<-1").threshold == -1


@pytest.mark.parametrize(("option", "typed", "message"), [
    ("--momentum", "1e400", "1e400 is beyond a float"),
    ("--momentum", "2", "2 is out of range: it must be from 0 to 1"),
    ("--lr", "-1", "-1 is out of range: it must be at least 0"),
    ("--lr", "nan", "nan is not a finite number")])
def test_a_bad_training_setting_is_quoted_as_typed(option: str, typed: str,
                                                   message: str) -> None:
    result = CliRunner().invoke(app, ["descend", "x^2", "--x", "1", option, typed])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.replace("│", " ").split()), result.stderr
