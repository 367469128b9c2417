"""`gradcalc graph`: the computational graph as a picture, values and gradients on the edges."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from ..errors import GradcalcError
from . import EXIT_OK
from .common import (
    ARGS_SETTINGS,
    FileOpt,
    FormulaArg,
    FuseOpt,
    TargetOpt,
    TieOpt,
    ValuesArg,
    fail,
    full_output_tape,
    read_source,
    reject_unknown_options,
    warn,
    write_file,
)

if TYPE_CHECKING:
    from ..api import GradResult
    from ..backward_graph import BackwardGraph

GRAPH_FORMATS = ("dot", "svg", "png", "pdf", "mermaid")
# The format each file name asks for; a file with any other suffix is refused, never written in the wrong format.
SUFFIXES = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".pdf": "pdf", ".mmd": "mermaid",
            ".mermaid": "mermaid"}
BINARY = ("png", "pdf")


app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed


@app.command(context_settings=ARGS_SETTINGS)
def graph(
    ctx: typer.Context,
    formula: FormulaArg = None,
    values: ValuesArg = None,
    file: FileOpt = None,
    graph_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="[dot|svg|png|pdf|mermaid]",
            help="dot (Graphviz text, needs nothing installed), svg, png or pdf (drawn by Graphviz's dot), "
            "or mermaid (flowchart LR, pastes into Markdown). Default: from --output's suffix, else dot.",
            show_default=False,
        ),
    ] = None,
    output_file: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the picture to this file, replacing it whole or not at all "
                     "('-' or none: standard output); its suffix says the format: .dot or .gv, .svg, .png, .pdf, "
                     ".mmd.", show_default=False),
    ] = None,
    target: TargetOpt = None,
    tie: TieOpt = "split",
    fuse: FuseOpt = False,
    digits: Annotated[int, typer.Option("--digits", min=1, max=17, help="Significant digits on the edges.")] = 4,
    backward: Annotated[bool, typer.Option(
        "--backward", help="Draw the gradient graph instead: backprop as a computational graph of its own, "
        "each gradient a node (∂f/∂q), values on the edges when values are given (none needed).")] = False,
) -> None:
    """Draw the computational graph: forward values (green) and gradients (red) on every edge.

    Example: gradcalc graph '(x+y)*z' x=-2 y=5 z=-4 --format svg --output g.svg

    Inputs are on the left and the output on the right; a value used twice has two edges, each with
    its share of the gradient. SVG, PNG and PDF need Graphviz (https://graphviz.org) installed.

    With --backward: the gradient graph, whose nodes compute ∂f/∂x for every variable from the same
    gates, drawn with or without values (gradcalc graph '(x+y)*z' --backward).

    Exit codes: 0 drawn, 2 bad input or Graphviz missing, 4 the picture could not be written.
    """
    from ..api import gradient
    from ..values import parse_assignments

    try:
        reject_unknown_options(ctx, formula, values or [])
        destination = output_file if output_file is not None else Path("-")
        to_stdout = str(destination) == "-"
        kind = _format(graph_format, None if to_stdout else destination)
        if kind in BINARY and to_stdout and sys.stdout.isatty():
            raise GradcalcError(
                f"a {kind.upper()} is binary and would garble the terminal",
                kind="usage",
                hint=f"add --output graph.{kind}, or pipe the output into a file",
            )
        text, name, rest = read_source(formula, file, values or [])
        tape = full_output_tape(text, name, "a picture", output=target, fuse=fuse,
                                hint="gradcalc grad --brief gives the value and every gradient at any size")
        if backward:
            from ..backward_graph import backward_graph

            bg = backward_graph(tape, parse_assignments(rest), tie=tie, name=name)
            warn(bg.warnings)
            data = _render_backward(bg, kind, digits)
        else:
            given = parse_assignments(rest)
            if any(n not in given and n not in tape.defaults for n in tape.variables):
                from ..formulas import formula_gradient, picture  # without values: formulas on the edges

                fg = formula_gradient(tape, {**tape.defaults, **given}, symbolic=False)
                warn(fg.warnings)
                data = _render(cast("GradResult", picture(fg)), kind, digits)
            else:
                result = gradient(tape, given, symbolic=False, numeric=False, tie=tie, name=name)
                warn(result.warnings)
                data = _render(result, kind, digits)
    except GradcalcError as err:
        fail(err, False)
    write_file(destination, data, as_json=False)
    if not to_stdout:
        from ..render.escape import terminal

        typer.echo(f"wrote {terminal(str(destination))} ({kind})", err=True)
    raise typer.Exit(EXIT_OK)


def _format(given: str | None, output_file: Path | None) -> str:
    """The format asked for: by --format, by the file name's suffix, or both when they agree."""
    kind = None
    if given is not None:
        kind = given.lower()
        if kind not in GRAPH_FORMATS:
            raise GradcalcError(
                f"--format must be one of {', '.join(GRAPH_FORMATS)}, not {given!r}",
                kind="usage",
                hint="dot needs nothing installed; svg, png and pdf need Graphviz",
            )
    if output_file is None or _is_device(output_file):  # a pipe or /dev/null has no format of its own
        return kind or "dot"
    from ..render.escape import terminal

    named = SUFFIXES.get(output_file.suffix.lower())
    if named is None:
        raise GradcalcError(
            f"--output {terminal(str(output_file))}: the file name does not say which picture format to write",
            kind="usage",
            hint=f"end it in one of {', '.join(SUFFIXES)}",
        )
    if kind is not None and kind != named:
        raise GradcalcError(
            f"--format {kind} and --output {terminal(str(output_file))} ask for two formats "
            f"(the suffix {output_file.suffix} is {named})",
            kind="usage",
            hint=f"name the file with {', '.join(k for k, v in SUFFIXES.items() if v == kind)}, or drop --format",
        )
    return named


def _is_device(path: Path) -> bool:
    """An existing file that is not a regular file (a device, a pipe): written to as it is, whatever its name."""
    import stat

    try:
        return not stat.S_ISREG(path.stat().st_mode) and not path.is_dir()
    except OSError:
        return False


def _render(result: "GradResult", kind: str, digits: int) -> str | bytes:
    from ..render.dot import drawn, run_dot, to_dot

    if kind == "mermaid":
        from ..render.mermaid import to_mermaid

        return to_mermaid(result, digits)
    dot_text = to_dot(result, digits)
    if kind == "dot":
        return dot_text
    data = run_dot(dot_text, kind, len(drawn(result)))
    return data.decode("utf-8") if kind == "svg" else data


def _render_backward(bg: "BackwardGraph", kind: str, digits: int) -> str | bytes:
    from ..render.dot import backward_dot, run_dot

    if kind == "mermaid":
        from ..render.mermaid import backward_mermaid

        return backward_mermaid(bg, digits)
    dot_text = backward_dot(bg, digits)
    if kind == "dot":
        return dot_text
    data = run_dot(dot_text, kind, len(bg.nodes) + len(bg.outputs))
    return data.decode("utf-8") if kind == "svg" else data
