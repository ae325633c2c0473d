"""Benchmark: symbolic matrix-calculus gradients against SymPy's `MatrixSymbol.diff`.

    python benchmarks/matrix_calculus.py [--repeats 5] [--seed 0]

For each Matrix Cookbook identity of tests/test_matrix_calculus.py (the list is
copied below) and in one run:

1. Time: producing and printing the symbolic gradient with exprgraph
   (`exprgraph.compile(text)`, `.diff([wrt])`, `.text(...)`, a fresh compile
   each repeat) against SymPy (build the same expression over `MatrixSymbol`s
   with symbolic sizes n, m, p, `.diff(X)`, `str(...)`, SymPy's cache cleared
   before each repeat); the median of `--repeats` rounds, the two taken in
   turn in each round, and the ratio exprgraph / SymPy (below 1 is faster).
2. SymPy's correctness: its result with random numeric matrices substituted
   (n = 3, m = 4, p = 2: unequal sizes, so that a transposed result shows)
   against exprgraph's numeric gradient (`evaluate(...).gradient[wrt]`): "ok",
   "wrong", "transposed", "unevaluated" (it returned the Derivative itself) or
   "failed" (an exception). SymPy's own layout is stated where its result is
   not a matrix of the variable's shape (an n×1 column counts as a vector):
   matrix-by-vector and elementwise rules come back as 1-, 3- or 4-D arrays.
   Where SymPy cannot build or differentiate the literal form, a rewrite of
   the same function is tried (marked in the table).
3. Size of each printed result: exprgraph's printed form parsed back, its op
   nodes counted (not inputs or constants; the graph is a DAG, so a repeated
   subexpression counts once) against SymPy's `count_ops` (a tree count with
   SymPy's own notion of an operation). The two count different things, so a
   common measure is printed as well, defined once in `printed_operations`
   and applied to both printed strings.
4. Reference forms: MatrixCalculus.org's published forms where one was found,
   else the Matrix Cookbook's closed forms, each with its source; exprgraph's
   size against the reference's (common measure), naming any larger.

SymPy is needed (`pip install '.[test]'` brings it). This is a benchmark, not
a test: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import sympy
from sympy import (
    Determinant,
    HadamardPower,
    HadamardProduct,
    Inverse,
    MatrixSymbol,
    OneMatrix,
    Trace,
)
from sympy.utilities.exceptions import SymPyDeprecationWarning

import exprgraph

# SymPy warns (deprecated non-Expr arguments in Mul) inside its own matrix
# derivative code for some of these inputs; the warning is its business.
warnings.filterwarnings("ignore", category=SymPyDeprecationWarning)

# The identities are the tests' (tests/test_matrix_calculus.py): (program, the
# variable, how values are drawn, the Cookbook's closed form where the test
# checks it). The repository root goes on the path so that
# `python benchmarks/matrix_calculus.py` finds them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.test_matrix_calculus import IDENTITIES, _values  # noqa: E402 - after the path

# --- the same functions in SymPy ------------------------------------------------

DIMS = {name: sympy.Symbol(name) for name in "mnpq"}
SIZES = {"n": 3, "m": 4, "p": 2, "q": 5}  # unequal, so that a transpose shows
Build = Callable[[SimpleNamespace], Any]
HALF = sympy.Rational(1, 2)


def _total(v: Any) -> Any:
    """sum(v) of a column vector or matrix: ones(1, rows) @ v (@ ones(cols, 1))."""
    total = OneMatrix(1, v.shape[0]) * v
    return total if v.shape[1] == 1 else total * OneMatrix(v.shape[1], 1)


def _sigmoid(t: Any) -> Any:
    return 1 / (1 + sympy.exp(-t))


# One entry per identity, in IDENTITIES' order: the SymPy forms to try, the
# literal translation first; a later one (a rewrite of the same function into
# what SymPy handles, e.g. v' @ v for sum(v * v)) is used only when the ones
# before it raise. SymPy has no vector norm or elementwise sum for
# MatrixSymbols: sum(v) is ones(1, k) @ v, an elementwise function
# `v.applyfunc(f)`, a scalar function of a 1×1 product is applied to the 1×1
# matrix (or its trace, or its [0, 0] element).
SYMPY_FORMS: list[tuple[Build, ...]] = [
    (lambda s: s.a.T * s.x,),                                     # a' @ x
    (lambda s: s.x.T * s.a,),                                     # x' @ a
    (lambda s: s.x.T * s.A * s.x,),                               # x' @ A @ x | x
    (lambda s: s.x.T * s.A * s.x,),                               # x' @ A @ x | A
    (lambda s: s.a.T * s.X * s.b,),                               # a' @ X @ b
    (lambda s: s.a.T * s.X.T * s.b,),                             # a' @ X' @ b
    (lambda s: Trace(s.X),),                                      # tr(X)
    (lambda s: Trace(s.A * s.X),),                                # tr(A @ X)
    (lambda s: Trace(s.X * s.A),),                                # tr(X @ A)
    (lambda s: Trace(s.A * s.X * s.B),),                          # tr(A @ X @ B)
    (lambda s: Trace(s.X.T * s.A),),                              # tr(X' @ A)
    (lambda s: Trace(s.X.T * s.X),),                              # tr(X' @ X)
    (lambda s: Trace(s.X * s.A * s.X.T),),                        # tr(X @ A @ X')
    (lambda s: Determinant(s.X),),                                # det(X)
    (lambda s: sympy.log(Determinant(s.X)),),                     # logdet(X)
    (lambda s: s.a.T * Inverse(s.X) * s.b,),                      # a' @ inv(X) @ b
    (lambda s: Trace(Inverse(s.X)),),                             # tr(inv(X))
    (lambda s: sympy.sqrt(s.x.T * s.x),                           # norm(x)
     lambda s: sympy.sqrt(Trace(s.x.T * s.x))),
    (lambda s: sympy.sqrt(s.x.T * s.x)**2,                        # norm(x)^2
     lambda s: s.x.T * s.x),
    (lambda s: _total(HadamardPower(s.A * s.x - s.b, 2)),         # sum((A @ x - b)^2)
     lambda s: (s.A * s.x - s.b).T * (s.A * s.x - s.b)),
    (lambda s: HALF * _total(HadamardPower(s.W * s.x - s.y, 2)),  # 0.5*sum((W@x - y)^2) | W
     lambda s: HALF * (s.W * s.x - s.y).T * (s.W * s.x - s.y)),
    (lambda s: HALF * _total(HadamardPower(s.W * s.x - s.y, 2)),  # 0.5*sum((W@x - y)^2) | x
     lambda s: HALF * (s.W * s.x - s.y).T * (s.W * s.x - s.y)),
    (lambda s: _total((s.W * s.x).applyfunc(sympy.tanh)),),       # sum(tanh(W @ x))
    (lambda s: _total((s.A * s.x).applyfunc(sympy.exp)),),        # sum(exp(A @ x))
    (lambda s: (s.x.T * s.a)**2,                                  # (x' @ a)^2
     lambda s: (s.x.T * s.a) * (s.x.T * s.a),
     lambda s: s.x.T * s.a * s.a.T * s.x),
    (lambda s: s.b.T * s.X.T * s.X * s.c,),                       # b' @ X' @ X @ c
    (lambda s: Trace(s.A * s.X.T * s.B),),                        # tr(A @ X' @ B)
    (lambda s: s.x.T * s.B * s.x + s.b.T * s.x,),                 # x' @ B @ x + b' @ x
    (lambda s: _total(HadamardProduct(s.X, s.X)),                 # sum(X * X)
     lambda s: Trace(s.X.T * s.X)),
    (lambda s: Trace(s.X * s.X),),                                # tr(X @ X)
    (lambda s: s.x.T * s.y,),                                     # dot(x, y)
    (lambda s: _total(HadamardProduct(s.x, s.x)) / DIMS["n"],     # mean(x * x)
     lambda s: s.x.T * s.x / DIMS["n"]),
    (lambda s: _total(s.x.applyfunc(sympy.log)),),                # sum(log(x))
    (lambda s: _total((s.W * s.x + s.b).applyfunc(_sigmoid)),),   # sum(sigmoid(W @ x + b))
    (lambda s: sympy.exp(s.x.T * s.A * s.x / 10),                 # exp(x' @ A @ x / 10)
     lambda s: sympy.exp(Trace(s.x.T * s.A * s.x) / 10)),
    (lambda s: s.a.T * s.X * s.X * s.a,),                         # a' @ X @ X @ a
    (lambda s: _total(s.x) * _total(s.x),                         # sum(x) * sum(x)
     lambda s: s.x.T * OneMatrix(DIMS["n"], DIMS["n"]) * s.x),
]

# --- reference forms --------------------------------------------------------------

# MatrixCalculus.org's published forms found (the search covered its
# documentation and code it generated that is quoted in public repositories):
# only these match an identity here; each with where it came from.
MATRIXCALCULUS = {
    # http://www.matrixcalculus.org/documentation, "Layout conventions":
    # ∂/∂x (v'x) = v.
    ("a: vector(n); x: vector(n); f = a' @ x", "x"): ("a", "MatrixCalculus.org docs"),
    # the same page: ∂/∂X tr(A*X) = A'.
    ("A: matrix(n, m); X: matrix(m, n); f = tr(A @ X)", "X"): ("A'", "MatrixCalculus.org docs"),
    # The header of code MatrixCalculus.org generated (dated 2018-01-01),
    # quoted in a public GitHub file: "d/dv norm2(T*v+b)^2 = 2*T'*(b+T*v)";
    # the same input up to names and the sign of b (T→A, v→x, b→−b).
    ("A: matrix(m, n); x: vector(n); b: vector(m); f = sum((A @ x - b)^2)", "x"):
        ("2*A' @ (A @ x - b)", "MatrixCalculus.org generated code, renamed"),
}

# The Matrix Cookbook (Petersen & Pedersen, 2012) where IDENTITIES gives no
# closed form; written in exprgraph's syntax (I: the identity matrix, which
# exprgraph has no name for) and checked numerically below where it parses.
COOKBOOK = {
    # §2.5.1: ∂Tr(X)/∂X = I.
    ("X: matrix(n, n); f = tr(X)", "X"): "I",
    # §2.5.2: ∂Tr(XBXᵀ)/∂X = XBᵀ + XB.
    ("X: matrix(m, n); A: matrix(n, n); f = tr(X @ A @ X')", "X"): "X @ A' + X @ A",
    # §2.2: ∂aᵀX⁻¹b/∂X = −X⁻ᵀabᵀX⁻ᵀ.
    ("a: vector(n); X: matrix(n, n); b: vector(n); f = a' @ inv(X) @ b", "X"):
        "-(inv(X)' @ a @ b' @ inv(X)')",
    # §2.5: ∂Tr(AX⁻¹B)/∂X = −(X⁻¹BAX⁻¹)ᵀ, with A = B = I.
    ("X: matrix(n, n); f = tr(inv(X))", "X"): "-(inv(X) @ inv(X))'",
    # §2.6: ∂‖x‖²₂/∂x = 2x.
    ("x: vector(n); f = norm(x)^2", "x"): "2*x",
    # §2.4.2: ∂bᵀXᵀXc/∂X = X(bcᵀ + cbᵀ).
    ("X: matrix(m, n); b: vector(n); c: vector(n); f = b' @ X' @ X @ c", "X"):
        "X @ (b @ c' + c @ b')",
    # §2.5.1: ∂Tr(AXᵀB)/∂X = BA.
    ("A: matrix(n, m); X: matrix(p, m); B: matrix(p, n); f = tr(A @ X' @ B)", "X"): "B @ A",
    # §2.4: ∂xᵀBx/∂x = (B + Bᵀ)x and ∂bᵀx/∂x = b.
    ("x: vector(n); B: matrix(n, n); b: vector(n); f = x' @ B @ x + b' @ x", "x"):
        "(B + B') @ x + b",
    # §2.5.2: ∂Tr(X²)/∂X = 2Xᵀ.
    ("X: matrix(n, n); f = tr(X @ X)", "X"): "2*X'",
}


def reference_forms() -> dict[tuple[str, str], tuple[str, str]]:
    """(program, variable) → (reference form, its source): MatrixCalculus.org's
    where found, else the Cookbook's closed form in IDENTITIES, else COOKBOOK."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for text, wrt, _, closed in IDENTITIES:
        key = (text, wrt)
        if key in MATRIXCALCULUS:
            found[key] = MATRIXCALCULUS[key]
        elif closed is not None:
            found[key] = (closed, "Cookbook (IDENTITIES)")
        elif key in COOKBOOK:
            found[key] = (COOKBOOK[key], "Cookbook")
    return found


