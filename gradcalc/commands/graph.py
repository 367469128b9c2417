"""`gradcalc graph`: the computational graph as a picture, values and gradients on the edges."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import GradcalcError
from . import EXIT_OK
from .common import (
    ARGS_SETTINGS,
    FileOpt,
    FormulaArg,
    FuseOpt,
    TieOpt,
    ValuesArg,
    fail,
    full_output_tape,
    read_source,
    warn,
)

if TYPE_CHECKING:
    from ..api import GradResult

GRAPH_FORMATS = ("dot", "svg", "png", "mermaid")
SUFFIXES = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".mmd": "mermaid", ".mermaid": "mermaid"}


app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed


@app.command(context_settings=ARGS_SETTINGS)
def graph(
    formula: FormulaArg = None,
    values: ValuesArg = None,
    file: FileOpt = None,
    graph_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="dot (Graphviz text, needs nothing installed), svg or png (drawn by Graphviz's dot), "
            "or mermaid (flowchart LR, pastes into Markdown). Default: from --output's suffix, else dot.",
            show_default=False,
        ),
    ] = None,
    output_file: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the picture to this file (default: standard output).",
                     show_default=False),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="In a program, the name whose graph to draw (default: the last).",
                     show_default=False),
    ] = None,
    tie: TieOpt = "split",
    fuse: FuseOpt = False,
    digits: Annotated[int, typer.Option("--digits", min=1, max=17, help="Significant digits on the edges.")] = 4,
) -> None:
    """Draw the computational graph: forward values (green) and gradients (red) on every edge.

    Example: gradcalc graph '(x+y)*z' x=-2 y=5 z=-4 --format svg --output g.svg

    Inputs are on the left and the output on the right; a value used twice has two edges, each with
    its share of the gradient. SVG and PNG need Graphviz (https://graphviz.org) installed.

    Exit codes: 0 drawn, 2 bad input or Graphviz missing.
    """
    from ..api import gradient
    from ..values import parse_assignments

    try:
        kind = _format(graph_format, output_file)
        if kind == "png" and output_file is None and sys.stdout.isatty():
            raise GradcalcError(
                "a PNG is binary and would garble the terminal",
                kind="usage",
                hint="add --output graph.png, or pipe the output into a file",
            )
        text, name, rest = read_source(formula, file, values or [])
        tape = full_output_tape(text, name, "a picture", output=target, fuse=fuse,
                                hint="gradcalc grad --brief gives the value and every gradient at any size")
        result = gradient(tape, parse_assignments(rest), symbolic=False, numeric=False, tie=tie, name=name)
        warn(result.warnings)
        data = _render(result, kind, digits)
        if output_file is None:
            if isinstance(data, str):
                typer.echo(data, nl=False)
            else:
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
        else:
            _write(output_file, data)
            typer.echo(f"wrote {output_file} ({kind})", err=True)
    except GradcalcError as err:
        fail(err, False)
    raise typer.Exit(EXIT_OK)


def _format(given: str | None, output_file: Path | None) -> str:
    if given is not None:
        kind = given.lower()
        if kind not in GRAPH_FORMATS:
            raise GradcalcError(
                f"--format must be one of {', '.join(GRAPH_FORMATS)}, not {given!r}",
                kind="usage",
                hint="dot needs nothing installed; svg and png need Graphviz",
            )
        return kind
    if output_file is not None:
        return SUFFIXES.get(output_file.suffix.lower(), "dot")
    return "dot"


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


def _write(path: Path, data: str | bytes) -> None:
    try:
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
    except OSError as exc:
        raise GradcalcError(
            f"cannot write {path}: {exc.strerror or exc}", kind="file", hint="check the directory exists"
        ) from None
