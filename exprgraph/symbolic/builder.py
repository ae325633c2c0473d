"""Symbolic derivatives, built as new nodes of the same graph.

`symbolic_gradient` runs the reverse loop (`passes.reverse`) over a graph
with the node algebra (`SymbolicBuilder`): instead of numbers it builds
nodes. The adjoint of each node and the local partial of each edge are new
nodes appended after the original ones (a derivative may and usually does
refer to original nodes, e.g. ∂(x*y)/∂x is the node y). Because they are
ordinary nodes from the same op table, the derivative of a derivative needs no
extra code, and a subexpression shared in the original stays shared in the
derivative: its size grows linearly with the program, not exponentially.

`SymbolicBuilder` simplifies as it builds (smart constructors): constant
folding, and identities that never change a value where the original is
defined: x+0, x*1, x*0, x^1, x^0, --x, 0/x, x/1, x-x, x/x, a*(1/b) = a/b,
log(e) = 1, log(exp(a)) = a, and a negation moved outwards so that results
print as `x - y`, not `x + -1*y`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.graph import Graph, GraphBuilder
from ..core.numbers import reads_exactly
from ..core.ops import ADD, CONST, CONSTANTS, DIV, MUL, NEG, OPS, POW, SUB, Op
from ..passes.loops import reverse


class SymbolicBuilder(GraphBuilder):
    """A GraphBuilder over an existing graph whose constructors simplify."""

    def __init__(self, graph: Graph) -> None:
        super().__init__(graph.nodes)
        self.graph = graph

    # --- what a node is ------------------------------------------------------

    def number(self, index: int) -> float | None:
        """The value of a numeric literal node, else None (pi and e count as names)."""
        node = self.nodes[index]
        if node.op is CONST and node.label not in CONSTANTS:
            return node.value
        return None

    def _is(self, index: int, value: float) -> bool:
        return self.number(index) == value

    def _op(self, index: int) -> Op:
        return self.nodes[index].op

    def _args(self, index: int) -> tuple[int, ...]:
        return self.nodes[index].args

    # --- constructors ----------------------------------------------------------

    def const(self, value: float) -> int:
        """A numeric constant node."""
        return self.constant(0.0 if value == 0 else float(value))

    def _fold(self, op: Op, args: tuple[int, ...]) -> int | None:
        """A constant for `op(args)` when every argument is a number and the
        result is exact enough to read (2*3 folds to 6, 1/3 stays 1/3)."""
        numbers = [self.number(a) for a in args]
        if any(n is None for n in numbers):
            return None
        try:
            value = float(op.evaluate(*numbers))
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        if not math.isfinite(value):
            return None
        if reads_exactly(value, (self.nodes[a].label for a in args)):
            return self.const(value)
        return None

    def add(self, a: int, b: int) -> int:
        """a + b, simplified."""
        folded = self._fold(ADD, (a, b))
        if folded is not None:
            return folded
        if self._is(a, 0.0):
            return b
        if self._is(b, 0.0):
            return a
        if self._op(b) is NEG:
            return self.sub(a, self._args(b)[0])
        if self._op(a) is NEG:
            return self.sub(b, self._args(a)[0])
        negative = self.number(b)
        if negative is not None and negative < 0:
            return self.sub(a, self.const(-negative))
        if a == b:
            return self.mul(self.const(2.0), a)
        return self.intern(ADD, (a, b))

    def sub(self, a: int, b: int) -> int:
        """a - b, simplified."""
        folded = self._fold(SUB, (a, b))
        if folded is not None:
            return folded
        if self._is(b, 0.0):
            return a
        if self._is(a, 0.0):
            return self.neg(b)
        if a == b:
            return self.const(0.0)
        if self._op(b) is NEG:
            return self.add(a, self._args(b)[0])
        negative = self.number(b)
        if negative is not None and negative < 0:
            return self.add(a, self.const(-negative))
        return self.intern(SUB, (a, b))

    def mul(self, a: int, b: int) -> int:
        """a * b, simplified; a numeric factor goes first (2*x, not x*2)."""
        folded = self._fold(MUL, (a, b))
        if folded is not None:
            return folded
        for this, other in ((a, b), (b, a)):
            if self._is(this, 0.0):
                return this
            if self._is(this, 1.0):
                return other
            if self._is(this, -1.0):
                return self.neg(other)
            if self._op(this) is NEG:
                return self.neg(self.mul(*((self._args(this)[0], other) if this == a
                                           else (other, self._args(this)[0]))))
            if self._op(this) is DIV and self._is(self._args(this)[0], 1.0):
                return self.div(other, self._args(this)[1])
        if self.number(b) is not None and self.number(a) is None:
            return self.mul(b, a)
        if self.number(a) is not None and self._op(b) is MUL:
            inner, rest = self._args(b)
            if self.number(inner) is not None:
                combined = self._fold(MUL, (a, inner))
                if combined is not None:
                    return self.mul(combined, rest)
        if a == b:
            return self.pow(a, self.const(2.0))
        return self.intern(MUL, (a, b))

    def div(self, a: int, b: int) -> int:
        """a / b, simplified."""
        folded = self._fold(DIV, (a, b))
        if folded is not None:
            return folded
        if self._is(a, 0.0) and self.number(b) != 0.0:
            return a
        if self._is(b, 1.0):
            return a
        if self._is(b, -1.0):
            return self.neg(a)
        if a == b:
            return self.const(1.0)
        if self._op(a) is NEG:
            return self.neg(self.div(self._args(a)[0], b))
        if self._op(b) is NEG:
            return self.neg(self.div(a, self._args(b)[0]))
        return self.intern(DIV, (a, b))

    def neg(self, a: int) -> int:
        """-a, simplified."""
        value = self.number(a)
        if value is not None:
            return self.const(-value)
        op = self._op(a)
        if op is NEG:
            return self._args(a)[0]
        if op is SUB:
            left, right = self._args(a)
            return self.sub(right, left)
        if op is MUL and self.number(self._args(a)[0]) is not None:
            factor, rest = self._args(a)
            return self.mul(self.neg(factor), rest)
        return self.intern(NEG, (a,))

    def pow(self, a: int, b: int) -> int:
        """a ^ b, simplified."""
        folded = self._fold(POW, (a, b))
        if folded is not None:
            return folded
        if self._is(b, 1.0):
            return a
        if self._is(b, 0.0) or self._is(a, 1.0):
            return self.const(1.0)
        return self.intern(POW, (a, b))

    def apply(self, op_name: str, *args: int) -> int:
        """A function of the op table applied to `args`, constant-folded."""
        op = OPS[op_name]
        folded = self._fold(op, args)
        if folded is not None:
            return folded
        if op_name == "log":
            (arg,) = args
            node = self.nodes[arg]
            if node.op is CONST and node.label == "e":
                return self.const(1.0)  # d(e^x)/dx = e^x*log(e) = e^x
            if node.op is OPS["exp"]:
                return node.args[0]  # log(exp(a)) = a for every real a
        return self.intern(op, args)


@dataclass(frozen=True)
class SymbolicGradient:
    """Symbolic reverse mode over a graph.

    `builder.nodes` holds the original nodes followed by the derivative nodes;
    `adjoint[i]` is the node for ∂out/∂(node i), for every node i the output
    depends on; `local[(i, k)]` is the node for ∂(node i)/∂(its k-th argument),
    for every argument that depends on an input.
    """

    builder: SymbolicBuilder
    adjoint: dict[int, int]
    local: dict[tuple[int, int], int]

    def derivative(self, index: int) -> int:
        """The node of ∂out/∂(node `index`): the constant 0 where it does not matter."""
        found = self.adjoint.get(index)
        return found if found is not None else self.builder.const(0.0)


def symbolic_gradient(graph: Graph, every_edge: bool = False) -> SymbolicGradient:
    """Build ∂out/∂node for every node of `graph` as new, simplified nodes.

    Local partials are built for the edges the output depends on, or for every
    edge with `every_edge` (for tables that show dead statements too).
    """
    builder = SymbolicBuilder(graph)
    nodes = graph.nodes
    local: dict[tuple[int, int], int] = {}

    def partial(index: int, position: int) -> int:
        slope = nodes[index].op.derivatives[position](builder, nodes[index].args, index)
        local[(index, position)] = slope
        return slope

    adjoint = reverse(nodes, graph.output, builder.const(1.0), partial, builder,
                      first=len(nodes) - 1 if every_edge else None, every_edge=every_edge)
    return SymbolicGradient(builder, adjoint, local)
