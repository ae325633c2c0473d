"""Problem files, read: the one reader behind `exprgraph batch` and `exprgraph check`.

Two kinds of file (which paths are problem files, and the listing of
folders, is `files.py`'s):

- `*.expr` line files: one program per line, `PROGRAM where x=1, y=3`; `#`
  comments and blank lines are skipped. `read_program_lines` reads them line
  by line (never whole), so a file of any size streams; a line too long for
  a program, or not UTF-8, is a `ValueInputError` in that line's place.
- `*.toml` problem sets, read whole (up to `MAX_TOML_BYTES`) by
  `read_problem_set`.

`read_problem_file` reads either kind.

A problem set is an optional `title`, `description` and `tolerance`, then
`[[problem]]` tables with `name`, `program`, `at` (a table of values, or a list
of them), `wrt` (input names), `answers` (a table KEY = ANSWER) and
`tolerance`. Everything is validated here, so both commands give the same
messages, each naming the file and the problem:

- a fault of the whole file (unreadable, not UTF-8, not TOML, `problem` not an
  array of tables, an unknown top-level key, a bad file tolerance) is a
  `FileError`, its `reason` detail saying which kind of fault;
- a fault of one problem (no program, a bad `at`, `wrt`, `answers`, `name` or
  `tolerance`, an unknown key) is a `ValueInputError` in that problem's place,
  so the other problems still run. (What needs the compiled program, such as
  an answer key naming no node, is checked by the command that compiles it.)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..api import input_value, parse_value
from ..core.errors import FileError, ValueInputError
from ..core.text import did_you_mean
from ..syntax.parse import MAX_PROGRAM_CHARS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_TOLERANCE = 1e-4
FILE_KEYS = ("title", "description", "tolerance", "problem")
PROBLEM_KEYS = ("name", "description", "program", "at", "wrt", "answers", "tolerance")


# Why a path gave no problems: the `reason` detail of a FileError.
NOT_FOUND = "not_found"
UNREADABLE = "unreadable"
NOT_TEXT = "not_utf8"
MALFORMED = "malformed"
EMPTY_FOLDER = "no_problem_files"
OTHER_KIND = "not_a_problem_file"
UNREADABLE_FOLDER = "unreadable_folder"  # a folder that cannot be listed

LINE_FILE_SUFFIX = ".expr"
PROBLEM_SET_SUFFIX = ".toml"


@dataclass(frozen=True)
class ProblemSpec:
    """One problem of a set, validated: its program, points, answers."""

    file: str
    number: int  # 1-based position in the file
    name: str
    program: str
    points: tuple[Mapping[str, float], ...]  # at least one (maybe empty) point
    wrt: tuple[str, ...] | None
    answers: Mapping[str, Any]
    tolerance: float

    @property
    def source(self) -> str:
        """`file:name`, how results and verdicts name the problem."""
        return f"{self.file}:{self.name}"


@dataclass(frozen=True)
class ProblemSet:
    """A problem file: its title, and each problem or the error in its place."""

    path: Path
    title: str | None
    problems: tuple[ProblemSpec | ValueInputError, ...]


def toml_document(path: Path) -> dict[str, Any]:
    """A TOML file's contents; FileError if it cannot be read, is not UTF-8
    text or is not TOML (its `reason` detail says which)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_TOML_BYTES + 1)  # never all of /dev/zero
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror}", file=str(path),
                        reason=UNREADABLE) from None
    if len(data) > MAX_TOML_BYTES:
        raise FileError(f"{path} is larger than {MAX_TOML_BYTES // 1_000_000} MB, the limit "
                        "for a problem set", file=str(path), reason=MALFORMED,
                        hint="split it into several files, or use a .expr line file, "
                        "which streams")
    try:
        # A byte-order mark (Windows editors write one) is not part of the TOML.
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise not_utf8(path, data, exc.start) from None
    _refuse_deep_nesting(path, text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FileError(f"{path} is not valid TOML: {exc}", file=str(path),
                        reason=MALFORMED) from None


# The TOML reader recurses into nested arrays and tables, and its dotted keys
# cost time quadratic in their length: hostile files are refused before it runs.
MAX_TOML_BYTES = 10_000_000
MAX_TOML_NESTING = 50
MAX_KEY_PARTS = 50


def _refuse_deep_nesting(path: Path, text: str) -> None:
    """A FileError for arrays/inline tables nested deeper than MAX_TOML_NESTING
    or keys of more than MAX_KEY_PARTS dotted parts (strings are skipped)."""
    depth = deepest = 0
    dots = line = 1
    quote = ""
    for char in text:
        if quote:
            if char == quote or char == "\n":
                quote = ""
            continue
        if char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
        elif char == ".":
            dots += 1
        elif char in "=\n":
            dots = 1
        if char == "\n":
            line += 1
        if deepest > MAX_TOML_NESTING or dots > MAX_KEY_PARTS:
            what = "nested deeper than" if deepest > MAX_TOML_NESTING else \
                "a key with more dotted parts than"
            limit = MAX_TOML_NESTING if deepest > MAX_TOML_NESTING else MAX_KEY_PARTS
            raise FileError(f"{path}, line {line}: {what} {limit}, the limit for a problem "
                            "set", file=str(path), reason=MALFORMED)


def not_utf8(path: Path, data: bytes, start: int) -> FileError:
    """`FILE: byte 0xFF at line L, column C, not UTF-8 text` (C counts bytes)."""
    line = data.count(b"\n", 0, start) + 1
    column = start - (data.rfind(b"\n", 0, start) + 1) + 1
    return FileError(f"{path}: byte 0x{data[start]:02X} at line {line}, column {column}, "
                     "not UTF-8 text", file=str(path), reason=NOT_TEXT,
                     hint="save the file as UTF-8")


def read_problem_set(path: str | Path) -> ProblemSet:
    """Read and validate a TOML problem set; FileError for a fault of the whole file."""
    path = Path(path)
    document = toml_document(path)
    where = str(path)
    unknown = [key for key in document if key not in FILE_KEYS]
    if unknown:
        raise FileError(f"{where}: unknown key {unknown[0]!r} at the top of the file",
                        file=where, hint=_suggestion(unknown[0], FILE_KEYS), reason=MALFORMED)
    title = document.get("title")
    if title is not None and not isinstance(title, str):
        raise FileError(f"{where}: title must be a string, not {_kind(title)}", file=where,
                        reason=MALFORMED)
    try:
        default = tolerance_of(document.get("tolerance", DEFAULT_TOLERANCE))
    except ValueInputError as error:
        raise FileError(f"{where}: {error.message}", file=where, hint=error.hint,
                        reason=MALFORMED) from None
    entries = document.get("problem")
    if entries is None:
        raise FileError(f"{where} has no problems", file=where, reason=MALFORMED,
                        hint='start each problem with [[problem]], then program = "..."')
    if not isinstance(entries, list):
        # `[problem]` (single brackets) makes a table; `problem = 5` a number.
        raise FileError(f"{where}: 'problem' must be an array of tables, not {_kind(entries)}",
                        file=where, reason=MALFORMED, hint="start each problem with "
                        "[[problem]] (double brackets), and its answers with [problem.answers]")
    problems: list[ProblemSpec | ValueInputError] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        try:
            spec = _problem(where, number, entry, default)
            if spec.name in seen:
                raise ValueInputError(f"the name {spec.name!r} is also problem "
                                      f"{seen[spec.name]}'s", hint="give each problem its "
                                      "own name, so results and verdicts can be told apart")
            seen[spec.name] = number
            problems.append(spec)
        except ValueInputError as error:
            problems.append(_located(error, where, number, entry))
    return ProblemSet(path, title, tuple(problems))


class ProgramLine(NamedTuple):
    """One program of a line file: its line number and text (with its `where`
    clause), or the error in that line's place. (A named tuple: one is made
    per line of a file that may hold millions.)"""

    file: str
    number: int  # 1-based line number in the file
    text: str  # the line without its line ending; "" where there is an error
    error: ValueInputError | None = None

    @property
    def source(self) -> str:
        """`file:line`, how results name the program."""
        return f"{self.file}:{self.number}"


def read_problem_file(path: str | Path) -> Iterator[ProblemSpec | ValueInputError | ProgramLine]:
    """The problems of a file of either kind, in order: a problem set's
    problems (or the errors in their places), else a line file's programs.
    FileError for the whole file, raised before anything is yielded from a
    problem set."""
    path = Path(path)
    if path.suffix == PROBLEM_SET_SUFFIX:
        yield from read_problem_set(path).problems
    else:
        yield from read_program_lines(path)


def read_program_lines(path: str | Path) -> Iterator[ProgramLine]:
    """The programs of a line file, streamed line by line: comments (`#`) and
    blank lines skipped, a line longer than a program may be skipped without
    being read whole. FileError if the file cannot be opened."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror}", file=str(path),
                        reason=UNREADABLE) from None
    with handle:
        number = 0
        while True:
            # A line longer than a program may be is skipped without reading it whole.
            raw = handle.readline(MAX_PROGRAM_CHARS + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_PROGRAM_CHARS and not raw.endswith(b"\n"):
                while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass
                yield ProgramLine(str(path), number, "", ValueInputError(
                    f"the line is longer than {MAX_PROGRAM_CHARS:,} characters, the "
                    "limit for one program", line=number))
                continue
            try:
                text = raw.decode("utf-8")
                if number == 1:  # a byte-order mark, as Python's utf-8-sig drops it
                    text = text.removeprefix("\ufeff")
            except UnicodeDecodeError as exc:
                # As a whole file's is said (`not_utf8`): the byte, its line and
                # column (counting bytes); the position is the error's, which
                # every output shows before the message.
                yield ProgramLine(str(path), number, "", ValueInputError(
                    f"byte 0x{raw[exc.start]:02X} is not UTF-8 text", line=number,
                    column=exc.start + 1, hint="save the file as UTF-8"))
                continue
            stripped = text.strip()
            if stripped and not stripped.startswith("#"):
                yield ProgramLine(str(path), number, text.rstrip("\r\n"))


def _problem(where: str, number: int, entry: Any, tolerance: float) -> ProblemSpec:
    if not isinstance(entry, dict):
        raise ValueInputError(f"it is {_kind(entry)}, not a table",
                              hint="start each problem with [[problem]]")
    unknown = [key for key in entry if key not in PROBLEM_KEYS]
    if unknown:
        raise ValueInputError(f"unknown key {unknown[0]!r}",
                              hint=_suggestion(unknown[0], PROBLEM_KEYS))
    name = entry.get("name", f"problem-{number}")
    if not isinstance(name, str) or not name.strip():
        raise ValueInputError("name must be a non-empty string")
    program = entry.get("program")
    if program is None:
        raise ValueInputError("it has no program", hint='add program = "..." to it')
    if not isinstance(program, str):
        raise ValueInputError(f"program must be a string, not {_kind(program)}",
                              hint='quote it: program = "x^2"')
    points = points_of(entry.get("at", {}))
    wrt = entry.get("wrt")
    if wrt is not None and not (isinstance(wrt, list) and all(isinstance(w, str) for w in wrt)):
        raise ValueInputError("wrt must be a list of input names", hint='wrt = ["x", "y"]')
    answers = entry.get("answers", {})
    if not isinstance(answers, dict):
        raise ValueInputError(f"answers must be a table, not {_kind(answers)}",
                              hint='write [problem.answers] below the problem, then lines '
                              'such as "dg/dx" = 3')
    if "tolerance" in entry:
        tolerance = tolerance_of(entry["tolerance"])
    return ProblemSpec(where, number, name.strip(), program, tuple(points),
                       tuple(wrt) if wrt is not None else None, answers, tolerance)


def _located(error: ValueInputError, where: str, number: int, entry: Any) -> ValueInputError:
    """The error with the file and the problem named in its message."""
    name = entry.get("name") if isinstance(entry, dict) else None
    named = isinstance(name, str) and bool(name.strip())
    label = f"problem {name.strip()!r}" if named else f"problem {number}"
    details = {k: v for k, v in error.details.items() if k not in ("source", "file")}
    located = ValueInputError(f"{where}: {label}: {error.message}", hint=error.hint,
                              source=f"{where}:{name.strip() if named else f'problem-{number}'}",
                              file=where, **details)
    if isinstance(entry, dict) and isinstance(entry.get("program"), str):
        located.details["program"] = entry["program"]
    return located


def points_of(at: Any) -> list[dict[str, float]]:
    """The points of a problem's `at`: one table, or a list of them."""
    tables = at if isinstance(at, list) else [at]
    points = []
    for table in tables:
        if not isinstance(table, dict):
            raise ValueInputError(f"at must be a table of values, or a list of tables, "
                                  f"not {_kind(at)}", hint="at = { x = 1, y = 2 }")
        points.append({name: _value(name, value) for name, value in table.items()})
    return points or [{}]


def _value(name: str, value: Any) -> Any:
    """A number ("pi/2" as text too), or a vector or matrix as TOML arrays."""
    if isinstance(value, str):
        return parse_value(name, value)  # "pi/2", "1/3"
    return input_value(name, value)


def tolerance_of(raw: Any) -> float:
    """A relative tolerance: a number between 0 and 1 (exclusive)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or math.isnan(raw) \
            or not 0 < raw < 1:
        raise ValueInputError(f"tolerance must be a number between 0 and 1, not {raw!r}",
                              hint="e.g. tolerance = 1e-3")
    return float(raw)


# TOML's names of its types; bool before int, as a bool is an int in Python.
_TOML_KINDS = ((bool, "a boolean"), (int, "an integer"), (float, "a number"),
               (str, "a string"), (list, "an array"), (dict, "a table"))


def _kind(value: Any) -> str:
    """How TOML calls the type of `value`, with an article."""
    return next((name for kind, name in _TOML_KINDS if isinstance(value, kind)),
                "a date or time")


def _suggestion(key: str, known: tuple[str, ...]) -> str:
    listed = "known keys: " + ", ".join(known)
    close = did_you_mean(key, known, quote=True)
    return f"{close} {listed}" if close else listed
