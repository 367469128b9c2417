"""The flat tape and the passes over it: forward, reverse (backprop) and forward mode."""

from __future__ import annotations

import math

import pytest

from gradcalc.api import AGREE, KINK, gradient
from gradcalc.builder import build
from gradcalc.parser import parse_program
from gradcalc.passes import backward, forward, jvp
from gradcalc.tape import CONST, GATE, VAR, Tape


def tape_of(text: str) -> Tape:
    return build(parse_program(text))


def rows(tape: Tape) -> list[str]:
    """Each node as 'label = gate text' (inputs and constants as their label)."""
    return [
        f"{node.label} = {tape.gate_text(i)}" if node.kind == GATE else f"{node.kind} {node.label}"
        for i, node in enumerate(tape.nodes)
    ]


# ---------------------------------------------------------------------------
# The shape of the tape


def test_add_then_mul_tape() -> None:
    tape = tape_of("(x+y)*z")
    assert rows(tape) == ["var x", "var y", "q = x + y", "var z", "f = q * z"]
    assert [n.args for n in tape.nodes] == [(), (), (0, 1), (), (2, 3)]
    assert tape.output == 4
    assert tape.variables == {"x": 0, "y": 1, "z": 3}


def test_neuron_gates_are_lettered_in_evaluation_order() -> None:
    tape = tape_of("1/(1+exp(-(w0*x0+w1*x1+w2)))")
    gates = [r for r in rows(tape) if not r.startswith(("var", "const"))]
    assert gates == [
        "q = w0 * x0",
        "r = w1 * x1",
        "s = q + r",
        "t = s + w2",
        "u = -t",
        "v = exp(u)",
        "g = 1 + v",
        "f = 1 / g",
    ]  # w and x are skipped: they begin w0 and x0, and a gate w would look like the user's


def test_gate_letters_skip_the_initials_of_names_in_use() -> None:
    tape = tape_of("q1*r1 + s")  # q and r begin names in use, s is one: the first free letter is t
    assert rows(tape) == ["var q1", "var r1", "t = q1 * r1", "var s", "f = t + s"]


def test_every_input_comes_before_its_gate() -> None:
    tape = tape_of("0.5*(0.2 - sigmoid(w5*sigmoid(w1*x1+w2*x2) + w6*sigmoid(w3*x1+w4*x2)))^2")
    for i, node in enumerate(tape.nodes):
        assert all(j < i for j in node.args)


def test_a_variable_used_twice_is_one_node() -> None:
    tape = tape_of("x*x")
    assert rows(tape) == ["var x", "f = x * x"]
    assert tape.nodes[1].args == (0, 0)


def test_calls_and_functions_print_by_name() -> None:
    tape = tape_of("max(x, y, 2)*sigmoid(x)")
    assert rows(tape) == ["var x", "var y", "const 2", "q = max(x, y, 2)", "r = sigmoid(x)", "f = q * r"]


def test_negative_literal_is_one_constant_and_unary_plus_is_no_gate() -> None:
    tape = tape_of("+x - -3")
    assert rows(tape) == ["var x", "const -3", "f = x - (-3)"]  # a negative constant in parentheses
    assert tape.nodes[1].kind == CONST
    assert tape.nodes[1].const == -3.0


def test_assigned_names_label_their_gates() -> None:
    tape = tape_of("x = 3\ny = x*x\ny = y + 1\ny")
    assert rows(tape) == ["var x", "y = x * x", "const 1", "y' = y + 1"]
    assert tape.defaults == {"x": 3.0}
    assert tape.nodes[tape.output].label == "y'"


def test_output_label_avoids_a_user_name_f() -> None:
    tape = tape_of("f*g + 1")
    labels = [n.label for n in tape.nodes]
    assert labels[0] == "f" and labels.count("f") == 1
    assert tape.nodes[tape.output].label not in ("f", "g")


def test_constants_need_no_gradient() -> None:
    tape = tape_of("2*pi*x")
    needs = tape.needs_grad()
    assert [n.kind for n in tape.nodes] == [CONST, CONST, GATE, VAR, GATE]
    assert needs == [False, False, False, True, True]


# ---------------------------------------------------------------------------
# Passes


def passes(text: str, values: dict[str, float]) -> tuple[Tape, list[float], list[float]]:
    tape = tape_of(text)
    vals = forward(tape, values)
    return tape, vals, backward(tape, vals).grads


def test_x_times_x_sums_both_uses() -> None:
    _, vals, grads = passes("x*x", {"x": 3.0})
    assert vals == [3.0, 9.0]
    assert grads == [6.0, 1.0]


def test_program_sums_through_two_fan_outs() -> None:
    _, vals, grads = passes("a = 1; b = a + a; c = b + b", {"a": 1.0})
    assert vals == [1.0, 2.0, 4.0]
    assert grads == [4.0, 2.0, 1.0]
    r = gradient("a = 1; b = a + a; c = b + b", symbolic=False)
    assert (r.value, r.gradients, r.output_label) == (4.0, {"a": 4.0}, "c")


def test_add_mul_upstream_local_downstream() -> None:
    tape = tape_of("(x+y)*z")
    vals = forward(tape, {"x": -2.0, "y": 5.0, "z": -4.0})
    bp = backward(tape, vals)
    assert vals == [-2.0, 5.0, 3.0, -4.0, -12.0]
    assert bp.grads == [-4.0, -4.0, -4.0, 3.0, 1.0]
    assert bp.locals[2] == (1.0, 1.0)  # add distributes
    assert bp.locals[4] == (-4.0, 3.0)  # mul swaps: ∂f/∂q = z, ∂f/∂z = q
    assert bp.downstream(tape, 2) == (-4.0, -4.0)
    assert bp.downstream(tape, 4) == (-4.0, 3.0)
    assert bp.locals[0] is None  # inputs have no local gradient


