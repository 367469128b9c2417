"""Why a wrong answer is wrong: the chain rule that makes up the gradient, and the slip that fits.

A wrong gradient is explained with the chain rule: the product of the local
gradients along each path from the output down to the node, summed over the
paths (all read from the reverse pass, nothing recomputed; the paths are
:mod:`gradcalc.explain`'s walk), together with the slip that fits (a flipped
sign, a clean factor, a rounding) and, when the student also answered
intermediate upstream gradients, where along the chain the answers first go
wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .answers import Answer, Kind, Mark, Tolerance, rounded_like, within
from .explain import PATH_COUNT_CAP, Factor, Path, path_counts, paths_to
from .i18n import msg

if TYPE_CHECKING:
    from .api import GradResult
    from .tape import Tape

# How many paths a chain spells out (there may be exponentially many).
MAX_PATHS = 4

# How a rounding slip's words start: such a slip has no "where" along the chain.
ROUNDED = "rounded wrong"

# Clean ratios worth naming: "off by a factor of 2".
_FACTORS = (2.0, 3.0, 4.0, 5.0, 10.0, 100.0)


@dataclass
class Chain:
    """∂out/∂target as the chain rule builds it: the sum over paths of the products of local gradients."""

    tape: Tape = field(repr=False)  # names the nodes of the paths
    output: str
    target: str
    paths: list[Path]  # the first MAX_PATHS paths, in the tape's order, one factor per link
    total_paths: int  # saturates at PATH_COUNT_CAP
    note: str | None = None  # why there are no factors (a vector gate on the way)
    where: str | None = None  # where the student's intermediate answers first go wrong

    def label(self, i: int) -> str:
        return self.tape.nodes[i].label

    @property
    def exact(self) -> bool:
        """Whether total_paths is the exact count (it saturates on graphs of more than 10^18 paths)."""
        return self.total_paths < PATH_COUNT_CAP

    @property
    def paths_in_words(self) -> str:
        """How many paths there are: "3", or "more than 10^18"."""
        return str(self.total_paths) if self.exact else "more than 10^18"


def diagnose_all(result: GradResult, marks: Sequence[Mark], tolerance: Tolerance) -> None:
    """For each wrong answer: the chain rule of its gradient, the slip that fits, and where the answers go wrong."""
    for mark in marks:
        if mark.ok or mark.formula is not None:  # a formula answer is diagnosed as a function (formula_answers)
            continue
        if mark.what in (Kind.GRAD, Kind.UPSTREAM) and not mark.expectation.index:  # paths are of whole nodes
            mark.chain = chain_of(result, mark.node)
        mark.reason = diagnose(result, mark, tolerance)
        if mark.chain is not None and not (mark.reason or "").startswith(ROUNDED):  # a rounding slip has no "where"
            mark.chain.where = where(result, mark, marks)


def chain_of(result: GradResult, target: int) -> Chain:
    """∂out/∂target as a sum over paths of products of local gradients (at most MAX_PATHS spelled out)."""
    tape, bp = result.tape, result.backprop
    nodes = tape.nodes
    out = tape.output
    count = path_counts(result, target)
    chain = Chain(tape, nodes[out].label, nodes[target].label, [], count[out])
    for i in range(target + 1, out + 1):
        if count[i]:
            loc = bp.locals[i]
            if loc is None or not all(isinstance(v, int | float) for v in loc):
                chain.note = (f"the chain passes through {nodes[i].label} = {tape.gate_text(i)}, "
                              "a vector or structural gate; see the gate table")
                return chain
    for links in paths_to(result, target, count, MAX_PATHS):
        factors = [Factor(link.parent, link.child, link.local, (link,)) for link in links]
        chain.paths.append(Path(factors, math.prod((f.value for f in factors), start=1.0)))
    return chain


def where(result: GradResult, mark: Mark, marks: Sequence[Mark]) -> str | None:
    """From the student's intermediate answers, where along the chain the answers first go wrong."""
    tape = result.tape
    out = result.output_label
    target = mark.node
    above = _between(result, target)  # nodes between the target and the output
    fed = _feeding(tape, above)
    ups = sorted((m for m in marks if m is not mark), key=lambda m: -m.node)
    upstream = [m for m in ups if m.what in (Kind.UPSTREAM, Kind.GRAD) and m.node in above and m.node != target]
    values = [m for m in reversed(ups) if m.what in (Kind.NODE, Kind.VALUE) and not m.ok and m.node in fed]
    parts = []
    wrong = next((m for m in upstream if not m.ok), None)  # upstream is in backprop order: output first
    if wrong is not None:
        text = (f"your answers first go wrong at {wrong.label} = {wrong.answer.text} "
                f"(true {_short(wrong.true)}), the first wrong step in backprop order")
        consumers = [i for i in range(wrong.node + 1, tape.output + 1)
                     if i in above and wrong.node in tape.nodes[i].args]
        if len(consumers) == 1:
            c = consumers[0]
            checked = c == tape.output or any(m.node == c and m.ok for m in upstream)
            if checked:
                k = tape.nodes[c].args.index(wrong.node)
                loc = result.backprop.locals[c]
                local = f" = {_short(float(loc[k]))}" if loc is not None and isinstance(loc[k], int | float) else ""
                text += (f"; ∂{out}/∂{tape.nodes[c].label} above it is right, so the slip is in the gate "
                         f"{tape.nodes[c].label} = {tape.gate_text(c)}, whose local gradient "
                         f"∂{tape.nodes[c].label}/∂{wrong.name}{local}")
        parts.append(text)
    elif upstream:
        low = upstream[-1]
        text = f"your upstream answers along the chain are right down to {low.label}; "
        gate = tape.nodes[low.node]
        loc = result.backprop.locals[low.node]
        if target in gate.args and loc is not None and isinstance(loc[gate.args.index(target)], int | float):
            local = _short(float(loc[gate.args.index(target)]))
            text += (f"so the slip is in the gate {gate.label} = {tape.gate_text(low.node)}, whose local gradient "
                     f"is ∂{gate.label}/∂{mark.name} = {local}")
        else:
            text += f"the slip is between {low.name} and {mark.name}"
        parts.append(text)
    if values:
        v = values[0]
        parts.append(f"the forward value {v.label} = {v.answer.text} is already wrong (true {_short(v.true)}), "
                     "and local gradients are computed from forward values")
    return "; ".join(parts) or None


