"""A class's answer files graded (:mod:`gradcalc.gradebook`): tables, JSON, CSV and Gradescope's results.json.

Every string that comes from a file (problem names, file names, error messages quoting them) is
escaped for the format it lands in, here and only here: :func:`~gradcalc.render.escape.terminal`
in tables and Gradescope's plain text, :func:`~gradcalc.render.escape.json_text` over every JSON
document, :func:`~gradcalc.render.escape.csv_cell` in every CSV cell.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..answerfile import Status
from ..gradebook import Key, ProblemScore, Scored, Submission, Verdict
from ..points import worth_text
from .answers import WRONG, answer_cells, answers_doc, error_where, file_doc
from .escape import csv_cell, json_text, terminal
from .fit import Fitted
from .numbers import DEFAULT_DIGITS
from .table import PlainTable, safe_text

MISSING = Text("–", style="bold red")
STATUS_WORDS = {Status.OK: "all right", Status.WRONG: "not all right", Status.ERROR: "not graded in full"}


def _points(earned: Fraction, worth: Fraction) -> str:
    return f"{worth_text(earned)}/{worth_text(worth)}"


def _exact(points: Fraction) -> float | int:
    """Points in JSON and CSV: an integer when whole, else the nearest float (2/3 → 0.6666666666666666)."""
    return points.numerator if points.denominator == 1 else float(points)


# ---------------------------------------------------------------------------
# Tables


def submission_table(sub: Submission, digits: int = DEFAULT_DIGITS, boxed: box.Box = box.SIMPLE_HEAD) -> Table:
    """One row per asked answer: the problem, the answer, as given, the true value, ✓ ✗ or –, the points, why."""
    table = PlainTable(title=f"Answers in {sub.name}", box=boxed, title_justify="left")
    for header in ("problem", "answer"):
        table.add_column(header, style="bold")
    for header in ("yours", "true value"):
        table.add_column(header, justify="right")
    table.add_column("judged to")
    table.add_column("")
    table.add_column("points", justify="right")
    table.add_column("why")
    for p in sub.problems:
        if p.report.error is not None:
            table.add_row(p.name, "", "", "", "", Text("error", style="bold red"), _points(Fraction(0), p.worth),
                          safe_text(_error_cell(p), style="red"))
            continue
        for k, a in enumerate(p.answers):
            table.add_row(p.name if k == 0 else "", *_cells(a, digits))
    return table


def _error_cell(p: ProblemScore) -> str:
    """A problem's error in its row: where in the file and what (the problem is named in its own column)."""
    err = p.report.error
    assert err is not None
    loc = err.location()
    where = f"line {loc[0]}: " if loc is not None else f"line {p.report.line}: " if p.report.line else ""
    prefix = f"problem {p.name!r}: "
    return where + (err.message[len(prefix):] if err.message.startswith(prefix) else err.message)


def _cells(a: Scored, digits: int) -> list[RenderableType]:
    if a.mark is None:
        return [a.label, "—", "", "", MISSING, _points(Fraction(0), a.worth), "no answer"]
    *cells, why = answer_cells(a.mark, digits)
    return [*cells, _points(a.earned, a.worth), why]


def submission_line(sub: Submission) -> Text:
    """The file's verdict in one line: answers right, points, and what went wrong."""
    if sub.error is not None:
        return safe_text(f"✗ {sub.name}: not graded: {sub.error.message}", style="bold red")
    words = f"{sub.right} of {sub.total} answers right, {worth_text(sub.earned)} of {worth_text(sub.worth)} points"
    wrong = [a.label for p in sub.problems for a in p.answers if a.verdict == Verdict.WRONG]
    missing = [a.label for p in sub.problems for a in p.answers if a.verdict == Verdict.MISSING]
    errors = [p.name for p in sub.problems if p.report.error is not None]
    details = [f"wrong: {', '.join(wrong)}"] * bool(wrong) + [f"no answer: {', '.join(missing)}"] * bool(missing)
    details += [f"not graded: {', '.join(errors)}"] * bool(errors)
    ok = sub.status == Status.OK
    text = ("✓ " if ok else "✗ ") + f"{sub.name}: {words}" + (f" ({'; '.join(details)})" if details else "")
    return safe_text(text, style="bold green" if ok else "bold red")


