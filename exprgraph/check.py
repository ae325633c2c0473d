"""Checking answers: node values and partial derivatives, numbers or expressions.

An answer key names what is answered:

- `c`: the value of node c (or, given an expression, c over the inputs);
- `de/da` or `∂e/∂a`: the partial derivative of node e with respect to node a
  (an input or an intermediate node: then it is the adjoint of a);
- `d/da`: the same for the program's output (and `dg/da` too, when the output
  is a bare expression and the program has no node g).

A numeric answer (a number, or a string such as "1/3" or "-3") is compared at
the problem's point with a relative tolerance (default 1e-4) and an absolute
floor of 1e-10 near 0. An expression answer may use the program's inputs and
node names; it is checked, like WeBWorK does and then some:

1. symbolically: if the simplified difference is 0, it is correct;
2. else by sampling, with a seed fixed by the source and key (same file,
   same verdicts): points with every input in [-2, 2], then in ranges shifted
   or widened to where the right answer is defined, keeping only points where
   it is; the answer must be defined and agree within the tolerance at 8 such
   points. Fewer than 8 points found means *undecided*, never a guess.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .api import Evaluation, Program, check_value, parse_value
from .api import compile as compile_program
from .autodiff import adjoints
from .calculus import Expression, compose, is_zero, simplified
from .errors import ExprGraphError, MathError, ValueInputError
from .evaluate import format_value
from .explain import chain_from_output, forward_steps, step_text
from .ops import SUB
from .symbolic import symbolic_gradient

DEFAULT_TOLERANCE = 1e-4
ABSOLUTE_FLOOR = 1e-10
SAMPLES = 8
RANGES = ((-2.0, 2.0), (0.1, 4.0), (-10.0, 10.0), (0.5, 20.0), (-100.0, -0.5))
ATTEMPTS_PER_RANGE = 40

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


@dataclass(frozen=True)
class Report:
    """All answers of one problem."""

    source: str
    name: str
    verdicts: tuple[Verdict, ...]
    error: dict[str, Any] | None = None  # the problem itself could not be checked

    @property
    def correct(self) -> int:
        """How many answers are correct."""
        return sum(v.verdict == CORRECT for v in self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        """The problem's JSON object: source, name, score, answers."""
        data: dict[str, Any] = {"source": self.source, "name": self.name,
                                "score": {"correct": self.correct, "total": len(self.verdicts)},
                                "answers": [v.to_dict() for v in self.verdicts]}
        if self.error is not None:
            data["error"] = self.error
        return data


def parse_key(program: Program, key: str) -> Target:
    """The target an answer key names; ValueInputError for an unknown name."""
    text = key.strip()
    graph = program.graph
    if "/" not in text:
        return Target(key, _node(program, text, key), None, text)
    top, _, bottom = (part.strip() for part in text.partition("/"))
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
        known = ", ".join(n for n in program.graph.names if not n[:1].isdigit())
        raise ValueInputError(f"the answer key {key!r} names {name!r}, which is not a node "
                              "of the program", hint=f"its nodes: {known}")
    return index


def check_answer(program: Program, evaluation: Evaluation | None, key: str, given: Any,
                 tolerance: float, seed: str) -> Verdict:
    """Check one answer; bad input becomes an ERROR verdict, never an exception."""
    shown = given if isinstance(given, str) else format_value(check_value(key, given)) \
        if isinstance(given, (int, float)) and not isinstance(given, bool) else repr(given)
    try:
        target = parse_key(program, key)
        answer = _answer_graph(program, key, given)
        if answer is None or not answer.inputs:
            return _check_number(program, evaluation, target, shown,
                                 _number_of(key, given, answer), tolerance)
        return _check_expression(program, evaluation, target, shown, answer, tolerance, seed)
    except ExprGraphError as error:
        return Verdict(key, shown, "", ERROR, error.message + (
            f" ({error.hint})" if error.hint else ""))


