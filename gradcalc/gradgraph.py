"""Backprop that builds a graph: the reverse pass written out as a gradcalc program of the same op rows.

For a tape, :func:`gradient_program` writes the forward pass as statements
(one per gate, ``_v3 = _v1 * z``), then the reverse pass, one statement per
node's gradient, each a sum over the node's uses of the upstream gradient times
the row's local gradient formula (``grad_text``, or ``grad_formula`` where the
text is a notation such as relu's ``[x > 0]``)::

    _g4 = 1
    _g3 = _g4 * z
    ...

gradcalc's own parser and builder make a tape of it, so everything that works
on a tape works on a gradient: values, tables, traces, checks, and
differentiating again — the Hessian is the Jacobian of the gradient program,
and f'' is the gradient of the gradient.  Like DeZero's ``create_graph`` or
JAX's jvp-of-vjp, but as a program a reader can print.

Scalar formulas only: vectors and matrices have structural gates whose
gradients are not written as formulas, so :mod:`gradcalc.unroll` first
unrolls such a formula into one scalar gate per element.  The text is made
from our own rows and names, never from the user's text, and read by our own
parser.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import GradcalcError
from .limits import MAX_SECOND_ORDER_NODES
from .ops import Op
from .printer import NOWHERE, TEXT, gate_tree, parse_template, to_string
from .tape import CONST, GATE, VAR, Node, Tape
from .tree import Binary, Call, Expr, Name, Num, Unary, rebuild


@dataclass(frozen=True)
class GradientProgram:
    """The program text and, for each variable differentiated by, the name of its gradient in it."""

    text: str
    gradients: dict[str, str]  # variable -> name of ∂output/∂variable in the program
    # node of the tape -> ∂output/∂node in the program: a name, or a number (the output's own 1);
    # a node that depends on a variable but is missing has the gradient 0
    upstream: dict[int, str] = field(default_factory=dict)
    # Each name the program assigns, and what it stands for: (VALUE, i) is node i's value
    # (``_v3``), (GRADIENT, i) is ∂output/∂node i (``_g3``); pictures label the gates by it.
    names: dict[str, tuple[str, int]] = field(default_factory=dict)


VALUE, GRADIENT = "value", "gradient"


def _prefix(tape: Tape) -> str:
    """A prefix for the program's own names that no variable of the formula starts with."""
    prefix = "_v"
    while any(name.startswith(prefix) or name.startswith(prefix.replace("v", "g")) for name in tape.variables):
        prefix = "_" + prefix
    return prefix


def _local_formula(op: Op, k: int) -> str:
    texts = op.grad_formula or op.grad_text
    if not texts:
        raise GradcalcError(
            f"the gradient graph has no formula for {op.shown_name}'s local gradient",
            kind="shape",
            hint="gradients as graphs are written for scalar formulas",
        )
    text = texts[min(k, len(texts) - 1)]
    if "{" in text:  # pragma: no cover - a row without grad_formula for its notation
        raise GradcalcError(f"{op.shown_name}'s local gradient is a notation, not a formula", kind="shape")
    return text


# ---------------------------------------------------------------------------
# Expressions built the short way: 0 and 1 drop out, signs gather, numbers fold


def number(value: float) -> Expr:
    """A number as a tree that prints back to it: -2 is a minus sign and a 2."""
    if value < 0 or (value == 0 and math.copysign(1.0, value) < 0):
        return Unary("-", number(-value), NOWHERE)
    text = format(value, ".15g")
    if float(text) != value:
        text = repr(value)
    if "e" in text and "." not in text.split("e")[0] and text not in ("inf", "nan"):
        text = repr(value)
    return Num(value, text, NOWHERE)


def value_of(e: Expr) -> float | None:
    """The number ``e`` is, when it is a number (a Num, or a minus sign and a Num)."""
    if isinstance(e, Num):
        return e.value
    if isinstance(e, Unary) and e.op == "-" and isinstance(e.operand, Num):
        return -e.operand.value
    return None


def _negated(e: Expr) -> Expr | None:
    """``x`` when ``e`` is ``-x``."""
    return e.operand if isinstance(e, Unary) and e.op == "-" else None


def _left_chain(e: Expr) -> tuple[list[Binary], Expr]:
    """The products and quotients down ``e``'s left side, and the factor at the bottom of them."""
    chain: list[Binary] = []
    while isinstance(e, Binary) and e.op in ("*", "/"):
        chain.append(e)
        e = e.left
    return chain, e


