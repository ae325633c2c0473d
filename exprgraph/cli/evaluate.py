"""The commands that compute from one program: `eval`, `diff` and `simplify`.

Each reads the program and its input values (`values.program_and_values`),
asks the core for the result and hands it to `render`; our errors are
reported by `@reports_errors`.
"""

# No `from __future__ import annotations`: Typer reads a command's parameters
# from its annotations, and as strings it compiles each one, twice per
# build (inspect.signature and get_type_hints), a millisecond of a one-shot
# `eval` (issue 17's start-up goal). Written as objects, they cost nothing then.

from typing import TYPE_CHECKING, Annotated, Any

import typer
from click.core import ParameterSource

from ..core.errors import MathError, ValueInputError
from ..core.limits import MAX_ORDER
from .application import values_command
from .errors import report_undefined, reports_errors
from .options import (
    DiffFormat,
    DiffFormatOption,
    OutputFormat,
    ProgramArgument,
    Values,
    ValuesOption,
    values_option,
)
from .output import print_json, stderr, stdout
from .values import print_warnings, program_and_values, seed_value, with_json_warnings

# The API and the symbolic layer are imported by the commands that run, not
# here: `exprgraph --help` imports every command module and runs none of them.
if TYPE_CHECKING:
    from ..api import Program


@values_command("eval")
@reports_errors
def eval_command(
    ctx: typer.Context,
    program: Annotated[str, typer.Argument(
        help="The program: an expression like \"(x+y)*z\", or statements such as "
        "\"p = x + y; g = p * z\" separated by ';' or new lines. '-' reads it from stdin.",
        show_default=False, metavar="PROGRAM")],
    assignments: Annotated[Values, values_option(
        "Input values, for names that clash with an option: --set format=2,x=1.")] = None,
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", help="table: Rich tables; json: one JSON object (keys in the README).",
        case_sensitive=False)] = OutputFormat.table,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=0, help="Rows per table at most; 0 shows all.")] = 100,
    steps: Annotated[bool, typer.Option(
        "--steps", help="Narrate the forward pass node by node and the backward pass edge "
        "by edge, as a student would write them.")] = False,
    full: Annotated[bool, typer.Option(
        "--full", help="Print every number of a vector or matrix (by default one with more "
        "than 6 numbers is summarised; JSON always has every number).")] = False,
    seed: Annotated[str | None, typer.Option(
        "--seed", metavar="VALUE", show_default=False,
        help="For a vector or matrix output: the upstream gradient ∂L/∂output, of the "
        "output's shape, e.g. \"[1, 0, 0]\". Default: the adjoints are of the sum of the "
        "output's elements.")] = None,
) -> None:
    """Evaluate a program: every node's value, every adjoint, the gradient.

    Give each input's value as [bold]--NAME VALUE[/bold] (or --NAME=VALUE); a value
    may be a number, a constant expression such as pi/2 or -3, a vector
    [bold]"[1, 2, 3]"[/bold] or a matrix [bold]"[[1, 2], [3, 4]]"[/bold]. A program that
    starts with '-' goes after --: [bold]exprgraph eval -- "-x^2" --x 3[/bold]

    Examples: [bold]exprgraph eval "(x+y)*z" --x 1 --y 3 --z -3[/bold];
    [bold]exprgraph eval "h = tanh(W @ x); L = sum(h^2)" --W "[[1, 2], [3, 4]]" --x "[1, -1]"[/bold]
    """
    as_json = output_format is OutputFormat.json
    compiled, values = program_and_values(ctx, program, assignments, warn_unused=False)
    # Every view (tables, JSON, --steps) shows what exists and marks the
    # undefined partials; the reason follows on stderr (or in the JSON).
    if seed is None:
        evaluation = compiled.evaluate_partially(values)
    else:
        evaluation = compiled.evaluate_seeded(values, seed_value(seed), partially=True)
        if not evaluation.is_tensor or evaluation.shapes is None or \
                evaluation.shapes[compiled.graph.output].is_scalar:
            raise ValueInputError("--seed is for a vector or matrix output; this output is "
                                  "a scalar", hint="the adjoints of a scalar output are "
                                  f"∂{compiled.output}/∂node already; leave --seed out")
    if as_json:
        from ..tasks.data import evaluation_data, steps_data

        data = evaluation_data(compiled, evaluation)
        if steps:
            data["steps"] = steps_data(compiled, evaluation)
        print_json(data)
    elif steps and evaluation.is_tensor:
        from ..render.check import tensor_steps_view
        from ..tasks.explain import tensor_backward_steps, tensor_forward_steps

        print_warnings(ctx, compiled, values)
        stdout().print(tensor_steps_view(tensor_forward_steps(compiled, evaluation),
                                         tensor_backward_steps(compiled, evaluation),
                                         compiled.output, evaluation.seed is not None, full))
    elif steps:
        from ..render.check import steps_view
        from ..tasks.explain import backward_steps, forward_steps

        stdout().print(steps_view(forward_steps(compiled, evaluation),
                                  backward_steps(compiled, evaluation), compiled.output,
                                  evaluation.gradient, evaluation.undefined_gradient))
    else:
        from ..render.tables import evaluation_tables

        print_warnings(ctx, compiled, values)
        stdout().print(evaluation_tables(compiled, evaluation, max_rows, full))
    if evaluation.undefined_gradient:
        report_undefined(evaluation, as_json)


