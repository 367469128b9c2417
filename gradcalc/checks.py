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
from typing import Any

from .budget import Budgeted, Emit
from .ops import ScalarMath
from .tape import Backprop, Tape, forward, jvp

EPS = 2.0**-52


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Two numbers agree when |a − b| ≤ atol + rtol·max(|a|, |b|)."""

    rtol: float
    atol: float

    def close(self, a: float, b: float, atol_extra: float = 0.0) -> bool:
        return abs(a - b) <= self.atol + atol_extra + self.rtol * max(abs(a), abs(b))


FORWARD_TOL = Tolerance(rtol=1e-9, atol=1e-12)
SYMBOLIC_TOL = Tolerance(rtol=1e-8, atol=1e-10)
# A central difference with step h = ∛ε·max(1, |x|) is good to about 1e-10
# relative; rounding in values of size S adds about ε·S/h, which is added to atol.
NUMERIC_TOL = Tolerance(rtol=1e-5, atol=1e-7)

# Past this many node-visits (variables × nodes) the per-variable checks give
# way to one check along a random direction, as PyTorch's gradcheck fast mode.
PER_VARIABLE_LIMIT = 2_000_000


def step(x: float) -> float:
    return EPS ** (1 / 3) * max(1.0, abs(x))


def central_difference(
    tape: Tape, inputs: Mapping[str, float], direction: Mapping[str, float], m: ScalarMath
) -> float | None:
    """The derivative of the output along ``direction`` by a central difference."""
    scale = max(abs(inputs[name]) for name in direction) if direction else 1.0
    h = step(scale)
    plus = dict(inputs)
    minus = dict(inputs)
    for name, d in direction.items():
        plus[name] = inputs[name] + h * d
        minus[name] = inputs[name] - h * d
    try:
        f_plus = forward(tape, plus, m)[tape.output]
        f_minus = forward(tape, minus, m)[tape.output]
    except (ArithmeticError, ValueError):
        return None
    value = (f_plus - f_minus) / (2 * h)
    return value if math.isfinite(value) else None


def roundoff(vals: list[float], x: float) -> float:
    """How much rounding in the forward values can move a central difference."""
    biggest = max((abs(v) for v in vals if math.isfinite(v)), default=1.0)
    return 16 * EPS * biggest / step(x)


def start_symbolic(tape: Tape, point: Mapping[str, float], seconds: float) -> Budgeted:
    """Begin the SymPy check in a child process; ``collect()`` it later."""
    point = dict(point)

    def work(emit: Emit) -> None:
        from .symbolic import derivatives

        derivatives(tape, point, emit)

    return Budgeted(work, seconds)


def directional(tape: Tape, vals: list[float], bp: Backprop, seed: int = 0) -> dict[str, Any]:
    """One check along a random direction v: reverse ∇f·v vs forward-mode JVP."""
    rng = random.Random(seed)
    direction = {name: rng.choice((-1.0, 1.0)) * (0.5 + rng.random()) for name in tape.variables}
    reverse = sum(bp.grads[i] * direction[name] for name, i in tape.variables.items())
    tangents = {i: direction[name] for name, i in tape.variables.items()}
    fwd = jvp(tape, vals, tangents)[tape.output]
    return {"direction": direction, "reverse": reverse, "forward": fwd}
