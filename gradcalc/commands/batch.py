"""`gradcalc batch`: JSON Lines of jobs in, one `gradcalc grad --json` document per job out, by warm workers.

Each line is a job: ``{"id": ..., "formula": ..., "values": {...}, ...grad's options}``.
Its keys are grad's own options, read from grad's command itself (``expect_grad``
is ``--expect-grad``), and the job runs as ``gradcalc grad --json`` with them in a
worker process (:mod:`gradcalc.workers`) that keeps SymPy imported from one job
to the next; each job's SymPy check still runs in its own child with its own
budget.  The result is the document grad prints, with ``"id"`` and ``"line"``
first.  A bad line (not JSON, an unknown key, too long, a bad formula) gives that
line an error result and the stream goes on.  The exit code is the worst of the
jobs': 0 all fine, 1 an answer or check disagreed, 2 a job was bad input, 3 a
job's worker died (or gradcalc has a bug).
"""

import contextlib
import difflib
import gc
import io
import json
import os
import select
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import GradcalcError, Source
from ..limits import BATCH_WINDOW_PER_WORKER, MAX_BATCH_LINE_BYTES, MAX_BATCH_WORKERS
from . import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK
from .common import budget_option, collect_documents, fail, internal_error, read_bounded, usage_error

app = typer.Typer()  # this command alone: gradcalc.cli loads it when it is run or listed

# grad's options a job may not give: batch writes JSON, and a job names no files (nor reads standard input).
_NOT_IN_JOBS = {"json", "format", "color", "help"}
# Keys besides grad's options.
_OWN_KEYS = ("id", "formula", "program", "values")


@app.command()
def batch(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="[FILE|-]", help="The jobs, one JSON object a line; '-' (the "
                                          "default) reads standard input.")] = "-",
    output_file: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", help="Write the results to FILE instead of standard output, replacing it "
        "whole once every job is done, or not at all.", show_default=False)] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", metavar="N", min=1, max=MAX_BATCH_WORKERS,
        help="Worker processes (default: the number of cores).", show_default=False)] = None,
    unordered: Annotated[bool, typer.Option(
        "--unordered", help="Write each result as soon as it is done, not in the order of the input.")] = False,
    shard: Annotated[str | None, typer.Option(
        "--shard", metavar="K/N", help="Run only every N-th job, starting at job K (counted from 0), so that N "
        "runs of batch share the input.", show_default=False)] = None,
    no_symbolic: Annotated[bool, typer.Option(
        "--no-symbolic", help="Skip the SymPy check in the jobs that do not ask for it (\"symbolic\": true).")] = False,
    symbolic_budget: Annotated[float | None, budget_option(
        "Seconds each job's SymPy check may take, for the jobs that do not say (\"symbolic_budget\"); grad's "
        "default is 5.")] = None,
) -> None:
    """Grade many jobs: JSON Lines in, one `gradcalc grad --json` result a line out, SymPy imported once.

    Example: echo '{"id": 1, "formula": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}}' | gradcalc batch

    Exit codes: 0 every job fine, 1 some answer or check disagreed, 2 some job was bad input, 3 a job's worker
    died, 4 the output could not be written, 130/143 interrupted.
    """
    try:
        part = parse_shard(shard)
        grad_command = ctx.find_root().command.get_command(ctx.find_root(), "grad")  # type: ignore[attr-defined]
        if grad_command is None:  # pragma: no cover - grad is always there
            raise GradcalcError("the grad command is missing", kind="internal")
        options = job_options(grad_command)
        defaults = Defaults(no_symbolic, symbolic_budget)
        lines, path = _open_input(source)
    except GradcalcError as err:
        fail(err, False)
    gc.enable()  # a long run: the cyclic collector frees what failed jobs leave (the CLI pauses it for one-shots)
    workers = jobs or _cores()
    runner = Runner(grad_command, options, defaults)
    from ..workers import Pool

    code = EXIT_OK
    try:
        with _output(output_file) as write, Pool(workers, runner, _worker_setup) as pool, \
                _progress(path, part) as progress:
            for _, result, job_code in run(lines, pool, workers * BATCH_WINDOW_PER_WORKER, not unordered, part):
                write(result + "\n")
                code = max(code, job_code)
                progress(job_code)
    finally:
        lines.close()
    raise typer.Exit(code)


