"""`gradcalc jacobian`: the full Jacobian of a vector-valued formula, checked two ways."""

import sys
from typing import Annotated, Any

import typer

from ..errors import GradcalcError
from . import EXIT_DISAGREE, EXIT_OK
from .common import (
    ARGS_SETTINGS,
    ColorOpt,
    DigitsOpt,
    FileOpt,
    FormulaArg,
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
    read_source,
    reject_unknown_options,
    report_to,
    warn,
)

app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed


@app.command(context_settings=ARGS_SETTINGS)
def jacobian(
    ctx: typer.Context,
    formula: FormulaArg = None,
    values: ValuesArg = None,
    file: FileOpt = None,
    as_json: JsonOpt = False,
    no_numeric: Annotated[bool, typer.Option("--no-numeric", help="Skip the central-difference check.")] = False,
    tie: TieOpt = "split",
    target: TargetOpt = None,
    output_file: OutputFileOpt = None,
    digits: DigitsOpt = 6,
    color: ColorOpt = "auto",
) -> None:
    """The Jacobian of a vector-valued formula: rows by reverse mode, columns by forward mode.

    Example: gradcalc jacobian 'softmax(z)' 'z=[1, 2, 0.5]'

    Exit codes: 0 reverse and forward mode (and central differences) agree, 1 they disagree, 2 bad input.
    """
    from ..jacobian import jacobian as compute
    from ..values import parse_assignments

    try:
        reject_unknown_options(ctx, formula, values or [])
        color = check_color(color)
        as_json = document_format(output_file, "json" if as_json else None) == "json"
        text, name, rest = read_source(formula, file, values or [])
        result = compute(text, parse_assignments(rest), numeric=not no_numeric, tie=tie, output=target, name=name)
    except GradcalcError as err:
        fail(err, as_json)
    warn(result.warnings)
    with report_to(output_file, as_json):
        if as_json:
            from ..render.jsondoc import jacobian_doc

            emit_json(jacobian_doc(result))
        else:
            _print(result, digits, color)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_DISAGREE)


def _print(result: Any, digits: int, color: str) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ..render.fit import Fitted
    from ..render.numbers import fmt

    plain = not sys.stdout.isatty()
    out = result.tape.nodes[result.tape.output].label
    table = Table(box=box.ASCII2 if plain else box.SIMPLE_HEAD)
    table.add_column("", style="bold")
    for label in result.column_labels():
        table.add_column(label, justify="right")
    for label, row in zip(result.rows, result.reverse, strict=True):
        table.add_row(label, *[fmt(v, digits) for v in row])
    console = console_for(color)
    console.print(f"{out} = {fmt(result.value, digits)}")
    console.print(f"Jacobian ∂{out}/∂inputs: rows by reverse mode, checked column by column in forward mode")
    console.print(Fitted(table))
    parts = [("forward mode (columns)", result.agree_forward)]
    if result.numeric is not None:
        parts.append(("central differences", result.agree_numeric))
    for what, ok in parts:
        if not ok and what == "central differences" and result.kinks:
            console.print(Text(f"≈ {what} differ at a non-differentiable point; the convention decides",
                               style="yellow"))
            continue
        console.print(Text(f"{'✓' if ok else '✗'} {what} {'agree' if ok else 'DISAGREE'}",
                           style="green" if ok else "bold red"))
    for note in result.kinks:
        console.print(Text(f"non-differentiable point at {note}", style="yellow"))
