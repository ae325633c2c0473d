"""Batch problems that share a program: compiled once, evaluated at all their points at once.

A course's files repeat a few programs over thousands of points: the lines
`f where x=1, y=2` and `f where x=3, y=1` of a line file (same text before
`where`), or the points of a problem set's `at = [...]`. `solve_chunk` groups
the problems of a chunk by program, compiles each program once (a cache keeps
the last `CACHE_SIZE`), and evaluates a group's points together over arrays
(`passes.rows`, which gives the scalar passes' floats bit for bit). Each
result is the dict `batch.solve` gives for that problem alone, in the chunk's
order; a point the arrays cannot do (a math error there, a partial undefined
where it is needed) is solved alone, so its error is the one it always was.

What takes the shared path: scalar values given as plain numbers (a line's
`where` clause of `name=number` pairs without exponents, or a problem set's
numbers), values for exactly the program's inputs, and groups of at least
`MIN_GROUP` points. Everything else is solved alone, as before. The first
time a program takes the shared path, its first point is also solved alone
and the two results compared: a difference sends that program's points the
old way for good (a guard, not an expected path: tests check they agree).
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..api import Program
from ..api import compile as compile_program
from ..core.errors import ExprGraphError
from .batch import finished  # batch imports this module only inside solve_all

if TYPE_CHECKING:
    from ..passes.rows import Rows
    from .batch import Options, Problem

CACHE_SIZE = 256  # programs kept compiled (per process)
MIN_GROUP = 8  # fewer points than this: solved one by one (arrays cost more to set up)

_NUMBER = r"-?(?:\d+\.?\d*|\.\d+)"
_BINDING = rf"[A-Za-z_]\w*[ \t]*=[ \t]*{_NUMBER}"
# `BODY where x=1, y=-2.5`: the last `where` followed by plain name=number pairs only.
_LINE = re.compile(rf"(?P<body>.*\S)[ \t]+where[ \t]+(?P<bindings>{_BINDING}(?:[ \t]*,[ \t]*"
                   rf"{_BINDING})*)[ \t]*")
_PAIR = re.compile(rf"([A-Za-z_]\w*)[ \t]*=[ \t]*({_NUMBER})")

Solve = Callable[["Problem", "Options"], dict[str, Any]]
Key = tuple[str, frozenset[str]]


class _Shared:
    """A program compiled for the shared path, or None where it cannot take it."""

    __slots__ = ("alone", "checked", "program")

    def __init__(self, program: Program | None) -> None:
        self.program = program
        self.checked = False  # its first point was compared with the point alone
        # Whether a point the arrays cannot do is evaluated alone with this
        # compiled program (None: not yet compared with a full `solve`).
        self.alone: bool | None = None


_cache: OrderedDict[Key, _Shared] = OrderedDict()


def shared_form(problem: Problem) -> tuple[Key, dict[str, float]] | None:
    """The program text and names a problem shares with others, and its point;
    None where the problem is solved alone."""
    if problem.error is not None or problem.answers:
        return None
    if problem.values:
        values = problem.values
        if not all(type(v) in (int, float) for v in values.values()):
            return None  # a vector, a matrix, or something for the checks to refuse
        return (problem.program, frozenset(values)), {k: float(v) for k, v in values.items()}
    return _line_form(problem.program)


def _line_form(text: str) -> tuple[Key, dict[str, float]] | None:
    """A line's program before `where` and its point, where the clause is plain
    `name=number` pairs; None otherwise (the parser then reads the line)."""
    found = _LINE.fullmatch(text)
    if found is None:
        return None
    pairs = _PAIR.findall(found["bindings"])
    point = {name: float(number) for name, number in pairs}
    if len(point) != len(pairs):
        return None  # a name given twice: the parser's error
    return (found["body"], frozenset(point)), point


def solve_chunk(problems: Sequence[Problem], options: Options, solve: Solve
                ) -> list[dict[str, Any]]:
    """`solve(problem, options)` for each problem, in order, with the problems
    that share a program evaluated together."""
    results: list[dict[str, Any] | None] = [None] * len(problems)
    groups: dict[Key, list[tuple[int, dict[str, float]]]] = {}
    for index, problem in enumerate(problems):
        form = None if options.nodes else shared_form(problem)
        if form is None:
            results[index] = solve(problem, options)
        else:
            groups.setdefault(form[0], []).append((index, form[1]))
    for key, members in groups.items():
        if len(members) < MIN_GROUP or not _solve_group(key, members, problems, options,
                                                        solve, results):
            for index, _ in members:
                results[index] = solve(problems[index], options)
    return results  # type: ignore[return-value]


def _program(key: Key) -> _Shared:
    """The compiled program for `key`, from the cache or compiled now."""
    shared = _cache.get(key)
    if shared is not None:
        _cache.move_to_end(key)
        return shared
    text, names = key
    try:
        program: Program | None = compile_program(text, inputs=names)
    except ExprGraphError:
        program = None  # each point gets its own error, solved alone
    if program is not None and (not program.scalar or program.graph.given
                                or set(program.inputs) != names):
        program = None  # values it does not use, or lacks, are for `solve` to report
    shared = _cache[key] = _Shared(program)
    if len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return shared


def _solve_group(key: Key, members: list[tuple[int, dict[str, float]]],
                 problems: Sequence[Problem], options: Options, solve: Solve,
                 results: list[dict[str, Any] | None]) -> bool:
    """Fill in `results` for a group's members; False where the group must be
    solved point by point instead."""
    shared = _program(key)
    program = shared.program
    if program is None:
        return False
    import numpy as np

    from ..passes.rows import forward_rows, reverse_rows

    graph = program.graph
    names = graph.input_names
    columns = {name: np.array([point[name] for _, point in members]) for name in names}
    rows = forward_rows(graph.nodes, columns, len(members))
    reverse_rows(graph.nodes, graph.output, rows)
    template = _Template(program, options, rows)
    for row, (index, point) in enumerate(members):
        problem = problems[index]
        if rows.bad[row] or (problem.file and not _table_ok(program, problem, point)):
            results[index] = _alone(shared, problem, point, options, solve)
            continue
        results[index] = template.result(problem, point, row)
    if not shared.checked:
        first = problems[members[0][0]]
        alone = solve(first, options)
        if json.dumps(alone) != json.dumps(results[members[0][0]]):
            shared.program = None  # the guard: this program's points go the old way
            return False
        shared.checked = True
    return True


def _alone(shared: _Shared, problem: Problem, point: dict[str, float], options: Options,
           solve: Solve) -> dict[str, Any]:
    """The result of a point the arrays cannot do (its error, mostly), from the
    compiled program: as `solve` gives it, without parsing the text again."""
    from dataclasses import replace

    from .batch import solve_with

    program = shared.program
    if program is None or shared.alone is False:
        return solve(problem, options)
    if not problem.values:  # a line: the program as compiled from the whole line
        program = Program(replace(program.graph, source=problem.program, given=dict(point)))
    found = solve_with(lambda: program, problem, options)
    if shared.alone is None:  # the first: compared with the line parsed again
        shared.alone = json.dumps(found) == json.dumps(solve(problem, options))
        if not shared.alone:
            return solve(problem, options)
    return found


def _table_ok(program: Program, problem: Problem, point: dict[str, float]) -> bool:
    """Whether a problem set's problem passes the checks `solve` makes of it."""
    from .batch import _check_problem_table

    try:
        _check_problem_table(program, problem, point)
    except ExprGraphError:
        return False
    return True


