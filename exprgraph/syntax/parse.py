"""Text to graph: the LALR parser and the reduce-time lowering.

There is no separate syntax tree. The LALR driver (syntax/lalr.py, over the
shipped tables; Lark's own parser for text with a syntax error, so that the
message is Lark's) calls `_Reducer`'s methods as it reduces each rule,
bottom-up and left to right, and each call appends (hash-consed) graph nodes
at once. A reduction sequence already is a
post-order walk, so this is the AST-then-lower pipeline with the tree left
out: nothing is built that a later pass would have to recurse over, and a
100,000-deep nesting parses like a flat one.

The error messages and hints are in messages.py; the parse tables, and the
two parsers built over them, in tables.py.

A program may end with values for its inputs, `... where x=1, y=-2`; they
come back as `Graph.given`.

Scope rules, checked as statements are reduced:
- a name assigned earlier refers to that node;
- a function name is never a variable; `pi` and `e` are constants unless the
  program assigns them or the caller lists them in `inputs`;
- any other name is an input; assigning it after a use, or assigning any name
  twice, is a `ProgramError` pointing at both places;
- a declaration `x: vector(n)`, `W: matrix(m, n)`, `s: scalar` gives an
  input its shape (`Graph.declarations`); it comes before the name's first
  use, once, and never for an assigned name. A declared name the program
  never uses is a warning.

The tensor notation builds the entries of core/tensor_ops.py: `a @ b`
(matmul), `a'` (transpose), `x[0]`, `W[1, 0]` (index, 0-based, with the
position a constant node: `W[i, j]` is index(index(W, i), j)) and the tensor
functions by name (`sum(x)`, `tr(A)`), looked up after the scalar functions.
Tensor function names are not reserved: a scalar program may still use
`sum` or `mean` as a variable.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.errors import ParseError, ProgramError, SourceWarning
from ..core.graph import Graph, GraphBuilder, Loop, finish_graph
from ..core.ops import BINARY_SYMBOLS, CONST, CONSTANTS, FUNCTIONS, INPUT, MUL, NEG
from ..core.shapes import SCALAR, Dim, Shape, matrix, vector
from ..core.tensor_ops import INDEX, MATMUL, TRANSPOSE
from ..core.text import source_line
from .lalr import Fallback, LalrDriver
from .messages import (
    CALLABLE,
    UNDERFLOW_HINT,
    arity_hint,
    function_as_variable_hint,
    is_underflow,
    parse_error,
    refuse_foreign_breaks,
    underflow_message,
    unknown_function,
)

# build_tables, grammar_text and write_parser_tables are re-exported ("x as x"): importable
# from here as before (README, tests, the comment in parser_tables.json).
from .tables import build_tables as build_tables
from .tables import grammar_text as grammar_text
from .tables import lalr_driver, lark_parser

if TYPE_CHECKING:  # Lark is imported only for text the fast driver gives up on
    from lark import Lark, Token
from .tables import write_parser_tables as write_parser_tables

MAX_PROGRAM_CHARS = 2_000_000  # documented (README, Limits): ~15 s and ~0.8 GB at most
# A loop unrolls to at most about this many nodes (documented in the README):
# `for t = 1..1000000000: ...` is a clear error at once, not a hang.
MAX_UNROLLED_NODES = 100_000
# Words the language reserves (lexed as names where the grammar expects no keyword).
# `where` is one too, but a `where` read as a name gets the parse error's own,
# more precise message (an operand missing before it).
_KEYWORDS = {"for": "for starts a loop: for t = 1..4: h[t] = h[t-1] + x[t-1]; rename the "
             "variable"}
_INDEX_HINT = "indices are 0-based: x[0] is the first element; W[1, 0] is row 1, column 0"


# The parser's own records below are plain classes with __slots__, not
# dataclasses: a dataclass costs about 0.6 ms to define (it compiles its
# methods at import), and these seven were a tenth of a one-shot command's own
# start-up. Nothing compares or prints them.


class _Where:
    __slots__ = ("values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values  # a float, or an array for a vector or matrix


class _Declaration:
    """`name: shape`, a statement that builds no node."""

    __slots__ = ("name", "shape")

    def __init__(self, name: str, shape: Shape) -> None:
        self.name = name
        self.shape = shape


# A declaration's kinds of shape, with how many sizes each takes.
_SHAPE_KINDS = {"scalar": 0, "vector": 1, "matrix": 2}
_SHAPE_HINT = "declare x: scalar, x: vector(n) or W: matrix(m, n), with sizes names or numbers"


class _Statement:
    __slots__ = ("column", "line", "name", "node")

    def __init__(self, name: str | None, node: int, line: int, column: int) -> None:
        self.name = name  # None for a bare expression
        self.node = node
        self.line = line
        self.column = column


class _Quotient(int):
    """A node index that is the result of a bare division `a/b`, with the
    position of its '/'.

    The reduce callbacks pass node indices up the parse; this one mark tells
    `implicit_times` that its left factor is an unparenthesised quotient
    (`1/2x`), which `group` clears for `(1/2)x`. Callbacks store plain ints
    (`+index`), so a mark never reaches the graph.
    """

    line: int
    column: int

    @classmethod
    def at(cls, node: int, token: Token) -> _Quotient:
        """`node`, marked as a quotient whose '/' is `token`."""
        quotient = cls(node)
        quotient.line, quotient.column = token.line or 0, token.column or 0
        return quotient


class _ProgramState:
    """What one parse accumulates: the nodes, the scope and the statements."""

    def __init__(self, source: str, inputs: frozenset[str]) -> None:
        self.source = source
        self.forced_inputs = inputs
        self.builder = GraphBuilder()
        self.assigned: dict[str, int] = {}
        self.assigned_at: dict[str, tuple[int, int]] = {}
        self.first_use: dict[str, tuple[int, int]] = {}  # inputs and constants
        self.statements: list[_Statement] = []
        self.given: dict[str, Any] = {}
        self.constants_used: set[str] = set()
        self.warnings: list[SourceWarning] = []
        self.referenced: set[str] = set()  # assigned names a later statement uses
        self.owned: set[int] = set()  # constants that are a name's (or the output's) own node
        self.statement_start = 0  # the node count when the current statement began
        self.declarations: dict[str, Shape] = {}
        self.declared_at: dict[str, tuple[int, int]] = {}
        # Loops. While a loop's body is parsed, its reductions are recorded
        # (`recording`), not run; then they are replayed once per step with the
        # loop variable bound (`binding`). `sequences` maps each indexed name
        # (h of h[0], h[t]) to where it was first assigned.
        self.recording: list[tuple[Callable[..., Any], list[Any]]] | None = None
        self.binding: tuple[str, int] | None = None
        self.sequences: dict[str, tuple[int, int]] = {}
        self.sequence_indices: dict[str, set[int]] = {}
        self.marked: set[int] = set()  # nodes a step's index built (x[t-1]): the step's own
        self.loops: list[Loop] = []

    def taken(self, name: str, kinds: tuple[str, ...]) -> tuple[str, tuple[int, int]] | None:
        """The first of `kinds` that `name` already is, and where: "assigned"
        (or "assigned as a whole"), "declared as an input", "an indexed
        sequence", "used as an input"; None if it is none of them."""
        for kind in kinds:
            places = {"assigned": self.assigned_at, "assigned as a whole": self.assigned_at,
                      "declared as an input": self.declared_at,
                      "an indexed sequence": self.sequences,
                      "used as an input": self.first_use}[kind]
            if name in places:
                return kind, places[name]
        return None

    def record_assignment(self, name: str, node: int, where: tuple[int, int]) -> _Statement:
        """`name = node` at `where`: the name is bound (to a constant of its
        own where the node is a constant) and the next statement begins."""
        node = self.own_if_constant(node)
        self.assigned[name] = node
        self.assigned_at[name] = where
        self.statement_start = len(self.builder.nodes)
        return _Statement(name, node, *where)

    def own_if_constant(self, node: int) -> int:
        """`node`, or for a constant a node of its own (named by the program,
        not shared with the same literal elsewhere)."""
        if self.builder.nodes[node].op is not CONST or node in self.owned:
            return node
        node = self.builder.own_constant(node, self.statement_start)
        self.owned.add(node)
        return node

    def source_line(self, line: int) -> str:
        """Line `line` (1-based) of the source, without its line break ("" if none)."""
        return source_line(self.source, line) or ""

    def rest_after(self, token: Token) -> str:
        """The source text after `token`, to the end (for hints that read ahead)."""
        line, column = token.line or 1, token.column or 1
        lines = self.source.split("\n")
        offset = sum(len(text) + 1 for text in lines[: line - 1]) + column - 1
        return self.source[offset + len(token):]

    def note_underflow(self, token: Token) -> None:
        """Warn if the number `token`, which reads as 0, is not written as a zero."""
        if is_underflow(str(token), 0.0):
            line, column = token.line or 0, token.column or 0
            self.warnings.append(SourceWarning(
                "underflow", underflow_message(str(token)), line, column,
                self.source_line(line), hint=UNDERFLOW_HINT))

    def error(self, cls: type[ProgramError] | type[ParseError], message: str, token: Token,
              hint: str | None = None) -> Exception:
        line, column = token.line or 0, token.column or 0
        return cls(message, line=line, column=column, source_line=self.source_line(line),
                   hint=hint)


