"""The tensor primitives: each one entry with its shape rule, its value and its
vector–Jacobian products, written once against the builder protocol.

A rule's algebra `b` is the `Builder` protocol plus `matmul`, `transpose`,
`total` (the sum of all elements), `broadcast_to(a, shape)`, `sum_to(a,
shape)` (a broadcast adjoint summed back) and `shape(a)`;
interpreted by `passes.tensor.TensorAlgebra` it computes with NumPy. The
vector–Jacobian product `vjp[i](b, args, out, g)` is ḡ_i, the adjoint that
argument i receives from an adjoint g of the result (CS231n's "backprop for
a matrix product": ḡ_A = ḡ @ Bᵀ, ḡ_B = Aᵀ @ ḡ).

These entries join the op table (`OPS`) when the language reaches them
(`@`, `'`, `sum(...)`); until then they are used through `passes.tensor`.
"""

from __future__ import annotations

from typing import Any

from . import shapes
from .ops import PREC_POWER, PREC_PRODUCT, Op


def _no_scalar(*_: float) -> float:
    raise TypeError("a tensor op is evaluated by an algebra, not on floats")


def _matmul_by_left(b: Any, args: tuple[Any, ...], out: Any, g: Any) -> Any:
    return b.matmul(g, b.transpose(args[1]))


def _matmul_by_right(b: Any, args: tuple[Any, ...], out: Any, g: Any) -> Any:
    a, c = args
    left, right = b.shape(a), b.shape(c)
    if left.rank == 1 and not left.row and right.rank == 2:
        # x @ A with x a vector is x' @ A read as a vector (NumPy's habit):
        # ḡ_A = x @ ḡ', the outer product.
        return b.matmul(a, b.transpose(g))
    return b.matmul(b.transpose(a), g)


MATMUL = Op("matmul", 2, _no_scalar, (), fixity="infix", symbol="@",
            precedence=PREC_PRODUCT, shape_rule=shapes.matmul,
            forward=lambda b, x: b.matmul(x[0], x[1]),
            vjp=(_matmul_by_left, _matmul_by_right))

TRANSPOSE = Op("transpose", 1, _no_scalar, (), fixity="postfix", symbol="'",
               precedence=PREC_POWER, shape_rule=shapes.transpose,
               forward=lambda b, x: b.transpose(x[0]),
               vjp=(lambda b, x, o, g: b.transpose(g),))

SUM = Op("sum", 1, _no_scalar, (), shape_rule=lambda a: shapes.SCALAR,
         forward=lambda b, x: b.total(x[0]),
         vjp=(lambda b, x, o, g: b.broadcast_to(g, b.shape(x[0])),))

TENSOR_OPS: dict[str, Op] = {op.name: op for op in (MATMUL, TRANSPOSE, SUM)}
