"""A program's plan (`tasks.plan.Plan`) as Rich tables and as JSON-ready data.

`plan_view` returns the renderables `exprgraph plan` prints: the
optimisation's changes, the forward and backward schedules, the memory plan
and the checkpoint table. A long list (a level's operations, a critical path,
rows) is cut unless `full`, saying how many more there are. `plan_data`
returns the JSON document, with every list whole. Its keys (also in the
README):

- `program`, `output`: the program text and the output's name.
- `nodes_before`, `nodes_after`: nodes in the graph and in the optimised graph;
  `operations_written`, `operations_before`, `operations_after`: operations as
  written (each merged repeat too), in the graph, after optimisation.
- `changes`: `{kind, statements, nodes, line, column, reason}` per change;
  `kind` is `merged`, `folded`, `dead` or `simplified`, `statements` the names
  of the statements it touched.
- `levels` (lists of operation names; leaves are ready at the start and not
  listed), `width` (per level), `max_width`, `work` (operations), `span`
  (levels), `parallelism` (work/span, `null` without operations),
  `critical_path` (node names from a leaf to the output): the forward pass.
- `backward`: the same keys for the backward pass (one step per adjoint;
  the output's, the seed, is ready at the start; the path runs from the
  output down to an input).
- `peak_live`: `{written, best, training}`, values live at once: the forward
  pass in the written order and in the best order found, and forward +
  backward (written order). `order` is the best order (operation names),
  `order_heuristic` its name (`written`, `greedy` or `depth-first`), and
  `candidates` each heuristic's forward peak.
- `freed_after`: `{value: operation}`, the operation after which each input
  or operation value can be freed in the written order (`null`: the output,
  kept).
- `residuals`: `{operation: [values]}`, what each backward step reads of the
  forward pass (derived from the op table's derivative rules).
- `checkpoints`: `{k, stored, peak_live, recomputed, extra_cost_percent}` per
  row of the checkpoint table.
- Where the program has vectors or matrices of known sizes: `elements` and
  `bytes` (float64: 8 per element), each `{written, best, training}`, and
  `stored_elements`, `peak_elements` and `peak_bytes` in each checkpoint row.
  `notes` says where sizes are unknown.
- `check`, only with values: `{values, value, optimised_value, gradient,
  optimised_gradient, agree}` (or `missing`, the inputs without a value, or
  `error`, the program's math error at the values).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..core.ops import INPUT
from ..core.text import counted
from ..printing.values import plain, value_text
from ..tasks.plan import Change, CheckpointRow, Peak, Plan, Schedule
from .layout import never_cut

# Without --full: rows per table, names per cell, nodes of a critical path shown.
ROWS = 20
NAMES = 12
PATH = 12


# --- JSON --------------------------------------------------------------------------------


def plan_data(plan: Plan) -> dict[str, Any]:
    """The plan as one JSON-ready dict (keys in the module docstring)."""
    graph = plan.program.graph
    optimisation = plan.optimisation
    memory = plan.memory
    name = plan.name
    data: dict[str, Any] = {
        "program": graph.source,
        "output": graph.output_name,
        "nodes_before": optimisation.nodes_before,
        "nodes_after": optimisation.nodes_after,
        "operations_written": optimisation.operations_written,
        "operations_before": optimisation.operations_before,
        "operations_after": optimisation.operations_after,
        "changes": [_change_data(change) for change in optimisation.changes],
        **_schedule_data(plan, plan.forward),
        "backward": _schedule_data(plan, plan.backward),
        "peak_live": {"written": memory.peaks["written"].values,
                      "best": memory.peaks[memory.best].values,
                      "training": memory.training.values},
        "order": [name(i) for i in memory.best_order],
        "order_heuristic": memory.best,
        "candidates": {heuristic: peak.values for heuristic, peak in memory.peaks.items()},
        "freed_after": {name(value): None if after is None else name(after)
                        for value, after in memory.freed_after.items()},
        "residuals": {name(step): [name(v) for v in kept]
                      for step, kept in memory.residuals.items()},
        "checkpoints": [_checkpoint_data(row) for row in memory.checkpoints],
    }
    if memory.sizes is not None:
        peaks = (memory.peaks["written"], memory.peaks[memory.best], memory.training)
        data["elements"] = dict(zip(("written", "best", "training"),
                                    (p.elements for p in peaks), strict=True))
        data["bytes"] = {key: 8 * count for key, count in data["elements"].items()}
    if memory.sizes_note:
        data["notes"] = [memory.sizes_note]
    if plan.check is not None:
        data["check"] = _check_data(plan)
    return data


def _change_data(change: Change) -> dict[str, Any]:
    return {"kind": change.kind, "statements": list(change.statements),
            "nodes": list(change.nodes), "line": change.line, "column": change.column,
            "reason": change.reason}


def _schedule_data(plan: Plan, schedule: Schedule) -> dict[str, Any]:
    return {"levels": [[plan.name(i) for i in level] for level in schedule.levels],
            "width": list(schedule.width), "max_width": schedule.max_width,
            "work": schedule.work, "span": schedule.span,
            "parallelism": schedule.parallelism,
            "critical_path": [plan.name(i) for i in schedule.critical_path]}


def _checkpoint_data(row: CheckpointRow) -> dict[str, Any]:
    data: dict[str, Any] = {"k": row.k, "stored": row.stored.values,
                            "peak_live": row.peak.values, "recomputed": row.recomputed,
                            "extra_cost_percent": round(row.extra_cost, 1)}
    if row.peak.elements is not None:
        data["stored_elements"] = row.stored.elements
        data["peak_elements"] = row.peak.elements
        data["peak_bytes"] = 8 * row.peak.elements
    return data


def _check_data(plan: Plan) -> dict[str, Any]:
    check = plan.check
    assert check is not None
    data: dict[str, Any] = {"values": {k: plain(v) for k, v in check.values.items()}}
    if check.missing:
        data["missing"] = list(check.missing)
    elif check.error is not None:
        data["error"] = check.error.to_dict()
    else:
        data.update(value=plain(check.value), optimised_value=plain(check.optimised_value),
                    gradient={k: plain(v) for k, v in check.gradient.items()},
                    optimised_gradient={k: plain(v)
                                        for k, v in check.optimised_gradient.items()},
                    agree=check.agree)
    return data


# --- tables ------------------------------------------------------------------------------


def plan_view(plan: Plan, full: bool = False) -> RenderableType:
    """Every section of the plan as Rich renderables (long lists cut unless `full`)."""
    blank = Text("")
    return Group(*optimisation_view(plan, full), blank, *schedule_view(plan, full), blank,
                 *memory_view(plan, full), *check_view(plan))


def _note(text: str) -> Text:
    return Text(text, style="dim")


def _title(text: str) -> Text:
    return Text(text, style="bold")


def _cut(rows: Sequence[Any], full: bool, table: Table, what: str = "row") -> Sequence[Any]:
    """The first ROWS rows unless `full`, with a caption saying what is left out."""
    if full or len(rows) <= ROWS:
        return rows
    table.caption = (f"{counted(len(rows) - ROWS, 'more ' + what)} not shown: --full "
                     "shows all, --format json gives everything")
    table.caption_justify = "left"
    return rows[:ROWS]


def _names(names: Sequence[str], full: bool, limit: int = NAMES) -> str:
    """Names joined with commas, the first `limit` only unless `full`."""
    if full or len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", … {len(names) - limit:,} more"


def _path(names: Sequence[str], full: bool) -> str:
    """A chain of names joined by arrows, its middle left out unless `full`."""
    if full or len(names) <= PATH:
        return " → ".join(names)
    half = PATH // 2
    return " → ".join(names[:half]) + f" → … {len(names) - 2 * half:,} more … → " + \
        " → ".join(names[-half:])


def optimisation_view(plan: Plan, full: bool = False) -> list[RenderableType]:
    """The counts before and after, and each change with its reason."""
    optimisation = plan.optimisation
    counts = _note(
        f"Nodes: {optimisation.nodes_before:,} in the graph, {optimisation.nodes_after:,} "
        f"after optimisation. Operations: {optimisation.operations_written:,} as written, "
        f"{optimisation.operations_before:,} in the graph (repeats merged), "
        f"{optimisation.operations_after:,} after.")
    title = _title("1. Optimisation: merged, folded, dead, simplified")
    if not optimisation.changes:
        return [title, counts, _note("Nothing to change: no repeated operation, no constant "
                                     "to fold, no dead statement, no rule that applies.")]
    table = Table(title=None)
    table.add_column("change", style="bold")
    table.add_column("statement")
    table.add_column("where", justify="right")
    table.add_column("why")
    for change in _cut(optimisation.changes, full, table, "change"):
        where = f"{change.line}:{change.column}" if change.line else "—"
        table.add_row(change.kind, ", ".join(change.statements) or "—", where, change.reason)
    return [title, counts, never_cut(table)]


def schedule_view(plan: Plan, full: bool = False) -> list[RenderableType]:
    """The forward and the backward schedule: levels, critical path, work/span."""
    parts: list[RenderableType] = []
    for schedule, heading, ready, unit in (
            (plan.forward, "2. Schedule, forward pass: levels of operations",
             "inputs and constants are ready at the start", "operation"),
            (plan.backward, "2. Schedule, backward pass: levels of adjoint steps",
             "one step per adjoint, from the output down; the output's adjoint (the seed, "
             "1) is ready at the start", "step")):
        if parts:
            parts.append(Text(""))
        parts += [_title(heading), _note(ready)]
        if not schedule.levels:
            parts.append(_note("nothing to compute" if unit == "operation" else
                               "nothing to differentiate: no operation depends on an input"))
            continue
        table = Table(title=None)
        table.add_column("level", justify="right")
        table.add_column("width", justify="right")
        table.add_column(unit + "s")
        rows = list(enumerate(schedule.levels, start=1))
        for number, level in _cut(rows, full, table, "level"):
            table.add_row(str(number), f"{len(level):,}",
                          _names([plan.name(i) for i in level], full))
        parts.append(never_cut(table))
        path = [plan.name(i) for i in schedule.critical_path]
        parts.append(Text(f"critical path, {counted(schedule.span, unit)}: "
                          f"{_path(path, full)}"))
        assert schedule.parallelism is not None
        parts.append(Text(f"work {counted(schedule.work, unit)}, span "
                          f"{counted(schedule.span, 'level')}: parallelism work/span = "
                          f"{schedule.parallelism:.3g} (workers busy on average), at most "
                          f"{schedule.max_width:,} at once"))
    return parts


def _peak_text(peak: Peak) -> str:
    if peak.elements is None:
        return f"{peak.values:,}"
    return f"{peak.values:,} ({_elements(peak.elements)})"


def _elements(count: int) -> str:
    return f"{count:,} element{'' if count == 1 else 's'}, {_bytes(8 * count)}"


def _bytes(count: int) -> str:
    """Bytes in decimal units, as disks and NumPy's nbytes readers expect: 8,008 B is 8.01 kB."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} B"


