"""Derivatives as expressions: any order, gradients, Hessians, Jacobians.

An `Expression` is a root node in a node list. Differentiating one runs
forward mode over the canonical simplifier's forms (`simplify.py`), with the
op table's derivative rules: the product rule gives sums of products, the
algebra collects them, so each order starts from a small, collected
expression (the 10th derivative of sin(x)*exp(x) is 32*cos(x)*exp(x)).

Entries of one result share one node list, so shared subexpressions are
built once.
"""

from __future__ import annotations

import functools
import math
import numbers
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.errors import MathError, ValueInputError
from ..core.graph import Graph, GraphBuilder, Node
from ..core.ops import ADD, CONST, INPUT, SUB
from ..core.records import Record
from ..passes.evaluate import evaluate_nodes
from ..printing.text import expression_text
from . import simplify
from .simplify import (
    SYMBOLIC_NODE_BUDGET,
    CoefficientOverflowError,
    Simplifier,
    nodes_below,
    simplify_nodes,
)

__all__ = ["MAX_ORDER", "SYMBOLIC_NODE_BUDGET", "Expression", "check_order", "derivative",
           "gradient", "hessian"]

# The highest order of a derivative: beyond it results are astronomically large
# or all zero, and the order itself costs memory before any work starts.
from ..core.limits import MAX_ORDER


def check_order(order: int) -> int:
    """`order` if it is a whole number from 1 to MAX_ORDER, else ValueInputError."""
    if isinstance(order, bool) or not isinstance(order, numbers.Integral):
        raise ValueInputError(f"the order of a derivative must be a whole number, "
                              f"not {type(order).__name__}")
    order = int(order)  # NumPy's int64 too, as values accept NumPy scalars
    if not 1 <= order <= MAX_ORDER:
        shown = str(order) if len(str(order)) <= 20 else "a number that large"
        raise ValueInputError(f"the order of a derivative is from 1 to {MAX_ORDER}, not {shown}",
                              hint="higher orders are astronomically large (or all zero)")
    return order


# A plain class rather than a frozen dataclass, for start-up: see core/records.py.
class Expression(Record):
    """Node `root` of the node list `nodes`. Immutable, and equal to an
    expression of the same nodes, root and shapes."""

    # No __slots__: the cached property below keeps its value in __dict__.
    _fields = ("nodes", "root", "shapes")
    nodes: tuple[Node, ...]
    root: int
    # Each node's shape, for a matrix expression (symbolic/matrix.py); None
    # for an expression of numbers.
    shapes: tuple[Any, ...] | None

    def __init__(self, nodes: tuple[Node, ...], root: int,
                 shapes: tuple[Any, ...] | None = None) -> None:
        # Immutable: the fields go straight into __dict__, past Record.__setattr__.
        vars(self).update(nodes=nodes, root=root, shapes=shapes)

    @property
    def is_zero(self) -> bool:
        """Whether the expression is the constant 0."""
        node = self.nodes[self.root]
        return node.op is CONST and node.value == 0.0

    @functools.cached_property
    def _below_root(self) -> tuple[list[Node], int]:
        """The nodes the root needs, numbered from 0, and the root's number:
        worked out once, as `check` evaluates an expression at many points."""
        needed = nodes_below(self.nodes, [self.root])
        local = {index: position for position, index in enumerate(needed)}
        return [_renumbered(self.nodes[i], local) for i in needed], local[self.root]

    def value(self, point: Mapping[str, float]) -> float:
        """The expression's value at `point`; MathError where it is undefined,
        or where float rounding may have taken more than MAX_LOST_DIGITS of its
        digits (the terms of a high derivative cancel: the 30th derivative
        of sigmoid(x) at 2 sums terms near 1e33 to about 1e15)."""
        subset, root = self._below_root
        values = evaluate_nodes(subset, point)
        value = values[root]
        bound = rounding_error_bound(subset, values)
        if bound > max(RELIABLE_RELATIVE_ERROR * abs(value), RELIABLE_ABSOLUTE_ERROR):
            digits = 0 if value == 0.0 or bound >= abs(value) \
                else int(-math.log10(bound / abs(value)))
            raise MathError(
                "its value here cannot be computed reliably with floats: its terms cancel, "
                f"so {'none' if digits <= 0 else f'only about {digits}'} of its 16 digits "
                "can be trusted",
                hint="the expression itself is exact: evaluate it with more precision "
                "(for example in SymPy), or at another point")
        return value

    # --- display: the text (`2*x`), not a dump of the nodes; LaTeX for Jupyter ---

    def __str__(self) -> str:
        """The expression as exprgraph text: `2*x`."""
        return expression_text(self.nodes, self.root, taken=self._input_names())

    def __repr__(self) -> str:
        text = str(self)
        if len(text) > REPR_LENGTH:
            text = f"{text[:REPR_LENGTH - 1]}… ({len(text):,} characters; str() has all)"
        return f"<Expression {text}>"

    def _repr_latex_(self) -> str | None:
        """`$...$` for Jupyter (MathJax): as `exprgraph diff --latex` prints it,
        vectors and matrices in bold; None beyond LATEX_LENGTH characters (the
        front end then shows the short repr)."""
        from ..printing.latex import latex_text, matrix_latex

        taken = self._input_names()
        latex = latex_text(self.nodes, self.root, taken=taken) if self.shapes is None else \
            matrix_latex(self.nodes, self.root, self.shapes, taken=taken)
        return f"${latex}$" if len(latex) <= LATEX_LENGTH else None

    def _input_names(self) -> set[str]:
        """The inputs' names, which names bound in a long expression's text avoid."""
        return {node.label for node in self.nodes if node.op is INPUT}


