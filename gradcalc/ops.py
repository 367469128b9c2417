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
    def relu(x: float) -> float:
        return x if x > 0 else 0.0

    @staticmethod
    def step(x: float) -> float:
        """1 where x > 0, else 0: relu's local gradient, 0 at 0 by convention."""
        return 1.0 if x > 0 else 0.0

    @staticmethod
    def abs(x: float) -> float:
        return abs(x)

    @staticmethod
    def maximum(xs: Values) -> float:
        return max(xs)

    @staticmethod
    def minimum(xs: Values) -> float:
        return min(xs)

    @staticmethod
    def where(cond: bool, a: float, b: float) -> float:
        return a if cond else b

    @staticmethod
    def any(cond: Any) -> bool:
        return bool(cond)

    @staticmethod
    def unbroadcast(g: Any, like: Any) -> Any:
        return g

    def tie_locals(self, xs: Values, out: float) -> tuple[float, ...]:
        """Local gradients of max/min: the winner takes it all; ties by convention."""
        hits = [1.0 if x == out else 0.0 for x in xs]
        count = sum(hits)
        if count <= 1:
            return tuple(hits)
        if self.tie == "first":
            first = hits.index(1.0)
            return tuple(1.0 if i == first else 0.0 for i in range(len(hits)))
        if self.tie == "all":
            return tuple(hits)
        return tuple(h / count for h in hits)

    @staticmethod
    def tie_count(xs: Values, out: float) -> int:
        return sum(1 for x in xs if x == out)

    @staticmethod
    def floor(x: float) -> float:
        return math.floor(x) if math.isfinite(x) else x


Math = Any  # ScalarMath, or a NumPy namespace with the same methods
Values = Sequence[Any]


@dataclass(frozen=True, slots=True)
class Op:
    """One kind of gate.

    Elementwise gates give ``local``: the local gradient for each input, given
    the inputs and the output; the engine multiplies by the upstream gradient
    (and sums away broadcasting).  Structural tensor gates (matmul, sum,
    softmax, ...) give ``vjp`` and ``jvp`` instead: the downstream gradients
    for an upstream gradient, and the output tangent for input tangents.
    """

    name: str
    arity: int  # -1: two or more (max, min); -2: one or more (stack)
    fwd: Callable[..., Any]  # fwd(m, *inputs) -> value
    local: Callable[[Math, Values, Any], tuple[Any, ...]] | None  # (m, inputs, out) -> one per input
    sym: Callable[..., Any]  # sym(sympy, *args) -> SymPy expression (or object array of them)
    symbol: str | None = None  # infix symbol for display, e.g. '+'
    pattern: str = ""  # the backprop pattern, CS231n's words
    kink: Callable[[Math, Values, Any], str | None] | None = None
    domain: Callable[[Math, Values], str | None] | None = None
    prec: int = 100  # binding power when printed (same chart as the parser)
    vjp: Callable[[Math, Any, Values, Any], tuple[Any, ...]] | None = None  # (m, g, inputs, out)
    jvp: Callable[[Math, Values, Values, Any], Any] | None = None  # (m, tangents, inputs, out)
    rule: str = ""  # how a structural gate hands back gradients, for tables
    tensor: bool = False  # only meaningful on vectors and matrices


def _tie_note(kind: str) -> Callable[[Math, Values, Any], str | None]:
    def note(m: Math, xs: Values, out: Any) -> str | None:
        tied = m.tie_count(xs, out)
        if tied <= 1:
            return None
        how = {
            "split": "split evenly between the tied inputs (PyTorch, JAX)",
            "first": "all to the first tied input",
            "all": "the whole gradient to every tied input (CS231n's indicator)",
        }[m.tie]
        at = f"equal {out:g}" if isinstance(out, float) else "are equal at some elements"
        return f"{kind} tie: {tied} inputs {at}; gradient {how}"

    return note


