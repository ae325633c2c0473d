"""The `exprgraph` command line: Typer, kept thin.

Each command turns its options into calls to the core and hands the results
to `render`. Our errors become a clean message (or a JSON error object) and
an exit status: 0 success, 1 math error, 2 usage or parse error.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import click
import typer
from click.core import ParameterSource
from rich.console import Console
from typer.core import TyperCommand

from .. import __version__
from ..api import Program, parse_value, value_warnings
from ..api import compile as compile_program
from ..core.errors import ExprGraphError, FileError, MathError, ValueInputError
from ..core.text import did_you_mean
from ..render.console import FallbackConsole
from ..symbolic.calculus import MAX_ORDER, values_at

app = typer.Typer(
    name="exprgraph",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)


# Commands that take input values as --NAME VALUE: click passes unknown
# options through to them (ctx.args), and program_and_value_texts reads them.
TAKES_VALUES = {"allow_extra_args": True, "ignore_unknown_options": True}

# Marks the token after `--` as the program, whatever it starts with. Click
# drops `--` itself, and a NUL can never be part of a command-line argument.
PROGRAM_MARK = "\0"


class ProgramCommand(TyperCommand):
    """A command whose program may start with '-': the token after `--` is the
    program (`exprgraph eval -- "-x^2" --x 3`); options may still follow it.
    So is a token such as `-x^2` that is no option of the command: Click would
    read it as a cluster of short options (`-logx` as -l and `-o gx`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self._mark_program(ctx, args))

    def _mark_program(self, ctx: click.Context, args: list[str]) -> list[str]:
        options = [p for p in self.get_params(ctx) if isinstance(p, click.Option)]
        known = {o for p in options for o in p.opts}
        with_value = {o for p in options if not p.is_flag and not p.count for o in p.opts}
        marked: list[str] = []
        value_next = False
        for k, token in enumerate(args):
            if value_next:
                marked.append(token)
                value_next = False
            elif token == "--":
                rest = args[k + 1:]
                return [*marked, *([PROGRAM_MARK + rest[0], *rest[1:]] if rest else [])]
            elif token.startswith("--"):
                name, has_value, _ = token.partition("=")
                # An unknown --NAME is an input's name: its value follows.
                value_next = not has_value and (name in with_value or name not in known)
                marked.append(token)
            elif token.startswith("-") and len(token) > 1:
                short = token[:2]
                value_next = token == short and short in with_value
                marked.append(token if short in known else PROGRAM_MARK + token)
            else:
                marked.append(token)
        return marked


def _below_one(value: float) -> float:
    """A relative tolerance of 1 (or more) would call any answer of the right sign
    correct: refused, as problem files refuse it."""
    if value >= 1.0:
        raise typer.BadParameter("a relative tolerance must be below 1, e.g. 1e-3")
    return value


def values_command(name: str) -> Any:
    """`@app.command` for a command that takes a program and --NAME VALUE inputs."""
    return app.command(name, context_settings=TAKES_VALUES, cls=ProgramCommand)
ProgramArgument = Annotated[str, typer.Argument(
    help="The program (as for eval); '-' reads it from stdin.", show_default=False,
    metavar="PROGRAM")]


class OutputFormat(str, Enum):
    """How `eval` prints its result."""

    table = "table"
    json = "json"


class DiffFormat(str, Enum):
    """How `diff` and `simplify` print their results."""

    table = "table"
    json = "json"
    text = "text"
    latex = "latex"


ValuesOption = Annotated[list[str] | None, typer.Option(
    "--at", "--set", metavar="NAME=VALUE[,...]",
    help="Also evaluate the results at this point: --at x=1,y=2 (or --x 1 --y 2).",
    show_default=False)]
DiffFormatOption = Annotated[DiffFormat, typer.Option(
    "--format", case_sensitive=False,
    help="table: Rich tables; json: one JSON object (keys in the README); "
    "text: plain exprgraph text; latex: LaTeX.")]


class _TrimmedLines:
    """Standard output for a pipe or file: Rich pads titles and captions to
    the table's width; a file gets the lines without trailing spaces."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(re.sub(r"[ \t]+(?=\n)", "", text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        """The stream's encoding: Rich draws ASCII boxes for one that is not UTF."""
        return getattr(self.stream, "encoding", None) or "utf-8"


# Neither console reads markup: every `[...]` in what they print is text, so a
# student's answer `[/]` or a file named `[red]x.toml` is shown as it is (Rich
# would raise MarkupError, or swallow the brackets). Styles come from Text objects.
#
# Both write what the stream's encoding can carry: under a Latin-1 or ASCII
# locale (or cp1252, redirected on Windows) boxes are ASCII and symbols such as
# ∂ and → have ASCII stand-ins (FallbackConsole), and whatever reaches a stream
# by another way gets the same stand-ins from its error handler (`run`).
def _stdout() -> Console:
    if sys.stdout.isatty():
        return FallbackConsole(highlight=False, markup=False)
    return FallbackConsole(highlight=False, markup=False, file=_TrimmedLines(sys.stdout))


def _stderr() -> Console:
    # Piped or logged, a message stays one line: hard wrapping at 80 columns
    # split numbers and names (`(here t1 = ⏎1e+308)`).
    return FallbackConsole(stderr=True, highlight=False, markup=False,
                           soft_wrap=not sys.stderr.isatty())


def _utf(stream: Any) -> bool:
    """Whether `stream` writes UTF (any character at all)."""
    encoding = (getattr(stream, "encoding", None) or "utf-8").replace("_", "-").lower()
    return encoding.startswith("utf")


def _fall_back_where_symbols_are_missing() -> None:
    """Give standard output and error an error handler that writes ASCII
    stand-ins for what their encoding lacks, instead of raising
    UnicodeEncodeError (`graph --format dot`, CSV, help, anything)."""
    import codecs

    from ..render.console import encoding_fallback

    codecs.register_error(FALLBACK_ERRORS, encoding_fallback)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and not _utf(stream) and hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors=FALLBACK_ERRORS)


FALLBACK_ERRORS = "exprgraph-fallback"


