"""Homework mode: answers judged to the digits given, and why a wrong gradient is wrong.

A student's answer is text such as ``0.39`` or ``-1.2e-3``.  It is judged to
the digits it was given: an answer whose last digit is worth 10^e is right when
it is within half of that (``0.39`` and ``0.4`` are right for 0.3932, ``0.40``
is not).  ``rtol``/``atol`` replace that rule when given.

A wrong gradient is explained with the chain rule: the product of the local
gradients along each path from the output down to the node, summed over the
paths (all read from the reverse pass, nothing recomputed), together with the
slip that fits (a flipped sign, a clean factor, a rounding) and, when the
student also answered intermediate upstream gradients, where along the chain
the answers first go wrong.

Answer files (``gradcalc check``) are TOML; see :func:`grade_file`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .errors import GradcalcError, Source, Span, closest
from .values import NUMBER_RE, clean_number, parse_number

if TYPE_CHECKING:
    from .api import GradResult
    from .explain import Path
    from .tape import Tape

# What an answer is about.
VALUE, GRAD, NODE, UPSTREAM = "value", "grad", "node", "upstream"

# A hair of float slack, relative: 0.39 is right for 0.395 although 0.395 - 0.39 > 0.005 in floats.
SLACK = 1e-12

# Chains: how many paths to spell out (there may be exponentially many), and the factors per path in text.
MAX_PATHS = 4
MAX_FACTORS_SHOWN = 12

ROUNDED = "rounded wrong"

# Clean ratios worth naming: "off by a factor of 2".
_FACTORS = (2.0, 3.0, 4.0, 5.0, 10.0, 100.0)

LABEL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*'*\Z")
# One element of a vector or matrix, as the formula indexes it: v[2], W[0, 1].
ELEMENT_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*'*)\[ *([0-9]{1,9}) *(?:, *([0-9]{1,9}) *)?\]\Z")


def split_label(label: str) -> tuple[str, tuple[int, ...]] | None:
    """``W[0, 1]`` as ("W", (0, 1)), ``x`` as ("x", ()); None when it is neither."""
    if LABEL_RE.match(label):
        return label, ()
    m = ELEMENT_RE.match(label)
    if m is None:
        return None
    return m.group(1), tuple(int(g) for g in m.groups()[1:] if g is not None)


def index_text(index: tuple[int, ...]) -> str:
    return f"[{', '.join(map(str, index))}]" if index else ""


# ---------------------------------------------------------------------------
# Answers and the digits rule


@dataclass(frozen=True)
class Answer:
    """An answer as typed, its value, and half a unit in its last digit."""

    text: str
    value: float
    half_unit: float
    rule: str  # in words: "2 decimals", "2 significant digits", "the units digit"
    decimals: int  # digits after the point (in the mantissa when scientific)
    scientific: bool


def parse_answer(text: str, source: Source | None = None, offset: int = 0) -> Answer:
    """``"0.40"`` → an Answer judged to 2 decimals; anything but a plain number is a located error."""
    value = parse_number(
        text,
        source,
        offset,
        kind="answer",
        hint="answers are decimal or scientific numbers such as -0.20, 4 or 1.2e-3",
        overflow_hint=None,
    )
    clean = clean_number(text)
    mantissa, _, exp = clean.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    last = int(exp or 0) - decimals  # the power of ten of the last digit given
    half = float(Decimal(5).scaleb(last - 1))
    if exp:
        sig = len(mantissa.lstrip("+-").replace(".", "").lstrip("0")) or 1
        rule = f"{sig} significant digit{'s' * (sig != 1)}"
    elif decimals:
        rule = f"{decimals} decimal{'s' * (decimals != 1)}"
    else:
        rule = "the units digit"
    return Answer(clean, value, half, rule, decimals, bool(exp))


@dataclass(frozen=True)
class Tolerance:
    """How answers are judged: to their digits (the default), or by ``rtol``/``atol``."""

    rtol: float | None = None
    atol: float | None = None

    @property
    def by_digits(self) -> bool:
        return self.rtol is None and self.atol is None

    def bound(self, answer: Answer, true: float) -> tuple[float, str]:
        """The absolute tolerance for this answer, and the rule in words."""
        if self.by_digits:
            return answer.half_unit, answer.rule
        rtol, atol = self.rtol or 0.0, self.atol or 0.0
        return atol + rtol * abs(true), f"rtol {rtol:g}, atol {atol:g}"


def within(claimed: float, true: float, bound: float) -> bool:
    """|claimed − true| ≤ bound, with a hair of float slack."""
    return abs(claimed - true) <= bound * (1 + SLACK) + SLACK * max(abs(claimed), abs(true))


def rounded_like(answer: Answer, true: float) -> str:
    """The true value written with as many digits as the answer."""
    if answer.scientific:
        sig = max(1, answer.decimals + 1)
        return f"{true:.{sig - 1}e}"
    return f"{true:.{answer.decimals}f}"


# ---------------------------------------------------------------------------
# Expectations: what the student claims


@dataclass(frozen=True)
class Expectation:
    """One answer to judge: the output's value, ∂out/∂variable, a node's value or its upstream gradient."""

    what: str  # VALUE, GRAD, NODE or UPSTREAM
    name: str  # the variable or node label ("" for the output's value)
    answer: Answer
    source: Source | None = None  # where it was written, for errors about the name
    span: Span | None = None
    index: tuple[int, ...] = ()  # one element of a vector or matrix: (2,) for v[2], (0, 1) for W[0, 1]


_OPTIONS = {VALUE: "--expect-value", GRAD: "--expect-grad", NODE: "--expect", UPSTREAM: "--expect-upstream"}


def parse_expectations(
    value: str | None = None,
    grads: Sequence[str] = (),
    nodes: Sequence[str] = (),
    upstreams: Sequence[str] = (),
) -> list[Expectation]:
    """The command line's ``--expect-value NUM``, ``--expect-grad NAME=NUM``, ``--expect NODE=NUM``, ...."""
    found: list[Expectation] = []
    if value is not None:
        source = Source(value, _OPTIONS[VALUE])
        found.append(Expectation(VALUE, "", parse_answer(value, source), source, (0, len(value))))
    for what, args in ((GRAD, grads), (NODE, nodes), (UPSTREAM, upstreams)):
        for arg in args:
            found.append(_pair(what, arg))
    return found


