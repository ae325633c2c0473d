"""Evaluations as plain data, for `eval --format json` and for batches (one result each).

The keys are a public contract (README, "JSON output"); add keys, never
rename or remove them:

    program      the program text
    output       the output node's name
    value        the output's value
    inputs       {input: value} for every input, then any unused given names
    gradient     {input: ∂out/∂input}, the same names (0 for unused ones; null
                 where the partial is undefined at the point)
    undefined    (only when some partial is undefined) {input: why}, and
                 `error`, the first of them as an error object (exit status 1)
    derivatives  {input: ∂out/∂input as exprgraph text over the inputs}
    nodes        every node in topological order, inputs first:
                 {name, op, args, expr, value, adjoint, aliases}
                 (adjoint is null for constants)
    edges        every edge from an argument to the node using it:
                 {from, to, partial, partial_expr, contribution}
                 partial = ∂to/∂from here, contribution = ∂out/∂to · partial
                 (null where `from` is constant, the partial is undefined, or
                 the contribution is too large for a float)
    warnings     messages about the input, such as unused values

Where some value is a vector or matrix, every value, adjoint, gradient and
contribution of one is a nested list (rows of a matrix), and these keys are
added:

    shapes       {input: its shape as a list of sizes, [] for a scalar}
    seed         (only when given) the upstream gradient of a tensor output
    nodes[i].shape   the node's shape, a list of sizes
    nodes[i].row     (only for a row vector, a vector's transpose) true
    edges[i].vjp     the edge's vector–Jacobian rule as text (ḡ is ∂out/∂to);
                     `partial` and `partial_expr` are null there
    derivatives  each input's gradient in matrix notation (null where it is not
                 built: a vector output, softmax, logsumexp, indexing)
"""

from __future__ import annotations

import math
from typing import Any

from ..api import Evaluation, Program, value_warnings
from ..core.shapes import Shape
from ..printing.text import node_expression
from ..printing.values import plain


def evaluation_data(program: Program, evaluation: Evaluation) -> dict[str, Any]:
    """The JSON document of `exprgraph eval` for one evaluated program."""
    return evaluation_summary(program, evaluation, derivatives=True, nodes=True)


def evaluation_summary(program: Program, evaluation: Evaluation, derivatives: bool,
                       nodes: bool) -> dict[str, Any]:
    """The JSON keys of `eval`, with `derivatives` and `nodes`/`edges` only
    when asked (batches skip them unless told: they cost more than the
    numbers)."""
    graph = program.graph
    undefined = evaluation.undefined_gradient
    names = [*graph.input_names, *evaluation.unused]
    data: dict[str, Any] = {
        "program": graph.source,
        "output": graph.output_name,
        "value": plain(evaluation.value),
        "inputs": {name: plain(evaluation.given.get(name, 0.0)) for name in names},
        # null where the partial is undefined; `undefined` then says why.
        "gradient": {name: None if name in undefined else plain(evaluation.gradient[name])
                     for name in names},
    }
    if evaluation.shapes is not None:
        data["shapes"] = {name: _dims(evaluation.shapes[graph.names[name]])
                          if name in graph.input_names else
                          list(getattr(evaluation.given.get(name), "shape", ()))
                          for name in names}
        if evaluation.seed is not None:
            data["seed"] = plain(evaluation.seed)
    if undefined:
        data["undefined"] = {name: error.message for name, error in undefined.items()}
        # As before partial results were shown: the first reason as `error`.
        data["error"] = next(iter(undefined.values())).to_dict()
    if derivatives and evaluation.is_tensor:
        data["derivatives"] = {name: None for name in names} | _matrix_texts(program,
                                                                              evaluation)
    elif derivatives:
        data["derivatives"] = {**program.derivatives(),
                               **{name: "0" for name in evaluation.unused}}
    if nodes:
        data["nodes"] = node_data(program, evaluation)
        data["edges"] = [edge_data(program, evaluation, i, position)
                         for i, position, _ in graph.edges()]
        if graph.loops:
            data["through_time"] = through_time_data(program, evaluation)
    data["warnings"] = [str(w) for w in graph.warnings] + \
        value_warnings(program, evaluation.given)
    return data


