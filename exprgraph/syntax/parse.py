"""Text to graph: the LALR parser and the reduce-time lowering.

There is no separate syntax tree. The LALR driver (syntax/lalr.py, over the
shipped tables; Lark's own parser for text with a syntax error, so that the
message is Lark's) calls `_Reducer`'s methods as it reduces each rule,
bottom-up and left to right, and each call appends (hash-consed) graph nodes
at once. A reduction sequence already is a
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

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)
from lark.lark import PostLex

from ..core.errors import ParseError, ProgramError, SourceWarning
from ..core.graph import Graph, GraphBuilder, finish_graph
from ..core.ops import BINARY_SYMBOLS, CONST, CONSTANTS, FUNCTIONS, INPUT, MUL, NEG
from ..core.text import closest, did_you_mean, source_line
from .lalr import Fallback, LalrDriver

GRAMMAR_FILE = "expr.lark"
MAX_PROGRAM_CHARS = 2_000_000  # documented (README, Limits): ~15 s and ~0.8 GB at most

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

# A nonzero number below about half the smallest positive float (a subnormal,
# 4.9e-324) reads as 0, which is said in a warning rather than left silent.
UNDERFLOW_HINT = "the smallest positive float is about 4.9e-324; write 0 if 0 is meant"


def is_underflow(text: str, value: float) -> bool:
    """Whether the number `text`, read as `value`, is nonzero but read as 0."""
    mantissa = re.split("[eE]", text, maxsplit=1)[0]
    return value == 0.0 and any(digit in mantissa for digit in "123456789")


def underflow_message(text: str) -> str:
    """The warning for a number that reads as 0: it names the number."""
    return f"{text} is below the smallest float and reads as 0"


# Characters that str.splitlines (and so editors and other tools) take as line
# breaks but the grammar does not: refused where they stand, so that every
# message counts lines as the grammar does ("\n", or "\r\n", ends a line; a
# form feed or lone "\r" is white space).
_FOREIGN_BREAKS = {
    "\x0b": "vertical tab", "\x1c": "file separator", "\x1d": "group separator",
    "\x1e": "record separator", "\x85": "NEL, next line",
    "\u2028": "line separator", "\u2029": "paragraph separator",
}
_FOREIGN_BREAK = re.compile("[" + "".join(_FOREIGN_BREAKS) + "]")


def _refuse_foreign_breaks(text: str) -> None:
    """A `ParseError` at the first character of `text` that other tools read as a
    line break but exprgraph does not (in a comment too)."""
    found = _FOREIGN_BREAK.search(text)
    if found is None:
        return
    at = found.start()
    line_start = text.rfind("\n", 0, at) + 1
    line = text.count("\n", 0, at) + 1
    char = found.group()
    raise ParseError(f"unexpected character U+{ord(char):04X} ({_FOREIGN_BREAKS[char]}), "
                     "which exprgraph does not read as a line break",
                     line=line, column=at - line_start + 1,
                     source_line=source_line(text, line) or "",
                     hint="end lines with a new line (\\n) or separate statements with ';'")


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
    source_tree = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_FILE
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
        self.given: dict[str, float] = {}
        self.constants_used: set[str] = set()
        self.warnings: list[SourceWarning] = []
        self.referenced: set[str] = set()  # assigned names a later statement uses
        self.owned: set[int] = set()  # constants that are a name's (or the output's) own node
        self.statement_start = 0  # the node count when the current statement began

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
        if value == 0.0:
            self.state.note_underflow(token)
        return self.state.builder.constant(value)

    def name(self, children: list[Token]) -> int:
        token = children[0]
        name = str(token)
        state = self.state
        if name in state.assigned:
            state.referenced.add(name)
            return state.assigned[name]
        if name in FUNCTIONS:
            raise state.error(ProgramError, f"{name} is a function, not a variable", token,
                              hint=_function_as_variable_hint(name, state.rest_after(token)))
        state.first_use.setdefault(name, (token.line or 0, token.column or 0))
        if name in CONSTANTS and name not in state.forced_inputs:
            state.constants_used.add(name)
            return state.builder.constant(CONSTANTS[name], label=name)
        return state.builder.intern(INPUT, label=name, line=token.line or 0,
                                    column=token.column or 0)

    def call(self, children: list[Any]) -> int:
        token: Token = children[0]
        args = tuple([+arg for arg in children[1:]])
        name = str(token)
        state = self.state
        op = FUNCTIONS.get(name)
        if op is None:
            raise self._unknown_function(token)
        if len(args) != op.arity:
            plural = "argument" if op.arity == 1 else "arguments"
            raise state.error(ProgramError,
                              f"{name} takes {op.arity} {plural}, but {len(args)} were given",
                              token, hint=_arity_hint(name, _arguments(state.rest_after(token))))
        return state.builder.intern(op, args, line=token.line or 0, column=token.column or 0)

    def _unknown_function(self, token: Token) -> Exception:
        name = str(token)
        state = self.state
        rest = state.rest_after(token)
        group = _one_line(_parenthesised(rest.lstrip()))
        advice = None if name in state.assigned else _function_advice(name, _arguments(rest))
        if advice is not None:
            return state.error(ProgramError, f"unknown function {name}", token, hint=advice)
        if name in state.assigned or not _looks_like_function(name):
            return state.error(
                ProgramError, f"{name} is not a function, so {name}(...) means nothing",
                token, hint=f"to multiply, write {name}*{group}")
        hint = did_you_mean(name, sorted(FUNCTIONS)) or (
            "known functions: " + ", ".join(sorted(FUNCTIONS)))
        return state.error(ProgramError, f"unknown function {name}", token, hint=hint)

    def binary(self, children: list[Any]) -> int:
        left, token, right = children
        node = self.state.builder.intern(BINARY_SYMBOLS[str(token)], (+left, +right),
                                         line=token.line or 0, column=token.column or 0)
        if token == "/":
            return _Quotient.at(node, token)
        return node

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

    def group(self, children: list[int]) -> int:
        # A parenthesised quotient is a plain factor: (1/2)x is meant.
        return +children[0]

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
        node = state.own_if_constant(+node)
        state.assigned[name] = node
        state.assigned_at[name] = where
        state.statement_start = len(state.builder.nodes)
        return _Statement(name, node, *where)

    def bare(self, children: list[int]) -> _Statement:
        node = self.state.builder.nodes[children[0]]
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
    return closest(name, list(FUNCTIONS), cutoff=0.75) is not None or len(name) > 3


def _parenthesised(rest: str) -> str:
    """The parenthesised group at the start of `rest`, for a hint."""
    depth = 0
    for i, char in enumerate(rest):
        depth += (char == "(") - (char == ")")
        if depth == 0:
            return rest[: i + 1]
    return rest


def _one_line(text: str) -> str:
    """`text` with every run of white space (new lines too) as one space."""
    return " ".join(text.split())


def _arguments(rest: str) -> list[str] | None:
    """The arguments of the call whose "(" starts `rest`, as source text; None if
    the parentheses do not close."""
    group = _parenthesised(rest.lstrip())
    if not group.startswith("(") or not group.endswith(")"):
        return None
    arguments, depth, start = [], 0, 1
    for i, char in enumerate(group):
        depth += (char == "(") - (char == ")")
        if (char == "," and depth == 1) or i == len(group) - 1:
            arguments.append(_one_line(group[start:i]))
            start = i + 1
    return arguments


def _wrapped(text: str) -> str:
    """`text` in parentheses unless it is a single name or number."""
    return text if re.fullmatch(r"[\w.]+", text) else f"({text})"


# Functions people write that exprgraph spells another way or lacks, and
# what to write instead; {a} is the argument's text, {w} the same in
# parentheses unless it is a single name or number.
_FUNCTION_ADVICE = {
    "sec": "1/cos({a})", "csc": "1/sin({a})", "cosec": "1/sin({a})", "cot": "1/tan({a})",
    "cotan": "1/tan({a})", "sech": "1/cosh({a})", "csch": "1/sinh({a})",
    "coth": "1/tanh({a})",
    "arcsin": "asin({a})", "arccos": "acos({a})", "arctan": "atan({a})",
    "asec": "acos(1/{w})", "arcsec": "acos(1/{w})", "acsc": "asin(1/{w})",
    "arccsc": "asin(1/{w})", "acot": "atan(1/{w})", "arccot": "atan(1/{w})",
    "asinh": "log({w} + sqrt({w}^2 + 1))", "arsinh": "log({w} + sqrt({w}^2 + 1))",
    "arcsinh": "log({w} + sqrt({w}^2 + 1))",
    "acosh": "log({w} + sqrt({w}^2 - 1))", "arcosh": "log({w} + sqrt({w}^2 - 1))",
    "arccosh": "log({w} + sqrt({w}^2 - 1))",
    "atanh": "log((1 + {w})/(1 - {w}))/2", "artanh": "log((1 + {w})/(1 - {w}))/2",
    "arctanh": "log((1 + {w})/(1 - {w}))/2",
    "tg": "tan({a})", "lg": "log10({a})", "sgn": "sign({a})", "heaviside": "step({a})",
}


def _function_advice(name: str, arguments: list[str] | None) -> str | None:
    """A hint for a function name exprgraph does not know but can say what to write
    instead of (`Sin`, `sec`, `arcsin`), or None."""
    lower = name.lower()
    if lower in FUNCTIONS:
        return f"did you mean {lower}? function names are lower case"
    template = _FUNCTION_ADVICE.get(lower)
    if template is None:
        return None
    one = arguments[0] if arguments and len(arguments) == 1 and arguments[0] else "x"
    return f"exprgraph has no {name}; write {template.format(a=one, w=_wrapped(one))}"


def _arity_hint(name: str, arguments: list[str] | None) -> str | None:
    """Advice for a call with the wrong number of arguments, where there is some."""
    if not arguments:
        return None
    if name in ("log", "ln") and len(arguments) == 2:
        value, base = arguments
        return (f"{name} is the natural logarithm; for the logarithm of {value} to base "
                f"{base}, write log({value})/log({base})")
    if name in ("min", "max") and len(arguments) > 2:
        nested = f"{name}({arguments[0]}, {arguments[1]})"
        for argument in arguments[2:]:
            nested = f"{name}({nested}, {argument})"
        return f"{name} takes two at a time: write {nested}"
    return None


_POWER_OF_CALL = re.compile(r"\s*(?:\^|\*\*)\s*(-?\s*[\w.]+)\s*(?=\()")
_BARE_ARGUMENT = re.compile(r"[ \t]+([A-Za-z_]\w*|\d+\.?\d*)\s*(?:$|[-+*/^);,\n#])")


def _function_as_variable_hint(name: str, rest: str) -> str:
    """Advice for a function name used without its call: `sin^2(x)`, `sin x`."""
    power = _POWER_OF_CALL.match(rest)
    if power is not None:
        exponent = power.group(1).replace(" ", "")
        group = _one_line(_parenthesised(rest[power.end():]))
        if exponent == "-1":
            inverse = f"a{name}" if f"a{name}" in FUNCTIONS else None
            return (f"for 1/{name}{group} write {name}{group}^-1"
                    + (f"; for the inverse function write {inverse}{group}" if inverse else ""))
        return f"the power goes after the call: write {name}{group}^{exponent}"
    bare = _BARE_ARGUMENT.match(rest)
    if bare is not None:
        return f"put the argument in parentheses: {name}({bare.group(1)})"
    return f"call it with its argument in parentheses, e.g. {name}(x)"


class _BracketNewlines(PostLex):
    """Drops new lines inside brackets, as Python does: `p = (x +\n y)`.

    Outside brackets a new line separates statements, like `;`. The grammar
    cannot say "a new line, but only outside brackets" without conflicts, so
    this filter between lexer and parser keeps a bracket depth instead; the
    fast driver keeps the same depth in its loop.
    """

    # The contextual lexer must lex a new line even where the parser would
    # not accept one (inside brackets), so that it can be dropped here.
    always_accept = ("_SEP",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        """The tokens of `stream`, without new lines inside brackets."""
        depth = 0
        for token in stream:
            kind = token.type
            if kind == "LPAR":
                depth += 1
            elif kind == "RPAR":
                depth = max(depth - 1, 0)
            elif kind == "_SEP" and depth and token != ";":
                continue
            yield token


_reducer = _Reducer()
_postlex = _BracketNewlines()
_parser_lock = threading.Lock()
_parser: Lark | None = None
_fast: LalrDriver | None = None


def _get_parser() -> Lark:
    """The one LALR parser, loaded on first use (not at import time).

    Its tables come from `parser_tables.json`, plain data shipped inside the
    package and generated from the grammar by `build_tables`. Building them
    from the grammar takes about 0.5 s, most of a one-shot command's time;
    loading them takes milliseconds. Nothing is read from or written to a
    cache folder: a cached pickle in a folder others can write runs their
    code, and JSON is data only. If the shipped tables do not match the
    grammar (it was edited and the tables not regenerated) or this Lark
    cannot load them, the tables are built from the grammar, which is slower
    but always right.
    """
    global _parser
    if _parser is None:
        text = grammar_text()
        _parser = _load_tables(text)
        if _parser is None:
            _parser = Lark(text, **_LARK_OPTIONS, transformer=_reducer, postlex=_postlex)
    return _parser


# Lark's options for our grammar; the table generator and the fallback share them.
_LARK_OPTIONS: dict[str, Any] = {"parser": "lalr", "maybe_placeholders": False}
TABLES_FILE = "parser_tables.json"
TABLES_FORMAT = 1  # bump when the layout of parser_tables.json changes


def _grammar_digest(grammar: str) -> str:
    import hashlib

    return hashlib.sha256(grammar.encode("utf-8")).hexdigest()


def build_tables(grammar: str) -> str:
    """The LALR tables for `grammar`, as the JSON text `parser_tables.json` holds.

    The data is Lark's own serialised parser (`Lark.memo_serialize`, what
    Lark's standalone generator embeds), made canonical so that the same
    grammar always gives the same text: Lark numbers its parse states and
    lookahead tokens in set-iteration order, which varies with Python's hash
    seed, so states are renumbered breadth-first from the start state and
    tokens alphabetically. A test regenerates the file and compares.
    """
    import lark
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    built = Lark(grammar, **_LARK_OPTIONS)
    data, memo = built.memo_serialize([TerminalDef, Rule])
    data["parser"]["parser"] = _canonical_table(data["parser"]["parser"])
    document = {
        "comment": "LALR tables for grammar/expr.lark; generated by exprgraph.syntax.parse."
                   "write_parser_tables(); do not edit",
        "format": TABLES_FORMAT,
        "grammar_sha256": _grammar_digest(grammar),
        "lark_version": lark.__version__,
        "data": data,
        "memo": memo,
    }
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def _canonical_table(table: dict[str, Any]) -> dict[str, Any]:
    """Lark's serialised parse table with states and tokens numbered canonically."""
    old_tokens: dict[int, str] = table["tokens"]
    token_ids = {name: index for index, name in enumerate(sorted(old_tokens.values()))}
    old_states: dict[int, dict[int, tuple[int, Any]]] = table["states"]
    # Breadth-first from the start states: a numbering that depends only on
    # the automaton, not on the order Lark happened to build it in.
    order: dict[int, int] = {}
    queue = [table["start_states"][name] for name in sorted(table["start_states"])]
    queue += [table["end_states"][name] for name in sorted(table["end_states"])]
    while queue:
        state = queue.pop(0)
        if state in order:
            continue
        order[state] = len(order)
        actions = old_states[state]
        for token in sorted(actions, key=old_tokens.__getitem__):
            kind, arg = actions[token]
            if kind == 0:  # a shift (or goto): arg is the next state
                queue.append(arg)
    if len(order) != len(old_states):  # pragma: no cover - every LALR state is reachable
        raise RuntimeError("the parse table has unreachable states")
    states = {
        order[state]: {
            token_ids[old_tokens[token]]: [kind, order[arg] if kind == 0 else arg]
            for token, (kind, arg) in actions.items()
        }
        for state, actions in old_states.items()
    }
    return {
        "tokens": {index: name for name, index in token_ids.items()},
        "states": dict(sorted(states.items())),
        "start_states": {name: order[s] for name, s in table["start_states"].items()},
        "end_states": {name: order[s] for name, s in table["end_states"].items()},
    }


