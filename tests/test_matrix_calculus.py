"""Symbolic gradients of programs with vectors and matrices (matrix calculus).

Oracles: each printed gradient is parsed back and evaluated with `eval`'s
tensor pass, and compared with central differences of the program and with
`eval`'s numeric gradient, at random values of random sizes. The identities
are the Matrix Cookbook's (Petersen & Pedersen); the closed forms they give are
checked too where the printed form should match them.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exprgraph

from .oracles import central_gradient

# (program, the variable, how to draw values: "spd" makes every square matrix
# symmetric positive definite, "positive" every value > 0; the Cookbook's
# closed form where the printed form is checked against it.)
IDENTITIES = [
    ("a: vector(n); x: vector(n); f = a' @ x", "x", "", "a"),
    ("a: vector(n); x: vector(n); f = x' @ a", "x", "", "a"),
    ("x: vector(n); A: matrix(n, n); f = x' @ A @ x", "x", "", "(A + A') @ x"),
    ("x: vector(n); A: matrix(n, n); f = x' @ A @ x", "A", "", "x @ x'"),
    ("a: vector(m); X: matrix(m, n); b: vector(n); f = a' @ X @ b", "X", "", "a @ b'"),
    ("a: vector(n); X: matrix(m, n); b: vector(m); f = a' @ X' @ b", "X", "", "b @ a'"),
    ("X: matrix(n, n); f = tr(X)", "X", "", None),
    ("A: matrix(n, m); X: matrix(m, n); f = tr(A @ X)", "X", "", "A'"),
    ("A: matrix(n, m); X: matrix(m, n); f = tr(X @ A)", "X", "", "A'"),
    ("A: matrix(p, m); X: matrix(m, n); B: matrix(n, p); f = tr(A @ X @ B)", "X", "",
     "A' @ B'"),
    ("A: matrix(m, n); X: matrix(m, n); f = tr(X' @ A)", "X", "", "A"),
    ("X: matrix(m, n); f = tr(X' @ X)", "X", "", "2*X"),
    ("X: matrix(m, n); A: matrix(n, n); f = tr(X @ A @ X')", "X", "", None),
    ("X: matrix(n, n); f = det(X)", "X", "spd", "det(X)*inv(X)'"),
    ("X: matrix(n, n); f = logdet(X)", "X", "spd", "inv(X)'"),
    ("a: vector(n); X: matrix(n, n); b: vector(n); f = a' @ inv(X) @ b", "X", "spd", None),
    ("X: matrix(n, n); f = tr(inv(X))", "X", "spd", None),
    ("x: vector(n); f = norm(x)", "x", "positive", "x/norm(x)"),
    ("x: vector(n); f = norm(x)^2", "x", "", None),
    ("A: matrix(m, n); x: vector(n); b: vector(m); f = sum((A @ x - b)^2)", "x", "", None),
    ("W: matrix(m, n); x: vector(n); y: vector(m); L = 0.5*sum((W @ x - y)^2)", "W", "",
     "(W @ x - y) @ x'"),
    ("W: matrix(m, n); x: vector(n); y: vector(m); L = 0.5*sum((W @ x - y)^2)", "x", "",
     "W' @ (W @ x - y)"),
    ("W: matrix(m, n); x: vector(n); f = sum(tanh(W @ x))", "W", "", None),
    ("A: matrix(m, n); x: vector(n); f = sum(exp(A @ x))", "x", "", None),
    ("a: vector(n); x: vector(n); f = (x' @ a)^2", "x", "", None),
    ("X: matrix(m, n); b: vector(n); c: vector(n); f = b' @ X' @ X @ c", "X", "", None),
    ("A: matrix(n, m); X: matrix(p, m); B: matrix(p, n); f = tr(A @ X' @ B)", "X", "", None),
    ("x: vector(n); B: matrix(n, n); b: vector(n); f = x' @ B @ x + b' @ x", "x", "", None),
    ("X: matrix(m, n); f = sum(X * X)", "X", "", "2*X"),
    ("X: matrix(n, n); f = tr(X @ X)", "X", "", None),
    ("x: vector(n); y: vector(n); f = dot(x, y)", "x", "", "y"),
    ("x: vector(n); f = mean(x * x)", "x", "", None),
    ("x: vector(n); f = sum(log(x))", "x", "positive", None),
    ("W: matrix(m, n); b: vector(m); x: vector(n); h = sigmoid(W @ x + b); L = sum(h)", "b",
     "", None),
    ("x: vector(n); A: matrix(n, n); f = exp(x' @ A @ x / 10)", "A", "", None),
    ("X: matrix(n, n); a: vector(n); f = a' @ X @ X @ a", "X", "", None),
    ("x: vector(n); f = sum(x) * sum(x)", "x", "", None),
    # x @ A reads x as a row (NumPy's habit): its transpose is the row x' @ A.
    ("x: vector(n); A: matrix(n, m); f = sum((x @ A)^2)", "A", "", "2*(x @ (x' @ A))"),
    ("x: vector(n); A: matrix(n, m); y: vector(m); f = sum((x @ A - y)^2)", "A", "", None),
    ("x: vector(n); A: matrix(n, m); f = norm(x @ A)", "x", "", None),
    ("X: matrix(m, n); b: vector(n); f = sum((b + X)^2)", "b", "", None),
    # found by CI's random programs: x @ A in the middle of a product chain
    ("x: vector(n); y: vector(n); A: matrix(n, n); B: matrix(n, n); "
     "f = (x @ A)' @ A @ (B @ y + y)", "y", "", None),
]


def _values(text: str, kind: str, rng: np.random.Generator,
            sizes: dict[str, int] | None = None) -> dict[str, object]:
    """Random values for the declared inputs, of the named `sizes` (random
    ones from 2 to 4 unless given; the benchmark draws its values here too)."""
    program = exprgraph.compile(text)
    sizes = sizes or {name: int(rng.integers(2, 5)) for name in "mnpq"}
    values: dict[str, object] = {}
    for name in program.inputs:
        dims = tuple(sizes[d] if isinstance(d, str) else d
                     for d in program.graph.declarations[name].dims)
        value = rng.normal(size=dims) if dims else float(rng.normal())
        if kind == "spd" and len(dims) == 2 and dims[0] == dims[1]:
            value = value @ value.T + dims[0] * np.eye(dims[0])
        if kind == "positive":
            value = np.abs(value) + 0.5
        values[name] = value
    return values


def _printed_gradient(text: str, wrt: str) -> str:
    program = exprgraph.compile(text)
    result = program.diff([wrt])
    (entry,) = result.entries
    assert entry.shape == program.graph.declarations[wrt], "a gradient has its variable's shape"
    return program.text(entry.expression)


@pytest.mark.parametrize(("text", "wrt", "kind", "closed_form"), IDENTITIES,
                         ids=[f"{t.split('; ')[-1]}|{w}" for t, w, _, _ in IDENTITIES])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_the_printed_gradient_evaluates_to_central_differences_and_evals(
        text: str, wrt: str, kind: str, closed_form: str | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = _values(text, kind, rng)
    printed = _printed_gradient(text, wrt)
    formula = exprgraph.compile(printed)
    symbolic = np.asarray(formula.evaluate({k: v for k, v in values.items()
                                            if k in formula.inputs}).value)
    program = exprgraph.compile(text)
    numeric = np.asarray(program.evaluate(values).gradient[wrt])
    differences = central_gradient(lambda v: float(program.evaluate({**values, wrt: v}).value),
                                   np.asarray(values[wrt], dtype=float))
    assert symbolic.shape == numeric.shape
    np.testing.assert_allclose(symbolic, numeric, rtol=1e-8, atol=1e-10, err_msg=printed)
    np.testing.assert_allclose(symbolic, differences, rtol=1e-5, atol=1e-6, err_msg=printed)


@pytest.mark.parametrize(("text", "wrt", "closed_form"),
                         [(t, w, c) for t, w, _, c in IDENTITIES if c is not None])
def test_the_printed_form_is_the_cookbooks(text: str, wrt: str, closed_form: str) -> None:
    """Where the Cookbook's form is as short as it gets, it is what prints."""
    assert _printed_gradient(text, wrt) == closed_form


