"""The chain rule along each path, as data.

For every variable x, ∂f/∂x is the sum, over every path from the output f
down to x, of the product of the local gradients along the path.  This module
finds those paths on the tape (without recursion: an explicit stack), with
their factors and products, so that a renderer can write

    ∂f/∂x = ∂f/∂q · ∂q/∂x = (-4)(1) = -4

and, where a value fans out, one such line per path, the lines adding up.

Two things keep it readable on a 20-node formula:

* a run of three or more *one-input* gates (gates whose other inputs are
  constants, like CS231n's ``*-1``, ``exp``, ``+1``, ``1/x``) is one function
  of one input, so its factors collapse into one factor ∂top/∂bottom, exact
  because there is only one path through such a run; the collapsed chains are
  listed once, expanded;
* at most ``max_paths`` paths are listed per variable; the others are counted
  and their total contribution is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .api import GradResult
from .ops import Op
from .tape import GATE, Tape

MAX_PATHS = 8  # paths listed per variable
COLLAPSE_MIN = 3  # one-input gates in a row before they collapse into one factor
MAX_VARIABLES = 50  # variables explained; the rest are counted
MAX_GATES = 60  # gates listed with their local gradients; the rest are counted
PATH_COUNT_CAP = 10**18  # path counts saturate here ("more than ...")


@dataclass(frozen=True, slots=True)
class Link:
    """One edge of the graph seen from above: gate ``parent``'s input number ``position`` is ``child``."""

    parent: int
    position: int
    child: int
    local: float  # ∂parent/∂child through this input


@dataclass(frozen=True, slots=True)
class Factor:
    """One factor of a path as shown: a single link, or a collapsed run of links."""

    top: int
    bottom: int
    value: float
    links: tuple[Link, ...]

    @property
    def collapsed(self) -> bool:
        return len(self.links) > 1


@dataclass(slots=True)
class Path:
    factors: list[Factor]
    product: float


@dataclass
class VariableChain:
    """The chain rule for one variable: its paths, and what they add up to."""

    name: str
    node: int
    gradient: float  # backprop's answer, which the paths add up to
    paths: list[Path]
    path_count: int  # all paths, shown or not (saturates at PATH_COUNT_CAP)
    rest: float  # the contribution of the paths not shown
    fanouts: list[tuple[int, int]] = field(default_factory=list)  # (node, uses) where paths branch

    @property
    def shown_sum(self) -> float:
        return math.fsum(p.product for p in self.paths)


@dataclass(frozen=True, slots=True)
class LocalNote:
    child: int
    formula: str | None  # symbolic local gradient, e.g. "z" for a mul gate's other input
    value: float


@dataclass(frozen=True, slots=True)
class GateNote:
    """A gate on the way: how it is computed, its pattern, its local gradients."""

    node: int
    text: str  # "q = x + y"
    pattern: str
    locals: tuple[LocalNote, ...]


@dataclass
class Explanation:
    output: int
    output_label: str
    tape: Tape
    variables: list[VariableChain]
    gates: list[GateNote]
    chains: list[Factor]  # the collapsed runs, each listed once
    omitted_variables: int = 0
    omitted_gates: int = 0
    note: str | None = None  # why nothing is explained (vectors and matrices)

    def label(self, i: int) -> str:
        return self.tape.nodes[i].label


def local_formula(op: Op, labels: list[str], out: str, k: int) -> str | None:
    """∂out/∂labels[k] as a short formula in the labels given (from the op row), or None."""
    from .printer import leaf, local_text

    return local_text(op, [leaf(label) for label in labels], leaf(out), k)


def explain(result: GradResult, max_paths: int = MAX_PATHS, max_variables: int = MAX_VARIABLES) -> Explanation:
    """The chain rule for each variable of ``result``, path by path."""
    tape, bp = result.tape, result.backprop
    if tape.has_tensors or any(not isinstance(v, float) for v in result.inputs.values()):
        note = "the chain rule path by path is written for scalar formulas; this one has vectors or matrices"
        return Explanation(tape.output, result.output_label, tape, [], [], [], note=note)
    nodes = tape.nodes
    needs = bp.needs
    one_input = [
        node.kind == GATE and sum(1 for j in node.args if needs[j]) == 1 for node in nodes
    ]
    uses = [0] * len(nodes)
    for i, node in enumerate(nodes):
        if needs[i]:
            for j in node.args:
                uses[j] += 1
    chains: dict[tuple[int, int], Factor] = {}
    variables = []
    names = list(tape.variables.items())
    for name, var in names[:max_variables]:
        variables.append(_variable_chain(result, name, var, max_paths, one_input, uses, chains))
    on_paths = sorted(
        {link.parent for v in variables for p in v.paths for f in p.factors for link in f.links}
    )
    return Explanation(
        tape.output,
        result.output_label,
        tape,
        variables,
        [gate_note(result, i) for i in on_paths[:MAX_GATES]],
        list(chains.values()),
        omitted_variables=max(0, len(names) - max_variables),
        omitted_gates=max(0, len(on_paths) - MAX_GATES),
    )


def gate_note(result: GradResult, i: int) -> GateNote:
    tape, bp = result.tape, result.backprop
    node = tape.nodes[i]
    assert node.kind == GATE and node.op is not None
    labels = [tape.nodes[j].label for j in node.args]
    loc = bp.locals[i]
    notes = []
    for k, j in enumerate(node.args):
        if not bp.needs[j]:
            continue
        value = float(loc[k]) if loc is not None else math.nan
        notes.append(LocalNote(j, local_formula(node.op, labels, node.label, k), value))
    return GateNote(i, f"{node.label} = {tape.gate_text(i)}", node.op.pattern, tuple(notes))


