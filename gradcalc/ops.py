"""The operations: one row each.

Each :class:`Op` row says everything about one gate: the names it is called
by, how it prints (an operator of the parser's chart, or a function name), its
forward value, its local gradient with respect to each input (given the inputs
and the output, so ``exp`` and ``sigmoid`` reuse their value) and how that
local gradient reads as a formula, its SymPy counterpart, the name of its
backprop pattern, what happens at its non-differentiable points, what is wrong
when its inputs are outside its domain, and where it is smooth (for tests and
fuzzers).  Everything else — the function names the parser accepts, every
printer, ``--explain``, traces, pictures, the SymPy check, the vectorized
sweep and the table-driven tests — is derived from the rows.  Adding an op is
adding a row (and, if its value needs it, one method to each math namespace).

The rules are written against a small math namespace ``m``: :class:`ScalarMath`
here for floats, ``gradcalc.tensor.NumpyMath`` for arrays.  Both answer inf
and nan as IEEE arithmetic does instead of raising, and both give one numeric
behaviour per op (NaN propagates, ties by one convention); the table test
holds them to each other.  The engine names the first gate that made a value
that is not finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .i18n import N_

INF = math.inf
NAN = math.nan

# Conventions at non-differentiable points; `--tie` chooses among TIE_MODES.
TIE_MODES = ("split", "first", "all")
DEFAULT_TIE = "split"
LEAKY_SLOPE = 0.01  # leaky_relu's slope below 0: PyTorch's default negative_slope


def _overflowing(f: Callable[[float], float]) -> Callable[[float], float]:
    """``f``, answering ±inf where the math module raises OverflowError and nan where it raises ValueError."""

    def safe(x: float) -> float:
        try:
            return f(x)
        except OverflowError:
            return math.copysign(INF, f(math.copysign(1.0, x))) if x == x else NAN
        except ValueError:
            return NAN

    return safe


class ScalarMath:
    """Float math that answers inf/nan instead of raising, like IEEE and NumPy (and agrees with NumpyMath)."""

    __slots__ = ("tie",)

    def __init__(self, tie: str = DEFAULT_TIE) -> None:
        self.tie = tie

    exp = staticmethod(_overflowing(math.exp))
    expm1 = staticmethod(_overflowing(math.expm1))
    sinh = staticmethod(_overflowing(math.sinh))
    cosh = staticmethod(_overflowing(math.cosh))
    asin = staticmethod(_overflowing(math.asin))
    acos = staticmethod(_overflowing(math.acos))
    atan = staticmethod(math.atan)
    atan2 = staticmethod(math.atan2)

    @staticmethod
    def _log(f: Callable[[float], float], x: float) -> float:
        if x > 0:
            return f(x)
        return -INF if x == 0 else NAN

    @staticmethod
    def log(x: float) -> float:
        return ScalarMath._log(math.log, x)

    @staticmethod
    def log2(x: float) -> float:
        return ScalarMath._log(math.log2, x)

    @staticmethod
    def log10(x: float) -> float:
        return ScalarMath._log(math.log10, x)

    @staticmethod
    def log1p(x: float) -> float:
        if x > -1:
            return math.log1p(x)
        return -INF if x == -1 else NAN

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
        if x != x:
            return NAN
        z = math.exp(x)
        return z / (1.0 + z)

    @staticmethod
    def softplus(x: float) -> float:
        """log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)."""
        if x != x:
            return NAN
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))

    @staticmethod
    def pow(a: float, b: float) -> float:
        try:
            return math.pow(a, b)
        except OverflowError:
            if a < 0 and b == int(b) and int(b) % 2:
                return -INF
            return INF
        except ValueError:  # 0 to a negative power, or a negative base to a fraction
            if a == 0:  # IEEE: -0 to an odd negative integer is -inf
                odd = b == int(b) and int(b) % 2 == 1
                return -INF if odd and math.copysign(1.0, a) < 0 else INF
            return NAN

    @staticmethod
    def div(a: float, b: float) -> float:
        try:
            return a / b
        except ZeroDivisionError:
            return NAN if a == 0 or a != a else math.copysign(INF, a) * math.copysign(1.0, b)

    @staticmethod
    def sign(x: float) -> float:
        return 1.0 if x > 0 else (-1.0 if x < 0 else (x if x != x else 0.0))

    @staticmethod
    def relu(x: float) -> float:
        return x if x > 0 or x != x else 0.0

    @staticmethod
    def step(x: float) -> float:
        """1 where x > 0, else 0: relu's local gradient, 0 at 0 by convention."""
        return 1.0 if x > 0 else 0.0

    @staticmethod
    def abs(x: float) -> float:
        return abs(x)

    @staticmethod
    def maximum(xs: Values) -> float:
        top = max(xs)
        return NAN if any(x != x for x in xs) else top

    @staticmethod
    def minimum(xs: Values) -> float:
        low = min(xs)
        return NAN if any(x != x for x in xs) else low

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


