"""The backprop page (`graph --format html`) in a real browser.

Debian's `chromium`, headless, driven by Selenium through Debian's
`chromium-driver` (/usr/bin/chromedriver, given to Selenium as a Service, so
Selenium Manager never downloads a browser or a driver). Skipped, with the
reason, where selenium, chromium or chromedriver is missing; CI installs
them (.ci/run).

Every number the page shows is checked against an oracle that shares no
code with the page: node values against SymPy's evaluation of the node
(tests/oracles.py), adjoints against SymPy's derivative of the output by the
node, the gradient against central differences of the program written out in
Python, and the exported op table against Python's own float functions at
each op's sample points. The page must log no console error.

The screenshot the README shows is written to docs/page.png when that file
is missing or EXPRGRAPH_SCREENSHOT=update is set (a copy always goes to the
test's temporary folder), so running the tests does not rewrite a committed
file with pixels that differ by a font.
"""

from __future__ import annotations

import math
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sympy
from typer.testing import CliRunner

import exprgraph
from exprgraph.cli import app
from exprgraph.core.graph import Graph
from exprgraph.core.numbers import format_value
from exprgraph.core.ops import sample_points
from exprgraph.printing.javascript import exported_ops

from .oracles import _SYMPY_FUNCTIONS, central_difference, sympy_value

webdriver = pytest.importorskip("selenium.webdriver",
                                reason="selenium is not installed (pip install selenium)")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
    "chromium-driver)")

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "page.png"
runner = CliRunner()

# Flags that work in a container: no sandbox, no GPU, and nothing that reaches the network.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")

# What the page shows at each step, read from its stable ids and data attributes.
READ_STATE = """
const panel = document.getElementById("panel");
const node = panel.dataset.node;
return {
  kind: panel.dataset.kind, node: node, value: panel.dataset.value,
  adjoint: panel.dataset.adjoint, text: panel.innerText,
  counter: document.getElementById("counter").textContent,
  box: node === "" ? null : {...document.getElementById("node-" + node).dataset},
  edges: Array.from(panel.querySelectorAll("li[data-source]")).map((li) => ({...li.dataset})),
  per_input: Array.from(panel.querySelectorAll("li[data-input]")).map((li) => ({...li.dataset})),
};
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="exprgraph-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        viewport(driver, 1200, 800)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def viewport(driver: Any, width: int, height: int) -> None:
    """The page's viewport, exactly (a window's size includes its frame)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def console_errors(driver: Any) -> list[str]:
    """The console errors (and uncaught exceptions) logged since the last call."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE"]


def open_page(driver: Any, tmp_path: Path, *args: str, name: str = "page.html") -> Path:
    target = tmp_path / name
    result = runner.invoke(app, ["graph", *args, "-o", str(target)])
    assert result.exit_code in (0, 1), result.output  # 1: an undefined partial, drawn
    driver.get(target.resolve().as_uri())
    assert console_errors(driver) == []
    return target


def press(driver: Any, key: str) -> None:
    driver.find_element(By.TAG_NAME, "body").send_keys(key)


def state(driver: Any) -> dict[str, Any]:
    return driver.execute_script(READ_STATE)


def close(shown: str, expected: float, rel: float = 1e-12) -> bool:
    return math.isclose(float(shown), expected, rel_tol=rel, abs_tol=rel)


# --- oracles -------------------------------------------------------------------------


def node_expressions(graph: Graph, replaced: int | None = None) -> list[sympy.Expr]:
    """Each node as a SymPy expression of the inputs; node `replaced` (and so
    every use of it) as the symbol `v`, for the derivative of the output by it."""
    exprs: list[sympy.Expr] = []
    for index, node in enumerate(graph.nodes):
        if index == replaced:
            exprs.append(sympy.Symbol("v", real=True))
        elif node.op.name == "input":
            exprs.append(sympy.Symbol(node.label, real=True))
        elif node.op.name == "const":
            exprs.append({"pi": sympy.pi, "e": sympy.E}.get(node.label,
                                                           sympy.Float(node.value, 30)))
        else:
            exprs.append(_SYMPY_FUNCTIONS[node.op.name](*(exprs[a] for a in node.args)))
    return exprs


def adjoint_oracle(graph: Graph, index: int, point: Mapping[str, float],
                   value: float) -> float:
    """∂out/∂node by SymPy: the output with the node as a symbol, differentiated."""
    out = node_expressions(graph, index)[graph.output]
    derivative = sympy.diff(out, sympy.Symbol("v", real=True))
    return sympy_value(derivative.subs(sympy.Symbol("v", real=True), sympy.Float(value, 30)),
                       point)


def partial_oracle(graph: Graph, index: int, position: int,
                   values: Mapping[int, float]) -> float:
    """∂node/∂(argument `position`) by SymPy, at the arguments' values."""
    node = graph.nodes[index]
    symbols = [sympy.Symbol(f"a{k}", real=True) for k in range(len(node.args))]
    expr = _SYMPY_FUNCTIONS[node.op.name](*symbols)
    derivative = sympy.diff(expr, symbols[position])
    at = {f"a{k}": values[a] for k, a in enumerate(node.args)}
    return sympy_value(derivative, at)


