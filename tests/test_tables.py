"""Tables as a reader sees them: headers whole, reasons in words.

Each test renders a command as a user would (a pipe, `COLUMNS` set) and checks
the text on the screen, not the code's own output copied back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from exprgraph.cli import app

runner = CliRunner()
REASON = "the argument must be > 0 (here x = -1)"


def _screen(args: list[str], width: int) -> tuple[str, int]:
    result = runner.invoke(app, args, env={"COLUMNS": str(width)})
    return result.stdout, result.exit_code


def _header_cells(text: str, title: str) -> list[list[str]]:
    """The header lines (between ┏ and ┡) of the table under `title`, as cells."""
    lines = text.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith(title))
    top = next(k for k in range(start, len(lines)) if lines[k].startswith("┏"))
    bottom = next(k for k in range(top, len(lines)) if lines[k].startswith("┡"))
    return [[cell.strip() for cell in line.strip("┃").split("┃")]
            for line in lines[top + 1:bottom]]


@pytest.mark.parametrize("width", [80, 100, 200])
def test_edge_table_headers_stay_on_one_line(width: int) -> None:
    text, code = _screen(["eval", "p = x + y; g = p * z", "--x", "1", "--y", "3",
                          "--z", "-3"], width)
    assert code == 0
    assert _header_cells(text, "Edges:") == [
        ["edge", "∂node/∂arg", "=", "× ∂g/∂node", "= contribution"]]


@pytest.mark.parametrize("width", [80, 200])
def test_batch_header_stays_on_one_line(tmp_path: Path, width: int,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("one.expr").write_text("p = x + y; g = p * z where x=1, y=3, z=-3\n",
                                encoding="utf-8")
    text, code = _screen(["batch", "one.expr"], width)
    assert code == 0
    assert _header_cells(text, "one.expr") == [["problem", "output", "value",
                                               "gradient / error"]]


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("args", [["diff", "log(x)", "--at", "x=-1"],
                                  ["diff", "log(x)*y", "--at", "x=-1,y=1"],
                                  ["simplify", "log(x)", "--at", "x=-1"],
                                  ["diff", "log(x)*y^2", "--hessian", "--at", "x=-1,y=1"]])
def test_an_undefined_value_reads_as_words(args: list[str], width: int) -> None:
    text, code = _screen(args, width)
    assert code == 1
    lines = text.splitlines()
    # Inside the table each value cell says only "undefined", whole.
    cells = [cell.strip() for line in lines if line.startswith("│")
             for cell in line.strip("│").split("│")]
    assert "undefined" in cells or "= undefined" in cells
    assert not any("here" in cell or "argument" in cell for cell in cells)
    # The reason follows the table once, in words: joined, it reads as written,
    # and no line breaks inside a word or after an opening bracket.
    below = [line for line in lines[max(k for k, line in enumerate(lines)
                                        if line.startswith("└")) + 1:]]
    prose = " ".join(line.strip() for line in below)
    assert prose.count(REASON) == 1, text
    assert all(len(line) <= width for line in lines)
    assert not any(line.rstrip().endswith("(") for line in below)


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("args", [
    ["descend", "(x-a)^2", "--x", "0", "--a", "2", "--params", "x", "--until", "grad<1e-6",
     "--momentum", "0.5"],
    ["descend", "(x-3)^2 + (y+1)^2", "--x", "0", "--y", "0", "--lr", "0.1", "--steps", "100"]])
def test_the_loss_curve_range_is_never_split(args: list[str], width: int) -> None:
    text, code = _screen(args, width)
    assert code == 0
    ranges = [line for line in text.splitlines() if "→" in line]
    assert len(ranges) == 1 and ranges[0].endswith("(log scale)"), text
    assert all(len(line) <= width for line in text.splitlines())
