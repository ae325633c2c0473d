"""Matrix calculus: gradients, Jacobians, Hessians and index forms of programs
with vectors and matrices, built on `MatrixBuilder` (symbolic/matrix.py).

- `matrix_gradient`: reverse mode, each op's vector–Jacobian rule run over
  the builder (∂L/∂X with X's shape);
- `matrix_jacobian`: forward mode, J(A @ u) = A @ J(u), J(f(u)) =
  diag(f'(u)) @ J(u); a Hessian is the Jacobian of the gradient;
- `matrix_by_matrix`: a matrix's derivative by a matrix, exact in index form
  (∂Y_ij/∂X_kl = A_ik B_lj), for products, transposes, sums, scalar multiples
  and inverses;
- `rebuilt`: a program's output through the builder's simplifying
  constructors (the `simplify` command).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core import shapes
from ..core.errors import ShapeError
from ..core.graph import Graph
from ..core.ops import ADD, DIV, MUL, NEG, OPS, SUB
from ..core.shapes import Shape
from ..core.tensor_ops import TENSOR_OPS
from ..passes.loops import leading_to, reverse
from .matrix import MATMUL, SUM, TRANSPOSE, MatrixBuilder, ShapeOf


def matrix_gradient(graph: Graph, node_shapes: Sequence[Shape], output: int,
                    wrt: Sequence[int]) -> tuple[MatrixBuilder, dict[int, int]]:
    """∂output/∂node for each node in `wrt` (a scalar output), as nodes of a
    `MatrixBuilder` over the graph: one reverse sweep with the ops'
    vector–Jacobian rules (for elementwise ops, ḡ times the op's one
    derivative rule, summed back to the argument's shape)."""
    builder = MatrixBuilder(graph, node_shapes)
    nodes = graph.nodes
    leads = leading_to(nodes, wrt)

    def edge(index: int, position: int, adjoint: int) -> int:
        node = nodes[index]
        args = tuple(node.args)
        if node.op.vjp:
            rule = node.op.vjp[position]
            if rule is None:
                raise ShapeError(f"{node.op.name}: argument {position + 1} is not differentiated")
            found = rule(builder, args, index, adjoint)
        else:
            partial = node.op.derivatives[position](builder, args, index)
            found = builder.mul(adjoint, partial)
        return builder.sum_to(found, builder.shape(args[position]))

    adjoints = reverse(nodes, output, builder._constant(1.0), _no_local, builder, edge=edge,
                       leads=leads)
    return builder, {index: adjoints.get(index, builder._constant(0.0)) for index in wrt}


def _no_local(index: int, position: int) -> int:
    raise AssertionError("matrix edges are vector–Jacobian products")


_REBUILT = {"add": "add", "sub": "sub", "mul": "mul", "div": "div", "pow": "pow",
            "neg": "neg", "matmul": "matmul", "transpose": "transpose", "sum": "total",
            "inv": "inv", "diag": "diag", "ones_like": "ones_like"}


def rebuilt(graph: Graph, node_shapes: Sequence[Shape], root: int) -> tuple[MatrixBuilder, int]:
    """Node `root` of a program with vectors or matrices rebuilt through the
    simplifying constructors (the `simplify` command): one forward pass, each
    op by its constructor (the rest as they are)."""
    builder = MatrixBuilder(graph, node_shapes)
    new = list(range(len(graph.nodes)))  # inputs and constants stay where they are
    for index in range(root + 1):
        node = graph.nodes[index]
        if not node.args:
            continue
        args = [new[a] for a in node.args]
        method = _REBUILT.get(node.op.name)
        if method is not None:
            new[index] = getattr(builder, method)(*args)
        elif node.op.name in OPS:
            new[index] = builder.apply(node.op.name, *args)
        elif node.op.name == "mean":
            new[index] = builder.div(builder.total(args[0]), builder.size(args[0]))
        elif node.op.name == "dot":
            new[index] = builder.total(builder.mul(args[0], args[1]))
        elif node.op.name == "outer":
            new[index] = builder.matmul(args[0], builder.transpose(args[1]))
        else:
            new[index] = builder._node(node.op, tuple(args), node_shapes[index])
    return builder, new[root]


def matrix_jacobian(builder: MatrixBuilder, root: int, wrt: int) -> int:
    """∂root/∂wrt in matrix form, for a vector (or scalar) node `root` and a
    vector input `wrt` of length n: an m×n matrix (row i: the gradient of
    root's element i), or for a scalar root a row vector. One forward sweep
    over the builder's nodes up to `root` (forward mode: each node's
    Jacobian from its arguments'), the elementwise ops by their one derivative
    rule: J(f(u)) = diag(f'(u)) @ J(u). A matrix-valued node that depends on
    `wrt` has no matrix Jacobian (it would be a third-order array): a
    ShapeError says so."""
    nodes = builder.nodes
    if builder.shapes[wrt].rank != 1:
        raise ShapeError("a Jacobian is with respect to a vector (or a scalar's gradient "
                         "with respect to a matrix: diff --wrt)")
    jacobians: dict[int, int] = {wrt: builder.eye(_square_of(builder, wrt))}
    needed = _below(nodes, root)  # not the nodes the simplifier built and left
    for index in range(wrt + 1, root + 1):
        node = nodes[index]
        if index not in needed:
            continue
        if not node.args or node.op.name == "ones_like":
            continue
        parts = [(position, arg) for position, arg in enumerate(node.args)
                 if arg in jacobians]
        if not parts:
            continue
        shape = builder.shapes[index]
        if shape.rank == 2:
            from ..printing.text import expression_text

            if index == root:
                raise ShapeError(f"{expression_text(nodes, index)} depends on the variable "
                                 "and is a matrix: its Jacobian would be a third-order array",
                                 hint="differentiate a scalar of it, such as its sum")
            raise ShapeError(f"this goes through {expression_text(nodes, index)}, a matrix "
                             "that depends on the variable: that is not built yet",
                             hint="eval computes the gradient with numbers")
        total: int | None = None
        for position, arg in parts:
            term = _jacobian_term(builder, index, position, arg, jacobians[arg])
            total = term if total is None else builder.add(total, term)
        if total is not None:
            jacobians[index] = total
    if root not in jacobians:
        return builder._constant(0.0)
    return jacobians[root]


def _below(nodes: Sequence[Any], root: int) -> set[int]:
    """The nodes `root` depends on (itself included): a stack, no recursion."""
    seen = {root}
    stack = [root]
    while stack:
        for arg in nodes[stack.pop()].args:
            if arg not in seen:
                seen.add(arg)
                stack.append(arg)
    return seen


def _square_of(builder: MatrixBuilder, vector: int) -> ShapeOf:
    """The shape of an n×n matrix for a vector of length n, with a node to
    hold it (outer(v, v)'s shape: only the shape is read)."""
    outer = builder._node(TENSOR_OPS["outer"], (vector, vector),
                          shapes.matrix(builder.shapes[vector].dims[0],
                                        builder.shapes[vector].dims[0]))
    return ShapeOf(builder.shapes[outer], outer)


def _jacobian_term(builder: MatrixBuilder, index: int, position: int, arg: int,
                   arg_jacobian: int) -> int:
    """Node `index`'s Jacobian through its argument at `position`."""
    node = builder.nodes[index]
    op = node.op
    out_shape = builder.shapes[index]
    arg_shape = builder.shapes[arg]
    if op is MATMUL:
        left, right = node.args
        other = right if position == 0 else left
        if position == 1 and builder.shapes[left].rank == 2:
            return builder.matmul(left, arg_jacobian)  # A @ u: A @ J(u)
        if builder.shapes[other].rank == 1 and out_shape.is_scalar:
            # u' @ v (a dot product): v' @ J(u), the other vector as a row.
            row = other if builder.shapes[other].row else builder.transpose(other)
            return builder.matmul(row, arg_jacobian)
        if position == 0 and builder.shapes[right].rank == 2 and arg_shape.rank == 1:
            return builder.matmul(builder.transpose(right), arg_jacobian)  # u @ A = A' u
        raise ShapeError("the Jacobian through a product with a matrix that depends on the "
                         "variable is not built yet")
    if op is TRANSPOSE:
        return arg_jacobian
    if op is SUM:
        if arg_shape.is_scalar:
            return arg_jacobian
        ones = builder.transpose(builder.ones_like(arg))
        return builder.matmul(ones, arg_jacobian)
    if op.vjp and op.name not in ("transpose", "sum"):
        if op.name == "norm" and arg_shape.rank == 1:  # (u / ‖u‖)' @ J(u)
            return builder.matmul(builder.transpose(builder.div(arg, index)), arg_jacobian)
        if op.name == "dot":
            other = node.args[1 - position]
            return builder.matmul(builder.transpose(other), arg_jacobian)
        raise ShapeError(f"the Jacobian through {op.name} is not built yet")
    # An elementwise op: its one derivative rule, then by shapes.
    partial = op.derivatives[position](builder, tuple(node.args), index)
    if out_shape.is_scalar:
        return builder.mul(partial, arg_jacobian)
    if arg_shape.is_scalar:  # a scalar broadcast over a vector: column @ row
        column = partial if not builder.shapes[partial].is_scalar else \
            builder.mul(partial, builder.ones_like(index))
        if builder.shapes[column].row:
            column = builder.transpose(column)
        return builder.matmul(column, arg_jacobian)
    if builder.shapes[partial].is_scalar:
        return builder.mul(partial, arg_jacobian)
    return builder.matmul(builder.diag(partial), arg_jacobian)


@dataclass(frozen=True, slots=True)
class IndexTerm:
    """One term of ∂Y/∂X for matrices Y and X in index form: with `flipped`
    false, ∂Y_ij/∂X_kl = left_ik · right_lj (Y's change is left @ dX @ right);
    with it true, left_il · right_kj (left @ dX' @ right). `left` or `right`
    may be an identity (δ), `sign` is ±1."""

    left: int
    right: int
    flipped: bool = False
    sign: int = 1


def matrix_by_matrix(builder: MatrixBuilder, root: int, wrt: int) -> list[IndexTerm]:
    """∂root/∂wrt for a matrix `root` of a matrix `wrt`, exact in index form,
    for `root` built from `wrt` by products, transposes, sums, differences,
    scalar multiples and inverses (forward mode: each node's change as a sum
    of left @ dX @ right terms). Anything else (an elementwise function of a
    matrix that depends on X) is a ShapeError, never a wrong layout."""
    nodes = builder.nodes
    rows = builder.eye(_square(builder, wrt, 0))
    columns = builder.eye(_square(builder, wrt, 1))
    tangents: dict[int, list[IndexTerm]] = {wrt: [IndexTerm(rows, columns)]}
    needed = _below(nodes, root)
    for index in range(wrt + 1, root + 1):
        node = nodes[index]
        if index not in needed:
            continue
        parts = [a for a in node.args if a in tangents]
        if not parts or node.op.name == "ones_like":
            continue
        tangents[index] = _index_terms(builder, index, tangents)
    return tangents.get(root, [])


def _square(builder: MatrixBuilder, matrix: int, axis: int) -> ShapeOf:
    """A square matrix's shape of `matrix`'s rows (axis 0) or columns (1), with
    a node that has it (only the shape is read)."""
    shape = builder.shapes[matrix]
    size = shape.dims[axis]
    product = builder.matmul(matrix, builder.transpose(matrix)) if axis == 0 else \
        builder.matmul(builder.transpose(matrix), matrix)
    return ShapeOf(shapes.matrix(size, size), product)


def _index_terms(builder: MatrixBuilder, index: int,
                 tangents: dict[int, list[IndexTerm]]) -> list[IndexTerm]:
    node = builder.nodes[index]
    op = node.op
    args = node.args

    def of(arg: int) -> list[IndexTerm]:
        return tangents.get(arg, [])

    if op is MATMUL:
        left, right = args
        terms = [IndexTerm(t.left, builder.matmul(t.right, right), t.flipped, t.sign)
                 for t in of(left)]
        terms += [IndexTerm(builder.matmul(left, t.left), t.right, t.flipped, t.sign)
                  for t in of(right)]
        return terms
    if op is TRANSPOSE:
        return [IndexTerm(builder.transpose(t.right), builder.transpose(t.left),
                          not t.flipped, t.sign) for t in of(args[0])]
    if op in (ADD, SUB):
        second = -1 if op is SUB else 1
        return of(args[0]) + [IndexTerm(t.left, t.right, t.flipped, t.sign * second)
                              for t in of(args[1])]
    if op is NEG:
        return [IndexTerm(t.left, t.right, t.flipped, -t.sign) for t in of(args[0])]
    if op is MUL and builder.shapes[args[0]].is_scalar and args[0] not in tangents:
        return [IndexTerm(builder.mul(args[0], t.left), t.right, t.flipped, t.sign)
                for t in of(args[1])]
    if op is MUL and builder.shapes[args[1]].is_scalar and args[1] not in tangents:
        return [IndexTerm(builder.mul(args[1], t.left), t.right, t.flipped, t.sign)
                for t in of(args[0])]
    if op is DIV and builder.shapes[args[1]].is_scalar and args[1] not in tangents:
        return [IndexTerm(builder.div(t.left, args[1]), t.right, t.flipped, t.sign)
                for t in of(args[0])]
    if op.name == "inv":  # d inv(U) = -inv(U) dU inv(U)
        return [IndexTerm(builder.matmul(index, t.left), builder.matmul(t.right, index),
                          t.flipped, -t.sign) for t in of(args[0])]
    raise ShapeError(f"the derivative of a matrix through {op.name} with respect to a "
                     "matrix is not built yet (index form covers products, transposes, "
                     "sums, scalar multiples and inverses)")


def index_text(builder: MatrixBuilder, terms: list[IndexTerm], out: str, wrt: str,
               text: Any) -> str:
    """`∂Y_ij/∂X_kl = A_ik*B_lj - ...`: each term's factors subscripted, an
    identity as δ, a factor longer than a name in brackets; `text` prints
    a node as exprgraph text."""
    def factor(node: int, first: str, second: str) -> str:
        if node in builder.identities:
            return f"δ_{first}{second}"
        shown = text(_expression(builder, node))
        bare = shown.isidentifier()
        return f"{shown}_{first}{second}" if bare else f"({shown})_{first}{second}"

    parts = []
    for term in terms:
        left = factor(term.left, "i", "l" if term.flipped else "k")
        right = factor(term.right, "k" if term.flipped else "l", "j")
        parts.append(("-" if term.sign < 0 else "+", f"{left}*{right}"))
    if not parts:
        body = "0"
    else:
        body = ("-" if parts[0][0] == "-" else "") + parts[0][1] + "".join(
            f" {sign} {product}" for sign, product in parts[1:])
    return f"∂{out}_ij/∂{wrt}_kl = {body}"


def _expression(builder: MatrixBuilder, node: int) -> Any:
    from .calculus import Expression

    return Expression(tuple(builder.nodes), node, tuple(builder.shapes))