def _pair(what: str, arg: str) -> Expectation:
    option = _OPTIONS[what]
    source = Source(arg, option)
    name, eq, text = arg.partition("=")
    if not eq:
        raise GradcalcError(
            f"{option} expects NAME=NUMBER, found {arg[:40]!r}",
            kind="usage",
            span=(0, max(1, len(arg))),
            hint=f"e.g. {option} {'x0' if what == GRAD else 'q'}=0.39",
            source=source,
        )
    label = name.strip()
    lead = len(name) - len(name.lstrip())
    span = (lead, lead + max(1, len(label)))
    parts = split_label(label)
    if parts is None:
        raise GradcalcError(
            f"{label[:40]!r} is not a name",
            kind="usage",
            span=span,
            hint="names start with a letter or '_' and go on with letters, digits and '_'; "
            "one element of a vector or matrix is v[2] or W[0, 1]",
            source=source,
        )
    return Expectation(what, parts[0], parse_answer(text, source, len(name) + 1), source, span, parts[1])


# ---------------------------------------------------------------------------
# Judging


@dataclass
class Chain:
    """∂out/∂target as the chain rule builds it: the sum over paths of the products of local gradients."""

    tape: Tape = field(repr=False)  # names the nodes of the paths
    output: str
    target: str
    paths: list[Path]  # the first MAX_PATHS paths, in the tape's order, one factor per link
    total_paths: int  # saturates at explain.PATH_COUNT_CAP
    note: str | None = None  # why there are no factors (a vector gate on the way)
    where: str | None = None  # where the student's intermediate answers first go wrong

    def label(self, i: int) -> str:
        return self.tape.nodes[i].label

    @property
    def exact(self) -> bool:
        """Whether total_paths is the exact count (it saturates on graphs of more than 10^18 paths)."""
        from .explain import PATH_COUNT_CAP

        return self.total_paths < PATH_COUNT_CAP

    @property
    def paths_in_words(self) -> str:
        """How many paths there are: "3", or "more than 10^18"."""
        return str(self.total_paths) if self.exact else "more than 10^18"


@dataclass
class Mark:
    """One answer, judged."""

    expectation: Expectation
    label: str  # how the answer is called: f, ∂f/∂x0, q, ∂f/∂q
    node: int
    true: float
    tolerance: float
    rule: str
    ok: bool
    reason: str | None = None
    chain: Chain | None = None

    @property
    def what(self) -> str:
        return self.expectation.what

    @property
    def name(self) -> str:
        """As written: x, q, or one element, W[0, 1]."""
        return self.expectation.name + index_text(self.expectation.index)

    @property
    def answer(self) -> Answer:
        return self.expectation.answer


