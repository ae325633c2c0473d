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
    velocity = {name: _zero_like(point.get(name, 0.0)) for name in params}
    trajectory = new_trajectory(params, every, max_rows)
    trajectory.tensors = tuple(name for name in params if _is_array(point.get(name)))
    previous: float | None = None
    try:
        with _quiet_arrays(bool(trajectory.tensors)):  # every result is checked
            _descend_steps(program, point, params, lr, steps, until, momentum, on_step,
                           trajectory, velocity, previous)
    except KeyboardInterrupt:
        mark_interrupted(trajectory, "step")
        if trajectory.steps and not trajectory.tensors:  # the last row shown
            trajectory.final = dict(trajectory.steps[-1].params)
    point = trajectory.final or point
    trajectory.final = {name: point[name] for name in params}
    if trajectory.steps and not trajectory.diverged:
        trajectory.final_loss = trajectory.steps[-1].loss
    return trajectory


def _quiet_arrays(on: bool) -> Any:
    """NumPy's overflow warnings off (training checks every number itself)."""
    import contextlib

    if not on:
        return contextlib.nullcontext()
    import numpy as np

    return np.errstate(all="ignore")


def _descend_steps(program: Program, point: dict[str, Any], params: Sequence[str], lr: float,
                   steps: int, until: Sequence[Criterion], momentum: float,
                   on_step: Callable[[int], None] | None, trajectory: Trajectory,
                   velocity: dict[str, Any], previous: float | None) -> None:
    """descend's loop. The point reached is kept in `trajectory.final` as it
    moves (so Ctrl-C, raised anywhere in here, finds it there)."""
    trajectory.final = point
    for step in range(steps + 1):
        try:
            value, gradient = _value_and_gradient(program, point, params)
        except MathError as error:
            if step == 0:
                raise outside_domain(error, "the start point is", START_HINT) from None
            mark_diverged(trajectory, step, error.message, lr, "step")
            return
        norm = _norm(gradient.values())
        if not math.isfinite(norm):
            mark_diverged(trajectory, step, f"the gradient became {norm}", lr, "step")
            return
        trajectory.record(Step(step, value, _recorded(point, params), norm))
        met = criterion_met(until, value, previous, norm)
        if met is not None or step == steps:
            trajectory.stopped = met.quantity if met else "steps"
            trajectory.message = f"stopped at step {step}: {met}" if met else \
                f"stopped after {steps} step{'s' if steps != 1 else ''}"
            return
        previous = value
        moved = dict(point)
        for name in params:
            velocity[name] = momentum * velocity[name] + gradient[name]
            moved[name] = moved[name] - lr * velocity[name]
        broken = [name for name in params if not _finite(moved[name])]
        point = moved
        trajectory.final = point
        if broken:
            mark_diverged(trajectory, step + 1, not_finite_text(broken), lr, "step")
            return
        if on_step:
            on_step(step + 1)


def _is_array(value: Any) -> bool:
    return hasattr(value, "ndim") and value.ndim > 0


def _zero_like(value: Any) -> Any:
    return value * 0.0 if _is_array(value) else 0.0


def _finite(value: Any) -> bool:
    if _is_array(value):
        import numpy as np

        return bool(np.all(np.isfinite(value)))
    return math.isfinite(value)


def _norm(values: Iterable[Any]) -> float:
    """The norm of the whole gradient: every element of every parameter's."""
    parts = []
    for value in values:
        if _is_array(value):
            import numpy as np

            with np.errstate(all="ignore"):
                # Scaled by the largest size first: finite for any finite elements.
                largest = float(np.max(np.abs(value)))
                if largest == 0.0 or not math.isfinite(largest):
                    parts.append(largest)
                else:
                    parts.append(largest * float(np.sqrt(np.sum(np.square(value / largest)))))
        else:
            parts.append(value)
    return math.hypot(*parts)


def _recorded(values: Mapping[str, Any], params: Sequence[str]) -> dict[str, float]:
    """What a step keeps of the parameters: a number's value, a vector's or
    matrix's norm (its values would cost a copy per step)."""
    return {name: _norm([values[name]]) if _is_array(values[name]) else values[name]
            for name in params}


