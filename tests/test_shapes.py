"""Shape rules (core/shapes.py) against NumPy as an oracle, and the words of their errors.

For column vectors and matrices the rules are NumPy's (without broadcasting
a matrix's size-1 dimensions, which a learner's program never means), so
NumPy's own result shapes, or its refusals, are the oracle. Row vectors
(a vector's transpose) follow MatrixCalculus.org and are checked by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exprgraph.core.errors import ShapeError
from exprgraph.core.shapes import (
    SCALAR,
    Shape,
    agree,
    bind,
    broadcast,
    describe,
    matmul,
    matrix,
    row_vector,
    square,
    transpose,
    vector,
)

sizes = st.integers(2, 4)  # no size-1 dimensions: see the module docstring
shapes = st.one_of(st.just(SCALAR), sizes.map(vector),
                   st.tuples(sizes, sizes).map(lambda mn: matrix(*mn)))


def _numpy(shape: Shape) -> np.ndarray:
    return np.ones(shape.dims)


def _numpy_shape(operation, a: Shape, b: Shape) -> tuple[int, ...] | None:
    try:
        return operation(_numpy(a), _numpy(b)).shape
    except ValueError:
        return None


@settings(max_examples=300, deadline=None)
@given(a=shapes, b=shapes)
def test_elementwise_shapes_are_numpys(a: Shape, b: Shape) -> None:
    expected = _numpy_shape(np.add, a, b)
    if expected is None:
        with pytest.raises(ShapeError):
            broadcast(a, b, "+")
    else:
        assert broadcast(a, b, "+").dims == expected


@settings(max_examples=300, deadline=None)
@given(a=shapes, b=shapes)
def test_matrix_product_shapes_are_numpys(a: Shape, b: Shape) -> None:
    expected = _numpy_shape(np.matmul, a, b)
    if expected is None or a.is_scalar or b.is_scalar:
        with pytest.raises(ShapeError):
            matmul(a, b)
    else:
        assert matmul(a, b).dims == expected


@pytest.mark.parametrize(("a", "b", "result"), [
    (row_vector(3), vector(3), SCALAR),                      # x' @ y
    (vector(3), row_vector(4), matrix(3, 4)),                 # x @ y': outer product
    (row_vector(3), matrix(3, 2), row_vector(2)),             # x' @ A
    (row_vector("n"), matrix("n", "n"), row_vector("n")),     # symbolic sizes
])
def test_row_vectors_multiply_as_matrix_calculus_reads_them(a: Shape, b: Shape,
                                                            result: Shape) -> None:
    assert matmul(a, b) == result


def test_x_transposed_a_x_is_a_scalar() -> None:
    x, a = vector("n"), matrix("n", "n")
    assert matmul(matmul(transpose(x), a), x) == SCALAR


@pytest.mark.parametrize(("a", "b"), [
    (row_vector(3), row_vector(3)), (matrix(2, 3), row_vector(3)), (vector(3), vector(4)),
    (SCALAR, vector(3)), (matrix(3, 2), vector(3)),
])
def test_products_that_do_not_fit_are_shape_errors(a: Shape, b: Shape) -> None:
    with pytest.raises(ShapeError) as info:
        matmul(a, b)
    assert describe(a) in info.value.message and describe(b) in info.value.message


def test_the_issues_example_message() -> None:
    with pytest.raises(ShapeError) as info:
        matmul(matrix(3, 2), vector(3))
    assert info.value.message == "cannot multiply a 3×2 matrix by a vector of length 3"
    assert info.value.kind == "shape" and info.value.exit_code == 2


def test_a_row_and_a_column_do_not_mix_elementwise() -> None:
    with pytest.raises(ShapeError) as info:
        broadcast(row_vector(3), vector(3), "+")
    assert "transpose" in (info.value.hint or "")


@given(a=shapes)
def test_transposing_twice_is_the_identity(a: Shape) -> None:
    assert transpose(transpose(a)) == a
    if a.rank == 2:
        assert transpose(a).dims == _numpy(a).T.shape


def test_square_matrices() -> None:
    assert square(matrix("n", "n"), "det") == "n"
    for bad in (matrix(2, 3), vector(3), SCALAR):
        with pytest.raises(ShapeError, match="needs a square matrix"):
            square(bad, "det")


def test_declarations_bind_their_sizes_once() -> None:
    sizes: dict[str, int] = {}
    agree(matrix("m", "n"), matrix(3, 2), sizes, "W")
    agree(vector("n"), vector(2), sizes, "x")
    assert bind(matrix("m", "n"), sizes) == matrix(3, 2)
    with pytest.raises(ShapeError, match="n = 4, but n = 2"):
        agree(vector("n"), vector(4), sizes, "y")
    with pytest.raises(ShapeError, match="declared as a vector of length n"):
        agree(vector("n"), matrix(2, 2), sizes, "z")
