"""The library's front door: ``gradient(formula, values)`` and its result.

The command line is a thin layer over this module; everything it prints comes
from a :class:`GradResult`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import checks
from .checks import FORWARD_TOL, NUMERIC_TOL, SYMBOLIC_TOL
from .errors import GradcalcError
from .ops import DEFAULT_TIE, TIE_MODES, ScalarMath
from .parser import Program, parse_program
from .tape import GATE, Backprop, Tape, backward, build, check_forward, choose_math, finite, forward, jvp, sweep_for
from .values import resolve_inputs

if TYPE_CHECKING:
    from .budget import Budgeted

DEFAULT_SYMBOLIC_BUDGET = 5.0
# Gates at non-differentiable points listed one by one (with the variables below
# each); past this they are counted.  Every one still marks its variables.
MAX_KINKS_LISTED = 50

AGREE, DISAGREE, KINK, NONFINITE = "agree", "disagree", "kink", "nonfinite"
# A large graph's variable when the one check along a random direction failed:
# some gradient is wrong, and one direction cannot say which.
UNDECIDED = "undecided"


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


@dataclass
class GradResult:
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


def gradient(
    formula: str | Program,
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
    if tie not in TIE_MODES:
        raise ValueError(f"tie must be one of {TIE_MODES}")
    with paused_gc():
        # The program is a temporary: its postfix code, about a third of the memory of a large
        # formula, is freed before the passes allocate theirs.
        tape = build(formula if isinstance(formula, Program) else parse_program(formula, name), output)
    if fuse:
        from .fuse import fuse as fuse_gates

        tape = fuse_gates(tape)
    inputs, warnings = resolve_inputs(tape, values or {})
    m = choose_math(tape, inputs, tie)
    with _quiet(m):
        vals = forward(tape, inputs, m)
        check_forward(tape, vals, m)
        _require_scalar(tape, vals)
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
                job = checks.start_symbolic(tape, inputs, symbolic_budget)
        try:
            bp = backward(tape, vals, m)
            kinks, kinks_more, kinked = _kinks(tape, vals, bp, m)
            result = GradResult(tape, inputs, vals, bp, [], kinks, warnings, sym_status, numeric, tie, None,
                                kinks_more, kinked)
            biggest = checks.largest(vals, sweep_for(tape, m))  # for the central differences' rounding slack
            _check_variables(result, m, biggest)
        except BaseException:
            if job is not None:
                job.cancel()
            raise
    if job is not None:
        _apply_symbolic(result, job)
    with _quiet(m):
        _settle(result, m, biggest)
    return result


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building trees and tapes.

    Parsing a large formula allocates hundreds of thousands of small acyclic
    objects; each gen-2 collection would walk all of them again (measured:
    parse and build of a 90,000-node formula take half the time without it).
    Reference counting still frees everything; the collector resumes after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _quiet:
    """NumPy answers inf and nan without warnings; the engine reports them itself."""

    def __init__(self, m: Any) -> None:
        self.state: Any = None
        self.scalar = isinstance(m, ScalarMath)

    def __enter__(self) -> None:
        if not self.scalar:
            from .tensor import np

            self.state = np.seterr(all="ignore")

    def __exit__(self, *exc: object) -> None:
        if self.state is not None:
            from .tensor import np

            np.seterr(**self.state)


def _require_scalar(tape: Tape, vals: list[Any]) -> None:
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
        hint="gradients need a scalar output: wrap it in sum(...) or mean(...), "
        "or use 'gradcalc jacobian' for the full Jacobian",
        source=tape.source,
    )


def _kinks(tape: Tape, vals: list[Any], bp: Backprop, m: Any) -> tuple[list[Kink], int, frozenset[str]]:
    """The gates at a non-differentiable point: the first MAX_KINKS_LISTED, how many more, and every variable below one.

    Which variables lie below each kink is one reverse pass, whatever the
    number of kinks: each node carries a bit per listed kink it feeds, and one
    more bit for all the others (a walk per kink was quadratic: 20,000 nested
    relu at 0 took 19 s).
    """
    nodes = tape.nodes
    found: list[tuple[int, str]] = []
    sweep = sweep_for(tape, m)  # a large scalar tape: only the gates it finds at a kink are asked
    candidates = sweep.kink_candidates(vals, bp.needs) if sweep is not None else range(len(nodes))
    for i in candidates:
        node = nodes[i]
        if node.kind != GATE or not bp.needs[i] or node.op is None or node.op.kink is None:
            continue
        note = node.op.kink(m, [vals[j] for j in node.args], vals[i])
        if note:
            found.append((i, note))
    if not found:
        return [], 0, frozenset()
    listed = found[:MAX_KINKS_LISTED]
    feeds = [0] * (found[-1][0] + 1)  # bit k: the node lies below listed kink k; the top bit: below another
    for k, (i, _) in enumerate(listed):
        feeds[i] = 1 << k
    rest = 1 << len(listed)
    for i, _ in found[MAX_KINKS_LISTED:]:
        feeds[i] = rest
    for i in range(len(feeds) - 1, -1, -1):
        bits = feeds[i]
        if bits:
            for j in nodes[i].args:
                feeds[j] |= bits
    below = [(name, feeds[j]) for name, j in tape.variables.items() if j < len(feeds) and feeds[j]]
    kinks = [
        Kink(i, nodes[i].label, note, [name for name, bits in below if bits >> k & 1])
        for k, (i, note) in enumerate(listed)
    ]
    return kinks, len(found) - len(listed), frozenset(name for name, _ in below)


def _elements(value: Any) -> list[tuple[int, ...]]:
    """The positions of a variable's elements: [()] for a number."""
    if isinstance(value, float):
        return [()]
    from .tensor import np

    return [tuple(int(k) for k in ix) for ix in np.ndindex(np.shape(value))]


