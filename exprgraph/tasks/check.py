"""Checking answers: node values and partial derivatives, numbers or expressions.

An answer key names what is answered:

- `c`: the value of node c (or, given an expression, c over the inputs);
- `de/da` or `∂e/∂a`: the partial derivative of node e with respect to node a
  (an input or an intermediate node: then it is the adjoint of a);
- `d/da`: the same for the program's output (and `dg/da` too, when the output
  is a bare expression and the program has no node g).

A constant answer (a number, or a string without input or node names:
"1/3", "-3", "sqrt(2)/4", "e") is a number written exactly: where the problem
has a point it is compared there, with a relative tolerance (default 1e-4) and
an absolute floor of 1e-10 near 0. Any other answer is an expression: it may
use the program's inputs and node names, each meaning what it means in the
program (`e` the program assigns is that node, not Euler's number). It is
checked at the problem's point (if any), then by sampling, with a seed fixed
by the source and key (same file, same verdicts): each input cycles through
the RANGES, keeping only points where the program and the right answer are
defined; the answer must be defined and agree within the tolerance at 8 such
points. A constant answer to a problem without a point is compared the same
way (`pi/2` for `atan(x) + atan(1/x)` is incorrect: that is -pi/2 for x < 0).
An answer equal after simplifying but undefined where the right one is
defined (`sqrt(x)^2` for `x`) is incorrect: simplifying only explains an
agreement, it never overrules the sampling. Fewer than 8 points found means
*undecided* (unless the answer is identical after simplifying), never a guess.

Whose fault: a key that names no node is an `error` verdict (the problem
file's); an answer that cannot be read is `incorrect`, with the reason (the
student's).
"""

from __future__ import annotations

import json
import math
import random
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..api import Evaluation, Program, check_value
from ..api import compile as compile_program
from ..core.errors import ExprGraphError, FileError, MathError, ValueInputError
from ..core.graph import Graph, Node
from ..core.numbers import format_value, short_value, table_value
from ..core.ops import CONST, CONSTANTS, INPUT, NEG, SUB
from ..passes.autodiff import adjoints
from ..passes.evaluate import evaluate as evaluate_graph
from ..symbolic.builder import symbolic_gradient
from ..symbolic.calculus import Expression, compose, is_zero, simplified
from .explain import (
    Noise,
    bar,
    chain_from_output,
    forward_text,
    generated_names,
    step_text,
)
from .problems import DEFAULT_TOLERANCE

