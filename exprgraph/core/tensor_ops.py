"""The tensor primitives: each one entry with its shape rule, its value and its
vector–Jacobian products, written once against the builder protocol.

A rule's algebra `b` is the `Builder` protocol plus `matmul`, `transpose`,
`total` (the sum of all elements), `broadcast_to(a, shape)`, `sum_to(a,
shape)` (a broadcast adjoint summed back) and `shape(a)`, and for the
tensor functions a few primitives with no rule of their own: `size` and
`largest` (scalars), `eye(shape)`, `diag`, `det`, `inv`, `logdet` (each a
`MathError` on a singular matrix, `logdet` also where det <= 0),
`index(a, i)` and its adjoint `unindex(g, i, shape)`, and `nonzero(a,
message)` (a divisor that must not be 0). Interpreted by
`passes.tensor.TensorAlgebra` it computes with NumPy. The
vector–Jacobian product `vjp[i](b, args, out, g)` is ḡ_i, the adjoint that
argument i receives from an adjoint g of the result (CS231n's "backprop for
a matrix product": ḡ_A = ḡ @ Bᵀ, ḡ_B = Aᵀ @ ḡ).

The language reaches them (`@`, `'`, `x[i]`, and the functions by name:
syntax/parse.py); they stay out of the scalar op table (`OPS`), and until
tensor values are wired they compute through `passes.tensor`. On a scalar
program the shape pass lets only transpose, sum and mean through, which are
the identity there and carry a scalar value and derivative for the scalar
passes. Index positions are constant nodes (0-based whole numbers):
`index`'s vjp for them is None, and its shape rule takes the position's value
where it is known (its shape otherwise; the value's range is then checked
when the value is computed).
"""

from __future__ import annotations

from typing import Any

from . import shapes
from .ops import PREC_POWER, PREC_PRODUCT, Op


def _no_scalar(*_: float) -> float:
    raise TypeError("a tensor op is evaluated by an algebra, not on floats")


def _scalar_identity(x: float) -> float:
    return x


def _one(b: Any, args: tuple[Any, ...], out: Any) -> Any:
    return b.const(1.0)


# transpose, sum and mean are the identity on a scalar (x' = sum(x) = mean(x)
# = x), so a scalar program that uses them runs on the scalar passes: the
# value is the argument, the derivative 1 (rule, float partial and row-wise
# NumPy form alike). The shape pass lets no other tensor op reach a scalar.
_IDENTITY_ON_SCALARS: dict[str, Any] = {
    "evaluate": _scalar_identity, "derivatives": (_one,),
    "partials": (lambda args, out: 1.0,), "float_override": True,
    "vector": lambda np: _scalar_identity,
}


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

TRANSPOSE = Op("transpose", 1, **_IDENTITY_ON_SCALARS, fixity="postfix", symbol="'",
               precedence=PREC_POWER, shape_rule=shapes.transpose,
               forward=lambda b, x: b.transpose(x[0]),
               vjp=(lambda b, x, o, g: b.transpose(g),))

SUM = Op("sum", 1, **_IDENTITY_ON_SCALARS, shape_rule=lambda a: shapes.SCALAR,
         forward=lambda b, x: b.total(x[0]),
         vjp=(lambda b, x, o, g: b.broadcast_to(g, b.shape(x[0])),))



# --- the tensor functions ------------------------------------------------------
# Each rule names the identity it implements (the Matrix Cookbook's, in the
# same-shape layout: a gradient has its argument's shape). An argument that
# is a constant integer (an index) is never differentiated: its vjp is None.


def _mean_vjp(b: Any, x: tuple[Any, ...], out: Any, g: Any) -> Any:
    # ∂mean/∂x = 1/size everywhere.
    return b.div(b.broadcast_to(g, b.shape(x[0])), b.size(x[0]))


MEAN = Op("mean", 1, **_IDENTITY_ON_SCALARS, shape_rule=shapes.whole,
          forward=lambda b, x: b.div(b.total(x[0]), b.size(x[0])),
          vjp=(_mean_vjp,))

# dot(x, y) = Σ xᵢyᵢ: ḡ_x = g·y, ḡ_y = g·x.
DOT = Op("dot", 2, _no_scalar, (), shape_rule=shapes.dot,
         forward=lambda b, x: b.total(b.mul(x[0], x[1])),
         vjp=(lambda b, x, o, g: b.mul(g, x[1]), lambda b, x, o, g: b.mul(g, x[0])))

# outer(x, y) = x yᵀ: ḡ_x = ḡ @ y, ḡ_y = ḡᵀ @ x.
OUTER = Op("outer", 2, _no_scalar, (), shape_rule=shapes.outer,
           forward=lambda b, x: b.matmul(x[0], b.transpose(x[1])),
           vjp=(lambda b, x, o, g: b.matmul(g, x[1]),
                lambda b, x, o, g: b.matmul(b.transpose(g), x[0])))


def _norm_vjp(b: Any, x: tuple[Any, ...], out: Any, g: Any) -> Any:
    # ∂‖x‖/∂x = x/‖x‖ (2-norm and Frobenius alike), undefined at 0.
    size = b.nonzero(out, "norm: its gradient x/‖x‖ is undefined where every element is 0")
    return b.mul(g, b.div(x[0], size))


