"""How the checks are worded: each variable's verdict and the run's, shared by every format."""

from __future__ import annotations

from ..api import AGREE, DISAGREE, KINK, GradResult, VariableCheck


def along_v(result: GradResult) -> bool | None:
    """On a large graph, whether the one check along a random direction v passed; None when each was checked."""
    d = result.directional
    return None if d is None else bool(d["agree"] or (d.get("numeric_only") and result.kinks))


def verdict(result: GradResult, v: VariableCheck) -> str:
    """``✓ agree``, ``≈ convention``, ``✗ disagree: forward mode``, ... and ``✓ along v`` on a large graph,
    where only the gradients' sum along v was checked, not each gradient alone."""
    if v.status == AGREE:
        along = along_v(result)
        return "✓ agree" if along is None else "✓ along v" if along else "? along v"
    if v.status == KINK:
        return "≈ convention" + (f" ({', '.join(v.disagreeing)} differ)" if v.disagreeing else "")
    if v.status == DISAGREE:
        return "✗ disagree: " + ", ".join(v.disagreeing)
    return "✗ not finite"


def overall(result: GradResult) -> str:
    """The run's verdict, after the output's value."""
    n = len(result.variables)
    if result.ok:
        where = " along a random direction" if result.directional is not None else ""
        return f"✓ all {n} gradient{'s' * (n != 1)} agree{where}"
    bad = [v.name for v in result.variables if v.status not in (AGREE, KINK)]
    return f"✗ check failed for {', '.join(bad) or 'the random direction'}"
