"""`gradcalc trace`: the evaluation traces of Baydin et al. (2018), tables 2 and 3."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import EXAMPLES, NEURON, NEURON_GRADIENTS, cli

from gradcalc.trace import trace

BAYDIN = "ln(x1) + x1*x2 - sin(x2)"
AT = {"x1": 2.0, "x2": 5.0}

# Our gates come in the order the formula is written (postorder), so sin(x2) is v₄ here where
# the survey's table has it as v₃; the values are the survey's.
PRIMAL = [
    ("v₋₁", "x1", "x1", 2.0),
    ("v₀", "x2", "x2", 5.0),
    ("v₁", "q", "ln(v₋₁)", math.log(2)),
    ("v₂", "r", "v₋₁ × v₀", 10.0),
    ("v₃", "s", "v₁ + v₂", math.log(2) + 10),
    ("v₄", "t", "sin(v₀)", math.sin(5)),
    ("v₅", "f", "v₃ - v₄", math.log(2) + 10 - math.sin(5)),
]


def test_forward_primal_trace_numbers_the_inputs_up_to_v0() -> None:
    t = trace(BAYDIN, AT, mode="forward", seed="x1")
    got = [(r.name, r.label, r.expr, r.value) for r in t.rows]
    assert [g[:3] for g in got] == [p[:3] for p in PRIMAL]
    for (_, _, _, value), (_, _, _, expected) in zip(got, PRIMAL, strict=True):
        assert value == pytest.approx(expected, rel=1e-15)
    assert t.value == pytest.approx(11.652071455223084, rel=1e-15)  # the survey's 11.652


def test_forward_tangent_trace_seeded_on_x1_ends_with_5_5() -> None:
    t = trace(BAYDIN, AT, mode="forward", seed="x1")
    assert [(r.tangent_expr, r.tangent) for r in t.rows] == [
        ("1   (the seed)", 1.0),
        ("0", 0.0),
        ("v̇₋₁ × 1/v₋₁", 0.5),  # the survey's v̇₋₁/v₋₁ = 0.5
        ("v̇₋₁ × v₀ + v̇₀ × v₋₁", 5.0),
        ("v̇₁ + v̇₂", 5.5),
        ("v̇₀ × cos(v₀)", 0.0),
        ("v̇₃ - v̇₄", 5.5),
    ]
    assert t.derivative == 5.5


def test_forward_seeded_on_x2_gives_x1_minus_cos_x2() -> None:
    t = trace(BAYDIN, AT, mode="forward", seed="x2")
    assert t.derivative == pytest.approx(2 - math.cos(5), rel=1e-15)


def test_reverse_adjoint_trace_accumulates_backwards_one_step_per_edge() -> None:
    t = trace(BAYDIN, AT, mode="reverse")
    steps = [(s.target, s.expr, s.value) for s in t.steps]
    cos5 = math.cos(5)
    assert steps == [
        (5, "1   (seed: ∂f/∂f)", 1.0),
        (3, "v̄₅", 1.0),
        (4, "-v̄₅", -1.0),
        (0, "v̄₄ × cos(v₀)", pytest.approx(-cos5, rel=1e-15)),  # the survey's -0.284
        (1, "v̄₃", 1.0),
        (2, "v̄₃", 1.0),
        (-1, "v̄₂ × v₀", 5.0),
        (0, "v̄₀ + v̄₂ × v₋₁", pytest.approx(2 - cos5, rel=1e-15)),  # the survey's 1.716
        (-1, "v̄₋₁ + v̄₁ × 1/v₋₁", 5.5),
    ]
    assert t.gradients == {"x1": 5.5, "x2": pytest.approx(1.7163378145367738, rel=1e-15)}


def test_cli_forward_ends_with_the_tangent_5_5() -> None:
    run = cli("trace", BAYDIN, "x1=2", "x2=5", "--mode", "forward", "--seed", "x1")
    assert run.exit_code == 0
    lines = run.stdout.rstrip().splitlines()
    assert lines[0] == "Forward-mode trace of ln(x1) + x1*x2 - sin(x2), seeded on x1 (tangent v̇ = ∂v/∂x1)"
    assert "| v₂  | r    | v₋₁ × v₀   |        10 | v̇₂ = v̇₋₁ × v₀ + v̇₀ × v₋₁ |         5 |" in lines
    assert lines[-1] == "f = v₅ = 11.6521;  ∂f/∂x1 = v̇₅ = 5.5"


def test_cli_reverse_gives_x2s_adjoint() -> None:
    run = cli("trace", BAYDIN, "x1=2", "x2=5", "--mode", "reverse")
    assert run.exit_code == 0
    assert "| v̄₀  | v̄₀ + v̄₂ × v₋₁     |   1.71634 |" in run.stdout
    assert run.stdout.rstrip().splitlines()[-1] == "f = v₅ = 11.6521;  ∂f/∂x1 = v̄₋₁ = 5.5,  ∂f/∂x2 = v̄₀ = 1.71634"


def test_json_rows_reverse_mode_in_reverse_order() -> None:
    doc = cli("trace", BAYDIN, "x1=2", "x2=5", "--mode", "reverse", "--json").json()
    assert [r["name"] for r in doc["rows"]] == ["v5", "v4", "v3", "v2", "v1", "v0", "v-1"]
    x2 = doc["rows"][-2]
    assert (x2["label"], x2["expr"], x2["value"]) == ("x2", "x2", 5.0)
    assert x2["adjoint"] == pytest.approx(2 - math.cos(5), rel=1e-15)
    assert doc["gradients"]["x2"] == x2["adjoint"]
    assert doc["output"] == {"name": "v5", "label": "f", "value": pytest.approx(11.652071455223084)}
    assert doc["steps"][-1] == {"name": "v-1", "symbol": "v̄₋₁", "from": "v1", "expr": "v̄₋₁ + v̄₁ × 1/v₋₁",
                                "value": 5.5}  # fmt: skip


def test_json_rows_forward_mode() -> None:
    doc = cli("trace", BAYDIN, "x1=2", "x2=5", "--seed", "x1", "--json").json()  # --seed implies forward
    assert doc["mode"] == "forward" and doc["seed"] == "x1" and doc["derivative"] == 5.5
    assert [(r["name"], r["tangent"]) for r in doc["rows"]] == [
        ("v-1", 1.0), ("v0", 0.0), ("v1", 0.5), ("v2", 5.0), ("v3", 5.5), ("v4", 0.0), ("v5", 5.5)
    ]  # fmt: skip
    assert set(doc["rows"][2]) == {"name", "symbol", "label", "expr", "value", "tangent_expr", "tangent"}


def test_fan_out_gets_one_adjoint_step_per_use() -> None:
    t = trace("x*x", {"x": 3.0})
    assert [(s.target, s.expr, s.value) for s in t.steps] == [
        (1, "1   (seed: ∂f/∂f)", 1.0),
        (0, "v̄₁ × v₀", 3.0),
        (0, "v̄₀ + v̄₁ × v₀", 6.0),
    ]


def test_constants_are_written_inline_not_numbered() -> None:
    t = trace("1/(1+exp(-(w0*x0+w1*x1+w2)))", NEURON, mode="reverse")
    assert [r.expr for r in t.rows[5:]] == [
        "v₋₄ × v₋₃", "v₋₂ × v₋₁", "v₁ + v₂", "v₃ + v₀", "-v₄", "exp(v₅)", "1 + v₆", "1 / v₇",
    ]  # fmt: skip
    for name, grad in NEURON_GRADIENTS.items():
        assert t.gradients[name] == pytest.approx(grad, rel=1e-12)


@pytest.mark.parametrize("example", EXAMPLES[:7], ids=lambda e: f"example-{e.number}")
def test_traces_agree_with_the_worked_examples(example: object) -> None:
    from conftest import Example

    assert isinstance(example, Example)
    values = {k: float(v) for k, v in example.values.items()}
    back = trace(example.formula, values, mode="reverse")
    assert back.value == pytest.approx(example.value, rel=1e-12)
    for name, grad in example.gradients.items():
        assert back.gradients[name] == pytest.approx(grad, rel=1e-9, abs=1e-12)
        assert trace(example.formula, values, mode="forward", seed=name).derivative == pytest.approx(
            grad, rel=1e-9, abs=1e-12
        )


def test_tensor_trace_of_example_9() -> None:
    t = trace("sum((W@x)^2)", {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]), "x": np.array([0.2, 0.4])})
    assert [r.expr for r in t.rows] == ["W", "x", "v₋₁ @ v₀", "v₁ ^ 2", "sum(v₂)"]
    assert t.value == pytest.approx(0.116)
    np.testing.assert_allclose(t.gradients["W"], [[0.088, 0.176], [0.104, 0.208]], rtol=1e-12)
    np.testing.assert_allclose(t.gradients["x"], [-0.112, 0.636], rtol=1e-12)


def test_usage_errors_exit_2() -> None:
    run = cli("trace", BAYDIN, "x1=2", "x2=5", "--mode", "forward")
    assert run.exit_code == 2 and "needs --seed NAME" in run.stderr and "inputs are x1, x2" in run.stderr
    run = cli("trace", BAYDIN, "x1=2", "x2=5", "--seed", "x3")
    assert run.exit_code == 2 and "did you mean 'x1'?" in run.stderr
    run = cli("trace", BAYDIN, "x1=2", "x2=5", "--mode", "reverse", "--seed", "x1")
    assert run.exit_code == 2 and "--seed belongs to forward mode" in run.stderr
    run = cli("trace", BAYDIN, "x1=2", "x2=5", "--mode", "sideways", "--json")
    assert run.exit_code == 2 and run.json()["error"]["message"] == "--mode must be forward or reverse, not 'sideways'"
    run = cli("trace", "ln(x)", "x=-1")
    assert run.exit_code == 2 and "log of a negative number" in run.stderr and "Traceback" not in run.stderr


def test_one_input_needs_no_seed() -> None:
    run = cli("trace", "x^3", "x=2", "--mode", "forward")
    assert run.exit_code == 0
    assert run.stdout.rstrip().splitlines()[-1] == "f = v₁ = 8;  ∂f/∂x = v̇₁ = 12"


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_a_long_trace_shows_its_first_and_last_rows(mode: str) -> None:
    # 150 terms x*k: x, then 150 products and 149 sums, 300 rows of the primal trace.
    formula = " + ".join(f"x*{k}" for k in range(1, 151))
    run = cli("trace", formula, "x=2", "--mode", mode)
    assert run.exit_code == 0
    assert "| …  " in run.stdout
    assert "100 more rows (--json lists every row)" in run.stdout  # 300 rows, 200 shown
    # ∂f/∂x = 1 + 2 + ... + 150 = 11325, still in the closing line.
    assert "11325" in run.stdout.splitlines()[-1]


def test_a_constant_output_is_traced_as_one_row() -> None:
    """`gradcalc trace 5` has no inputs and no gates: the constant is v₁, its own seed (it was a KeyError)."""
    run = cli("trace", "5")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.rstrip().splitlines()[-1] == "5 = v₁ = 5"
    doc = cli("trace", "5", "--json").json()
    assert [(r["name"], r["expr"], r["value"], r["adjoint"]) for r in doc["rows"]] == [("v1", "5", 5.0, 1.0)]
    assert doc["gradients"] == {}
    run = cli("trace", "5", "--mode", "forward")
    assert run.exit_code == 2 and "the formula has no inputs" in run.stderr


W = "W=[[0.1,0.5],[-0.3,0.8]]"


@pytest.mark.parametrize(
    ("formula", "values", "shape"),
    [("W@x", [W, "x=[0.2,0.4]"], "2"), ("[[x]]", ["x=1"], "1×1"), ("x+[x]", ["x=1"], "1")],
)
def test_a_reverse_trace_of_a_vector_or_matrix_output_is_refused_with_a_hint(
    formula: str, values: list[str], shape: str
) -> None:
    """Reverse mode seeds one adjoint: a vector output is bad input (exit 2), not a bug (it was exit 3)."""
    run = cli("trace", formula, *values)
    assert run.exit_code == 2 and "Traceback" not in run.stderr and run.stdout == ""
    assert f"error: the output f is a {shape} array, not a number" in run.stderr
    assert "hint: a reverse-mode trace follows one number back: wrap the output in sum(...)" in run.stderr
    err = cli("trace", formula, *values, "--json").json()["error"]
    assert err["kind"] == "shape" and "--mode forward" in err["hint"]


def test_a_forward_trace_of_a_vector_output_is_a_column_of_the_jacobian() -> None:
    t = trace("W@[x, 2*x]", {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]), "x": 1.0}, mode="forward", seed="x")
    assert [r.tangent_expr for r in t.rows[2:]] == ["v̇₀ × 2", "stack-JVP(v̇₀, v̇₁)", "matmul-JVP(v̇₋₁, v̇₂)"]
    np.testing.assert_allclose(t.derivative, [1.1, 1.3], rtol=1e-15)
    run = cli("trace", "x+[x]", "x=1", "--mode", "forward")
    assert run.exit_code == 0 and "v̇₁ = stack-JVP(v̇₀)" in run.stdout
    assert run.stdout.rstrip().splitlines()[-1] == "f = v₂ = [2];  ∂f/∂x = v̇₂ = [2]"
