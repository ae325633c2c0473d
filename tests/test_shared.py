"""Problems that share a program: compiled once, evaluated at all points together.

The oracle everywhere is the old path: each problem solved alone
(`batch.solve`: its own parse, the scalar passes). Results must be the same
JSON text, error for error, in the same order; and the shared path must
really be taken (`shared._cache` and the `checked` flags say so), or these
tests would pass by falling back.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exprgraph
from exprgraph.passes import rows as array_rows
from exprgraph.passes.autodiff import adjoints
from exprgraph.passes.evaluate import evaluate
from exprgraph.tasks import batch, shared
from tests.strategies import KINKED_FUNCTIONS, SMOOTH_FUNCTIONS, expressions

FUNCTIONS = SMOOTH_FUNCTIONS + KINKED_FUNCTIONS


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    shared._cache.clear()


def texts(results: list[dict]) -> list[str]:
    return [json.dumps(r) for r in results]


PLAIN = batch.Options()


def alone(problems: list[batch.Problem], options: batch.Options = PLAIN) -> list[str]:
    return texts([batch.solve(p, options) for p in problems])


def together(problems: list[batch.Problem], options: batch.Options = PLAIN) -> list[str]:
    return texts(batch.solve_all(problems, options))


def line_file(tmp_path: Path, lines: list[str]) -> list[batch.Problem]:
    path = tmp_path / "lines.expr"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list(batch.read_problems(path))


def points_of(program: str, rng: random.Random, count: int, spread: float = 3.0) -> list[str]:
    names = sorted(exprgraph.compile(program).inputs)
    lines = []
    for _ in range(count):
        # Round values, zeros and negatives: domain errors, 0^y, zero adjoints.
        choices = [0, 1, -1, 2, 0.5, round(rng.uniform(-spread, spread), 3)]
        where = ", ".join(f"{n}={rng.choice(choices)}" for n in names)
        lines.append(f"{program} where {where}" if where else program)
    return lines


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=expressions(FUNCTIONS, kinked=True, max_leaves=10), seed=st.integers(0, 10**6))
def test_a_shared_program_gives_each_point_s_own_result(program: str, seed: int,
                                                        tmp_path_factory: pytest.TempPathFactory
                                                        ) -> None:
    shared._cache.clear()
    lines = points_of(program, random.Random(seed), 40)
    problems = line_file(tmp_path_factory.mktemp("shared"), lines)
    assert together(problems) == alone(problems)


def test_the_shared_path_is_taken_and_agrees_on_a_course_file(tmp_path: Path) -> None:
    rng = random.Random(3)
    programs = ["(x+y)*z", "tanh(w*x + b)", "log(x)*sqrt(y) + x^y", "0*sqrt(x) + x/y",
                "sigmoid(x*y)^2 - exp(x)/(1 + y^2)", "atan2(y, x) + hypot(x, y)"]
    lines = [line for program in programs for line in points_of(program, rng, 60)]
    rng.shuffle(lines)  # interleaved: grouped within the chunk all the same
    problems = line_file(tmp_path, lines)
    assert together(problems) == alone(problems)
    compiled = [key[0] for key, entry in shared._cache.items() if entry.checked]
    assert sorted(compiled) == sorted(programs)
    # Errors (log of a negative, x/0, 0^-1, ...) are among them, each its own.
    errors = [r for r in batch.solve_all(problems, batch.Options()) if "error" in r]
    assert errors and all(r["error"]["kind"] for r in errors)


def test_derivatives_are_computed_once_and_the_same(tmp_path: Path) -> None:
    problems = line_file(tmp_path, points_of("x^2*sin(y) + y", random.Random(1), 20))
    options = batch.Options(derivatives=True)
    assert together(problems, options) == alone(problems, options)


def test_problem_sets_share_their_points(tmp_path: Path) -> None:
    points = ", ".join(f"{{ x = {x}, y = {y} }}" for x in (-1, 0, 0.5, 2) for y in (-2, 0, 3))
    (tmp_path / "set.toml").write_text(
        '[[problem]]\nname = "p"\nprogram = "q = x*y; f = log(q^2 + 1) / y"\n'
        f"at = [{points}]\nwrt = [\"x\"]\n\n"
        '[[problem]]\nname = "bad-wrt"\nprogram = "x + y"\n'
        f"at = [{points}]\nwrt = [\"z\"]\n", encoding="utf-8")
    problems = list(batch.read_problems(tmp_path / "set.toml"))
    assert len(problems) == 24
    assert together(problems) == alone(problems)
    assert any(entry.checked for entry in shared._cache.values())


@pytest.mark.parametrize("lines", [
    ["x*y where x=1, y=2"] * 5 + ["x*y where x=3, y=4"] * 5,  # plain: shared
    [f"x*y where x={k}, y=pi/2" for k in range(10)],  # a constant expression: parsed
    [f"x*y where x={k}, x=2" for k in range(10)],  # a name twice: the parser's error
    [f"x*y where x=1e{k}, y=2" for k in range(300, 310)],  # exponents: parsed
    [f"x # note where x={k}" for k in range(10)],  # `where` inside a comment
    [f"x*y where x={k}" for k in range(10)],  # y has no value
    [f"x where x={k}, y=1" for k in range(10)],  # y is not used
    [f"exp(x) where x={k}" for k in (1, 700, 710, 800, -800, 2, 3, 4, 5, 6)],  # overflow
])
def test_lines_the_shared_path_refuses_or_fails_are_as_before(tmp_path: Path,
                                                              lines: list[str]) -> None:
    problems = line_file(tmp_path, lines)
    assert together(problems) == alone(problems)


def test_a_disagreement_sends_the_program_the_old_way(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The guard: should the arrays ever disagree with the point alone, the
    # program's points are all solved alone (here the arrays are made wrong).
    real = array_rows.forward_rows

    def off_by_one(*args: object, **kwargs: object) -> array_rows.Rows:
        found = real(*args, **kwargs)  # type: ignore[arg-type]
        found.values[-1] = found.values[-1] + 1.0
        return found

    monkeypatch.setattr(array_rows, "forward_rows", off_by_one)
    problems = line_file(tmp_path, [f"x^2 where x={k}" for k in range(20)])
    assert together(problems) == alone(problems)
    assert [entry.program for entry in shared._cache.values()] == [None]


@settings(max_examples=40, deadline=None)
@given(program=expressions(FUNCTIONS, kinked=True, max_leaves=10),
       columns=st.lists(st.tuples(*[st.floats(-3, 3, allow_nan=False)] * 3), min_size=1,
                        max_size=12))
def test_arrays_give_the_scalar_passes_floats_bit_for_bit(program: str,
                                                          columns: list[tuple[float, ...]]
                                                          ) -> None:
    import numpy as np

    graph = exprgraph.compile(program, inputs=("x", "y", "z")).graph
    data = {name: np.array([c[k] for c in columns]) for k, name in enumerate("xyz")}
    found = array_rows.forward_rows(graph.nodes, data, len(columns))
    array_rows.reverse_rows(graph.nodes, graph.output, found)
    for row, point in enumerate(columns):
        values = dict(zip("xyz", point, strict=True))
        try:
            scalar = evaluate(graph, values)
            grads = adjoints(graph, scalar)
        except exprgraph.MathError:
            assert found.bad[row]
            continue
        if found.bad[row]:
            continue  # the arrays may give up where the scalar passes do not; never the reverse
        for index, value in enumerate(scalar):
            assert math.copysign(1, found.row(found.values[index], row)) == \
                math.copysign(1, value) or value == 0
            assert found.row(found.values[index], row) == value
        for index in graph.inputs:
            expected = grads[index]
            got = found.row(found.adjoints[index], row) if index in found.adjoints else 0.0
            assert got == expected
