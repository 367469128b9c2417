"""Second derivatives from the gradient graph: the Hessian and --order, against SymPy and PyTorch."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

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
from gradcalc.ops import OPS, Op
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


# -- Markdown and LaTeX: golden, on a polynomial (every number exact on every machine) ----------------------------

POLY_MARKDOWN = """\
`x^2*y + x*y^3` at x = 1, y = 2

**f = 10**

**Hessian**, rows by reverse mode over the gradient graph

| ∂²f/∂·∂· | x | y |
|:--|--:|--:|
| x | 4 | 14 |
| y | 14 | 12 |

**Checks**

| witness | agrees | largest difference |
|:--|:--|--:|
| forward mode | ✓ | 0 |
| central differences of the gradient | ✓ | 2.57e-10 |
| SymPy | ✓ | 0 |
| symmetry | ✓ | 0 |

**Eigenvalues:** -6.56022, 22.5602: indefinite, a saddle point where the gradient is 0 (it is not 0 here)

**✓ symmetric; forward mode, central differences of the gradient, SymPy agree**
"""

POLY_LATEX = r"""% gradcalc hessian: x^2*y + x*y^3 at x = 1, y = 2
% needs \usepackage{amsmath}
\begin{align*}
  f &= 10 \\
  \nabla^2 f(x, y) &= \begin{bmatrix} 4 & 14 \\ 14 & 12 \end{bmatrix} \\
  \lambda &= -6.56022,\ 22.5602 && \text{indefinite: a saddle point where the gradient is 0 (it is not 0 here)}
\end{align*}

