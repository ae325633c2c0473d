"""The two derivative loops over a flat node list, for any algebra.

`reverse` is reverse mode (adjoints: ∂out/∂node for every node, one sweep
backwards) and `forward` is forward mode (tangents: ∂node/∂input, one sweep
forwards). Neither knows what a value is: they combine local partials with
an algebra's `mul` and `add` (the `ops.Builder` protocol), so the same loop
gives floats (`autodiff`, over `algebras.FloatAlgebra`), NumPy rows
(`vector.gradient_rows`, over `vector.ArrayAlgebra`) and graph nodes
(`symbolic.symbolic_gradient`, over `symbolic.SymbolicBuilder`). Where a
local partial comes from is the caller's `local(index, position)`: usually
the op's one derivative rule run over the same algebra (`rule_partial`),
for floats its compiled form.

Both loops walk the list by index, never recursing, and touch only nodes
that depend on an input (`Node.varying`): a constant subgraph gets no
adjoint, and an argument that depends on no input is never differentiated
(∂(x^2)/∂2 = x^2·log x is undefined for x < 0 and never wanted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from ..core.graph import Node

T = TypeVar("T")


class Combine(Protocol[T]):
    """The part of the `ops.Builder` protocol the loops use."""

    def mul(self, a: T, b: T) -> T: ...
    def add(self, a: T, b: T) -> T: ...


Local = Callable[[int, int], Any]  # (node index, argument position) → ∂node/∂argument


def rule_partial(nodes: Sequence[Node], values: Sequence[Any], algebra: Any) -> Local:
    """`local` for the loops: the op's derivative rule interpreted by `algebra`,
    at the nodes' `values` (numbers, arrays, node ids or forms)."""

    def local(index: int, position: int) -> Any:
        node = nodes[index]
        args = tuple(values[a] for a in node.args)
        return node.op.derivatives[position](algebra, args, values[index])

    return local


def reverse(nodes: Sequence[Node], output: int, seed: T, local: Local, algebra: Combine[T], *,
            first: int | None = None, every_edge: bool = False,
            skip: Callable[[T], bool] | None = None,
            check: Callable[[int, T], T] | None = None,
            edge: Callable[[int, int, T], T] | None = None,
            leads: Sequence[bool] | None = None) -> dict[int, T]:
    """Adjoints ∂out/∂node by reverse mode: {node index: adjoint} for every
    node the output depends on through varying nodes (`seed` at `output`).

    Each node's adjoint is final when the sweep (from `first`, by default
    the output, down to node 0) reaches it, because every user of a node
    comes after it; the node then passes adjoint·local partial to each
    varying argument, and the contributions to an argument are summed
    (`algebra.mul(adjoint, partial)`, `algebra.add(sum, contribution)`).

    - `every_edge`: ask `local` for the partial of every varying edge from
      `first` down, even where the node has no adjoint (tables that show
      dead statements too); only edges with an adjoint contribute.
    - `skip(adjoint)`: true where a node passes nothing back (a float 0:
      then its partials are not even computed, so `0*sqrt(x)` at x = 0 has
      gradient 0).
    - `check(argument, sum)`: sees every new sum and returns what to keep
      (or raises): where floats test for overflow.
    - `edge(node, position, adjoint)`: the contribution itself, where it is
      not adjoint·partial (a tensor op's vector–Jacobian product).
    - `leads[node]`: false where the node leads to no input wanted; no
      adjoint is computed for it (training wants the weights', not the
      data's: `X @ W` then costs one product backwards, not two).
    """
    adjoint: dict[int, T] = {output: seed}
    mul, add = algebra.mul, algebra.add
    for index in range(output if first is None else first, -1, -1):
        node = nodes[index]
        if not node.varying or not node.args:
            continue
        upstream = adjoint.get(index)
        if upstream is None:
            if not every_edge:
                continue
        elif skip is not None and skip(upstream):
            continue
        for position, arg in enumerate(node.args):
            if not nodes[arg].varying or (leads is not None and not leads[arg]):
                continue
            if edge is not None:
                if upstream is None:
                    continue
                contribution = edge(index, position, upstream)
            else:
                slope = local(index, position)
                if upstream is None:
                    continue
                contribution = mul(upstream, slope)
            previous = adjoint.get(arg)
            total = contribution if previous is None else add(previous, contribution)
            adjoint[arg] = total if check is None else check(arg, total)
    return adjoint


def leading_to(nodes: Sequence[Node], wanted: Iterable[int]) -> list[bool]:
    """For each node, whether it depends on one of the `wanted` nodes (one
    forward pass): `reverse`'s `leads`."""
    leads = [False] * len(nodes)
    for index in wanted:
        leads[index] = True
    for index, node in enumerate(nodes):
        if not leads[index] and any(leads[a] for a in node.args):
            leads[index] = True
    return leads


def forward(nodes: Sequence[Node], seeds: dict[int, T], local: Local, algebra: Combine[T], *,
            order: Iterable[int] | None = None, skip: Callable[[T], bool] | None = None,
            check: Callable[[int, T], T] | None = None) -> dict[int, T]:
    """Tangents ∂node/∂input by forward mode: {node index: tangent} from the
    `seeds` (the input's own tangent, usually 1), absent where it is 0.

    Each node's tangent is the sum over its arguments with a tangent of
    `algebra.mul(local partial, tangent)`, in node order (or `order`, a
    topological order of the nodes wanted); `skip(tangent)` marks a tangent
    that contributes nothing (a float 0), and `check(node, sum)` sees each
    node's sum and returns what to keep (or raises)."""
    tangent: dict[int, T] = dict(seeds)
    mul, add = algebra.mul, algebra.add
    for index in range(len(nodes)) if order is None else order:
        node = nodes[index]
        if not node.args:
            continue
        total: T | None = None
        for position, arg in enumerate(node.args):
            incoming = tangent.get(arg)
            if incoming is None or (skip is not None and skip(incoming)):
                continue
            contribution = mul(local(index, position), incoming)
            total = contribution if total is None else add(total, contribution)
        if total is not None:
            tangent[index] = total if check is None else check(index, total)
    return tangent
