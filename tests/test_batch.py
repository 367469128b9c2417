"""`gradcalc batch`: each job's result is what `gradcalc grad --json` prints for it, bad lines are results too,
warm workers die alone, nothing outlives the run, and memory is the window's.

Also the two ways SymPy's import is paid once: the SymPy child a one-shot `gradcalc grad` forks first thing
(budget.Budgeted.ahead, sent its tape as data), and gradcalc.Session.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from conftest import NEURON, NEURON_GRADIENTS, ROOT, cli, strict_json
from test_budget import LINUX, children, group, processes, swell_program, wait_for

import gradcalc.session
from gradcalc import budget
from gradcalc.cli import main
from gradcalc.commands.batch import Defaults, Lines, job_options, parse_shard, read_job
from gradcalc.errors import GradcalcError
from gradcalc.limits import MAX_BATCH_LINE_BYTES
from gradcalc.workers import WAIT, Died, Pool, Task, stream

needs_proc = pytest.mark.skipif(not LINUX, reason="reads /proc")
NEURON_FORMULA = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
INJECTION = "__import__('os').system('id')"


def grad_command() -> Any:
    import typer.main
    from typer._click import Context

    from gradcalc.cli import app

    group = typer.main.get_command(app)
    return group.get_command(Context(group), "grad")  # type: ignore[attr-defined]


OPTIONS = job_options(grad_command())


def arguments(job: dict[str, Any], line: int = 1, defaults: Defaults | None = None) -> list[str]:
    return read_job(json.dumps(job).encode(), line, OPTIONS, defaults or Defaults()).arguments


def job_error(line: bytes | str, number: int = 1) -> dict[str, Any]:
    raw = line.encode() if isinstance(line, str) else line
    with pytest.raises(GradcalcError) as caught:
        read_job(raw, number, OPTIONS)
    return caught.value.to_json()["error"]  # type: ignore[return-value]


def start_batch(*args: str, stdin: bytes | None = None) -> subprocess.Popen[bytes]:
    """`gradcalc batch ARGS` as a grader starts it: its own process group, pipes."""
    return subprocess.Popen([sys.executable, "-m", "gradcalc", "batch", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, cwd=ROOT)


def batch_process(jobs: list[Any], *args: str, timeout: float = 120) -> tuple[int, list[dict[str, Any]], str]:
    """Run jobs (objects, or raw lines as text) through `gradcalc batch --jobs 2`; its exit code, results, stderr.

    Afterwards nothing of its process group may be left.
    """
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in jobs)
    proc = start_batch("--jobs", "2", *args)
    out, err = proc.communicate(text.encode(), timeout=timeout)
    if LINUX:
        wait_for("batch's process group to end", lambda: not group(proc.pid), seconds=2.0)
    return proc.returncode, [strict_json(line) for line in out.decode().splitlines()], err.decode()


def without_timing(doc: dict[str, Any]) -> dict[str, Any]:
    """A document without the SymPy check's seconds, the one thing that differs from run to run."""
    doc = json.loads(json.dumps(doc))
    sympy = doc.get("checks", {}).get("sympy")
    if sympy is not None:
        sympy.pop("seconds")
    return doc


# ---------------------------------------------------------------------------
# A job line to grad's arguments: grad's own options, its parsing


def test_a_job_is_grads_arguments_with_its_numbers_as_written() -> None:
    line = ('{"id": 7, "formula": "(x+y)*z", "values": {"x": -2, "y": 5.50, "z": "pi/2"}, "expect_grad": '
            '{"x": -4.0, "z": 3}, "expect_value": -12.00, "symbolic": false, "tie": "first", "symbolic_budget": 0.5, '
            '"brief": true}')
    assert read_job(line.encode(), 1, OPTIONS).arguments == [
        "--json", "--expect-grad=x=-4.0", "--expect-grad=z=3", "--expect-value=-12.00", "--no-symbolic", "--tie=first",
        "--symbolic-budget=0.5", "--brief", "--", "(x+y)*z", "x=-2", "y=5.50", "z=pi/2",
    ]  # fmt: skip
    # Vectors and matrices as grad reads them; a program; `output` is the API's name for --target.
    assert arguments({"program": "h = W @ v\nf = sum(h)", "values": {"W": [[1, 2], [3, 4]], "v": [0.5, -1]},
                      "output": "h", "numeric": False, "expect": ["h=1"]}) == [
        "--json", "--target=h", "--no-numeric", "--expect=h=1", "--", "h = W @ v\nf = sum(h)",
        "W=[[1, 2], [3, 4]]", "v=[0.5, -1]",
    ]  # fmt: skip
    assert arguments({"formula": "x", "values": ["x=1"]}) == ["--json", "--", "x", "x=1"]


