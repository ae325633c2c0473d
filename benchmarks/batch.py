"""Benchmark: batch value + gradient, exprgraph against what users would script.

    python benchmarks/batch.py [--count 10000] [--seed 11] [--sympy 200]
    python benchmarks/batch.py --memory [--count 200000]
    python benchmarks/batch.py --limits 100000,300000,1000000

Generates `--count` random programs of about 60 tokens (benchmarks/corpus.py,
seeded), then times value + gradient of each:

- exprgraph in process (`exprgraph.tasks.batch.run`), and `exprgraph batch FILE
  --format jsonl` as a command (start-up included), with 1 and 2 jobs;
- where installed: HIPS autograd (`value_and_grad`), PyTorch (eager,
  `backward()`), JAX (`value_and_grad`, not jitted: one compile per
  expression would cost more), and SymPy (`diff` + `evalf`, on a subset:
  it is slow).

Peers get each expression translated to Python and built with `eval`, the way
a user would script them (here only: exprgraph never evaluates user text).
Prints the time per expression of each and the ratios; asserts nothing.

`--memory` runs `exprgraph batch` over a `--count`-line file as a table and as
JSON lines and prints each one's peak memory (the table keeps only the rows it
shows, so both should stay flat as the file grows). `--limits` runs one long
program (a sum `x1+x2+...` and a product `x1*x2*...`, values in a `where`
clause) of each given length through `eval`, `eval --format json`,
`diff --wrt x1` and `batch`, and prints CPU time and peak memory per character:
what `MAX_PROGRAM_CHARS` (exprgraph/syntax/parse.py) is chosen from.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus

import exprgraph
from exprgraph.tasks.batch import read_problems, run

VARIABLES = ("x", "y", "z")
Case = tuple[str, dict[str, float]]  # python source over x, y, z and the point


def python_source(text: str) -> str:
    """An exprgraph expression of the corpus as Python source (`^` → `**`)."""
    return text.replace("^", "**")


def cases_of(lines: list[str]) -> list[Case]:
    cases = []
    for line in lines:
        text, _, where = line.partition(" where ")
        point = dict.fromkeys(VARIABLES, 1.0)
        for binding in where.split(", ") if where else []:
            name, _, value = binding.partition("=")
            point[name] = float(value)
        cases.append((python_source(text), point))
    return cases


def vector_function(source: str, names: dict[str, Any]) -> Callable[[Any], Any]:
    """f(v) = the expression at x, y, z = v[0], v[1], v[2], built with eval as a
    user scripting a peer would (the benchmark only; exprgraph never evals)."""
    return eval(f"lambda v: (lambda x, y, z: {source})(v[0], v[1], v[2])", names)


def time_exprgraph(path: Path) -> float:
    start = time.perf_counter()
    for result in run(read_problems(path)):
        assert "error" not in result, result
    return time.perf_counter() - start


def time_command(path: Path, jobs: int) -> float:
    command = [sys.executable, "-m", "exprgraph", "batch", str(path), "--format", "jsonl",
               "--jobs", str(jobs)]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def autograd_job() -> Callable[[list[Case]], list[tuple[float, list[float]]]]:
    import autograd.numpy as anp
    from autograd import value_and_grad

    names = {"sin": anp.sin, "cos": anp.cos, "tanh": anp.tanh, "exp": anp.exp, "log": anp.log,
             "sqrt": anp.sqrt, "atan": anp.arctan, "abs": anp.abs,
             "sigmoid": lambda v: 1 / (1 + anp.exp(-v)),
             "softplus": lambda v: anp.logaddexp(0.0, v)}

    def job(cases: list[Case]) -> list[tuple[float, list[float]]]:
        out = []
        for source, point in cases:
            f = vector_function(source, names)
            value, grad = value_and_grad(f)(anp.array([point[n] for n in VARIABLES]))
            out.append((float(value), [float(g) for g in grad]))
        return out

    return job


def torch_job() -> Callable[[list[Case]], list[tuple[float, list[float]]]]:
    import torch

    def tensor_op(op: Callable[..., Any]) -> Callable[..., Any]:
        # cos(0.5): a constant subexpression is a float, which torch won't take.
        return lambda v: op(v if isinstance(v, torch.Tensor)
                            else torch.tensor(v, dtype=torch.float64))

    names = {name: tensor_op(op) for name, op in (
        ("sin", torch.sin), ("cos", torch.cos), ("tanh", torch.tanh), ("exp", torch.exp),
        ("log", torch.log), ("sqrt", torch.sqrt), ("atan", torch.atan), ("abs", torch.abs),
        ("sigmoid", torch.sigmoid), ("softplus", torch.nn.functional.softplus))}

    def job(cases: list[Case]) -> list[tuple[float, list[float]]]:
        out = []
        for source, point in cases:
            f = eval(f"lambda x, y, z: {source}", names)  # benchmark only
            args = [torch.tensor(point[n], dtype=torch.float64, requires_grad=True)
                    for n in VARIABLES]
            value = f(*args)
            if not isinstance(value, torch.Tensor):
                value = torch.tensor(float(value), dtype=torch.float64)
            if value.requires_grad:
                value.backward()
            out.append((float(value), [float(a.grad) if a.grad is not None else 0.0
                                       for a in args]))
        return out

    return job


def jax_job() -> Callable[[list[Case]], list[tuple[float, list[float]]]]:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    names = {"sin": jnp.sin, "cos": jnp.cos, "tanh": jnp.tanh, "exp": jnp.exp, "log": jnp.log,
             "sqrt": jnp.sqrt, "atan": jnp.arctan, "abs": jnp.abs, "sigmoid": jax.nn.sigmoid,
             "softplus": jax.nn.softplus}

    def job(cases: list[Case]) -> list[tuple[float, list[float]]]:
        out = []
        for source, point in cases:
            f = vector_function(source, names)
            value, grad = jax.value_and_grad(f)(jnp.array([point[n] for n in VARIABLES]))
            out.append((float(value), [float(g) for g in grad]))
        return out

    return job


def sympy_job() -> Callable[[list[Case]], list[tuple[float, list[float]]]]:
    import sympy

    symbols = sympy.symbols(VARIABLES, real=True)  # real, so abs has a derivative
    names = {"sigmoid": lambda v: 1 / (1 + sympy.exp(-v)),
             "softplus": lambda v: sympy.log(1 + sympy.exp(v)), "atan": sympy.atan,
             "abs": sympy.Abs, **{s.name: s for s in symbols}}

    def job(cases: list[Case]) -> list[tuple[float, list[float]]]:
        out = []
        for source, point in cases:
            expr = sympy.sympify(source, locals=names)
            subs = {s: point[s.name] for s in symbols}
            out.append((float(expr.evalf(subs=subs)),
                        [float(sympy.diff(expr, s).evalf(subs=subs)) for s in symbols]))
        return out

    return job


PEERS = {"autograd": autograd_job, "torch": torch_job, "jax": jax_job, "sympy": sympy_job}


def check_against(results: list[tuple[float, list[float]]], path: Path) -> str:
    """How peer results differ from exprgraph's (a sanity check), by cause:
    a peer's nan where exprgraph's documented 0·∞ policy gives a number, and
    differences beyond 1e-6 relative to the largest entry (ill-conditioned
    programs round differently)."""
    ours = list(run(read_problems(path)))
    nans = differ = 0
    for theirs, mine in zip(results, ours, strict=False):
        grad = [mine["gradient"].get(n, 0.0) for n in VARIABLES]
        pairs = [(theirs[0], mine["value"]), *zip(theirs[1], grad, strict=True)]
        if any(math.isnan(a) for a, _ in pairs):
            nans += 1
            continue
        scale = max(abs(b) for _, b in pairs)
        differ += any(abs(a - b) > 1e-6 * max(scale, 1e-9) for a, b in pairs)
    return f"{nans} with nan from the peer, {differ} differing beyond 1e-6"


def child_cost(command: list[str], stdin: Path | None = None) -> tuple[float, float, int]:
    """CPU seconds, peak memory (MB) and exit status of a command run alone."""
    with open(stdin or os.devnull, "rb") as source:
        child = subprocess.Popen(command, stdin=source, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, child.returncode


def long_program(chars: int, operator: str) -> str:
    """`x1+x2+... where x1=1, ...` (or with `*`), at most `chars` characters."""
    names: list[str] = []
    length = len(" where ") - 3  # the first name has no operator nor ", " before it
    while length + 2 * len(f"x{len(names) + 1}") + 5 <= chars:
        names.append(f"x{len(names) + 1}")
        length += 2 * len(names[-1]) + 5
    return operator.join(names) + " where " + ", ".join(f"{n}=1" for n in names)


def measure_limits(sizes: list[int]) -> None:
    """CPU time and peak memory per character of long programs, per command."""
    command = [sys.executable, "-m", "exprgraph"]
    modes = {"eval": ["eval", "-"], "eval --format json": ["eval", "-", "--format", "json"],
             "diff --wrt x1": ["diff", "-", "--wrt", "x1"]}
    print("long programs: CPU time and peak memory (start-up included), per character")
    with tempfile.TemporaryDirectory() as folder:
        for shape, operator in (("sum", "+"), ("product", "*")):
            for chars in sizes:
                text = long_program(chars, operator)
                program = Path(folder) / "program.txt"
                program.write_text(text, encoding="utf-8")
                line_file = Path(folder) / "program.expr"
                line_file.write_text(text + "\n", encoding="utf-8")
                runs = {mode: child_cost(command + args, program) for mode, args in modes.items()}
                runs["batch --format jsonl"] = child_cost(
                    [*command, "batch", str(line_file), "--format", "jsonl"])
                for mode, (seconds, megabytes, status) in runs.items():
                    print(f"  {shape:<7} {len(text):>10,} chars  {mode:<20} {seconds:7.2f} s "
                          f"{megabytes:8.1f} MB  {seconds / len(text) * 1e6:6.2f} us/char "
                          f"{megabytes * 1e6 / len(text):6.0f} B/char  exit {status}")


def measure_memory(count: int) -> None:
    """Peak memory of `exprgraph batch` over a long line file: table and JSON lines."""
    lines = list(corpus.lines(1000, 7, 60))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.expr"
        with path.open("w", encoding="utf-8") as handle:
            for index in range(count):
                handle.write(lines[index % len(lines)] + "\n")
        for fmt in ("table", "jsonl"):
            seconds, megabytes, _ = child_cost(
                [sys.executable, "-m", "exprgraph", "batch", str(path), "--format", fmt])
            print(f"  batch of {count:,} lines, --format {fmt:<6} {megabytes:8.1f} MB peak, "
                  f"{seconds:.1f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description="Batch value + gradient against peers.")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--sympy", type=int, default=200, help="expressions for SymPy")
    parser.add_argument("--memory", action="store_true",
                        help="peak memory of batch as a table and as JSON lines")
    parser.add_argument("--limits", help="program lengths, e.g. 100000,1000000")
    args = parser.parse_args()
    if args.limits:
        measure_limits([int(size) for size in args.limits.split(",")])
        return
    if args.memory:
        measure_memory(args.count)
        return

    lines = list(corpus.lines(args.count, args.seed, 60))
    tokens = sum(len(corpus.TOKEN.findall(line.partition(" where ")[0])) for line in lines)
    print(f"{len(lines)} random programs, {tokens / len(lines):.0f} tokens on average "
          f"(seed {args.seed}); time per expression for value + gradient:")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.expr"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        exprgraph.compile("x")  # build the parser before timing, as a batch does once
        ours = time_exprgraph(path) / len(lines)
        print(f"  exprgraph, in process           {ours * 1e3:8.3f} ms")
        for jobs in (1, 2):
            command = time_command(path, jobs) / len(lines)
            print(f"  exprgraph batch, {jobs} job{'s' if jobs > 1 else ' '}         "
                  f"{command * 1e3:8.3f} ms  (a command: start-up included)")
        cases = cases_of(lines)
        timings = {}
        for name, make in PEERS.items():
            if importlib.util.find_spec(name) is None:
                print(f"  {name:<32}  not installed")
                continue
            job = make()
            subset = cases[: args.sympy] if name == "sympy" else cases
            start = time.perf_counter()
            results = job(subset)
            per = (time.perf_counter() - start) / len(subset)
            timings[name] = per
            sub = Path(folder) / f"{name}.expr"
            sub.write_text("\n".join(lines[: len(subset)]) + "\n", encoding="utf-8")
            note = f" ({len(subset)} programs)" if len(subset) != len(cases) else ""
            print(f"  {name:<32}{per * 1e3:8.3f} ms  = {per / ours:6.2f}x exprgraph's time"
                  f"{note}; {check_against(results, sub)}")
        if timings:
            fastest = min(timings, key=timings.__getitem__)
            print(f"fastest peer: {fastest}; exprgraph in process is "
                  f"{timings[fastest] / ours:.2f}x faster than it (goal: 3x)")
    print(f"cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
