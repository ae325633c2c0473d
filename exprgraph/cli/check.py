"""The `check` command: answers checked against problem files or one program.

Problem files are read and checked one by one: a file or problem that cannot
be read is reported (`errors.report_error`) and the rest still checked; the
summary goes to stderr. Exit status 0 every answer correct, 1 some wrong,
undecided or missing, 2 a file, key or the command line itself at fault.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from click.core import ParameterSource

from ..core.errors import ExprGraphError, FileError, ValueInputError
from .application import PROGRAM_MARK, values_command
from .errors import report_error, reports_errors
from .options import OutputFormat, Values, values_option
from .output import print_json, stderr, stdout, warn
from .values import close_option, compiled_from_tokens, option_names


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
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", case_sensitive=False,
        help="table: a table per problem, with how wrong answers are obtained, and a score "
        "per file; json: one JSON object per problem, one per line.")] = OutputFormat.table,
) -> None:
    """Check answers: node values and derivatives, numbers or expressions.

    Exit status:
    0 every answer correct;
    1 some incorrect, undecided or missing (an answer that does not parse is incorrect);
    2 a problem file, a key or the command itself is at fault.

    Vector and matrix programs take matrix answers.

    Examples:
    [bold]exprgraph check samples/homework.toml[/bold]
    [bold]exprgraph check "(x-3)^2" --x 1 --answer "d/dx=2*x-6"[/bold]
    [bold]exprgraph check "x: vector(n); f = sum(x * x)" --answer "df/dx=2*x"[/bold]
    """
    from ..render.check import report_view, summary_lines
    from ..tasks import check as core

    as_json = output_format is OutputFormat.json
    bad = False
    scores: list[core.FileScore] = []

    def show(report: core.Report) -> None:
        if as_json:
            print_json(report.to_dict())
        else:
            stdout().print(report_view(report))

    def no_answers(path: str) -> None:
        # A problem file without a single answer is said, never skipped silently.
        message = f"{path} has no answers to check"
        hint = 'add a [problem.answers] table below a problem, with lines such as "d/dx" = 3'
        if as_json:
            print_json({"source": path, "file": path,
                        "error": {"kind": "no_answers", "message": message, "hint": hint}})
        else:
            warn(f"{message} ({hint})")

    # --tolerance given overrides the files' own; by default each file sets its own.
    override = ctx.get_parameter_source("tolerance") is not ParameterSource.DEFAULT
    if answers:
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
        from dataclasses import replace

        from ..tasks.batch import discover
        from ..tasks.problems import EMPTY_FOLDER

        # A folder contributes its problem sets; line files have no answers.
        named = {Path(t) for t in targets}
        for target in targets:
            checked_any = False
            for found in discover([target]):
                if isinstance(found, FileError) and found.details.get("reason") == EMPTY_FOLDER:
                    continue  # said below as check sees it: no problem sets with answers
                if isinstance(found, FileError):
                    bad = checked_any = True
                    report_error(found, as_json)
                    scores.append(core.FileScore(str(found.details.get("file", "")),
                                                 errors=1, unreadable=True,
                                                 fault=_fault_of(found)))
                    continue
                if found.suffix != ".toml" and found not in named:
                    continue
                checked_any = True
                try:
                    checked = core.read_check_file(found)
                except ExprGraphError as error:
                    bad = True
                    report_error(error, as_json)
                    scores.append(core.FileScore(
                        str(found), errors=1, unreadable=True,
                        fault=_fault_of(error) if found.suffix == ".toml"
                        else "not_a_problem_file"))
                    continue
                score = core.FileScore(str(found), unanswered=checked.unanswered,
                                       no_answers=not checked.has_answers)
                scores.append(score)
                if score.no_answers:
                    no_answers(str(found))
                for problem in checked.problems:
                    if isinstance(problem, ExprGraphError):
                        score.errors += 1
                        report_error(problem, as_json)
                        continue
                    if override:
                        problem = replace(problem, tolerance=tolerance)
                    report = core.check_problem(problem)
                    score.add(report)
                    show(report)
            if not checked_any:  # a folder of line files only: nothing to check
                bad = True
                report_error(FileError(f"no problem sets with answers in {target}",
                                       file=target, hint="check reads .toml problem "
                                       "sets; line files (.expr) have no answers",
                                       reason=EMPTY_FOLDER),
                             as_json)
                scores.append(core.FileScore(target, errors=1, unreadable=True,
                                             fault="no_problem_files"))
    if not as_json:
        for line in summary_lines(scores, several=len(scores) > 1):
            stderr().print(line)
    bad = bad or any(s.errors for s in scores)
    wrong = any(s.correct < s.total or s.no_answers for s in scores)
    raise typer.Exit(2 if bad else 1 if wrong else 0)


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

