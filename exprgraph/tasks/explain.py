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

from ..api import Evaluation, Program
from ..core.numbers import NOISE, factor, short_value, table_value
from ..core.numbers import is_tiny as _tiny
from ..core.ops import CONST, INPUT
from ..core.text import bracket_end
from ..printing.text import node_expression


@dataclass(frozen=True)
class ForwardStep:
    """node = expression = expression with values = value."""

    name: str
    expression: str
    substituted: str
    value: float
    noise: bool = False  # value is float noise (reads 0)


@dataclass(frozen=True)
class Term:
    """One use of a node: ∂out/∂user · ∂user/∂node."""

    user: str
    user_adjoint: float
    partial: str  # ∂user/∂node as text over node names
    partial_value: float
    position: int = 0  # which argument of the user the node is (0-based)
    adjoint_noise: bool = False  # user_adjoint is float noise (reads 0)
    partial_noise: bool = False  # partial_value is float noise


@dataclass(frozen=True)
class BackwardStep:
    """∂out/∂node = Σ terms = total (the output's own step has no terms)."""

    node: str
    terms: tuple[Term, ...]
    total: float
    noise: bool = False  # total is float noise (reads 0)
    undefined: bool = False  # no number: a partial undefined, or too large for a float


def forward_steps(program: Program, evaluation: Evaluation) -> list[ForwardStep]:
    """Every operation node's value, in the order it is computed."""
    nodes = program.graph.nodes
    noisy = Noise.of(program, evaluation).values
    steps = []
    for index, node in enumerate(nodes):
        if node.op is INPUT or node.op is CONST:
            continue
        substituted = _substituted(program, evaluation, index, noisy)
        steps.append(ForwardStep(node.name, node_expression(nodes, node), substituted,
                                 evaluation.node_values[index], index in noisy))
    return steps


def _substituted(program: Program, evaluation: Evaluation, index: int,
                 noisy: frozenset[int] = frozenset()) -> str:
    """The node's expression with each argument name replaced by its value
    (one in `noisy` as 0)."""
    from ..core.graph import Node

    nodes = program.graph.nodes
    node = nodes[index]
    shown = []
    for arg in node.args:
        value = evaluation.node_values[arg]
        # (-3) reads better than -3 after an operator; a call brackets it already.
        text = table_value(value, arg in noisy)
        bracket = value < 0 and node.op.fixity != "call" and text != "0"
        label = f"({text})" if bracket else text
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
                  uses: dict[int, list[tuple[int, int]]] | None = None,
                  noise: Noise | None = None) -> BackwardStep:
    """∂out/∂(node `index`) as the sum over the node's uses (`uses`: from
    `uses_of`, where many steps are wanted; else the edges are scanned;
    `noise`: which numbers read 0, from `Noise.of`, else none does)."""
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
        if user in evaluation.undefined:
            adjoint = math.nan  # undefined: it is said so
        elif not adjoint:
            continue  # the user does not lead to the output
        partial = evaluation.local_partial(user, position)
        partial_noise = noise is not None and partial is not None and \
            noise.partial(program, evaluation, user, position, partial)
        terms.append(Term(nodes[user].name, adjoint,
                          program.local_partial_text(user, position) or "0",
                          partial if partial is not None else float("nan"), position,
                          noise is not None and user in noise.adjoints, partial_noise))
    total = evaluation.node_adjoints[index]
    undefined = index in evaluation.undefined
    return BackwardStep(nodes[index].name, tuple(terms),
                        math.nan if undefined else total if total is not None else 0.0,
                        noise is not None and index in noise.adjoints, undefined)


def backward_steps(program: Program, evaluation: Evaluation) -> list[BackwardStep]:
    """Every node's adjoint, from the output down to the inputs."""
    graph = program.graph
    uses = uses_of(program)
    noise = Noise.of(program, evaluation)
    steps = []
    for index in range(graph.output, -1, -1):
        node = graph.nodes[index]
        if node.op is CONST or not node.varying:
            continue
        steps.append(backward_step(program, evaluation, index, uses=uses, noise=noise))
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
    noise = Noise.of(program, evaluation)
    while queue and len(steps) < limit:
        current = queue.pop(0)
        if current == graph.output:
            continue
        step = backward_step(program, evaluation, current, uses=uses, noise=noise)
        steps.append(step)
        for term in step.terms:
            user = graph.names[term.user]
            if user not in seen:
                seen.add(user)
                queue.append(user)
    return steps


OVERLINE = "\u0305"  # combining overline: x̅ is the adjoint of x


