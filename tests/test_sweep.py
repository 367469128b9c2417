"""The vectorized passes (gradcalc.sweep) against the loop executor (gradcalc.passes.Loop).

A Sweep must answer what the loops answer: every node's value, which nodes
need a gradient, the reverse-mode gradients (with the zero-upstream rule), the
forward-mode tangents, and the gates at a kink.  The graphs are random
programs over all scalar ops, at points chosen to hit relu and abs at 0, max
and min ties, sqrt and log at 0, 0 to a power and division by zero; the
sweep is forced on these small tapes by building it directly, with every
group vectorized, with none, and with the default split.

Values that + - * / relu abs max min make are compared exactly; NumPy's exp,
sin, pow and friends may differ from the math module's in the last bit, so
those are compared to 1e-12 of the sum of the magnitudes that rounding is
relative to.  Gradient sums are added in another order, so they are too.
"""

from __future__ import annotations

import dataclasses
import math
import random
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import EXAMPLES

import gradcalc
from gradcalc import sweep as sweep_module
from gradcalc.api import gradient
from gradcalc.builder import build
from gradcalc.ops import OPS, TIE_MODES, ScalarMath
from gradcalc.parser import parse_program
from gradcalc.passes import Loop, backward, forward, jvp
from gradcalc.sweep import LazyLocals, Sweep, sweep_of
from gradcalc.tape import Tape

RTOL = 1e-12
EXACT_OPS = {"add", "sub", "mul", "div", "neg", "relu", "abs", "max", "min"}  # correctly rounded, or no rounding
# Ways to force the schedule: every group vectorized; none (runs and chains); the default split.
SPLITS: tuple[dict[str, int], ...] = ({"vector_min": 1}, {"vector_min": 10**9, "chain_min": 2}, {})


def tape_of(text: str) -> Tape:
    return build(parse_program(text))


# ---------------------------------------------------------------------------
# Random programs


def _expr(rng: random.Random, names: list[str], depth: int, exact: bool) -> str:
    if depth == 0 or rng.random() < 0.25:
        if rng.random() < 0.2:
            return rng.choice(["2", "0.5", "3", "1", "0", "-1"])
        return rng.choice(names[-6:] if rng.random() < 0.6 else names)  # recent names: shared subexpressions
    a = _expr(rng, names, depth - 1, exact)
    b = _expr(rng, names, depth - 1, exact)
    kind = rng.random()
    if kind < 0.45:
        return f"({a} {rng.choice(['+', '-', '*'] if exact else ['+', '-', '*', '/'])} {b})"
    if kind < 0.55:
        return f"(-{a})"
    if kind < 0.7:
        more = ", ".join(_expr(rng, names, 0, exact) for _ in range(rng.randint(0, 2)))
        return f"{rng.choice(['max', 'min'])}({a}, {b}{', ' + more if more else ''})"
    if exact or kind < 0.8:
        return f"{rng.choice(['relu', 'abs'])}({a})"
    if kind < 0.9:
        return f"({a} ^ {rng.choice(['2', '3', '0.5', '-1', '0', b])})"
    return f"{rng.choice(['exp', 'log', 'sqrt', 'sin', 'cos', 'tan', 'tanh', 'sigmoid'])}({a})"


def random_program(seed: int, exact: bool = False) -> str:
    """Statements over x, y, z and earlier names, a long +/- chain, and a wide sum of everything.

    ``exact``: only + - * neg relu abs max min, whose values at dyadic points are dyadic: no rounding at all.
    """
    rng = random.Random(seed)
    names = ["x", "y", "z"]
    lines = []
    for k in range(rng.randint(3, 14)):
        lines.append(f"v{k} = {_expr(rng, names, rng.randint(1, 3), exact)}")
        names.append(f"v{k}")
    chain = names[3] + "".join(f" {rng.choice('+-')} {rng.choice(names)}" for _ in range(rng.randint(2, 30)))
    lines.append(f"s = {chain}")
    lines.append(" + ".join(["s", *rng.sample(names, min(len(names), rng.randint(1, 12)))]))
    return "\n".join(lines)


# Dyadic points, so that sums of values are exact in any order; zeros and equal values for kinks and ties.
POINTS = (
    {"x": 0.0, "y": 0.0, "z": 2.0},
    {"x": 1.0, "y": 1.0, "z": -1.0},
    {"x": 0.5, "y": -2.0, "z": 0.0},
    {"x": -1.5, "y": 3.0, "z": 0.25},
)


