"""Input values from the command line: a program and its `--NAME VALUE`s.

Commands that take a program accept its inputs' values as `--NAME VALUE` (or
`--NAME=VALUE`, or `--set NAME=VALUE,...`): Click passes the options it does
not know through (`ctx.args`), and `program_and_values` reads them, with the
program's own `where` values under them. A `--NAME` the program does not use
may be a mistyped option: `mistyped_options` refuses it or hints at the option
it looks like. `read_stdin` reads a program (or data) given as '-'.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

import typer

from ..core.errors import ExprGraphError, ValueInputError
from ..core.text import did_you_mean, split_top_level
from .application import COMMAND_MODULES, PROGRAM_MARK
from .output import warn

# The API is imported where a program is compiled, not here: `exprgraph --help`
# imports every command module, and so this one, and compiles nothing.
if TYPE_CHECKING:
    from ..api import Program


def program_and_values(ctx: typer.Context, program: str, assignments: list[str] | None,
                       warn_unused: bool = True) -> tuple[Program, dict[str, float]]:
    """The program and its values: the command line's over its `where` clause.

    A --NAME the program does not use is refused when it is surely a mistyped
    option (`--step` for `--steps`), reported with the option it looks like
    otherwise (`--a` for `--at`: a value for a, perhaps of a derivative), and
    reported as unused on stderr unless `warn_unused` is False (`eval` reports those
    itself, in its tables or JSON).
    """
    return compiled_from_tokens(ctx, [program, *ctx.args], assignments, warn_unused)


def compiled_from_tokens(ctx: typer.Context, tokens: list[str], assignments: list[str] | None,
                         warn_unused: bool = True) -> tuple[Program, dict[str, float]]:
    """`program_and_values` for a command line whose program is one of `tokens`."""
    from ..api import compile as compile_program
    from ..api import parse_value
    from ..syntax.values import looks_like_tensor, parse_tensor

    try:
        from_set: set[str] = set()  # typed as --set NAME=VALUE: surely no option
        text, raw = program_and_value_texts(tokens, assignments or [], from_set)
    except ValueInputError as error:
        raise _as_mistyped_flag(ctx, error) from None
    # A value in brackets is a vector or matrix: its shape goes to the shape
    # pass, which then runs before anything is computed. A bad one is said
    # after the option typos are (below).
    tensors: dict[str, Any] = {}
    tensor_errors: dict[str, ValueInputError] = {}
    for name, value in raw.items():
        if looks_like_tensor(value):
            try:
                tensors[name] = parse_tensor(name, value)
            except ValueInputError as error:
                tensor_errors[name] = error
    compiled = compile_program(text, inputs=raw,
                               shapes={name: shape for name, (_, shape) in tensors.items()})
    # Before the values are read: `--fromat json` is a typo, not a bad number.
    looks_like = mistyped_options(ctx, set(compiled.inputs) | from_set, raw)
    values: dict[str, Any] = {}
    underflows: list[str] = []
    for name, value in raw.items():
        try:
            if name in tensor_errors:
                raise tensor_errors[name]
            if name in tensors:
                values[name] = tensors[name][0]
                continue
            values[name] = parse_value(name, value)
            underflows += _warn_underflow(name, value)
        except ValueInputError as error:
            if name not in looks_like:
                raise _with_parse_hint(error, value) from None
            # `--wrt x`, `--ste x`: not a bad number but an option given to the wrong
            # command, or mistyped; the run stops, so the message says that alone.
            raise _not_an_option(ctx, name) from None
    for name, hint in looks_like.items():
        warn(f"--{name} {hint}")
    ctx.meta["hinted"] = set(looks_like)
    ctx.meta["hints"] = {name: f"--{name} {hint}" for name, hint in looks_like.items()}
    ctx.meta["underflows"] = underflows
    if warn_unused:
        print_warnings(ctx, compiled, values)
    return compiled, {**compiled.graph.given, **values}


def seed_value(text: str) -> Any:
    """The value typed for `--seed`: a number, vector or matrix."""
    from ..api import parse_value
    from ..syntax.values import looks_like_tensor, parse_tensor

    if looks_like_tensor(text):
        return parse_tensor("--seed", text)[0]
    return parse_value("--seed", text)


def _warn_underflow(name: str, text: str) -> list[str]:
    """Say so on stderr where a value typed as --NAME has a number that reads
    as 0; the warnings said."""
    from ..api import compile as compile_program

    said = [f"--{name} {text}: {warning.message}"
            for warning in compile_program(text).graph.warnings if warning.kind == "underflow"]
    for warning in said:
        warn(warning)
    return said


def print_warnings(ctx: typer.Context, compiled: Program, values: dict[str, float]) -> None:
    """On stderr: text that is valid but probably not meant (`1/2x`), and
    values the program does not use (but not twice for a name that already
    got a hint that it looks like an option)."""
    from ..api import value_warnings

    for source_warning in compiled.graph.warnings:
        warn(source_warning)
    hinted = ctx.meta.get("hinted", set())
    for warning in value_warnings(compiled, {k: v for k, v in values.items()
                                             if k not in hinted}):
        warn(warning)


def json_warnings(ctx: typer.Context, compiled: Program, values: dict[str, float]
                  ) -> list[str]:
    """The warnings `print_warnings` says, as JSON's `warnings` strings: the
    program's text, options a --NAME looks like, unused values."""
    from ..api import value_warnings

    hinted = ctx.meta.get("hinted", set())
    return [str(w) for w in compiled.graph.warnings] + ctx.meta.get("underflows", []) + \
        list(ctx.meta.get("hints", {}).values()) + \
        value_warnings(compiled, {k: v for k, v in values.items() if k not in hinted})


