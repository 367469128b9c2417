"""Points: what each answer of an answer file is worth, for grading a class (`gradcalc check`).

A ``[[problem]]`` says what its answers are worth with ``points``:

* no ``points``: 1 point per answer;
* a number, ``points = 2``: the problem's points, shared evenly by its answers;
* a table shaped like the answers, ``points = { expect_value = 1, expect_grad = { x = 1, z = 2 } }``:
  under each answer key a number (the points of all the answers of that key, shared evenly) or
  one number per answer; an answer the table does not mention is worth 1.

Points are kept as exact fractions, so three answers sharing 2 points are worth 2/3 each and add
up to 2 again; they become floats only when written out.  A points number is a TOML integer or
float from 0 to :data:`gradcalc.limits.MAX_POINTS`; anything else is a located error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .answers import Expectation, Kind, index_text, split_label
from .errors import GradcalcError
from .limits import MAX_POINTS

# The error factory of an answer-file problem: (message, path of keys, hint, point at the value?) -> error.
ErrorAt = Callable[..., GradcalcError]
Path = tuple[str, ...]

DEFAULT_POINTS = Fraction(1)


@dataclass(frozen=True, order=True)
class AnswerKey:
    """Which answer: its kind and what it is about, as ``x``, ``q`` or one element ``W`` (0, 1)."""

    what: Kind
    name: str = ""
    index: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        """As written in an answer file's table: x, W[0, 1]."""
        return self.name + index_text(self.index)

    @classmethod
    def of(cls, e: Expectation) -> AnswerKey:
        return cls(e.what, e.name, e.index)


@dataclass(frozen=True)
class Points:
    """A problem's ``points``, read and checked; :meth:`share` gives each answer its worth."""

    total: Fraction | None = None  # points = 2
    kinds: Mapping[Kind, Fraction] = field(default_factory=dict)  # points = { expect_grad = 3 }
    answers: Mapping[AnswerKey, Fraction] = field(default_factory=dict)  # points = { expect_grad = { x = 1 } }
    paths: Mapping[Kind | AnswerKey, Path] = field(default_factory=dict)  # where each was written, for errors

    def share(
        self, asked: Sequence[AnswerKey], error: ErrorAt, extra: bool = False
    ) -> list[tuple[AnswerKey, Fraction]]:
        """The worth of each asked answer, then (with ``extra``) the answers only these points name.

        Without ``extra`` every answer named here must be asked (an answer file's points are about
        its own answers: anything else is a slip); a key may name answers it does not give itself.
        Points for a kind with no answers would be lost: a located error.
        """
        out: list[tuple[AnswerKey, Fraction]] = []
        if self.total is not None:
            if not asked:
                return []
            return [(a, self.total / len(asked)) for a in asked]
        named = [a for a in self.answers if a not in asked]
        if named and not extra:
            a = named[0]
            raise error(f"points name {_written(a)}, which this problem does not answer", self.paths[a],
                        f"give the answer ({_answer_key(a.what)} = {{ {a.text or 'x'} = ... }}) or drop its points")
        everything = [*asked, *named]
        for kind in self.kinds:
            if not any(a.what == kind for a in everything):
                key = _answer_key(kind)
                raise error(f"points.{key}: the problem has no {key} answers to give these points to",
                            self.paths[kind], f"add {key} answers, or drop these points")
        count = {kind: sum(a.what == kind for a in everything) for kind in self.kinds}
        for a in everything:
            if a in self.answers:
                out.append((a, self.answers[a]))
            elif a.what in self.kinds:
                out.append((a, self.kinds[a.what] / count[a.what]))
            else:
                out.append((a, DEFAULT_POINTS))
        return out


def default_share(asked: Sequence[AnswerKey]) -> list[tuple[AnswerKey, Fraction]]:
    return [(a, DEFAULT_POINTS) for a in asked]


def worth_text(points: Fraction) -> str:
    """Points for people: 2, 0.5, 0.67 (two decimals at most; JSON has them exact as floats)."""
    if points.denominator == 1:
        return str(points.numerator)
    return f"{float(points):.2f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------------------
# Reading ``points``

# The answer keys of a [[problem]] table, by kind (gradcalc.answerfile.ANSWER_KEYS says the same; it sits above).
_KEYS = {Kind.VALUE: "expect_value", Kind.GRAD: "expect_grad", Kind.NODE: "expect", Kind.UPSTREAM: "expect_upstream"}
_KINDS = {key: kind for kind, key in _KEYS.items()}


def _answer_key(kind: Kind) -> str:
    return _KEYS[kind]


def _written(a: AnswerKey) -> str:
    return _answer_key(a.what) + (f".{a.text}" if a.what != Kind.VALUE else "")


def parse_points(raw: Any, error: ErrorAt) -> Points:
    """The ``points`` of a problem, or a located error saying what is wrong with it."""
    if not isinstance(raw, dict):
        return Points(total=_number(raw, ("points",), error))
    kinds: dict[Kind, Fraction] = {}
    answers: dict[AnswerKey, Fraction] = {}
    paths: dict[Kind | AnswerKey, Path] = {}
    for key, value in raw.items():
        path = ("points", key)
        kind = _KINDS.get(key)
        if kind is None:
            from .errors import closest

            near = closest(key, list(_KINDS))
            raise error(f"points.{key}: the keys of points are the answer keys", path,
                        f"did you mean {near!r}?" if near else "points = { expect_value = 1, expect_grad = "
                        "{ x = 1, y = 2 } }: one number per answer key, or per answer")
        if kind == Kind.VALUE or not isinstance(value, dict):
            kinds[kind] = _number(value, path, error)
            paths[kind] = path
            continue
        for n, v in value.items():
            parts = split_label(n)
            if parts is None:
                raise error(f"points.{key}: {n!r} is not a name", (*path, n),
                            "one element of a vector or matrix is \"W[0, 1]\"")
            a = AnswerKey(kind, parts[0], parts[1])
            answers[a] = _number(v, (*path, n), error)
            paths[a] = (*path, n)
    return Points(None, kinds, answers, paths)


def _number(v: Any, path: Path, error: ErrorAt) -> Fraction:
    where = ".".join(path)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise error(f"{where} must be a number of points, not {_type(v)}", path,
                    "points = 2 (the problem), or points = { expect_grad = { x = 1, y = 2 } } (each answer)",
                    value=True)
    if isinstance(v, float) and not math.isfinite(v):
        raise error(f"{where} must be a finite number of points, not {v}", path, value=True)
    if v < 0:
        raise error(f"{where} is negative: points are 0 or more", path, "an answer that counts for nothing is 0",
                    value=True)
    if v > MAX_POINTS:
        raise error(f"{where} is more than the limit of {MAX_POINTS:,} points", path,
                    "points are for people: a few per answer", value=True)
    return Fraction(v)


def _type(v: Any) -> str:
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "a table"
    return "a date or time"