def judge(result: GradResult, expectations: Sequence[Expectation], tolerance: Tolerance | None = None) -> list[Mark]:
    """Judge each answer against the result; explain the wrong gradients.

    Raises :class:`GradcalcError` for a name that is not in the graph, or an
    answer about a whole vector or matrix (an answer is one number: W[0, 1] is one element).
    """
    tolerance = tolerance or Tolerance()
    tape = result.tape
    out = result.output_label
    labels = node_labels(tape)
    marks = []
    for e in expectations:
        node = _resolve(result, e, labels)
        if e.what == VALUE:
            label, true = out, result.values[node]
        elif e.what == NODE:
            label, true = e.name, result.values[node]
        else:
            label, true = f"∂{out}/∂{e.name}", result.backprop.grads[node]
        if e.index:
            true = _element(e, label, true)
            label += index_text(e.index)
        elif not isinstance(true, int | float):
            example = f"{e.name or label}[{', '.join(['0'] * _ndim(true))}]"
            raise _name_error(e, f"{label} is a vector or matrix; an answer is one number",
                              f"answer one element at a time, e.g. {example}=...")
        true = float(true)
        bound, rule = tolerance.bound(e.answer, true)
        marks.append(Mark(e, label, node, true, bound, rule, within(e.answer.value, true, bound)))
    for mark in marks:
        if mark.ok:
            continue
        if mark.what in (GRAD, UPSTREAM) and not mark.expectation.index:  # paths are of whole nodes
            mark.chain = chain_of(result, mark.node)
        mark.reason = diagnose(result, mark, tolerance)
        if mark.chain is not None and not (mark.reason or "").startswith(ROUNDED):  # a rounding slip has no "where"
            mark.chain.where = _where(result, mark, marks)
    return marks


def _ndim(value: Any) -> int:
    from .tensor import np

    return int(np.ndim(value))


def _element(e: Expectation, label: str, true: Any) -> float:
    """The element an indexed answer is about, or a located error saying why there is none."""
    from .tensor import np

    shape = tuple(int(n) for n in np.shape(true))
    if not shape:
        raise _name_error(e, f"{label} is a number, not a vector or matrix", f"drop the index: {e.name}=...")
    if len(e.index) != len(shape):
        what = f"a vector of {shape[0]}" if len(shape) == 1 else f"a {shape[0]}×{shape[1]} matrix"
        raise _name_error(e, f"{label} is {what}: give {len(shape)} ind{'ices' if len(shape) > 1 else 'ex'}",
                          "a vector's element is v[2], a matrix's W[0, 1] (row, column), counted from 0")
    if any(k >= n for k, n in zip(e.index, shape, strict=True)):
        raise _name_error(e, f"{label}{index_text(e.index)} is outside its shape {'×'.join(map(str, shape))}",
                          "indices count from 0")
    return float(np.asarray(true)[e.index])


def node_labels(tape: Tape) -> dict[str, int]:
    """Every name a node can be asked about: variables, program names, and gate labels (q, r, ...)."""
    from .tape import CONST

    labels: dict[str, int] = {}
    for i, node in enumerate(tape.nodes):
        if node.kind != CONST:
            labels.setdefault(node.label, i)
    labels.update(tape.bindings)  # a rebound name means its newest binding
    labels.update(tape.variables)
    return labels


def _resolve(result: GradResult, e: Expectation, labels: Mapping[str, int]) -> int:
    tape = result.tape
    if e.what == VALUE:
        return tape.output
    if e.what == GRAD:
        if e.name in tape.variables:
            return tape.variables[e.name]
        if e.name in labels:
            raise _name_error(e, f"{e.name!r} is an intermediate node, not an input variable",
                              f"ask for its upstream gradient with --expect-upstream {e.name}=... "
                              "(expect_upstream in answer files)")
        raise _name_error(e, f"{e.name!r} is not a variable of the formula",
                          _suggest(e.name, list(tape.variables), "the variables are"))
    if e.name not in labels:
        raise _name_error(e, f"there is no node called {e.name!r}",
                          _suggest(e.name, list(labels), "the nodes are"))
    i = labels[e.name]
    if e.what == UPSTREAM and not result.backprop.needs[i]:
        raise _name_error(e, f"{e.name!r} does not depend on any variable, so no gradient flows into it",
                          "ask for its value with --expect (expect in answer files)")
    return i


def _suggest(name: str, known: list[str], intro: str) -> str:
    near = closest(name, known)
    if near:
        return f"did you mean {near!r}?"
    shown = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
    return f"{intro} {shown}" if known else "the formula has none"


def _name_error(e: Expectation, message: str, hint: str | None) -> GradcalcError:
    return GradcalcError(message, kind="answer", span=e.span, hint=hint, source=e.source)


# ---------------------------------------------------------------------------
# The chain rule, spelled out


def chain_of(result: GradResult, target: int) -> Chain:
    """∂out/∂target as a sum over paths of products of local gradients (at most MAX_PATHS spelled out)."""
    from .explain import Factor, Path, path_counts, paths_to

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


