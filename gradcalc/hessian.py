"""Second derivatives: the Hessian, a Hessian-vector product, and derivatives of any order of one variable.

All differentiate the gradient graph (:mod:`gradcalc.gradgraph`), a tape of
the same op rows: the Hessian is the Jacobian of the gradient — rows by
reverse mode over the gradient graph, columns by forward mode, central
differences of the formula's own gradient as a third witness — checked
against SymPy's second derivatives, with its symmetry and its eigenvalues;
f⁽ᵏ⁾ is the gradient of the gradient, k times.  A formula over vectors and
matrices is first unrolled into scalar gates (:mod:`gradcalc.unroll`), one
variable per element, labelled ``v[0]``, ``W[0, 1]``.

Past :data:`~gradcalc.limits.MAX_HESSIAN_MATRIX` variables (or with
``hvp=True``) the full matrix gives way to its product with one random
direction d, checked as PyTorch's ``gradgradcheck`` checks second
derivatives: H·d by forward mode over the gradient graph (forward-over-
reverse), dᵀH by reverse mode over it (reverse-over-reverse, the same for a
symmetric H), the central difference of the gradient along d, and SymPy's
∂/∂a of the directional derivative Σ d_b ∂f/∂b where the formula is small
enough.  Its work grows with the graph, not with the square of its variables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .checks import FORWARD_TOL, NUMERIC_TOL, SYMBOLIC_TOL, step
from .errors import GradcalcError
from .gradgraph import gradient_tape
from .limits import MAX_HESSIAN_MATRIX, MAX_HESSIAN_VARIABLES, MAX_JACOBIAN_NODE_VISITS, MAX_SECOND_ORDER_NODES
from .ops import DEFAULT_TIE
from .parser import Program
from .pipeline import evaluate, kinks
from .shown import Shown, brief
from .tape import Tape
from .unroll import Element, elements_of, unroll

DEFAULT_SYMBOLIC_BUDGET = 5.0
MAX_ORDER = 8  # derivatives of one variable: each order rewrites the graph, which grows with it
DEFAULT_SEED = 0
NUMERIC_SLACK = 1e-6  # added to the central differences' atol: the gradient's own rounding, divided by 2h


@dataclass
class HessianVectorProduct:
    """The Hessian times one direction, each entry checked three ways."""

    direction: list[float]  # d: random tenths, none of them 0, from the seed
    seed: int
    value: list[float]  # H·d, by forward mode over the gradient graph (forward-over-reverse)
    reverse: list[float]  # dᵀH, by reverse mode over the gradient graph (reverse-over-reverse)
    numeric: list[float | None] | None  # (∇f(x + h·d) − ∇f(x − h·d)) / 2h, backprop of the formula itself
    step: float  # h
    symbolic: list[float | None] | None  # SymPy's ∂/∂a of Σ d_b ∂f/∂b
    why: str  # why the product rather than the matrix

    def differing(self) -> list[str]:
        """The witnesses that differ from H·d somewhere: reverse, sympy, numeric."""
        wrong = []
        if not all(FORWARD_TOL.close(a, b) for a, b in zip(self.value, self.reverse, strict=True)):
            wrong.append("reverse")
        if self.symbolic is not None and not all(
            b is None or SYMBOLIC_TOL.close(a, b) for a, b in zip(self.value, self.symbolic, strict=True)
        ):
            wrong.append("sympy")
        if self.numeric is not None and not all(
            b is None or NUMERIC_TOL.close(a, b, NUMERIC_SLACK) for a, b in zip(self.value, self.numeric, strict=True)
        ):
            wrong.append("numeric")
        return wrong


# SymPy and the central differences see a kink as it is; the passes follow the convention at it (relu's 0 at 0).
EXCUSED_AT_KINKS = ("sympy", "numeric")
CONVENTION = "the convention at a non-differentiable point"


@dataclass(frozen=True)
class Witness:
    """One check of the second derivatives: whether it agrees, and by how much it differs at the most."""

    key: str  # as disagreeing() names it: forward, numeric, sympy, symmetry; reverse for dᵀH
    name: str  # for people: "forward mode", "central differences of the gradient", ...
    agrees: bool
    largest: float | None  # the largest |difference| from the value checked (None: nothing compared)
    note: str = ""  # why it was not held to its tolerance, or not run


def _largest(pairs: list[tuple[float, float | None]]) -> float | None:
    found = [abs(a - b) for a, b in pairs if b is not None and math.isfinite(a) and math.isfinite(b)]
    return max(found) if found else None


@dataclass(repr=False)
class HessianResult(Shown):
    tape: Tape
    inputs: dict[str, Any]
    value: float
    variables: list[str]  # rows and columns, in order: x, or v[0], W[0, 1] for the elements of vectors and matrices
    gradient: list[float]
    hessian: list[list[float]]  # by reverse mode over the gradient graph ([] when only the product is computed)
    forward: list[list[float]]  # by forward mode over it
    numeric: list[list[float | None]] | None  # central differences of the gradient
    symbolic: list[list[float | None]] | None  # SymPy's second derivatives
    symbolic_reason: str | None
    kinks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hvp: HessianVectorProduct | None = None  # the product along a direction, instead of the matrix

    @property
    def symmetric(self) -> bool:
        """H = Hᵀ; for the product alone, H·d = dᵀH along its direction."""
        if self.hvp is not None:
            return "reverse" not in self.hvp.differing()
        n = len(self.variables)
        return all(FORWARD_TOL.close(self.hessian[i][j], self.hessian[j][i]) for i in range(n) for j in range(n))

    def differing(self) -> list[str]:
        """The witnesses that differ from reverse mode somewhere (or 'symmetry'), a kink or not."""
        if self.hvp is not None:
            return self.hvp.differing()
        wrong = []
        pairs = [(i, j) for i in range(len(self.variables)) for j in range(len(self.variables))]
        if not all(FORWARD_TOL.close(self.hessian[i][j], self.forward[i][j]) for i, j in pairs):
            wrong.append("forward")
        if self.symbolic is not None and not all(
            self.symbolic[i][j] is None or SYMBOLIC_TOL.close(self.hessian[i][j], self.symbolic[i][j]) for i, j in pairs
        ):
            wrong.append("sympy")
        if self.numeric is not None and not all(
            self.numeric[i][j] is None or NUMERIC_TOL.close(self.hessian[i][j], self.numeric[i][j], NUMERIC_SLACK)
            for i, j in pairs
        ):
            wrong.append("numeric")
        if not self.symmetric:
            wrong.append("symmetry")
        return wrong

    def disagreeing(self) -> list[str]:
        """The witnesses that really disagree: at a kink, SymPy and central differences may differ by convention."""
        return [w for w in self.differing() if not (self.kinks and w in EXCUSED_AT_KINKS)]

    @property
    def ok(self) -> bool:
        return not self.disagreeing()

    def witnesses(self) -> list[Witness]:
        """Every check that ran, in the order the reports list them."""
        differ = self.differing()

        def witness(key: str, name: str, pairs: list[tuple[float, float | None]]) -> Witness:
            excused = key in differ and bool(self.kinks) and key in EXCUSED_AT_KINKS
            return Witness(key, name, key not in differ, _largest(pairs), CONVENTION if excused else "")

        found: list[Witness] = []
        if self.hvp is not None:
            p = self.hvp
            found.append(witness("reverse", "reverse-over-reverse dᵀH", list(zip(p.value, p.reverse, strict=True))))
            if p.numeric is not None:
                found.append(witness("numeric", "central differences of the gradient along d",
                                     list(zip(p.value, p.numeric, strict=True))))
            if p.symbolic is not None:
                found.append(witness("sympy", "SymPy", list(zip(p.value, p.symbolic, strict=True))))
            return found
        n = range(len(self.variables))
        h = self.hessian
        found.append(witness("forward", "forward mode", [(h[i][j], self.forward[i][j]) for i in n for j in n]))
        if self.numeric is not None:
            num = self.numeric
            found.append(witness("numeric", "central differences of the gradient",
                                 [(h[i][j], num[i][j]) for i in n for j in n]))
        if self.symbolic is not None:
            sym = self.symbolic
            found.append(witness("sympy", "SymPy", [(h[i][j], sym[i][j]) for i in n for j in n]))
        found.append(witness("symmetry", "symmetry", [(h[i][j], h[j][i]) for i in n for j in n]))
        return found

    @property
    def eigenvalues(self) -> list[float]:
        if self.hvp is not None:
            return []
        import numpy as np

        h = np.array(self.hessian, dtype=float)
        if not np.all(np.isfinite(h)):
            return []
        return [float(e) for e in np.linalg.eigvalsh((h + h.T) / 2)]

    @property
    def definiteness(self) -> str:
        """What the eigenvalues say: positive definite, negative definite, indefinite, or semidefinite."""
        if self.hvp is not None:
            return "not computed"
        eig = self.eigenvalues
        if not eig:
            return "not finite"
        scale = max(1.0, max(abs(e) for e in eig))
        tol = 1e-12 * scale
        if all(e > tol for e in eig):
            return "positive definite"
        if all(e < -tol for e in eig):
            return "negative definite"
        if any(e > tol for e in eig) and any(e < -tol for e in eig):
            return "indefinite"
        return "semidefinite"

    def summary(self) -> str:
        out = self.tape.nodes[self.tape.output].label
        n = len(self.variables)
        checks = "checks ok" if self.ok else "checks failed: " + ", ".join(self.disagreeing())
        if self.hvp is not None:
            return f"{out}={brief(self.value)} H·d of {n:,} variables: {checks}"
        by = ", ".join(self.variables[:6]) + (", …" if n > 6 else "")
        return f"{out}={brief(self.value)} {n}×{n} by {by}: {self.definiteness}, {checks}"

    @property
    def meaning(self) -> str:
        stationary = all(abs(g) <= 1e-12 * max(1.0, abs(self.value)) for g in self.gradient)
        where = "here, where the gradient is 0" if stationary else "where the gradient is 0 (it is not 0 here)"
        return {
            "positive definite": f"a local minimum {where}",
            "negative definite": f"a local maximum {where}",
            "indefinite": f"a saddle point {where}",
            "semidefinite": "the second derivatives alone cannot tell a minimum from a saddle",
            "not finite": "some second derivative is not finite",
            "not computed": "not computed, as they need the full matrix",
        }[self.definiteness]


_LABEL = re.compile(r"\s*([^\W\d]\w*)\s*(?:\[\s*(\d+(?:\s*,\s*\d+)*)\s*\])?\s*\Z")


def select(wrt: list[str] | None, found: list[Element]) -> list[Element]:
    """The elements ``wrt`` names, in its order: a whole variable (every element), or one element, ``W[0, 1]``."""
    if wrt is None:
        return found
    by_variable: dict[str, list[Element]] = {}
    for e in found:
        by_variable.setdefault(e.variable, []).append(e)
    chosen: dict[str, Element] = {}
    for text in wrt:
        match = _LABEL.match(text)
        name = match.group(1) if match else text.strip()
        if name not in by_variable:
            raise GradcalcError(f"--wrt names {text.strip()[:60]!r}, which the formula does not use", kind="usage",
                                hint=f"its variables are {', '.join(by_variable) or 'none'}")
        parts = by_variable[name]
        assert match is not None
        if match.group(2) is None:
            chosen.update((e.label, e) for e in parts)
            continue
        pos = tuple(int(k) for k in match.group(2).split(","))
        hit = next((e for e in parts if e.position == pos), None)
        if hit is None:
            shape = parts[-1].position
            size = "a number" if not shape else "×".join(str(k + 1) for k in shape)
            raise GradcalcError(f"--wrt names {text.strip()[:60]!r}, but {name} is {size}", kind="usage",
                                hint=f"its elements are {parts[0].label} to {parts[-1].label}" if shape
                                else f"write {name}")
        chosen[hit.label] = hit
    return list(chosen.values())


def direction(n: int, seed: int = DEFAULT_SEED) -> list[float]:
    """A random direction of n entries, each ±0.1 to ±1.0 in tenths (never 0: every column counts), from ``seed``.

    Drawn with ``random.Random(seed).random()``, whose sequence Python keeps the same from
    version to version, so a seed names the same direction everywhere.
    """
    import random

    rng = random.Random(seed)
    found = []
    for _ in range(n):
        tenths = min(10, 1 + int(rng.random() * 10))
        found.append(tenths / 10 if rng.random() < 0.5 else -tenths / 10)
    return found


def hessian(
    formula: str | Program | Tape,
    values: Mapping[str, Any] | None = None,
    *,
    wrt: list[str] | None = None,
    symbolic: bool = True,
    numeric: bool = True,
    symbolic_budget: float = DEFAULT_SYMBOLIC_BUDGET,
    tie: str = DEFAULT_TIE,
    name: str = "<formula>",
    hvp: bool = False,
    seed: int = DEFAULT_SEED,
) -> HessianResult:
    """∂²f/∂a∂b for every pair of ``wrt`` (default: every variable, each element of a vector or matrix), checked
    four ways; or, with ``hvp`` or past MAX_HESSIAN_MATRIX variables, the Hessian times a random direction."""
    ev = evaluate(formula, values, tie=tie, name=name)
    tape = ev.tape
    out = ev.output_value
    if not isinstance(out, float) and getattr(out, "ndim", 1) == 0:
        out = float(out)
    if not isinstance(out, float):
        node = tape.nodes[tape.output]
        raise GradcalcError(
            f"the output {node.label} is not a number: a Hessian is of a scalar function",
            kind="shape", span=node.span, source=tape.source,
            hint="wrap it in sum(...), or take the Jacobian with 'gradcalc jacobian'",
        )
    every = elements_of(tape, ev.inputs)
    if not every:
        raise GradcalcError("the formula has no variables: its Hessian is empty", kind="usage")
    chosen = select(wrt, every)
    n = len(chosen)
    if n > MAX_HESSIAN_VARIABLES:
        raise GradcalcError(
            f"the Hessian would be by {n:,} variables (each element of a vector or matrix counts), more than the "
            f"limit of {MAX_HESSIAN_VARIABLES:,}", kind="limit",
            hint="choose some with --wrt NAME,NAME, or give some as numbers in the formula",
        )
    if tape.has_tensors or any(e.position for e in every):
        unrolled = unroll(tape, ev.inputs, ev.values)
        scalar_tape, point = unrolled.tape, unrolled.inputs
    else:
        if len(tape.nodes) > MAX_SECOND_ORDER_NODES:
            raise GradcalcError(
                f"the formula has {len(tape.nodes):,} nodes, more than the limit of {MAX_SECOND_ORDER_NODES:,} "
                "for second derivatives", kind="limit", hint="take the Hessian of a smaller formula",
            )
        scalar_tape, point = tape, {e.name: float(ev.inputs[e.name]) for e in every}
    grad_tape = gradient_tape(scalar_tape, [e.name for e in chosen])
    given = {k: point[k] for k in grad_tape.variables}
    why = _why_product(hvp, n, len(grad_tape.variables), len(grad_tape.nodes))
    labels = [e.label for e in chosen]
    d = direction(n, seed) if why else []
    job = _start_symbolic(tape, ev.inputs, labels, d, symbolic, symbolic_budget)
    reason = job if isinstance(job, str) else None
    budgeted = None if isinstance(job, str) else job
    try:
        bp = ev.backward()
        listed, _, _ = kinks(ev, bp)
        gradient = _flat_gradient(tape, bp.grads, chosen)
        try:
            if why:
                product = _product(tape, ev.inputs, chosen, grad_tape, given, d, seed, why, numeric, tie)
            else:
                matrices = _matrix(tape, ev.inputs, chosen, grad_tape, given, numeric, tie)
        except GradcalcError as err:
            raise _undefined(err, tape, listed) from None
    except BaseException:
        if budgeted is not None:
            budgeted.cancel()
        raise
    sym_found: dict[Any, Any] = {}
    if budgeted is not None:
        outcome = budgeted.collect()
        for item in outcome.results:
            if "row" in item:
                sym_found[(item["row"], item.get("col"))] = item.get("value")
        if not outcome.complete:
            reason = outcome.reason
    notes = [f"{k.label}: {k.note}" for k in listed]
    if why:
        if sym_found:
            product.symbolic = [sym_found.get((a, None)) for a in labels]
        return HessianResult(tape, dict(ev.inputs), float(out), labels, gradient, [], [], None, None, reason, notes,
                             ev.warnings, product)
    sym = [[sym_found.get((a, b)) for b in labels] for a in labels] if sym_found else None
    reverse, forward, central = matrices
    return HessianResult(tape, dict(ev.inputs), float(out), labels, gradient, reverse, forward, central, sym, reason,
                         notes, ev.warnings)


def _unlisted(grad_tape: Tape, n: int) -> tuple[list[Any], list[int]]:
    """The gradient graph's nodes without its last, the list of the n gradients, and the gradients' nodes.

    Without the list every gate is scalar, so the passes run on floats (or the
    vectorized sweep) rather than on NumPy's arrays of one element.
    """
    if n == 1:
        return list(grad_tape.nodes), [grad_tape.output]
    assert grad_tape.output == len(grad_tape.nodes) - 1  # the program's last statement: the list
    return grad_tape.nodes[:-1], list(grad_tape.nodes[grad_tape.output].args)


def _along(grad_tape: Tape, d: list[float]) -> tuple[Tape, list[int]]:
    """The gradient graph with d·∇f for its output in place of the list of gradients, and the gradients' nodes:
    its forward mode gives each gradient's tangent along d (H·d), its reverse mode dᵀH."""
    from .ops import OPS
    from .tape import CONST, GATE, Node

    nodes, ends = _unlisted(grad_tape, len(d))
    span = (0, 0)
    total = -1
    for k, (end, amount) in enumerate(zip(ends, d, strict=True)):
        nodes.append(Node(CONST, None, (), span, repr(amount), const=amount))
        nodes.append(Node(GATE, OPS["mul"], (len(nodes) - 1, end), span, f"d{k}·g{k}"))
        if total >= 0:
            nodes.append(Node(GATE, OPS["add"], (total, len(nodes) - 1), span, f"Σ{k}"))
        total = len(nodes) - 1
    tape = Tape(nodes, total, grad_tape.source, dict(grad_tape.variables), dict(grad_tape.defaults), _tensors=False)
    return tape, ends