class _Pending:
    """The result of a reduction recorded in a loop's body, not run yet: the
    `k`th recorded reduction's result, once the body is replayed."""

    __slots__ = ("k",)

    def __init__(self, k: int) -> None:
        self.k = k


def _replayable(method: Callable[[Any, list[Any]], Any]) -> Callable[[Any, list[Any]], Any]:
    """A reduce callback that, inside a loop's body, is recorded to be replayed
    once per step instead of run now."""

    @functools.wraps(method)
    def callback(self: _Reducer, children: list[Any]) -> Any:
        recording = self.state.recording
        if recording is None:
            return method(self, children)
        recording.append((method, children))
        return _Pending(len(recording) - 1)

    return callback


class _LoopHead:
    __slots__ = ("first", "last", "token", "variable")

    def __init__(self, variable: str, first: int, last: int, token: Token) -> None:
        self.variable = variable
        self.first = first
        self.last = last
        self.token = token  # the `for`

    @property
    def count(self) -> int:
        return self.last - self.first + 1


class _Unrolled:
    """A loop statement: the statements its steps assigned, in order."""

    __slots__ = ("statements",)

    def __init__(self, statements: tuple[_Statement, ...]) -> None:
        self.statements = statements


class _Index:
    """One position of an index, `0` or `t-1`, worked out to a number."""

    __slots__ = ("text", "token", "value")

    def __init__(self, value: int, text: str, token: Token) -> None:
        self.value = value
        self.text = text  # as written
        self.token = token


