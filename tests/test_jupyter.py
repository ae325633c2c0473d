"""Jupyter display of the API's objects (render/notebook.py): reprs, HTML, SVG, LaTeX.

The oracles: numbers from finite differences (not from exprgraph), the
terminal's own rendering of the same tables (the HTML must hold the same
cells), printing/latex.py for LaTeX, an HTML parser that insists every tag
is closed in order, and Graphviz's SVG parsed as XML.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import html
import html.parser
import json
import pickle
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest
from rich.table import Table
from rich.text import Text

import exprgraph
from exprgraph.api import DiffResult, Program
from exprgraph.printing.latex import latex_text, matrix_latex
from exprgraph.printing.values import short
from exprgraph.render import notebook
from exprgraph.render.derivatives import diff_tables
from exprgraph.render.tables import evaluation_tables
from exprgraph.symbolic.calculus import Expression

from .oracles import central_difference, central_gradient, close

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")

TUTORIAL = "c = a + b; d = b + 1; e = c * d"
AT = {"a": 2.0, "b": 6.0}


class Tables(html.parser.HTMLParser):
    """The tables of an HTML fragment (caption, headers, rows of cell texts),
    and a check that it is well-formed: every tag closed, in order."""

    VOID = frozenset({"img", "br", "hr", "meta", "input", "wbr"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tables: list[dict[str, Any]] = []
        self.cell: list[str] | None = None
        self.caption: list[str] | None = None
        self.tags: list[str] = []
        self.feed(text)
        self.close()
        assert self.open == [], f"tags never closed: {self.open}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.open.append(tag)
        if tag == "table":
            self.tables.append({"caption": "", "headers": [], "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "caption":
            self.caption = []

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-3:]}"
        self.open.pop()
        if tag in ("td", "th") and self.cell is not None:
            text = "".join(self.cell)
            if tag == "th":
                self.tables[-1]["headers"].append(text)
            else:
                self.tables[-1]["rows"][-1].append(text)
            self.cell = None
        elif tag == "caption" and self.caption is not None:
            self.tables[-1]["caption"] = "".join(self.caption)
            self.caption = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
        if self.caption is not None:
            self.caption.append(data)

    def table(self, caption_start: str) -> dict[str, Any]:
        """The table whose caption starts with `caption_start`, its header-only
        row dropped."""
        for table in self.tables:
            if table["caption"].startswith(caption_start):
                return {**table, "rows": [row for row in table["rows"] if row]}
        raise AssertionError(f"no table {caption_start!r} in {[t['caption'] for t in self.tables]}")

    def column(self, caption_start: str, header: str) -> dict[str, str]:
        """One column of a table, by its first column's cells."""
        table = self.table(caption_start)
        k = table["headers"].index(header)
        return {row[0]: row[k] for row in table["rows"]}


def tutorial_value(point: dict[str, float]) -> float:
    """e = (a + b)(b + 1), computed without exprgraph."""
    return (point["a"] + point["b"]) * (point["b"] + 1)


# --- reprs -------------------------------------------------------------------------


def test_reprs_are_short_one_line_and_say_what_the_object_is() -> None:
    f = exprgraph.compile("g = (x+y)*z")
    assert repr(f) == "<Program g = (x + y)*z: inputs x, y, z>"
    assert repr(exprgraph.compile("p = x + y; p*z")) == "<Program p = x + y; p*z: inputs x, y, z>"
    assert repr(exprgraph.compile("2 + 3")) == "<Program 2 + 3: no inputs>"
    r = f.evaluate(x=1, y=3, z=-3)
    assert repr(r) == "<Evaluation of g at x=1, y=3, z=-3: g = -12, gradient x: -3, y: -3, z: 4>"
    assert repr(f.diff(kind="gradient")) == \
        "<DiffResult gradient of g: ∂g/∂x = z; ∂g/∂y = z; ∂g/∂z = x + y>"
    assert repr(exprgraph.compile("x^2*y").diff(["x", "x", "y"])) == \
        "<DiffResult derivative of out: ∂³out/∂y∂x² = 2>"
    # The example: a wall of fields before, the simplified text now.
    expr = exprgraph.compile("x*1 + 0 + x").expression
    assert repr(expr) == "<Expression 2*x>"
    assert str(expr) == "2*x"
    assert f"{expr}" == "2*x"