def _answer_graph(program: Program, key: str, given: Any) -> Any:
    if not isinstance(given, str):
        return None
    try:
        return compile_program(given, inputs=set(program.inputs) & {"e", "pi"}).graph
    except ExprGraphError as error:
        raise ValueInputError(f"the answer to {key} is not a valid expression: "
                              f"{error.message}") from None


def _number_of(key: str, given: Any, answer: Any) -> float:
    if answer is None:
        return check_value(key, given)
    return parse_value(key, answer.source)


def _expected_number(program: Program, evaluation: Evaluation, target: Target) -> float:
    if target.wrt is None:
        return evaluation.node_values[target.of]
    if target.of == program.graph.output:
        found = evaluation.node_adjoints[target.wrt]
    else:
        graph = replace(program.graph, output=target.of)
        found = adjoints(graph, evaluation.node_values)[target.wrt]
    return found or 0.0


def _close(given: float, expected: float, tolerance: float) -> bool:
    return abs(given - expected) <= max(tolerance * abs(expected), ABSOLUTE_FLOOR)


def _check_number(program: Program, evaluation: Evaluation | None, target: Target,
                  shown: str, given: float, tolerance: float) -> Verdict:
    if evaluation is None:
        raise ValueInputError(f"a numeric answer to {target.key} needs a point",
                              hint="give the problem one: at = { x = 1, ... } or --at x=1")
    expected = _expected_number(program, evaluation, target)
    if _close(given, expected, tolerance):
        return Verdict(target.key, shown, format_value(expected), CORRECT)
    return Verdict(target.key, shown, format_value(expected), INCORRECT,
                   _explain(program, evaluation, target))


def _explain(program: Program, evaluation: Evaluation | None, target: Target) -> str:
    """How the right answer is obtained: a forward step, or the chain rule."""
    if evaluation is None:
        return ""
    graph = program.graph
    if target.wrt is None:
        for step in forward_steps(program, evaluation):
            if step.name == graph.nodes[target.of].name:
                return f"{step.name} = {step.expression} = {step.substituted} = " \
                       f"{format_value(step.value)}"
        return f"{target.label} is {format_value(evaluation.node_values[target.of])}"
    if target.of != graph.output:
        program = Program(replace(graph, output=target.of))
        evaluation = program.evaluate(evaluation.given)
    out = graph.nodes[target.of].name
    return "\n".join(step_text(step, out)
                     for step in chain_from_output(program, evaluation, target.wrt))


def _right_expression(program: Program, target: Target) -> tuple[Any, int]:
    """A builder holding the program, and the node of the right answer in it."""
    graph = program.graph if target.of == program.graph.output else \
        replace(program.graph, output=target.of)
    gradient = symbolic_gradient(graph)
    builder = gradient.builder
    if target.wrt is None:
        return builder, target.of
    return builder, gradient.derivative(target.wrt)


def _check_expression(program: Program, evaluation: Evaluation | None, target: Target,
                      shown: str, answer: Any, tolerance: float, seed: str) -> Verdict:
    builder, right = _right_expression(program, target)
    given = compose(builder, program.graph.names, answer)
    difference = builder.intern(SUB, (given, right))
    nodes = tuple(builder.nodes)
    right_text = program.text(simplified(nodes, right))
    if is_zero(nodes, difference):
        return Verdict(target.key, shown, right_text, CORRECT, "equal after simplifying")
    found = _sample(program, nodes, right, given, tolerance, seed)
    if found is None:
        return Verdict(target.key, shown, right_text, UNDECIDED,
                       f"fewer than {SAMPLES} points found where the right answer is defined")
    if found == "":
        return Verdict(target.key, shown, right_text, CORRECT,
                       f"equal at {SAMPLES} sampled points")
    explanation = found
    worked = _explain(program, evaluation, target)
    if worked:
        explanation += "\n" + worked
    return Verdict(target.key, shown, right_text, INCORRECT, explanation)


