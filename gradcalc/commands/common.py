"""What the commands share: their common options, reading the input, and output at the edge.

Every command imports from here, and this module imports no command, so any one
command loads without the others (see :mod:`gradcalc.cli`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ..budget import MAX_SECONDS
from ..errors import GradcalcError
from ..limits import MAX_FULL_NODES, MAX_SOURCE_CHARS
from . import EXIT_BAD_INPUT, EXIT_OUTPUT

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
        metavar="[split|first|all]",
        help="Gradient at a max/min tie: split (evenly, as PyTorch and JAX), first, or all (CS231n's indicator).",
    ),
]
FuseOpt = Annotated[
    bool,
    typer.Option("--fuse", help="Collapse known chains into one gate: 1/(1+exp(-z)) → sigmoid(z), "
                 "exp(z)/sum(exp(z)) → softmax(z), log(sum(exp(z))) → logsumexp(z)."),
]


def budget_option(help: str) -> Any:
    """``--symbolic-budget SECONDS``: from 0.1 to :data:`gradcalc.budget.MAX_SECONDS` seconds.

    Click's own range lets NaN through (every comparison with it is false), and an
    infinite or huge budget would overflow the deadline: both are refused here.
    """
    return typer.Option("--symbolic-budget", metavar="SECONDS", callback=_budget,
                        help=f"{help} At most {MAX_SECONDS:g}.")


def _budget(value: float | None) -> float | None:
    if value is None:  # not given, where the option has no default of its own (gradcalc batch)
        return value
    if not 0.1 <= value <= MAX_SECONDS:  # NaN fails too
        raise typer.BadParameter(f"{value:g} is not a number of seconds from 0.1 to {MAX_SECONDS:g} "
                                 "(the longest budget)")
    return value


# One meaning per flag in every command: --target NAME chooses a program's node, -o/--output FILE
# says where the command's document goes.  (--output once chose the node in grad, trace, jacobian and
# descend; a value without a suffix is refused with a hint, never silently written to a file.)
TargetOpt = Annotated[
    str | None,
    typer.Option("--target", metavar="NAME", help="In a program, the name whose result to take (default: the "
                 "last statement).", show_default=False),
]
OutputFileOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of standard output, "
                 "replacing it whole or not at all; its suffix says the format: .txt (tables), .json, .html (where "
                 "--format has html), and for grad .md and .tex.", show_default=False),
]

COLORS = ("auto", "always", "never")
ColorOpt = Annotated[
    str,
    typer.Option("--color", metavar="[auto|always|never]", help="Colour in tables: auto (on a terminal, unless "
                 "NO_COLOR is set; FORCE_COLOR turns it on in a pipe), always, or never."),
]


def check_color(color: str) -> str:
    """The --color choice, with auto decided by NO_COLOR and FORCE_COLOR as rich reads them."""
    if color not in COLORS:
        raise GradcalcError(f"--color must be one of {', '.join(COLORS)}, not {color!r}", kind="usage")
    if color == "auto" and os.environ.get("NO_COLOR", ""):
        return "never"
    if color == "auto" and os.environ.get("FORCE_COLOR", ""):
        return "always"
    return color


def console_for(color: str) -> Any:
    """The console of the tables (:func:`gradcalc.render.table.make_console`), coloured as --color says."""
    from ..render.table import make_console

    console = make_console()
    if color == "auto":
        return console
    from rich.console import Console

    return Console(file=sys.stdout, width=console.width, color_system="standard" if color == "always" else None,
                   force_terminal=color == "always", no_color=color == "never", highlight=False, markup=False,
                   emoji=False, soft_wrap=console.soft_wrap)


# The format each document file's name asks for.
DOCUMENT_SUFFIXES = {".txt": "table", ".json": "json", ".jsonl": "jsonl", ".csv": "csv", ".md": "markdown",
                     ".tex": "latex", ".html": "html", ".htm": "html"}

# --format for the commands whose report is tables: the same as --json, or one self-contained HTML page.
REPORT_FORMATS = ("table", "json", "html")
ReportFormatOpt = Annotated[
    str | None,
    typer.Option("--format", metavar="[table|json|html]",
                 help="table, json (the same as --json) or html (one self-contained page to open in a browser: "
                 "it loads nothing). Default: from --output's suffix, else table.", show_default=False),
]


def report_format(given: str | None, as_json: bool, path: Path | None,
                  known: tuple[str, ...] = REPORT_FORMATS) -> str:
    """The report's format from --format, --json and --output's suffix; two that differ are a usage error."""
    if given is not None and given not in known:
        raise GradcalcError(f"--format must be one of {', '.join(known)}, not {given!r}", kind="usage")
    if as_json and given not in (None, "json", "table"):
        raise GradcalcError(f"--json and --format {given} ask for two formats", kind="usage",
                            hint="--json is short for --format json; give one of them")
    return document_format(path, "json" if as_json else given, known) or "table"


# ---------------------------------------------------------------------------
# Unknown options

# Option names longer than this are not compared ("did you mean"): the comparison stays cheap.
MAX_OPTION_CHARS = 40
# `--word` as a formula: --x is -(-x), a formula; a longer word after "--" is taken for an option.
_OPTION_LIKE = re.compile(r"--[A-Za-z][A-Za-z0-9-]*(=.*)?\Z", re.S)


def option_names(command: Any) -> list[str]:
    """The long option names of a click command, as typed: --json, --no-symbolic, ..."""
    return [name for param in command.params for name in (*param.opts, *param.secondary_opts)
            if name.startswith("--")]


def close_options(given: str, names: list[str]) -> list[str]:
    """The options ``given`` may be a misspelling of (difflib, as click suggests), nearest first."""
    import difflib

    word = given.split("=", 1)[0][:MAX_OPTION_CHARS]
    return difflib.get_close_matches(word, [n for n in names if len(n) <= MAX_OPTION_CHARS], n=3, cutoff=0.6)


def reject_unknown_options(ctx: typer.Context, formula: str | None, values: list[str]) -> None:
    """An unknown ``--option`` among the arguments is a usage error that suggests the option meant.

    The commands let unknown options through as arguments (a formula may start with '-'), so
    click cannot say it; an unknown option in the formula's place would otherwise be read as the
    formula, and the formula as a bad NAME=VALUE.
    """
    names = option_names(ctx.command)
    args = [v for v in values if _OPTION_LIKE.match(v)]
    if formula is not None and _OPTION_LIKE.match(formula) and (len(formula) > 3 or close_options(formula, names)):
        args.insert(0, formula)
    for arg in args:
        from ..render.escape import terminal

        near = close_options(arg, names)
        raise GradcalcError(
            f"unknown option {terminal(arg.split('=', 1)[0][:MAX_OPTION_CHARS])!r}",
            kind="usage",
            hint=(f"did you mean {' or '.join(near)}?" if near
                  else f"see gradcalc {ctx.info_name} --help for its options"),
        )


# ---------------------------------------------------------------------------
# Reading input


def read_bounded(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most ``limit`` + 1 of them (the caller says what is too long).

    Anything but a regular file is refused before it is opened: a FIFO with no
    writer would block forever, a device may never end, a directory is no text.
    Standard input is ``-``.
    """
    import stat

    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise GradcalcError(f"cannot read {path}: {exc.strerror or exc}", kind="file", hint="check the path") from None
    if not stat.S_ISREG(mode):
        what = ("a directory" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "not a regular file")
        raise GradcalcError(
            f"{path} is {what}, not a regular file",
            kind="file",
            hint="give a file, or '-' to read standard input",
        )
    try:
        with path.open("rb") as stream:
            return stream.read(limit + 1)
    except OSError as exc:
        raise GradcalcError(f"cannot read {path}: {exc.strerror or exc}", kind="file", hint="check the path") from None