def _warn(message: str) -> None:
    """`warning: MESSAGE` on stderr, the message as plain text."""
    from rich.text import Text

    text = Text("warning:", style="yellow")
    text.append(f" {message}")
    _stderr().print(text)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"exprgraph {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Turn expressions into computational graphs: values, gradients and derivatives.

    Example: [bold]exprgraph eval "(x+y)*z" --x 1 --y 3 --z -3[/bold]
    """


@values_command("eval")
def eval_command(
    ctx: typer.Context,
    program: Annotated[str, typer.Argument(
        help="The program: an expression like \"(x+y)*z\", or statements such as "
        "\"p = x + y; g = p * z\" separated by ';' or new lines. '-' reads it from stdin.",
        show_default=False, metavar="PROGRAM")],
    assignments: Annotated[list[str] | None, typer.Option(
        "--set", "--at", metavar="NAME=VALUE[,...]",
        help="Input values, for names that clash with an option: --set format=2,x=1.",
        show_default=False)] = None,
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", help="table: Rich tables; json: one JSON object (keys in the README).",
        case_sensitive=False)] = OutputFormat.table,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=0, help="Rows per table at most; 0 shows all.")] = 100,
    steps: Annotated[bool, typer.Option(
        "--steps", help="Narrate the forward pass node by node and the backward pass edge "
        "by edge, as a student would write them.")] = False,
) -> None:
    """Evaluate a program: every node's value, every adjoint, the gradient.

    Give each input's value as [bold]--NAME VALUE[/bold] (or --NAME=VALUE); a value
    may be a number or a constant expression such as pi/2 or -3. A program that
    starts with '-' goes after --: [bold]exprgraph eval -- "-x^2" --x 3[/bold]

    Example: [bold]exprgraph eval "(x+y)*z" --x 1 --y 3 --z -3[/bold]
    """
    as_json = output_format is OutputFormat.json
    try:
        compiled, values = _compiled(ctx, program, assignments, warn=False)
        # Every view (tables, JSON, --steps) shows what exists and marks the
        # undefined partials; the reason follows on stderr (or in the JSON).
        evaluation = compiled.evaluate_partially(values)
        if as_json:
            from ..tasks.data import evaluation_data, steps_data

            data = evaluation_data(compiled, evaluation)
            if steps:
                data["steps"] = steps_data(compiled, evaluation)
            _print_json(data)
        elif steps:
            from ..render.check import steps_view
            from ..tasks.explain import backward_steps, forward_steps

            _stdout().print(steps_view(forward_steps(compiled, evaluation),
                                       backward_steps(compiled, evaluation), compiled.output,
                                       evaluation.gradient, evaluation.undefined_gradient))
        else:
            from ..render.tables import evaluation_tables

            _print_warnings(ctx, compiled, values)
            _stdout().print(evaluation_tables(compiled, evaluation, max_rows))
        if evaluation.undefined_gradient:
            _report_undefined(evaluation, as_json)
    except ExprGraphError as error:
        _fail(error, as_json)


def _report_undefined(evaluation: Any, as_json: bool) -> NoReturn:
    """Exit 1 after a result with undefined partials, naming why on stderr."""
    if not as_json:
        from ..render.errors import error_text

        for error in dict.fromkeys(evaluation.undefined_gradient.values()):
            _stderr().print(error_text(error))
    raise typer.Exit(MathError.exit_code)


@values_command("diff")
def diff_command(
    ctx: typer.Context,
    program: ProgramArgument,
    wrt: Annotated[list[str] | None, typer.Option(
        "--wrt", metavar="NAME", show_default=False,
        help="Differentiate with respect to NAME; repeat for successive partials "
        "(--wrt x --wrt y is ∂²/∂y∂x). NAME may be an intermediate node (its adjoint, "
        "first order). Default: the only input, or each input.")] = None,
    order: Annotated[int, typer.Option(
        "--order", min=1, max=MAX_ORDER, help="Differentiate this many times (at most 100): by the "
        "one --wrt, or without --wrt by each input in turn (∂ⁿ/∂xⁿ, ∂ⁿ/∂yⁿ, ...).")] = 1,
    gradient: Annotated[bool, typer.Option(
        "--gradient", help="Every first partial derivative.")] = False,
    hessian: Annotated[bool, typer.Option(
        "--hessian", help="The matrix of second partial derivatives.")] = False,
    jacobian: Annotated[bool, typer.Option(
        "--jacobian", help="One row per output: the assigned names nothing else uses, "
        "or those given with --output.")] = False,
    outputs: Annotated[list[str] | None, typer.Option(
        "--output", metavar="NAME", show_default=False,
        help="Differentiate node NAME instead of the last statement (repeat for --jacobian).",
    )] = None,
    assignments: ValuesOption = None,
    latex: Annotated[bool, typer.Option("--latex", help="Print LaTeX (as --format latex).")
                     ] = False,
    output_format: DiffFormatOption = DiffFormat.table,
) -> None:
    """Symbolic derivatives, simplified: any order, gradient, Hessian, Jacobian.

    Examples:
    [bold]exprgraph diff "x^2*sin(x)"[/bold];
    [bold]exprgraph diff "x^3*y" --wrt x --wrt y[/bold];
    [bold]exprgraph diff "x^2*y + y^3" --hessian --at x=1,y=2[/bold]
    """
    as_json = output_format is DiffFormat.json
    try:
        if latex:
            given = ctx.get_parameter_source("output_format") is ParameterSource.COMMANDLINE
            if given and output_format is not DiffFormat.latex:
                raise ValueInputError(f"--latex and --format {output_format.value} ask for "
                                      "two formats", hint="give one of them")
            output_format = DiffFormat.latex
        kinds = [k for k, on in (("gradient", gradient), ("hessian", hessian),
                                 ("jacobian", jacobian)) if on]
        if len(kinds) > 1 or (kinds and wrt):
            raise ValueInputError("choose one of --wrt, --gradient, --hessian and --jacobian")
        if order > 1 and wrt and len(wrt) > 1:
            raise ValueInputError(
                "--order repeats one variable; with several --wrt, list each step instead",
                hint="e.g. --wrt x --wrt x --wrt y for ∂³/∂y∂x²")
        compiled, values = _compiled(ctx, program, assignments)
        result = compiled.diff(wrt or (), order=order, kind=kinds[0] if kinds else "derivative",
                               outputs=outputs or ())
        point = _point(compiled, values)
        results = _values_where_defined(compiled, [e.expression for e in result.entries],
                                        point)
        from ..render import derivatives as show

        if as_json:
            _print_json(show.diff_data(compiled, result, point, results))
        elif output_format is DiffFormat.table:
            _stdout().print(show.diff_tables(compiled, result, results))
        else:
            _stdout().out(show.diff_lines(compiled, result, output_format is DiffFormat.latex,
                                          results), highlight=False)
        if results and any(isinstance(v, MathError) for v in results):
            raise typer.Exit(MathError.exit_code)
    except ExprGraphError as error:
        _fail(error, as_json)


@values_command("simplify")
def simplify_command(
    ctx: typer.Context,
    program: ProgramArgument,
    output: Annotated[str | None, typer.Option(
        "--output", metavar="NAME", help="Simplify node NAME instead of the last statement.",
        show_default=False)] = None,
    assignments: ValuesOption = None,
    output_format: DiffFormatOption = DiffFormat.table,
) -> None:
    """Simplify a program's output, written over its inputs.

    Example: [bold]exprgraph simplify "x*1 + 0 + x"[/bold] prints 2*x.
    """
    as_json = output_format is DiffFormat.json
    try:
        compiled, values = _compiled(ctx, program, assignments)
        expr = compiled.output_expression(output)
        point = _point(compiled, values)
        (value,) = _values_where_defined(compiled, [expr], point) or (None,)
        from ..printing.latex import latex_text
        from ..render import derivatives as show

        if as_json:
            data: dict[str, Any] = {"program": compiled.graph.source,
                                    "output": output or compiled.output,
                                    "expr": compiled.text(expr),
                                    "latex": latex_text(expr.nodes, expr.root,
                                                        taken=compiled.graph.names)}
            if point:
                data["at"] = point
                data["value"] = None if isinstance(value, MathError) else value
                if isinstance(value, MathError):
                    data["error"] = value.to_dict()
            _print_json(data)
        elif output_format is DiffFormat.table:
            _stdout().print(show.simplify_table(compiled, expr, value))
        elif output_format is DiffFormat.latex:
            _stdout().out(latex_text(expr.nodes, expr.root, taken=compiled.graph.names),
                          highlight=False)
        else:
            from ..render.derivatives import value_suffix

            _stdout().out(compiled.text(expr) + value_suffix(value), highlight=False)
        if isinstance(value, MathError):
            # Tables, text and JSON already show why: say it once, exit 1.
            if output_format is DiffFormat.latex:
                from ..render.errors import error_text

                _stderr().print(error_text(value))
            raise typer.Exit(value.exit_code)
    except ExprGraphError as error:
        _fail(error, as_json)


@values_command("check")
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
    assignments: Annotated[list[str] | None, typer.Option(
        "--at", "--set", metavar="NAME=VALUE[,...]", show_default=False,
        help="With --answer: the point at which numeric answers are checked and wrong ones "
        "worked out: --at x=1,y=2 (or --x 1 --y 2). Problem files give theirs as at = {...}."
    )] = None,
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

    Examples:
    [bold]exprgraph check samples/homework.toml[/bold]
    [bold]exprgraph check "(x-3)^2" --x 1 --answer "d/dx=2*x-6"[/bold]
    """
    from ..render.check import report_view, summary_lines
    from ..tasks import check as core

    as_json = output_format is OutputFormat.json
    bad = False
    scores: list[core.FileScore] = []

    def show(report: core.Report) -> None:
        if as_json:
            _print_json(report.to_dict())
        else:
            _stdout().print(report_view(report))

    def no_answers(path: str) -> None:
        # A problem file without a single answer is said, never skipped silently.
        message = f"{path} has no answers to check"
        hint = 'add a [problem.answers] table below a problem, with lines such as "d/dx" = 3'
        if as_json:
            _print_json({"source": path, "file": path,
                         "error": {"kind": "no_answers", "message": message, "hint": hint}})
        else:
            _warn(f"{message} ({hint})")

    # --tolerance given overrides the files' own; by default each file sets its own.
    override = ctx.get_parameter_source("tolerance") is not ParameterSource.DEFAULT
    try:
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

            # A folder contributes its problem sets; line files have no answers.
            named = {Path(t) for t in targets}
            for target in targets:
                checked_any = False
                for found in discover([target]):
                    if isinstance(found, FileError):
                        bad = checked_any = True
                        _report_error(found, as_json)
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
                        _report_error(error, as_json)
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
                            _report_error(problem, as_json)
                            continue
                        if override:
                            problem = replace(problem, tolerance=tolerance)
                        report = core.check_problem(problem)
                        score.add(report)
                        show(report)
                if not checked_any:  # a folder of line files only: nothing to check
                    bad = True
                    _report_error(FileError(f"no problem sets with answers in {target}",
                                            file=target, hint="check reads .toml problem "
                                            "sets; line files (.expr) have no answers"),
                                  as_json)
                    scores.append(core.FileScore(target, errors=1, unreadable=True,
                                                 fault="no_problem_files"))
    except ExprGraphError as error:
        _fail(error, as_json)
    if not as_json:
        for line in summary_lines(scores, several=len(scores) > 1):
            _stderr().print(line)
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
    own, _ = _option_names(ctx)
    for option in given:
        suggestion = _did_you_mean(option, own)
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


