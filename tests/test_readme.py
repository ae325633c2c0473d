"""The README stays in step with the code and with CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from exprgraph.core.ops import FUNCTIONS

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
    ci_lines = [line.strip() for line in CI.read_text(encoding="utf-8").splitlines()]
    for command in commands:
        assert command in ci_lines
    # In the README's order, each after removing the previous environment.
    positions = [ci_lines.index(command) for command in commands]
    assert positions == sorted(positions)
    for position in positions:
        assert "rm -rf .venv" in ci_lines[:position]
        assert ci_lines[position - 1] == "rm -rf .venv"


def test_readme_lists_every_function() -> None:
    text = README.read_text(encoding="utf-8")
    for name in FUNCTIONS:
        assert f"{name}(" in text or f" {name} " in text or f"`{name} " in text, name


def _command_examples() -> list[tuple[str, str]]:
    """(command, first documented result) from the README's diff/simplify table."""
    rows = []
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split(" | ")]
        if len(cells) == 2 and cells[0].startswith("| `exprgraph "):
            command = cells[0][3:-1]
            result = cells[1].split("`")[1] if cells[1].startswith("`") else ""
            if result and not result.startswith("["):
                rows.append((command, result))
    return rows


@pytest.mark.parametrize(("command", "expected"), _command_examples())
def test_readme_examples_print_what_the_readme_says(command: str, expected: str) -> None:
    import shlex

    from typer.testing import CliRunner

    from exprgraph.cli import app

    args = shlex.split(command)[1:]
    if "--latex" not in args:
        args += ["--format", "text"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == expected


def test_readme_has_examples_to_check() -> None:
    assert len(_command_examples()) >= 8


def _shown_runs() -> list[tuple[str, list[str]]]:
    """(command, lines shown) for each README block that starts `$ exprgraph ...`.
    A line `...` in a block leaves out the output's middle (or its end, as
    the block's last line): the lines before it begin the output, those after
    it end it."""
    runs = []
    lines = README.read_text(encoding="utf-8").splitlines()
    for k, line in enumerate(lines):
        if line.startswith("$ exprgraph ") and lines[k - 1] == "```":
            end = lines.index("```", k)
            runs.append((line[2:], lines[k + 1:end]))
    return runs


@pytest.mark.parametrize(("command", "shown"), _shown_runs())
def test_readme_runs_show_what_the_tool_prints_in_a_pipe(command: str, shown: list[str]
                                                          ) -> None:
    """What a reader sees after pasting the command (stdout, 80 columns as in a
    pipe), line for line; the README is the oracle, so a change of output must
    change it too."""
    import os
    import shlex
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "PYTHONIOENCODING": "utf-8"}
    env.pop("TERM", None)
    done = subprocess.run([sys.executable, "-m", "exprgraph", *shlex.split(command)[1:]],
                          capture_output=True, text=True, encoding="utf-8", env=env, cwd=ROOT,
                          timeout=120)
    printed = [line.rstrip() for line in done.stdout.splitlines()]
    shown = [line.rstrip() for line in shown]
    if "..." in shown:  # the lines before it begin the output, the lines after end it
        cut = shown.index("...")
        head, tail = shown[:cut], shown[cut + 1:]
        assert len(printed) >= len(head) + len(tail)
        assert printed[:len(head)] == head
        assert printed[len(printed) - len(tail):] == tail
        return
    assert printed == shown


def test_readme_has_runs_to_check() -> None:
    assert len(_shown_runs()) >= 4
