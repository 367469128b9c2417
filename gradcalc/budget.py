"""Run a piece of work in a child process under a time and memory budget.

SymPy can take unbounded time and memory on hostile or merely large input
(exact huge powers, expression swell).  The work runs in a forked child with a
memory limit; the parent reads its results line by line as JSON and stops it
when the time budget is spent, keeping whatever it finished.  Where fork is
not available (Windows) the work runs in-process without the guard.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Emit = Callable[[dict[str, Any]], None]
DEFAULT_MEMORY = 2 * 1024**3  # bytes of address space the child may add


@dataclass
class Outcome:
    results: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = False
    reason: str | None = None  # why it did not complete
    seconds: float = 0.0


class Budgeted:
    """Work started now, in a child; ``collect()`` waits at most until the deadline."""

    def __init__(self, work: Callable[[Emit], None], seconds: float, memory: int = DEFAULT_MEMORY) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self._inline: Outcome | None = None
        self._buffer = b""
        if not hasattr(os, "fork"):
            self._inline = _run_inline(work)
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: do the work, write JSON lines, never return
            os.close(read_fd)
            _child(work, write_fd, memory)
        os.close(write_fd)
        self.pid = pid
        self.fd = read_fd

    def cancel(self) -> None:
        """Stop the work and reap the child."""
        if self._inline is not None:
            return
        os.close(self.fd)
        _kill(self.pid)
        os.waitpid(self.pid, 0)

    def collect(self) -> Outcome:
        if self._inline is not None:
            return self._inline
        outcome = Outcome()
        deadline = self.started + self.seconds
        chunks: list[bytes] = []
        finished = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                break
            chunk = os.read(self.fd, 65536)
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
        os.close(self.fd)
        if not finished:
            _kill(self.pid)
        _, status = os.waitpid(self.pid, 0)
        for line in b"".join(chunks).splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue  # a line cut short by the kill
            if item.get("done"):
                outcome.complete = True
            elif "error" in item and len(item) == 1:
                outcome.reason = str(item["error"])
            else:
                outcome.results.append(item)
        outcome.seconds = time.monotonic() - self.started
        if not finished:
            outcome.reason = f"stopped at its time budget of {self.seconds:g} s"
        elif not outcome.complete and outcome.reason is None:
            outcome.reason = _death(status)
        return outcome


def _child(work: Callable[[Emit], None], fd: int, memory: int) -> None:
    code = 0
    try:
        import gc

        gc.enable()  # SymPy makes cyclic garbage; the parent may have paused the collector
        _limit_memory(memory)
        out = os.fdopen(fd, "wb", buffering=0)

        def emit(item: dict[str, Any]) -> None:
            out.write(json.dumps(item, allow_nan=False).encode() + b"\n")

        try:
            work(emit)
            emit({"done": True})
        except MemoryError:
            emit({"error": "ran out of its memory budget"})
        except RecursionError:
            emit({"error": "the expression is too deep for SymPy"})
        except Exception as exc:  # report any SymPy failure instead of dying silently
            emit({"error": f"{type(exc).__name__}: {exc}"[:300]})
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _limit_memory(extra: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    try:
        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        current = 0
    limit = current + extra
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.kill(pid, signal.SIGKILL)


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"the check process was killed by signal {os.WTERMSIG(status)}"
    return "the check process ended without finishing"


def _run_inline(work: Callable[[Emit], None]) -> Outcome:  # pragma: no cover - Windows
    outcome = Outcome()
    start = time.monotonic()
    try:
        work(outcome.results.append)
        outcome.complete = True
    except Exception as exc:
        outcome.reason = f"{type(exc).__name__}: {exc}"[:300]
    outcome.seconds = time.monotonic() - start
    return outcome