def _report_error(error: ExprGraphError, as_json: bool, tally: Any = None) -> None:
    """An error that does not stop the command (a bad file or problem): a
    JSON line `{source, error}`, or a message on stderr; counted in `tally`."""
    result = {"source": error.details.get("source", error.details.get("file", "")),
              "error": error.to_dict()}
    if tally is not None:
        tally.add(result)
    if as_json:
        _print_json(result)
    else:
        from ..render.errors import error_text

        _stderr().print(error_text(error))


class GraphFormat(str, Enum):
    """How `graph` draws."""

    terminal = "terminal"
    dot = "dot"
    mermaid = "mermaid"
    svg = "svg"
    png = "png"


@values_command("graph")
def graph_command(
    ctx: typer.Context,
    program: ProgramArgument,
    assignments: Annotated[list[str] | None, typer.Option(
        "--set", "--at", metavar="NAME=VALUE[,...]", show_default=False,
        help="Input values (or --NAME VALUE): the drawing then shows values and "
        "gradients.")] = None,
    output_format: Annotated[GraphFormat | None, typer.Option(
        "--format", case_sensitive=False, show_default=False,
        help="terminal: a tree from the output down; dot: Graphviz; mermaid: for "
        "Markdown; svg, png: drawn by Graphviz's dot, if installed. Default: from the "
        "extension of -o FILE (.dot .gv .mmd .svg .png), else terminal.")] = None,
    output: Annotated[str | None, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Write to FILE instead of standard output (needed for png on a terminal); "
        "- is standard output.")] = None,
    backward: Annotated[bool, typer.Option(
        "--backward", help="Draw the gradient flow: edges reversed, labelled with the "
        "chain-rule product ∂out/∂node·∂node/∂arg.")] = False,
) -> None:
    """Draw the computational graph, with values and gradients when given values.

    Example: [bold]exprgraph graph "(x+y)*z" --x 1 --y 3 --z -3 --format svg -o g.svg[/bold]
    """
    from ..render import draw
    from ..render.files import check_writable

    try:
        if output is not None and output != "-":
            check_writable(output, "graph.dot")  # before any work, not after it
        output_format = _graph_format(output_format, None if output == "-" else output)
        if backward and output_format is GraphFormat.terminal:
            raise ValueInputError(
                "--backward draws reversed edges, which the terminal tree cannot show",
                hint="the terminal tree already shows each node's ∂out/∂node; for the "
                "gradient flow use --format dot, mermaid, svg or png")
        compiled, values = _compiled(ctx, program, assignments)
        # Partially: an undefined partial is drawn as such, the rest as usual.
        evaluation = compiled.evaluate_partially(values) if values or not compiled.inputs \
            else None
        picture = draw.drawing(compiled, evaluation)
        if output_format is GraphFormat.terminal:
            legend = draw.legend(picture)
            _stdout().print(draw.terminal_view(picture), *([legend] if legend else []))
        else:
            if output_format is GraphFormat.mermaid:
                data: bytes = draw.mermaid_text(picture, backward).encode("utf-8")
            else:
                dot = draw.dot_text(picture, backward)
                data = dot.encode("utf-8") if output_format is GraphFormat.dot else \
                    draw.render_image(dot, output_format.value)
            _write_output(data, None if output == "-" else output,
                          binary=output_format is GraphFormat.png)
        if evaluation is not None and evaluation.undefined_gradient:
            _report_undefined(evaluation, as_json=False)
    except ExprGraphError as error:
        _fail(error, as_json=False)


