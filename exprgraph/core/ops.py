"""The op table: every primitive exprgraph knows, in one place.

Each `Op` carries everything any pass needs about it, so evaluation, reverse
mode, forward mode, symbolic differentiation and printing all read the same
entry (the shape of JAX's per-primitive rules). Adding a function to the
language is one new entry here.

Per op:

- `evaluate(*args) -> float`: the float value. It may raise ValueError
  (outside the domain), ZeroDivisionError or OverflowError; the evaluator
  turns those into `MathError` using `domain`.
- `derivatives[i](b, args, out)`: THE derivative rule, written once: the
  local partial derivative with respect to argument i, built with an algebra
  `b` that follows the `Builder` protocol from the arguments and the op's own
  value. One rule, many algebras (JAX's autodidax): over floats it gives
  numbers (`algebras.FloatAlgebra`), over NumPy arrays rows
  (`vector.ArrayAlgebra`), over graph nodes a symbolic derivative
  (`symbolic.SymbolicBuilder`, so derivatives of derivatives need no extra
  code), over the simplifier's forms a canonical one (`form_gradient.FormAlgebra`).
  One rule per argument, so a pass only computes the partials it needs
  (∂(x^2)/∂2 = x^2·log x would fail for x < 0 and is never wanted).
- `partials[i](args, out) -> float`: the same rule as a float function, for
  the hot numeric loops. Not written by hand: `compile_float_rule` runs the
  rule once, at import, over an algebra of closures, so a float partial costs
  a few Python calls instead of an interpretation. Hand-written only where a
  float convention or numerics need it (pow, atan2), each with a comment.
- printing: `symbol`, `precedence`, `fixity`, `right_assoc`.
- facts for the simplifier's rules: `parity` (odd or even), `sign` (the
  value is positive or non-negative wherever defined) and `inverse` (the
  function it undoes for every real argument: log undoes exp).
- `samples`: points inside the domain and away from kinks, where the op-table
  test (tests/test_op_table.py) checks every rule of the entry; empty means
  `DEFAULT_SAMPLES` for its arity.

The compiler that turns the rules into float functions is
`float_rules.py`.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .float_rules import compile_float_rule
from .records import Record


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
# precedence is lower than its position demands (see printing/text.py).
PREC_SUM = 1
PREC_PRODUCT = 2
PREC_UNARY = 3
PREC_POWER = 4
PREC_ATOM = 5


# Op is a plain class with __slots__ and its own __init__, for start-up (see
# core/records.py); `@dataclass(init=False, repr=False, eq=False)` only records
# its fields, for `dataclasses.fields` and `replace`, and generates no method.
# Ops are compared by identity: each is one entry of the table (every pass
# asks `node.op is INPUT`), and no two entries have the same fields.
@dataclass(init=False, repr=False, eq=False)
class Op(Record):
    """One primitive operation; see the module docstring for the fields. Immutable."""

    __slots__ = _fields = (
        "name", "arity", "evaluate", "derivatives", "fixity", "symbol", "precedence",
        "right_assoc", "domain", "domain_at", "latex", "vector", "samples", "parity", "sign",
        "inverse", "shape_rule", "forward", "vjp", "partials", "float_override")
    name: str
    arity: int
    evaluate: Callable[..., float]
    derivatives: tuple[Callable[..., Any], ...]  # the rule, against the Builder protocol
    fixity: str  # "infix", "prefix", "call" or "leaf"
    symbol: str
    precedence: int
    right_assoc: bool
    domain: str  # what the arguments must satisfy, for error messages
    # Where the domain has several conditions: the one the arguments break.
    domain_at: Callable[[Sequence[float]], str] | None
    latex: str  # LaTeX template over the arguments {0}, {1}; "" for operators
    vector: Callable[[Any], Callable[..., Any]] | None  # numpy module → array function
    samples: tuple[tuple[float, ...], ...]  # test points; () → DEFAULT_SAMPLES[arity]
    # Facts the simplifier's rules read (symbolic/rules.py), checked at the
    # samples by the op-table test:
    parity: str  # "odd": f(-x) = -f(x), so sin(-x) → -sin(x); "even": f(-x) = f(x)
    sign: str  # "positive" (> 0) or "nonnegative" (>= 0) wherever it is defined
    inverse: str  # g with f(g(a)) = a for every real a: log(exp(a)) → a
    # Tensor ops (core/tensor_ops.py): the result's shape from the arguments'
    # (core/shapes.py), the value as built by an algebra, f(b, args), and each
    # argument's vector–Jacobian product, vjp[i](b, args, out, g) = ḡ_i.
    shape_rule: Callable[..., Any] | None
    forward: Callable[..., Any] | None
    vjp: tuple[Callable[..., Any], ...]
    # The rule as float functions f(args, out): compiled from `derivatives` at
    # import unless given by hand (then `float_override` says so).
    partials: tuple[Callable[[Sequence[float], float], float], ...]
    float_override: bool

    def __init__(
        self,
        name: str,
        arity: int,
        evaluate: Callable[..., float],
        derivatives: tuple[Callable[..., Any], ...],
        fixity: str = "call",
        symbol: str = "",
        precedence: int = PREC_ATOM,
        right_assoc: bool = False,
        domain: str = "",
        domain_at: Callable[[Sequence[float]], str] | None = None,
        latex: str = "",
        vector: Callable[[Any], Callable[..., Any]] | None = None,
        samples: tuple[tuple[float, ...], ...] = (),
        parity: str = "",
        sign: str = "",
        inverse: str = "",
        shape_rule: Callable[..., Any] | None = None,
        forward: Callable[..., Any] | None = None,
        vjp: tuple[Callable[..., Any], ...] = (),
        partials: tuple[Callable[[Sequence[float], float], float], ...] = (),
        float_override: bool = False,
    ) -> None:
        _set = object.__setattr__
        _set(self, "name", name)
        _set(self, "arity", arity)
        _set(self, "evaluate", evaluate)
        _set(self, "derivatives", derivatives)
        _set(self, "fixity", fixity)
        _set(self, "symbol", symbol)
        _set(self, "precedence", precedence)
        _set(self, "right_assoc", right_assoc)
        _set(self, "domain", domain)
        _set(self, "domain_at", domain_at)
        _set(self, "latex", latex)
        _set(self, "vector", vector)
        _set(self, "samples", samples)
        _set(self, "parity", parity)
        _set(self, "sign", sign)
        _set(self, "inverse", inverse)
        _set(self, "shape_rule", shape_rule)
        _set(self, "forward", forward)
        _set(self, "vjp", vjp)
        _set(self, "partials", partials)
        _set(self, "float_override", float_override)

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<Op {self.name}>"

    def __reduce__(self) -> tuple[Any, ...]:
        # By name: an op is one entry of the table (compared by identity), and
        # its rules are lambdas, which pickle cannot carry. So a graph, a
        # program or an evaluation pickles (to a worker process, say) and comes
        # back holding the very same entries.
        return op_named, (self.name,)


def op_named(name: str) -> Op:
    """The table's entry called `name`: a scalar op, or a tensor op."""
    found = OPS.get(name)
    if found is None:
        from .tensor_ops import TENSOR_OPS  # above this module: it builds on the scalar ops

        found = TENSOR_OPS[name]
    return found


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


