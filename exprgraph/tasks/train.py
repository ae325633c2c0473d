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
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api import Program
from ..core.errors import MathError, ValueInputError
from ..core.graph import GraphBuilder, Node
from ..core.ops import INPUT, OPS

CRITERIA = ("grad", "change", "loss")
BCE_EPSILON = 1e-12  # predictions are clipped to [ε, 1-ε] before the log
# The rows a trajectory keeps (table, JSON) and the points of its loss curve
# (terminal curve, plot): bounds, whatever the number of steps.
MAX_ROWS = 10_000
CURVE_POINTS = 1_000
# At most about this many numbers in the kept rows: with many parameters, fewer rows.
MAX_ROW_NUMBERS = 2_000_000


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
    quantity, number = match.group(1), match.group(2)
    try:
        threshold = float(number)
    except ValueError:
        raise ValueInputError(f"{number!r} is not a number in {text!r}") from None
    if not math.isfinite(threshold):
        raise ValueInputError(f"{number} in {text!r} is beyond a float, so the stop "
                              "criterion means nothing", hint=HINT_CRITERIA)
    if quantity in NON_NEGATIVE and threshold <= 0:
        what = "a gradient norm" if quantity == "grad" else "a loss change"
        raise ValueInputError(f"the stop criterion {text!r} can never hold: {what} is never "
                              "below 0", hint=HINT_CRITERIA)
    return Criterion(quantity, threshold)


# Quantities of a stop criterion that are never negative (norms, absolute changes).
NON_NEGATIVE = frozenset({"grad", "change"})
HINT_CRITERIA = "write grad<1e-6, change<1e-9 or loss<1e-3"


@dataclass(frozen=True)
class Step:
    """One step (or epoch): the loss and gradient norm at `params`."""

    step: int
    loss: float
    params: dict[str, float]
    grad_norm: float


@dataclass
class Trajectory:
    """What training did: the kept steps, the loss curve, where it ended and why
    it stopped.

    `steps` holds every `every`-th step and always the last one; `every`
    starts at the value asked for and doubles whenever more than `max_rows`
    rows would be kept. `curve` holds (step, loss) pairs the same way, at most
    about `CURVE_POINTS`, the first and the last always among them."""

    params: tuple[str, ...]
    steps: list[Step] = field(default_factory=list)
    final: dict[str, float] = field(default_factory=dict)
    final_loss: float | None = None
    stopped: str = "steps"  # steps, epochs, grad, change, loss, diverged or interrupted
    message: str = ""
    every: int = 1
    max_rows: int = MAX_ROWS
    curve: list[tuple[int, float]] = field(default_factory=list)
    curve_every: int = 1
    # Whether the last kept row (or curve point) is off the spacing: the next
    # step replaces it, so only the last step is kept off the spacing.
    _row_tail: bool = field(default=False, repr=False)
    _curve_tail: bool = field(default=False, repr=False)

    @property
    def diverged(self) -> bool:
        """Whether training stopped because the loss stopped being finite."""
        return self.stopped == "diverged"

    @property
    def interrupted(self) -> bool:
        """Whether training was stopped by Ctrl-C."""
        return self.stopped == "interrupted"

    def record(self, step: Step) -> None:
        """Keep `step` as the last row and curve point; drop the previous last
        one if it is off the spacing, and thin both to their bounds."""
        if self._row_tail:
            self.steps.pop()
        self.steps.append(step)
        if len(self.steps) > self.max_rows:
            self.every *= 2
            self.steps = [s for s in self.steps if not s.step % self.every or s is step]
        self._row_tail = bool(step.step % self.every)
        if self._curve_tail:
            self.curve.pop()
        self.curve.append((step.step, step.loss))
        if len(self.curve) > CURVE_POINTS:
            self.curve_every *= 2
            self.curve = [p for p in self.curve[:-1] if not p[0] % self.curve_every]
            self.curve.append((step.step, step.loss))
        self._curve_tail = bool(step.step % self.curve_every)


