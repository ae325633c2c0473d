"""Derivatives checked against independent oracles.

Reverse mode (adjoints) is compared with forward mode, with central finite
differences, with the symbolic derivative evaluated at the same point, and
with SymPy; the tutorial examples are compared with their published values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings

import exprgraph
from exprgraph.autodiff import adjoints, tangents
from exprgraph.errors import MathError
from exprgraph.evaluate import evaluate, evaluate_nodes
from exprgraph.parse import parse_program

from .oracles import central_difference, close, sympy_value, to_sympy
from .strategies import expressions, points

# The tutorial examples of the public contract, with values worked out by hand
# in the tutorials they come from (a copy of ../shared/contract/cases.json).
TUTORIAL = json.loads((Path(__file__).parent / "data" / "tutorial_cases.json").read_text())


@pytest.mark.parametrize("case", TUTORIAL, ids=[c["name"] for c in TUTORIAL])
def test_tutorial_values_and_gradients(case: dict) -> None:
    program = exprgraph.compile(case["program"], inputs=case["at"])
    result = program.evaluate(case["at"])
    assert close(result.value, case["value"])
    for name, expected in case["gradient"].items():
        assert close(result.gradient[name], expected), name
    for name, fields in case.get("nodes", {}).items():
        assert close(result.values[name], fields["value"])
        assert close(result.adjoints[name], fields["adjoint"])
    if "output" in case:
        assert program.output == case["output"]


@pytest.mark.parametrize("case", TUTORIAL, ids=[c["name"] for c in TUTORIAL])
def test_tutorial_symbolic_derivatives_evaluate_to_the_gradient(case: dict) -> None:
    program = exprgraph.compile(case["program"], inputs=case["at"])
    for name, expected in case["gradient"].items():
        text = program.derivative(name)
        value = exprgraph.compile(text, inputs=case["at"]).evaluate(
            {k: v for k, v in case["at"].items()}).value
        assert close(value, expected), (name, text)


def _all_modes(text: str, point: dict[str, float]) -> tuple:
    graph = parse_program(text)
    point = {k: v for k, v in point.items() if k in graph.input_names}
    values = evaluate(graph, point)
    reverse = adjoints(graph, values)
    return graph, point, values, reverse


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(kinked=True), points)
def test_reverse_mode_equals_forward_mode(text: str, point: dict[str, float]) -> None:
    try:
        graph, point, values, reverse = _all_modes(text, point)
        for index in graph.inputs:
            name = graph.nodes[index].label
            forward = tangents(graph, values, name)[graph.output]
            assert close(reverse[index] or 0.0, forward, rel=1e-9, abs_=1e-9), name
    except MathError:
        assume(False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(kinked=True), points)
def test_symbolic_derivative_evaluates_to_reverse_mode(text: str, point: dict[str, float]) -> None:
    try:
        graph, point, _values, reverse = _all_modes(text, point)
    except MathError:
        assume(False)
        return
    program = exprgraph.Program(graph)
    derivative_nodes = program.symbolic.builder.nodes
    for index in graph.inputs:
        try:
            symbolic = evaluate_nodes(derivative_nodes, point)[program.symbolic.derivative(index)]
        except MathError:
            continue  # e.g. pow's ∂/∂y = x^y·log(x) where x = 0: see ops.py
        assert close(symbolic, reverse[index] or 0.0, rel=1e-7, abs_=1e-9)
        # The printed text parses back and evaluates to the same number.
        reparsed = parse_program(program.derivative(graph.nodes[index].label))
        used = {k: v for k, v in point.items() if k in reparsed.input_names}
        # Simplifying may define a value the original lacks, never the reverse.
        printed = evaluate(reparsed, used)[reparsed.output]
        assert close(printed, symbolic, rel=1e-9, abs_=1e-9)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), points)
def test_reverse_mode_matches_central_differences(text: str, point: dict[str, float]) -> None:
    try:
        graph, point, values, reverse = _all_modes(text, point)

        def f(at: dict[str, float]) -> float:
            return evaluate(graph, at)[graph.output]

        for index in graph.inputs:
            name = graph.nodes[index].label
            numeric = central_difference(f, point, name)
            exact = reverse[index] or 0.0
            # Differences lose about half the digits; skip steep or huge spots.
            assume(abs(exact) < 1e4 and abs(values[graph.output]) < 1e6)
            assert math.isclose(exact, numeric, rel_tol=1e-4, abs_tol=1e-5), name
    except MathError:
        assume(False)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_leaves=8), points)
def test_values_and_gradients_match_sympy(text: str, point: dict[str, float]) -> None:
    try:
        graph, point, values, reverse = _all_modes(text, point)
    except MathError:
        assume(False)
        return
    expr = to_sympy(graph)
    try:
        expected = sympy_value(expr, point)
    except TypeError:  # SymPy takes (-1.0)^1.0 into the complex numbers; we stay real
        assume(False)
        return
    assert close(values[graph.output], expected, rel=1e-8, abs_=1e-9)
    for index in graph.inputs:
        name = graph.nodes[index].label
        try:
            slope = sympy_value(sympy.diff(expr, sympy.Symbol(name, real=True)), point)
        except (ZeroDivisionError, TypeError):  # SymPy's zoo or a complex number
            continue
        if not math.isfinite(slope):
            continue  # undefined for SymPy (0*log(0)); our one-sided conventions apply
        assert close(reverse[index] or 0.0, slope, rel=1e-7, abs_=1e-8), name


def test_shared_subexpression_is_one_node_and_its_adjoint_sums_both_uses() -> None:
    graph = parse_program("(x+y)*(x+y)")
    assert [n.op.name for n in graph.nodes].count("add") == 1
    values = evaluate(graph, {"x": 1.0, "y": 2.0})
    # d/dx (x+y)^2 = 2(x+y) = 6, worked out by hand.
    assert adjoints(graph, values)[graph.index("x")] == 6.0


def test_constants_get_no_adjoint_and_are_never_differentiated() -> None:
    # ∂(x^2)/∂2 would be x^2·log(x), undefined at x = -3; it must not be asked for.
    result = exprgraph.compile("x^2").evaluate(x=-3)
    assert result.gradient == {"x": -6.0}
    assert result.adjoints["2"] is None


def test_unused_input_has_gradient_zero() -> None:
    result = exprgraph.compile("x*x").evaluate(x=3, y=4)
    assert result.gradient == {"x": 6.0, "y": 0.0}
    assert result.unused == ("y",)


def test_dead_statement_has_adjoint_zero() -> None:
    result = exprgraph.compile("a = x*2; b = y*3").evaluate(x=1, y=1)
    assert result.adjoints["a"] == 0.0
    assert result.gradient == {"x": 0.0, "y": 3.0}


@pytest.mark.parametrize(("text", "point", "expected"), [
    ("abs(x)", {"x": 0.0}, 0.0),
    ("relu(x)", {"x": 0.0}, 0.0),
    ("max(x, y)", {"x": 1.0, "y": 1.0}, 0.5),
    ("min(x, y)", {"x": 1.0, "y": 1.0}, 0.5),
    ("max(x, y)", {"x": 2.0, "y": 1.0}, 1.0),
    ("min(x, y)", {"x": 2.0, "y": 1.0}, 0.0),
    ("0*sqrt(x)", {"x": 0.0}, 0.0),
])
def test_documented_derivatives_at_kinks(text: str, point: dict[str, float],
                                         expected: float) -> None:
    program = exprgraph.compile(text)
    assert program.evaluate(point).gradient["x"] == expected
    # The symbolic derivative follows the same convention.
    derivative = exprgraph.compile(program.derivative("x"))
    assert derivative.evaluate({k: v for k, v in point.items()
                                if k in derivative.inputs}).value == expected


def test_infinite_slope_is_a_math_error_naming_the_node() -> None:
    with pytest.raises(MathError, match="derivative of t1 with respect to x"):
        exprgraph.compile("t1 = sqrt(x); t1 + 1").evaluate(x=0)
