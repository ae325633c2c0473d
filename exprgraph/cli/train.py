"""The training commands: `descend` (gradient descent on a program) and `fit` (to CSV data).

Both share their settings (`--lr`, `--momentum`, `--until`, `--show-every`,
`--plot`, `--format`), declared once here, a progress bar on a terminal and
the way the trajectory is shown; Ctrl-C stops a run and shows what it reached.
"""

from __future__ import annotations

from typing import Annotated, Any

import click
import typer
from click.core import ParameterSource

from ..core.errors import ExprGraphError, MathError, ValueInputError
from .application import PROGRAM_MARK, ProgramCommand, app, values_command
from .errors import reports_errors
from .options import OutputFormat, Values, values_option
from .output import print_json, stderr, stdout, warn
from .values import program_and_values, read_stdin

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
            warn(f"{option} {underflow_message(text)}")
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
InitOption = Annotated[str, typer.Option(
    "--init", metavar="KIND",
    help="Start values of parameters declared as vectors or matrices (W: matrix(3, 2)) "
    "that are given none: zeros, normal:STD, uniform:A or xavier, drawn with --seed.")]
TrainingFormatOption = Annotated[OutputFormat, typer.Option(
    "--format", case_sensitive=False,
    help="table: steps, a loss curve and the end; json: the trajectory's rows.")]


@values_command("descend")
@reports_errors
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
    assignments: Annotated[Values, values_option("The start point (or --NAME VALUE).")] = None,
    lr: LrOption = 0.1,
    momentum: MomentumOption = 0.0,
    until: UntilOption = None,
    show_every: ShowEveryOption = 0,
    plot: PlotOption = None,
    init: InitOption = "normal:0.1",
    seed: Annotated[int, typer.Option(
        "--seed", min=0, help="Seed of --init's random start values.")] = 0,
    output_format: TrainingFormatOption = OutputFormat.table,
) -> None:
    """Gradient descent: minimise a program over its inputs from a start point.

    A start value may be a vector "[1, 2]" or a matrix "[[1, 2], [3, 4]]"; a
    parameter declared as one (W: matrix(2, 2)) and given none starts from --init.

    Example: [bold]exprgraph descend "(x-3)^2 + (y+1)^2" --x 0 --y 0 --lr 0.1 --steps 100[/bold]
    """
    from ..render import train as show
    from ..tasks import train

    as_json = output_format is OutputFormat.json
    compiled, start = program_and_values(ctx, program, assignments)
    chosen = train.parse_params(params or [])
    for name, value in chosen.items():
        if value is None:
            continue
        if name in start and not _same(start[name], value):
            from ..printing.values import value_text

            shown = value_text(value, full=True, one_line=True)
            raise ValueInputError(f"{name} is given two start values: {shown} in "
                                  f"--params and "
                                  f"{value_text(start[name], full=True, one_line=True)}",
                                  hint=f"give it once: --params {name}={shown}")
        start[name] = value
    if params and not chosen:
        raise ValueInputError("--params names no inputs",
                              hint="name the inputs to move: --params " +
                              ",".join(compiled.inputs or ("x",)))
    names = list(chosen) or list(compiled.inputs)
    init_kind = train.parse_init(init)
    declared = [n for n in names if n not in start and n in compiled.graph.declarations
                and not compiled.graph.declarations[n].is_scalar]
    if declared:
        start.update(train.initial_values(compiled, declared, start, init_kind, seed))
    _say_unused_init(ctx, bool(declared), init_kind)
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
                                "momentum": momentum},
                   every if kept is None else trajectory.every, "step", plot, as_json)


