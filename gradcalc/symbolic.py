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
from .printer import NOWHERE
from .tape import CONST, GATE, VAR, Node, Tape
from .tree import Binary, Call, Expr, Name, Num, Unary, children

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



# ---------------------------------------------------------------------------
# Gradients as formulas: gradcalc's own, simplified and confirmed by SymPy


def tree_to_sympy(sp: Any, root: Expr, symbols: Mapping[str, Any]) -> Any:
    """Our expression tree as SymPy, node by node (a shared subtree is converted once); no text is parsed."""
    from .ops import BINARY_OPS, OPS, UNARY_OPS, by_call

    done: dict[int, Any] = {}
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in done:
            continue
        kids = children(node)
        if not ready:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in done)
            continue
        args = [done[id(k)] for k in kids]
        if isinstance(node, Num):
            out = _number(sp, node.text, node.value)
        elif isinstance(node, Name):
            if node.id in symbols:
                out = symbols[node.id]
            elif node.id in ("pi", "e"):
                out = sp.pi if node.id == "pi" else sp.E
            else:
                raise ValueError(f"unknown name {node.id!r}")
        elif isinstance(node, Unary):
            out = OPS[UNARY_OPS[node.op]].sym(sp, *args) if node.op in UNARY_OPS else args[0]
        elif isinstance(node, Binary):
            out = OPS[BINARY_OPS[node.op]].sym(sp, *args)
        elif isinstance(node, Call):
            out = by_call(node.func, len(args)).sym(sp, *args)
        else:
            raise ValueError("only scalar formulas are written as formulas")
        done[id(node)] = out
    return done[id(root)]


# SymPy's functions that gradcalc writes with one of its own: name -> gradcalc's call.
_CALLS = {
    "exp": "exp", "log": "log", "sin": "sin", "cos": "cos", "tan": "tan", "sinh": "sinh", "cosh": "cosh",
    "tanh": "tanh", "asin": "asin", "acos": "acos", "atan": "atan", "atan2": "atan2", "Abs": "abs",
    "Max": "max", "Min": "min", "sign": "sign",
}  # fmt: skip


def from_sympy(sp: Any, root: Any) -> Expr | None:
    """A SymPy expression as our tree, printed in gradcalc's syntax; None if it uses what gradcalc cannot write."""
    from .gradgraph import magnitude, negate, number

    one = Num(1.0, "1", NOWHERE)

    def num(value: Any) -> Expr:
        if value.is_Integer:
            return number(float(int(value))) if abs(int(value)) < 2**53 else number(float(value))
        if value.is_Rational:
            p, q = int(value.p), int(value.q)
            tree = Binary("/", number(float(abs(p))), number(float(q)), NOWHERE, NOWHERE)
            return negate(tree) if p < 0 else tree
        return number(float(value))

    def binary(op: str, a: Expr, b: Expr) -> Expr:
        return Binary(op, a, b, NOWHERE, NOWHERE)

    done: dict[Any, Expr] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if node in done:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((k, False) for k in node.args if k not in done)
            continue
        out: Expr
        if node.is_Number:
            if not node.is_finite or not node.is_real:
                return None
            out = num(node)
        elif node.is_Symbol:
            out = Name(node.name, NOWHERE)
        elif node is sp.pi:
            out = Name("pi", NOWHERE)
        elif node is sp.E:
            out = Name("e", NOWHERE)
        elif node.is_Add:
            terms = node.as_ordered_terms()
            out = done[terms[0]]
            for t in terms[1:]:
                term = done[t]
                positive = magnitude(term)
                out = binary("+", out, term) if positive is None else binary("-", out, positive)
        elif node.is_Mul:
            top: list[Expr] = []
            bottom: list[Expr] = []
            sign = False
            for f in node.as_ordered_factors():
                if f.is_Number and f < 0:
                    sign = True
                    f = -f
                    if f == 1:
                        continue
                    top.append(num(f))
                    continue
                if f.is_Rational and not f.is_Integer:
                    if f.p != 1:
                        top.append(number(float(f.p)))
                    bottom.append(number(float(f.q)))
                elif f.is_Pow and f.exp.is_Number and f.exp < 0:
                    base = done[f.base]
                    bottom.append(base if f.exp == -1 else binary("^", base, num(-f.exp)))
                elif f.is_Number:
                    top.append(num(f))
                elif f in done:
                    top.append(done[f])
                else:  # pragma: no cover - a factor SymPy made up: not written
                    return None
            out = top[0] if top else one
            for t in top[1:]:
                out = binary("*", out, t)
            if bottom:
                below = bottom[0]
                for b in bottom[1:]:
                    below = binary("*", below, b)
                out = binary("/", out, below)
            if sign:
                out = negate(out)
        elif node.is_Pow:
            base, exp = done[node.base], node.exp
            if exp == sp.Rational(1, 2):
                out = Call("sqrt", (base,), NOWHERE, NOWHERE)
            elif exp.is_Number and exp < 0:
                if exp == -1:
                    inner = base
                elif exp == -sp.Rational(1, 2):
                    inner = Call("sqrt", (base,), NOWHERE, NOWHERE)
                else:
                    inner = binary("^", base, num(-exp))
                out = binary("/", one, inner)
            else:
                out = binary("^", base, done[exp])
        elif node.func.__name__ == "Heaviside" and len(node.args) >= 1:
            out = binary("/", binary("+", one, Call("sign", (done[node.args[0]],), NOWHERE, NOWHERE)),
                         Num(2.0, "2", NOWHERE))
        elif node.func.__name__ in _CALLS:
            out = Call(_CALLS[node.func.__name__], tuple(done[a] for a in node.args), NOWHERE, NOWHERE)
        else:
            return None
        done[node] = out
    return done[root]


