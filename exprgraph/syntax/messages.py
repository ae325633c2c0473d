"""What the parser says when text is wrong: Lark's errors as our `ParseError`, and hints.

- `parse_error` turns Lark's `UnexpectedInput` (Lark reports every syntax
  error: the fast driver hands such text to Lark) into a `ParseError` with
  line, column, the terminals expected in words, and advice for characters
  pasted from documents (`−`, `×`, `|x|`, `√`, Greek letters, full-width digits);
- `refuse_foreign_breaks` refuses characters other tools read as line breaks;
- the hints the reducer attaches to its `ProgramError`s: unknown functions
  (`sec`, `arcsin`, `Sin`), wrong argument counts (`log(x, 2)`), a function
  used as a variable (`sin^2(x)`, `sin x`);
- the warning text for a number that underflows to 0.

Nothing here builds graph nodes or reads parser state: each function reads the
source text (and Lark's exception) and returns words.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from ..core.errors import ParseError
from ..core.ops import FUNCTIONS, Op
from ..core.tensor_ops import TENSOR_OPS
from ..core.text import bracket_end, closest, did_you_mean, source_line, split_top_level

if TYPE_CHECKING:  # imported at run time only by parse_error: a syntax error
    from lark import Token
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput

# The names a program may call: the scalar functions of the op table, then the
# tensor functions (all of TENSOR_OPS but matmul and index, written @ and x[i]).
CALLABLE: dict[str, Op] = {**FUNCTIONS, **{name: op for name, op in TENSOR_OPS.items()
                                           if name not in ("matmul", "index")}}

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
    "COLON": "':'",
    "MATMUL": "'@'",
    "QUOTE": "\"'\" (transpose)",
    "LSQB": "'['",
    "RSQB": "']'",
    "EQUAL": "'='",
    "WHERE": "'where'",
    "FOR": "'for' (a loop)",
    "DOTDOT": "'..' (a range: 1..4)",
    "INDEXED_NAME": "an indexed name (h[t] = ...)",
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


def refuse_foreign_breaks(text: str) -> None:
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


# --- syntax errors: Lark's exception to our ParseError ----------------------------


# A loop head with nothing after its ':' on the line.
# The patterns of error messages are compiled when an error first needs them
# (`_compiled`), not at import: a program without an error never does.
_compiled = functools.cache(re.compile)

_LOOP_HEAD_ALONE = r"\bfor[ \t]+[A-Za-z_]\w*[ \t]*=[^:;\n]*:[ \t]*(#.*)?\Z"

# `for t = 1..3: for s = ...`: a loop head followed at once by another.
_NESTED_LOOP = r"\bfor[ \t]+[A-Za-z_]\w*[ \t]*=[^:;\n]*:[ \t]*(for)\b"


def parse_error(exc: UnexpectedInput, source: str) -> ParseError:
    """Lark's syntax error `exc` in the program `source`, as the `ParseError` users see."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    line, column = max(exc.line, 1) if exc.line else 1, max(exc.column, 1) if exc.column else 1
    quoted = source_line(source, line) or ""
    hint = None
    nested = _compiled(_NESTED_LOOP).search(source)
    if nested is not None:
        # The grammar has no loop inside a loop (the inner loop's `for` then
        # reads as a name, and the error would be about something else).
        line, column = _position(source, nested.start(1))
        return ParseError("a loop inside a loop is not supported", line=line, column=column,
                          source_line=source_line(source, line) or "",
                          hint="write the inner loop as its own loop, after this one")
    if isinstance(exc, UnexpectedCharacters):
        char = source[exc.pos_in_stream] if exc.pos_in_stream < len(source) else ""
        message = f"unexpected character {char!r}"
        if "\udc80" <= char <= "\udcff":  # an undecodable byte, as Python escapes it
            message = f"unexpected byte 0x{ord(char) - 0xDC00:02X}, which is not UTF-8 text"
        if char in _LOOKALIKES:
            hint = f"type {_LOOKALIKES[char]!r} instead of {char!r}"
        else:
            hint = _character_hint(char, source[exc.pos_in_stream:])
        expected: set[str] = set(exc.allowed or ()) & _accepted_here(exc)
    elif isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            message = "unexpected end of input"
            line, column = _end_position(source)
            quoted = source_line(source, line) or ""
        else:
            message = f"unexpected {_describe_token(token)}"
        expected = set(exc.accepts or exc.expected or ())
        cut_short = _where_after_operator(source, token)
        if cut_short is not None:
            # `x + where x=1`: `where` read as a name, the operand after '+' missing.
            operator, at = cut_short
            line, column = _position(source, at)
            quoted = source_line(source, line) or ""
            return ParseError(f"an operand is missing after {operator!r}", line=line,
                              column=column, source_line=quoted,
                              hint="the where clause is not part of the expression: complete "
                              f"the expression after {operator!r}, then write where NAME=VALUE")
        if token.type == "EQUAL":
            hint = ("only a single name can be assigned: name = expression (functions "
                    "cannot be defined)")
        if _compiled(_LOOP_HEAD_ALONE).search(source_line(source, line) or ""):
            hint = ("a loop's body goes on the same line as its head: "
                    "for t = 1..4: h[t] = h[t-1] + x[t-1]")
        elif token.type == "DOTDOT" or "DOTDOT" in set(exc.accepts or exc.expected or ()):
            hint = "a loop reads: for t = 1..4: h[t] = ..., its bounds whole numbers"
        if str(token) == "for" or re.search(r"(^|[;\s])for[ \t]*(=|$)",
                                            (source_line(source, line) or "")[:column]):
            hint = "for is a keyword: it starts a loop, for t = 1..4: h[t] = ..."
    elif isinstance(exc, UnexpectedEOF):
        message = "unexpected end of input"
        line, column = _end_position(source)
        quoted = source_line(source, line) or ""
        expected = set(exc.expected or ())
    else:  # pragma: no cover - Lark has no other UnexpectedInput kinds
        message, expected = str(exc), set()
    words = sorted({_TERMINAL_WORDS.get(t, repr(t)) for t in expected if not t.startswith("__")})
    if hint is None and expected == {"NAME", "CALL_NAME"}:  # only after `name:`
        hint = "a declaration gives a shape after 'name:': scalar, vector(n) or matrix(m, n)"
    if words:
        message += "; expected " + _join_or(words)
    return ParseError(message, line=line, column=column, source_line=quoted, hint=hint,
                      expected=words)