def chain_product(g: Any, local: Any) -> Any:
    """One product of the chain rule: upstream (or tangent) ``g`` times a local gradient.

    The convention every executor follows: a product with a zero factor is 0,
    even when the other factor is infinite or NaN (sqrt at 0 behind a max that
    routed elsewhere, ``0*log(x)`` at a tiny x) — that path carries no
    dependence.  PyTorch and JAX answer NaN there.  Scalar loops inline the
    same test for speed (``if g != 0 and local != 0``).
    """
    if type(g) is float and type(local) is float:
        return 0.0 if g == 0 or local == 0 else g * local
    import numpy as np

    with np.errstate(all="ignore"):
        out = np.where((np.asarray(g) == 0) | (np.asarray(local) == 0), 0.0, np.multiply(g, local))
    return out if out.ndim else float(out)


Math = Any  # ScalarMath, or a NumPy namespace with the same methods
Values = Sequence[Any]
Interval = tuple[float, float]


@dataclass(frozen=True, slots=True, repr=False)
class Op:
    """One kind of gate.

    Elementwise gates give ``local``: the local gradient for each input, given
    the inputs and the output; the engine multiplies by the upstream gradient
    (and sums away broadcasting).  Structural tensor gates (matmul, sum,
    softmax, ...) give ``vjp`` and ``jvp`` instead: the downstream gradients
    for an upstream gradient, and the output tangent for input tangents.

    ``grad_text`` writes each input's local gradient as a formula in
    gradcalc's own syntax over ``a`` and ``b`` (the inputs) and ``out`` (the
    gate's value), parsed by gradcalc's parser and printed by every printer;
    a text with ``{a}`` in braces is a notation rather than a formula (relu's
    ``[{a} > 0]``), shown as it is.  The table test evaluates every formula
    and holds it to ``local``.
    """

    name: str
    arity: int  # -1: two or more (max, min); -2: one or more (stack)
    fwd: Callable[..., Any]  # fwd(m, *inputs) -> value
    local: Callable[[Math, Values, Any], tuple[Any, ...]] | None  # (m, inputs, out) -> one per input
    sym: Callable[..., Any]  # sym(sympy, *args) -> SymPy expression (or object array of them)
    symbol: str | None = None  # its operator in the parser's chart, e.g. '+'; None: a function
    calls: tuple[str, ...] = ()  # the names it is called by, the first the one printed; () for operators
    math_name: str | None = None  # the name written in mathematics, if another: ln for log
    glyph: str | None = None  # how it is drawn in a picture's circle (default: its name)
    pattern: str = ""  # the backprop pattern, CS231n's words
    grad_text: tuple[str, ...] = ()  # each input's local gradient as a formula (see above)
    # The note at a non-differentiable point, or None; (note, k) when it is about input k's gradient only
    # (so x^2 at 0 says nothing of the exponent's, which is a constant).
    kink: Callable[[Math, Values, Any], str | tuple[str, int] | None] | None = None
    domain: Callable[[Math, Values], str | None] | None = None
    smooth: tuple[Interval, ...] = ((-2.0, 2.0),)  # per input: where it is smooth, for tests and fuzzers
    convention: str = ""  # what it does at its kinks and domain edges, for the docs
    torch: str = ""  # the PyTorch function it matches, e.g. "torch.tanh" (tests and the benchmark compare)
    params: tuple[str, ...] = ()  # its arguments' names in the docs: ("y", "x") for atan2
    # Which piece of a piecewise definition the inputs are on (relu: the sign of x); the numeric check
    # keeps its steps within one piece, so a kink inside a step is found rather than guessed.
    branch: Callable[[Math, Values], Any] | None = None
    # Why input k's local gradient is undefined (NaN) at these inputs, when it can be: said instead of a failure.
    undefined: Callable[[Math, Values, int], str | None] | None = None
    # The local gradient as a formula that computes it, where ``grad_text`` is a notation ([x > 0]): what the
    # gradient graph (gradcalc.gradgraph) builds from; sign(relu(a)) is relu's 1 for a > 0 and 0 at 0 and below.
    grad_formula: tuple[str, ...] = ()
    vjp: Callable[[Math, Any, Values, Any], tuple[Any, ...]] | None = None  # (m, g, inputs, out)
    jvp: Callable[[Math, Values, Values, Any], Any] | None = None  # (m, tangents, inputs, out)
    rule: str = ""  # how a structural gate hands back gradients, for tables
    tensor: bool = False  # only meaningful on vectors and matrices
    index: tuple[int, ...] | None = None  # the position an index gate picks

    @property
    def arg_names(self) -> list[str]:
        """Its arguments' names as the docs and hints write them: x; x, y; a, b for max."""
        return list(self.params) or (["x", "y"] if self.arity in (2, -1) else ["x"])

    @property
    def shown_name(self) -> str:
        """The name it is printed by as a function."""
        return self.calls[0] if self.calls else self.name

    def __repr__(self) -> str:  # its row has a dozen functions: their addresses say nothing
        return f"<Op {self.name}" + (f" {self.index}" if self.index is not None else "") + ">"


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