def _pow_local(m: Math, xs: Values, out: Any) -> tuple[Any, Any]:
    a, b = xs
    # d/da a^b = b a^(b-1), and 0 when b = 0.
    da = m.where(b != 0, b * m.pow(a, b - 1), 0.0)
    # d/db a^b = a^b ln a; taken as 0 at a = 0 (PyTorch's convention), nan for a < 0.
    db = m.where(a == 0, 0.0, out * m.log(a))
    return da, db


def _pow_domain(m: Math, xs: Values) -> str | None:
    a, b = xs
    if m.any((a == 0) & (b < 0)):
        return "0 raised to a negative power"
    if m.any((a < 0) & (b != m.floor(b))):
        return "a negative base raised to a non-integer power"
    return None


def _pow_kink(m: Math, xs: Values, out: Any) -> str | None:
    a, b = xs
    if m.any((a == 0) & (b > 0) & (b < 1)):
        return "0^y with 0 < y < 1: derivative with respect to the base is infinite"
    if m.any(a == 0):
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


def ew(rule: Callable[..., Any]) -> Callable[..., Any]:
    """A SymPy rule for scalars, applied element by element to object arrays."""

    def apply(sp: Any, *args: Any) -> Any:
        if any(type(a).__name__ == "ndarray" for a in args):
            import numpy as np

            return np.vectorize(lambda *xs: rule(sp, *xs), otypes=[object])(*args)
        return rule(sp, *args)

    return apply


def _is_zero(m: Math, x: Any) -> bool:
    return bool(m.any(x == 0))


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
       domain=lambda m, xs: "division by zero" if _is_zero(m, xs[1]) else None),
    Op("pow", 2, lambda m, a, b: m.pow(a, b), _pow_local, ew(_sym_pow), symbol="^",
       pattern="power rule", prec=40, domain=_pow_domain, kink=_pow_kink),
    Op("neg", 1, lambda m, a: -a, lambda m, xs, out: (-1.0,),
       lambda sp, a: -a, symbol="-", pattern="neg flips the sign", prec=30),
    Op("exp", 1, lambda m, a: m.exp(a), lambda m, xs, out: (out,),
       ew(lambda sp, a: sp.exp(a)), pattern="exp passes its value"),
    Op("log", 1, lambda m, a: m.log(a), lambda m, xs, out: (m.div(1.0, xs[0]),),
       ew(lambda sp, a: sp.log(a)), pattern="log: 1/x",
       domain=lambda m, xs: "log of zero" if _is_zero(m, xs[0])
       else ("log of a negative number" if m.any(xs[0] < 0) else None)),
    Op("sqrt", 1, lambda m, a: m.sqrt(a), lambda m, xs, out: (m.div(0.5, out),),
       ew(lambda sp, a: sp.sqrt(a)), pattern="sqrt: 1/(2√x)",
       domain=lambda m, xs: "square root of a negative number" if m.any(xs[0] < 0) else None,
       kink=lambda m, xs, out: "sqrt at 0: derivative is infinite" if _is_zero(m, xs[0]) else None),
    Op("sin", 1, lambda m, a: m.sin(a), lambda m, xs, out: (m.cos(xs[0]),),
       ew(lambda sp, a: sp.sin(a)), pattern="sin: cos x"),
    Op("cos", 1, lambda m, a: m.cos(a), lambda m, xs, out: (-m.sin(xs[0]),),
       ew(lambda sp, a: sp.cos(a)), pattern="cos: -sin x"),
    Op("tan", 1, lambda m, a: m.tan(a), lambda m, xs, out: (1.0 + out * out,),
       ew(lambda sp, a: sp.tan(a)), pattern="tan: 1 + tan²x"),
    Op("tanh", 1, lambda m, a: m.tanh(a), lambda m, xs, out: (1.0 - out * out,),
       ew(lambda sp, a: sp.tanh(a)), pattern="tanh: 1 - tanh²"),
    Op("sigmoid", 1, lambda m, a: m.sigmoid(a), lambda m, xs, out: (out * (1.0 - out),),
       ew(lambda sp, a: 1 / (1 + sp.exp(-a))), pattern="sigmoid: σ(1-σ)"),
    Op("relu", 1, lambda m, a: m.relu(a), lambda m, xs, out: (m.step(xs[0]),),
       ew(lambda sp, a: sp.Max(0, a)), pattern="relu gates",
       kink=lambda m, xs, out: "relu at 0: local gradient taken as 0 (PyTorch, JAX)" if _is_zero(m, xs[0]) else None),
    Op("abs", 1, lambda m, a: m.abs(a), lambda m, xs, out: (m.sign(xs[0]),),
       ew(lambda sp, a: sp.Abs(a)), pattern="abs: sign x",
       kink=lambda m, xs, out: "abs at 0: local gradient taken as sign(0) = 0" if _is_zero(m, xs[0]) else None),
    Op("max", -1, lambda m, *xs: m.maximum(xs), lambda m, xs, out: m.tie_locals(xs, out),
       ew(lambda sp, *a: sp.Max(*a)), pattern="max routes", kink=_tie_note("max")),
    Op("min", -1, lambda m, *xs: m.minimum(xs), lambda m, xs, out: m.tie_locals(xs, out),
       ew(lambda sp, *a: sp.Min(*a)), pattern="min routes", kink=_tie_note("min")),
)