NORM = Op("norm", 1, _no_scalar, (), shape_rule=shapes.norm,
          forward=lambda b, x: b.pow(b.total(b.mul(x[0], x[0])), b.const(0.5)),
          vjp=(_norm_vjp,))

# tr(A) = Σ Aᵢᵢ: ḡ_A = g·I.
TRACE = Op("tr", 1, _no_scalar, (), shape_rule=shapes.square_to_scalar("tr"),
           forward=lambda b, x: b.total(b.diag(x[0])),
           vjp=(lambda b, x, o, g: b.mul(g, b.eye(b.shape(x[0]))),))

# det(A): ḡ_A = g·det(A)·A⁻ᵀ (Jacobi's formula).
DET = Op("det", 1, _no_scalar, (), shape_rule=shapes.square_to_scalar("det"),
         forward=lambda b, x: b.det(x[0]),
         vjp=(lambda b, x, o, g: b.mul(b.mul(g, o), b.transpose(b.inv(x[0]))),))

# inv(A) = Y: ḡ_A = −Yᵀ ḡ Yᵀ.
INV = Op("inv", 1, _no_scalar, (), shape_rule=shapes.inverse,
         forward=lambda b, x: b.inv(x[0]),
         vjp=(lambda b, x, o, g: b.neg(b.matmul(b.matmul(b.transpose(o), g),
                                                b.transpose(o))),))

# logdet(A) = log det A (det A > 0): ḡ_A = g·A⁻ᵀ.
LOGDET = Op("logdet", 1, _no_scalar, (), shape_rule=shapes.square_to_scalar("logdet"),
            forward=lambda b, x: b.logdet(x[0]),
            vjp=(lambda b, x, o, g: b.mul(g, b.transpose(b.inv(x[0]))),))

# diag: vector → diagonal matrix, square matrix → its diagonal; each is the
# other's adjoint, so ḡ = diag(ḡ) both ways.
DIAG = Op("diag", 1, _no_scalar, (), shape_rule=shapes.diag,
          forward=lambda b, x: b.diag(x[0]),
          vjp=(lambda b, x, o, g: b.diag(g),))


def _softmax(b: Any, x: tuple[Any, ...]) -> Any:
    # exp(x − max x) / Σ exp(x − max x): the shift cancels and nothing overflows.
    shifted = b.apply("exp", b.sub(x[0], b.largest(x[0])))
    return b.div(shifted, b.total(shifted))


# softmax(x) = s: ḡ_x = s ⊙ (ḡ − ⟨ḡ, s⟩).
SOFTMAX = Op("softmax", 1, _no_scalar, (), shape_rule=shapes.softmax, forward=_softmax,
             vjp=(lambda b, x, o, g: b.mul(o, b.sub(g, b.total(b.mul(g, o)))),))


def _logsumexp(b: Any, x: tuple[Any, ...]) -> Any:
    # m + log Σ exp(x − m) with m = max x: no overflow, and the sum is >= 1.
    top = b.largest(x[0])
    return b.add(top, b.apply("log", b.total(b.apply("exp", b.sub(x[0], top)))))


# logsumexp(x) = ℓ: ḡ_x = g·softmax(x) = g·exp(x − ℓ) (x − ℓ <= 0: no overflow).
LOGSUMEXP = Op("logsumexp", 1, _no_scalar, (), shape_rule=shapes.logsumexp,
               forward=_logsumexp,
               vjp=(lambda b, x, o, g: b.mul(g, b.apply("exp", b.sub(x[0], o))),))

# index(a, i) = a[i], 0-based, i a constant whole number (a constant node):
# a vector's element or a matrix's row, so W[i, j] is index(index(W, i), j).
# ḡ_a is zeros with ḡ at [i]; the position is not differentiated (None).
INDEX = Op("index", 2, _no_scalar, (), shape_rule=shapes.index,
           forward=lambda b, x: b.index(x[0], x[1]),
           vjp=(lambda b, x, o, g: b.unindex(g, x[1], b.shape(x[0])), None))

# ones_like(a): ones of a's shape (1 for a scalar), the vector or matrix a
# sum's gradient spreads (∂ sum(W @ x)/∂x = W' @ ones_like(W @ x)). It does not
# depend on a's values: its derivative is 0.
ONES_LIKE = Op("ones_like", 1, lambda x: 1.0, (lambda b, args, out: b.const(0.0),),
               partials=(lambda args, out: 0.0,), float_override=True,
               vector=lambda np: np.ones_like, shape_rule=lambda a: a,
               forward=lambda b, x: b.ones_like(x[0]),
               vjp=(lambda b, x, o, g: b.mul(b.const(0.0), x[0]),))

TENSOR_OPS: dict[str, Op] = {op.name: op for op in (
    MATMUL, TRANSPOSE, SUM, MEAN, DOT, OUTER, NORM, TRACE, DET, INV, LOGDET, DIAG, SOFTMAX,
    LOGSUMEXP, INDEX, ONES_LIKE)}
