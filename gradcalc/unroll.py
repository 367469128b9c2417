"""Vectors and matrices unrolled into scalar gates: one scalar variable per element.

The gradient graph (:mod:`gradcalc.gradgraph`) is written for scalar gates,
whose local gradients are formulas of the op rows.  A formula over vectors
and matrices is the same function of their elements, and this module writes
it so: an elementwise gate once per element of its (broadcast) value, ``sum``
and ``mean`` as a chain of additions, ``A @ B`` as the sums of products it
is, ``T`` as a new order of the same elements, an index as the element it
picks, ``norm`` as √Σx², and ``softmax``/``logsumexp`` as exp(x − c)/Σexp(x − c)
and c + log Σexp(x − c) with c the largest input at the point — the same
function for every c, so its derivatives are exact, and no exp overflows.

Each element of a variable becomes a scalar variable named so the parser
reads it (``v_0``, ``W_0_1``; more underscores if one of those is taken) and
labelled as the rest of gradcalc labels elements (``v[0]``, ``W[0, 1]``).
The unrolled tape is a scalar tape like any other; it grows with the work
the tensor gates do (a 10×10 matrix product is 1,900 gates), so its size is
refused past :data:`gradcalc.limits.MAX_SECOND_ORDER_NODES` as soon as it
crosses it.  Nothing here recurses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import GradcalcError, Span
from .limits import MAX_SECOND_ORDER_NODES
from .ops import CONSTANTS, FUNCTIONS, OPS, Op
from .tape import CONST, GATE, VAR, Node, Tape

_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def element_label(name: str, pos: tuple[int, ...]) -> str:
    """An element as tables, JSON and SymPy's symbols call it: ``v[0]``, ``W[0, 1]``; a number by its name."""
    return name if not pos else f"{name}[{', '.join(map(str, pos))}]"


@dataclass(frozen=True)
class Element:
    """One scalar variable of the unrolled tape: an element of a variable (or a number variable itself)."""

    label: str  # v[1], W[0, 1]; a number variable's own name
    variable: str  # v
    position: tuple[int, ...]  # (1,); () for a number
    name: str  # its variable in the unrolled tape, a name the parser reads: v_1, W_0_1


@dataclass
class Unrolled:
    tape: Tape  # every gate scalar; its variables are the elements' names
    elements: list[Element]  # in the order of the formula's variables, each in row-major order
    inputs: dict[str, float]  # each element's value, by its name in the unrolled tape

    def by_label(self) -> dict[str, Element]:
        return {e.label: e for e in self.elements}


def elements_of(tape: Tape, inputs: Mapping[str, Any]) -> list[Element]:
    """Every element of every variable, named for the unrolled tape (a number variable keeps its name)."""
    import numpy as np

    shapes = {n: np.shape(inputs[n]) for n in tape.variables}
    taken = set(tape.variables) | set(tape.bindings) | set(CONSTANTS) | set(FUNCTIONS)
    sep = "_"
    while True:
        found: list[Element] = []
        for n in tape.variables:
            if not shapes[n]:
                found.append(Element(n, n, (), n))
                continue
            for ix in np.ndindex(shapes[n]):
                pos = tuple(int(k) for k in ix)
                found.append(Element(element_label(n, pos), n, pos, n + sep + sep.join(map(str, pos))))
        made = [e.name for e in found if e.position]
        if len(set(made)) == len(made) and not taken.intersection(made):
            return found
        sep += "_"  # v_1 with v[1, 2] made v_1_2 twice, or a name of the formula is one of them


Layout = Any  # a node index of the unrolled tape, or an object array of them shaped as the value


def unroll(tape: Tape, inputs: Mapping[str, Any], values: Sequence[Any] | None = None) -> Unrolled:
    """The formula as scalar gates, at the shapes of ``inputs`` (``values``: its forward values, for the shifts)."""
    return _Unroller(tape, inputs, values).run()


