"""Where output goes: files written atomically, and standard streams whose failures are told apart.

A failure to write output is its own error, :class:`OutputError` (the command
line exits 4, "could not write the output"): the answer was computed, and it is
neither wrong (exit 1) nor bad input (exit 2) nor a bug (exit 3).  It comes from

* :func:`write_atomically`, the one writer of output files (``graph --output``,
  ``descend --plot``): a temporary file in the same directory, flushed and
  fsynced, then renamed over the target, so a full disk or a killed process
  leaves the old file as it was, never half a new one;
* the standard streams, once :func:`guard_standard_streams` has wrapped them:
  a full disk (``> /dev/full``), a closed stream (``>&-``) or a reader that
  went away (``| head``).

This module imports nothing of gradcalc, so any layer may write through it.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import sys
from pathlib import Path
from typing import Any, TextIO

STDOUT = "standard output"
STDERR = "standard error"


READER_GONE = "the reader closed the pipe"  # EPIPE: `gradcalc ... | head`, said by nobody


class OutputError(Exception):
    """Output could not be written: to standard output, standard error, or a file."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"could not write {where}: {reason}")
        self.where = where  # STDOUT, STDERR, or the path of a file
        self.reason = reason
        self.said = False  # whether the command line has said it (once is enough)

    @property
    def message(self) -> str:
        return str(self)


def reason(exc: OSError, path: Path | None = None) -> str:
    """Why a write failed, in words: a full disk as a full disk, a missing directory as such."""
    code = exc.errno
    if code == errno.ENOSPC:
        return "the disk is full (no space left on the device)"
    if code == getattr(errno, "EDQUOT", None):
        return "the disk quota is exceeded"
    if code == errno.ENOENT and path is not None:
        return f"the directory {path.parent} does not exist"
    if code == errno.ENOTDIR:
        return "a part of the path is not a directory"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied" + (f" (the directory is {path.parent})" if path is not None else "")
    if code == errno.EROFS:
        return "the file system is read-only"
    if code == errno.EISDIR:
        return "it is a directory"
    if code == errno.EPIPE:
        return READER_GONE
    if code == errno.EBADF:
        return "it is closed"
    return exc.strerror or str(exc)


# ---------------------------------------------------------------------------
# Files


