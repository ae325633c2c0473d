"""Canonical simplification: flatten sums and products, collect like terms.

Every node below the roots gets a `Form`: a sum `const + Σ coeff·monomial`,
where a monomial is a product of `base^exponent` factors. Forms make the
algebra simple: adding forms adds coefficients of equal monomials (x + x →
2*x, 3*x - x → 2*x), multiplying monomials adds exponents of equal bases
(x*x → x^2, x^2*x → x^3, x^a*x^b → x^(a+b)). Nodes are visited once, in
order, with no recursion; a form only becomes graph nodes again
("materialized") where something needs it whole: a function's argument, a
power's base or exponent, a root.

Rules never change a value where the original is defined (they may define a
value where the original had none, as x/x → 1 does):

- a number is distributed over a sum, so that like terms meet
  (2*(x + y) - 2*x → 2*y); a sum times a sum stays whole ((x + 1)*(x - 1)),
  and so does a fraction ((x + 1)/(x - 1)); a sum and its negation under
  integer powers merge ((x - y)/(y - x) → -1);
- an integer power distributes over a product: (x*y)^2 → x^2*y^2,
  (x^a)^n → x^(a*n);
- a non-integer power only over a single factor whose exponent is not an
  even integer: (x^3)^(1/3) → x, but sqrt(x^2) stays sqrt(x^2) (it is |x|);
- sqrt(x) is x^0.5 and prints back as sqrt(x); exp(a) is e^a (the constant
  e as a base), so e^x*exp(-x) → 1 and exp(x)^2 → exp(2*x), printed as the
  program writes it; log(e^a) → a (log(e) → 1, log(exp(x)) → x) for every
  real a, but exp(log(x)) stays: it is undefined for x <= 0, and x is not;
- abs, relu, sign and step of an argument whose sign is known where it is
  defined drop (abs(x^2 + 1) → x^2 + 1), and sign and step of a constant
  fold (sign(tanh(3)) → 1).

A sum prints with the factor common to its terms taken out:
x^4 + x^3*log(y) - 2*x^3 → x^3*(x + log(y) - 2), 2*x + 2*y → 2*(x + y),
sign(x)/2 + 1/2 → (sign(x) + 1)/2. Numbers and numeric exponents print as
fractions with a small denominator where the decimal would not end soon
(x^(2/3), not x^0.666666666666667).

Printing order is canonical: terms by degree, highest first, then by the
names in them, the constant last, except that a positive term leads where
there is one (b - a, not -a + b; 1 - x^2, not -x^2 + 1); factors by name; negative exponents go
below a fraction bar (x/y, not x*y^-1).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core.errors import ExpressionTooLargeError, MathError
from ..core.graph import GraphBuilder, Node
from ..core.numbers import format_number, reads_exactly
from ..core.ops import ADD, CONST, CONSTANTS, DIV, INPUT, MUL, NEG, OPS, POW, SUB

Monomial = tuple[tuple[int, int], ...]  # sorted (base node, exponent node) pairs
# The symbolic size budget: a derivative may build this many nodes, plus
# NODES_PER_SOURCE_NODE per node of what it differentiates (so big programs
# keep their first derivatives), before ExpressionTooLargeError ends the work.
SYMBOLIC_NODE_BUDGET = 20_000
NODES_PER_SOURCE_NODE = 10
# The symbolic time budget: a derivative or a simplification that runs longer
# ends (ExpressionTooLargeError for a derivative; a simplification keeps the
# form as written). The size budget ends most work far sooner; this bounds
# what it does not count.
SYMBOLIC_SECONDS = 30.0
# Expanded forms multiply two sums out only up to this many products of terms,
# and every TERMS_PER_NODE products count as one node against the size budget.
MAX_EXPANDED_TERMS = 4_000
TERMS_PER_NODE = 1
MAX_FACTORS = 16  # a longer product is kept as one factor (see _monomial_form)
# Not 5 or 10: 0.3*x reads better than 3*x/10, as any decimal that ends soon.
_SIMPLE_DENOMINATORS = (2, 3, 4, 6, 7, 8, 9, 11, 12, 16)


@dataclass(slots=True)
class Form:
    """const + Σ coefficient·monomial; an empty monomial never appears."""

    const: float = 0.0
    terms: dict[Monomial, float] = field(default_factory=dict)

    def copy(self) -> Form:
        """A copy whose terms can change without changing this form."""
        return Form(self.const, dict(self.terms))

    def single_term(self) -> tuple[float, Monomial] | None:
        """(coefficient, monomial) when the form is exactly one term."""
        if self.const == 0.0 and len(self.terms) == 1:
            ((monomial, coeff),) = self.terms.items()
            return coeff, monomial
        return None


class CoefficientOverflowError(MathError):
    """A coefficient the algebra computes is beyond the largest float (≈ 1.8e308).

    `simplify_nodes` answers it by keeping the exact, unsimplified form; a
    derivative whose coefficient overflows reports it as a math error."""


def tidy(value: float) -> float:
    """Round off float noise from coefficient arithmetic: 0.1*3 → 0.3.

    A coefficient that is not finite raises CoefficientOverflowError: a float
    that overflowed must never reach a form."""
    if value == 0.0:
        return 0.0
    if not math.isfinite(value):
        raise CoefficientOverflowError(
            "a coefficient of the result is beyond the largest number (about 1.8e308)",
            hint="scale the program's constants down")
    short = float(f"{value:.15g}")
    return short if math.isclose(short, value, rel_tol=4e-16, abs_tol=0.0) else value


def is_integer(value: float) -> bool:
    """Whether a float is a whole number."""
    return math.isfinite(value) and value == int(value)


class Simplifier:
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

    # --- public ----------------------------------------------------------------

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
        remaining = _use_counts(self.source, needed, roots)
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

    def derivatives(self, roots: Sequence[int], wrt: Sequence[str],
                    budget: int = SYMBOLIC_NODE_BUDGET, base_size: int | None = None
                    ) -> list[list[int]]:
        """∂root/∂name for each root and name, as canonical nodes, by forward
        mode over forms for one name: the product rule makes sums of products,
        as a textbook (and SymPy) would, and the algebra collects them. For
        several names, by reverse mode over the same forms and rules: one
        backward sweep per root gives all its partials (a gradient of n names
        costs one pass, not n).

        Each name's derivatives may build `budget` nodes plus
        NODES_PER_SOURCE_NODE per node of `base_size` (by default, the
        nodes the roots depend on); beyond that, ExpressionTooLargeError (the
        work stops there, not after). A backward sweep may build that much for
        each of its names, as the forward passes together would."""
        size = len(nodes_below(self.source, roots)) if base_size is None else base_size
        growth = budget + NODES_PER_SOURCE_NODE * size
        self._budget = budget
        # Re-reading the roots counts too: a previous order's big result ends here.
        self._node_limit = growth
        values = self.forms(roots, keep_values=True)
        needed = sorted(values)
        if len(wrt) > 1:
            # Several names: one backward sweep per root gives every partial
            # (reverse mode), O(nodes + names) rather than O(nodes × names).
            # The budget is what forward mode would allow for all the names.
            return [self._reverse_row(values, root, wrt, growth) for root in roots]
        result: list[list[int]] = [[] for _ in roots]
        for name in wrt:
            self._node_limit = len(self.builder.nodes) + growth
            tangents = self._tangents(needed, values, roots, name)
            for k, root in enumerate(roots):
                tangent = tangents.get(root)
                result[k].append(self.materialize(tangent) if tangent is not None
                                 else self._number(0.0))
        return result

    def _reverse_row(self, values: dict[int, Form], root: int, wrt: Sequence[str],
                     growth: int) -> list[int]:
        """∂root/∂name for each name, as canonical nodes, from one backward sweep."""
        self._node_limit = len(self.builder.nodes) + growth * len(wrt)
        by_name = self._adjoints(values, root)
        zero = self._number(0.0)
        return [self.materialize(by_name[name]) if name in by_name else zero for name in wrt]

    def _adjoints(self, values: dict[int, Form], root: int) -> dict[str, Form]:
        """∂root/∂input for every input root depends on (absent where it is 0):
        reverse mode over forms. Each node's adjoint is final once the sweep
        (from the root down the flat node list) reaches it, as every user of
        a node comes after it; it then passes adjoint × local partial to each
        argument, and the contributions are summed with the same algebra."""
        below = nodes_below(self.source, [root])
        adjoints: dict[int, Form] = {root: Form(1.0)}
        by_name: dict[str, Form] = {}
        algebra = FormAlgebra(self)
        for index in reversed(below):
            adjoint = adjoints.pop(index, None)
            if adjoint is None:
                continue
            self._check_size()
            node = self.source[index]
            op = node.op
            if op is INPUT:
                known = by_name.get(node.label)
                by_name[node.label] = adjoint if known is None else self.add(known, adjoint)
                continue
            last = len(node.args) - 1
            for position, arg in enumerate(node.args):
                # The last argument may take the adjoint itself; others a copy.
                own = adjoint if position == last else adjoint.copy()
                contribution = self._through_edge(algebra, node, position, values, index, own)
                if not contribution.terms and contribution.const == 0.0:
                    continue
                known = adjoints.get(arg)
                adjoints[arg] = contribution if known is None else self.add(known, contribution)
        return {name: form for name, form in by_name.items()
                if form.terms or form.const != 0.0}

    def _tangents(self, needed: list[int], values: dict[int, Form], roots: Sequence[int],
                  wrt: str) -> dict[int, Form | None]:
        """The derivative of every needed node with respect to input `wrt`
        (None where it is 0), each node's from its arguments' (chain rule)."""
        remaining = _use_counts(self.source, needed, roots)
        tangents: dict[int, Form | None] = {}
        algebra = FormAlgebra(self)

        def take(arg: int) -> Form | None:
            remaining[arg] -= 1
            tangent = tangents[arg]
            if tangent is None or remaining[arg] == 0:
                return tangent
            return tangent.copy()

        for index in needed:
            self._check_size()
            node = self.source[index]
            op = node.op
            if op is INPUT:
                tangents[index] = Form(1.0) if node.label == wrt else None
                continue
            total: Form | None = None
            for position, arg in enumerate(node.args):
                tangent = take(arg)
                if tangent is None:
                    continue
                contribution = self._through_edge(algebra, node, position, values, index,
                                                  tangent)
                total = contribution if total is None else self.add(total, contribution)
            tangents[index] = total
        return tangents

    def _through_edge(self, algebra: FormAlgebra, node: Node, position: int,
                      values: dict[int, Form], index: int, carried: Form) -> Form:
        """`carried` (an adjoint or a tangent, which may be changed) times the
        partial of `node` by its argument `position`: the chain rule's step
        along one edge, shared by forward and reverse mode. Sums and
        negations pass it on without a multiplication."""
        op = node.op
        if op is ADD or (op is SUB and position == 0):
            return carried
        if op in _LINEAR:
            return self.scale(carried, -1.0)
        arg_values = tuple(values[a] for a in node.args)
        local = op.derivatives[position](algebra, arg_values, values[index])
        return self.multiply(local.copy(), carried)

    # --- building forms from source nodes ---------------------------------------

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
        args = [take(a) for a in node.args]
        if op is ADD:
            return self.add(args[0], args[1])
        if op is SUB:
            return self.add(args[0], self.scale(args[1], -1.0))
        if op is NEG:
            return self.scale(args[0], -1.0)
        if op is MUL:
            return self.multiply(args[0], args[1])
        if op is DIV:
            return self.multiply(args[0], self.power(args[1], Form(-1.0)))
        if op is POW:
            return self.power(args[0], args[1])
        return self.function(op.name, args)

    # --- the algebra -------------------------------------------------------------

    def atom(self, node: int) -> Form:
        """The form of a node taken as a whole."""
        known = self._form_of_node.get(node)
        if known is not None:
            return known.copy()
        return Form(0.0, {((node, self._number(1.0)),): 1.0})

    def add(self, a: Form, b: Form) -> Form:
        """a + b (may reuse a)."""
        a.const = tidy(a.const + b.const)
        terms = a.terms
        for monomial, coeff in b.terms.items():
            total = tidy(terms.get(monomial, 0.0) + coeff)
            if total == 0.0:
                terms.pop(monomial, None)
            else:
                terms[monomial] = total
        return a

    def scale(self, a: Form, factor: float) -> Form:
        """factor·a (may reuse a)."""
        if factor == 0.0:
            return Form()
        a.const = tidy(a.const * factor)
        refold = []
        for monomial in a.terms:
            a.terms[monomial] = tidy(a.terms[monomial] * factor)
            if any(self._value(base) is not None for base, _ in monomial):
                refold.append(monomial)
        for monomial in refold:
            # A new coefficient may now fold with a number in the term: 3·9^-1 → 1/3.
            a = self.add(a, self._monomial_form(a.terms.pop(monomial), list(monomial)))
        return a

    def multiply(self, a: Form, b: Form) -> Form:
        """a·b: numbers scale, a single term distributes over a sum (so that
        like terms can meet), and a sum times a sum stays whole."""
        if not a.terms:
            return self.scale(b, a.const)
        if not b.terms:
            return self.scale(a, b.const)
        if self.expand and (len(a.terms) + 1) * (len(b.terms) + 1) <= MAX_EXPANDED_TERMS:
            return self._expanded_product(a, b)
        if a.single_term() is None and b.single_term() is not None:
            a, b = b, a
        single = a.single_term()
        if single is not None and b.single_term() is None and not single[1]:
            coeff, monomial = single
            result = Form()
            if b.const:
                result = self.add(result, Form(0.0, {monomial: tidy(coeff * b.const)}))
            for other, other_coeff in b.terms.items():
                product = self._monomial_form(tidy(coeff * other_coeff), [*monomial, *other])
                result = self.add(result, product)
            return result
        coeff_a, factors_a = self._as_product(a)
        coeff_b, factors_b = self._as_product(b)
        return self._monomial_form(tidy(coeff_a * coeff_b), factors_a + factors_b)

    def _expanded_product(self, a: Form, b: Form) -> Form:
        """a·b multiplied out, term by term (both have terms)."""
        result = Form()
        left = [*a.terms.items(), *([((), a.const)] if a.const else [])]
        right = [*b.terms.items(), *([((), b.const)] if b.const else [])]
        for monomial_a, coeff_a in left:
            for monomial_b, coeff_b in right:
                product = self._monomial_form(tidy(coeff_a * coeff_b), [*monomial_a, *monomial_b])
                result = self.add(result, product)
        self._products += len(left) * len(right)
        self._check_size()
        return result

    def power(self, base: Form, exponent: Form) -> Form:
        """base^exponent, distributed only where that is valid for all reals."""
        if exponent.terms:
            return self._symbolic_power(base, exponent)
        n = exponent.const
        if n == 0.0:
            return Form(1.0)
        if n == 1.0:
            if self.expand and base.single_term() is None and base.terms:
                # d(u^2) = 2*u*du keeps u a factor, so it cancels against u^-k
                # of a quotient rule rather than expanding into its terms.
                return Form(0.0, {((self.materialize(base), self._number(1.0)),): 1.0})
            return base
        if not base.terms:
            return self._number_power(base.const, n)
        single = base.single_term()
        if single is not None:
            coeff, monomial = single
            if is_integer(n):
                return self._monomial_form(1.0, self._power_factors(coeff, monomial, n))
            if coeff > 0 and (all(self._positive(b) for b, _ in monomial) or (
                    len(monomial) == 1 and self._odd_or_fractional(monomial[0][1]))):
                # (e^a)^n = e^(a*n) for every real n, as e^a > 0.
                return self._monomial_form(1.0, self._power_factors(coeff, monomial, n))
        return self._monomial_form(1.0, [(self.materialize(base), self._number(n))])

    def function(self, name: str, args: list[Form]) -> Form:
        """A function of the op table applied to forms."""
        if name == "sqrt":
            return self.power(args[0], Form(0.5))
        if name == "exp":
            # exp(a) = e^a: one form, so e^x*exp(-x) → 1 and exp(x)^2 → exp(2*x).
            return self.power(self.atom(self._e()), args[0])
        if name == "log":
            inverse = self._log_of_power_of_e(args[0])
            if inverse is not None:
                return inverse
        if len(args) == 1 and name in _BY_SIGN:
            known = self._by_sign(name, args[0])
            if known is not None:
                return known
        nodes = [self.materialize(arg) for arg in args]
        if name in ("sign", "step"):
            # sign(tanh(3)) is exactly 1: these fold for any constant argument.
            value = self._constant_value(nodes[0])
            if value is not None:
                return Form(float(OPS[name].evaluate(value)))
        values = [self._value(n) for n in nodes]
        if all(v is not None for v in values):
            folded = _fold(OPS[name], values)  # type: ignore[arg-type]
            if folded is not None and _nice(folded, *values) is not None:  # type: ignore[arg-type]
                return Form(folded)
        if len(args) == 1 and name in _ODD | _EVEN and _negative(args[0]):
            # f(-u) = -f(u) for odd f, f(u) for even f: sin(-x) → -sin(x).
            positive = self.function(name, [self.scale(args[0].copy(), -1.0)])
            return positive if name in _EVEN else self.scale(positive, -1.0)
        return self.atom(self.builder.intern(OPS[name], tuple(nodes)))

    # --- helpers of the algebra ----------------------------------------------------

    def _no_denominator(self, monomial: Monomial) -> bool:
        """Whether no factor has a negative exponent: (x + 1)/(x - 1) must not
        split into x/(x - 1) + 1/(x - 1)."""
        return all((self._value(e) or 1.0) > 0 for _, e in monomial)

    def _as_product(self, form: Form) -> tuple[float, list[tuple[int, int]]]:
        single = form.single_term()
        if single is not None:
            return single[0], list(single[1])
        return 1.0, [(self.materialize(form), self._number(1.0))]

    def _monomial_form(self, coeff: float, factors: list[tuple[int, int]]) -> Form:
        """coeff · Π base^exponent, with equal bases merged and numbers folded."""
        coeff, factors = self._opened(coeff, factors)
        merged: dict[int, int] = {}
        for base, exponent in factors:
            if base in merged:
                exponent = self._add_exponents(merged[base], exponent)
            merged[base] = exponent
        coeff = self._merge_negated_sums(coeff, merged)
        kept: list[tuple[int, int]] = []
        for base, exponent in merged.items():
            e = self._value(exponent)
            if e == 0.0:
                continue
            b = self._value(base)
            if b is not None and e is not None:
                folded = _fold(POW, [b, e])
                product = None if folded is None else _exact(tidy(coeff * folded), coeff, b, e)
                if product is not None:
                    coeff = product
                    continue
            kept.append((base, exponent))
        if coeff == 0.0:
            return Form()
        if not kept:
            return Form(coeff)
        if len(kept) > MAX_FACTORS:
            # A long product (the chain rule through a deep nesting) becomes
            # one factor, so each further factor costs one step, not a copy.
            whole = self.materialize(Form(0.0, {tuple(sorted(kept)): 1.0}))
            kept = [(whole, self._number(1.0))]
        if len(kept) == 1 and self._value(kept[0][1]) == 1.0:
            inner = self._form_of_node.get(kept[0][0])
            if inner is not None and inner.single_term() is None:
                # c·(a + b) where the sum was kept whole: a number distributes.
                return self.scale(inner.copy(), coeff)
        return Form(0.0, {tuple(sorted(kept)): coeff})

    def _merge_negated_sums(self, coeff: float, merged: dict[int, int]) -> float:
        """Merge a sum with its negation under integer powers, in place:
        u^m·(-u)^n = (-1)^n·u^(m+n), so (x - y)/(y - x) → -1; the new
        coefficient."""
        if len(merged) < 2:
            return coeff
        seen: dict[tuple, int] = {}
        for base in list(merged):
            form = self._form_of_node.get(base)
            n = self._value(merged[base])
            if form is None or n is None or not is_integer(n) or form.single_term() is not None \
                    or not form.terms:
                continue
            negated = (tidy(-form.const), tuple(sorted((m, -c) for m, c in form.terms.items())))
            partner = seen.get(negated)
            if partner is not None:
                merged[partner] = self._add_exponents(merged[partner], merged.pop(base))
                coeff = -coeff if n % 2 else coeff
                continue
            seen[(form.const, tuple(sorted(form.terms.items())))] = base
        return coeff

    def _opened(self, coeff: float, factors: list[tuple[int, int]]
                ) -> tuple[float, list[tuple[int, int]]]:
        """Open up bases that are forms kept whole, where that is valid:
        a product under an integer power becomes its factors ((x^2/y)^-1 →
        y/x^2), and a sum's integer content comes out (8*y - 12 → 4*(2*y - 3))
        so that equal bases can merge."""
        opened: list[tuple[int, int]] = []
        work = list(factors)
        while work:
            base, exponent = work.pop()
            e = self._value(exponent)
            inner = self._form_of_node.get(base)
            if inner is None or e is None or not is_integer(e):
                opened.append((base, exponent))
                continue
            single = inner.single_term()
            if single is not None and single[1] == ((base, self._number(1.0)),) \
                    and single[0] == 1.0:
                opened.append((base, exponent))  # an atom's form is itself
                continue
            if single is not None and len(single[1]) <= MAX_FACTORS:
                inner_coeff, monomial = single
                coeff = tidy(coeff * _power(inner_coeff, e)) if inner_coeff != 1.0 else coeff
                work.extend((b, self._scale_exponent(x, e)) for b, x in monomial)
                continue
            content = _content(inner)
            if content != 1.0:
                coeff = tidy(coeff * _power(content, e))
                opened.append((self.materialize(self.scale(inner.copy(), 1.0 / content)),
                               exponent))
                continue
            opened.append((base, exponent))
        return coeff, opened

    def _power_factors(self, coeff: float, monomial: Monomial, n: float) -> list[tuple[int, int]]:
        factors = [(base, self._scale_exponent(exponent, n)) for base, exponent in monomial]
        if coeff != 1.0:
            factors.append((self.builder.constant(coeff), self._number(n)))
        return factors

    def _symbolic_power(self, base: Form, exponent: Form) -> Form:
        exponent_node = self.materialize(exponent)
        single = base.single_term()
        if single is not None and single[0] == 1.0 and len(single[1]) == 1:
            base_node, inner = single[1][0]
            if self._value(inner) == 1.0:
                return self._monomial_form(1.0, [(base_node, exponent_node)])
            if self._positive(base_node):
                # (e^a)^b = e^(a*b) for all reals, as e^a > 0.
                product = self.multiply(self._exponent_form(inner), exponent)
                return self._monomial_form(1.0, [(base_node, self._exponent_node(product))])
        if not base.terms:
            return self._monomial_form(1.0, [(self.builder.constant(base.const), exponent_node)])
        return self._monomial_form(1.0, [(self.materialize(base), exponent_node)])

    def _number_power(self, value: float, n: float) -> Form:
        folded = _fold(POW, [value, n])
        if folded is not None and _exact(folded, value, n) is not None:
            return Form(folded)
        return self._monomial_form(1.0, [(self.builder.constant(value), self._number(n))])

    def _by_sign(self, name: str, arg: Form) -> Form | None:
        """abs, relu, sign or step of an argument whose sign is known wherever
        it is defined: abs(x^2 + 1) → x^2 + 1, sign(exp(x)) → 1."""
        sign = self._known_sign(arg)
        if sign is None:
            return None
        if name in ("abs", "relu"):
            return arg
        return Form(1.0) if sign == _POSITIVE else None

    def _known_sign(self, form: Form, deep: bool = True) -> str | None:
        """_POSITIVE if a form is > 0, _NONNEGATIVE if >= 0, wherever it is
        defined; None if that is not known. Looks into a factor that is a sum
        (x^2 + 1) only with `deep`, one level: never a recursion."""
        if form.const < 0:
            return None
        result = _POSITIVE if form.const > 0 or len(form.terms) == 1 else _NONNEGATIVE
        for monomial, coeff in form.terms.items():
            if coeff < 0:
                return None
            for base, exponent in monomial:
                factor = self._factor_sign(base, self._value(exponent), deep)
                if factor is None:
                    return None
                if factor == _NONNEGATIVE and form.const == 0:
                    result = _NONNEGATIVE
        return result

    def _factor_sign(self, base: int, exponent: float | None, deep: bool) -> str | None:
        """The known sign of base^exponent where it is defined, or None."""
        op = self.builder.nodes[base].op
        if self._positive(base) or op.name in _POSITIVE_OPS:
            return _POSITIVE
        if exponent is None:
            return None
        inner = self._form_of_node.get(base)
        inner_sign = None
        if deep and inner is not None and inner.single_term() is None:
            inner_sign = self._known_sign(inner, deep=False)
        if inner_sign is not None:
            base_sign = inner_sign
        elif op.name in _NONNEGATIVE_OPS:
            base_sign = _NONNEGATIVE
        elif not is_integer(exponent) or exponent % 2 == 0:
            # x^2 >= 0; x^0.5 and x^(1/3) are defined only for x >= 0.
            base_sign = _NONNEGATIVE
        else:
            return None
        # A negative power is defined only where its base is not 0.
        return _POSITIVE if exponent < 0 else base_sign

    def _constant_value(self, node: int) -> float | None:
        """The value of a node that depends on no input (sin(3), tanh(3)),
        None if it does depend on one or cannot be computed."""
        nodes = self.builder.nodes
        if nodes[node].varying:
            return None
        values: dict[int, float] = {}
        for index in nodes_below(nodes, [node]):
            n = nodes[index]
            if n.op is CONST:
                values[index] = n.value or 0.0
                continue
            value = _fold(n.op, [values[a] for a in n.args])
            if value is None:
                return None
            values[index] = value
        return values[node]

    def _e(self) -> int:
        """The node of the constant e."""
        return self.builder.constant(math.e, "e")

    def _is_e(self, node: int) -> bool:
        n = self.builder.nodes[node]
        return n.op is CONST and n.label == "e"

    def _positive(self, node: int) -> bool:
        """Whether a base is a named constant (e, pi): positive, so any power
        of it distributes."""
        n = self.builder.nodes[node]
        return n.op is CONST and n.label in CONSTANTS

    def _exponent_node(self, form: Form) -> int:
        """A form as an exponent: a number as itself, anything else materialized."""
        return self._number(form.const) if not form.terms else self.materialize(form)

    def _log_of_power_of_e(self, arg: Form) -> Form | None:
        """log(c·e^a) = a + log(c) for c > 0 (so log(e) = 1, log(exp(x)) = x),
        valid for every real a; None for any other argument."""
        single = arg.single_term()
        if single is None or single[0] <= 0 or len(single[1]) != 1:
            return None
        (base, exponent), = single[1]
        if not self._is_e(base):
            return None
        result = self._exponent_form(exponent)
        if single[0] != 1.0:
            result = self.add(result, self.function("log", [Form(single[0])]))
        return result

    def _odd_or_fractional(self, exponent: int) -> bool:
        e = self._value(exponent)
        return e is not None and (not is_integer(e) or e % 2 == 1)

    def _add_exponents(self, a: int, b: int) -> int:
        va, vb = self._value(a), self._value(b)
        if va is not None and vb is not None:
            return self._number(tidy(va + vb))
        return self.materialize(self.add(self._exponent_form(a), self._exponent_form(b)))

    def _scale_exponent(self, exponent: int, n: float) -> int:
        value = self._value(exponent)
        if value is not None:
            return self._number(tidy(value * n))
        return self.materialize(self.scale(self._exponent_form(exponent), n))

    def _exponent_form(self, node: int) -> Form:
        value = self._value(node)
        return Form(value) if value is not None else self.atom(node)

    def _number(self, value: float) -> int:
        return self.builder.constant(0.0 if value == 0 else value)

    def _value(self, node: int) -> float | None:
        n = self.builder.nodes[node]
        return n.value if n.op is CONST and n.label not in CONSTANTS else None

    # --- forms back to nodes ---------------------------------------------------------

    def _constant(self, value: float) -> int:
        """A number's node; a simple fraction prints as one (1/3, not 0.333...)."""
        top, bottom = _as_fraction(abs(value))
        if bottom == 1.0:
            return self._number(value)
        return self.builder.intern(DIV, (self._number(top if value > 0 else -top),
                                         self._number(bottom)))

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

    def materialize(self, form: Form) -> int:
        """The canonical node for a form (built once per distinct form)."""
        self._check_size()
        if not form.terms:
            return self._constant(form.const)
        key = (form.const, tuple(sorted(form.terms.items())))
        found = self._materialized.get(key)
        if found is not None:
            return found
        met = self._met_by_expansion(form)
        if met is not form:
            if not met.terms:
                return self._constant(met.const)
            form = met
        factored = None if self.expand else self._factored(form)
        if factored is not None:
            self._materialized[key] = factored
            self._form_of_node.setdefault(factored, form.copy())
            return factored
        terms = sorted(form.terms.items(), key=lambda item: self._term_order(item[0]))
        if terms[0][1] < 0:
            # Lead with a positive term where there is one: b - a, not -a + b.
            first_positive = next((k for k, (_, c) in enumerate(terms) if c > 0), None)
            if first_positive is not None:
                terms.insert(0, terms.pop(first_positive))
        constant_first = terms[0][1] < 0 and form.const > 0
        node = self._constant(form.const) if constant_first else -1
        for monomial, coeff in terms:
            if node < 0:
                node = self._term(monomial, coeff, signed=True)
            else:
                op = ADD if coeff > 0 else SUB
                node = self.builder.intern(op, (node, self._term(monomial, abs(coeff))))
        if form.const and not constant_first:
            op = ADD if form.const > 0 else SUB
            node = self.builder.intern(op, (node, self._constant(abs(form.const))))
        self._materialized[key] = node
        self._form_of_node.setdefault(node, form.copy())
        return node

    def _met_by_expansion(self, form: Form) -> Form:
        """The form with a term's sum factor multiplied out where that makes
        like terms meet: x*(x + y) - x*y → x^2, x*(x + 1) - x → x^2. A sum
        times a monomial otherwise stays whole (x*(x + 1)). One pass over the
        terms; `form` itself when nothing meets."""
        if len(form.terms) < 2:
            return form
        result: Form | None = None
        for monomial, coeff in form.terms.items():
            sums = [(base, exponent) for base, exponent in monomial
                    if self._value(exponent) == 1.0 and self._is_whole_sum(base)]
            if len(sums) != 1:
                continue
            rest = Form(0.0, {tuple(f for f in monomial if f != sums[0]): coeff}) \
                if len(monomial) > 1 else Form(coeff)
            expanded = self._expanded_product(rest, self._form_of_node[sums[0][0]].copy())
            if any(m in form.terms for m in expanded.terms if m != monomial) or (
                    expanded.const != 0.0 and form.const != 0.0):
                if result is None:
                    result = form.copy()
                result.terms.pop(monomial, None)
                result = self.add(result, expanded)
        if result is None:
            return form
        # What met may leave a sum whose terms meet again: its form, not a node.
        result.terms = {m: c for m, c in result.terms.items() if c != 0.0}
        return result

    def _is_whole_sum(self, node: int) -> bool:
        inner = self._form_of_node.get(node)
        return inner is not None and bool(inner.terms) and inner.single_term() is None

    def _factored(self, form: Form) -> int | None:
        """The sum with the factor common to all its terms taken out, as nodes:
        x^4 + x^3*log(y) - 2*x^3 → x^3*(x + log(y) - 2); None when there is none.

        Only bases every term has, with exponents of one sign (the smallest in
        size is taken), or the very same symbolic exponent; and a number that
        leaves every coefficient ±1 (16*a + 16*b → 16*(a + b)).
        """
        if form.const != 0.0:
            return self._fraction_taken_out(form)
        if len(form.terms) < 2:
            return None
        monomials = [dict(m) for m in form.terms]
        common: dict[int, int] = {}
        for base, exponent in monomials[0].items():
            exponents = [m.get(base) for m in monomials]
            if any(e is None for e in exponents):
                continue
            values = [self._value(e) for e in exponents]  # type: ignore[arg-type]
            if all(v is not None and v > 0 for v in values):
                common[base] = self._number(min(values))  # type: ignore[type-var]
            elif all(v is not None and v < 0 for v in values):
                common[base] = self._number(max(values))  # type: ignore[type-var]
            elif all(e == exponent for e in exponents):
                common[base] = exponent
        coeffs = list(form.terms.values())
        sign = -1.0 if all(c < 0 for c in coeffs) else 1.0
        size = abs(coeffs[0])
        number = sign * (size if all(abs(c) == size for c in coeffs) else 1.0)
        if not common and abs(number) == 1.0:
            return None
        if common and all(self.builder.nodes[b].op.arity == 0 for b in common) \
                and len(coeffs) < 3 and all(self._value(e) == 1.0 for e in common.values()):
            # x^2*cos(x) + 2*x*sin(x) reads better than x*(x*cos(x) + 2*sin(x)),
            # and taking out a lone variable from two terms saves one operation.
            common = {}
            if abs(number) == 1.0:
                return None
        reduced = Form()
        for monomial, coeff in form.terms.items():
            rest = []
            for base, exponent in monomial:
                if base in common:
                    exponent = self._add_exponents(exponent, self._negate_exponent(common[base]))
                if self._value(exponent) != 0.0:
                    rest.append((base, exponent))
            reduced = self.add(reduced, self._monomial_form(tidy(coeff / number), rest))
        if reduced.single_term() is not None or not reduced.terms:
            # The cofactor collapsed (its terms were sums that collect): one term.
            outer = Form(0.0, {tuple(sorted(common.items())): number}) if common else Form(number)
            return self.materialize(self.multiply(outer, reduced))
        inner = self.materialize(reduced)
        return self._term(tuple(sorted((*common.items(), (inner, self._number(1.0))))), number,
                          signed=True)

    def _fraction_taken_out(self, form: Form) -> int | None:
        """A sum with a constant whose coefficients share a fraction, as that
        fraction times a sum: sign(x)/2 + 1/2 → (sign(x) + 1)/2,
        3/2 - 3*x/2 → 3*(1 - x)/2 (saves operations; an integer stays in:
        2*x + 2). None otherwise."""
        values = [*form.terms.values(), form.const]
        fractions = [_as_fraction(abs(v)) for v in values]
        bottom = fractions[0][1]
        if bottom == 1.0 or any(b != bottom or not is_integer(t) or t >= 1e15
                                for t, b in fractions):
            return None
        sign = -1.0 if all(v < 0 for v in values) else 1.0
        number = sign * math.gcd(*(int(t) for t, _ in fractions)) / bottom
        reduced = Form(tidy(form.const / number),
                       {m: tidy(c / number) for m, c in form.terms.items()})
        inner = self.materialize(reduced)
        return self._term(((inner, self._number(1.0)),), number, signed=True)

    def _negate_exponent(self, exponent: int) -> int:
        value = self._value(exponent)
        if value is not None:
            return self._number(-value)
        return self.materialize(self.scale(self._exponent_form(exponent), -1.0))

    def _term(self, monomial: Monomial, coeff: float, signed: bool = False) -> int:
        """coeff·monomial as nodes: numerator over denominator, sign in front."""
        numerator: list[int] = []
        denominator: list[int] = []
        magnitude = abs(coeff)
        top, bottom = _as_fraction(magnitude)
        if top != 1.0:
            numerator.append(self._number(top))
        if bottom != 1.0:
            denominator.append(self._number(bottom))
        for base, exponent in sorted(monomial, key=self._factor_label):
            e = self._value(exponent)
            if e is not None and e < 0 and not self._is_e(base):
                denominator.append(self._factor(base, -e, None))
            else:
                numerator.append(self._factor(base, e, exponent))
        negative = signed and coeff < 0
        if negative and numerator and self._value(numerator[0]) is not None:
            numerator[0] = self._number(-(self._value(numerator[0]) or 0.0))
            negative = False
        if not numerator:
            numerator.append(self._number(-1.0 if negative else 1.0))
            negative = False
        if negative:
            numerator[0] = self.builder.intern(NEG, (numerator[0],))
        node = _chain(self.builder, MUL, numerator)
        if denominator:
            node = self.builder.intern(DIV, (node, _chain(self.builder, MUL, denominator)))
        return node

    def _factor(self, base: int, exponent: float | None, exponent_node: int | None) -> int:
        """base^exponent as nodes: sqrt(x), exp(a) or e^a as the program
        writes it, and a numeric exponent as a fraction where it is one
        (x^(2/3), not x^0.666666666666667)."""
        if exponent == 1.0:
            return base
        if exponent == 0.5 and not self._is_e(base):
            return self.builder.intern(OPS["sqrt"], (base,))
        node = exponent_node if exponent_node is not None and exponent is None \
            else self._constant(exponent or 0.0)
        if self._exp_call and self._is_e(base):
            return self.builder.intern(OPS["exp"], (node,))
        return self.builder.intern(POW, (base, node))

    def _factor_label(self, factor: tuple[int, int]) -> str:
        """A factor's sort label: a power of e sorts as exp(...) would."""
        base, exponent = factor
        if self._is_e(base):
            return ("2exp(" + self._label(exponent)[1:])[:40]
        return self._label(base)

    def _term_order(self, monomial: Monomial) -> tuple:
        degree = 0.0
        for _, exponent in monomial:
            e = self._value(exponent)
            degree += e if e is not None else 1.0
        return (-degree, sorted(self._factor_label(f) for f in monomial))

    def _label(self, node: int) -> str:
        """A short, deterministic sort label for a canonical node (numbers
        before names, names alphabetically), built without recursion."""
        labels = self._labels
        stack = [node]
        while stack:
            top = stack[-1]
            if top in labels:
                stack.pop()
                continue
            n = self.builder.nodes[top]
            missing = [a for a in n.args if a not in labels]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            if n.op.arity == 0:
                numeric = n.op is CONST and n.label not in CONSTANTS
                labels[top] = ("0" if numeric else "1") + n.label
            else:
                inner = ",".join(labels[a][1:] for a in n.args)
                labels[top] = ("2" + n.op.name + "(" + inner)[:40]
        return labels[node]


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


