"""The arguments and options that several commands share, each declared once.

An option is an `Annotated` alias: a command names it as the type of its
parameter (`program: ProgramArgument`). Where commands word the same option's
help for what it does there (the input values of `eval`, `check`, `graph` and
`descend`), `values_option` declares the option once and takes the help.
Options of one command stay with it; the training options that `descend` and
`fit` share live in `train.py` with both.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer


class OutputFormat(str, Enum):
    """How `eval`, `check`, `descend` and `fit` print their results."""

    table = "table"
    json = "json"


class CheckFormat(str, Enum):
    """How `check` prints its reports. `json` is the old name of `jsonl` (JSON
    Lines, as `batch` calls them), kept working with a deprecation note: it is
    to become one JSON document, as `json` is in every other command."""

    table = "table"
    jsonl = "jsonl"
    json = "json"

    @property
    def errors_as_json(self) -> bool:
        """A command-stopping error is a JSON line too (as it always was with json)."""
        return self is not CheckFormat.table


class DiffFormat(str, Enum):
    """How `diff` and `simplify` print their results."""

    table = "table"
    json = "json"
    text = "text"
    latex = "latex"


ProgramArgument = Annotated[str, typer.Argument(
    help="The program (as for eval); '-' reads it from stdin.", show_default=False,
    metavar="PROGRAM")]

# The type of an input-values option: NAME=VALUE[,...] texts, repeatable.
Values = list[str] | None


def values_option(help: str, *, at_first: bool = False) -> Any:  # noqa: A002 (Typer's name)
    """The option that gives input values as NAME=VALUE[,...]: `--set` (or
    `--at`, listed first where the values are a point to evaluate at)."""
    names = ("--at", "--set") if at_first else ("--set", "--at")
    return typer.Option(*names, metavar="NAME=VALUE[,...]", show_default=False, help=help)


ValuesOption = Annotated[Values, values_option(
    "Also evaluate the results at this point: --at x=1,y=2 (or --x 1 --y 2).", at_first=True)]

DiffFormatOption = Annotated[DiffFormat, typer.Option(
    "--format", case_sensitive=False,
    help="table: Rich tables; json: one JSON object (keys in the README); "
    "text: plain exprgraph text; latex: LaTeX.")]


def jobs_option(help: str) -> Any:  # noqa: A002 (Typer's name)
    """`--jobs auto|N` of `batch` and `check`, with their words for what runs in parallel."""
    return typer.Option("--jobs", "-j", callback=jobs_value, metavar="auto|N",
                        autocompletion=complete_jobs, help=help)


def scheduler_option(help: str) -> Any:  # noqa: A002 (Typer's name)
    """`--scheduler ADDRESS` of `batch` and `check`: a Dask cluster to run on."""
    return typer.Option("--scheduler", metavar="ADDRESS", show_default=False,
                        autocompletion=complete_scheduler, help=help)


def jobs_value(value: str) -> int | str:
    """`--jobs` of `batch` and `check`: auto or a whole number >= 1."""
    from ..tasks.workers import parse_jobs

    try:
        return parse_jobs(value)
    except ValueError as error:
        raise typer.BadParameter(f"{error}, e.g. --jobs 4 or --jobs auto") from None


def complete_jobs(incomplete: str) -> list[str]:
    """What `--jobs <Tab>` offers: auto, and each worker count up to the cores."""
    import os

    offered = ["auto", *(str(count) for count in range(1, (os.cpu_count() or 1) + 1))]
    return [value for value in offered if value.startswith(incomplete)]


def complete_scheduler(incomplete: str) -> list[str]:
    """What `--scheduler <Tab>` offers: a cluster on this machine, or the start of
    a scheduler's address."""
    return [value for value in ("local", "tcp://") if value.startswith(incomplete)]
