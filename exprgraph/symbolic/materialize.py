"""Printing choices: how a form becomes canonical nodes again.

A form becomes graph nodes ("is materialized") where something needs it
whole: a function's argument, a power's base or exponent, a root. Each
distinct form is built once. The choices made here are about reading, not
value:

- a sum prints with the factor common to its terms taken out:
  x^4 + x^3*log(y) - 2*x^3 → x^3*(x + log(y) - 2), 2*x + 2*y → 2*(x + y),
  sign(x)/2 + 1/2 → (sign(x) + 1)/2; a term's sum factor is multiplied out
  where that makes like terms meet (x*(x + y) - x*y → x^2);
- numbers and numeric exponents print as fractions with a small denominator
  where the decimal would not end soon (x^(2/3), not x^0.666666666666667);
- terms by degree, highest first, then by the names in them, the constant
  last, except that a positive term leads where there is one (b - a, not
  -a + b); factors by name; negative exponents go below a fraction bar (x/y,
  not x*y^-1); e^a prints as exp(a) or e^a as the program writes it.

`FormPrinting` is one of the simplifier's four parts (see `simplify.py`), a
mixin sharing the `Simplifier`'s state.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from ..core.ops import ADD, CONST, CONSTANTS, DIV, MUL, NEG, OPS, POW, SUB
from .forms import Form, Monomial, as_fraction, chain, is_integer, tidy

if TYPE_CHECKING:
    from ..core.graph import GraphBuilder


class FormPrinting:
    """materialize and its choices (a mixin of `Simplifier`)."""

    builder: GraphBuilder
    expand: bool
    _exp_call: bool
    _materialized: dict[tuple, int]
    _form_of_node: dict[int, Form]
    _labels: dict[int, str]

    def _constant(self, value: float) -> int:
        """A number's node; a simple fraction prints as one (1/3, not 0.333...)."""
        top, bottom = as_fraction(abs(value))
        if bottom == 1.0:
            return self._number(value)
        return self.builder.intern(DIV, (self._number(top if value > 0 else -top),
                                         self._number(bottom)))

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
        times a monomial otherwise stays whole (x*(x + 1)). The terms an
        expansion brings are looked at in turn, so nested sums collect all
        the way (1 + 2*y*(y*(y + 1) + 1) + y^2*(y + 1) + y^3 → 4*y^3 + 3*y^2
        + 2*y + 1); each term is taken with its coefficient as it stands
        then, as an earlier expansion may have added to it. `form` itself
        when nothing meets."""
        if len(form.terms) < 2:
            return form
        current = form
        waiting = deque(form.terms)
        while waiting:
            monomial = waiting.popleft()
            coeff = current.terms.get(monomial)
            sums = [(base, exponent) for base, exponent in monomial
                    if self._value(exponent) == 1.0 and self._is_whole_sum(base)]
            if coeff is None or len(sums) != 1:
                continue
            rest = Form(0.0, {tuple(f for f in monomial if f != sums[0]): coeff}) \
                if len(monomial) > 1 else Form(coeff)
            expanded = self._expanded_product(rest, self._form_of_node[sums[0][0]].copy())
            if any(m in current.terms for m in expanded.terms if m != monomial) or (
                    expanded.const != 0.0 and current.const != 0.0):
                if current is form:
                    current = form.copy()
                del current.terms[monomial]
                current = self.add(current, expanded)
                waiting.extend(m for m in expanded.terms if m != monomial)
        if current is form:
            return form
        # What met may leave a sum whose terms meet again: its form, not a node.
        current.terms = {m: c for m, c in current.terms.items() if c != 0.0}
        return current

    def _is_whole_sum(self, node: int) -> bool:
        inner = self._form_of_node.get(node)
        return inner is not None and bool(inner.terms) and inner.single_term() is None

    def _factored(self, form: Form) -> int | None:
        """The sum with the factor common to all its terms taken out, as nodes:
        x^4 + x^3*log(y) - 2*x^3 → x^3*(x + log(y) - 2); None when there is none.

        Only bases every term has, with exponents of one sign (the lowest
        power is taken: a common denominator for negative ones, 1/x + 1/x^2
        → (x + 1)/x^2), or the very same symbolic exponent; and a number that
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
            if all(v is not None and v > 0 for v in values) or all(
                    v is not None and v < 0 for v in values):
                # The lowest power: x^3 out of x^4 and x^3, and 1/x^2 out of
                # 1/x and 1/x^2, a common denominator: (x + 1)/x^2.
                common[base] = self._number(min(values))  # type: ignore[type-var]
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
        fractions = [as_fraction(abs(v)) for v in values]
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

    def _term(self, monomial: Monomial, coeff: float, signed: bool = False) -> int:
        """coeff·monomial as nodes: numerator over denominator, sign in front."""
        numerator: list[int] = []
        denominator: list[int] = []
        magnitude = abs(coeff)
        top, bottom = as_fraction(magnitude)
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
        node = chain(self.builder, MUL, numerator)
        if denominator:
            node = self.builder.intern(DIV, (node, chain(self.builder, MUL, denominator)))
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
