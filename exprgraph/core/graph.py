"""The computational graph: a flat single-assignment node list.

A `Graph` is a Wengert list (JAX calls it a jaxpr): nodes in topological
order, inputs first, each node an op applied to earlier nodes by index. Every
pass over it is a loop over that list, never a recursion, so a graph 100,000
nodes deep costs nothing special.

`GraphBuilder` appends nodes and hash-conses them: asking twice for the same
op on the same arguments returns the same node, so `(x+y)*(x+y)` has one
`x+y` node used twice, and its adjoint sums both uses.

Node names: an input is named by its variable, a constant by its text
(`3`, `pi`). An operation takes the first name the program assigns to it; the
others are `aliases`. A constant the program assigns (`a = 1`) is a node of
its own, named like an operation, so `b = a + 1` reads `a + 1`. An operation
the program does not name gets `t1`, `t2`, ... in topological order, skipping
any name the program uses (`v1`, `v2`, ... where a loop's variable is `t`,
so that t3 does not read as "t = 3"); an unnamed output, even a bare constant, is `out`
(unless the program uses that name).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import SourceWarning
from .numbers import format_number
from .ops import CONST, INPUT, Op
from .records import Record
from .shapes import Shape

OUTPUT_NAME = "out"


# Node, Graph and Loop are plain classes with __slots__ and their own
# __init__, for start-up (see core/records.py). Node and Graph keep
# `@dataclass(init=False, repr=False, eq=False)`, which only records their
# fields and generates no method: the tasks copy them with `dataclasses.replace`.


@dataclass(init=False, repr=False, eq=False)
class Node:
    """One node: an op applied to earlier nodes (indices into the node list).
    Compared by identity; `name`, `aliases` and `args` are set while the
    graph is built (`finish_graph`)."""

    __slots__ = ("aliases", "args", "column", "label", "line", "name", "op", "value", "varying")
    op: Op
    args: tuple[int, ...]
    value: float | None  # constants only
    label: str  # inputs: the variable; constants: their text
    name: str  # display name, final once the graph is built
    aliases: tuple[str, ...]  # immutable: most nodes share the one empty tuple
    line: int  # where the node first occurs in the source (1-based; 0: unknown)
    column: int
    varying: bool  # depends on an input; constants never get adjoints

    def __init__(self, op: Op, args: tuple[int, ...], value: float | None = None,
                 label: str = "", name: str = "", aliases: tuple[str, ...] = (),
                 line: int = 0, column: int = 0, varying: bool = False) -> None:
        self.op = op
        self.args = args
        self.value = value
        self.label = label
        self.name = name
        self.aliases = aliases
        self.line = line
        self.column = column
        self.varying = varying

    def __repr__(self) -> str:
        return f"<Node {self.name or self.label or '?'}: {self.op.name}{list(self.args)}>"


@dataclass(init=False, repr=False, eq=False)
class Graph(Record):
    """A finished graph: nodes (inputs first), the output, and name lookup.
    Immutable (its nodes are not), and equal to a graph with equal fields."""

    __slots__ = _fields = ("nodes", "inputs", "output", "source", "names", "assigned", "given",
                           "warnings", "output_alias", "referenced", "declarations",
                           "declared_at", "repeats", "loops")
    nodes: tuple[Node, ...]
    inputs: tuple[int, ...]
    output: int
    source: str
    names: dict[str, int]
    assigned: tuple[str, ...]  # the names the program assigns, in order
    given: dict[str, Any]  # `where` values (arrays for tensors)
    # Valid but probably unintended text (`1/2x`), in source order; shown, never raised.
    warnings: tuple[SourceWarning, ...]
    # The name the last statement assigns when its node has another name
    # (`f = x`: the output is x's node, and it is called f).
    output_alias: str
    # The assigned names a later statement uses by name (None: not known).
    referenced: frozenset[str] | None
    # The shapes the program declares for its inputs (`x: vector(n)`), in
    # program order; an input not declared is a scalar unless its value says otherwise.
    declarations: dict[str, Shape]
    # Where each declaration is, (line, column): a value that disagrees with
    # it is reported there.
    declared_at: dict[str, tuple[int, int]]
    # Each place the program writes an operation that an earlier place already
    # built, (node, line, column): `(x+y)*(x+y)` computes x+y once, and its
    # second writing is here. The common subexpressions the hash-consing merged.
    repeats: tuple[tuple[int, int, int], ...]
    # The program's `for` loops, unrolled: which nodes each step built.
    loops: tuple[Loop, ...]

    def __init__(
        self,
        nodes: tuple[Node, ...],
        inputs: tuple[int, ...],
        output: int,
        source: str = "",
        names: dict[str, int] | None = None,
        assigned: tuple[str, ...] = (),
        given: dict[str, Any] | None = None,
        warnings: tuple[SourceWarning, ...] = (),
        output_alias: str = "",
        referenced: frozenset[str] | None = None,
        declarations: dict[str, Shape] | None = None,
        declared_at: dict[str, tuple[int, int]] | None = None,
        repeats: tuple[tuple[int, int, int], ...] = (),
        loops: tuple[Loop, ...] = (),
    ) -> None:
        _set = object.__setattr__
        _set(self, "nodes", nodes)
        _set(self, "inputs", inputs)
        _set(self, "output", output)
        _set(self, "source", source)
        _set(self, "names", {} if names is None else names)
        _set(self, "assigned", assigned)
        _set(self, "given", {} if given is None else given)
        _set(self, "warnings", warnings)
        _set(self, "output_alias", output_alias)
        _set(self, "referenced", referenced)
        _set(self, "declarations", {} if declarations is None else declarations)
        _set(self, "declared_at", {} if declared_at is None else declared_at)
        _set(self, "repeats", repeats)
        _set(self, "loops", loops)

    def __repr__(self) -> str:
        return f"<Graph of {len(self.nodes)} nodes, output {self.output_name}>"

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    @property
    def input_names(self) -> tuple[str, ...]:
        """The input variables, in order of first use."""
        return tuple(self.nodes[i].label for i in self.inputs)

    def sinks(self) -> tuple[str, ...]:
        """The assigned names nothing else uses, then the output. A name counts
        as used where a statement names it (so `f = x; g = x*y` has outputs f
        and g, though f's node, the input x, feeds g)."""
        if self.referenced is not None:
            names = [name for name in self.assigned if name not in self.referenced]
        else:
            used = {arg for node in self.nodes for arg in node.args}
            names = [name for name in self.assigned if self.names[name] not in used]
        if self.output_name not in names:
            names.append(self.output_name)
        return tuple(names)

    @property
    def output_name(self) -> str:
        """The output's name: the last statement's (even where it names another
        node: `f = x`), else the output node's own (assigned, or generated)."""
        return self.output_alias or self.nodes[self.output].name

    def index(self, name: str) -> int:
        """The node index for a node name, alias or input; KeyError if none."""
        return self.names[name]

    def edges(self) -> Iterator[tuple[int, int, int]]:
        """Every (node, argument position, argument node) in node order."""
        for i, node in enumerate(self.nodes):
            for position, arg in enumerate(node.args):
                yield i, position, arg


class Loop(Record):
    """One `for` loop of a program, unrolled: `for t = 1..4: h[t] = ...`.

    `steps[k]` holds the nodes step `first + k` built (a node an earlier step
    already built, such as `w`, belongs to that step), and `assigns` the
    names of the indexed sequences the loop assigns (`h`). `line` and
    `column` are where the `for` is. Immutable; equal to a loop with equal fields.
    """

    __slots__ = _fields = ("variable", "first", "last", "steps", "assigns", "line", "column")
    variable: str
    first: int
    last: int
    steps: tuple[tuple[int, ...], ...]
    assigns: tuple[str, ...]
    line: int
    column: int

    def __init__(self, variable: str, first: int, last: int,
                 steps: tuple[tuple[int, ...], ...], assigns: tuple[str, ...], line: int = 0,
                 column: int = 0) -> None:
        _set = object.__setattr__
        _set(self, "variable", variable)
        _set(self, "first", first)
        _set(self, "last", last)
        _set(self, "steps", steps)
        _set(self, "assigns", assigns)
        _set(self, "line", line)
        _set(self, "column", column)

    def __repr__(self) -> str:
        return f"<Loop {self.variable} = {self.first}..{self.last}>"

    @property
    def count(self) -> int:
        """How many steps the loop runs."""
        return self.last - self.first + 1

    def step_of(self) -> dict[int, int]:
        """Each node the loop built, mapped to the step (the value of the loop
        variable) that built it."""
        return {node: self.first + k for k, nodes in enumerate(self.steps) for node in nodes}


class GraphBuilder:
    """Appends hash-consed nodes to a node list."""

    def __init__(self, nodes: Iterable[Node] = ()) -> None:
        self.nodes: list[Node] = list(nodes)
        # Where an op was written again and merged with its first node: see Graph.repeats.
        self.repeats: list[tuple[int, int, int]] = []
        self._interned: dict[tuple[object, ...], int] = {}
        for index, node in enumerate(self.nodes):
            self._interned.setdefault(self._key(node.op, node.args, node.value, node.label), index)

    @staticmethod
    def _key(op: Op, args: tuple[int, ...], value: float | None, label: str) -> tuple[object, ...]:
        if op is INPUT:
            return ("input", label)
        if op is CONST:
            # 0.0 and -0.0 hash alike: both are the constant 0, which is fine.
            return ("const", value, label)
        return (op.name, args)

    def intern(
        self,
        op: Op,
        args: tuple[int, ...] = (),
        *,
        value: float | None = None,
        label: str = "",
        line: int = 0,
        column: int = 0,
    ) -> int:
        """The index of node `op(args)`, appended if it does not exist yet."""
        # The hottest function of a parse: _key and any() are inlined.
        key = (op.name, args) if args else self._key(op, args, value, label)
        found = self._interned.get(key)
        if found is not None:
            if args:
                self.repeats.append((found, line, column))
            return found
        nodes = self.nodes
        varying = op is INPUT
        for arg in args:
            if nodes[arg].varying:
                varying = True
                break
        nodes.append(Node(op, args, value, label, "", (), line, column, varying))
        self._interned[key] = len(nodes) - 1
        return len(nodes) - 1

    def constant(self, value: float, label: str = "") -> int:
        """A constant node; `label` names a named constant such as `pi`."""
        return self.intern(CONST, value=value, label=label or format_number(value))

    def own_constant(self, index: int, fresh_from: int) -> int:
        """A constant node like node `index` that no other use of the literal shares.

        `a = 1; b = a + 1` must show b as `a + 1`, not `1 + 1`: the constant a
        program names gets a node of its own. If node `index` was appended at
        or after `fresh_from` and is the last node, nothing else uses it yet,
        so it is taken out of the hash-cons table (a later literal `1` gets a
        new node); otherwise a copy is appended.
        """
        node = self.nodes[index]
        if index >= fresh_from and index == len(self.nodes) - 1:
            key = self._key(node.op, node.args, node.value, node.label)
            if self._interned.get(key) == index:
                del self._interned[key]
            return index
        self.nodes.append(Node(CONST, (), node.value, node.label, "", (), node.line,
                               node.column))
        return len(self.nodes) - 1


def finish_graph(
    nodes: list[Node],
    output: int,
    assigned: dict[str, int],
    source: str = "",
    given: dict[str, Any] | None = None,
    warnings: tuple[SourceWarning, ...] = (),
    output_alias: str = "",
    referenced: frozenset[str] | None = None,
    declarations: dict[str, Shape] | None = None,
    declared_at: dict[str, tuple[int, int]] | None = None,
    repeats: Iterable[tuple[int, int, int]] = (),
    loops: Iterable[Loop] = (),
    fresh_prefix: str = "t",
) -> Graph:
    """Order `nodes` inputs first, name every node, and freeze them as a Graph.

    `assigned` maps each name the program assigns to its node, in program
    order. An assigned or output node that is a constant must be the
    program's own (`GraphBuilder.own_constant`), not shared with other uses
    of the literal. The nodes must already be in a topological order (every
    builder append is), so moving the argument-less inputs to the front keeps
    it one.
    """
    inputs_at = [i for i, n in enumerate(nodes) if n.op is INPUT]
    order = inputs_at + [i for i, n in enumerate(nodes) if n.op is not INPUT]
    new_index = [0] * len(nodes)
    for new, old in enumerate(order):
        new_index[old] = new
    ordered = [nodes[old] for old in order]
    if inputs_at != list(range(len(inputs_at))):  # else the order is unchanged
        for node in ordered:
            if node.args:
                node.args = tuple([new_index[a] for a in node.args])

    # A constant the program assigns, or a constant output, has a node of its
    # own (GraphBuilder.own_constant), named like an operation: by the
    # program's name, or `out`. Other leaves are named by their text.
    own = {new_index[old] for old in assigned.values()} | {new_index[output]}
    names: dict[str, int] = {}
    for node_index, node in enumerate(ordered):
        if node.op is INPUT or (node.op is CONST and node_index not in own):
            node.name = node.label
            names.setdefault(node.label, node_index)
    for name, old in assigned.items():
        node = ordered[new_index[old]]
        if node.name:
            node.aliases = (*node.aliases, name)
        else:
            node.name = name
        names[name] = new_index[old]
    output_node = ordered[new_index[output]]
    if not output_node.name and OUTPUT_NAME not in names:
        output_node.name = OUTPUT_NAME
        names[OUTPUT_NAME] = new_index[output]
    fresh = _fresh_names(set(names), fresh_prefix)
    for node_index, node in enumerate(ordered):
        if not node.name:
            node.name = next(fresh)
            names[node.name] = node_index

    inputs = tuple(range(len(inputs_at)))
    alias = output_alias if output_alias and output_alias != output_node.name else ""
    moved_repeats = tuple((new_index[node], line, column) for node, line, column in repeats)
    moved_loops = tuple(
        Loop(loop.variable, loop.first, loop.last,
             tuple(tuple(new_index[node] for node in step) for step in loop.steps),
             loop.assigns, loop.line, loop.column)
        for loop in loops)
    return Graph(tuple(ordered), inputs, new_index[output], source, names, tuple(assigned),
                 dict(given or {}), tuple(warnings), alias, referenced, dict(declarations or {}),
                 dict(declared_at or {}), moved_repeats, moved_loops)


def _fresh_names(taken: set[str], prefix: str = "t") -> Iterator[str]:
    """t1, t2, ... (or another prefix) skipping names in `taken`."""
    counter = 0
    while True:
        counter += 1
        candidate = f"{prefix}{counter}"
        if candidate not in taken:
            yield candidate