def submission_report(sub: Submission, digits: int = DEFAULT_DIGITS, plain: bool = False) -> Group:
    """One file of the class: its answers table, its notes (answers not asked, ...), and its line."""
    boxed = box.ASCII2 if plain else box.SIMPLE_HEAD
    parts: list[RenderableType] = []
    if sub.error is None:
        parts.append(Fitted(submission_table(sub, digits, boxed)))
    for p in sub.problems:
        parts += [safe_text(f"[{p.name}] {note}", style="yellow") for note in p.report.warnings]
        sympy = p.report.result.symbolic if p.report.result is not None else None
        if sympy is not None and sympy.state in ("skipped", "partial"):
            parts.append(safe_text(f"[{p.name}] SymPy check {sympy.state}: {sympy.reason}", style="yellow"))
    parts.append(submission_line(sub))
    return Group(*parts)


def key_report(key: Key) -> Group:
    """What the key asks, said once before the students' files; and its warnings."""
    n = len(key.problems)
    head = (f"Key {key.name}: {n} problem{'s' * (n != 1)}, {key.answers} answer{'s' * (key.answers != 1)}, "
            f"{worth_text(key.worth)} points")
    return Group(safe_text(head, style="bold"), *[safe_text(f"warning: {w}", style="yellow") for w in key.warnings])


@dataclass
class Tally:
    """The class so far, one light row per file (the files' reports are not kept)."""

    rows: list[tuple[str, int, int, Fraction, Fraction, Status]] = field(default_factory=list)

    def add(self, sub: Submission) -> None:
        self.rows.append((sub.name, sub.right, sub.total, sub.earned, sub.worth, sub.status))

    def count(self, status: Status) -> int:
        return sum(row[5] == status for row in self.rows)

    @property
    def status(self) -> Status:
        statuses = {row[5] for row in self.rows}
        return Status.ERROR if Status.ERROR in statuses else Status.WRONG if Status.WRONG in statuses else Status.OK

    def totals(self) -> dict[str, Any]:
        return {
            "files": len(self.rows),
            "all_right": self.count(Status.OK),
            "wrong": self.count(Status.WRONG),
            "errors": self.count(Status.ERROR),
            "right": sum(row[1] for row in self.rows),
            "answers": sum(row[2] for row in self.rows),
            "points": _exact(sum((row[3] for row in self.rows), Fraction(0))),
            "max_points": _exact(sum((row[4] for row in self.rows), Fraction(0))),
        }


def class_summary(tally: Tally, plain: bool = False) -> Group:
    """One row per file, then the class in one line."""
    table = PlainTable(title="The class", box=box.ASCII2 if plain else box.SIMPLE_HEAD, title_justify="left")
    table.add_column("file", style="bold")
    table.add_column("right", justify="right")
    table.add_column("points", justify="right")
    table.add_column("")
    table.add_column("status")
    for name, right, total, earned, worth, status in tally.rows:
        mark = Text("✓", style="bold green") if status == Status.OK else WRONG
        table.add_row(name, f"{right}/{total}", _points(earned, worth), mark, STATUS_WORDS[status])
    n = len(tally.rows)
    words = [f"{tally.count(Status.OK)} all right", f"{tally.count(Status.WRONG)} with answers wrong or missing"]
    if tally.count(Status.ERROR):
        words.append(f"{tally.count(Status.ERROR)} not graded in full")
    ok = tally.status == Status.OK
    line = Text(("✓ " if ok else "✗ ") + f"{n} file{'s' * (n != 1)}: " + ", ".join(words),
                style="bold green" if ok else "bold red")
    return Group(Fitted(table), line)


# ---------------------------------------------------------------------------
# JSON and JSON Lines


def submission_doc(sub: Submission) -> dict[str, Any]:
    """One file as `gradcalc check FILE --json` gives it, with points, every asked answer, and a file's own error."""
    doc = file_doc(sub.report)
    doc["ok"] = sub.status == Status.OK
    doc["status"] = sub.status
    doc["right"], doc["total"] = sub.right, sub.total
    doc["errors"] = len(sub.report.errors) + (sub.error is not None)
    doc["points"], doc["max_points"] = _exact(sub.earned), _exact(sub.worth)
    doc["error"] = sub.error.to_json()["error"] if sub.error is not None else None
    for item, p in zip(doc["problems"], sub.problems, strict=True):
        item["status"] = p.status
        item["right"], item["total"] = p.right, p.total
        item["points"], item["max_points"] = _exact(p.earned), _exact(p.worth)
        item["answers"] = [_answer_doc(a) for a in p.answers]
    return doc


def _answer_doc(a: Scored) -> dict[str, Any]:
    if a.mark is not None:
        (doc,) = answers_doc([a.mark])
    else:
        doc = {"what": a.key.what, "name": a.key.text or a.label, "label": a.label, "claimed": None,
               "claimed_value": None, "true_value": None, "tolerance": None, "rule": None, "ok": False,
               "reason": "no answer", "chain": None}
    doc["status"] = a.verdict
    doc["points"], doc["max_points"] = _exact(a.earned), _exact(a.worth)
    return doc


