"""`gradcalc hessian`: the matrix of second derivatives, checked, with its eigenvalues and what they say."""

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import GradcalcError
from . import EXIT_DISAGREE, EXIT_OK
from .common import (
    ARGS_SETTINGS,
    DigitsOpt,
    FileOpt,
    FormulaArg,
    JsonOpt,
    OutputFileOpt,
    ReportFormatOpt,
    TieOpt,
    ValuesArg,
    budget_option,
    emit_json,
    fail,
    read_source,
    report_format,
    report_to,
    warn,
)

if TYPE_CHECKING:
    from ..hessian import HessianResult

app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed


@app.command(context_settings=ARGS_SETTINGS)
def hessian(
    formula: FormulaArg = None,
    values: ValuesArg = None,
    file: FileOpt = None,
    as_json: JsonOpt = False,
    wrt: Annotated[str | None, typer.Option("--wrt", metavar="NAME,NAME", show_default=False,
                                            help="The variables to differentiate by (default: all).")] = None,
    no_symbolic: Annotated[bool, typer.Option("--no-symbolic", help="Skip the SymPy check.")] = False,
    no_numeric: Annotated[bool, typer.Option("--no-numeric", help="Skip the central differences.")] = False,
    symbolic_budget: Annotated[float, budget_option("Seconds SymPy's second derivatives may take.")] = 5.0,
    tie: TieOpt = "split",
    digits: DigitsOpt = 6,
    output_file: OutputFileOpt = None,
    format_given: ReportFormatOpt = None,
) -> None:
    """The Hessian: second derivatives by reverse mode over the gradient graph, checked three ways.

    Example: gradcalc hessian 'x^2*y + sin(x*y)' x=1 y=2

    Backprop builds the gradient as a graph of the same gates; the Hessian is
    its Jacobian. Each entry is checked against forward mode, central
    differences of the gradient and SymPy's second derivative; the matrix must
    be symmetric; its eigenvalues say whether a point where the gradient is 0
    is a minimum, a maximum or a saddle.

    Exit codes: 0 every check agrees, 1 one disagrees, 2 bad input, 4 the output could not be written.
    """
    from ..hessian import hessian as compute
    from ..values import parse_assignments

    try:
        output_format = report_format(format_given, as_json, output_file)
        as_json = output_format == "json"
        text, name, rest = read_source(formula, file, values or [])
        names = [n.strip() for n in wrt.split(",") if n.strip()] if wrt else None
        result = compute(text, parse_assignments(rest), wrt=names, symbolic=not no_symbolic,
                         numeric=not no_numeric, symbolic_budget=symbolic_budget, tie=tie, name=name)
    except GradcalcError as err:
        fail(err, as_json)
    warn(result.warnings)
    with report_to(output_file, as_json):
        if as_json:
            from ..render.jsondoc import hessian_doc

            emit_json(hessian_doc(result))
        elif output_format == "html":
            from ..display import html_page

            typer.echo(html_page(result, digits), nl=False)
        else:
            _print(result, digits)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_DISAGREE)


def _print(result: "HessianResult", digits: int) -> None:
    from ..render.table import hessian_report, make_console

    make_console().print(hessian_report(result, digits, plain=not sys.stdout.isatty()))
