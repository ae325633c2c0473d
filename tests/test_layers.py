"""The layers point one way: import-linter's contracts (pyproject.toml) hold.

`cli > render > tasks > api > symbolic > passes | syntax > printing > core`:
a module imports only its own package and the layers below. The second test
plants an upward import in a copy of the package and checks the contracts
catch it, so a contract that stopped matching anything would fail here too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not (ROOT / "pyproject.toml").is_file(),
                                reason="needs the source tree")


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the package at `where` (its pyproject.toml config)."""
    env = {**os.environ, "PYTHONPATH": str(where)}  # this copy of exprgraph, not the installed one
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", code, "--no-cache"], cwd=where, env=env,
                          capture_output=True, text=True, check=False)


def test_the_layer_contracts_hold() -> None:
    pytest.importorskip("importlinter", reason="import-linter is in the `test` extra")
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert "Layers point one way KEPT" in result.stdout


@pytest.mark.parametrize(("module", "upward"), [
    ("core/ops.py", "from ..printing import text as _upward"),
    ("passes/evaluate.py", "from ..symbolic import calculus as _upward"),
    ("tasks/batch.py", "from ..render import tables as _upward"),
    ("api.py", "from .tasks import check as _upward"),
])
def test_an_upward_import_breaks_a_contract(tmp_path: Path, module: str, upward: str) -> None:
    pytest.importorskip("importlinter", reason="import-linter is in the `test` extra")
    shutil.copytree(ROOT / "exprgraph", tmp_path / "exprgraph",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    planted = tmp_path / "exprgraph" / module
    planted.write_text(planted.read_text(encoding="utf-8") + f"\n{upward}\n", encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout


def test_the_module_paths_the_readme_named_before_the_move_still_work() -> None:
    # The README once named `exprgraph.calculus.derivative` and
    # `exprgraph.simplify.SYMBOLIC_SECONDS`: those paths are the moved modules
    # themselves, so setting the time budget there still sets it.
    import exprgraph.calculus
    import exprgraph.simplify
    import exprgraph.symbolic.calculus
    import exprgraph.symbolic.simplify
    from exprgraph.calculus import derivative, gradient

    assert exprgraph.simplify is exprgraph.symbolic.simplify
    assert exprgraph.calculus is exprgraph.symbolic.calculus
    assert derivative is exprgraph.symbolic.calculus.derivative
    assert gradient is exprgraph.symbolic.calculus.gradient


def test_the_public_entry_points_stay() -> None:
    import exprgraph
    from exprgraph.cli import app, run

    assert callable(exprgraph.compile) and callable(run)
    assert app.registered_commands  # the Typer app, not a module
    done = subprocess.run([sys.executable, "-m", "exprgraph", "eval", "x*y", "--set", "x=2,y=3"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "6" in done.stdout
