"""Vector–Jacobian rules as text: what an edge of a tensor program passes back.

The op table writes each rule once against the builder protocol
(core/tensor_ops.py, core/ops.py). Run over `RuleText`, the rule builds its
own formula in the program's names instead of numbers: the edge from x to
`W @ x` reads `W' @ ḡ`, from h to `tanh(h)` reads `ḡ * (1 - t^2)`, where ḡ
is the adjoint of the node using the argument (∂L/∂node, of that node's
shape). It is the same rule the NumPy pass runs, so the formula shown is the
one computed. Obvious factors of 1 are dropped; nothing else is simplified
(the matrix-calculus simplifier is a later step).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..core import shapes
from ..core.errors import ShapeError
from ..core.graph import Node
from ..core.numbers import format_value
from ..core.ops import PREC_ATOM, PREC_POWER, PREC_PRODUCT, PREC_SUM, PREC_UNARY
from ..core.shapes import SCALAR, Shape

ADJOINT = "ḡ"  # the upstream adjoint, ∂L/∂node


@dataclass(frozen=True, slots=True)
class Term:
    """A formula's text, how tightly it binds, and the shape of its value."""

    text: str
    precedence: int
    shape: Shape


def _wrap(term: Term, at_least: int) -> str:
    return term.text if term.precedence >= at_least else f"({term.text})"


class RuleText:
    """The builder protocol (and the tensor operations) building text."""

    def const(self, value: float) -> Term:
        text = format_value(value)
        return Term(text, PREC_UNARY if text.startswith("-") else PREC_ATOM, SCALAR)

    def _folded(self, fn: Callable[[float, float], float], a: Term, b: Term) -> Term | None:
        """Two numbers combined into one (`2 - 1` is 1), else None."""
        try:
            return self.const(fn(float(a.text), float(b.text)))
        except (ValueError, ZeroDivisionError, OverflowError):
            return None

    def _infix(self, symbol: str, precedence: int, a: Term, b: Term, shape: Shape,
               right_tighter: bool = True) -> Term:
        right = precedence + 1 if right_tighter else precedence
        return Term(f"{_wrap(a, precedence)} {symbol} {_wrap(b, right)}", precedence, shape)

    def add(self, a: Term, b: Term) -> Term:
        if a.text == "0":
            return b
        if b.text == "0":
            return a
        return self._infix("+", PREC_SUM, a, b, _broadcast(a, b), right_tighter=False)

    def sub(self, a: Term, b: Term) -> Term:
        folded = self._folded(operator.sub, a, b)
        if folded is not None:
            return folded
        if b.text == "0":
            return a
        return self._infix("-", PREC_SUM, a, b, _broadcast(a, b))

    def mul(self, a: Term, b: Term) -> Term:
        folded = self._folded(operator.mul, a, b)
        if folded is not None:
            return folded
        if a.text == "1":
            return Term(b.text, b.precedence, _broadcast(a, b))
        if b.text == "1":
            return Term(a.text, a.precedence, _broadcast(a, b))
        if b.text == "-1":
            return self.neg(a)
        return self._infix("*", PREC_PRODUCT, a, b, _broadcast(a, b), right_tighter=False)

    def div(self, a: Term, b: Term) -> Term:
        return self._infix("/", PREC_PRODUCT, a, b, _broadcast(a, b))

    def neg(self, a: Term) -> Term:
        return Term(f"-{_wrap(a, PREC_POWER)}", PREC_UNARY, a.shape)

    def pow(self, a: Term, b: Term) -> Term:
        if b.text == "1":
            return a
        return Term(f"{_wrap(a, PREC_ATOM)}^{_wrap(b, PREC_POWER)}", PREC_POWER,
                    _broadcast(a, b))

    def apply(self, op_name: str, *args: Term) -> Term:
        shape = args[0].shape
        for other in args[1:]:
            shape = _broadcast(Term("", 0, shape), other)
        return self._call(op_name, args, shape)

    def _call(self, name: str, args: Sequence[Term], shape: Shape) -> Term:
        return Term(f"{name}({', '.join(a.text for a in args)})", PREC_ATOM, shape)

    # --- the tensor operations ----------------------------------------------------

    def matmul(self, a: Term, b: Term) -> Term:
        if a.shape.is_scalar or b.shape.is_scalar:
            # A scalar times a vector: the vector's orientation is the
            # destination's (`sum_to`), so a transposed one reads as itself.
            return self.mul(_untransposed(a), _untransposed(b))
        return self._infix("@", PREC_PRODUCT, a, b, shapes.matmul(a.shape, b.shape))

    def transpose(self, a: Term) -> Term:
        if a.shape.is_scalar:
            return a
        if a.text.endswith("'") and a.precedence == PREC_POWER:  # (a')' = a
            return Term(a.text[:-1], PREC_ATOM, shapes.transpose(a.shape))
        return Term(f"{_wrap(a, PREC_ATOM)}'", PREC_POWER, shapes.transpose(a.shape))

    def total(self, a: Term) -> Term:
        return self._call("sum", (a,), SCALAR)

    def broadcast_to(self, a: Term, shape: Shape) -> Term:
        # A scalar spread over a shape: the elementwise operators already say it.
        return Term(a.text, a.precedence, shape)

    def sum_to(self, a: Term, shape: Shape) -> Term:
        if a.shape == shape:
            return a
        if a.shape.rank == shape.rank == 1 and a.shape.dims == shape.dims:
            return self.transpose(a)  # a row for a column (the same numbers)
        if shape.is_scalar:
            return self.total(a)
        return Term(f"sum_rows({a.text})", PREC_ATOM, shape)  # a vector against a matrix

    def shape(self, a: Term) -> Shape:
        return a.shape

    def ones_like(self, a: Term) -> Term:
        return self._call("ones_like", (a,), a.shape)

    def size(self, a: Term) -> Term:
        count = 1
        for dim in a.shape.dims:
            if not isinstance(dim, int):
                return self._call("size", (a,), SCALAR)
            count *= dim
        return self.const(float(count))

    def largest(self, a: Term) -> Term:
        return self._call("max", (a,), SCALAR)

    def eye(self, shape: Shape) -> Term:
        return Term("I", PREC_ATOM, shape)

    def diag(self, a: Term) -> Term:
        return self._call("diag", (a,), shapes.diag(a.shape))

    def det(self, a: Term) -> Term:
        return self._call("det", (a,), SCALAR)

    def inv(self, a: Term) -> Term:
        return self._call("inv", (a,), a.shape)

    def logdet(self, a: Term) -> Term:
        return self._call("logdet", (a,), SCALAR)

    def index(self, a: Term, position: Term) -> Term:
        return Term(f"{_wrap(a, PREC_ATOM)}[{position.text}]", PREC_ATOM,
                    shapes.index(a.shape, SCALAR))

    def unindex(self, g: Term, position: Term, shape: Shape) -> Term:
        # Zeros of the argument's shape with ḡ at [i]: "ḡ at [i]".
        return Term(f"{_wrap(g, PREC_ATOM)} at [{position.text}]", PREC_ATOM, shape)

    def nonzero(self, a: Term, message: str) -> Term:
        return a


