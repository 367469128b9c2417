"""The library's front door: ``gradient(formula, values)`` and its result.

The command line is a thin layer over this module; everything it prints comes
from a :class:`GradResult`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import checks
from .checks import FORWARD_TOL, NUMERIC_TOL, SYMBOLIC_TOL
from .errors import GradcalcError
from .ops import DEFAULT_TIE, ScalarMath
from .parser import Program
from .passes import Backprop, Executor, finite
from .pipeline import Evaluation, Kink, assemble, elements, evaluate, kinks, quiet, unit
from .shown import Shown, brief, listed
from .tape import GATE, Tape

if TYPE_CHECKING:
    from .budget import Budgeted

DEFAULT_SYMBOLIC_BUDGET = 5.0
AGREE, DISAGREE, KINK, NONFINITE = "agree", "disagree", "kink", "nonfinite"
# A large graph's variable when the one check along a random direction failed:
# some gradient is wrong, and one direction cannot say which.
UNDECIDED = "undecided"


@dataclass
class VariableCheck:
    """One variable's gradient and what each witness says of it."""

    name: str
    value: Any  # a float, or an array for a vector or matrix variable
    gradient: Any  # same shape as value
    forward: Any = None
    symbolic: Any = None
    derivative: Any = None  # SymPy's ∂f/∂name as text (nested lists of text for arrays)
    numeric: Any = None
    status: str = AGREE  # agree, disagree, kink, nonfinite, undecided
    disagreeing: list[str] = field(default_factory=list)  # which witnesses disagree
    notes: list[str] = field(default_factory=list)  # e.g. why a witness is inconclusive


@dataclass
class SymbolicStatus:
    state: str  # "done", "partial", "skipped", "off"
    reason: str | None = None
    seconds: float = 0.0


@dataclass(repr=False)
class GradResult(Shown):
    """The value, the gradients and what each witness said of them, and the graph they came from.

    In a notebook it shows itself as the graph, the gate table and the checks (see :mod:`gradcalc.shown`).
    """

    tape: Tape
    inputs: dict[str, Any]
    values: list[Any]  # every node's forward value
    backprop: Backprop
    variables: list[VariableCheck]
    kinks: list[Kink]
    warnings: list[str]
    symbolic: SymbolicStatus
    numeric: bool
    tie: str
    directional: dict[str, Any] | None = None  # the one-direction check of large graphs
    kinks_more: int = 0  # kinks past the MAX_KINKS_LISTED in `kinks`
    kinked: frozenset[str] = frozenset()  # the variables below any kink, listed or not

    @property
    def value(self) -> float:
        return self.values[self.tape.output]

    @property
    def output_label(self) -> str:
        return self.tape.nodes[self.tape.output].label

    @property
    def gradients(self) -> dict[str, Any]:
        return {v.name: v.gradient for v in self.variables}

    @property
    def ok(self) -> bool:
        """True when no witness really disagrees and every gradient is finite."""
        d = self.directional
        if d is not None and not d.get("agree", True) and not d.get("at_kink"):
            return False
        return all(v.status in (AGREE, KINK) for v in self.variables)

    def node_gradient(self, i: int) -> Any:
        return self.backprop.grads[i]

    def summary(self) -> str:
        grads = [f"∂{v.name}={brief(v.gradient)}" for v in self.variables]
        return f"{self.output_label}={brief(self.value)} {listed(grads)} {self.verdict()}".replace("  ", " ")

    def verdict(self) -> str:
        """``checks ok``, or which variables' checks failed, in a few words."""
        if self.ok:
            return "checks ok"
        bad = [v.name for v in self.variables if v.status not in (AGREE, KINK)]
        return "checks failed: " + (", ".join(bad[:6]) + (" …" if len(bad) > 6 else "") if bad else "the direction")