GRAPH_EXTENSIONS = {".dot": GraphFormat.dot, ".gv": GraphFormat.dot,
                    ".mmd": GraphFormat.mermaid, ".mermaid": GraphFormat.mermaid,
                    ".svg": GraphFormat.svg, ".png": GraphFormat.png}


def _graph_format(chosen: GraphFormat | None, output: str | None) -> GraphFormat:
    """--format, else the one -o's extension names; a mismatch is an error (an
    SVG in a .png file opens nowhere)."""
    implied = GRAPH_EXTENSIONS.get(Path(output).suffix.lower()) if output else None
    if chosen is None:
        if output and implied is None:
            raise ValueInputError(f"cannot tell the format of {output} from its extension",
                                  hint="add --format dot, mermaid, svg or png, or name the "
                                  "file .dot, .mmd, .svg or .png")
        return implied or GraphFormat.terminal
    if chosen is GraphFormat.terminal and output:
        raise ValueInputError("the terminal drawing goes to the terminal",
                              hint="for a file use --format dot, mermaid, svg or png")
    if implied is not None and implied is not chosen:
        raise ValueInputError(f"--format {chosen.value} does not match the file name {output}",
                              hint=f"name the file {Path(output).stem}."  # type: ignore[arg-type]
                              f"{chosen.value}, or drop --format to write {implied.value}")
    return chosen


def _write_output(data: bytes, path: str | None, binary: bool) -> None:
    from ..render.files import write_whole

    if path is None:
        if binary and sys.stdout.isatty():
            raise ValueInputError("a PNG is not for the terminal", hint="add -o g.png")
        sys.stdout.buffer.write(data) if binary else sys.stdout.write(data.decode("utf-8"))
        return
    write_whole(path, lambda temporary: Path(temporary).write_bytes(data))


# A trajectory keeps a bounded history (train.MAX_ROWS rows, train.CURVE_POINTS
# curve points), so steps cost time, not memory; Ctrl-C stops a long run and
# prints what it reached.
MAX_STEPS = 1_000_000_000


class TrainingNumber(click.ParamType):
    """A training setting such as --lr: a finite number in [low, high], refused
    as it was typed (`1e400`, not `inf`); one that reads as 0 (`1e-400`) is
    warned about, as the same number in a program is."""

    name = "float"

    def __init__(self, low: float, high: float | None = None) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        """`value` as a float, or click's usage error naming what was typed."""
        import math

        from ..syntax.parse import is_underflow, underflow_message

        if isinstance(value, float):
            return value  # a default
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            self.fail(f"{text!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{text} is beyond a float" if math.isinf(number) else
                      f"{text} is not a finite number", param, ctx)
        if number < self.low or (self.high is not None and number > self.high):
            where = f"from {self.low:g} to {self.high:g}" if self.high is not None else \
                f"at least {self.low:g}"
            self.fail(f"{text} is out of range: it must be {where}", param, ctx)
        if is_underflow(text, number):
            option = param.opts[0] if param is not None and param.opts else "the value"
            _warn(f"{option} {underflow_message(text)}")
        return number


LrOption = Annotated[float, typer.Option("--lr", click_type=TrainingNumber(0.0),
                                         help="The learning rate.")]
MomentumOption = Annotated[float, typer.Option(
    "--momentum", click_type=TrainingNumber(0.0, 1.0),
    help="Momentum: v ← momentum·v + gradient.")]
UntilOption = Annotated[list[str] | None, typer.Option(
    "--until", metavar="CRITERION", show_default=False,
    help="Stop early once it holds: grad<1e-6 (gradient norm), change<1e-9 (loss change), "
    "loss<1e-3; repeatable.")]
ShowEveryOption = Annotated[int, typer.Option(
    "--show-every", min=0, help="Rows every this many steps (0: about ten table rows, "
    "every step in JSON); at most 10,000 rows, the last step always.")]
PlotOption = Annotated[str | None, typer.Option(
    "--plot", metavar="FILE", show_default=False,
    help="Also draw the loss curve to FILE (.svg; .png needs matplotlib), with any "
    "--format.")]
TrainingFormatOption = Annotated[OutputFormat, typer.Option(
    "--format", case_sensitive=False,
    help="table: steps, a loss curve and the end; json: the trajectory's rows.")]


@values_command("descend")
def descend_command(
    ctx: typer.Context,
    program: Annotated[str, typer.Argument(
        help="The expression to minimise (as for eval).", show_default=False,
        metavar="PROGRAM")],
    params: Annotated[list[str] | None, typer.Option(
        "--params", metavar="NAMES", show_default=False,
        help="The inputs to move, w,b or with start values w=0,b=1 (default: all); the "
        "others stay fixed.")] = None,
    steps: Annotated[int, typer.Option(
        "--steps", min=0, max=MAX_STEPS,
        help="Steps at most (up to 1,000,000,000; Ctrl-C stops and prints what was "
        "reached).")] = 100,
    assignments: Annotated[list[str] | None, typer.Option(
        "--set", "--at", metavar="NAME=VALUE[,...]", show_default=False,
        help="The start point (or --NAME VALUE).")] = None,
    lr: LrOption = 0.1,
    momentum: MomentumOption = 0.0,
    until: UntilOption = None,
    show_every: ShowEveryOption = 0,
    plot: PlotOption = None,
    output_format: TrainingFormatOption = OutputFormat.table,
) -> None:
    """Gradient descent: minimise a program over its inputs from a start point.

    Example: [bold]exprgraph descend "(x-3)^2 + (y+1)^2" --x 0 --y 0 --lr 0.1 --steps 100[/bold]
    """
    from ..render import train as show
    from ..tasks import train

    as_json = output_format is OutputFormat.json
    try:
        compiled, start = _compiled(ctx, program, assignments)
        chosen = train.parse_params(params or [])
        for name, value in chosen.items():
            if value is None:
                continue
            if name in start and start[name] != value:
                raise ValueInputError(f"{name} is given two start values: {value:g} in "
                                      f"--params and {start[name]:g}",
                                      hint=f"give it once: --params {name}={value:g}")
            start[name] = value
        if params and not chosen:
            raise ValueInputError("--params names no inputs",
                                  hint="name the inputs to move: --params " +
                                  ",".join(compiled.inputs or ("x",)))
        names = list(chosen) or list(compiled.inputs)
        missing = [n for n in compiled.inputs if n not in start]
        if missing:
            raise ValueInputError(f"no start value for {', '.join(missing)}",
                                  hint=_start_value_hint(ctx, missing))
        criteria = [train.parse_criterion(c) for c in until or []]
        if plot is not None:
            show.check_plot_path(plot)  # before training: a typo must not cost a long run
        every, kept = _rows_kept(show_every, steps, bool(criteria), as_json)
        with _training_progress(steps, "steps", as_json) as advance:
            trajectory = train.descend(compiled, start, names, lr, steps, criteria, momentum,
                                       on_step=advance, every=every, max_rows=kept)
        _show_training(trajectory, {"program": compiled.graph.source, "lr": lr,
                                    "momentum": momentum}, every if kept is None
                       else trajectory.every, "step", plot, as_json)
    except ExprGraphError as error:
        _fail(error, as_json)


