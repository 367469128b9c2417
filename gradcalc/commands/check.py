"""`gradcalc check`: grade an answer file of many problems at once, or a whole class's files."""

import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import GradcalcError
from . import EXIT_BAD_INPUT, EXIT_DISAGREE, EXIT_OK
from .common import (
    ColorOpt,
    DigitsOpt,
    JsonOpt,
    budget_option,
    check_color,
    console_for,
    document_format,
    emit_json,
    fail,
    read_source,
    report_to,
    warn,
    write_file,
)

if TYPE_CHECKING:
    from ..gradebook import Found, Key, Submission

app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed

FORMATS = ("table", "json", "jsonl", "csv", "gradescope", "html")
RESULTS = "results.json"  # Gradescope's name for an autograder's results


@app.command()
def check(
    paths: Annotated[list[Path], typer.Argument(
        metavar="PATH...", help="Answer files (TOML with [[problem]] tables), or directories: a directory means "
        "every *.toml file in it and below, sorted by name, files before subdirectories, hidden names left out; "
        "symbolic links are not followed.", show_default=False)],
    key: Annotated[Path | None, typer.Option(
        "--key", metavar="FILE", help="The key: an answer file whose problems every file is graded against. The "
        "files then give only each problem's name and the answers.", show_default=False)] = None,
    as_json: JsonOpt = False,
    as_jsonl: Annotated[
        bool, typer.Option("--jsonl", help="JSON Lines: one line per file, as each is graded.")
    ] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV: one row per file and answer.")] = False,
    gradescope: Annotated[bool, typer.Option(
        "--gradescope", help="Gradescope's results.json for one submission; with several files, a results.json "
        "written beside each (each in a directory of its own).")] = False,
    format_: Annotated[str | None, typer.Option(
        "--format", metavar="[table|json|jsonl|csv|gradescope|html]", help="The format, as the options above say "
        "it, or html: one answer file's report as a self-contained page (it loads nothing). With -o, the file's "
        "suffix says it too: .txt, .json, .jsonl, .csv, .html.", show_default=False)] = None,
    summary: Annotated[bool, typer.Option(
        "--summary", help="Tables: only the class's summary, one row per file.")] = False,
    sympy: Annotated[
        bool, typer.Option("--sympy", help="Also check every gradient against SymPy (slower; with --key, once, "
                           "for the key's problems).")
    ] = False,
    symbolic_budget: Annotated[
        float, budget_option("With --sympy: seconds the SymPy checks of the whole file may take together, each "
                             "problem's at most 5 of what is left; problems past it are graded without SymPy.")
    ] = 30.0,
    digits: DigitsOpt = 6,
    output_file: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", help="Write the report to FILE instead of standard output, replacing it "
        "whole or not at all; its suffix says the format: .txt (tables), .json, .jsonl, .csv, .html (Gradescope: "
        "--gradescope -o results.json).", show_default=False)] = None,
    color: ColorOpt = "auto",
) -> None:
    """Grade the answers in TOML files: one row per answer, a summary per problem and per file.

    Example: gradcalc check samples/homework.toml

    Each [[problem]] has a name, a formula (or a program), values, and answers:
    expect_value, expect_grad = { x = 0.39 }, expect = { q = 3 } (node values),
    expect_upstream = { q = -4 } (∂out/∂node); optional rtol, atol, output, tie, and
    points: a number for the problem (shared by its answers) or a table shaped like the
    answers, points = { expect_grad = { x = 1, y = 2 } }; 1 point per answer by default.
    Write answers as strings ("0.20") to keep their digits exactly; one element of a vector or
    matrix is a quoted key: expect_grad = { "W[0, 1]" = "0.176" }.

    A class: gradcalc check submissions/ (or submissions/*/answers.toml) grades each file and
    ends with a summary; --key key.toml grades every file against the key's problems.

    Exit codes: 0 all right, 1 an answer is wrong or missing, 2 a file or a problem is malformed
    (2 wins).
    """
    from .homework_options import how_to_ask

    flags = [f for f, on in (("json", as_json), ("jsonl", as_jsonl), ("csv", as_csv), ("gradescope", gradescope))
             if on] + ([format_] if format_ is not None else [])
    json_out = bool({"json", "jsonl", "gradescope"} & set(flags))
    try:
        color = check_color(color)
        fmt = _format(output_file, flags)
        json_out = fmt in ("json", "jsonl", "gradescope")
        one = len(paths) == 1 and not paths[0].is_dir()
        if key is None and one and fmt in ("table", "json", "html"):
            _one_file(paths[0], fmt, sympy, symbolic_budget, digits, output_file, color)
        if fmt == "html":
            raise GradcalcError("--format html reports one answer file, without --key", kind="usage",
                                hint="check one file at a time for its page, or a class with --csv or --json")
        key_doc = _load_key(key, sympy, symbolic_budget, json_out) if key is not None else None
        from ..gradebook import answer_files

        found = answer_files(paths)
        if fmt == "gradescope" and len(found) > 1:
            _refuse_shared_directories(found, output_file)
    except GradcalcError as err:
        fail(err, json_out)
    from ..gradebook import grade_class

    files = ((str(f.path), _reader(f)) for f in found)
    graded = grade_class(files, key_doc, symbolic=sympy and key_doc is None, ask=how_to_ask,
                         symbolic_budget=symbolic_budget)
    _key_warnings(key_doc, fmt)
    if fmt == "gradescope" and len(found) > 1:
        _results_beside(graded, color)
    with report_to(output_file, json_out):
        status = _report(graded, key_doc, fmt, summary or len(found) > 1, summary, digits, color)
    raise typer.Exit(_exit_code(status))


