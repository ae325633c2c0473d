"""The `batch` command: every problem in problem files evaluated, one bad problem never stopping it.

Results stream to standard output as tables, JSON lines or CSV; files that
cannot be read are reported (`errors.report_error`) and counted; the summary
goes to stderr in every format.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.errors import ExprGraphError
from .application import app
from .errors import report_error, reports_errors
from .options import jobs_option, scheduler_option
from .output import JsonResults, stderr, stdout, warn


class BatchFormat(str, Enum):
    """How `batch` prints its results."""

    table = "table"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"

    @property
    def machine(self) -> bool:
        """JSON, either kind: every result as an object (nodes, derivatives)."""
        return self in (BatchFormat.jsonl, BatchFormat.json)


@app.command("batch")
@reports_errors
def batch_command(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(
        help="Problem files (.toml, .expr) or folders (every .toml and .expr below, sorted).",
        show_default=False, metavar="PATH...")],
    output_format: Annotated[BatchFormat, typer.Option(
        "--format", case_sensitive=False, metavar="FORMAT",
        help="table: a table per file and a summary; jsonl: one JSON object per problem, "
        "in input order; json: the same objects in one document, {results: [...], summary}; "
        "csv: one row per problem and input.")] = BatchFormat.table,
    jobs: Annotated[str, jobs_option(
        "Worker processes: auto uses every core once the batch is big enough to "
        "gain (one process for a small one); N uses N (at most one per core).")] = "auto",
    scheduler: Annotated[str | None, scheduler_option(
        "Run on a Dask cluster: the scheduler's tcp://HOST:8786, or local[:N] for N "
        "workers on this machine (it needs the dask extra: see the README). Results come "
        "back in input order.")] = None,
    derivatives: Annotated[bool, typer.Option(
        "--derivatives", help="Include symbolic derivatives (they cost more than numbers).")
    ] = False,
    nodes: Annotated[bool, typer.Option(
        "--nodes", help="Include every node and edge, as eval --format json does.")] = False,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=0, help="Successful problems per table at most (failed ones: "
        "the first 1,000); 0 shows all.")] = 50,
) -> None:
    """Evaluate every problem in problem files: value and gradient of each.

    One bad problem never stops the batch. The summary goes to stderr in every
    format. Results come in input order, whatever runs them: this process,
    --jobs worker processes, or a Dask cluster (--scheduler). Exit status: 0
    all ok, 1 a problem failed, 2 a file could not be read or parsed (or the
    command line or the cluster is at fault).

    Example:

    [bold]exprgraph batch samples/ --format jsonl > results.jsonl[/bold]
    """
    import time

    from click.core import ParameterSource

    from ..render import batch as show
    from ..tasks import batch as core
    from ..tasks.workers import Aside, jobs_for

    started = time.perf_counter()
    tally = show.Tally()
    # An option the format cannot show is said, not silently dropped (nor computed).
    shown_by = {"derivatives": (derivatives, (BatchFormat.jsonl, BatchFormat.json,
                                              BatchFormat.csv)),
                "nodes": (nodes, (BatchFormat.jsonl, BatchFormat.json)),
                "max_rows": (ctx.get_parameter_source("max_rows") is not ParameterSource.DEFAULT,
                             (BatchFormat.table,))}
    for name, (given, formats) in shown_by.items():
        if given and output_format not in formats:
            use = " or ".join(f.value for f in formats)
            warn(f"--{name.replace('_', '-')} has no effect with --format "
                  f"{output_format.value} (it does with --format {use})")
    options = core.Options(derivatives=derivatives and output_format is not BatchFormat.table,
                           nodes=nodes and output_format.machine)
    results = JsonResults(document=output_format is BatchFormat.json) if (
        output_format.machine) else None
    progress = _LazyProgress(started, output_format is not BatchFormat.table
                             and sys.stdout.isatty())
    # Every file's problems in one stream, so that the workers stay busy from
    # one file to the next; the files' starts, ends and faults travel in it as
    # asides, each handled here in its place.
    table: show.FileTable | None = None
    given = ctx.get_parameter_source("jobs") is not ParameterSource.DEFAULT
    stream = core.run(_problems(paths), options, jobs_for(jobs if given else None, scheduler),
                      scheduler)
    try:
        with contextlib.closing(stream):
            for result in stream:
                if isinstance(result, Aside):
                    table = _file_event(result.value, table, output_format, results,
                                        max_rows, tally, progress)
                    continue
                tally.add(result)
                progress.advance()
                # Machine formats go straight to stdout: Rich costs per line.
                if table is not None:
                    table.add(result)
                elif results is not None:
                    results.add(result)
                else:
                    sys.stdout.write(show.csv_text([result], header=tally.problems == 1))
    except KeyboardInterrupt:
        if results is not None:
            # Ctrl-C: what was written stays one JSON document, and says it stopped.
            results.close({"summary": tally.summary(), "error": {
                "kind": "interrupted", "message": "interrupted (Ctrl-C): the results stop here"}})
        raise
    except ExprGraphError as error:
        if results is None or not results.document:
            raise
        # The document is open: end it with the error, so that it stays JSON.
        results.close({"summary": tally.summary(), "error": error.to_dict()})
        from ..render.errors import error_text

        stderr().print(error_text(error))
        raise typer.Exit(error.exit_code) from None
    finally:
        progress.stop()
    if results is not None:
        results.close({"summary": tally.summary()})
    # On stderr in every format: stdout stays pure JSON lines or CSV.
    stderr().print(tally.line(time.perf_counter() - started))
    raise typer.Exit(2 if tally.file_errors else 1 if tally.failed else 0)


@dataclass(frozen=True)
class _FileStarts:
    """The problems of a file follow (a new table)."""

    path: Path


@dataclass(frozen=True)
class _FileEnds:
    """A file's problems are all in (its table is printed)."""

    path: Path


