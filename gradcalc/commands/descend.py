"""`gradcalc descend`: gradient descent on a formula, over data in epochs and batches."""

import sys
from pathlib import Path
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
    JsonOpt,
    OutputFileOpt,
    ReportFormatOpt,
    TargetOpt,
    TieOpt,
    ValuesArg,
    check_color,
    console_for,
    emit_json,
    fail,
    read_bounded,
    read_source,
    reject_unknown_options,
    report_format,
    report_to,
    warn,
    write_file,
)

if TYPE_CHECKING:
    from ..descend import DescendResult

app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed


@app.command(context_settings=ARGS_SETTINGS)
def descend(
    ctx: typer.Context,
    formula: FormulaArg = None,
    values: ValuesArg = None,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate α: each step moves p by −α·∂loss/∂p.")] = 0.1,
    params: Annotated[
        str | None,
        typer.Option("--params", help="Comma-separated parameters to learn (default: every variable "
                     "that is not a data column).", show_default=False),
    ] = None,
    steps: Annotated[
        int | None, typer.Option("--steps", min=1, help="Steps of plain gradient descent (without --data; "
                                 "default 100).", show_default=False)
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="CSV file with a header row; its columns bind to the formula's variables.",
                     show_default=False),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", min=1, help="Rows per iteration (default: all rows, full batch).",
                     show_default=False),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", min=1, help="Passes over the data (default 1: one pass, each row once).",
                                 show_default=False)
    ] = None,
    shuffle: Annotated[bool, typer.Option("--shuffle/--no-shuffle", help="Shuffle the rows each epoch.")] = True,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the shuffle, for reproducible runs.")] = 0,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write the loss curve to FILE.png or FILE.svg (the suffix picks the format).",
                     show_default=False),
    ] = None,
    file: FileOpt = None,
    as_json: JsonOpt = False,
    tie: TieOpt = "split",
    target: TargetOpt = None,
    output_file: OutputFileOpt = None,
    format_given: ReportFormatOpt = None,
    digits: DigitsOpt = 6,
    color: ColorOpt = "auto",
) -> None:
    """Gradient descent: learn parameters that make the formula (a loss) small.

    Without --data: plain steps on the formula, e.g.
    gradcalc descend '(x-3)^2 + (y+1)^2' x=0 y=0 --lr 0.1 --steps 50

    With --data FILE.csv the formula is the loss of one example; each iteration averages loss and
    gradients over a batch of rows; an epoch is ceil(rows / batch size) iterations, e.g.
    gradcalc descend '(w*x + b - y)^2' w=0 b=0 --data samples/linear.csv --lr 0.05 --batch-size 5 --epochs 200

    Exit codes: 0 done, 1 the loss diverged (became inf or nan), 2 bad input, 4 the plot could not be written.
    """
    from ..descend import descend as run
    from ..descend import read_csv
    from ..limits import MAX_DATA_BYTES
    from ..values import parse_assignments

    try:
        reject_unknown_options(ctx, formula, values or [])
        color = check_color(color)
        output_format = report_format(format_given, as_json, output_file)
        as_json = output_format == "json"
        plot_kind = _plot_kind(plot)  # before any work: a run that cannot write its picture is not started
        text, name, rest = read_source(formula, file, values or [])
        given = parse_assignments(rest)
        dataset = None
        if data is not None:
            raw = read_bounded(data, MAX_DATA_BYTES)
            if len(raw) > MAX_DATA_BYTES:
                raise GradcalcError(f"{data} is more than {MAX_DATA_BYTES:,} bytes, the limit for --data",
                                    kind="limit", hint="train on a sample of the rows, or split the file")
            try:
                csv_text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise GradcalcError(f"{data} is not UTF-8 text", kind="file") from None
            dataset = read_csv(csv_text, str(data))
        chosen = [p.strip() for p in params.split(",") if p.strip()] if params else None
        _check_schedule(data is not None, steps, batch_size, epochs)
        schedule = {k: v for k, v in (("steps", steps), ("epochs", epochs)) if v is not None}  # else the library's
        with _progress(as_json) as tick:
            result = run(
                text, given, lr=lr, params=chosen, data=dataset, batch_size=batch_size, shuffle=shuffle, seed=seed,
                tie=tie, output=target, name=name, progress=tick, **schedule,
            )
    except GradcalcError as err:
        fail(err, as_json)
    warn(result.warnings)
    if plot is not None and plot_kind is not None:
        from ..render.descent import unit
        from ..render.plot import loss_picture

        write_file(plot, loss_picture(plot_kind, result.history or [result.initial_loss], unit(result)), as_json)
    defaulted = (steps is None) if data is None else (epochs is None)  # said in the report
    with report_to(output_file, as_json):
        if as_json:
            from ..render.descent import descend_doc

            emit_json(descend_doc(result))
        elif output_format == "html":
            from ..display import html_page

            typer.echo(html_page(result, digits, defaulted=defaulted), nl=False)
        else:
            _print(result, digits, plot, color, defaulted=defaulted)
    raise typer.Exit(EXIT_DISAGREE if result.diverged else EXIT_OK)


