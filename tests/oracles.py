"""Independent ways to compute what exprgraph computes, for tests to compare.

- `central_difference`: the numeric derivative from values alone.
- `to_sympy`: the graph rebuilt as a SymPy expression (a loop over the node
  list), so SymPy's own `diff` and `evalf` can judge our values and
  derivatives. SymPy is a test-only dependency.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import sympy

from exprgraph.core.graph import Graph


def central_difference(f: Callable[[dict[str, float]], float], point: Mapping[str, float],
                       name: str) -> float:
    """∂f/∂name at `point` by a central difference with a relative step."""
    h = 1e-6 * max(1.0, abs(point[name]))
    up = {**point, name: point[name] + h}
    down = {**point, name: point[name] - h}
    return (f(up) - f(down)) / (2 * h)


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 1e-9) -> bool:
    """math.isclose with an absolute floor near 0."""
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


_SYMPY_FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "asin": sympy.asin,
    "acos": sympy.acos, "atan": sympy.atan, "sinh": sympy.sinh, "cosh": sympy.cosh,
    "tanh": sympy.tanh, "exp": sympy.exp, "log": sympy.log,
    "log2": lambda x: sympy.log(x, 2), "log10": lambda x: sympy.log(x, 10),
    "sqrt": sympy.sqrt, "abs": sympy.Abs, "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
    "softplus": lambda x: sympy.log(1 + sympy.exp(x)), "relu": lambda x: sympy.Max(x, 0),
    "sign": sympy.sign, "step": lambda x: sympy.Heaviside(x, 0),
    "min": sympy.Min, "max": sympy.Max, "atan2": sympy.atan2,
    "hypot": lambda x, y: sympy.sqrt(x**2 + y**2),
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a**b, "neg": lambda a: -a,
}


def to_sympy(graph: Graph, root: int | None = None) -> sympy.Expr:
    """The graph's output (or node `root`) as a SymPy expression over its inputs."""
    exprs: list[sympy.Expr] = []
    for node in graph.nodes:
        if node.op.name == "input":
            exprs.append(sympy.Symbol(node.label, real=True))
        elif node.op.name == "const":
            named = {"pi": sympy.pi, "e": sympy.E}
            exprs.append(named.get(node.label, sympy.Float(node.value, 30)))
        else:
            exprs.append(_SYMPY_FUNCTIONS[node.op.name](*(exprs[a] for a in node.args)))
    return exprs[graph.output if root is None else root]


def sympy_value(expr: sympy.Expr, point: Mapping[str, float]) -> float:
    """`expr` at `point`, as a float."""
    subs = {sympy.Symbol(k, real=True): sympy.Float(v, 30) for k, v in point.items()}
    if any(power.base == 0 for power in expr.atoms(sympy.Pow)):
        # evalf(subs=...) takes 0**x at x = 0 as 0 (sin(pi)^x); substituted
        # first, it is 0**0 = 1, as in Python, NumPy and exprgraph.
        return float(expr.xreplace(subs).evalf(30))
    return float(expr.evalf(30, subs=subs))


def central_gradient(f: Callable[[np.ndarray], float], at: np.ndarray) -> np.ndarray:
    """∂f/∂at for an array argument, element by element, by central differences
    with a relative step (the array counterpart of `central_difference`)."""
    base = np.asarray(at, dtype=np.float64)
    grad = np.zeros_like(base)
    for position in np.ndindex(base.shape):
        h = 1e-6 * max(1.0, abs(base[position]))
        sides = []
        for step in (h, -h):
            moved = base.copy()
            moved[position] += step
            sides.append(f(moved))
        grad[position] = (sides[0] - sides[1]) / (2 * h)
    return grad
