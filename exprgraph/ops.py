"""The op table: every primitive exprgraph knows, in one place.

Each `Op` carries everything any pass needs about it, so evaluation, reverse
mode, forward mode, symbolic differentiation and printing all read the same
entry (the shape of JAX's per-primitive rules). Adding a function to the
language is one new entry here.

Per op:

- `evaluate(*args) -> float`: the float value. It may raise ValueError
  (outside the domain), ZeroDivisionError or OverflowError; the evaluator
  turns those into `MathError` using `domain`.
- `partials[i](*args, out) -> float`: the local partial derivative with
  respect to argument i, from the argument values and the op's own value.
  One function per argument, so a pass only computes the partials it needs
  (∂(x^2)/∂2 = x^2·log x would fail for x < 0 and is never wanted).
- `derivatives[i](b, args, out) -> node`: the same partial built as graph
  nodes with a builder `b` (see `symbolic.SymbolicBuilder`), so derivatives of
  derivatives need no extra code.
- printing: `symbol`, `precedence`, `fixity`, `right_assoc`.
- `samples`: points inside the domain and away from kinks, where the op-table
  test (tests/test_op_table.py) checks every rule of the entry; empty means
  `DEFAULT_SAMPLES` for its arity.

Derivative conventions at points where a function is not differentiable
(also in the README): abs'(0) = 0, relu'(0) = 0, sign' = step' = 0, and at a
tie min and max split the derivative evenly (0.5 to each argument), like
JAX and PyTorch. ∂(x^y)/∂y is taken as 0 where x = 0 and y > 0. atan2(0, 0)
is 0 (as in C and NumPy), but the partials of atan2 and hypot at the origin
are undefined (a math error), as sqrt's are at 0.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol


class Builder(Protocol):
    """What symbolic derivative rules may call to build nodes (ids are ints)."""

    def const(self, value: float) -> int: ...
    def add(self, a: int, b: int) -> int: ...
    def sub(self, a: int, b: int) -> int: ...
    def mul(self, a: int, b: int) -> int: ...
    def div(self, a: int, b: int) -> int: ...
    def neg(self, a: int) -> int: ...
    def pow(self, a: int, b: int) -> int: ...
    def apply(self, op_name: str, *args: int) -> int: ...


# Printing precedence, loosest first. A node needs parentheses where its
# precedence is lower than its position demands (see render/text.py).
PREC_SUM = 1
PREC_PRODUCT = 2
PREC_UNARY = 3
PREC_POWER = 4
PREC_ATOM = 5


@dataclass(frozen=True, slots=True)
class Op:
    """One primitive operation; see the module docstring for the fields."""

    name: str
    arity: int
    evaluate: Callable[..., float]
    partials: tuple[Callable[..., float], ...]
    derivatives: tuple[Callable[..., int], ...]
    fixity: str = "call"  # "infix", "prefix", "call" or "leaf"
    symbol: str = ""
    precedence: int = PREC_ATOM
    right_assoc: bool = False
    domain: str = ""  # what the arguments must satisfy, for error messages
    note: str = ""  # one line for the README's function table
    latex: str = ""  # LaTeX template over the arguments {0}, {1}; "" for operators
    vector: Callable[[Any], Callable[..., Any]] | None = None  # numpy module → array function
    samples: tuple[tuple[float, ...], ...] = ()  # test points; () → DEFAULT_SAMPLES[arity]


# Test points for an op defined on all reals, none of them a kink (0, a tie)
# nor on atan2's branch cut (y = 0, x < 0).
DEFAULT_SAMPLES: dict[int, tuple[tuple[float, ...], ...]] = {
    1: ((-1.3,), (-0.4,), (0.7,), (2.1,)),
    2: ((0.7, -1.3), (-0.4, 2.1), (1.9, 0.6), (-2.2, -0.5)),
}


def sample_points(op: Op) -> tuple[tuple[float, ...], ...]:
    """Where the op-table test checks `op`: its own samples, else the defaults."""
    return op.samples or DEFAULT_SAMPLES.get(op.arity, ())


def _leaf(*_: float) -> float:
    raise TypeError("leaf nodes are not evaluated by their op")


INPUT = Op("input", 0, _leaf, (), (), fixity="leaf")
CONST = Op("const", 0, _leaf, (), (), fixity="leaf")


# --- float helpers with the conventions documented above -------------------


def _sigmoid(x: float) -> float:
    # Two branches so exp never overflows: exp of a non-positive number.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _softplus(x: float) -> float:
    # log(1 + e^x) without overflow for large x.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _sign(x: float) -> float:
    return float((x > 0) - (x < 0))


def _step(x: float) -> float:
    return 1.0 if x > 0 else 0.0


def _relu(x: float) -> float:
    return x if x > 0 else 0.0


def _tie_share(first: float, second: float) -> float:
    """∂max(a, b)/∂a: 1 where a wins, 0 where it loses, 0.5 at a tie."""
    return 1.0 if first > second else 0.5 if first == second else 0.0


def _pow_by_exponent(a: float, b: float, out: float) -> float:
    if a == 0.0 and b > 0.0:
        return 0.0
    return out * math.log(a)


def _pow_by_base(a: float, b: float, out: float) -> float:
    if b == 0.0:
        return 0.0
    return b * math.pow(a, b - 1.0)


def _atan2_by_y(y: float, x: float, out: float) -> float:
    # x/(x² + y²), with the square root of the sum from hypot so that it
    # neither overflows (y = x = 1e200) nor underflows; 0/0 at the origin.
    r = math.hypot(x, y)
    return x / r / r


def _atan2_by_x(y: float, x: float, out: float) -> float:
    r = math.hypot(x, y)
    return -y / r / r


def _unit(*_: float) -> float:
    return 1.0


def _minus_unit(*_: float) -> float:
    return -1.0


def _zero(*_: float) -> float:
    return 0.0


# --- symbolic rules: b is a Builder, x/y are argument nodes, o the op's node --


def _s_one(b: Builder, args: tuple[int, ...], out: int) -> int:
    return b.const(1.0)


def _s_minus_one(b: Builder, args: tuple[int, ...], out: int) -> int:
    return b.const(-1.0)


def _s_zero(b: Builder, args: tuple[int, ...], out: int) -> int:
    return b.const(0.0)


def _s_half_tie(first: int, second: int, sign: float) -> Callable[..., int]:
    """(1 ± sign(a - b))/2: the derivative of min/max with the tie split."""

    def rule(b: Builder, args: tuple[int, ...], out: int) -> int:
        s = b.apply("sign", b.sub(args[first], args[second]))
        signed = b.add(b.const(1.0), s) if sign > 0 else b.sub(b.const(1.0), s)
        return b.div(signed, b.const(2.0))

    return rule


def _s_log_const(base: float) -> Callable[..., int]:
    """1/(x*log(base)): the derivative of log2 and log10."""

    def rule(b: Builder, args: tuple[int, ...], out: int) -> int:
        ln_base = b.apply("log", b.const(base))
        return b.div(b.const(1.0), b.mul(args[0], ln_base))

    return rule


def _s_square_sum(b: Builder, args: tuple[int, ...]) -> int:
    return b.add(b.pow(args[0], b.const(2.0)), b.pow(args[1], b.const(2.0)))


def _s_one_minus_square(b: Builder, x: int) -> int:
    return b.sub(b.const(1.0), b.pow(x, b.const(2.0)))


# --- the table ---------------------------------------------------------------

# Test points for functions of a restricted domain (see `sample_points`).
_INSIDE_UNIT = ((-0.8,), (-0.3,), (0.2,), (0.9,))
_POSITIVE = ((0.05,), (0.4,), (1.0,), (3.0,), (250.0,))


def _binary(name: str, symbol: str, prec: int, fn: Callable[..., float], partials: Any,
            derivatives: Any, **kw: Any) -> Op:
    return Op(name, 2, fn, partials, derivatives, fixity="infix", symbol=symbol,
              precedence=prec, **kw)


def _function(name: str, fn: Callable[..., float], partial: Callable[..., float],
              derivative: Callable[..., int], **kw: Any) -> Op:
    return Op(name, 1, fn, (partial,), (derivative,), **kw)


ADD = _binary("add", "+", PREC_SUM, operator.add, (_unit, _unit), (_s_one, _s_one))
SUB = _binary("sub", "-", PREC_SUM, operator.sub, (_unit, _minus_unit),
              (_s_one, _s_minus_one))
MUL = _binary(
    "mul", "*", PREC_PRODUCT, operator.mul,
    (lambda a, b, o: b, lambda a, b, o: a),
    (lambda bd, x, o: x[1], lambda bd, x, o: x[0]),
)
DIV = _binary(
    "div", "/", PREC_PRODUCT, operator.truediv,
    (lambda a, b, o: 1.0 / b, lambda a, b, o: -a / (b * b)),
    (lambda bd, x, o: bd.div(bd.const(1.0), x[1]),
     lambda bd, x, o: bd.neg(bd.div(x[0], bd.pow(x[1], bd.const(2.0))))),
    domain="the divisor must not be 0",
)
POW = _binary(
    "pow", "^", PREC_POWER, math.pow,
    (_pow_by_base, _pow_by_exponent),
    (lambda bd, x, o: bd.mul(x[1], bd.pow(x[0], bd.sub(x[1], bd.const(1.0)))),
     lambda bd, x, o: bd.mul(o, bd.apply("log", x[0]))),
    right_assoc=True,
    domain="0 cannot be raised to a negative power, and a negative number only to "
    "an integer power",
    note="also written x**y or pow(x, y); right-associative",
    # A positive base: ∂/∂y = x^y·log x needs it.
    samples=((0.7, 1.3), (2.1, -0.4), (1.5, 2.0), (3.0, 0.5), (0.2, -2.0)),
)
NEG = Op("neg", 1, operator.neg, (_minus_unit,), (_s_minus_one,), fixity="prefix",
         symbol="-", precedence=PREC_UNARY)

FUNCTION_OPS: tuple[Op, ...] = (
    _function("sin", math.sin, lambda x, o: math.cos(x),
              lambda b, x, o: b.apply("cos", x[0])),
    _function("cos", math.cos, lambda x, o: -math.sin(x),
              lambda b, x, o: b.neg(b.apply("sin", x[0]))),
    _function("tan", math.tan, lambda x, o: 1.0 + o * o,
              lambda b, x, o: b.add(b.const(1.0), b.pow(o, b.const(2.0)))),
    _function("asin", math.asin, lambda x, o: 1.0 / math.sqrt(1.0 - x * x),
              lambda b, x, o: b.div(b.const(1.0), b.apply("sqrt", _s_one_minus_square(b, x[0]))),
              domain="the argument must be between -1 and 1",
              samples=_INSIDE_UNIT),
    _function("acos", math.acos, lambda x, o: -1.0 / math.sqrt(1.0 - x * x),
              lambda b, x, o: b.neg(b.div(b.const(1.0),
                                          b.apply("sqrt", _s_one_minus_square(b, x[0])))),
              domain="the argument must be between -1 and 1",
              samples=_INSIDE_UNIT),
    _function("atan", math.atan, lambda x, o: 1.0 / (1.0 + x * x),
              lambda b, x, o: b.div(b.const(1.0), b.add(b.const(1.0), b.pow(x[0], b.const(2.0))))),
    _function("sinh", math.sinh, lambda x, o: math.cosh(x),
              lambda b, x, o: b.apply("cosh", x[0])),
    _function("cosh", math.cosh, lambda x, o: math.sinh(x),
              lambda b, x, o: b.apply("sinh", x[0])),
    _function("tanh", math.tanh, lambda x, o: 1.0 - o * o,
              lambda b, x, o: _s_one_minus_square(b, o)),
    _function("exp", math.exp, lambda x, o: o, lambda b, x, o: o),
    _function("log", math.log, lambda x, o: 1.0 / x,
              lambda b, x, o: b.div(b.const(1.0), x[0]),
              domain="the argument must be > 0", note="natural logarithm; also ln(x)",
              samples=_POSITIVE),
    _function("log2", math.log2, lambda x, o: 1.0 / (x * math.log(2.0)), _s_log_const(2.0),
              domain="the argument must be > 0", samples=_POSITIVE),
    _function("log10", math.log10, lambda x, o: 1.0 / (x * math.log(10.0)), _s_log_const(10.0),
              domain="the argument must be > 0", samples=_POSITIVE),
    _function("sqrt", math.sqrt, lambda x, o: 0.5 / o,
              lambda b, x, o: b.div(b.const(1.0), b.mul(b.const(2.0), o)),
              domain="the argument must be >= 0", samples=_POSITIVE),
    _function("abs", abs, lambda x, o: _sign(x), lambda b, x, o: b.apply("sign", x[0]),
              note="abs'(0) = 0"),
    _function("sigmoid", _sigmoid, lambda x, o: o * (1.0 - o),
              lambda b, x, o: b.mul(o, b.sub(b.const(1.0), o)), note="1/(1 + exp(-x))"),
    _function("relu", _relu, lambda x, o: _step(x), lambda b, x, o: b.apply("step", x[0]),
              note="max(x, 0); relu'(0) = 0"),
    _function("softplus", _softplus, lambda x, o: _sigmoid(x),
              lambda b, x, o: b.apply("sigmoid", x[0]), note="log(1 + exp(x))"),
    _function("sign", _sign, _zero, _s_zero, note="-1, 0 or 1; sign' = 0"),
    _function("step", _step, _zero, _s_zero,
              note="1 for x > 0, else 0 (relu's derivative); step' = 0"),
    Op("min", 2, min,
       (lambda a, b, o: _tie_share(b, a), lambda a, b, o: _tie_share(a, b)),
       (_s_half_tie(0, 1, -1.0), _s_half_tie(0, 1, 1.0)),
       note="at a tie each argument gets derivative 0.5"),
    Op("max", 2, max,
       (lambda a, b, o: _tie_share(a, b), lambda a, b, o: _tie_share(b, a)),
       (_s_half_tie(0, 1, 1.0), _s_half_tie(0, 1, -1.0)),
       note="at a tie each argument gets derivative 0.5"),
    # The angle of the point (x, y), in (-pi, pi]. atan2(0, 0) is 0, as in C
    # and NumPy; its partials are 0/0 there, so a gradient at the origin is a
    # math error naming the node (the angle has no limit there).
    Op("atan2", 2, math.atan2, (_atan2_by_y, _atan2_by_x),
       (lambda b, x, o: b.div(x[1], _s_square_sum(b, x)),
        lambda b, x, o: b.neg(b.div(x[0], _s_square_sum(b, x)))),
       note="atan2(y, x): the angle of the point (x, y), in (−π, π]; atan2(0, 0) = 0"),
    # sqrt(x² + y²) without overflow; like sqrt at 0, its partials at the
    # origin (a cone's tip) are an error rather than a chosen value.
    Op("hypot", 2, math.hypot, (lambda x, y, o: x / o, lambda x, y, o: y / o),
       (lambda b, x, o: b.div(x[0], o), lambda b, x, o: b.div(x[1], o)),
       note="sqrt(x² + y²) without overflow"),
)

_LATEX = {
    "sin": r"\sin\left({0}\right)", "cos": r"\cos\left({0}\right)",
    "tan": r"\tan\left({0}\right)", "asin": r"\arcsin\left({0}\right)",
    "acos": r"\arccos\left({0}\right)", "atan": r"\arctan\left({0}\right)",
    "sinh": r"\sinh\left({0}\right)", "cosh": r"\cosh\left({0}\right)",
    "tanh": r"\tanh\left({0}\right)", "exp": r"e^{{{0}}}", "log": r"\ln\left({0}\right)",
    "log2": r"\log_{{2}}\left({0}\right)", "log10": r"\log_{{10}}\left({0}\right)",
    "sqrt": r"\sqrt{{{0}}}", "abs": r"\left|{0}\right|", "sigmoid": r"\sigma\left({0}\right)",
    "min": r"\min\left({0}, {1}\right)", "max": r"\max\left({0}, {1}\right)",
}


def _default_latex(op: Op) -> str:
    r"""\operatorname{name}\left({0}, {1}, ...\right): every argument, so a function
    without its own template can never drop one."""
    holes = ", ".join(f"{{{k}}}" for k in range(op.arity))
    return rf"\operatorname{{{{{op.name}}}}}\left({holes}\right)"


FUNCTION_OPS = tuple(replace(op, latex=_LATEX.get(op.name) or _default_latex(op))
                     for op in FUNCTION_OPS)

# Array versions, for evaluating a graph over many rows at once (`vector.py`).
# Each takes the numpy module, so nothing here imports numpy until it is used.
_VECTOR: dict[str, Callable[[Any], Callable[..., Any]]] = {
    "add": lambda np: np.add, "sub": lambda np: np.subtract, "mul": lambda np: np.multiply,
    "div": lambda np: np.divide, "pow": lambda np: np.power, "neg": lambda np: np.negative,
    "sin": lambda np: np.sin, "cos": lambda np: np.cos, "tan": lambda np: np.tan,
    "asin": lambda np: np.arcsin, "acos": lambda np: np.arccos, "atan": lambda np: np.arctan,
    "sinh": lambda np: np.sinh, "cosh": lambda np: np.cosh, "tanh": lambda np: np.tanh,
    "exp": lambda np: np.exp, "log": lambda np: np.log, "log2": lambda np: np.log2,
    "log10": lambda np: np.log10, "sqrt": lambda np: np.sqrt, "abs": lambda np: np.abs,
    "sigmoid": lambda np: lambda x: np.exp(-np.logaddexp(0.0, -x)),
    "relu": lambda np: lambda x: np.maximum(x, 0.0),
    "softplus": lambda np: lambda x: np.logaddexp(0.0, x),
    "sign": lambda np: np.sign, "step": lambda np: lambda x: np.where(np.greater(x, 0), 1.0, 0.0),
    "min": lambda np: np.minimum, "max": lambda np: np.maximum,
    "atan2": lambda np: np.arctan2, "hypot": lambda np: np.hypot,
}
ADD, SUB, MUL, DIV, POW, NEG = (replace(op, vector=_VECTOR[op.name])
                                for op in (ADD, SUB, MUL, DIV, POW, NEG))
FUNCTION_OPS = tuple(replace(op, vector=_VECTOR[op.name]) for op in FUNCTION_OPS)

OPS: dict[str, Op] = {op.name: op for op in (INPUT, CONST, ADD, SUB, MUL, DIV, POW, NEG,
                                               *FUNCTION_OPS)}

# The names callable in the language. `ln` and `pow` are spellings of existing
# ops, so ln(x) and log(x) become the same node, as do pow(x, 2) and x^2.
FUNCTIONS: dict[str, Op] = {op.name: op for op in FUNCTION_OPS}
FUNCTIONS["ln"] = OPS["log"]
FUNCTIONS["pow"] = POW

# Operator tokens of the grammar to their ops.
BINARY_SYMBOLS: dict[str, Op] = {"+": ADD, "-": SUB, "*": MUL, "/": DIV, "^": POW, "**": POW}

# Named constants. A program that assigns one of these names, or a caller that
# supplies a value for it, makes it an ordinary variable instead.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
