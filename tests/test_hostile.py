"""Hostile and bad input: clear errors or right answers, never a crash.

Every entry point (compile, eval, diff, simplify, check, batch, graph) must
answer arbitrary text with a result or one of exprgraph's own errors: no
traceback, no RecursionError, no hang, and never `eval`/`exec` of user text.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import math
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app
from exprgraph.core.errors import ExprGraphError, MathError, ParseError, ProgramError
from exprgraph.syntax.parse import MAX_PROGRAM_CHARS

runner = CliRunner()
N = 100_000


@pytest.fixture
def no_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything calls eval or exec while a test parses.

    Parsing is warmed up first: importing modules runs their code through
    exec, which is Python's business, not the parser's."""
    for warm_up in ("x", "'", "f(x)"):
        with contextlib.suppress(ExprGraphError):
            exprgraph.compile(warm_up)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec was called")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)


@pytest.mark.parametrize(("text", "column"), [
    ("__import__('os').system('id')", 12),
    ("().__class__.__bases__", 2),
    ("x.__class__", 2),
    ("exec('1')", 6),
    ("lambda: 1", 9),  # "lambda:" starts a declaration; the 1 is where it fails
])
def test_code_injection_is_a_parse_error_at_its_column(no_eval: None, text: str,
                                                       column: int) -> None:
    with pytest.raises(ParseError) as caught:
        exprgraph.compile(text)
    assert caught.value.column == column


def _value_and_slope(text: str, x: float = 0.5) -> tuple[float, float]:
    result = exprgraph.compile(text).evaluate(x=x)
    return result.value, result.gradient["x"]


def test_deep_and_long_inputs_work_at_a_hundred_thousand() -> None:
    assert _value_and_slope("(1+" * N + "x" + ")" * N) == (N + 0.5, 1.0)
    assert _value_and_slope("x" + "+1" * N) == (N + 0.5, 1.0)
    assert _value_and_slope("-" * N + "x") == (0.5, 1.0)  # N is even
    assert _value_and_slope("-" * (N + 1) + "x") == (-0.5, -1.0)
    value, slope = 0.5, 1.0
    for _ in range(N):
        slope *= math.cos(value)
        value = math.sin(value)
    got = _value_and_slope("sin(" * N + "x" + ")" * N)
    assert math.isclose(got[0], value, rel_tol=1e-12)
    assert math.isclose(got[1], slope, rel_tol=1e-9)


def test_power_tower_overflows_at_once() -> None:
    with pytest.raises(MathError, match="too large"):
        exprgraph.compile("2^" * N + "x").evaluate(x=2)


def test_a_one_megabyte_expression() -> None:
    text = " + ".join(["x*1.25"] * 120_000)
    assert len(text) > 1_000_000
    result = exprgraph.compile(text).evaluate(x=2)
    assert result.value == 2 * 1.25 * 120_000 and result.gradient == {"x": 1.25 * 120_000}


def test_deep_inputs_need_no_recursion() -> None:
    limit = sys.getrecursionlimit()
    depth = 3000
    program = exprgraph.compile("sin(" * depth + "x*0" + ")" * depth + " + sin("
                                + "(" * depth + "x" + ")" * depth + ")")
    sys.setrecursionlimit(400)  # far below the nesting depth
    try:
        result = program.evaluate(x=0.1)
        text = program.derivative("x")
        program.diff(order=2)
    finally:
        sys.setrecursionlimit(limit)
    assert math.isclose(result.gradient["x"], math.cos(0.1), rel_tol=1e-12)
    assert text == "cos(x)"


@pytest.mark.parametrize(("text", "words"), [
    ("9^9^9^9", "too large"), ("10^10^10", "too large"), ("exp(1000)", "too large"),
    ("1e308*10", "too large"), ("1/0", "divisor"), ("0/0", "divisor"),
    ("0^-1", "negative power"), ("log(0)", "> 0"), ("log(-1)", "> 0"),
    ("sqrt(-4)", ">= 0"), ("asin(2)", "between -1 and 1"), ("(-8)^(1/3)", "integer power"),
])
def test_huge_numbers_and_domains_are_math_errors(text: str, words: str) -> None:
    with pytest.raises(MathError) as caught:
        exprgraph.compile(text).evaluate()
    assert words in caught.value.message


@pytest.mark.parametrize(("text", "error", "words"), [
    ("", ParseError, "empty"), ("   \n\t", ParseError, "empty"), ("x++", ParseError, "end"),
    ("2**", ParseError, "end"), ("x = ", ParseError, "end"), ("((x)", ParseError, "')'"),
    ("x))", ParseError, "unexpected ')'"), ("a\x00b", ParseError, "'\\x00'"),
    ("x − 1", ParseError, "type '-'"), ("x × 2", ParseError, "type '*'"),
    ("2 ÷ x", ParseError, "type '/'"), ("x\udcff", ParseError, "not UTF-8"),
    ("f(x) = 2", ParseError, "functions cannot be defined"),
    ("y = 2; y(x)", ProgramError, "not a function"),
])
def test_junk_gets_a_clear_error(text: str, error: type, words: str) -> None:
    with pytest.raises(error) as caught:
        exprgraph.compile(text).evaluate(x=1)
    assert words in caught.value.message + (caught.value.hint or "")


