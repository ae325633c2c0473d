"""Benchmark: symbolic derivatives, size and time, against SymPy.

    python benchmarks/derivatives.py [--count 300] [--seed 1]

1. Size: for seeded random expressions, the operation count of exprgraph's
   printed derivative against SymPy's `diff` output for the same expression
   (both counted the same way, on their printed text: one per operator and
   per function call). Reports the ratio (ours / SymPy's; below 1 is smaller),
   once for smooth functions only and once with abs, relu, sign, min and max
   as well (SymPy writes their derivatives with Heaviside, sign and
   DiracDelta; exprgraph with sign and step), and names the worst case.
2. Time: the 10th derivative of sin(x)*exp(x), the gradient of a 50-deep
   composition sin(cos(sin(...x))) and the Hessian of a 200-term polynomial
   in 10 variables, each timed for exprgraph and SymPy in the same run
   (SymPy's cache cleared before each call).
3. High orders: n-th derivatives of 1/(1+x^2), tan(x) and sigmoid(sigmoid(x)),
   the size of exprgraph's answer (or the size budget's error) against
   SymPy's, and the time of each.

SymPy is needed (`pip install '.[test]'` brings it). This is a benchmark, not
a test: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sympy
from timing import best_of

import exprgraph

SMOOTH = ("sin", "cos", "exp", "log", "sqrt", "tanh", "atan")
KINKED = ("abs", "relu", "sign")
FUNCTIONS = SMOOTH + KINKED
BINARY = ("min", "max")
SYMPY = {"sin": sympy.sin, "cos": sympy.cos, "exp": sympy.exp, "log": sympy.log,
         "sqrt": sympy.sqrt, "tanh": sympy.tanh, "atan": sympy.atan, "abs": sympy.Abs,
         "relu": lambda a: sympy.Max(a, 0), "sign": sympy.sign, "min": sympy.Min,
         "max": sympy.Max, "tan": sympy.tan,
         "sigmoid": lambda a: 1 / (1 + sympy.exp(-a))}


def random_expression(rng: random.Random, leaves: int, kinked: bool = True) -> str:
    """A random expression over x, y, z with about `leaves` leaves; with
    `kinked`, abs, relu, sign, min and max appear too."""
    if leaves <= 1:
        return rng.choice(["x", "y", "z", "x", "y", "2", "3"])
    if kinked and leaves >= 2 and rng.random() < 0.1:
        left = rng.randint(1, leaves - 1)
        return (f"{rng.choice(BINARY)}({random_expression(rng, left, kinked)}, "
                f"{random_expression(rng, leaves - left, kinked)})")
    if rng.random() < 0.3:
        names = FUNCTIONS if kinked else SMOOTH
        return f"{rng.choice(names)}({random_expression(rng, leaves - 1, kinked)})"
    left = rng.randint(1, leaves - 1)
    op = rng.choice(["+", "-", "*", "*", "/", "^"])
    right = "2" if op == "^" else random_expression(rng, leaves - left, kinked)
    return f"({random_expression(rng, left, kinked)}){op}({right})"


def to_sympy(program: exprgraph.Program) -> sympy.Expr:
    """The program's graph as a SymPy expression (a loop over the nodes)."""
    binary = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
              "mul": lambda a, b: a * b, "div": lambda a, b: a / b, "pow": lambda a, b: a**b}
    exprs: list[sympy.Expr] = []
    for node in program.graph.nodes:
        args = [exprs[a] for a in node.args]
        if node.op.name == "input":
            # Real symbols, as exprgraph's are: d|x|/dx is sign(x), not SymPy's
            # complex formula, so the comparison is fair to SymPy.
            exprs.append(sympy.Symbol(node.label, real=True))
        elif node.op.name == "const":
            exprs.append(sympy.Integer(int(node.value)) if node.value == int(node.value)
                         else sympy.Float(node.value))
        elif node.op.name == "neg":
            exprs.append(-args[0])
        elif node.op.name in binary:
            exprs.append(binary[node.op.name](*args))
        else:
            exprs.append(SYMPY[node.op.name](*args))
    return exprs[program.graph.output]


_NUMBER = re.compile(r"\d+\.?\d*(e[+-]?\d+)?")


def operation_count(text: str) -> int:
    """Operators and function calls in printed text (`**` counts once)."""
    text = _NUMBER.sub("N", text.replace("**", "^"))
    return len(re.findall(r"[+\-*/^]", text)) + len(re.findall(r"[A-Za-z_]\w*\(", text))