class _Template:
    """The parts of a group's results that every point shares, and the
    per-point numbers filled in: the keys and order of `data.evaluation_summary`."""

    def __init__(self, program: Program, options: Options, rows: Rows) -> None:
        graph = program.graph
        self.output_name = graph.output_name
        self.derivatives = program.derivatives() if options.derivatives else None
        # Values for exactly the inputs (`_program`): none unused to warn about.
        self.warnings = [str(w) for w in graph.warnings]
        self.names = list(graph.input_names)
        # Each column as Python floats, once: a row is then a list lookup.
        self.value = _floats(rows.values[graph.output], rows.count)
        self.gradient = [_floats(rows.adjoints.get(graph.names[name], 0.0), rows.count)
                         for name in self.names]

    def result(self, problem: Problem, point: dict[str, float], row: int) -> dict[str, Any]:
        """The result `batch.solve` gives for `problem` alone, at row `row`."""
        data: dict[str, Any] = {
            "program": problem.program,
            "output": self.output_name,
            "value": self.value[row],
            "inputs": {name: point[name] for name in self.names},
            "gradient": {name: column[row] for name, column in zip(self.names, self.gradient,
                                                                   strict=True)},
        }
        if self.derivatives is not None:
            data["derivatives"] = dict(self.derivatives)
        data["warnings"] = list(self.warnings)
        return finished(data, problem)


def _floats(column: Any, count: int) -> list[float]:
    """A column (an array, or one float for every row) as a list of Python floats."""
    if getattr(column, "ndim", 0) == 1:
        return column.tolist()  # type: ignore[no-any-return]
    return [float(column)] * count
