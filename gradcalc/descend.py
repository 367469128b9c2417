"""Gradient descent over a formula, with or without data.

Without data, each step takes the gradient of the formula at the current
parameters and moves them by −learning rate × gradient.  With data (a CSV
file whose columns bind to variables of the same names), the formula is the
loss of one example; an iteration takes a batch of rows, evaluates the whole
batch in one vectorized pass over the tape (NumPy arrays through the same op
rows), averages loss and gradients over the batch, and steps every
parameter.  An epoch is one pass over the data: ceil(N / batch size)
iterations, the last batch possibly partial.
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from .budget import Interrupted
from .errors import GradcalcError, Source
from .limits import MAX_DATA_ROWS, MAX_ITERATIONS
from .parser import Program
from .passes import choose_math, executor, first_nonfinite
from .pipeline import load, quiet
from .shown import Shown, brief, listed
from .step import check_learning_rate
from .tape import Tape
from .values import NUMBER_RE, checked_values, resolve_inputs

Progress = Callable[[int, int], None]  # (iterations done, iterations in all)


@dataclass
class Dataset:
    """Columns of numbers read from a CSV file."""

    name: str
    columns: dict[str, list[float]]

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


@dataclass
class Divergence:
    epoch: int
    iteration: int
    loss: float
    gate: str | None = None  # the first gate whose value was not finite


@dataclass(repr=False)
class DescendResult(Shown):
    tape: Tape
    params: dict[str, float]
    start: dict[str, float]
    loss: float  # the final loss over all the data (mean over rows)
    iterations: int
    epochs: int
    history: list[float]  # loss over all the data after each epoch (each step, without data)
    initial_loss: float
    lr: float
    batch_size: int
    rows: int
    diverged: Divergence | None = None
    warnings: list[str] = field(default_factory=list)
    data: str | None = None  # the data set's name; None for plain gradient descent (history is per step)

    def summary(self) -> str:
        learned = listed([f"{k}={brief(v)}" for k, v in self.params.items()])
        steps = f"{self.epochs} epochs" if self.data is not None else f"{self.iterations} steps"
        end = "diverged" if self.diverged else f"loss {brief(self.initial_loss)} → {brief(self.loss)}"
        return f"{end} in {steps}: {learned}"


def read_csv(text: str, name: str) -> Dataset:
    """Parse CSV text with a header row of names; every cell a number."""
    source = Source(text, name)
    reader = csv.reader(io.StringIO(text))
    try:
        # (line number in the file, cells): errors name the row as an editor shows it
        numbered = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise GradcalcError(f"{name} is not valid CSV: {exc}", kind="data", source=source) from None
    numbered = [(line, row) for line, row in numbered if any(cell.strip() for cell in row)]
    rows = [row for _, row in numbered]
    if not rows:
        raise GradcalcError(f"{name} is empty", kind="data", hint="the first row names the columns, e.g. x,y")
    header = [cell.strip() for cell in rows[0]]
    for col, cell in enumerate(header, 1):
        if not cell or not cell.replace("_", "a").isalnum() or cell[0].isdigit():
            raise GradcalcError(
                f"{name}, row {numbered[0][0]}, column {col}: {cell!r} is not a variable name",
                kind="data",
                hint="the first row names the columns after the formula's variables, e.g. x,y",
            )
    if len(set(header)) != len(header):
        twice = next(h for h in header if header.count(h) > 1)
        raise GradcalcError(f"{name}, row {numbered[0][0]}: the column name {twice!r} appears twice", kind="data")
    if len(rows) == 1:
        raise GradcalcError(f"{name} has a header but no rows of data", kind="data")
    if len(rows) - 1 > MAX_DATA_ROWS:
        raise GradcalcError(f"{name} has {len(rows) - 1:,} rows, more than the limit of {MAX_DATA_ROWS:,}",
                            kind="limit", hint="train on a sample of the rows")
    columns: dict[str, list[float]] = {h: [] for h in header}
    for r, row in numbered[1:]:
        if len(row) != len(header):
            raise GradcalcError(
                f"{name}, row {r}: {len(row)} cells, but the header has {len(header)}",
                kind="data",
                hint="every row needs one number per column",
            )
        for col, (h, cell) in enumerate(zip(header, row, strict=True), 1):
            text_ = cell.strip().replace("\u2212", "-")
            if not NUMBER_RE.match(text_):
                raise GradcalcError(
                    f"{name}, row {r}, column {col} ({h}): {cell.strip()[:30]!r} is not a number",
                    kind="data",
                    hint="cells are decimal or scientific numbers such as -2, 0.5 or 1e-3",
                )
            value = float(text_)
            if not math.isfinite(value):
                raise GradcalcError(f"{name}, row {r}, column {col} ({h}): {text_[:30]} is too large", kind="data")
            columns[h].append(value)
    return Dataset(name, columns)


def columns_dataset(columns: object, name: str = "the data") -> Dataset:
    """A data set from Python: names to equal lists (or 1-D arrays) of finite numbers, each checked."""
    if not isinstance(columns, Mapping) or not columns:
        raise GradcalcError(f"{name} is {type(columns).__name__!r}, not a mapping of column names to numbers",
                            kind="data", hint="give the columns as a dict, e.g. {'x': [1, 2], 'y': [2, 4]}")
    found = checked_values(columns)
    rows = None
    for col, v in found.items():
        if getattr(v, "ndim", 0) != 1:
            raise GradcalcError(f"{name}: the column {col!r} is not a list of numbers", kind="data",
                                hint="each column is a list of numbers, one per row")
        if rows is not None and len(v) != rows:
            raise GradcalcError(f"{name}: the column {col!r} has {len(v)} rows, the first column {rows}",
                                kind="data", hint="every column needs one number per row")
        rows = len(v)
    if rows is not None and rows > MAX_DATA_ROWS:
        raise GradcalcError(f"{name} has {rows:,} rows, more than the limit of {MAX_DATA_ROWS:,}", kind="limit",
                            hint="train on a sample of the rows")
    return Dataset(name, {col: [float(x) for x in v] for col, v in found.items()})


def batches(n_rows: int, batch_size: int, shuffle: bool, rng: random.Random) -> list[list[int]]:
    """One epoch's batches of row indices: ceil(n / batch size) of them, the last maybe partial."""
    order = list(range(n_rows))
    if shuffle:
        rng.shuffle(order)
    return [order[k : k + batch_size] for k in range(0, n_rows, batch_size)]


