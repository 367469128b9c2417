"""Cross-checks of the reverse-mode gradient, and the tolerances they use.

Three independent witnesses check each gradient that backprop computes:

* forward mode — tangents pushed through the tape in evaluation order;
* SymPy — the symbolic derivative of an expression built from our tape;
* a central difference — (f(x+h) − f(x−h)) / 2h, the textbooks' check.

At a non-differentiable point (relu or abs at 0, a max tie, sqrt at 0, 0^y)
the conventions of :mod:`gradcalc.ops` decide the gradient, and a witness that
disagrees there marks the point instead of failing the check.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .passes import Backprop, Executor, jvp, output_value
from .tape import Tape

if TYPE_CHECKING:
    from .budget import Budgeted, Emit

EPS = 2.0**-52


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Two numbers agree when |a − b| ≤ atol + rtol·max(|a|, |b|), or when they are the same infinity."""

    rtol: float
    atol: float

    def close(self, a: Any, b: Any, atol_extra: float = 0.0) -> bool:
        if isinstance(a, float | int) and isinstance(b, float | int):
            return a == b or abs(a - b) <= self.atol + atol_extra + self.rtol * max(abs(a), abs(b))
        from .tensor import np

        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.shape != b.shape:
            return False
        with np.errstate(invalid="ignore"):
            near = np.abs(a - b) <= self.atol + atol_extra + self.rtol * np.maximum(np.abs(a), np.abs(b))
        return bool(np.all(near | (a == b)))


FORWARD_TOL = Tolerance(rtol=1e-9, atol=1e-12)
SYMBOLIC_TOL = Tolerance(rtol=1e-8, atol=1e-10)
# A central difference with step h = ∛ε·max(1, |x|) is good to about 1e-10
# relative; rounding in values of size S adds about ε·S/h, which is added to atol.
NUMERIC_TOL = Tolerance(rtol=1e-5, atol=1e-7)

# Past this many node-visits (variables × nodes) the per-variable checks give
# way to one check along a random direction, as PyTorch's gradcheck fast mode.
PER_VARIABLE_LIMIT = 200_000


def step(x: float) -> float:
    return EPS ** (1 / 3) * max(1.0, abs(x))


def _magnitude(x: Any) -> float:
    if isinstance(x, float | int):
        return abs(float(x))
    from .tensor import np

    return float(np.max(np.abs(x))) if np.size(x) else 0.0


def moved(inputs: Mapping[str, Any], name: str, pos: tuple[int, ...], new: float) -> dict[str, Any]:
    """The inputs with element ``pos`` of variable ``name`` (the variable itself when ``pos`` is ()) set to ``new``."""
    out = dict(inputs)
    if pos:
        arr = inputs[name].copy()
        arr[pos] = new
        out[name] = arr
    else:
        out[name] = new
    return out


def central_difference(
    tape: Tape, inputs: Mapping[str, Any], name: str, pos: tuple[int, ...], m: Any, shrink: float = 1.0
) -> float | None:
    """∂output/∂(element ``pos`` of variable ``name``) by a central difference.

    ``shrink`` divides the step: an estimate that changes when the step is
    8× smaller has a kink (relu, abs, max) within the step and proves nothing.
    """
    value = inputs[name]
    x = float(value[pos]) if pos else float(value)
    h = step(x) / shrink
    h = (x + h) - x  # a step that is exact in floating point
    results = []
    for sign in (1.0, -1.0):
        try:
            results.append(float(output_value(tape, moved(inputs, name, pos, x + sign * h), m)))
        except Exception:  # a moved point outside the domain or the shapes: no estimate
            return None
    value_ = (results[0] - results[1]) / (2 * h)
    return value_ if math.isfinite(value_) else None


# The numeric check's ladder: at most this many steps on each scale, each 8 times smaller than the one
# before, down to a few units in the last place of x.
LADDER_RUNGS = 24


