"""The one ordered map over chunks of work, used by `batch` and `check`.

`ordered_map(work, items, jobs=..., scheduler=...)` cuts `items` into chunks,
has each chunk solved by `work` (a module-level function of a list that
returns one result per item, in order) and yields the results in input
order, whichever finishes first. Where the chunks run:

- in this process (`jobs=1`): chunks of `Work.serial_chunk` items;
- in worker processes (`jobs=N`): at most 2·N chunks in flight, so memory
  stays flat for a file of any length. A worker killed mid-run (out of
  memory, `kill -9`) breaks the pool: its chunk is solved again alone, item by
  item if need be, so only an item that kills every worker given it fails
  (`Work.died` gives its result); the chunks after it go to a fresh pool.
  Workers end themselves when this process is gone (`| head -1`).
- `jobs="auto"`: in this process first, timed; once the items prove costly
  enough to gain from workers (`POOL_WORTH` each) and the input big enough
  (`Work.big` items waiting, or half a second of work done with more
  waiting) a pool with a worker per core takes over. Nothing is said.
- on a Dask `distributed` cluster (`scheduler="tcp://HOST:8786"`, or `local`
  / `local:N` for a cluster on this machine): one task per chunk
  (`Client.submit`, `pure=False`, a key unique to the chunk), at most
  `IN_FLIGHT_PER_THREAD` tasks per worker thread in flight. Dask runs again a
  task lost with a dead worker; a chunk that kills its workers
  `distributed.scheduler.allowed-failures` times is solved item by item, as
  in a pool. Each result is yielded once, in order. `distributed` is imported
  only here, only then.

An `Aside` in the input is no work: it is yielded as it is, in its place
among the results (the commands mark where a file starts or fails with them).

Errors a user can meet are typed (`ClusterError`, `ToolMissingError`); this
module prints nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ToolMissingError, ValueInputError

__all__ = ["AUTO", "Aside", "ClusterError", "Task", "Work", "jobs_for", "ordered_map",
           "parse_address", "parse_jobs"]

AUTO = "auto"
PARENT_POLL = 0.2  # seconds between a worker's checks that its parent lives
SWITCH_SECONDS = 0.5  # with jobs="auto": this much work in process, more waiting → a pool
# With jobs="auto", items that take less than this each stay in this process:
# a pool costs this process about 50 µs an item (pickling it and its result)
# while it still writes the output, so cheap items (a batch's lines sharing a
# program take about 30 µs) run slower in a pool than here.
POOL_WORTH = 150e-6
ASIDES_AHEAD = 256  # asides read ahead of the results at most (beyond the chunks)
IN_FLIGHT_PER_THREAD = 3  # chunks in flight per thread of a cluster
CONNECT_SECONDS = 5.0  # to reach a scheduler
WORKERS_SECONDS = 10.0  # for a scheduler without workers to get one
INSTALL_HINT = "install the extra: pip install 'exprgraph[dask]'"
DEFAULT_PORT = 8786  # Dask's scheduler port
DASK_LOG_LENGTH = 20  # messages Dask keeps per connection (for its debugging)

# How many worker pools and clusters this process has started (tests read it).
started = {"pool": 0, "cluster": 0}


class ClusterError(ValueInputError):
    """The `--scheduler` given cannot be reached or used: a bad address,
    nothing listening, no workers, workers without (this version of)
    exprgraph, a connection lost mid-run. A narrower ValueInputError (its
    kind, exit status 2), so that callers may tell it apart."""


@dataclass(frozen=True)
class Aside:
    """An item of the input that is no work: yielded as it is, in its place."""

    value: Any


@dataclass(frozen=True)
class Task:
    """`function(chunk, *args)`: what a worker runs on one chunk (picklable:
    `function` is a module-level function, found by name on the worker)."""

    function: Callable[..., list[Any]]
    args: tuple[Any, ...] = ()

    def __call__(self, chunk: list[Any]) -> list[Any]:
        return self.function(chunk, *self.args)


@dataclass(frozen=True)
class Work:
    """What to do with the chunks, and how large they are."""

    task: Task
    died: Callable[[Any], Any]  # the result of an item that kills every worker given it
    name: str = "exprgraph"  # a cluster's task keys start with it
    chunk: int = 64  # items per chunk sent to a worker process
    serial_chunk: int = 256  # items per chunk solved in this process
    cluster_chunk: int = 256  # items per task on a cluster (a task costs Dask milliseconds)
    big: int = 512  # with jobs="auto": this many items waiting start the pool


def parse_jobs(text: str) -> int | str:
    """`auto` or a whole number >= 1 (`--jobs`); ValueError otherwise."""
    cleaned = text.strip().lower()
    if cleaned == AUTO:
        return AUTO
    if not cleaned.isdigit() or int(cleaned) < 1:
        raise ValueError(f"{text!r} is neither auto nor a whole number of processes >= 1")
    return int(cleaned)


def jobs_for(jobs: int | str | None, scheduler: str | None) -> int | str:
    """The jobs a command runs with: `jobs` as given, AUTO where not given
    (None); ValueInputError for jobs given with a scheduler."""
    if scheduler is not None and jobs is not None:
        raise ValueInputError(
            f"--jobs {jobs} and --scheduler {scheduler} do not go together: --jobs sets the "
            "worker processes on this machine, and with --scheduler the cluster's workers "
            "do the work",
            hint="drop --jobs; a cluster grows with more `dask worker` processes "
            "(or --scheduler local:N)")
    return AUTO if jobs is None else jobs


def ordered_map(work: Work, items: Iterable[Any], *, jobs: int | str = 1,
                scheduler: str | None = None) -> Iterator[Any]:
    """`work` over `items` in chunks: the results (and the asides) in input order."""
    cores = os.cpu_count() or 1
    source = _Input(items)
    backends: list[_Backend] = []
    try:
        if scheduler is not None:
            backend: _Backend = _Cluster(scheduler, work)
            auto = False
        else:
            auto = jobs == AUTO and cores > 1
            count = 1 if jobs == AUTO else min(int(jobs), cores)
            # More workers than cores only add processes (--jobs 300 for two lines).
            # With auto, the first chunk is solved here, timed: whether a pool
            # gains depends on what an item costs (below).
            backend = _Pool(work, count) if count > 1 else _InProcess(work)
        backends.append(backend)
        yield from _ordered(work, source, backend, backends, auto, cores)
    finally:
        for each in backends:
            each.close()


def _ordered(work: Work, source: _Input, backend: _Backend, backends: list[_Backend],
             auto: bool, cores: int) -> Iterator[Any]:
    pending: deque[_Entry] = deque()
    in_flight = 0
    while True:
        if auto and isinstance(backend, _InProcess) and _pool_gains(work, source, backend):
            backend = _Pool(work, cores)
            backends.append(backend)
        size = (work.serial_chunk if isinstance(backend, _InProcess)
                else work.cluster_chunk if isinstance(backend, _Cluster) else work.chunk)
        while in_flight < backend.room and len(pending) < backend.room + ASIDES_AHEAD:
            entry = source.next_entry(size)
            if entry is None:
                break
            if isinstance(entry, Aside):
                pending.append(_Entry(None, entry, None))
            else:
                pending.append(_Entry(entry, backend.submit(entry), backend))
                in_flight += 1
        if not pending:
            return
        entry = pending.popleft()
        if entry.chunk is None:
            yield entry.handle
            continue
        in_flight -= 1
        assert entry.backend is not None
        yield from entry.backend.results(entry, pending)


def _pool_gains(work: Work, source: _Input, backend: _InProcess) -> bool:
    """Whether to hand the rest of an auto run to a pool: items cost enough
    that sending them to workers pays (this process still pickles each item
    and its result, and writes the output), and there is enough work left:
    `Work.big` items waiting, or half a second of work done with more waiting."""
    # The latest chunk's cost, from the second on: the first pays for one-time
    # work (imports, the first compile of each program).
    if backend.chunks < 2 or backend.last < POOL_WORTH:
        return False
    return (backend.busy > SWITCH_SECONDS and source.waiting(1)) or \
        source.waiting(work.big, work=True)


@dataclass
class _Entry:
    """A chunk in flight (its backend's handle), or an aside (chunk None)."""

    chunk: list[Any] | None
    handle: Any
    backend: _Backend | None


class _Input:
    """The items, read one at a time, with a look ahead."""

    def __init__(self, items: Iterable[Any]) -> None:
        self._items = iter(items)
        self._ahead: deque[Any] = deque()
        self._work_ahead = 0  # of them, items that are work (not asides)
        self._done = False

    def waiting(self, count: int, work: bool = False) -> bool:
        """Whether at least `count` more items (with `work`: items that are
        no asides) are to come; reads them ahead."""
        while (self._work_ahead if work else len(self._ahead)) < count and not self._done:
            try:
                item = next(self._items)
            except StopIteration:
                self._done = True
                break
            self._ahead.append(item)
            self._work_ahead += not isinstance(item, Aside)
        return (self._work_ahead if work else len(self._ahead)) >= count

    def next_entry(self, size: int) -> Aside | list[Any] | None:
        """The next aside, or the next chunk of up to `size` items (ended by an
        aside); None at the end."""
        chunk: list[Any] = []
        while len(chunk) < size and self.waiting(1):
            item = self._ahead.popleft()
            if isinstance(item, Aside):
                if chunk:
                    self._ahead.appendleft(item)
                    break
                return item
            chunk.append(item)
            self._work_ahead -= 1
        return chunk or None


class _Backend:
    """Where chunks run: `submit` a chunk, later its `results`."""

    room = 1  # chunks in flight at most

    def submit(self, chunk: list[Any]) -> Any:
        raise NotImplementedError

    def results(self, entry: _Entry, pending: deque[_Entry]) -> list[Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop whatever was started (idempotent)."""


class _InProcess(_Backend):
    """Each chunk solved here, when it is submitted."""

    def __init__(self, work: Work) -> None:
        self.work = work
        self.busy = 0.0  # CPU seconds spent solving
        self.chunks = 0  # chunks solved
        self.last = 0.0  # seconds an item of the latest chunk took

    def submit(self, chunk: list[Any]) -> list[Any]:
        # CPU time, not the clock: on a busy machine the clock would make cheap
        # items look costly, and a pool of workers would only compete for it.
        begun = time.process_time()
        try:
            return self.work.task(chunk)
        finally:
            spent = time.process_time() - begun
            self.busy += spent
            self.chunks += 1
            self.last = spent / max(len(chunk), 1)

    def results(self, entry: _Entry, pending: deque[_Entry]) -> list[Any]:
        return entry.handle


class _Pool(_Backend):
    """Worker processes on this machine (a `ProcessPoolExecutor`)."""

    def __init__(self, work: Work, jobs: int) -> None:
        self.work = work
        self.jobs = jobs
        self.room = 2 * jobs
        self.pool = _pool(jobs)

    def submit(self, chunk: list[Any]) -> Future[list[Any]] | None:
        """The chunk sent to the pool, or None if the pool is already broken."""
        try:
            return self.pool.submit(self.work.task, chunk)
        except BrokenProcessPool:
            return None

    def results(self, entry: _Entry, pending: deque[_Entry]) -> list[Any]:
        assert entry.chunk is not None
        try:
            if entry.handle is None:
                raise BrokenProcessPool("the pool broke before this chunk was sent")
            return entry.handle.result()
        except BrokenProcessPool:
            # A worker died (killed, out of memory), breaking the whole pool:
            # this chunk is solved again alone, item by item if need be, so
            # only the item that kills a worker fails; the chunks after it go
            # to a fresh pool. Nothing is lost, nothing yielded twice.
            self.pool.shutdown(wait=False, cancel_futures=True)
            results = _solve_apart(self.work, entry.chunk)
            self.pool = _pool(self.jobs)
            for waiting in pending:
                if waiting.backend is self:
                    assert waiting.chunk is not None
                    waiting.handle = self.submit(waiting.chunk)
            return results

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _pool(jobs: int) -> ProcessPoolExecutor:
    started["pool"] += 1
    return ProcessPoolExecutor(max_workers=jobs, initializer=_end_with_parent)


def _solve_apart(work: Work, chunk: list[Any]) -> list[Any]:
    """`chunk`'s results from a worker of its own; where that worker dies too,
    each item in a worker of its own, and an item that kills even that one
    gets `work.died`'s result."""
    with _pool(1) as alone:
        try:
            return alone.submit(work.task, chunk).result()
        except BrokenProcessPool:
            pass
    results: list[Any] = []
    for item in chunk:
        with _pool(1) as alone:
            try:
                results.extend(alone.submit(work.task, [item]).result())
            except BrokenProcessPool:
                results.append(work.died(item))
    return results


def _end_with_parent() -> None:
    """In a worker process: end it once the process that started it is gone.

    A batch killed by SIGPIPE (`| head -1`) cannot shut its pool down, and its
    workers would wait for work forever. A daemon thread notices that the
    parent changed (the orphan is adopted) and ends the worker at once.
    Ctrl-C is the parent's to handle: a worker ignores it, and the parent
    shuts the pool down."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


# --- a Dask cluster ----------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """Where the scheduler is: `local` (n workers, or one per core), or a URL."""

    text: str
    local: bool = False
    workers: int | None = None
    scheme: str = "tcp"
    host: str = ""
    port: int = DEFAULT_PORT

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


def parse_address(text: str) -> Address:
    """`local`, `local:N`, `tcp://HOST:PORT` (also `HOST:PORT`, `HOST`: tcp on
    port 8786, as Dask reads them); ClusterError for anything else."""
    cleaned = text.strip()
    example = "e.g. --scheduler tcp://10.0.0.5:8786, or --scheduler local"
    if cleaned.lower() == "local" or cleaned.lower().startswith("local:"):
        count = cleaned[len("local:"):] if ":" in cleaned else ""
        if count and (not count.isdigit() or int(count) < 1):
            raise ClusterError(f"--scheduler {text}: the number of local workers must be a "
                               "whole number >= 1", hint="e.g. --scheduler local:2")
        return Address(cleaned, local=True, workers=int(count) if count else None)
    scheme, has_scheme, rest = cleaned.partition("://")
    if not has_scheme:
        scheme, rest = "tcp", cleaned
    if scheme.lower() not in SCHEMES:
        raise ClusterError(f"--scheduler {text}: {scheme}:// is not a Dask protocol "
                           f"({', '.join(s + '://' for s in SCHEMES)})", hint=example)
    host, has_port, port = rest.rstrip("/").rpartition(":") if ":" in rest else (rest, "", "")
    if host.startswith("[") and host.endswith("]"):  # an IPv6 address: [::1]:8786
        host = host[1:-1]
    if not has_port:
        port = str(DEFAULT_PORT)
    if not host or "/" in host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"--scheduler {text} is not a scheduler's address", hint=example)
    return Address(cleaned, scheme=scheme.lower(), host=host, port=int(port))


def _import_distributed(address: Address | None = None) -> Any:
    """Dask's distributed, set up to keep its logs and warnings to itself; a
    ToolMissingError that says how to install it (and names `local` where
    `address` looks like a typo of it) where it is missing."""
    try:
        import distributed
    except ImportError as error:
        hint = INSTALL_HINT
        if address is not None and not address.local and _close_to_local(address.host):
            # `lcoal` reads as a host name: the typo matters more than the install.
            hint = f"did you mean --scheduler local? To use a cluster, {INSTALL_HINT}"
        raise ToolMissingError(
            "--scheduler runs the work on a Dask cluster, and Dask's distributed "
            f"package is not installed ({error})", hint=hint, tool="distributed"
        ) from None
    import logging

    # A lost worker or a closing connection is Dask's to log, and ours to
    # report (or to recover from): its log lines would only tear the output.
    # Dask's settings give some of its loggers levels of their own.
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.startswith("distributed.") or name == "distributed":
            logging.getLogger(name).setLevel(logging.CRITICAL)
    # When every worker is lost, Dask's client leaves a gather's task with an
    # exception nobody retrieves, and asyncio logs it with a traceback; the
    # loss is ours to report, as an error.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    import warnings

    from distributed.versions import VersionMismatchWarning

    # Dask warns, with a table, where a worker's packages differ from this
    # process's; the check at connect says what matters (exprgraph itself).
    warnings.filterwarnings("ignore", category=VersionMismatchWarning)
    return distributed


@dataclass
class _Cluster(_Backend):
    """Chunks as tasks on a Dask cluster, each result gathered in order."""

    text: str
    work: Work
    room: int = 2
    client: Any = None
    cluster: Any = None
    prefix: str = ""
    count: int = 0
    checked: float = 0.0
    config: Any = None  # Dask's settings while connected, undone at close
    fork_server: Any = None  # a local cluster's Dask setting, undone at close
    address: Address = field(init=False)

    def __post_init__(self) -> None:
        self.address = parse_address(self.text)
        distributed = _import_distributed(self.address)
        started["cluster"] += 1
        # A key unique to this run and chunk: two runs sharing a scheduler never
        # share a result; Dask's name for the tasks is the prefix (`exprgraph-batch`).
        self.prefix = f"{self.work.name}-{uuid.uuid4().hex}"
        import dask

        # Dask keeps the last messages of each connection for debugging, 1,000
        # by default: with a chunk of problems in each, that was 200 MB here.
        self.config = dask.config.set({"distributed.admin.low-level-log-length":
                                       DASK_LOG_LENGTH})
        try:
            if self.address.local:
                self._start_local(distributed)
            else:
                self._connect(distributed)
            self._check_workers()
            self._size()
        except BaseException:
            self.close()
            raise

    def _start_local(self, distributed: Any) -> None:
        import logging

        self._ignore_ctrl_c_in_workers(distributed)
        workers = self.address.workers or os.cpu_count() or 1
        # A cluster interrupted half-built cannot be closed (Dask would say so
        # at exit, at length): a Ctrl-C meanwhile waits until it is whole.
        with _ctrl_c_deferred():
            # No dashboard; the scheduler's HTTP server (health, metrics) on a
            # free local port, not Dask's 8787 that another cluster may hold.
            self.cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.CRITICAL, preload=[__name__])
        self.client = distributed.Client(self.cluster)

    def _ignore_ctrl_c_in_workers(self, distributed: Any) -> None:
        """Ctrl-C reaches every process of the terminal's process group; the
        workers of a local cluster leave it to this process, which closes the
        cluster, rather than each print a traceback.

        The workers are forked from a fork server started with SIGINT
        ignored, which they inherit from the moment they start (also one that
        Dask starts again after a worker died); Ctrl-C is ignored here only
        while that server starts. Where there is no fork server, Dask's
        default applies and a worker ignores it from its preload
        (`dask_setup`) on."""
        import multiprocessing
        import signal

        import dask

        if ("forkserver" not in multiprocessing.get_all_start_methods()
                or threading.current_thread() is not threading.main_thread()):
            return
        self.fork_server = dask.config.set({"distributed.worker.multiprocessing-method":
                                            "forkserver"})
        distributed.utils.get_mp_context()  # Dask's preloads for the fork server
        from multiprocessing import forkserver

        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            _quiet_resource_tracker()
            forkserver.ensure_running()
        finally:
            signal.signal(signal.SIGINT, previous)

    def _connect(self, distributed: Any) -> None:
        where = self.address.url
        if self.address.scheme == "tcp":
            _reachable(self.address)
        try:
            self.client = distributed.Client(where, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as error:
            raise ClusterError(
                f"cannot connect to a Dask scheduler at {where}: {_reason(error)}",
                hint="is it a Dask scheduler? Start one with: dask scheduler") from None
        except Exception:  # an answer Dask cannot read (a web server's...)
            raise ClusterError(
                f"what listens at {where} is not a Dask scheduler (its answer is not Dask's)",
                hint=f"check the port: a Dask scheduler listens on {DEFAULT_PORT} unless told "
                "otherwise") from None

    def _check_workers(self) -> None:
        """At least one worker, each with this version of exprgraph."""
        from .. import __version__

        where = "this machine's cluster" if self.address.local else self.address.url
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_SECONDS)
        except (OSError, TimeoutError):
            raise ClusterError(f"the Dask scheduler at {where} has no workers",
                               hint=f"start one: dask worker {where} (with exprgraph installed "
                               "on its machine)") from None
        found = self.client.run(_version_probe(), on_error="return")
        wrong = []
        for worker, version in sorted(found.items()):
            if isinstance(version, BaseException):
                wrong.append(f"{worker} cannot run exprgraph ({_reason(version)})")
            elif version is None:
                wrong.append(f"{worker} has no exprgraph")
            elif version != __version__:
                wrong.append(f"{worker} has exprgraph {version}")
        if wrong:
            shown = "; ".join(wrong[:3]) + (f"; and {len(wrong) - 3} more" if len(wrong) > 3
                                            else "")
            raise ClusterError(
                f"workers of the Dask scheduler at {where} cannot run this exprgraph "
                f"({__version__}): {shown}",
                hint=f"install it on every worker's machine: pip install "
                f"'exprgraph[dask]=={__version__}', then restart the workers")

    def _size(self) -> None:
        """The room: IN_FLIGHT_PER_THREAD chunks per worker thread (the workers
        are counted again now and then, for a cluster that grows)."""
        threads = sum(self.client.nthreads().values())
        self.room = max(2, IN_FLIGHT_PER_THREAD * threads)
        self.checked = time.monotonic()

    def submit(self, chunk: list[Any]) -> Any:
        if time.monotonic() - self.checked > 5.0:
            try:
                self._size()
            except OSError as error:  # Dask's CommClosedError
                raise self._lost(error) from None
        self.count += 1
        return self.client.submit(self.work.task, chunk, pure=False,
                                  key=f"{self.prefix}-{self.count}")

    def results(self, entry: _Entry, pending: deque[_Entry]) -> list[Any]:
        from distributed import KilledWorker

        assert entry.chunk is not None
        try:
            return self._gather(entry.handle)
        except KilledWorker:
            # The chunk's workers died too often (or it was beside a chunk that
            # killed them): each item again alone, one at a time, so that only
            # an item that kills its workers fails, never one queued beside it.
            results = []
            for item in entry.chunk:
                try:
                    results.extend(self._gather(self.submit([item])))
                except KilledWorker:
                    results.append(self.work.died(item))
            return results

    def _gather(self, future: Any) -> list[Any]:
        """The future's result; ClusterError where the scheduler is lost, or
        has had no worker for WORKERS_SECONDS (the task would wait forever)."""
        from concurrent.futures import CancelledError

        where = "this machine's cluster" if self.address.local else self.address.url
        alone_since: float | None = None
        try:
            while True:
                try:
                    return future.result(timeout=WORKERS_SECONDS / 4)
                except TimeoutError:
                    if self.client.nthreads():
                        alone_since = None
                    elif alone_since is None:
                        alone_since = time.monotonic()
                    elif time.monotonic() - alone_since > WORKERS_SECONDS:
                        start = "" if self.address.local else f"; start some: dask worker {where}"
                        raise ClusterError(
                            f"the Dask scheduler at {where} has had no workers for "
                            f"{WORKERS_SECONDS:g} s",
                            hint=f"the results before this point are complete{start}"
                        ) from None
        except (CancelledError, OSError) as error:  # OSError: Dask's CommClosedError
            raise self._lost(error) from None
        finally:
            future.release()

    def _lost(self, error: BaseException) -> ClusterError:
        where = "this machine's cluster" if self.address.local else self.address.url
        return ClusterError(f"lost the connection to the Dask scheduler at {where}",
                            hint="the results before this point are complete; run the rest "
                            "again")

    def close(self) -> None:
        for part in (self.client, self.cluster):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.close()
        for settings in (self.fork_server, self.config):
            if settings is not None:
                settings.__exit__(None, None, None)
        self.client = self.cluster = self.config = self.fork_server = None


def _quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with its stderr on /dev/null.

    Killed by a closed pipe (`| head -1`), this process leaves the cluster's
    queues to the tracker, which cleans them up and warns of "leaked
    semaphore objects" on the terminal: noise to a user of the command."""
    import sys
    from multiprocessing import resource_tracker

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        resource_tracker.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


@contextlib.contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Ctrl-C in the block is raised (KeyboardInterrupt) once it has ended."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: pressed.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def dask_setup(worker: Any) -> None:
    """Run by each worker of a `--scheduler local` cluster as it starts (Dask's
    preload): Ctrl-C is for the command to handle, which closes the cluster;
    a worker would only print its traceback."""
    import signal

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _reachable(address: Address) -> None:
    """Fail at once, naming the address, where nothing listens there or what
    listens is no Dask scheduler (one speaks first: the length of its
    handshake, 8 bytes), rather than leave Dask waiting for an answer."""
    import socket
    import struct

    try:
        connection = socket.create_connection((address.host, address.port),
                                              timeout=CONNECT_SECONDS)
    except socket.gaierror:
        hint = ("did you mean --scheduler local?" if _close_to_local(address.host)
                else "check the host name, e.g. --scheduler tcp://10.0.0.5:8786")
        raise ClusterError(f"cannot connect to a Dask scheduler at {address.url}: no host "
                           f"named {address.host!r}", hint=hint) from None
    except OSError as error:
        raise ClusterError(f"cannot connect to a Dask scheduler at {address.url}: "
                           f"{_reason(error)}",
                           hint="start one there: dask scheduler (it listens on port "
                           f"{DEFAULT_PORT}), or run on this machine: --scheduler local"
                           ) from None
    first = b""
    with connection:
        try:
            while len(first) < 8:
                received = connection.recv(8 - len(first))
                if not received:
                    break
                first += received
        except OSError:  # no word within the time (a TimeoutError), or a reset
            pass
    if len(first) < 8 or not 0 < struct.unpack("<Q", first)[0] < 1 << 24:
        raise ClusterError(
            f"what listens at {address.url} is not a Dask scheduler (it does not answer as "
            "one)", hint=f"check the port: a Dask scheduler listens on {DEFAULT_PORT} unless "
            "told otherwise")


def _close_to_local(host: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, host.lower(), "local").ratio() >= 0.6


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError) or (isinstance(error, OSError) and "imed out"
                                           in str(error)):
        return f"no answer within {CONNECT_SECONDS:g} s"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    return (getattr(error, "strerror", None) or str(error) or type(error).__name__).rstrip(".")


def _version_probe() -> Callable[[], str | None]:
    """A function that tells a worker's exprgraph version (None: it has none).

    Defined inside a function, it travels by value (cloudpickle), so a worker
    without exprgraph can run it; a module-level one would need exprgraph to
    be found there."""

    def probe() -> str | None:
        try:
            import exprgraph
        except ImportError:
            return None
        return str(getattr(exprgraph, "__version__", "unknown"))

    return probe
