"""The Hessian's report: the matrix (or its product with a direction) as a table, and as one JSON document.

Markdown and LaTeX are in :mod:`gradcalc.render.markdown` and :mod:`gradcalc.render.latex`, with the
other reports of their format.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.text import Text

from ..hessian import CONVENTION, HessianResult
from .fit import Fitted
from .numbers import DEFAULT_DIGITS, fmt, num
from .table import PlainTable, cut, safe_text


def output_label(result: HessianResult) -> str:
    return result.tape.nodes[result.tape.output].label


def agreement(result: HessianResult) -> str:
    """One line: ✓ symmetric; which witnesses agree; which differ by a kink's convention; which disagree."""
    checks = result.witnesses()
    wrong = result.disagreeing()
    agreed = [w.name for w in checks if w.agrees and w.key not in ("symmetry", "reverse")]
    excused = [w.name for w in checks if w.note]
    if result.hvp is not None:
        head = "✓ H·d = dᵀH (symmetric along d)" if result.symmetric else "✗ H·d ≠ dᵀH: NOT symmetric along d"
    else:
        head = "✓ symmetric" if result.symmetric else "✗ NOT symmetric"
    singular = len(agreed) == 1 and not agreed[0].startswith("central differences")
    tail = f"; {', '.join(agreed)} agree{'s' if singular else ''}" if agreed else ""
    if excused:
        tail += f"; ≈ {', '.join(excused)}: {CONVENTION}"
    return head + tail + (f"; DISAGREE: {', '.join(wrong)}" if wrong else "")


def notes(result: HessianResult) -> list[str]:
    """What was not checked, and why (yellow in the table)."""
    found = []
    if result.symbolic is None and (result.hvp is None or result.hvp.symbolic is None) and result.symbolic_reason:
        found.append(f"SymPy check skipped: {result.symbolic_reason}")
    elif result.symbolic_reason:
        found.append(f"SymPy check partial: {result.symbolic_reason}")
    found += [f"non-differentiable point at {note}" for note in result.kinks]
    return found


def eigen_line(result: HessianResult, digits: int) -> str:
    if result.hvp is not None:
        return f"eigenvalues: {result.meaning}"
    eig = ", ".join(fmt(e, digits) for e in result.eigenvalues)
    return f"eigenvalues: {eig or '—'}: {result.definiteness}, {result.meaning}"


def hessian_report(result: HessianResult, digits: int = DEFAULT_DIGITS, plain: bool = False) -> Group:
    """The table report: the value, the matrix (or the product), the checks, the eigenvalues."""
    boxed = box.ASCII2 if plain else box.SIMPLE_HEAD
    out = output_label(result)
    parts: list[RenderableType] = [safe_text(f"{out} = {fmt(result.value, digits)}")]
    p = result.hvp
    if p is None:
        table = PlainTable(box=boxed)
        table.add_column(f"∂²{out}/∂·∂·", style="bold")
        for label in result.variables:
            table.add_column(label, justify="right", no_wrap=True)
        for label, row in zip(result.variables, result.hessian, strict=True):
            table.add_row(label, *[fmt(v, digits) for v in row])
        parts += [safe_text("Hessian: rows by reverse mode over the gradient graph"), Fitted(table)]
    else:
        table = PlainTable(box=boxed)
        for header in ("variable", "d", "H·d", "dᵀH (reverse)", "numeric", "SymPy"):
            table.add_column(header, justify="left" if header == "variable" else "right", no_wrap=True)
        numeric = p.numeric or [None] * len(p.value)
        symbolic = p.symbolic or [None] * len(p.value)
        shown, left_out = cut(list(range(len(result.variables))))  # thousands of variables: the first and last
        for k in shown:
            if k is None:
                table.add_row(f"… {left_out:,} more", "", "", "", "", "")  # --json lists every one
                continue
            table.add_row(result.variables[k], fmt(p.direction[k], digits), fmt(p.value[k], digits),
                          fmt(p.reverse[k], digits), fmt(numeric[k], digits), fmt(symbolic[k], digits))
        parts += [
            safe_text(f"Hessian-vector product H·d, d random (seed {p.seed}), instead of the matrix: {p.why}"),
            safe_text("H·d by forward mode over the gradient graph; dᵀH by reverse mode over it"),
            Fitted(table),
        ]
    parts.append(Text(agreement(result), style="green" if result.ok else "bold red"))
    parts += [safe_text(line, style="yellow") for line in notes(result)]
    parts.append(safe_text(eigen_line(result, digits)))
    return Group(*parts)


def hessian_doc(result: HessianResult) -> dict[str, Any]:
    """The JSON document: every number exact, inf and nan as null."""

    def grid(rows: Any) -> Any:
        return None if rows is None else [[num(v) for v in row] for row in rows]

    def listed(values: Any) -> Any:
        return None if values is None else [num(v) for v in values]

    full = result.hvp is None
    p = result.hvp
    return {
        "formula": result.tape.source.text,
        "output": output_label(result),
        "value": num(result.value),
        "variables": result.variables,
        "gradient": [num(g) for g in result.gradient],
        "hessian": grid(result.hessian) if full else None,
        "forward": grid(result.forward) if full else None,
        "numeric": grid(result.numeric),
        "sympy": grid(result.symbolic),
        "hvp": None if p is None else {
            "direction": p.direction,
            "seed": p.seed,
            "value": listed(p.value),
            "why": p.why,
            "checks": {
                "reverse": listed(p.reverse),
                "numeric": listed(p.numeric),
                "step": p.step,
                "sympy": listed(p.symbolic),
            },
        },
        "symmetric": result.symmetric,
        "eigenvalues": [num(e) for e in result.eigenvalues] if full else None,
        "definiteness": result.definiteness,
        "meaning": result.meaning,
        "checks": {"ok": result.ok, "disagreeing": result.disagreeing(), "sympy_reason": result.symbolic_reason},
        "conventions": result.kinks,
        "status": "ok" if result.ok else "disagree",
    }
