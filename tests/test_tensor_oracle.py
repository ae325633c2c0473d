"""PyTorch as an oracle for the tensor passes (passes/tensor.py): every tensor
op (core/tensor_ops.py `TENSOR_OPS`) and every elementwise op, broadcast as
core/shapes.py says, written as a tiny program, parsed, evaluated and
differentiated by `evaluate_tensors` and `gradient_tensors`, against the same
computation in float64 torch.autograd. Hypothesis chooses the shapes (1..4)
and the values.

Each instance is checked three ways: the value; the gradient of the sum of
the output (the seed `gradient_tensors` uses for a tensor output: ones),
against torch's backward of ones; and a random upstream gradient G, given to
our passes as the program `out = ...; f = sum(out * G)` and to torch as
`grad_outputs`. The shape pass (`infer_shapes`, from the declarations) must
agree with every node's computed shape.

Then programs written with tensors against the same programs written out in
scalars (`exprgraph.compile(...).evaluate(...)`, the scalar passes).

PyTorch is a test-only dependency; without it this file is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import exprgraph
from exprgraph.core.ops import CONST, INPUT, OPS
from exprgraph.core.tensor_ops import TENSOR_OPS
from exprgraph.passes.shapes import infer_shapes
from exprgraph.passes.tensor import evaluate_tensors, gradient_tensors, tensor
from exprgraph.syntax.parse import parse_program

torch = pytest.importorskip(
    "torch", reason="PyTorch is the tensor oracle extra: pip install -e '.[oracle]'")

Value = Any  # a float, or a float64 array
Oracle = Callable[[dict[str, Any]], Any]  # torch tensors by name -> torch tensor


# --- drawing values ---------------------------------------------------------------


def _floats(low: float = -2.0, high: float = 2.0) -> st.SearchStrategy[float]:
    # Rounded to 6 places: 0 or at least 1e-6 in size, never a tiny number
    # whose square underflows (norm) or whose reciprocal overflows.
    return st.floats(low, high, allow_nan=False, allow_infinity=False,
                     allow_subnormal=False).map(lambda v: round(v, 6))


def _array(data: st.DataObject, shape: tuple[int, ...], low: float = -2.0,
           high: float = 2.0) -> Value:
    if not shape:
        return data.draw(_floats(low, high))
    size = math.prod(shape)
    xs = data.draw(st.lists(_floats(low, high), min_size=size, max_size=size))
    return np.array(xs, dtype=np.float64).reshape(shape)


def _away(data: st.DataObject, shape: tuple[int, ...]) -> Value:
    """Elements 0.5 <= |v| <= 2 of either sign: a divisor, atan2's point."""
    size = max(1, math.prod(shape))
    signs = np.array(data.draw(st.lists(st.sampled_from((-1.0, 1.0)), min_size=size,
                                        max_size=size)))
    magnitudes = np.asarray(_array(data, (size,), 0.5, 2.0))
    values = signs * magnitudes
    return float(values[0]) if not shape else values.reshape(shape)


def _dim(data: st.DataObject, low: int = 1) -> int:
    return data.draw(st.integers(low, 4))


def _dominant(data: st.DataObject, n: int) -> np.ndarray:
    """R + (n+1)·I, |Rᵢⱼ| <= 1: well-conditioned, det > 0, not symmetric."""
    return np.asarray(_array(data, (n, n), -1.0, 1.0)) + (n + 1) * np.eye(n)


def _spd(data: st.DataObject, n: int) -> np.ndarray:
    """B Bᵀ + n·I: symmetric positive definite."""
    b = np.asarray(_array(data, (n, n), -1.0, 1.0))
    return b @ b.T + n * np.eye(n)


def _square(data: st.DataObject) -> np.ndarray:
    n = _dim(data)
    return _dominant(data, n) if data.draw(st.booleans()) else _spd(data, n)


# --- the cases --------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    """A program's last expression over named inputs, and torch's version."""

    expr: str
    inputs: dict[str, Value]
    oracle: Oracle


@dataclass(frozen=True)
class Case:
    ops: tuple[str, ...]  # the op entries (TENSOR_OPS, OPS) it exercises
    draw: Callable[[st.DataObject], Instance]