def test_batchs_own_options_are_defaults_a_job_may_override() -> None:
    defaults = Defaults(no_symbolic=True, symbolic_budget=0.25)
    assert arguments({"formula": "x", "values": {"x": 1}}, defaults=defaults) == [
        "--json", "--no-symbolic", "--symbolic-budget=0.25", "--", "x", "x=1"]
    assert arguments({"formula": "x", "symbolic": True, "symbolic_budget": 2}, defaults=defaults) == [
        "--json", "--symbolic-budget=2", "--", "x"]


def test_the_keys_are_grads_options_but_files_and_formats() -> None:
    assert {"expect_grad", "expect_value", "expect", "expect_upstream", "symbolic_budget", "tie", "target",
            "output", "fuse", "order", "digits", "brief", "explain", "rtol", "atol", "lr", "params", "symbolic",
            "no_symbolic", "numeric", "no_numeric"} <= OPTIONS.keys()
    assert not {"file", "json", "format", "color", "help"} & OPTIONS.keys()
    assert OPTIONS["output"].flag == "--target"  # never --output FILE: a job writes no file


@pytest.mark.parametrize(("line", "kind", "message"), [
    ("not json", "job", "line 3 is not JSON: Expecting value"),
    ("[1, 2]", "job", "line 3 is a list, not an object"),
    ('{"formula": "x", "values": {"x": NaN}}', "job", "line 3 is not JSON a job can be: NaN is not a JSON number"),
    ('{"formula": "x", "formula": "y"}', "job", "line 3 is not JSON a job can be: the key 'formula' is given twice"),
    ('{"formula": "x", "expect_grd": {"x": 1}}', "job", "line 3: unknown key 'expect_grd'"),
    ('{"formula": "x", "file": "/etc/passwd"}', "job", "line 3: unknown key 'file'"),
    ('{"formula": "x", "json": false}', "job", "line 3: unknown key 'json'"),
    ('{"values": {"x": 1}}', "job", "line 3: the job gives no formula"),
    ('{"formula": "x", "program": "f = x"}', "job", "line 3: the job gives both formula and program"),
    ('{"formula": 3}', "job", "line 3: formula is a number, not text"),
    ('{"formula": "-"}', "job", "line 3: the formula '-' would read standard input"),
    ('{"formula": "x", "brief": "yes"}', "job", "line 3: brief is text, not true or false"),
    ('{"formula": "x", "tie": ["split"]}', "job", "line 3: tie is a list, not a number or text"),
    ('{"formula": "x", "values": {"x": [[[1]]]}}', "job",
     "line 3: the value of 'x' is a list of something else than numbers"),
    ('{"formula": "x", "id": {"a": 1}}', "job", "line 3: id is an object, not text or a number"),
    ('{"formula": "x", "id": 1e999}', "job", "line 3: id is a number, not text or a number"),
    ("[" * 100_000, "job", "line 3 is not JSON a job can be: it nests too deeply"),
])  # fmt: skip
def test_a_bad_line_is_an_error_that_says_what_is_wrong(line: str, kind: str, message: str) -> None:
    error = job_error(line, 3)
    assert (error["kind"], error["message"]) == (kind, message)
    assert error["hint"]


def test_an_error_in_the_json_points_at_its_column() -> None:
    error = job_error('{"formula": "x",, "values": {}}', 4)
    assert (error["message"], error["source"], error["line"], error["column"]) == (
        "line 4 is not JSON: Expecting property name enclosed in double quotes", "line 4", 1, 17)
    assert job_error('{"formula": "x", "expect_grd": 1}')["hint"] == "did you mean 'expect_grad'?"


def test_a_line_that_is_not_utf8_says_which_byte() -> None:
    error = job_error(b'{"formula": "x\xff"}', 2)
    assert error["message"] == "line 2 is not UTF-8 text: byte 15 is 0xFF"


