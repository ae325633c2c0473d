"""`graph --format html`: the self-contained backprop page, without a browser.

What a file can show: it names nothing outside itself (no URL, no <link>, no
src=), its embedded graph data evaluates to what hand-written Python says
the program is, everything written into it is escaped, the layout overlaps
no boxes, and the CLI writes it (from --format html or a .html name) or
refuses cleanly (exit 2, one message and a hint, no traceback). The page's
script is run in a real browser by tests/test_page_browser.py.
"""

from __future__ import annotations

import html
import json
import math
import operator
import re
from collections.abc import Callable
from itertools import combinations, pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app
from exprgraph.core.ops import OPS
from exprgraph.core.tensor_ops import TENSOR_OPS
from exprgraph.printing import javascript
from exprgraph.render import page

runner = CliRunner()
SEED = ["(x+y)*z", "--x", "1", "--y", "3", "--z", "-3"]


def mlp(neurons: int) -> str:
    """A one-hidden-layer network's loss: 62 nodes for 5 neurons."""
    lines = [f"n{i} = tanh(w{i}1*x1 + w{i}2*x2 + b{i})" for i in range(1, neurons + 1)]
    lines.append("o = " + " + ".join(f"v{i}*n{i}" for i in range(1, neurons + 1)) + " + c")
    lines.append("L = (o - y)^2")
    return "; ".join(lines)


def embedded(text: str) -> dict:
    """The graph data the page's script reads."""
    found = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>',
                      text, re.S)
    assert found, "no graph data in the page"
    return json.loads(found.group(1))


