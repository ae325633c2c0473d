"""Forms: the simplifier's canonical data, and the number policy of its coefficients.

A `Form` is a sum `const + Σ coeff·monomial`; a monomial is a sorted tuple of
`(base node, exponent node)` pairs, the nodes living in the simplifier's
builder. This module holds the data type and the pure functions on numbers
and node lists that the algebra (`algebra.py`), the rules (`rules.py`), the
printing choices (`materialize.py`) and the derivatives (`form_gradient.py`)
share: rounding off float noise, folding an op over numbers, reading a
coefficient as a simple fraction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..core.errors import CoefficientOverflowError
from ..core.graph import GraphBuilder, Node
from ..core.numbers import format_number, reads_exactly

Monomial = tuple[tuple[int, int], ...]  # sorted (base node, exponent node) pairs
# The symbolic size budget: a derivative may build this many nodes, plus
# NODES_PER_SOURCE_NODE per node of what it differentiates (so big programs
# keep their first derivatives), before ExpressionTooLargeError ends the work.
SYMBOLIC_NODE_BUDGET = 20_000
NODES_PER_SOURCE_NODE = 10
# Every TERMS_PER_NODE products of terms in expanded forms count as one node
# against the size budget.
TERMS_PER_NODE = 1
# Expanded forms multiply two sums out only up to this many products of terms.
MAX_EXPANDED_TERMS = 4_000
MAX_FACTORS = 16  # a longer product is kept as one factor (see _monomial_form)
# Not 5 or 10: 0.3*x reads better than 3*x/10, as any decimal that ends soon.
_SIMPLE_DENOMINATORS = (2, 3, 4, 6, 7, 8, 9, 11, 12, 16)
# What is known of a form's sign wherever it is defined (algebra._known_sign).
POSITIVE, NONNEGATIVE = "positive", "nonnegative"


# A plain class rather than a dataclass, for start-up (a dataclass compiles
# its methods at import; see core/records.py).
class Form:
    """const + Σ coefficient·monomial; an empty monomial never appears.
    Mutable (the algebra builds forms in place), equal to a form of the same
    constant and terms, and so not hashable."""

    __slots__ = ("const", "terms")
    const: float
    terms: dict[Monomial, float]

    def __init__(self, const: float = 0.0, terms: dict[Monomial, float] | None = None) -> None:
        self.const = const
        self.terms = {} if terms is None else terms

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.const, self.terms) == (other.const, other.terms)  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Form {self.const} + {len(self.terms)} terms>"

    def copy(self) -> Form:
        """A copy whose terms can change without changing this form."""
        return Form(self.const, dict(self.terms))

    def single_term(self) -> tuple[float, Monomial] | None:
        """(coefficient, monomial) when the form is exactly one term."""
        if self.const == 0.0 and len(self.terms) == 1:
            ((monomial, coeff),) = self.terms.items()
            return coeff, monomial
        return None


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


def fold(op: object, values: list[float]) -> float | None:
    try:
        result = float(op.evaluate(*values))  # type: ignore[attr-defined]
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return tidy(result) if math.isfinite(result) else None


def coefficient_power(base: float, exponent: float) -> float:
    """base**exponent for a coefficient; an overflow is a CoefficientOverflowError."""
    try:
        return tidy(base**exponent)
    except OverflowError:
        return tidy(math.inf)


def exact(value: float, *operands: float) -> float | None:
    """`value` if it prints as exactly as its operands, a simple fraction
    counting as exact (3/9 → 1/3; 2^0.5 stays)."""
    if nice(value, *operands) is not None:
        return value
    return value if as_fraction(abs(value))[1] != 1.0 else None


def content(form: Form) -> float:
    """The greatest common divisor of a sum's coefficients where they are
    integers or simple fractions (1/2 for x/2 + 1/2; 1 for any other)."""
    values = [*form.terms.values(), form.const] if form.const else list(form.terms.values())
    fractions = [as_fraction(abs(v)) for v in values]
    if not all(is_integer(t) and t < 1e15 for t, _ in fractions):
        return 1.0
    common = math.lcm(*(int(b) for _, b in fractions))
    return math.gcd(*(int(t) * (common // int(b)) for t, b in fractions)) / common


def is_negated(form: Form) -> bool:
    """Whether a form is a negated one: every coefficient (and constant) < 0."""
    if not form.terms:
        return form.const < 0
    return form.const <= 0 and all(c < 0 for c in form.terms.values())


def nice(value: float, *operands: float) -> float | None:
    """`value` if it reads as exactly as its operands (2*3 → 6, not 1/3 → 0.333...)."""
    return value if reads_exactly(value, (format_number(v) for v in operands)) else None


def as_fraction(magnitude: float) -> tuple[float, float]:
    """A coefficient as numerator and a small denominator: 1.5 → (3, 2)."""
    if is_integer(magnitude):
        return magnitude, 1.0
    for q in _SIMPLE_DENOMINATORS:
        p = magnitude * q
        near = round(p)
        if abs(p - near) <= 1e-12 * max(1.0, abs(p)) and 0 < near < 1e15:
            return float(near), float(q)
    return magnitude, 1.0


def chain(builder: GraphBuilder, op: object, nodes: list[int]) -> int:
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


def use_counts(nodes: Sequence[Node], needed: list[int], roots: Sequence[int]) -> dict[int, int]:
    counts = dict.fromkeys(needed, 0)
    for index in needed:
        for arg in nodes[index].args:
            counts[arg] += 1
    for root in roots:
        counts[root] += 1  # a root's form is read once more, to materialize it
    return counts

