"""Grading a class: many answer files, each on its own or against one shared key, with points.

Two ways to grade a class with `gradcalc check`:

* every file is a whole answer file (:func:`gradcalc.answerfile.grade_file`), its own problems and
  answers;
* with a key (:func:`load_key`), the key holds the problems (formula or program, values, output,
  tie, tolerances, points) and says which answers are asked; each student's file holds only
  [[problem]] tables of a name and answers (:func:`gradcalc.answerfile.load_sheet`).  A student
  cannot change a problem: a key field in a student's table is a located error for that problem,
  and a problem the key does not have is one too.  Each of the key's problems is computed once,
  and every student's answers are judged against that one result; an asked answer left out is
  worth 0, "no answer".

Each file becomes a :class:`Submission`: its problems, each asked answer with its worth
(:mod:`gradcalc.points`) and verdict.  A file that cannot be read or is not an answer file is a
submission with an ``error``; the others are graded all the same.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path

from .answerfile import (
    FILE_SYMBOLIC_BUDGET,
    KNOWN_KEYS,
    SHEET_KEYS,
    FileReport,
    ProblemReport,
    Sheet,
    Status,
    grade_file,
    load_sheet,
)
from .answers import Ask, Expectation, Kind, Mark, parse_answer
from .errors import GradcalcError, Source, suggest
from .judge import judge
from .limits import MAX_CHECK_ENTRIES, MAX_CHECK_FILES
from .points import AnswerKey

# The keys of a key's [[problem]] that only the key may set.
KEY_OWNED = tuple(k for k in KNOWN_KEYS if k not in SHEET_KEYS)
# Notes about one problem of a student's file (answers the key does not ask, ...): the first ones, then a count.
MAX_NOTES = 20


class Verdict(StrEnum):
    RIGHT = "right"
    WRONG = "wrong"
    MISSING = "no answer"


@dataclass
class Scored:
    """One asked answer: what it is worth, and the student's answer judged (``mark`` None: no answer)."""

    key: AnswerKey
    label: str  # f, ∂f/∂x, q, ∂f/∂q[1]
    worth: Fraction
    mark: Mark | None = None

    @property
    def verdict(self) -> Verdict:
        if self.mark is None:
            return Verdict.MISSING
        return Verdict.RIGHT if self.mark.ok else Verdict.WRONG

    @property
    def earned(self) -> Fraction:
        return self.worth if self.verdict == Verdict.RIGHT else Fraction(0)


@dataclass
class ProblemScore:
    """One problem of a submission: its report (name, line, error, result), and each asked answer scored."""

    report: ProblemReport
    answers: list[Scored]  # empty when the problem could not be graded
    worth: Fraction  # what it is worth (0 when a problem cannot be read far enough to say)
    ungraded: int = 0  # how many answers it asks, when it could not be graded (else they are in answers)

    @property
    def name(self) -> str:
        return self.report.name

    @property
    def earned(self) -> Fraction:
        return sum((a.earned for a in self.answers), Fraction(0))

    @property
    def right(self) -> int:
        return sum(a.verdict == Verdict.RIGHT for a in self.answers)

    @property
    def total(self) -> int:
        return len(self.answers) + self.ungraded

    @property
    def status(self) -> Status:
        if self.report.error is not None:
            return Status.ERROR
        ok = self.right == self.total and self.report.checks_ok
        return Status.OK if ok else Status.WRONG


@dataclass
class Submission:
    """One answer file of the class, graded."""

    name: str
    problems: list[ProblemScore] = field(default_factory=list)
    error: GradcalcError | None = None  # the file could not be read, or is no answer file: nothing graded
    source: Source | None = None
    unread_worth: Fraction = Fraction(0)  # with a key, what a file that could not be read was worth
    unread_answers: int = 0  # and how many answers it was asked

    @property
    def worth(self) -> Fraction:
        return sum((p.worth for p in self.problems), self.unread_worth)

    @property
    def earned(self) -> Fraction:
        return sum((p.earned for p in self.problems), Fraction(0))

    @property
    def right(self) -> int:
        return sum(p.right for p in self.problems)

    @property
    def total(self) -> int:
        return sum((p.total for p in self.problems), self.unread_answers)

    @property
    def status(self) -> Status:
        """ERROR if the file or any problem could not be graded, else WRONG if any answer is not right, else OK."""
        statuses = {p.status for p in self.problems}
        if self.error is not None or Status.ERROR in statuses:
            return Status.ERROR
        return Status.WRONG if Status.WRONG in statuses else Status.OK

    @property
    def report(self) -> FileReport:
        """As gradcalc.answerfile reports one file (its problems' reports)."""
        return FileReport(self.name, self.source or Source("", self.name), [p.report for p in self.problems])