def bar(name: str) -> str:
    """The adjoint symbol of a node: its name overlined, `x̅`, `o̅u̅t̅`; an
    indexed name's index stays as it is, `h̅[2]`."""
    base, bracket, index = name.partition("[")
    return "".join(char + OVERLINE for char in base) + bracket + index


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
    total = "undefined" if step.undefined else short_value(step.total, step.noise)
    if not step.terms:
        return f"{head} = {total}"
    repeated = {t.user for t in step.terms if sum(u.user == t.user for u in step.terms) > 1}

    def partial(term: Term) -> str:
        edge = f"[{term.position + 1}]" if term.user in repeated else ""
        return f"∂{term.user}/∂{step.node}{edge}"

    symbols = " + ".join(f"{bar(t.user)}·{partial(t)}" for t in step.terms)
    partials = " + ".join(f"{bar(t.user)}·{_grouped(t.partial)}" for t in step.terms)
    numbers = " + ".join(f"{_number(t.user_adjoint, t.adjoint_noise)}·"
                         f"{_number(t.partial_value, t.partial_noise)}" for t in step.terms)
    middle = f"{symbols} = {partials}" if any(t.partial != "1" for t in step.terms) else symbols
    return f"{head} = {middle} = {numbers} = {total}"


def generated_names(program: Program, steps: list[BackwardStep]) -> list[str]:
    """`t2 = cos(x)^2` for each name the program did not choose that `steps`
    mention, in the program's own names: what a reader needs to follow them."""
    from ..printing.text import expression_text

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
    from ..core.graph import Node
    from ..printing.text import expression_text

    graph = program.graph
    nodes = graph.nodes
    user_named = set(graph.assigned) | set(graph.input_names)
    node = nodes[index]
    expression = expression_text(nodes, index, by_name=lambda i: nodes[i].name in user_named)
    if node.op.arity == 0:
        return f"{node.name} = {short_value(evaluation.node_values[index])}"
    noisy = Noise.of(program, evaluation).values
    shown = []
    for arg in node.args:
        value = evaluation.node_values[arg]
        label = _number(value, arg in noisy) if node.op.fixity != "call" else \
            short_value(value, arg in noisy)
        shown.append(Node(CONST, (), value, label, label))
    substituted = node_expression(shown, Node(node.op, tuple(range(len(shown)))))
    return f"{node.name} = {expression} = {substituted} = " \
        f"{short_value(evaluation.node_values[index], index in noisy)}"


def _grouped(text: str) -> str:
    """A partial as a factor: bare when it is a name, a number or one call."""
    if text.replace(".", "").replace("_", "").isalnum():
        return text
    if text.startswith("(") and bracket_end(text) == len(text) - 1:
        return text  # bracketed already
    head, _, call = text.partition("(")
    if head.isidentifier() and text.endswith(")") and bracket_end("(" + call) == len(call):
        return text  # sin(q): one call
    return f"({text})"


# Below this a value may be float noise (cos(pi/2) is 6.1e-17); it reads 0
# only where it is noise (see `Noise`), never a genuine small value (1e-200).

# Ops whose tiny result is float noise when it is far below their arguments:
# cancellation in a sum, the exact zero of a periodic function (sin(pi)).
CANCELLING = frozenset({"add", "sub", "sin", "cos", "tan"})
# Ops whose result is a multiple of an argument: noise in, noise out.
SCALING = frozenset({"mul", "neg", "div", "pow"})
PERIODIC = frozenset({"sin", "cos"})


def _far_below(value: float, others: list[float]) -> bool:
    scale = max((abs(o) for o in others if math.isfinite(o)), default=0.0)
    return abs(value) < NOISE * scale


