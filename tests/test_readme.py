"""The README stays in step with the code and with CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from exprgraph.ops import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"

pytestmark = pytest.mark.skipif(not README.is_file(), reason="needs the source tree")


def _setup_commands() -> list[str]:
    lines = README.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.startswith("    python3 -m venv .venv")]


def test_readme_has_the_two_setup_commands_and_ci_runs_them_verbatim() -> None:
    commands = _setup_commands()
    assert len(commands) == 2
    assert any("pytest" in c for c in commands) and any("exprgraph eval" in c for c in commands)
    ci_lines = {line.strip() for line in CI.read_text(encoding="utf-8").splitlines()}
    for command in commands:
        assert command in ci_lines


def test_readme_lists_every_function() -> None:
    text = README.read_text(encoding="utf-8")
    for name in FUNCTIONS:
        assert f"{name}(" in text or f" {name} " in text or f"`{name} " in text, name
