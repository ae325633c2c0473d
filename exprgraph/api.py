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
from dataclasses import dataclass, field, replace
from functools import cached_property

from .core import shapes
from .core.errors import ExprGraphError, MathError, ShapeError, ValueInputError
from .core.graph import Graph, Node
from .core.ops import CONST, INPUT
from .passes.autodiff import adjoints as reverse_adjoints
from .passes.autodiff import local_partial
from .passes.evaluate import evaluate as forward_values
from .passes.shapes import infer_shapes, is_scalar_program
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


@dataclass(frozen=True)
class Evaluation:
    """The forward and backward pass of a program at one point.

    `node_values[i]` and `node_adjoints[i]` follow `graph.nodes`; an adjoint is
    None for a node that depends on no input (a constant). `unused` lists the
    given names the program does not use (their gradient is 0).
    """

    graph: Graph
    given: dict[str, float]
    node_values: list[float]
    node_adjoints: list[float | None]
    unused: tuple[str, ...]
    # Node index -> why its adjoint is undefined (only from `evaluate_partially`).
    undefined: Mapping[int, MathError] = field(default_factory=dict)

    @property
    def value(self) -> float:
        """The output's value."""
        return self.node_values[self.graph.output]

    @cached_property
    def gradient(self) -> dict[str, float]:
        """∂out/∂input for every input, then 0.0 for each unused given name."""
        grad = {self.graph.nodes[i].label: self.node_adjoints[i] or 0.0 for i in self.graph.inputs
                if i not in self.undefined}
        grad.update((name, 0.0) for name in self.unused)
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
        argument is constant or the partial is undefined."""
        nodes = self.graph.nodes
        if not nodes[nodes[node].args[position]].varying:
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
        partial = self.local_partial(node, position)
        if adjoint is None or partial is None or node in self.undefined:
            return None
        product = adjoint * partial
        return product if math.isfinite(product) else None


DIFF_KINDS = ("derivative", "gradient", "hessian", "jacobian")


@dataclass(frozen=True)
class DiffEntry:
    """One derivative: of output `of`, successively with respect to `wrt`."""

    of: str
    wrt: tuple[str, ...]
    expression: Expression


@dataclass(frozen=True)
class DiffResult:
    """What `Program.diff` computed: a list of derivatives, or a matrix of them.

    For "hessian" and "jacobian", `entries` is the matrix in row-major order,
    `shape` its (rows, columns) and `rows` the row labels (inputs or outputs).
    """

    kind: str
    inputs: tuple[str, ...]
    entries: tuple[DiffEntry, ...]
    shape: tuple[int, int] | None = None
    rows: tuple[str, ...] = ()


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

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        # Whether every node is a scalar (compile's shape pass sets it): tensor
        # values are not wired to the passes yet, so a tensor program is checked
        # and printed but neither evaluated nor differentiated.
        self.scalar = True

    def _require_scalar(self, given: Mapping[str, object] | None = None) -> None:
        """A ShapeError where the program declares a vector or matrix: its
        value, if given, is a scalar (`shapes.agree` says so), and tensor values
        are not supported yet."""
        if self.scalar:
            return
        not_yet = "vector and matrix values are not supported yet: declare it as a scalar, " \
            "or remove the declaration"
        for name, shape in self.graph.declarations.items():
            if not shape.is_scalar and name in (given or {}):
                try:
                    shapes.agree(shape, shapes.SCALAR, {}, name)
                except ShapeError as error:
                    raise ShapeError(error.message, hint=not_yet) from None
        name, shape = next((name, shape) for name, shape in self.graph.declarations.items()
                           if not shape.is_scalar)
        raise ShapeError(f"{name} is declared as {shape}: vector and matrix values are not "
                         "supported yet", hint="declare it as a scalar, or remove the declaration")

    @property
    def inputs(self) -> tuple[str, ...]:
        """The input variables, in order of first use."""
        return self.graph.input_names

    @property
    def output(self) -> str:
        """The output node's name."""
        return self.graph.output_name

    def evaluate(self, values: Mapping[str, float] | None = None, /,
                 **more: float) -> Evaluation:
        """Forward and backward pass at the point given by `values` and/or
        keywords, which take precedence over the program's `where` clause."""
        return self._evaluate({**(values or {}), **more}, None)

    def evaluate_partially(self, values: Mapping[str, float] | None = None, /,
                           **more: float) -> Evaluation:
        """Like `evaluate`, but an undefined partial derivative does not stop the
        backward pass: the adjoints that depend on it are None, with the reason in
        `Evaluation.undefined` (and `undefined_gradient` for inputs). An undefined
        value still raises MathError."""
        return self._evaluate({**(values or {}), **more}, {})

    def _evaluate(self, values: Mapping[str, float], undefined: dict[int, MathError] | None
                  ) -> Evaluation:
        given = {**self.graph.given, **values}
        self._require_scalar(given)
        for name, value in given.items():
            check_value(name, value)
        node_values = forward_values(self.graph, given)
        node_adjoints = reverse_adjoints(self.graph, node_values, undefined)
        used = set(self.graph.names)
        unused = tuple(name for name in given if name not in used
                       or self.graph.nodes[self.graph.names[name]].op is not INPUT)
        return Evaluation(self.graph, {k: float(v) for k, v in given.items()}, node_values,
                          node_adjoints, unused, undefined or {})

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
        derivative, so a partial prints the same wherever it is shown."""
        found = gradient(self.expression, self.inputs)  # as `diff` differentiates it
        return dict(zip(self.inputs, found, strict=True))

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
        """Node `name` (default: the output) over the inputs, simplified."""
        self._require_scalar()
        if name is None or name == self.output:
            return self.expression
        index = self.graph.names.get(name)
        if index is None:
            raise ValueInputError(f"the program has no node named {name}",
                                  hint="nodes: " + ", ".join(self.node_names()))
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
        if kind not in DIFF_KINDS:
            raise ValueInputError(f"unknown kind of derivative {kind!r}",
                                  hint="one of " + ", ".join(DIFF_KINDS))
        if isinstance(wrt, str):  # diff("xy") meant the variable xy, not x then y
            wrt = (wrt,)
        check_order(order)  # before (x,) * order is built: whole, 1 to MAX_ORDER
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


def compile(text: str, inputs: Iterable[str] = ()) -> Program:  # noqa: A001 - like re.compile
    """Parse `text` into a `Program`.

    `inputs` names variables that should be inputs even where they would be
    constants (`e`, `pi`); the CLI passes the names the user gives values for.
    Raises `ParseError` or `ProgramError` for bad text, and `ShapeError`
    where shapes do not fit (`x @ y` on scalars, `tr(x)` of a scalar): the
    shape pass runs here, with the declared shapes (an input not declared is
    a scalar).
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
    graph = parse_program(text, frozenset(names))
    program = Program(graph)
    program.scalar = is_scalar_program(infer_shapes(graph.nodes, graph.declarations, text))
    return program


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
