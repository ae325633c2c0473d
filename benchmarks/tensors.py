"""Benchmark: tensor value + gradient against PyTorch eager and NumPy by hand,
and the per-node overhead of a scalar graph against an older checkout.

    python benchmarks/tensors.py [--repeats 20] [--seed 0] [--exprgraph auto|api|passes]
                                 [--threads N] [--profile] [--only network|scalar]
                                 [--nodes 1000] [--rounds 3] [--baseline PATH]

1. A 784-256-10 two-layer network with softmax cross-entropy on a batch of 64
   rows (X 64×784, one-hot labels Y 64×10), value and gradient with respect to
   W1, b1, W2, b2, computed three ways in one run: exprgraph, PyTorch eager on
   the CPU (float64, the same arithmetic as ours; float32 beside it for
   reference) and NumPy written by hand. First a check that the three agree
   to 1e-8 (relative to the largest entry of each result), then the median
   time of a step (after warm-up) and the ratios. The issue's goal: exprgraph
   within 1.5× of PyTorch eager. exprgraph differentiates every input, X, Y
   and O too (it has no way to mark an input as data), so a PyTorch run with
   every input requiring a gradient is shown as well: the same work.
2. Per-node overhead of value + gradient of a 1,000-node scalar graph
   (`exprgraph.compile(text).evaluate(point)`, a chain of tanh, * and +), in a
   fresh interpreter for this checkout; with `--baseline PATH` (a checkout,
   e.g. `git archive 6021d8f | tar -x -C /tmp/eg_base`) the same code runs
   there too, alternating, and the ratio is printed.

`--exprgraph` picks how exprgraph is called: `api` is the public API
(`exprgraph.compile(text).evaluate({...})`), `passes` the tensor passes on
the parsed graph (`passes.tensor`), `auto` (the default) the API where it
takes tensor values, else the passes. `--profile` prints where an exprgraph
step spends its time. `--threads N` runs NumPy's BLAS and PyTorch on N
threads (the script restarts itself with OPENBLAS_NUM_THREADS, OMP_NUM_THREADS
and MKL_NUM_THREADS set, which must be set before NumPy loads): on a machine
with other work running, BLAS threads that wait for a busy core make every
timing noisy, and one thread each is the fairer comparison. Prints numbers;
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import exprgraph
from exprgraph.passes.shapes import infer_shapes
from exprgraph.passes.tensor import (
    edge_contribution,
    evaluate_tensors,
    gradient_tensors,
    tensor,
)
from exprgraph.syntax.parse import parse_program

ROOT = Path(__file__).resolve().parent.parent
BATCH, INPUTS, HIDDEN, CLASSES = 64, 784, 256, 10
PARAMS = ("W1", "b1", "W2", "b2")

# Softmax in exprgraph is of one vector, and logsumexp of a matrix is over all
# of it: neither works row by row. The mean cross-entropy over the rows is
# (Σ_rows log Σ_classes exp(Z) − Σ Y⊙Z)/64 for one-hot Y, and the sum over
# classes is `exp(Z) @ O` with O a vector of ones given as an input. Without
# the max-shift of a row-wise log-softmax, exp(Z) would overflow for a large Z;
# with these small weights Z stays near 0. PyTorch and NumPy compute this same
# formula, so the three do the same arithmetic.
PROGRAM = (
    f"X: matrix({BATCH}, {INPUTS}); Y: matrix({BATCH}, {CLASSES}); "
    f"W1: matrix({INPUTS}, {HIDDEN}); b1: vector({HIDDEN}); "
    f"W2: matrix({HIDDEN}, {CLASSES}); b2: vector({CLASSES}); O: vector({CLASSES}); "
    "H = tanh(X @ W1 + b1); Z = H @ W2 + b2; "
    f"L = (sum(log(exp(Z) @ O)) - sum(Y * Z)) / {BATCH}"
)

Values = dict[str, np.ndarray]
Result = tuple[float, Values]  # the loss and its gradient with respect to PARAMS
Step = Callable[[Values], Result]


def network_values(seed: int) -> Values:
    """A batch (pixels in [0, 1), random one-hot labels) and initial weights."""
    rng = np.random.default_rng(seed)
    return {
        "X": rng.random((BATCH, INPUTS)),
        "Y": np.eye(CLASSES)[rng.integers(0, CLASSES, BATCH)],
        "W1": rng.standard_normal((INPUTS, HIDDEN)) / np.sqrt(INPUTS),
        "b1": rng.standard_normal(HIDDEN) * 0.1,
        "W2": rng.standard_normal((HIDDEN, CLASSES)) / np.sqrt(HIDDEN),
        "b2": rng.standard_normal(CLASSES) * 0.1,
        "O": np.ones(CLASSES),
    }


# --- exprgraph: two ways to call it; `--exprgraph` (or EXPRGRAPH_PATH) picks one --

EXPRGRAPH_PATH = "auto"  # the API where it takes arrays, else the passes


def exprgraph_via_api(text: str) -> Step:
    """The public API: compile once, evaluate per step, with the backward pass
    for the parameters only (`evaluate_wrt`, as training calls it; PyTorch's
    `requires_grad` on the parameters is the same choice)."""
    program = exprgraph.compile(text)

    def step(values: Values) -> Result:
        result = program.evaluate_wrt(values, PARAMS)
        return float(result.value), {n: np.asarray(result.gradient[n]) for n in PARAMS}

    return step


def exprgraph_via_passes(text: str) -> Step:
    """The tensor passes on the parsed graph (what the API wraps): the
    shape pass once, then per step the forward values and one reverse sweep."""
    graph = parse_program(text)
    infer_shapes(graph.nodes, graph.declarations, text)  # as compile checks shapes
    declared, names = graph.declarations, graph.names

    def step(values: Values) -> Result:
        node_values = evaluate_tensors(
            graph.nodes, {name: tensor(v, declared[name]) for name, v in values.items()})
        adjoints = gradient_tensors(graph.nodes, node_values, graph.output)
        return float(node_values[graph.output].data), {
            n: np.asarray(adjoints[names[n]].data) for n in PARAMS}

    return step


def exprgraph_step(text: str, path: str, values: Values) -> tuple[str, Step]:
    """The step for `path`; "auto" tries the API on `values` and falls back to
    the passes where the API does not take them yet (saying why)."""
    if path == "passes":
        return "tensor passes (exprgraph.passes.tensor)", exprgraph_via_passes(text)
    try:
        step = exprgraph_via_api(text)
        step(values)
    except exprgraph.ExprGraphError as error:
        if path == "api":
            raise
        return (f"tensor passes (exprgraph.passes.tensor); the API said: {error.message}",
                exprgraph_via_passes(text))
    return "public API (exprgraph.compile(...).evaluate_wrt)", step


# --- the peers -----------------------------------------------------------------


def numpy_step(values: Values) -> Result:
    """The same network and loss, forward and backward written out by hand."""
    x, y, w1, b1, w2, b2, ones = (values[n] for n in ("X", "Y", "W1", "b1", "W2", "b2", "O"))
    h = np.tanh(x @ w1 + b1)
    z = h @ w2 + b2
    e = np.exp(z)
    s = e @ ones
    loss = (np.sum(np.log(s)) - np.sum(y * z)) / BATCH
    dz = np.outer(1.0 / (BATCH * s), ones) * e - y / BATCH
    da = (dz @ w2.T) * (1.0 - h * h)
    return float(loss), {"W1": x.T @ da, "b1": da.sum(axis=0), "W2": h.T @ dz,
                         "b2": dz.sum(axis=0)}


def torch_step(values: Values, dtype: Any, every_input: bool = False) -> Step:
    """PyTorch eager: the same formula, `backward()`; gradients of the
    parameters only (a training step), or of every input (as exprgraph)."""
    import torch

    tensors = {n: torch.from_numpy(v).to(dtype) for n, v in values.items()}
    wanted = tuple(tensors) if every_input else PARAMS
    for name in wanted:
        tensors[name].requires_grad_(True)
    x, y, w1, b1, w2, b2, ones = (tensors[n] for n in ("X", "Y", "W1", "b1", "W2", "b2", "O"))

    def step(_: Values) -> Result:
        for name in wanted:
            tensors[name].grad = None
        h = torch.tanh(x @ w1 + b1)
        z = h @ w2 + b2
        loss = (torch.sum(torch.log(torch.exp(z) @ ones)) - torch.sum(y * z)) / BATCH
        loss.backward()
        return loss.item(), {n: tensors[n].grad.double().numpy() for n in PARAMS}

    return step


def torch_version() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return str(torch.__version__)


# --- measuring -----------------------------------------------------------------


def median_ms(steps: dict[str, Step], values: Values, repeats: int, warm_up: int = 3
              ) -> dict[str, float]:
    """Each step's median time in ms over `repeats` rounds, after `warm_up`
    untimed calls; a round times each step once, in turn, so that other work
    on the machine slows them alike."""
    for step in steps.values():
        for _ in range(warm_up):
            step(values)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step(values)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(found) * 1e3 for name, found in times.items()}


def difference(result: Result, reference: Result) -> float:
    """The largest difference of the loss and of each gradient, relative to
    the reference's loss and to the largest entry of its gradient."""
    worst = abs(result[0] - reference[0]) / max(abs(reference[0]), 1e-300)
    for name in PARAMS:
        ours, theirs = result[1][name], reference[1][name]
        scale = max(float(np.max(np.abs(theirs))), 1e-300)
        worst = max(worst, float(np.max(np.abs(ours - theirs))) / scale)
    return worst


