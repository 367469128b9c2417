"""One step of gradient descent, v ← v − lr·∂out/∂v, from a computed result (``gradcalc grad --lr``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import GradcalcError, suggest

if TYPE_CHECKING:
    from .api import GradResult


@dataclass
class Step:
    """v ← v − lr·∂out/∂v for the chosen variables."""

    lr: float
    names: list[str]
    old: dict[str, Any]
    gradients: dict[str, Any]
    updated: dict[str, Any]


def check_learning_rate(lr: float) -> None:
    """The one rule for --lr, in ``grad`` and ``descend`` alike: a positive finite number."""
    if not (lr > 0 and math.isfinite(lr)):
        raise GradcalcError(f"the learning rate must be a positive number, not {lr:g}", kind="usage",
                            hint="e.g. --lr 0.1; descent steps against the gradient by lr times it")


def descent_step(result: GradResult, lr: float, params: Sequence[str] | None = None) -> Step:
    """One step of gradient descent with learning rate ``lr``, for ``params`` (default: every variable)."""
    check_learning_rate(lr)
    grads = result.gradients
    names = list(grads) if not params else list(dict.fromkeys(params))
    for name in names:
        if name not in grads:
            raise GradcalcError(
                f"--params names {name!r}, which is not a variable of the formula",
                kind="usage",
                hint=suggest(name, list(grads), "the variables are"),
            )
    old = {n: result.inputs[n] for n in names}
    g = {n: grads[n] for n in names}
    return Step(lr, names, old, g, {n: old[n] - lr * g[n] for n in names})

