"""Homework mode as a library: the digits rule, the chain-rule explanation, one descent step, answer files."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest
from conftest import NETWORK, NETWORK_FORMULA, NEURON, NEURON_GRADIENTS

from gradcalc.answerfile import Status, grade_file
from gradcalc.answers import Mark, Tolerance, parse_answer, within
from gradcalc.api import GradResult, gradient
from gradcalc.commands.homework_options import how_to_ask, parse_expectations, parse_params
from gradcalc.diagnose import MAX_PATHS
from gradcalc.errors import GradcalcError
from gradcalc.judge import judge
from gradcalc.step import descent_step

NEURON_FORMULA = "1/(1+exp(-(w0*x0+w1*x1+w2)))"


def right(text: str, true: float) -> bool:
    """The digits rule: is the answer ``text`` right for ``true``?"""
    answer = parse_answer(text)
    return within(answer.value, true, answer.half_unit)


def run(formula: str, values: Mapping[str, float]) -> GradResult:
    return gradient(formula, values, symbolic=False)


def marks(
    formula: str,
    values: Mapping[str, float],
    grads: tuple[str, ...] = (),
    nodes: tuple[str, ...] = (),
    upstreams: tuple[str, ...] = (),
    value: str | None = None,
    tolerance: Tolerance | None = None,
) -> list[Mark]:
    return judge(run(formula, values), parse_expectations(value, grads, nodes, upstreams), tolerance, how_to_ask)


def only(formula: str, values: Mapping[str, float], grad: str) -> Mark:
    (mark,) = marks(formula, values, (grad,))
    return mark


# ---------------------------------------------------------------------------
# Reading answers: the digits they carry


@pytest.mark.parametrize(
    ("text", "half_unit", "rule"),
    [
        ("0.39", 0.005, "2 decimals"),
        ("0.4", 0.05, "1 decimal"),
        ("0.40", 0.005, "2 decimals"),
        ("-0.20", 0.005, "2 decimals"),
        ("\u22120.20", 0.005, "2 decimals"),  # a typeset minus sign
        ("4", 0.5, "the units digit"),
        ("440", 0.5, "the units digit"),
        ("4.", 0.5, "the units digit"),
        (".5", 0.05, "1 decimal"),
        ("1.2e-3", 0.05e-3, "2 significant digits"),
        ("1.20e-3", 0.005e-3, "3 significant digits"),
        ("4e2", 50.0, "1 significant digit"),
        ("4.87E-2", 0.005e-2, "3 significant digits"),
    ],
)
def test_an_answer_is_judged_to_its_last_digit(text: str, half_unit: float, rule: str) -> None:
    answer = parse_answer(text)
    assert math.isclose(answer.half_unit, half_unit, rel_tol=1e-12)
    assert answer.rule == rule


def test_the_answer_text_is_kept_as_typed() -> None:
    answer = parse_answer(" 0.20 ")
    assert answer.text == "0.20" and answer.value == 0.2


@pytest.mark.parametrize("text", ["abc", "1/3", "0x10", "1e", "--1", "", "inf", "nan", "1,5", "2*3"])
def test_anything_but_a_plain_number_is_refused(text: str) -> None:
    with pytest.raises(GradcalcError, match="not a number"):
        parse_answer(text)


def test_a_number_too_large_for_a_float_is_refused() -> None:
    with pytest.raises(GradcalcError, match="too large"):
        parse_answer("1e400")


# The issue's own example: 0.39 and 0.4 are right for 0.3932, 0.40 is not.
def test_the_issue_example() -> None:
    true = NEURON_GRADIENTS["x0"]  # 0.3932238664829637
    assert right("0.39", true)
    assert right("0.4", true)
    assert not right("0.40", true)
    assert right("0.393", true)
    assert not right("0.394", true)


@pytest.mark.parametrize(
    ("text", "true", "ok"),
    [
        # exactly half a unit away is right, on both sides (a hair of float slack: 0.395 - 0.39 > 0.005 in floats)
        ("0.39", 0.395, True),
        ("0.40", 0.395, True),
        ("0.39", 0.3951, False),
        ("0.40", 0.3949, False),
        ("0.39", 0.385, True),
        ("0.39", 0.3849999, False),
        # negative numbers
        ("-0.39", -0.395, True),
        ("-0.40", -0.395, True),
        ("-0.38", -0.395, False),
        ("-0.20", -0.19661193324148185, True),
        ("0.20", -0.19661193324148185, False),
        ("-0.2", 0.0, False),
        # integers: the units digit
        ("4", 4.5, True),
        ("5", 4.5, True),
        ("4", 4.5000001, False),
        ("4", 3.5, True),
        ("4", 3.4999999, False),
        ("-12", -12.0, True),
        ("0", 0.49, True),
        ("0", -0.5, True),
        ("0", 0.51, False),
        ("440", 440.00000000000006, True),
        # scientific notation: half a unit in the last significant digit
        ("1.2e-3", 1.25e-3, True),
        ("1.2e-3", 1.15e-3, True),
        ("1.2e-3", 1.2501e-3, False),
        ("1.3e-3", 1.25e-3, True),
        ("1.20e-3", 1.2049e-3, True),
        ("1.20e-3", 1.2051e-3, False),
        ("-4.87e-2", -0.04874558763374381, True),
        ("4.88e-2", 0.04874558763374381, False),
        ("4e2", 449.0, True),
        ("4e2", 451.0, False),
        # large and small magnitudes
        ("610", 610.0000000000001, True),
        ("0.00298", 0.0029792172033814065, True),
        ("0.00297", 0.0029792172033814065, False),
    ],
)
def test_the_digits_rule_at_its_edges(text: str, true: float, ok: bool) -> None:
    assert right(text, true) is ok


def test_rtol_and_atol_replace_the_digits_rule() -> None:
    (mark,) = marks("w*x+b", {"w": -2, "x": 5, "b": 3}, ("w=5.04",), tolerance=Tolerance(rtol=0.01))
    assert mark.ok and mark.tolerance == pytest.approx(0.05) and mark.rule == "rtol 0.01, atol 0"
    (mark,) = marks("w*x+b", {"w": -2, "x": 5, "b": 3}, ("w=5.06",), tolerance=Tolerance(rtol=0.01))
    assert not mark.ok
    # "5" would be right to the units digit; atol 0.001 asks for more
    (mark,) = marks("w*x+b", {"w": -2, "x": 5.0004, "b": 3}, ("w=5",), tolerance=Tolerance(atol=0.001))
    assert mark.ok
    (mark,) = marks("w*x+b", {"w": -2, "x": 5.4, "b": 3}, ("w=5",), tolerance=Tolerance(atol=0.001))
    assert not mark.ok and mark.tolerance == 0.001


# ---------------------------------------------------------------------------
# Judging answers against a result


def test_the_neuron_answers_of_the_lecture_are_right() -> None:
    result = judge(
        run(NEURON_FORMULA, NEURON),
        parse_expectations("0.73", ["w0=-0.20", "x0=0.39", "w1=-0.39", "x1=-0.59", "w2=0.20"]),
    )
    assert [m.ok for m in result] == [True] * 6
    assert [m.label for m in result] == ["f", "∂f/∂w0", "∂f/∂x0", "∂f/∂w1", "∂f/∂x1", "∂f/∂w2"]
    assert result[0].true == pytest.approx(0.7310585786300049, rel=1e-12)
    assert result[2].true == pytest.approx(0.3932238664829637, rel=1e-12)
    assert result[2].tolerance == 0.005


def test_intermediate_values_and_upstream_gradients_by_node_name() -> None:
    # example 3: q = x + y = 3, and the upstream gradient into q is z = -4
    q_value, q_upstream = marks("(x+y)*z", {"x": -2, "y": 5, "z": -4}, nodes=("q=3",), upstreams=("q=-4",))
    assert q_value.ok and q_value.true == 3.0 and q_value.label == "q"
    assert q_upstream.ok and q_upstream.true == -4.0 and q_upstream.label == "∂f/∂q"


def test_a_program_names_its_intermediates() -> None:
    program = (
        "h1 = sigmoid(w1*x1 + w2*x2); h2 = sigmoid(w3*x1 + w4*x2)\n"
        "o1 = sigmoid(w5*h1 + w6*h2); o2 = sigmoid(w7*h1 + w8*h2)\n"
        "E = 0.5*(0.2 - o1)^2 + 0.5*(0.4 - o2)^2"
    )
    found = marks(program, NETWORK, ("w5=0.04875",), ("h1=0.5325", "o1=0.5745"), ("o1=0.3745",))
    assert all(m.ok for m in found)
    by_label = {m.label: m.true for m in found}
    assert by_label["∂E/∂o1"] == pytest.approx(0.3745129029117749, rel=1e-9)  # the seed's 0.3745129
    assert by_label["h1"] == pytest.approx(0.5324543063873187, rel=1e-9)  # the seed's 0.53245431


@pytest.mark.parametrize(
    ("grads", "nodes", "upstreams", "message", "hint"),
    [
        (("v=1",), (), (), "'v' is not a variable", "the variables are x, y, z"),
        (("q=1",), (), (), "'q' is an intermediate node", "--expect-upstream q="),
        ((), ("nope=1",), (), "no node called 'nope'", "the nodes are"),
        ((), (), ("hidden=1",), "no node called 'hidden'", "the nodes are"),
    ],
)
def test_unknown_names_are_located_errors(
    grads: tuple[str, ...], nodes: tuple[str, ...], upstreams: tuple[str, ...], message: str, hint: str
) -> None:
    with pytest.raises(GradcalcError, match=message) as info:
        marks("(x+y)*z", {"x": -2, "y": 5, "z": -4}, grads, nodes, upstreams)
    assert info.value.hint is not None and hint in info.value.hint
    assert info.value.span is not None and info.value.source is not None


def test_judging_names_the_kind_to_ask_for_and_the_caller_spells_it() -> None:
    result = run("(x+y)*z", {"x": -2, "y": 5, "z": -4})
    with pytest.raises(GradcalcError) as plain:
        judge(result, parse_expectations(None, ["q=1"]))
    assert plain.value.hint == "ask for its upstream gradient"
    with pytest.raises(GradcalcError) as spelled:
        judge(result, parse_expectations(None, ["q=1"]), ask=how_to_ask)
    assert spelled.value.hint == (
        "ask for its upstream gradient with --expect-upstream q=... (expect_upstream in answer files)"
    )


def test_no_gradient_flows_into_a_constant_part() -> None:
    with pytest.raises(GradcalcError, match="does not depend on any variable"):
        marks("x*(2+3)", {"x": 1}, upstreams=("q=1",))


def test_an_answer_about_a_whole_vector_asks_for_one_element() -> None:
    result = gradient("sum(x*x)", {"x": __import__("numpy").array([1.0, 2.0])}, symbolic=False)
    with pytest.raises(GradcalcError, match="vector or matrix") as info:
        judge(result, parse_expectations(None, ["x=1"]))
    assert info.value.hint == "answer one element at a time, e.g. x[0]=..."


# Example 9 (CS231n's vectorized example): f = ||W x||^2 with q = W x = [0.22, 0.26],
# ∂f/∂q = 2q = [0.44, 0.52], ∂f/∂W = 2 q x^T = [[0.088, 0.176], [0.104, 0.208]], ∂f/∂x = 2 W^T q = [-0.112, 0.636].
VECTORIZED = "W = [[0.1, 0.5], [-0.3, 0.8]]; x = [0.2, 0.4]; q = W @ x; f = sum(q^2)"


def test_elements_of_vectors_and_matrices_are_judged_one_by_one() -> None:
    found = marks(VECTORIZED, {}, grads=("W[0, 1]=0.176", "W[1,0]=0.104", "x[1]=0.636"), nodes=("q[0]=0.22",),
                  upstreams=("q[1]=0.52",))
    assert [(m.label, m.true, m.ok) for m in found] == [
        ("∂f/∂W[0, 1]", pytest.approx(0.176), True),
        ("∂f/∂W[1, 0]", pytest.approx(0.104), True),
        ("∂f/∂x[1]", pytest.approx(0.636), True),
        ("q[0]", pytest.approx(0.22), True),
        ("∂f/∂q[1]", pytest.approx(0.52), True),
    ]
    assert found[0].name == "W[0, 1]"


def test_a_wrong_element_gets_the_diagnoses_but_no_chain() -> None:
    [mark] = marks(VECTORIZED, {}, grads=("x[0]=0.112",))
    assert not mark.ok and mark.reason == "the sign is flipped" and mark.chain is None


@pytest.mark.parametrize(
    ("grad", "message"),
    [
        ("W[1]=0.1", "∂f/∂W is a 2×2 matrix: give 2 indices"),
        ("W[2, 0]=0.1", "∂f/∂W[2, 0] is outside its shape 2×2"),
        ("x[0, 0]=0.1", "∂f/∂x is a vector of 2: give 1 index"),
    ],
)
def test_an_element_that_is_not_there_is_a_located_error(grad: str, message: str) -> None:
    with pytest.raises(GradcalcError) as info:
        marks(VECTORIZED, {}, grads=(grad,))
    assert info.value.message == message and info.value.span == (0, grad.index("="))


def test_an_index_on_a_number_is_an_error() -> None:
    with pytest.raises(GradcalcError, match="is a number, not a vector or matrix"):
        marks("(x+y)*z", {"x": -2, "y": 5, "z": -4}, grads=("x[0]=-4",))


@pytest.mark.parametrize("arg", ["x0", "=1", "x0=", "x0=1,5", "1x=2", "x[=1", "x[-1]=2", "x[a]=1", "x[0][1]=1"])
def test_malformed_expectations(arg: str) -> None:
    with pytest.raises(GradcalcError):
        parse_expectations(None, [arg])


def test_a_word_for_an_answer_is_a_formula_with_an_unknown_name() -> None:
    # "abc" reads as a formula (tests/test_formula_answers.py); the problem has no such name.
    with pytest.raises(GradcalcError, match="'abc' is not a number or a variable of the formula"):
        marks("x0*2", {"x0": 1}, grads=("x0=abc",))


# ---------------------------------------------------------------------------
# Why a wrong answer is wrong


@pytest.mark.parametrize(
    ("formula", "values", "grad", "reason"),
    [
        (NEURON_FORMULA, NEURON, "w0=0.20", "the sign is flipped"),
        (NEURON_FORMULA, NEURON, "x0=0.40", "rounded wrong: right to 1 decimal, but 0.393224 rounds to 0.39"),
        (NEURON_FORMULA, NEURON, "x1=-0.58", "rounded wrong: right to 1 decimal, but -0.589836 rounds to -0.59"),
        (NEURON_FORMULA, NEURON, "w0=0.19", "the sign is flipped, and then rounded wrong: 0.196612 rounds to 0.20"),
        ("(x+y)*z", {"x": -2, "y": 5, "z": -4}, "x=4", "the sign is flipped"),
        ("(x+y)*z", {"x": -2, "y": 5, "z": -4}, "z=6", "off by a factor of 2: the answer is 2× the true value"),
        ("(x+y)*z", {"x": -2, "y": 5, "z": -4}, "z=-12",  # f itself, not -4× the gradient
         "this is the value of f = q * z, -12, not its local gradient q = 3"),
        ("(x+y)*z", {"x": -2, "y": 5, "z": -4}, "z=-15",
         "off by a factor of 5: the answer is 5× the true value, and the sign is flipped"),
        # The student gave x0's value, the local gradient alone: not a rounding of -0.196612.
        (NEURON_FORMULA, NEURON, "w0=-1", "this is ∂t/∂w0 alone: the upstream gradient ∂f/∂t = 0.196612 was not"),
        ("x*y", {"x": 0.39, "y": 1}, "y=1", "this is the value of y, not its gradient; a mul gate hands"),
        ("sigmoid(x)", {"x": 0}, "x=0.5", "this is the value of f = sigmoid(x), 0.5, not its local gradient "
         "f·(1 - f) = 0.25"),
        ("x*x + x", {"x": 3}, "x=3.0", "this is only the path through q: x reaches f along 3 paths"),
        ("x*x + x", {"x": 3}, "x=1.0", "this is only the path through f"),
        (NEURON_FORMULA, NEURON, "w0=-0.53", "this is ∂f/∂v, the upstream gradient at v: the chain stops there"),
        (NEURON_FORMULA, NEURON, "w0=-1.00", "this is ∂t/∂w0 alone: the upstream gradient ∂f/∂t = 0.196612 was not"),
        (NEURON_FORMULA, NEURON, "w0=0.37", "this is ∂g/∂w0 alone: the upstream gradient ∂f/∂g = -0.534447 was not"),
        ("w*x+b", {"w": -2, "x": 5, "b": 3}, "w=-2", "this is the value of w, not its gradient; a mul gate hands"),
        ("w*x+b", {"w": -2, "x": 5, "b": 3}, "w=-2.0", "this is the value of w"),
        (NEURON_FORMULA, NEURON, "w1=-0.59", "this is ∂f/∂x1: w1 and x1 mixed up?"),
        (NEURON_FORMULA, NEURON, "x0=-1", "this is the value of x0, not its gradient"),
    ],
)
def test_the_slip_is_named(formula: str, values: Mapping[str, float], grad: str, reason: str) -> None:
    mark = only(formula, values, grad)
    assert not mark.ok
    assert mark.reason is not None and mark.reason.startswith(reason), mark.reason


@pytest.mark.parametrize("grad", ["w0=0.55", "x0=0.77", "x1=2.5"])
def test_no_slip_is_invented(grad: str) -> None:
    mark = only(NEURON_FORMULA, NEURON, grad)
    assert not mark.ok and mark.reason is None


def test_a_coarse_answer_is_not_matched_to_a_pattern_it_cannot_resolve() -> None:
    # "1" is within half a unit of one path's cos(0.5) = 0.878, but says nothing about it.
    mark = only("sin(x) + sin(x) + sin(x)", {"x": 0.5}, "x=1")
    assert not mark.ok and mark.reason is None


def test_the_chain_of_the_neuron_is_its_local_gradients() -> None:
    mark = only(NEURON_FORMULA, NEURON, "w0=0.20")
    chain = mark.chain
    assert chain is not None and chain.total_paths == 1 and chain.note is None
    (path,) = chain.paths
    # CS231n's picture from the output back: 1/x at 1.37, +1, exp, *-1, +, +, * (x0 = -1)
    assert [(chain.label(f.top), chain.label(f.bottom)) for f in path.factors] == [
        ("f", "g"), ("g", "v"), ("v", "u"), ("u", "t"), ("t", "s"), ("s", "q"), ("q", "w0"),
    ]  # fmt: skip
    locals_ = [f.value for f in path.factors]
    expected = [-1 / (1 + math.exp(-1)) ** 2, 1, math.exp(-1), -1, 1, 1, -1]
    assert locals_ == pytest.approx(expected, rel=1e-12)
    assert locals_[0] == pytest.approx(-0.53, abs=0.005)  # "the local gradient of 1/x at x=1.37 is -0.53"
    assert path.product == pytest.approx(NEURON_GRADIENTS["w0"], rel=1e-12)


def test_the_chain_of_example_8_is_the_seeds_product() -> None:
    result = run(NETWORK_FORMULA, NETWORK)
    (mark,) = judge(result, parse_expectations(None, ["w5=0.06"]))
    assert mark.chain is not None
    (path,) = mark.chain.paths
    locals_ = [f.value for f in path.factors]
    # 0.04874558763374381 = 0.3745129 × 0.24444783 × 0.53245431 (seed 002)
    (k,) = [k for k, v in enumerate(locals_) if abs(v - 0.24444783) < 1e-8]  # the sigmoid gate o1, σ(1−σ)
    assert math.prod(locals_[:k]) == pytest.approx(0.3745129, abs=1e-7)  # ∂E/∂o1, the factors above it
    assert math.prod(locals_[k + 1 :]) == pytest.approx(0.53245431, abs=1e-8)  # ∂(w5·h1 + w6·h2)/∂w5 = h1
    assert path.product == pytest.approx(0.04874558763374381, rel=1e-12)


def test_paths_add_up_where_a_value_is_used_more_than_once() -> None:
    mark = only("x*x + x", {"x": 3}, "x=6")
    chain = mark.chain
    assert chain is not None and chain.total_paths == 3
    assert sorted(p.product for p in chain.paths) == [1.0, 3.0, 3.0]
    assert sum(p.product for p in chain.paths) == mark.true == 7.0


def test_many_paths_are_counted_but_only_a_few_spelled_out() -> None:
    mark = only("+".join(["sin(x)"] * 50), {"x": 0.5}, "x=1")
    chain = mark.chain
    assert chain is not None and chain.total_paths == 50 and len(chain.paths) == MAX_PATHS
    assert all(p.product == pytest.approx(math.cos(0.5)) for p in chain.paths)
    # rebinding doubles the paths each line: 2^40 of them, counted without walking them
    program = "a = 1.0\n" + "a = a + a\n" * 40 + "b = a * 1"
    (mark,) = marks(program, {}, ("a=1",))
    assert mark.chain is not None and mark.chain.total_paths == 2**40 and len(mark.chain.paths) == MAX_PATHS
    assert mark.true == 2.0**40


def test_where_the_answers_first_go_wrong() -> None:
    values = {"x": -2, "y": 5, "z": -4}
    # the upstream gradient into q is right, so the slip is in the add gate below it
    found = marks("(x+y)*z", values, ("x=4",), upstreams=("q=-4",))
    x = next(m for m in found if m.label == "∂f/∂x")
    assert x.chain is not None and x.chain.where is not None
    assert "right down to ∂f/∂q" in x.chain.where and "q = x + y" in x.chain.where and "∂q/∂x = 1" in x.chain.where
    # the upstream gradient into q is already wrong: that is where it first goes wrong
    found = marks("(x+y)*z", values, ("x=4",), upstreams=("q=4",))
    x = next(m for m in found if m.label == "∂f/∂x")
    assert x.chain is not None and x.chain.where is not None
    assert x.chain.where.startswith("your answers first go wrong at ∂f/∂q = 4 (true -4)")
    assert "the gate f = q * z" in x.chain.where  # f's own upstream is 1, so the slip is in f's local gradient
    # no intermediate answers: no "where", only the factors
    x = only("(x+y)*z", values, "x=4")
    assert x.chain is not None and x.chain.where is None


def test_backprop_order_picks_the_wrong_answer_nearest_the_output() -> None:
    found = marks(NEURON_FORMULA, NEURON, ("w0=0.20",), upstreams=("g=-0.53", "u=0.20", "s=-0.20"))
    w0 = found[0]
    assert w0.chain is not None and w0.chain.where is not None
    assert w0.chain.where.startswith("your answers first go wrong at ∂f/∂u = 0.20")


def test_a_wrong_forward_value_is_pointed_out() -> None:
    found = marks("(x+y)*z", {"x": -2, "y": 5, "z": -4}, ("z=7",), ("q=7",))
    z = found[0]
    assert z.chain is not None and z.chain.where is not None
    assert "the forward value q = 7 is already wrong (true 3)" in z.chain.where


# ---------------------------------------------------------------------------
# One step of gradient descent


def test_one_step_on_example_8() -> None:
    step = descent_step(run(NETWORK_FORMULA, NETWORK), 0.5)
    assert abs(step.updated["w5"] - 0.2256272061831281) < 1e-12
    assert sorted(step.names) == sorted(NETWORK)
    assert step.old["w5"] == 0.25


def test_one_step_on_chosen_parameters() -> None:
    result = run("(x+y)*z", {"x": -2, "y": 5, "z": -4})
    step = descent_step(result, 0.1, parse_params("z, x", 0.1))
    assert step.names == ["z", "x"]
    assert step.updated == {"z": pytest.approx(-4 - 0.1 * 3), "x": pytest.approx(-2 - 0.1 * -4)}


def test_params_must_be_variables_and_need_a_rate() -> None:
    result = run("(x+y)*z", {"x": -2, "y": 5, "z": -4})
    with pytest.raises(GradcalcError, match="'q', which is not a variable"):
        descent_step(result, 0.1, ["q"])
    with pytest.raises(GradcalcError, match="--params needs --lr"):
        parse_params("x", None)
    with pytest.raises(GradcalcError, match="empty"):
        parse_params(" , ", 0.1)


# ---------------------------------------------------------------------------
# Answer files


NEURON_TOML = """\
[[problem]]
name = "neuron"
formula = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
values = { w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3 }
expect_value = 0.73
expect_grad = { w0 = -0.20, x0 = "0.39", w1 = -0.39, x1 = -0.59, w2 = 0.20 }
"""


def test_a_float_keeps_the_digits_typed_in_the_file() -> None:
    report = grade_file(NEURON_TOML, "hw.toml")
    (problem,) = report.problems
    assert problem.error is None and problem.right == problem.total == 6
    texts = {m.label: m.answer.text for m in problem.marks}
    assert texts["∂f/∂w0"] == "-0.20" and texts["∂f/∂w2"] == "0.20" and texts["f"] == "0.73"
    assert {m.tolerance for m in problem.marks} == {0.005}  # 2 decimals each, not TOML's 0.2
    assert report.status == Status.OK


def test_a_float_the_file_does_not_show_falls_back_to_its_shortest_form() -> None:
    # an array-of-tables written inline: no [[problem]] lines to read the digits back from
    text = 'problem = [{ formula = "x*y", values = { x = 2, y = 3 }, expect_grad = { x = 3.0 } }]\n'
    (problem,) = grade_file(text, "hw.toml").problems
    assert problem.error is None
    (mark,) = problem.marks
    assert mark.answer.text == "3.0" and mark.ok  # repr(3.0): one decimal


def test_sub_tables_dotted_keys_and_programs() -> None:
    text = '''\
[[problem]]
name = "sub"   # a comment with = in it
formula = 'x*y'
values.x = 2
values.y = 3
[problem.expect_grad]
x = 3.0
"y" = 2.10

[[problem]]
name = "program"
program = """
a = 1 # a = 2 in a comment
b = a + a
c = b + b"""
expect_grad = {a = 4.00}
expect = {b = 2.0}
'''
    report = grade_file(text, "hw.toml")
    sub, program = report.problems
    assert [m.answer.text for m in sub.marks] == ["3.0", "2.10"]
    assert [m.ok for m in sub.marks] == [True, False]
    assert [(m.label, m.answer.text, m.ok) for m in program.marks] == [("∂c/∂a", "4.00", True), ("b", "2.0", True)]
    assert report.status == Status.WRONG


def test_a_toml_syntax_error_is_located() -> None:
    with pytest.raises(GradcalcError) as info:
        grade_file('[[problem]]\nformula = "x"\nexpect_grad = { x = 3, y = 2\n', "hw.toml")
    err = info.value
    assert err.location() == (3, 29) and err.message.startswith("not valid TOML")
    assert "--> hw.toml:3:29" in err.render()


@pytest.mark.parametrize(
    ("body", "message", "where"),
    [
        ('formula = "w*x"\nvalues = { w = 2, x = 3 }\nexpect_grads = { w = 3 }\n',
         "unknown key 'expect_grads'", (4, 1)),
        ('values = { w = 2 }\nexpect_value = 1\n', "no formula", (1, 1)),
        ('formula = "w**x + (x"\nvalues = { w = 2, x = 3 }\nexpect_value = 8\n', "unclosed '('", (2, 19)),
        ('formula = "w*x"\nvalues = { w = 2, x = 3 }\nexpect_grad = { w = true }\n',
         "expect_grad.w must be a number", (4, 21)),
        ('formula = "w*x"\nvalues = { w = 2, x = 3 }\nexpect_grad = { v = "3" }\n',
         "'v' is not a variable", (4, 17)),
        ('formula = "w*x"\nvalues = { w = 2, x = "abc" }\nexpect_value = "6"\n', "'abc' is not a number", (3, 23)),
        # a word is a formula answer with a name the problem lacks: the caret is under it, inside the string
        ('formula = "w*x"\nvalues = { w = 2, x = 3 }\nexpect_value = "six"\n', "'six' is not a number", (4, 17)),
        ('formula = "w*x"\nvalues = { w = 2, x = 3 }\n', "no answers to check", (1, 1)),
        ('formula = 3\nexpect_value = "6"\n', "formula must be a string", (2, 11)),
        ('formula = "w*x"\nprogram = "w*x"\nexpect_value = "6"\n', "not both", (3, 1)),
        ('formula = "w*x"\nvalues = { w = 2, x = 3 }\nexpect_grad = 3\n', "expect_grad must be a table", (4, 15)),
        ('formula = "w*x"\nvalues = { w = 2, x = 3 }\nexpect_value = "6"\nrtol = -1\n', "rtol must be", (5, 8)),
        ('formula = "w*"\nvalues = { w = 2 }\nexpect_value = "6"\n', "expected", (2, 14)),
    ],
)
def test_a_malformed_problem_is_an_error_row_and_the_others_are_graded(
    body: str, message: str, where: tuple[int, int]
) -> None:
    good = '[[problem]]\nname = "good"\nformula = "x*y"\nvalues = { x = 2, y = 3 }\nexpect_value = "6"\n'
    report = grade_file(f"[[problem]]\n{body}\n{good}", "hw.toml")
    bad, fine = report.problems
    assert bad.error is not None, message
    assert message in bad.error.message, bad.error.message
    assert bad.error.location() == where
    assert fine.error is None and fine.right == fine.total == 1
    assert report.status == Status.ERROR


def test_a_file_without_problems_is_an_error() -> None:
    with pytest.raises(GradcalcError, match=r"no \[\[problem\]\] tables"):
        grade_file("# nothing here\n", "hw.toml")
    with pytest.raises(GradcalcError, match="unknown top-level key 'problems'") as info:
        grade_file('[[problems]]\nformula = "x"\n', "hw.toml")
    assert info.value.location() == (1, 3)


def test_per_problem_tolerance_and_output() -> None:
    text = '''\
[[problem]]
program = "a = 2; b = a*a; c = b + 1"
output = "b"
rtol = 0.01
expect_value = 4.03
expect_grad = { a = "4" }
'''
    (problem,) = grade_file(text, "hw.toml").problems
    assert problem.error is None
    assert [(m.label, m.true, m.ok) for m in problem.marks] == [("b", 4.0, True), ("∂b/∂a", 4.0, True)]
    assert problem.marks[0].rule == "rtol 0.01, atol 0"
