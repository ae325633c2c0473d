"""Benchmark: the CPU time of a one-shot command against the floor every Typer+Rich+Lark tool pays.

    python benchmarks/startup.py [--runs N]

Measures, in fresh processes, the CPU time (user + system, from
`resource.getrusage(RUSAGE_CHILDREN)`) of

- `python -c "import typer, rich, lark"`: the floor;
- `exprgraph eval "(x+y)*z" --x 1 --y 3 --z -3` (table output);
- `exprgraph --help`;

and prints each one's median over `--runs` runs and its ratio to the floor
(issue 17's goal: at most 1.25x). Then the ten modules of exprgraph's own
that cost the most to import (`python -X importtime`, self time), the
places to look first. Run it with the interpreter of an installed venv: a
source tree run with PYTHONDONTWRITEBYTECODE set compiles every module on
every start and measures that instead. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

EVAL = ["eval", "(x+y)*z", "--x", "1", "--y", "3", "--z", "-3"]


def cpu_seconds(command: list[str]) -> float:
    """The CPU time (user + system) one run of `command` takes, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "COLUMNS": "80"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def interleaved_medians(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Each command's median CPU time over `runs` rounds. A round runs every
    command once, so that a slow stretch of the machine falls on all of them
    alike instead of on whichever was being measured then."""
    for command in commands.values():
        cpu_seconds(command)  # warm the file cache (and the parser cache)
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            times[label].append(cpu_seconds(command))
    return {label: statistics.median(found) for label, found in times.items()}


def own_imports(top: int = 10) -> list[tuple[int, str]]:
    """exprgraph's modules by their own import time (µs), the largest first."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "exprgraph", *EVAL],
                          capture_output=True, text=True, check=True)
    found = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line[len("import time:"):].split("|")
        if name.strip().startswith("exprgraph"):
            found.append((int(own), name.strip()))
    return sorted(found, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="rounds (the median is reported)")
    runs = parser.parse_args().runs
    exe = str(Path(sys.executable).with_name("exprgraph"))
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set; without cached bytecode every start "
              "compiles the modules, which this then measures")
    floor_label = 'python -c "import typer, rich, lark"'
    commands = {
        floor_label: [sys.executable, "-c", "import typer, rich, lark"],
        'exprgraph eval "(x+y)*z" ...': [exe, *EVAL],
        "exprgraph eval ... --format json": [exe, *EVAL, "--format", "json"],
        "exprgraph --help": [exe, "--help"],
        "exprgraph eval --help": [exe, "eval", "--help"],
        # Not the goal's floor: what any Typer tool that prints a Rich table
        # imports before it has done anything of its own.
        "(python -c: typer, rich.console, rich.table)":
            [sys.executable, "-c", "import typer, rich.console, rich.table"],
    }
    medians = interleaved_medians(commands, runs)
    floor = medians[floor_label]
    print(f"{'command':<48}{'CPU ms':>8}{'× floor':>9}")
    for label, seconds in medians.items():
        print(f"{label:<48}{seconds * 1e3:>8.0f}{seconds / floor:>9.2f}")
    print("\nexprgraph's own modules by import self time (one run of eval):")
    for micros, name in own_imports():
        print(f"  {micros / 1e3:6.1f} ms  {name}")


if __name__ == "__main__":
    main()
