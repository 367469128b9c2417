"""Homework answers as rich tables, chain-rule explanations, and JSON pieces."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..answerfile import FileReport, ProblemReport, Status
from ..answers import Mark
from ..diagnose import Chain
from ..explain import Path
from ..i18n import msg, ntr, tr
from ..points import worth_text
from ..step import Step
from .fit import Fitted
from .numbers import DEFAULT_DIGITS, fmt, num
from .table import PlainTable, safe_text

MAX_FACTORS_SHOWN = 12  # factors per path in text; the middle of longer paths is left out
MAX_FACTORS_JSON = 64  # factors per path in JSON

RIGHT = Text("✓", style="bold green")
WRONG = Text("✗", style="bold red")


def _true_digits(mark: Mark, digits: int) -> int:
    """Enough significant digits to show the true value beyond the answer's own."""
    if mark.formula is not None:
        return digits
    mantissa = mark.answer.text.lower().partition("e")[0]
    sig = len(mantissa.lstrip("+-").replace(".", "").lstrip("0"))
    return min(17, max(digits, sig + 2))


def _judged(mark: Mark) -> str:
    return f"±{mark.tolerance:.3g} ({mark.rule})"


# A formula answer is shown to this many characters (JSON has it whole); its verdict's note and
# diagnosis wrap at these widths, so that the table stays about 130 columns wide.
MAX_ANSWER_SHOWN = 80
MAX_NOTE_WIDTH = 48
MAX_DIAGNOSIS_WIDTH = 60


def shown_answer(mark: Mark) -> str:
    """The answer as typed, a long formula cut short with an ellipsis."""
    text = mark.answer.text
    return text if len(text) <= MAX_ANSWER_SHOWN else text[: MAX_ANSWER_SHOWN - 1] + "…"


def formula_table(marks: list[Mark], boxed: box.Box = box.SIMPLE_HEAD) -> Table:
    """One row per formula answer: what, the formula as typed, ✓ or ✗, how it was judged, and why it is wrong."""
    table = PlainTable(title=tr("Your formula answers, judged as functions"), box=boxed, title_justify="left")
    table.add_column(tr("answer"), style="bold")
    table.add_column(tr("yours"))
    table.add_column("")
    table.add_column(tr("judged"), max_width=MAX_NOTE_WIDTH)
    table.add_column(tr("diagnosis"), max_width=MAX_DIAGNOSIS_WIDTH)
    for mark in marks:
        table.add_row(mark.label, safe_text(shown_answer(mark)), RIGHT if mark.ok else WRONG,
                      safe_text(mark.formula.note), safe_text(mark.reason or ""))
    return table


def answers_table(marks: list[Mark], digits: int = DEFAULT_DIGITS, boxed: box.Box = box.SIMPLE_HEAD) -> Table:
    """One row per answer: what, the answer as typed, the true value, the tolerance, ✓ or ✗, and why."""
    table = PlainTable(title=tr("Your answers, judged to the digits given"), box=boxed, title_justify="left")
    _answer_columns(table)
    for mark in marks:
        table.add_row(*answer_cells(mark, digits))
    return table


def _answer_columns(table: Table) -> None:
    table.add_column(tr("answer"), style="bold")
    table.add_column(tr("yours"), justify="right")
    table.add_column(tr("true value"), justify="right")
    table.add_column(tr("judged to"))
    table.add_column("")
    table.add_column(tr("why"))


def answer_texts(mark: Mark, digits: int) -> list[str]:
    """An answer's row as text: what, the answer as typed, the true value, the tolerance, ✓ or ✗, and why."""
    if mark.formula is not None:  # a formula: its value at the given values, if any, and how it was judged
        why = mark.formula.note + (f"; {mark.reason}" if mark.reason else "")
        return [mark.label, shown_answer(mark), fmt(mark.true, digits) if mark.formula.value is not None else "",
                "as a formula", "✓" if mark.ok else "✗", why]
    return [
        mark.label,
        mark.answer.text,
        fmt(mark.true, _true_digits(mark, digits)),
        _judged(mark),
        "✓" if mark.ok else "✗",
        tr(mark.reason) if mark.reason else ("" if mark.ok else tr("see below") if mark.chain else ""),
    ]


