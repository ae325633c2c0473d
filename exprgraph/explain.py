"""The forward and backward pass as steps a student would write down.

Forward: each operation node in order, `c = a + b = 2 + 6 = 8`.
Backward: each node from the output down, its adjoint as the chain rule
sums it over the node's uses: `∂e/∂b = ∂e/∂c·∂c/∂b + ∂e/∂d·∂d/∂b = 7·1 + 8·1
= 15`. Steps are data (names, texts, numbers); `render.steps` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .api import Evaluation, Program
from .evaluate import format_value
from .ops import CONST, INPUT
from .render.text import node_expression


@dataclass(frozen=True)
class ForwardStep:
    """node = expression = expression with values = value."""

    name: str
    expression: str
    substituted: str
    value: float


@dataclass(frozen=True)
class Term:
    """One use of a node: ∂out/∂user · ∂user/∂node."""

    user: str
    user_adjoint: float
    partial: str  # ∂user/∂node as text over node names
    partial_value: float


@dataclass(frozen=True)
class BackwardStep:
    """∂out/∂node = Σ terms = total (the output's own step has no terms)."""

    node: str
    terms: tuple[Term, ...]
    total: float


def forward_steps(program: Program, evaluation: Evaluation) -> list[ForwardStep]:
    """Every operation node's value, in the order it is computed."""
    nodes = program.graph.nodes
    steps = []
    for index, node in enumerate(nodes):
        if node.op is INPUT or node.op is CONST:
            continue
        substituted = _substituted(program, evaluation, index)
        steps.append(ForwardStep(node.name, node_expression(nodes, node), substituted,
                                 evaluation.node_values[index]))
    return steps


def _substituted(program: Program, evaluation: Evaluation, index: int) -> str:
    """The node's expression with each argument name replaced by its value."""
    from .graph import Node

    nodes = program.graph.nodes
    node = nodes[index]
    shown = []
    for arg in node.args:
        value = evaluation.node_values[arg]
        # (-3) reads better than -3 after an operator; a call brackets it already.
        bracket = value < 0 and node.op.fixity != "call"
        label = f"({format_value(value)})" if bracket else format_value(value)
        shown.append(Node(CONST, (), value, label, label))
    return node_expression(shown, Node(node.op, tuple(range(len(shown)))))


def backward_step(program: Program, evaluation: Evaluation, index: int,
                  output: int | None = None) -> BackwardStep:
    """∂out/∂(node `index`) as the sum over the node's uses."""
    graph = program.graph
    nodes = graph.nodes
    out = graph.output if output is None else output
    terms = []
    for user, position, arg in graph.edges():
        if arg != index or user > out:
            continue
        adjoint = evaluation.node_adjoints[user]
        if not adjoint:
            continue  # the user does not lead to the output
        partial = evaluation.local_partial(user, position)
        terms.append(Term(nodes[user].name, adjoint,
                          program.local_partial_text(user, position) or "0",
                          partial if partial is not None else float("nan")))
    total = evaluation.node_adjoints[index]
    return BackwardStep(nodes[index].name, tuple(terms), total if total is not None else 0.0)


def backward_steps(program: Program, evaluation: Evaluation) -> list[BackwardStep]:
    """Every node's adjoint, from the output down to the inputs."""
    graph = program.graph
    steps = []
    for index in range(graph.output, -1, -1):
        node = graph.nodes[index]
        if node.op is CONST or not node.varying:
            continue
        steps.append(backward_step(program, evaluation, index))
    return steps


def chain_from_output(program: Program, evaluation: Evaluation, index: int,
                      limit: int = 8) -> list[BackwardStep]:
    """The steps that explain ∂out/∂node: this node's, then those of the
    nodes its terms go through, up towards the output (at most `limit`)."""
    graph = program.graph
    steps: list[BackwardStep] = []
    queue = [index]
    seen = {index}
    while queue and len(steps) < limit:
        current = queue.pop(0)
        if current == graph.output:
            continue
        step = backward_step(program, evaluation, current)
        steps.append(step)
        for term in step.terms:
            user = graph.names[term.user]
            if user not in seen:
                seen.add(user)
                queue.append(user)
    return steps


def step_text(step: BackwardStep, output: str) -> str:
    """`∂e/∂b = ∂e/∂c·∂c/∂b + ∂e/∂d·∂d/∂b = 7·1 + 8·1 = 15`."""
    head = f"∂{output}/∂{step.node}"
    if not step.terms:
        return f"{head} = {format_value(step.total)}"
    symbols = " + ".join(f"∂{output}/∂{t.user}·∂{t.user}/∂{step.node}" for t in step.terms)
    partials = " + ".join(f"∂{output}/∂{t.user}·{_grouped(t.partial)}" for t in step.terms)
    numbers = " + ".join(f"{_number(t.user_adjoint)}·{_number(t.partial_value)}"
                         for t in step.terms)
    middle = f"{symbols} = {partials}" if any(t.partial != "1" for t in step.terms) else symbols
    return f"{head} = {middle} = {numbers} = {format_value(step.total)}"


def _grouped(text: str) -> str:
    """A partial as a factor: bare when it is a name, a number or one call."""
    if text.replace(".", "").replace("_", "").isalnum():
        return text
    head, _, _ = text.partition("(")
    if head.isidentifier() and text.endswith(")"):
        depth = 0
        for position, char in enumerate(text):
            depth += (char == "(") - (char == ")")
            if depth == 0 and char == ")":
                if position == len(text) - 1:
                    return text  # sin(q): one call
                break
    return f"({text})"


def _number(value: float) -> str:
    text = format_value(value)
    return f"({text})" if value < 0 else text
