"""Every tensor op entry (core/tensor_ops.py `TENSOR_OPS`), walked so that an
entry added later is checked too: its `forward` against NumPy computed
another way, its vector–Jacobian products against central differences of
that NumPy oracle (Hypothesis chooses shapes and values), its shape rule
against the forward's result and against a table of mistakes, and the math
errors of singular input — our `MathError`, never NumPy's LinAlgError or a
warning.

An entry without a `CASES` row fails `test_every_entry_has_a_case`: a new op
must say how to draw its arguments and what NumPy computes for it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exprgraph.core.errors import MathError, ShapeError
from exprgraph.core.graph import GraphBuilder
from exprgraph.core.ops import INPUT
from exprgraph.core.shapes import SCALAR, Shape, matrix, row_vector, vector
from exprgraph.core.tensor_ops import INDEX, TENSOR_OPS
from exprgraph.passes.tensor import ALGEBRA, Tensor, evaluate_tensors, gradient_tensors, tensor

from .oracles import central_gradient

Draw = Callable[[st.DataObject], tuple[Any, ...]]  # arrays, and ints for constant positions


def _array(data: st.DataObject, shape: tuple[int, ...], low: float = -2.0,
           high: float = 2.0) -> np.ndarray:
    size = math.prod(shape)
    xs = data.draw(st.lists(st.floats(low, high), min_size=size, max_size=size))
    return np.array(xs, dtype=np.float64).reshape(shape)


def _size(data: st.DataObject, low: int = 1) -> int:
    return data.draw(st.integers(low, 4))


def _any_shape(data: st.DataObject) -> tuple[int, ...]:
    rank = data.draw(st.integers(1, 2))
    return tuple(_size(data) for _ in range(rank))


def _dominant(data: st.DataObject) -> np.ndarray:
    """R + (n+1)·I with |Rᵢⱼ| <= 1: strictly diagonally dominant with a
    positive diagonal, so well-conditioned with det > 0 — and not symmetric,
    so a missing transpose in a rule shows."""
    n = _size(data)
    return _array(data, (n, n), -1.0, 1.0) + (n + 1) * np.eye(n)


def _spd(data: st.DataObject) -> np.ndarray:
    """A = R Rᵀ + n·I: symmetric positive definite."""
    n = _size(data)
    r = _array(data, (n, n), -1.0, 1.0)
    return r @ r.T + n * np.eye(n)


def _index_args(data: st.DataObject) -> tuple[Any, ...]:
    a = _array(data, _any_shape(data))
    return a, data.draw(st.integers(0, a.shape[0] - 1))


def _diag_args(data: st.DataObject) -> tuple[Any, ...]:
    n = _size(data)
    return (_array(data, (n,) if data.draw(st.booleans()) else (n, n)),)


def _eigen_product(a: np.ndarray) -> float:
    return float(np.prod(np.linalg.eigvals(a)).real)


def _diag_by_loops(a: np.ndarray) -> np.ndarray:
    n = a.shape[0]
    if a.ndim == 1:
        out = np.zeros((n, n))
        for i in range(n):
            out[i, i] = a[i]
        return out
    return np.array([a[i, i] for i in range(n)])


@dataclass(frozen=True)
class Case:
    """How to draw an op's arguments and NumPy's answer, computed another way
    than the entry does; `constants`: the argument positions that are constant
    integers (never differentiated)."""

    draw: Draw
    oracle: Callable[..., Any]
    constants: tuple[int, ...] = ()


CASES: dict[str, Case] = {
    "matmul": Case(lambda d: (lambda m, n, k: (_array(d, (m, n)), _array(d, (n, k))))(
        _size(d), _size(d), _size(d)), lambda a, b: np.einsum("ij,jk->ik", a, b)),
    "transpose": Case(lambda d: (_array(d, (_size(d), _size(d))),),
                      lambda a: np.array([[a[i, j] for i in range(a.shape[0])]
                                          for j in range(a.shape[1])])),
    "sum": Case(lambda d: (_array(d, _any_shape(d)),), lambda a: math.fsum(a.ravel())),
    "mean": Case(lambda d: (_array(d, _any_shape(d)),),
                 lambda a: math.fsum(a.ravel()) / a.size),
    "dot": Case(lambda d: (lambda n: (_array(d, (n,)), _array(d, (n,))))(_size(d)),
                lambda x, y: math.fsum(x * y)),
    "outer": Case(lambda d: (_array(d, (_size(d),)), _array(d, (_size(d),))),
                  lambda x, y: np.einsum("i,j->ij", x, y)),
    # Away from 0, where norm's gradient is undefined (a math error, below).
    "norm": Case(lambda d: (_array(d, _any_shape(d), 0.5, 2.0),),
                 lambda a: math.sqrt(math.fsum(a.ravel() ** 2))),
    "tr": Case(lambda d: (_array(d, (_size(d),) * 2),),
               lambda a: math.fsum(a[i, i] for i in range(a.shape[0]))),
    "det": Case(lambda d: (_dominant(d),), _eigen_product),
    "inv": Case(lambda d: (_dominant(d),),
                lambda a: np.linalg.solve(a, np.eye(a.shape[0]))),
    "logdet": Case(lambda d: (_dominant(d) if d.draw(st.booleans()) else _spd(d),),
                   lambda a: float(np.sum(np.log(np.linalg.eigvals(a).astype(complex))).real)),
    "diag": Case(_diag_args, _diag_by_loops),
    "softmax": Case(lambda d: (_array(d, (_size(d),), -3.0, 3.0),),
                    lambda x: np.exp(x) / np.sum(np.exp(x))),
    "logsumexp": Case(lambda d: (_array(d, _any_shape(d), -3.0, 3.0),),
                      lambda a: math.log(math.fsum(np.exp(a).ravel()))),
    "index": Case(_index_args, lambda a, i: a[i], constants=(1,)),
    "ones_like": Case(lambda d: (_array(d, _any_shape(d)),),
                      lambda a: np.array([1.0 for _ in a.ravel()]).reshape(a.shape)),
}


def _tensors(args: tuple[Any, ...], case: Case) -> tuple[Tensor, ...]:
    return tuple(Tensor.scalar(a) if k in case.constants else tensor(a)
                 for k, a in enumerate(args))


@contextmanager
def _no_numpy_warnings() -> Iterator[None]:
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        yield


def test_every_entry_has_a_case() -> None:
    assert set(TENSOR_OPS) == set(CASES)


@pytest.mark.parametrize("name", sorted(TENSOR_OPS))
def test_each_argument_has_a_rule_or_says_it_has_none(name: str) -> None:
    op = TENSOR_OPS[name]
    assert op.shape_rule is not None and op.forward is not None, name
    assert len(op.vjp) == op.arity, name
    for k, rule in enumerate(op.vjp):
        # None exactly where the argument is a constant integer (an index).
        assert (rule is None) == (k in CASES[name].constants), (name, k)


@pytest.mark.parametrize("name", sorted(TENSOR_OPS))
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_forward_matches_numpy_and_the_shape_rule(name: str, data: st.DataObject) -> None:
    op, case = TENSOR_OPS[name], CASES[name]
    args = case.draw(data)
    with _no_numpy_warnings():
        out = op.forward(ALGEBRA, _tensors(args, case))
    expected = case.oracle(*args)
    assert np.shape(out.data) == np.shape(expected), name
    assert np.allclose(out.data, expected, rtol=1e-9, atol=1e-9), name
    rule_args = [a if k in case.constants else tensor(a).shape for k, a in enumerate(args)]
    assert op.shape_rule(*rule_args) == out.shape, name


def _central(case: Case, args: tuple[Any, ...], position: int, g: np.ndarray) -> np.ndarray:
    """∂⟨g, f(args)⟩/∂args[position] by central differences of the NumPy oracle."""

    def inner(moved: np.ndarray) -> float:
        changed = list(args)
        changed[position] = moved
        return float(np.sum(g * np.asarray(case.oracle(*changed))))

    return central_gradient(inner, args[position])


def _close(got: Any, want: np.ndarray) -> bool:
    """Agreement to central differences' accuracy: relative 1e-5, and
    absolute 1e-6 of the gradient's largest element (a difference of values
    near det's 10³ loses that much to rounding)."""
    scale = max(1.0, float(np.max(np.abs(want))))
    return bool(np.allclose(got, want, rtol=1e-5, atol=1e-6 * scale))


