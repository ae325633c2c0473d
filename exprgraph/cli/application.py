"""The Typer application, its entry point `run` and the faults around any command.

`app` is the `exprgraph` group; the command modules (`evaluate`, `check`,
`graph`, `plan`, `train`, `batch`) add their commands to it when imported, in
the order `--help` lists them: all of them by `load_commands()` (what
`exprgraph.cli.app` does), only the one a command line names by `run`, so that
a one-shot command imports and builds just itself. `run`, the console script, turns
what can go wrong outside a command into a message and an exit status: a
closed standard stream, running out of memory, output that can no longer be
written (a full disk, a closed pipe).

Named `application`, not `app`: a module `exprgraph.cli.app` would share its
name with the Typer object `exprgraph.cli.app` that tests and the entry point
import.
"""

# No `from __future__ import annotations`: Typer compiles annotations written
# as strings (see evaluate.py), and `main` below is built on every run.

import contextlib
import errno
import os
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
    # --install-completion and --show-completion (bash, zsh, fish, PowerShell).
    add_completion=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
    # Click 8.2+ suggests a close command name itself (NoSuchCommand); Typer's
    # own suggestion on top of it said "Did you mean 'eval'?" twice.
    suggest_commands=not hasattr(click.exceptions, "NoSuchCommand"),
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


# Each command's module, in the order `--help` lists the commands.
COMMAND_MODULES = {
    "eval": "evaluate", "diff": "evaluate", "simplify": "evaluate", "check": "check",
    "graph": "graph", "plan": "plan", "descend": "train", "fit": "train", "batch": "batch",
}

# The group's own options; any other option before the command is an error
# Click reports, with every command loaded.
_GROUP_OPTIONS = {"--help", "--version", "--install-completion", "--show-completion"}
# Set by the shell's completion script when it asks what may come next (Click's protocol).
COMPLETION_VARIABLE = "_EXPRGRAPH_COMPLETE"


def load_commands(names: set[str] | None = None) -> None:
    """Import the modules of the commands `names` (all, if None): importing adds
    their commands to `app`."""
    import importlib

    for command, module in COMMAND_MODULES.items():
        if names is None or command in names:
            importlib.import_module(f".{module}", __package__)
    for info in app.registered_commands:
        if info.help is None and info.callback is not None:
            info.help = reflowed(info.callback.__doc__ or "")


def reflowed(doc: str) -> str:
    """A command's docstring as its help: each paragraph's lines joined, so that
    the terminal wraps it at its own width.

    With rich markup, Typer keeps every line break of a docstring: in a
    60-column terminal a line written for 80 broke in two ("stderr in every" /
    "format."). A break stays before an example (`[bold]exprgraph ...`), a
    numbered item ("0 every answer correct;") and after a line ending in ":".
    """
    import inspect
    import itertools

    paragraphs = []
    for paragraph in inspect.cleandoc(doc).split("\n\n"):
        lines = paragraph.split("\n")
        joined = lines[0]
        for before, line in itertools.pairwise(lines):
            keep = line.startswith("[bold]exprgraph") or line[:2].rstrip().isdigit() \
                or before.endswith(":")
            joined += ("\n" if keep else " ") + line
        paragraphs.append(joined)
    return "\n\n".join(paragraphs)


def named_command(args: list[str]) -> str | None:
    """The command a command line names (`eval` in `--version eval ...`), or None
    where it names none this app has (`--help`, a typo, no arguments)."""
    for token in args:
        if token in _GROUP_OPTIONS:
            continue
        return token if token in COMMAND_MODULES else None
    return None


def app_for(args: list[str]) -> typer.Typer:
    """The app that runs the command line `args`: the group with just the command
    it names, or with every command where it names none (so that `--help` lists
    them all and a typo gets its suggestion). Building a command costs Typer a
    look at every parameter's type hints; building nine for one was a fifth of
    a one-shot `eval`."""
    import copy

    if COMPLETION_VARIABLE in os.environ:
        # The shell asks what may follow the words typed so far (in the
        # environment, not `args`): that needs every command with its options.
        load_commands()
        return app
    command = named_command(args)
    if command is None:
        load_commands()
        if any(token in COMMAND_MODULES for token in args):
            return app  # a command after something else (`-- eval`): Click decides
        return _listing()
    load_commands({command})
    only = copy.copy(app)  # `app` itself stays whole for anyone else holding it
    only.registered_commands = [c for c in app.registered_commands if c.name == command]
    return only


def _listing() -> typer.Typer:
    """The group as `exprgraph --help` lists it, and as a mistyped command name
    meets it: every command with its help text but none of its parameters,
    which only its own help and its run need (building the nine commands'
    parameters was half the CPU time of `exprgraph --help`). Used only where
    the command line names no command, so no command can run from it."""
    import copy

    from typer.models import CommandInfo

    listing = copy.copy(app)
    listing.registered_commands = [
        CommandInfo(info.name, callback=_listed(info.callback), help=info.help,
                    short_help=info.short_help, epilog=info.epilog, hidden=info.hidden,
                    deprecated=info.deprecated, rich_help_panel=info.rich_help_panel)
        for info in app.registered_commands]
    return listing


