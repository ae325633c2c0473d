"""The Python API: compile a program once, evaluate and differentiate it.

    >>> import exprgraph
    >>> f = exprgraph.compile("p = x + y; g = p * z")
    >>> r = f.evaluate(x=1, y=3, z=-3)
    >>> r.value, r.gradient
    (-12.0, {'x': -3.0, 'y': -3.0, 'z': 4.0})
    >>> r.values["p"], r.adjoints["p"]
    (4.0, -3.0)
    >>> f.derivative("z")
    'x + y'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any

from .core import shapes
from .core.errors import ExprGraphError, MathError, ShapeError, ValueInputError
from .core.graph import Graph, Node
from .core.ops import CONST, INPUT
from .core.records import Record
from .core.shapes import Shape
from .core.text import source_line
from .passes.autodiff import adjoints as reverse_adjoints
from .passes.autodiff import local_partial
from .passes.evaluate import evaluate as forward_values
from .passes.evaluate import missing_value
from .passes.shapes import infer_shapes
from .printing.text import expression_text
from .symbolic.builder import SymbolicGradient, symbolic_gradient
from .symbolic.calculus import (
    Expression,
    check_order,
    derivative,
    expression_of,
    gradient,
    hessian,
    in_names,
    simplified,
)
from .syntax.parse import parse_program

Value = Any  # a float, or a float64 NumPy array for a vector or matrix


# Evaluation, DiffEntry and DiffResult are plain classes rather than frozen
# dataclasses, for start-up (see core/records.py): immutable, and equal to
# another of the same fields, as they were.


class Evaluation(Record):
    """The forward and backward pass of a program at one point.

    `node_values[i]` and `node_adjoints[i]` follow `graph.nodes`; an adjoint is
    None for a node that depends on no input (a constant). `unused` lists the
    given names the program does not use (their gradient is 0).
    """

    # No __slots__: the cached properties below keep their values in __dict__.
    _fields = ("graph", "given", "node_values", "node_adjoints", "unused", "undefined",
               "shapes", "seed", "wrt")
    graph: Graph
    given: dict[str, Value]
    node_values: list[Value]
    node_adjoints: list[Value | None]
    unused: tuple[str, ...]
    # Node index -> why its adjoint is undefined (only from `evaluate_partially`).
    undefined: Mapping[int, MathError]
    # Each node's shape where some value is a vector or matrix (None: every
    # value is a float). Tensor values and adjoints are float64 NumPy arrays.
    shapes: tuple[Shape, ...] | None
    # The upstream gradient of a tensor output, where one was given (else
    # the adjoints are of the sum of the output's elements).
    seed: Value | None
    # The inputs the backward pass was asked for (None: every input).
    wrt: tuple[str, ...] | None

    def __init__(self, graph: Graph, given: dict[str, Value], node_values: list[Value],
                 node_adjoints: list[Value | None], unused: tuple[str, ...],
                 undefined: Mapping[int, MathError] | None = None,
                 shapes: tuple[Shape, ...] | None = None, seed: Value | None = None,
                 wrt: tuple[str, ...] | None = None) -> None:
        # Immutable: the fields go straight into __dict__, past Record.__setattr__.
        vars(self).update(graph=graph, given=given, node_values=node_values,
                          node_adjoints=node_adjoints, unused=unused,
                          undefined={} if undefined is None else undefined, shapes=shapes,
                          seed=seed, wrt=wrt)

    @property
    def value(self) -> Value:
        """The output's value: a float, or an array for a tensor output."""
        return self.node_values[self.graph.output]

    @property
    def is_tensor(self) -> bool:
        """Whether some value is a vector or a matrix."""
        return self.shapes is not None

    @cached_property
    def gradient(self) -> dict[str, Value]:
        """∂out/∂input for every input (an array of the input's shape for a
        tensor input), then 0.0 for each unused given name."""
        grad = {self.graph.nodes[i].label: _or_zero(self.node_adjoints[i])
                for i in self.graph.inputs if i not in self.undefined}
        grad.update((name, _zeros(self.given[name])) for name in self.unused)
        if self.wrt is not None:
            return {name: grad[name] for name in self.wrt if name in grad}
        return grad

    @cached_property
    def undefined_gradient(self) -> dict[str, MathError]:
        """The inputs whose ∂out/∂input is undefined here, with the reason."""
        return {self.graph.nodes[i].label: self.undefined[i] for i in self.graph.inputs
                if i in self.undefined}

    @cached_property
    def values(self) -> dict[str, float]:
        """Every named node's value, by name and alias."""
        return {name: self.node_values[i] for name, i in self.graph.names.items()}

    @cached_property
    def adjoints(self) -> dict[str, float | None]:
        """Every named node's adjoint ∂out/∂node, by name and alias."""
        return {name: self.node_adjoints[i] for name, i in self.graph.names.items()}

    def local_partial(self, node: int, position: int) -> float | None:
        """∂(node)/∂(its argument at `position`) here, or None where the
        argument is constant or the partial is undefined (and for a tensor
        evaluation, whose edges pass vector–Jacobian products: `contribution`)."""
        nodes = self.graph.nodes
        if self.is_tensor or not nodes[nodes[node].args[position]].varying:
            return None
        try:
            return local_partial(nodes, self.node_values, node, position, self.graph.source)
        except MathError:
            return None

    def contribution(self, node: int, position: int) -> float | None:
        """∂out/∂node · ∂node/∂(argument `position`): the edge's share of the
        argument's adjoint, or None where either factor is missing or undefined
        or the product is too large for a float (the argument's adjoint is then
        undefined too)."""
        adjoint = self.node_adjoints[node]
        if self.is_tensor:
            return self._tensor_contribution(node, position)
        partial = self.local_partial(node, position)
        if adjoint is None or partial is None or node in self.undefined:
            return None
        product = adjoint * partial
        return product if math.isfinite(product) else None

    def _tensor_contribution(self, node: int, position: int) -> Value | None:
        """The vector–Jacobian product the edge passes back (the argument's shape)."""
        from .passes.tensor import Tensor, edge_contribution

        nodes = self.graph.nodes
        adjoint = self.node_adjoints[node]
        if adjoint is None or node in self.undefined or \
                not nodes[nodes[node].args[position]].varying:
            return None
        assert self.shapes is not None
        values = [Tensor(v, s) for v, s in zip(self.node_values, self.shapes, strict=True)]
        try:
            found = edge_contribution(nodes, values, node, position,
                                      Tensor(adjoint, self.shapes[node]))
        except ExprGraphError:
            return None
        return found.data

    # --- display: a short repr; Jupyter's HTML tables and SVG (render/notebook.py) ---

    def __repr__(self) -> str:
        out = self.graph.output_name
        at = ", ".join(f"{name}={_shown_value(v)}" for name, v in self.given.items())
        grad = ", ".join(f"{name}: {_shown_value(v)}" for name, v in self.gradient.items())
        grad += "".join(f", {name}: undefined" for name in self.undefined_gradient)
        return _cut(f"<Evaluation of {out} at {at or 'no inputs'}: "
                    f"{out} = {_shown_value(self.value)}, gradient {grad or 'none'}", ">")

    def _repr_html_(self) -> str:
        """The node, edge and gradient tables `exprgraph eval` prints, as HTML."""
        return _display("evaluation_html", self)

    def _repr_svg_(self) -> str | None:
        """The graph with values and adjoints, by Graphviz (None without it)."""
        return _display("graph_svg", None, self)


