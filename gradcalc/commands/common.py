"""What the commands share: their common options, reading the input, and output at the edge.

Every command imports from here, and this module imports no command, so any one
command loads without the others (see :mod:`gradcalc.cli`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ..errors import GradcalcError
from ..limits import MAX_FULL_NODES, MAX_SOURCE_CHARS
from . import EXIT_BAD_INPUT

if TYPE_CHECKING:
    from ..tape import Tape

# Formulas may start with '-' ("-x^2") and values with a name ("x=-2"); anything
# click does not know as an option is handed through as an argument.
ARGS_SETTINGS = {"ignore_unknown_options": True, "allow_interspersed_args": True}

# ---------------------------------------------------------------------------
# Options shared by commands, declared once.

FormulaArg = Annotated[
    str | None,
    typer.Argument(
        help="The formula or program, e.g. '(x+y)*z'; '-' reads it from standard input.",
        show_default=False,
    ),
]
ValuesArg = Annotated[
    list[str] | None,
    typer.Argument(help="Values as NAME=VALUE, e.g. x=-2 y=5 z=-4.", show_default=False),
]
FileOpt = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="Read the formula or program from a file.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
DigitsOpt = Annotated[
    int, typer.Option("--digits", min=1, max=17, help="Significant digits in tables (JSON is always exact).")
]
TieOpt = Annotated[
    str,
    typer.Option(
        "--tie",
        help="Gradient at a max/min tie: split (evenly, as PyTorch and JAX), first, or all (CS231n's indicator).",
    ),
]
FuseOpt = Annotated[
    bool,
    typer.Option("--fuse", help="Collapse known chains into one gate: 1/(1+exp(-z)) → sigmoid(z), "
                 "exp(z)/sum(exp(z)) → softmax(z), log(sum(exp(z))) → logsumexp(z)."),
]
OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", help="In a program, the name whose gradient to take (default: the last).",
                 show_default=False),
]


# ---------------------------------------------------------------------------
# Reading input


def read_source(formula: str | None, file: Path | None, values: list[str]) -> tuple[str, str, list[str]]:
    """The formula text, a name for it, and the value arguments, within the size limit.

    Files and standard input are read as UTF-8 (a byte-order mark is dropped)
    and never past the limit, so ``--file /dev/zero`` ends with an error too.
    """
    if file is not None:
        if formula is not None:
            values = [formula, *values]
        name = str(file)
        try:
            with file.open("rb") as stream:
                data = stream.read(_MAX_BYTES + 1)
        except OSError as exc:
            raise GradcalcError(
                f"cannot read {name}: {exc.strerror or exc}", kind="file", hint="check the path"
            ) from None
        text = _decode(data, name)
    elif formula is None:
        raise GradcalcError(
            "no formula given", kind="usage", hint="gradcalc grad '(x+y)*z' x=-2 y=5 z=-4, or --file PATH"
        )
    elif formula == "-":
        name = "<stdin>"
        text = _decode(sys.stdin.buffer.read(_MAX_BYTES + 1), name)
    else:
        name, text = "<formula>", formula
    if len(text) > MAX_SOURCE_CHARS:
        raise GradcalcError(
            f"{_what(name)} is {len(text):,} characters, more than the limit of {MAX_SOURCE_CHARS:,}",
            kind="limit",
            hint="split the work into smaller formulas",
        )
    if sum(len(v) for v in values) > MAX_SOURCE_CHARS:
        raise GradcalcError(
            f"the values are more than {MAX_SOURCE_CHARS:,} characters long",
            kind="limit",
            hint="give fewer or smaller values",
        )
    return text, name, values


# UTF-8 spends at most 4 bytes on a character: reading one byte more than this
# is enough to know the text is past the limit.
_MAX_BYTES = 4 * MAX_SOURCE_CHARS


def _what(name: str) -> str:
    return "the formula" if name in ("<formula>", "<stdin>") else name


def _decode(data: bytes, name: str) -> str:
    if len(data) > _MAX_BYTES:
        raise GradcalcError(
            f"{_what(name)} is more than {_MAX_BYTES:,} bytes, past the limit of {MAX_SOURCE_CHARS:,} characters",
            kind="limit",
            hint="split the work into smaller formulas",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8-sig")
        line = good.count("\n") + 1
        column = len(good) - (good.rfind("\n") + 1) + 1
        raise GradcalcError(
            f"{name} is not UTF-8 text: byte {exc.start} (line {line}, column {column}) is 0x{data[exc.start]:02X}",
            kind="file",
            hint="save the file as UTF-8",
        ) from None


def full_output_tape(text: str, name: str, what: str, *, output: str | None = None, fuse: bool = False,
                     hint: str = "--brief gives the value and every gradient at any size") -> Tape:
    """The tape of a run whose output shows every node, refused past MAX_FULL_NODES before any pass."""
    from ..pipeline import load

    tape = load(text, output=output, fuse=fuse, name=name)
    if len(tape.nodes) > MAX_FULL_NODES:
        raise GradcalcError(
            f"{what} would show all {len(tape.nodes):,} nodes of the graph, more than the limit of {MAX_FULL_NODES:,}",
            kind="limit",
            hint=hint,
        )
    return tape


# ---------------------------------------------------------------------------
# Output at the edge


def fail(err: GradcalcError, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(json.dumps(err.to_json(), ensure_ascii=False))
    else:
        typer.echo(err.render(), err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def warn(messages: list[str]) -> None:
    for message in messages:
        typer.echo(f"warning: {message}", err=True)


def emit_json(doc: dict[str, Any]) -> None:
    from ..render.jsondoc import dumps

    typer.echo(dumps(doc))
