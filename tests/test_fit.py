"""Tables that fit the terminal: at any width, no line is too long and no number, header or formula is cut."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from conftest import cli
from rich.cells import cell_len
from rich.console import Console, RenderableType

from gradcalc.api import GradResult, gradient
from gradcalc.render.fit import cell_text
from gradcalc.render.numbers import fmt
from gradcalc.render.table import GateRow, full_report, gate_rows, gradient_rows

WIDTHS = [60, 80, 100, 160]
NEURON = Path(__file__).parent.parent / "samples" / "04-neuron.grad"
NUMBER = re.compile(r"-?\d[\d.e+-]*")


def rendered(renderable: RenderableType, width: int) -> str:
    buffer = StringIO()
    Console(file=buffer, width=width, color_system=None).print(renderable)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


@pytest.fixture(scope="module")
def neuron() -> GradResult:
    return gradient(NEURON.read_text(), {})


def numbers_of(texts: list[str]) -> set[str]:
    return {n for text in texts for n in NUMBER.findall(text)}


def assert_fits(text: str, width: int, numbers: set[str]) -> None:
    for line in text.splitlines():
        assert cell_len(line) <= width, line
    assert "…" not in text  # rich's ellipsis: nothing was cut
    words = set(text.replace("|", " ").split())
    for number in numbers:
        assert any(number == w or re.search(rf"(?<![\d.]){re.escape(number)}(?![\d.])", w) for w in words), number


@pytest.mark.parametrize("width", WIDTHS)
def test_the_neuron_report_fits_and_cuts_nothing(neuron: GradResult, width: int) -> None:
    text = rendered(full_report(neuron, plain=True), width)
    cells: list[str] = []
    for row in gate_rows(neuron):
        assert isinstance(row, GateRow)
        cells += [row.value, row.upstream, row.local, row.downstream]
    derivatives = []
    for grow in gradient_rows(neuron):
        assert not isinstance(grow, str)
        texts = [cell_text(c) for c in grow]
        cells += texts[1:3] + texts[4:7]
        derivatives.append(texts[3])
    assert_fits(text, width, numbers_of(cells))
    joined = " ".join(text.split())
    for derivative in derivatives:
        if "SymPy's derivative:" in text:  # the blocks: the formula whole, lines joined
            assert " ".join(derivative.split()) in joined
        else:  # the table: wrapped between its words, none cut
            assert all(word in text.split() for word in derivative.split())


@pytest.mark.parametrize("width", WIDTHS)
def test_a_wide_jacobian_fits_and_cuts_nothing(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    doc = cli("jacobian", "softmax(z)", "z=[1, 2, 0.5, -1, 3, 0.25, -2, 1.5]", "--json").json()
    run = cli("jacobian", "softmax(z)", "z=[1, 2, 0.5, -1, 3, 0.25, -2, 1.5]")
    assert run.exit_code == 0
    assert_fits(run.stdout, width, {fmt(n) for row in doc["jacobian"] for n in row})
    for k in range(8):
        assert f"z[{k}]" in run.stdout


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_trace_fits_and_cuts_nothing(monkeypatch: pytest.MonkeyPatch, width: int, mode: str) -> None:
    args = ["trace", "--file", str(NEURON), "--mode", mode, *(["--seed", "w0"] if mode == "forward" else [])]
    monkeypatch.setenv("COLUMNS", "400")
    wide = cli(*args).stdout
    monkeypatch.setenv("COLUMNS", str(width))
    run = cli(*args)
    assert run.exit_code == 0
    assert_fits(run.stdout, width, numbers_of([line for line in wide.splitlines() if line.startswith("|")]))


NEURON_AT_80 = """
Gates: forward values, then gradients flowing back from f
w0  input
  value 2   upstream -0.196612
x0  input
  value -1   upstream 0.393224
w1  input
  value -3   upstream -0.393224
x1  input
  value -2   upstream -0.589836
w2  input
  value -3   upstream 0.196612
q = w0 * x0
  value -2   upstream 0.196612   local w0: -1, x0: 2
  → w0: -0.196612, x0: 0.393224   mul swaps
r = w1 * x1
  value 6   upstream 0.196612   local w1: -2, x1: -3
  → w1: -0.393224, x1: -0.589836   mul swaps
s = q + r
  value 4   upstream 0.196612   local q: 1, r: 1   → q: 0.196612, r: 0.196612
  add distributes
t = s + w2
  value 1   upstream 0.196612   local s: 1, w2: 1   → s: 0.196612, w2: 0.196612
  add distributes
u = -t
  value -1   upstream -0.196612   local t: -1   → t: 0.196612
  neg flips the sign
v = exp(u)
  value 0.367879   upstream -0.534447   local u: 0.367879   → u: -0.196612
  exp passes its value
g = 1 + v
  value 1.36788   upstream -0.534447   local v: 1   → v: -0.534447
  add distributes
f = 1 / g
  value 0.731059   upstream 1   local g: -0.534447   → g: -0.534447
  div: 1/b and -a/b²
"""


def test_the_gate_table_at_80_columns_golden(neuron: GradResult) -> None:
    text = rendered(full_report(neuron, plain=True), 80)
    assert text.split("Gradients of f")[0].strip("\n") == NEURON_AT_80.strip("\n")
