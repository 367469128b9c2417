"""The full Jacobian of a vector-valued formula, two ways.

Rows come from reverse mode (one backward pass per output element, seeded
with a unit vector), columns from forward mode (one tangent pass per input
element); the two matrices must agree, and a central difference per column
is a third witness.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import checks
from .checks import FORWARD_TOL, NUMERIC_TOL
from .errors import GradcalcError
from .limits import MAX_JACOBIAN_ELEMENT_VISITS, MAX_JACOBIAN_ENTRIES, MAX_JACOBIAN_NODE_VISITS
from .ops import DEFAULT_TIE
from .parser import Program
from .passes import output_value
from .pipeline import elements, evaluate, kinks, quiet, unit
from .shown import Shown, brief
from .tape import Tape


@dataclass(repr=False)
class JacobianResult(Shown):
    tape: Tape
    inputs: dict[str, Any]
    value: Any  # the output, a number or an array
    rows: list[str]  # output element labels, e.g. f[0]
    columns: list[tuple[str, tuple[int, ...]]]  # (variable, position) per column
    reverse: list[list[float]]  # the Jacobian built row by row (reverse mode)
    forward: list[list[float]]  # the Jacobian built column by column (forward mode)
    numeric: list[list[float | None]] | None  # column by column, central differences
    warnings: list[str]
    kinks: list[str]  # gates at non-differentiable points, where conventions decide

    @property
    def agree_forward(self) -> bool:
        return all(FORWARD_TOL.close(a, b) for ra, rb in zip(self.reverse, self.forward, strict=True)
                   for a, b in zip(ra, rb, strict=True))

    @property
    def agree_numeric(self) -> bool:
        if self.numeric is None:
            return True
        return all(
            b is None or NUMERIC_TOL.close(a, b, 1e-7)
            for ra, rb in zip(self.reverse, self.numeric, strict=True)
            for a, b in zip(ra, rb, strict=True)
        )

    @property
    def ok(self) -> bool:
        """Reverse and forward mode agree, and so does the central difference unless a kink explains it."""
        return self.agree_forward and (self.agree_numeric or bool(self.kinks))

    def summary(self) -> str:
        out = self.tape.nodes[self.tape.output].label
        return (f"∂{out}/∂inputs {len(self.rows)}×{len(self.columns)} {out}={brief(self.value)} "
                f"{'checks ok' if self.ok else 'checks failed'}")

    def column_labels(self) -> list[str]:
        return [name if not pos else f"{name}[{', '.join(map(str, pos))}]" for name, pos in self.columns]


def jacobian(
    formula: str | Program | Tape,
    values: Mapping[str, Any] | None = None,
    *,
    numeric: bool = True,
    tie: str = DEFAULT_TIE,
    output: str | None = None,
    name: str = "<formula>",
) -> JacobianResult:
    """∂output[i]/∂input[j] for every output element i and input element j.

    A pass per output element and one (three, with central differences) per
    input element, each over every element of the tape's values: the size of the
    Jacobian and that work are refused past their limits before any pass runs.
    Each row and column is read out whole, as an array.
    """
    ev = evaluate(formula, values, tie=tie, output=output, name=name)
    tape, inputs, vals, m = ev.tape, ev.inputs, ev.values, ev.m
    out = vals[tape.output]
    out_shape = _shape(out)
    n_out = math.prod(out_shape)
    shapes = {n: _shape(inputs[n]) for n in tape.variables}
    n_in = sum(math.prod(shape) for shape in shapes.values())
    _check_size(tape, n_out, n_in, sum(math.prod(_shape(v)) for v in vals), numeric)
    from .tensor import np

    with quiet(m):
        label = tape.nodes[tape.output].label
        out_positions = elements(float(out) if _is_number(out) else out)
        rows = [label if not pos else f"{label}[{', '.join(map(str, pos))}]" for pos in out_positions]
        columns = [(n, pos) for n in tape.variables for pos in elements(inputs[n])]
        reverse = np.zeros((n_out, n_in))
        for r, pos in enumerate(out_positions):
            bp = ev.backward(unit(out, pos) if pos else 1.0)
            reverse[r] = np.concatenate(
                [np.broadcast_to(np.asarray(bp.grads[i], dtype=float), shapes[n]).ravel()
                 for n, i in tape.variables.items()] or [np.zeros(0)])
        forward = np.zeros((n_out, n_in))
        central = np.zeros((n_out, n_in)) if numeric else None
        known = np.ones(n_in, dtype=bool)
        for c, (n, pos) in enumerate(columns):
            t = ev.jvp({tape.variables[n]: unit(inputs[n], pos)})[tape.output]
            forward[:, c] = _flat(np, t, out_shape)
            if central is not None:
                column = _numeric_column(tape, inputs, n, pos, m, out_shape)
                known[c] = column is not None
                if column is not None:
                    central[:, c] = column
    numeric_rows: list[list[float | None]] | None = None
    if central is not None:
        numeric_rows = [[v if known[c] else None for c, v in enumerate(row)] for row in central.tolist()]
    listed, _, _ = kinks(ev, bp)
    notes = [f"{k.label}: {k.note}" for k in listed]
    return JacobianResult(
        tape, inputs, out, rows, columns, reverse.tolist(), forward.tolist(), numeric_rows, ev.warnings, notes
    )


def _check_size(tape: Tape, n_out: int, n_in: int, n_values: int, numeric: bool) -> None:
    """Refuse a Jacobian past MAX_JACOBIAN_ENTRIES, or whose passes would visit too many nodes or elements."""
    node = tape.nodes[tape.output]
    passes = n_out + n_in * (3 if numeric else 1)
    hint = "a pass per output element and per input element: use fewer of them" + (
        "; --no-numeric saves two passes per input element" if numeric else "")
    if n_out * n_in > MAX_JACOBIAN_ENTRIES:
        message = (f"the Jacobian of {node.label} would have {n_out:,} × {n_in:,} = {n_out * n_in:,} entries, "
                   f"more than the limit of {MAX_JACOBIAN_ENTRIES:,}")
        hint = ("take the Jacobian of fewer outputs (index or sum them) or with respect to fewer inputs "
                "(give some as numbers); 'gradcalc grad' takes the gradient of a sum at any size")
    elif passes * len(tape.nodes) > MAX_JACOBIAN_NODE_VISITS:
        message = (f"the Jacobian of {node.label} needs {passes:,} passes over {len(tape.nodes):,} nodes, "
                   f"more than the limit of {MAX_JACOBIAN_NODE_VISITS:,} node visits")
    elif passes * n_values > MAX_JACOBIAN_ELEMENT_VISITS:
        message = (f"the Jacobian of {node.label} needs {passes:,} passes over {n_values:,} elements of values, "
                   f"more than the limit of {MAX_JACOBIAN_ELEMENT_VISITS:,} element visits")
        hint += ", or smaller values"
    else:
        return
    raise GradcalcError(message, kind="limit", span=node.span, hint=hint, source=tape.source)


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(getattr(x, "shape", ()))


def _flat(np: Any, x: Any, shape: tuple[int, ...]) -> Any:
    """A value spread to ``shape`` (a number's tangent spreads like its value), as one row of floats."""
    return np.broadcast_to(np.asarray(x, dtype=float), shape).ravel()


def _is_number(x: Any) -> bool:
    return isinstance(x, float | int) or getattr(x, "ndim", 1) == 0


def _numeric_column(
    tape: Tape, inputs: Mapping[str, Any], name: str, pos: tuple[int, ...], m: Any, out_shape: tuple[int, ...]
) -> Any:
    """The central difference of every output element along one input element, or None if a side fails."""
    from .tensor import np

    value = inputs[name]
    x = float(value[pos]) if pos else float(value)
    h = checks.step(x)
    outs = []
    for sign in (1.0, -1.0):
        try:
            outs.append(_flat(np, output_value(tape, checks.moved(inputs, name, pos, x + sign * h), m), out_shape))
        except Exception:
            return None
    return (outs[0] - outs[1]) / (2 * h)
