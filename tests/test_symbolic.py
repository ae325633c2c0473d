"""Symbolic differentiation and simplification.

Soundness is checked by evaluation: a simplified expression equals the
original wherever the original is defined, and every derivative `diff`
prints equals reverse mode, and finite differences of reverse mode for
second derivatives. The expected forms below are written by hand: they are
the specification of what "simplified" means here.
"""

from __future__ import annotations

import math

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings

import exprgraph
from exprgraph.core.errors import MathError
from exprgraph.passes.evaluate import evaluate
from exprgraph.printing.latex import latex_text
from exprgraph.symbolic.calculus import expression_of
from exprgraph.syntax.parse import parse_program

from .oracles import central_difference, close, sympy_value, to_sympy
from .strategies import expressions, points


def simplified(text: str) -> str:
    program = exprgraph.compile(text)
    return program.text(program.expression)


@pytest.mark.parametrize(("text", "expected"), [
    ("x*1 + 0 + x", "2*x"),
    ("x + x", "2*x"),
    ("3*x - x", "2*x"),
    ("x*x", "x^2"),
    ("x^2*x", "x^3"),
    ("x^a*x^b", "x^(a + b)"),
    ("x - x", "0"),
    ("x/x", "1"),
    ("--x", "x"),
    ("0/x", "0"),
    ("x^1", "x"),
    ("x^0", "1"),
    ("2*(x + y) - 2*x", "2*y"),
    ("x*y + y*x", "2*x*y"),
    ("x*y^-1", "x/y"),
    ("x + -1*y", "x - y"),
    ("-(a - b)", "b - a"),
    ("1 - x^2", "1 - x^2"),
    ("sqrt(x)*sqrt(x)", "x"),
    ("(x*y)^2", "x^2*y^2"),
    ("log(exp(x))", "x"),
    ("exp(log(x))", "exp(log(x))"),  # not x: undefined for x <= 0
    ("log(e)", "1"),
    ("2^3 + 1", "9"),
])
def test_simplified_forms(text: str, expected: str) -> None:
    assert simplified(text) == expected


@pytest.mark.parametrize("text", ["sqrt(x^2)", "(x^2)^0.5", "(x*y)^0.5", "(-2*x)^0.5"])
def test_rules_that_would_change_a_defined_value_are_not_applied(text: str) -> None:
    # sqrt(x^2) is |x|, not x; (x*y)^0.5 is defined for x, y < 0, x^0.5*y^0.5 is not.
    program = exprgraph.compile(simplified(text))
    original = exprgraph.compile(text)
    for point in ({"x": -3.0, "y": -2.0}, {"x": 2.0, "y": 5.0}):
        used = {k: v for k, v in point.items() if k in original.inputs}
        try:
            expected = original.evaluate(used).value
        except MathError:
            continue
        assert program.evaluate(used).value == pytest.approx(expected, rel=1e-12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(kinked=True), points)
def test_simplifying_never_changes_a_defined_value(text: str, point: dict) -> None:
    graph = parse_program(text)
    used = {k: v for k, v in point.items() if k in graph.input_names}
    try:
        expected = evaluate(graph, used)[graph.output]
    except MathError:
        assume(False)
        return
    expr = expression_of(graph)
    got = expr.value(used)  # a MathError here: undefined where the original is not
    assert close(got, expected, rel=1e-9, abs_=1e-9)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_leaves=8), points)
def test_second_derivatives_match_differences_of_reverse_mode(text: str, point: dict) -> None:
    program = exprgraph.compile(text)
    used = {k: v for k, v in point.items() if k in program.inputs}
    assume(program.inputs)
    a, b = program.inputs[0], program.inputs[-1]
    try:
        # Defined at the point itself: beside a singularity (x/(3x) at x = 0) the
        # simplified derivative is exact but the differences are only noise.
        program.evaluate(used)
        (entry,) = program.diff([a, b]).entries
        exact = entry.expression.value(used)

        def first(at: dict) -> float:
            return program.evaluate(at).gradient[a]

        numeric = central_difference(first, used, b)
    except MathError:
        assume(False)
        return
    assume(abs(exact) < 1e4)
    assert math.isclose(exact, numeric, rel_tol=1e-4, abs_tol=1e-5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_leaves=6), points)
