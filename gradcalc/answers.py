"""Answers as a student writes them, judged to the digits given.

A student's answer is text such as ``0.39`` or ``-1.2e-3``.  It is judged to
the digits it was given: an answer whose last digit is worth 10^e is right when
it is within half of that (``0.39`` and ``0.4`` are right for 0.3932, ``0.40``
is not).  ``rtol``/``atol`` replace that rule when given.

An :class:`Expectation` says what an answer is about (the output's value, a
gradient, a node's value or its upstream gradient); :func:`gradcalc.judge.judge`
marks each one (a :class:`Mark`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .errors import Source, Span
from .values import clean_number, parse_number


class Kind(StrEnum):
    """What an answer is about."""

    VALUE = "value"  # the output's value
    GRAD = "grad"  # ∂out/∂variable
    NODE = "node"  # a node's value
    UPSTREAM = "upstream"  # ∂out/∂node, the upstream gradient at a node


# How the user asks for an answer of a kind, for hints: (Kind.UPSTREAM, "q=...") → "--expect-upstream q=...".
# The command line knows the spelling; judging only names the kind to ask for.
Ask = Callable[[Kind, str], str]

# A hair of float slack, relative: 0.39 is right for 0.395 although 0.395 - 0.39 > 0.005 in floats.
SLACK = 1e-12

# A name, or a rebound name's label: c', c'', c''', then c'4, c'5, ... (see gradcalc.builder).
LABEL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:'*|'[0-9]+)\Z")
# One element of a vector or matrix, as the formula indexes it: v[2], W[0, 1].
ELEMENT_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:'*|'[0-9]+))\[ *([0-9]{1,9}) *(?:, *([0-9]{1,9}) *)?\]\Z")


def split_label(label: str) -> tuple[str, tuple[int, ...]] | None:
    """``W[0, 1]`` as ("W", (0, 1)), ``x`` as ("x", ()); None when it is neither."""
    if LABEL_RE.match(label):
        return label, ()
    m = ELEMENT_RE.match(label)
    if m is None:
        return None
    return m.group(1), tuple(int(g) for g in m.groups()[1:] if g is not None)


def index_text(index: tuple[int, ...]) -> str:
    return f"[{', '.join(map(str, index))}]" if index else ""


# ---------------------------------------------------------------------------
# Answers and the digits rule


@dataclass(frozen=True)
class Answer:
    """An answer as typed, its value, and half a unit in its last digit."""

    text: str
    value: float
    half_unit: float
    rule: str  # in words: "2 decimals", "2 significant digits", "the units digit"
    decimals: int  # digits after the point (in the mantissa when scientific)
    scientific: bool


def parse_answer(text: str, source: Source | None = None, offset: int = 0) -> Answer:
    """``"0.40"`` → an Answer judged to 2 decimals; anything but a plain number is a located error."""
    value = parse_number(
        text,
        source,
        offset,
        kind="answer",
        hint="answers are decimal or scientific numbers such as -0.20, 4 or 1.2e-3",
        overflow_hint=None,
    )
    clean = clean_number(text)
    mantissa, _, exp = clean.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    last = int(exp or 0) - decimals  # the power of ten of the last digit given
    half = float(Decimal(5).scaleb(last - 1))
    if exp:
        sig = len(mantissa.lstrip("+-").replace(".", "").lstrip("0")) or 1
        rule = f"{sig} significant digit{'s' * (sig != 1)}"
    elif decimals:
        rule = f"{decimals} decimal{'s' * (decimals != 1)}"
    else:
        rule = "the units digit"
    return Answer(clean, value, half, rule, decimals, bool(exp))


@dataclass(frozen=True)
class Tolerance:
    """How answers are judged: to their digits (the default), or by ``rtol``/``atol``."""

    rtol: float | None = None
    atol: float | None = None

    @property
    def by_digits(self) -> bool:
        return self.rtol is None and self.atol is None

    def bound(self, answer: Answer, true: float) -> tuple[float, str]:
        """The absolute tolerance for this answer, and the rule in words."""
        if self.by_digits:
            return answer.half_unit, answer.rule
        rtol, atol = self.rtol or 0.0, self.atol or 0.0
        return atol + rtol * abs(true), f"rtol {rtol:g}, atol {atol:g}"


def within(claimed: float, true: float, bound: float) -> bool:
    """|claimed − true| ≤ bound, with a hair of float slack."""
    return abs(claimed - true) <= bound * (1 + SLACK) + SLACK * max(abs(claimed), abs(true))


def rounded_like(answer: Answer, true: float) -> str:
    """The true value written with as many digits as the answer."""
    if answer.scientific:
        sig = max(1, answer.decimals + 1)
        return f"{true:.{sig - 1}e}"
    return f"{true:.{answer.decimals}f}"


# ---------------------------------------------------------------------------
# Expectations: what the student claims, and how it was judged


@dataclass(frozen=True)
class Expectation:
    """One answer to judge: the output's value, ∂out/∂variable, a node's value or its upstream gradient."""

    what: Kind
    name: str  # the variable or node label ("" for the output's value)
    answer: Answer
    source: Source | None = None  # where it was written, for errors about the name
    span: Span | None = None
    index: tuple[int, ...] = ()  # one element of a vector or matrix: (2,) for v[2], (0, 1) for W[0, 1]


@dataclass
class Mark:
    """One answer, judged."""

    expectation: Expectation
    label: str  # how the answer is called: f, ∂f/∂x0, q, ∂f/∂q
    node: int
    true: float
    tolerance: float
    rule: str
    ok: bool
    reason: str | None = None
    chain: Any = None  # the chain rule's path to the node, when diagnosed: a gradcalc.diagnose.Chain

    @property
    def what(self) -> Kind:
        return self.expectation.what

    @property
    def name(self) -> str:
        """As written: x, q, or one element, W[0, 1]."""
        return self.expectation.name + index_text(self.expectation.index)

    @property
    def answer(self) -> Answer:
        return self.expectation.answer