@pytest.mark.parametrize("name", sorted(TENSOR_OPS))
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_vector_jacobian_products_match_central_differences(name: str,
                                                            data: st.DataObject) -> None:
    op, case = TENSOR_OPS[name], CASES[name]
    args = case.draw(data)
    values = _tensors(args, case)
    with _no_numpy_warnings():
        out = op.forward(ALGEBRA, values)
    g = _array(data, np.shape(out.data))  # an upstream adjoint of the result's shape
    upstream = Tensor.scalar(float(g)) if out.shape.is_scalar else Tensor(g, out.shape)
    for position, rule in enumerate(op.vjp):
        if rule is None:
            continue
        with _no_numpy_warnings():
            got = rule(ALGEBRA, values, out, upstream)
        got = ALGEBRA.sum_to(got, values[position].shape)  # as the reverse loop does
        assert got.shape == values[position].shape, (name, position)
        want = _central(case, args, position, g)
        assert _close(got.data, want), (name, position)


@pytest.mark.parametrize("name", sorted(TENSOR_OPS))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_in_a_graph_constant_positions_are_never_differentiated(name: str,
                                                                data: st.DataObject) -> None:
    """The op as a node, its constant positions as constant nodes: the reverse
    loop's adjoint of every input is the op's own vjp of a ones seed."""
    op, case = TENSOR_OPS[name], CASES[name]
    args = case.draw(data)
    builder = GraphBuilder()
    indices = tuple(builder.constant(float(a)) if k in case.constants
                    else builder.intern(INPUT, label=f"a{k}") for k, a in enumerate(args))
    output = builder.intern(op, indices)
    inputs = {f"a{k}": tensor(a) for k, a in enumerate(args) if k not in case.constants}
    with _no_numpy_warnings():
        values = evaluate_tensors(builder.nodes, inputs)
        adjoints = gradient_tensors(builder.nodes, values, output)
    assert {i for i in adjoints if i != output} == {
        indices[k] for k in range(op.arity) if k not in case.constants}
    ones = np.ones(np.shape(values[output].data))  # the seed of a tensor output
    for k in range(op.arity):
        if k in case.constants:
            continue
        want = _central(case, args, k, ones)
        assert _close(adjoints[indices[k]].data, want), (name, k)


