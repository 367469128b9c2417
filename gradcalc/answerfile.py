"""Answer files (``gradcalc check``): TOML files of [[problem]] tables, each graded on its own.

A malformed problem becomes a report with an error, located in the file, and
the other problems are still graded; see :func:`grade_file` for the format.
tomllib gives values but not places, so a small scanner (:class:`_Locator`)
finds where each key is written, for located errors and for the digits of
floats as they were typed.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .answers import (
    Answer,
    Ask,
    Expectation,
    FormulaAnswer,
    Kind,
    Mark,
    Tolerance,
    looks_like_number,
    parse_answer,
    parse_formula_answer,
    split_label,
)
from .errors import GradcalcError, Source, Span, closest
from .judge import judge, judge_formulas_alone
from .limits import MAX_SOURCE_CHARS, MAX_TOML_DEPTH
from .points import AnswerKey, default_share, parse_points
from .shown import Shown
from .values import NUMBER_RE

if TYPE_CHECKING:
    from .api import GradResult

# The key that holds the answers of each kind: expect_value = 0.73, expect_grad = { x = 0.39 }, ...
ANSWER_KEYS = {
    Kind.VALUE: "expect_value", Kind.GRAD: "expect_grad", Kind.NODE: "expect", Kind.UPSTREAM: "expect_upstream",
}  # fmt: skip
# With --sympy, the SymPy checks of a whole file share one budget (gradcalc check's --symbolic-budget);
# each problem's gets at most what gradcalc grad gives one formula (api.DEFAULT_SYMBOLIC_BUDGET).
FILE_SYMBOLIC_BUDGET = 30.0
MIN_SYMBOLIC_SECONDS = 0.05  # less left of it than this, and a problem's check is not started
# The keys of a [[problem]] table.
KNOWN_KEYS = ("name", "formula", "program", "values", "output", "tie", *ANSWER_KEYS.values(), "rtol", "atol",
              "points")
# The keys of a [[problem]] in a student's file graded against a key (gradcalc check --key): the
# problem is the key's, so a student gives its name and answers, and nothing that would change it.
SHEET_KEYS = ("name", *ANSWER_KEYS.values())


class Status(StrEnum):
    """How a problem, or a whole file, came out."""

    OK = "ok"  # every answer right, and gradcalc's own checks agree
    WRONG = "wrong"  # an answer is wrong, or gradcalc's own checks disagree
    ERROR = "error"  # malformed, or it could not be computed: not graded


@dataclass
class Problem:
    """One [[problem]] of an answer file, checked for shape but not yet computed."""

    index: int
    name: str
    formula: str
    values: dict[str, Any]
    expectations: list[Expectation]
    tolerance: Tolerance
    output: str | None = None
    tie: str = "split"
    formula_offset: int | None = None  # where the formula's text starts in the file, when it maps 1:1
    span: Span | None = None  # the formula key, for errors without a place of their own
    # What each answer is worth (gradcalc.points): one entry per expectation, in their order; then, in a
    # key, the answers its points name without answering them.
    asked: list[tuple[AnswerKey, Fraction]] = field(default_factory=list)
    points_given: bool = False  # the problem has a points key (else 1 point per answer)


@dataclass
class ProblemReport:
    index: int
    name: str
    line: int | None
    marks: list[Mark] = field(default_factory=list)
    error: GradcalcError | None = None
    result: GradResult | None = None
    warnings: list[str] = field(default_factory=list)
    problem: Problem | None = None  # as read, when it could be

    @property
    def right(self) -> int:
        return sum(m.ok for m in self.marks)

    @property
    def worth(self) -> Fraction:
        """The points of its answers (0 if it could not be read far enough to say)."""
        return sum((p for _, p in self.problem.asked), Fraction(0)) if self.problem is not None else Fraction(0)

    @property
    def earned(self) -> Fraction:
        """The points of its right answers."""
        if self.error is not None or self.problem is None:
            return Fraction(0)
        return sum((p for (_, p), m in zip(self.problem.asked, self.marks, strict=False) if m.ok), Fraction(0))

    @property
    def total(self) -> int:
        return len(self.marks)

    @property
    def checks_ok(self) -> bool:
        return self.result is None or self.result.ok

    @property
    def status(self) -> Status:
        if self.error is not None:
            return Status.ERROR
        return Status.OK if self.right == self.total and self.checks_ok else Status.WRONG


@dataclass(repr=False)
class FileReport(Shown):
    name: str
    source: Source
    problems: list[ProblemReport]

    @property
    def right(self) -> int:
        return sum(p.right for p in self.problems)

    @property
    def total(self) -> int:
        return sum(p.total for p in self.problems)

    @property
    def errors(self) -> list[ProblemReport]:
        return [p for p in self.problems if p.error is not None]

    def summary(self) -> str:
        errors = f", {len(self.errors)} not graded" if self.errors else ""
        return (f"{self.name}: {self.right} of {self.total} answers right in {len(self.problems)} problems{errors}, "
                f"{self.status}")

    @property
    def points_given(self) -> bool:
        return any(p.problem is not None and p.problem.points_given for p in self.problems)

    @property
    def worth(self) -> Fraction:
        return sum((p.worth for p in self.problems), Fraction(0))

    @property
    def earned(self) -> Fraction:
        return sum((p.earned for p in self.problems), Fraction(0))

    @property
    def status(self) -> Status:
        """ERROR if any problem could not be graded, else WRONG if any is wrong, else OK."""
        statuses = {p.status for p in self.problems}
        if Status.ERROR in statuses:
            return Status.ERROR
        return Status.WRONG if Status.WRONG in statuses else Status.OK


def grade_file(
    text: str, name: str, *, symbolic: bool = False, ask: Ask | None = None,
    symbolic_budget: float = FILE_SYMBOLIC_BUDGET, key: bool = False,
) -> FileReport:
    """Grade every problem of an answer file.

    The file is TOML with one ``[[problem]]`` table per problem::

        [[problem]]
        name = "neuron"
        formula = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
        values = { w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3 }
        expect_value = "0.73"
        expect_grad = { w0 = "-0.20", x0 = 0.39 }

    Answers written as strings keep their digits; a string that is not a number is a
    formula, judged as a function (``expect_grad = { x = "2*x*cos(x^2)" }``).  TOML reads the float 0.20
    as 0.2, so for a bare float the digits are read back from the file's text
    where the scanner finds it (and it parses to the same float); otherwise
    the float's shortest form is judged.

    A file that is not TOML raises a located :class:`GradcalcError`; a bad
    problem becomes a report with an ``error`` and the others are still graded.
    ``ask`` is for hints, as in :func:`gradcalc.judge.judge`.

    With ``symbolic``, the SymPy checks of all the problems share ``symbolic_budget``
    seconds, each taking at most :data:`gradcalc.api.DEFAULT_SYMBOLIC_BUDGET` of what
    is left: once it is spent, the problems left are still graded, their SymPy check
    skipped with the reason.

    A ``key`` (gradcalc check --key) may leave answers out, or name them in its points only.
    """
    source = Source(text, name)
    problems = load_problems(text, name, key=key)
    if symbolic and len(problems) > 1:
        # Imported once, here, and not by each problem's child process: that took 0.3-0.5 s of each
        # problem's budget.  (SymPy's import takes as long whatever the input: it is not counted.)
        import sympy  # noqa: F401
    deadline = time.monotonic() + symbolic_budget
    reports = []
    for item in problems:
        if isinstance(item, ProblemReport):  # malformed: already an error row
            reports.append(item)
        else:
            reports.append(_grade_in_budget(item, source, symbolic, ask, deadline, symbolic_budget))
    return FileReport(name, source, reports)


def check(path: str | os.PathLike[str], *, sympy: bool = False, symbolic_budget: float = FILE_SYMBOLIC_BUDGET,
          ask: Ask | None = None) -> FileReport:
    """Grade the answer file at ``path`` (UTF-8 TOML), as ``gradcalc check`` does; see :func:`grade_file`.

    Only a regular file is read, and at most :data:`gradcalc.limits.MAX_SOURCE_CHARS`
    characters of it (a longer one is refused); ``sympy`` checks every gradient against SymPy too.
    """
    import stat

    name = os.fspath(path)
    try:
        if not stat.S_ISREG(os.stat(name).st_mode):  # before opening: a FIFO would block
            raise GradcalcError(f"{name} is not a regular file", kind="file", hint="give an answer file")
        with open(name, "rb") as stream:
            data = stream.read(4 * MAX_SOURCE_CHARS + 1)
    except OSError as exc:
        raise GradcalcError(f"cannot read {name}: {exc.strerror or exc}", kind="file", hint="check the path") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GradcalcError(f"{name} is not UTF-8 text (byte {exc.start})", kind="file",
                            hint="save the file as UTF-8") from None
    if len(text) > MAX_SOURCE_CHARS:
        raise GradcalcError(f"{name} is more than {MAX_SOURCE_CHARS:,} characters long", kind="limit",
                            hint="split the answers into smaller files")
    return grade_file(text, name, symbolic=sympy, ask=ask, symbolic_budget=symbolic_budget)


def _grade_in_budget(
    problem: Problem, source: Source, symbolic: bool, ask: Ask | None, deadline: float, budget: float
) -> ProblemReport:
    """One problem of a file, its SymPy check within what is left of the file's budget (ending at ``deadline``)."""
    from .api import DEFAULT_SYMBOLIC_BUDGET, SymbolicStatus

    left = deadline - time.monotonic()
    if not symbolic or left < MIN_SYMBOLIC_SECONDS:
        report = grade_problem(problem, source, symbolic=False, ask=ask)
        if symbolic and report.result is not None:
            report.result.symbolic = SymbolicStatus("skipped", f"the file's SymPy budget of {budget:g} s was spent")
        return report
    seconds = min(DEFAULT_SYMBOLIC_BUDGET, left)
    report = grade_problem(problem, source, symbolic=True, ask=ask, symbolic_budget=seconds)
    status = report.result.symbolic if report.result is not None else None
    cut_short = status is not None and status.state in ("skipped", "partial") and status.seconds >= seconds
    if cut_short and seconds < DEFAULT_SYMBOLIC_BUDGET:  # by the file's budget, not the problem's own
        assert status is not None
        status.reason = f"stopped at the end of the file's SymPy budget of {budget:g} s"
    return report


