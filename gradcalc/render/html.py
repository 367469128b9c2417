"""HTML: a result as one self-contained page (``--format html``), or as a fragment for a notebook.

The page needs nothing but itself: the styles are inline, the graph and the
loss curve are inline SVG, and a Content-Security-Policy forbids every
request (no fonts, scripts or images are fetched, so it opens offline and
leaks nothing).  Every piece of user text, a formula, a comment, a name, a
file name, an answer, passes through :func:`gradcalc.render.escape.html`;
the numbers and words are those of the tables (:mod:`gradcalc.render.table`,
:mod:`gradcalc.render.answers`, :mod:`gradcalc.render.words`), so each
format says the same.

The graph is drawn by Graphviz's ``dot`` where it is installed; where it is
not, the page says so and has everything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..api import GradResult
from ..errors import GradcalcError
from .escape import html
from .fit import cell_text
from .numbers import DEFAULT_DIGITS, fmt

if TYPE_CHECKING:
    from ..answerfile import FileReport
    from ..answers import Mark
    from ..descend import DescendResult
    from ..explain import Explanation
    from ..hessian import HessianResult
    from ..step import Step

# Nothing may be fetched: no script runs, styles only from the page itself, pictures only inline.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

STYLE = """
.gradcalc{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--head:#f6f8fa;--value:#1b7f2a;--grad:#c62828;
 --ok:#1a7f37;--bad:#cf222e;--note:#9a6700;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",
 "Helvetica Neue",Arial,sans-serif;color:var(--ink);line-height:1.45;font-size:15px;max-width:1180px}
.gradcalc h1{font-size:1.35em;margin:0 0 .25em;font-weight:600}
.gradcalc h2{font-size:1.05em;margin:1.6em 0 .5em;padding-bottom:.25em;border-bottom:1px solid var(--line);
 font-weight:600}
.gradcalc code,.gradcalc pre,.gradcalc td.num,.gradcalc td.code{font-family:ui-monospace,SFMono-Regular,
 "SF Mono",Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:.92em}
.gradcalc pre{background:var(--head);border:1px solid var(--line);border-radius:6px;padding:.7em .9em;
 overflow-x:auto;white-space:pre;margin:.4em 0}