def _or_zero(adjoint: Value | None) -> Value:
    return 0.0 if adjoint is None else adjoint


DIFF_KINDS = ("derivative", "gradient", "hessian", "jacobian")


class DiffEntry(Record):
    """One derivative: of output `of`, successively with respect to `wrt`."""

    __slots__ = _fields = ("of", "wrt", "expression", "shape", "index_form")
    of: str
    wrt: tuple[str, ...]
    expression: Expression
    # For a program with vectors or matrices: the derivative's shape (a
    # gradient has its variable's shape); None for a scalar program.
    shape: Shape | None
    # A matrix's derivative by a matrix, exact in index form
    # (`∂Y_ij/∂X_kl = A_ik*B_lj`): it is no matrix, so `expression` is Y itself.
    index_form: str | None

    def __init__(self, of: str, wrt: tuple[str, ...], expression: Expression,
                 shape: Shape | None = None, index_form: str | None = None) -> None:
        _set = object.__setattr__
        _set(self, "of", of)
        _set(self, "wrt", wrt)
        _set(self, "expression", expression)
        _set(self, "shape", shape)
        _set(self, "index_form", index_form)

    def __repr__(self) -> str:
        return f"<DiffEntry of {self.of} by {', '.join(self.wrt)}>"


class DiffResult(Record):
    """What `Program.diff` computed: a list of derivatives, or a matrix of them.

    For "hessian" and "jacobian", `entries` is the matrix in row-major order,
    `shape` its (rows, columns) and `rows` the row labels (inputs or outputs).
    """

    _fields = ("kind", "inputs", "entries", "shape", "rows")
    __slots__ = (*_fields, "program")
    kind: str
    inputs: tuple[str, ...]
    entries: tuple[DiffEntry, ...]
    shape: tuple[int, int] | None
    rows: tuple[str, ...]
    # The program differentiated (`Program.diff` sets it), for the display only:
    # not a field, so neither compared nor pickled (its op table holds lambdas).
    program: Program | None

    def __init__(self, kind: str, inputs: tuple[str, ...], entries: tuple[DiffEntry, ...],
                 shape: tuple[int, int] | None = None, rows: tuple[str, ...] = (),
                 program: Program | None = None) -> None:
        _set = object.__setattr__
        _set(self, "kind", kind)
        _set(self, "inputs", inputs)
        _set(self, "entries", entries)
        _set(self, "shape", shape)
        _set(self, "rows", rows)
        _set(self, "program", program)

    # --- display: a short repr; Jupyter's HTML table and LaTeX (render/notebook.py) ---

    def __repr__(self) -> str:
        shape = f" {self.shape[0]}×{self.shape[1]}" if self.shape else ""
        # A Jacobian is of several outputs: name them all, in order.
        of = ", ".join(dict.fromkeys(e.of for e in self.entries)) or (
            self.program.output if self.program is not None else "the output")
        shown = "; ".join(e.index_form or f"{_label(e.of, e.wrt)} = {e.expression}"
                          for e in self.entries[:_SHOWN])
        more = f"; … ({len(self.entries):,} entries)" if len(self.entries) > _SHOWN else ""
        return _cut(f"<DiffResult{shape} {self.kind} of {of}: {shown or 'none'}", more + ">")

    def _repr_html_(self) -> str | None:
        """The table `exprgraph diff` prints, as HTML."""
        return None if self.program is None else _display("diff_html", self)

    def _repr_latex_(self) -> str | None:
        """The derivatives (or the matrix) as `exprgraph diff --latex` prints them."""
        return None if self.program is None else _display("diff_latex", self)


_ORDER_HINTS = {
    "gradient": "the second partials are the Hessian; for one input's n-th derivative "
    "name the input",
    "hessian": "a Hessian is always of second order; for higher orders name the inputs "
    "to differentiate by, one step each",
    "jacobian": "a Jacobian holds first partials; for higher orders differentiate one "
    "output by named inputs",
}


