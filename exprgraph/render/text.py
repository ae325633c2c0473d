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
from typing import Any, NamedTuple

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.table import Table
from rich.text import Text as RichText

from ..graph import Node
from ..ops import CONST, INPUT, PREC_ATOM, PREC_SUM, PREC_UNARY, Op

INLINE_LIMIT = 4000  # longer inlined text is printed as a program instead
DISPLAY_SHARED = 24  # display_text names shared parts at least this long
DISPLAY_INLINE = 160  # ... and only in results longer than this (short ones read inline)

# Text is built as a rope, nested lists of fragments, and joined once at the
# end: keeping every node's finished string instead would cost memory
# quadratic in the depth of a product chain.
Rope = str | list[Any]


class Text(NamedTuple):
    """A printed subexpression: its rope, outermost precedence, leading '-'."""

    rope: Rope
    precedence: int
    minus_first: bool


class Style(NamedTuple):
    """How leaves, operations and bound names print: plain text or LaTeX."""

    leaf: Callable[[Node, str], Text]
    combine: Callable[[Op, list[Text]], Text]
    name: Callable[[str], str]
    binding: Callable[[str, str], str]
    separator: str


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
    left, right = parts
    prec = op.precedence
    if op.right_assoc:
        wrap_left, wrap_right = left.precedence <= prec, right.precedence < PREC_UNARY
    else:
        wrap_left, wrap_right = left.precedence < prec, right.precedence <= prec
    symbol = f" {op.symbol} " if prec == PREC_SUM else op.symbol
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


# Output encodings without the symbols (Latin-1, cp1252, ASCII): what to write
# instead of each. Rich already draws ASCII boxes for such an encoding; these
# cover the maths and the drawings. A character missing here (and from the
# encoding) becomes "?" (see `fallback_for`).
ASCII_FALLBACKS = {
    "∂": "d", "∇": "grad", "·": "*", "×": "x", "÷": "/", "−": "-", "–": "-", "—": "-",
    "→": "->", "←": "<-", "↑": "^", "↓": "v", "⏎": "\\n", "…": "...", "≈": "~",
    "≤": "<=", "≥": ">=", "≠": "!=", "±": "+/-", "√": "sqrt", "Σ": "sum", "Π": "prod",
    "Δ": "Delta", "ε": "eps", "θ": "theta", "μ": "mu", "µ": "mu", "‖": "||",
    "✓": "+", "✗": "-", "\u2003": " ", "\u00a0": " ",
    "⁰": "^0", "¹": "^1", "²": "^2", "³": "^3", "⁴": "^4", "⁵": "^5", "⁶": "^6",
    "⁷": "^7", "⁸": "^8", "⁹": "^9", "ⁿ": "^n", "⁻": "^-", "ᵀ": "^T",
    "▁": "_", "▂": "_", "▃": "-", "▄": "-", "▅": "=", "▆": "=", "▇": "#", "█": "#",
    "•": "*", "─": "-", "│": "|", "┼": "+", "═": "=", "║": "|",
}


def fallback_for(char: str) -> str:
    """An ASCII stand-in for `char`, for an output encoding that lacks it."""
    return ASCII_FALLBACKS.get(char, "?")


# The combining overline that marks an adjoint (`x̅`, `o̅u̅t̅`) has no ASCII
# form: an overlined name is written `x_bar`, `out_bar` instead, so an adjoint
# never reads as the node's value.
OVERLINE = "\u0305"
BAR = "_bar"


def _overline_for(text: str, at: int) -> str:
    """The stand-in of the overline at `text[at]`: nothing inside an overlined
    name, `_bar` after its last character."""
    return "" if text[at + 2:at + 3] == OVERLINE else BAR


def _stand_ins(text: str, start: int, end: int) -> str:
    return "".join(_overline_for(text, k) if text[k] == OVERLINE else fallback_for(text[k])
                   for k in range(start, end))


