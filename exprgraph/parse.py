"""Text to graph: the LALR parser and the reduce-time lowering.

There is no separate syntax tree. Lark's LALR parser calls `_Reducer`'s
methods as it reduces each rule, bottom-up and left to right, and each call
appends (hash-consed) graph nodes at once. A reduction sequence already is a
post-order walk, so this is the AST-then-lower pipeline with the tree left
out: nothing is built that a later pass would have to recurse over, and a
100,000-deep nesting parses like a flat one.

Scope rules, checked as statements are reduced:
- a name assigned earlier refers to that node;
- a function name is never a variable; `pi` and `e` are constants unless the
  program assigns them or the caller lists them in `inputs`;
- any other name is an input; assigning it after a use, or assigning any name
  twice, is a `ProgramError` pointing at both places.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import ParseError, ProgramError
from .graph import Graph, GraphBuilder, finish_graph
from .ops import BINARY_SYMBOLS, CONSTANTS, FUNCTIONS, INPUT, MUL, NEG

GRAMMAR_FILE = "expr.lark"

# How Lark's terminal names read in an error message.
_TERMINAL_WORDS = {
    "NUMBER": "a number",
    "NAME": "a name",
    "CALL_NAME": "a function call",
    "LPAR": "'('",
    "RPAR": "')'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "TIMES": "'*'",
    "DIVIDE": "'/'",
    "POWER": "'^'",
    "COMMA": "','",
    "EQUAL": "'='",
    "_SEP": "';' or a new line",
    "$END": "the end of the input",
}

# Characters people paste from documents, and what to type instead.
_LOOKALIKES = {
    "\u2212": "-",
    "\u2013": "-",
    "\u00d7": "*",
    "\u22c5": "*",
    "\u00b7": "*",
    "\u00f7": "/",
    "\u00b2": "^2",
    "\u00b3": "^3",
}


def grammar_text() -> str:
    """The grammar source: packaged inside an installed wheel, else the source tree's.

    A wheel carries `grammar/expr.lark` inside the package (hatchling
    force-include); an editable install runs from the source tree, where the
    file is the top-level `grammar/expr.lark`.
    """
    packaged = resources.files("exprgraph").joinpath("grammar", GRAMMAR_FILE)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    source_tree = Path(__file__).resolve().parent.parent / "grammar" / GRAMMAR_FILE
    return source_tree.read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class _Statement:
    name: str | None  # None for a bare expression
    node: int
    line: int
    column: int


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

    def source_line(self, line: int) -> str:
        lines = self.source.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def error(self, cls: type[ProgramError] | type[ParseError], message: str, token: Token,
              hint: str | None = None) -> Exception:
        line, column = token.line or 0, token.column or 0
        return cls(message, line=line, column=column, source_line=self.source_line(line),
                   hint=hint)


class _Reducer:
    """The parser's reduce callbacks; each builds nodes in the current state.

    Lark binds callbacks once, when the parser is built, so the per-parse state
    lives in `self.state`, set by `parse_program` under a lock.
    """

    state: _ProgramState

    def number(self, children: list[Token]) -> int:
        token = children[0]
        value = float(token)
        if value == float("inf"):
            raise self.state.error(ParseError, f"the number {token} is too large for a float",
                                   token, hint="floats go up to about 1.8e308")
        return self.state.builder.constant(value)

    def name(self, children: list[Token]) -> int:
        token = children[0]
        name = str(token)
        state = self.state
        if name in state.assigned:
            return state.assigned[name]
        if name in FUNCTIONS:
            raise state.error(ProgramError, f"{name} is a function, not a variable", token,
                              hint=f"call it with its argument, e.g. {name}(x)")
        state.first_use.setdefault(name, (token.line or 0, token.column or 0))
        if name in CONSTANTS and name not in state.forced_inputs:
            return state.builder.constant(CONSTANTS[name], label=name)
        return state.builder.intern(INPUT, label=name, line=token.line or 0,
                                    column=token.column or 0)

    def call(self, children: list[Any]) -> int:
        token: Token = children[0]
        args = tuple(children[1:])
        name = str(token)
        state = self.state
        op = FUNCTIONS.get(name)
        if op is None:
            raise self._unknown_function(token)
        if len(args) != op.arity:
            plural = "argument" if op.arity == 1 else "arguments"
            raise state.error(ProgramError,
                              f"{name} takes {op.arity} {plural}, but {len(args)} were given",
                              token)
        return state.builder.intern(op, args, line=token.line or 0, column=token.column or 0)

    def _unknown_function(self, token: Token) -> Exception:
        name = str(token)
        state = self.state
        rest = state.source_line(token.line or 0)[(token.column or 1) - 1 + len(name):].lstrip()
        if name in state.assigned or not _looks_like_function(name):
            return state.error(
                ProgramError, f"{name} is not a function, so {name}(...) means nothing",
                token, hint=f"to multiply, write {name}*{_parenthesised(rest)}")
        close = difflib.get_close_matches(name, sorted(FUNCTIONS), n=1)
        hint = f"did you mean {close[0]}?" if close else (
            "known functions: " + ", ".join(sorted(FUNCTIONS)))
        return state.error(ProgramError, f"unknown function {name}", token, hint=hint)

    def binary(self, children: list[Any]) -> int:
        left, token, right = children
        return self.state.builder.intern(BINARY_SYMBOLS[str(token)], (left, right),
                                         line=token.line or 0, column=token.column or 0)

    def implicit_times(self, children: list[int]) -> int:
        left, right = children
        where = self.state.builder.nodes[right]
        return self.state.builder.intern(MUL, (left, right), line=where.line, column=where.column)

    def unary(self, children: list[Any]) -> int:
        token, operand = children
        if str(token) == "+":
            return operand
        return self.state.builder.intern(NEG, (operand,), line=token.line or 0,
                                         column=token.column or 0)

    def assign(self, children: list[Any]) -> _Statement:
        token, node = children
        name = str(token)
        state = self.state
        where = (token.line or 0, token.column or 0)
        if name in FUNCTIONS:
            raise state.error(ProgramError, f"{name} is a function and cannot be assigned",
                              token, hint="choose another name")
        if name in state.assigned:
            line, column = state.assigned_at[name]
            raise state.error(ProgramError, f"{name} is assigned twice",
                              token, hint=f"first assigned at line {line}, column {column}; "
                              "every name is assigned once")
        if name in state.first_use:
            line, column = state.first_use[name]
            raise state.error(ProgramError, f"{name} is used before it is assigned",
                              token, hint=f"first used at line {line}, column {column}; "
                              "assign it before using it, or rename one of them")
        state.assigned[name] = node
        state.assigned_at[name] = where
        return _Statement(name, node, *where)

    def bare(self, children: list[int]) -> _Statement:
        node = self.state.builder.nodes[children[0]]
        return _Statement(None, children[0], node.line, node.column)

    def start(self, statements: list[_Statement]) -> _Statement | None:
        for statement in statements[:-1]:
            if statement.name is None:
                raise ProgramError(
                    "only the last statement may be an expression without a name",
                    line=statement.line, column=statement.column,
                    source_line=self.state.source_line(statement.line),
                    hint="assign it (name = ...) or remove it")
        return statements[-1] if statements else None


def _looks_like_function(name: str) -> bool:
    """Whether an unknown name followed by '(' reads as a misspelt function."""
    return bool(difflib.get_close_matches(name, list(FUNCTIONS), n=1, cutoff=0.75)) or len(name) > 3


def _parenthesised(rest: str) -> str:
    """The parenthesised group at the start of `rest`, for a hint."""
    depth = 0
    for i, char in enumerate(rest):
        depth += (char == "(") - (char == ")")
        if depth == 0:
            return rest[: i + 1]
    return rest


_reducer = _Reducer()
_parser_lock = threading.Lock()
_parser: Lark | None = None


def _get_parser() -> Lark:
    """The one LALR parser, built on first use (not at import time)."""
    global _parser
    if _parser is None:
        _parser = Lark(grammar_text(), parser="lalr", transformer=_reducer,  # type: ignore[arg-type]
                       maybe_placeholders=False)
    return _parser


def parse_program(text: str, inputs: frozenset[str] | set[str] = frozenset()) -> Graph:
    """Parse a program into a `Graph`.

    `inputs` lists names to treat as inputs even where they are constants
    (`e`, `pi`): the values a caller is about to supply. Raises `ParseError`
    for malformed text and `ProgramError` for text that means nothing.
    """
    state = _ProgramState(text, frozenset(inputs))
    with _parser_lock:
        parser = _get_parser()
        _reducer.state = state
        try:
            last = parser.parse(text)
        except UnexpectedInput as exc:
            raise _parse_error(exc, state) from None
    if last is None:
        raise ParseError("the program is empty: there is nothing to evaluate",
                         hint='write an expression such as "(x+y)*z"')
    return finish_graph(state.builder.nodes, last.node, state.assigned, text)


def _parse_error(exc: UnexpectedInput, state: _ProgramState) -> ParseError:
    line, column = max(exc.line, 1) if exc.line else 1, max(exc.column, 1) if exc.column else 1
    source_line = state.source_line(line)
    hint = None
    if isinstance(exc, UnexpectedCharacters):
        char = state.source[exc.pos_in_stream] if exc.pos_in_stream < len(state.source) else ""
        message = f"unexpected character {char!r}"
        if char in _LOOKALIKES:
            hint = f"type {_LOOKALIKES[char]!r} instead of {char!r}"
        expected: set[str] = set(exc.allowed or ())
    elif isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            message = "unexpected end of input"
            line, column = _end_position(state.source)
            source_line = state.source_line(line)
        else:
            message = f"unexpected {_describe_token(token)}"
        expected = set(exc.accepts or exc.expected or ())
        if token.type == "EQUAL":
            hint = "only a single name can be assigned: name = expression"
    elif isinstance(exc, UnexpectedEOF):
        message = "unexpected end of input"
        line, column = _end_position(state.source)
        source_line = state.source_line(line)
        expected = set(exc.expected or ())
    else:  # pragma: no cover - Lark has no other UnexpectedInput kinds
        message, expected = str(exc), set()
    words = sorted({_TERMINAL_WORDS.get(t, repr(t)) for t in expected if not t.startswith("__")})
    if words:
        message += "; expected " + _join_or(words)
    return ParseError(message, line=line, column=column, source_line=source_line, hint=hint,
                      expected=words)


def _describe_token(token: Token) -> str:
    if token.type == "_SEP":
        return "';'" if str(token) == ";" else "new line"
    if token.type in ("NUMBER", "NAME", "CALL_NAME"):
        return f"{_TERMINAL_WORDS[token.type][2:]} {str(token)!r}"
    return repr(str(token))


def _end_position(text: str) -> tuple[int, int]:
    lines = text.splitlines() or [""]
    if text.endswith(("\n", "\r")):
        return len(lines) + 1, 1
    return len(lines), len(lines[-1]) + 1


def _join_or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
