"""A one-shot command imports only what it runs (issue 17's start-up goal).

Each test runs the console script's `run()` in a fresh interpreter and lists
the modules it imported. Timing is benchmarks/startup.py's job; these check
the causes it found, each of which cost a one-shot command a tenth or more of
its CPU time: Lark (needed only for a syntax error's message), the whole API
through `exprgraph/__init__`, all nine commands for one, markdown-it and
Pygments through typer.rich_utils for `--help`, and hashlib and
importlib.resources for the parse tables.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EVAL = ["eval", "(x+y)*z", "--x", "1", "--y", "3", "--z", "-3"]

# Imports the test process itself must not pass on: run each in a clean interpreter.
_RUN = """
import atexit, json, sys
listing, args = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(listing, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["exprgraph", *args]
from exprgraph.cli import run
run()
"""


def imported_by(args: list[str], tmp_path: Path) -> tuple[set[str], subprocess.CompletedProcess]:
    """The modules a run of `exprgraph ARGS` imported, and the finished process."""
    listing = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", _RUN, str(listing), *args],
                          capture_output=True, text=True, timeout=120,
                          env={"COLUMNS": "80", "PATH": "", "PYTHONIOENCODING": "utf-8"})
    return set(json.loads(listing.read_text())), done


def _loaded(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


NEVER_FOR_A_ONE_SHOT = ["lark", "markdown_it", "pygments", "hashlib", "importlib.resources",
                        "numpy"]


@pytest.mark.parametrize("args", [EVAL, [*EVAL, "--format", "json"], ["--help"],
                                  ["eval", "--help"], ["diff", "x^2", "--wrt", "x"]],
                         ids=["eval", "eval-json", "help", "eval-help", "diff"])
def test_a_one_shot_command_imports_none_of_the_costly_extras(args: list[str],
                                                              tmp_path: Path) -> None:
    modules, done = imported_by(args, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert [p for p in NEVER_FOR_A_ONE_SHOT if _loaded(modules, p)] == []


def test_help_imports_no_api_and_no_command_runs_its_own_core(tmp_path: Path) -> None:
    modules, done = imported_by(["--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    # Every command is listed, from its module ...
    for command in ("eval", "diff", "simplify", "check", "graph", "plan", "descend", "fit",
                    "batch"):
        assert f" {command} " in done.stdout
    # ... but none of the layers under the CLI is imported to list them.
    heavy = ["exprgraph.api", "exprgraph.syntax", "exprgraph.symbolic", "exprgraph.passes",
             "exprgraph.tasks"]
    assert [p for p in heavy if _loaded(modules, p)] == []


def test_eval_loads_only_its_own_command_module(tmp_path: Path) -> None:
    modules, done = imported_by(EVAL, tmp_path)
    assert done.returncode == 0, done.stderr
    others = ["exprgraph.cli.check", "exprgraph.cli.graph", "exprgraph.cli.plan",
              "exprgraph.cli.train", "exprgraph.cli.batch"]
    assert [m for m in others if m in modules] == []


def test_a_syntax_error_still_gets_lark_s_message(tmp_path: Path) -> None:
    # Lark is imported when the fast driver gives up, and only then.
    modules, done = imported_by(["eval", "x +* y", "--x", "1", "--y", "2"], tmp_path)
    assert done.returncode != 0
    assert "lark" in modules
    assert "unexpected '*'" in done.stderr


def test_a_mistyped_command_is_suggested_once(tmp_path: Path) -> None:
    _, done = imported_by(["evl", "x"], tmp_path)
    assert done.returncode == 2
    assert "No such command 'evl'" in done.stderr
    assert done.stderr.count("Did you mean 'eval'?") == 1


def test_the_package_imports_its_api_on_first_use() -> None:
    code = ("import sys, exprgraph\n"
            "before = 'exprgraph.api' in sys.modules\n"
            "value = exprgraph.compile('(x+y)*z').evaluate(x=1, y=3, z=-3).value\n"
            "print(before, value, exprgraph.calculus.derivative.__module__,"
            " 'compile' in dir(exprgraph))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.split() == ["False", "-12.0", "exprgraph.symbolic.calculus", "True"]


@pytest.mark.parametrize("args", [["--help"], [], ["evl", "x"], ["--bogus"]],
                         ids=["help", "no-arguments", "typo", "bad-option"])
def test_the_listing_shows_what_the_whole_app_shows(args: list[str]) -> None:
    # `exprgraph --help` (and a command line naming no command) runs a group
    # whose commands have their help texts but no parameters: it must print
    # exactly what the group of whole commands prints.
    from typer.testing import CliRunner

    from exprgraph.cli import app
    from exprgraph.cli.application import app_for

    runner = CliRunner()
    whole = runner.invoke(app, args, prog_name="exprgraph", env={"COLUMNS": "80"})
    listing = runner.invoke(app_for(args), args, prog_name="exprgraph", env={"COLUMNS": "80"})
    assert app_for(args) is not app
    assert (listing.exit_code, listing.output) == (whole.exit_code, whole.output)
    assert whole.output.strip()


def test_another_command_s_option_is_named_though_only_one_command_is_built(
        tmp_path: Path) -> None:
    # `run` builds only the command a line names; an unused --NAME that is
    # another command's option must still be said to be that (it was not,
    # for a while: the other commands' options were not there to look at).
    _, done = imported_by(["eval", "x", "--x", "1", "--wrt", "x"], tmp_path)
    assert done.returncode == 2
    assert "--wrt is an option of exprgraph diff, not of eval" in done.stderr
    _, done = imported_by(["descend", "(x-3)^2", "--x", "0", "--epochs", "5"], tmp_path)
    assert "did you mean --steps?" in done.stderr


_COLLECTOR = """
import atexit, gc, json, sys
listing, args = sys.argv[1], sys.argv[2:]
seen = {"at_import": gc.isenabled()}
from exprgraph.cli import application
resume = application._resume_collecting

def resuming():  # the first call: when the command starts
    seen.setdefault("before", gc.isenabled())
    resume()
    seen.setdefault("after", gc.isenabled())
    seen.setdefault("frozen", gc.get_freeze_count() > 0)

application._resume_collecting = resuming
atexit.register(lambda: open(listing, "w").write(json.dumps(seen)))
sys.argv = ["exprgraph", *args]
from exprgraph.cli import run
run()
"""


def test_the_collector_is_off_only_while_a_command_starts(tmp_path: Path) -> None:
    # `run` turns the cyclic garbage collector off while Typer, Rich and the
    # command's modules are imported (its passes over their objects were a
    # tenth of a one-shot command's CPU time), and back on, with what exists
    # frozen, once the command starts: a long batch needs it.
    listing = tmp_path / "collector.json"
    done = subprocess.run([sys.executable, "-c", _COLLECTOR, str(listing), *EVAL],
                          capture_output=True, text=True, timeout=120,
                          env={"COLUMNS": "80", "PATH": "", "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    assert json.loads(listing.read_text()) == {"at_import": True, "before": False,
                                               "after": True, "frozen": True}


def test_running_in_process_leaves_the_collector_as_it_was() -> None:
    # `application.run` itself (as a test or an embedding program calls it)
    # neither turns the collector off nor leaves it off.
    code = ("import gc, sys\n"
            "sys.argv = ['exprgraph', '--version']\n"
            "from exprgraph.cli import application\n"
            "try:\n"
            "    application.run()\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(gc.isenabled())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.split()[-1] == "True"
