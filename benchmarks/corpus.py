"""Random programs in exprgraph's language, seeded, as `.expr` lines.

    python benchmarks/corpus.py [--count 1000] [--seed 7] [--tokens 60] > corpus.expr

Each line is `EXPRESSION where x=..., y=..., z=...` of about `--tokens`
tokens. Only lines that evaluate without a math error at their point are
kept, so the corpus is a clean workload (samples/corpus.expr was made by
`python benchmarks/corpus.py --count 1000 --seed 7`).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import exprgraph

FUNCTIONS = ("sin", "cos", "tanh", "exp", "log", "sqrt", "sigmoid", "softplus", "atan", "abs")
OPERATORS = ("+", "-", "*", "*", "/", "^")
TOKEN = re.compile(r"[A-Za-z_]\w*|\d+\.?\d*|\S")


def expression(rng: random.Random, leaves: int) -> str:
    """A random expression with about `leaves` leaves, in explicit parentheses."""
    if leaves <= 1:
        return rng.choice(["x", "y", "z", "x", "y", "2", "3", "0.5"])
    if rng.random() < 0.25:
        return f"{rng.choice(FUNCTIONS)}({expression(rng, leaves - 1)})"
    left = rng.randint(1, leaves - 1)
    op = rng.choice(OPERATORS)
    right = rng.choice(["2", "3"]) if op == "^" else expression(rng, leaves - left)
    return f"({expression(rng, left)}) {op} ({right})"


def lines(count: int, seed: int, tokens: int) -> Iterator[str]:
    """`count` lines that evaluate, each near `tokens` tokens."""
    rng = random.Random(seed)
    made = 0
    while made < count:
        text = expression(rng, max(2, tokens // 5))
        if abs(len(TOKEN.findall(text)) - tokens) > tokens // 3:
            continue
        point = {name: round(rng.uniform(0.2, 2.0), 3) for name in ("x", "y", "z")}
        program = exprgraph.compile(text)
        used = {k: v for k, v in point.items() if k in program.inputs}
        try:
            program.evaluate(used)
        except exprgraph.MathError:
            continue
        where = ", ".join(f"{k}={v}" for k, v in used.items())
        yield f"{text} where {where}" if where else text
        made += 1


def main() -> None:
    parser = argparse.ArgumentParser(description="Random exprgraph programs as .expr lines.")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=60)
    args = parser.parse_args()
    for line in lines(args.count, args.seed, args.tokens):
        print(line)


if __name__ == "__main__":
    main()