def _tables_text() -> str | None:
    """The shipped `parser_tables.json`, or None if it is missing."""
    tables = resources.files(__package__).joinpath(TABLES_FILE)
    try:
        return tables.read_text(encoding="utf-8")
    except OSError:
        return None


def _tables_document(grammar: str) -> dict[str, Any] | None:
    """The shipped `parser_tables.json`, parsed, or None if it is missing, is not
    of this format or was generated from another grammar."""
    text = _tables_text()
    if text is None:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if (not isinstance(document, dict) or document.get("format") != TABLES_FORMAT
            or document.get("grammar_sha256") != _grammar_digest(grammar)):
        return None
    return document


def _load_tables(grammar: str) -> Lark | None:
    """Lark's parser from the shipped tables, or None if they do not fit `grammar`
    or this Lark cannot load them (`_load_from_dict` is Lark's private loader)."""
    document = _tables_document(grammar)
    if document is None:
        return None
    try:
        # JSON object keys are strings; Lark's memo, token and state maps
        # are keyed by integers.
        memo = _int_keys(document["memo"])
        table = document["data"]["parser"]["parser"]
        table["tokens"] = _int_keys(table["tokens"])
        table["states"] = {int(state): _int_keys(actions)
                           for state, actions in table["states"].items()}
        return Lark._load_from_dict(document["data"], memo, transformer=_reducer,
                                    postlex=_postlex)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, LarkError):
        return None  # a Lark whose serialised form differs: build from the grammar


