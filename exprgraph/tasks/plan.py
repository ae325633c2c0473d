"""The plan of a program, as data: what an optimiser, a scheduler and a memory
planner would do with its graph (`exprgraph plan`).

TensorFlow's Grappler, XLA's scheduler and JAX's `print_saved_residuals` do
this silently; here every decision is shown, in the program's own names (the
node names `exprgraph eval` shows: assigned names, inputs, `t1`, `t2`, ...).

1. **Optimisation** (`optimise`): common subexpressions merged (the graph's
   hash-consing already merged them: `Graph.repeats` says where each was
   written again), constants folded, dead statements removed and local
   algebraic rules applied (`RULES`), each change with its reason; the
   result is a real `Graph`, built with `GraphBuilder` and `finish_graph`.
2. **Schedule** (`forward_schedule`, `backward_schedule`): levels
   (wavefronts), the width of each, the critical path, work, span and
   work/span, for the forward pass and for the backward pass.
3. **Memory** (`memory_plan`): when each value can be freed, the peak number
   of live values in the written order and in the best order found, the
   residuals the backward pass keeps (derived from the op table's own
   derivative rules, `residual_reads`), the peak for training, and what
   checkpointing every k-th operation would save and cost.

Sections 2 and 3 are about the graph as the program builds it (after the
hash-consing, before the other changes of section 1), over the nodes that
reach the output: a dead statement is never scheduled.

Every analysis is a loop over the flat node list, never a recursion, and
takes time linear in nodes + edges (the best-order search: O(E log N)), so a
100,000-node program is planned like a small one. Nothing here prints.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..api import Program
from ..core.errors import MathError
from ..core.graph import Graph, GraphBuilder, Node, finish_graph
from ..core.numbers import format_number
from ..core.ops import CONST, INPUT, Op
from ..core.shapes import SCALAR, Shape
from ..printing.text import expression_text, node_expression

# --- which nodes matter ---------------------------------------------------------


def live_nodes(graph: Graph) -> list[bool]:
    """For each node, whether the output depends on it (it is the output or an
    argument of a live node): one backward sweep over the node list."""
    nodes = graph.nodes
    live = [False] * len(nodes)
    live[graph.output] = True
    for index in range(graph.output, -1, -1):
        if live[index]:
            for arg in nodes[index].args:
                live[arg] = True
    return live


def _is_value(node: Node) -> bool:
    """Whether the memory plan counts the node as a value: inputs and
    operations. A constant is part of the program's text (an immediate),
    not a value kept in memory."""
    return node.op is not CONST


# --- 1. optimisation ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """One local algebraic rule: `op` applied to arguments matching `pattern`
    is `result`.

    A pattern item is a number (a constant of that value), "x" (any node; a
    second "x" must be the same node) or ("neg", "x") (a negation of x). The
    result is "x" or a number. `zero_sign`: the rule may turn a -0 into +0
    (x + 0 is +0 for x = -0), so it is not applied where atan2, the one op
    that tells them apart, reads the result.
    """

    op: str
    pattern: tuple[Any, ...]
    result: Any
    text: str
    zero_sign: bool = False


# Each rule keeps the value wherever the original is defined, and its
# gradient (∂(x*1)/∂x = 1, ∂(x - x)/∂x = 0, ...). A rule whose result is a
# number applies only where the node is known to be a scalar: x - x for a
# vector x is a vector of zeros, not the number 0. A rule whose result is x
# keeps x's shape (constants are scalars, so x*1 has x's shape).
# Not rules, on purpose: x*0 → 0 (for a negative x, x*0 is -0, and atan2(-0, -1)
# is -π, not π; in IEEE arithmetic inf*0 is NaN, too); exp(log(x)) → x
# (it would define a value where log has none, x <= 0).
RULES: tuple[Rule, ...] = (
    Rule("mul", ("x", 1.0), "x", "x*1 = x"),
    Rule("mul", (1.0, "x"), "x", "1*x = x"),
    Rule("add", ("x", 0.0), "x", "x + 0 = x", zero_sign=True),
    Rule("add", (0.0, "x"), "x", "0 + x = x", zero_sign=True),
    Rule("sub", ("x", 0.0), "x", "x - 0 = x"),
    Rule("div", ("x", 1.0), "x", "x/1 = x"),
    Rule("pow", ("x", 1.0), "x", "x^1 = x"),
    Rule("neg", (("neg", "x"),), "x", "-(-x) = x"),
    Rule("sub", ("x", "x"), 0.0, "x - x = 0"),
    Rule("div", ("x", "x"), 1.0, "x/x = 1 wherever x/x is defined (x ≠ 0)"),
    Rule("pow", ("x", 0.0), 1.0, "x^0 = 1 (0^0 is 1 too)"),
)

_RULES_BY_OP: dict[str, tuple[Rule, ...]] = {}
for _rule in RULES:
    _RULES_BY_OP[_rule.op] = (*_RULES_BY_OP.get(_rule.op, ()), _rule)

CHANGE_KINDS = ("merged", "folded", "dead", "simplified")


@dataclass(frozen=True, slots=True)
class Change:
    """One change the optimisation made: its kind (one of CHANGE_KINDS), the
    statements it touched (the names they assign; the output's name for a
    bare last statement), the nodes it is about, where (the first node's
    line and column, 0 where unknown) and why, in one line."""

    kind: str
    statements: tuple[str, ...]
    nodes: tuple[str, ...]
    line: int
    column: int
    reason: str


@dataclass(frozen=True, slots=True)
class Optimisation:
    """The optimised graph and what changed. Counts: `operations_written`
    counts every operation as the program writes it (each merged repeat
    too); `nodes_before`/`operations_before` are the graph's (after the
    hash-consing); `nodes_after`/`operations_after` the optimised graph's."""

    graph: Graph
    changes: tuple[Change, ...]
    operations_written: int
    nodes_before: int
    operations_before: int
    nodes_after: int
    operations_after: int