def _value_and_gradient(program: Program, point: Mapping[str, float], params: Sequence[str]
                        ) -> tuple[float, dict[str, float]]:
    """The program's value at `point` and its partials with respect to `params`;
    MathError if the value or one of those partials is undefined there (the
    partials of other inputs are not needed)."""
    if not program.scalar or any(_is_array(v) for v in point.values()):
        result = program.evaluate_wrt(point, params)  # only the parameters' adjoints
        if not (result.shapes and result.shapes[program.graph.output].is_scalar):
            raise ValueInputError("the program's output is a vector or matrix; descend "
                                  "minimises a number",
                                  hint="write the loss as the last statement, e.g. "
                                  "L = sum(h^2)")
        return float(result.value), dict(result.gradient)
    result = program.evaluate_partially(point)
    undefined = result.undefined_gradient
    for name in params:
        if name in undefined:
            raise undefined[name]
    gradient = result.gradient
    return result.value, {name: gradient[name] for name in params}


INITS = ("zeros", "normal:STD", "uniform:A", "xavier")
INIT_HINT = ("zeros; normal:0.1 (normal, mean 0, that standard deviation); uniform:0.5 "
             "(uniform in [-0.5, 0.5]); xavier (uniform in ±sqrt(6/(fan_in + fan_out)))")


def parse_init(text: str) -> tuple[str, float]:
    """`--init` as (kind, scale): zeros, normal:STD, uniform:A or xavier."""
    kind, has_scale, scale_text = text.strip().partition(":")
    kind = kind.lower()
    if kind in ("zeros", "xavier") and not has_scale:
        return kind, 0.0
    if kind in ("normal", "uniform") and has_scale:
        try:
            scale = float(scale_text)
        except ValueError:
            scale = math.nan
        if math.isfinite(scale) and scale >= 0:
            return kind, scale
        raise ValueInputError(f"--init {text}: the scale must be a number >= 0, not "
                              f"{scale_text!r}", hint=INIT_HINT)
    raise ValueInputError(f"unknown initialisation {text!r}", hint=INIT_HINT)


