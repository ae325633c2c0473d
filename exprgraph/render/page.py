"""`graph --format html`: one self-contained page that steps through backprop.

The page shows the graph as inline SVG and lets a learner step through the
forward pass node by node (topological order: the inputs in one step, then
each operation), then the backward pass (reverse order), each step
highlighting the node and its edges and showing the numbers: a value as
op(args) with the arguments' numbers, an adjoint, and along each edge the
chain-rule product ∂out/∂node·∂node/∂arg, as `graph --backward` labels it.
Inputs are editable in the page, and both passes are recomputed there; an
input given no value starts empty, for the learner to type (the page says
so), and until every input has a number the steps show the structure and
the symbolic partials. One file, no network: every script, style and the
data are inline, so it works offline and on any course site. The page steps
through numbers: a vector or matrix that the program reads element by
element at constant positions (`x[t-1]` in an unrolled loop) becomes one
input per element read, `x[0]`, `x[1]`, ... (`page_program`); one used
whole (`W @ x`) is refused, saying so.

How the page recomputes, and why so: the op table is exported to
JavaScript (`printing/javascript.py`): each op's derivative rule, written
once against the builder protocol, is run over an algebra of JavaScript text,
and the forward functions come from one name map that a test checks covers
every op. The alternative, writing out the numbers the tool computed, could
not follow an edited input; a hand-written JavaScript copy of the rules
would drift from `ops.py`. The page runs the same loops as `passes/autodiff.py`
over the graph's node list (a table of functions, no eval), with the same
policy: a node whose adjoint is exactly 0 passes nothing back (its partials
are not needed), and a value or partial that is not a finite float is shown
as undefined, never as NaN.

Layout is done here, without Graphviz (`layout`): layered by longest path
from the inputs, then every node pulled down to just before its first user
(a weight sits beside its product, not in a column of all inputs); a leaf
used far from its box drawn again there as a dashed reference, as the
terminal tree's `↑ w`; other long edges broken by virtual points so they run
between nodes; the order within a level by barycentre sweeps, keeping the
order with the fewest crossings; positions by least-squares placement next
to the neighbours (isotonic regression with a minimum gap), a chain held
straight under its longest branch; left to right unless top to bottom is
narrower for a deep graph.
"""

from __future__ import annotations

import html
import json
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import pairwise
from typing import Any

from ..api import Program
from ..core.errors import ExpressionTooLargeError, ShapeError
from ..core.graph import Graph, Loop, Node
from ..core.ops import CONST, INPUT
from ..core.tensor_ops import TENSOR_OPS
from ..printing.javascript import exported_ops, op_table_js
from ..printing.text import node_expression

READABLE_NODES = 60  # above this the page says the picture gets hard to read
PAGE_LIMIT = 2_000  # nodes: beyond this a page is too large to lay out or to read

# Geometry, in pixels. Node text is monospace, so a label's width is known here.
CHAR_WIDTH = 7.4  # 12px monospace (DejaVu Sans Mono is 7.22)
LINE_HEIGHT = 17
PAD_X, PAD_Y = 8, 6
RANK_GAP_LR = 80  # between the columns of a left-to-right drawing (room for a number)
RANK_GAP_TB = 46  # between the rows of a top-to-bottom one
ORDER_GAP = 14  # between nodes of one level
DUMMY_SIZE = 6  # the room a long edge takes where it passes a level
MARGIN = 12
LABEL_CHARS = 26  # a node's name and expression are cut (…) beyond this
# Room for a number in a box: most short numbers (-0.462117) fit; the page's
# script squeezes a longer one (-1.23457e+08) into the same room.
NUMBER_CHARS = 9
FIT_WIDTH = 1100  # a left-to-right drawing wider than this tries top to bottom
PROGRAM_SHOWN = 240  # characters of the program above the page; a longer one folds
OPEN_INPUTS = 12  # more inputs than this start folded away (their values show in the boxes)
FIELD_CHARS = 14  # an input's name beside its box is cut (in the middle) beyond this
GROW_UNTIL = 520  # a small drawing is shown larger, up to this height (and 1.5 times)
SWEEPS = 12
SPINE_WEIGHT = 8.0  # how firmly a node holds its place under its spine (see _spine)
VIRTUAL_BUDGET = 3_000  # virtual points on long edges, at most


# --- the data the page is built from ------------------------------------------------


@dataclass
class Box:
    """A node as laid out: its level, its place in the level, its size and centre."""

    index: int
    level: int
    width: float
    height: float
    lines: tuple[str, ...]
    dummy: bool = False
    ref: int | None = None  # a leaf drawn again by a far use: the leaf's node index
    x: float = 0.0
    y: float = 0.0


@dataclass
class Layout:
    """Where every node and edge is drawn."""

    boxes: list[Box]  # real nodes first (by node index), then the virtual points
    routes: list[list[int]]  # per edge: the boxes it passes, source first
    width: float
    height: float
    across: bool  # True: left to right; False: top to bottom
    crossings: int = 0
    levels: list[list[int]] = field(default_factory=list)
    # Each level's extent along the rank axis (x when `across`): (start, end).
    bands: list[tuple[float, float]] = field(default_factory=list)


def check_drawable(program: Program, values: Mapping[str, Any] | None) -> None:
    """Raise a typed error for a program the page cannot step through:
    a vector or matrix used whole (one read element by element, `x[t-1]`,
    is drawn as one input per element: `page_program`), or too many nodes
    to lay out."""
    page_program(program, values)


