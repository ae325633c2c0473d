"""docs/tutorial.ipynb runs from top to bottom, and shows the right numbers.

The notebook is executed by nbclient in a Python 3 kernel (ipykernel, started
with this interpreter and this checkout of exprgraph on its path); no cell may
fail. Then a few outputs are read back and checked against values computed
here without exprgraph: central differences in plain Python and NumPy, and
SymPy's derivative. Skipped, with the reason, where nbclient, nbformat or
ipykernel is not installed (they are in the `test` extra).
"""

from __future__ import annotations

import ast
import html
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy

import exprgraph

from .oracles import central_difference, central_gradient
from .test_jupyter import Tables

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"
# Where the exprgraph these tests import lives: the kernel imports the same one.
PACKAGE_HOME = Path(exprgraph.__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not NOTEBOOK.is_file(), reason="needs the source tree")


@pytest.fixture(scope="module")
def executed() -> dict[str, Any]:
    """The notebook's code cells after a run, by their tag."""
    nbformat = pytest.importorskip("nbformat", reason="the notebook test needs nbformat "
                                   "(pip install nbclient nbformat ipykernel)")
    nbclient = pytest.importorskip("nbclient", reason="the notebook test needs nbclient "
                                   "(pip install nbclient nbformat ipykernel)")
    pytest.importorskip("ipykernel", reason="the notebook test needs a Python kernel: "
                        "pip install ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel is this interpreter (jupyter_client starts `python` kernels
    # with sys.executable) and imports this checkout, whatever is installed.
    path = os.pathsep.join(p for p in (str(PACKAGE_HOME), os.environ.get("PYTHONPATH")) if p)
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute(env={**os.environ, "PYTHONPATH": path})
    return {tag: cell for cell in notebook.cells if cell.cell_type == "code"
            for tag in cell.metadata.get("tags", [])}


def result(cell: Any) -> dict[str, str]:
    """A cell's displayed result, by MIME type."""
    (shown,) = [out for out in cell.outputs if out.output_type == "execute_result"]
    return dict(shown.data)


def test_every_cell_ran_without_error(executed: dict[str, Any]) -> None:
    for tag, cell in executed.items():
        assert not [out for out in cell.outputs if out.output_type == "error"], tag


def test_the_committed_notebook_has_no_outputs() -> None:
    text = NOTEBOOK.read_text(encoding="utf-8")
    assert '"outputs": []' in text and '"output_type"' not in text
    assert len(text) < 30_000


def test_the_program_shows_its_graph(executed: dict[str, Any]) -> None:
    shown = result(executed["program"])
    assert shown["text/plain"] == "<Program q = x + y; f = q*z: inputs x, y, z>"
    if shutil.which("dot"):
        assert shown["image/svg+xml"].startswith("<svg")
        assert "data:image/svg+xml;base64," in shown["text/html"]
    else:
        assert "Graphviz's dot program is not installed" in html.unescape(shown["text/html"])


def f_plain(point: dict[str, float]) -> float:
    return (point["x"] + point["y"]) * point["z"]


def test_the_backward_pass_tables_agree_with_finite_differences(
        executed: dict[str, Any]) -> None:
    point = {"x": 1.0, "y": 3.0, "z": -3.0}
    expected = {name: central_difference(f_plain, point, name) for name in point}
    tables = Tables(result(executed["tables"])["text/html"])
    gradient = tables.column("Gradient of f", "∂f/∂input")
    assert {k: float(v) for k, v in gradient.items()} == pytest.approx(expected, rel=1e-6)
    assert ast.literal_eval(result(executed["gradient"])["text/plain"]) == \
        pytest.approx(expected, rel=1e-6)
    # The notebook's own finite differences say the same.
    assert ast.literal_eval(result(executed["differences"])["text/plain"]) == \
        pytest.approx(expected, rel=1e-6)
    assert tables.column("Nodes", "value") == {"x": "1", "y": "3", "z": "-3", "q": "4",
                                               "f": "-12"}


def test_the_misprinted_tutorial_shows_15(executed: dict[str, Any]) -> None:
    a, b = sympy.symbols("a b")
    e = (a + b) * (b + 1)
    right = float(sympy.diff(e, b).subs({a: 2, b: 6}))
    assert right == 15.0
    point = {"a": 2.0, "b": 6.0}
    numeric = central_difference(lambda p: (p["a"] + p["b"]) * (p["b"] + 1), point, "b")
    tables = Tables(result(executed["shared"])["text/html"])
    assert float(tables.column("Gradient of e", "∂e/∂input")["b"]) == \
        pytest.approx(numeric, rel=1e-6)
    contributions = {row[0]: row[4] for row in tables.table("Edges")["rows"]}
    assert contributions["b → c"] == "7" and contributions["b → d"] == "8"
    assert ast.literal_eval(result(executed["paths"])["text/plain"]) == (right, right)
    expression = result(executed["shared-expression"])
    text = expression["text/plain"].removeprefix("<Expression ").removesuffix(">")
    assert sympy.simplify(sympy.sympify(text) - sympy.diff(e, b)) == 0
    assert expression["text/latex"] == "$a + 2 b + 1$"


def test_the_tensor_network_gradient_is_numpy_differences(executed: dict[str, Any]) -> None:
    x, b, y = np.array([0.1, -0.2]), np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
    weights = np.array([[1, 2], [3, 4], [0.5, 0.1]])
    expected = central_gradient(lambda w: float(np.sum((np.tanh(w @ x + b) - y) ** 2)), weights)
    shown = np.array(ast.literal_eval(result(executed["tensor-gradient"])["text/plain"]))
    np.testing.assert_allclose(shown, expected, atol=2e-6)
    tables = Tables(result(executed["tensor"])["text/html"])
    assert tables.column("Nodes", "shape")["W"] == "3×2"
    assert "\\mathbf{W}" in result(executed["matrix"])["text/latex"]


def test_the_check_finds_the_misprint(executed: dict[str, Any]) -> None:
    verdicts = ast.literal_eval(result(executed["check"])["text/plain"])
    assert ("de/db", "4", "15", "incorrect") in verdicts
    assert sum(v[3] == "correct" for v in verdicts) == 4
    report = html.unescape(result(executed["check-report"])["text/html"])
    assert "score 4/5" in report and "7·1 + 8·1 = 15" in report