def write_output(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` to the file ``path`` with :func:`write_atomically`, or to standard output for ``-``."""
    if os.fspath(path) == "-":
        write_stdout(data)
    else:
        write_atomically(path, data)


def write_stdout(data: bytes | str) -> None:
    """Text or bytes (a PNG) to standard output, flushed; a failure is :class:`OutputError`."""
    try:
        if isinstance(data, str):
            sys.stdout.write(data)
            sys.stdout.flush()
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
    except OSError as exc:  # a stream not guarded (in-process)
        raise OutputError(STDOUT, reason(exc)) from None
    except AttributeError:  # no standard output at all
        raise OutputError(STDOUT, "it is closed") from None


def write_atomically(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path``: all of it, or nothing and the old file kept.

    The data goes to a temporary file beside the target (a rename is atomic
    only within one file system), which is flushed, fsynced and then renamed
    over the target with ``os.replace``.  On any failure the temporary file is
    removed and :class:`OutputError` says why.  A symbolic link is followed
    (the file it points to is replaced, the link stays); a new file gets the
    usual permissions (0666 less the umask), an existing one keeps its own.
    A device or a pipe (``/dev/null``, ``/dev/stdout``) cannot be replaced and
    is written to directly.
    """
    given = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode: int | None = os.stat(given).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(str(given), reason(exc, given)) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(str(given), "it is a directory")
    if mode is not None and not stat.S_ISREG(mode):
        _write_directly(given, payload)
        return
    target = Path(os.path.realpath(given))
    import tempfile  # only when a file is written: each run's start-up is gradcalc's speed
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(str(given), reason(exc, given)) from None
    try:
        try:
            _write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(temporary, stat.S_IMODE(mode) if mode is not None else _new_file_mode())
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OutputError(str(given), reason(exc, given)) from None
    with contextlib.suppress(OSError):  # the rename itself on disk: best effort (not every system can)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class AtomicWriter:
    """A file written piece by piece that replaces ``path`` only when :meth:`commit` says it is whole.

    :func:`write_atomically` for output that streams (``gradcalc batch -o FILE``,
    a line per job, never all in memory): the pieces go to a temporary file beside
    the target, which :meth:`commit` flushes, fsyncs and renames over it; on
    :meth:`discard` (a failure, an interruption) the temporary file goes and the
    old file stays as it was.  As a context manager it commits on success and
    discards on any exception.  A device or a pipe is written to directly.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.given = Path(path)
        self._temporary: str | None = None
        try:
            mode: int | None = os.stat(self.given).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as exc:
            raise OutputError(str(self.given), reason(exc, self.given)) from None
        if mode is not None and stat.S_ISDIR(mode):
            raise OutputError(str(self.given), "it is a directory")
        self._mode = mode
        try:
            if mode is not None and not stat.S_ISREG(mode):
                self._fd = os.open(self.given, os.O_WRONLY)
                return
            import tempfile

            self._target = Path(os.path.realpath(self.given))
            self._fd, self._temporary = tempfile.mkstemp(prefix=f".{self._target.name}.", suffix=".tmp",
                                                         dir=self._target.parent)
        except OSError as exc:
            raise OutputError(str(self.given), reason(exc, self.given)) from None

    def write(self, data: bytes | str) -> None:
        try:
            _write_all(self._fd, data.encode("utf-8") if isinstance(data, str) else data)
        except OSError as exc:
            self.discard()
            raise OutputError(str(self.given), reason(exc, self.given)) from None

    def commit(self) -> None:
        """Flush and rename the whole file over the target (a device: close it)."""
        if self._fd < 0:
            return
        fd, self._fd = self._fd, -1
        temporary, self._temporary = self._temporary, None
        try:
            if temporary is not None:
                os.fsync(fd)
            os.close(fd)
            if temporary is not None:
                os.chmod(temporary, stat.S_IMODE(self._mode) if self._mode is not None else _new_file_mode())
                os.replace(temporary, self._target)
        except OSError as exc:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            raise OutputError(str(self.given), reason(exc, self.given)) from None

    def discard(self) -> None:
        """Leave the target as it was: the temporary file is removed.  Safe to call again."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        if self._temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._temporary)
            self._temporary = None

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def _write_directly(path: Path, payload: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            _write_all(fd, payload)
        finally:
            os.close(fd)
    except OSError as exc:
        raise OutputError(str(path), reason(exc, path)) from None


def _new_file_mode() -> int:
    """0666 less the umask, as open() would give a new file (mkstemp's own is 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# ---------------------------------------------------------------------------
# The standard streams


class _Guarded(io.RawIOBase):
    """A standard stream's file descriptor, whose write errors are :class:`OutputError`.

    ``fd`` is None when the stream was closed before the process started
    (``>&-``): Python then has no ``sys.stdout`` at all, and every write fails.
    Standard output fails at once: the rest of the answer has nowhere to go.
    Standard error is ``lenient``: it carries only warnings and notes, so its
    first failure is kept in ``failure`` and what follows is dropped, and the
    answer still reaches standard output; the exit code says it later.
    """

    def __init__(self, fd: int | None, where: str, lenient: bool = False) -> None:
        super().__init__()
        self._fd = fd
        self.where = where
        self.lenient = lenient
        self.failure: OutputError | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # any buffer: bytes, bytearray, memoryview
        if self.failure is None:
            try:
                if self._fd is None:
                    raise OutputError(self.where, "it is closed")
                try:
                    return os.write(self._fd, data)
                except OSError as exc:
                    raise OutputError(self.where, reason(exc)) from None
            except OutputError as exc:
                self.failure = exc
        if not self.lenient:
            raise self.failure
        return len(data)  # dropped: there is nowhere to write it

    def isatty(self) -> bool:
        return self._fd is not None and os.isatty(self._fd)

    def fileno(self) -> int:
        if self._fd is None:
            raise io.UnsupportedOperation(f"{self.where} is closed")
        return self._fd


def guard_standard_streams() -> None:
    """Make a failure to write standard output or standard error an :class:`OutputError`.

    Each stream is rebuilt over its file descriptor with the same encoding and
    buffering; a stream closed at start-up gets one that refuses every write,
    and its descriptor is held open on /dev/null so that no file gradcalc opens
    later takes its number (and with it, say, Python's own fatal-error text).
    A failure of standard output is raised; one of standard error is kept for
    :func:`stream_failure`.  For the process only: in-process callers keep their streams.
    """
    closed = {STDOUT: sys.stdout is None, STDERR: sys.stderr is None}
    _hold_closed_descriptors()
    sys.stdout = _rebuilt(sys.stdout, None if closed[STDOUT] else 1, STDOUT, lenient=False)
    sys.stderr = _rebuilt(sys.stderr, None if closed[STDERR] else 2, STDERR, lenient=True)


def stream_failure(where: str | None = None) -> OutputError | None:
    """The first failure of the guarded standard stream ``where`` (of either, if None); None if all went out."""
    for name, stream in ((STDOUT, sys.stdout), (STDERR, sys.stderr)):
        raw = getattr(getattr(stream, "buffer", None), "raw", None)
        if where in (None, name) and isinstance(raw, _Guarded) and raw.failure is not None:
            return raw.failure
    return None


def _hold_closed_descriptors() -> None:
    while True:
        fd = os.open(os.devnull, os.O_RDWR)
        if fd > 2:
            os.close(fd)
            return


def _rebuilt(old: TextIO | None, fd: int | None, where: str, lenient: bool) -> io.TextIOWrapper:
    if old is not None:
        with contextlib.suppress(OSError, ValueError):
            old.flush()
    return io.TextIOWrapper(
        io.BufferedWriter(_Guarded(fd, where, lenient)),
        encoding=getattr(old, "encoding", None) or "utf-8",
        errors=getattr(old, "errors", None) or "strict",
        line_buffering=bool(getattr(old, "line_buffering", False)),
        write_through=bool(getattr(old, "write_through", False)),
    )
