"""The tables, golden: rendered into a fixed-width plain console and compared as text."""

from __future__ import annotations

import math
from io import StringIO

import pytest
from rich import box
from rich.console import Console, RenderableType

from gradcalc.api import GradResult, gradient
from gradcalc.render.brief import brief_report
from gradcalc.render.numbers import fmt, num, status_of
from gradcalc.render.patterns import fanout, pattern
from gradcalc.render.table import full_report, gate_table, gradient_table, make_console, notes


def text_of(renderable: RenderableType) -> str:
    buffer = StringIO()
    Console(file=buffer, width=140, color_system=None).print(renderable)
    out = buffer.getvalue()
    return "\n".join(line.rstrip() for line in out.splitlines())


@pytest.fixture(scope="module")
def example_3() -> GradResult:
    return gradient("(x+y)*z", {"x": -2, "y": 5, "z": -4})


GATE_TABLE = """
Gates: forward values, then gradients flowing back from f
+------+-----------+-------+-------------------+--------------------+-------------------------------+-----------------+
| node | gate      | value | upstream ∂f/∂node | local ∂node/∂input | downstream = upstream × local | pattern         |
+------+-----------+-------+-------------------+--------------------+-------------------------------+-----------------+
| x    | input     |    -2 |                -4 |                    |                               | input           |
| y    | input     |     5 |                -4 |                    |                               | input           |
| q    | q = x + y |     3 |                -4 |               x: 1 |                       → x: -4 | add distributes |
|      |           |       |                   |               y: 1 |                       → y: -4 |                 |
| z    | input     |    -4 |                 3 |                    |                               | input           |
| f    | f = q * z |   -12 |                 1 |              q: -4 |                       → q: -4 | mul swaps       |
|      |           |       |                   |               z: 3 |                        → z: 3 |                 |
+------+-----------+-------+-------------------+--------------------+-------------------------------+-----------------+
"""

GRADIENT_TABLE = """
Gradients of f, checked
+----------+-------+-------------------------+-----------------------------+-------+--------------+---------+---------+
| variable | value | ∂f/∂variable (backprop) | symbolic derivative (SymPy) | SymPy | forward mode | numeric | check   |
+----------+-------+-------------------------+-----------------------------+-------+--------------+---------+---------+
| x        |    -2 |                      -4 | z                           |    -4 |           -4 |      -4 | ✓ agree |
| y        |     5 |                      -4 | z                           |    -4 |           -4 |      -4 | ✓ agree |
| z        |    -4 |                       3 | x + y                       |     3 |            3 |       3 | ✓ agree |
+----------+-------+-------------------------+-----------------------------+-------+--------------+---------+---------+
"""

# The terminal form (box.SIMPLE_HEAD), without colour.
GATE_TABLE_TERMINAL = """
Gates: forward values, then gradients flowing back from f

  node   gate        value   upstream ∂f/∂node   local ∂node/∂input   downstream = upstream × local   pattern
 ─────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
  x      input          -2                  -4                                                        input
  y      input           5                  -4                                                        input
  q      q = x + y       3                  -4                 x: 1                         → x: -4   add distributes
                                                               y: 1                         → y: -4
  z      input          -4                   3                                                        input
  f      f = q * z     -12                   1                q: -4                         → q: -4   mul swaps
                                                               z: 3                          → z: 3
"""


def test_gate_table_golden(example_3: GradResult) -> None:
    assert text_of(gate_table(example_3, boxed=box.ASCII2)) == GATE_TABLE.strip("\n")


def test_gradient_table_golden(example_3: GradResult) -> None:
    assert text_of(gradient_table(example_3, boxed=box.ASCII2)) == GRADIENT_TABLE.strip("\n")


def test_gate_table_terminal_golden(example_3: GradResult) -> None:
    assert text_of(gate_table(example_3)).rstrip("\n") == GATE_TABLE_TERMINAL.strip("\n")


def test_headers_say_upstream_and_local(example_3: GradResult) -> None:
    headers = [str(c.header) for c in gate_table(example_3).columns]
    assert any("upstream" in h for h in headers)
    assert any("local" in h for h in headers)
    assert any("downstream" in h for h in headers)


def test_full_report_ends_with_the_checks_and_the_verdict(example_3: GradResult) -> None:
    lines = text_of(full_report(example_3, plain=True)).splitlines()
    assert lines[-2:] == [
        "checked against forward mode (rtol 1e-9), SymPy (rtol 1e-08), central difference "
        "(rtol 1e-05, h = ∛ε·max(1,|x|))",
        "f = -12   ✓ all 3 gradients agree",
    ]


def test_value_used_twice_sums_and_no_symbolic_is_said() -> None:
    r = gradient("x*x", {"x": 3}, symbolic=False)
    text = text_of(full_report(r, plain=True))
    assert "| x    | input     |     3 |                 6 |" in text
    assert "input; used 2×: gradients sum" in text
    assert text.splitlines()[-2] == (
        "checked against forward mode (rtol 1e-9), central difference (rtol 1e-05, h = ∛ε·max(1,|x|))"
    )


def test_non_differentiable_points_are_noted() -> None:
    r = gradient("relu(x) + max(y, 1)", {"x": 0, "y": 1}, symbolic=False)
    lines = [text_of(n) for n in notes(r)]
    assert lines[:2] == [
        "non-differentiable point at q: relu at 0: local gradient taken as 0 (PyTorch, JAX)",
        "non-differentiable point at r: max tie: 2 inputs equal 1; gradient split evenly between the tied inputs "
        "(PyTorch, JAX)",
    ]