class Program:
    """A compiled program: its graph, and its symbolic derivatives on demand."""

    def __init__(self, graph: Graph, given_shapes: Mapping[str, Shape] | None = None) -> None:
        self.graph = graph
        # Every node's shape from the shape pass over the declared and given
        # shapes (None where it waits for values: an input used as a vector
        # or matrix is not declared).
        self.shapes = _node_shapes(graph, given_shapes or {})
        # Whether every node is a scalar: the float passes and the symbolic
        # derivatives apply (matrix calculus is not built yet).
        self.scalar = self.shapes is not None and all(s.is_scalar for s in self.shapes)
        self._matrix_cache: dict[tuple[Shape, ...], dict[str, tuple[Expression, Shape]]] = {}

    def _require_scalar(self) -> None:
        """A ShapeError where the program works on vectors or matrices: its
        symbolic derivatives (matrix calculus) are not supported yet."""
        if self.scalar:
            return
        declared = [f"{name} is {shape}" for name, shape in self.graph.declarations.items()
                    if not shape.is_scalar]
        why = f" ({'; '.join(declared)})" if declared else ""
        if self.shapes is None:
            raise ShapeError("the program needs some inputs to be vectors or matrices, so "
                             "its symbolic derivatives and simplification are not supported "
                             "yet",
                             hint="eval computes its values and gradients with numbers, "
                             "given vector and matrix values")
        raise ShapeError("symbolic derivatives and simplification of programs with vectors "
                         f"or matrices are not supported yet{why}",
                         hint="eval computes their values and gradients with numbers")

    @property
    def inputs(self) -> tuple[str, ...]:
        """The input variables, in order of first use."""
        return self.graph.input_names

    @property
    def output(self) -> str:
        """The output node's name."""
        return self.graph.output_name

    def evaluate(self, values: Mapping[str, Value] | None = None, /,
                 **more: Value) -> Evaluation:
        """Forward and backward pass at the point given by `values` and/or
        keywords, which take precedence over the program's `where` clause.

        A value is a number, or for a vector or matrix a nested list or a
        NumPy array (rank 1 or 2); shapes are checked against the program's
        declarations and its operations before anything is computed. For a
        tensor output the adjoints are of the sum of its elements.
        """
        return self._evaluate({**(values or {}), **more}, None)

    def evaluate_partially(self, values: Mapping[str, Value] | None = None, /,
                           **more: Value) -> Evaluation:
        """Like `evaluate`, but an undefined partial derivative does not stop the
        backward pass: the adjoints that depend on it are None, with the reason in
        `Evaluation.undefined` (and `undefined_gradient` for inputs). An undefined
        value still raises MathError."""
        return self._evaluate({**(values or {}), **more}, {})

    def evaluate_seeded(self, values: Mapping[str, Value], seed: Value, *,
                        partially: bool = False) -> Evaluation:
        """`evaluate` with the upstream gradient `seed` (∂L/∂output, of the
        output's shape) in place of the gradient of the output's sum: the
        adjoints are then of ⟨seed, output⟩, as PyTorch's `backward(seed)`."""
        return self._evaluate(dict(values), {} if partially else None, seed)

    def evaluate_wrt(self, values: Mapping[str, Value], wrt: Sequence[str]) -> Evaluation:
        """`evaluate`, with the backward pass only for the inputs `wrt` (the
        parameters being trained): for vectors and matrices, no work is
        spent on the adjoints of the data. `gradient` then has those names."""
        for name in wrt:
            self._check_input(name)
        return self._evaluate(dict(values), None, wrt=tuple(wrt))

    def _evaluate(self, values: Mapping[str, Value], undefined: dict[int, MathError] | None,
                  seed: Value | None = None, wrt: tuple[str, ...] | None = None
                  ) -> Evaluation:
        given = {**self.graph.given, **values}
        if not self.scalar or seed is not None or \
                any(not isinstance(v, numbers.Real) for v in given.values()):
            return self._evaluate_tensors(given, undefined, seed, wrt)
        for name, value in given.items():
            check_value(name, value)
        node_values = forward_values(self.graph, given)
        node_adjoints = reverse_adjoints(self.graph, node_values, undefined)
        return Evaluation(self.graph, {k: float(v) for k, v in given.items()}, node_values,
                          node_adjoints, self._unused(given), undefined or {}, wrt=wrt)

    def _unused(self, given: Mapping[str, Value]) -> tuple[str, ...]:
        used = set(self.graph.names)
        return tuple(name for name in given if name not in used
                     or self.graph.nodes[self.graph.names[name]].op is not INPUT)

    def _evaluate_tensors(self, given: Mapping[str, Value],
                          undefined: dict[int, MathError] | None, seed: Value | None,
                          wrt: tuple[str, ...] | None = None) -> Evaluation:
        """The NumPy passes (passes/tensor.py): shapes bound from the values
        and checked, then values and vector–Jacobian adjoints."""
        from .passes.tensor import evaluate_tensors, gradient_tensors, input_tensor

        graph = self.graph
        for index in graph.inputs:  # before the shapes: a missing one is not a scalar
            if graph.nodes[index].label not in given:
                raise missing_value(graph.nodes[index], graph.source)
        tensors = {name: input_tensor(name, value) for name, value in given.items()}
        node_shapes = infer_shapes(graph.nodes, self.input_shapes(
            {name: t.shape for name, t in tensors.items()}), graph.source,
            graph.assigned)
        computed = evaluate_tensors(graph.nodes, tensors, graph.source)
        upstream = None if seed is None else \
            _seed_tensor(seed, node_shapes[graph.output], graph.output_name)
        found = gradient_tensors(graph.nodes, computed, graph.output, upstream, undefined,
                                 None if wrt is None else [graph.names[n] for n in wrt])
        node_adjoints: list[Value | None] = []
        for index, node in enumerate(graph.nodes):
            if index in found:
                node_adjoints.append(found[index].data)
            elif node.varying and wrt is None and (undefined is None or index not in undefined):
                node_adjoints.append(_zeros(computed[index].data))  # does not reach out
            else:
                node_adjoints.append(None)
        return Evaluation(graph, {name: t.data for name, t in tensors.items()},
                          [t.data for t in computed], node_adjoints, self._unused(given),
                          undefined or {}, tuple(node_shapes),
                          None if upstream is None else upstream.data, wrt)

    def input_shapes(self, given: Mapping[str, Shape]) -> dict[str, Shape]:
        """The inputs' shapes from their values' shapes, checked against the
        program's declarations (a ShapeError at the declaration where one
        disagrees); named dimensions bind to the first value's sizes."""
        return _input_shapes(self.graph, given)

    @cached_property
    def symbolic(self) -> SymbolicGradient:
        """Symbolic reverse mode over the graph, every edge (built once, on first use)."""
        self._require_scalar()
        return symbolic_gradient(self.graph, every_edge=True)

    @cached_property
    def expression(self) -> Expression:
        """The output over the inputs, simplified."""
        self._require_scalar()
        return expression_of(self.graph)

    @cached_property
    def gradient_expressions(self) -> dict[str, Expression]:
        """∂out/∂input for every input, simplified: one reverse sweep over the
        canonical forms of the simplified output, as `diff` takes any one
        derivative, so a partial prints the same wherever it is shown. For a
        program with vectors or matrices, the gradients in matrix notation
        (`matrix_gradients`, at the declared shapes)."""
        if not self.scalar and self.shapes is not None:
            return {name: expr for name, (expr, _) in self.matrix_gradients().items()}
        found = gradient(self.expression, self.inputs)  # as `diff` differentiates it
        return dict(zip(self.inputs, found, strict=True))

    def matrix_gradients(self, node_shapes: Sequence[Shape] | None = None
                         ) -> dict[str, tuple[Expression, Shape]]:
        """∂out/∂input for every input of a program with vectors or matrices,
        each an expression in matrix notation (symbolic/matrix_derivatives.py) with its
        shape, the input's own. `node_shapes` are the shapes of a given
        evaluation, where the program does not declare them. The output must
        be a scalar."""
        from .symbolic.matrix_derivatives import matrix_gradient

        node_shapes = node_shapes if node_shapes is not None else self.shapes
        if node_shapes is None:
            raise ShapeError("the shapes of the inputs are not known",
                             hint="declare them (x: vector(n); W: matrix(m, n)) or give "
                             "values")
        key = tuple(node_shapes)
        cached = self._matrix_cache.get(key)
        if cached is not None:
            return cached
        output = self.graph.output
        if not node_shapes[output].is_scalar:
            raise ShapeError(f"the output {self.output} is {node_shapes[output]}: a gradient "
                             "is of a scalar", hint="differentiate a scalar such as "
                             f"L = sum({self.output}), or ask for the Jacobian")
        wrt = [self.graph.names[name] for name in self.inputs]
        builder, found = matrix_gradient(self.graph, node_shapes, output, wrt)
        nodes, built = tuple(builder.nodes), tuple(builder.shapes)
        result = {name: (Expression(nodes, found[index], built), node_shapes[index])
                  for name, index in zip(self.inputs, wrt, strict=True)}
        self._matrix_cache[key] = result
        return result

    def derivative(self, wrt: str) -> str:
        """∂out/∂`wrt` as exprgraph text in the inputs ("0" if out does not use it)."""
        if not isinstance(wrt, str):
            raise TypeError(f"derivative() takes a name (str), not {type(wrt).__name__}")
        index = self.graph.names.get(wrt)
        if index is None:
            return "0"
        if self.graph.nodes[index].op is not INPUT:
            raise ValueInputError(f"{wrt} is not an input of the program",
                                  hint="inputs: " + ", ".join(self.inputs))
        return self.text(self.gradient_expressions[wrt])

    def derivatives(self) -> dict[str, str]:
        """∂out/∂input as text for every input."""
        return {name: self.derivative(name) for name in self.inputs}

    def output_expression(self, name: str | None = None) -> Expression:
        """Node `name` (default: the output) over the inputs, simplified (for
        a program with vectors or matrices, by the matrix rules)."""
        index = self.graph.names.get(name) if name is not None else self.graph.output
        if index is None:
            raise ValueInputError(f"the program has no node named {name}",
                                  hint="nodes: " + ", ".join(self.node_names()))
        if not self.scalar and self.shapes is not None:
            from .symbolic.matrix_derivatives import rebuilt

            builder, root = rebuilt(self.graph, self.shapes, index)
            return Expression(tuple(builder.nodes), root, tuple(builder.shapes))
        self._require_scalar()
        if name is None or name == self.output:
            return self.expression
        return expression_of(self.graph, index)

    def diff(self, wrt: Sequence[str] = (), *, order: int = 1, kind: str = "derivative",
             outputs: Sequence[str] = ()) -> DiffResult:
        """Symbolic derivatives of the output (or of `outputs`).

        kind "derivative": ∂/∂wrt[0] then ∂/∂wrt[1] ... (the mixed partial);
        with one name, `order` repeats it; with none, the only input (or every
        input, one derivative each, when there are several). "gradient": every
        first partial. "hessian": the matrix of second partials. "jacobian":
        one row per output, by default the assigned names nothing else uses.
        """
        found = self._diff(wrt, order=order, kind=kind, outputs=outputs)
        return DiffResult(found.kind, found.inputs, found.entries, found.shape, found.rows,
                          self)

    def _diff(self, wrt: Sequence[str] = (), *, order: int = 1, kind: str = "derivative",
              outputs: Sequence[str] = ()) -> DiffResult:
        """`diff`'s derivatives, before the program is attached for display."""
        if kind not in DIFF_KINDS:
            raise ValueInputError(f"unknown kind of derivative {kind!r}",
                                  hint="one of " + ", ".join(DIFF_KINDS))
        if isinstance(wrt, str):  # diff("xy") meant the variable xy, not x then y
            wrt = (wrt,)
        check_order(order)  # before (x,) * order is built: whole, 1 to MAX_ORDER
        if not self.scalar:
            return self._matrix_diff(tuple(wrt), order, kind, tuple(outputs))
        if order > 1 and kind != "derivative":
            # An order never silently does nothing: say what to ask for instead.
            raise ValueInputError(f"an order above 1 does not apply to a {kind}",
                                  hint=_ORDER_HINTS[kind])
        intermediate = [name for name in wrt if name not in self.inputs
                        and name in self.graph.names and not name[:1].isdigit()]
        if intermediate and (len(wrt) > 1 or order > 1):
            raise ValueInputError(
                f"{intermediate[0]} is an intermediate node: only a first derivative "
                "with respect to it (its adjoint) is defined",
                hint="differentiate with respect to the inputs for higher orders")
        for name in wrt:
            if name not in intermediate:
                self._check_input(name)
        names = list(outputs) or (list(self.graph.sinks()) if kind == "jacobian"
                                  else [self.output])
        exprs = {name: self.output_expression(name) for name in names}
        inputs = self.inputs
        if kind == "jacobian":
            rows = [gradient(exprs[name], inputs) for name in names]
            entries = [DiffEntry(name, (x,), e) for name, row in zip(names, rows, strict=True)
                       for x, e in zip(inputs, row, strict=True)]
            return DiffResult(kind, inputs, tuple(entries), (len(names), len(inputs)),
                              tuple(names))
        if len(names) != 1:
            raise ValueInputError(f"several outputs given ({', '.join(names)}); a {kind} "
                                  "is of one output", hint="a Jacobian takes several outputs")
        (name,) = names
        expr = exprs[name]
        if kind == "hessian":
            matrix = hessian(expr, inputs)
            entries = [DiffEntry(name, (a, b), matrix[i][j]) for i, a in enumerate(inputs)
                       for j, b in enumerate(inputs)]
            return DiffResult(kind, inputs, tuple(entries), (len(inputs), len(inputs)), inputs)
        if intermediate:
            return DiffResult("derivative", inputs, (
                DiffEntry(name, tuple(wrt), self.adjoint_expression(wrt[0], name)),))
        if kind == "gradient" or (not wrt and len(inputs) != 1 and order == 1):
            return DiffResult("gradient", inputs, tuple(
                DiffEntry(name, (x,), e) for x, e in zip(inputs, gradient(expr, inputs),
                                                           strict=True)))
        if order > 1 and len(wrt) > 1:
            raise ValueInputError("an order above 1 repeats one variable; with several, "
                                  "list each step instead",
                                  hint="e.g. x, x, y for ∂³/∂y∂x²")
        if not wrt:
            # Every input's own n-th derivative: ∂ⁿ/∂xⁿ, ∂ⁿ/∂yⁿ, ...
            return DiffResult("derivative", inputs, tuple(
                DiffEntry(name, (x,) * order, derivative(expr, (x,) * order))
                for x in inputs))
        steps = tuple(wrt) * order
        taken = steps
        if len(steps) == 2 and all(step in inputs for step in steps):
            # A mixed second partial is taken in the inputs' order, as the
            # Hessian's entry is: it is the same function, printed the same.
            taken = tuple(sorted(steps, key=inputs.index))
        return DiffResult("derivative", inputs,
                          (DiffEntry(name, steps, derivative(expr, taken)),))

    def values_at(self, expressions: Sequence[Expression], point: Mapping[str, Value]
                  ) -> list[Value]:
        """Matrix expressions (from `matrix_gradients`) evaluated at `point`:
        arrays, or a MathError for each where one cannot be computed."""
        from .passes.tensor import evaluate_tensors, input_tensor

        given = {**self.graph.given, **point}
        tensors = {name: input_tensor(name, value) for name, value in given.items()}
        values: list[Value] = []
        for expr in expressions:
            try:
                computed = evaluate_tensors(expr.nodes[:expr.root + 1], tensors,
                                            self.graph.source)
                values.append(computed[expr.root].data)
            except MathError as error:
                values.append(error)
        return values

    def _matrix_second(self, kind: str, wrt: tuple[str, ...], outputs: tuple[str, ...]
                       ) -> DiffResult:
        """A Jacobian (of the vector output) or a Hessian (of the scalar
        output) with respect to one vector input, as one matrix expression."""
        from .symbolic.matrix_derivatives import matrix_gradient, matrix_jacobian

        if self.shapes is None:
            raise ShapeError("the shapes of the inputs are not known",
                             hint="declare them (x: vector(n); W: matrix(m, n))")
        vectors = [name for name in self.inputs
                   if self.shapes[self.graph.names[name]].rank == 1]
        out_index = self.graph.names.get(outputs[0] if outputs else self.output)
        if kind == "jacobian" and len(wrt) == 1 and wrt[0] in self.graph.names and \
                self.shapes[self.graph.names[wrt[0]]].rank == 2 and out_index is not None:
            return self._index_form(wrt[0], out_index)
        if len(wrt) > 1:
            raise ShapeError(f"a {kind} is with respect to one vector, not "
                             f"{len(wrt)}: name one", hint="vectors: " + (", ".join(vectors)
                                                                  or "none"))
        if wrt and wrt[0] in self.graph.names and \
                self.shapes[self.graph.names[wrt[0]]].rank != 1:
            what = "a matrix" if self.shapes[self.graph.names[wrt[0]]].rank == 2 else "a scalar"
            raise ShapeError(f"a {kind} here is with respect to a vector; {wrt[0]} is {what}",
                             hint=f"the gradient by {wrt[0]} is its first derivative" if
                             kind == "hessian" else "a matrix output's derivative by a "
                             f"matrix is the jacobian by {wrt[0]} alone")
        if not wrt and len(vectors) != 1:
            raise ShapeError(f"name the vector to take the {kind} with respect to",
                             hint="vectors: " + (", ".join(vectors) or "none"))
        name = wrt[0] if wrt else vectors[0]
        self._check_input(name)
        index = self.graph.names[name]
        sinks = self.graph.sinks()
        if kind == "jacobian" and not outputs and len(sinks) > 1:
            raise ShapeError(f"the program has several outputs ({', '.join(sinks)}), and a "
                             "Jacobian of a program with vectors or matrices is of one output",
                             hint="name it: --output " + sinks[-1])
        out_name = outputs[0] if outputs else self.output
        if len(outputs) > 1:
            raise ShapeError(f"a {kind} of a program with vectors or matrices is of one output",
                             hint="name one with --output")
        output = self.graph.names.get(out_name)
        if output is None:
            raise ValueInputError(f"the program has no node named {out_name}")
        out_shape = self.shapes[output]
        if kind == "hessian":
            if not out_shape.is_scalar:
                raise ShapeError(f"a Hessian is of a scalar; {out_name} is {out_shape}",
                                 hint="the Jacobian is: --jacobian")
            builder, found = matrix_gradient(self.graph, self.shapes, output, [index])
            root = matrix_jacobian(builder, found[index], index)
        else:
            if out_shape.rank == 2:
                raise ShapeError(f"{out_name} is {out_shape}: its Jacobian would be a "
                                 "third-order array", hint="differentiate a vector of it")
            from .symbolic.matrix import MatrixBuilder

            builder = MatrixBuilder(self.graph, self.shapes)
            root = matrix_jacobian(builder, output, index)
        size = self.shapes[index].dims[0]
        rows = size if kind == "hessian" else (out_shape.dims[0] if out_shape.rank else 1)
        steps = (name, name) if kind == "hessian" else (name,)
        entry = DiffEntry(out_name, steps, Expression(tuple(builder.nodes), root,
                                                      tuple(builder.shapes)),
                          shapes.matrix(rows, size))
        return DiffResult(kind, (name,), (entry,))

    def _index_form(self, name: str, output: int) -> DiffResult:
        """∂Y/∂X for matrices Y (the output) and X (`name`), exact in index
        form: `∂Y_ij/∂X_kl = A_ik*B_lj + ...` (symbolic/matrix_derivatives.py)."""
        from .symbolic.matrix import MatrixBuilder
        from .symbolic.matrix_derivatives import index_text, matrix_by_matrix

        assert self.shapes is not None
        self._check_input(name)
        if self.shapes[output].rank != 2:
            raise ShapeError("the derivative by a matrix is in index form for a matrix "
                             f"output; {self.graph.nodes[output].name} is "
                             f"{self.shapes[output]}",
                             hint="for a scalar output, the gradient: --wrt " + name)
        builder = MatrixBuilder(self.graph, self.shapes)
        terms = matrix_by_matrix(builder, output, self.graph.names[name])
        out_name = self.graph.nodes[output].name
        text = index_text(builder, terms, out_name, name, self.text)
        entry = DiffEntry(out_name, (name,), Expression(tuple(builder.nodes), output,
                                                        tuple(builder.shapes)),
                          None, text)
        return DiffResult("jacobian", (name,), (entry,))

    def _matrix_diff(self, wrt: tuple[str, ...], order: int, kind: str,
                     outputs: tuple[str, ...]) -> DiffResult:
        """`diff` of a program with vectors or matrices: gradients of its
        scalar output in matrix notation, each with its shape."""
        if kind in ("hessian", "jacobian"):
            return self._matrix_second(kind, wrt, outputs)
        if order > 1 or len(wrt) > 1:
            raise ShapeError("derivatives of higher order of programs with vectors or "
                             "matrices are not built yet",
                             hint="the gradient is: exprgraph diff PROGRAM --wrt NAME; "
                             "the Hessian: --hessian")
        if outputs and outputs != (self.output,):
            raise ShapeError("the gradient of a node other than the output is not built yet "
                             "for programs with vectors or matrices",
                             hint="make it the last statement")
        for name in wrt:
            if name in self.graph.names and name not in self.inputs:
                raise ValueInputError(f"{name} is an intermediate node: for a program with "
                                      "vectors or matrices, --wrt names an input so far",
                                      hint="inputs: " + ", ".join(self.inputs))
            self._check_input(name)
        gradients = self.matrix_gradients()
        names = wrt or self.inputs
        entries = tuple(DiffEntry(self.output, (name,), gradients[name][0], gradients[name][1])
                        for name in names)
        return DiffResult("derivative" if wrt else "gradient", self.inputs, entries)

    def adjoint_expression(self, node_name: str, of: str | None = None) -> Expression:
        """∂`of`/∂`node_name` for an intermediate node (its adjoint), over the inputs."""
        self._require_scalar()
        of = of or self.output
        found = self.symbolic if of == self.output else \
            symbolic_gradient(replace(self.graph, output=self.graph.names[of]))
        return simplified(found.builder.nodes, found.derivative(self.graph.names[node_name]))

    def node_names(self) -> list[str]:
        """The names a user can refer to: inputs, assigned names and generated
        node names, not constants (`2`, `pi`)."""
        nodes = self.graph.nodes
        return [name for name, index in self.graph.names.items()
                if nodes[index].op is not CONST or name in self.graph.assigned]

    def _check_input(self, name: str) -> None:
        if name not in self.inputs:
            known = ", ".join(self.inputs) or "none"
            raise ValueInputError(f"{name} is not an input of the program",
                                  hint=f"its inputs are: {known}")

    def text(self, expr: Expression) -> str:
        """An expression as exprgraph text, names chosen to avoid the program's."""
        return expression_text(expr.nodes, expr.root, taken=self.graph.names)

    def local_partial_text(self, node: int, position: int) -> str | None:
        """∂(node)/∂(argument `position`) as text over the graph's node names."""
        slope = self.symbolic.local.get((node, position))
        if slope is None:
            return None
        return self.text(simplified(self._in_node_names, slope))

    @cached_property
    def _in_node_names(self) -> tuple[Node, ...]:
        """The symbolic gradient's nodes with every node of the program an
        atom of its name: local partials read ∂e/∂c = d, not the expansion."""
        nodes = self.symbolic.builder.nodes
        return in_names(nodes, {i: node.name for i, node in enumerate(self.graph.nodes)
                                if node.op.arity > 0})

    # --- display: a short repr; Jupyter's HTML and SVG (render/notebook.py) ---

    def __repr__(self) -> str:
        inputs = ", ".join(self.inputs[:_SHOWN * 3]) + (
            f", … ({len(self.inputs):,} inputs)" if len(self.inputs) > _SHOWN * 3 else "")
        return f"<Program {_program_text(self.graph)}: " + (
            f"inputs {inputs}>" if inputs else "no inputs>")

    def _repr_html_(self) -> str:
        """The program and a picture of its graph (or, without Graphviz, the
        terminal's drawing and how to get the picture), as HTML."""
        return _display("program_html", self)

    def _repr_svg_(self) -> str | None:
        """The graph drawn by Graphviz, or None where its `dot` is not installed."""
        return _display("graph_svg", self, None)