def network(args: argparse.Namespace) -> None:
    values = network_values(args.seed)
    how, ours = exprgraph_step(PROGRAM, args.exprgraph, values)
    print(f"1. {INPUTS}-{HIDDEN}-{CLASSES} network, softmax cross-entropy, batch of {BATCH}: "
          "value + gradient of W1, b1, W2, b2")
    print(f"   exprgraph through the {how}")
    steps: dict[str, Step] = {"exprgraph": ours, "NumPy by hand": numpy_step}
    version = torch_version()
    if version is None:
        print("   PyTorch not installed: pip install torch==2.13.0 (CPU wheel on this machine)")
    else:
        import torch

        steps["PyTorch eager, float64"] = torch_step(values, torch.float64)
        steps["PyTorch eager, float64, every input"] = torch_step(values, torch.float64, True)
        steps["PyTorch eager, float32"] = torch_step(values, torch.float32)
        if args.threads:
            torch.set_num_threads(args.threads)
        threads = torch.get_num_threads()
        print(f"   PyTorch {version}, {threads} thread{'s' if threads > 1 else ''}")

    reference = numpy_step(values)
    print(f"   check against NumPy by hand (loss {reference[0]:.12g}); largest relative "
          "difference of the loss and the gradients:")
    for name, step in steps.items():
        if name == "NumPy by hand":
            continue
        found = difference(step(values), reference)
        verdict = ("agrees to 1e-8" if found <= 1e-8 else "DIFFERS beyond 1e-8") \
            if "float32" not in name else "float32: not held to 1e-8"
        print(f"     {name:<38}{found:10.1e}  {verdict}")

    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    print(f"   median time per step over {args.repeats} rounds, after warm-up "
          f"({cores} cores, load average {load:.1f}; BLAS threads: {blas}):")
    if blas == "default" and load >= cores / 2:
        print("   (a busy machine: BLAS threads waiting for a busy core can make every step "
              "many times slower; --threads 1 gives steadier numbers)")
    times = median_ms(steps, values, args.repeats)
    for name, ms in times.items():
        ratio = "" if name == "exprgraph" else \
            f"   exprgraph / this = {times['exprgraph'] / ms:5.2f}"
        print(f"     {name:<38}{ms:9.3f} ms{ratio}")
    if "PyTorch eager, float64" in times:
        ratio = times["exprgraph"] / times["PyTorch eager, float64"]
        print(f"   goal: exprgraph within 1.5x of PyTorch eager (float64): {ratio:.2f}x")
    if args.profile:
        profile(values, args.repeats)


