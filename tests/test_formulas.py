"""Runs without values: every gradient a formula gradcalc derives itself, confirmed by SymPy, parsed back."""

from __future__ import annotations

import math
import random

import pytest
from conftest import SAMPLES, cli

from gradcalc.api import gradient
from gradcalc.formulas import formula_gradient, terms
from gradcalc.gradgraph import magnitude, negate, number, plus, product
from gradcalc.limits import MAX_FORMULA_NODES
from gradcalc.ops import OPS, Op
from gradcalc.pipeline import evaluate, load
from gradcalc.printer import to_text
from gradcalc.tree import Name

NEURON = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
NEURON_POINT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
# CS231n lecture 4's neuron at that point (the lecture rounds them to -0.20, 0.39, -0.39, -0.59, 0.20).
NEURON_GRADIENTS = {"w0": -0.19661193324148185, "x0": 0.3932238664829637, "w1": -0.3932238664829637,
                    "x1": -0.5898357997244457, "w2": 0.19661193324148185}


def at(formula: str, point: dict[str, float]) -> float:
    """A formula gradcalc printed, parsed back by gradcalc and evaluated at the point."""
    tape = load(formula)
    return float(evaluate(tape, {n: point[n] for n in tape.variables}).output_value)


def test_add_then_mul_without_values() -> None:
    run = cli("grad", "(x+y)*z")
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[-4:] == ["f = (x + y) * z", "∂f/∂x = z", "∂f/∂y = z", "∂f/∂z = x + y"]
    assert "| q    | q = x + y | x + y       | z                 | x: 1               | → x: z" in run.stdout


def test_the_json_gradients_are_formulas_that_parse_back() -> None:
    doc = cli("grad", "(x+y)*z", "--json").json()
    assert doc["mode"] == "formulas" and doc["status"] == "ok"
    assert doc["gradients"] == {"x": "z", "y": "z", "z": "x + y"}
    assert [v["equal"] for v in doc["checks"]["variables"]] == [True, True, True]
    f = next(n for n in doc["nodes"] if n["label"] == "f")
    assert f["local"] == [{"input": "q", "gradient": "z"}, {"input": "z", "gradient": "q"}]


def test_the_neuron_without_values_is_confirmed_by_sympy_and_gives_the_lectures_numbers() -> None:
    r = formula_gradient(NEURON)
    assert r.sympy_reason is None
    for name, want in NEURON_GRADIENTS.items():
        assert r.equal[name] is True and r.how[name] == "proved"
        for text in (r.derived[name], r.gradient(name)):
            assert text is not None
            assert at(text, NEURON_POINT) == pytest.approx(want, rel=1e-12), text


def test_the_neuron_samples_program_with_formulas_ignores_its_values() -> None:
    run = cli("grad", "--file", str(SAMPLES / "04-neuron.grad"), "--formulas", "--json", "--no-symbolic")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["substituted"] == {} and doc["symbols"] == ["w0", "x0", "w1", "x1", "w2"]
    for name, want in NEURON_GRADIENTS.items():
        assert at(doc["gradients"][name], NEURON_POINT) == pytest.approx(want, rel=1e-12)
    # The gate table over the gate names: the 1/x gate hands back -1/g^2, the lecture's -1/x^2.
    f = next(n for n in doc["nodes"] if n["label"] == "f")
    assert f["local"] == [{"input": "g", "gradient": "-1 / g^2"}]


def test_some_values_are_substituted_and_the_rest_stay_symbolic() -> None:
    doc = cli("grad", "(x+y)*z", "x=-2", "--json").json()
    assert doc["substituted"] == {"x": -2.0} and doc["symbols"] == ["y", "z"]
    assert doc["value"] == "(y - 2) * z"
    assert doc["gradients"] == {"x": "z", "y": "z", "z": "y - 2"}
    r = formula_gradient("x^2*y + sin(x*y)", {"y": 0.5})
    assert r.equal == {"x": True, "y": True}
    for x in (-1.3, 0.2, 2.0):  # ∂/∂x = 2xy + y cos(xy), ∂/∂y = x² + x cos(xy), at y = 1/2
        assert at(r.gradient("x") or "", {"x": x}) == pytest.approx(x + 0.5 * math.cos(x / 2), rel=1e-12)
        assert at(r.gradient("y") or "", {"x": x}) == pytest.approx(x * x + x * math.cos(x / 2), rel=1e-12)