@values_command("diff")
@reports_errors
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

    Vector and matrix programs get matrix notation.
    A gradient has its variable's shape.
    --wrt names a Jacobian's or Hessian's vector.
    Values in brackets: --at "x=[1, 2],A=[[1, 0], [0, 1]]".

    Examples:
    [bold]exprgraph diff "x^2*sin(x)"[/bold];
    [bold]exprgraph diff "x^3*y" --wrt x --wrt y[/bold];
    [bold]exprgraph diff "x^2*y + y^3" --hessian --at x=1,y=2[/bold];
    [bold]exprgraph diff "x: vector(n); A: matrix(n, n); f = x' @ A @ x" --wrt x[/bold]
    """
    as_json = output_format is DiffFormat.json
    if latex:
        given = ctx.get_parameter_source("output_format") is ParameterSource.COMMANDLINE
        if given and output_format is not DiffFormat.latex:
            raise ValueInputError(f"--latex and --format {output_format.value} ask for "
                                  "two formats", hint="give one of them")
        output_format = DiffFormat.latex
    kinds = [k for k, on in (("gradient", gradient), ("hessian", hessian),
                             ("jacobian", jacobian)) if on]
    if len(kinds) > 1:
        raise ValueInputError("choose one of --wrt, --gradient, --hessian and --jacobian")
    if order > 1 and wrt and len(wrt) > 1:
        raise ValueInputError(
            "--order repeats one variable; with several --wrt, list each step instead",
            hint="e.g. --wrt x --wrt x --wrt y for ∂³/∂y∂x²")
    compiled, values = program_and_values(ctx, program, assignments)
    if kinds and wrt and (compiled.scalar or kinds[0] == "gradient"):
        # With vectors, --wrt names the vector of a Jacobian or Hessian.
        raise ValueInputError("choose one of --wrt, --gradient, --hessian and --jacobian",
                              hint="--wrt with --hessian or --jacobian names the vector of "
                              "a program with vectors and matrices")
    result = compiled.diff(wrt or (), order=order, kind=kinds[0] if kinds else "derivative",
                           outputs=outputs or ())
    point = _point(compiled, values)
    if point is not None and any(e.index_form for e in result.entries):
        raise ValueInputError("an index form is not evaluated at a point: it holds for every "
                              "X, element by element", hint="leave out --at")
    results = _values_where_defined(compiled, [e.expression for e in result.entries], point)
    from ..render import derivatives as show

    if as_json:
        print_json(with_json_warnings(show.diff_data(compiled, result, point, results),
                                      ctx, compiled, values))
    elif output_format is DiffFormat.table:
        stdout().print(show.diff_tables(compiled, result, results))
    else:
        stdout().out(show.diff_lines(compiled, result, output_format is DiffFormat.latex,
                                     results), highlight=False)
    if results and any(isinstance(v, MathError) for v in results):
        raise typer.Exit(MathError.exit_code)


@values_command("simplify")
@reports_errors
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
    compiled, values = program_and_values(ctx, program, assignments)
    expr = compiled.output_expression(output)
    point = _point(compiled, values)
    (value,) = _values_where_defined(compiled, [expr], point) or (None,)
    from ..printing.values import plain
    from ..render import derivatives as show

    if as_json:
        data: dict[str, Any] = {"program": compiled.graph.source,
                                "output": output or compiled.output,
                                "expr": compiled.text(expr),
                                "latex": show.expression_latex(compiled, expr)}
        if point:
            data["at"] = {k: plain(v) for k, v in point.items()}
            data["value"] = None if isinstance(value, MathError) else plain(value)
            if isinstance(value, MathError):
                data["error"] = value.to_dict()
        print_json(with_json_warnings(data, ctx, compiled, values))
    elif output_format is DiffFormat.table:
        stdout().print(show.simplify_table(compiled, expr, value))
    elif output_format is DiffFormat.latex:
        stdout().out(show.expression_latex(compiled, expr), highlight=False)
    else:
        from ..render.derivatives import value_suffix

        stdout().out(compiled.text(expr) + value_suffix(value), highlight=False)
    if isinstance(value, MathError):
        # Tables, text and JSON already show why: say it once, exit 1.
        if output_format is DiffFormat.latex:
            from ..render.errors import error_text

            stderr().print(error_text(value))
        raise typer.Exit(value.exit_code)


def _values_where_defined(program: "Program", expressions: list[Any],
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
    if not program.scalar:
        return program.values_at(expressions, point)
    from ..symbolic.calculus import values_at

    return values_at(expressions, point)


def _point(program: "Program", values: dict[str, float]) -> dict[str, float] | None:
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


