"""Running a command as a whole process: wall time and peak memory, nothing else in the way.

Each command runs in its own child; ``os.wait4`` returns that child's own
resource usage, so its ``ru_maxrss`` is the peak resident memory of that run
alone (``getrusage(RUSAGE_CHILDREN)`` would give the largest of all children so
far).  Standard input comes from a file and output goes to temporary files, so
no pipe-pumping thread runs beside the measured process.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# ru_maxrss is in kilobytes on Linux, bytes on macOS.
_RSS_UNIT = 1 if sys.platform == "darwin" else 1024


@dataclass
class Run:
    seconds: float  # wall time
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    cpu_seconds: float = 0.0  # user + system, less disturbed than wall time by other load


# Children run as on a user's machine, where Python caches bytecode: with
# PYTHONDONTWRITEBYTECODE set (as some sandboxes do), every run of gradcalc
# would compile its own source again (about 80 ms), while its dependencies,
# compiled when pip installed them, would not.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(cmd: list[str], stdin_path: Path | None = None, timeout: float | None = None) -> Run:
    """Run ``cmd`` to completion: wall time from spawn to reaped, its CPU time, its peak RSS in MB (10^6 bytes)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdin = open(stdin_path, "rb") if stdin_path is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=err, env=CHILD_ENV)
            fired = threading.Event()

            def kill() -> None:
                fired.set()
                proc.kill()

            timer = threading.Timer(timeout, kill) if timeout else None
            if timer is not None:
                timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                if timer is not None:
                    timer.cancel()
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        finally:
            if stdin_path is not None:
                stdin.close()  # type: ignore[union-attr]
        timed_out = fired.is_set()
        out.seek(0)
        err.seek(0)
        return Run(
            seconds,
            usage.ru_maxrss * _RSS_UNIT / 1e6,
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            timed_out,
            usage.ru_utime + usage.ru_stime,
        )


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def alternate(pair: dict[str, list[str]], rounds: int, warmup: bool = True) -> dict[str, list[Run]]:
    """Run each command of ``pair`` ``rounds`` times, alternating which goes first each round.

    Alternating spreads drift (other load, CPU frequency, page cache) evenly over
    both sides; one untimed warm-up of each fills the disk cache and the
    bytecode caches first.
    """
    names = list(pair)
    if warmup:
        for name in names:
            run(pair[name])
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            runs[name].append(run(pair[name]))
    return runs
