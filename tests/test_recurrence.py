"""Loops: `for t = 1..4: h[t] = ...` unrolled into ordinary nodes (syntax/parse.py),
backprop through time (tasks/recurrence.py) and the rolled drawing.

Oracles: the same recurrence written out by hand, step by step, with the
text built here by string formatting (not by the parser's unrolling); the
same recurrence with a separate copy of the weight per step (w1, ..., w4),
whose gradients are the per-step shares a shared weight's gradient sums; and
central differences. PyTorch's autograd on the same recurrence is in
tests/test_recurrence_oracle.py.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app
from exprgraph.core.errors import ParseError, ProgramError
from exprgraph.core.numbers import format_value
from exprgraph.syntax.parse import MAX_UNROLLED_NODES, parse_program, parse_with
from exprgraph.tasks.recurrence import roll, through_time

runner = CliRunner()

ISSUE_PROGRAM = """h[0] = 0
for t = 1..4: h[t] = tanh(w*h[t-1] + u*x[t-1])
L = (h[4] - y)^2"""


def _by_hand(steps: int, weight: str = "w") -> str:
    """The issue's recurrence over `steps` steps, one statement per step, with
    the weight named `weight.format(t=step)` (w, or w1, w2, ...)."""
    lines = ["h0 = 0"]
    for t in range(1, steps + 1):
        lines.append(f"h{t} = tanh({weight.format(t=t)}*h{t - 1} + u*x{t - 1})")
    lines.append(f"L = (h{steps} - y)^2")
    return "\n".join(lines)


def _scalar_values(xs: list[float], w: float, u: float, y: float) -> dict[str, float]:
    return {"w": w, "u": u, "y": y, **{f"x{k}": value for k, value in enumerate(xs)}}


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args))


finite = st.floats(-1.5, 1.5, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(xs=st.lists(finite, min_size=4, max_size=4), w=finite, u=finite, y=finite)
def test_the_unrolled_loop_equals_the_program_written_out_by_hand(
        xs: list[float], w: float, u: float, y: float) -> None:
    looped = exprgraph.compile(ISSUE_PROGRAM).evaluate(
        {"w": w, "u": u, "y": y, "x": np.array(xs)})
    by_hand = exprgraph.compile(_by_hand(4)).evaluate(_scalar_values(xs, w, u, y))
    assert looped.value == pytest.approx(by_hand.value, rel=1e-12, abs=1e-15)
    for name in ("w", "u", "y"):
        assert looped.gradient[name] == pytest.approx(by_hand.gradient[name], rel=1e-9,
                                                      abs=1e-15)
    expected_x = [by_hand.gradient[f"x{k}"] for k in range(4)]
    assert np.allclose(looped.gradient["x"], expected_x, rtol=1e-9, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(xs=st.lists(finite, min_size=4, max_size=4), w=finite, u=finite, y=finite)
def test_a_shared_weights_share_per_step_is_the_gradient_of_its_copy_in_that_step(
        xs: list[float], w: float, u: float, y: float) -> None:
    """Backprop through time: ∂L/∂w is the sum over steps, and the share of
    step t is ∂L/∂w_t for a program whose step t has its own copy w_t."""
    program = exprgraph.compile(ISSUE_PROGRAM)
    evaluation = program.evaluate({"w": w, "u": u, "y": y, "x": np.array(xs)})
    shared = {entry.name: entry for entry in through_time(program, evaluation)}
    copies = exprgraph.compile(_by_hand(4, "w{t}")).evaluate(
        {**_scalar_values(xs, 0.0, u, y), **{f"w{t}": w for t in range(1, 5)}})
    shares = {share.step: share.contribution for share in shared["w"].shares}
    assert sorted(shares) == [1, 2, 3, 4]
    for t in range(1, 5):
        assert shares[t] == pytest.approx(copies.gradient[f"w{t}"], rel=1e-9, abs=1e-15)
    assert shared["w"].gradient == pytest.approx(evaluation.gradient["w"])


def test_the_gradient_agrees_with_central_differences() -> None:
    program = exprgraph.compile(ISSUE_PROGRAM)
    values = {"w": 0.7, "u": -0.4, "y": 0.2, "x": np.array([0.5, -1.0, 0.3, 0.9])}
    gradient = program.evaluate(values).gradient
    step = 1e-6
    for name in ("w", "u", "y"):
        up = program.evaluate({**values, name: values[name] + step}).value
        down = program.evaluate({**values, name: values[name] - step}).value
        assert gradient[name] == pytest.approx((up - down) / (2 * step), rel=1e-6, abs=1e-10)


def test_vector_states_match_the_loop_written_out() -> None:
    looped = """h[0] = h0
