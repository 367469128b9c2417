"""One engine: answers that used to differ between the engine's copies, now one answer everywhere.

Each case was once wrong in one place: fused gates that rejected valid formulas,
a zero factor of the chain rule times an infinite one that was 0 in one loop and
NaN in the others, and traces that printed a formula meaning something else.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import cli, strict_json

from gradcalc.api import AGREE, gradient
from gradcalc.builder import build
from gradcalc.jacobian import jacobian
from gradcalc.ops import ScalarMath
from gradcalc.parser import parse_program
from gradcalc.passes import Loop
from gradcalc.sweep import Sweep
from gradcalc.tensor import NumpyMath
from gradcalc.trace import trace

E = math.e
S = E + E**2 + E**3 + E**4  # Σ exp(W) for W = [[1, 2], [3, 4]]


# -- fused gates take what the formula they replace takes ------------------------------------------


def test_fused_logsumexp_of_a_matrix_is_log_sum_exp_of_every_element() -> None:
    plain = gradient("log(sum(exp(W)))", {"W": np.array([[1.0, 2.0], [3.0, 4.0]])}, symbolic=False)
    fused = gradient("log(sum(exp(W)))", {"W": np.array([[1.0, 2.0], [3.0, 4.0]])}, symbolic=False, fuse=True)
    assert [n.op.name for n in fused.tape.nodes if n.op is not None] == ["logsumexp"]
    for r in (plain, fused):
        assert r.value == pytest.approx(math.log(S), rel=1e-15)  # 4.440189698561196, as PyTorch gives
        np.testing.assert_allclose(r.gradients["W"], np.array([[E, E**2], [E**3, E**4]]) / S, rtol=1e-14)
        assert r.ok


@pytest.mark.parametrize(
    ("formula", "value", "grad"),
    [
        ("log(sum(exp(z)))*2", 0.6, 2.0),  # logsumexp of one number is the number
        ("exp(z)/sum(exp(z)) + z", 1.3, 1.0),  # softmax of one number is 1, flat
    ],
)
def test_fused_gates_of_a_scalar(formula: str, value: float, grad: float) -> None:
    run = cli("grad", formula, "z=0.3", "--fuse", "--json")
    assert run.exit_code == 0, run.stderr
    doc = strict_json(run.stdout)
    assert doc["value"] == pytest.approx(value, rel=1e-15)
    assert doc["gradients"]["z"] == pytest.approx(grad, rel=1e-12)


# -- the chain rule's zero rule, in every executor --------------------------------------------------


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (("log(v)[1]", "v=[1e-320, 2]"), {"v": [0.0, 0.5]}),  # 1/1e-320 overflows; element 0 gets g = 0
        (("sqrt(v)[1]", "v=[0, 1]"), {"v": [0.0, 0.5]}),  # sqrt's local gradient at 0 is inf
        (("0*log(x) + log(y)", "x=1e-320", "y=2"), {"x": 0.0, "y": 0.5}),  # forward mode: 0 × inf tangent
    ],
)
def test_a_zero_factor_times_an_infinite_one_is_zero(args: tuple[str, ...], want: dict[str, object]) -> None:
    run = cli("grad", *args, "--json")
    assert run.exit_code == 0, run.stdout + run.stderr
    doc = strict_json(run.stdout)
    assert doc["gradients"] == want
    assert doc["checks"]["ok"]
    assert all(v["status"] == AGREE for v in doc["checks"]["variables"])


def test_jacobian_with_an_infinite_entry_agrees_with_forward_mode() -> None:
    r = jacobian("sqrt(v)", {"v": np.array([0.0, 1.0])})
    assert r.reverse == [[math.inf, 0.0], [0.0, 0.5]]
    assert r.forward == r.reverse
    assert r.ok
    assert cli("jacobian", "sqrt(v)", "v=[0, 1]").exit_code == 0


ZERO_RULE_CASES = [
    ("max(sqrt(x), 5) + x", {"x": 0.0}, {"x": 1.0}),
    ("0*log(x) + log(y)", {"x": 1e-320, "y": 2.0}, {"x": 0.0, "y": 0.5}),
    ("max(x, 5) + sqrt(relu(x - 3))", {"x": 1.0}, {"x": 0.0}),  # an infinite upstream, a zero local
    ("x^0.5 + y", {"x": 0.0, "y": 1.0}, {"x": math.inf, "y": 1.0}),  # a true infinity stays
]


@pytest.mark.parametrize(("formula", "point", "grads"), ZERO_RULE_CASES)
def test_every_executor_follows_the_zero_rule(formula: str, point: dict[str, float], grads: dict[str, float]) -> None:
    tape = build(parse_program(formula))
    scalar = Loop(tape, ScalarMath())
    arrays = Loop(tape, NumpyMath())
    swept = Sweep(tape, vector_min=1)
    vals = scalar.forward(point)
    needs = tape.needs_grad()
    with np.errstate(all="ignore"):
        by_loop = scalar.backward(vals).grads
        by_arrays = arrays.backward(vals).grads
        by_sweep = swept.backward(vals, needs)
        for name, g in grads.items():
            i = tape.variables[name]
            assert by_loop[i] == by_arrays[i] == by_sweep[i] == g, (name, by_loop[i], by_arrays[i], by_sweep[i])
            seed = {i: 1.0}
            tangents = [scalar.jvp(vals, seed), arrays.jvp(vals, seed), swept.jvp(vals, seed)]
            assert [float(t[tape.output]) for t in tangents] == [g, g, g], name


# -- traces say what they compute -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "adjoint", "tangent"),
    [
        ("tan(x)*2", "v̄₁ × (1 + v₁²)", "v̇₀ × (1 + v₁²)"),
        ("tanh(x)*2", "v̄₁ × (1 - v₁²)", "v̇₀ × (1 - v₁²)"),
        ("sigmoid(x)*2", "v̄₁ × v₁ × (1 - v₁)", "v̇₀ × v₁ × (1 - v₁)"),
        ("1/(x + 1)", "v̄₂ × -1/v₁²", "v̇₁ × -1/v₁²"),
    ],
)
def test_trace_formulas_are_parenthesized_from_the_chart(formula: str, adjoint: str, tangent: str) -> None:
    x = 0.5
    reverse = trace(formula, {"x": x}, mode="reverse")
    by_target = {s.target: s for s in reverse.steps}
    assert any(s.expr == adjoint for s in reverse.steps), [s.expr for s in reverse.steps]
    forward = trace(formula, {"x": x}, mode="forward", seed="x")
    assert any(r.tangent_expr == tangent for r in forward.rows), [r.tangent_expr for r in forward.rows]
    # And the numbers are the derivative's.
    h = 1e-6
    f = {"tan(x)*2": lambda t: 2 * math.tan(t), "tanh(x)*2": lambda t: 2 * math.tanh(t),
         "sigmoid(x)*2": lambda t: 2 / (1 + math.exp(-t)), "1/(x + 1)": lambda t: 1 / (t + 1)}[formula]
    numeric = (f(x + h) - f(x - h)) / (2 * h)
    assert by_target[0].value == pytest.approx(numeric, rel=1e-8)
    assert forward.derivative == pytest.approx(numeric, rel=1e-8)
