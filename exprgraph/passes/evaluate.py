"""The forward pass: a value for every node, one loop over the node list.

Policy for numbers (also in the README): all arithmetic is float64. A node
whose float result is not finite (inf or nan) from finite arguments is an
error, not a value: `1e308*10` is an overflow error and `9^9^9^9` fails at
once instead of computing a huge integer. Domain errors (`log(-1)`,
`sqrt(-4)`, `(-8)^(1/3)`, `1/0`) are `MathError`s that name the node, its
expression and its argument values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..core.errors import MathError, ValueInputError
from ..core.graph import Graph, Node
from ..core.numbers import format_value
from ..core.ops import CONST, INPUT
from ..core.text import source_line


def evaluate(graph: Graph, inputs: Mapping[str, float]) -> list[float]:
    """Every node's value, given a value for every input of `graph`.

    Raises `ValueInputError` if an input has no value and `MathError` if a
    node cannot be computed.
    """
    return evaluate_nodes(graph.nodes, inputs, graph.source)


def evaluate_nodes(nodes: Sequence[Node], inputs: Mapping[str, float],
                   source: str = "") -> list[float]:
    """`evaluate` over a bare node list (a graph extended by derivative nodes)."""
    values: list[float] = []
    append = values.append
    isfinite = math.isfinite
    for node in nodes:
        op = node.op
        if op is CONST:
            append(node.value)  # type: ignore[arg-type]
            continue
        if op is INPUT:
            append(_input_value(node, inputs, source))
            continue
        args = [values[a] for a in node.args]
        try:
            result = op.evaluate(*args)
        except (ValueError, ZeroDivisionError, OverflowError, TypeError) as exc:
            raise math_error(node, nodes, args, source, exc) from None
        if not isfinite(result):
            raise math_error(node, nodes, args, source, OverflowError())
        append(float(result))
    return values


def _input_value(node: Node, inputs: Mapping[str, float], source: str) -> float:
    try:
        return float(inputs[node.label])
    except KeyError:
        raise missing_value(node, source) from None


def missing_value(node: Node, source: str) -> ValueInputError:
    """The error for an input given no value, at its first use."""
    return ValueInputError(
        f"no value given for {node.label}",
        line=node.line or None, column=node.column or None,
        source_line=source_line(source, node.line), variable=node.label, missing=True,
        hint=f"give {node.label} a value, e.g. with `where {node.label}=1` after the "
        "program",
    )


def math_error(node: Node, nodes: Sequence[Node], args: Sequence[float], source: str,
               exc: BaseException, what: str = "", problem: str = "",
               element: Mapping[int, str] | None = None) -> MathError:
    """A MathError naming the node, its expression and the argument values.

    `what` replaces "node = expression" as the subject and `problem` the
    explanation drawn from the exception and the op's domain; `element`
    maps an argument node to the element its value is of (`[1]`), for
    vector and matrix arguments.
    """
    from ..printing.text import expression_text, node_expression  # out of the hot loop

    def called(index: int) -> str:
        # Nodes of a derivative have no names: show their text, sqrt(1 - x^2).
        return (nodes[index].name or nodes[index].label or expression_text(nodes, index)) \
            + (element or {}).get(index, "")

    expression = node_expression(nodes, node)
    # No argument values for a tensor function (sum, @): they are whole arrays.
    shown = "" if not args else ", ".join(
        f"{called(a)} = {format_value(v)}" for a, v in zip(node.args, args, strict=True)
        if nodes[a].op is not CONST)  # "here 1 = 1" says nothing
    if not problem:
        problem = explain_failure(node, exc, args)
    if not node.name:
        expression = expression_text(nodes, next(i for i, n in enumerate(nodes) if n is node))
    subject = what or (f"{node.name} = {expression}" if node.name else expression)
    message = f"cannot compute {subject}: {problem}"
    if shown:
        message += f" (here {shown})"
    return MathError(message, line=node.line or None, column=node.column or None,
                     source_line=source_line(source, node.line), node=node.name,
                     expression=expression, arguments=[float(v) for v in args])


def explain_failure(node: Node, exc: BaseException, args: Sequence[float] = ()) -> str:
    """Why `node` could not be computed at `args`: overflow, or its op's
    domain text (the part that applies to these arguments, where the op says)."""
    if isinstance(exc, OverflowError):
        return "the result is too large for a float (beyond about 1.8e308)"
    if args and node.op.domain_at is not None:
        return node.op.domain_at(args)
    return node.op.domain or "the arguments are outside the function's domain"


