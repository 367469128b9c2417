"""How numbers look in tables and in JSON."""

from __future__ import annotations

import math
from typing import Any

DEFAULT_DIGITS = 6


def _is_array(x: Any) -> bool:
    return type(x).__name__ == "ndarray" and getattr(x, "ndim", 0) > 0


def fmt(x: Any, digits: int = DEFAULT_DIGITS) -> str:
    """A number for a table: integers plainly, others to ``digits`` significant digits.

    Vectors and matrices print as nested lists of such numbers, e.g. ``[0.22, 0.26]``.
    """
    if x is None:
        return "—"
    if isinstance(x, str):  # a formula (a run without values): as it is
        return x
    if _is_array(x):
        if x.size > 64:
            head = ", ".join(fmt(v, digits) for v in x.ravel()[:6])
            return f"[{head}, … ({'×'.join(map(str, x.shape))})]"
        if x.ndim == 1:
            return "[" + ", ".join(fmt(v, digits) for v in x) + "]"
        return "[" + ", ".join(fmt(row, digits) for row in x) + "]"
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    text = f"{x:.{digits}g}"
    return "0" if text in ("-0", "0") else text


def num(x: Any) -> Any:
    """A number for strict JSON: floats as they are, inf and nan as null; arrays as nested lists."""
    if x is None or isinstance(x, str):  # a formula (a run without values) stays text
        return x
    if _is_array(x):
        return [num(v) for v in x]
    x = float(x)
    return x if math.isfinite(x) else None


def status_of(x: Any) -> str:
    """'ok', 'inf', '-inf' or 'nan': what a null in JSON stands for."""
    if _is_array(x):
        worst = [status_of(v) for v in x.ravel()]
        return next((w for w in worst if w != "ok"), "ok")
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "ok"