def _undefined(err: GradcalcError, tape: Tape, listed: list[Any]) -> GradcalcError:
    """A failure of the gradient graph's own forward pass, said of the formula: its Hessian is not defined here."""
    if err.kind not in ("domain", "overflow") or err.source is None or not err.source.name.startswith("<gradient"):
        return err
    why = "; ".join(f"{k.label}: {k.note}" for k in listed)
    return GradcalcError(
        f"the second derivatives are not finite at this point: {err.message.split(' in gate ')[0]} in the "
        "formula of the gradient",
        kind=err.kind, source=tape.source, span=tape.nodes[listed[0].node].span if listed else None,
        hint=(f"{why}; " if why else "") + "take the Hessian at another point",
    )


def _why_product(asked: bool, n: int, graph_variables: int, graph_nodes: int) -> str | None:
    """Why the Hessian-vector product rather than the full matrix, or None for the matrix."""
    if asked:
        return "asked for with --hvp"
    if n > MAX_HESSIAN_MATRIX:
        return f"{n:,} variables, more than the {MAX_HESSIAN_MATRIX} of a full matrix"
    passes = n + graph_variables
    if passes * graph_nodes > MAX_JACOBIAN_NODE_VISITS:
        return (f"the full matrix would take {passes:,} passes over the gradient graph's {graph_nodes:,} nodes, "
                f"more than {MAX_JACOBIAN_NODE_VISITS:,} node visits")
    return None