def _encodes(encoding: str) -> Callable[[str], bool]:
    def can(char: str) -> bool:
        try:
            char.encode(encoding)
        except (UnicodeError, LookupError):
            return False
        return True
    return can


def for_encoding(text: str, encoding: str) -> str:
    """`text` with every character `encoding` cannot write replaced by its
    ASCII stand-in (`∂out/∂x` becomes `dout/dx` in ASCII; Latin-1 keeps `²`)."""
    if text.isascii() or encoding.replace("_", "-").lower().startswith("utf"):
        return text
    can = _encodes(encoding)
    return "".join(char if char.isascii() or can(char) else _stand_ins(text, k, k + 1)
                   for k, char in enumerate(text))


def encoding_fallback(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler (`errors="exprgraph-fallback"`): the ASCII
    stand-ins of the characters a stream's encoding cannot write."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return _stand_ins(error.object, error.start, error.end), error.end


# A style that marks text a user wrote (a source line, a character an error
# quotes): for an encoding that lacks a character, it is shown escaped (\u2202),
# never as a stand-in, which would misquote it (`unexpected character 'd'`).
VERBATIM = RichStyle.from_meta({"exprgraph": "verbatim"})


def _is_verbatim(part: RichText) -> bool:
    return any(isinstance(span.style, RichStyle) and span.style.meta.get("exprgraph") == "verbatim"
               for span in part.spans)


def _escaped(text: str, encoding: str) -> str:
    can = _encodes(encoding)
    return "".join(char if char.isascii() or can(char)
                   else char.encode("ascii", "backslashreplace").decode("ascii")
                   for char in text)


def _text_for(text: RichText, encoding: str) -> RichText:
    """A copy of the Rich `text` written for `encoding`, styles kept."""
    if text.plain.isascii():
        return text
    cuts = sorted({offset for span in text.spans for offset in (span.start, span.end)})
    copy = text.blank_copy()
    for part in text.divide(cuts) if cuts else [text]:
        written = _escaped if _is_verbatim(part) else for_encoding
        piece = RichText(written(part.plain, encoding), style=part.style)
        for span in part.spans:
            piece.stylize(span.style)
        copy.append_text(piece)
    return copy


class FallbackConsole(Console):
    """A Rich console that writes what its output encoding can carry.

    On a UTF-8 stream it is Rich's console. On another (Latin-1, cp1252,
    ASCII) Rich draws ASCII boxes, and this swaps each text for its ASCII
    stand-ins before it is laid out, so columns still line up: a table's
    cells and titles when the table is rendered (before it measures them),
    every other text and string as it is rendered.
    """

    def render_str(self, text: str, *args: Any, **kwargs: Any) -> RichText:
        """Rich's `render_str`, of the text written for this encoding."""
        return super().render_str(for_encoding(text, self.encoding), *args, **kwargs)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None
               ) -> Iterable[Segment]:
        """Rich's `render`, with texts and tables written for this encoding."""
        encoding = self.encoding
        if not encoding.startswith("utf"):
            if isinstance(renderable, RichText):
                renderable = _text_for(renderable, encoding)
            elif isinstance(renderable, Table):
                _table_for(renderable, encoding)
            else:
                from .layout import Fitted

                if isinstance(renderable, Fitted):  # it measured its cells: measure again
                    _table_for(renderable.table, encoding)
                    renderable = Fitted(renderable.table)
        return super().render(renderable, options)


def _table_for(table: Table, encoding: str) -> None:
    """Rewrite `table`'s texts in place for `encoding` (its title, caption,
    headers, footers and cells; a cell that is a table is done when drawn)."""

    def one(item: Any) -> Any:
        if isinstance(item, RichText):
            return _text_for(item, encoding)
        if isinstance(item, str):
            return for_encoding(item, encoding)
        return item

    table.title, table.caption = one(table.title), one(table.caption)
    for column in table.columns:
        column.header, column.footer = one(column.header), one(column.footer)
        column._cells = [one(cell) for cell in column._cells]
