"""The forward and backward pass as steps a student would write down.

Forward: each operation node in order, `c = a + b = 2 + 6 = 8`.
Backward: each node from the output down, its adjoint as the chain rule
sums it over the node's uses. Adjoints are overlined and local partials
written ∂user/∂node, so the two never share a symbol (as they would for the
output itself: `x*x`): `b̅ = c̅·∂c/∂b + d̅·∂d/∂b = 7·1 + 8·1 = 15`. Steps are
data (names, texts, numbers); `render.check` prints them.
"""

from __future__ import annotations

import math
import re
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
    position: int = 0  # which argument of the user the node is (0-based)


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


def uses_of(program: Program) -> dict[int, list[tuple[int, int]]]:
    """For each node, its uses (user, argument position), users in order:
    one pass over the edges, so that every node's step need not scan them all."""
    uses: dict[int, list[tuple[int, int]]] = {}
    for user, position, arg in program.graph.edges():
        uses.setdefault(arg, []).append((user, position))
    return uses


def backward_step(program: Program, evaluation: Evaluation, index: int,
                  output: int | None = None,
                  uses: dict[int, list[tuple[int, int]]] | None = None) -> BackwardStep:
    """∂out/∂(node `index`) as the sum over the node's uses (`uses`: from
    `uses_of`, where many steps are wanted; else the edges are scanned)."""
    graph = program.graph
    nodes = graph.nodes
    out = graph.output if output is None else output
    terms = []
    mine = uses.get(index, []) if uses is not None else \
        [(user, position) for user, position, arg in graph.edges() if arg == index]
    for user, position in mine:
        if user > out:
            continue
        adjoint = evaluation.node_adjoints[user]
        if not adjoint:
            continue  # the user does not lead to the output
        partial = evaluation.local_partial(user, position)
        terms.append(Term(nodes[user].name, adjoint,
                          program.local_partial_text(user, position) or "0",
                          partial if partial is not None else float("nan"), position))
    total = evaluation.node_adjoints[index]
    return BackwardStep(nodes[index].name, tuple(terms), total if total is not None else 0.0)


def backward_steps(program: Program, evaluation: Evaluation) -> list[BackwardStep]:
    """Every node's adjoint, from the output down to the inputs."""
    graph = program.graph
    uses = uses_of(program)
    steps = []
    for index in range(graph.output, -1, -1):
        node = graph.nodes[index]
        if node.op is CONST or not node.varying:
            continue
        steps.append(backward_step(program, evaluation, index, uses=uses))
    return steps


def chain_from_output(program: Program, evaluation: Evaluation, index: int,
                      limit: int = 8) -> list[BackwardStep]:
    """The steps that explain ∂out/∂node: this node's, then those of the
    nodes its terms go through, up towards the output (at most `limit`)."""
    graph = program.graph
    steps: list[BackwardStep] = []
    queue = [index]
    seen = {index}
    uses = uses_of(program)
    while queue and len(steps) < limit:
        current = queue.pop(0)
        if current == graph.output:
            continue
        step = backward_step(program, evaluation, current, uses=uses)
        steps.append(step)
        for term in step.terms:
            user = graph.names[term.user]
            if user not in seen:
                seen.add(user)
                queue.append(user)
    return steps


OVERLINE = "\u0305"  # combining overline: x̅ is the adjoint of x


def bar(name: str) -> str:
    """The adjoint symbol of a node: its name overlined, `x̅`, `o̅u̅t̅`."""
    return "".join(char + OVERLINE for char in name)


def legend(output: str, edges: bool = False) -> str:
    """What the notation of `step_text` means (`edges`: with the `[k]` marks)."""
    text = (f"for each node v, {bar('v')} is the adjoint ∂{output}/∂v; ∂c/∂v is the local "
            "partial of c in v")
    return text + ("; [k]: through c's k-th argument" if edges else "")