def page_program(program: Program, values: Mapping[str, Any] | None
                 ) -> tuple[Program, dict[str, float] | None]:
    """The program the page steps through, and its starting values.

    A vector or matrix input that the program only ever reads element by
    element at constant positions (`x[t-1]` in an unrolled loop reads x[0],
    x[1], ...; `A[0][1]`) is replaced by one number input per element read,
    named as the program reads it (`x[0]`), with that element of the given
    value; the page then steps through numbers only. Raises ShapeError,
    saying which input and where, for an input used whole (`W @ x`,
    `sum(x)`), or given a vector where the program uses a number; and
    ExpressionTooLargeError past `PAGE_LIMIT` nodes."""
    graph = program.graph
    nodes = graph.nodes
    given = dict(values or {})
    users: list[list[int]] = [[] for _ in nodes]
    for index, node in enumerate(nodes):
        for arg in node.args:
            users[arg].append(index)
    exported = {op.name for op in exported_ops()}
    tensor_program = any(node.op.name in TENSOR_OPS and node.op.name != "index"
                         for node in nodes)
    piece_names: dict[int, str] = {}  # an index node read from an input: its text, X[1]
    elements: dict[int, tuple[int, tuple[int, ...]]] = {}  # element node: (input, path)
    removed: set[int] = set()  # the inputs read element by element, and the index nodes
    for index in graph.inputs:
        name = nodes[index].label
        value = given.get(name)
        rank = getattr(value, "ndim", None)
        declared = graph.declarations.get(name)
        if rank is None and declared is not None and not declared.is_scalar:
            rank = declared.rank
        # Every place the input is used, through any chain of constant indices.
        whole: list[tuple[int, int]] = []  # (piece, user): a piece used in an operation
        reads: list[tuple[int, tuple[int, ...]]] = []  # (index node, path) at the chain's end
        stack: list[tuple[int, tuple[int, ...]]] = [(index, ())]
        while stack:
            piece, path = stack.pop()
            ends = False
            for user in users[piece]:
                node = nodes[user]
                if node.op.name == "index" and node.args[0] == piece and \
                        nodes[node.args[1]].op is CONST:
                    position = nodes[node.args[1]].value
                    piece_names[user] = f"{piece_names.get(piece, name)}[{int(position)}]"
                    stack.append((user, (*path, int(position))))
                else:
                    ends = True
                    whole.append((piece, user))
            if piece == graph.output:
                ends = True
                whole.append((piece, -1))
            if ends and path:
                reads.append((piece, path))
        depths = {len(path) for _, path in reads}
        if rank is None:  # no value and no declaration: the reads say what it is
            rank = max(depths, default=0)
        path_at = dict(reads)
        for piece, user in whole:
            depth = len(path_at.get(piece, ()))
            if depth >= rank and (user < 0 or nodes[user].op.name in exported):
                continue  # a number, used as one
            raise _whole_use(program, piece_names, piece, user, rank - depth, value,
                             tensor_program or declared is not None)
        if rank == 0:
            continue
        for piece, path in reads:
            if value is not None:
                _check_range(name, piece_names[piece], path, value)
            elements[piece] = (index, path)
        removed.add(index)
        removed.update(_chain(nodes, users, index))
    count = len(nodes) - len(removed)
    if count > PAGE_LIMIT:
        raise ExpressionTooLargeError(
            f"the graph is too large for a page that steps through it ({count:,} nodes; "
            f"the limit for html is {PAGE_LIMIT:,})",
            hint="--format dot writes it for another tool; eval --steps narrates the passes")
    if elements:
        program, given = _elementwise(program, elements, removed, piece_names, given)
    if not program.scalar or any(node.op.arity and node.op.name not in exported
                                 for node in program.graph.nodes):
        raise ShapeError("--format html steps through programs of numbers only; this one has "
                         "vectors or matrices", hint=_WHOLE_HINT)
    numbers = {name: float(value) for name, value in given.items()
               if not hasattr(value, "ndim") or value.ndim == 0}
    return program, numbers if values is not None else None


_WHOLE_HINT = ("the page draws vectors and matrices read element by element (x[0], x[t-1], "
               "A[1][0]), each element a number; --format svg, dot or mermaid draws this "
               "program with its shapes, and eval --steps shows its passes")


def _chain(nodes: Sequence[Node], users: Sequence[Sequence[int]], start: int) -> set[int]:
    """Every node reached from `start` through index nodes."""
    found: set[int] = set()
    stack = [start]
    while stack:
        piece = stack.pop()
        for user in users[piece]:
            if nodes[user].op.name == "index" and nodes[user].args[0] == piece \
                    and user not in found:
                found.add(user)
                stack.append(user)
    return found


def _whole_use(program: Program, piece_names: Mapping[int, str], piece: int, user: int,
               missing: int, value: Any, shaped_program: bool) -> ShapeError:
    """The error for an input (or a row of one) used whole: in an operation
    that takes it whole, or where a number is read but a vector was given."""
    nodes = program.graph.nodes
    what = piece_names.get(piece, nodes[piece].label)
    where = ""
    if user >= 0:
        # The operation in the program's own terms: sum(X[1]), not sum(t1).
        named = [Node(n.op, n.args, n.value, n.label, piece_names.get(k, n.name))
                 for k, n in enumerate(nodes)]
        where = f" (in {node_expression(named, named[user])})"
    else:
        where = " (it is the output)"
    kind = {1: "vector", 2: "matrix"}.get(missing, "vector or matrix")
    if value is not None and getattr(value, "ndim", 0) and not shaped_program:
        size = f"of {value.shape[0]} elements" if value.ndim == 1 else \
            " × ".join(str(d) for d in value.shape)
        kind = {1: "vector", 2: "matrix"}.get(value.ndim, kind)
        return ShapeError(f"the value given for {what} is a {kind} {size}, and the program "
                          f"uses {what} as a number{where}; the page steps through numbers",
                          hint=f"give {what} a number, such as --{what} 1; eval computes "
                          "the program with vectors, element by element")
    return ShapeError(f"--format html steps through numbers, and {what} is used as a whole "
                      f"{kind}{where}", hint=_WHOLE_HINT)