@dataclass(frozen=True)
class Noise:
    """Which tiny numbers of an evaluation are float noise, to read as 0.

    A node's value is noise when its op cancels (a sum 1e-12 below its largest
    operand, sin/cos/tan 1e-12 below their argument) or scales a noisy argument
    (`2*cos(pi/2)`); an inputs, a constant or any other result never is. A
    local partial is noise when it is a periodic function's zero or scales a
    noisy argument; an adjoint when its terms cancel or are all noise."""

    values: frozenset[int]
    adjoints: frozenset[int]

    @staticmethod
    def of(program: Program, evaluation: Evaluation) -> Noise:
        """The noise of `evaluation`: one pass forward, one backward."""
        nodes = program.graph.nodes
        values = evaluation.node_values
        noisy: set[int] = set()
        for index, node in enumerate(nodes):
            if not _tiny(values[index]):
                continue
            args = [values[a] for a in node.args]
            scaled = node.args[:1] if node.op.name in ("div", "pow") else node.args
            if (node.op.name in CANCELLING and _far_below(values[index], args)) or \
                    (node.op.name in SCALING and any(a in noisy for a in scaled)):
                noisy.add(index)
        noise = Noise(frozenset(noisy), frozenset())
        adjoint_noise: set[int] = set()
        uses = uses_of(program)
        for index in range(len(nodes) - 1, -1, -1):
            total = evaluation.node_adjoints[index]
            if not _tiny(total):
                continue
            products, all_noise = [], True
            for user, position in uses.get(index, []):
                adjoint = evaluation.node_adjoints[user]
                partial = evaluation.local_partial(user, position) if adjoint else None
                if not adjoint or partial is None:
                    continue
                products.append(adjoint * partial)
                all_noise &= user in adjoint_noise or noise.partial(program, evaluation, user,
                                                                    position, partial)
            if products and (all_noise or _far_below(total, products)):
                adjoint_noise.add(index)
        return Noise(frozenset(noisy), frozenset(adjoint_noise))

    def partial(self, program: Program, evaluation: Evaluation, user: int, position: int,
                value: float) -> bool:
        """Whether ∂user/∂(its argument at `position`) = `value` is noise."""
        if not _tiny(value):
            return False
        node = program.graph.nodes[user]
        if node.op.name in PERIODIC:
            return _far_below(value, [evaluation.node_values[node.args[0]]])
        return any(arg in self.values for arg in node.args)


def _number(value: float, noise: bool = False) -> str:
    return "undefined" if math.isnan(value) else factor(value, short_value(value, noise))


# --- vectors and matrices: the same passes with vector–Jacobian rules --------------


@dataclass(frozen=True)
class TensorForwardStep:
    """node = expression [= expression with small values] = value, with its shape."""

    name: str
    expression: str
    substituted: str | None  # None where an argument is too large to write out
    value: object  # a float or an array
    shape: str


@dataclass(frozen=True)
class TensorTerm:
    """One use of a node: the user's vector–Jacobian rule, with the user's
    adjoint written as the user's overlined name, and what it passes back."""

    user: str
    position: int
    rule: str
    contribution: object  # a float or an array, None where undefined


@dataclass(frozen=True)
class TensorBackwardStep:
    """node̅ = Σ rules = adjoint (the output's own step has no terms)."""

    node: str
    shape: str
    terms: tuple[TensorTerm, ...]
    adjoint: object  # None where undefined


def tensor_forward_steps(program: Program, evaluation: Evaluation) -> list[TensorForwardStep]:
    """Every operation node's value and shape, in the order it is computed."""
    from ..core.graph import Node
    from ..printing.values import INLINE_ELEMENTS, shape_text, value_text

    nodes = program.graph.nodes
    assert evaluation.shapes is not None
    steps = []
    for index, node in enumerate(nodes):
        if node.op is INPUT or node.op is CONST:
            continue
        args = [evaluation.node_values[a] for a in node.args]
        substituted = None
        if all(getattr(v, "size", 1) <= INLINE_ELEMENTS for v in args):
            shown = [Node(CONST, (), 0.0, text, text) for text in
                     (_bracket_negative(value_text(v, one_line=True), node.op.fixity)
                      for v in args)]
            substituted = node_expression(shown, Node(node.op, tuple(range(len(shown)))))
        steps.append(TensorForwardStep(node.name, node_expression(nodes, node), substituted,
                                       evaluation.node_values[index],
                                       shape_text(evaluation.shapes[index])))
    return steps


def _bracket_negative(text: str, fixity: str) -> str:
    return f"({text})" if text.startswith("-") and fixity != "call" else text


def tensor_backward_steps(program: Program, evaluation: Evaluation
                          ) -> list[TensorBackwardStep]:
    """Every varying node's adjoint from the output down: the sum of the
    vector–Jacobian rules of its uses, each with its user's adjoint."""
    from ..printing.values import shape_text
    from ..printing.vjp import ADJOINT, vjp_text

    graph = program.graph
    nodes = graph.nodes
    assert evaluation.shapes is not None
    uses = uses_of(program)
    steps = []
    for index in range(graph.output, -1, -1):
        node = nodes[index]
        if node.op is CONST or not node.varying:
            continue
        terms = []
        for user, position in uses.get(index, []):
            if user > graph.output or evaluation.node_adjoints[user] is None:
                continue
            rule = vjp_text(nodes, evaluation.shapes, user, position)
            terms.append(TensorTerm(nodes[user].name, position,
                                    rule.replace(ADJOINT, bar(nodes[user].name)),
                                    evaluation.contribution(user, position)))
        adjoint = None if index in evaluation.undefined else evaluation.node_adjoints[index]
        steps.append(TensorBackwardStep(node.name, shape_text(evaluation.shapes[index]),
                                        tuple(terms), adjoint))
    return steps
