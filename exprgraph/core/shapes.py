"""Shapes of values: scalars, vectors (columns and rows) and matrices, and the rules ops follow.

A `Shape` is a scalar `()`, a vector `(n,)` — a column, as in the matrix
calculus MatrixCalculus.org and the Matrix Cookbook use — its transpose, a
row vector, or a matrix `(m, n)`. A dimension is a number or a name from a
declaration (`x: vector(n)`), so shapes can be checked before any value is
known; names bind to numbers when values arrive (`bind`).

The rules are those users bring from NumPy and PyTorch, with the one
difference MatrixCalculus.org makes: a vector's transpose is a row, so
`x' @ A @ x` is a scalar and `x @ y'` an outer product.

- Elementwise operations broadcast as NumPy does: a scalar against anything,
  a vector against a matrix's rows (length = the matrix's columns), equal
  shapes against each other. A row and a column vector do not mix.
- `@`: matrix @ matrix, matrix @ vector (a vector), vector @ matrix (a
  vector, as NumPy reads it; a row @ matrix is a row), row @ vector and
  vector @ vector (a scalar, the dot product), vector @ row (a matrix, the
  outer product).

Every rule raises `ShapeError` naming the operation and both shapes, in
words a learner reads: "cannot multiply a 3×2 matrix by a vector of length 3".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .errors import ShapeError
from .records import Record

Dim = int | str  # a size, or the name of one from a declaration


# A plain class rather than a frozen dataclass, for start-up: see core/records.py.
class Shape(Record):
    """The shape of a value; `row` marks a row vector (a vector's transpose).
    Immutable; equal shapes are equal (and hash alike)."""

    __slots__ = _fields = ("dims", "row")
    dims: tuple[Dim, ...]
    row: bool

    def __init__(self, dims: tuple[Dim, ...] = (), row: bool = False) -> None:
        object.__setattr__(self, "dims", dims)
        object.__setattr__(self, "row", row)

    # Record's equality and hash, written out: shapes are compared often.
    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.dims == other.dims and self.row == other.row  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.dims, self.row))

    def __repr__(self) -> str:
        return f"<Shape {describe(self)}>"

    @property
    def rank(self) -> int:
        """0 for a scalar, 1 for a vector (column or row), 2 for a matrix."""
        return len(self.dims)

    @property
    def is_scalar(self) -> bool:
        return not self.dims

    def __str__(self) -> str:
        return describe(self)


SCALAR = Shape()


def vector(n: Dim) -> Shape:
    """A (column) vector of length n."""
    return Shape((n,))


def row_vector(n: Dim) -> Shape:
    """A row vector of length n: a vector's transpose."""
    return Shape((n,), row=True)


def matrix(m: Dim, n: Dim) -> Shape:
    """An m×n matrix."""
    return Shape((m, n))


def describe(shape: Shape) -> str:
    """The shape in words: "a scalar", "a vector of length 3", "a row vector
    of length n", "a 3×2 matrix"."""
    if shape.is_scalar:
        return "a scalar"
    if shape.rank == 1:
        kind = "a row vector" if shape.row else "a vector"
        return f"{kind} of length {shape.dims[0]}"
    rows, columns = shape.dims
    return f"{_article(str(rows))} {rows}×{columns} matrix"


def _article(word: str) -> str:
    """"an" before a vowel sound as the word is read aloud: an n×n, an 8×3, a 3×2."""
    vowel_sound = word[:1] in "aefhilmnorsxAEFHILMNORSX" or word.startswith("8") or \
        word in ("11", "18")
    return "an" if vowel_sound else "a"


def same_dim(a: Dim, b: Dim) -> bool:
    """Whether two dimensions are known to be equal (a name equals only itself)."""
    return a == b


def broadcast(a: Shape, b: Shape, operation: str) -> Shape:
    """The shape of an elementwise operation on shapes a and b."""
    if a.is_scalar:
        return b
    if b.is_scalar or a == b:
        return a
    if a.rank == 2 and b.rank == 1 and not b.row and same_dim(b.dims[0], a.dims[1]):
        return a  # a vector against each row of the matrix, as in NumPy
    if b.rank == 2 and a.rank == 1 and not a.row and same_dim(a.dims[0], b.dims[1]):
        return b
    raise ShapeError(f"cannot combine {describe(a)} with {describe(b)} elementwise "
                     f"({operation})", hint=_broadcast_hint(a, b))


def _broadcast_hint(a: Shape, b: Shape) -> str:
    if a.rank == 1 and b.rank == 1 and a.row != b.row:
        return "a row vector and a vector do not mix elementwise; transpose one of them"
    if {a.rank, b.rank} == {1, 2}:
        return ("a vector combines with a matrix's rows, so its length must be the "
                "matrix's number of columns")
    return "elementwise operations need equal shapes, or a scalar on one side"


def matmul(a: Shape, b: Shape) -> Shape:
    """The shape of a @ b."""
    if a.is_scalar or b.is_scalar:
        raise ShapeError(f"@ needs a vector or a matrix on each side, not {describe(a)} @ "
                         f"{describe(b)}", hint="to scale by a number, use *")
    inner_a = a.dims[-1]
    inner_b = b.dims[0]
    if a.rank == 1 and b.rank == 1:
        if not a.row and b.row:
            return matrix(a.dims[0], b.dims[0])  # x @ y': the outer product
        if a.row and b.row:
            raise _mismatch(a, b, "a row vector cannot multiply a row vector")
        if not same_dim(inner_a, inner_b):
            raise _mismatch(a, b)
        return SCALAR  # x' @ y or x @ y: the dot product
    if not same_dim(inner_a, inner_b) or (b.rank == 1 and b.row):
        raise _mismatch(a, b)
    if a.rank == 2 and b.rank == 2:
        return matrix(a.dims[0], b.dims[1])
    if a.rank == 2:
        return vector(a.dims[0])  # A @ x
    # x @ A or x' @ A: a vector times a matrix is a vector (NumPy), a row stays a row.
    return row_vector(b.dims[1]) if a.row else vector(b.dims[1])


def _mismatch(a: Shape, b: Shape, why: str = "") -> ShapeError:
    message = f"cannot multiply {describe(a)} by {describe(b)}"
    hint = why or ("the inner sizes must agree: the columns of the left side and the "
                   "rows (or length) of the right side")
    return ShapeError(message, hint=hint)


def transpose(a: Shape) -> Shape:
    """The shape of a': a vector's transpose is a row vector and back."""
    if a.is_scalar:
        return a
    if a.rank == 1:
        return Shape(a.dims, row=not a.row)
    return matrix(a.dims[1], a.dims[0])


def square(a: Shape, operation: str) -> Dim:
    """The size of a square matrix, for tr, det, inv and logdet."""
    if a.rank != 2 or not same_dim(a.dims[0], a.dims[1]):
        raise ShapeError(f"{operation} needs a square matrix, not {describe(a)}")
    return a.dims[0]


def check_rectangular(name: str, rows: Sequence[Sequence[object]]) -> None:
    """A ValueInputError unless every row of the value of `name` (a matrix
    typed as a list of rows) has the first row's length."""
    from .errors import ValueInputError

    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ValueInputError(
                f"the value of {name} is ragged: row {number} has {len(row)} "
                f"number{'s' if len(row) != 1 else ''}, row 1 has {width}",
                variable=name, hint="every row of a matrix has the same length")


def bind(shape: Shape, sizes: dict[str, int]) -> Shape:
    """The shape with its named dimensions replaced by their sizes, where known."""
    return Shape(tuple(sizes.get(d, d) if isinstance(d, str) else d for d in shape.dims),
                 shape.row)


def agree(declared: Shape, actual: Shape, sizes: dict[str, int], name: str) -> None:
    """Check a value's shape against a declaration, binding named dimensions
    in `sizes` (the first value to give a name its size decides it)."""
    if declared.rank != actual.rank:
        raise ShapeError(f"{name} is declared as {describe(declared)} but its value is "
                         f"{describe(actual)}")
    for want, got in zip(declared.dims, actual.dims, strict=True):
        if isinstance(want, str):
            known = sizes.setdefault(want, got)  # type: ignore[arg-type]
            if known != got:
                raise ShapeError(f"{name} has {want} = {got}, but {want} = {known} already "
                                 "(from an earlier value)")
        elif want != got:
            raise ShapeError(f"{name} is declared as {describe(declared)} but its value is "
                             f"{describe(actual)}")


# --- the tensor functions' rules (core/tensor_ops.py) ---------------------------


def whole(a: Shape) -> Shape:
    """The shape of a reduction of every element to one number (sum, mean):
    a scalar, from any shape."""
    return SCALAR


def _column(a: Shape) -> bool:
    return a.rank == 1 and not a.row


_ROW_HINT = "a row vector is a vector's transpose; use the vector itself"


def dot(a: Shape, b: Shape) -> Shape:
    """The shape of dot(x, y): a scalar, from two vectors of one length."""
    if not (_column(a) and _column(b)):
        raise ShapeError(f"dot needs two vectors, not {describe(a)} and {describe(b)}",
                         hint=_ROW_HINT if a.row or b.row else "for matrices, use @")
    if not same_dim(a.dims[0], b.dims[0]):
        raise ShapeError(f"dot needs two vectors of the same length, not {describe(a)} and "
                         f"{describe(b)}")
    return SCALAR


def outer(a: Shape, b: Shape) -> Shape:
    """The shape of outer(x, y): an m×n matrix, from vectors of lengths m and n."""
    if not (_column(a) and _column(b)):
        raise ShapeError(f"outer needs two vectors, not {describe(a)} and {describe(b)}",
                         hint=_ROW_HINT if a.row or b.row else None)
    return matrix(a.dims[0], b.dims[0])


def norm(a: Shape) -> Shape:
    """The shape of norm(x): a scalar, from a vector (2-norm) or a matrix (Frobenius)."""
    if a.is_scalar:
        raise ShapeError("norm needs a vector or a matrix, not a scalar",
                         hint="for a number's size, use abs")
    return SCALAR


def square_to_scalar(operation: str) -> Callable[[Shape], Shape]:
    """The rule of tr, det and logdet: a square matrix to a scalar."""

    def rule(a: Shape) -> Shape:
        square(a, operation)
        return SCALAR

    rule.__doc__ = f"The shape of {operation}(A): a scalar, from a square matrix."
    return rule


def inverse(a: Shape) -> Shape:
    """The shape of inv(A): A's own, a square matrix."""
    square(a, "inv")
    return a


def diag(a: Shape) -> Shape:
    """The shape of diag: a vector of length n to an n×n matrix, a square
    n×n matrix to its diagonal, a vector of length n."""
    if _column(a):
        return matrix(a.dims[0], a.dims[0])
    if a.rank == 2 and same_dim(a.dims[0], a.dims[1]):
        return vector(a.dims[0])
    raise ShapeError(f"diag needs a vector or a square matrix, not {describe(a)}",
                     hint=_ROW_HINT if a.row else None)


def softmax(a: Shape) -> Shape:
    """The shape of softmax(x): x's own, a vector (or a row vector)."""
    if a.rank != 1:
        raise ShapeError(f"softmax needs a vector, not {describe(a)}",
                         hint="softmax of each row of a matrix is not supported yet"
                         if a.rank == 2 else None)
    return a


def logsumexp(a: Shape) -> Shape:
    """The shape of logsumexp(x): a scalar, from a vector or a matrix."""
    if a.is_scalar:
        raise ShapeError("logsumexp needs a vector or a matrix, not a scalar",
                         hint="logsumexp of one number is the number itself")
    return SCALAR


def index(a: Shape, position: Shape | float) -> Shape:
    """The shape of a[i] (0-based): a vector's element, a scalar; a matrix's
    row i, a vector (as in NumPy; W[i, j] is W[i][j]). `position` is the
    constant integer, or its shape where the value is not at hand (then
    only that it is a number is checked; the range is checked with the value)."""
    if a.is_scalar:
        raise ShapeError("cannot index a scalar", hint="only vectors and matrices have elements")
    if isinstance(position, Shape):
        if not position.is_scalar:
            raise ShapeError(f"an index must be a whole number, not {describe(position)}")
    elif position != int(position):
        raise ShapeError(f"an index must be a whole number, not {position}")
    else:
        size = a.dims[0]
        if isinstance(size, int) and not 0 <= position < size:
            what = "rows" if a.rank == 2 else "elements"
            raise ShapeError(f"index {int(position)} is out of range for {describe(a)}",
                             hint=f"indices are 0-based: its {what} are 0 to {size - 1}")
    return SCALAR if a.rank == 1 else vector(a.dims[1])
