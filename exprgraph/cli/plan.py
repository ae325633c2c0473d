"""The `plan` command: what an optimiser, a scheduler and a memory planner
would do with a program's graph, each decision with its reason.

The analysis is `tasks.plan`; the tables and the JSON document are
`render.plan`'s.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ..core.errors import MathError
from .application import values_command
from .errors import reports_errors
from .options import OutputFormat, ProgramArgument, Values, values_option
from .output import print_json, stderr, stdout
from .values import program_and_values, with_json_warnings


@values_command("plan")
@reports_errors
def plan_command(
    ctx: typer.Context,
    program: ProgramArgument,
    assignments: Annotated[Values, values_option(
        "Input values (or --NAME VALUE), optional: they give vectors and matrices their "
        "sizes, and the optimised program is checked at them.")] = None,
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", help="table: Rich tables; json: one JSON object (keys in the README).",
        case_sensitive=False)] = OutputFormat.table,
    full: Annotated[bool, typer.Option(
        "--full", help="Show every row, level and name (by default a long list shows its "
        "first part and how many more there are; JSON always has everything).")] = False,
) -> None:
    """Plan a program: optimisation, parallel schedule, memory.

    Common subexpressions merged, constants folded, dead statements removed and
    algebraic simplifications applied, each with its reason; the forward and
    backward passes by levels, with the critical path and work/span; when each
    value can be freed, the peak of live values in the written and the best
    order found, what the backward pass keeps, and what checkpointing saves.

    Example: [bold]exprgraph plan "a = (x+y)*(x+y); b = 2*3; c = a*1 + b"[/bold]
    """
    from ..render.plan import plan_data, plan_view
    from ..tasks.plan import plan

    as_json = output_format is OutputFormat.json
    compiled, values = program_and_values(ctx, program, assignments)
    result = plan(compiled, values)
    if as_json:
        data = with_json_warnings(plan_data(result), ctx, compiled, values)
        data.setdefault("warnings", [])  # always present, as in eval's JSON
        print_json(data)
    else:
        stdout().print(plan_view(result, full))
    if result.check is not None and result.check.agree is False:
        # The optimisation changed the result: a defect, and never a success.
        raise typer.Exit(1)
    error = result.check.error if result.check is not None else None
    if error is not None:
        # The plan stands; the values are where the program is undefined.
        if not as_json:
            from ..render.errors import error_text

            stderr().print(error_text(error))
        raise typer.Exit(MathError.exit_code)
