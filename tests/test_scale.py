"""Large programs: long sums and deep nesting evaluate with gradients.

Expected numbers come from plain Python loops over the same arithmetic.
"""

from __future__ import annotations

import math

import exprgraph

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