def _where(result: GradResult, mark: Mark, marks: Sequence[Mark]) -> str | None:
    """From the student's intermediate answers, where along the chain the answers first go wrong."""
    tape = result.tape
    out = result.output_label
    target = mark.node
    above = _between(result, target)  # nodes between the target and the output
    ups = sorted((m for m in marks if m.what in (UPSTREAM, VALUE, NODE, GRAD) and m is not mark), key=lambda m: -m.node)
    upstream = [m for m in ups if m.what in (UPSTREAM, GRAD) and m.node in above and m.node != target]
    values = [m for m in reversed(ups) if m.what in (NODE, VALUE) and not m.ok and m.node in _feeding(tape, above)]
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
    from .explain import path_counts

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

    Tried in order: a rounding slip, a flipped sign, a structural slip along the
    chain (one path of several, a missing upstream factor, another variable's
    gradient), then a clean factor.
    """
    claimed, true, bound = mark.answer.value, mark.true, mark.tolerance

    def near(x: float) -> bool:
        """The answer is x, written to its digits, and those digits pin x down to 5% (so "1" is not 0.88)."""
        if within(true, x, bound):
            return False
        return within(claimed, x, 0.0) or (abs(claimed - x) < bound and bound <= 0.05 * abs(x))

    unit = 2 * bound  # one unit in the last digit given
    if tolerance.by_digits and abs(claimed - true) < unit:
        fewer = _fewer_digits(mark.answer, true)
        return f"{ROUNDED}: {fewer}{_short(true)} rounds to {rounded_like(mark.answer, true)}"
    if abs(true) > unit and within(claimed, -true, bound):
        return "the sign is flipped"
    if tolerance.by_digits and abs(true) > unit and abs(claimed + true) < unit:
        return (f"the sign is flipped, and then rounded wrong: {_short(-true)} rounds to "
                f"{rounded_like(mark.answer, -true)}")
    return _chain_slip(result, mark, near) or _factor_slip(true, bound, near)


def _fewer_digits(answer: Answer, true: float) -> str:
    """"right to 1 decimal, but " when the answer is right to fewer digits than it gives."""
    for fewer in range(answer.decimals - 1, -1, -1):
        if within(answer.value, true, float(Decimal(5).scaleb(-fewer - 1)) * (10.0 ** _exponent(answer))):
            what = (f"{fewer + 1} significant digit{'s' * (fewer != 0)}" if answer.scientific
                    else f"{fewer} decimal{'s' * (fewer != 1)}" if fewer else "the units digit")
            return f"right to {what}, but "
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
                    return (f"this is only the path through {via}: {chain.target} reaches "
                            f"{chain.output} along {chain.paths_in_words} paths, and their gradients add up")
        elif len(chain.paths) == 1:
            factors = chain.paths[0].factors
            for k in range(1, len(factors)):
                if near(math.prod(f.value for f in factors[k:])):
                    top = chain.label(factors[k].top)
                    upstream = _short(float(result.backprop.grads[factors[k].top]))
                    return (f"this is ∂{top}/∂{chain.target} alone: the upstream gradient "
                            f"∂{chain.output}/∂{top} = {upstream} was not multiplied in")
            for k in range(len(factors) - 1, 0, -1):
                if near(math.prod(f.value for f in factors[:k])):
                    stop = chain.label(factors[k].top)
                    return (f"this is ∂{chain.output}/∂{stop}, the upstream gradient at {stop}: the chain stops "
                            f"there; multiply on by the local gradients below it, down to {chain.target}")
    target = result.tape.nodes[mark.node]
    own = result.values[mark.node]
    if mark.what in (GRAD, UPSTREAM) and isinstance(own, float) and near(own):
        consumers = [n for n in result.tape.nodes if mark.node in n.args]
        swap = any(n.op is not None and n.op.name == "mul" for n in consumers)
        return (f"this is the value of {target.label}, not its gradient"
                + ("; a mul gate hands each input the *other* input's value times the upstream gradient"
                   if swap else ""))
    if mark.what == GRAD:
        for v in result.variables:
            if v.name != mark.name and isinstance(v.gradient, float) and near(v.gradient):
                return f"this is ∂{result.output_label}/∂{v.name}: {mark.name} and {v.name} mixed up?"
    return None


def _factor_slip(true: float, bound: float, near: Any) -> str | None:
    if abs(true) <= bound:
        return None
    for sign in (1.0, -1.0):
        for k in _FACTORS:
            flipped = ", and the sign is flipped" if sign < 0 else ""
            if near(sign * k * true):
                return f"off by a factor of {k:g}: the answer is {k:g}× the true value{flipped}"
            if near(sign * true / k):
                return f"off by a factor of {k:g}: the answer is 1/{k:g} of the true value{flipped}"
    return None


def _short(x: float) -> str:
    return f"{x:.6g}"


# ---------------------------------------------------------------------------
# One step of gradient descent


@dataclass
class Step:
    """v ← v − lr·∂out/∂v for the chosen variables."""

    lr: float
    names: list[str]
    old: dict[str, Any]
    gradients: dict[str, Any]
    updated: dict[str, Any]


def descent_step(result: GradResult, lr: float, params: Sequence[str] | None = None) -> Step:
    """One step of gradient descent with learning rate ``lr``, for ``params`` (default: every variable)."""
    if not math.isfinite(lr):
        raise GradcalcError(f"the learning rate {lr} is not a finite number", kind="usage")
    grads = result.gradients
    names = list(grads) if not params else list(dict.fromkeys(params))
    for name in names:
        if name not in grads:
            raise GradcalcError(
                f"--params names {name!r}, which is not a variable of the formula",
                kind="usage",
                hint=_suggest(name, list(grads), "the variables are"),
            )
    old = {n: result.inputs[n] for n in names}
    g = {n: grads[n] for n in names}
    return Step(lr, names, old, g, {n: old[n] - lr * g[n] for n in names})


def parse_params(text: str | None, lr: float | None) -> list[str] | None:
    """``--params w5,w6`` → ``["w5", "w6"]``; it only means something with ``--lr``."""
    if text is None:
        return None
    if lr is None:
        raise GradcalcError("--params needs --lr", kind="usage", hint="e.g. --lr 0.5 --params w5,w6")
    names = [p.strip() for p in text.split(",") if p.strip()]
    if not names:
        raise GradcalcError("--params is empty", kind="usage", hint="e.g. --params w5,w6")
    return names


# ---------------------------------------------------------------------------
# Answer files


KNOWN_KEYS = (
    "name", "formula", "program", "values", "output", "tie",
    "expect_value", "expect_grad", "expect", "expect_upstream", "rtol", "atol",
)  # fmt: skip
_ANSWER_TABLES = {"expect_grad": GRAD, "expect": NODE, "expect_upstream": UPSTREAM}


@dataclass
class Problem:
    """One [[problem]] of an answer file, checked for shape but not yet computed."""

    index: int
    name: str
    formula: str
    values: dict[str, Any]
    expectations: list[Expectation]
    tolerance: Tolerance
    output: str | None = None
    tie: str = "split"
    formula_offset: int | None = None  # where the formula's text starts in the file, when it maps 1:1
    span: Span | None = None  # the formula key, for errors without a place of their own


@dataclass
class ProblemReport:
    index: int
    name: str
    line: int | None
    marks: list[Mark] = field(default_factory=list)
    error: GradcalcError | None = None
    result: GradResult | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def right(self) -> int:
        return sum(m.ok for m in self.marks)

    @property
    def total(self) -> int:
        return len(self.marks)

    @property
    def checks_ok(self) -> bool:
        return self.result is None or self.result.ok


@dataclass
class FileReport:
    name: str
    source: Source
    problems: list[ProblemReport]

    @property
    def right(self) -> int:
        return sum(p.right for p in self.problems)

    @property
    def total(self) -> int:
        return sum(p.total for p in self.problems)

    @property
    def errors(self) -> list[ProblemReport]:
        return [p for p in self.problems if p.error is not None]

    @property
    def exit_code(self) -> int:
        from .errors import EXIT_BAD_INPUT, EXIT_DISAGREE, EXIT_OK

        if self.errors:
            return EXIT_BAD_INPUT
        if self.right < self.total or not all(p.checks_ok for p in self.problems):
            return EXIT_DISAGREE
        return EXIT_OK


def grade_file(text: str, name: str, *, symbolic: bool = False) -> FileReport:
    """Grade every problem of an answer file.

    The file is TOML with one ``[[problem]]`` table per problem::

        [[problem]]
        name = "neuron"
        formula = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
        values = { w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3 }
        expect_value = "0.73"
        expect_grad = { w0 = "-0.20", x0 = 0.39 }

    Answers written as strings keep their digits.  TOML reads the float 0.20
    as 0.2, so for a bare float the digits are read back from the file's text
    where the scanner finds it (and it parses to the same float); otherwise
    the float's shortest form is judged.

    A file that is not TOML raises a located :class:`GradcalcError`; a bad
    problem becomes a report with an ``error`` and the others are still graded.
    """
    source = Source(text, name)
    problems = load_problems(text, name)
    reports = []
    for item in problems:
        if isinstance(item, ProblemReport):  # malformed: already an error row
            reports.append(item)
        else:
            reports.append(grade_problem(item, source, symbolic=symbolic))
    return FileReport(name, source, reports)


def grade_problem(problem: Problem, source: Source, *, symbolic: bool = False) -> ProblemReport:
    from .api import gradient

    line = source.line_col(problem.span[0])[0] if problem.span else None
    report = ProblemReport(problem.index, problem.name, line)
    try:
        result = gradient(
            problem.formula,
            problem.values,
            symbolic=symbolic,
            numeric=True,
            tie=problem.tie,
            output=problem.output,
            name=f"problem {problem.name!r}",
        )
        report.result = result
        report.warnings = list(result.warnings)
        report.marks = judge(result, problem.expectations, problem.tolerance)
    except GradcalcError as err:
        report.error = _relocate(err, problem, source)
    return report


def _relocate(err: GradcalcError, problem: Problem, source: Source) -> GradcalcError:
    """Name the problem, and point an error about its formula at the same characters in the answer file."""
    span, where = problem.span, source
    if err.source == source:  # already placed in the answer file (an answer's name)
        span = err.span
    elif err.source is not None and err.source.text == problem.formula and err.span is not None:
        if problem.formula_offset is not None:  # the file holds the formula verbatim
            span = (problem.formula_offset + err.span[0], problem.formula_offset + err.span[1])
        else:
            span, where = err.span, err.source
    return GradcalcError(f"problem {problem.name!r}: {err.message}", kind=err.kind, span=span, hint=err.hint,
                         source=where)


def load_problems(text: str, name: str) -> list[Problem | ProblemReport]:
    """Parse the TOML; each problem becomes a :class:`Problem`, or an error report if malformed."""
    import tomllib

    source = Source(text, name)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, source) from None
    for key in data:
        if key != "problem":
            raise GradcalcError(
                f"unknown top-level key {key!r}",
                kind="answers",
                span=_top_key_span(text, key),
                hint="an answer file holds [[problem]] tables only" + (
                    "; did you mean [[problem]]?" if closest(key, ["problem", "problems"]) else ""),
                source=source,
            )
    raw = data.get("problem")
    if not isinstance(raw, list) or not raw or not all(isinstance(p, dict) for p in raw):
        raise GradcalcError(
            "no [[problem]] tables" if raw is None else "'problem' must be a list of [[problem]] tables",
            kind="answers",
            span=None,
            hint='start each problem with a line [[problem]], then name = "...", formula = "...", ...',
            source=source,
        )
    where = _Locator(text)
    out: list[Problem | ProblemReport] = []
    for k, table in enumerate(raw):
        label = table.get("name") if isinstance(table.get("name"), str) else f"#{k + 1}"
        try:
            out.append(_problem(k, label, table, where, source))
        except GradcalcError as err:
            span = err.span if err.source is source else None
            line = source.line_col(span[0])[0] if span else (
                source.line_col(where.headers[k][0])[0] if k < len(where.headers) else None)
            out.append(ProblemReport(k, label, line, error=err))
    return out


def _problem(k: int, label: str, table: dict[str, Any], where: _Locator, source: Source) -> Problem:
    def place(*path: str) -> _Loc | None:
        return where.keys.get((k, path))

    header = where.headers[k] if k < len(where.headers) else None

    def error(message: str, path: tuple[str, ...] = (), hint: str | None = None, value: bool = False) -> GradcalcError:
        loc = place(*path) if path else None
        span = (loc.value if value else loc.key) if loc else header
        return GradcalcError(f"problem {label!r}: {message}", kind="answers", span=span, hint=hint, source=source)

    for key in table:
        if key not in KNOWN_KEYS:
            near = closest(key, list(KNOWN_KEYS))
            raise error(f"unknown key {key!r}", (key,),
                        f"did you mean {near!r}?" if near else "the keys are " + ", ".join(KNOWN_KEYS))

    def text_of(key: str) -> str | None:
        v = table.get(key)
        if v is None:
            return None
        if not isinstance(v, str):
            raise error(f"{key} must be a string, not {_toml_type(v)}", (key,), value=True)
        return v

    text_of("name")
    formulas = [key for key in ("formula", "program") if key in table]
    if not formulas:
        raise error("no formula", hint='add formula = "..." (or program = """...""" for several lines)')
    if len(formulas) == 2:
        raise error("give formula or program, not both", ("program",))
    fkey = formulas[0]
    formula = text_of(fkey) or ""
    if not formula.strip():
        raise error(f"the {fkey} is empty", (fkey,), value=True)
    output, tie = text_of("output"), text_of("tie") or "split"
    if tie not in ("split", "first", "all"):
        raise error(f"tie must be split, first or all, not {tie!r}", ("tie",), value=True)
    tol: dict[str, float] = {}
    for key in ("rtol", "atol"):
        if key in table:
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0 or not math.isfinite(v):
                raise error(f"{key} must be a number ≥ 0", (key,), value=True)
            tol[key] = float(v)
    values = _values(table.get("values", {}), k, where, source, error)
    expectations = []
    if "expect_value" in table:
        expectations.append(_expectation(VALUE, "", table["expect_value"], ("expect_value",), k, where, source,
                                         error))
    for key, what in _ANSWER_TABLES.items():
        if key not in table:
            continue
        answers = table[key]
        if not isinstance(answers, dict):
            raise error(f"{key} must be a table such as {{ x = 0.39 }}, not {_toml_type(answers)}", (key,),
                        value=True)
        for n, v in answers.items():
            parts = split_label(n)
            if parts is None:
                raise error(f"{n!r} is not a name", (key, n), "one element of a vector or matrix is \"W[0, 1]\"")
            expectations.append(_expectation(what, n, v, (key, n), k, where, source, error, parts))
    if not expectations:
        raise error("no answers to check", hint="add expect_value, expect_grad, expect or expect_upstream")
    loc = place(fkey)
    return Problem(
        k, label, formula, values, expectations, Tolerance(tol.get("rtol"), tol.get("atol")), output, tie,
        _content_offset(source.text, loc.value, formula) if loc else None,
        loc.key if loc else header,
    )


def _values(raw: Any, k: int, where: _Locator, source: Source, error: Any) -> dict[str, Any]:
    from .values import parse_assignments

    if not isinstance(raw, dict):
        raise error(f"values must be a table such as {{ x = -2, y = 5 }}, not {_toml_type(raw)}", ("values",),
                    value=True)
    out: dict[str, Any] = {}
    for n, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, int | float | str | list):
            raise error(f"the value of {n} must be a number, not {_toml_type(v)}", ("values", n), value=True)
        text = repr(float(v)) if isinstance(v, int | float) else v if isinstance(v, str) else json.dumps(v)
        try:
            out.update(parse_assignments([f"{n}={text}"]))
        except GradcalcError as err:
            raise error(f"values.{n}: {err.message}", ("values", n), err.hint, value=True) from None
    return out


def _expectation(
    what: str, name: str, raw: Any, path: tuple[str, ...], k: int, where: _Locator, source: Source, error: Any,
    parts: tuple[str, tuple[int, ...]] | None = None,
) -> Expectation:
    loc = where.keys.get((k, path))
    key = ".".join(path)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise error(f"{key} must be a number (or a string such as \"0.20\"), not {_toml_type(raw)}", path,
                    value=True)
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, int):
        text = str(raw)
    else:
        text = _typed_float(raw, source.text[loc.value[0] : loc.value[1]] if loc else None)
    try:
        answer = parse_answer(text)
    except GradcalcError as err:
        raise error(f"{key}: {err.message}", path, err.hint, value=True) from None
    base, index = parts or (name, ())
    return Expectation(what, base, answer, source, loc.key if loc else None, index)


def _typed_float(value: float, raw: str | None) -> str:
    """The float as it was typed in the file ("0.20"), when the file shows it; else its shortest form."""
    if raw is not None:
        clean = raw.strip().replace("_", "")
        if NUMBER_RE.match(clean) and float(clean) == value:
            return clean
    return repr(value)


def _content_offset(text: str, span: Span, content: str) -> int | None:
    """Where a TOML string's content starts in the file, if the file holds it verbatim (no escapes)."""
    start, end = span
    raw = text[start:end]
    for quote in ('"""', "'''"):
        if raw.startswith(quote):
            begin = start + 3
            if text.startswith("\r\n", begin):
                begin += 2
            elif text.startswith("\n", begin):
                begin += 1
            return begin if text[begin : begin + len(content)] == content else None
    if raw[:1] in ('"', "'"):
        return start + 1 if text[start + 1 : start + 1 + len(content)] == content else None
    return None