def grade_problem(
    problem: Problem, source: Source, *, symbolic: bool = False, ask: Ask | None = None,
    symbolic_budget: float | None = None,
) -> ProblemReport:
    from .api import DEFAULT_SYMBOLIC_BUDGET, gradient

    line = source.line_col(problem.span[0])[0] if problem.span else None
    report = ProblemReport(problem.index, problem.name, line, problem=problem)
    seconds = DEFAULT_SYMBOLIC_BUDGET if symbolic_budget is None else symbolic_budget
    started = time.monotonic()
    try:
        if any(e.is_formula for e in problem.expectations):  # formulas may be judged without values
            alone = judge_formulas_alone(problem.formula, problem.values, problem.expectations, output=problem.output,
                                         name=f"problem {problem.name!r}", tie=problem.tie,
                                         symbolic_budget=seconds if symbolic else None, ask=ask)
            if alone is not None:
                report.marks = alone
                return report
        result = gradient(
            problem.formula,
            problem.values,
            symbolic=symbolic,
            numeric=True,
            symbolic_budget=seconds,
            tie=problem.tie,
            output=problem.output,
            name=f"problem {problem.name!r}",
        )
        report.result = result
        report.warnings = list(result.warnings)
        left = max(0.0, seconds - (time.monotonic() - started)) if symbolic else None  # formula answers' SymPy
        report.marks = judge(result, problem.expectations, problem.tolerance, ask, symbolic_budget=left)
    except GradcalcError as err:
        report.error = _relocate(err, problem, source)
    return report


