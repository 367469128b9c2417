"""The passes over a tape — forward, reverse (backprop) and forward mode — and the executors that run them.

A pass is written once per executor, and an executor is chosen once per tape
(:func:`executor`): :class:`Loop`, one Python loop over the nodes on a math
namespace (``ScalarMath`` for floats, ``NumpyMath`` for vectors, matrices and
batches), or :class:`Swept`, gradcalc.sweep's level-vectorized passes for
large scalar tapes.  Both follow the conventions of :mod:`gradcalc.ops`, the
chain rule's zero rule (``chain_product``) first among them, and the tests hold each
to the other.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import GradcalcError
from .limits import MAX_ELEMENTS, MAX_PASS_ELEMENTS
from .ops import ScalarMath, chain_product
from .tape import CONST, GATE, SWEEP_MIN_NODES, VAR, Tape

#
# `m` is the math namespace the op rows run on: ScalarMath for plain floats
# (fast, no NumPy), or gradcalc.tensor.NumpyMath for vectors, matrices and
# batches.  choose_math() picks the one a tape and its inputs need.


def sweep_for(tape: Tape, m: Any = None, inputs: Mapping[str, Any] | None = None) -> Any:
    """gradcalc.sweep's schedule when its vectorized passes apply to the tape (see ``sweep_of``), else None.

    A tape under SWEEP_MIN_NODES never loads that module (about 1 ms of every
    one-shot run), unless something loaded it already (tests lower its floor there).
    """
    if len(tape.nodes) < SWEEP_MIN_NODES and f"{__package__}.sweep" not in sys.modules:
        return None
    from .sweep import sweep_of

    return sweep_of(tape, m, inputs)


def choose_math(tape: Tape, inputs: Mapping[str, Any], tie: str = "split") -> Any:
    """ScalarMath for a scalar tape with numbers for inputs; NumpyMath when anything is a vector or matrix."""
    if tape.has_tensors or any(not isinstance(v, float | int) for v in inputs.values()):
        from .tensor import NumpyMath

        return NumpyMath(tie)
    return ScalarMath(tie)


def executor(tape: Tape, m: Any = None) -> Loop | Swept:
    """The executor for a tape under math ``m``: the sweep for a large scalar tape, else the loop."""
    m = m if m is not None else ScalarMath()
    sweep = sweep_for(tape, m)
    return Swept(tape, m, sweep) if sweep is not None else Loop(tape, m)


@dataclass
class Backprop:
    """The reverse pass: for every node its gradient and its gate's local gradients."""

    grads: list[Any]  # ∂output/∂node: the upstream gradient at each node
    locals: list[tuple[Any, ...] | None]  # ∂node/∂input for each input of elementwise gates
    needs: list[bool]  # whether the node's gradient matters (depends on a variable)
    downs: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # what structural gates handed back

    def downstream(self, tape: Tape, i: int) -> tuple[Any, ...] | None:
        """What gate ``i`` hands back to each input: upstream × local, by the chain rule's zero rule."""
        if i in self.downs:
            return self.downs[i]
        loc = self.locals[i]
        if loc is None:
            return None
        g = self.grads[i]
        return tuple(chain_product(g, lg) for lg in loc)


