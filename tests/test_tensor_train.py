"""Training vector and matrix parameters: batched evaluation, `descend`, `fit`.

Oracles: the batched pass (every row at once) against a loop over the rows
one at a time; fit's gradient against central differences of the per-row
losses evaluated through the public API; the accuracy `fit` reports against
predictions recomputed with NumPy from the trained parameters it prints.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app
from exprgraph.core.shapes import SCALAR, Shape
from exprgraph.passes.tensor import Tensor, evaluate_tensors, gradient_tensors, tensor
from exprgraph.syntax.parse import parse_program
from exprgraph.tasks.train import _tensor_measure, initial_values, loss_nodes, parse_init

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "fit"
runner = CliRunner()

# Programs whose per-row inputs are the listed names; the others are weights.
BATCHED = [
    ("W1: matrix(5, 4); b1: vector(5); W2: matrix(3, 5); b2: vector(3); x: vector(4); "
     "y: vector(3); h = tanh(W1 @ x + b1); z = W2 @ h + b2; L = logsumexp(z) - sum(y * z)",
     ["x", "y"]),
    ("A: matrix(3, 3); x: vector(3); s: scalar; L = x' @ A @ x * s + norm(x) + "
     "softmax(x)[1] + sum(diag(outer(x, x))) + tr(A) * s", ["x", "s"]),
    ("A: matrix(3, 3); B: matrix(3, 3); L = logdet(A @ A' + 3 * diag(diag(B @ B'))) + "
     "sum(inv(B @ B' + A @ A')) + det(B @ B' + A @ A') + sum(diag(B)[0] * A[1])", ["A"]),
    ("x: vector(3); W: matrix(2, 3); L = sum(x @ W') + dot(x, x) + mean(W @ x) + "
     "sum(x' @ W') + sum(W * x) / 3", ["x"]),
]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(BATCHED), rows=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_the_batched_pass_equals_a_loop_over_the_rows(case: tuple[str, list[str]], rows: int,
                                                       seed: int) -> None:
    """Every row at once: the loss per row as one row at a time, a per-row
    input's gradient per row, and a weight's gradient summed over the rows."""
    text, per_row = case
    graph = parse_program(text)
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray | float] = {}
    for name in graph.input_names:
        dims = tuple(int(d) for d in graph.declarations[name].dims)
        values[name] = rng.normal(size=(rows, *dims)) if name in per_row else (
            rng.normal(size=dims) if dims else float(rng.normal()))

    def leaf(name: str, row: int | None = None) -> Tensor:
        value = values[name]
        if name in per_row and row is None:
            return Tensor(value, graph.declarations[name], True)
        if name in per_row:
            value = value[row]
        return tensor(value) if np.ndim(value) else Tensor.scalar(float(value))

    with np.errstate(all="ignore"):
        batched = evaluate_tensors(graph.nodes, {n: leaf(n) for n in graph.input_names})
        adjoints = gradient_tensors(graph.nodes, batched, graph.output)
    summed = {n: 0.0 for n in graph.input_names if n not in per_row}
    for row in range(rows):
        one = evaluate_tensors(graph.nodes, {n: leaf(n, row) for n in graph.input_names})
        grads = gradient_tensors(graph.nodes, one, graph.output)
        assert np.allclose(batched[graph.output].data[row], one[graph.output].data)
        for name in graph.input_names:
            found = grads[graph.names[name]].data
            if name in per_row:
                assert np.allclose(adjoints[graph.names[name]].data[row], found), name
            else:
                summed[name] = summed[name] + found
    for name, total in summed.items():
        assert np.allclose(adjoints[graph.names[name]].data, total), name


def test_fits_gradient_is_the_mean_of_the_per_row_gradients_by_central_differences() -> None:
    text = ("W1: matrix(2, 2); b1: vector(2); w2: vector(2); h = tanh(W1 @ x + b1); "
            "p = sigmoid(w2' @ h + b2); L = -(y*log(p) + (1 - y)*log(1 - p))")
    program = exprgraph.compile(text)
    rng = np.random.default_rng(3)
    params = {"W1": rng.normal(size=(2, 2)), "b1": rng.normal(size=2),
              "w2": rng.normal(size=2), "b2": 0.3}
    data = {"x": rng.uniform(0, 1, size=(5, 2)), "y": np.array([0, 1, 1, 0, 1.0])}
    nodes, output = loss_nodes(program, None, None)
    measure = _tensor_measure(program, nodes, output, data, list(params), params)
    loss, gradient = measure({**data, **params}, 5)

    def mean_loss(point: dict) -> float:
        return float(np.mean([program.evaluate(x=data["x"][r], y=data["y"][r], **point).value
                              for r in range(5)]))

    assert loss == pytest.approx(mean_loss(params), rel=1e-12)
    for name, value in params.items():
        start = np.asarray(value, dtype=float)
        numeric = np.zeros_like(start)
        for spot in np.ndindex(start.shape):
            step = np.zeros_like(start)
            step[spot] = 1e-6
            up, down = dict(params), dict(params)
            up[name] = start + step if start.ndim else float(start + step)
            down[name] = start - step if start.ndim else float(start - step)
            numeric[spot] = (mean_loss(up) - mean_loss(down)) / 2e-6
        assert np.allclose(gradient[name], numeric, atol=1e-7), name


IRIS = ("W1: matrix(8, 4); b1: vector(8); W2: matrix(3, 8); b2: vector(3); "
        "h = tanh(W1 @ x + b1); z = W2 @ h + b2; L = logsumexp(z) - sum(y * z)")
IRIS_ARGS = ["--data", str(SAMPLES / "iris.csv"),
             "--columns", "x=sepal_length,sepal_width,petal_length,petal_width",
             "--columns", "y=setosa,versicolor,virginica", "--params", "W1,b1,W2,b2",
             "--init", "normal:0.5", "--lr", "0.1", "--epochs", "500", "--accuracy", "z=y"]


def test_iris_trains_to_95_percent_and_the_accuracy_is_what_the_weights_give() -> None:
    result = runner.invoke(app, ["fit", IRIS, *IRIS_ARGS, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    final = {k: np.asarray(v) for k, v in data["final"].items()}
    # The accuracy recomputed with NumPy from the weights the run printed.
    table = np.genfromtxt(SAMPLES / "iris.csv", delimiter=",", names=True)
    x = np.stack([table[c] for c in ("sepal_length", "sepal_width", "petal_length",
                                     "petal_width")], axis=1)
    z = np.tanh(x @ final["W1"].T + final["b1"]) @ final["W2"].T + final["b2"]
    right = int(np.sum(np.argmax(z, axis=1) == table["species"]))
    assert data["accuracy"]["right"] == right
    assert right / 150 >= 0.95
    assert data["final_loss"] < data["trajectory"][0]["loss"] / 10
    assert data["columns"]["x"] == ["sepal_length", "sepal_width", "petal_length",
                                    "petal_width"]


def test_the_table_shows_norms_of_matrix_parameters_and_the_accuracy() -> None:
    result = runner.invoke(app, ["fit", IRIS, *IRIS_ARGS, "--epochs", "20"])
    assert result.exit_code == 0, result.output
    assert "‖W1‖" in result.stdout and "training accuracy" in result.stdout


def test_xor_is_learned_by_a_2_2_1_network() -> None:
    text = ("W1: matrix(2, 2); b1: vector(2); w2: vector(2); h = tanh(W1 @ x + b1); "
            "p = sigmoid(w2' @ h + b2); L = -(y*log(p) + (1 - y)*log(1 - p))")
    result = runner.invoke(app, ["fit", text, "--data", str(SAMPLES / "xor.csv"),
                                 "--columns", "x=x1,x2", "--params", "W1,b1,w2,b2",
                                 "--init", "xavier", "--seed", "3", "--lr", "0.5",
                                 "--epochs", "1000", "--accuracy", "p=y", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    final = {k: np.asarray(v) for k, v in data["final"].items()}
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1.0]])
    p = 1 / (1 + np.exp(-(np.tanh(x @ final["W1"].T + final["b1"]) @ final["w2"]
                          + final["b2"])))
    assert list((p > 0.5).astype(int)) == [0, 1, 1, 0]
    assert data["accuracy"]["share"] == 1.0


def test_descend_moves_a_matrix_to_the_least_squares_solution() -> None:
    """min ½‖A w − b‖²: the normal equations' solution, by NumPy."""
    a = [[2.0, 1.0], [1.0, 3.0], [0.0, 1.0]]
    b = [1.0, 2.0, 3.0]
    result = runner.invoke(app, ["descend", "L = 0.5*sum((A @ w - b)^2)", "--A", json.dumps(a),
                                 "--b", json.dumps(b), "--w", "[0, 0]", "--params", "w",
                                 "--lr", "0.05", "--steps", "3000", "--format", "json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)["final"]["w"]
    expected = np.linalg.lstsq(np.array(a), np.array(b), rcond=None)[0]
    assert np.allclose(found, expected, atol=1e-6)


def test_descend_starts_a_declared_matrix_from_init_with_its_seed() -> None:
    args = ["descend", "W: matrix(2, 3); L = sum(W^2)", "--params", "W", "--steps", "0",
            "--init", "normal:0.1", "--seed", "7", "--format", "json"]
    first = json.loads(runner.invoke(app, args).stdout)["final"]["W"]
    again = json.loads(runner.invoke(app, args).stdout)["final"]["W"]
    assert first == again
    assert np.allclose(first, np.random.default_rng(7).normal(0, 0.1, (2, 3)))


def test_initial_values_bind_sizes_from_the_data_and_say_when_one_is_unknown() -> None:
    program = exprgraph.compile("W: matrix(3, n); x: vector(n); L = sum(W @ x)")
    starts = initial_values(program, ["W"], {}, ("zeros", 0.0), 0, {"x": Shape((4,))})
    assert starts["W"].shape == (3, 4)
    unknown = exprgraph.compile("W: matrix(m, n); x: vector(n); L = sum(W @ x)")
    with pytest.raises(exprgraph.ValueInputError, match="size m of W"):
        initial_values(unknown, ["W"], {}, ("zeros", 0.0), 0, {"x": Shape((4,))})
    scalar = exprgraph.compile("b: scalar; L = b^2")
    assert initial_values(scalar, ["b"], {}, ("normal", 1.0), 0) == {"b": 0.0}
    assert SCALAR.is_scalar


@pytest.mark.parametrize(("text", "words"), [
    ("gauss", "unknown initialisation"), ("normal", "unknown initialisation"),
    ("normal:-1", "must be a number >= 0"), ("uniform:x", "must be a number >= 0"),
])
def test_a_bad_init_is_refused_with_the_kinds(text: str, words: str) -> None:
    with pytest.raises(exprgraph.ValueInputError, match=words) as caught:
        parse_init(text)
    assert "xavier" in (caught.value.hint or "")


@pytest.mark.parametrize(("columns", "words"), [
    (["x=sepal_length,nope"], "no column nope"),
    (["x"], "is not NAME=COLUMN"),
    (["x=sepal_length", "x=sepal_width"], "names x twice"),
    (["species=sepal_length"], "already a column"),
])
def test_bad_columns_are_usage_errors(columns: list[str], words: str) -> None:
    args = ["fit", "w: vector(1); L = sum(w * x)^2", "--data", str(SAMPLES / "iris.csv"),
            "--params", "w"]
    for spec in columns:
        args += ["--columns", spec]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert words in result.output


def test_a_vector_loss_per_row_is_refused_before_training() -> None:
    result = runner.invoke(app, ["fit", "w: vector(4); h = w * x", "--data",
                                 str(SAMPLES / "iris.csv"), "--columns",
                                 "x=sepal_length,sepal_width,petal_length,petal_width",
                                 "--params", "w"])
    assert result.exit_code == 2, result.output
    assert "minimises a number per row" in result.output


def test_params_take_vector_and_matrix_start_values_in_brackets() -> None:
    """--params W=[[...]] starts fit there: one step of plain gradient descent
    from it moves W by -lr times the mean gradient, recomputed with NumPy."""
    result = runner.invoke(app, ["fit", "W: matrix(1, 2); L = (sum(W @ v) - y)^2",
                                 "--data", str(SAMPLES / "line.csv"), "--columns", "v=x,x",
                                 "--params", "W=[[0.5, 0]]", "--epochs", "1", "--lr", "0.01",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    table = np.genfromtxt(SAMPLES / "line.csv", delimiter=",", names=True)
    v = np.stack([table["x"], table["x"]], axis=1)
    w = np.array([[0.5, 0.0]])
    residual = v @ w[0] - table["y"]
    gradient = np.mean(2 * residual[:, None] * v, axis=0)
    assert np.allclose(json.loads(result.stdout)["final"]["W"], w - 0.01 * gradient)
    twice = runner.invoke(app, ["descend", "L = sum((w - 1)^2)", "--w", "[0, 0]",
                                "--params", "w=[1, 2]"])
    assert twice.exit_code == 2
    assert "w is given two start values: [1, 2] in --params and [0, 0]" in twice.output


# --- found by a fresh-user test ------------------------------------------------------


def test_a_start_point_outside_the_domain_is_a_math_error_naming_the_values() -> None:
    result = runner.invoke(app, ["fit", "w: vector(2); L = log(w @ x)", "--data",
                                 str(SAMPLES / "xor.csv"), "--columns", "x=x1,x2",
                                 "--params", "w", "--init", "zeros"])
    assert result.exit_code == 1, result.output
    assert "w = [0, 0]" in result.output and "Traceback" not in result.output


def test_accuracy_of_a_node_that_does_not_depend_on_the_data_is_a_usage_error() -> None:
    result = runner.invoke(app, ["fit", "w: vector(2); L = (w @ x - y)^2", "--data",
                                 str(SAMPLES / "xor.csv"), "--columns", "x=x1,x2",
                                 "--params", "w", "--epochs", "1", "--accuracy", "w=y"])
    assert result.exit_code == 2, result.output
    assert "does not depend on the data" in result.output


def test_huge_steps_keep_json_finite_and_steps_carry_norms_not_values() -> None:
    result = runner.invoke(app, ["descend", "A: matrix(2, 2); L = sum(exp(A)) + b^2",
                                 "--params", "A,b", "--b", "1", "--lr", "1e300",
                                 "--steps", "3", "--format", "json"])
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout
    data = json.loads(result.stdout)
    assert data["tensors"] == ["A"]
    first = data["trajectory"][0]
    assert set(first["params"]) == {"b"} and set(first["norms"]) == {"A"}
    start = np.random.default_rng(0).normal(0, 0.1, (2, 2))  # --init's default, seed 0
    assert first["norms"]["A"] == pytest.approx(float(np.linalg.norm(start)))


@pytest.mark.parametrize(("args", "words"), [
    (["--init", "zeros"], "--init has no effect"),
    (["--seed", "3"], "--seed has no effect"),
])
def test_an_init_or_seed_that_changes_nothing_is_said(args: list[str], words: str) -> None:
    result = runner.invoke(app, ["descend", "L = sum((w - 1)^2)", "--w", "[0, 0]",
                                 "--steps", "1", *args])
    assert result.exit_code == 0, result.output
    assert words in result.stderr


def test_a_column_group_cannot_also_be_a_parameter() -> None:
    result = runner.invoke(app, ["fit", "w: vector(2); L = (sum(w) - y)^2", "--data",
                                 str(SAMPLES / "xor.csv"), "--params", "w",
                                 "--columns", "w=x1,x2"])
    assert result.exit_code == 2
    assert "cannot also be a parameter" in result.output