def _toml_type(v: Any) -> str:
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "a table"
    return "a date or time"


_AT_RE = re.compile(r"\(at line (\d+), column (\d+)\)")


def _toml_error(exc: Exception, source: Source) -> GradcalcError:
    message = str(exc)
    line, col = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    m = _AT_RE.search(message)
    if m:
        message = message[: m.start()].rstrip()
        line, col = line or int(m.group(1)), col or int(m.group(2))
    span = None
    if line is not None and col is not None:
        starts = [0] + [i + 1 for i, c in enumerate(source.text) if c == "\n"]
        if 0 < line <= len(starts):
            at = min(starts[line - 1] + col - 1, len(source.text))
            span = (at, at + 1)
    message = message[:1].lower() + message[1:]
    return GradcalcError(
        f"not valid TOML: {message}",
        kind="answers",
        span=span,
        hint='strings need quotes (formula = "x*y"); tables are { x = 1, y = 2 }',
        source=source,
    )


def _top_key_span(text: str, key: str) -> Span | None:
    m = re.search(rf"^[ \t]*\[*[ \t]*\"?{re.escape(key)}\b", text, re.MULTILINE)
    if not m:
        return None
    start = m.start() + len(m.group()) - len(key)
    return (start, start + len(key))


# ---------------------------------------------------------------------------
# Where things are written in a TOML file (tomllib gives values, not places)


