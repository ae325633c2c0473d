"""`python -m exprgraph`: the same as the `exprgraph` command."""

from .cli import run

run()