def answer_cells(mark: Mark, digits: int) -> list[RenderableType]:
    """:func:`answer_texts` for a rich table: the user's text never markup, the verdict coloured."""
    label, yours, true, judged, _, why = answer_texts(mark, digits)
    return [label, safe_text(yours), true, judged, RIGHT if mark.ok else WRONG, safe_text(why)]


def explanations(marks: list[Mark], digits: int = DEFAULT_DIGITS, prefix: str = "") -> list[RenderableType]:
    """For each wrong gradient: the chain rule that makes it up, and where the answers first go wrong."""
    def style(k: int, line: str) -> str:
        return "bold red" if k == 0 else "yellow" if k == 1 and line.startswith("  where: ") else ""

    return [Group(*[safe_text(line, style=style(k, line)) for k, line in enumerate(lines)])
            for lines in explanation_lines(marks, digits, prefix)]


def explanation_lines(marks: list[Mark], digits: int = DEFAULT_DIGITS, prefix: str = "") -> list[list[str]]:
    """For each wrong gradient, as lines: what was given and what is true, where it goes wrong, the chain rule."""
    out = []
    for mark in marks:
        if mark.ok or mark.chain is None:
            continue
        gave = tr(msg("{label}: you gave {answer}, the true value is {true}", label=mark.label,
                      answer=mark.answer.text, true=fmt(mark.true, _true_digits(mark, digits))))
        lines = [f"{prefix}✗ {gave}" + (f" ({tr(mark.reason)})" if mark.reason else "")]
        if mark.chain.where:
            lines.append(f"  where: {mark.chain.where}")
        lines += chain_lines(mark.chain, digits)
        out.append(lines)
    return out


def chain_lines(chain: Chain, digits: int = DEFAULT_DIGITS) -> list[str]:
    """The chain rule in text: each path's product of local gradients, and their sum."""
    out, target = chain.output, chain.target
    if chain.note:
        return ["  " + tr(msg("the chain rule: {note}", note=tr(chain.note)))]
    if chain.total_paths == 0:
        return ["  " + tr(msg("{target} does not reach {out}: the gradient is 0", target=target, out=out))]
    if chain.total_paths == 1 and chain.paths:
        path = chain.paths[0]
        if not path.factors:
            return [f"  ∂{out}/∂{out} = 1"]
        if len(path.factors) == 1:
            return ["  " + tr(msg("the chain rule has one factor here: {out}'s own local gradient "
                                  "∂{out}/∂{target} = {value}", out=out, target=target,
                                  value=fmt(path.product, digits)))]
        names, values = _factor_texts(chain, path, digits)
        lead = f"    ∂{out}/∂{target} = "
        pad = " " * (len(lead) - 2)
        along = tr(msg("the chain rule along the one path from {out} down to {target}:", out=out, target=target))
        return [f"  {along}", lead + names,
                f"{pad}= {values}", f"{pad}= {fmt(path.product, digits)}"]
    lines = ["  " + tr(msg("the chain rule: {target} reaches {out} along {paths} paths; each path multiplies its "
                           "local gradients, and the paths add up:", target=target, out=out,
                           paths=chain.paths_in_words))]
    total = 0.0
    for k, path in enumerate(chain.paths, 1):
        names, values = _factor_texts(chain, path, digits)
        total += path.product
        lines.append("    " + tr(msg("path {k}", k=k)) + f": {names} = {values} = {fmt(path.product, digits)}")
    if chain.total_paths > len(chain.paths):
        more = f"{chain.total_paths - len(chain.paths):,}" if chain.exact else tr("very many")
        lines.append("    " + tr(msg("… and {more} more paths (the gate table shows every upstream gradient)",
                                     more=more)))
    else:
        lines.append("    " + tr("sum") + f": ∂{out}/∂{target} = {fmt(total, digits)}")
    return lines


