"""Rich tables: the gate table (CS231n's picture as rows) and the gradient table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..api import AGREE, GradResult
from ..checks import FORWARD_TOL, NUMERIC_TOL, SYMBOLIC_TOL
from ..i18n import msg, tr
from ..tape import CONST, GATE
from .escape import terminal
from .fit import Block, Fitted, cell_text
from .numbers import DEFAULT_DIGITS, fmt
from .patterns import fanout, pattern, tr_pattern
from .words import kink_notes, overall, verdict

VERDICT_STYLE = {"✓": "green", "≈": "yellow", "✗": "bold red", "?": "bold red"}  # by the verdict's first sign
DERIVATIVE_WIDTH = 60
# Rows of the gate table at the most: past it, the first and the last half of
# them (a generated formula's 100,000 rows would take rich a minute, and no
# reader); --json lists every node.
MAX_GATE_ROWS = 200
Row = TypeVar("Row")


def safe_text(text: str, style: str = "") -> Text:
    """Text for the terminal that may hold the user's: never markup, and its control characters spelled out."""
    return Text(terminal(text, keep="\n"), style=style)


class PlainTable(Table):
    """A rich Table whose string title and cells are plain text (:func:`safe_text`), never markup.

    They hold the user's formulas and names: ``r = [a, b]`` is a list, which
    rich would otherwise read as a style tag and drop, on any console; a
    problem's name in an answer file could hold an escape sequence.
    """

    def __init__(self, *headers: Any, title: str | Text | None = None, **options: Any) -> None:
        super().__init__(*headers, title=safe_text(title) if isinstance(title, str) else title, **options)

    def add_row(self, *renderables: RenderableType | None, style: Any = None, end_section: bool = False) -> None:
        cells = [safe_text(cell) if isinstance(cell, str) else cell for cell in renderables]
        super().add_row(*cells, style=style, end_section=end_section)


@dataclass(frozen=True)
class GateRow:
    """One row of the gate table, as the table and the narrow blocks show it."""

    node: str
    gate: str
    value: str
    upstream: str
    local: str = ""
    downstream: str = ""
    pattern: str = ""


def gate_rows(result: GradResult, digits: int = DEFAULT_DIGITS) -> list[GateRow | str]:
    """The gate table's rows in evaluation order (constants appear inside the gates), or what a cut left out."""
    tape, bp = result.tape, result.backprop
    uses = fanout(tape)
    shown, left_out = cut([i for i, node in enumerate(tape.nodes) if node.kind != CONST])
    rows: list[GateRow | str] = []
    for i in shown:
        if i is None:
            rows.append(tr(msg("{n} more nodes (--json lists every node)", n=f"{left_out:,}")))
            continue
        node = tape.nodes[i]
        upstream = fmt(bp.grads[i], digits) if bp.needs[i] else "—"
        local_cell = down_cell = ""
        loc = bp.locals[i]
        down = bp.downstream(tape, i) if node.kind == GATE else None
        if down is not None:
            pairs = [(tape.nodes[j].label, k, dv) for k, (j, dv) in enumerate(zip(node.args, down, strict=True))
                     if bp.needs[j]]
            if loc is not None:
                local_cell = "\n".join(f"{name}: {fmt(loc[k], digits)}" for name, k, _ in pairs)
            elif node.op is not None:
                local_cell = node.op.rule
            down_cell = "\n".join(f"→ {name}: {fmt(dv, digits)}" for name, _, dv in pairs)
        gate = tr("input") if node.kind != GATE else f"{node.label} = {tape.gate_text(i)}"
        shape = _shape(result.values[i])
        if shape:
            gate += f"  ({shape})"
        rows.append(GateRow(node.label, gate, fmt(result.values[i], digits), upstream, local_cell, down_cell,
                            tr_pattern(pattern(tape, i, uses))))
    return rows


