"""A run without values: the gate table in formulas, the gradients as formulas, and their JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..i18n import msg, tr
from .jsondoc import SCHEMA_VERSION

if TYPE_CHECKING:
    from rich.console import Group

    from ..formulas import FormulaGradient

TOO_LONG = "(too long to write out)"


def _cell(text: str | None) -> str:
    return tr(TOO_LONG) if text is None else text


def _check(result: FormulaGradient, name: str) -> str:
    equal = result.equal.get(name)
    if equal is None:
        return tr("— not checked") if name not in result.equal else tr("? SymPy could not tell")
    if not equal:
        return tr("✗ differs")
    return tr("✓ equal") if result.how.get(name) == "proved" else tr("✓ equal at random points")


def brief_formulas(result: FormulaGradient) -> str:
    """``f = ...`` and ``∂f/∂x = ...``, a line each."""
    out = result.output_label
    lines = [f"{out} = {_cell(result.value)}"]
    lines += [f"∂{out}/∂{n} = {_cell(result.gradient(n))}" for n in result.variables]
    return "\n".join(lines)


def formula_report(result: FormulaGradient, plain: bool = False) -> Group:
    """The gate table with formulas for values and gradients, then each gradient with SymPy's verdict."""
    from rich import box
    from rich.console import Group
    from rich.text import Text

    from .patterns import tr_pattern
    from .table import PlainTable, safe_text

    boxed = box.ASCII2 if plain else box.SIMPLE_HEAD
    out = result.output_label
    gates = PlainTable(
        tr("node"), tr("gate"), tr("value"), tr(msg("upstream ∂{out}/∂node", out=out)), tr("local ∂node/∂input"),
        tr("downstream = upstream × local"), tr("pattern"),
        title=tr(msg("Gates as formulas: values, then gradients flowing back from {out}", out=out)), box=boxed,
        title_justify="left",
    )
    for g in result.gates:
        local = "\n".join(f"{k}: {_cell(v)}" for (k, _), v in zip(g.local, g.shown, strict=True))
        down = "\n".join(f"→ {k}: {_cell(v)}" for k, v in g.downstream)
        gate = tr(g.gate) if g.gate == "input" else f"{g.label} = {g.gate}"
        gates.add_row(*(safe_text(c) for c in (g.label, gate, _cell(g.value), _cell(g.upstream), local, down,
                                               tr_pattern(g.pattern))))
    grads = PlainTable(tr("variable"), tr(msg("∂{out}/∂variable", out=out)), tr("SymPy's derivative"), tr("check"),
                       title=tr(msg("Gradients of {out}, as formulas", out=out)), box=boxed, title_justify="left")
    for n in result.variables:
        grads.add_row(*(safe_text(c) for c in (n, _cell(result.gradient(n)), result.sympy.get(n) or "—",
                                               _check(result, n))))
    parts: list[Any] = [gates, grads]
    notes = []
    if result.given:
        given = ", ".join(f"{k} = {v:g}" for k, v in result.given.items())
        notes.append(tr(msg("substituted: {values}", values=given)))
    if result.sympy_reason:
        notes.append(tr(msg("SymPy check skipped: {reason}", reason=result.sympy_reason)))
    notes.append(tr("derived by gradcalc's own reverse pass; simplified by SymPy where it confirmed them equal"))
    parts += [safe_text(line, "dim") for line in notes]
    parts.append(Text(""))
    parts += [safe_text(line) for line in brief_formulas(result).splitlines()]
    return Group(*parts)


def formula_doc(result: FormulaGradient) -> dict[str, Any]:
    """The JSON document: every formula in gradcalc's syntax (gradcalc parses each back), null when too long."""
    return {
        "schema": SCHEMA_VERSION,
        "mode": "formulas",
        "output": result.output_label,
        "formula": result.tape.source.text,
        "substituted": result.given,
        "symbols": result.symbolic,
        "value": result.value,
        "gradients": result.gradients,
        "status": "ok" if result.ok else "disagree",
        "nodes": [
            {
                "label": g.label, "gate": g.gate, "value": g.value, "upstream": g.upstream,
                "local": [{"input": k, "gradient": v} for k, v in g.local],
                "downstream": [{"input": k, "gradient": v} for k, v in g.downstream], "pattern": g.pattern,
            }
            for g in result.gates
        ],
        "checks": {
            "variables": [
                {
                    "name": n, "derived": result.derived[n], "simplified": result.simplified.get(n),
                    "sympy": result.sympy.get(n), "equal": result.equal.get(n), "decided_by": result.how.get(n),
                }
                for n in result.variables
            ],
            "sympy": {"reason": result.sympy_reason},
        },
        **({"warnings": result.warnings} if result.warnings else {}),
    }