def _start_symbolic(tape: Tape, inputs: Mapping[str, Any], labels: list[str], d: list[float], symbolic: bool,
                    budget: float) -> Any:
    """SymPy's second derivatives (or its product with ``d``) started in the budgeted child, or why not."""
    if not symbolic:
        return "turned off (--no-symbolic)"
    from .budget import Budgeted
    from .symbolic import MAX_SYMBOLIC_NODES, hessian_vector, second_derivatives

    if len(tape.nodes) > MAX_SYMBOLIC_NODES:
        return f"the graph has {len(tape.nodes):,} nodes, more than {MAX_SYMBOLIC_NODES:,}"
    point = dict(inputs)
    if d:
        return Budgeted(lambda emit: hessian_vector(tape, point, labels, d, emit), budget)
    return Budgeted(lambda emit: second_derivatives(tape, point, labels, emit), budget)


def _flat_gradient(tape: Tape, grads: list[Any], chosen: list[Element]) -> list[float]:
    """∂f/∂element for each chosen element, from the formula's own reverse pass."""
    found = []
    for e in chosen:
        g = grads[tape.variables[e.variable]]
        if e.position:
            import numpy as np

            g = np.asarray(g, dtype=float)
            g = g[e.position] if g.ndim else g
        found.append(float(g))
    return found


