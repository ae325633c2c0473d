"""Large programs: long sums and deep nesting evaluate with gradients, and wide
or deep inputs cost work linear in what is printed (issue 12).

Expected numbers come from plain Python loops over the same arithmetic.
"""

from __future__ import annotations

import math

import pytest

import exprgraph
from exprgraph.symbolic.calculus import Expression

from .oracles import close


def test_ten_thousand_term_sum() -> None:
    terms = 10_000
    text = " + ".join(f"{i}*x{i % 50}" for i in range(1, terms + 1))
    point = {f"x{k}": 0.5 + k / 100 for k in range(50)}
    result = exprgraph.compile(text).evaluate(point)
    expected = sum(i * point[f"x{i % 50}"] for i in range(1, terms + 1))
    assert close(result.value, expected, rel=1e-12)
    for k in (0, 1, 49):
        assert result.gradient[f"x{k}"] == sum(i for i in range(1, terms + 1) if i % 50 == k)


def test_sin_nested_five_thousand_deep() -> None:
    depth = 5_000
    program = exprgraph.compile("sin(" * depth + "x" + ")" * depth)
    result = program.evaluate(x=0.7)
    value, slope = 0.7, 1.0
    for _ in range(depth):
        slope *= math.cos(value)
        value = math.sin(value)
    assert close(result.value, value, rel=1e-12)
    assert close(result.gradient["x"], slope, rel=1e-9)
    # The symbolic derivative stays linear in size and evaluates to the same.
    text = program.derivative("x")
    assert len(text) < 100 * depth
    assert close(exprgraph.compile(text).evaluate(x=0.7).value, slope, rel=1e-9)


def test_parentheses_nested_ten_thousand_deep() -> None:
    depth = 10_000
    result = exprgraph.compile("(x+" * depth + "1" + ")" * depth).evaluate(x=2)
    assert result.value == 2 * depth + 1
    assert result.gradient == {"x": float(depth)}


# --- work that grows with the size of what is printed, not its square --------


