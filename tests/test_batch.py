"""`exprgraph batch` and the samples/ folder.

Every sample file is run. Expected numbers are the tutorials' hand-worked
values, finite differences (the corpus) or a sequential run (--jobs).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exprgraph.cli import app
from exprgraph.tasks.batch import Options, discover, read_problems, run, solve

from .oracles import central_difference, close

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
runner = CliRunner()
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="needs the source tree")


def results_of(*paths: Path | str, options: Options | None = None) -> list[dict]:
    options = options or Options()
    return [result for path in paths for result in run(read_problems(Path(path)), options)]


def by_source(results: list[dict]) -> dict[str, dict]:
    return {r["source"].split(":", 1)[1]: r for r in results}


def test_every_sample_file_is_known_to_this_test() -> None:
    files = {p.name for p in discover([SAMPLES]) if isinstance(p, Path)}
    assert files == {"tutorials.toml", "homework.toml", "corpus.expr", "broken.expr"}


def test_tutorial_examples_have_their_hand_worked_values() -> None:
    results = by_source(results_of(SAMPLES / "tutorials.toml"))
    assert results["sum-times"]["value"] == -12.0
    assert results["sum-times"]["gradient"] == {"x": -3.0, "y": -3.0, "z": 4.0}
    # ∂e/∂b is 15: b feeds both c and d, and the two paths add.
    assert results["shared-input"]["gradient"] == {"a": 7.0, "b": 15.0}
    assert results["difference-of-sums#1"]["gradient"] == {"a": 2.0, "b": 7.0, "c": -5.0}
    # Y = (a+b)(b-c) at a=-1, b=0.5, c=2: ∂Y/∂a = b - c, ∂Y/∂b = (b - c) + (a + b), ∂Y/∂c = -(a+b).
    assert results["difference-of-sums#2"]["gradient"] == {"a": -1.5, "b": -2.0, "c": 0.5}
    z = 0.5 * 2 - 1.5 * 1 + 0.1
    s = 1 / (1 + math.exp(-z))
    neuron = results["neuron"]
    assert close(neuron["value"], s)
    assert neuron["gradient"].keys() == {"w1", "w2", "b"}  # wrt limits what is reported
    assert close(neuron["gradient"]["w1"], s * (1 - s) * 2)
    # L = (wx + b - t)^2 at w=2, b=1, x=3, t=10: ∂L/∂w = 2(7 - 10)·3 = -18, ∂L/∂b = -6.
    assert results["squared-error"]["gradient"] == {"w": -18.0, "b": -6.0}


def test_homework_set_runs_in_batch() -> None:
    results = results_of(SAMPLES / "homework.toml")
    assert [r["source"].split(":")[1] for r in results] == ["tutorial", "sum-times", "neuron"]
    assert all("error" not in r for r in results)


def test_corpus_has_a_thousand_programs_whose_gradients_match_differences() -> None:
    problems = list(read_problems(SAMPLES / "corpus.expr"))
    assert len(problems) >= 1000
    results = results_of(SAMPLES / "corpus.expr")
    assert all("error" not in r for r in results)
    for problem, result in list(zip(problems, results, strict=True))[::50]:
        from exprgraph import compile as compile_program

        program = compile_program(problem.program)

        def f(at: dict, program=program) -> float:
            return program.evaluate(at).value

        for name, slope in result["gradient"].items():
            numeric = central_difference(f, result["inputs"], name)
            assert math.isclose(slope, numeric, rel_tol=1e-4, abs_tol=1e-4 * max(
                1.0, abs(result["value"]))), (problem.source, name)


def test_every_broken_line_fails_with_its_own_line_number() -> None:
    lines = (SAMPLES / "broken.expr").read_text(encoding="utf-8").splitlines()
    programs = [n for n, line in enumerate(lines, 1) if line.strip()
                and not line.startswith("#")]
    results = results_of(SAMPLES / "broken.expr")
    assert [int(r["source"].rsplit(":", 1)[1]) for r in results] == programs
    for number, result in zip(programs, results, strict=True):
        assert "error" in result
        assert result["error"].get("line", number) == number
    kinds = {r["error"]["kind"] for r in results}
    assert kinds == {"parse", "program", "value", "math"}


def test_cli_exit_status_and_summary() -> None:
    ok = runner.invoke(app, ["batch", str(SAMPLES / "tutorials.toml")])
    assert ok.exit_code == 0
    assert "6 problems, 6 ok, 0 failed" in ok.stderr
    failed = runner.invoke(app, ["batch", str(SAMPLES / "broken.expr")])
    assert failed.exit_code == 1


def test_unreadable_files_exit_2_after_reporting_the_rest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("title = \n", encoding="utf-8")
    result = runner.invoke(app, ["batch", str(bad), str(tmp_path / "missing.expr"),
                                 str(SAMPLES / "tutorials.toml"), "--format", "jsonl"])
    assert result.exit_code == 2
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["error"]["kind"] for r in lines[:2]] == ["file", "file"]
    assert len(lines) == 2 + 6
    assert "not valid TOML" in lines[0]["error"]["message"]


def test_jsonl_has_the_eval_keys_and_keeps_input_order() -> None:
    result = runner.invoke(app, ["batch", str(SAMPLES / "tutorials.toml"), "--format",
                                 "jsonl", "--derivatives", "--nodes"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source"].split(":")[1] for r in rows] == [
        "sum-times", "shared-input", "difference-of-sums#1", "difference-of-sums#2", "neuron",
        "squared-error"]
    assert set(rows[0]) == {"program", "output", "value", "inputs", "gradient", "derivatives",
                            "nodes", "edges", "warnings", "source"}
    assert rows[1]["derivatives"] == {"a": "b + 1", "b": "a + 2*b + 1"}


def test_two_jobs_give_the_same_results_as_one(tmp_path: Path) -> None:
    path = SAMPLES / "corpus.expr"
    one = runner.invoke(app, ["batch", str(path), "--format", "jsonl"])
    two = runner.invoke(app, ["batch", str(path), "--format", "jsonl", "--jobs", "2"])
    assert one.stdout == two.stdout
    assert len(one.stdout.splitlines()) >= 1000


def test_csv_is_long_form_with_one_header() -> None:
    result = runner.invoke(app, ["batch", str(SAMPLES / "tutorials.toml"),
                                 str(SAMPLES / "broken.expr"), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    sum_times = [r for r in rows if r["source"].endswith(":sum-times")]
    assert {r["input"]: float(r["partial"]) for r in sum_times} == {"x": -3, "y": -3, "z": 4}
    assert any(r["error"] for r in rows)
    assert result.stdout.count("source,program") == 1


def test_where_clause_on_the_command_line_too() -> None:
    result = runner.invoke(app, ["eval", "(x+y)*z where x=1, y=3, z=-3", "--format", "json"])
    assert json.loads(result.stdout)["gradient"] == {"x": -3.0, "y": -3.0, "z": 4.0}


def test_line_files_stream(tmp_path: Path) -> None:
    path = tmp_path / "grow.expr"
    path.write_text("x where x=1\n", encoding="utf-8")
    problems = read_problems(path)
    first = next(problems)
    with path.open("a", encoding="utf-8") as handle:  # written after reading began
        handle.write("2*x where x=2\n")
    assert [first.program, *(p.program for p in problems)] == ["x where x=1", "2*x where x=2"]


def test_invalid_utf8_is_one_failed_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.expr"
    path.write_bytes(b"x where x=1\n\xff\xfe where x=1\n3*x where x=2\n")
    results = results_of(path)
    assert [("error" in r) for r in results] == [False, True, False]
    assert "UTF-8" in results[1]["error"]["message"]


def test_toml_problem_errors_do_not_stop_the_file(tmp_path: Path) -> None:
    path = tmp_path / "set.toml"
    path.write_text('[[problem]]\nname = "a"\n\n[[problem]]\nname = "b"\nprogram = "x^2"\n'
                    'at = { x = "1/2" }\n\n[[problem]]\nprogram = "y"\nat = { y = true }\n',
                    encoding="utf-8")
    results = results_of(path)
    assert "no program" in results[0]["error"]["message"]
    assert results[1]["value"] == 0.25  # a value may be a constant expression
    assert "must be a number" in results[2]["error"]["message"]


def test_solve_reports_a_malformed_problem() -> None:
    problems = list(read_problems(SAMPLES / "tutorials.toml"))
    assert solve(problems[0])["value"] == -12.0


def test_failed_rows_keep_the_program_text(tmp_path: Path) -> None:
    path = tmp_path / "mixed.expr"
    path.write_text("log(x) where x=-1\nx + \n", encoding="utf-8")
    rows = [json.loads(line) for line in runner.invoke(
        app, ["batch", str(path), "--format", "jsonl"]).stdout.splitlines()]
    assert [r["program"] for r in rows] == ["log(x) where x=-1", "x + "]
    table = list(csv.DictReader(io.StringIO(runner.invoke(
        app, ["batch", str(path), "--format", "csv"]).stdout)))
    assert [r["program"] for r in table] == ["log(x) where x=-1", "x + "]


def test_summary_counts_in_words_and_an_empty_folder_is_said(tmp_path: Path) -> None:
    one = tmp_path / "one.expr"
    one.write_text("x where x=1\n", encoding="utf-8")
    assert "1 problem, 1 ok" in runner.invoke(app, ["batch", str(one)]).stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["batch", str(empty)])
    assert result.exit_code == 2
    assert f"no problem files found in {empty}" in " ".join(result.stderr.split())


# --- defects a new user reported ----------------------------------------------------


def _processes_with(word: str, where: str = "cmdline") -> list[int]:
    """Ids of live processes whose command line (or, with where="environ", whose
    environment) holds `word` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            held = (entry / where).read_bytes()
            state = (entry / "stat").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        # A zombie has ended; only its exit status waits to be collected.
        if word.encode() in held and state.rpartition(")")[2].split()[:1] != ["Z"]:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs POSIX /proc")
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_workers_end_when_a_closed_pipe_kills_the_batch(tmp_path: Path, fmt: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time
    import uuid

    corpus = tmp_path / f"corpus-{uuid.uuid4().hex}.expr"
    corpus.write_bytes((SAMPLES / "corpus.expr").read_bytes())
    first = tmp_path / "first.txt"
    # Output to a file: left-behind workers would hold a captured pipe open forever.
    command = (f"{sys.executable} -m exprgraph batch {corpus} --format {fmt} --jobs 2 "
               f"2>/dev/null | head -1 > {first}")
    subprocess.run(["bash", "-c", command], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   timeout=60)
    assert first.read_text(encoding="utf-8").strip()
    left: list[int] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = _processes_with(corpus.name)
        if not left:
            break
        time.sleep(0.2)
    for pid in left:  # do not leave them behind even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == []


def test_options_a_format_cannot_show_are_said_on_stderr() -> None:
    tutorials = str(SAMPLES / "tutorials.toml")
    cases = [(["--derivatives"], "--derivatives"), (["--nodes"], "--nodes"),
             (["--nodes", "--format", "csv"], "--nodes"),
             (["--max-rows", "2", "--format", "jsonl"], "--max-rows"),
             (["--max-rows", "2", "--format", "csv"], "--max-rows")]
    for extra, option in cases:
        result = runner.invoke(app, ["batch", tutorials, *extra])
        assert result.exit_code == 0, extra
        stderr = " ".join(result.stderr.split())
        assert f"warning: {option} has no effect" in stderr, (extra, stderr)
    # --max-rows with jsonl still prints every problem; the default says nothing.
    rows = runner.invoke(app, ["batch", tutorials, "--max-rows", "2", "--format", "jsonl"])
    assert len(rows.stdout.splitlines()) == 6
    quiet = runner.invoke(app, ["batch", tutorials, "--format", "jsonl"])
    assert "warning" not in quiet.stderr


def test_derivatives_are_applied_in_csv() -> None:
    result = runner.invoke(app, ["batch", str(SAMPLES / "tutorials.toml"), "--format", "csv",
                                 "--derivatives"])
    assert "warning" not in result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    shared = {r["input"]: r["derivative"] for r in rows if r["source"].endswith(":shared-input")}
    from exprgraph import compile as compile_program

    # e = (a + b)(b + 1): ∂e/∂a = b + 1 and ∂e/∂b = a + 2b + 1 by hand; compare at a point.
    for name, by_hand in (("a", lambda a, b: b + 1), ("b", lambda a, b: a + 2 * b + 1)):
        formula = compile_program(shared[name], inputs={"a", "b"})
        assert close(formula.evaluate({"a": 0.3, "b": -1.7}).value, by_hand(0.3, -1.7))


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "set.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_wrt_naming_no_input_fails_the_problem(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[[problem]]\nname = "w"\nprogram = "x^2 + y"\n'
                 'at = { x = 1, y = 2 }\nwrt = ["q", "x"]\n')
    [result] = results_of(path)
    message = result["error"]["message"]
    assert all(word in message for word in (str(path), "problem 'w'", "'q'", "x, y")), message
    assert "'x'" not in message.split("inputs")[0]  # x is an input: only q is named
    assert runner.invoke(app, ["batch", str(path)]).exit_code == 1