def _relocate(err: GradcalcError, problem: Problem, source: Source) -> GradcalcError:
    """Name the problem, and point an error about its formula at the same characters in the answer file."""
    span, where = problem.span, source
    if err.source == source:  # already placed in the answer file (an answer's name)
        span = err.span
    elif err.source is not None and err.source.text == problem.formula and err.span is not None:
        if problem.formula_offset is not None:  # the file holds the formula verbatim
            span = (problem.formula_offset + err.span[0], problem.formula_offset + err.span[1])
        else:
            span, where = err.span, err.source
    return GradcalcError(f"problem {problem.name!r}: {err.message}", kind=err.kind, span=span, hint=err.hint,
                         source=where)


def load_problems(text: str, name: str, *, key: bool = False) -> list[Problem | ProblemReport]:
    """Parse the TOML; each problem becomes a :class:`Problem`, or an error report if malformed.

    In a ``key`` a problem may give no answers (its students give them), and its points may name
    answers it does not give.
    """
    source, raw, where = _read(text, name)
    out: list[Problem | ProblemReport] = []
    for k, table in enumerate(raw):
        label = _label(table, k)
        try:
            out.append(_problem(k, label, table, where, source, key))
        except GradcalcError as err:
            out.append(_error_report(k, label, err, where, source))
    return out


