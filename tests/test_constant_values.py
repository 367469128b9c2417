"""Values as people write them: numbers, or constant expressions read by gradcalc's own parser."""

from __future__ import annotations

import math

import pytest
from conftest import cli

from gradcalc.errors import GradcalcError
from gradcalc.values import parse_assignments


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x=pi/2", math.pi / 2),
        ("x=1/3", 1 / 3),
        ("x=-sqrt(2)", -math.sqrt(2)),
        ("x=2e-3", 2e-3),
        ("x=e", math.e),
        ("x=2^-1", 0.5),
        ("x = exp(1) - 1", math.e - 1),
        ("x=π/4", math.pi / 4),
    ],
)
def test_constant_expressions_are_values(text: str, value: float) -> None:
    assert parse_assignments([text]) == {"x": pytest.approx(value, rel=1e-15)}


@pytest.mark.parametrize(
    ("text", "message", "hint", "caret"),
    [
        ("x=1,5", "'1,5' is not a number", "use a decimal point: 1.5", "  ^^^"),
        ("x=y*2", "'y' in a value: a value is a number or a constant expression", "values are numbers", "  ^"),
        ("x=log(0)", "log of zero in gate f = log(0)", "its inputs are constants", "  ^^^^^^"),
        ("x=pi/", "expected a value after '/', found the end of the formula", "a value is a number", "     ^"),
        ("x=__import__('os')", "unexpected character", "string literals", None),
    ],
)
def test_a_bad_value_is_located_in_its_argument(text: str, message: str, hint: str, caret: str | None) -> None:
    with pytest.raises(GradcalcError) as caught:
        parse_assignments([text])
    err = caught.value
    assert err.message.startswith(message), err.message
    assert err.hint is not None and err.hint.startswith(hint), err.hint
    rendered = err.render().splitlines()
    assert f"1 | {text}" in rendered
    if caret is not None:
        assert f"  | {caret}" in rendered


def test_the_command_line_takes_constant_values() -> None:
    run = cli("grad", "sin(x)", "x=pi/2", "--json", "--no-symbolic")
    assert run.exit_code == 0
    doc = run.json()
    assert doc["value"] == 1.0 and doc["gradients"]["x"] == pytest.approx(0.0, abs=1e-15)
    bad = cli("grad", "x*2", "x=1,5")
    assert bad.exit_code == 2 and "use a decimal point: 1.5" in bad.stderr


def test_a_decimal_comma_in_a_formula_is_named() -> None:
    run = cli("grad", "x*1,5", "x=1")
    assert run.exit_code == 2
    assert "hint: use a decimal point: 1.5" in run.stderr


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (("T*x", "x=1"), "hint: write T(x); for a variable, use another name such as T_"),
        (("max*x", "x=1"), "hint: write max(a, b, ...); for a variable, use another name such as max_"),
        (("1/(1+exp(-x))", "x=-800"), "this formula is sigmoid(...) written out: write sigmoid(...), or add --fuse"),
    ],
)
def test_hints_for_what_people_type(args: tuple[str, ...], hint: str) -> None:
    run = cli("grad", *args)
    assert run.exit_code == 2
    assert hint in run.stderr, run.stderr
    if "sigmoid" in hint:  # and the hint is right: the stable form computes it
        fixed = cli("grad", "sigmoid(-x)", "x=-800", "--json", "--no-symbolic").json()
        assert fixed["value"] == 1.0 and fixed["status"] == "ok"
        fused = cli("grad", *args, "--fuse", "--json", "--no-symbolic").json()
        assert fused["value"] == 0.0 and fused["gradients"] == {"x": 0.0}
