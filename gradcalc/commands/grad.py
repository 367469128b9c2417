"""`gradcalc grad`: the gate table and the checked gradients of one formula or program."""

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
    FuseOpt,
    JsonOpt,
    OutputOpt,
    TieOpt,
    ValuesArg,
    emit_json,
    fail,
    full_output_tape,
    read_source,
    warn,
)

if TYPE_CHECKING:
    from ..api import GradResult
    from ..explain import Explanation


app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed


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
    output_format: Annotated[
        str,
        typer.Option("--format", help="table, json (the same as --json), markdown (tables for notes and issues) "
                     "or latex (the symbolic derivatives and the gradient table, for a write-up)."),
    ] = "table",
    explain: Annotated[
        bool, typer.Option("--explain", help="Write out the chain rule for each variable, path by path.")
    ] = False,
    # Homework: answers judged to the digits given (see gradcalc/answers.py), one step of descent.
    expect_value: Annotated[str | None, typer.Option(
        "--expect-value", metavar="NUM", help="Your answer for the output's value, judged to the digits given.",
        show_default=False)] = None,
    expect_grad: Annotated[list[str] | None, typer.Option(
        "--expect-grad", metavar="NAME=NUM", help="Your answer for ∂out/∂NAME (repeatable); one element of a "
        "vector or matrix is NAME[i] or NAME[i, j].",
        show_default=False)] = None,
    expect: Annotated[list[str] | None, typer.Option(
        "--expect", metavar="NODE=NUM", help="Your answer for a node's value, by its name in the gate table "
        "(q, or a program's h1); repeatable.", show_default=False)] = None,
    expect_upstream: Annotated[list[str] | None, typer.Option(
        "--expect-upstream", metavar="NODE=NUM", help="Your answer for the upstream gradient ∂out/∂NODE "
        "(repeatable).", show_default=False)] = None,
    rtol: Annotated[float | None, typer.Option(
        "--rtol", min=0.0, help="Judge answers by this relative tolerance instead of their digits.",
        show_default=False)] = None,
    atol: Annotated[float | None, typer.Option(
        "--atol", min=0.0, help="Judge answers by this absolute tolerance instead of their digits.",
        show_default=False)] = None,
    lr: Annotated[float | None, typer.Option(
        "--lr", metavar="ALPHA", help="Add one step of gradient descent: v - ALPHA·∂out/∂v.",
        show_default=False)] = None,
    params: Annotated[str | None, typer.Option(
        "--params", metavar="A,B", help="With --lr: step only these variables.", show_default=False)] = None,
) -> None:
    """Forward and backward passes with every gate shown, and every gradient cross-checked.

    Example: gradcalc grad '(x+y)*z' x=-2 y=5 z=-4

    Exit codes: 0 all checks agree (and all answers are right), 1 a check disagreed (or an answer is wrong),
    2 bad input.
    """
    from ..api import gradient
    from ..values import parse_assignments

    homework = bool(expect_value is not None or expect_grad or expect or expect_upstream or lr is not None or params)
    marks: list[Any] = []
    step: Any = None

    as_json = as_json or output_format == "json"
    try:
        _check_format(output_format, as_json)
        if tie not in ("split", "first", "all"):
            raise GradcalcError(f"--tie must be split, first or all, not {tie!r}", kind="usage")
        text, name, rest = read_source(formula, file, values or [])
        given = parse_assignments(rest)
        if homework:  # imported only when answers or a step are asked for: start-up is our speed
            from ..answers import Tolerance
            from ..judge import judge
            from ..step import descent_step
            from .homework_options import how_to_ask, parse_expectations, parse_params

            answers = parse_expectations(expect_value, expect_grad or [], expect or [], expect_upstream or [])
            step_params = parse_params(params, lr)
        tape = None
        if (as_json and not brief) or output_format == "markdown":  # outputs that list every node
            what = "--json without --brief" if as_json else "--format markdown"
            tape = full_output_tape(text, name, what, output=output, fuse=fuse)
        result = gradient(
            text if tape is None else tape,
            given,
            symbolic=not no_symbolic,
            numeric=not no_numeric,
            symbolic_budget=symbolic_budget,
            tie=tie,
            output=output if tape is None else None,  # a tape is built for its output, and fused
            name=name,
            fuse=fuse and tape is None,
        )
        if homework:
            marks = judge(result, answers, Tolerance(rtol, atol), how_to_ask)
            step = descent_step(result, lr, step_params) if lr is not None else None
    except GradcalcError as err:
        fail(err, as_json)
    warn(result.warnings)
    if homework:
        from ..render.answers import add_to_doc, brief_lines, homework_report

    explanation = None
    if explain:
        from ..explain import explain as explain_chain

        explanation = explain_chain(result)
    if as_json:
        from ..render.jsondoc import result_doc

        doc = result_doc(result, brief=brief)
        if explanation is not None:
            from ..explain import explanation_doc

            doc["explanation"] = explanation_doc(explanation)
        emit_json(add_to_doc(doc, marks, step) if homework else doc)
    elif output_format in ("markdown", "latex"):
        _write_up(result, output_format, digits, explanation, symbolic_budget if not no_symbolic else None)
        if (marks or step) and output_format == "markdown":  # the answers as a list
            typer.echo("\n" + "\n".join(f"- {line}" for line in brief_lines(marks, step, digits).splitlines()))
        elif marks or step:  # LaTeX: a tabular of the answers, and the step as an align*
            from ..render.latex import answers_latex

            typer.echo("\n" + answers_latex(marks, step, result.output_label, digits))
    elif brief:
        from ..render.brief import brief_report  # not rich: --brief is for scripts, and start-up is speed

        typer.echo(brief_report(result, digits))
        if marks or step:
            typer.echo(brief_lines(marks, step, digits))
    else:
        from ..render.table import full_report, make_console

        console = make_console()
        console.print(full_report(result, digits, plain=not sys.stdout.isatty()))
        if marks or step:
            console.print(homework_report(marks, step, result.output_label, digits, plain=not sys.stdout.isatty()))
    if explanation is not None and not as_json and output_format == "table":
        from ..render.explain import explanation_text

        typer.echo("\n" + explanation_text(explanation, digits))
    raise typer.Exit(EXIT_OK if result.ok and all(m.ok for m in marks) else EXIT_DISAGREE)


OUTPUT_FORMATS = ("table", "json", "markdown", "latex")


def _check_format(output_format: str, as_json: bool) -> None:
    if output_format not in OUTPUT_FORMATS:
        raise GradcalcError(
            f"--format must be one of {', '.join(OUTPUT_FORMATS)}, not {output_format!r}", kind="usage"
        )
    if as_json and output_format not in ("json", "table"):
        raise GradcalcError(f"--json and --format {output_format} ask for two formats", kind="usage",
                            hint="--json is short for --format json; give one of them")


def _write_up(result: "GradResult", output_format: str, digits: int, explanation: "Explanation | None",
              budget: float | None) -> None:
    """--format markdown or latex (the LaTeX derivatives from SymPy, in a budgeted child)."""
    if output_format == "markdown":
        from ..render.markdown import markdown_report

        typer.echo(markdown_report(result, digits, explanation))
        return
    from ..render.latex import collect_latex, latex_report

    symbolic = collect_latex(result, budget) if budget is not None else None
    typer.echo(latex_report(result, digits, symbolic, explanation))
