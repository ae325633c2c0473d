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
from typing import Any

from ..core.graph import Node
from ..core.ops import CONST, INPUT, PREC_ATOM, PREC_SUM, PREC_UNARY, Op

INLINE_LIMIT = 4000  # longer inlined text is printed as a program instead
DISPLAY_SHARED = 24  # display_text names shared parts at least this long
DISPLAY_INLINE = 160  # ... and only in results longer than this (short ones read inline)

# Text is built as a rope, nested lists of fragments, and joined once at the
# end: keeping every node's finished string instead would cost memory
# quadratic in the depth of a product chain.
Rope = str | list[Any]


# Text and Style are plain classes rather than NamedTuples, for start-up: a
# NamedTuple compiles its __new__ when it is defined (a third of a ms each).
class Text:
    """A printed subexpression: its rope, outermost precedence, leading '-'."""

    __slots__ = ("minus_first", "precedence", "rope")
    rope: Rope
    precedence: int
    minus_first: bool

    def __init__(self, rope: Rope, precedence: int, minus_first: bool) -> None:
        self.rope = rope
        self.precedence = precedence
        self.minus_first = minus_first

    def __repr__(self) -> str:
        return f"<Text {flatten(self.rope)!r}>"


class Style:
    """How leaves, operations and bound names print: plain text or LaTeX."""

    __slots__ = ("binding", "combine", "leaf", "name", "separator")
    leaf: Callable[[Node, str], Text]
    combine: Callable[[Op, list[Text]], Text]
    name: Callable[[str], str]
    binding: Callable[[str, str], str]
    separator: str

    def __init__(self, leaf: Callable[[Node, str], Text],
                 combine: Callable[[Op, list[Text]], Text], name: Callable[[str], str],
                 binding: Callable[[str, str], str], separator: str) -> None:
        self.leaf = leaf
        self.combine = combine
        self.name = name
        self.binding = binding
        self.separator = separator

    def with_leaf(self, leaf: Callable[[Node, str], Text]) -> Style:
        """This style with its leaves printed by `leaf`."""
        return Style(leaf, self.combine, self.name, self.binding, self.separator)

    def __repr__(self) -> str:
        return f"<Style separated by {self.separator!r}>"


def expression_text(
    nodes: Sequence[Node],
    root: int,
    *,
    by_name: Callable[[int], bool] | None = None,
    limit: int = INLINE_LIMIT,
    taken: Iterable[str] = (),
    style: Style | None = None,
) -> str:
    """The text of node `root`, expanded down to the inputs and constants.

    `by_name(i)` says which other nodes to print as their name instead of
    expanding them. `taken` lists names a program form must not bind.
    """
    style = style or TEXT
    order, uses, named = _collect(nodes, root, by_name)
    lengths = _estimated_lengths(nodes, order, named)
    if lengths[root] <= limit:
        return flatten(_render(nodes, order, named, {}, style)[root].rope)
    shared = {i for i in order if i != root and uses[i] > 1 and nodes[i].op.arity > 0
              and i not in named}
    return _bound_text(nodes, order, named, root, shared, set(taken), style)


def display_text(nodes: Sequence[Node], root: int, *, taken: Iterable[str] = (),
                 style: Style | None = None, min_length: int = DISPLAY_SHARED) -> str:
    """Like `expression_text`, but for reading: a shared subexpression longer
    than `min_length` is named once (`t1 = sin(x)^2; t1*cos(x) + t1`)."""
    style = style or TEXT
    order, uses, named = _collect(nodes, root, None)
    lengths = _estimated_lengths(nodes, order, named)
    shared = {i for i in order if i != root and uses[i] > 1 and nodes[i].op.arity > 0
              and lengths[i] >= min_length}
    if not shared or lengths[root] > INLINE_LIMIT or lengths[root] <= DISPLAY_INLINE:
        return expression_text(nodes, root, taken=taken, style=style)
    return _bound_text(nodes, order, named, root, shared, set(taken), style)


def _bound_text(nodes: Sequence[Node], order: list[int], named: set[int], root: int,
                shared: set[int], taken: set[str], style: Style) -> str:
    """A program: each shared node bound to a name once, then the root."""
    bound = _bind(nodes, order, shared, taken)
    own = _render(nodes, order, named, bound, style)
    lines = [style.binding(style.name(bound[i]), flatten(own[i].rope))
             for i in order if i in bound]
    lines.append(flatten(own[root].rope))
    return style.separator.join(lines)


def node_expression(nodes: Sequence[Node], node: Node) -> str:
    """One node's own expression over its arguments' names: `p * z`."""
    if node.op.arity == 0:
        return node.label
    return flatten(_combine(node.op, [_arg_text(nodes[a]) for a in node.args]).rope)