# --- measures -----------------------------------------------------------------------

_NUMBER = re.compile(r"\d+\.?\d*(e[+-]?\d+)?")
_SIGNED_POWER = re.compile(r"\*\*\(-?[\d/]+\)")  # SymPy's X**(-1), x**(-1/2)


def printed_operations(text: str) -> int:
    """The common size measure of a printed matrix expression, exprgraph's or
    SymPy's: one per binary or unary operator (`@`, `*`, `/`, `+`, `-`, `^`
    or `**`, a transpose `'` or `.T`) and one per function call (`inv(`,
    `tanh(`, SymPy's `Lambda(`, `ArrayContraction(` ...). SymPy's `X**(-1)`
    (its inverse) and `**(-1/2)` count as one power, the exponent's sign not
    as a minus; numbers are operands."""
    text = _SIGNED_POWER.sub("^N", text).replace("**", "^")
    text = re.sub(r"\.T\b", "'", text)
    text = _NUMBER.sub("N", text)
    return len(re.findall(r"[@*/+\-^']", text)) + len(re.findall(r"[A-Za-z_]\w*\(", text))


def graph_operations(printed: str) -> int:
    """Op nodes of exprgraph's printed form parsed back (inputs and constants
    not counted; a shared subexpression counts once)."""
    nodes = exprgraph.compile(printed).graph.nodes
    return sum(node.op.name not in ("input", "const") for node in nodes)