def test_there_are_at_least_25_identities() -> None:
    assert len(IDENTITIES) >= 25


def test_diff_says_its_layout_and_the_shape() -> None:
    from typer.testing import CliRunner

    from exprgraph.cli import app

    result = CliRunner().invoke(app, ["diff", "X: matrix(m, n); f = tr(X' @ X)", "--wrt", "X",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert data["results"][0]["expr"] == "2*X"
    assert data["results"][0]["shape"] == ["m", "n"]
    assert "same-shape" in data["layout"]


# --- random programs ----------------------------------------------------------------

DECLARED = "x: vector(n); y: vector(n); A: matrix(n, n); B: matrix(n, n); s: scalar; "
VECTOR_FORMS = ["A @ {v}", "A' @ {v}", "{v} + {w}", "{v} - {w}", "tanh({v})", "s * {v}",
                "{v} * {w}", "exp({v} / 4)", "B @ {v} + y", "sigmoid({v})", "{v} / 3",
                "softmax({v})", "{v} @ A", "tanh({v} @ B) * {w}"]
MATRIX_FORMS = ["A + B", "A @ B", "A'", "s * B", "outer({v}, {w})", "A * B", "{v} @ {w}'",
                "A + {v}", "exp(B) * {v}", "(B - {v})'", "tanh(A @ B + {v})"]
SCALAR_FORMS = ["sum({v})", "x' @ {v}", "{v}' @ A @ {w}", "tr({m})", "sum({m} * {m})",
                "dot({v}, {w})", "s * sum({v})", "sum({v} * {v})", "mean({m})",
                "{v}' @ {m} @ {w}", "{v}[1] * {w}[0]", "logsumexp({v})", "({m})[1, 0]",
                "sum({v} @ {m})"]


@st.composite
def tensor_programs(draw: st.DrawFn) -> str:
    """A random scalar program over vectors x, y, matrices A, B and a scalar s,
    its parts drawn from the forms above, nested up to three deep."""
    vectors = ["x", "y"]
    for _ in range(draw(st.integers(1, 3))):
        form = draw(st.sampled_from(VECTOR_FORMS))
        parts = draw(st.sampled_from(vectors)), draw(st.sampled_from(vectors))
        vectors.append(f"({form.format(v=parts[0], w=parts[1])})")
    matrix = draw(st.sampled_from(MATRIX_FORMS)).format(v=draw(st.sampled_from(vectors)),
                                                        w=draw(st.sampled_from(vectors)))
    scalar = draw(st.sampled_from(SCALAR_FORMS)).format(
        v=draw(st.sampled_from(vectors)), w=draw(st.sampled_from(vectors)), m=f"({matrix})")
    return f"{DECLARED}f = {scalar}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=tensor_programs(), seed=st.integers(0, 2**32 - 1))
def test_every_printed_gradient_of_a_random_program_reads_back_as_evals(text: str,
                                                                       seed: int) -> None:
    program = exprgraph.compile(text)
    rng = np.random.default_rng(seed)
    values = _values(text, "", rng)
    numeric = program.evaluate(values).gradient
    for name, entry in zip(program.inputs, program.diff().entries, strict=True):
        printed = program.text(entry.expression)
        formula = exprgraph.compile(printed)
        got = formula.evaluate({k: v for k, v in values.items() if k in formula.inputs}).value
        got = np.broadcast_to(np.asarray(got, dtype=float), np.shape(numeric[name]))
        np.testing.assert_allclose(got, numeric[name], rtol=1e-8, atol=1e-10,
                                   err_msg=f"{text} | d/d{name} = {printed}")


# --- Jacobians and Hessians -----------------------------------------------------------

JACOBIANS = [
    ("x: vector(n); W: matrix(m, n); h = tanh(W @ x)", "diag(1 - tanh(W @ x)^2) @ W"),
    ("x: vector(n); W: matrix(m, n); b: vector(m); h = sigmoid(W @ x + b)", None),
    ("x: vector(n); A: matrix(m, n); h = A @ x", "A"),
    ("x: vector(n); s: scalar; h = s * x", None),
    ("x: vector(n); h = x * x + sum(x)", None),
    ("x: vector(n); A: matrix(n, n); h = exp(A' @ x) / 2", None),
    ("x: vector(n); y: vector(n); h = x * y - norm(x) * y", None),
]
HESSIANS = [
    ("x: vector(n); A: matrix(n, n); f = x' @ A @ x", "A + A'"),
    ("x: vector(n); A: matrix(m, n); b: vector(m); f = sum((A @ x - b)^2)", "2*(A' @ A)"),
    ("x: vector(n); f = sum(exp(x))", "diag(exp(x))"),
    ("x: vector(n); f = norm(x)", None),
    ("x: vector(n); W: matrix(m, n); f = sum(tanh(W @ x))", None),
    ("x: vector(n); a: vector(n); f = (x' @ a)^2 + sum(log(x * x + 1))", None),
    ("x: vector(n); A: matrix(n, n); f = (x' @ A @ x)^2", None),
    ("x: vector(n); A: matrix(n, n); f = exp(x' @ A @ x / 10)", None),
]


def _hessian_pair(program: exprgraph.Program, printed: str, values: dict
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The printed Hessian read back by eval, and central differences of
    eval's gradient by x, at `values`."""
    formula = exprgraph.compile(printed)
    got = np.asarray(formula.evaluate({k: v for k, v in values.items()
                                       if k in formula.inputs}).value, dtype=float)
    x = np.asarray(values["x"], dtype=float)
    want = np.stack([central_gradient(
        lambda v, i=i: float(np.asarray(program.evaluate({**values, "x": v}).gradient["x"])[i]),
        x) for i in range(x.size)])
    return got, want


def _matrix_of(text: str, kind: str) -> tuple[exprgraph.Program, str, object]:
    program = exprgraph.compile(text)
    (entry,) = program.diff(["x"], kind=kind).entries
    return program, program.text(entry.expression), entry.shape


@pytest.mark.parametrize(("text", "closed_form"), JACOBIANS)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_a_jacobian_is_one_matrix_of_rows_of_gradients(text: str, closed_form: str | None,
                                                       seed: int) -> None:
    program, printed, shape = _matrix_of(text, "jacobian")
    if closed_form is not None:
        assert printed == closed_form
    values = _values(text, "", np.random.default_rng(seed))
    formula = exprgraph.compile(printed)
    got = np.asarray(formula.evaluate({k: v for k, v in values.items()
                                       if k in formula.inputs}).value, dtype=float)
    x = np.asarray(values["x"], dtype=float)
    out = np.asarray(program.evaluate(values).value)
    want = np.stack([central_gradient(
        lambda v, i=i: float(np.asarray(program.evaluate({**values, "x": v}).value)[i]), x)
        for i in range(out.size)])
    assert got.shape == want.shape == (out.size, x.size)
    assert shape.dims[1] == "n"
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=printed)


@pytest.mark.parametrize(("text", "closed_form"), HESSIANS)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_a_hessian_is_symmetric_and_the_jacobian_of_evals_gradient(
        text: str, closed_form: str | None, seed: int) -> None:
    program, printed, shape = _matrix_of(text, "hessian")
    if closed_form is not None:
        assert printed == closed_form
    values = _values(text, "positive" if "log" in text else "", np.random.default_rng(seed))
    got, want = _hessian_pair(program, printed, values)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=printed)
    np.testing.assert_allclose(got, got.T, rtol=1e-9, atol=1e-12)
    assert shape.dims == ("n", "n")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=tensor_programs(), seed=st.integers(0, 2**32 - 1))
