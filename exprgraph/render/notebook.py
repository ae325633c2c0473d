"""The API's objects in Jupyter (and any IPython front end): HTML, SVG and LaTeX.

IPython shows an object by its `_repr_html_`, `_repr_svg_` and `_repr_latex_`
methods. Those of `api.py` call the functions here, imported on the first
display: never at `import exprgraph`, and IPython itself is never imported.

The HTML is converted from the very Rich renderables the terminal prints
(`tables.py`'s node, edge and gradient tables, `derivatives.py`'s), by a
generic converter (`rich_html`), so a notebook and `exprgraph eval` cannot
drift apart: a Rich table becomes a `<table>` with its title, headers and
each column's cells; Text keeps bold, italic and dim as `<strong>`, `<em>`
and a dimmed span, and drops colours (which a notebook's light or dark
theme would fight). Everything is escaped; the CSS is a few inline
`style` attributes; there are no scripts. The HTML stops near HTML_LIMIT
characters, and tables at MAX_ROWS rows, saying what was left out.

Pictures are Graphviz's SVG where its `dot` program is installed; where it
is not, the terminal's drawing of the graph stands in, with a line saying
how to get the picture.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import keyword
import shutil
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.table import Table
from rich.text import Text

from ..api import (
    DiffResult,
    Evaluation,
    Program,
    _program_text,  # the text Program's repr shows
)
from ..core.errors import ExprGraphError
from ..core.text import counted
from .layout import Fitted, Formula, WideOrNarrow

MAX_ROWS = 100  # rows per table, as `exprgraph eval`'s default --max-rows
HTML_LIMIT = 300_000  # characters of HTML, about, before the rest is left out
PICTURE_NODES = 150  # nodes drawn as a picture; a larger graph is left to `exprgraph graph`
WIDTH = 100  # the terminal width a renderable with no HTML form is drawn at

_CELL = "padding:2px 8px;vertical-align:top;white-space:pre-wrap;text-align:"
_DIM = "opacity:0.65"
_NOTE = f'<div style="{_DIM};margin:2px 0">'
INSTALL_GRAPHVIZ = ("apt-get install graphviz, brew install graphviz or winget install "
                    "graphviz")


# --- Rich renderables as HTML --------------------------------------------------


class _Writer:
    """HTML being written, within a budget of characters."""

    def __init__(self, limit: int | None) -> None:
        self.parts: list[str] = []
        self.left = limit
        self.stopped = False  # the budget ran out: the rest is left out

    def add(self, text: str) -> None:
        self.parts.append(text)
        if self.left is not None:
            self.left -= len(text)

    @property
    def full(self) -> bool:
        return self.left is not None and self.left <= 0


def rich_html(renderable: RenderableType, limit: int | None = HTML_LIMIT) -> str:
    """A Rich renderable (a Table, Text, Group, or this package's fitted
    tables and notes) as HTML: tables as `<table>`, text escaped. Anything
    else is drawn as the terminal would draw it, in a `<pre>`. Past about
    `limit` characters (None: no limit) the rest is left out, with a note."""
    out = _Writer(limit)
    _convert(renderable, out)
    if out.stopped:
        out.add(f"{_NOTE}… the rest is not shown: this view stops near {limit:,} "
                "characters of HTML (limit=None shows all)</div>")
    return "".join(out.parts)


def _convert(renderable: Any, out: _Writer) -> None:
    if out.full:
        out.stopped = True
        return
    if renderable is None:
        return
    if isinstance(renderable, Group):
        for part in renderable.renderables:
            _convert(part, out)
    elif isinstance(renderable, WideOrNarrow):
        _convert(renderable.wide, out)  # the same content; a page has room for it
    elif isinstance(renderable, Fitted):
        _table(renderable.table, out)
    elif isinstance(renderable, Table):
        _table(renderable, out)
    elif isinstance(renderable, Formula):
        out.add(f'<div style="white-space:pre-wrap">{_escape(renderable.text)}</div>')
    elif isinstance(renderable, (Text, str)):
        out.add(f'<div style="white-space:pre-wrap">{_inline(renderable)}</div>')
    else:  # a tree, say: as the terminal draws it
        out.add(_pre(plain_text(renderable)))


def plain_text(renderable: RenderableType, width: int = WIDTH) -> str:
    """A renderable as the terminal draws it, without colours."""
    console = Console(file=io.StringIO(), width=width, color_system=None, record=True,
                      force_terminal=False, force_jupyter=False)
    console.print(renderable)
    return console.export_text()


def _table(table: Table, out: _Writer) -> None:
    columns = table.columns
    cells = [list(column.cells) for column in columns]
    out.add('<table style="border-collapse:collapse;margin:6px 0">')
    if table.title:
        out.add('<caption style="caption-side:top;text-align:left;font-weight:bold;'
                f'padding:2px 0">{_inline(table.title)}</caption>')
    if table.show_header:
        out.add("<thead><tr>" + "".join(
            f'<th style="{_CELL}{_align(column)};border-bottom:1px solid">'
            f"{_inline(column.header)}</th>" for column in columns) + "</tr></thead>")
    out.add("<tbody>")
    for r, row in enumerate(table.rows):
        if out.full:
            out.add(f'<tr><td colspan="{len(columns)}" style="{_CELL}left;{_DIM}">'
                    f"… {counted(len(table.rows) - r, 'more row')} not shown "
                    "(this view's size limit)</td></tr>")
            out.stopped = True
            break
        line = ";border-bottom:1px solid" if row.end_section or table.show_lines else ""
        out.add("<tr>" + "".join(
            f'<td style="{_CELL}{_align(column)}{line}">'
            f"{_inline(cells[k][r], column.style, row.style)}</td>"
            for k, column in enumerate(columns)) + "</tr>")
    out.add("</tbody></table>")
    if table.caption:
        out.add(f"{_NOTE}{_inline(table.caption)}</div>")


def _align(column: Any) -> str:
    return "right" if column.justify == "right" else "center" \
        if column.justify == "center" else "left"


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _pre(text: str) -> str:
    """Text as the terminal draws it: monospaced, its lines kept."""
    # The font is named: nbconvert's page style gives <pre> the text's font.
    return (f'<pre style="margin:0;font-family:ui-monospace,Menlo,Consolas,monospace">'
            f'{_escape(text.rstrip())}</pre>')


def _style(style: Any) -> Style:
    """A Rich style (or its text: "bold cyan"); a null style for a theme's name."""
    if isinstance(style, Style):
        return style
    try:
        return Style.parse(style) if style else Style.null()
    except StyleSyntaxError:
        return Style.null()