def _plot_kind(plot: Path | None) -> str | None:
    """The picture format --plot's file name asks for: .png or .svg; anything else is refused."""
    if plot is None:
        return None
    from ..render.plot import PLOT_SUFFIXES

    if str(plot) == "-":
        raise GradcalcError("--plot - would mix the picture with the report on standard output", kind="usage",
                            hint="give --plot a file name, e.g. --plot loss.png")
    kind = PLOT_SUFFIXES.get(plot.suffix.lower())
    if kind is None:
        from ..render.escape import terminal

        raise GradcalcError(f"--plot {terminal(str(plot))}: the file name must end in "
                            f"{' or '.join(PLOT_SUFFIXES)}, which says the picture's format", kind="usage",
                            hint="e.g. --plot loss.png or --plot loss.svg")
    return kind


def _check_schedule(with_data: bool, steps: int | None, batch_size: int | None, epochs: int | None) -> None:
    """--steps counts plain steps; --batch-size and --epochs schedule passes over --data: never both."""
    if with_data and steps is not None:
        raise GradcalcError("--steps counts plain steps on the formula; with --data the run is counted in epochs",
                            kind="usage", hint="give --epochs N (and --batch-size B) instead of --steps")
    if not with_data:
        given = [flag for flag, v in (("--batch-size", batch_size), ("--epochs", epochs)) if v is not None]
        if given:
            verb = "need --data: they schedule" if len(given) > 1 else "needs --data: it schedules"
            raise GradcalcError(f"{' and '.join(given)} {verb} passes over its rows",
                                kind="usage", hint="give --data FILE.csv, or --steps N for plain steps")


class _progress:
    """A rich progress bar on stderr while descending, when stderr is a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.bar: Any = None
        self.task: Any = None
        self.quiet = quiet or not sys.stderr.isatty()

    def __enter__(self) -> Any:
        if self.quiet:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("descending"), BarColumn(), MofNCompleteColumn(), TextColumn("iterations"),
                            TimeElapsedColumn(), console=Console(stderr=True, markup=False, emoji=False),
                            transient=True)
        self.bar.__enter__()
        self.task = self.bar.add_task("descend", total=None)

        def tick(done: int, total: int) -> None:
            if done == 1 or done % 50 == 0 or done == total:
                self.bar.update(self.task, completed=done, total=total)

        return tick

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _print(result: "DescendResult", digits: int, plot: Path | None, color: str, defaulted: bool = False) -> None:
    from ..render.descent import descend_report
    from ..render.escape import terminal

    console = console_for(color)
    console.print(descend_report(result, digits, plain=not sys.stdout.isatty(), defaulted=defaulted))
    if plot is not None:
        console.print(f"loss curve written to {terminal(str(plot))}")
