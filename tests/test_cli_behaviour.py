"""A command line that behaves like one: versions, choices in --help, options given twice."""

from __future__ import annotations

import pytest
from conftest import cli

import gradcalc


@pytest.mark.parametrize("flag", ["-v", "-V", "--version"])
def test_version_flags(flag: str) -> None:
    run = cli(flag)
    assert (run.exit_code, run.stdout) == (0, f"gradcalc {gradcalc.__version__}\n")


def test_a_formula_that_starts_with_minus_v_is_still_a_formula() -> None:
    doc = cli("grad", "-v", "v=2", "--json", "--no-symbolic").json()
    assert (doc["value"], doc["gradients"]) == (-2.0, {"v": -1.0})


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        ("grad", ["[split|first|all]", "[table|json|markdown|latex|html]"]),
        ("check", ["[table|json|jsonl|csv|gradescope|html]"]),
        ("hessian", ["[table|json|markdown|latex|html]"]),
        ("descend", ["[table|json|html]"]),
        ("trace", ["[forward|reverse]", "[split|first|all]"]),
        ("graph", ["[dot|svg|png|pdf|mermaid]"]),
        ("jacobian", ["[split|first|all]"]),
    ],
)
def test_enumerated_options_list_their_choices_in_help(command: str, choices: list[str]) -> None:
    text = " ".join(cli(command, "--help").stdout.split())
    for choice in choices:
        assert choice in text, (command, choice)


def test_expect_value_twice_is_an_error_not_the_last_one() -> None:
    run = cli("grad", "x*2", "x=1", "--expect-value", "2", "--expect-value", "3")
    assert run.exit_code == 2
    assert run.stderr.startswith("error: --expect-value is given 2 times (2, 3)")
    assert cli("grad", "x*2", "x=1", "--expect-value", "2", "--no-symbolic").exit_code == 0


def test_reading_a_closed_standard_input_is_bad_input_not_a_crash() -> None:
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "gradcalc"
    if not exe.exists():
        pytest.skip("the gradcalc script is not installed next to this Python")
    bash = shutil.which("bash")
    assert bash is not None
    proc = subprocess.run([bash, "-c", f"'{exe}' grad - x=1 <&-"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: '-' reads the formula from standard input, which is closed")


def test_a_constant_exponent_at_base_0_has_no_exponent_note() -> None:
    from gradcalc.api import gradient

    assert gradient("x^2", {"x": 0.0}, symbolic=False).kinks == []
    assert "0^y" in gradient("x^y", {"x": 0.0, "y": 2.0}, symbolic=False).kinks[0].note
