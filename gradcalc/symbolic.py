"""The SymPy cross-check.

SymPy objects are built from our own tape, node by node — never by handing
text to ``sympify``/``parse_expr`` — with symbols made from validated names.
Numeric powers stay in floats, so no exact giant integer is ever attempted.
The check runs in a child process (see :mod:`gradcalc.budget`) with a time and
memory budget.  The command line forks that child as its run begins, so that
importing SymPy (about 0.3 s) overlaps gradcalc's own work on the other core,
and sends it the tape as data (:func:`tape_job`) once it is built;
a process that runs many checks (a batch worker, :class:`gradcalc.Session`)
imports SymPy once instead (:func:`warm_up`), and each check's child shares it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from .errors import Source
from .ops import OPS, ROWS, index_op
from .tape import CONST, GATE, VAR, Node, Tape

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


def second_derivatives(tape: Tape, point: Mapping[str, Any], names: list[str], emit: Callable[[dict[str, Any]], None],
                       order: int = 2) -> None:
    """SymPy's second derivatives ∂²f/∂a∂b for each pair of ``names`` (or, with one name and ``order``,
    the derivatives of every order up to it), evaluated at ``point``, emitted one by one."""
    import sympy as sp

    expr, symbols = to_sympy(tape, point)
    subs = {symbols[n]: sp.Float(float(point[n]), 30) for n in symbols}
    if len(names) == 1 and order != 2:
        d = expr
        for k in range(1, order + 1):
            d = sp.diff(d, symbols[names[0]])
            emit({"order": k, "derivative": _text(d), "value": _evaluate(sp, d, subs)})
        return
    for a in names:
        da = sp.diff(expr, symbols[a])
        for b in names:
            d = sp.diff(da, symbols[b])
            emit({"row": a, "col": b, "derivative": _text(d), "value": _evaluate(sp, d, subs)})



# ---------------------------------------------------------------------------
# The check as data, for a child forked before the tape existed


def tape_job(tape: Tape, point: Mapping[str, Any]) -> dict[str, Any]:
    """What the SymPy check needs of a tape and its point, as JSON data: the nodes the output depends on."""
    used = tape.reachable()
    nodes: list[list[Any] | None] = []
    for i, node in enumerate(tape.nodes):
        if not used[i]:
            nodes.append(None)
            continue
        op = node.op
        const = node.const if isinstance(node.const, float | int) else node.const.tolist()
        nodes.append([node.kind, op.name if op is not None else None, list(node.args), node.label, const,
                      list(op.index) if op is not None and op.index is not None else None])
    return {
        "nodes": nodes,
        "output": tape.output,
        "variables": dict(tape.variables),
        "point": {name: (v if isinstance(v, float | int) else v.tolist()) for name, v in point.items()},
    }


def tape_from_job(job: Mapping[str, Any]) -> tuple[Tape, dict[str, Any]]:
    """The tape and point of :func:`tape_job` again (op rows by name from the op table), for the child."""
    nodes = []
    arrays = False
    for item in job["nodes"]:
        if item is None:  # not on the output's paths: never visited
            nodes.append(Node(CONST, None, (), (0, 0), "0", 0.0))
            continue
        kind, name, args, label, const, index = item
        op = None if name is None else index_op(tuple(index)) if index is not None else OPS[name]
        if not isinstance(const, float | int):
            arrays = True
        nodes.append(Node(kind, op, tuple(args), (0, 0), label, const))
    point: dict[str, Any] = dict(job["point"])
    if arrays or any(not isinstance(v, float | int) for v in point.values()):
        import numpy as np

        for node in nodes:
            if not isinstance(node.const, float | int):
                node.const = np.array(node.const, dtype=float)
        point = {name: v if isinstance(v, float | int) else np.array(v, dtype=float) for name, v in point.items()}
    return Tape(nodes, int(job["output"]), Source(""), dict(job["variables"])), point


def job_derivatives(job: Mapping[str, Any], emit: Callable[[dict[str, Any]], None]) -> None:
    """:func:`derivatives` of a :func:`tape_job`: the work of a child forked ahead of it."""
    tape, point = tape_from_job(job)
    derivatives(tape, point, emit)


def load() -> None:
    """Import SymPy (what a child forked ahead does while it waits for its tape)."""
    import sympy  # noqa: F401


_warm = False


def warm_up() -> None:
    """Import SymPy in this process and differentiate every scalar op once, so that a check's child forked
    from here starts with SymPy loaded and its lazy set-up done (about 40 ms a check instead of 90, besides
    the import).  Fixed work on gradcalc's own expressions; once per process."""
    global _warm
    if _warm:
        return
    import sympy as sp

    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    subs = {x: sp.Float(0.7, 30), y: sp.Float(0.3, 30)}
    for op in ROWS:
        if op.arity not in (1, 2) or op.tensor:
            continue
        try:
            expr = op.sym(sp, x) if op.arity == 1 else op.sym(sp, x, y)
            for symbol in (x, y)[: op.arity]:
                d = sp.diff(expr, symbol)
                _evaluate(sp, d, subs)
                _text(d)
        except Exception:  # a row SymPy cannot take at this point: it warms nothing, it breaks nothing
            continue
    _warm = True
