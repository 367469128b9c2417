"""Output that cannot be written: exit 4, one line on the stream that still works, an old file kept.

Exit 1 means a wrong answer and 3 a bug; a full disk (``> /dev/full``), a closed
stream (``>&-``), a reader gone away (``| head``) or an output file that cannot
be written is neither, and is exit 4 (``gradcalc.commands.EXIT_OUTPUT``), never
a traceback.  The streams are the real ones, so these run gradcalc as a process;
``stdout=subprocess.DEVNULL`` would not do (/dev/null takes every write): a
stream is closed in the child before gradcalc starts.  Output files are written
through :func:`gradcalc.files.write_atomically`, tested here in-process with a
write that fails half way.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SAMPLES, Run, cli, strict_json

from gradcalc import files
from gradcalc.cli import main
from gradcalc.commands import EXIT_OUTPUT
from gradcalc.files import OutputError, write_atomically

TRACEBACK = "Traceback (most recent call last)"
HAS_DEV_FULL = os.path.exists("/dev/full")
needs_dev_full = pytest.mark.skipif(not HAS_DEV_FULL, reason="no /dev/full on this system")
FULL = "the disk is full (no space left on the device)"
EX3 = ("(x+y)*z", "x=-2", "y=5", "z=-4")


def process(
    *args: str, stdout: Any = subprocess.PIPE, stderr: Any = subprocess.PIPE, close: tuple[int, ...] = ()
) -> Run:
    """``python -m gradcalc ARGS`` with the streams given; the descriptors in ``close`` closed before it starts."""

    def closing() -> None:  # in the child, after its streams are set up and before gradcalc starts
        for fd in close:
            os.close(fd)

    proc = subprocess.run(
        [sys.executable, "-m", "gradcalc", *args], stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
        cwd=ROOT, timeout=120, check=False, preexec_fn=closing if close else None,
    )  # fmt: skip
    text = [b.decode("utf-8") if isinstance(b, bytes) else "" for b in (proc.stdout, proc.stderr)]
    return Run(proc.returncode, *text)


def to_dev_full(*args: str, stream: str = "stdout") -> Run:
    with open("/dev/full", "wb") as full:
        return process(*args, **{stream: full})


# ---------------------------------------------------------------------------
# Standard output


TEXT_COMMANDS = {
    "grad": ["grad", *EX3, "--no-symbolic"],
    "grad-brief": ["grad", *EX3, "--brief", "--no-symbolic"],
    "grad-json": ["grad", *EX3, "--json", "--no-symbolic"],
    "grad-markdown": ["grad", *EX3, "--format", "markdown", "--no-symbolic"],
    "grad-latex": ["grad", *EX3, "--format", "latex", "--no-symbolic"],
    "trace": ["trace", *EX3],
    "graph": ["graph", *EX3],
    "jacobian": ["jacobian", "[x*y, x+y]", "x=1", "y=2"],
    "descend": ["descend", "(x-3)^2", "x=0", "--steps", "3"],
    "check": ["check", str(SAMPLES / "homework.toml")],
    "bad-input-json": ["grad", "(x+", "x=1", "--json"],
    "help": ["--help"],
}


@needs_dev_full
@pytest.mark.parametrize("args", TEXT_COMMANDS.values(), ids=list(TEXT_COMMANDS))
def test_a_full_disk_on_stdout_is_exit_4_with_one_line_on_stderr(args: list[str]) -> None:
    r = to_dev_full(*args)
    assert r.exit_code == EXIT_OUTPUT, r.stderr
    assert r.stderr == f"error: could not write standard output: {FULL}\n"


def test_a_closed_stdout_is_exit_4() -> None:
    r = process("grad", *EX3, "--brief", "--no-symbolic", close=(1,))
    assert (r.exit_code, r.stderr) == (EXIT_OUTPUT, "error: could not write standard output: it is closed\n")
    r = process("graph", *EX3, "--format", "png", close=(1,))  # binary output, through the same stream
    assert r.exit_code in (EXIT_OUTPUT, 2) and TRACEBACK not in r.stderr  # 2: Graphviz is not installed


def test_a_reader_gone_away_is_exit_4() -> None:
    """``gradcalc ... | head``, once head has exited: the pipe's read end is closed before gradcalc writes."""
    read, write = os.pipe()
    os.close(read)
    try:
        r = process("grad", *EX3, "--json", "--no-symbolic", stdout=write)
    finally:
        os.close(write)
    assert r.exit_code == EXIT_OUTPUT
    assert r.stderr == ""  # quiet, as Unix tools are when the reader has what it wanted