def class_doc(files: list[dict[str, Any]], tally: Tally, key: Key | None) -> dict[str, Any]:
    """The whole class as one JSON document: each file's document, then the totals."""
    return {
        "schema": 1,
        "key": None if key is None else {"file": key.name, "problems": list(key.problems), "answers": key.answers,
                                         "max_points": _exact(key.worth), "warnings": key.warnings},
        "ok": tally.status == Status.OK,
        "files": files,
        "totals": tally.totals(),
    }


def jsonl_line(sub: Submission) -> str:
    """One line of JSON Lines: the file's document on one line (line breaks in strings are \\n, as JSON writes them)."""
    return json_text(json.dumps(submission_doc(sub), ensure_ascii=False, allow_nan=False))


# ---------------------------------------------------------------------------
# CSV: one row per file and asked answer

CSV_COLUMNS = ("file", "problem", "answer", "status", "yours", "true_value", "points", "max_points", "judged_to",
               "why")


def csv_header() -> str:
    return _csv_line(CSV_COLUMNS)


def csv_rows(sub: Submission) -> str:
    """The file's rows: one per asked answer; one for a problem, or the file, that could not be graded."""
    if sub.error is not None:
        return _csv_line((sub.name, "", "", "error", "", "", 0, _exact(sub.worth), "", sub.error.message))
    out = []
    report = sub.report
    for p in sub.problems:
        if p.report.error is not None:
            out.append(_csv_line((sub.name, p.name, "", "error", "", "", 0, _exact(p.worth), "",
                                  f"{error_where(report, p.report)}: {p.report.error.message}")))
            continue
        out += [_csv_line(_csv_answer(sub, p, a)) for a in p.answers]
    return "".join(out)


def _csv_answer(sub: Submission, p: ProblemScore, a: Scored) -> Sequence[Any]:
    m = a.mark
    if m is None:
        return (sub.name, p.name, a.label, a.verdict, "", "", 0, _exact(a.worth), "", "no answer")
    return (sub.name, p.name, a.label, a.verdict, m.answer.text, repr(m.true), _exact(a.earned), _exact(a.worth),
            f"±{m.tolerance:.3g} ({m.rule})", m.reason or "")


def _csv_line(cells: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([c if isinstance(c, int | float) else csv_cell(str(c))
                                                      for c in cells])
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# Gradescope's results.json: one submission, one test per problem

# Gradescope reads these as plain text (shown in a <pre>, nothing interpreted): a hand-in's strings
# cannot become HTML or Markdown there.  Students see which answers are right, wrong or missing, and
# the points; never the true values (they would hand those in next).
TEXT = "text"


def gradescope_doc(sub: Submission) -> dict[str, Any]:
    """Gradescope's autograder results for one submission: its score, and one test per problem."""
    tests = [_gradescope_test(k, p, sub) for k, p in enumerate(sub.problems, 1)]
    head = f"{worth_text(sub.earned)} of {worth_text(sub.worth)} points; {sub.right} of {sub.total} answers right"
    output = [head]
    if sub.error is not None:
        output += ["This file could not be graded:", sub.error.render()]
    return {
        "score": _exact(sub.earned),
        "output": terminal("\n".join(output), keep="\n"),
        "output_format": TEXT,
        "test_output_format": TEXT,
        "test_name_format": TEXT,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _gradescope_test(k: int, p: ProblemScore, sub: Submission) -> dict[str, Any]:
    lines = []
    if p.report.error is not None:
        lines.append(f"not graded: {error_where(sub.report, p.report)}: {p.report.error.message}")
        if p.report.error.hint:
            lines.append(f"hint: {p.report.error.hint}")
    for a in p.answers:
        points = f"{worth_text(a.earned)} of {worth_text(a.worth)} point{'s' * (a.worth != 1)}"
        if a.mark is None:
            lines.append(f"– {a.label}: no answer ({points})")
        elif a.mark.ok:
            lines.append(f"✓ {a.label} = {a.mark.answer.text}: right ({points})")
        else:
            lines.append(f"✗ {a.label} = {a.mark.answer.text}: not right, judged to {a.mark.rule} ({points})")
    lines += p.report.warnings
    return {
        "name": terminal(p.name),
        "number": str(k),
        "score": _exact(p.earned),
        "max_score": _exact(p.worth),
        "status": "passed" if p.status == Status.OK else "failed",
        "output": terminal("\n".join(lines), keep="\n"),
        "visibility": "visible",
    }


def gradescope_json(sub: Submission) -> str:
    return json_text(json.dumps(gradescope_doc(sub), indent=2, ensure_ascii=False, allow_nan=False))
