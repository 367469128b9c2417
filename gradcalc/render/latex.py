"""LaTeX: the symbolic derivatives and the gradient table, as a fragment to paste into a write-up.

The derivatives are SymPy's ``latex()`` of ``diff`` of the expression built
from our own tape (:func:`gradcalc.symbolic.to_sympy`), never of user text.
They are computed in a budgeted child process, like the SymPy check, so a
formula that makes SymPy swell costs at most the budget; what did not finish
is said in the output.  The fragment needs ``amsmath`` (for ``align*``).
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from ..answers import Kind, Mark, index_text
from ..api import AGREE, DISAGREE, KINK, UNDECIDED, GradResult, VariableCheck
from ..budget import Budgeted, Emit
from ..explain import Explanation, VariableChain
from ..hessian import HessianResult
from ..step import Step
from ..tape import Tape
from .escape import latex_comment, latex_text
from .numbers import DEFAULT_DIGITS, fmt

LATEX_TEXT_LIMIT = 4_000  # characters of one derivative; longer ones are not printed
EXPLAIN_PATHS = 4  # paths written out per variable in the chain-rule block
MIN_SECONDS = 0.05  # less left of the budget than this, and the LaTeX child is not started

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
    "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
    "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
}  # fmt: skip
_TRAILING_DIGITS = re.compile(r"([A-Za-z]+)([0-9]+)\Z")


def latex_name(name: str) -> str:
    """A variable or node name in math mode: ``w0`` → ``w_{0}``, ``tax`` → ``\\mathit{tax}``."""
    name, prime, nth = name.partition("'")  # a rebound name's label: c', c'', then c'4
    mark = f"^{{({nth})}}" if nth.isdigit() else prime + nth
    base, _, sub = name.partition("_")
    if not sub:
        match = _TRAILING_DIGITS.match(name)
        if match:
            base, sub = match.group(1), match.group(2)
    text = _word(base) if base else ""
    if sub:
        text += "_{" + (sub if sub.isdigit() else _word(sub.replace("_", r"\_"))) + "}"
    return text + mark


def _word(word: str) -> str:
    if word in GREEK:
        return "\\" + word
    return word if len(word) == 1 else f"\\mathit{{{word}}}"


def number(x: Any, digits: int = DEFAULT_DIGITS) -> str:
    """A number in math mode: ``-4``, ``1.5 \\times 10^{-5}``, ``\\infty``; arrays as bmatrix."""
    if type(x).__name__ == "ndarray" and getattr(x, "ndim", 0) > 0:
        rows = [x] if x.ndim == 1 else list(x)
        body = r" \\ ".join(" & ".join(number(v, digits) for v in row) for row in rows)
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"
    if x is None:
        return r"\text{---}"
    x = float(x)
    if math.isnan(x):
        return r"\mathrm{NaN}"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    text = fmt(x, digits)
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def partial(top: str, bottom: str) -> str:
    return rf"\frac{{\partial {latex_name(top)}}}{{\partial {latex_name(bottom)}}}"


# ---------------------------------------------------------------------------
# SymPy in a child process


def start_latex(tape: Tape, seconds: float) -> Budgeted:
    """Begin SymPy's LaTeX of the output and of each derivative; ``collect()`` it later."""

    def work(emit: Emit) -> None:
        symbolic_latex(tape, emit)

    return Budgeted(work, seconds)


def symbolic_latex(tape: Tape, emit: Emit) -> None:
    import sympy as sp

    from ..symbolic import to_sympy

    expr, symbols = to_sympy(tape)
    names = {sym: latex_name(name) for name, sym in symbols.items()}

    def text(e: Any) -> dict[str, Any]:
        out = sp.latex(e, symbol_names=names)
        return {"latex": out} if len(out) <= LATEX_TEXT_LIMIT else {"too_long": len(out)}

    emit({"output": True, **text(expr)})
    for name, sym in symbols.items():
        emit({"name": name, **text(sp.diff(expr, sym))})


