"""The command line: a thin skin over :mod:`gradcalc.api`.

Each command reads its arguments, calls one library function, and renders the
result.  Library errors become exit code 2 with a located message (a JSON
object under ``--json``) here, at the edge, and nowhere else.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Annotated, Any

import typer
from typer.main import get_command_name

from . import __version__
from .errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, GradcalcError, Source

_APP_SETTINGS: dict[str, Any] = dict(
    name="gradcalc",
    help="A gradient calculator: formula → computational graph → forward and backward passes, "
    "every gradient cross-checked against SymPy, forward mode and central differences.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app = typer.Typer(**_APP_SETTINGS)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gradcalc {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """gradcalc: see backpropagation, and trust the numbers."""


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns (and, as a script, exits with) the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if argv is None:
        # A one-shot process that allocates many small acyclic objects: the
        # cyclic collector only costs time here (see api.paused_gc).
        import gc

        gc.disable()
        # NumPy's OpenBLAS starts a thread per core that spins waiting for work
        # gradcalc never gives it (its arrays are small or elementwise): about
        # 0.1 s of CPU taken from the main thread on a 2-core machine.  A value
        # the user set stands.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = _shield_formulas(args)
    try:
        code = _app_for(args)(args=args, prog_name="gradcalc", standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: unknown option, bad option value
        if type(exc).__name__ == "NoArgsIsHelpError":  # `gradcalc` alone: the help, plainly
            typer.echo(exc.format_message() if hasattr(exc, "format_message") else str(exc))
            return _finish(EXIT_OK, argv)
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        err = GradcalcError(message, kind="usage", hint="see gradcalc --help")
        if "--json" in args:
            typer.echo(json.dumps(err.to_json()))
        else:
            typer.echo(err.render(), err=True)
        code = getattr(exc, "exit_code", EXIT_BAD_INPUT) or EXIT_BAD_INPUT
    except typer.Abort:
        typer.echo("aborted", err=True)
        code = EXIT_BAD_INPUT
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # a bug in gradcalc: say so briefly, never a traceback
        message = f"internal error ({type(exc).__name__}: {str(exc)[:200]}); please report it with the command you ran"
        if "--json" in args:
            typer.echo(json.dumps(GradcalcError(message, kind="internal").to_json()))
        else:
            typer.echo(f"error: {message}", err=True)
        code = EXIT_INTERNAL
    return _finish(code if isinstance(code, int) else EXIT_OK, argv)


def _app_for(args: list[str]) -> typer.Typer:
    """The app with only the command being run, when the first argument names one.

    typer reads every registered command's signature and options on each run;
    a one-shot process needs one command's (this saves ~10 ms of every run).
    `gradcalc --help` and anything unusual get the whole app.
    """
    if args and not args[0].startswith("-"):
        for info in app.registered_commands:
            if info.callback is not None and (info.name or get_command_name(info.callback.__name__)) == args[0]:
                one = typer.Typer(**_APP_SETTINGS)
                one.registered_callback = app.registered_callback
                one.registered_commands = [info]
                return one
    return app


def _finish(code: int, argv: list[str] | None) -> int:
    """Return the exit code to a caller; as the process itself, flush and end at once.

    The process ends with ``os._exit``, skipping the interpreter's teardown, which
    would free every node and value one by one: about 30 ms at 100,000 nodes and
    a third of a second at a million.  Nothing needs the teardown: files are
    written and closed by then, and the SymPy check's child is reaped.
    """
    if argv is not None:
        return code
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`gradcalc ... | head`): nothing more to say
            stream.flush()
    os._exit(code)


# Short options of the commands; anything else that starts with a single '-'
# (a formula such as -log(x) or -h*x) is a formula, not an option.
_SHORT_OPTIONS = {"-f", "-o", "-h"}


def _shield_formulas(args: list[str]) -> list[str]:
    """Keep formulas that begin with '-' from being read as clusters of short options.

    Click would read '-log(x)' as -l -o 'g(x)'.  A leading space makes it an
    argument to click and changes nothing for the tokenizer, which skips it.
    """
    shielded = []
    for k, arg in enumerate(args):
        if (
            len(arg) > 1
            and arg[0] == "-"
            and arg[1] != "-"
            and arg not in _SHORT_OPTIONS
            and not (k > 0 and args[k - 1] in _SHORT_OPTIONS | {"--file", "--output", "--target"})
        ):
            arg = " " + arg
        shielded.append(arg)
    return shielded


# Each command lives in its own module and registers itself on `app`.
from .commands import check as _check  # noqa: E402,F401
from .commands import descend as _descend  # noqa: E402,F401
from .commands import grad as _grad  # noqa: E402,F401
from .commands import graph as _graph  # noqa: E402,F401
from .commands import jacobian as _jacobian  # noqa: E402,F401
from .commands import trace as _trace  # noqa: E402,F401

__all__ = ["Source", "app", "main"]