def gate_table(result: GradResult, digits: int = DEFAULT_DIGITS, boxed: box.Box = box.SIMPLE_HEAD) -> Table:
    """One row per node in evaluation order (constants appear inside the gates)."""
    out = result.output_label
    table = PlainTable(
        title=tr(msg("Gates: forward values, then gradients flowing back from {out}", out=out)),
        box=boxed,
        title_justify="left",
    )
    table.add_column(tr("node"), style="bold")
    table.add_column(tr("gate"))
    table.add_column(tr("value"), justify="right", style="green")
    table.add_column(tr(msg("upstream ∂{out}/∂node", out=out)), justify="right", style="red")
    table.add_column(tr("local ∂node/∂input"), justify="right")
    table.add_column(tr("downstream = upstream × local"), justify="right", style="red")
    table.add_column(tr("pattern"))
    for row in gate_rows(result, digits):
        if isinstance(row, str):
            table.add_row("…", row, "", "", "", "", "")
        else:
            table.add_row(row.node, row.gate, row.value, row.upstream, row.local, row.downstream, row.pattern)
    return table


def gate_blocks(result: GradResult, digits: int = DEFAULT_DIGITS) -> list[Block]:
    """The gate table for a narrow console: one block per node, its gate first, then what flows through it."""
    blocks = []
    for row in gate_rows(result, digits):
        if isinstance(row, str):
            blocks.append(Block(f"… {row}", style=""))
            continue
        title = row.gate if row.gate != tr("input") else f"{row.node}  {row.gate}"
        fields = [f"{tr('value')} {row.value}", f"{tr('upstream')} {row.upstream}"]
        if row.local:
            fields.append(tr("local") + " " + cell_text(row.local))
        if row.downstream:
            fields.append("→ " + cell_text(row.downstream).replace("→ ", ""))
        if row.pattern != tr("input"):
            fields.append(row.pattern)
        blocks.append(Block(title, fields))
    return blocks


def cut(
    rows: list[Row], keep: Callable[[Row], bool] | None = None, limit: int = MAX_GATE_ROWS
) -> tuple[list[Row | None], int]:
    """The rows a long table shows, and how many it leaves out.

    At most ``limit`` rows show as they are; past it, the first and the last
    half, with those between that ``keep`` wants (at most ``limit`` of them)
    after the first half, and None where the rest are left out.
    """
    if len(rows) <= limit:
        return list(rows), 0
    half = limit // 2
    middle = rows[half:-half]
    kept = [r for r in middle if keep(r)][:limit] if keep is not None else []
    left_out = len(middle) - len(kept)
    return [*rows[:half], *kept, *([None] if left_out else []), *rows[-half:]], left_out


def _derivative_text(derivative: object) -> str:
    """SymPy's derivative; for a vector or matrix, each element's, in order."""
    if derivative is None:
        return "—"
    if isinstance(derivative, list):
        flat: list[object] = []
        for item in derivative:
            flat.extend(item if isinstance(item, list) else [item])
        return "[" + "; ".join(str(d) for d in flat) + "]"
    return str(derivative)


def _shape(value: object) -> str:
    shape = getattr(value, "shape", ())
    return "×".join(map(str, shape)) if shape else ""


def gradient_rows(result: GradResult, digits: int = DEFAULT_DIGITS) -> list[list[str | Text] | str]:
    """The gradient table's rows (variable, value, backprop, derivative, SymPy, forward, numeric, verdict), or a cut."""
    rows: list[list[str | Text] | str] = []
    # A long table keeps its ends, and every variable whose check does not simply agree.
    shown, left_out = cut(result.variables, keep=lambda v: v.status != AGREE)
    for v in shown:
        if v is None:
            rows.append(tr(msg("{n} more variables: --brief or --json lists them", n=f"{left_out:,}")))
            continue
        derivative = _derivative_text(v.derivative)  # folded onto lines in its column, never cut
        text = verdict(result, v)
        rows.append([v.name, fmt(v.value, digits), fmt(v.gradient, digits), derivative, fmt(v.symbolic, digits),
                     fmt(v.forward, digits), fmt(v.numeric, digits), Text(text, style=VERDICT_STYLE[text[0]])])
    return rows


def gradient_table(result: GradResult, digits: int = DEFAULT_DIGITS, boxed: box.Box = box.SIMPLE_HEAD) -> Table:
    out = result.output_label
    table = PlainTable(title=tr(msg("Gradients of {out}, checked", out=out)), box=boxed, title_justify="left")
    table.add_column(tr("variable"), style="bold")
    table.add_column(tr("value"), justify="right")
    table.add_column(tr(msg("∂{out}/∂variable (backprop)", out=out)), justify="right", style="bold red")
    table.add_column(tr("symbolic derivative (SymPy)"), max_width=DERIVATIVE_WIDTH, overflow="fold")
    table.add_column("SymPy", justify="right")
    table.add_column(tr("forward mode"), justify="right")
    table.add_column(tr("numeric"), justify="right")
    table.add_column(tr("check"))
    for row in gradient_rows(result, digits):
        if isinstance(row, str):
            table.add_row("…", "", "", row)
        else:
            table.add_row(*row)
    return table


