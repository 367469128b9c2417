"""`gradcalc grad`: the gate table and the checked gradients of one formula or program."""

import sys
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import GradcalcError
from . import EXIT_DISAGREE, EXIT_OK
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
    budget_option,
    check_color,
    console_for,
    emit_json,
    fail,
    full_output_tape,
    read_source,
    reject_unknown_options,
    report_format,
    report_to,
    warn,
)

if TYPE_CHECKING:
    from ..api import GradResult
    from ..explain import Explanation


app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed


@app.command(context_settings=ARGS_SETTINGS)
def grad(
    ctx: typer.Context,
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
        float, budget_option("Seconds the SymPy check (and --format latex's derivatives) may take before it is "
                             "skipped.")
    ] = 5.0,
    tie: TieOpt = "split",
    target: TargetOpt = None,
    output_file: OutputFileOpt = None,
    fuse: FuseOpt = False,
    digits: DigitsOpt = 6,
    color: ColorOpt = "auto",
    format_given: Annotated[
        str | None,
        typer.Option("--format", metavar="[table|json|markdown|latex|html]",
                     help="table, json (the same as --json), markdown (tables for notes and issues), "
                     "latex (the symbolic derivatives and the gradient table, for a write-up) or html (one "
                     "self-contained page: the graph, the tables, the checks, the answers; it loads nothing). "
                     "Default: from --output's suffix, else table.", show_default=False),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Write out the chain rule for each variable, path by path.")
    ] = False,
    # Homework: answers judged to the digits given (see gradcalc/answers.py), one step of descent.
    expect_value: Annotated[list[str] | None, typer.Option(
        "--expect-value", metavar="NUM", help="Your answer for the output's value, judged to the digits given "
        "(once: the output has one value).",
        show_default=False)] = None,
    expect_grad: Annotated[list[str] | None, typer.Option(
        "--expect-grad", metavar="NAME=NUM", help="Your answer for ∂out/∂NAME (repeatable); one element of a "
        "vector or matrix is NAME[i] or NAME[i, j]. An answer may be a formula, judged as a function: "
        "'x=2*x*cos(x^2)' (also without values; likewise for the other --expect options).",
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
    formulas: Annotated[bool, typer.Option(
        "--formulas", help="Gradients as formulas: keep every variable without a value on the command line "
        "symbolic (a program's own values too). Without values for every variable this is what grad does.",
    )] = False,
    order: Annotated[int | None, typer.Option(
        "--order", metavar="N", help="For a function of one variable: f and its derivatives up to the N-th, "
        "each the gradient graph of the one before, checked against SymPy.", show_default=False)] = None,
) -> None:
    """Forward and backward passes with every gate shown, and every gradient cross-checked.

    Example: gradcalc grad '(x+y)*z' x=-2 y=5 z=-4

    Exit codes: 0 all checks agree (and all answers are right), 1 a check disagreed (or an answer is wrong),
    2 bad input, 4 the output could not be written, 130/143 interrupted.
    """
    from ..api import gradient
    from ..values import parse_assignments

    homework = bool(expect_value is not None or expect_grad or expect or expect_upstream or lr is not None or params)
    marks: list[Any] = []
    step: Any = None

    try:
        reject_unknown_options(ctx, formula, values or [])
        color = check_color(color)
        output_format = report_format(format_given, as_json, output_file, OUTPUT_FORMATS)
        as_json = output_format == "json"
        if tie not in ("split", "first", "all"):
            raise GradcalcError(f"--tie must be split, first or all, not {tie!r}", kind="usage")
        text, name, rest = read_source(formula, file, values or [])
        given = parse_assignments(rest)
        if order is not None:
            _orders(text, given, order, name, not no_symbolic, symbolic_budget, as_json, digits)
        if (as_json and not brief) or output_format == "markdown":  # outputs that list every node
            what = "--json without --brief" if as_json else "--format markdown"
            tape = full_output_tape(text, name, what, output=target, fuse=fuse)
        else:
            from ..pipeline import load

            tape = load(text, output=target, fuse=fuse, name=name)
        if homework:  # imported only when answers or a step are asked for: start-up is our speed
            from ..answers import Tolerance
            from ..judge import judge
            from ..step import descent_step
            from .homework_options import how_to_ask, parse_expectations, parse_params

            if expect_value and len(expect_value) > 1:
                raise GradcalcError(
                    f"--expect-value is given {len(expect_value)} times ({', '.join(expect_value)})",
                    kind="usage",
                    hint="the output has one value: give --expect-value once",
                )
            answers = parse_expectations(expect_value[0] if expect_value else None, expect_grad or [], expect or [],
                                         expect_upstream or [])
            step_params = parse_params(params, lr)
            if any(e.is_formula for e in answers) and lr is None:  # perhaps without values
                _formulas_alone(text, text if fuse else tape, given, answers, name, target, tie,
                                None if no_symbolic else symbolic_budget,
                                "brief" if brief and output_format == "table" else output_format, digits, color,
                                output_file)
        started = time.monotonic()  # of the run's one SymPy budget: the check's, then the LaTeX's
        if formulas or any(n not in given and n not in tape.defaults for n in tape.variables):
            _formulas(tape, given, formulas, homework, explain, output_format, brief, not no_symbolic,
                      symbolic_budget, output_file, color)
        result = gradient(
            tape,
            given,
            symbolic=not no_symbolic,
            numeric=not no_numeric,
            symbolic_budget=symbolic_budget,
            tie=tie,
            name=name,
        )
        if homework:
            left = None if no_symbolic else max(0.0, symbolic_budget - (time.monotonic() - started))
            marks = judge(result, answers, Tolerance(rtol, atol), how_to_ask, symbolic_budget=left)
            step = descent_step(result, lr, step_params) if lr is not None else None
    except GradcalcError as err:
        fail(err, as_json)
    warn(result.warnings)
    explanation = None
    if explain:
        from ..explain import explain as explain_chain

        explanation = explain_chain(result)
    with report_to(output_file, as_json):
        _report(result, output_format, brief, digits, explanation, marks, step,
                None if no_symbolic else (symbolic_budget, started), color)
    raise typer.Exit(EXIT_OK if result.ok and all(m.ok for m in marks) else EXIT_DISAGREE)


def _report(result: "GradResult", output_format: str, brief: bool, digits: int, explanation: "Explanation | None",
            marks: list[Any], step: Any, budget: tuple[float, float] | None, color: str) -> None:
    """The report in its format, on standard output."""
    as_json = output_format == "json"
    homework = bool(marks or step)
    if homework:
        from ..render.answers import add_to_doc, brief_lines, homework_report
    if as_json:
        from ..render.jsondoc import result_doc

        doc = result_doc(result, brief=brief)
        if explanation is not None:
            from ..explain import explanation_doc

            doc["explanation"] = explanation_doc(explanation)
        emit_json(add_to_doc(doc, marks, step) if homework else doc)
    elif output_format == "html":
        from ..display import html_page

        typer.echo(html_page(result, digits, explanation=explanation, marks=marks, step=step), nl=False)
    elif output_format in ("markdown", "latex"):
        _write_up(result, output_format, digits, explanation, budget)
        if (marks or step) and output_format == "markdown":  # the answers as a list
            from ..render.markdown import answers_markdown

            typer.echo("\n" + answers_markdown(marks, step, digits))
        elif marks or step:  # LaTeX: a tabular of the answers, and the step as an align*
            from ..render.latex import answers_latex

            typer.echo("\n" + answers_latex(marks, step, result.output_label, digits))
    elif brief:
        from ..render.brief import brief_report  # not rich: --brief is for scripts, and start-up is speed

        typer.echo(brief_report(result, digits))
        if marks or step:
            typer.echo(brief_lines(marks, step, digits))
    else:
        from ..render.table import full_report

        console = console_for(color)
        console.print(full_report(result, digits, plain=not sys.stdout.isatty()))
        if marks or step:
            console.print(homework_report(marks, step, result.output_label, digits, plain=not sys.stdout.isatty()))
    if explanation is not None and not as_json and output_format == "table":
        from ..render.explain import explanation_text

        typer.echo("\n" + explanation_text(explanation, digits))


OUTPUT_FORMATS = ("table", "json", "markdown", "latex", "html")


def _formulas(tape: Any, given: dict[str, Any], asked: bool, homework: bool, explain: bool, output_format: str,
              brief: bool, symbolic: bool, budget: float, output_file: Any, color: str) -> None:
    """A run with some values missing (or ``--formulas``): every gradient as a formula, checked by SymPy."""
    from ..formulas import formula_gradient

    missing = [n for n in tape.variables if n not in given and n not in tape.defaults]
    why = "with --formulas" if asked else f"without a value for {', '.join(missing)}"
    for wanted, what in ((homework, "answers and --lr"), (explain, "--explain"),
                         (output_format in ("markdown", "latex", "html"), f"--format {output_format}")):
        if wanted:
            raise GradcalcError(
                f"{what}: every variable needs a value, and this run is {why}", kind="usage",
                hint=f"add {' '.join(f'{n}=...' for n in missing)} after the formula" if missing
                else "drop --formulas",
            )
    values = dict(given) if asked else {**tape.defaults, **given}
    result = formula_gradient(tape, values, symbolic=symbolic, symbolic_budget=budget)
    warn(result.warnings)
    with report_to(output_file, output_format == "json"):
        if output_format == "json":
            from ..render.formulas import formula_doc

            emit_json(formula_doc(result))
        elif brief:
            from ..render.formulas import brief_formulas

            typer.echo(brief_formulas(result))
        else:
            from ..render.formulas import formula_report

            console_for(color).print(formula_report(result, plain=not sys.stdout.isatty()))
    raise typer.Exit(EXIT_OK if result.ok else EXIT_DISAGREE)


def _formulas_alone(text: str, loaded: Any, given: Any, answers: Any, name: str, target: str | None, tie: str,
                    budget: float | None, output_format: str, digits: int, color: str, output_file: Any) -> None:
    """Formula answers with values missing: the verdicts alone (no gate table), and the exit code.

    Returns (and the run goes on as usual) when every variable has a value.
    """
    from ..judge import judge_formulas_alone
    from .homework_options import how_to_ask

    marks = judge_formulas_alone(loaded, given, answers, output=target, name=name, tie=tie, symbolic_budget=budget,
                                 ask=how_to_ask)
    if marks is None:
        return
    if output_format == "html":
        raise GradcalcError("--format html: every variable needs a value, and this run judges formula answers "
                            "without values", kind="usage", hint="give every variable a value, or drop --format html")
    from ..render.answers import answers_doc, formula_report

    code = EXIT_OK if all(m.ok for m in marks) else EXIT_DISAGREE
    with report_to(output_file, output_format == "json"):
        if output_format == "json":
            emit_json({"schema": 1, "formula": text, "answers": answers_doc(marks),
                       "answers_right": sum(m.ok for m in marks), "status": "ok" if code == EXIT_OK else "wrong"})
        elif output_format == "brief":
            from ..render.answers import brief_lines

            typer.echo(brief_lines(marks, None, digits))
        elif output_format == "markdown":
            from ..render.markdown import answers_markdown

            typer.echo(answers_markdown(marks, None, digits))
        elif output_format == "latex":
            from ..render.latex import answers_latex

            typer.echo(answers_latex(marks, None, marks[0].formula.output, digits))
        else:
            console_for(color).print(formula_report(marks, plain=not sys.stdout.isatty()))
    raise typer.Exit(code)


def _write_up(result: "GradResult", output_format: str, digits: int, explanation: "Explanation | None",
              budget: tuple[float, float] | None) -> None:
    """--format markdown or latex (the LaTeX derivatives from SymPy, in a child on what is left of the budget).

    ``budget``: the SymPy budget in seconds and when it began, or None when SymPy is off.
    """
    if output_format == "markdown":
        from ..render.markdown import markdown_report

        typer.echo(markdown_report(result, digits, explanation))
        return
    from ..render.latex import collect_latex, latex_report

    symbolic = collect_latex(result, *budget) if budget is not None else None
    typer.echo(latex_report(result, digits, symbolic, explanation))


def _orders(text: str, given: Any, order: int, name: str, symbolic: bool, budget: float, as_json: bool,
            digits: int) -> None:
    """``--order N``: f, f′, ..., f⁽ᴺ⁾ of a function of one variable, each checked against SymPy."""
    from ..hessian import derivatives_of_order
    from ..render.numbers import fmt, num

    r = derivatives_of_order(text, given, order, symbolic=symbolic, symbolic_budget=budget, name=name)
    primes = ["f"] + [f"f^({k})" if k > 3 else "f" + "′" * k for k in range(1, order + 1)]
    if as_json:
        emit_json({
            "formula": text, "variable": r.variable, "at": num(r.point), "order": order,
            "derivatives": [num(v) for v in r.values],
            "sympy": None if r.symbolic is None else [num(v) for v in r.symbolic],
            "formulas": r.formulas, "disagreeing": r.disagreeing(), "sympy_reason": r.symbolic_reason,
            "status": "ok" if r.ok else "disagree",
        })
    else:
        width = max(len(p) for p in primes)
        print(f"derivatives by {r.variable} at {r.variable} = {fmt(r.point, digits)}, each the gradient graph of the "
              "one before")
        for k, (label, value) in enumerate(zip(primes, r.values, strict=True)):
            line = f"  {label:<{width}} = {fmt(value, digits)}"
            if k and r.symbolic is not None:
                s = r.symbolic[k - 1]
                line += "   ✓ SymPy" if k not in r.disagreeing() else f"   ✗ SymPy says {fmt(s, digits)}"
            print(line)
        if r.symbolic is None and r.symbolic_reason:
            print(f"SymPy check skipped: {r.symbolic_reason}")
    raise typer.Exit(EXIT_OK if r.ok else EXIT_DISAGREE)

