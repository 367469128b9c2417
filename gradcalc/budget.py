"""Run a piece of work in a child process under a time and memory budget.

SymPy can take unbounded time and memory on hostile or merely large input
(exact huge powers, expression swell).  The work runs in a forked child with a
memory limit; the parent reads its results line by line as JSON and stops it
when the time budget is spent, keeping whatever it finished.  Where fork is
not available (Windows) the work runs in-process without the guard.

The parent is not trusted to stop the child: it may be killed first (a
grader's timeout, SIGKILL) or be stuck.  So the child keeps its own budget —
a deadline (SIGALRM) and a CPU-time limit a little past the parent's, besides
the memory limit — and dies with its parent: by ``PR_SET_PDEATHSIG`` on Linux,
and anywhere by a *lifeline*, a pipe whose write end only the parent holds,
which a thread of the child reads until it closes.  The child also lets go of
the parent's standard streams and other files at once, so a caller reading
gradcalc's output sees it end when gradcalc ends, whatever became of the child.

A signal that interrupts the run (see :class:`Interrupted`) stops every child
still running: :func:`stop_all`.

A child may also be forked *ahead* of its work (:meth:`Budgeted.ahead`): it
starts importing SymPy at once, while the parent parses and computes, and then
receives its job through a pipe as JSON data (never code).  Its budget starts
when the job is sent, and it keeps every guarantee above.  The command line
forks one this way first thing (:func:`keep_spare`, :func:`take_spare`).
Warm worker processes (:mod:`gradcalc.workers`) leave their parent in the same
ways: :func:`detach`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Emit = Callable[[dict[str, Any]], None]
DEFAULT_MEMORY = 2 * 1024**3  # bytes of address space the child may add
# The longest time budget a run may ask for: the command line's --symbolic-budget
# is at most this, so no input can keep a child alive for longer.
MAX_SECONDS = 600.0
# How far past the parent's deadline the child's own deadline and CPU limit lie:
# the parent stops the child at its deadline; the child's limits are for a
# parent that cannot.
GRACE = 1.0


class Interrupted(BaseException):
    """The run was stopped by a signal (Ctrl-C, SIGTERM, SIGHUP), not by anything in its input.

    A BaseException, so that no ``except Exception`` swallows it, but not a
    KeyboardInterrupt, which typer turns into a silent exit 130.  Work that knows
    how far it got says so in ``progress`` as it passes (``gradcalc descend``: its
    iteration, epoch and parameters so far).
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.progress: dict[str, Any] = {}


@dataclass
class Outcome:
    results: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = False
    reason: str | None = None  # why it did not complete
    seconds: float = 0.0
    timed_out: bool = False  # stopped at the time budget (reason says so)


# The children running now, by process id: what stop_all() stops.
_running: dict[int, Budgeted] = {}
# A child forked ahead of its work for the next check to take (see keep_spare).
_spare: Budgeted | None = None


