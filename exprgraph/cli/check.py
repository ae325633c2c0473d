"""The `check` command: answers checked against problem files or one program.

Problem files are read and checked one by one: a file or problem that cannot
be read is reported (`errors.report_error`) and the rest still checked; the
summary goes to stderr. Exit status 0 every answer correct, 1 some wrong,
undecided or missing, 2 a file, key or the command line itself at fault.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from click.core import ParameterSource

from ..core.errors import ExprGraphError, FileError, ValueInputError
from .application import PROGRAM_MARK, values_command
from .errors import report_error, reports_errors
from .options import CheckFormat, Values, jobs_option, scheduler_option, values_option
from .output import JsonResults, stderr, stdout, warn
from .values import close_option, compiled_from_tokens, option_names

# `check --format json` printed JSON Lines, which `batch` calls jsonl; it still
# does, and says so once per run, until `json` becomes one JSON document here
# too (as in every other command).
DEPRECATED_JSON = ("check --format json is deprecated; it prints JSON Lines as before, which "
                   "is --format jsonl. A future version makes --format json one JSON "
                   "document, as in batch.")


def _below_one(value: float) -> float:
    """A relative tolerance of 1 (or more) would call any answer of the right sign
    correct: refused, as problem files refuse it."""
    if value >= 1.0:
        raise typer.BadParameter("a relative tolerance must be below 1, e.g. 1e-3")
    return value


@values_command("check")
@reports_errors
def check_command(
    ctx: typer.Context,
    targets: Annotated[list[str], typer.Argument(
        help="Problem sets (.toml) or folders of them; or, with --answer, one program "
        "(its input values as --NAME VALUE).", show_default=False,
        metavar="PATH... | PROGRAM")],
    answers: Annotated[list[str] | None, typer.Option(
        "--answer", metavar="KEY=ANSWER", show_default=False,
        help="An answer to check against PROGRAM: c=8 (a node's value), dg/dx=-3 or "
        "∂g/∂x=-3 (a partial), d/dx=2*x (of the output); repeatable, each one checked.")
    ] = None,
    assignments: Annotated[Values, values_option(
        "With --answer: the point at which numeric answers are checked and wrong ones "
        "worked out: --at x=1,y=2 (or --x 1 --y 2). Problem files give theirs as at = {...}.",
        at_first=True)] = None,
    tolerance: Annotated[float, typer.Option(
        "--tolerance", min=0.0, max=1.0, callback=_below_one,
        help="Relative tolerance. Given, it overrides every problem file's own.")] = 1e-4,
    output_format: Annotated[CheckFormat, typer.Option(
        "--format", case_sensitive=False, metavar="FORMAT",
        help="table: a table per problem, with how wrong answers are obtained, and a score "
        "per file; jsonl: one JSON object per problem, one per line (json: the same, a "
        "deprecated name).")] = CheckFormat.table,
    jobs: Annotated[str, jobs_option(
        "Worker processes for problem files: auto uses every core once there are "
        "enough problems to gain (one process for a few); N uses N (at most one per core)."
    )] = "auto",
    scheduler: Annotated[str | None, scheduler_option(
        "Check problem files on a Dask cluster: the scheduler's tcp://HOST:8786, or "
        "local[:N] for N workers on this machine (it needs the dask extra: see the "
        "README). Reports come back in input order.")] = None,
) -> None:
    """Check answers: node values and derivatives, numbers or expressions.

    Exit status:
    0 every answer correct;
    1 some incorrect, undecided or missing (an answer that does not parse is incorrect);
    2 a problem file, a key, the command itself or a --scheduler cluster is at fault.

    Vector and matrix programs take matrix answers.

    Examples:
    [bold]exprgraph check samples/homework.toml[/bold]
    [bold]exprgraph check "(x-3)^2" --x 1 --answer "d/dx=2*x-6"[/bold]
    [bold]exprgraph check "x: vector(n); f = sum(x * x)" --answer "df/dx=2*x"[/bold]
    """
    from ..render.check import report_view, summary_lines
    from ..tasks import check as core

    if output_format is CheckFormat.json:
        warn(DEPRECATED_JSON)
    results = JsonResults(document=False) if output_format is not CheckFormat.table else None
    scores: list[core.FileScore] = []

    def show(report: core.Report) -> None:
        if results is not None:
            results.add(report.to_dict())
        else:
            stdout().print(report_view(report))

    # --tolerance given overrides the files' own; by default each file sets its own.
    override = ctx.get_parameter_source("tolerance") is not ParameterSource.DEFAULT
    jobs_given = ctx.get_parameter_source("jobs") is not ParameterSource.DEFAULT
    if answers:
        for name, used in (("--jobs", jobs_given), ("--scheduler", scheduler is not None)):
            if used:
                warn(f"{name} has no effect with --answer (one program is checked here; "
                     "it does with problem files)")
        compiled, values = compiled_from_tokens(ctx, [*targets, *ctx.args], assignments)
        text = compiled.graph.source
        given = [core.parse_answer_option(a) for a in answers]
        score = core.FileScore("command line")
        report = core.check_problem(core.CheckProblem(
            "command line", "command line", text, values or None, given, tolerance))
        score.add(report)
        scores.append(score)
        show(report)
    else:
        targets = [t.removeprefix(PROGRAM_MARK) for t in targets]
        _refuse_values_without_answers(ctx, targets, assignments)
        from ..tasks import check_run
        from ..tasks.workers import Aside, jobs_for

        # Every file's problems in one stream, checked here, by worker processes
        # or on a cluster; what happens to the files travels in it as asides,
        # each handled here in its place, and every report is printed here, in order.
        stream = check_run.run(_problems(targets, tolerance if override else None),
                               jobs_for(jobs if jobs_given else None, scheduler), scheduler)
        current: core.FileScore | None = None  # the score of the file being checked
        with contextlib.closing(stream):
            for item in stream:
                if isinstance(item, Aside):
                    current = _file_event(item.value, current, scores, results)
                    continue
                assert current is not None
                current.add(item)
                show(item)
    if results is None:
        for line in summary_lines(scores, several=len(scores) > 1):
            stderr().print(line)
    bad = any(s.errors for s in scores)
    wrong = any(s.correct < s.total or s.no_answers for s in scores)
    raise typer.Exit(2 if bad else 1 if wrong else 0)


@dataclass(frozen=True)
class _Unreadable:
    """A file, folder or target that gives nothing to check: said, scored as an error."""

    error: ExprGraphError
    path: str
    fault: str


@dataclass(frozen=True)
class _FileStarts:
    """A problem set's problems follow; `score` tallies them."""

    score: Any  # core.FileScore