def profile(values: Values, repeats: int) -> None:
    """Where an exprgraph step's time goes, through the tensor passes: the
    forward pass, the reverse sweep, and the sweep's costliest edges (each
    a vector–Jacobian product, timed alone)."""
    graph = parse_program(PROGRAM)
    infer_shapes(graph.nodes, graph.declarations, PROGRAM)
    nodes = graph.nodes
    tensors = {name: tensor(v, graph.declarations[name]) for name, v in values.items()}
    computed = evaluate_tensors(nodes, tensors)
    adjoints = gradient_tensors(nodes, computed, graph.output)
    jobs: dict[str, Step] = {
        "forward pass (evaluate_tensors)": lambda _: evaluate_tensors(nodes, tensors),
        "reverse sweep (gradient_tensors)": lambda _: gradient_tensors(nodes, computed,
                                                                        graph.output)}
    for index in sorted(adjoints, reverse=True):
        for position, arg in enumerate(nodes[index].args):
            if nodes[arg].varying:
                label = f"  edge {nodes[index].name or index} -> {nodes[arg].name or arg}"
                jobs[f"{label} ({nodes[index].op.name})"] = (
                    lambda _, i=index, p=position: edge_contribution(nodes, computed, i, p,
                                                                     adjoints[i]))
    times = median_ms(jobs, values, repeats)
    names = list(times)
    sweep = times[names[1]]
    print("   where exprgraph's step goes (tensor passes, each part timed alone):")
    for name in names[:2]:
        print(f"     {name:<40}{times[name]:9.3f} ms")
    for name in sorted(names[2:], key=times.__getitem__, reverse=True)[:5]:
        print(f"     {name:<40}{times[name]:9.3f} ms  {times[name] / sweep:4.0%} of the sweep")