def _tagged(text: str, style: Style) -> str:
    """Escaped text in the tags its style maps to; colours are dropped."""
    text = _escape(text)
    if style.bold:
        text = f"<strong>{text}</strong>"
    if style.italic:
        text = f"<em>{text}</em>"
    if style.dim:
        text = f'<span style="{_DIM}">{text}</span>'
    return text


@functools.lru_cache(maxsize=1)
def _console() -> Console:
    """A console to resolve Text's styles with (nothing is printed on it)."""
    return Console(file=io.StringIO(), color_system=None, force_jupyter=False)


def _inline(content: Any, *styles: Any) -> str:
    """A cell, title or line: str or Text as escaped, tagged HTML; anything
    else as the terminal draws it. `styles` (a column's, a row's) apply under
    the text's own."""
    base = Style.combine([Style.null(), *(_style(s) for s in styles)])
    if isinstance(content, str):
        return _tagged(content, base)
    if isinstance(content, Text):
        base += _style(content.style)  # a Text without spans renders without it
        return "".join(_tagged(segment.text, base + segment.style if segment.style else base)
                       for segment in content.render(_console()))
    return _pre(plain_text(content))


class RichHTML:
    """Any Rich renderable, shown as HTML in Jupyter: `RichHTML(report_view(report))`."""

    def __init__(self, renderable: RenderableType, limit: int | None = HTML_LIMIT) -> None:
        self.renderable, self.limit = renderable, limit

    def __repr__(self) -> str:
        return plain_text(self.renderable).rstrip("\n")

    def _repr_html_(self) -> str:
        return rich_html(self.renderable, self.limit)


# --- the API's objects -------------------------------------------------------------


def program_html(program: Program) -> str:
    """A program: its text, output and inputs, and a picture of its graph."""
    inputs = ", ".join(program.inputs) or "none"
    shown = program.inputs[:4]
    if any(keyword.iskeyword(name) for name in program.inputs):  # lambda=… is no Python
        call = ".evaluate({" + ", ".join(f'"{name}": …' for name in shown) + (
            ", …" if len(program.inputs) > len(shown) else "") + "})"
    else:
        call = ".evaluate(" + ", ".join(f"{name}=…" for name in shown) + (
            ", …" if len(program.inputs) > len(shown) else "") + ")"
    return (f"<div><strong>Program</strong> <code>{_escape(_program_text(program.graph))}"
            f"</code></div>{_NOTE}output {_escape(program.output)}; inputs "
            f"{_escape(inputs)}; {counted(len(program.graph.nodes), 'node')}. "
            f"<code>{_escape(call)}</code> computes every value and adjoint.</div>"
            f"{picture_html(program, None)}")