for t = 1..3: h[t] = tanh(W @ h[t-1] + U @ X[t-1] + t)
L = sum(h[3]^2)"""
    by_hand = "\n".join(["g0 = h0", *[f"g{t} = tanh(W @ g{t - 1} + U @ X[{t - 1}] + {t})"
                                      for t in range(1, 4)], "L = sum(g3^2)"])
    rng = np.random.default_rng(7)
    values = {"W": rng.normal(size=(2, 2)), "U": rng.normal(size=(2, 3)),
              "X": rng.normal(size=(3, 3)), "h0": rng.normal(size=2)}
    first = exprgraph.compile(looped).evaluate(values)
    second = exprgraph.compile(by_hand).evaluate(values)
    assert first.value == pytest.approx(second.value, rel=1e-12)
    for name in values:
        assert np.allclose(first.gradient[name], second.gradient[name], rtol=1e-10, atol=1e-14)


def test_indexed_names_are_ordinary_nodes_and_each_step_records_its_nodes() -> None:
    graph = parse_program(ISSUE_PROGRAM)
    for t in range(5):
        assert f"h[{t}]" in graph.names
    (loop,) = graph.loops
    assert (loop.variable, loop.first, loop.last, loop.assigns) == ("t", 1, 4, ("h",))
    steps = loop.step_of()
    for t in range(1, 5):
        assert steps[graph.names[f"h[{t}]"]] == t
    # Inputs and constants belong to no step; every step builds the same operations.
    assert all(graph.nodes[n].args for step in loop.steps for n in step)
    assert len({len(step) for step in loop.steps}) == 1


def test_the_fast_parser_and_lark_agree_on_loops() -> None:
    for text in (ISSUE_PROGRAM, "a[0] = 1; for k = -2..3: a[k+3] = a[k+2]*2 + k",
                 "h[0]=x; for t=1..2: h[t] = h[t-1]^2\nL = h[2]"):
        fast = parse_with(text, frozenset(), fast=True)
        slow = parse_with(text, frozenset(), fast=False)
        assert [(n.name, n.op.name, n.args) for n in fast.nodes] == \
            [(n.name, n.op.name, n.args) for n in slow.nodes]
        assert fast.loops == slow.loops


def test_the_loop_variable_is_a_value_in_the_body_and_bounds_may_be_negative() -> None:
    value = exprgraph.compile("a[0] = 1; for k = -2..3: a[k+3] = a[k+2]*2 + k").evaluate({}).value
    expected = 1.0
    for k in range(-2, 4):
        expected = expected * 2 + k
    assert value == expected


@pytest.mark.parametrize(("program", "message", "place"), [
    ("h[0]=0; for t = 1..4: h[t] = h[t-2]+1", "h[-1] is not assigned before this use "
     "(t-2 with t = 1)", "t-2]"),
    ("h[0]=0; for t = 1..3: h[t] = h[t+1]", "h[2] is not assigned before this use "
     "(t+1 with t = 1)", "t+1]"),
    ("for t = 5..1: h[t]=1", "runs no steps", "1: h"),
    ("h[0]=1; y = h*2", "h is an indexed sequence", "h*2"),
    ("for t = 1..3: y = t", "a loop's body must assign an element", "y ="),
    ("for t = 1..3: h[t] = 1, y = t", "a loop's body must assign an element", "y ="),
    ("for t = 1..3: h[t] = h[t-1] + 1", "h[0] is not assigned before this use (t-1 with t = 1)",
     "t-1]"),
    ("t = 3; h[0] = 0; for t = 1..4: h[t] = h[t-1] + t", "t is assigned already", "t = 1"),
    ("for h = 1..4: h[h] = 1", "h is the loop's variable", "h[h]"),
    ("h[0] = 0; for t = 1..2: t = 3, h[t] = 1", "a loop's body must assign", "t = 3"),
    ("2*for + for", "for is a keyword", "for +"),
    ("for t = 1...4: h[t] = 1", "a range has two dots, not three", ".4"),
    ("for t = 1..99999999999999999999999: h[t] = 1", "is too large", "999"),
    ("h[99999999999999999999] = 0", "the index 99999999999999999999 is too large", "999"),
    ("h[0]=1; h[0]=2", "h[0] is assigned twice", "h[0]=2"),
    ("x[i]+1", "an index must be a whole number, not i", "i]"),
    ("for t = 1..3: for s = 1..2: h[t] = 1", "a loop inside a loop", "for s"),
    ("y = h[0]; h[0] = 1", "h is used as an input, so h[0] cannot be assigned", "h[0] = 1"),
    ("for t = 1.5..3: h[t]=1", "a loop bound must be a whole number", "1.5"),
    ("h[0]=1; h = 2", "h is an indexed sequence, so it cannot also be assigned", "h = 2"),
    ("h[0]=1; h: scalar", "h is an indexed sequence, so it cannot be declared", "h: s"),
    ("for sin = 1..2: h[sin] = 1", "sin is a function", "sin ="),
    ("h[0, 1] = 2", "an indexed name takes one index", "1]"),
    (f"for t = 1..{MAX_UNROLLED_NODES + 1}: h[t] = 1", "a loop unrolls to at most", "for"),
    ("h[0]=0; for t=1..30000: h[t] = sin(h[t-1])+cos(h[t-1])*x",
     "the loop would unroll to about", "for"),
])
def test_loop_mistakes_are_errors_at_their_place(program: str, message: str, place: str) -> None:
    with pytest.raises((ProgramError, ParseError)) as caught:
        parse_program(program)
    assert message in caught.value.message
    assert caught.value.column == program.index(place) + 1
    result = _run("eval", program, "--x", "1")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_eval_shows_steps_and_the_sum_over_steps() -> None:
    result = runner.invoke(app, ["eval", ISSUE_PROGRAM, "--w", "0.5", "--u", "1", "--x",
                                 "[1, 2, 3, 4]", "--y", "0.3"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "Through time" in result.output
    evaluation = exprgraph.compile(ISSUE_PROGRAM).evaluate(
        {"w": 0.5, "u": 1.0, "x": np.array([1.0, 2, 3, 4]), "y": 0.3})
    assert f"∂L/∂w = {format_value(evaluation.gradient['w'])}" in result.output
    header = next(line for line in result.output.splitlines() if line.startswith("┃ node"))
    row = next(line for line in result.output.splitlines() if line.startswith("│ h[3] "))
    columns = [cell.strip() for cell in header.split("┃")]
    assert row.split("│")[columns.index("t")].strip() == "3"  # its step, under the column t


def test_eval_json_has_each_nodes_step_and_the_shares_per_step() -> None:
    result = _run("eval", ISSUE_PROGRAM, "--w", "0.5", "--u", "1", "--x", "[1, 2, 3, 4]",
                  "--y", "0.3", "--format", "json")
    data = json.loads(result.stdout)
    steps = {node["name"]: node.get("step") for node in data["nodes"]}
    assert steps["h[2]"] == 2 and steps["w"] is None and steps["L"] is None
    shares = data["through_time"]["w"]
    assert [row["step"] for row in shares["steps"]] == [1, 2, 3, 4]
    assert math.fsum(row["contribution"] for row in shares["steps"]) == \
        pytest.approx(data["gradient"]["w"], rel=1e-12)
    assert shares["gradient"] == data["gradient"]["w"]


def test_the_rolled_view_is_one_cell_with_a_back_edge_per_state() -> None:
    graph = parse_program(ISSUE_PROGRAM)
    rolled = roll(graph)
    (cell,) = rolled.cells
    assert cell.title == "for t = 1..4"
    assert len(cell.nodes) == len(graph.loops[0].steps[1])  # one step's operations
    back = [edge for edge in rolled.edges if edge.kind == "back"]
    assert len(back) == 1 and back[0].label == "×4"
    assert rolled.nodes[back[0].source].name == "h[t]"
    assert rolled.nodes[back[0].target].args  # fed into an operation of the cell
    names = {rolled.nodes[i].name for i in rolled.shown}
    assert {"h[t]", "w", "u", "x", "y", "h[0]", "L"} <= names
    assert not names & {"h[1]", "h[2]", "h[3]", "h[4]"}  # the other steps are rolled up
    entering = [edge for edge in rolled.edges if edge.kind == "enter"]
    assert [rolled.nodes[e.source].name for e in entering] == ["h[0]"]
    leaving = [edge for edge in rolled.edges if edge.kind == "leave"]
    assert [edge.label for edge in leaving] == ["t = 4"]


def test_a_loop_invariant_node_is_drawn_once_outside_the_cell() -> None:
    rolled = roll(parse_program("h[0]=1; for t=1..5: h[t] = h[t-1]*(w*2) + c"))
    (cell,) = rolled.cells
    invariant = [i for i in rolled.shown if rolled.nodes[i].name == "v1"]
    assert invariant and invariant[0] not in cell.nodes


@pytest.mark.parametrize("fmt", ["dot", "mermaid"])
def test_graph_roll_writes_a_cluster_and_a_labelled_back_edge(fmt: str) -> None:
    result = _run("graph", ISSUE_PROGRAM, "--roll", "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "dot":
        assert "subgraph cluster_loop0" in result.stdout and 'label="×4"' in result.stdout
    else:
        assert 'subgraph loop0["for t = 1..4"]' in result.stdout
        assert '-.->|"×4"|' in result.stdout
    assert "h[3]" not in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["x + 1", "--roll"], "no loop of two or more steps"),
    ([ISSUE_PROGRAM, "--roll", "--w", "1"], "no place for values"),
    ([ISSUE_PROGRAM, "--roll", "--backward", "--format", "dot"], "not the gradient flow"),
])
def test_graph_roll_refuses_what_it_cannot_show(args: list[str], message: str) -> None:
    result = _run("graph", *args)
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")


def test_the_unrolled_graph_draws_every_step() -> None:
    result = _run("graph", ISSUE_PROGRAM, "--format", "dot", "--x", "[1, 2, 3, 4]", "--w", "1",
                  "--u", "1", "--y", "0")
    assert result.exit_code == 0, result.output
    for t in range(5):
        assert f"h[{t}]" in result.stdout


def test_steps_overline_an_indexed_name_but_not_its_index() -> None:
    result = _run("eval", "h[0] = 0; for t = 1..2: h[t] = w*h[t-1] + x; L = h[2]", "--w", "2",
                  "--x", "1", "--steps")
    assert result.exit_code == 0, result.output
    overline = "\u0305"
    assert f"h{overline}[1] = " in result.output
    assert f"[{overline}" not in result.output


def test_a_body_of_several_statements_separated_by_commas() -> None:
    looped = ("h[0] = 0\nfor t = 1..3: a[t] = w*h[t-1] + x[t-1], h[t] = tanh(a[t]) + a[t]/4\n"
              "L = h[3]^2")
    by_hand = "\n".join(["g0 = 0", *[f"b{t} = w*g{t - 1} + x{t - 1}\ng{t} = tanh(b{t}) + b{t}/4"
                                     for t in range(1, 4)], "L = g3^2"])
    values = {"w": 0.8, "x": np.array([0.3, -1.2, 0.5])}
    first = exprgraph.compile(looped).evaluate(values)
    second = exprgraph.compile(by_hand).evaluate(
        {"w": 0.8, **{f"x{k}": float(v) for k, v in enumerate(values["x"])}})
    assert first.value == pytest.approx(second.value, rel=1e-12)
    assert first.gradient["w"] == pytest.approx(second.gradient["w"], rel=1e-10)
    graph = parse_program(looped)
    assert {"a[1]", "a[3]", "h[3]"} <= set(graph.names)
    assert graph.loops[0].assigns == ("a", "h")
    for fast in (True, False):
        again = parse_with(looped, frozenset(), fast=fast)
        assert [n.name for n in again.nodes] == [n.name for n in graph.nodes]


def test_a_long_vector_loop_has_matrix_gradients_without_deep_recursion() -> None:
    """500 steps once raised RecursionError while collecting the sum over steps."""
    steps = 600
    program = exprgraph.compile(
        f"h[0] = 0; for t = 1..{steps}: h[t] = tanh(w*h[t-1] + u*x[t-1]); L = h[{steps}]")
    values = {"w": 0.5, "u": 0.1, "x": np.linspace(-1, 1, steps)}
    evaluation = program.evaluate(values)
    formulas = program.matrix_gradients(evaluation.shapes)
    assert set(formulas) == {"w", "u", "x"}


@pytest.mark.parametrize("program", [
    "h[0]=0; for t = 1..3: h[t] = h[t-1] + w; for s = 4..6: h[s] = h[s-1]*w; L = h[6]",
    "h[0]=0; for t = 1..3: h[t] = h[t-1] + w; L = h[3] + h[1]",
    "for t = 1..3: h[t] = w*x[t-1]; L = h[1] + h[2] + h[3]",
    "h[0]=1; for t=1..5: h[t] = h[t-1]*(w*2) + c",
])
def test_every_rolled_edge_joins_drawn_nodes_and_every_read_shows(program: str) -> None:
    graph = parse_program(program)
    rolled = roll(graph)
    for edge in rolled.edges:
        assert edge.source in rolled.shown and edge.target in rolled.shown
    # Each value read after its loop reaches its reader, labelled with its step.
    for target, _, source in graph.edges():
        # (A hidden leaf is a step's index position, shown in the cell as t-1.)
        if target in rolled.shown and source not in rolled.shown and graph.nodes[source].args:
            assert any(edge.target == target and edge.label for edge in rolled.edges), \
                graph.nodes[target].name
    result = _run("graph", program, "--roll", "--format", "dot")
    declared = {line.split()[0] for line in result.stdout.splitlines()
                if "[label=\"{" in line}
    used = {part for line in result.stdout.splitlines() if "->" in line
            for part in line.split()[:3:2]}
    assert used <= declared


def test_rolling_a_loop_that_reads_two_steps_back_is_refused() -> None:
    with pytest.raises(ProgramError, match="read only the step before"):
        roll(parse_program("h[0]=0; h[1]=1; for t = 2..5: h[t] = h[t-1] + h[t-2]*w; L = h[5]"))


@settings(max_examples=20, deadline=None)
@given(xs=st.lists(finite, min_size=3, max_size=3), w=finite)
def test_a_node_computed_once_for_every_step_splits_its_share_by_step(
        xs: list[float], w: float) -> None:
    """w^2 is one node that every step uses; step t's share of ∂L/∂w counts its
    use of w^2 too: the gradient of step t's own copy of w."""
    program = exprgraph.compile(
        "h[0] = 0; for t = 1..3: h[t] = tanh(w*h[t-1] + w^2*x[t-1]); L = h[3]")
    evaluation = program.evaluate({"w": w, "x": np.array(xs)})
    (shared,) = [e for e in through_time(program, evaluation) if e.name == "w"]
    copies = exprgraph.compile("\n".join(
        ["g0 = 0", *[f"g{t} = tanh(w{t}*g{t - 1} + w{t}^2*x{t - 1})" for t in range(1, 4)],
         "L = g3"])).evaluate({**{f"w{t}": w for t in range(1, 4)},
                              **{f"x{k}": v for k, v in enumerate(xs)}})
    shares = {share.step: share.contribution for share in shared.shares}
    assert set(shares) == {1, 2, 3}
    for t in range(1, 4):
        assert shares[t] == pytest.approx(copies.gradient[f"w{t}"], rel=1e-9, abs=1e-14)