\begin{tabular}{llr}
\hline
witness & agrees & largest difference \\
\hline
forward mode & yes & $0$ \\
central differences of the gradient & yes & $2.57 \times 10^{-10}$ \\
SymPy & yes & $0$ \\
symmetry & yes & $0$ \\
\hline
\end{tabular}
% ✓ symmetric; forward mode, central differences of the gradient, SymPy agree
"""


def test_markdown_and_latex_are_golden() -> None:
    # By hand: f_xx = 2y = 4, f_xy = 2x + 3y² = 14, f_yy = 6xy = 12; eigenvalues 8 ± √212.
    assert sorted(hessian("x^2*y + x*y^3", {"x": 1.0, "y": 2.0}).eigenvalues) == pytest.approx(
        [8 - math.sqrt(212), 8 + math.sqrt(212)], rel=1e-12)
    md = cli("hessian", "x^2*y + x*y^3", "x=1", "y=2", "--format", "markdown")
    assert (md.exit_code, md.stdout) == (0, POLY_MARKDOWN)
    tex = cli("hessian", "x^2*y + x*y^3", "x=1", "y=2", "--format", "latex")
    assert (tex.exit_code, tex.stdout) == (0, POLY_LATEX)


def test_the_output_file_says_the_format(tmp_path: Path) -> None:
    for suffix, start in ((".md", "`x^2*y"), (".tex", "% gradcalc hessian"), (".json", "{")):
        path = tmp_path / f"h{suffix}"
        run = cli("hessian", "x^2*y + x*y^3", "x=1", "y=2", "-o", str(path))
        assert run.exit_code == 0 and run.stdout == "", run.stderr
        assert path.read_text(encoding="utf-8").startswith(start)
    assert cli("hessian", "x*y", "x=1", "y=2", "--format", "pdf").exit_code == 2
    assert cli("hessian", "x*y", "x=1", "y=2", "--format", "latex", "-o", str(tmp_path / "h.md")).exit_code == 2
    assert cli("hessian", "x*y", "x=1", "y=2", "--json", "--format", "markdown").exit_code == 2


def test_the_done_when_case_in_markdown_has_the_matrix_checks_and_eigenvalues() -> None:
    run = cli("hessian", "x^2*y + sin(x*y)", "x=1", "y=2", "--format", "markdown")
    assert run.exit_code == 0
    s, c = math.sin(2.0), math.cos(2.0)
    assert f"| x | {4 - 4 * s:.6g} | {2 + c - 2 * s:.6g} |" in run.stdout
    assert f"| y | {2 + c - 2 * s:.6g} | {-s:.6g} |" in run.stdout
    assert "**Eigenvalues:** -0.951232, 0.404745: indefinite" in run.stdout
    assert run.stdout.count("| ✓ |") == 4


# -- vectors and matrices: one variable per element ---------------------------------------------------------------


def test_a_vector_variable_is_its_elements_by_hand_and_by_sympy() -> None:
    import sympy as sp

    r = hessian("sum(v^2) + v[0]*v[1]", {"v": np.array([1.0, 2.0, 3.0])})
    assert r.variables == ["v[0]", "v[1]", "v[2]"]
    # By hand: 2I from sum(v^2), and 1 at (0, 1) and (1, 0) from v[0]*v[1].
    assert r.hessian == [[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 2.0]]
    v0, v1, v2 = sp.symbols("v0 v1 v2")
    f = v0**2 + v1**2 + v2**2 + v0 * v1
    assert r.symbolic == [[float(sp.diff(f, a, b)) for b in (v0, v1, v2)] for a in (v0, v1, v2)]
    assert r.ok and r.definiteness == "positive definite"
    assert r.gradient == [4.0, 5.0, 6.0]


def test_a_matrix_product_against_sympys_own_matrices() -> None:
    import sympy as sp

    w_value = np.array([[0.1, 0.5], [-0.3, 0.8]])
    x_value = np.array([0.2, 0.4])
    r = hessian("sum(tanh(W@x)^2) + W[0, 1]*x[1]^3", {"W": w_value, "x": x_value})
    assert r.variables == ["W[0, 0]", "W[0, 1]", "W[1, 0]", "W[1, 1]", "x[0]", "x[1]"]
    w = sp.Matrix(2, 2, sp.symbols("w00 w01 w10 w11"))
    x = sp.Matrix(sp.symbols("x0 x1"))
    q = w * x
    f = sum(sp.tanh(q[i]) ** 2 for i in range(2)) + w[0, 1] * x[1] ** 3
    flat = [*w, *x]
    subs = dict(zip(flat, [*w_value.ravel(), *x_value], strict=True))
    want = [[float(sp.diff(f, a, b).evalf(30, subs=subs)) for b in flat] for a in flat]
    np.testing.assert_allclose(r.hessian, want, rtol=1e-12, atol=1e-15)
    assert r.ok, r.disagreeing()


def test_wrt_takes_elements_and_whole_variables() -> None:
    values = {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]), "x": np.array([0.2, 0.4])}
    r = hessian("sum((W@x)^2)", values, wrt=["x", "W[0,1]"], symbolic=False)
    assert r.variables == ["x[0]", "x[1]", "W[0, 1]"]
    full = hessian("sum((W@x)^2)", values, symbolic=False)
    pick = [full.variables.index(v) for v in r.variables]
    assert r.hessian == [[full.hessian[i][j] for j in pick] for i in pick]
    run = cli("hessian", "sum((W@x)^2)", "W=[[0.1,0.5],[-0.3,0.8]]", "x=[0.2,0.4]", "--wrt", "W[0, 1],x[1]",
              "--json")
    assert run.json()["variables"] == ["W[0, 1]", "x[1]"]


@pytest.mark.parametrize(
    ("wrt", "message"),
    [
        (["v[3]"], "--wrt names 'v[3]', but v is 3"),
        (["v[0, 0]"], "--wrt names 'v[0, 0]', but v is 3"),
        (["w"], "--wrt names 'w', which the formula does not use"),
        (["v[0"], "--wrt names 'v[0', which the formula does not use"),
    ],
)
def test_wrt_of_no_element_is_a_clear_error(wrt: list[str], message: str) -> None:
    with pytest.raises(GradcalcError) as caught:
        hessian("sum(v^2)", {"v": np.array([1.0, 2.0, 3.0])}, wrt=wrt)
    assert caught.value.message == message


def test_every_tensor_row_unrolls_to_the_same_gradient() -> None:
    """The unrolled formula's gradient graph gives backprop's gradient, for each structural row."""
    from gradcalc.ops import TENSOR_ROWS
    from gradcalc.unroll import unroll

    cases = {
        "matmul": "sum(tanh(W@x)) + x@W@x", "sum": "sum(exp(x))", "mean": "mean(W*W)", "T": "sum(T(W)*W)",
        "softmax": "sum(softmax(x*30)*[2, 3])", "logsumexp": "logsumexp(x*800)", "norm": "norm(W)",
        "log_softmax": "sum(log_softmax(x)*[0.2, 0.8])", "stack": "sum([x[1], 2*x[0]]*x)",
    }
    assert set(cases) == {op.name for op in TENSOR_ROWS}
    values = {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]), "x": np.array([0.7, -1.2])}
    for name, formula in cases.items():
        ev = evaluate(formula, {n: values[n] for n in load(formula).variables})
        unrolled = unroll(ev.tape, ev.inputs, ev.values)
        assert not unrolled.tape.has_tensors
        program = gradient_program(unrolled.tape)
        got = evaluate(program.text, {n: unrolled.inputs[n] for n in load(program.text).variables}).output_value
        want = gradient(formula, ev.inputs, symbolic=False).gradients
        flat = np.concatenate([np.ravel(want[n]) for n in ev.tape.variables])
        np.testing.assert_allclose(np.ravel(got), flat, rtol=1e-12, atol=1e-15, err_msg=name)


# -- the Hessian-vector product ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "values"),
    [
        ("x^2*y + sin(x*y)", {"x": 1.0, "y": 2.0}),
        ("sum(v^2) + v[0]*v[1]", {"v": np.array([1.0, 2.0, 3.0])}),
        ("logsumexp(W@x) + norm(x)^3", {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]), "x": np.array([0.2, 0.4])}),
        ("exp(a*b)*c + c^3", {"a": 0.3, "b": -0.5, "c": 1.5}),
    ],
)
def test_the_product_is_the_full_matrix_times_its_direction(formula: str, values: dict[str, object]) -> None:
    full = hessian(formula, values)
    r = hessian(formula, values, hvp=True, seed=7)
    assert r.hvp is not None and full.hvp is None and r.variables == full.variables
    d = np.array(r.hvp.direction)
    np.testing.assert_allclose(r.hvp.value, np.array(full.hessian) @ d, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r.hvp.reverse, d @ np.array(full.hessian), rtol=1e-12, atol=1e-14)
    assert r.hvp.symbolic is not None and r.ok, r.disagreeing()
    assert r.hvp.direction == hessian(formula, values, hvp=True, seed=7).hvp.direction  # type: ignore[union-attr]


def test_the_direction_is_seeded_tenths_never_zero() -> None:
    from gradcalc.hessian import direction

    assert direction(5) == [-0.9, 0.5, 0.6, 0.8, -0.5]  # random.Random(0): the same on every Python
    assert direction(5, 1) == [-0.2, 0.8, 0.5, -0.7, 0.1]
    many = direction(1000, 3)
    assert all(x != 0 and abs(x) <= 1 and round(x * 10) == x * 10 for x in many)


def test_past_the_matrix_limit_the_product_is_computed_instead() -> None:
    from gradcalc.limits import MAX_HESSIAN_MATRIX

    n = MAX_HESSIAN_MATRIX + 1
    v = np.linspace(-1.0, 1.0, n)
    r = hessian("sum(sin(v)*v) + sum(v)^2", {"v": v}, symbolic=False)
    assert r.hvp is not None and r.hvp.why == f"{n} variables, more than the {MAX_HESSIAN_MATRIX} of a full matrix"
    # By hand: H = diag(2cos v − v sin v) + 2·11ᵀ.
    d = np.array(r.hvp.direction)
    want = (2 * np.cos(v) - v * np.sin(v)) * d + 2 * d.sum()
    np.testing.assert_allclose(r.hvp.value, want, rtol=1e-12, atol=1e-12)
    assert r.ok and r.eigenvalues == [] and r.definiteness == "not computed"
    assert hessian("sum(sin(v)*v)", {"v": v[:MAX_HESSIAN_MATRIX]}, symbolic=False, numeric=False).hvp is None


def test_the_product_on_the_command_line_and_in_json() -> None:
    run = cli("hessian", "sum(v^2) + v[0]*v[1]", "v=[1,2,3]", "--hvp", "--seed", "3")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines() == [
        "f = 16",
        "Hessian-vector product H·d, d random (seed 3), instead of the matrix: asked for with --hvp",
        "H·d by forward mode over the gradient graph; dᵀH by reverse mode over it",
        "+----------+------+------+---------------+---------+-------+",
        "| variable |    d |  H·d | dᵀH (reverse) | numeric | SymPy |",
        "+----------+------+------+---------------+---------+-------+",
        "| v[0]     | -0.3 |   -1 |            -1 |      -1 |    -1 |",
        "| v[1]     | -0.4 | -1.1 |          -1.1 |    -1.1 |  -1.1 |",
        "| v[2]     |  0.7 |  1.4 |           1.4 |     1.4 |   1.4 |",
        "+----------+------+------+---------------+---------+-------+",
        "✓ H·d = dᵀH (symmetric along d); central differences of the gradient along d, SymPy agree",
        "eigenvalues: not computed, as they need the full matrix",
    ]
    doc = cli("hessian", "sum(v^2) + v[0]*v[1]", "v=[1,2,3]", "--hvp", "--seed", "3", "--json").json()
    hvp = doc["hvp"]
    # d = [-0.3, -0.4, 0.7]; H = [[2, 1, 0], [1, 2, 0], [0, 0, 2]].
    assert hvp["direction"] == [-0.3, -0.4, 0.7] and hvp["seed"] == 3
    assert hvp["value"] == pytest.approx([-1.0, -1.1, 1.4], rel=1e-15)
    assert hvp["checks"]["reverse"] == pytest.approx(hvp["value"], rel=1e-15)
    assert hvp["checks"]["sympy"] == pytest.approx(hvp["value"], rel=1e-12)
    assert hvp["checks"]["numeric"] == pytest.approx(hvp["value"], rel=1e-8)
    assert doc["hessian"] is None and doc["eigenvalues"] is None and doc["status"] == "ok"


def test_the_product_is_linear_in_the_variables() -> None:
    from test_limits import lines_run

    def work(n: int) -> int:
        v = np.linspace(-1.0, 1.0, n)
        return lines_run(lambda: hessian("sum(exp(v)*v) + v[0]*v[1]", {"v": v}, symbolic=False, hvp=True))

    small, large = work(200), work(400)
    assert large <= 2.5 * small, (small, large)


# -- limits and points where second derivatives are not defined ----------------------------------------------------


def test_limits_exit_2_with_their_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradcalc import limits

    run = cli("hessian", "sum(v^2)", f"v={[0.5] * (limits.MAX_HESSIAN_VARIABLES + 1)}".replace(" ", ""), "--json")
    assert run.exit_code == 2
    assert f"more than the limit of {limits.MAX_HESSIAN_VARIABLES:,}" in run.json()["error"]["message"]
    monkeypatch.setattr("gradcalc.unroll.MAX_SECOND_ORDER_NODES", 20)
    run = cli("hessian", "sum(v^2)*x", "v=[1,2,3,4,5,6,7,8,9,10]", "x=2")
    assert run.exit_code == 2 and "more than 20 nodes, the limit for second derivatives" in run.stderr
    monkeypatch.setattr("gradcalc.gradgraph.MAX_SECOND_ORDER_NODES", 5)
    run = cli("grad", "sin(x)*x^2", "x=1", "--order", "3")
    assert run.exit_code == 2 and "at most 5 nodes" in run.stderr


def test_at_a_kink_sympy_and_central_differences_are_not_held() -> None:
    r = hessian("relu(x)*y", {"x": 0.0, "y": 1.0})
    assert r.hessian == [[0.0, 0.0], [0.0, 0.0]]  # relu's local gradient 0 at 0 (PyTorch's convention)
    assert r.symbolic is not None and r.symbolic[0][1] == 0.5  # SymPy: Heaviside(0) = 1/2
    assert r.ok and r.kinks and any(w.note for w in r.witnesses())


def test_a_hessian_not_finite_at_the_point_is_said_of_the_formula() -> None:
    run = cli("hessian", "sqrt(x)*y", "x=0", "y=1")
    assert run.exit_code == 2
    assert "the second derivatives are not finite at this point" in run.stderr
    assert "sqrt at 0: derivative is infinite" in run.stderr


# -- random formulas over vectors and matrices against PyTorch ------------------------------------------------------


def torch_value(tape: object, env: dict[str, object]) -> object:
    """The tape's output computed by PyTorch's own functions, row by row (tensor rows by their torch forms)."""
    import torch

    from gradcalc.tape import CONST, VAR, Tape

    assert isinstance(tape, Tape)
    special = {
        "softmax": lambda a: torch.softmax(a.flatten(), 0).reshape(a.shape),
        "logsumexp": lambda a: torch.logsumexp(a.flatten(), 0),
        "log_softmax": lambda a: a - torch.logsumexp(a.flatten(), 0),
        "norm": lambda a: torch.linalg.vector_norm(a),
        "T": lambda a: a.T if a.ndim == 2 else a,
        "stack": lambda *xs: torch.stack(list(xs)),
    }
    vals: list[object] = []
    for node in tape.nodes:
        if node.kind == VAR:
            vals.append(env[node.label])
        elif node.kind == CONST:
            vals.append(torch.tensor(np.asarray(node.const, dtype=float), dtype=torch.float64))
        else:
            assert node.op is not None
            args = [vals[j] for j in node.args]
            if node.op.index is not None:
                vals.append(args[0][node.op.index])  # type: ignore[index]
            elif node.op.name in special:
                vals.append(special[node.op.name](*args))
            else:
                fn: object = torch
                for part in node.op.torch.split(".")[1:]:
                    fn = getattr(fn, part)
                vals.append(fn(*args))  # type: ignore[operator]
    return vals[tape.output]


def random_tensor_formula(seed: int) -> str:
    """A formula over v (3), W (2×3) and u (2) from the op table's smooth rows and every reduction."""
    import random

    rng = random.Random(seed)
    expr = rng.choice(["W@v", "u", "u*(W@v)", "u - 2*(W@v)", "[v[0], u[1]*v[2]]"])
    for _ in range(rng.randint(1, 3)):
        op = rng.choice(SMOOTH)
        others = [into(op, k, rng.choice(["u", "W@v", "u[0]", "v[1]"])) for k in range(1, arity(op))]
        expr = f"{op.calls[0]}({', '.join([into(op, 0, expr), *others])})"
        other = rng.choice(["u", "(W@v)", "u[0]", "v[1]"])  # and an operator row, broadcasting a number or not
        expr = rng.choice([expr, f"{expr}*{other}", f"{expr} - {other}", f"({expr})^{rng.choice('23')}",
                           f"{expr}/{into(OPS['div'], 1, other)}"])
    reduced = rng.choice(["sum({})", "mean({})", "logsumexp({})", "norm({})", "sum(softmax({})*[0.3, 0.7])",
                          "({})@u", "sum(T(W)@({}))"])
    return f"{reduced.format(expr)} * (v[2] + 2)"


