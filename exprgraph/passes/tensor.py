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

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import shapes
from ..core.errors import MathError, ProgramError, ValueInputError
from ..core.graph import Node
from ..core.ops import CONST, INPUT, OPS, Op
from ..core.shapes import SCALAR, Shape
from ..core.text import source_line
from .loops import leading_to, reverse


@dataclass(frozen=True, slots=True)
class Tensor:
    """A value with its shape: `data` is a float for a scalar, else an array.

    A `batched` tensor holds one value per row of a dataset: `data` has a
    leading axis for the rows, then the value's own axes (`shape` is one
    row's shape). `fit` evaluates a per-row program over every row at once
    so; a value that is the same for every row (a weight) is not batched,
    and the adjoint it receives is summed over the rows (`sum_to`).
    """

    data: Any
    shape: Shape
    batched: bool = False

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
        if any(a.batched for a in args):
            rank = max(a.shape.rank for a in args)
            return Tensor(np.asarray(fn(*(_aligned(a, rank) for a in args))), shape, True)
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
        return Tensor(-a.data, a.shape, a.batched)

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
        if a.batched or b.batched:
            return _batched_matmul(a, b, shape)
        if a.shape.rank == 1 and b.shape.rank == 1 and b.shape.row and not a.shape.row:
            return Tensor(np.outer(a.data, b.data), shape)
        result = np.matmul(a.data, b.data)
        return Tensor(float(result) if shape.is_scalar else result, shape)

    def transpose(self, a: Tensor) -> Tensor:
        shape = shapes.transpose(a.shape)
        if a.shape.rank == 2:
            return Tensor(np.swapaxes(a.data, -1, -2) if a.batched else a.data.T, shape,
                          a.batched)
        return Tensor(a.data, shape, a.batched)

    def total(self, a: Tensor) -> Tensor:
        """The sum of every element: a scalar (one per row, batched)."""
        if a.batched:
            return Tensor(np.sum(a.data, axis=_own_axes(a)), SCALAR, True)
        return Tensor.scalar(float(np.sum(a.data)))

    def broadcast_to(self, a: Tensor, shape: Shape) -> Tensor:
        """A scalar spread over `shape` (the adjoint of a sum)."""
        if shape.is_scalar:
            return a if a.batched else Tensor.scalar(a.data)
        dims = tuple(int(d) for d in shape.dims)
        if a.batched:
            rows = np.shape(a.data)[0]
            spread = np.broadcast_to(np.reshape(a.data, (rows,) + (1,) * len(dims)),
                                     (rows, *dims))
            return Tensor(spread.copy(), shape, True)
        return Tensor(np.full(dims, a.data), shape)

    def shape(self, a: Tensor) -> Shape:
        return a.shape

    def ones_like(self, a: Tensor) -> Tensor:
        """Ones of a's shape (1 for a scalar)."""
        if a.shape.is_scalar and not a.batched:
            return Tensor.scalar(1.0)
        return Tensor(np.ones_like(a.data), a.shape, a.batched)

    # --- what the tensor functions' rules (core/tensor_ops.py) are built from ---

    def size(self, a: Tensor) -> Tensor:
        """The number of elements, as a scalar (1 for a scalar; one row's, batched)."""
        rows = np.shape(a.data)[0] if a.batched else 1
        return Tensor.scalar(float(np.size(a.data) // rows))

    def largest(self, a: Tensor) -> Tensor:
        """The largest element, as a scalar (the shift that keeps exp from overflowing)."""
        if a.batched:
            return Tensor(np.max(a.data, axis=_own_axes(a)), SCALAR, True)
        return Tensor.scalar(float(np.max(a.data)))

    def eye(self, shape: Shape) -> Tensor:
        """The identity matrix of a square matrix's shape."""
        return Tensor(np.eye(int(shape.dims[0])), shape)

    def diag(self, a: Tensor) -> Tensor:
        """A vector's diagonal matrix, or a square matrix's diagonal (a vector)."""
        shape = shapes.diag(a.shape)
        if not a.batched:
            return Tensor(np.diag(a.data).copy(), shape)
        if a.shape.rank == 2:
            return Tensor(np.diagonal(a.data, axis1=-2, axis2=-1).copy(), shape, True)
        rows, size = np.shape(a.data)
        out = np.zeros((rows, size, size))
        out[:, np.arange(size), np.arange(size)] = a.data
        return Tensor(out, shape, True)

    def det(self, a: Tensor) -> Tensor:
        """The determinant of a nonsingular matrix."""
        _nonsingular(a, "det", "and det's gradient, det(A)·A⁻ᵀ, needs its inverse")
        if a.batched:
            return Tensor(np.linalg.det(a.data), SCALAR, True)
        return Tensor.scalar(float(np.linalg.det(a.data)))

    def inv(self, a: Tensor) -> Tensor:
        """The inverse of a nonsingular matrix."""
        _nonsingular(a, "inv")
        return Tensor(np.linalg.inv(a.data), a.shape, a.batched)

    def logdet(self, a: Tensor) -> Tensor:
        """log det A, for a matrix with a positive determinant (np.linalg.slogdet:
        no overflow for a large determinant)."""
        _nonsingular(a, "logdet", "and the log of 0 is undefined")
        sign, log_size = np.linalg.slogdet(a.data)
        if np.any(sign <= 0):
            raise MathError("logdet: the determinant is negative, and its log is undefined",
                            hint="logdet needs a matrix with a positive determinant, such as "
                                 "a symmetric positive definite one")
        if a.batched:
            return Tensor(log_size, SCALAR, True)
        return Tensor.scalar(float(log_size))

    def index(self, a: Tensor, position: Tensor) -> Tensor:
        """a[i] (0-based): a vector's element, a matrix's row (a vector)."""
        shape = shapes.index(a.shape, position.data)  # the range, before NumPy sees it
        if a.batched:
            return Tensor(np.array(a.data[:, int(position.data)]), shape, True)
        picked = a.data[int(position.data)]
        return Tensor(float(picked) if shape.is_scalar else np.array(picked), shape)

    def unindex(self, g: Tensor, position: Tensor, shape: Shape) -> Tensor:
        """Zeros of `shape` with g at [i]: the adjoint of a[i] for a."""
        dims = tuple(int(d) for d in shape.dims)
        if g.batched:
            out = np.zeros((np.shape(g.data)[0], *dims))
            out[:, int(position.data)] = g.data
            return Tensor(out, shape, True)
        out = np.zeros(dims)
        out[int(position.data)] = g.data
        return Tensor(out, shape)

    def nonzero(self, a: Tensor, message: str) -> Tensor:
        """`a` itself, where no element is 0 (a divisor); else MathError(message)."""
        if np.any(np.asarray(a.data) == 0):
            raise MathError(message)
        return a

    def sum_to(self, a: Tensor, shape: Shape, batched: bool = False) -> Tensor:
        """An adjoint of a broadcast result summed back to an argument's
        `shape`: over everything for a scalar, over the rows for a vector
        that was broadcast against a matrix; a row and a column of one
        length are the same numbers. An argument that is not `batched` (a
        weight) receives the sum over the dataset's rows."""
        if a.batched and not batched:
            summed = np.sum(a.data, axis=0)
            a = Tensor(float(summed) if a.shape.is_scalar else summed, a.shape)
        if a.batched:
            return _batched_sum_to(a, shape)
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


def evaluate_tensors(nodes: Sequence[Node], values: Mapping[str, Tensor], source: str = ""
                     ) -> list[Tensor]:
    """Every node's value, in order: inputs from `values`, constants as
    scalars, each op by its rule over `TensorAlgebra` (a tensor op's
    `forward`, an elementwise op's array version, broadcast).

    As in the scalar pass, a value that is not finite is an error, not a
    value: an elementwise op names the first element where it fails and the
    arguments there (`log(x)` at x[1] = -1); a tensor function's own error
    (a singular matrix) is said with the node's name and place.
    """
    out: list[Tensor] = []
    for node in nodes:
        if node.op is CONST:
            out.append(Tensor.scalar(node.value or 0.0))
        elif node.op is INPUT:
            out.append(values[node.label])
        else:
            args = tuple(out[a] for a in node.args)
            try:
                with np.errstate(all="ignore"):  # checked below, element by element
                    result = _apply(node.op, args)
            except MathError as error:
                raise _node_error(nodes, node, error.message, error.hint, source) from None
            if not all_finite(result.data):
                raise _element_error(nodes, node, args, result, source)
            out.append(result)
    return out


def _node_error(nodes: Sequence[Node], node: Node, problem: str, hint: str | None,
                source: str, verb: str = "compute") -> MathError:
    """A MathError that says which node could not be computed (or
    differentiated), and where."""
    from ..printing.text import node_expression  # only on an error

    subject = f"{node.name} = {node_expression(nodes, node)}" if node.name else \
        node_expression(nodes, node)
    problem = problem.removeprefix(f"{node.op.name}: ")  # the subject names the op
    return MathError(f"cannot {verb} {subject}: {problem}", hint=hint,
                     line=node.line or None, column=node.column or None,
                     source_line=source_line(source, node.line) if source else None,
                     node=node.name)


def _element_error(nodes: Sequence[Node], node: Node, args: tuple[Tensor, ...],
                   result: Tensor, source: str) -> MathError:
    """The scalar pass's error for the first element where an elementwise op
    (or a tensor function) gives inf or nan: the op's domain at that
    element's arguments, or an overflow."""
    from .evaluate import math_error

    data = np.asarray(result.data)
    if data.ndim == 0:
        spot: tuple[int, ...] = ()
    else:
        spot = tuple(int(i) for i in np.argwhere(~np.isfinite(data))[0])
    # An elementwise op's arguments at that element; a tensor function's are
    # whole arrays (not shown).
    picked = [] if node.op.vjp else [
        float(np.broadcast_to(a.data, data.shape)[spot]) if data.ndim else
        float(np.asarray(a.data).flat[0]) if np.size(a.data) == 1 else float("nan")
        for a in args]
    # A batched value's first axis is the dataset's row; the rest is the
    # element, and each argument's own element is the last of its indices, as
    # NumPy broadcasts from the right (x[1] of a vector added to W's rows at [0, 1]).
    inner = spot[1:] if result.batched else spot
    exc: BaseException = ValueError()
    if node.op.vjp and all(all_finite(a.data) for a in args):
        exc = OverflowError()  # a tensor function of finite numbers: too large a result
    elif all(math.isfinite(v) for v in picked) and node.op.evaluate is not None:
        try:
            value = node.op.evaluate(*picked)
            exc = OverflowError() if not math.isfinite(value) else ValueError()
        except (ValueError, ZeroDivisionError, OverflowError, TypeError) as error:
            exc = error
    own = {a: f"[{', '.join(map(str, inner[len(inner) - t.shape.rank:]))}]"
           for a, t in zip(node.args, args, strict=True) if t.shape.rank}
    error = math_error(node, nodes, picked, source, exc, element=own)
    place = f" in row {spot[0] + 1}" if result.batched else ""
    if inner:
        place += f" at element [{', '.join(map(str, inner))}]"
    if not place:
        return error
    message = error.message.replace(": ", f"{place}: ", 1)
    return MathError(message, hint=error.hint, line=error.line, column=error.column,
                     source_line=error.source_line, **error.details)


def _apply(op: Op, args: tuple[Tensor, ...]) -> Tensor:
    if op.forward is not None:
        return op.forward(ALGEBRA, args)
    if op.name in _OPERATORS:
        return getattr(ALGEBRA, _OPERATORS[op.name])(*args)
    return ALGEBRA.apply(op.name, *args)


_OPERATORS = {"add": "add", "sub": "sub", "mul": "mul", "div": "div", "neg": "neg",
              "pow": "pow"}


def gradient_tensors(nodes: Sequence[Node], values: Sequence[Tensor], output: int,
                     seed: Tensor | None = None,
                     undefined: dict[int, MathError] | None = None,
                     wanted: Sequence[int] | None = None) -> dict[int, Tensor]:
    """∂⟨seed, output⟩/∂node for every node the output depends on, each with
    its node's shape: one reverse sweep (`loops.reverse`) whose edges are the
    ops' vector–Jacobian products (`edge_contribution`). Without a `seed` a
    tensor output's adjoint is ones: the gradient of its sum.

    An edge whose rule fails (the gradient of `norm` at 0) raises MathError,
    unless `undefined` is given: then the argument's adjoint, and every
    adjoint computed from it, is recorded there with the reason and left out.
    """
    if seed is None:
        out = values[output]
        seed = Tensor.scalar(1.0) if out.shape.is_scalar and not out.batched else Tensor(
            np.ones_like(out.data), out.shape, out.batched)
    failed: set[int] = set()  # nodes whose adjoint is undefined

    def edge(index: int, position: int, adjoint: Tensor) -> Tensor:
        arg = nodes[index].args[position]
        if undefined is None:
            try:
                return edge_contribution(nodes, values, index, position, adjoint)
            except MathError as error:
                raise _node_error(nodes, nodes[index], error.message, error.hint, "",
                                  "differentiate") from None
        if index in failed:  # undefined upstream: so is what it passes on
            failed.add(arg)
            undefined.setdefault(arg, undefined[index])
            return _nan_like(values[arg])
        try:
            with np.errstate(all="ignore"):
                found = edge_contribution(nodes, values, index, position, adjoint)
        except MathError as error:
            failed.add(arg)
            undefined.setdefault(arg, _node_error(nodes, nodes[index], error.message,
                                                  error.hint, "", "differentiate"))
            return _nan_like(values[arg])
        if not all_finite(found.data):
            failed.add(arg)
            undefined.setdefault(arg, MathError(
                f"∂/∂{nodes[arg].name} through {nodes[index].name} is too large for a "
                "float (beyond about 1.8e308)"))
        return found

    adjoints = reverse(nodes, output, seed, _no_local, ALGEBRA, edge=edge,
                       leads=None if wanted is None else leading_to(nodes, wanted))
    for index in failed:
        adjoints.pop(index, None)
    return adjoints


def gradient_without(nodes: Sequence[Node], values: Sequence[Tensor], output: int,
                     wanted: int, dropped: int) -> Tensor | None:
    """∂output/∂wanted as a student who forgot one step of the chain rule
    would compute it: node `dropped` (an elementwise function) passes its
    adjoint back unchanged, as if its derivative were 1. (`check` compares a
    wrong answer with it.)"""
    def edge(index: int, position: int, adjoint: Tensor) -> Tensor:
        if index == dropped:
            return ALGEBRA.sum_to(adjoint, values[nodes[index].args[position]].shape)
        return edge_contribution(nodes, values, index, position, adjoint)

    out = values[output]
    seed = Tensor.scalar(1.0) if out.shape.is_scalar else Tensor(np.ones_like(out.data),
                                                                 out.shape)
    found = reverse(nodes, output, seed, _no_local, ALGEBRA, edge=edge,
                    leads=leading_to(nodes, [wanted]))
    return found.get(wanted)


def edge_contribution(nodes: Sequence[Node], values: Sequence[Tensor], index: int,
                      position: int, adjoint: Tensor) -> Tensor:
    """What node `index` passes back to its argument at `position` from its
    `adjoint`: the op's vector–Jacobian product, or for an elementwise op the
    adjoint times its one derivative rule, summed back to the argument's
    shape (where the argument was broadcast)."""
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
    return ALGEBRA.sum_to(contribution, args[position].shape, args[position].batched)


def _nan_like(value: Tensor) -> Tensor:
    """A stand-in for an undefined adjoint (dropped once the sweep is done)."""
    if value.shape.is_scalar:
        return Tensor.scalar(math.nan)
    return Tensor(np.full(np.shape(value.data), np.nan), value.shape)


def input_tensor(name: str, value: Any) -> Tensor:
    """A value given for input `name` as a Tensor: a number, a nested list of
    rank 1 or 2 (a vector or a matrix), or a NumPy array of those ranks.
    Ragged lists, empty ones, non-numbers and inf/nan are ValueInputErrors."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, str, bytes)):
        raise ValueInputError(f"the value of {name} must be a number, vector or matrix, "
                              f"not {value!r}", variable=name)
    if isinstance(value, (list, tuple)) and value and \
            all(isinstance(row, (list, tuple)) for row in value):
        shapes.check_rectangular(name, value)
    _only_numbers(name, value)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise ValueInputError(f"the value of {name} must be a number, vector or matrix "
                              "of numbers, with rows of one length", variable=name,
                              hint="a vector is [1, 2, 3], a matrix [[1, 2], [3, 4]]") from None
    except OverflowError:
        raise ValueInputError(f"the value of {name} is too large for a float",
                              variable=name) from None
    if array.ndim > 2:
        raise ValueInputError(f"the value of {name} has {array.ndim} dimensions; values are "
                              "scalars, vectors and matrices", variable=name)
    if array.size == 0:
        raise ValueInputError(f"the value of {name} is empty", variable=name,
                              hint="a vector has at least one number: [1, 2, 3]")
    if not all_finite(array):
        raise ValueInputError(f"the value of {name} must be finite (it has inf or nan)",
                              variable=name)
    return tensor(array)


def _only_numbers(name: str, value: Any) -> None:
    """A ValueInputError where a value holds anything but real numbers: a
    boolean (True is not 1 here), a complex number, text, a masked array."""
    if isinstance(value, np.ma.MaskedArray):
        raise ValueInputError(f"the value of {name} is a masked array; give the numbers "
                              "as a plain array", variable=name)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iuf":
            raise ValueInputError(f"the value of {name} must hold real numbers, not "
                                  f"{value.dtype} elements", variable=name)
        return
    if isinstance(value, (list, tuple)):
        items = [item for row in value for item in (row if isinstance(row, (list, tuple))
                                                   else [row])]
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, float, np.integer,
                                                               np.floating)):
                raise ValueInputError(f"the value of {name} must hold numbers, not "
                                      f"{item!r}", variable=name,
                                      hint="a vector is [1, 2, 3], a matrix [[1, 2], [3, 4]]")


def all_finite(data: Any) -> bool:
    """Whether every number is finite. The sum says so in one pass without
    an array of flags: inf and nan carry through a sum, and a sum of finite
    numbers that overflows is checked element by element."""
    with np.errstate(all="ignore"):
        total = np.sum(data)
    if math.isfinite(total):
        return True
    return bool(np.all(np.isfinite(data)))


def _nonsingular(a: Tensor, name: str, why: str = "") -> None:
    """MathError unless the square matrix `a` has full rank (NumPy's
    matrix_rank: singular values above max(m, n)·eps·the largest)."""
    if not all_finite(a.data):
        raise MathError(f"{name}: the matrix has an infinite or undefined element")
    if np.any(np.linalg.matrix_rank(a.data) < a.data.shape[-1]):
        reason = f", {why}" if why else ""
        raise MathError(f"{name}: the matrix is singular (its determinant is 0){reason}")


def _no_local(index: int, position: int) -> Tensor:
    raise AssertionError("tensor edges are vector–Jacobian products")  # edge= is given


def _aligned(a: Tensor, rank: int) -> Any:
    """A batched value's data with its own axes right-aligned to `rank`
    axes, so that NumPy broadcasts it against other values as one row's
    values broadcast (an unbatched value's data is already aligned)."""
    if not a.batched:
        return a.data
    rows = np.shape(a.data)[0]
    return np.reshape(a.data, (rows,) + (1,) * (rank - a.shape.rank) + np.shape(a.data)[1:])


def _own_axes(a: Tensor) -> tuple[int, ...]:
    """The axes of a batched value after the rows' axis."""
    return tuple(range(1, np.ndim(a.data)))


def _batched_matmul(a: Tensor, b: Tensor, shape: Shape) -> Tensor:
    """a @ b row by row: each vector as the one-row or one-column matrix
    `shapes.matmul` reads it as, NumPy's stacked matmul, then the result's
    own shape."""
    left = _as_matrix(a, row=a.shape.row or b.shape.rank == 2 or not b.shape.row)
    right = _as_matrix(b, row=b.shape.row)
    product = np.matmul(left, right)
    rows = np.shape(product)[0]
    dims = tuple(int(d) for d in shape.dims)
    return Tensor(np.reshape(product, (rows, *dims)), shape, True)


def _as_matrix(a: Tensor, row: bool) -> Any:
    if a.shape.rank == 2:
        return a.data
    return np.expand_dims(a.data, -2 if row else -1)


def _batched_sum_to(a: Tensor, shape: Shape) -> Tensor:
    """`sum_to` for a batched adjoint of a batched argument: row by row."""
    if shape.is_scalar:
        return Tensor(np.sum(a.data, axis=_own_axes(a)), SCALAR, True) \
            if a.shape.rank else a
    if shape.rank == 1 and a.shape.rank == 2:
        return Tensor(np.sum(a.data, axis=1), shape, True)
    return Tensor(a.data, shape, True)