# ---------------------------------------------------------------------------
# The stream: lines to tasks, tasks through the pool, results as lines


def run(lines: "Lines", pool: Any, window: int, ordered: bool, part: tuple[int, int] | None
        ) -> Iterator[tuple[int, str, int]]:
    """(line number, result line, exit code) for each job of ``lines`` (of this ``part``), through ``pool``."""
    from ..workers import Died, stream

    for task, outcome in stream(tasks(lines, part), pool, window, ordered, wait_fd=lines.fd):
        line_no, raw = task.meta
        if outcome is None:  # refused before any worker saw it
            assert isinstance(raw, GradcalcError)
            yield line_no, result_line(None, line_no, raw.to_json()), EXIT_BAD_INPUT
        elif isinstance(outcome, Died):
            err = GradcalcError(outcome.reason, kind="worker", hint="the jobs around it are unaffected; run this "
                                "one alone with gradcalc grad to see what it does")
            yield line_no, result_line(_id_of(raw), line_no, err.to_json()), EXIT_INTERNAL
        else:
            yield line_no, outcome[1:].decode("utf-8"), outcome[0]


def tasks(lines: "Lines", part: tuple[int, int] | None) -> Iterator[Any]:
    """The jobs of this shard as tasks for the pool: a line's number and bytes; a line too long, as its error."""
    from ..workers import WAIT, Task

    index = -1
    for item in lines:
        if item is WAIT:
            yield WAIT
            continue
        line_no, raw = item
        index += 1
        if part is not None and index % part[1] != part[0]:
            continue
        if isinstance(raw, int):  # the line's length, past the limit: not read into memory
            err = GradcalcError(
                f"line {line_no} is {raw:,} bytes or more, past the limit of {MAX_BATCH_LINE_BYTES:,} for a job",
                kind="limit",
                hint="give a formula this long to gradcalc grad --file",
            )
            yield Task(None, (line_no, err))
        else:
            yield Task(line_no.to_bytes(8, "big") + raw, (line_no, raw))


class Lines:
    """The non-blank lines of a file descriptor (or a binary stream) as (number, bytes), read as they come.

    A line longer than ``limit`` bytes comes as (number, its length so far) and the
    rest of it is skipped unread into memory, so what is held is at most the limit
    and one chunk.  Where the next line is not there yet, the iterator yields
    :data:`gradcalc.workers.WAIT` rather than block, so results keep flowing while a
    slow producer writes (a stream without a descriptor just blocks).
    """

    CHUNK = 1 << 16

    def __init__(self, fd: int | None, limit: int, stream: Any = None, owned: bool = False) -> None:
        self.fd = fd
        self.stream = stream
        self.limit = limit
        self._owned = owned

    def close(self) -> None:
        """Close the descriptor if it was opened for this (a file named on the command line)."""
        if self._owned and self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def _read(self) -> bytes:
        if self.fd is None:
            return bytes(self.stream.read(self.CHUNK) or b"")
        return os.read(self.fd, self.CHUNK)

    def __iter__(self) -> Iterator[Any]:
        from ..workers import WAIT

        buffer = b""
        start = 0
        number = 0
        skipping = False  # inside a line past the limit: drop it up to its end
        ended = False
        while True:
            end = buffer.find(b"\n", start)
            if end >= 0:
                line, start = buffer[start:end], end + 1
                if skipping:
                    skipping = False
                    continue
                number += 1
                if len(line) > self.limit:
                    yield number, len(line)
                elif line.strip():
                    yield number, line
                continue
            if ended:
                rest = buffer[start:]
                if not skipping and rest.strip():
                    number += 1
                    yield (number, rest) if len(rest) <= self.limit else (number, len(rest))
                return
            buffer, start = buffer[start:], 0
            if len(buffer) > self.limit and not skipping:
                number += 1
                yield number, len(buffer)
                skipping = True
            if skipping:
                buffer = b""
            if self.fd is not None and not select.select([self.fd], [], [], 0)[0]:
                yield WAIT
            chunk = self._read()
            if chunk:
                buffer += chunk
            else:
                ended = True