@pytest.mark.parametrize(("answers", "words"), [
    ('zz = 1\n', ["'zz'", "not a node"]),
])
def test_malformed_answers_fail_the_problem_in_batch(tmp_path: Path, answers: str,
                                                     words: list[str]) -> None:
    path = _toml(tmp_path, '[[problem]]\nname = "a"\nprogram = "x^2"\nat = { x = 1 }\n'
                 '[problem.answers]\n' + answers)
    [result] = results_of(path)
    text = result["error"]["message"] + " " + result["error"].get("hint", "")
    for word in [str(path), "problem 'a'", *words]:
        assert word in text, (word, text)


@pytest.mark.parametrize("odd", ['\n"d/dx" = [1, 2]', '\n"d/dx" = true'])
def test_well_formed_answers_are_not_judged_by_batch(tmp_path: Path, odd: str) -> None:
    # A wrong number, an answer that does not parse or of the wrong type are the
    # student's: check grades them (incorrect), batch evaluates the program.
    path = _toml(tmp_path, '[[problem]]\nname = "a"\nprogram = "y = x^2"\nat = { x = 3 }\n'
                 '[problem.answers]\n"dy/dx" = 5\ny = "x^^2"' + odd + '\n')
    [result] = results_of(path)
    assert result["gradient"] == {"x": 6.0}