@dataclass(frozen=True)
class _BadProblem:
    """A problem of the file being read that cannot be checked."""

    error: ExprGraphError


def _problems(targets: list[str], tolerance: float | None) -> Iterator[Any]:
    """The problems to check, in order, with asides for what happens to the
    files: where one starts, a problem in it that is malformed, a file or
    folder that cannot be read. `tolerance` (given) overrides the files'."""
    from dataclasses import replace

    from ..tasks import check as core
    from ..tasks.batch import discover
    from ..tasks.problems import EMPTY_FOLDER
    from ..tasks.workers import Aside

    # A folder contributes its problem sets; line files have no answers.
    named = {Path(t) for t in targets}
    for target in targets:
        checked_any = False
        for found in discover([target]):
            if isinstance(found, FileError) and found.details.get("reason") == EMPTY_FOLDER:
                continue  # said below as check sees it: no problem sets with answers
            if isinstance(found, FileError):
                checked_any = True
                yield Aside(_Unreadable(found, str(found.details.get("file", "")),
                                        _fault_of(found)))
                continue
            if found.suffix != ".toml" and found not in named:
                continue
            checked_any = True
            try:
                checked = core.read_check_file(found)
            except ExprGraphError as error:
                yield Aside(_Unreadable(error, str(found), _fault_of(error)
                                        if found.suffix == ".toml" else "not_a_problem_file"))
                continue
            yield Aside(_FileStarts(core.FileScore(str(found), unanswered=checked.unanswered,
                                                   no_answers=not checked.has_answers)))
            for problem in checked.problems:
                if isinstance(problem, ExprGraphError):
                    yield Aside(_BadProblem(problem))
                elif tolerance is not None:
                    yield replace(problem, tolerance=tolerance)
                else:
                    yield problem
        if not checked_any:  # a folder of line files only: nothing to check
            yield Aside(_Unreadable(
                FileError(f"no problem sets with answers in {target}", file=target,
                          hint="check reads .toml problem sets; line files (.expr) have "
                          "no answers", reason=EMPTY_FOLDER),
                target, "no_problem_files"))


def _file_event(event: Any, score: Any, scores: list[Any], results: JsonResults | None) -> Any:
    """Say and count what happened to a file, in its place; the score of the
    file whose problems come next."""
    from ..tasks import check as core

    if isinstance(event, _FileStarts):
        scores.append(event.score)
        if event.score.no_answers:
            _no_answers(event.score.path, results)
        return event.score
    if isinstance(event, _BadProblem):
        score.errors += 1
        report_error(event.error, results)
        return score
    report_error(event.error, results)
    scores.append(core.FileScore(event.path, errors=1, unreadable=True, fault=event.fault))
    return score


def _no_answers(path: str, results: JsonResults | None) -> None:
    """A problem file without a single answer is said, never skipped silently."""
    message = f"{path} has no answers to check"
    hint = 'add a [problem.answers] table below a problem, with lines such as "d/dx" = 3'
    if results is not None:
        results.add({"source": path, "file": path,
                    "error": {"kind": "no_answers", "message": message, "hint": hint}})
    else:
        warn(f"{message} ({hint})")


def _refuse_values_without_answers(ctx: typer.Context, targets: list[str],
                                   assignments: list[str] | None) -> None:
    """`check PATH --x 1` or `check PROGRAM --x 1` without --answer: a usage
    error, naming the option a mistyped one looks like (`--answr`)."""
    given = [t.split("=")[0] for t in [*targets, *ctx.args] if t.startswith("--")]
    if not given and not assignments:
        return
    own, _ = option_names(ctx)
    for option in given:
        suggestion = close_option(option, own)
        if suggestion:
            raise ValueInputError(f"no such option {option}", hint=suggestion)
    option = given[0] if given else "--at"
    if any(Path(t).exists() for t in targets):
        raise ValueInputError(
            f"{option} goes with --answer and a program; a problem file gives each "
            "problem's point itself", hint="in the file: at = { x = 1, y = 2 }")
    raise ValueInputError(f"{option} gives a value, but there is no answer to check",
                          hint='give answers as --answer KEY=ANSWER, e.g. --answer "d/dx=2"')


def _fault_of(error: ExprGraphError) -> str:
    """The kind of a file error (`not_found`, `malformed`...), for the summary."""
    return str(error.details.get("reason") or "malformed")

