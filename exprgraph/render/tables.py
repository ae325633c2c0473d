"""Evaluations as Rich tables that make the chain rule visible.

Three tables: the nodes (forward pass: each node's value; backward pass: its
adjoint ∂out/∂node), the edges (each local partial ∂node/∂arg, symbolic and
numeric, times the adjoint of the node, giving that edge's share of
∂out/∂arg), and the gradient (∂out/∂input, numeric and symbolic). The
builders return renderables; only the CLI prints.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..api import Evaluation, Program
from ..core.errors import ExprGraphError
from ..core.numbers import format_value
from ..core.ops import CONST, INPUT
from ..core.shapes import describe
from ..core.text import counted
from ..printing.text import node_expression
from ..printing.values import shape_text, value_text
from .layout import Notes, WideOrNarrow, never_cut


def evaluation_tables(program: Program, evaluation: Evaluation, max_rows: int = 100,
                      full: bool = False) -> RenderableType:
    """The node, edge and gradient tables for one evaluation; `full` prints
    every number of a vector or matrix (else a large one is summarised)."""
    graph = program.graph
    title = Text.assemble(("output ", "dim"), (graph.output_name, "bold"),
                          (" = ", "dim"), (value_text(evaluation.value, full), "bold green"))
    if evaluation.shapes is not None and not evaluation.shapes[graph.output].is_scalar:
        shape = evaluation.shapes[graph.output]
        title.append(f"\nthe output is {describe(shape)}; the adjoints below are of " + (
                         f"⟨seed, {graph.output_name}⟩, the seed given as ∂L/∂"
                         f"{graph.output_name}" if evaluation.seed is not None else
                         f"sum({graph.output_name}), the sum of its elements"), style="dim")
    if not program.inputs and not evaluation.unused:
        # A constant program: no edge carries a derivative, no input has one.
        return Group(title, node_table(program, evaluation, max_rows, full),
                     Text("No inputs, so there is nothing to differentiate.", style="dim"))
    edges = tensor_edge_table(program, evaluation, max_rows, full) if evaluation.is_tensor \
        else edge_table(program, evaluation, max_rows)
    parts = [title, node_table(program, evaluation, max_rows, full), edges,
             gradient_table(program, evaluation, max_rows, full)]
    if program.graph.loops:
        parts.append(through_time_table(program, evaluation, max_rows, full))
    return Group(*parts)


def _all_of_it() -> Notes:
    return Notes("exprgraph diff PROGRAM --format text prints it whole")


def node_table(program: Program, evaluation: Evaluation, max_rows: int, full: bool = False
               ) -> RenderableType:
    """Forward and backward pass: every node's value and adjoint (with a
    shape column where there are vectors or matrices: an adjoint has its
    node's shape). On a narrow terminal the op column goes (the expression
    shows the op)."""
    graph = program.graph
    out = graph.output_name
    rows = list(enumerate(graph.nodes))
    notes = _all_of_it()
    # One cell text per node for both layouts: a long one is a note below either.
    expressions = {i: notes.cell(node.name, node_expression(graph.nodes, node))
                   for i, node in _limit(rows, max_rows, Table())}
    steps = _step_column(program)
    tables = []
    for with_op in (True, False):
        table = Table(title="Nodes: value (forward), adjoint (backward)",
                      title_justify="left")
        table.add_column("node", style="bold")
        if with_op:
            table.add_column("op")
        table.add_column("expression" if with_op else "expr")
        if steps is not None:
            table.add_column(steps[0], justify="right")
        if evaluation.shapes is not None:
            table.add_column("shape")
        table.add_column("value", justify="right")
        table.add_column(f"∂{out}/∂node", justify="right")
        for i, node in _limit(rows, max_rows, table):
            name = node.name + (f" (= {', '.join(node.aliases)})" if node.aliases else "")
            style = "dim" if node.op is CONST else "cyan" if node.op is INPUT else (
                "green" if i == graph.output else None)
            shape = [] if evaluation.shapes is None else [shape_text(evaluation.shapes[i])]
            step = [] if steps is None else [steps[1].get(i, "")]
            cells = [name, *([node.op.name] if with_op else []), expressions[i], *step, *shape,
                     value_text(evaluation.node_values[i], full),
                     _adjoint_text(evaluation, i, full)]
            table.add_row(*cells, style=style)
        tables.append(never_cut(table))
    return notes.below(WideOrNarrow(tables[0], tables[1]))


def _step_column(program: Program) -> tuple[str, dict[int, str]] | None:
    """For a program with loops: the step column's header (the loop's
    variable, or `step` for loops over several) and each loop node's step."""
    if not program.graph.loops:
        return None
    from ..tasks.recurrence import step_of_nodes  # only for loops: not at every start-up

    variables = {loop.variable for loop in program.graph.loops}
    header = next(iter(variables)) if len(variables) == 1 else "step"
    return header, {node: str(step) for node, (_, step) in step_of_nodes(program).items()}