# ---------------------------------------------------------------------------
# The key


@dataclass
class KeyProblem:
    """One problem of the key: computed once, with a label for each asked answer."""

    report: ProblemReport  # its result, and the teacher's own answers judged
    labels: dict[AnswerKey, str]

    @property
    def name(self) -> str:
        return self.report.name

    @property
    def asked(self) -> list[tuple[AnswerKey, Fraction]]:
        assert self.report.problem is not None
        return self.report.problem.asked

    @property
    def worth(self) -> Fraction:
        return sum((p for _, p in self.asked), Fraction(0))


@dataclass
class Key:
    """The problems every student's file is graded against."""

    name: str
    problems: dict[str, KeyProblem]  # by name, in the key's order
    errors: list[GradcalcError] = field(default_factory=list)  # a key with errors grades nothing
    warnings: list[str] = field(default_factory=list)  # the teacher's answers that are not right, ...

    @property
    def worth(self) -> Fraction:
        return sum((p.worth for p in self.problems.values()), Fraction(0))

    @property
    def answers(self) -> int:
        return sum(len(p.asked) for p in self.problems.values())


def load_key(
    text: str, name: str, *, symbolic: bool = False, ask: Ask | None = None,
    symbolic_budget: float = FILE_SYMBOLIC_BUDGET,
) -> Key:
    """Read and compute the key: every problem once (its SymPy check, with ``symbolic``, within one budget).

    A key that is not TOML raises; its malformed problems are in ``errors`` (nothing should be
    graded against it then).  The teacher's answers, when the key gives them, are judged too:
    one that is not right is a warning (students are judged against the computed value, never
    against the teacher's answer).
    """
    report = grade_file(text, name, symbolic=symbolic, ask=ask, symbolic_budget=symbolic_budget, key=True)
    key = Key(name, {})
    for p in report.problems:
        if p.error is not None:
            key.errors.append(p.error)
            continue
        problem, result = p.problem, p.result
        assert problem is not None and result is not None
        if p.name in key.problems:
            key.errors.append(GradcalcError(f"problem {p.name!r} is in the key twice", kind="answers",
                                            span=problem.span, hint="give each problem its own name",
                                            source=report.source))
            continue
        if not problem.asked:
            key.errors.append(GradcalcError(
                f"problem {p.name!r}: the key asks no answers", kind="answers", span=problem.span,
                hint="give the answers (expect_grad = { x = \"-4\" }), or name each in points "
                "(points = { expect_grad = { x = 1 } })", source=report.source))
            continue
        labels = {AnswerKey.of(m.expectation): m.label for m in p.marks}
        unanswered = [a for a, _ in problem.asked if a not in labels]
        try:
            for a, m in zip(unanswered, judge(result, [_placeholder(a, report.source, problem.span)
                                                       for a in unanswered]), strict=True):
                labels[a] = m.label
        except GradcalcError as err:
            key.errors.append(GradcalcError(f"problem {p.name!r}: points name an answer that cannot be given: "
                                            f"{err.message}", kind="answers", span=err.span, hint=err.hint,
                                            source=err.source))
            continue
        for m in p.marks:
            if not m.ok:
                key.warnings.append(f"problem {p.name!r}: the key's answer {m.label} = {m.answer.text} is not right "
                                    "(students are judged against the computed value)")
        if not result.ok:
            key.warnings.append(f"problem {p.name!r}: gradcalc's own checks disagree on this problem: please "
                                "report it")
        key.warnings += [f"problem {p.name!r}: {w}" for w in p.warnings]
        key.problems[p.name] = KeyProblem(p, labels)
    return key


def _placeholder(a: AnswerKey, source: Source, span: tuple[int, int] | None) -> Expectation:
    """An answer of 0 to an answer only the key's points name: judging it finds its node and label."""
    return Expectation(a.what, a.name, parse_answer("0"), source, span, a.index)


# ---------------------------------------------------------------------------
# Grading