def optimise(graph: Graph, shapes: Sequence[Shape] | None = None) -> Optimisation:
    """The graph optimised: constants folded, rules applied, dead nodes gone,
    and the list of changes (the merges the hash-consing made included).

    One forward pass over the live nodes builds the new graph: a node whose
    arguments are all constants becomes one constant (unless computing it
    fails, as 1/0 does: evaluation then reports it); otherwise the first of
    `RULES` that matches replaces it; otherwise it is kept, and the builder's
    hash-consing merges it with an earlier node that has become identical.
    `shapes` (the nodes' shapes, None where unknown) decides where a rule
    that gives a number applies. The optimised graph keeps the program's
    names, its inputs (those still used), declarations and `where` values.
    """
    nodes = graph.nodes
    count = len(nodes)
    live = live_nodes(graph)
    statements = _statement_names(graph)
    assigned = set(graph.assigned)
    changes: list[Change] = [*_merged_changes(graph, statements), *_dead_changes(graph, live,
                                                                                    statements)]
    reads_zero_sign = _feeds_atan2(graph)

    builder = GraphBuilder()
    new = [-1] * count  # original node → builder node
    origin: list[int] = []  # builder node → the original node it was built for
    own: set[int] = set()  # builder constants that belong to one name (own_constant)
    folded: dict[int, float] = {}  # original node → the constant it folded to
    built = builder.nodes

    def add_node(index: int, made: int) -> int:
        while len(origin) < len(built):
            origin.append(index)
        return made

    def constant(index: int, value: float, label: str) -> int:
        node = nodes[index]
        named = index == graph.output or any(n in assigned for n in (node.name, *node.aliases))
        before = len(built)
        made = builder.constant(value, label)
        if named:  # the program names it: a node of its own (finish_graph's rule)
            made = builder.own_constant(made, before)
            own.add(made)
        return add_node(index, made)

    for index, node in enumerate(nodes):
        if not live[index]:
            continue
        op = node.op
        if op is INPUT:
            new[index] = add_node(index, builder.intern(INPUT, label=node.label, line=node.line,
                                                        column=node.column))
            continue
        if op is CONST:
            assert node.value is not None
            new[index] = constant(index, node.value, node.label)
            continue
        args = tuple(new[a] for a in node.args)
        value = _folded_value(op, [built[a] for a in args])
        if value is not None:
            folded[index] = value
            new[index] = constant(index, value, format_number(value))
            continue
        rewrite = _rewrite(op, args, built, _shape(shapes, index), reads_zero_sign[index])
        if rewrite is not None:
            rule, result = rewrite
            if isinstance(result, float):
                new[index] = constant(index, result, format_number(result))
                shown = format_number(result)
            else:
                new[index] = result
                shown = nodes[origin[result]].name
            changes.append(Change("simplified", statements[index], (node.name,), node.line,
                                  node.column, f"{node.name} = {node_expression(nodes, node)} "
                                  f"becomes {shown} (rule: {rule.text})"))
            continue
        size = len(built)
        made = builder.intern(op, args, line=node.line, column=node.column)
        if made < size:  # an earlier node became the same operation
            first = origin[made]
            changes.append(Change(
                "merged", tuple(dict.fromkeys((*statements[first], *statements[index]))),
                (nodes[first].name, node.name), node.line, node.column,
                f"{node.name} = {node_expression(nodes, node)} is the same operation as "
                f"{nodes[first].name} once its arguments are simplified: computed once"))
        new[index] = add_node(index, made)

    changes += _fold_changes(graph, live, folded, statements)
    changes.sort(key=lambda c: (CHANGE_KINDS.index(c.kind), c.line, c.column))
    optimised = _finished(graph, built, new, origin, own)
    changes += _inputs_simplified_away(graph, optimised, changes)
    operations = sum(1 for node in nodes if node.op.arity)
    return Optimisation(optimised, tuple(changes), operations + len(graph.repeats), count,
                        operations, len(optimised.nodes),
                        sum(1 for node in optimised.nodes if node.op.arity))


def _inputs_simplified_away(graph: Graph, optimised: Graph, changes: list[Change]
                            ) -> list[Change]:
    """A change for each input the optimised program no longer reads because
    rules removed its uses (x/x + y reads no x), not because it was dead."""
    kept = set(optimised.input_names)
    reported = {name for change in changes if change.kind == "dead" for name in change.nodes}
    found = []
    for index in graph.inputs:
        node = graph.nodes[index]
        if node.label not in kept and node.name not in reported:
            found.append(Change("dead", (), (node.name,), node.line, node.column,
                                f"input {node.name} is no longer read once the rules above "
                                "are applied: the optimised program does not need its value"))
    return found


def _shape(shapes: Sequence[Shape] | None, index: int) -> Shape | None:
    return None if shapes is None else shapes[index]


def _folded_value(op: Op, args: list[Node]) -> float | None:
    """The op's value where every argument is a constant and computing it
    succeeds with a finite float; None otherwise (a failure such as 1/0 is
    left for evaluation to report; a tensor op has no float value)."""
    if not args or any(arg.op is not CONST for arg in args):
        return None
    try:
        value = float(op.evaluate(*[arg.value for arg in args]))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None
    if value == 0 and math.copysign(1.0, value) < 0:
        # -0 would become the constant 0 (the graph's constants do not tell
        # their zeros apart), and atan2(-0, -1) = -π is not atan2(0, -1) = π.
        return None
    return value if math.isfinite(value) else None


def _rewrite(op: Op, args: tuple[int, ...], built: Sequence[Node], shape: Shape | None,
             reads_zero_sign: bool) -> tuple[Rule, int | float] | None:
    """The first rule of RULES that applies to op(args), and its result: a
    builder node, or a number (for a node known to be a scalar)."""
    for rule in _RULES_BY_OP.get(op.name, ()):
        if rule.zero_sign and reads_zero_sign:
            continue
        if isinstance(rule.result, float) and (shape is None or not shape.is_scalar):
            continue
        bound = _match(rule.pattern, args, built)
        if bound is not None:
            return rule, (float(rule.result) if isinstance(rule.result, float) else bound)
    return None


def _match(pattern: tuple[Any, ...], args: tuple[int, ...], built: Sequence[Node]) -> int | None:
    """The node bound to x where `args` match `pattern` (-1 where the pattern
    has no x), else None."""
    bound = -1
    for item, arg in zip(pattern, args, strict=True):
        node = built[arg]
        if isinstance(item, float):
            if node.op is not CONST or node.value != item:
                return None
            continue
        if isinstance(item, tuple):  # ("neg", "x")
            if node.op.name != item[0]:
                return None
            arg = node.args[0]
        if bound not in (-1, arg):
            return None
        bound = arg
    return bound