def _between(result: GradResult, target: int) -> set[int]:
    """Nodes on some path from the output down to the target (both included)."""
    out = result.tape.output
    count = path_counts(result, target)
    return {i for i in range(target, out + 1) if count[i]} if count[out] else set()


def _feeding(tape: Tape, above: set[int]) -> set[int]:
    """The nodes whose values the local gradients along the chain read: the chain's gates and their inputs."""
    fed = set(above)
    for i in above:
        fed.update(tape.nodes[i].args)
    return fed


def diagnose(result: GradResult, mark: Mark, tolerance: Tolerance) -> str | None:
    """The slip that fits a wrong answer, in words, or None.

    A slip that explains the answer exactly comes first: a flipped sign, then
    a structural one along the chain (one path of several, a missing upstream
    factor, the value of a node instead of a gradient, another variable's
    gradient).  Rounding is the diagnosis only when the answer has the true
    value's leading digits (its size, to within a factor of 2); a clean factor
    comes last.
    """
    claimed, true, bound = mark.number.value, mark.true, mark.tolerance

    def near(x: float) -> bool:
        """The answer is x, written to its digits, and those digits pin x down to 5% (so "1" is not 0.88)."""
        if within(true, x, bound):
            return False
        return within(claimed, x, 0.0) or (abs(claimed - x) < bound and bound <= 0.05 * abs(x))

    unit = 2 * bound  # one unit in the last digit given
    if abs(true) > unit and within(claimed, -true, bound):
        return msg("the sign is flipped")
    structural = _chain_slip(result, mark, near)
    if structural:
        return structural
    if tolerance.by_digits and abs(claimed - true) < unit and _same_size(claimed, true):
        fewer = _fewer_digits(mark.number, true)
        return msg("rounded wrong: {fewer}{true} rounds to {rounded}", fewer=fewer, true=_short(true),
                   rounded=rounded_like(mark.number, true))
    if tolerance.by_digits and abs(true) > unit and abs(claimed + true) < unit and _same_size(-claimed, true):
        return msg("the sign is flipped, and then rounded wrong: {true} rounds to {rounded}", true=_short(-true),
                   rounded=rounded_like(mark.number, -true))
    return _gate_value_slip(result, mark, near) or _factor_slip(true, bound, near)


def _same_size(claimed: float, true: float) -> bool:
    """The answer could be the true value rounded: same sign, within a factor of 2 (or both 0)."""
    if claimed == 0 or true == 0:
        return claimed == true or abs(claimed - true) < 1e-300
    return claimed * true > 0 and 0.5 <= abs(claimed / true) <= 2


