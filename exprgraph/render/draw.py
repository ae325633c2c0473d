"""Pictures of the graph: a terminal tree, Graphviz DOT, Mermaid, SVG/PNG.

All of them draw one description (`Drawing`): every node once, with its
kind (input, constant, operation, output), op symbol, value and adjoint when
the program was evaluated, and every edge once, labelled with its local
partial derivative ∂node/∂arg — or, drawn backwards (`backward=True`), with
the chain-rule product ∂out/∂node·∂node/∂arg that flows along it.

The terminal view is a forest of shallow trees from the output down in which a
node used twice is drawn once and referred to afterwards (`↑ p`), so sharing
stays visible, and a part deeper than six levels continues as its own tree
below (`↓ t5`), so indentation stays bounded. It stops at a node budget with a
note saying how much is left, rather than drawing what nobody can read.
SVG and PNG come from Graphviz's `dot` when it is installed; without it they
are an error that says how to get it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import deque
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from ..api import Evaluation, Program
from ..core.errors import ExpressionTooLargeError, ShapeError, ToolMissingError
from ..core.numbers import factor, format_value
from ..core.numbers import six_digits as _short
from ..core.ops import CONST, INPUT
from ..printing.text import node_expression
from ..printing.values import shape_text, value_text
from ..printing.vjp import vjp_text
from ..tasks.explain import bar

TERMINAL_BUDGET = 60  # nodes drawn in the terminal before the drawing stops
IMAGE_LIMIT = 4_000  # nodes and edges Graphviz is asked to lay out (10,000 took minutes)
IMAGE_SECONDS = 120  # and how long it may take
DEPTH_LIMIT = 6  # levels of one terminal tree; deeper parts continue below


@dataclass(frozen=True)
class DrawnNode:
    """A node as drawn: what it is and, when evaluated, its numbers."""

    index: int
    name: str
    kind: str  # "input", "const", "op" or "output"
    op: str  # the op's symbol or function name ("+", "sin"); "" for leaves
    expression: str
    value: Any  # a float, or an array for a vector or matrix; None: not evaluated
    adjoint: Any
    undefined: bool = False  # evaluated, but the adjoint is undefined there
    shape: str = ""  # "3", "3×2", "scalar" where the program has vectors or matrices


@dataclass(frozen=True)
class DrawnEdge:
    """arg → node, with ∂node/∂arg and, when evaluated, the numbers."""

    source: int  # the argument
    target: int  # the node that uses it
    partial_expr: str | None
    partial: float | None
    contribution: Any  # ∂out/∂target · ∂target/∂source (an array for a tensor edge)
    # For vectors and matrices: the source's shape (what flows forward) and
    # the target's vector–Jacobian rule for it (what flows back, ḡ = ∂out/∂target).
    shape: str = ""
    vjp: str | None = None
    # The rolled view's edges say what they are instead ("×4" on a back-edge).
    label: str | None = None
    back: bool = False


@dataclass(frozen=True)
class Drawing:
    """The whole graph as drawn."""

    nodes: tuple[DrawnNode, ...]
    edges: tuple[DrawnEdge, ...]
    output: int
    output_name: str
    # The rolled view: nodes not drawn, and each loop's cell (title, nodes).
    hidden: frozenset[int] = frozenset()
    cells: tuple[tuple[str, tuple[int, ...]], ...] = ()


def rolled_drawing(program: Program) -> Drawing:
    """Each loop drawn as one cell, its state fed back by an edge labelled
    with the number of steps (torchview's roll=True); no numbers, which
    differ from step to step."""
    from ..tasks.recurrence import roll

    graph = program.graph
    rolled = roll(graph)
    cells = tuple((cell.title, cell.nodes) for cell in rolled.cells)
    nodes = []
    for index in range(len(graph.nodes)):
        node = rolled.nodes[index]
        kind = "input" if node.op is INPUT else "const" if node.op is CONST else (
            "output" if index == rolled.output else "op")
        symbol = node.op.symbol if node.op.fixity in ("infix", "prefix") else (
            node.op.name if node.args else "")
        name = node.name
        if index == rolled.output and rolled.output != graph.output:
            name = f"{name} (last step: {graph.output_name})"
        in_cell = any(index in members for _, members in cells)
        # A cell node reads step-free names (h[t-1]); any other, the program's.
        nodes.append(DrawnNode(index, name, kind, symbol, node_expression(
            rolled.nodes if in_cell else graph.nodes, node), None, None))
    edges = tuple(DrawnEdge(edge.source, edge.target, None, None, None,
                            label=edge.label or None, back=edge.kind == "back")
                  for edge in rolled.edges)
    hidden = frozenset(range(len(graph.nodes))) - rolled.shown
    return Drawing(tuple(nodes), edges, rolled.output, graph.output_name, hidden, cells)


def drawing(program: Program, evaluation: Evaluation | None) -> Drawing:
    """The description every picture is drawn from. Where the program has
    vectors or matrices, nodes and edges carry shapes (from the values, or
    else the declarations) and edges their vector–Jacobian rules."""
    graph = program.graph
    shapes = evaluation.shapes if evaluation is not None else (
        None if program.scalar else program.shapes)
    if evaluation is None and program.shapes is None:
        unknown = [n for n in graph.input_names if n not in graph.declarations]
        raise ShapeError(f"the shapes of {', '.join(unknown)} are not known, and the "
                         "program needs some of them to be vectors or matrices",
                         hint="declare them (W: matrix(m, n); x: vector(n)) or give values")
    nodes = []
    for index, node in enumerate(graph.nodes):
        kind = "input" if node.op is INPUT else "const" if node.op is CONST else (
            "output" if index == graph.output else "op")
        symbol = node.op.symbol if node.op.fixity in ("infix", "prefix") else (
            node.op.name if node.args else "")
        nodes.append(DrawnNode(
            index, node.name, kind, symbol, node_expression(graph.nodes, node),
            evaluation.node_values[index] if evaluation else None,
            evaluation.node_adjoints[index] if evaluation else None,
            bool(evaluation and index in evaluation.undefined),
            shape_text(shapes[index]) if shapes is not None else ""))
    edges = []
    for target, position, source in graph.edges():
        if shapes is not None:
            varying = graph.nodes[source].varying
            edges.append(DrawnEdge(
                source, target, None, None,
                evaluation.contribution(target, position) if evaluation else None,
                shape_text(shapes[source]),
                vjp_text(graph.nodes, shapes, target, position) if varying else None))
            continue
        partial = evaluation.local_partial(target, position) if evaluation else None
        adjoint = evaluation.node_adjoints[target] if evaluation else None
        edges.append(DrawnEdge(
            source, target, program.local_partial_text(target, position), partial,
            None if partial is None or adjoint is None else adjoint * partial))
    return Drawing(tuple(nodes), tuple(edges), graph.output, graph.output_name)


def _number(value: Any, short: bool = True) -> str:
    """A value in a drawing: a float, or a small array inline, a large one summarised."""
    if hasattr(value, "ndim"):
        return value_text(value, one_line=True)
    return _short(value) if short else format_value(value)


def _edge_label(edge: DrawnEdge, drawing: Drawing, backward: bool, short: bool = False) -> str:
    if edge.label is not None or drawing.cells:
        return edge.label or ""
    if drawing.nodes[edge.source].kind == "const":
        return ""  # nothing is differentiated with respect to a constant
    source = drawing.nodes[edge.source].name
    target = drawing.nodes[edge.target].name
    if edge.shape:  # vectors and matrices: the shape forward, the rule backward
        if not backward:
            return edge.shape
        rule = f"∂{drawing.output_name}/∂{source} += {edge.vjp or '0'}"
        return rule if edge.contribution is None else \
            f"{rule} = {_number(edge.contribution)}"
    if backward:
        if edge.contribution is None:
            return f"∂{drawing.output_name}/∂{target}·∂{target}/∂{source}"
        adjoint = drawing.nodes[edge.target].adjoint or 0.0
        partial = edge.partial or 0.0
        return (f"∂{drawing.output_name}/∂{target}·∂{target}/∂{source} = "
                f"{factor(adjoint, format_value(adjoint))}·"
                f"{factor(partial, format_value(partial))} = "
                f"{format_value(edge.contribution)}")
    label = f"∂{target}/∂{source}"
    number = _short if short else format_value
    if edge.partial_expr is not None:
        label += f" = {edge.partial_expr}"
        if edge.partial is not None and edge.partial_expr != number(edge.partial):
            label += f" = {number(edge.partial)}"
        elif edge.partial is None and drawing.nodes[edge.target].value is not None:
            label += " = undefined"
    return label


# --- terminal ------------------------------------------------------------------


def terminal_view(drawing: Drawing, budget: int = TERMINAL_BUDGET,
                  depth_limit: int = DEPTH_LIMIT) -> Group:
    """The graph from the output down, as a forest of shallow trees: a node
    is drawn once (then `↑ name`), and a subtree deeper than `depth_limit`
    continues as its own tree further down (`↓ name`), so indentation stays
    bounded however deep the graph is."""
    users: dict[int, list[DrawnEdge]] = {}
    for edge in drawing.edges:
        users.setdefault(edge.target, []).append(edge)
    out = drawing.output_name
    drawn: set[int] = set()
    queued = {drawing.output}
    roots = deque([drawing.output])
    trees: list[RenderableType] = []
    operations = sum(1 for n in drawing.nodes if n.kind != "const"
                     and n.index not in drawing.hidden)
    while roots:
        if len(drawn) >= budget:
            trees.append(Text(f"… {operations - len(drawn)} more nodes not drawn: --format "
                              "dot, mermaid or svg draws them all", style="yellow"))
            break
        top = roots.popleft()
        drawn.add(top)
        tree = Tree(_node_text(drawing.nodes[top], out), guide_style="dim")
        stack = [(tree, edge, 1) for edge in reversed(users.get(top, []))]
        while stack:
            parent, edge, depth = stack.pop()
            node = drawing.nodes[edge.source]
            if node.kind == "const":
                parent.add(Text(f"{edge.label}  " if edge.label else "", style="dim")
                           .append(node.name))
                continue
            # A node shows its own shape: a tensor edge's label would repeat it.
            shown = "" if edge.shape else _edge_label(edge, drawing, False, short=True)
            label = Text(f"{shown}  " if shown else "", style="dim")
            if edge.source in drawn:
                parent.add(label.append(f"↑ {node.name}", style="italic cyan"))
            elif edge.source in queued or (depth >= depth_limit and users.get(edge.source)) \
                    or len(drawn) >= budget:
                if edge.source not in queued:
                    queued.add(edge.source)
                    roots.append(edge.source)
                parent.add(label.append(f"↓ {node.name}", style="italic cyan"))
            else:
                drawn.add(edge.source)
                branch = parent.add(label.append_text(_node_text(node, out)))
                stack.extend((branch, e, depth + 1) for e in reversed(users.get(edge.source, [])))
        trees.append(tree)
    return Group(*trees)


def _node_text(node: DrawnNode, output: str) -> Text:
    style = {"input": "bold cyan", "output": "bold green"}.get(node.kind, "bold")
    text = Text(node.name, style=style)
    if node.kind in ("op", "output"):
        text.append(f" = {node.expression}")
    if node.shape:
        text.append(f"  ({node.shape})", style="dim")
    if node.value is not None:
        text.append(f"  = {_number(node.value)}", style="magenta")
    if node.adjoint is not None:
        text.append(f"  {bar(node.name)} = {_number(node.adjoint)}", style="green")
    elif node.undefined:
        text.append(f"  {bar(node.name)} undefined", style="red")
    return text


def roll_legend(drawing: Drawing) -> Text:
    """What the rolled terminal drawing means."""
    titles = "; ".join(title for title, _ in drawing.cells)
    return Text(f"rolled ({titles}): one step stands for every step; ↑ h[t] on an edge "
                "labelled ×N is the back-edge, the state fed from one step into the next; "
                "an edge labelled t = 1 enters the first step, t = N leaves the last",
                style="dim")


def legend(drawing: Drawing) -> Text | None:
    """What the terminal drawing's symbols mean, when it shows adjoints."""
    if all(node.adjoint is None and not node.undefined for node in drawing.nodes):
        return None
    out = drawing.output_name
    if any(node.shape for node in drawing.nodes):
        return Text(f"for each node v, {bar('v')} is the adjoint ∂{out}/∂v, of v's shape "
                    "(over every path from the output); in brackets each node's shape: "
                    "(n) a vector of length n, (m×n) a matrix", style="dim")
    return Text(f"for each node v, {bar('v')} is the adjoint ∂{out}/∂v (over every path "
                f"from {out}); ∂a/∂b on an edge is a's local partial in b, one step of the "
                "chain rule", style="dim")


# --- Graphviz DOT -------------------------------------------------------------------

# One palette for every picture: fill, border and text colour per node kind.
PALETTE = {
    "input": ("#dbeafe", "#1d4ed8", "#000000"),
    "const": ("#f3f4f6", "#9ca3af", "#6b7280"),
    "op": ("#ffffff", "#374151", "#000000"),
    "output": ("#dcfce7", "#15803d", "#000000"),
}


def _dot_style(kind: str) -> str:
    fill, border, text = PALETTE[kind]
    bold = ', penwidth=2, style="filled,bold"' if kind == "output" else ", style=filled"
    return f'fillcolor="{fill}", color="{border}", fontcolor="{text}"{bold}'


def _fields(node: DrawnNode, output: str) -> tuple[list[str], list[str]]:
    """A node's label: its name (and expression), then its numbers."""
    names = [node.name] + ([node.expression] if node.kind in ("op", "output") else [])
    numbers = [f"shape {node.shape}"] if node.shape else []
    if node.value is not None:
        numbers.append(f"value {_number(node.value, short=False)}")
    if node.adjoint is not None:
        # "adjoint", not ∂out/∂x: an edge's ∂a/∂b is a local partial.
        numbers.append(f"adjoint {_number(node.adjoint, short=False)}")
    elif node.undefined:
        numbers.append("adjoint undefined")
    return names, numbers


def _record(text: str) -> str:
    """Escape text for a field of a DOT record label."""
    for char in "\\{}|<>\"":
        text = text.replace(char, "\\" + char)
    return text


def dot_text(drawing: Drawing, backward: bool = False) -> str:
    """The graph in Graphviz's DOT language, micrograd-style records."""
    lines = ["digraph exprgraph {",
             "  rankdir=LR;",
             '  node [shape=record, fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    out = drawing.output_name
    in_cell = {node: k for k, (_, members) in enumerate(drawing.cells) for node in members}
    node_lines: dict[int | None, list[str]] = {}
    for node in drawing.nodes:
        if node.index in drawing.hidden:
            continue
        names, numbers = _fields(node, out)
        label = " | ".join(_record(f) for f in names + numbers)
        node_lines.setdefault(in_cell.get(node.index), []).append(
            f'  n{node.index} [label="{{ {label} }}", {_dot_style(node.kind)}];')
    lines.extend(node_lines.get(None, []))
    for k, (title, _) in enumerate(drawing.cells):
        # A cluster: Graphviz draws a box round the loop's cell, titled.
        lines.append(f"  subgraph cluster_loop{k} {{")
        lines.append(f'    label="{_record(title)}"; style="rounded,dashed"; color="#7c3aed";')
        lines.extend("  " + line for line in node_lines.get(k, []))
        lines.append("  }")
    for edge in drawing.edges:
        label = _edge_label(edge, drawing, backward).replace('"', '\\"')
        start, end = (edge.target, edge.source) if backward else (edge.source, edge.target)
        color = ', color="#dc2626", fontcolor="#dc2626"' if backward else ""
        if edge.back:
            color = ', color="#7c3aed", fontcolor="#7c3aed", style=bold, constraint=false'
        lines.append(f'  n{start} -> n{end} [label="{label}"{color}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_image(dot: str, image_format: str) -> bytes:
    """SVG or PNG bytes from DOT, by Graphviz's `dot`."""
    executable = shutil.which("dot")
    if executable is None:
        raise ToolMissingError(
            f"--format {image_format} needs Graphviz's dot program, which is not installed",
            hint="install Graphviz (apt-get install graphviz, brew install graphviz, or "
            "winget install graphviz); --format dot and --format mermaid work without it")
    nodes = dot.count(" [label=")  # one per node and edge line: a fair size measure
    if nodes > IMAGE_LIMIT:
        raise ExpressionTooLargeError(
            f"the graph is too large for Graphviz to lay out in reasonable time "
            f"({nodes:,} nodes and edges; the limit for {image_format} is {IMAGE_LIMIT:,})",
            hint="--format dot writes it for another tool; the terminal view draws a part")
    try:
        done = subprocess.run([executable, f"-T{image_format}"], input=dot.encode("utf-8"),
                              capture_output=True, check=False, timeout=IMAGE_SECONDS)
    except subprocess.TimeoutExpired:
        raise ExpressionTooLargeError(
            f"Graphviz did not finish the drawing within {IMAGE_SECONDS} s",
            hint="--format dot writes the graph for another tool") from None
    if done.returncode != 0:
        raise ToolMissingError(f"Graphviz's dot failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


# --- Mermaid ----------------------------------------------------------------------

def _mermaid(text: str) -> str:
    """Escape text for a quoted Mermaid label."""
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid_text(drawing: Drawing, backward: bool = False) -> str:
    """The graph as a Mermaid flowchart (renders on GitHub, in Markdown)."""
    lines = ["flowchart BT" if not backward else "flowchart TB"]
    out = drawing.output_name
    in_cell = {node: k for k, (_, members) in enumerate(drawing.cells) for node in members}
    node_lines: dict[int | None, list[str]] = {}
    for node in drawing.nodes:
        if node.index in drawing.hidden:
            continue
        parts, numbers = _fields(node, out)
        if numbers:
            parts.append(" · ".join(numbers))
        node_lines.setdefault(in_cell.get(node.index), []).append(
            f'  n{node.index}["{"<br/>".join(_mermaid(p) for p in parts)}"]')
    lines.extend(node_lines.get(None, []))
    for k, (title, _) in enumerate(drawing.cells):
        lines.append(f'  subgraph loop{k}["{_mermaid(title)}"]')
        lines.extend("  " + line for line in node_lines.get(k, []))
        lines.append("  end")
    for edge in drawing.edges:
        start, end = (edge.target, edge.source) if backward else (edge.source, edge.target)
        label = _edge_label(edge, drawing, backward)
        arrow = "-.->" if edge.back else "-->"  # a back-edge dotted
        if label:
            arrow += f'|"{_mermaid(label)}"|'
        lines.append(f"  n{start} {arrow} n{end}")
    for kind, (fill, border, text) in PALETTE.items():
        members = [f"n{n.index}" for n in drawing.nodes if n.kind == kind
                   and n.index not in drawing.hidden]
        if members:
            width = ",stroke-width:3px" if kind == "output" else ""
            lines.append(f"  classDef {kind} fill:{fill},stroke:{border},color:{text}{width}")
            lines.append(f"  class {','.join(members)} {kind}")
    return "\n".join(lines) + "\n"
