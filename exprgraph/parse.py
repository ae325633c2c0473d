"""Text to graph: the LALR parser and the reduce-time lowering.

There is no separate syntax tree. Lark's LALR parser calls `_Reducer`'s
methods as it reduces each rule, bottom-up and left to right, and each call
appends (hash-consed) graph nodes at once. A reduction sequence already is a
post-order walk, so this is the AST-then-lower pipeline with the tree left
out: nothing is built that a later pass would have to recurse over, and a
100,000-deep nesting parses like a flat one.

A program may end with values for its inputs, `... where x=1, y=-2`; they
come back as `Graph.given`.

Scope rules, checked as statements are reduced:
- a name assigned earlier refers to that node;
- a function name is never a variable; `pi` and `e` are constants unless the
  program assigns them or the caller lists them in `inputs`;
- any other name is an input; assigning it after a use, or assigning any name
  twice, is a `ProgramError` pointing at both places.
"""

from __future__ import annotations

import difflib
import re
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
MAX_PROGRAM_CHARS = 10_000_000  # a documented limit: beyond it, a clear error

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
    "WHERE": "'where'",
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
class _Where:
    values: dict[str, float]


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
        self.given: dict[str, float] = {}
        self.constants_used: set[str] = set()

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
            state.constants_used.add(name)
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

    def where_number(self, children: list[Token]) -> tuple[float, Token]:
        sign = -1.0 if len(children) == 2 else 1.0
        token = children[-1]
        value = sign * float(token)
        if value in (float("inf"), float("-inf")):
            raise self.state.error(ParseError, f"the number {token} is too large for a float",
                                   token)
        return value, children[0]

    def where_constant(self, children: list[Token]) -> tuple[float, Token]:
        sign = -1.0 if len(children) == 2 else 1.0
        token = children[-1]
        if str(token) not in CONSTANTS:
            raise self.state.error(ParseError, f"a value after 'where' must be a number, not "
                                   f"{str(token)!r}", token, hint="e.g. where x=1, y=-2.5")
        return sign * CONSTANTS[str(token)], children[0]

    def binding(self, children: list[Any]) -> tuple[Token, float]:
        return children[0], children[1][0]

    def where(self, children: list[Any]) -> _Where:
        values: dict[str, float] = {}
        for token, value in children[1:]:
            if str(token) in values:
                raise self.state.error(ParseError, f"{token} is given two values", token)
            values[str(token)] = value
        return _Where(values)

    def start(self, children: list[Any]) -> _Statement | None:
        statements: list[_Statement] = children
        if children and isinstance(children[-1], _Where):
            self.state.given = children[-1].values
            statements = children[:-1]
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
_fast: _FastParser | None = None


def _get_parser() -> Lark:
    """The one LALR parser, built on first use (not at import time).

    Building the LALR tables takes about 0.2 s, most of a one-shot command's
    time, so Lark caches them: in the user's own cache folder (a pickle in a
    shared temporary folder could be planted by someone else), keyed by the
    grammar and Lark's version. Without a usable folder, it builds afresh.
    """
    global _parser
    if _parser is None:
        text = grammar_text()
        options: dict[str, Any] = {"parser": "lalr", "transformer": _reducer,
                                   "maybe_placeholders": False}
        cache = _cache_file(text)
        if cache is not None:
            try:
                _parser = Lark(text, cache=str(cache), **options)
            except (OSError, EOFError, ValueError, TypeError, AttributeError, ImportError):
                _parser = None  # an unreadable or stale cache: build without it
        if _parser is None:
            _parser = Lark(text, **options)
    return _parser


def _cache_file(grammar: str) -> Path | None:
    """Where the parse tables are cached, or None if there is no safe place."""
    import hashlib
    import os

    import lark

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "exprgraph"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            return None
    except OSError:
        return None
    key = hashlib.sha256(f"{lark.__version__}\n{grammar}".encode()).hexdigest()[:20]
    return folder / f"grammar-{key}.lark-cache"


_SHIFT, _REDUCE, _UNIT = 0, 1, 2  # kinds of parser action


class _Fallback(Exception):  # noqa: N818 - a signal, not an error
    """The fast path met something it leaves to Lark: almost always a syntax error."""


class _Token(str):
    """A token as the reduce callbacks read it: its text, line and column."""

    line: int
    column: int