def _listed(callback: Any) -> Any:
    """A stand-in for a command's function with its docstring (the help text
    the listing shows) and no parameters."""
    def listed() -> None:  # pragma: no cover - never run: see _listing
        raise RuntimeError("a listed command ran")

    listed.__doc__ = getattr(callback, "__doc__", None)
    return listed


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
    # Click runs this when the command line has named a command, just before
    # that command parses its options and runs.
    _resume_collecting()


# Whether `run` was started with the cyclic garbage collector off (see
# `exprgraph.cli.run`), to be turned back on when the command starts.
_collector_paused = False


def _resume_collecting() -> None:
    """Turn the garbage collector back on for the command's own work, if the
    entry point turned it off for the start-up: first freezing what exists
    now (modules, classes, the app), all of which lives to the end, so that
    no collection passes over it again (`gc.freeze`, as its documentation
    suggests: off early, freeze, then on)."""
    global _collector_paused

    if _collector_paused:
        import gc

        _collector_paused = False
        gc.freeze()
        gc.enable()


def run(collector_paused: bool = False) -> Any:
    """Entry point of the console script (by way of `exprgraph.cli.run`, which
    passes `collector_paused=True`: it turned the garbage collector off)."""
    import signal

    global _collector_paused
    _collector_paused = collector_paused

    # A closed pipe (`exprgraph batch ... | head -1`) ends us quietly, as it
    # ends other Unix tools, not with a traceback or exit status 1.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    code: Any = 0
    _defer_rich_extras()
    _let_completion_name_its_shell(sys.argv[1:])
    _stand_in_for_closed_streams()
    fall_back_where_symbols_are_missing()
    try:
        app_for(sys.argv[1:])()
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
    _skip_the_last_collections()
    _resume_collecting()  # for a caller in the same process, where no command started
    sys.exit(code)


_COMPLETION_OPTIONS = ("--install-completion", "--show-completion")
_SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _let_completion_name_its_shell(args: list[str]) -> None:
    """`--show-completion zsh`: the script for the shell named, not the one detected.

    Typer's completion options detect the shell they run from and take no
    value, so a shell named after them was ignored (bash's script, exit 0).
    Its other form of the options takes the shell as a value, and checks it
    (`bogus` is an error naming the shells); Typer chooses that form by the
    environment variable below (pinned Typer; tests/test_completion.py checks).
    """
    for index, option in enumerate(args[:-1]):
        if option in _COMPLETION_OPTIONS and not args[index + 1].startswith("-"):
            os.environ["_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION"] = "1"
            return


# Modules typer.rich_utils imports at its top for one class each, which our
# help never uses: Markdown renders help written in rich_markup_mode="markdown"
# (ours is "rich") and pulls in markdown-it; Traceback draws an unexpected
# crash and pulls in Pygments. Together they were half the CPU time of
# `exprgraph --help` and of every usage error.
_DEFERRED_CLASSES = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


def _defer_rich_extras() -> None:
    """Let Typer's help and error formatting start without the modules in
    `_DEFERRED_CLASSES`: each is a stand-in until its class is used (called, or
    asked for an attribute such as `Traceback.from_exception`), which imports
    the real module and hands over to it."""
    for module_name, class_name in _DEFERRED_CLASSES.items():
        if module_name not in sys.modules:
            sys.modules[module_name] = _stand_in_module(module_name, class_name)


def _stand_in_module(module_name: str, class_name: str) -> Any:
    """A module object standing in for `module_name`, whose one class
    `class_name` imports the real module when first used."""
    import importlib
    import types

    def real_module() -> types.ModuleType:
        if sys.modules.get(module_name) is stand_in:
            del sys.modules[module_name]
        return importlib.import_module(module_name)

    def real_class() -> Any:
        return getattr(real_module(), class_name)

    class StandIn(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            if name.startswith("__"):  # `from m import x` asks for __path__: not a package
                raise AttributeError(name)
            return getattr(real_module(), name)

    class Forwarding(type):  # Traceback.from_exception(...): the real class's
        def __getattr__(cls, name: str) -> Any:
            return getattr(real_class(), name)

    def construct(cls: type, *args: Any, **kwargs: Any) -> Any:
        return real_class()(*args, **kwargs)

    # A class, not a function: typer.rich_utils writes `Markdown | Text` in annotations.
    stand_in_class = Forwarding(class_name, (), {"__new__": construct})
    stand_in = StandIn(module_name, f"Stands in for {module_name} until it is used.")
    setattr(stand_in, class_name, stand_in_class)
    return stand_in


def _skip_the_last_collections() -> None:
    """Spare the interpreter's exit its full garbage collections.

    At exit Python collects every container object it tracks, more than once
    while it takes the modules apart, although the process is about to end:
    after a one-shot `eval` that was a fifth of the command's CPU time.
    Frozen objects (`gc.freeze`) are left out of those passes; they are still
    freed by reference counting, and atexit handlers still run.
    """
    import gc

    gc.freeze()


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
