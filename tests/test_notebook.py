"""docs/notebook.ipynb, run by a real Jupyter kernel: every cell runs, and what each shows has the textbook numbers."""

from __future__ import annotations

import importlib.util
import re
import shutil
from typing import Any

import pytest
from conftest import ROOT

# Imported by the fixture, not here: Jupyter's client weighs 50 MB, and a process that forks
# children whose peak memory is measured (tests/test_bench_smoke.py) must not carry it.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("nbclient") is None,
                                reason="the notebook extra is not installed (pip install -e '.[notebook]')")

NOTEBOOK = ROOT / "docs" / "notebook.ipynb"


@pytest.fixture(scope="module")
def outputs() -> dict[str, dict[str, str]]:
    """Each code cell's last display, by the variable the cell shows: {MIME type: data}."""
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    found: dict[str, dict[str, str]] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, "\n".join(errors[0].traceback)
        name = cell.source.split("=", 1)[0].strip()
        shown: dict[str, Any] = {}
        for o in cell.outputs:
            if o.output_type == "stream":
                shown["stream"] = shown.get("stream", "") + o.text
            elif o.output_type in ("execute_result", "display_data"):
                shown.update(o.data)
        found[name] = shown
    return found


def text(html: str) -> str:
    """The words and numbers of an HTML output, one space between."""
    return " ".join(re.sub(r"<style>.*?</style>|<[^>]+>", " ", html, flags=re.S).split())


def test_the_price_with_tax_shows_its_gate_table(outputs: dict[str, dict[str, str]]) -> None:
    shown = outputs["price"]
    assert shown["text/plain"] == "<GradResult f=440 ∂a=4.4 ∂n=110 ∂t=4 checks ok>"
    words = text(shown["text/html"])
    assert "Gates: forward values, then gradients flowing back from f" in words
    assert "f = 440 — ✓ all 3 gradients agree" in words
    assert "q q = a * n 400 1.1 a: 4 n: 100 → a: 4.4 → n: 110 mul swaps" in words  # a gate row, cell by cell
    assert "t 10 4 " in words  # the gradients table: t at 10, ∂f/∂t = 4


def test_every_sample_has_its_numbers(outputs: dict[str, dict[str, str]]) -> None:
    fruit = text(outputs["fruit"]["text/html"])
    assert "f = 671 — ✓ all 5 gradients agree" in fruit and "tax 1.1 610" in fruit
    gates = outputs["gates"]
    assert gates["stream"] == "<GradResult f=-12 ∂x=-4 ∂y=-4 ∂z=3 checks ok>\n"
    assert "q q = x + y 3 -4 x: 1 y: 1 → x: -4 → y: -4 add distributes" in text(gates["text/html"])
    sigmoid = text(outputs["sigmoid"]["text/html"])
    assert "f = 0.731059 — ✓ all 5 gradients agree" in sigmoid
    assert "w0 2 -0.196612" in sigmoid and "x1 -2 -0.589836" in sigmoid


def test_the_neuron_shows_its_formulas_and_its_graph(outputs: dict[str, dict[str, str]]) -> None:
    shown = outputs["neuron"]
    latex = shown["text/latex"]
    assert latex.startswith(r"\begin{align*}")
    assert r"f &= \frac{1}{e^{- w_{0} x_{0} - w_{1} x_{1} - w_{2}} + 1} = 0.731059" in latex
    assert r"\frac{\partial f}{\partial w_{0}} &= " in latex and "= -0.196612" in latex
    if shutil.which("dot"):
        svg = shown["image/svg+xml"]
        assert svg.startswith("<svg") and "&#45;0.1966" in svg  # a gradient on an edge
    else:
        assert "image/svg+xml" not in shown


def test_descent_shows_its_loss_curve(outputs: dict[str, dict[str, str]]) -> None:
    shown = outputs["run"]
    assert shown["text/plain"] == "<DescendResult loss 10 → 2.037e-09 in 50 steps: x=3 y=-1>"
    assert "<polyline" in shown["text/html"] and "<h2>Loss curve</h2>" in shown["text/html"]
    assert "final loss 2.03704e-09" in text(shown["text/html"])
