"""The simplifier's rewrite rules, as data: one table, one loop applies it.

A rule is a pattern (the ops it is for, by name or by a fact of the op
table such as `parity`) and a rewrite: a function from the op and its
argument forms to the result's form, or None where the rule's condition on
the arguments does not hold. `apply_rules` tries the rules of an op in the
table's order and takes the first answer; where none answers, the op is
kept as a node over its canonical arguments (`sin(x + x)` → `sin(2*x)`).
This is the shape of tinygrad's `PatternMatcher` and SymPy's printers: to
add a rewrite is to add a row, with its reason beside it.

Every rule keeps the value wherever the original is defined; a rule may
define a value where the original had none (x/x → 1, as in any computer
algebra system). The arithmetic the rules call (`add`, `multiply`, `power`,
...) is the algebra of forms (`algebra.py`); its canonical collection of
like terms is not a rule but the data structure itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from ..core.numbers import is_tiny
from ..core.ops import Op
from ..core.records import Record
from .forms import POSITIVE, Form, fold, is_negated, nice

if TYPE_CHECKING:
    from .simplify import Simplifier


# Call and Rule are plain classes rather than dataclasses, for start-up (see
# core/records.py). Neither is compared: a call is made for one op, a rule
# is a row of the table.
class Call:
    """An op applied to argument forms, as a rule sees it; the arguments as
    canonical nodes are built on first use (most rules need only forms)."""

    # No __slots__: the cached properties below keep their values in __dict__.
    simplifier: Simplifier
    op: Op
    args: list[Form]

    def __init__(self, simplifier: Simplifier, op: Op, args: list[Form]) -> None:
        self.simplifier = simplifier
        self.op = op
        self.args = args

    def __repr__(self) -> str:
        return f"<Call {self.op.name} of {len(self.args)} forms>"

    @cached_property
    def nodes(self) -> list[int]:
        """The arguments as canonical nodes."""
        return [self.simplifier.materialize(arg) for arg in self.args]

    @cached_property
    def numbers(self) -> list[float] | None:
        """The arguments' values where every argument is a number, else None."""
        values = [self.simplifier._value(node) for node in self.nodes]
        return None if any(v is None for v in values) else values  # type: ignore[return-value]


Rewrite = Callable[[Call], Form | None]


class Rule(Record):
    """Where `pattern` matches an op, `rewrite` may give the result (None: it
    does not apply to these arguments). `why` says what the rule does and why
    it is valid. Immutable."""

    __slots__ = _fields = ("pattern", "rewrite", "why")
    pattern: Callable[[Op], bool]
    rewrite: Rewrite
    why: str

    def __init__(self, pattern: Callable[[Op], bool], rewrite: Rewrite, why: str) -> None:
        _set = object.__setattr__
        _set(self, "pattern", pattern)
        _set(self, "rewrite", rewrite)
        _set(self, "why", why)

    def __repr__(self) -> str:
        return f"<Rule: {self.why}>"


def named(*names: str) -> Callable[[Op], bool]:
    """A pattern: the ops with these names."""
    wanted = frozenset(names)
    return lambda op: op.name in wanted


def unary_with(**facts: str) -> Callable[[Op], bool]:
    """A pattern: the one-argument ops with these facts of the op table
    (`parity="odd"`); a fact given as "" matches any non-empty value."""
    return lambda op: op.arity == 1 and all(
        getattr(op, key) == value if value else getattr(op, key) for key, value in facts.items())


# --- the rewrites ------------------------------------------------------------------


def _sum(call: Call) -> Form:
    return call.simplifier.add(call.args[0], call.args[1])


def _difference(call: Call) -> Form:
    s = call.simplifier
    return s.add(call.args[0], s.scale(call.args[1], -1.0))


def _negation(call: Call) -> Form:
    return call.simplifier.scale(call.args[0], -1.0)


def _product(call: Call) -> Form:
    return call.simplifier.multiply(call.args[0], call.args[1])


def _quotient(call: Call) -> Form:
    s = call.simplifier
    return s.multiply(call.args[0], s.power(call.args[1], Form(-1.0)))


def _power(call: Call) -> Form:
    return call.simplifier.power(call.args[0], call.args[1])


def _square_root(call: Call) -> Form:
    return call.simplifier.power(call.args[0], Form(0.5))


def _exp_as_power_of_e(call: Call) -> Form:
    s = call.simplifier
    return s.power(s.atom(s._e()), call.args[0])


def _undoes_exp(call: Call) -> Form | None:
    """log(c·e^a) = a + log(c) for c > 0: None for any other argument."""
    s = call.simplifier
    single = call.args[0].single_term()
    if single is None or single[0] <= 0 or len(single[1]) != 1:
        return None
    (base, exponent), = single[1]
    if not s._is_e(base):
        return None
    result = s._exponent_form(exponent)
    if single[0] != 1.0:
        result = s.add(result, s.function(call.op.name, [Form(single[0])]))
    return result


def _identity_where_nonnegative(call: Call) -> Form | None:
    s = call.simplifier
    return call.args[0] if s._known_sign(call.args[0]) is not None else None


