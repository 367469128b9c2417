"""Bounded fuzzing: formulas generated from the grammar, and valid formulas mutated.

Every run must end with exit 0, 1 or 2 (never 3, a bug), with no traceback,
strict JSON on stdout under ``--json``, and any formula that parses must print
(``to_text``) to text that parses back to the same tree (``to_sexpr``).  The
strategies and the checks live in tools/fuzz.py, whose long run
(``python tools/fuzz.py --minutes 5``) tries the same properties for minutes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLES
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from fuzz import (
    MUTATION_PIECES,
    SEEDS,
    check_cli,
    check_roundtrip,
    fast_cli,
    formulas,
    mutate,
    mutations,
    programs,
    value_texts,
)

from gradcalc.parser import parse_program
from gradcalc.printer import to_text

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The faults a well-formed formula may still meet at these values.
RUNTIME_KINDS = {"domain", "overflow", "shape", "name", "value", "syntax"}


@pytest.fixture(scope="module", autouse=True)
def _cli_built_once() -> Iterator[None]:
    """Typer rebuilds the click command on every in-process call; build it once here."""
    with fast_cli():
        yield


# ---------------------------------------------------------------------------
# The checks themselves can fail


def test_the_round_trip_compares_trees() -> None:
    assert check_roundtrip("1-2-3") == "(- (- 1 2) 3)"
    assert check_roundtrip("1-(2-3)") == "(- 1 (- 2 3))"
    assert check_roundtrip("-x^2") == "(- (^ x 2))"
    assert check_roundtrip("(-x)^2") == "(^ (- x) 2)"
    assert check_roundtrip("2^-x^2") == "(^ 2 (- (^ x 2)))"
    assert check_roundtrip("a = x·2\nb = a² − 1 ; max(a, b)") == "(* x 2) (- (^ a 2) 1) (max a b)"
    assert check_roundtrip("1 +") is None  # does not parse: nothing to compare
    assert to_text(parse_program("(1-2)-3").statements[0].expr) == "1 - 2 - 3"
    assert to_text(parse_program("1-(2-3)").statements[0].expr) == "1 - (2 - 3)"


def test_the_round_trip_catches_a_wrong_printer(monkeypatch: pytest.MonkeyPatch) -> None:
    import gradcalc.printer

    monkeypatch.setattr(gradcalc.printer, "to_text", lambda expr: "1 - 2 - 3")  # drops parentheses
    with pytest.raises(AssertionError, match="became"):
        check_roundtrip("1-(2-3)")


def test_check_cli_refuses_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import gradcalc.api

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(gradcalc.api, "gradient", broken)
    with pytest.raises(AssertionError, match="exit 3"):
        check_cli("x", ["x=1"])


def test_mutation_edits() -> None:
    assert mutate("abc", [("insert", 1.0, "Z")]) == "abcZ"
    assert mutate("abc", [("delete", 0.0, "")]) == "bc"
    assert mutate("abc", [("replace", 0.5, "Q")]) == "aQc"
    assert "9^9^9" in MUTATION_PIECES and "\x00" in MUTATION_PIECES


def test_every_seed_and_worked_example_round_trips() -> None:
    for text in (*SEEDS, *(example.formula for example in EXAMPLES)):
        assert check_roundtrip(text) is not None, text


# ---------------------------------------------------------------------------
# Formulas and programs from the grammar


@FAST
@given(formulas())
def test_generated_formulas_round_trip_and_run_cleanly(text: str) -> None:
    assert check_roundtrip(text) is not None, text
    doc = check_cli(text)
    if "error" in doc:
        assert doc["error"]["kind"] in RUNTIME_KINDS, doc
    check_cli(text, as_json=False, extra=("--brief",))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_programs_round_trip_and_run_cleanly(text: str) -> None:
    assert check_roundtrip(text) is not None, text
    check_cli(text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formulas(max_leaves=10))
def test_generated_formulas_print_full_tables_cleanly(text: str) -> None:
    check_cli(text, as_json=False)


@settings(max_examples=6, deadline=None)
@given(formulas(max_leaves=8))
def test_generated_formulas_with_sympy_stay_clean(text: str) -> None:
    """A few with the SymPy check on (a child process each), under a short budget."""
    check_cli(text, sympy=True)


# ---------------------------------------------------------------------------
# Mutations of valid formulas, arbitrary text and values


@FAST
@given(mutations())
def test_mutated_formulas_run_cleanly(text: str) -> None:
    check_roundtrip(text)  # raises if text parses but prints as something else
    check_cli(text)
    check_cli(text, as_json=False, extra=("--brief",))


@FAST
@given(st.text(max_size=40))
def test_arbitrary_text_runs_cleanly(text: str) -> None:
    check_roundtrip(text)
    check_cli(text)


@FAST
@given(value_texts(), st.sampled_from(["x*y", "sum(x)*y", "x@y", "max(x, 1) + y"]))
def test_arbitrary_values_run_cleanly(value: str, formula: str) -> None:
    assume(value.strip())
    check_cli(formula, [f"x={value}", "y=2"])
    check_cli(formula, [f"{value}=1", "x=1", "y=2"])
