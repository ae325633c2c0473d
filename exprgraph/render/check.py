"""Check reports and step-by-step passes as Rich renderables."""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from ..check import CORRECT, ERROR, INCORRECT, FileScore, Report
from ..evaluate import format_value
from ..explain import BackwardStep, ForwardStep, bar, legend, step_text
from .batch import error_text
from .layout import never_cut

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
                notes.append(Hanging(line, 4))
    return Group(title, never_cut(table), *notes, Text(""))


def steps_view(forward: list[ForwardStep], backward: list[BackwardStep], output: str,
               gradient: dict[str, float]) -> RenderableType:
    """The forward pass node by node, the backward pass edge by edge."""
    lines: list[RenderableType] = [Text("Forward pass: each node from its arguments",
                                        style="bold")]
    for step in forward:
        lines.append(Hanging(f"{step.name} = {step.expression} = {step.substituted} = "
                             f"{format_value(step.value)}", 2))
    lines.append(Hanging(f"Backward pass: adjoints from {bar(output)} = 1 down, by the "
                         "chain rule", 0, style="bold"))
    edges = any(len({t.user for t in b.terms}) < len(b.terms) for b in backward)
    lines.append(Hanging(f"({legend(output, edges)})", 2, style="dim"))
    for backward_step in backward:
        lines.append(Hanging(step_text(backward_step, output), 2))
    lines.append(Hanging("Gradient: " + ", ".join(f"∂{output}/∂{k} = {format_value(v)}"
                                                  for k, v in gradient.items()), 0,
                         style="bold"))
    return Group(*lines)


class Hanging:
    """A line of maths indented by `indent`, wrapped to the width at spaces
    (before ` = ` and ` + ` where it can) with continuation lines indented
    further; never cut off. A word wider than the line is folded."""

    def __init__(self, text: str, indent: int, style: str = "") -> None:
        self.text, self.indent, self.style = text, indent, style

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> Iterator[Segment]:
        for line in wrap_hanging(self.text, options.max_width, self.indent):
            yield Segment(line, console.get_style(self.style) if self.style else None)
            yield Segment.line()


def wrap_hanging(text: str, width: int, indent: int) -> list[str]:
    """`text` in lines of at most `width` cells: the first indented by `indent`,
    the others by `indent + 4`; breaks at spaces, a too-long word folded."""
    first, rest = " " * indent, " " * (indent + 4)
    width = max(width, len(rest) + 8)
    lines: list[str] = []
    current = first
    for word in text.split(" "):
        prefix = current if current.strip() == "" else current + " "
        if cell_len(prefix + word) <= width:
            current = prefix + word
            continue
        if current.strip():
            lines.append(current)
            current = rest + word
        else:
            current = prefix + word
        while cell_len(current) > width:  # one word wider than the line
            cut = width
            while cell_len(current[:cut]) > width:
                cut -= 1
            lines.append(current[:cut])
            current = rest + current[cut:]
    lines.append(current)
    return lines


def summary_lines(scores: list[FileScore], several: bool) -> list[Text]:
    """The score of each file (when there are `several`), then the overall one:
    `3 problems, 11/13 answers correct`."""
    lines = []
    for score in scores if several else []:
        line = Text(f"{score.path}: ")
        if score.unreadable:
            line.append("could not be read", style="bold red")
            lines.append(line)
            continue
        if score.no_answers:
            line.append("no answers", style="yellow")
        else:
            line.append(f"{score.correct}/{score.total} answers correct",
                        style="green" if score.correct == score.total else "yellow")
            line.append(f" in {_count(score.problems, 'problem')}")
        if score.errors:
            line.append(f", {_count(score.errors, 'error')}", style="bold red")
        if score.unanswered and not score.no_answers:
            line.append(f", {_count(len(score.unanswered), 'problem')} without answers "
                        f"({', '.join(score.unanswered)})", style="yellow")
        lines.append(line)
    problems = sum(s.problems for s in scores)
    unreadable = sum(s.unreadable for s in scores)
    correct = sum(s.correct for s in scores)
    total = sum(s.total for s in scores)
    overall = Text(f"{_count(problems, 'problem')}, {correct}/{total} answers correct")
    if several:
        overall.append(f" in {_count(len(scores), 'file')}")
    errors = sum(s.errors for s in scores) - unreadable
    if unreadable:
        overall.append(f", {_count(unreadable, 'file')} unreadable", style="bold red")
    if errors:
        overall.append(f", {_count(errors, 'error')}", style="bold red")
    lines.append(overall)
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
