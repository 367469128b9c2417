"""The command line: a thin skin over :mod:`gradcalc.api`.

Each command reads its arguments, calls one library function, and renders the
result.  Library errors become exit code 2 with a located message (a JSON
object under ``--json``) here, at the edge, and nowhere else; output that
cannot be written (a full disk, a closed stream) is exit code 4.

Each command is a module of :mod:`gradcalc.commands`, imported only when that
command is run or listed; what the commands share is in
:mod:`gradcalc.commands.common`.  No command imports this module.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup
from typer.main import get_command_from_info

from . import __version__
from .budget import Interrupted
from .commands import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_OUTPUT
from .errors import GradcalcError, Source
from .files import READER_GONE, STDERR, STDOUT, OutputError, guard_standard_streams, stream_failure

if TYPE_CHECKING:
    from typer._click import Command, Context

# The commands, in the order `gradcalc --help` lists them; each is the module of
# its name in gradcalc/commands/, with a typer app of that one command.
COMMANDS = ("batch", "check", "descend", "grad", "graph", "hessian", "jacobian", "trace")


class _LazyGroup(TyperGroup):
    """The commands, each imported when it is run or listed (click's "lazy group").

    `gradcalc grad ...` imports gradcalc.commands.grad and no other command, and
    typer reads the signature and options of that one command: a one-shot
    process pays only for what it runs.  `gradcalc --help` lists them all.
    """

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        # --lang is every command's: taken off here, before the command's own options are parsed.
        return super().parse_args(ctx, take_language(args))

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        finally:  # the language is the run's: a caller in the same process (the Python API) gets English again
            from .i18n import set_language

            set_language("en")

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module = importlib.import_module(f"gradcalc.commands.{cmd_name}")
            (info,) = module.app.registered_commands
            self.commands[cmd_name] = get_command_from_info(
                info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=self.rich_markup_mode
            )
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Context, args: list[str]) -> tuple[str | None, Command | None, list[str]]:
        # typer suggests a near name ("Did you mean 'grad'?") among the commands
        # loaded so far: for a name that is no command, load them all first.
        if args and self.get_command(ctx, args[0]) is None:
            for name in self.list_commands(ctx):
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_LazyGroup,
    name="gradcalc",
    help="A gradient calculator: formula → computational graph → forward and backward passes, "
    "every gradient cross-checked against SymPy, forward mode and central differences.",
    epilog="Every command takes --lang en|ko (default: the locale's language, LANG=ko_KR.UTF-8 for Korean); "
    "JSON is the same in every language.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gradcalc {__version__}")
        raise typer.Exit(EXIT_OK)


# Shell completion.  typer's own --show-completion and --install-completion are flags that
# guess the shell; ours take it as a value (`--show-completion zsh` from bash prints zsh's
# script), and _name_the_shell() fills in the shell gradcalc runs under when none is named.
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
_COMPLETION_OPTIONS = ("--show-completion", "--install-completion")
COMPLETE_VAR = "_GRADCALC_COMPLETE"  # set by the completion scripts when the shell asks for candidates


def _shell(value: str) -> str:
    if not value:
        raise typer.BadParameter(f"which shell is this? Name it, e.g. --show-completion bash ({', '.join(SHELLS)})")
    if value not in SHELLS:
        raise typer.BadParameter(f"{value!r} is not a shell gradcalc completes in: {', '.join(SHELLS)}")
    return value


def _name_the_shell(args: list[str]) -> list[str]:
    """`gradcalc --show-completion` alone: the shell gradcalc runs under, as if it had been named."""
    if not args or args[0] not in _COMPLETION_OPTIONS or (len(args) > 1 and not args[1].startswith("-")):
        return args
    shell = ""
    try:
        import shellingham  # typer's own way to find the shell (typer imports it anyway)

        shell = shellingham.detect_shell()[0]
    except Exception:  # not installed, or not run from a shell it knows
        shell = os.path.basename(os.environ.get("SHELL", ""))
    return [args[0], shell, *args[1:]]


def _complete_in_shells() -> None:
    """Register typer's completion classes, whose protocol the scripts of --show-completion speak."""
    from typer.completion import completion_init

    completion_init()


def _show_completion(ctx: typer.Context, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from typer.completion import get_completion_script

    value = _shell(value)
    _complete_in_shells()
    typer.echo(get_completion_script(prog_name="gradcalc", complete_var=COMPLETE_VAR, shell=value))
    raise typer.Exit(EXIT_OK)


def _install_completion(ctx: typer.Context, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from typer.completion import install

    value = _shell(value)
    shell, path = install(shell=value, prog_name="gradcalc", complete_var=COMPLETE_VAR)
    typer.echo(f"{shell} completion installed in {path}; it takes effect in a new terminal")
    raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", "-v", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
    show_completion: Annotated[
        str | None,
        typer.Option(
            "--show-completion",
            metavar="[SHELL]",
            callback=_show_completion,
            is_eager=True,
            expose_value=False,
            help="Print the completion script for SHELL (bash, zsh, fish, powershell, pwsh; "
            "default: the shell you are in), to add to its start-up file yourself.",
        ),
    ] = None,
    install_completion: Annotated[
        str | None,
        typer.Option(
            "--install-completion",
            metavar="[SHELL]",
            callback=_install_completion,
            is_eager=True,
            expose_value=False,
            help="Add tab completion of gradcalc's commands and options to SHELL's start-up file "
            "(default: the shell you are in).",
        ),
    ] = None,
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
        from .commands import interrupt

        interrupt.install()  # Ctrl-C, SIGTERM, SIGHUP: stop the SymPy child, say so, exit 128 + N
        # A full disk, a closed stream or a reader gone away is exit 4, with a line on the other stream.
        guard_standard_streams()
    if COMPLETE_VAR in os.environ:  # the shell asks for candidates (the script --show-completion prints)
        _complete_in_shells()
    args = _shield_formulas(_name_the_shell(args))
    try:
        code = _run(args, fork_ahead=argv is None)
    except OutputError as exc:  # the output, or the message about another failure, could not be written
        code = _output_failed(exc, "--json" in args)
    return _finish(code, argv)


def _checks_with_sympy(args: list[str]) -> bool:
    """Whether the command line is a `gradcalc grad` that will run the SymPy check (as far as its words say)."""
    if not args or args[0] != "grad":
        return False
    return not any(arg in ("--no-symbolic", "--help", "-h") or arg == "--order" or arg.startswith("--order=")
                   for arg in args[1:])


def _run(args: list[str], fork_ahead: bool = False) -> int:
    """Run the command: its exit code, and every exception but a failure to write output said in one line.

    ``fork_ahead`` (the process's own run): fork the SymPy check's child first, if the command will check.
    """
    try:
        if fork_ahead and _checks_with_sympy(args):
            # The SymPy check's child, forked before any of the run's own work: its import of
            # SymPy (about 0.3 s) overlaps loading the command, reading it, the parse and the
            # passes.  Not earlier: the imports before this are SymPy's too, which the child
            # shares; forked before them it imports them again (bench/README.md measures it).
            # Here, inside the try: a signal from now on is said as any interruption is.
            from .checks import prepare_symbolic

            prepare_symbolic()
        code = app(args=args, prog_name="gradcalc", standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: unknown option, bad option value
        if type(exc).__name__ == "NoArgsIsHelpError":  # `gradcalc` alone: the help, plainly
            typer.echo(exc.format_message() if hasattr(exc, "format_message") else str(exc))
            return EXIT_OK
        from .commands.common import usage_error

        err = usage_error(exc, _top_level_hint(exc))
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
    except Interrupted as stop:  # a signal, under interrupt.install()
        from .commands import interrupt

        code = interrupt.report(stop, interrupt.wants_json(args))
    except OutputError:
        raise
    except Exception as exc:  # a bug in gradcalc: say so briefly, never a traceback
        from .commands.common import internal_error

        err = internal_error(exc)
        if "--json" in args:
            typer.echo(json.dumps(err.to_json()))
        else:
            typer.echo(f"error: {err.message}", err=True)
        code = EXIT_INTERNAL
    return code if isinstance(code, int) else EXIT_OK


def _top_level_hint(exc: Exception) -> str | None:
    """For `gradcalc --breif`: the command options it may mean ("did you mean gradcalc grad --brief?").

    Options belong to a command, after its name; gradcalc's own are only --help and --version,
    so an unknown one before any command is looked for in each command's (a few dozen names).
    """
    ctx = getattr(exc, "ctx", None)
    given = getattr(exc, "option_name", None)
    if type(exc).__name__ != "NoSuchOption" or ctx is None or ctx.parent is not None or not given:
        return None
    from .commands.common import close_options, option_names

    group = ctx.command
    near = []
    for name in COMMANDS:
        command = group.get_command(ctx, name)
        near += [(option, name) for option in close_options(given, option_names(command))]
    if not near:
        return None
    shown = ", ".join(f"gradcalc {name} {option}" for option, name in near[:3])
    return f"options go after the command: did you mean {shown}?"


def _output_failed(exc: OutputError, as_json: bool) -> int:
    """Say in one line, on a stream that still works, that the output could not be written: exit 4.

    A standard stream that failed is not tried again; after a failure of
    standard error the line goes to standard output, after any answer written
    there.  An output file's failure is an error object on standard output
    under ``--json``, as other errors are.
    """
    from .render.escape import terminal  # a file's name is the user's text

    exc.said = True
    if exc.where == STDOUT and exc.reason == READER_GONE:
        return EXIT_OUTPUT  # `gradcalc ... | head`: the reader has what it wanted; say nothing, as Unix tools do
    if exc.where == STDERR and as_json:
        return EXIT_OUTPUT  # standard output holds one JSON document; a line after it would break its readers
    if exc.where == STDOUT:
        order = [STDERR]
    elif exc.where == STDERR:
        order = [STDOUT]
    else:
        order = [STDOUT, STDERR] if as_json else [STDERR, STDOUT]
    for where in order:
        stream = sys.stdout if where == STDOUT else sys.stderr
        if as_json and where == STDOUT and exc.where != STDERR:
            line = json.dumps(GradcalcError(exc.message, kind="output", hint=_OUTPUT_HINT).to_json())
        else:
            line = f"error: {terminal(exc.message)}"
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OutputError, OSError, ValueError, AttributeError):
            continue
        if stream_failure(where) is None:  # standard error drops what it cannot write
            break
    return EXIT_OUTPUT


_OUTPUT_HINT = "the answer was computed; free some space, or check where the output goes"


def _finish(code: int, argv: list[str] | None) -> int:
    """Return the exit code to a caller; as the process itself, flush and end at once.

    The process ends with ``os._exit``, skipping the interpreter's teardown, which
    would free every node and value one by one: about 30 ms at 100,000 nodes and
    a third of a second at a million.  Nothing needs the teardown: files are
    written and closed by then, and the SymPy check's child is reaped.  Output
    that could not be written (standard error's, or a full disk found only now
    by the last flush) is exit 4.
    """
    if argv is not None:
        return code
    from .budget import stop_all

    stop_all()  # a SymPy child forked ahead that no check took (bad input): it goes now, not a moment later
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OutputError as exc:
            if not exc.said:
                code = _output_failed(exc, False)
        except (OSError, ValueError, AttributeError):
            pass
    failure = stream_failure()
    if failure is not None and not failure.said:
        code = _output_failed(failure, False)
    os._exit(code)


# Short options of the commands; anything else that starts with a single '-'
# (a formula such as -log(x) or -h*x) is a formula, not an option.
_SHORT_OPTIONS = {"-f", "-o", "-h"}


def take_language(args: list[str]) -> list[str]:
    """Take ``--lang CODE`` (anywhere before ``--``) off the arguments and speak that language; by default
    the locale's (LANGUAGE, LC_ALL, LC_MESSAGES, LANG).  JSON does not change with the language."""
    from .i18n import set_language

    code = None
    rest: list[str] = []
    k = 0
    while k < len(args):
        arg = args[k]
        if arg == "--":
            rest += args[k:]
            break
        if arg == "--lang" and k + 1 < len(args):
            code, k = args[k + 1], k + 2
            continue
        if arg.startswith("--lang="):
            code, k = arg.split("=", 1)[1], k + 1
            continue
        rest.append(arg)
        k += 1
    try:
        set_language(code)
    except ValueError as exc:
        set_language("en")
        raise typer.BadParameter(f"{code!r}: gradcalc speaks English (en) and Korean (ko)",
                                 param_hint="'--lang'") from exc
    return rest


def _shield_formulas(args: list[str]) -> list[str]:
    """Keep formulas that begin with '-' from being read as clusters of short options.

    Click would read '-log(x)' as -l -o 'g(x)'.  A leading space makes it an
    argument to click and changes nothing for the tokenizer, which skips it.
    """
    shielded = []
    for k, arg in enumerate(args):
        if k == 0 and arg in ("-v", "-V"):  # gradcalc -v: the version, before any command
            shielded.append(arg)
            continue
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


__all__ = ["Source", "app", "main"]