CASES: dict[str, Case] = {}


def case(name: str, *ops: str) -> Callable[[Callable[[st.DataObject], Instance]], Any]:
    def register(draw: Callable[[st.DataObject], Instance]) -> Any:
        CASES[name] = Case(ops, draw)
        return draw

    return register


def _shape_of(kind: str, m: int, n: int) -> tuple[int, ...]:
    """An operand's shape: a scalar, a vector of length n (or its transpose,
    a row), an m×n matrix (a vector of length n broadcasts against its rows)."""
    return {"s": (), "v": (n,), "r": (n,), "m": (m, n)}[kind]


def _operand(name: str, kind: str) -> str:
    return f"{name}'" if kind == "r" else name


# Unary elementwise functions: torch's counterpart and the values to draw.
UNARY: dict[str, tuple[Callable[[Any], Any], float, float]] = {
    "sin": (lambda x: torch.sin(x), -2, 2), "cos": (lambda x: torch.cos(x), -2, 2),
    "tan": (lambda x: torch.tan(x), -1.2, 1.2), "asin": (lambda x: torch.asin(x), -0.95, 0.95),
    "acos": (lambda x: torch.acos(x), -0.95, 0.95), "atan": (lambda x: torch.atan(x), -2, 2),
    "sinh": (lambda x: torch.sinh(x), -2, 2), "cosh": (lambda x: torch.cosh(x), -2, 2),
    "tanh": (lambda x: torch.tanh(x), -2, 2), "exp": (lambda x: torch.exp(x), -2, 2),
    "log": (lambda x: torch.log(x), 0.1, 3), "log2": (lambda x: torch.log2(x), 0.1, 3),
    "log10": (lambda x: torch.log10(x), 0.1, 3), "sqrt": (lambda x: torch.sqrt(x), 0.1, 3),
    # The kinks (0 is drawn often): abs′(0) = relu′(0) = 0, as in PyTorch.
    "abs": (lambda x: torch.abs(x), -2, 2), "relu": (lambda x: torch.relu(x), -2, 2),
    "sigmoid": (lambda x: torch.sigmoid(x), -2, 2),
    "softplus": (lambda x: torch.nn.functional.softplus(x), -2, 2),
    "sign": (lambda x: torch.sign(x), -2, 2),
    # torch's heaviside has no derivative; step′ = 0.
    "step": (lambda x: x * 0 + (x > 0).to(x.dtype), -2, 2),
}


def _unary_case(fn: str) -> None:
    torch_fn, low, high = UNARY[fn]

    @case(f"elementwise {fn}", fn)
    def draw(data: st.DataObject) -> Instance:
        kind = data.draw(st.sampled_from("svrm"))
        a = _array(data, _shape_of(kind, _dim(data), _dim(data)), low, high)
        return Instance(f"{fn}({_operand('a', kind)})", {"a": a}, lambda t: torch_fn(t["a"]))


for _fn in UNARY:
    _unary_case(_fn)


@case("elementwise neg", "neg")
def _neg(data: st.DataObject) -> Instance:
    kind = data.draw(st.sampled_from("svrm"))
    a = _array(data, _shape_of(kind, _dim(data), _dim(data)))
    return Instance(f"-{_operand('a', kind)}", {"a": a}, lambda t: -t["a"])


# Every broadcast core/shapes.py allows: a scalar against anything, equal
# shapes, a vector against a matrix's rows (either side), rows against rows.
PAIRS = ("ss", "sv", "vs", "sm", "ms", "vv", "mm", "mv", "vm", "rr", "sr", "rs")

