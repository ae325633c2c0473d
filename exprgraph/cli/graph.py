"""The `graph` command: the computational graph drawn, with values and gradients when given.

A tree on the terminal, or DOT, Mermaid, SVG or PNG text to standard output
or a file (`-o`), or an HTML page that steps through both passes
(`render/page.py`); the format is chosen by `--format` or the file's extension.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.errors import ValueInputError
from .application import values_command
from .errors import report_undefined, reports_errors
from .options import ProgramArgument, Values, values_option
from .output import stdout
from .values import program_and_values

if TYPE_CHECKING:
    from ..api import Program


class GraphFormat(str, Enum):
    """How `graph` draws."""

    terminal = "terminal"
    dot = "dot"
    mermaid = "mermaid"
    svg = "svg"
    png = "png"
    html = "html"


@values_command("graph")
@reports_errors
def graph_command(
    ctx: typer.Context,
    program: ProgramArgument,
    assignments: Annotated[Values, values_option(
        "Input values (or --NAME VALUE): the drawing then shows values and gradients.")
    ] = None,
    output_format: Annotated[GraphFormat | None, typer.Option(
        # FORMAT, not Click's [terminal|dot|...], which Rich splits mid-word in its column.
        "--format", case_sensitive=False, show_default=False, metavar="FORMAT",
        help="terminal: a tree from the output down; dot: Graphviz; mermaid: for "
        "Markdown; svg, png: drawn by Graphviz's dot, if installed; html: one "
        "self-contained page that steps through the forward and backward pass, values "
        "editable in it. Default: from the extension of -o FILE (.dot .gv .mmd .svg .png "
        ".html), else terminal.")] = None,
    output: Annotated[str | None, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Write to FILE instead of standard output (needed for png and html on a "
        "terminal); - is standard output.")] = None,
    backward: Annotated[bool, typer.Option(
        # The formula spaced, so that a narrow terminal wraps it between its factors
        # instead of cutting it.
        "--backward", help="Draw the gradient flow: edges reversed, labelled with the "
        "chain-rule product ∂out/∂node · ∂node/∂arg (html: open the page at the backward "
        "pass).")] = False,
    roll: Annotated[bool, typer.Option(
        "--roll", help="For a program with a loop (for t = 1..4: ...): draw one step as a "
        "cell, its state fed back by an edge labelled ×steps, instead of every step.")
    ] = False,
) -> None:
    """Draw the computational graph, with values and gradients when given values.

    An SVG file (the format from the file's name, or --format):

    [bold]exprgraph graph "(x+y)*z" --x 1 --y 3 --z -3 -o g.svg[/bold]

    A page that steps through both passes:

    [bold]exprgraph graph "(x+y)*z" --x 1 --y 3 --z -3 -o page.html[/bold]
    """
    from ..render import draw
    from ..render.files import check_writable

    if output is not None and output != "-":
        # Before any work, not after it; a file name to suggest in the chosen format.
        check_writable(output, f"graph.{_EXTENSION.get(output_format, 'dot')}")
    output_format = _graph_format(output_format, None if output == "-" else output)
    if backward and output_format is GraphFormat.terminal:
        raise ValueInputError(
            "--backward draws reversed edges, which the terminal tree cannot show",
            hint="the terminal tree already shows each node's ∂out/∂node; for the "
            "gradient flow use --format dot, mermaid, svg, png or html")
    compiled, values = program_and_values(ctx, program, assignments)
    if output_format is GraphFormat.html:
        _write_page(compiled, values, backward, roll, output)
        return
    if roll:
        _draw_rolled(compiled, values, backward, output_format, output)
        return
    # Partially: an undefined partial is drawn as such, the rest as usual.
    evaluation = compiled.evaluate_partially(values) if values or not compiled.inputs \
        else None
    picture = draw.drawing(compiled, evaluation)
    if output_format is GraphFormat.terminal:
        legend = draw.legend(picture)
        stdout().print(draw.terminal_view(picture), *([legend] if legend else []))
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
        report_undefined(evaluation, as_json=False)


def _draw_rolled(compiled: Program, values: dict[str, Any], backward: bool,
                 output_format: GraphFormat, output: str | None) -> None:
    """`graph --roll`: each loop as one cell (no numbers: they differ per step)."""
    from ..render import draw

    if values:
        raise ValueInputError("--roll draws one cell for every step of the loop, so it has "
                              "no place for values, which differ from step to step",
                              hint="leave out the values to draw it rolled, or leave out "
                              "--roll to see every step with its values")
    if backward:
        raise ValueInputError("--roll draws the loop's structure, not the gradient flow",
                              hint="--backward without --roll draws every step's gradients")
    picture = draw.rolled_drawing(compiled)
    if output_format is GraphFormat.terminal:
        stdout().print(draw.terminal_view(picture), draw.roll_legend(picture))
        return
    data = draw.mermaid_text(picture).encode("utf-8") \
        if output_format is GraphFormat.mermaid else draw.dot_text(picture).encode("utf-8")
    if output_format in (GraphFormat.svg, GraphFormat.png):
        data = draw.render_image(data.decode("utf-8"), output_format.value)
    _write_output(data, None if output == "-" else output,
                  binary=output_format is GraphFormat.png)


def _write_page(compiled: Program, values: dict[str, Any], backward: bool, roll: bool,
                output: str | None) -> None:
    """`graph --format html`: the page that steps through both passes. Values
    are checked here as for every drawing (an undefined value is a math error,
    an undefined partial is drawn and then reported), and the page starts at
    them; the learner types in any value not given."""
    from ..render.page import check_drawable, page_html

    if roll:
        raise ValueInputError("--roll draws the loop's structure, and the page steps through "
                              "every step of it with its numbers",
                              hint="leave out --roll for the page, or use --roll with "
                              "--format terminal, dot, mermaid, svg or png")
    check_drawable(compiled, values)  # a vector used whole: refused before any work
    # With some inputs left out the page starts with their boxes empty, for the
    # learner to fill in; with all of them it is checked like any drawing.
    complete = all(name in values for name in compiled.inputs)
    evaluation = compiled.evaluate_partially(values) if complete else None
    if output is None and sys.stdout.isatty():
        # ~50 KB of markup is no use on a terminal (as a PNG is not): refused
        # before the page is built (after the program's own errors, which say
        # more); piped or redirected, the page goes to standard output.
        raise ValueInputError("an HTML page is not for the terminal",
                              hint="add -o page.html, then open the file in a browser")
    page = page_html(compiled, values or None, start_backward=backward)
    _write_output(page.encode("utf-8"), None if output == "-" else output, binary=False)
    if evaluation is not None and evaluation.undefined_gradient:
        report_undefined(evaluation, as_json=False)


# The file name extension of each format that writes a file.
_EXTENSION = {GraphFormat.dot: "dot", GraphFormat.mermaid: "mmd", GraphFormat.svg: "svg",
              GraphFormat.png: "png", GraphFormat.html: "html"}

GRAPH_EXTENSIONS = {".dot": GraphFormat.dot, ".gv": GraphFormat.dot,
                    ".mmd": GraphFormat.mermaid, ".mermaid": GraphFormat.mermaid,
                    ".svg": GraphFormat.svg, ".png": GraphFormat.png,
                    ".html": GraphFormat.html, ".htm": GraphFormat.html}


def _graph_format(chosen: GraphFormat | None, output: str | None) -> GraphFormat:
    """--format, else the one -o's extension names; a mismatch is an error (an
    SVG in a .png file opens nowhere)."""
    implied = GRAPH_EXTENSIONS.get(Path(output).suffix.lower()) if output else None
    if chosen is None:
        if output and implied is None:
            raise ValueInputError(f"cannot tell the format of {output} from its extension",
                                  hint="add --format dot, mermaid, svg, png or html, or name "
                                  "the file .dot, .mmd, .svg, .png or .html")
        return implied or GraphFormat.terminal
    if chosen is GraphFormat.terminal and output:
        raise ValueInputError("the terminal drawing goes to the terminal",
                              hint="for a file use --format dot, mermaid, svg, png or html")
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

