"""The grammar ships inside the wheel and loads from a source checkout too."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from exprgraph.syntax import parse

ROOT = Path(__file__).resolve().parent.parent


def test_grammar_loads_from_wherever_exprgraph_runs() -> None:
    text = parse.grammar_text()
    assert "CALL_NAME" in text
    # In a source checkout the loaded grammar is the top-level file itself.
    if (ROOT / "grammar" / "expr.lark").is_file() and (ROOT / "exprgraph").is_dir():
        assert text == (ROOT / "grammar" / "expr.lark").read_text(encoding="utf-8")


@pytest.mark.skipif(not (ROOT / "pyproject.toml").is_file(), reason="needs the source tree")
def test_wheel_carries_the_grammar_inside_the_package(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path),
         str(ROOT)], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("exprgraph-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "exprgraph/grammar/expr.lark" in names
    # The parse tables ship as JSON data beside the grammar (nothing is cached).
    assert "exprgraph/syntax/parser_tables.json" in names
    # The html page's script and style are inlined from files inside the package.
    assert {"exprgraph/render/page_assets/page.js",
            "exprgraph/render/page_assets/page.css"} <= set(names)
    packaged = zipfile.ZipFile(wheel).read("exprgraph/grammar/expr.lark").decode()
    assert packaged == (ROOT / "grammar" / "expr.lark").read_text(encoding="utf-8")
    # The licence pyproject.toml names ships with the wheel, word for word.
    (licence,) = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
    assert zipfile.ZipFile(wheel).read(licence).decode() == \
        (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