def step_ladder(
    ex: Executor, inputs: Mapping[str, Any], name: str, pos: tuple[int, ...], reverse: float, biggest: float
) -> tuple[float | None, str, str | None]:
    """Decide a central difference that disagreed at the first step, by trying smaller ones.

    Steps go down by 8× from ∛ε·max(1, |x|), and then, for |x| < 1, from
    ∛ε·|x| (the scale of 1/x at 1e-6, or of sqrt near 0).  Two successive
    estimates that agree with backprop (within the rounding slack of their
    steps, where that slack is small beside the gradient): "agree".  Two that
    agree with each other to the tolerance, without any slack, but not with
    backprop, at steps local enough to judge (the
    claimed slope times the step moves f by no more than f's own size, so
    sin(x) at x = 1e15 is not judged with a step of 1e9): "disagree".  A step across which a gate
    changes piece (relu's sign, max's winner: the rows' ``branch``) proves
    nothing and is skipped; if no two steps settle it, "unstable" with why.
    Returns (the estimate, verdict, note).
    """
    value = inputs[name]
    x = float(value[pos]) if pos else float(value)
    crossed: str | None = None
    left_domain = False
    scales = [max(1.0, abs(x))] + ([abs(x)] if 0 < abs(x) < 1 else [])
    last: float | None = None
    for scale in scales:
        previous: tuple[float, float, bool] | None = None
        h = EPS ** (1 / 3) * scale
        for _ in range(LADDER_RUNGS):
            exact = (x + h) - x  # a step that is exact in floating point
            if exact <= 4 * math.ulp(x) or exact <= 0:
                break
            h /= 8
            estimate, gate, size = _estimate(ex, inputs, name, pos, x, exact)
            if gate is not None:
                crossed = crossed or gate
                previous = None
                continue
            if estimate is None:
                left_domain = True
                previous = None
                continue
            last = estimate
            slack = 16 * EPS * biggest / exact
            local = abs(reverse) * exact <= 2 * size
            if previous is not None:
                before, before_slack, before_local = previous
                if _agrees(reverse, estimate, slack) and _agrees(reverse, before, before_slack):
                    return estimate, "agree", None
                if local and before_local and NUMERIC_TOL.close(before, estimate) and not NUMERIC_TOL.close(
                    reverse, estimate, slack
                ):
                    return estimate, "disagree", None  # converged, to something else: rounding cannot explain it
            previous = (estimate, slack, local)
    if crossed is not None:
        return last, "unstable", f"the smallest step still crosses the kink of gate {crossed}"
    if last is None and left_domain:
        return None, "unstable", "every step leaves the formula's domain"
    return last, "unstable", "the step is too large for this point: the central difference changes with every step"


def _agrees(reverse: float, estimate: float, slack: float) -> bool:
    """Agreement within the tolerance, or within the rounding slack when that slack is small beside the gradient."""
    if NUMERIC_TOL.close(reverse, estimate):
        return True
    return slack <= 0.01 * abs(reverse) + NUMERIC_TOL.atol and NUMERIC_TOL.close(reverse, estimate, slack)


def _estimate(
    ex: Executor, inputs: Mapping[str, Any], name: str, pos: tuple[int, ...], x: float, h: float
) -> tuple[float | None, str | None, float]:
    """(f(x+h) − f(x−h)) / 2h, the first gate (as text) that is on another piece at x+h than at x−h,
    and the size of f at the two ends."""
    tape = ex.tape
    ends = []
    for sign in (1.0, -1.0):
        try:
            ends.append(ex.forward(moved(inputs, name, pos, x + sign * h)))
        except Exception:  # a moved point outside the domain or the shapes: no estimate
            return None, None, 0.0
    gate = _crossed_kink(tape, ex.m, ends[0], ends[1])
    up, down = float(ends[0][tape.output]), float(ends[1][tape.output])
    d = (up - down) / (2 * h)
    return (d if math.isfinite(d) else None), gate, max(abs(up), abs(down))


def _crossed_kink(tape: Tape, m: Any, up: list[Any], down: list[Any]) -> str | None:
    for i, node in enumerate(tape.nodes):
        op = node.op
        if op is None or op.branch is None:
            continue
        a = op.branch(m, [up[j] for j in node.args])
        b = op.branch(m, [down[j] for j in node.args])
        if not _same(a, b):
            return f"{node.label} = {tape.gate_text(i)}"
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return all(_same(p, q) for p, q in zip(a, b, strict=True))
    if isinstance(a, float | int) and isinstance(b, float | int):
        return a == b
    from .tensor import np

    return bool(np.array_equal(a, b))


def roundoff(vals: list[Any], x: Any, biggest: float | None = None) -> float:
    """How much rounding in the forward values can move a central difference.

    ``biggest`` is the largest magnitude among the forward values; pass it
    when calling for many variables so the values are scanned once.
    """
    if biggest is None:
        biggest = largest(vals)
    return 16 * EPS * biggest / step(_magnitude(x))


def largest(vals: list[Any], ex: Executor | None = None) -> float:
    """The largest magnitude among the forward values (1 when none is finite).

    ``ex``: the tape's executor, whose array of these values (the sweep keeps
    one) answers without a walk over the list.
    """
    array = ex.values_array(vals) if ex is not None else None
    if array is not None:
        big = float(abs(array).max()) if array.size else 1.0
    elif set(map(type, vals)) <= {float}:
        big = max(map(abs, vals), default=1.0)
    else:
        big = max((_magnitude(v) for v in vals), default=1.0)
    return big if math.isfinite(big) else 1.0


