"""The algebra of forms: sums, products and powers kept canonical.

Adding forms adds the coefficients of equal monomials (x + x → 2*x, 3*x - x
→ 2*x); multiplying monomials adds the exponents of equal bases (x*x → x^2,
x^a*x^b → x^(a+b)); a number distributes over a sum so that like terms meet
(2*(x + y) - 2*x → 2*y), while a sum times a sum stays whole ((x + 1)*(x -
1)), as does a fraction. Powers distribute only where that is valid for every
real: an integer power over a product ((x*y)^2 → x^2*y^2), a non-integer one
over a single factor whose exponent is not even ((x^3)^(1/3) → x, but
sqrt(x^2) stays: it is |x|).

`FormArithmetic` is one of the simplifier's four parts (see `simplify.py`):
a mixin whose methods share the `Simplifier`'s state (its builder, the form
of each canonical node, the size budget). It relies on `materialize`
(printing choices, `materialize.py`) where a form must become one node: a
sum as a power's base, say.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..core.ops import CONST, CONSTANTS, OPS, POW
from .forms import (
    MAX_EXPANDED_TERMS,
    MAX_FACTORS,
    NONNEGATIVE,
    POSITIVE,
    Form,
    Monomial,
    as_fraction,
    coefficient_power,
    content,
    exact,
    fold,
    is_integer,
    is_negated,
    nodes_below,
    tidy,
)

if TYPE_CHECKING:
    from ..core.graph import GraphBuilder

# Functions whose value is > 0, or >= 0, wherever it is defined: the op
# table's facts (`Op.sign`).
_POSITIVE_OPS = frozenset(name for name, op in OPS.items() if op.sign == POSITIVE)
_NONNEGATIVE_OPS = frozenset(name for name, op in OPS.items() if op.sign == NONNEGATIVE)


class FormArithmetic:
    """add, scale, multiply and power over forms (a mixin of `Simplifier`)."""

    builder: GraphBuilder
    expand: bool
    _form_of_node: dict[int, Form]
    _products: int

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
        if single is None and is_integer(n) and is_negated(base):
            # (-u)^n = (-1)^n·u^n for a whole n: (-x - y)^2 → (x + y)^2 and
            # 1/(-x - y) → -1/(x + y), as a sum whose terms are all negative
            # reads better negated.
            flipped = self.power(self.scale(base, -1.0), exponent)
            return flipped if n % 2 == 0 else self.scale(flipped, -1.0)
        if single is not None:
            coeff, monomial = single
            if is_integer(n):
                return self._monomial_form(1.0, self._power_factors(coeff, monomial, n))
            if coeff > 0 and (all(self._positive(b) for b, _ in monomial) or (
                    len(monomial) == 1 and self._odd_or_fractional(monomial[0][1]))):
                # (e^a)^n = e^(a*n) for every real n, as e^a > 0.
                return self._monomial_form(1.0, self._power_factors(coeff, monomial, n))
        return self._monomial_form(1.0, [(self.materialize(base), self._number(n))])

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
                folded = _root_exactly(b, e)
                product = None if folded is None else exact(tidy(coeff * folded), coeff, b, e)
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
                if inner_coeff != 1.0:
                    coeff = tidy(coeff * coefficient_power(inner_coeff, e))
                work.extend((b, self._scale_exponent(x, e)) for b, x in monomial)
                continue
            common = content(inner)
            if common != 1.0:
                coeff = tidy(coeff * coefficient_power(common, e))
                opened.append((self.materialize(self.scale(inner.copy(), 1.0 / common)),
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
        folded = _root_exactly(value, n)
        if folded is not None and exact(folded, value, n) is not None:
            return Form(folded)
        return self._monomial_form(1.0, [(self.builder.constant(value), self._number(n))])

    def _known_sign(self, form: Form, deep: bool = True) -> str | None:
        """POSITIVE if a form is > 0, NONNEGATIVE if >= 0, wherever it is
        defined; None if that is not known. Looks into a factor that is a sum
        (x^2 + 1) only with `deep`, one level: never a recursion."""
        if form.const < 0:
            return None
        result = POSITIVE if form.const > 0 or len(form.terms) == 1 else NONNEGATIVE
        for monomial, coeff in form.terms.items():
            if coeff < 0:
                return None
            for base, exponent in monomial:
                factor = self._factor_sign(base, self._value(exponent), deep)
                if factor is None:
                    return None
                if factor == NONNEGATIVE and form.const == 0:
                    result = NONNEGATIVE
        return result

    def _factor_sign(self, base: int, exponent: float | None, deep: bool) -> str | None:
        """The known sign of base^exponent where it is defined, or None."""
        op = self.builder.nodes[base].op
        if self._positive(base) or op.name in _POSITIVE_OPS:
            return POSITIVE
        if exponent is None:
            return None
        inner = self._form_of_node.get(base)
        inner_sign = None
        if deep and inner is not None and inner.single_term() is None:
            inner_sign = self._known_sign(inner, deep=False)
        if inner_sign is not None:
            base_sign = inner_sign
        elif op.name in _NONNEGATIVE_OPS:
            base_sign = NONNEGATIVE
        elif not is_integer(exponent) or exponent % 2 == 0:
            # x^2 >= 0; x^0.5 and x^(1/3) are defined only for x >= 0.
            base_sign = NONNEGATIVE
        else:
            return None
        # A negative power is defined only where its base is not 0.
        return POSITIVE if exponent < 0 else base_sign

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
            value = fold(n.op, [values[a] for a in n.args])
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

    def _negate_exponent(self, exponent: int) -> int:
        value = self._value(exponent)
        if value is not None:
            return self._number(-value)
        return self.materialize(self.scale(self._exponent_form(exponent), -1.0))


def _root_exactly(base: float, exponent: float) -> float | None:
    """base^exponent folded to a number, where that is exact: a whole or
    decimal exponent as the number reads, but a fraction such as 1/3 only
    where the result is whole or a simple fraction (8^(1/3) → 2,
    4^(3/2) → 8, 0.25^(1/2) → 1/2; 2^(1/3) stays: 1/3's 16 digits are no
    licence to print 1.2599210498948732)."""
    folded = fold(POW, [base, exponent])
    if folded is None or is_integer(exponent) or as_fraction(abs(exponent))[1] == 1.0:
        return folded
    return folded if is_integer(folded) or as_fraction(abs(folded))[1] != 1.0 else None
