"""Every entry of the op table, checked against oracles that do not share its code.

The tests walk `exprgraph.core.ops.OPS`, so an op added later is checked with no
edit here. Each runs at the op's sample points (`ops.sample_points`: the
entry's own `samples`, else defaults for its arity), which lie inside its
domain and away from its kinks:

- `partials` (the float rule) against central differences of `evaluate`;
- `evaluate` against `vector` (the NumPy version) on arrays of the points;
- `derivatives` (the rule written against the builder protocol), interpreted
  as graph nodes by `SymbolicBuilder`, as arrays by `ArrayAlgebra`, and
  through the simplifier (`Program.derivative`, text re-parsed), against
  `partials`;
- the one rule interpreted by every algebra (floats, the compiled float
  function, NumPy arrays, graph nodes, simplifier forms, SymPy) gives the
  same partial, and the SymPy interpretation matches `sympy.diff`;
- LaTeX of the op over distinct names shows each name once;
- the printed text of the op over names, and over compound arguments that
  need (or must not get) parentheses, parses back to the same value.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import sympy

import exprgraph
from exprgraph.core.errors import MathError
from exprgraph.core.graph import Graph, GraphBuilder, finish_graph
from exprgraph.core.ops import CONST, INPUT, OPS, Op, sample_points
from exprgraph.passes.algebras import FLOATS
from exprgraph.passes.evaluate import evaluate_nodes
from exprgraph.passes.vector import ArrayAlgebra
from exprgraph.printing.latex import latex_text
from exprgraph.printing.text import expression_text
from exprgraph.symbolic.builder import SymbolicBuilder
from exprgraph.symbolic.simplify import FormAlgebra, Simplifier

from .oracles import _SYMPY_FUNCTIONS, sympy_value

OPERATIONS = [op for op in OPS.values() if op.arity > 0]
IDS = [op.name for op in OPERATIONS]
NAMES = ("alpha", "beta", "gamma")  # \alpha, \beta, \gamma in LaTeX: easy to find


def _points(op: Op) -> list[tuple[float, ...]]:
    points = list(sample_points(op))
    assert points, f"{op.name} has no sample points: give it `samples`"
    assert all(len(p) == op.arity for p in points), op.name
    return points


def _applied(op: Op, names: tuple[str, ...] = NAMES) -> Graph:
    """The graph of `op` applied to distinct inputs."""
    builder = GraphBuilder()
    args = tuple(builder.intern(INPUT, label=name) for name in names[:op.arity])
    output = builder.intern(op, args)
    return finish_graph(builder.nodes, output, {})


def _at(point: tuple[float, ...]) -> dict[str, float]:
    return dict(zip(NAMES, point, strict=False))


def _central(f: Callable[..., float], point: tuple[float, ...], k: int) -> float:
    """∂f/∂(argument k) by a central difference with a relative step."""
    h = 1e-6 * max(1.0, abs(point[k]))
    up = list(point)
    down = list(point)
    up[k] += h
    down[k] -= h
    return (f(*up) - f(*down)) / (2 * h)


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_partials_match_central_differences(op: Op) -> None:
    assert len(op.partials) == op.arity
    for point in _points(op):
        out = op.evaluate(*point)
        for k in range(op.arity):
            numeric = _central(op.evaluate, point, k)
            exact = op.partials[k](point, out)
            assert math.isclose(exact, numeric, rel_tol=1e-6, abs_tol=1e-8), (point, k)


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_scalar_evaluation_matches_numpy(op: Op) -> None:
    assert op.vector is not None, f"{op.name} has no NumPy version"
    points = _points(op)
    columns = [np.array(column) for column in zip(*points, strict=True)]
    rows = op.vector(np)(*columns)
    scalars = np.array([op.evaluate(*point) for point in points])
    np.testing.assert_allclose(rows, scalars, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_symbolic_rule_matches_numeric_rule(op: Op) -> None:
    assert len(op.derivatives) == op.arity
    graph = _applied(op)
    builder = SymbolicBuilder(graph)
    out = graph.output
    args = graph.nodes[out].args
    roots = [op.derivatives[k](builder, args, out) for k in range(op.arity)]
    for point in _points(op):
        values = evaluate_nodes(builder.nodes, _at(point))
        for k, root in enumerate(roots):
            numeric = op.partials[k](point, op.evaluate(*point))
            assert math.isclose(values[root], numeric, rel_tol=1e-12, abs_tol=1e-14), (point, k)


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_array_interpretation_of_the_rule_matches_numeric_rule(op: Op) -> None:
    points = _points(op)
    columns = tuple(np.array(column) for column in zip(*points, strict=True))
    out = op.vector(np)(*columns)  # type: ignore[misc]
    for k in range(op.arity):
        rows = np.broadcast_to(op.derivatives[k](ArrayAlgebra(), columns, out), (len(points),))
        numeric = [op.partials[k](point, op.evaluate(*point)) for point in points]
        np.testing.assert_allclose(rows, numeric, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_simplified_derivative_text_matches_numeric_rule(op: Op) -> None:
    graph = _applied(op)
    text = expression_text(graph.nodes, graph.output)
    program = exprgraph.compile(text)
    for k, name in enumerate(NAMES[:op.arity]):
        derivative = exprgraph.compile(program.derivative(name))
        for point in _points(op):
            at = {n: v for n, v in _at(point).items() if n in derivative.inputs}
            numeric = op.partials[k](point, op.evaluate(*point))
            assert math.isclose(derivative.evaluate(at).value, numeric, rel_tol=1e-9,
                                abs_tol=1e-12), (program.derivative(name), point)


class SympyAlgebra:
    """The Builder protocol over SymPy expressions: a test-only interpreter of
    the op table's rules, to compare with `sympy.diff`."""

    def const(self, value: float) -> sympy.Expr:
        return sympy.Integer(int(value)) if value == int(value) else sympy.Float(value, 30)

    def add(self, a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        return a + b

    def sub(self, a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        return a - b

    def mul(self, a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        return a * b

    def div(self, a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        return a / b

    def neg(self, a: sympy.Expr) -> sympy.Expr:
        return -a

    def pow(self, a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        return a**b

    def apply(self, op_name: str, *args: sympy.Expr) -> sympy.Expr:
        return _SYMPY_FUNCTIONS[op_name](*args)


def _form_partials(op: Op) -> tuple[Simplifier, list[int]]:
    """The op's rules run over the simplifier's forms, as canonical nodes."""
    graph = _applied(op)
    simplifier = Simplifier(graph.nodes)
    forms = simplifier.forms([graph.output], keep_values=True)
    out = graph.output
    algebra = FormAlgebra(simplifier)
    args = tuple(forms[a] for a in graph.nodes[out].args)
    roots = [simplifier.materialize(op.derivatives[k](algebra, args, forms[out]))
             for k in range(op.arity)]
    return simplifier, roots


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_every_algebra_interprets_the_one_rule_alike(op: Op) -> None:
    """Floats, the compiled float function, arrays, nodes and forms: one rule."""
    simplifier, form_roots = _form_partials(op)
    points = _points(op)
    columns = tuple(np.array(column) for column in zip(*points, strict=True))
    array_out = op.vector(np)(*columns)  # type: ignore[misc]
    for k, rule in enumerate(op.derivatives):
        rows = np.broadcast_to(rule(ArrayAlgebra(), columns, array_out), (len(points),))
        for row, point in enumerate(points):
            out = op.evaluate(*point)
            by_floats = rule(FLOATS, point, out)
            compiled = op.partials[k](point, out)
            if op.float_override:  # a hand-written float version: same value, other numerics
                assert math.isclose(compiled, by_floats, rel_tol=1e-12, abs_tol=1e-14)
            else:  # compiled from the rule: the very same floats
                assert compiled == by_floats, (point, k)
            assert math.isclose(float(rows[row]), by_floats, rel_tol=1e-12, abs_tol=1e-14)
            form = evaluate_nodes(simplifier.builder.nodes, _at(point))[form_roots[k]]
            assert math.isclose(form, by_floats, rel_tol=1e-12, abs_tol=1e-14), (point, k)


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_rule_over_sympy_matches_sympy_diff(op: Op) -> None:
    """The rule interpreted by SymPy against SymPy's own derivative."""
    symbols = [sympy.Symbol(name, real=True) for name in NAMES[:op.arity]]
    applied = _SYMPY_FUNCTIONS[op.name](*symbols)
    for k, rule in enumerate(op.derivatives):
        ours = rule(SympyAlgebra(), tuple(symbols), applied)
        theirs = sympy.diff(applied, symbols[k])
        for point in _points(op):
            assert math.isclose(sympy_value(ours, _at(point)), sympy_value(theirs, _at(point)),
                                rel_tol=1e-12, abs_tol=1e-14), (op.name, k, point)


def test_hand_written_float_partials_are_the_documented_few() -> None:
    """Every other op's float partials are compiled from its one rule; a new
    override needs a reason (a comment in ops.py) and an entry here."""
    assert {op.name for op in OPERATIONS if op.float_override} == {"pow", "atan2"}


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_latex_shows_every_argument(op: Op) -> None:
    graph = _applied(op)
    latex = latex_text(graph.nodes, graph.output)
    for name in NAMES[:op.arity]:
        assert latex.count("\\" + name) == 1, latex


# Compound arguments worth the value p at input value(s) derived from p: each
# tests the printer's parentheses on one side of the op. (text-free builders)
def _name(b: GraphBuilder, label: str, p: float) -> tuple[int, dict[str, float]]:
    return b.intern(INPUT, label=label), {label: p}


def _sum(b: GraphBuilder, label: str, p: float) -> tuple[int, dict[str, float]]:
    u, v = b.intern(INPUT, label=label + "1"), b.intern(INPUT, label=label + "2")
    return b.intern(OPS["add"], (u, v)), {label + "1": p - 1.0, label + "2": 1.0}


def _difference(b: GraphBuilder, label: str, p: float) -> tuple[int, dict[str, float]]:
    u, v = b.intern(INPUT, label=label + "1"), b.intern(INPUT, label=label + "2")
    return b.intern(OPS["sub"], (u, v)), {label + "1": p + 2.0, label + "2": 2.0}


def _negation(b: GraphBuilder, label: str, p: float) -> tuple[int, dict[str, float]]:
    u = b.intern(INPUT, label=label)
    return b.intern(OPS["neg"], (u,)), {label: -p}


def _quotient(b: GraphBuilder, label: str, p: float) -> tuple[int, dict[str, float]]:
    u, v = b.intern(INPUT, label=label + "1"), b.intern(INPUT, label=label + "2")
    return b.intern(OPS["div"], (u, v)), {label + "1": 2.0 * p, label + "2": 2.0}


def _power(b: GraphBuilder, label: str, p: float) -> tuple[int, dict[str, float]]:
    u, v = b.intern(INPUT, label=label + "1"), b.intern(INPUT, label=label + "2")
    return b.intern(OPS["pow"], (u, v)), {label + "1": p, label + "2": 1.0}


def _negative_constant(b: GraphBuilder, label: str, p: float) -> tuple[int, dict[str, float]]:
    u, c = b.intern(INPUT, label=label), b.constant(-2.0)
    return b.intern(OPS["mul"], (c, u)), {label: -p / 2.0}


SHAPES = [_name, _sum, _difference, _negation, _quotient, _power, _negative_constant]


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=[s.__name__.strip("_") for s in SHAPES])
def test_printed_text_parses_back_to_the_same_value(op: Op, shape: Callable[..., object]) -> None:
    for point in _points(op):
        builder = GraphBuilder()
        given: dict[str, float] = {}
        args = []
        for label, p in zip(("a", "b", "c"), point, strict=False):
            node, values = shape(builder, label, p)  # type: ignore[misc]
            args.append(node)
            given.update(values)
        root = builder.intern(op, tuple(args))
        text = expression_text(builder.nodes, root)
        reparsed = exprgraph.compile(text)
        assert reparsed.graph.nodes[reparsed.graph.output].op is op, text
        assert math.isclose(reparsed.evaluate_partially(given).value, op.evaluate(*point),
                            rel_tol=1e-12, abs_tol=1e-15), text


def test_every_callable_op_is_reachable_from_the_language() -> None:
    """An op of call form that the grammar cannot call is dead weight."""
    for op in OPERATIONS:
        if op.fixity != "call":
            continue
        names = ", ".join(NAMES[:op.arity])
        program = exprgraph.compile(f"{op.name}({names})")
        assert program.graph.nodes[program.graph.output].op is op


def test_leaves_are_not_operations() -> None:
    assert INPUT.arity == CONST.arity == 0


# --- atan2 and hypot: values and conventions worked by hand -------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("atan2(1, 1)", math.pi / 4), ("atan2(1, -1)", 3 * math.pi / 4),
    ("atan2(-1, -1)", -3 * math.pi / 4), ("atan2(0, -1)", math.pi), ("atan2(2, 0)", math.pi / 2),
    ("atan2(0, 0)", 0.0),  # NumPy's and C's value
    ("hypot(3, 4)", 5.0), ("hypot(-5, 12)", 13.0), ("hypot(0, 0)", 0.0),
    ("hypot(1e300, 1e300)", math.sqrt(2) * 1e300),  # no overflow on the way
])
def test_atan2_and_hypot_values(text: str, expected: float) -> None:
    assert math.isclose(exprgraph.compile(text).evaluate().value, expected, rel_tol=1e-15)


def test_atan2_and_hypot_gradients_by_hand() -> None:
    # d atan2(y, x) = (x dy - y dx)/(x² + y²); at (y, x) = (3, 4): (4/25, -3/25).
    result = exprgraph.compile("atan2(y, x)").evaluate(y=3, x=4)
    assert math.isclose(result.gradient["y"], 4 / 25) and math.isclose(result.gradient["x"],
                                                                          -3 / 25)
    result = exprgraph.compile("hypot(x, y)").evaluate(x=3, y=4)
    assert math.isclose(result.gradient["x"], 3 / 5) and math.isclose(result.gradient["y"], 4 / 5)
    # Far out, x² + y² would overflow; the partials must not.
    result = exprgraph.compile("atan2(y, x)").evaluate(y=1e200, x=1e200)
    assert math.isclose(result.gradient["y"], 0.5e-200)


@pytest.mark.parametrize("text", ["atan2(y, x)", "hypot(x, y)"])
def test_partials_at_the_origin_are_a_math_error_naming_the_node(text: str) -> None:
    program = exprgraph.compile(f"r = {text}")
    with pytest.raises(MathError) as caught:
        program.evaluate(x=0, y=0)
    assert caught.value.to_dict()["node"] == "r" and "derivative of r" in caught.value.message
    partial = program.evaluate_partially(x=0, y=0)  # the value itself is defined
    assert partial.value == 0.0 and set(partial.undefined_gradient) == {"x", "y"}


@pytest.mark.parametrize(("wrt", "expected"), [("y", "x/(x^2 + y^2)"), ("x", "-y/(x^2 + y^2)")])
def test_atan2_symbolic_derivative_reads_as_the_textbook_one(wrt: str, expected: str) -> None:
    assert exprgraph.compile("atan2(y, x)").derivative(wrt) == expected


@pytest.mark.parametrize(("wrt", "expected"), [("x", "x/hypot(x, y)"), ("y", "y/hypot(x, y)")])
def test_hypot_symbolic_derivative_reads_as_the_textbook_one(wrt: str, expected: str) -> None:
    assert exprgraph.compile("hypot(x, y)").derivative(wrt) == expected


# --- the facts the simplifier's rules read -------------------------------------------

_FACT_POINTS = (-7.5, -2.0, -0.9, -0.3, 0.2, 0.6, 1.7, 4.0, 30.0)


def _defined_at(op: Op, x: float) -> float | None:
    try:
        value = float(op.evaluate(x))
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return value if math.isfinite(value) else None


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.parity], ids=lambda op: op.name)
def test_parity_facts_hold(op: Op) -> None:
    sign = -1.0 if op.parity == "odd" else 1.0
    assert op.parity in ("odd", "even")
    for x in _FACT_POINTS:
        plus, minus = _defined_at(op, x), _defined_at(op, -x)
        if plus is not None and minus is not None:
            assert minus == pytest.approx(sign * plus, rel=1e-12, abs=1e-15), (op.name, x)


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.sign], ids=lambda op: op.name)
def test_sign_facts_hold(op: Op) -> None:
    assert op.sign in ("positive", "nonnegative")
    values = [v for x in _FACT_POINTS if (v := _defined_at(op, x)) is not None]
    assert values
    assert all(v > 0 if op.sign == "positive" else v >= 0 for v in values), op.name


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.inverse], ids=lambda op: op.name)
def test_inverse_facts_hold(op: Op) -> None:
    inverse = OPS[op.inverse]
    for x in _FACT_POINTS:
        assert op.evaluate(inverse.evaluate(x)) == pytest.approx(x, rel=1e-12), (op.name, x)


def test_parity_facts_cover_the_functions_sympy_knows_are_odd_or_even() -> None:
    """A function SymPy finds odd or even carries the fact, so the rule f(-u)
    = ±f(u) reaches it (a fact left out is a simplification missed)."""
    s = sympy.Symbol("s", real=True)
    for op in OPERATIONS:
        if op.arity != 1 or op.fixity != "call" or op.name not in _SYMPY_FUNCTIONS:
            continue
        f = _SYMPY_FUNCTIONS[op.name]
        if sympy.simplify(f(-s) + f(s)) == 0:
            assert op.parity == "odd", op.name
        elif sympy.simplify(f(-s) - f(s)) == 0:
            assert op.parity == "even", op.name