def _open_input(source: str) -> tuple[Lines, Path | None]:
    """The input's lines, and its path when it is a file (for the progress bar)."""
    if source == "-":
        stdin = sys.stdin
        if stdin is None:
            raise GradcalcError("standard input is closed", kind="file", hint="give the jobs' file")
        try:
            return Lines(stdin.fileno(), MAX_BATCH_LINE_BYTES), None
        except (AttributeError, ValueError, io.UnsupportedOperation):  # not a file (a test's input)
            return Lines(None, MAX_BATCH_LINE_BYTES, stream=getattr(stdin, "buffer", stdin)), None
    path = Path(source)
    read_bounded(path, 0)  # a regular file that can be read, or the same error grad gives for --file
    try:
        return Lines(os.open(path, os.O_RDONLY), MAX_BATCH_LINE_BYTES, owned=True), path
    except OSError as exc:
        raise GradcalcError(f"cannot read {path}: {exc.strerror or exc}", kind="file", hint="check the path") from None


def _id_of(raw: Any) -> Any:
    """A job's id, read again in the parent (its worker died): None when there is none to read."""
    try:
        doc = json.loads(raw)
        value = doc.get("id") if isinstance(doc, dict) else None
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    return value if isinstance(value, str | int | float) and not isinstance(value, bool) else None


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``--shard K/N``: this run takes jobs K, K+N, K+2N, ... (from 0)."""
    if text is None:
        return None
    k, slash, n = text.partition("/")
    if not (slash and k.strip().isdigit() and n.strip().isdigit()) or not 0 <= int(k) < int(n):
        raise GradcalcError(
            f"--shard {text[:40]!r} is not K/N with 0 <= K < N",
            kind="usage",
            hint="e.g. --shard 0/4 ... --shard 3/4 split the jobs four ways (K counts from 0)",
        )
    return int(k), int(n)


def _cores() -> int:
    try:
        found = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        found = os.cpu_count() or 1
    return max(1, min(found, MAX_BATCH_WORKERS))


# ---------------------------------------------------------------------------
# A job: one line of JSON to the arguments of `gradcalc grad --json`


@dataclass(frozen=True)
class Option:
    """A grad option as a job's key: ``expect_grad`` is ``--expect-grad``."""

    flag: str
    kind: str  # "flag" (true or false), "list" (given again for each item) or "value"
    negated: bool = False  # "symbolic": false is --no-symbolic


@dataclass(frozen=True)
class Defaults:
    """What batch's own options say for the jobs that do not."""

    no_symbolic: bool = False
    symbolic_budget: float | None = None


def job_options(command: Any) -> dict[str, Option]:
    """The keys a job may give, read from grad's command: each of its options but those that name files or
    choose a format, and ``symbolic``/``numeric`` (the opposites of --no-symbolic and --no-numeric) and
    ``output`` (another name of ``target``, as in the Python API)."""
    found: dict[str, Option] = {}
    for param in command.params:
        long = next((o for o in getattr(param, "opts", ()) if o.startswith("--")), None)
        if param.param_type_name != "option" or long is None:
            continue
        key = long[2:].replace("-", "_")
        if key in _NOT_IN_JOBS or param.type.name in ("path", "filename", "file"):
            continue
        kind = "flag" if param.is_flag else "list" if param.multiple else "value"
        found[key] = Option(long, kind)
        if kind == "flag" and key.startswith("no_"):
            found[key[3:]] = Option(long, kind, negated=True)
    if "target" in found:
        found["output"] = found["target"]
    return found