def descend(
    formula: str | Program,
    values: Mapping[str, Any] | None = None,
    *,
    lr: float,
    params: list[str] | None = None,
    steps: int = 100,
    data: Dataset | Mapping[str, Any] | None = None,
    batch_size: int | None = None,
    epochs: int = 1,
    shuffle: bool = True,
    seed: int = 0,
    tie: str = "split",
    output: str | None = None,
    name: str = "<formula>",
    progress: Progress | None = None,
) -> DescendResult:
    """Run gradient descent; see the module docstring.

    ``data`` is a :class:`Dataset` (:func:`read_csv`), or from Python a mapping of column
    names to equal lists of numbers, e.g. ``{"x": [1, 2, 3], "y": [2, 4, 6]}``.
    """
    check_learning_rate(lr)
    if data is not None and not isinstance(data, Dataset):
        data = columns_dataset(data)
    tape = load(formula, output=output, name=name)
    given = checked_values(values)
    columns = data.columns if data is not None else {}
    if data is not None and tape.has_tensors:
        raise GradcalcError(
            "training over data works on scalar formulas; this one uses vectors or matrices",
            kind="usage",
            hint="write the loss of one example with scalar variables",
        )
    # Data columns stand in for their variables; check the names before resolving.
    where = {col: k for k, col in enumerate(columns, 1)}
    for col in columns:
        if col in given:
            assert data is not None
            raise GradcalcError(
                f"{data.name}, column {where[col]} ({col}): {col!r} is a column of the data and also given as "
                f"{col}=VALUE",
                kind="data",
                hint="a column takes its values from the file; drop the NAME=VALUE argument or rename the column",
            )
    chosen = params if params else [v for v in tape.variables if v not in columns]
    for p in chosen:
        if p not in tape.variables:
            raise GradcalcError(f"--params names {p!r}, which the formula does not use", kind="usage",
                                hint=f"the formula's variables are {', '.join(tape.variables)}")
        if p in columns:
            raise GradcalcError(
                f"{data.name if data else 'the data'}, column {where[p]} ({p}): {p!r} is a parameter and also a "
                "column of the data",
                kind="data",
                hint="a parameter is learned; a column is data: rename one of them",
            )
    warnings: list[str] = []
    if data is not None:
        missing = [v for v in tape.variables if v not in columns and v not in given and v not in tape.defaults]
        if missing:
            raise GradcalcError(
                f"no column or value for {', '.join(missing)} in {data.name}",
                kind="data",
                hint=f"the columns are {', '.join(columns)}; add a column or give NAME=VALUE",
            )
        warnings += [f"column {c!r} of {data.name} is not used by the formula" for c in columns
                     if c not in tape.variables]
        placeholder = {c: 0.0 for c in columns if c in tape.variables}
        inputs, more = resolve_inputs(tape, {**given, **placeholder})
    else:
        inputs, more = resolve_inputs(tape, given)
    warnings += more
    for p in chosen:
        if not isinstance(inputs[p], float):
            raise GradcalcError(f"parameter {p!r} must be a number", kind="usage")
    current = {p: float(inputs[p]) for p in chosen}
    start = dict(current)
    n_rows = data.rows if data is not None else 1
    size = min(batch_size or n_rows, n_rows)
    if size < 1:
        raise GradcalcError("--batch-size must be at least 1", kind="usage")
    n_epochs = epochs if data is not None else steps
    rng = random.Random(seed)
    col_arrays: dict[str, Any] = {}
    m: Any
    if data is not None:
        from .tensor import NumpyMath, np

        m = NumpyMath(tie)
        col_arrays = {c: np.asarray(v, dtype=float) for c, v in columns.items() if c in tape.variables}
    else:
        m = choose_math(tape, inputs, tie)
    ex = executor(tape, m)

    def evaluate(rows: list[int] | None, point: dict[str, float], grads: bool) -> tuple[float, dict[str, float], Any]:
        feed = dict(inputs)
        feed.update(point)
        if rows is not None:
            for c, arr in col_arrays.items():
                feed[c] = arr[rows]
        vals = ex.forward(feed)
        out = vals[tape.output]
        if rows is None and getattr(out, "ndim", 0) > 0:
            node = tape.nodes[tape.output]
            raise GradcalcError(
                f"the loss {node.label} is a vector or matrix, not a number",
                kind="shape", span=node.span, source=tape.source,
                hint="descent needs one number to make smaller: wrap it in sum(...) or mean(...)",
            )
        loss = float(out.mean()) if getattr(out, "ndim", 0) > 0 else float(out)
        if not grads or not math.isfinite(loss):
            return loss, {}, vals
        # The gradient of the batch mean: each row's loss counts 1/B.  A loss that uses no
        # column is one number for the whole batch (its mean is itself), so its seed is 1.
        seed_ = np.full(np.shape(out), 1.0 / np.size(out)) if rows is not None else 1.0
        bp = ex.backward(vals, seed_)
        return loss, {p: float(np.sum(bp.grads[tape.variables[p]])) if rows is not None
                      else float(bp.grads[tape.variables[p]]) for p in chosen}, vals

    all_rows = list(range(n_rows)) if data is not None else None
    history: list[float] = []
    iteration = 0
    per_epoch = math.ceil(n_rows / size) if data is not None else 1
    total = per_epoch * n_epochs
    if total > MAX_ITERATIONS:
        what = f"--steps {n_epochs:,}" if data is None else f"{n_epochs:,} epochs × {per_epoch:,} batches"
        raise GradcalcError(
            f"{what} is {total:,} iterations, more than the limit of {MAX_ITERATIONS:,}",
            kind="limit", hint="fewer steps or epochs, or a larger --batch-size",
        )
    reached = Reached(dict(current), total, data.name if data is not None else None)
    with quiet(m), reached.reported():
        initial_loss, _, _ = evaluate(all_rows, current, grads=False)
        diverged: Divergence | None = None
        for epoch in range(1, n_epochs + 1):
            reached.epoch = epoch
            groups = batches(n_rows, size, shuffle, rng) if data is not None else [None]
            for rows in groups:
                iteration += 1
                loss, grad, vals = evaluate(rows, current, grads=True)
                if not math.isfinite(loss) or not all(map(math.isfinite, grad.values())):
                    diverged = Divergence(epoch, iteration, loss, _first_bad_gate(tape, vals))
                    break
                for p in chosen:
                    current[p] -= lr * grad[p]
                reached.iteration, reached.params = iteration, dict(current)  # one assignment: never half a step
                if progress is not None:
                    progress(iteration, total)
            if diverged is not None:
                break
            epoch_loss, _, vals = evaluate(all_rows, current, grads=False)
            if not math.isfinite(epoch_loss) or not all(map(math.isfinite, current.values())):
                diverged = Divergence(epoch, iteration, epoch_loss, _first_bad_gate(tape, vals))
                break
            history.append(epoch_loss)
        final_loss = history[-1] if history else initial_loss
        if diverged is not None:
            final_loss = diverged.loss
        elif final_loss > initial_loss and math.isfinite(initial_loss):
            warnings.append(f"the loss grew from {initial_loss:.6g} to {final_loss:.6g}: the learning rate "
                            f"{lr:g} may be too large for this loss (try a smaller --lr)")
    return DescendResult(
        tape, current, start, final_loss, iteration, len(history), history, initial_loss, lr, size, n_rows,
        diverged, warnings, data.name if data is not None else None,
    )


@dataclass
class Reached:
    """How far a run has got: what an interrupted run reports (see :class:`gradcalc.budget.Interrupted`)."""

    params: dict[str, float]  # after `iteration` steps
    iterations: int  # in all
    data: str | None  # the data set's name, when there is one (then an iteration is a batch of an epoch)
    epoch: int = 0  # the epoch under way
    iteration: int = 0  # the steps taken

    @contextmanager
    def reported(self) -> Iterator[None]:
        try:
            yield
        except Interrupted as stop:
            stop.progress = asdict(self)
            raise


def _first_bad_gate(tape: Tape, vals: list[Any]) -> str | None:
    i = first_nonfinite(tape, vals)
    if i is None:
        return None
    node = tape.nodes[i]
    return f"{node.label} = {tape.gate_text(i)}"


def thin(history: list[float], most: int = 20) -> list[tuple[int, float]]:
    """(epoch, loss) pairs to show: all of them when few, else evenly spaced with the first and last."""
    n = len(history)
    if n <= most:
        return [(k + 1, v) for k, v in enumerate(history)]
    picks = sorted({round(k * (n - 1) / (most - 1)) for k in range(most)})
    return [(k + 1, history[k]) for k in picks]