def _label(table: dict[str, Any], k: int) -> str:
    return table["name"] if isinstance(table.get("name"), str) else f"#{k + 1}"


def _error_report(k: int, label: str, err: GradcalcError, where: _Locator, source: Source) -> ProblemReport:
    span = err.span if err.source is source else None
    line = source.line_col(span[0])[0] if span else (
        source.line_col(where.headers[k][0])[0] if k < len(where.headers) else None)
    return ProblemReport(k, label, line, error=err)


def _read(text: str, name: str) -> tuple[Source, list[dict[str, Any]], _Locator]:
    """The [[problem]] tables of an answer file, and where their keys are; a located error if it is none."""
    import tomllib

    source = Source(text, name)
    deep = _Locator(text, scan=False).too_deep()
    try:
        if deep is not None:
            raise RecursionError
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, source) from None
    except RecursionError:  # tomllib reads nesting by recursion: a few hundred levels end it
        raise GradcalcError(
            f"the file nests arrays or tables more than {MAX_TOML_DEPTH} deep",
            kind="limit",
            span=(deep, deep + 1) if deep is not None else None,
            hint="an answer file needs three levels at most: values = { W = [[1, 2], [3, 4]] }",
            source=source,
        ) from None
    except ValueError as exc:  # an integer past Python's digit limit
        raise _long_integer(exc, source) from None
    for key in data:
        if key != "problem":
            raise GradcalcError(
                f"unknown top-level key {key!r}",
                kind="answers",
                span=_top_key_span(text, key),
                hint="an answer file holds [[problem]] tables only" + (
                    "; did you mean [[problem]]?" if closest(key, ["problem", "problems"]) else ""),
                source=source,
            )
    raw = data.get("problem")
    if not isinstance(raw, list) or not raw or not all(isinstance(p, dict) for p in raw):
        raise GradcalcError(
            "no [[problem]] tables" if raw is None else "'problem' must be a list of [[problem]] tables",
            kind="answers",
            span=None,
            hint='start each problem with a line [[problem]], then name = "...", formula = "...", ...',
            source=source,
        )
    return source, raw, _Locator(text)


def _error_at(k: int, label: str, where: _Locator, source: Source) -> Any:
    """The factory of located errors about problem ``k``: at a key, at its value, or at the problem's header."""
    header = where.headers[k] if k < len(where.headers) else None

    def error(message: str, path: tuple[str, ...] = (), hint: str | None = None, value: bool = False) -> GradcalcError:
        loc = where.keys.get((k, path)) if path else None
        span = (loc.value if value else loc.key) if loc else header
        return GradcalcError(f"problem {label!r}: {message}", kind="answers", span=span, hint=hint, source=source)

    return error


