"""A descent's words and its JSON document, shared by the terminal, the HTML report and the Python API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..descend import DescendResult
from .numbers import DEFAULT_DIGITS, fmt, num

if TYPE_CHECKING:
    from rich.console import Group


def descend_doc(result: DescendResult) -> dict[str, Any]:
    """The run as ``gradcalc descend --json`` writes it."""
    doc: dict[str, Any] = {
        "params": {k: num(v) for k, v in result.params.items()},
        "start": result.start,
        "loss": num(result.loss),
        "initial_loss": num(result.initial_loss),
        "iterations": result.iterations,
        "epochs": result.epochs,
        "history": [num(v) for v in result.history],
        "lr": result.lr,
        "batch_size": result.batch_size,
        "rows": result.rows,
        "status": "diverged" if result.diverged else "ok",
        "diverged": None,
        "warnings": result.warnings,
    }
    if result.diverged:
        d = result.diverged
        doc["diverged"] = {"epoch": d.epoch, "iteration": d.iteration, "loss": num(d.loss), "gate": d.gate}
    return doc


def count(n: int, what: str) -> str:
    return f"{n} {what}{'s' * (n != 1)}"


def unit(result: DescendResult) -> str:
    """What one entry of the history is: an epoch over data, a step without."""
    return "epoch" if result.data is not None else "step"


def schedule(result: DescendResult, defaulted: bool = False) -> list[str]:
    """How the run went (epochs and batches, or plain steps) and what its loss history is over.

    ``defaulted``: the number of steps or epochs was the default, which is said.
    """
    if result.data is not None:
        per_epoch = -(-result.rows // result.batch_size)
        how = (f"{result.epochs} epoch{'s' * (result.epochs != 1)} × {per_epoch} batch"
               f"{'es' * (per_epoch != 1)} of up to {result.batch_size} of {result.rows} rows")
        default = " (one pass over the data, the default: --epochs N for more)" if defaulted else ""
        return [f"{how}, learning rate {fmt(result.lr)}: {count(result.iterations, 'iteration')}{default}",
                "loss over all the data, by epoch:"]
    default = " (the default: --steps N for another number)" if defaulted else ""
    return [f"plain gradient descent, learning rate {fmt(result.lr)}: {count(result.iterations, 'step')}{default}",
            "loss by step:"]


def ending(result: DescendResult, digits: int = DEFAULT_DIGITS) -> tuple[str, bool]:
    """The last line: the final loss, or where the run diverged and what to try; and whether it went well."""
    d = result.diverged
    if d is None:
        return f"final loss {fmt(result.loss, digits)}", True
    where = f" (the first non-finite gate: {d.gate})" if d.gate else ""
    return (f"diverged at epoch {d.epoch}, iteration {d.iteration}: the loss became {fmt(d.loss)}{where}; "
            f"try a smaller learning rate, e.g. --lr {fmt(result.lr / 10)}"), False


def descend_report(result: DescendResult, digits: int = DEFAULT_DIGITS, plain: bool = False,
                   defaulted: bool = False) -> Group:
    """The run for the terminal: the schedule, the loss by epoch (a table and a chart), the parameters, the end."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from ..descend import thin
    from .fit import Fitted
    from .plot import loss_chart

    boxed = box.ASCII2 if plain else box.SIMPLE_HEAD
    history = Table(box=boxed)
    history.add_column(unit(result), justify="right")
    history.add_column("loss", justify="right")
    history.add_row("start", fmt(result.initial_loss, digits))
    for epoch, loss in thin(result.history):
        history.add_row(str(epoch), fmt(loss, digits))
    params = Table(box=boxed)
    params.add_column("parameter")
    params.add_column("start", justify="right")
    params.add_column("learned", justify="right")
    for name, value in result.params.items():
        params.add_row(name, fmt(result.start[name], digits), fmt(value, digits))
    last, ok = ending(result, digits)
    return Group(
        *schedule(result, defaulted),
        Fitted(history),
        *([loss_chart(result.history, unit=unit(result))] if len(result.history) > 1 else []),
        "parameters:",
        Fitted(params),
        Text(last, style="bold green" if ok else "bold red"),
    )
