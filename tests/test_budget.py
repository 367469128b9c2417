"""The SymPy child never outlives gradcalc or its budget; signals end a run cleanly, with a word.

A grading server kills gradcalc by its process id (SIGTERM, SIGINT, SIGHUP, or
SIGKILL from ``subprocess.run(..., timeout=...)``) and then waits for its output
pipes to close.  These tests play that server against a formula whose SymPy
derivative never finishes ("swell"), and look in /proc for anything left.
They also check the budget option's bounds, the one budget of ``--format
latex`` and of ``gradcalc check --sympy``, and what an interrupted run says.
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
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, TypeVar

import pytest
from conftest import ROOT, SAMPLES, Run, cli, strict_json

import gradcalc.render.latex
from gradcalc import budget
from gradcalc.cli import main

LINUX = sys.platform.startswith("linux") and Path("/proc/self/stat").exists()
needs_proc = pytest.mark.skipif(not LINUX, reason="reads /proc")
T = TypeVar("T")


def swell_program(levels: int = 16) -> str:
    """A 115-node program whose SymPy derivative does not finish in minutes: each level nests the last twice."""
    lines = ["x = 0.3", "y = 0.2", "z = 0.1", "a0 = x"]
    lines += [f"a{k} = exp(sin(a{k - 1})*y)^(a{k - 1}+z) + a{k - 1}*x" for k in range(1, levels + 1)]
    return "\n".join([*lines, f"f = a{levels}"]) + "\n"


@pytest.fixture
def swell(tmp_path: Path) -> Path:
    path = tmp_path / "swell.grad"
    path.write_text(swell_program())
    return path


def wait_for(what: str, found: Callable[[], T | None], seconds: float = 10.0) -> T:
    """Poll until ``found()`` gives something (a process event), at most ``seconds``; fail past it."""
    deadline = time.monotonic() + seconds
    while True:
        value = found()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds:g} s for {what}")
        time.sleep(0.01)


def processes() -> dict[int, dict[str, Any]]:
    """Every live process: its parent, process group, CPU seconds and command line (zombies are gone)."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:  # ended while we looked
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] in "ZX":  # a zombie holds no files and runs nothing
            continue
        found[int(entry)] = {"ppid": int(fields[1]), "pgrp": int(fields[2]),
                             "cpu": (int(fields[11]) + int(fields[12])) / tick,
                             "cmdline": cmdline.replace(b"\0", b" ").decode(errors="replace")}  # fmt: skip
    return found


def children(pid: int) -> list[int]:
    return [p for p, info in processes().items() if info["ppid"] == pid]


def group(pgrp: int) -> list[int]:
    return [p for p, info in processes().items() if info["pgrp"] == pgrp]


def start(*args: str) -> subprocess.Popen[bytes]:
    """gradcalc as a grader starts it: its own process group, output through pipes."""
    return subprocess.Popen([sys.executable, "-m", "gradcalc", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, cwd=ROOT)  # fmt: skip


def finish(proc: subprocess.Popen[bytes]) -> Run:
    """Wait for the process and for its pipes to close (a child holding them would keep this waiting)."""
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("gradcalc's output pipes stayed open 10 s after it was killed")
    return Run(proc.returncode, out.decode(), err.decode())


def gone(pgrp: int) -> None:
    wait_for(f"every process of group {pgrp} to end", lambda: not group(pgrp), seconds=1.0)


# ---------------------------------------------------------------------------
# 1. The child dies with gradcalc, and lets go of its output


@needs_proc
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGHUP", "SIGKILL"])
def test_killing_gradcalc_by_its_pid_ends_the_sympy_child_too(swell: Path, sig: str) -> None:
    proc = start("grad", "--file", str(swell), "--json")
    (child,) = wait_for("the SymPy child", lambda: children(proc.pid))
    assert processes()[child]["pgrp"] == proc.pid  # in gradcalc's group, where a grader's killpg reaches it
    os.kill(proc.pid, signal.Signals[sig])
    run = finish(proc)
    gone(proc.pid)
    number = signal.Signals[sig].value
    if sig == "SIGKILL":
        assert run.exit_code == -number
        return
    assert run.exit_code == 128 + number
    error = strict_json(run.stdout)["error"]  # one JSON error object, as any other error under --json
    assert (error["kind"], error["signal"], error["message"]) == ("interrupted", sig, f"interrupted by {sig}")
    assert run.stderr == ""


@needs_proc
def test_a_graders_timeout_leaves_nothing_running(swell: Path) -> None:
    began = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-m", "gradcalc", "grad", "--file", str(swell), "--json"],
                       capture_output=True, timeout=1, cwd=ROOT)  # fmt: skip
    assert time.monotonic() - began < 5  # not the 5 s of the SymPy budget: nothing held the pipes
    # subprocess.run kills only gradcalc (SIGKILL); its child goes with it.  Both have the file on their command line.
    wait_for("the SymPy child to end", lambda: not [p for p, info in processes().items()
                                                    if str(swell) in info["cmdline"]], seconds=2.0)  # fmt: skip


