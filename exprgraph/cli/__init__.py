"""The `exprgraph` command: the Typer `app` and its entry point `run`.

`exprgraph.cli:run` is the console script (`application.run`, started with
the garbage collector off: see `run` below) and `exprgraph.cli:app` the Typer
application with every command (from `application.py`). Importing the
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

if TYPE_CHECKING:
    from .application import app

__all__ = ["app", "run"]


def run() -> Any:
    """Entry point of the console script: `application.run`, with the cyclic
    garbage collector off until the command line's command starts.

    Starting is importing Typer, Click, Rich and the command's modules: tens of
    thousands of objects (modules, classes, functions) that live to the end.
    The collector's passes over them while they were made found a few hundred
    objects to free and cost a one-shot command a tenth of its CPU time. So it
    is off from here (before Typer is imported) until the command starts,
    where `application` freezes what exists then and turns it back on for the
    command's own work (a batch of a million lines needs it).
    """
    import gc

    gc.disable()
    from .application import run as run_application

    return run_application(collector_paused=True)


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