def _gradient_at(tape: Tape, inputs: Mapping[str, Any], chosen: list[Element], tie: str) -> list[float] | None:
    """The formula's gradient by backprop at other inputs, or None where it is not defined (outside a domain)."""
    try:
        ev = evaluate(tape, inputs, tie=tie)
        grads = ev.backward().grads
    except GradcalcError:
        return None
    return _flat_gradient(tape, grads, chosen)


def _moved(inputs: Mapping[str, Any], chosen: list[Element], amounts: list[float]) -> dict[str, Any]:
    """The inputs with each chosen element moved by its amount."""
    out = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in inputs.items()}
    for e, a in zip(chosen, amounts, strict=True):
        if not a:
            continue
        if e.position:
            out[e.variable][e.position] += a
        else:
            out[e.variable] = out[e.variable] + a
    return out


def _matrix(tape: Tape, inputs: Mapping[str, Any], chosen: list[Element], grad_tape: Tape, given: dict[str, float],
            numeric: bool, tie: str) -> tuple[list[list[float]], list[list[float]], list[list[float | None]] | None]:
    """The Hessian by reverse mode over the gradient graph (a pass per row), by forward mode over it (a pass per
    column), and by central differences of the formula's gradient (two passes of the formula per column)."""
    from .ops import ScalarMath
    from .passes import Loop, check_forward

    nodes, ends = _unlisted(grad_tape, len(chosen))
    core = Tape(nodes, len(nodes) - 1, grad_tape.source, dict(grad_tape.variables), _tensors=False)
    m = ScalarMath(tie)
    loop = Loop(core, m)
    vals = loop.forward(given)
    check_forward(core, vals, m)
    where = [core.variables.get(e.name) for e in chosen]
    reverse = []
    for end in ends:  # row a: the gradient of ∂f/∂a
        grads = Loop(Tape(nodes, end, core.source, core.variables, _tensors=False), m).backward(vals).grads
        reverse.append([float(grads[i]) if i is not None and i <= end else 0.0 for i in where])
    columns = []
    for i in where:  # column b: every gradient's tangent along b
        tan = loop.jvp(vals, {i: 1.0}) if i is not None else [0.0] * len(nodes)
        columns.append([float(tan[end]) for end in ends])
    forward = [[columns[b][a] for b in range(len(chosen))] for a in range(len(chosen))]
    central: list[list[float | None]] | None = None
    if numeric:
        cols: list[list[float | None]] = []
        for k, e in enumerate(chosen):
            x = float(inputs[e.variable][e.position]) if e.position else float(inputs[e.variable])
            h = step(x)
            sides = [_gradient_at(tape, _moved(inputs, chosen, [s * h if j == k else 0.0 for j in range(len(chosen))]),
                                  chosen, tie) for s in (1.0, -1.0)]
            plus, minus = sides
            cols.append([None] * len(chosen) if plus is None or minus is None
                        else [(p - q) / (2 * h) for p, q in zip(plus, minus, strict=True)])
        central = [[cols[j][i] for j in range(len(chosen))] for i in range(len(chosen))]
    return reverse, forward, central


