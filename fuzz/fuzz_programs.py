"""A coverage-guided fuzz target (atheris) for every way text gets in.

    pip install atheris
    python fuzz/fuzz_programs.py -max_total_time=60

Feeds arbitrary bytes, decoded as a program, to the parser, the evaluator,
symbolic differentiation and the answer checker. Anything but exprgraph's own
errors (a crash, RecursionError, a hang caught by -timeout) is a finding.
Not part of the test suite: it runs as long as you let it.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    import exprgraph
    from exprgraph import ExprGraphError
    from exprgraph.tasks.check import check_answer


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    text = provider.ConsumeUnicodeNoSurrogates(200)
    answer = provider.ConsumeUnicodeNoSurrogates(40)
    try:
        program = exprgraph.compile(text)
        point = dict.fromkeys(program.inputs, 0.75)
        program.evaluate(point)
        program.derivatives()
        program.diff(kind="gradient")
        evaluation = program.evaluate(point)
        if program.inputs:
            check_answer(program, evaluation, f"d/d{program.inputs[0]}", answer, 1e-4, "fuzz")
    except ExprGraphError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