@pytest.mark.parametrize("at", ["", "at = []\n", "at = { y = 2 }\n"])
def test_missing_values_in_a_toml_file_point_to_its_at_table(tmp_path: Path, at: str) -> None:
    path = _toml(tmp_path, '[[problem]]\nname = "p"\nprogram = "x^2 + y"\n' + at)
    [result] = results_of(path)
    error = result["error"]
    assert str(path) in error["message"] and "problem 'p'" in error["message"]
    missing = ["x", "y"] if "y =" not in at else ["x"]
    assert f"no value given for {', '.join(missing)}" in error["message"]
    assert "at = {" in error["hint"] and "where" not in error["hint"]
    assert "x = 1" in error["hint"]
    if "y = 2" in at:
        assert "y = 2" in error["hint"]  # the values already given are kept
    assert "line" not in error  # line 1 of the program string is not a line of the file


def test_positions_in_a_toml_program_say_they_are_in_the_program(tmp_path: Path) -> None:
    path = _toml(tmp_path, '\n\n[[problem]]\nname = "p"\nprogram = "x^^2"\nat = { x = 1 }\n')
    [result] = results_of(path)
    assert result["error"]["line"] == 1 and result["error"]["located_in"] == "program"
    shown = " ".join(runner.invoke(app, ["batch", str(path)]).stdout.split())
    assert "line 1, column 3 of the program" in shown