def _variable_chain(
    result: GradResult,
    name: str,
    var: int,
    max_paths: int,
    one_input: list[bool],
    uses: list[int],
    chains: dict[tuple[int, int], Factor],
) -> VariableChain:
    out = result.tape.output
    count = path_counts(result, var)
    gradient = float(result.backprop.grads[var])
    if count[out] == 0:
        return VariableChain(name, var, gradient, [], 0, 0.0)
    paths = [_factors(links, one_input, chains) for links in paths_to(result, var, count, max_paths)]
    chain = VariableChain(name, var, gradient, paths, count[out], 0.0)
    if count[out] > len(paths):
        chain.rest = gradient - chain.shown_sum
    on_path = {link.child for p in paths for f in p.factors for link in f.links}
    chain.fanouts = [(j, uses[j]) for j in sorted(on_path) if uses[j] > 1 and count[j] > 0]
    return chain


def path_counts(result: GradResult, target: int) -> list[int]:
    """For each node, how many paths lead from it down to node ``target`` (saturating at PATH_COUNT_CAP).

    The output's count is the number of paths the chain rule sums over; a node
    whose count is 0 is on none of them.  ``target`` may be any node the
    gradient flows into, a variable or a gate.
    """
    tape, needs = result.tape, result.backprop.needs
    nodes = tape.nodes
    count = [0] * len(nodes)
    count[target] = 1
    for i in range(target + 1, tape.output + 1):
        node = nodes[i]
        if node.kind == GATE and needs[i]:
            total = 0
            for j in node.args:
                total += count[j]
            count[i] = min(total, PATH_COUNT_CAP)
    return count


def paths_to(result: GradResult, target: int, count: list[int], limit: int) -> list[list[Link]]:
    """Up to ``limit`` paths from the output down to ``target`` (``count`` from :func:`path_counts`),
    depth first, inputs in order, each a list of links from the output down."""
    nodes = result.tape.nodes
    locals_ = result.backprop.locals
    found: list[list[Link]] = []
    links: list[Link] = []
    stack: list[list[int]] = [[result.tape.output, 0]]  # node, next input position to try
    while stack and len(found) < limit:
        top = stack[-1]
        node, pos = top
        if node == target:
            found.append(list(links))
            stack.pop()
            if stack:
                links.pop()
            continue
        args = nodes[node].args
        while pos < len(args) and count[args[pos]] == 0:
            pos += 1
        if pos == len(args):
            stack.pop()
            if stack:
                links.pop()
            continue
        top[1] = pos + 1
        child = args[pos]
        loc = locals_[node]
        local = float(loc[pos]) if loc is not None else math.nan
        links.append(Link(node, pos, child, local))
        stack.append([child, 0])
    return found


def _factors(links: list[Link], one_input: list[bool], chains: dict[tuple[int, int], Factor]) -> Path:
    factors: list[Factor] = []
    t = 0
    while t < len(links):
        end = t
        while end < len(links) and one_input[links[end].parent]:
            end += 1
        if end - t >= COLLAPSE_MIN:
            run = tuple(links[t:end])
            factor = Factor(run[0].parent, run[-1].child, math.prod(link.local for link in run), run)
            chains.setdefault((factor.top, factor.bottom), factor)
            factors.append(factor)
            t = end
        else:
            link = links[t]
            factors.append(Factor(link.parent, link.child, link.local, (link,)))
            t += 1
    product = math.prod(f.value for f in factors) if factors else 1.0
    return Path(factors, product)


# ---------------------------------------------------------------------------
# As a JSON-ready dict


def explanation_doc(ex: Explanation) -> dict[str, Any]:
    from .render.numbers import num

    def factor_doc(f: Factor) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "of": ex.label(f.top),
            "by": ex.label(f.bottom),
            "value": num(f.value),
        }
        if f.collapsed:
            doc["through"] = [ex.label(link.child) for link in f.links[:-1]]
        return doc

    return {
        "output": ex.output_label,
        "gates": [
            {
                "node": g.node,
                "gate": g.text,
                "pattern": g.pattern,
                "local": [
                    {"by": ex.label(n.child), "formula": n.formula, "value": num(n.value)} for n in g.locals
                ],
            }
            for g in ex.gates
        ],
        "collapsed": [factor_doc(f) for f in ex.chains],
        "variables": [
            {
                "name": v.name,
                "gradient": num(v.gradient),
                "paths_total": v.path_count,
                "paths": [
                    {"factors": [factor_doc(f) for f in p.factors], "product": num(p.product)} for p in v.paths
                ],
                "rest": num(v.rest) if v.path_count > len(v.paths) else None,
                "fanout": [{"node": ex.label(j), "uses": n} for j, n in v.fanouts],
            }
            for v in ex.variables
        ],
        "omitted_variables": ex.omitted_variables,
        "omitted_gates": ex.omitted_gates,
        "note": ex.note,
    }


__all__ = [
    "Explanation",
    "Factor",
    "GateNote",
    "Link",
    "Path",
    "VariableChain",
    "explain",
    "explanation_doc",
    "local_formula",
    "path_counts",
    "paths_to",
]
