"""Nodes as LaTeX: \\frac, ^{}, \\sqrt{}, \\sin, implicit products.

The same walk as the text printer (`printing/text.py`), with a LaTeX style: each
function's form comes from the op table's `latex` template; division is a
fraction, so neither side needs parentheses; a product is written by
juxtaposition, with \\cdot where two numbers would otherwise run together.
Names print as mathematicians write them: `x1` → x_{1}, `alpha` → \\alpha,
longer names upright.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..core.graph import Node
from ..core.ops import CONST, INPUT, PREC_ATOM, PREC_POWER, PREC_PRODUCT, PREC_SUM, PREC_UNARY, Op
from .text import Rope, Style, Text, display_text, expression_text

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega",
}
_SUBSCRIPTED = re.compile(r"^([A-Za-z]+)_?(\d+)$")


def latex_name(name: str) -> str:
    """A variable name in LaTeX: x, x_{1}, \\alpha, \\mathrm{loss}."""
    match = _SUBSCRIPTED.match(name)
    if match:
        return f"{latex_name(match.group(1))}_{{{match.group(2)}}}"
    if name in GREEK:
        return "\\" + name
    if "_" in name:
        head, _, tail = name.partition("_")
        return f"{latex_name(head)}_{{\\mathrm{{{tail}}}}}"
    if len(name) == 1:
        return name
    return f"\\mathrm{{{name}}}"


def latex_number(label: str) -> str:
    """A number's text in LaTeX: 1e-05 → 1 \\cdot 10^{-5}."""
    mantissa, e, exponent = label.partition("e")
    if not e:
        return label
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa in ("1", "1.0") else f"{mantissa} \\cdot {power}"


def _leaf(node: Node, name: str) -> Text:
    if node.op is CONST:
        if node.label == "pi":
            return Text("\\pi", PREC_ATOM, False)
        if node.label == "e":
            return Text("e", PREC_ATOM, False)
        negative = node.label.startswith("-")
        return Text(latex_number(node.label), PREC_UNARY if negative else PREC_ATOM, negative)
    if node.op is INPUT:
        return Text(latex_name(node.label), PREC_ATOM, False)
    return Text(latex_name(name), PREC_ATOM, False)


def _parens(rope: Rope) -> Rope:
    return ["\\left(", rope, "\\right)"]


# The tensor functions' forms (core/tensor_ops.py has none of its own).
TENSOR_LATEX = {
    "sum": r"\sum\left({0}\right)", "mean": r"\operatorname{{mean}}\left({0}\right)",
    "dot": r"\left\langle {0}, {1} \right\rangle",
    "outer": r"\operatorname{{outer}}\left({0}, {1}\right)",
    "norm": r"\left\lVert {0} \right\rVert", "tr": r"\operatorname{{tr}}\left({0}\right)",
    "det": r"\det\left({0}\right)", "inv": r"\left({0}\right)^{{-1}}",
    "logdet": r"\log\det\left({0}\right)",
    "diag": r"\operatorname{{diag}}\left({0}\right)",
    "softmax": r"\operatorname{{softmax}}\left({0}\right)",
    "logsumexp": r"\operatorname{{logsumexp}}\left({0}\right)",
    "ones_like": r"\mathbf{{1}}_{{{0}}}",
}
# Forms that bind like a power (parenthesised as a base): e^{x}, A^{-1}.
_POWER_LIKE = frozenset({"exp", "inv"})