def _gate_value_slip(result: GradResult, mark: Mark, near: Any) -> str | None:
    """The answer is the value of a gate on the chain — sigmoid's σ for its gradient σ(1 − σ)."""
    chain = mark.chain
    if chain is None or not chain.paths:
        return None
    tape = result.tape
    for path in chain.paths:
        for factor in path.factors:
            i = factor.top
            value = result.values[i]
            node = tape.nodes[i]
            if not isinstance(value, float) or node.op is None or not near(value):
                continue
            from .explain import local_formula

            k = node.args.index(factor.bottom) if factor.bottom in node.args else 0
            formula = local_formula(node.op, [tape.nodes[j].label for j in node.args], node.label, k)
            local = f" {formula} = {_short(factor.value)}" if formula else f" {_short(factor.value)}"
            gate = f"{node.label} = {tape.gate_text(i)}"
            return msg("this is the value of {gate}, {value}, not its local gradient{local}", gate=gate,
                       value=_short(value), local=local)
    return None


def _fewer_digits(answer: Answer, true: float) -> str:
    """"right to 1 decimal, but " when the answer is right to fewer digits than it gives."""
    for fewer in range(answer.decimals - 1, -1, -1):
        if within(answer.value, true, float(Decimal(5).scaleb(-fewer - 1)) * (10.0 ** _exponent(answer))):
            # Messages, not text: the words stay English in JSON and are said in the user's language on screen.
            if answer.scientific:
                what = msg("{n} significant digit", n=1) if fewer == 0 else msg("{n} significant digits", n=fewer + 1)
            elif fewer:
                what = msg("{n} decimal", n=1) if fewer == 1 else msg("{n} decimals", n=fewer)
            else:
                what = msg("the units digit")
            return msg("right to {what}, but ", what=what)
    return ""


def _exponent(answer: Answer) -> int:
    return int(answer.text.lower().partition("e")[2] or 0)


def _chain_slip(result: GradResult, mark: Mark, near: Any) -> str | None:
    chain = mark.chain
    if chain is not None and chain.paths:
        if chain.total_paths > 1:
            for path in chain.paths:
                if near(path.product):
                    via = chain.label(path.factors[-1].top) if path.factors else chain.target
                    return msg("this is only the path through {via}: {target} reaches {output} along {paths} paths, "
                               "and their gradients add up", via=via, target=chain.target, output=chain.output,
                               paths=chain.paths_in_words)
        elif len(chain.paths) == 1:
            factors = chain.paths[0].factors
            for k in range(1, len(factors)):
                if near(math.prod(f.value for f in factors[k:])):
                    top = chain.label(factors[k].top)
                    upstream = _short(float(result.backprop.grads[factors[k].top]))
                    return msg("this is ∂{top}/∂{target} alone: the upstream gradient ∂{output}/∂{top} = {upstream} "
                               "was not multiplied in", top=top, target=chain.target, output=chain.output,
                               upstream=upstream)
            for k in range(len(factors) - 1, 0, -1):
                if near(math.prod(f.value for f in factors[:k])):
                    stop = chain.label(factors[k].top)
                    return msg("this is ∂{output}/∂{stop}, the upstream gradient at {stop}: the chain stops there; "
                               "multiply on by the local gradients below it, down to {target}", output=chain.output,
                               stop=stop, target=chain.target)
    target = result.tape.nodes[mark.node]
    own = result.values[mark.node]
    if mark.what in (Kind.GRAD, Kind.UPSTREAM) and isinstance(own, float) and near(own):
        consumers = [n for n in result.tape.nodes if mark.node in n.args]
        swap = any(n.op is not None and n.op.name == "mul" for n in consumers)
        if swap:
            return msg("this is the value of {node}, not its gradient; a mul gate hands each input the *other* "
                       "input's value times the upstream gradient", node=target.label)
        return msg("this is the value of {node}, not its gradient", node=target.label)
    if mark.what == Kind.GRAD:
        for v in result.variables:
            if v.name != mark.name and isinstance(v.gradient, float) and near(v.gradient):
                return msg("this is ∂{output}/∂{other}: {name} and {other} mixed up?", output=result.output_label,
                           other=v.name, name=mark.name)
    return None


def _factor_slip(true: float, bound: float, near: Any) -> str | None:
    if abs(true) <= bound:
        return None
    for sign in (1.0, -1.0):
        for k in _FACTORS:
            flipped = msg(", and the sign is flipped") if sign < 0 else ""
            if near(sign * k * true):
                return msg("off by a factor of {k}: the answer is {k}× the true value{flipped}", k=f"{k:g}",
                           flipped=flipped)
            if near(sign * true / k):
                return msg("off by a factor of {k}: the answer is 1/{k} of the true value{flipped}", k=f"{k:g}",
                           flipped=flipped)
    return None


def _short(x: float) -> str:
    return f"{x:.6g}"