def test_w_i_j_is_an_index_of_an_index() -> None:
    builder = GraphBuilder()
    w = builder.intern(INPUT, label="W")
    row = builder.intern(INDEX, (w, builder.constant(1.0)))
    element = builder.intern(INDEX, (row, builder.constant(2.0)))
    data = np.arange(6.0).reshape(2, 3)
    values = evaluate_tensors(builder.nodes, {"W": tensor(data)})
    assert values[row].shape == vector(3)
    assert values[element].data == data[1, 2]
    gradient = gradient_tensors(builder.nodes, values, element)[w].data
    assert np.array_equal(gradient, np.array([[0, 0, 0], [0, 0, 1.0]]))


# --- shape rules --------------------------------------------------------------

MISTAKES = [
    ("matmul", (matrix(3, 2), vector(3)), "cannot multiply a 3×2 matrix by a vector of length 3"),
    ("mean", (), ""),  # mean takes any shape: no mistake to make
    ("dot", (vector(3), vector(2)),
     "dot needs two vectors of the same length, not a vector of length 3 and a vector of "
     "length 2"),
    ("dot", (matrix(2, 2), vector(2)), "dot needs two vectors, not a 2×2 matrix and a vector"),
    ("dot", (row_vector(2), vector(2)), "dot needs two vectors, not a row vector of length 2"),
    ("outer", (vector(2), matrix(2, 2)), "outer needs two vectors, not a vector of length 2 "
                                         "and a 2×2 matrix"),
    ("outer", (SCALAR, vector(2)), "outer needs two vectors, not a scalar"),
    ("norm", (SCALAR,), "norm needs a vector or a matrix, not a scalar"),
    ("tr", (vector(3),), "tr needs a square matrix, not a vector of length 3"),
    ("tr", (matrix(2, 3),), "tr needs a square matrix, not a 2×3 matrix"),
    ("det", (matrix(2, 3),), "det needs a square matrix, not a 2×3 matrix"),
    ("det", (SCALAR,), "det needs a square matrix, not a scalar"),
    ("inv", (matrix(3, 2),), "inv needs a square matrix, not a 3×2 matrix"),
    ("inv", (matrix("m", "n"),), "inv needs a square matrix, not an m×n matrix"),
    ("logdet", (vector(2),), "logdet needs a square matrix, not a vector of length 2"),
    ("diag", (matrix(2, 3),), "diag needs a vector or a square matrix, not a 2×3 matrix"),
    ("diag", (SCALAR,), "diag needs a vector or a square matrix, not a scalar"),
    ("softmax", (matrix(2, 3),), "softmax needs a vector, not a 2×3 matrix"),
    ("softmax", (SCALAR,), "softmax needs a vector, not a scalar"),
    ("logsumexp", (SCALAR,), "logsumexp needs a vector or a matrix, not a scalar"),
    ("index", (vector(3), 3), "index 3 is out of range for a vector of length 3"),
    ("index", (vector(3), -1), "index -1 is out of range for a vector of length 3"),
    ("index", (matrix(2, 3), 2), "index 2 is out of range for a 2×3 matrix"),
    ("index", (vector(3), 1.5), "an index must be a whole number, not 1.5"),
    ("index", (vector(3), vector(2)), "an index must be a whole number, not a vector"),
    ("index", (SCALAR, 0), "cannot index a scalar"),
]