def grade_class(
    files: Iterable[tuple[str, Callable[[], str]]], key: Key | None = None, *, symbolic: bool = False,
    ask: Ask | None = None, symbolic_budget: float = FILE_SYMBOLIC_BUDGET,
) -> Iterator[Submission]:
    """Each file, as (its name, a function that reads it), graded in turn; one at a time, so memory stays flat.

    A reader raises :class:`GradcalcError` for a file it cannot read: that file is a submission
    with the error.  Without a key, each file's SymPy checks (with ``symbolic``) have their own
    budget, as `gradcalc check FILE` gives one; SymPy is imported once, here, not in each check.
    """
    if symbolic and key is None:
        import sympy  # noqa: F401

    for name, read in files:
        try:
            text = read()
        except GradcalcError as err:
            yield unread(name, err, key)
            continue
        if key is None:
            yield grade_own(text, name, symbolic=symbolic, ask=ask, symbolic_budget=symbolic_budget)
        else:
            yield grade_sheet(text, name, key, ask=ask)


def unread(name: str, err: GradcalcError, key: Key | None) -> Submission:
    if key is None:
        return Submission(name, error=err)
    return Submission(name, error=err, unread_worth=key.worth, unread_answers=key.answers)


def grade_own(
    text: str, name: str, *, symbolic: bool = False, ask: Ask | None = None,
    symbolic_budget: float = FILE_SYMBOLIC_BUDGET,
) -> Submission:
    """A whole answer file, its own problems and answers, scored by its own points."""
    try:
        report = grade_file(text, name, symbolic=symbolic, ask=ask, symbolic_budget=symbolic_budget)
    except GradcalcError as err:
        return Submission(name, error=err)
    scored = []
    for p in report.problems:
        answers = []
        if p.error is None and p.problem is not None:
            answers = [Scored(a, m.label, worth, m) for (a, worth), m in zip(p.problem.asked, p.marks, strict=True)]
        asked = len(p.problem.asked) if p.problem is not None else 0
        scored.append(ProblemScore(p, answers, p.worth, 0 if answers else asked))
    return Submission(name, scored, source=report.source)


def grade_sheet(text: str, name: str, key: Key, *, ask: Ask | None = None) -> Submission:
    """A student's answers to the key's problems: every problem of the key, in its order, then any errors."""
    try:
        sheets = load_sheet(text, name, KEY_OWNED)
    except GradcalcError as err:
        return unread(name, err, key)
    source = Source(text, name)
    mine: dict[str, Sheet] = {}
    failed: dict[str, ProblemReport] = {}  # the key's problems whose table in this file is malformed
    extra: list[ProblemScore] = []  # tables naming no problem of the key, or one named twice
    for item in sheets:
        if isinstance(item, ProblemReport):
            if item.name in key.problems and item.name not in failed and item.name not in mine:
                failed[item.name] = item
            else:
                extra.append(ProblemScore(item, [], Fraction(0)))
            continue
        if item.name not in key.problems:
            wrong = GradcalcError(f"problem {item.name!r}: the key has no problem of this name", kind="answers",
                                span=item.span, hint=suggest(item.name, list(key.problems), "the key's problems are"),
                                source=source)
        elif item.name in mine or item.name in failed:
            wrong = GradcalcError(f"problem {item.name!r} is answered twice in this file", kind="answers",
                                span=item.span, hint="give each problem's answers once", source=source)
        else:
            mine[item.name] = item
            continue
        extra.append(ProblemScore(ProblemReport(item.index, item.name, item.line, error=wrong), [], Fraction(0)))
    problems = []
    for kp in key.problems.values():
        if kp.name in failed:
            failed[kp.name].index = kp.report.index  # every problem of the key is where the key has it
            problems.append(ProblemScore(failed[kp.name], [], kp.worth, len(kp.asked)))
        else:
            problems.append(_grade_against(kp, mine.get(kp.name), ask))
    return Submission(name, problems + extra, source=source)