def cases(count: int, exact: bool = False) -> Iterator[tuple[str, dict[str, float], str]]:
    """Programs, their points (a statement ``v = 2`` makes v a variable with that default) and tie modes."""
    for seed in range(count):
        text = random_program(seed, exact)
        point = {**tape_of(text).defaults, **POINTS[seed % len(POINTS)]}
        yield text, point, TIE_MODES[seed % len(TIE_MODES)]


# ---------------------------------------------------------------------------
# Comparing numbers


def same(a: float, b: float, scale: float = 0.0) -> bool:
    """Equal, both NaN, or within RTOL of ``scale`` (the magnitude rounding is relative to)."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    if math.isinf(a) or math.isinf(b) or math.isnan(a) or math.isnan(b):
        return False
    return not math.isfinite(scale) or abs(a - b) <= RTOL * scale + 1e-300


def scalar_locals(tape: Tape, vals: list[float], tie: str) -> list[Any]:
    m = ScalarMath(tie)
    out: list[Any] = []
    for i, node in enumerate(tape.nodes):
        xs = [vals[j] for j in node.args]
        op = node.op
        out.append(op.local(m, tuple(xs) if len(xs) == 2 else xs, vals[i]) if op and op.local and xs else None)
    return out


def reverse_scale(tape: Tape, vals: list[float], tie: str) -> list[float]:
    """For each node, the sum over paths to the output of |product of local gradients|."""
    locs = scalar_locals(tape, vals, tie)
    scale = [0.0] * len(tape.nodes)
    scale[tape.output] = 1.0
    for i in range(tape.output, -1, -1):
        if locs[i] is not None and scale[i]:
            for j, lg in zip(tape.nodes[i].args, locs[i], strict=True):
                scale[j] += scale[i] * abs(lg)
    return scale


def forward_scale(tape: Tape, vals: list[float], tie: str, tangents: dict[int, float]) -> list[float]:
    locs = scalar_locals(tape, vals, tie)
    scale = [0.0] * len(tape.nodes)
    for i, node in enumerate(tape.nodes):
        if locs[i] is None:
            scale[i] = abs(tangents.get(i, 0.0))
        else:
            scale[i] = sum(abs(lg) * scale[j] for j, lg in zip(node.args, locs[i], strict=True))
    return scale


def kinks_by_loop(tape: Tape, vals: list[float], needs: list[bool], tie: str) -> list[int]:
    m = ScalarMath(tie)
    return [
        i for i, node in enumerate(tape.nodes)
        if node.args and needs[i] and node.op is not None and node.op.kink is not None
        and node.op.kink(m, [vals[j] for j in node.args], vals[i])
    ]  # fmt: skip


# ---------------------------------------------------------------------------
# The passes, one by one


@pytest.mark.parametrize("split", SPLITS)
def test_forward_of_exact_ops_is_the_loops_to_the_bit(split: dict[str, int]) -> None:
    for text, point, tie in cases(40, exact=True):
        tape = tape_of(text)
        want = forward(tape, point, ScalarMath(tie))
        got = Sweep(tape, tie, **split).forward(point)
        assert len(got) == len(want)
        assert all(same(a, b) for a, b in zip(got, want, strict=True)), text


@pytest.mark.parametrize("split", SPLITS)
def test_forward_gate_by_gate(split: dict[str, int]) -> None:
    """Every gate's value is its op row's on the values the sweep gave its inputs."""
    for text, point, tie in cases(60):
        tape = tape_of(text)
        got = Sweep(tape, tie, **split).forward(point)
        m = ScalarMath(tie)
        for i, node in enumerate(tape.nodes):
            if not node.args:
                assert got[i] == (point[node.label] if node.kind == "var" else node.const), text
                continue
            op = node.op
            assert op is not None
            want = op.fwd(m, *[got[j] for j in node.args])
            assert same(got[i], want, 0.0 if op.name in EXACT_OPS else abs(want)), (text, op.name)


@pytest.mark.parametrize("split", SPLITS)
def test_needs_and_kinks(split: dict[str, int]) -> None:
    for text, point, tie in cases(60):
        tape = tape_of(text)
        sweep = Sweep(tape, tie, **split)
        needs = tape.needs_grad()
        assert sweep.needs() == needs, text
        vals = forward(tape, point, ScalarMath(tie))
        assert sweep.kink_candidates(vals, needs) == kinks_by_loop(tape, vals, needs, tie), text


def test_the_points_do_reach_kinks() -> None:
    """The random cases are not all smooth: many sit at relu/abs 0, ties, sqrt or 0^y."""
    found = set()
    for text, point, tie in cases(60):
        tape = tape_of(text)
        vals = forward(tape, point, ScalarMath(tie))
        for i in kinks_by_loop(tape, vals, tape.needs_grad(), tie):
            found.add(tape.nodes[i].op.name)  # type: ignore[union-attr]
    assert {"relu", "abs", "max", "min", "pow", "sqrt"} <= found


@pytest.mark.parametrize("split", SPLITS)
def test_backward_matches_the_scalar_loop(split: dict[str, int]) -> None:
    for text, point, tie in cases(60):
        tape = tape_of(text)
        m = ScalarMath(tie)
        vals = forward(tape, point, m)
        needs = tape.needs_grad()
        want = Loop(tape, m).backward(vals).grads
        sweep = Sweep(tape, tie, **split)
        got = sweep.backward(vals, needs)
        scale = reverse_scale(tape, vals, tie)
        bad = [i for i in range(len(want)) if not same(got[i], want[i], scale[i])]
        assert not bad, (text, point, tie, [(i, got[i], want[i]) for i in bad])
        assert sweep.backward(vals, needs, seed=-2.0)[tape.output] == -2.0


@pytest.mark.parametrize("split", SPLITS)
def test_jvp_matches_the_scalar_loop(split: dict[str, int]) -> None:
    for seed, (text, point, tie) in enumerate(cases(60)):
        tape = tape_of(text)
        m = ScalarMath(tie)
        vals = forward(tape, point, m)
        rng = random.Random(seed)
        tangents = {i: rng.choice([1.0, -0.5, 0.0, 2.0]) for i in tape.variables.values()}
        want = Loop(tape, m).jvp(vals, tangents)
        got = Sweep(tape, tie, **split).jvp(vals, tangents)
        scale = forward_scale(tape, vals, tie, tangents)
        bad = [i for i in range(len(want)) if not same(got[i], want[i], scale[i])]
        assert not bad, (text, point, tie, [(i, got[i], want[i]) for i in bad])


def test_exact_ops_backward_and_jvp_at_dyadic_points_are_exact() -> None:
    """Sums of dyadic numbers do not round, whatever the order: the gradients are the loop's to the bit."""
    for text, point, tie in cases(40, exact=True):
        tie = "all" if tie == "split" else tie  # a three-way split is 1/3 each: not dyadic
        tape = tape_of(text)
        m = ScalarMath(tie)
        sweep = Sweep(tape, tie)
        vals = sweep.forward(point)  # the cached arrays of this forward are used
        needs = tape.needs_grad()
        want = Loop(tape, m).backward(vals).grads
        assert all(same(a, b) for a, b in zip(sweep.backward(vals, needs), want, strict=True)), text
        tangents = dict.fromkeys(tape.variables.values(), 1.0)
        want = Loop(tape, m).jvp(vals, tangents)
        assert all(same(a, b) for a, b in zip(sweep.jvp(vals, tangents), want, strict=True)), text


