"""Gradients as formulas: a run with some values missing, or none at all.

``gradcalc grad '(x+y)*z'`` with no values runs the reverse pass over
expressions instead of numbers (:func:`gradcalc.gradgraph.reverse_pass`, the
same walk that writes the gradient graph), so each gradient is a formula that
gradcalc derived itself: ``∂f/∂x = z``.  The variables that do have values are
substituted and folded; the others stay symbolic.

Two views of the same pass:

* over the **variables** — every value and gradient written out in the
  formula's variables, for the answers (``∂f/∂w0 = ...``);
* over the **gate names** — each gate's value is its name (``q``, ``g``), so
  its local and upstream gradients read as on a blackboard (``-1/g^2``), for
  the gate table.

SymPy then simplifies each gradient and confirms it equals its own ``diff``,
in the budgeted child (:mod:`gradcalc.budget`); the simplified text is
converted back into gradcalc's syntax from SymPy's tree, never printed and
re-read as code.  A formula longer than ``MAX_FORMULA_TERMS`` written out is
not printed (shared subexpressions can double with each use).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import GradcalcError
from .gradgraph import Reverse, number, product, reverse_pass
from .limits import MAX_CELL_TERMS, MAX_FORMULA_NODES, MAX_FORMULA_TERMS
from .parser import Program
from .pipeline import load
from .printer import NOWHERE, TEXT, local_text, to_string
from .tape import GATE, VAR, Tape
from .tree import Expr, Name, children

DEFAULT_SYMBOLIC_BUDGET = 5.0


@dataclass
class FormulaGate:
    """One row of the gate table, in formulas: over the gate names, and the value over the variables."""

    index: int
    label: str
    gate: str  # q = x + y, or "input"
    value: str | None  # over the variables; None when too long to write out
    upstream: str | None  # ∂out/∂node, over the gate names
    local: list[tuple[str, str | None]]  # (input, ∂node/∂input) over the gate names, in gradcalc's syntax
    shown: list[str | None]  # the same as the table shows them: a notation where the row has one ([x > 0])
    downstream: list[tuple[str, str | None]]  # (input, upstream × local)
    pattern: str


@dataclass
class FormulaGradient:
    """The result of a run without (all) values."""

    tape: Tape
    given: dict[str, float]  # the values substituted
    symbolic: list[str]  # the variables kept as symbols
    value: str | None  # the output, over the variables
    variables: list[str]  # every variable, in order
    derived: dict[str, str | None]  # gradcalc's own ∂out/∂variable, written out (None: too long)
    simplified: dict[str, str | None] = field(default_factory=dict)  # SymPy's simplification of it, as gradcalc text
    sympy: dict[str, str | None] = field(default_factory=dict)  # SymPy's own diff, as SymPy prints it
    equal: dict[str, bool | None] = field(default_factory=dict)  # gradcalc's == SymPy's (None: undecided)
    how: dict[str, str] = field(default_factory=dict)  # how equality was decided: "proved" or "points"
    sympy_reason: str | None = None  # why SymPy did not finish, or was not asked
    gates: list[FormulaGate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def gradient(self, name: str) -> str | None:
        """∂out/∂name as gradcalc text: SymPy's simplification where it confirmed it, else gradcalc's own."""
        short, own = self.simplified.get(name), self.derived[name]
        if short is None or not self.equal.get(name):
            return own
        return short if own is None or len(short) <= len(own) else own

    @property
    def gradients(self) -> dict[str, str | None]:
        return {n: self.gradient(n) for n in self.variables}

    @property
    def ok(self) -> bool:
        """No gradient that SymPy found different."""
        return all(v is not False for v in self.equal.values())

    @property
    def output_label(self) -> str:
        return self.tape.nodes[self.tape.output].label


def terms(root: Expr) -> int:
    """How many nodes ``root`` has written out: a subtree shared twice counts twice (without recursion)."""
    size: dict[int, int] = {}
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in size:
            continue
        kids = children(node)
        if ready:
            size[id(node)] = 1 + sum(size[id(k)] for k in kids)
        else:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in size)
    return size[id(root)]


def at_most(root: Expr, limit: int) -> bool:
    """Whether ``root`` written out has at most ``limit`` terms: counted one by one, stopping past the limit,
    so the question costs at most ``limit`` steps however large the formula is."""
    count = 0
    stack = [root]
    while stack:
        count += 1
        if count > limit:
            return False
        stack.extend(children(stack.pop()))
    return True


def written(root: Expr | None, limit: int = MAX_FORMULA_TERMS) -> str | None:
    """``root`` in gradcalc's syntax, or None when it has more than ``limit`` terms written out."""
    if root is None or not at_most(root, limit):
        return None
    return to_string(root, TEXT)


def scalar_values(tape: Tape, values: Mapping[str, Any]) -> dict[str, float]:
    """The values to substitute: numbers only, for variables of the formula."""
    given: dict[str, float] = {}
    for name, value in values.items():
        if name not in tape.variables:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise GradcalcError(
                f"{name} is a vector or matrix: gradients as formulas are written for scalar variables",
                kind="shape", hint="give every value to compute with vectors and matrices",
            )
        given[name] = float(value)
    return given