def _problems(paths: list[str]) -> Iterator[Any]:
    """Every problem of every file, in order, with asides where a file starts
    or ends and in place of a file (or the rest of one) that cannot be read."""
    from ..tasks import batch as core
    from ..tasks.workers import Aside

    for found in core.discover(paths):
        if isinstance(found, core.FileError):
            yield Aside(found)
            continue
        yield Aside(_FileStarts(found))
        try:
            yield from core.read_problems(found)
        except core.FileError as error:
            yield Aside(error)
        yield Aside(_FileEnds(found))


def _file_event(event: Any, table: Any, output_format: BatchFormat,
                results: JsonResults | None, max_rows: int, tally: Any,
                progress: _LazyProgress) -> Any:
    """Handle a file's start, end or fault in its place; the table of the file
    being read (None in the machine formats)."""
    from ..render import batch as show

    if isinstance(event, _FileStarts):
        # Only the rows the table shows are kept: a long line file streams.
        return show.FileTable(str(event.path), max_rows) if (
            output_format is BatchFormat.table) else None
    if isinstance(event, _FileEnds):
        if table is not None and len(table):
            progress.pause()
            stdout().print(table.renderable())
        return None
    report_error(event, results, tally)
    return table


class _LazyProgress:
    """A Rich progress counter on stderr, only on a terminal and only once a
    batch has run for half a second (short batches print nothing extra)."""

    DELAY = 0.5

    def __init__(self, started: float, streams_to_terminal: bool) -> None:
        self.started = started
        self.count = 0
        self.progress: Any = None
        self.task: Any = None
        # Lines streaming to the same terminal show the progress themselves,
        # and a counter drawn between them would tear them.
        self.enabled = stderr().is_terminal and not streams_to_terminal

    def advance(self) -> None:
        import time

        self.count += 1
        if not self.enabled:
            return
        if self.progress is None and time.perf_counter() - self.started > self.DELAY:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            # redirect_stdout=False: by default Progress takes over sys.stdout
            # and would send the CSV and JSON lines to the terminal.
            self.progress = Progress(SpinnerColumn(), TextColumn("{task.completed} problems"),
                                     TimeElapsedColumn(), console=stderr(), transient=True,
                                     redirect_stdout=False)
            self.task = self.progress.add_task("batch", total=None)
            self.progress.start()
        if self.progress is not None:
            self.progress.update(self.task, completed=self.count)

    def pause(self) -> None:
        """Stop drawing before a table is printed; it comes back, after the
        same delay, if the next file takes a while too."""
        import time

        self.stop()
        self.started = time.perf_counter()

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

