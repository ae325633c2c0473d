"""Feedback text of a verdict: worked chain-rule steps, how two numbers differ, points.

Part of checking answers (`check.py`): the sentences a verdict's explanation
is made of, with the steps of `explain.py` for the worked answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ..api import Evaluation, Program
from ..core.errors import ExprGraphError, MathError
from ..core.numbers import format_value, short_value
from ..passes.autodiff import adjoints
from .answers import Target
from .explain import bar, chain_from_output, forward_text, generated_names, step_text


def verdict_reason(error: ExprGraphError) -> str:
    """The error's message with its hint in parentheses: a verdict's explanation."""
    return error.message + (f" ({error.hint})" if error.hint else "")


def tolerance_text(tolerance: float) -> str:
    """1e-4 as `1e-4`, 0.05 as `0.05`."""
    if tolerance >= 1e-3:
        return f"{tolerance:g}"
    mantissa, _, exponent = f"{tolerance:.2e}".partition("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def explanation(program: Program, evaluation: Evaluation | None, target: Target) -> str:
    """How the right answer is obtained: a forward step, or the chain rule."""
    if evaluation is None:
        return ""
    graph = program.graph
    if target.wrt is None:
        return forward_text(program, evaluation, target.of)
    try:
        sub = Program(replace(graph, output=target.of)) if target.of != graph.output \
            else program
        worked = Evaluation(sub.graph, evaluation.given, evaluation.node_values,
                            adjoints(sub.graph, evaluation.node_values, {}), evaluation.unused)
    except MathError:
        return ""
    out = graph.nodes[target.of].name
    steps = chain_from_output(sub, worked, target.wrt)
    if not steps:
        return ""
    defined = generated_names(sub, steps)
    where = f"; where {', '.join(defined)}" if defined else ""
    wrt = graph.nodes[target.wrt].name
    return "\n".join([*(step_text(step, out) for step in steps),
                      f"({bar(wrt)} is the adjoint ∂{out}/∂{wrt}, and so for each node"
                      f"{where})"])


def point_text(point: Mapping[str, float]) -> str:
    """`x=1, y=2`: a point as explanations name it."""
    return ", ".join(f"{k}={format_value(v)}" for k, v in point.items())


def differ_text(expected: float, value: float) -> str:
    """`the right answer is 2, this one is 3`, with as many digits as it takes
    for two different numbers not to read the same."""
    right, this = short_value(expected), short_value(value)
    digits = 6
    while right == this and digits < 17:
        digits += 3
        right, this = f"{expected:.{digits}g}", f"{value:.{digits}g}"
    return f"the right answer is {right}, this one is {this}"
