"""Answer keys and answers, read: what a key names, the verdicts, an answer as a graph.

Part of checking answers (`check.py` tells the whole story): `parse_key`
turns a key (`c`, `de/da`, `∂e/∂a`, `d/da`) into a `Target`; `answer_graph`
turns the student's answer (a number, or an expression in a string) into a
graph, raising `AnswerError` where the answer itself cannot be read (an
*incorrect* verdict, not a fault of the problem). The verdict kinds and
`Verdict`, the check of one answer, live here so every part can use them.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from ..api import Program, check_value
from ..api import compile as compile_program
from ..core.errors import ExprGraphError, MathError, ValueInputError
from ..core.graph import Graph
from ..core.numbers import format_value
from ..core.ops import CONSTANTS
from ..passes.evaluate import evaluate as evaluate_graph

CORRECT, INCORRECT, UNDECIDED, ERROR = "correct", "incorrect", "undecided", "error"


@dataclass(frozen=True)
class Target:
    """What an answer key names: a node's value, or ∂of/∂wrt."""

    key: str
    of: int
    wrt: int | None  # None: the value of node `of`
    label: str


@dataclass(frozen=True)
class Verdict:
    """The check of one answer."""

    key: str
    given: str
    expected: str
    verdict: str
    explanation: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The answer's JSON object."""
        return {"key": self.key, "given": self.given, "expected": self.expected,
                "verdict": self.verdict, "explanation": self.explanation}


def parse_key(program: Program, key: str) -> Target:
    """The target an answer key names; ValueInputError for an unknown name."""
    text = key.strip()
    graph = program.graph
    if "/" not in text:
        return Target(key, _node(program, text, key), None, text)
    top, _, bottom = (part.strip() for part in text.partition("/"))
    higher_top = re.fullmatch(r"[d∂](\^?[2-9]|[²³⁴-⁹]).*", top) is not None
    higher_bottom = re.search(r"(\^?[2-9]|[²³⁴-⁹])$", bottom) is not None \
        and bottom[1:].strip() not in graph.names  # dy/dx2 with a node x2 is first order
    if higher_top or higher_bottom:
        raise ValueInputError(f"the answer key {key!r} asks for a higher derivative, which "
                              "check does not grade",
                              hint="keys are values (c) and first derivatives (de/da, d/da)")
    if not (top[:1] in "d∂" and bottom[:1] in "d∂" and len(bottom) > 1):
        raise ValueInputError(f"cannot read the answer key {key!r}",
                              hint="write a node name (c), or a derivative: de/da, ∂e/∂a, d/da")
    of_name = top[1:].strip() or graph.output_name
    if of_name not in graph.names and graph.output_name not in graph.assigned:
        # "(x+y)*z" with "dg/dz": a bare output is called whatever the answer calls it.
        of_name = graph.output_name
    wrt_name = bottom[1:].strip()
    return Target(key, _node(program, of_name, key), _node(program, wrt_name, key),
                  f"∂{of_name}/∂{wrt_name}")


def _node(program: Program, name: str, key: str) -> int:
    index = program.graph.names.get(name)
    if index is None or name[:1].isdigit():  # "3" names a constant node, not a quantity
        raise ValueInputError(f"the answer key {key!r} names {name!r}, which is not a node "
                              "of the program", hint=f"its nodes: {usable_names(program)}")
    return index


def usable_names(program: Program) -> str:
    """The names a user may write in a key or an answer, for a message: the
    inputs and the nodes the program assigns (and a bare expression's output),
    not constants (`1`, `pi`) or names the program made up (`t1`)."""
    graph = program.graph
    names = [*graph.input_names, *graph.assigned]
    if graph.output_name not in names:
        names.append(graph.output_name)
    return ", ".join(names)


class AnswerError(ValueInputError):
    """The answer itself (the student's part) cannot be read: a verdict of
    *incorrect* with the reason, not a fault of the problem."""


def shown_answer(given: Any) -> str:
    """The answer as the table shows it: a TOML value in TOML/JSON spelling
    (`true`, `[1, 2]`), never Python's (`True`)."""
    if isinstance(given, str):
        return given
    if isinstance(given, (int, float)) and not isinstance(given, bool):
        try:
            return format_value(float(given))
        except OverflowError:  # a Python int beyond float range (TOML's are 64-bit)
            return "an integer too large for a float"
    try:
        return json.dumps(given, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):  # nested too deeply to spell out
        return f"a {type(given).__name__}"


def answer_graph(program: Program, key: str, given: Any) -> Graph:
    """The answer's graph (a TOML number becomes a constant one). Inside an
    answer a name means what it means in the program: `e` the program assigns
    is that node."""
    if not isinstance(given, str):
        if isinstance(given, bool) or not isinstance(given, (int, float)):
            raise AnswerError(f"the answer to {key} must be a number or an expression in "
                              f"a string, not {shown_answer(given)}")
        try:
            number = check_value(key, given)
        except ValueInputError:  # nan, inf, or an integer beyond float range
            raise AnswerError(f"the answer to {key} must be finite, not "
                              f"{shown_answer(given)}") from None
        return compile_program(repr(number)).graph
    graph = program.graph
    names = {name for name in (*graph.assigned, *graph.input_names) if name in CONSTANTS}
    try:
        return compile_program(given, inputs=names).graph
    except ExprGraphError as error:
        raise AnswerError(f"the answer to {key} is not a valid expression: "
                          f"{error.message}", hint=error.hint) from None


def constant_value(key: str, answer: Graph) -> float:
    """The value of an answer without names (`sqrt(2)/4`); AnswerError where
    it has none (`1/0`)."""
    try:
        value = evaluate_graph(answer, {})[answer.output]
    except MathError as error:
        raise AnswerError(f"the answer to {key} has no value: {error.message}") from None
    if not math.isfinite(value):
        raise AnswerError(f"the answer to {key} must be finite, not {value}")
    return value
