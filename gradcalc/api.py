"""The library's front door: ``gradient(formula, values)`` and its result.

The command line is a thin layer over this module; everything it prints comes
from a :class:`GradResult`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import checks
from .budget import Budgeted
from .checks import FORWARD_TOL, NUMERIC_TOL, SYMBOLIC_TOL
from .ops import DEFAULT_TIE, TIE_MODES, ScalarMath
from .parser import Program, parse_program
from .tape import GATE, Backprop, Tape, backward, build, check_forward, forward, jvp
from .values import resolve_inputs

DEFAULT_SYMBOLIC_BUDGET = 5.0

AGREE, DISAGREE, KINK, NONFINITE = "agree", "disagree", "kink", "nonfinite"


@dataclass
class Kink:
    """A gate evaluated at a non-differentiable point, and the convention used."""

    node: int
    label: str
    note: str
    variables: list[str]


@dataclass
class VariableCheck:
    """One variable's gradient and what each witness says of it."""

    name: str
    value: float
    gradient: float
    forward: float | None = None
    symbolic: float | None = None
    derivative: str | None = None  # SymPy's ∂f/∂name, as text
    numeric: float | None = None
    status: str = AGREE  # agree, disagree, kink, nonfinite
    disagreeing: list[str] = field(default_factory=list)  # which witnesses disagree


@dataclass
class SymbolicStatus:
    state: str  # "done", "partial", "skipped", "off"
    reason: str | None = None
    seconds: float = 0.0


@dataclass
class GradResult:
    tape: Tape
    inputs: dict[str, float]
    values: list[float]  # every node's forward value
    backprop: Backprop
    variables: list[VariableCheck]
    kinks: list[Kink]
    warnings: list[str]
    symbolic: SymbolicStatus
    numeric: bool
    tie: str
    directional: dict[str, Any] | None = None  # the one-direction check of large graphs

    @property
    def value(self) -> float:
        return self.values[self.tape.output]

    @property
    def output_label(self) -> str:
        return self.tape.nodes[self.tape.output].label

    @property
    def gradients(self) -> dict[str, float]:
        return {v.name: v.gradient for v in self.variables}

    @property
    def ok(self) -> bool:
        """True when no witness really disagrees and every gradient is finite."""
        if self.directional is not None and not self.directional.get("agree", True):
            return False
        return all(v.status in (AGREE, KINK) for v in self.variables)

    def node_gradient(self, i: int) -> float:
        return float(self.backprop.grads[i])


def gradient(
    formula: str | Program,
    values: Mapping[str, float] | None = None,
    *,
    symbolic: bool = True,
    numeric: bool = True,
    symbolic_budget: float = DEFAULT_SYMBOLIC_BUDGET,
    tie: str = DEFAULT_TIE,
    output: str | None = None,
    name: str = "<formula>",
) -> GradResult:
    """Parse, build the tape, run forward and reverse passes, and cross-check.

    >>> r = gradient("(x+y)*z", {"x": -2, "y": 5, "z": -4})
    >>> r.value, r.gradients
    (-12.0, {'x': -4.0, 'y': -4.0, 'z': 3.0})

    Raises :class:`gradcalc.errors.GradcalcError` for bad input.
    """
    if tie not in TIE_MODES:
        raise ValueError(f"tie must be one of {TIE_MODES}")
    program = formula if isinstance(formula, Program) else parse_program(formula, name)
    tape = build(program, output)
    inputs, warnings = resolve_inputs(tape, values or {})
    job: Budgeted | None = None
    sym_status = SymbolicStatus("off", "turned off (--no-symbolic)") if not symbolic else SymbolicStatus("done")
    if symbolic:
        from .symbolic import MAX_SYMBOLIC_NODES

        if len(tape.nodes) > MAX_SYMBOLIC_NODES:
            sym_status = SymbolicStatus(
                "skipped", f"the graph has {len(tape.nodes):,} nodes, more than {MAX_SYMBOLIC_NODES:,}"
            )
        elif tape.variables:
            job = checks.start_symbolic(tape, inputs, symbolic_budget)
    try:
        m = ScalarMath(tie)
        vals = forward(tape, inputs, m)
        check_forward(tape, vals)
        bp = backward(tape, vals, m)
        result = GradResult(
            tape, inputs, vals, bp, [], _kinks(tape, vals, bp, m), warnings, sym_status, numeric, tie
        )
        _check_variables(result, m)
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    if job is not None:
        _apply_symbolic(result, job)
    _settle(result)
    return result


def _kinks(tape: Tape, vals: list[float], bp: Backprop, m: ScalarMath) -> list[Kink]:
    found = []
    for i, node in enumerate(tape.nodes):
        if node.kind != GATE or not bp.needs[i] or node.op is None or node.op.kink is None:
            continue
        note = node.op.kink(m, [vals[j] for j in node.args], vals[i])
        if note:
            names = [n for n, j in tape.variables.items() if j in tape.ancestors(i)]
            found.append(Kink(i, node.label, note, names))
    return found


def _check_variables(result: GradResult, m: ScalarMath) -> None:
    tape, vals, bp = result.tape, result.values, result.backprop
    n_vars = len(tape.variables)
    per_variable = n_vars * len(tape.nodes) <= checks.PER_VARIABLE_LIMIT
    for name, i in tape.variables.items():
        check = VariableCheck(name, result.inputs[name], float(bp.grads[i]))
        if per_variable:
            check.forward = jvp(tape, vals, {i: 1.0}, m)[tape.output]
            if result.numeric:
                check.numeric = checks.central_difference(tape, result.inputs, {name: 1.0}, m)
        result.variables.append(check)
    if not per_variable and n_vars:
        d = checks.directional(tape, vals, bp)
        d["agree"] = FORWARD_TOL.close(d["reverse"], d["forward"])
        if result.numeric:
            d["numeric"] = checks.central_difference(tape, result.inputs, d["direction"], m)
            if d["numeric"] is not None:
                scale = max(abs(result.inputs[n]) for n in d["direction"])
                d["agree"] = d["agree"] and NUMERIC_TOL.close(
                    d["reverse"], d["numeric"], checks.roundoff(vals, scale)
                )
        result.directional = d


def _apply_symbolic(result: GradResult, job: Budgeted) -> None:
    outcome = job.collect()
    by_name = {item["name"]: item for item in outcome.results if "name" in item}
    for check in result.variables:
        item = by_name.get(check.name)
        if item is not None:
            check.symbolic = item.get("value")
            check.derivative = item.get("derivative")
    seconds = outcome.seconds
    if outcome.complete:
        result.symbolic = SymbolicStatus("done", None, seconds)
    elif by_name:
        result.symbolic = SymbolicStatus("partial", outcome.reason, seconds)
    else:
        result.symbolic = SymbolicStatus("skipped", outcome.reason, seconds)


def _settle(result: GradResult) -> None:
    """Give each variable its status from what the witnesses said."""
    kinked = {name for k in result.kinks for name in k.variables}
    for check in result.variables:
        g = check.gradient
        if not math.isfinite(g):
            check.status = NONFINITE
            continue
        wrong = []
        if check.forward is not None and not FORWARD_TOL.close(g, check.forward):
            wrong.append("forward")
        if check.symbolic is not None and not SYMBOLIC_TOL.close(g, check.symbolic):
            wrong.append("sympy")
        if check.numeric is not None and not NUMERIC_TOL.close(
            g, check.numeric, checks.roundoff(result.values, check.value)
        ):
            wrong.append("numeric")
        check.disagreeing = wrong
        if wrong:
            check.status = KINK if check.name in kinked else DISAGREE
