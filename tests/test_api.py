"""The Python API's handling of argument types (from the hostile-input pass)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import exprgraph


def test_inputs_given_as_one_string_name_one_input() -> None:
    # inputs="pi" iterated the string: p and i became phantom names and pi
    # stayed the constant 3.14159...
    program = exprgraph.compile("pi*x", inputs="pi")
    assert set(program.inputs) == {"pi", "x"}
    assert program.evaluate({"pi": 2.0, "x": 3.0}).value == 6.0
    assert math.isclose(exprgraph.compile("pi*x").evaluate({"x": 1.0}).value, math.pi)


@pytest.mark.parametrize("inputs", [[1], ["x", None]])
def test_input_names_must_be_text(inputs: list[object]) -> None:
    with pytest.raises(TypeError, match="input names"):
        exprgraph.compile("e*x", inputs=inputs)  # type: ignore[arg-type]


def test_a_numpy_integer_order_is_a_whole_number() -> None:
    program = exprgraph.compile("x^3")
    (entry,) = program.diff(["x"], order=np.int64(2)).entries
    assert entry.expression.value({"x": 2.0}) == 12.0  # d²/dx² x³ = 6x


def test_derivative_takes_a_name() -> None:
    with pytest.raises(TypeError, match="name"):
        exprgraph.compile("x^2").derivative(5)  # type: ignore[arg-type]


def test_the_readmes_old_module_paths_are_attributes_after_import() -> None:
    # After the move into layers, exprgraph.calculus raised AttributeError
    # unless imported by its own name; the README documents these paths.
    import subprocess
    import sys

    code = ("import exprgraph; exprgraph.simplify.SYMBOLIC_SECONDS = 0.0; "
            "print(exprgraph.calculus.derivative.__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "exprgraph.symbolic.calculus"