def _same(a: Any, b: Any) -> bool:
    """Whether two start values (numbers or arrays) are equal."""
    if hasattr(a, "shape") or hasattr(b, "shape"):
        import numpy as np

        return bool(np.shape(a) == np.shape(b) and np.array_equal(a, b))
    return bool(a == b)


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
@reports_errors
def fit_command(
    ctx: typer.Context,
    program: Annotated[str, typer.Argument(
        help="A per-row loss such as \"(w*x + b - y)^2\", or a model with --loss and "
        "--target; '-' reads it from stdin.", show_default=False, metavar="PROGRAM")],
    data: Annotated[str, typer.Option(
        "--data", metavar="FILE.csv", show_default=False,
        help="CSV with a header row ('-': stdin); its columns bind the program's data "
        "inputs, other columns are ignored.")],
    params: Annotated[list[str], typer.Option(
        "--params", metavar="w=0,b=0", show_default=False,
        help="The parameters to fit and their start values: w=0,b=0 or "
        "W=[[1, 0], [0, 1]],b=[0, 0] (default: 0, or --init for a declared vector or "
        "matrix).")],
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
        help="Seed of the mini-batch shuffle (with --batch-size) and of --init's random "
        "start values (default 0).")] = None,
    lr: LrOption = 0.01,
    momentum: MomentumOption = 0.0,
    until: UntilOption = None,
    show_every: ShowEveryOption = 0,
    plot: PlotOption = None,
    columns_spec: Annotated[list[str] | None, typer.Option(
        "--columns", metavar="NAME=COL,COL", show_default=False,
        help="Make a vector input NAME of several columns, in that order (repeatable): "
        "--columns x=a,b,c.")] = None,
    init: InitOption = "normal:0.1",
    accuracy: Annotated[str | None, typer.Option(
        "--accuracy", metavar="NODE=COLUMN", show_default=False,
        help="After training, the share of rows classified right: the largest element of "
        "node NODE where COLUMN (one-hot) has its 1, or for numbers both on one side of "
        "0.5.")] = None,
    output_format: TrainingFormatOption = OutputFormat.table,
) -> None:
    """Fit parameters to data: the loss averaged over the rows, by gradient descent.

    Parameters declared as vectors or matrices (W: matrix(8, 4)) start from --init;
    --columns builds vector inputs from several CSV columns.

    Example: [bold]exprgraph fit "(w*x + b - y)^2" --data samples/fit/line.csv
    --params w=0,b=0 --lr 0.1 --epochs 200[/bold]
    """
    from ..render import train as show
    from ..tasks import train

    as_json = output_format is OutputFormat.json
    train.check_loss(loss)  # a bad value before how the options combine
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
    from ..api import compile as compile_program

    compiled = compile_program(read_stdin() if program == "-" else program)
    chosen = train.parse_params(params)
    groups = train.group_columns(columns_spec or [])
    accuracy_pair = _accuracy_pair(accuracy)
    init_kind = train.parse_init(init)
    grouped = {c for cs in groups.values() for c in cs}
    used = {*compiled.inputs, *([target] if target else []), *grouped} - set(groups)
    if accuracy_pair:
        used.add(accuracy_pair[1])
    used -= set(groups)
    columns, rows = train.parse_csv(read_stdin(), "stdin", used) if data == "-" \
        else train.read_csv(data, used)
    for name in groups:
        if name in chosen:
            raise ValueInputError(f"{name} is made of columns (--columns), so it cannot also "
                                  "be a parameter", variable=name)
        if name not in compiled.inputs and name not in (target, *(accuracy_pair or ())):
            warn(show_warning(f"--columns {name}=...: the program does not use {name}"))
    columns = train.stack_columns(columns, groups)
    row_shapes = {name: _row_shape(column) for name, column in columns.items()}
    given = {k: v for k, v in chosen.items() if v is not None}
    starts = train.initial_values(compiled, list(chosen), given, init_kind, seed or 0,
                                  row_shapes)
    randomised = any(hasattr(v, "ndim") and k not in given for k, v in starts.items())
    criteria = [train.parse_criterion(c) for c in until or []]
    if plot is not None:
        show.check_plot_path(plot)  # before training: a typo must not cost a long run
    notes = []
    if batch_size and batch_size >= rows:
        notes.append(f"--batch-size {batch_size} is not smaller than the {rows} rows of "
                     f"the data: every step uses all rows" +
                     (", so --seed has no effect" if seed is not None else ""))
    elif seed is not None and not batch_size and (not randomised or init_kind[0] == "zeros"):
        notes.append("--seed has no effect without --batch-size or random start values: "
                     "every step uses all rows, in order")
    if not randomised and ctx.get_parameter_source("init") is ParameterSource.COMMANDLINE:
        notes.append("--init has no effect: no parameter is a declared vector or matrix "
                     "without a start value")
    for note in notes:
        warn(show.warning_text(note))  # `warning:` alone in yellow, as before
    every, kept = _rows_kept(show_every, epochs, bool(criteria), as_json)
    with _training_progress(epochs, "epochs", as_json) as advance:
        trajectory = train.fit(compiled, columns, rows, starts, lr, epochs, loss=loss,
                               target=target, batch_size=batch_size, momentum=momentum,
                               until=criteria, seed=seed or 0, on_epoch=advance,
                               every=every, max_rows=kept)
    settings: dict[str, Any] = {"program": compiled.graph.source, "data": data,
                                "rows": rows, "lr": lr, "momentum": momentum,
                                "loss": loss, "target": target, "batch_size": batch_size}
    if groups:
        settings["columns"] = groups
    if any(hasattr(v, "ndim") for v in starts.values()):
        settings["init"] = init
        settings["seed"] = seed or 0
    if accuracy_pair and not trajectory.diverged:
        right, total = train.accuracy(compiled, columns, trajectory.final, *accuracy_pair)
        settings["accuracy"] = {"node": accuracy_pair[0], "column": accuracy_pair[1],
                                "right": right, "rows": total, "share": right / total}
    _show_training(trajectory, settings,
                   every if kept is None else trajectory.every, "epoch", plot, as_json)


