"""Benchmark: a course's homework — few programs, many points and students.

    python benchmarks/course.py [--programs 200] [--points 500] [--students 1000]

Two course-shaped workloads, each against what a user would script, measured
in the same run (asserts nothing):

1. **Same program, many points.** `--programs` random programs of about 55
   tokens (benchmarks/corpus.py), each at `--points` points, as one `.expr`
   line file (`PROGRAM where x=..., y=...`): 100,000 lines by default. Timed:
   - exprgraph in process, the way `batch` runs (`tasks.batch.solve_all` over
     chunks, each result turned into its JSON line), and the same one problem
     at a time (`tasks.batch.solve`: every line parsed and compiled, as
     before issue 17) on a sample;
   - `exprgraph batch FILE --format jsonl --jobs 1` as a command;
   - PyTorch eager, the loop a user would write: each program built once
     (`eval` of its text into a lambda: here only, exprgraph never evaluates
     user text), then per point scalar tensors, the program, `backward()`;
   - PyTorch eager with each program's points batched into one tensor per
     variable (`sum().backward()`), what a user who vectorises writes.
   Times are per line; ratios are PyTorch's time over exprgraph's.
2. **Checking a class.** `--students` students each hand in a problem set of 5
   problems with 5 expression answers (some wrong, some written differently),
   one TOML file per student in a folder. Timed: `exprgraph check DIR --format
   jsonl` as a command; reported in students per second.

`--memory N` instead writes an N-line course-shaped file (1,000,000 for the
issue's goal of at most 300 MB) and prints the peak resident memory of
`exprgraph batch` over it in every output format, with one process and with
`--jobs 2` (the largest of the main process and its workers, as the kernel
reports it for waited-for children), and with `--scheduler local:2` where
Dask's distributed is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus

import exprgraph
from exprgraph.tasks import batch

CHUNK = 256  # problems per call of solve_all, as a batch sends them


def course_lines(programs: int, points: int, seed: int) -> list[str]:
    """`programs` corpus programs, each at `points` random points (a few of which
    fall outside a function's domain: those lines fail alone, as in a real file)."""
    return list(each_course_line(programs, points, seed))


def each_course_line(programs: int, points: int, seed: int) -> Iterator[str]:
    """`course_lines`, one at a time."""
    rng = random.Random(seed)
    for line in corpus.lines(programs, seed, 55):
        body = line.partition(" where ")[0]
        names = sorted(exprgraph.compile(body).inputs)
        for _ in range(points):
            where = ", ".join(f"{n}={round(rng.uniform(0.2, 2.0), 3)}" for n in names)
            yield f"{body} where {where}" if where else body


def time_shared(path: Path, as_json: bool = True) -> tuple[float, int]:
    """Seconds per line of exprgraph's batch path (each result turned into its
    JSON line, or not), and how many lines failed."""
    problems = list(batch.read_problems(path))
    start = time.perf_counter()
    failed = 0
    for first in range(0, len(problems), CHUNK):
        for result in batch.solve_all(problems[first:first + CHUNK], batch.Options()):
            if as_json:
                json.dumps(result)
            failed += "error" in result
    return (time.perf_counter() - start) / len(problems), failed


def time_alone(path: Path, sample: int) -> float:
    """Seconds per line solving each line alone (parse and compile every time)."""
    problems = list(batch.read_problems(path))[:sample]
    start = time.perf_counter()
    for problem in problems:
        json.dumps(batch.solve(problem, batch.Options()))
    return (time.perf_counter() - start) / len(problems)


def time_command(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "exprgraph", *args], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def torch_names() -> dict[str, Callable[..., Any]]:
    import torch

    def tensor_op(op: Callable[..., Any]) -> Callable[..., Any]:
        return lambda v: op(v if isinstance(v, torch.Tensor)
                            else torch.tensor(v, dtype=torch.float64))

    return {name: tensor_op(op) for name, op in (
        ("sin", torch.sin), ("cos", torch.cos), ("tanh", torch.tanh), ("exp", torch.exp),
        ("log", torch.log), ("sqrt", torch.sqrt), ("atan", torch.atan), ("abs", torch.abs),
        ("sigmoid", torch.sigmoid), ("softplus", torch.nn.functional.softplus))}


def grouped(lines: list[str]) -> list[tuple[str, list[str], list[dict[str, float]]]]:
    """(program as Python, its variables, its points) per program, in order."""
    groups: dict[str, tuple[str, list[str], list[dict[str, float]]]] = {}
    for line in lines:
        body, _, where = line.partition(" where ")
        point = {}
        for binding in where.split(", ") if where else []:
            name, _, value = binding.partition("=")
            point[name] = float(value)
        if body not in groups:
            groups[body] = (body.replace("^", "**"), sorted(point), [])
        groups[body][2].append(point)
    return list(groups.values())


def time_torch_loop(lines: list[str]) -> float:
    """Seconds per line: each program built once, then a scalar loop over its points."""
    import torch

    names = torch_names()
    groups = grouped(lines)
    start = time.perf_counter()
    for source, variables, points in groups:
        f = eval(f"lambda {', '.join(variables) or '_=0'}: {source}", names)  # benchmark only
        for point in points:
            args = [torch.tensor(point[n], dtype=torch.float64, requires_grad=True)
                    for n in variables]
            try:
                value = f(*args)
                if isinstance(value, torch.Tensor) and value.requires_grad:
                    value.backward()
                float(value)
                [float(a.grad) if a.grad is not None else 0.0 for a in args]
            except (ValueError, RuntimeError, ZeroDivisionError):
                pass
    return (time.perf_counter() - start) / len(lines)


def time_torch_vectorised(lines: list[str]) -> float:
    """Seconds per line: each program once over all its points as tensors."""
    import torch

    names = torch_names()
    groups = grouped(lines)
    start = time.perf_counter()
    for source, variables, points in groups:
        f = eval(f"lambda {', '.join(variables) or '_=0'}: {source}", names)  # benchmark only
        args = [torch.tensor([p[n] for p in points], dtype=torch.float64, requires_grad=True)
                for n in variables]
        value = f(*args)
        if isinstance(value, torch.Tensor) and value.requires_grad:
            value.sum().backward()
            value.tolist()
            [a.grad.tolist() for a in args if a.grad is not None]
    return (time.perf_counter() - start) / len(lines)


# --- checking a class ---------------------------------------------------------------

PROBLEMS = [
    ("tutorial", "c = a + b; d = b + 1; e = c * d", {"a": 2, "b": 6},
     {"de/dc": ["d", "b + 1", "c"], "d/db": ["c + d", "a + 2*b + 1", "c*d"],
      "de/da": ["d", "b + 1", "b"], "dd/db": ["1", "b/b", "0"], "c": ["a + b", "b + a", "a*b"]}),
    ("neuron", "z = w*x + b; y = sigmoid(z)", {"w": 0.5, "x": 2, "b": -1},
     {"dy/dz": ["y*(1 - y)", "sigmoid(z)*(1 - sigmoid(z))", "y^2"],
      "dy/dw": ["x*y*(1 - y)", "x*sigmoid(z)*(1 - y)", "y*(1 - y)"],
      "dy/db": ["y*(1 - y)", "y - y^2", "1 - y"], "dy/dx": ["w*y*(1 - y)", "w*(y - y^2)", "w"],
      "dz/dw": ["x", "2*x/2", "w"]}),
    ("square-loss", "p = w*x; L = (p - t)^2", {"w": 1.5, "x": 2, "t": 1},
     {"dL/dp": ["2*(p - t)", "2*p - 2*t", "p - t"], "dL/dw": ["2*x*(p - t)", "2*x*(w*x - t)",
                                                              "2*(p - t)"],
      "dL/dt": ["-2*(p - t)", "2*(t - p)", "2*(p - t)"], "dL/dx": ["2*w*(p - t)",
                                                                  "2*w*(w*x - t)", "2*w"],
      "dp/dx": ["w", "w*1", "x"]}),
    ("tanh-layer", "h = tanh(u*x + v); L = h^2", {"u": 0.3, "x": 1.2, "v": -0.4},
     {"dL/dh": ["2*h", "h + h", "h"], "dh/dx": ["u*(1 - h^2)", "u - u*h^2", "1 - h^2"],
      "dL/du": ["2*h*(1 - h^2)*x", "2*x*h*(1 - h*h)", "2*h*x"],
      "dL/dv": ["2*h*(1 - h^2)", "2*h - 2*h^3", "2*h"], "dL/dx": ["2*h*(1 - h^2)*u",
                                                                  "2*u*h*(1 - h^2)", "2*u*h"]}),
    ("log-exp", "s = exp(x) + exp(y); f = log(s)", {"x": 0.5, "y": -0.5},
     {"df/ds": ["1/s", "s^(-1)", "s"], "df/dx": ["exp(x)/s", "exp(x)/(exp(x) + exp(y))",
                                                 "exp(x)"],
      "df/dy": ["exp(y)/s", "1/(1 + exp(x - y))", "exp(y)"], "ds/dx": ["exp(x)", "exp(x)*1",
                                                                        "x"],
      "s": ["exp(x) + exp(y)", "exp(y) + exp(x)", "exp(x)"]}),
]


def write_class(folder: Path, students: int, seed: int) -> None:
    """One problem set per student: the 5 problems with 5 answers each, each
    answer right, right but written differently, or wrong (in 6:3:1)."""
    rng = random.Random(seed)
    for student in range(students):
        parts = []
        for name, program, at, answers in PROBLEMS:
            point = ", ".join(f"{k} = {v}" for k, v in at.items())
            parts.append(f'[[problem]]\nname = "{name}"\nprogram = "{program}"\n'
                         f"at = {{ {point} }}\n\n[problem.answers]")
            for key, (right, other, wrong) in answers.items():
                given = rng.choices((right, other, wrong), weights=(6, 3, 1))[0]
                parts.append(f'"{key}" = "{given}"')
            parts.append("")
        (folder / f"student{student:05d}.toml").write_text("\n".join(parts), encoding="utf-8")


def peak_memory(args: list[str]) -> tuple[float, float, int]:
    """Peak resident memory (MB, the largest process), wall seconds and exit
    status of `exprgraph ARGS`, output discarded."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "exprgraph", *args],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    return usage.ru_maxrss / 1024, time.perf_counter() - start, os.waitstatus_to_exitcode(status)


def measure_memory(count: int, seed: int) -> None:
    """Peak memory of `batch` over a `count`-line course file, per format and runner."""
    programs = max(1, count // 5000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "course.expr"
        # Written line by line: a child forked from a process holding the whole
        # file in memory would count that memory as its own.
        with path.open("w", encoding="utf-8") as handle:
            for line in each_course_line(programs, count // programs, seed):
                handle.write(line + "\n")
        runners = [["--jobs", "1"], ["--jobs", "2"]]
        if importlib.util.find_spec("distributed") is not None:
            runners.append(["--scheduler", "local:2"])
        print(f"batch over {count:,} lines ({programs} programs): peak memory (largest process)")
        for fmt in ("table", "jsonl", "csv"):
            for runner in runners:
                megabytes, seconds, status = peak_memory(
                    ["batch", str(path), "--format", fmt, *runner])
                print(f"  --format {fmt:<5} {' '.join(runner):<20} {megabytes:8.1f} MB "
                      f"{seconds:7.1f} s  exit {status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", type=int, default=200)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--sample", type=int, default=2000,
                        help="lines timed one at a time (the old path is slow)")
    parser.add_argument("--memory", type=int, metavar="LINES",
                        help="peak memory of batch over a file of LINES lines, instead")
    args = parser.parse_args()
    if args.memory:
        measure_memory(args.memory, args.seed)
        return
    with tempfile.TemporaryDirectory() as folder:
        lines = course_lines(args.programs, args.points, args.seed)
        path = Path(folder) / "course.expr"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"1. {args.programs} programs x {args.points} points = {len(lines):,} lines; "
              "time per line for value + gradient (and the JSON line):")
        exprgraph.compile("x")  # the parser, built once as a batch builds it
        shared, failed = time_shared(path)
        print(f"  exprgraph batch path, in process      {shared * 1e6:9.1f} us "
              f"({failed} lines fail alone, as they should)")
        numbers, _ = time_shared(path, as_json=False)
        print(f"  the same, results not turned into JSON{numbers * 1e6:8.1f} us "
              "(PyTorch's loops below write no output either)")
        alone = time_alone(path, args.sample)
        print(f"  each line alone (before issue 17)     {alone * 1e6:9.1f} us  "
              f"= {alone / shared:5.1f}x the batch path ({args.sample} lines)")
        command = time_command(["batch", str(path), "--format", "jsonl", "--jobs", "1"])
        print(f"  exprgraph batch --jobs 1, a command   {command / len(lines) * 1e6:9.1f} us "
              f"(start-up included; {command:.1f} s in all)")
        if importlib.util.find_spec("torch") is None:
            print("  torch                                 not installed")
        else:
            loop = time_torch_loop(lines)
            print(f"  PyTorch eager, a loop over points     {loop * 1e6:9.1f} us  "
                  f"= {loop / shared:5.1f}x exprgraph's time with JSON, "
                  f"{loop / numbers:5.1f}x without (goal: 10x)")
            vectorised = time_torch_vectorised(lines)
            print(f"  PyTorch eager, points as tensors      {vectorised * 1e6:9.1f} us  "
                  f"= {vectorised / shared:5.2f}x exprgraph's time")
        students = Path(folder) / "class"
        students.mkdir()
        write_class(students, args.students, args.seed)
        answers = args.students * sum(len(p[3]) for p in PROBLEMS)
        print(f"2. check: {args.students} students x {len(PROBLEMS)} problems, "
              f"{answers:,} expression answers")
        seconds = time_command(["check", str(students), "--format", "jsonl"])
        print(f"  exprgraph check DIR, a command        {args.students / seconds:9.1f} students/s "
              f"({seconds:.1f} s, {seconds / answers * 1e3:.2f} ms per answer)")


if __name__ == "__main__":
    main()