# Binary elementwise ops: text, torch, and how to draw each side.
Side = Callable[[st.DataObject, tuple[int, ...]], Value]
ANY: Side = _array
BINARY: dict[str, tuple[Callable[[str, str], str], Callable[[Any, Any], Any], Side, Side]] = {
    "add": (lambda a, b: f"{a} + {b}", lambda a, b: a + b, ANY, ANY),
    "sub": (lambda a, b: f"{a} - {b}", lambda a, b: a - b, ANY, ANY),
    "mul": (lambda a, b: f"{a} * {b}", lambda a, b: a * b, ANY, ANY),
    "div": (lambda a, b: f"{a} / {b}", lambda a, b: a / b, ANY, _away),
    "pow": (lambda a, b: f"{a} ^ {b}", lambda a, b: torch.pow(a, b),
            lambda d, s: _array(d, s, 0.5, 2.0), ANY),
    # Ties are drawn often: each argument gets half, in PyTorch as here.
    "min": (lambda a, b: f"min({a}, {b})", lambda a, b: torch.minimum(a, b), ANY, ANY),
    "max": (lambda a, b: f"max({a}, {b})", lambda a, b: torch.maximum(a, b), ANY, ANY),
    "atan2": (lambda a, b: f"atan2({a}, {b})", lambda a, b: torch.atan2(a, b), _away, _away),
    "hypot": (lambda a, b: f"hypot({a}, {b})", lambda a, b: torch.hypot(a, b), _away, _away),
}


def _binary_case(op: str) -> None:
    text, torch_fn, left, right = BINARY[op]

    @case(f"elementwise {op}", op)
    def draw(data: st.DataObject) -> Instance:
        pair = data.draw(st.sampled_from(PAIRS))
        m, n = _dim(data), _dim(data)
        a, b = left(data, _shape_of(pair[0], m, n)), right(data, _shape_of(pair[1], m, n))
        return Instance(text(_operand("a", pair[0]), _operand("b", pair[1])), {"a": a, "b": b},
                        lambda t: torch_fn(t["a"], t["b"]))


for _op in BINARY:
    _binary_case(_op)


@case("pow by a constant", "pow")
def _pow_constant(data: st.DataObject) -> Instance:
    """A constant exponent: a negative base is fine for a whole power."""
    kind = data.draw(st.sampled_from("svrm"))
    power = data.draw(st.sampled_from((2, 3, -1, 0.5)))
    shape = _shape_of(kind, _dim(data), _dim(data))
    a = _away(data, shape) if power == -1 else _array(data, shape, 0.1, 2) if power == 0.5 \
        else _array(data, shape)
    return Instance(f"{_operand('a', kind)}^({power})", {"a": a},
                    lambda t: torch.pow(t["a"], power))


@case("pow of a constant", "pow")
def _pow_of_constant(data: st.DataObject) -> Instance:
    kind = data.draw(st.sampled_from("svrm"))
    a = _array(data, _shape_of(kind, _dim(data), _dim(data)))
    return Instance(f"2.5^{_operand('a', kind)}", {"a": a}, lambda t: torch.pow(2.5, t["a"]))


def _matmul(name: str, expr: str, shapes: Callable[[int, int, int], dict[str, tuple[int, ...]]],
            oracle: Oracle) -> None:
    """A matmul case: `shapes(m, n, k)` gives each input's shape."""

    @case(f"matmul {name}", "matmul", *(("transpose",) if "'" in expr else ()))
    def draw(data: st.DataObject) -> Instance:
        sizes = shapes(_dim(data), _dim(data), _dim(data))
        return Instance(expr, {k: _array(data, s) for k, s in sizes.items()}, oracle)


# Every combination core/shapes.py's matmul accepts.
_matmul("matrix @ matrix", "A @ B", lambda m, n, k: {"A": (m, n), "B": (n, k)},
        lambda t: t["A"] @ t["B"])
_matmul("matrix @ vector", "A @ x", lambda m, n, k: {"A": (m, n), "x": (n,)},
        lambda t: t["A"] @ t["x"])
_matmul("vector @ matrix (a vector, as in NumPy)", "x @ A",
        lambda m, n, k: {"x": (m,), "A": (m, n)}, lambda t: t["x"] @ t["A"])
_matmul("row @ matrix (a row)", "x' @ A", lambda m, n, k: {"x": (m,), "A": (m, n)},
        lambda t: t["x"] @ t["A"])
_matmul("row @ vector (a scalar)", "x' @ y", lambda m, n, k: {"x": (n,), "y": (n,)},
        lambda t: torch.dot(t["x"], t["y"]))