def _combine(op: Op, parts: list[Text]) -> Text:
    if op.name == "index":
        operand, position = parts
        wrap = operand.precedence < PREC_ATOM or operand.minus_first
        return Text([_parens(operand.rope) if wrap else operand.rope, "\\left[", position.rope,
                     "\\right]"], PREC_ATOM, False)
    if op.fixity == "postfix":
        # x^\top: a superscript, so it is parenthesised as a power's base would be.
        (operand,) = parts
        rope = operand.rope
        if isinstance(rope, list) and rope and rope[-1] == "^{-1}":
            return Text([*rope[:-1], "^{-\\top}"], PREC_POWER, False)  # X^{-⊤}
        wrap = operand.precedence <= PREC_POWER or operand.minus_first
        return Text([_parens(operand.rope) if wrap else operand.rope, "^{\\top}"],
                    PREC_POWER, False)
    if op.name == "inv" and parts[0].precedence == PREC_ATOM and not parts[0].minus_first:
        return Text([parts[0].rope, "^{-1}"], PREC_POWER, False)  # X^{-1}, no brackets
    if op.fixity == "call":
        # Fill the template's holes with markers no LaTeX contains ({2} in
        # \log_{2} is not a hole), then put the argument ropes in their place.
        text = (op.latex or TENSOR_LATEX[op.name]).format(*(f"\0{k}\0" for k in range(len(parts))))
        pieces: list[Rope] = []
        for k, chunk in enumerate(text.split("\0")):
            pieces.append(parts[int(chunk)].rope if k % 2 else chunk)
        # e^{x} binds like a power: parenthesise it as a base.
        return Text(pieces, PREC_POWER if op.name in _POWER_LIKE else PREC_ATOM, False)
    if op.fixity == "prefix":
        (operand,) = parts
        wrap = operand.precedence < PREC_UNARY or operand.minus_first
        return Text(["-", _parens(operand.rope) if wrap else operand.rope], PREC_UNARY, True)
    left, right = parts
    if op.name == "div":
        return Text(["\\frac{", left.rope, "}{", right.rope, "}"], PREC_POWER, False)
    if op.name == "pow":
        base = _parens(left.rope) if left.precedence <= PREC_POWER else left.rope
        return Text([base, "^{", right.rope, "}"], PREC_POWER, left.minus_first)
    prec = op.precedence
    left_rope = _parens(left.rope) if left.precedence < prec else left.rope
    right_rope = _parens(right.rope) if right.precedence <= prec else right.rope
    if op.name in ("mul", "matmul"):
        starts_with_digit = _first_fragment(right_rope)[:1].isdigit() or right.minus_first
        symbol = " \\cdot " if starts_with_digit else " "
    else:
        symbol = f" {op.symbol} "
    minus_first = left.minus_first and left.precedence >= prec
    if op.name == "hadamard":
        # Looser than a matrix product beside it: (a ⊙ b) c, never a ⊙ b c.
        return Text([left_rope, symbol, right_rope], PREC_PRODUCT - 0.5, minus_first)
    return Text([left_rope, symbol, right_rope], PREC_SUM if prec == PREC_SUM else PREC_PRODUCT,
                minus_first)


def _first_fragment(rope: Rope) -> str:
    """The first string of a rope, without joining it."""
    while not isinstance(rope, str):
        rope = rope[0] if rope else ""
    return rope


LATEX = Style(leaf=_leaf, combine=_combine, name=latex_name,
              binding=lambda name, body: f"{name} = {body}", separator=", \\quad ")


def latex_text(nodes: Sequence[Node], root: int, *, taken: Iterable[str] = (),
               display: bool = False) -> str:
    """Node `root` as LaTeX (with shared parts named once when `display`)."""
    if display:
        return display_text(nodes, root, taken=taken, style=LATEX)
    return expression_text(nodes, root, taken=taken, style=LATEX)


# The elementwise (Hadamard) product of two vectors or matrices, for LaTeX only:
# a product of two tensors written by juxtaposition would read as a matrix product.
HADAMARD = Op("hadamard", 2, lambda a, b: a * b, (), fixity="infix", symbol="\\odot",
              precedence=PREC_PRODUCT)


FROBENIUS = Op("norm", 1, lambda a: a, (), latex=r"\left\lVert {0} \right\rVert_F")


def matrix_latex(nodes: Sequence[Node], root: int, node_shapes: Sequence[object], *,
                 taken: Iterable[str] = ()) -> str:
    """A matrix expression as LaTeX: vectors and matrices in bold
    (\\mathbf{A}^\\top), and an elementwise product of two of them as
    \\odot. `node_shapes[i]` is node i's shape (it has `is_scalar`)."""
    from dataclasses import replace

    copied = []
    tensors: set[str] = set()
    for index, node in enumerate(nodes):
        if node.op is INPUT and not node_shapes[index].is_scalar:  # type: ignore[attr-defined]
            tensors.add(node.label)
        if node.op.name == "mul" and all(not node_shapes[a].is_scalar  # type: ignore[attr-defined]
                                         for a in node.args):
            node = replace(node, op=HADAMARD)
        if node.op.name == "norm" and node_shapes[node.args[0]].rank == 2:  # type: ignore[attr-defined]
            node = replace(node, op=FROBENIUS)  # ‖A‖_F: not the spectral norm
        copied.append(node)

    def leaf(node: Node, name: str) -> Text:
        found = _leaf(node, name)
        if node.op is INPUT and node.label in tensors:
            # Bold the letter, not its subscript: \mathbf{W}_{2}.
            base, underscore, rest = latex_name(node.label).partition("_")
            return Text(f"\\mathbf{{{base}}}{underscore}{rest}", PREC_ATOM, False)
        return found

    style = LATEX.with_leaf(leaf)
    return expression_text(copied, root, taken=taken, style=style)
