"""The op table itself: every row, at random points of its domain and at the edges of IEEE arithmetic.

One test per property, each parametrized over every row (as JAX's
``lax_autodiff_test`` walks ``LAX_GRAD_OPS``), so a new row is tested with no
other edit: its local gradients against SymPy's derivative and a central
difference; scalar math, array math and the sweep giving one answer; its
``grad_text`` formula evaluating to its local gradient; every printer's text
parsing back to the same graph; PyTorch's answer where torch is installed.
"""

from __future__ import annotations

import importlib.util
import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcalc.builder import build
from gradcalc.checks import FORWARD_TOL
from gradcalc.ops import CALLS, FUNCTIONS, OPS, ROWS, Op, ScalarMath, call_op
from gradcalc.parser import parse_expression, parse_program
from gradcalc.passes import Loop
from gradcalc.printer import GATE, MATH, TEXT, TRACE, gate_tree, leaf, local_text, local_tree, to_string
from gradcalc.sweep import Sweep
from gradcalc.tensor import NumpyMath
from gradcalc.tree import Name, to_sexpr

ROW_IDS = [op.name for op in ROWS]
POINTS = 6  # random points per row
SPECIAL = (0.0, -0.0, 1.0, -1.0, 0.5, -2.0, 1e300, -1e300, 5e-324, math.inf, -math.inf, math.nan)


def arity(op: Op) -> int:
    return op.arity if op.arity > 0 else 2


def points(op: Op, count: int = POINTS, seed: int = 0) -> list[tuple[float, ...]]:
    """Random points where the row says it is smooth."""
    rng = random.Random(f"{op.name}-{seed}")
    ranges = list(op.smooth) + [op.smooth[-1]] * (arity(op) - len(op.smooth))
    return [tuple(rng.uniform(lo, hi) for lo, hi in ranges[: arity(op)]) for _ in range(count)]