def test_inconclusive_central_difference_is_noted() -> None:
    # sin at 1e15: a step small enough to follow sin is below the spacing of doubles there.
    r = gradient("sin(x)", {"x": 1e15}, symbolic=False)
    assert r.gradients == {"x": math.cos(1e15)}
    assert r.ok
    assert text_of(notes(r)[0]) == (
        "x: numeric check inconclusive: the step is too large for this point: the central difference changes "
        "with every step"
    )


def test_brief_report(example_3: GradResult) -> None:
    assert brief_report(example_3) == "f = -12\n∂f/∂x = -4\n∂f/∂y = -4\n∂f/∂z = 3"


def test_digits() -> None:
    r = gradient("1/(1+exp(-x))", {"x": 1.0}, symbolic=False)
    assert brief_report(r, 3) == "f = 0.731\n∂f/∂x = 0.197"
    assert brief_report(r, 12) == "f = 0.73105857863\n∂f/∂x = 0.196611933241"


def test_plain_console_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", StringIO())
    monkeypatch.delenv("COLUMNS", raising=False)
    console = make_console()
    assert console.color_system is None
    assert console.width == 200
    monkeypatch.setenv("COLUMNS", "90")
    assert make_console().width == 90


# ---------------------------------------------------------------------------
# Numbers and patterns


@pytest.mark.parametrize(
    ("x", "digits", "text"),
    [
        (-12.0, 6, "-12"),
        (0.0, 6, "0"),
        (-0.0, 6, "0"),
        (4.4, 6, "4.4"),
        (110.00000000000001, 6, "110"),
        (0.19661193324148185, 6, "0.196612"),
        (0.19661193324148185, 17, "0.19661193324148185"),
        (-0.534446645388523, 2, "-0.53"),
        (1e-7, 6, "1e-07"),
        (1e20, 6, "1e+20"),
        (math.inf, 6, "inf"),
        (-math.inf, 6, "-inf"),
        (math.nan, 6, "nan"),
        (None, 6, "—"),
    ],
)
def test_fmt(x: float | None, digits: int, text: str) -> None:
    assert fmt(x, digits) == text


def test_num_and_status_make_strict_json_numbers() -> None:
    assert [num(v) for v in (1.5, math.inf, -math.inf, math.nan, None)] == [1.5, None, None, None, None]
    assert [status_of(v) for v in (1.5, math.inf, -math.inf, math.nan)] == ["ok", "inf", "-inf", "nan"]


def test_patterns_name_the_gate_and_the_fan_out() -> None:
    r = gradient("max(x, y)*x - 2", {"x": 4, "y": 2}, symbolic=False)
    tape = r.tape
    uses = fanout(tape)
    named = {tape.nodes[i].label: pattern(tape, i, uses) for i in range(len(tape.nodes))}
    assert named == {
        "x": "input; used 2×: gradients sum",
        "y": "input",
        "q": "max routes",
        "r": "mul swaps",
        "2": "constant",
        "f": "sub distributes, negated on the right",
    }


def test_brackets_in_a_formula_are_text_not_rich_markup() -> None:
    # rich reads "[a, b]" as a style tag and drops it unless the cell is plain Text.
    result = gradient("a*x + [a, b]@[x, 2]", {"a": 1, "b": 2, "x": 3}, symbolic=False)
    rows = [line for line in text_of(gate_table(result)).splitlines() if line.split()[:1] == ["r"]]
    assert rows and "r = [a, b]  (2)" in rows[0]
    assert "[1, 2]" in rows[0]


def test_the_cli_console_prints_brackets_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    console = make_console()
    console.print("[bold]x[/bold] and :x:")
    assert capsys.readouterr().out.strip() == "[bold]x[/bold] and :x:"


def test_a_long_gate_table_shows_its_first_and_last_rows() -> None:
    from gradcalc.render.table import MAX_GATE_ROWS

    formula = " + ".join(f"x^{k}" for k in range(2, 2 + MAX_GATE_ROWS))  # x, then two gates a term but the first
    result = gradient(formula, {"x": 1.0}, symbolic=False)
    buffer = StringIO()
    Console(file=buffer, width=400, color_system=None).print(gate_table(result, boxed=box.ASCII2))
    lines = buffer.getvalue().splitlines()
    labels = [line.split("|")[1].strip() for line in lines if line.startswith("|")]
    rows = [label for label in labels[1:] if label]  # past the header; a cell of two lines adds an empty one
    assert rows[0] == "x" and rows[-1] == "f"
    assert len(rows) == MAX_GATE_ROWS + 1  # the ellipsis row between the halves
    gates = sum(node.kind != "const" for node in result.tape.nodes)
    assert f"{gates - MAX_GATE_ROWS:,} more nodes (--json lists every node)" in "\n".join(lines)


def test_a_long_gradient_table_keeps_its_ends_and_every_variable_not_simply_agreeing() -> None:
    # 250 variables x0..x249 (few enough for a check per variable); relu(x120) at 0 is a kink:
    # backprop says 2*0 + 0, the central difference 0.5, so x120's check is "≈ convention".
    formula = " + ".join(f"x{i}*x{i}" for i in range(250)) + " + relu(x120)"
    values = {f"x{i}": 1.0 for i in range(250)} | {"x120": 0.0}
    result = gradient(formula, values, symbolic=False)
    assert result.directional is None and result.variables[120].status == "kink"
    buffer = StringIO()
    Console(file=buffer, width=400, color_system=None).print(gradient_table(result, boxed=box.ASCII2))
    labels = [line.split("|")[1].strip() for line in buffer.getvalue().splitlines() if line.startswith("|")][1:]
    assert labels[:2] == ["x0", "x1"] and labels[-1] == "x249"
    assert "x120" in labels and "x119" not in labels and "x121" not in labels
    assert len(labels) == 200 + 1 + 1  # the ends, x120, and the row saying what is left out
    assert "49 more variables: --brief or --json lists them" in buffer.getvalue()