class _Sequence(int):
    """The name of an indexed sequence (`h` of `h[0]`, `h[t]`): it must be indexed.

    Reduce callbacks take node indices with `+index`; for a sequence that is
    where it is used without an index (`h + 1`), and raises the error.
    """

    name: str
    error: Exception

    @classmethod
    def named(cls, name: str, error: Exception) -> _Sequence:
        sequence = cls(-1)
        sequence.name, sequence.error = name, error
        return sequence

    def __pos__(self) -> int:
        raise self.error


class _Reducer:
    """The parser's reduce callbacks; each builds nodes in the current state.

    Lark binds callbacks once, when the parser is built, so the per-parse state
    lives in `self.state`, set by `parse_program` under a lock.
    """

    state: _ProgramState

    @_replayable
    def number(self, children: list[Token]) -> int:
        token = children[0]
        value = float(token)
        if value == float("inf"):
            raise self.state.error(ParseError, f"the number {token} is too large for a float",
                                   token, hint="floats go up to about 1.8e308")
        if value == 0.0:
            self.state.note_underflow(token)
        return self.state.builder.constant(value)

    @_replayable
    def name(self, children: list[Token]) -> int:
        token = children[0]
        name = str(token)
        state = self.state
        if state.binding is not None and state.binding[0] == name:
            return state.builder.constant(float(state.binding[1]))
        if name in _KEYWORDS:
            raise state.error(ProgramError, f"{name} is a keyword, not a variable", token,
                              hint=_KEYWORDS[name])
        if name in state.assigned:
            state.referenced.add(name)
            return state.assigned[name]
        if name in state.sequences:
            return _Sequence.named(name, state.error(
                ProgramError, f"{name} is an indexed sequence ({name}[0], {name}[1], ...), so "
                "it is used one element at a time", token,
                hint=f"write {name}[0], or {name}[t-1] in a loop over t"))
        if name in FUNCTIONS:
            raise state.error(ProgramError, f"{name} is a function, not a variable", token,
                              hint=function_as_variable_hint(name, state.rest_after(token)))
        state.first_use.setdefault(name, (token.line or 0, token.column or 0))
        if (name in CONSTANTS and name not in state.forced_inputs
                and name not in state.declarations):
            state.constants_used.add(name)
            return state.builder.constant(CONSTANTS[name], label=name)
        return state.builder.intern(INPUT, label=name, line=token.line or 0,
                                    column=token.column or 0)

    @_replayable
    def call(self, children: list[Any]) -> int:
        token: Token = children[0]
        args = tuple([+arg for arg in children[1:]])
        name = str(token)
        state = self.state
        op = CALLABLE.get(name)
        if op is None:
            raise self._unknown_function(token)
        if name in state.assigned and name not in FUNCTIONS:
            # A tensor function's name is not reserved, so it may name a variable.
            raise state.error(ProgramError, f"{name} is assigned by the program, so {name}(...) "
                              "is ambiguous", token,
                              hint=f"rename the variable to call the function {name}")
        if len(args) != op.arity:
            plural = "argument" if op.arity == 1 else "arguments"
            given = "was" if len(args) == 1 else "were"
            raise state.error(ProgramError,
                              f"{name} takes {op.arity} {plural}, but {len(args)} {given} given",
                              token, hint=arity_hint(name, state.rest_after(token)))
        return state.builder.intern(op, args, line=token.line or 0, column=token.column or 0)

    def _unknown_function(self, token: Token) -> Exception:
        name = str(token)
        state = self.state
        message, hint = unknown_function(name, state.rest_after(token), name in state.assigned)
        return state.error(ProgramError, message, token, hint=hint)

    @_replayable
    def binary(self, children: list[Any]) -> int:
        left, token, right = children
        op = MATMUL if token == "@" else BINARY_SYMBOLS[str(token)]
        node = self.state.builder.intern(op, (+left, +right),
                                         line=token.line or 0, column=token.column or 0)
        if token == "/":
            return _Quotient.at(node, token)
        return node

    @_replayable
    def implicit_times(self, children: list[int]) -> int:
        left, right = children
        state = self.state
        if type(left) is _Quotient:
            state.warnings.append(SourceWarning(
                "implicit_after_division",
                "implicit multiplication after '/' multiplies the whole quotient "
                "(1/2x means (1/2)*x, not 1/(2x))",
                left.line, left.column, state.source_line(left.line),
                hint="to divide by a product, put it in parentheses: 1/(2x); to keep this "
                "meaning and silence the warning, write (1/2)x"))
        where = state.builder.nodes[right]
        return state.builder.intern(MUL, (+left, +right), line=where.line, column=where.column)

    @_replayable
    def group(self, children: list[int]) -> int:
        # A parenthesised quotient is a plain factor: (1/2)x is meant.
        return +children[0]

    @_replayable
    def transpose(self, children: list[Any]) -> int:
        operand, token = children
        return self.state.builder.intern(TRANSPOSE, (+operand,), line=token.line or 0,
                                         column=token.column or 0)

    @_replayable
    def index(self, children: list[Any]) -> int:
        """x[i] or W[i, j]: index(index(W, i), j), each position a constant node;
        h[t-1] of an indexed sequence h: the node h[t-1] names."""
        base = children[0]
        positions: list[_Index] = children[1:]
        state = self.state
        if type(base) is _Sequence:
            node = self._element(base.name, positions[0])
            positions = positions[1:]
        else:
            node = +base
        for position in positions:
            if position.value < 0:
                raise state.error(ProgramError, f"an index must be a whole number >= 0, not "
                                  f"{position.text}{self._at_step(position)}", position.token,
                                  hint=_INDEX_HINT)
            constant = state.builder.constant(float(position.value))
            node = state.builder.intern(INDEX, (node, constant), line=position.token.line or 0,
                                        column=position.token.column or 0)
            if state.binding is not None and position.token == state.binding[0]:
                state.marked.add(node)  # x[t-1]: a node of this step
        return node

    def _element(self, name: str, position: _Index) -> int:
        """The node of `name[position]`, an element of an indexed sequence assigned earlier."""
        state = self.state
        key = f"{name}[{position.value}]"
        if key in state.assigned:
            state.referenced.add(key)
            return state.assigned[key]
        known = sorted(state.sequence_indices[name])
        have = _index_ranges(name, known)
        raise state.error(ProgramError, f"{key} is not assigned before this use"
                          f"{self._at_step(position)}", position.token,
                          hint=f"so far the program assigns {have}")

    def _at_step(self, position: _Index) -> str:
        """`" (t-1 with t = 1)"` for a position that uses the loop variable, else ""."""
        binding = self.state.binding
        if binding is None or position.text.isdigit():
            return ""
        return f" ({position.text} with {binding[0]} = {binding[1]})"

    @_replayable
    def position(self, children: list[Token]) -> _Index:
        """One index position: a whole number, or the loop variable plus or minus one."""
        state = self.state
        first = children[0]
        text = "".join(children)
        binding = state.binding
        if first == "-" or first[:1].isdigit() or first[:1] == ".":
            if first == "-" or not first.isdigit():
                raise state.error(ProgramError, f"an index must be a whole number >= 0, not "
                                  f"{text}", first, hint=_INDEX_HINT)
            if int(first) >= 2**53:
                raise state.error(ProgramError, f"the index {text} is too large", first,
                                  hint=_INDEX_HINT)
            return _Index(int(first), text, first)
        if binding is None or binding[0] != first:
            loop = f" or the loop variable {binding[0]}" if binding is not None else ""
            raise state.error(ProgramError, f"an index must be a whole number{loop}, not {text}",
                              first, hint=_INDEX_HINT + (
                                  "; a loop's variable indexes its body: "
                                  "for t = 1..4: h[t] = h[t-1] + x[t-1]" if binding is None
                                  else ""))
        value = binding[1]
        if len(children) == 3:
            offset = children[2]
            if not offset.isdigit():
                raise state.error(ProgramError, f"an index must be a whole number, not {text}",
                                  offset, hint=f"write {first}-1 or {first}+1")
            if int(offset) >= 2**53:
                raise state.error(ProgramError, f"the index {text} is too large", offset,
                                  hint=_INDEX_HINT)
            value += int(offset) if children[1] == "+" else -int(offset)
        return _Index(value, text, first)

    @_replayable
    def unary(self, children: list[Any]) -> int:
        token, operand = children
        if str(token) == "+":
            return operand
        return self.state.builder.intern(NEG, (+operand,), line=token.line or 0,
                                         column=token.column or 0)

    @_replayable
    def assign(self, children: list[Any]) -> _Statement:
        token, node = children
        name = str(token)
        state = self.state
        where = (token.line or 0, token.column or 0)
        if name in FUNCTIONS:
            raise state.error(ProgramError, f"{name} is a function and cannot be assigned",
                              token, hint="choose another name")
        if name in _KEYWORDS:
            raise state.error(ProgramError, f"{name} is a keyword and cannot be assigned",
                              token, hint=_KEYWORDS[name])
        if state.binding is not None and state.binding[0] == name:
            raise state.error(ProgramError, f"{name} is the loop's variable and cannot be "
                              "assigned in its body", token, hint="choose another name")
        if name in state.assigned:
            first = _place(state.assigned_at[name], where[0])
            raise state.error(ProgramError, f"{name} is assigned twice",
                              token, hint=f"first assigned at {first}; "
                              "every name is assigned once")
        if name in state.sequences:
            first = _place(state.sequences[name], where[0])
            raise state.error(ProgramError, f"{name} is an indexed sequence, so it cannot also "
                              "be assigned as a whole", token, hint=f"{name}[...] is first "
                              f"assigned at {first}; rename one of them")
        if name in state.declarations:
            first = _place(state.declared_at[name], where[0])
            raise state.error(ProgramError, f"{name} is declared as an input, so it cannot be "
                              "assigned", token, hint=f"declared at {first}; remove the "
                              "declaration or rename one of them")
        if name in state.first_use:
            first = _place(state.first_use[name], where[0])
            raise state.error(ProgramError, f"{name} is used before it is assigned",
                              token, hint=f"first used at {first}; "
                              "assign it before using it, or rename one of them")
        return state.record_assignment(name, +node, where)

    @_replayable
    def assign_indexed(self, children: list[Any]) -> _Statement:
        """`h[0] = ...`, `h[t] = ...`: one element of the indexed sequence h,
        an ordinary node named `h[0]`."""
        token: Token = children[0]
        positions: list[_Index] = children[1:-1]
        node = children[-1]
        name = str(token)
        state = self.state
        where = (token.line or 0, token.column or 0)
        if len(positions) != 1:
            raise state.error(ProgramError, f"an indexed name takes one index, as in {name}[0] "
                              f"or {name}[t]", positions[1].token)
        position = positions[0]
        if position.value < 0:
            raise state.error(ProgramError, f"an index must be a whole number >= 0, not "
                              f"{position.text}{self._at_step(position)}", position.token,
                              hint=_INDEX_HINT)
        if name in FUNCTIONS:
            raise state.error(ProgramError, f"{name} is a function and cannot be assigned",
                              token, hint="choose another name")
        taken = state.taken(name, ("assigned as a whole", "declared as an input",
                                   "used as an input"))
        if taken is not None:
            what, place = taken
            raise state.error(ProgramError, f"{name} is {what}, so {name}[{position.value}] "
                              "cannot be assigned", token,
                              hint=f"see {_place(place, where[0])}; rename one of them")
        key = f"{name}[{position.value}]"
        if key in state.assigned:
            first = _place(state.assigned_at[key], where[0])
            raise state.error(ProgramError, f"{key} is assigned twice{self._at_step(position)}",
                              token, hint=f"first assigned at {first}; every name is "
                              "assigned once")
        state.sequences.setdefault(name, where)
        state.sequence_indices.setdefault(name, set()).add(position.value)
        return state.record_assignment(key, +node, where)

    def bound(self, children: list[Token]) -> tuple[int, Token]:
        """A loop bound: a whole number, maybe negative."""
        token = children[-1]
        if token.startswith("."):  # `1...4` lexes as 1, .., .4
            raise self.state.error(ProgramError, "a range has two dots, not three", token,
                                   hint="for t = 1..4: ... runs t = 1, 2, 3, 4")
        if not token.isdigit():
            raise self.state.error(ProgramError, f"a loop bound must be a whole number, not "
                                   f"{''.join(children)}", token, hint="for t = 1..4: ...")
        if int(token) >= 2**53:
            raise self.state.error(ProgramError, f"the loop bound {''.join(children)} is too "
                                   f"large: a loop unrolls to at most {MAX_UNROLLED_NODES:,} "
                                   "nodes", token, hint="use fewer steps")
        return (-int(token) if len(children) == 2 else int(token)), children[0]

    def loop_head(self, children: list[Any]) -> _LoopHead:
        """`for t = 1..4:`: from here to the end of the statement, record the
        body's reductions (see `loop`)."""
        keyword, variable, (first, _), _dots, (last, last_token) = children
        state = self.state
        name = str(variable)
        if name in FUNCTIONS or name in _KEYWORDS:
            what = "a function" if name in FUNCTIONS else "a keyword"
            raise state.error(ProgramError, f"{name} is {what}, not a loop variable",
                              variable, hint="for t = 1..4: ...")
        taken = state.taken(name, ("assigned", "an indexed sequence", "used as an input"))
        if taken is not None:
            what, place = taken
            raise state.error(ProgramError, f"{name} is {what} already, so it cannot be the "
                              "loop's variable", variable, hint=f"see "
                              f"{_place(place, variable.line or 0)}; choose another name for "
                              "the loop variable")
        if last < first:
            raise state.error(ProgramError, f"the loop {first}..{last} runs no steps: the first "
                              "bound is larger than the last", last_token,
                              hint=f"both bounds are included: for {variable} = {last}..{first} "
                              "counts up")
        steps = last - first + 1
        if steps > MAX_UNROLLED_NODES:
            raise state.error(ProgramError, f"the loop runs {steps:,} steps; a loop unrolls to "
                              f"at most {MAX_UNROLLED_NODES:,} nodes", keyword,
                              hint="loops are unrolled into the graph, one node per "
                              "operation and step; use fewer steps")
        state.recording = []
        return _LoopHead(str(variable), first, last, keyword)

    def loop(self, children: list[Any]) -> _Unrolled:
        """A loop's statement: replay its body's recorded reductions once per
        step, the loop variable bound to the step, so the body's nodes are
        built as if the statement were written out step by step."""
        head: _LoopHead = children[0]
        body: list[_Pending] = children[1:]
        state = self.state
        recording = state.recording
        state.recording = None
        assert recording is not None
        for part in body:
            method, parts = recording[part.k]
            if method.__name__ != "assign_indexed":
                where = parts[0] if method.__name__ in ("assign", "declare", "declare_sized") \
                    else head.token
                raise state.error(ProgramError, "a loop's body must assign an element of an "
                                  "indexed sequence", where,
                                  hint=f"for {head.variable} = {head.first}..{head.last}: "
                                  f"h[{head.variable}] = tanh(w*h[{head.variable}-1] + "
                                  f"x[{head.variable}-1])")
        # The sequences the body assigns are known before it runs, so that
        # h[t-1] at the first step finds h a sequence (h[0] missing), not an input.
        for part in body:
            target: Token = recording[part.k][1][0]
            name = str(target)
            if name == head.variable:
                raise state.error(ProgramError, f"{name} is the loop's variable, so it cannot "
                                  "also be the sequence the loop assigns", target,
                                  hint="for t = 1..4: h[t] = ...")
            if name not in state.first_use and name not in state.assigned \
                    and name not in state.declarations and name not in FUNCTIONS:
                state.sequences.setdefault(name, (target.line or 0, target.column or 0))
                state.sequence_indices.setdefault(name, set())
        builder = state.builder
        statements: list[_Statement] = []
        steps: list[tuple[int, ...]] = []
        start = len(builder.nodes)
        varying = _varying_reductions(recording, head.variable)
        # The nodes that differ from step to step. A node no step's value or
        # variable reaches (w^2 in every step) is built once, by the first
        # step, and belongs to none: it is computed before the loop.
        dependent: set[int] = set()
        for step in range(head.first, head.last + 1):
            before = len(builder.nodes)
            if before - start > MAX_UNROLLED_NODES:
                # Checked as it unrolls: the nodes a step builds are known only
                # then (a step may share most of them with the one before).
                per_step = (before - start) / (step - head.first)
                raise state.error(
                    ProgramError, f"the loop would unroll to about "
                    f"{per_step * head.count:,.0f} nodes; the limit is "
                    f"{MAX_UNROLLED_NODES:,}", head.token,
                    hint="loops are unrolled into the graph, one node per operation and "
                    "step; use fewer steps or a shorter body")
            results = self._replay(recording, head.variable, step)
            statements.extend(results[part.k] for part in body)
            dependent.update(+result for k, result in enumerate(results)
                             if varying[k] and isinstance(result, int))
            dependent.update(+s.node for s in results if type(s) is _Statement
                             and s.name and s.name.partition("[")[0] in state.sequences)
            dependent.update(state.marked)
            state.marked.clear()
            # A step's leaves (inputs, constants) belong to no step: only its operations.
            built = []
            for k in range(before, len(builder.nodes)):
                node = builder.nodes[k]
                if node.op is INPUT or node.op is CONST:
                    continue
                if k in dependent or any(arg in dependent for arg in node.args):
                    dependent.add(k)
                    built.append(k)
            steps.append(tuple(built))
        assigns = tuple(dict.fromkeys(s.name.partition("[")[0] for s in statements if s.name))
        state.loops.append(Loop(head.variable, head.first, head.last, tuple(steps), assigns,
                                head.token.line or 0, head.token.column or 0))
        return _Unrolled(tuple(statements))

    def _replay(self, recording: list[tuple[Callable[..., Any], list[Any]]], variable: str,
                step: int) -> list[Any]:
        """Run the recorded reductions with `variable` = `step`; their results."""
        state = self.state
        state.binding = (variable, step)
        results: list[Any] = []
        try:
            for method, children in recording:
                results.append(method(self, [results[child.k] if type(child) is _Pending
                                             else child for child in children]))
        finally:
            state.binding = None
        return results

    @_replayable
    def declare(self, children: list[Token]) -> _Declaration:
        """`s: scalar`: the input s has this shape."""
        return self._declare(children[0], children[1], None)

    @_replayable
    def declare_sized(self, children: list[Token]) -> _Declaration:
        """`x: vector(n)`, `W: matrix(m, n)`: the input has this shape."""
        return self._declare(children[0], children[1], children[2:])

    def _declare(self, token: Token, kind: Token, sizes: list[Token] | None) -> _Declaration:
        name = str(token)
        state = self.state
        where = (token.line or 0, token.column or 0)
        if name in FUNCTIONS:
            raise state.error(ProgramError, f"{name} is a function and cannot be declared",
                              token, hint="choose another name")
        if name in state.sequences:
            first = _place(state.sequences[name], where[0])
            raise state.error(ProgramError, f"{name} is an indexed sequence, so it cannot be "
                              "declared", token, hint=f"{name}[...] is assigned at {first}; only "
                              "inputs are declared")
        if name in state.declarations:
            first = _place(state.declared_at[name], where[0])
            raise state.error(ProgramError, f"{name} is declared twice", token,
                              hint=f"first declared at {first}; declare each name once")
        if name in state.assigned:
            first = _place(state.assigned_at[name], where[0])
            raise state.error(ProgramError, f"{name} is assigned, so it cannot be declared",
                              token, hint=f"assigned at {first}; only inputs are declared")
        if name in state.first_use:
            first = _place(state.first_use[name], where[0])
            raise state.error(ProgramError, f"{name} is declared after its use", token,
                              hint=f"first used at {first}; declare it before using it")
        shape = self._shape(kind, sizes)
        state.declarations[name] = shape
        state.declared_at[name] = where
        return _Declaration(name, shape)

    def _shape(self, kind: Token, sizes: list[Token] | None) -> Shape:
        """The shape `kind(sizes)` names (sizes None: the bare word, `scalar`)."""
        state = self.state
        wanted = _SHAPE_KINDS.get(str(kind))
        if wanted is None:
            raise state.error(ProgramError, f"unknown shape {kind}", kind, hint=_SHAPE_HINT)
        if (sizes is None) != (wanted == 0) or len(sizes or ()) != wanted:
            count = {0: "no sizes", 1: "one size", 2: "two sizes"}[wanted]
            raise state.error(ProgramError, f"{kind} takes {count}", kind, hint=_SHAPE_HINT)
        dims: list[Dim] = []
        for size in sizes or ():
            if size[:1].isalpha() or size[:1] == "_":
                dims.append(str(size))
            elif str(size).isdigit() and int(size) > 0:
                dims.append(int(size))
            else:
                raise state.error(ProgramError, f"a size must be a whole number >= 1 or a "
                                  f"name, not {size}", size, hint=_SHAPE_HINT)
        if not dims:
            return SCALAR
        return vector(dims[0]) if len(dims) == 1 else matrix(dims[0], dims[1])

    @_replayable
    def bare(self, children: list[int]) -> _Statement:
        node = self.state.builder.nodes[+children[0]]
        # Only the last statement may be bare, so a constant here is the output.
        return _Statement(None, self.state.own_if_constant(+children[0]), node.line,
                          node.column)

    def where_number(self, children: list[Token]) -> tuple[float, Token]:
        sign = -1.0 if len(children) == 2 else 1.0
        token = children[-1]
        value = sign * float(token)
        if value in (float("inf"), float("-inf")):
            raise self.state.error(ParseError, f"the number {token} is too large for a float",
                                   token)
        if value == 0.0:
            self.state.note_underflow(token)
        return value, children[0]

    def where_constant(self, children: list[Token]) -> tuple[float, Token]:
        sign = -1.0 if len(children) == 2 else 1.0
        token = children[-1]
        if str(token) not in CONSTANTS:
            raise self.state.error(ParseError, f"a value after 'where' must be a number, not "
                                   f"{str(token)!r}", token, hint="e.g. where x=1, y=-2.5")
        return sign * CONSTANTS[str(token)], children[0]

    def where_item(self, children: list[Token]) -> tuple[float, Token]:
        return self.where_number(children)

    def where_row(self, children: list[tuple[float, Token]]) -> tuple[list[float], Token]:
        return [value for value, _ in children], children[0][1]

    def where_vector(self, children: list[tuple[float, Token]]) -> tuple[Any, Token]:
        import numpy as np  # only for a program with a vector value

        return np.array([value for value, _ in children], dtype=np.float64), children[0][1]

    def where_matrix(self, children: list[tuple[list[float], Token]]) -> tuple[Any, Token]:
        import numpy as np

        width = len(children[0][0])
        for number, (row, token) in enumerate(children, start=1):
            if len(row) != width:
                raise self.state.error(
                    ParseError, f"the matrix is ragged: row {number} has {len(row)} "
                    f"number{'s' if len(row) != 1 else ''}, row 1 has {width}", token,
                    hint="every row of a matrix has the same length")
        return np.array([row for row, _ in children], dtype=np.float64), children[0][1]

    def binding(self, children: list[Any]) -> tuple[Token, float]:
        return children[0], children[1][0]

    def where(self, children: list[Any]) -> _Where:
        values: dict[str, Any] = {}
        for token, value in children[1:]:
            if str(token) in values:
                raise self.state.error(ParseError, f"{token} is given two values", token)
            values[str(token)] = value
        return _Where(values)

    def start(self, children: list[Any]) -> _Statement | None:
        if children and isinstance(children[-1], _Where):
            self.state.given = children[-1].values
            children = children[:-1]
        # Declarations build no node and are no output.
        statements: list[_Statement] = []
        for statement in children:
            if type(statement) is _Statement:
                statements.append(statement)
            elif type(statement) is _Unrolled:
                statements.extend(statement.statements)
        for statement in statements[:-1]:
            if statement.name is None:
                raise ProgramError(
                    "only the last statement may be an expression without a name",
                    line=statement.line, column=statement.column,
                    source_line=self.state.source_line(statement.line),
                    hint="assign it (name = ...) or remove it")
        return statements[-1] if statements else None