# Programs with every kind of step: a shared node (q), constants, functions, max,
# an unused-by-the-output-free chain; each written out again in plain Python.
def _second(x: float, y: float) -> float:
    q = x * y
    r = math.sin(q) + q ** 2 / (1 + math.exp(-x))
    return r * math.sqrt(y) - max(x, y) + 3


def _loop(w: float, u: float, y: float) -> float:
    h = 0.5
    for _ in range(3):
        h = math.tanh(w * h + u)
    return (h - y) ** 2


PROGRAMS: list[tuple[str, Callable[..., float], dict[str, float]]] = [
    ("(x+y)*z", lambda x, y, z: (x + y) * z, {"x": 1.0, "y": 3.0, "z": -3.0}),
    ("q = x*y; r = sin(q) + q^2/(1 + exp(-x)); out = r*sqrt(y) - max(x, y) + 3", _second,
     {"x": 0.7, "y": 1.9}),
    ("h[0] = 0.5; for t = 1..3: h[t] = tanh(w*h[t-1] + u); L = (h[3] - y)^2", _loop,
     {"w": 0.8, "u": -0.3, "y": 0.2}),
]


def _arguments(point: Mapping[str, float]) -> list[str]:
    return [part for name, value in point.items() for part in (f"--{name}", repr(value))]


# --- the tests -----------------------------------------------------------------------


@pytest.mark.parametrize(("program", "by_hand", "point"), PROGRAMS,
                         ids=["seed", "shared", "loop"])
def test_every_step_shows_the_right_numbers(browser: Any, tmp_path: Path, program: str,
                                            by_hand: Callable[..., float],
                                            point: dict[str, float]) -> None:
    open_page(browser, tmp_path, program, *_arguments(point))
    graph = exprgraph.compile(program).graph
    exprs = node_expressions(graph)
    values = {i: sympy_value(exprs[i], point) for i in range(len(graph.nodes))}
    seen = {"inputs": 0, "forward": 0, "backward": 0, "gradient": 0}
    first = state(browser)
    assert first["kind"] == "start" and first["counter"].startswith("Step 0 of ")
    total = int(first["counter"].split()[-1])
    for step in range(1, total + 1):
        press(browser, Keys.ARROW_RIGHT)
        shown = state(browser)
        assert shown["counter"] == f"Step {step} of {total}"
        seen[shown["kind"]] += 1
        if shown["kind"] == "inputs":
            assert {e["input"]: float(e["value"]) for e in shown["per_input"]} == point
        elif shown["kind"] == "forward":
            index = int(shown["node"])
            assert close(shown["value"], values[index]), (graph.nodes[index].name, shown)
            assert shown["box"]["value"] == shown["value"]  # the box shows it too
            assert format_value(float(shown["value"])) in shown["text"]
        elif shown["kind"] == "backward":
            index = int(shown["node"])
            adjoint = adjoint_oracle(graph, index, point, values[index])
            assert close(shown["adjoint"], adjoint, 1e-10), (graph.nodes[index].name, shown)
            assert f"= {format_value(float(shown['adjoint']))}" in shown["text"]
            for edge in shown["edges"]:
                if "contribution" not in edge:
                    continue  # a constant argument: nothing passes back
                partial = partial_oracle(graph, index, int(edge["position"]), values)
                assert close(edge["partial"], partial, 1e-10), edge
                assert close(edge["contribution"], adjoint * partial, 1e-10), edge
                # The chain-rule product, as `graph --backward` writes it.
                source = graph.nodes[int(edge["source"])].name
                name = graph.nodes[index].name
                assert f"∂{graph.output_name}/∂{name}·∂{name}/∂{source} = " in shown["text"]
        else:
            assert shown["kind"] == "gradient"
            by_name = {entry["input"]: float(entry["gradient"]) for entry in shown["per_input"]}
            assert set(by_name) == set(point)
            for name in point:
                expected = central_difference(lambda p: by_hand(**p), point, name)
                assert math.isclose(by_name[name], expected, rel_tol=1e-6, abs_tol=1e-7), name
    operations = sum(1 for n in graph.nodes if n.args)
    assert seen["forward"] == operations and seen["inputs"] == seen["gradient"] == 1
    assert seen["backward"] >= 1
    # ← goes back, Home and End jump; the buttons do the same.
    press(browser, Keys.ARROW_LEFT)
    assert state(browser)["counter"] == f"Step {total - 1} of {total}"
    press(browser, Keys.HOME)
    assert state(browser)["kind"] == "start"
    browser.find_element(By.ID, "last").click()
    assert state(browser)["kind"] == "gradient"
    browser.find_element(By.ID, "prev").click()
    browser.find_element(By.ID, "next").click()
    browser.find_element(By.ID, "first").click()
    assert state(browser)["counter"] == f"Step 0 of {total}"
    assert "NaN" not in browser.find_element(By.TAG_NAME, "body").text
    assert console_errors(browser) == []


