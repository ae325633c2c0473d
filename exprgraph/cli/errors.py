"""The one error path of the commands: our errors become a message and an exit status.

Every command is decorated with `@reports_errors`: an `ExprGraphError` that
escapes it is printed once, as a message (and hint) on stderr, or, when the
command was asked for `--format json`, as `{"error": {...}}` on stdout, and
the command exits with the error's status: 1 for a math error, 2 for a usage
or parse error (0 is success). Commands raise our errors; none catches them
to report them itself.

Errors that do not stop a command (a bad file in a batch, an undefined
partial in a result) are reported by `report_error` and `report_undefined`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer

from ..core.errors import ExprGraphError, MathError
from .output import JsonResults, print_json, stderr

Command = TypeVar("Command", bound=Callable[..., Any])


def reports_errors(command: Command) -> Command:
    """Decorate a command so that our errors end it with a message and exit status.

    JSON is chosen by the command's `output_format` parameter (its value
    `json`, or a format that says `errors_as_json`, such as check's `jsonl`),
    as the command received it. The wrapper keeps the command's
    signature and docstring (`functools.wraps`), which Typer reads for the
    options and the help.
    """

    @functools.wraps(command)
    def reporting(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ExprGraphError as error:
            chosen = kwargs.get("output_format")
            as_json = getattr(chosen, "errors_as_json", getattr(chosen, "value", None) == "json")
            _fail(error, as_json=as_json)

    return reporting  # type: ignore[return-value]


def _fail(error: ExprGraphError, as_json: bool) -> NoReturn:
    """Report `error` (JSON on stdout, or text on stderr) and exit."""
    if error.details.get("missing") and error.details.get("variable"):
        # The core knows no command line; here the way to give a value is known.
        name = error.details["variable"]
        error.hint = (f"give it a value: --{name} VALUE (or --set {name}=VALUE), or "
                      f"`where {name}=...` after the program")
    if as_json:
        print_json({"error": error.to_dict()})
    else:
        from ..render.errors import error_text

        stderr().print(error_text(error))
    raise typer.Exit(error.exit_code)


def report_error(error: ExprGraphError, results: JsonResults | None, tally: Any = None) -> None:
    """An error that does not stop the command (a bad file or problem): a
    result `{source, error}` among the JSON `results`, or without them a
    message on stderr; counted in `tally`."""
    result = {"source": error.details.get("source", error.details.get("file", "")),
              "error": error.to_dict()}
    if tally is not None:
        tally.add(result)
    if results is not None:
        results.add(result)
    else:
        from ..render.errors import error_text

        stderr().print(error_text(error))


def report_undefined(evaluation: Any, as_json: bool) -> NoReturn:
    """Exit 1 after a result with undefined partials, naming why on stderr."""
    if not as_json:
        from ..render.errors import error_text

        for error in dict.fromkeys(evaluation.undefined_gradient.values()):
            stderr().print(error_text(error))
    raise typer.Exit(MathError.exit_code)