def _place(first: tuple[int, int], line: int) -> str:
    """Where a name first appeared, said from line `line`: `column C of this
    line` on the same line (in a line file, that line is the program's own, and
    its number in the file is the error's), else `line L, column C`."""
    if first[0] == line:
        return f"column {first[1]} of this line"
    return f"line {first[0]}, column {first[1]}"


def _fresh_prefix(loops: list[Loop]) -> str:
    """The letter of unnamed nodes' names: t (t1, t2, ...), unless a loop's
    variable is t, whose t3 would read as the step t = 3."""
    variables = {loop.variable for loop in loops}
    return next(prefix for prefix in ("t", "v", "n", "k") if prefix not in variables)


def _varying_reductions(recording: list[tuple[Callable[..., Any], list[Any]]],
                        variable: str) -> list[bool]:
    """For each recorded reduction, whether its result can differ from step to
    step: it reads the loop variable (as a value or in an index) or such a result."""
    varying: list[bool] = []
    for method, children in recording:
        name = method.__name__
        reads_variable = (name == "name" or name == "position") and children[0] == variable
        varying.append(reads_variable or any(type(child) is _Pending and varying[child.k]
                                             for child in children))
    return varying


def _index_ranges(name: str, indices: list[int]) -> str:
    """`h[0] to h[3]` or `h[0], h[2]` for the sorted indices of a sequence."""
    if not indices:
        return f"no element of {name}"
    if indices == list(range(indices[0], indices[-1] + 1)) and len(indices) > 2:
        return f"{name}[{indices[0]}] to {name}[{indices[-1]}]"
    return ", ".join(f"{name}[{k}]" for k in indices)