def _problem(
    k: int, label: str, table: dict[str, Any], where: _Locator, source: Source, for_key: bool = False
) -> Problem:
    def place(*path: str) -> _Loc | None:
        return where.keys.get((k, path))

    header = where.headers[k] if k < len(where.headers) else None
    error = _error_at(k, label, where, source)

    for key in table:
        if key not in KNOWN_KEYS:
            near = closest(key, list(KNOWN_KEYS))
            raise error(f"unknown key {key!r}", (key,),
                        f"did you mean {near!r}?" if near else "the keys are " + ", ".join(KNOWN_KEYS))

    def text_of(key: str) -> str | None:
        v = table.get(key)
        if v is None:
            return None
        if not isinstance(v, str):
            raise error(f"{key} must be a string, not {_toml_type(v)}", (key,), value=True)
        return v

    text_of("name")
    formulas = [key for key in ("formula", "program") if key in table]
    if not formulas:
        raise error("no formula", hint='add formula = "..." (or program = """...""" for several lines)')
    if len(formulas) == 2:
        raise error("give formula or program, not both", ("program",))
    fkey = formulas[0]
    formula = text_of(fkey) or ""
    if not formula.strip():
        raise error(f"the {fkey} is empty", (fkey,), value=True)
    output, tie = text_of("output"), text_of("tie") or "split"
    if tie not in ("split", "first", "all"):
        raise error(f"tie must be split, first or all, not {tie!r}", ("tie",), value=True)
    tol: dict[str, float] = {}
    for key in ("rtol", "atol"):
        if key in table:
            v = _float(_fits(table[key], key, (key,), error))
            if v is None or not v >= 0 or not math.isfinite(v):
                raise error(f"{key} must be a number ≥ 0", (key,), value=True)
            tol[key] = v
    values = _values(table.get("values", {}), k, where, source, error)
    expectations = _answers(table, k, where, source, error)
    if not expectations and not for_key:
        raise error("no answers to check", hint="add expect_value, expect_grad, expect or expect_upstream")
    answered = [AnswerKey.of(e) for e in expectations]
    if "points" in table:
        asked = parse_points(table["points"], error).share(answered, error, extra=for_key)
    else:
        asked = default_share(answered)
    loc = place(fkey)
    return Problem(
        k, label, formula, values, expectations, Tolerance(tol.get("rtol"), tol.get("atol")), output, tie,
        _content_offset(source.text, loc.value, formula) if loc else None,
        loc.key if loc else header, asked, "points" in table,
    )


def _answers(table: dict[str, Any], k: int, where: _Locator, source: Source, error: Any) -> list[Expectation]:
    """The answers of a [[problem]] table, in the order of ANSWER_KEYS, each located in the file."""
    expectations = []
    for what, key in ANSWER_KEYS.items():
        if key not in table:
            continue
        if what == Kind.VALUE:
            expectations.append(_expectation(what, "", table[key], (key,), k, where, source, error))
            continue
        answers = table[key]
        if not isinstance(answers, dict):
            raise error(f"{key} must be a table such as {{ x = 0.39 }}, not {_toml_type(answers)}", (key,),
                        value=True)
        for n, v in answers.items():
            parts = split_label(n)
            if parts is None:
                raise error(f"{n!r} is not a name", (key, n), "one element of a vector or matrix is \"W[0, 1]\"")
            expectations.append(_expectation(what, n, v, (key, n), k, where, source, error, parts))
    return expectations


# ---------------------------------------------------------------------------
# A student's answers to a key's problems (gradcalc check --key)


@dataclass
class Sheet:
    """One [[problem]] of a student's file: which of the key's problems, and the answers given."""

    index: int
    name: str
    line: int | None
    answers: list[Expectation]
    span: Span | None  # the name's value, for errors about it


