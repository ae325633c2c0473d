"""Backprop through time made visible: a shared input's gradient, step by step.

A `for` loop is unrolled as it is parsed (syntax/parse.py), so a recurrence is
an ordinary graph in which the weight `w` feeds one node per step. Its
adjoint is the sum of what each of those edges passes back: that sum is
backprop through time, and nothing else. `through_time` groups those edge
contributions by the step (`Graph.loops`) of the node they reach, so a table
can show ∂L/∂w = Σ over steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..api import Evaluation, Program
from ..core.errors import ProgramError
from ..core.graph import Graph, Loop, Node
from ..core.ops import CONST
from ..printing.text import node_expression


@dataclass(frozen=True, slots=True)
class StepShare:
    """What one step (None: outside every loop) passes back to an input."""

    step: int | None
    via: tuple[str, ...]  # the nodes of that step that use the input, by name
    contribution: Any  # a float or an array; None where a factor is undefined


@dataclass(frozen=True, slots=True)
class SharedInput:
    """An input used in more than one step, and its gradient, step by step."""

    name: str
    variable: str  # the loop's variable, `t`
    shares: tuple[StepShare, ...]
    gradient: Any  # ∂out/∂input: the sum of the shares (None where undefined)


def step_of_nodes(program: Program) -> dict[int, tuple[str, int]]:
    """Each node a loop built, mapped to (the loop's variable, its step)."""
    found: dict[int, tuple[str, int]] = {}
    for loop in program.graph.loops:
        for node, step in loop.step_of().items():
            found.setdefault(node, (loop.variable, step))
    return found


def through_time(program: Program, evaluation: Evaluation) -> list[SharedInput]:
    """The inputs that nodes of two or more steps use, each with what every
    step passes back to it; empty for a program without loops.

    A node built once for every step (`w^2` in each step's body: the same
    node) passes back the sum of what the steps pass to it; that sum is split
    by step here, so each step's share of w counts its use of w^2 as well.
    """
    graph = program.graph
    if not graph.loops:
        return []
    steps = step_of_nodes(program)
    nodes = graph.nodes
    consumers: dict[int, list[tuple[int, int]]] = {}
    for target, position, source in graph.edges():
        consumers.setdefault(source, []).append((target, position))
    back = _PassBack(program, evaluation)
    # For each node outside the loops, its adjoint split by the step it comes
    # from (None: from outside every loop), and the nodes it came through.
    split: dict[int, dict[int | None, Any]] = {}
    via: dict[int, dict[int | None, list[str]]] = {}
    for v in range(len(nodes) - 1, -1, -1):
        if v in steps or not nodes[v].varying:
            continue
        parts: dict[int | None, Any] = {}
        names: dict[int | None, list[str]] = {}
        for target, position in consumers.get(v, []):
            if target in steps:
                found = {steps[target][1]: evaluation.contribution(target, position)}
                label = _named_expression(program, target)
                for step in found:
                    names.setdefault(step, []).append(label)
            else:
                found = {step: back.through(target, position, part)
                         for step, part in split.get(target, {}).items()}
                label = f"{_named_expression(program, target)} (computed once)"
                for step in found:
                    if step is not None and label not in names.get(step, []):
                        names.setdefault(step, []).append(label)
                    elif step is None:
                        names.setdefault(None, []).append(label)
            for step, part in found.items():
                parts[step] = _sum([parts[step], part]) if step in parts else part
        if v == graph.output:
            parts[None] = _sum([parts[None], evaluation.node_adjoints[v]]) \
                if None in parts else evaluation.node_adjoints[v]
        split[v], via[v] = parts, names
    found_inputs = []
    for arg in graph.inputs:
        parts = split.get(arg, {})
        if len([step for step in parts if step is not None]) < 2:
            continue
        variable = _variable_of(program, next(step for step in parts if step is not None))
        ordered = sorted(parts.items(), key=lambda item: (item[0] is None, item[0] or 0))
        shares = tuple(StepShare(step, tuple(dict.fromkeys(via[arg].get(step, []))), part)
                       for step, part in ordered)
        name = nodes[arg].label
        gradient = None if name in evaluation.undefined_gradient else evaluation.gradient[name]
        found_inputs.append(SharedInput(name, variable, shares, gradient))
    return found_inputs


def _variable_of(program: Program, step: int) -> str:
    """The variable of the loop that runs `step` (the first such loop)."""
    for loop in program.graph.loops:
        if loop.first <= step <= loop.last:
            return loop.variable
    return program.graph.loops[0].variable


class _PassBack:
    """What an edge passes back to its argument for a part of its node's
    adjoint: the scalar local partial times it, or the op's vector–Jacobian
    product of it."""

    def __init__(self, program: Program, evaluation: Evaluation) -> None:
        self.program = program
        self.evaluation = evaluation
        self._tensors: list[Any] | None = None

    def through(self, node: int, position: int, part: Any) -> Any:
        if part is None:
            return None
        evaluation = self.evaluation
        if not evaluation.is_tensor:
            partial = evaluation.local_partial(node, position)
            return None if partial is None else part * partial
        from ..core.errors import ExprGraphError
        from ..passes.tensor import Tensor, edge_contribution

        assert evaluation.shapes is not None
        if self._tensors is None:
            self._tensors = [Tensor(v, s) for v, s in zip(evaluation.node_values,
                                                          evaluation.shapes, strict=True)]
        try:
            found = edge_contribution(self.program.graph.nodes, self._tensors, node, position,
                                      Tensor(part, evaluation.shapes[node]))
        except ExprGraphError:
            return None
        return getattr(found, "data", found)


def _named_expression(program: Program, node: int) -> str:
    """`t1 = w*h[0]`: a node's name and what it computes."""
    nodes = program.graph.nodes
    return f"{nodes[node].name} = {node_expression(nodes, nodes[node])}"


def _sum(parts: list[Any]) -> Any:
    """The sum of contributions; None if any is None (undefined)."""
    if any(part is None for part in parts):
        return None
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


# --- the rolled view ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RolledEdge:
    """An edge of the rolled picture, arg → node, with what it means.

    kind: "forward" (as in the graph), "back" (the loop's state flowing from
    one step into the next: the back-edge), "enter" (a value from before the
    loop that only the first step reads: the initial state) or "leave" (a
    step's value that the rest of the program reads).
    """

    source: int
    target: int
    kind: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class RolledCell:
    """One loop drawn as one cell: the nodes of one step, standing for all."""

    title: str  # "for t = 1..4"
    nodes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Rolled:
    """The graph with each loop rolled into one cell (torchview's `roll=True`).

    `nodes` are copies of the graph's nodes (same indices) renamed for the
    cell, h[2] → h[t], h[1] → h[t-1], x[1] → x[t-1]; `shown` are the ones
    drawn; `edges` replace the graph's edges.
    """

    nodes: tuple[Node, ...]
    shown: frozenset[int]
    cells: tuple[RolledCell, ...]
    edges: tuple[RolledEdge, ...]
    output: int  # the output, or its counterpart in a cell where a step computes it


def roll(graph: Graph) -> Rolled:
    """Each loop of `graph` as one cell with a back-edge (×steps) for its
    state. The cell is the loop's second step, so that its state comes from a
    step (the first) rather than from the initial values; a node of the first
    step that the third uses too (`w*2` in every step) is loop-invariant,
    computed once, and drawn outside the cell. Raises ProgramError for a
    program without a loop of two or more steps."""
    loops = [loop for loop in graph.loops if loop.count >= 2]
    if not loops:
        raise ProgramError("the program has no loop of two or more steps to roll",
                           hint="a loop reads: for t = 1..4: h[t] = tanh(w*h[t-1] + x[t-1])")
    nodes = list(graph.nodes)
    hidden: set[int] = set()
    replaced: dict[tuple[int, int], RolledEdge | None] = {}  # (target, source) → new edge
    cells = []
    output = graph.output
    mates: dict[int, tuple[int, str]] = {}  # a hidden step node → its cell node, its step
    for loop in loops:
        cell, found = _roll_loop(graph, loop, nodes, hidden, replaced)
        cells.append(cell)
        mates.update(found)
    output = mates.get(output, (output, ""))[0]
    edges: list[RolledEdge] = []
    seen: set[tuple[int, int, str, str]] = set()
    for target, _position, source in graph.edges():
        if (target, source) in replaced:
            edge = replaced[(target, source)]
        elif source in hidden and source in mates and target not in hidden:
            # A step's value read after its loop (by another loop, say).
            edge = RolledEdge(mates[source][0], target, "leave", mates[source][1])
        elif target in hidden or source in hidden:
            edge = None
        else:
            edge = RolledEdge(source, target, "forward")
        if edge is not None and edge.source in hidden and edge.source in mates:
            # The first step of one loop reads the last of another: h[3] → h[s-1].
            mate, label = mates[edge.source]
            edge = RolledEdge(mate, edge.target, edge.kind,
                              f"{label}, {edge.label}" if edge.label else label)
        if edge is None or edge.source in hidden or edge.target in hidden:
            continue
        key = (edge.source, edge.target, edge.kind, edge.label)
        if key not in seen:
            seen.add(key)
            edges.append(edge)
    # A leaf no drawn edge uses any more (a step's index position) goes too.
    used = {edge.source for edge in edges}
    hidden.update(i for i, node in enumerate(graph.nodes)
                  if not node.args and i not in used and i != output)
    shown = frozenset(range(len(graph.nodes))) - hidden
    return Rolled(tuple(nodes), shown, tuple(cells), tuple(edges), output)


def _roll_loop(graph: Graph, loop: Loop, nodes: list[Node], hidden: set[int],
               replaced: dict[tuple[int, int], RolledEdge | None]
               ) -> tuple[RolledCell, dict[int, int]]:
    """Roll one loop: rename its cell's nodes in `nodes`, hide the other
    steps' nodes, and record in `replaced` the edges that change. Also
    returns each hidden step node's counterpart in the cell, where known."""
    var, count = loop.variable, loop.count
    cell_step = loop.first + 1
    cell, previous = loop.steps[1], loop.steps[0]
    later = set(loop.steps[2]) if count >= 3 else set()
    step_of = loop.step_of()
    uses: dict[int, set[int]] = {}
    for target, _position, source in graph.edges():
        uses.setdefault(source, set()).add(target)
    # A first-step node the third step uses as well is the same in every step.
    invariant = {n for n in previous if uses.get(n, set()) & later} if count >= 3 else set()
    # The cell's counterpart of a node of another step: by position in its
    # step where the steps built the same number of nodes, else by name.
    by_name = {_step_free(nodes[n].name, var, cell_step): n for n in cell}

    def counterpart(node: int) -> int | None:
        step = step_of[node]
        # Steps build the same nodes in the same order, but for the invariant
        # ones, which only the first step builds.
        nodes_of_step = [n for n in loop.steps[step - loop.first] if n not in invariant]
        if len(nodes_of_step) == len(cell) and node in nodes_of_step:
            return cell[nodes_of_step.index(node)]
        return by_name.get(_step_free(nodes[node].name, var, step))

    variant = [n for n in previous if n not in invariant]
    first_mate = dict(zip(cell, variant, strict=True)) if len(cell) == len(variant) else {}

    def varies(node: int, position: int) -> bool:
        """Whether argument `position` of cell node `node` is a constant that
        differs from step to step: the loop variable (`+ t`, `x[t-1]`)."""
        arg = graph.nodes[graph.nodes[node].args[position]]
        mate = first_mate.get(node)
        if arg.op is not CONST or mate is None:
            return False
        other = graph.nodes[graph.nodes[mate].args[position]]
        return other.op is CONST and other.value != arg.value

    for node in cell:
        nodes[node] = _renamed_for_cell(nodes, node, var, cell_step, step_of, varies)
    for k, step_nodes in enumerate(loop.steps):
        if k != 1:
            hidden.update(n for n in step_nodes if n not in invariant)
    for target, position, source in graph.edges():
        in_loop_target = step_of.get(target)
        in_loop_source = step_of.get(source)
        if target in cell and source in previous and source not in invariant:
            mate = counterpart(source)
            replaced[(target, source)] = None if mate is None else RolledEdge(
                mate, target, "back", f"×{count}")
        elif target in cell and varies(target, position):
            replaced[(target, source)] = None  # the loop variable: x[t-1], + t
        elif in_loop_target == loop.first and counterpart(target) is not None \
                and varies(counterpart(target), position):  # type: ignore[arg-type]
            replaced[(target, source)] = None  # the first step's x[0], + 1
        elif in_loop_target == loop.first and in_loop_source is None:
            mate = counterpart(target)
            if mate is not None and mate not in uses.get(source, set()):
                replaced[(target, source)] = RolledEdge(source, mate, "enter",
                                                        f"{var} = {loop.first}")
        elif in_loop_target is None and in_loop_source is not None \
                and source not in invariant and in_loop_source != cell_step:
            mate = counterpart(source)
            replaced[(target, source)] = None if mate is None else RolledEdge(
                mate, target, "leave", f"{var} = {in_loop_source}")
        elif in_loop_target is None and in_loop_source == cell_step:
            replaced[(target, source)] = RolledEdge(source, target, "leave",
                                                    f"{var} = {cell_step}")
    if count >= 3:
        _check_one_step_back(graph, loop, cell, previous, invariant, varies)
    mates = {node: (mate, f"{var} = {step_of[node]}") for node in step_of if node in hidden
             for mate in [counterpart(node)] if mate is not None}
    return RolledCell(f"for {var} = {loop.first}..{loop.last}", cell), mates


def _check_one_step_back(graph: Graph, loop: Loop, cell: tuple[int, ...],
                         previous: tuple[int, ...], invariant: set[int],
                         varies: Callable[[int, int], bool]) -> None:
    """Refuse to roll a loop whose steps do not repeat the cell one step on:
    a step that reads two steps back (h[t-2]), or differs in shape."""
    following = [n for n in loop.steps[2] if n not in invariant]
    before = [n for n in previous if n not in invariant]
    refusal = ProgramError(
        f"graph --roll draws a loop whose steps each read only the step before; this "
        f"loop's steps read further back (as h[{loop.variable}-2] does) or differ",
        hint="draw it unrolled: leave out --roll")
    if len(following) != len(cell) or len(before) != len(cell):
        raise refusal
    position_in_cell = {node: k for k, node in enumerate(cell)}
    position_before = {node: k for k, node in enumerate(before)}
    for k, node in enumerate(cell):
        mate = following[k]
        for position, (arg, arg_next) in enumerate(zip(graph.nodes[node].args,
                                                       graph.nodes[mate].args, strict=True)):
            if arg in position_in_cell:
                same = arg_next == following[position_in_cell[arg]]
            elif arg in position_before:
                same = arg_next == cell[position_before[arg]]
            else:
                same = arg_next == arg or varies(node, position)
            if not same:
                raise refusal


def _step_free(name: str, var: str, step: int) -> str:
    """`h[2]` at step 2 → `h[t]`, `h[1]` → `h[t-1]`: a name without its step."""
    if not name.endswith("]") or "[" not in name:
        return name
    base, _, index = name[:-1].partition("[")
    if not index.lstrip("-").isdigit():
        return name
    offset = int(index) - step
    return f"{base}[{var}{'' if offset == 0 else f'{offset:+d}'}]"


def _renamed_for_cell(nodes: list[Node], node: int, var: str, step: int,
                      step_of: dict[int, int], varies: Callable[[int, int], bool]) -> Node:
    """A cell node renamed without its step, its arguments too (as its
    expression shows them): a copy, the graph's node is untouched."""
    original = nodes[node]
    renamed = replace(original, name=_step_free(original.name, var, step))
    args = list(original.args)
    for position, arg in enumerate(args):
        before = nodes[arg]
        if varies(node, position):
            offset = int(before.value or 0) - step
            name = var if offset == 0 else f"{var}{offset:+d}"
        elif arg in step_of and step_of[arg] != step:
            name = _step_free(before.name, var, step)
        else:
            continue
        if name != before.name:
            # A private copy, appended, so the expression reads the step-free name.
            nodes.append(replace(before, name=name))
            args[position] = len(nodes) - 1
    return replace(renamed, args=tuple(args)) if args != list(original.args) else renamed