def gradient_blocks(result: GradResult, digits: int = DEFAULT_DIGITS) -> list[Block]:
    """The gradient table for a narrow console: one block per variable, SymPy's derivative last."""
    out = result.output_label
    blocks = []
    for row in gradient_rows(result, digits):
        if isinstance(row, str):
            blocks.append(Block(f"… {row}", style=""))
            continue
        name, value, grad, derivative, symbolic, forward, numeric, check = map(cell_text, row)
        fields = [f"{tr('value')} {value}", f"{tr('backprop')} ∂{out}/∂{name} {grad}", f"SymPy {symbolic}",
                  f"{tr('forward mode')} {forward}", f"{tr('numeric')} {numeric}", check]
        derivative_word = tr("SymPy's derivative")
        blocks.append(Block(name, fields, tail=[f"{derivative_word}: {derivative}"]))
    return blocks


# The styles of :func:`note_lines`: a convention or a caveat, a check that agreed, one that did not, how it checked.
NOTE, AGREED, FAILED, HOW = "yellow", "green", "bold red", "dim"


def note_lines(result: GradResult) -> list[tuple[str, str]]:
    """What the tables' numbers need said, each with its style: conventions, caveats, what was checked and how."""
    lines = [(line, NOTE) for line in kink_notes(result)]
    for v in result.variables:
        for note in v.notes:  # e.g. a central difference that changes with its step
            lines.append((f"{v.name}: {note}", NOTE))
    sym = result.symbolic
    if sym.state in ("skipped", "partial"):
        state = tr("skipped") if sym.state == "skipped" else tr("partial")
        lines.append((tr(msg("SymPy check {state}: {reason}", state=state, reason=sym.reason)), NOTE))
    d = result.directional
    if d is not None:
        lines.append((
            tr(msg("large graph: checked along one random direction v: ∇f·v = {reverse}, forward mode "
                   "{forward}, numeric {numeric}", reverse=fmt(d["reverse"], 10), forward=fmt(d["forward"], 10),
                   numeric=fmt(d.get("numeric"), 10))),
            AGREED if d["agree"] else FAILED,
        ))
    checks = [tr("forward mode") + " (rtol 1e-9)"]
    if sym.state != "off":
        checks.append(f"SymPy (rtol {SYMBOLIC_TOL.rtol:g})")
    if result.numeric:
        checks.append(tr("central difference") + f" (rtol {NUMERIC_TOL.rtol:g}, h = ∛ε·max(1,|x|))")
    assert FORWARD_TOL.rtol == 1e-9
    lines.append((tr(msg("checked against {checks}", checks=", ".join(checks))), HOW))
    return lines


def notes(result: GradResult) -> list[RenderableType]:
    return [safe_text(line, style=style) for line, style in note_lines(result)]


def summary(result: GradResult, digits: int = DEFAULT_DIGITS) -> Text:
    head = f"{result.output_label} = {fmt(result.value, digits)}   "
    return Text(head) + Text(overall(result), style="bold green" if result.ok else "bold red")


def full_report(result: GradResult, digits: int = DEFAULT_DIGITS, plain: bool = False) -> Group:
    boxed = box.ASCII2 if plain else box.SIMPLE_HEAD
    return Group(
        Fitted(gate_table(result, digits, boxed), lambda: gate_blocks(result, digits)),
        Fitted(gradient_table(result, digits, boxed), lambda: gradient_blocks(result, digits)),
        *notes(result),
        summary(result, digits),
    )


def make_console(stderr: bool = False) -> Console:
    """A console that is plain and wide when output goes to a file or a pipe."""
    import os
    import sys

    stream = sys.stderr if stderr else sys.stdout
    # Cells hold the user's text: `[a, b]` is a list, not rich markup, and `:x:` is no emoji.
    if stream.isatty():
        return Console(file=stream, highlight=False, markup=False, emoji=False)
    width = int(os.environ.get("COLUMNS", "0") or 0) or 200
    return Console(file=stream, width=width, color_system=None, highlight=False, soft_wrap=False, markup=False,
                   emoji=False)