SMOOTH = [op for op in OPS.values() if not op.tensor and op.kink is None and op.name not in ("pow", "logb")
          and op.arity == 1]


@pytest.mark.parametrize("op", SMOOTH, ids=[op.name for op in SMOOTH])
def test_each_rows_formula_gradient_is_its_backprop(op: Op) -> None:
    """For each smooth row: the formula gradcalc derives, parsed back and evaluated, is backprop's number."""
    lo, hi = op.smooth[0]
    rng = random.Random(op.name)
    point = {"u": rng.uniform(lo, hi) * 0.9, "v": rng.uniform(0.5, 1.5)}
    inner = f"{op.calls[0]}(u)" if op.calls else "-u"
    text = f"{inner}*v*{inner} + u*v"
    r = formula_gradient(text, symbolic=False)
    want = gradient(text, point, symbolic=False).gradients
    for n in ("u", "v"):
        assert at(r.derived[n] or "", point) == pytest.approx(want[n], rel=1e-9, abs=1e-12), (text, r.derived[n])


def test_written_the_short_way() -> None:
    x, y = Name("x", (0, 0)), Name("y", (0, 0))
    assert to_text(product(number(1.0), x)) == "x"
    assert to_text(product(x, number(0.0))) == "0"
    assert to_text(product(x, number(-1.0))) == "-x"
    assert to_text(product(x, number(3.0))) == "3 * x"
    assert to_text(negate(product(x, y))) == "-x * y"
    assert to_text(negate(negate(x))) == "x"
    assert to_text(product(negate(x), negate(y))) == "x * y"
    assert to_text(plus(x, negate(y))) == "x - y"
    assert to_text(plus(number(-2.0), y)) == "y - 2"
    assert magnitude(x) is None


def test_a_formula_too_long_to_write_out_is_said_not_printed() -> None:
    # Each line doubles the written-out size of the next: q1 = x*x, q2 = q1*q1, ...
    lines = ["q0 = x"] + [f"q{k} = q{k - 1}*q{k - 1}" for k in range(1, 40)] + ["q39"]
    r = formula_gradient("\n".join(lines), symbolic=False)
    assert r.value is None and r.derived["x"] is None
    run = cli("grad", "\n".join(lines), "--no-symbolic")
    assert run.exit_code == 0 and "(too long to write out)" in run.stdout
    assert "∂q39/∂x = (too long to write out)" in run.stdout


def test_the_size_of_a_shared_formula_is_counted_without_writing_it() -> None:
    e = Name("x", (0, 0))
    for _ in range(200):  # 2^200 terms written out, 200 nodes in memory
        e = product(e, e)
    assert terms(e) == 2**201 - 1


def test_a_graph_too_large_for_formulas_exits_2_with_the_limit() -> None:
    formula = "+".join(f"x{k}" for k in range(MAX_FORMULA_NODES))
    run = cli("grad", formula, "--no-symbolic")
    assert run.exit_code == 2
    assert f"gradients as formulas are written for at most {MAX_FORMULA_NODES:,}" in run.stderr


def test_a_deep_formula_without_values_does_not_recurse() -> None:
    formula = "(" * 2000 + "x" + "+1)" * 2000
    run = cli("grad", formula, "--json", "--no-symbolic")
    assert run.exit_code == 0, run.stderr[-300:]
    assert run.json()["gradients"] == {"x": "1"}


