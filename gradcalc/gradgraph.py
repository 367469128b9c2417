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

from dataclasses import dataclass, field

from .errors import GradcalcError
from .limits import MAX_SECOND_ORDER_NODES
from .ops import Op
from .printer import NOWHERE, TEXT, gate_tree, is_number, parse_template, substitute, to_string
from .tape import CONST, GATE, VAR, Node, Tape
from .tree import Binary, Expr, Name, Num, Unary


@dataclass(frozen=True)
class GradientProgram:
    """The program text and, for each variable differentiated by, the name of its gradient in it."""

    text: str
    gradients: dict[str, str]  # variable -> name of ∂output/∂variable in the program
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
    used = tape.reachable()
    needs = tape.needs_grad()
    leaf: dict[int, Expr] = {}
    lines: list[str] = []
    meaning: dict[str, tuple[str, int]] = {}
    for i, node in enumerate(nodes):
        if not used[i]:
            continue
        if node.kind == VAR:
            leaf[i] = Name(node.label, NOWHERE)
        elif node.kind == CONST:
            value = float(node.const)
            text = node.label if node.label in ("pi", "e") else repr(value)
            leaf[i] = Num(value, text, NOWHERE) if not text.startswith("-") else Unary(
                "-", Num(-value, repr(-value), NOWHERE), NOWHERE)
        else:
            assert node.op is not None
            if node.op.arity == -1 and len(node.args) > 2:
                raise GradcalcError(
                    f"the gradient graph writes {node.op.shown_name} of two inputs; this one has {len(node.args)}",
                    kind="shape", span=node.span, source=tape.source,
                    hint=f"nest it: {node.op.shown_name}(a, {node.op.shown_name}(b, c))",
                )
            lines.append(f"{v}{i} = {to_string(gate_tree(node.op, [leaf[j] for j in node.args]), TEXT)}")
            meaning[f"{v}{i}"] = (VALUE, i)
            leaf[i] = Name(f"{v}{i}", NOWHERE)
    terms: dict[int, list[Expr]] = {tape.output: [Num(1.0, "1", NOWHERE)]}
    gradient_of: dict[int, Expr] = {}
    for i in range(tape.output, -1, -1):
        if not needs[i] or i not in terms:
            continue
        total = terms.pop(i)
        expr = total[0]
        for t in total[1:]:
            expr = Binary("+", expr, t, NOWHERE, NOWHERE)
        if isinstance(expr, Num) or (isinstance(expr, Unary) and isinstance(expr.operand, Num)):
            gradient_of[i] = expr  # a number (the seed, 1): kept inline, as 'name = 1' would declare an input
        else:
            lines.append(f"{g}{i} = {to_string(expr, TEXT)}")
            meaning[f"{g}{i}"] = (GRADIENT, i)
            gradient_of[i] = Name(f"{g}{i}", NOWHERE)
        node = nodes[i]
        if node.kind != GATE:
            continue
        assert node.op is not None
        args = [leaf[j] for j in node.args]
        bound = {"a": args[0], "out": leaf[i]}
        if len(args) > 1:
            bound["b"] = args[1]
        for k, j in enumerate(node.args):
            if not needs[j]:
                continue
            local = substitute(parse_template(_local_formula(node.op, k)), bound)
            if is_number(local, 0.0):
                continue
            upstream = gradient_of[i]
            if is_number(local, 1.0):
                term = upstream
            elif is_number(upstream, 1.0):
                term = local
            else:
                term = Binary("*", upstream, local, NOWHERE, NOWHERE)
            terms.setdefault(j, []).append(term)
    outputs = []
    for n in names:
        i = tape.variables[n]
        outputs.append(to_string(gradient_of[i], TEXT) if i in gradient_of else "0")
    lines.append(outputs[0] if len(outputs) == 1 else f"[{', '.join(outputs)}]")
    return GradientProgram("\n".join(lines), dict(zip(names, outputs, strict=True)), meaning)


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