def _np_sum(a: Any) -> Any:
    if type(a).__name__ == "ndarray":
        import numpy as np

        return np.sum(a)
    return a


def _sym_softmax(sp: Any, a: Any) -> Any:
    e = ew(lambda sp_, x: sp_.exp(x))(sp, a)
    return e / _np_sum(e)


def _sym_logsumexp(sp: Any, a: Any) -> Any:
    return sp.log(_np_sum(ew(lambda sp_, x: sp_.exp(x))(sp, a)))


def _sym_stack(sp: Any, *items: Any) -> Any:
    import numpy as np

    out = np.empty((len(items), *np.shape(items[0])), dtype=object)
    for k, item in enumerate(items):
        out[k] = item
    return out


def _sym_matmul(sp: Any, a: Any, b: Any) -> Any:
    import numpy as np

    return np.dot(a, b)


# Gates on vectors and matrices.  Their Jacobians are not diagonal, so they
# hand gradients back through a vector-Jacobian product (vjp) and push
# tangents forward through a Jacobian-vector product (jvp).
TENSOR_ROWS: tuple[Op, ...] = (
    Op("matmul", 2, lambda m, a, b: m.matmul(a, b), None, _sym_matmul, symbol="@", prec=20,
       pattern="matmul: g·bᵀ to a, aᵀ·g to b",
       vjp=lambda m, g, xs, out: m.matmul_vjp(g, xs[0], xs[1]),
       jvp=lambda m, ts, xs, out: m.matmul(ts[0], xs[1]) + m.matmul(xs[0], ts[1]),
       rule="a: g·bᵀ, b: aᵀ·g", tensor=True),
    Op("sum", 1, lambda m, a: m.sum(a), None, lambda sp, a: _np_sum(a),
       pattern="sum distributes", vjp=lambda m, g, xs, out: (g * m.ones_like(xs[0]),),
       jvp=lambda m, ts, xs, out: m.sum(ts[0]), rule="g to every element", tensor=True),
    Op("mean", 1, lambda m, a: m.mean(a), None, lambda sp, a: _np_sum(a) / max(1, getattr(a, "size", 1)),
       pattern="mean distributes g/n", vjp=lambda m, g, xs, out: (g * m.ones_like(xs[0]) / m.size(xs[0]),),
       jvp=lambda m, ts, xs, out: m.mean(ts[0]), rule="g/n to every element", tensor=True),
    Op("T", 1, lambda m, a: m.transpose(a), None, lambda sp, a: a.T if hasattr(a, "T") else a,
       pattern="transpose", vjp=lambda m, g, xs, out: (m.transpose(g),),
       jvp=lambda m, ts, xs, out: m.transpose(ts[0]), rule="gᵀ", tensor=True),
    Op("softmax", 1, lambda m, a: m.softmax(a), None, _sym_softmax, pattern="softmax: s⊙(g − s·g)",
       vjp=lambda m, g, xs, out: (out * (g - m.sum(g * out)),),
       jvp=lambda m, ts, xs, out: out * (ts[0] - m.sum(out * ts[0])), rule="s⊙(g − Σ g s)", tensor=True),
    Op("logsumexp", 1, lambda m, a: m.logsumexp(a), None, _sym_logsumexp, pattern="logsumexp: g·softmax",
       vjp=lambda m, g, xs, out: (g * m.softmax(xs[0]),),
       jvp=lambda m, ts, xs, out: m.sum(m.softmax(xs[0]) * ts[0]), rule="g·softmax(x)", tensor=True),
    Op("log_softmax", 1, lambda m, a: a - m.logsumexp(a), None,
       lambda sp, a: a - _sym_logsumexp(sp, a), pattern="log_softmax: g − softmax·Σg",
       vjp=lambda m, g, xs, out: (g - m.softmax(xs[0]) * m.sum(g),),
       jvp=lambda m, ts, xs, out: ts[0] - m.sum(m.softmax(xs[0]) * ts[0]), rule="g − softmax(x) Σ g",
       tensor=True),
    Op("norm", 1, lambda m, a: m.sqrt(m.sum(a * a)), None, lambda sp, a: sp.sqrt(_np_sum(a * a)),
       pattern="norm: g·x/‖x‖",
       vjp=lambda m, g, xs, out: (m.where(out == 0, 0.0 * xs[0], g * m.div(xs[0], out)),),
       jvp=lambda m, ts, xs, out: m.where(out == 0, 0.0, m.div(m.sum(xs[0] * ts[0]), out)),
       kink=lambda m, xs, out: "norm at 0: gradient taken as 0" if out == 0 else None,
       rule="g·x/‖x‖", tensor=True),
    Op("stack", -2, lambda m, *xs: m.stack(xs), None, _sym_stack, pattern="stack: each row its slice",
       vjp=lambda m, g, xs, out: tuple(m.unbroadcast(g[k], x) for k, x in enumerate(xs)),
       jvp=lambda m, ts, xs, out: m.stack([m.broadcast_to(t, m.shape(x)) for t, x in zip(ts, xs, strict=True)]),
       rule="slice k of g to item k", tensor=True),
)