_matmul("vector @ vector (a scalar)", "x @ y", lambda m, n, k: {"x": (n,), "y": (n,)},
        lambda t: torch.dot(t["x"], t["y"]))
_matmul("vector @ row (the outer product)", "x @ y'", lambda m, n, k: {"x": (m,), "y": (k,)},
        lambda t: torch.outer(t["x"], t["y"]))
_matmul("quadratic form x' @ A @ x", "x' @ A @ x", lambda m, n, k: {"x": (n,), "A": (n, n)},
        lambda t: t["x"] @ t["A"] @ t["x"])
_matmul("transposed matrices A' @ B'", "A' @ B'", lambda m, n, k: {"A": (n, m), "B": (k, n)},
        lambda t: t["A"].T @ t["B"].T)
_matmul("row @ transposed matrix", "x' @ A'", lambda m, n, k: {"x": (n,), "A": (m, n)},
        lambda t: t["x"] @ t["A"].T)
_matmul("a chain A @ B @ x", "A @ B @ x", lambda m, n, k: {"A": (m, n), "B": (n, k),
                                                            "x": (k,)},
        lambda t: t["A"] @ t["B"] @ t["x"])


def _unary_tensor(name: str, op: str, expr: str, kinds: str,
                  oracle: Callable[[Any], Any], low: float = -2.0, high: float = 2.0) -> None:
    """A case of a one-argument tensor function over the shape kinds given."""

    @case(name, op, *(("transpose",) if "'" in expr else ()))
    def draw(data: st.DataObject) -> Instance:
        kind = data.draw(st.sampled_from(kinds))
        a = _array(data, _shape_of(kind, _dim(data), _dim(data)), low, high)
        return Instance(expr.format(a=_operand("a", kind)), {"a": a},
                        lambda t: oracle(t["a"]))


_unary_tensor("transpose", "transpose", "{a}'", "svrm",
              lambda a: a.T if a.dim() == 2 else a)
_unary_tensor("transpose twice", "transpose", "{a}''", "svrm", lambda a: a)
_unary_tensor("transpose by name", "transpose", "transpose({a})", "svrm",
              lambda a: a.T if a.dim() == 2 else a)
_unary_tensor("sum", "sum", "sum({a})", "svrm", lambda a: a.sum())
_unary_tensor("mean", "mean", "mean({a})", "svrm", lambda a: a.mean())
_unary_tensor("diag of a vector (a matrix)", "diag", "diag({a})", "v", torch.diag)
# ones_like(a) * a: ones of a's shape (its own derivative 0), times a.
_unary_tensor("ones_like", "ones_like", "ones_like({a}) * {a}", "svrm",
              lambda a: torch.ones_like(a) * a)
_unary_tensor("logsumexp", "logsumexp", "logsumexp({a})", "vrm",
              lambda a: torch.logsumexp(a.reshape(-1), 0), -3, 3)


@case("norm", "norm")
def _norm(data: st.DataObject) -> Instance:
    kind = data.draw(st.sampled_from("vrm"))
    a = _array(data, _shape_of(kind, _dim(data), _dim(data)))
    assume(np.any(a != 0))  # norm's gradient x/‖x‖ is a math error at 0
    return Instance(f"norm({_operand('a', kind)})", {"a": a},
                    lambda t: torch.linalg.vector_norm(t["a"].reshape(-1)))


@case("dot", "dot")
def _dot(data: st.DataObject) -> Instance:
    n = _dim(data)
    return Instance("dot(x, y)", {"x": _array(data, (n,)), "y": _array(data, (n,))},
                    lambda t: torch.dot(t["x"], t["y"]))


@case("outer", "outer")
def _outer(data: st.DataObject) -> Instance:
    return Instance("outer(x, y)", {"x": _array(data, (_dim(data),)),
                                    "y": _array(data, (_dim(data),))},
                    lambda t: torch.outer(t["x"], t["y"]))


@case("tr", "tr")
def _trace(data: st.DataObject) -> Instance:
    n = _dim(data)
    return Instance("tr(A)", {"A": _array(data, (n, n))}, lambda t: torch.trace(t["A"]))