_LINEAR = (ADD, SUB, NEG, CONST, INPUT)


def _fold(op: object, values: list[float]) -> float | None:
    try:
        result = float(op.evaluate(*values))  # type: ignore[attr-defined]
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return tidy(result) if math.isfinite(result) else None


def _power(base: float, exponent: float) -> float:
    """base**exponent for a coefficient; an overflow is a CoefficientOverflowError."""
    try:
        return tidy(base**exponent)
    except OverflowError:
        return tidy(math.inf)


def _exact(value: float, *operands: float) -> float | None:
    """`value` if it prints as exactly as its operands, a simple fraction
    counting as exact (3/9 → 1/3; 2^0.5 stays)."""
    if _nice(value, *operands) is not None:
        return value
    return value if _as_fraction(abs(value))[1] != 1.0 else None


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


def _content(form: Form) -> float:
    """The greatest common divisor of a sum's coefficients where they are
    integers or simple fractions (1/2 for x/2 + 1/2; 1 for any other)."""
    values = [*form.terms.values(), form.const] if form.const else list(form.terms.values())
    fractions = [_as_fraction(abs(v)) for v in values]
    if not all(is_integer(t) and t < 1e15 for t, _ in fractions):
        return 1.0
    common = math.lcm(*(int(b) for _, b in fractions))
    return math.gcd(*(int(t) * (common // int(b)) for t, b in fractions)) / common


def _negative(form: Form) -> bool:
    """Whether a form is a negated one: every coefficient (and constant) < 0."""
    if not form.terms:
        return form.const < 0
    return form.const <= 0 and all(c < 0 for c in form.terms.values())


_BY_SIGN = frozenset({"abs", "relu", "sign", "step"})
_POSITIVE, _NONNEGATIVE = "positive", "nonnegative"
_POSITIVE_OPS = frozenset({"cosh", "sigmoid", "softplus", "exp"})
_NONNEGATIVE_OPS = frozenset({"abs", "relu", "step", "sqrt"})
_ODD = frozenset({"sin", "tan", "asin", "atan", "sinh", "tanh", "sign"})
_EVEN = frozenset({"cos", "cosh", "abs"})


def _nice(value: float, *operands: float) -> float | None:
    """`value` if it reads as exactly as its operands (2*3 → 6, not 1/3 → 0.333...)."""
    return value if reads_exactly(value, (format_number(v) for v in operands)) else None


def _as_fraction(magnitude: float) -> tuple[float, float]:
    """A coefficient as numerator and a small denominator: 1.5 → (3, 2)."""
    if is_integer(magnitude):
        return magnitude, 1.0
    for q in _SIMPLE_DENOMINATORS:
        p = magnitude * q
        near = round(p)
        if abs(p - near) <= 1e-12 * max(1.0, abs(p)) and 0 < near < 1e15:
            return float(near), float(q)
    return magnitude, 1.0


def _chain(builder: GraphBuilder, op: object, nodes: list[int]) -> int:
    node = nodes[0]
    for other in nodes[1:]:
        node = builder.intern(op, (node, other))  # type: ignore[arg-type]
    return node


def nodes_below(nodes: Sequence[Node], roots: Sequence[int]) -> list[int]:
    """The nodes the roots depend on, in order."""
    seen = set(roots)
    stack = list(roots)
    while stack:
        for arg in nodes[stack.pop()].args:
            if arg not in seen:
                seen.add(arg)
                stack.append(arg)
    return sorted(seen)


def _use_counts(nodes: Sequence[Node], needed: list[int], roots: Sequence[int]) -> dict[int, int]:
    counts = dict.fromkeys(needed, 0)
    for index in needed:
        for arg in nodes[index].args:
            counts[arg] += 1
    for root in roots:
        counts[root] += 1  # a root's form is read once more, to materialize it
    return counts


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
