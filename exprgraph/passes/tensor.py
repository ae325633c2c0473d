"""Tensor values and the algebra the op table's rules run on for them (NumPy).

A `Tensor` is a float64 NumPy array (or a float, for a scalar) with its
`Shape`, which carries what NumPy does not: whether a vector is a row (a
vector's transpose), so that `x' @ y` is a scalar and `x @ y'` an outer
product (core/shapes.py). `TensorAlgebra` is the `Builder` protocol of the op
table over Tensors, plus the tensor operations vector–Jacobian rules need
(`matmul`, `transpose`, `total`, `sum_to`): elementwise rules broadcast as
NumPy does, and `sum_to` sums a broadcast adjoint back to its argument's
shape (the rule every elementwise op's vector–Jacobian product ends with).

NumPy is imported here only; scalar programs never load this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import shapes
from ..core.errors import MathError, ProgramError
from ..core.graph import Node
from ..core.ops import CONST, INPUT, OPS, Op
from ..core.shapes import SCALAR, Shape
from .loops import reverse


@dataclass(frozen=True, slots=True)
class Tensor:
    """A value with its shape: `data` is a float for a scalar, else an array."""

    data: Any
    shape: Shape

    @staticmethod
    def scalar(value: float) -> Tensor:
        return Tensor(float(value), SCALAR)


def tensor(data: Any, shape: Shape | None = None) -> Tensor:
    """A Tensor of `data` (a number or a nested list/array of rank <= 2);
    the shape is read from the data (a column vector for rank 1) unless given."""
    array = np.asarray(data, dtype=np.float64)
    if array.ndim == 0:
        return Tensor.scalar(float(array))
    if shape is None:
        shape = Shape(tuple(array.shape))
    return Tensor(array, shape)


class TensorAlgebra:
    """The op table's rules over Tensors (a `Builder`, with tensor operations)."""

    def const(self, value: float) -> Tensor:
        return Tensor.scalar(value)

    def _elementwise(self, fn: Any, name: str, *args: Tensor) -> Tensor:
        shape = args[0].shape
        for other in args[1:]:
            shape = shapes.broadcast(shape, other.shape, name)
        # A row and a column of one length hold the same 1-D data; NumPy's
        # broadcasting does the rest (a vector against a matrix's rows).
        result = fn(*(a.data for a in args))
        return Tensor(float(result) if shape.is_scalar else np.asarray(result), shape)

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return self._elementwise(np.add, "+", a, b)

    def sub(self, a: Tensor, b: Tensor) -> Tensor:
        return self._elementwise(np.subtract, "-", a, b)

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        return self._elementwise(np.multiply, "*", a, b)

    def div(self, a: Tensor, b: Tensor) -> Tensor:
        return self._elementwise(np.divide, "/", a, b)

    def neg(self, a: Tensor) -> Tensor:
        return Tensor(-a.data, a.shape)

    def pow(self, a: Tensor, b: Tensor) -> Tensor:
        return self._elementwise(np.power, "^", a, b)

    def apply(self, op_name: str, *args: Tensor) -> Tensor:
        vector = OPS[op_name].vector
        assert vector is not None, op_name
        return self._elementwise(vector(np), op_name, *args)

    # --- the tensor operations --------------------------------------------------

    def matmul(self, a: Tensor, b: Tensor) -> Tensor:
        """a @ b as core/shapes.py reads it; a scalar on either side scales
        (vector–Jacobian rules multiply by a scalar adjoint this way)."""
        if a.shape.is_scalar or b.shape.is_scalar:
            return self.mul(a, b)
        shape = shapes.matmul(a.shape, b.shape)
        if a.shape.rank == 1 and b.shape.rank == 1 and b.shape.row and not a.shape.row:
            return Tensor(np.outer(a.data, b.data), shape)
        result = np.matmul(a.data, b.data)
        return Tensor(float(result) if shape.is_scalar else result, shape)

    def transpose(self, a: Tensor) -> Tensor:
        shape = shapes.transpose(a.shape)
        return Tensor(a.data.T if a.shape.rank == 2 else a.data, shape)

    def total(self, a: Tensor) -> Tensor:
        """The sum of every element: a scalar."""
        return Tensor.scalar(float(np.sum(a.data)))

    def broadcast_to(self, a: Tensor, shape: Shape) -> Tensor:
        """A scalar spread over `shape` (the adjoint of a sum)."""
        if shape.is_scalar:
            return Tensor.scalar(a.data)
        return Tensor(np.full(tuple(int(d) for d in shape.dims), a.data), shape)

    def shape(self, a: Tensor) -> Shape:
        return a.shape

    # --- what the tensor functions' rules (core/tensor_ops.py) are built from ---

    def size(self, a: Tensor) -> Tensor:
        """The number of elements, as a scalar (1 for a scalar)."""
        return Tensor.scalar(float(np.size(a.data)))

    def largest(self, a: Tensor) -> Tensor:
        """The largest element, as a scalar (the shift that keeps exp from overflowing)."""
        return Tensor.scalar(float(np.max(a.data)))

    def eye(self, shape: Shape) -> Tensor:
        """The identity matrix of a square matrix's shape."""
        return Tensor(np.eye(int(shape.dims[0])), shape)

    def diag(self, a: Tensor) -> Tensor:
        """A vector's diagonal matrix, or a square matrix's diagonal (a vector)."""
        return Tensor(np.diag(a.data).copy(), shapes.diag(a.shape))

    def det(self, a: Tensor) -> Tensor:
        """The determinant of a nonsingular matrix."""
        _nonsingular(a, "det", "and det's gradient, det(A)·A⁻ᵀ, needs its inverse")
        return Tensor.scalar(float(np.linalg.det(a.data)))

    def inv(self, a: Tensor) -> Tensor:
        """The inverse of a nonsingular matrix."""
        _nonsingular(a, "inv")
        return Tensor(np.linalg.inv(a.data), a.shape)

    def logdet(self, a: Tensor) -> Tensor:
        """log det A, for a matrix with a positive determinant (np.linalg.slogdet:
        no overflow for a large determinant)."""
        _nonsingular(a, "logdet", "and the log of 0 is undefined")
        sign, log_size = np.linalg.slogdet(a.data)
        if sign <= 0:
            raise MathError("logdet: the determinant is negative, and its log is undefined",
                            hint="logdet needs a matrix with a positive determinant, such as "
                                 "a symmetric positive definite one")
        return Tensor.scalar(float(log_size))

    def index(self, a: Tensor, position: Tensor) -> Tensor:
        """a[i] (0-based): a vector's element, a matrix's row (a vector)."""
        shape = shapes.index(a.shape, position.data)  # the range, before NumPy sees it
        picked = a.data[int(position.data)]
        return Tensor(float(picked) if shape.is_scalar else np.array(picked), shape)

    def unindex(self, g: Tensor, position: Tensor, shape: Shape) -> Tensor:
        """Zeros of `shape` with g at [i]: the adjoint of a[i] for a."""
        out = np.zeros(tuple(int(d) for d in shape.dims))
        out[int(position.data)] = g.data
        return Tensor(out, shape)

    def nonzero(self, a: Tensor, message: str) -> Tensor:
        """`a` itself, where no element is 0 (a divisor); else MathError(message)."""
        if np.any(np.asarray(a.data) == 0):
            raise MathError(message)
        return a

    def sum_to(self, a: Tensor, shape: Shape) -> Tensor:
        """An adjoint of a broadcast result summed back to an argument's
        `shape`: over everything for a scalar, over the rows for a vector
        that was broadcast against a matrix; a row and a column of one
        length are the same numbers."""
        if a.shape == shape:
            return a
        if shape.is_scalar:
            return self.total(a)
        if shape.rank == 1 and a.shape.rank == 2:
            return Tensor(np.sum(a.data, axis=0), shape)
        if shape.rank == a.shape.rank and np.shape(a.data) == tuple(shape.dims):
            return Tensor(a.data, shape)  # a row for a column of the same length
        raise AssertionError(f"cannot sum {a.shape} to {shape}")  # shapes were checked