HEURISTICS = {
    "written": "the program's own order",
    "greedy": "next, the ready operation that adds the fewest live values (its value "
              "and the inputs it loads, minus the values it is the last to read)",
    "depth-first": "post-order from the output, the deeper argument first",
}


def memory_view(plan: Plan, full: bool = False) -> list[RenderableType]:
    """Peaks by order, when each value is freed and what the backward pass
    keeps, the training peak and the checkpoint table."""
    memory = plan.memory
    graph = plan.program.graph
    unit = "values" if memory.sizes is None else "values (elements, bytes)"
    parts: list[RenderableType] = [
        _title("3. Memory: values live at once"),
        _note("A value is an input or an operation's result (constants are part of the "
              "program); an input is loaded just before its first use; a value is freed "
              "after the last step that reads it; the output is kept.")]
    if memory.sizes_note:
        parts.append(_note(memory.sizes_note[:1].upper() + memory.sizes_note[1:] + "."))
    orders = Table(title="Forward pass, by order", title_justify="left")
    orders.add_column("order", style="bold")
    orders.add_column(f"peak live {unit}", justify="right")
    for heuristic, peak in memory.peaks.items():
        orders.add_row(heuristic + (" (best)" if heuristic == memory.best else ""),
                       _peak_text(peak))
    parts.append(never_cut(orders))
    parts += [_note(f"{heuristic}: {how}.") for heuristic, how in HEURISTICS.items()
              if heuristic != "written"]

    rows = [i for i, node in enumerate(graph.nodes) if i in memory.freed_after]
    values = Table(title="Values: when freed, what backward keeps", title_justify="left")
    values.add_column("value", style="bold")
    values.add_column("op")
    values.add_column("freed after (written order)")
    values.add_column("its backward step keeps")
    for index in _cut(rows, full, values, "value"):
        node = graph.nodes[index]
        after = memory.freed_after[index]
        kept = memory.residuals.get(index)
        values.add_row(node.name, "input" if node.op is INPUT else node.op.name,
                       "kept: the output" if after is None else plan.name(after),
                       "— (no step)" if kept is None else
                       (_names([plan.name(i) for i in kept], full) or "nothing"))
    parts.append(never_cut(values))
    training = memory.training
    sized = "" if training.elements is None else f" ({_elements(training.elements)})"
    parts.append(Text(f"Training (forward, then backward in reverse order): peak "
                      f"{counted(training.values, 'live value')}{sized}, forward values and "
                      "adjoints; a residual lives until the last backward step that reads "
                      "it, an adjoint until its node's step (the gradient's are kept)."))
    if memory.checkpoints:
        parts.append(_checkpoint_table(memory.checkpoints))
    return parts