def same(a: Any, b: Any, rel: float = 0.0) -> bool:
    """Equal, both NaN, or within ``rel``; zeros must agree in sign when ``rel`` is 0."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return rel > 0 or math.copysign(1.0, a) == math.copysign(1.0, b) or a != 0
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= rel * max(abs(a), abs(b))


def call_text(op: Op, names: Sequence[str]) -> str:
    return to_string(gate_tree(op, [Name(n, (0, 0)) for n in names]), TEXT)


def test_every_row_is_complete() -> None:
    for op in ROWS:
        assert op.pattern, op.name
        assert op.grad_text and len(op.grad_text) in (1, arity(op)), op.name
        assert len(op.smooth) in (1, arity(op)) and all(lo < hi for lo, hi in op.smooth), op.name
        if op.kink is not None:
            assert op.convention, f"{op.name} has a kink rule but documents no convention"
        assert op.symbol or op.calls, op.name
        for name in op.calls:
            assert call_op(name, arity(op)) is op or op.arity < 0, (name, op.name)
    assert set(FUNCTIONS) == set(CALLS)
    assert FUNCTIONS["ln"] == "log" and call_op("log", 2) is OPS["logb"]


@pytest.mark.parametrize("op", ROWS, ids=ROW_IDS)
def test_local_gradients_match_sympy_and_central_differences(op: Op) -> None:
    import sympy as sp

    symbols = sp.symbols(f"a0:{arity(op)}", real=True)
    expr = op.sym(sp, *symbols)
    derivatives = [sp.diff(expr, s) for s in symbols]
    m = ScalarMath()
    for xs in points(op):
        out = op.fwd(m, *xs)
        assert same(out, float(expr.subs(dict(zip(symbols, xs, strict=True))).evalf()), 1e-12), (op.name, xs)
        local = op.local(m, xs, out)  # type: ignore[misc]
        assert len(local) == len(xs)
        for k, (lg, d) in enumerate(zip(local, derivatives, strict=True)):
            exact = float(d.subs(dict(zip(symbols, xs, strict=True))).evalf())
            assert same(lg, exact, 1e-10), (op.name, k, xs, lg, exact)
            h = 1e-6 * max(1.0, abs(xs[k]))
            up = list(xs)
            down = list(xs)
            up[k] += h
            down[k] -= h
            numeric = (op.fwd(m, *up) - op.fwd(m, *down)) / (2 * h)
            assert abs(numeric - lg) <= 1e-6 * max(1.0, abs(lg)), (op.name, k, xs, lg, numeric)


@pytest.mark.parametrize("op", ROWS, ids=ROW_IDS)
def test_scalar_and_array_math_agree_everywhere(op: Op) -> None:
    """Random points to the last bits, and every IEEE edge (NaN, ±inf, ±0, subnormals) exactly."""
    s, a = ScalarMath(), NumpyMath()
    n = arity(op)
    grid = points(op, 20) + [tuple(xs) for xs in np.array(np.meshgrid(*[SPECIAL] * n)).reshape(n, -1).T.tolist()]
    columns = [np.array(c) for c in zip(*grid, strict=True)]
    with np.errstate(all="ignore"):
        by_array = np.broadcast_to(op.fwd(a, *columns), columns[0].shape)
        array_locals = [np.broadcast_to(lg, columns[0].shape) for lg in op.local(a, columns, by_array)]  # type: ignore[misc]
    for k, xs in enumerate(grid):
        finite_inputs = all(math.isfinite(x) for x in xs)
        got = op.fwd(s, *xs)
        assert same(got, by_array[k], 1e-14 if finite_inputs else 0.0), (op.name, xs, got, by_array[k])
        local = op.local(s, xs, got)  # type: ignore[misc]
        for j, lg in enumerate(local):
            assert same(lg, array_locals[j][k], 1e-13 if finite_inputs else 0.0), (op.name, j, xs, lg)


@pytest.mark.parametrize("op", ROWS, ids=ROW_IDS)
def test_the_sweep_runs_every_row_as_the_loop_does(op: Op) -> None:
    names = [f"x{k}" for k in range(arity(op))]
    terms = [f"{call_text(op, names)}*{k + 1}" for k in range(12)]  # twelve gates of one level: one group
    tape = build(parse_program(" + ".join(terms)))
    loop = Loop(tape, ScalarMath())
    sweep = Sweep(tape, vector_min=4)
    for xs in points(op, 3):
        point = dict(zip(names, xs, strict=True))
        vals = loop.forward(point)
        assert all(same(a, b, 1e-14) for a, b in zip(sweep.forward(point), vals, strict=True)), op.name
        want = loop.backward(vals).grads
        got = sweep.backward(vals, tape.needs_grad())
        assert all(same(a, b, 1e-13) for a, b in zip(got, want, strict=True)), op.name


@pytest.mark.parametrize("op", ROWS, ids=ROW_IDS)
def test_grad_text_evaluates_to_the_local_gradient(op: Op) -> None:
    """Each formula of ``grad_text`` is gradcalc syntax over a, b and out, and computes ``local``."""
    m = ScalarMath()
    for k in range(arity(op)):
        text = op.grad_text[min(k, len(op.grad_text) - 1)]
        if "{" in text:  # a notation such as [x > 0], shown as it is
            assert "{" not in (local_text(op, [leaf("p"), leaf("q")], leaf("r"), k) or "{")
            continue
        tape = build(parse_program(text))
        assert set(tape.variables) <= {"a", "b", "out"}, (op.name, text)
        for xs in points(op, 3):
            out = op.fwd(m, *xs)
            env = {"a": xs[0], "b": xs[1] if len(xs) > 1 else 0.0, "out": out}
            value = Loop(tape, m).forward({v: env[v] for v in tape.variables})[tape.output]
            assert same(value, op.local(m, xs, out)[k], 1e-12), (op.name, k, text, xs)  # type: ignore[misc]


@pytest.mark.parametrize("op", ROWS, ids=ROW_IDS)
def test_every_printer_parses_back_to_the_same_graph(op: Op) -> None:
    names = ["x", "y"][: arity(op)]
    tree = gate_tree(op, [Name(n, (0, 0)) for n in names])
    for style in (TEXT, GATE):
        text = to_string(tree, style)
        tape = build(parse_program(text))
        gates = [n.op for n in tape.nodes if n.op is not None]
        assert gates == [op], (op.name, style, text)
        assert to_sexpr(parse_expression(text)) == to_sexpr(parse_expression(to_string(tree, TEXT)))
    # With signed and compound operands the parentheses still hold: the text means the same gate.
    operands = [parse_expression(t) for t in ("-u", "u - v")][: arity(op)]
    text = to_string(gate_tree(op, operands), TEXT)
    assert to_string(parse_expression(text), TEXT) == text
    for k in range(arity(op)):  # local gradients print in every display style
        for style in (MATH, TRACE):
            assert local_tree(op, [leaf(n) for n in names], leaf("o"), k, style) is not None
            assert local_text(op, [leaf(n) for n in names], leaf("o"), k, style)


TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.skipif(not TORCH, reason="torch is not installed (pip install '.[bench]')")
@pytest.mark.parametrize("op", [op for op in ROWS if op.torch], ids=[op.name for op in ROWS if op.torch])
def test_rows_agree_with_pytorch(op: Op) -> None:
    """Values and local gradients as PyTorch's autograd gives them, at smooth points and at the kinks."""
    import torch

    fn: Any = torch
    for part in op.torch.split(".")[1:]:
        fn = getattr(fn, part)
    m = ScalarMath()
    kinks = [(0.0,) * arity(op)] if op.kink is not None and op.name not in ("pow", "max", "min") else []
    for xs in points(op) + kinks:
        args = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
        out = fn(*args)
        out.backward()
        ours = op.fwd(m, *xs)
        assert same(ours, out.item(), 1e-14), (op.name, xs)
        local = op.local(m, xs, ours)  # type: ignore[misc]
        for lg, arg in zip(local, args, strict=True):
            assert same(lg, arg.grad.item(), 1e-13), (op.name, xs, lg, arg.grad.item())