def with_json_warnings(data: dict[str, Any], ctx: typer.Context, compiled: Program,
                       values: dict[str, float]) -> dict[str, Any]:
    """`data` with a `warnings` list where there are warnings (they are also
    said on stderr), as eval's JSON has."""
    warnings = json_warnings(ctx, compiled, values)
    if warnings:
        data["warnings"] = warnings
    return data


def _as_mistyped_flag(ctx: typer.Context, error: ValueInputError) -> ValueInputError:
    """`--stesp` with no value: name the option it looks like, if any."""
    name = error.details.get("needs_value")
    if not name:
        return error
    option = f"--{name}"
    own, others = option_names(ctx)
    command = ctx.info_name or ""
    same = SAME_MEANING.get((command, option))
    if same:
        return ValueInputError(f"no such option {option}", hint=f"use {same}")
    if option in others:
        return ValueInputError(f"{option} is an option of exprgraph "
                               f"{' and '.join(others[option])}, not of {command}",
                               hint=f"see exprgraph {command} --help")
    suggestion = close_option(option, own)
    if suggestion:
        return ValueInputError(f"no such option {option}", hint=suggestion)
    error.hint = (f"{error.hint}; a program that starts with '-' goes after --: "
                  f'exprgraph {command} -- "{option}"')
    return error


def mistyped_options(ctx: typer.Context, used: set[str], values: dict[str, Any]
                     ) -> dict[str, str]:
    """Check `--NAME VALUE`s the program does not use against the options.

    A usage error where NAME is no variable at all (`--learning-rate`), where
    it is four letters or more and close to one of this command's options
    (`--ordr 2`, `--maxrows 5`: taken as a value it would leave the option
    unset and the result silently different), or, in `descend` (whose values
    are only a start point), where it looks like any option (`--epochs`).
    Otherwise such a name gets a hint, returned by name, and the command runs:
    giving a point's values to a program that does not use them all is normal
    (a derivative evaluated where its function was, `eval "x" --a 2 --x 3`).
    """
    if all(name in used for name in values):
        return {}  # the common case: no need to look at any command's options
    own, others = option_names(ctx)
    command = ctx.info_name or ""
    hints: dict[str, str] = {}
    for name in values:
        if name in used:
            continue
        option = f"--{name}"
        # One- and two-letter names are everyday variables (a, w, lr): no guesses.
        close_own = close_option(option, own) if len(name) >= 3 else None
        # An exact match is no guess: `did you mean --wrt?` about --wrt itself helps nobody.
        close_other = close_option(option, [o for o in others if o != option]) \
            if len(name) >= 3 else None
        same = SAME_MEANING.get((command, option))
        if close_other and not same:  # descend --epoch: fit's --epochs, so --steps
            meant = close_other.removeprefix("did you mean ").removesuffix("?")
            same = SAME_MEANING.get((command, meant))
        suggestion = (f"did you mean {same}?" if same else None) or close_own or close_other
        surely_option = (close_own and len(name) >= 4) or \
            (command in STRICT and (suggestion or option in others))
        if not name.isidentifier() or surely_option:
            raise ValueInputError(
                f"no such option {option}" + (f", and the program has no input {name}"
                                               if name.isidentifier() else "") +
                (f" ({option} is an option of exprgraph {' and '.join(others[option])})"
                 if option in others else ""),
                hint=(suggestion or f"see exprgraph {command} --help") +
                (f" (to give {name} a value anyway: --set {name}=VALUE)"
                 if name.isidentifier() else ""))
        if option in others:
            hints[name] = (f"is an option of exprgraph {' and '.join(others[option])}, not of "
                           f"{command}" + (f"; did you mean {same}?" if same else "") +
                           f" (taken as a value for {name}, which the program does not use)")
        elif close_own:
            hints[name] = f"is not used by the program; {close_own}"
        elif close_other:
            meant = close_other.removeprefix("did you mean ").removesuffix("?")
            hints[name] = (f"is not used by the program ({meant} is an option of exprgraph "
                           f"{' and '.join(others[meant])})")
    return hints