def index_op(index: tuple[int, ...]) -> Op:
    """The gate that picks ``x[index]``; its position is part of the gate."""
    shown = ", ".join(map(str, index))
    return Op(
        "index", 1, lambda m, a: m.take(a, index), None, lambda sp, a: a[index],
        pattern="index routes g to one element",
        vjp=lambda m, g, xs, out: (m.scatter(g, index, xs[0]),),
        jvp=lambda m, ts, xs, out: m.take(ts[0], index),
        rule=f"g to element [{shown}], 0 elsewhere", tensor=True,
    )


OPS: dict[str, Op] = {op.name: op for op in (*ROWS, *TENSOR_ROWS)}

# What the user may call, and the op each name means.
FUNCTIONS: dict[str, str] = {
    "exp": "exp", "log": "log", "ln": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos",
    "tan": "tan", "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu", "abs": "abs",
    "max": "max", "min": "min", "pow": "pow",
    "sum": "sum", "mean": "mean", "T": "T", "softmax": "softmax", "logsumexp": "logsumexp",
    "log_softmax": "log_softmax", "norm": "norm",
}
BINARY_OPS: dict[str, str] = {"+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow", "@": "matmul"}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def arity_text(op: Op) -> str:
    if op.arity == -1:
        return "two or more arguments"
    if op.arity == -2:
        return "one or more arguments"
    return f"{op.arity} argument{'s' * (op.arity != 1)}"