INPUT = Op("input", 0, _leaf, (), fixity="leaf")
CONST = Op("const", 0, _leaf, (), fixity="leaf")


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


def _pow_domain_at(args: Sequence[float]) -> str:
    if args[0] == 0:
        return "0 cannot be raised to a negative power"
    return "a negative number can be raised only to an integer power"


# --- hand-written float partials: only where the rule over floats would be wrong

# pow: the rule's y·x^(y-1) and x^y·log x fail at x = 0 over floats (0^-1,
# log 0) where the convention has an answer: ∂/∂x is 0 for y = 0 (x^0 is the
# constant 1), and ∂/∂y is 0 at x = 0, y > 0 (the array algebra gets the same
# from its zero-wins product, `vector.times`; floats raise instead).
def _pow_by_base(args: Sequence[float], out: float) -> float:
    a, b = args
    if b == 0.0:
        return 0.0
    return b * math.pow(a, b - 1.0)


def _pow_by_exponent(args: Sequence[float], out: float) -> float:
    a, b = args
    if a == 0.0 and b > 0.0:
        return 0.0
    return out * math.log(a)


# atan2: the rule's x/(x² + y²) overflows for y = x = 1e200 (and underflows
# for tiny ones) although the partial is a fine float; with the square root of
# the sum from hypot it neither overflows nor underflows; 0/0 at the origin.
def _atan2_by_y(args: Sequence[float], out: float) -> float:
    y, x = args
    r = math.hypot(x, y)
    return x / r / r


def _atan2_by_x(args: Sequence[float], out: float) -> float:
    y, x = args
    r = math.hypot(x, y)
    return -y / r / r


# --- derivative rules: b is an algebra (Builder), x the arguments, o the op's value


def _s_one(b: Builder, args: tuple[Any, ...], out: Any) -> Any:
    return b.const(1.0)


def _s_minus_one(b: Builder, args: tuple[Any, ...], out: Any) -> Any:
    return b.const(-1.0)


def _s_zero(b: Builder, args: tuple[Any, ...], out: Any) -> Any:
    return b.const(0.0)


