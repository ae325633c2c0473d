"""Checking answers: node values and partial derivatives, numbers or expressions.

An answer key names what is answered:

- `c`: the value of node c (or, given an expression, c over the inputs);
- `de/da` or `∂e/∂a`: the partial derivative of node e with respect to node a
  (an input or an intermediate node: then it is the adjoint of a);
- `d/da`: the same for the program's output (and `dg/da` too, when the output
  is a bare expression and the program has no node g).

A constant answer (a number, or a string without input or node names: "1/3",
"-3", "sqrt(2)/4", "e") is a number written exactly: where the problem has a
point it is compared there, with a relative tolerance (default 1e-4) and an
absolute floor of 1e-10 near 0. Any other answer is an expression: it may use
the program's inputs and node names, each meaning what it means in the program
(`e` the program assigns is that node, not Euler's number). It is checked at
the problem's point (if any), then by sampling, with a seed fixed by the
program and key (same problem, same verdicts, in every student's file): each
input cycles through the RANGES, keeping only points where the program and the
right answer are defined; the answer must be defined and agree within the
tolerance at 8 such points. A constant answer to a problem without a point is
compared the same way (`pi/2` for `atan(x) + atan(1/x)` is incorrect: that is
-pi/2 for x < 0). An answer equal after simplifying but undefined where the
right one is defined (`sqrt(x)^2` for `x`) is incorrect: simplifying only
explains an agreement, it never overrules the sampling. Fewer than 8 points
found means *undecided* (unless the answer is identical after simplifying),
never a guess.

Whose fault: a key that names no node is an `error` verdict (the problem
file's); an answer that cannot be read is `incorrect`, with the reason (the
student's).

The parts: `answers.py` reads keys and answers (`parse_key`, `Verdict`),
`grading.py` grades one answer (at the point, then by sampling), `feedback.py`
writes the explanations. This module checks whole problems and files, and
every name above is importable from here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api import Evaluation, Program, check_value
from ..api import compile as compile_program
from ..core.errors import ExprGraphError, FileError, ValueInputError
from ..core.ops import CONST, INPUT, NEG
from ..passes.evaluate import evaluate as evaluate_graph
from .answers import (
    CORRECT,
    ERROR,
    INCORRECT,
    UNDECIDED,
    AnswerError,
    Target,
    Verdict,
    answer_graph,
    constant_value,
    parse_key,
    shown_answer,
    usable_names,
)
from .feedback import verdict_reason
from .grading import (
    ABSOLUTE_FLOOR,
    ATTEMPTS,
    NEAR_MISS,
    RANGES,
    SAMPLES,
    check_expression,
    check_number,
    right_text_or_blank,
)
from .problems import DEFAULT_TOLERANCE, PROBLEM_SET_SUFFIX, read_problem_set

__all__ = [
    "ABSOLUTE_FLOOR", "ATTEMPTS", "CORRECT", "ERROR", "INCORRECT", "NEAR_MISS", "RANGES",
    "SAMPLES", "UNDECIDED", "AnswerError", "CheckFile", "CheckProblem", "FileScore", "Report",
    "Target", "Verdict", "check_answer", "check_problem", "parse_answer_option", "parse_key",
    "read_check_file", "read_check_problems", "usable_names",
]


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


def check_answer(program: Program, evaluation: Evaluation | None, key: str, given: Any,
                 tolerance: float, seed: str) -> Verdict:
    """Check one answer, never raising. A key naming no node, or a numeric
    answer to a problem without a point, is an ERROR verdict (the problem's
    fault); an answer that cannot be read is INCORRECT, with the reason."""
    shown = shown_answer(given)
    try:
        target = parse_key(program, key)
    except ExprGraphError as error:
        return Verdict(key, shown, "", ERROR, verdict_reason(error))
    try:
        answer = answer_graph(program, key, given)
        constant = not answer.inputs
        if constant and evaluation is not None:
            # A number written exactly (`sqrt(2)/4`, `e`): compared at the point.
            return check_number(program, evaluation, target, shown,
                                constant_value(key, answer), tolerance,
                                literal=all(n.op in (CONST, NEG) for n in answer.nodes))
        return check_expression(program, evaluation, target, shown, answer, tolerance, seed,
                                constant)
    except AnswerError as error:
        return Verdict(key, shown, right_text_or_blank(program, evaluation, target),
                       INCORRECT, verdict_reason(error))
    except ExprGraphError as error:
        return Verdict(key, shown, "", ERROR, verdict_reason(error))


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
        program = _compiled(problem.program, frozenset(problem.point or {}))
        if not program.scalar:
            return _check_matrix_problem(program, problem)
        point = {**program.graph.given, **(problem.point or {})}
        evaluation = None
        if point or not program.inputs:
            for name, value in point.items():
                if hasattr(value, "ndim"):
                    raise ValueInputError(
                        f"{name} is a vector or matrix: check takes numbers only so far",
                        variable=name, hint="exprgraph batch evaluates programs with "
                        "vector and matrix values, and eval shows their gradients")
                check_value(name, value)
            values = evaluate_graph(program.graph, point)
            used = set(program.graph.names)
            unused = tuple(n for n in point if n not in used
                           or program.graph.nodes[program.graph.names[n]].op is not INPUT)
            evaluation = Evaluation(program.graph, {k: float(v) for k, v in point.items()},
                                    values, [None] * len(values), unused)
    except ExprGraphError as error:
        return Report(problem.source, problem.name, (), error.to_dict(), problem.file)
    verdicts = tuple(_checked(program, evaluation, problem, key, given)
                     for key, given in problem.pairs)
    return Report(problem.source, problem.name, verdicts, file=problem.file)


# A class hands in the same programs and, mostly, the same answers: each program
# is compiled once (per process), and each verdict worked out once, by all it
# depends on. The sampling seed comes from the program and the key, not the
# file, so two students' equal answers get the same verdict and the same
# feedback, whatever their files are called.
CACHE_SIZE = 256  # compiled programs kept
VERDICT_CACHE_SIZE = 8192  # verdicts kept
_programs: OrderedDict[tuple[str, frozenset[str]], Program] = OrderedDict()
_verdicts: OrderedDict[tuple[Any, ...], Verdict] = OrderedDict()


def _compiled(text: str, names: frozenset[str]) -> Program:
    """`compile_program(text, inputs=names)`, once per text and names."""
    key = (text, names)
    program = _programs.get(key)
    if program is None:
        program = _programs[key] = compile_program(text, inputs=names)
        if len(_programs) > CACHE_SIZE:
            _programs.popitem(last=False)
    else:
        _programs.move_to_end(key)
    return program


def _checked(program: Program, evaluation: Evaluation | None, problem: CheckProblem,
             key: str, given: Any) -> Verdict:
    """`check_answer`, remembered by the program, the point, the key, the answer
    (its type and text: `1` and `"1"` are different answers) and the tolerance."""
    point = tuple(sorted((name, float(value)) for name, value in (problem.point or {}).items()))
    memo = (problem.program, point, key, type(given).__name__, repr(given), problem.tolerance)
    verdict = _verdicts.get(memo)
    if verdict is None:
        verdict = check_answer(program, evaluation, key, given, problem.tolerance,
                               f"{problem.program}|{key}")
        _verdicts[memo] = verdict
        if len(_verdicts) > VERDICT_CACHE_SIZE:
            _verdicts.popitem(last=False)
    return verdict


def _check_matrix_problem(program: Program, problem: CheckProblem) -> Report:
    """A program with vectors or matrices: each answer a gradient in matrix
    notation, checked by sampling the declared shapes (matrix_answers.py)."""
    from .matrix_answers import check_matrix_answer

    if problem.point:
        raise ValueInputError("check samples the declared shapes of a program with vectors "
                              "or matrices; it takes no values (at) for it",
                              hint="remove the values, or check with eval at that point")
    if program.shapes is None:
        raise ValueInputError("check needs the shapes of a program with vectors or matrices",
                              hint="declare them: x: vector(n); W: matrix(m, n)")
    verdicts = []
    for key, given in problem.pairs:
        shown = shown_answer(given)
        try:
            target = parse_key(program, key)
            verdicts.append(check_matrix_answer(program, target, shown, given,
                                                problem.tolerance, f"{problem.source}|{key}"))
        except ExprGraphError as error:
            verdicts.append(Verdict(key, shown, "", ERROR, verdict_reason(error)))
    return Report(problem.source, problem.name, tuple(verdicts), file=problem.file)


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
    path = Path(path)
    if path.suffix != PROBLEM_SET_SUFFIX:
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
