"""Check reports and step-by-step passes as Rich renderables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from ..core.numbers import table_value
from ..tasks.check import CORRECT, ERROR, INCORRECT, FileScore, Report, Verdict
from ..tasks.explain import (
    BackwardStep,
    ForwardStep,
    TensorBackwardStep,
    TensorForwardStep,
    bar,
    legend,
    step_text,
)
from .batch import FILE_FAULTS, OTHER_FAULT
from .errors import error_line

_STYLE = {CORRECT: "green", INCORRECT: "bold red", "undecided": "yellow", ERROR: "bold red"}
_MARK = {CORRECT: "✓ correct", INCORRECT: "✗ incorrect", "undecided": "? undecided",
         ERROR: "! error"}


def report_view(report: Report) -> RenderableType:
    """A problem's answers in a table, then how each wrong one is obtained."""
    title = Text(report.source, style="bold")
    if report.error is not None:
        return Group(title, Text("  " + error_line(report.error), style="red"), Text(""))
    title.append(f"\nscore {report.correct}/{len(report.verdicts)}",
                 style="green" if report.correct == len(report.verdicts) else "yellow")
    notes: list[RenderableType] = []
    for verdict in report.verdicts:
        if verdict.verdict != CORRECT and verdict.explanation:
            notes.append(Text(f"{verdict.key}:", style=_STYLE[verdict.verdict]))
            for line in verdict.explanation.splitlines():
                notes.append(Hanging(line, 4))
    return Group(title, AnswerTable(report.verdicts), *notes, Text(""))


class AnswerTable:
    """The answers of a problem as a table, laid out for the width at hand:
    keys and verdicts whole, and a given or right answer too long for its
    column whole moved below the table as a numbered note (`see [1]`), so no
    formula or number is cut off or folded across a cell."""

    HEADERS = ("answer", "given", "right", "verdict")
    FRAME = 13  # the borders and padding of a four-column table

    def __init__(self, verdicts: tuple[Verdict, ...]) -> None:
        self.verdicts = verdicts

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> Iterator[RenderableType]:
        key_width = max(cell_len(t) for t in ["answer", *(v.key for v in self.verdicts)])
        mark_width = max(cell_len(t) for t in ["verdict",
                                               *(_MARK[v.verdict] for v in self.verdicts)])
        room = options.max_width - self.FRAME - key_width - mark_width
        given_width, right_width = _share(room, [v.given for v in self.verdicts],
                                          [v.expected for v in self.verdicts])
        table = Table()
        for header in self.HEADERS:
            # Widths are set below; fold rather than cut where a piece is wider.
            table.add_column(header, style="bold" if header == "answer" else "",
                             overflow="fold")
        if room >= 2 * len("given"):
            table.columns[3].no_wrap = True  # "✗ incorrect" is never folded
        notes: list[RenderableType] = []
        for verdict in self.verdicts:
            cells: list[Text] = []
            for label, text, width in (("given", verdict.given, given_width),
                                       ("right", verdict.expected, right_width)):
                if cell_len(text) <= width:
                    cells.append(Text(text))  # a student's text, never markup
                    continue
                number = len(notes) + 1
                notes.append(Hanging(f"[{number}] {verdict.key}, {label}: {text}", 0))
                mark = f"see [{number}]"
                cells.append(Text(mark if cell_len(mark) <= width else f"[{number}]"))
            table.add_row(Text(verdict.key), *cells,
                          Text(_MARK[verdict.verdict], style=_STYLE[verdict.verdict]))
        yield table
        yield from notes


