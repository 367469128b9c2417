"""Evaluation traces (Wengert lists), as in the automatic-differentiation textbooks.

Baydin, Pearlmutter, Radul and Siskind, "Automatic differentiation in machine
learning: a survey" (JMLR 2018), tables 2 and 3, write the evaluation of
``f(x1, x2) = ln(x1) + x1*x2 - sin(x2)`` as a list of intermediate variables:
the inputs ``v₋₁ = x1``, ``v₀ = x2`` (numbered so the last input is ``v₀``), then
one ``vᵢ`` per gate, each an expression in earlier ``v``'s.  Forward mode adds
each one's tangent ``v̇ᵢ`` (the derivative along a seeded input); reverse mode
adds each one's adjoint ``v̄ᵢ = ∂f/∂vᵢ``, accumulated backwards, one step per
edge, so a value used twice gets two steps whose contributions add.

The numbers come from the tape's own passes: :func:`gradcalc.passes.forward`,
:func:`~gradcalc.passes.jvp` and :func:`~gradcalc.passes.backward`; this module
only numbers the nodes and writes the expressions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .api import require_scalar
from .errors import GradcalcError, closest
from .ops import DEFAULT_TIE, ScalarMath
from .pipeline import Evaluation, evaluate, load
from .printer import NOWHERE, TRACE, TRACE_GATE, gate_tree, leaf, local_tree, times, to_string
from .shown import Shown, brief, listed
from .tape import CONST, GATE, VAR, Tape
from .tree import Binary, Expr, Name, Unary

FORWARD, REVERSE = "forward", "reverse"

_SUB = str.maketrans("-0123456789", "₋₀₁₂₃₄₅₆₇₈₉")


def v_name(k: int, mark: str = "") -> str:
    """``v₋₁``, ``v₀``, ``v₁``; ``mark`` is a combining dot (tangent) or bar (adjoint)."""
    return f"v{mark}{str(k).translate(_SUB)}"


def dot(k: int) -> str:
    return v_name(k, "\u0307")


def bar(k: int) -> str:
    return v_name(k, "\u0304")


@dataclass
class Row:
    """One intermediate variable: an input or a gate."""

    node: int
    index: int  # the k of v_k
    label: str  # the tape's name for it: x1, q, f, h1
    expr: str  # in terms of earlier v's (an input: its variable's name)
    value: Any
    tangent_expr: str | None = None
    tangent: Any = None
    adjoint: Any = None

    @property
    def name(self) -> str:
        return v_name(self.index)

    @property
    def ascii_name(self) -> str:
        return f"v{self.index}"


@dataclass
class Step:
    """One step of the reverse (adjoint) trace: ``v̄ⱼ = v̄ⱼ + v̄ᵢ · ∂vᵢ/∂vⱼ``."""

    target: int  # row index k of v_k receiving the contribution
    source: int  # row index of the gate handing it back (the output itself for the seed)
    expr: str
    value: Any  # the adjoint of the target after this step


@dataclass(repr=False)
class Trace(Shown):
    mode: str
    tape: Tape
    inputs: dict[str, Any]
    rows: list[Row]
    output: int  # index k of the output's v
    seed: str | None = None  # the variable forward mode differentiates by
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def output_label(self) -> str:
        return self.tape.nodes[self.tape.output].label

    def summary(self) -> str:
        if self.mode == FORWARD:
            return f"forward, {len(self.rows)} rows: {self.output_label}={brief(self.value)} " \
                f"∂{self.output_label}/∂{self.seed}={brief(self.derivative)}"
        grads = listed([f"∂{k}={brief(v)}" for k, v in self.gradients.items()])
        return f"reverse, {len(self.rows)} rows: {self.output_label}={brief(self.value)} {grads}"

    def row(self, k: int) -> Row:
        return self.rows[k - self.rows[0].index]

    @property
    def value(self) -> Any:
        return self.row(self.output).value

    @property
    def derivative(self) -> Any:
        """Forward mode: ∂f/∂seed (the output's tangent)."""
        return self.row(self.output).tangent

    @property
    def gradients(self) -> dict[str, Any]:
        """Reverse mode: ∂f/∂x for each input (the inputs' adjoints)."""
        return {r.label: r.adjoint for r in self.rows if r.index <= 0}


def trace(
    formula: str,
    values: Mapping[str, Any] | None = None,
    *,
    mode: str = REVERSE,
    seed: str | None = None,
    tie: str = DEFAULT_TIE,
    output: str | None = None,
    fuse: bool = False,
    name: str = "<formula>",
) -> Trace:
    """The evaluation trace of ``formula`` at ``values``: primal, and tangents or adjoints.

    >>> t = trace("ln(x1) + x1*x2 - sin(x2)", {"x1": 2, "x2": 5}, mode="forward", seed="x1")
    >>> [r.name for r in t.rows][:3], round(t.derivative, 12)
    (['v₋₁', 'v₀', 'v₁'], 5.5)
    """
    if mode not in (FORWARD, REVERSE):
        raise GradcalcError(f"--mode must be forward or reverse, not {mode!r}", kind="usage")
    tape = load(formula, output=output, fuse=fuse, name=name)
    if any(n not in (values or {}) and n not in tape.defaults for n in tape.variables):
        return _formula_trace(tape, values or {}, mode, seed)
    ev = evaluate(tape, values, tie=tie, name=name)
    tape, inputs, vals = ev.tape, ev.inputs, ev.values
    if mode == FORWARD:
        seed = _seed(tape, seed)
    number = _numbering(tape)
    rows = _rows(tape, vals, number)
    result = Trace(mode, tape, inputs, rows, number[tape.output], seed, warnings=ev.warnings)
    if mode == FORWARD:
        assert seed is not None
        var = tape.variables[seed]
        if not isinstance(inputs[seed], float):
            raise GradcalcError(
                f"--seed {seed}: {seed} is a vector or matrix; forward-mode traces seed one number",
                kind="usage",
                hint="seed a scalar variable, or use --mode reverse",
            )
        tangents = ev.jvp({var: 1.0})
        for r in rows:
            r.tangent = tangents[r.node]
            r.tangent_expr = _tangent_expr(tape, r, number, seed)
    else:
        require_scalar(tape, vals, REVERSE_SCALAR_HINT)
        _adjoints(result, ev, number)
    return result


# A vector or matrix output has no one adjoint to seed; its tangents are well defined.
REVERSE_SCALAR_HINT = (
    "a reverse-mode trace follows one number back: wrap the output in sum(...) or mean(...), "
    "trace it forward (--mode forward --seed NAME, a column of the Jacobian), or use 'gradcalc jacobian'"
)


def _seed(tape: Tape, seed: str | None) -> str:
    names = list(tape.variables)
    if seed is None:
        if len(names) == 1:
            return names[0]
        raise GradcalcError(
            "forward mode needs --seed NAME: the input to differentiate by",
            kind="usage",
            hint=f"inputs are {', '.join(names)}" if names else "the formula has no inputs",
        )
    if seed not in tape.variables:
        near = closest(seed, names)
        raise GradcalcError(
            f"--seed {seed!r} is not an input of the formula",
            kind="usage",
            hint=f"did you mean {near!r}?" if near else f"inputs are {', '.join(names) or 'none'}",
        )
    return seed


def _numbering(tape: Tape) -> dict[int, int]:
    """Tape index → k of v_k: the inputs end at v₀, the gates the output needs follow from v₁.

    Constants are written inline, except an output that is one (``gradcalc trace 5``): it is v₁.
    """
    number = {}
    names = list(tape.variables.values())
    for k, i in enumerate(names):
        number[i] = k - len(names) + 1
    used = tape.reachable()
    k = 0
    for i, node in enumerate(tape.nodes):
        if node.kind == GATE and used[i]:
            k += 1
            number[i] = k
    if tape.output not in number:
        number[tape.output] = 1
    return number


def _operand(tape: Tape, j: int, number: Mapping[int, int]) -> Expr:
    """A gate's input as written in an expression: v_k, or a constant's text."""
    node = tape.nodes[j]
    if node.kind == CONST:
        return leaf(node.label)
    return Name(v_name(number[j]), NOWHERE)


def expression(tape: Tape, i: int, number: Mapping[int, int]) -> str:
    node = tape.nodes[i]
    if node.kind in (VAR, CONST):
        return node.label
    assert node.op is not None
    return to_string(gate_tree(node.op, [_operand(tape, j, number) for j in node.args]), TRACE_GATE)


def _formula_trace(tape: Tape, values: Mapping[str, Any], mode: str, seed: str | None) -> Trace:
    """The trace with some values missing: every value, tangent and adjoint a formula over the variables."""
    from .formulas import derive, scalar_values, written
    from .gradgraph import plus, product, tangent_pass

    given = scalar_values(tape, {**tape.defaults, **values})
    full, _ = derive(tape, given)
    number = _numbering(tape)
    order = sorted(number, key=lambda i: number[i])
    rows = [Row(i, number[i], tape.nodes[i].label, expression(tape, i, number), written(full.value[i])) for i in order]
    inputs: dict[str, Any] = {n: given.get(n, n) for n in tape.variables}
    result = Trace(mode, tape, inputs, rows, number[tape.output], seed)
    if mode == FORWARD:
        seed = _seed(tape, seed)
        result.seed = seed
        tangents = tangent_pass(tape, full, seed)
        for r in rows:
            r.tangent = written(tangents[r.node])
            r.tangent_expr = _tangent_expr(tape, r, number, seed)
        return result
    out = tape.output
    name = tape.nodes[out].label
    result.steps.append(Step(number[out], number[out], f"1   (seed: ∂{name}/∂{name})", "1"))
    running: dict[int, Expr] = {}
    for i in range(out, -1, -1):
        if i not in full.local or i not in number:
            continue
        locals_ = _locals(tape, i, number)
        for j, local in full.local[i]:
            k = tape.nodes[i].args.index(j)
            term = times(Name(bar(number[i]), NOWHERE), locals_[k])
            share = product(full.upstream[i], local)
            if j in running:
                running[j] = plus(running[j], share)
                expr = to_string(_sum([Name(bar(number[j]), NOWHERE), term]), TRACE)
            else:
                running[j] = share
                expr = to_string(term, TRACE)
            result.steps.append(Step(number[j], number[i], expr, written(running[j])))
    for r in rows:
        r.adjoint = written(full.upstream[r.node]) if r.node in full.upstream else "0"
    return result


def _rows(tape: Tape, vals: list[Any], number: Mapping[int, int]) -> list[Row]:
    order = sorted(number, key=lambda i: number[i])
    return [Row(i, number[i], tape.nodes[i].label, expression(tape, i, number), vals[i]) for i in order]


def _locals(tape: Tape, i: int, number: Mapping[int, int]) -> list[Expr | None]:
    node = tape.nodes[i]
    assert node.op is not None
    names = [_operand(tape, j, number) for j in node.args]
    out = Name(v_name(number[i]), NOWHERE)
    return [local_tree(node.op, names, out, k, TRACE) for k in range(len(node.args))]


def _tangent_expr(tape: Tape, row: Row, number: Mapping[int, int], seed: str) -> str:
    node = tape.nodes[row.node]
    if node.kind == VAR:
        return "1   (the seed)" if node.label == seed else "0"
    if node.kind == CONST:
        return "0"
    assert node.op is not None
    if node.op.local is None:  # a structural tensor gate (matmul, stack, ...): its Jacobian-vector product
        tangents = [dot(number[j]) if tape.nodes[j].kind != CONST else "0" for j in node.args]
        return f"{node.op.name}-JVP({', '.join(tangents)})"
    terms: list[Expr] = []
    for j, local in zip(node.args, _locals(tape, row.node, number), strict=True):
        if tape.nodes[j].kind == CONST:
            continue
        terms.append(times(Name(dot(number[j]), NOWHERE), local))
    if not terms:
        return "0"
    return to_string(_sum(terms), TRACE)


def _sum(terms: list[Expr]) -> Expr:
    """t₁ + t₂ + ..., with a negated term subtracted: a - b rather than a + -b."""
    total = terms[0]
    for t in terms[1:]:
        if isinstance(t, Unary) and t.op == "-":
            total = Binary("-", total, t.operand, NOWHERE, NOWHERE)
        else:
            total = Binary("+", total, t, NOWHERE, NOWHERE)
    return total


def _adjoints(result: Trace, ev: Evaluation, number: Mapping[int, int]) -> None:
    tape, vals, m = result.tape, ev.values, ev.m
    bp = ev.backward()
    scalar = isinstance(m, ScalarMath)
    out = tape.output
    running: dict[int, Any] = {out: 1.0}
    name = tape.nodes[out].label
    result.steps.append(Step(number[out], number[out], f"1   (seed: ∂{name}/∂{name})", 1.0))
    for i in range(out, -1, -1):
        node = tape.nodes[i]
        if node.kind != GATE or not bp.needs[i] or i not in number:
            continue
        down = bp.downstream(tape, i)
        if down is None:  # pragma: no cover - every needed gate has locals or a VJP
            continue
        locals_ = _locals(tape, i, number)
        g = bp.grads[i]
        for k, j in enumerate(node.args):
            if not bp.needs[j]:
                continue
            # What backward() added: nothing past a zero upstream gradient; broadcasting summed away.
            share = (0.0 if g == 0 else down[k]) if scalar else m.unbroadcast(down[k], vals[j])
            term: Expr
            if node.op is not None and node.op.local is None:  # a structural tensor gate (matmul, sum, ...)
                term = Name(f"{node.op.name}-VJP({bar(number[i])})", NOWHERE)
            else:
                term = times(Name(bar(number[i]), NOWHERE), locals_[k])
            if j in running:
                running[j] = running[j] + share
                expr = to_string(_sum([Name(bar(number[j]), NOWHERE), term]), TRACE)
            else:
                running[j] = share
                expr = to_string(term, TRACE)
            result.steps.append(Step(number[j], number[i], expr, running[j]))
    for r in result.rows:
        r.adjoint = bp.grads[r.node] if bp.needs[r.node] else running.get(r.node, 0.0)  # a constant output: 1


def trace_doc(t: Trace) -> dict[str, Any]:
    """The trace as JSON: ``rows`` (reverse mode: in reverse order), and what else helps."""
    from .render.numbers import num

    rows = t.rows if t.mode == FORWARD else list(reversed(t.rows))
    doc: dict[str, Any] = {
        "mode": t.mode,
        "formula": t.tape.source.text,
        "inputs": {k: num(v) for k, v in t.inputs.items()},
        "output": {"name": f"v{t.output}", "label": t.output_label, "value": num(t.value)},
    }
    items = []
    for r in rows:
        item: dict[str, Any] = {
            "name": r.ascii_name,
            "symbol": r.name,
            "label": r.label,
            "expr": r.expr,
            "value": num(r.value),
        }
        if t.mode == FORWARD:
            item["tangent_expr"] = r.tangent_expr
            item["tangent"] = num(r.tangent)
        else:
            item["adjoint"] = num(r.adjoint)
        items.append(item)
    doc["rows"] = items
    if t.mode == FORWARD:
        doc["seed"] = t.seed
        doc["derivative"] = num(t.derivative)
    else:
        doc["steps"] = [
            {"name": f"v{s.target}", "symbol": bar(s.target), "from": f"v{s.source}", "expr": s.expr,
             "value": num(s.value)}
            for s in t.steps
        ]
        doc["gradients"] = {k: num(v) for k, v in t.gradients.items()}
    doc["warnings"] = t.warnings
    return doc