def test_shards_count_from_zero() -> None:
    assert parse_shard("0/4") == (0, 4) and parse_shard("3/4") == (3, 4)
    for bad in ("4/4", "-1/4", "1", "a/b", "1/0", "0/"):
        with pytest.raises(GradcalcError, match="is not K/N with 0 <= K < N"):
            parse_shard(bad)


# ---------------------------------------------------------------------------
# Reading lines: bounded, streaming


def lines_of(data: bytes, tmp_path: Path, limit: int = 20) -> list[tuple[int, Any]]:
    path = tmp_path / "jobs.jsonl"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        return list(Lines(fd, limit))  # a regular file never waits
    finally:
        os.close(fd)


def test_lines_are_numbered_blank_ones_skipped_and_long_ones_refused_unread(tmp_path: Path) -> None:
    data = b'{"a": 1}\n\n  \n' + b"x" * 100 + b'\n{"b": 2}\r\n' + b"y" * 70_000 + b"\n{\"c\": 3}"
    # A long line is said as its length so far (one chunk read past its start), and skipped to its end.
    assert lines_of(data, tmp_path) == [(1, b'{"a": 1}'), (4, 100), (5, b'{"b": 2}\r'), (6, 65_536 - 124),
                                        (7, b'{"c": 3}')]
    assert lines_of(b"", tmp_path) == []
    assert lines_of(b"z" * 30, tmp_path) == [(1, 30)]  # the last line, past the limit, without a newline


def test_lines_wait_for_a_slow_producer_instead_of_blocking() -> None:
    read, write = os.pipe()
    try:
        lines = iter(Lines(read, 100))
        os.write(write, b'{"a": 1}\n{"b"')
        assert next(lines) == (1, b'{"a": 1}')
        assert next(lines) is WAIT  # the second line is not whole yet
        os.write(write, b": 2}\n")
        assert next(lines) == (2, b'{"b": 2}')
        os.close(write)
        write = -1
        assert [x for x in lines if x is not WAIT] == []  # the end: no more lines
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)


# ---------------------------------------------------------------------------
# The pool and the stream: a bounded window, input order, a worker that dies


def echo(payload: bytes) -> bytes:
    if payload == b"die":
        os.kill(os.getpid(), signal.SIGKILL)
    return payload.upper()


def test_the_stream_holds_at_most_its_window_however_long_the_input() -> None:
    pulled = 0
    handed = 0
    most = 0

    def tasks() -> Any:
        nonlocal pulled, most
        for k in range(3_000):
            pulled += 1
            most = max(most, pulled - handed)
            yield Task(b"job %d" % k if k % 7 else None, k)  # every 7th needs no worker

    with Pool(2, echo) as pool:
        results = []
        for task, result in stream(tasks(), pool, window=8):
            handed += 1
            results.append((task.meta, result))
    assert most <= 8
    assert [k for k, _ in results] == list(range(3_000))  # in input order
    assert results[1] == (1, b"JOB 1") and results[7] == (7, None)


def test_unordered_gives_the_same_results() -> None:
    with Pool(2, echo) as pool:
        found = {task.meta: result for task, result in stream([Task(b"%d" % k, k) for k in range(200)], pool, 6,
                                                              ordered=False)}
    assert found == {k: b"%d" % k for k in range(200)}


def test_a_worker_that_dies_costs_only_its_job() -> None:
    with Pool(2, echo) as pool:
        first = set(pool.pids)
        jobs = [Task(b"a%d" % k, k) for k in range(40)]
        jobs[5] = Task(b"die", 5)
        jobs[23] = Task(b"die", 23)
        results = dict((task.meta, result) for task, result in stream(jobs, pool, window=8))
        assert pool.replaced == 2 and len(set(pool.pids) - first) >= 1
    assert isinstance(results[5], Died) and isinstance(results[23], Died)
    assert "killed" in results[5].reason
    assert {k: r for k, r in results.items() if k not in (5, 23)} == {
        k: b"A%d" % k for k in range(40) if k not in (5, 23)}  # the jobs queued behind them ran elsewhere