def test_what_needs_values_says_which_are_missing() -> None:
    run = cli("grad", "x*y", "y=2", "--explain")
    assert run.exit_code == 2
    assert "--explain: every variable needs a value, and this run is without a value for x" in run.stderr
    assert "hint: add x=... after the formula" in run.stderr
    run = cli("grad", "sum(v*y)", "v=[1,2]")
    assert run.exit_code == 2 and "written for scalar variables" in run.stderr


def test_sympy_turned_off_says_so() -> None:
    run = cli("grad", "x*sin(x)", "--no-symbolic")
    assert run.exit_code == 0
    assert "∂f/∂x = sin(x) + x * cos(x)" in run.stdout or "∂f/∂x = x * cos(x) + sin(x)" in run.stdout
    assert "SymPy check skipped: turned off (--no-symbolic)" in run.stdout


def random_formula(rng: random.Random) -> str:
    """A random formula in u and v over the smooth rows and the operators, signs included."""
    expr = rng.choice(["u", "v", "-u", "u*v", "u - v"])
    for _ in range(rng.randint(1, 4)):
        other = rng.choice(["u", "v", "-v", "2", "0.5*u"])
        kind = rng.randrange(3)
        if kind == 0:
            expr = f"({expr}) {rng.choice(['+', '-', '*'])} ({other})"
        elif kind == 1:
            expr = f"({expr}) / (2 + ({other})^2)"
        else:
            op = rng.choice([op for op in SMOOTH if op.calls and op.smooth[0] == (-2.0, 2.0)] or SMOOTH)
            expr = f"{op.calls[0]}(0.3*({expr}))"
    return expr


@pytest.mark.parametrize("seed", range(40))
def test_random_formulas_derived_without_values_are_backprop(seed: int) -> None:
    rng = random.Random(seed)
    text = random_formula(rng)
    point = {"u": rng.uniform(-1, 1), "v": rng.uniform(-1, 1)}
    r = formula_gradient(text, symbolic=False)
    tape = load(text)
    want = gradient(text, {n: point[n] for n in tape.variables}, symbolic=False).gradients
    for n in tape.variables:
        assert at(r.derived[n] or "", point) == pytest.approx(want[n], rel=1e-9, abs=1e-12), (text, r.derived[n])


def test_trace_without_values_writes_formulas() -> None:
    doc = cli("trace", "(x+y)*z", "--json").json()
    assert doc["output"]["value"] == "(x + y) * z"
    assert {r["label"]: r["adjoint"] for r in doc["rows"]} == {"f": "1", "q": "z", "z": "x + y", "x": "z", "y": "z"}
    # Baydin et al.'s forward-mode example, seeded on x1: ∂f/∂x1 = 1/x1 + x2.
    run = cli("trace", "ln(x1) + x1*x2 - sin(x2)", "--mode", "forward", "--seed", "x1")
    assert run.exit_code == 0
    assert "f = v₅ = log(x1) + x1 * x2 - sin(x2);  ∂f/∂x1 = v̇₅ = 1 / x1 + x2" in run.stdout


def test_trace_with_some_values_substitutes_them() -> None:
    doc = cli("trace", "(x+y)*z", "x=-2", "--json").json()
    assert doc["inputs"] == {"x": -2.0, "y": "y", "z": "z"}
    assert {r["label"]: r["adjoint"] for r in doc["rows"]}["z"] == "y - 2"


@pytest.mark.parametrize("shape", ["sum", "chain"])
def test_work_without_values_grows_with_the_formula_not_faster(shape: str) -> None:
    """Twice the formula, at most ~2.5× the memory: measured by allocation, never by time."""
    import tracemalloc

    def formula(n: int) -> str:
        if shape == "sum":
            return " + ".join(f"sin(x{k})*y{k}" for k in range(n))
        return "x" + "".join(f"*c{k} + {k}" for k in range(n))  # every gradient a product down the chain

    def peak(n: int) -> int:
        text = formula(n)
        tracemalloc.start()
        try:
            formula_gradient(text, symbolic=False)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(150), peak(300)
    assert large <= 2.5 * small, (small, large)
