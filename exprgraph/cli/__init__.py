"""The `exprgraph` command: the Typer `app` and its entry point `run`.

`exprgraph.cli:run` is the console script and `exprgraph.cli:app` the Typer
application; both live in `main.py` (one module for now: the eight commands
share options and one error path there).
"""

from .main import app, run

__all__ = ["app", "run"]
