"""Second derivatives: the Hessian, and derivatives of any order of a function of one variable.

Both differentiate the gradient graph (:mod:`gradcalc.gradgraph`), a tape of
the same op rows: the Hessian is the Jacobian of the gradient — rows by
reverse mode over the gradient graph, columns by forward mode, and central
differences of the gradient as a third witness — checked against SymPy's
second derivatives, with its symmetry and its eigenvalues; f⁽ᵏ⁾ is the
gradient of the gradient, k times.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .checks import FORWARD_TOL, NUMERIC_TOL, SYMBOLIC_TOL
from .errors import GradcalcError
from .gradgraph import gradient_tape
from .ops import DEFAULT_TIE
from .parser import Program
from .pipeline import evaluate, kinks
from .shown import Shown, brief
from .tape import Tape

DEFAULT_SYMBOLIC_BUDGET = 5.0
MAX_ORDER = 8  # derivatives of one variable: each order rewrites the graph, which grows with it


@dataclass(repr=False)
class HessianResult(Shown):
    tape: Tape
    inputs: dict[str, Any]
    value: float
    variables: list[str]  # rows and columns, in order
    gradient: list[float]
    hessian: list[list[float]]  # by reverse mode over the gradient graph
    forward: list[list[float]]  # by forward mode over it
    numeric: list[list[float | None]] | None  # central differences of the gradient
    symbolic: list[list[float | None]] | None  # SymPy's second derivatives
    symbolic_reason: str | None
    kinks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def symmetric(self) -> bool:
        n = len(self.variables)
        return all(FORWARD_TOL.close(self.hessian[i][j], self.hessian[j][i]) for i in range(n) for j in range(n))

    def disagreeing(self) -> list[str]:
        """The witnesses that disagree with reverse mode somewhere (or 'symmetry')."""
        wrong = []
        pairs = [(i, j) for i in range(len(self.variables)) for j in range(len(self.variables))]
        if not all(FORWARD_TOL.close(self.hessian[i][j], self.forward[i][j]) for i, j in pairs):
            wrong.append("forward")
        if self.symbolic is not None and not all(
            self.symbolic[i][j] is None or SYMBOLIC_TOL.close(self.hessian[i][j], self.symbolic[i][j]) for i, j in pairs
        ):
            wrong.append("sympy")
        if self.numeric is not None and not self.kinks and not all(
            self.numeric[i][j] is None or NUMERIC_TOL.close(self.hessian[i][j], self.numeric[i][j], 1e-6)
            for i, j in pairs
        ):
            wrong.append("numeric")
        if not self.symmetric:
            wrong.append("symmetry")
        return wrong

    @property
    def ok(self) -> bool:
        return not self.disagreeing()

    @property
    def eigenvalues(self) -> list[float]:
        import numpy as np

        h = np.array(self.hessian, dtype=float)
        if not np.all(np.isfinite(h)):
            return []
        return [float(e) for e in np.linalg.eigvalsh((h + h.T) / 2)]

    @property
    def definiteness(self) -> str:
        """What the eigenvalues say: positive definite, negative definite, indefinite, or semidefinite."""
        eig = self.eigenvalues
        if not eig:
            return "not finite"
        scale = max(1.0, max(abs(e) for e in eig))
        tol = 1e-12 * scale
        if all(e > tol for e in eig):
            return "positive definite"
        if all(e < -tol for e in eig):
            return "negative definite"
        if any(e > tol for e in eig) and any(e < -tol for e in eig):
            return "indefinite"
        return "semidefinite"

    def summary(self) -> str:
        out = self.tape.nodes[self.tape.output].label
        n = len(self.variables)
        checks = "checks ok" if self.ok else "checks failed: " + ", ".join(self.disagreeing())
        return f"{out}={brief(self.value)} {n}×{n} by {', '.join(self.variables[:6])}: {self.definiteness}, {checks}"

    @property
    def meaning(self) -> str:
        stationary = all(abs(g) <= 1e-12 * max(1.0, abs(self.value)) for g in self.gradient)
        where = "here, where the gradient is 0" if stationary else "where the gradient is 0 (it is not 0 here)"
        return {
            "positive definite": f"a local minimum {where}",
            "negative definite": f"a local maximum {where}",
            "indefinite": f"a saddle point {where}",
            "semidefinite": "the second derivatives alone cannot tell a minimum from a saddle",
            "not finite": "some second derivative is not finite",
        }[self.definiteness]


def hessian(
    formula: str | Program,
    values: Mapping[str, Any] | None = None,
    *,
    wrt: list[str] | None = None,
    symbolic: bool = True,
    numeric: bool = True,
    symbolic_budget: float = DEFAULT_SYMBOLIC_BUDGET,
    tie: str = DEFAULT_TIE,
    name: str = "<formula>",
) -> HessianResult:
    """∂²f/∂a∂b for every pair of ``wrt`` (default: every variable), checked four ways."""
    from .jacobian import jacobian

    ev = evaluate(formula, values, tie=tie, name=name)
    tape = ev.tape
    out = ev.output_value
    if not isinstance(out, float):
        node = tape.nodes[tape.output]
        raise GradcalcError(
            f"the output {node.label} is not a number: a Hessian is of a scalar function",
            kind="shape", span=node.span, source=tape.source,
            hint="wrap it in sum(...), or take the Jacobian with 'gradcalc jacobian'",
        )
    names = wrt or list(tape.variables)
    for n in names:
        if n not in tape.variables:
            raise GradcalcError(f"--wrt names {n!r}, which the formula does not use", kind="usage",
                                hint=f"its variables are {', '.join(tape.variables) or 'none'}")
    if not names:
        raise GradcalcError("the formula has no variables: its Hessian is empty", kind="usage")
    job = None
    reason = "turned off (--no-symbolic)" if not symbolic else None
    if symbolic:
        from .budget import Budgeted
        from .symbolic import MAX_SYMBOLIC_NODES, second_derivatives

        if len(tape.nodes) > MAX_SYMBOLIC_NODES:
            reason = f"the graph has {len(tape.nodes):,} nodes, more than {MAX_SYMBOLIC_NODES:,}"
        else:
            point = dict(ev.inputs)
            job = Budgeted(lambda emit: second_derivatives(tape, point, names, emit), symbolic_budget)
    try:
        bp = ev.backward()
        listed, _, _ = kinks(ev, bp)
        grad_tape = gradient_tape(tape, names)
        given = {n: ev.inputs[n] for n in grad_tape.variables}
        jr = jacobian(grad_tape, given, numeric=numeric, tie=tie)
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    columns = [c for c, _ in jr.columns]

    def matrix(rows: list[list[Any]] | None) -> list[list[Any]] | None:
        if rows is None:
            return None
        if len(names) == 1:
            rows = [[rows[0][k] if k < len(rows[0]) else 0.0 for k in range(len(columns))]]
        return [[rows[i][columns.index(b)] if b in columns else 0.0 for b in names] for i in range(len(names))]

    sym = None
    if job is not None:
        outcome = job.collect()
        found = {(item["row"], item["col"]): item.get("value") for item in outcome.results if "row" in item}
        if found:
            sym = [[found.get((a, b)) for b in names] for a in names]
        if not outcome.complete:
            reason = outcome.reason
    return HessianResult(
        tape, dict(ev.inputs), float(out), names,
        [float(bp.grads[tape.variables[n]]) for n in names],
        matrix(jr.reverse) or [], matrix(jr.forward) or [], matrix(jr.numeric), sym, reason,
        [f"{k.label}: {k.note}" for k in listed], ev.warnings,
    )


@dataclass(repr=False)
class OrderResult(Shown):
    """f and its derivatives by one variable, up to an order, each checked against SymPy."""

    tape: Tape
    variable: str
    point: float
    values: list[float]  # f, f′, f″, ...
    symbolic: list[float | None] | None
    formulas: list[str | None]  # SymPy's derivative of each order, as text
    symbolic_reason: str | None

    def disagreeing(self) -> list[int]:
        if self.symbolic is None:
            return []
        return [k for k, (a, b) in enumerate(zip(self.values[1:], self.symbolic, strict=True), 1)
                if b is not None and not SYMBOLIC_TOL.close(a, b)]

    @property
    def ok(self) -> bool:
        return not self.disagreeing()

    def summary(self) -> str:
        values = " ".join(brief(v) for v in self.values)
        return f"by {self.variable} at {brief(self.point)}: {values} {'checks ok' if self.ok else 'checks failed'}"


def derivatives_of_order(
    formula: str | Program,
    values: Mapping[str, Any] | None,
    order: int,
    *,
    symbolic: bool = True,
    symbolic_budget: float = DEFAULT_SYMBOLIC_BUDGET,
    name: str = "<formula>",
) -> OrderResult:
    """f, f′, ..., f⁽ᵒʳᵈᵉʳ⁾ at the point, each the gradient graph of the one before."""
    from .passes import Loop, choose_math

    if not 1 <= order <= MAX_ORDER:
        raise GradcalcError(f"--order must be from 1 to {MAX_ORDER}, not {order}", kind="usage",
                            hint="--order 1 is the gradient; each order differentiates the one before")
    ev = evaluate(formula, values, name=name)
    tape = ev.tape
    if len(tape.variables) != 1:
        raise GradcalcError(
            f"--order is for a function of one variable; this one has {len(tape.variables)}",
            kind="usage", hint="give the others as constants in the formula, or use 'gradcalc hessian'",
        )
    (var,) = tape.variables
    x = ev.inputs[var]
    if not isinstance(x, float) or not isinstance(ev.output_value, float):
        raise GradcalcError("--order is for a scalar function of a scalar variable", kind="shape")
    job = None
    reason = "turned off (--no-symbolic)" if not symbolic else None
    if symbolic:
        from .budget import Budgeted
        from .symbolic import second_derivatives

        point = dict(ev.inputs)
        job = Budgeted(lambda emit: second_derivatives(tape, point, [var], emit, order=order), symbolic_budget)
    found = [float(ev.output_value)]
    current = tape
    try:
        for _ in range(order):
            current = gradient_tape(current, [var])
            if var not in current.variables:  # the derivative no longer depends on x: constant from here
                value = float(Loop(current, choose_math(current, {})).forward({})[current.output])
            else:
                value = float(Loop(current, choose_math(current, {var: x})).forward({var: x})[current.output])
            found.append(value if math.isfinite(value) else math.nan)
            if var not in current.variables:
                found.extend([0.0] * (order - len(found) + 1))
                break
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    sym = None
    formulas: list[str | None] = [None] * order
    if job is not None:
        outcome = job.collect()
        by_order = {item["order"]: item for item in outcome.results if "order" in item}
        if by_order:
            sym = [by_order[k].get("value") if k in by_order else None for k in range(1, order + 1)]
            formulas = [by_order[k].get("derivative") if k in by_order else None for k in range(1, order + 1)]
        if not outcome.complete:
            reason = outcome.reason
    return OrderResult(tape, var, x, found, sym, formulas, reason)
