"""A graph over many rows at once: one NumPy array per node.

`evaluate_rows` runs the forward pass with each op's array version from the
op table; `gradient_rows` runs reverse mode with the op table's symbolic
derivative rules interpreted over arrays (`ArrayAlgebra`), so no second table
of derivatives exists. A value that is not finite in some row is a
`MathError` naming the expression, the row and its argument values, with the
reason the scalar evaluator gives at that row's values (outside the domain,
or too large for a float).

NumPy is imported here only: `exprgraph eval` never loads it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..core.errors import MathError, ValueInputError
from ..core.graph import Node
from ..core.numbers import format_value
from ..core.ops import CONST, INPUT, OPS
from ..core.text import source_line
from ..printing.text import expression_text
from .evaluate import explain_failure as explain  # the scalar evaluator's own wording
from .loops import reverse, rule_partial


def times(a: Any, b: Any) -> Any:
    """a·b where a zero factor gives 0 even against inf or nan: the scalar
    passes' policy (a zero adjoint passes nothing back; ∂(x^y)/∂y = x^y·log x
    is 0 where x = 0), so rows agree with `autodiff` one by one."""
    product = np.multiply(a, b)
    if np.all(np.isfinite(product)):
        return product
    return np.where((np.asarray(a) == 0) | (np.asarray(b) == 0), 0.0, product)


class ArrayAlgebra:
    """The `ops.Builder` protocol over arrays: derivative rules, evaluated;
    products follow `times`."""

    def const(self, value: float) -> float:
        return value

    def add(self, a: Any, b: Any) -> Any:
        return a + b

    def sub(self, a: Any, b: Any) -> Any:
        return a - b

    def mul(self, a: Any, b: Any) -> Any:
        return times(a, b)

    def div(self, a: Any, b: Any) -> Any:
        return a / b

    def neg(self, a: Any) -> Any:
        return -a

    def pow(self, a: Any, b: Any) -> Any:
        return np.power(a, b)

    def apply(self, op_name: str, *args: Any) -> Any:
        return OPS[op_name].vector(np)(*args)  # type: ignore[misc]


def evaluate_rows(nodes: Sequence[Node], columns: Mapping[str, Any], rows: int,
                  source: str = "") -> list[Any]:
    """Every node's values over `rows` rows (scalars stay scalars where no
    input reaches them). `columns` maps each input to an array or a number."""
    values: list[Any] = []
    with np.errstate(all="ignore"):
        for index, node in enumerate(nodes):
            if node.op is CONST:
                values.append(node.value)
            elif node.op is INPUT:
                if node.label not in columns:
                    raise ValueInputError(f"no values for {node.label}",
                                          hint="give it a data column or a parameter value",
                                          variable=node.label)
                values.append(columns[node.label])
            else:
                args = [values[a] for a in node.args]
                result = node.op.vector(np)(*args)  # type: ignore[misc]
                _check_finite(result, index, nodes, args, rows, source)
                values.append(result)
    return values


def _check_finite(result: Any, index: int, nodes: Sequence[Node], args: list[Any],
                  rows: int, source: str) -> None:
    """A `MathError` for the first row where node `index` is not finite.

    The reason is the scalar evaluator's at that row's arguments: the op
    raising means outside its domain; a finite op giving inf means overflow.
    Expressions are written in the program's own names (no t1, t2 ...)."""
    finite = np.isfinite(result)
    if np.all(finite):
        return
    node = nodes[index]
    row = int(np.argmin(np.broadcast_to(finite, (rows,)))) if np.ndim(result) else 0
    at_row = [float(np.broadcast_to(v, (rows,))[row]) for v in args]
    reason: BaseException = OverflowError()
    try:
        node.op.evaluate(*at_row)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError) as exc:
        reason = exc
    shown = ", ".join(f"{expression_text(nodes, a)} = {format_value(v)}"
                      for a, v in zip(node.args, at_row, strict=True)
                      if nodes[a].op is not CONST)
    expression = expression_text(nodes, index)
    message = f"cannot compute {expression} in row {row + 1}: {explain(node, reason, at_row)}"
    if shown:
        message += f" (here {shown})"
    raise MathError(message, line=node.line or None, column=node.column or None,
                    source_line=source_line(source, node.line), node=node.name,
                    expression=expression, row=row + 1)


def gradient_rows(nodes: Sequence[Node], values: list[Any], output: int,
                  wrt: Sequence[int]) -> list[Any]:
    """∂output/∂node, row by row, for each node in `wrt`: the reverse loop
    (`passes.reverse`) over arrays, each op's derivative rule run by
    `ArrayAlgebra`."""
    algebra = ArrayAlgebra()
    with np.errstate(all="ignore"):
        adjoint = reverse(nodes, output, 1.0, rule_partial(nodes, values, algebra), algebra)
    return [adjoint.get(index, 0.0) for index in wrt]