# --- part 2: per-node overhead of a scalar graph, in a fresh interpreter --------

# Runs in a child with PYTHONPATH set to the checkout measured: the program on
# stdin, the repeat count in argv; prints one JSON line.
NODE_CHILD = """
import json, statistics, sys, time
import exprgraph
text, repeats = sys.stdin.read(), int(sys.argv[1])
point = {"x": 0.5, "y": 0.9}

def timed(job):
    job()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)

program = exprgraph.compile(text)
print(json.dumps({
    "file": exprgraph.__file__,
    "nodes": len(program.graph.nodes),
    "evaluate": timed(lambda: program.evaluate(point).gradient),
    "compile_evaluate": timed(lambda: exprgraph.compile(text).evaluate(point).gradient),
}))
"""


def chain_program(nodes: int) -> str:
    """`v1 = tanh(x)*y + x; v2 = tanh(v1)*y + x; ...`: 3 nodes a statement, plus x and y."""
    statements = ["v1 = tanh(x)*y + x"]
    statements += [f"v{k} = tanh(v{k - 1})*y + x" for k in range(2, (nodes - 2) // 3 + 1)]
    return "; ".join(statements)


def node_overhead(checkout: Path, text: str, repeats: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    # cwd=checkout: `python -c` puts the working directory first on sys.path.
    done = subprocess.run([sys.executable, "-c", NODE_CHILD, str(repeats)], input=text,
                          capture_output=True, text=True, env=env, cwd=checkout, check=True)
    return json.loads(done.stdout)


def scalar_graph(args: argparse.Namespace) -> None:
    text = chain_program(args.nodes)
    checkouts = {"this checkout": ROOT}
    if args.baseline:
        checkouts["baseline"] = Path(args.baseline).resolve()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in checkouts}
    for _ in range(args.rounds):  # alternating, so drift hits both alike
        for name, path in checkouts.items():
            runs[name].append(node_overhead(path, text, args.repeats))
    print(f"2. per-node overhead, value + gradient of a scalar chain (tanh, *, +), "
          f"median of {args.repeats} runs, median of {args.rounds} fresh interpreters:")
    found: dict[str, dict[str, float]] = {}
    for name, results in runs.items():
        first = results[0]
        per = {key: statistics.median(r[key] for r in results) / first["nodes"] * 1e6
               for key in ("evaluate", "compile_evaluate")}
        found[name] = per
        print(f"   {name:<14}{first['nodes']:>6} nodes  evaluate {per['evaluate']:6.2f} µs/node"
              f"  compile + evaluate {per['compile_evaluate']:6.2f} µs/node"
              f"  ({Path(first['file']).parent.parent})")
    if "baseline" in found:
        ours, base = found["this checkout"], found["baseline"]
        print(f"   this checkout / baseline: evaluate {ours['evaluate'] / base['evaluate']:.2f}x, "
              f"compile + evaluate {ours['compile_evaluate'] / base['compile_evaluate']:.2f}x "
              "(goal: not above 1)")


THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def use_threads(threads: int) -> None:
    """Restart this script with the BLAS thread count set (NumPy reads it once,
    when it loads), unless it is set already."""
    wanted = str(threads)
    if all(os.environ.get(name) == wanted for name in THREAD_VARIABLES):
        return
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, wanted))
    os.execv(sys.executable, [sys.executable, *sys.argv])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exprgraph", choices=("auto", "api", "passes"), default=EXPRGRAPH_PATH,
                        help="how to call exprgraph (default: %(default)s)")
    parser.add_argument("--threads", type=int,
                        help="BLAS and PyTorch threads (default: their own choice)")
    parser.add_argument("--nodes", type=int, default=1000, help="scalar graph size")
    parser.add_argument("--rounds", type=int, default=3,
                        help="fresh interpreters per checkout for the scalar graph")
    parser.add_argument("--baseline", metavar="PATH",
                        help="an older checkout to compare the scalar graph's overhead with")
    parser.add_argument("--profile", action="store_true",
                        help="where an exprgraph network step spends its time")
    parser.add_argument("--only", choices=("network", "scalar"),
                        help="run one part only")
    args = parser.parse_args()
    if args.threads:
        use_threads(args.threads)
    if args.only != "scalar":
        network(args)
    if args.only != "network":
        scalar_graph(args)


if __name__ == "__main__":
    main()