def _arg_text(arg: Node) -> Text:
    """An argument as a node's expression shows it: a constant the program
    named (`a = 1`) by its name, so `b = a + 1` reads `a + 1`."""
    if arg.op is CONST and arg.name and arg.name != arg.label:
        return Text(arg.name, PREC_ATOM, False)
    return _leaf_text(arg, arg.name)


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


def _estimated_lengths(nodes: Sequence[Node], order: list[int], named: set[int]
                       ) -> dict[int, int]:
    """Each node's inlined text length, roughly, without building it."""
    length: dict[int, int] = {}
    for index in order:
        node = nodes[index]
        if node.op.arity == 0 or index in named:
            length[index] = len(node.label or node.name)
        else:
            length[index] = len(node.op.name) + 4 + sum(length[a] for a in node.args)
    return length


def _bind(nodes: Sequence[Node], order: list[int], shared: set[int], taken: set[str]
          ) -> dict[int, str]:
    """Names for the shared nodes: an original node keeps its own name, a
    derivative node gets a fresh one."""
    taken |= {nodes[i].name for i in order} | {nodes[i].label for i in order}
    fresh = _fresh(taken)
    return {index: nodes[index].name or next(fresh) for index in order if index in shared}


def _fresh(taken: set[str]) -> Iterator[str]:
    counter = 0
    while True:
        counter += 1
        if f"t{counter}" not in taken:
            yield f"t{counter}"


def _render(nodes: Sequence[Node], order: list[int], named: set[int],
            bound: dict[int, str], style: Style) -> dict[int, Text]:
    """Each node's own text; arguments that are bound print as their name."""
    own: dict[int, Text] = {}
    ref: dict[int, Text] = {}
    for index in order:
        node = nodes[index]
        if node.op.arity == 0 or index in named:
            own[index] = style.leaf(node, node.name)
        else:
            own[index] = style.combine(node.op, [ref[a] for a in node.args])
        ref[index] = (Text(style.name(bound[index]), PREC_ATOM, False) if index in bound
                      else own[index])
    return own


def _leaf_text(node: Node, name: str) -> Text:
    if node.op is CONST:
        negative = node.label.startswith("-")
        return Text(node.label, PREC_UNARY if negative else PREC_ATOM, negative)
    if node.op is INPUT:
        return Text(node.label, PREC_ATOM, False)
    return Text(name, PREC_ATOM, False)


def _combine(op: Op, parts: list[Text]) -> Text:
    """The text of `op` applied to already-printed arguments."""
    if op.name == "index":
        # x[0], W[1][0] (which reads back as W[1, 0]'s graph): postfix, like x'.
        operand, position = parts
        wrap = operand.precedence < PREC_ATOM or operand.minus_first
        return Text([_wrapped(operand.rope, wrap), "[", position.rope, "]"], PREC_ATOM, False)
    if op.fixity == "call":
        pieces: list[Rope] = [op.name, "("]
        for k, part in enumerate(parts):
            pieces += [", ", part.rope] if k else [part.rope]
        pieces.append(")")
        return Text(pieces, PREC_ATOM, False)
    if op.fixity == "prefix":
        (operand,) = parts
        wrap = operand.precedence < PREC_UNARY or operand.minus_first
        return Text([op.symbol, _wrapped(operand.rope, wrap)], op.precedence, True)
    if op.fixity == "postfix":
        # x' binds tightest, as in MATLAB: (x + y)', (-x)', but x'^2 and A@x'.
        (operand,) = parts
        wrap = operand.precedence < PREC_ATOM or operand.minus_first
        return Text([_wrapped(operand.rope, wrap), op.symbol], PREC_ATOM, False)
    left, right = parts
    prec = op.precedence
    if op.right_assoc:
        wrap_left, wrap_right = left.precedence <= prec, right.precedence < PREC_UNARY
    else:
        wrap_left, wrap_right = left.precedence < prec, right.precedence <= prec
    # Sums and matrix products are spaced: x + y, W @ x (as NumPy code is written).
    symbol = f" {op.symbol} " if prec == PREC_SUM or op.symbol == "@" else op.symbol
    return Text([_wrapped(left.rope, wrap_left), symbol, _wrapped(right.rope, wrap_right)],
                prec, left.minus_first and not wrap_left)


def _wrapped(rope: Rope, wrap: bool) -> Rope:
    return ["(", rope, ")"] if wrap else rope


def flatten(rope: Rope) -> str:
    """A rope's text, joined without recursion."""
    out: list[str] = []
    stack = [rope]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        else:
            stack.extend(reversed(item))
    return "".join(out)


TEXT = Style(leaf=_leaf_text, combine=_combine, name=lambda name: name,
             binding=lambda name, body: f"{name} = {body}", separator="; ")
