"""Results of `exprgraph diff` and `exprgraph simplify`: tables, JSON, text, LaTeX.

Notation follows the textbooks: d for a program with one input, ∂ otherwise;
successive partials read right to left, so differentiating by x and then y
is ∂²g/∂y∂x; repeats collect into powers, ∂³g/∂x³.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..api import DiffResult, Program
from ..core.errors import MathError
from ..printing.latex import latex_name, latex_text, matrix_latex
from ..printing.text import INLINE_LIMIT, display_text
from ..printing.values import plain, shape_text, value_text
from ..symbolic.calculus import Expression
from .layout import never_cut

Value = float | MathError | None
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
# How a derivative of a vector or matrix is laid out, said wherever one is shown.
LAYOUT = ("layout: a gradient has its variable's shape (∂f/∂W is a matrix like W; "
          "the same-shape layout of PyTorch's .grad and MatrixCalculus.org)")
INDEX_NOTE = ("index form: a matrix's derivative by a matrix has four indices, so it "
              "prints by its elements: ∂Y_ij/∂X_kl, δ the identity's")
LAYOUTS = {
    "jacobian": "layout: row i is the gradient of the output's element i (m×n: the "
                "output's length by the variable's)",
    "hessian": "layout: row i, column j is ∂²f/∂xᵢ∂xⱼ (symmetric where f is smooth)",
}


def _runs(wrt: Sequence[str]) -> list[tuple[str, int]]:
    """The variables in the order they are written (last applied first), with counts."""
    runs: list[tuple[str, int]] = []
    for name in reversed(wrt):
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + 1)
        else:
            runs.append((name, 1))
    return runs


def derivative_label(of: str, wrt: Sequence[str], single_input: bool) -> str:
    """∂²g/∂y∂x, or dg/dx for a program with one input."""
    d = "d" if single_input else "∂"
    order = len(wrt)
    top = f"{d}{str(order).translate(_SUPERSCRIPTS) if order > 1 else ''}{of}"
    bottom = "".join(f"{d}{name}{str(n).translate(_SUPERSCRIPTS) if n > 1 else ''}"
                     for name, n in _runs(wrt))
    return f"{top}/{bottom}"


def derivative_label_latex(of: str, wrt: Sequence[str], single_input: bool) -> str:
    r"""\frac{\partial^{2} g}{\partial y \partial x}."""
    d = "d" if single_input else "\\partial"
    order = len(wrt)
    top = f"{d}^{{{order}}} {latex_name(of)}" if order > 1 else f"{d} {latex_name(of)}"
    bottom = " ".join(f"{d} {latex_name(name)}" + (f"^{{{n}}}" if n > 1 else "")
                      for name, n in _runs(wrt))
    return f"\\frac{{{top}}}{{{bottom}}}"


def _value_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, MathError):
        return f"undefined: {value.message}"
    return value_text(value)  # a number, or a vector or matrix in brackets


def _cell_text(value: Value) -> str:
    """A value in a table cell: a number, or just "undefined" (its reason goes
    below the table, in words: in a narrow cell it broke mid-phrase)."""
    return "undefined" if isinstance(value, MathError) else _value_text(value)


def _reasons(labelled: Sequence[tuple[str, Value]]) -> list[Text]:
    """Below a table: why each undefined value is undefined, one line per
    reason (the labels that share it named together), wrapped at words."""
    by_reason: dict[str, list[str]] = {}
    for label, value in labelled:
        if isinstance(value, MathError):
            by_reason.setdefault(value.message, []).append(label)

    def who(labels: list[str]) -> str:
        if len(labels) == 1:
            return f"{labels[0]} is"
        return "every value is" if len(labels) == len(labelled) else f"{', '.join(labels)} are"

    return [Text(f"{who(labels)} undefined: {reason}") for reason, labels in by_reason.items()]


def value_suffix(value: Value) -> str:
    """"  (= 4)" after an expression in text output; "" when no point was given."""
    if value is None:
        return ""
    if isinstance(value, MathError):
        return f"  ({_value_text(value)})"
    return f"  (= {value_text(value, one_line=True)})"


def _single(program: Program) -> bool:
    return len(program.inputs) == 1


# A Hessian or Jacobian prints whole when it has at most this many entries or
# at least half of them are not 0; otherwise only its non-zero entries, with
# a count of the zero ones (a 1,000-variable sum's Hessian is a million zeros).
DENSE_LIMIT = 100


def sparse_entries(result: DiffResult) -> list[int] | None:
    """The positions (row-major) of a matrix's non-zero entries when it
    prints sparse (see DENSE_LIMIT); None when it prints whole."""
    if result.shape is None:
        return None
    total = result.shape[0] * result.shape[1]
    if total <= DENSE_LIMIT:
        return None
    nonzero = [k for k, entry in enumerate(result.entries) if not entry.expression.is_zero]
    return nonzero if 2 * len(nonzero) < total else None


def _zeros_line(result: DiffResult, shown: int) -> str:
    rows, columns = result.shape  # type: ignore[misc]
    zeros = rows * columns - shown
    kind = "Hessian" if result.kind == "hessian" else "Jacobian"
    if not shown:
        return f"all {zeros:,} entries of the {rows:,}×{columns:,} {kind} are 0"
    return (f"the other {zeros:,} of the {rows:,}×{columns:,} {kind}'s entries are 0 "
            "(only non-zero entries are shown)")


def diff_tables(program: Program, result: DiffResult, values: Sequence[Value] | None
                ) -> RenderableType:
    """A table of derivatives, or the Hessian/Jacobian as a matrix."""
    if not result.entries:
        return Text("The program has no inputs, so there is nothing to differentiate.")
    nonzero = sparse_entries(result)
    if result.shape is not None and nonzero is None:
        return _matrix_table(program, result, values)
    table = Table()
    table.add_column("derivative", style="bold")
    table.add_column("expression")
    shaped = any(entry.shape is not None for entry in result.entries)
    if shaped:
        table.add_column("shape")
    if values is not None:
        table.add_column("value", justify="right")
    single = _single(program)  # program.inputs walks the graph: once, not per row
    labelled: list[tuple[str, Value]] = []
    for k in range(len(result.entries)) if nonzero is None else nonzero:
        entry = result.entries[k]
        label = derivative_label(entry.of, entry.wrt, single)
        row = [label, entry.index_form or display_text(
            entry.expression.nodes, entry.expression.root, taken=program.graph.names)]
        if shaped:
            row.append(shape_text(entry.shape) if entry.shape is not None else "")
        if values is not None:
            row.append(_cell_text(values[k]))
            labelled.append((label, values[k]))
        table.add_row(*row)
    if nonzero is None:
        notes = [Text(LAYOUTS.get(result.kind, LAYOUT), style="dim")] if shaped else []
        if any(entry.index_form for entry in result.entries):
            notes.append(Text(INDEX_NOTE, style="dim"))
        return Group(_title(f"Derivatives of {program.graph.source.strip()}"), never_cut(table),
                     *notes, *_reasons(labelled))
    title = "Hessian" if result.kind == "hessian" else "Jacobian"
    if not nonzero:
        return Text(_zeros_line(result, 0))
    return Group(_title(f"{title} of {program.graph.source.strip()}: its non-zero entries"),
                 never_cut(table), Text(_zeros_line(result, len(nonzero)), style="dim"),
                 *_reasons(labelled))


def _title(text: str) -> Text:
    """A title line above a table: the whole text, folded, never cut."""
    return Text(text, style="italic", overflow="fold")


def _matrix_table(program: Program, result: DiffResult, values: Sequence[Value] | None
                  ) -> RenderableType:
    rows, columns = result.shape  # type: ignore[misc]
    hessian = result.kind == "hessian"
    out = result.entries[0].of
    title, caption = ((f"Hessian of {out}", f"row i, column j: ∂²{out}/∂i∂j") if hessian
                      else ("Jacobian", "row: an output; column: its ∂/∂input"))
    table = Table(show_lines=True)
    table.add_column("", style="bold")
    for name in result.inputs:
        table.add_column(f"∂/∂{name}" if not hessian else name)
    single = _single(program)
    labelled: list[tuple[str, Value]] = []
    for i in range(rows):
        cells = []
        for j in range(columns):
            k = i * columns + j
            expr = result.entries[k].expression
            # Inline: each cell naming its own shared parts (t14 = ...) read as noise.
            cell = display_text(expr.nodes, expr.root, taken=program.graph.names,
                                min_length=INLINE_LIMIT)
            if values is not None:
                cell += f"\n= {_cell_text(values[k])}"
                entry = result.entries[k]
                labelled.append((derivative_label(entry.of, entry.wrt, single), values[k]))
            cells.append(cell)
        table.add_row(result.rows[i], *cells)
    return Group(_title(title), never_cut(table), Text(caption, style="dim"),
                 *_reasons(labelled))


def diff_data(program: Program, result: DiffResult, at: Mapping[str, float] | None,
              values: Sequence[Value] | None) -> dict[str, Any]:
    """The JSON document of `exprgraph diff` (keys in the README)."""
    entries = []
    single = _single(program)
    nonzero = sparse_entries(result)
    for k in range(len(result.entries)) if nonzero is None else nonzero:
        entry = result.entries[k]
        item: dict[str, Any] = {
            "of": entry.of,
            "wrt": list(entry.wrt),
            "label": derivative_label(entry.of, entry.wrt, single),
            "expr": entry.index_form or program.text(entry.expression),
            "latex": index_latex(entry.index_form) if entry.index_form
            else expression_latex(program, entry.expression),
        }
        if entry.shape is not None:
            item["shape"] = list(entry.shape.dims)
        if entry.index_form:
            item["form"] = "index"
        if values is not None:
            value = values[k]
            item["value"] = None if isinstance(value, MathError) else plain(value)
            if isinstance(value, MathError):
                item["error"] = value.to_dict()
        entries.append(item)
    data: dict[str, Any] = {
        "program": program.graph.source,
        "kind": result.kind,
        "inputs": list(result.inputs),
        "at": {k: plain(v) for k, v in at.items()} if at is not None else None,
        "results": entries,
    }
    if any(entry.shape is not None for entry in result.entries):
        data["layout"] = LAYOUTS.get(result.kind, LAYOUT)
    if result.shape is not None:
        rows, columns = result.shape
        data["rows"] = list(result.rows)
        if nonzero is None:
            data["matrix"] = [[entries[i * columns + j]["expr"] for j in range(columns)]
                              for i in range(rows)]
        else:
            # Sparse: `results` holds the non-zero entries only, each with its place.
            for item, k in zip(entries, nonzero, strict=True):
                item["row"], item["column"] = divmod(k, columns)
            data["shape"] = [rows, columns]
            data["zero_entries"] = rows * columns - len(nonzero)
    return data


def diff_lines(program: Program, result: DiffResult, latex: bool,
               values: Sequence[Value] | None) -> str:
    """Plain text or LaTeX: one `label = expression` line per derivative (a
    bare expression for a single one), or a matrix."""
    nonzero = sparse_entries(result)
    if latex and result.shape is not None and nonzero is None:
        return _latex_matrix(program, result)
    lines = []
    single = _single(program)
    for k in range(len(result.entries)) if nonzero is None else nonzero:
        entry = result.entries[k]
        expr = entry.expression
        if latex:
            body = index_latex(entry.index_form) if entry.index_form \
                else expression_latex(program, expr)
            label = derivative_label_latex(entry.of, entry.wrt, single)
        else:
            body = entry.index_form or program.text(expr)
            label = derivative_label(entry.of, entry.wrt, single)
        line = body if len(result.entries) == 1 else f"{label} = {body}"
        if values is not None and not latex:
            line += value_suffix(values[k])
        lines.append(line)
    if nonzero is not None:
        # A comment in LaTeX; in text, a line no `label = expr` line can be.
        lines.append(("% " if latex else "") + _zeros_line(result, len(nonzero)))
    return "\n".join(lines)


def expression_latex(program: Program, expr: Expression) -> str:
    """LaTeX of a result: a matrix expression with bold vectors and matrices
    and \\odot, an expression of numbers as always."""
    if expr.shapes is not None:
        return matrix_latex(expr.nodes, expr.root, expr.shapes, taken=program.graph.names)
    return latex_text(expr.nodes, expr.root, taken=program.graph.names)


def index_latex(text: str) -> str:
    """An index form (`∂Y_ij/∂X_kl = A_ik*B_lj`) in LaTeX."""
    import re

    body = text.replace("∂", "\\partial ").replace("δ", "\\delta").replace("*", " ")
    return re.sub(r"_([ijkl]{2})\b", r"_{\1}", body)


def _latex_matrix(program: Program, result: DiffResult) -> str:
    rows, columns = result.shape  # type: ignore[misc]
    cells = [latex_text(e.expression.nodes, e.expression.root, taken=program.graph.names)
             for e in result.entries]
    body = " \\\\ ".join(" & ".join(cells[i * columns:(i + 1) * columns]) for i in range(rows))
    return f"\\begin{{pmatrix}} {body} \\end{{pmatrix}}"


def simplify_table(program: Program, expr: Expression, value: Value) -> RenderableType:
    """The program and its simplified output, with its value when asked."""
    table = Table(show_header=True, title_justify="left")
    table.add_column("program")
    table.add_column("simplified", style="bold")
    row = [program.graph.source.strip(), display_text(expr.nodes, expr.root,
                                                      taken=program.graph.names)]
    if value is not None:
        table.add_column("value", justify="right")
        row.append(_cell_text(value))
    table.add_row(*row)
    return Group(never_cut(table), *_reasons([("the value", value)]))
