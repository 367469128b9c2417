"""Answers as a student writes them, judged to the digits given.

A student's answer is text such as ``0.39`` or ``-1.2e-3``.  It is judged to
the digits it was given: an answer whose last digit is worth 10^e is right when
it is within half of that (``0.39`` and ``0.4`` are right for 0.3932, ``0.40``
is not).  ``rtol``/``atol`` replace that rule when given.

An :class:`Expectation` says what an answer is about (the output's value, a
gradient, a node's value or its upstream gradient); :func:`gradcalc.judge.judge`
marks each one (a :class:`Mark`).

An answer that is not a number but a formula over the problem's variables
(``2*x*cos(x^2)``) is a :class:`FormulaAnswer`: read by gradcalc's own parser,
never evaluated as code, and judged as a function by
:mod:`gradcalc.formula_answers`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .errors import GradcalcError, Source, Span
from .limits import MAX_FORMULA_ANSWER_CHARS
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
class FormulaAnswer:
    """An answer written as a formula, parsed (by gradcalc's parser) but not yet built or judged.

    ``offset`` is where the text starts in ``source`` (errors about the formula point inside
    it); None when the source does not hold it verbatim (a TOML string with escapes): then
    errors point at ``span``, the whole answer.
    """

    text: str
    program: Any = field(repr=False, compare=False)  # a gradcalc.parser.Program of one expression
    source: Source | None = None
    offset: int | None = 0
    span: Span | None = None

    def relocate(self, err: GradcalcError) -> GradcalcError:
        """An error in the formula's own text, pointed at the same characters where the answer is written."""
        if self.source is not None:
            if self.offset is not None and err.span is not None:
                err.span = (err.span[0] + self.offset, err.span[1] + self.offset)
            else:
                err.span = self.span
            err.source = self.source
        return err


# An answer that starts like a number but is not one (1,5 or 1e): said as a number's error, not a formula's.
_NUMBERISH_RE = re.compile(r"[+-]?[0-9.][0-9.,eE+-]*\Z")


def looks_like_number(text: str) -> bool:
    """Whether an answer is meant as a number (and judged to its digits), not as a formula."""
    clean = clean_number(text)
    return not clean or bool(_NUMBERISH_RE.match(clean))


def read_answer(text: str, source: Source | None = None, offset: int = 0) -> Answer | FormulaAnswer:
    """A number (judged to its digits) or a formula (judged as a function): ``"0.39"`` or ``"2*x*cos(x^2)"``."""
    if len(text) <= MAX_FORMULA_ANSWER_CHARS and looks_like_number(text):  # (a longer one is refused as a formula)
        return parse_answer(text, source, offset)
    return parse_formula_answer(text, source, offset)


def parse_formula_answer(
    text: str, source: Source | None = None, offset: int | None = 0, span: Span | None = None
) -> FormulaAnswer:
    """A formula answer, parsed: one expression of at most MAX_FORMULA_ANSWER_CHARS characters.

    ``offset``: where ``text`` starts in ``source``; None when the source does not hold it
    verbatim, and then errors point at ``span``.
    """
    from .parser import ExprStmt, parse_program

    where = span if offset is None else (offset, offset + len(text))
    found = FormulaAnswer(text, None, source, offset, where)
    if len(text) > MAX_FORMULA_ANSWER_CHARS:
        raise found.relocate(GradcalcError(
            f"the answer is {len(text):,} characters long, more than {MAX_FORMULA_ANSWER_CHARS:,}",
            kind="limit",
            span=(0, 1),
            hint=f"a formula answer is one expression of at most {MAX_FORMULA_ANSWER_CHARS:,} characters",
        ))
    try:
        program = parse_program(text, source.name if source is not None else "<answer>")
    except GradcalcError as err:
        raise found.relocate(err) from None
    found = FormulaAnswer(text, program, source, offset, where)
    statements = program.statements
    if len(statements) != 1 or not isinstance(statements[0], ExprStmt):
        stmt = statements[1] if len(statements) > 1 else statements[0]
        raise found.relocate(GradcalcError(
            "an answer is one expression" + (", not an assignment" if len(statements) == 1 else ""),
            kind="syntax",
            span=stmt.span,
            hint="write the formula alone, such as 2*x*cos(x^2)",
            source=program.source,
        ))
    return found


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
    answer: Answer | FormulaAnswer
    source: Source | None = None  # where it was written, for errors about the name
    span: Span | None = None
    index: tuple[int, ...] = ()  # one element of a vector or matrix: (2,) for v[2], (0, 1) for W[0, 1]

    @property
    def is_formula(self) -> bool:
        return isinstance(self.answer, FormulaAnswer)


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
    formula: Any = None  # a formula answer's verdict: a gradcalc.formula_answers.FormulaVerdict

    @property
    def what(self) -> Kind:
        return self.expectation.what

    @property
    def name(self) -> str:
        """As written: x, q, or one element, W[0, 1]."""
        return self.expectation.name + index_text(self.expectation.index)

    @property
    def answer(self) -> Answer | FormulaAnswer:
        return self.expectation.answer

    @property
    def number(self) -> Answer:
        """The answer of a number's mark (judged to its digits)."""
        answer = self.expectation.answer
        assert isinstance(answer, Answer), "a formula answer has no digits"
        return answer
