"""Errors that point at the user's text.

Every error gradcalc reports about its input is a :class:`GradcalcError` with a
kind, a message, an optional source span and a hint.  ``render()`` draws the
offending line with a caret under the span, in the manner of CPython 3.11 and
Elm; ``to_json()`` gives the same facts as a dict for ``--json``.
"""

from __future__ import annotations

import operator
import unicodedata
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate, count

from .limits import SUGGEST_MAX_CANDIDATES, SUGGEST_MAX_NAME

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Source:
    """The text a formula or program came from, and a name for it."""

    text: str
    name: str = "<formula>"
    # Where each line starts, found on the first question: an answer file asks once per
    # problem, and counting the lines before each place again was quadratic in the file.
    _starts: array[int] = field(default_factory=lambda: array("q"), init=False, repr=False, compare=False)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        starts = self._line_starts()
        line = bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1

    def line_text(self, line: int) -> str:
        starts = self._line_starts()
        if not 0 < line < len(starts):
            return ""
        return self.text[starts[line - 1] : starts[line] - 1].rstrip("\r")

    def offset(self, line: int, column: int) -> int | None:
        """The character offset of a 1-based line and column, None past the last line."""
        starts = self._line_starts()
        return min(starts[line - 1] + column - 1, len(self.text)) if 0 < line < len(starts) else None

    def _line_starts(self) -> array[int]:
        """Each line's first offset, then one past the end (the start of a line after the last)."""
        if not self._starts:
            lengths = map(len, self.text.split("\n"))
            self._starts.extend(map(operator.add, accumulate(lengths, initial=0), count()))
        return self._starts


# Lines longer than this are shown as a window around the caret.
_WINDOW = 100


class GradcalcError(Exception):
    """A problem with the user's input, located in the source when possible (the command line exits 2)."""

    def __init__(
        self,
        message: str,
        *,
        kind: str = "input",
        span: Span | None = None,
        hint: str | None = None,
        source: Source | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.span = span
        self.hint = hint
        self.source = source

    def with_source(self, source: Source) -> GradcalcError:
        if self.source is None:
            self.source = source
        return self

    def location(self) -> tuple[int, int] | None:
        if self.span is None or self.source is None:
            return None
        return self.source.line_col(self.span[0])

    def render(self) -> str:
        """The error as plain text, in the user's language: message, location, the line, a caret, a hint."""
        from .i18n import tr

        error, hint = tr("error"), tr("hint")
        out = [f"{error}: {_lines(tr(self.message))}"]
        loc = self.location()
        if loc is not None and self.source is not None and self.span is not None:
            line_no, col = loc
            text = _printable(self.source.line_text(line_no))
            line_start = self.span[0] - (col - 1)
            line_end = line_start + len(text)
            width = max(1, min(self.span[1], line_end) - self.span[0])
            lead = col - 1
            if len(text) > _WINDOW:  # show a window around the caret
                cut = max(0, lead - _WINDOW // 2)
                text = ("…" if cut else "") + text[cut : cut + _WINDOW] + "…"
                lead = lead - cut + (1 if cut else 0)
                width = min(width, _WINDOW)
            # The caret counts terminal columns: wide (CJK) characters take two.
            lead, width = _columns(text[:lead]), max(1, _columns(text[lead : lead + width]))
            gutter = str(line_no)
            pad = " " * len(gutter)
            out.append(f"{pad}--> {_printable(self.source.name)}:{line_no}:{col}")
            out.append(f"{pad} |")
            out.append(f"{gutter} | {text}")
            out.append(f"{pad} | {' ' * lead}{'^' * width}")
        if self.hint:
            out.append(f"{hint}: {_lines(tr(self.hint))}")
        return "\n".join(out)

    def to_json(self) -> dict[str, object]:
        loc = self.location()
        err: dict[str, object] = {
            "message": self.message,
            "kind": self.kind,
            "span": list(self.span) if self.span is not None else None,
            "line": loc[0] if loc else None,
            "column": loc[1] if loc else None,
            "hint": self.hint,
            "source": self.source.name if self.source else None,
        }
        return {"error": err}


def _printable(text: str) -> str:
    """Text safe to show on a terminal, one character for one.

    Tabs and Unicode spaces become a space (so the caret lines up); control,
    format and other invisible characters (NUL, escape sequences, the bidi
    overrides of "Trojan Source") become '?'.
    """
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        " " if ch == "\t" or unicodedata.category(ch) == "Zs" else (ch if ch.isprintable() else "?") for ch in text
    )


def _lines(text: str) -> str:
    """A message or hint made safe line by line (click's usage messages have several)."""
    return "\n".join(_printable(line) for line in text.split("\n"))


def _columns(text: str) -> int:
    """How many terminal columns text takes: wide characters two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text
    )


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``name`` by edit distance, if near enough.

    The work is bounded whatever the input: a name longer than SUGGEST_MAX_NAME
    gets no suggestion, only candidates within 3 letters of its length are
    compared (others are too far anyway), at most SUGGEST_MAX_CANDIDATES of
    them, each in a band that stops once it cannot beat the best so far.  (A
    full table over an 8,000-letter name took 40 s; 1,000 warnings each against
    1,000 variables, 25 s.)
    """
    if len(name) > SUGGEST_MAX_NAME:
        return None
    low = name.lower()
    # Near enough: a third of the shorter word's letters changed, at least one, and something
    # in common (any one letter is one edit from any other: y is no typo of T, but of yy).
    # No candidate can be allowed more than the name's own third: farther ones are not computed.
    most = max(1, len(name) // 3)
    best: tuple[int, str] | None = None
    compared = 0
    for cand in candidates:
        if abs(len(cand) - len(name)) > 3:
            continue
        compared += 1
        if compared > SUGGEST_MAX_CANDIDATES:
            break
        d = _edit_distance(low, cand.lower(), most if best is None else best[0] - 1)
        if d <= most and (best is None or d < best[0]):
            best = (d, cand)
    if best is None:
        return None
    d, near = best
    return near if d <= max(1, min(len(name), len(near)) // 3) and d < max(len(name), len(near)) else None


def suggest(name: str, known: list[str], intro: str) -> str:
    """A hint for a name that is not known: the near miss, or ``intro`` and the known names (the first 20)."""
    near = closest(name, known)
    if near:
        return f"did you mean {near!r}?"
    shown = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
    return f"{intro} {shown}" if known else "the formula has none"


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap neighbours), if at most ``limit``.

    Past ``limit`` the answer is ``limit + 1``: only cells within ``limit`` of
    the diagonal can stay under it, and once two rows running are all past it,
    so is the end.
    """
    over = limit + 1
    if abs(len(a) - len(b)) > 3 or abs(len(a) - len(b)) > limit:
        return over
    n = len(b)
    before: list[int] = []
    prev = [min(j, over) for j in range(n + 1)]
    prev_low = prev[0]
    for i, ca in enumerate(a, 1):
        cur = [over] * (n + 1)
        cur[0] = min(i, over)
        low = cur[0]
        for j in range(max(1, i - limit), min(n, i + limit) + 1):
            cb = b[j - 1]
            best = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, before[j - 2] + 1)
            cur[j] = best = min(best, over)
            low = min(low, best)
        if low >= over and prev_low >= over:  # every alignment passes through one of these two rows
            return over
        before, prev, prev_low = prev, cur, low
    return prev[n]