def test_the_hessian_of_a_random_program_is_the_jacobian_of_its_gradient(text: str,
                                                                         seed: int) -> None:
    program = exprgraph.compile(text)
    if "x" not in program.inputs:
        return
    try:
        (entry,) = program.diff(["x"], kind="hessian").entries
    except exprgraph.ShapeError as error:  # a matrix that depends on x: third order
        assert "third-order" in error.message or "not built yet" in error.message
        return
    printed = program.text(entry.expression)
    values = _values(text, "", np.random.default_rng(seed))
    got, want = _hessian_pair(program, printed, values)
    got = np.broadcast_to(got, want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=f"{text} | {printed}")


@pytest.mark.parametrize(("text", "wrt", "latex"), [
    ("X: matrix(n, n); f = logdet(X)", "X", r"\mathbf{X}^{-\top}"),
    ("x: vector(n); A: matrix(n, n); f = x' @ A @ x", "x",
     r"\left(\mathbf{A} + \mathbf{A}^{\top}\right) \mathbf{x}"),
    ("X: matrix(n, n); y: vector(n); f = sum(exp(X @ y) * y)", "X",
     r"\left(\mathbf{y} \odot e^{\mathbf{X} \mathbf{y}}\right) \mathbf{y}^{\top}"),
    ("x: vector(n); s: scalar; f = s * sum(x * x)", "x", r"2 s \mathbf{x}"),
])
def test_latex_writes_vectors_and_matrices_bold_and_the_elementwise_product_odot(
        text: str, wrt: str, latex: str) -> None:
    from typer.testing import CliRunner

    from exprgraph.cli import app

    result = CliRunner().invoke(app, ["diff", text, "--wrt", wrt, "--latex"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == latex


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=tensor_programs(), seed=st.integers(0, 2**32 - 1))
def test_simplify_of_a_random_tensor_program_keeps_its_value(text: str, seed: int) -> None:
    program = exprgraph.compile(text)
    simplified = program.text(program.output_expression())
    values = _values(text, "", np.random.default_rng(seed))
    again = exprgraph.compile(simplified)
    got = again.evaluate({k: v for k, v in values.items() if k in again.inputs}).value
    np.testing.assert_allclose(got, program.evaluate(values).value, rtol=1e-9, atol=1e-9,
                               err_msg=f"{text} | {simplified}")


# The same function written with a 2-vector and a 2×2 matrix, and in scalars.
EXPANSIONS = [
    ("x: vector(2); A: matrix(2, 2); f = x' @ A @ x",
     "f = x0*(A00*x0 + A01*x1) + x1*(A10*x0 + A11*x1)"),
    ("x: vector(2); W: matrix(2, 2); f = sum(tanh(W @ x))",
     "f = tanh(W00*x0 + W01*x1) + tanh(W10*x0 + W11*x1)"),
    ("x: vector(2); A: matrix(2, 2); f = logdet(A) * sum(x * x)",
     "f = log(A00*A11 - A01*A10) * (x0^2 + x1^2)"),
]


@pytest.mark.parametrize(("tensor", "scalar"), EXPANSIONS)
def test_a_matrix_derivative_agrees_with_the_scalar_expansions_symbolic_ones(
        tensor: str, scalar: str) -> None:
    """Each element of the matrix formula is the scalar program's symbolic
    partial (exprgraph's scalar diff), both evaluated at one random point."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=2)
    a = rng.normal(size=(2, 2)) + 3 * np.eye(2)  # det > 0 for logdet
    matrix_name = "A" if "A:" in tensor else "W"
    values = {"x": x, matrix_name: a}
    program = exprgraph.compile(tensor)
    scalars = exprgraph.compile(scalar)
    point = {"x0": x[0], "x1": x[1]} | {f"{matrix_name}{i}{j}": a[i, j]
                                        for i in range(2) for j in range(2)}
    point = {k: v for k, v in point.items() if k in scalars.inputs}
    for name, (expr, _) in program.matrix_gradients().items():
        formula = exprgraph.compile(program.text(expr))
        got = np.asarray(formula.evaluate({k: v for k, v in values.items()
                                           if k in formula.inputs}).value, dtype=float)
        for spot in np.ndindex(np.shape(values[name])):
            element = name + "".join(map(str, spot))
            partial = exprgraph.compile(scalars.derivative(element)) \
                if element in scalars.inputs else None
            want = 0.0 if partial is None else partial.evaluate(
                {k: v for k, v in point.items() if k in partial.inputs}).value
            assert got[spot] == pytest.approx(want, rel=1e-9, abs=1e-12), (name, spot)


# --- a matrix's derivative by a matrix, in index form ---------------------------------

INDEX_FORMS = [
    ("A: matrix(p, m); X: matrix(m, n); B: matrix(n, q); Y = A @ X @ B",
     "∂Y_ij/∂X_kl = A_ik*B_lj"),
    ("X: matrix(n, n); Y = X @ X", "∂Y_ij/∂X_kl = δ_ik*X_lj + X_ik*δ_lj"),
    ("X: matrix(n, n); Y = inv(X)", "∂Y_ij/∂X_kl = -(inv(X))_ik*(inv(X))_lj"),
    ("X: matrix(m, n); Y = X' @ X", None),
    ("X: matrix(n, n); A: matrix(n, n); Y = X' + 2*A @ X - X @ A", None),
    ("X: matrix(m, n); Y = X / 2 + 3 * X", None),
]


@pytest.mark.parametrize(("text", "printed"), INDEX_FORMS)
def test_a_matrix_by_matrix_derivative_in_index_form_is_exact(text: str,
                                                             printed: str | None) -> None:
    """Every element ∂Y_ij/∂X_kl of the index form, computed from its terms'
    factors, against central differences of Y."""
    from exprgraph.passes.tensor import evaluate_tensors, input_tensor
    from exprgraph.symbolic.matrix import MatrixBuilder
    from exprgraph.symbolic.matrix_derivatives import matrix_by_matrix

    program = exprgraph.compile(text)
    (entry,) = program.diff(["X"], kind="jacobian").entries
    if printed is not None:
        assert entry.index_form == printed
    values = _values(text, "spd" if "inv" in text else "", np.random.default_rng(3))
    builder = MatrixBuilder(program.graph, program.shapes)
    terms = matrix_by_matrix(builder, program.graph.output, program.graph.names["X"])
    computed = evaluate_tensors(builder.nodes, {k: input_tensor(k, v) for k, v in values.items()})
    y = np.asarray(program.evaluate(values).value)
    x = np.asarray(values["X"], dtype=float)
    got = np.zeros(y.shape + x.shape)
    for term in terms:
        left, right = np.asarray(computed[term.left].data), np.asarray(computed[term.right].data)
        for i, j, k, l_ in np.ndindex(got.shape):
            a, b = (left[i, l_], right[k, j]) if term.flipped else (left[i, k], right[l_, j])
            got[i, j, k, l_] += term.sign * a * b
    for i, j in np.ndindex(y.shape):
        want = central_gradient(
            lambda v, i=i, j=j: float(np.asarray(program.evaluate({**values, "X": v}).value)[i, j]),
            x)
        np.testing.assert_allclose(got[i, j], want, rtol=1e-5, atol=1e-6)


def test_an_index_form_is_not_evaluated_at_a_point() -> None:
    from typer.testing import CliRunner

    from exprgraph.cli import app

    result = CliRunner().invoke(app, ["diff", "X: matrix(n, n); Y = X @ X", "--jacobian",
                                      "--wrt", "X", "--at", "X=[[1, 2], [3, 4]]"])
    assert result.exit_code == 2
    assert "index form is not evaluated at a point" in result.output
