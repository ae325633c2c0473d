"""Benchmark: wide and deep inputs whose output grows linearly, timed at growing n.

    python benchmarks/wide.py [--sizes 1000,2000,4000,8000]

For each n, the time (in-process, through the CLI's own code path with
Typer's CliRunner, output discarded) of:

1. `diff --gradient --format text` of x1 + x2 + ... + xn (n partials);
2. `diff --hessian --format json` of the same sum (n/10 variables: an
   (n/10)² matrix, all zeros, printed sparse);
3. `diff --jacobian --format text` of n/10 outputs y_i = (i % 7 + 1)*x_i
   (a diagonal Jacobian, printed sparse);
4. `eval --steps --format json` of (1+(1+(...x))) nested n deep.

Each row shows seconds and the ratio to the previous size: with n doubling,
a ratio near 2 is linear, near 4 quadratic. This is a benchmark, not a test:
it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from typer.testing import CliRunner

from exprgraph.cli import app

RUNNER = CliRunner()


def _run(args: list[str]) -> None:
    done = RUNNER.invoke(app, args)
    if done.exit_code != 0:
        raise SystemExit(f"exprgraph {' '.join(args)[:60]}... failed:\n{done.output[-500:]}")


def _sum(n: int) -> str:
    return " + ".join(f"x{i}" for i in range(1, n + 1))


CASES: dict[str, Callable[[int], list[str]]] = {
    "diff --gradient, n-term sum": lambda n: ["diff", _sum(n), "--gradient", "--format", "text"],
    "diff --hessian, n/10-term sum": lambda n: ["diff", _sum(n // 10), "--hessian",
                                                "--format", "json"],
    "diff --jacobian, n/10 outputs": lambda n: [
        "diff", "; ".join(f"y{i} = {i % 7 + 1}*x{i}" for i in range(1, n // 10 + 1)),
        "--jacobian", "--format", "text"],
    "eval --steps json, n deep": lambda n: ["eval", "(1+" * n + "x" + ")" * n, "--x", "1",
                                            "--steps", "--format", "json"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,4000,8000",
                        help="comma-separated n (default: 1000,2000,4000,8000)")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    _run(["eval", "x", "--x", "1"])  # warm the parser tables
    print(f"{'case':32} " + " ".join(f"{f'n={n}':>16}" for n in sizes))
    for label, make in CASES.items():
        cells, previous = [], None
        for n in sizes:
            args = make(n)
            start = time.perf_counter()
            _run(args)
            seconds = time.perf_counter() - start
            ratio = f" (×{seconds / previous:.1f})" if previous else ""
            cells.append(f"{seconds:.2f}s{ratio}")
            previous = seconds
        print(f"{label:32} " + " ".join(f"{c:>16}" for c in cells), flush=True)
    print("ratios are to the previous size: ×2 per doubling is linear, ×4 quadratic")


if __name__ == "__main__":
    main()