def evaluation_html(evaluation: Evaluation, program: Program | None = None,
                    max_rows: int = MAX_ROWS, limit: int | None = HTML_LIMIT) -> str:
    """An evaluation: the node, edge and gradient tables `exprgraph eval`
    prints (`max_rows` rows each; 0: all), then the graph's picture with
    every value and adjoint, folded away."""
    from .tables import evaluation_tables

    program = program or Program(evaluation.graph)
    tables = rich_html(evaluation_tables(program, evaluation, max_rows), limit)
    graph = program.graph
    if max_rows > 0 and max(len(graph.nodes), sum(1 for _ in graph.edges())) > max_rows:
        tables += (f"{_NOTE}In Python, every row: IPython.display.HTML(exprgraph.render."
                   "notebook.evaluation_html(r, max_rows=0, limit=None)); r.values and "
                   "r.adjoints hold every number.</div>")
    for name, error in evaluation.undefined_gradient.items():
        # As `exprgraph eval` says on stderr: why the table says "undefined".
        hint = f" ({error.hint})" if error.hint else ""
        tables += (f"{_NOTE}∂{_escape(graph.output_name)}/∂{_escape(name)} is undefined: "
                   f"{_escape(error.message)}{_escape(hint)}</div>")
    picture = picture_html(program, evaluation)
    return (f"{tables}<details><summary>The graph, each node with its value and adjoint"
            f"</summary>{picture}</details>")


def diff_html(result: DiffResult) -> str:
    """A `diff` result: the table `exprgraph diff` prints."""
    from .derivatives import diff_tables

    assert result.program is not None
    return rich_html(diff_tables(result.program, result, None))


def diff_latex(result: DiffResult) -> str | None:
    """A `diff` result as `exprgraph diff --latex` prints it, in `$...$` or
    `$$...$$` (several lines, gathered); None where it is too long for MathJax."""
    from ..symbolic.calculus import LATEX_LENGTH
    from .derivatives import diff_lines

    assert result.program is not None
    lines = [f"\\text{{{line[2:]}}}" if line.startswith("% ") else line
             for line in diff_lines(result.program, result, True, None).split("\n")]
    if sum(map(len, lines)) > LATEX_LENGTH or not any(line.strip() for line in lines):
        return None  # too long for MathJax, or nothing to show ("$$" is an error there)
    if len(lines) == 1:
        return f"${lines[0]}$"
    return "$$\\begin{gathered}" + " \\\\ ".join(lines) + "\\end{gathered}$$"


# --- pictures ------------------------------------------------------------------------


def dot_program() -> str | None:
    """Where Graphviz's `dot` is, or None where it is not installed."""
    return shutil.which("dot")


def graph_svg(program: Program | None, evaluation: Evaluation | None = None) -> str | None:
    """The graph as Graphviz draws it (with values and adjoints for an
    evaluation), as SVG text; None where `dot` is not installed or the graph
    is too large to draw here (the HTML says which)."""
    return _picture(program, evaluation)[0]


def picture_html(program: Program, evaluation: Evaluation | None) -> str:
    """The picture as an `<img>` (SVG, inline), or where there is none, why,
    and the graph as the terminal draws it."""
    svg, why = _picture(program, evaluation)
    if svg is not None:
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        # At its own size in a box that scrolls: shrunk to the cell's width, a
        # wide graph's labels were a few pixels high.
        return (f'<div style="overflow:auto;max-height:600px">'
                f'<img alt="the computational graph of {_escape(program.output)}" '
                f'style="max-width:none" src="data:image/svg+xml;base64,{data}"></div>')
    from . import draw

    try:
        drawn = draw.drawing(program, evaluation)
    except ExprGraphError as error:  # no shapes to draw a tensor program with
        hint = f" ({error.hint})" if error.hint else ""
        said = f"{why} No drawing either: " if why else "No picture: "
        said += error.message + hint
        return f"{_NOTE}{_escape(said)}</div>"
    note = f"{_NOTE}{_escape(why)} The graph as the terminal draws it:</div>"
    legend = draw.legend(drawn)
    text = plain_text(Group(draw.terminal_view(drawn), *([legend] if legend else [])))
    return note + _pre(text)


def _picture(program: Program | None, evaluation: Evaluation | None
             ) -> tuple[str | None, str]:
    """The SVG, or None and the reason there is none."""
    from . import draw

    if program is None:
        assert evaluation is not None
        program = Program(evaluation.graph)
    if dot_program() is None:
        return None, ("No picture: Graphviz's dot program is not installed (install "
                      f"Graphviz: {INSTALL_GRAPHVIZ}; then the graph is drawn here).")
    drawn_nodes = sum(1 for node in program.graph.nodes if node.op.arity > 0) + \
        len(program.graph.inputs)
    if drawn_nodes > PICTURE_NODES:
        return None, (f"No picture: the graph has {drawn_nodes:,} nodes, too many to read "
                      "in a notebook (exprgraph graph PROGRAM --format svg -o graph.svg "
                      "draws them all).")
    try:
        picture = draw.drawing(program, evaluation)
    except ExprGraphError:
        return None, ""  # picture_html says why
    try:
        return _svg(draw.dot_text(picture)), ""
    except ExprGraphError as error:  # Graphviz failed, or took too long
        return None, f"No picture: {error.message}."


@functools.lru_cache(maxsize=32)
def _svg(dot: str) -> str:
    """SVG text from DOT, by Graphviz (the same drawing is asked for twice a
    display: in the HTML, and as the SVG itself), from `<svg` on."""
    from .draw import render_image

    svg = render_image(dot, "svg").decode("utf-8")
    return svg[svg.find("<svg"):] if "<svg" in svg else svg