def test_a_huge_program_still_has_a_short_repr() -> None:
    names = [f"x{i}" for i in range(3000)]
    f = exprgraph.compile(" + ".join(f"sin({n})*{n}" for n in names))
    r = f.evaluate({n: 0.5 for n in names})
    found = f.diff(kind="gradient")
    for shown in (repr(f), repr(r), repr(found), repr(f.expression)):
        assert "\n" not in shown and len(shown) < 400, shown
    assert "(3,000 inputs)" in repr(f)
    assert "(3,000 entries)" in repr(found)
    assert "str() has all" in repr(f.expression)
    assert len(str(f.expression)) > 30_000  # str() is the whole text


def test_str_equality_and_pickling_are_kept() -> None:
    f = exprgraph.compile(TUTORIAL)
    r = f.evaluate(AT)
    found = f.diff(kind="hessian")
    expr = f.gradient_expressions["b"]
    # Equality is still the fields' (a copy is equal; the display adds no field to compare).
    assert expr == Expression(expr.nodes, expr.root, expr.shapes)
    assert hash(expr) == hash(Expression(expr.nodes, expr.root, expr.shapes))
    assert found == DiffResult(found.kind, found.inputs, found.entries, found.shape, found.rows)
    assert r == copy.copy(r)
    # A diff result travels without its program (its display is then text).
    back = pickle.loads(pickle.dumps(found))
    assert found.program is f and back.program is None
    assert (back.kind, back.inputs, back.shape, back.rows) == \
        (found.kind, found.inputs, found.shape, found.rows)
    assert back._repr_html_() is None and found._repr_html_() is not None
    assert repr(found) == "<DiffResult 2×2 hessian of e: ∂²e/∂a² = 0; ∂²e/∂b∂a = 1; " \
        "∂²e/∂a∂b = 1; ∂²e/∂b² = 2>"


# --- HTML: the terminal's tables, as tables -------------------------------------------


def test_evaluation_html_has_the_terminal_tables_numbers() -> None:
    f = exprgraph.compile(TUTORIAL)
    r = f.evaluate(AT)
    found = Tables(r._repr_html_())
    # The gradient column against central differences of e computed without exprgraph.
    gradient = found.column("Gradient of e", "∂e/∂input")
    assert set(gradient) == {"a", "b"}
    for name, shown in gradient.items():
        assert close(float(shown), central_difference(tutorial_value, AT, name), rel=1e-6)
    assert gradient["b"] == "15"  # both paths, 7·1 + 8·1, not the misprinted 4
    values = found.column("Nodes", "value")
    assert values == {"a": "2", "b": "6", "c": "8", "1": "1", "d": "7", "e": "56"}
    adjoints = found.column("Nodes", "∂e/∂node")
    assert adjoints == {"a": "7", "b": "15", "c": "7", "1": "—", "d": "8", "e": "1"}
    edges = found.table("Edges")
    assert edges["headers"] == ["edge", "∂node/∂arg", "=", "× ∂e/∂node", "= contribution"]
    assert {row[0]: row[4] for row in edges["rows"]} == \
        {"a → c": "7", "b → c": "7", "b → d": "8", "c → e": "7", "d → e": "8"}