ABSOLUTE_FLOOR = 1e-10
SAMPLES = 8
RANGES = ((-2.0, 2.0), (0.1, 4.0), (-10.0, 10.0), (0.5, 20.0), (-100.0, -0.5))
ATTEMPTS = 200
NEAR_MISS = 0.05  # a wrong number this close (relative) gets a tolerance note

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
    file: str = ""  # the problem file ("" on the command line)

    @property
    def correct(self) -> int:
        """How many answers are correct."""
        return sum(v.verdict == CORRECT for v in self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        """The problem's JSON object: source, name, score, answers."""
        data: dict[str, Any] = {"source": self.source, "name": self.name, "file": self.file,
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


def check_answer(program: Program, evaluation: Evaluation | None, key: str, given: Any,
                 tolerance: float, seed: str) -> Verdict:
    """Check one answer, never raising. A key naming no node, or a numeric
    answer to a problem without a point, is an ERROR verdict (the problem's
    fault); an answer that cannot be read is INCORRECT, with the reason."""
    shown = _shown(given)
    try:
        target = parse_key(program, key)
    except ExprGraphError as error:
        return Verdict(key, shown, "", ERROR, _message(error))
    try:
        answer = _answer_graph(program, key, given)
        constant = not answer.inputs
        if constant and evaluation is not None:
            # A number written exactly (`sqrt(2)/4`, `e`): compared at the point.
            return _check_number(program, evaluation, target, shown,
                                 _constant_value(key, answer), tolerance,
                                 literal=all(n.op in (CONST, NEG) for n in answer.nodes))
        return _check_expression(program, evaluation, target, shown, answer, tolerance, seed,
                                 constant)
    except AnswerError as error:
        return Verdict(key, shown, _right_text_or_blank(program, evaluation, target),
                       INCORRECT, _message(error))
    except ExprGraphError as error:
        return Verdict(key, shown, "", ERROR, _message(error))


def _message(error: ExprGraphError) -> str:
    return error.message + (f" ({error.hint})" if error.hint else "")


def _shown(given: Any) -> str:
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


def _answer_graph(program: Program, key: str, given: Any) -> Graph:
    """The answer's graph (a TOML number becomes a constant one). Inside an
    answer a name means what it means in the program: `e` the program assigns
    is that node."""
    if not isinstance(given, str):
        if isinstance(given, bool) or not isinstance(given, (int, float)):
            raise AnswerError(f"the answer to {key} must be a number or an expression in "
                              f"a string, not {_shown(given)}")
        try:
            number = check_value(key, given)
        except ValueInputError:  # nan, inf, or an integer beyond float range
            raise AnswerError(f"the answer to {key} must be finite, not "
                              f"{_shown(given)}") from None
        return compile_program(repr(number)).graph
    graph = program.graph
    names = {name for name in (*graph.assigned, *graph.input_names) if name in CONSTANTS}
    try:
        return compile_program(given, inputs=names).graph
    except ExprGraphError as error:
        raise AnswerError(f"the answer to {key} is not a valid expression: "
                          f"{error.message}", hint=error.hint) from None


def _constant_value(key: str, answer: Graph) -> float:
    """The value of an answer without names (`sqrt(2)/4`); AnswerError where
    it has none (`1/0`)."""
    try:
        value = evaluate_graph(answer, {})[answer.output]
    except MathError as error:
        raise AnswerError(f"the answer to {key} has no value: {error.message}") from None
    if not math.isfinite(value):
        raise AnswerError(f"the answer to {key} must be finite, not {value}")
    return value


def _expected_number(program: Program, evaluation: Evaluation, target: Target) -> float:
    if target.wrt is None:
        return evaluation.node_values[target.of]
    graph = replace(program.graph, output=target.of)
    # Adjoints are computed per answer, and only the asked one must exist: a
    # derivative undefined at the point (`sqrt(x)` at 0), or too large for a
    # float (∂out/∂y of x*y*z at x = z = 1e300), must not stop the check of
    # another. Where the asked one is such, no number is right: an ERROR verdict.
    undefined: dict[int, MathError] = {}
    found = adjoints(graph, evaluation.node_values, undefined)
    if target.wrt in undefined:
        error = undefined[target.wrt]
        point = {name: evaluation.given[name] for name in program.inputs}
        at = f" at {_point_text(point)}" if point else ""
        raise MathError(f"the right answer to {target.key} has no value{at}: {error.message}",
                        line=error.line, column=error.column, source_line=error.source_line,
                        **error.details)
    return found[target.wrt] or 0.0


def _is_noise(program: Program, evaluation: Evaluation, target: Target) -> bool:
    """Whether the right number is float noise, to show as 0 (`Noise`)."""
    if target.wrt is None:
        return target.of in Noise.of(program, evaluation).values
    try:
        sub = Program(replace(program.graph, output=target.of))
        worked = Evaluation(sub.graph, evaluation.given, evaluation.node_values,
                            adjoints(sub.graph, evaluation.node_values, {}), evaluation.unused)
    except MathError:
        return False
    return target.wrt in Noise.of(sub, worked).adjoints


def _close(given: float, expected: float, tolerance: float) -> bool:
    return abs(given - expected) <= max(tolerance * abs(expected), ABSOLUTE_FLOOR)


def _check_number(program: Program, evaluation: Evaluation, target: Target,
                  shown: str, given: float, tolerance: float, literal: bool = True) -> Verdict:
    """A number at the problem's point. `literal`: written as digits (`-3`);
    otherwise (`sqrt(2)/2`) the explanation says what number it is."""
    expected = _expected_number(program, evaluation, target)
    right = table_value(expected, _is_noise(program, evaluation, target))
    if _close(given, expected, tolerance):
        return Verdict(target.key, shown, right, CORRECT)
    notes = []
    if not literal:
        point = {name: evaluation.given[name] for name in program.inputs}
        notes.append(f"at {_point_text(point)} " if point else "")
        notes[-1] += _differ(expected, given)
    if abs(given - expected) <= NEAR_MISS * abs(expected):
        notes.append(f"{format_value(given)} is outside the tolerance {_tolerance(tolerance)} of "
                     f"{format_value(expected)} (off by "
                     f"{100 * abs(given - expected) / abs(expected):.2g}%)")
    worked = _explain(program, evaluation, target)
    return Verdict(target.key, shown, right, INCORRECT,
                   "\n".join(notes + ([worked] if worked else [])))


def _tolerance(tolerance: float) -> str:
    """1e-4 as `1e-4`, 0.05 as `0.05`."""
    if tolerance >= 1e-3:
        return f"{tolerance:g}"
    mantissa, _, exponent = f"{tolerance:.2e}".partition("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _explain(program: Program, evaluation: Evaluation | None, target: Target) -> str:
    """How the right answer is obtained: a forward step, or the chain rule."""
    if evaluation is None:
        return ""
    graph = program.graph
    if target.wrt is None:
        return forward_text(program, evaluation, target.of)
    try:
        sub = Program(replace(graph, output=target.of)) if target.of != graph.output \
            else program
        worked = Evaluation(sub.graph, evaluation.given, evaluation.node_values,
                            adjoints(sub.graph, evaluation.node_values, {}), evaluation.unused)
    except MathError:
        return ""
    out = graph.nodes[target.of].name
    steps = chain_from_output(sub, worked, target.wrt)
    if not steps:
        return ""
    defined = generated_names(sub, steps)
    where = f"; where {', '.join(defined)}" if defined else ""
    wrt = graph.nodes[target.wrt].name
    return "\n".join([*(step_text(step, out) for step in steps),
                      f"({bar(wrt)} is the adjoint ∂{out}/∂{wrt}, and so for each node"
                      f"{where})"])


def _right_expression(program: Program, target: Target) -> tuple[Any, int]:
    """A builder holding the program, and the node of the right answer in it."""
    graph = program.graph if target.of == program.graph.output else \
        replace(program.graph, output=target.of)
    gradient = symbolic_gradient(graph)
    builder = gradient.builder
    if target.wrt is None:
        return builder, target.of
    return builder, gradient.derivative(target.wrt)


def _named_text(program: Program, nodes: tuple[Node, ...], root: int, value: bool) -> str:
    """The right answer in the program's own names: `2*(s - t)` where the
    program names `s = sigmoid(z)`, not `2*(sigmoid(w*x + b) - t)`. Each node
    the program names is an atom to the simplifier (but the node whose `value`
    is asked for: `c` is `a + b`, while ∂e/∂c is `d`)."""
    graph = program.graph
    atoms = list(nodes)
    for name in graph.assigned:
        index = graph.names[name]
        if not (value and index == root) and nodes[index].op.arity > 0:
            atoms[index] = Node(INPUT, (), label=name, name=name, varying=True)
    try:
        return program.text(simplified(atoms, root))
    except ExprGraphError:
        return program.text(simplified(nodes, root))


def _right_text_or_blank(program: Program, evaluation: Evaluation | None,
                         target: Target) -> str:
    """The right answer for the table when the given one could not be read."""
    try:
        if evaluation is not None:
            return table_value(_expected_number(program, evaluation, target),
                               _is_noise(program, evaluation, target))
        builder, right = _right_expression(program, target)
        return _named_text(program, tuple(builder.nodes), right, target.wrt is None)
    except ExprGraphError:
        return ""


def _check_expression(program: Program, evaluation: Evaluation | None, target: Target,
                      shown: str, answer: Graph, tolerance: float, seed: str,
                      constant: bool = False) -> Verdict:
    """An expression answer: at the problem's point (if any), then at sampled
    points. `constant`: the answer has no names (a problem without a point)."""
    builder, right = _right_expression(program, target)
    try:
        given = compose(builder, program.graph.names, answer)
    except ValueInputError as error:
        raise AnswerError(error.message, hint=f"its names: {usable_names(program)}") from None
    difference = builder.intern(SUB, (given, right))
    nodes = tuple(builder.nodes)
    right_text = _named_text(program, nodes, right, target.wrt is None)
    point = {name: evaluation.given[name] for name in program.inputs} \
        if evaluation is not None else {}
    if evaluation is not None:
        wrong = _at_point(nodes, right, given, point, tolerance)
        if wrong:
            # Wrong at the point itself: the worked steps there show the right value.
            worked = _explain(program, evaluation, target)
            return Verdict(target.key, shown, right_text, INCORRECT,
                           wrong + ("\n" + worked if worked else ""))
    found = _sample(program, nodes, right, given, tolerance, seed)
    if found is None:
        # Too few points where the program and the right answer are defined:
        # only an identity can decide then.
        if is_zero(nodes, difference):
            return Verdict(target.key, shown, right_text, CORRECT,
                           "equal after simplifying (too few points where the right answer "
                           "is defined to compare values)")
        return Verdict(target.key, shown, right_text, UNDECIDED,
                       f"fewer than {SAMPLES} points found where the program and the right "
                       "answer are defined")
    if found == "":
        # Sampling decides; simplifying only says why they agree.
        how = "equal after simplifying" if is_zero(nodes, difference) else \
            f"equal at {SAMPLES} sampled points"
        return Verdict(target.key, shown, right_text, CORRECT, how)
    if evaluation is not None and _defined_at(nodes, right, point):
        # Right at the point, wrong elsewhere: the worked steps at the point
        # would show this answer's own value, so they are left out.
        found += f"\n(it agrees with the right answer at {_point_text(point)}, " \
            "but not everywhere)"
    elif evaluation is not None:
        found += f"\n(at {_point_text(point)} the right answer has no value: it is undefined " \
            "or too large for a float, so the sampled points decide)"
    elif constant:
        found += "\n(the problem gives no point, so a constant answer must hold at every point)"
    return Verdict(target.key, shown, right_text, INCORRECT, found)


def _point_text(point: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in point.items())


def _at_point(nodes: tuple[Any, ...], right: int, given: int, point: Mapping[str, float],
              tolerance: float) -> str:
    """Why the answer is wrong at the problem's point, or "" (also where the
    right answer is undefined there: the sampling decides then)."""
    try:
        expected = Expression(nodes, right).value(point)
    except MathError:
        return ""
    at = _point_text(point)
    try:
        value = Expression(nodes, given).value(point)
    except MathError:
        return f"this answer is undefined at {at}, where the right answer is " \
            f"{short_value(expected)}"
    if _close(value, expected, tolerance):
        return ""
    return f"at {at} {_differ(expected, value)}"


def _defined_at(nodes: tuple[Any, ...], root: int, point: Mapping[str, float]) -> bool:
    """Whether the expression at `root` has a (finite) value at `point`."""
    try:
        Expression(nodes, root).value(point)
    except MathError:
        return False
    return True


def _differ(expected: float, value: float) -> str:
    """`the right answer is 2, this one is 3`, with as many digits as it takes
    for two different numbers not to read the same."""
    right, this = short_value(expected), short_value(value)
    digits = 6
    while right == this and digits < 17:
        digits += 3
        right, this = f"{expected:.{digits}g}", f"{value:.{digits}g}"
    return f"the right answer is {right}, this one is {this}"


def _sample(program: Program, nodes: tuple[Any, ...], right: int, given: int,
            tolerance: float, seed: str) -> str | None:
    """"" if the answer agrees at SAMPLES points, a reason if it does not,
    None if too few points are found where the program and the right answer
    are defined. Each input cycles through RANGES (from its own start), so
    negative, small and large values are all tried, in mixed combinations."""
    rng = random.Random(zlib.crc32(seed.encode("utf-8")))
    names = program.inputs
    offsets = [rng.randrange(len(RANGES)) for _ in names]
    right_expr, given_expr = Expression(nodes, right), Expression(nodes, given)
    agreed = 0
    for attempt in range(ATTEMPTS):
        point = {}
        for name, offset in zip(names, offsets, strict=True):
            low, high = RANGES[(attempt + offset) % len(RANGES)]
            point[name] = round(rng.uniform(low, high), 6)
        try:
            evaluate_graph(program.graph, {**program.graph.given, **point})
            expected = right_expr.value(point)
        except MathError:
            continue  # outside the program's or the right answer's domain
        at = _point_text(point)
        try:
            value = given_expr.value(point)
        except MathError:
            return (f"this answer is undefined at {at}, where the program is defined and "
                    f"the right answer is {short_value(expected)}")
        if not _close(value, expected, tolerance):
            return f"at {at} {_differ(expected, value)}"
        agreed += 1
        if agreed == SAMPLES:
            return ""
    return None


@dataclass(frozen=True)
class CheckProblem:
    """A program, its point (if any) and the answers to check (a table, or
    KEY, ANSWER pairs: the command line may give a key twice)."""

    source: str
    name: str
    program: str
    point: Mapping[str, float] | None
    answers: Mapping[str, Any] | Sequence[tuple[str, Any]]
    tolerance: float = DEFAULT_TOLERANCE
    file: str = ""

    @property
    def pairs(self) -> list[tuple[str, Any]]:
        """The answers as (key, answer) pairs, in order."""
        if isinstance(self.answers, Mapping):
            return list(self.answers.items())
        return list(self.answers)


def check_problem(problem: CheckProblem) -> Report:
    """Check every answer of a problem. Only the forward pass is needed for the
    problem as a whole; derivatives are taken per answer."""
    try:
        program = compile_program(problem.program, inputs=problem.point or {})
        point = {**program.graph.given, **(problem.point or {})}
        evaluation = None
        if point or not program.inputs:
            for name, value in point.items():
                check_value(name, value)
            values = evaluate_graph(program.graph, point)
            used = set(program.graph.names)
            unused = tuple(n for n in point if n not in used
                           or program.graph.nodes[program.graph.names[n]].op is not INPUT)
            evaluation = Evaluation(program.graph, {k: float(v) for k, v in point.items()},
                                    values, [None] * len(values), unused)
    except ExprGraphError as error:
        return Report(problem.source, problem.name, (), error.to_dict(), problem.file)
    verdicts = tuple(check_answer(program, evaluation, key, given, problem.tolerance,
                                  f"{problem.source}|{key}")
                     for key, given in problem.pairs)
    return Report(problem.source, problem.name, verdicts, file=problem.file)


def parse_answer_option(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` from the command line: `dg/dz=x+y` → ("dg/dz", "x+y")."""
    key, has_value, value = text.partition("=")
    if not has_value or not key.strip() or not value.strip():
        raise ValueInputError(f"an answer is written KEY=ANSWER, not {text!r}",
                              hint='e.g. "dg/dz=x+y"')
    return key.strip(), value.strip()


@dataclass(frozen=True)
class CheckFile:
    """A problem set read for checking: its answered problems, the problems
    without answers, and the errors in place of malformed ones."""

    path: str
    problems: tuple[CheckProblem | ExprGraphError, ...]
    unanswered: tuple[str, ...]  # names of the problems that have no answers

    @property
    def has_answers(self) -> bool:
        """Whether any problem of the file has answers (or is malformed)."""
        return bool(self.problems)


def read_check_file(path: Any) -> CheckFile:
    """A TOML problem set's answered problems; FileError for a fault of the
    whole file (or a file that is not a problem set). Numeric answers are
    checked at a problem's first point; a problem's `tolerance` beats the file's."""
    from pathlib import Path

    from .problems import read_problem_set

    path = Path(path)
    if path.suffix != ".toml":
        raise FileError(f"{path} has no answers: check reads .toml problem sets",
                        file=str(path))
    problems: list[CheckProblem | ExprGraphError] = []
    unanswered = []
    for spec in read_problem_set(path).problems:
        if isinstance(spec, ExprGraphError):
            problems.append(spec)
        elif spec.answers:
            problems.append(CheckProblem(spec.source, spec.name, spec.program,
                                         spec.points[0] or None, spec.answers, spec.tolerance,
                                         spec.file))
        else:
            unanswered.append(spec.name)
    return CheckFile(str(path), tuple(problems), tuple(unanswered))


def read_check_problems(path: Any) -> list[CheckProblem | ExprGraphError]:
    """The answered problems of a TOML problem set, or why one cannot be read."""
    try:
        return list(read_check_file(path).problems)
    except ExprGraphError as error:
        return [error]


@dataclass
class FileScore:
    """One file's tally for the summary: its problems, answers and faults."""

    path: str
    problems: int = 0
    correct: int = 0
    total: int = 0
    errors: int = 0  # malformed problems, programs that fail, keys naming no node
    unanswered: tuple[str, ...] = ()
    no_answers: bool = False  # the file has no answers at all
    unreadable: bool = False  # the file could not be read as a problem set
    fault: str = ""  # its kind of file error when unreadable (render.batch.FILE_FAULTS)

    def add(self, report: Report) -> None:
        """Count one checked problem."""
        self.problems += 1
        self.correct += report.correct
        self.total += len(report.verdicts)
        self.errors += (report.error is not None) + sum(v.verdict == ERROR
                                                        for v in report.verdicts)
