"""Training on the graph: gradient descent and fitting data.

`descend` minimises a program over some of its inputs from a start point:
forward pass, backward pass, `p ← p − lr·v` with `v ← momentum·v + ∂loss/∂p`,
until a stop criterion holds. `fit` does the same for a loss averaged over
the rows of a dataset, in mini-batches, evaluating the graph over a whole
batch at once (`passes/vector.py`). Both return a `Trajectory`; a loss that stops
being a finite number ends training with a message naming the step.

Stop criteria (`Criterion`): `grad<T` (the gradient's norm), `change<T` (the
loss's change from one step to the next) and `loss<T`; training also stops
after the given number of steps or epochs, or on Ctrl-C (`interrupted`).

The history is bounded whatever the number of steps: a trajectory keeps the
rows that are shown (every `every`-th step, at most `MAX_ROWS`, and the last)
and the loss curve at most `CURVE_POINTS` points (first and last kept). When
either would grow past its bound, its spacing doubles and every other point
is dropped, so a billion steps cost time, not memory.

The parts: `progress.py`, what both loops share (criteria, steps, the
bounded `Trajectory`, divergence and Ctrl-C); `columns.py`, reading fit's CSV
data. This module holds the two loops and fit's loss and checks; every name
above is importable from here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..api import Program
from ..core.errors import MathError, ValueInputError
from ..core.graph import GraphBuilder, Node
from ..core.ops import INPUT, OPS
from .columns import MAX_CSV_CHARS, parse_csv, read_csv
from .progress import (
    CRITERIA,
    CURVE_POINTS,
    HINT_CRITERIA,
    MAX_ROW_NUMBERS,
    MAX_ROWS,
    NON_NEGATIVE,
    START_HINT,
    Criterion,
    Step,
    Trajectory,
    criterion_met,
    mark_diverged,
    mark_interrupted,
    new_trajectory,
    not_finite_text,
    outside_domain,
    parse_criterion,
)

__all__ = [
    "BCE_EPSILON", "CRITERIA", "CURVE_POINTS", "HINT_CRITERIA", "MAX_CSV_CHARS",
    "MAX_ROWS", "MAX_ROW_NUMBERS", "NON_NEGATIVE", "START_HINT", "Criterion", "Step",
    "Trajectory", "descend", "fit", "loss_nodes", "parse_criterion", "parse_csv", "parse_params",
    "read_csv",
]

BCE_EPSILON = 1e-12  # predictions are clipped to [ε, 1-ε] before the log
# `new_trajectory` under the name it had here.
_trajectory = new_trajectory


def descend(program: Program, start: Mapping[str, float], params: Sequence[str], lr: float,
            steps: int, until: Sequence[Criterion] = (), momentum: float = 0.0,
            on_step: Callable[[int], None] | None = None, every: int = 1,
            max_rows: int | None = None) -> Trajectory:
    """Gradient descent on the program's output over `params` from `start`.

    Only the partial derivatives with respect to `params` are needed: an input
    that stays fixed may have an undefined partial. Training stops as diverged
    when the loss, the gradient or a parameter stops being a finite number;
    `final` then holds the point it reached. Ctrl-C (KeyboardInterrupt) stops
    it too, as `interrupted`, with what was reached. The trajectory keeps every
    `every`-th step and the last, at most `max_rows` (see `Trajectory`)."""
    if not params:
        raise ValueInputError("the program has no inputs to move" if not program.inputs
                              else "no inputs to move were named",
                              hint=None if not program.inputs
                              else "inputs: " + ", ".join(program.inputs))
    for name in params:
        if name not in program.inputs:
            raise ValueInputError(f"{name} is not an input of the program",
                                  hint="inputs: " + ", ".join(program.inputs))
    point = dict(start)
    velocity = dict.fromkeys(params, 0.0)
    trajectory = new_trajectory(params, every, max_rows)
    previous: float | None = None
    try:
        for step in range(steps + 1):
            try:
                value, gradient = _value_and_gradient(program, point, params)
            except MathError as error:
                if step == 0:
                    raise outside_domain(error, "the start point is", START_HINT) from None
                mark_diverged(trajectory, step, error.message, lr, "step")
                break
            norm = math.hypot(*gradient.values())
            if not math.isfinite(norm):
                mark_diverged(trajectory, step, f"the gradient became {norm}", lr, "step")
                break
            trajectory.record(Step(step, value, {name: point[name] for name in params}, norm))
            met = criterion_met(until, value, previous, norm)
            if met is not None or step == steps:
                trajectory.stopped = met.quantity if met else "steps"
                trajectory.message = f"stopped at step {step}: {met}" if met else \
                    f"stopped after {steps} step{'s' if steps != 1 else ''}"
                break
            previous = value
            moved = dict(point)
            for name in params:
                velocity[name] = momentum * velocity[name] + gradient[name]
                moved[name] -= lr * velocity[name]
            broken = [name for name in params if not math.isfinite(moved[name])]
            point = moved
            if broken:
                mark_diverged(trajectory, step + 1, not_finite_text(broken), lr, "step")
                break
            if on_step:
                on_step(step + 1)
    except KeyboardInterrupt:
        mark_interrupted(trajectory, "step")
        point = dict(trajectory.steps[-1].params) if trajectory.steps else point
    trajectory.final = {name: point[name] for name in params}
    if trajectory.steps and not trajectory.diverged:
        trajectory.final_loss = trajectory.steps[-1].loss
    return trajectory


def _value_and_gradient(program: Program, point: Mapping[str, float], params: Sequence[str]
                        ) -> tuple[float, dict[str, float]]:
    """The program's value at `point` and its partials with respect to `params`;
    MathError if the value or one of those partials is undefined there (the
    partials of other inputs are not needed)."""
    result = program.evaluate_partially(point)
    undefined = result.undefined_gradient
    for name in params:
        if name in undefined:
            raise undefined[name]
    gradient = result.gradient
    return result.value, {name: gradient[name] for name in params}


LOSSES = ("mse", "bce")


def check_loss(kind: str | None) -> None:
    """ValueInputError unless `kind` is None or a known loss."""
    if kind is not None and kind not in LOSSES:
        raise ValueInputError(f"unknown loss {kind!r}", hint="use mse or bce")


def loss_nodes(program: Program, kind: str | None, target: str | None
               ) -> tuple[list[Node], int]:
    """The node list to minimise: the program's, or a loss of its output
    against the column `target` (mse: (p - t)^2; bce: cross-entropy with p
    clipped to [ε, 1-ε])."""
    graph = program.graph
    check_loss(kind)  # the option's own value first, then how it fits the program
    if kind is None:
        if target is not None:
            raise ValueInputError(f"a target column ({target}) is only used with a loss "
                                  "(mse or bce)")
        return list(graph.nodes), graph.output
    if not target:
        raise ValueInputError(f"the loss {kind} needs a target column")
    if target in program.inputs:
        raise ValueInputError(f"the target column {target} is also an input of the model")
    builder = GraphBuilder(graph.nodes)
    node = builder.intern
    const = builder.constant
    prediction, truth = graph.output, node(INPUT, label=target)
    if kind == "mse":
        difference = node(OPS["sub"], (prediction, truth))
        return builder.nodes, node(OPS["pow"], (difference, const(2.0)))
    clipped = node(OPS["min"], (node(OPS["max"], (prediction, const(BCE_EPSILON))),
                                const(1.0 - BCE_EPSILON)))
    one = const(1.0)
    positive = node(OPS["mul"], (truth, node(OPS["log"], (clipped,))))
    negative = node(OPS["mul"], (node(OPS["sub"], (one, truth)),
                                 node(OPS["log"], (node(OPS["sub"], (one, clipped)),))))
    return builder.nodes, node(OPS["neg"], (node(OPS["add"], (positive, negative)),))


def fit(program: Program, data: Mapping[str, Any], rows: int, params: Mapping[str, float],
        lr: float, epochs: int, *, loss: str | None = None, target: str | None = None,
        batch_size: int | None = None, momentum: float = 0.0, until: Sequence[Criterion] = (),
        seed: int = 0, on_epoch: Callable[[int], None] | None = None, every: int = 1,
        max_rows: int | None = None) -> Trajectory:
    """Minimise the mean over the rows of the program's output (a per-row
    loss) or of `loss` of its output against `target`, over `params`.

    Like `descend`, the trajectory starts at step 0 with the start values, and
    each row holds parameters with the loss and gradient (over every row) at
    those parameters; the last row is where training ended. As in `descend`,
    the trajectory keeps every `every`-th epoch and the last (at most
    `max_rows`), and Ctrl-C stops
    training as `interrupted` with what was reached."""
    import numpy as np

    from ..passes.vector import evaluate_rows, gradient_rows

    if not params:
        raise ValueInputError("there are no parameters to fit")
    _check_columns(program, data, params, target)
    if loss == "bce" and target is not None:
        _check_probabilities(data[target], target)
    nodes, output = loss_nodes(program, loss, target)
    wrt = [next(i for i, n in enumerate(nodes) if n.op is INPUT and n.label == name)
           for name in params]
    source = program.graph.source

    def mean(array: Any) -> float:
        return float(np.mean(array)) if np.ndim(array) else float(array)

    def measure(columns: Mapping[str, Any], count: int) -> tuple[float, dict[str, float]]:
        """The mean loss and mean gradient over `count` rows."""
        node_values = evaluate_rows(nodes, columns, count, source)
        grads = gradient_rows(nodes, node_values, output, wrt)
        return mean(node_values[output]), {n: mean(g) for n, g in zip(params, grads,
                                                                      strict=True)}

    def data_row_error(batch_error: MathError) -> str:
        """A batch's error counts rows within the shuffled batch: the same
        failure over every row names the row of the data itself."""
        try:
            measure({**data, **values}, rows)
        except MathError as error:
            return error.message
        return batch_error.message

    values = dict(params)
    velocity = dict.fromkeys(params, 0.0)
    size = rows if not batch_size or batch_size >= rows else batch_size
    rng = np.random.default_rng(seed)
    trajectory = new_trajectory(list(params), every, max_rows)

    def step(gradient: Mapping[str, float]) -> list[str]:
        """Move the parameters; the names of those no longer finite."""
        for name in params:
            velocity[name] = momentum * velocity[name] + gradient[name]
            values[name] -= lr * velocity[name]
        return [name for name in params if not math.isfinite(values[name])]

    previous: float | None = None
    try:
        with np.errstate(all="ignore"):  # every result is checked; NumPy need not warn
            for epoch in range(epochs + 1):
                try:
                    epoch_loss, gradient = measure({**data, **values}, rows)
                except MathError as error:
                    if epoch == 0:
                        raise outside_domain(error, _at("the start parameters", values) + " are",
                                             START_HINT + " for every row") from None
                    mark_diverged(trajectory, epoch, error.message, lr, "epoch")
                    break
                norm = math.hypot(*gradient.values())
                if not (math.isfinite(epoch_loss) and math.isfinite(norm)):
                    what = f"the loss is {epoch_loss}" if not math.isfinite(epoch_loss) else \
                        f"the gradient's norm is {norm}"
                    if epoch == 0:
                        raise MathError(f"{_at('the start parameters', values)} are outside the "
                                        f"program's domain: {what} there", hint=START_HINT)
                    mark_diverged(trajectory, epoch, what.replace(" is ", " became "), lr, "epoch")
                    break
                trajectory.record(Step(epoch, epoch_loss, dict(values), norm))
                if on_epoch and epoch:
                    on_epoch(epoch)
                met = criterion_met(until, epoch_loss, previous, norm)
                if met is not None:
                    trajectory.stopped = met.quantity
                    trajectory.message = f"stopped at epoch {epoch}: {met}"
                    break
                if epoch == epochs:
                    trajectory.stopped = "epochs"
                    trajectory.message = f"stopped after {epochs} epoch{'s' if epochs != 1 else ''}"
                    break
                previous = epoch_loss
                if size == rows:
                    broken = step(gradient)  # full batch: the gradient here is known
                    if broken:
                        mark_diverged(trajectory, epoch + 1, not_finite_text(broken), lr, "epoch")
                        break
                    continue
                order = rng.permutation(rows)
                broken = []
                try:
                    for start in range(0, rows, size):
                        take = order[start:start + size]
                        _, batch_gradient = measure({**{k: v[take] for k, v in data.items()},
                                                     **values}, len(take))
                        broken = step(batch_gradient)
                        if broken:
                            break
                except MathError as error:
                    mark_diverged(trajectory, epoch + 1, data_row_error(error), lr, "epoch")
                    break
                if broken:
                    mark_diverged(trajectory, epoch + 1, not_finite_text(broken), lr, "epoch")
                    break
    except KeyboardInterrupt:
        mark_interrupted(trajectory, "epoch")
        if trajectory.steps:
            values = dict(trajectory.steps[-1].params)
    trajectory.final = dict(values)
    if trajectory.steps and not trajectory.diverged:
        trajectory.final_loss = trajectory.steps[-1].loss
    return trajectory


def _check_probabilities(targets: Any, target: str) -> None:
    """Binary cross-entropy compares with probabilities: targets in [0, 1]."""
    import numpy as np

    from ..core.numbers import format_value

    bad = np.flatnonzero((np.asarray(targets) < 0) | (np.asarray(targets) > 1))
    if bad.size:
        row = int(bad[0])
        raise ValueInputError(
            f"binary cross-entropy needs targets between 0 and 1, but row {row + 1} of the "
            f"data has {target} = {format_value(float(targets[row]))}",
            hint="the target is a label (0 or 1) or a probability", variable=target)


def _at(what: str, values: Mapping[str, float]) -> str:
    """`what` and the values, as in "the start parameters (w = 0, b = 1)"."""
    from ..core.numbers import format_value

    return f"{what} ({', '.join(f'{k} = {format_value(v)}' for k, v in values.items())})"


def _check_columns(program: Program, data: Mapping[str, Any], params: Iterable[str],
                   target: str | None) -> None:
    """Each input of the program must be a parameter or a column, not both."""
    params = list(params)
    columns = ", ".join(data)
    for name in params:
        if name not in program.inputs:
            raise ValueInputError(f"the parameter {name} is not an input of the program",
                                  hint="inputs: " + ", ".join(program.inputs), variable=name)
        if name in data:
            others = [n for n in program.inputs if n not in data]
            raise ValueInputError(
                f"{name} is a column of the data, so it cannot also be a parameter",
                hint=("the inputs that are not columns: " + ", ".join(others)) if others
                else "every input of the program is a column of the data", variable=name)
    if target is not None:
        if target not in data:
            raise ValueInputError(f"the data has no column {target} to use as the target",
                                  hint=f"columns: {columns}", variable=target)
        if target in params:
            raise ValueInputError(f"the target column {target} cannot also be a parameter",
                                  variable=target)
    missing = [n for n in program.inputs if n not in params and n not in data]
    if missing:
        names = ", ".join(missing)
        what = "is neither a column of the data nor a parameter" if len(missing) == 1 else \
            "are neither columns of the data nor parameters"
        raise ValueInputError(f"{names} {what}",
                              hint=f"columns: {columns}; to fit {missing[0]}, make it a "
                              f"parameter ({missing[0]}=0)", variable=missing[0])


def parse_params(items: Sequence[str]) -> dict[str, float | None]:
    """`w=0,b=0.5` or `w,b` (from one or more --params) → names and start values."""
    from ..api import parse_value

    found: dict[str, float | None] = {}
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            name, has_value, value = part.partition("=")
            name = name.strip()
            if not name.isidentifier():
                raise ValueInputError(f"the parameter {name!r} is not a name")
            if name in found:
                raise ValueInputError(f"the parameter {name} is named twice")
            found[name] = parse_value(name, value) if has_value else None
    return found
