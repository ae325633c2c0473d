"""`exprgraph graph`: every node and edge drawn once, with the right numbers.

Numbers are checked against the tutorial's hand-worked values and against an
independent evaluation; DOT is fed to Graphviz when it is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
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
    labels = " ".join(nodes.values())
    for fragment in ("value 4", "value -12", "∂out/∂x -3", "∂out/∂y -3", "∂out/∂z 4",
                     "∂out/∂out 1"):
        assert fragment in labels
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
    assert max(len(line) for line in text.splitlines()) <= 80
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


def test_png_needs_a_file_on_a_terminal_and_terminal_needs_no_file() -> None:
    result = runner.invoke(app, ["graph", *SEED, "-o", "x.txt"])
    assert result.exit_code == 2 and "terminal" in result.stderr