def size_comparison(count: int, seed: int, kinked: bool) -> None:
    """Print the size ratios for `count` random expressions (with the kinked
    functions abs, relu, sign, min, max, or smooth functions only)."""
    rng = random.Random(seed)
    ratios: list[tuple[float, str, str]] = []
    ours_total = theirs_total = 0
    for _ in range(count):
        program = exprgraph.compile(random_expression(rng, rng.randint(4, 12), kinked))
        try:
            reference = to_sympy(program)
        except (ValueError, TypeError):  # max(sqrt(cos(2)), x): SymPy cannot compare
            continue
        if reference.has(sympy.zoo, sympy.nan):  # e.g. 3/(3-3): undefined everywhere
            continue
        for name in program.inputs:
            ours = operation_count(program.derivative(name))
            theirs = operation_count(str(sympy.diff(reference, sympy.Symbol(name, real=True))))
            ours_total += ours
            theirs_total += theirs
            ratios.append(((ours + 1) / (theirs + 1), program.graph.source, name))
    values = [r for r, _, _ in ratios]
    worst, source, name = max(ratios)
    kind = "with abs, relu, sign, min, max" if kinked else "smooth functions only"
    print(f"size, {kind}: {len(ratios)} derivatives of {count} random expressions "
          f"(seed {seed})")
    print(f"  operations, exprgraph / SymPy diff: total {ours_total} / {theirs_total} "
          f"= {ours_total / theirs_total:.2f}; median per derivative "
          f"{statistics.median(values):.2f}; worst {worst:.2f} (d/d{name} of {source})")
    print(f"  exprgraph no larger than SymPy in "
          f"{sum(r <= 1.0 for r in values) / len(values):.0%} of the derivatives")


def _uncached(job: object, reference: sympy.Expr) -> object:
    """SymPy's job with its cache cleared first: repeated calls would
    otherwise return a cached result in microseconds."""
    sympy.core.cache.clear_cache()
    return job(reference)  # type: ignore[operator]


def timing_comparison() -> None:
    composition = "x"
    for k in range(50):
        composition = f"{'sin' if k % 2 == 0 else 'cos'}({composition})"
    names = [f"x{k}" for k in range(10)]
    polynomial = " + ".join(f"{(k % 7) + 1}*{names[k % 10]}*{names[(3 * k + 1) % 10]}"
                            f"^{k % 3 + 1}" for k in range(200))
    x = sympy.Symbol("x", real=True)
    cases = [
        ("10th derivative of sin(x)*exp(x)", "sin(x)*exp(x)",
         lambda p: p.diff(order=10), lambda e: sympy.diff(e, x, 10)),
        ("gradient of a 50-deep sin/cos composition", composition,
         lambda p: p.diff(kind="gradient"), lambda e: sympy.diff(e, x)),
        ("Hessian of a 200-term polynomial in 10 variables", polynomial,
         lambda p: p.diff(kind="hessian"),
         lambda e: sympy.hessian(e, [sympy.Symbol(n, real=True) for n in names])),
    ]
    print("time (best of 3, parse + differentiate + simplify):")
    for title, text, ours, theirs in cases:
        ours_time = best_of(3, lambda text=text, ours=ours: ours(exprgraph.compile(text)))
        reference = to_sympy(exprgraph.compile(text))
        theirs_time = best_of(3, lambda reference=reference, theirs=theirs:
                              _uncached(theirs, reference))
        print(f"  {title}: exprgraph {ours_time * 1000:.1f} ms, SymPy {theirs_time * 1000:.1f} ms,"
              f" ratio {ours_time / theirs_time:.2f}")


HIGH_ORDERS = (("1/(1+x^2)", (6, 9, 14)), ("tan(x)", (8, 13, 16)),
               ("sigmoid(sigmoid(x))", (4, 6, 10)))


def high_order_comparison() -> None:
    """Sizes and times of high derivatives: exprgraph (answer or budget error) and SymPy."""
    x = sympy.Symbol("x", real=True)
    print("high orders (operations in the printed answer; time of one run):")
    for text, orders in HIGH_ORDERS:
        reference = to_sympy(exprgraph.compile(text))
        for order in orders:
            program = exprgraph.compile(text)
            outcome: list[str] = []

            def ours(program: exprgraph.Program = program, order: int = order,
                     outcome: list[str] = outcome) -> None:
                try:
                    (entry,) = program.diff(order=order).entries
                    outcome.append(str(operation_count(program.text(entry.expression))))
                except exprgraph.ExpressionTooLargeError:
                    outcome.append("over the size budget")

            ours_time = best_of(1, ours, warm_up=False)
            theirs: list[sympy.Expr] = []
            theirs_time = best_of(1, lambda reference=reference, order=order, theirs=theirs:
                                  theirs.append(_uncached(lambda e: sympy.diff(e, x, order),
                                                          reference)), warm_up=False)
            print(f"  d^{order}/dx^{order} {text}: exprgraph {outcome[-1]} "
                  f"({ours_time:.2f} s), SymPy {operation_count(str(theirs[-1]))} "
                  f"({theirs_time:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--count", type=int, default=300, help="random expressions")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size-only", action="store_true", help="skip the timings")
    args = parser.parse_args()
    size_comparison(args.count, args.seed, kinked=False)
    size_comparison(args.count, args.seed, kinked=True)
    if not args.size_only:
        timing_comparison()
        high_order_comparison()


if __name__ == "__main__":
    main()