def _seed_tensor(seed: Value, shape: Shape, output: str) -> Any:
    """The upstream gradient as a Tensor of the output's shape."""
    from .passes.tensor import Tensor, input_tensor

    given = input_tensor(f"the seed (∂L/∂{output})", seed)
    want = tuple(int(d) for d in shape.dims)
    if tuple(given.data.shape if not given.shape.is_scalar else ()) != want:
        raise ShapeError(f"the seed must have the shape of the output {output}, "
                         f"{shape}, not {given.shape}")
    return Tensor(given.data, shape)


def _zeros(like: Value) -> Value:
    """A zero adjoint of a value's shape."""
    if not hasattr(like, "ndim"):
        return 0.0
    import numpy as np

    return np.zeros_like(like)


def value_warnings(program: Program, values: Mapping[str, float]) -> list[str]:
    """Warnings about given values the program does not use."""
    inputs = set(program.inputs)
    warnings = []
    for name in values:
        if name in inputs:
            continue
        if name in program.graph.names:
            warnings.append(f"{name} is assigned by the program, so the value given for it "
                            "is ignored")
        else:
            known = ", ".join(program.inputs) or "none"
            warnings.append(f"{name} is not used by the program, so its value is ignored "
                            f"(its inputs: {known})")
    return warnings


