"""Training results: a table of steps, a loss curve in the terminal, an SVG plot.

The table never breaks or cuts a number: it is laid out at the width it is
drawn at. Every column fits: one table. Otherwise, with a few parameters, the
table comes in parts side by side no more (each part repeats the step
column); with many, the table holds step, loss and gradient norm only and the
parameters are left to the final point below it (and to the JSON output).

The rows are those the trajectory kept (every `--show-every`-th step and the
last, thinned further past `train.MAX_ROWS`); the curve and the plot draw the
trajectory's bounded curve (`train.CURVE_POINTS` points at most).

The terminal curve is a strip of block characters, one column per group of
steps, on a log scale when the loss spans more than two decades. The plot
file is SVG written here (no dependency); PNG needs matplotlib (the `plot`
extra) and says so when it is missing.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from ..core.errors import ValueInputError
from ..core.numbers import format_value
from ..core.numbers import six_digits as _short  # a training table has many columns
from ..printing.values import value_text
from ..tasks.train import Trajectory
from .files import check_writable, write_whole

BLOCKS = "▁▂▃▄▅▆▇█"
GRADIENT = "‖gradient‖"
# With more parameters than this, a table too wide for the terminal leaves
# them out rather than coming in many parts.
PARTS_AT_MOST = 12


def _scaled(losses: list[float]) -> tuple[list[float], bool]:
    """The losses on a log scale when they are positive and span > 100×."""
    positive = all(v > 0 for v in losses)
    if positive and max(losses) > 100 * min(losses):
        return [math.log10(v) for v in losses], True
    return losses, False


def sparkline(losses: list[float], width: int = 60, room: int | None = None) -> Text:
    """The loss curve as one line of blocks, with its range (on a line of its
    own when the line would be wider than `room`: never split mid-phrase)."""
    if not losses:
        return Text("")
    columns = min(width, len(losses))
    picked = [losses[int(k * (len(losses) - 1) / max(columns - 1, 1))] for k in range(columns)]
    values, log = _scaled(picked)
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    blocks = "".join(BLOCKS[min(7, int((v - low) / span * 7.999))] for v in values)
    scale = " (log scale)" if log else ""
    span_text = f"{format_value(losses[0])} → {format_value(losses[-1])}{scale}"
    line = Text.assemble(("loss ", "bold"), (blocks, "cyan"), f"  {span_text}")
    if room is None or line.cell_len <= room:
        return line
    return Text.assemble(("loss ", "bold"), (blocks, "cyan"), f"\n{span_text}")


class StepsTable:
    """Every `show_every`-th step (and the last): loss, parameters, ‖gradient‖,
    laid out for the width it is drawn at so that no number is broken (see
    the module). `left_out` says where the parameters of every step are when
    the table has to leave them out."""

    def __init__(self, trajectory: Trajectory, show_every: int, unit: str = "step",
                 left_out: str = "") -> None:
        steps = trajectory.steps
        shown = [s for k, s in enumerate(steps)
                 if not s.step % max(show_every, 1) or k == len(steps) - 1]
        self.columns: list[tuple[str, list[str]]] = [
            (unit, [str(s.step) for s in shown]),
            ("loss", [_short(s.loss) for s in shown]),
            *((f"‖{name}‖" if name in trajectory.tensors else name,
               [_short(s.params[name]) for s in shown]) for name in trajectory.params),
            (GRADIENT, [_short(s.grad_norm) for s in shown]),
        ]
        self.left_out = left_out
        self.thinned = ""
        if trajectory.every > max(show_every, 1):
            self.thinned = (f"a row every {trajectory.every:,} {unit}s: at most "
                            f"{trajectory.max_rows:,} rows are kept")

    @staticmethod
    def _width(column: tuple[str, list[str]]) -> int:
        header, cells = column
        return max(len(header), *(len(cell) for cell in cells))

    def _fits(self, columns: list[tuple[str, list[str]]], width: int) -> bool:
        return sum(self._width(c) + 3 for c in columns) + 1 <= width

    def parts(self, width: int) -> list[list[tuple[str, list[str]]]]:
        """The column groups to draw as tables at `width` (empty: too narrow)."""
        step, loss, *params, gradient = self.columns
        if self._fits(self.columns, width):
            return [self.columns]
        first = [step, loss, gradient]
        if not self._fits(first, width):
            return []
        if len(params) > PARTS_AT_MOST:
            return [first]
        parts = [first]
        for column in params:
            if not self._fits([*parts[-1], column], width):
                parts.append([step])
            parts[-1].append(column)
        return parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        parts = self.parts(options.max_width)
        if not parts:  # narrower than three numbers side by side: one line a step
            (unit, steps), *rest = self.columns
            for k, step in enumerate(steps):
                yield Text(f"{unit} {step}: " + ", ".join(
                    f"{name} = {cells[k]}" for name, cells in rest))
            if self.thinned:
                yield Text(self.thinned, style="dim")
            return
        for columns in parts:
            table = Table()
            for header, _ in columns:
                table.add_column(header, justify="right", no_wrap=True)
            for k in range(len(columns[0][1])):
                table.add_row(*(cells[k] for _, cells in columns))
            yield table
        drawn = {id(column) for part in parts for column in part}
        if any(id(column) not in drawn for column in self.columns):
            yield Text("the parameters are left out of the table to keep their numbers "
                       "whole" + (f"; {self.left_out}" if self.left_out else ""),
                       style="dim")
        if self.thinned:
            yield Text(self.thinned, style="dim")


def steps_table(trajectory: Trajectory, show_every: int, unit: str = "step",
                left_out: str = "") -> StepsTable:
    """Every `show_every`-th step (and the last), with loss, parameters, ‖∇‖."""
    return StepsTable(trajectory, show_every, unit, left_out)


class _Curve:
    """The sparkline, as wide as the terminal allows (at most 60 blocks)."""

    def __init__(self, losses: list[float]) -> None:
        self.losses = losses

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield sparkline(self.losses, width=max(10, min(60, options.max_width - 5)),
                        room=options.max_width)


class _Point:
    """`title: a = 1, b = 2; loss 3`, wrapped between the pairs only, so that
    a name stays on the line of its value."""

    def __init__(self, title: str, values: dict[str, Any], loss: float | None) -> None:
        pairs = [f"{k} = {value_text(v, one_line=True)}" for k, v in values.items()]
        self.items = [f"{pair}," for pair in pairs[:-1]] + pairs[-1:]
        if loss is not None:
            self.items[-1] += ";"
            self.items.append(f"loss {format_value(loss)}")
        self.title = title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines, line = [], f"{self.title}:"
        for item in self.items:
            if len(line) + 1 + len(item) > options.max_width and line.strip():
                lines.append(line)
                line = "  " + item
            else:
                line += " " + item
        lines.append(line)
        yield Text("\n".join(lines), overflow="fold")


def grew(losses: list[float]) -> bool:
    """Whether the loss went up from the first step to the last by more than
    nine times the first loss's size (tenfold, for a positive loss); a
    negative loss that falls further never counts."""
    if len(losses) < 2:
        return False
    first, last = losses[0], losses[-1]
    return last > first and last - first > 9 * abs(first)


def trajectory_view(trajectory: Trajectory, show_every: int, unit: str,
                    left_out: str = "") -> RenderableType:
    """The table, the curve and where training ended. `left_out` says where
    the parameters of every step are if the table cannot show them."""
    parts: list[RenderableType] = [steps_table(trajectory, show_every, unit, left_out)]
    losses = [loss for _, loss in trajectory.curve]
    parts.append(_Curve(losses))
    style = "bold red" if trajectory.diverged else "bold yellow" if trajectory.interrupted \
        else "bold"
    parts.append(Text(trajectory.message, style=style))
    if trajectory.diverged and trajectory.steps:
        last = trajectory.steps[-1]
        # A step keeps a vector's or matrix's norm, not its numbers: say so.
        shown = {(f"‖{k}‖" if k in trajectory.tensors else k): v for k, v in last.params.items()}
        parts.append(_Point(f"last point with a finite loss ({unit} {last.step})",
                            shown, last.loss))
    elif trajectory.final and not trajectory.diverged:
        parts.append(_Point("final", trajectory.final, trajectory.final_loss))
    if grew(losses) and not trajectory.diverged:
        parts.append(Text(f"the loss grew from {format_value(losses[0])} to "
                          f"{format_value(losses[-1])}: the learning rate may be too large",
                          style="yellow"))
    return Group(*parts)


def warning_text(message: str) -> Text:
    """A warning line: `warning:` in yellow, then the message (no markup)."""
    return Text.assemble(("warning:", "yellow"), " ", message)


def trajectory_data(trajectory: Trajectory, settings: dict[str, Any]) -> dict[str, Any]:
    """The trajectory as JSON-ready data."""
    return {
        **settings,
        "params": list(trajectory.params),
        **({"tensors": list(trajectory.tensors)} if trajectory.tensors else {}),
        "every": trajectory.every,
        "trajectory": [_step_data(s, trajectory.tensors) for s in trajectory.steps],
        # JSON has no inf or nan: a parameter that stopped being finite is null.
        "final": {k: _finite_data(v) for k, v in trajectory.final.items()},
        "final_loss": trajectory.final_loss,
        "stopped": trajectory.stopped,
        "message": trajectory.message,
    }


def _step_data(step: Any, tensors: tuple[str, ...]) -> dict[str, Any]:
    """One kept step: the numbers' values in `params`; for vector and matrix
    parameters their norms in `norms` (a step keeps no copy of them)."""
    data = {"step": step.step, "loss": step.loss,
            "params": {k: _finite_data(v) for k, v in step.params.items() if k not in tensors},
            "grad_norm": step.grad_norm}
    if tensors:
        data["norms"] = {k: _finite_data(step.params[k]) for k in tensors}
    return data


def _finite_data(value: Any) -> Any:
    """A parameter for JSON: a number or nested lists; null for inf or nan."""
    if hasattr(value, "tolist"):
        return [_finite_data(v) for v in value.tolist()] if value.ndim else \
            _finite_data(float(value))
    if isinstance(value, list):
        return [_finite_data(v) for v in value]
    return value if math.isfinite(value) else None


PLOT_SUFFIXES = (".svg", ".png")


def check_plot_path(path: str) -> None:
    """Raise `ValueInputError` ("cannot write PATH: why") unless a plot can be
    written to `path`: checked before training, so a long run is never lost
    to a typo in a folder name."""
    check_writable(path, "loss.svg")
    if Path(path).suffix.lower() not in PLOT_SUFFIXES:
        raise ValueInputError(f"cannot write {path}: a plot file must end in .svg or .png",
                              path=path)
    if Path(path).suffix.lower() == ".png" and importlib.util.find_spec("matplotlib") is None:
        raise ValueInputError(f"cannot write {path}: a PNG plot needs matplotlib, which is "
                              "not installed", path=path,
                              hint="install the plot extra (pip install 'exprgraph[plot]'), "
                              "or write an SVG file: loss.svg")


def write_plot(trajectory: Trajectory, path: str, unit: str) -> None:
    """The loss curve as an SVG file, or PNG through matplotlib.

    The file appears whole or not at all: it is written to a temporary file
    in the same folder and renamed over `path`."""
    check_plot_path(path)
    steps = [step for step, _ in trajectory.curve]
    losses = [loss for _, loss in trajectory.curve]
    if Path(path).suffix.lower() == ".svg":
        text = svg_plot(steps, losses, unit)
        write_whole(path, lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))
    else:
        write_whole(path, lambda temporary: _png_plot(steps, losses, unit, temporary))


def svg_plot(steps: list[int], losses: list[float], unit: str) -> str:
    """A line chart of the loss, as SVG text."""
    width, height, margin = 640, 360, 60
    values, log = _scaled(losses) if losses else ([], False)
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    span = (high - low) or 1.0
    first, last = (steps[0], steps[-1]) if steps else (0, 1)
    reach = (last - first) or 1

    def x(step: float) -> float:
        return margin + (step - first) / reach * (width - 2 * margin)

    def y(value: float) -> float:
        return height - margin - (value - low) / span * (height - 2 * margin)

    points = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in zip(steps, values, strict=True))
    label = "log10(loss)" if log else "loss"
    ticks = []
    for k in range(5):
        value = low + span * k / 4
        ticks.append(f'<text x="{margin - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
                     f"{value:.3g}</text>")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="Helvetica, sans-serif" font-size="12">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
            f'<line x1="{margin}" y1="{height - margin}" x2="{width - margin}" '
            f'y2="{height - margin}" stroke="black"/>\n'
            f'<line x1="{margin}" y1="{margin}" x2="{margin}" y2="{height - margin}" '
            f'stroke="black"/>\n'
            f'<polyline fill="none" stroke="#1d4ed8" stroke-width="2" points="{points}"/>\n'
            f"{''.join(ticks)}\n"
            f'<text x="{width / 2}" y="{height - 20}" text-anchor="middle">{unit}</text>\n'
            f'<text x="{margin - 6}" y="{margin - 14}" text-anchor="start">{label}</text>\n'
            f'<text x="{margin}" y="{height - margin + 16}">{first}</text>\n'
            f'<text x="{width - margin}" y="{height - margin + 16}" text-anchor="end">'
            f"{last}</text>\n</svg>\n")


def _png_plot(steps: list[int], losses: list[float], unit: str, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueInputError(f"cannot write {path}: a PNG plot needs matplotlib, which is "
                              "not installed",
                              hint="install the plot extra (pip install 'exprgraph[plot]'), "
                              "or write an SVG file: loss.svg") from None
    figure, axes = plt.subplots(figsize=(6.4, 3.6))
    try:
        axes.plot(steps, losses)
        if all(v > 0 for v in losses) and max(losses) > 100 * min(losses):
            axes.set_yscale("log")
        axes.set_xlabel(unit)
        axes.set_ylabel("loss")
        figure.tight_layout()
        # The temporary file's name ends in .png too, but say so: the format
        # must not depend on how the temporary file is named.
        figure.savefig(path, dpi=100, format="png")
    finally:
        plt.close(figure)