@dataclass(frozen=True)
class _Loc:
    key: Span
    value: Span


class _Locator:
    """A small scanner over a file tomllib has already accepted: the place of each key of each [[problem]].

    It finds keys written as ``key = value``, inside inline tables, and under
    ``[problem.expect_grad]`` headers; what it cannot place is simply not
    located (messages then point at the problem, and floats keep their
    shortest form).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.headers: list[Span] = []
        self.keys: dict[tuple[int, tuple[str, ...]], _Loc] = {}
        self._scan()

    def _scan(self) -> None:
        text, n = self.text, len(self.text)
        section: tuple[str, ...] | None = None
        pos = 0
        while pos < n:
            pos = self._skip(pos, "\t ")
            if pos >= n:
                break
            ch = text[pos]
            if ch in "\r\n#":
                pos = self._next_line(pos)
                continue
            if ch == "[":
                double = text.startswith("[[", pos)
                begin = pos + (2 if double else 1)
                end = self._until(begin, "]")
                parts = self._key_parts(text[begin:end])
                if double and parts == ["problem"]:
                    self.headers.append((pos, end + 2))
                    section = ()
                elif not double and parts[:1] == ["problem"] and self.headers:
                    section = tuple(parts[1:])
                else:
                    section = None
                pos = self._next_line(end)
                continue
            eq = self._until(pos, "=")
            if eq >= n:
                break
            key_text = text[pos:eq]
            start = self._skip(eq + 1, "\t ")
            end = self._value_end(start)
            if section is not None:
                key_span = (pos, pos + len(key_text.rstrip()))
                self._record(section + tuple(self._key_parts(key_text)), key_span, start, end)
            pos = self._next_line(end)

    def _record(self, path: tuple[str, ...], key: Span, start: int, end: int) -> None:
        text = self.text
        self.keys[(len(self.headers) - 1, path)] = _Loc(key, (start, end))
        if not text.startswith("{", start):
            return
        p = start + 1
        while p < end:
            p = self._skip(p, " \t\r\n,")
            if p >= end or text[p] == "}":
                return
            eq = self._until(p, "=")
            key_text = text[p:eq]
            vs = self._skip(eq + 1, " \t")
            ve = self._value_end(vs)
            self._record(path + tuple(self._key_parts(key_text)), (p, p + len(key_text.rstrip())), vs, ve)
            p = ve

    def _skip(self, pos: int, chars: str) -> int:
        while pos < len(self.text) and self.text[pos] in chars:
            pos += 1
        return pos

    def _next_line(self, pos: int) -> int:
        nl = self.text.find("\n", pos)
        return len(self.text) if nl < 0 else nl + 1

    def _until(self, pos: int, stop: str) -> int:
        """The position of ``stop`` at or after ``pos``, outside quotes."""
        text, n = self.text, len(self.text)
        while pos < n and text[pos] != stop:
            pos = self._value_end(pos) if text[pos] in "\"'" else pos + 1
        return pos

    def _value_end(self, pos: int) -> int:
        """Where the TOML value starting at ``pos`` ends (strings, arrays and inline tables, no recursion)."""
        text, n = self.text, len(self.text)
        if pos >= n:
            return n
        for quote in ('"""', "'''"):
            if text.startswith(quote, pos):
                end = text.find(quote, pos + 3)
                while quote == '"""' and end > 0 and text[end - 1] == "\\" and not _escaped_backslash(text, end - 1):
                    end = text.find(quote, end + 1)
                if end < 0:
                    return n
                while text.startswith(quote[0], end + 3):  # up to two quotes may sit before the closing three
                    end += 1
                return end + 3
        ch = text[pos]
        if ch == '"':
            i = pos + 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
            return min(i + 1, n)
        if ch == "'":
            end = text.find("'", pos + 1)
            return n if end < 0 else end + 1
        if ch in "[{":
            depth, i = 0, pos
            while i < n:
                c = text[i]
                if c in "\"'":
                    i = self._value_end(i)
                    continue
                if c == "#":
                    i = self._next_line(i)
                    continue
                if c in "[{":
                    depth += 1
                elif c in "]}":
                    depth -= 1
                    if depth == 0:
                        return i + 1
                i += 1
            return n
        i = pos
        while i < n and text[i] not in ",]}#\r\n":
            i += 1
        while i > pos and text[i - 1] in " \t":
            i -= 1
        return i

    def _key_parts(self, key: str) -> list[str]:
        parts, current, quote = [], "", ""
        for c in key.strip():
            if quote:
                if c == quote:
                    quote = ""
                else:
                    current += c
            elif c in "\"'":
                quote = c
            elif c == ".":
                parts.append(current.strip())
                current = ""
            else:
                current += c
        parts.append(current.strip())
        return parts


def _escaped_backslash(text: str, i: int) -> bool:
    """Whether the backslash at ``i`` is itself escaped (an even run of backslashes before it)."""
    run = 0
    while i - 1 - run >= 0 and text[i - 1 - run] == "\\":
        run += 1
    return run % 2 == 1