class Loop:
    """The passes as one Python loop over the nodes, on the math namespace ``m`` (floats or arrays).

    For floats the loop inlines the zero rule (``g != 0 and local != 0``);
    for arrays it calls :func:`gradcalc.ops.chain_product` and sums away broadcasting.
    """

    def __init__(self, tape: Tape, m: Any) -> None:
        self.tape = tape
        self.m = m
        self.scalar = isinstance(m, ScalarMath)

    def forward(self, inputs: Mapping[str, Any]) -> list[Any]:
        """Every node's value, in tape order.

        On arrays, no gate's value may pass MAX_ELEMENTS (checked before it is
        made: see gradcalc.tensor.NumpyMath) nor all the gates' values together
        MAX_PASS_ELEMENTS (a 1,000,000-element value added to itself a thousand
        times is a few kilobytes of text).
        """
        tape, m = self.tape, self.m
        vals: list[Any] = [0.0] * len(tape.nodes)
        arrays = not self.scalar
        total = 0
        i = 0
        try:
            for i, node in enumerate(tape.nodes):
                kind = node.kind
                if kind == GATE:
                    args = node.args
                    op = node.op
                    fwd = op.fwd  # type: ignore[union-attr]
                    if arrays and len(args) > 1 and op.local is not None:  # type: ignore[union-attr]
                        m.broadcast_fits([vals[j] for j in args])  # elementwise: the inputs broadcast
                    if len(args) == 2:
                        vals[i] = fwd(m, vals[args[0]], vals[args[1]])
                    elif len(args) == 1:
                        vals[i] = fwd(m, vals[args[0]])
                    else:
                        vals[i] = fwd(m, *[vals[j] for j in args])
                    if arrays:
                        total += getattr(vals[i], "size", 1)
                        if total > MAX_PASS_ELEMENTS:
                            raise _too_many_elements(tape, i, total)
                elif kind == VAR:
                    vals[i] = inputs[node.label]
                else:
                    vals[i] = node.const
        except (ValueError, TypeError, IndexError) as exc:  # shapes that do not fit
            raise shape_error(tape, vals, i, exc) from None
        return vals

    def output_value(self, inputs: Mapping[str, Any]) -> Any:
        return self.forward(inputs)[self.tape.output]

    def needs(self) -> list[bool]:
        return self.tape.needs_grad()

    def backward(self, vals: list[Any], seed: Any = 1.0) -> Backprop:
        """Reverse mode: one loop backwards over the tape, adding into inputs' gradients.

        ``seed`` is the gradient of the output with respect to itself (an array
        of the output's shape for Jacobian rows).
        """
        tape, m, scalar = self.tape, self.m, self.scalar
        nodes = tape.nodes
        n = len(nodes)
        needs = self.needs()
        grads: list[Any] = [0.0] * n
        local: list[tuple[Any, ...] | None] = [None] * n
        downs: dict[int, tuple[Any, ...]] = {}
        grads[tape.output] = seed
        unbroadcast = m.unbroadcast
        for i in range(tape.output, -1, -1):
            if not needs[i]:
                continue
            node = nodes[i]
            args = node.args
            if not args:
                continue
            op = node.op
            g = grads[i]
            xs = (vals[args[0]], vals[args[1]]) if len(args) == 2 else [vals[j] for j in args]
            if op.vjp is not None:  # type: ignore[union-attr]
                down = op.vjp(m, g, xs, vals[i])  # type: ignore[union-attr]
                if len(down) != len(args):  # pragma: no cover - a broken op row
                    raise AssertionError(f"{op.name}: {len(down)} gradients for {len(args)} inputs")  # type: ignore[union-attr]
                downs[i] = down
                for j, d in zip(args, down, strict=True):
                    if needs[j]:
                        grads[j] = grads[j] + d
                continue
            loc = op.local(m, xs, vals[i])  # type: ignore[union-attr, misc]
            if len(loc) != len(args):  # pragma: no cover - a broken op row
                raise AssertionError(f"{op.name}: {len(loc)} local gradients for {len(args)} inputs")  # type: ignore[union-attr]
            local[i] = loc
            if scalar:
                if g == 0:
                    continue
                for j, lg in zip(args, loc, strict=True):
                    if lg != 0 and needs[j]:
                        grads[j] += g * lg
            else:
                for j, lg in zip(args, loc, strict=True):
                    if needs[j]:
                        grads[j] = grads[j] + unbroadcast(chain_product(g, lg), vals[j])
        return Backprop(grads, local, needs, downs)

    def jvp(self, vals: list[Any], tangents: Mapping[int, Any]) -> list[Any]:
        """Forward mode: push tangents from the variables through each gate's local gradients.

        Independent of the reverse pass: it visits the tape in the other direction
        and sums over a gate's inputs instead of over a node's uses.  Given the
        tangent of each variable (by node index), returns every node's tangent up
        to the output; the output's is the directional derivative.
        """
        tape, m, scalar = self.tape, self.m, self.scalar
        nodes = tape.nodes
        tan: list[Any] = [0.0] * len(nodes)
        for i in range(tape.output + 1):
            node = nodes[i]
            if node.kind == VAR:
                tan[i] = tangents.get(i, 0.0)
                continue
            args = node.args
            if not args or all(_zero(tan[j]) for j in args):
                continue
            op = node.op
            assert op is not None
            xs = (vals[args[0]], vals[args[1]]) if len(args) == 2 else [vals[j] for j in args]
            if op.jvp is not None:
                ts = [tan[j] if not _zero(tan[j]) else 0.0 * m.ones_like(vals[j]) if not isinstance(vals[j], float)
                      else 0.0 for j in args]
                tan[i] = op.jvp(m, ts, xs, vals[i])
                continue
            loc = op.local(m, xs, vals[i])  # type: ignore[misc]
            total: Any = 0.0
            for j, lg in zip(args, loc, strict=True):
                t = tan[j]
                if scalar:
                    if t != 0 and lg != 0:
                        total += lg * t
                elif not _zero(t):
                    total = total + chain_product(t, lg)
            if not scalar and not isinstance(vals[i], float) and m.shape(total) != m.shape(vals[i]):
                total = m.broadcast_to(total, m.shape(vals[i])).copy()  # a scalar's tangent spreads like its value
            tan[i] = total
        return tan

    def kink_candidates(self, vals: list[Any], needs: list[bool]) -> Iterable[int]:
        """The nodes whose op's kink rule is worth asking: all of them."""
        return range(len(self.tape.nodes))

    def values_array(self, vals: list[Any]) -> Any:
        """The forward values as one array, when the executor keeps one (the loop does not)."""
        return None


