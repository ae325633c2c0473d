"""Batch evaluation: problem sets in TOML, line files of programs, in parallel.

Two file formats (see the README):

- `*.toml`: problem sets, read and validated by `problems.py` (the reader
  `exprgraph check` uses too): `[[problem]]` tables with `name`, `program`,
  `at` (a table of values, or a list of them: one result each), `wrt` (the
  inputs whose partials to report) and `answers`/`tolerance` (for
  `exprgraph check`; validated, not used here).
- `*.expr`: one program per line, `PROGRAM where x=1, y=3`; `#` comments and
  blank lines are skipped. Read line by line, so a file of any size streams.

Both kinds are read by `problems.py` (`read_problem_file`), and the paths
given are turned into problem files by `files.py` (`discover`, importable
from here too); this module turns what they read into `Problem`s and solves
them.

Each problem becomes one result dict: the keys of `eval --format json` plus
`source` (`file:line` or `file:name`), or `{source, program, error}`. One bad problem
never stops a batch; a file that cannot be read or parsed is a `FileError`,
reported in place of its problems.

What needs the compiled program is checked per problem here: `wrt` must name
inputs, `answers` keys must name nodes and each answer must be a number or a
string, and every input needs a value in `at` (the message names the file and
the problem). A line and column of a TOML problem are in its program string
(`located_in: "program"`), a line file's are the file's.

Worker processes end themselves when the process that started them is gone
(`exprgraph batch ... | head -1` kills it with SIGPIPE), rather than wait for
work forever.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api import Program
from ..api import compile as compile_program
from ..core.errors import ExpressionTooLargeError, ExprGraphError, FileError, ValueInputError
from ..printing.values import value_text
from .files import discover
from .problems import ProblemSpec, ProgramLine, read_problem_file

__all__ = ["FileError", "Options", "Problem", "discover", "read_problems", "run", "solve"]

CHUNK = 64  # problems per task sent to a worker process
PARENT_POLL = 0.2  # seconds between a worker's checks that its parent lives


@dataclass(frozen=True)
class Problem:
    """One program to evaluate at one point."""

    source: str  # "file:line" or "file:name", "#k" for the k-th point
    program: str
    values: Mapping[str, float]
    wrt: tuple[str, ...] | None = None
    line: int = 0  # the file line the program is on (.expr files), else 0
    error: dict[str, Any] | None = None  # the problem is malformed before parsing
    file: str = ""  # the TOML file of a problem set's problem, else ""
    name: str = ""  # the problem's name in that file
    point: int = 0  # k for the k-th point of a problem with several, else 0
    answers: Mapping[str, Any] | None = None  # for `check`; only their form is checked

    @property
    def label(self) -> str:
        """`FILE: problem 'NAME'` (and the point), how messages name a TOML problem."""
        point = f", point {self.point} of at" if self.point else ""
        return f"{self.file}: problem {self.name!r}{point}"


@dataclass(frozen=True)
class Options:
    """What each result holds beyond value and gradient."""

    derivatives: bool = False
    nodes: bool = False


def read_problems(path: Path) -> Iterator[Problem]:
    """The problems in one file, in order (read by `problems.read_problem_file`):
    one per point of each problem of a set, one per program line of a line
    file. Raises FileError for the whole file (unreadable, malformed TOML)
    before yielding anything from a TOML file."""
    for item in read_problem_file(path):
        if isinstance(item, ProgramLine):
            fault = item.error.to_dict() if item.error is not None else None
            yield Problem(item.source, item.text, {}, line=item.number, error=fault)
        elif isinstance(item, ExprGraphError):
            error = item.to_dict()
            yield Problem(error.pop("source", str(path)), error.pop("program", ""), {},
                          error=error)
        else:
            yield from _points(item)


def _points(spec: ProblemSpec) -> Iterator[Problem]:
    """One Problem per point of a problem of a set (see `problems.py`)."""
    several = len(spec.points) > 1
    for index, values in enumerate(spec.points, start=1):
        where = f"{spec.source}#{index}" if several else spec.source
        yield Problem(where, spec.program, values, spec.wrt, file=spec.file,
                      name=spec.name, point=index if several else 0,
                      answers=spec.answers or None)


def solve(problem: Problem, options: Options = Options()) -> dict[str, Any]:
    """The result of one problem: eval's JSON keys plus `source`, or `{source, error}`."""
    if problem.error is not None:
        return {"source": problem.source, "program": problem.program, "error": problem.error}
    return solve_with(lambda: compile_program(problem.program, inputs=problem.values),
                      problem, options)


def solve_with(compiled_program: Callable[[], Program], problem: Problem,
               options: Options = Options()) -> dict[str, Any]:
    """`solve`, with the problem's program compiled by `compiled_program` (a
    program compiled already, for `shared`): its errors are the problem's."""
    try:
        compiled = compiled_program()
        values = {**compiled.graph.given, **problem.values}
        if problem.file:
            _check_problem_table(compiled, problem, values)
        evaluation = compiled.evaluate(values)
        from .data import evaluation_summary

        data = evaluation_summary(compiled, evaluation, options.derivatives, options.nodes)
    except ExprGraphError as error:
        return {"source": problem.source, "program": problem.program,
                "error": _located(error, problem)}
    except MemoryError:  # this problem's, not the batch's: the rest still run
        error = ExpressionTooLargeError("ran out of memory solving this problem")
        return {"source": problem.source, "program": problem.program, "error": error.to_dict()}
    return finished(data, problem)


