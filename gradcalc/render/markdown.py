"""Markdown: the gate table and the gradient table (and the Hessian) as GitHub tables, for notes and issues."""

from __future__ import annotations

from ..answers import Mark
from ..api import GradResult
from ..explain import Explanation
from ..hessian import HessianResult
from ..step import Step
from ..tape import CONST, GATE
from .escape import markdown_code, markdown_fence, markdown_text
from .numbers import DEFAULT_DIGITS, fmt
from .patterns import fanout, pattern
from .words import kink_notes, overall, verdict


def cell(text: str) -> str:
    """Text safe inside a table cell: Markdown and HTML escaped, pipes escaped, line breaks as <br>."""
    return markdown_text(text, cell=True)


def code(text: str) -> str:
    """Code inside a table cell."""
    return markdown_code(text, cell=True)


def table(headers: list[str], aligns: str, rows: list[list[str]]) -> list[str]:
    """A GitHub table; ``aligns`` has one letter per column: l (left) or r (right)."""
    rule = {"l": ":--", "r": "--:"}
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(rule[a] for a in aligns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def heading(result: GradResult, digits: int) -> list[str]:
    source = result.tape.source.text.strip()
    point = markdown_text(", ".join(f"{name} = {fmt(v, digits)}" for name, v in result.inputs.items()))
    if "\n" in source:
        lines = [*markdown_fence(source), ""]
        if point:
            lines.append(f"at {point}")
    else:
        lines = [f"{markdown_code(source)}" + (f" at {point}" if point else "")]
    return lines


def markdown_report(result: GradResult, digits: int = DEFAULT_DIGITS, explanation: Explanation | None = None) -> str:
    tape, bp = result.tape, result.backprop
    out = result.output_label
    lines = heading(result, digits)
    lines += ["", f"**Gates:** forward values, then gradients flowing back from {cell(out)}", ""]
    uses = fanout(tape)
    rows = []
    for i, node in enumerate(tape.nodes):
        if node.kind == CONST:
            continue
        local_cell = down_cell = ""
        down = bp.downstream(tape, i) if node.kind == GATE else None
        if down is not None:
            loc = bp.locals[i]
            pairs = [(k, j) for k, j in enumerate(node.args) if bp.needs[j]]
            if loc is not None:
                local_cell = "<br>".join(f"{cell(tape.nodes[j].label)}: {fmt(loc[k], digits)}" for k, j in pairs)
            elif node.op is not None:
                local_cell = cell(node.op.rule)
            down_cell = "<br>".join(f"→ {cell(tape.nodes[j].label)}: {fmt(down[k], digits)}" for k, j in pairs)
        gate = "input" if node.kind != GATE else code(f"{node.label} = {tape.gate_text(i)}")
        rows.append([
            cell(node.label),
            gate,
            fmt(result.values[i], digits),
            fmt(bp.grads[i], digits) if bp.needs[i] else "—",
            local_cell,
            down_cell,
            cell(pattern(tape, i, uses)),
        ])  # fmt: skip
    lines += table(
        ["node", "gate", "value", f"upstream ∂{cell(out)}/∂node", "local ∂node/∂input", "downstream", "pattern"],
        "llrrlll",
        rows,
    )
    lines += ["", f"**Gradients of {cell(out)}, checked**", ""]
    rows = []
    for v in result.variables:
        derivative = v.derivative if isinstance(v.derivative, str) else None
        rows.append([
            cell(v.name),
            fmt(v.value, digits),
            f"**{fmt(v.gradient, digits)}**",
            code(derivative) if derivative else "—",
            fmt(v.symbolic, digits),
            fmt(v.forward, digits),
            fmt(v.numeric, digits),
            cell(verdict(result, v)),
        ])  # fmt: skip
    lines += table(
        ["variable", "value", f"∂{cell(out)}/∂variable (backprop)", "symbolic derivative (SymPy)", "SymPy",
         "forward mode", "numeric", "check"],
        "lrrlrrrl",
        rows,
    )  # fmt: skip
    notes = kink_notes(result)
    if result.symbolic.state in ("skipped", "partial"):
        notes.append(f"SymPy check {result.symbolic.state}: {result.symbolic.reason}")
    if notes:
        lines += [""] + [f"- {cell(n)}" for n in notes]
    lines += ["", f"**{cell(out)} = {fmt(result.value, digits)}** — {cell(overall(result))}"]
    if explanation is not None:
        from .explain import explanation_text

        chain = explanation_text(explanation, digits)
        lines += ["", "**Chain rule, path by path**", "", *markdown_fence(chain, "text")]
    return "\n".join(lines)


def answers_markdown(marks: list[Mark], step: Step | None, digits: int = DEFAULT_DIGITS) -> str:
    """The judged answers, and a descent step, as a Markdown list (after the report)."""
    from .answers import brief_lines

    return "\n".join(f"- {markdown_text(line)}" for line in brief_lines(marks, step, digits).splitlines())


# ---------------------------------------------------------------------------
# `gradcalc hessian --format markdown`


def hessian_markdown(result: HessianResult, digits: int = DEFAULT_DIGITS) -> str:
    """The Hessian (or its product with a direction), its checks, and its eigenvalues, as GitHub Markdown."""
    from .hessian import agreement, notes, output_label

    out = output_label(result)
    source = result.tape.source.text.strip()
    point = markdown_text(", ".join(f"{name} = {fmt(v, digits)}" for name, v in result.inputs.items()))
    lines = [*markdown_fence(source), "", f"at {point}"] if "\n" in source else [f"{markdown_code(source)} at {point}"]
    lines += ["", f"**{cell(out)} = {fmt(result.value, digits)}**", ""]
    p = result.hvp
    if p is None:
        lines += ["**Hessian**, rows by reverse mode over the gradient graph", ""]
        lines += table([f"∂²{cell(out)}/∂·∂·", *[cell(v) for v in result.variables]], "l" + "r" * len(result.variables),
                       [[cell(a), *[fmt(x, digits) for x in row]] for a, row in zip(result.variables, result.hessian,
                                                                                     strict=True)])
    else:
        lines += [f"**Hessian-vector product H·d**, d random (seed {p.seed}), instead of the matrix: {cell(p.why)}. "
                  "H·d by forward mode over the gradient graph, dᵀH by reverse mode over it.", ""]
        numeric = p.numeric or [None] * len(p.value)
        symbolic = p.symbolic or [None] * len(p.value)
        lines += table(["variable", "d", "H·d", "dᵀH (reverse)", "numeric", "SymPy"], "lrrrrr",
                       [[cell(a), fmt(p.direction[k], digits), fmt(p.value[k], digits), fmt(p.reverse[k], digits),
                         fmt(numeric[k], digits), fmt(symbolic[k], digits)] for k, a in enumerate(result.variables)])
    lines += ["", "**Checks**", ""]
    lines += table(["witness", "agrees", "largest difference"], "llr",
                   [[cell(w.name), "✓" if w.agrees else f"≈ {cell(w.note)}" if w.note else "✗ **no**",
                     fmt(w.largest, 3)] for w in result.witnesses()])
    lines += [""] + [f"- {cell(n)}" for n in notes(result)] + ([""] if notes(result) else [])
    if p is None:
        eig = ", ".join(fmt(e, digits) for e in result.eigenvalues) or "—"
        lines.append(f"**Eigenvalues:** {eig}: {cell(result.definiteness)}, {cell(result.meaning)}")
    else:
        lines.append(f"**Eigenvalues:** {cell(result.meaning)}")  # not computed, and why
    lines += ["", f"**{cell(agreement(result))}**"]
    return "\n".join(lines)