REPR_LENGTH = 120  # characters of an expression a repr shows
LATEX_LENGTH = 20_000  # longer LaTeX is not handed to a front end's MathJax


# Values whose rounding-error bound is beyond this fraction of themselves are
# refused: at least about 6 of the 16 significant digits must be sure. Near a
# zero of the expression (log(cos(0)) = 0) an error below the absolute
# floor is fine: the value is right to that many decimal places.
RELIABLE_RELATIVE_ERROR = 1e-6
RELIABLE_ABSOLUTE_ERROR = 1e-9
_EPSILON = sys.float_info.epsilon


def rounding_error_bound(nodes: Sequence[Node], values: Sequence[float]) -> float:
    """A first-order bound on the float rounding error of the last node:
    running error analysis over the node list. Each operation adds half an
    ulp of its result, and passes on its arguments' errors times the size
    of its partials. Inputs and constants are exact: the question is how far
    float arithmetic strays from the expression as written (a coefficient
    near 1e33 is exact as the float it is)."""
    errors: list[float] = []
    for node, value in zip(nodes, values, strict=True):
        op = node.op
        if op is INPUT or op is CONST:
            errors.append(0.0)
            continue
        args = [values[a] for a in node.args]
        error = _own_rounding(op, args, value)
        for position, arg in enumerate(node.args):
            if errors[arg] == 0.0:
                continue
            try:
                partial = abs(op.partials[position](args, value))
            except (ValueError, ZeroDivisionError, OverflowError):
                continue  # no slope here (asin at 1): a first-order bound has nothing to say
            if math.isfinite(partial):
                error += partial * errors[arg]
        errors.append(error)
    return errors[-1] if errors else 0.0


def _own_rounding(op: object, args: Sequence[float], value: float) -> float:
    """The rounding error of one operation: exact for a sum or difference
    (Knuth's TwoSum: x + 1 at x = 0 is exactly 1), else half an ulp."""
    if op is ADD or op is SUB:
        a, b = args[0], (args[1] if op is ADD else -args[1])
        back = value - a
        return abs((a - (value - back)) + (b - back))
    return _EPSILON * abs(value)


def _renumbered(node: Node, position: dict[int, int]) -> Node:
    if not node.args:
        return node
    return Node(node.op, tuple(position[a] for a in node.args), node.value, node.label,
                node.name, line=node.line, column=node.column, varying=node.varying)


def compose(builder: GraphBuilder, names: Mapping[str, int], graph: Graph) -> int:
    """Append `graph`'s nodes to `builder`, its inputs bound to the nodes that
    `names` gives (so an answer may say `c + d` for nodes of a program);
    the index of its output. A name `names` lacks is a ValueInputError."""
    index: list[int | None] = []  # None: a name the program lacks, unless indexed (h[4])

    def unknown(label: str) -> ValueInputError:
        return ValueInputError(f"{label} is not a name of the program",
                               hint="known names: " + ", ".join(names))

    for node in graph.nodes:
        if node.op is INPUT:
            index.append(names.get(node.label))
        elif node.op is CONST:
            index.append(builder.constant(node.value or 0.0, node.label))
        else:
            element = _element_name(graph, node)
            if element is not None and element in names:
                index.append(names[element])  # h[4]: an element of a program's sequence
                continue
            args = []
            for a in node.args:
                found = index[a]
                if found is None:
                    raise unknown(graph.nodes[a].label)
                args.append(found)
            index.append(builder.intern(node.op, tuple(args)))
    result = index[graph.output]
    if result is None:
        raise unknown(graph.nodes[graph.output].label)
    return result


def _element_name(graph: Graph, node: Node) -> str | None:
    """`h[4]` for the node h[4] of an answer, where h is a bare name: the name
    of an element of an indexed sequence, which a program may assign."""
    if node.op.name != "index":
        return None
    base, position = (graph.nodes[a] for a in node.args)
    if base.op is not INPUT or position.op is not CONST:
        return None
    return f"{base.label}[{int(position.value or 0)}]"


def is_zero(nodes: Sequence[Node], root: int) -> bool:
    """Whether node `root` simplifies to the constant 0."""
    builder, (simplified,) = simplify_nodes(nodes, [root])
    node = builder.nodes[simplified]
    return node.op is CONST and node.value == 0.0


def simplified(nodes: Sequence[Node], root: int) -> Expression:
    """Node `root` of a node list, simplified over the inputs."""
    builder, (new_root,) = simplify_nodes(nodes, [root])
    return Expression(tuple(builder.nodes), new_root)