def finished(data: dict[str, Any], problem: Problem) -> dict[str, Any]:
    """A problem's result `data` as a batch reports it: only the partials its
    `wrt` asks for, then its `source`."""
    if problem.wrt is not None:
        keep = set(problem.wrt)
        for key in ("gradient", "derivatives"):
            if key in data:
                data[key] = {k: v for k, v in data[key].items() if k in keep}
    data["source"] = problem.source
    return data


def _check_problem_table(program: Program, problem: Problem,
                         values: Mapping[str, float]) -> None:
    """What of a TOML problem needs its program: `wrt` names inputs, answer
    keys name nodes, answers are numbers or strings, every input has a value.
    A ValueInputError naming the file and the problem otherwise."""
    inputs = program.inputs
    if problem.wrt is not None:
        unknown = [name for name in problem.wrt if name not in inputs]
        if unknown:
            which = "is not an input" if len(unknown) == 1 else "are not inputs"
            has = (f"its inputs are {', '.join(inputs)}" if inputs
                   else "it has no inputs")
            raise ValueInputError(
                f"{problem.label}: wrt names {_listed(unknown)}, which {which} of the "
                f"program ({has})", variable=unknown[0],
                hint=f"wrt = [{', '.join(_quoted(n) for n in inputs)}]" if inputs
                else "remove wrt")
    if problem.answers:
        faults = _answer_faults(program, problem.answers)
        if faults:
            message, hint = faults[0] if len(faults) == 1 else (
                "; ".join(f"{m} ({h})" if h else m for m, h in faults), None)
            raise ValueInputError(f"{problem.label}: {message}", hint=hint)
    missing = [name for name in inputs if name not in values]
    if missing:
        suggested = {**{k: value_text(v, full=True, one_line=True)
                        for k, v in problem.values.items()},
                     **dict.fromkeys(missing, "1")}
        table = "{ " + ", ".join(f"{_toml_key(k)} = {v}" for k, v in suggested.items()) + " }"
        names = _listed(missing, quote=False)
        them = f"{names} a value" if len(missing) == 1 else f"{names} values"
        hint = (f"give {them} at every point of at, e.g. {table}" if problem.point
                else f"give {them} in the file: at = {table}")
        raise ValueInputError(f"{problem.label}: no value given for {', '.join(missing)}",
                              hint=hint, variable=missing[0], missing=True)


def _answer_faults(program: Program, answers: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(message, hint) for each answer key that names no node: a fault of the
    file, as `check` says. The answers themselves (a number, a string, or
    `true` by mistake) are the student's, graded by `check`, not batch's."""
    from .check import parse_key  # only problem sets with answers pay for it

    faults: list[tuple[str, str | None]] = []
    for key in answers:
        try:
            parse_key(program, key)
        except ExprGraphError as error:
            faults.append((error.message, error.hint))
    return faults


def _listed(names: Sequence[str], quote: bool = True) -> str:
    shown = [repr(n) if quote else n for n in names]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_key(name: str) -> str:
    """`name` as a TOML key: bare where TOML allows it, quoted otherwise (θ)."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _quoted(name)


def _located(error: ExprGraphError, problem: Problem) -> dict[str, Any]:
    """The error as a dict, its line counted in the file for line files; for
    a TOML problem, marked as a line of its program string."""
    found = error.to_dict()
    if "line" in found:
        if problem.line:
            found["line"] = problem.line + found["line"] - 1
        elif problem.file:
            found["located_in"] = "program"
    return found


def solve_all(problems: Sequence[Problem], options: Options) -> list[dict[str, Any]]:
    """`solve` for a chunk of problems (the unit of work of a worker process),
    in order; problems that share a program are compiled once and evaluated
    together (`shared.solve_chunk`), with the same results."""
    from .shared import solve_chunk

    return solve_chunk(problems, options, solve)


def run(problems: Iterable[Problem], options: Options = Options(), jobs: int | str = 1,
        scheduler: str | None = None) -> Iterator[dict[str, Any]]:
    """Results in input order: `workers.ordered_map` over `solve_all`, in chunks.

    `jobs`: 1 solves here; N uses N worker processes (at most one per core),
    with at most 2·N chunks in flight, so memory stays bounded; "auto" starts
    here and uses every core once the input proves big. `scheduler`: the
    chunks run on a Dask cluster instead (`tcp://HOST:8786`, or `local`). A
    problem that kills its worker fails alone, named. A `workers.Aside` among
    the problems is yielded as it is, in its place (the CLI marks files so)."""
    from .workers import Task, Work, ordered_map

    # 256 problems a chunk here, 64 to a worker process, 256 to a cluster's
    # task (~0.1 s of work: Dask's cost per task is milliseconds); "auto"
    # starts a pool once 512 problems are still to come (or after 0.5 s of work).
    work = Work(Task(solve_all, (options,)), died=_worker_died, name="exprgraph-batch",
                chunk=CHUNK, serial_chunk=256, cluster_chunk=256, big=512)
    yield from ordered_map(work, problems, jobs=jobs, scheduler=scheduler)


def _worker_died(problem: Problem) -> dict[str, Any]:
    error = ExpressionTooLargeError(
        "the worker process solving this problem died (killed, or out of memory)",
        hint="run it alone, or with --jobs 1, to see why")
    return {"source": problem.source, "program": problem.program, "error": error.to_dict()}
