"""The full Jacobian of a vector-valued formula, two ways.

Rows come from reverse mode (one backward pass per output element, seeded
with a unit vector), columns from forward mode (one tangent pass per input
element); the two matrices must agree, and a central difference per column
is a third witness.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import checks
from .checks import FORWARD_TOL, NUMERIC_TOL
from .ops import DEFAULT_TIE
from .parser import Program
from .passes import output_value
from .pipeline import elements, evaluate, kinks, quiet, unit
from .tape import Tape


@dataclass
class JacobianResult:
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
    """∂output[i]/∂input[j] for every output element i and input element j."""
    ev = evaluate(formula, values, tie=tie, output=output, name=name)
    tape, inputs, vals, m = ev.tape, ev.inputs, ev.values, ev.m
    with quiet(m):
        out = vals[tape.output]
        out_positions = elements(out if not _is_number(out) else float(out))
        label = tape.nodes[tape.output].label
        rows = [label if not pos else f"{label}[{', '.join(map(str, pos))}]" for pos in out_positions]
        columns = [(n, pos) for n in tape.variables for pos in elements(inputs[n])]
        reverse_rows = []
        for pos in out_positions:
            seed = unit(out, pos) if pos else 1.0
            bp = ev.backward(seed)
            row: list[float] = []
            for n, i in tape.variables.items():
                g = bp.grads[i]
                for vpos in elements(inputs[n]):
                    row.append(float(g[vpos]) if vpos and not _is_number(g) else float(g))
            reverse_rows.append(row)
        forward_cols = []
        numeric_cols: list[list[float | None]] = []
        for n, pos in columns:
            i = tape.variables[n]
            t = ev.jvp({i: unit(inputs[n], pos)})[tape.output]
            forward_cols.append([_at(t, opos) for opos in out_positions])
            if numeric:
                numeric_cols.append(_numeric_column(tape, inputs, n, pos, m, out_positions))
    forward_rows = [list(r) for r in zip(*forward_cols, strict=True)] if forward_cols else [[] for _ in rows]
    numeric_rows = (
        [list(r) for r in zip(*numeric_cols, strict=True)] if numeric and numeric_cols else None
    )
    listed, _, _ = kinks(ev, bp)
    notes = [f"{k.label}: {k.note}" for k in listed]
    return JacobianResult(
        tape, inputs, out, rows, columns, reverse_rows, forward_rows, numeric_rows, ev.warnings, notes
    )


def _is_number(x: Any) -> bool:
    return isinstance(x, float | int) or getattr(x, "ndim", 1) == 0


def _at(x: Any, pos: tuple[int, ...]) -> float:
    if _is_number(x):
        return float(x)
    return float(x[pos])


def _numeric_column(
    tape: Tape, inputs: Mapping[str, Any], name: str, pos: tuple[int, ...], m: Any, out_positions: list[Any]
) -> list[float | None]:
    value = inputs[name]
    x = float(value[pos]) if pos else float(value)
    h = checks.step(x)
    outs = []
    for sign in (1.0, -1.0):
        try:
            outs.append(output_value(tape, checks.moved(inputs, name, pos, x + sign * h), m))
        except Exception:
            return [None] * len(out_positions)
    return [(_at(outs[0], p) - _at(outs[1], p)) / (2 * h) for p in out_positions]
