"""Check reports and step-by-step passes as Rich renderables."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..check import CORRECT, ERROR, INCORRECT, Report
from ..evaluate import format_value
from ..explain import BackwardStep, ForwardStep, step_text
from .batch import error_text

_STYLE = {CORRECT: "green", INCORRECT: "bold red", "undecided": "yellow", ERROR: "bold red"}
_MARK = {CORRECT: "✓ correct", INCORRECT: "✗ incorrect", "undecided": "? undecided",
         ERROR: "! error"}


def report_view(report: Report) -> RenderableType:
    """A problem's answers in a table, then how each wrong one is obtained."""
    title = Text(report.source, style="bold")
    if report.error is not None:
        return Group(title, Text("  " + error_text(report.error), style="red"), Text(""))
    title.append(f"\nscore {report.correct}/{len(report.verdicts)}",
                 style="green" if report.correct == len(report.verdicts) else "yellow")
    table = Table()
    table.add_column("answer", style="bold")
    table.add_column("given")
    table.add_column("right")
    table.add_column("verdict")
    for verdict in report.verdicts:
        table.add_row(verdict.key, verdict.given, verdict.expected,
                      Text(_MARK[verdict.verdict], style=_STYLE[verdict.verdict]))
    notes = []
    for verdict in report.verdicts:
        if verdict.verdict != CORRECT and verdict.explanation:
            notes.append(Text(f"{verdict.key}:", style=_STYLE[verdict.verdict]))
            for line in verdict.explanation.splitlines():
                notes.append(Text(f"    {line}"))
    return Group(title, table, *notes, Text(""))


def steps_view(forward: list[ForwardStep], backward: list[BackwardStep], output: str,
               gradient: dict[str, float]) -> RenderableType:
    """The forward pass node by node, the backward pass edge by edge."""
    lines: list[Text] = [Text("Forward pass: each node from its arguments", style="bold")]
    for step in forward:
        lines.append(Text(f"  {step.name} = {step.expression} = {step.substituted} = "
                          f"{format_value(step.value)}"))
    lines.append(Text(f"Backward pass: ∂{output}/∂node, summed over the node's uses",
                      style="bold"))
    for backward_step in backward:
        lines.append(Text(f"  {step_text(backward_step, output)}"))
    lines.append(Text("Gradient: " + ", ".join(f"∂{output}/∂{k} = {format_value(v)}"
                                               for k, v in gradient.items()), style="bold"))
    return Group(*lines)
