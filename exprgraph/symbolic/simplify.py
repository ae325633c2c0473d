"""The simplifier: program nodes to canonical nodes, and symbolic derivatives over them.

`Simplifier` rewrites the nodes of a source node list into canonical nodes of
its own builder. It has four jobs, each in its own module, joined here as
mixins over one shared state (the builder, the form of each canonical node,
the size and time budgets); mixins rather than separate objects because
every job calls the others at every step (a rule multiplies forms, a product
materializes a sum as a factor, a derivative runs the rules):

- nodes → forms (this module): every source node below the roots gets a
  `Form` (`forms.py`), visited once, in order, with no recursion; each op is
  turned into a form by the rewrite rules (`rules.py`, data: a pattern and a
  rewrite per row, one loop applies them);
- the algebra of forms (`algebra.py`): sums, products and powers, collecting
  like terms, distributing only where valid for every real;
- printing choices (`materialize.py`): a form back to nodes, with common
  factors taken out, fractions, and a canonical order;
- derivatives (`form_gradient.py`): reverse mode over forms with the op
  table's rules.

Rules never change a value where the original is defined (they may define a
value where the original had none, as x/x → 1 does).

The budgets: a derivative may build SYMBOLIC_NODE_BUDGET nodes plus
NODES_PER_SOURCE_NODE per node of what it differentiates, and all the work
of one derivative (every order) must end within SYMBOLIC_SECONDS; beyond
either, ExpressionTooLargeError. A plain simplification over its budget keeps
the form as written (`simplify_nodes`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..core.errors import CoefficientOverflowError, ExpressionTooLargeError
from ..core.graph import GraphBuilder, Node
from ..core.ops import ADD, CONST, CONSTANTS, INPUT, NEG, OPS, POW, SUB
from .algebra import FormArithmetic
from .form_gradient import FormAlgebra, FormDerivatives
from .forms import (
    NODES_PER_SOURCE_NODE,
    SYMBOLIC_NODE_BUDGET,
    TERMS_PER_NODE,
    Form,
    nodes_below,
    tidy,
    use_counts,
)
from .materialize import FormPrinting
from .rules import apply_rules

__all__ = ["NODES_PER_SOURCE_NODE", "SYMBOLIC_NODE_BUDGET", "SYMBOLIC_SECONDS",
           "CoefficientOverflowError", "Form", "FormAlgebra", "Simplifier", "copy_nodes",
           "nodes_below", "simplify_nodes"]

# The symbolic time budget: a derivative or a simplification that runs longer
# ends (ExpressionTooLargeError for a derivative; a simplification keeps the
# form as written). The size budget ends most work far sooner; this bounds
# what it does not count. Read at each use, so it can be set here.
SYMBOLIC_SECONDS = 30.0
# Ops whose forms a derivative rule never reads (their partials are ±1).
_LINEAR = (ADD, SUB, NEG, CONST, INPUT)


class Simplifier(FormDerivatives, FormPrinting, FormArithmetic):
    """Rewrites nodes of a source node list into canonical nodes of `builder`."""

    def __init__(self, source: Sequence[Node], expand: bool = False,
                 deadline: float | None = None) -> None:
        self.source = source
        # Expanded forms are for the steps between orders of a derivative:
        # products of sums multiply out and sums print flat, so the next
        # order differentiates a sum of monomials, not nested products whose
        # product rule grows each time (tan(x) to order 16, 1/(1+x^2) to 14).
        self.expand = expand
        self.builder = GraphBuilder()
        self._materialized: dict[tuple, int] = {}
        self._form_of_node: dict[int, Form] = {}
        self._labels: dict[int, str] = {}
        # exp(a) and e^a are one form (e to the power a); it prints as the
        # program spells it: e^a for a program that writes e^..., else exp(a).
        self._exp_call = _prefers_exp_call(source)
        self._node_limit: int | None = None  # set while derivatives are built
        self._budget = SYMBOLIC_NODE_BUDGET
        # When the time budget ends (time.monotonic()); one deadline may span
        # the Simplifiers of every order of a high derivative.
        self._deadline = time.monotonic() + SYMBOLIC_SECONDS if deadline is None else deadline
        self._products = 0  # term products of expanded forms, counted as work

    def simplify(self, roots: Sequence[int]) -> list[int]:
        """Canonical nodes (in `self.builder`) for source nodes `roots`."""
        forms = self.forms(roots)
        return [self.materialize(forms[root]) for root in roots]

    def forms(self, roots: Sequence[int], keep_values: bool = False) -> dict[int, Form]:
        """The Form of every source node the roots depend on.

        A form is handed to its last user to change in place (so a chain of
        10,000 additions costs 10,000 steps, not 50 million). With
        `keep_values`, the forms a derivative rule may read stay intact: those
        of every node that is not an addition, subtraction or negation, and of
        the arguments of such nodes.
        """
        needed = nodes_below(self.source, roots)
        remaining = use_counts(self.source, needed, roots)
        if keep_values:
            for index in needed:
                node = self.source[index]
                if node.op not in _LINEAR:
                    remaining[index] += 1
                    for arg in node.args:
                        remaining[arg] += 1
        forms: dict[int, Form] = {}
        for index in needed:
            forms[index] = self._form_for(self.source[index], forms, remaining)
        return forms

    def _form_for(self, node: Node, forms: dict[int, Form], remaining: dict[int, int]) -> Form:
        def take(arg: int) -> Form:
            # The last user of a form may change it in place; others get a copy.
            remaining[arg] -= 1
            return forms[arg] if remaining[arg] == 0 else forms[arg].copy()

        op = node.op
        if op is CONST:
            if node.label in CONSTANTS:
                return self.atom(self.builder.constant(node.value or 0.0, node.label))
            return Form(tidy(node.value or 0.0))
        if op is INPUT:
            return self.atom(self.builder.intern(INPUT, label=node.label))
        return apply_rules(self, op, [take(a) for a in node.args])

    def function(self, name: str, args: list[Form]) -> Form:
        """The op table's function `name` applied to forms, by the rules."""
        return apply_rules(self, OPS[name], args)

    def _check_size(self) -> None:
        """ExpressionTooLargeError once a derivative has built more nodes than
        its budget allows."""
        limit = self._node_limit
        if time.monotonic() > self._deadline:
            raise ExpressionTooLargeError(
                f"the symbolic work takes longer than its time budget of "
                f"{SYMBOLIC_SECONDS:g} seconds",
                hint="ask for a lower order, or for the derivative's value at a point, "
                "which needs no symbolic form", budget=self._budget)
        if limit is not None and len(self.builder.nodes) + self._products // TERMS_PER_NODE \
                > limit:
            raise ExpressionTooLargeError(
                f"the derivative grows beyond the symbolic size budget of "
                f"{self._budget:,} nodes (plus {NODES_PER_SOURCE_NODE} per node "
                "of the expression differentiated)",
                hint="ask for a lower order, or for the derivative's value at a point, "
                "which needs no symbolic form", budget=self._budget)




