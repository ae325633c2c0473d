"""Hypothesis strategies: random programs in exprgraph's language.

Trees are drawn as text directly, with explicit parentheses, so the strategy
does not depend on the printer under test.
"""

from __future__ import annotations

from hypothesis import strategies as st

VARIABLES = ("x", "y", "z")
SMOOTH_FUNCTIONS = ("sin", "cos", "tan", "atan", "sinh", "cosh", "tanh", "exp", "log", "sqrt",
                    "sigmoid", "softplus", "asin", "acos", "log2", "log10")
KINKED_FUNCTIONS = ("abs", "relu", "sign", "step")
BINARY_OPERATORS = ("+", "-", "*", "/", "^")

numbers = st.sampled_from(["1", "2", "3", "0.5", "2.5", "1e-1", "pi", "e"])
variables = st.sampled_from(VARIABLES)


def expressions(functions: tuple[str, ...] = SMOOTH_FUNCTIONS, kinked: bool = False,
                max_leaves: int = 12) -> st.SearchStrategy[str]:
    """Expression text over x, y, z built from the given functions and + - * / ^."""
    names = functions + (KINKED_FUNCTIONS if kinked else ())
    leaves = st.one_of(variables, variables, numbers)

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(children, st.sampled_from(BINARY_OPERATORS), children).map(
            lambda t: f"({t[0]}){t[1]}({t[2]})")
        unary = st.tuples(st.sampled_from(names), children).map(lambda t: f"{t[0]}({t[1]})")
        pair = st.tuples(st.sampled_from(("min", "max", "pow")), children, children).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})")
        negated = children.map(lambda c: f"-({c})")
        options = [binary, binary, unary, negated]
        if kinked:
            options.append(pair)
        return st.one_of(*options)

    return st.recursive(leaves, extend, max_leaves=max_leaves)


points = st.fixed_dictionaries({name: st.floats(-2.0, 2.0, allow_nan=False)
                                .map(lambda v: round(v, 3)) for name in VARIABLES})