def _say_unused_init(ctx: typer.Context, randomised: bool, init: tuple[str, float]) -> None:
    """Warn where descend's --init or --seed, typed, changes nothing."""
    typed = {name for name in ("init", "seed")
             if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE}
    if "init" in typed and not randomised:
        warn(show_warning("--init has no effect: no parameter is a declared vector or "
                          "matrix without a start value"))
    if "seed" in typed and (not randomised or init[0] == "zeros"):
        warn(show_warning("--seed has no effect: no start value is drawn at random"))


def show_warning(message: str) -> Any:
    from ..render import train as show

    return show.warning_text(message)


def _accuracy_pair(text: str | None) -> tuple[str, str] | None:
    """`--accuracy NODE=COLUMN` as (node, column)."""
    if text is None:
        return None
    node, has_equals, column = text.partition("=")
    if not has_equals or not node.strip() or not column.strip():
        raise ValueInputError(f"--accuracy {text!r} is not NODE=COLUMN",
                              hint="e.g. --accuracy z=y: the output z against the one-hot "
                              "column y")
    return node.strip(), column.strip()


def _row_shape(column: Any) -> Any:
    """One row's shape of a data column (a vector for stacked --columns)."""
    from ..core.shapes import SCALAR, vector

    return vector(column.shape[1]) if getattr(column, "ndim", 1) > 1 else SCALAR


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
        if not quiet and stderr().is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.progress = Progress(TextColumn(unit), BarColumn(), MofNCompleteColumn(),
                                     console=stderr(), transient=True)

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
        print_json(data)
        if failed is not None:
            raise typer.Exit(failed.exit_code)
    else:
        stdout().print(show.trajectory_view(
            trajectory, show_every, unit, left_out="--format json has every step's values"))
        if "accuracy" in settings:
            found = settings["accuracy"]
            stdout().print(f"training accuracy {found['share']:.1%} ({found['right']} of "
                           f"{found['rows']} rows: {found['node']} against "
                           f"{found['column']})", style="bold", highlight=False)
        if plot is not None:
            show.write_plot(trajectory, plot, unit)
    if trajectory.diverged:
        raise typer.Exit(MathError.exit_code)
    if trajectory.interrupted:
        raise typer.Exit(130)  # as a shell reports a command ended by Ctrl-C

