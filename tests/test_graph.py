"""`exprgraph graph`: every node and edge drawn once, with the right numbers.

Numbers are checked against the tutorial's hand-worked values and against an
independent evaluation; DOT is fed to Graphviz when it is installed.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app
from exprgraph.render import draw

runner = CliRunner()
SEED = ["(x+y)*z", "--x", "1", "--y", "3", "--z", "-3"]


def graph(*args: str) -> str:
    result = runner.invoke(app, ["graph", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_dot_has_every_node_and_edge_once_with_the_seed_numbers() -> None:
    text = graph(*SEED, "--format", "dot")
    nodes = dict(re.findall(r'^  (n\d+) \[label="\{ (.*?) \}"', text, re.M))
    assert len(nodes) == 5  # x, y, z, x+y, output
    edges = re.findall(r"^  (n\d+) -> (n\d+)", text, re.M)
    assert len(edges) == len(set(edges)) == 4
    # The tutorial: x + y = 4, out = -12; ∂out/∂x = ∂out/∂y = -3, ∂out/∂z = 4.
    # Each node's adjoint is labelled "adjoint": ∂a/∂b is kept for edges' local partials.
    for name, fragment in (("x", "value 1 | adjoint -3"), ("y", "adjoint -3"),
                           ("z", "adjoint 4"), ("t1", "value 4"), ("out", "adjoint 1")):
        (label,) = [v for v in nodes.values() if v.startswith(f"{name} |")]
        assert fragment in label
    assert "value -12" in " ".join(nodes.values())
    assert '[label="∂out/∂z = t1 = 4"]' in text


def test_backward_edges_are_reversed_and_carry_the_chain_rule_product() -> None:
    forward = re.findall(r"^  (n\d+) -> (n\d+)", graph(*SEED, "--format", "dot"), re.M)
    text = graph(*SEED, "--format", "dot", "--backward")
    backward = re.findall(r"^  (n\d+) -> (n\d+)", text, re.M)
    assert sorted(backward) == sorted((b, a) for a, b in forward)
    assert "∂out/∂t1·∂t1/∂x = (-3)·1 = -3" in text


@pytest.mark.parametrize("program", ["(x+y)*z", "q = x*y; q + q*q",
                                     "c = a + b; d = b + 1; e = c * d",
                                     "sin(x)*exp(y) + sqrt(x)*log(y) - pi"])
def test_drawings_match_an_independent_evaluation(program: str) -> None:
    compiled = exprgraph.compile(program)
    point = {name: 0.5 + k for k, name in enumerate(compiled.inputs)}
    evaluation = compiled.evaluate(point)
    picture = draw.drawing(compiled, evaluation)
    assert [n.name for n in picture.nodes] == [n.name for n in compiled.graph.nodes]
    assert len(picture.edges) == sum(len(n.args) for n in compiled.graph.nodes)
    for node in picture.nodes:
        assert node.value == evaluation.values[node.name]
    mermaid = draw.mermaid_text(picture)
    assert mermaid.count("-->") == len(picture.edges)
    for node in picture.nodes:
        assert mermaid.count(f"  n{node.index}[") == 1


def test_terminal_draws_a_shared_node_once_and_refers_to_it() -> None:
    text = graph("q = x*y; q + q*q", "--x", "2", "--y", "3")
    assert text.count("q = x*y") == 1
    assert text.count("↑ q") == 2  # both uses in q*q refer back
    assert "= 42" in text  # q + q² at x=2, y=3: 6 + 36


def test_terminal_stays_bounded_on_a_deep_graph() -> None:
    text = graph("sin(" * 300 + "x" + ")" * 300, "--x", "0.1")
    assert "more nodes not drawn" in text
    # Display width: an adjoint's overline (x̅) is a combining character.
    assert max(cell_len(line) for line in text.splitlines()) <= 80
    widest_indent = max(len(line) - len(line.lstrip("│├└─ ")) for line in text.splitlines())
    assert widest_indent <= 4 * draw.DEPTH_LIMIT + 4


def test_without_values_the_drawing_has_structure_only() -> None:
    text = graph("(x+y)*z", "--format", "dot")
    assert "value" not in text and "∂out/∂t1 = z" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("backward", [False, True])
def test_graphviz_accepts_the_dot(backward: bool, tmp_path) -> None:  # type: ignore[no-untyped-def]
    compiled = exprgraph.compile("c = a + b; d = b + 1; e = c * d")
    dot = draw.dot_text(draw.drawing(compiled, compiled.evaluate(a=2, b=6)), backward)
    done = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "<svg" in done.stdout
    target = tmp_path / "g.svg"
    graph(*SEED, "--format", "svg", "-o", str(target))
    assert target.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_missing_graphviz_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = runner.invoke(app, ["graph", *SEED, "--format", "svg"])
    assert result.exit_code == 2
    assert "Graphviz" in result.stderr and "--format dot" in result.stderr


def test_png_needs_a_file_on_a_terminal_and_terminal_needs_no_file(tmp_path: Path) -> None:
    # A file name under tmp_path: were it ever written, never into the working folder.
    result = runner.invoke(app, ["graph", *SEED, "--format", "terminal", "-o",
                                 str(tmp_path / "x.txt")])
    assert result.exit_code == 2 and "terminal" in result.stderr


# --- names: a name the program assigns is the name its node shows -------------------


def _nodes(program: str) -> dict[str, tuple[str, ...]]:
    """Each node's name -> its arguments' names."""
    graph = exprgraph.compile(program).graph
    return {n.name: tuple(graph.nodes[a].name for a in n.args) for n in graph.nodes}


def test_an_assigned_constant_is_a_named_node_of_its_own() -> None:
    compiled = exprgraph.compile("a = 1; b = a + 1")
    assert _nodes("a = 1; b = a + 1") == {"a": (), "1": (), "b": ("a", "1")}
    values = compiled.evaluate().values
    assert (values["a"], values["b"]) == (1.0, 2.0)  # by hand: 1, 1 + 1
    assert _nodes("a = 1; b = 1; c = a*b*x")["t1"] == ("a", "b")
    assert _nodes("c = x + 1; a = 1; a*c") == {"x": (), "1": (), "c": ("x", "1"), "a": (),
                                                "out": ("a", "c")}
    graph = exprgraph.compile("a = pi; b = a; a*b*x").graph
    assert graph.nodes[graph.index("a")].aliases == ("b",)  # a name for a name: an alias


@pytest.mark.parametrize(("program", "output", "value"), [
    ("3", "out", 3.0), ("x = 1", "x", 1.0), ("pi", "out", math.pi), ("a = e", "a", math.e),
    ("out = 2; 5", "t1", 5.0), ("k = 2; 2", "out", 2.0),
])
def test_a_constant_output_is_named_by_the_program_or_out(program: str, output: str,
                                                          value: float) -> None:
    compiled = exprgraph.compile(program)
    assert compiled.output == output
    assert compiled.evaluate().value == value
    data = json.loads(runner.invoke(app, ["eval", program, "--format", "json"]).stdout)
    assert (data["output"], data["value"]) == (output, value)


def test_named_constants_leave_derivatives_in_numbers() -> None:
    # d/dx (k*x^2 + k) with k = 3 is 6x: 12 at x = 2 (by hand), printed without k.
    compiled = exprgraph.compile("k = 3; y = k*x^2 + k")
    assert compiled.evaluate(x=2).gradient == {"x": 12.0}
    assert compiled.derivative("x") == "6*x"
    assert _nodes("k = 3; y = k*x^2 + k")["y"][1] == "k"


def test_a_graph_too_large_for_graphviz_is_refused_up_front(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    # 10,000 operations made Graphviz time out after 124 s with a traceback.
    monkeypatch.setattr(shutil, "which", lambda name: "/bin/true")  # never reached
    program = "+".join(f"x{i}*y{i}" for i in range(2000))
    result = runner.invoke(app, ["graph", program, "--format", "svg", "-o",
                                 str(tmp_path / "big.svg")])
    assert result.exit_code == 1
    assert "too large for Graphviz" in result.stderr
    assert not (tmp_path / "big.svg").exists()


def test_a_graphviz_timeout_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    def slow(*args: object, **kwargs: object) -> object:
        raise subprocess.TimeoutExpired(cmd="dot", timeout=draw.IMAGE_SECONDS)

    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(subprocess, "run", slow)
    with pytest.raises(exprgraph.ExprGraphError, match="did not finish"):
        draw.render_image("digraph { a -> b }", "svg")