def _trajectory(params: Sequence[str], every: int, max_rows: int | None) -> Trajectory:
    """An empty trajectory keeping every `every`-th row, at most `max_rows`
    (default and bound `MAX_ROWS`), with fewer kept when there are many
    parameters (a row holds each one)."""
    rows = min(max_rows or MAX_ROWS, MAX_ROWS, max(16, MAX_ROW_NUMBERS // (len(params) + 3)))
    return Trajectory(tuple(params), every=max(1, every), max_rows=rows)


def _interrupted(trajectory: Trajectory, unit: str) -> None:
    trajectory.stopped = "interrupted"
    reached = trajectory.steps[-1].step if trajectory.steps else 0
    trajectory.message = f"interrupted at {unit} {reached}"


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
                          f"try a smaller learning rate (now {lr:g})")


def _outside_domain(error: MathError, subject: str, hint: str) -> MathError:
    """`error`, raised where training starts, restated ("the start point is
    outside ..."): no learning rate can help when the very first point cannot
    be evaluated."""
    return MathError(f"{subject} outside the program's domain: {error.message}",
                     line=error.line, column=error.column, source_line=error.source_line,
                     hint=hint, **error.details)


START_HINT = "start where the program and its gradient are defined"


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
    trajectory = _trajectory(params, every, max_rows)
    previous: float | None = None
    try:
        for step in range(steps + 1):
            try:
                value, gradient = _value_and_gradient(program, point, params)
            except MathError as error:
                if step == 0:
                    raise _outside_domain(error, "the start point is", START_HINT) from None
                _diverged(trajectory, step, error.message, lr, "step")
                break
            norm = math.hypot(*gradient.values())
            if not math.isfinite(norm):
                _diverged(trajectory, step, f"the gradient became {norm}", lr, "step")
                break
            trajectory.record(Step(step, value, {name: point[name] for name in params}, norm))
            met = _met(until, value, previous, norm)
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
                _diverged(trajectory, step + 1, _not_finite(broken), lr, "step")
                break
            if on_step:
                on_step(step + 1)
    except KeyboardInterrupt:
        _interrupted(trajectory, "step")
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


def _not_finite(names: Sequence[str]) -> str:
    """"w stopped being a finite number" (or "w, b stopped being finite numbers")."""
    if len(names) == 1:
        return f"{names[0]} stopped being a finite number"
    return f"{', '.join(names)} stopped being finite numbers"


# --- fitting data ---------------------------------------------------------------


def read_csv(path: str | Path, used: Collection[str] | None = None
             ) -> tuple[dict[str, Any], int]:
    """Columns of a CSV file with a header row, as float arrays, and the row
    count; see `parse_csv` for `used`."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            text = handle.read(MAX_CSV_CHARS + 1)  # never all of /dev/zero
    except OSError as exc:
        raise ValueInputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueInputError(f"{path} is not UTF-8 text") from None
    if len(text) > MAX_CSV_CHARS:
        raise ValueInputError(f"{path} is larger than {MAX_CSV_CHARS // 1_000_000} million "
                              "characters, the limit for fit's data",
                              hint="fit a sample of the rows")
    return parse_csv(text, str(path), used)


def _csv_reason(error: csv.Error) -> str:
    """What is wrong with the CSV text, in our words rather than the csv module's."""
    if "field larger than field limit" in str(error):
        return (f"a cell is longer than {csv.field_size_limit():,} characters, the limit for "
                "one cell (a number is far shorter)")
    return f"not valid CSV ({error})"


# fit holds the data in memory as float arrays (and the text while reading it).
MAX_CSV_CHARS = 200_000_000


def parse_csv(text: str, name: str, used: Collection[str] | None = None
              ) -> tuple[dict[str, Any], int]:
    """Columns of CSV text with a header row, as float arrays, and the row count.

    Blank lines are skipped; a UTF-8 byte order mark is not part of the first
    name. Every cell of a `used` column (default: every column) must be a
    finite number, or the error names the line and the column; another column
    is kept only if all its cells are finite numbers (an ID or a label column
    is simply left out). `name` names the text in errors."""
    import numpy as np

    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header: list[str] | None = None
    cells: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if header is None:
                header = [cell.strip() for cell in row]
                _check_header(header, name, reader.line_num)
                continue
            if len(row) != len(header):
                raise ValueInputError(f"{name}, line {reader.line_num}: {len(row)} values for "
                                      f"{len(header)} columns")
            cells.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise ValueInputError(f"{name}, line {reader.line_num}: {_csv_reason(exc)}") from None
    if header is None or not cells:
        raise ValueInputError(f"{name} needs a header row and at least one row of data")
    columns: dict[str, Any] = {}
    for k, column in enumerate(header):
        if not column:
            continue  # a column without a name cannot be used
        strict = used is None or column in used
        values = _numbers([row[k] for row in cells], lines, name, column, strict)
        if values is not None:
            columns[column] = np.asarray(values)
    return columns, len(cells)


def _check_header(header: list[str], name: str, line: int) -> None:
    seen: set[str] = set()
    for column in header:
        if column and column in seen:
            raise ValueInputError(f"{name}, line {line}: column {column} appears twice in "
                                  "the header", hint="give each column its own name")
        seen.add(column)


_CSV_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|nan)",
                         re.IGNORECASE)  # inf/nan pass here to be refused as not finite


