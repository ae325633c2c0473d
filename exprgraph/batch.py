"""Batch evaluation: problem sets in TOML, line files of programs, in parallel.

Two file formats (see the README):

- `*.toml`: an optional `title` and `[[problem]]` tables with `name`,
  `program`, `at` (a table of values, or a list of them: one result each),
  `wrt` (the inputs whose partials to report) and `answers`/`tolerance`
  (for `exprgraph check`; ignored here).
- `*.expr`: one program per line, `PROGRAM where x=1, y=3`; `#` comments and
  blank lines are skipped. Read line by line, so a file of any size streams.

Each problem becomes one result dict: the keys of `eval --format json` plus
`source` (`file:line` or `file:name`), or `{source, error}`. One bad problem
never stops a batch; a file that cannot be read or parsed is a `FileError`,
reported in place of its problems.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from .api import check_value, parse_value
from .api import compile as compile_program
from .errors import ExprGraphError, ValueInputError
from .parse import MAX_PROGRAM_CHARS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SUFFIXES = (".expr", ".toml")
CHUNK = 64  # problems per task sent to a worker process


class FileError(ExprGraphError):
    """A problem file cannot be read, decoded or parsed as a whole."""

    kind = "file"


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
    sorted; a missing path or a file of another kind is a FileError."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
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


def toml_document(path: Path) -> dict[str, Any]:
    """A TOML file's contents; FileError if it cannot be read or parsed."""
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror}", file=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FileError(f"{path} is not valid TOML: {exc}", file=str(path)) from None
    return document


def _toml_problems(path: Path) -> Iterator[Problem]:
    document = toml_document(path)
    problems = document.get("problem", [])
    if not isinstance(problems, list):
        raise FileError(f"{path}: 'problem' must be an array of tables ([[problem]])",
                        file=str(path))
    for k, entry in enumerate(problems, start=1):
        yield from _problem_points(path, k, entry)


def _problem_points(path: Path, k: int, entry: Any) -> Iterator[Problem]:
    name = entry.get("name", f"problem-{k}") if isinstance(entry, dict) else f"problem-{k}"
    source = f"{path}:{name}"
    try:
        if not isinstance(entry, dict):
            raise ValueInputError(f"problem {k} is not a table")
        program = entry.get("program")
        if not isinstance(program, str):
            raise ValueInputError(f"problem {name!r} has no program",
                                  hint='add program = "..." to it')
        points = points_of(entry.get("at", {}))
        wrt = entry.get("wrt")
        if wrt is not None and not (isinstance(wrt, list)
                                    and all(isinstance(w, str) for w in wrt)):
            raise ValueInputError(f"problem {name!r}: wrt must be a list of input names")
    except ExprGraphError as error:
        yield Problem(source, "", {}, error=error.to_dict())
        return
    for index, values in enumerate(points, start=1):
        where = source if len(points) == 1 else f"{source}#{index}"
        yield Problem(where, program, values, tuple(wrt) if wrt is not None else None)


def points_of(at: Any) -> list[dict[str, float]]:
    """The points of a problem's `at`: one table, or a list of them."""
    tables = at if isinstance(at, list) else [at]
    points = []
    for table in tables:
        if not isinstance(table, dict):
            raise ValueInputError("at must be a table of values, or a list of tables",
                                  hint="at = { x = 1, y = 2 }")
        points.append({name: _value(name, value) for name, value in table.items()})
    return points or [{}]


def _value(name: str, value: Any) -> float:
    if isinstance(value, str):
        return parse_value(name, value)  # "pi/2", "1/3"
    return check_value(name, value)


def solve(problem: Problem, options: Options = Options()) -> dict[str, Any]:
    """The result of one problem: eval's JSON keys plus `source`, or `{source, error}`."""
    if problem.error is not None:
        return {"source": problem.source, "error": problem.error}
    try:
        compiled = compile_program(problem.program, inputs=problem.values)
        values = {**compiled.graph.given, **problem.values}
        evaluation = compiled.evaluate(values)
        from .render.structured import evaluation_summary

        data = evaluation_summary(compiled, evaluation, options.derivatives, options.nodes)
    except ExprGraphError as error:
        return {"source": problem.source, "error": _located(error, problem)}
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
