"""Checking matrix answers: a gradient written in matrix notation, by sampling.

An answer such as `"dL/dW" = "(W @ x - y) @ x'"` to a program with vectors or
matrices is evaluated, with the program's gradient (`eval`'s numbers), at
random values of the declared shapes: several choices of the named sizes
(n = 2, 3, 4, ...), and symmetric positive definite square matrices where
the program or the answer takes `inv`, `det`, `logdet` or `sqrt` of one (their
domain). An answer that equals the gradient at every sample is correct.

A wrong one is diagnosed in the words teachers use, each test on the same
samples:

- *wrong shape*: a row vector where the gradient is a vector, or other
  sizes: the gradient has its variable's shape;
- *correct up to transpose*: a layout slip (∂L/∂W written as W's transpose);
- *off by a factor*: the answer is c times the gradient for one number c
  (2, 1/2, -1: "off in sign");
- *correct if A is symmetric*: right at samples where the square matrices
  are symmetric (`2*A @ x` for ∂(x'Ax)/∂x), wrong in general;
- otherwise incorrect, with the right answer in matrix notation.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from ..api import Program
from ..api import compile as compile_program
from ..core.errors import ExprGraphError, MathError
from ..core.numbers import format_value
from ..core.shapes import Shape, describe
from .answers import CORRECT, ERROR, INCORRECT, UNDECIDED, Target, Verdict

SIZE_CHOICES = (2, 3, 4)  # the named sizes are drawn from these, several times
SAMPLES = 6
ATTEMPTS = 40  # samples tried to find SAMPLES inside the domains
RTOL, ATOL = 1e-7, 1e-9
NEEDS_SPD = ("inv", "det", "logdet", "sqrt")


def check_matrix_answer(program: Program, target: Target, shown: str, given: Any,
                        tolerance: float, seed: str) -> Verdict:
    """One answer to a program with vectors or matrices (module docstring)."""
    import numpy as np

    graph = program.graph
    if target.wrt is None or target.of != graph.output or \
            graph.nodes[target.wrt].label not in program.inputs:
        return Verdict(target.key, shown, "", ERROR, "check grades gradients of the output "
                       "of a program with vectors or matrices with respect to its inputs "
                       f"(d{graph.output_name}/dNAME) so far")
    wrt_name = graph.nodes[target.wrt].label
    right = program.matrix_gradients()[wrt_name]
    right_text = program.text(right[0])
    if not isinstance(given, str):
        return Verdict(target.key, shown, right_text, INCORRECT,
                       "write a matrix answer as an expression in the program's names, "
                       "such as (W @ x - y) @ x'")
    try:
        answer = compile_program(given, shapes=dict(graph.declarations))
    except ExprGraphError as error:
        return Verdict(target.key, shown, right_text, INCORRECT,
                       f"the answer cannot be read: {error.message}")
    unknown = [name for name in answer.inputs if name not in program.inputs]
    if unknown:
        return Verdict(target.key, shown, right_text, INCORRECT,
                       f"the answer uses {', '.join(unknown)}, which the program does not "
                       f"have (its inputs: {', '.join(program.inputs)})")
    spd = any(name in (given + graph.source) for name in NEEDS_SPD)
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    results = []
    for attempt in range(ATTEMPTS):
        if len(results) == SAMPLES:
            break
        # Every other attempt all positive: log and sqrt of every element.
        values = _sample(program, rng, spd, attempt, positive=attempt % 2 == 1)
        try:
            results.append(_compare(program, answer, wrt_name, values, tolerance))
        except MathError:
            continue  # outside a domain at this sample: another one decides
        except ExprGraphError as error:
            return Verdict(target.key, shown, right_text, INCORRECT, _shape_note(error, right))
    if not results:
        return Verdict(target.key, shown, right_text, UNDECIDED,
                       f"none of {ATTEMPTS} samples was inside the domain of both the program "
                       "and the answer")
    mismatch = next((r for r in results if r["shape"] is not None), None)
    if mismatch is not None:
        return Verdict(target.key, shown, right_text, INCORRECT, mismatch["shape"])
    if all(r["equal"] for r in results):
        return Verdict(target.key, shown, right_text, CORRECT)
    try:
        diagnosis = _diagnosis(program, answer, wrt_name, results, rng, spd, tolerance)
    except (ExprGraphError, ValueError, ArithmeticError):  # the verdict stands without it
        diagnosis = "incorrect: it differs from the gradient at the sampled values"
    return Verdict(target.key, shown, right_text, INCORRECT, diagnosis)


def _sample(program: Program, rng: Any, spd: bool, sample: int,
            symmetric: frozenset[str] = frozenset(), positive: bool = False
            ) -> dict[str, Any]:
    """Random values of the declared shapes, the named sizes drawn anew."""
    import numpy as np

    sizes: dict[str, int] = {}
    values: dict[str, Any] = {}
    for name in program.inputs:
        shape = program.graph.declarations.get(name, Shape())
        dims = []
        for dim in shape.dims:
            if isinstance(dim, str):
                dim = sizes.setdefault(dim, SIZE_CHOICES[(sample + len(sizes)) %
                                                         len(SIZE_CHOICES)])
            dims.append(int(dim))
        square = len(dims) == 2 and dims[0] == dims[1]
        if square and spd:
            # Diagonally dominant with a positive diagonal: invertible, det > 0,
            # and not symmetric (inv(X) and inv(X)' differ).
            size = dims[0]
            value = rng.uniform(-0.5 / size, 0.5 / size, (size, size)) + 1.5 * np.eye(size)
        else:
            value = rng.normal(size=tuple(dims)) if dims else float(rng.normal())
        if square and name in symmetric:
            value = (value + value.T) / 2
        if positive and not (square and spd):
            value = np.abs(value) + 0.1
        values[name] = value
    return values


def _compare(program: Program, answer: Program, wrt: str, values: Mapping[str, Any],
             tolerance: float) -> dict[str, Any]:
    """The answer and the gradient at one sample, and whether they agree."""
    import numpy as np

    evaluation = program.evaluate(values)
    want = np.asarray(evaluation.gradient[wrt], dtype=float)
    want_shape = evaluation.shapes[program.graph.names[wrt]] if evaluation.shapes else Shape()
    found = answer.evaluate({k: v for k, v in values.items() if k in answer.inputs})
    got = np.asarray(found.value, dtype=float)
    got_shape = found.shapes[answer.graph.output] if found.shapes else Shape()
    result: dict[str, Any] = {"want": want, "got": got, "shape": None, "equal": False,
                              "values": dict(values)}
    if got_shape.dims != want_shape.dims or got_shape.row != want_shape.row:
        same_numbers = got.shape == want.shape and np.allclose(got, want, rtol=RTOL, atol=ATOL)
        transposed = got.shape == want.T.shape and want.ndim == 2 and \
            np.allclose(got, want.T, rtol=RTOL, atol=ATOL)
        # Said in the declared sizes (n, not the 3 of this sample) where known.
        if answer.shapes is not None and program.shapes is not None:
            got_shape = answer.shapes[answer.graph.output]
            want_shape = program.shapes[program.graph.names[wrt]]
        text = (f"wrong shape: the answer is {describe(got_shape)}, the gradient "
                f"{describe(want_shape)} (it has {wrt}'s shape)")
        if same_numbers or transposed:
            text = ("correct up to transpose: a layout slip — " if transposed else "") + \
                text + ": transpose it"
        elif _elementwise_tensors(answer):
            text += ("; note that * (and writing side by side) multiplies elementwise: a "
                     "matrix product is written @")
        result["shape"] = text
        return result
    result["equal"] = bool(np.allclose(got, want, rtol=max(RTOL, tolerance), atol=ATOL))
    return result


def _diagnosis(program: Program, answer: Program, wrt: str, results: list[dict[str, Any]],
               rng: Any, spd: bool, tolerance: float) -> str:
    """Why a wrong answer is wrong, in the words teachers use."""
    import numpy as np

    if all(r["want"].ndim == 2 and r["got"].shape == r["want"].T.shape
           and np.allclose(r["got"], r["want"].T, rtol=RTOL, atol=ATOL) for r in results):
        return ("correct up to transpose: a layout slip (the gradient has "
                f"{wrt}'s shape)")
    factor = _common_factor(results)
    if factor is not None:
        if factor == -1:
            return "off in sign: the answer is -1 times the gradient"
        return f"off by a factor of {format_value(factor)}: the answer is " \
               f"{format_value(factor)} times the gradient"
    forgotten = _forgotten_step(program, wrt, results, answer)
    if forgotten is not None:
        return forgotten
    square = [name for name in program.inputs
              if len(program.graph.declarations.get(name, Shape()).dims) == 2
              and len(set(program.graph.declarations[name].dims)) == 1]
    symmetric = _symmetric_samples(program, answer, wrt, rng, spd, tolerance,
                                   frozenset(square))
    # Which matrices matter: those that alone, symmetric, make the answer right.
    alone = [name for name in square if len(square) > 1 and all(
        r["equal"] for r in _symmetric_samples(program, answer, wrt, rng, spd, tolerance,
                                               frozenset({name})))]
    named = alone or square
    names = f"{' and '.join(named)} {'is' if len(named) == 1 else 'are'} symmetric"
    if symmetric and square and all(r["equal"] for r in symmetric):
        return f"correct if {names}, but not in general"
    factor = _common_factor(symmetric) if symmetric and square else None
    if factor is not None:
        which = "a factor is missing" if abs(factor) < 1 else "it has an extra factor"
        return (f"wrong even where {names}: then it is {format_value(factor)} times the "
                f"gradient ({which})")
    return "incorrect: it differs from the gradient at the sampled values"


def _forgotten_step(program: Program, wrt: str, results: list[dict[str, Any]],
                    answer: Program) -> str | None:
    """"missing a factor of the chain rule" where the answer is the gradient
    with one elementwise function's derivative left out (tanh's 1 - h^2),
    at every sample; else None."""
    import numpy as np

    from ..core.ops import OPS
    from ..passes.tensor import evaluate_tensors, gradient_without, input_tensor
    from ..printing.text import expression_text

    nodes = program.graph.nodes
    candidates = [i for i, node in enumerate(nodes)
                  if node.op.name in OPS and node.op.arity == 1 and node.varying
                  and node.op.name not in ("neg",)]
    for index in candidates:
        matched = True
        for result in results:
            values = result["values"]
            tensors = {k: input_tensor(k, v) for k, v in values.items()}
            computed = evaluate_tensors(nodes, tensors)
            found = gradient_without(nodes, computed, program.graph.output,
                                     program.graph.names[wrt], index)
            if found is None or np.shape(found.data) != result["got"].shape or \
                    not np.allclose(found.data, result["got"], rtol=RTOL, atol=ATOL):
                matched = False
                break
        if matched:
            name = nodes[index].op.name
            return (f"missing a factor of the chain rule: the derivative of {name} at "
                    f"{expression_text(nodes, nodes[index].args[0])} is left out")
    return None


def _symmetric_samples(program: Program, answer: Program, wrt: str, rng: Any, spd: bool,
                       tolerance: float, symmetric: frozenset[str]) -> list[dict[str, Any]]:
    """The comparisons at samples where the matrices `symmetric` are symmetric."""
    found = []
    for sample in range(SAMPLES):
        values = _sample(program, rng, spd, sample, symmetric=symmetric)
        try:
            found.append(_compare(program, answer, wrt, values, tolerance))
        except ExprGraphError:
            continue
    return found


def _common_factor(results: list[dict[str, Any]]) -> float | None:
    """c where the answer is c times the gradient at every sample, else None."""
    import numpy as np

    ratios = []
    for r in results:
        want, got = r["want"], r["got"]
        big = np.abs(want) > 1e-8
        if not np.any(big):
            return None
        ratios.extend((got[big] / want[big]).ravel().tolist())
    first = ratios[0]
    if abs(first - 1) < 1e-9 or not all(abs(r - first) <= 1e-7 * max(1, abs(first))
                                        for r in ratios):
        return None
    rounded = round(first * 4) / 4  # 2, 0.5, -1, 0.25: the slips that happen
    return rounded if abs(rounded - first) < 1e-7 else first


def _elementwise_tensors(answer: Program) -> bool:
    """Whether the answer multiplies two vectors or matrices elementwise."""
    shapes_of = answer.shapes or ()
    return any(node.op.name == "mul" and len(shapes_of) > max(node.args) and
               all(not shapes_of[a].is_scalar for a in node.args)
               for node in answer.graph.nodes)


def _shape_note(error: ExprGraphError, right: tuple[Any, Shape]) -> str:
    return f"the answer's shapes do not fit: {error.message} (the gradient is " \
           f"{describe(right[1])})"