def load_sheet(text: str, name: str, owned: tuple[str, ...]) -> list[Sheet | ProblemReport]:
    """A student's answers: [[problem]] tables of a name and answers; each malformed one an error report.

    ``owned`` are the keys the key sets (formula, values, ...): a student's table that sets one
    would change the problem being graded, and is a located error of its own.  A file that is
    not TOML, or has no [[problem]], raises.
    """
    source, raw, where = _read(text, name)
    out: list[Sheet | ProblemReport] = []
    for k, table in enumerate(raw):
        label = _label(table, k)
        error = _error_at(k, label, where, source)
        try:
            for key in table:
                if key in owned:
                    raise error(f"{key} is the key's to set: a student's file gives only the problem's name and "
                                "the answers", (key,), "delete this line; the problem is graded as the key sets it")
                if key not in SHEET_KEYS:
                    near = closest(key, list(SHEET_KEYS))
                    raise error(f"unknown key {key!r}", (key,),
                                f"did you mean {near!r}?" if near else "the keys are " + ", ".join(SHEET_KEYS))
            if "name" not in table:
                raise error("no name", hint='name the problem as the key does: name = "..."')
            if not isinstance(table["name"], str):
                raise error(f"name must be a string, not {_toml_type(table['name'])}", ("name",), value=True)
            loc = where.keys.get((k, ("name",)))
            span = loc.value if loc else (where.headers[k] if k < len(where.headers) else None)
            line = source.line_col(span[0])[0] if span else None
            out.append(Sheet(k, label, line, _answers(table, k, where, source, error), span))
        except GradcalcError as err:
            out.append(_error_report(k, label, err, where, source))
    return out


def _values(raw: Any, k: int, where: _Locator, source: Source, error: Any) -> dict[str, Any]:
    from .values import parse_assignments

    if not isinstance(raw, dict):
        raise error(f"values must be a table such as {{ x = -2, y = 5 }}, not {_toml_type(raw)}", ("values",),
                    value=True)
    out: dict[str, Any] = {}
    for n, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, int | float | str | list):
            raise error(f"the value of {n} must be a number, not {_toml_type(v)}", ("values", n), value=True)
        _fits(v, f"values.{n}", ("values", n), error)
        text = repr(float(v)) if isinstance(v, int | float) else v if isinstance(v, str) else json.dumps(v)
        try:
            out.update(parse_assignments([f"{n}={text}"]))
        except GradcalcError as err:
            raise error(f"values.{n}: {err.message}", ("values", n), err.hint, value=True) from None
    return out


def _expectation(
    what: Kind, name: str, raw: Any, path: tuple[str, ...], k: int, where: _Locator, source: Source, error: Any,
    parts: tuple[str, tuple[int, ...]] | None = None,
) -> Expectation:
    loc = where.keys.get((k, path))
    key = ".".join(path)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise error(f"{key} must be a number (or a string such as \"0.20\"), not {_toml_type(raw)}", path,
                    value=True)
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, int):
        text = str(_fits(raw, key, path, error))
    else:
        text = _typed_float(raw, source.text[loc.value[0] : loc.value[1]] if loc else None)
    answer: Answer | FormulaAnswer
    try:
        if isinstance(raw, str) and not looks_like_number(text):  # a formula: errors point inside the string
            offset = _content_offset(source.text, loc.value, text) if loc else None
            answer = parse_formula_answer(text, source, offset, loc.value if loc else None)
        else:
            answer = parse_answer(text)
    except GradcalcError as err:
        located = error(f"{key}: {err.message}", path, err.hint, value=True)
        if err.source is source and err.span is not None:
            located.kind, located.span = err.kind, err.span
        raise located from None
    base, index = parts or (name, ())
    return Expectation(what, base, answer, source, loc.key if loc else None, index)


_FLOAT_RANGE = "64-bit floats reach about 1.8e308"


def _float(v: Any) -> float | None:
    """A TOML number as a float; None for anything else, or an integer too large for a float.

    TOML's integers are exact: 400 digits, or 0xFFFF... as long as the file, are
    integers that ``float()`` refuses with an OverflowError.
    """
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    try:
        return float(v)
    except OverflowError:
        return None


def _fits(v: Any, key: str, path: tuple[str, ...], error: Any) -> Any:
    """``v``, unless it is an integer too large for a float: then a located error."""
    if isinstance(v, int) and not isinstance(v, bool) and _float(v) is None:
        raise error(f"{key} is too large for a 64-bit float", path, _FLOAT_RANGE, value=True)
    return v


_LONG_INTEGER_RE = re.compile(r"[0-9][0-9_]{4000,}")


def _long_integer(exc: ValueError, source: Source) -> GradcalcError:
    """tomllib reads integers with int(), which refuses more than 4,300 digits (sys.get_int_max_str_digits)."""
    m = _LONG_INTEGER_RE.search(source.text)
    return GradcalcError(
        f"not valid TOML: {str(exc).split(':')[0].lower()}",
        kind="answers",
        span=(m.start(), m.end()) if m else None,
        hint=f"numbers in an answer file are 64-bit floats (at most 17 significant digits); {_FLOAT_RANGE}",
        source=source,
    )


