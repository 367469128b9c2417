"""`--fuse`: known chains of gates collapse into one gate with its own local gradient,
and fused and unfused graphs give the same gradients.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import NETWORK, NEURON, NEURON_GRADIENTS, REL, SAMPLES, cli, column, table_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcalc.api import AGREE, GradResult, gradient

NEURON_FORMULA = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
SIGMOID_NETWORK = (  # example 8 with every sigmoid written out as CS231n's four gates
    "0.5*(0.2 - 1/(1+exp(-(w5*(1/(1+exp(-(w1*x1+w2*x2)))) + w6*(1/(1+exp(-(w3*x1+w4*x2))))))))^2"
    " + 0.5*(0.4 - 1/(1+exp(-(w7*(1/(1+exp(-(w1*x1+w2*x2)))) + w8*(1/(1+exp(-(w3*x1+w4*x2))))))))^2"
)
Z = np.array([1.0, 2.0, 0.5])
Y = np.array([0.0, 1.0, 0.0])
W = np.array([[0.1, 0.5], [-0.3, 0.8]])
X = np.array([0.2, 0.4])


def ops(r: GradResult) -> list[str]:
    return [n.op.name for n in r.tape.nodes if n.op is not None]


def assert_same_gradients(plain: GradResult, fused: GradResult) -> None:
    assert math.isclose(plain.value, fused.value, rel_tol=1e-12)
    assert plain.gradients.keys() == fused.gradients.keys()
    for name, g in plain.gradients.items():
        np.testing.assert_allclose(fused.gradients[name], g, rtol=1e-12, atol=1e-15, err_msg=name)
    assert plain.ok and fused.ok


def both(formula: str, values: dict[str, Any]) -> tuple[GradResult, GradResult]:
    return (gradient(formula, values, symbolic=False, numeric=False),
            gradient(formula, values, symbolic=False, numeric=False, fuse=True))


# ---------------------------------------------------------------------------
# The sigmoid neuron: four gates become one


def test_neuron_fuses_into_one_sigmoid_gate() -> None:
    plain, fused = both(NEURON_FORMULA, NEURON)
    assert ops(plain) == ["mul", "mul", "add", "add", "neg", "exp", "add", "div"]
    assert ops(fused) == ["mul", "mul", "add", "add", "sigmoid"]
    assert_same_gradients(plain, fused)
    for name, expected in NEURON_GRADIENTS.items():
        assert math.isclose(fused.gradients[name], expected, rel_tol=REL)
    out = fused.tape.output
    assert fused.tape.nodes[out].label == "f"
    assert fused.tape.gate_text(out) == "sigmoid(t)"
    loc = fused.backprop.locals[out]
    assert loc is not None
    assert math.isclose(loc[0], 0.19661193324148185, rel_tol=REL)  # σ(1−σ) at σ = 0.731
    assert not any(n.kind == "const" for n in fused.tape.nodes)  # the 1s went with their gates


def test_fused_neuron_with_sympy() -> None:
    r = gradient(NEURON_FORMULA, NEURON, fuse=True)
    assert r.symbolic.state == "done"
    assert [v.status for v in r.variables] == [AGREE] * 5
    assert r.ok


def test_fuse_on_the_command_line_shows_the_sigmoid_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    run = cli("grad", "--file", str(SAMPLES / "04-neuron.grad"), "--fuse", "--no-symbolic")
    assert run.exit_code == 0
    out = run.stdout
    rows = table_rows(out, "node")
    assert list(rows) == ["w0", "x0", "w1", "x1", "w2", "q", "r", "s", "t", "f"]
    f = rows["f"][0]
    cells = {h: f[column(out, "node", h)] for h in ("gate", "value", "local", "downstream", "pattern")}
    assert cells == {
        "gate": "f = sigmoid(t)",
        "value": "0.731059",
        "local": "t: 0.196612",
        "downstream": "→ t: 0.196612",
        "pattern": "sigmoid: σ(1-σ)",
    }
    assert out.rstrip().splitlines()[-1] == "f = 0.731059   ✓ all 5 gradients agree"


def test_fused_json_has_the_sigmoid_gate() -> None:
    doc = cli("grad", "--file", str(SAMPLES / "04-neuron.grad"), "--fuse", "--json", "--no-symbolic").json()
    [sig] = [n for n in doc["nodes"] if n["op"] == "sigmoid"]
    assert (sig["name"], sig["expr"], sig["local"]) == ("f", "sigmoid(t)", [0.19661193324148185])
    assert not [n for n in doc["nodes"] if n["op"] in ("neg", "exp", "div")]
    for name, expected in NEURON_GRADIENTS.items():
        assert math.isclose(doc["gradients"][name], expected, rel_tol=REL)


@pytest.mark.parametrize("formula", ["1/(1+exp(-x))", "1/(exp(-x)+1)", "1/(1+exp(-1*x))", "1/(1+exp(x*-1))"])
def test_sigmoid_spellings(formula: str) -> None:
    plain, fused = both(formula, {"x": 0.3})
    assert ops(fused) == ["sigmoid"]
    assert_same_gradients(plain, fused)
    s = 1 / (1 + math.exp(-0.3))
    assert math.isclose(fused.gradients["x"], s * (1 - s), rel_tol=1e-12)


@pytest.mark.parametrize(
    "formula",
    [
        "1/(2+exp(-x))",  # not 1 + ...
        "2/(1+exp(-x))",  # not 1 / ...
        "1/(1+exp(x))",  # not a negation
        "1/(1+exp(-2*x))",  # -2, not -1
        "e = exp(-x); 1/(1+e)",  # a name the user gave stays in the table
        "d = 1 + exp(-x); 1/d",
    ],
)
def test_what_is_not_a_sigmoid_stays(formula: str) -> None:
    plain, fused = both(formula, {"x": 0.3})
    assert "sigmoid" not in ops(fused)
    assert ops(fused) == ops(plain)
    assert_same_gradients(plain, fused)


def test_the_2_2_2_network_with_its_sigmoids_written_out() -> None:
    plain, fused = both(SIGMOID_NETWORK, NETWORK)
    assert ops(fused).count("sigmoid") == 6  # each hidden unit written twice, and two outputs
    assert not {"neg", "exp", "div"} & set(ops(fused))
    assert_same_gradients(plain, fused)
    assert math.isclose(fused.value, 0.09550599835677515, rel_tol=REL)
    assert math.isclose(fused.gradients["w5"], 0.04874558763374381, rel_tol=REL)


# ---------------------------------------------------------------------------
# logsumexp and softmax cross-entropy


def test_logsumexp_fuses() -> None:
    plain, fused = both("log(sum(exp(z)))", {"z": Z})
    assert (ops(plain), ops(fused)) == (["exp", "sum", "log"], ["logsumexp"])
    assert_same_gradients(plain, fused)
    e = np.exp(Z)
    np.testing.assert_allclose(fused.gradients["z"], e / e.sum(), rtol=REL)


def test_softmax_cross_entropy_written_out_fuses_its_logsumexp() -> None:
    plain, fused = both("-sum(y*(z - log(sum(exp(z)))))", {"z": Z, "y": Y})
    assert "logsumexp" in ops(fused) and "exp" not in ops(fused)
    assert_same_gradients(plain, fused)
    e = np.exp(Z)
    np.testing.assert_allclose(fused.gradients["z"], e / e.sum() - Y, rtol=REL)  # p − y


def test_a_vector_of_sigmoids_fuses() -> None:
    plain, fused = both("sum(1/(1+exp(-(W@x))))", {"W": W, "x": X})
    assert ops(fused) == ["matmul", "sigmoid", "sum"]
    assert_same_gradients(plain, fused)


def test_softmax_written_out_fuses() -> None:
    plain, fused = both("sum(exp(z)/sum(exp(z)) * y)", {"z": Z, "y": Y})
    assert ops(plain) == ["exp", "exp", "sum", "div", "mul", "sum"]  # one node per exp(z) written
    assert ops(fused) == ["softmax", "mul", "sum"]
    assert_same_gradients(plain, fused)


# ---------------------------------------------------------------------------
# Fused and unfused agree on random points


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-3.0, 3.0, allow_nan=False), min_size=5, max_size=5))
def test_fused_neuron_equals_unfused(point: list[float]) -> None:
    values = dict(zip(NEURON, point, strict=True))
    assert_same_gradients(*both(NEURON_FORMULA, values))


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 4).flatmap(lambda n: st.tuples(
    st.lists(st.floats(-5.0, 5.0, allow_nan=False), min_size=n, max_size=n),
    st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=n, max_size=n),
)))
def test_fused_cross_entropy_and_logsumexp_equal_unfused(zy: tuple[list[float], list[float]]) -> None:
    z, y = (np.array(v) for v in zy)
    assert_same_gradients(*both("-sum(y*(z - log(sum(exp(z))))) + log(sum(exp(2*z)))", {"z": z, "y": y}))