@needs_proc
def test_workers_die_with_their_parent() -> None:
    script = ("import os, sys, time\nfrom gradcalc.workers import Pool\n"
              "pool = Pool(2, lambda b: b)\nprint(*pool.pids, flush=True)\ntime.sleep(60)\n")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True, cwd=ROOT)
    assert proc.stdout is not None
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2 and all(processes()[p]["ppid"] == proc.pid for p in pids)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    wait_for("the workers to die with their parent", lambda: not group(proc.pid), seconds=2.0)


# ---------------------------------------------------------------------------
# The command, end to end


def mixed_jobs() -> list[Any]:
    """200 jobs: good, wrong answers, bad syntax, an injection, bad lines, a SymPy blow-up with a tiny budget."""
    jobs: list[Any] = []
    for k in range(200):
        x = round(-2 + k / 50, 2)
        job: dict[str, Any] = {"id": f"j{k}", "formula": "(x+y)*z", "values": {"x": x, "y": 5, "z": -4},
                               "symbolic": False}  # fmt: skip
        kind = k % 10
        if kind == 1:  # a right answer: ∂/∂z = x + y
            job["expect_grad"] = {"z": round(x + 5, 2)}
        elif kind == 2:  # a wrong one
            job["expect_grad"] = {"x": 4}
        elif kind == 3:
            job["formula"] = "(x+y)*"
        elif kind == 4:
            job["formula"] = INJECTION
        elif kind == 5 and k < 60:  # a few with the SymPy check, on the textbook neuron
            job = {"id": f"j{k}", "formula": NEURON_FORMULA, "values": NEURON}
        jobs.append(job)
    jobs[66] = "this is not json"
    jobs[77] = '{"id": "j77", "formula": "x", "values": {"x": 1}, "expect_grd": 1}'
    jobs[88] = {"id": "j88", "program": swell_program(), "symbolic_budget": 0.1}  # SymPy cannot finish it
    return jobs


@pytest.fixture(scope="module")
def mixed() -> tuple[int, list[dict[str, Any]], str]:
    return batch_process(mixed_jobs())


def test_two_hundred_jobs_give_two_hundred_results_in_order(mixed: tuple[int, list[dict[str, Any]], str]) -> None:
    code, results, stderr = mixed
    assert code == 2  # some job was bad input (it wins over the wrong answers)
    assert stderr == ""  # no progress bar off a terminal, no warnings
    assert [r["line"] for r in results] == list(range(1, 201))
    assert [r["id"] for r in results] == [None if k == 66 else f"j{k}" for k in range(200)]
    first = results[0]  # x = -2: the CS231n example
    assert (first["value"], first["gradients"], first["status"]) == (-12.0, {"x": -4.0, "y": -4.0, "z": 3.0}, "ok")
    assert results[1]["answers_right"] == 1 and results[2]["answers_right"] == 0
    assert results[2]["answers"][0]["true_value"] == -4.0
    assert results[3]["error"]["kind"] == "syntax"
    assert results[4]["error"]["message"] == "unexpected character \"'\""  # read by our parser, never run
    neuron = results[5]
    assert neuron["checks"]["sympy"]["state"] == "done"
    for name, want in NEURON_GRADIENTS.items():
        assert math.isclose(neuron["gradients"][name], want, rel_tol=1e-12)
        check = next(v for v in neuron["checks"]["variables"] if v["name"] == name)
        assert math.isclose(check["sympy"], want, rel_tol=1e-12)
    assert results[66]["error"]["message"] == "line 67 is not JSON: Expecting value"
    assert results[77]["error"]["hint"] == "did you mean 'expect_grad'?"


def test_the_blowup_is_skipped_and_its_neighbours_are_unaffected(mixed: tuple[int, list[dict[str, Any]], str]) -> None:
    _, results, _ = mixed
    blowup = results[88]
    assert blowup["checks"]["sympy"]["state"] in ("skipped", "partial")
    assert blowup["checks"]["sympy"]["reason"] == "stopped at its time budget of 0.1 s"
    assert blowup["status"] == "ok"  # forward mode and the central differences still agree
    assert math.isclose(blowup["value"], 2.089595591897409, rel_tol=1e-12)
    for neighbour in (results[87], results[89]):
        assert neighbour["status"] == "ok" and neighbour["value"] == (neighbour["inputs"]["x"] + 5) * -4


