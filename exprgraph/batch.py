"""Batch evaluation: problem sets in TOML, line files of programs, in parallel.

Two file formats (see the README):

- `*.toml`: problem sets, read and validated by `problems.py` (the reader
  `exprgraph check` uses too): `[[problem]]` tables with `name`, `program`,
  `at` (a table of values, or a list of them: one result each), `wrt` (the
  inputs whose partials to report) and `answers`/`tolerance` (for
  `exprgraph check`; validated, not used here).
- `*.expr`: one program per line, `PROGRAM where x=1, y=3`; `#` comments and
  blank lines are skipped. Read line by line, so a file of any size streams.

Each problem becomes one result dict: the keys of `eval --format json` plus
`source` (`file:line` or `file:name`), or `{source, program, error}`. One bad problem
never stops a batch; a file that cannot be read or parsed is a `FileError`,
reported in place of its problems.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from .api import compile as compile_program
from .errors import ExprGraphError, ValueInputError
from .parse import MAX_PROGRAM_CHARS
from .problems import FileError, read_problem_set

__all__ = ["FileError", "Options", "Problem", "discover", "read_problems", "run", "solve"]

SUFFIXES = (".expr", ".toml")
CHUNK = 64  # problems per task sent to a worker process


@dataclass(frozen=True)
class Problem:
    """One program to evaluate at one point."""

    source: str  # "file:line" or "file:name", "#k" for the k-th point
    program: str
    values: Mapping[str, float]
    wrt: tuple[str, ...] | None = None
    line: int = 0  # the file line the program is on (.expr files), else 0
    error: dict[str, Any] | None = None  # the problem is malformed before parsing


@dataclass(frozen=True)
class Options:
    """What each result holds beyond value and gradient."""

    derivatives: bool = False
    nodes: bool = False


def discover(paths: Iterable[str | Path]) -> Iterator[Path | FileError]:
    """The problem files named: a folder gives every .toml and .expr below it,
    sorted; a missing path, a folder without any or a file of another kind is a
    FileError."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
            if not found:
                yield FileError(f"no problem files found in {raw}", file=str(raw),
                                hint="problem files end in .toml or .expr")
            yield from found
        elif not path.exists():
            yield FileError(f"no such file or folder: {raw}", file=str(raw))
        elif path.suffix not in SUFFIXES:
            yield FileError(f"{raw} is not a problem file", file=str(raw),
                            hint="problem files end in .toml or .expr")
        else:
            yield path


def read_problems(path: Path) -> Iterator[Problem]:
    """The problems in one file, in order. Raises FileError for the whole file
    (unreadable, malformed TOML) before yielding anything from a TOML file."""
    if path.suffix == ".toml":
        yield from _toml_problems(path)
    else:
        yield from _line_problems(path)


def _line_problems(path: Path) -> Iterator[Problem]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror}", file=str(path)) from None
    with handle:
        number = 0
        while True:
            # A line longer than a program may be is skipped without reading it whole.
            raw = handle.readline(MAX_PROGRAM_CHARS + 1)
            if not raw:
                return
            number += 1
            source = f"{path}:{number}"
            if len(raw) > MAX_PROGRAM_CHARS and not raw.endswith(b"\n"):
                while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass
                yield Problem(source, "", {}, line=number, error=ValueInputError(
                    f"line {number} is longer than {MAX_PROGRAM_CHARS:,} characters, the "
                    "limit for one program", line=number).to_dict())
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Problem(source, "", {}, line=number, error=ValueInputError(
                    f"line {number} is not valid UTF-8 (byte {exc.start + 1})",
                    line=number, column=exc.start + 1).to_dict())
                continue
            stripped = text.strip()
            if stripped and not stripped.startswith("#"):
                yield Problem(source, text.rstrip("\r\n"), {}, line=number)


def _toml_problems(path: Path) -> Iterator[Problem]:
    """One Problem per point of each problem of a set (see `problems.py`)."""
    problem_set = read_problem_set(path)
    for spec in problem_set.problems:
        if isinstance(spec, ExprGraphError):
            error = spec.to_dict()
            yield Problem(error.pop("source", str(path)), error.pop("program", ""), {},
                          error=error)
            continue
        for index, values in enumerate(spec.points, start=1):
            where = spec.source if len(spec.points) == 1 else f"{spec.source}#{index}"
            yield Problem(where, spec.program, values, spec.wrt)


def solve(problem: Problem, options: Options = Options()) -> dict[str, Any]:
    """The result of one problem: eval's JSON keys plus `source`, or `{source, error}`."""
    if problem.error is not None:
        return {"source": problem.source, "program": problem.program, "error": problem.error}
    try:
        compiled = compile_program(problem.program, inputs=problem.values)
        values = {**compiled.graph.given, **problem.values}
        evaluation = compiled.evaluate(values)
        from .render.structured import evaluation_summary

        data = evaluation_summary(compiled, evaluation, options.derivatives, options.nodes)
    except ExprGraphError as error:
        return {"source": problem.source, "program": problem.program,
                "error": _located(error, problem)}
    if problem.wrt is not None:
        keep = set(problem.wrt)
        for key in ("gradient", "derivatives"):
            if key in data:
                data[key] = {k: v for k, v in data[key].items() if k in keep}
    data["source"] = problem.source
    return data


def _located(error: ExprGraphError, problem: Problem) -> dict[str, Any]:
    """The error as a dict, its line counted in the file for line files."""
    found = error.to_dict()
    if problem.line and "line" in found:
        found["line"] = problem.line + found["line"] - 1
    return found


def solve_all(problems: Sequence[Problem], options: Options) -> list[dict[str, Any]]:
    """`solve` for a chunk of problems (the unit of work of a worker process)."""
    return [solve(problem, options) for problem in problems]


def run(problems: Iterable[Problem], options: Options = Options(), jobs: int = 1
        ) -> Iterator[dict[str, Any]]:
    """Results in input order; with jobs > 1, worker processes solve chunks
    while at most 2·jobs chunks are in flight, so memory stays bounded."""
    if jobs <= 1:
        for problem in problems:
            yield solve(problem, options)
        return
    iterator = iter(problems)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending: deque[Future[list[dict[str, Any]]]] = deque()
        while True:
            while len(pending) < 2 * jobs:
                chunk = list(islice(iterator, CHUNK))
                if not chunk:
                    break
                pending.append(pool.submit(solve_all, chunk, options))
            if not pending:
                return
            yield from pending.popleft().result()