@case("diag of a square matrix (a vector)", "diag")
def _diag_matrix(data: st.DataObject) -> Instance:
    n = _dim(data)
    return Instance("diag(A)", {"A": _array(data, (n, n))}, lambda t: torch.diag(t["A"]))


@case("det", "det")
def _det(data: st.DataObject) -> Instance:
    return Instance("det(A)", {"A": _square(data)}, lambda t: torch.linalg.det(t["A"]))


@case("det of a general matrix", "det")
def _det_general(data: st.DataObject) -> Instance:
    """Entries in [-2, 2], kept only where the matrix is well-conditioned."""
    n = _dim(data)
    a = np.asarray(_array(data, (n, n)))
    assume(np.linalg.cond(a) < 1e3)
    return Instance("det(A)", {"A": a}, lambda t: torch.linalg.det(t["A"]))


@case("inv", "inv")
def _inv(data: st.DataObject) -> Instance:
    return Instance("inv(A)", {"A": _square(data)}, lambda t: torch.linalg.inv(t["A"]))


@case("logdet", "logdet")
def _logdet(data: st.DataObject) -> Instance:
    return Instance("logdet(A)", {"A": _square(data)}, lambda t: torch.logdet(t["A"]))


@case("softmax", "softmax")
def _softmax(data: st.DataObject) -> Instance:
    """A vector or a row, shifted by up to ±700: nothing overflows."""
    kind = data.draw(st.sampled_from("vr"))
    shift = data.draw(st.sampled_from((0.0, 0.0, 50.0, -700.0, 700.0)))
    a = np.asarray(_array(data, (_dim(data),), -3, 3)) + shift
    return Instance(f"softmax({_operand('a', kind)})", {"a": a},
                    lambda t: torch.softmax(t["a"], 0))


@case("logsumexp shifted", "logsumexp")
def _logsumexp_shifted(data: st.DataObject) -> Instance:
    shift = data.draw(st.sampled_from((50.0, -700.0, 700.0)))
    a = np.asarray(_array(data, (_dim(data),), -3, 3)) + shift
    return Instance("logsumexp(a)", {"a": a}, lambda t: torch.logsumexp(t["a"], 0))


@case("index of a vector", "index")
def _index_vector(data: st.DataObject) -> Instance:
    kind = data.draw(st.sampled_from("vr"))
    n = _dim(data)
    i = data.draw(st.integers(0, n - 1))
    return Instance(f"{_operand('x', kind)}[{i}]", {"x": _array(data, (n,))},
                    lambda t: t["x"][i])


@case("index of a matrix (a row, as a vector)", "index")
def _index_row(data: st.DataObject) -> Instance:
    m, n = _dim(data), _dim(data)
    i = data.draw(st.integers(0, m - 1))
    return Instance(f"W[{i}]", {"W": _array(data, (m, n))}, lambda t: t["W"][i])


@case("index of a matrix twice, W[i, j]", "index")
def _index_element(data: st.DataObject) -> Instance:
    m, n = _dim(data), _dim(data)
    i, j = data.draw(st.integers(0, m - 1)), data.draw(st.integers(0, n - 1))
    return Instance(f"W[{i}, {j}]", {"W": _array(data, (m, n))}, lambda t: t["W"][i, j])


# --- compositions -----------------------------------------------------------------


@case("a layer, sum(tanh(W @ x + b))", "matmul", "add", "tanh", "sum")
def _layer(data: st.DataObject) -> Instance:
    m, n = _dim(data), _dim(data)
    return Instance("sum(tanh(W @ x + b))", {"W": _array(data, (m, n)), "x": _array(data, (n,)),
                                             "b": _array(data, (m,))},
                    lambda t: torch.tanh(t["W"] @ t["x"] + t["b"]).sum())


@case("cross-entropy, logsumexp(z) - z[k]", "matmul", "add", "logsumexp", "index", "sub")
def _cross_entropy(data: st.DataObject) -> Instance:
    m, n = _dim(data), _dim(data)
    k = data.draw(st.integers(0, m - 1))

    def oracle(t: dict[str, Any]) -> Any:
        z = t["W"] @ t["x"] + t["b"]
        return torch.nn.functional.cross_entropy(z[None, :], torch.tensor([k]))

    return Instance(f"logsumexp(W @ x + b) - (W @ x + b)[{k}]",
                    {"W": _array(data, (m, n)), "x": _array(data, (n,)),
                     "b": _array(data, (m,))}, oracle)


