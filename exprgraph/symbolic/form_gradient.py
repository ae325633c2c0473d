"""Derivatives over forms: reverse mode with the op table's rules, canonical at every step.

`FormDerivatives.derivatives` runs the one reverse-mode loop
(`passes.loops.reverse`) over the simplifier's forms: each op's local
partial is its derivative rule from the op table, interpreted by
`FormAlgebra`, and the products and sums of the chain rule are the algebra
of forms, so like terms collect as they meet. One backward sweep per root
gives the partials by every name, and every printed derivative — one name
(`diff --wrt x`) or all of them (`diff`, the gradient table's symbolic
column, a Hessian's rows) — comes from this one sweep, so a derivative
prints the same whichever command asked for it.

`FormDerivatives` is one of the simplifier's four parts (see `simplify.py`),
a mixin sharing the `Simplifier`'s state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core.ops import ADD, INPUT, NEG, SUB
from ..passes.loops import reverse
from .forms import NODES_PER_SOURCE_NODE, SYMBOLIC_NODE_BUDGET, Form, nodes_below, tidy

if TYPE_CHECKING:
    from ..core.graph import GraphBuilder, Node
    from .simplify import Simplifier


class FormDerivatives:
    """derivatives of source nodes as canonical nodes (a mixin of `Simplifier`)."""

    source: Sequence[Node]
    builder: GraphBuilder
    _budget: int
    _node_limit: int | None

    def derivatives(self, roots: Sequence[int], wrt: Sequence[str],
                    budget: int = SYMBOLIC_NODE_BUDGET, base_size: int | None = None
                    ) -> list[list[int]]:
        """∂root/∂name for each root and name, as canonical nodes (a row per root).

        Each root's sweep may build `budget` nodes plus NODES_PER_SOURCE_NODE
        per node of `base_size` (by default, the nodes the roots depend on),
        for each name asked for; beyond that, ExpressionTooLargeError (the
        work stops there, not after)."""
        size = len(nodes_below(self.source, roots)) if base_size is None else base_size
        growth = budget + NODES_PER_SOURCE_NODE * size
        self._budget = budget
        # Re-reading the roots counts too: a previous order's big result ends here.
        self._node_limit = growth
        values = self.forms(roots, keep_values=True)
        rows = []
        for root in roots:
            self._node_limit = len(self.builder.nodes) + growth * max(1, len(wrt))
            by_name = self._adjoints(values, root)
            zero = self._number(0.0)
            rows.append([self.materialize(by_name[name]) if name in by_name else zero
                         for name in wrt])
        return rows

    def _adjoints(self, values: dict[int, Form], root: int) -> dict[str, Form]:
        """∂root/∂input for every input the root depends on, by name (absent
        where it is 0)."""
        algebra = FormAlgebra(self)

        def local(index: int, position: int) -> Form:
            node = self.source[index]
            op = node.op
            if op is ADD or (op is SUB and position == 0):
                return Form(1.0)
            if op is SUB or op is NEG:
                return Form(-1.0)
            arg_values = tuple(values[a] for a in node.args)
            return op.derivatives[position](algebra, arg_values, values[index])

        def check(_: int, total: Form) -> Form:
            self._check_size()
            return total

        adjoints = reverse(self.source, root, Form(1.0), local, _ChainRule(self),
                           skip=_is_zero, check=check)
        by_name: dict[str, Form] = {}
        for index, adjoint in adjoints.items():
            node = self.source[index]
            if node.op is INPUT and not _is_zero(adjoint):
                known = by_name.get(node.label)
                by_name[node.label] = adjoint if known is None else self.add(known, adjoint)
        return by_name


class _ChainRule:
    """The loop's `mul` and `add` over forms: adjoint × local partial, and the
    sum of contributions at a fork. The sum may change the running sum in
    place (the loop owns it); a product copies, as the adjoint stays in the
    loop's table and a partial may be a value another rule reads."""

    def __init__(self, simplifier: Simplifier) -> None:
        self.s = simplifier

    def mul(self, adjoint: Form, partial: Form) -> Form:
        if not partial.terms:
            # Sums and negations pass the adjoint on without a multiplication.
            return self.s.scale(adjoint.copy(), partial.const)
        return self.s.multiply(partial.copy(), adjoint.copy())

    def add(self, total: Form, contribution: Form) -> Form:
        return self.s.add(total, contribution)


def _is_zero(form: Any) -> bool:
    return not form.terms and form.const == 0.0


class FormAlgebra:
    """The op table's symbolic derivative rules, interpreted over Forms.

    The rules are written against a node builder (`ops.Builder`); this one
    takes and returns Forms instead of node ids, and never changes its
    arguments (the simplifier's algebra may change its first argument)."""

    def __init__(self, simplifier: Simplifier) -> None:
        self.s = simplifier

    def const(self, value: float) -> Form:
        return Form(tidy(value))

    def add(self, a: Form, b: Form) -> Form:
        return self.s.add(a.copy(), b)

    def sub(self, a: Form, b: Form) -> Form:
        return self.s.add(a.copy(), self.s.scale(b.copy(), -1.0))

    def mul(self, a: Form, b: Form) -> Form:
        return self.s.multiply(a.copy(), b.copy())

    def div(self, a: Form, b: Form) -> Form:
        return self.s.multiply(a.copy(), self.s.power(b.copy(), Form(-1.0)))

    def neg(self, a: Form) -> Form:
        return self.s.scale(a.copy(), -1.0)

    def pow(self, a: Form, b: Form) -> Form:
        return self.s.power(a.copy(), b.copy())

    def apply(self, op_name: str, *args: Form) -> Form:
        return self.s.function(op_name, [a.copy() for a in args])
