"""The backprop pattern of each node, in CS231n's words."""

from __future__ import annotations

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
