"""Benchmark: start-up cost, and value + gradient at growing sizes.

    python benchmarks/scale.py

1. One-shot start-up: `exprgraph eval "(x+y)*z" --x 1 --y 3 --z -3` against
   `python -c "import typer, rich, lark"` (median of 5 runs each).
2. Value + gradient (parse, forward pass, reverse pass) of a sum of N terms
   and of `sin(` nested N deep, for N = 10,000, 30,000 and 100,000: time per
   node and peak memory per node (tracemalloc), so linearity is visible.
Asserts nothing.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import exprgraph


def median_seconds(command: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup() -> None:
    exe = str(Path(sys.executable).with_name("exprgraph"))
    imports = median_seconds([sys.executable, "-c", "import typer, rich, lark"])
    median_seconds([exe, "eval", "x", "--x", "1"], runs=1)  # fill the grammar cache
    ours = median_seconds([exe, "eval", "(x+y)*z", "--x", "1", "--y", "3", "--z", "-3"])
    print(f"start-up: import typer + rich + lark {imports * 1e3:.0f} ms; exprgraph eval "
          f"{ours * 1e3:.0f} ms ({ours / imports:.1f}x)")


def value_and_gradient(text: str) -> int:
    program = exprgraph.compile(text)
    program.evaluate(x=0.5).gradient  # noqa: B018 - the reverse pass is the point
    return len(program.graph.nodes)


def measure(text: str) -> tuple[int, float, float]:
    """Nodes, seconds (an untraced run) and peak bytes (a traced one)."""
    start = time.perf_counter()
    nodes = value_and_gradient(text)
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    value_and_gradient(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return nodes, elapsed, peak


def sizes() -> None:
    print(f"{'program':<22}{'N':>9}{'nodes':>9}{'chars':>10}{'time':>9}"
          f"{'µs/node':>9}{'peak MB':>9}{'B/node':>8}")
    for kind, make in (("sum of N terms", lambda n: " + ".join(f"{k % 9 + 1}*x"
                                                                  for k in range(n))),
                       ("sin( nested N deep", lambda n: "sin(" * n + "x" + ")" * n)):
        for n in (10_000, 30_000, 100_000):
            text = make(n)
            nodes, elapsed, peak = measure(text)
            print(f"{kind:<22}{n:>9,}{nodes:>9,}{len(text):>10,}{elapsed:>8.2f}s"
                  f"{elapsed / nodes * 1e6:>9.1f}{peak / 2**20:>9.1f}{peak / nodes:>8.0f}")


if __name__ == "__main__":
    startup()
    sizes()
