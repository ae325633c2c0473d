"""The op table as JavaScript, for the interactive page (`graph --format html`).

The page recomputes both passes in the browser when a learner edits an input,
so it needs every op's float value and float partials in JavaScript. They are
exported from the op table, not copied by hand:

- each derivative rule (`op.derivatives[i]`, written once against the
  `ops.Builder` protocol) is run over `JavaScriptAlgebra`, whose values are
  JavaScript expression text: `b.mul(x[1], ...)` builds `(a[1] * ...)`,
  `b.apply("cos", x[0])` builds `F.cos(a[0])`. The rule the page runs is the
  rule Python runs; a new op's derivative needs nothing here.
- the forward functions need a JavaScript spelling per op (`Math.sin`), which
  no rule can give: they are `JS_FORWARD`, the one place, and `op_table_js`
  refuses an op that has none (a test walks the table, so adding an op
  without its JavaScript fails the tests, not a learner's page).
- where Python's float partial is hand-written for a float convention
  (`float_override`: pow's ∂/∂x = 0 at y = 0 and ∂/∂y = 0 at x = 0, y > 0;
  atan2's overflow-free form), `JS_PARTIALS` holds the same convention in
  JavaScript, and an op with an override but no JavaScript one is refused
  the same way.

The conventions that come from the rules themselves (abs'(0) = 0 and
relu'(0) = 0 through sign and step; min and max splitting a tie 0.5/0.5)
come out the same because `sign`, `step`, `min` and `max` below mirror
`ops.py`'s float helpers. Constant subexpressions of a rule (log(2) in
log2's) are folded here with Python's own float functions, as
`core/float_rules.py` folds them, so the page's partials are Python's to the
last bits wherever the JavaScript Math functions agree with C's.

No eval: the table is JavaScript source the page loads like its own script;
user text never enters it.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import NamedTuple

from ..core.ops import OPS, Op
from ..core.tensor_ops import TENSOR_OPS

# The forward functions, one JavaScript spelling per op, mirroring each op's
# `evaluate` (ops.py): sigmoid and softplus with the same overflow-free
# branches; sign, step and relu with 0 at 0; min and max return the first
# argument at a tie, as Python's do. A result outside the domain is NaN or
# ±Infinity in JavaScript where Python raises; the page shows it as undefined.
JS_FORWARD: dict[str, str] = {
    "add": "(a, b) => a + b",
    "sub": "(a, b) => a - b",
    "mul": "(a, b) => a * b",
    "div": "(a, b) => a / b",
    "pow": "(a, b) => Math.pow(a, b)",
    "neg": "(a) => -a",
    "sin": "Math.sin", "cos": "Math.cos", "tan": "Math.tan",
    "asin": "Math.asin", "acos": "Math.acos", "atan": "Math.atan",
    "sinh": "Math.sinh", "cosh": "Math.cosh", "tanh": "Math.tanh",
    "exp": "Math.exp", "log": "Math.log", "log2": "Math.log2", "log10": "Math.log10",
    "sqrt": "Math.sqrt", "abs": "Math.abs",
    "sigmoid": "(x) => { if (x >= 0) { return 1 / (1 + Math.exp(-x)); } "
               "const z = Math.exp(x); return z / (1 + z); }",
    "relu": "(x) => (x > 0 ? x : 0)",
    "softplus": "(x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))",
    "sign": "(x) => (x > 0 ? 1 : x < 0 ? -1 : 0)",
    "step": "(x) => (x > 0 ? 1 : 0)",
    "min": "(a, b) => (b < a ? b : a)",
    "max": "(a, b) => (b > a ? b : a)",
    "atan2": "Math.atan2",
    "hypot": "Math.hypot",
    # Tensor ops that are the identity on a scalar (a scalar program may use them).
    "transpose": "(a) => a", "sum": "(a) => a", "mean": "(a) => a",
    "ones_like": "(a) => 1",
}

# Hand-written float partials (ops.py's `float_override`), in JavaScript: the
# same conventions, f(a, o) over the arguments `a` and the op's value `o`.
JS_PARTIALS: dict[str, tuple[str, ...]] = {
    # ∂(x^y)/∂x is 0 for y = 0 (x^0 is the constant 1); ∂/∂y is 0 at x = 0, y > 0.
    "pow": ("(a, o) => (a[1] === 0 ? 0 : a[1] * Math.pow(a[0], a[1] - 1))",
            "(a, o) => (a[0] === 0 && a[1] > 0 ? 0 : o * Math.log(a[0]))"),
    # x/r², -y/r² with r from hypot: no overflow or underflow; 0/0 at the origin.
    "atan2": ("(a, o) => { const r = Math.hypot(a[1], a[0]); return a[1] / r / r; }",
              "(a, o) => { const r = Math.hypot(a[1], a[0]); return -a[0] / r / r; }"),
    # The tensor ops defined on a scalar: the identity (derivative 1), and ones_like (0).
    "transpose": ("(a, o) => 1",), "sum": ("(a, o) => 1",), "mean": ("(a, o) => 1",),
    "ones_like": ("(a, o) => 0",),
}


class Js(NamedTuple):
    """A value of `JavaScriptAlgebra`: JavaScript expression text, and its
    number where it is a constant known now (then `text` is its literal)."""

    text: str
    number: float | None = None


def _literal(value: float) -> Js:
    """A float as a JavaScript literal (`repr` is valid JavaScript for finite
    floats: 1.0, 1e-05, 2.5e+300); a negative one in brackets."""
    if not math.isfinite(value):
        raise ValueError(f"a rule folded to {value}, which has no JavaScript literal here")
    text = repr(float(value))
    return Js(f"({text})" if text.startswith("-") else text, float(value))


class JavaScriptAlgebra:
    """The `ops.Builder` protocol over JavaScript expression text.

    A rule run through it with arguments `a[0]`, `a[1]` and the op's value `o`
    gives the body of a JavaScript function `(a, o) => ...`. Operations on
    constants are folded with Python's float functions (the op table's own
    `evaluate` for `apply`), as the float compiler folds them."""

    def __init__(self, evaluate: dict[str, Callable[..., float]]) -> None:
        self._evaluate = evaluate

    def _fold(self, fn: Callable[..., float], operands: Iterable[Js]) -> Js | None:
        numbers = [v.number for v in operands]
        if any(n is None for n in numbers):
            return None
        try:
            return _literal(float(fn(*numbers)))
        except (ValueError, ZeroDivisionError, OverflowError):
            return None  # left for the page to find undefined, as Python would raise

    def _infix(self, symbol: str, fn: Callable[[float, float], float], a: Js, b: Js) -> Js:
        return self._fold(fn, (a, b)) or Js(f"({a.text} {symbol} {b.text})")

    def const(self, value: float) -> Js:
        return _literal(float(value))

    def add(self, a: Js, b: Js) -> Js:
        return self._infix("+", operator.add, a, b)

    def sub(self, a: Js, b: Js) -> Js:
        return self._infix("-", operator.sub, a, b)

    def mul(self, a: Js, b: Js) -> Js:
        return self._infix("*", operator.mul, a, b)

    def div(self, a: Js, b: Js) -> Js:
        return self._infix("/", operator.truediv, a, b)

    def neg(self, a: Js) -> Js:
        return self._fold(operator.neg, (a,)) or Js(f"(-{a.text})")

    def pow(self, a: Js, b: Js) -> Js:
        return self._fold(math.pow, (a, b)) or Js(f"Math.pow({a.text}, {b.text})")

    def apply(self, op_name: str, *args: Js) -> Js:
        return self._fold(self._evaluate[op_name], args) or \
            Js(f"F.{op_name}({', '.join(a.text for a in args)})")


def exported_ops() -> list[Op]:
    """The ops the page can meet in a scalar program: the scalar table, and
    the tensor ops that are defined on a scalar (transpose, sum, mean and
    ones_like, which have float rules)."""
    ops = [op for op in OPS.values() if op.arity > 0]
    ops += [op for op in TENSOR_OPS.values() if op.derivatives and op.name not in OPS]
    return ops


def partial_functions(op: Op) -> tuple[str, ...]:
    """Op's float partials as JavaScript functions `(a, o) => ...`: the
    hand-written convention where Python has one, else its rule, exported."""
    if op.float_override:
        if op.name not in JS_PARTIALS:
            raise LookupError(f"the op {op.name} has hand-written float partials and no "
                              "JavaScript ones: add them to JS_PARTIALS in "
                              "exprgraph/printing/javascript.py")
        return JS_PARTIALS[op.name]
    algebra = JavaScriptAlgebra({o.name: o.evaluate for o in exported_ops()})
    args = tuple(Js(f"a[{k}]") for k in range(op.arity))
    return tuple(f"(a, o) => {rule(algebra, args, Js('o')).text}" for rule in op.derivatives)


def _string(text: str) -> str:
    """A JavaScript string literal that is safe inside an HTML <script>."""
    return json.dumps(text, ensure_ascii=False).replace("</", "<\\/")


@lru_cache(maxsize=1)
def op_table_js() -> str:
    """The op table as a JavaScript program that defines `exprgraphOps`:
    {name: {arity, fixity, symbol, domain, f, d: [partial per argument]}}.

    Raises LookupError for an op without a JavaScript forward function or,
    where its float partials are hand-written, without JavaScript ones."""
    ops = exported_ops()
    missing = [op.name for op in ops if op.name not in JS_FORWARD]
    if missing:
        raise LookupError(f"no JavaScript for the op(s) {', '.join(missing)}: add them to "
                          "JS_FORWARD in exprgraph/printing/javascript.py")
    lines = ["// The op table of exprgraph, exported from exprgraph/core/ops.py:",
             "// derivative rules run over a JavaScript algebra (printing/javascript.py).",
             "const exprgraphOps = (() => {", "  const F = {"]
    lines += [f"    {op.name}: {JS_FORWARD[op.name]}," for op in ops]
    lines += ["  };", "  return {"]
    for op in ops:
        partials = ",\n        ".join(partial_functions(op))
        lines.append(
            f"    {op.name}: {{arity: {op.arity}, fixity: {_string(op.fixity)}, "
            f"symbol: {_string(op.symbol)}, domain: {_string(op.domain)},\n"
            f"      f: F.{op.name},\n      d: [{partials}]}},")
    lines += ["  };", "})();", ""]
    text = "\n".join(lines)
    assert "</" not in text  # it goes inside a <script> element
    return text
