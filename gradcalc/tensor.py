"""Vectors and matrices: the NumPy math namespace, and array literals.

The op rows of :mod:`gradcalc.ops` are written against a math namespace; this
one runs them over NumPy arrays (tensors, and batches of examples in
training), with broadcasting, and answers inf/nan instead of warning.
Imported only when a formula or a value needs it, so scalar formulas never pay
for NumPy.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import GradcalcError, Source
from .grammar import NUMBER_RE
from .limits import MAX_ELEMENTS
from .ops import DEFAULT_TIE


class TooLarge(ValueError):
    """A gate's value would have more than MAX_ELEMENTS elements: raised before it is allocated."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__(f"its value would be {'×'.join(map(str, shape))}")
        self.shape = shape


def fits(shape: tuple[int, ...]) -> None:
    """Refuse a value of this shape, past MAX_ELEMENTS, before NumPy allocates it."""
    if math.prod(shape) > MAX_ELEMENTS:
        raise TooLarge(shape)


class NumpyMath:
    """The math namespace over NumPy arrays: elementwise, broadcasting, IEEE results.

    Broadcasting makes values larger than their inputs: [[1], ...] * [1, ...] is
    rows × columns from text that grows with rows + columns.  The ops that can
    grow (elementwise gates with inputs of different shapes, ``matmul``,
    ``stack``) check their result's shape against MAX_ELEMENTS first.
    """

    def __init__(self, tie: str = DEFAULT_TIE) -> None:
        self.tie = tie

    exp = staticmethod(np.exp)
    expm1 = staticmethod(np.expm1)
    log = staticmethod(np.log)
    log2 = staticmethod(np.log2)
    log10 = staticmethod(np.log10)
    log1p = staticmethod(np.log1p)
    sqrt = staticmethod(np.sqrt)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tan = staticmethod(np.tan)
    asin = staticmethod(np.arcsin)
    acos = staticmethod(np.arccos)
    atan = staticmethod(np.arctan)
    atan2 = staticmethod(np.arctan2)
    sinh = staticmethod(np.sinh)
    cosh = staticmethod(np.cosh)
    tanh = staticmethod(np.tanh)
    abs = staticmethod(np.abs)
    floor = staticmethod(np.floor)
    transpose = staticmethod(np.transpose)
    ones_like = staticmethod(np.ones_like)
    shape = staticmethod(np.shape)
    broadcast_to = staticmethod(np.broadcast_to)

    @staticmethod
    def broadcast_fits(xs: Sequence[Any]) -> None:
        """The inputs of an elementwise gate broadcast to a shape within MAX_ELEMENTS (or not at all: the gate says)."""
        shapes = [np.shape(x) for x in xs]
        if all(shape == shapes[0] for shape in shapes):
            return
        try:
            shape = np.broadcast_shapes(*shapes)
        except ValueError:
            return
        fits(shape)

    @staticmethod
    def sigmoid(x: Any) -> Any:
        z = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))

    @staticmethod
    def pow(a: Any, b: Any) -> Any:
        return np.power(np.asarray(a, dtype=float), b)

    @staticmethod
    def div(a: Any, b: Any) -> Any:
        return np.divide(a, b)

    @staticmethod
    def softplus(x: Any) -> Any:
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def relu(x: Any) -> Any:
        return np.where((x > 0) | (x != x), x, 0.0)  # NaN stays NaN, -0 becomes 0, as ScalarMath's

    @staticmethod
    def sign(x: Any) -> Any:
        return np.where(x > 0, 1.0, np.where(x < 0, -1.0, np.where(x != x, x, 0.0)))

    @staticmethod
    def step(x: Any) -> Any:
        return (np.asarray(x) > 0).astype(float)

    @staticmethod
    def maximum(xs: Sequence[Any]) -> Any:
        return functools.reduce(np.maximum, xs)

    @staticmethod
    def minimum(xs: Sequence[Any]) -> Any:
        return functools.reduce(np.minimum, xs)

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        out = np.where(cond, a, b)
        return out if out.ndim else float(out)

    @staticmethod
    def any(cond: Any) -> bool:
        return bool(np.any(cond))

    @staticmethod
    def unbroadcast(g: Any, like: Any) -> Any:
        """Sum ``g`` over the axes along which ``like`` was broadcast."""
        shape = np.shape(like)
        g = np.asarray(g)
        if g.shape == shape:
            return g
        if not shape:
            return float(g.sum())
        while g.ndim > len(shape):
            g = g.sum(axis=0)
        for axis, n in enumerate(shape):
            if n == 1 and g.shape[axis] != 1:
                g = g.sum(axis=axis, keepdims=True)
        return g

    def tie_locals(self, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        hits = [np.broadcast_to(np.asarray(x) == out, np.shape(out)).astype(float) for x in xs]
        if self.tie == "all":
            return tuple(hits)
        if self.tie == "first":
            taken = np.zeros(np.shape(out))
            firsts = []
            for h in hits:
                first = h * (1.0 - taken)
                taken = np.maximum(taken, h)
                firsts.append(first)
            return tuple(firsts)
        count = np.maximum(sum(hits), 1.0)
        return tuple(h / count for h in hits)

    @staticmethod
    def tie_count(xs: Sequence[Any], out: Any) -> int:
        hits = sum(np.broadcast_to(np.asarray(x) == out, np.shape(out)).astype(int) for x in xs)
        return int(np.max(hits)) if np.size(hits) else 0

    # -- structural ops ---------------------------------------------------
    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError("the matrix product needs vectors or matrices on both sides; use * for scalars")
        shape = _matmul_shape(np.shape(a), np.shape(b))
        if shape is not None:
            fits(shape)
        out = np.matmul(a, b)
        return out if np.ndim(out) else float(out)

    @staticmethod
    def matmul_vjp(g: Any, a: Any, b: Any) -> tuple[Any, Any]:
        a = np.asarray(a)
        b = np.asarray(b)
        g = np.asarray(g)
        if a.ndim == 1 and b.ndim == 1:
            return g * b, g * a
        if a.ndim == 2 and b.ndim == 1:
            return np.outer(g, b), a.T @ g
        if a.ndim == 1 and b.ndim == 2:
            return b @ g, np.outer(a, g)
        return g @ b.T, a.T @ g

    @staticmethod
    def sum(a: Any) -> Any:
        return float(np.sum(a))

    @staticmethod
    def mean(a: Any) -> Any:
        return float(np.mean(a))

    @staticmethod
    def size(a: Any) -> int:
        return int(np.size(a))

    # Over every element, whatever the shape: exp(a)/sum(exp(a)) and log(sum(exp(a))), without overflow.
    @staticmethod
    def softmax(a: Any) -> Any:
        a = np.asarray(a, dtype=float)
        e = np.exp(a - np.max(a))
        out = e / np.sum(e)
        return out if out.ndim else float(out)

    @staticmethod
    def logsumexp(a: Any) -> Any:
        a = np.asarray(a, dtype=float)
        top = np.max(a)
        if not np.isfinite(top):
            return float(np.log(np.sum(np.exp(a))))
        return float(top + np.log(np.sum(np.exp(a - top))))

    @staticmethod
    def stack(xs: Sequence[Any]) -> Any:
        shapes = {np.shape(x) for x in xs}
        if len(shapes) > 1:
            raise ValueError(f"the items of a list must have one shape, not {' and '.join(map(str, sorted(shapes)))}")
        fits((len(xs), *shapes.pop()))
        return np.stack([np.asarray(x, dtype=float) for x in xs])

    @staticmethod
    def take(a: Any, index: tuple[int, ...]) -> Any:
        shape = np.shape(a)
        if len(index) != len(shape):
            raise ValueError(f"{len(index)} ind{'ex' if len(index) == 1 else 'ices'} for a value of shape {shape}")
        for k, (i, n) in enumerate(zip(index, shape, strict=True)):
            if not 0 <= i < n:
                raise ValueError(f"index {i} is out of range for axis {k} of length {n} (indices start at 0)")
        out = np.asarray(a)[index]
        return float(out) if np.ndim(out) == 0 else out

    @staticmethod
    def scatter(g: Any, index: tuple[int, ...], like: Any) -> Any:
        out = np.zeros(np.shape(like))
        out[index] = g
        return out


def _matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape of a @ b by NumPy's rules, or None when the inner dimensions do not match (matmul says)."""
    left, right = (1, *a) if len(a) == 1 else a, (*b, 1) if len(b) == 1 else b
    if left[-1] != right[-2]:
        return None
    try:
        batch = np.broadcast_shapes(left[:-2], right[:-2])
    except ValueError:
        return None
    rows = (left[-2],) if len(a) > 1 else ()  # a vector's added dimension goes again
    columns = (right[-1],) if len(b) > 1 else ()
    return (*batch, *rows, *columns)


def is_array(x: Any) -> bool:
    return isinstance(x, np.ndarray)


def shape_text(x: Any) -> str:
    shape = np.shape(x)
    return "scalar" if not shape else "×".join(map(str, shape))


# ---------------------------------------------------------------------------
# Array literals in values: x=[0.2,0.4], W=[[0.1,0.5],[-0.3,0.8]]


def parse_array(text: str, source: Source, offset: int = 0) -> np.ndarray:
    """A nested list of numbers, read by our own scanner (never eval)."""

    stack: list[list[Any]] = [[]]
    opens: list[int] = []
    i = 0
    n = len(text)
    expect_item = True

    def fail(message: str, at: int, width: int = 1, hint: str | None = None) -> GradcalcError:
        return GradcalcError(
            message,
            kind="value",
            span=(offset + at, offset + at + width),
            hint=hint or "write vectors as [0.2, 0.4] and matrices as [[0.1, 0.5], [-0.3, 0.8]]",
            source=source,
        )

    while i < n:
        ch = text[i]
        if ch in " \t":
            i += 1
        elif ch == "[":
            if not expect_item:
                raise fail("expected ',' or ']'", i)
            stack.append([])
            opens.append(i)
            i += 1
        elif ch == "]":
            if len(stack) == 1:
                raise fail("unmatched ']'", i)
            items = stack.pop()
            opens.pop()
            if not items:
                raise fail("empty list", i)
            if expect_item:
                raise fail("expected a number before ']'", i)
            stack[-1].append(items)
            expect_item = False
            i += 1
        elif ch == ",":
            if expect_item or len(stack) == 1:
                raise fail("unexpected ','", i)
            expect_item = True
            i += 1
        else:
            j = i
            while j < n and text[j] not in "[], \t":
                j += 1
            token = text[i:j].replace("\u2212", "-")
            if not expect_item or not NUMBER_RE.match(token):
                raise fail(f"{text[i:j][:30]!r} is not a number", i, j - i)
            stack[-1].append(float(token))
            expect_item = False
            i = j
    if len(stack) != 1:
        raise fail("unclosed '['", opens[-1], hint="add ']' to close it")
    top = stack[0]
    if len(top) != 1 or not isinstance(top[0], list):
        raise fail("expected one list", 0)
    try:
        array = np.array(top[0], dtype=float)
    except ValueError:
        raise fail(
            "the rows have different lengths", 0, len(text), "every row of a matrix needs the same length"
        ) from None
    if array.ndim > 2:
        raise fail("only vectors and matrices are supported", 0, len(text))
    if array.size > MAX_ELEMENTS:
        raise fail(f"more than {MAX_ELEMENTS:,} elements", 0, len(text))
    if not np.all(np.isfinite(array)):
        raise fail("a number is too large for a 64-bit float", 0, len(text))
    return array