def test_each_result_is_what_grad_json_prints_for_the_job(mixed: tuple[int, list[dict[str, Any]], str]) -> None:
    _, results, _ = mixed
    jobs = mixed_jobs()
    for k in (0, 1, 2, 3, 4, 5, 15, 150, 199):
        alone = cli("grad", *read_job(json.dumps(jobs[k]).encode(), k + 1, OPTIONS).arguments).json()
        got = dict(results[k])
        assert (got.pop("id"), got.pop("line")) == (f"j{k}", k + 1)
        assert without_timing(got) == without_timing(alone), k
    for k in (2, 4, 5):  # and a few as the real command, a process of its own
        job = jobs[k]
        argv = read_job(json.dumps(job).encode(), k + 1, OPTIONS).arguments
        proc = subprocess.run([sys.executable, "-m", "gradcalc", "grad", *argv], capture_output=True, text=True,
                              timeout=60, cwd=ROOT)
        got = dict(results[k])
        del got["id"], got["line"]
        assert without_timing(got) == without_timing(strict_json(proc.stdout)), k


def test_a_usage_error_inside_a_job_is_the_error_grad_gives() -> None:
    job = {"id": "d", "formula": "x", "values": {"x": 1}, "digits": 99}
    r = cli("batch", stdin=json.dumps(job) + "\n")
    assert r.exit_code == 2
    (result,) = [strict_json(line) for line in r.stdout.splitlines()]
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert main(["grad", *arguments(job)]) == 2  # as the command line has it, usage errors and all
    assert {k: v for k, v in result.items() if k not in ("id", "line")} == strict_json(out.getvalue())
    assert result["error"]["message"] == "Invalid value for '--digits': 99 is not in the range 1<=x<=17."


def test_a_bug_in_one_job_is_its_internal_error_and_the_next_job_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import gradcalc.api

    real = gradcalc.api.gradient

    def broken(formula: Any, *args: Any, **kwargs: Any) -> Any:
        text = formula.source.text if hasattr(formula, "source") else formula  # grad hands it a built tape
        if text == "x*7":
            raise ZeroDivisionError("planted")
        return real(formula, *args, **kwargs)

    monkeypatch.setattr(gradcalc.api, "gradient", broken)  # the workers are forked with it
    jobs = [{"id": "bug", "formula": "x*7", "values": {"x": 1}, "symbolic": False, "brief": True},
            {"id": "fine", "formula": "x*2", "values": {"x": 1}, "symbolic": False, "brief": True}]
    r = cli("batch", "--jobs", "1", stdin="".join(json.dumps(j) + "\n" for j in jobs))
    assert r.exit_code == 3
    bug, fine = (strict_json(line) for line in r.stdout.splitlines())
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert main(["grad", *arguments(jobs[0])]) == 3
    assert {k: v for k, v in bug.items() if k not in ("id", "line")} == strict_json(out.getvalue())
    assert bug["error"]["message"] == ("internal error (ZeroDivisionError: planted); please report it with the "
                                       "command you ran")
    assert (fine["id"], fine["value"]) == ("fine", 2.0)


@pytest.mark.parametrize(("answers", "code"), [
    ([{"expect_grad": {"x": -4}}, {}], 0),
    ([{"expect_grad": {"x": -4}}, {"expect_grad": {"x": 4}}], 1),
    ([{"expect_grad": {"x": 4}}, {"formula": "x+"}], 2),
    ([{}, {"formula": "x", "values": {"x": "zero"}}], 2),
])  # fmt: skip
def test_the_exit_code_is_the_worst_jobs(answers: list[dict[str, Any]], code: int) -> None:
    base = {"formula": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}, "symbolic": False}
    lines = "".join(json.dumps({**base, **a}) + "\n" for a in answers)
    r = cli("batch", "--jobs", "1", stdin=lines)
    assert r.exit_code == code
    assert len(r.stdout.splitlines()) == len(answers)