def _start_value_hint(ctx: typer.Context, missing: list[str]) -> str:
    """How to give start values; `--set lr=0` for a name that is also an
    option of the command (`--lr 0` would set the learning rate)."""
    own = {o for param in ctx.command.params for o in param.opts}
    clashes = [n for n in missing if f"--{n}" in own]
    ways = [f"--set {n}=0" if n in clashes else f"--{n} 0" for n in missing]
    why = "".join(f" (--{n} is an option of {ctx.info_name}, not a value for {n})"
                  for n in clashes)
    return "give one: " + " ".join(ways) + why


@app.command("fit", cls=ProgramCommand)
def fit_command(
    program: Annotated[str, typer.Argument(
        help="A per-row loss such as \"(w*x + b - y)^2\", or a model with --loss and "
        "--target; '-' reads it from stdin.", show_default=False, metavar="PROGRAM")],
    data: Annotated[str, typer.Option(
        "--data", metavar="FILE.csv", show_default=False,
        help="CSV with a header row ('-': stdin); its columns bind the program's data "
        "inputs, other columns are ignored.")],
    params: Annotated[list[str], typer.Option(
        "--params", metavar="w=0,b=0", show_default=False,
        help="The parameters to fit and their start values (default 0).")],
    epochs: Annotated[int, typer.Option("--epochs", min=1, max=MAX_STEPS,
                                        help="Passes over the data (up to 1,000,000,000; "
                                        "Ctrl-C stops and prints what was reached).")
                      ] = 100,
    loss: Annotated[str | None, typer.Option(
        "--loss", metavar="mse|bce", show_default=False,
        help="Treat the program as a model: squared error or binary cross-entropy "
        "against --target.")] = None,
    target: Annotated[str | None, typer.Option(
        "--target", metavar="COLUMN", show_default=False,
        help="The column to predict (with --loss).")] = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, show_default=False,
        help="Rows per gradient step (default: all rows).")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", min=0, show_default=False,
        help="Seed of the mini-batch shuffle (with --batch-size; default 0).")] = None,
    lr: LrOption = 0.01,
    momentum: MomentumOption = 0.0,
    until: UntilOption = None,
    show_every: ShowEveryOption = 0,
    plot: PlotOption = None,
    output_format: TrainingFormatOption = OutputFormat.table,
) -> None:
    """Fit parameters to data: the loss averaged over the rows, by gradient descent.

    Example: [bold]exprgraph fit "(w*x + b - y)^2" --data samples/fit/line.csv
    --params w=0,b=0 --lr 0.1 --epochs 200[/bold]
    """
    from ..render import train as show
    from ..tasks import train

    as_json = output_format is OutputFormat.json
    try:
        if loss is not None and target is None:
            raise ValueInputError(f"--loss {loss} needs --target COLUMN",
                                  hint="the column of the data that the model predicts")
        if target is not None and loss is None:
            raise ValueInputError("--target is only used with --loss mse or --loss bce",
                                  hint="without --loss the program itself is the per-row loss")
        program = program.removeprefix(PROGRAM_MARK)  # `fit -- "-(w*x - y)^2" ...`
        if program == "-" and data == "-":
            raise ValueInputError("the program and the data cannot both come from stdin",
                                  hint="give one of them as text or a file: --data FILE.csv")
        compiled = compile_program(read_stdin() if program == "-" else program)
        starts = {k: (v or 0.0) for k, v in train.parse_params(params).items()}
        used = {*compiled.inputs, *([target] if target else [])}
        columns, rows = train.parse_csv(read_stdin(), "stdin", used) if data == "-" \
            else train.read_csv(data, used)
        criteria = [train.parse_criterion(c) for c in until or []]
        if plot is not None:
            show.check_plot_path(plot)  # before training: a typo must not cost a long run
        notes = []
        if batch_size and batch_size >= rows:
            notes.append(f"--batch-size {batch_size} is not smaller than the {rows} rows of "
                         f"the data: every step uses all rows" +
                         (", so --seed has no effect" if seed is not None else ""))
        elif seed is not None and not batch_size:
            notes.append("--seed has no effect without --batch-size: every step uses all "
                         "rows, in order")
        for note in notes:
            _stderr().print(show.warning_text(note))
        every, kept = _rows_kept(show_every, epochs, bool(criteria), as_json)
        with _training_progress(epochs, "epochs", as_json) as advance:
            trajectory = train.fit(compiled, columns, rows, starts, lr, epochs, loss=loss,
                                   target=target, batch_size=batch_size, momentum=momentum,
                                   until=criteria, seed=seed or 0, on_epoch=advance,
                                   every=every, max_rows=kept)
        _show_training(trajectory, {"program": compiled.graph.source, "data": data,
                                    "rows": rows, "lr": lr, "momentum": momentum,
                                    "loss": loss, "target": target, "batch_size": batch_size},
                       every if kept is None else trajectory.every, "epoch", plot, as_json)
    except ExprGraphError as error:
        _fail(error, as_json)