def _factor_texts(chain: Chain, path: Path, digits: int) -> tuple[str, str]:
    factors = path.factors
    names = [f"∂{chain.label(f.top)}/∂{chain.label(f.bottom)}" for f in factors]
    values = [f"({fmt(f.value, digits)})" for f in factors]
    if len(factors) > MAX_FACTORS_SHOWN:
        half = MAX_FACTORS_SHOWN // 2
        gap = f"… {len(factors) - 2 * half} more …"
        names = [*names[:half], gap, *names[-half:]]
        values = [*values[:half], gap, *values[-half:]]
    return " · ".join(names), " · ".join(values)


def step_table(step: Step, output: str, digits: int = DEFAULT_DIGITS, boxed: box.Box = box.SIMPLE_HEAD) -> Table:
    title = f"One step of gradient descent: v ← v − {step.lr:g} · ∂{output}/∂v"
    table = PlainTable(title=title, box=boxed, title_justify="left", min_width=len(title))
    table.add_column("variable", style="bold")
    table.add_column("value", justify="right")
    table.add_column(f"∂{output}/∂variable", justify="right", style="red")
    table.add_column("updated", justify="right", style="bold green")
    for name in step.names:
        table.add_row(name, fmt(step.old[name], digits), fmt(step.gradients[name], digits),
                      fmt(step.updated[name], digits))
    return table


def answers_summary(marks: list[Mark]) -> Text:
    right = sum(m.ok for m in marks)
    if right == len(marks):
        return Text(ntr("✓ all {n} answer right", "✓ all {n} answers right", len(marks)).format(n=len(marks)),
                    style="bold green")
    wrong = ", ".join(m.label for m in marks if not m.ok)
    return safe_text(tr(msg("✗ {right} of {n} answers right; wrong: {wrong}", right=right, n=len(marks),
                            wrong=wrong)), style="bold red")


def homework_report(
    marks: list[Mark], step: Step | None, output: str, digits: int = DEFAULT_DIGITS, plain: bool = False
) -> Group:
    """What `gradcalc grad` prints after its own tables: the answers, explanations, the descent step."""
    boxed = box.ASCII2 if plain else box.SIMPLE_HEAD
    parts: list[RenderableType] = []
    numbers = [m for m in marks if m.formula is None]
    formulas = [m for m in marks if m.formula is not None]
    if numbers:
        parts += [Fitted(answers_table(numbers, digits, boxed)), *explanations(numbers, digits)]
    if formulas:
        parts.append(Fitted(formula_table(formulas, boxed)))
    if marks:
        parts.append(answers_summary(marks))
    if step is not None:
        parts.append(Fitted(step_table(step, output, digits, boxed)))
    return Group(*parts)


def formula_report(marks: list[Mark], plain: bool = False) -> Group:
    """Formula answers judged without values: their table and the summary (no gate table: there are no values)."""
    boxed = box.ASCII2 if plain else box.SIMPLE_HEAD
    return Group(Fitted(formula_table(marks, boxed)), answers_summary(marks))


def brief_lines(marks: list[Mark], step: Step | None, digits: int = DEFAULT_DIGITS) -> str:
    lines = []
    for m in marks:
        verdict = "✓" if m.ok else "✗"
        if m.formula is not None:
            why = f"; {m.reason}" if m.reason else ""
            lines.append(f"{verdict} {m.label}: {shown_answer(m)}; {m.formula.note}{why}")
            continue
        why = f": {tr(m.reason)}" if m.reason else ""
        true = tr(msg("true {value}", value=fmt(m.true, _true_digits(m, digits))))
        lines.append(f"{verdict} {m.label}: {m.answer.text} ({true}){why}")
    if step is not None:
        lines += [f"{n} ← {fmt(step.updated[n], digits)}" for n in step.names]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# JSON


