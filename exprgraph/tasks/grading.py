"""Grading one answer: a number at the problem's point, or an expression by sampling.

Part of checking answers (`check.py` tells the whole story and the rules):
`check_number` compares a constant answer with the right number at the
point; `check_expression` compares an expression with the right answer (a
symbolic derivative, or the node's expression) at the point, then at
SAMPLES sampled points, with a seed fixed by the program and key. The right
answer is written in the program's own names for the table.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..api import Evaluation, Program
from ..core.errors import ExprGraphError, MathError, ValueInputError
from ..core.graph import Graph, Node
from ..core.numbers import format_value, short_value, table_value
from ..core.ops import SUB
from ..passes.autodiff import adjoints
from ..passes.evaluate import evaluate as evaluate_graph
from ..symbolic.builder import symbolic_gradient
from ..symbolic.calculus import Expression, compose, in_names, is_zero, simplified
from .answers import CORRECT, INCORRECT, UNDECIDED, AnswerError, Target, Verdict, usable_names
from .explain import Noise
from .feedback import differ_text, explanation, point_text, tolerance_text

ABSOLUTE_FLOOR = 1e-10
SAMPLES = 8
RANGES = ((-2.0, 2.0), (0.1, 4.0), (-10.0, 10.0), (0.5, 20.0), (-100.0, -0.5))
ATTEMPTS = 200
NEAR_MISS = 0.05  # a wrong number this close (relative) gets a tolerance note


def _expected_number(program: Program, evaluation: Evaluation, target: Target) -> float:
    if target.wrt is None:
        return evaluation.node_values[target.of]
    graph = replace(program.graph, output=target.of)
    # Adjoints are computed per answer, and only the asked one must exist: a
    # derivative undefined at the point (`sqrt(x)` at 0), or too large for a
    # float (∂out/∂y of x*y*z at x = z = 1e300), must not stop the check of
    # another. Where the asked one is such, no number is right: an ERROR verdict.
    undefined: dict[int, MathError] = {}
    found = adjoints(graph, evaluation.node_values, undefined)
    if target.wrt in undefined:
        error = undefined[target.wrt]
        point = {name: evaluation.given[name] for name in program.inputs}
        at = f" at {point_text(point)}" if point else ""
        raise MathError(f"the right answer to {target.key} has no value{at}: {error.message}",
                        line=error.line, column=error.column, source_line=error.source_line,
                        **error.details)
    return found[target.wrt] or 0.0


def _is_noise(program: Program, evaluation: Evaluation, target: Target) -> bool:
    """Whether the right number is float noise, to show as 0 (`Noise`)."""
    if target.wrt is None:
        return target.of in Noise.of(program, evaluation).values
    try:
        sub = Program(replace(program.graph, output=target.of))
        worked = Evaluation(sub.graph, evaluation.given, evaluation.node_values,
                            adjoints(sub.graph, evaluation.node_values, {}), evaluation.unused)
    except MathError:
        return False
    return target.wrt in Noise.of(sub, worked).adjoints


def _close(given: float, expected: float, tolerance: float) -> bool:
    return abs(given - expected) <= max(tolerance * abs(expected), ABSOLUTE_FLOOR)


def check_number(program: Program, evaluation: Evaluation, target: Target,
                 shown: str, given: float, tolerance: float, literal: bool = True) -> Verdict:
    """A number at the problem's point. `literal`: written as digits (`-3`);
    otherwise (`sqrt(2)/2`) the explanation says what number it is."""
    expected = _expected_number(program, evaluation, target)
    right = table_value(expected, _is_noise(program, evaluation, target))
    if _close(given, expected, tolerance):
        return Verdict(target.key, shown, right, CORRECT)
    notes = []
    if not literal:
        point = {name: evaluation.given[name] for name in program.inputs}
        notes.append(f"at {point_text(point)} " if point else "")
        notes[-1] += differ_text(expected, given)
    if abs(given - expected) <= NEAR_MISS * abs(expected):
        notes.append(f"{format_value(given)} is outside the tolerance "
                     f"{tolerance_text(tolerance)} of {format_value(expected)} (off by "
                     f"{100 * abs(given - expected) / abs(expected):.2g}%)")
    worked = explanation(program, evaluation, target)
    return Verdict(target.key, shown, right, INCORRECT,
                   "\n".join(notes + ([worked] if worked else [])))


def _right_expression(program: Program, target: Target) -> tuple[Any, int]:
    """A builder holding the program, and the node of the right answer in it."""
    graph = program.graph if target.of == program.graph.output else \
        replace(program.graph, output=target.of)
    gradient = symbolic_gradient(graph)
    builder = gradient.builder
    if target.wrt is None:
        return builder, target.of
    return builder, gradient.derivative(target.wrt)


def _named_text(program: Program, nodes: tuple[Node, ...], root: int, value: bool) -> str:
    """The right answer in the program's own names: `2*(s - t)` where the
    program names `s = sigmoid(z)`, not `2*(sigmoid(w*x + b) - t)`. Each node
    the program names is an atom to the simplifier (but the node whose `value`
    is asked for: `c` is `a + b`, while ∂e/∂c is `d`)."""
    graph = program.graph
    named = {graph.names[name]: name for name in graph.assigned}
    atoms = in_names(nodes, {index: name for index, name in named.items()
                             if not (value and index == root) and nodes[index].op.arity > 0})
    try:
        return program.text(simplified(atoms, root))
    except ExprGraphError:
        return program.text(simplified(nodes, root))


def right_text_or_blank(program: Program, evaluation: Evaluation | None,
                        target: Target) -> str:
    """The right answer for the table when the given one could not be read."""
    try:
        if evaluation is not None:
            return table_value(_expected_number(program, evaluation, target),
                               _is_noise(program, evaluation, target))
        builder, right = _right_expression(program, target)
        return _named_text(program, tuple(builder.nodes), right, target.wrt is None)
    except ExprGraphError:
        return ""


def check_expression(program: Program, evaluation: Evaluation | None, target: Target,
                     shown: str, answer: Graph, tolerance: float, seed: str,
                     constant: bool = False) -> Verdict:
    """An expression answer: at the problem's point (if any), then at sampled
    points. `constant`: the answer has no names (a problem without a point)."""
    builder, right = _right_expression(program, target)
    try:
        given = compose(builder, program.graph.names, answer)
    except ValueInputError as error:
        raise AnswerError(error.message, hint=f"its names: {usable_names(program)}") from None
    difference = builder.intern(SUB, (given, right))
    nodes = tuple(builder.nodes)
    right_text = _named_text(program, nodes, right, target.wrt is None)
    point = {name: evaluation.given[name] for name in program.inputs} \
        if evaluation is not None else {}
    if evaluation is not None:
        wrong = _at_point(nodes, right, given, point, tolerance)
        if wrong:
            # Wrong at the point itself: the worked steps there show the right value.
            worked = explanation(program, evaluation, target)
            return Verdict(target.key, shown, right_text, INCORRECT,
                           wrong + ("\n" + worked if worked else ""))
    found = _sample(program, nodes, right, given, tolerance, seed)
    if found is None:
        # Too few points where the program and the right answer are defined:
        # only an identity can decide then.
        if is_zero(nodes, difference):
            return Verdict(target.key, shown, right_text, CORRECT,
                           "equal after simplifying (too few points where the right answer "
                           "is defined to compare values)")
        return Verdict(target.key, shown, right_text, UNDECIDED,
                       f"fewer than {SAMPLES} points found where the program and the right "
                       "answer are defined")
    if found == "":
        # Sampling decides; simplifying only says why they agree.
        how = "equal after simplifying" if is_zero(nodes, difference) else \
            f"equal at {SAMPLES} sampled points"
        return Verdict(target.key, shown, right_text, CORRECT, how)
    if evaluation is not None and _defined_at(nodes, right, point):
        # Right at the point, wrong elsewhere: the worked steps at the point
        # would show this answer's own value, so they are left out.
        found += f"\n(it agrees with the right answer at {point_text(point)}, " \
            "but not everywhere)"
    elif evaluation is not None:
        found += f"\n(at {point_text(point)} the right answer has no value: it is undefined " \
            "or too large for a float, so the sampled points decide)"
    elif constant:
        found += "\n(the problem gives no point, so a constant answer must hold at every point)"
    return Verdict(target.key, shown, right_text, INCORRECT, found)


def _at_point(nodes: tuple[Any, ...], right: int, given: int, point: Mapping[str, float],
              tolerance: float) -> str:
    """Why the answer is wrong at the problem's point, or "" (also where the
    right answer is undefined there: the sampling decides then)."""
    try:
        expected = Expression(nodes, right).value(point)
    except MathError:
        return ""
    at = point_text(point)
    try:
        value = Expression(nodes, given).value(point)
    except MathError:
        return f"this answer is undefined at {at}, where the right answer is " \
            f"{short_value(expected)}"
    if _close(value, expected, tolerance):
        return ""
    return f"at {at} {differ_text(expected, value)}"


def _defined_at(nodes: tuple[Any, ...], root: int, point: Mapping[str, float]) -> bool:
    """Whether the expression at `root` has a (finite) value at `point`."""
    try:
        Expression(nodes, root).value(point)
    except MathError:
        return False
    return True


def _sample(program: Program, nodes: tuple[Any, ...], right: int, given: int,
            tolerance: float, seed: str) -> str | None:
    """"" if the answer agrees at SAMPLES points, a reason if it does not,
    None if too few points are found where the program and the right answer
    are defined. Each input cycles through RANGES (from its own start), so
    negative, small and large values are all tried, in mixed combinations."""
    rng = random.Random(zlib.crc32(seed.encode("utf-8")))
    names = program.inputs
    offsets = [rng.randrange(len(RANGES)) for _ in names]
    right_expr, given_expr = Expression(nodes, right), Expression(nodes, given)
    agreed = 0
    for attempt in range(ATTEMPTS):
        point = {}
        for name, offset in zip(names, offsets, strict=True):
            low, high = RANGES[(attempt + offset) % len(RANGES)]
            point[name] = round(rng.uniform(low, high), 6)
        try:
            evaluate_graph(program.graph, {**program.graph.given, **point})
            expected = right_expr.value(point)
        except MathError:
            continue  # outside the program's or the right answer's domain
        at = point_text(point)
        try:
            value = given_expr.value(point)
        except MathError:
            return (f"this answer is undefined at {at}, where the program is defined and "
                    f"the right answer is {short_value(expected)}")
        if not _close(value, expected, tolerance):
            return f"at {at} {differ_text(expected, value)}"
        agreed += 1
        if agreed == SAMPLES:
            return ""
    return None