def sleeper(emit: budget.Emit) -> None:
    while True:
        time.sleep(1)


@needs_proc
def test_the_child_holds_only_its_pipes_and_has_its_own_cpu_limit() -> None:
    job = budget.Budgeted(sleeper, 2.5)
    try:

        def settled() -> dict[int, str] | None:
            try:
                fds = {int(fd): os.readlink(f"/proc/{job.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{job.pid}/fd")}
            except FileNotFoundError:  # an inherited file closed between listing and reading: not settled yet
                return None
            done = len(fds) == 5 and all(fds.get(k) == os.devnull for k in (0, 1, 2))
            return fds if done else None  # stdin, stdout, stderr on /dev/null; its results; the lifeline

        fds = wait_for("the child to close what it inherited", settled)
        assert [fds[k] for k in (0, 1, 2)] == [os.devnull] * 3
        assert all(target.startswith("pipe:") for k, target in fds.items() if k > 2)
        limits = Path(f"/proc/{job.pid}/limits").read_text()
        cpu = math.ceil(2.5 + budget.GRACE)
        assert re.search(rf"^Max cpu time\s+{cpu}\s+{cpu + 1}\s+seconds", limits, re.MULTILINE), limits
    finally:
        job.cancel()


def reaped(pid: int) -> Callable[[], int | None]:
    def status() -> int | None:
        done, code = os.waitpid(pid, os.WNOHANG)
        return code if done else None

    return status


@needs_proc
def test_the_child_ends_at_its_own_deadline_when_nobody_stops_it() -> None:
    job = budget.Budgeted(sleeper, 0.1)  # never collected, as by a parent that is stuck
    try:
        status = wait_for("the child's own deadline", reaped(job.pid))
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM
    finally:
        job.cancel()


@needs_proc
def test_the_child_ends_when_its_lifeline_closes() -> None:
    """The portable way (and the one for a parent that died before prctl): the pipe only the parent holds."""
    job = budget.Budgeted(sleeper, 30)
    try:
        os.close(job._lifeline)
        job._lifeline = os.open(os.devnull, os.O_RDONLY)  # for cancel() to close, not a stranger's file
        status = wait_for("the child to see its lifeline close", reaped(job.pid))
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1
    finally:
        job.cancel()


# ---------------------------------------------------------------------------
# 2. The budget option is bounded


