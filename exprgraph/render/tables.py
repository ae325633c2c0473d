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
from ..errors import ExprGraphError
from ..evaluate import format_value
from ..ops import CONST, INPUT
from .text import node_expression

SYMBOLIC_WIDTH = 240  # characters of a symbolic derivative shown in a table


def evaluation_tables(program: Program, evaluation: Evaluation, max_rows: int = 100
                      ) -> RenderableType:
    """The node, edge and gradient tables for one evaluation."""
    graph = program.graph
    title = Text.assemble(("output ", "dim"), (graph.output_name, "bold"),
                          (" = ", "dim"), (format_value(evaluation.value), "bold green"))
    return Group(title, node_table(program, evaluation, max_rows),
                 edge_table(program, evaluation, max_rows), gradient_table(program, evaluation))


def node_table(program: Program, evaluation: Evaluation, max_rows: int) -> Table:
    """Forward and backward pass: every node's value and adjoint."""
    graph = program.graph
    out = graph.output_name
    table = Table(title="Nodes: value (forward), adjoint (backward)",
                  title_justify="left")
    table.add_column("node", style="bold")
    table.add_column("op")
    table.add_column("expression")
    table.add_column("value", justify="right")
    table.add_column(f"∂{out}/∂node", justify="right")
    rows = list(enumerate(graph.nodes))
    for i, node in _limit(rows, max_rows, table):
        adjoint = evaluation.node_adjoints[i]
        name = node.name + (f" (= {', '.join(node.aliases)})" if node.aliases else "")
        style = "dim" if node.op is CONST else "cyan" if node.op is INPUT else (
            "green" if i == graph.output else None)
        table.add_row(name, node.op.name, node_expression(graph.nodes, node),
                      format_value(evaluation.node_values[i]),
                      "—" if adjoint is None else format_value(adjoint), style=style)
    return table


def edge_table(program: Program, evaluation: Evaluation, max_rows: int) -> Table:
    """The chain rule edge by edge: local partial × adjoint = contribution."""
    graph = program.graph
    nodes = graph.nodes
    out = graph.output_name
    table = Table(title=f"Edges: chain rule, ∂{out}/∂arg = Σ ∂{out}/∂node · ∂node/∂arg",
                  title_justify="left")
    table.add_column("edge")
    table.add_column("∂node/∂arg")
    table.add_column("=", justify="right")
    table.add_column(f"× ∂{out}/∂node", justify="right")
    table.add_column("= contribution", justify="right")
    edges = [(i, position, arg) for i, position, arg in graph.edges() if nodes[arg].varying]
    for i, position, arg in _limit(edges, max_rows, table):
        partial = evaluation.local_partial(i, position)
        adjoint = evaluation.node_adjoints[i]
        table.add_row(
            f"{nodes[arg].name} → {nodes[i].name}",
            _shortened(f"∂{nodes[i].name}/∂{nodes[arg].name} = "
                       f"{program.local_partial_text(i, position)}"),
            "undefined" if partial is None else format_value(partial),
            "—" if adjoint is None else format_value(adjoint),
            "—" if partial is None or adjoint is None else format_value(adjoint * partial),
        )
    return table


def gradient_table(program: Program, evaluation: Evaluation) -> Table:
    """∂out/∂input for every input, numeric and symbolic."""
    out = program.graph.output_name
    table = Table(title=f"Gradient of {out}", title_justify="left")
    table.add_column("input", style="cyan")
    table.add_column("value", justify="right")
    table.add_column(f"∂{out}/∂input", justify="right", style="bold")
    table.add_column("symbolic")
    for name, slope in evaluation.gradient.items():
        try:
            symbolic = program.derivative(name)
        except ExprGraphError as exc:  # too large to print, say
            symbolic = f"({exc.message})"
        table.add_row(name, format_value(evaluation.given.get(name, 0.0)), format_value(slope),
                      _shortened(symbolic))
    return table


def _shortened(text: str, width: int = SYMBOLIC_WIDTH) -> str:
    """`text`, cut with a note when it is too long to read in a table."""
    if len(text) <= width:
        return text
    return f"{text[:width]}… ({len(text):,} characters; --format json gives all)"


def _limit(rows: list, max_rows: int, table: Table) -> list:
    """The first `max_rows` rows (all when 0), noting what was left out."""
    if max_rows <= 0 or len(rows) <= max_rows:
        return rows
    table.caption = (f"{len(rows) - max_rows} more rows not shown: "
                     "--max-rows 0 shows all, --format json gives everything")
    return rows[:max_rows]