ALGEBRA = TensorAlgebra()


def evaluate_tensors(nodes: Sequence[Node], values: Mapping[str, Tensor]) -> list[Tensor]:
    """Every node's value, in order: inputs from `values`, constants as
    scalars, each op by its rule over `TensorAlgebra` (a tensor op's
    `forward`, an elementwise op's array version, broadcast)."""
    out: list[Tensor] = []
    for node in nodes:
        if node.op is CONST:
            out.append(Tensor.scalar(node.value or 0.0))
        elif node.op is INPUT:
            out.append(values[node.label])
        else:
            args = tuple(out[a] for a in node.args)
            out.append(_apply(node.op, args))
    return out


def _apply(op: Op, args: tuple[Tensor, ...]) -> Tensor:
    if op.forward is not None:
        return op.forward(ALGEBRA, args)
    if op.name in _OPERATORS:
        return getattr(ALGEBRA, _OPERATORS[op.name])(*args)
    return ALGEBRA.apply(op.name, *args)


_OPERATORS = {"add": "add", "sub": "sub", "mul": "mul", "div": "div", "neg": "neg",
              "pow": "pow"}


def gradient_tensors(nodes: Sequence[Node], values: Sequence[Tensor], output: int
                     ) -> dict[int, Tensor]:
    """∂sum(output)/∂node for every node the output depends on (the adjoint
    of a tensor output is seeded with ones: the gradient of its sum), each
    with its node's shape: one reverse sweep (`loops.reverse`) whose edges
    are the ops' vector–Jacobian products, and for elementwise ops the
    adjoint times the op's one derivative rule, summed back to the
    argument's shape."""
    seed_value = values[output]
    seed = Tensor.scalar(1.0) if seed_value.shape.is_scalar else Tensor(
        np.ones_like(seed_value.data), seed_value.shape)

    def edge(index: int, position: int, adjoint: Tensor) -> Tensor:
        node = nodes[index]
        args = tuple(values[a] for a in node.args)
        out = values[index]
        if node.op.vjp:
            rule = node.op.vjp[position]
            if rule is None:  # a constant argument (an index), never differentiated
                raise ProgramError(f"{node.op.name}: argument {position + 1} must be a "
                                   "constant whole number")
            contribution = rule(ALGEBRA, args, out, adjoint)
        else:
            partial = node.op.derivatives[position](ALGEBRA, args, out)
            contribution = ALGEBRA.mul(adjoint, partial)
        return ALGEBRA.sum_to(contribution, args[position].shape)

    return reverse(nodes, output, seed, _no_local, ALGEBRA, edge=edge)


def _nonsingular(a: Tensor, name: str, why: str = "") -> None:
    """MathError unless the square matrix `a` has full rank (NumPy's
    matrix_rank: singular values above max(m, n)·eps·the largest)."""
    if not np.all(np.isfinite(a.data)):
        raise MathError(f"{name}: the matrix has an infinite or undefined element")
    if np.linalg.matrix_rank(a.data) < a.data.shape[0]:
        reason = f", {why}" if why else ""
        raise MathError(f"{name}: the matrix is singular (its determinant is 0){reason}")


def _no_local(index: int, position: int) -> Tensor:
    raise AssertionError("tensor edges are vector–Jacobian products")  # edge= is given