def _feeds_atan2(graph: Graph) -> list[bool]:
    """For each node, whether an atan2 reads its value, directly or through
    other operations (the sign of a zero may matter there)."""
    nodes = graph.nodes
    feeds = [False] * len(nodes)
    for index in range(len(nodes) - 1, -1, -1):
        node = nodes[index]
        if node.op.name == "atan2" or feeds[index]:
            for arg in node.args:
                feeds[arg] = True
    return feeds


def _finished(graph: Graph, built: list[Node], new: list[int], origin: list[int],
              own: set[int]) -> Graph:
    """The builder's nodes that the new output needs, as a finished Graph
    with the program's names: an operation keeps the name of the node it was
    built for (so `t3` is still `t3`), an assigned name goes with its node."""
    nodes = graph.nodes
    output = new[graph.output]
    needed = [False] * len(built)
    needed[output] = True
    for index in range(output, -1, -1):
        if needed[index]:
            for arg in built[index].args:
                needed[arg] = True
    kept = [i for i in range(len(built)) if needed[i]]
    position = {old: k for k, old in enumerate(kept)}
    final = [Node(built[i].op, tuple(position[a] for a in built[i].args), built[i].value,
                  built[i].label, "", (), built[i].line, built[i].column, built[i].varying)
             for i in kept]
    origins = [origin[i] for i in kept]
    assigned: dict[str, int] = {}
    for name in graph.assigned:
        target = new[graph.names[name]]
        if target >= 0 and needed[target]:
            assigned[name] = position[target]
    out = position[output]
    if final[out].op is CONST and output not in own:
        # A shared constant as the output: the output gets a node of its own.
        final.append(replace(final[out]))
        origins.append(graph.output)
        out = len(final) - 1
    for name, index in list(assigned.items()):
        if index < len(kept) and final[index].op is CONST and kept[index] not in own \
                and index != out:
            final.append(replace(final[index]))
            origins.append(graph.names[name])
            assigned[name] = len(final) - 1
    finished = finish_graph(final, out, assigned, graph.source, graph.given,
                            output_alias=graph.output_name,
                            declarations=graph.declarations, declared_at=graph.declared_at)
    # finish_graph moves the inputs first; map its order back to the origins.
    inputs_first = [i for i, n in enumerate(final) if n.op is INPUT] + \
        [i for i, n in enumerate(final) if n.op is not INPUT]
    # An operation the program does not name keeps the name of the node it
    # was built for (t3 stays t3, though t1 and t2 are gone). The program's
    # names are unique and none is a leaf's, so no two nodes share one.
    names: dict[str, int] = {}
    for new_index, old_index in enumerate(inputs_first):
        node = finished.nodes[new_index]
        if node.op.arity and node.name not in assigned:
            node.name = nodes[origins[old_index]].name
        names.setdefault(node.name, new_index)
        for alias in node.aliases:
            names[alias] = new_index
    return replace(finished, names=names)


# --- statements: which statement a node or a position belongs to ----------------------


def _statement_names(graph: Graph) -> list[tuple[str, ...]]:
    """For each node, the statements it belongs to: the names the program
    assigns to it, else (an intermediate) the statement of its first user,
    which is the statement that wrote it first; the output's name for the
    bare last statement."""
    nodes = graph.nodes
    assigned = set(graph.assigned)
    first_user = [-1] * len(nodes)
    for index, node in enumerate(nodes):
        for arg in node.args:
            if first_user[arg] < 0:
                first_user[arg] = index
    found: list[tuple[str, ...]] = [()] * len(nodes)
    for index in range(len(nodes) - 1, -1, -1):
        node = nodes[index]
        own = tuple(name for name in (node.name, *node.aliases) if name in assigned)
        if own:
            found[index] = own
        elif index == graph.output:
            found[index] = (graph.output_name,)
        elif first_user[index] >= 0:
            found[index] = found[first_user[index]]
        else:
            found[index] = (node.name,)
    return found


# Where a statement may end: `;` or a new line outside brackets; `#` starts a comment.
_STATEMENT_MARKS = re.compile(r"[()\[\];\n#]")
_ASSIGNS = re.compile(r"\s*([A-Za-z_]\w*)\s*=(?!=)")


class _StatementFinder:
    """The statement at a (line, column) of the source: the program's text cut
    at `;` and new lines outside brackets (comments skipped), each part named
    by the name it assigns (a bare last part by the output's name)."""

    def __init__(self, graph: Graph) -> None:
        source = graph.source
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        parts: list[tuple[int, int]] = []
        depth = start = position = 0
        while True:
            mark = _STATEMENT_MARKS.search(source, position)
            if mark is None:
                break
            position = mark.end()
            char = mark.group()
            if char == "#":
                end = source.find("\n", position)
                position = len(source) if end < 0 else end
            elif char in "([":
                depth += 1
            elif char in ")]":
                depth = max(depth - 1, 0)
            elif depth == 0:
                parts.append((start, mark.start()))
                start = mark.end()
        parts.append((start, len(source)))
        parts = [(s, e) for s, e in parts if source[s:e].split("#")[0].strip()]
        self.starts = [s for s, _ in parts]
        self.names: list[str | None] = []
        for k, (s, e) in enumerate(parts):
            assigns = _ASSIGNS.match(source, s, e)
            if assigns and assigns.group(1) in graph.names:
                self.names.append(assigns.group(1))
            else:
                self.names.append(graph.output_name if k == len(parts) - 1 else None)

    def at(self, line: int, column: int) -> str | None:
        """The name of the statement holding this place, if known."""
        if line <= 0 or line > len(self.line_starts) or not self.starts:
            return None
        offset = self.line_starts[line - 1] + max(column - 1, 0)
        k = bisect.bisect_right(self.starts, offset) - 1
        return self.names[k] if k >= 0 else None