def _count_calls(monkeypatch, owner: object, name: str) -> list[int]:  # type: ignore[no-untyped-def]
    """Counts calls of owner.name (a plain function attribute) in calls[0]."""
    calls = [0]
    original = getattr(owner, name)

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_gradient_of_a_wide_sum_is_one_sweep(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """∂/∂x_i of x1 + ... + xn: the node steps taken grow like n, not n²
    (forward mode took one pass over all n nodes per name)."""
    from exprgraph.symbolic.simplify import Simplifier

    steps = _count_calls(monkeypatch, Simplifier, "_check_size")
    counts = []
    for n in (200, 400):
        steps[0] = 0
        program = exprgraph.compile(" + ".join(f"x{i}" for i in range(1, n + 1)))
        result = program.diff(kind="gradient")
        assert [e.expression.value({}) for e in result.entries] == [1.0] * n  # hand-worked
        counts.append(steps[0])
    assert counts[1] < 2.5 * counts[0], counts


def test_reverse_mode_gradient_matches_sympy() -> None:
    """Several names (reverse mode): every partial's value agrees with SymPy's."""
    import sympy

    from .oracles import sympy_value, to_sympy

    text = "a = x*y + sin(z)*x; b = exp(a/4) - y^2*z; b*a + log(x^2 + 1)/(y + 3)"
    program = exprgraph.compile(text)
    point = {"x": 0.7, "y": -1.3, "z": 2.1}
    oracle = to_sympy(program.graph)
    result = program.diff(kind="gradient")
    assert [e.wrt[0] for e in result.entries] == ["x", "y", "z"]
    for entry in result.entries:
        expected = sympy_value(sympy.diff(oracle, sympy.Symbol(entry.wrt[0], real=True)), point)
        assert close(entry.expression.value(point), expected, rel=1e-10)


def test_steps_of_a_deep_nesting_scan_the_edges_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """eval --steps: each node's backward step used to scan every edge of the
    graph (n² edge visits for (1+(1+...)); now the edges are read once."""
    from exprgraph.core.graph import Graph
    from exprgraph.tasks import explain

    visits = [0]
    original = Graph.edges

    def counted(self):  # type: ignore[no-untyped-def]
        for edge in original(self):
            visits[0] += 1
            yield edge

    monkeypatch.setattr(Graph, "edges", counted)
    counts = []
    for depth in (300, 600):
        visits[0] = 0
        program = exprgraph.compile("(1+" * depth + "x" + ")" * depth)
        evaluation = program.evaluate(x=2)
        steps = explain.backward_steps(program, evaluation)
        assert steps[-1].node == "x" and steps[-1].total == 1.0  # ∂/∂x of x + depth
        assert len(steps) == depth + 1
        counts.append(visits[0])
    assert counts[1] < 2.5 * counts[0], counts


def test_hessian_of_a_wide_sum_differentiates_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """x1 + ... + xn: every first partial is the constant 1, so the Hessian
    needs no second differentiation (it took n more gradients)."""
    from exprgraph.symbolic.simplify import Simplifier

    sweeps = _count_calls(monkeypatch, Simplifier, "derivatives")
    n = 150
    result = exprgraph.compile(" + ".join(f"x{i}" for i in range(1, n + 1))).diff(kind="hessian")
    assert result.shape == (n, n)
    assert all(entry.expression.is_zero for entry in result.entries)
    assert sweeps[0] == 1


def _sparse_program() -> str:
    # Non-zero second partials (worked by hand): ∂²/∂x1² = 2*x2, ∂²/∂x1∂x2 = 2*x1
    # twice, ∂²/∂x3² = -sin(x3); the other 144 - 4 = 140 entries are 0.
    return "x1^2*x2 + sin(x3) + " + " + ".join(f"x{i}" for i in range(4, 13))


def _diff(*args: str) -> str:
    from typer.testing import CliRunner

    from exprgraph.cli import app

    done = CliRunner().invoke(app, ["diff", *args])
    assert done.exit_code == 0, done.output
    return done.output


def test_a_sparse_hessian_prints_its_non_zero_entries() -> None:
    import json

    point = ",".join(f"x{i}=1" for i in range(1, 13))
    data = json.loads(_diff(_sparse_program(), "--hessian", "--at", point, "--format", "json"))
    assert data["zero_entries"] == 140 and data["shape"] == [12, 12]
    assert "matrix" not in data
    found = {(r["row"], r["column"]): (r["expr"], r["value"]) for r in data["results"]}
    assert found == {(0, 0): ("2*x2", 2.0), (0, 1): ("2*x1", 2.0), (1, 0): ("2*x1", 2.0),
                     (2, 2): ("-sin(x3)", pytest.approx(-math.sin(1.0)))}
    text = _diff(_sparse_program(), "--hessian", "--format", "text").splitlines()
    assert text == ["∂²out/∂x1² = 2*x2", "∂²out/∂x2∂x1 = 2*x1", "∂²out/∂x1∂x2 = 2*x1",
                    "∂²out/∂x3² = -sin(x3)", "the other 140 of the 12×12 Hessian's entries "
                    "are 0 (only non-zero entries are shown)"]
    latex = _diff(_sparse_program(), "--hessian", "--format", "latex")
    assert "pmatrix" not in latex and "% the other 140 of the 12×12" in latex
    table = _diff(_sparse_program(), "--hessian")
    assert "the other 140 of the 12×12 Hessian's entries are 0" in " ".join(table.split())
    assert "-sin(x3)" in table and table.count("2*x1") == 2


def test_a_small_or_dense_matrix_prints_whole() -> None:
    import json

    # 3×3, 9 entries (at most 100): whole, zeros included.
    data = json.loads(_diff("x*y + z", "--hessian", "--format", "json"))
    assert data["matrix"] == [["0", "1", "0"], ["1", "0", "0"], ["0", "0", "0"]]
    # 11×11 = 121 entries, all non-zero (∂²/∂xi∂xj of (x1 + ... + x11)^2 is 2).
    wide = "(" + " + ".join(f"x{i}" for i in range(1, 12)) + ")^2"
    data = json.loads(_diff(wide, "--hessian", "--format", "json"))
    assert data["matrix"] == [["2"] * 11 for _ in range(11)]


def test_a_sparse_jacobian_prints_its_non_zero_entries() -> None:
    program = "; ".join(f"y{i} = {i + 1}*x{i}" for i in range(1, 12))
    lines = _diff(program, "--jacobian", "--format", "text").splitlines()
    assert lines[:-1] == [f"∂y{i}/∂x{i} = {i + 1}" for i in range(1, 12)]
    assert lines[-1].startswith("the other 110 of the 11×11 Jacobian's entries are 0")


def test_reverse_mode_respects_the_symbolic_size_budget() -> None:
    """A guard (it passed before too): several names go through the backward
    sweep, which stops at the size budget as forward mode does."""
    from exprgraph.core.errors import ExpressionTooLargeError
    from exprgraph.symbolic.simplify import Simplifier

    program = exprgraph.compile("x*y + x*z + sin(x*y*z)")
    nodes, root = program.graph.nodes, program.graph.output
    with pytest.raises(ExpressionTooLargeError, match="budget"):
        Simplifier(nodes).derivatives([root], ["x", "y", "z"], budget=0, base_size=0)
    simplifier = Simplifier(nodes)
    (row,) = simplifier.derivatives([root], ["x", "y", "z"])
    point = {"x": 0.5, "y": -2.0, "z": 1.5}
    built = tuple(simplifier.builder.nodes)
    got = [Expression(built, r).value(point) for r in row]
    c = math.cos(0.5 * -2.0 * 1.5)  # by hand: ∂/∂x = y + z + y*z*cos(xyz), ...
    assert close(got[0], -2.0 + 1.5 + (-2.0 * 1.5) * c)
    assert close(got[1], 0.5 + 0.5 * 1.5 * c)
    assert close(got[2], 0.5 + 0.5 * -2.0 * c)