def test_an_absurdly_long_name_is_just_a_name() -> None:
    name = "v" * 200_000
    assert exprgraph.compile(f"{name}*2").evaluate({name: 3.0}).gradient == {name: 2.0}


def test_programs_longer_than_the_limit_are_refused() -> None:
    with pytest.raises(ParseError, match="limit"):
        exprgraph.compile("x" + " " * MAX_PROGRAM_CHARS)


def test_a_line_longer_than_the_limit_is_one_failed_problem(tmp_path: Path) -> None:
    path = tmp_path / "long.expr"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("x where x=1\n")
        handle.write("1" + "+1" * (MAX_PROGRAM_CHARS // 2 + 10) + "\n")
        handle.write("2*x where x=1\n")
    from exprgraph.tasks.batch import read_problems, run

    results = list(run(read_problems(path)))
    assert [("error" in r) for r in results] == [False, True, False]
    assert "longer than" in results[1]["error"]["message"]


# --- every entry point, arbitrary text -------------------------------------------

TOKENS = ["x", "y", "e", "pi", "sin", "(", ")", "+", "-", "*", "/", "^", "**", "=", ";",
          "\n", ",", "2", ".5", "1e308", "where", "max", "#", " ", "0", "log", "sqrt", "−"]
junk = st.one_of(st.text(max_size=40),
                 st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk)
def test_the_api_raises_only_its_own_errors(text: str) -> None:
    try:
        program = exprgraph.compile(text)
        program.evaluate(dict.fromkeys(program.inputs, 0.7))
        program.derivatives()
        program.diff(kind="gradient")
    except ExprGraphError:
        pass


def _clean(result: object) -> None:
    exit_code = result.exit_code  # type: ignore[attr-defined]
    assert exit_code in (0, 1, 2), result.output  # type: ignore[attr-defined]
    exception = result.exception  # type: ignore[attr-defined]
    assert exception is None or isinstance(exception, SystemExit), repr(exception)


@contextlib.contextmanager
def _scratch_folder() -> Iterator[Path]:
    """Run the body in a new empty working folder, removed afterwards.

    Junk can read as an option: "-logsqrt^**" is `graph`'s unknown `-l` (left
    as the program) and `-o gsqrt^**`, so the command writes a file named
    gsqrt^** into the working folder, which would be the repository."""
    home = Path.cwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(home)


def _run_every_command(text: str, output_format: str) -> None:
    with _scratch_folder():
        _clean(runner.invoke(app, ["eval", text, "--x", "0.7", "--y", "2", "--format",
                                   output_format]))
        _clean(runner.invoke(app, ["diff", text, "--format", "text"]))
        _clean(runner.invoke(app, ["simplify", text, "--format", "text"]))
        _clean(runner.invoke(app, ["graph", text, "--format", "dot"]))
        _clean(runner.invoke(app, ["check", "x^2", "--at", "x=1", "--answer",
                                   f"d/dx={text}"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk, st.sampled_from(["json", "table"]))
def test_the_commands_never_show_a_traceback(text: str, output_format: str) -> None:
    _run_every_command(text, output_format)


@pytest.mark.parametrize("text", ["-logsqrt^**", "-lo-", "-xo.", "x -o y"])
def test_junk_read_as_an_output_option_writes_nothing_here(text: str) -> None:
    here = Path.cwd()
    before = sorted(here.iterdir())
    _run_every_command(text, "table")
    assert sorted(here.iterdir()) == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(junk, max_size=6), st.binary(max_size=30))
def test_batch_never_shows_a_traceback(lines: list[str], raw: bytes) -> None:
    with _scratch_folder() as folder:
        path = folder / "junk.expr"
        path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n" + raw)
        toml = folder / "junk.toml"
        toml.write_bytes(raw)
        _clean(runner.invoke(app, ["batch", str(path), str(toml), "--format", "jsonl"]))
        _clean(runner.invoke(app, ["check", str(toml)]))


# Rich markup in user text: answers, keys, problem names, file paths, CSV
# columns and option values are shown literally, never read as markup (where
# `[/]` raised MarkupError and `[red]HELLO` showed as HELLO).

MARKUP = ("[/]", "[red]x", "[bold]")


def _literal(result: object, *texts: str) -> str:
    _clean(result)
    output = result.output  # type: ignore[attr-defined]
    assert "Traceback" not in output and "MarkupError" not in output, output
    for text in texts:
        assert text in output, (text, output)
    return output


@pytest.mark.parametrize("markup", MARKUP)
def test_markup_in_check_answers_keys_names_and_paths_is_literal(markup: str) -> None:
    with _scratch_folder() as folder:
        path = folder / f"set{markup.replace('/', '')}.toml"
        path.write_text(f'[[problem]]\nname = "p{markup}"\nprogram = "x^2"\nat = {{x = 1}}\n'
                        f'[problem.answers]\n"d/dx" = "{markup}"\n"{markup}" = "2"\n'
                        '[[problem]]\nname = "later"\nprogram = "x^3"\nat = {x = 1}\n'
                        '[problem.answers]\n"d/dx" = "3"\n', encoding="utf-8")
        output = _literal(runner.invoke(app, ["check", str(path)]), f"p{markup}", "later",
                          str(path))
        # The answer and the key as given, both in the table and the notes.
        assert output.count(markup) >= 3, output
        _literal(runner.invoke(app, ["check", str(path), "--format", "json"]), "later")
        missing = folder / f"no{markup.replace('/', '')}.toml"
        _literal(runner.invoke(app, ["check", str(missing)]), str(missing))
        _literal(runner.invoke(app, ["batch", str(missing)]), str(missing))


def test_a_path_with_a_closing_tag_in_it_is_literal() -> None:
    with _scratch_folder() as folder:
        (folder / "a[").mkdir()
        path = folder / "a[" / "]b.toml"
        path.write_text('[[problem]]\nname = "n[/]"\nprogram = "x^2"\nat = {x = 1}\n'
                        '[problem.answers]\n"d/dx" = "[/]"\n', encoding="utf-8")
        _literal(runner.invoke(app, ["check", str(path)]), "n[/]", str(path))
        _literal(runner.invoke(app, ["batch", str(path)]), "n[/]", str(path))
        expr = folder / "a[" / "]c.expr"
        expr.write_text("x^2 where x=3\nx+ where x=1\n", encoding="utf-8")
        _literal(runner.invoke(app, ["batch", str(expr)]), str(expr))
        _literal(runner.invoke(app, ["batch", str(folder)]), str(expr), str(path))


@pytest.mark.parametrize("markup", MARKUP)
def test_markup_in_answers_and_option_values_is_literal(markup: str) -> None:
    with _scratch_folder() as folder:
        _literal(runner.invoke(app, ["check", "x^2", "--x", "1", "--answer",
                                     f"dg/dz={markup}HELLO"]), f"{markup}HELLO")
        _literal(runner.invoke(app, ["check", "x^2", "--x", "1", "--answer",
                                     f"d/dx={markup}HELLO"]), f"{markup}HELLO")
        _literal(runner.invoke(app, ["check", "x^2", "--x", "1", "--answer",
                                     f"{markup}=2"]), markup)
        _literal(runner.invoke(app, ["eval", "x^2", "--x", markup]), markup)
        _literal(runner.invoke(app, ["eval", "x^2", "--x", "1", "--format", markup]), markup)
        _literal(runner.invoke(app, ["batch", "--max-rows", markup, "x"]), markup)
        _literal(runner.invoke(app, ["diff", "x^2", "--wrt", markup]), markup)
        _literal(runner.invoke(app, ["diff", "x^2", "--output", markup]), markup)
        _literal(runner.invoke(app, ["simplify", "x^2", "--output", markup]), markup)
        _literal(runner.invoke(app, ["descend", "x^2", "--x", "1", "--until", markup]),
                 markup)
        _literal(runner.invoke(app, ["descend", "x^2", "--x", "1", "--params", markup]),
                 markup)
        plot = f"nowhere{markup.replace('/', '')}/loss.svg"
        _literal(runner.invoke(app, ["descend", "x^2", "--x", "1", "--plot", plot]), plot)
        _literal(runner.invoke(app, ["graph", "x^2", "-o", plot]), plot)
        csv = folder / f"d{markup.replace('/', '')}.csv"
        csv.write_text(f"{markup},y\n1,2\n", encoding="utf-8")
        _literal(runner.invoke(app, ["fit", "(w*x - y)^2", "--data", str(csv), "--params",
                                     "w=0"]), f"columns: {markup}, y")
        _literal(runner.invoke(app, ["fit", "(w*x - y)^2", "--data", str(csv) + "-none",
                                     "--params", "w=0"]), str(csv) + "-none")
        _literal(runner.invoke(app, ["fit", "(w*x - y)^2", "--data", str(csv), "--params",
                                     "w=0", "--loss", "mse", "--target", markup]), markup)


# Output failures: a full disk or device behind stdout or stderr is a clear
# error and exit status 2, never a traceback; a plot that cannot be written
# loses none of the results.

FULL = Path("/dev/full")
needs_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full here")
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
EVERY_COMMAND = [
    ["eval", "x^2", "--x", "3"],
    ["eval", "x^2", "--x", "3", "--format", "json"],
    ["eval", "x^2", "--x", "3", "--steps"],
    ["diff", "x^3"],
    ["diff", "x^3", "--format", "text"],
    ["simplify", "x + x"],
    ["graph", "x^2"],
    ["graph", "x^2", "--format", "dot"],
    ["check", "x^2", "--x", "1", "--answer", "d/dx=2"],
    ["check", str(SAMPLES / "homework.toml")],
    ["batch", str(SAMPLES / "corpus.expr")],
    ["batch", str(SAMPLES / "corpus.expr"), "--format", "jsonl"],
    ["batch", str(SAMPLES / "corpus.expr"), "--format", "csv"],
    ["descend", "x^2", "--x", "1", "--steps", "5"],
    ["fit", "(w*x - y)^2", "--data", str(SAMPLES / "fit" / "line.csv"), "--params", "w=0",
     "--epochs", "3", "--format", "json"],
]


def _run_tool(arguments: list[str], stdout: Any, stderr: Any) -> Any:
    import subprocess

    return subprocess.run([sys.executable, "-m", "exprgraph", *arguments],
                          stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, check=False,
                          timeout=300)


@needs_full
@pytest.mark.parametrize("arguments", EVERY_COMMAND,
                         ids=lambda a: " ".join(Path(t).name if "/" in t else t for t in a[:3]))
def test_a_full_stdout_is_a_clear_error(arguments: list[str]) -> None:
    import subprocess

    with FULL.open("w") as full:
        done = _run_tool(arguments, full, subprocess.PIPE)
    message = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, message
    assert "cannot write the output: No space left on device" in message, message
    assert "Traceback" not in message and "Errno" not in message, message


@needs_full
@pytest.mark.parametrize("arguments", [["eval", "x+"], ["eval", "x^2", "--x", "3", "--y", "1"],
                                       ["check", "no-such-file.toml"],
                                       ["batch", str(SAMPLES / "broken.expr")]])
def test_a_full_stderr_exits_two(arguments: list[str]) -> None:
    import subprocess

    with FULL.open("w") as full:
        done = _run_tool(arguments, subprocess.PIPE, full)
    assert done.returncode == 2
    assert b"Traceback" not in done.stdout


def _run_with_closed(stream: str, arguments: list[str]) -> Any:
    """Run the tool from a shell with standard output (`>&-`) or error (`2>&-`)
    closed, so Python starts with sys.stdout or sys.stderr None."""
    import subprocess

    closing = {"stdout": ">&-", "stderr": "2>&-"}[stream]
    return subprocess.run(["sh", "-c", f'"$0" -m exprgraph "$@" {closing}', sys.executable,
                           *arguments], stdin=subprocess.DEVNULL, capture_output=True,
                          check=False, timeout=300)


@pytest.mark.parametrize("arguments", [*EVERY_COMMAND, ["--help"], ["eval", "--help"]],
                         ids=lambda a: " ".join(Path(t).name if "/" in t else t for t in a[:3]))
def test_a_closed_stdout_is_a_clear_error(arguments: list[str]) -> None:
    done = _run_with_closed("stdout", arguments)
    message = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, message
    assert message.startswith("error: cannot write the output: standard output is closed"), \
        message
    assert "Traceback" not in message, message


@pytest.mark.parametrize(("arguments", "code"), [
    (["eval", "x^2", "--x", "3"], 0), (["eval", "x+"], 2), (["eval", "log(x)", "--x", "-1"], 1),
    (["batch", str(SAMPLES / "broken.expr")], 1), (["--help"], 0)])
def test_a_closed_stderr_keeps_the_runs_exit_status(arguments: list[str], code: int) -> None:
    done = _run_with_closed("stderr", arguments)
    assert done.returncode == code, done.stdout
    assert b"Traceback" not in done.stdout


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc here")
@pytest.mark.parametrize("output_format", ["table", "json"])
def test_a_plot_that_cannot_be_written_is_refused_before_training(output_format: str) -> None:
    with _scratch_folder():
        for plot in ("/proc/nope.svg", "/proc/self/nope.svg"):
            result = runner.invoke(app, ["descend", "x^2", "--x", "1", "--steps", "3",
                                         "--plot", plot, "--format", output_format])
            _clean(result)
            assert result.exit_code == 2, result.output
            assert f"cannot write {plot}" in result.output, result.output
            # Refused up front: no training was run, so there is nothing to lose.
            assert "final" not in result.output and "trajectory" not in result.output


def test_a_plot_lost_after_training_keeps_the_json_results(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder becomes unwritable while training runs: the JSON trajectory is
    still printed (one object), with the plot's error in it, and exit 2."""
    import json

    from exprgraph.core.errors import ValueInputError
    from exprgraph.render import train as show

    def fail(*args: object) -> None:
        raise ValueInputError("cannot write loss.svg: No space left on device")

    monkeypatch.setattr(show, "write_plot", fail)
    with _scratch_folder():
        result = runner.invoke(app, ["descend", "(x-3)^2", "--x", "0", "--steps", "50",
                                     "--plot", "loss.svg", "--format", "json"])
    _clean(result)
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert "No space left" in data["plot_error"]["message"]
    # lr 0.1 on (x-3)^2: x_k = 3 - 3*0.8^k, so after 50 steps the hand-worked value.
    assert data["trajectory"][-1]["step"] == 50
    assert math.isclose(data["final"]["x"], 3 - 3 * 0.8 ** 50, rel_tol=1e-9), data["final"]


def _exprgraph(*args: str, stdin: Any = None, data: bytes | None = None,
               env: dict[str, str] | None = None) -> Any:
    import subprocess

    return subprocess.run([sys.executable, "-m", "exprgraph", *args], input=data, stdin=stdin,
                          capture_output=True, env={**os.environ, **(env or {})}, check=False)


@pytest.mark.parametrize("locale", ["C.UTF-8", "en_US.UTF-8", "C"])
def test_stdin_is_read_as_utf8_bytes_whatever_the_locale(locale: str) -> None:
    done = _exprgraph("eval", "-", "--x", "1", data=b"x + \xff",
                      env={"LC_ALL": locale, "PYTHONIOENCODING": ""})
    assert done.returncode == 2
    assert b"0xFF" in done.stderr and b"Traceback" not in done.stderr
    done = _exprgraph("eval", "-", "--x", "2", "--format", "json", data="x*3 \u2003\n".encode(),
                      env={"LC_ALL": locale})
    assert b"Traceback" not in done.stderr


def test_a_closed_stdin_is_a_clear_error() -> None:
    import subprocess

    done = subprocess.run([sys.executable, "-c", "import os, sys; os.close(0); sys.stdin = None; "
                           "sys.argv = ['exprgraph', 'eval', '-', '--x', '1']; "
                           "from exprgraph.cli import run; run()"],
                          capture_output=True, check=False)
    assert done.returncode == 2
    assert b"standard input is closed" in done.stderr and b"Traceback" not in done.stderr


def test_an_error_in_a_huge_line_shows_a_window_around_it() -> None:
    program = "x + " + "q" * 200_000 + " + )"
    result = runner.invoke(app, ["eval", program, "--x", "1"])
    assert result.exit_code == 2
    assert len(result.stderr) < 2_000  # not the 200 KB line
    caret_line = [line for line in result.stderr.splitlines() if line.strip().endswith("^")]
    assert caret_line  # the caret still points into what is shown


def test_a_tolerance_of_one_is_refused_on_the_command_line() -> None:
    # A relative tolerance of 1 made an answer of 0 correct for any right answer.
    result = runner.invoke(app, ["check", "x^2", "--x", "1", "--answer", "d/dx=0",
                                 "--tolerance", "1"])
    assert result.exit_code == 2


# Line breaks: only "\n" (or "\r\n") ends a line, for the grammar and for every
# message. Characters that Python's str.splitlines also splits at (vertical tab,
# NEL, the Unicode line and paragraph separators, file/group/record separators)
# are refused where they stand, so no message can count lines differently.

@pytest.mark.parametrize("char", ["\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_a_foreign_line_break_is_refused_at_its_position(char: str) -> None:
    # In a comment the grammar would take it; a later message would then count
    # one line too many (the text's line 3 is "b + log(x) ...", not "b = a + 2").
    program = f"a = 1 # note{char}more\nb = a + 2\nb + log(x) where x=-1"
    with pytest.raises(ParseError) as caught:
        exprgraph.compile(program)
    error = caught.value
    assert (error.line, error.column) == (1, 13)  # hand-counted: "a = 1 # note" is 12 long
    assert error.source_line is not None and error.source_line.startswith("a = 1 # note")
    assert f"U+{ord(char):04X}" in error.message
    # Outside a comment too, and on a later line.
    with pytest.raises(ParseError) as caught:
        exprgraph.compile(f"a = 1\nb = a +{char} 2")
    assert (caught.value.line, caught.value.column) == (2, 8)


def test_a_foreign_line_break_from_stdin_is_a_clear_error() -> None:
    done = _exprgraph("eval", "-", data="a = 1 # \u0085\nlog(a - 2)".encode())
    assert done.returncode == 2
    assert b"U+0085" in done.stderr and b"Traceback" not in done.stderr
    assert b"1 | a = 1 #" in done.stderr


# Numbers below the smallest float read as 0: said, not silent.

def test_an_underflowing_number_in_a_program_is_a_warning() -> None:
    program = exprgraph.compile("y = 2 + 1e-400*x\ny + 3e-5000 where x=1.5e-999")
    found = [(w.line, w.column, w.message) for w in program.graph.warnings
             if w.kind == "underflow"]
    assert found == [
        (1, 9, "1e-400 is below the smallest float and reads as 0"),
        (2, 5, "3e-5000 is below the smallest float and reads as 0"),
        (2, 21, "1.5e-999 is below the smallest float and reads as 0"),
    ]
    # Zeros written as zeros, and tiny numbers that are still floats, are fine.
    quiet = exprgraph.compile("0e-400 + 0.000e5 + 0 + 5e-324 + 2.2e-308*x where x=0.0e-999")
    assert not [w for w in quiet.graph.warnings if w.kind == "underflow"]


def test_underflow_warnings_reach_the_user() -> None:
    result = runner.invoke(app, ["eval", "x + 1e-400", "--x", "1e-500"])
    assert result.exit_code == 0, result.output
    assert "warning: 1e-400 is below the smallest float and reads as 0" in result.stderr
    assert "1 | x + 1e-400" in result.stderr
    assert "--x 1e-500: 1e-500 is below the smallest float and reads as 0" in result.stderr
    import json

    result = runner.invoke(app, ["eval", "x + 1e-400", "--x", "1", "--format", "json"])
    data = json.loads(result.stdout)
    assert len(data["warnings"]) == 1, data
    assert data["warnings"][0].startswith("1e-400 is below the smallest float and reads as 0")


# An output encoding without the symbols (Latin-1, cp1252, ASCII): every
# command prints, with ASCII boxes and stand-ins (∂ as d), and exits as it
# does under UTF-8. No Latin-1 locale may be installed, so the encoding is set
# through PYTHONIOENCODING, which is what Python takes the locale's for.

OUTPUT_CASES = [
    *EVERY_COMMAND,
    ["eval", "x*y", "--x", "2", "--y", "3", "--steps"],
    ["diff", "x^3*y", "--hessian"],
    ["diff", "x^3", "--format", "latex"],
    ["simplify", "x + x", "--format", "text"],
    ["graph", "x^2", "--format", "mermaid"],
    ["check", "x^2", "--x", "1", "--answer", "d/dx=3"],
    ["check", str(SAMPLES / "homework.toml"), "--format", "json"],
    ["batch", str(SAMPLES / "broken.expr")],
    ["descend", "x^2", "--x", "1", "--steps", "5", "--format", "json"],
    ["fit", "(w*x - y)^2", "--data", str(SAMPLES / "fit" / "line.csv"), "--params", "w=0",
     "--epochs", "3"],
    ["eval", "x^0.001", "--x", "0"],
    ["eval", "\u2202x + \u03b8"],
    ["eval", "1/2x", "--x", "1", "--y", "2"],
    ["--help"],
    ["check", "--help"],
]


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
@pytest.mark.parametrize("arguments", OUTPUT_CASES,
                         ids=lambda a: " ".join(Path(t).name if "/" in t else t for t in a[:3]))
def test_every_command_writes_to_an_output_without_the_symbols(arguments: list[str],
                                                               encoding: str) -> None:
    import json

    utf8 = _exprgraph(*arguments, env={"PYTHONIOENCODING": "utf-8", "COLUMNS": "100"})
    done = _exprgraph(*arguments, env={"PYTHONIOENCODING": encoding, "COLUMNS": "100"})
    stdout = done.stdout.decode(encoding)  # raises if a byte is not of the encoding
    stderr = done.stderr.decode(encoding)
    assert "Traceback" not in stderr and "UnicodeEncodeError" not in stderr, stderr
    assert done.returncode == utf8.returncode, stderr
    assert bool(stdout.strip()) == bool(utf8.stdout.strip())
    if encoding == "ascii":
        assert "\u2202" not in stdout and "\u2502" not in stdout
    if "json" in arguments and stdout.strip():
        # The same data: JSON escapes what the output lacks instead of replacing it.
        lines = [json.loads(line) for line in stdout.splitlines()]
        assert lines == [json.loads(line) for line in utf8.stdout.decode("utf-8").splitlines()]


def test_stand_ins_read_as_the_symbols_and_tables_stay_aligned() -> None:
    done = _exprgraph("eval", "sin(x)*y", "--x", "3", "--y", "2",
                      env={"PYTHONIOENCODING": "ascii", "COLUMNS": "120"})
    text = done.stdout.decode("ascii")
    assert "| x -> t1   | dt1/dx = cos(x) |" in text, text
    assert "dout/dnode" in text and "+-" in text
    # Every line of a table is as wide as its top border.
    for block in text.split("\n+")[1:]:
        lines = ("+" + block).splitlines()
        border = lines[0]
        rows = [line for line in lines if line[:1] in "|+"]
        assert {len(row) for row in rows} == {len(border)}, rows
    # What a user typed is quoted escaped, never as a look-alike ("'d'" for ∂).
    done = _exprgraph("eval", "x + \u2202", env={"PYTHONIOENCODING": "latin-1"})
    assert "unexpected character '\\u2202'" in done.stderr.decode("latin-1")
    # Latin-1 has the superscript two: it stays.
    done = _exprgraph("diff", "x^2*y", "--hessian", env={"PYTHONIOENCODING": "latin-1"})
    assert "d\u00b2out/didj" in done.stdout.decode("latin-1")


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
def test_adjoints_stay_marked_without_the_overline(encoding: str) -> None:
    """Latin-1 and ASCII lack the combining overline of `p̅`: an adjoint reads
    `p_bar`, never `p` (which is the node's value)."""
    env = {"PYTHONIOENCODING": encoding, "COLUMNS": "200"}
    program = "p = x + y; g = p*z"
    done = _exprgraph("eval", program, "--x", "1", "--y", "3", "--z", "-3", "--steps", env=env)
    text = done.stdout.decode(encoding)
    times = "\u00b7" if encoding == "latin-1" else "*"
    # By hand: g = (x + y)*z, so p_bar = dg/dp = z = -3, x_bar = p_bar*1 = -3.
    assert f"p_bar = g_bar{times}dg/dp = g_bar{times}z = 1{times}(-3) = -3" in text, text
    assert f"x_bar = p_bar{times}dp/dx = (-3){times}1 = -3" in text, text
    assert "v_bar is the adjoint dg/dv" in text, text
    done = _exprgraph("eval", "out = x*x", "--x", "3", "--steps", env=env)
    text = done.stdout.decode(encoding)
    assert "out_bar = 1" in text and f"x_bar = out_bar{times}dout/dx[1]" in text, text
    done = _exprgraph("graph", program, "--x", "1", "--y", "3", "--z", "-3", env=env)
    text = done.stdout.decode(encoding)
    assert "v_bar is the adjoint dg/dv" in text and "x_bar = -3" in text, text


def test_dot_output_without_the_symbols() -> None:
    done = _exprgraph("graph", "x^2", "--x", "3", "--format", "dot",
                      env={"PYTHONIOENCODING": "latin-1"})
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("latin-1")
    assert text.startswith("digraph") and 'label="dout/dx = 2*x' in text, text


@pytest.mark.parametrize("space", ["\f", "\r"])
def test_a_form_feed_or_lone_return_does_not_shift_the_line_shown(space: str) -> None:
    # The grammar reads \f and a lone \r as white space, so line 2 is the
    # `b = ...` line; splitting on them showed "+ 2" as line 2.
    program = f"a = 1 {space}+ 2\nb = log(x - a) where x=-1"
    result = CliRunner().invoke(app, ["eval", program])
    assert result.exit_code == 1
    assert "2 | b = log(x - a) where x=-1" in result.output


def test_running_out_of_memory_is_a_message_not_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from exprgraph.cli import application as cli

    def exhausted() -> None:
        raise MemoryError

    # The app a command line runs (`app_for`) is the one that runs out.
    monkeypatch.setattr(cli, "app_for", lambda args: exhausted)
    # `run` is a process's entry point: it gives SIGPIPE its default action and
    # freezes the garbage collector for the exit. In this test process both
    # would outlive the test (a later test writing to a dead worker's pipe
    # killed pytest with SIGPIPE), so they are put back.
    restore = signal.getsignal(signal.SIGPIPE) if hasattr(signal, "SIGPIPE") else None
    try:
        with pytest.raises(SystemExit) as done:
            cli.run()
    finally:
        if restore is not None:
            signal.signal(signal.SIGPIPE, restore)
        gc.unfreeze()
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert "ran out of memory" in err and "Traceback" not in err


def test_a_wide_table_lists_each_column_once_per_table() -> None:
    # Laying out a 2,000-row table listed a column's cells again for every
    # row (quadratic); count how often the cells are listed.
    from rich.console import Console
    from rich.table import Column, Table

    from exprgraph.render.layout import Fitted

    listed = 0

    class CountingColumn(Column):
        @property
        def cells(self):  # type: ignore[override]
            nonlocal listed
            listed += 1
            return iter(self._cells)

    table = Table(CountingColumn("a"), CountingColumn("b"))
    for k in range(2_000):
        table.add_row(f"x{k}", "y" * 200)
    listed = 0
    Console(width=60, file=open(os.devnull, "w")).print(Fitted(table))  # noqa: SIM115
    assert listed < 2_000


# Float noise: only a cancellation or a periodic function's exact zero reads 0
# in explanations and check's "right" column; a genuine small value (an input,
# a product, a quotient) is shown as it is.

def _check_json(*arguments: str) -> dict[str, Any]:
    import json

    result = runner.invoke(app, ["check", *arguments, "--format", "json"])
    _clean(result)
    return json.loads(result.stdout)


def test_small_values_that_are_not_noise_are_shown() -> None:
    # out = x*y at x = 1e-200, y = 1: out = 1e-200 and d/dy = x = 1e-200 (by hand).
    data = _check_json("x*y", "--x", "1e-200", "--y", "1", "--answer", "d/dy=1",
                       "--answer", "out=1")
    dy, out = data["answers"]
    assert dy["expected"] == "1e-200" and out["expected"] == "1e-200", data
    assert "= 1·1e-200 = 1e-200" in dy["explanation"], dy
    assert "out = x*y = 1e-200*1 = 1e-200" in out["explanation"], out
    # A quotient: d/dx of x/y at y = 1e200 is 1/y = 1e-200.
    data = _check_json("x/y", "--x", "1", "--y", "1e200", "--answer", "d/dx=1")
    answer = data["answers"][0]
    assert answer["expected"] == "1e-200" and "0·" not in answer["explanation"], answer
    assert "= 1·1e-200 = 1e-200" in answer["explanation"], answer


def test_noise_of_cancellation_and_periodic_zeros_reads_zero() -> None:
    # cos(pi/2) is 6.1e-17 in floats, exactly 0 in maths: d/dy of cos(x)*y is 0.
    data = _check_json("cos(x)*y", "--x", "pi/2", "--y", "2", "--answer", "d/dy=1",
                       "--answer", "out=1")
    dy, out = data["answers"]
    assert dy["expected"] == "0" and "= 1·0 = 0" in dy["explanation"], dy
    assert out["expected"] == "0" and "= 0*2 = 0" in out["explanation"], out
    # sin(pi) is 1.2e-16 in floats; (x + 1e-13) - x cancels to 1.0000333e-13.
    data = _check_json("sin(x)", "--x", "pi", "--answer", "out=1")
    assert data["answers"][0]["expected"] == "0", data
    data = _check_json("(x + y) - x", "--x", "1", "--y", "1e-13", "--answer", "out=1")
    assert data["answers"][0]["expected"] == "0", data
    # ... but a tiny argument is no periodic zero: sin(1e-20) is 1e-20.
    data = _check_json("sin(x)", "--x", "1e-20", "--answer", "out=1")
    assert data["answers"][0]["expected"] == "1e-20", data


def test_steps_show_what_is_defined_and_the_error_for_the_rest() -> None:
    """x*y*z at x = z = 1e300, y = 1e-300: by hand t1 = x*y = 1, out = 1e300,
    ∂out/∂x = y*z = 1 and ∂out/∂z = x*y = 1, while ∂out/∂y = x*z = 1e600 is
    beyond a float. --steps shows both passes, as the table and JSON do."""
    import json

    arguments = ["eval", "x*y*z", "--x", "1e300", "--y", "1e-300", "--z", "1e300", "--steps"]
    result = runner.invoke(app, arguments, env={"COLUMNS": "200"})
    _clean(result)
    assert result.exit_code == 1, result.output
    assert "t1 = x*y = 1e+300*1e-300 = 1" in result.stdout, result.stdout
    assert "x̅ = t̅1̅·∂t1/∂x = t̅1̅·y = 1e+300·1e-300 = 1" in result.stdout, result.stdout
    assert "y̅ = t̅1̅·∂t1/∂y = t̅1̅·x = 1e+300·1e+300 = undefined" in result.stdout
    assert "∂out/∂x = 1, ∂out/∂z = 1, ∂out/∂y undefined" in result.stdout, result.stdout
    assert "the derivative is too large for a float" in result.stderr, result.stderr
    result = runner.invoke(app, [*arguments, "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["gradient"] == {"x": 1.0, "y": None, "z": 1.0}, data
    backward = {step["node"]: step for step in data["steps"]["backward"]}
    assert backward["x"]["adjoint"] == 1.0 and backward["y"]["adjoint"] is None, backward
    assert "too large for a float" in data["error"]["message"], data
    # x/y at x = y = 1e200: ∂out/∂x = 1/y = 1e-200, a genuine value, not noise.
    result = runner.invoke(app, ["eval", "x/y", "--x", "1e200", "--y", "1e200", "--steps"],
                           env={"COLUMNS": "200"})
    assert "x̅ = o̅u̅t̅·∂out/∂x = o̅u̅t̅·(1/y) = 1·1e-200 = 1e-200" in result.stdout, result.stdout
    assert "Gradient: ∂out/∂x = 1e-200," in result.stdout, result.stdout


def test_a_huge_name_is_quoted_shortened() -> None:
    import json

    program = ("a" * 1_000_000 + "(x)").encode()
    done = _exprgraph("eval", "-", "--x", "1", data=program)
    message = done.stderr.decode("utf-8")
    assert done.returncode == 2 and len(message) < 2_000, len(message)
    assert "unknown function " + "a" * 60 + "…" in message, message[:300]
    done = _exprgraph("eval", "-", "--x", "1", "--format", "json", data=program)
    error = json.loads(done.stdout)["error"]
    assert len(done.stdout) < 2_000 and error["message"].endswith("a" * 60 + "…"), error


@pytest.mark.parametrize(("entry", "reason"), [
    ("é=1", "'é' is not a variable name"), ("1x=1", "'1x' is not a variable name"),
    ("=1", "the name before '=' is missing")])
def test_a_bad_set_entry_is_named_with_the_reason(entry: str, reason: str) -> None:
    result = runner.invoke(app, ["eval", "x", "--x", "3", "--set", entry])
    _clean(result)
    assert result.exit_code == 2
    assert f"--set {entry!r} does not name a variable: {reason}" in result.stderr, result.stderr


def test_a_full_width_digit_value_gets_the_programs_hint() -> None:
    result = runner.invoke(app, ["eval", "x", "--x", "\uff13"])
    assert result.exit_code == 2
    assert "hint: numbers are written with ASCII digits: write 3 for \uff13" in result.stderr


def test_a_leading_byte_order_mark_is_dropped_and_others_are_shown_escaped() -> None:
    done = _exprgraph("eval", "-", "--x", "1", "--format", "json",
                      data=b"\xef\xbb\xbfx + 1")
    assert done.returncode == 0, done.stderr
    assert __import__("json").loads(done.stdout)["value"] == 2  # 1 + 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bom.expr"
        path.write_bytes(b"\xef\xbb\xbfx + 1 where x=2\n")
        done = _exprgraph("batch", str(path), "--format", "jsonl")
        assert __import__("json").loads(done.stdout)["value"] == 3, done.stdout  # 2 + 1
    for raw, shown in ((b"x + \xef\xbb\xbf1", "x + \\ufeff1"), (b"x + \x00 1", "x + \\x00 1")):
        done = _exprgraph("eval", "-", "--x", "1", data=raw)
        lines = done.stderr.decode("utf-8").splitlines()
        assert lines[1] == f"  1 | {shown}", lines
        assert lines[2] == "    |     ^", lines  # under the escaped character


def test_an_overlong_batch_line_says_so_without_a_column() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.expr"
        path.write_text("x" * (MAX_PROGRAM_CHARS + 1) + "\n")
        done = _exprgraph("batch", str(path), env={"COLUMNS": "50"})
    text = done.stdout.decode("utf-8")
    assert "column None" not in text and "line 1: the line is" in text, text
    assert f"{MAX_PROGRAM_CHARS:,}" in text, text  # never wrapped inside the number


def test_a_huge_csv_cell_is_said_in_our_words() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        path.write_text("x,y\n1," + "9" * 200_000 + "\n")
        result = runner.invoke(app, ["fit", "(w*x - y)^2", "--data", str(path),
                                     "--params", "w=0"])
    _clean(result)
    assert result.exit_code == 2
    assert "line 2: a cell is longer than 131,072 characters" in result.stderr, result.stderr
    assert "field limit" not in result.stderr


def test_steps_read_noise_as_zero_everywhere_alike() -> None:
    # cos(pi/2)*2 is 1.2e-16 in floats and 0 in maths: the forward pass, the
    # backward pass and the gradient line all say 0 (∂out/∂y = cos(x) = 0).
    result = runner.invoke(app, ["eval", "cos(x)*y", "--x", "pi/2", "--y", "2", "--steps"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "out = t1*y = 0*2 = 0" in result.stdout, result.stdout
    assert "y̅ = o̅u̅t̅·∂out/∂y = o̅u̅t̅·t1 = 1·0 = 0" in result.stdout, result.stdout
    assert "Gradient: ∂out/∂x = -2, ∂out/∂y = 0" in result.stdout, result.stdout
