"""The Typer application, its entry point `run` and the faults around any command.

`app` is the `exprgraph` group; the command modules (`evaluate`, `check`,
`graph`, `plan`, `train`, `batch`) add their commands to it when `exprgraph.cli` is
imported, in the order `--help` lists them. `run`, the console script, turns
what can go wrong outside a command into a message and an exit status: a
closed standard stream, running out of memory, output that can no longer be
written (a full disk, a closed pipe).

Named `application`, not `app`: a module `exprgraph.cli.app` would share its
name with the Typer object `exprgraph.cli.app` that tests and the entry point
import.
"""

from __future__ import annotations

import contextlib
import errno
import sys
from typing import Annotated, Any, NoReturn

import click
import typer
from typer.core import TyperCommand

from .. import __version__
from ..core.errors import ValueInputError
from .output import fall_back_where_symbols_are_missing, stderr

app = typer.Typer(
    name="exprgraph",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)

# Commands that take input values as --NAME VALUE: click passes unknown
# options through to them (ctx.args), and `values.program_and_value_texts` reads them.
TAKES_VALUES = {"allow_extra_args": True, "ignore_unknown_options": True}

# Marks the token after `--` as the program, whatever it starts with. Click
# drops `--` itself, and a NUL can never be part of a command-line argument.
PROGRAM_MARK = "\0"


class ProgramCommand(TyperCommand):
    """A command whose program may start with '-': the token after `--` is the
    program (`exprgraph eval -- "-x^2" --x 3`); options may still follow it.
    So is a token such as `-x^2` that is no option of the command: Click would
    read it as a cluster of short options (`-logx` as -l and `-o gx`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, self._mark_program(ctx, args))
        except click.UsageError as error:
            if not _asks_for_json(args):
                raise
            # `--order 101 --format json`: the README's JSON error object, not a
            # usage box, so that a program reading the output can read this too.
            from .output import print_json

            command = ctx.info_name or ""
            print_json({"error": ValueInputError(
                error.format_message(), hint=f"see exprgraph {command} --help").to_dict()})
            raise click.exceptions.Exit(ValueInputError.exit_code) from None

    def _mark_program(self, ctx: click.Context, args: list[str]) -> list[str]:
        options = [p for p in self.get_params(ctx) if isinstance(p, click.Option)]
        known = {o for p in options for o in p.opts}
        with_value = {o for p in options if not p.is_flag and not p.count for o in p.opts}
        marked: list[str] = []
        value_next = False
        for k, token in enumerate(args):
            if value_next:
                marked.append(token)
                value_next = False
            elif token == "--":
                rest = args[k + 1:]
                return [*marked, *([PROGRAM_MARK + rest[0], *rest[1:]] if rest else [])]
            elif token.startswith("--"):
                name, has_value, _ = token.partition("=")
                # An unknown --NAME is an input's name: its value follows.
                value_next = not has_value and (name in with_value or name not in known)
                marked.append(token)
            elif token.startswith("-") and len(token) > 1:
                short = token[:2]
                value_next = token == short and short in with_value
                marked.append(token if short in known else PROGRAM_MARK + token)
            else:
                marked.append(token)
        return marked


def _asks_for_json(args: list[str]) -> bool:
    """Whether a command line asks for `--format json` (or `--format=json`)."""
    for k, token in enumerate(args):
        name, has_value, value = token.partition("=")
        if name == "--format" and not has_value:
            value = args[k + 1] if k + 1 < len(args) else ""
        if name == "--format" and value.lower() == "json":
            return True
    return False


def values_command(name: str) -> Any:
    """`@app.command` for a command that takes a program and --NAME VALUE inputs."""
    return app.command(name, context_settings=TAKES_VALUES, cls=ProgramCommand)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"exprgraph {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Turn expressions into computational graphs: values, gradients and derivatives.

    Example: [bold]exprgraph eval "(x+y)*z" --x 1 --y 3 --z -3[/bold]
    """


def run() -> Any:
    """Entry point of the console script."""
    import signal

    # A closed pipe (`exprgraph batch ... | head -1`) ends us quietly, as it
    # ends other Unix tools, not with a traceback or exit status 1.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    code: Any = 0
    _stand_in_for_closed_streams()
    fall_back_where_symbols_are_missing()
    try:
        app()
    except SystemExit as done:
        code = done.code
    except MemoryError:
        code = _out_of_memory()
    except OSError as error:
        if error.errno not in OUTPUT_FAILURES:
            raise
        _output_failed(error)
    try:  # what is still buffered must reach the file too, or it is a failure
        sys.stdout.flush()
    except OSError as error:
        if error.errno not in OUTPUT_FAILURES:
            raise
        _output_failed(error)
    sys.exit(code)


def _stand_in_for_closed_streams() -> None:
    """A closed standard error (`2>&-`) takes messages to nowhere, so the run ends
    with its own exit status; a closed standard output (`>&-`) can take no result,
    so the run ends at once as a failed write does (`>/dev/full`), exit 2."""
    import os

    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (open for the run)
    if sys.stdout is None:
        _output_failed(OSError(errno.EBADF, "standard output is closed"))


def _out_of_memory() -> int:
    """Say that the work ran out of memory (batch says it per problem); exit 1."""
    with contextlib.suppress(OSError):
        sys.stderr.write("error: ran out of memory: the program or the work asked of it is too "
                         "large for this machine\nhint: see 'Limits and hostile input' in the "
                         "README for the sizes that fit\n")
        sys.stderr.flush()
    return 1


# Errors of writing to a stream that has stopped taking output: a full disk or
# device, an I/O error, a file over its size or quota limit.
OUTPUT_FAILURES = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EPIPE}


def _output_failed(error: OSError) -> NoReturn:
    """Standard output or error stopped taking text: say so on stderr if it
    still takes it, and exit 2 (the output is incomplete, whatever the result)."""
    import os

    # Whatever is still buffered for the failed stream goes nowhere, so that
    # Python's own flush at exit does not fail a second time with a traceback.
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except OSError:
            with contextlib.suppress(OSError, ValueError):
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, stream.fileno())
                os.close(null)
                stream.flush()
    message = f"cannot write the output: {error.strerror or error}"
    with contextlib.suppress(OSError, ValueError):
        from ..render.errors import error_text

        stderr().print(error_text(ValueInputError(message)))
        sys.stderr.flush()
    sys.exit(ValueInputError.exit_code)