CONFIRM_POINTS = 8  # random points at which SymPy's and gradcalc's gradients are compared when simplify cannot tell


def confirm_gradients(tape: Tape, given: Mapping[str, float], wanted: Mapping[str, Expr | None],
                      emit: Callable[[dict[str, Any]], None]) -> None:
    """For each variable: SymPy's diff, gradcalc's own gradient simplified (as gradcalc text), and whether they
    are equal — proved by simplify, else compared at random points — emitted one by one."""
    import random

    import sympy as sp

    from .printer import TEXT, to_string

    expr, symbols = to_sympy(tape)
    subs = {symbols[n]: _number(sp, repr(v), v) for n, v in given.items()}
    free = [symbols[n] for n in symbols if n not in given]
    rng = random.Random(0)
    for name, own in wanted.items():
        d = sp.diff(expr, symbols[name]).xreplace(subs)
        item: dict[str, Any] = {"name": name, "sympy": _text(d)}
        if own is None:
            emit(item)
            continue
        mine = tree_to_sympy(sp, own, symbols).xreplace(subs)  # SymPy's constructors already tidy it
        shortest = min((mine, sp.together(mine), sp.factor_terms(mine)), key=sp.count_ops)
        tree = from_sympy(sp, shortest)
        if tree is not None:
            item["simplified"] = to_string(tree, TEXT)
        if _same(sp, mine, d):
            item.update(equal=True, how="proved")
        else:
            verdicts = []
            for _ in range(CONFIRM_POINTS):
                at = {s: sp.Float(rng.uniform(-2, 2), 30) for s in free}
                a, b = _evaluate(sp, mine, at), _evaluate(sp, d, at)
                if a is not None and b is not None:
                    verdicts.append(abs(a - b) <= 1e-9 * max(1.0, abs(b)))
            item.update(equal=all(verdicts) if verdicts else None, how="points")
        emit(item)


SIMPLIFY_OPS = 60  # differences of at most this many operations get SymPy's full simplify; larger ones cheaper tries


def _same(sp: Any, a: Any, b: Any) -> bool:
    """Whether SymPy can show ``a - b`` is 0, trying the cheap rewrites before simplify."""
    gap = a - b
    if gap == 0:
        return True
    for rewrite in (sp.expand, sp.cancel):
        if rewrite(gap) == 0:
            return True
    return bool(sp.count_ops(gap) <= SIMPLIFY_OPS and sp.simplify(gap) == 0)

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