def _s_half_tie(first: int, second: int, sign: float) -> Callable[..., Any]:
    """(1 ± sign(a - b))/2: the derivative of min/max with the tie split."""

    def rule(b: Builder, args: tuple[Any, ...], out: Any) -> Any:
        s = b.apply("sign", b.sub(args[first], args[second]))
        signed = b.add(b.const(1.0), s) if sign > 0 else b.sub(b.const(1.0), s)
        return b.div(signed, b.const(2.0))

    return rule


def _s_log_const(base: float) -> Callable[..., Any]:
    """1/(x*log(base)): the derivative of log2 and log10."""

    def rule(b: Builder, args: tuple[Any, ...], out: Any) -> Any:
        ln_base = b.apply("log", b.const(base))
        return b.div(b.const(1.0), b.mul(args[0], ln_base))

    return rule


def _s_square_sum(b: Builder, args: tuple[Any, ...]) -> Any:
    return b.add(b.pow(args[0], b.const(2.0)), b.pow(args[1], b.const(2.0)))


def _s_one_minus_square(b: Builder, x: Any) -> Any:
    return b.sub(b.const(1.0), b.pow(x, b.const(2.0)))


# --- LaTeX templates and array versions of the table's entries -----------------

# A function's LaTeX template over its arguments {0}, {1}.
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


def _default_latex(name: str, arity: int) -> str:
    r"""\operatorname{name}\left({0}, {1}, ...\right): every argument, so a function
    without its own template can never drop one."""
    holes = ", ".join(f"{{{k}}}" for k in range(arity))
    return rf"\operatorname{{{{{name}}}}}\left({holes}\right)"


# Array versions, for evaluating a graph over many rows at once (`passes/vector.py`).
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


# --- the table ---------------------------------------------------------------

# Test points for functions of a restricted domain (see `sample_points`).
_INSIDE_UNIT = ((-0.8,), (-0.3,), (0.2,), (0.9,))
_POSITIVE = ((0.05,), (0.4,), (1.0,), (3.0,), (250.0,))


def _entry(name: str, arity: int, fn: Callable[..., float], derivatives: Any,
           **kw: Any) -> Op:
    """An entry of the table, with its array version (`_VECTOR`) and, for a
    function, its LaTeX template (`_LATEX`, else `\\operatorname`). Its float
    partials are compiled from its rules below, once every entry exists."""
    if kw.get("fixity", "call") == "call":
        kw["latex"] = _LATEX.get(name) or _default_latex(name, arity)
    return Op(name, arity, fn, derivatives, vector=_VECTOR[name], **kw)


def _binary(name: str, symbol: str, prec: int, fn: Callable[..., float], derivatives: Any,
            **kw: Any) -> Op:
    return _entry(name, 2, fn, derivatives, fixity="infix", symbol=symbol, precedence=prec, **kw)


def _function(name: str, fn: Callable[..., float], derivative: Callable[..., Any],
              **kw: Any) -> Op:
    return _entry(name, 1, fn, (derivative,), **kw)


ADD = _binary("add", "+", PREC_SUM, operator.add, (_s_one, _s_one))
SUB = _binary("sub", "-", PREC_SUM, operator.sub, (_s_one, _s_minus_one))
MUL = _binary("mul", "*", PREC_PRODUCT, operator.mul,
              (lambda bd, x, o: x[1], lambda bd, x, o: x[0]))
DIV = _binary(
    "div", "/", PREC_PRODUCT, operator.truediv,
    (lambda bd, x, o: bd.div(bd.const(1.0), x[1]),
     lambda bd, x, o: bd.neg(bd.div(bd.div(x[0], x[1]), x[1]))),
    domain="the divisor must not be 0",
)
POW = _binary(
    "pow", "^", PREC_POWER, math.pow,
    (lambda bd, x, o: bd.mul(x[1], bd.pow(x[0], bd.sub(x[1], bd.const(1.0)))),
     lambda bd, x, o: bd.mul(o, bd.apply("log", x[0]))),
    partials=(_pow_by_base, _pow_by_exponent), float_override=True,
    right_assoc=True,
    domain="0 cannot be raised to a negative power, and a negative number only to "
    "an integer power",
    domain_at=_pow_domain_at,
    # A positive base: ∂/∂y = x^y·log x needs it.
    samples=((0.7, 1.3), (2.1, -0.4), (1.5, 2.0), (3.0, 0.5), (0.2, -2.0)),
)
NEG = _entry("neg", 1, operator.neg, (_s_minus_one,), fixity="prefix", symbol="-",
             precedence=PREC_UNARY)