@case("softmax probabilities, -log(softmax(W @ x)[k])", "matmul", "softmax", "index", "log",
      "neg")
def _softmax_nll(data: st.DataObject) -> Instance:
    m, n = _dim(data), _dim(data)
    k = data.draw(st.integers(0, m - 1))
    return Instance(f"-log(softmax(W @ x)[{k}])",
                    {"W": _array(data, (m, n)), "x": _array(data, (n,))},
                    lambda t: -torch.log(torch.softmax(t["W"] @ t["x"], 0)[k]))


@case("linear algebra, norm(inv(A) @ x) + tr(A @ diag(x)) * logdet(A)", "inv", "matmul", "norm",
      "tr", "diag", "logdet", "mul", "add")
def _linear_algebra(data: st.DataObject) -> Instance:
    a = _square(data)
    x = _away(data, (a.shape[0],))

    def oracle(t: dict[str, Any]) -> Any:
        a, x = t["A"], t["x"]
        return (torch.linalg.vector_norm(torch.linalg.inv(a) @ x)
                + torch.trace(a @ torch.diag(x)) * torch.logdet(a))

    return Instance("norm(inv(A) @ x) + tr(A @ diag(x)) * logdet(A)", {"A": a, "x": x}, oracle)


@case("a matrix against its rows, (A - mean(A)) / v + outer(u, v)", "sub", "mean", "div",
      "outer", "add")
def _rows(data: st.DataObject) -> Instance:
    m, n = _dim(data), _dim(data)
    return Instance("(A - mean(A)) / v + outer(u, v)",
                    {"A": _array(data, (m, n)), "v": _away(data, (n,)), "u": _array(data, (m,))},
                    lambda t: (t["A"] - t["A"].mean()) / t["v"] + torch.outer(t["u"], t["v"]))


# --- running both -----------------------------------------------------------------


def _declaration(name: str, value: Value) -> str:
    shape = np.shape(value)
    if not shape:
        return f"{name}: scalar"
    if len(shape) == 1:
        return f"{name}: vector({shape[0]})"
    return f"{name}: matrix({shape[0]}, {shape[1]})"


def _ours(text: str, inputs: dict[str, Value]) -> tuple[Value, bool, dict[str, np.ndarray]]:
    """Parse, check shapes, evaluate and differentiate through passes/tensor.py:
    the output's value, whether it is a row vector, and ∂sum(output)/∂input."""
    graph = parse_program(text)
    declared = infer_shapes(graph.nodes, graph.declarations, text)
    values = evaluate_tensors(graph.nodes, {k: tensor(v) for k, v in inputs.items()})
    for index, value in enumerate(values):  # the shape pass agrees with the values
        assert declared[index] == value.shape, (text, graph.nodes[index].op.name)
        assert np.shape(value.data) == tuple(value.shape.dims), text
    adjoints = gradient_tensors(graph.nodes, values, graph.output)
    for index, adjoint in adjoints.items():  # an adjoint has its node's shape
        assert adjoint.shape == values[index].shape, (text, graph.nodes[index].op.name)
    gradient = {graph.nodes[i].label: np.asarray(adjoints[i].data) for i in graph.inputs}
    out = values[graph.output]
    return out.data, out.shape.row, gradient


def _theirs(oracle: Oracle, inputs: dict[str, Value], upstream: Value | None = None
            ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """torch's value and vector–Jacobian product (of ones, or of `upstream`)."""
    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for k, v in inputs.items()}
    out = oracle(leaves)
    seed = torch.ones_like(out) if upstream is None else torch.tensor(upstream,
                                                                      dtype=torch.float64)
    grads = torch.autograd.grad(out, list(leaves.values()), grad_outputs=seed,
                                allow_unused=True)
    return out.detach().numpy(), {
        k: np.zeros(np.shape(inputs[k])) if g is None else g.numpy()
        for k, g in zip(leaves, grads, strict=True)}


