"""Warm worker processes: many jobs, each run in a process that has already started, results in order.

A process per job pays Python's start-up every time, and SymPy's import (0.3 s)
with every SymPy check.  A :class:`Pool` forks its workers once; each runs the
jobs sent to it one at a time, keeping what it imported, so a job costs only
its own work.  Jobs and results are bytes, each framed by its length, on a
pair of pipes per worker.

A worker is sent its next job while it runs one, when that job is small (it
waits in the pipe, which never blocks us): no worker idles while the parent
is busy elsewhere.  A worker that dies (killed, out of memory) costs only the
job it was running: that job's result is :class:`Died`, saying how, the job
queued behind it goes to another worker, and a new worker takes the dead
one's place.  Workers leave the parent as the SymPy check's children do
(:func:`gradcalc.budget.detach`): they die with it (``PR_SET_PDEATHSIG`` and a
lifeline pipe), hold none of its files or standard streams, and leave Ctrl-C to
it, which stops them (:meth:`Pool.close`); their own children die with them.

:func:`stream` runs an iterator of :class:`Task` through a pool with a bounded
window: it reads a task only while fewer than ``window`` are read and not yet
handed back, so memory stays flat however many tasks there are, and it hands
results back in input order (or as they finish).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

_HEADER = 8  # bytes of a frame's length, big-endian


@dataclass(frozen=True)
class Died:
    """The job's worker ended before it answered."""

    reason: str


Result = bytes | Died

# A job queued behind one whose worker died, never started: :func:`stream` sends it again.
RETRY: Any = object()

# A job this small is sent to a worker that is still running one: it waits in the pipe, whose
# buffer (64 KiB on Linux, 16 KiB at least elsewhere) holds it whole, so sending never blocks.
QUEUE_BYTES = 8 * 1024


@dataclass
class Task:
    """One job for the pool: its bytes, or None for a job whose result needs no worker; ``meta`` is the caller's."""

    payload: bytes | None
    meta: Any = None


# What a task iterator yields when its next task is not there yet (its input would block):
# :func:`stream` then waits on ``wait_fd`` as well as on the workers.
WAIT: Any = object()


class _Worker:
    def __init__(self, pid: int, requests: int, results: int) -> None:
        self.pid = pid
        self.requests = requests  # our end: we write jobs
        self.results = results  # our end: we read results
        self.keys: deque[int] = deque()  # the job it runs, and the one queued behind it, if any
        self.buffer = bytearray()


class Pool:
    """``size`` worker processes, each running ``work(payload) -> result`` on the jobs sent to it, one at a time.

    ``setup`` runs once in each worker as it starts.  Use it as a context manager
    (or call :meth:`close`): no worker outlives it.
    """

    def __init__(self, size: int, work: Callable[[bytes], bytes], setup: Callable[[], None] | None = None) -> None:
        if size < 1:
            raise ValueError(f"a pool has at least one worker, not {size}")
        self._work = work
        self._setup = setup
        self._parent = os.getpid()
        self._life_read, self._life_write = os.pipe()  # the lifeline: only we hold its write end
        self._workers: list[_Worker] = []
        self.replaced = 0  # workers that died and were replaced
        try:
            for _ in range(size):
                self._workers.append(self._spawn())
        except BaseException:
            self.close()
            raise

    @property
    def pids(self) -> list[int]:
        """The workers' process ids, now."""
        return [w.pid for w in self._workers]

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def idle(self) -> bool:
        """Whether a worker is free (one running a job takes another only if it is small: see :meth:`submit`)."""
        return any(len(w.keys) < 2 for w in self._workers)

    def busy(self) -> int:
        return sum(bool(w.keys) for w in self._workers)

    def submit(self, key: int, payload: bytes) -> list[tuple[int, Result]]:
        """Send a job to the least busy worker; any results this yields at once (the worker was found dead).

        A worker that runs a job is sent another only if it is at most QUEUE_BYTES;
        for a larger one this waits (in select) until a worker is free.
        """
        found: list[tuple[int, Result]] = []
        while True:
            worker = min(self._workers, key=lambda w: len(w.keys))
            if not worker.keys or len(payload) <= QUEUE_BYTES:
                break
            found += self.wait()[0]  # every worker runs a job, and this one is too large to queue
        worker.keys.append(key)
        try:
            _write_all(worker.requests, len(payload).to_bytes(_HEADER, "big") + payload)
        except OSError:  # it died while idle, or now: it answers nothing
            found += self._replace(worker)
        return found

    def wait(self, extra: Iterable[int] = (), timeout: float | None = None) -> tuple[list[tuple[int, Result]], bool]:
        """Wait until a worker answers or dies, or one of the ``extra`` descriptors can be read.

        Returns the finished jobs' results by key, and whether an extra descriptor is ready.
        """
        extra = list(extra)
        fds = [w.results for w in self._workers] + extra
        try:
            ready, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:  # pragma: no cover - Python retries select on EINTR itself
            return [], False
        found: list[tuple[int, Result]] = []
        for worker in list(self._workers):
            if worker.results in ready:
                found += self._receive(worker)
        return found, any(fd in ready for fd in extra)

    def close(self) -> None:
        """Stop every worker (and with it, any child of its) and reap it.  Safe to call again."""
        workers, self._workers = self._workers, []
        for worker in workers:
            _stop(worker)
        for fd in (self._life_read, self._life_write):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._life_read = self._life_write = -1

    # -----------------------------------------------------------------------

    def _spawn(self) -> _Worker:
        job_read, job_write = os.pipe()
        result_read, result_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: serve jobs until the pipe closes, never return
            code = 0
            try:
                _serve(self._parent, job_read, result_write, self._life_read, self._work, self._setup)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(job_read)
        os.close(result_write)
        return _Worker(pid, job_write, result_read)

    def _receive(self, worker: _Worker) -> list[tuple[int, Result]]:
        try:
            chunk = os.read(worker.results, 1 << 20)
        except OSError:
            chunk = b""
        if not chunk:
            return self._replace(worker)
        worker.buffer += chunk
        found: list[tuple[int, Result]] = []
        while len(worker.buffer) >= _HEADER:
            size = int.from_bytes(worker.buffer[:_HEADER], "big")
            if len(worker.buffer) < _HEADER + size:
                break
            result = bytes(worker.buffer[_HEADER:_HEADER + size])
            del worker.buffer[:_HEADER + size]
            if worker.keys:
                found.append((worker.keys.popleft(), result))
        return found

    def _replace(self, worker: _Worker) -> list[tuple[int, Result]]:
        """The worker is dead (or as good as): reap it, put a new one in its place, and say what became of its jobs:
        the one it ran died with it, the one queued behind it is to be sent again."""
        status = _stop(worker)
        self._workers[self._workers.index(worker)] = self._spawn()
        self.replaced += 1
        keys = list(worker.keys)
        return [(k, Died(_death(status)) if n == 0 else RETRY) for n, k in enumerate(keys)]