class _Unroller:
    def __init__(self, tape: Tape, inputs: Mapping[str, Any], values: Sequence[Any] | None) -> None:
        self.tape = tape
        self.inputs = inputs
        self.values = values
        self.nodes: list[Node] = []
        self.parts: dict[str, int] = {}

    def part(self, label: str) -> str:
        """A label for a step inside one of the formula's gates: q₁, q₂, ... (q[0]₁ inside element q[0])."""
        k = self.parts[label] = self.parts.get(label, 0) + 1
        return label + str(k).translate(_SUBSCRIPT)

    def add(self, node: Node) -> int:
        if len(self.nodes) >= MAX_SECOND_ORDER_NODES:
            raise GradcalcError(
                f"written as scalar gates, the formula has more than {MAX_SECOND_ORDER_NODES:,} nodes, "
                f"the limit for second derivatives",
                kind="limit", span=node.span, source=self.tape.source,
                hint="second derivatives differentiate every element's gate: use smaller vectors and matrices",
            )
        self.nodes.append(node)
        return len(self.nodes) - 1

    def const(self, value: float, span: Span) -> int:
        text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
        return self.add(Node(CONST, None, (), span, text, const=float(value)))

    def gate(self, op: Op, args: Sequence[int], span: Span, label: str) -> int:
        return self.add(Node(GATE, op, tuple(args), span, label))

    def run(self) -> Unrolled:
        import numpy as np

        tape = self.tape
        elements = elements_of(tape, self.inputs)
        by_variable: dict[str, list[Element]] = {}
        for e in elements:
            by_variable.setdefault(e.variable, []).append(e)
        variables: dict[str, int] = {}
        layouts: list[Layout] = [None] * len(tape.nodes)
        used = tape.reachable()
        for i, node in enumerate(tape.nodes):
            if node.kind == VAR:
                parts = by_variable.get(node.label, [])
                made = [self.add(Node(VAR, None, (), node.span, e.name, named=True)) for e in parts]
                for e, k in zip(parts, made, strict=True):
                    variables[e.name] = k
                value = self.inputs.get(node.label, 0.0)
                layouts[i] = made[0] if not np.shape(value) else np.array(made, dtype=object).reshape(np.shape(value))
            elif not used[i]:
                continue
            elif node.kind == CONST:
                if isinstance(node.const, float):
                    layouts[i] = self.add(Node(CONST, None, (), node.span, node.label, const=node.const))
                else:
                    arr = np.asarray(node.const, dtype=float)
                    out = np.empty(arr.shape, dtype=object)
                    for ix in np.ndindex(arr.shape):
                        out[ix] = self.const(float(arr[ix]), node.span)
                    layouts[i] = out
            else:
                assert node.op is not None
                layouts[i] = self.unroll_gate(i, node, [layouts[j] for j in node.args])
        out = layouts[tape.output]
        if not isinstance(out, int):
            node = tape.nodes[tape.output]
            raise GradcalcError(
                f"the output {node.label} is a vector or matrix, not a number", kind="shape", span=node.span,
                source=tape.source, hint="wrap it in sum(...), or take its Jacobian with 'gradcalc jacobian'",
            )
        ordered = {e.name: variables[e.name] for e in elements}
        unrolled = Tape(self.nodes, out, tape.source, ordered, _tensors=False)
        point = {e.name: float(self.inputs[e.variable][e.position]) if e.position else float(self.inputs[e.variable])
                 for e in elements}
        return Unrolled(unrolled, elements, point)

    # -- one gate of the formula, as scalar gates -------------------------------------------------

    def unroll_gate(self, i: int, node: Node, args: list[Layout]) -> Layout:
        op = node.op
        assert op is not None
        if op.index is not None:
            return args[0][op.index]
        if not op.tensor:
            return self.elementwise(op, args, node)
        rule = _STRUCTURAL.get(op.name)
        if rule is None:  # pragma: no cover - a new tensor row without its unrolled form
            raise GradcalcError(
                f"{op.shown_name} is not written as scalar gates yet, so its second derivatives are not taken",
                kind="shape", span=node.span, source=self.tape.source,
            )
        return rule(self, i, node, args)

    def elementwise(self, op: Op, args: list[Layout], node: Node) -> Layout:
        import numpy as np

        if all(isinstance(a, int) for a in args):
            return self.gate(op, args, node.span, node.label)
        arrays = [np.asarray(a, dtype=object) if not isinstance(a, int) else _cell(a) for a in args]
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        spread = [np.broadcast_to(a, shape) for a in arrays]
        out = np.empty(shape, dtype=object)
        for ix in np.ndindex(shape):
            pos = tuple(int(k) for k in ix)
            out[ix] = self.gate(op, [int(a[ix]) for a in spread], node.span, element_label(node.label, pos))
        return out

    def chain(self, items: list[int], span: Span, label: str, last: bool = True) -> int:
        """items[0] + items[1] + ...: the last addition labelled ``label`` (if ``last``), the others its steps."""
        acc = items[0]
        add = OPS["add"]
        for k, item in enumerate(items[1:], 1):
            acc = self.gate(add, [acc, item], span, label if last and k == len(items) - 1 else self.part(label))
        return acc

    def shift(self, i: int, node: Node) -> float:
        """The largest input of a softmax or logsumexp at the point (0 when unknown or not finite)."""
        if self.values is None:
            return 0.0
        import numpy as np

        top = float(np.max(self.values[node.args[0]]))
        return top if math.isfinite(top) else 0.0

    def exps(self, i: int, node: Node, x: Layout) -> tuple[list[int], float]:
        """exp(x − c) for each element of x, and c."""
        c = self.shift(i, node)
        found = []
        for item in _items(x):
            arg = item if c == 0 else self.gate(OPS["sub"], [item, self.const(c, node.span)], node.span,
                                                self.part(node.label))
            found.append(self.gate(OPS["exp"], [arg], node.span, self.part(node.label)))
        return found, c

    def logsumexp(self, i: int, node: Node, x: Layout, label: str) -> int:
        e, c = self.exps(i, node, x)
        total = self.chain(e, node.span, label, last=False)
        if c == 0:
            return self.gate(OPS["log"], [total], node.span, label)
        log = self.gate(OPS["log"], [total], node.span, self.part(label))
        return self.gate(OPS["add"], [self.const(c, node.span), log], node.span, label)


