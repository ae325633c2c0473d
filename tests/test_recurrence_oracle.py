"""PyTorch as the oracle for backprop through time (a test-only dependency).

The same recurrences as tests/test_recurrence.py, written as a Python loop in
float64 torch.autograd: the unrolled program's value and gradients must
match. Skipped where the `oracle` extra (PyTorch) is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exprgraph

torch = pytest.importorskip(
    "torch", reason="PyTorch is the tensor oracle extra: pip install -e '.[oracle]'")

finite = st.floats(-1.5, 1.5, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(xs=st.lists(finite, min_size=1, max_size=6), w=finite, u=finite, y=finite)
def test_the_scalar_recurrence_matches_torch(xs: list[float], w: float, u: float,
                                             y: float) -> None:
    steps = len(xs)
    program = exprgraph.compile(
        f"h[0] = 0\nfor t = 1..{steps}: h[t] = tanh(w*h[t-1] + u*x[t-1])\n"
        f"L = (h[{steps}] - y)^2")
    ours = program.evaluate({"w": w, "u": u, "y": y, "x": np.array(xs)})
    tw, tu, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (w, u, y))
    tx = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    h = torch.tensor(0.0, dtype=torch.float64)
    for t in range(1, steps + 1):
        h = torch.tanh(tw * h + tu * tx[t - 1])
    loss = (h - ty) ** 2
    loss.backward()
    assert ours.value == pytest.approx(loss.item(), rel=1e-12, abs=1e-15)
    for name, tensor in (("w", tw), ("u", tu), ("y", ty)):
        assert ours.gradient[name] == pytest.approx(tensor.grad.item(), rel=1e-9, abs=1e-14)
    assert np.allclose(ours.gradient["x"], tx.grad.numpy(), rtol=1e-9, atol=1e-14)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), steps=st.integers(1, 5), size=st.integers(1, 4),
       features=st.integers(1, 3))
def test_a_vector_state_recurrence_matches_torch(seed: int, steps: int, size: int,
                                                 features: int) -> None:
    rng = np.random.default_rng(seed)
    values = {"W": rng.normal(size=(size, size)) * 0.7, "U": rng.normal(size=(size, features)),
              "X": rng.normal(size=(steps, features)), "h0": rng.normal(size=size),
              "v": rng.normal(size=size)}
    program = exprgraph.compile(
        f"h[0] = h0\nfor t = 1..{steps}: h[t] = tanh(W @ h[t-1] + U @ X[t-1])\n"
        f"L = sum((h[{steps}] - v)^2) + sum(h[1]*v)")
    ours = program.evaluate(values)
    leaves = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
              for name, value in values.items()}
    h = [leaves["h0"]]
    for t in range(1, steps + 1):
        h.append(torch.tanh(leaves["W"] @ h[-1] + leaves["U"] @ leaves["X"][t - 1]))
    loss = ((h[steps] - leaves["v"]) ** 2).sum() + (h[1] * leaves["v"]).sum()
    loss.backward()
    assert ours.value == pytest.approx(loss.item(), rel=1e-11)
    for name, leaf in leaves.items():
        assert np.allclose(ours.gradient[name], leaf.grad.numpy(), rtol=1e-9, atol=1e-12), name
