"""Numeric derivatives: reverse mode (adjoints) and forward mode (tangents).

Reverse mode walks the node list backwards once and gives ∂out/∂node for
every node (its adjoint); where a node is used more than once its adjoint is
the sum over the uses. Forward mode walks it forwards once per input and gives
∂node/∂input; it exists as an independent cross-check of reverse mode.

Both are the loops of `passes` run over floats; they read the local partials
from the op table (each op's one rule, compiled to a float function) and only
ask for a partial where it is needed: constants get no adjoint (None), and an
argument that does not depend on any input is never differentiated, so
∂(x^2)/∂2 (= x^2·log x, undefined for x < 0) is never computed.

Policy: a local partial that is infinite or undefined where it is needed
(sqrt at 0, asin at 1) is a `MathError`, except that a node whose adjoint is
exactly 0 passes nothing back, so `0*sqrt(x)` at x = 0 has gradient 0. So is
an adjoint (or tangent) whose sum overflows a float: `x*y*z` at x = z = 1e300,
y = 1e-300 has ∂out/∂y = x·z = 1e600, which no float holds. Every number a pass
returns is therefore finite; nothing inf or nan ever reaches a printer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..core.errors import MathError
from ..core.graph import Graph, Node
from .algebras import FLOATS
from .evaluate import math_error, source_line
from .loops import forward, reverse


def local_partial(nodes: Sequence[Node], values: Sequence[float], index: int, position: int,
                  source: str = "") -> float:
    """∂node/∂(its argument at `position`) at the given values."""
    node = nodes[index]
    args = [values[a] for a in node.args]
    try:
        result = node.op.partials[position](args, values[index])
    except (ValueError, ZeroDivisionError, OverflowError) as exc:
        raise _slope_error(nodes, node, position, args, source, exc) from None
    if not math.isfinite(result):
        raise _slope_error(nodes, node, position, args, source, OverflowError())
    return result


def _slope_error(nodes: Sequence[Node], node: Node, position: int, args: list[float],
                 source: str, exc: BaseException) -> MathError:
    arg_name = nodes[node.args[position]].name
    what = f"the derivative of {node.name} with respect to {arg_name}"
    return math_error(node, nodes, args, source, exc, what=what,
                      problem="it is infinite or undefined there")


def _too_large(graph: Graph, index: int, wrt: str | None = None) -> MathError:
    """The MathError for a derivative of the output with respect to node `index`
    (by forward mode: of node `index` with respect to input `wrt`) that
    overflows a float, naming the node."""
    from ..printing.text import expression_text, node_expression  # out of the hot loop

    nodes = graph.nodes
    node = nodes[index]
    name = node.name or expression_text(nodes, index)
    if wrt is None:
        out = graph.output_alias if graph.output_alias \
            and graph.names.get(graph.output_alias) == graph.output else nodes[graph.output].name
        what = f"∂{out}/∂{name}"
    else:
        what = f"∂{name}/∂{wrt}"
    return MathError(f"cannot compute {what}: the derivative is too large for a float "
                     "(beyond about 1.8e308)",
                     line=node.line or None, column=node.column or None,
                     source_line=source_line(graph.source, node.line), node=node.name,
                     expression=node_expression(nodes, node))


def adjoints(graph: Graph, values: Sequence[float],
             undefined: dict[int, MathError] | None = None) -> list[float | None]:
    """∂out/∂node for every node (None for nodes that depend on no input):
    the reverse loop (`passes.reverse`) over floats.

    An undefined local partial, or an adjoint too large for a float, raises a
    MathError, unless `undefined` is given: then every adjoint that depends on
    it is None and `undefined` maps its node to the error that explains why,
    and the rest of the pass still runs. Every adjoint returned is finite.
    """
    nodes = graph.nodes
    source = graph.source

    # Inside the loop an undefined adjoint is NaN, which every later product
    # and sum keeps; `undefined` says why, and they become None at the end.
    def local(index: int, position: int) -> float:
        if undefined is not None and index in undefined:
            undefined.setdefault(nodes[index].args[position], undefined[index])
            return math.nan  # undefined upstream
        try:
            return local_partial(nodes, values, index, position, source)
        except MathError as error:
            if undefined is None:
                raise
            undefined.setdefault(nodes[index].args[position], error)
            return math.nan

    def check(arg: int, total: float) -> float:
        if math.isfinite(total) or (undefined is not None and arg in undefined):
            return total
        error = _too_large(graph, arg)
        if undefined is None:
            raise error
        undefined.setdefault(arg, error)
        return math.nan

    found = reverse(nodes, graph.output, 1.0, local, FLOATS, skip=_is_zero, check=check)
    result: list[float | None] = [0.0 if n.varying else None for n in nodes]
    for index, adjoint in found.items():
        result[index] = adjoint + 0.0  # -0.0 → 0.0
    if undefined:
        for index in undefined:
            result[index] = None
    return result


def tangents(graph: Graph, values: Sequence[float], wrt: str) -> list[float]:
    """∂node/∂`wrt` for every node: the forward loop (`passes.forward`) over
    floats, the cross-check of reverse mode; a MathError naming the node
    where one is too large for a float."""
    nodes = graph.nodes
    seeds: dict[int, float] = {}
    if wrt in graph.names and nodes[graph.names[wrt]].op.name == "input":
        seeds[graph.names[wrt]] = 1.0

    def local(index: int, position: int) -> float:
        return local_partial(nodes, values, index, position, graph.source)

    def check(index: int, total: float) -> float:
        if not math.isfinite(total):
            raise _too_large(graph, index, wrt)
        return total

    found = forward(nodes, seeds, local, FLOATS, skip=_is_zero, check=check)
    result = [0.0] * len(nodes)
    for index, tangent in found.items():
        result[index] = tangent + 0.0  # -0.0 → 0.0
    return result


def _is_zero(value: float) -> bool:
    """A float adjoint or tangent that passes nothing on (its partials are
    not computed: `0*sqrt(x)` at x = 0 has gradient 0)."""
    return not value
