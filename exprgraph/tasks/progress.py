"""The optimiser's shared parts: stop criteria, steps, and the bounded trajectory.

`descend` and `fit` (`train.py`) both run `p ← p − lr·v` with
`v ← momentum·v + ∂loss/∂p` and record each step (or epoch) here: a
`Trajectory` keeps the rows that are shown and the loss curve within fixed
bounds (see `Trajectory`), and the stop criteria (`Criterion`: `grad<T`,
`change<T`, `loss<T`), divergence and Ctrl-C end it with a message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import MathError, ValueInputError

CRITERIA = ("grad", "change", "loss")
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
    # The parameters that are vectors or matrices: a step keeps their norm
    # (‖W‖), the end their whole value (`final`).
    tensors: tuple[str, ...] = ()
    final: dict[str, Any] = field(default_factory=dict)
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


def new_trajectory(params: Sequence[str], every: int, max_rows: int | None) -> Trajectory:
    """An empty trajectory keeping every `every`-th row, at most `max_rows`
    (default and bound `MAX_ROWS`), with fewer kept when there are many
    parameters (a row holds each one)."""
    rows = min(max_rows or MAX_ROWS, MAX_ROWS, max(16, MAX_ROW_NUMBERS // (len(params) + 3)))
    return Trajectory(tuple(params), every=max(1, every), max_rows=rows)


def mark_interrupted(trajectory: Trajectory, unit: str) -> None:
    """Mark the trajectory stopped by Ctrl-C at its last kept step (or epoch)."""
    trajectory.stopped = "interrupted"
    reached = trajectory.steps[-1].step if trajectory.steps else 0
    trajectory.message = f"interrupted at {unit} {reached}"


def criterion_met(criteria: Sequence[Criterion], loss: float, previous: float | None,
                  grad_norm: float) -> Criterion | None:
    """The first criterion that holds for this step, or None."""
    for criterion in criteria:
        value = {"grad": grad_norm, "loss": loss,
                 "change": abs(loss - previous) if previous is not None else math.inf}
        if value[criterion.quantity] < criterion.threshold:
            return criterion
    return None


def mark_diverged(trajectory: Trajectory, step: int, what: str, lr: float, unit: str) -> None:
    """Mark the trajectory diverged at `step`, saying `what` and suggesting a smaller rate."""
    trajectory.stopped = "diverged"
    trajectory.message = (f"training diverged at {unit} {step}: {what}; "
                          f"try a smaller learning rate (now {lr:g})")


def outside_domain(error: MathError, subject: str, hint: str) -> MathError:
    """`error`, raised where training starts, restated ("the start point is
    outside ..."): no learning rate can help when the very first point cannot
    be evaluated."""
    return MathError(f"{subject} outside the program's domain: {error.message}",
                     line=error.line, column=error.column, source_line=error.source_line,
                     hint=hint, **error.details)


START_HINT = "start where the program and its gradient are defined"


def not_finite_text(names: Sequence[str]) -> str:
    """"w stopped being a finite number" (or "w, b stopped being finite numbers")."""
    if len(names) == 1:
        return f"{names[0]} stopped being a finite number"
    return f"{', '.join(names)} stopped being finite numbers"