def _int_keys(mapping: dict[str, Any]) -> dict[int, Any]:
    return {int(key): value for key, value in mapping.items()}


def write_parser_tables(target: Path | None = None) -> Path:
    """Regenerate `parser_tables.json` from the grammar; returns the path written.

    Run it after editing grammar/expr.lark (and with a newly allowed Lark):
    `python -c "from exprgraph.syntax.parse import write_parser_tables; write_parser_tables()"`.
    """
    path = target or Path(__file__).resolve().parent / TABLES_FILE
    path.write_text(build_tables(grammar_text()), encoding="utf-8")
    return path


def _get_fast_parser() -> LalrDriver:
    """The fast driver, over the shipped tables (or, if they do not fit the
    grammar, tables generated from it now: slower to start, always right)."""
    global _fast
    if _fast is None:
        text = grammar_text()
        document = _tables_document(text)
        if document is None:
            document = json.loads(build_tables(text))
        _fast = LalrDriver(document, _reducer)
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
    _refuse_foreign_breaks(text)
    state = _ProgramState(text, inputs)
    with _parser_lock:
        _reducer.state = state
        try:
            if not fast:
                raise Fallback
            last = _get_fast_parser().parse(text)
        except Fallback:
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
    return finish_graph(state.builder.nodes, last.node, state.assigned, text, state.given,
                        tuple(state.warnings), output_alias=last.name or "",
                        referenced=frozenset(state.referenced))


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
        else:
            hint = _character_hint(char, state.source[exc.pos_in_stream:])
        expected: set[str] = set(exc.allowed or ()) & _accepted_here(exc)
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