def _type(browser: Any, index: int, text: str) -> None:
    field = browser.find_element(By.ID, f"input-{index}")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    if text:
        field.send_keys(text)


def test_an_edited_input_recomputes_both_passes(browser: Any, tmp_path: Path) -> None:
    program, by_hand, point = PROGRAMS[1]
    open_page(browser, tmp_path, program, *_arguments(point))
    moved = {**point, "y": 2.6}
    _type(browser, list(point).index("y"), "2.6")
    browser.find_element(By.ID, "last").click()
    shown = state(browser)
    by_name = {entry["input"]: float(entry["gradient"]) for entry in shown["per_input"]}
    for name in moved:
        expected = central_difference(lambda p: by_hand(**p), moved, name)
        assert math.isclose(by_name[name], expected, rel_tol=1e-6, abs_tol=1e-7), name
    # The output's box shows the new value.
    graph = exprgraph.compile(program).graph
    box = browser.find_element(By.ID, f"node-{graph.output}").get_attribute("data-value")
    assert close(box, by_hand(**moved), 1e-12)
    # A bad entry is said, and nothing is computed from it.
    _type(browser, 0, "1,5")
    message = browser.find_element(By.ID, "message")
    assert "Not a number: x" in message.text
    assert "bad" in browser.find_element(By.ID, "input-0").get_attribute("class")
    assert state(browser)["per_input"][0]["gradient"] == ""
    _type(browser, 0, "")
    assert "Type a value for x" in message.text
    _type(browser, 0, "0.7")  # back to the edited point: the same gradient again
    assert close(state(browser)["per_input"][1]["gradient"], by_name["y"], 1e-15)
    assert console_errors(browser) == []


def test_the_exported_op_table_matches_python(browser: Any, tmp_path: Path) -> None:
    open_page(browser, tmp_path, "x")
    cases = []
    for op in exported_ops():
        points = [*sample_points(op)]
        cases += [(op, point) for point in points]
    # The float conventions at kinks and ties come out the same too.
    special = {"abs": [(0.0,)], "relu": [(0.0,)], "sign": [(0.0,)], "step": [(0.0,)],
               "min": [(1.5, 1.5)], "max": [(-2.0, -2.0)], "pow": [(0.0, 2.0), (0.0, 0.0),
                                                                  (-2.0, 3.0), (2.0, 0.0)],
               "sqrt": [(0.0,)], "hypot": [(3.0, 4.0)], "atan2": [(0.0, -1.0)]}
    ops = {op.name: op for op in exported_ops()}
    cases += [(ops[name], point) for name, points in special.items() for point in points]
    expected = []
    for op, point in cases:
        out = float(op.evaluate(*point))
        partials = []
        for k in range(op.arity):
            try:
                partials.append(float(op.partials[k](list(point), out)))
            except (ValueError, ZeroDivisionError, OverflowError):
                partials.append(None)
        expected.append((op.name, list(point), out, partials))
    found = browser.execute_script("""
        return arguments[0].map(([name, args, out, partials]) => {
          const op = exprgraphOps[name];
          return [op.f(...args), op.d.map((d) => d(args, out))];
        });""", expected)
    for (name, point, out, partials), (value, js_partials) in zip(expected, found, strict=True):
        assert math.isclose(value, out, rel_tol=1e-12, abs_tol=1e-300), (name, point)
        for k, (python, js) in enumerate(zip(partials, js_partials, strict=True)):
            if python is None or not math.isfinite(python):
                assert js is None or not math.isfinite(js), (name, point, k)  # both undefined
            else:
                assert math.isclose(js, python, rel_tol=1e-12, abs_tol=1e-300), (name, point, k)
    assert console_errors(browser) == []


