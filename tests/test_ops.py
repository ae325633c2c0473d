"""Every op in the table: numeric partials vs central differences, and the
symbolic rule evaluated vs the numeric partial."""

from __future__ import annotations

import math

import pytest

import exprgraph
from exprgraph.core.ops import FUNCTIONS, OPS

from .oracles import central_difference, close

# Points inside each op's domain and away from its kinks.
POINTS = {
    "asin": [-0.5, 0.3], "acos": [-0.5, 0.3], "log": [0.4, 3.0], "log2": [0.4, 3.0],
    "log10": [0.4, 3.0], "sqrt": [0.4, 3.0],
}
DEFAULT_POINTS = [-1.3, -0.4, 0.7, 2.1]
UNARY = [op.name for op in OPS.values() if op.arity == 1 and op.name != "neg"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_function_derivative(name: str) -> None:
    program = exprgraph.compile(f"{name}(x)")
    symbolic = exprgraph.compile(program.derivative("x"), inputs={"x"})
    for x in POINTS.get(name, DEFAULT_POINTS):
        result = program.evaluate(x=x)
        numeric = central_difference(lambda at: program.evaluate(at).value, {"x": x}, "x")
        assert math.isclose(result.gradient["x"], numeric, rel_tol=1e-6, abs_tol=1e-8), x
        at = {"x": x} if "x" in symbolic.inputs else {}
        assert close(symbolic.evaluate(at).value, result.gradient["x"], rel=1e-12), x


@pytest.mark.parametrize("text", ["x + y", "x - y", "x*y", "x/y", "x^y", "-x + y", "min(x, y)",
                                  "max(x, y)", "pow(x, y)"])
def test_binary_operator_derivatives(text: str) -> None:
    program = exprgraph.compile(text)
    for point in ({"x": 1.7, "y": 0.6}, {"x": 0.3, "y": 2.2}, {"x": 2.5, "y": -1.5}):
        result = program.evaluate(point)
        for name in ("x", "y"):
            numeric = central_difference(lambda at: program.evaluate(at).value, point, name)
            assert math.isclose(result.gradient[name], numeric, rel_tol=1e-6, abs_tol=1e-8)
            symbolic = exprgraph.compile(program.derivative(name))
            used = {k: v for k, v in point.items() if k in symbolic.inputs}
            assert close(symbolic.evaluate(used).value, result.gradient[name], rel=1e-12)


def test_every_function_name_is_callable() -> None:
    for name, op in FUNCTIONS.items():
        args = ", ".join(["0.5"] * op.arity)
        assert math.isfinite(exprgraph.compile(f"{name}({args})").evaluate().value)


def test_softplus_and_sigmoid_stay_finite_far_out() -> None:
    assert exprgraph.compile("softplus(x)").evaluate(x=800).value == 800.0
    assert exprgraph.compile("sigmoid(x)").evaluate(x=-800).value == 0.0
    result = exprgraph.compile("softplus(x)").evaluate(x=-800)
    assert result.value == 0.0 and result.gradient["x"] == 0.0


@pytest.mark.parametrize(("text", "x"), [("log(x)", 0.0), ("log(x)", -1.0), ("sqrt(x)", -4.0),
                                         ("asin(x)", 2.0), ("x^0.5", -8.0), ("1/x", 0.0),
                                         ("0^x", -1.0), ("exp(x)", 1000.0), ("x*1e308", 10.0)])
def test_domain_errors_are_math_errors(text: str, x: float) -> None:
    with pytest.raises(exprgraph.MathError):
        exprgraph.compile(text).evaluate(x=x)