def initial_values(program: Program, params: Sequence[str], given: Mapping[str, Any],
                   init: tuple[str, float], seed: int,
                   data_shapes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Start values of the parameters: the `given` ones; for a parameter
    declared as a vector or matrix without one, random numbers by `init`
    (zeros, normal:STD, uniform:A, xavier) from a generator seeded by `seed`,
    in the order the parameters are named; a scalar without one starts at 0.
    Named sizes in a declaration bind from the given values and the data's
    shapes (`data_shapes`, one row's)."""
    from ..core import shapes as shape_rules

    declared = program.graph.declarations
    known = {name: shape for name, shape in (data_shapes or {}).items()}
    for name, value in given.items():
        if _is_array(value):
            known[name] = shape_rules.Shape(tuple(value.shape))
    bound = program.input_shapes(known)
    starts: dict[str, Any] = {}
    rng = None
    for name in params:
        if name in given:
            starts[name] = given[name]
            continue
        shape = bound.get(name, declared.get(name))
        if shape is None or shape.is_scalar:
            starts[name] = 0.0
            continue
        unknown = [d for d in shape.dims if not isinstance(d, int)]
        if unknown:
            raise ValueInputError(
                f"the size {unknown[0]} of {name} ({shape}) is not known, so {name} "
                "cannot be initialised", variable=name,
                hint=f"declare it with numbers, or give a value whose shape has {unknown[0]}")
        import numpy as np

        if rng is None:
            rng = np.random.default_rng(seed)
        starts[name] = _random(rng, tuple(int(d) for d in shape.dims), init)
    return starts


def _random(rng: Any, dims: tuple[int, ...], init: tuple[str, float]) -> Any:
    import numpy as np

    kind, scale = init
    if kind == "zeros":
        return np.zeros(dims)
    if kind == "normal":
        return rng.normal(0.0, scale, dims)
    if kind == "xavier":
        fan_out, fan_in = (dims[0], dims[1]) if len(dims) == 2 else (dims[0], 1)
        scale = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-scale, scale, dims)


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
    tensors = not program.scalar or any(_is_array(v) for v in params.values()) or \
        any(np.ndim(column) > 1 for column in data.values())

    def mean(array: Any) -> float:
        return float(np.mean(array)) if np.ndim(array) else float(array)

    def measure(columns: Mapping[str, Any], count: int) -> tuple[float, dict[str, Any]]:
        """The mean loss and mean gradient over `count` rows."""
        if tensors:
            return measure_tensors(columns, count)
        node_values = evaluate_rows(nodes, columns, count, source)
        grads = gradient_rows(nodes, node_values, output, wrt)
        return mean(node_values[output]), {n: mean(g) for n, g in zip(params, grads,
                                                                      strict=True)}

    if tensors:
        measure_tensors = _tensor_measure(program, nodes, output, data, list(params),
                                          dict(params))

    def data_row_error(batch_error: MathError) -> str:
        """A batch's error counts rows within the shuffled batch: the same
        failure over every row names the row of the data itself."""
        try:
            measure({**data, **values}, rows)
        except MathError as error:
            return error.message
        return batch_error.message

    values = dict(params)
    velocity = {name: _zero_like(value) for name, value in params.items()}
    size = rows if not batch_size or batch_size >= rows else batch_size
    rng = np.random.default_rng(seed)
    trajectory = new_trajectory(list(params), every, max_rows)
    trajectory.tensors = tuple(name for name in params if _is_array(params[name]))

    def step(gradient: Mapping[str, Any]) -> list[str]:
        """Move the parameters; the names of those no longer finite."""
        for name in params:
            velocity[name] = momentum * velocity[name] + gradient[name]
            values[name] = values[name] - lr * velocity[name]
        return [name for name in params if not _finite(values[name])]

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
                norm = _norm(gradient.values())
                if not (math.isfinite(epoch_loss) and math.isfinite(norm)):
                    what = f"the loss is {epoch_loss}" if not math.isfinite(epoch_loss) else \
                        f"the gradient's norm is {norm}"
                    if epoch == 0:
                        raise MathError(f"{_at('the start parameters', values)} are outside the "
                                        f"program's domain: {what} there", hint=START_HINT)
                    mark_diverged(trajectory, epoch, what.replace(" is ", " became "), lr, "epoch")
                    break
                trajectory.record(Step(epoch, epoch_loss, _recorded(values, list(params)),
                                       norm))
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
        if trajectory.steps and not trajectory.tensors:
            values = dict(trajectory.steps[-1].params)
    trajectory.final = dict(values)
    if trajectory.steps and not trajectory.diverged:
        trajectory.final_loss = trajectory.steps[-1].loss
    return trajectory


def _tensor_measure(program: Program, nodes: Sequence[Node], output: int,
                    data: Mapping[str, Any], params: list[str], starts: Mapping[str, Any]
                    ) -> Callable[[Mapping[str, Any], int], tuple[float, dict[str, Any]]]:
    """fit's `measure` for vectors and matrices: the per-row program over every
    row at once (batched tensors: passes/tensor.py), its shapes checked once
    here, from one row of each column and the parameters' start values."""
    import numpy as np

    from ..core.shapes import SCALAR, Shape
    from ..passes.shapes import infer_shapes
    from ..passes.tensor import Tensor, evaluate_tensors, gradient_tensors

    def row_shape(column: Any) -> Shape:
        return Shape(tuple(np.shape(column)[1:])) if np.ndim(column) > 1 else SCALAR

    row_shapes = {name: row_shape(column) for name, column in data.items()}
    param_shapes = {name: Shape(tuple(np.shape(v))) if _is_array(v) else SCALAR
                    for name, v in starts.items()}
    shaped = infer_shapes(nodes, program.input_shapes({**row_shapes, **param_shapes}),
                          program.graph.source, program.graph.assigned)
    if not shaped[output].is_scalar:
        raise ValueInputError(f"the program's output is {shaped[output]} per row; fit "
                              "minimises a number per row",
                              hint="write the per-row loss as the last statement, e.g. "
                              "L = logsumexp(z) - sum(y * z)")
    wanted = [next(i for i, n in enumerate(nodes) if n.op is INPUT and n.label == name)
              for name in params]

    def measure(columns: Mapping[str, Any], count: int) -> tuple[float, dict[str, Any]]:
        values = {name: Tensor(np.asarray(columns[name], dtype=np.float64),
                               row_shapes[name], True) for name in row_shapes}
        for name in params:
            value = columns[name]
            values[name] = Tensor(value, param_shapes[name]) if _is_array(value) else \
                Tensor.scalar(value)
        computed = evaluate_tensors(nodes, values, program.graph.source)
        # The seed 1/count at every row: the adjoints are of the mean loss.
        seed = Tensor(np.full(count, 1.0 / count), SCALAR, True)
        adjoints = gradient_tensors(nodes, computed, output, seed, wanted=wanted)
        gradient = {}
        for name, index in zip(params, wanted, strict=True):
            found = adjoints.get(index)
            gradient[name] = _zero_like(columns[name]) if found is None else found.data
        return float(np.mean(computed[output].data)), gradient

    return measure


def group_columns(specs: Sequence[str]) -> dict[str, list[str]]:
    """`--columns x=a,b,c` (repeatable) as {x: [a, b, c]}: a vector input
    built from several CSV columns, in that order."""
    groups: dict[str, list[str]] = {}
    for spec in specs:
        name, has_equals, listed = spec.partition("=")
        name = name.strip()
        columns = [c.strip() for c in listed.split(",") if c.strip()]
        if not has_equals or not name.isidentifier() or not columns:
            raise ValueInputError(f"--columns {spec!r} is not NAME=COLUMN,COLUMN,...",
                                  hint="e.g. --columns x=sepal_length,sepal_width")
        if name in groups:
            raise ValueInputError(f"--columns names {name} twice", variable=name)
        groups[name] = columns
    return groups


def stack_columns(data: dict[str, Any], groups: Mapping[str, list[str]]) -> dict[str, Any]:
    """The data with each group's columns stacked into one vector input per
    row (a rows×k array), the grouped columns kept under their own names."""
    import numpy as np

    stacked = dict(data)
    for name, columns in groups.items():
        missing = [c for c in columns if c not in data]
        if missing:
            raise ValueInputError(f"--columns {name}=...: the data has no column "
                                  f"{missing[0]}", variable=name,
                                  hint="columns: " + ", ".join(data))
        if name in data:
            raise ValueInputError(f"--columns {name}=...: {name} is already a column of "
                                  "the data", variable=name, hint="choose another name")
        stacked[name] = np.stack([np.asarray(data[c], dtype=np.float64) for c in columns],
                                 axis=1)
    return stacked


def accuracy(program: Program, data: Mapping[str, Any], final: Mapping[str, Any],
             node: str, column: str) -> tuple[int, int]:
    """How many rows the trained model classifies right: the largest element
    of node `node` at the same place as the largest of `column` (one-hot
    labels), or for numbers, both on the same side of 0.5. (right, rows)."""
    import numpy as np

    from ..core.shapes import SCALAR, Shape
    from ..passes.tensor import Tensor, evaluate_tensors

    if node not in program.graph.names:
        raise ValueInputError(f"--accuracy {node}=...: the program has no node {node}",
                              hint="nodes: " + ", ".join(program.node_names()))
    if column not in data:
        raise ValueInputError(f"--accuracy ...={column}: the data has no column {column}",
                              hint="columns: " + ", ".join(data))
    values = {}
    for name, value in data.items():
        array = np.asarray(value, dtype=np.float64)
        shape = Shape(tuple(array.shape[1:])) if array.ndim > 1 else SCALAR
        values[name] = Tensor(array, shape, True)
    for name, value in final.items():
        values[name] = Tensor(value, Shape(tuple(value.shape))) if _is_array(value) else \
            Tensor.scalar(value)
    with np.errstate(all="ignore"):
        computed = evaluate_tensors(program.graph.nodes, values, program.graph.source)
    found = computed[program.graph.names[node]]
    if not found.batched:
        raise ValueInputError(f"--accuracy {node}={column}: {node} does not depend on the "
                              "data, so it is the same for every row",
                              hint="name the node that predicts each row, such as the "
                              "output layer z")
    predicted = np.asarray(found.data)
    truth = np.asarray(values[column].data)
    rows = truth.shape[0]
    if predicted.ndim == 1 and truth.ndim == 1:
        right = np.sum((predicted > 0.5) == (truth > 0.5))
    elif predicted.ndim == 2 and truth.ndim == 2 and predicted.shape == truth.shape:
        right = np.sum(np.argmax(predicted, axis=1) == np.argmax(truth, axis=1))
    else:
        raise ValueInputError(f"--accuracy {node}={column}: {node} and {column} must both "
                              "be numbers (0/1 labels) or vectors of one length (one-hot)")
    return int(right), int(rows)


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


def _at(what: str, values: Mapping[str, Any]) -> str:
    """`what` and the values, as in "the start parameters (w = 0, b = 1)"
    (a vector or matrix in brackets, summarised when large)."""
    from ..printing.values import value_text

    shown = ", ".join(f"{k} = {value_text(v, one_line=True)}" for k, v in values.items())
    return f"{what} ({shown})"


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


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """`w=0,b=0.5`, `w,b` or `W=[[1, 0], [0, 1]],b=[0, 0]` (from one or more
    --params) → names and start values (None where none is given)."""
    from ..api import parse_value
    from ..core.text import split_top_level
    from ..syntax.values import looks_like_tensor, parse_tensor

    found: dict[str, Any] = {}
    for item in items:
        for part in filter(None, (p.strip() for p in split_top_level(item))):
            name, has_value, value = part.partition("=")
            name = name.strip()
            if not name.isidentifier():
                raise ValueInputError(f"the parameter {name!r} is not a name")
            if name in found:
                raise ValueInputError(f"the parameter {name} is named twice")
            if not has_value:
                found[name] = None
            elif looks_like_tensor(value):
                found[name] = parse_tensor(name, value)[0]
            else:
                found[name] = parse_value(name, value)
    return found