def _pow_kink(m: Math, xs: Values, out: Any) -> str | tuple[str, int] | None:
    a, b = xs
    if m.any((a == 0) & (b > 0) & (b < 1)):
        return N_("0^y with 0 < y < 1: derivative with respect to the base is infinite"), 0
    if m.any(a == 0):
        return N_("0^y: derivative with respect to the exponent taken as 0 (PyTorch's convention)"), 1
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


def _sign_branch(m: Math, xs: Values) -> Any:
    return m.sign(xs[0])


def _order_branch(m: Math, xs: Values) -> tuple[Any, ...]:
    """Which of max's or min's inputs is larger than which: the winner changes only where these do."""
    return tuple(m.sign(xs[i] - xs[j]) for i in range(len(xs)) for j in range(i + 1, len(xs)))


def _at_zero(note: str) -> Callable[[Math, Values, Any], str | None]:
    """A kink note for a gate whose (first) input is 0."""
    return lambda m, xs, out: note if _is_zero(m, xs[0]) else None


def _log_domain(what: str, edge: float = 0.0) -> Callable[[Math, Values], str | None]:
    def domain(m: Math, xs: Values) -> str | None:
        x = xs[0]
        if m.any(x == edge):
            return f"{what} of {'zero' if edge == 0 else f'{edge:g}'}"
        if m.any(x < edge):
            return f"{what} of a number below {edge:g}" if edge else f"{what} of a negative number"
        return None

    return domain


def _unit_domain(name: str) -> Callable[[Math, Values], str | None]:
    return lambda m, xs: f"{name} of a number outside [-1, 1]" if m.any((xs[0] < -1) | (xs[0] > 1)) else None


def _unit_kink(name: str) -> Callable[[Math, Values, Any], str | None]:
    return lambda m, xs, out: (
        f"{name} at ±1: derivative is infinite" if m.any((xs[0] == 1) | (xs[0] == -1)) else None
    )


def _logb_local(m: Math, xs: Values, out: Any) -> tuple[Any, Any]:
    a, b = xs
    lb = m.log(b)
    return m.div(1.0, a * lb), m.div(-out, b * lb)


def _logb_domain(m: Math, xs: Values) -> str | None:
    a, b = xs
    if m.any(a <= 0):
        return "log of zero" if _is_zero(m, a) else "log of a negative number"
    if m.any(b <= 0):
        return "a logarithm's base must be positive"
    if m.any(b == 1):
        return "a logarithm's base cannot be 1"
    return None


def _atan2_local(m: Math, xs: Values, out: Any) -> tuple[Any, Any]:
    y, x = xs
    r2 = x * x + y * y
    return m.where(r2 == 0, 0.0, m.div(x, r2)), m.where(r2 == 0, 0.0, m.div(-y, r2))


def _sym_atan2(sp: Any, y: Any, x: Any) -> Any:
    return sp.atan2(y, x)


def _sym_leaky(sp: Any, a: Any) -> Any:
    return sp.Piecewise((a, a > 0), (sp.Rational(1, 100) * a, True))


def _sym_elu(sp: Any, a: Any) -> Any:
    return sp.Piecewise((a, a > 0), (sp.exp(a) - 1, True))


_INVERSE_UNIT = ((-0.9, 0.9),)
_POSITIVE = ((0.1, 4.0),)

