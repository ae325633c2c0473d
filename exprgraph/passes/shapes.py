"""Shape inference: one forward pass over the node list, before any value is computed.

Every node gets a `Shape` (core/shapes.py) from its arguments' shapes: an
input's from its value or its declaration, a constant is a scalar, a tensor
op by its entry's `shape_rule`, an elementwise op by broadcasting. A
mismatch is a `ShapeError` that names the expression, its line and column,
the operation and both shapes — `W @ x: cannot multiply a 3×2 matrix by a
vector of length 3` — so a program with a shape mistake never starts
computing (and never shows a NumPy traceback).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from ..core import shapes
from ..core.errors import ShapeError
from ..core.graph import Node
from ..core.ops import CONST, INPUT
from ..core.shapes import SCALAR, Shape
from ..core.text import source_line


def infer_shapes(nodes: Sequence[Node], inputs: Mapping[str, Shape], source: str = "",
                 assigned: Collection[str] = ()) -> list[Shape]:
    """The shape of every node, in order; an input absent from `inputs` is a
    scalar. An error names the expression with the `assigned` names as the
    program wrote them (`y[5]`, not `(x + 1)[5]`)."""
    out: list[Shape] = []
    for node in nodes:
        if node.op is CONST:
            out.append(SCALAR)
        elif node.op is INPUT:
            out.append(inputs.get(node.label, SCALAR))
        else:
            out.append(_shape_of(nodes, len(out), [out[a] for a in node.args], source,
                                 assigned))
    return out


def is_scalar_program(shaped: Sequence[Shape]) -> bool:
    """Whether every node is a scalar: the program runs on the float fast path."""
    return all(shape.is_scalar for shape in shaped)


def _shape_of(nodes: Sequence[Node], index: int, args: list[Shape], source: str,
              assigned: Collection[str] = ()) -> Shape:
    op = nodes[index].op
    try:
        if op.name == "index" and nodes[nodes[index].args[1]].op is CONST:
            # The position is a constant: its value, so that the range is
            # checked here, before anything is computed.
            return op.shape_rule(args[0], nodes[nodes[index].args[1]].value)
        if op.shape_rule is not None:
            return op.shape_rule(*args)
        shape = args[0]
        for other in args[1:]:
            shape = shapes.broadcast(shape, other, op.symbol or op.name)
        return shape
    except ShapeError as error:
        raise _located(nodes, index, error, source, assigned) from None


def _located(nodes: Sequence[Node], index: int, error: ShapeError, source: str,
             assigned: Collection[str] = ()) -> ShapeError:
    """The error with the expression it is about in front (in the program's
    own names: `W @ x + b`, not `t1 + b`), and its place."""
    from ..printing.text import expression_text  # printing only on an error

    node = nodes[index]
    named = set(assigned)
    text = expression_text(nodes, index, by_name=lambda i: nodes[i].name in named)
    return ShapeError(f"{text}: {error.message}",
                      hint=error.hint, line=node.line or None, column=node.column or None,
                      source_line=source_line(source, node.line) if source else None,
                      **error.details)