def _grade_against(kp: KeyProblem, sheet: Sheet | None, ask: Ask | None) -> ProblemScore:
    """A student's answers to one of the key's problems, judged against the key's one result."""
    given: dict[AnswerKey, Expectation] = {}
    notes: list[str] = []
    asked = ", ".join(_written(b) for b, _ in kp.asked)
    for e in sheet.answers if sheet is not None else []:
        a = AnswerKey.of(e)
        if a not in kp.labels:
            notes.append(f"{_at(e)}{_written(a)} is not asked in this problem and is not graded (asked: {asked})")
        elif a in given:
            notes.append(f"{_at(e)}{_written(a)} is answered twice: the first answer is graded")
        else:
            given[a] = e
    if len(notes) > MAX_NOTES:
        notes[MAX_NOTES:] = [f"… and {len(notes) - MAX_NOTES:,} more answers not graded"]
    result = kp.report.result
    assert result is not None and kp.report.problem is not None
    report = ProblemReport(kp.report.index, kp.name, sheet.line if sheet is not None else None, result=result,
                           warnings=notes)
    try:
        report.marks = judge(result, list(given.values()), kp.report.problem.tolerance, ask)
    except GradcalcError as err:  # the key's answers were judged: this should not happen
        report.error = err
        return ProblemScore(report, [], kp.worth, len(kp.asked))
    by_key = dict(zip(given, report.marks, strict=True))
    answers = [Scored(a, kp.labels[a], worth, by_key.get(a)) for a, worth in kp.asked]
    return ProblemScore(report, answers, kp.worth)


def _written(a: AnswerKey) -> str:
    """An answer as its key in an answer file: expect_value, expect_grad.x, expect_upstream.q[1]."""
    from .answerfile import ANSWER_KEYS

    return ANSWER_KEYS[a.what] + (f".{a.text}" if a.what != Kind.VALUE else "")


def _at(e: Expectation) -> str:
    if e.source is None or e.span is None:
        return ""
    line, col = e.source.line_col(e.span[0])
    return f"line {line}, column {col}: "


# ---------------------------------------------------------------------------
# Which files


@dataclass(frozen=True)
class Found:
    """A file to grade, or why a path given or found cannot be graded."""

    path: Path
    error: GradcalcError | None = None


def answer_files(paths: Sequence[Path]) -> list[Found]:
    """The files to grade: each path given, in order; for a directory, its ``*.toml`` files.

    A directory is walked without recursion (an explicit stack), its entries sorted by name (code
    points, so uppercase first), files before the directories beside them, every level down; hidden
    entries (a name starting with '.') are left out.  A symbolic link is never followed: a file
    that is one is reported as an error (a hand-in could point it at any file of the grader), a
    directory that is one too.  Past :data:`MAX_CHECK_FILES` files or :data:`MAX_CHECK_ENTRIES`
    entries looked at, a ``limit`` error.  A path given twice is graded once.
    """
    found: list[Found] = []
    seen: set[str] = set()
    looked = 0

    def add(item: Found) -> None:
        key = os.path.normpath(item.path)
        if key in seen:
            return
        seen.add(key)
        found.append(item)
        if len(found) > MAX_CHECK_FILES:
            raise GradcalcError(f"more than {MAX_CHECK_FILES:,} answer files to grade, the limit",
                                kind="limit", hint="grade the class in parts, a directory at a time")

    for given in paths:
        mode = _lstat(given)
        if mode is None or not stat.S_ISDIR(mode):
            add(Found(given, _link_error(given) if mode is not None and stat.S_ISLNK(mode) else None))
            continue
        before = len(found)
        pending = [given]
        while pending:
            directory = pending.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                add(Found(directory, GradcalcError(f"cannot read the directory {directory}: {exc.strerror or exc}",
                                                   kind="file", hint="check the path and its permissions")))
                continue
            looked += len(entries)
            if looked > MAX_CHECK_ENTRIES:
                raise GradcalcError(f"the directories hold more than {MAX_CHECK_ENTRIES:,} entries, the limit of "
                                    "what is looked at", kind="limit", hint="give the directory of the hand-ins only")
            subdirectories = []
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                path = directory / entry.name
                if entry.is_symlink():
                    if entry.name.endswith(".toml") or entry.is_dir():
                        add(Found(path, _link_error(path)))
                elif entry.is_dir(follow_symlinks=False):
                    subdirectories.append(path)
                elif entry.name.endswith(".toml"):
                    add(Found(path))
            pending.extend(reversed(subdirectories))  # the stack pops them in sorted order
        if len(found) == before:
            raise GradcalcError(f"{given} holds no *.toml answer files", kind="file",
                                hint="give the directory of the hand-ins, or the files themselves")
    return found


def _lstat(path: Path) -> int | None:
    try:
        return path.lstat().st_mode
    except OSError:
        return None  # reading it says why


def _link_error(path: Path) -> GradcalcError:
    return GradcalcError(f"{path} is a symbolic link: not read", kind="file",
                         hint="a hand-in is graded from its own files: copy the file in place of the link")