# ---------------------------------------------------------------------------
# Hand-made cases


@pytest.mark.parametrize(
    ("formula", "point", "grads"),
    [
        # sqrt at 0 behind a max that routes elsewhere: a zero upstream through an infinite local gives 0.
        ("max(sqrt(x), 5) + x", {"x": 0.0}, {"x": 1.0}),
        ("0*sqrt(x) + 2*x", {"x": 0.0}, {"x": 2.0}),
        ("max(x, 5) + min(sqrt(relu(x - 3)), -1)", {"x": 1.0}, {"x": 0.0}),
        # ... and an infinite upstream through a zero local gradient is 0 too: relu(x - 3) is flat at 1.
        ("max(x, 5) + sqrt(relu(x - 3))", {"x": 1.0}, {"x": 0.0}),
        ("x^0.5 + y", {"x": 0.0, "y": 1.0}, {"x": math.inf, "y": 1.0}),
    ],
)
def test_zero_upstream_through_an_infinite_local(
    formula: str, point: dict[str, float], grads: dict[str, float]
) -> None:
    tape = tape_of(formula)
    vals = forward(tape, point)
    needs = tape.needs_grad()
    want = Loop(tape, ScalarMath()).backward(vals).grads
    for split in SPLITS:
        got = Sweep(tape, "split", **split).backward(vals, needs)
        assert all(same(a, b) for a, b in zip(got, want, strict=True))
        for name, g in grads.items():
            assert same(got[tape.variables[name]], g), (formula, split)


