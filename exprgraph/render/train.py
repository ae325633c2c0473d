"""Training results: a table of steps, a loss curve in the terminal, an SVG plot.

The terminal curve is a strip of block characters, one column per group of
steps, on a log scale when the loss spans more than two decades. The plot
file is SVG written here (no dependency); PNG needs matplotlib (the `plot`
extra) and says so when it is missing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..errors import ValueInputError
from ..evaluate import format_value
from ..train import Trajectory
from .layout import never_cut

BLOCKS = "▁▂▃▄▅▆▇█"


def _scaled(losses: list[float]) -> tuple[list[float], bool]:
    """The losses on a log scale when they are positive and span > 100×."""
    positive = all(v > 0 for v in losses)
    if positive and max(losses) > 100 * min(losses):
        return [math.log10(v) for v in losses], True
    return losses, False


def sparkline(losses: list[float], width: int = 60) -> Text:
    """The loss curve as one line of blocks, with its range."""
    if not losses:
        return Text("")
    columns = min(width, len(losses))
    picked = [losses[int(k * (len(losses) - 1) / max(columns - 1, 1))] for k in range(columns)]
    values, log = _scaled(picked)
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    blocks = "".join(BLOCKS[min(7, int((v - low) / span * 7.999))] for v in values)
    scale = " (log scale)" if log else ""
    return Text.assemble(("loss ", "bold"), (blocks, "cyan"),
                         f"  {format_value(losses[0])} → {format_value(losses[-1])}{scale}")


def steps_table(trajectory: Trajectory, show_every: int, unit: str = "step") -> Table:
    """Every `show_every`-th step (and the last), with loss, parameters, ‖∇‖."""
    table = Table(title_justify="left")
    table.add_column(unit, justify="right")
    table.add_column("loss", justify="right")
    for name in trajectory.params:
        table.add_column(name, justify="right")
    table.add_column("‖gradient‖", justify="right")
    steps = trajectory.steps
    for k, step in enumerate(steps):
        if step.step % max(show_every, 1) and k != len(steps) - 1:
            continue
        table.add_row(str(step.step), _short(step.loss),
                      *(_short(step.params[n]) for n in trajectory.params),
                      _short(step.grad_norm))
    return never_cut(table)


def _short(value: float) -> str:
    """6 significant digits: a training table has many columns."""
    return f"{value:.6g}"


def trajectory_view(trajectory: Trajectory, show_every: int, unit: str) -> RenderableType:
    """The table, the curve and where training ended."""
    parts: list[RenderableType] = [steps_table(trajectory, show_every, unit)]
    losses = [s.loss for s in trajectory.steps]
    parts.append(sparkline(losses))
    style = "bold red" if trajectory.diverged else "bold"
    parts.append(Text(trajectory.message, style=style))
    if trajectory.final:
        final = ", ".join(f"{k} = {format_value(v)}" for k, v in trajectory.final.items())
        loss = f"; loss {format_value(trajectory.final_loss)}" \
            if trajectory.final_loss is not None else ""
        parts.append(Text(f"final: {final}{loss}"))
    if len(losses) > 1 and losses[-1] > 10 * losses[0] and not trajectory.diverged:
        parts.append(Text("the loss grew tenfold: the learning rate may be too large",
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
        "trajectory": [{"step": s.step, "loss": s.loss, "params": s.params,
                        "grad_norm": s.grad_norm} for s in trajectory.steps],
        "final": trajectory.final,
        "final_loss": trajectory.final_loss,
        "stopped": trajectory.stopped,
        "message": trajectory.message,
    }


PLOT_SUFFIXES = (".svg", ".png")


def check_plot_path(path: str) -> None:
    """Raise `ValueInputError` ("cannot write PATH: why") unless a plot can be
    written to `path`: checked before training, so a long run is never lost
    to a typo in a folder name."""
    target = Path(path)
    suffix = target.suffix.lower()
    if target.is_dir():
        raise ValueInputError(f"cannot write {path}: it is a folder", path=path,
                              hint="name a file in it, such as loss.svg")
    if suffix not in PLOT_SUFFIXES:
        raise ValueInputError(f"cannot write {path}: a plot file must end in .svg or .png",
                              path=path)
    folder = target.parent
    if not folder.exists():
        raise ValueInputError(f"cannot write {path}: the folder {folder} does not exist",
                              path=path)
    if not folder.is_dir():
        raise ValueInputError(f"cannot write {path}: {folder} is not a folder", path=path)
    # The file is written beside its final place and then renamed (see
    # _replace), so the folder must be writable even when the file exists.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueInputError(f"cannot write {path}: no permission to write in {folder}",
                              path=path)
    if target.exists() and not os.access(target, os.W_OK):
        raise ValueInputError(f"cannot write {path}: the file is read-only", path=path)
    if suffix == ".png" and importlib.util.find_spec("matplotlib") is None:
        raise ValueInputError(f"cannot write {path}: a PNG plot needs matplotlib, which is "
                              "not installed", path=path,
                              hint="install the plot extra (pip install 'exprgraph[plot]'), "
                              "or write an SVG file: loss.svg")


def write_plot(trajectory: Trajectory, path: str, unit: str) -> None:
    """The loss curve as an SVG file, or PNG through matplotlib.

    The file appears whole or not at all: it is written to a temporary file
    in the same folder and renamed over `path`."""
    check_plot_path(path)
    losses = [s.loss for s in trajectory.steps]
    steps = [s.step for s in trajectory.steps]
    if Path(path).suffix.lower() == ".svg":
        text = svg_plot(steps, losses, unit)
        _replace(path, lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))
    else:
        _replace(path, lambda temporary: _png_plot(steps, losses, unit, temporary))


def _replace(path: str, write: Callable[[str], None]) -> None:
    """Run `write` on a temporary file beside `path`, then rename it to `path`;
    on any failure remove the temporary file and leave `path` untouched."""
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix,
                                             dir=target.parent)
    except OSError as exc:
        raise ValueInputError(f"cannot write {path}: {exc.strerror or exc}", path=path
                              ) from None
    os.close(handle)
    try:
        os.chmod(temporary, _file_mode(target))
        write(temporary)
        os.replace(temporary, target)
    except OSError as exc:
        _remove(temporary)
        raise ValueInputError(f"cannot write {path}: {exc.strerror or exc}", path=path
                              ) from None
    except BaseException:
        _remove(temporary)
        raise


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _file_mode(target: Path) -> int:
    """The mode the file would get if opened normally: an existing file's own,
    else 0o666 less the umask (mkstemp's files are private, 0o600)."""
    if target.exists():
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


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