@pytest.mark.parametrize(("name", "shapes", "message"),
                         [m for m in MISTAKES if m[1]], ids=lambda v: str(v)[:40])
def test_a_table_of_mistakes(name: str, shapes: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ShapeError) as caught:
        TENSOR_OPS[name].shape_rule(*shapes)
    assert caught.value.message.startswith(message)


GRID = (SCALAR, vector(3), row_vector(3), matrix(2, 3), matrix(3, 3), vector("n"),
        matrix("n", "n"))


@pytest.mark.parametrize("name", sorted(TENSOR_OPS))
def test_every_refusal_names_the_function_and_is_in_the_table(name: str) -> None:
    """Over a grid of shapes (constant positions: 0), a rule either answers a
    Shape or raises ShapeError naming its function; an op that ever refuses
    has a row in the table of mistakes."""
    op, case = TENSOR_OPS[name], CASES[name]
    refused = False
    choices = [(0,) if k in case.constants else GRID for k in range(op.arity)]
    for shapes in product(*choices):
        try:
            result = op.shape_rule(*shapes)
        except ShapeError as error:
            refused = True
            assert name in error.message or "multiply" in error.message \
                or (op.symbol and op.symbol in error.message), error.message
        else:
            assert isinstance(result, Shape)
    assert refused == any(m[0] == name and m[1] for m in MISTAKES), name


def test_an_index_whose_value_is_unknown_is_checked_when_it_is_computed() -> None:
    assert TENSOR_OPS["index"].shape_rule(vector(3), SCALAR) == SCALAR
    with pytest.raises(ShapeError, match="index 5 is out of range"):
        TENSOR_OPS["index"].forward(ALGEBRA, (tensor([1.0, 2.0]), Tensor.scalar(5.0)))


# --- math errors and numerics ---------------------------------------------------

SINGULAR = [[1.0, 2.0], [2.0, 4.0]]
MATH_ERRORS = [
    ("det", SINGULAR, "det: the matrix is singular (its determinant is 0)"),
    ("inv", SINGULAR, "inv: the matrix is singular (its determinant is 0)"),
    ("logdet", SINGULAR, "logdet: the matrix is singular (its determinant is 0)"),
    ("inv", [[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 2.0, 1.0]],
     "inv: the matrix is singular"),
    ("inv", [[0.0, 0.0], [0.0, 0.0]], "inv: the matrix is singular"),
    ("logdet", [[0.0, 1.0], [1.0, 0.0]], "logdet: the determinant is negative"),
    ("logdet", [[-1.0]], "logdet: the determinant is negative"),
    ("inv", [[math.inf, 0.0], [0.0, 1.0]], "inv: the matrix has an infinite or undefined"),
]


@pytest.mark.parametrize(("name", "value", "message"), MATH_ERRORS, ids=lambda v: str(v)[:30])
def test_singular_input_is_our_math_error(name: str, value: Any, message: str) -> None:
    with _no_numpy_warnings(), pytest.raises(MathError) as caught:
        TENSOR_OPS[name].forward(ALGEBRA, (tensor(value),))
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize("value", [[0.0, 0.0], [[0.0, 0.0], [0.0, 0.0]]])
def test_the_gradient_of_norm_at_zero_is_a_math_error(value: Any) -> None:
    norm = TENSOR_OPS["norm"]
    x = tensor(value)
    with _no_numpy_warnings():
        out = norm.forward(ALGEBRA, (x,))
        assert out.data == 0.0
        with pytest.raises(MathError, match="norm: its gradient"):
            norm.vjp[0](ALGEBRA, (x,), out, Tensor.scalar(1.0))


@pytest.mark.parametrize("shift", [1000.0, -1000.0, 700.0])
def test_softmax_and_logsumexp_do_not_overflow(shift: float) -> None:
    x = np.array([0.0, 1.0, 2.0])
    big = tensor(x + shift)
    with _no_numpy_warnings():
        s = TENSOR_OPS["softmax"].forward(ALGEBRA, (big,))
        lse = TENSOR_OPS["logsumexp"].forward(ALGEBRA, (big,))
        slope = TENSOR_OPS["logsumexp"].vjp[0](ALGEBRA, (big,), lse, Tensor.scalar(1.0))
    expected = np.exp(x) / np.sum(np.exp(x))  # softmax does not see a shift
    assert np.allclose(s.data, expected)
    assert np.isclose(lse.data, shift + math.log(np.sum(np.exp(x))))
    assert np.allclose(slope.data, expected)
