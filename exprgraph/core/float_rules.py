"""Derivative rules compiled to float functions, once, at import.

`compile_float_rule` runs an op's derivative rule (written against the
`Builder` protocol in `ops.py`) over an algebra of closures, so the result is
a plain float function f(args, out) for the hot numeric loops: a few Python
calls per partial instead of an interpretation of the rule. No eval or exec.
`ops.py` calls it for every entry of the table that has no hand-written
float partial.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

FloatRule = Callable[[Sequence[float], float], float]
_Compiled = float | FloatRule  # a number known at import, or a function of (args, out)


class _FloatCompiler:
    """The `Builder` protocol over closures: running a derivative rule through
    it once (at import) gives the rule as a float function f(args, out).

    A value is a float (a constant, folded at once: log(2) in log2's rule) or
    a function of (args, out). Arguments and the op's value are projections;
    an operation on projections reads them directly, so ∂(x*y)/∂x is one call
    that returns args[1] and sin's rule is cos(args[0]). No eval or exec:
    the result is nested closures over the same float functions the
    evaluator uses, so the float algebra (`algebras.FloatAlgebra`) and the
    compiled rule compute the same floats."""

    def __init__(self, evaluate: dict[str, Callable[..., float]]) -> None:
        self._evaluate = evaluate
        # projection function → argument position (-1: the op's own value)
        self._position: dict[FloatRule, int] = {}

    def arguments(self, arity: int) -> tuple[FloatRule, ...]:
        """The placeholders a rule is run on: each argument, then the op's value."""
        projections = [self._projection(k) for k in range(arity)]
        return tuple(projections)

    def value(self) -> FloatRule:
        return self._projection(-1)

    def _projection(self, position: int) -> FloatRule:
        if position < 0:
            def read(args: Sequence[float], out: float) -> float:
                return out
        else:
            def read(args: Sequence[float], out: float) -> float:
                return args[position]
        self._position[read] = position
        return read

    def _call(self, fn: Callable[..., float], *operands: _Compiled) -> _Compiled:
        if not any(callable(v) for v in operands):
            return float(fn(*operands))  # a constant subexpression, folded now
        if len(operands) == 1:
            return self._unary(fn, operands[0])  # type: ignore[arg-type]
        if len(operands) == 2:
            return self._binary(fn, *operands)
        parts = [v if callable(v) else (lambda args, out, c=v: c) for v in operands]
        return lambda args, out: fn(*[part(args, out) for part in parts])

    def _unary(self, fn: Callable[..., float], a: FloatRule) -> FloatRule:
        k = self._position.get(a)
        if k == -1:
            return lambda args, out: fn(out)
        if k is not None:
            return lambda args, out: fn(args[k])
        return lambda args, out: fn(a(args, out))

    def _binary(self, fn: Callable[..., float], a: _Compiled, b: _Compiled) -> FloatRule:
        if not callable(a):
            inner = self._unary(lambda v: fn(a, v), b)  # type: ignore[arg-type]
            return inner
        if not callable(b):
            return self._unary(lambda v: fn(v, b), a)
        ka, kb = self._position.get(a), self._position.get(b)
        if ka is not None and kb is not None and ka >= 0 and kb >= 0:
            return lambda args, out: fn(args[ka], args[kb])
        if ka is not None and ka >= 0 and kb == -1:
            return lambda args, out: fn(args[ka], out)
        return lambda args, out: fn(a(args, out), b(args, out))

    def const(self, value: float) -> _Compiled:
        return float(value)

    def add(self, a: _Compiled, b: _Compiled) -> _Compiled:
        return self._call(operator.add, a, b)

    def sub(self, a: _Compiled, b: _Compiled) -> _Compiled:
        return self._call(operator.sub, a, b)

    def mul(self, a: _Compiled, b: _Compiled) -> _Compiled:
        return self._call(operator.mul, a, b)

    def div(self, a: _Compiled, b: _Compiled) -> _Compiled:
        return self._call(operator.truediv, a, b)

    def neg(self, a: _Compiled) -> _Compiled:
        return self._call(operator.neg, a)

    def pow(self, a: _Compiled, b: _Compiled) -> _Compiled:
        return self._call(math.pow, a, b)

    def apply(self, op_name: str, *args: _Compiled) -> _Compiled:
        return self._call(self._evaluate[op_name], *args)


def compile_float_rule(rule: Callable[..., Any], arity: int,
                       evaluate: dict[str, Callable[..., float]]) -> FloatRule:
    """`rule` (one argument's derivative rule) as a float function f(args, out)."""
    compiler = _FloatCompiler(evaluate)
    result = rule(compiler, compiler.arguments(arity), compiler.value())
    if callable(result):
        return result
    constant = float(result)
    return lambda args, out: constant