FUNCTION_OPS: tuple[Op, ...] = (
    _function("sin", math.sin, lambda b, x, o: b.apply("cos", x[0]), parity="odd"),
    _function("cos", math.cos, lambda b, x, o: b.neg(b.apply("sin", x[0])), parity="even"),
    _function("tan", math.tan, lambda b, x, o: b.add(b.const(1.0), b.pow(o, b.const(2.0))),
              parity="odd"),
    _function("asin", math.asin,
              lambda b, x, o: b.div(b.const(1.0), b.apply("sqrt", _s_one_minus_square(b, x[0]))),
              domain="the argument must be between -1 and 1",
              samples=_INSIDE_UNIT, parity="odd"),
    _function("acos", math.acos,
              lambda b, x, o: b.neg(b.div(b.const(1.0),
                                          b.apply("sqrt", _s_one_minus_square(b, x[0])))),
              domain="the argument must be between -1 and 1",
              samples=_INSIDE_UNIT),
    _function("atan", math.atan,
              lambda b, x, o: b.div(b.const(1.0), b.add(b.const(1.0), b.pow(x[0], b.const(2.0)))),
              parity="odd"),
    _function("sinh", math.sinh, lambda b, x, o: b.apply("cosh", x[0]), parity="odd"),
    _function("cosh", math.cosh, lambda b, x, o: b.apply("sinh", x[0]), parity="even",
              sign="positive"),
    _function("tanh", math.tanh, lambda b, x, o: _s_one_minus_square(b, o), parity="odd"),
    _function("exp", math.exp, lambda b, x, o: o, sign="positive"),
    _function("log", math.log, lambda b, x, o: b.div(b.const(1.0), x[0]),
              domain="the argument must be > 0",
              samples=_POSITIVE, inverse="exp"),
    _function("log2", math.log2, _s_log_const(2.0),
              domain="the argument must be > 0", samples=_POSITIVE),
    _function("log10", math.log10, _s_log_const(10.0),
              domain="the argument must be > 0", samples=_POSITIVE),
    _function("sqrt", math.sqrt, lambda b, x, o: b.div(b.const(1.0), b.mul(b.const(2.0), o)),
              domain="the argument must be >= 0", samples=_POSITIVE, sign="nonnegative"),
    _function("abs", abs, lambda b, x, o: b.apply("sign", x[0]),  # abs'(0) = sign(0) = 0
              parity="even", sign="nonnegative"),
    _function("sigmoid", _sigmoid, lambda b, x, o: b.mul(o, b.sub(b.const(1.0), o)),
              sign="positive"),
    _function("relu", _relu, lambda b, x, o: b.apply("step", x[0]),  # relu'(0) = step(0) = 0
              sign="nonnegative"),
    _function("softplus", _softplus, lambda b, x, o: b.apply("sigmoid", x[0]), sign="positive"),
    _function("sign", _sign, _s_zero, parity="odd"),
    # 1 for x > 0, else 0: relu's derivative.
    _function("step", _step, _s_zero, sign="nonnegative"),
    # At a tie each argument gets derivative 0.5.
    _entry("min", 2, min, (_s_half_tie(0, 1, -1.0), _s_half_tie(0, 1, 1.0))),
    _entry("max", 2, max, (_s_half_tie(0, 1, 1.0), _s_half_tie(0, 1, -1.0))),
    # The angle of the point (x, y), in (-pi, pi]. atan2(0, 0) is 0, as in C
    # and NumPy; its partials are 0/0 there, so a gradient at the origin is a
    # math error naming the node (the angle has no limit there).
    _entry("atan2", 2, math.atan2,
           (lambda b, x, o: b.div(x[1], _s_square_sum(b, x)),
            lambda b, x, o: b.neg(b.div(x[0], _s_square_sum(b, x)))),
           partials=(_atan2_by_y, _atan2_by_x), float_override=True),
    # sqrt(x² + y²) without overflow; like sqrt at 0, its partials at the
    # origin (a cone's tip) are an error rather than a chosen value.
    _entry("hypot", 2, math.hypot,
           (lambda b, x, o: b.div(x[0], o), lambda b, x, o: b.div(x[1], o))),
)

# --- the rules compiled to float functions (core/float_rules.py) ---------------


def _with_float_partials(table: tuple[Op, ...]) -> None:
    """Give each entry its rules as float functions (`partials`), unless it has
    them by hand. In place, as a dataclass's __post_init__ would: an entry is
    finished here, before anything reads it, and a rule may apply any entry
    (sin's applies cos), so all of them exist first. (Not rebuilt with
    `dataclasses.replace`: that cost a one-shot command's start-up.)"""
    evaluate = {op.name: op.evaluate for op in table}
    for op in table:
        if op.arity and not op.float_override:
            object.__setattr__(op, "partials", tuple(
                compile_float_rule(rule, op.arity, evaluate) for rule in op.derivatives))


_with_float_partials((INPUT, CONST, ADD, SUB, MUL, DIV, POW, NEG, *FUNCTION_OPS))

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
