"""Tensor values through the one reverse loop (passes/tensor.py): vector–Jacobian
products against central differences and against gradients worked by hand
(NumPy), on random shapes and values."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exprgraph.core.graph import GraphBuilder
from exprgraph.core.ops import ADD, INPUT, MUL, OPS, SUB
from exprgraph.core.shapes import row_vector
from exprgraph.core.tensor_ops import MATMUL, SUM, TRANSPOSE
from exprgraph.passes.tensor import Tensor, evaluate_tensors, gradient_tensors, tensor

from .oracles import central_gradient

Program = Callable[[GraphBuilder, dict[str, int]], int]


def _run(program: Program, inputs: dict[str, Tensor]) -> tuple[float, dict[str, np.ndarray]]:
    builder = GraphBuilder()
    names = {name: builder.intern(INPUT, label=name) for name in inputs}
    output = program(builder, names)
    nodes = builder.nodes
    values = evaluate_tensors(nodes, inputs)
    adjoints = gradient_tensors(nodes, values, output)
    return (float(np.sum(values[output].data)),
            {name: np.asarray(adjoints[index].data) for name, index in names.items()})


def _central(program: Program, inputs: dict[str, Tensor], name: str) -> np.ndarray:
    def at(moved: np.ndarray) -> float:
        return _run(program, {**inputs, name: Tensor(moved, inputs[name].shape)})[0]

    return central_gradient(at, inputs[name].data)


def _layer(b: GraphBuilder, n: dict[str, int]) -> int:
    """sum(tanh(W @ x + bias))"""
    pre = b.intern(ADD, (b.intern(MATMUL, (n["W"], n["x"])), n["bias"]))
    return b.intern(SUM, (b.intern(OPS["tanh"], (pre,)),))


def _quadratic(b: GraphBuilder, n: dict[str, int]) -> int:
    """x' @ A @ x"""
    return b.intern(MATMUL, (b.intern(MATMUL, (b.intern(TRANSPOSE, (n["x"],)), n["A"])), n["x"]))


def _rows(b: GraphBuilder, n: dict[str, int]) -> int:
    """sum(M * v): v against each row of M"""
    return b.intern(SUM, (b.intern(MUL, (n["M"], n["v"])),))


def _numpy_habits(b: GraphBuilder, n: dict[str, int]) -> int:
    """sum(x @ A) + x @ y + sum(sin(x @ y'))"""
    left = b.intern(SUM, (b.intern(MATMUL, (n["x"], n["A"])),))
    dot = b.intern(MATMUL, (n["x"], n["y"]))
    outer = b.intern(SUM, (b.intern(OPS["sin"], (b.intern(MATMUL, (
        n["x"], b.intern(TRANSPOSE, (n["y"],)))),)),))
    return b.intern(SUB, (b.intern(ADD, (left, dot)), outer))


def _arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    size = int(np.prod(shape)) if shape else 1
    return st.lists(st.floats(-2, 2), min_size=size, max_size=size).map(
        lambda xs: np.array(xs).reshape(shape))


@settings(max_examples=25, deadline=None)
@given(data=st.data(), m=st.integers(1, 4), n=st.integers(1, 4))
def test_a_layer_matches_central_differences_and_the_hand_worked_gradient(
        data: st.DataObject, m: int, n: int) -> None:
    inputs = {"W": tensor(data.draw(_arrays((m, n)))), "x": tensor(data.draw(_arrays((n,)))),
              "bias": tensor(data.draw(_arrays((m,))))}
    _, grad = _run(_layer, inputs)
    w, x, bias = (inputs[k].data for k in ("W", "x", "bias"))
    slope = 1 - np.tanh(w @ x + bias) ** 2  # by hand: ∂/∂pre of sum(tanh(pre))
    assert np.allclose(grad["W"], np.outer(slope, x))
    assert np.allclose(grad["x"], w.T @ slope)
    assert np.allclose(grad["bias"], slope)
    for name in inputs:
        assert np.allclose(grad[name], _central(_layer, inputs, name), atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), n=st.integers(1, 4))
def test_the_quadratic_form(data: st.DataObject, n: int) -> None:
    a = data.draw(_arrays((n, n)))
    x = data.draw(_arrays((n,)))
    value, grad = _run(_quadratic, {"A": tensor(a), "x": tensor(x)})
    assert np.isclose(value, x @ a @ x)
    assert np.allclose(grad["x"], (a + a.T) @ x)   # the Matrix Cookbook's (A + Aᵀ)x
    assert np.allclose(grad["A"], np.outer(x, x))


@settings(max_examples=25, deadline=None)
@given(data=st.data(), m=st.integers(1, 4), n=st.integers(2, 4))
def test_a_vector_broadcast_against_rows_gets_the_column_sums(
        data: st.DataObject, m: int, n: int) -> None:
    mat = data.draw(_arrays((m, n)))
    v = data.draw(_arrays((n,)))
    _, grad = _run(_rows, {"M": tensor(mat), "v": tensor(v)})
    assert np.allclose(grad["v"], mat.sum(axis=0))
    assert np.allclose(grad["M"], np.broadcast_to(v, (m, n)))


@settings(max_examples=25, deadline=None)
@given(data=st.data(), n=st.integers(1, 4), k=st.integers(1, 4))
def test_numpy_habits_vector_at_matrix_dot_and_outer(data: st.DataObject, n: int,
                                                      k: int) -> None:
    inputs = {"x": tensor(data.draw(_arrays((n,)))), "A": tensor(data.draw(_arrays((n, k)))),
              "y": tensor(data.draw(_arrays((n,))))}
    _, grad = _run(_numpy_habits, inputs)
    for name in inputs:
        assert np.allclose(grad[name], _central(_numpy_habits, inputs, name), atol=1e-6)


def test_adjoints_have_their_nodes_shapes() -> None:
    builder = GraphBuilder()
    names = {k: builder.intern(INPUT, label=k) for k in ("W", "x", "bias")}
    output = _layer(builder, names)
    values = evaluate_tensors(builder.nodes, {"W": tensor(np.ones((3, 2))),
                                              "x": tensor(np.ones(2)),
                                              "bias": tensor(np.ones(3))})
    adjoints = gradient_tensors(builder.nodes, values, output)
    for index, adjoint in adjoints.items():
        assert adjoint.shape == values[index].shape
        assert np.shape(adjoint.data) == np.shape(values[index].data)


def test_a_transposed_vector_is_a_row() -> None:
    builder = GraphBuilder()
    x = builder.intern(INPUT, label="x")
    t = builder.intern(TRANSPOSE, (x,))
    (value,) = evaluate_tensors(builder.nodes, {"x": tensor([1.0, 2.0])})[t:]
    assert value.shape == row_vector(2)


@pytest.mark.parametrize("shape", [(2,), (2, 3)])
def test_the_gradient_of_a_tensor_output_is_of_its_sum(shape: tuple[int, ...]) -> None:
    builder = GraphBuilder()
    x = builder.intern(INPUT, label="x")
    out = builder.intern(MUL, (x, x))
    data = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    values = evaluate_tensors(builder.nodes, {"x": tensor(data)})
    assert np.allclose(gradient_tensors(builder.nodes, values, out)[x].data, 2 * data)
