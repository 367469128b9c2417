"""`gradcalc grad`: the gate table and the checked gradients of one formula or program."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..cli import (
    ARGS_SETTINGS,
    DigitsOpt,
    FileOpt,
    FormulaArg,
    FuseOpt,
    JsonOpt,
    OutputOpt,
    TieOpt,
    ValuesArg,
    app,
    emit_json,
    fail,
    read_source,
    warn,
)
from ..errors import EXIT_DISAGREE, EXIT_OK, GradcalcError


@app.command(context_settings=ARGS_SETTINGS)
def grad(
    formula: FormulaArg = None,
    values: ValuesArg = None,
    file: FileOpt = None,
    as_json: JsonOpt = False,
    brief: Annotated[bool, typer.Option("--brief", help="Print only the output value and the gradients.")] = False,
    no_symbolic: Annotated[
        bool, typer.Option("--no-symbolic", help="Skip the SymPy check (and do not import SymPy).")
    ] = False,
    no_numeric: Annotated[bool, typer.Option("--no-numeric", help="Skip the central-difference check.")] = False,
    symbolic_budget: Annotated[
        float, typer.Option("--symbolic-budget", min=0.1, help="Seconds the SymPy check may take before it is skipped.")
    ] = 5.0,
    tie: TieOpt = "split",
    output: OutputOpt = None,
    fuse: FuseOpt = False,
    digits: DigitsOpt = 6,
) -> None:
    """Forward and backward passes with every gate shown, and every gradient cross-checked.

    Example: gradcalc grad '(x+y)*z' x=-2 y=5 z=-4

    Exit codes: 0 all checks agree, 1 a check disagreed, 2 bad input.
    """
    from ..api import gradient
    from ..values import parse_assignments

    try:
        if tie not in ("split", "first", "all"):
            raise GradcalcError(f"--tie must be split, first or all, not {tie!r}", kind="usage")
        text, name, rest = read_source(formula, file, values or [])
        given = parse_assignments(rest)
        result = gradient(
            text,
            given,
            symbolic=not no_symbolic,
            numeric=not no_numeric,
            symbolic_budget=symbolic_budget,
            tie=tie,
            output=output,
            name=name,
            fuse=fuse,
        )
    except GradcalcError as err:
        fail(err, as_json)
    warn(result.warnings)
    if as_json:
        from ..render.jsondoc import result_doc

        emit_json(result_doc(result, brief=brief))
    elif brief:
        from ..render.table import brief_report

        typer.echo(brief_report(result, digits))
    else:
        from ..render.table import full_report, make_console

        console = make_console()
        console.print(full_report(result, digits, plain=not sys.stdout.isatty()))
    raise typer.Exit(EXIT_OK if result.ok else EXIT_DISAGREE)
