"""A scalar program at many points at once, with the scalar passes' exact floats.

`batch` and `check` meet the same program at hundreds of points (a course's
files repeat a few programs). `forward_rows` and `reverse_rows` run the
forward pass and the reverse loop once over arrays of points instead of once
per point, and give bit for bit the floats `passes.evaluate` and
`passes.autodiff.adjoints` give point by point, so a result does not depend
on whether its point was evaluated alone or with others:

- +, -, ×, ÷ and negation are IEEE operations, the same in NumPy as in Python
  floats: they run as NumPy ufuncs;
- every other function (exp, log, tanh, pow, ...) runs the op table's own
  float function on each element (NumPy's own exp or pow differ from the C
  library's in the last bit at some points);
- a derivative runs the op's derivative rule over `ExactRows`, the same
  operations in the same order as its compiled float rule, or the op's
  hand-written float partial on each element where it has one;
- the reverse loop is `passes.loops.reverse`'s, with its policy row by row:
  a zero adjoint passes nothing back, so its partials are not asked for.

Where the scalar passes would raise (a value outside a function's domain, a
partial undefined where it is needed, a sum too large for a float) the row is
marked bad (`Rows.bad`) and the caller evaluates that point alone, which gives
the error with its message. NumPy is imported here only.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..core.graph import Node
from ..core.ops import CONST, INPUT, OPS

# Ops whose float function is one IEEE operation: NumPy's ufunc gives the same bits.
_IEEE = {operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
         operator.truediv: np.divide, operator.neg: np.negative}
_FLOAT_ERRORS = (ValueError, ZeroDivisionError, OverflowError, TypeError)

Column = Any  # a float64 array of one value per row, or a float the same in every row


def elementwise(fn: Callable[..., float], *args: Column) -> Column:
    """`fn` on each row's arguments (broadcast), NaN where it raises: the
    scalar function itself, so its floats are the scalar pass's."""
    if not any(isinstance(a, np.ndarray) for a in args):
        try:
            return float(fn(*args))
        except _FLOAT_ERRORS:
            return math.nan

    def safe(*row: float) -> float:
        try:
            return float(fn(*row))
        except _FLOAT_ERRORS:
            return math.nan

    return np.frompyfunc(safe, len(args), 1)(*args).astype(np.float64)


class ExactRows:
    """The `ops.Builder` protocol over columns, operation for operation what
    `algebras.FloatAlgebra` (and the compiled float rules) compute."""

    @staticmethod
    def const(value: float) -> float:
        return float(value)

    @staticmethod
    def add(a: Column, b: Column) -> Column:
        return a + b

    @staticmethod
    def sub(a: Column, b: Column) -> Column:
        return a - b

    @staticmethod
    def mul(a: Column, b: Column) -> Column:
        return a * b

    @staticmethod
    def div(a: Column, b: Column) -> Column:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return np.divide(a, b)
        return elementwise(operator.truediv, a, b)

    @staticmethod
    def neg(a: Column) -> Column:
        return -a

    @staticmethod
    def pow(a: Column, b: Column) -> Column:
        return elementwise(math.pow, a, b)

    @staticmethod
    def apply(op_name: str, *args: Column) -> Column:
        return elementwise(OPS[op_name].evaluate, *args)


EXACT = ExactRows()


class Rows:
    """Values and adjoints of a graph's nodes over `count` points; `bad[r]` is
    true where row r must be evaluated alone (the scalar passes raise there)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.bad = np.zeros(count, dtype=bool)
        self.values: list[Column] = []
        self.adjoints: dict[int, Column] = {}

    def mark(self, finite: Any) -> None:
        """Rows where `finite` (a bool column) is false are bad."""
        if finite is True or finite is np.True_:
            return
        self.bad |= ~np.broadcast_to(finite, (self.count,))

    def row(self, column: Column, index: int) -> float:
        """Row `index` of `column` as a Python float."""
        return float(column[index]) if isinstance(column, np.ndarray) else float(column)


def forward_rows(nodes: Sequence[Node], columns: Mapping[str, Column], count: int) -> Rows:
    """Every node's values over the rows: `columns` maps each input's label to
    its column. Rows where a value is not finite are marked bad."""
    rows = Rows(count)
    values = rows.values
    with np.errstate(all="ignore"):
        for node in nodes:
            op = node.op
            if op is CONST:
                values.append(float(node.value))  # type: ignore[arg-type]
                continue
            if op is INPUT:
                values.append(columns[node.label])
                continue
            args = [values[a] for a in node.args]
            ufunc = _IEEE.get(op.evaluate)
            if ufunc is not None and any(isinstance(a, np.ndarray) for a in args):
                result = ufunc(*args)
            else:
                result = elementwise(op.evaluate, *args)
            rows.mark(np.isfinite(result))
            values.append(result)
    return rows


def reverse_rows(nodes: Sequence[Node], output: int, rows: Rows) -> None:
    """The adjoints ∂output/∂node over the rows, into `rows.adjoints`: the
    reverse loop of `passes.loops.reverse` with `autodiff.adjoints`' policy.

    In a row where a node's adjoint is 0 the node passes nothing back (its
    partials there are not used, whatever they are); elsewhere a partial or
    a sum that is not finite marks the row bad, where the scalar pass raises.
    """
    values = rows.values
    adjoint: dict[int, Column] = {output: np.ones(rows.count)}
    with np.errstate(all="ignore"):
        for index in range(output, -1, -1):
            node = nodes[index]
            upstream = adjoint.get(index)
            if upstream is None or not node.varying or not node.args:
                continue
            live = upstream != 0
            if not live.any():
                continue
            args = tuple(values[a] for a in node.args)
            for position, arg in enumerate(node.args):
                if not nodes[arg].varying:
                    continue
                slope = _slope(node, position, args, values[index])
                rows.mark(~live | np.isfinite(slope))
                contribution = np.where(live, upstream * slope, 0.0)
                previous = adjoint.get(arg)
                total = contribution if previous is None else previous + contribution
                rows.mark(np.isfinite(total))
                adjoint[arg] = total
    rows.adjoints = {index: total + 0.0 for index, total in adjoint.items()}  # -0.0 → 0.0


def _slope(node: Node, position: int, args: tuple[Column, ...], out: Column) -> Column:
    """∂node/∂(argument `position`) over the rows, as the scalar pass computes it."""
    op = node.op
    if op.float_override:  # a hand-written float partial: run it on each row
        partial = op.partials[position]
        return elementwise(lambda *row: partial(row[:-1], row[-1]), *args, out)
    return op.derivatives[position](EXACT, args, out)
