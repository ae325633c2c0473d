"""`check`'s unit of work for worker processes and clusters: a chunk of problems.

The problems are read in the main process (`check.read_check_file`) and sent
as plain data; `check_all` checks a chunk of them wherever it runs and sends
back their `Report`s, in order, for the main process to print.
`workers.ordered_map` runs the chunks (`run`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..core.errors import ExpressionTooLargeError
from .check import CheckProblem, Report, check_problem
from .workers import Task, Work, ordered_map

__all__ = ["check_all", "run"]


def check_all(problems: Sequence[CheckProblem]) -> list[Report]:
    """The reports of a chunk of problems, in order."""
    return [check_problem(problem) for problem in problems]


def run(problems: Iterable[Any], jobs: int | str = 1, scheduler: str | None = None
        ) -> Iterator[Any]:
    """The report of each problem, in input order (a `workers.Aside` among them
    is yielded as it is, in its place): checked here, in `jobs` worker
    processes ("auto": every core once the input proves big) or on a Dask
    cluster (`scheduler`)."""
    # A problem takes milliseconds (a batch's a tenth of one): small chunks
    # keep the workers evenly busy; "auto" starts a pool once 128 problems are
    # still to come, or after half a second of checking.
    work = Work(Task(check_all), died=_worker_died, name="exprgraph-check", chunk=4,
                serial_chunk=8, cluster_chunk=8, big=128)
    yield from ordered_map(work, problems, jobs=jobs, scheduler=scheduler)


def _worker_died(problem: CheckProblem) -> Report:
    error = ExpressionTooLargeError(
        "the worker process checking this problem died (killed, or out of memory)",
        hint="check it alone, or with --jobs 1, to see why")
    return Report(problem.source, problem.name, (), error.to_dict(), problem.file)
