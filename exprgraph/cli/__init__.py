"""The `exprgraph` command: the Typer `app` and its entry point `run`.

`exprgraph.cli:run` is the console script and `exprgraph.cli:app` the Typer
application with every command (both from `application.py`). Importing the
command modules adds their commands to `app`, in the order `exprgraph --help`
lists them:

    application  the app, `run` and the faults around any command
    options      the options several commands share, declared once
    values       a program and its --NAME VALUE input values, from the command line
    output       consoles, warnings, JSON
    errors       `@reports_errors`: our errors as a message or JSON, and an exit status
    evaluate     eval, diff, simplify
    check        check
    graph        graph
    plan         plan
    train        descend, fit
    batch        batch
"""

from typing import TYPE_CHECKING, Any

from .application import run

if TYPE_CHECKING:
    from .application import app

__all__ = ["app", "run"]


def __getattr__(name: str) -> Any:
    """`exprgraph.cli.app`, with every command loaded, on first use (PEP 562).

    The console script imports this package for `run`, which loads only the
    command its command line names; importing every command module here would
    make each one-shot command pay for all nine.
    """
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .application import app, load_commands

    load_commands()
    globals()["app"] = app
    return app