def compile(text: str, inputs: Iterable[str] = (),  # noqa: A001 - like re.compile
            shapes: Mapping[str, Shape] | None = None) -> Program:
    """Parse `text` into a `Program`.

    `inputs` names variables that should be inputs even where they would be
    constants (`e`, `pi`); the CLI passes the names the user gives values for.
    `shapes` gives the shapes of values known already (the CLI's). Raises
    `ParseError` or `ProgramError` for bad text, and `ShapeError` where
    shapes do not fit (`x @ y` on scalars, `tr(x)` of a scalar): the shape
    pass runs here, with the declared and given shapes, an input with
    neither being a scalar — unless that makes the shapes fail, when the
    check waits for the values.
    """
    if not isinstance(text, str):
        raise TypeError(f"compile() takes the program as text (str), not "
                        f"{type(text).__name__}")
    if isinstance(inputs, str):
        inputs = (inputs,)  # one name, not its letters: inputs="pi"
    names = tuple(inputs)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"compile() takes input names as text (str), not "
                            f"{type(name).__name__}")
    return Program(parse_program(text, frozenset(names)), shapes)


def _input_shapes(graph: Graph, given: Mapping[str, Shape]) -> dict[str, Shape]:
    """`Program.input_shapes` for a graph."""
    sizes: dict[str, int] = {}
    shaped = dict(given)
    for name, declared in graph.declarations.items():
        if name not in given:
            continue
        try:
            shapes.agree(declared, given[name], sizes, name)
        except ShapeError as error:
            line, column = graph.declared_at.get(name, (0, 0))
            hint = error.hint or ("a vector value is written [1, 2, 3], a matrix "
                                  "[[1, 2], [3, 4]]" if not declared.is_scalar else None)
            raise ShapeError(error.message, hint=hint, line=line or None,
                             column=column or None, variable=name,
                             source_line=source_line(graph.source, line)
                             if line else None) from None
    for name, declared in graph.declarations.items():
        shaped.setdefault(name, shapes.bind(declared, sizes))
    return shaped


