"""Matrix calculus: symbolic gradients of programs with vectors and matrices.

The op table writes each tensor op's vector–Jacobian rule once against the
builder protocol (core/tensor_ops.py); the NumPy pass runs them on arrays,
the edge table on text. `MatrixBuilder` runs them on graph nodes: the
reverse loop (`passes.loops.reverse`) over it builds ∂out/∂x for a vector or
matrix x as an expression in matrix notation — `(A + A') @ x` for x'Ax —
made of the language's own ops, so it prints in exprgraph's syntax and
`eval` reads it back.

Every node it builds carries its shape, and its constructors simplify as they
build (one pass, bottom-up, as the nodes are made; no separate tree walk):

- numbers fold; 0 and 1 vanish from sums and products; -(-a) is a;
- transposes go to the leaves: (a')' = a, (A @ B)' = B' @ A', (a + b)' =
  a' + b', (s * a)' = s * a' for a scalar s; a scalar is its own transpose;
- `@` with a scalar on either side is `*`;
- a shared factor is collected: P @ x + Q @ x = (P + Q) @ x, x @ P + x @ Q =
  x @ (P + Q), s * a + t * a = (s + t) * a, a + a = 2 * a;
- ones spread by a sum's rule vanish in an elementwise product with a value
  of their shape (`ones_like(u) * v` is v); `sum(x * y)` of two vectors is
  `x' @ y`.

The gradient has the variable's shape (the same-shape or "denominator"
layout of PyTorch's `.grad` and MatrixCalculus.org's default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core import shapes
from ..core.errors import ShapeError
from ..core.graph import Graph, GraphBuilder
from ..core.ops import ADD, CONST, DIV, MUL, NEG, OPS, POW, SUB
from ..core.shapes import SCALAR, Shape
from ..core.tensor_ops import TENSOR_OPS
from ..passes.loops import leading_to, reverse

MATMUL, TRANSPOSE, SUM = TENSOR_OPS["matmul"], TENSOR_OPS["transpose"], TENSOR_OPS["sum"]


@dataclass(frozen=True, slots=True)
class ShapeOf:
    """What `shape(a)` gives the rules: a's shape, and a itself, so that ones
    spread over that shape can be written `ones_like(a)`."""

    shape: Shape
    node: int

    @property
    def is_scalar(self) -> bool:
        return self.shape.is_scalar

    @property
    def rank(self) -> int:
        return self.shape.rank

    @property
    def row(self) -> bool:
        return self.shape.row

    @property
    def dims(self) -> tuple[shapes.Dim, ...]:
        return self.shape.dims


class MatrixBuilder(GraphBuilder):
    """Node constructors with shapes that simplify as they build (module
    docstring): the builder protocol and the tensor operations the
    vector–Jacobian rules call."""

    def __init__(self, graph: Graph, node_shapes: Sequence[Shape]) -> None:
        super().__init__(graph.nodes)
        self.graph = graph
        self.shapes: list[Shape] = list(node_shapes)
        self.identities: set[int] = set()  # nodes that are an identity matrix

    # --- building --------------------------------------------------------------

    def _node(self, op: object, args: tuple[int, ...], shape: Shape) -> int:
        index = self.intern(op, args)  # type: ignore[arg-type]
        while len(self.shapes) < len(self.nodes):
            self.shapes.append(shape)
        return index

    def _number(self, index: int) -> float | None:
        node = self.nodes[index]
        return node.value if node.op is CONST else None

    def _is(self, index: int, value: float) -> bool:
        return self._number(index) == value

    def const(self, value: float) -> int:
        return self._constant(value)

    def _constant(self, value: float) -> int:
        index = self.constant(0.0 if value == 0 else float(value))
        while len(self.shapes) < len(self.nodes):
            self.shapes.append(SCALAR)
        return index

    def _broadcast(self, a: int, b: int, name: str) -> Shape:
        try:
            return shapes.broadcast(self.shapes[a], self.shapes[b], name)
        except ShapeError:  # a row against its column: the same numbers
            return self.shapes[a] if self.shapes[a].rank >= self.shapes[b].rank \
                else self.shapes[b]

    # --- the builder protocol ----------------------------------------------------

    def add(self, a: int, b: int) -> int:
        x, y = self._number(a), self._number(b)
        if x is not None and y is not None:
            return self._constant(x + y)
        if x == 0:
            return b
        if y == 0:
            return a
        collected = self._collect(a, b)
        if collected is not None:
            return collected
        if self.nodes[b].op is NEG:  # a + -b = a - b
            return self.sub(a, self.nodes[b].args[0])
        scale, rest = self._scaled(b)
        number = self._number(scale)
        if number is not None and number < 0:  # a + -2*u = a - 2*u
            return self.sub(a, self.mul(self._constant(-number), rest))
        if self.nodes[a].op is NEG:  # -a + b = b - a
            return self.sub(b, self.nodes[a].args[0])
        return self._node(ADD, (a, b), self._broadcast(a, b, "+"))

    def sub(self, a: int, b: int) -> int:
        x, y = self._number(a), self._number(b)
        if x is not None and y is not None:
            return self._constant(x - y)
        if y == 0:
            return a
        if x == 0:
            return self.neg(b)
        if self.nodes[b].op is NEG:
            return self.add(a, self.nodes[b].args[0])
        return self._node(SUB, (a, b), self._broadcast(a, b, "-"))

    def mul(self, a: int, b: int) -> int:
        x, y = self._number(a), self._number(b)
        if x is not None and y is not None:
            return self._constant(x * y)
        if x == 0 or y == 0:
            return self._constant(0.0)
        if x == 1:
            return b
        if y == 1:
            return a
        if x == -1:
            return self.neg(b)
        if y == -1:
            return self.neg(a)
        if y is not None:  # numbers first: 2 * x
            return self.mul(b, a)
        dropped_a, dropped_b = self._drop_ones(a, b), self._drop_ones(b, a)
        if (dropped_a, dropped_b) != (a, b):
            return self.mul(dropped_a, dropped_b)
        for first, second in ((a, b), (b, a)):
            node = self.nodes[second]
            if node.op is DIV and node.args[1] == first:  # a * (b / a) = b
                return node.args[0]
            if node.op is DIV and self._is(node.args[0], 1):  # a * (1 / s) = a / s
                return self.div(first, node.args[1])
        inner = self.nodes[b]
        inner_number = self._number(inner.args[0]) if inner.op is MUL else None
        if x is not None and inner_number is not None:  # 2 * (3 * a) = 6 * a
            return self.mul(self._constant(x * inner_number), inner.args[1])
        if x is not None and inner.op is MUL and self.shapes[inner.args[0]].is_scalar and \
                not self.shapes[inner.args[1]].is_scalar:  # 2 * (s * a) = (2 * s) * a
            return self.mul(self.mul(a, inner.args[0]), inner.args[1])
        return self._node(MUL, (a, b), self._broadcast(a, b, "*"))

    def div(self, a: int, b: int) -> int:
        x, y = self._number(a), self._number(b)
        if x is not None and y is not None and y != 0:
            return self._constant(x / y)
        if y == 1:
            return a
        if x == 0:
            return self._constant(0.0)
        return self._node(DIV, (a, b), self._broadcast(a, b, "/"))

    def neg(self, a: int) -> int:
        x = self._number(a)
        if x is not None:
            return self._constant(-x)
        node = self.nodes[a]
        if node.op is NEG:
            return node.args[0]
        if node.op is SUB:  # -(a - b) = b - a
            return self.sub(node.args[1], node.args[0])
        if node.op is MUL and self._number(node.args[0]) is not None:  # -(2 * a) = -2 * a
            return self.mul(self._constant(-self._number(node.args[0])), node.args[1])
        return self._node(NEG, (a,), self.shapes[a])

    def pow(self, a: int, b: int) -> int:
        x, y = self._number(a), self._number(b)
        if x is not None and y is not None:
            try:
                return self._constant(x ** y)
            except (OverflowError, ZeroDivisionError):
                pass
        if y == 1:
            return a
        if y == 0:
            return self._constant(1.0)
        return self._node(POW, (a, b), self._broadcast(a, b, "^"))

    def apply(self, op_name: str, *args: int) -> int:
        shape = self.shapes[args[0]]
        for other in args[1:]:
            shape = self._broadcast(args[0], other, op_name)
        return self._node(OPS[op_name], tuple(args), shape)

    # --- the tensor operations ---------------------------------------------------

    def matmul(self, a: int, b: int) -> int:
        if self.shapes[a].is_scalar or self.shapes[b].is_scalar:
            return self.mul(a, b)
        if self._is(a, 0) or self._is(b, 0):
            return self._constant(0.0)
        scale = self._identity_scale(b)
        if scale is not None:  # P @ (s I) = s P
            return self.mul(scale, a)
        scale = self._identity_scale(a)
        if scale is not None:
            return self.mul(scale, b)
        diag_op = TENSOR_OPS["diag"]
        node_a, node_b = self.nodes[a], self.nodes[b]
        if node_a.op is diag_op and node_b.op is diag_op and \
                self.shapes[a].rank == 2 and self.shapes[b].rank == 2 and \
                self.shapes[node_a.args[0]].rank == 1 and self.shapes[node_b.args[0]].rank == 1:
            return self.diag(self.mul(node_a.args[0], node_b.args[0]))  # diag(u) diag(v)
        for side in (a, b):  # scalars out of products: P @ (s * Q) = s * (P @ Q)
            node = self.nodes[side]
            if node.op is MUL and self.shapes[node.args[0]].is_scalar:
                rest = node.args[1]
                return self.mul(node.args[0], self.matmul(rest, b) if side == a
                                else self.matmul(a, rest))
            if node.op is NEG:
                return self.neg(self.matmul(node.args[0], b) if side == a
                                else self.matmul(a, node.args[0]))
        shape = shapes.matmul(self.shapes[a], self.shapes[b])
        return self._node(MATMUL, (a, b), shape)

    def transpose(self, a: int) -> int:
        shape = self.shapes[a]
        if shape.is_scalar or a in self.identities:
            return a
        node = self.nodes[a]
        op = node.op
        if op is TRANSPOSE:
            return node.args[0]
        if op is MATMUL:
            left, right = node.args
            return self.matmul(self.transpose(right), self.transpose(left))
        if op in (ADD, SUB):
            return (self.add if op is ADD else self.sub)(
                self.transpose(node.args[0]), self.transpose(node.args[1]))
        if op is NEG:
            return self.neg(self.transpose(node.args[0]))
        if op in (MUL, DIV) and self.shapes[node.args[1]].is_scalar:
            left, right = node.args
            return (self.mul if op is MUL else self.div)(self.transpose(left), right)
        if op is MUL and self.shapes[node.args[0]].is_scalar:
            return self.mul(node.args[0], self.transpose(node.args[1]))
        if op.name == "ones_like":
            return self._node(TENSOR_OPS["ones_like"], (self.transpose(node.args[0]),),
                              shapes.transpose(shape))
        return self._node(TRANSPOSE, (a,), shapes.transpose(shape))

    def total(self, a: int) -> int:
        if self.shapes[a].is_scalar:
            return a
        node = self.nodes[a]
        if node.op is MUL:
            x, y = node.args
            if self.shapes[x].rank == 1 and self.shapes[y].rank == 1 and \
                    self.shapes[x].row == self.shapes[y].row:
                # sum(x * y) of two vectors reads better as x' @ y.
                left = x if self.shapes[x].row else self.transpose(x)
                return self.matmul(left, y if not self.shapes[y].row else self.transpose(y))
            if self.shapes[x].is_scalar:
                return self.mul(x, self.total(y))
        return self._node(SUM, (a,), SCALAR)

    def broadcast_to(self, a: int, shape: ShapeOf | Shape) -> int:
        """A scalar spread over a shape: times ones of that shape."""
        target = shape.shape if isinstance(shape, ShapeOf) else shape
        if target.is_scalar:
            return a
        if not isinstance(shape, ShapeOf):
            raise AssertionError("broadcast_to needs the node whose shape it is")
        return self.mul(a, self.ones_like(shape.node))

    def sum_to(self, a: int, shape: ShapeOf | Shape) -> int:
        target = shape.shape if isinstance(shape, ShapeOf) else shape
        mine = self.shapes[a]
        if mine == target:
            return a
        if target.is_scalar:
            return self.total(a)
        if mine.rank == target.rank == 1 and mine.dims == target.dims:
            return self.transpose(a)  # a row for a column: the same numbers
        if target.rank == 1 and mine.rank == 2:
            # The sum of a matrix's rows: ones' @ a, as a vector.
            ones = self._node(TENSOR_OPS["ones_like"], (self._first_column(a),),
                              shapes.vector(mine.dims[0]))
            return self.transpose(self.matmul(self.transpose(ones), a))
        return a

    def _first_column(self, a: int) -> int:
        """A node of a's number of rows as a vector: a's sum over columns
        would do; ones_like needs only its shape."""
        return self.matmul(a, self._node(TENSOR_OPS["ones_like"], (self.transpose(a),),
                                         shapes.vector(self.shapes[a].dims[1])))

    def shape(self, a: int) -> ShapeOf:
        return ShapeOf(self.shapes[a], a)

    def ones_like(self, a: int) -> int:
        return self._node(TENSOR_OPS["ones_like"], (self._plainest(a),), self.shapes[a])

    def _plainest(self, a: int) -> int:
        """An input of a's shape if there is one (ones_like(x), not
        ones_like(x*x)): only the shape matters."""
        for index in self.graph.inputs:
            if self.shapes[index] == self.shapes[a]:
                return index
        return a

    def size(self, a: int) -> int:
        count = 1
        for dim in self.shapes[a].dims:
            if not isinstance(dim, int):
                return self.total(self.ones_like(a))
            count *= dim
        return self._constant(float(count))

    def largest(self, a: int) -> int:
        raise ShapeError("the symbolic gradient of softmax and logsumexp is not built yet")

    def eye(self, shape: ShapeOf | Shape) -> int:
        target = shape.shape if isinstance(shape, ShapeOf) else shape
        node = shape.node if isinstance(shape, ShapeOf) else None
        if node is None:
            raise AssertionError("eye needs the node whose shape it is")
        # I = diag(ones of the diagonal's length), in the language's own ops.
        identity = self._node(TENSOR_OPS["diag"], (self.ones_like(
            self._node(TENSOR_OPS["diag"], (node,), shapes.diag(target))),), target)
        self.identities.add(identity)
        return identity

    def _identity_scale(self, a: int) -> int | None:
        """s where a is s * I (1 for I itself), else None."""
        if a in self.identities:
            return self._constant(1.0)
        node = self.nodes[a]
        if node.op is MUL and node.args[1] in self.identities and \
                self.shapes[node.args[0]].is_scalar:
            return node.args[0]
        return None

    def diag(self, a: int) -> int:
        node = self.nodes[a]
        if self.shapes[a].rank == 1:
            if node.op is NEG:  # diag(-u) = -diag(u)
                return self.neg(self.diag(node.args[0]))
            if node.op is MUL and self.shapes[node.args[0]].is_scalar:  # diag(s u) = s diag(u)
                return self.mul(node.args[0], self.diag(node.args[1]))
            if self.shapes[a].row:
                a = self.transpose(a)
        return self._node(TENSOR_OPS["diag"], (a,), shapes.diag(self.shapes[a]))

    def det(self, a: int) -> int:
        return self._node(TENSOR_OPS["det"], (a,), SCALAR)

    def inv(self, a: int) -> int:
        node = self.nodes[a]
        if node.op is TRANSPOSE:  # inv(A') is inv(A)'
            return self.transpose(self.inv(node.args[0]))
        return self._node(TENSOR_OPS["inv"], (a,), self.shapes[a])

    def logdet(self, a: int) -> int:
        return self._node(TENSOR_OPS["logdet"], (a,), SCALAR)

    def index(self, a: int, position: int) -> int:
        value = self._number(position)
        return self._node(TENSOR_OPS["index"], (a, position),
                          shapes.index(self.shapes[a], value if value is not None else SCALAR))

    def unindex(self, g: int, position: int, shape: ShapeOf | Shape) -> int:
        raise ShapeError("the symbolic gradient of indexing is not built yet")

    def nonzero(self, a: int, message: str) -> int:
        return a

    # --- collecting a shared factor ------------------------------------------------

    def _collect(self, a: int, b: int) -> int | None:
        """a + b with a factor they share taken out, or None. `a` may be a
        sum already: b is collected with whichever of its terms shares a
        factor with it (b + B' @ x + B @ x is b + (B' + B) @ x)."""
        if a == b:
            return self.mul(self._constant(2.0), a)
        node_a = self.nodes[a]
        if node_a.op is ADD:
            for keep, other in ((node_a.args[0], node_a.args[1]),
                                (node_a.args[1], node_a.args[0])):
                merged = self._collect(other, b)
                if merged is not None:
                    return self.add(keep, merged)
        left_a, left_b = self._chain(a), self._chain(b)
        if len(left_a) > 1 and len(left_b) > 1:
            if left_a[-1] == left_b[-1]:  # P @ x + Q @ x = (P + Q) @ x
                return self.matmul(self.add(self._product(left_a[:-1]),
                                            self._product(left_b[:-1])), left_a[-1])
            if left_a[0] == left_b[0]:  # X @ P + X @ Q = X @ (P + Q)
                return self.matmul(left_a[0], self.add(self._product(left_a[1:]),
                                                       self._product(left_b[1:])))
        scale_a, rest_a = self._scaled(a)
        scale_b, rest_b = self._scaled(b)
        if rest_a == rest_b and (scale_a != a or scale_b != b):
            return self.mul(self.add(scale_a, scale_b), rest_a)
        return None

    def _chain(self, a: int) -> list[int]:
        """The factors of a product a = f1 @ f2 @ ... (one factor if a is no
        product), read without recursion: a stack over the nested @s."""
        factors: list[int] = []
        stack = [a]
        while stack:
            top = stack.pop()
            if self.nodes[top].op is MATMUL:
                left, right = self.nodes[top].args
                stack.extend((right, left))
            else:
                factors.append(top)
        return factors

    def _product(self, factors: list[int]) -> int:
        result = factors[0]
        for factor in factors[1:]:
            result = self.matmul(result, factor)
        return result

    def _scaled(self, a: int) -> tuple[int, int]:
        """(s, rest) with a = s * rest for a scalar number s (1 if none)."""
        node = self.nodes[a]
        if node.op is MUL and self._number(node.args[0]) is not None:
            return node.args[0], node.args[1]
        return self._constant(1.0), a

    def _drop_ones(self, a: int, other: int) -> int:
        """`ones_like(u) * v`: the ones vanish where v has their shape."""
        node = self.nodes[a]
        if node.op.name == "ones_like" and self.shapes[other] == self.shapes[a]:
            return self._constant(1.0)
        if node.op is DIV and self.nodes[node.args[0]].op.name == "ones_like" and \
                self.shapes[other] == self.shapes[a]:
            return self.div(self._constant(1.0), node.args[1])
        if node.op is MUL:
            left, right = node.args
            if self.nodes[right].op.name == "ones_like" and \
                    self.shapes[other] == self.shapes[right]:
                return left
        return a


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
    for index in range(wrt + 1, root + 1):
        node = nodes[index]
        if not node.args or node.op.name == "ones_like":
            continue
        parts = [(position, arg) for position, arg in enumerate(node.args)
                 if arg in jacobians]
        if not parts:
            continue
        shape = builder.shapes[index]
        if shape.rank == 2:
            raise ShapeError(f"{nodes[index].name or 'a matrix'} depends on the variable and "
                             "is a matrix: its Jacobian would be a third-order array",
                             hint="differentiate a scalar of it, such as its sum")
        total: int | None = None
        for position, arg in parts:
            term = _jacobian_term(builder, index, position, arg, jacobians[arg])
            total = term if total is None else builder.add(total, term)
        if total is not None:
            jacobians[index] = total
    if root not in jacobians:
        return builder._constant(0.0)
    return jacobians[root]


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
    for index in range(wrt + 1, root + 1):
        node = nodes[index]
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
    from ..core.graph import Node  # noqa: F401 - for the type below

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