# -- property tests: random compositions of the table's rows ----------------------------------------

ELEMENTWISE = [op for op in ROWS if op.calls]  # the rows a formula can call by name


def into(op: Op, k: int, inner: str) -> str:
    """``inner`` squeezed into where row ``op`` is smooth for its input ``k``: lo + (hi - lo)·σ(inner)."""
    lo, hi = op.smooth[min(k, len(op.smooth) - 1)]
    return f"({lo!r} + {hi - lo!r}*sigmoid({inner}))"


@st.composite
def compositions(draw: st.DrawFn) -> str:
    """A formula nesting up to three rows, each input kept inside its row's smooth range."""
    expr = draw(st.sampled_from(["u", "v", "u*v", "u - 2*v"]))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(ELEMENTWISE))
        other = draw(st.sampled_from(["u", "v", "w"]))
        args = [into(op, 0, expr)] + [into(op, k, other) for k in range(1, arity(op))]
        expr = f"{op.calls[0]}({', '.join(args)})"
    return expr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formula=compositions(), u=st.floats(-2, 2), v=st.floats(-2, 2), w=st.floats(-2, 2))
def test_random_compositions_of_rows_check_out(formula: str, u: float, v: float, w: float) -> None:
    from gradcalc.api import gradient

    values = {"u": u, "v": v, "w": w}
    r = gradient(formula, {k: x for k, x in values.items() if k in formula}, symbolic=False)
    for check in r.variables:
        assert FORWARD_TOL.close(check.gradient, check.forward), (formula, check)
    assert r.ok, (formula, [(c.name, c.status, c.gradient, c.numeric) for c in r.variables])


@pytest.mark.parametrize("op", ELEMENTWISE, ids=[op.name for op in ELEMENTWISE])
def test_each_callable_row_passes_the_sympy_check_in_a_formula(op: Op) -> None:
    from gradcalc.api import gradient

    args = [into(op, k, name) for k, name in zip(range(arity(op)), ("u", "v"), strict=False)]
    r = gradient(f"{op.calls[0]}({', '.join(args)})*u", {"u": 0.3, "v": -0.7})
    assert r.symbolic.state == "done", r.symbolic
    assert r.ok, [(c.name, c.status, c.gradient, c.symbolic) for c in r.variables]
