"""``--brief``: the value and the gradients, one per line, without loading rich."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .numbers import DEFAULT_DIGITS, fmt

if TYPE_CHECKING:
    from ..api import GradResult


def brief_report(result: GradResult, digits: int = DEFAULT_DIGITS) -> str:
    out = result.output_label
    lines = [f"{out} = {fmt(result.value, digits)}"]
    lines += [f"∂{out}/∂{v.name} = {fmt(v.gradient, digits)}" for v in result.variables]
    return "\n".join(lines)