# The last node list _prefers_exp_call read and its answer: the rows of a
# Hessian or Jacobian share one node list, and scanning it once per row made
# them quadratic.
_last_exp_call: tuple[Sequence[Node] | None, bool] = (None, True)


def _prefers_exp_call(nodes: Sequence[Node]) -> bool:
    """Whether powers of e print as exp(a): unless the nodes write e^a and
    never exp(a). Never as e^a where e is not the constant (an input e)."""
    global _last_exp_call
    seen, answer = _last_exp_call
    if seen is nodes and isinstance(nodes, tuple):  # a tuple cannot change
        return answer
    answer = _scan_for_exp_call(nodes)
    _last_exp_call = (nodes, answer)
    return answer


def _scan_for_exp_call(nodes: Sequence[Node]) -> bool:
    power_of_e = False
    for node in nodes:
        if node.op is OPS["exp"] or (node.op is INPUT and node.label == "e"):
            return True
        if node.op is POW:
            base = nodes[node.args[0]]
            power_of_e = power_of_e or (base.op is CONST and base.label == "e")
    return not power_of_e


def simplify_nodes(nodes: Sequence[Node], roots: Sequence[int]) -> tuple[GraphBuilder, list[int]]:
    """Canonical forms of `roots`: a fresh builder and the new root nodes."""
    simplifier = Simplifier(nodes)
    # Simplifying may build the size budget plus NODES_PER_SOURCE_NODE per
    # node (a 4,000-high x^x^...^x tower's derivative would otherwise collect
    # ever longer exponent sums: quadratic work and memory).
    simplifier._node_limit = SYMBOLIC_NODE_BUDGET + NODES_PER_SOURCE_NODE * len(nodes)
    try:
        return simplifier.builder, simplifier.simplify(roots)
    except (CoefficientOverflowError, ExpressionTooLargeError):
        # 1e308*x + 1e308*x would need 2e308, or the work is beyond its
        # budget: the exact form, as written, stays.
        return copy_nodes(nodes, roots)


def copy_nodes(nodes: Sequence[Node], roots: Sequence[int]) -> tuple[GraphBuilder, list[int]]:
    """The nodes the roots depend on, unchanged, in a fresh builder; the new roots."""
    builder = GraphBuilder()
    index: dict[int, int] = {}
    for i in nodes_below(nodes, roots):
        node = nodes[i]
        if node.op is CONST:
            index[i] = builder.constant(node.value or 0.0, node.label)
        elif node.op is INPUT:
            index[i] = builder.intern(INPUT, label=node.label)
        else:
            index[i] = builder.intern(node.op, tuple(index[a] for a in node.args))
    return builder, [index[root] for root in roots]