def _one_where_positive(call: Call) -> Form | None:
    s = call.simplifier
    return Form(1.0) if s._known_sign(call.args[0]) == POSITIVE else None


def _zero_where_nonpositive(call: Call) -> Form | None:
    s = call.simplifier
    return Form(0.0) if s._known_sign(s.scale(call.args[0].copy(), -1.0)) is not None else None


def _fold_constant_argument(call: Call) -> Form | None:
    value = call.simplifier._constant_value(call.nodes[0])
    if value is None or is_tiny(value):
        # cos(pi/2) is 6.1e-17 in floats and 0 in fact: the sign of float
        # noise is not the maths', so sign(cos(pi/2)) stays as written.
        return None
    return Form(float(call.op.evaluate(value)))


def _identity_on_scalars(call: Call) -> Form:
    return call.args[0]


def _fold_numbers(call: Call) -> Form | None:
    values = call.numbers
    if values is None:
        return None
    folded = fold(call.op, values)
    return Form(folded) if folded is not None and nice(folded, *values) is not None else None


def _sign_out(call: Call) -> Form | None:
    s = call.simplifier
    if not is_negated(call.args[0]):
        return None
    positive = s.function(call.op.name, [s.scale(call.args[0].copy(), -1.0)])
    return positive if call.op.parity == "even" else s.scale(positive, -1.0)


# --- the table ---------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    # The operators become the algebra of forms, which collects like terms.
    Rule(named("add"), _sum, "a + b: the coefficients of equal terms add (x + x → 2*x)"),
    Rule(named("sub"), _difference, "a - b = a + (-1)·b, so that x - x → 0"),
    Rule(named("neg"), _negation, "-a = (-1)·a"),
    Rule(named("mul"), _product, "a·b: exponents of equal bases add (x*x → x^2)"),
    Rule(named("div"), _quotient,
         "a/b = a·b^-1, so that x/x → 1 and x^3/x → x^2 (defined where x/x was not)"),
    Rule(named("pow"), _power, "a^b, distributed only where valid for every real"),
    # One form for roots and exponentials, printed back as the program writes them.
    Rule(named("sqrt"), _square_root,
         "sqrt(a) = a^(1/2): one form, so sqrt(x)*sqrt(x) → x for the x where both exist"),
    Rule(named("exp"), _exp_as_power_of_e,
         "exp(a) = e^a: one form, so e^x*exp(-x) → 1 and exp(x)^2 → exp(2*x)"),
    Rule(lambda op: op.inverse == "exp", _undoes_exp,
         "log(c·e^a) = a + log(c), for every real a (log(e) → 1, log(exp(x)) → x); "
         "exp(log(x)) stays: it is undefined for x <= 0, and x is not"),
    # Functions of an argument whose sign is known wherever it is defined.
    Rule(named("abs", "relu"), _identity_where_nonnegative,
         "abs(a) = relu(a) = a where a >= 0 wherever defined: abs(x^2 + 1) → x^2 + 1"),
    Rule(named("sign", "step"), _one_where_positive,
         "sign(a) = step(a) = 1 where a > 0 wherever defined: sign(exp(x)) → 1"),
    Rule(named("relu", "step"), _zero_where_nonpositive,
         "relu(a) = step(a) = 0 where a <= 0 wherever defined: relu(-exp(x)) → 0"),
    Rule(named("sign", "step"), _fold_constant_argument,
         "sign and step of a constant are exact: sign(tanh(3)) → 1, unless the "
         "constant is float noise (below 1e-12 in size)"),
    # The tensor ops that reach a scalar program (the shape pass lets no other through).
    Rule(named("transpose", "sum", "mean"), _identity_on_scalars,
         "x' = sum(x) = mean(x) = x for a scalar x: sum(x) + x → 2*x"),
    # Numbers.
    Rule(lambda op: True, _fold_numbers,
         "a function of numbers is a number where it reads as exactly as they do "
         "(max(2, 3) → 3), but sin(3) stays sin(3)"),
    # Symmetry, from the op table's parity facts.
    Rule(unary_with(parity=""), _sign_out,
         "f(-u) = -f(u) for odd f, f(u) for even f: sin(-x) → -sin(x), cos(-x) → cos(x)"),
)

# The rules of each op, in the table's order (patterns are matched once, here).
RULES_FOR: dict[str, tuple[Rule, ...]] = {}


def rules_for(op: Op) -> tuple[Rule, ...]:
    """The rules whose pattern matches `op`, in the table's order."""
    found = RULES_FOR.get(op.name)
    if found is None:
        found = RULES_FOR[op.name] = tuple(rule for rule in RULES if rule.pattern(op))
    return found


def apply_rules(simplifier: Simplifier, op: Op, args: Sequence[Form]) -> Form:
    """`op` applied to argument forms, by the first rule that answers; where
    none does, the op kept whole over its canonical arguments."""
    call = Call(simplifier, op, list(args))
    for rule in rules_for(op):
        result = rule.rewrite(call)
        if result is not None:
            return result
    return simplifier.atom(simplifier.builder.intern(op, tuple(call.nodes)))