# An operator, then `where NAME` up to an unexpected '=': the operand is missing.
_WHERE_AFTER_OPERATOR = r"([-+*/^(,])[ \t]*(where)[ \t]+[A-Za-z_]\w*[ \t]*\Z"


def _where_after_operator(source: str, token: Token) -> tuple[str, int] | None:
    """The operator and the offset of `where` when `token`, an '=', ends
    `OPERATOR where NAME` (`x + where x=1`), else None."""
    start = getattr(token, "start_pos", None)
    if token.type != "EQUAL" or start is None:
        return None
    found = _compiled(_WHERE_AFTER_OPERATOR).search(source, max(0, start - 200), start)
    return (found.group(1), found.start(2)) if found else None


def _position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of `offset` in `text` (lines end at "\n")."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


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


_GREEK = r"GREEK (?:(SMALL|CAPITAL) LETTER (\w+)|(\w+) SYMBOL)$"


def _ascii_name(letter: str) -> str | None:
    """The ASCII spelling of a Greek letter (θ → theta, Δ → Delta), else None."""
    import unicodedata

    name = unicodedata.name(letter, "")
    if name == "MICRO SIGN":  # µ, which keyboards give for μ
        return "mu"
    match = _compiled(_GREEK).match(name)
    if match is None:
        return None
    case, word = (match.group(1), match.group(2)) if match.group(2) else ("SMALL", match.group(3))
    word = "lambda" if word == "LAMDA" else word.lower()  # Unicode spells it LAMDA
    return word.capitalize() if case == "CAPITAL" else word


def _join_or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# --- hints for programs that parse but mean nothing -------------------------------
# `rest` is always the source text after the function name, to the end.


def unknown_function(name: str, rest: str, assigned: bool) -> tuple[str, str]:
    """The message and hint for `name(...)` where `name` is no function; `assigned`
    says whether the program assigned `name` (then it is a variable times a group)."""
    group = _one_line(_parenthesised(rest.lstrip()))
    advice = None if assigned else _function_advice(name, _arguments(rest))
    if advice is not None:
        return f"unknown function {name}", advice
    if assigned or not _looks_like_function(name):
        return (f"{name} is not a function, so {name}(...) means nothing",
                f"to multiply, write {name}*{group}")
    hint = did_you_mean(name, sorted(CALLABLE)) or (
        "known functions: " + ", ".join(sorted(CALLABLE)))
    return f"unknown function {name}", hint


def _looks_like_function(name: str) -> bool:
    """Whether an unknown name followed by '(' reads as a misspelt function."""
    return closest(name, list(CALLABLE), cutoff=0.75) is not None or len(name) > 3


def _parenthesised(rest: str) -> str:
    """The parenthesised group at the start of `rest`, for a hint."""
    end = bracket_end(rest)
    return rest if end < 0 else rest[: end + 1]


def _one_line(text: str) -> str:
    """`text` with every run of white space (new lines too) as one space."""
    return " ".join(text.split())


def _arguments(rest: str) -> list[str] | None:
    """The arguments of the call whose "(" starts `rest`, as source text; None if
    the parentheses do not close."""
    group = _parenthesised(rest.lstrip())
    if not group.startswith("(") or not group.endswith(")"):
        return None
    return [_one_line(argument) for argument in split_top_level(group[1:-1])]


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
    if lower in CALLABLE:
        return f"did you mean {lower}? function names are lower case"
    template = _FUNCTION_ADVICE.get(lower)
    if template is None:
        return None
    one = arguments[0] if arguments and len(arguments) == 1 and arguments[0] else "x"
    return f"exprgraph has no {name}; write {template.format(a=one, w=_wrapped(one))}"


def arity_hint(name: str, rest: str) -> str | None:
    """Advice for a call of `name` with the wrong number of arguments, where there is some."""
    arguments = _arguments(rest)
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


_POWER_OF_CALL = r"\s*(?:\^|\*\*)\s*(-?\s*[\w.]+)\s*(?=\()"
_BARE_ARGUMENT = r"[ \t]+([A-Za-z_]\w*|\d+\.?\d*)\s*(?:$|[-+*/^);,\n#])"


def function_as_variable_hint(name: str, rest: str) -> str:
    """Advice for a function name used without its call: `sin^2(x)`, `sin x`."""
    power = _compiled(_POWER_OF_CALL).match(rest)
    if power is not None:
        exponent = power.group(1).replace(" ", "")
        group = _one_line(_parenthesised(rest[power.end():]))
        if exponent == "-1":
            inverse = f"a{name}" if f"a{name}" in FUNCTIONS else None
            return (f"for 1/{name}{group} write {name}{group}^-1"
                    + (f"; for the inverse function write {inverse}{group}" if inverse else ""))
        return f"the power goes after the call: write {name}{group}^{exponent}"
    bare = _compiled(_BARE_ARGUMENT).match(rest)
    if bare is not None:
        return f"put the argument in parentheses: {name}({bare.group(1)})"
    return f"call it with its argument in parentheses, e.g. {name}(x)"
