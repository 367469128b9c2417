"""Second derivatives from the gradient graph: the Hessian and --order, against SymPy and PyTorch."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
from conftest import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_op_table import ELEMENTWISE, arity, into

from gradcalc.api import gradient
from gradcalc.errors import GradcalcError
from gradcalc.gradgraph import gradient_program, gradient_tape
from gradcalc.hessian import derivatives_of_order, hessian
from gradcalc.ops import Op
from gradcalc.pipeline import evaluate, load


def sympy_hessian(text: str, point: dict[str, float]) -> list[list[float]]:
    import sympy as sp

    from gradcalc.symbolic import to_sympy

    tape = load(text)
    expr, symbols = to_sympy(tape)
    names = list(tape.variables)
    subs = {symbols[n]: point[n] for n in names}
    return [[float(sp.diff(expr, symbols[a], symbols[b]).evalf(30, subs=subs)) for b in names] for a in names]


def test_the_issue_example_is_sympys_matrix_symmetric_and_checked() -> None:
    r = hessian("x^2*y + sin(x*y)", {"x": 1.0, "y": 2.0})
    want = sympy_hessian("x^2*y + sin(x*y)", {"x": 1.0, "y": 2.0})
    # By hand: ∂²/∂x² = 2y − y² sin(xy), ∂²/∂x∂y = 2x + cos(xy) − xy sin(xy), ∂²/∂y² = −x² sin(xy).
    s, c = math.sin(2.0), math.cos(2.0)
    np.testing.assert_allclose(want, [[4 - 4 * s, 2 + c - 2 * s], [2 + c - 2 * s, -s]], rtol=1e-14)
    np.testing.assert_allclose(r.hessian, want, rtol=1e-12)
    assert r.symbolic is not None
    np.testing.assert_allclose(r.symbolic, want, rtol=1e-12)
    assert r.symmetric and r.ok and r.disagreeing() == []
    assert r.definiteness == "indefinite"
    np.testing.assert_allclose(sorted(r.eigenvalues), sorted(np.linalg.eigvalsh(np.array(want))), rtol=1e-12)


@pytest.mark.parametrize(
    ("formula", "point", "definiteness", "meaning"),
    [
        ("x^2 + 3*y^2", {"x": 0.0, "y": 0.0}, "positive definite", "a local minimum here, where the gradient is 0"),
        ("-(x^2) - y^2", {"x": 0.0, "y": 0.0}, "negative definite", "a local maximum here"),
        ("x^2 - y^2", {"x": 0.0, "y": 0.0}, "indefinite", "a saddle point here, where the gradient is 0"),
        ("x^2 + y", {"x": 1.0, "y": 0.0}, "semidefinite", "the second derivatives alone cannot tell"),
    ],
)
def test_eigenvalues_say_what_the_point_is(formula: str, point: dict[str, float], definiteness: str,
                                           meaning: str) -> None:
    r = hessian(formula, point, symbolic=False)
    assert r.definiteness == definiteness
    assert r.meaning.startswith(meaning)


def test_wrt_takes_a_subset_in_its_order() -> None:
    r = hessian("x^2*y*z", {"x": 1.0, "y": 2.0, "z": 3.0}, wrt=["z", "x"], symbolic=False)
    assert r.variables == ["z", "x"]
    assert r.hessian == [[0.0, 4.0], [4.0, 12.0]]  # ∂²/∂z² = 0, ∂²/∂z∂x = 2xy = 4, ∂²/∂x² = 2yz = 12


def test_order_3_of_x_cubed_sin_x_agrees_with_sympy() -> None:
    import sympy as sp

    x = sp.Symbol("x")
    f = x**3 * sp.sin(x)
    want = [float(sp.diff(f, x, k).subs(x, 2)) for k in range(4)]
    r = derivatives_of_order("x^3*sin(x)", {"x": 2.0}, 3)
    np.testing.assert_allclose(r.values, want, rtol=1e-12)
    assert r.symbolic is not None and r.ok
    np.testing.assert_allclose(r.symbolic, want[1:], rtol=1e-12)


def test_a_polynomial_runs_out_of_derivatives() -> None:
    r = derivatives_of_order("x^2 + 3*x", {"x": 1.0}, 4, symbolic=False)
    assert r.values == [4.0, 5.0, 2.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: hessian("[x, x]", {"x": 1.0}), "a Hessian is of a scalar function"),
        (lambda: hessian("x*y", {"x": 1.0, "y": 2.0}, wrt=["z"]), "--wrt names 'z'"),
        (lambda: derivatives_of_order("x^2", {"x": 1.0}, 0), "--order must be from 1"),
        (lambda: derivatives_of_order("x*y", {"x": 1.0, "y": 1.0}, 2), "--order is for a function of one variable"),
    ],
)
def test_bad_requests_are_clear_errors(call: object, message: str) -> None:
    with pytest.raises(GradcalcError) as caught:
        call()  # type: ignore[operator]
    assert message in caught.value.message


def test_the_command_prints_the_matrix_and_exits_0() -> None:
    run = cli("hessian", "x^2*y + sin(x*y)", "x=1", "y=2")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "✓ symmetric; forward mode, central differences of the gradient, SymPy agree" in run.stdout
    assert "eigenvalues: -0.951232, 0.404745: indefinite" in run.stdout
    doc = cli("hessian", "x^2*y + sin(x*y)", "x=1", "y=2", "--json").json()
    assert doc["variables"] == ["x", "y"] and doc["symmetric"] and doc["status"] == "ok"
    assert doc["hessian"][0][1] == pytest.approx(2 + math.cos(2.0) - 2 * math.sin(2.0), rel=1e-12)
    assert cli("hessian", "[x, x]", "x=1").exit_code == 2


# -- the gradient graph: every row's formula computes its local gradient --------------------------


@pytest.mark.parametrize("op", ELEMENTWISE, ids=[op.name for op in ELEMENTWISE])
def test_the_gradient_graph_of_each_row_is_backprop(op: Op) -> None:
    args = [into(op, k, name) for k, name in zip(range(arity(op)), ("u", "v"), strict=False)]
    text = f"{op.calls[0]}({', '.join(args)})*u"
    point = {"u": 0.3, "v": -0.7}
    tape = load(text)
    point = {n: point[n] for n in tape.variables}
    want = gradient(tape, point, symbolic=False).gradients
    program = gradient_program(tape)
    grads = evaluate(program.text, {n: point[n] for n in load(program.text).variables})
    got = grads.output_value
    got = [got] if isinstance(got, float) else list(got)
    assert got == pytest.approx([want[n] for n in tape.variables], rel=1e-12), program.text


TORCH = importlib.util.find_spec("torch") is not None
SMOOTH = [op for op in ELEMENTWISE if op.kink is None and op.torch and op.name != "pow"]  # pow: the exponent's domain


@st.composite
def two_variable_formulas(draw: st.DrawFn) -> str:
    expr = draw(st.sampled_from(["u*v", "u - 2*v", "u*u + v"]))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(SMOOTH))
        other = draw(st.sampled_from(["u", "v"]))
        args = [into(op, 0, expr)] + [into(op, k, other) for k in range(1, arity(op))]
        expr = f"{op.calls[0]}({', '.join(args)})"
    return f"{expr} * (u + 2*v)"


@pytest.mark.skipif(not TORCH, reason="torch is not installed (pip install '.[bench]')")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formula=two_variable_formulas(), u=st.floats(-1.5, 1.5), v=st.floats(-1.5, 1.5))
def test_random_hessians_agree_with_pytorch(formula: str, u: float, v: float) -> None:
    import torch

    r = hessian(formula, {"u": u, "v": v}, symbolic=False, numeric=False)

    def f(t: torch.Tensor) -> torch.Tensor:
        env = {"u": t[0], "v": t[1]}
        tape = load(formula)
        vals: list[torch.Tensor] = []
        for node in tape.nodes:
            if node.kind == "var":
                vals.append(env[node.label])
            elif node.kind == "const":
                vals.append(torch.tensor(float(node.const), dtype=torch.float64))
            else:
                assert node.op is not None
                fn = torch
                for part in node.op.torch.split(".")[1:]:
                    fn = getattr(fn, part)
                vals.append(fn(*[vals[j] for j in node.args]))
        return vals[tape.output]

    want = torch.autograd.functional.hessian(f, torch.tensor([u, v], dtype=torch.float64)).numpy()
    names = r.variables
    order = [names.index(n) for n in ("u", "v") if n in names]
    np.testing.assert_allclose(np.array(r.hessian)[np.ix_(order, order)], want[: len(order), : len(order)],
                               rtol=1e-9, atol=1e-12)
    assert gradient_tape(load(formula)).variables.keys() <= {"u", "v"}


def test_grad_order_3_on_the_command_line() -> None:
    run = cli("grad", "x^3*sin(x)", "x=2", "--order", "3")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[1:] == [
        "  f    = 7.27438",
        "  f′   = 7.58239   ✓ SymPy",
        "  f′′  = -6.35033   ✓ SymPy",
        "  f′′′ = -38.931   ✓ SymPy",
    ]
    doc = cli("grad", "x^3*sin(x)", "x=2", "--order", "3", "--json").json()
    assert doc["status"] == "ok" and len(doc["derivatives"]) == 4
    for bad in (("x^2", "x=2", "--order", "0"), ("x*y", "x=1", "y=2", "--order", "2")):
        assert cli("grad", *bad).exit_code == 2
