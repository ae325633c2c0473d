"""What a new user met: ignored options, cut-off formulas, tracebacks.

Each test reproduces a defect found by trying exprgraph from the README as a
new user would; the oracles are SymPy, finite differences and the tool's own
independent passes (reverse mode for a symbolic formula).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app

from .oracles import close

runner = CliRunner()
LONG = "sin(x)^2*exp(-x^2/2)/(1+cos(y)^2) + log(1+x^2)*tanh(y)"


def _json(*args: str) -> tuple[dict, int]:
    result = runner.invoke(app, [*args, "--format", "json"])
    return json.loads(result.stdout), result.exit_code


# --- --order is never silently ignored --------------------------------------------

def test_order_without_wrt_gives_each_inputs_nth_derivative() -> None:
    data, code = _json("diff", "x^3*y^2 + sin(y)", "--order", "2", "--at", "x=0.7,y=1.3")
    assert code == 0
    x, y = sympy.symbols("x y")
    f = x**3 * y**2 + sympy.sin(y)
    assert [r["wrt"] for r in data["results"]] == [["x", "x"], ["y", "y"]]
    for result in data["results"]:
        name = result["wrt"][0]
        expected = float(sympy.diff(f, name, 2).subs({x: 0.7, y: 1.3}))
        assert close(result["value"], expected)


@pytest.mark.parametrize("kind, order", [("--gradient", "2"), ("--jacobian", "2"),
                                         ("--hessian", "3")])
def test_order_with_a_matrix_kind_is_refused(kind: str, order: str) -> None:
    result = runner.invoke(app, ["diff", "x^2*y", kind, "--order", order])
    assert result.exit_code == 2
    assert "order" in result.stderr


# --- diff with respect to an intermediate node: its adjoint -------------------------

def test_diff_wrt_an_intermediate_node_is_its_adjoint() -> None:
    program = "p = x + y; q = sin(p)*z; g = q*p"
    data, code = _json("diff", program, "--wrt", "p", "--at", "x=0.3,y=0.4,z=2")
    assert code == 0
    evaluation = exprgraph.compile(program).evaluate(x=0.3, y=0.4, z=2)
    # ∂g/∂p holding p's users' other inputs fixed: the adjoint of p.
    assert close(data["results"][0]["value"], evaluation.adjoints["p"])


# --- programs that start with '-' ----------------------------------------------------

@pytest.mark.parametrize("args", [["--", "--x^2 + 1", "--x", "3"],
                                  ["--x", "3", "--", "--x^2 + 1"]])
def test_a_program_starting_with_minus_goes_after_double_dash(args: list[str]) -> None:
    data, code = _json("eval", *args)
    assert code == 0
    assert data["value"] == 10.0 and data["gradient"] == {"x": 6.0}


def test_a_program_starting_with_minus_minus_says_how_to_pass_it() -> None:
    result = runner.invoke(app, ["eval", "--x^2", "--x", "3"])
    assert result.exit_code == 2
    assert "goes after --" in result.stderr


def test_simplify_honours_double_dash() -> None:
    result = runner.invoke(app, ["simplify", "--format", "text", "--", "--x"])
    assert result.exit_code == 0 and result.stdout.strip() == "x"


# --- typed options are never swallowed --------------------------------------------

@pytest.mark.parametrize("args, suggestion", [
    (["descend", "(x-3)^2", "--x", "0", "--step", "5"], "--steps"),
    (["descend", "(x-3)^2", "--x", "0", "--epochs", "5"], "fit"),
    (["eval", "x", "--x", "1", "--fromat", "json"], "--format"),
    (["diff", "x^2", "--x", "1", "--ordr", "2"], "--order"),
    (["eval", "x", "--x", "0", "--maxrows", "5"], "--max-rows"),
    (["descend", "(x-3)^2", "--x", "0", "--epoch", "5"], "did you mean --steps"),
])
def test_a_mistyped_option_is_an_error_that_names_the_option(args: list[str],
                                                              suggestion: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert suggestion in result.stderr


def test_an_unused_name_like_an_option_gets_a_hint_and_the_command_runs() -> None:
    # graph has no --steps: a variable named step is plausible, so only a hint.
    result = runner.invoke(app, ["graph", "x*y", "--x", "1", "--y", "2", "--step", "1"])
    assert result.exit_code == 0
    assert "--steps is an option of exprgraph eval" in " ".join(result.stderr.split())
    result = runner.invoke(app, ["graph", "x*y", "--x", "1", "--y", "2", "--backwards", "1"])
    assert result.exit_code == 2 and "did you mean --backward?" in result.stderr


@pytest.mark.parametrize("derivative, point", [("b + 1", ["--a", "2", "--b", "6"]),
                                               ("x", ["--lr", "2", "--x", "3"]),
                                               ("x", ["--set", "step=2", "--x", "3"])])
def test_a_derivative_evaluates_at_its_functions_point(derivative: str, point: list[str]
                                                       ) -> None:
    # The public contract feeds each derivative back with every input's value:
    # names the derivative no longer uses (even `a`, near --at) must not stop it.
    data, code = _json("eval", derivative, *point)
    assert code == 0
    assert data["value"] == float(point[point.index(f"--{derivative[0]}") + 1]) + (
        1 if derivative == "b + 1" else 0)


@pytest.mark.parametrize("command", ["graph", "diff", "simplify"])
def test_an_unused_value_is_reported_by_every_command(command: str) -> None:
    result = runner.invoke(app, [command, "x*y", "--x", "1", "--y", "2", "--q", "3"])
    assert "q is not used by the program" in result.stderr


# --- an undefined partial does not hide what exists ----------------------------------

def test_an_undefined_partial_leaves_the_value_and_other_partials() -> None:
    result = runner.invoke(app, ["eval", "x^y", "--x", "-2", "--y", "3"])
    assert result.exit_code == 1
    assert "-8" in result.stdout and "12" in result.stdout  # (-2)^3, 3·(-2)^2
    assert "undefined" in result.stdout and "undefined" in result.stderr
    data, code = _json("eval", "x^y", "--x", "-2", "--y", "3")
    assert code == 1
    assert data["value"] == -8.0 and data["gradient"] == {"x": 12.0, "y": None}
    assert "y" in data["undefined"] and data["error"]["kind"] == "math"


def test_partial_evaluation_agrees_with_full_evaluation_where_defined() -> None:
    program = exprgraph.compile("sqrt(x)*y + x*y^2")
    partly = program.evaluate_partially(x=0.0, y=1.5)
    assert set(partly.undefined_gradient) == {"x"}
    h = 1e-6
    f = program.evaluate_partially  # values only: ∂/∂x is undefined at x = 0
    assert close(partly.gradient["y"], (f(x=0.0, y=1.5 + h).value - f(x=0.0, y=1.5 - h).value)
                 / (2 * h), 1e-6)


# --- maths is never cut off ----------------------------------------------------------

def _cells_by_column(output: str) -> list[str]:
    """Each table column's text, top to bottom, without spaces (a folded cell
    continues on the next line of the same column)."""
    columns: dict[tuple[int, int], list[str]] = {}
    for line in output.splitlines():
        if not line.startswith("│"):
            continue
        bars = [i for i, char in enumerate(line) if char == "│"]
        for k, (start, end) in enumerate(itertools.pairwise(bars)):
            columns.setdefault((len(bars), k), []).append(line[start + 1:end].strip())
    return ["".join(parts).replace(" ", "") for parts in columns.values()]


@pytest.mark.parametrize("width", ["60", "80"])
def test_eval_tables_show_every_formula_and_number_whole(width: str) -> None:
    env = {**os.environ, "COLUMNS": width}
    done = subprocess.run([sys.executable, "-m", "exprgraph", "eval", LONG, "--x", "0.3",
                           "--y", "1.2"], capture_output=True, text=True, env=env, check=True)
    assert "…" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= int(width)
    whole = "".join(_cells_by_column(done.stdout)) + done.stdout.replace(" ", "")
    data, _ = _json("eval", LONG, "--x", "0.3", "--y", "1.2")
    from exprgraph.passes.evaluate import format_value

    for formula in data["derivatives"].values():
        assert formula.replace(" ", "") in whole
    for node in data["nodes"]:
        assert format_value(node["value"]) in whole
        if node["adjoint"] is not None:
            assert format_value(node["adjoint"]) in whole
    for edge in data["edges"]:
        if edge["partial_expr"] is not None:
            assert edge["partial_expr"].replace(" ", "") in whole


@pytest.mark.parametrize("args", [["--hessian", "--at", "x=1.234567,y=2.345678"],
                                  ["--gradient"]])
def test_diff_tables_are_not_cut_at_60_columns(args: list[str]) -> None:
    env = {**os.environ, "COLUMNS": "60"}
    program = "x^3*y^2*sin(x*y) + exp(x)*log(1 + y^2) + atan(x/y)*cosh(y - x)"
    done = subprocess.run([sys.executable, "-m", "exprgraph", "diff", program, *args],
                          capture_output=True, text=True, env=env, check=True)
    assert "…" not in done.stdout
    if "--gradient" in args:
        assert program.replace(" ", "") in done.stdout.replace("\n", "").replace(" ", "")
    whole = "".join(_cells_by_column(done.stdout))
    from exprgraph.printing.text import INLINE_LIMIT, display_text

    compiled = exprgraph.compile(program)
    kind = "hessian" if "--hessian" in args else "gradient"
    # The whole of each cell's text, as the table was asked to show it.
    for entry in compiled.diff(kind=kind).entries:
        shown = display_text(entry.expression.nodes, entry.expression.root,
                             taken=compiled.graph.names,  # matrix cells are inline
                             **({"min_length": INLINE_LIMIT} if kind == "hessian" else {}))
        assert shown.replace(" ", "") in whole


def test_piped_output_has_no_trailing_spaces() -> None:
    done = subprocess.run([sys.executable, "-m", "exprgraph", "eval", "(x+y)*z", "--x", "1",
                           "--y", "3", "--z", "-3"], capture_output=True, text=True, check=True)
    assert not [line for line in done.stdout.splitlines() if line != line.rstrip()]


# --- files and pipes -------------------------------------------------------------

def test_graph_takes_the_format_from_the_file_name(tmp_path: Path) -> None:
    target = tmp_path / "g.mmd"
    result = runner.invoke(app, ["graph", "x*y", "-o", str(target)])
    assert result.exit_code == 0
    assert target.read_text().startswith("flowchart")


def test_graph_refuses_a_format_the_file_name_contradicts(tmp_path: Path) -> None:
    result = runner.invoke(app, ["graph", "x*y", "--format", "dot", "-o",
                                 str(tmp_path / "g.png")])
    assert result.exit_code == 2 and "does not match" in result.stderr
    assert not (tmp_path / "g.png").exists()


def test_graph_refuses_backward_in_the_terminal() -> None:
    result = runner.invoke(app, ["graph", "x*y", "--backward"])
    assert result.exit_code == 2 and "--backward" in result.stderr


def test_graph_checks_the_output_folder_before_drawing() -> None:
    result = runner.invoke(app, ["graph", "x*y", "-o", "/nonexistent/dir/g.dot"])
    assert result.exit_code == 2 and "cannot write" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGPIPE is POSIX")
def test_a_closed_pipe_ends_quietly() -> None:
    corpus = Path(__file__).parent.parent / "samples" / "corpus.expr"
    command = (f"{sys.executable} -m exprgraph batch {corpus} --format jsonl | head -1; "
               'echo "status ${PIPESTATUS[0]}"')
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    first, status = done.stdout.splitlines()
    assert json.loads(first)["program"]
    # Killed by SIGPIPE, as `cat` would be (141); never 1, which means a problem failed.
    assert status in {"status 0", "status 141"}
    assert "Traceback" not in done.stderr and "Error" not in done.stderr


def test_simplify_reports_an_undefined_value_once() -> None:
    result = runner.invoke(app, ["simplify", "log(x)", "--at", "x=-1"])
    assert result.exit_code == 1
    assert "undefined" in result.stdout and "cannot compute" not in result.stderr


# --- the core speaks no command line ------------------------------------------------

def test_api_errors_do_not_mention_command_line_options() -> None:
    with pytest.raises(exprgraph.ValueInputError) as caught:
        exprgraph.compile("x + y").evaluate(x=1)
    assert not re.search(r"--\w", caught.value.hint or "")
    assert not re.search(r"--\w", caught.value.message)


# --- help reads like a hand-written one -----------------------------------------------

@pytest.mark.parametrize("command", ["eval", "diff", "simplify", "check", "graph", "batch",
                                     "descend", "fit"])
def test_help_has_no_type_placeholders(command: str) -> None:
    env = {**os.environ, "COLUMNS": "100"}
    done = subprocess.run([sys.executable, "-m", "exprgraph", command, "--help"],
                          capture_output=True, text=True, env=env, check=True)
    for placeholder in ("<bool>", "{PROGRAM}", "<list", "<str>", "<int"):
        assert placeholder not in done.stdout


# --- outputs keep the names the program gives them ------------------------------------

def test_jacobian_keeps_an_output_that_is_an_alias_of_an_input() -> None:
    data, code = _json("diff", "f = x; g = x*y", "--jacobian", "--at", "x=2,y=5")
    assert code == 0
    assert data["rows"] == ["f", "g"]
    # Each row is that output's gradient, by reverse mode on the output alone.
    for row, program in zip(data["rows"], ["x", "x*y"], strict=True):
        gradient = exprgraph.compile(program).evaluate(x=2, y=5).gradient
        values = {r["wrt"][0]: r["value"] for r in data["results"] if r["of"] == row}
        assert values == {"x": gradient.get("x", 0.0), "y": gradient.get("y", 0.0)}


def test_an_alias_output_is_named_by_its_statement() -> None:
    result = runner.invoke(app, ["diff", "f = x", "--format", "text"])
    assert result.exit_code == 0
    data, _ = _json("diff", "f = x")
    assert data["results"][0]["label"] == "df/dx"
    data, _ = _json("eval", "f = x", "--x", "2")
    assert data["output"] == "f"


def test_a_single_dash_program_is_never_read_as_short_options(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["graph", "-log(x)", "--x", "2"])
    assert result.exit_code == 0, result.stderr
    assert list(tmp_path.iterdir()) == []  # not `-l` and `-o "g(x)"`
    data, code = _json("eval", "-log(x)", "--x", "2")
    assert code == 0 and close(data["value"], -0.6931471805599453)


def test_division_then_implicit_product_warns_on_every_command() -> None:
    for command in (["eval", "1/2x", "--x", "4"], ["diff", "1/2x"], ["simplify", "1/2x"],
                    ["graph", "1/2x"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0
        assert "warning" in result.stderr and "1/(2x)" in result.stderr
    data, _ = _json("eval", "1/2x", "--x", "4")
    assert data["value"] == 2.0 and any("1/(2x)" in w for w in data["warnings"])


SAMPLES = Path(__file__).parent.parent / "samples"


@pytest.mark.parametrize("args", [
    ["batch", str(SAMPLES / "tutorials.toml")],
    ["check", str(SAMPLES / "homework.toml")],
    ["descend", "(x-3)^2 + sin(y)*exp(x/7)", "--x", "0", "--y", "0.123456", "--steps", "20"],
    ["graph", LONG, "--x", "0.3", "--y", "1.2"],
])
def test_no_command_cuts_text_at_60_columns(args: list[str]) -> None:
    env = {**os.environ, "COLUMNS": "60"}
    done = subprocess.run([sys.executable, "-m", "exprgraph", *args], capture_output=True,
                          text=True, env=env, check=False)
    assert "…" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 60


NEURON = ("hidden = tanh(weight1*input + bias1); output = sigmoid(weight2*hidden + bias2); "
          "loss = (output - target)^2")
NEURON_AT = ["--weight1", "0.123456", "--input", "1.5", "--bias1", "-0.3", "--weight2", "2.2",
             "--bias2", "0.1", "--target", "1"]


@pytest.mark.parametrize("width", ["40", "60", "80"])
def test_numbers_and_names_are_never_broken_across_lines(width: str) -> None:
    env = {**os.environ, "COLUMNS": width}
    done = subprocess.run([sys.executable, "-m", "exprgraph", "eval", NEURON, *NEURON_AT],
                          capture_output=True, text=True, env=env, check=True)
    assert max(len(line) for line in done.stdout.splitlines()) <= int(width)
    from exprgraph.passes.evaluate import format_value

    data, _ = _json("eval", NEURON, *NEURON_AT)
    for node in data["nodes"]:
        assert node["name"] in done.stdout
        assert format_value(node["value"]) in done.stdout  # whole, on one line
        if node["adjoint"] is not None:
            assert format_value(node["adjoint"]) in done.stdout


def test_formulas_wrap_only_after_operators() -> None:
    from exprgraph.render.layout import wrap_formula

    text = "2*input*weight2*sigmoid(weight2*tanh(input*weight1 + bias1) + bias2) - 0.125"
    for width in range(10, 40):
        lines = wrap_formula(text, width).split("\n")
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(len(line) <= width for line in lines)
        for line, after in itertools.pairwise(lines):  # never inside a name or number
            word = re.compile(r"[\w.]")
            assert not (word.match(line[-1]) and word.match(after.lstrip()[0]))


def test_graph_draws_what_exists_when_a_partial_is_undefined() -> None:
    result = runner.invoke(app, ["graph", "x^y", "--x", "-2", "--y", "3", "--format", "dot"])
    assert result.exit_code == 1
    assert "adjoint 12" in result.stdout  # ∂(x^y)/∂x = y·x^(y-1) = 12 at (-2, 3)
    assert "adjoint undefined" in result.stdout and "undefined" in result.stderr


def test_graph_tells_adjoints_from_local_partials() -> None:
    result = runner.invoke(app, ["graph", "x*x", "--x", "3"])
    assert result.exit_code == 0
    # ∂out/∂x is each edge's local partial (3); the adjoint x̅ sums both (6).
    assert result.stdout.count("∂out/∂x = x = 3") == 2
    assert "x\u0305 = 6" in result.stdout and "∂out/∂x = 6" not in result.stdout


def test_graph_output_dash_is_stdout_and_empty_is_an_error() -> None:
    result = runner.invoke(app, ["graph", "x*y", "--format", "dot", "-o", "-"])
    assert result.exit_code == 0 and result.stdout.startswith("digraph")
    result = runner.invoke(app, ["graph", "x*y", "-o", ""])
    assert result.exit_code == 2 and "file name" in result.stderr


@pytest.mark.parametrize("args, words", [
    (["eval", "(x+y)*z", "--x", "1", "--y", "3", "--z", "-3", "--step"], "did you mean --steps"),
    (["diff", "x^2*y", "--hessain"], "did you mean --hessian"),
    (["simplify", "log(e)", "--latex"], "--format latex"),
    (["eval", "(x+y)*z", "--stesp", "--x", "1", "--y", "3", "--z", "-3"], "--steps"),
])
def test_a_mistyped_flag_without_a_value_names_the_flag(args: list[str], words: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert words in result.stderr


def test_diff_refuses_two_formats_and_says_when_there_is_nothing_to_differentiate() -> None:
    result = runner.invoke(app, ["diff", "x^2*y", "--latex", "--format", "json"])
    assert result.exit_code == 2 and "two formats" in result.stdout
    result = runner.invoke(app, ["diff", "3"])
    assert result.exit_code == 0 and "nothing to differentiate" in result.stdout


def test_the_api_reports_a_huge_integer_value_as_a_value_error() -> None:
    with pytest.raises(exprgraph.ValueInputError):
        exprgraph.compile("x").evaluate(x=10**400)


@pytest.mark.parametrize("args", [["--x", "1", "--w", "2"], ["--set", "x=1,w=2"],
                                  ["--x", "1", "--a", "2"]])
def test_a_short_unused_name_is_only_reported_as_unused(args: list[str]) -> None:
    result = runner.invoke(app, ["eval", "x^2", *args])
    assert result.exit_code == 0
    assert "not used by the program" in result.stderr
    assert "did you mean" not in result.stderr and "option" not in result.stderr


def test_the_api_takes_numpy_scalars_and_checks_its_diff_arguments() -> None:
    numpy = pytest.importorskip("numpy")
    program = exprgraph.compile("x*y")
    assert program.evaluate(x=numpy.float32(2), y=numpy.int64(3)).value == 6.0
    # diff("xy") is the variable xy, not ∂²/∂y∂x.
    assert [e.wrt for e in exprgraph.compile("xy^2").diff("xy").entries] == [("xy",)]
    for order in (1.5, True, 101, 10**30):
        with pytest.raises(exprgraph.ValueInputError):
            program.diff(["x"], order=order)


# --- second fresh-user round: messages that say what happened -------------------

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.mark.parametrize(("command", "option"), [
    (["eval", "x*y", "--x", "1", "--y", "2", "--wrt", "x"], "--wrt"),
    (["simplify", "x*y", "--wrt", "x"], "--wrt"),
    (["eval", "x*y", "--x", "1", "--y", "2", "--order", "x"], "--order"),
])
def test_another_commands_option_with_a_non_number_is_a_whole_sentence(
        command: list[str], option: str) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {option} is an option of exprgraph diff, not of "
                            f"{command[0]}")
    # The run stops: nothing is "taken", and no line starts without its subject.
    assert "taken" not in result.stderr
    assert not any(line.startswith("hint: is ") for line in result.stderr.splitlines())


def test_a_short_name_of_another_commands_option_with_a_number_only_warns() -> None:
    result = runner.invoke(app, ["eval", "x", "--x", "1", "--wrt", "2"])
    assert result.exit_code == 0
    assert "warning: --wrt" in result.stderr and "diff" in result.stderr


@pytest.mark.parametrize("command", [["eval", "x + where x=1"], ["eval", "x*(2 - where x=1)"]])
def test_where_right_after_an_operator_says_an_operand_is_missing(command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    assert "operand is missing after" in result.stderr
    assert "single name can be assigned" not in result.stderr


def test_where_right_after_an_operator_in_a_line_file(tmp_path: Path) -> None:
    path = tmp_path / "a.expr"
    path.write_text("x + 1 where x=1\nx + where x=1\n")
    result = runner.invoke(app, ["batch", str(path), "--format", "jsonl"])
    error = json.loads(result.stdout.splitlines()[1])["error"]
    assert "operand is missing after '+'" in error["message"]
    assert error["line"] == 2


def test_a_name_assigned_twice_in_a_line_file_names_no_other_line(tmp_path: Path) -> None:
    path = tmp_path / "a.expr"
    path.write_text("x + 1 where x=1\ny = 1; z = 2; y = 3; y\n")
    result = runner.invoke(app, ["batch", str(path), "--format", "jsonl"])
    error = json.loads(result.stdout.splitlines()[1])["error"]
    assert (error["line"], error["column"]) == (2, 15)
    # The first assignment is column 1 of that same line 2, not "line 1" (another program).
    assert "line 1" not in error["hint"] and "column 1" in error["hint"]
    # A program of several lines still names the line.
    result = runner.invoke(app, ["eval", "y = 1\ny = 2; y"])
    assert "first assigned at line 1, column 1" in result.stderr


def test_a_call_with_one_argument_too_few_says_was_given() -> None:
    result = runner.invoke(app, ["eval", "atan2(1)"])
    assert "1 was given" in result.stderr and "were given" not in result.stderr
    result = runner.invoke(app, ["eval", "atan2(1, 2, 3)"])
    assert "3 were given" in result.stderr


def test_a_line_that_is_not_utf8_names_its_byte_as_files_do(tmp_path: Path) -> None:
    path = tmp_path / "a.expr"
    path.write_bytes(b"\xffx + 1\nx + \xfe\n")
    result = runner.invoke(app, ["batch", str(path), "--format", "jsonl"])
    first, second = (json.loads(line)["error"] for line in result.stdout.splitlines()[:2])
    assert "byte 0xFF" in first["message"] and (first["line"], first["column"]) == (1, 1)
    assert "byte 0xFE" in second["message"] and (second["line"], second["column"]) == (2, 5)
    table = runner.invoke(app, ["batch", str(path)]).stdout
    flat = " ".join(table.split())  # the table wraps the cell
    assert "line 1, column 1: byte 0xFF is not UTF-8 text" in flat.replace("│", "").replace(
        "  ", " ")
    assert flat.count("line 1, column 1") == 1


def test_a_negative_base_to_a_fraction_says_only_what_applies() -> None:
    data, code = _json("eval", "(-8)^(1/3)")
    assert code == 1
    assert "negative number" in data["error"]["message"]
    assert "0 cannot be raised" not in data["error"]["message"]
    data, code = _json("eval", "0^(-1)")
    assert "0 cannot be raised to a negative power" in data["error"]["message"]
    assert "negative number" not in data["error"]["message"]


def test_fit_reports_an_unknown_loss_before_anything_else() -> None:
    result = runner.invoke(app, ["fit", "(w*x + b - y)^2", "--data",
                                 str(SAMPLES / "fit" / "line.csv"), "--params", "w=0,b=0",
                                 "--loss", "mae", "--target", "y"])
    assert result.exit_code == 2
    assert "unknown loss 'mae'" in result.stderr
    assert "target column" not in result.stderr


@pytest.mark.parametrize("args", [
    ["diff", "x^2", "--order", "101"],
    ["diff", "x^2", "--order", "nine"],
    ["eval", "x", "--x", "1", "--max-rows", "-1"],
    ["check", str(SAMPLES / "homework.toml"), "--tolerance", "x"],
    ["fit", "(w*x - y)^2", "--params", "w=0"],
])
def test_usage_errors_with_format_json_are_the_json_error_object(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["kind"] and error["message"]
    assert "╭" not in result.stdout + result.stderr and "Usage:" not in result.stderr
    # With the format given first, too.
    result = runner.invoke(app, [args[0], "--format=json", *args[1:]])
    assert result.exit_code == 2 and json.loads(result.stdout)["error"]["message"]


def test_a_usage_error_without_json_is_still_clicks_usage_message() -> None:
    result = runner.invoke(app, ["diff", "x^2", "--order", "101"])
    assert result.exit_code == 2 and "101" in result.stderr and not result.stdout


def test_diff_json_lists_its_warnings() -> None:
    data, code = _json("diff", "x^2 + 1e-400*x")
    assert code == 0
    assert len(data["warnings"]) == 1 and "1e-400" in data["warnings"][0]
    assert all(isinstance(w, str) for w in data["warnings"])
    data, _ = _json("diff", "x^2", "--at", "x=1,y=2")
    assert any("y is not used" in w for w in data["warnings"])
    data, _ = _json("diff", "x^2")
    assert "warnings" not in data


def test_check_on_a_folder_without_problem_sets_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    lines = tmp_path / "lines"
    lines.mkdir()
    (lines / "a.expr").write_text("x + 1 where x=1\n")
    for folder in (empty, lines):
        result = runner.invoke(app, ["check", str(folder)])
        assert result.exit_code == 2
        assert f"no problem sets with answers in {folder}" in result.stderr
        assert "problem files end in" not in result.stderr


def test_simplify_json_carries_the_warnings_said_on_stderr() -> None:
    data, code = _json("simplify", "x^2 + 1e-400*x")
    assert code == 0
    assert any("below the smallest float" in w for w in data["warnings"])
    data, code = _json("simplify", "x^2")
    assert "warnings" not in data