@pytest.mark.parametrize(("name", "args"), [
    ("log", (0.0,)), ("log", (-1.0,)), ("log2", (0.0,)), ("div", (1.0, 0.0)),
    ("div", (0.0, 0.0)), ("sqrt", (-1.0,)), ("asin", (2.0,)), ("acos", (-1.5,)),
    ("pow", (0.0, -1.0)), ("pow", (-8.0, 1 / 3)), ("exp", (1000.0,)), ("pow", (10.0, 400.0)),
    ("mul", (1e308, 10.0)), ("cosh", (1000.0,)), ("sinh", (-1000.0,)), ("add", (1e308, 1e308)),
])
def test_undefined_values_are_classified_as_python_raises(browser: Any, tmp_path: Path,
                                                          name: str, args: tuple) -> None:
    if not browser.current_url.endswith("x.html"):
        open_page(browser, tmp_path, "x", name="x.html")
    op = {o.name: o for o in exported_ops()}[name]
    try:
        result = op.evaluate(*args)
        kind = "domain" if math.isnan(result) else "overflow"
    except (ValueError, ZeroDivisionError):
        kind = "domain"
    except OverflowError:
        kind = "overflow"
    why = browser.execute_script(
        "const op = exprgraphOps[arguments[0]]; const args = arguments[1];"
        "return exprgraphPage.whyUndefined(op, args, op.f(...args));", name, list(args))
    assert why.startswith("outside the function's domain" if kind == "domain"
                          else "the result is too large"), why


def test_undefined_shows_as_undefined_never_nan(browser: Any, tmp_path: Path) -> None:
    open_page(browser, tmp_path, "sqrt(x)*y", "--y", "2")  # x left for the learner
    assert "Type a value for x" in browser.find_element(By.ID, "message").text
    _type(browser, 0, "0")  # sqrt's slope is infinite at 0
    browser.find_element(By.ID, "last").click()
    gradient = {e["input"]: e["gradient"] for e in state(browser)["per_input"]}
    assert gradient == {"x": "undefined", "y": "0"}
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "undefined" in body and "NaN" not in body and "Infinity" not in body
    _type(browser, 0, "-1")  # outside sqrt's domain
    message = browser.find_element(By.ID, "message").text
    assert "undefined" in message and "the argument must be >= 0" in message
    browser.find_element(By.ID, "first").click()
    press(browser, Keys.ARROW_RIGHT)  # the inputs
    press(browser, Keys.ARROW_RIGHT)  # t1 = sqrt(x)
    shown = state(browser)
    assert shown["value"] == "undefined" and "sqrt(-1) = undefined" in shown["text"]
    assert "NaN" not in browser.find_element(By.TAG_NAME, "body").text
    assert console_errors(browser) == []


def test_a_large_page_and_a_narrow_window(browser: Any, tmp_path: Path) -> None:
    program = "; ".join([f"n{i} = tanh(w{i}1*x1 + w{i}2*x2 + b{i})" for i in range(1, 6)] +
                        ["o = " + " + ".join(f"v{i}*n{i}" for i in range(1, 6)) + " + c",
                         "L = (o - y)^2"])
    open_page(browser, tmp_path, program, name="large.html")
    note = browser.find_element(By.ID, "size-note")
    assert note.is_displayed() and "62 nodes" in note.text
    browser.find_element(By.ID, "last").click()
    browser.find_element(By.ID, "zoom-fit").click()
    assert browser.find_element(By.ID, "graph").size["width"] <= 1200
    viewport(browser, 600, 900)
    try:
        # Nothing wider than the window but the drawing, which scrolls in its own box.
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
    finally:
        viewport(browser, 1200, 800)
    assert console_errors(browser) == []


def test_a_screenshot_for_the_readme(browser: Any, tmp_path: Path) -> None:
    open_page(browser, tmp_path, "(x+y)*z", "--x", "1", "--y", "3", "--z", "-3")
    for _ in range(5):  # the backward step of t1 = x + y, adjoint -3
        press(browser, Keys.ARROW_RIGHT)
    assert state(browser)["kind"] == "backward"
    picture = tmp_path / "page.png"
    assert browser.save_screenshot(str(picture))
    data = picture.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 800)
    if not SCREENSHOT.exists() or os.environ.get("EXPRGRAPH_SCREENSHOT") == "update":
        SCREENSHOT.write_bytes(data)
    assert console_errors(browser) == []
