"""Ctrl-C, SIGTERM and SIGHUP: stop the SymPy child, say so once, exit 128 + the signal's number.

:func:`install` (the console entry point calls it) turns the first of these
signals into :class:`gradcalc.budget.Interrupted`, raised wherever the run is;
it unwinds through the work, which stops its child on the way (and says how far
it got: ``gradcalc descend`` its iteration and parameters), to
:func:`report` at the edge.  A second signal while that happens ends the
process at once.  A signal ignored when gradcalc starts (SIGHUP under
``nohup``) stays ignored.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
from types import FrameType
from typing import Any

import typer

from ..budget import Interrupted, stop_all
from ..errors import GradcalcError

SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
_stopping = False


def install() -> None:
    """Handle the signals of :data:`SIGNALS` (those not ignored), for the rest of the process."""
    for name in SIGNALS:
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _on_signal)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _stopping
    if _stopping:  # a second signal: no more unwinding, no more words
        stop_all()
        os._exit(128 + signum)
    _stopping = True
    raise Interrupted(signum)


def report(stop: Interrupted, as_json: bool) -> int:
    """Stop any child still running, write one line (one JSON error object under --json); the exit code."""
    stop_all()
    name = signal.Signals(stop.signum).name
    message = f"interrupted by {name}{_how_far(stop.progress)}"
    with contextlib.suppress(OSError, ValueError):  # the reader may be gone too
        if as_json:
            doc = GradcalcError(message, kind="interrupted").to_json()
            err = doc["error"]
            assert isinstance(err, dict)
            err["signal"] = name
            if stop.progress:
                err["progress"] = _progress_doc(stop.progress)
            typer.echo(json.dumps(doc, ensure_ascii=False))
        else:
            typer.echo(f"error: {message}", err=True)
    return 128 + stop.signum


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for JSON (--json, or --format json)."""
    pairs = itertools.pairwise(args)
    return "--json" in args or "--format=json" in args or ("--format", "json") in pairs


def _how_far(progress: dict[str, Any]) -> str:
    """``gradcalc descend``'s progress in words: "in epoch 3, after 250 of 400 iterations; ..."."""
    if "iteration" not in progress:
        return ""
    from ..render.numbers import fmt

    done, total = progress["iteration"], progress["iterations"]
    if progress.get("data") is not None:
        where = f" in epoch {progress['epoch']:,}, after {done:,} of {total:,} iterations"
    else:
        where = f" after {done:,} of {total:,} steps"
    params = ", ".join(f"{name} = {fmt(value)}" for name, value in progress["params"].items())
    return f"{where}; the parameters so far: {params}" if params else where


def _progress_doc(progress: dict[str, Any]) -> dict[str, Any]:
    from ..render.numbers import num

    doc = dict(progress)
    if "params" in doc:
        doc["params"] = {name: num(value) for name, value in doc["params"].items()}
    return doc