def write_page(tmp_path: Path, *args: str, name: str = "page.html") -> str:
    target = tmp_path / name
    result = runner.invoke(app, ["graph", *args, "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    return target.read_text(encoding="utf-8")


# --- the file stands alone -----------------------------------------------------------


def test_the_page_names_nothing_outside_itself(tmp_path: Path) -> None:
    text = write_page(tmp_path, *SEED)
    assert text.startswith("<!DOCTYPE html>")
    for outside in ("http://", "https://", "src=", "<link", "@import", "url(http", "//cdn"):
        assert outside not in text, outside
    # Every script and style is inline: three scripts (data, op table, page), one style.
    assert text.count("<script") == 3 and text.count("<style>") == 1
    assert "<svg" in text and "exprgraphOps" in text


def test_the_embedded_graph_is_the_program_by_an_independent_evaluation(
        tmp_path: Path) -> None:
    # The node list the page computes from, evaluated here with Python's own
    # operators, against the program written out by hand.
    cases: list[tuple[list[str], Callable[..., float], dict[str, float]]] = [
        (SEED, lambda x, y, z: (x + y) * z, {"x": 1, "y": 3, "z": -3}),
        (["q = x*y; q + q*q", "--x", "2", "--y", "3"], lambda x, y: x * y + (x * y) ** 2,
         {"x": 2, "y": 3}),
        (["sin(x)*exp(y) + sqrt(x)*log(y) - pi", "--x", "0.5", "--y", "1.5"],
         lambda x, y: math.sin(x) * math.exp(y) + math.sqrt(x) * math.log(y) - math.pi,
         {"x": 0.5, "y": 1.5}),
    ]
    functions: dict[str, Callable[..., float]] = {
        "add": operator.add, "sub": operator.sub, "mul": operator.mul,
        "div": operator.truediv, "pow": operator.pow, "neg": operator.neg,
        "sin": math.sin, "exp": math.exp, "sqrt": math.sqrt, "log": math.log}
    for args, by_hand, point in cases:
        data = embedded(write_page(tmp_path, *args))
        assert {entry["name"]: entry["value"] for entry in data["inputs"]} == point
        values: list[float] = []
        inputs = {entry["node"]: entry["value"] for entry in data["inputs"]}
        for index, node in enumerate(data["nodes"]):
            if node["kind"] == "const":
                values.append(node["value"])
            elif node["kind"] == "input":
                values.append(inputs[index])
            else:
                values.append(functions[node["op"]](*(values[a] for a in node["args"])))
        assert math.isclose(values[data["output"]], by_hand(**point), rel_tol=1e-12)
        # Edges are the node list's arguments, each once, in order.
        assert [(e["target"], e["position"], e["source"]) for e in data["edges"]] == \
            [(i, k, a) for i, n in enumerate(data["nodes"]) for k, a in enumerate(n["args"])]


def test_the_seed_example_carries_its_symbolic_partials(tmp_path: Path) -> None:
    data = embedded(write_page(tmp_path, *SEED))
    names = [node["name"] for node in data["nodes"]]
    partials = {(names[e["source"]], names[e["target"]]): e["partial"] for e in data["edges"]}
    # ∂(x+y)/∂x = 1 and ∂(t1*z)/∂t1 = z, ∂/∂z = t1: the terminal's labels.
    assert partials == {("x", "t1"): "1", ("y", "t1"): "1", ("t1", "out"): "z",
                        ("z", "out"): "t1"}
    assert data["outputName"] == "out" and not data["startBackward"]


def test_everything_written_into_the_page_is_escaped(tmp_path: Path) -> None:
    # A comment is the only place program text can hold markup.
    program = "(x+y)*z # </script><script>alert(1)</script> & <!-- <b>"
    text = write_page(tmp_path, program, *SEED[1:])
    assert "alert(1)</script>" not in text and "<b>" not in text and "<!-- <b>" not in text
    assert html.escape("</script><script>alert(1)") in text  # shown, as text
    data = embedded(text)
    assert data["program"] == program  # and read back intact by the page
    # The JSON block holds no <, > or & at all, so nothing can end it early.
    block = re.search(r'id="graph-data">(.*?)</script>', text, re.S).group(1)
    assert not set("<>&") & set(block)


def test_without_values_the_page_starts_with_empty_boxes(tmp_path: Path) -> None:
    text = write_page(tmp_path, "(x+y)*z", "--format", "html", name="blank.html")
    data = embedded(text)
    assert [entry["value"] for entry in data["inputs"]] == [None, None, None]
    assert text.count('value=""') == 3
    # Some values given: those start filled in, the rest empty.
    data = embedded(write_page(tmp_path, "(x+y)*z", "--y", "2", name="some.html"))
    assert [entry["value"] for entry in data["inputs"]] == [None, 2.0, None]


def test_above_sixty_nodes_the_page_says_so(tmp_path: Path) -> None:
    small = write_page(tmp_path, mlp(4), name="small.html")
    large = write_page(tmp_path, mlp(5), name="large.html")
    assert len(embedded(small)["nodes"]) <= page.READABLE_NODES < len(embedded(large)["nodes"])
    assert 'id="size-note"' not in small
    note = re.search(r'<p id="size-note".*?</p>', large, re.S).group(0)
    assert f"{len(embedded(large)['nodes'])} nodes" in note and "60" in note
    # The note comes before the drawing, and the drawing is still all there.
    assert large.index('id="size-note"') < large.index("<svg")
    assert large.count('class="node ') >= len(embedded(large)["nodes"])


# --- the layout ----------------------------------------------------------------------


@pytest.mark.parametrize("program", [
    "(x+y)*z", "q = x*y; q + q*q", mlp(5),
    "h[0] = 0; for t = 1..12: h[t] = tanh(w*h[t-1] + u*t + b); L = (h[12] - y)^2",
    "sin(" * 59 + "x" + ")" * 59, "a = x^2 + y^2 + z^2; b = 2*x*y; sqrt(a) + b^2 + 2",
])
def test_no_two_boxes_overlap_and_all_fit_the_drawing(program: str) -> None:
    compiled = exprgraph.compile(program)
    laid = page.layout(page.page_data(compiled, None))
    drawn = [b for b in laid.boxes if not b.dummy]
    for a, b in combinations(drawn, 2):
        apart_x = abs(a.x - b.x) >= (a.width + b.width) / 2
        apart_y = abs(a.y - b.y) >= (a.height + b.height) / 2
        assert apart_x or apart_y, (a.lines, b.lines)
    for box in drawn:
        assert box.x - box.width / 2 >= 0 and box.x + box.width / 2 <= laid.width
        assert box.y - box.height / 2 >= 0 and box.y + box.height / 2 <= laid.height
    # Every real node is drawn once, every edge has a route from its source
    # (or a reference to it) to its target, one level at a time.
    assert sum(b.ref is None for b in drawn) == len(compiled.graph.nodes)
    for (target, _, source), route in zip(compiled.graph.edges(), laid.routes, strict=True):
        first = laid.boxes[route[0]]
        assert source in (first.index, first.ref) and route[-1] == target
        assert all(laid.boxes[b].level + 1 == laid.boxes[c].level
                   for b, c in pairwise(route))


@pytest.mark.parametrize(("program", "at_most"), [
    ("p = a*d; q = b*c; r = c*a; p + q + r", 0),  # node order alone crosses 4 times
    (mlp(5), 6),  # 72 in node order
])
def test_barycentre_sweeps_untangle_the_edges(monkeypatch: pytest.MonkeyPatch, program: str,
                                              at_most: int) -> None:
    data = page.page_data(exprgraph.compile(program), None)
    assert page.layout(data).crossings <= at_most
    monkeypatch.setattr(page, "SWEEPS", 0)
    assert page.layout(data).crossings > at_most


def test_a_huge_long_sum_is_laid_out_in_reasonable_time() -> None:
    import time

    program = " + ".join(f"sin(x{i % 50}*y{i % 37})" for i in range(300))
    compiled = exprgraph.compile(program)
    started = time.perf_counter()
    text = page.page_html(compiled)
    assert time.perf_counter() - started < 20
    assert 'id="size-note"' in text


# --- the op table in JavaScript ------------------------------------------------------


def test_every_op_has_a_javascript_forward_function_and_partials() -> None:
    exported = {op.name for op in javascript.exported_ops()}
    # The whole scalar table, and the tensor ops a scalar program can contain.
    assert {name for name, op in OPS.items() if op.arity} <= exported
    assert {"transpose", "sum", "mean"} <= exported
    assert exported <= set(javascript.JS_FORWARD)
    for op in javascript.exported_ops():
        partials = javascript.partial_functions(op)
        assert len(partials) == op.arity == len(op.derivatives), op.name
    table = javascript.op_table_js()
    for name in exported:
        assert f"\n    {name}: {{arity: " in table


def test_an_op_without_javascript_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    # Adding an op to the table without its JavaScript must fail here, not in a page.
    forward = dict(javascript.JS_FORWARD)
    del forward["sin"]
    monkeypatch.setattr(javascript, "JS_FORWARD", forward)
    javascript.op_table_js.cache_clear()
    try:
        with pytest.raises(LookupError, match="sin"):
            javascript.op_table_js()
        partials = dict(javascript.JS_PARTIALS)
        del partials["pow"]
        monkeypatch.setattr(javascript, "JS_PARTIALS", partials)
        with pytest.raises(LookupError, match="pow"):
            javascript.partial_functions(OPS["pow"])
    finally:
        monkeypatch.undo()
        javascript.op_table_js.cache_clear()


def test_a_hand_written_float_rule_has_a_javascript_one() -> None:
    overridden = {op.name for op in javascript.exported_ops() if op.float_override}
    assert {"pow", "atan2"} <= overridden <= set(javascript.JS_PARTIALS)


def test_the_rules_are_exported_not_copied() -> None:
    # The JavaScript partials come from the Python rules run over JavaScript text.
    assert javascript.partial_functions(OPS["sin"]) == ("(a, o) => F.cos(a[0])",)
    assert javascript.partial_functions(OPS["mul"]) == ("(a, o) => a[1]", "(a, o) => a[0]")
    # min's tie convention comes from its rule, through sign: (1 - sign(a - b))/2.
    assert "F.sign((a[0] - a[1]))" in javascript.partial_functions(OPS["min"])[0]
    # A constant subexpression is folded in Python, as the float compiler folds it.
    assert repr(math.log(2.0)) in javascript.partial_functions(OPS["log2"])[0]
    assert TENSOR_OPS["transpose"].name in javascript.JS_PARTIALS


# --- the command line ----------------------------------------------------------------


def test_the_html_format_comes_from_the_file_name(tmp_path: Path) -> None:
    for name in ("g.html", "g.HTM"):
        text = write_page(tmp_path, *SEED, name=name)
        assert text.startswith("<!DOCTYPE html>")
    result = runner.invoke(app, ["graph", *SEED, "--format", "html"])
    assert result.exit_code == 0 and result.stdout.startswith("<!DOCTYPE html>")


def test_backward_opens_the_page_at_the_backward_pass(tmp_path: Path) -> None:
    assert embedded(write_page(tmp_path, *SEED, "--backward"))["startBackward"] is True


def test_a_loop_is_drawn_unrolled(tmp_path: Path) -> None:
    program = "h[0] = 0; for t = 1..4: h[t] = tanh(w*h[t-1] + u); L = (h[4] - y)^2"
    data = embedded(write_page(tmp_path, program, "--w", "0.5", "--u", "1", "--y", "0.3"))
    names = [node["name"] for node in data["nodes"]]
    assert {"h[1]", "h[2]", "h[3]", "h[4]"} <= set(names)


def _refused(args: list[str], words: str, status: int = 2) -> None:
    result = runner.invoke(app, ["graph", *args])
    assert result.exit_code == status, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and words in lines[0], result.stderr
    assert lines[-1].startswith("hint: ")


def test_vectors_and_matrices_are_refused_cleanly(tmp_path: Path) -> None:
    target = str(tmp_path / "t.html")
    _refused(["L = sum(tanh(W @ x))", "--W", "[[1, 2], [3, 4]]", "--x", "[1, -1]", "-o",
              target], "W is used as a whole matrix (in W @ x)")
    _refused(["W: matrix(m, n); x: vector(n); L = sum(tanh(W @ x))", "-o", target],
             "W is used as a whole matrix")
    assert not Path(target).exists()


def test_roll_and_mismatched_names_are_refused_cleanly(tmp_path: Path) -> None:
    program = "h[0] = 0; for t = 1..4: h[t] = tanh(w*h[t-1] + u); L = (h[4] - y)^2"
    _refused([program, "--roll", "-o", str(tmp_path / "r.html")], "--roll")
    _refused([*SEED, "--format", "html", "-o", str(tmp_path / "r.svg")], "does not match")
    _refused([*SEED, "-o", str(tmp_path / "r.txt")], "cannot tell the format")


def test_too_large_a_graph_is_refused_cleanly(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    # Exit 1, as for a graph too large for Graphviz: the input is valid, the size is not.
    monkeypatch.setattr(page, "PAGE_LIMIT", 4)
    _refused([*SEED, "-o", str(tmp_path / "big.html")], "too large", status=1)


def test_values_outside_the_domain_are_reported_as_for_any_drawing(tmp_path: Path) -> None:
    # An undefined value: a math error (exit 1), no page.
    target = tmp_path / "log.html"
    result = runner.invoke(app, ["graph", "log(x)", "--x", "-1", "-o", str(target)])
    assert result.exit_code == 1 and "must be > 0" in result.stderr
    assert not target.exists()
    # An undefined partial: the page is written (it shows it), then exit 1, as svg does.
    target = tmp_path / "sqrt.html"
    result = runner.invoke(app, ["graph", "sqrt(x)*y", "--x", "0", "--y", "2", "-o",
                                 str(target)])
    assert result.exit_code == 1 and target.exists()


# --- issue 18, the tester's report: vectors read element by element, messages -------------

BPTT = "h[0] = 0; for t = 1..4: h[t] = tanh(w*h[t-1] + u*x[t-1]); L = (h[4] - y)^2"
BPTT_VALUES = ["--w", "0.5", "--u", "1", "--x", "[1, 2, 3, 4]", "--y", "0.3"]


def test_a_vector_read_by_constant_indices_becomes_one_input_per_element(
        tmp_path: Path) -> None:
    # The README's backprop-through-time example: x is only ever read as x[0],
    # ..., x[3], so each element is a number the page steps through.
    data = embedded(write_page(tmp_path, BPTT, *BPTT_VALUES))
    assert [(entry["name"], entry["value"]) for entry in data["inputs"]] == [
        ("w", 0.5), ("u", 1.0), ("x[0]", 1.0), ("x[1]", 2.0), ("x[2]", 3.0), ("x[3]", 4.0),
        ("y", 0.3)]
    names = [node["name"] for node in data["nodes"]]
    assert "x" not in names and not any(node["op"] == "index" for node in data["nodes"])
    # The step reads the element by its name: u*x[0], and ∂(u*x[0])/∂u = x[0].
    products = [node for node in data["nodes"] if node["expr"] == "u*x[0]"]
    assert len(products) == 1
    index = data["nodes"].index(products[0])
    assert {e["partial"] for e in data["edges"] if e["target"] == index} == {"x[0]", "u"}
    # Evaluated here with Python's operators, it is the loop written out.
    values: list[float] = []
    inputs = {entry["node"]: entry["value"] for entry in data["inputs"]}
    functions = {"add": operator.add, "mul": operator.mul, "sub": operator.sub,
                 "pow": operator.pow, "tanh": math.tanh}
    for i, node in enumerate(data["nodes"]):
        values.append(node["value"] if node["kind"] == "const" else inputs[i]
                      if node["kind"] == "input" else
                      functions[node["op"]](*(values[a] for a in node["args"])))
    h = 0.0
    for t in range(4):
        h = math.tanh(0.5 * h + 1.0 * [1, 2, 3, 4][t])
    assert math.isclose(values[data["output"]], (h - 0.3) ** 2, rel_tol=1e-12)
    # Without values the elements are typed in the page, x[0] to x[3].
    data = embedded(write_page(tmp_path, BPTT, name="blank.html"))
    assert [entry["name"] for entry in data["inputs"]] == \
        ["w", "u", "x[0]", "x[1]", "x[2]", "x[3]", "y"]
    # A matrix read element by element: A[1][0] is one number too.
    data = embedded(write_page(tmp_path, "A[0][1]*A[1][0] + x[2]", "--A", "[[1, 2], [3, 4]]",
                               "--x", "[5, 6, 7]", name="matrix.html"))
    assert [(entry["name"], entry["value"]) for entry in data["inputs"]] == [
        ("A[0][1]", 2.0), ("A[1][0]", 3.0), ("x[2]", 7.0)]


def test_vectors_used_whole_are_refused_saying_which_and_where(tmp_path: Path) -> None:
    target = str(tmp_path / "t.html")
    _refused(["sum(x*x)", "--x", "[1, 2]", "-o", target], "x is used as a whole vector")
    _refused(["h[0] = 0; for t = 1..2: h[t] = tanh(W @ x + h[t-1]); h[2]",
              "--W", "[[1, 2], [3, 4]]", "--x", "[1, -1]", "-o", target],
             "W is used as a whole matrix")
    # A matrix's row, X[1], is a whole vector too.
    _refused(["sum(X[1])", "--X", "[[1, 2], [3, 4]]", "-o", target],
             "X[1] is used as a whole vector")
    # Declared, without values: the same.
    _refused(["W: matrix(m, n); x: vector(n); L = sum(tanh(W @ x))", "-o", target],
             "as a whole")
    assert not Path(target).exists()


def test_a_vector_value_for_a_number_names_the_value(tmp_path: Path) -> None:
    target = str(tmp_path / "w2.html")
    _refused(["(x+y)*z", "--x", "[1, 2]", "-o", target],
             "the value given for x is a vector")
    # An element read past the vector's end, or a number where elements are read.
    _refused([BPTT, "--w", "0.5", "--u", "1", "--x", "[1, 2, 3]", "--y", "0.3", "-o", target],
             "out of range")
    _refused(["x[1]*2", "--x", "3", "-o", target], "x")
    assert not Path(target).exists()


def test_the_folder_hint_names_the_chosen_format(tmp_path: Path) -> None:
    for chosen, example in (("html", "graph.html"), ("svg", "graph.svg"),
                            ("mermaid", "graph.mmd"), ("png", "graph.png")):
        result = runner.invoke(app, ["graph", *SEED, "--format", chosen, "-o", str(tmp_path)])
        assert result.exit_code == 2
        assert f"such as {example}" in result.stderr, result.stderr


def test_a_page_is_not_printed_on_a_terminal(tmp_path: Path) -> None:
    # Standard output a terminal (a pseudo-terminal here): refused, as png is;
    # piped (CliRunner's output is not a terminal), the page is printed.
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "exprgraph", "graph", *SEED, "--format",
                               "html"], stdout=follower, stderr=subprocess.PIPE, text=True,
                              cwd=tmp_path, timeout=60, check=False)
        os.close(follower)
        printed = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal is closed: all is read
                break
            if not chunk:
                break
            printed += chunk
    finally:
        os.close(leader)
    assert done.returncode == 2, done.stderr
    assert "not for the terminal" in done.stderr and "-o page.html" in done.stderr
    assert b"<html" not in printed
    result = runner.invoke(app, ["graph", *SEED, "--format", "html"])
    assert result.exit_code == 0 and "<html" in result.stdout


@pytest.mark.parametrize("columns", [60, 80])
def test_the_help_never_cuts_a_formula_or_a_word(columns: int) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": str(columns), "PYTHONIOENCODING": "utf-8"}
    env.pop("TERM", None)
    done = subprocess.run([sys.executable, "-m", "exprgraph", "graph", "--help"],
                          capture_output=True, text=True, encoding="utf-8", env=env,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert "…" not in done.stdout
    # The chain-rule formula is spaced so that it wraps between its factors.
    flat = " ".join(" ".join(line.strip(" │") for line in lines).split())
    assert "∂out/∂node · ∂node/∂arg" in flat
    # Each example command is on a line of its own, whole.
    commands = [line.strip() for line in lines if line.strip().startswith("exprgraph graph ")]
    assert any(c.endswith("-o g.svg") for c in commands), commands
    assert any(c.endswith("-o page.html") for c in commands), commands
    # No word is split across lines (Rich splits a word longer than its column).
    assert "mer maid" not in flat and "|p ng" not in flat
    for line in lines:
        words = line.strip(" │").split()
        assert not words or not re.fullmatch(r"[a-z]{1,3}\|.*", words[0]), line
