"""Symbolic derivatives, built as new nodes of the same graph.

`symbolic_gradient` runs the reverse loop (`passes.reverse`) over a graph
with the node algebra (`SymbolicBuilder`): instead of numbers it builds
nodes. The adjoint of each node and the local partial of each edge are new
nodes appended after the original ones (a derivative may and usually does
refer to original nodes, e.g. ∂(x*y)/∂x is the node y). Because they are
ordinary nodes from the same op table, the derivative of a derivative needs no
extra code, and a subexpression shared in the original stays shared in the
derivative: its size grows linearly with the program, not exponentially.

`SymbolicBuilder` only builds: the nodes are simplified, by the one
simplifier, where they are shown (`calculus.simplified`, and
`calculus.in_names` for the program's own names).
"""

from __future__ import annotations

from ..core.graph import Graph, GraphBuilder
from ..core.ops import ADD, DIV, MUL, NEG, OPS, POW, SUB
from ..core.records import Record
from ..passes.loops import reverse


class SymbolicBuilder(GraphBuilder):
    """A GraphBuilder over an existing graph: the `Builder` protocol as node
    constructors. It folds and rewrites nothing (identical nodes are shared,
    as in any GraphBuilder): every derivative that is shown goes through the
    one simplifier (`simplify.py`) first."""

    def __init__(self, graph: Graph) -> None:
        super().__init__(graph.nodes)
        self.graph = graph

    def const(self, value: float) -> int:
        """A numeric constant node."""
        return self.constant(0.0 if value == 0 else float(value))

    def add(self, a: int, b: int) -> int:
        """The node a + b."""
        return self.intern(ADD, (a, b))

    def sub(self, a: int, b: int) -> int:
        """The node a - b."""
        return self.intern(SUB, (a, b))

    def mul(self, a: int, b: int) -> int:
        """The node a * b."""
        return self.intern(MUL, (a, b))

    def div(self, a: int, b: int) -> int:
        """The node a / b."""
        return self.intern(DIV, (a, b))

    def neg(self, a: int) -> int:
        """The node -a."""
        return self.intern(NEG, (a,))

    def pow(self, a: int, b: int) -> int:
        """The node a ^ b."""
        return self.intern(POW, (a, b))

    def apply(self, op_name: str, *args: int) -> int:
        """The function `op_name` of the op table applied to `args`."""
        return self.intern(OPS[op_name], args)


# A plain class rather than a frozen dataclass, for start-up: see core/records.py.
class SymbolicGradient(Record):
    """Symbolic reverse mode over a graph.

    `builder.nodes` holds the original nodes followed by the derivative nodes;
    `adjoint[i]` is the node for ∂out/∂(node i), for every node i the output
    depends on; `local[(i, k)]` is the node for ∂(node i)/∂(its k-th argument),
    for every argument that depends on an input. Immutable.
    """

    __slots__ = _fields = ("builder", "adjoint", "local")
    builder: SymbolicBuilder
    adjoint: dict[int, int]
    local: dict[tuple[int, int], int]

    def __init__(self, builder: SymbolicBuilder, adjoint: dict[int, int],
                 local: dict[tuple[int, int], int]) -> None:
        _set = object.__setattr__
        _set(self, "builder", builder)
        _set(self, "adjoint", adjoint)
        _set(self, "local", local)

    def __repr__(self) -> str:
        return f"<SymbolicGradient of {len(self.builder.nodes)} nodes>"

    def derivative(self, index: int) -> int:
        """The node of ∂out/∂(node `index`): the constant 0 where it does not matter."""
        found = self.adjoint.get(index)
        return found if found is not None else self.builder.const(0.0)


def symbolic_gradient(graph: Graph, every_edge: bool = False) -> SymbolicGradient:
    """Build ∂out/∂node for every node of `graph` as new nodes.

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
