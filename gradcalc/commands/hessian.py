"""`gradcalc hessian`: the matrix of second derivatives, checked, with its eigenvalues and what they say."""

import sys
from typing import TYPE_CHECKING, Annotated

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
    TieOpt,
    ValuesArg,
    budget_option,
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

if TYPE_CHECKING:
    from ..hessian import HessianResult

app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed

OUTPUT_FORMATS = ("table", "json", "markdown", "latex", "html")


@app.command(context_settings=ARGS_SETTINGS)
def hessian(
    ctx: typer.Context,
    formula: FormulaArg = None,
    values: ValuesArg = None,
    file: FileOpt = None,
    as_json: JsonOpt = False,
    wrt: Annotated[str | None, typer.Option(
        "--wrt", metavar="NAME,NAME", show_default=False,
        help="The variables to differentiate by (default: all), in this order: a whole vector or matrix (v), "
        "or one element (v[0], 'W[0, 1]').")] = None,
    hvp: Annotated[bool, typer.Option(
        "--hvp", help="The Hessian times a random direction d instead of the matrix, checked as PyTorch's "
        "gradgradcheck does (automatic past 100 variables).")] = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="The seed of the random direction of --hvp.")] = 0,
    no_symbolic: Annotated[bool, typer.Option("--no-symbolic", help="Skip the SymPy check.")] = False,
    no_numeric: Annotated[bool, typer.Option("--no-numeric", help="Skip the central differences.")] = False,
    symbolic_budget: Annotated[float, budget_option("Seconds SymPy's second derivatives may take.")] = 5.0,
    tie: TieOpt = "split",
    digits: DigitsOpt = 6,
    output_file: OutputFileOpt = None,
    format_given: Annotated[str | None, typer.Option(
        "--format", metavar="[table|json|markdown|latex|html]",
        help="table, json (the same as --json), markdown or latex (the matrix, the checks and the eigenvalues, "
        "for notes and write-ups), or html (one self-contained page: it loads nothing). Default: from --output's "
        "suffix, else table.", show_default=False)] = None,
    color: ColorOpt = "auto",
) -> None:
    """The Hessian: second derivatives by reverse mode over the gradient graph, checked three ways.

    Example: gradcalc hessian 'x^2*y + sin(x*y)' x=1 y=2

    Backprop builds the gradient as a graph of the same gates; the Hessian is
    its Jacobian. Each entry is checked against forward mode, central
    differences of the gradient and SymPy's second derivative; the matrix must
    be symmetric; its eigenvalues say whether a point where the gradient is 0
    is a minimum, a maximum or a saddle. Vectors and matrices count one
    variable per element: v[0], v[1], W[0, 1].

    Exit codes: 0 every check agrees, 1 one disagrees, 2 bad input, 4 the output could not be written.
    """
    from ..hessian import hessian as compute
    from ..values import parse_assignments

    try:
        reject_unknown_options(ctx, formula, values or [])
        color = check_color(color)
        if format_given is not None and format_given not in OUTPUT_FORMATS:
            raise GradcalcError(f"--format must be one of {', '.join(OUTPUT_FORMATS)}, not {format_given!r}",
                                kind="usage")
        if as_json and format_given not in (None, "json"):
            raise GradcalcError(f"--json and --format {format_given} ask for two formats", kind="usage",
                                hint="--json is short for --format json; give one of them")
        output_format = document_format(output_file, "json" if as_json else format_given, OUTPUT_FORMATS) or "table"
        as_json = output_format == "json"
        text, name, rest = read_source(formula, file, values or [])
        names = split_names(wrt) if wrt is not None else None
        result = compute(text, parse_assignments(rest), wrt=names, symbolic=not no_symbolic,
                         numeric=not no_numeric, symbolic_budget=symbolic_budget, tie=tie, name=name, hvp=hvp,
                         seed=seed)
    except GradcalcError as err:
        fail(err, as_json)
    warn(result.warnings)
    with report_to(output_file, as_json):
        _report(result, output_format, digits, color)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_DISAGREE)


def split_names(text: str) -> list[str]:
    """``--wrt`` at its commas, but not at those inside brackets: ``W[0, 1],x`` is W[0, 1] and x."""
    names: list[str] = []
    depth = 0
    start = 0
    for k, ch in enumerate(text):
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth <= 0:
            names.append(text[start:k])
            start = k + 1
    names.append(text[start:])
    found = [n.strip() for n in names if n.strip()]
    if not found:
        raise GradcalcError("--wrt names no variable", kind="usage", hint="--wrt x,y, or leave it out for all")
    return found


def _report(result: "HessianResult", output_format: str, digits: int, color: str) -> None:
    if output_format == "json":
        from ..render.hessian import hessian_doc

        emit_json(hessian_doc(result))
    elif output_format == "markdown":
        from ..render.markdown import hessian_markdown

        typer.echo(hessian_markdown(result, digits))
    elif output_format == "latex":
        from ..render.latex import hessian_latex

        typer.echo(hessian_latex(result, digits))
    elif output_format == "html":
        from ..display import html_page

        typer.echo(html_page(result, digits), nl=False)
    else:
        from ..render.hessian import hessian_report

        console_for(color).print(hessian_report(result, digits, plain=not sys.stdout.isatty()))