class Budgeted:
    """Work started now, in a child; ``collect()`` waits at most until the deadline."""

    def __init__(self, work: Callable[[Emit], None], seconds: float, memory: int = DEFAULT_MEMORY) -> None:
        _check_seconds(seconds)
        self.seconds = seconds
        self.started: float | None = time.monotonic()
        self._inline: Outcome | None = None
        self._job_fd: int | None = None
        if not hasattr(os, "fork"):
            self._inline = _run_inline(work)
            return
        parent = os.getpid()
        self._fork(lambda fd, lifeline: _child(work, fd, lifeline, parent, seconds, memory))

    @classmethod
    def ahead(cls, prepare: Callable[[], None], handler: Callable[[Any, Emit], None],
              memory: int = DEFAULT_MEMORY) -> Budgeted | None:
        """A child forked now, before its work is known; None where there is no fork.

        The child runs ``prepare`` at once (imports SymPy), then waits for the job that
        :meth:`send` writes to it as JSON and runs ``handler(job, emit)``.  The time
        budget starts when the job is sent; the child lets go of the parent's files and
        dies with it from the start, and takes its time, CPU and memory limits when
        its job arrives.
        """
        if not hasattr(os, "fork"):
            return None
        job = cls.__new__(cls)
        job.seconds = 0.0
        job.started = None
        job._inline = None
        parent = os.getpid()
        job_read, job_write = os.pipe()
        try:
            job._fork(lambda fd, lifeline: _waiting_child(prepare, handler, fd, lifeline, job_read, parent, memory))
        except BaseException:
            os.close(job_write)
            raise
        finally:
            os.close(job_read)
        job._job_fd = job_write
        return job

    def send(self, job: Any, seconds: float) -> None:
        """Give a child forked :meth:`ahead` its job (JSON data) and start its budget of ``seconds`` now."""
        _check_seconds(seconds)
        fd = self._job_fd
        if fd is None:
            raise RuntimeError("this child has its work already")
        self._job_fd = None
        self.seconds = seconds
        self.started = time.monotonic()
        # The deadline on the monotonic clock, which every process of the machine shares: a child
        # still importing SymPy when the job arrives gets what is left of the budget, not all of it.
        message = json.dumps({"deadline": self.started + seconds, "job": job}).encode()
        try:
            _write_all(fd, message)  # the child reads it as it comes, in a thread, whatever it is doing
        except OSError:
            pass  # the child is gone: collect() says how it ended
        finally:
            os.close(fd)

    def _fork(self, child: Callable[[int, int], None]) -> None:
        read_fd, write_fd = os.pipe()
        life_read, life_write = os.pipe()  # the lifeline: the parent never writes to it, only holds it
        pid = os.fork()
        if pid == 0:  # the child: do the work, write JSON lines, never return
            try:
                child(write_fd, life_read)
            finally:
                os._exit(1)
        os.close(write_fd)
        os.close(life_read)
        self.pid = pid
        self.fd = read_fd
        self._lifeline = life_write
        self._status: int | None = None
        _running[pid] = self

    def cancel(self) -> None:
        """Stop the work and reap the child."""
        if self._inline is None:
            self._end(kill=True)

    def collect(self) -> Outcome:
        if self._inline is not None:
            return self._inline
        if self.started is None:
            raise RuntimeError("collect() before send(): the child has no work")
        try:
            finished, data = self._read()
        except BaseException:  # interrupted while waiting: the child goes too
            self._end(kill=True)
            raise
        status = self._end(kill=not finished)
        outcome = Outcome()
        for line in data.splitlines():
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
            outcome.timed_out = True
            outcome.reason = f"stopped at its time budget of {self.seconds:g} s"
        elif not outcome.complete and outcome.reason is None:
            outcome.reason = _death(status)
        return outcome

    def _read(self) -> tuple[bool, bytes]:
        """What the child wrote until it finished (True) or the deadline passed (False)."""
        assert self.started is not None
        deadline = self.started + self.seconds
        chunks: list[bytes] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, b"".join(chunks)
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return False, b"".join(chunks)
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return True, b"".join(chunks)
            chunks.append(chunk)

    def _end(self, kill: bool) -> int:
        """Close the pipes, kill the child if asked, reap it; its wait status.  Safe to call again."""
        if _running.pop(self.pid, None) is not None:
            for fd in (self.fd, self._lifeline, self._job_fd):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._job_fd = None
            if kill:
                _kill(self.pid)
            with contextlib.suppress(ChildProcessError):
                self._status = os.waitpid(self.pid, 0)[1]
        return self._status or 0


def _check_seconds(seconds: float) -> None:
    if not 0 < seconds <= MAX_SECONDS:  # also refuses NaN
        raise ValueError(f"a time budget is more than 0 and at most {MAX_SECONDS:g} seconds, not {seconds!r}")


def keep_spare(job: Budgeted) -> None:
    """Keep a child forked :meth:`~Budgeted.ahead` for the next check of this process to :func:`take_spare`."""
    global _spare
    if _spare is not None:
        _spare.cancel()
    _spare = job


def take_spare() -> Budgeted | None:
    """The child kept by :func:`keep_spare`, if it is still there and waiting; it is no longer kept."""
    global _spare
    job, _spare = _spare, None
    if job is not None and (job.pid not in _running or job._job_fd is None):
        return None  # stopped meanwhile (an interrupted run), or given its work already
    return job


def stop_all() -> None:
    """Kill and reap every child still running (the run was interrupted, or is over)."""
    global _spare
    _spare = None
    for job in list(_running.values()):
        job._end(kill=True)


def detach(parent: int, keep: tuple[int, ...], lifeline: int) -> None:
    """Make this newly forked process a child that cannot outlive ``parent`` nor hold its files.

    Its signal handlers are the defaults again (one ignored stays so), it forgets
    the parent's children, it dies with the parent (``PR_SET_PDEATHSIG`` and the
    ``lifeline`` read end), its standard streams are /dev/null and every other
    inherited file but ``keep`` is closed.  The cyclic collector runs (SymPy makes
    cyclic garbage; the parent may have paused it).
    """
    global _spare
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # the parent's handlers are not the child's:
            signal.signal(sig, signal.SIG_DFL)  # these end it at once (one ignored, as under nohup, stays so)
    _running.clear()  # the parent's other children are not this one's to stop
    _spare = None
    _die_with(parent)
    _let_go(keep=(*keep, lifeline))
    _watch(lifeline)
    import gc

    gc.enable()


