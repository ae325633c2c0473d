"""Training on the graph: gradient descent and fitting data.

`descend` minimises a program over some of its inputs from a start point:
forward pass, backward pass, `p ← p − lr·v` with `v ← momentum·v + ∂loss/∂p`,
until a stop criterion holds. `fit` does the same for a loss averaged over
the rows of a dataset, in mini-batches, evaluating the graph over a whole
batch at once (`vector.py`). Both return a `Trajectory`; a loss that stops
being a finite number ends training with a message naming the step.

Stop criteria (`Criterion`): `grad<T` (the gradient's norm), `change<T` (the
loss's change from one step to the next) and `loss<T`; training also stops
after the given number of steps or epochs.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import Program
from .errors import MathError, ValueInputError
from .graph import GraphBuilder, Node
from .ops import INPUT, OPS

CRITERIA = ("grad", "change", "loss")
BCE_EPSILON = 1e-12  # predictions are clipped to [ε, 1-ε] before the log


@dataclass(frozen=True)
class Criterion:
    """Stop once `quantity` (grad, change or loss) is below `threshold`."""

    quantity: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.quantity}<{self.threshold:g}"


def parse_criterion(text: str) -> Criterion:
    """`grad<1e-6` → Criterion("grad", 1e-6)."""
    match = re.fullmatch(r"\s*(\w+)\s*<\s*([0-9.eE+-]+)\s*", text)
    if not match or match.group(1) not in CRITERIA:
        raise ValueInputError(f"cannot read the stop criterion {text!r}",
                              hint="write grad<1e-6, change<1e-9 or loss<1e-3")
    try:
        return Criterion(match.group(1), float(match.group(2)))
    except ValueError:
        raise ValueInputError(f"{match.group(2)!r} is not a number in {text!r}") from None


@dataclass(frozen=True)
class Step:
    """One step (or epoch): the loss and gradient norm at `params`."""

    step: int
    loss: float
    params: dict[str, float]
    grad_norm: float


@dataclass
class Trajectory:
    """What training did: the steps, where it ended, and why it stopped."""

    params: tuple[str, ...]
    steps: list[Step] = field(default_factory=list)
    final: dict[str, float] = field(default_factory=dict)
    final_loss: float | None = None
    stopped: str = "steps"  # steps, epochs, grad, change, loss or diverged
    message: str = ""

    @property
    def diverged(self) -> bool:
        """Whether training stopped because the loss stopped being finite."""
        return self.stopped == "diverged"


def _met(criteria: Sequence[Criterion], loss: float, previous: float | None,
         grad_norm: float) -> Criterion | None:
    for criterion in criteria:
        value = {"grad": grad_norm, "loss": loss,
                 "change": abs(loss - previous) if previous is not None else math.inf}
        if value[criterion.quantity] < criterion.threshold:
            return criterion
    return None


def _diverged(trajectory: Trajectory, step: int, what: str, lr: float, unit: str) -> None:
    trajectory.stopped = "diverged"
    trajectory.message = (f"training diverged at {unit} {step}: {what}; "
                          f"try a smaller learning rate than --lr {lr:g}")


def descend(program: Program, start: Mapping[str, float], params: Sequence[str], lr: float,
            steps: int, until: Sequence[Criterion] = (), momentum: float = 0.0,
            on_step: Callable[[int], None] | None = None) -> Trajectory:
    """Gradient descent on the program's output over `params` from `start`."""
    for name in params:
        if name not in program.inputs:
            raise ValueInputError(f"{name} is not an input of the program",
                                  hint="inputs: " + ", ".join(program.inputs))
    point = dict(start)
    velocity = dict.fromkeys(params, 0.0)
    trajectory = Trajectory(tuple(params))
    previous: float | None = None
    for step in range(steps + 1):
        try:
            result = program.evaluate(point)
        except MathError as error:
            _diverged(trajectory, step, error.message, lr, "step")
            break
        gradient = {name: result.gradient[name] for name in params}
        norm = math.hypot(*gradient.values())
        if not math.isfinite(norm):
            _diverged(trajectory, step, f"the gradient became {norm}", lr, "step")
            break
        record = Step(step, result.value, {name: point[name] for name in params}, norm)
        trajectory.steps.append(record)
        met = _met(until, result.value, previous, norm)
        if met is not None or step == steps:
            trajectory.stopped = met.quantity if met else "steps"
            trajectory.message = f"stopped at step {step}: {met}" if met else \
                f"stopped after {steps} steps"
            break
        previous = result.value
        for name in params:
            velocity[name] = momentum * velocity[name] + gradient[name]
            point[name] -= lr * velocity[name]
            if not math.isfinite(point[name]):
                _diverged(trajectory, step + 1, f"{name} became {point[name]}", lr, "step")
                break
        if trajectory.diverged:
            break
        if on_step:
            on_step(step + 1)
    trajectory.final = {name: point[name] for name in params}
    if trajectory.steps and not trajectory.diverged:
        trajectory.final_loss = trajectory.steps[-1].loss
    return trajectory


# --- fitting data ---------------------------------------------------------------


def read_csv(path: str | Path) -> tuple[dict[str, Any], int]:
    """Columns of a CSV file with a header row, as float arrays, and the row count."""
    import numpy as np

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row and any(c.strip() for c in row)]
    except OSError as exc:
        raise ValueInputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueInputError(f"{path} is not UTF-8 text") from None
    if len(rows) < 2:
        raise ValueInputError(f"{path} needs a header row and at least one row of data")
    header = [name.strip() for name in rows[0]]
    columns: dict[str, list[float]] = {name: [] for name in header}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueInputError(f"{path}, line {number}: {len(row)} values for "
                                  f"{len(header)} columns")
        for name, cell in zip(header, row, strict=True):
            try:
                columns[name].append(float(cell))
            except ValueError:
                raise ValueInputError(f"{path}, line {number}: {cell.strip()!r} in column "
                                      f"{name} is not a number") from None
    return {name: np.asarray(values) for name, values in columns.items()}, len(rows) - 1