def test_max_of_many_with_ties_under_each_tie_mode() -> None:
    text = " + ".join(f"max(x, y, {c}, z)" for c in ("1", "2", "0")) + " + min(x, y)"
    tape = tape_of(text)
    point = {"x": 2.0, "y": 2.0, "z": 1.0}
    expected = {  # three max gates (two ties of x, y at 2, and x=y=2 against the constant 2) and one min tie
        "split": {"x": 0.5 + 1 / 3 + 0.5 + 0.5, "y": 0.5 + 1 / 3 + 0.5 + 0.5, "z": 0.0},
        "first": {"x": 1 + 1 + 1 + 1, "y": 0.0, "z": 0.0},
        "all": {"x": 4.0, "y": 4.0, "z": 0.0},
    }
    for tie, want in expected.items():
        for split in SPLITS:
            sweep = Sweep(tape, tie, **split)
            vals = sweep.forward(point)
            grads = sweep.backward(vals, sweep.needs())
            for name, g in want.items():
                assert math.isclose(grads[tape.variables[name]], g, rel_tol=1e-15), (tie, split, name)
            assert len(sweep.kink_candidates(vals, sweep.needs())) == 4


def test_a_long_sum_becomes_one_chain_and_keeps_the_loops_rounding() -> None:
    terms = [f"{1 / (k + 3)!r}*x" for k in range(200)]
    text = terms[0] + "".join(f" {'-' if k % 3 else '+'} {t}" for k, t in enumerate(terms[1:]))
    tape = tape_of(text)
    sweep = Sweep(tape)
    assert sum(type(s).__name__ == "_Chain" for s in sweep.steps) == 1
    assert sweep.forward({"x": 0.7}) == forward(tape, {"x": 0.7})  # the same additions, in the same order
    vals = sweep.forward({"x": 0.7})
    want = 1 / 3 + sum((1 if (k - 1) % 3 == 0 else -1) / (k + 3) for k in range(1, 200))  # ∂/∂x in closed form
    got = sweep.backward(vals, sweep.needs())[tape.variables["x"]]
    assert math.isclose(got, want, rel_tol=1e-12)
    assert math.isclose(sweep.jvp(vals, {tape.variables["x"]: 1.0})[tape.output], want, rel_tol=1e-12)


def test_a_chain_is_cut_where_a_term_depends_on_the_chain() -> None:
    # s1 feeds both the next link and a later term: the later links must wait for that term.
    text = "s1 = x + y + x + y\ns2 = s1 + x + y + exp(s1/10) + x + y + x\ns2 + x"
    tape = tape_of(text)
    point = {"x": 0.3, "y": -0.2}
    for vector_min in (10**9, None):
        sweep = Sweep(tape, vector_min=vector_min, chain_min=2)
        vals = sweep.forward(point)
        assert all(same(a, b, abs(b)) for a, b in zip(vals, forward(tape, point), strict=True))
        want = Loop(tape, ScalarMath()).backward(vals).grads
        got = sweep.backward(vals, sweep.needs())
        assert all(same(a, b, 1e3) for a, b in zip(got, want, strict=True))


def test_a_chain_is_cut_where_a_later_term_is_an_earlier_link() -> None:
    tape = tape_of("s = x + y\nt = s - x\nu = t + s\nv = u + y\nw = v - t\nw + x")
    point = {"x": 0.75, "y": -2.5}
    want = forward(tape, point)
    needs = tape.needs_grad()
    grads = Loop(tape, ScalarMath()).backward(want).grads
    sweep = Sweep(tape, vector_min=10**9, chain_min=2)
    lengths = [len(s.out) for s in sweep.steps if type(s).__name__ == "_Chain"]
    assert sum(lengths) == 6 and len(lengths) >= 2  # cut before u, whose second input s is a link
    assert sweep.forward(point) == want
    assert sweep.backward(want, needs) == grads
    assert grads[tape.variables["x"]] == 2.0 and grads[tape.variables["y"]] == 2.0