def _typed_float(value: float, raw: str | None) -> str:
    """The float as it was typed in the file ("0.20"), when the file shows it; else its shortest form."""
    if raw is not None:
        clean = raw.strip().replace("_", "")
        if NUMBER_RE.match(clean) and float(clean) == value:
            return clean
    return repr(value)


def _content_offset(text: str, span: Span, content: str) -> int | None:
    """Where a TOML string's content starts in the file, if the file holds it verbatim (no escapes)."""
    start, end = span
    raw = text[start:end]
    for quote in ('"""', "'''"):
        if raw.startswith(quote):
            begin = start + 3
            if text.startswith("\r\n", begin):
                begin += 2
            elif text.startswith("\n", begin):
                begin += 1
            return begin if text[begin : begin + len(content)] == content else None
    if raw[:1] in ('"', "'"):
        return start + 1 if text[start + 1 : start + 1 + len(content)] == content else None
    return None


def _toml_type(v: Any) -> str:
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "a table"
    return "a date or time"


_AT_RE = re.compile(r"\(at line (\d+), column (\d+)\)")


def _toml_error(exc: Exception, source: Source) -> GradcalcError:
    message = str(exc)
    line, col = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    m = _AT_RE.search(message)
    if m:
        message = message[: m.start()].rstrip()
        line, col = line or int(m.group(1)), col or int(m.group(2))
    at = source.offset(line, col) if line is not None and col is not None else None
    span = (at, at + 1) if at is not None else None
    message = message[:1].lower() + message[1:]
    return GradcalcError(
        f"not valid TOML: {message}",
        kind="answers",
        span=span,
        hint='strings need quotes (formula = "x*y"); tables are { x = 1, y = 2 }',
        source=source,
    )


def _top_key_span(text: str, key: str) -> Span | None:
    m = re.search(rf"^[ \t]*\[*[ \t]*\"?{re.escape(key)}\b", text, re.MULTILINE)
    if not m:
        return None
    start = m.start() + len(m.group()) - len(key)
    return (start, start + len(key))


# ---------------------------------------------------------------------------
# Where things are written in a TOML file (tomllib gives values, not places)


@dataclass(frozen=True)
class _Loc:
    key: Span
    value: Span


