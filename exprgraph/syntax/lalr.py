"""The fast LALR driver: runs the shipped parse tables with no Lark at run time.

`exprgraph/syntax/parser_tables.json` holds the LALR(1) automaton for
grammar/expr.lark as plain data: Lark's serialised parser (the same data
Lark's standalone generator embeds in the module it writes), with states and
tokens numbered canonically. `LalrDriver` reads only that document and runs
it with one master regular expression for the lexer and a lean shift/reduce
loop; it imports nothing from Lark and reads no Lark object, so a new Lark
release cannot change what it does. What it must reproduce of Lark's
conventions is small and fixed by the file's format (`TABLES_FORMAT` in
tables.py):

- the lexer tries terminals in Lark's order (priority, then the longest
  possible match, then the longest literal, then the name), and a literal that
  is a name (`where`) is a keyword lexed as NAME and renamed;
- a reduction drops filtered tokens (anonymous `"("`, `_SEP`), splices the
  children of `_rule`s into their parent, passes a `?rule`'s one child up
  unchanged, and calls the callback named by the rule's alias or its name.

Lark is still used where it is the source of truth, never on the fast path:
to *generate* the tables (`tables.write_parser_tables()`, after any edit to
the grammar; a test regenerates them and compares with the shipped file), and
to parse again when this driver meets text it cannot parse, so that every
syntax error message is Lark's. Tests run both on the same texts and compare
the graphs and the errors; pyproject.toml pins Lark to the versions those
tests ran against, and a test fails with the Lark version named if a newer one
is installed.

Why this and not the alternatives (measured for issue 13): Lark's own driver
and lexer, and the module `python -m lark.tools.standalone` writes (the same
driver, and no reproducible output across hash seeds), parse 2.5-3 times
slower and the standalone module takes 0.2-0.3 s to import; reading Lark's
internal parse-table objects at run time (the driver's first form) ties
correctness to Lark's private layout.
"""

from __future__ import annotations

import re
from typing import Any

SHIFT, REDUCE, UNIT = 0, 1, 2  # kinds of parser action
# The bracket tokens, "(" and "[" and their partners: inside them a new line is white space.
OPENING = frozenset({"LPAR", "LSQB"})
CLOSING = frozenset({"RPAR", "RSQB"})


class Fallback(Exception):  # noqa: N818 - a signal, not an error
    """The driver met something it leaves to Lark: almost always a syntax error."""


class Token(str):
    """A token as the reduce callbacks read it: its text, line and column."""

    line: int
    column: int


class _Splice(list):
    """The children of a `_rule` (Lark's inlined helper rules), for the parent to splice."""


# A rule as the driver runs it: (size, origin, callback (`_Splice` for a `_rule`),
# which children to keep and which to splice (None: all, as they are), whether a
# lone child passes up).
_Rule = tuple[int, str, Any, tuple[tuple[int, bool], ...] | None, bool]