def _check_range(name: str, piece: str, path: Sequence[int], value: Any) -> None:
    """An element read must be in the value given (the shape pass checks
    this too where the shapes are known)."""
    shape = getattr(value, "shape", ())
    if not shape:
        raise ShapeError(f"the value given for {name} is a number, and the program reads "
                         f"{piece} from it", hint=f"give {name} a vector, such as "
                         f'--{name} "[1, 2, 3]"')
    if len(path) != len(shape) or not all(0 <= k < n for k, n in zip(path, shape, strict=False)):
        size = f"of {shape[0]} elements" if len(shape) == 1 else " × ".join(map(str, shape))
        raise ShapeError(f"{piece} is out of range: the value given for {name} is {size}",
                         hint="indices are 0-based")


def _elementwise(program: Program, elements: Mapping[int, tuple[int, tuple[int, ...]]],
                 removed: set[int], piece_names: Mapping[int, str], given: dict[str, Any]
                 ) -> tuple[Program, dict[str, Any]]:
    """The program with each element read (an index node at the end of a
    chain from an input) an input of its own, named as it is read (x[0]);
    the inputs read so, their index nodes and the constants only they use
    are gone. Returns the program and the values with each element's."""
    graph = program.graph
    nodes = graph.nodes
    users: list[list[int]] = [[] for _ in nodes]
    for index, node in enumerate(nodes):
        for arg in node.args:
            users[arg].append(index)
    gone = set(removed)
    for index, node in enumerate(nodes):  # a position constant only index nodes read
        if node.op is CONST and users[index] and all(u in gone for u in users[index]) and \
                index != graph.output and node.name not in graph.assigned:
            gone.add(index)
    new_nodes: list[Node] = []
    new_index: dict[int, int] = {}
    element_at: dict[tuple[int, tuple[int, ...]], int] = {}
    values = {k: v for k, v in given.items()}
    for index in graph.inputs:
        if index not in removed:
            new_index[index] = len(new_nodes)
            old = nodes[index]
            new_nodes.append(Node(old.op, (), old.value, old.label, old.name, old.aliases,
                                  old.line, old.column, old.varying))
            continue
        name = nodes[index].label
        read = sorted({path: piece for piece, (source, path) in elements.items()
                       if source == index}.items())
        value = values.pop(name, None)
        for path, piece in read:
            label = piece_names[piece]
            element_at[(index, path)] = len(new_nodes)
            first = nodes[piece]
            new_nodes.append(Node(INPUT, (), None, label, label, (), first.line, first.column,
                                  True))
            if value is not None:
                values[label] = float(value[path])
    for piece, key in elements.items():
        new_index[piece] = element_at[key]
    for index, node in enumerate(nodes):
        if node.op is INPUT or index in gone or index in new_index:
            continue
        new_index[index] = len(new_nodes)
        new_nodes.append(Node(node.op, tuple(new_index[a] for a in node.args), node.value,
                              node.label, node.name, node.aliases, node.line, node.column,
                              node.varying))
    names: dict[str, int] = {}
    for index, node in enumerate(new_nodes):
        for name in (node.name, *node.aliases):
            names.setdefault(name, index)
    for index, node in enumerate(nodes):  # a name the program gave an element (a = x[0])
        if index in new_index:
            for name in (node.name, *node.aliases):
                if name in graph.names and graph.names[name] == index:
                    names.setdefault(name, new_index[index])
    inputs = tuple(i for i, node in enumerate(new_nodes) if node.op is INPUT)
    loops = tuple(
        Loop(loop.variable, loop.first, loop.last,
             tuple(tuple(dict.fromkeys(new_index[n] for n in step if n in new_index))
                   for step in loop.steps),
             loop.assigns, loop.line, loop.column)
        for loop in graph.loops)
    scalar_given = {k: v for k, v in graph.given.items() if not hasattr(v, "ndim")}
    read_inputs = {nodes[i].label for i in removed if nodes[i].op is INPUT}
    new_graph = Graph(
        tuple(new_nodes), inputs, new_index[graph.output], graph.source, names,
        tuple(n for n in graph.assigned if n in names), scalar_given, graph.warnings,
        graph.output_alias, graph.referenced,
        {k: v for k, v in graph.declarations.items() if k not in read_inputs},
        {k: v for k, v in graph.declared_at.items() if k not in read_inputs},
        tuple((new_index[n], line, column) for n, line, column in graph.repeats
              if n in new_index), loops)
    return Program(new_graph), values