def _untransposed(a: Term) -> Term:
    """v' read as v (a vector whose orientation does not matter here)."""
    if a.shape.rank == 1 and a.shape.row and a.text.endswith("'") and \
            a.precedence == PREC_POWER:
        return Term(a.text[:-1], PREC_ATOM, shapes.transpose(a.shape))
    return a


def _broadcast(a: Term, b: Term) -> Shape:
    try:
        return shapes.broadcast(a.shape, b.shape, "")
    except ShapeError:  # a row against its column: the same numbers
        return a.shape if a.shape.rank >= b.shape.rank else b.shape


RULES = RuleText()


def vjp_text(nodes: Sequence[Node], node_shapes: Sequence[Shape], index: int,
             position: int) -> str:
    """The formula node `index` passes back to its argument at `position`,
    over the program's node names and ḡ (its own adjoint)."""
    node = nodes[index]
    args = tuple(_named(nodes[a], node_shapes[a]) for a in node.args)
    out = _named(node, node_shapes[index])
    adjoint = Term(ADJOINT, PREC_ATOM, node_shapes[index])
    if node.op.vjp:
        rule = node.op.vjp[position]
        if rule is None:
            return "—"
        found = rule(RULES, args, out, adjoint)
    else:
        partial = node.op.derivatives[position](RULES, args, out)
        found = RULES.mul(adjoint, partial)
    return RULES.sum_to(found, node_shapes[node.args[position]]).text


def _named(node: Node, shape: Shape) -> Term:
    if node.value is not None and not node.name[:1].isalpha():
        return RULES.const(node.value)
    return Term(node.name, PREC_ATOM, shape)