def sympy_count_ops(result: Any) -> str:
    try:
        return str(sympy.count_ops(result))
    except Exception as error:  # count_ops does not take every array expression
        return f"({type(error).__name__})"


# --- the two computations -------------------------------------------------------------


def exprgraph_gradient(text: str, wrt: str) -> str:
    program = exprgraph.compile(text)
    (entry,) = program.diff([wrt]).entries
    return program.text(entry.expression)


def sympy_symbols(text: str) -> SimpleNamespace:
    """MatrixSymbols with symbolic sizes for the program's declarations (a
    vector is an n×1 column)."""
    symbols: dict[str, Any] = {}
    for name, shape in exprgraph.compile(text).graph.declarations.items():
        dims = [DIMS[d] if isinstance(d, str) else d for d in shape.dims]
        if not dims:
            symbols[name] = sympy.Symbol(name)
        else:
            symbols[name] = MatrixSymbol(name, dims[0], dims[1] if len(dims) > 1 else 1)
    return SimpleNamespace(**symbols)


def sympy_gradient(build: Build, symbols: SimpleNamespace, wrt: str) -> tuple[Any, str]:
    result = build(symbols).diff(getattr(symbols, wrt))
    return result, str(result)


# --- correctness ----------------------------------------------------------------------


def random_values(text: str, kind: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Values of the sizes in SIZES, drawn by the tests' own function."""
    return _values(text, kind, rng, SIZES)  # type: ignore[return-value]


def sympy_number(result: Any, symbols: SimpleNamespace, values: dict[str, np.ndarray]
                 ) -> np.ndarray:
    """SymPy's result at the values: sizes substituted, then each MatrixSymbol
    replaced by an ImmutableMatrix, then `doit` (and `as_explicit` for
    matrix and array expressions)."""
    sizes = {DIMS[d]: v for d, v in SIZES.items()}
    concrete = result.subs(sizes)
    replace: dict[Any, Any] = {}
    for name, symbol in vars(symbols).items():
        if isinstance(symbol, MatrixSymbol):
            shape = tuple(int(sympy.sympify(d).subs(sizes)) for d in symbol.shape)
            replace[MatrixSymbol(name, *shape)] = sympy.ImmutableMatrix(
                np.reshape(values[name], shape).tolist())
        else:
            replace[symbol] = sympy.Float(float(values[name]))
    explicit = concrete.xreplace(replace).doit()
    if hasattr(explicit, "as_explicit"):
        explicit = explicit.as_explicit().doit()
    if hasattr(explicit, "tolist"):
        return np.array(explicit.tolist(), dtype=float)
    return np.array(float(explicit))


def sympy_layout(result: Any, symbol: Any) -> str:
    """'' where SymPy's result is a matrix of the variable's shape, else its
    shape (an array of another rank)."""
    shape = tuple(getattr(result, "shape", ()))
    if shape == tuple(symbol.shape):
        return ""
    return f"{len(shape)}-D {'×'.join(str(d) for d in shape)} {type(result).__name__}"


def verdict(result: Any, symbols: SimpleNamespace, wrt: str, values: dict[str, np.ndarray],
            ours: np.ndarray) -> str:
    if isinstance(result, sympy.Derivative) or type(result).__name__ == "ArrayDerivative":
        return "unevaluated"
    try:
        theirs = np.squeeze(sympy_number(result, symbols, values))
    except Exception as error:
        return f"not evaluable ({type(error).__name__})"
    ours = np.squeeze(ours)
    if theirs.shape == ours.shape and np.allclose(theirs, ours, rtol=1e-7, atol=1e-9):
        return "ok"
    if theirs.shape == ours.T.shape and np.allclose(theirs, ours.T, rtol=1e-7, atol=1e-9):
        return "transposed"
    if theirs.size and not np.any(theirs):
        return "wrong (zero)"
    return "wrong"


# --- the run ----------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    ours_ms: float
    ours_printed: str
    ours_nodes: int
    theirs_ms: float | None = None
    theirs_printed: str = ""
    theirs_count_ops: str = ""
    verdict: str = ""
    form: int = 0  # which SymPy form gave the result (0: the literal one)
    layout: str = ""
    errors: list[str] = field(default_factory=list)  # of the forms that raised


_OUTPUT_NAME = re.compile(r"^[A-Za-z]\w* = ")


def label_of(text: str, wrt: str) -> str:
    body = "; ".join(s for s in text.split("; ") if "=" in s)
    return f"{_OUTPUT_NAME.sub('', body)} | {wrt}"


def median_ms(job: Callable[[], object], before: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        before()
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def run(text: str, wrt: str, kind: str, forms: tuple[Build, ...], repeats: int,
        rng: np.random.Generator) -> Row:
    clear = sympy.core.cache.clear_cache
    printed = exprgraph_gradient(text, wrt)  # warm-up, untimed
    row = Row(label_of(text, wrt), 0.0, printed, graph_operations(printed))
    symbols = sympy_symbols(text)
    build: Build | None = None
    for index, form in enumerate(forms):
        clear()
        try:
            result, theirs = sympy_gradient(form, symbols, wrt)  # warm-up, untimed
        except Exception as error:
            row.errors.append(f"form {index + 1} raised {type(error).__name__}: "
                              f"{str(error)[:70]}")
            continue
        build, row.form = form, index
        break
    ours_times: list[float] = []
    theirs_times: list[float] = []
    for _ in range(repeats):  # in turn, so that other work on the machine slows both alike
        ours_times.append(median_ms(lambda: exprgraph_gradient(text, wrt), lambda: None, 1))
        if build is not None:
            theirs_times.append(median_ms(lambda b=build: sympy_gradient(b, symbols, wrt),
                                          clear, 1))
    row.ours_ms = statistics.median(ours_times)
    if build is None:
        row.verdict = f"failed ({row.errors[-1].split(':')[0]})"
        return row
    row.theirs_ms = statistics.median(theirs_times)
    row.theirs_printed, row.theirs_count_ops = theirs, sympy_count_ops(result)
    row.layout = sympy_layout(result, getattr(symbols, wrt))
    values = random_values(text, kind, rng)
    numeric = np.asarray(exprgraph.compile(text).evaluate(values).gradient[wrt])
    row.verdict = verdict(result, symbols, wrt, values, numeric)
    return row


def cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def report(rows: list[Row], repeats: int) -> None:
    print(f"Matrix Cookbook identities (tests/test_matrix_calculus.py): symbolic gradient, "
          f"produced and printed; median of {repeats} rounds; SymPy {sympy.__version__}, "
          "cache cleared each round")
    print("size: exprgraph op nodes / printed operations; SymPy count_ops / printed "
          "operations (printed operations: the common measure, see printed_operations)")
    print("SymPy form: * = the literal form raised, a rewrite of the same function was used")
    head = (f"{'#':>2} {'identity | wrt':<40} {'exprgraph':>9} {'SymPy':>9} {'ratio':>6}  "
            f"{'ours':>7}  {'SymPy':>9}  SymPy result")
    print(head)
    print("-" * len(head))
    for k, row in enumerate(rows, 1):
        if row.theirs_ms is None:
            theirs, ratio, size = "—", "—", "—"
        else:
            theirs = f"{row.theirs_ms:.2f}"
            ratio = f"{row.ours_ms / row.theirs_ms:.2f}"
            size = f"{row.theirs_count_ops}/{printed_operations(row.theirs_printed)}"
        mark = "*" if row.form else " "
        result = row.verdict + (f", {row.layout}" if row.layout else "")
        print(f"{k:>2} {cell(row.label, 40):<40} {row.ours_ms:9.2f} {theirs:>9} {ratio:>6}  "
              f"{row.ours_nodes:>3}/{printed_operations(row.ours_printed):<3}  {size:>9} "
              f"{mark}{result}")
    print("(times in ms; ratio = exprgraph / SymPy, below 1: exprgraph faster; the summary's "
          "median is over the rows SymPy got right)")

    print("\nWhere SymPy failed, was wrong, or answered in another layout:")
    for k, row in enumerate(rows, 1):
        if row.verdict == "ok" and not row.layout and not row.form:
            continue
        print(f"{k:>2} {row.label}: {row.verdict}")
        for error in row.errors:
            print(f"     {error}")
        if row.theirs_ms is not None:
            print(f"     SymPy: {cell(row.theirs_printed, 110)}")
        print(f"     exprgraph: {row.ours_printed}")

    answered = [r.ours_ms / r.theirs_ms for r in rows if r.theirs_ms is not None]
    ratios = [r.ours_ms / r.theirs_ms for r in rows if r.verdict == "ok"]
    failed = [k for k, r in enumerate(rows, 1) if r.verdict.startswith("failed")]
    unevaluated = [k for k, r in enumerate(rows, 1) if r.verdict == "unevaluated"]
    wrong = [k for k, r in enumerate(rows, 1) if r.verdict.startswith(("wrong", "transposed",
                                                                       "not evaluable"))]
    ok = [k for k, r in enumerate(rows, 1) if r.verdict == "ok"]
    rewritten = [k for k in ok if rows[k - 1].form]
    arrays = [k for k in ok if rows[k - 1].layout]
    both = [r for r in rows if r.verdict == "ok"]
    ours_larger = [k for k, r in enumerate(rows, 1) if r.verdict == "ok" and
                   printed_operations(r.ours_printed) > printed_operations(r.theirs_printed)]
    print("\nSummary")
    print(f"  time: median ratio exprgraph / SymPy {statistics.median(ratios):.2f} over the "
          f"{len(ratios)} identities SymPy got right (geometric mean "
          f"{float(np.exp(np.mean(np.log(ratios)))):.2f}; over all {len(answered)} it returned "
          f"something for, {statistics.median(answered):.2f}); totals: exprgraph "
          f"{sum(r.ours_ms for r in rows):.1f} ms, SymPy "
          f"{sum(r.theirs_ms or 0.0 for r in rows):.1f} ms")
    print(f"  SymPy of {len(rows)}: ok {len(ok)} (of which {len(rewritten)} only in a rewritten "
          f"form {rewritten}, {len(arrays)} as an array of another layout {arrays}); "
          f"failed {len(failed)} {failed}; unevaluated {len(unevaluated)} {unevaluated}; "
          f"wrong {len(wrong)} {wrong}")
    print(f"  size where SymPy is right, printed operations: exprgraph "
          f"{sum(printed_operations(r.ours_printed) for r in both)}, SymPy "
          f"{sum(printed_operations(r.theirs_printed) for r in both)} "
          f"({len(both)} identities); exprgraph larger in {ours_larger}")
    references(rows)


def references(rows: list[Row]) -> None:
    found = reference_forms()
    print("\nReference forms (MatrixCalculus.org where a published form was found, else the "
          "Matrix Cookbook), printed operations:")
    larger = []
    for k, ((text, wrt, kind, _), row) in enumerate(zip(IDENTITIES, rows, strict=True), 1):
        if (text, wrt) not in found:
            continue
        form, source = found[(text, wrt)]
        ours, theirs = printed_operations(row.ours_printed), printed_operations(form)
        check = reference_check(text, wrt, kind, form)
        flag = "  LARGER" if ours > theirs else ""
        if ours > theirs:
            larger.append(k)
        print(f"{k:>2} {cell(row.label, 40):<40} ours {ours:>2} {cell(row.ours_printed, 30):<30}"
              f" ref {theirs:>2} {form}  [{source}{check}]{flag}")
    published = sum(source.startswith("MatrixCalculus.org") for _, source in found.values())
    print(f"  {len(found)} references ({published} from MatrixCalculus.org); exprgraph larger "
          f"than the reference in {larger}")


def reference_check(text: str, wrt: str, kind: str, form: str) -> str:
    """', checked' where the reference parses in exprgraph and evaluates to
    the numeric gradient; a warning where it does not agree."""
    try:
        formula = exprgraph.compile(form)
    except exprgraph.ExprGraphError:
        return ""
    values = random_values(text, kind, np.random.default_rng(7))
    if not set(formula.inputs) <= set(values):  # "I": no name for it in exprgraph
        return ", not checked"
    got = np.asarray(formula.evaluate({k: v for k, v in values.items()
                                       if k in formula.inputs}).value, dtype=float)
    want = np.asarray(exprgraph.compile(text).evaluate(values).gradient[wrt])
    same = got.shape == want.shape and np.allclose(got, want, rtol=1e-8, atol=1e-10)
    return ", checked" if same else ", DISAGREES with the numeric gradient"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if len(SYMPY_FORMS) > len(IDENTITIES):
        sys.exit("SYMPY_FORMS has more entries than IDENTITIES")
    if len(SYMPY_FORMS) < len(IDENTITIES):  # the tests' later identities have no SymPy form yet
        print(f"(the first {len(SYMPY_FORMS)} of the tests' {len(IDENTITIES)} identities: "
              "the others have no SymPy form here)")
    rng = np.random.default_rng(args.seed)
    rows = [run(text, wrt, kind, forms, args.repeats, rng)
            for (text, wrt, kind, _), forms in zip(IDENTITIES, SYMPY_FORMS, strict=False)]
    report(rows, args.repeats)


if __name__ == "__main__":
    main()