# ---------------------------------------------------------------------------
# Standard error: only a warning (or an error message) is written there

WARNING = ("grad", "x", "x=1", "y=2", "--brief", "--no-symbolic")  # y is not used: a warning


def test_a_closed_stderr_with_a_warning_is_exit_4_said_on_stdout_after_the_answer() -> None:
    r = process(*WARNING, close=(2,))
    assert r.exit_code == EXIT_OUTPUT
    assert r.stdout == "x = 1\n∂x/∂x = 1\nerror: could not write standard error: it is closed\n"
    r = process("grad", "x", "x=1", "y=2", "--json", "--no-symbolic", close=(2,))  # a whole document, then the line
    assert r.exit_code == EXIT_OUTPUT
    document, _, line = r.stdout.rpartition("}\n")
    assert strict_json(document + "}")["warnings"] == ["'y' is not used by the formula; its value is ignored"]
    assert line == "error: could not write standard error: it is closed\n"


def test_a_file_written_with_stderr_closed_is_exit_4(tmp_path: Path) -> None:
    """The picture is written; the note saying so is not."""
    r = process("graph", *EX3, "-o", str(tmp_path / "g.dot"), close=(2,))
    assert (r.exit_code, r.stdout) == (EXIT_OUTPUT, "error: could not write standard error: it is closed\n")
    assert (tmp_path / "g.dot").read_text().startswith("digraph gradcalc {")


@needs_dev_full
def test_a_full_stderr_with_a_warning_is_exit_4_said_on_stdout() -> None:
    r = to_dev_full(*WARNING, stream="stderr")
    assert r.exit_code == EXIT_OUTPUT
    assert r.stdout == f"x = 1\n∂x/∂x = 1\nerror: could not write standard error: {FULL}\n"


def test_a_closed_stderr_without_anything_to_say_there_is_fine() -> None:
    r = process("grad", "x", "x=1", "--brief", "--no-symbolic", close=(2,))
    assert (r.exit_code, r.stdout) == (0, "x = 1\n∂x/∂x = 1\n")


@needs_dev_full
def test_a_bad_input_whose_error_cannot_be_written_is_exit_4() -> None:
    r = to_dev_full("grad", "(x+", "x=1", stream="stderr")
    assert r.exit_code == EXIT_OUTPUT
    assert r.stdout == f"error: could not write standard error: {FULL}\n"


@needs_dev_full
def test_both_streams_gone_is_still_exit_4() -> None:
    with open("/dev/full", "wb") as full:
        assert process(*WARNING, stdout=full, stderr=full).exit_code == EXIT_OUTPUT
    assert process(*WARNING, close=(1, 2)).exit_code == EXIT_OUTPUT


# ---------------------------------------------------------------------------
# Output files: one atomic writer