def _node_shapes(graph: Graph, given: Mapping[str, Shape]) -> tuple[Shape, ...] | None:
    """Every node's shape, from the declarations and the `given` shapes (an
    input with neither is a scalar) — or None where that makes the shapes
    fail but some input is neither declared nor given: it may be a vector
    or matrix, its value will say, and the shapes are checked then."""
    if not graph.declarations and not given and \
            all(node.op.shape_rule is None for node in graph.nodes):
        # Scalar inputs and elementwise ops only: every node is a scalar (the
        # common case, at no more than one attribute read per node).
        return (shapes.SCALAR,) * len(graph.nodes)
    try:
        inputs = _input_shapes(graph, given) if given else dict(graph.declarations)
        return tuple(infer_shapes(graph.nodes, inputs, graph.source, graph.assigned))
    except ShapeError:
        if all(name in graph.declarations or name in given for name in graph.input_names):
            raise
        return None


def check_value(name: str, value: object) -> float:
    """`value` as a finite float, or a ValueInputError naming `name`. Any real
    number type will do (int, float, Fraction, NumPy's float32 or int64)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueInputError(f"the value of {name} must be a number, not {value!r}",
                              variable=name)
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range, 10**400
        raise ValueInputError(f"the value of {name} is too large for a float",
                              variable=name) from None
    if not math.isfinite(number):
        raise ValueInputError(f"the value of {name} must be finite, not {number}",
                              variable=name)
    return number


def input_value(name: str, value: object) -> Value:
    """A value given for input `name`: a finite float (`check_value`), or for
    a nested list or NumPy array of rank 1 or 2 a float64 array (ragged,
    empty, non-number and inf/nan ones are ValueInputErrors)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return check_value(name, value)
    if isinstance(value, (list, tuple)) or hasattr(value, "ndim"):
        from .passes.tensor import input_tensor

        found = input_tensor(name, value)
        return found.data
    return check_value(name, value)  # the message for anything else


