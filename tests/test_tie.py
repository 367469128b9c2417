"""`--tie`: where max and min have tied inputs, who gets the gradient.

split (the default, PyTorch and JAX): shared evenly; first: all to the first tied input;
all: the whole gradient to every tied input.  Points that are not ties are not affected,
and relu, abs at 0 keep their own convention whatever --tie says.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import cli

from gradcalc.api import AGREE, KINK, gradient
from gradcalc.jacobian import jacobian

MODES = ("split", "first", "all")
V = np.array([-1.0, 0.0, 2.0])


def grads(formula: str, values: dict[str, Any], tie: str) -> dict[str, Any]:
    r = gradient(formula, values, symbolic=False, tie=tie)
    assert r.ok
    return {k: np.asarray(v).tolist() for k, v in r.gradients.items()}


# ---------------------------------------------------------------------------
# Two scalars


@pytest.mark.parametrize(
    ("tie", "expected"),
    [("split", {"x": 0.5, "y": 0.5}), ("first", {"x": 1.0, "y": 0.0}), ("all", {"x": 1.0, "y": 1.0})],
)
def test_max_of_two_tied_scalars(tie: str, expected: dict[str, float]) -> None:
    assert grads("max(x, y)", {"x": 1.0, "y": 1.0}, tie) == expected
    assert grads("max(y, x)", {"x": 1.0, "y": 1.0}, tie) == (
        {"x": 0.0, "y": 1.0} if tie == "first" else expected  # first means first written
    )


@pytest.mark.parametrize("tie", MODES)
def test_no_tie_no_difference(tie: str) -> None:
    assert grads("max(x, y)*z", {"x": 4.0, "y": 2.0, "z": 3.0}, tie) == {"x": 3.0, "y": 0.0, "z": 4.0}
    r = gradient("max(x, y)*z", {"x": 4.0, "y": 2.0, "z": 3.0}, symbolic=False, tie=tie)
    assert r.kinks == []


@pytest.mark.parametrize(
    ("tie", "expected"), [("split", [1 / 3, 1 / 3, 1 / 3]), ("first", [1.0, 0.0, 0.0]), ("all", [1.0, 1.0, 1.0])]
)
def test_min_of_three_tied(tie: str, expected: list[float]) -> None:
    assert list(grads("min(a, b, c)", {"a": 2.0, "b": 2.0, "c": 2.0}, tie).values()) == expected


def test_only_the_tied_inputs_share() -> None:
    # max(3, 3, 1): the third input is lower and gets nothing in every mode
    for tie, expected in (("split", [0.5, 0.5, 0.0]), ("first", [1.0, 0.0, 0.0]), ("all", [1.0, 1.0, 0.0])):
        assert list(grads("max(a, b, c)", {"a": 3.0, "b": 3.0, "c": 1.0}, tie).values()) == expected


@pytest.mark.parametrize(("tie", "status"), [("split", AGREE), ("first", KINK), ("all", KINK)])
def test_tie_is_marked_and_the_checks_call_it_a_convention(tie: str, status: str) -> None:
    r = gradient("max(x, y)", {"x": 1.0, "y": 1.0}, symbolic=False, tie=tie)
    assert [v.status for v in r.variables] == [status, status]  # the central difference splits: 0.5
    [kink] = r.kinks
    assert kink.note.startswith("max tie: 2 inputs equal 1; gradient ")
    assert kink.variables == ["x", "y"]
    assert r.ok


def test_command_line_tie_option() -> None:
    expected = {"split": "0.5\n∂f/∂y = 0.5", "first": "1\n∂f/∂y = 0", "all": "1\n∂f/∂y = 1"}
    for tie, tail in expected.items():
        run = cli("grad", "max(x, y)", "x=1", "y=1", "--tie", tie, "--brief", "--no-symbolic")
        assert (run.exit_code, run.stdout) == (0, f"f = 1\n∂f/∂x = {tail}\n"), tie


def test_command_line_json_names_the_tie_and_the_note() -> None:
    doc = cli("grad", "max(x, y)", "x=1", "y=1", "--tie", "all", "--json", "--no-symbolic").json()
    assert doc["tie"] == "all"
    assert doc["gradients"] == {"x": 1.0, "y": 1.0}
    [conv] = doc["conventions"]
    assert conv["name"] == "f"
    assert conv["note"].endswith("the whole gradient to every tied input (CS231n's indicator)")
    assert [c["status"] for c in doc["checks"]["variables"]] == ["kink", "kink"]


def test_table_notes_the_tie() -> None:
    run = cli("grad", "max(x, y)", "x=1", "y=1", "--tie", "first", "--no-symbolic")
    assert run.exit_code == 0
    assert "non-differentiable point at f: max tie: 2 inputs equal 1; gradient all to the first tied input" in (
        run.stdout.splitlines()
    )


def test_default_is_split() -> None:
    assert cli("grad", "max(x, y)", "x=1", "y=1", "--json", "--no-symbolic").json()["tie"] == "split"


# ---------------------------------------------------------------------------
# Elementwise: max(0, v), max(v, w)


@pytest.mark.parametrize(
    ("tie", "expected"), [("split", [0.0, 0.5, 1.0]), ("first", [0.0, 0.0, 1.0]), ("all", [0.0, 1.0, 1.0])]
)
def test_max_zero_v_elementwise(tie: str, expected: list[float]) -> None:
    # v = [-1, 0, 2]: only the middle element ties with the 0
    assert grads("sum(max(0, v))", {"v": V}, tie) == {"v": expected}
    r = gradient("sum(max(0, v))", {"v": V}, symbolic=False, tie=tie)
    assert r.kinks[0].note.startswith("max tie: 2 inputs are equal at some elements; gradient ")


@pytest.mark.parametrize(
    ("tie", "expected"),
    [("split", ([0.5, 0.0], [0.5, 1.0])), ("first", ([1.0, 0.0], [0.0, 1.0])), ("all", ([1.0, 0.0], [1.0, 1.0]))],
)
def test_max_of_two_vectors(tie: str, expected: tuple[list[float], list[float]]) -> None:
    v, w = np.array([1.0, 2.0]), np.array([1.0, 3.0])
    assert grads("sum(max(v, w))", {"v": v, "w": w}, tie) == {"v": expected[0], "w": expected[1]}


@pytest.mark.parametrize("tie", MODES)
def test_relu_at_zero_is_zero_whatever_the_tie(tie: str) -> None:
    assert grads("sum(relu(v))", {"v": V}, tie) == {"v": [0.0, 0.0, 1.0]}


@pytest.mark.parametrize(
    ("tie", "expected"), [("split", [-0.5, 0.5, 0.0]), ("first", [0.0, 0.0, 0.0]), ("all", [-1.0, 1.0, 0.0])]
)
def test_svm_loss_at_a_zero_margin(tie: str, expected: list[float]) -> None:
    # s = [3, 2, -1], class 0 correct: margins s - s[0] + 1 = [1, 0, -3]; class 1 sits exactly on the margin.
    # With g = ∂L/∂margin = [1, tie share, 0], ∂L/∂s = g - (Σ g) e0.
    r = gradient("sum(max(0, s - s[0] + 1)) - 1", {"s": np.array([3.0, 2.0, -1.0])}, symbolic=False, tie=tie)
    assert r.value == 0.0
    assert r.gradients["s"].tolist() == expected


def test_jacobian_uses_the_tie_option() -> None:
    v, w = np.array([1.0, 2.0]), np.array([1.0, 3.0])
    for tie, first_row in (("split", [0.5, 0.0, 0.5, 0.0]), ("first", [1.0, 0.0, 0.0, 0.0]),
                           ("all", [1.0, 0.0, 1.0, 0.0])):
        r = jacobian("max(v, w)", {"v": v, "w": w}, tie=tie)
        assert r.reverse == [first_row, [0.0, 0.0, 0.0, 1.0]], tie
        assert r.agree_forward


@pytest.mark.parametrize(
    ("args", "convention"),
    [
        (("max(v, w)", "v=[1, 2]", "w=[1, 3]", "--tie", "all"),
         "f: max tie: 2 inputs are equal at some elements; "),  # the wording of the rule may change
        (("relu(v)", "v=[0, 1]"), "f: relu at 0: local gradient taken as 0 (PyTorch, JAX)"),
    ],
)  # fmt: skip
def test_jacobian_at_a_convention_point_is_not_a_failed_check(args: tuple[str, ...], convention: str) -> None:
    """Like `gradcalc grad`, the jacobian marks the point with its convention (exit 0), not a failed check."""
    run = cli("jacobian", *args)
    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert "≈ central differences differ at a non-differentiable point; the convention decides" in lines
    assert sum(line.startswith(f"non-differentiable point at {convention}") for line in lines) == 1
    assert not any("DISAGREE" in line for line in lines)
    doc = cli("jacobian", *args, "--json").json()
    (note,) = doc["conventions"]
    assert doc["status"] == "ok" and note.startswith(convention)
    assert doc["checks"] == {"forward_agrees": True, "numeric_agrees": False}  # the difference is seen, and explained


def test_jacobian_away_from_a_convention_point_has_none() -> None:
    doc = cli("jacobian", "relu(v)", "v=[-1, 1]", "--json").json()
    assert (doc["status"], doc["conventions"], doc["jacobian"]) == ("ok", [], [[0.0, 0.0], [0.0, 1.0]])