def _rebuild(chain: list[Binary], bottom: Expr) -> Expr:
    for link in reversed(chain):
        bottom = Binary(link.op, bottom, link.right, NOWHERE, NOWHERE)
    return bottom


def magnitude(e: Expr) -> Expr | None:
    """``x`` when ``e`` reads as ``-x``: a minus sign, or a product whose first factor is negative."""
    inner = _negated(e)
    if inner is not None:
        return inner
    chain, bottom = _left_chain(e)
    n = value_of(bottom)
    if n is not None and n < 0:
        if n == -1 and chain and chain[-1].op == "*":  # -1*x*y is x*y
            return _rebuild(chain[:-1], chain[-1].right)
        return _rebuild(chain, number(-n))
    inner = _negated(bottom)
    if chain and inner is not None:
        return _rebuild(chain, inner)
    return None


def negate(e: Expr) -> Expr:
    """``-e``: a number's sign flips, ``-(-x)`` is ``x``, and ``-(2*x/y)`` is ``-2*x/y``."""
    n = value_of(e)
    if n is not None:
        return number(-n)
    positive = magnitude(e)
    if positive is not None:
        return positive
    chain, bottom = _left_chain(e)
    if chain and (isinstance(bottom, Name) or value_of(bottom) is not None):
        return _rebuild(chain, negate(bottom))  # the sign on the first factor: -w0*x0
    return Unary("-", e, NOWHERE)


def plus(a: Expr, b: Expr) -> Expr:
    x, y = value_of(a), value_of(b)
    if x is not None and y is not None:
        return number(x + y)
    if x == 0:
        return b
    if y == 0:
        return a
    if x is not None:  # the number last: y - 2, not -2 + y
        a, b = b, a
    positive = magnitude(b)
    if positive is not None:
        return Binary("-", a, positive, NOWHERE, NOWHERE)
    return Binary("+", a, b, NOWHERE, NOWHERE)


def product(a: Expr, b: Expr) -> Expr:
    """``a * b``; a zero factor makes 0 (the chain rule's zero rule), a factor 1 drops, signs come out front."""
    x, y = value_of(a), value_of(b)
    if x is not None and y is not None:
        return number(x * y)
    if x == 0 or y == 0:
        return number(0.0)
    if x == 1:
        return b
    if y == 1:
        return a
    if x == -1:
        return negate(b)
    if y == -1:
        return negate(a)
    ma, mb = _negated(a), _negated(b)
    if ma is not None or mb is not None:
        inner = product(a if ma is None else ma, b if mb is None else mb)
        return negate(inner) if (ma is None) != (mb is None) else inner
    if y is not None and x is None:  # the number first: 2*x, not x*2
        a, b = b, a
    return Binary("*", a, b, NOWHERE, NOWHERE)


def minus(a: Expr, b: Expr) -> Expr:
    return plus(a, negate(b))


def quotient(a: Expr, b: Expr) -> Expr:
    x, y = value_of(a), value_of(b)
    if x is not None and y is not None and y != 0:
        return number(x / y)
    if y == 1:
        return a
    if x == 0 and y is None:
        return number(0.0)
    ma, mb = _negated(a), _negated(b)
    if ma is not None or mb is not None:
        inner = quotient(a if ma is None else ma, b if mb is None else mb)
        return negate(inner) if (ma is None) != (mb is None) else inner
    return Binary("/", a, b, NOWHERE, NOWHERE)


def power(a: Expr, b: Expr) -> Expr:
    x, y = value_of(a), value_of(b)
    if y == 1:
        return a
    if y == 0:
        return number(1.0)
    if x is not None and y is not None:
        from .ops import ScalarMath

        return number(ScalarMath.pow(x, y))
    return Binary("^", a, b, NOWHERE, NOWHERE)


_BUILD = {"+": plus, "-": minus, "*": product, "/": quotient, "^": power}


def _gate(op: Op, args: list[Expr]) -> Expr:
    """The expression a gate computes over its inputs, built the short way."""
    if op.symbol and len(args) == 2:
        return _BUILD[op.symbol](*args)
    if op.symbol == "-" and len(args) == 1:
        return negate(args[0])
    return gate_tree(op, args)


