"""How the checks are worded: each variable's verdict and the run's, shared by every format."""

from __future__ import annotations

from ..api import AGREE, DISAGREE, KINK, UNDECIDED, GradResult, VariableCheck


def verdict(result: GradResult, v: VariableCheck) -> str:
    """``✓ agree``, ``≈ convention``, ``✗ disagree: forward mode``, ... and on a large graph, where only
    the gradients' sum along a random direction v was checked, ``✓ along v`` or ``? along v``."""
    if v.status == AGREE:
        return "✓ agree" if result.directional is None else "✓ along v"
    if v.status == UNDECIDED:
        return "? along v"
    if v.status == KINK:
        return "≈ convention" + (f" ({', '.join(v.disagreeing)} differ)" if v.disagreeing else "")
    if v.status == DISAGREE:
        return "✗ disagree: " + ", ".join(v.disagreeing)
    return "✗ not finite"


def kink_notes(result: GradResult) -> list[str]:
    """The conventions used at non-differentiable points, one line each, and how many more there are."""
    lines = [f"non-differentiable point at {k.label}: {k.note}" for k in result.kinks]
    if result.kinks_more:
        lines.append(f"and {result.kinks_more:,} more gates at non-differentiable points")
    return lines


def overall(result: GradResult) -> str:
    """The run's verdict, after the output's value."""
    n = len(result.variables)
    if result.ok:
        where = " along a random direction" if result.directional is not None else ""
        return f"✓ all {n} gradient{'s' * (n != 1)} agree{where}"
    bad = [v.name for v in result.variables if v.status not in (AGREE, KINK, UNDECIDED)]
    return f"✗ check failed for {', '.join(bad) or 'the random direction'}"
