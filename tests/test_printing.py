"""The text printer: it parses back to the same graph, with few parentheses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

import exprgraph
from exprgraph.core.graph import Graph
from exprgraph.passes.evaluate import evaluate
from exprgraph.printing.text import expression_text
from exprgraph.symbolic.builder import SymbolicBuilder
from exprgraph.syntax.parse import parse_program

from .oracles import close
from .strategies import expressions, points


def structure(graph: Graph) -> list[tuple]:
    return [(n.op.name, n.args, n.label, n.value) for n in graph.nodes]


@settings(max_examples=400, deadline=None)
@given(expressions(kinked=True))
def test_printing_then_parsing_gives_the_same_graph(text: str) -> None:
    graph = parse_program(text)
    printed = expression_text(graph.nodes, graph.output)
    assert structure(parse_program(printed)) == structure(graph), printed


@pytest.mark.parametrize(("text", "printed"), [
    ("(x+y)*z", "(x + y)*z"),
    ("x+(y+z)", "x + (y + z)"),
    ("(x+y)+z", "x + y + z"),
    ("x-(y-z)", "x - (y - z)"),
    ("x/(y*z)", "x/(y*z)"),
    ("(x^y)^z", "(x^y)^z"),
    ("x^(y^z)", "x^y^z"),
    ("(-x)^2", "(-x)^2"),
    ("-(x^2)", "-x^2"),
    ("x^(-2)", "x^-2"),
    ("-(x*y)", "-(x*y)"),
    ("(-x)*y", "-x*y"),
    ("x*(-y)", "x*-y"),
    ("-(-x)", "-(-x)"),
    ("sin((x))", "sin(x)"),
    ("max((x+1), y)", "max(x + 1, y)"),
    ("2.50*x", "2.5*x"),
    ("2E2", "200"),
])
def test_minimal_parentheses(text: str, printed: str) -> None:
    graph = parse_program(text)
    assert expression_text(graph.nodes, graph.output) == printed


def test_negative_constant_is_parenthesised_as_a_base() -> None:
    graph = parse_program("x")
    builder = SymbolicBuilder(graph)
    power = builder.pow(builder.const(-2.0), graph.index("x"))
    text = expression_text(builder.nodes, power)
    assert text == "(-2)^x"
    reparsed = exprgraph.compile(text).graph
    assert evaluate(reparsed, {"x": 2.0})[reparsed.output] == 4.0


@settings(max_examples=100, deadline=None)
@given(expressions(max_leaves=16), points)
def test_program_form_evaluates_like_the_inline_form(text: str, point: dict) -> None:
    graph = parse_program(text)
    inline = expression_text(graph.nodes, graph.output)
    program = expression_text(graph.nodes, graph.output, limit=0, taken=graph.names)
    a, b = exprgraph.compile(inline), exprgraph.compile(program)
    assert a.inputs == b.inputs or set(a.inputs) == set(b.inputs)
    try:
        va = a.evaluate({k: v for k, v in point.items() if k in a.inputs}).value
    except exprgraph.MathError:
        return
    vb = b.evaluate({k: v for k, v in point.items() if k in b.inputs}).value
    assert close(va, vb, rel=1e-12, abs_=0)


def test_deep_sharing_prints_in_linear_size() -> None:
    # Each level uses the one below twice: inlined, the text would double per level.
    levels = "; ".join(f"a{i} = sin(a{i - 1}) + cos(a{i - 1})" for i in range(1, 60))
    program = exprgraph.compile("a0 = x; " + levels)
    text = program.derivative("x")
    assert len(text) < 20_000
    reparsed = exprgraph.compile(text)
    assert close(reparsed.evaluate(x=0.3).value, program.evaluate(x=0.3).gradient["x"],
                 rel=1e-9)
