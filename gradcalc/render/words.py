"""How the checks are worded: each variable's verdict and the run's, shared by every format."""

from __future__ import annotations

from ..api import AGREE, DISAGREE, KINK, UNDECIDED, GradResult, VariableCheck
from ..i18n import msg, ntr, tr


def verdict(result: GradResult, v: VariableCheck) -> str:
    """``✓ agree``, ``≈ convention``, ``✗ disagree: forward mode``, ... and on a large graph, where only
    the gradients' sum along a random direction v was checked, ``✓ along v`` or ``? along v``."""
    if v.status == AGREE:
        return tr("✓ agree") if result.directional is None else tr("✓ along v")
    if v.status == UNDECIDED:
        return tr("? along v")
    if v.status == KINK:
        differ = tr(msg(" ({which} differ)", which=", ".join(v.disagreeing))) if v.disagreeing else ""
        return tr("≈ convention") + differ
    if v.status == DISAGREE:
        return tr("✗ disagree: ") + ", ".join(v.disagreeing)
    return tr("✗ not finite")


def kink_notes(result: GradResult) -> list[str]:
    """The conventions used at non-differentiable points, one line each, and how many more there are."""
    lines = [tr(msg("non-differentiable point at {label}: {note}", label=k.label, note=tr(k.note)))
             for k in result.kinks]
    if result.kinks_more:
        lines.append(tr(msg("and {n} more gates at non-differentiable points", n=f"{result.kinks_more:,}")))
    return lines


def overall(result: GradResult) -> str:
    """The run's verdict, after the output's value."""
    n = len(result.variables)
    if result.ok:
        where = tr(" along a random direction") if result.directional is not None else ""
        return ntr("✓ all {n} gradient agree{where}", "✓ all {n} gradients agree{where}", n).format(n=n, where=where)
    bad = [v.name for v in result.variables if v.status not in (AGREE, KINK, UNDECIDED)]
    return tr(msg("✗ check failed for {names}", names=", ".join(bad) or tr("the random direction")))