def page_data(program: Program, values: Mapping[str, float] | None,
              start_backward: bool = False) -> dict[str, Any]:
    """What the page's script reads: the node list (op, arguments, names,
    constants), the edges with their symbolic local partials, the inputs
    and their starting values (None where none was given)."""
    graph = program.graph
    nodes = []
    for index, node in enumerate(graph.nodes):
        kind = "input" if node.op is INPUT else "const" if node.op is CONST else (
            "output" if index == graph.output else "op")
        nodes.append({
            "name": node.name,
            "kind": kind,
            "op": node.op.name if node.op.arity else "",
            "expr": node_expression(graph.nodes, node),
            "args": list(node.args),
            "value": node.value if node.op is CONST else None,
            "varying": bool(node.varying),
        })
    edges = [{"source": source, "target": target, "position": position,
              "partial": program.local_partial_text(target, position)
              if graph.nodes[source].varying else None}
             for target, position, source in graph.edges()]
    given = dict(values or {})
    return {
        "program": graph.source,
        "output": graph.output,
        "outputName": graph.output_name,
        "nodes": nodes,
        "edges": edges,
        "inputs": [{"name": graph.nodes[i].label, "node": i,
                    "value": float(given[graph.nodes[i].label])
                    if graph.nodes[i].label in given else None} for i in graph.inputs],
        "readable": READABLE_NODES,
        "startBackward": start_backward,
    }


# --- layout ---------------------------------------------------------------------------


def _cut(text: str, limit: int = LABEL_CHARS) -> str:
    """`text` in at most `limit` characters, cut in the middle: names that
    share a long beginning (`rate_of_layer_one`, `rate_of_layer_two`) keep the
    ending that tells them apart. The full text is in the box's title."""
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 2
    return text[:limit - 1 - tail] + "…" + text[len(text) - tail:]