def _merged_changes(graph: Graph, statements: list[tuple[str, ...]]) -> list[Change]:
    """One change per node the hash-consing merged: where each writing is."""
    if not graph.repeats:
        return []
    nodes = graph.nodes
    finder = _StatementFinder(graph)
    again: dict[int, list[tuple[int, int]]] = {}
    for index, line, column in graph.repeats:
        again.setdefault(index, []).append((line, column))
    users: dict[int, list[int]] = {}
    for target, _position, source in graph.edges():
        if source in again:
            users.setdefault(source, []).append(target)
    changes = []
    for index in sorted(again):
        node = nodes[index]
        places = [(node.line, node.column), *again[index]]
        touched = dict.fromkeys(statements[index])
        for line, column in again[index]:
            name = finder.at(line, column)
            if name is not None:
                touched[name] = None
        # Every statement that reads it (in a loop, each step's: h[1], ..., h[4]).
        for user in users.get(index, []):
            touched.update(dict.fromkeys(statements[user]))
        times = len(places)
        changes.append(Change("merged", tuple(touched), (node.name,), node.line, node.column,
                              f"{node.name} = {node_expression(nodes, node)} is written "
                              f"{times} times ({_places_text(places)}) and computed once"))
    return changes


def _places_text(places: list[tuple[int, int]], at_most: int = 6) -> str:
    """"line 1, columns 7 and 13; line 2, column 5", the same place repeated
    (a loop's body) counted: "line 3, column 9 ×4"."""
    counts: dict[tuple[int, int], int] = {}
    for place in places:
        if place[0] > 0:
            counts[place] = counts.get(place, 0) + 1
    if not counts:
        return "places unknown"
    by_line: dict[int, list[str]] = {}
    for (line, column), times in list(counts.items())[:at_most]:
        by_line.setdefault(line, []).append(str(column) + (f" ×{times}" if times > 1 else ""))
    parts = []
    for line, columns in by_line.items():
        word = "column" if len(columns) == 1 else "columns"
        listed = columns[0] if len(columns) == 1 else \
            ", ".join(columns[:-1]) + " and " + columns[-1]
        parts.append(f"line {line}, {word} {listed}")
    more = len(counts) - at_most
    return "; ".join(parts) + (f"; {more} more places" if more > 0 else "")


def _dead_changes(graph: Graph, live: list[bool], statements: list[tuple[str, ...]]
                  ) -> list[Change]:
    """One change per statement the output does not use, and one per input
    that only such statements use."""
    nodes = graph.nodes
    assigned = set(graph.assigned)
    groups: dict[tuple[str, ...], list[int]] = {}
    inputs = []
    for index, node in enumerate(nodes):
        if live[index]:
            continue
        if node.op is INPUT:
            inputs.append(index)
        elif node.op.arity or any(n in assigned for n in (node.name, *node.aliases)):
            groups.setdefault(statements[index], []).append(index)
    changes = []
    out = graph.output_name
    for names, members in groups.items():
        root = max(members)  # the statement's own node is built last
        node = nodes[root]
        first = nodes[min(members)]
        operations = sum(1 for i in members if nodes[i].op.arity)
        own = set(members)
        what = expression_text(nodes, root, by_name=lambda i, own=own: i not in own) \
            if node.op.arity else node.label
        changes.append(Change(
            "dead", names, tuple(nodes[i].name for i in members), first.line or node.line,
            first.column or node.column,
            f"{' = '.join(names)} = {_shortened(what)} is never used by the output {out}: "
            f"{_counted(operations, 'operation')} removed"))
    users: dict[int, dict[str, None]] = {index: {} for index in inputs}
    for index, node in enumerate(nodes):
        for arg in node.args:
            if arg in users:
                users[arg].update(dict.fromkeys(statements[index]))
    for index in inputs:
        node = nodes[index]
        changes.append(Change("dead", tuple(users[index]), (node.name,), node.line, node.column,
                              f"input {node.name} is used only by statements the output {out} "
                              "does not use: the optimised program does not read it"))
    return changes


def _fold_changes(graph: Graph, live: list[bool], folded: dict[int, float],
                  statements: list[tuple[str, ...]]) -> list[Change]:
    """One change per folded subexpression: its top node (the output, a named
    statement, or a node an unfolded node uses) with the operations below it."""
    nodes = graph.nodes
    assigned = set(graph.assigned)
    top = [False] * len(nodes)
    for index, node in enumerate(nodes):
        if not live[index]:
            continue
        for arg in node.args:
            if arg in folded and index not in folded:
                top[arg] = True
    owner = [-1] * len(nodes)
    size: dict[int, int] = {}
    for index in range(len(nodes) - 1, -1, -1):
        node = nodes[index]
        if index not in folded:
            continue
        if top[index] or index == graph.output or node.name in assigned or owner[index] < 0:
            owner[index] = index
        size[owner[index]] = size.get(owner[index], 0) + 1
        for arg in node.args:
            if arg in folded and owner[arg] < 0:
                owner[arg] = owner[index]
    changes = []
    for root in sorted(size):
        node = nodes[root]
        operations = size[root]
        if operations <= 20:  # small enough to show whole, down to other statements
            text = expression_text(nodes, root, by_name=lambda i, r=root: owner[i] != r)
        else:
            text = node_expression(nodes, node)
        value = format_number(folded[root])
        changes.append(Change("folded", statements[root], (node.name,), node.line,
                              node.column, f"{node.name} = {_shortened(text)} uses constants "
                              f"only: folded to {value}" + (
                                  f" ({_counted(operations, 'operation')})"
                                  if operations > 1 else "")))
    return changes