def _not_an_option(ctx: typer.Context, name: str) -> ValueInputError:
    """The error for `--NAME TEXT` where NAME is no input, TEXT no number, and
    NAME looks like an option: another command's (`eval --wrt x`, an option of
    diff) or, mistyped, one of this command's or another's (`--ste x`)."""
    option = f"--{name}"
    own, others = option_names(ctx)
    command = ctx.info_name or ""
    anyway = f" (to give {name} a value anyway: --set {name}=VALUE)"
    if option in others:
        same = SAME_MEANING.get((command, option))
        return ValueInputError(
            f"{option} is an option of exprgraph {' and '.join(others[option])}, not of "
            f"{command}, and the program has no input {name}",
            hint=(f"did you mean {same}?" if same else f"see exprgraph {command} --help")
            + anyway)
    suggestion = close_option(option, own) or close_option(option, list(others))
    meant = (suggestion or "").removeprefix("did you mean ").removesuffix("?")
    if meant in others:
        suggestion = (f"did you mean {meant}, an option of exprgraph "
                      f"{' and '.join(others[meant])}?")
    return ValueInputError(f"no such option {option}, and the program has no input {name}",
                           hint=(suggestion or f"see exprgraph {command} --help") + anyway)


# Commands whose --NAME values are only a start point: an unused name that
# looks like an option is surely one.
STRICT = {"descend"}

# Options of one command that another command spells differently.
SAME_MEANING = {("descend", "--epochs"): "--steps", ("fit", "--steps"): "--epochs",
                ("descend", "--wrt"): "--params", ("fit", "--wrt"): "--params",
                ("simplify", "--latex"): "--format latex"}


def option_names(ctx: typer.Context) -> tuple[list[str], dict[str, list[str]]]:
    """This command's long options, and every other command's (option -> commands)."""
    own = [o for param in ctx.command.params for o in param.opts if o.startswith("--")]
    others: dict[str, list[str]] = {}
    group = ctx.find_root().command
    commands = getattr(group, "commands", {})
    if len(commands) < len(COMMAND_MODULES):
        # `run` built only the command the line names (start-up); the others'
        # options are built here, where a --NAME needs them.
        import typer.main

        from .application import app, load_commands

        load_commands()
        commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for name, command in commands.items():
        if name == ctx.info_name:
            continue
        for param in command.params:
            for option in param.opts:
                if option.startswith("--") and option not in own:
                    others.setdefault(option, []).append(name)
    return own, others


def close_option(option: str, candidates: list[str]) -> str | None:
    """`did you mean --OPTION?` for the candidate close to `option`, if any."""
    # `--tol` for `--tolerance`: an unambiguous beginning counts as close.
    return did_you_mean(option, candidates, cutoff=0.75, prefix=True)


