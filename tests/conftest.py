"""Shared helpers: the worked examples, the command line in-process, and plain-table reading."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gradcalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
README = ROOT / "README.md"

REL = 1e-9  # examples.md: "compare with a relative tolerance of about 1e-9"


@dataclass(frozen=True)
class Example:
    """One row of the worked examples (examples.md, 1-8)."""

    number: int
    sample: str
    formula: str
    values: dict[str, float]
    value: float
    gradients: dict[str, float]
    output: str = "f"

    @property
    def value_args(self) -> list[str]:
        return [f"{name}={value!r}" for name, value in self.values.items()]


NEURON = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
NEURON_GRADIENTS = {
    "w0": -0.19661193324148185,
    "x0": 0.3932238664829637,
    "w1": -0.3932238664829637,
    "x1": -0.5898357997244457,
    "w2": 0.19661193324148185,
}
NETWORK = {
    "x1": 0.2, "x2": 0.5, "w1": 0.4, "w2": 0.1, "w3": 0.4, "w4": 0.3,
    "w5": 0.25, "w6": 0.3, "w7": 0.7, "w8": 0.25,
}  # fmt: skip
NETWORK_FORMULA = (
    "0.5*(0.2 - sigmoid(w5*sigmoid(w1*x1+w2*x2) + w6*sigmoid(w3*x1+w4*x2)))^2"
    " + 0.5*(0.4 - sigmoid(w7*sigmoid(w1*x1+w2*x2) + w8*sigmoid(w3*x1+w4*x2)))^2"
)

EXAMPLES: tuple[Example, ...] = (
    Example(1, "01-price-with-tax.grad", "(a*n)*(1+t/100)", {"a": 100, "n": 4, "t": 10},
            440.0, {"a": 4.4, "n": 110.0, "t": 4.0}),
    Example(2, "02-apples-and-mandarins.grad", "(apple_price*apple_num + mandarin_price*mandarin_num)*tax",
            {"apple_price": 100, "apple_num": 4, "mandarin_price": 70, "mandarin_num": 3, "tax": 1.1},
            671.0, {"apple_price": 4.4, "apple_num": 110.0, "mandarin_price": 3.3, "mandarin_num": 77.0,
                    "tax": 610.0}),
    Example(3, "03-add-and-mul-gates.grad", "(x+y)*z", {"x": -2, "y": 5, "z": -4},
            -12.0, {"x": -4.0, "y": -4.0, "z": 3.0}),
    Example(4, "04-neuron.grad", "1/(1+exp(-(w0*x0+w1*x1+w2)))", NEURON,
            0.7310585786300049, NEURON_GRADIENTS),
    Example(5, "05-neuron-sigmoid-gate.grad", "sigmoid(w0*x0+w1*x1+w2)", NEURON,
            0.7310585786300049, NEURON_GRADIENTS),
    Example(6, "06-linear.grad", "w*x+b", {"w": -2, "x": 5, "b": 3},
            -7.0, {"w": 5.0, "x": -2.0, "b": 1.0}),
    Example(7, "07-max-gate.grad", "max(x, y)*z", {"x": 4, "y": 2, "z": 3},
            12.0, {"x": 3.0, "y": 0.0, "z": 4.0}),
    Example(8, "08-network-2-2-2.grad", NETWORK_FORMULA, NETWORK,
            0.09550599835677515, {"w5": 0.04874558763374381}),
)  # fmt: skip

# The one example whose sample is a program with its own names (h1, h2, o1, o2, E).
NETWORK_PROGRAM = Example(8, "08-network-2-2-2-program.grad", "", NETWORK, 0.09550599835677515,
                          {"w5": 0.04874558763374381}, output="E")


def close(a: float | None, b: float, rel: float = REL) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


# ---------------------------------------------------------------------------
# Running the command line


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return strict_json(self.stdout)


def cli(*args: str, stdin: str | None = None) -> Run:
    """gradcalc in-process through typer's CliRunner (stdout is not a terminal: plain output)."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()  # click >= 8.2 always keeps stderr apart
    result = runner.invoke(app, list(args), input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def gradcalc_process(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Run:
    """gradcalc as a separate process (``python -m gradcalc``): real exit codes and stdin."""
    proc = subprocess.run(
        [sys.executable, "-m", "gradcalc", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN and Infinity, which are not JSON."""

    def refuse(name: str) -> Any:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


# ---------------------------------------------------------------------------
# Reading plain (ASCII-boxed) tables back


def table_rows(text: str, first_header: str) -> dict[str, list[list[str]]]:
    """The rows of the plain table whose first column is headed ``first_header``.

    Returns the first cell of each row mapped to the row's lines, each a list of
    cells; a cell spread over several lines (local gradients, one per input)
    continues on lines whose first cell is empty.
    """
    rows: dict[str, list[list[str]]] = {}
    inside = False
    current: str | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            if inside and not line.startswith("+"):
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == first_header:
            inside, current = True, None
            continue
        if not inside:
            continue
        if cells[0]:
            current = cells[0]
            rows[current] = [cells]
        elif current is not None:
            rows[current].append(cells)
    if not rows:
        raise AssertionError(f"no table headed {first_header!r} in:\n{text}")
    return rows


def column(text: str, first_header: str, header: str) -> int:
    """The index of the column whose header contains ``header``."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == first_header:
            for k, cell in enumerate(cells):
                if header in cell:
                    return k
    raise AssertionError(f"no column {header!r} in the {first_header!r} table")


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES
