"""Nodes as exprgraph text: minimal parentheses, and it always parses back.

The printer never recurses: it collects the nodes below the root with an
explicit stack, then builds each node's text from its arguments' texts in
node order (arguments come first in a topological list).

Parentheses follow the op table's precedence: a left-associative operator
wraps a right operand of equal precedence (`a - (b - c)`), `^` wraps its
left operand instead (`(x^y)^z`, `(-2)^x`), and the exponent may carry a sign
(`x^-2`). Spaces go around `+` and `-` only: `2*x^2 + 1`.

Inlining a shared subexpression repeats its text, which for a deep graph with
sharing can grow exponentially. So when the inlined text would be longer than
`limit`, the result is a program instead: every shared subexpression is bound
to a name once (`t1 = sin(x); t2 = sin(t1); cos(t2)*cos(t1)*cos(x)`), which
`exprgraph eval` evaluates like the expression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from ..graph import Node
from ..ops import CONST, INPUT, PREC_ATOM, PREC_SUM, PREC_UNARY, Op

INLINE_LIMIT = 4000

Text = tuple[str, int]  # text and the precedence of its outermost operator


def expression_text(
    nodes: Sequence[Node],
    root: int,
    *,
    by_name: Callable[[int], bool] | None = None,
    limit: int = INLINE_LIMIT,
    taken: Iterable[str] = (),
) -> str:
    """The text of node `root`, expanded down to the inputs and constants.

    `by_name(i)` says which other nodes to print as their name instead of
    expanding them. `taken` lists names a program form must not bind.
    """
    order, uses, named = _collect(nodes, root, by_name)
    if _estimated_length(nodes, order, named, root) <= limit:
        return _render(nodes, order, named, bound={})[root][0]
    bound = _bind_shared(nodes, order, uses, named, root, set(taken))
    own = _render(nodes, order, named, bound)
    lines = [f"{bound[i]} = {own[i][0]}" for i in order if i in bound]
    lines.append(own[root][0])
    return "; ".join(lines)


def node_expression(nodes: Sequence[Node], node: Node) -> str:
    """One node's own expression over its arguments' names: `p * z`."""
    if node.op.arity == 0:
        return node.label
    return _combine(node.op, [_leaf_text(nodes[a], nodes[a].name) for a in node.args])[0]


def _collect(nodes: Sequence[Node], root: int, by_name: Callable[[int], bool] | None
             ) -> tuple[list[int], dict[int, int], set[int]]:
    """The nodes below `root` in order, how often each is used, and which of
    them print as their name."""
    uses: dict[int, int] = {root: 1}
    named: set[int] = set()
    stack = [root]
    while stack:
        index = stack.pop()
        if index != root and by_name is not None and by_name(index):
            named.add(index)
            continue
        for arg in nodes[index].args:
            if arg in uses:
                uses[arg] += 1
            else:
                uses[arg] = 1
                stack.append(arg)
    return sorted(uses), uses, named


def _estimated_length(nodes: Sequence[Node], order: list[int], named: set[int],
                      root: int) -> int:
    """The inlined text's length, roughly, without building it."""
    length: dict[int, int] = {}
    for index in order:
        node = nodes[index]
        if node.op.arity == 0 or index in named:
            length[index] = len(node.label or node.name)
        else:
            length[index] = len(node.op.name) + 4 + sum(length[a] for a in node.args)
    return length[root]


def _bind_shared(nodes: Sequence[Node], order: list[int], uses: dict[int, int],
                 named: set[int], root: int, taken: set[str]) -> dict[int, str]:
    """Names for the operations used more than once below `root`: an original
    node keeps its own name, a derivative node gets a fresh one."""
    taken |= {nodes[i].name for i in order} | {nodes[i].label for i in order}
    fresh = _fresh(taken)
    return {index: nodes[index].name or next(fresh) for index in order
            if index != root and uses[index] > 1 and nodes[index].op.arity > 0
            and index not in named}


def _fresh(taken: set[str]) -> Iterator[str]:
    counter = 0
    while True:
        counter += 1
        if f"t{counter}" not in taken:
            yield f"t{counter}"


def _render(nodes: Sequence[Node], order: list[int], named: set[int],
            bound: dict[int, str]) -> dict[int, Text]:
    """Each node's own text; arguments that are bound print as their name."""
    own: dict[int, Text] = {}
    ref: dict[int, Text] = {}
    for index in order:
        node = nodes[index]
        if node.op.arity == 0 or index in named:
            own[index] = _leaf_text(node, node.name)
        else:
            own[index] = _combine(node.op, [ref[a] for a in node.args])
        ref[index] = (bound[index], PREC_ATOM) if index in bound else own[index]
    return own


def _leaf_text(node: Node, name: str) -> Text:
    if node.op is CONST:
        return node.label, PREC_UNARY if node.label.startswith("-") else PREC_ATOM
    if node.op is INPUT:
        return node.label, PREC_ATOM
    return name, PREC_ATOM


def _combine(op: Op, parts: list[Text]) -> Text:
    """The text of `op` applied to already-printed arguments."""
    if op.fixity == "call":
        return f"{op.name}({', '.join(text for text, _ in parts)})", PREC_ATOM
    if op.fixity == "prefix":
        text, prec = parts[0]
        if prec < PREC_UNARY or text.startswith("-"):
            text = f"({text})"
        return f"{op.symbol}{text}", op.precedence
    (left, left_prec), (right, right_prec) = parts
    prec = op.precedence
    if op.right_assoc:
        wrap_left, wrap_right = left_prec <= prec, right_prec < PREC_UNARY
    else:
        wrap_left, wrap_right = left_prec < prec, right_prec <= prec
    if wrap_left:
        left = f"({left})"
    if wrap_right:
        right = f"({right})"
    symbol = f" {op.symbol} " if prec == PREC_SUM else op.symbol
    return f"{left}{symbol}{right}", prec