def parse_value(name: str, text: str) -> float:
    """A value typed by a user: a number or a constant expression (`pi/2`, `-3`, `2^10`)."""
    try:
        program = compile(text)
        if program.inputs:
            raise ValueInputError(f"the value of {name} must be a number, not {text!r}",
                                  variable=name,
                                  hint="a value may be a number or a constant expression "
                                  "such as pi/2; names other than pi and e are not allowed")
        return forward_values(program.graph, {})[program.graph.output]
    except ValueInputError:
        raise
    except ExprGraphError as exc:
        raise ValueInputError(f"the value of {name} must be a number, not {text!r}: "
                              f"{exc.message}", variable=name, hint=exc.hint) from None


# --- display: short reprs, and Jupyter's rich display by render/notebook.py ---

_SHOWN = 4  # entries a repr shows (inputs: three times as many)
_REPR_LENGTH = 160  # characters of a repr, about


def _display(function: str, *args: Any) -> Any:
    """Jupyter's display of an API object, by `render/notebook.py`'s `function`.

    The one import of this module upward, into the render layer, and declared
    as such in pyproject.toml's layer contract: an object's display methods
    live on the object (that is where Jupyter looks), while the tables they
    show are the render layer's. Imported on the first display, so neither
    `import exprgraph` nor a script pays for Rich's tables or Graphviz;
    IPython is never imported."""
    from .render import notebook

    return getattr(notebook, function)(*args)


