"""`gradcalc trace`: the evaluation trace (Wengert list) of the AD textbooks, forward or reverse."""

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import GradcalcError
from . import EXIT_OK
from .common import (
    ARGS_SETTINGS,
    ColorOpt,
    DigitsOpt,
    FileOpt,
    FormulaArg,
    FuseOpt,
    JsonOpt,
    OutputFileOpt,
    TargetOpt,
    TieOpt,
    ValuesArg,
    check_color,
    console_for,
    document_format,
    emit_json,
    fail,
    full_output_tape,
    read_source,
    reject_unknown_options,
    report_to,
    warn,
)

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ..trace import Trace


app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed


@app.command(context_settings=ARGS_SETTINGS)
def trace(
    ctx: typer.Context,
    formula: FormulaArg = None,
    values: ValuesArg = None,
    file: FileOpt = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            metavar="[forward|reverse]",
            help="forward (tangents, seeded on --seed) or reverse (adjoints). Default: forward when --seed "
            "is given, else reverse.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        str | None,
        typer.Option("--seed", help="Forward mode: the input whose tangent is 1 (the others are 0).",
                     show_default=False),
    ] = None,
    as_json: JsonOpt = False,
    tie: TieOpt = "split",
    target: TargetOpt = None,
    output_file: OutputFileOpt = None,
    fuse: FuseOpt = False,
    digits: DigitsOpt = 6,
    color: ColorOpt = "auto",
) -> None:
    """The evaluation trace: inputs v₋₁, v₀, then one vᵢ per gate, with tangents or adjoints.

    Example: gradcalc trace 'ln(x1) + x1*x2 - sin(x2)' x1=2 x2=5 --mode forward --seed x1

    As in Baydin et al., "Automatic differentiation in machine learning: a survey", tables 2 and 3.

    Exit codes: 0 done, 2 bad input.
    """
    from ..trace import trace as compute
    from ..trace import trace_doc
    from ..values import parse_assignments

    try:
        reject_unknown_options(ctx, formula, values or [])
        color = check_color(color)
        as_json = document_format(output_file, "json" if as_json else None) == "json"
        if tie not in ("split", "first", "all"):
            raise GradcalcError(f"--tie must be split, first or all, not {tie!r}", kind="usage")
        chosen = mode if mode is not None else ("forward" if seed is not None else "reverse")
        if chosen == "reverse" and seed is not None:
            raise GradcalcError(
                "--seed belongs to forward mode; reverse mode seeds the output",
                kind="usage",
                hint="drop --seed, or use --mode forward",
            )
        text, name, rest = read_source(formula, file, values or [])
        # Built once here to count its nodes, and again by trace(), which takes text.
        full_output_tape(text, name, "a trace", output=target, fuse=fuse,
                         hint="gradcalc grad --brief gives the value and every gradient at any size")
        result = compute(
            text, parse_assignments(rest), mode=chosen, seed=seed, tie=tie, output=target, fuse=fuse, name=name
        )
    except GradcalcError as err:
        fail(err, as_json)
    warn(result.warnings)
    with report_to(output_file, as_json):
        if as_json:
            emit_json(trace_doc(result))
        else:
            console = console_for(color)
            for part in _report(result, digits, plain=not sys.stdout.isatty()):
                console.print(part)
    raise typer.Exit(EXIT_OK)


def _report(t: "Trace", digits: int, plain: bool) -> "list[RenderableType]":
    from rich import box
    from rich.table import Table

    from ..i18n import N_, msg, tr
    from ..render.escape import terminal
    from ..render.fit import Fitted
    from ..render.numbers import fmt
    from ..trace import FORWARD, bar, dot, v_name

    boxed = box.ASCII2 if plain else box.SIMPLE_HEAD
    out = t.output_label
    formula = " ".join(t.tape.source.text.split())
    if len(formula) > 80:
        formula = t.tape.source.name
    formula = terminal(formula)
    parts: list[RenderableType] = []
    if t.mode == FORWARD:
        parts.append(tr(msg("Forward-mode trace of {formula}, seeded on {seed} (tangent v̇ = ∂v/∂{seed})",
                            formula=formula, seed=t.seed)))
        table = Table(box=boxed)
        for header, justify in (("v", "left"), ("node", "left"), (N_("expression"), "left"), ("value", "right"),
                                (N_("tangent expression"), "left"), (N_("tangent v̇"), "right")):
            table.add_column(tr(header), justify=justify)  # type: ignore[arg-type]
        _add_rows(table, t.rows, lambda r: (r.name, r.label, r.expr, fmt(r.value, digits),
                                            f"{dot(r.index)} = {r.tangent_expr}", fmt(r.tangent, digits)))
        parts.append(Fitted(table))
        parts.append(
            f"{out} = {v_name(t.output)} = {fmt(t.value, digits)};  "
            f"∂{out}/∂{t.seed} = {dot(t.output)} = {fmt(t.derivative, digits)}"
        )
        return parts
    parts.append(tr(msg("Primal trace (forward pass) of {formula}", formula=formula)))
    primal = Table(box=boxed)
    for header, justify in (("v", "left"), ("node", "left"), ("expression", "left"), ("value", "right")):
        primal.add_column(tr(header), justify=justify)  # type: ignore[arg-type]
    _add_rows(primal, t.rows, lambda r: (r.name, r.label, r.expr, fmt(r.value, digits)))
    adjoint = Table(box=boxed)
    for header, justify in (("v̄", "left"), ("expression", "left"), ("value", "right")):
        adjoint.add_column(tr(header), justify=justify)  # type: ignore[arg-type]
    _add_rows(adjoint, t.steps, lambda s: (bar(s.target), s.expr, fmt(s.value, digits)))
    parts += [
        Fitted(primal),
        tr(msg("Adjoint trace (reverse pass): v̄ = ∂{out}/∂v, accumulated backwards, one step per edge", out=out)),
        Fitted(adjoint),
    ]
    grads = ",  ".join(
        f"∂{out}/∂{r.label} = {bar(r.index)} = {fmt(r.adjoint, digits)}" for r in t.rows if r.index <= 0
    )
    parts.append(f"{out} = {v_name(t.output)} = {fmt(t.value, digits)}" + (f";  {grads}" if grads else ""))
    return parts


def _add_rows(table: Any, items: list[Any], cells: Callable[[Any], tuple[str, ...]]) -> None:
    """One row per item; a long trace shows its first and last rows and says how many it left out."""
    from ..render.table import cut

    shown, left_out = cut(items)
    for item in shown:
        if item is None:
            table.add_row("…", f"{left_out:,} more rows (--json lists every row)", *[""] * (len(table.columns) - 2))
        else:
            table.add_row(*cells(item))