def _matrix_texts(program: Program, evaluation: Evaluation) -> dict[str, str]:
    """The gradients in matrix notation where they are built (none for a
    vector output, or through a function whose matrix rule is not built)."""
    from ..core.errors import ExprGraphError

    try:
        found = program.matrix_gradients(evaluation.shapes)
    except ExprGraphError:
        return {}
    return {name: program.text(expr) for name, (expr, _) in found.items()}


def node_data(program: Program, evaluation: Evaluation) -> list[dict[str, Any]]:
    """Every node: name, op, args, expr, value, adjoint, aliases."""
    nodes = program.graph.nodes
    found = [
        {
            "name": node.name,
            "op": node.op.name,
            "args": [nodes[a].name for a in node.args],
            "expr": node_expression(nodes, node),
            "value": plain(evaluation.node_values[i]),
            "adjoint": plain(evaluation.node_adjoints[i]),
            "aliases": list(node.aliases),
        }
        for i, node in enumerate(nodes)
    ]
    if program.graph.loops:
        from .recurrence import step_of_nodes

        for node, (_, step) in step_of_nodes(program).items():
            found[node]["step"] = step  # the loop variable's value where a loop built it
    if evaluation.shapes is not None:
        for entry, shape in zip(found, evaluation.shapes, strict=True):
            entry["shape"] = _dims(shape)
            if shape.row:
                entry["row"] = True  # a vector's transpose: the same numbers, a row
    return found


def through_time_data(program: Program, evaluation: Evaluation) -> dict[str, Any]:
    """Backprop through time: for each input two or more loop steps use, what
    each step passes back (`step` null: outside the loop) and the sum, its
    gradient."""
    from .recurrence import through_time

    return {entry.name: {
        "variable": entry.variable,
        "steps": [{"step": share.step, "used_by": list(share.via),
                   "contribution": plain(share.contribution)} for share in entry.shares],
        "gradient": plain(entry.gradient),
    } for entry in through_time(program, evaluation)}


def _dims(shape: Shape) -> list[Any]:
    return list(shape.dims)


def edge_data(program: Program, evaluation: Evaluation, node: int, position: int) -> dict[str, Any]:
    """One edge: the local partial derivative and its chain-rule contribution."""
    nodes = program.graph.nodes
    partial = evaluation.local_partial(node, position)
    if evaluation.shapes is not None:
        from ..printing.vjp import vjp_text

        varying = nodes[nodes[node].args[position]].varying
        return {
            "from": nodes[nodes[node].args[position]].name,
            "to": nodes[node].name,
            "partial": None,
            "partial_expr": None,
            "vjp": vjp_text(nodes, evaluation.shapes, node, position) if varying else None,
            "contribution": plain(evaluation.contribution(node, position)),
        }
    return {
        "from": nodes[nodes[node].args[position]].name,
        "to": nodes[node].name,
        "partial": partial,
        "partial_expr": program.local_partial_text(node, position),
        "contribution": evaluation.contribution(node, position),
    }


def _finite(value: float) -> float | None:
    """A number for JSON: null for an undefined one (JSON has no nan)."""
    return value if math.isfinite(value) else None


def steps_data(program: Program, evaluation: Evaluation) -> dict[str, Any]:
    """The passes as data: forward steps and backward steps with their terms."""
    from .explain import (
        backward_steps,
        forward_steps,
        tensor_backward_steps,
        tensor_forward_steps,
    )

    if evaluation.is_tensor:
        return {
            "forward": [{"node": f.name, "expr": f.expression, "substituted": f.substituted,
                         "value": plain(f.value)}
                        for f in tensor_forward_steps(program, evaluation)],
            "backward": [{"node": b.node, "adjoint": plain(b.adjoint),
                          "terms": [{"through": t.user, "position": t.position,
                                     "vjp": t.rule, "contribution": plain(t.contribution)}
                                    for t in b.terms]}
                         for b in tensor_backward_steps(program, evaluation)],
        }
    return {
        "forward": [{"node": f.name, "expr": f.expression, "substituted": f.substituted,
                     "value": f.value} for f in forward_steps(program, evaluation)],
        "backward": [{"node": b.node, "adjoint": None if b.undefined else b.total,
                      "terms": [{"through": t.user, "position": t.position,
                                 "adjoint": _finite(t.user_adjoint),
                                 "partial_expr": t.partial,
                                 "partial": _finite(t.partial_value)}
                                for t in b.terms]}
                     for b in backward_steps(program, evaluation)],
    }
