"""The shape pass (passes/shapes.py): shapes before values, errors that name the
expression and its place; and how tensor ops print."""

from __future__ import annotations

import numpy as np
import pytest

from exprgraph.core.errors import ShapeError
from exprgraph.core.graph import GraphBuilder
from exprgraph.core.ops import ADD, INPUT, NEG, OPS, POW
from exprgraph.core.shapes import SCALAR, matrix, row_vector, vector
from exprgraph.core.tensor_ops import MATMUL, SUM, TRANSPOSE
from exprgraph.passes.shapes import infer_shapes, is_scalar_program
from exprgraph.passes.tensor import evaluate_tensors, tensor
from exprgraph.printing.text import expression_text


def _layer() -> tuple[GraphBuilder, dict[str, int], int]:
    b = GraphBuilder()
    n = {k: b.intern(INPUT, label=k) for k in ("W", "x", "bias")}
    product = b.intern(MATMUL, (n["W"], n["x"]), line=1, column=11)
    out = b.intern(SUM, (b.intern(OPS["tanh"], (b.intern(ADD, (product, n["bias"])),)),))
    return b, n, out


def test_shapes_agree_with_the_values_numpy_computes() -> None:
    b, _, out = _layer()
    values = {"W": tensor(np.ones((3, 2))), "x": tensor(np.ones(2)), "bias": tensor(np.ones(3))}
    shaped = infer_shapes(b.nodes, {k: v.shape for k, v in values.items()})
    computed = evaluate_tensors(b.nodes, values)
    assert [s.dims for s in shaped] == [tuple(np.shape(v.data)) for v in computed]
    assert shaped[out] == SCALAR and not is_scalar_program(shaped)


def test_a_mismatch_names_the_expression_its_place_and_both_shapes() -> None:
    b, _, _ = _layer()
    source = "h = tanh(W @ x + bias); L = sum(h)"
    with pytest.raises(ShapeError) as info:
        infer_shapes(b.nodes, {"W": matrix(3, 2), "x": vector(3), "bias": vector(3)}, source)
    error = info.value
    assert error.message == "W @ x: cannot multiply a 3×2 matrix by a vector of length 3"
    assert (error.line, error.column) == (1, 11) and error.exit_code == 2


def test_a_broadcast_mismatch_names_the_operation() -> None:
    b, _, _ = _layer()
    with pytest.raises(ShapeError, match=r"W @ x \+ bias|t\d+ \+ bias"):
        infer_shapes(b.nodes, {"W": matrix(3, 2), "x": vector(2), "bias": vector(4)})


def test_without_tensor_values_everything_is_a_scalar() -> None:
    b = GraphBuilder()
    x = b.intern(INPUT, label="x")
    b.intern(POW, (x, b.constant(2.0)))
    assert is_scalar_program(infer_shapes(b.nodes, {}))


@pytest.mark.parametrize(("build", "text"), [
    (lambda b, x, y: b.intern(TRANSPOSE, (b.intern(ADD, (x, y)),)), "(x + y)'"),
    (lambda b, x, y: b.intern(TRANSPOSE, (b.intern(NEG, (x,)),)), "(-x)'"),
    (lambda b, x, y: b.intern(MATMUL, (b.intern(TRANSPOSE, (x,)), y)), "x' @ y"),
    (lambda b, x, y: b.intern(POW, (b.intern(TRANSPOSE, (x,)), b.constant(2.0))), "x'^2"),
    (lambda b, x, y: b.intern(NEG, (b.intern(TRANSPOSE, (x,)),)), "-x'"),
])
def test_tensor_ops_print_as_they_are_written(build, text: str) -> None:
    b = GraphBuilder()
    x, y = b.intern(INPUT, label="x"), b.intern(INPUT, label="y")
    root = build(b, x, y)
    assert expression_text(b.nodes, root) == text


def test_a_transposed_vector_is_a_row_in_the_shape_pass() -> None:
    b = GraphBuilder()
    x = b.intern(INPUT, label="x")
    t = b.intern(TRANSPOSE, (x,))
    assert infer_shapes(b.nodes, {"x": vector("n")})[t] == row_vector("n")
