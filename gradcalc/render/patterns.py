"""The backprop pattern of each node, in CS231n's words."""

from __future__ import annotations

from ..i18n import msg, tr
from ..tape import CONST, GATE, VAR, Tape


def fanout(tape: Tape) -> list[int]:
    """How many gate inputs each node feeds (a value used twice counts twice)."""
    uses = [0] * len(tape.nodes)
    for node in tape.nodes:
        for j in node.args:
            uses[j] += 1
    return uses


def pattern(tape: Tape, i: int, uses: list[int]) -> str:
    node = tape.nodes[i]
    parts = []
    if node.kind == GATE and node.op is not None:
        parts.append(node.op.pattern)
    elif node.kind == VAR:
        parts.append("input")
    elif node.kind == CONST:
        parts.append("constant")
    if uses[i] > 1 and node.kind != CONST:
        parts.append(f"used {uses[i]}×: gradients sum")
    return "; ".join(parts)


def tr_pattern(text: str) -> str:
    """A pattern (``add distributes; used 2×: gradients sum``) in the user's language, part by part."""
    parts = []
    for part in text.split("; "):
        if part.startswith("used ") and part.endswith("×: gradients sum"):
            parts.append(tr(msg("used {n}×: gradients sum", n=part[5:-len("×: gradients sum")])))
        else:
            parts.append(tr(part))
    return "; ".join(parts)