def _format(output_file: Path | None, flags: list[str]) -> str:
    """The one format asked for, by an option or by the output file's suffix; a usage error if they differ."""
    for f in flags:
        if f not in FORMATS:
            raise GradcalcError(f"--format must be one of {', '.join(FORMATS)}, not {f!r}", kind="usage")
    asked = sorted(set(flags))
    if len(asked) > 1:
        raise GradcalcError(f"{' and '.join(asked)} asked for together: choose one format", kind="usage",
                            hint="--json, --jsonl, --csv or --gradescope (or --format FORMAT)")
    fmt = asked[0] if asked else None
    if fmt == "gradescope":
        if output_file is not None and str(output_file) != "-" and output_file.suffix.lower() != ".json":
            from ..render.escape import terminal

            raise GradcalcError(f"--output {terminal(str(output_file))}: Gradescope's results are JSON",
                                kind="usage", hint=f"name the file {RESULTS}, as Gradescope reads it")
        return fmt
    return document_format(output_file, fmt, ("table", "json", "jsonl", "csv", "html")) or "table"


def _exit_code(status: str) -> int:
    from ..answerfile import Status

    return {Status.OK: EXIT_OK, Status.WRONG: EXIT_DISAGREE, Status.ERROR: EXIT_BAD_INPUT}[Status(status)]


def _one_file(
    path: Path, fmt: str, sympy: bool, symbolic_budget: float, digits: int, output_file: Path | None, color: str
) -> None:
    """One answer file, reported answer by answer with the chain rule of each wrong gradient."""
    from ..answerfile import grade_file
    from .homework_options import how_to_ask

    as_json = fmt == "json"
    try:
        text, name, _ = read_source(None, path, [])
        report = grade_file(text, name, symbolic=sympy, ask=how_to_ask, symbolic_budget=symbolic_budget)
    except GradcalcError as err:
        fail(err, as_json)
    with report_to(output_file, as_json):
        if as_json:
            from ..render.answers import file_doc

            emit_json(file_doc(report))
        elif fmt == "html":
            from ..display import html_page

            typer.echo(html_page(report, digits), nl=False)
        else:
            from ..render.answers import file_report
            console_for(color).print(file_report(report, digits, plain=not sys.stdout.isatty()))
    if fmt == "table":
        for problem in report.errors:
            assert problem.error is not None
            typer.echo(problem.error.render(), err=True)
    raise typer.Exit(_exit_code(report.status))