def _cell(k: int) -> Any:
    import numpy as np

    out = np.empty((), dtype=object)
    out[()] = k
    return out


def _items(x: Layout) -> list[int]:
    return [x] if isinstance(x, int) else list(x.flat)


def _like(x: Layout, items: list[int]) -> Layout:
    import numpy as np

    if isinstance(x, int):
        return items[0]
    return np.array(items, dtype=object).reshape(x.shape)


def _sum(u: _Unroller, i: int, node: Node, args: list[Layout]) -> Layout:
    return u.chain(_items(args[0]), node.span, node.label)


def _mean(u: _Unroller, i: int, node: Node, args: list[Layout]) -> Layout:
    items = _items(args[0])
    if len(items) == 1:
        return items[0]
    total = u.chain(items, node.span, node.label, last=False)
    return u.gate(OPS["div"], [total, u.const(float(len(items)), node.span)], node.span, node.label)


def _transpose(u: _Unroller, i: int, node: Node, args: list[Layout]) -> Layout:
    return args[0] if isinstance(args[0], int) else args[0].T


def _matmul(u: _Unroller, i: int, node: Node, args: list[Layout]) -> Layout:
    import numpy as np

    a, b = args
    a2 = a if a.ndim == 2 else a[None, :]
    b2 = b if b.ndim == 2 else b[:, None]
    rows, inner = a2.shape
    cols = b2.shape[1]
    out = np.empty((rows, cols), dtype=object)
    for r in range(rows):
        for c in range(cols):
            pos: tuple[int, ...] = (r, c) if a.ndim == 2 and b.ndim == 2 else (r,) if a.ndim == 2 else (c,)
            label = element_label(node.label, pos if a.ndim + b.ndim > 2 else ())
            products = [u.gate(OPS["mul"], [a2[r, k], b2[k, c]], node.span, u.part(label)) for k in range(inner)]
            out[r, c] = u.chain(products, node.span, label)
    if a.ndim == 1 and b.ndim == 1:
        return out[0, 0]
    if a.ndim == 1:
        return out[0, :]
    return out[:, 0] if b.ndim == 1 else out


def _softmax(u: _Unroller, i: int, node: Node, args: list[Layout]) -> Layout:
    e, _ = u.exps(i, node, args[0])
    total = u.chain(e, node.span, node.label, last=False)
    shape = () if isinstance(args[0], int) else args[0].shape
    import numpy as np

    out = [u.gate(OPS["div"], [item, total], node.span,
                  element_label(node.label, tuple(int(k) for k in np.unravel_index(n, shape)) if shape else ()))
           for n, item in enumerate(e)]
    return _like(args[0], out)


def _logsumexp(u: _Unroller, i: int, node: Node, args: list[Layout]) -> Layout:
    return u.logsumexp(i, node, args[0], node.label)


def _log_softmax(u: _Unroller, i: int, node: Node, args: list[Layout]) -> Layout:
    import numpy as np

    lse = u.logsumexp(i, node, args[0], u.part(node.label))
    shape = () if isinstance(args[0], int) else args[0].shape
    out = [u.gate(OPS["sub"], [item, lse], node.span,
                  element_label(node.label, tuple(int(k) for k in np.unravel_index(n, shape)) if shape else ()))
           for n, item in enumerate(_items(args[0]))]
    return _like(args[0], out)


def _norm(u: _Unroller, i: int, node: Node, args: list[Layout]) -> Layout:
    squares = [u.gate(OPS["mul"], [x, x], node.span, u.part(node.label)) for x in _items(args[0])]
    return u.gate(OPS["sqrt"], [u.chain(squares, node.span, node.label, last=False)], node.span, node.label)


def _stack(u: _Unroller, i: int, node: Node, args: list[Layout]) -> Layout:
    import numpy as np

    shape = () if isinstance(args[0], int) else args[0].shape
    out = np.empty((len(args), *shape), dtype=object)
    for k, item in enumerate(args):
        out[k] = item
    return out


_STRUCTURAL: dict[str, Callable[[_Unroller, int, Node, list[Layout]], Layout]] = {
    "sum": _sum, "mean": _mean, "T": _transpose, "matmul": _matmul, "softmax": _softmax,
    "logsumexp": _logsumexp, "log_softmax": _log_softmax, "norm": _norm, "stack": _stack,
}