def read_source(formula: str | None, file: Path | None, values: list[str]) -> tuple[str, str, list[str]]:
    """The formula text, a name for it, and the value arguments, within the size limit.

    Files and standard input are read as UTF-8 (a byte-order mark is dropped)
    and never past the limit, so ``--file /dev/zero`` ends with an error too.
    """
    if file is not None:
        if formula is not None:
            values = [formula, *values]
        name = str(file)
        text = _decode(read_bounded(file, _MAX_BYTES), name)
    elif formula is None:
        raise GradcalcError(
            "no formula given", kind="usage", hint="gradcalc grad '(x+y)*z' x=-2 y=5 z=-4, or --file PATH"
        )
    elif formula == "-":
        name = "<stdin>"
        if sys.stdin is None:  # started with standard input closed (<&-)
            raise GradcalcError("'-' reads the formula from standard input, which is closed", kind="usage",
                                hint="pipe the formula in (echo 'x^2' | gradcalc grad - x=3), or use --file PATH")
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
    if as_json and _documents is not None:
        _documents.append(err.to_json())
    elif as_json:
        from ..render.escape import json_text

        typer.echo(json_text(json.dumps(err.to_json(), ensure_ascii=False)))
    else:
        typer.echo(err.render(), err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def write_file(path: str | os.PathLike[str], data: bytes | str, as_json: bool) -> None:
    """Write an output file atomically (``-``: standard output); a failure is exit 4, said as errors are.

    The old file, if any, is left as it was (:func:`gradcalc.files.write_atomically`).
    """
    from ..files import STDERR, STDOUT, OutputError, write_output

    try:
        write_output(path, data)
    except OutputError as exc:
        if exc.where in (STDOUT, STDERR):  # the CLI says it, on the other stream
            raise
        err = GradcalcError(exc.message, kind="output", hint="the answer was computed; an existing file is unchanged")
        if as_json:
            typer.echo(json.dumps(err.to_json(), ensure_ascii=True))
        else:
            typer.echo(err.render(), err=True)
        raise typer.Exit(EXIT_OUTPUT) from None


def document_format(path: Path | None, asked: str | None, known: tuple[str, ...] = ("table", "json")) -> str | None:
    """The format of the report: the one ``asked`` for, or the one ``--output``'s file name asks for.

    None when neither says (the command's default).  A file name with a suffix of no
    format in ``known``, or of another format than the one asked for, is a usage
    error, raised before any work.
    """
    if path is None or str(path) == "-":
        return asked
    from ..render.escape import terminal

    shown = terminal(str(path))
    suffixes = [k for k, v in DOCUMENT_SUFFIXES.items() if v in known]
    if not path.suffix and path.name.isidentifier():
        raise GradcalcError(
            f"--output {shown}: --output names the file to write the report to, and {shown} has no suffix",
            kind="usage",
            hint=f"to take the result of the program's name {shown}, use --target {shown}; "
            f"to write a file, end its name in {', '.join(suffixes)}",
        )
    named = DOCUMENT_SUFFIXES.get(path.suffix.lower())
    if named is None or named not in known:
        raise GradcalcError(
            f"--output {shown}: the file name does not say which format to write",
            kind="usage",
            hint=f"end it in one of {', '.join(suffixes)}",
        )
    if asked is not None and asked != named:
        raise GradcalcError(
            f"--output {shown} asks for {named}, and the command line for {asked}",
            kind="usage",
            hint=f"name the file with {', '.join(k for k, v in DOCUMENT_SUFFIXES.items() if v == asked)}, "
            "or drop the format option",
        )
    return named


class report_to:
    """Everything the report prints to standard output goes to ``path`` instead, written atomically at the end.

    Nothing is written if the report fails; ``None`` or ``-`` leaves standard output as it is.
    """

    def __init__(self, path: Path | None, as_json: bool) -> None:
        self.path = None if path is None or str(path) == "-" else path
        self.as_json = as_json
        self.saved: Any = None
        self.report: Any = None

    def __enter__(self) -> None:
        if self.path is not None:
            import io

            self.saved = sys.stdout
            self.report = sys.stdout = io.StringIO()  # not a terminal: the report is plain, as in a pipe

    def __exit__(self, kind: object, *rest: object) -> None:
        if self.path is None:
            return
        text = self.report.getvalue()
        sys.stdout = self.saved
        if kind is None:
            write_file(self.path, text, self.as_json)
            from ..render.escape import terminal

            typer.echo(f"wrote {terminal(str(self.path))}", err=True)


def warn(messages: list[str]) -> None:
    """Warnings on standard error; they may quote the user's text (a file or a column name)."""
    if messages:
        from ..render.escape import terminal

        for message in messages:
            typer.echo(f"warning: {terminal(message)}", err=True)


def emit_json(doc: dict[str, Any]) -> None:
    """The command's JSON document, on standard output (or to the :func:`collect_documents` that asked)."""
    if _documents is not None:
        _documents.append(doc)
        return
    from ..render.jsondoc import dumps

    typer.echo(dumps(doc))


# Where JSON documents go instead of standard output while collect_documents() runs.
_documents: list[dict[str, Any]] | None = None


@contextlib.contextmanager
def collect_documents() -> Iterator[list[dict[str, Any]]]:
    """The JSON documents (results and error objects) a command makes meanwhile, as data, not printed.

    `gradcalc batch` runs `gradcalc grad --json` on each job this way: the very
    document grad prints, without printing and reading it back.
    """
    global _documents
    saved, _documents = _documents, []
    try:
        yield _documents
    finally:
        _documents = saved


def usage_error(exc: Exception, hint: str | None = None) -> GradcalcError:
    """A click usage error (an unknown option, a bad option value) as the error the command line reports."""
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    return GradcalcError(message, kind="usage", hint=hint or "see gradcalc --help")


def internal_error(exc: Exception) -> GradcalcError:
    """A bug in gradcalc, said briefly (exit 3): its type and the start of its message, never a traceback."""
    from ..render.escape import terminal  # the exception may quote the user's text

    return GradcalcError(f"internal error ({type(exc).__name__}: {terminal(str(exc)[:200])}); "
                         "please report it with the command you ran", kind="internal")
