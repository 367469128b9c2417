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


def to_sympy(tape: Tape, point: Mapping[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    """The output as a SymPy expression, and the symbol(s) of each variable.

    A vector or matrix variable (by its value in ``point``) becomes an object
    array of scalar symbols named like ``W[0, 1]``, so every tensor gate expands
    to scalar SymPy expressions.
    """
    import sympy as sp

    point = point or {}
    symbols: dict[str, Any] = {}
    for name in tape.variables:
        value = point.get(name, 0.0)
        if isinstance(value, float | int):
            symbols[name] = sp.Symbol(name, real=True)
        else:
            import numpy as np

            arr = np.empty(np.shape(value), dtype=object)
            for pos in np.ndindex(arr.shape):
                arr[pos] = sp.Symbol(f"{name}[{', '.join(map(str, pos))}]", real=True)
            symbols[name] = arr
    exprs: list[Any] = [None] * len(tape.nodes)
    used = tape.reachable()
    for i, node in enumerate(tape.nodes):
        if not used[i]:
            continue
        if node.kind == VAR:
            exprs[i] = symbols[node.label]
        elif node.kind == CONST:
            exprs[i] = _constant(sp, node.label, node.const)
        else:
            assert node.kind == GATE and node.op is not None
            exprs[i] = node.op.sym(sp, *[exprs[j] for j in node.args])
    return exprs[tape.output], symbols


def _constant(sp: Any, text: str, value: Any) -> Any:
    if isinstance(value, float):
        return _number(sp, text, value)
    import numpy as np

    arr = np.empty(np.shape(value), dtype=object)
    for pos in np.ndindex(arr.shape):
        arr[pos] = sp.Float(float(value[pos]))
    return arr


def _number(sp: Any, text: str, value: float) -> Any:
    """Literals written as short decimals become exact rationals; others floats."""
    if text in ("pi", "e"):
        return sp.pi if text == "pi" else sp.E
    if len(text) <= 24 and "e" not in text.lower():
        frac = Fraction(text)  # text matched the tokenizer's number pattern
        return sp.Integer(frac.numerator) if frac.denominator == 1 else sp.Rational(frac.numerator, frac.denominator)
    return sp.Float(value)


def derivatives(tape: Tape, point: Mapping[str, Any], emit: Callable[[dict[str, Any]], None]) -> None:
    """Differentiate the output by each variable, evaluate at ``point``, emit each result.

    For a vector or matrix variable, ``derivative`` and ``value`` are nested
    lists with one entry per element.
    """
    import sympy as sp

    expr, symbols = to_sympy(tape, point)
    if type(expr).__name__ == "ndarray":
        expr = expr.item() if expr.size == 1 else expr
    subs: dict[Any, Any] = {}
    for name, sym in symbols.items():
        if isinstance(sym, sp.Symbol):
            subs[sym] = sp.Float(float(point[name]), 30)
        else:
            for pos in _positions(sym):
                subs[sym[pos]] = sp.Float(float(point[name][pos]), 30)
    for name, sym in symbols.items():
        if isinstance(sym, sp.Symbol):
            d = sp.diff(expr, sym)
            emit({"name": name, "derivative": _text(d), "value": _evaluate(sp, d, subs)})
            continue
        texts = _empty_like(sym)
        values = _empty_like(sym)
        for pos in _positions(sym):
            d = sp.diff(expr, sym[pos])
            _put(texts, pos, _text(d))
            _put(values, pos, _evaluate(sp, d, subs))
        emit({"name": name, "derivative": texts, "value": values})


def _text(d: Any) -> str:
    text = str(d)
    return text if len(text) <= DERIVATIVE_TEXT_LIMIT else text[:DERIVATIVE_TEXT_LIMIT] + "…"


def _positions(arr: Any) -> list[tuple[int, ...]]:
    import numpy as np

    return [tuple(int(k) for k in pos) for pos in np.ndindex(arr.shape)]


def _empty_like(arr: Any) -> Any:
    if arr.ndim == 1:
        return [None] * arr.shape[0]
    return [[None] * arr.shape[1] for _ in range(arr.shape[0])]


def _put(nested: Any, pos: tuple[int, ...], value: Any) -> None:
    if len(pos) == 1:
        nested[pos[0]] = value
    else:
        nested[pos[0]][pos[1]] = value


def _evaluate(sp: Any, d: Any, subs: Mapping[Any, Any]) -> float | None:
    try:
        v = d.xreplace(subs).evalf(30)
        if v.is_real is False or not v.is_number:
            return None
        f = float(v)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def element_symbols(symbols: Mapping[str, Any], point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[Any, Any]]:
    """Each element's symbol by its label (``x``, ``v[0]``, ``W[0, 1]``: the names :func:`to_sympy` gives them),
    and the substitution of the point's values for them."""
    import sympy as sp

    flat: dict[str, Any] = {}
    subs: dict[Any, Any] = {}
    for name, sym in symbols.items():
        if isinstance(sym, sp.Symbol):
            flat[name] = sym
            subs[sym] = sp.Float(float(point[name]), 30)
            continue
        for pos in _positions(sym):
            flat[str(sym[pos])] = sym[pos]
            subs[sym[pos]] = sp.Float(float(point[name][pos]), 30)
    return flat, subs


def _scalar_expr(expr: Any) -> Any:
    return expr.item() if type(expr).__name__ == "ndarray" and expr.size == 1 else expr


def second_derivatives(tape: Tape, point: Mapping[str, Any], names: list[str], emit: Callable[[dict[str, Any]], None],
                       order: int = 2) -> None:
    """SymPy's second derivatives ∂²f/∂a∂b for each pair of ``names`` (or, with one name and ``order``,
    the derivatives of every order up to it), evaluated at ``point``, emitted one by one.

    A name is a variable's, or an element's label: ``v[0]``, ``W[0, 1]``."""
    import sympy as sp

    expr, symbols = to_sympy(tape, point)
    expr = _scalar_expr(expr)
    flat, subs = element_symbols(symbols, point)
    if len(names) == 1 and order != 2:
        d = expr
        for k in range(1, order + 1):
            d = sp.diff(d, flat[names[0]])
            emit({"order": k, "derivative": _text(d), "value": _evaluate(sp, d, subs)})
        return
    for a in names:
        da = sp.diff(expr, flat[a])
        for b in names:
            d = sp.diff(da, flat[b])
            emit({"row": a, "col": b, "derivative": _text(d), "value": _evaluate(sp, d, subs)})


def hessian_vector(tape: Tape, point: Mapping[str, Any], names: list[str], direction: list[float],
                   emit: Callable[[dict[str, Any]], None]) -> None:
    """SymPy's Hessian times ``direction``, one entry per name: ∂/∂a of Σ_b direction[b]·∂f/∂b, at ``point``.

    Two derivatives per name rather than one per pair: the directional derivative
    first, then its gradient."""
    import sympy as sp

    expr, symbols = to_sympy(tape, point)
    expr = _scalar_expr(expr)
    flat, subs = element_symbols(symbols, point)
    along = sp.Add(*[sp.Float(d, 30) * sp.diff(expr, flat[b]) for b, d in zip(names, direction, strict=True) if d])
    for a in names:
        emit({"row": a, "value": _evaluate(sp, sp.diff(along, flat[a]), subs)})