def derive(tape: Tape, given: Mapping[str, float]) -> tuple[Reverse, Reverse]:
    """The reverse pass over expressions, twice: over the variables, and over the gate names."""
    if tape.has_tensors:
        raise GradcalcError(
            "gradients as formulas are written for scalar formulas; this one has vectors or matrices",
            kind="shape", source=tape.source, hint="give every value to compute with vectors and matrices",
        )
    if len(tape.nodes) > MAX_FORMULA_NODES:
        raise GradcalcError(
            f"the graph has {len(tape.nodes):,} nodes; gradients as formulas are written for at most "
            f"{MAX_FORMULA_NODES:,}", kind="limit", source=tape.source,
            hint="give every value to compute numbers instead",
        )
    nodes = tape.nodes

    def leaf(i: int) -> Expr:
        node = nodes[i]
        if node.kind == VAR:
            return number(given[node.label]) if node.label in given else Name(node.label, NOWHERE)
        if node.label in ("pi", "e"):
            return Name(node.label, NOWHERE)
        return number(float(node.const))

    over_variables = reverse_pass(tape, leaf, lambda i, e: e, lambda i, e: e)
    over_names = reverse_pass(tape, leaf, lambda i, e: Name(nodes[i].label, NOWHERE), lambda i, e: e)
    return over_variables, over_names


def formula_gradient(
    formula: str | Program | Tape,
    values: Mapping[str, Any] | None = None,
    *,
    symbolic: bool = True,
    symbolic_budget: float = DEFAULT_SYMBOLIC_BUDGET,
    output: str | None = None,
    fuse: bool = False,
    name: str = "<formula>",
) -> FormulaGradient:
    """∂out/∂v for every variable v as a formula, the given ``values`` substituted, checked against SymPy."""
    tape = load(formula, output=output, fuse=fuse, name=name)
    given = scalar_values(tape, values or {})
    warnings = [f"{n!r} is not used by the formula; its value is ignored" for n in (values or {})
                if n not in tape.variables]
    full, named = derive(tape, given)
    job = None
    reason = "turned off (--no-symbolic)" if not symbolic else None
    variables = list(tape.variables)
    if symbolic:
        from .budget import Budgeted
        from .symbolic import confirm_gradients

        wanted = {n: full.upstream.get(tape.variables[n]) for n in variables}
        job = Budgeted(lambda emit: confirm_gradients(tape, given, wanted, emit), symbolic_budget)
    result = FormulaGradient(
        tape, given, [n for n in variables if n not in given], written(full.value[tape.output]), variables,
        {n: written(full.upstream.get(tape.variables[n], number(0.0))) for n in variables},
        sympy_reason=reason, warnings=warnings,
    )
    result.gates = _gates(tape, full, named)
    if job is not None:
        outcome = job.collect()
        for item in outcome.results:
            n = item["name"]
            result.sympy[n] = item.get("sympy")
            result.simplified[n] = item.get("simplified")
            result.equal[n] = item.get("equal")
            if item.get("how"):
                result.how[n] = item["how"]
        if not outcome.complete:
            result.sympy_reason = outcome.reason
    return result


def _gates(tape: Tape, full: Reverse, named: Reverse) -> list[FormulaGate]:
    rows = []
    for i, node in enumerate(tape.nodes):
        if i not in full.value or node.kind not in (VAR, GATE):
            continue
        up = named.upstream.get(i)
        local: list[tuple[str, str | None]] = []
        shown: list[str | None] = []
        down: list[tuple[str, str | None]] = []
        if node.kind == GATE:
            assert node.op is not None
            args = [named.value[j] for j in node.args]
            for j, formula in named.local.get(i, []):
                k = node.args.index(j)
                notation = node.op.grad_text and "{" in node.op.grad_text[min(k, len(node.op.grad_text) - 1)]
                text = written(formula, MAX_CELL_TERMS)
                local.append((tape.nodes[j].label, text))
                shown.append(local_text(node.op, args, Name(node.label, NOWHERE), k, TEXT) if notation else text)
                term = None if up is None else written(product(up, formula), MAX_CELL_TERMS)
                down.append((tape.nodes[j].label, term))
        rows.append(FormulaGate(
            i, node.label, tape.gate_text(i) if node.kind == GATE else "input",
            written(full.value[i], MAX_CELL_TERMS), written(up, MAX_CELL_TERMS) if up is not None else None,
            local, shown, down, node.op.pattern if node.op is not None else "input",
        ))
    return rows


# ---------------------------------------------------------------------------
# A picture without values: the graph's edges carry formulas

PICTURE_CHARS = 40  # a formula on an edge of a picture is cut to this many characters


def _short(text: str | None) -> str:
    if text is None:
        return "…"
    return text if len(text) <= PICTURE_CHARS else text[: PICTURE_CHARS - 1] + "…"


@dataclass
class _Backprop:
    grads: list[str | None]
    needs: list[bool]
    shares: dict[int, tuple[str | None, ...]]

    def downstream(self, tape: Tape, i: int) -> tuple[str | None, ...] | None:
        return self.shares.get(i)


@dataclass
class FormulaPicture:
    """What the pictures read of a result (tape, values, gradients), with formulas for the numbers."""

    tape: Tape
    values: list[str | None]
    inputs: dict[str, float]
    output_label: str
    backprop: _Backprop


def picture(result: FormulaGradient) -> FormulaPicture:
    """The formulas a picture puts on its edges: each value over the variables, each gradient over the gates."""
    tape = result.tape
    values: list[str | None] = [None] * len(tape.nodes)
    grads: list[str | None] = [None] * len(tape.nodes)
    needs = tape.needs_grad()
    shares: dict[int, tuple[str | None, ...]] = {}
    for i, node in enumerate(tape.nodes):
        if node.kind not in (VAR, GATE):
            values[i] = node.label
    for g in result.gates:
        values[g.index] = _short(g.value)
        grads[g.index] = _short(g.upstream)
        node = tape.nodes[g.index]
        if node.kind == GATE:
            given = iter(g.downstream)
            shares[g.index] = tuple(_short(next(given)[1]) if needs[j] else None for j in node.args)
    return FormulaPicture(tape, values, dict(result.given), result.output_label, _Backprop(grads, needs, shares))