def _product(tape: Tape, inputs: Mapping[str, Any], chosen: list[Element], grad_tape: Tape, given: dict[str, float],
             d: list[float], seed: int, why: str, numeric: bool, tie: str) -> HessianVectorProduct:
    """H·d forward-over-reverse, dᵀH reverse-over-reverse, and the central difference of the gradient along d."""
    along, ends = _along(grad_tape, d)
    gev = evaluate(along, given, tie=tie)
    positions = {e.name: k for k, e in enumerate(chosen)}
    tangents = {i: d[positions[name]] for name, i in along.variables.items() if name in positions}
    tan = gev.jvp(tangents)
    value = [float(tan[k]) for k in ends]  # each gradient's tangent along d: a row of H times d
    grads = gev.backward().grads  # ∂(d·∇f)/∂x: dᵀH
    reverse = [float(grads[along.variables[e.name]]) if e.name in along.variables else 0.0 for e in chosen]
    central: list[float | None] | None = None
    h = step(max(abs(float(inputs[e.variable][e.position]) if e.position else float(inputs[e.variable]))
                 for e in chosen))
    if numeric:
        plus = _gradient_at(tape, _moved(inputs, chosen, [h * x for x in d]), chosen, tie)
        minus = _gradient_at(tape, _moved(inputs, chosen, [-h * x for x in d]), chosen, tie)
        central = [None] * len(d) if plus is None or minus is None else [
            (p - q) / (2 * h) for p, q in zip(plus, minus, strict=True)]
    return HessianVectorProduct(d, seed, value, reverse, central, h, None, why)