def prepare_symbolic() -> None:
    """Fork the SymPy check's child now, before the run's own work, for :func:`start_symbolic` to take.

    The child imports SymPy at once, so the import (about 0.3 s) overlaps parsing,
    the passes and the other checks; it is sent the tape as data when the check
    starts.  For a one-shot process that will check one formula: the command line
    calls it first thing.
    """
    from .budget import Budgeted, keep_spare
    from .symbolic import job_derivatives, load

    job = Budgeted.ahead(load, job_derivatives)
    if job is not None:
        keep_spare(job)


def start_symbolic(tape: Tape, point: Mapping[str, float], seconds: float) -> Budgeted:
    """Begin the SymPy check in a child process (the one :func:`prepare_symbolic` forked, if any); ``collect()`` it
    later."""
    point = dict(point)

    from .budget import Budgeted, take_spare  # the child process and its pipe: only for the SymPy check

    spare = take_spare()
    if spare is not None:
        from .symbolic import tape_job

        spare.send(tape_job(tape, point), seconds)
        return spare

    def work(emit: Emit) -> None:
        from .symbolic import derivatives

        derivatives(tape, point, emit)

    return Budgeted(work, seconds)


def directional(
    tape: Tape, inputs: Mapping[str, Any], vals: list[Any], bp: Backprop, m: Any, numeric: bool, seed: int = 0,
    biggest: float | None = None, ex: Executor | None = None,
) -> dict[str, Any]:
    """One check along a random direction v, as PyTorch's gradcheck fast mode:
    reverse ∇f·v against forward-mode JVP, and a central difference along v."""
    rng = random.Random(seed)
    direction: dict[str, Any] = {}
    for name, value in inputs.items():
        if isinstance(value, float):
            direction[name] = rng.choice((-1.0, 1.0)) * (0.5 + rng.random())
        else:
            from .tensor import np

            direction[name] = np.array([rng.uniform(-1.5, 1.5) for _ in range(np.size(value))]).reshape(
                np.shape(value)
            )
    reverse = 0.0
    for name, i in tape.variables.items():
        reverse += _dot(bp.grads[i], direction[name])
    tangents = {i: direction[name] for name, i in tape.variables.items()}
    fwd = float((ex.jvp(vals, tangents) if ex is not None else jvp(tape, vals, tangents, m))[tape.output])
    agree = FORWARD_TOL.close(reverse, fwd)
    out: dict[str, Any] = {"reverse": reverse, "forward": fwd, "numeric": None, "numeric_note": None}
    if numeric:
        scale = max((_magnitude(v) for v in inputs.values()), default=1.0)
        slack = roundoff(vals, scale, biggest) * 4

        def along(shrink: float) -> float | None:
            h = step(scale) / shrink
            results = []
            for sign in (1.0, -1.0):
                moved = {n: inputs[n] + sign * h * direction[n] for n in inputs}
                try:
                    results.append(float(output_value(tape, moved, m)))
                except Exception:
                    return None
            d = (results[0] - results[1]) / (2 * h)
            return d if math.isfinite(d) else None

        coarse = along(1.0)
        out["numeric"] = coarse
        if coarse is not None and not NUMERIC_TOL.close(reverse, coarse, slack):
            fine = along(8.0)
            verdict, note = judge_numeric(reverse, coarse, fine, slack)
            out["numeric"] = fine if verdict == "agree" else coarse
            out["numeric_note"] = note
            agree = agree and verdict != "disagree"
    out["agree"] = agree
    out["direction"] = {n: (d if isinstance(d, float) else d.tolist()) for n, d in direction.items()}
    return out


def _dot(g: Any, v: Any) -> float:
    if isinstance(g, float | int) and isinstance(v, float | int):
        return float(g) * float(v)
    from .tensor import np

    return float(np.sum(np.asarray(g) * np.asarray(v)))


def judge_numeric(reverse: Any, coarse: Any, fine: Any, slack: float) -> tuple[str, str | None]:
    """Decide a central difference that disagreed at step h, given another at h/8.

    Returns ("agree", None) when the finer estimate agrees; ("unstable", note)
    when the two estimates disagree with each other — a kink lies within the
    step, so the estimate proves nothing; else ("disagree", None).
    """
    if fine is None:
        return "unstable", "the smaller step left the formula's domain"
    if NUMERIC_TOL.close(reverse, fine, slack * 8):
        return "agree", None
    if not NUMERIC_TOL.close(coarse, fine, slack * 8):
        return "unstable", "the central difference changes with the step"
    return "disagree", None