def program_and_value_texts(tokens: list[str], assignments: list[str],
                            from_set: set[str] | None = None) -> tuple[str, dict[str, str]]:
    """Split `PROGRAM --x 1 --y=2 ...` into the program text and the values' texts.

    The program is the one token that is not an option or an option's value,
    or the token after `--` (marked by ProgramCommand), whatever it starts with.
    """
    program: str | None = None
    values: dict[str, str] = {}
    position = 0
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if token.startswith(PROGRAM_MARK):
            if program is not None and not program.startswith(PROGRAM_MARK):
                raise ValueInputError(f"two programs given: {program!r} and "
                                      f"{token[len(PROGRAM_MARK):]!r}")
            program = token
        elif token.startswith("--") and len(token) > 2:
            name, has_value, value = token[2:].partition("=")
            if not OPTION_SHAPED.fullmatch(name):
                raise ValueInputError(
                    f"{token} is neither an option nor --NAME VALUE",
                    hint="a program that starts with '-' goes after --, as in "
                    f'exprgraph eval -- "{token}" --x 1')
            if not has_value:
                following = tokens[position] if position < len(tokens) else None
                if following is None or (following.startswith("--") and len(following) > 2):
                    # `--stesp` alone: a mistyped flag more likely than a value.
                    raise ValueInputError(f"{token} needs a value",
                                          hint=f"write {token} VALUE, e.g. {token} 1; if it "
                                          "is meant as an option, check its spelling in --help",
                                          needs_value=name)
                value = tokens[position]
                position += 1
            _set_value(values, name, value, token)
        elif program is None:
            program = token
        else:
            raise ValueInputError(f"unexpected argument {token!r}",
                                  hint="quote the program as one argument, and give values "
                                  "as --NAME VALUE")
    for assignment in assignments:
        for part in _assignments(assignment):
            name, has_value, value = part.partition("=")
            if not has_value:
                raise ValueInputError(f"--set expects NAME=VALUE, got {part!r}")
            _set_value(values, name.strip(), value.strip(), "--set")
            if from_set is not None:
                from_set.add(name.strip())
    if program is None:
        raise ValueInputError("no program given", hint='exprgraph eval "(x+y)*z" --x 1 ...')
    program = program.removeprefix(PROGRAM_MARK)
    if program == "-":
        program = read_stdin().rstrip("\r\n")  # the text, not the last line's end
    return program, values


def _with_parse_hint(error: ValueInputError, text: str) -> ValueInputError:
    """`error` about a value, with the hint the same text gets in a program
    (`write 3 for ３`) where it has none."""
    if error.hint is None:
        try:
            from ..api import compile as compile_program

            compile_program(text)
        except ExprGraphError as parse_error:
            error.hint = parse_error.hint
    return error


# --NAME: a variable, or a mistyped option such as --learning-rate (refused later,
# by mistyped_options, with the options of the command at hand).
OPTION_SHAPED = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _set_value(values: dict[str, str], name: str, text: str, option: str) -> None:
    if not OPTION_SHAPED.fullmatch(name) or (option == "--set" and not name.isidentifier()):
        entry = f"{name}={text}" if option == "--set" else option
        why = "the name before '=' is missing" if not name else \
            f"{name!r} is not a variable name (names are ASCII letters, digits and _, " \
            "and do not start with a digit)"
        raise ValueInputError(f"--set {entry!r} does not name a variable: {why}"
                              if option == "--set" else f"{entry} does not name a variable: {why}",
                              hint="variable values are given as --NAME VALUE or --set NAME=VALUE")
    if name in values:
        raise ValueInputError(f"{name} is given two values")
    values[name] = text


def read_stdin() -> str:
    """Standard input as UTF-8 text, whatever the locale says (a byte that is
    not UTF-8 is a clear error, as in files); a closed stdin is empty input."""
    stream = sys.stdin
    if stream is None or stream.closed:
        raise ValueInputError("standard input is closed, so there is no program to read",
                              hint="give the program as an argument, or pipe it in")
    data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()
    try:
        # A byte-order mark opens some editors' UTF-8: dropped, as utf-8-sig does.
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ValueInputError(f"standard input: byte 0x{data[exc.start]:02X} at offset "
                              f"{exc.start} is not UTF-8 text", hint="send UTF-8 text") from None


def _assignments(text: str) -> list[str]:
    """The NAME=VALUE parts of a --set text, split at commas outside
    parentheses ("x=max(1,2),y=3" → two parts), blank parts dropped."""
    return [part for part in split_top_level(text) if part.strip()]