def answers_doc(marks: list[Mark]) -> list[dict[str, Any]]:
    return [_answer_doc(m) for m in marks]


def _answer_doc(m: Mark) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "what": m.what,
        "name": m.name or m.label,
        "label": m.label,
        "claimed": m.answer.text,
        "claimed_value": m.formula.value if m.formula is not None else m.number.value,
        "true_value": num(m.true),
        "tolerance": m.tolerance if m.formula is None else None,
        "rule": m.rule,
        "ok": m.ok,
        "reason": m.reason,
        "chain": chain_doc(m.chain),
    }
    v = m.formula
    if v is not None:  # a formula answer: the fields above, and how it was judged as a function
        ce = v.counterexample
        d = v.diagnosis
        doc.update({
            "kind": "formula",
            "answer": m.answer.text,
            "verdict": "right" if m.ok else "wrong",
            "decided_by": v.decided_by,
            "points": v.points,
            "note": v.note,
            "sympy": v.sympy,
            "counterexample": None if ce is None else {
                "at": {k: num(x) for k, x in ce.at.items()}, "yours": num(ce.yours), "true": num(ce.true)},
            "diagnosis": None if d is None else {"kind": d.kind, "text": d.text, "formula": d.formula},
        })
    return doc


def chain_doc(chain: Chain | None) -> dict[str, Any] | None:
    if chain is None:
        return None
    return {
        "output": chain.output,
        "target": chain.target,
        "total_paths": chain.total_paths,
        "paths": [_path_doc(chain, p) for p in chain.paths],
        "note": chain.note,
        "where": chain.where,
    }


