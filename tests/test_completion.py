"""Shell completion: `exprgraph --install-completion` and the protocol behind it.

A shell's completion script runs `exprgraph` with `_EXPRGRAPH_COMPLETE` set and
the words typed so far in the environment; the answer must come from the
whole app (every command with its options), although a one-shot run builds
only the command it names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exprgraph.cli.graph import GraphFormat

SCRIPT = Path(sys.executable).parent / "exprgraph"  # the console script pip installed
pytestmark = pytest.mark.skipif(not SCRIPT.is_file(),
                                reason="the exprgraph console script is not installed here")


def _complete(words: list[str]) -> list[str]:
    """What `exprgraph` offers after `words` (the last one being typed), by Click's
    bash protocol: COMP_WORDS and COMP_CWORD in the environment."""
    env = {**os.environ, "_EXPRGRAPH_COMPLETE": "complete_bash",
           "COMP_WORDS": " ".join(["exprgraph", *words]), "COMP_CWORD": str(len(words))}
    done = subprocess.run([str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_command_names_complete() -> None:
    assert _complete(["ev"]) == ["eval"]
    assert set(_complete([""])) >= {"eval", "diff", "check", "graph", "batch", "fit"}


def test_a_command_s_options_and_choices_complete() -> None:
    # These need the command's parameters, which a one-shot run never builds
    # for a command line that names no command.
    assert "--format" in _complete(["graph", "x", "--fo"])
    assert _complete(["graph", "x", "--format", ""]) == [f.value for f in GraphFormat]
    assert "--jobs" in _complete(["batch", "samples", "--jo"])


def test_the_script_shown_completes_in_bash(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    shown = subprocess.run([str(SCRIPT), "--show-completion", "bash"], capture_output=True,
                           text=True, env=env, timeout=60, check=True).stdout
    assert "_EXPRGRAPH_COMPLETE=complete_bash" in shown
    script = tmp_path / "completion.sh"
    script.write_text(shown)
    # The script's function, run as bash runs it on <Tab> after "exprgraph di".
    probe = (f"source {script}; COMP_WORDS=(exprgraph di); COMP_CWORD=1; "
             f"_exprgraph_completion {SCRIPT}; echo \"${{COMPREPLY[@]}}\"")
    done = subprocess.run([bash, "-c", probe], capture_output=True, text=True, timeout=60,
                          check=True)
    assert done.stdout.split() == ["diff"]


def test_help_offers_completion() -> None:
    done = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "100"}, check=True)
    assert "--install-completion" in done.stdout and "--show-completion" in done.stdout


def test_jobs_and_scheduler_offer_their_values() -> None:
    offered = _complete(["batch", "samples", "--jobs", ""])
    assert offered[0] == "auto" and offered[1:] == [str(n) for n in range(1, len(offered))]
    assert _complete(["check", "samples", "--scheduler", "lo"]) == ["local"]


@pytest.mark.parametrize("shell", ["zsh", "fish", "bash"])
def test_show_completion_for_a_named_shell(shell: str) -> None:
    done = subprocess.run([str(SCRIPT), "--show-completion", shell], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert f"_EXPRGRAPH_COMPLETE=complete_{shell}" in done.stdout


def test_show_completion_refuses_an_unknown_shell() -> None:
    done = subprocess.run([str(SCRIPT), "--show-completion", "bogus"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "200"},
                          check=False)
    assert done.returncode == 2
    assert "'bogus' is not one of 'bash', 'zsh'" in done.stderr