class Swept:
    """gradcalc.sweep's vectorized passes over a large scalar tape, behind the loop's interface."""

    def __init__(self, tape: Tape, m: Any, sweep: Any) -> None:
        self.tape = tape
        self.m = m
        self.sweep = sweep
        self.scalar = True

    def forward(self, inputs: Mapping[str, Any]) -> list[Any]:
        return self.sweep.forward(inputs)

    def output_value(self, inputs: Mapping[str, Any]) -> Any:
        return self.sweep.output_value(inputs)

    def needs(self) -> list[bool]:
        return self.sweep.needs()

    def backward(self, vals: list[Any], seed: Any = 1.0) -> Backprop:
        needs = self.needs()
        return Backprop(self.sweep.backward(vals, needs, float(seed)), self.sweep.lazy_locals(vals, needs), needs, {})

    def jvp(self, vals: list[Any], tangents: Mapping[int, Any]) -> list[Any]:
        return self.sweep.jvp(vals, tangents)

    def kink_candidates(self, vals: list[Any], needs: list[bool]) -> Iterable[int]:
        return self.sweep.kink_candidates(vals, needs)

    def values_array(self, vals: list[Any]) -> Any:
        return self.sweep.values_array(vals)


Executor = Loop | Swept


# The passes as functions of a tape, for callers with no executor at hand; each picks one.


def forward(tape: Tape, inputs: Mapping[str, Any], m: Any = None) -> list[Any]:
    """Every node's value, in tape order."""
    return executor(tape, m).forward(inputs)


def output_value(tape: Tape, inputs: Mapping[str, Any], m: Any = None) -> Any:
    """The output's value alone, for central differences: ``forward(tape, inputs, m)[tape.output]``,
    without a large tape's list of every value."""
    return executor(tape, m).output_value(inputs)


def backward(tape: Tape, vals: list[Any], m: Any = None, seed: Any = 1.0) -> Backprop:
    """Reverse mode (see :meth:`Loop.backward`)."""
    return executor(tape, m).backward(vals, seed)


def jvp(tape: Tape, vals: list[Any], tangents: Mapping[int, Any], m: Any = None) -> list[Any]:
    """Forward mode (see :meth:`Loop.jvp`)."""
    return executor(tape, m).jvp(vals, tangents)