def collect_latex(result: GradResult, budget: float, started: float | None = None) -> dict[str, Any]:
    """SymPy's LaTeX for ``result``'s output and derivatives, within what is left of ``budget`` seconds.

    ``started`` (a ``time.monotonic()``) is when the run's SymPy budget began: the
    SymPy check and the LaTeX share one budget, so a formula that makes SymPy swell
    costs it once, not twice.  Returns ``{"output": item, "derivatives": {name: item},
    "reason": why it stopped short}``, each item holding ``latex`` or ``too_long``.
    """
    from ..symbolic import MAX_SYMBOLIC_NODES

    found: dict[str, Any] = {"derivatives": {}}
    tape = result.tape
    if tape.has_tensors or any(not isinstance(v, float) for v in result.inputs.values()):
        found["reason"] = "symbolic derivatives are written out for scalar formulas only"
        return found
    if len(tape.nodes) > MAX_SYMBOLIC_NODES:
        found["reason"] = f"the graph has {len(tape.nodes):,} nodes, more than {MAX_SYMBOLIC_NODES:,}"
        return found
    left = budget - (time.monotonic() - started) if started is not None else budget
    if left < MIN_SECONDS:
        found["reason"] = f"the SymPy check used all of the {budget:g} s budget"
        return found
    outcome = start_latex(tape, left).collect()
    for item in outcome.results:
        if item.get("output"):
            found["output"] = item
        elif "name" in item:
            found["derivatives"][item["name"]] = item
    if outcome.timed_out:
        found["reason"] = f"stopped at the end of the {budget:g} s SymPy budget"
    elif not outcome.complete:
        found["reason"] = outcome.reason or "SymPy did not finish"
    return found


# ---------------------------------------------------------------------------


def verdict(result: GradResult, v: VariableCheck) -> str:
    """The words of :func:`gradcalc.render.words.verdict`, without its signs and lists."""
    if v.status == AGREE and result.directional is not None:
        return "along $v$"
    return {AGREE: "agree", KINK: "convention", DISAGREE: "disagree", UNDECIDED: "? along $v$"}.get(
        v.status, "not finite"
    )


def latex_report(
    result: GradResult,
    digits: int = DEFAULT_DIGITS,
    symbolic: dict[str, Any] | None = None,
    explanation: Explanation | None = None,
) -> str:
    """The fragment; ``symbolic`` is what :func:`collect_latex` found (None: SymPy was turned off)."""
    point = ", ".join(f"{name} = {fmt(v, digits)}" for name, v in result.inputs.items())
    source = result.tape.source.text.strip()
    if "\n" in source or len(source) > 200:  # a program: name its file
        source = result.tape.source.name
    lines = [f"% gradcalc grad: {latex_comment(source)}" + (f" at {point}" if point else ""),
             r"% needs \usepackage{amsmath}"]  # fmt: skip
    lines.append(formulas_latex(result, digits, symbolic))
    if symbolic is not None and symbolic.get("reason"):
        lines.append(f"% no symbolic form: {latex_comment(str(symbolic['reason']))}")
    lines += ["", gradient_tabular(result, digits)]
    if explanation is not None:
        lines += ["", explanation_latex(explanation, digits)]
    return "\n".join(lines)