def gradient(
    formula: str | Program | Tape,
    values: Mapping[str, Any] | None = None,
    *,
    symbolic: bool = True,
    numeric: bool = True,
    symbolic_budget: float = DEFAULT_SYMBOLIC_BUDGET,
    tie: str = DEFAULT_TIE,
    output: str | None = None,
    name: str = "<formula>",
    fuse: bool = False,
) -> GradResult:
    """Parse, build the tape, run forward and reverse passes, and cross-check.

    >>> r = gradient("(x+y)*z", {"x": -2, "y": 5, "z": -4})
    >>> r.value, r.gradients
    (-12.0, {'x': -4.0, 'y': -4.0, 'z': 3.0})

    Values may be numbers or NumPy arrays (vectors and matrices).
    Raises :class:`gradcalc.errors.GradcalcError` for bad input.
    """
    if symbolic:
        check_budget(symbolic_budget)
    ev = evaluate(formula, values, tie=tie, output=output, fuse=fuse, name=name)
    tape, m = ev.tape, ev.m
    require_scalar(tape, ev.values)
    job: Budgeted | None = None
    sym_status = SymbolicStatus("off", "turned off (--no-symbolic)")
    if symbolic:
        from .symbolic import MAX_SYMBOLIC_NODES

        sym_status = SymbolicStatus("done")
        if len(tape.nodes) > MAX_SYMBOLIC_NODES:
            sym_status = SymbolicStatus(
                "skipped", f"the graph has {len(tape.nodes):,} nodes, more than {MAX_SYMBOLIC_NODES:,}"
            )
        elif tape.variables:
            job = checks.start_symbolic(tape, ev.inputs, symbolic_budget)
    try:
        bp = ev.backward()
        found, kinks_more, kinked = kinks(ev, bp)
        result = GradResult(tape, ev.inputs, ev.values, bp, [], found, ev.warnings, sym_status, numeric, tie, None,
                            kinks_more, kinked)
        biggest = checks.largest(ev.values, ev.executor)  # for the central differences' rounding slack
        with quiet(m):
            _check_variables(result, ev, biggest)
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    if job is not None:
        _apply_symbolic(result, job)
    with quiet(m):
        _settle(result, ev.executor, biggest)
    return result


def check_budget(seconds: object, option: str = "symbolic_budget") -> None:
    """A SymPy budget in seconds, from more than 0 to :data:`gradcalc.budget.MAX_SECONDS` (NaN is refused too)."""
    from .budget import MAX_SECONDS

    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= MAX_SECONDS:
        raise GradcalcError(f"{option} must be a number of seconds more than 0 and at most {MAX_SECONDS:g}, "
                            f"not {seconds!r}", kind="usage", hint="the default is 5 seconds")


SCALAR_HINT = (
    "gradients need a scalar output: wrap it in sum(...) or mean(...), or use 'gradcalc jacobian' for the full Jacobian"
)


def require_scalar(tape: Tape, vals: list[Any], hint: str = SCALAR_HINT) -> None:
    """The output's value as a float (a 0-d array becomes one), or an exit-2 error of kind ``shape`` with ``hint``."""
    out = vals[tape.output]
    if isinstance(out, float):
        return
    from .tensor import np, shape_text

    if np.ndim(out) == 0:
        vals[tape.output] = float(out)
        return
    node = tape.nodes[tape.output]
    raise GradcalcError(
        f"the output {node.label} is a {shape_text(out)} array, not a number",
        kind="shape",
        span=node.span,
        hint=hint,
        source=tape.source,
    )


def _check_variables(result: GradResult, ev: Evaluation, biggest: float) -> None:
    tape, vals, bp, m = result.tape, result.values, result.backprop, ev.m
    # A pass visits every element of every value, not every node: over vectors and matrices a
    # pass per element of the variables is quadratic (2,000 inputs × a 1,000,000-element value).
    inputs = sum(_size(result.inputs[name]) for name in tape.variables)
    visits = len(tape.nodes) if isinstance(m, ScalarMath) else sum(map(_size, vals))
    per_variable = inputs * visits <= checks.PER_VARIABLE_LIMIT
    for name, i in tape.variables.items():
        value = result.inputs[name]
        grad = bp.grads[i]
        if not isinstance(value, float):
            from .tensor import np

            grad = np.broadcast_to(np.asarray(grad, dtype=float), np.shape(value)).copy()
        check = VariableCheck(name, value, grad if not isinstance(grad, int) else float(grad))
        if per_variable:
            forward_parts = []
            numeric_parts = []
            for pos in elements(value):
                forward_parts.append(_scalar(ev.executor.jvp(vals, {i: unit(value, pos)})[tape.output]))
                if result.numeric:
                    numeric_parts.append(checks.central_difference(tape, result.inputs, name, pos, m))
            check.forward = assemble(value, forward_parts)
            if result.numeric:
                check.numeric = assemble(value, numeric_parts)
        result.variables.append(check)
    if not per_variable and tape.variables:
        d = checks.directional(tape, result.inputs, vals, bp, m, result.numeric, biggest=biggest, ex=ev.executor)
        # Only the central difference disagreeing, at a point with kinks: the convention, not a failure.
        d["at_kink"] = not d["agree"] and bool(result.kinks) and FORWARD_TOL.close(d["reverse"], d["forward"])
        if d["at_kink"]:
            d["numeric_note"] = "the central difference differs where gates sit at non-differentiable points"
        result.directional = d


def _size(x: Any) -> int:
    """How many elements a value has: 1 for a number."""
    return getattr(x, "size", 1)


def _scalar(x: Any) -> float:
    return float(x)