ROWS: tuple[Op, ...] = (
    # -- operators ----------------------------------------------------------
    Op("add", 2, lambda m, a, b: a + b, lambda m, xs, out: (1.0, 1.0),
       lambda sp, a, b: a + b, symbol="+", glyph="+", pattern="add distributes", grad_text=("1", "1"),
       smooth=((-2, 2), (-2, 2)), torch="torch.add"),
    Op("sub", 2, lambda m, a, b: a - b, lambda m, xs, out: (1.0, -1.0),
       lambda sp, a, b: a - b, symbol="-", glyph="−", pattern="sub distributes, negated on the right",
       grad_text=("1", "-1"), smooth=((-2, 2), (-2, 2)), torch="torch.sub"),
    Op("mul", 2, lambda m, a, b: a * b, lambda m, xs, out: (xs[1], xs[0]),
       lambda sp, a, b: a * b, symbol="*", glyph="×", pattern="mul swaps", grad_text=("b", "a"),
       smooth=((-2, 2), (-2, 2)), torch="torch.mul"),
    Op("div", 2, lambda m, a, b: m.div(a, b),
       lambda m, xs, out: (m.div(1.0, xs[1]), m.div(-xs[0], xs[1] * xs[1])),
       lambda sp, a, b: a / b, symbol="/", glyph="÷", pattern="div: 1/b and -a/b²", grad_text=("1/b", "(-a)/b^2"),
       domain=lambda m, xs: "division by zero" if _is_zero(m, xs[1]) else None, smooth=((-2, 2), (0.5, 3)),
       convention="defined for y ≠ 0",
       torch="torch.div"),
    Op("pow", 2, lambda m, a, b: m.pow(a, b), _pow_local, ew(_sym_pow), symbol="^", calls=("pow",), glyph="^",
       pattern="power rule", grad_text=("b*a^(b - 1)", "out*log(a)"), domain=_pow_domain, kink=_pow_kink,
       undefined=lambda m, xs, k: "x^y with x < 0: the derivative with respect to the exponent is undefined "
       "(x^y is real only at whole y)" if k == 1 and m.any(xs[0] < 0) else None,
       smooth=((0.2, 3), (-2, 2)),
       convention="0^y: ∂/∂y taken as 0 (PyTorch); 0^y with 0 < y < 1: ∂/∂x infinite; "
       "x^y with x < 0: ∂/∂y undefined", torch="torch.pow"),
    Op("neg", 1, lambda m, a: -a, lambda m, xs, out: (-1.0,),
       lambda sp, a: -a, symbol="-", glyph="−x", pattern="neg flips the sign", grad_text=("-1",), torch="torch.neg"),
    # -- functions ------------------------------------------------------------
    Op("exp", 1, lambda m, a: m.exp(a), lambda m, xs, out: (out,),
       ew(lambda sp, a: sp.exp(a)), calls=("exp",), pattern="exp passes its value", grad_text=("out",),
       torch="torch.exp"),
    Op("expm1", 1, lambda m, a: m.expm1(a), lambda m, xs, out: (out + 1.0,),
       ew(lambda sp, a: sp.exp(a) - 1), calls=("expm1",), pattern="expm1: eˣ", grad_text=("exp(a)",),
       convention="eˣ − 1, exact for small x (expm1(1e-10) is 1e-10)", torch="torch.expm1"),
    Op("log", 1, lambda m, a: m.log(a), lambda m, xs, out: (m.div(1.0, xs[0]),),
       ew(lambda sp, a: sp.log(a)), calls=("log", "ln"), math_name="ln", glyph="ln", pattern="log: 1/x",
       grad_text=("1/a",), domain=_log_domain("log"), smooth=_POSITIVE, torch="torch.log",
       convention="defined for x > 0"),
    Op("logb", 2, lambda m, a, b: m.div(m.log(a), m.log(b)), _logb_local,
       ew(lambda sp, a, b: sp.log(a) / sp.log(b)), calls=("log",), pattern="log base b: 1/(x ln b)",
       grad_text=("1/(a*log(b))", "(-out)/(b*log(b))"), domain=_logb_domain, smooth=((0.2, 4.0), (1.5, 4.0)),
       params=("x", "b"),
       convention="log(x, b) = ln x / ln b; the base must be positive and not 1"),
    Op("log2", 1, lambda m, a: m.log2(a), lambda m, xs, out: (m.div(1.0, xs[0] * math.log(2.0)),),
       ew(lambda sp, a: sp.log(a) / sp.log(2)), calls=("log2",), pattern="log2: 1/(x ln 2)",
       grad_text=("1/(a*log(2))",), domain=_log_domain("log2"), smooth=_POSITIVE, torch="torch.log2",
       convention="defined for x > 0"),
    Op("log10", 1, lambda m, a: m.log10(a), lambda m, xs, out: (m.div(1.0, xs[0] * math.log(10.0)),),
       ew(lambda sp, a: sp.log(a) / sp.log(10)), calls=("log10",), pattern="log10: 1/(x ln 10)",
       grad_text=("1/(a*log(10))",), domain=_log_domain("log10"), smooth=_POSITIVE, torch="torch.log10",
       convention="defined for x > 0"),
    Op("log1p", 1, lambda m, a: m.log1p(a), lambda m, xs, out: (m.div(1.0, 1.0 + xs[0]),),
       ew(lambda sp, a: sp.log(1 + a)), calls=("log1p",), pattern="log1p: 1/(1 + x)",
       grad_text=("1/(1 + a)",), domain=_log_domain("log1p", -1.0), smooth=((-0.8, 3.0),),
       convention="ln(1 + x) for x > -1, exact for small x (log1p(1e-10) is 1e-10)", torch="torch.log1p"),
    Op("sqrt", 1, lambda m, a: m.sqrt(a), lambda m, xs, out: (m.div(0.5, out),),
       ew(lambda sp, a: sp.sqrt(a)), calls=("sqrt",), glyph="√", pattern="sqrt: 1/(2√x)", grad_text=("1/(2*out)",),
       domain=lambda m, xs: "square root of a negative number" if m.any(xs[0] < 0) else None,
       kink=_at_zero(N_("sqrt at 0: derivative is infinite")), smooth=_POSITIVE,
       convention="defined for x ≥ 0; at 0 the derivative is infinite", torch="torch.sqrt"),
    Op("sin", 1, lambda m, a: m.sin(a), lambda m, xs, out: (m.cos(xs[0]),),
       ew(lambda sp, a: sp.sin(a)), calls=("sin",), pattern="sin: cos x", grad_text=("cos(a)",), torch="torch.sin"),
    Op("cos", 1, lambda m, a: m.cos(a), lambda m, xs, out: (-m.sin(xs[0]),),
       ew(lambda sp, a: sp.cos(a)), calls=("cos",), pattern="cos: -sin x", grad_text=("-sin(a)",), torch="torch.cos"),
    Op("tan", 1, lambda m, a: m.tan(a), lambda m, xs, out: (1.0 + out * out,),
       ew(lambda sp, a: sp.tan(a)), calls=("tan",), pattern="tan: 1 + tan²x", grad_text=("1 + out^2",),
       smooth=((-1.2, 1.2),), torch="torch.tan"),
    Op("asin", 1, lambda m, a: m.asin(a), lambda m, xs, out: (m.div(1.0, m.sqrt(1.0 - xs[0] * xs[0])),),
       ew(lambda sp, a: sp.asin(a)), calls=("asin",), pattern="asin: 1/√(1 - x²)",
       grad_text=("1/sqrt(1 - a^2)",), domain=_unit_domain("asin"), kink=_unit_kink("asin"), smooth=_INVERSE_UNIT,
       convention="defined on [-1, 1]; at ±1 the derivative is infinite", torch="torch.asin"),
    Op("acos", 1, lambda m, a: m.acos(a), lambda m, xs, out: (m.div(-1.0, m.sqrt(1.0 - xs[0] * xs[0])),),
       ew(lambda sp, a: sp.acos(a)), calls=("acos",), pattern="acos: -1/√(1 - x²)",
       grad_text=("-1/sqrt(1 - a^2)",), domain=_unit_domain("acos"), kink=_unit_kink("acos"), smooth=_INVERSE_UNIT,
       convention="defined on [-1, 1]; at ±1 the derivative is infinite", torch="torch.acos"),
    Op("atan", 1, lambda m, a: m.atan(a), lambda m, xs, out: (m.div(1.0, 1.0 + xs[0] * xs[0]),),
       ew(lambda sp, a: sp.atan(a)), calls=("atan",), pattern="atan: 1/(1 + x²)", grad_text=("1/(1 + a^2)",),
       torch="torch.atan"),
    Op("atan2", 2, lambda m, y, x: m.atan2(y, x), _atan2_local, ew(_sym_atan2), calls=("atan2",),
       pattern="atan2: (x, -y)/(x² + y²)", grad_text=("b/(a^2 + b^2)", "(-a)/(a^2 + b^2)"),
       branch=lambda m, xs: m.where(xs[1] < 0, m.sign(xs[0]), 0.0),  # the cut along y = 0, x < 0
       params=("y", "x"), kink=lambda m, xs, out: N_("atan2 at (0, 0): gradient taken as 0")
       if m.any((xs[0] == 0) & (xs[1] == 0)) else None, smooth=((-2, 2), (0.3, 2)),
       convention="the angle of the point (x, y), in (-π, π]; at (0, 0) the gradient is taken as 0",
       torch="torch.atan2"),
    Op("sinh", 1, lambda m, a: m.sinh(a), lambda m, xs, out: (m.cosh(xs[0]),),
       ew(lambda sp, a: sp.sinh(a)), calls=("sinh",), pattern="sinh: cosh x", grad_text=("cosh(a)",),
       torch="torch.sinh"),
    Op("cosh", 1, lambda m, a: m.cosh(a), lambda m, xs, out: (m.sinh(xs[0]),),
       ew(lambda sp, a: sp.cosh(a)), calls=("cosh",), pattern="cosh: sinh x", grad_text=("sinh(a)",),
       torch="torch.cosh"),
    Op("tanh", 1, lambda m, a: m.tanh(a), lambda m, xs, out: (1.0 - out * out,),
       ew(lambda sp, a: sp.tanh(a)), calls=("tanh",), pattern="tanh: 1 - tanh²", grad_text=("1 - out^2",),
       torch="torch.tanh"),
    Op("sigmoid", 1, lambda m, a: m.sigmoid(a), lambda m, xs, out: (out * (1.0 - out),),
       ew(lambda sp, a: 1 / (1 + sp.exp(-a))), calls=("sigmoid", "σ"), glyph="σ", pattern="sigmoid: σ(1-σ)",
       grad_text=("out*(1 - out)",), torch="torch.sigmoid"),
    Op("softplus", 1, lambda m, a: m.softplus(a), lambda m, xs, out: (m.sigmoid(xs[0]),),
       ew(lambda sp, a: sp.log(1 + sp.exp(a))), calls=("softplus",), pattern="softplus: σ(x)",
       grad_text=("sigmoid(a)",),
       convention="ln(1 + eˣ) computed as max(x, 0) + log1p(e^-|x|), so it never overflows (softplus(1000) is "
       "1000; PyTorch switches to x above 20)", torch="torch.nn.functional.softplus"),
    Op("relu", 1, lambda m, a: m.relu(a), lambda m, xs, out: (m.step(xs[0]),),
       ew(lambda sp, a: sp.Max(0, a)), calls=("relu",), pattern="relu gates", grad_text=("[{a} > 0]",),
       grad_formula=("sign(relu(a))",),
       kink=_at_zero(N_("relu at 0: local gradient taken as 0 (PyTorch, JAX)")), smooth=((0.2, 2.0),),
       branch=_sign_branch,
       convention="at 0 the local gradient is 0 (PyTorch, JAX)", torch="torch.relu"),
    Op("leaky_relu", 1, lambda m, a: m.where(a > 0, a, LEAKY_SLOPE * a),
       lambda m, xs, out: (m.where(xs[0] > 0, 1.0, LEAKY_SLOPE),), ew(_sym_leaky), calls=("leaky_relu",),
       pattern="leaky_relu gates, 0.01 below 0", grad_text=("(1 if {a} > 0, else 0.01)",),
       grad_formula=("0.01 + 0.99*sign(relu(a))",),
       kink=_at_zero(N_("leaky_relu at 0: local gradient taken as 0.01 (PyTorch)")), smooth=((0.2, 2.0),),
       branch=_sign_branch,
       convention="x for x > 0, else 0.01·x (PyTorch's default slope); at 0 the local gradient is 0.01 (PyTorch)",
       torch="torch.nn.functional.leaky_relu"),
    Op("elu", 1, lambda m, a: m.where(a > 0, a, m.expm1(m.where(a > 0, 0.0, a))),
       lambda m, xs, out: (m.where(xs[0] > 0, 1.0, out + 1.0),), ew(_sym_elu), calls=("elu",),
       pattern="elu gates, eˣ below 0", grad_text=("(1 if {a} > 0, else exp({a}))",), smooth=((0.2, 2.0),),
       grad_formula=("sign(relu(a)) + (1 - sign(relu(a)))*exp(min(a, 0))",),
       convention="x for x > 0, else eˣ − 1 (α = 1, PyTorch's default); smooth at 0, where its slope is 1",
       torch="torch.nn.functional.elu"),
    Op("abs", 1, lambda m, a: m.abs(a), lambda m, xs, out: (m.sign(xs[0]),),
       ew(lambda sp, a: sp.Abs(a)), calls=("abs",), pattern="abs: sign x", grad_text=("sign(a)",),
       kink=_at_zero(N_("abs at 0: local gradient taken as sign(0) = 0")), smooth=((0.2, 2.0),), branch=_sign_branch,
       convention="at 0 the local gradient is sign(0) = 0 (PyTorch, JAX)", torch="torch.abs"),
    Op("sign", 1, lambda m, a: m.sign(a), lambda m, xs, out: (0.0,),
       ew(lambda sp, a: sp.sign(a)), calls=("sign",), pattern="sign: 0", grad_text=("0",),
       kink=_at_zero(N_("sign at 0: a jump; local gradient taken as 0 (PyTorch)")), smooth=((0.2, 2.0),),
       branch=_sign_branch,
       convention="-1, 0 or 1; its local gradient is 0 everywhere, the jump at 0 included (PyTorch)",
       torch="torch.sign"),
    Op("max", -1, lambda m, *xs: m.maximum(xs), lambda m, xs, out: m.tie_locals(xs, out),
       ew(lambda sp, *a: sp.Max(*a)), calls=("max",), pattern="max routes", grad_text=("[{x} is the max]",),
       grad_formula=("(1 + sign(a - b))/2", "(1 - sign(a - b))/2"),  # two inputs, a tie split evenly
       kink=_tie_note("max"), smooth=((-2, -1), (1, 2)), params=("a", "b"), branch=_order_branch,
       convention="a tie splits the gradient evenly (--tie first|all to change)", torch="torch.maximum"),
    Op("min", -1, lambda m, *xs: m.minimum(xs), lambda m, xs, out: m.tie_locals(xs, out),
       ew(lambda sp, *a: sp.Min(*a)), calls=("min",), pattern="min routes", grad_text=("[{x} is the min]",),
       grad_formula=("(1 - sign(a - b))/2", "(1 + sign(a - b))/2"),
       kink=_tie_note("min"), smooth=((-2, -1), (1, 2)), params=("a", "b"), branch=_order_branch,
       convention="a tie splits the gradient evenly (--tie first|all to change)", torch="torch.minimum"),
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
    Op("matmul", 2, lambda m, a, b: m.matmul(a, b), None, _sym_matmul, symbol="@", glyph="@", torch="torch.matmul",
       pattern="matmul: g·bᵀ to a, aᵀ·g to b",
       vjp=lambda m, g, xs, out: m.matmul_vjp(g, xs[0], xs[1]),
       jvp=lambda m, ts, xs, out: m.matmul(ts[0], xs[1]) + m.matmul(xs[0], ts[1]),
       rule="a: g·bᵀ, b: aᵀ·g", tensor=True),
    Op("sum", 1, lambda m, a: m.sum(a), None, lambda sp, a: _np_sum(a), calls=("sum",),
       torch="torch.sum", pattern="sum distributes", vjp=lambda m, g, xs, out: (g * m.ones_like(xs[0]),),
       jvp=lambda m, ts, xs, out: m.sum(ts[0]), rule="g to every element", tensor=True),
    Op("mean", 1, lambda m, a: m.mean(a), None, lambda sp, a: _np_sum(a) / max(1, getattr(a, "size", 1)),
       calls=("mean",), torch="torch.mean", pattern="mean distributes g/n",
       vjp=lambda m, g, xs, out: (g * m.ones_like(xs[0]) / m.size(xs[0]),),
       jvp=lambda m, ts, xs, out: m.mean(ts[0]), rule="g/n to every element", tensor=True),
    Op("T", 1, lambda m, a: m.transpose(a), None, lambda sp, a: a.T if hasattr(a, "T") else a, calls=("T",),
       pattern="transpose", vjp=lambda m, g, xs, out: (m.transpose(g),),
       jvp=lambda m, ts, xs, out: m.transpose(ts[0]), rule="gᵀ", tensor=True),
    # softmax and logsumexp run over every element, as exp(x)/sum(exp(x)) and log(sum(exp(x))) do.
    Op("softmax", 1, lambda m, a: m.softmax(a), None, _sym_softmax, calls=("softmax",),
       convention="over every element of x, as exp(x)/sum(exp(x)) is; PyTorch's softmax takes a dim",
       pattern="softmax: s⊙(g − s·g)",
       vjp=lambda m, g, xs, out: (out * (g - m.sum(g * out)),),
       jvp=lambda m, ts, xs, out: out * (ts[0] - m.sum(out * ts[0])), rule="s⊙(g − Σ g s)", tensor=True),
    Op("logsumexp", 1, lambda m, a: m.logsumexp(a), None, _sym_logsumexp, calls=("logsumexp",),
       convention="over every element of x, without overflow",
       pattern="logsumexp: g·softmax",
       vjp=lambda m, g, xs, out: (g * m.softmax(xs[0]),),
       jvp=lambda m, ts, xs, out: m.sum(m.softmax(xs[0]) * ts[0]), rule="g·softmax(x)", tensor=True),
    Op("log_softmax", 1, lambda m, a: a - m.logsumexp(a), None,
       lambda sp, a: a - _sym_logsumexp(sp, a), calls=("log_softmax",), pattern="log_softmax: g − softmax·Σg",
       vjp=lambda m, g, xs, out: (g - m.softmax(xs[0]) * m.sum(g),),
       jvp=lambda m, ts, xs, out: ts[0] - m.sum(m.softmax(xs[0]) * ts[0]), rule="g − softmax(x) Σ g",
       tensor=True),
    Op("norm", 1, lambda m, a: m.sqrt(m.sum(a * a)), None, lambda sp, a: sp.sqrt(_np_sum(a * a)), calls=("norm",),
       pattern="norm: g·x/‖x‖",
       vjp=lambda m, g, xs, out: (m.where(out == 0, 0.0 * xs[0], g * m.div(xs[0], out)),),
       jvp=lambda m, ts, xs, out: m.where(out == 0, 0.0, m.div(m.sum(xs[0] * ts[0]), out)),
       kink=lambda m, xs, out: N_("norm at 0: gradient taken as 0") if out == 0 else None,
       convention="‖x‖ = √Σx²; at x = 0 the gradient is taken as 0",
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
        rule=f"g to element [{shown}], 0 elsewhere", tensor=True, index=index,
    )


ALL_ROWS: tuple[Op, ...] = (*ROWS, *TENSOR_ROWS)
OPS: dict[str, Op] = {op.name: op for op in ALL_ROWS}


def _calls() -> dict[str, tuple[Op, ...]]:
    found: dict[str, list[Op]] = {}
    for op in ALL_ROWS:
        for name in op.calls:
            found.setdefault(name, []).append(op)
    return {name: tuple(ops) for name, ops in found.items()}


# What the user may call: each name, and the rows it means (log: one argument, or two with a base).
CALLS: dict[str, tuple[Op, ...]] = _calls()
_BY_CALL: dict[tuple[str, int], Op] = {
    (name, op.arity): op for name, ops in CALLS.items() for op in reversed(ops) if op.arity > 0
}
# Each callable name and the op it means with its usual number of arguments.
FUNCTIONS: dict[str, str] = {name: ops[0].name for name, ops in CALLS.items()}
# The infix operators of the parser's chart and the op each means.
BINARY_OPS: dict[str, str] = {op.symbol: op.name for op in ALL_ROWS if op.symbol and op.arity == 2}
UNARY_OPS: dict[str, str] = {op.symbol: op.name for op in ALL_ROWS if op.symbol and op.arity == 1}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def takes(op: Op, n: int) -> bool:
    """Whether ``op`` takes ``n`` arguments."""
    return n == op.arity or (op.arity == -1 and n >= 2) or (op.arity == -2 and n >= 1)


def call_op(name: str, n: int) -> Op | None:
    """The row that ``name(...)`` with ``n`` arguments means, or None when no row of that name takes ``n``."""
    op = _BY_CALL.get((name, n))  # the common case, one lookup: a large formula makes many calls
    if op is not None:
        return op
    return next((op for op in CALLS.get(name, ()) if takes(op, n)), None)


def by_call(name: str, n: int) -> Op:
    """The row ``name(...)`` with ``n`` arguments prints as: the one that takes ``n``, else the first."""
    return call_op(name, n) or CALLS[name][0]


def arity_text(op: Op) -> str:
    if op.arity == -1:
        return "two or more arguments"
    if op.arity == -2:
        return "one or more arguments"
    return f"{op.arity} argument{'s' * (op.arity != 1)}"


def calls_text(name: str) -> str:
    """How many arguments ``name`` takes, over all its rows: '1 argument', '1 or 2 arguments'."""
    counts = [arity_text(op) for op in CALLS[name]]
    if len(counts) == 1:
        return counts[0]
    numbers = [c.split()[0] for c in counts]
    return f"{' or '.join(numbers)} arguments"