def _sample(program: Program, nodes: tuple[Any, ...], right: int, given: int,
            tolerance: float, seed: str) -> str | None:
    """"" if the answer agrees at SAMPLES points, a reason if it does not,
    None if too few points are found where the right answer is defined."""
    rng = random.Random(zlib.crc32(seed.encode("utf-8")))
    names = program.inputs
    right_expr, given_expr = Expression(nodes, right), Expression(nodes, given)
    agreed = 0
    for low, high in RANGES:
        for _ in range(ATTEMPTS_PER_RANGE):
            point = {name: round(rng.uniform(low, high), 6) for name in names}
            try:
                expected = right_expr.value(point)
            except MathError:
                continue
            at = ", ".join(f"{k}={format_value(v)}" for k, v in point.items())
            try:
                value = given_expr.value(point)
            except MathError:
                return f"undefined at {at}, where the right answer is {format_value(expected)}"
            if not _close(value, expected, tolerance):
                return (f"at {at} the right answer is {format_value(expected)}, "
                        f"this one is {format_value(value)}")
            agreed += 1
            if agreed == SAMPLES:
                return ""
    return None


@dataclass(frozen=True)
class CheckProblem:
    """A program, its point (if any) and the answers to check."""

    source: str
    name: str
    program: str
    point: Mapping[str, float] | None
    answers: Mapping[str, Any]
    tolerance: float = DEFAULT_TOLERANCE


def check_problem(problem: CheckProblem) -> Report:
    """Check every answer of a problem."""
    try:
        program = compile_program(problem.program, inputs=problem.point or {})
        point = {**program.graph.given, **(problem.point or {})}
        evaluation = program.evaluate(point) if point or not program.inputs else None
    except ExprGraphError as error:
        return Report(problem.source, problem.name, (), error.to_dict())
    verdicts = tuple(check_answer(program, evaluation, key, given, problem.tolerance,
                                  f"{problem.source}|{key}")
                     for key, given in problem.answers.items())
    return Report(problem.source, problem.name, verdicts)


def parse_answer_option(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` from the command line: `dg/dz=x+y` → ("dg/dz", "x+y")."""
    key, has_value, value = text.partition("=")
    if not has_value or not key.strip() or not value.strip():
        raise ValueInputError(f"--answer expects KEY=ANSWER, got {text!r}",
                              hint='e.g. --answer "dg/dz=x+y"')
    return key.strip(), value.strip()


def tolerance_of(raw: Any, where: str) -> float:
    """A tolerance from a problem file: a positive number."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 < raw < 1 \
            or math.isnan(raw):
        raise ValueInputError(f"{where}: tolerance must be a number between 0 and 1")
    return float(raw)


def read_check_problems(path: Any) -> list[CheckProblem | ExprGraphError]:
    """The answered problems of a TOML problem set, or why one cannot be read.
    Numeric answers are checked at a problem's first point; a problem-level
    `tolerance` beats the file's."""
    from pathlib import Path

    from .batch import FileError, points_of, toml_document

    path = Path(path)
    if path.suffix != ".toml":
        return [FileError(f"{path} has no answers: check reads .toml problem sets",
                          file=str(path))]
    document = toml_document(path)
    out: list[CheckProblem | ExprGraphError] = []
    try:
        default = tolerance_of(document.get("tolerance", DEFAULT_TOLERANCE), str(path))
    except ValueInputError as error:
        return [error]
    for k, entry in enumerate(document.get("problem", []), start=1):
        name = entry.get("name", f"problem-{k}") if isinstance(entry, dict) else f"problem-{k}"
        source = f"{path}:{name}"
        try:
            if not isinstance(entry, dict) or not isinstance(entry.get("program"), str):
                raise ValueInputError(f"problem {name!r} has no program")
            answers = entry.get("answers", {})
            if not isinstance(answers, dict):
                raise ValueInputError(f"problem {name!r}: answers must be a table")
            tolerance = tolerance_of(entry["tolerance"], source) if "tolerance" in entry \
                else default
            points = points_of(entry.get("at", {}))
        except ValueInputError as error:
            error.details.setdefault("source", source)
            out.append(error)
            continue
        if answers:
            out.append(CheckProblem(source, name, entry["program"], points[0] or None,
                                    answers, tolerance))
    return out
