"""How numbers look in tables and in JSON."""

from __future__ import annotations

import math
from typing import Any

DEFAULT_DIGITS = 6


def fmt(x: Any, digits: int = DEFAULT_DIGITS) -> str:
    """A number for a table: integers plainly, others to ``digits`` significant digits."""
    if x is None:
        return "—"
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    text = f"{x:.{digits}g}"
    return "0" if text in ("-0", "0") else text


def num(x: Any) -> float | None:
    """A number for strict JSON: floats as they are, inf and nan as null."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def status_of(x: Any) -> str:
    """'ok', 'inf', '-inf' or 'nan': what a null in JSON stands for."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "ok"