def _rows_kept(show_every: int, steps: int, early_stop: bool, as_json: bool
               ) -> tuple[int, int | None]:
    """The rows a trajectory keeps: (every, at most): every `--show-every`-th
    step; by default every step in JSON and about ten table rows: a tenth of
    the steps apart or, when `--until` may stop training early, over the steps
    actually run (the spacing doubles past 16 rows)."""
    if show_every or as_json:
        return show_every or 1, None
    if early_stop:
        return 1, 16
    return max(1, steps // 10), None


class _training_progress:  # noqa: N801 - used as a context manager, like a function
    """A transient Rich progress bar on stderr, only on a terminal."""

    def __init__(self, total: int, unit: str, quiet: bool) -> None:
        self.total, self.unit = total, unit
        self.progress: Any = None
        if not quiet and _stderr().is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.progress = Progress(TextColumn(unit), BarColumn(), MofNCompleteColumn(),
                                     console=_stderr(), transient=True)

    def __enter__(self) -> Any:
        if self.progress is None:
            return None
        self.progress.start()
        task = self.progress.add_task(self.unit, total=self.total)
        return lambda done: self.progress.update(task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def _show_training(trajectory: Any, settings: dict[str, Any], show_every: int, unit: str,
                   plot: str | None, as_json: bool) -> None:
    """Print the trajectory and write the plot. The results are never lost to
    a plot that cannot be written after all (the path was checked before
    training, but a disk can fill up): a table comes first and the error
    after it on stderr; JSON comes after the plot, as one object holding the
    trajectory and the plot's error (`plot_error`); either way exit 2. A run
    stopped by Ctrl-C is shown as far as it got, then exits 130."""
    from ..render import train as show

    if as_json:
        data = show.trajectory_data(trajectory, settings)
        failed: ExprGraphError | None = None
        if plot is not None:
            try:
                show.write_plot(trajectory, plot, unit)
            except ExprGraphError as error:
                failed = error
                data["plot_error"] = error.to_dict()
        _print_json(data)
        if failed is not None:
            raise typer.Exit(failed.exit_code)
    else:
        _stdout().print(show.trajectory_view(
            trajectory, show_every, unit, left_out="--format json has every step's values"))
        if plot is not None:
            show.write_plot(trajectory, plot, unit)
    if trajectory.diverged:
        raise typer.Exit(MathError.exit_code)
    if trajectory.interrupted:
        raise typer.Exit(130)  # as a shell reports a command ended by Ctrl-C


class BatchFormat(str, Enum):
    """How `batch` prints its results."""

    table = "table"
    jsonl = "jsonl"
    csv = "csv"


@app.command("batch")
def batch_command(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(
        help="Problem files (.toml, .expr) or folders (every .toml and .expr below, sorted).",
        show_default=False, metavar="PATH...")],
    output_format: Annotated[BatchFormat, typer.Option(
        "--format", case_sensitive=False,
        help="table: a table per file and a summary; jsonl: one JSON object per problem, "
        "in input order; csv: one row per problem and input.")] = BatchFormat.table,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=1, help="Worker processes (use more cores).")] = 1,
    derivatives: Annotated[bool, typer.Option(
        "--derivatives", help="Include symbolic derivatives (they cost more than numbers).")
    ] = False,
    nodes: Annotated[bool, typer.Option(
        "--nodes", help="Include every node and edge, as eval --format json does.")] = False,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=0, help="Successful problems per table at most (failed ones: "
        "the first 1,000); 0 shows all.")] = 50,
) -> None:
    """Evaluate every problem in problem files: value and gradient of each.

    One bad problem never stops the batch. The summary goes to stderr in every
    format. Exit status: 0 all ok, 1 a problem failed, 2 a file could not be
    read or parsed.

    Example: [bold]exprgraph batch samples/ --format jsonl > results.jsonl[/bold]
    """
    import time

    from click.core import ParameterSource

    from ..render import batch as show
    from ..tasks import batch as core

    started = time.perf_counter()
    tally = show.Tally()
    # An option the format cannot show is said, not silently dropped (nor computed).
    shown_by = {"derivatives": (derivatives, (BatchFormat.jsonl, BatchFormat.csv)),
                "nodes": (nodes, (BatchFormat.jsonl,)),
                "max_rows": (ctx.get_parameter_source("max_rows") is not ParameterSource.DEFAULT,
                             (BatchFormat.table,))}
    for name, (given, formats) in shown_by.items():
        if given and output_format not in formats:
            use = " or ".join(f.value for f in formats)
            _warn(f"--{name.replace('_', '-')} has no effect with --format "
                  f"{output_format.value} (it does with --format {use})")
    options = core.Options(derivatives=derivatives and output_format is not BatchFormat.table,
                           nodes=nodes and output_format is BatchFormat.jsonl)
    out = _stdout()
    ascii_only = not _utf(sys.stdout)  # JSON lines escape what the output cannot carry
    progress = _LazyProgress(started)
    try:
        for found in core.discover(paths):
            if isinstance(found, core.FileError):
                _report_error(found, output_format is BatchFormat.jsonl, tally)
                continue
            # Only the rows the table shows are kept: a long line file streams.
            table = show.FileTable(str(found), max_rows)
            try:
                for result in core.run(core.read_problems(found), options, jobs):
                    tally.add(result)
                    progress.advance()
                    # Machine formats go straight to stdout: Rich costs per line.
                    if output_format is BatchFormat.table:
                        table.add(result)
                    elif output_format is BatchFormat.jsonl:
                        sys.stdout.write(json.dumps(result, ensure_ascii=ascii_only) + "\n")
                    else:
                        sys.stdout.write(show.csv_text([result], header=tally.problems == 1))
            except core.FileError as error:
                _report_error(error, output_format is BatchFormat.jsonl, tally)
            if output_format is BatchFormat.table and len(table):
                progress.pause()
                out.print(table.renderable())
    finally:
        progress.stop()
    # On stderr in every format: stdout stays pure JSON lines or CSV.
    _stderr().print(tally.line(time.perf_counter() - started))
    raise typer.Exit(2 if tally.file_errors else 1 if tally.failed else 0)


class _LazyProgress:
    """A Rich progress counter on stderr, only on a terminal and only once a
    batch has run for half a second (short batches print nothing extra)."""

    DELAY = 0.5

    def __init__(self, started: float) -> None:
        self.started = started
        self.count = 0
        self.progress: Any = None
        self.task: Any = None
        self.enabled = _stderr().is_terminal

    def advance(self) -> None:
        import time

        self.count += 1
        if not self.enabled:
            return
        if self.progress is None and time.perf_counter() - self.started > self.DELAY:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(SpinnerColumn(), TextColumn("{task.completed} problems"),
                                     TimeElapsedColumn(), console=_stderr(), transient=True)
            self.task = self.progress.add_task("batch", total=None)
            self.progress.start()
        if self.progress is not None:
            self.progress.update(self.task, completed=self.count)

    def pause(self) -> None:
        """Stop drawing before a table is printed; it comes back, after the
        same delay, if the next file takes a while too."""
        import time

        self.stop()
        self.started = time.perf_counter()

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _compiled(ctx: typer.Context, program: str, assignments: list[str] | None,
              warn: bool = True) -> tuple[Program, dict[str, float]]:
    """The program and its values: the command line's over its `where` clause.

    A --NAME the program does not use is refused when it is surely a mistyped
    option (`--step` for `--steps`), reported with the option it looks like
    otherwise (`--a` for `--at`: a value for a, perhaps of a derivative), and
    reported as unused on stderr unless `warn` is False (`eval` reports those
    itself, in its tables or JSON).
    """
    return compiled_from_tokens(ctx, [program, *ctx.args], assignments, warn)


def compiled_from_tokens(ctx: typer.Context, tokens: list[str], assignments: list[str] | None,
                         warn: bool = True) -> tuple[Program, dict[str, float]]:
    """`_compiled` for a command line whose program is one of `tokens`."""
    try:
        from_set: set[str] = set()  # typed as --set NAME=VALUE: surely no option
        text, raw = program_and_value_texts(tokens, assignments or [], from_set)
    except ValueInputError as error:
        raise _as_mistyped_flag(ctx, error) from None
    compiled = compile_program(text, inputs=raw)
    # Before the values are read: `--fromat json` is a typo, not a bad number.
    looks_like = mistyped_options(ctx, set(compiled.inputs) | from_set, raw)
    values: dict[str, float] = {}
    for name, value in raw.items():
        try:
            values[name] = parse_value(name, value)
            _warn_underflow(name, value)
        except ValueInputError as error:
            if name not in looks_like:
                raise _with_parse_hint(error, value) from None
            # `--fromat json`: not a bad number but an option mistyped.
            raise ValueInputError(f"no such option --{name}, and the program has no input "
                                  f"{name}", hint=looks_like[name].rpartition("; ")[2]
                                  ) from None
    for name, hint in looks_like.items():
        _warn(f"--{name} {hint}")
    ctx.meta["hinted"] = set(looks_like)
    if warn:
        _print_warnings(ctx, compiled, values)
    return compiled, {**compiled.graph.given, **values}


