"""`--jobs auto|N` for batch and check, and what `--scheduler` refuses before any cluster.

The oracle is the serial run (`--jobs 1`): any other way of running the same
input must print the same bytes and exit with the same status. The cluster
itself is tests/test_cluster.py's (it needs the `dask` extra).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exprgraph.cli import app
from exprgraph.tasks import workers
from exprgraph.tasks.batch import Options, read_problems, run

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
runner = CliRunner()
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="needs the source tree")


def untimed(text: str) -> str:
    """A summary line without its time (`... in 0.12 s`)."""
    return re.sub(r" in \d+(\.\d+)? s\b", " in T s", text)


def same_run(first: object, second: object) -> None:
    """Two CliRunner results: the same stdout, stderr (but the time) and exit code."""
    assert second.exit_code == first.exit_code, second.output  # type: ignore[attr-defined]
    assert second.stdout == first.stdout  # type: ignore[attr-defined]
    assert untimed(second.stderr) == untimed(first.stderr)  # type: ignore[attr-defined]


def lines_file(tmp_path: Path, count: int, name: str = "many.expr") -> Path:
    """`count` programs from the corpus (repeated), a few broken ones among them."""
    corpus = [line for line in (SAMPLES / "corpus.expr").read_text().splitlines()
              if line and not line.startswith("#")]
    lines = [corpus[k % len(corpus)] for k in range(count)]
    for k in range(7, count, 97):
        lines[k] = f"x + * {k} where x=1"  # a parse error in its place
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_auto_on_a_big_batch_starts_the_pool_and_prints_the_same(tmp_path: Path,
                                                                  fmt: str) -> None:
    if (__import__("os").cpu_count() or 1) < 2:
        pytest.skip("auto uses one process on one core")
    path = lines_file(tmp_path, 1500)
    one = runner.invoke(app, ["batch", str(path), "--format", fmt, "--jobs", "1"])
    pools = workers.started["pool"]
    auto = runner.invoke(app, ["batch", str(path), "--format", fmt])  # auto is the default
    assert workers.started["pool"] == pools + 1  # 1,500 problems: the pool did start
    same_run(one, auto)
    assert one.exit_code == 1  # the broken lines


def test_auto_on_a_small_batch_stays_in_process(tmp_path: Path) -> None:
    path = lines_file(tmp_path, 40)
    one = runner.invoke(app, ["batch", str(path), "--format", "jsonl", "--jobs", "1"])
    pools = workers.started["pool"]
    auto = runner.invoke(app, ["batch", str(path), "--format", "jsonl", "--jobs", "auto"])
    assert workers.started["pool"] == pools
    same_run(one, auto)


def test_auto_starts_the_pool_once_the_work_takes_half_a_second(
        monkeypatch: pytest.MonkeyPatch) -> None:
    if (__import__("os").cpu_count() or 1) < 2:
        pytest.skip("auto uses one process on one core")
    # Few items, slow ones: not enough to look big, but half a second of work
    # done with more waiting starts the pool all the same.
    monkeypatch.setattr(workers, "SWITCH_SECONDS", 0.0)
    monkeypatch.setattr(workers, "POOL_WORTH", 0.0)
    work = workers.Work(workers.Task(_double), died=lambda item: None, serial_chunk=2,
                        chunk=2, big=1000)
    pools = workers.started["pool"]
    assert list(workers.ordered_map(work, range(10), jobs="auto")) == [2 * k for k in range(10)]
    assert workers.started["pool"] == pools + 1


def test_auto_keeps_cheap_items_in_process(tmp_path: Path) -> None:
    # Lines sharing a program cost about 30 µs each: a pool would only add
    # the pickling of each line and result, so auto stays in this process.
    lines = [f"x*sin(y) + y^2 where x={k % 7}, y={k % 5}" for k in range(3000)]
    path = tmp_path / "shared.expr"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one = runner.invoke(app, ["batch", str(path), "--format", "jsonl", "--jobs", "1"])
    pools = workers.started["pool"]
    auto = runner.invoke(app, ["batch", str(path), "--format", "jsonl"])
    assert workers.started["pool"] == pools
    same_run(one, auto)


def _double(chunk: list[int]) -> list[int]:
    return [2 * k for k in chunk]


def test_asides_keep_their_place_among_the_results() -> None:
    items = [workers.Aside("a"), 1, 2, workers.Aside("b"), workers.Aside("c"), 3,
             workers.Aside("d")]
    work = workers.Work(workers.Task(_double), died=lambda item: None, serial_chunk=5,
                        chunk=1)
    expected = [workers.Aside("a"), 2, 4, workers.Aside("b"), workers.Aside("c"), 6,
                workers.Aside("d")]
    for jobs in (1, 2):
        assert list(workers.ordered_map(work, items, jobs=jobs)) == expected


def test_the_serial_path_sends_chunks_to_solve_all(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # solve_all gets chunks (not problem by problem) also in process, so that
    # problems sharing a program are solved together there too.
    import exprgraph.tasks.batch as batch

    sizes: list[int] = []
    real = batch.solve_all

    def counting(chunk: list, options: Options) -> list[dict]:
        sizes.append(len(chunk))
        return real(chunk, options)

    monkeypatch.setattr(batch, "solve_all", counting)
    path = lines_file(tmp_path, 600)
    results = list(run(read_problems(path), Options(), jobs=1))
    assert len(results) == 600
    assert sizes == [256, 256, 88]


@pytest.mark.parametrize("command", ["batch", "check"])
@pytest.mark.parametrize("jobs", ["0", "-2", "x", "many", "1.5", ""])
def test_jobs_must_be_auto_or_a_positive_whole_number(command: str, jobs: str) -> None:
    target = str(SAMPLES / ("corpus.expr" if command == "batch" else "homework.toml"))
    result = runner.invoke(app, [command, target, "--jobs", jobs])
    assert result.exit_code == 2
    assert "--jobs" in result.stderr and "auto" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_check_with_two_jobs_equals_the_serial_check(tmp_path: Path, fmt: str) -> None:
    folder = check_folder(tmp_path)
    one = runner.invoke(app, ["check", str(folder), "--format", fmt, "--jobs", "1"])
    pools = workers.started["pool"]
    two = runner.invoke(app, ["check", str(folder), "--format", fmt, "--jobs", "2"])
    if (__import__("os").cpu_count() or 1) >= 2:
        assert workers.started["pool"] == pools + 1
    same_run(one, two)
    assert one.exit_code == 2  # the malformed file
    auto = runner.invoke(app, ["check", str(folder), "--format", fmt])
    same_run(one, auto)


def check_folder(tmp_path: Path, copies: int = 6) -> Path:
    """Problem sets to check: homework copies (some answers wrong), one without
    answers, one malformed, one with a malformed problem; and a line file."""
    folder = tmp_path / "sets"
    folder.mkdir()
    homework = (SAMPLES / "homework.toml").read_text(encoding="utf-8")
    for k in range(copies):
        (folder / f"hw{k:02}.toml").write_text(homework, encoding="utf-8")
    (folder / "plain.toml").write_text((SAMPLES / "tutorials.toml").read_text(
        encoding="utf-8"), encoding="utf-8")
    (folder / "broken.toml").write_text("[[problem]\nname = 1\n", encoding="utf-8")
    (folder / "mixed.toml").write_text(
        '[[problem]]\nname = "ok"\nprogram = "x^2"\nat = { x = 3 }\n'
        '[problem.answers]\n"d/dx" = 6\n\n'
        '[[problem]]\nname = "bad"\nprogram = "x^2"\nanswer = 3\n', encoding="utf-8")
    (folder / "lines.expr").write_text("x + 1 where x=2\n", encoding="utf-8")
    return folder


def test_check_command_line_answers_ignore_jobs_and_say_so() -> None:
    result = runner.invoke(app, ["check", "x^2", "--x", "3", "--answer", "d/dx=6",
                                 "--jobs", "2"])
    assert result.exit_code == 0
    assert "--jobs has no effect with --answer" in result.stderr


@pytest.mark.parametrize("command", ["batch", "check"])
def test_scheduler_with_explicit_jobs_is_refused(command: str) -> None:
    target = str(SAMPLES / ("corpus.expr" if command == "batch" else "homework.toml"))
    result = runner.invoke(app, [command, target, "--jobs", "2", "--scheduler", "local"])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "--jobs 2 and --scheduler local do not go together" in message
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["batch", "check"])
def test_without_distributed_the_scheduler_says_how_to_install_it(
        command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    target = str(SAMPLES / ("corpus.expr" if command == "batch" else "homework.toml"))
    result = runner.invoke(app, [command, target, "--scheduler", "tcp://127.0.0.1:8786"])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "distributed package is not installed" in message
    assert "pip install 'exprgraph[dask]'" in message
    assert result.stdout == ""
    json_run = runner.invoke(app, [command, target, "--scheduler", "local", "--format",
                                   "jsonl" if command == "batch" else "json"])
    assert json_run.exit_code == 2


def test_without_distributed_a_misspelt_local_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # "lcoal" reads as a host name; without Dask installed the user should still
    # learn that they probably meant `local`, not only how to install Dask.
    monkeypatch.setitem(sys.modules, "distributed", None)
    result = runner.invoke(app, ["batch", str(SAMPLES / "corpus.expr"), "--scheduler", "lcoal"])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "did you mean --scheduler local?" in message
    assert "pip install 'exprgraph[dask]'" in message


@pytest.mark.parametrize(("text", "url"), [
    ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    ("10.0.0.5:9000", "tcp://10.0.0.5:9000"),
    ("scheduler.example", "tcp://scheduler.example:8786"),
    ("tls://[::1]:8786", "tls://::1:8786"),
])
def test_scheduler_addresses_read_as_dask_reads_them(text: str, url: str) -> None:
    assert workers.parse_address(text).url == url


@pytest.mark.parametrize("text", ["http://host:8786", "tcp://:8786", "tcp://host:99999",
                                  "tcp://host:port", "local:0", "local:two"])
def test_bad_scheduler_addresses_are_said(text: str) -> None:
    with pytest.raises(workers.ClusterError) as caught:
        workers.parse_address(text)
    assert text in caught.value.message
    assert caught.value.hint


def test_local_scheduler_takes_a_worker_count() -> None:
    assert workers.parse_address("local") == workers.Address("local", local=True)
    assert workers.parse_address("LOCAL:3").workers == 3


def test_a_batch_without_scheduler_imports_no_dask(tmp_path: Path) -> None:
    from .test_startup import imported_by

    modules, done = imported_by(["batch", str(SAMPLES / "tutorials.toml"), "--format",
                                 "jsonl"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert not any(m.split(".")[0] in ("dask", "distributed") for m in modules)