def run(*args: str) -> Run:
    """``gradcalc ARGS`` in-process through :func:`gradcalc.cli.main` (its usage errors, as a process has them)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return Run(code, out.getvalue(), err.getvalue())


@pytest.mark.parametrize("seconds", ["nan", "inf", "-inf", "1e308", "-1", "0", "0.05", "601"])
@pytest.mark.parametrize("command", [["grad", "x", "x=1"], ["check", str(SAMPLES / "homework.toml"), "--sympy"]])
def test_a_budget_past_its_bounds_is_a_usage_error(command: list[str], seconds: str) -> None:
    r = run(*command, f"--symbolic-budget={seconds}")
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr.startswith("error: Invalid value for '--symbolic-budget': ")
    assert "is not a number of seconds from 0.1 to 600 (the longest budget)" in r.stderr
    doc = run(*command, f"--symbolic-budget={seconds}", "--json")
    assert doc.exit_code == 2 and strict_json(doc.stdout)["error"]["kind"] == "usage"


def test_the_longest_budget_is_accepted() -> None:
    assert run("grad", "x*y", "x=1", "y=2", "--symbolic-budget", "600", "--brief", "--no-symbolic").exit_code == 0
    for seconds in (math.nan, math.inf, 0.0, budget.MAX_SECONDS + 1):  # the library refuses them too, before forking
        with pytest.raises(ValueError, match="at most 600 seconds"):
            budget.Budgeted(sleeper, seconds)


# ---------------------------------------------------------------------------
# 3. One budget for the whole run


def test_latex_gets_what_the_check_left_of_the_budget(swell: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object) -> None:
        raise AssertionError("a second SymPy child was started")

    monkeypatch.setattr(gradcalc.render.latex, "start_latex", never)
    r = cli("grad", "--file", str(swell), "--format", "latex", "--symbolic-budget", "0.5", "--no-numeric")
    assert r.exit_code == 0, r.stderr
    assert "% no symbolic form: the SymPy check used all of the 0.5 s budget" in r.stdout


def test_check_shares_one_sympy_budget_among_the_problems(tmp_path: Path) -> None:
    program = swell_program()
    problems = [f'[[problem]]\nname = "swell {k}"\nprogram = """\n{program}"""\nexpect_value = "2.09"\n'
                for k in range(3)]  # fmt: skip
    problems.append('[[problem]]\nname = "easy"\nformula = "x*y"\nvalues = { x = 2, y = 3 }\nexpect_value = "6"\n')
    path = tmp_path / "slow.toml"
    path.write_text("\n".join(problems))
    r = cli("check", str(path), "--sympy", "--symbolic-budget", "0.5", "--json")
    assert r.exit_code == 0, r.stdout
    doc = json.loads(r.stdout)
    assert [p["status"] for p in doc["problems"]] == ["ok"] * 4  # every problem graded all the same
    assert [(p["sympy"]["state"], p["sympy"]["reason"]) for p in doc["problems"]] == [
        ("skipped", "stopped at the end of the file's SymPy budget of 0.5 s"),
        *[("skipped", "the file's SymPy budget of 0.5 s was spent")] * 3,
    ]
    text = cli("check", str(path), "--sympy", "--symbolic-budget", "0.1")
    assert "easy: 1 of 1 right (SymPy check skipped: the file's SymPy budget of 0.1 s was spent)" in text.stdout


# ---------------------------------------------------------------------------
# 4. An interrupted run says so, and how far it got


def working(proc: subprocess.Popen[bytes]) -> bool:
    """Past start-up (0.15-0.3 s of CPU) and into the descent's loop."""
    info = processes().get(proc.pid)
    return info is not None and info["cpu"] >= 0.45


@needs_proc
def test_an_interrupted_descent_says_where_it_stopped_in_json() -> None:
    proc = start("descend", "(x-3)^2 + (y+1)^2", "x=0", "y=0", "--lr", "1e-9", "--steps", "10000000", "--json")
    wait_for("the descent to be under way", lambda: working(proc))
    proc.send_signal(signal.SIGTERM)
    r = finish(proc)
    assert r.exit_code == 143
    error = strict_json(r.stdout)["error"]
    assert error["kind"] == "interrupted" and error["signal"] == "SIGTERM"
    progress = error["progress"]
    assert progress["iterations"] == 10_000_000 and progress["data"] is None
    assert 0 < progress["iteration"] < 10_000_000
    assert progress["epoch"] in (progress["iteration"], progress["iteration"] + 1)  # the step under way
    # Each step moves x by 6e-9 and y by -2e-9 (lr × the gradient at the start, nearly): the parameters after them.
    assert math.isclose(progress["params"]["x"], 6e-9 * progress["iteration"], rel_tol=1e-3)
    assert math.isclose(progress["params"]["y"], -2e-9 * progress["iteration"], rel_tol=1e-3)
    assert error["message"].startswith(f"interrupted by SIGTERM after {progress['iteration']:,} of 10,000,000 steps")


@needs_proc
def test_an_interrupted_descent_over_data_says_its_epoch_in_one_line() -> None:
    proc = start("descend", "(w*x + b - y)^2", "w=0", "b=0", "--data", str(SAMPLES / "linear.csv"), "--lr", "0.01",
                 "--batch-size", "3", "--epochs", "2000000")  # fmt: skip
    wait_for("the descent to be under way", lambda: working(proc))
    proc.send_signal(signal.SIGINT)
    r = finish(proc)
    assert (r.exit_code, r.stdout) == (130, "")
    assert re.fullmatch(r"error: interrupted by SIGINT in epoch [\d,]+, after [\d,]+ of 8,000,000 iterations; "
                        r"the parameters so far: w = \S+, b = \S+\n", r.stderr), r.stderr  # fmt: skip


@needs_proc
def test_an_interrupted_check_stops_its_sympy_child(tmp_path: Path) -> None:
    path = tmp_path / "slow.toml"
    path.write_text(f'[[problem]]\nname = "swell"\nprogram = """\n{swell_program()}"""\nexpect_value = "2.09"\n')
    proc = start("check", str(path), "--sympy")
    wait_for("the SymPy child", lambda: children(proc.pid))
    proc.send_signal(signal.SIGINT)
    r = finish(proc)
    gone(proc.pid)
    assert (r.exit_code, r.stdout, r.stderr) == (130, "", "error: interrupted by SIGINT\n")