def test_caches_follow_the_values_they_were_made_for() -> None:
    tape = tape_of("relu(x - 1) * sqrt(y) + max(x, y)")
    sweep = Sweep(tape, vector_min=1)
    at_kinks = sweep.forward({"x": 1.0, "y": 1.0})
    needs = sweep.needs()
    assert sweep.known_finite(at_kinks) and not sweep.known_finite(list(at_kinks))  # only a forward's own list
    first = sweep.backward(at_kinks, needs)
    elsewhere = sweep.forward({"x": 3.0, "y": -1.0})  # replaces the forward cache, not the local gradients'
    assert not sweep.known_finite(elsewhere)  # sqrt(-1)
    assert sweep.kink_candidates(at_kinks, needs) == kinks_by_loop(tape, at_kinks, needs, "split")
    assert sweep.kink_candidates(elsewhere, needs) == kinks_by_loop(tape, elsewhere, needs, "split")
    assert sweep.backward(at_kinks, needs) == first
    assert sweep.backward(list(at_kinks), needs) == first  # an equal list, not the same one: converted afresh


def test_a_kink_rule_that_takes_only_numbers_is_asked_gate_by_gate() -> None:
    # A row whose kink rule converts its input to a float: it cannot run on an array.
    picky = dataclasses.replace(OPS["relu"], kink=lambda m, xs, out: "at 1" if float(xs[0]) == 1.0 else None)
    tape = tape_of(" + ".join(f"relu(x - {k})" for k in range(12)))
    for node in tape.nodes:
        if node.op is OPS["relu"]:
            node.op = picky
    sweep = Sweep(tape, vector_min=1)
    vals = sweep.forward({"x": 2.0})
    needs = sweep.needs()
    assert sweep.kink_candidates(vals, needs) == kinks_by_loop(tape, vals, needs, "split")
    assert len(kinks_by_loop(tape, vals, needs, "split")) == 1


def test_the_output_need_not_be_the_last_node() -> None:
    tape = build(parse_program("a = x*y\nb = a + exp(x)\nc = b*b\nd = c - a"), output="b")
    point = {"x": 0.5, "y": 3.0}
    for split in SPLITS:
        sweep = Sweep(tape, "split", **split)
        vals = sweep.forward(point)
        assert vals[-1] == forward(tape, point)[-1]  # nodes past the output are still computed
        needs = sweep.needs()
        assert needs == tape.needs_grad() and not needs[-1]
        grads = sweep.backward(vals, needs)
        assert grads[tape.variables["x"]] == pytest.approx(3.0 + math.exp(0.5), rel=1e-15)
        tangents = jvp(tape, vals, {tape.variables["x"]: 1.0})
        assert sweep.jvp(vals, {tape.variables["x"]: 1.0}) == tangents
        assert tangents[-1] == 0.0


def test_constants_only_and_unused_variables() -> None:
    tape = build(parse_program("u = y*2\n3*4 + 1"))  # y is a variable the output does not use
    sweep = Sweep(tape, vector_min=1)
    vals = sweep.forward({"y": 5.0})
    assert vals[tape.output] == 13.0
    assert sweep.needs() == [False] * len(tape.nodes)
    grads = sweep.backward(vals, sweep.needs(), seed=1.0)
    assert grads[tape.output] == 1.0 and sum(grads) == 1.0


def test_a_missing_variable_is_a_key_error_like_the_loop() -> None:
    tape = tape_of("x*y")
    with pytest.raises(KeyError):
        Sweep(tape).forward({"x": 1.0})


def test_nan_inputs_follow_scalar_math() -> None:
    """relu, abs' sign and max/min treat NaN as ScalarMath does, not as NumPy's maximum."""
    tape = tape_of("relu(log(x)) + max(log(x), 2) + max(2, log(x)) + min(log(x), y) + abs(log(x)) + 0^(-y)")
    point = {"x": -1.0, "y": 1.0}
    want = forward(tape, point)
    for split in SPLITS:
        got = Sweep(tape, "split", **split).forward(point)
        assert all(same(a, b) for a, b in zip(got, want, strict=True))


# ---------------------------------------------------------------------------
# Through tape.py and api.py: a forced sweep gives the same answers