def _zero(g: Any) -> bool:
    return isinstance(g, float | int) and g == 0


def shape_error(tape: Tape, vals: list[Any], i: int, exc: Exception) -> GradcalcError:
    from .tensor import TooLarge, shape_text

    node = tape.nodes[i]
    shapes = ", ".join(f"{tape.nodes[j].label}: {shape_text(vals[j])}" for j in node.args)
    if isinstance(exc, TooLarge):
        return GradcalcError(
            f"gate {node.label} = {tape.gate_text(i)} would have {math.prod(exc.shape):,} elements "
            f"({'×'.join(map(str, exc.shape))}), more than the limit of {MAX_ELEMENTS:,}",
            kind="limit",
            span=node.span,
            hint=f"the inputs' shapes are {shapes}; a value may have at most {MAX_ELEMENTS:,} elements",
            source=tape.source,
        )
    reason = str(exc).split("\n")[0]
    if "broadcast" in reason or "could not be broadcast" in reason:
        reason = "the shapes do not broadcast together"
    elif "mismatch" in reason or "matmul" in reason:
        reason = "the inner dimensions do not match"
    return GradcalcError(
        f"shape error in gate {node.label} = {tape.gate_text(i)}: {reason}",
        kind="shape",
        span=node.span,
        hint=f"the inputs' shapes are {shapes}",
        source=tape.source,
    )


def _too_many_elements(tape: Tape, i: int, total: int) -> GradcalcError:
    node = tape.nodes[i]
    return GradcalcError(
        f"the forward pass's values reach {total:,} elements at gate {node.label} = {tape.gate_text(i)}, "
        f"more than the limit of {MAX_PASS_ELEMENTS:,} in all",
        kind="limit",
        span=node.span,
        hint="use fewer or smaller vectors and matrices",
        source=tape.source,
    )


def finite(v: Any) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    from .tensor import np

    return bool(np.all(np.isfinite(v)))


def first_nonfinite(tape: Tape, vals: list[Any]) -> int | None:
    """The first node (in evaluation order) whose value is inf or nan."""
    if tape._sweep and tape._sweep.known_finite(vals):
        return None
    if all(map(finite, vals)):
        return None
    for i, v in enumerate(vals):
        if not finite(v):
            return i
    return None  # pragma: no cover


def check_forward(tape: Tape, vals: list[Any], m: Any = None) -> None:
    """Raise a located error naming the first gate whose value is not finite."""
    i = first_nonfinite(tape, vals)
    if i is None:
        return
    m = m if m is not None else ScalarMath()
    node = tape.nodes[i]
    xs = [vals[j] for j in node.args]
    gate = f"{node.label} = {tape.gate_text(i)}"
    shown = [f"{tape.nodes[j].label} = {_short(vals[j])}" for j in node.args if tape.nodes[j].kind != CONST]
    inputs = ", ".join(shown)
    are = "s are" if len(shown) > 1 else " is"
    problem = node.op.domain(m, xs) if node.op is not None and node.op.domain else None
    if problem:
        raise GradcalcError(
            f"{problem} in gate {gate}",
            kind="domain",
            span=node.span,
            hint=f"its input{are} {inputs}; choose values inside its domain" if shown
            else "its inputs are constants: change the formula",
            source=tape.source,
        )
    what = "not a number" if not _any_inf(vals[i]) else "infinite"
    raise GradcalcError(
        f"overflow: gate {gate} is {what}",
        kind="overflow",
        span=node.span,
        hint=f"its input{are} {inputs}; 64-bit floats reach about 1.8e308" if shown
        else "its inputs are constants; 64-bit floats reach about 1.8e308",
        source=tape.source,
    )


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    from .render.numbers import fmt  # a leaf module: numbers as the tables show them

    return fmt(v, 4)  # [-1, 2], not NumPy's [-1.  2.]


def _any_inf(v: Any) -> bool:
    if isinstance(v, float):
        return math.isinf(v)
    from .tensor import np

    return bool(np.any(np.isinf(v)))