def _unit(value: Any, pos: tuple[int, ...], amount: float = 1.0) -> Any:
    if not pos:
        return amount
    from .tensor import np

    e = np.zeros(np.shape(value))
    e[pos] = amount
    return e


def _assemble(value: Any, parts: list[Any]) -> Any:
    if isinstance(value, float):
        return parts[0]
    if any(p is None for p in parts):
        return None
    from .tensor import np

    return np.array(parts, dtype=float).reshape(np.shape(value))


def _check_variables(result: GradResult, m: Any, biggest: float) -> None:
    tape, vals, bp = result.tape, result.values, result.backprop
    sizes = {name: len(_elements(result.inputs[name])) for name in tape.variables}
    per_variable = sum(sizes.values()) * len(tape.nodes) <= checks.PER_VARIABLE_LIMIT
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
            for pos in _elements(value):
                forward_parts.append(_scalar(jvp(tape, vals, {i: _unit(value, pos)}, m)[tape.output]))
                if result.numeric:
                    numeric_parts.append(checks.central_difference(tape, result.inputs, name, pos, m))
            check.forward = _assemble(value, forward_parts)
            if result.numeric:
                check.numeric = _assemble(value, numeric_parts)
        result.variables.append(check)
    if not per_variable and tape.variables:
        d = checks.directional(tape, result.inputs, vals, bp, m, result.numeric, biggest=biggest)
        # Only the central difference disagreeing, at a point with kinks: the convention, not a failure.
        d["at_kink"] = not d["agree"] and bool(result.kinks) and FORWARD_TOL.close(d["reverse"], d["forward"])
        if d["at_kink"]:
            d["numeric_note"] = "the central difference differs where gates sit at non-differentiable points"
        result.directional = d


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


def _settle(result: GradResult, m: Any, biggest: float) -> None:
    """Give each variable its status from what the witnesses said."""
    kinked = result.kinked
    for check in result.variables:
        g = check.gradient
        if not finite(g):
            check.status = KINK if check.name in kinked else NONFINITE
            origin = _nonfinite_origin(result, result.tape.variables[check.name])
            if origin:
                check.notes.append(origin)
            continue
        slack = checks.roundoff(result.values, check.value, biggest)
        wrong = []
        if check.forward is not None and not FORWARD_TOL.close(g, check.forward):
            wrong.append("forward")
        if check.symbolic is not None and not SYMBOLIC_TOL.close(g, check.symbolic):
            wrong.append("sympy")
        if check.numeric is not None and not NUMERIC_TOL.close(g, check.numeric, slack):
            fine = _assemble(check.value, [
                checks.central_difference(result.tape, result.inputs, check.name, pos, m, shrink=8.0)
                for pos in _elements(check.value)
            ])
            verdict, note = checks.judge_numeric(g, check.numeric, fine, slack)
            if verdict == "agree":
                check.numeric = fine
            elif verdict == "unstable":
                check.notes.append(f"numeric check inconclusive: {note}")
            else:
                wrong.append("numeric")
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


def _nonfinite_origin(result: GradResult, var: int) -> str | None:
    """The gate on variable ``var``'s paths whose backward step first made a gradient inf or nan."""
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
                why = f" (its local gradient for {tape.nodes[j].label} is {local[k]})" if local is not None else ""
                return f"the gradient became non-finite at gate {node.label} = {tape.gate_text(i)}{why}"
    return None