@pytest.mark.parametrize("seed", range(25))
def test_random_tensor_hessians_agree_with_pytorch(seed: int) -> None:
    torch = pytest.importorskip("torch")

    formula = random_tensor_formula(seed)
    v, w, u = np.array([0.3, -0.6, 0.9]), np.array([[0.2, -0.4, 0.5], [0.7, 0.1, -0.3]]), np.array([-0.5, 0.8])
    values = {"v": v, "W": w, "u": u}
    tape = load(formula)
    r = hessian(formula, {n: values[n] for n in tape.variables}, symbolic=False, numeric=False)

    def f(p: object) -> object:
        env = {"v": p[0:3], "W": p[3:9].reshape(2, 3), "u": p[9:11]}  # type: ignore[index]
        return torch_value(tape, env)

    flat = torch.tensor(np.concatenate([v, w.ravel(), u]), dtype=torch.float64)
    want = torch.autograd.functional.hessian(f, flat).numpy()
    where = {f"v[{i}]": i for i in range(3)} | {f"W[{i}, {j}]": 3 + 3 * i + j for i in range(2) for j in range(3)} | {
        f"u[{i}]": 9 + i for i in range(2)}
    index = [where[label] for label in r.variables]
    np.testing.assert_allclose(r.hessian, want[np.ix_(index, index)], rtol=1e-9, atol=1e-12, err_msg=formula)
    assert r.symmetric and r.ok, (formula, r.disagreeing())