@pytest.mark.parametrize(("program", "point"), [
    ("u = sin(x)*y; v = exp(x/y); w = u + v*x", {"x": 0.7, "y": -1.3}),
    ("s = sigmoid(w1*x1 + w2*x2 + b); L = (s - t)^2",
     {"w1": 0.5, "w2": -1.5, "b": 0.1, "x1": 2.0, "x2": 1.0, "t": 1.0}),
])
def test_the_html_gradient_is_the_finite_difference_and_the_terminal_cells(
        program: str, point: dict[str, float]) -> None:
    f = exprgraph.compile(program)
    r = f.evaluate(point)
    found = Tables(r._repr_html_())
    gradient = found.column("Gradient of", f"∂{f.output}/∂input")
    for name in point:
        expected = central_difference(lambda p: f.evaluate(p).value, point, name)
        assert close(float(gradient[name]), expected, rel=1e-6, abs_=1e-8), name
    # The same cells as the terminal prints, from the same renderables: no drift.
    terminal = notebook.plain_text(evaluation_tables(f, r, 100), width=250)
    for table in found.tables:
        for row in table["rows"]:
            for cell in row:
                assert cell in terminal, cell


def test_tensor_evaluation_html_matches_numpy_differences() -> None:
    weights = np.array([[1, 2], [3, 4], [0.5, 0.1]])
    x, b, y = np.array([0.1, -0.2]), np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
    f = exprgraph.compile("h = tanh(W @ x + b); L = sum((h - y)^2)")
    r = f.evaluate(W=weights, x=x, b=b, y=y)
    expected = central_gradient(lambda w: float(np.sum((np.tanh(w @ x + b) - y) ** 2)), weights)
    found = Tables(r._repr_html_())
    cell = found.column("Gradient of L", "∂L/∂input")["W"]
    numbers = [float(n) for n in re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", cell)]
    assert numbers == [float(short(v)) for v in expected.flat]
    assert found.column("Nodes", "shape")["W"] == "3×2"


def test_diff_html_is_the_diff_table() -> None:
    f = exprgraph.compile("x^2*y + y^3")
    hessian = f.diff(kind="hessian")
    found = Tables(hessian._repr_html_())
    (table,) = found.tables
    assert table["headers"] == ["", "x", "y"]
    assert [row for row in table["rows"] if row] == [["x", "2*y", "2*x"], ["y", "2*x", "6*y"]]
    gradient = Tables(exprgraph.compile(TUTORIAL).diff(kind="gradient")._repr_html_())
    assert [row for row in gradient.tables[0]["rows"] if row] == \
        [["∂e/∂a", "b + 1"], ["∂e/∂b", "a + 2*b + 1"]]
    terminal = notebook.plain_text(diff_tables(f, hessian, None), width=200)
    assert "Hessian of out" in terminal and "2*y" in terminal
    # A DiffResult built by hand, without its program, has no rich display.
    assert DiffResult("gradient", ("x",), ())._repr_html_() is None


def _hostile() -> Program:
    """(x + y)*z with names no parser allows: markup, quotes, ampersands."""
    graph = exprgraph.compile("p = x + y; g = p * z").graph
    renamed = {"x": "x<b>", "p": "p&<i>", "g": 'g"<script>'}
    nodes = tuple(dataclasses.replace(node, name=renamed.get(node.name, node.name),
                                      label=renamed.get(node.label, node.label))
                  for node in graph.nodes)
    return Program(dataclasses.replace(
        graph, nodes=nodes, names={renamed.get(k, k): v for k, v in graph.names.items()},
        assigned=tuple(renamed.get(a, a) for a in graph.assigned)))


@pytest.mark.parametrize("dot", [True, False], ids=["graphviz", "no-graphviz"])
def test_html_escapes_every_name_and_is_well_formed(dot: bool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if dot and not HAS_DOT:
        pytest.skip("Graphviz's dot is not installed")
    if not dot:
        monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    program = _hostile()
    r = program.evaluate({"x<b>": 1, "y": 3, "z": -3})
    for shown in (program._repr_html_(), r._repr_html_(),
                  program.diff(kind="gradient")._repr_html_()):
        assert shown is not None
        found = Tables(shown)
        assert set(found.tags) <= {"div", "strong", "em", "span", "code", "table", "caption",
                                   "thead", "tbody", "tr", "th", "td", "details", "summary",
                                   "img", "pre"}
        assert "<script" not in shown and "<b>" not in shown and "<i>" not in shown
        assert "&lt;script&gt;" in shown and "x&lt;b&gt;" in shown
    gradient = Tables(r._repr_html_()).column("Gradient of", '∂g"<script>/∂input')
    assert gradient == {"x<b>": "-3", "y": "-3", "z": "4"}


def test_the_converter_takes_any_rich_table_and_escapes_it() -> None:
    table = Table(title="<caption & more>")
    table.add_column("[bold]name[/bold]")
    table.add_column("value", justify="right", style="bold")
    table.add_row("<script>alert(1)</script>", "1")
    table.add_row(Text("styled", style="italic dim"), Text.assemble(("2", "bold"), " & 3"),
                  style="dim", end_section=True)
    table.caption = "a caption"
    shown = notebook.rich_html(table)
    found = Tables(shown)
    assert found.tables == [{"caption": "<caption & more>", "headers": ["[bold]name[/bold]",
                                                                        "value"],
                             "rows": [[], ["<script>alert(1)</script>", "1"],
                                      ["styled", "2 & 3"]]}]
    assert "<em>" in shown and "<strong>" in shown and "opacity" in shown  # styles as tags
    assert "text-align:right" in shown and "a caption" in shown
    assert "<caption & more>" in repr(notebook.RichHTML(table))


def test_html_is_bounded_and_says_what_it_left_out() -> None:
    names = [f"x{i}" for i in range(600)]
    f = exprgraph.compile(" + ".join(f"{n}*{n}" for n in names))
    r = f.evaluate({n: 1.0 for n in names})
    shown = r._repr_html_()
    Tables(shown)
    assert len(shown) < notebook.HTML_LIMIT * 1.2
    assert "more rows not shown" in shown  # the tables' own caption, as in the terminal
    assert "max_rows=0" in shown  # and how to see every row from Python
    cut = notebook.rich_html(evaluation_tables(f, r, 0), limit=20_000)
    Tables(cut)
    assert len(cut) < 25_000 and "the rest is not shown" in cut
    whole = notebook.evaluation_html(r, max_rows=0, limit=None)
    assert len(Tables(whole).table("Nodes")["rows"]) == len(f.graph.nodes)


# --- LaTeX ---------------------------------------------------------------------------


def test_repr_latex_is_the_latex_printer_in_dollars() -> None:
    f = exprgraph.compile("s = sin(x1)*alpha; t = s/(x1 + 1)")
    expr = f.gradient_expressions["x1"]
    assert expr._repr_latex_() == f"${latex_text(expr.nodes, expr.root)}$"
    assert "\\frac" in expr._repr_latex_() and "x_{1}" in expr._repr_latex_()
    matrix = exprgraph.compile("x: vector(n); A: matrix(n, n); f = x' @ A @ x") \
        .gradient_expressions["x"]
    assert matrix._repr_latex_() == \
        f"${matrix_latex(matrix.nodes, matrix.root, matrix.shapes)}$"
    assert "\\mathbf{A}" in matrix._repr_latex_()
    hessian = exprgraph.compile("x^2*y + y^3").diff(kind="hessian")._repr_latex_()
    assert hessian == "$\\begin{pmatrix} 2 y & 2 x \\\\ 2 x & 6 y \\end{pmatrix}$"
    gradient = exprgraph.compile(TUTORIAL).diff(kind="gradient")._repr_latex_()
    assert gradient == ("$$\\begin{gathered}\\frac{\\partial e}{\\partial a} = b + 1 \\\\ "
                        "\\frac{\\partial e}{\\partial b} = a + 2 b + 1\\end{gathered}$$")


def test_latex_too_long_for_mathjax_is_left_to_the_text() -> None:
    f = exprgraph.compile(" + ".join(f"sin(x{i})*x{i}" for i in range(2000)))
    assert f.expression._repr_latex_() is None
    assert repr(f.expression).startswith("<Expression x0*sin(x0) + ")


# --- pictures ------------------------------------------------------------------------


@needs_dot
def test_svg_where_graphviz_is_installed() -> None:
    f = exprgraph.compile(TUTORIAL)
    r = f.evaluate(AT)
    for obj in (f, r):
        svg = obj._repr_svg_()
        assert svg is not None and svg.startswith("<svg")
        root = ET.fromstring(svg)
        texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
        assert {"a", "b", "c", "d", "e"} <= texts
        shown = obj._repr_html_()
        data = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', shown)
        assert data is not None and base64.b64decode(data.group(1)).decode() == svg
    texts = {t.text for t in ET.fromstring(r._repr_svg_()).iter()}
    assert "value 56" in texts and "adjoint 15" in texts


def test_without_graphviz_a_clear_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    f = exprgraph.compile(TUTORIAL)
    r = f.evaluate(AT)
    assert f._repr_svg_() is None and r._repr_svg_() is None
    for obj in (f, r):
        shown = html.unescape(obj._repr_html_())
        assert "<img" not in shown
        assert "Graphviz's dot program is not installed" in shown
        assert "apt-get install graphviz" in shown
        assert "<pre" in shown and "e = c*d" in shown  # the terminal's drawing instead
    assert "= 56" in r._repr_html_()  # with the values


@needs_dot
def test_a_graph_too_big_to_read_gets_no_picture() -> None:
    f = exprgraph.compile(" + ".join(f"x{i}*x{i}" for i in range(200)))
    assert f._repr_svg_() is None
    shown = f._repr_html_()
    assert "too many to read" in shown and "<img" not in shown and "more nodes not drawn" in shown


# --- start-up -------------------------------------------------------------------------


def test_import_and_reprs_load_no_ipython_and_no_rendering() -> None:
    code = """
import json, sys
import exprgraph
f = exprgraph.compile("p = x + y; g = p * z")
r = f.evaluate(x=1, y=3, z=-3)
shown = [repr(f), repr(r), repr(f.diff()), str(f.expression), repr(f.expression)]
light = sorted(m for m in sys.modules if m.split(".")[0] in ("IPython", "rich")
               or m.startswith("exprgraph.render"))
r._repr_html_(); f.diff()._repr_latex_()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("IPython", "ipykernel"))
print(json.dumps([light, heavy]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    light, heavy = json.loads(done.stdout)
    assert light == []  # a repr costs no Rich, no renderer
    assert heavy == []  # and a display never imports IPython


def test_rich_html_shows_any_terminal_view() -> None:
    from exprgraph.render.check import steps_view
    from exprgraph.tasks.explain import backward_steps, forward_steps

    f = exprgraph.compile(TUTORIAL)
    r = f.evaluate(AT)
    view = notebook.RichHTML(steps_view(forward_steps(f, r), backward_steps(f, r), f.output,
                                        r.gradient))
    shown = view._repr_html_()
    Tables(shown)
    assert "7·1 + 8·1 = 15" in shown and "<strong>Forward pass" in shown
    assert "7·1 + 8·1 = 15" in repr(view)


# --- what a new user met -----------------------------------------------------------------


def test_an_evaluation_for_some_inputs_displays_them() -> None:
    # evaluate_wrt computes the gradient of the inputs asked for: its display
    # raised KeyError for the others (a traceback under the cell).
    f = exprgraph.compile(TUTORIAL)
    r = f.evaluate_wrt(AT, ["b"])
    found = Tables(r._repr_html_())
    column = found.column("Gradient of e", "∂e/∂input")
    assert close(float(column["b"]), central_difference(tutorial_value, AT, "b"), rel=1e-6)
    assert column["a"] == "not computed"
    # And the terminal's table says the same.
    from rich.console import Console

    console = Console(width=120, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(evaluation_tables(f, r))
    assert "not computed" in console.export_text()


def test_programs_evaluations_and_expressions_pickle_for_worker_processes() -> None:
    # They did not pickle (the op table's rules are lambdas), so a
    # multiprocessing pool could not return an Evaluation. Ops travel by name
    # and come back as the very same table entries.
    from exprgraph.core.ops import OPS

    f = exprgraph.compile(TUTORIAL)
    back = pickle.loads(pickle.dumps(f))
    assert all(node.op is OPS[node.op.name] for node in back.graph.nodes)
    r = pickle.loads(pickle.dumps(f.evaluate(AT)))
    for name in AT:
        assert close(r.gradient[name], central_difference(tutorial_value, AT, name), rel=1e-6)
    assert back.evaluate(AT).gradient == r.gradient
    expression = pickle.loads(pickle.dumps(f.gradient_expressions["b"]))
    assert str(expression) == "a + 2*b + 1"
    tensor = exprgraph.compile("h = tanh(W @ x); L = sum(h)")
    weights, x = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, -1.0])
    gradient = pickle.loads(pickle.dumps(tensor.evaluate(W=weights, x=x))).gradient["W"]
    # ∂/∂W of sum(tanh(W x)) is (1 - tanh(W x)^2) x', by NumPy.
    assert np.allclose(gradient, np.outer(1 - np.tanh(weights @ x) ** 2, x))


def test_small_display_defects_a_new_user_met() -> None:
    # A Jacobian is of every output, not the first one's.
    jacobian = exprgraph.compile("u = x*y; v = x + y; w = sin(u)").diff(kind="jacobian")
    assert repr(jacobian).startswith("<DiffResult 2×2 jacobian of v, w:")
    # Nothing to show is no LaTeX, not "$$" (an error in MathJax).
    assert exprgraph.compile("2+3").diff(kind="gradient")._repr_latex_() is None
    # A name that is a Python keyword cannot be a keyword argument: the call
    # the display suggests must still be Python.
    shown = html.unescape(exprgraph.compile("lambda*x + y")._repr_html_())
    call = re.search(r"\.evaluate\((.*?)\)</code> computes", shown)
    assert call is not None
    compile(f"f.evaluate({call.group(1).replace('…', '1')})", "<display>", "eval")
    # The terminal's drawings keep their columns: <pre> names a monospace font
    # (nbconvert's page gives it the text's font otherwise).
    from rich.tree import Tree

    tree = Tree("out")
    tree.add("x")
    drawn = notebook.RichHTML(tree)._repr_html_()
    assert "<pre" in drawn and "font-family:" in drawn


@pytest.mark.parametrize("source", [
    "h[0] = (x +\n   y)\nfor t = 1..2: h[t] = h[t-1]*w\nh[2]",
    "h[0] = 0  # start\nfor t = 1..3: h[t] = h[t-1] + x  # step; not a statement\nh[3]",
    "W: matrix(2, 2); x: vector(2)\nL = sum(tanh(W @ x\n  + 1))",
])
def test_a_program_s_repr_is_its_statements_on_one_line(source: str) -> None:
    # The repr joined source lines with "; ", also inside brackets, and kept
    # comments (which then swallowed what followed): it must read back as the
    # same program.
    f = exprgraph.compile(source)
    text = re.fullmatch(r"<Program (.*): inputs .*>", repr(f))
    assert text is not None and "\n" not in text.group(1) and "#" not in text.group(1)
    again = exprgraph.compile(text.group(1))
    point = {name: [[0.5, -1.0], [2.0, 0.25]] if name == "W" else
             [0.3, -0.7] if f.graph.declarations.get(name) is not None else 0.6
             for name in f.inputs}
    first, second = f.evaluate(point), again.evaluate(point)
    for name in f.inputs:
        assert np.allclose(first.gradient[name], second.gradient[name])


def test_an_undefined_partial_says_why() -> None:
    # The table said "undefined" and nothing else; eval says why on stderr.
    r = exprgraph.compile("sqrt(x) + y").evaluate_partially(x=0, y=1)
    shown = html.unescape(r._repr_html_())
    (error,) = r.undefined_gradient.values()
    assert f"∂out/∂x is undefined: {error.message}" in shown
