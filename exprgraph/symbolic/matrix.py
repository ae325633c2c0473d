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
layout of PyTorch's `.grad` and MatrixCalculus.org's default). The
derivatives themselves are built in symbolic/matrix_derivatives.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..core import shapes
from ..core.errors import ShapeError
from ..core.graph import Graph, GraphBuilder
from ..core.ops import ADD, CONST, DIV, MUL, NEG, OPS, POW, SUB
from ..core.shapes import SCALAR, Shape
from ..core.tensor_ops import TENSOR_OPS

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

# How deep into a sum `_collect` looks for a term sharing a factor.
COLLECT_DEPTH = 16


class MatrixBuilder(GraphBuilder):
    """Node constructors with shapes that simplify as they build (module
    docstring): the builder protocol and the tensor operations the
    vector–Jacobian rules call."""

    def __init__(self, graph: Graph, node_shapes: Sequence[Shape]) -> None:
        super().__init__(graph.nodes)
        self.graph = graph
        self.shapes: list[Shape] = list(node_shapes)
        self.identities: set[int] = set()  # nodes that are an identity matrix
        self.units: dict[int, int] = {}  # e_i, the identity's row i: node → position node

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
        if a > b and self._number(a) is None:
            a, b = b, a  # one order for a sum: A + A' and A' + A are one node
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
        if self.shapes[b].is_scalar and not self.shapes[a].is_scalar:
            return self.mul(b, a)  # scalars first: s * x
        if self.nodes[a].op is NEG:  # (-a) * b = -(a * b): the sign in front
            return self.neg(self.mul(self.nodes[a].args[0], b))
        if self.nodes[b].op is NEG:
            return self.neg(self.mul(a, self.nodes[b].args[0]))
        dropped_a, dropped_b = self._drop_ones(a, b), self._drop_ones(b, a)
        if (dropped_a, dropped_b) != (a, b):
            return self.mul(dropped_a, dropped_b)
        for first, second in ((a, b), (b, a)):
            node = self.nodes[second]
            if node.op is DIV and node.args[1] == first:  # a * (b / a) = b
                return node.args[0]
            outer = self.nodes[first]
            if node.op is DIV and outer.op is MUL and outer.args[1] == node.args[1]:
                return self.mul(outer.args[0], node.args[0])  # (s * a) * (b / a) = s * b
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
                value = x ** y
            except (OverflowError, ZeroDivisionError):
                value = None  # not folded: the node says what it is
            # (-8)^(1/3) is complex in Python: left as a node too.
            if isinstance(value, float | int) and value == value and abs(value) != float("inf"):
                return self._constant(float(value))
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
        picked = self._picked(a, b)
        if picked is not None:
            return picked
        if self._inverse_pair(a, b) or self._inverse_pair(b, a):  # inv(A) @ A = I
            return self.eye(ShapeOf(shapes.matmul(self.shapes[a], self.shapes[b]), a))
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

    def _inverse_pair(self, a: int, b: int) -> bool:
        """Whether a is inv(b), or inv(c)' with b = c'."""
        node_a, node_b = self.nodes[a], self.nodes[b]
        if node_a.op.name == "inv":
            return node_a.args[0] == b
        if node_a.op is TRANSPOSE and node_b.op is TRANSPOSE:
            inner = self.nodes[node_a.args[0]]
            return inner.op.name == "inv" and inner.args[0] == node_b.args[0]
        return False

    def _picked(self, a: int, b: int) -> int | None:
        """e_i' @ v = v[i], and M @ e_i = M's column i (the row i of M'): a
        one-hot vector picks an element, or None."""
        node_a = self.nodes[a]
        if node_a.op is TRANSPOSE and node_a.args[0] in self.units:
            position = self.units[node_a.args[0]]
            if self.shapes[b].rank == 1:
                return self.index(b, position)
            return self.transpose(self.index(b, position))  # e_i' @ M: M's row i, as a row
        if b in self.units and self.shapes[a].rank == 2:
            return self.index(self.transpose(a), self.units[b])
        return None

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
            if self.shapes[left].rank == 1 and not self.shapes[left].row and \
                    self.shapes[right].rank == 2:
                # x @ A holds the numbers of x' @ A as a vector: its transpose is
                # the row x' @ A (A' @ x would be a column again).
                return self.matmul(self.transpose(left), right)
            return self.matmul(self.transpose(right), self.transpose(left))
        broadcast = op in (ADD, SUB, MUL, DIV) and any(
            self.shapes[arg].rank == 1 and shape.rank == 2 for arg in node.args)
        if op in (ADD, SUB) and not broadcast:
            # (a + b)' = a' + b' (not where a vector is added to each row: its
            # transpose would be added to each column, which no rule reads)
            return (self.add if op is ADD else self.sub)(
                self.transpose(node.args[0]), self.transpose(node.args[1]))
        if op is NEG:
            return self.neg(self.transpose(node.args[0]))
        if op in (MUL, DIV) and self.shapes[node.args[1]].is_scalar and not broadcast:
            left, right = node.args
            return (self.mul if op is MUL else self.div)(self.transpose(left), right)
        if op is MUL and self.shapes[node.args[0]].is_scalar:
            return self.mul(node.args[0], self.transpose(node.args[1]))
        return self._node(TRANSPOSE, (a,), shapes.transpose(shape))

    def total(self, a: int) -> int:
        if self.shapes[a].is_scalar:
            return a
        node = self.nodes[a]
        if node.op is NEG:  # sum(-a) = -sum(a)
            return self.neg(self.total(node.args[0]))
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
            # A vector broadcast against a matrix's rows gets the sum of the
            # rows: a' @ ones of a's number of rows (a vector like the target).
            rows = shapes.vector(mine.dims[0])
            ones = self._node(TENSOR_OPS["ones_like"], (self._plainest_of(rows, a),), rows)
            summed = self.matmul(self.transpose(a), ones)
            return self.transpose(summed) if target.row else summed
        return a

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
        # I = diag(ones of the diagonal's length), in the language's own ops,
        # one node for each size (I + I is 2*I).
        diagonal = shapes.diag(target)
        ones = self._node(TENSOR_OPS["ones_like"], (self._plainest_of(
            diagonal, self._node(TENSOR_OPS["diag"], (node,), diagonal)),), diagonal)
        identity = self._node(TENSOR_OPS["diag"], (ones,), target)
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
        if node.op.name == "inv":  # inv(inv(A)) = A
            return node.args[0]
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
        """Zeros of a's shape with g at [i]: g times the identity's row i (e_i)
        for a vector, e_i @ g' for a matrix's row, in the language's own ops."""
        if not isinstance(shape, ShapeOf):
            raise AssertionError("unindex needs the node whose shape it is")
        target = shape.shape
        rows = target.dims[0]
        column = self._node(TENSOR_OPS["diag"], (self._node(TENSOR_OPS["ones_like"], (
            self._plainest_of(shapes.vector(rows), shape.node),), shapes.vector(rows)),),
            shapes.matrix(rows, rows))
        self.identities.add(column)
        unit = self._node(TENSOR_OPS["index"], (column, position), shapes.vector(rows))
        self.units[unit] = position
        if target.rank == 1:
            return self.mul(g, unit)
        return self.matmul(unit, self.transpose(g))

    def _plainest_of(self, shape: Shape, fallback: int) -> int:
        """A node of `shape` to take ones_like of: an input if one has it, else
        the diagonal of a square matrix built from `fallback`."""
        for index in self.graph.inputs:
            if self.shapes[index] == shape:
                return index
        for index in self.graph.inputs:  # the diagonal of a square input of that size
            dims = self.shapes[index].dims
            if len(dims) == 2 and dims[0] == dims[1] == shape.dims[0]:
                return self._node(TENSOR_OPS["diag"], (index,), shape)
        for index in self.graph.inputs:  # of an input with that many rows: diag(X @ X')
            dims = self.shapes[index].dims
            if len(dims) == 2 and dims[0] == shape.dims[0]:
                square = self._node(MATMUL, (index, self._node(
                    TRANSPOSE, (index,), shapes.transpose(self.shapes[index]))),
                    shapes.matrix(dims[0], dims[0]))
                return self._node(TENSOR_OPS["diag"], (square,), shape)
        if self.shapes[fallback] == shape:
            return fallback
        square = self.matmul(fallback, self.transpose(fallback)) \
            if self.shapes[fallback].rank == 2 else fallback
        return self._node(TENSOR_OPS["diag"], (square,), shape)

    def nonzero(self, a: int, message: str) -> int:
        return a

    # --- collecting a shared factor ------------------------------------------------

    def _collect(self, a: int, b: int, depth: int = 0) -> int | None:
        # Only the last few terms of a long sum are searched: a gradient that
        # sums 500 steps' terms must neither recurse 500 deep nor cost n².
        if depth > COLLECT_DEPTH:
            return None
        try:
            return self._collected(a, b, depth)
        except ShapeError:  # a regrouped chain with no reading: leave the sum as it is
            return None

    def _collected(self, a: int, b: int, depth: int) -> int | None:
        """a + b with a factor they share taken out, or None. `a` may be a
        sum already: b is collected with whichever of its terms shares a
        factor with it (b + B' @ x + B @ x is b + (B' + B) @ x)."""
        if a == b:
            return self.mul(self._constant(2.0), a)
        node_a = self.nodes[a]
        if node_a.op is ADD:
            for keep, other in ((node_a.args[0], node_a.args[1]),
                                (node_a.args[1], node_a.args[0])):
                merged = self._collect(other, b, depth + 1)
                if merged is not None:
                    return self.add(keep, merged)
        if node_a.op is SUB:  # (p - q) + b with p and b sharing a factor
            merged = self._collect(node_a.args[0], b, depth + 1)
            if merged is not None:
                return self.sub(merged, node_a.args[1])
        left_a, left_b = self._chain(a), self._chain(b)
        if len(left_a) > 1 and len(left_b) > 1:
            # Only where the two rests have one shape: a vector's role in a
            # product (x @ A reads x as a row) must not change when collected.
            if left_a[-1] == left_b[-1]:  # P @ x + Q @ x = (P + Q) @ x
                p, q = self._product(left_a[:-1]), self._product(left_b[:-1])
                if self.shapes[p] == self.shapes[q]:
                    return self.matmul(self.add(p, q), left_a[-1])
            if left_a[0] == left_b[0]:  # X @ P + X @ Q = X @ (P + Q)
                p, q = self._product(left_a[1:]), self._product(left_b[1:])
                if self.shapes[p] == self.shapes[q]:
                    return self.matmul(left_a[0], self.add(p, q))
        scale_a, rest_a = self._scaled(a)
        scale_b, rest_b = self._scaled(b)
        if rest_a == rest_b and (scale_a != a or scale_b != b):
            return self.mul(self.add(scale_a, scale_b), rest_a)
        if scale_a == scale_b and not self._is(scale_a, 1):  # s*P + s*Q = s*(P + Q)
            return self.mul(scale_a, self.add(rest_a, rest_b))
        # s * (P @ x) + t * (Q @ x) = (s * P + t * Q) @ x, for scalars s and t.
        (s, p_rest), (t, q_rest) = self._scalar_factor(a), self._scalar_factor(b)
        if s is not None or t is not None:
            chain_a, chain_b = self._chain(p_rest), self._chain(q_rest)
            if len(chain_a) > 1 and len(chain_b) > 1 and chain_a[-1] == chain_b[-1]:
                p, q = self._product(chain_a[:-1]), self._product(chain_b[:-1])
                if self.shapes[p] == self.shapes[q]:
                    scaled_p = p if s is None else self.mul(s, p)
                    scaled_q = q if t is None else self.mul(t, q)
                    return self.matmul(self.add(scaled_p, scaled_q), chain_a[-1])
        return None

    def _scalar_factor(self, a: int) -> tuple[int | None, int]:
        """(c, rest) with a = c * rest for a number c, or (None, a). Numbers
        only: 0.5*(A' @ x) + 0.5*(A @ x) collects, but s(x)*(A' @ x) +
        s(x)*(A @ x) keeps its matrices free of x (their Jacobian would be
        of third order)."""
        node = self.nodes[a]
        if node.op is MUL and self._number(node.args[0]) is not None and \
                not self.shapes[node.args[1]].is_scalar:
            return node.args[0], node.args[1]
        return None, a

    def _chain(self, a: int) -> list[int]:
        """The factors of a product a = f1 @ f2 @ ... (one factor if a is no
        product), read without recursion: a stack over the nested @s."""
        factors: list[int] = []
        stack = [a]
        while stack:
            top = stack.pop()
            node = self.nodes[top]
            # x @ A with a (column) vector x reads x as a row: it does not
            # associate with what stands around it, so it stays one factor.
            if node.op is MATMUL and not self._vector_times_matrix(top):
                left, right = node.args
                stack.extend((right, left))
            else:
                factors.append(top)
        return factors

    def _vector_times_matrix(self, index: int) -> bool:
        left, right = self.nodes[index].args
        return self.shapes[left].rank == 1 and not self.shapes[left].row and \
            self.shapes[right].rank == 2

    def _product(self, factors: list[int]) -> int:
        """f1 @ f2 @ ...; a ShapeError where regrouping a chain with vectors
        in it has no reading (the callers then collect nothing)."""
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
            if self.nodes[left].op.name == "ones_like" and \
                    self.shapes[other] == self.shapes[left]:
                return right
        return a
