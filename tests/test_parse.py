"""The language: precedence, numbers, implicit products, scope, and errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark

import exprgraph
from exprgraph.errors import ExprGraphError, ParseError, ProgramError
from exprgraph.parse import grammar_text, parse_program, parse_with

from .strategies import expressions


def value(text: str, **point: float) -> float:
    return exprgraph.compile(text, inputs=point).evaluate(point).value


def test_grammar_has_no_lalr_conflicts() -> None:
    # strict=True turns any shift/reduce or terminal collision into an error.
    Lark(grammar_text(), parser="lalr", strict=True)


@pytest.mark.parametrize(("text", "expected"), [
    ("-3^2", -(3.0**2)),
    ("2^3^2", 2.0 ** (3.0**2)),
    ("2**3**2", 2.0 ** (3.0**2)),
    ("2^-1", 2.0**-1),
    ("2*-3", 2.0 * -3.0),
    ("10-4-3", (10.0 - 4.0) - 3.0),
    ("64/4/2", (64.0 / 4.0) / 2.0),
    ("2+3*4^2", 2.0 + 3.0 * 4.0**2),
    ("-2^2*3", -(2.0**2) * 3.0),
    ("--2", 2.0),
    ("+-+2", -2.0),
    (".5 + 5. + 1.5e-3 + 2E2", 0.5 + 5.0 + 1.5e-3 + 2e2),
    ("1e+2", 100.0),
    ("pi", math.pi),
    ("e", math.e),
    ("ln(e)", 1.0),
    ("pow(2, 10)", 1024.0),
    ("max(1, 2) - min(1, 2)", 1.0),
])
def test_constant_arithmetic_follows_math_conventions(text: str, expected: float) -> None:
    assert value(text) == expected


@pytest.mark.parametrize(("implicit", "explicit"), [
    ("2x", "2*x"),
    ("3(x+1)", "3*(x+1)"),
    ("(x+1)(x-1)", "(x+1)*(x-1)"),
    ("2x^2", "2*x^2"),
    ("2 x y", "2*x*y"),
    ("2sin(x)", "2*sin(x)"),
    ("-2x", "-2*x"),
])
def test_implicit_multiplication_means_times(implicit: str, explicit: str) -> None:
    a, b = parse_program(implicit), parse_program(explicit)
    assert [(n.op.name, n.args, n.label) for n in a.nodes] == \
        [(n.op.name, n.args, n.label) for n in b.nodes]


def test_statements_comments_and_blank_lines() -> None:
    text = "# a comment\n\nd = a + b  # sum\r\ne = b - c;;\nY = d * e\n"
    program = exprgraph.compile(text)
    assert program.inputs == ("a", "b", "c")
    assert program.output == "Y"
    assert program.evaluate(a=2, b=3, c=1).value == (2 + 3) * (3 - 1)


def test_output_is_the_last_statement_and_a_bare_expression_is_named_out() -> None:
    assert exprgraph.compile("p = x + y; p * z").output == "out"
    assert exprgraph.compile("out = 2; out * z").output == "t1"


def test_e_is_a_variable_when_assigned_or_given_and_a_constant_otherwise() -> None:
    assert exprgraph.compile("c = a + b; d = b + 1; e = c * d").inputs == ("a", "b")
    assert exprgraph.compile("e*x").inputs == ("x",)
    assert exprgraph.compile("e*x", inputs={"e"}).inputs == ("e", "x")
    assert value("e*x", e=2, x=3) == 6.0


def test_nodes_are_in_topological_order_with_inputs_first() -> None:
    graph = parse_program("q = z*y; r = q + x")
    kinds = [n.op.name for n in graph.nodes]
    assert kinds[:3] == ["input"] * 3
    for index, node in enumerate(graph.nodes):
        assert all(arg < index for arg in node.args)


def test_generated_names_skip_names_the_program_uses() -> None:
    graph = parse_program("t1 = x*y; t1 + sin(x) + 1")
    names = [n.name for n in graph.nodes]
    assert len(names) == len(set(names))
    assert "t1" in names and "t2" in names


def test_an_alias_names_the_same_node() -> None:
    result = exprgraph.compile("a = x*y; b = x*y; c = a + b").evaluate(x=2, y=3)
    assert result.values["b"] == 6.0
    node = result.graph.nodes[result.graph.index("a")]
    assert node.aliases == ("b",)


@pytest.mark.parametrize(("text", "error", "column", "words"), [
    ("(x+", ParseError, 4, "end of input"),
    ("x + * 2", ParseError, 5, "unexpected '*'"),
    ("2 3", ParseError, 3, "unexpected number '3'"),
    ("x − 1", ParseError, 3, "'−'"),
    ("x = ", ParseError, 5, "end of input"),
    ("x + 1 = 2", ParseError, 7, "unexpected '='"),
    ("a\x00b", ParseError, 2, "unexpected character"),
    ("x(1+x)", ProgramError, 1, "x is not a function"),
    ("sinn(x)", ProgramError, 1, "unknown function sinn"),
    ("sin(x, y)", ProgramError, 1, "sin takes 1 argument"),
    ("sin x", ProgramError, 1, "sin is a function"),
    ("x = 1; x = 2", ProgramError, 8, "assigned twice"),
    ("y = x + 1; x = 2", ProgramError, 12, "used before it is assigned"),
    ("e*2; e = 3", ProgramError, 6, "used before it is assigned"),
    ("x + 1; y = 2", ProgramError, 3, "only the last statement"),  # at its operator
    ("sin = 2", ProgramError, 1, "function and cannot be assigned"),
    ("1e999", ParseError, 1, "too large"),
])
def test_errors_say_what_and_where(text: str, error: type, column: int, words: str) -> None:
    with pytest.raises(error, match=None) as caught:
        parse_program(text)
    assert words in caught.value.message
    assert caught.value.line == 1
    assert caught.value.column == column


def test_not_a_function_suggests_multiplication() -> None:
    with pytest.raises(ProgramError) as caught:
        parse_program("y = 2; y(1+x)")
    assert caught.value.hint == "to multiply, write y*(1+x)"


def test_misspelt_function_suggests_the_right_one() -> None:
    with pytest.raises(ProgramError) as caught:
        parse_program("sqrtt(x)")
    assert caught.value.hint == "did you mean sqrt?"


def test_empty_program_is_a_parse_error() -> None:
    for text in ("", "   ", "# only a comment\n", ";;"):
        with pytest.raises(ParseError, match="empty"):
            parse_program(text)


def test_error_on_a_later_line_reports_that_line() -> None:
    with pytest.raises(ParseError) as caught:
        parse_program("a = 1\nb = a +\n")
    assert caught.value.line == 2 or caught.value.line == 3
    with pytest.raises(ProgramError) as caught:
        parse_program("a = x\nb = foo(a)")
    assert (caught.value.line, caught.value.column) == (2, 5)
    assert caught.value.source_line == "b = foo(a)"


# --- the fast driver and Lark's own parser agree --------------------------------


def _outcome(text: str, fast: bool) -> tuple:
    try:
        graph = parse_with(text, frozenset(), fast=fast)
    except ExprGraphError as error:
        return ("error", type(error).__name__, error.message, error.line, error.column)
    return ("graph", [(n.op.name, n.args, n.label, n.value, n.name, tuple(n.aliases))
                      for n in graph.nodes], graph.output, graph.given)


programs = st.lists(st.tuples(st.sampled_from(["a", "b", "p", "e", "where"]),
                              expressions(max_leaves=6)), max_size=3).map(
    lambda pairs: "; ".join(f"{n} = {t}" for n, t in pairs))


@settings(max_examples=300, deadline=None)
@given(st.one_of(expressions(kinked=True), programs,
                 st.tuples(expressions(max_leaves=6), st.sampled_from(
                     [" where x=1, y=-2", " where x = pi", " where e=2", "\n# c\n", ";;"])
                 ).map("".join)))
def test_fast_parser_gives_lark_results(text: str) -> None:
    assert _outcome(text, fast=True) == _outcome(text, fast=False)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="xyz12.+-*/^()=,; \n#whereisnpe\x00−", max_size=30))
def test_fast_parser_gives_lark_errors_on_junk(text: str) -> None:
    assert _outcome(text, fast=True) == _outcome(text, fast=False)


@pytest.mark.parametrize("text", ["where = 2; where + 1", "x where x=1", "(1+" * 200 + "1" +
                                  ")" * 200, "a = 1\nb = a +\n", "2 3", "f(x)"])
def test_fast_parser_edge_cases(text: str) -> None:
    assert _outcome(text, fast=True) == _outcome(text, fast=False)


@pytest.mark.parametrize("usable", [True, False])
def test_parse_tables_from_the_cache_parse_alike(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                 usable: bool) -> None:
    from exprgraph import parse

    if usable:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    else:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder", encoding="utf-8")
        monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    text = "c = a + b; d = b + 1; e = c * d where a=2, b=6"
    expected = _outcome(text, fast=True)
    outcomes = []
    for _ in range(2):  # the first run builds (and stores), the second loads
        monkeypatch.setattr(parse, "_parser", None)
        monkeypatch.setattr(parse, "_fast", None)
        outcomes.append((_outcome(text, fast=True), _outcome("x +", fast=True)))
    assert outcomes[0] == outcomes[1] and outcomes[0][0] == expected
    cached = list((tmp_path / "exprgraph").glob("grammar-*")) if usable else []
    assert len(cached) == (1 if usable else 0)
