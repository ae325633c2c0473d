"""`--scheduler`: batch and check on a Dask cluster print what a local run prints.

The oracle is the serial run (`--jobs 1`) of the same input: the cluster's
stdout, stderr (but the time) and exit status must be the same bytes, also
when a worker is killed mid-run. One LocalCluster of two worker processes
serves the module. Needs the `dask` extra (`pip install '.[dask]'`); skipped
without it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exprgraph.cli import app

from .test_batch import _processes_with
from .test_jobs import SAMPLES, check_folder, lines_file, same_run, untimed

distributed = pytest.importorskip(
    "distributed", reason="Dask's distributed is not installed: pip install '.[dask]'")

runner = CliRunner()


@pytest.fixture(scope="module")
def cluster() -> object:
    """A scheduler and two single-threaded worker processes on this machine."""
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.CRITICAL
                                  ) as local, distributed.Client(local) as client:
        client.wait_for_workers(2, timeout=60)
        yield local


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cluster")
    return {"lines": lines_file(folder, 1200), "sets": check_folder(folder, copies=8),
            "big": lines_file(folder, 8000, "big.expr")}


def _batch_inputs(files: dict[str, Path]) -> list[str]:
    # Files of both kinds and one that cannot be read, so that file starts,
    # ends and faults travel among the results.
    return [str(files["lines"]), str(SAMPLES / "tutorials.toml"),
            str(SAMPLES / "broken.expr"), str(files["lines"].parent / "missing.toml")]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_batch_on_a_cluster_prints_what_a_local_run_prints(cluster: object,
                                                             files: dict[str, Path],
                                                             fmt: str) -> None:
    args = ["batch", *_batch_inputs(files), "--format", fmt]
    local = runner.invoke(app, [*args, "--jobs", "1"])
    remote = runner.invoke(app, [*args, "--scheduler", cluster.scheduler_address])
    same_run(local, remote)
    assert local.exit_code == 2  # the missing file


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_check_on_a_cluster_prints_what_a_local_run_prints(cluster: object,
                                                             files: dict[str, Path],
                                                             fmt: str) -> None:
    args = ["check", str(files["sets"]), str(SAMPLES / "homework.toml"), "--format", fmt]
    local = runner.invoke(app, [*args, "--jobs", "1"])
    remote = runner.invoke(app, [*args, "--scheduler", cluster.scheduler_address])
    same_run(local, remote)
    assert local.exit_code == 2  # the malformed file
    if fmt == "table":  # the score lines, one per file
        assert "answers correct in 12 files" in local.stderr


def test_a_killed_worker_loses_and_duplicates_nothing(cluster: object,
                                                       files: dict[str, Path],
                                                       tmp_path: Path) -> None:
    big = files["big"]
    expected = runner.invoke(app, ["batch", str(big), "--format", "jsonl", "--jobs", "1"])
    with distributed.Client(cluster.scheduler_address) as client:
        pids = sorted(client.run(os.getpid).values())
    out = tmp_path / "out.jsonl"
    with out.open("w") as stdout:
        command = subprocess.Popen(
            [sys.executable, "-m", "exprgraph", "batch", str(big), "--format", "jsonl",
             "--scheduler", cluster.scheduler_address], stdout=stdout,
            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            deadline = time.monotonic() + 60
            while out.stat().st_size == 0 and command.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            assert command.poll() is None, "the batch ended before a worker could be killed"
            os.kill(pids[0], signal.SIGKILL)  # first results are in: most are to come
            _, stderr = command.communicate(timeout=120)
        finally:
            if command.poll() is None:
                command.kill()
    assert command.returncode == expected.exit_code == 1  # the broken lines
    assert out.read_text(encoding="utf-8") == expected.stdout
    assert untimed(stderr) == untimed(expected.stderr)
    with distributed.Client(cluster.scheduler_address) as client:
        client.wait_for_workers(2, timeout=60)  # the nanny starts it again for the others


def test_a_closed_port_is_said_at_once_naming_the_address() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    started = time.monotonic()
    result = runner.invoke(app, ["batch", str(SAMPLES / "tutorials.toml"), "--scheduler",
                                 address])
    assert time.monotonic() - started < 5
    assert result.exit_code == 2
    assert f"cannot connect to a Dask scheduler at {address}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_a_mistyped_local_is_suggested() -> None:
    result = runner.invoke(app, ["check", str(SAMPLES / "homework.toml"), "--scheduler",
                                 "lcoal"])
    assert result.exit_code == 2
    assert "did you mean --scheduler local?" in result.stderr


def test_workers_with_another_exprgraph_are_refused(cluster: object,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import exprgraph

    real = exprgraph.__version__
    monkeypatch.setattr(exprgraph, "__version__", "99.0")  # as if this side were newer
    result = runner.invoke(app, ["batch", str(SAMPLES / "tutorials.toml"), "--scheduler",
                                 cluster.scheduler_address])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert f"has exprgraph {real}" in message and "(99.0)" in message
    assert "pip install 'exprgraph[dask]==99.0'" in message
    assert result.stdout == ""


def test_workers_without_exprgraph_are_named() -> None:
    from exprgraph.tasks import workers

    class Client:  # a scheduler whose one worker cannot import exprgraph
        def wait_for_workers(self, count: int, timeout: float) -> None:
            pass

        def run(self, function: object, on_error: str) -> dict[str, object]:
            return {"tcp://10.0.0.7:40000": None}

    backend = object.__new__(workers._Cluster)
    backend.client = Client()
    backend.address = workers.parse_address("tcp://10.0.0.5:8786")
    with pytest.raises(workers.ClusterError) as caught:
        backend._check_workers()
    assert "tcp://10.0.0.7:40000 has no exprgraph" in caught.value.message
    assert "pip install" in (caught.value.hint or "")


def test_the_version_probe_runs_where_exprgraph_is_missing() -> None:
    # It travels by value: a worker without exprgraph can run it and say so.
    from distributed.protocol.pickle import dumps

    from exprgraph.tasks.workers import _version_probe

    worker = ("import pickle, sys\n"
              "sys.modules['exprgraph'] = None  # import exprgraph fails here\n"
              "probe = pickle.loads(sys.stdin.buffer.read())\n"
              "print(probe())\n")
    done = subprocess.run([sys.executable, "-c", worker], input=dumps(_version_probe()),
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == "None"
    assert _version_probe()() == __import__("exprgraph").__version__


def test_a_local_cluster_runs_check_and_leaves_no_process_behind() -> None:
    path = str(SAMPLES / "homework.toml")
    local = runner.invoke(app, ["check", path, "--jobs", "1"])
    # Every process the command starts inherits this mark in its environment;
    # processes of anything else running on the machine do not (looking for
    # any multiprocessing helper counted, and killed, other programs' ones).
    mark = f"exprgraph-test-{uuid.uuid4().hex}"
    done = subprocess.run([sys.executable, "-m", "exprgraph", "check", path, "--scheduler",
                           "local:1"], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, env={**os.environ, "EXPRGRAPH_TEST_MARK": mark})
    assert done.returncode == local.exit_code == 1
    assert done.stdout == local.stdout
    assert untimed(done.stderr) == untimed(local.stderr)
    left: set[int] = set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = set(_processes_with(mark, where="environ"))
        if not left:
            break
        time.sleep(0.2)
    for pid in left:  # not behind even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == set()


def _dies_on_marker(chunk: list[int]) -> list[int]:
    """Doubles each number; a worker given 17 dies at once (as if out of memory)."""
    if 17 in chunk:
        os._exit(1)
    return [2 * k for k in chunk]


def test_an_item_that_kills_every_worker_fails_alone() -> None:
    import logging

    from exprgraph.tasks import workers

    # A cluster of its own: the workers it kills come back in their own time
    # (slowly on a busy machine), and no other test should wait for them.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.CRITICAL
                                  ) as own, distributed.Client(own) as client:
        client.wait_for_workers(2, timeout=60)
        # Dask gives up on a task whose workers died this many times (3 by default).
        own.scheduler.allowed_failures = 0
        work = workers.Work(workers.Task(_dies_on_marker), died=lambda k: f"{k} died",
                            cluster_chunk=8)
        results = list(workers.ordered_map(work, range(40), scheduler=own.scheduler_address))
    assert results == [f"{k} died" if k == 17 else 2 * k for k in range(40)]


def test_dask_s_own_warnings_and_task_tracebacks_stay_off_stderr(
        capsys: pytest.CaptureFixture[str]) -> None:
    # A tester saw Dask's version-mismatch table, and asyncio's "Task exception
    # was never retrieved" traceback after every worker was lost, on stderr:
    # the errors exprgraph reports are the only text a user should see.
    import asyncio
    import logging
    import warnings

    from distributed.versions import VersionMismatchWarning

    from exprgraph.tasks import workers

    workers._import_distributed()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        workers._import_distributed()
        warnings.warn("numpy differs", VersionMismatchWarning, stacklevel=1)
    assert caught == []
    assert logging.getLogger("asyncio").getEffectiveLevel() >= logging.CRITICAL
    loop = asyncio.new_event_loop()
    try:
        loop.call_exception_handler({"message": "Task exception was never retrieved",
                                     "exception": RuntimeError("lost")})
    finally:
        loop.close()
    assert "Traceback" not in capsys.readouterr().err