class _Number(str):
    """A JSON number as it was written: 0.390 stays three digits, as an answer on the command line would."""

    __slots__ = ()


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key[:40]!r} is given twice")
        found[key] = value
    return found


@dataclass
class Job:
    id: Any
    arguments: list[str]
    wants_sympy: bool


def read_job(raw: bytes, line_no: int, options: dict[str, Option], defaults: Defaults = Defaults()) -> Job:
    """A job line as grad's arguments (after --json), or the error that says what is wrong with it."""
    where = f"line {line_no}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GradcalcError(f"{where} is not UTF-8 text: byte {exc.start + 1} is 0x{raw[exc.start]:02X}",
                            kind="job", hint="write the jobs as UTF-8") from None
    if line_no == 1:
        text = text.removeprefix("\ufeff")
    source = Source(text, where)
    try:
        job = json.loads(text, parse_float=_Number, parse_int=_Number, parse_constant=_not_json,
                         object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise GradcalcError(f"{where} is not JSON: {exc.msg}", kind="job", span=(exc.pos, exc.pos + 1),
                            hint="each line is one JSON object, e.g. {\"formula\": \"x*y\", \"values\": {\"x\": 2, "
                            "\"y\": 3}}", source=source) from None
    except (ValueError, RecursionError) as exc:
        message = "it nests too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise GradcalcError(f"{where} is not JSON a job can be: {message}", kind="job",
                            hint="each line is one JSON object of strings, numbers, lists and objects") from None
    if not isinstance(job, dict):
        raise GradcalcError(f"{where} is {_type(job)}, not an object", kind="job",
                            hint="each line is one JSON object: {\"formula\": ..., \"values\": {...}}")
    job_id = _job_id(job.get("id"), where)

    def bad(key: str, want: str) -> GradcalcError:
        return GradcalcError(f"{where}: {key} is {_type(job[key])}, not {want}", kind="job", hint=_key_hint(key))

    formulas = [k for k in ("formula", "program") if k in job]
    if len(formulas) != 1:
        raise GradcalcError(f"{where}: the job gives {'both formula and program' if formulas else 'no formula'}",
                            kind="job", hint="give one of \"formula\" or \"program\" (a program is lines of "
                            "name = expression), as text")
    formula = job[formulas[0]]
    if type(formula) is not str:
        raise bad(formulas[0], "text")
    if formula == "-":
        raise GradcalcError(f"{where}: the formula '-' would read standard input", kind="job",
                            hint="in a job, give the formula itself")
    values = _values(job.get("values", {}), where)
    arguments: list[str] = ["--json"]
    given: set[str] = set()
    for key, value in job.items():
        if key in _OWN_KEYS:
            continue
        option = options.get(key)
        if option is None:
            near = difflib.get_close_matches(key[:40], [*_OWN_KEYS, *options], n=1)
            raise GradcalcError(
                f"{where}: unknown key {key[:40]!r}", kind="job",
                hint=f"did you mean {near[0]!r}?" if near else "a job's keys are id, formula (or program), values and "
                "grad's options, e.g. expect_grad, symbolic_budget, tie, target",
            )
        given.add(option.flag)
        if option.kind == "flag":
            if not isinstance(value, bool):
                raise bad(key, "true or false")
            if value != option.negated:
                arguments.append(option.flag)
        elif option.kind == "list":
            arguments += [f"{option.flag}={item}" for item in _items(value, key, where)]
        elif isinstance(value, str):
            arguments.append(f"{option.flag}={value}")
        else:
            raise bad(key, "a number or text")
    if defaults.no_symbolic and "--no-symbolic" not in given:
        arguments.append("--no-symbolic")
    if defaults.symbolic_budget is not None and "--symbolic-budget" not in given:
        arguments.append(f"--symbolic-budget={defaults.symbolic_budget!r}")
    return Job(job_id, [*arguments, "--", formula, *values], "--no-symbolic" not in arguments)


