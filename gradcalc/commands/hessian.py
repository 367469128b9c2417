"""`gradcalc hessian`: the matrix of second derivatives, checked, with its eigenvalues and what they say."""

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import GradcalcError
from . import EXIT_DISAGREE, EXIT_OK
from .common import (
    ARGS_SETTINGS,
    DigitsOpt,
    FileOpt,
    FormulaArg,
    JsonOpt,
    TieOpt,
    ValuesArg,
    budget_option,
    emit_json,
    fail,
    read_source,
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
        text, name, rest = read_source(formula, file, values or [])
        names = [n.strip() for n in wrt.split(",") if n.strip()] if wrt else None
        result = compute(text, parse_assignments(rest), wrt=names, symbolic=not no_symbolic,
                         numeric=not no_numeric, symbolic_budget=symbolic_budget, tie=tie, name=name)
    except GradcalcError as err:
        fail(err, as_json)
    warn(result.warnings)
    if as_json:
        emit_json(hessian_doc(result))
    else:
        _print(result, digits)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_DISAGREE)


def hessian_doc(result: "HessianResult") -> dict[str, Any]:
    from ..render.numbers import num

    def grid(rows: Any) -> Any:
        return None if rows is None else [[num(v) for v in row] for row in rows]

    return {
        "formula": result.tape.source.text,
        "output": result.tape.nodes[result.tape.output].label,
        "value": num(result.value),
        "variables": result.variables,
        "gradient": [num(g) for g in result.gradient],
        "hessian": grid(result.hessian),
        "forward": grid(result.forward),
        "numeric": grid(result.numeric),
        "sympy": grid(result.symbolic),
        "symmetric": result.symmetric,
        "eigenvalues": [num(e) for e in result.eigenvalues],
        "definiteness": result.definiteness,
        "meaning": result.meaning,
        "checks": {"ok": result.ok, "disagreeing": result.disagreeing(), "sympy_reason": result.symbolic_reason},
        "conventions": result.kinks,
        "status": "ok" if result.ok else "disagree",
    }


def _print(result: "HessianResult", digits: int) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ..render.numbers import fmt
    from ..render.table import make_console

    plain = not sys.stdout.isatty()
    out = result.tape.nodes[result.tape.output].label
    table = Table(box=box.ASCII2 if plain else box.SIMPLE_HEAD)
    table.add_column(f"∂²{out}/∂·∂·", style="bold")
    for label in result.variables:
        table.add_column(label, justify="right", no_wrap=True)
    for label, row in zip(result.variables, result.hessian, strict=True):
        table.add_row(label, *[fmt(v, digits) for v in row])
    console = make_console()
    console.print(f"{out} = {fmt(result.value, digits)}")
    console.print("Hessian: rows by reverse mode over the gradient graph")
    console.print(table)
    wrong = result.disagreeing()
    witnesses = ["forward mode"]
    if result.numeric is not None:
        witnesses.append("central differences of the gradient")
    if result.symbolic is not None:
        witnesses.append("SymPy")
    agreed = [w for w in witnesses if w.split()[0].lower() not in {x.lower() for x in wrong} and not (
        w.startswith("central") and "numeric" in wrong)]
    console.print(Text(f"{'✓' if result.symmetric else '✗'} {'symmetric' if result.symmetric else 'NOT symmetric'}; "
                       f"{', '.join(agreed)} agree" + (f"; DISAGREE: {', '.join(wrong)}" if wrong else ""),
                       style="green" if not wrong else "bold red"))
    if result.symbolic is None and result.symbolic_reason:
        console.print(Text(f"SymPy check skipped: {result.symbolic_reason}", style="yellow"))
    for note in result.kinks:
        console.print(Text(f"non-differentiable point at {note}: central differences are not checked",
                           style="yellow"))
    eig = ", ".join(fmt(e, digits) for e in result.eigenvalues)
    console.print(f"eigenvalues: {eig or '—'}: {result.definiteness}, {result.meaning}")