def test_max_routes_the_whole_gradient_to_the_larger_input() -> None:
    tape = tape_of("max(x, y)*z")
    vals = forward(tape, {"x": 4.0, "y": 2.0, "z": 3.0})
    bp = backward(tape, vals)
    assert bp.locals[2] == (1.0, 0.0)
    assert [bp.grads[tape.variables[n]] for n in "xyz"] == [3.0, 0.0, 4.0]


FORMULAS = [
    ("(x+y)*z", {"x": -2.0, "y": 5.0, "z": -4.0}),
    ("1/(1+exp(-(w0*x0+w1*x1+w2)))", {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}),
    ("x^y + log(y)*sqrt(x) - tan(x/y)", {"x": 1.3, "y": 0.7}),
    ("tanh(a*b) / (1 + a^2) + cos(b)^3 - sin(a*b*a)", {"a": -0.4, "b": 2.2}),
    ("max(a, b, c)*min(a, c) + relu(b) + abs(c)", {"a": 0.5, "b": -1.5, "c": 2.5}),
    ("pow(a, 3) - ln(a)*e + pi*a", {"a": 1.7}),
]


@pytest.mark.parametrize(("text", "values"), FORMULAS, ids=[f for f, _ in FORMULAS])
def test_forward_mode_equals_reverse_mode(text: str, values: dict[str, float]) -> None:
    tape, vals, grads = passes(text, values)
    for name, i in tape.variables.items():
        tangent = jvp(tape, vals, {i: 1.0})[tape.output]
        assert math.isclose(tangent, grads[i], rel_tol=1e-12, abs_tol=1e-15), name


def test_forward_mode_along_a_direction_is_the_dot_product() -> None:
    tape, vals, grads = passes("x*y + sin(x)", {"x": 0.3, "y": -2.0})
    ix, iy = tape.variables["x"], tape.variables["y"]
    along = jvp(tape, vals, {ix: 2.0, iy: -1.0})[tape.output]
    assert math.isclose(along, 2.0 * grads[ix] - grads[iy], rel_tol=1e-12)
    assert math.isclose(grads[ix], -2.0 + math.cos(0.3), rel_tol=1e-12)


def test_sigmoid_local_gradient_reuses_its_value() -> None:
    tape, vals, _ = passes("sigmoid(x)", {"x": 1.0})
    s = 1 / (1 + math.exp(-1.0))
    bp = backward(tape, vals)
    assert bp.locals[1] == (pytest.approx(s * (1 - s), rel=1e-15),)


# ---------------------------------------------------------------------------
# Conventions at non-differentiable points: the gradient, and the point marked


def test_relu_at_zero_is_zero_and_marked() -> None:
    r = gradient("relu(x)", {"x": 0.0})
    assert r.gradients == {"x": 0.0}
    check = r.variables[0]
    assert check.status == KINK  # SymPy's Heaviside(0) = 1/2 and the central difference say 0.5
    assert check.symbolic == 0.5
    assert check.numeric == pytest.approx(0.5)
    assert [k.note for k in r.kinks] == ["relu at 0: local gradient taken as 0 (PyTorch, JAX)"]
    assert r.ok


def test_abs_at_zero_is_sign_of_zero() -> None:
    r = gradient("abs(x)", {"x": 0.0}, symbolic=False)
    assert r.gradients == {"x": 0.0}
    assert r.kinks[0].note == "abs at 0: local gradient taken as sign(0) = 0"
    assert r.ok


@pytest.mark.parametrize(
    ("tie", "expected", "status"),
    [
        ("split", {"x": 0.5, "y": 0.5}, AGREE),
        ("first", {"x": 1.0, "y": 0.0}, KINK),
        ("all", {"x": 1.0, "y": 1.0}, KINK),
    ],
)
def test_max_tie_conventions(tie: str, expected: dict[str, float], status: str) -> None:
    r = gradient("max(x, y)", {"x": 1.0, "y": 1.0}, symbolic=False, tie=tie)
    assert r.gradients == expected
    assert [v.status for v in r.variables] == [status, status]
    assert r.kinks[0].note.startswith("max tie: 2 inputs equal 1; gradient ")
    assert r.ok


def test_min_tie_of_three_splits_in_thirds() -> None:
    r = gradient("min(x, y, z)", {"x": 1.0, "y": 1.0, "z": 1.0}, symbolic=False)
    assert r.gradients == {"x": 1 / 3, "y": 1 / 3, "z": 1 / 3}


def test_zero_to_the_y_exponent_gradient_is_zero() -> None:
    r = gradient("x^y", {"x": 0.0, "y": 2.0}, symbolic=False)
    assert r.gradients == {"x": 0.0, "y": 0.0}
    assert "0^y" in r.kinks[0].note
    assert r.ok


def test_sqrt_at_zero_is_infinite_and_marked() -> None:
    r = gradient("sqrt(x)", {"x": 0.0}, symbolic=False)
    assert r.gradients == {"x": math.inf}
    assert r.kinks[0].note == "sqrt at 0: derivative is infinite"


def test_sqrt_at_zero_is_not_a_failed_check() -> None:
    r = gradient("sqrt(x)", {"x": 0.0}, symbolic=False)
    assert r.ok
    (check,) = r.variables
    assert check.status == KINK  # marked with its convention, not failed


def test_zero_upstream_does_not_turn_an_infinite_local_into_nan() -> None:
    r = gradient("max(sqrt(x), 5)", {"x": 0.0}, symbolic=False)
    assert r.gradients == {"x": 0.0}
