"""The operations: one row each.

Each :class:`Op` row says everything about one gate — how it prints, its
forward value, its local gradient with respect to each input (given the inputs
and the output, so ``exp`` and ``sigmoid`` reuse their value), its SymPy
counterpart, the name of its backprop pattern, what happens at its
non-differentiable points, and what is wrong when its inputs are outside its
domain.  Adding an op is adding a row.

The rules are written against a small math namespace ``m`` (see
:class:`ScalarMath`) rather than the ``math`` module directly, so that the same
row can later run over NumPy arrays; the scalar namespace never raises on
overflow or domain errors, it returns ``inf``/``nan`` as IEEE arithmetic does,
and the engine names the first gate that produced one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

INF = math.inf
NAN = math.nan

# Conventions at non-differentiable points; `--tie` chooses among TIE_MODES.
TIE_MODES = ("split", "first", "all")
DEFAULT_TIE = "split"


class ScalarMath:
    """Float math that answers inf/nan instead of raising, like IEEE and NumPy."""

    __slots__ = ("tie",)

    def __init__(self, tie: str = DEFAULT_TIE) -> None:
        self.tie = tie

    @staticmethod
    def exp(x: float) -> float:
        try:
            return math.exp(x)
        except OverflowError:
            return INF

    @staticmethod
    def log(x: float) -> float:
        if x > 0:
            return math.log(x)
        return -INF if x == 0 else NAN

    @staticmethod
    def sqrt(x: float) -> float:
        return math.sqrt(x) if x >= 0 else NAN

    @staticmethod
    def sin(x: float) -> float:
        return math.sin(x) if math.isfinite(x) else NAN

    @staticmethod
    def cos(x: float) -> float:
        return math.cos(x) if math.isfinite(x) else NAN

    @staticmethod
    def tan(x: float) -> float:
        return math.tan(x) if math.isfinite(x) else NAN

    @staticmethod
    def tanh(x: float) -> float:
        return math.tanh(x)

    @staticmethod
    def sigmoid(x: float) -> float:
        # Two branches so that neither overflows: exp of a non-positive number only.
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)

    @staticmethod
    def pow(a: float, b: float) -> float:
        try:
            return math.pow(a, b)
        except OverflowError:
            if a < 0 and b == int(b) and int(b) % 2:
                return -INF
            return INF
        except ValueError:  # 0 to a negative power, or a negative base to a fraction
            return INF if a == 0 else NAN

    @staticmethod
    def div(a: float, b: float) -> float:
        try:
            return a / b
        except ZeroDivisionError:
            return NAN if a == 0 or a != a else math.copysign(INF, a) * math.copysign(1.0, b)

    @staticmethod
    def sign(x: float) -> float:
        return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)

    @staticmethod
    def is_int(x: float) -> bool:
        return math.isfinite(x) and x == int(x)


Math = Any  # ScalarMath, or a NumPy namespace with the same methods
Values = Sequence[Any]


@dataclass(frozen=True, slots=True)
class Op:
    """One kind of gate."""

    name: str
    arity: int  # -1: two or more (max, min)
    fwd: Callable[..., Any]  # fwd(m, *inputs) -> value
    local: Callable[[Math, Values, Any], tuple[Any, ...]]  # (m, inputs, out) -> one per input
    sym: Callable[..., Any]  # sym(sympy, *args) -> SymPy expression
    symbol: str | None = None  # infix symbol for display, e.g. '+'
    pattern: str = ""  # the backprop pattern, CS231n's words
    kink: Callable[[Math, Values, Any], str | None] | None = None
    domain: Callable[[Values], str | None] | None = None
    prec: int = 100  # binding power when printed (same chart as the parser)


def _one(n: int) -> tuple[float, ...]:
    return (1.0,) * n


def _tie_locals(m: Math, xs: Values, out: float) -> tuple[float, ...]:
    """Local gradients of max/min: the winner takes the gradient; ties by convention."""
    hits = [1.0 if x == out else 0.0 for x in xs]
    count = sum(hits)
    if count <= 1:
        return tuple(hits)
    if m.tie == "first":
        first = hits.index(1.0)
        return tuple(1.0 if i == first else 0.0 for i in range(len(hits)))
    if m.tie == "all":
        return tuple(hits)
    return tuple(h / count for h in hits)


def _tie_note(kind: str) -> Callable[[Math, Values, Any], str | None]:
    def note(m: Math, xs: Values, out: float) -> str | None:
        tied = sum(1 for x in xs if x == out)
        if tied <= 1:
            return None
        how = {
            "split": "split evenly between the tied inputs (PyTorch, JAX)",
            "first": "all to the first tied input",
            "all": "the whole gradient to every tied input (CS231n's indicator)",
        }[m.tie]
        return f"{kind} tie: {tied} inputs equal {out:g}; gradient {how}"

    return note


def _pow_local(m: Math, xs: Values, out: float) -> tuple[float, float]:
    a, b = xs
    # d/da a^b = b a^(b-1); at a = 0 with b >= 1 this is 0 (b = 1: 1), computed directly.
    da = b * m.pow(a, b - 1) if b != 0 else 0.0
    # d/db a^b = a^b ln a; taken as 0 at a = 0 (PyTorch's convention), nan for a < 0.
    db = 0.0 if a == 0 else (out * m.log(a) if a > 0 else NAN)
    return da, db


def _pow_domain(xs: Values) -> str | None:
    a, b = xs
    if a == 0 and b < 0:
        return "0 raised to a negative power"
    if a < 0 and not ScalarMath.is_int(b):
        return f"a negative base ({a:g}) raised to a non-integer power ({b:g})"
    return None


def _pow_kink(m: Math, xs: Values, out: float) -> str | None:
    a, b = xs
    if a == 0 and 0 < b < 1:
        return f"0^{b:g}: derivative with respect to the base is infinite"
    if a == 0:
        return "0^y: derivative with respect to the exponent taken as 0 (PyTorch's convention)"
    return None


def _sym_pow(sp: Any, a: Any, b: Any) -> Any:
    # Exact powers of big numbers are how SymPy hangs; keep numeric powers in floats.
    if getattr(a, "is_Number", False) and getattr(b, "is_Number", False):
        try:
            return sp.Float(math.pow(float(a), float(b)))
        except (OverflowError, ValueError):
            return sp.Pow(sp.Float(float(a)), sp.Float(float(b)))
    return sp.Pow(a, b)


ROWS: tuple[Op, ...] = (
    Op("add", 2, lambda m, a, b: a + b, lambda m, xs, out: (1.0, 1.0),
       lambda sp, a, b: a + b, symbol="+", pattern="add distributes", prec=10),
    Op("sub", 2, lambda m, a, b: a - b, lambda m, xs, out: (1.0, -1.0),
       lambda sp, a, b: a - b, symbol="-", pattern="sub distributes, negated on the right", prec=10),
    Op("mul", 2, lambda m, a, b: a * b, lambda m, xs, out: (xs[1], xs[0]),
       lambda sp, a, b: a * b, symbol="*", pattern="mul swaps", prec=20),
    Op("div", 2, lambda m, a, b: m.div(a, b),
       lambda m, xs, out: (m.div(1.0, xs[1]), m.div(-xs[0], xs[1] * xs[1])),
       lambda sp, a, b: a / b, symbol="/", pattern="div: 1/b and -a/b²", prec=20,
       domain=lambda xs: "division by zero" if xs[1] == 0 else None),
    Op("pow", 2, lambda m, a, b: m.pow(a, b), _pow_local, _sym_pow, symbol="^",
       pattern="power rule", prec=40, domain=_pow_domain, kink=_pow_kink),
    Op("neg", 1, lambda m, a: -a, lambda m, xs, out: (-1.0,),
       lambda sp, a: -a, symbol="-", pattern="neg flips the sign", prec=30),
    Op("exp", 1, lambda m, a: m.exp(a), lambda m, xs, out: (out,),
       lambda sp, a: sp.exp(a), pattern="exp passes its value"),
    Op("log", 1, lambda m, a: m.log(a), lambda m, xs, out: (m.div(1.0, xs[0]),),
       lambda sp, a: sp.log(a), pattern="log: 1/x",
       domain=lambda xs: f"log of {'zero' if xs[0] == 0 else 'a negative number'} ({xs[0]:g})"
       if xs[0] <= 0 else None),
    Op("sqrt", 1, lambda m, a: m.sqrt(a), lambda m, xs, out: (m.div(0.5, out),),
       lambda sp, a: sp.sqrt(a), pattern="sqrt: 1/(2√x)",
       domain=lambda xs: f"square root of a negative number ({xs[0]:g})" if xs[0] < 0 else None,
       kink=lambda m, xs, out: "sqrt at 0: derivative is infinite" if xs[0] == 0 else None),
    Op("sin", 1, lambda m, a: m.sin(a), lambda m, xs, out: (m.cos(xs[0]),),
       lambda sp, a: sp.sin(a), pattern="sin: cos x"),
    Op("cos", 1, lambda m, a: m.cos(a), lambda m, xs, out: (-m.sin(xs[0]),),
       lambda sp, a: sp.cos(a), pattern="cos: -sin x"),
    Op("tan", 1, lambda m, a: m.tan(a), lambda m, xs, out: (1.0 + out * out,),
       lambda sp, a: sp.tan(a), pattern="tan: 1 + tan²x"),
    Op("tanh", 1, lambda m, a: m.tanh(a), lambda m, xs, out: (1.0 - out * out,),
       lambda sp, a: sp.tanh(a), pattern="tanh: 1 - tanh²"),
    Op("sigmoid", 1, lambda m, a: m.sigmoid(a), lambda m, xs, out: (out * (1.0 - out),),
       lambda sp, a: 1 / (1 + sp.exp(-a)), pattern="sigmoid: σ(1-σ)"),
    Op("relu", 1, lambda m, a: a if a > 0 else 0.0, lambda m, xs, out: (1.0 if xs[0] > 0 else 0.0,),
       lambda sp, a: sp.Max(0, a), pattern="relu gates",
       kink=lambda m, xs, out: "relu at 0: local gradient taken as 0 (PyTorch, JAX)" if xs[0] == 0 else None),
    Op("abs", 1, lambda m, a: abs(a), lambda m, xs, out: (m.sign(xs[0]),),
       lambda sp, a: sp.Abs(a), pattern="abs: sign x",
       kink=lambda m, xs, out: "abs at 0: local gradient taken as sign(0) = 0" if xs[0] == 0 else None),
    Op("max", -1, lambda m, *xs: max(xs), _tie_locals, lambda sp, *a: sp.Max(*a),
       pattern="max routes", kink=_tie_note("max")),
    Op("min", -1, lambda m, *xs: min(xs), _tie_locals, lambda sp, *a: sp.Min(*a),
       pattern="min routes", kink=_tie_note("min")),
)

OPS: dict[str, Op] = {op.name: op for op in ROWS}

# What the user may call, and the op each name means.
FUNCTIONS: dict[str, str] = {
    "exp": "exp", "log": "log", "ln": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos",
    "tan": "tan", "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu", "abs": "abs",
    "max": "max", "min": "min", "pow": "pow",
}
BINARY_OPS: dict[str, str] = {"+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow"}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def arity_text(op: Op) -> str:
    return "two or more arguments" if op.arity < 0 else f"{op.arity} argument{'s' * (op.arity != 1)}"