def loss_nodes(program: Program, kind: str | None, target: str | None
               ) -> tuple[list[Node], int]:
    """The node list to minimise: the program's, or a loss of its output
    against the column `target` (mse: (p - t)^2; bce: cross-entropy with p
    clipped to [ε, 1-ε])."""
    graph = program.graph
    if kind is None:
        return list(graph.nodes), graph.output
    if not target:
        raise ValueInputError(f"--loss {kind} needs --target COLUMN")
    if target in program.inputs:
        raise ValueInputError(f"the target column {target} is also an input of the model")
    builder = GraphBuilder(graph.nodes)
    node = builder.intern
    const = builder.constant
    prediction, truth = graph.output, node(INPUT, label=target)
    if kind == "mse":
        difference = node(OPS["sub"], (prediction, truth))
        return builder.nodes, node(OPS["pow"], (difference, const(2.0)))
    if kind != "bce":
        raise ValueInputError(f"unknown loss {kind!r}", hint="use mse or bce")
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
        seed: int = 0, on_epoch: Callable[[int], None] | None = None) -> Trajectory:
    """Minimise the mean over the rows of the program's output (a per-row
    loss) or of `loss` of its output against `target`, over `params`."""
    import numpy as np

    from .vector import evaluate_rows, gradient_rows

    nodes, output = loss_nodes(program, loss, target)
    _check_columns(program, data, params, target)
    wrt = [next(i for i, n in enumerate(nodes) if n.op is INPUT and n.label == name)
           for name in params]
    values = dict(params)
    velocity = dict.fromkeys(params, 0.0)
    size = rows if not batch_size or batch_size >= rows else batch_size
    rng = np.random.default_rng(seed)
    trajectory = Trajectory(tuple(params))
    previous: float | None = None
    for epoch in range(1, epochs + 1):
        order = rng.permutation(rows) if size < rows else None
        total = 0.0
        gradient_sum = dict.fromkeys(params, 0.0)
        try:
            for start in range(0, rows, size):
                take = order[start:start + size] if order is not None else \
                    slice(start, start + size)
                count = min(size, rows - start)
                columns = {**{k: v[take] for k, v in data.items()}, **values}
                node_values = evaluate_rows(nodes, columns, count, program.graph.source)
                batch_loss = float(np.sum(node_values[output]) / count) \
                    if np.ndim(node_values[output]) else float(node_values[output])
                grads = gradient_rows(nodes, node_values, output, wrt)
                total += batch_loss * count
                for name, grad in zip(params, grads, strict=True):
                    mean = float(np.sum(grad) / count) if np.ndim(grad) else float(grad)
                    gradient_sum[name] += mean * count
                    velocity[name] = momentum * velocity[name] + mean
                    values[name] -= lr * velocity[name]
        except MathError as error:
            _diverged(trajectory, epoch, error.message, lr, "epoch")
            break
        epoch_loss = total / rows
        norm = math.sqrt(sum((g / rows) ** 2 for g in gradient_sum.values()))
        if not math.isfinite(epoch_loss) or not all(math.isfinite(v) for v in values.values()):
            _diverged(trajectory, epoch, f"the loss became {epoch_loss}", lr, "epoch")
            break
        trajectory.steps.append(Step(epoch, epoch_loss, dict(values), norm))
        if on_epoch:
            on_epoch(epoch)
        met = _met(until, epoch_loss, previous, norm)
        if met is not None:
            trajectory.stopped = met.quantity
            trajectory.message = f"stopped at epoch {epoch}: {met}"
            break
        previous = epoch_loss
    else:
        trajectory.stopped, trajectory.message = "epochs", f"stopped after {epochs} epochs"
    trajectory.final = dict(values)
    if not trajectory.diverged:
        trajectory.final_loss = mean_loss(nodes, output, data, rows, values)
    return trajectory


def mean_loss(nodes: Sequence[Node], output: int, data: Mapping[str, Any], rows: int,
              params: Mapping[str, float]) -> float:
    """The loss averaged over every row, at `params`."""
    import numpy as np

    from .vector import evaluate_rows

    values = evaluate_rows(nodes, {**data, **params}, rows)
    result = values[output]
    return float(np.mean(result)) if np.ndim(result) else float(result)


def _check_columns(program: Program, data: Mapping[str, Any], params: Iterable[str],
                   target: str | None) -> None:
    params = set(params)
    for name in params:
        if name not in program.inputs:
            raise ValueInputError(f"the parameter {name} is not an input of the program",
                                  hint="inputs: " + ", ".join(program.inputs))
    missing = [n for n in program.inputs if n not in params and n not in data]
    if target and target not in data:
        missing.append(target)
    if missing:
        raise ValueInputError(f"the data has no column for {', '.join(missing)}",
                              hint="columns: " + ", ".join(data) + "; parameters come from "
                              "--params")


def parse_params(items: Sequence[str]) -> dict[str, float | None]:
    """`w=0,b=0.5` or `w,b` (from one or more --params) → names and start values."""
    from .api import parse_value

    found: dict[str, float | None] = {}
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            name, has_value, value = part.partition("=")
            name = name.strip()
            if not name.isidentifier():
                raise ValueInputError(f"--params: {name!r} is not a name")
            found[name] = parse_value(name, value) if has_value else None
    return found
