"""Benchmark: `exprgraph plan` at growing sizes, to show that it takes linear time.

    python benchmarks/plan.py [--sizes 10000,30000,100000] [--no-cli]

Three generated programs, each at about 10,000, 30,000 and 100,000 nodes:

1. a deep network: `tanh(w*tanh(w*...x... + b) + b)` nested (a chain: one
   long critical path, every tanh a residual, checkpointing pays);
2. a wide sum of terms `(x_i + y_j)*(2*3)*w_k*1` over a few hundred inputs
   (the same x_i + y_j written again and again: merges; 2*3 folded; *1
   simplified; the levels are wide);
3. a random DAG of statements, each using earlier ones (sharing, dead
   statements).

For each: the analysis alone (`tasks.plan.plan` on a compiled program, best of
2) and the command end to end (`python -m exprgraph plan - --format json`,
the program on stdin: start-up, parse, plan, JSON), each as time per node,
with the ratio of the per-node time to the smallest size's. Linear time keeps
the ratio near 1 (a quadratic step would triple it at 3x the size). Prints;
asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import best_of

import exprgraph
from exprgraph.tasks.plan import plan

ROOT = Path(__file__).resolve().parent.parent


def deep_network(nodes: int) -> str:
    """tanh(w*(...) + b) nested: 3 operations a layer."""
    layers = nodes // 3
    return "tanh(w*" * layers + "x" + " + b)" * layers


def wide_sum(nodes: int) -> str:
    """Σ (x_i + y_j)*(2*3)*w_k*1, i, j and k cycling through 97, 89 and 101
    inputs: 5 operations a term until the pairs (x_i, y_j) come round again
    (after 97·89 terms), then 3 (x_i + y_j and its product with 2*3 are merged)."""
    cycle = 97 * 89
    terms = nodes // 5 if nodes // 5 <= cycle else cycle + (nodes - 5 * cycle) // 3
    return " + ".join(f"(x{k % 97} + y{k % 89})*(2*3)*w{k % 101}*1" for k in range(terms))


def random_dag(nodes: int, seed: int = 1) -> str:
    """Statements of about 8 operations each, over earlier statements."""
    rng = random.Random(seed)
    lines = ["s0 = x*y + 1"]
    for k in range(1, nodes // 8):
        a, b, c = (f"s{rng.randrange(k)}" for _ in range(3))
        lines.append(f"s{k} = tanh({a}*w{k % 5} + {b}) - sin({c}*{a})/(1 + exp(-{b}))")
    return "\n".join(lines)


PROGRAMS: dict[str, Callable[[int], str]] = {
    "deep network": deep_network, "wide sum": wide_sum, "random DAG": random_dag}


def analysis_seconds(text: str) -> tuple[int, float, float]:
    """Nodes, seconds to compile, seconds to plan (best of 2)."""
    start = time.perf_counter()
    program = exprgraph.compile(text)
    compiled = time.perf_counter() - start
    seconds = best_of(2, lambda: plan(program), warm_up=False)
    return len(program.graph.nodes), compiled, seconds


def command_seconds(text: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "exprgraph", "plan", "-", "--format", "json"],
                          input=text, capture_output=True, text=True, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"exprgraph plan failed: {done.stderr[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--no-cli", action="store_true", help="the analysis only")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    print(f"{'program':<14}{'nodes':>9}{'compile':>9}{'plan':>8}{'µs/node':>9}{'ratio':>7}"
          + ("" if options.no_cli else f"{'command':>9}{'µs/node':>9}{'ratio':>7}"))
    for name, make in PROGRAMS.items():
        first_plan = first_command = 0.0
        for size in sizes:
            text = make(size)
            nodes, compiled, seconds = analysis_seconds(text)
            per_node = seconds / nodes * 1e6
            first_plan = first_plan or per_node
            line = (f"{name:<14}{nodes:>9,}{compiled:>8.2f}s{seconds:>7.2f}s{per_node:>9.1f}"
                    f"{per_node / first_plan:>7.2f}")
            if not options.no_cli:
                command = command_seconds(text) / nodes * 1e6
                first_command = first_command or command
                line += f"{command * nodes / 1e6:>8.2f}s{command:>9.1f}" \
                        f"{command / first_command:>7.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
