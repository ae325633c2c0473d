"""`check` over a class: each program compiled once, each distinct answer checked once.

The oracle is a check with nothing remembered (the caches emptied before
each problem): the remembered verdicts must be the same, word for word.
"""

from __future__ import annotations

import random
from pathlib import Path

from exprgraph.tasks import check

PROBLEMS = [
    ("c = a + b; d = b + 1; e = c * d", {"a": 2, "b": 6},
     {"de/dc": ["d", "b + 1", "c", "2"], "d/db": ["c + d", "a + 2*b + 1", "c*d"],
      "c": ["a + b", 8, "a*b", "8"]}),
    ("z = w*x + b; y = sigmoid(z)", {"w": 0.5, "x": 2, "b": -1},
     {"dy/dz": ["y*(1 - y)", "sigmoid(z)*(1 - sigmoid(z))", "y^2", "0.25"],
      "dy/dw": ["x*y*(1 - y)", "y*(1 - y)", "1/0", "x*q"]}),
    ("f = x^2", {"x": 1}, {"df/dx": ["2*x", "2", "x + x", "sqrt(x)^2*2/x"]}),
    ("g = log(x)", None, {"dg/dx": ["1/x", "exp(-log(x))", "1/abs(x)"]}),
]


def _problems(rng: random.Random, students: int) -> list[check.CheckProblem]:
    found = []
    for student in range(students):
        for index, (program, point, answers) in enumerate(PROBLEMS):
            chosen = {key: rng.choice(options) for key, options in answers.items()}
            found.append(check.CheckProblem(f"student{student}.toml:p{index}", f"p{index}",
                                            program, point, chosen, 1e-4,
                                            f"student{student}.toml"))
    return found


def _fresh(problem: check.CheckProblem) -> check.Report:
    check._programs.clear()
    check._verdicts.clear()
    return check.check_problem(problem)


def test_remembered_verdicts_are_the_fresh_ones_word_for_word() -> None:
    problems = _problems(random.Random(5), 12)
    check._programs.clear()
    check._verdicts.clear()
    warm = [check.check_problem(p).to_dict() for p in problems]
    assert len(check._verdicts) < sum(len(p.answers) for p in problems)  # some were remembered
    assert warm == [_fresh(p).to_dict() for p in problems]


def test_the_same_answer_in_two_students_files_gets_the_same_feedback(tmp_path: Path) -> None:
    # Right at the point, wrong elsewhere: the feedback names a sampled point.
    # The points came from the file's name, so two students got different ones.
    text = ('[[problem]]\nname = "square"\nprogram = "f = x^2"\nat = { x = 1 }\n\n'
            '[problem.answers]\n"df/dx" = "x + 1"\n')
    reports = []
    for name in ("alice.toml", "bob-smith.toml"):
        (tmp_path / name).write_text(text, encoding="utf-8")
        (problem,) = check.read_check_problems(tmp_path / name)
        reports.append(_fresh(problem))
    (first,), (second,) = (r.verdicts for r in reports)
    assert first.verdict == second.verdict == check.INCORRECT
    assert "not everywhere" in first.explanation
    assert first.explanation == second.explanation
