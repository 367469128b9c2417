"""The SymPy cross-check.

SymPy objects are built from our own tape, node by node — never by handing
text to ``sympify``/``parse_expr`` — with symbols made from validated names.
Numeric powers stay in floats, so no exact giant integer is ever attempted.
The check runs in a child process (see :mod:`gradcalc.budget`) with a time and
memory budget, started before the forward pass so that importing SymPy
(about 0.3 s) overlaps our own work on the other core.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from .tape import CONST, GATE, VAR, Tape

# Past these sizes the symbolic check is skipped outright: SymPy's derivative
# of a large graph costs far more than the budget allows.
MAX_SYMBOLIC_NODES = 5_000
DERIVATIVE_TEXT_LIMIT = 2_000


def to_sympy(tape: Tape) -> tuple[Any, dict[str, Any]]:
    """The output as a SymPy expression, and the symbol of each variable."""
    import sympy as sp

    symbols = {name: sp.Symbol(name, real=True) for name in tape.variables}
    exprs: list[Any] = [None] * len(tape.nodes)
    used = tape.reachable()
    for i, node in enumerate(tape.nodes):
        if not used[i]:
            continue
        if node.kind == VAR:
            exprs[i] = symbols[node.label]
        elif node.kind == CONST:
            exprs[i] = _number(sp, node.label, node.const)
        else:
            assert node.kind == GATE and node.op is not None
            exprs[i] = node.op.sym(sp, *[exprs[j] for j in node.args])
    return exprs[tape.output], symbols


def _number(sp: Any, text: str, value: float) -> Any:
    """Literals written as short decimals become exact rationals; others floats."""
    if text in ("pi", "e"):
        return sp.pi if text == "pi" else sp.E
    if len(text) <= 24 and "e" not in text.lower():
        frac = Fraction(text)  # text matched the tokenizer's number pattern
        return sp.Integer(frac.numerator) if frac.denominator == 1 else sp.Rational(frac.numerator, frac.denominator)
    return sp.Float(value)


def derivatives(
    tape: Tape, point: Mapping[str, float], emit: Callable[[dict[str, Any]], None]
) -> None:
    """Differentiate the output by each variable, evaluate at ``point``, emit each result."""
    import sympy as sp

    expr, symbols = to_sympy(tape)
    subs = {symbols[name]: sp.Float(point[name], 30) for name in symbols}
    for name, sym in symbols.items():
        d = sp.diff(expr, sym)
        text = str(d)
        if len(text) > DERIVATIVE_TEXT_LIMIT:
            text = text[:DERIVATIVE_TEXT_LIMIT] + "…"
        value = _evaluate(sp, d, subs)
        emit({"name": name, "derivative": text, "value": value})


def _evaluate(sp: Any, d: Any, subs: Mapping[Any, Any]) -> float | None:
    try:
        v = d.xreplace(subs).evalf(30)
        if v.is_real is False or not v.is_number:
            return None
        f = float(v)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return f if math.isfinite(f) else None