def step_text(step: BackwardStep, output: str) -> str:
    """`b̅ = c̅·∂c/∂b + d̅·∂d/∂b = 7·1 + 8·1 = 15`: adjoints overlined, local
    partials as ∂user/∂node, `[k]` on a partial through a user's k-th argument
    where the user takes the node more than once (`x*x`)."""
    head = bar(step.node)
    if not step.terms:
        return f"{head} = {short_value(step.total)}"
    repeated = {t.user for t in step.terms if sum(u.user == t.user for u in step.terms) > 1}

    def partial(term: Term) -> str:
        edge = f"[{term.position + 1}]" if term.user in repeated else ""
        return f"∂{term.user}/∂{step.node}{edge}"

    symbols = " + ".join(f"{bar(t.user)}·{partial(t)}" for t in step.terms)
    partials = " + ".join(f"{bar(t.user)}·{_grouped(t.partial)}" for t in step.terms)
    numbers = " + ".join(f"{_number(t.user_adjoint)}·{_number(t.partial_value)}"
                         for t in step.terms)
    middle = f"{symbols} = {partials}" if any(t.partial != "1" for t in step.terms) else symbols
    return f"{head} = {middle} = {numbers} = {short_value(step.total)}"


def generated_names(program: Program, steps: list[BackwardStep]) -> list[str]:
    """`t2 = cos(x)^2` for each name the program did not choose that `steps`
    mention, in the program's own names: what a reader needs to follow them."""
    from .render.text import expression_text

    graph = program.graph
    nodes = graph.nodes
    user_named = set(graph.assigned) | set(graph.input_names)
    mentioned = {step.node for step in steps} | {t.user for step in steps for t in step.terms}
    # ... and the names inside local partials (`t̅9̅·t8`).
    mentioned |= {name for step in steps for t in step.terms
                  for name in re.findall(r"[A-Za-z_]\w*", t.partial)}
    found = []
    for index, node in enumerate(nodes):
        if node.op.arity == 0 or node.name in user_named or node.name not in mentioned \
                or index == graph.output:
            continue
        text = expression_text(nodes, index, by_name=lambda i: nodes[i].name in user_named)
        found.append(f"{node.name} = {text}")
    return found


def forward_text(program: Program, evaluation: Evaluation, index: int) -> str:
    """One node's forward step in the program's own names, numbers rounded:
    `out = atan(x) + atan(1/x) = 0.785398 + 0.785398 = 1.5708`."""
    from .graph import Node
    from .render.text import expression_text

    graph = program.graph
    nodes = graph.nodes
    user_named = set(graph.assigned) | set(graph.input_names)
    node = nodes[index]
    expression = expression_text(nodes, index, by_name=lambda i: nodes[i].name in user_named)
    if node.op.arity == 0:
        return f"{node.name} = {short_value(evaluation.node_values[index])}"
    shown = []
    for arg in node.args:
        value = evaluation.node_values[arg]
        label = _number(value) if node.op.fixity != "call" else short_value(value)
        shown.append(Node(CONST, (), value, label, label))
    substituted = node_expression(shown, Node(node.op, tuple(range(len(shown)))))
    return f"{node.name} = {expression} = {substituted} = " \
        f"{short_value(evaluation.node_values[index])}"


def _grouped(text: str) -> str:
    """A partial as a factor: bare when it is a name, a number or one call."""
    if text.replace(".", "").replace("_", "").isalnum():
        return text
    if text.startswith("(") and _closing(text) == len(text) - 1:
        return text  # bracketed already
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


def _closing(text: str) -> int:
    """The position of the bracket that closes the one `text` opens with."""
    depth = 0
    for position, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0:
            return position
    return -1


# Below this a value is float noise (cos(pi/2) is 6.1e-17): shown as 0.
NOISE = 1e-12


def short_value(value: float) -> str:
    """A number for an explanation: 6 significant digits, float noise (|v| < 1e-12)
    as 0, so `2.4674·6.12323399574e-17` reads `2.4674·0`."""
    if math.isfinite(value) and abs(value) < NOISE:
        return "0"
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def table_value(value: float) -> str:
    """A number for a table: `format_value`'s 12 digits, but float noise as 0,
    as explanations show it (`1.22464679915e-16` is `0`)."""
    if math.isfinite(value) and abs(value) < NOISE:
        return "0"
    return format_value(value)


def _number(value: float) -> str:
    text = short_value(value)
    return f"({text})" if value < 0 and text != "0" else text