def _load_key(path: Path, sympy: bool, symbolic_budget: float, json_out: bool) -> "Key":
    """The key, read and computed; its errors end the run (exit 2): nothing is graded against a broken key."""
    from ..gradebook import load_key
    from .homework_options import how_to_ask

    text, name, _ = read_source(None, path, [])
    key = load_key(text, name, symbolic=sympy, ask=how_to_ask, symbolic_budget=symbolic_budget)
    if key.errors:
        if json_out:
            first = key.errors[0]
            more = len(key.errors) - 1
            if more:
                also = f"the key has {more} more error{'s' * (more != 1)}"
                first.hint = f"{first.hint}; {also}" if first.hint else also
            fail(first, True)
        for err in key.errors:
            typer.echo(err.render(), err=True)
        n = len(key.errors)
        typer.echo(f"error: the key {name} has {n} error{'s' * (n != 1)}: nothing was graded", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    return key


def _key_warnings(key: "Key | None", fmt: str) -> None:
    """The key's warnings: in the table and JSON they are part of the report; else on standard error."""
    if key is not None and fmt not in ("table", "json"):
        warn(key.warnings)


def _reader(found: "Found") -> Callable[[], str]:
    def read() -> str:
        if found.error is not None:
            raise found.error
        return read_source(None, found.path, [])[0]

    return read


def _report(graded: "Iterator[Submission]", key: "Key | None", fmt: str, with_summary: bool, summary_only: bool,
            digits: int, color: str) -> str:
    """Print each file's report as it is graded (one file in memory at a time), then the class; its status."""
    from ..render.gradebook import Tally

    tally = Tally()
    subs = graded
    if fmt == "json":
        from ..render.gradebook import class_doc, submission_doc

        docs = []
        for sub in subs:
            tally.add(sub)
            docs.append(submission_doc(sub))
        emit_json(class_doc(docs, tally, key))
    elif fmt == "jsonl":
        from ..render.gradebook import jsonl_line

        for sub in subs:
            tally.add(sub)
            typer.echo(jsonl_line(sub))
    elif fmt == "csv":
        from ..render.gradebook import csv_header, csv_rows

        typer.echo(csv_header(), nl=False)
        for sub in subs:
            tally.add(sub)
            typer.echo(csv_rows(sub), nl=False)
    elif fmt == "gradescope":
        from ..render.gradebook import gradescope_json

        for sub in subs:  # one: the refusal of several came first
            tally.add(sub)
            typer.echo(gradescope_json(sub))
    else:
        from ..render.gradebook import class_summary, key_report, submission_report

        console = console_for(color)
        plain = not sys.stdout.isatty()
        if key is not None:
            console.print(key_report(key))
        for sub in subs:
            tally.add(sub)
            if not summary_only:
                console.print(submission_report(sub, digits, plain))
            _errors_to_stderr(sub)
        if with_summary:
            console.print(class_summary(tally, plain))
    return tally.status


def _errors_to_stderr(sub: "Submission") -> None:
    """The errors of a file, each with its line and caret, on standard error (tables only: JSON has them)."""
    if sub.error is not None:
        typer.echo(sub.error.render(), err=True)
    for p in sub.problems:
        if p.report.error is not None:
            typer.echo(p.report.error.render(), err=True)


# ---------------------------------------------------------------------------
# Gradescope: one submission per run, so one results.json per submission


def _refuse_shared_directories(found: "list[Found]", output_file: Path | None) -> None:
    """Several files for Gradescope: each needs a directory of its own, and no --output (one file holds one)."""
    from ..render.escape import terminal

    if output_file is not None:
        raise GradcalcError(f"--gradescope with --output: a {RESULTS} holds one submission, and "
                            f"{len(found):,} files are given", kind="usage",
                            hint=f"grade one file at a time, or drop --output to write a {RESULTS} beside each")
    seen: dict[Path, Path] = {}
    for f in found:
        other = seen.setdefault(f.path.parent, f.path)
        if other != f.path:
            raise GradcalcError(
                f"--gradescope: {terminal(str(other))} and {terminal(str(f.path))} are in one directory, and "
                f"each submission's {RESULTS} is written beside it", kind="usage",
                hint="put each submission in a directory of its own (submissions/NAME/answers.toml)")


def _results_beside(graded: "Iterator[Submission]", color: str) -> None:
    """Write each submission's results.json in its directory, atomically; then the class's summary."""
    from ..answerfile import Status
    from ..render.escape import terminal
    from ..render.gradebook import Tally, class_summary, gradescope_json

    tally = Tally()
    for sub in graded:
        tally.add(sub)
        target = Path(sub.name).parent / RESULTS
        refusal = _unsafe_target(target)
        if refusal:
            typer.echo(f"error: {terminal(str(target))} {refusal}: not written", err=True)
            tally.rows[-1] = (*tally.rows[-1][:5], Status.ERROR)
            continue
        write_file(target, gradescope_json(sub) + "\n", True)
        typer.echo(f"wrote {terminal(str(target))}", err=True)
    console_for(color).print(class_summary(tally, not sys.stdout.isatty()))
    raise typer.Exit(_exit_code(tally.status))


def _unsafe_target(path: Path) -> str | None:
    """Why a results file may not be written here: a hand-in's directory is the student's, links and all."""
    for p, what in ((path.parent, "directory"), (path, "file")):
        try:
            mode = p.lstat().st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            return f"cannot be checked ({exc.strerror or exc})"
        if stat.S_ISLNK(mode):
            return f"is in a symbolic link's {what}" if what == "directory" else "is a symbolic link"
        if what == "file" and not stat.S_ISREG(mode):
            return "is not a regular file"
    return None