def _failing_write(monkeypatch: pytest.MonkeyPatch, code: int = errno.ENOSPC) -> None:
    """The disk fills up half way through the first write: os.write writes a part, then fails."""
    real = os.write
    calls = {"n": 0}

    def write(fd: int, data: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real(fd, bytes(data[: max(1, len(data) // 2)]))
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files.os, "write", write)


@pytest.fixture
def old_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A graph written before, in a directory of its own, and a disk that fills up at the next write."""
    old = tmp_path / "g.dot"
    old.write_text("the old graph\n")
    _failing_write(monkeypatch)
    return old


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(old_graph: Path) -> None:
    old = old_graph
    with pytest.raises(OutputError) as caught:
        write_atomically(old, "digraph { a -> b }\n" * 100)
    assert caught.value.message == f"could not write {old}: {FULL}"
    assert old.read_text() == "the old graph\n"
    assert sorted(p.name for p in old.parent.iterdir()) == ["g.dot"]


def in_process(*args: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return Run(code, out.getvalue(), err.getvalue())


def test_graph_output_on_a_full_disk_is_exit_4_and_the_old_file_stands(old_graph: Path) -> None:
    old = old_graph
    r = in_process("graph", *EX3, "-o", str(old))
    assert r.exit_code == EXIT_OUTPUT and r.stdout == ""
    assert r.stderr == (f"error: could not write {old}: {FULL}\n"
                        "hint: the answer was computed; an existing file is unchanged\n")  # fmt: skip
    assert old.read_text() == "the old graph\n"
    assert sorted(p.name for p in old.parent.iterdir()) == ["g.dot"]


def test_descend_plot_on_a_full_disk_is_exit_4_as_json_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plot = tmp_path / "loss.png"
    plot.write_bytes(b"old")
    _failing_write(monkeypatch)
    r = in_process("descend", "(x-3)^2", "x=0", "--steps", "3", "--plot", str(plot), "--json")
    assert r.exit_code == EXIT_OUTPUT
    err = strict_json(r.stdout)["error"]
    assert (err["kind"], err["message"]) == ("output", f"could not write {plot}: {FULL}")
    assert plot.read_bytes() == b"old"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, FULL),
        (errno.EDQUOT, "the disk quota is exceeded"),
        (errno.EACCES, "permission denied (the directory is out)"),
        (errno.EROFS, "the file system is read-only"),
        (errno.ENOENT, "the directory out does not exist"),
        (errno.EIO, os.strerror(errno.EIO)),
    ],
)
def test_why_a_write_failed_is_said_in_words(code: int, words: str) -> None:
    assert files.reason(OSError(code, os.strerror(code)), Path("out/g.dot")) == words


def test_a_missing_directory_and_a_directory_are_named(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=f"the directory {tmp_path}/no does not exist"):
        write_atomically(tmp_path / "no" / "g.dot", "x")
    with pytest.raises(OutputError, match="it is a directory"):
        write_atomically(tmp_path, "x")
    assert list(tmp_path.iterdir()) == []


def test_a_write_replaces_the_file_whole_and_keeps_its_permissions_and_links(tmp_path: Path) -> None:
    target = tmp_path / "g.dot"
    write_atomically(target, "new\n")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # as open() makes a file, not mkstemp's 0600
    target.chmod(0o640)
    link = tmp_path / "link.dot"
    link.symlink_to(target.name)
    write_atomically(link, b"through the link\n")
    assert link.is_symlink() and target.read_text() == "through the link\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "link.dot"]


def test_a_device_is_written_to_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_replace(*args: object) -> None:
        raise AssertionError("os.replace over a device")

    monkeypatch.setattr(files.os, "replace", no_replace)
    write_atomically(os.devnull, "nothing\n")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_dash_is_standard_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli("graph", *EX3, "--output", "-")
    assert run.exit_code == 0 and run.stdout.startswith("digraph gradcalc {") and run.stderr == ""
    assert list(tmp_path.iterdir()) == []  # no file named '-'
    run = cli("graph", *EX3, "-o", "-", "--format", "mermaid")
    assert run.exit_code == 0 and run.stdout.startswith("flowchart LR")
    run = cli("descend", "(x-3)^2", "x=0", "--steps", "3", "--plot", "-")
    assert run.exit_code == 2 and "--plot - would mix the picture with the report" in run.stderr


def test_the_docs_document_exit_code_4() -> None:
    page = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    assert "| 4 | the output could not be written" in page