def _apply_symbolic(result: GradResult, job: Budgeted) -> None:
    outcome = job.collect()
    by_name = {item["name"]: item for item in outcome.results if "name" in item}
    for check in result.variables:
        item = by_name.get(check.name)
        if item is not None:
            value = item.get("value")
            if isinstance(value, list):
                from .tensor import np

                value = None if _has_none(value) else np.array(value, dtype=float)
            check.symbolic = value
            check.derivative = item.get("derivative")
    seconds = outcome.seconds
    if outcome.complete:
        result.symbolic = SymbolicStatus("done", None, seconds)
    elif by_name:
        result.symbolic = SymbolicStatus("partial", outcome.reason, seconds)
    else:
        result.symbolic = SymbolicStatus("skipped", outcome.reason, seconds)


def _has_none(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_none(v) for v in value)
    return value is None


def _settle(result: GradResult, ex: Executor, biggest: float) -> None:
    """Give each variable its status from what the witnesses said."""
    m = ex.m
    kinked = result.kinked
    for check in result.variables:
        g = check.gradient
        if not finite(g):
            check.status = KINK if check.name in kinked else NONFINITE
            origin = _nonfinite_origin(result, result.tape.variables[check.name], m)
            if origin:
                note, undefined = origin
                check.notes.append(note)
                if undefined:
                    check.status = KINK
            continue
        slack = checks.roundoff(result.values, check.value, biggest)
        wrong = []
        if check.forward is not None and not FORWARD_TOL.close(g, check.forward):
            wrong.append("forward")
        if check.symbolic is not None and not SYMBOLIC_TOL.close(g, check.symbolic):
            wrong.append("sympy")
        checked_each = check.forward is not None  # large graphs: checked along one direction instead
        first_failed = check.numeric is None or not NUMERIC_TOL.close(g, check.numeric, slack)
        if result.numeric and checked_each and first_failed:
            # The first step did not agree: walk down a ladder of steps (see checks.step_ladder).
            found = [
                checks.step_ladder(ex, result.inputs, check.name, pos, float(g[pos]) if pos else float(g), biggest)
                for pos in elements(check.value)
            ]
            verdicts = {verdict for _, verdict, _ in found}
            if "disagree" in verdicts or ("unstable" in verdicts and check.name in kinked):
                wrong.append("numeric")  # below a gate at its kink, the convention explains it (≈ convention)
            elif "unstable" in verdicts:
                check.notes.extend(
                    f"numeric check inconclusive: {note}" for note in dict.fromkeys(n for _, v, n in found if n)
                )
            if "unstable" not in verdicts:
                check.numeric = assemble(check.value, [estimate for estimate, _, _ in found])
        check.disagreeing = wrong
        if wrong:
            check.status = KINK if check.name in kinked else DISAGREE
    d = result.directional
    if d is not None and not d["agree"]:
        # Large graph: only the sum along v was checked.  A central difference that differs at a kink is
        # the convention's, for the variables below one; any other failure leaves every gradient in doubt.
        for check in result.variables:
            if check.status != AGREE:
                continue
            if not d["at_kink"]:
                check.status = UNDECIDED
            elif check.name in kinked:
                check.status, check.disagreeing = KINK, ["numeric"]


def _nonfinite_origin(result: GradResult, var: int, m: Any) -> tuple[str, str | None] | None:
    """The gate on variable ``var``'s paths whose backward step first made a gradient inf or nan.

    Returns the note, and the op row's reason when that local gradient is undefined there by
    definition (the exponent's derivative of x^y at x < 0), which is said rather than failed.
    """
    tape, bp = result.tape, result.backprop
    on_path = [False] * len(tape.nodes)  # the gates that depend on `var`, in one forward sweep
    on_path[var] = True
    for i, node in enumerate(tape.nodes):
        if any(on_path[j] for j in node.args):
            on_path[i] = True
    for i in range(tape.output, -1, -1):
        node = tape.nodes[i]
        if node.kind != GATE or not bp.needs[i] or not finite(bp.grads[i]) or not on_path[i]:
            continue
        down = bp.downstream(tape, i)
        if down is None:
            continue
        for j, d in zip(node.args, down, strict=True):
            if bp.needs[j] and not finite(d):
                local = bp.locals[i]
                k = node.args.index(j)
                gate = f"{node.label} = {tape.gate_text(i)}"
                assert node.op is not None
                reason = node.op.undefined(m, [result.values[a] for a in node.args], k) if node.op.undefined else None
                if reason:
                    return f"at gate {gate}: {reason}", reason
                why = f" (its local gradient for {tape.nodes[j].label} is {local[k]})" if local is not None else ""
                return f"the gradient became non-finite at gate {gate}{why}", None
    return None