def _type(value: Any) -> str:
    if isinstance(value, _Number):
        return "a number"
    if isinstance(value, bool):
        return "true" if value else "false"
    return {dict: "an object", list: "a list", str: "text", type(None): "null"}.get(type(value), "a value")


def _key_hint(key: str) -> str:
    if key in ("formula", "program"):
        return "e.g. \"formula\": \"(x+y)*z\""
    return f"e.g. gradcalc grad --{key.replace('_', '-')} ... as the key \"{key}\""


def _job_id(value: Any, where: str) -> Any:
    if value is None or type(value) is str:
        return value
    if isinstance(value, _Number):
        number = json.loads(value)
        if isinstance(number, int) or abs(number) != float("inf"):  # 1e999 is no id
            return number
    raise GradcalcError(f"{where}: id is {_type(value)}, not text or a number", kind="job",
                        hint="e.g. \"id\": \"alice/problem-3\" or \"id\": 17")


def _values(values: Any, where: str) -> list[str]:
    """``{"x": -2, "W": [[1, 2], [3, 4]], "y": "pi/2"}`` (or ``["x=-2", ...]``) as grad's NAME=VALUE arguments."""
    if isinstance(values, list):
        if not all(type(v) is str for v in values):
            raise GradcalcError(f"{where}: values is a list of something else than NAME=VALUE texts", kind="job",
                                hint="give values as {\"x\": -2, \"y\": 5} or [\"x=-2\", \"y=5\"]")
        return values
    if not isinstance(values, dict):
        raise GradcalcError(f"{where}: values is {_type(values)}, not an object", kind="job",
                            hint="give values as {\"x\": -2, \"y\": 5}")
    return [f"{name}={_value_text(value, name, where)}" for name, value in values.items()]


def _value_text(value: Any, name: str, where: str) -> str:
    """A number or constant expression as written; a vector [1, 2] or matrix [[1, 2], [3, 4]] of numbers."""
    if isinstance(value, str):
        return value
    rows = value if isinstance(value, list) else None
    if rows is not None and all(isinstance(v, _Number) for v in rows):
        return "[" + ", ".join(rows) + "]"
    if rows and all(isinstance(r, list) and all(isinstance(v, _Number) for v in r) for r in rows):
        return "[" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "]"
    raise GradcalcError(f"{where}: the value of {name[:40]!r} is {_type(value)} of something else than numbers",
                        kind="job", hint="a value is a number, a constant expression such as \"pi/2\", a vector "
                        "[1, 2] or a matrix [[1, 2], [3, 4]]")


