"""Algebras: what the op table's derivative rules and the derivative loops
(`passes`) compute with.

A derivative rule is written once against the `ops.Builder` protocol
(`const`, `add`, `sub`, `mul`, `div`, `neg`, `pow`, `apply`); an algebra
says what those mean. This module holds the float one; the others live with
their values: `vector.ArrayAlgebra` (NumPy rows, imported only with NumPy),
`symbolic.SymbolicBuilder` (graph nodes, simplified where they are shown) and
`form_gradient.FormAlgebra` (the simplifier's canonical forms).
"""

from __future__ import annotations

import math
import operator
from typing import ClassVar

from ..core.ops import OPS


class FloatAlgebra:
    """The `ops.Builder` protocol over floats: a rule run through it gives the
    partial's value (the same floats as the op's compiled `partials`, which
    run the rule once through an algebra of closures). Errors are the float
    functions' own: ValueError outside a domain, ZeroDivisionError,
    OverflowError."""

    add: ClassVar = staticmethod(operator.add)
    sub: ClassVar = staticmethod(operator.sub)
    mul: ClassVar = staticmethod(operator.mul)
    div: ClassVar = staticmethod(operator.truediv)
    neg: ClassVar = staticmethod(operator.neg)
    pow: ClassVar = staticmethod(math.pow)

    @staticmethod
    def const(value: float) -> float:
        return float(value)

    @staticmethod
    def apply(op_name: str, *args: float) -> float:
        return float(OPS[op_name].evaluate(*args))


FLOATS = FloatAlgebra()