# -- the documentation's transcripts are real runs -------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"


def doc_transcripts(page: str) -> list[tuple[str, str, int]]:
    """(command, expected output, exit code or -1) for each ``$ gradcalc ...`` of a docs page's console blocks."""
    found: list[tuple[str, str, int]] = []
    text = (DOCS / page).read_text(encoding="utf-8")
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ echo $?"):
                found[-1] = (found[-1][0], found[-1][1], -2)  # the next line is the code
            elif line.startswith("$ "):
                found.append((line[2:], "", -1))
            elif found and found[-1][2] == -2:
                found[-1] = (found[-1][0], found[-1][1], int(line))
            elif found:
                found[-1] = (found[-1][0], found[-1][1] + line + "\n", found[-1][2])
    return found


def run_transcript(command: str, expected: str, code: int) -> None:
    assert re.fullmatch(r"gradcalc (hessian|graph) [^|>]*(\| (cat|jq .*))?", command), command  # writes no file
    bindir = Path(sys.executable).parent
    if not (bindir / "gradcalc").exists():
        pytest.skip("the gradcalc script is not installed next to this Python")
    if "| jq" in command and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(["bash", "-c", command], cwd=DOCS.parent, env=env, capture_output=True, text=True,
                          timeout=120)
    output = proc.stdout + proc.stderr
    assert [line.rstrip() for line in output.rstrip("\n").splitlines()] == expected.rstrip("\n").splitlines()
    if code >= 0:
        assert proc.returncode == code