def _items(value: Any, key: str, where: str) -> list[str]:
    """An option given once or more: text or a number, a list of them, or an object of NAME: answer pairs."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return [f"{name}={answer}" for name, answer in value.items()]
    raise GradcalcError(f"{where}: {key} is {_type(value)} of something else than numbers or text", kind="job",
                        hint=f"e.g. \"{key}\": {{\"x\": 0.39}} or \"{key}\": [\"x=0.39\"]")


def result_line(job_id: Any, line_no: int, doc: dict[str, Any]) -> str:
    """A job's result as one line of JSON: its id and line, then grad's document (or error object)."""
    from ..render.jsondoc import dumps_line

    return dumps_line({"id": job_id, "line": line_no, **doc})


# ---------------------------------------------------------------------------
# In a worker: one job


def _worker_setup() -> None:
    gc.enable()


class Runner:
    """The work of a batch worker: a job's line in, its result line (after its exit code, one byte) out."""

    def __init__(self, grad_command: Any, options: dict[str, Option], defaults: Defaults) -> None:
        self.grad = grad_command
        self.options = options
        self.defaults = defaults
        self.warm = False

    def __call__(self, payload: bytes) -> bytes:
        line_no = int.from_bytes(payload[:8], "big")
        job_id = None
        try:
            try:
                job = read_job(payload[8:], line_no, self.options, self.defaults)
            except GradcalcError as err:  # the line's own error; its id, if it has one that can be read
                return bytes([EXIT_BAD_INPUT]) + result_line(_id_of(payload[8:]), line_no, err.to_json()).encode()
            job_id = job.id
            if job.wants_sympy and not self.warm:
                self._warm_up()
            doc, code = self.grad_document(job.arguments)
            return bytes([code]) + result_line(job_id, line_no, doc).encode("utf-8")
        except Exception as exc:  # a bug in gradcalc: this job's result says so, and the worker goes on
            return bytes([EXIT_INTERNAL]) + result_line(job_id, line_no, internal_error(exc).to_json()).encode()

    def grad_document(self, arguments: list[str]) -> tuple[dict[str, Any], int]:
        """What `gradcalc grad ARGUMENTS` (with --json) prints, as data, and its exit code."""
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()  # warnings are in the document; stdout stays empty
        try:
            with collect_documents() as docs:
                try:
                    code = self.grad.main(args=arguments, prog_name="grad", standalone_mode=False)
                except typer.TyperException as exc:  # a bad option value: the usage error the CLI reports
                    docs.append(usage_error(exc).to_json())
                    code = EXIT_BAD_INPUT
                except typer.Abort:
                    docs.append(GradcalcError("aborted", kind="usage").to_json())
                    code = EXIT_BAD_INPUT
                except Exception as exc:  # a bug in gradcalc: this job's result says so, the worker goes on
                    docs.append(internal_error(exc).to_json())
                    code = EXIT_INTERNAL
        finally:
            sys.stdout, sys.stderr = saved
        if len(docs) != 1:
            return internal_error(RuntimeError(f"grad made {len(docs)} documents")).to_json(), EXIT_INTERNAL
        return docs[0], code if isinstance(code, int) else EXIT_OK

    def _warm_up(self) -> None:
        """Import SymPy once in this worker (each check's child then shares it) and keep it out of the collector's
        way: what is imported by now lives as long as the worker."""
        from ..symbolic import warm_up

        with contextlib.suppress(Exception):  # no SymPy: each check says why it was skipped
            warm_up()
        gc.freeze()
        self.warm = True


# ---------------------------------------------------------------------------
# Output and progress


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[Any]:
    """A writer of result lines: standard output, flushed line by line, or a file replaced whole at the end."""
    if path is None or str(path) == "-":

        def write(text: str) -> None:
            sys.stdout.write(text)
            sys.stdout.flush()

        yield write
        return
    from ..files import AtomicWriter

    with AtomicWriter(path) as out:
        yield out.write
    from ..render.escape import terminal

    typer.echo(f"wrote {terminal(str(path))}", err=True)


@contextlib.contextmanager
def _progress(path: Path | None, part: tuple[int, int] | None) -> Iterator[Any]:
    """A progress bar on standard error when it is a terminal (nothing otherwise): jobs done, and how bad.

    Out of how many: for a file, its lines, counted first in a pass of their own (never all in memory).
    """
    if not sys.stderr.isatty():
        yield lambda code: None
        return
    total = _count_lines(path) if path is not None else None
    if total is not None and part is not None:
        total = len(range(part[0], total, part[1]))
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr, highlight=False, markup=False, emoji=False)
    columns = [TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn()]
    counts = [0, 0, 0]  # done, disagreeing, bad
    last = [0.0]
    with Progress(*columns, console=console, auto_refresh=False, transient=True) as bar:
        task = bar.add_task("batch", total=total)

        def update(code: int) -> None:
            counts[0] += 1
            counts[1] += code == 1
            counts[2] += code >= 2
            now = time.monotonic()
            if now - last[0] >= 0.1:
                last[0] = now
                bar.update(task, completed=counts[0],
                           description=f"{counts[0]:,} jobs, {counts[1]:,} disagreeing, {counts[2]:,} bad")
                bar.refresh()

        yield update


def _count_lines(path: Path) -> int | None:
    """How many lines the file has (blank ones too: the bar's total is a little high if it has some)."""
    count = 0
    last = b"\n"
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                count += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return None
    return count + (last != b"\n")