def _warn_underflow(name: str, text: str) -> None:
    """Say so on stderr where a value typed as --NAME has a number that reads as 0."""
    for warning in compile_program(text).graph.warnings:
        if warning.kind == "underflow":
            _warn(f"--{name} {text}: {warning.message}")


def _print_warnings(ctx: typer.Context, compiled: Program, values: dict[str, float]) -> None:
    """On stderr: text that is valid but probably not meant (`1/2x`), and
    values the program does not use (but not twice for a name that already
    got a hint that it looks like an option)."""
    from ..render.errors import warning_text

    for source_warning in compiled.graph.warnings:
        _stderr().print(warning_text(source_warning))
    hinted = ctx.meta.get("hinted", set())
    for warning in value_warnings(compiled, {k: v for k, v in values.items()
                                             if k not in hinted}):
        _warn(warning)


def _as_mistyped_flag(ctx: typer.Context, error: ValueInputError) -> ValueInputError:
    """`--stesp` with no value: name the option it looks like, if any."""
    name = error.details.get("needs_value")
    if not name:
        return error
    option = f"--{name}"
    own, others = _option_names(ctx)
    command = ctx.info_name or ""
    same = SAME_MEANING.get((command, option))
    if same:
        return ValueInputError(f"no such option {option}", hint=f"use {same}")
    if option in others:
        return ValueInputError(f"{option} is an option of exprgraph "
                               f"{' and '.join(others[option])}, not of {command}",
                               hint=f"see exprgraph {command} --help")
    suggestion = _did_you_mean(option, own)
    if suggestion:
        return ValueInputError(f"no such option {option}", hint=suggestion)
    error.hint = (f"{error.hint}; a program that starts with '-' goes after --: "
                  f'exprgraph {command} -- "{option}"')
    return error


def mistyped_options(ctx: typer.Context, used: set[str], values: dict[str, Any]
                     ) -> dict[str, str]:
    """Check `--NAME VALUE`s the program does not use against the options.

    A usage error where NAME is no variable at all (`--learning-rate`), where
    it is four letters or more and close to one of this command's options
    (`--ordr 2`, `--maxrows 5`: taken as a value it would leave the option
    unset and the result silently different), or, in `descend` (whose values
    are only a start point), where it looks like any option (`--epochs`).
    Otherwise such a name gets a hint, returned by name, and the command runs:
    giving a point's values to a program that does not use them all is normal
    (a derivative evaluated where its function was, `eval "x" --a 2 --x 3`).
    """
    own, others = _option_names(ctx)
    command = ctx.info_name or ""
    hints: dict[str, str] = {}
    for name in values:
        if name in used:
            continue
        option = f"--{name}"
        # One- and two-letter names are everyday variables (a, w, lr): no guesses.
        close_own = _did_you_mean(option, own) if len(name) >= 3 else None
        close_other = _did_you_mean(option, list(others)) if len(name) >= 3 else None
        same = SAME_MEANING.get((command, option))
        if close_other and not same:  # descend --epoch: fit's --epochs, so --steps
            meant = close_other.removeprefix("did you mean ").removesuffix("?")
            same = SAME_MEANING.get((command, meant))
        suggestion = (f"did you mean {same}?" if same else None) or close_own or close_other
        surely_option = (close_own and len(name) >= 4) or \
            (command in STRICT and (suggestion or option in others))
        if not name.isidentifier() or surely_option:
            raise ValueInputError(
                f"no such option {option}" + (f", and the program has no input {name}"
                                               if name.isidentifier() else "") +
                (f" ({option} is an option of exprgraph {' and '.join(others[option])})"
                 if option in others else ""),
                hint=(suggestion or f"see exprgraph {command} --help") +
                (f" (to give {name} a value anyway: --set {name}=VALUE)"
                 if name.isidentifier() else ""))
        if option in others:
            hints[name] = (f"is an option of exprgraph {' and '.join(others[option])}, not of "
                           f"{command}" + (f"; did you mean {same}?" if same else "") +
                           f" (taken as a value for {name}, which the program does not use)")
        elif close_own:
            hints[name] = f"is not used by the program; {close_own}"
        elif close_other:
            meant = close_other.removeprefix("did you mean ").removesuffix("?")
            hints[name] = (f"is not used by the program ({meant} is an option of exprgraph "
                           f"{' and '.join(others[meant])})")
    return hints


# Commands whose --NAME values are only a start point: an unused name that
# looks like an option is surely one.
STRICT = {"descend"}

# Options of one command that another command spells differently.
SAME_MEANING = {("descend", "--epochs"): "--steps", ("fit", "--steps"): "--epochs",
                ("simplify", "--latex"): "--format latex"}


def _option_names(ctx: typer.Context) -> tuple[list[str], dict[str, list[str]]]:
    """This command's long options, and every other command's (option -> commands)."""
    own = [o for param in ctx.command.params for o in param.opts if o.startswith("--")]
    others: dict[str, list[str]] = {}
    group = ctx.find_root().command
    for name, command in getattr(group, "commands", {}).items():
        if name == ctx.info_name:
            continue
        for param in command.params:
            for option in param.opts:
                if option.startswith("--") and option not in own:
                    others.setdefault(option, []).append(name)
    return own, others


def _did_you_mean(option: str, candidates: list[str]) -> str | None:
    # `--tol` for `--tolerance`: an unambiguous beginning counts as close.
    return did_you_mean(option, candidates, cutoff=0.75, prefix=True)


def _values_where_defined(program: Program, expressions: list[Any],
                          point: dict[str, float] | None) -> list[Any] | None:
    """The expressions' values at `point` (None without one). Where the program
    itself is undefined, so is every result: `diff "log(x)" --at x=-1` has no
    derivative there, though 1/x has a value."""
    if point is None:
        return None
    try:
        program.evaluate_partially(point)
    except MathError as error:
        undefined = MathError(f"the program is undefined here: {error.message}",
                              **error.details)
        return [undefined] * len(expressions)
    return values_at(expressions, point)


def _point(program: Program, values: dict[str, float]) -> dict[str, float] | None:
    """The values as a point to evaluate results at (None when none given);
    every input needs a value then."""
    if not values:
        return None
    missing = [name for name in program.inputs if name not in values]
    if missing:
        raise ValueInputError(f"no value given for {', '.join(missing)}",
                              hint="give every input a value: --at " +
                              ",".join(f"{n}=..." for n in program.inputs))
    return values


def _print_json(data: dict[str, Any]) -> None:
    # Where the output cannot carry every character, JSON escapes them (\u2202):
    # still the same data, not a stand-in.
    _stdout().out(json.dumps(data, ensure_ascii=not _utf(sys.stdout)), highlight=False)