class _FastParser:
    """Lark's own LALR tables and reduce callbacks, run by a lean loop.

    Lark builds everything here from grammar/expr.lark: the parse table, the
    callbacks (which filter anonymous tokens and inline `?` rules before
    calling `_Reducer`) and the terminals, ordered as Lark's lexer orders them
    (priority, then longest possible match). What this adds is speed: Lark's
    general driver and lexer cost about 5 µs a token; this loop with one
    master regex costs a fraction of that. Where the fast path cannot go on
    (an unexpected character or token, or `where` used as a name) it raises
    `_Fallback` and the caller parses again with Lark itself, so results and
    error messages are always Lark's; tests check the two agree.
    """

    def __init__(self, lark: Lark) -> None:
        from lark.parsers.lalr_analysis import Shift

        front = lark.parser.parser  # the LALR_Parser
        table = front._parse_table
        callbacks = front.parser.callbacks
        self.start = table.start_states["start"]
        self.end = table.end_states["start"]
        # Plain str keys: Lark's names are Token objects, whose __eq__ is Python.
        self.states: dict[int, dict[str, tuple[int, Any]]] = {
            state: {str(symbol): self._action(action is Shift, arg, callbacks)
                    for symbol, (action, arg) in actions.items()}
            for state, actions in table.states.items()
        }
        self.unit_targets: dict[tuple[int, int, str], int] = {}
        # Tokens no callback sees ("(", ",", ";") need no token object.
        self.kept = frozenset(str(symbol.name) for rule in lark.rules for symbol in rule.expansion
                              if symbol.is_term and not symbol.filter_out)
        terminals = sorted(lark.lexer_conf.terminals, key=lambda t: (
            -t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
        # A literal that a regex terminal also matches is a keyword: Lark lexes
        # it with the regex and renames it (NAME "where" → WHERE).
        self.keywords = {t.pattern.value: t.name for t in terminals if t.pattern.type == "str"
                         and t.pattern.value.isidentifier()}
        regexes = [f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals
                   if t.name not in self.keywords.values()]
        self.master = re.compile("|".join([*regexes, "(?P<__ERROR>.)"]), re.DOTALL)
        self.ignore = frozenset(lark.lexer_conf.ignore)

    @staticmethod
    def _action(shift: bool, arg: Any, callbacks: Any) -> tuple[int, Any]:
        if shift:
            return _SHIFT, arg
        if len(arg.expansion) == 1 and arg.options.expand1 and not arg.alias:
            # "?power: atom": the callback hands the child up unchanged.
            return _UNIT, str(arg.origin.name)
        return _REDUCE, (len(arg.expansion), str(arg.origin.name), callbacks[arg])

    def _unit_target(self, below: int, top: int, kind: str) -> int:
        """Where a chain of unit reductions from `top` (over `below`) ends for
        lookahead `kind`: atom → power → unary → product → sum in one step."""
        key = (below, top, kind)
        target = self.unit_targets.get(key)
        if target is None:
            target = top
            action = self.states[target].get(kind)
            while action is not None and action[0] == _UNIT:
                target = self.states[below][action[1]][1]
                action = self.states[target].get(kind)
            self.unit_targets[key] = target
        return target

    def parse(self, text: str) -> Any:
        """Run the callbacks over `text` as Lark would; `_Fallback` where it can't."""
        states = self.states
        stack = [self.start]
        values: list[Any] = []
        ignore = self.ignore
        keywords = self.keywords
        kept = self.kept
        unit_targets = self.unit_targets
        line, line_start = 1, 0
        token: _Token | None
        for match in self.master.finditer(text):
            kind: str = match.lastgroup  # type: ignore[assignment]
            if kind in ignore:
                continue
            if kind in kept:
                token = _Token(match.group())
                token.line = line
                token.column = match.start() - line_start + 1
                if kind == "NAME" and token in keywords:
                    kind = keywords[token]
            else:
                token = None
                if kind == "_SEP" and match.group() != ";":
                    line, line_start = line + 1, match.end()
                elif kind == "__ERROR":
                    raise _Fallback
            while True:
                action = states[stack[-1]].get(kind)
                if action is None:
                    raise _Fallback
                tag = action[0]
                if tag == _SHIFT:
                    stack.append(action[1])
                    values.append(token)
                    break
                if tag == _UNIT:
                    target = unit_targets.get((stack[-2], stack[-1], kind))
                    if target is None:
                        target = self._unit_target(stack[-2], stack[-1], kind)
                    stack[-1] = target
                else:
                    self._reduce(stack, values, action[1])
        while True:
            action = states[stack[-1]].get("$END")
            if action is None or action[0] == _SHIFT:
                raise _Fallback
            if action[0] == _UNIT:
                stack[-1] = self._unit_target(stack[-2], stack[-1], "$END")
            else:
                self._reduce(stack, values, action[1])
            if stack[-1] == self.end:
                return values[-1]

    def _reduce(self, stack: list[int], values: list[Any], rule: tuple[int, str, Any]) -> None:
        size, origin, callback = rule
        if size:
            children = values[-size:]
            del values[-size:]
            del stack[-size:]
        else:
            children = []
        values.append(callback(children))
        stack.append(self.states[stack[-1]][origin][1])


def _get_fast_parser() -> _FastParser:
    global _fast
    if _fast is None:
        _fast = _FastParser(_get_parser())
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
    state = _ProgramState(text, inputs)
    with _parser_lock:
        _reducer.state = state
        try:
            if not fast:
                raise _Fallback
            last = _get_fast_parser().parse(text)
        except _Fallback:
            state = _ProgramState(text, inputs)
            _reducer.state = state
            try:
                last = _get_parser().parse(text)
            except UnexpectedInput as exc:
                raise _parse_error(exc, state) from None
    if last is None:
        raise ParseError("the program is empty: there is nothing to evaluate",
                         hint='write an expression such as "(x+y)*z"')
    shadowed = state.constants_used & set(state.given)
    if shadowed:
        # "e*x where e=2": e is a variable after all; the where clause comes
        # last, so parse again knowing it.
        return parse_with(text, inputs | shadowed, fast)
    return finish_graph(state.builder.nodes, last.node, state.assigned, text, state.given)


def _parse_error(exc: UnexpectedInput, state: _ProgramState) -> ParseError:
    line, column = max(exc.line, 1) if exc.line else 1, max(exc.column, 1) if exc.column else 1
    source_line = state.source_line(line)
    hint = None
    if isinstance(exc, UnexpectedCharacters):
        char = state.source[exc.pos_in_stream] if exc.pos_in_stream < len(state.source) else ""
        message = f"unexpected character {char!r}"
        if "\udc80" <= char <= "\udcff":  # an undecodable byte, as Python escapes it
            message = f"unexpected byte 0x{ord(char) - 0xDC00:02X}, which is not UTF-8 text"
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
            hint = ("only a single name can be assigned: name = expression (functions "
                    "cannot be defined)")
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