def _cut(text: str, end: str, length: int = _REPR_LENGTH) -> str:
    """`text` + `end`, the text cut with … near `length` characters."""
    return (text if len(text) <= length else text[:length - 1] + "…") + end


def _shown_value(value: Value) -> str:
    """A value in a repr: a number, or a vector or matrix on one line (summarised)."""
    from .printing.values import value_text

    return value_text(value, one_line=True)


def _label(of: str, wrt: Sequence[str]) -> str:
    """∂²g/∂y∂x, ∂³g/∂x³: differentiated by wrt[0] first (read right to left)."""
    raised = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    runs: list[list[Any]] = []
    for name in reversed(wrt):
        if runs and runs[-1][0] == name:
            runs[-1][1] += 1
        else:
            runs.append([name, 1])
    order = str(len(wrt)).translate(raised) if len(wrt) > 1 else ""
    return f"∂{order}{of}/" + "".join(
        f"∂{name}{str(count).translate(raised) if count > 1 else ''}" for name, count in runs)


def _one_line(source: str, length: int) -> str:
    """The source's statements on one line, as the language reads them: a line
    break between statements becomes "; ", one inside brackets a space (it is
    white space there), comments go; at most about `length` characters."""
    out: list[str] = []
    depth, size, comment = 0, 0, False
    for char in source:
        if char == "\n":
            comment = False
            char = " " if depth else ";"
        elif comment or char == "#":
            comment = True
            continue
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth = max(depth - 1, 0)
        out.append(char)
        size += 1
        if size > length:
            break
    statements = (" ".join(part.split()) for part in "".join(out).split(";"))
    return "; ".join(statement for statement in statements if statement)


def _program_text(graph: Graph, length: int = _REPR_LENGTH // 2) -> str:
    """The program as exprgraph prints it (`p = x + y; g = p*z`), cut near
    `length` characters; a program with loops or declarations as its source."""
    if graph.loops or graph.declarations:
        return _cut(_one_line(graph.source, length + 1), "", length)
    nodes = graph.nodes
    named = set(graph.assigned) | set(graph.input_names)
    unnamed = [] if graph.output_name in graph.assigned else [None]  # a bare expression
    statements: list[str] = []
    for name in [*graph.assigned, *unnamed]:
        index = graph.output if name is None else graph.names[name]
        text = expression_text(nodes, index, by_name=lambda i: nodes[i].name in named)
        statements.append(text if name is None else f"{name} = {text}")
        if sum(len(s) + 2 for s in statements) > length:
            break
    return _cut("; ".join(statements), "", length)
