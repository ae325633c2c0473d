"""Benchmark: one epoch of `fit` over 100,000 rows of a 20-node model.

    python benchmarks/fit.py [--rows 100000] [--epochs 5]

Times exprgraph's vectorised forward + backward pass and parameter update over
all rows (full batch), and the same loop written with PyTorch where installed
(float64, autograd), and prints the time per epoch of each and the ratio.
Then `--history`: the memory a `descend` trajectory holds after 10,000 and
after 100,000 steps (tracemalloc's peak while training), and their ratio: the
history is bounded (the shown rows and the curve's points), so the ratio
stays near 1 where keeping every step would make it 10.

Asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from timing import best_of

import exprgraph
from exprgraph.tasks.train import fit

# A small neuron-like model with a squared-error loss: 21 operation nodes.
MODEL = "h1 = tanh(w1*x1 + w2*x2 + b1); h2 = sigmoid(w3*x1 - w4*x2 + b2); " \
        "h3 = softplus(w5*x1*x2); p = v1*h1 + v2*h2 + v3*h3 + c; (p - y)^2"
PARAMS = {"w1": 0.1, "w2": -0.2, "b1": 0.0, "w3": 0.3, "w4": 0.1, "b2": 0.0, "w5": 0.2,
          "v1": 0.5, "v2": -0.5, "v3": 0.1, "c": 0.0}


def data(rows: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    return {"x1": x1, "x2": x2, "y": np.sin(x1) + 0.5 * x2}


def time_exprgraph(columns: dict[str, np.ndarray], rows: int, epochs: int) -> float:
    program = exprgraph.compile(MODEL)
    operations = sum(1 for n in program.graph.nodes if n.args)
    per_epoch = best_of(3, lambda: fit(program, columns, rows, PARAMS, 0.05, epochs)) / epochs
    print(f"  exprgraph fit ({operations} operation nodes)   {per_epoch * 1e3:8.2f} ms per epoch")
    return per_epoch


def time_torch(columns: dict[str, np.ndarray], epochs: int) -> float:
    import torch

    tensors = {k: torch.tensor(v, dtype=torch.float64) for k, v in columns.items()}
    def train() -> None:
        p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
             for k, v in PARAMS.items()}
        for _ in range(epochs):
            epoch(p)

    def epoch(p: dict[str, Any]) -> None:
        h1 = torch.tanh(p["w1"] * tensors["x1"] + p["w2"] * tensors["x2"] + p["b1"])
        h2 = torch.sigmoid(p["w3"] * tensors["x1"] - p["w4"] * tensors["x2"] + p["b2"])
        h3 = torch.nn.functional.softplus(p["w5"] * tensors["x1"] * tensors["x2"])
        prediction = p["v1"] * h1 + p["v2"] * h2 + p["v3"] * h3 + p["c"]
        loss = ((prediction - tensors["y"]) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for value in p.values():
                value -= 0.05 * value.grad
                value.grad = None

    per_epoch = best_of(3, train) / epochs
    print(f"  PyTorch, the same loop             {per_epoch * 1e3:8.2f} ms per epoch")
    return per_epoch


def history_memory(steps: int) -> float:
    """Peak traced memory, in MB, of `descend` over `steps` steps (kept rows
    every step: the JSON default)."""
    import tracemalloc

    from exprgraph.tasks.train import descend

    program = exprgraph.compile("(x-3)^2")
    tracemalloc.start()
    try:
        descend(program, {"x": 0.0}, ["x"], 1e-6, steps)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def report_history() -> None:
    small, large = history_memory(10_000), history_memory(100_000)
    print("descend history, peak traced memory:")
    print(f"  10,000 steps   {small:8.2f} MB")
    print(f"  100,000 steps  {large:8.2f} MB")
    print(f"100,000 steps hold {large / small:.2f}x the memory of 10,000 steps")


def main() -> None:
    parser = argparse.ArgumentParser(description="One fit epoch against PyTorch.")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--history", action="store_true",
                        help="measure the memory of a long descend instead")
    args = parser.parse_args()
    if args.history:
        report_history()
        return
    columns = data(args.rows)
    print(f"{args.rows} rows, full batch, float64:")
    ours = time_exprgraph(columns, args.rows, args.epochs)
    if importlib.util.find_spec("torch") is None:
        print("  PyTorch                            not installed")
        return
    theirs = time_torch(columns, args.epochs)
    print(f"exprgraph takes {ours / theirs:.2f}x PyTorch's time per epoch")


if __name__ == "__main__":
    main()