def _share(room: int, given: list[str], right: list[str]) -> tuple[int, int]:
    """Widths for the given and right columns out of `room` cells: each its
    widest text where both fit, otherwise the narrower one whole where it
    takes at most half, the rest to the other."""
    given_need = max([cell_len(t) for t in given] + [len("given")])
    right_need = max([cell_len(t) for t in right] + [len("right")])
    if given_need + right_need <= room:
        return given_need, right_need
    half = max(room // 2, len("given"))
    if given_need <= half:
        return given_need, max(room - given_need, len("right"))
    if right_need <= half:
        return max(room - right_need, len("given")), right_need
    return half, max(room - half, len("right"))


def steps_view(forward: list[ForwardStep], backward: list[BackwardStep], output: str,
               gradient: dict[str, float], undefined: Iterable[str] = ()) -> RenderableType:
    """The forward pass node by node, the backward pass edge by edge
    (`undefined`: the inputs whose partial has no number, said so)."""
    lines: list[RenderableType] = [Text("Forward pass: each node from its arguments",
                                        style="bold")]
    for step in forward:
        lines.append(Hanging(f"{step.name} = {step.expression} = {step.substituted} = "
                             f"{table_value(step.value, step.noise)}", 2))
    lines.append(Hanging(f"Backward pass: adjoints from {bar(output)} = 1 down, by the "
                         "chain rule", 0, style="bold"))
    edges = any(len({t.user for t in b.terms}) < len(b.terms) for b in backward)
    lines.append(Hanging(f"({legend(output, edges)})", 2, style="dim"))
    for backward_step in backward:
        lines.append(Hanging(step_text(backward_step, output), 2))
    noise = {step.node for step in backward if step.noise}  # reads 0 there too
    partials = [f"∂{output}/∂{k} = {table_value(v, k in noise)}" for k, v in gradient.items()]
    partials += [f"∂{output}/∂{k} undefined" for k in undefined]
    lines.append(Hanging("Gradient: " + ", ".join(partials), 0, style="bold"))
    return Group(*lines)


def tensor_steps_view(forward: list[TensorForwardStep], backward: list[TensorBackwardStep],
                      output: str, seeded: bool, full: bool = False) -> RenderableType:
    """The passes over vectors and matrices: each node's value with its
    shape, then each adjoint as the sum of its uses' vector–Jacobian rules."""
    from ..printing.values import value_text

    lines: list[RenderableType] = [Text("Forward pass: each node from its arguments",
                                        style="bold")]
    for step in forward:
        middle = f" = {step.substituted}" if step.substituted else ""
        lines.append(Hanging(f"{step.name} = {step.expression}{middle} = "
                             f"{value_text(step.value, full, one_line=True)}   ({step.shape})", 2))
    top = backward[0] if backward else None
    scalar = top is None or not hasattr(top.adjoint, "ndim") or not top.adjoint.ndim
    start = "the seed given" if seeded else "1" if scalar else \
        "ones (the adjoints are of the sum of the output's elements)"
    lines.append(Hanging(f"Backward pass: adjoints from {bar(output)} = {start} down, "
                         "by each op's vector–Jacobian rule", 0, style="bold"))
    lines.append(Hanging(f"(for each node v, {bar('v')} is the adjoint of v, of v's shape; "
                         "a node used several times sums what each use passes back)", 2,
                         style="dim"))
    for step in backward:
        total = "undefined" if step.adjoint is None else \
            value_text(step.adjoint, full, one_line=True)
        rules = " + ".join(term.rule for term in step.terms)
        middle = f" = {rules}" if rules else ""
        lines.append(Hanging(f"{bar(step.node)} = {total}   ({step.shape})" if not rules else
                             f"{bar(step.node)}{middle} = {total}   ({step.shape})", 2))
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
            # A formula breaks after an operator where it can, not mid-name.
            floor = len(rest) + (width - len(rest)) // 2
            cut = next((k for k in range(cut, floor, -1) if current[k - 1] in "+*/,)"), cut)
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
            line.append(FILE_FAULTS.get(score.fault, OTHER_FAULT)[0], style="bold red")
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
    unanswered = sum(len(s.unanswered) for s in scores)
    unreadable = sum(s.unreadable for s in scores)
    correct = sum(s.correct for s in scores)
    total = sum(s.total for s in scores)
    overall = Text(f"{_count(problems, 'problem')}, {correct}/{total} answers correct")
    if several:
        overall.append(f" in {_count(len(scores), 'file')}")
    if unanswered:  # a file of problems without answers is not "0 problems" and silence
        overall.append(f", {_count(unanswered, 'problem')} without answers", style="yellow")
    errors = sum(s.errors for s in scores) - unreadable
    faults: dict[str, int] = {}
    for score in scores:
        if score.unreadable:
            faults[score.fault] = faults.get(score.fault, 0) + 1
    for fault, count in faults.items():  # the words batch's summary uses
        one, several = FILE_FAULTS.get(fault, OTHER_FAULT)
        overall.append(f", {count} {one if count == 1 else several}", style="bold red")
    if errors:
        overall.append(f", {_count(errors, 'error')}", style="bold red")
    lines.append(overall)
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