def test_hessian_matches_sympy(text: str, point: dict) -> None:
    program = exprgraph.compile(text)
    used = {k: v for k, v in point.items() if k in program.inputs}
    result = program.diff(kind="hessian")
    # pi and e as the floats the program computes with: sin(pi) is 1.2e-16, not 0.
    reference = to_sympy(program.graph).subs({sympy.pi: sympy.Float(math.pi, 30),
                                              sympy.E: sympy.Float(math.e, 30)})
    for entry in result.entries:
        try:
            ours = entry.expression.value(used)
        except MathError:
            continue
        x, y = (sympy.Symbol(name, real=True) for name in entry.wrt)
        try:
            theirs = sympy_value(sympy.diff(reference, x, y), used)
        except (ZeroDivisionError, TypeError):
            continue
        if math.isfinite(theirs):
            assert close(ours, theirs, rel=1e-7, abs_=1e-8), entry.wrt


@pytest.mark.parametrize(("text", "order", "expected"), [
    ("sin(x)", 4, "sin(x)"),
    ("sin(x)", 2, "-sin(x)"),
    ("exp(2*x)", 3, "8*exp(2*x)"),
    ("x^5", 5, "120"),
    ("x^5", 6, "0"),
    ("sin(x)*exp(x)", 10, "32*cos(x)*exp(x)"),
    ("log(x)", 2, "-1/x^2"),
])
def test_higher_derivatives(text: str, order: int, expected: str) -> None:
    program = exprgraph.compile(text)
    (entry,) = program.diff(order=order).entries
    assert program.text(entry.expression) == expected


def test_mixed_partial_is_successive() -> None:
    program = exprgraph.compile("x^3*y^2")
    (entry,) = program.diff(["x", "y"]).entries
    assert entry.wrt == ("x", "y")
    assert program.text(entry.expression) == "6*x^2*y"


def test_jacobian_rows_are_the_unused_assigned_names() -> None:
    program = exprgraph.compile("s = x + y; u = s*y; v = s - x")
    result = program.diff(kind="jacobian")
    assert result.rows == ("u", "v")
    assert result.shape == (2, 2)
    texts = [program.text(e.expression) for e in result.entries]
    assert texts == ["y", "x + 2*y", "0", "1"]


def test_gradient_of_a_deep_composition_stays_linear() -> None:
    depth = 50
    text = "x"
    for k in range(depth):
        text = f"{'sin' if k % 2 == 0 else 'cos'}({text})"
    program = exprgraph.compile(text)
    (entry,) = program.diff().entries
    printed = program.text(entry.expression)
    assert len(printed) < 60 * depth * 4
    at = {"x": 0.3}
    assert close(exprgraph.compile(printed).evaluate(at).value,
                 program.evaluate(at).gradient["x"], rel=1e-9)


def test_hessian_of_a_polynomial_in_ten_variables() -> None:
    names = [f"x{k}" for k in range(10)]
    terms = [f"{(k % 7) + 1}*{names[k % 10]}*{names[(3 * k + 1) % 10]}^{k % 3 + 1}"
             for k in range(200)]
    program = exprgraph.compile(" + ".join(terms))
    result = program.diff(kind="hessian")
    reference = to_sympy(program.graph)
    point = {name: 0.1 * (k + 1) for k, name in enumerate(names)}
    for entry in result.entries[::7]:
        x, y = (sympy.Symbol(name, real=True) for name in entry.wrt)
        expected = sympy_value(sympy.diff(reference, x, y), point)
        assert close(entry.expression.value(point), expected, rel=1e-9, abs_=1e-9)


@pytest.mark.parametrize(("text", "expected"), [
    ("x^2*sin(x)", r"x^{2} \sin\left(x\right)"),
    ("1/(2*sqrt(x))", r"\frac{1}{2 \sqrt{x}}"),
    ("w1*x1 + b", r"w_{1} x_{1} + b"),
    ("alpha*relu(x)", r"\alpha \operatorname{relu}\left(x\right)"),
    ("(x+1)/(x-1)", r"\frac{x + 1}{x - 1}"),
    ("2*3^x", r"2 \cdot 3^{x}"),
    ("abs(x)*pi", r"\pi \left|x\right|"),
])
def test_latex(text: str, expected: str) -> None:
    expr = exprgraph.compile(text).expression
    assert latex_text(expr.nodes, expr.root) == expected


def test_latex_parenthesises_e_to_a_power_as_a_base() -> None:
    graph = parse_program("exp(x)^2")  # printed as parsed: simplifying gives exp(2*x)
    assert latex_text(graph.nodes, graph.output) == r"\left(e^{x}\right)^{2}"


@settings(max_examples=200, deadline=None)
@given(expressions(kinked=True))
def test_latex_braces_balance_for_every_op(text: str) -> None:
    expr = exprgraph.compile(text).expression
    latex = latex_text(expr.nodes, expr.root)
    depth = 0
    for char in latex:
        depth += (char == "{") - (char == "}")
        assert depth >= 0
    assert depth == 0
    assert latex.count("\\left") == latex.count("\\right")
