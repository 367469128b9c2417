"""Work grows with the input, never faster: each kind of work an input can grow is bounded or linear.

The doubling tests never read a clock (the suite runs on a loaded machine): they
count work deterministically, as Python lines run (``sys.settrace``), as the
characters that str methods scan in C (``Scanned``), or as the peak of
``tracemalloc``, and hold an input twice as large to at most 2.5 times the cost.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from conftest import cli

from gradcalc import limits
from gradcalc.errors import closest
from gradcalc.pipeline import load
from gradcalc.values import resolve_inputs

# ---------------------------------------------------------------------------
# Measuring work without a clock


def lines_run(fn: Callable[[], Any]) -> int:
    """How many lines of Python ``fn()`` runs: its work, the same on a quiet or a busy machine."""
    count = 0

    def trace(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        count += event == "line"
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return count


class Scanned(str):
    """Text that counts the characters its own search methods read, the work lines_run cannot see."""

    chars = 0

    def count(self, sub: Any, start: Any = None, end: Any = None) -> int:
        self._charge(start, end)
        return super().count(sub, start, end)

    def find(self, sub: Any, start: Any = None, end: Any = None) -> int:
        found = super().find(sub, start, end)
        self._charge(start, end if found < 0 else found + len(sub))
        return found

    def rfind(self, sub: Any, start: Any = None, end: Any = None) -> int:
        found = super().rfind(sub, start, end)
        self._charge(start if found < 0 else found, end)
        return found

    def split(self, sep: Any = None, maxsplit: int = -1) -> list[str]:
        self._charge(None, None)
        return super().split(sep, maxsplit)

    def _charge(self, start: Any, end: Any) -> None:
        start, end, _ = slice(start, end).indices(len(self))
        self.chars += max(0, end - start)


def at_most_doubled(cost: Callable[[int], int], n: int) -> None:
    """An input twice as large costs at most 2.5 times as much (linear, with room for constant terms)."""
    small, large = cost(n), cost(2 * n)
    assert large <= 2.5 * small, f"size {n}: {small:,}; size {2 * n}: {large:,} ({large / small:.2f}×)"


# ---------------------------------------------------------------------------
# 1. "did you mean"


def test_a_long_name_costs_no_more_than_a_short_one() -> None:
    # An 8,000-letter name beside a one-letter-different neighbour took 40 s (a full table).
    at_most_doubled(lambda n: lines_run(lambda: closest("a" * n, ["a" * (n - 1) + "b"])), 100)


def test_many_candidates_are_compared_a_bounded_number_of_times() -> None:
    def cost(n: int) -> int:
        candidates = [f"value{k:04}" for k in range(n)]
        return lines_run(lambda: closest("value_x", candidates))

    n = 2 * limits.SUGGEST_MAX_CANDIDATES
    assert cost(2 * n) <= 1.1 * cost(n)  # past the limit, more candidates cost nothing more


def test_unused_values_beside_many_variables_are_linear() -> None:
    # 1,000 variables and 1,000 unused values took 25 s: every warning looked through every variable.
    def cost(n: int) -> int:
        tape = load("+".join(f"v{k:04}" for k in range(n)))
        given = {**{f"v{k:04}": 1.0 for k in range(n)}, **{f"u{k:04}": 1.0 for k in range(n)}}  # each a typo
        return lines_run(lambda: resolve_inputs(tape, given))

    at_most_doubled(cost, 100)


def test_suggestions_stay_for_normal_names_and_stop_past_the_limits() -> None:
    assert closest("sqrtt", ["sqrt", "exp"]) == "sqrt"
    near = "n" * (limits.SUGGEST_MAX_NAME - 1)
    assert closest("n" * limits.SUGGEST_MAX_NAME, [near]) == near
    assert closest("n" * (limits.SUGGEST_MAX_NAME + 1), ["n" * limits.SUGGEST_MAX_NAME]) is None
    far = [f"other{k}" for k in range(limits.SUGGEST_MAX_CANDIDATES)]
    assert closest("value", [*far, "valeu"]) is None  # past the candidates compared
    assert closest("value", [*far[:-1], "valeu"]) == "valeu"


def test_only_the_first_warnings_carry_a_suggestion() -> None:
    n = limits.SUGGEST_MAX_WARNINGS + 5
    formula = "+".join(f"w{k}x" for k in range(n))
    run = cli("grad", formula, *[f"w{k}x=1" for k in range(n)], *[f"w{k}y=1" for k in range(n)], "--brief",
              "--no-symbolic")
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == n
    assert sum("did you mean" in w for w in warnings) == limits.SUGGEST_MAX_WARNINGS
    assert warnings[0] == "warning: 'w0y' is not used by the formula; its value is ignored (did you mean 'w0x'?)"


# ---------------------------------------------------------------------------
# 2. Rebinding, and answer files


def rebound(n: int) -> str:
    return "c = x\n" + "c = c + 1\n" * n + "c\n"


def test_rebinding_a_name_is_linear() -> None:
    # 4,000 of c = c + 1 took 9 s: the label search c, c', c'', ... began again at each.
    at_most_doubled(lambda n: lines_run(lambda: load(rebound(n))), 200)


def test_a_rebound_name_is_labelled_c_prime_then_c_prime_4() -> None:
    tape = load(rebound(5))
    assert [node.label for node in tape.nodes if node.kind == "gate"] == ["c'", "c''", "c'''", "c'4", "c'5"]
    run = cli("grad", rebound(5), "x=1", "--expect", "c'4=5", "--expect-upstream", "c'4=1", "--brief",
              "--no-symbolic")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "✓ c'4: 5" in run.stdout
