"""The central difference is a witness, not an alarm: a right gradient never fails because of its step.

The first step is ∛ε·max(1, |x|), as before; when it disagrees, a ladder of
smaller steps (and, for |x| < 1, steps on the scale of x) decides, keeping off
kinks by the rows' ``branch`` rule; when no step can decide, the check says so.
"""

from __future__ import annotations

import math

import pytest
from conftest import cli

from gradcalc.api import AGREE, KINK, gradient


@pytest.mark.parametrize(
    ("formula", "x", "derivative"),
    [
        ("sin(x)", 1e6, math.cos(1e6)),
        ("sin(x)", 1e9, math.cos(1e9)),
        ("sin(x)", 1e12, math.cos(1e12)),
        ("1/x", 1e-6, -1e12),  # the first step, 6e-6, crosses the pole
        ("sqrt(x)", 1e-6, 500.0),  # the first step leaves the domain
        ("abs(x)^0.5", 1e-300, 0.5 * 1e150),  # the first step crosses abs's kink
        ("relu(x)", 1e-7, 1.0),
        ("log(x)", 1e-200, 1e200),
    ],
)
def test_right_gradients_pass_where_the_first_step_is_too_large(formula: str, x: float, derivative: float) -> None:
    r = gradient(formula, {"x": x}, symbolic=False)
    assert r.gradients["x"] == pytest.approx(derivative, rel=1e-12)
    assert r.ok, [(v.status, v.numeric, v.notes) for v in r.variables]
    [check] = r.variables
    assert check.status == AGREE
    if formula != "sin(x)":  # confirmed, not waved through
        assert check.numeric == pytest.approx(derivative, rel=1e-5)
        assert check.notes == []


@pytest.mark.parametrize("x", ["1e15", "1e14"])
def test_no_step_can_follow_sin_at_huge_x_and_the_check_says_so(x: str) -> None:
    run = cli("grad", "sin(x)", f"x={x}", "--no-symbolic")
    assert run.exit_code == 0, run.stdout
    assert "numeric check inconclusive: the step is too large for this point" in run.stdout
    assert "kink" not in run.stdout


def test_a_near_tie_of_max_is_a_kink_within_every_step_not_a_failure() -> None:
    run = cli("grad", "max(x, y)", "x=1", "y=1.0000000000000002", "--json", "--no-symbolic")
    assert run.exit_code == 0
    doc = run.json()
    assert doc["gradients"] == {"x": 0.0, "y": 1.0}
    notes = [n for v in doc["checks"]["variables"] for n in v["notes"]]
    assert notes == ["numeric check inconclusive: the smallest step still crosses the kink of gate f = max(x, y)"] * 2


def test_the_exponent_derivative_of_a_negative_base_is_said_undefined() -> None:
    run = cli("grad", "x^y", "x=-2", "y=3", "--json", "--no-symbolic")
    assert run.exit_code == 0, run.stdout
    doc = run.json()
    by_name = {v["name"]: v for v in doc["checks"]["variables"]}
    assert by_name["x"]["gradient"] == 12.0  # 3·(-2)²
    assert by_name["y"]["status"] == KINK
    assert by_name["y"]["notes"] == [
        "at gate f = x ^ y: x^y with x < 0: the derivative with respect to the exponent is undefined "
        "(x^y is real only at whole y)"
    ]


def test_a_wrong_gradient_still_fails_the_numeric_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from gradcalc import builder, ops

    wrong = dataclasses.replace(ops.OPS["sin"], local=lambda m, xs, out: (1.01 * m.cos(xs[0]),))
    monkeypatch.setitem(builder.CALLS, "sin", (wrong,))
    monkeypatch.setitem(ops._BY_CALL, ("sin", 1), wrong)  # the builder's one-lookup path
    for x in (0.3, 1e6):
        r = gradient("sin(x)", {"x": x}, symbolic=False)
        [check] = r.variables
        assert "numeric" in check.disagreeing, (x, check)
        assert not r.ok