def _shortened(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


# --- 2. schedule -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schedule:
    """Levels (wavefronts) of steps, as node indices: every step of level k
    needs only steps of earlier levels, so a level's steps can run at once.
    `critical_path` is a longest chain of nodes (node indices, in the order
    they run); `work` counts the steps and `span` the levels."""

    levels: tuple[tuple[int, ...], ...]
    critical_path: tuple[int, ...]

    @property
    def width(self) -> tuple[int, ...]:
        """How many steps each level holds."""
        return tuple(len(level) for level in self.levels)

    @property
    def work(self) -> int:
        return sum(self.width)

    @property
    def span(self) -> int:
        return len(self.levels)

    @property
    def max_width(self) -> int:
        return max(self.width, default=0)

    @property
    def parallelism(self) -> float | None:
        """work / span: how many workers could help on average (None without steps)."""
        return self.work / self.span if self.span else None


def forward_schedule(graph: Graph, live: Sequence[bool] | None = None) -> Schedule:
    """The forward pass by levels: a leaf (input or constant) is ready at the
    start (level 0, not listed); an operation's level is 1 + its arguments'
    highest. Over the live nodes only. The critical path runs from a leaf to
    the output, each node an argument of the next at the level below."""
    nodes = graph.nodes
    live = live if live is not None else live_nodes(graph)
    level = [0] * len(nodes)
    via = [-1] * len(nodes)
    for index, node in enumerate(nodes):
        if not live[index] or not node.args:
            continue
        deepest = node.args[0]
        for arg in node.args:
            if level[arg] > level[deepest]:
                deepest = arg
        level[index] = level[deepest] + 1
        via[index] = deepest
    levels: list[list[int]] = [[] for _ in range(level[graph.output])]
    for index, node in enumerate(nodes):
        if live[index] and node.args:
            levels[level[index] - 1].append(index)
    path = [graph.output]
    while via[path[-1]] >= 0:
        path.append(via[path[-1]])
    path.reverse()
    return Schedule(tuple(map(tuple, levels)), tuple(path))


def backward_schedule(graph: Graph) -> Schedule:
    """The backward pass by levels: the adjoint of the output is the seed,
    ready at the start (level 0, not listed); the adjoint of any other node
    that depends on an input is one step, which needs the adjoints of all its
    users, so its level is 1 + their highest. Constants have no adjoints. The
    critical path runs from the output down to an input."""
    nodes = graph.nodes
    output = graph.output
    level = [-1] * len(nodes)
    via = [-1] * len(nodes)
    if not nodes[output].varying:
        return Schedule((), (output,))
    level[output] = 0
    deepest = output
    for index in range(output, -1, -1):
        if level[index] < 0:
            continue
        if level[index] > level[deepest]:
            deepest = index
        for arg in nodes[index].args:
            if nodes[arg].varying and level[index] + 1 > level[arg]:
                level[arg] = level[index] + 1
                via[arg] = index
    levels: list[list[int]] = [[] for _ in range(level[deepest])]
    for index in range(output, -1, -1):  # from the output down, as the pass runs
        if level[index] > 0:
            levels[level[index] - 1].append(index)
    path = [deepest]
    while via[path[-1]] >= 0:
        path.append(via[path[-1]])
    path.reverse()
    return Schedule(tuple(map(tuple, levels)), tuple(path))


# --- 3. memory: residuals ------------------------------------------------------------


class _Reads:
    """A traced value: the symbols whose values it was computed from (`arg0`,
    `arg1`, `out`, `g`), and a shape for the rules that ask (`b.shape(x)`)."""

    __slots__ = ("shape", "symbols")

    def __init__(self, symbols: frozenset[str], shape: Shape = SCALAR) -> None:
        self.symbols = symbols
        self.shape = shape


_NOTHING = _Reads(frozenset())


def _union(*values: _Reads) -> _Reads:
    return _Reads(frozenset().union(*(v.symbols for v in values)))


class ReadsAlgebra:
    """The builder protocol (and the tensor operations of core/tensor_ops.py)
    over `_Reads`: a derivative rule run through it says which values it
    reads. A constant reads nothing; so do `size`, `eye` and `ones_like`,
    which need a shape only (known without the values)."""

    def const(self, value: float) -> _Reads:
        return _NOTHING

    def add(self, a: _Reads, b: _Reads) -> _Reads:
        return _union(a, b)

    sub = mul = div = pow = matmul = index = add

    def neg(self, a: _Reads) -> _Reads:
        return a

    transpose = total = largest = diag = det = inv = logdet = neg

    def apply(self, op_name: str, *args: _Reads) -> _Reads:
        return _union(*args)

    def broadcast_to(self, a: _Reads, shape: Shape) -> _Reads:
        return a

    sum_to = broadcast_to

    def shape(self, a: _Reads) -> Shape:
        return a.shape

    def ones_like(self, a: _Reads) -> _Reads:
        return _NOTHING

    size = ones_like

    def eye(self, shape: Shape) -> _Reads:
        return _NOTHING

    def unindex(self, g: _Reads, position: _Reads, shape: Shape) -> _Reads:
        return _union(g, position)

    def nonzero(self, a: _Reads, message: str) -> _Reads:
        return a


READS = ReadsAlgebra()


def residual_reads(op: Op, needed: Sequence[bool], arg_shapes: Sequence[Shape] | None = None,
                   out_shape: Shape = SCALAR, vjp: bool | None = None) -> frozenset[str]:
    """What the backward step of `op` reads of the forward pass: `arg0`,
    `arg1`, ... and `out`, found by running the op's own derivative rules
    (its vector–Jacobian products for a tensor program, `vjp`) over
    `ReadsAlgebra` for each argument whose adjoint is `needed`. tanh reads
    `out`, mul both arguments, add nothing."""
    shapes = arg_shapes or [SCALAR] * op.arity
    args = tuple(_Reads(frozenset({f"arg{k}"}), shapes[k]) for k in range(op.arity))
    out = _Reads(frozenset({"out"}), out_shape)
    upstream = _Reads(frozenset({"g"}), out_shape)
    use_vjp = bool(op.vjp) if vjp is None else (vjp and bool(op.vjp)) or not op.derivatives
    reads: set[str] = set()
    for position, wanted in enumerate(needed):
        if not wanted:
            continue
        if use_vjp:
            rule = op.vjp[position]
            if rule is None:  # an index position: never differentiated
                continue
            found = rule(READS, args, out, upstream)
        else:
            found = op.derivatives[position](READS, args, out)
        reads |= found.symbols
    return frozenset(reads - {"g"})


def residuals(graph: Graph, shapes: Sequence[Shape] | None = None,
              live: Sequence[bool] | None = None) -> dict[int, tuple[int, ...]]:
    """For each backward step (a live operation that depends on an input),
    the forward values it reads: its arguments and/or its own value, as node
    indices (constants left out: they are part of the program). Tensor
    programs use the ops' vector–Jacobian products, as their backward pass
    does; scalar programs the derivative rules."""
    nodes = graph.nodes
    live = live if live is not None else live_nodes(graph)
    tensor = shapes is None or any(not s.is_scalar for s in shapes)
    cache: dict[tuple[Any, ...], frozenset[str]] = {}
    found: dict[int, tuple[int, ...]] = {}
    for index, node in enumerate(nodes):
        if not live[index] or not node.args or not node.varying:
            continue
        needed = tuple(nodes[a].varying for a in node.args)
        arg_shapes = tuple(SCALAR if shapes is None else shapes[a] for a in node.args)
        out_shape = SCALAR if shapes is None else shapes[index]
        key = (node.op.name, needed, arg_shapes, out_shape)
        symbols = cache.get(key)
        if symbols is None:
            symbols = cache[key] = residual_reads(node.op, needed, arg_shapes, out_shape,
                                                  vjp=tensor)
        kept = [index] if "out" in symbols else []
        kept[:0] = [a for k, a in enumerate(node.args) if f"arg{k}" in symbols]
        found[index] = tuple(dict.fromkeys(a for a in kept if nodes[a].op is not CONST))
    return found


# --- 3. memory: simulation ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Peak:
    """A peak of live values, and of their elements where sizes are known."""

    values: int
    elements: int | None = None


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """Checkpointing every k-th operation: `stored` is what is kept when the
    forward pass ends (values, elements), `peak` the peak over forward and
    backward, `recomputed` the operations run again in the backward pass."""

    k: int
    stored: Peak
    peak: Peak
    recomputed: int
    operations: int

    @property
    def extra_cost(self) -> float:
        """The recomputation as a percentage of the forward pass's operations."""
        return 100.0 * self.recomputed / self.operations if self.operations else 0.0


ORDER_HEURISTICS = ("written", "greedy", "depth-first")


@dataclass(frozen=True, slots=True)
class MemoryPlan:
    """The memory plan (node indices; see the module and `memory_plan`).

    `written` is the live operations in the program's order; `orders` the
    candidate orders by heuristic name and `peaks` their forward peaks;
    `best` names the order with the lowest peak (the written one on a tie).
    `freed_after[v]` is the operation after which value v can be freed in
    the written order (None: the output, kept). `sizes` holds each node's
    number of elements where the program has vectors or matrices of known
    sizes, else None (`sizes_note` says why where they are unknown).
    """

    written: tuple[int, ...]
    orders: dict[str, tuple[int, ...]]
    peaks: dict[str, Peak]
    best: str
    freed_after: dict[int, int | None]
    residuals: dict[int, tuple[int, ...]]
    training: Peak
    checkpoints: tuple[CheckpointRow, ...]
    sizes: tuple[int, ...] | None = None
    sizes_note: str = ""

    @property
    def best_order(self) -> tuple[int, ...]:
        return self.orders[self.best]


class _Values:
    """What the memory simulations share: for each node its distinct
    argument values (constants left out), its users among the live
    operations, and its weight (elements, or 1)."""

    def __init__(self, graph: Graph, live: Sequence[bool], sizes: Sequence[int] | None) -> None:
        nodes = graph.nodes
        self.count = len(nodes)
        self.output = graph.output
        self.leaf = [node.op is INPUT for node in nodes]
        self.order = [i for i, node in enumerate(nodes) if live[i] and node.args]
        self.args: list[tuple[int, ...]] = [()] * self.count
        self.users: list[list[int]] = [[] for _ in nodes]
        for index in self.order:
            values = tuple(dict.fromkeys(a for a in nodes[index].args
                                         if _is_value(nodes[a])))
            self.args[index] = values
            for arg in values:
                self.users[arg].append(index)
        self.varying = [node.varying for node in nodes]
        self.sizes = sizes


class _Lifetimes:
    """Each value's lifetime as an interval of steps: it lives from the step
    that produces it through the last step that reads it (a pinned one to
    the end), so the count during a step includes what it produces and what
    it reads, and the peak is during a step. Keys are node indices in three
    ranges of n (the nodes): values, adjoints (+n) and recomputed values
    (+2n). Steps only set numbers (`produce`, `read`); no step is kept as an
    object, and the peak is one pass of sums (itertools.accumulate)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.birth = [-1] * (3 * count)
        self.last = [-1] * (3 * count)
        self.made: list[int] = []
        self.time = 0  # the current step

    def copy(self) -> _Lifetimes:
        other = _Lifetimes.__new__(_Lifetimes)
        other.count, other.time = self.count, self.time
        other.birth, other.last, other.made = self.birth[:], self.last[:], self.made[:]
        return other

    def peak(self, sizes: Sequence[int] | None, pinned: Sequence[int] = (),
             boundary: int = -1) -> tuple[Peak, Peak]:
        """The peak, and what is live after step `boundary` (values, and
        elements where `sizes` are given)."""
        from itertools import accumulate

        birth, last, end = self.birth, self.last, self.time
        for key in pinned:
            if birth[key] >= 0:
                last[key] = end
        found: list[Peak] = []
        for weights in (None, sizes) if sizes is not None else (None,):
            change = [0] * (end + 2)
            stored = 0
            count = self.count
            for key in self.made:
                weight = 1 if weights is None else weights[key % count]
                change[birth[key]] += weight
                change[last[key] + 1] -= weight
                if birth[key] <= boundary < last[key]:
                    stored += weight
            found += [Peak(max(accumulate(change), default=0)), Peak(stored)]
        if sizes is None:
            return found[0], found[1]
        return Peak(found[0].values, found[2].values), Peak(found[1].values, found[3].values)


def _forward_lifetimes(values: _Values, order: Sequence[int]) -> _Lifetimes:
    """One step per operation: it produces its value (and loads an input at
    its first use) and reads its arguments."""
    lives = _Lifetimes(values.count)
    birth, last, made = lives.birth, lives.last, lives.made
    leaf, args = values.leaf, values.args
    for time, index in enumerate(order):
        birth[index] = last[index] = time
        made.append(index)
        for arg in args[index]:
            if leaf[arg] and birth[arg] < 0:
                birth[arg] = time
                made.append(arg)
            last[arg] = time
    lives.time = len(order)
    return lives


def _forward_peak(values: _Values, order: Sequence[int]) -> Peak:
    if not order:
        return _no_operations(values)
    peak, _ = _forward_lifetimes(values, order).peak(values.sizes, [values.output])
    return peak


def _no_operations(values: _Values, adjoint: bool = False) -> Peak:
    """A program without operations keeps its output (and its adjoint, the
    seed, where it is an input)."""
    count = 2 if adjoint and values.varying[values.output] else 1
    size = None if values.sizes is None else values.sizes[values.output] * count
    return Peak(count, size)


class _Training:
    """What the training simulations share, whatever k: the forward pass of
    the written order, the position of each value's last reader, and each
    backward step's adjoints (created, read) and residuals.

    The model (`_Training.row`): forward, then backward in the reverse order,
    checkpointing every k-th operation; k = 1 keeps every value the backward
    pass reads. The operations are cut into segments of k. Kept from the
    forward pass: the inputs, the last operation of each segment (the
    checkpoint), every value a later segment reads, the output, and the whole
    last segment (the backward pass starts there). Any other value is freed
    after its last forward use; where the backward pass reads it (a residual,
    or an argument of another recomputed value), it is computed again from
    the kept values just before the backward steps of its segment, and freed
    after its last use there. An adjoint lives from its first contribution
    to its node's backward step; the inputs' adjoints (the gradient) and the
    output's value are kept.
    """

    def __init__(self, values: _Values, reads: Mapping[int, tuple[int, ...]]) -> None:
        n = values.count
        self.values = values
        self.order = values.order
        self.forward = _forward_lifetimes(values, self.order)
        self.last_reader = [-1] * n
        for p, index in enumerate(self.order):
            for arg in values.args[index]:
                self.last_reader[arg] = p
        has_adjoint = [False] * n
        self.steps: list[tuple[list[int], list[int], tuple[int, ...]] | None] = \
            [None] * len(self.order)
        for p in range(len(self.order) - 1, -1, -1):
            index = self.order[p]
            if index not in reads:  # no backward step: it depends on no input
                continue
            produced: list[int] = []
            read = [n + index]
            if not has_adjoint[index]:  # the output's: the seed
                has_adjoint[index] = True
                produced.append(n + index)
            for arg in values.args[index]:
                if values.varying[arg]:
                    if not has_adjoint[arg]:
                        has_adjoint[arg] = True
                        produced.append(n + arg)
                    read.append(n + arg)
            self.steps[p] = (produced, read, reads[index])
        self.pinned = [values.output] + [n + i for i in range(n)
                                         if values.leaf[i] and values.varying[i]]
        self.needed = [False] * n  # _recompute's marks, cleared after each segment

    def row(self, k: int) -> CheckpointRow:
        """The simulation with checkpoints every k operations (see the class)."""
        values, order = self.values, self.order
        n, output = values.count, values.output
        total = len(order)
        last_segment = (total - 1) // k
        kept = [True] * n
        last_reader = self.last_reader
        for p, index in enumerate(order):
            segment = p // k
            if not (p % k == k - 1 or segment == last_segment or index == output
                    or last_reader[index] // k > segment):
                kept[index] = False
        lives = self.forward.copy()
        birth, last, made = lives.birth, lives.last, lives.made
        boundary = lives.time - 1
        twice = 2 * n
        recomputed = 0
        for p in range(total - 1, -1, -1):
            if p % k == k - 1 and p // k < last_segment:
                recomputed += self._recompute(p - k + 1, p + 1, kept, lives)
            step = self.steps[p]
            if step is not None:
                time = lives.time
                produced, read, residual = step
                for key in produced:
                    birth[key] = last[key] = time
                made += produced
                for key in read:
                    last[key] = time
                for key in residual:
                    last[key if kept[key] else twice + key] = time
                lives.time = time + 1
        peak, stored = lives.peak(values.sizes, self.pinned, boundary)
        return CheckpointRow(k, stored, peak, recomputed, total)

    def _recompute(self, start: int, stop: int, kept: list[bool], lives: _Lifetimes) -> int:
        """The steps that compute again the values of the segment
        order[start:stop] that its backward steps read (and the values those
        need, of the same segment: a value a later segment reads is kept);
        how many."""
        args, order, steps = self.values.args, self.order, self.steps
        needed = self.needed
        twice = 2 * self.values.count
        for p in range(start, stop):
            step = steps[p]
            if step is not None:
                for key in step[2]:
                    if not kept[key]:
                        needed[key] = True
        count = 0
        for p in range(stop - 1, start - 1, -1):
            index = order[p]
            if needed[index]:
                count += 1
                for arg in args[index]:
                    if not kept[arg]:
                        needed[arg] = True
        birth, last, made = lives.birth, lives.last, lives.made
        time = lives.time
        for p in range(start, stop):
            index = order[p]
            if needed[index]:
                needed[index] = False
                birth[twice + index] = last[twice + index] = time
                made.append(twice + index)
                for arg in args[index]:
                    last[arg if kept[arg] else twice + arg] = time
                time += 1
        lives.time = time
        return count


def _greedy_order(values: _Values) -> list[int]:
    """Among the ready operations, run next the one that adds the least to
    the live total (its value and the inputs it loads, minus the values it is
    the last to read), ties by written order: a heap with lazy updates, so
    O(E log N). Scores only fall (an input once loaded costs nothing more; a
    value's last reader frees it), so a popped entry whose score is out of
    date has a fresher one below it and is skipped."""
    n = values.count
    order, args, users, leaf = values.order, values.args, values.users, values.leaf
    weight = values.sizes if values.sizes is not None else [1] * n
    output = values.output
    position = {index: p for p, index in enumerate(order)}
    remaining = [len(users[i]) for i in range(n)]
    pending = [0] * n
    for index in order:
        pending[index] = sum(1 for a in args[index] if not leaf[a])
    loaded = [False] * n
    done = [False] * n

    def score(index: int) -> int:
        total = weight[index]
        for arg in args[index]:
            if leaf[arg] and not loaded[arg]:
                total += weight[arg]
            if remaining[arg] == 1 and arg != output:
                total -= weight[arg]
        return total

    heap = [(score(i), position[i], i) for i in order if pending[i] == 0]
    heapq.heapify(heap)
    result: list[int] = []

    def push(index: int) -> None:
        if not done[index] and pending[index] == 0:
            heapq.heappush(heap, (score(index), position[index], index))

    while heap:
        found, _, index = heapq.heappop(heap)
        if done[index] or found != score(index):
            continue
        done[index] = True
        result.append(index)
        for arg in args[index]:
            if leaf[arg] and not loaded[arg]:
                loaded[arg] = True
                for user in users[arg]:
                    push(user)
            remaining[arg] -= 1
            if remaining[arg] == 1:
                for user in users[arg]:
                    if not done[user]:
                        push(user)
                        break
        for user in users[index]:
            pending[user] -= 1
            push(user)
    return result


def _depth_first_order(graph: Graph, values: _Values, level: Sequence[int]) -> list[int]:
    """The operations in post-order from the output, the deeper argument first
    (a Sethi–Ullman-like order: finish the bigger part while little is live)."""
    order: list[int] = []
    seen = [False] * values.count
    stack = [graph.output]
    nodes = graph.nodes
    while stack:
        index = stack.pop()
        if index < 0:
            order.append(~index)
            continue
        if seen[index] or not nodes[index].args:
            continue
        seen[index] = True
        stack.append(~index)
        inner = [a for a in dict.fromkeys(nodes[index].args) if nodes[a].args]
        inner.sort(key=lambda a: level[a])
        stack.extend(inner)  # the deepest is popped first
    return order


def _levels(graph: Graph) -> list[int]:
    level = [0] * len(graph.nodes)
    for index, node in enumerate(graph.nodes):
        if node.args:
            level[index] = 1 + max(level[a] for a in node.args)
    return level


def checkpoint_sizes(operations: int) -> list[int]:
    """The k of the checkpoint table: 1 (store what the backward pass reads),
    2, 4, 8, about √n and 2√n, each below the number of operations (a k that
    large is one segment, the same as k = 1)."""
    root = max(math.isqrt(operations), 1)
    return sorted({k for k in (1, 2, 4, 8, root, 2 * root) if k == 1 or k < operations})


def node_sizes(graph: Graph, shapes: Sequence[Shape] | None) -> tuple[tuple[int, ...] | None,
                                                                       str]:
    """Each node's number of elements where the program has vectors or
    matrices and every size is known, with a note where they are not."""
    if shapes is None:
        return None, ("the shapes are not known (declare the inputs or give values), so "
                      "values are counted, not elements")
    if all(shape.is_scalar for shape in shapes):
        return None, ""
    sizes = []
    unknown: dict[str, None] = {}
    for shape in shapes:
        count = 1
        for dim in shape.dims:
            if isinstance(dim, int):
                count *= dim
            else:
                unknown[str(dim)] = None
        sizes.append(count)
    if unknown:
        names = list(unknown)
        which = f"the size {names[0]} is" if len(names) == 1 else \
            f"the sizes {', '.join(names)} are"
        return None, f"{which} not known (give values), so values are counted, not elements"
    return tuple(sizes), ""


def memory_plan(graph: Graph, shapes: Sequence[Shape] | None = None,
                live: Sequence[bool] | None = None,
                ks: Sequence[int] | None = None) -> MemoryPlan:
    """The memory plan of the live graph (see the module). The model: a value
    is one unit (and, where sizes are known, its elements); an input is
    loaded just before its first use; a value is freed after the last step
    that reads it; the output is kept. Constants are not values."""
    live = live if live is not None else live_nodes(graph)
    sizes, note = node_sizes(graph, shapes)
    values = _Values(graph, live, sizes)
    written = tuple(values.order)
    orders = {"written": written, "greedy": tuple(_greedy_order(values)),
              "depth-first": tuple(_depth_first_order(graph, values, _levels(graph)))}
    peaks = {name: _forward_peak(values, order) for name, order in orders.items()}

    def cost(name: str) -> tuple[int, int, int]:
        peak = peaks[name]
        return (peak.elements or 0, peak.values, ORDER_HEURISTICS.index(name))

    best = min(orders, key=cost)
    freed: dict[int, int | None] = {}
    for index in written:
        for arg in values.args[index]:
            freed[arg] = index
        freed.setdefault(index, None)
    freed[graph.output] = None
    if graph.nodes[graph.output].op is INPUT:
        freed.setdefault(graph.output, None)
    ordered = {i: freed[i] for i in sorted(freed)}
    reads = residuals(graph, shapes, live)
    if written:
        simulation = _Training(values, reads)
        rows = tuple(simulation.row(k)
                     for k in (ks if ks is not None else checkpoint_sizes(len(written))))
        training = rows[0].peak if rows and rows[0].k == 1 else simulation.row(1).peak
    else:
        rows = ()
        training = _no_operations(values, adjoint=True)
    return MemoryPlan(written, orders, peaks, best, ordered, reads, training, rows, sizes, note)


# --- the whole plan ------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """The optimised program evaluated against the original at the given
    values: value and gradient, and whether they agree (to 1e-9 relative).
    `error` is the original's math error there, if it has one; `missing`
    lists inputs without a value (then nothing is evaluated)."""

    values: dict[str, Any]
    missing: tuple[str, ...] = ()
    value: Any = None
    optimised_value: Any = None
    gradient: dict[str, Any] = field(default_factory=dict)
    optimised_gradient: dict[str, Any] = field(default_factory=dict)
    agree: bool | None = None
    error: MathError | None = None


@dataclass(frozen=True)
class Plan:
    """Everything `exprgraph plan` reports about one program."""

    program: Program
    optimisation: Optimisation
    forward: Schedule
    backward: Schedule
    memory: MemoryPlan
    check: Check | None = None

    def name(self, index: int) -> str:
        """A node's name in the program (as `exprgraph eval` shows it)."""
        return self.program.graph.nodes[index].name


def plan(program: Program, values: Mapping[str, Any] | None = None) -> Plan:
    """The plan of a compiled program; `values` (optional) check the
    optimisation at that point (see `Check`). Their shapes, for vectors and
    matrices, are already in `program.shapes` where the program was compiled
    with them (`exprgraph.compile(..., shapes=...)`, as the CLI does)."""
    graph = program.graph
    shapes = program.shapes
    live = live_nodes(graph)
    optimisation = optimise(graph, shapes)
    memory = memory_plan(graph, shapes, live)
    check = _check(program, optimisation, values) if values else None
    return Plan(program, optimisation, forward_schedule(graph, live),
                backward_schedule(graph), memory, check)


def _check(program: Program, optimisation: Optimisation, values: Mapping[str, Any]) -> Check:
    missing = tuple(name for name in program.inputs if name not in values)
    given = dict(values)
    if missing:
        return Check(given, missing)
    try:
        original = program.evaluate_partially(given)
    except MathError as error:
        return Check(given, error=error)
    optimised = Program(optimisation.graph).evaluate_partially(given)
    gradient = original.gradient
    other = optimised.gradient
    agree = _close(original.value, optimised.value) and all(
        name in other and _close(gradient[name], other[name]) for name in gradient)
    return Check(given, (), original.value, optimised.value, gradient, other, agree)


def _close(a: Any, b: Any) -> bool:
    if hasattr(a, "shape") or hasattr(b, "shape"):
        import numpy as np

        return bool(np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-9, atol=1e-12))
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