@pytest.mark.parametrize("fmt", ["table", "jsonl", "csv"])
def test_the_summary_is_on_stderr_for_every_format(fmt: str) -> None:
    result = runner.invoke(app, ["batch", str(SAMPLES / "tutorials.toml"),
                                 str(SAMPLES / "broken.expr"), "--format", fmt])
    assert result.exit_code == 1
    lines = (SAMPLES / "broken.expr").read_text(encoding="utf-8").splitlines()
    broken = sum(1 for line in lines if line.strip() and not line.startswith("#"))
    assert f"{6 + broken} problems, 6 ok, {broken} failed" in result.stderr
    if fmt == "jsonl":
        assert all(json.loads(line) for line in result.stdout.splitlines())


def test_file_faults_are_counted_in_words_that_fit(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    malformed = _toml(tmp_path, "title = \n")
    result = runner.invoke(app, ["batch", str(empty), str(malformed),
                                 str(tmp_path / "missing.expr")])
    assert result.exit_code == 2
    summary = " ".join(result.stderr.split()).rpartition(" s; ")[2]  # after "in T s; "
    assert "unreadable" not in summary
    for words in ("1 folder without problem files", "1 file malformed", "1 path not found"):
        assert words in summary, summary


@pytest.mark.parametrize("width", [60, 80])
def test_table_shows_names_and_numbers_whole(width: int) -> None:
    import os
    import re
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "exprgraph", "batch",
                           str(SAMPLES / "tutorials.toml"), "--max-rows", "4"],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "COLUMNS": str(width)})
    assert done.returncode == 0
    out = done.stdout
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= width
    for name in ("sum-times", "shared-input", "difference-of-sums#1", "difference-of-sums#2"):
        assert out.count(name) == 1, (name, out)
    # The hand-worked values and partials of the first four problems (see above).
    for number in ("-12", "56", "10", "0.75", "-3", "4", "7", "15", "2", "-5", "-1.5", "0.5"):
        assert re.search(rf"(?<![\w.-]){re.escape(number)}(?![\w.])", out), (number, out)