class LalrDriver:
    """The LALR automaton of a tables document, run with `callbacks`' methods.

    `document` is the parsed `parser_tables.json`: `data` (Lark's serialised
    parser) and `memo` (its terminals and rules), keyed by strings as JSON is.
    `callbacks` has one method per rule alias or name, taking the list of kept
    children, as Lark's transformers do.
    """

    def __init__(self, document: dict[str, Any], callbacks: Any) -> None:
        memo: dict[str, Any] = document["memo"]
        data = document["data"]["parser"]
        table = data["parser"]
        tokens: dict[str, str] = table["tokens"]
        rules: dict[str, _Rule] = {}
        self.start: int = table["start_states"]["start"]
        self.end: int = table["end_states"]["start"]
        self.states: dict[int, dict[str, tuple[int, Any]]] = {}
        for state, actions in table["states"].items():
            row: dict[str, tuple[int, Any]] = {}
            for token, (kind, arg) in actions.items():
                if kind == 0:
                    row[tokens[token]] = (SHIFT, arg)
                    continue
                key = str(arg["@"])
                if key not in rules:
                    rules[key] = self._rule(memo[key], callbacks)
                rule = rules[key]
                if rule[0] == 1 and rule[4] and rule[3] is None:
                    # "?power: atom": the child passes up unchanged.
                    row[tokens[token]] = (UNIT, rule[1])
                else:
                    row[tokens[token]] = (REDUCE, rule)
            self.states[int(state)] = row
        self.unit_targets: dict[tuple[int, int, str], int] = {}
        self._lexer(memo, data["lexer_conf"])

    @staticmethod
    def _rule(rule: dict[str, Any], callbacks: Any) -> _Rule:
        origin = rule["origin"]["name"]
        expansion = rule["expansion"]
        keep = tuple((index, symbol["__type__"] == "NonTerminal"
                      and symbol["name"].startswith("_"))
                     for index, symbol in enumerate(expansion)
                     if not (symbol["__type__"] == "Terminal" and symbol["filter_out"]))
        unit = bool(rule["options"]["expand1"]) and not rule["alias"]
        if keep == tuple((index, False) for index in range(len(expansion))):
            keep = None
        if origin.startswith("_"):
            return len(expansion), origin, _Splice, keep, False
        name = rule["alias"] or origin
        callback = getattr(callbacks, name, None)
        kept = len(expansion) if keep is None else len(keep)
        if callback is None and not (unit and kept == 1):  # a lone child needs none
            raise ValueError(f"the grammar's rule {name!r} has no reduce callback")
        return len(expansion), origin, callback, keep, unit

    def _lexer(self, memo: dict[str, Any], conf: dict[str, Any]) -> None:
        terminals = [memo[str(ref["@"])] for ref in conf["terminals"]]
        rules = [item for item in memo.values() if item.get("__type__") == "Rule"]
        # Tokens no callback sees ("(", ",", ";") need no token object.
        self.kept = frozenset(symbol["name"] for rule in rules for symbol in rule["expansion"]
                              if symbol["__type__"] == "Terminal" and not symbol["filter_out"])

        def max_width(terminal: dict[str, Any]) -> int:
            pattern = terminal["pattern"]
            if pattern["__type__"] == "PatternStr":
                return len(pattern["value"])
            return int(pattern["_width"][1])

        # Lark's lexer order: priority, longest possible match, longest literal, name.
        terminals.sort(key=lambda t: (-t["priority"], -max_width(t), -len(t["pattern"]["value"]),
                                      t["name"]))
        # A literal that a regex terminal also matches is a keyword: Lark lexes
        # it with the regex and renames it (NAME "where" → WHERE).
        self.keywords = {t["pattern"]["value"]: t["name"] for t in terminals
                         if t["pattern"]["__type__"] == "PatternStr"
                         and t["pattern"]["value"].isidentifier()}
        regexes = [f"(?P<{t['name']}>{_regexp(t['pattern'])})" for t in terminals
                   if t["name"] not in self.keywords.values()]
        self.master = re.compile("|".join([*regexes, "(?P<__ERROR>.)"]), re.DOTALL)
        self.ignore = frozenset(conf["ignore"])

    def _unit_target(self, below: int, top: int, kind: str) -> int:
        """Where a chain of unit reductions from `top` (over `below`) ends for
        lookahead `kind`: atom → power → unary → product → sum in one step."""
        key = (below, top, kind)
        target = self.unit_targets.get(key)
        if target is None:
            target = top
            action = self.states[target].get(kind)
            while action is not None and action[0] == UNIT:
                target = self.states[below][action[1]][1]
                action = self.states[target].get(kind)
            self.unit_targets[key] = target
        return target

    def parse(self, text: str) -> Any:
        """Run the callbacks over `text` as Lark would; `Fallback` where it can't.

        A new line inside brackets is white space (tables.py's `_BracketNewlines`
        does the same between Lark's lexer and parser).
        """
        states = self.states
        stack = [self.start]
        values: list[Any] = []
        ignore = self.ignore
        keywords = self.keywords
        kept = self.kept
        unit_targets = self.unit_targets
        line, line_start = 1, 0
        depth = 0  # of brackets
        token: Token | None
        for match in self.master.finditer(text):
            kind: str = match.lastgroup  # type: ignore[assignment]
            if kind in ignore:
                continue
            if kind in kept:
                token = Token(match.group())
                token.line = line
                token.column = match.start() - line_start + 1
                if kind == "NAME" and token in keywords:
                    kind = keywords[token]
            else:
                token = None
                if kind in OPENING:
                    depth += 1
                elif kind in CLOSING:
                    depth = max(depth - 1, 0)
                elif kind == "_SEP" and match.group() != ";":
                    line, line_start = line + 1, match.end()
                    if depth:
                        continue
                elif kind == "__ERROR":
                    raise Fallback
            while True:
                action = states[stack[-1]].get(kind)
                if action is None:
                    raise Fallback
                tag = action[0]
                if tag == SHIFT:
                    stack.append(action[1])
                    values.append(token)
                    break
                if tag == UNIT:
                    target = unit_targets.get((stack[-2], stack[-1], kind))
                    if target is None:
                        target = self._unit_target(stack[-2], stack[-1], kind)
                    stack[-1] = target
                else:
                    self._reduce(stack, values, action[1])
        while True:
            action = states[stack[-1]].get("$END")
            if action is None or action[0] == SHIFT:
                raise Fallback
            if action[0] == UNIT:
                stack[-1] = self._unit_target(stack[-2], stack[-1], "$END")
            else:
                self._reduce(stack, values, action[1])
            if stack[-1] == self.end:
                return values[-1]

    def _reduce(self, stack: list[int], values: list[Any], rule: _Rule) -> None:
        size, origin, callback, keep, unit = rule
        if size:
            popped = values[-size:]
            del values[-size:]
            del stack[-size:]
        else:
            popped = []
        if keep is None:  # every child kept as it is (most rules)
            children = popped
        else:
            rest = keep
            if callback is _Splice and keep and keep[0] == (0, True) \
                    and type(popped[0]) is _Splice:
                # A left-recursive list (`statement*`): grow it in place. A new
                # list per item would copy all the items before it, n² for n
                # statements.
                children = popped[0]
                rest = keep[1:]
            else:
                children = []
            for index, splice in rest:
                if splice:
                    children.extend(popped[index])
                else:
                    children.append(popped[index])
        if unit and len(children) == 1:
            values.append(children[0])
        elif type(children) is _Splice:
            values.append(children)
        else:
            values.append(callback(children))
        stack.append(self.states[stack[-1]][origin][1])


def _regexp(pattern: dict[str, Any]) -> str:
    """A serialised Lark pattern as a regular expression (with its inline flags)."""
    value = pattern["value"]
    if pattern["__type__"] == "PatternStr":
        value = re.escape(value)
    for flag in pattern["flags"]:
        value = f"(?{flag}:{value})"
    return value