def _checkpoint_table(rows: Sequence[CheckpointRow]) -> RenderableType:
    table = Table(title="Checkpointing every k-th operation", title_justify="left")
    table.add_column("k", justify="right")
    table.add_column("stored", justify="right")
    table.add_column("peak live", justify="right")
    table.add_column("recomputed", justify="right")
    table.add_column("extra cost", justify="right")
    for row in rows:
        table.add_row(f"{row.k:,}", _peak_text(row.stored), _peak_text(row.peak),
                      f"{row.recomputed:,}", f"{row.extra_cost:.0f}%")
    table.caption = (
        "k = 1 stores what the backward pass reads, and the output. Otherwise the forward "
        "pass keeps each "
        "k-th value, the values later segments read, the inputs and the last segment; "
        "before the backward steps of a segment, the values they read are computed again "
        "from those. Extra cost: operations recomputed per operation of the forward pass.")
    table.caption_justify = "left"
    return never_cut(table)


def check_view(plan: Plan) -> list[RenderableType]:
    """What the given values showed about the optimised program."""
    check = plan.check
    if check is None:
        return []
    if check.missing:
        return [_note(f"The values given are used for shapes; to check the optimised "
                      f"program at them, give {', '.join(check.missing)} a value too.")]
    if check.error is not None:
        return [_note("The optimised program is not checked at the values given: the "
                      "program is undefined there (see below).")]
    graph = plan.program.graph
    at = ", ".join(f"{k} = {value_text(v, one_line=True)}" for k, v in check.values.items())
    if check.agree:
        return [Text(f"Check at {at}: the optimised program gives the same value and "
                     f"gradient: {graph.output_name} = "
                     f"{value_text(check.optimised_value, one_line=True)}.")]
    return [Text(f"Check at {at}: the optimised program gives a DIFFERENT value or "
                 f"gradient (a defect; please report it): {graph.output_name} = "
                 f"{_signed(check.value)} as written, "
                 f"{_signed(check.optimised_value)} optimised.", style="bold red")]


def _signed(value: object) -> str:
    """A value for the check's verdict, -0 shown as -0 (the sign can be the difference)."""
    if isinstance(value, float) and value == 0 and math.copysign(1.0, value) < 0:
        return "-0"
    return value_text(value, one_line=True)