def _numbers(texts: list[str], lines: list[int], name: str, column: str,
             strict: bool) -> list[float] | None:
    """The cells of a column as finite floats; None (not `strict`) or an error
    naming the line (`strict`) where one is not."""
    values: list[float] = []
    for text, line in zip(texts, lines, strict=True):
        cell = text.strip()
        try:
            # float() also takes 1_0 (as 10) and non-ASCII digits: a CSV number
            # is plain ASCII digits, point, exponent.
            value = float(cell) if cell and _CSV_NUMBER.fullmatch(cell) else None
        except ValueError:
            value = None
        if value is not None and math.isfinite(value):
            values.append(value)
            continue
        if not strict:
            return None
        where = f"{name}, line {line}: "
        if not cell:
            raise ValueInputError(where + f"column {column} is empty", variable=column)
        if value is None:
            raise ValueInputError(where + f"{cell!r} in column {column} is not a number",
                                  variable=column)
        raise ValueInputError(where + f"{cell!r} in column {column} is not a finite number",
                              variable=column)
    return values


def loss_nodes(program: Program, kind: str | None, target: str | None
               ) -> tuple[list[Node], int]:
    """The node list to minimise: the program's, or a loss of its output
    against the column `target` (mse: (p - t)^2; bce: cross-entropy with p
    clipped to [ε, 1-ε])."""
    graph = program.graph
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
    trajectory = _trajectory(list(params), every, max_rows)

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
                        raise _outside_domain(error, _at("the start parameters", values) + " are",
                                              START_HINT + " for every row") from None
                    _diverged(trajectory, epoch, error.message, lr, "epoch")
                    break
                norm = math.hypot(*gradient.values())
                if not (math.isfinite(epoch_loss) and math.isfinite(norm)):
                    what = f"the loss is {epoch_loss}" if not math.isfinite(epoch_loss) else \
                        f"the gradient's norm is {norm}"
                    if epoch == 0:
                        raise MathError(f"{_at('the start parameters', values)} are outside the "
                                        f"program's domain: {what} there", hint=START_HINT)
                    _diverged(trajectory, epoch, what.replace(" is ", " became "), lr, "epoch")
                    break
                trajectory.record(Step(epoch, epoch_loss, dict(values), norm))
                if on_epoch and epoch:
                    on_epoch(epoch)
                met = _met(until, epoch_loss, previous, norm)
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
                        _diverged(trajectory, epoch + 1, _not_finite(broken), lr, "epoch")
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
                    _diverged(trajectory, epoch + 1, data_row_error(error), lr, "epoch")
                    break
                if broken:
                    _diverged(trajectory, epoch + 1, _not_finite(broken), lr, "epoch")
                    break
    except KeyboardInterrupt:
        _interrupted(trajectory, "epoch")
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
