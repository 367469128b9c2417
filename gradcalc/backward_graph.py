"""The backward pass as a computational graph of its own, for pictures (``gradcalc graph --backward``).

Backprop builds the gradient from the same gates as the formula: each
node's gradient is a sum, over its uses, of the upstream gradient times the
gate's local gradient (:mod:`gradcalc.gradgraph` writes it as a program and
builds its tape).  This module says what each node of that tape is, in the
formula's own words: an input (``x``); a constant; a value of the forward
pass that a local gradient needs (``q = x + y``); the gradient of a node of
the formula (``∂f/∂q``, ``∂f/∂x``; one node may be the gradient of several,
and an input may be one: ∂f/∂x of ``(x+y)*z`` is z itself); or a step of a
gradient's formula.  The program's own names (``_v3``, ``_g4``) never show.

With values, every node's value is computed (an infinite or undefined one
shows as inf or nan); without any, the graph is drawn as structure only,
since it does not depend on the point.  Vectors and matrices are drawn element
by element (:mod:`gradcalc.unroll`), which needs their values for the shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .api import require_scalar
from .errors import GradcalcError
from .gradgraph import GRADIENT, VALUE, gradient_graph
from .limits import MAX_FULL_NODES
from .ops import DEFAULT_TIE
from .parser import Program
from .pipeline import evaluate, load, quiet
from .printer import GATE as GATE_STYLE
from .printer import gate_tree, leaf, to_string
from .tape import CONST, GATE, VAR, Tape
from .unroll import unroll

INPUT, CONSTANT, FORWARD, GRADIENT_NODE, STEP = "input", "constant", "forward", "gradient", "step"


@dataclass(frozen=True)
class GraphNode:
    """One node of the gradient graph as a picture shows it."""

    index: int  # in the gradient graph's tape
    role: str  # input, constant, forward (a value of the forward pass), gradient (∂f/∂ a node), step
    glyph: str  # the gate's sign (+, ×, exp); a leaf's name or number
    label: str  # x; 2; q = x + y; ∂f/∂q; "" for a step
    gradients: tuple[str, ...] = ()  # the gradients it also is: ∂f/∂x, ∂f/∂y (for a node of another role)


@dataclass
class BackwardGraph:
    formula: Tape  # the formula's tape, as written
    tape: Tape  # the gradient graph
    output_label: str  # f
    nodes: list[GraphNode]  # those drawn, in evaluation order
    edges: list[tuple[int, int]]  # (source, gate) between drawn nodes, by index in ``tape``
    outputs: list[tuple[str, int]]  # ∂f/∂x and the node that computes it, one per variable (or element)
    values: list[Any] | None  # every node's value; None: structure only
    inputs: dict[str, Any] = field(default_factory=dict)  # the point, by the formula's variables
    warnings: list[str] = field(default_factory=list)


def backward_graph(
    formula: str | Program | Tape,
    values: Mapping[str, Any] | None = None,
    *,
    tie: str = DEFAULT_TIE,
    output: str | None = None,
    name: str = "<formula>",
) -> BackwardGraph:
    """The gradient graph of ``formula``, each node said in the formula's words, its values computed at
    ``values`` — or structure only, when no value is given and the program does not give them all."""
    tape = load(formula, output=output, name=name)
    given = dict(values or {})
    point: dict[str, Any] = {}
    warnings = list(tape.notes)
    forward_values = None
    if given or all(n in tape.defaults for n in tape.variables):
        ev = evaluate(tape, given, tie=tie)
        require_scalar(tape, ev.values)
        point, warnings, forward_values = dict(ev.inputs), ev.warnings, ev.values
    tensors = tape.has_tensors or any(not isinstance(v, float) for v in point.values())
    if tensors and forward_values is None:
        raise GradcalcError(
            "the gradient graph of vectors and matrices is drawn element by element, so it needs their values",
            kind="value", source=tape.source, span=tape.nodes[tape.output].span,
            hint="give every variable a value, such as v=[1, 2] x=3; a formula of numbers alone draws without them",
        )
    names = {n: n for n in tape.variables}  # the scalar tape's variables, as the picture calls them
    scalar_tape, scalar_point = tape, {n: v for n, v in point.items()}
    if tensors:
        unrolled = unroll(tape, point, forward_values)
        scalar_tape, scalar_point = unrolled.tape, dict(unrolled.inputs)
        names = {e.name: e.label for e in unrolled.elements}
    program, grad = gradient_graph(scalar_tape)
    if len(grad.nodes) > MAX_FULL_NODES:
        raise GradcalcError(
            f"the gradient graph has {len(grad.nodes):,} nodes, more than the limit of {MAX_FULL_NODES:,} for a "
            "picture", kind="limit",
            hint="draw a smaller formula; gradcalc grad --brief gives the gradient at any size",
        )
    out = scalar_tape.nodes[scalar_tape.output].label
    described = _describe(scalar_tape, grad, program.names, names, out)
    wrt = list(scalar_tape.variables)
    ends = [grad.output] if len(wrt) == 1 else list(grad.nodes[grad.output].args)
    outputs = [(f"∂{out}/∂{names[n]}", k) for n, k in zip(wrt, ends, strict=True)]
    used = grad.reachable()
    if len(wrt) > 1:
        used[grad.output] = False  # the list of the gradients: each is drawn as an output of its own
        for k in ends:
            used[k] = True
    drawn = [described[i] for i in range(len(grad.nodes)) if used[i]]
    edges = [(j, node.index) for node in drawn if grad.nodes[node.index].kind == GATE
             for j in grad.nodes[node.index].args]
    vals = None
    if forward_values is not None:
        from .passes import choose_math, executor

        inputs = {n: scalar_point[n] for n in grad.variables}
        m = choose_math(grad, inputs, tie)
        with quiet(m):
            vals = executor(grad, m).forward(inputs)
    return BackwardGraph(tape, grad, out, drawn, edges, outputs, vals, point, warnings)


def _describe(source: Tape, grad: Tape, meaning: Mapping[str, tuple[str, int]], names: Mapping[str, str],
              out: str) -> list[GraphNode]:
    """Every node of the gradient graph in the words of the formula ``source`` it was written from."""

    def called(i: int) -> str:
        node = source.nodes[i]
        return names.get(node.label, node.label) if node.kind == VAR else node.label

    said: list[list[tuple[str, int]]] = [[] for _ in grad.nodes]
    for program_name, k in grad.bindings.items():
        if program_name in meaning:
            said[k].append(meaning[program_name])
    found = []
    for k, node in enumerate(grad.nodes):
        gradients = tuple(dict.fromkeys(f"∂{out}/∂{called(i)}" for what, i in sorted(said[k], key=lambda s: s[1])
                                        if what == GRADIENT))
        forward = [i for what, i in said[k] if what == VALUE]
        if node.kind == VAR:
            shown = names.get(node.label, node.label)
            found.append(GraphNode(k, INPUT, shown, shown, gradients))
        elif node.kind == CONST:
            text = _number(node.const, node.label)
            found.append(GraphNode(k, CONSTANT, text, text, gradients))
        else:
            assert node.op is not None
            glyph = node.op.glyph or node.op.name
            if forward:
                i = forward[0]
                gate = source.nodes[i]
                assert gate.op is not None
                formula = to_string(gate_tree(gate.op, [leaf(called(j)) for j in gate.args]), GATE_STYLE)
                found.append(GraphNode(k, FORWARD, glyph, f"{called(i)} = {formula}", gradients))
            elif gradients:
                found.append(GraphNode(k, GRADIENT_NODE, glyph, gradients[0], gradients[1:]))
            else:
                found.append(GraphNode(k, STEP, glyph, ""))
    return found


def _number(value: Any, text: str) -> str:
    if text in ("pi", "e") or not isinstance(value, float):  # an array: a list of numbers, never drawn whole
        return text
    v = float(value)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