def _serve(parent: int, requests: int, results: int, lifeline: int, work: Callable[[bytes], bytes],
           setup: Callable[[], None] | None) -> None:
    from .budget import detach

    detach(parent, (requests, results), lifeline)
    for sig in (signal.SIGINT, signal.SIGHUP):  # the parent hears these and stops its workers
        signal.signal(sig, signal.SIG_IGN)
    if setup is not None:
        setup()
    while True:
        header = _read_exactly(requests, _HEADER)
        if header is None:
            return  # the parent is done with us
        payload = _read_exactly(requests, int.from_bytes(header, "big"))
        if payload is None:
            return
        result = work(payload)
        _write_all(results, len(result).to_bytes(_HEADER, "big") + result)


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts: list[bytes] = []
    left = size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _stop(worker: _Worker) -> int:
    """Kill the worker (if it still runs), close its pipes, reap it; its wait status."""
    for fd in (worker.requests, worker.results):
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(ProcessLookupError):
        os.kill(worker.pid, signal.SIGKILL)
    try:
        return os.waitpid(worker.pid, 0)[1]
    except ChildProcessError:
        return 0


def _death(status: int) -> str:
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) != signal.SIGKILL:
        return f"the worker running this job was killed by signal {os.WTERMSIG(status)}"
    if os.WIFSIGNALED(status):
        return "the worker running this job was killed (SIGKILL: out of memory, or stopped from outside)"
    return f"the worker running this job ended with status {os.WEXITSTATUS(status)} before answering"


def stream(tasks: Iterable[Task], pool: Pool, window: int, ordered: bool = True,
           wait_fd: int | None = None) -> Iterator[tuple[Task, Result | None]]:
    """Each task with its result (None for a task without payload): in input order, or as they finish.

    At most ``window`` tasks are held at any time — read but not yet handed back,
    whether waiting for a worker, running, or finished and waiting for an earlier
    one — so a million tasks take the memory of ``window``.  ``tasks`` may yield
    :data:`WAIT` when its next task would block on ``wait_fd``.
    """
    if window < 1:
        raise ValueError(f"the window holds at least one task, not {window}")
    source = iter(tasks)
    exhausted = waiting = False
    queued: deque[tuple[int, Task]] = deque()
    running: dict[int, Task] = {}
    done: dict[int, tuple[Task, Result | None]] = {}
    read = handed = 0  # tasks read, and handed back, so far

    def held() -> int:
        return len(queued) + len(running) + len(done)

    def finished(results: list[tuple[int, Result]]) -> None:
        for key, result in results:
            task = running.pop(key)
            if result is RETRY:
                queued.appendleft((key, task))
            else:
                done[key] = (task, result)

    while True:
        while not exhausted and not waiting and held() < window:
            task = next(source, None)
            if task is None:
                exhausted = True
            elif task is WAIT:
                waiting = True
            else:
                if task.payload is None:
                    done[read] = (task, None)
                else:
                    queued.append((read, task))
                read += 1
        while queued and pool.idle():
            key, task = queued.popleft()
            running[key] = task
            finished(pool.submit(key, task.payload or b""))
        if ordered:
            while handed in done:
                yield done.pop(handed)
                handed += 1
        else:
            for key in list(done):
                yield done.pop(key)
        if exhausted and not held():
            return
        room = held() < window
        if waiting and room and wait_fd is None:
            waiting = False  # nothing to wait on: ask the source again
            continue
        listen = [wait_fd] if waiting and room and wait_fd is not None else []
        if not running and not listen:
            if room and not waiting and not exhausted:
                continue  # what was held is handed back: read on
            # A task held is queued (sent as soon as a worker is idle), running, or done after one that is.
            raise RuntimeError("stream: tasks held, and none of them running")  # pragma: no cover
        results, ready = pool.wait(listen)
        finished(results)
        if ready:
            waiting = False
