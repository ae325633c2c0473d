"""The `exprgraph` command: the Typer `app` and its entry point `run`.

`exprgraph.cli:run` is the console script and `exprgraph.cli:app` the Typer
application (both from `application.py`). Importing the command modules adds
their commands to `app`, in the order `exprgraph --help` lists them:

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

from .application import app, run

# Imported for their commands, in the order `--help` lists them (eval, diff,
# simplify, check, graph, plan, descend, fit, batch): not sorted by name.
# isort: off
from . import evaluate  # noqa: F401
from . import check  # noqa: F401
from . import graph  # noqa: F401
from . import plan  # noqa: F401
from . import train  # noqa: F401
from . import batch  # noqa: F401
# isort: on

__all__ = ["app", "run"]