def _assert_close(got: Value, want: Value, what: str) -> None:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, torch's {want.shape}"
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * scale, err_msg=what)


def test_every_op_has_an_oracle_case() -> None:
    """Every tensor op and every elementwise op (an entry added later too)."""
    elementwise = {name for name, op in OPS.items() if op not in (INPUT, CONST)}
    covered = {op for c in CASES.values() for op in c.ops}
    assert set(TENSOR_OPS) | elementwise <= covered, (set(TENSOR_OPS) | elementwise) - covered


@pytest.mark.parametrize("name", list(CASES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_value_and_vector_jacobian_products_match_torch(name: str, data: st.DataObject) -> None:
    instance = CASES[name].draw(data)
    declarations = "; ".join(_declaration(k, v) for k, v in instance.inputs.items())
    text = f"{declarations}; out = {instance.expr}"
    value, row, gradient = _ours(text, instance.inputs)
    want_value, want_gradient = _theirs(instance.oracle, instance.inputs)
    where = f"{name}: {text} at {instance.inputs}"
    _assert_close(value, want_value, f"value of {where}")
    for k in instance.inputs:  # the gradient of the output's sum (a ones seed)
        _assert_close(gradient[k], want_gradient[k], f"∂sum(out)/∂{k} of {where}")

    # A random upstream gradient G of the output's shape, through sum(out * G).
    g = _array(data, np.shape(want_value))
    given_g = {**instance.inputs, "G": g}
    weighted = (f"{declarations}; {_declaration('G', g)}; out = {instance.expr}; "
                f"f = sum(out * G{chr(39) if row else ''})")
    total, _, gradient = _ours(weighted, given_g)
    _, want_gradient = _theirs(instance.oracle, instance.inputs, upstream=g)
    _assert_close(total, float(np.sum(want_value * g)), f"sum(out * G) of {where}, G = {g}")
    for k in instance.inputs:
        _assert_close(gradient[k], want_gradient[k], f"∂sum(out * G)/∂{k} of {where}, G = {g}")
    _assert_close(gradient["G"], want_value, f"∂sum(out * G)/∂G of {where}")


# --- the same program in tensors and in scalars -------------------------------------


def _names(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The scalar names of a tensor's elements: x0, x1, ...; W00, W01, ..."""
    return np.array([name + "".join(map(str, p)) for p in np.ndindex(*shape)],
                    dtype=object).reshape(shape)


def _plus(terms: Any) -> str:
    return "(" + " + ".join(terms) + ")"


@dataclass(frozen=True)
class Twin:
    """A program in tensors, and the same written out in scalars."""

    tensor_text: str
    scalar_text: str
    inputs: dict[str, np.ndarray]


def _layer_twin(data: st.DataObject) -> Twin:
    """sum(tanh(W @ x + b))"""
    m, n = _dim(data, 1), _dim(data, 1)
    w, x, b = _names("W", (m, n)), _names("x", (n,)), _names("b", (m,))
    rows = [f"tanh({_plus([f'{w[i, j]}*{x[j]}' for j in range(n)] + [b[i]])})"
            for i in range(m)]
    return Twin(f"W: matrix({m}, {n}); x: vector({n}); b: vector({m}); f = sum(tanh(W @ x + b))",
                "f = " + " + ".join(rows),
                {"W": _array(data, (m, n)), "x": _array(data, (n,)), "b": _array(data, (m,))})


def _quadratic_twin(data: st.DataObject) -> Twin:
    """x' @ A @ x"""
    n = _dim(data, 1)
    a, x = _names("A", (n, n)), _names("x", (n,))
    terms = [f"{x[i]}*{a[i, j]}*{x[j]}" for i in range(n) for j in range(n)]
    return Twin(f"x: vector({n}); A: matrix({n}, {n}); f = x' @ A @ x", "f = " + _plus(terms),
                {"x": _array(data, (n,)), "A": _array(data, (n, n))})


def _cross_entropy_twin(data: st.DataObject) -> Twin:
    """-log(softmax(W @ h + b)[k]): softmax cross-entropy with an index."""
    m, n = _dim(data, 2), _dim(data, 1)
    k = data.draw(st.integers(0, m - 1))
    w, h, b = _names("W", (m, n)), _names("h", (n,)), _names("b", (m,))
    logits = [f"z{i} = " + _plus([f"{w[i, j]}*{h[j]}" for j in range(n)] + [b[i]])
              for i in range(m)]
    total = _plus([f"exp(z{i})" for i in range(m)])
    form = data.draw(st.sampled_from((f"-log(softmax(z)[{k}])", f"logsumexp(z) - z[{k}]")))
    return Twin(f"W: matrix({m}, {n}); h: vector({n}); b: vector({m}); z = W @ h + b; "
                f"f = {form}",
                "; ".join(logits) + f"; f = -log(exp(z{k}) / {total})",
                {"W": _array(data, (m, n)), "h": _array(data, (n,)), "b": _array(data, (m,))})


def _determinant_twin(data: st.DataObject) -> Twin:
    """det(A) + sum(inv(A)) for 2×2 (the adjugate), det(A) + logdet(A) for 3×3 (Sarrus)."""
    n = data.draw(st.sampled_from((2, 3)))
    a = _names("A", (n, n))
    if n == 2:
        det = f"({a[0, 0]}*{a[1, 1]} - {a[0, 1]}*{a[1, 0]})"
        return Twin("A: matrix(2, 2); f = det(A) + sum(inv(A))",
                    f"d = {det}; f = d + ({a[1, 1]} - {a[0, 1]} - {a[1, 0]} + {a[0, 0]}) / d",
                    {"A": _dominant(data, 2)})
    plus = [f"{a[0, i]}*{a[1, (i + 1) % 3]}*{a[2, (i + 2) % 3]}" for i in range(3)]
    minus = [f"{a[0, i]}*{a[1, (i - 1) % 3]}*{a[2, (i - 2) % 3]}" for i in range(3)]
    return Twin("A: matrix(3, 3); f = det(A) + logdet(A)",
                f"d = {_plus(plus)} - {_plus(minus)}; f = d + log(d)", {"A": _dominant(data, 3)})


def _norms_twin(data: st.DataObject) -> Twin:
    """norm(outer(x, y)) + mean(diag(outer(x, y))) + dot(x, y) * x[0]"""
    n = _dim(data, 1)
    x, y = _names("x", (n,)), _names("y", (n,))
    frobenius = f"sqrt({_plus([f'({x[i]}*{y[j]})^2' for i in range(n) for j in range(n)])})"
    dot = _plus([f"{x[i]}*{y[i]}" for i in range(n)])
    return Twin(f"x: vector({n}); y: vector({n}); "
                "f = norm(outer(x, y)) + mean(diag(outer(x, y))) + dot(x, y) * x[0]",
                f"f = {frobenius} + {dot} / {n} + {dot} * {x[0]}",
                {"x": _away(data, (n,)), "y": _away(data, (n,))})


TWINS = {"a layer": _layer_twin, "a quadratic form": _quadratic_twin,
         "softmax cross-entropy": _cross_entropy_twin, "det, inv, logdet": _determinant_twin,
         "norm, outer, diag, mean, dot": _norms_twin}


@pytest.mark.parametrize("name", list(TWINS))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_tensor_program_matches_the_same_program_in_scalars(name: str,
                                                              data: st.DataObject) -> None:
    twin = TWINS[name](data)
    value, _, gradient = _ours(twin.tensor_text, twin.inputs)
    point = {str(names[p]): float(twin.inputs[k][p])
             for k in twin.inputs for names in [_names(k, np.shape(twin.inputs[k]))]
             for p in np.ndindex(*np.shape(twin.inputs[k]))}
    scalar = exprgraph.compile(twin.scalar_text).evaluate(point)
    where = f"{twin.tensor_text} vs {twin.scalar_text} at {point}"
    _assert_close(value, scalar.value, f"value of {where}")
    for k, array in twin.inputs.items():
        names = _names(k, np.shape(array))
        want = np.array([scalar.gradient[str(names[p])] for p in np.ndindex(*np.shape(array))]
                        ).reshape(np.shape(array))
        _assert_close(gradient[k], want, f"∂f/∂{k} of {where}")