def _operation_line(name: str, expression: str, limit: int = LABEL_CHARS) -> str:
    """`name = expression` in `limit` characters: a long name cut to half the
    room, the expression to the rest, each in its middle."""
    line = f"{name} = {expression}"
    if len(line) <= limit:
        return line
    name = _cut(name, max(limit // 2, limit - 3 - len(expression)))
    return f"{name} = {_cut(expression, max(5, limit - 3 - len(name)))}"


def _node_lines(data: Mapping[str, Any], index: int) -> tuple[str, ...]:
    """The text lines of a node's box (numbers are filled in by the page)."""
    node = data["nodes"][index]
    if node["kind"] == "const":
        return (_cut(node["name"]),)
    # As the DOT records say it: "value 4", "adjoint -3" (an input's value on
    # its name's line).
    if node["kind"] == "input":
        lines = [_cut(node["name"]) + " = " + "0" * NUMBER_CHARS]
    else:
        lines = [_operation_line(node["name"], node["expr"]), "value " + "0" * NUMBER_CHARS]
    if node["varying"]:
        lines.append("adjoint " + "0" * NUMBER_CHARS)
    return tuple(lines)


def _levels(data: Mapping[str, Any]) -> list[int]:
    """Longest-path levels from the leaves (inputs and constants); then,
    from the output back, every node that is used moves down to one level
    before its first user, so it is drawn next to where it is used: a
    network's weights beside their products, `u*t` of a loop's step beside
    that step, not all in the first column."""
    nodes = data["nodes"]
    level = [0] * len(nodes)
    for index, node in enumerate(nodes):
        level[index] = 1 + max((level[a] for a in node["args"]), default=-1)
    users: list[list[int]] = [[] for _ in nodes]
    for index, node in enumerate(nodes):
        for arg in node["args"]:
            users[arg].append(index)
    for index in range(len(nodes) - 1, -1, -1):  # users come after: final when reached
        if users[index]:
            level[index] = min(level[u] for u in users[index]) - 1
    return level


def _crossings(upper: Sequence[int], lower_of: Sequence[Sequence[int]]) -> int:
    """Edge crossings between two adjacent levels: `lower_of[k]` are the
    positions (in the lower level) of the k-th upper box's edges. Counted as
    inversions, O(E log E)."""
    sequence = [p for k in upper for p in sorted(lower_of[k])]
    seen: list[int] = []
    count = 0
    for p in reversed(sequence):
        at = bisect_left(seen, p)
        count += at
        seen.insert(at, p)
    return count


def _isotonic(targets: Sequence[float], sizes: Sequence[float], gap: float,
              weights: Sequence[float] | None = None) -> list[float]:
    """Centres as close as possible (weighted least squares) to `targets`, in
    the given order, each at least half the sizes plus `gap` from the previous
    one: pool-adjacent-violators over targets minus the packed offsets."""
    offsets = [0.0]
    for k in range(1, len(sizes)):
        offsets.append(offsets[-1] + (sizes[k - 1] + sizes[k]) / 2 + gap)
    blocks: list[list[float]] = []  # [mean, weight, count]
    for k, (target, offset) in enumerate(zip(targets, offsets, strict=True)):
        blocks.append([target - offset, 1.0 if weights is None else weights[k], 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, weight, count = blocks.pop()
            last = blocks[-1]
            total = last[1] + weight
            last[0] = (last[0] * last[1] + mean * weight) / total
            last[1] = total
            last[2] += count
    result: list[float] = []
    for mean, _, count in blocks:
        result.extend([mean] * count)
    return [z + offset for z, offset in zip(result, offsets, strict=True)]


def layout(data: Mapping[str, Any]) -> Layout:
    """Lay the graph out (see the module docstring): levels, virtual points
    on long edges, barycentre ordering, then coordinates."""
    nodes = data["nodes"]
    level = _levels(data)
    boxes = []
    for index in range(len(nodes)):
        lines = _node_lines(data, index)
        width = max(len(line) for line in lines) * CHAR_WIDTH + 2 * PAD_X
        boxes.append(Box(index, level[index], width, len(lines) * LINE_HEIGHT + 2 * PAD_Y,
                         lines))
    edges = data["edges"]
    routes: list[list[int]] = [[] for _ in edges]
    # A leaf (input or constant) used far from its box is drawn again beside
    # that use, as a reference (the terminal view's `↑ w`): a loop's shared
    # weight then has no edges running the length of the drawing.
    refs: dict[tuple[int, int], int] = {}
    long: list[int] = []  # the other edges, which may span several levels
    for k, edge in enumerate(edges):
        source, target = edge["source"], edge["target"]
        if nodes[source]["args"] or level[target] - level[source] <= 1:
            long.append(k)
            continue
        key = (source, level[target] - 1)
        if key not in refs:
            name = _cut(nodes[source]["name"])
            refs[key] = len(boxes)
            boxes.append(Box(len(boxes), key[1], len(name) * CHAR_WIDTH + 2 * PAD_X,
                             LINE_HEIGHT + 2 * PAD_Y, (name,), ref=source))
        routes[k] = [refs[key], target]
    # Virtual points cost layout time per level an edge spans; a graph that
    # would need too many (a long sum reusing early results) draws its long
    # edges straight instead: it is past reading as a whole anyway.
    spans = sum(max(0, level[edges[k]["target"]] - level[edges[k]["source"]] - 1)
                for k in long)
    virtual = spans <= VIRTUAL_BUDGET
    for k in long:
        source, target = edges[k]["source"], edges[k]["target"]
        route = [source]
        for lv in range(level[source] + 1, level[target]) if virtual else ():
            boxes.append(Box(len(boxes), lv, DUMMY_SIZE, DUMMY_SIZE, (), dummy=True))
            route.append(len(boxes) - 1)
        route.append(target)
        routes[k] = route
    depth = max(level, default=0) + 1
    levels: list[list[int]] = [[] for _ in range(depth)]
    for box in boxes:
        levels[box.level].append(box.index)
    up: list[list[int]] = [[] for _ in boxes]  # neighbours one level before
    down: list[list[int]] = [[] for _ in boxes]
    for route in routes:
        for a, b in pairwise(route):
            down[a].append(b)
            up[b].append(a)
    levels, crossings = _order(levels, up, down)
    across = True
    bands = _place(boxes, levels, up, down, across=True)
    width, height = _extent(boxes)
    if width > FIT_WIDTH:
        # Deep rather than wide: try top to bottom, and keep it if it is narrower.
        saved = [(box.x, box.y) for box in boxes]
        tb_bands = _place(boxes, levels, up, down, across=False)
        tb_width, tb_height = _extent(boxes)
        if tb_width < width:
            across, width, height, bands = False, tb_width, tb_height, tb_bands
        else:
            for box, (x, y) in zip(boxes, saved, strict=True):
                box.x, box.y = x, y
    return Layout(boxes, routes, width, height, across, crossings, levels, bands)


def _order(levels: list[list[int]], up: Sequence[Sequence[int]],
           down: Sequence[Sequence[int]]) -> tuple[list[list[int]], int]:
    """Each level's order by barycentre sweeps, down then up; the order with
    the fewest crossings seen is kept."""
    position = {b: k for members in levels for k, b in enumerate(members)}

    def total() -> int:
        count = 0
        for lv in range(len(levels) - 1):
            lower = [[position[n] for n in down[b]] for b in levels[lv]]
            count += _crossings(range(len(levels[lv])), lower)
        return count

    best, best_count = [list(m) for m in levels], total()
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        order = range(1, len(levels)) if forward else range(len(levels) - 2, -1, -1)
        for lv in order:
            members = levels[lv]

            def key(b: int, lookup: Sequence[Sequence[int]] = up if forward else down
                    ) -> float:
                near = lookup[b]
                if not near:
                    return float(position[b])
                return sum(position[n] for n in near) / len(near)

            members.sort(key=key)
            for k, b in enumerate(members):
                position[b] = k
        count = total()
        if count < best_count:
            best, best_count = [list(m) for m in levels], count
        if best_count == 0:
            break
    return best, best_count


def _place(boxes: list[Box], levels: list[list[int]], up: Sequence[Sequence[int]],
           down: Sequence[Sequence[int]], across: bool) -> list[tuple[float, float]]:
    """Coordinates: levels along the rank axis (x when `across`), and within a
    level each centre near its neighbours' mean, the order kept. Returns each
    level's band along the rank axis."""
    def size(box: Box) -> float:  # along the order axis
        return box.height if across else box.width

    def rank_size(box: Box) -> float:
        return box.width if across else box.height

    gap = RANK_GAP_LR if across else RANK_GAP_TB
    rank_at = MARGIN
    rank_centre: list[float] = []
    bands: list[tuple[float, float]] = []
    for members in levels:
        thickness = max((rank_size(boxes[b]) for b in members), default=0.0)
        rank_centre.append(rank_at + thickness / 2)
        bands.append((rank_at, rank_at + thickness))
        rank_at += thickness + gap
    centre = [0.0] * len(boxes)
    for members in levels:
        packed = _isotonic([0.0] * len(members), [size(boxes[b]) for b in members], ORDER_GAP)
        for b, c in zip(members, packed, strict=True):
            centre[b] = c
    spine = _spine(boxes, levels, up)
    # Leaning on its spine: a node whose user continues its longest chain
    # holds its place against the side branches.
    on_spine = [1.0] * len(boxes)
    for near in spine:
        for n in near:
            on_spine[n] = SPINE_WEIGHT
    for sweep in range(2 * SWEEPS):
        forward = sweep % 2 == 0
        near_of = spine if forward else down
        order = levels if forward else list(reversed(levels))
        for members in order:
            targets = []
            for b in members:
                near = near_of[b]
                targets.append(sum(centre[n] for n in near) / len(near) if near else centre[b])
            placed = _isotonic(targets, [size(boxes[b]) for b in members], ORDER_GAP,
                               None if forward else [on_spine[b] for b in members])
            for b, c in zip(members, placed, strict=True):
                centre[b] = c
    lowest = min((centre[b] - size(boxes[b]) / 2 for b in range(len(boxes))), default=0.0)
    for lv, members in enumerate(levels):
        for b in members:
            along = centre[b] - lowest + MARGIN
            if across:
                boxes[b].x, boxes[b].y = rank_centre[lv], along
            else:
                boxes[b].x, boxes[b].y = along, rank_centre[lv]
    return bands


def _spine(boxes: Sequence[Box], levels: Sequence[Sequence[int]],
           up: Sequence[Sequence[int]]) -> list[list[int]]:
    """For each box, the neighbours one level before that it lines up with:
    of the boxes computing its arguments (not leaves: inputs, constants,
    references), those on its longest chain. A chain of steps, each adding a
    side branch (`h = tanh(w*h + u*t)`), then runs straight instead of
    drifting half a box per step toward the branches."""
    leaf = [box.ref is not None or (not box.dummy and not up[box.index]) for box in boxes]
    height = [0] * len(boxes)
    spine: list[list[int]] = [[] for _ in boxes]
    for members in levels:
        for b in members:
            computed = [n for n in up[b] if not leaf[n]]
            if not computed:
                spine[b] = list(up[b])
                continue
            tallest = max(height[n] for n in computed)
            spine[b] = [n for n in computed if height[n] == tallest]
            height[b] = tallest + 1
    return spine


def _extent(boxes: Sequence[Box]) -> tuple[float, float]:
    width = max((b.x + b.width / 2 for b in boxes), default=0.0) + MARGIN
    height = max((b.y + b.height / 2 for b in boxes), default=0.0) + MARGIN
    return width, height


# --- SVG ------------------------------------------------------------------------------


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _edge_path(points: Sequence[tuple[float, float]], across: bool) -> str:
    """A smooth path through `points`, leaving and entering each along the rank axis."""
    x, y = points[0]
    parts = [f"M{_f(x)},{_f(y)}"]
    for (x0, y0), (x1, y1) in pairwise(points):
        if (x0 == x1) or (y0 == y1):  # straight through a level's band
            parts.append(f"L{_f(x1)},{_f(y1)}")
        elif across:
            mid = (x0 + x1) / 2
            parts.append(f"C{_f(mid)},{_f(y0)} {_f(mid)},{_f(y1)} {_f(x1)},{_f(y1)}")
        else:
            mid = (y0 + y1) / 2
            parts.append(f"C{_f(x0)},{_f(mid)} {_f(x1)},{_f(mid)} {_f(x1)},{_f(y1)}")
    return " ".join(parts)


def _slots(laid: Layout, edges: Sequence[Mapping[str, Any]]) -> list[int]:
    """Each edge's place among the edges entering its target, ordered by where
    they come from (so they do not cross at the target; x*x still shows two)."""
    coming: dict[int, list[tuple[float, int, int]]] = {}
    for k, (edge, route) in enumerate(zip(edges, laid.routes, strict=True)):
        before = laid.boxes[route[-2]]
        along = before.y if laid.across else before.x
        coming.setdefault(edge["target"], []).append((along, edge["position"], k))
    slot = [0] * len(edges)
    for entering in coming.values():
        for place, (_, _, k) in enumerate(sorted(entering)):
            slot[k] = place
    return slot


def _ports(source: Box, target: Box, slot: int, count: int, across: bool
           ) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where an edge leaves its source and enters its target, in its `slot` of
    the target's `count` entering edges, side by side."""
    spread = (slot - (count - 1) / 2) * min(10.0, (target.height if across else
                                                   target.width) / (count + 1))
    if across:
        return ((source.x + source.width / 2, source.y),
                (target.x - target.width / 2 - 2, target.y + spread))
    return ((source.x, source.y + source.height / 2),
            (target.x + spread, target.y - target.height / 2 - 2))


ARROW = 9  # an arrowhead's length and width, in the drawing's pixels
LABEL_GAP = 6  # between an edge and its label's digits
DIGIT_HEIGHT = 9  # of a 12px label's digits


def _label_places(points: Sequence[tuple[float, float]], slot: int, count: int,
                  shared: bool, across: bool) -> tuple[str, str]:
    """Where an edge's number goes, "x y anchor room", on the forward pass and on
    the backward one: by the start of the edge's last stretch (the source's
    port, unless the edge is long), beside the edge on the side the curve
    turns away from, and past the arrowhead there on the backward pass. Not
    by the target: two edges enter it 10 pixels apart, with the forward
    arrowheads. A long number runs along its edge, away from the curve, so
    it covers neither arrowhead, and one longer than the `room` to the
    target is squeezed into it by the page. Two edges from one source to one
    target (x*x) take opposite sides, by their `slot` of the target's `count`."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    second = count > 1 and slot == count - 1
    if across:
        # Turning down (y grows), the edge leaves room above it.
        above = (not second) if shared or y1 == y0 else y1 > y0
        y = _f(y0 - LABEL_GAP if above else y0 + LABEL_GAP + DIGIT_HEIGHT)
        room = x1 - x0 - LABEL_GAP - 2
        return (f"{_f(x0 + LABEL_GAP)} {y} start {_f(room)}",
                f"{_f(x0 + ARROW + LABEL_GAP)} {y} start {_f(room - ARROW)}")
    # Top to bottom: beside the edge below the source, left or right.
    right = second if shared or x1 == x0 else x1 < x0
    x, anchor = (x0 + LABEL_GAP, "start") if right else (x0 - LABEL_GAP, "end")
    return (f"{_f(x)} {_f(y0 + LABEL_GAP + DIGIT_HEIGHT)} {anchor} 0",
            f"{_f(x)} {_f(y0 + ARROW + LABEL_GAP + DIGIT_HEIGHT)} {anchor} 0")


def svg_markup(data: Mapping[str, Any], laid: Layout) -> str:
    """The drawing as inline SVG: edges first (under the nodes), then node
    boxes whose number lines the page's script fills in; every piece has a
    stable id (node-3, edge-3-0, value-3, adjoint-3, label-3-0)."""
    e = html.escape
    nodes = data["nodes"]
    # Its natural size, up to 1.5 times larger where the page has room (a small
    # graph), never smaller (a large one scrolls instead of shrinking unreadably).
    grow = max(1.0, min(1.5, GROW_UNTIL / laid.height))
    size = f"min-width: {_f(laid.width)}px; max-width: {_f(laid.width * grow)}px"
    # No xmlns: inline SVG in HTML needs none (and the page names no URL at all).
    out = [f'<svg id="graph" style="{size}" '
           f'viewBox="0 0 {_f(laid.width)} {_f(laid.height)}" '
           f'role="img" aria-label="{e("the computational graph of " + data["program"])}" '
           f'class="{"across" if laid.across else "down"}">',
           # One size for every edge, a highlighted (thicker) one too: an arrowhead
           # that grew with the line would run into its number.
           f'<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
           f'markerUnits="userSpaceOnUse" markerWidth="{ARROW}" markerHeight="{ARROW}" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
           '<g class="edges">']
    labels = []
    slots = _slots(laid, data["edges"])
    for k, (edge, route) in enumerate(zip(data["edges"], laid.routes, strict=True)):
        source, target = laid.boxes[route[0]], laid.boxes[route[-1]]
        start, end = _ports(source, target, slots[k], len(nodes[edge["target"]]["args"]),
                            laid.across)
        # Through each level it passes, the edge runs straight across the level's
        # band, in the slot its virtual point keeps free: it bends only in the gaps.
        points = [start]
        for b in route[1:-1]:
            box = laid.boxes[b]
            start_at, end_at = laid.bands[box.level]
            points += [(start_at, box.y), (end_at, box.y)] if laid.across else \
                [(box.x, start_at), (box.x, end_at)]
        points.append(end)
        ident = f'{edge["target"]}-{edge["position"]}'
        const = " const" if nodes[edge["source"]]["kind"] == "const" else ""
        out.append(f'<path id="edge-{ident}" class="edge{const}" '
                   f'd="{_edge_path(points, laid.across)}"/>')
        arguments = nodes[edge["target"]]["args"]
        forward, back = _label_places(points, slots[k], len(arguments),
                                      arguments.count(edge["source"]) > 1, laid.across)
        labels.append(f'<text id="label-{ident}" class="edge-label" '
                      f'data-forward="{forward}" data-back="{back}"></text>')
    out.append('</g><g class="nodes">')
    for box in laid.boxes[:len(nodes)]:
        node = nodes[box.index]
        left, top = box.x - box.width / 2, box.y - box.height / 2
        title = node["name"] if node["kind"] in ("input", "const") else \
            f'{node["name"]} = {node["expr"]}'
        out.append(f'<g id="node-{box.index}" class="node {node["kind"]}" '
                   f'data-name="{e(node["name"])}" data-room="{_f(box.width - 2 * PAD_X)}">'
                   f'<title>{e(title)}</title>'
                   f'<rect x="{_f(left)}" y="{_f(top)}" width="{_f(box.width)}" '
                   f'height="{_f(box.height)}" rx="5"/>')
        text_x = _f(left + PAD_X)
        baseline = top + PAD_Y + LINE_HEIGHT - 3.5
        first = box.lines[0]
        line = 1
        if node["kind"] == "input":  # x = 1 on one line: the value is filled in
            out.append(f'<text x="{text_x}" y="{_f(baseline)}" class="title">'
                       f'<tspan class="name">{e(_cut(node["name"]))}</tspan>'
                       f'<tspan class="value" id="value-{box.index}"></tspan></text>')
        elif node["kind"] == "const":
            out.append(f'<text x="{text_x}" y="{_f(baseline)}" class="title">'
                       f'<tspan class="name">{e(first)}</tspan></text>')
        else:
            name, _, rest = first.partition(" = ")
            out.append(f'<text x="{text_x}" y="{_f(baseline)}" class="title">'
                       f'<tspan class="name">{e(name)}</tspan> = {e(rest)}</text>')
            out.append(f'<text x="{text_x}" y="{_f(baseline + LINE_HEIGHT)}" class="value" '
                       f'id="value-{box.index}"></text>')
            line = 2
        if node["varying"]:
            out.append(f'<text x="{text_x}" y="{_f(baseline + line * LINE_HEIGHT)}" '
                       f'class="adjoint" id="adjoint-{box.index}"><tspan class="label">'
                       f'adjoint</tspan><tspan id="adjoint-number-{box.index}"></tspan>'
                       "</text>")
        out.append("</g>")
    for box in laid.boxes:
        if box.ref is None:
            continue
        node = nodes[box.ref]
        left, top = box.x - box.width / 2, box.y - box.height / 2
        out.append(f'<g class="node ref {node["kind"]}" data-ref="{box.ref}">'
                   f'<title>{e(node["name"])}, drawn again by this use</title>'
                   f'<rect x="{_f(left)}" y="{_f(top)}" width="{_f(box.width)}" '
                   f'height="{_f(box.height)}" rx="5"/><text x="{_f(left + PAD_X)}" '
                   f'y="{_f(top + PAD_Y + LINE_HEIGHT - 3.5)}" class="title">'
                   f'<tspan class="name">{e(box.lines[0])}</tspan></text></g>')
    out.append('</g><g class="labels">')
    out.extend(labels)
    out.append("</g></svg>")
    return "\n".join(out)


# --- the page ---------------------------------------------------------------------------


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("page_assets", name).read_text(encoding="utf-8")


def _json_for_script(data: Any) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>` or `&` in it
    (escaped as \\u003c ...), so no `</script>` or `<!--` can end it early."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _input_fields(data: Mapping[str, Any]) -> str:
    e = html.escape
    if not data["inputs"]:
        return '<p class="hint">This program has no inputs: its numbers are fixed.</p>'
    fields = []
    for k, entry in enumerate(data["inputs"]):
        value = "" if entry["value"] is None else repr(entry["value"]).removesuffix(".0")
        fields.append(f'<label class="field"><span title="{e(entry["name"])}">'
                      f'{e(_cut(entry["name"], FIELD_CHARS))}</span>'
                      f'<input type="text" autocomplete="off" '
                      f'spellcheck="false" id="input-{k}" data-input="{k}" '
                      f'value="{e(value)}" placeholder="number"></label>')
    return "\n".join(fields)


def page_html(program: Program, values: Mapping[str, Any] | None = None,
              start_backward: bool = False) -> str:
    """The whole page for `program`, starting at `values` (None: the learner
    types them in the page). A vector or matrix read element by element is
    one input per element (`page_program`); raises ShapeError for one used
    whole and ExpressionTooLargeError past `PAGE_LIMIT` nodes."""
    program, values = page_program(program, values)
    data = page_data(program, values, start_backward)
    laid = layout(data)
    e = html.escape
    count = len(data["nodes"])
    # Its own lines, as written (\r\n too): the style keeps the breaks.
    program_text = "\n".join(data["program"].strip().splitlines()) or data["outputName"]
    note = ""
    if count > READABLE_NODES:
        note = (f'<p id="size-note" class="note">This graph has {count} nodes: past '
                f"{READABLE_NODES} a drawing gets hard to read. It is all drawn below, at a "
                "size to read: scroll it, or press Fit to see it whole, and follow the step "
                "panel, which names each node and scrolls the drawing to it.</p>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="exprgraph">
<title>{e(_title(program_text))} — backprop step by step</title>
<style>
{_asset("page.css")}
</style>
</head>
<body>
<header>
<h1>Backpropagation, step by step</h1>
{_program_header(program_text)}
</header>
<main>
<section id="side" aria-label="controls">
<form id="inputs" autocomplete="off">
<details{" open" if _open_inputs(data["inputs"]) else ""}>
<summary><h2>Inputs ({len(data["inputs"])})</h2></summary>
<div class="fields">
{_input_fields(data)}
</div>
</details>
<p id="message" role="status"></p>
</form>
<nav id="controls" aria-label="steps">
<button type="button" id="first" title="First step (Home)">First</button>
<button type="button" id="prev" title="Previous step (←)">Prev</button>
<button type="button" id="next" title="Next step (→)">Next</button>
<button type="button" id="last" title="Last step (End)">Last</button>
<span id="counter" aria-live="polite"></span>
</nav>
<div id="panel" aria-live="polite"></div>
<p class="legend">Keys: → next, ← back, Home and End; + and − zoom. Blue: inputs, grey: constants,
green: the output. In each node its value and its adjoint, written
<span class="bar">x</span> = ∂{e(data["outputName"])}/∂x: the derivative of the output by that
node (grey while its sum is still growing).</p>
</section>
<section id="picture" aria-label="the graph">
{note}
<div id="zoom" role="group" aria-label="zoom">
<button type="button" id="zoom-out" title="Smaller (-)">−</button>
<button type="button" id="zoom-in" title="Larger (+)">+</button>
<button type="button" id="zoom-fit" title="The whole graph in view">Fit</button>
<button type="button" id="zoom-reset" title="Natural size">100%</button>
</div>
<div id="scroll">
{svg_markup(data, laid)}
</div>
</section>
</main>
<noscript><p class="note">The steps need JavaScript; the drawing above is the graph.</p>
</noscript>
<script type="application/json" id="graph-data">{_json_for_script(data)}</script>
<script>
{op_table_js()}
</script>
<script>
{_asset("page.js")}
</script>
</body>
</html>
"""


def _open_inputs(inputs: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the input boxes start open: few of them, or some still to be
    typed (the page's message asks for them)."""
    return len(inputs) <= OPEN_INPUTS or any(entry["value"] is None for entry in inputs)


def _program_header(text: str) -> str:
    """The program above the page; a long one folded after its beginning."""
    e = html.escape
    if len(text) <= PROGRAM_SHOWN:
        return f'<p class="program"><code>{e(text)}</code></p>'
    return (f'<details class="program"><summary><code>{e(text[:PROGRAM_SHOWN])}…</code> '
            f"(the whole program: {len(text):,} characters)</summary><code>{e(text)}</code>"
            "</details>")


def _title(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= 60 else one_line[:59] + "…"