class _Locator:
    """A small scanner over a file tomllib has already accepted: the place of each key of each [[problem]].

    It finds keys written as ``key = value``, inside inline tables, and under
    ``[problem.expect_grad]`` headers; what it cannot place is simply not
    located (messages then point at the problem, and floats keep their
    shortest form).
    """

    def __init__(self, text: str, scan: bool = True) -> None:
        self.text = text
        self.headers: list[Span] = []
        self.keys: dict[tuple[int, tuple[str, ...]], _Loc] = {}
        if scan:
            self._scan()

    def too_deep(self) -> int | None:
        """Where arrays and inline tables first nest past MAX_TOML_DEPTH (tomllib's recursion has a floor)."""
        text = self.text
        depth, pos = 0, 0
        while (m := _NESTING_RE.search(text, pos)) is not None:
            at, c = m.start(), m.group()
            if c in "\"'":
                pos = self._value_end(at)
            elif c == "#":
                pos = self._next_line(at)
            elif c in "[{":
                depth += 1
                if depth > MAX_TOML_DEPTH:
                    return at
                pos = at + 1
            else:
                depth = max(0, depth - 1)
                pos = at + 1
        return None

    def _scan(self) -> None:
        text, n = self.text, len(self.text)
        section: tuple[str, ...] | None = None
        pos = 0
        while pos < n:
            pos = self._skip(pos, "\t ")
            if pos >= n:
                break
            ch = text[pos]
            if ch in "\r\n#":
                pos = self._next_line(pos)
                continue
            if ch == "[":
                double = text.startswith("[[", pos)
                begin = pos + (2 if double else 1)
                end = self._until(begin, "]")
                parts = self._key_parts(text[begin:end])
                if double and parts == ["problem"]:
                    self.headers.append((pos, end + 2))
                    section = ()
                elif not double and parts[:1] == ["problem"] and self.headers:
                    section = tuple(parts[1:])
                else:
                    section = None
                pos = self._next_line(end)
                continue
            eq = self._until(pos, "=")
            if eq >= n:
                break
            key_text = text[pos:eq]
            start = self._skip(eq + 1, "\t ")
            end = self._value_end(start)
            if section is not None:
                key_span = (pos, pos + len(key_text.rstrip()))
                self._record(section + tuple(self._key_parts(key_text)), key_span, start, end)
            pos = self._next_line(end)

    def _record(self, path: tuple[str, ...], key: Span, start: int, end: int) -> None:
        text = self.text
        self.keys[(len(self.headers) - 1, path)] = _Loc(key, (start, end))
        if not text.startswith("{", start):
            return
        p = start + 1
        while p < end:
            p = self._skip(p, " \t\r\n,")
            if p >= end or text[p] == "}":
                return
            eq = self._until(p, "=")
            key_text = text[p:eq]
            vs = self._skip(eq + 1, " \t")
            ve = self._value_end(vs)
            self._record(path + tuple(self._key_parts(key_text)), (p, p + len(key_text.rstrip())), vs, ve)
            p = ve

    def _skip(self, pos: int, chars: str) -> int:
        while pos < len(self.text) and self.text[pos] in chars:
            pos += 1
        return pos

    def _next_line(self, pos: int) -> int:
        nl = self.text.find("\n", pos)
        return len(self.text) if nl < 0 else nl + 1

    def _until(self, pos: int, stop: str) -> int:
        """The position of ``stop`` at or after ``pos``, outside quotes."""
        text, n = self.text, len(self.text)
        while pos < n and text[pos] != stop:
            pos = self._value_end(pos) if text[pos] in "\"'" else pos + 1
        return pos

    def _value_end(self, pos: int) -> int:
        """Where the TOML value starting at ``pos`` ends (strings, arrays and inline tables, no recursion)."""
        text, n = self.text, len(self.text)
        if pos >= n:
            return n
        for quote in ('"""', "'''"):
            if text.startswith(quote, pos):
                end = text.find(quote, pos + 3)
                while quote == '"""' and end > 0 and text[end - 1] == "\\" and not _escaped_backslash(text, end - 1):
                    end = text.find(quote, end + 1)
                if end < 0:
                    return n
                while text.startswith(quote[0], end + 3):  # up to two quotes may sit before the closing three
                    end += 1
                return end + 3
        ch = text[pos]
        if ch == '"':
            i = pos + 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
            return min(i + 1, n)
        if ch == "'":
            end = text.find("'", pos + 1)
            return n if end < 0 else end + 1
        if ch in "[{":
            depth, i = 0, pos
            while i < n:
                c = text[i]
                if c in "\"'":
                    i = self._value_end(i)
                    continue
                if c == "#":
                    i = self._next_line(i)
                    continue
                if c in "[{":
                    depth += 1
                elif c in "]}":
                    depth -= 1
                    if depth == 0:
                        return i + 1
                i += 1
            return n
        i = pos
        while i < n and text[i] not in ",]}#\r\n":
            i += 1
        while i > pos and text[i - 1] in " \t":
            i -= 1
        return i

    def _key_parts(self, key: str) -> list[str]:
        parts, current, quote = [], "", ""
        for c in key.strip():
            if quote:
                if c == quote:
                    quote = ""
                else:
                    current += c
            elif c in "\"'":
                quote = c
            elif c == ".":
                parts.append(current.strip())
                current = ""
            else:
                current += c
        parts.append(current.strip())
        return parts


_NESTING_RE = re.compile(r"""[\[\]{}#"']""")


def _escaped_backslash(text: str, i: int) -> bool:
    """Whether the backslash at ``i`` is itself escaped (an even run of backslashes before it)."""
    run = 0
    while i - 1 - run >= 0 and text[i - 1 - run] == "\\":
        run += 1
    return run % 2 == 1