def instantiate(template: Expr, bound: dict[str, Expr]) -> Expr:
    """A row's formula over ``a``, ``b`` and ``out`` with those replaced, rebuilt the short way.

    Only the template is walked (a few nodes): what is bound is put in as it is,
    so a large shared input costs nothing to substitute.  A function of numbers
    is folded to its number.
    """
    from .ops import ScalarMath, by_call

    def make(node: Expr, kids: list[Expr]) -> Expr:
        if isinstance(node, Name):
            return bound.get(node.id, node)
        if isinstance(node, Unary):
            return negate(kids[0]) if node.op == "-" else kids[0]
        if isinstance(node, Binary):
            return _BUILD[node.op](kids[0], kids[1])
        if isinstance(node, Call):
            numbers = [value_of(k) for k in kids]
            if all(n is not None for n in numbers):
                return number(float(by_call(node.func, len(kids)).fwd(ScalarMath(), *numbers)))
            return Call(node.func, tuple(kids), NOWHERE, NOWHERE)
        return node

    return rebuild(template, make)


# ---------------------------------------------------------------------------
# The reverse pass over expressions, written once for the program and for formulas


@dataclass
class Reverse:
    """The passes over expressions: each node's value, its upstream gradient, and each gate's local gradients."""

    value: dict[int, Expr]  # what stands for the node's value (its name, or its formula)
    upstream: dict[int, Expr]  # ∂output/∂node, for the nodes that need a gradient
    local: dict[int, list[tuple[int, Expr]]]  # per gate: (input node, ∂node/∂input) for the inputs that need one


def reverse_pass(
    tape: Tape,
    leaf: Callable[[int], Expr],
    bind_value: Callable[[int, Expr], Expr],
    bind_gradient: Callable[[int, Expr], Expr],
) -> Reverse:
    """Forward, then reverse, over expressions instead of numbers.

    ``leaf(i)`` stands for a variable or constant; ``bind_value(i, formula)``
    and ``bind_gradient(i, formula)`` return what stands for a gate's value and
    a node's gradient from then on: a name in a program, or the formula itself.
    A gate whose inputs are all numbers is folded into its number.
    """
    from .ops import ScalarMath

    nodes = tape.nodes
    used = tape.reachable()
    needs = tape.needs_grad()
    m = ScalarMath()
    value: dict[int, Expr] = {}
    for i, node in enumerate(nodes):
        if not used[i]:
            continue
        if node.kind != GATE:
            value[i] = leaf(i)
            continue
        assert node.op is not None
        args = [value[j] for j in node.args]
        if node.op.arity == -1 and len(args) > 2:
            raise GradcalcError(
                f"the gradient graph writes {node.op.shown_name} of two inputs; this one has {len(args)}",
                kind="shape", span=node.span, source=tape.source,
                hint=f"nest it: {node.op.shown_name}(a, {node.op.shown_name}(b, c))",
            )
        numbers = [value_of(a) for a in args]
        if all(n is not None for n in numbers):
            value[i] = number(float(node.op.fwd(m, *numbers)))
        else:
            value[i] = bind_value(i, _gate(node.op, args))
    terms: dict[int, Expr] = {tape.output: number(1.0)}
    upstream: dict[int, Expr] = {}
    local: dict[int, list[tuple[int, Expr]]] = {}
    for i in range(tape.output, -1, -1):
        if not needs[i] or i not in terms:
            continue
        total = terms.pop(i)
        upstream[i] = total if value_of(total) is not None else bind_gradient(i, total)
        node = nodes[i]
        if node.kind != GATE:
            continue
        assert node.op is not None
        bound = {"a": value[node.args[0]], "out": value[i]}
        if len(node.args) > 1:
            bound["b"] = value[node.args[1]]
        local[i] = []
        for k, j in enumerate(node.args):
            if not needs[j]:
                continue
            formula = instantiate(parse_template(_local_formula(node.op, k)), bound)
            local[i].append((j, formula))
            term = product(upstream[i], formula)
            if value_of(term) == 0:
                continue
            terms[j] = plus(terms[j], term) if j in terms else term
    return Reverse(value, upstream, local)