def test_the_through_time_table_keeps_each_inputs_sum_when_rows_are_limited() -> None:
    result = _run("eval", "h[0] = 0; for t = 1..120: h[t] = tanh(w*h[t-1] + u); L = h[120]",
                  "--w", "0.5", "--u", "0.1", "--max-rows", "10")
    assert result.exit_code == 0
    assert "∂L/∂w = " in result.output and "∂L/∂u = " in result.output
    assert "116 more steps not shown" in result.output


def test_unnamed_nodes_do_not_read_as_steps_of_a_loop_over_t() -> None:
    graph = parse_program(ISSUE_PROGRAM)
    generated = [n.name for n in graph.nodes if n.name not in graph.assigned and n.args]
    assert generated and all(name.startswith("v") for name in generated)
    other = parse_program("h[0] = 0; for k = 1..2: h[k] = h[k-1] + x; L = h[2]*2 + 1")
    assert any(n.name.startswith("t") and n.name[1:].isdigit() for n in other.nodes)


@pytest.mark.parametrize(("answer", "verdict"), [
    ("2*(y - h[4])", "✓ correct"), ("2*(h[4] - y)", "✗"), ("2*(y - h[3])", "✗")])
def test_check_reads_an_answer_in_the_programs_indexed_names(answer: str, verdict: str) -> None:
    result = _run("check", "h[0]=0; for t=1..4: h[t]=tanh(w*h[t-1]+u*t); L=(h[4]-y)^2",
                  "--answer", f"dL/dy={answer}")
    assert verdict in result.output
    assert "not a name of the program" not in result.output


def test_a_program_without_loops_does_not_load_the_loop_code() -> None:
    """Start-up is what every command pays: eval of a scalar program must not
    import the recurrence module (it once did, from the node table)."""
    import subprocess
    import sys

    code = ("import sys\nfrom exprgraph.cli import app\n"
            "try:\n    app(['eval', '(x+y)*z', '--x', '1', '--y', '3', '--z', '-3'])\n"
            "except SystemExit:\n    pass\n"
            "print('LOADED' if 'exprgraph.tasks.recurrence' in sys.modules else 'NOT LOADED')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip().endswith("NOT LOADED"), done.stdout[-300:] + done.stderr[-300:]