def _dies_on_marker(chunk: list, options: Options) -> list[dict]:
    """solve_all, except that a worker given the marker problem dies at once."""
    import os

    from exprgraph.tasks.batch import solve

    if any(problem.program.startswith("x + 999") for problem in chunk):
        os._exit(1)
    return [solve(problem, options) for problem in chunk]


@pytest.mark.skipif(__import__("os").cpu_count() == 1, reason="needs two cores for two jobs")
def test_a_dead_worker_fails_its_problems_only(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the dying stand-in reaches workers only when they are forked")
    lines = [f"x + {k} where x=1" for k in range(300)]
    lines[150] = "x + 999 where x=1"  # in the third chunk of 64
    path = tmp_path / "many.expr"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr("exprgraph.tasks.batch.solve_all", _dies_on_marker)
    results = list(run(read_problems(path), Options(), jobs=2))
    # Every line once, in order: the line that kills its worker fails, named; the
    # rest (its chunk's neighbours, the chunks in flight) are solved.
    assert [r["source"] for r in results] == [f"{path}:{k + 1}" for k in range(300)]
    failed = [k for k, r in enumerate(results) if "error" in r]
    assert failed == [150]
    assert all("worker process" in results[k]["error"]["message"] for k in failed)
    assert all(results[k]["value"] == 1 + k for k in range(300) if k not in failed)


def test_absurd_job_counts_are_capped_at_the_cores(tmp_path: Path) -> None:
    path = tmp_path / "two.expr"
    path.write_text("x + 1 where x=1\nx * 2 where x=3\n")
    result = runner.invoke(app, ["batch", str(path), "--format", "jsonl", "--jobs",
                                 "99999999999"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["value"] for line in result.stdout.splitlines()] == [2.0, 6.0]


def test_a_long_file_keeps_only_the_rows_its_table_shows(tmp_path: Path) -> None:
    # 1,200 failed and 300 good lines: the table lists the first 1,000 failures
    # and 50 successes, counting the rest, instead of holding every result.
    path = tmp_path / "long.expr"
    lines = [("x + " if i % 5 else "2*x where x=3") for i in range(1500)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["batch", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "1500 problems, 300 ok, 1200 failed" in result.stderr
    out = " ".join(result.stdout.split())
    assert out.count("│ error │") == 1000
    assert out.count("x=2") == 50  # ∂(2x)/∂x = 2, hand-worked
    assert "200 more failed problems not shown (the first 1,000 are)" in out
    assert "250 more successful problems not shown" in out


def test_a_file_table_holds_a_bounded_number_of_rows() -> None:
    from exprgraph.render.batch import FAILURE_ROWS, FileTable

    table = FileTable("f.expr", max_rows=50)
    for i in range(20_000):
        bad = {"source": f"f.expr:{i}", "program": "x +", "error": {"message": "bad"}}
        good = {"source": f"f.expr:{i}", "program": "x", "output": "out", "value": 1.0,
                "gradient": {"x": 1.0}}
        table.add(bad if i % 2 else good)
    assert len(table.rows) == 50 + FAILURE_ROWS
    assert len(table) == 20_000
    everything = FileTable("f.expr", max_rows=0)  # 0 shows all, as --max-rows says
    for i in range(3_000):
        everything.add({"source": f"f.expr:{i}", "error": {"message": "bad"}})
    assert len(everything.rows) == 3_000


def _refuse_to_list(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """os.scandir fails on `folder` as it does on a folder without read permission
    (the tests may run as root, for whom chmod 000 changes nothing)."""
    import os

    real = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(os.fsdecode(path)) == folder:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_subfolder_is_reported_not_skipped(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.expr").write_text("x where x=1\n", encoding="utf-8")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "b.expr").write_text("2*x where x=1\n", encoding="utf-8")
    (tmp_path / "z.expr").write_text("3*x where x=1\n", encoding="utf-8")
    _refuse_to_list(monkeypatch, locked)
    found = list(discover([tmp_path]))
    assert found[0] == tmp_path / "a.expr" and found[2] == tmp_path / "z.expr"
    assert str(locked) in found[1].message and "Permission denied" in found[1].message
    result = runner.invoke(app, ["batch", str(tmp_path), "--format", "jsonl"])
    assert result.exit_code == 2  # as for an unreadable file
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("value") for r in rows] == [1.0, None, 3.0]
    assert rows[1]["error"]["file"] == str(locked)
    assert "2 problems, 2 ok, 0 failed" in result.stderr
    assert "1 folder unreadable" in result.stderr
    table = runner.invoke(app, ["batch", str(tmp_path)])
    assert f"cannot read the folder {locked}" in " ".join(table.stderr.split())


def test_an_unreadable_folder_given_is_said_once(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _refuse_to_list(monkeypatch, tmp_path)
    result = runner.invoke(app, ["batch", str(tmp_path)])
    assert result.exit_code == 2
    said = " ".join(result.stderr.split())
    assert f"cannot read the folder {tmp_path}" in said
    assert "no problem files" not in said


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root reads every file whatever its mode")
def test_unreadable_files_and_folders_by_their_mode(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "b.expr").write_text("x where x=1\n", encoding="utf-8")
    secret = tmp_path / "secret.expr"
    secret.write_text("x where x=1\n", encoding="utf-8")
    secret.chmod(0)
    locked.chmod(0)
    try:
        result = runner.invoke(app, ["batch", str(tmp_path)])
    finally:
        locked.chmod(0o755)
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2
    assert f"cannot read the folder {locked}" in said and f"cannot read {secret}" in said


def test_the_program_limit_fits_in_memory_and_is_documented(tmp_path: Path) -> None:
    # 10,000,000 characters cost 3.2 GB in batch and 7.9 GB in eval --format json
    # (issue 12); the limit is 2,000,000 (benchmarks/batch.py --limits measures it).
    import exprgraph
    from exprgraph.core.errors import ParseError

    with pytest.raises(ParseError, match="2,000,000"):
        exprgraph.compile("x" + " " * 2_000_000)
    path = tmp_path / "long.expr"
    path.write_text("x where x=1\n" + "1+" * 1_000_001 + "1\n2*x where x=1\n", encoding="utf-8")
    results = results_of(path)
    assert [r.get("value") for r in results] == [1.0, None, 2.0]
    assert "longer than 2,000,000 characters" in results[1]["error"]["message"]
    readme = (SAMPLES.parent / "README.md").read_text(encoding="utf-8")
    assert "One program may be up to 2,000,000 characters" in " ".join(readme.split())


def test_a_dangling_link_in_a_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.expr").write_text("x where x=1\n", encoding="utf-8")
    (tmp_path / "gone.expr").symlink_to(tmp_path / "nowhere.expr")
    result = runner.invoke(app, ["batch", str(tmp_path), "--format", "jsonl"])
    assert result.exit_code == 2
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["value"] == 1.0
    assert rows[1]["error"]["file"] == str(tmp_path / "gone.expr")


@pytest.mark.parametrize(("lines", "hidden"), [(2, "1 more successful problem not shown"),
                                               (3, "2 more successful problems not shown")])
def test_the_hidden_rows_count_reads_as_english(tmp_path: Path, lines: int, hidden: str) -> None:
    # "--max-rows 1" said "1 more rows not shown".
    path = tmp_path / "few.expr"
    path.write_text("".join(f"x + {k} where x = 1\n" for k in range(lines)), encoding="utf-8")
    result = CliRunner().invoke(app, ["batch", str(path), "--max-rows", "1"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert hidden in " ".join(result.output.split())


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs a pseudo-terminal")
def test_results_go_to_stdout_while_the_progress_counter_draws_on_a_terminal(
        tmp_path: Path) -> None:
    """With stderr a terminal, a batch longer than half a second draws a
    progress counter there; the CSV lines must still all reach stdout (Rich's
    Progress took over sys.stdout and sent them to the terminal)."""
    import os
    import subprocess
    import sys
    import threading

    count = 6000
    path = tmp_path / "many.expr"
    path.write_text("".join(f"x*y + sin(x) where x={k % 7}, y=2\n" for k in range(count)),
                    encoding="utf-8")
    master, slave = os.openpty()
    drawn: list[bytes] = []

    def drain() -> None:  # the terminal must be read, or a full one blocks the child
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            drawn.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "80"}
    env.pop("NO_COLOR", None)
    try:
        done = subprocess.run([sys.executable, "-m", "exprgraph", "batch", str(path),
                               "--format", "csv"], stdout=subprocess.PIPE, stderr=slave,
                              stdin=subprocess.DEVNULL, env=env, timeout=300, check=False)
    finally:
        os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    rows = list(csv.reader(io.StringIO(done.stdout.decode("utf-8"))))
    assert done.returncode == 0
    assert rows[0][0] == "source"
    assert len({row[0] for row in rows[1:]}) == count  # every problem's rows
    assert b"problems" in b"".join(drawn)  # the summary (and counter) went to the terminal