def _accepted_here(exc: UnexpectedCharacters) -> set[str]:
    """The terminals the parser accepts where the lexer stopped.

    The lexer's own list is wider: it always lexes a new line (to drop it
    inside brackets), so only the parse table says whether one may come next.
    """
    state = getattr(exc, "state", None)
    try:
        return {str(symbol) for symbol in state.parse_conf.parse_table.states[state.position]}
    except AttributeError:  # no parser state known: keep the lexer's list
        return set(exc.allowed or ())


def _describe_token(token: Token) -> str:
    if token.type == "_SEP":
        return "';'" if str(token) == ";" else "new line"
    if token.type in ("NUMBER", "NAME", "CALL_NAME"):
        return f"{_TERMINAL_WORDS[token.type][2:]} {str(token)!r}"
    return repr(str(token))


def _end_position(text: str) -> tuple[int, int]:
    # Lines end at "\n" only, as the lexer counts them: a form feed or a lone
    # "\r" is white space inside a line (str.splitlines would split there).
    lines = text.split("\n")
    return len(lines), len(lines[-1].rstrip("\r")) + 1


def _character_hint(char: str, rest: str) -> str | None:
    """Advice for an unexpected character at the start of `rest`, where there is some."""
    if char == "|":
        closing = rest.find("|", 1)
        inner = rest[1:closing] if closing > 0 else ""
        if inner.strip() and "\n" not in inner:
            return f"for the absolute value write abs({inner.strip()}) instead of |{inner}|"
        return "for an absolute value write abs(x) instead of |x|"
    if char == "\u221a":  # √
        return "for a square root write sqrt(x) instead of \u221ax"
    if char.isdecimal() and not char.isascii():  # ３ (full-width), ٣ (Arabic-Indic)
        return f"numbers are written with ASCII digits: write {int(char)} for {char}"
    if char.isalpha() and not char.isascii():
        ascii_name = _ascii_name(char)
        if ascii_name == "pi":
            return "write pi for \u03c0"
        if ascii_name is not None:
            return f"names are ASCII: write {ascii_name} for {char}"
        return "names are ASCII letters, digits and _ (e.g. theta, x1, x_0)"
    return None


_GREEK = re.compile(r"GREEK (?:(SMALL|CAPITAL) LETTER (\w+)|(\w+) SYMBOL)$")


def _ascii_name(letter: str) -> str | None:
    """The ASCII spelling of a Greek letter (θ → theta, Δ → Delta), else None."""
    import unicodedata

    name = unicodedata.name(letter, "")
    if name == "MICRO SIGN":  # µ, which keyboards give for μ
        return "mu"
    match = _GREEK.match(name)
    if match is None:
        return None
    case, word = (match.group(1), match.group(2)) if match.group(2) else ("SMALL", match.group(3))
    word = "lambda" if word == "LAMDA" else word.lower()  # Unicode spells it LAMDA
    return word.capitalize() if case == "CAPITAL" else word


def _join_or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