def formulas_latex(result: GradResult, digits: int = DEFAULT_DIGITS, symbolic: dict[str, Any] | None = None) -> str:
    """The output and each gradient as an ``align*`` block: SymPy's form where ``symbolic`` has it, and the number."""
    out = result.output_label
    rows = []
    sym = symbolic or {}
    derivatives = sym.get("derivatives", {})
    head = latex_name(out)
    if "output" in sym:
        rows.append(f"  {head} &= {_symbolic(sym['output'])} = {number(result.value, digits)}")
    else:
        rows.append(f"  {head} &= {number(result.value, digits)}")
    for v in result.variables:
        d = partial(out, v.name)
        if v.name in derivatives:
            rows.append(f"  {d} &= {_symbolic(derivatives[v.name])} = {number(v.gradient, digits)}")
        else:
            rows.append(f"  {d} &= {number(v.gradient, digits)}")
    return "\n".join([r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"])


def _symbolic(item: dict[str, Any]) -> str:
    if "latex" in item:
        return str(item["latex"])
    return rf"\text{{(SymPy's form is {item.get('too_long', 0):,} characters long)}}"


def gradient_tabular(result: GradResult, digits: int = DEFAULT_DIGITS) -> str:
    out = latex_name(result.output_label)
    lines = [
        r"\begin{tabular}{lrrrrrl}",
        r"\hline",
        rf"variable & value & $\partial {out}/\partial\,\cdot$ (backprop) & SymPy & forward mode & numeric & check \\",
        r"\hline",
    ]
    for v in result.variables:
        cells = [f"${latex_name(v.name)}$"]
        cells += [f"${number(x, digits)}$" for x in (v.value, v.gradient, v.symbolic, v.forward, v.numeric)]
        cells.append(verdict(result, v))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines)


def explanation_latex(ex: Explanation, digits: int = DEFAULT_DIGITS) -> str:
    """The chain rule, path by path, as an ``align*`` block."""
    if ex.note:
        return f"% {latex_comment(ex.note)}"
    lines = [r"\begin{align*}"]
    rows = []
    for f in ex.chains:  # collapsed runs of one-input gates, written out once
        links = list(f.links)
        parts = [partial(ex.label(link.parent), ex.label(link.child)) for link in links]
        values = [f"({number(link.local, digits)})" for link in links]
        if len(links) > 7:  # the first and last three, the middle elided
            parts = [*parts[:3], r"\cdots", *parts[-3:]]
            values = [*values[:3], r"\cdots", *values[-3:]]
        expanded = r"\,".join(parts)
        numbers = "".join(values)
        rows.append(f"  {partial(ex.label(f.top), ex.label(f.bottom))} &= {expanded} = {numbers}"
                    f" = {number(f.value, digits)}")
    rows += [_chain_row(ex, v, digits) for v in ex.variables]
    lines.append(" \\\\\n".join(rows))
    lines.append(r"\end{align*}")
    return "\n".join(lines)


def _chain_row(ex: Explanation, v: VariableChain, digits: int) -> str:
    head = f"  {partial(ex.output_label, v.name)} &= "
    if not v.paths:
        return head + "0"
    shown = v.paths[:EXPLAIN_PATHS]
    symbols = " + ".join(
        r"\,".join(partial(ex.label(f.top), ex.label(f.bottom)) for f in p.factors) or "1" for p in shown
    )
    numbers = " + ".join("".join(f"({number(f.value, digits)})" for f in p.factors) or "1" for p in shown)
    more = v.path_count - len(shown)
    if more > 0:
        symbols += rf" + \dots\ (\text{{{more:,} more paths}})"
        numbers += r" + \dots"
    if len(shown) == 1 and len(shown[0].factors) <= 1 and more <= 0:
        return head + number(v.gradient, digits)
    return f"{head}{symbols} \\\\\n  &= {numbers} = {number(v.gradient, digits)}"


# ---------------------------------------------------------------------------
# Homework answers

def answers_latex(marks: list[Mark], step: Step | None, output: str, digits: int = DEFAULT_DIGITS) -> str:
    """The judged answers as a tabular (with why a wrong one is wrong), then a descent step as an align*."""
    lines: list[str] = []
    if marks:
        lines += [r"\begin{tabular}{lrrll}", r"\hline", r"answer & yours & true value & judged to & \\", r"\hline"]
        for m in marks:
            verdict = r"right" if m.ok else r"\textbf{wrong}" + (f": {latex_text(m.reason)}" if m.reason else "")
            true = "—" if m.formula is not None and m.formula.value is None else f"${number(m.true, digits)}$"
            cells = [f"${_answer_label(m, output)}$", f"${latex_text(m.answer.text)}$", true,
                     latex_text(m.rule), verdict]  # fmt: skip
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\hline", r"\end{tabular}"]
    if step is not None:
        alpha = number(step.lr, digits)
        rows = [f"  {latex_name(n)} &\\leftarrow {latex_name(n)} - {alpha}\\,{partial(output, n)} = "
                f"{number(step.updated[n], digits)}" for n in step.names]
        lines += ([""] if lines else []) + [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
    return "\n".join(lines)


def _answer_label(m: Mark, output: str) -> str:
    e = m.expectation
    name = latex_name(e.name) + index_text(e.index) if e.name else latex_name(output)
    if m.what in (Kind.GRAD, Kind.UPSTREAM):
        return rf"\frac{{\partial {latex_name(output)}}}{{\partial {name}}}"
    return name


# ---------------------------------------------------------------------------
# `gradcalc hessian --format latex`


def element_latex(label: str) -> str:
    """A variable or an element in math mode: ``w0`` → ``w_{0}``, ``W[0, 1]`` → ``W[0, 1]``."""
    name, bracket, rest = label.partition("[")
    return latex_name(name) + (bracket + rest if bracket else "")


def _column(values: list[Any], digits: int) -> str:
    body = r" \\ ".join(number(v, digits) for v in values)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def hessian_latex(result: HessianResult, digits: int = DEFAULT_DIGITS) -> str:
    """The Hessian (or H·d), its eigenvalues and its checks: an ``align*`` and a tabular (needs amsmath)."""
    from .hessian import agreement, notes, output_label

    out = latex_name(output_label(result))
    point = ", ".join(f"{name} = {fmt(v, digits)}" for name, v in result.inputs.items())
    source = result.tape.source.text.strip()
    if "\n" in source or len(source) > 200:
        source = result.tape.source.name
    lines = [f"% gradcalc hessian: {latex_comment(source)}" + (f" at {point}" if point else ""),
             r"% needs \usepackage{amsmath}", r"\begin{align*}"]
    variables = ", ".join(element_latex(v) for v in result.variables)
    rows = [f"  {out} &= {number(result.value, digits)}"]
    p = result.hvp
    if p is None:
        body = r" \\ ".join(" & ".join(number(x, digits) for x in row) for row in result.hessian)
        rows.append(rf"  \nabla^2 {out}({variables}) &= \begin{{bmatrix}} {body} \end{{bmatrix}}")
        eig = r",\ ".join(number(e, digits) for e in result.eigenvalues) or r"\text{---}"
        rows.append(rf"  \lambda &= {eig} && \text{{{latex_text(result.definiteness)}: {latex_text(result.meaning)}}}")
    else:
        rows.append(rf"  d &= {_column(p.direction, digits)} && \text{{random, seed {p.seed}}}")
        why = latex_text("instead of the matrix: " + p.why).replace("--", "-{}-")  # --hvp, not an en dash
        rows.append(rf"  \nabla^2 {out}({variables})\,d &= {_column(p.value, digits)} && \text{{{why}}}")
    lines.append(" \\\\\n".join(rows))
    lines += [r"\end{align*}", "", r"\begin{tabular}{llr}", r"\hline", r"witness & agrees & largest difference \\",
              r"\hline"]
    along = r" along $d$" if p is not None else ""
    names = {"forward": "forward mode", "reverse": r"reverse-over-reverse $d^{\top} H$",
             "numeric": "central differences of the gradient" + along, "sympy": "SymPy", "symmetry": "symmetry"}
    for w in result.witnesses():
        agrees = "yes" if w.agrees else f"no: {latex_text(w.note)}" if w.note else r"\textbf{no}"
        lines.append(f"{names.get(w.key, latex_text(w.name))} & {agrees} & ${number(w.largest, 3)}$ \\\\")
    lines += [r"\hline", r"\end{tabular}"]
    lines += [f"% {latex_comment(line)}" for line in [*notes(result), agreement(result)]]
    return "\n".join(lines)