def tangent_pass(tape: Tape, passes: Reverse, seed: str) -> dict[int, Expr]:
    """Forward mode over expressions: ∂node/∂seed for every node, from the rows' local gradients."""
    nodes = tape.nodes
    tangent: dict[int, Expr] = {}
    for i, node in enumerate(nodes):
        if i not in passes.value:
            continue
        if node.kind != GATE:
            tangent[i] = number(1.0 if node.kind == VAR and node.label == seed else 0.0)
            continue
        assert node.op is not None
        bound = {"a": passes.value[node.args[0]], "out": passes.value[i]}
        if len(node.args) > 1:
            bound["b"] = passes.value[node.args[1]]
        total: Expr = number(0.0)
        for k, j in enumerate(node.args):
            if value_of(tangent[j]) == 0:
                continue
            total = plus(total, product(tangent[j], instantiate(parse_template(_local_formula(node.op, k)), bound)))
        tangent[i] = total
    return tangent


def gradient_program(tape: Tape, wrt: list[str] | None = None) -> GradientProgram:
    """The forward and reverse passes of ``tape`` as a program whose last statement lists the gradients."""
    if tape.has_tensors:
        raise GradcalcError(
            "gradients as graphs (second derivatives, --order) are written for scalar formulas",
            kind="shape",
            hint="this formula has vectors or matrices; write it with scalar variables",
            source=tape.source,
        )
    if len(tape.nodes) > MAX_SECOND_ORDER_NODES:
        raise GradcalcError(
            f"the gradient graph is written for graphs of at most {MAX_SECOND_ORDER_NODES:,} nodes, and this one has "
            f"{len(tape.nodes):,}", kind="limit", source=tape.source,
            hint="use a smaller formula; with --order, a lower order (each order's graph is about three times "
            "the one before)",
        )
    names = list(tape.variables) if wrt is None else wrt
    if not names:
        raise GradcalcError("the formula has no variables: it has no gradient to write as a graph", kind="usage",
                            hint="write a formula of at least one variable, such as x^2")
    for n in names:
        if n not in tape.variables:
            raise GradcalcError(f"{n!r} is not a variable of the formula", kind="usage",
                                hint=f"its variables are {', '.join(tape.variables) or 'none'}")
    nodes = tape.nodes
    v, g = _prefix(tape), _prefix(tape).replace("v", "g")
    lines: list[str] = []
    meaning: dict[str, tuple[str, int]] = {}

    def leaf(i: int) -> Expr:
        node = nodes[i]
        if node.kind == VAR:
            return Name(node.label, NOWHERE)
        if node.label in ("pi", "e"):
            return Name(node.label, NOWHERE)
        return number(float(node.const))

    def bind(prefix: str, what: str) -> Callable[[int, Expr], Expr]:
        def named(i: int, formula: Expr) -> Expr:
            lines.append(f"{prefix}{i} = {to_string(formula, TEXT)}")
            meaning[f"{prefix}{i}"] = (what, i)
            return Name(f"{prefix}{i}", NOWHERE)

        return named

    passes = reverse_pass(tape, leaf, bind(v, VALUE), bind(g, GRADIENT))
    outputs = []
    for n in names:
        i = tape.variables[n]
        outputs.append(to_string(passes.upstream[i], TEXT) if i in passes.upstream else "0")
    lines.append(outputs[0] if len(outputs) == 1 else f"[{', '.join(outputs)}]")
    written = {i: to_string(grad, TEXT) for i, grad in passes.upstream.items()}
    return GradientProgram("\n".join(lines), dict(zip(names, outputs, strict=True)), written, meaning)


def gradient_tape(tape: Tape, wrt: list[str] | None = None) -> Tape:
    """The gradient graph as a tape: its output is ∂f/∂x for one variable, or the vector of them."""
    return gradient_graph(tape, wrt)[1]


def gradient_graph(tape: Tape, wrt: list[str] | None = None) -> tuple[GradientProgram, Tape]:
    """The gradient program and its tape (whose ``bindings`` name each of the program's gates)."""
    from .builder import build
    from .parser import parse_program

    program = gradient_program(tape, wrt)
    out = build(parse_program(program.text, f"<gradient of {tape.source.name}>"))
    out.defaults.update(tape.defaults)
    last = out.nodes[out.output]
    if len(program.gradients) > 1 and last.kind == CONST:
        # Every gradient a number: the list is read as a constant vector.  Make it the list of its numbers
        # like any other, so that each gradient is a node of its own.
        from .ops import OPS

        parts = []
        for value in last.const.ravel().tolist():
            out.nodes.append(Node(CONST, None, (), last.span, repr(float(value)), const=float(value)))
            parts.append(len(out.nodes) - 1)
        out.nodes.append(Node(GATE, OPS["stack"], tuple(parts), last.span, last.label))
        out.output = len(out.nodes) - 1
        out._tensors = None
    return program, out