def program_and_value_texts(tokens: list[str], assignments: list[str],
                            from_set: set[str] | None = None) -> tuple[str, dict[str, str]]:
    """Split `PROGRAM --x 1 --y=2 ...` into the program text and the values' texts.

    The program is the one token that is not an option or an option's value,
    or the token after `--` (marked by ProgramCommand), whatever it starts with.
    """
    program: str | None = None
    values: dict[str, str] = {}
    position = 0
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if token.startswith(PROGRAM_MARK):
            if program is not None and not program.startswith(PROGRAM_MARK):
                raise ValueInputError(f"two programs given: {program!r} and "
                                      f"{token[len(PROGRAM_MARK):]!r}")
            program = token
        elif token.startswith("--") and len(token) > 2:
            name, has_value, value = token[2:].partition("=")
            if not OPTION_SHAPED.fullmatch(name):
                raise ValueInputError(
                    f"{token} is neither an option nor --NAME VALUE",
                    hint="a program that starts with '-' goes after --, as in "
                    f'exprgraph eval -- "{token}" --x 1')
            if not has_value:
                following = tokens[position] if position < len(tokens) else None
                if following is None or (following.startswith("--") and len(following) > 2):
                    # `--stesp` alone: a mistyped flag more likely than a value.
                    raise ValueInputError(f"{token} needs a value",
                                          hint=f"write {token} VALUE, e.g. {token} 1; if it "
                                          "is meant as an option, check its spelling in --help",
                                          needs_value=name)
                value = tokens[position]
                position += 1
            _set_value(values, name, value, token)
        elif program is None:
            program = token
        else:
            raise ValueInputError(f"unexpected argument {token!r}",
                                  hint="quote the program as one argument, and give values "
                                  "as --NAME VALUE")
    for assignment in assignments:
        for part in _split_top_level(assignment):
            name, has_value, value = part.partition("=")
            if not has_value:
                raise ValueInputError(f"--set expects NAME=VALUE, got {part!r}")
            _set_value(values, name.strip(), value.strip(), "--set")
            if from_set is not None:
                from_set.add(name.strip())
    if program is None:
        raise ValueInputError("no program given", hint='exprgraph eval "(x+y)*z" --x 1 ...')
    program = program.removeprefix(PROGRAM_MARK)
    if program == "-":
        program = read_stdin().rstrip("\r\n")  # the text, not the last line's end
    return program, values


def _with_parse_hint(error: ValueInputError, text: str) -> ValueInputError:
    """`error` about a value, with the hint the same text gets in a program
    (`write 3 for ３`) where it has none."""
    if error.hint is None:
        try:
            compile_program(text)
        except ExprGraphError as parse_error:
            error.hint = parse_error.hint
    return error


# --NAME: a variable, or a mistyped option such as --learning-rate (refused later,
# by mistyped_options, with the options of the command at hand).
OPTION_SHAPED = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _set_value(values: dict[str, str], name: str, text: str, option: str) -> None:
    if not OPTION_SHAPED.fullmatch(name) or (option == "--set" and not name.isidentifier()):
        entry = f"{name}={text}" if option == "--set" else option
        why = "the name before '=' is missing" if not name else \
            f"{name!r} is not a variable name (names are ASCII letters, digits and _, " \
            "and do not start with a digit)"
        raise ValueInputError(f"--set {entry!r} does not name a variable: {why}"
                              if option == "--set" else f"{entry} does not name a variable: {why}",
                              hint="variable values are given as --NAME VALUE or --set NAME=VALUE")
    if name in values:
        raise ValueInputError(f"{name} is given two values")
    values[name] = text


def read_stdin() -> str:
    """Standard input as UTF-8 text, whatever the locale says (a byte that is
    not UTF-8 is a clear error, as in files); a closed stdin is empty input."""
    stream = sys.stdin
    if stream is None or stream.closed:
        raise ValueInputError("standard input is closed, so there is no program to read",
                              hint="give the program as an argument, or pipe it in")
    data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()
    try:
        # A byte-order mark opens some editors' UTF-8: dropped, as utf-8-sig does.
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ValueInputError(f"standard input: byte 0x{data[exc.start]:02X} at offset "
                              f"{exc.start} is not UTF-8 text", hint="send UTF-8 text") from None


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside parentheses: "x=max(1,2),y=3" -> two parts."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _fail(error: ExprGraphError, as_json: bool) -> NoReturn:
    """Report `error` (JSON on stdout, or text on stderr) and exit."""
    if error.details.get("missing") and error.details.get("variable"):
        # The core knows no command line; here the way to give a value is known.
        name = error.details["variable"]
        error.hint = (f"give it a value: --{name} VALUE (or --set {name}=VALUE), or "
                      f"`where {name}=...` after the program")
    if as_json:
        _print_json({"error": error.to_dict()})
    else:
        from ..render.errors import error_text

        _stderr().print(error_text(error))
    raise typer.Exit(error.exit_code)


def run() -> Any:
    """Entry point of the console script."""
    import signal

    # A closed pipe (`exprgraph batch ... | head -1`) ends us quietly, as it
    # ends other Unix tools, not with a traceback or exit status 1.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    code: Any = 0
    _stand_in_for_closed_streams()
    _fall_back_where_symbols_are_missing()
    try:
        app()
    except SystemExit as done:
        code = done.code
    except MemoryError:
        code = _out_of_memory()
    except OSError as error:
        if error.errno not in OUTPUT_FAILURES:
            raise
        _output_failed(error)
    try:  # what is still buffered must reach the file too, or it is a failure
        sys.stdout.flush()
    except OSError as error:
        if error.errno not in OUTPUT_FAILURES:
            raise
        _output_failed(error)
    sys.exit(code)


def _stand_in_for_closed_streams() -> None:
    """A closed standard error (`2>&-`) takes messages to nowhere, so the run ends
    with its own exit status; a closed standard output (`>&-`) can take no result,
    so the run ends at once as a failed write does (`>/dev/full`), exit 2."""
    import os

    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (open for the run)
    if sys.stdout is None:
        _output_failed(OSError(errno.EBADF, "standard output is closed"))


def _out_of_memory() -> int:
    """Say that the work ran out of memory (batch says it per problem); exit 1."""
    with contextlib.suppress(OSError):
        sys.stderr.write("error: ran out of memory: the program or the work asked of it is too "
                         "large for this machine\nhint: see 'Limits and hostile input' in the "
                         "README for the sizes that fit\n")
        sys.stderr.flush()
    return 1


# Errors of writing to a stream that has stopped taking output: a full disk or
# device, an I/O error, a file over its size or quota limit.
OUTPUT_FAILURES = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EPIPE}


def _output_failed(error: OSError) -> NoReturn:
    """Standard output or error stopped taking text: say so on stderr if it
    still takes it, and exit 2 (the output is incomplete, whatever the result)."""
    import os

    # Whatever is still buffered for the failed stream goes nowhere, so that
    # Python's own flush at exit does not fail a second time with a traceback.
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except OSError:
            with contextlib.suppress(OSError, ValueError):
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, stream.fileno())
                os.close(null)
                stream.flush()
    message = f"cannot write the output: {error.strerror or error}"
    with contextlib.suppress(OSError, ValueError):
        from ..render.errors import error_text

        _stderr().print(error_text(ValueInputError(message)))
        sys.stderr.flush()
    sys.exit(ValueInputError.exit_code)
