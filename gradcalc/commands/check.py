"""`gradcalc check`: grade an answer file of many problems at once."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import GradcalcError
from . import EXIT_BAD_INPUT, EXIT_DISAGREE, EXIT_OK
from .common import (
    ColorOpt,
    DigitsOpt,
    JsonOpt,
    OutputFileOpt,
    ReportFormatOpt,
    budget_option,
    check_color,
    console_for,
    emit_json,
    fail,
    read_source,
    report_format,
    report_to,
)

app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed


@app.command()
def check(
    path: Annotated[Path, typer.Argument(help="The answer file (TOML with [[problem]] tables).", show_default=False)],
    as_json: JsonOpt = False,
    sympy: Annotated[
        bool, typer.Option("--sympy", help="Also check every gradient against SymPy (slower).")
    ] = False,
    symbolic_budget: Annotated[
        float, budget_option("With --sympy: seconds the SymPy checks of the whole file may take together, each "
                             "problem's at most 5 of what is left; problems past it are graded without SymPy.")
    ] = 30.0,
    digits: DigitsOpt = 6,
    output_file: OutputFileOpt = None,
    format_given: ReportFormatOpt = None,
    color: ColorOpt = "auto",
) -> None:
    """Grade the answers in a TOML file: one row per answer, a summary per problem.

    Example: gradcalc check samples/homework.toml

    Each [[problem]] has a name, a formula (or a program), values, and answers:
    expect_value, expect_grad = { x = 0.39 }, expect = { q = 3 } (node values),
    expect_upstream = { q = -4 } (∂out/∂node); optional rtol, atol, output, tie.
    Write answers as strings ("0.20") to keep their digits exactly; one element of a vector or
    matrix is a quoted key: expect_grad = { "W[0, 1]" = "0.176" }.

    Exit codes: 0 all right, 1 an answer is wrong, 2 the file or a problem is malformed.
    """
    from ..answerfile import Status, grade_file
    from .homework_options import how_to_ask

    try:
        color = check_color(color)
        output_format = report_format(format_given, as_json, output_file)
        as_json = output_format == "json"
        text, name, _ = read_source(None, path, [])
        report = grade_file(text, name, symbolic=sympy, ask=how_to_ask, symbolic_budget=symbolic_budget)
    except GradcalcError as err:
        fail(err, as_json)
    with report_to(output_file, as_json):
        if as_json:
            from ..render.answers import file_doc

            emit_json(file_doc(report))
        elif output_format == "html":
            from ..display import html_page

            typer.echo(html_page(report, digits), nl=False)
        else:
            from ..render.answers import file_report
            console_for(color).print(file_report(report, digits, plain=not sys.stdout.isatty()))
    if output_format == "table":
        for problem in report.errors:
            assert problem.error is not None
            typer.echo(problem.error.render(), err=True)
    raise typer.Exit({Status.OK: EXIT_OK, Status.WRONG: EXIT_DISAGREE, Status.ERROR: EXIT_BAD_INPUT}[report.status])