def test_unordered_and_shards_give_the_same_results(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"id": k, "formula": "x*y", "values": {"x": k, "y": 2}, "symbolic": False,
                                        "brief": True}) + "\n" for k in range(30)))  # fmt: skip
    ordered = [strict_json(line) for line in cli("batch", str(jobs), "--jobs", "2").stdout.splitlines()]
    assert [r["id"] for r in ordered] == list(range(30))
    assert [r["gradients"]["y"] for r in ordered] == [float(k) for k in range(30)]
    run = cli("batch", str(jobs), "--jobs", "2", "--unordered")
    unordered = [strict_json(line) for line in run.stdout.splitlines()]
    assert sorted(unordered, key=lambda r: r["id"]) == ordered
    shards = [[strict_json(line) for line in cli("batch", str(jobs), "--shard", f"{k}/3").stdout.splitlines()]
              for k in range(3)]  # fmt: skip
    assert [[r["id"] for r in shard] for shard in shards] == [list(range(k, 30, 3)) for k in range(3)]
    assert sorted((r for shard in shards for r in shard), key=lambda r: r["id"]) == ordered
    assert cli("batch", str(jobs), "--shard", "3/3").exit_code == 2


def test_a_line_past_the_limit_is_an_error_and_the_next_one_runs() -> None:
    long = '{"formula": "' + "x+" * (MAX_BATCH_LINE_BYTES // 2) + 'x"}'
    good = json.dumps({"id": "after", "formula": "x*2", "values": {"x": 1}, "symbolic": False, "brief": True})
    r = cli("batch", stdin=long + "\n" + good + "\n")
    assert r.exit_code == 2
    first, second = (strict_json(line) for line in r.stdout.splitlines())
    assert first["id"] is None and first["line"] == 1 and first["error"]["kind"] == "limit"
    assert first["error"]["message"] == f"line 1 is {len(long):,} bytes or more, past the limit of 1,000,000 for a job"
    assert (second["id"], second["line"], second["value"]) == ("after", 2, 2.0)


def test_output_file_is_written_whole_at_the_end(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    out.write_text("old\n")
    jobs = "".join(json.dumps({"id": k, "formula": "x", "values": {"x": k}, "symbolic": False}) + "\n"
                   for k in range(3))  # fmt: skip
    r = cli("batch", "-o", str(out), stdin=jobs)
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", f"wrote {out}\n")
    assert [strict_json(line)["id"] for line in out.read_text().splitlines()] == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl"]  # no temporary file left


@needs_proc
def test_an_interrupted_batch_stops_its_workers_and_keeps_the_old_output(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    out.write_text("old\n")
    proc = start_batch("--jobs", "2", "-o", str(out))
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({"id": "swell", "program": swell_program(), "symbolic_budget": 60}).encode() + b"\n")
    proc.stdin.flush()
    # The SymPy check runs in a child of a worker (a grandchild of batch).
    wait_for("the job's SymPy check", lambda: [p for p in group(proc.pid) if processes()[p]["ppid"] != proc.pid
                                               and p != proc.pid])
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 143
    assert err.decode() == "error: interrupted by SIGTERM\n"
    wait_for("batch's process group to end", lambda: not group(proc.pid), seconds=2.0)
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl"]


@needs_proc
def test_a_worker_killed_mid_job_is_replaced_and_only_its_job_errs() -> None:
    quick = [{"id": f"q{k}", "formula": "x*y", "values": {"x": k, "y": 3}, "symbolic": False, "brief": True}
             for k in range(6)]  # fmt: skip
    slow = {"id": "slow", "program": swell_program(), "symbolic_budget": 60, "brief": True}
    proc = start_batch("--jobs", "2")
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("".join(json.dumps(j) + "\n" for j in [*quick[:3], slow, *quick[3:]]).encode())
    proc.stdin.close()

    def worker_with_a_check() -> int | None:
        for worker in children(proc.pid):
            if children(worker):  # the slow job's SymPy check: its worker is the one running it
                return worker
        return None

    worker = wait_for("the slow job's SymPy check", worker_with_a_check)
    os.kill(worker, signal.SIGKILL)
    out = proc.stdout.read()
    assert proc.wait(timeout=30) == 3
    results = [strict_json(line) for line in out.decode().splitlines()]  # exit 3: a job's worker died
    assert [r["id"] for r in results] == ["q0", "q1", "q2", "slow", "q3", "q4", "q5"]
    assert results[3]["error"]["kind"] == "worker"
    assert results[3]["error"]["message"].startswith("the worker running this job was killed")
    assert [r["gradients"]["y"] for r in results if r["id"] != "slow"] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert worker not in children(proc.pid)
    wait_for("batch's process group to end", lambda: not group(proc.pid), seconds=2.0)


def test_a_file_that_cannot_be_read_is_said_before_any_work(tmp_path: Path) -> None:
    r = cli("batch", str(tmp_path / "missing.jsonl"))
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("error: cannot read")
    r = cli("batch", str(tmp_path))
    assert r.exit_code == 2 and "is a directory, not a regular file" in r.stderr


# ---------------------------------------------------------------------------
# One-shot start-up: the SymPy child forked first, sent its tape as data


def tape_and_point(formula: str, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from gradcalc.pipeline import evaluate

    ev = evaluate(formula, values)
    return ev.tape, ev.inputs


def outcome_by(formula: str, values: dict[str, Any], ahead: bool) -> list[dict[str, Any]]:
    from gradcalc.symbolic import derivatives, job_derivatives, load, tape_job

    tape, point = tape_and_point(formula, values)
    if ahead:
        job = budget.Budgeted.ahead(load, job_derivatives)
        assert job is not None
        job.send(tape_job(tape, point), 30)
    else:
        job = budget.Budgeted(lambda emit: derivatives(tape, point, emit), 30)
    outcome = job.collect()
    assert outcome.complete, outcome.reason
    return outcome.results


@pytest.mark.parametrize(("formula", "values"), [
    ("max(x, y)*z + 0.1*relu(x) + x^2.5 + 1/(1+exp(-x))", {"x": 4, "y": 2, "z": 3}),
    ("sum(softmax(W @ v)[0] * v) + norm(v)", {"W": "[[1, 2], [3, 4]]", "v": "[0.5, -1]"}),
])  # fmt: skip
def test_the_child_forked_ahead_computes_what_the_direct_one_does(formula: str, values: dict[str, Any]) -> None:
    from gradcalc.values import parse_assignments

    given = parse_assignments([f"{k}={v}" for k, v in values.items()])
    assert outcome_by(formula, given, ahead=True) == outcome_by(formula, given, ahead=False)


def sleeping(job: Any, emit: budget.Emit) -> None:
    time.sleep(60)


@needs_proc
def test_the_child_forked_ahead_holds_only_its_pipes_and_gets_its_budget_with_its_job() -> None:
    job = budget.Budgeted.ahead(lambda: None, sleeping)
    assert job is not None
    try:
        def settled() -> dict[int, str] | None:
            fds = {int(fd): os.readlink(f"/proc/{job.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{job.pid}/fd")}
            return fds if len(fds) == 6 and all(fds.get(k) == os.devnull for k in (0, 1, 2)) else None

        fds = wait_for("the child to close what it inherited", settled)  # stdio, results, lifeline, its job
        assert all(target.startswith("pipe:") for k, target in fds.items() if k > 2)
        limits = Path(f"/proc/{job.pid}/limits").read_text()
        assert re.search(r"^Max cpu time\s+unlimited", limits, re.MULTILINE)  # no budget before its job
        job.send({"anything": [1, 2]}, 0.5)
        cpu = math.ceil(0.5 + budget.GRACE)

        def limited() -> bool:
            text = Path(f"/proc/{job.pid}/limits").read_text()
            found = re.search(r"^Max cpu time\s+(\d+)\s+(\d+)\s+seconds", text, re.MULTILINE)
            return found is not None and int(found.group(1)) in (cpu, cpu + 1)  # its CPU so far counts too

        wait_for("the child's CPU limit", limited)
        assert job.collect().timed_out
    finally:
        job.cancel()


@needs_proc
def test_a_child_forked_ahead_that_gets_no_job_goes_when_its_parent_gives_up() -> None:
    job = budget.Budgeted.ahead(lambda: None, sleeping)
    assert job is not None
    pid = job.pid
    job.cancel()
    assert pid not in processes()
    job = budget.Budgeted.ahead(lambda: None, sleeping)
    assert job is not None and job._job_fd is not None
    os.close(job._job_fd)  # no job, ever: the child ends by itself, without running any
    job._job_fd = None
    def ended() -> tuple[int] | None:
        done, status = os.waitpid(job.pid, os.WNOHANG)
        return (status,) if done else None  # a tuple: an exit status of 0 is an answer too

    (status,) = wait_for("the child to end", ended, seconds=5)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    budget._running.pop(job.pid, None)


@needs_proc
def test_grad_forks_its_sympy_child_first_and_a_bad_formula_leaves_nothing() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "gradcalc", "grad", "(x+", "x=1", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, cwd=ROOT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2 and strict_json(out)["error"]["kind"] == "syntax"
    wait_for("grad's process group to end", lambda: not group(proc.pid), seconds=1.0)


def test_grad_with_the_child_forked_ahead_gives_sympys_derivatives() -> None:
    proc = subprocess.run([sys.executable, "-m", "gradcalc", "grad", NEURON_FORMULA,
                           *[f"{k}={v}" for k, v in NEURON.items()], "--json"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    doc = strict_json(proc.stdout)
    assert doc["checks"]["sympy"]["state"] == "done"
    for check in doc["checks"]["variables"]:
        assert math.isclose(check["sympy"], NEURON_GRADIENTS[check["name"]], rel_tol=1e-12)
    w0 = next(v for v in doc["checks"]["variables"] if v["name"] == "w0")
    assert w0["derivative"] == "x0*exp(-w0*x0 - w1*x1 - w2)/(exp(-w0*x0 - w1*x1 - w2) + 1)**2"


# ---------------------------------------------------------------------------
# The Python API: gradcalc.Session, and the docs' examples


# In a process of their own: a Session imports SymPy into its process, which would make the test
# process larger for every test after these (and every process it forks).
DOCTESTS = """
import doctest, re, sys
import gradcalc.session
failed = doctest.testmod(gradcalc.session).failed
page = open(sys.argv[1], encoding="utf-8").read()
blocks = [b for b in re.findall(r"```python\\n(.*?)```", page, re.S) if ">>>" in b]
assert blocks, "no Python example"
parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
for k, block in enumerate(blocks):
    runner.run(parser.get_doctest(block, {}, f"python block {k}", sys.argv[1], 0))
failed += runner.summarize(verbose=False).failed
print(len(blocks), failed)
sys.exit(1 if failed else 0)
"""


def test_the_session_doctest_and_the_docs_python_examples_run() -> None:
    proc = subprocess.run([sys.executable, "-c", DOCTESTS, str(ROOT / "docs" / "batch.md")], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split() == ["1", "0"]  # one example block, nothing failed


def test_a_session_passes_its_options_and_each_call_may_override_them() -> None:
    session = gradcalc.session.Session(symbolic=False, tie="first")  # no SymPy: nothing imported here
    r = session.gradient("max(x, y)", {"x": 1, "y": 1})
    assert r.tie == "first" and r.gradients == {"x": 1.0, "y": 0.0} and r.symbolic.state == "off"
    assert session.gradient("max(x, y)", {"x": 1, "y": 1}, tie="split").gradients == {"x": 0.5, "y": 0.5}


# ---------------------------------------------------------------------------
# The benchmark's workloads (bench/batch.py): its answers are right; it is not run here (minutes of processes)


def bench_batch() -> Any:
    import importlib.util

    bench = ROOT / "bench"
    sys.path.insert(0, str(bench))
    try:
        spec = importlib.util.spec_from_file_location("gradcalc_bench_batch", bench / "batch.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(bench))


def test_the_benchmarks_jobs_have_the_closed_forms_answers() -> None:
    from gradcalc import gradient

    b = bench_batch()
    jobs = b.neuron_jobs(5, checked=False)
    assert [j["id"] for j in jobs] == list(range(5)) and all(j["symbolic"] is False for j in jobs)
    _, at_example = b.neuron_reference(NEURON)  # the textbook point: σ'(1) times the other input
    assert at_example == pytest.approx(NEURON_GRADIENTS, rel=1e-12)
    for job in jobs:
        _, want = b.neuron_reference(job["values"])
        assert gradient(job["formula"], job["values"], symbolic=False).gradients == pytest.approx(want, rel=1e-12)
        assert job["expect_grad"]["w0"] == float(f"{want['w0']:.4g}")
    assert b.grad_arguments(jobs[0])[:3] == ["grad", "--json", NEURON_FORMULA]
    assert b.grad_arguments(jobs[0])[-1] == "--no-symbolic"
    lines = b.memory_lines(60)
    assert len(lines) == 60 and sum(1 for line in lines if '"brief": true' not in line) == 6  # a tenth are bad