HESSIAN_TRANSCRIPTS = doc_transcripts("hessian.md")


def test_the_hessian_page_has_transcripts() -> None:
    assert len(HESSIAN_TRANSCRIPTS) >= 10 and any(code == 2 for *_, code in HESSIAN_TRANSCRIPTS)


@pytest.mark.parametrize(("command", "expected", "code"), HESSIAN_TRANSCRIPTS,
                         ids=[c[:60] for c, _, _ in HESSIAN_TRANSCRIPTS])
def test_hessian_page_transcript(command: str, expected: str, code: int) -> None:
    run_transcript(command, expected, code)


@pytest.mark.parametrize(
    ("formula", "values", "want"),
    [
        ("3*x + y", {"x": 2.0, "y": 1.0}, [[0.0, 0.0], [0.0, 0.0]]),  # every gradient a number: a list of numbers
        ("x", {"x": 2.0}, [[0.0]]),
        ("x^3", {"x": 2.0}, [[12.0]]),  # 6x
        ("v[0]^2", {"v": np.array([1.0, 2.0])}, [[2.0, 0.0], [0.0, 0.0]]),  # v[1] unused: its row and column are 0
        ("x = 2\ny = 3\nx*y^2", {}, [[0.0, 6.0], [6.0, 4.0]]),  # a program's own values: 2y, 2x
    ],
)
def test_small_and_constant_gradients_both_ways(formula: str, values: dict[str, object],
                                                want: list[list[float]]) -> None:
    full = hessian(formula, values)
    assert full.hessian == want and full.ok
    product = hessian(formula, values, hvp=True)
    assert product.hvp is not None and product.ok
    np.testing.assert_allclose(product.hvp.value, np.array(want) @ product.hvp.direction, atol=1e-12)