def forced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every scalar tape swept, however small, and small groups vectorized too."""
    monkeypatch.setattr(sweep_module, "SWEEP_MIN_NODES", 0)
    monkeypatch.setattr(sweep_module, "MIN_VECTOR_SHARE", 0.0)
    monkeypatch.setattr(sweep_module, "VECTOR_MIN_GATES", 2)


@pytest.fixture(name="forced")
def forced_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    forced(monkeypatch)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: str(e.number))
def test_worked_examples_through_a_forced_sweep(forced: None, example: Any) -> None:
    result = gradient(example.formula, example.values, symbolic=False)
    assert isinstance(result.tape._sweep, Sweep)
    assert math.isclose(result.value, example.value, rel_tol=1e-9)
    for name, g in example.gradients.items():
        assert math.isclose(result.gradients[name], g, rel_tol=1e-9)
    assert result.ok
    # The lazy local gradients are the scalar pass's, entry for entry.
    tape = result.tape
    scalar = Loop(tape, ScalarMath()).backward(result.values)
    assert isinstance(result.backprop.locals, LazyLocals)
    assert [_nan_free(result.backprop.locals[i]) for i in range(len(tape.nodes))] == list(map(_nan_free, scalar.locals))
    assert list(map(_nan_free, result.backprop.locals)) == list(map(_nan_free, scalar.locals))
    assert result.backprop.grads == pytest.approx(scalar.grads, rel=1e-12)


def _nan_free(loc: tuple[float, ...] | None) -> Any:
    return None if loc is None else tuple("nan" if math.isnan(v) else v for v in loc)


def test_kinks_and_statuses_through_a_forced_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    formula = "relu(x) + abs(y) + max(x, y, 0) + sqrt(z) + relu(x + 1)"
    point = {"x": 0.0, "y": 0.0, "z": 4.0}
    looped = gradient(formula, point, symbolic=False, tie="first")
    assert looped.tape._sweep is None
    forced(monkeypatch)
    swept = gradient(formula, point, symbolic=False, tie="first")
    assert isinstance(swept.tape._sweep, Sweep) and swept.tape._sweep.tie == "first"
    assert swept.kinks == looped.kinks
    assert [(v.status, v.forward, v.numeric, v.notes) for v in swept.variables] == [
        (v.status, v.forward, v.numeric, v.notes) for v in looped.variables
    ]
    assert [(k.label, k.note) for k in swept.kinks] == [
        ("q", "relu at 0: local gradient taken as 0 (PyTorch, JAX)"),
        ("r", "abs at 0: local gradient taken as sign(0) = 0"),
        ("t", "max tie: 3 inputs equal 0; gradient all to the first tied input"),
    ]
    assert swept.gradients == looped.gradients == {"x": 2.0, "y": 0.0, "z": 0.25}


def test_a_tie_mode_reuses_the_schedule(forced: None) -> None:
    tape = tape_of("max(x, y) * z")
    first = sweep_of(tape, ScalarMath("first"))
    split = sweep_of(tape, ScalarMath("split"))
    assert first is not None and split is not None and first.tie == "first" and split.tie == "split"
    assert first.steps is split.steps
    vals = forward(tape, {"x": 1.0, "y": 1.0, "z": 3.0}, ScalarMath("first"))
    assert backward(tape, vals, ScalarMath("first")).grads[:2] == [3.0, 0.0]
    assert backward(tape, vals, ScalarMath("split")).grads[:2] == [1.5, 1.5]


def test_lazy_locals_behave_as_a_list(forced: None) -> None:
    result = gradient("x*y + exp(x)", {"x": 0.0, "y": 2.0}, symbolic=False)
    locals_ = result.backprop.locals
    assert len(locals_) == 5 and locals_[-1] == (1.0, 1.0) and locals_[0] is None
    assert locals_[2] == (2.0, 0.0) and locals_[3] == (1.0,)
    assert locals_[1:3] == [None, (2.0, 0.0)]
    assert (1.0,) in locals_ and locals_ == [None, None, (2.0, 0.0), (1.0,), (1.0, 1.0)]
    with pytest.raises(IndexError):
        locals_[5]
    assert next(reversed(locals_)) == (1.0, 1.0) and repr(locals_).startswith("[None, None, (2.0, 0.0)")


def test_narrow_tapes_keep_the_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unrolled recurrence has one gate per level: the sweep would only add its set-up."""
    monkeypatch.setattr(sweep_module, "SWEEP_MIN_NODES", 0)
    text = "\n".join(["s = x"] + ["s = sin(s) * y" for _ in range(50)] + ["s"])
    tape = tape_of(text)
    assert sweep_of(tape) is None and tape._sweep is False
    assert math.isfinite(forward(tape, {"x": 0.5, "y": 1.1})[tape.output])
    # Found out from the levels alone: the runs of scalar steps are never set up for it.
    assert Sweep(tape, min_share=sweep_module.MIN_VECTOR_SHARE).steps == []
    assert Sweep(tape).steps != []