.gradcalc .point{color:var(--muted);margin:.1em 0 .6em}
.gradcalc .verdict{display:inline-block;padding:.3em .9em;border-radius:2em;font-weight:600;margin:.3em 0}
.gradcalc .verdict.ok{background:#dafbe1;color:var(--ok)}
.gradcalc .verdict.bad{background:#ffebe9;color:var(--bad)}
.gradcalc table{border-collapse:collapse;margin:.4em 0 .2em}
.gradcalc th,.gradcalc td{border:1px solid var(--line);padding:.3em .65em;vertical-align:top;text-align:left}
.gradcalc th{background:var(--head);font-weight:600;font-size:.9em}
.gradcalc td.num{text-align:right;white-space:nowrap}
.gradcalc td.name{font-weight:600}
.gradcalc td.ok,.gradcalc td.bad,.gradcalc td.note{white-space:nowrap}
.gradcalc .value{color:var(--value)}
.gradcalc .grad{color:var(--grad)}
.gradcalc .ok{color:var(--ok)}
.gradcalc .bad{color:var(--bad);font-weight:600}
.gradcalc .note{color:var(--note)}
.gradcalc .muted,.gradcalc .how{color:var(--muted)}
.gradcalc ul.lines{list-style:none;padding:0;margin:.4em 0}
.gradcalc ul.lines li{margin:.15em 0}
.gradcalc figure{margin:.4em 0;padding:.6em;border:1px solid var(--line);border-radius:8px;background:#fff;
 overflow-x:auto}
.gradcalc figure svg{max-width:100%;height:auto;display:block;margin:0 auto}
.gradcalc figcaption{color:var(--muted);font-size:.88em;margin-top:.3em;text-align:center}
.gradcalc .missing{border:1px dashed var(--note);border-radius:8px;padding:.7em .9em;color:var(--note);
 background:#fff8c5}
.gradcalc details summary{cursor:pointer;color:var(--muted);margin:.4em 0}
.gradcalc footer{margin-top:2em;color:var(--muted);font-size:.85em}
"""


@dataclass(frozen=True)
class Picture:
    """An inline SVG, or why there is none (Graphviz is not installed, the graph is too large to draw)."""

    svg: str | None
    missing: str | None = None


_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.S)  # the XML declaration, the doctype and comments before <svg>


def inline_svg(svg: str) -> str:
    """An SVG document as an element inside HTML: without its XML declaration and doctype."""
    return _PROLOG.sub("", svg, count=1).strip()


def graph_picture(result: GradResult, digits: int | None = None) -> Picture:
    """The computational graph drawn by Graphviz (values and gradients on its edges), or why it is not."""
    from .dot import GRAPH_DIGITS, INSTALL_HINT, MAX_DRAWN_NODES, drawn, find_dot, run_dot, to_dot

    if find_dot() is None:
        return Picture(None, f"The graph is not drawn here: Graphviz's dot program is not installed. To see it, "
                       f"{INSTALL_HINT}.")
    nodes = len(drawn(result))
    if nodes > MAX_DRAWN_NODES:  # said before the DOT text of a large graph is written for nothing
        return Picture(None, f"The graph is not drawn here: it has {nodes:,} nodes, too many to draw (the limit is "
                       f"{MAX_DRAWN_NODES:,}).")
    try:
        svg = run_dot(to_dot(result, digits or GRAPH_DIGITS), "svg", nodes).decode("utf-8")
    except GradcalcError as err:  # too many nodes, or dot too slow: the rest of the report still stands
        return Picture(None, f"The graph is not drawn here: {err.message}.")
    return Picture(inline_svg(svg))


# ---------------------------------------------------------------------------
# Pieces


def _text(text: str) -> str:
    """User or gradcalc text in an element, its line breaks kept as <br>."""
    return "<br>".join(html(line) for line in text.split("\n"))


def pre(text: str, cls: str = "") -> str:
    """Text in a ``<pre>`` block, line by line (each line escaped, tabs kept)."""
    body = "\n".join(html(line.replace("\t", "    ")) for line in text.split("\n"))
    return f'<pre class="{cls}">{body}</pre>' if cls else f"<pre>{body}</pre>"


Cell = str | tuple[str, str]  # text, or text and a CSS class of its own


def _cell(cell: Cell, column: str) -> str:
    text, cls = cell if isinstance(cell, tuple) else (cell, column)
    return f'<td class="{cls}">{_text(text)}</td>' if cls else f"<td>{_text(text)}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], classes: Sequence[str]) -> str:
    """A table; ``classes`` has one CSS class per column (num, name, code, value, grad, or '')."""
    head = "".join(f"<th>{html(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(_cell(c, k) for c, k in zip(row, classes, strict=False)) + "</tr>"
                     for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


_SIGN_CLASS = {"✓": "ok", "≈": "note", "✗": "bad", "?": "bad"}


def signed(text: str) -> Cell:
    """A verdict coloured by its first sign: ✓ ok, ≈ a convention, ✗ or ? a failure."""
    return (text, _SIGN_CLASS.get(text[:1], ""))


def lines(items: Iterable[tuple[str, str]]) -> str:
    """A list of lines, each with a CSS class (ok, bad, note, how, or '')."""
    body = "\n".join(f'<li class="{cls}">{_text(text)}</li>' for text, cls in items)
    return f'<ul class="lines">\n{body}\n</ul>' if body else ""


def section(title: str, *parts: str) -> str:
    inside = "\n".join(p for p in parts if p)
    return f"<section>\n<h2>{html(title)}</h2>\n{inside}\n</section>" if inside else ""


def figure(picture: Picture, caption: str = "") -> str:
    if picture.svg is None:
        return f'<p class="missing">{html(picture.missing or "")}</p>'
    below = f"\n<figcaption>{html(caption)}</figcaption>" if caption else ""
    return f"<figure>\n{picture.svg}{below}\n</figure>"


def verdict(text: str, ok: bool) -> str:
    return f'<p class="verdict {"ok" if ok else "bad"}">{html(text)}</p>'


def source_heading(source_text: str, name: str, point: str) -> str:
    """The formula as the title (a program: its file's name, and its text below), and the point."""
    text = source_text.strip()
    if "\n" in text or len(text) > 160:  # a program: its file's name, and its text folded away
        lines = text.count("\n") + 1
        head = (f"<h1>{html(name)}</h1>\n<details><summary>the program ({lines} line{'s' * (lines != 1)})"
                f"</summary>\n{pre(text)}\n</details>")
    else:
        head = f"<h1><code>{html(text)}</code></h1>"
    return head + (f'\n<p class="point">at {html(point)}</p>' if point else "")


def fragment(*parts: str) -> str:
    """The pieces as one ``<div class="gradcalc">``, with its styles (a notebook shows it as it is)."""
    body = "\n".join(p for p in parts if p)
    return f'<div class="gradcalc">\n<style>{STYLE}</style>\n{body}\n</div>'


def document(title: str, body: str) -> str:
    """A whole page around a :func:`fragment`: UTF-8, the CSP that forbids every request, a title."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        '<meta name="generator" content="gradcalc">\n'
        f"<title>{html(title)}</title>\n"
        "<style>body{margin:2em auto;padding:0 1.5em;max-width:1180px;background:#fff}</style>\n"
        f"</head>\n<body>\n{body}\n"
        '<footer class="gradcalc"><p class="muted">Made by gradcalc. '
        "This page is one file: it loads nothing and runs no script.</p></footer>\n"
        "</body>\n</html>\n"
    )


def _point(inputs: dict[str, Any], digits: int) -> str:
    return ", ".join(f"{name} = {fmt(v, digits)}" for name, v in inputs.items())


# ---------------------------------------------------------------------------
# gradcalc grad


def grad_html(
    result: GradResult,
    digits: int = DEFAULT_DIGITS,
    *,
    graph: Picture | None = None,
    explanation: Explanation | None = None,
    marks: Sequence[Mark] = (),
    step: Step | None = None,
) -> str:
    """The gradient's report: the verdict, the graph, the gate table, the gradient table, the checks,
    and with them the chain rule, the judged answers and their diagnoses, a descent step."""
    from .table import AGREED, FAILED, HOW, NOTE, gate_rows, gradient_rows, note_lines
    from .words import overall

    out = result.output_label
    styles = {NOTE: "note", AGREED: "ok", FAILED: "bad", HOW: "how"}
    parts = [
        source_heading(result.tape.source.text, result.tape.source.name, _point(result.inputs, digits)),
        verdict(f"{out} = {fmt(result.value, digits)} — {overall(result)}", result.ok),
    ]
    if result.warnings:
        parts.append(lines((f"warning: {w}", "note") for w in result.warnings))
    if graph is not None:
        parts.append(section("Graph", figure(graph)))  # the picture has its legend
    gates = []
    for row in gate_rows(result, digits):
        if isinstance(row, str):
            gates.append(["…", row, "", "", "", "", ""])
        else:
            gates.append([row.node, row.gate, row.value, row.upstream, row.local, row.downstream, row.pattern])
    parts.append(section(
        f"Gates: forward values, then gradients flowing back from {out}",
        table(["node", "gate", "value", f"upstream ∂{out}/∂node", "local ∂node/∂input",
               "downstream = upstream × local", "pattern"], gates,
              ["name", "code", "num value", "num grad", "num", "num grad", ""]),
    ))
    grads: list[list[Cell]] = []
    for grow in gradient_rows(result, digits):
        if isinstance(grow, str):
            grads.append(["…", "", "", grow, "", "", "", ""])
        else:
            *cells, check = [cell_text(c) for c in grow]
            grads.append([*cells, signed(check)])
    parts.append(section(f"Gradients of {out}, checked", table(
        ["variable", "value", f"∂{out}/∂variable (backprop)", "symbolic derivative (SymPy)", "SymPy",
         "forward mode", "numeric", "check"], grads, ["name", "num", "num grad", "code", "num", "num", "num", ""])))
    parts.append(section("Checks", lines((text, styles[style]) for text, style in note_lines(result))))
    if explanation is not None:
        from .explain import explanation_text

        parts.append(section("Chain rule, path by path", pre(explanation_text(explanation, digits))))
    if marks:
        parts.append(answers_section("Your answers, judged to the digits given", marks, digits))
    if step is not None:
        parts.append(step_section(step, out, digits))
    return fragment(*parts)


def answers_parts(marks: Sequence[Mark], digits: int) -> list[str]:
    """The judged answers, for each wrong gradient the chain rule and where the answers first go wrong, a verdict."""
    from .answers import answer_texts, explanation_lines

    rows: list[list[Cell]] = []
    for m in marks:
        *cells, sign, why = answer_texts(m, digits)
        rows.append([*cells, signed(sign), why])
    diagnoses = [pre("\n".join(block)) for block in explanation_lines(list(marks), digits)]
    right = sum(m.ok for m in marks)
    wrong = ", ".join(m.label for m in marks if not m.ok)
    summary = (f"✓ all {len(marks)} answer{'s' * (len(marks) != 1)} right" if right == len(marks)
               else f"✗ {right} of {len(marks)} answers right; wrong: {wrong}")
    return [table(["answer", "yours", "true value", "judged to", "", "why"], rows, ["name", "num", "num", "", "", ""]),
            *diagnoses, verdict(summary, right == len(marks))]


def answers_section(title: str, marks: Sequence[Mark], digits: int) -> str:
    return section(title, *answers_parts(marks, digits))


def step_section(step: Step, output: str, digits: int) -> str:
    rows = [[n, fmt(step.old[n], digits), fmt(step.gradients[n], digits), fmt(step.updated[n], digits)]
            for n in step.names]
    return section(f"One step of gradient descent: v ← v − {step.lr:g} · ∂{output}/∂v",
                   table(["variable", "value", f"∂{output}/∂variable", "updated"], rows,
                         ["name", "num", "num grad", "num value"]))


# ---------------------------------------------------------------------------
# gradcalc hessian


def hessian_html(result: HessianResult, digits: int = DEFAULT_DIGITS) -> str:
    """The Hessian (or its product with a direction), its checks, its eigenvalues and what they say, each
    witness's matrix, and the gradient; in the words of the table (:mod:`gradcalc.render.hessian`)."""
    from .hessian import agreement, eigen_line, notes, output_label
    from .table import cut

    tape = result.tape
    out = output_label(result)
    names = result.variables

    def matrix(rows: Sequence[Sequence[Any]]) -> str:
        return table([f"∂²{out}/∂·∂·", *names], [[a, *(fmt(v, digits) for v in row)] for a, row in zip(names, rows,
                     strict=True)], ["name", *["num"] * len(names)])

    p = result.hvp
    if p is None:
        witnesses = [("forward mode over the gradient graph", result.forward),
                     ("central differences of the gradient", result.numeric), ("SymPy", result.symbolic)]
        details = "\n".join(f"<details><summary>{html(what)}</summary>\n{matrix(rows)}\n</details>"
                            for what, rows in witnesses if rows is not None)
        body = section("Hessian: rows by reverse mode over the gradient graph", matrix(result.hessian), details)
    else:
        numeric = p.numeric or [None] * len(p.value)
        symbolic = p.symbolic or [None] * len(p.value)
        shown, left_out = cut(list(range(len(names))))
        rows: list[list[Cell]] = [
            [f"… {left_out:,} more", "", "", "", "", ""] if k is None else
            [names[k], fmt(p.direction[k], digits), fmt(p.value[k], digits), fmt(p.reverse[k], digits),
             fmt(numeric[k], digits), fmt(symbolic[k], digits)] for k in shown]
        body = section(f"Hessian-vector product H·d, d random (seed {p.seed}), instead of the matrix: {p.why}",
                       "<p>H·d by forward mode over the gradient graph; dᵀH by reverse mode over it</p>",
                       table(["variable", "d", "H·d", "dᵀH (reverse)", "numeric", "SymPy"], rows,
                             ["name", "num", "num value", "num", "num", "num"]))
    gradient = table(["variable", f"∂{out}/∂variable"],
                     [[n, fmt(g, digits)] for n, g in zip(names, result.gradient, strict=True)], ["name", "num grad"])
    checks = [(agreement(result), "ok" if result.ok else "bad"), *((n, "note") for n in notes(result)),
              (eigen_line(result, digits), "")]
    return fragment(
        source_heading(tape.source.text, tape.source.name, _point(result.inputs, digits)),
        verdict(f"{out} = {fmt(result.value, digits)} — "
                + ("✓ every check agrees" if result.ok else "✗ DISAGREE: " + ", ".join(result.disagreeing())),
                result.ok),
        lines((f"warning: {w}", "note") for w in result.warnings),
        body,
        section("Checks", lines(checks)),
        section("Gradient", gradient),
    )


# ---------------------------------------------------------------------------
# gradcalc descend


def descend_html(result: DescendResult, digits: int = DEFAULT_DIGITS, defaulted: bool = False) -> str:
    """The run: how it was scheduled, the loss curve, the loss by epoch (or step), the parameters learned."""
    from ..descend import thin
    from .descent import ending, schedule, unit
    from .plot import loss_svg

    how, over = schedule(result, defaulted)
    history = [["start", fmt(result.initial_loss, digits)]]
    history += [[str(epoch), fmt(loss, digits)] for epoch, loss in thin(result.history)]
    params = [[name, fmt(result.start[name], digits), fmt(value, digits)] for name, value in result.params.items()]
    last, ok = ending(result, digits)
    curve = Picture(inline_svg(loss_svg(result.history or [result.initial_loss], unit=unit(result))))
    tape = result.tape
    return fragment(
        source_heading(tape.source.text, tape.source.name, ""),
        f'<p class="point">{html(how)}</p>',
        verdict(last, ok),
        lines((f"warning: {w}", "note") for w in result.warnings),
        section("Loss curve", figure(curve, f"{over.rstrip(':')}")),
        section(over.rstrip(":").capitalize(), table([unit(result), "loss"], history, ["num", "num"])),
        section("Parameters", table(["parameter", "start", "learned"], params, ["name", "num", "num value"])),
    )


# ---------------------------------------------------------------------------
# gradcalc check


def file_html(report: FileReport, digits: int = DEFAULT_DIGITS) -> str:
    """An answer file graded: each problem's answers and diagnoses, its errors where it has them, the totals."""
    from ..answerfile import Status
    from .answers import error_where, file_summary_lines

    cls = {Status.OK: "ok", Status.WRONG: "bad", Status.ERROR: "bad"}
    parts = [f"<h1>Answers in {html(report.name)}</h1>"]
    *problems, (total, status) = file_summary_lines(report)
    parts.append(verdict(total, status == Status.OK))
    parts.append(lines((text, cls[s]) for text, s in problems))
    for p in report.problems:
        title = f"Problem: {p.name}"
        if p.error is not None:
            parts.append(section(title, pre(f"{error_where(report, p)}: {p.error.render()}", "bad")))
            continue
        formula = ""
        if p.result is not None:
            source = p.result.tape.source.text.strip()
            formula = (f"<p><code>{html(source)}</code> at {html(_point(p.result.inputs, digits))}: "
                       f"{html(p.result.output_label)} = {html(fmt(p.result.value, digits))}</p>"
                       if "\n" not in source else pre(source))
        warnings = lines((f"warning: {w}", "note") for w in p.warnings)
        parts.append(section(title, formula, warnings, *answers_parts(p.marks, digits)))
    return fragment(*parts)