def _path_doc(chain: Chain, path: Path) -> dict[str, Any]:
    factors = [{"gate": chain.label(f.top), "input": chain.label(f.bottom), "local": num(f.value)}
               for f in path.factors]
    omitted = max(0, len(factors) - MAX_FACTORS_JSON)
    if omitted:  # a path through a very deep graph: its ends, and how many factors are left out between
        factors = factors[: MAX_FACTORS_JSON // 2] + factors[-(MAX_FACTORS_JSON // 2) :]
    return {"factors": factors, "omitted": omitted, "product": num(path.product)}


def add_to_doc(doc: dict[str, Any], marks: list[Mark], step: Step | None) -> dict[str, Any]:
    """Add the answers and the descent step to a `grad` JSON document."""
    if marks:
        doc["answers"] = answers_doc(marks)
        doc["answers_right"] = sum(m.ok for m in marks)
    if step is not None:
        doc["learning_rate"] = step.lr
        doc["updated"] = {n: num(step.updated[n]) for n in step.names}
    return doc


# ---------------------------------------------------------------------------
# Answer files (`gradcalc check`)


def error_where(report: FileReport, problem: ProblemReport) -> str:
    """``file:line:col`` of a problem's error (or of the problem)."""
    err = problem.error
    loc = err.location() if err is not None else None
    if loc is not None and err is not None and err.source is not None and err.source.name == report.name:
        return f"{report.name}:{loc[0]}:{loc[1]}"
    return f"{report.name}:{problem.line}" if problem.line else report.name


def file_table(report: FileReport, digits: int = DEFAULT_DIGITS, boxed: box.Box = box.SIMPLE_HEAD) -> Table:
    table = PlainTable(title=f"Answers in {report.name}", box=boxed, title_justify="left")
    table.add_column("problem", style="bold")
    _answer_columns(table)
    for problem in report.problems:
        if problem.error is not None:
            table.add_row(problem.name, "", "", "", "", Text("error", style="bold red"),
                          safe_text(f"{error_where(report, problem)}: {problem.error.message}", style="red"))
            continue
        for k, mark in enumerate(problem.marks):
            table.add_row(problem.name if k == 0 else "", *answer_cells(mark, digits))
    return table


def file_summary_lines(report: FileReport) -> list[tuple[str, Status]]:
    """A line per problem, each with how it came out, and the file's line last."""
    lines = []
    for p in report.problems:
        if p.error is not None:
            lines.append((f"{p.name}: not graded ({error_where(report, p)}: {p.error.message})", Status.ERROR))
            continue
        wrong = [m.label for m in p.marks if not m.ok]
        text = f"{p.name}: {p.right} of {p.total} right" + (f"; wrong: {', '.join(wrong)}" if wrong else "")
        if not p.checks_ok:
            text += " (gradcalc's own checks disagree on this problem: please report it)"
        sympy = p.result.symbolic if p.result is not None else None
        if sympy is not None and sympy.state in ("skipped", "partial"):
            text += f" (SymPy check {sympy.state}: {sympy.reason})"
        if report.points_given:
            text += f" ({worth_text(p.earned)} of {worth_text(p.worth)} points)"
        lines.append((text, Status.WRONG if wrong or not p.checks_ok else Status.OK))
    n, bad = len(report.problems), len(report.errors)
    total = f"total: {report.right} of {report.total} answers right in {n - bad} problem{'s' * (n - bad != 1)}"
    if bad:
        total += f"; {bad} problem{'s' * (bad != 1)} could not be graded"
    if report.points_given:
        total += f"; {worth_text(report.earned)} of {worth_text(report.worth)} points"
    ok = report.status == Status.OK
    lines.append((("✓ " if ok else "✗ ") + total, report.status))
    return lines


def file_summary(report: FileReport) -> list[RenderableType]:
    *problems, (total, status) = file_summary_lines(report)
    style = {Status.OK: "green", Status.WRONG: "red", Status.ERROR: "bold red"}
    return [*(safe_text(text, style=style[s]) for text, s in problems),
            Text(total, style="bold green" if status == Status.OK else "bold red")]


def file_report(report: FileReport, digits: int = DEFAULT_DIGITS, plain: bool = False) -> Group:
    boxed = box.ASCII2 if plain else box.SIMPLE_HEAD
    parts: list[RenderableType] = [Fitted(file_table(report, digits, boxed))]
    for p in report.problems:
        parts += explanations(p.marks, digits, prefix=f"[{p.name}] ")
        parts += [safe_text(f"[{p.name}] warning: {w}", style="yellow") for w in p.warnings]
    parts += file_summary(report)
    return Group(*parts)


def file_doc(report: FileReport) -> dict[str, Any]:
    problems = []
    for p in report.problems:
        item: dict[str, Any] = {
            "name": p.name,
            "index": p.index,
            "line": p.line,
            "status": p.status,
            "right": p.right,
            "total": p.total,
            "answers": answers_doc(p.marks),
            "error": None,
            "warnings": p.warnings,
        }
        if p.result is not None:
            item["output"] = p.result.output_label
            item["value"] = num(p.result.value)
            item["checks_ok"] = p.result.ok
            if p.result.symbolic.state != "off":  # asked for with --sympy
                sympy = p.result.symbolic
                item["sympy"] = {"state": sympy.state, "reason": sympy.reason, "seconds": round(sympy.seconds, 3)}
        if p.error is not None:
            err: dict[str, Any] = dict(p.error.to_json()["error"])  # type: ignore[call-overload]
            item["error"] = {**err, "where": error_where(report, p)}
        if report.points_given:  # only then: a file without points reads as it always has
            item["points"], item["max_points"] = float(p.earned), float(p.worth)
        problems.append(item)
    doc: dict[str, Any] = {
        "schema": 1,
        "file": report.name,
        "ok": report.status == Status.OK,
        "right": report.right,
        "total": report.total,
        "errors": len(report.errors),
        "problems": problems,
    }
    if report.points_given:
        doc["points"], doc["max_points"] = float(report.earned), float(report.worth)
    return doc