def in_names(nodes: Sequence[Node], named: Mapping[int, str]) -> tuple[Node, ...]:
    """`nodes` with each node of `named` (index → name) an atom of that name:
    simplified over them, a derivative reads in the program's own names
    (`2*(s - t)` where the program names `s = sigmoid(z)`, and ∂e/∂c is `d`
    where `e = c*d`), not expanded down to the inputs."""
    atoms = list(nodes)
    for index, name in named.items():
        atoms[index] = Node(INPUT, (), label=name, name=name, varying=True)
    return tuple(atoms)


def expression_of(graph: Graph, output: int | None = None) -> Expression:
    """The output (or node `output`) of a parsed program, simplified."""
    root = graph.output if output is None else output
    builder, (new_root,) = simplify_nodes(graph.nodes, [root])
    return Expression(tuple(builder.nodes), new_root)


def gradient(expr: Expression, wrt: Sequence[str],
             budget: int = SYMBOLIC_NODE_BUDGET) -> list[Expression]:
    """∂expr/∂name for each name, simplified, sharing one node list (several
    names by one reverse-mode sweep, see `Simplifier.derivatives`).

    MathError where a coefficient is beyond the largest float;
    ExpressionTooLargeError where a derivative would build more than `budget`
    nodes plus 10 per node of `expr` (the symbolic size budget)."""
    try:
        return _gradient(expr, wrt, budget, None)
    except CoefficientOverflowError as error:
        raise MathError("a coefficient of the derivative is beyond the largest number "
                        "(about 1.8e308)", hint="scale the program's constants down"
                        ) from error


def _gradient(expr: Expression, wrt: Sequence[str], budget: int,
              base_size: int | None, expand: bool = False,
              deadline: float | None = None) -> list[Expression]:
    simplifier = Simplifier(expr.nodes, expand=expand, deadline=deadline)
    (row,) = simplifier.derivatives([expr.root], wrt, budget, base_size)
    shared = tuple(simplifier.builder.nodes)
    return [Expression(shared, root) for root in row]


def graph_gradient(graph: Graph, wrt: Sequence[str]) -> list[Expression]:
    """∂output/∂name of a parsed program, for each name."""
    return gradient(Expression(graph.nodes, graph.output), wrt)


def derivative(expr: Expression, wrt: Sequence[str],
               budget: int = SYMBOLIC_NODE_BUDGET) -> Expression:
    """The successive partial ∂/∂wrt[-1] ... ∂/∂wrt[0] of expr, at most
    MAX_ORDER steps. Every step may build `budget` nodes plus 10 per node of
    the original expr, so the budget does not compound from order to order."""
    if len(wrt) > MAX_ORDER:
        check_order(len(wrt))
    original = len(nodes_below(expr.nodes, [expr.root]))
    # From the third order on, the forms stay expanded between orders (a flat
    # sum of monomials), so each order's product rule starts from monomials:
    # the n-th derivative of tan(x) is a polynomial in tan(x), that of
    # 1/(1+x^2) a sum of fractions. A second derivative takes the Hessian's
    # path, so it prints as the Hessian's entry does.
    expand = len(wrt) > 2
    deadline = time.monotonic() + simplify.SYMBOLIC_SECONDS  # for all orders together
    for step, name in enumerate(wrt, start=1):
        if expr.is_zero:
            break
        try:
            (expr,) = _gradient(expr, [name], budget, original, expand=expand,
                                 deadline=deadline)
        except CoefficientOverflowError as error:
            raise MathError(f"a coefficient of the derivative of order {step} is beyond the "
                            "largest number (about 1.8e308)",
                            hint=f"ask for an order below {step}" if step > 1
                            else "scale the program's constants down") from error
    # The answer prints with common factors taken out, as any other.
    return simplified(expr.nodes, expr.root) if expand else expr


def hessian(expr: Expression, names: Sequence[str]) -> list[list[Expression]]:
    """The matrix of second partials ∂²expr/∂names[i]∂names[j].

    A first partial that depends on no input (x1 + ... + xn has 1 for each)
    has a row of zeros without differentiating it: the rows of a sparse
    Hessian cost nothing beyond the row itself."""
    zero: Expression | None = None
    rows: list[list[Expression]] = []
    for first in gradient(expr, names):
        if first.nodes[first.root].varying:
            rows.append(gradient(first, names))
            continue
        if zero is None:
            builder = GraphBuilder()
            root = builder.constant(0.0)
            zero = Expression(tuple(builder.nodes), root)
        rows.append([zero] * len(names))
    # ∂²/∂j∂i is ∂²/∂i∂j wherever both exist: below the diagonal, the entry
    # above it, so the matrix prints symmetric (differentiating in the other
    # order gives the same function, often written another way).
    for i in range(len(names)):
        for j in range(i):
            rows[i][j] = rows[j][i]
    return rows


def values_at(entries: Sequence[Expression], point: Mapping[str, float]
              ) -> list[float | MathError]:
    """Each expression's value at `point`, or the MathError it raised."""
    out: list[float | MathError] = []
    for entry in entries:
        try:
            out.append(entry.value(point))
        except MathError as error:
            out.append(error)
    return out