_reducer = _Reducer()
_parser_lock = threading.Lock()
_parser: Lark | None = None
_fast: LalrDriver | None = None


def _get_parser() -> Lark:
    """The one Lark parser, built on first use (not at import time): see
    `tables.lark_parser`. It parses what the fast driver gives up on."""
    global _parser
    if _parser is None:
        _parser = lark_parser(_reducer)
    return _parser


def _get_fast_parser() -> LalrDriver:
    """The one fast driver, built on first use: see `tables.lalr_driver`."""
    global _fast
    if _fast is None:
        _fast = lalr_driver(_reducer)
    return _fast


def parse_program(text: str, inputs: frozenset[str] | set[str] = frozenset()) -> Graph:
    """Parse a program into a `Graph`.

    `inputs` lists names to treat as inputs even where they are constants
    (`e`, `pi`): the values a caller is about to supply. Raises `ParseError`
    for malformed text and `ProgramError` for text that means nothing.
    """
    if len(text) > MAX_PROGRAM_CHARS:
        raise ParseError(f"the program is {len(text):,} characters long; the limit is "
                         f"{MAX_PROGRAM_CHARS:,}", hint="split it into several programs")
    return parse_with(text, frozenset(inputs), fast=True)


def parse_with(text: str, inputs: frozenset[str], fast: bool) -> Graph:
    """`parse_program`, by the fast driver (falling back to Lark) or by Lark alone."""
    refuse_foreign_breaks(text)
    state = _ProgramState(text, inputs)
    with _parser_lock:
        _reducer.state = state
        try:
            if not fast:
                raise Fallback
            last = _get_fast_parser().parse(text)
        except Fallback:
            from lark.exceptions import UnexpectedInput

            state = _ProgramState(text, inputs)
            _reducer.state = state
            try:
                last = _get_parser().parse(text)
            except UnexpectedInput as exc:
                raise parse_error(exc, text) from None
    if last is None:
        raise ParseError("the program is empty: there is nothing to evaluate",
                         hint='write an expression such as "(x+y)*z"')
    shadowed = state.constants_used & set(state.given)
    if shadowed:
        # "e*x where e=2": e is a variable after all; the where clause comes
        # last, so parse again knowing it.
        return parse_with(text, inputs | shadowed, fast)
    warnings = state.warnings
    unused = _unused_declarations(state)
    if unused:  # in source order, among the others
        warnings = sorted([*warnings, *unused], key=lambda warning: (warning.line, warning.column))
    return finish_graph(state.builder.nodes, last.node, state.assigned, text, state.given,
                        tuple(warnings), output_alias=last.name or "",
                        referenced=frozenset(state.referenced),
                        declarations=dict(state.declarations),
                        declared_at=dict(state.declared_at),
                        repeats=state.builder.repeats, loops=state.loops,
                        fresh_prefix=_fresh_prefix(state.loops))


def _unused_declarations(state: _ProgramState) -> list[SourceWarning]:
    """A warning for each declared name the program never uses."""
    found = []
    for name, (line, column) in state.declared_at.items():
        if name not in state.first_use:
            found.append(SourceWarning(
                "unused_declaration", f"{name} is declared but never used", line, column,
                state.source_line(line), hint="remove the declaration, or use the name"))
    return found