def _child(work: Callable[[Emit], None], fd: int, lifeline: int, parent: int, seconds: float, memory: int) -> None:
    code = 0
    try:
        _limit_time(seconds + GRACE)
        detach(parent, (fd,), lifeline)
        _limit_memory(memory)  # after the lifeline's thread, whose stack counts
        _run_work(work, _emitter(fd))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _waiting_child(prepare: Callable[[], None], handler: Callable[[Any, Emit], None], fd: int, lifeline: int,
                   job_fd: int, parent: int, memory: int) -> None:
    """A child forked ahead: prepare, wait for the job (read in a thread as it arrives), then run it in its budget."""
    code = 0
    try:
        detach(parent, (fd, job_fd), lifeline)
        inbox = _Inbox(job_fd)
        emit = _emitter(fd)
        problem: str | None = None
        try:
            prepare()
        except Exception as exc:  # SymPy missing or broken: said once the job arrives
            problem = f"{type(exc).__name__}: {exc}"[:300]
        data = inbox.wait()
        if not data:
            return  # the parent needs no check after all
        message = json.loads(data)
        left = float(message["deadline"]) - time.monotonic()
        if left <= 0:
            return  # the budget was spent before SymPy was even imported: the parent has stopped waiting
        _limit_time(left + GRACE, spent=_cpu_seconds())
        _limit_memory(memory)
        if problem is not None:
            emit({"error": problem})
            return
        job = message["job"]
        _run_work(lambda out: handler(job, out), emit)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _emitter(fd: int) -> Emit:
    out = os.fdopen(fd, "wb", buffering=0)

    def emit(item: dict[str, Any]) -> None:
        out.write(json.dumps(item, allow_nan=False).encode() + b"\n")

    return emit


def _run_work(work: Callable[[Emit], None], emit: Emit) -> None:
    try:
        work(emit)
        emit({"done": True})
    except MemoryError:
        emit({"error": "ran out of its memory budget"})
    except RecursionError:
        emit({"error": "the expression is too deep for SymPy"})
    except Exception as exc:  # report any SymPy failure instead of dying silently
        emit({"error": f"{type(exc).__name__}: {exc}"[:300]})


class _Inbox:
    """The job a child forked ahead is sent, read to its end by a thread while the child prepares."""

    def __init__(self, fd: int) -> None:
        import threading

        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._read, args=(fd,), name="job", daemon=True)
        self._thread.start()

    def _read(self, fd: int) -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 65536):
                self._chunks.append(chunk)
        with contextlib.suppress(OSError):
            os.close(fd)

    def wait(self) -> bytes:
        self._thread.join()
        return b"".join(self._chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _cpu_seconds() -> float:
    """The CPU time this process has used so far (the CPU limit counts from the fork)."""
    times = os.times()
    return times.user + times.system


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when its parent dies (Linux), and end now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # no libc or no prctl: the lifeline still holds
            pass
    if os.getppid() != parent:  # the parent died before prctl: nobody would ever read the results
        os._exit(1)


def _let_go(keep: tuple[int, ...]) -> None:
    """Standard input, output and error to /dev/null, and every other inherited file closed but ``keep``.

    A grader reading gradcalc's output through a pipe waits until every holder of
    the pipe's write end has closed it: the child must not be one.
    """
    null = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        if null != std:
            os.dup2(null, std)
    try:
        most = int(os.sysconf("SC_OPEN_MAX"))
    except (OSError, ValueError):
        most = -1
    most = most if 0 < most <= 1 << 20 else 1 << 16
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, most)


def _limit_time(seconds: float, spent: float = 0.0) -> None:
    """The child's own deadline (SIGALRM ends it) and CPU-time limit (SIGXCPU, then SIGKILL a second later).

    ``spent``: the CPU time used before the budget began (a child forked ahead, importing SymPy).
    """
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would dump a core: no core files
    cpu = math.ceil(spent + seconds)
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    top = cpu + 1 if hard == resource.RLIM_INFINITY else min(cpu + 1, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (min(cpu, top), top))


def _watch(lifeline: int) -> None:
    """A thread that ends the child when the lifeline closes: the parent has died or given up on it."""
    import threading

    def wait() -> None:
        with contextlib.suppress(OSError):
            while os.read(lifeline, 1):
                pass
        os._exit(1)

    threading.Thread(target=wait, name="lifeline", daemon=True).start()


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