def through_time_table(program: Program, evaluation: Evaluation, max_rows: int = 0,
                       full: bool = False) -> RenderableType:
    """Backprop through time: each input the loop's steps share, with what
    every step passes back to it and their sum, its gradient (`max_rows`
    rows at most; 0: all)."""
    from ..tasks.recurrence import StepShare, through_time

    out = program.graph.output_name
    shared = through_time(program, evaluation)
    if not shared:
        return Text("No input is used by more than one step of the loop.", style="dim")
    variable = shared[0].variable
    table = Table(title=f"Through time: a shared input's ∂{out}/∂input is the sum of what "
                  "each step passes back", title_justify="left")
    table.add_column("input", style="cyan")
    table.add_column(variable if len({s.variable for s in shared}) == 1 else "step",
                     justify="right")
    table.add_column("used by")
    table.add_column("passes back", justify="right")
    # Each input's first and last steps and always its sum, within max_rows.
    per_input = max(4, max_rows // len(shared) - 1) if max_rows > 0 else 0
    for number, entry in enumerate(shared):
        shares: list[StepShare | None] = list(entry.shares)
        left_out = 0
        if per_input and len(shares) > per_input:
            left_out = len(shares) - per_input
            shares = [*shares[:per_input // 2], None, *shares[len(shares) - per_input // 2:]]
        for share in shares:
            if share is None:
                table.add_row(entry.name, "…", Text(f"{left_out} more steps not shown "
                                                     "(--max-rows 0 shows all)", style="dim"),
                              "")
                continue
            table.add_row(entry.name, "outside" if share.step is None else str(share.step),
                          ", ".join(share.via),
                          "undefined" if share.contribution is None else
                          value_text(share.contribution, full))
        total = "undefined" if entry.gradient is None else value_text(entry.gradient, full)
        table.add_row(entry.name, "sum", "", Text(f"∂{out}/∂{entry.name} = {total}",
                                                   style="bold"),
                      end_section=number < len(shared) - 1)
    return never_cut(table)


def edge_table(program: Program, evaluation: Evaluation, max_rows: int) -> RenderableType:
    """The chain rule edge by edge: local partial × adjoint = contribution. On a
    narrow terminal the three numbers stack in one column."""
    graph = program.graph
    nodes = graph.nodes
    out = graph.output_name
    title = f"Edges: chain rule, ∂{out}/∂arg = Σ ∂{out}/∂node · ∂node/∂arg"
    wide = Table(title=title, title_justify="left")
    wide.add_column("edge")
    wide.add_column("∂node/∂arg")
    wide.add_column("=", justify="right")
    wide.add_column(f"× ∂{out}/∂node", justify="right")
    wide.add_column("= contribution", justify="right")
    narrow = Table(title=title, title_justify="left")
    narrow.add_column("edge")
    narrow.add_column("∂node/∂arg")
    narrow.add_column(f"value, × ∂{out}/∂node, = contribution", justify="right")
    edges = [(i, position, arg) for i, position, arg in graph.edges() if nodes[arg].varying]
    notes = _all_of_it()
    for i, position, arg in _limit(edges, max_rows, wide):
        partial = evaluation.local_partial(i, position)
        contribution = evaluation.contribution(i, position)
        label = f"∂{nodes[i].name}/∂{nodes[arg].name}"
        formula = notes.cell(label, f"{program.local_partial_text(i, position)}")
        edge = f"{nodes[arg].name} → {nodes[i].name}"
        numbers = ["undefined" if partial is None else format_value(partial),
                   _adjoint_text(evaluation, i),
                   _contribution_text(evaluation, i, partial, contribution)]
        wide.add_row(edge, f"{label} = {formula}", *numbers)
        narrow.add_row(edge, f"{label} = {formula}",
                       f"{numbers[0]}\n× {numbers[1]}\n= {numbers[2]}")
    narrow.caption = wide.caption
    return notes.below(WideOrNarrow(never_cut(wide), never_cut(narrow)))


def _contribution_text(evaluation: Evaluation, node: int, partial: float | None,
                       contribution: float | None) -> str:
    """An edge's contribution: a number, "undefined" where it is too large for a
    float, or "—" where a factor is missing."""
    if contribution is not None:
        return format_value(contribution)
    defined = partial is not None and evaluation.node_adjoints[node] is not None \
        and node not in evaluation.undefined
    return "undefined" if defined else "—"


def _adjoint_text(evaluation: Evaluation, node: int, full: bool = False) -> str:
    """A node's adjoint: a number (or array), "undefined" or "—" for a constant."""
    if node in evaluation.undefined:
        return "undefined"
    adjoint = evaluation.node_adjoints[node]
    return "—" if adjoint is None else value_text(adjoint, full)


def tensor_edge_table(program: Program, evaluation: Evaluation, max_rows: int,
                      full: bool = False) -> RenderableType:
    """The chain rule for vectors and matrices, edge by edge: each edge passes
    its argument the vector–Jacobian product of the node's adjoint ḡ (the
    op's rule, in the program's names), of the argument's shape; an
    argument's adjoint is the sum of what its edges pass."""
    from ..printing.vjp import ADJOINT, vjp_text

    graph = program.graph
    nodes = graph.nodes
    out = graph.output_name
    assert evaluation.shapes is not None
    title = (f"Edges: chain rule, ∂{out}/∂arg = Σ over the nodes using arg of the rule "
             f"below, {ADJOINT} = ∂{out}/∂node")
    table = Table(title=title, title_justify="left")
    table.add_column("edge")
    table.add_column("vector–Jacobian rule")
    table.add_column("shape")
    table.add_column("= contribution", justify="right")
    edges = [(i, position, arg) for i, position, arg in graph.edges() if nodes[arg].varying]
    notes = _all_of_it()
    for i, position, arg in _limit(edges, max_rows, table):
        label = f"∂{out}/∂{nodes[arg].name} +="
        rule = notes.cell(label, vjp_text(nodes, evaluation.shapes, i, position))
        contribution = evaluation.contribution(i, position)
        shown = "—" if evaluation.node_adjoints[i] is None else (
            "undefined" if contribution is None else value_text(contribution, full))
        table.add_row(f"{nodes[arg].name} → {nodes[i].name}", f"{label} {rule}",
                      shape_text(evaluation.shapes[arg]), shown)
    return notes.below(never_cut(table))


def gradient_table(program: Program, evaluation: Evaluation, max_rows: int = 0,
                   full: bool = False) -> RenderableType:
    """∂out/∂input for every input, numeric and symbolic (`max_rows` of them).
    For vectors and matrices the gradient has the input's shape; their
    symbolic gradients (matrix calculus) are not built yet, so that column
    goes, with a caption that says so."""
    out = program.graph.output_name
    table = Table(title=f"Gradient of {out}", title_justify="left")
    table.add_column("input", style="cyan")
    table.add_column("value", justify="right")
    table.add_column(f"∂{out}/∂input", justify="right", style="bold")
    table.add_column("symbolic")
    undefined = evaluation.undefined_gradient
    notes = _all_of_it()
    formulas = _matrix_formulas(program, evaluation) if evaluation.is_tensor else {}
    gradient = evaluation.gradient
    for name in _limit([*program.inputs, *evaluation.unused], max_rows, table):
        # `evaluate_wrt` leaves out the inputs it was not asked for.
        slope = "undefined" if name in undefined else \
            value_text(gradient[name], full) if name in gradient else "not computed"
        cells = [name, value_text(evaluation.given.get(name, 0.0), full), slope]
        try:
            symbolic = formulas.get(name, "0") if evaluation.is_tensor else \
                program.derivative(name)
        except ExprGraphError as exc:  # too large to print, say
            symbolic = f"({exc.message})"
        cells.append(notes.cell(f"∂{out}/∂{name}", symbolic))
        table.add_row(*cells)
    if evaluation.is_tensor:
        table.caption = ((table.caption + "\n") if table.caption else "") + \
            "Each gradient has its input's shape (the symbolic column in matrix notation)."
        table.caption_justify = "left"
    return notes.below(never_cut(table))


def _matrix_formulas(program: Program, evaluation: Evaluation) -> dict[str, str]:
    """The gradients in matrix notation, or for every input why there are none
    (a vector output, a function whose matrix rule is not built yet)."""
    try:
        found = program.matrix_gradients(evaluation.shapes)
    except ExprGraphError as exc:
        return {name: f"({exc.message})" for name in program.inputs}
    return {name: program.text(expr) for name, (expr, _) in found.items()}


def _limit(rows: list, max_rows: int, table: Table) -> list:
    """The first `max_rows` rows (all when 0), noting what was left out."""
    if max_rows <= 0 or len(rows) <= max_rows:
        return rows
    table.caption = (f"{counted(len(rows) - max_rows, 'more row')} not shown: "
                     "--max-rows 0 shows all, --format json gives everything")
    table.caption_justify = "left"
    return rows[:max_rows]