@dataclass(repr=False)
class OrderResult(Shown):
    """f and its derivatives by one variable, up to an order, each checked against SymPy."""

    tape: Tape
    variable: str
    point: float
    values: list[float]  # f, f′, f″, ...
    symbolic: list[float | None] | None
    formulas: list[str | None]  # SymPy's derivative of each order, as text
    symbolic_reason: str | None

    def disagreeing(self) -> list[int]:
        if self.symbolic is None:
            return []
        return [k for k, (a, b) in enumerate(zip(self.values[1:], self.symbolic, strict=True), 1)
                if b is not None and not SYMBOLIC_TOL.close(a, b)]

    @property
    def ok(self) -> bool:
        return not self.disagreeing()

    def summary(self) -> str:
        values = " ".join(brief(v) for v in self.values)
        return f"by {self.variable} at {brief(self.point)}: {values} {'checks ok' if self.ok else 'checks failed'}"


def derivatives_of_order(
    formula: str | Program,
    values: Mapping[str, Any] | None,
    order: int,
    *,
    symbolic: bool = True,
    symbolic_budget: float = DEFAULT_SYMBOLIC_BUDGET,
    name: str = "<formula>",
) -> OrderResult:
    """f, f′, ..., f⁽ᵒʳᵈᵉʳ⁾ at the point, each the gradient graph of the one before."""
    from .passes import Loop, choose_math

    if not 1 <= order <= MAX_ORDER:
        raise GradcalcError(f"--order must be from 1 to {MAX_ORDER}, not {order}", kind="usage",
                            hint="--order 1 is the gradient; each order differentiates the one before")
    ev = evaluate(formula, values, name=name)
    tape = ev.tape
    if len(tape.variables) != 1:
        raise GradcalcError(
            f"--order is for a function of one variable; this one has {len(tape.variables)}",
            kind="usage", hint="give the others as constants in the formula, or use 'gradcalc hessian'",
        )
    (var,) = tape.variables
    x = ev.inputs[var]
    if not isinstance(x, float) or not isinstance(ev.output_value, float):
        raise GradcalcError("--order is for a scalar function of a scalar variable", kind="shape")
    job = None
    reason = "turned off (--no-symbolic)" if not symbolic else None
    if symbolic:
        from .budget import Budgeted
        from .symbolic import second_derivatives

        point = dict(ev.inputs)
        job = Budgeted(lambda emit: second_derivatives(tape, point, [var], emit, order=order), symbolic_budget)
    found = [float(ev.output_value)]
    current = tape
    try:
        for _ in range(order):
            current = gradient_tape(current, [var])
            if var not in current.variables:  # the derivative no longer depends on x: constant from here
                value = float(Loop(current, choose_math(current, {})).forward({})[current.output])
            else:
                value = float(Loop(current, choose_math(current, {var: x})).forward({var: x})[current.output])
            found.append(value if math.isfinite(value) else math.nan)
            if var not in current.variables:
                found.extend([0.0] * (order - len(found) + 1))
                break
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    sym = None
    formulas: list[str | None] = [None] * order
    if job is not None:
        outcome = job.collect()
        by_order = {item["order"]: item for item in outcome.results if "order" in item}
        if by_order:
            sym = [by_order[k].get("value") if k in by_order else None for k in range(1, order + 1)]
            formulas = [by_order[k].get("derivative") if k in by_order else None for k in range(1, order + 1)]
        if not outcome.complete:
            reason = outcome.reason
    return OrderResult(tape, var, x, found, sym, formulas, reason)