# ---------------------------------------------------------------------------
# End to end on a large generated formula


def scale_formula(terms: int, seed: int = 1) -> tuple[str, list[float], list[float]]:
    rng = random.Random(seed)
    c = [round(rng.uniform(0.1, 1.1), 3) for _ in range(terms)]
    d = [round(rng.uniform(0.5, 1.5), 3) for _ in range(terms)]
    text = " + ".join(f"relu(w*{ci!r} + b)*(w - {di!r}*x)^2" for ci, di in zip(c, d, strict=True))
    return text, c, d


def test_a_30000_node_formula_has_the_closed_form_gradient() -> None:
    text, cs, ds = scale_formula(2728)
    w, b, x = 1.3, -0.7, 0.6
    result = gradient(text, {"w": w, "b": b, "x": x}, symbolic=False)
    assert len(result.tape.nodes) >= sweep_module.SWEEP_MIN_NODES
    assert isinstance(result.tape._sweep, Sweep)  # the vectorized passes ran
    f = gw = gb = gx = 0.0
    for c, d in zip(cs, ds, strict=True):
        a, s = w * c + b, w - d * x
        if a > 0:
            f += a * s * s
            gw += c * s * s + 2 * a * s
            gb += s * s
            gx -= 2 * a * s * d
    assert math.isclose(result.value, f, rel_tol=1e-12)
    assert math.isclose(result.gradients["w"], gw, rel_tol=1e-12)
    assert math.isclose(result.gradients["b"], gb, rel_tol=1e-12)
    assert math.isclose(result.gradients["x"], gx, rel_tol=1e-12)
    assert result.ok and result.kinks == []
    assert all(math.isclose(v.forward, v.gradient, rel_tol=1e-12) for v in result.variables)  # forward mode agrees


def test_a_kink_in_a_large_formula_is_found() -> None:
    text, _, _ = scale_formula(2728)
    text += " + relu(w - 1.3) + max(b, -0.7)"  # relu at 0 and a tie, at the end of the sum
    result = gradient(text, {"w": 1.3, "b": -0.7, "x": 0.6}, symbolic=False)
    assert isinstance(result.tape._sweep, Sweep)
    assert [k.note.split(":")[0] for k in result.kinks] == ["relu at 0", "max tie"]


def test_small_formulas_do_not_import_numpy() -> None:
    code = (
        "import sys, gradcalc\n"
        "r = gradcalc.gradient('x*y + relu(x)', {'x': 1.0, 'y': 2.0}, symbolic=False)\n"
        "assert r.gradients == {'x': 3.0, 'y': 1.0}, r.gradients\n"
        "assert 'numpy' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_public_passes_on_a_large_tape_give_plain_lists() -> None:
    text, _, _ = scale_formula(1900)  # 20,902 nodes: just past the threshold
    swept, looped = tape_of(text), tape_of(text)
    looped._sweep = False  # this one keeps the loops
    point = {"w": 1.3, "b": -0.7, "x": 0.6}
    vals = gradcalc.forward(swept, point)
    assert isinstance(swept._sweep, Sweep) and type(vals) is list and type(vals[-1]) is float
    want = gradcalc.forward(looped, point)
    assert vals[swept.output] == pytest.approx(want[looped.output], rel=1e-12)
    bp = gradcalc.backward(swept, vals)
    bp_loop = gradcalc.backward(looped, want)
    assert type(bp.grads) is list and bp.grads == pytest.approx(bp_loop.grads, rel=1e-12, abs=1e-12)
    assert isinstance(bp.locals, LazyLocals) and bp.needs == bp_loop.needs
    i = swept.output
    assert bp.locals[i] == bp_loop.locals[i] and bp.downstream(swept, i) == bp_loop.downstream(looped, i)
    w = swept.variables["w"]
    assert gradcalc.jvp(swept, vals, {w: 1.0})[i] == pytest.approx(gradcalc.jvp(looped, want, {w: 1.0})[i], rel=1e-12)
