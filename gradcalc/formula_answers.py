"""Answers that are formulas, judged as functions: equal to the true derivative, or which slip they are.

A formula answer (``--expect-grad 'x=2*x*cos(x^2)'``) is read by gradcalc's own
parser and built into a tape of its own; it is never evaluated as code.  The
truth is a formula too: ∂f/∂x and every upstream gradient ∂f/∂node are names of
the gradient graph (:func:`gradcalc.gradgraph.gradient_program`), and a node's
value is the node.  Answer and truth run on gradcalc's engine at random points,
all at once as arrays: FORMULA_POINTS points where both are finite, out of at
most FORMULA_TRIES drawn (seeded: around the given values, else spread over
[-2, 2] and wider).  SymPy, in its budgeted child, tries to prove
``simplify(answer - truth) == 0`` on expressions built from the two tapes
(never from text).  A proof decides; else the points do, and the note says
which.  A point where they differ decides that the answer is wrong.

A wrong formula is explained by the first slip of :data:`SLIPS` it fits, each
decided at the same points from the problem's own passes: every node's value
(forward), every upstream gradient ∂f/∂node (backward), every node's derivative
by the target (forward mode) and every gate's local gradients.  The formulas a
diagnosis names (the inner derivative left out, say) are the gradient graph's,
written out in gradcalc's syntax and tidied (``2.0 * x^(2.0 - 1)`` is ``2*x``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .answers import Expectation, FormulaAnswer, Kind, Mark
from .errors import GradcalcError, suggest
from .limits import (
    FORMULA_MIN_POINTS,
    FORMULA_POINTS,
    FORMULA_TRIES,
    MAX_FORMULA_ANSWER_NODES,
    MAX_FORMULA_PROBLEM_NODES,
)
from .printer import Style, gate_tree, parse_template, substitute, to_string
from .tape import CONST, GATE, VAR, Node, Tape
from .tree import Binary, Expr, Name, Num, Unary, children, postorder, rebuild, with_children

if TYPE_CHECKING:
    from .gradgraph import GradientProgram

# The random points are the same on every run.
SEED = 20_240_611
# Two values are equal at a point when they differ by at most this, relative to the larger,
# plus ATOL times the true derivative's typical size (its 75th percentile over the points, at least 1).
RTOL = 1e-7
ATOL = 1e-9
# A formula a diagnosis prints (a missing factor, another derivative) has at most this many nodes
# once written out; a longer one is named by its nodes instead (∂q/∂x).
MAX_SHOWN_NODES = 60
MIN_SYMPY_SECONDS = 0.05  # less left of the budget than this, and SymPy is not started

# How formulas are shown: gradcalc's syntax, products unspaced (2*x*cos(x^2)), parsing back the same.
COMPACT = Style(infix={"+": " + ", "-": " - ", "*": "*", "/": "/", "@": " @ ", "^": "^"})

SYMPY, POINTS, GIVEN = "sympy", "random points", "the given values"


@dataclass(frozen=True)
class Counterexample:
    """A point where the answer and the truth differ (or only one of them is finite)."""

    at: dict[str, float]
    yours: float
    true: float

    def text(self) -> str:
        where = ", ".join(f"{name}={_short(v)}" for name, v in self.at.items())
        return f"{where}: yours {_short(self.yours)}, true {_short(self.true)}"


@dataclass(frozen=True)
class Diagnosis:
    """The slip a wrong formula fits: its kind (a row of SLIPS), in words, and the formula it names."""

    kind: str
    text: str
    formula: str | None = None  # e.g. the inner derivative left out, in gradcalc's syntax


@dataclass
class FormulaVerdict:
    """How a formula answer was judged."""

    ok: bool
    decided_by: str  # SYMPY, POINTS or GIVEN (a constant answer, at the given values)
    points: int  # how many points it was compared at
    note: str  # "SymPy proves them equal", "equal at 64 random points (...)", "differs at x=0.31: ..."
    sympy: str  # proved, not proved, out of budget, failed, not run, skipped
    counterexample: Counterexample | None = None
    diagnosis: Diagnosis | None = None
    value: float | None = None  # the answer at the given values, when every variable has one
    output: str = ""  # the label of the formula's output (f)


@dataclass(frozen=True)
class Item:
    """One formula answer to judge: about which node of the problem's tape, and how it is called."""

    expectation: Expectation
    node: int
    label: str


# ---------------------------------------------------------------------------
# Judging


def judge_formulas(
    tape: Tape,
    items: Sequence[Item],
    given: Mapping[str, Any],
    *,
    tie: str = "split",
    symbolic_budget: float | None = None,
) -> list[Mark]:
    """Judge each formula answer against the truth, as functions of the problem's variables.

    ``given``: the values known (given or the program's own); the points are drawn around
    them, and a variable without one is drawn over a spread.  ``symbolic_budget``: seconds
    SymPy may take for all the answers together, or None for no SymPy.
    Raises :class:`GradcalcError` (exit 2) for an answer that uses a name the problem does
    not have, that is too large, or a problem that is not a scalar formula or too large.
    """
    from .pipeline import quiet
    from .tensor import NumpyMath

    if not items:
        return []
    _check_problem(tape, items[0].expectation)
    allowed = answer_names(tape)
    answers = [answer_tape(item.expectation, allowed) for item in items]
    program = _gradient_program(tape, items)
    gtape = _program_tape(program)
    m = NumpyMath(tie)
    centers = {n: float(v) for n, v in given.items() if n in tape.variables and isinstance(v, int | float)}
    points = sample(list(tape.variables), centers, FORMULA_TRIES)
    complete = len(centers) == len(tape.variables)
    with quiet(m):
        run = _Run(tape, gtape, program, m, points)
        pairs = [(run.answer(a, allowed), run.truth(item)) for item, a in zip(items, answers, strict=True)]
        judged = [_numbers(ans, truth, points, complete and not a.variables)
                  for (ans, truth), a in zip(pairs, answers, strict=True)]
    proofs = _prove(tape, gtape, program, items, answers, allowed,
                    [j.equal is not False and not j.at_given for j in judged], symbolic_budget)
    marks = []
    for k, (item, j) in enumerate(zip(items, judged, strict=True)):
        with quiet(m):
            if j.counterexample is not None and not (complete and j.counterexample.at == centers):
                j.counterexample = _rounder(j.counterexample, run, answers[k], allowed, item)
            verdict = _verdict(j, proofs[k])
            if not verdict.ok and verdict.counterexample is not None:
                verdict.diagnosis = diagnose_formula(item, pairs[k][0], j.chosen, m, run)
        true = float(pairs[k][1][0]) if complete else math.nan
        verdict.value = float(pairs[k][0][0]) if complete else None
        verdict.output = tape.nodes[tape.output].label
        mark = Mark(item.expectation, item.label, item.node, true, 0.0, "as a formula", verdict.ok,
                    verdict.diagnosis.text if verdict.diagnosis else None)
        mark.formula = verdict
        marks.append(mark)
    return marks


def answer_names(tape: Tape) -> dict[str, int]:
    """The names a formula answer may use: the variables, and the names a program assigns (h1 = ...)."""
    names = dict(tape.variables)
    for i, node in enumerate(tape.nodes):
        if node.kind == GATE and node.named and node.label not in names:
            names[node.label] = i
    return names


def _check_problem(tape: Tape, e: Expectation) -> None:
    answer = e.answer
    assert isinstance(answer, FormulaAnswer)
    if len(tape.nodes) > MAX_FORMULA_PROBLEM_NODES:
        raise answer.relocate(GradcalcError(
            f"formula answers are judged for formulas of at most {MAX_FORMULA_PROBLEM_NODES:,} nodes; "
            f"this one has {len(tape.nodes):,}",
            kind="limit", span=(0, len(answer.text)),
            hint="answer with a number (judged to its digits) at the given values",
        ))
    if tape.has_tensors or e.index:
        raise answer.relocate(GradcalcError(
            "formula answers are judged for formulas of scalar variables",
            kind="shape", span=(0, len(answer.text)),
            hint="this formula has vectors or matrices: answer one element at a time with a number",
        ))


def answer_tape(e: Expectation, allowed: Mapping[str, int]) -> Tape:
    """The answer's own tape; a name the problem does not have is a located error (a caret in the answer)."""
    from .builder import build

    answer = e.answer
    assert isinstance(answer, FormulaAnswer)
    try:
        tape = build(answer.program)
    except GradcalcError as err:
        raise answer.relocate(err) from None
    if tape.has_tensors:
        raise answer.relocate(GradcalcError(
            "an answer is one number or a formula of numbers, not a vector or matrix",
            kind="answer", span=(0, len(answer.text)), hint="answer one element at a time",
        ))
    if len(tape.nodes) > MAX_FORMULA_ANSWER_NODES:
        raise answer.relocate(GradcalcError(
            f"the answer has {len(tape.nodes):,} nodes, more than {MAX_FORMULA_ANSWER_NODES:,}",
            kind="limit", span=(0, len(answer.text)),
            hint=f"a formula answer has at most {MAX_FORMULA_ANSWER_NODES:,} nodes",
        ))
    for name, i in tape.variables.items():
        if name in allowed:
            continue
        alone = answer.text.strip() == name
        what = "is not a number or a variable of the formula" if alone else "is not a variable of the formula"
        raise answer.relocate(GradcalcError(
            f"{name!r} {what}" + ("" if alone else f" (in the answer {_clip(answer.text)})"),
            kind="answer",
            span=tape.nodes[i].span,
            hint=suggest(name, list(allowed), "a formula answer may use the formula's variables:"),
        ))
    return tape


def _gradient_program(tape: Tape, items: Sequence[Item]) -> GradientProgram | None:
    """The gradient graph of the problem, when some answer is a gradient (None: only values asked)."""
    from .gradgraph import gradient_program

    if not any(item.expectation.what in (Kind.GRAD, Kind.UPSTREAM) for item in items):
        return None
    try:
        return gradient_program(tape)
    except GradcalcError as err:
        answer = items[0].expectation.answer
        assert isinstance(answer, FormulaAnswer)
        raise answer.relocate(GradcalcError(
            f"a formula answer cannot be judged here: {err.message}", kind=err.kind, span=(0, len(answer.text)),
            hint=err.hint,
        )) from None


def _program_tape(program: GradientProgram | None) -> Tape | None:
    """The gradient graph as one tape whose every statement is computed (the last line, a list, is not)."""
    from .builder import build
    from .parser import parse_program

    if program is None:
        return None
    body = program.text.rpartition("\n")[0]
    return build(parse_program(f"{body}\n0" if body else "0", "<gradient graph>"))


@dataclass
class _Judged:
    """What the points say of one answer."""

    equal: bool | None  # None: too few points where both are finite
    chosen: Any  # indices of the points compared
    counterexample: Counterexample | None
    at_given: bool  # a constant answer, judged at the given values alone


def sample(names: Sequence[str], centers: Mapping[str, float], count: int) -> dict[str, Any]:
    """``count`` random points, seeded: the first at the given values, most near them, a quarter wider.

    A variable with a value is drawn from ±max(1, |value|) around it (and a quarter of the points
    from five times that); one without, from [-2, 2] (a quarter from [-10, 10]).
    """
    from .tensor import np

    rng = np.random.default_rng(SEED)
    wide = np.arange(count) % 4 == 3
    points = {}
    for name in names:
        c = centers.get(name)
        near = rng.uniform(-1.0, 1.0, count)
        far = rng.uniform(-5.0, 5.0, count)
        if c is None:
            points[name] = 2.0 * np.where(wide, far, near)
        else:
            spread = max(1.0, abs(c))
            values = c + spread * np.where(wide, far, near)
            values[0] = c
            points[name] = values
    return points


class _Run:
    """The problem's tape and its gradient graph run once at all the points, and answers run beside them."""

    def __init__(self, tape: Tape, gtape: Tape | None, program: GradientProgram | None, m: Any,
                 points: Mapping[str, Any]) -> None:
        from .passes import Loop

        self.tape, self.gtape, self.program, self.m, self.points = tape, gtape, program, m, points
        self.count = len(next(iter(points.values()))) if points else 1
        self.values = Loop(tape, m).forward(points)
        self.gvalues = Loop(gtape, m).forward(points) if gtape is not None else None

    def array(self, x: Any) -> Any:
        from .tensor import np

        return np.broadcast_to(np.asarray(x, dtype=float), (self.count,))

    def answer(self, tape: Tape, allowed: Mapping[str, int]) -> Any:
        from .passes import Loop

        inputs = {name: self.array(self.points[name] if name in self.points else self.values[allowed[name]])
                  for name in tape.variables}
        return self.array(Loop(tape, self.m).forward(inputs)[tape.output])

    def truth(self, item: Item) -> Any:
        """The true value of what the answer is about, at every point."""
        if item.expectation.what in (Kind.VALUE, Kind.NODE):
            return self.array(self.values[item.node])
        assert self.program is not None and self.gtape is not None and self.gvalues is not None
        text = self.program.upstream.get(item.node, "0")
        if text in self.gtape.bindings:
            return self.array(self.gvalues[self.gtape.bindings[text]])
        return self.array(float(text))  # a number: the output's own gradient, 1


def _numbers(answer: Any, truth: Any, points: Mapping[str, Any], at_given: bool) -> _Judged:
    """Compare at the first FORMULA_POINTS points where both are finite (a constant answer: at the given values)."""
    from .tensor import np

    both = np.isfinite(answer) & np.isfinite(truth)
    if at_given:
        both[1:] = False
    chosen = np.flatnonzero(both)[: 1 if at_given else FORMULA_POINTS]
    same = close(answer[chosen], truth[chosen], truth[chosen])
    if not same.all():
        k = int(chosen[np.flatnonzero(~same)[0]])
        return _Judged(False, chosen, _counterexample(points, k, answer, truth), at_given)
    if len(chosen) >= (1 if at_given else FORMULA_MIN_POINTS):
        return _Judged(True, chosen, None, at_given)
    one = np.flatnonzero(np.isfinite(answer) != np.isfinite(truth))[: 1 if at_given else None]  # one side only
    if len(one):
        return _Judged(False, chosen, _counterexample(points, int(one[0]), answer, truth), at_given)
    return _Judged(None, chosen, None, at_given)


def close(a: Any, b: Any, truth: Any) -> Any:
    """Elementwise: a and b are equal to RTOL, with ATOL times the truth's typical size."""
    from .tensor import np

    size = max(1.0, float(np.quantile(np.abs(truth), 0.75))) if len(truth) else 1.0
    return np.abs(a - b) <= RTOL * np.maximum(np.abs(a), np.abs(b)) + ATOL * size


def _counterexample(points: Mapping[str, Any], k: int, answer: Any, truth: Any) -> Counterexample:
    return Counterexample({n: float(v[k]) for n, v in points.items()}, float(answer[k]), float(truth[k]))


def _rounder(found: Counterexample, run: _Run, answer: Tape, allowed: Mapping[str, int], item: Item
             ) -> Counterexample:
    """The point rounded to 1, 2 or 3 decimals, at the first rounding where the two still differ.

    A random point such as x=0.3137264 is hard to try by hand; x=0.3 usually shows the same.
    """
    from .tensor import np

    tries = [{n: round(v, r) for n, v in found.at.items()} for r in (1, 2, 3)]
    points = {n: np.array([t[n] for t in tries]) for n in found.at}
    near = _Run(run.tape, run.gtape, run.program, run.m, points)
    yours, true = near.answer(answer, allowed), near.truth(item)
    for k in range(len(tries)):
        a, t = yours[k : k + 1], true[k : k + 1]
        if np.isfinite(a[0]) and np.isfinite(t[0]) and not close(a, t, t)[0]:
            return Counterexample(tries[k], float(a[0]), float(t[0]))
    return found


def _verdict(j: _Judged, proof: tuple[bool, str]) -> FormulaVerdict:
    proven, why = proof
    n = len(j.chosen)
    state = "proved" if proven else why.partition(":")[0]
    if j.at_given:
        if j.equal:
            return FormulaVerdict(True, GIVEN, n, "a constant, equal to the true value at the given values", state)
        assert j.counterexample is not None
        return FormulaVerdict(False, GIVEN, n, f"a constant, and the true value differs: at {j.counterexample.text()}",
                              state, j.counterexample)
    if proven:
        return FormulaVerdict(True, SYMPY, n, "SymPy proves them equal", state)
    if j.equal:
        return FormulaVerdict(True, POINTS, n, f"equal at {n} random points (SymPy {_why(why)})", state)
    if j.counterexample is not None:
        return FormulaVerdict(False, POINTS, n, f"differs at {j.counterexample.text()}", state, j.counterexample)
    return FormulaVerdict(False, POINTS, n, f"too few points to judge: both are finite at only {n} of "
                          f"{FORMULA_TRIES} random points, and SymPy {_why(why)}", state)


def _why(reason: str) -> str:
    state, _, detail = reason.partition(":")
    return {
        "not proved": "could not simplify the difference to 0",
        "out of budget": "could not decide in its budget",
        "not run": "was not run",
        "skipped": f"was skipped: {detail.strip()}",
        "failed": f"failed: {detail.strip()}",
    }.get(state, state)


# ---------------------------------------------------------------------------
# SymPy: simplify(answer - truth) == 0, in the budgeted child, on expressions built from our own tapes


def _prove(tape: Tape, gtape: Tape | None, program: GradientProgram | None, items: Sequence[Item],
           answers: Sequence[Tape], allowed: Mapping[str, int], wanted: Sequence[bool],
           seconds: float | None) -> list[tuple[bool, str]]:
    """For each answer: (proved, why not: "not proved", "out of budget", "not run", "skipped: ...")."""
    out = [(False, "not run")] * len(items)
    jobs = [k for k, w in enumerate(wanted) if w]
    if seconds is None or not jobs:
        return out
    if seconds < MIN_SYMPY_SECONDS:
        return [(False, "skipped: no time was left of its budget")] * len(items)
    from .budget import MAX_SECONDS, Budgeted
    from .symbolic import MAX_SYMBOLIC_NODES

    biggest = max(len(tape.nodes), len(gtape.nodes) if gtape is not None else 0)
    if biggest > MAX_SYMBOLIC_NODES:
        return [(False, f"skipped: the graph has {biggest:,} nodes, more than {MAX_SYMBOLIC_NODES:,}")] * len(items)

    pairs = [(answers[k], _truth_tape(tape, gtape, program, items[k])) for k in jobs]
    named = {name: _output_at(tape, i) for name, i in allowed.items() if name not in tape.variables}
    outcome = Budgeted(_sympy_work(pairs, named), min(seconds, MAX_SECONDS)).collect()
    proved = {int(r["k"]): bool(r["proven"]) for r in outcome.results if "k" in r}
    for n, k in enumerate(jobs):
        if n in proved:
            out[k] = (proved[n], "not proved")
        elif outcome.timed_out:
            out[k] = (False, "out of budget")
        else:
            out[k] = (False, f"failed: {outcome.reason or 'no answer'}")
    return out


def _output_at(tape: Tape, i: int) -> Tape:
    """The same tape with node ``i`` as its output."""
    return replace(tape, output=i, _tensors=None, _sweep=None)


def _truth_tape(tape: Tape, gtape: Tape | None, program: GradientProgram | None, item: Item) -> Tape:
    """The truth as a tape of its own output: a node of the problem, or a name of the gradient graph."""
    from .builder import build
    from .parser import parse_program

    if item.expectation.what in (Kind.VALUE, Kind.NODE):
        return _output_at(tape, item.node)
    assert program is not None and gtape is not None
    text = program.upstream.get(item.node, "0")
    if text in gtape.bindings:
        return _output_at(gtape, gtape.bindings[text])
    return build(parse_program(text, "<gradient graph>"))  # a number


def _sympy_work(pairs: Sequence[tuple[Tape, Tape]], named: Mapping[str, Tape]) -> Callable[[Any], None]:
    def work(emit: Callable[[dict[str, Any]], None]) -> None:
        import sympy as sp

        from .symbolic import to_sympy

        for k, (answer, truth) in enumerate(pairs):
            a, symbols = to_sympy(answer)
            subs = {symbols[n]: to_sympy(named[n])[0] for n in answer.variables if n in named}
            if subs:
                a = a.xreplace(subs)
            t, _ = to_sympy(truth)
            difference = a - t
            proven = difference == 0 or sp.simplify(difference) == 0
            emit({"k": k, "proven": bool(proven)})

    return work


# ---------------------------------------------------------------------------
# Diagnosis: which slip a wrong formula is, decided at the points from the problem's own passes


@dataclass
class _Slips:
    """The passes of the problem at the points compared, each node's row of values in a matrix.

    The answer's target is an input of its own (an upstream gradient at a gate is ∂out/∂gate
    with the gate held as an input), so ``tangents`` are ∂node/∂target.
    """

    tape: Tape  # the problem's tape, its target made an input
    target: int
    answer: Any  # the answer's values at the points
    truth: Any
    values: Any  # nodes × points
    grads: Any  # ∂out/∂node
    tangents: Any  # ∂node/∂target
    locals: list[Any]  # each gate's local gradients (numbers or rows)
    below: list[bool]  # the node depends on the target
    used: list[bool]  # the output depends on the node
    m: Any
    size: float  # the truth's typical size, for ATOL
    _program: Any = field(default=None, repr=False)

    @property
    def out(self) -> int:
        return self.tape.output

    def label(self, i: int) -> str:
        return self.tape.nodes[i].label

    def row(self, x: Any) -> Any:
        from .tensor import np

        r = np.empty(len(self.answer))
        r[:] = x
        return r

    def first_fit(self, rows: Any) -> int | None:
        """The first candidate (a row) that the answer is at every point where the candidate is finite."""
        from .tensor import np

        if not len(rows):
            return None
        a = self.answer[None, :]
        finite = np.isfinite(rows)
        same = np.abs(a - rows) <= RTOL * np.maximum(np.abs(a), np.abs(rows)) + ATOL * self.size
        fit = (finite.sum(axis=1) >= max(FORMULA_MIN_POINTS, len(self.answer) // 2)) & (same | ~finite).all(axis=1)
        hits = np.flatnonzero(fit)
        return int(hits[0]) if len(hits) else None

    def chain(self) -> list[int]:
        """The gates strictly between the target and the output on some path, nearest the output first."""
        return [i for i in range(self.out - 1, self.target, -1)
                if self.below[i] and self.used[i] and self.tape.nodes[i].kind == GATE]

    def program(self) -> GradientProgram:
        from .gradgraph import gradient_program

        if self._program is None:
            self._program = gradient_program(self.tape, [self.label(self.target)])
        return self._program

    def upstream_formula(self, i: int) -> str | None:
        """∂out/∂node i as a formula of the variables, from the gradient graph (None if too long)."""
        program = self.program()
        return program_formula(program.text, program.upstream.get(i, "0"))

    def derivative_formula(self, i: int) -> str | None:
        """∂(node i)/∂target as a formula: the gradient graph of node i alone."""
        from .gradgraph import gradient_program

        name = self.label(self.target)
        program = gradient_program(_output_at(self.tape, i), [name])
        return program_formula(program.text, program.gradients[name])

    def formula(self, i: int) -> str:
        """Node i as a formula of the variables (its label if that is too long)."""
        return node_formula(self.tape, i) or self.label(i)

    def named(self, i: int) -> str:
        """``q = x^2`` for a gate, ``x`` for a variable."""
        if self.tape.nodes[i].kind != GATE:
            return self.label(i)
        return f"{self.label(i)} = {self.formula(i)}"


Words = Callable[[], Diagnosis]
Batches = Iterator[tuple[Any, Sequence[Words]]]  # candidates as rows of a matrix, and the words of each row


@dataclass(frozen=True)
class Slip:
    """One kind of wrong answer: what it is about, and its candidates (values at the points, then words)."""

    kind: str
    about: tuple[Kind, ...]
    batches: Callable[[_Slips], Batches]


def diagnose_formula(item: Item, answer: Any, chosen: Any, m: Any, run: _Run) -> Diagnosis | None:
    """The first slip of SLIPS that the wrong answer fits at the points compared, or None."""
    if len(chosen) < FORMULA_MIN_POINTS:
        return None
    slips = _slips(item, answer[chosen], run, chosen, m)
    for slip in SLIPS:
        if item.expectation.what not in slip.about:
            continue
        for rows, words in slip.batches(slips):
            k = slips.first_fit(rows)
            if k is not None:
                return words[k]()
    return None


def _slips(item: Item, answer: Any, run: _Run, chosen: Any, m: Any) -> _Slips:
    from .passes import Loop
    from .tensor import np

    tape, target = run.tape, item.node
    inputs = {name: v[chosen] for name, v in run.points.items()}
    node = tape.nodes[target]
    cut = tape
    if item.expectation.what in (Kind.GRAD, Kind.UPSTREAM) and node.kind != VAR:
        nodes = list(tape.nodes)
        nodes[target] = Node(VAR, None, (), node.span, node.label, named=True)
        cut = replace(tape, nodes=nodes, variables={**tape.variables, node.label: target}, _tensors=None,
                      _sweep=None)
        inputs[node.label] = run.array(run.values[target])[chosen]
    loop = Loop(cut, m)
    values = loop.forward(inputs)
    n = len(chosen)
    bp = loop.backward(values, np.ones(n))
    tangents = loop.jvp(values, {target: np.ones(n)}) if cut.nodes[target].kind == VAR else [0.0] * len(values)
    below = [False] * len(cut.nodes)
    below[target] = True
    for i, nd in enumerate(cut.nodes):
        if any(below[j] for j in nd.args):
            below[i] = True
    truth = run.truth(item)[chosen]

    def matrix(rows: list[Any]) -> Any:
        out = np.empty((len(rows), n))
        for i, r in enumerate(rows):
            out[i] = r
        return out

    size = max(1.0, float(np.quantile(np.abs(truth), 0.75)))
    return _Slips(cut, target, answer, truth, matrix(values), matrix(bp.grads), matrix(tangents), bp.locals, below,
                  cut.reachable(), m, size)


def _one(rows: Any, words: Words) -> Batches:
    from .tensor import np

    yield np.atleast_2d(rows), [words]


def _flipped(s: _Slips) -> Batches:
    return _one(-s.truth, lambda: Diagnosis("sign", "the sign is flipped: yours is −1 times the true one", "-1"))


def _other_variable(s: _Slips) -> Batches:
    target, out = s.label(s.target), s.label(s.out)
    others = [(name, i) for name, i in s.tape.variables.items() if i != s.target and name != target]

    def words(name: str, i: int) -> Words:
        def say() -> Diagnosis:
            formula = s.upstream_formula(i)
            shown = f" = {formula}" if formula else ""
            return Diagnosis("other-variable", f"this is ∂{out}/∂{name}{shown}: {target} and {name} mixed up?",
                             formula)

        return say

    yield s.grads[[i for _, i in others]], [words(name, i) for name, i in others]


def _outer_only(s: _Slips) -> Batches:
    """∂out/∂u for a gate u above the target: the chain rule stopped at u, its inner derivative left out."""
    out, target = s.label(s.out), s.label(s.target)
    gates = [u for u in s.chain() if not (s.tangents[u] == 1).all()]  # ∂u/∂target = 1: a path left out instead

    def words(u: int) -> Words:
        def say() -> Diagnosis:
            factor = s.derivative_formula(u)
            inner = f"∂{s.label(u)}/∂{target}" + (f" = {factor}" if factor else "")
            return Diagnosis(
                "missing-inner",
                f"this is ∂{out}/∂{s.label(u)}, the outer derivative at {s.named(u)}: the chain rule multiplies it "
                f"by the inner derivative {inner}, which is missing",
                factor,
            )

        return say

    yield s.grads[gates], [words(u) for u in gates]


def _inner_only(s: _Slips) -> Batches:
    """∂u/∂target for a gate u above the target: the derivative of the inner part alone."""
    out, target = s.label(s.out), s.label(s.target)
    gates = [u for u in s.chain() if not (s.grads[u] == 1).all()]  # ∂out/∂u = 1: a path left out instead

    def words(u: int) -> Words:
        def say() -> Diagnosis:
            outer = s.upstream_formula(u)
            shown = f"∂{out}/∂{s.label(u)}" + (f" = {outer}" if outer else "")
            return Diagnosis(
                "missing-outer",
                f"this is ∂{s.label(u)}/∂{target}, the derivative of the inner part {s.named(u)} alone: the chain "
                f"rule multiplies it by the outer derivative {shown}, which is missing",
                outer,
            )

        return say

    yield s.tangents[gates], [words(u) for u in gates]


def _only_through(s: _Slips) -> Batches:
    """The paths through one gate u only, when the target reaches the output by others too (one term of a sum)."""
    out, target = s.label(s.out), s.label(s.target)
    gates = s.chain()

    def words(u: int) -> Words:
        return lambda: Diagnosis(
            "one-path",
            f"this counts only the paths through {s.named(u)}: {target} reaches {out} along other paths too, "
            "and the chain rule adds them all",
        )

    yield s.grads[gates] * s.tangents[gates], [words(u) for u in gates]


def _one_input(s: _Slips) -> Batches:
    """A gate the target reaches through two inputs, one of them left out (the product rule's other term)."""
    target = s.label(s.target)
    rows: list[Any] = []
    said: list[Words] = []
    for c in range(s.out, s.target, -1):
        node = s.tape.nodes[c]
        loc = s.locals[c]
        if node.kind != GATE or not s.used[c] or loc is None or sum(s.below[j] for j in node.args) < 2:
            continue
        for k, j in enumerate(node.args):
            if s.below[j]:
                rows.append(s.truth - s.grads[c] * s.row(loc[k]) * s.tangents[j])
                said.append(_one_input_words(s, target, c, j))
    if rows:
        from .tensor import np

        yield np.array(rows), said


def _one_input_words(s: _Slips, target: str, c: int, j: int) -> Words:
    def say() -> Diagnosis:
        gate = s.tape.nodes[c]
        inputs = sum(s.below[a] for a in gate.args)
        which = "both its inputs" if inputs == 2 else f"{inputs} of its inputs"
        rule = " (the product rule's two terms)" if gate.op is not None and gate.op.name == "mul" else ""
        return Diagnosis("one-path", f"this leaves out the path through {s.named(j)}: {target} reaches "
                         f"{s.named(c)} through {which}, and their paths add up{rule}")

    return say


@dataclass(frozen=True)
class WrongRule:
    """A local gradient as it is often got wrong: the op, which input, the wrong rule over a, b, out, and its name."""

    op: str
    input: int
    wrong: str
    words: str


# The wrong local rules looked for, after the slips of the chain rule itself.
POWER_RULES = (
    WrongRule("pow", 0, "b*a^b", "the power rule without lowering the exponent"),
    WrongRule("pow", 0, "a^(b - 1)", "the power rule without the exponent in front"),
    WrongRule("pow", 0, "b*a^(b + 1)", "the power rule with the exponent raised instead of lowered"),
    WrongRule("pow", 0, "(b - 1)*a^(b - 1)", "the power rule with the exponent in front lowered too"),
    WrongRule("pow", 1, "b*a^(b - 1)", "the power rule used where the exponent varies"),
)
SWAPPED_RULES = (
    WrongRule("sin", 0, "-sin(a)", "sin differentiated as if it were cos"),
    WrongRule("sin", 0, "-cos(a)", "sin's derivative with a minus sign"),
    WrongRule("cos", 0, "cos(a)", "cos differentiated as if it were sin"),
    WrongRule("cos", 0, "sin(a)", "cos's derivative without its minus sign"),
    WrongRule("sqrt", 0, "1/sqrt(a)", "sqrt's derivative without the 1/2"),
    WrongRule("div", 1, "a/b^2", "the quotient rule with the sign of the denominator's term flipped"),
)


def _wrong_rules(rules: Sequence[WrongRule], kind: str) -> Callable[[_Slips], Batches]:
    def batches(s: _Slips) -> Batches:
        from .passes import Loop
        from .tensor import np

        for rule in rules:
            gates = [g for g in range(s.out, s.target, -1) if _rule_applies(rule, g, s)]
            if not gates:
                continue
            nodes = [s.tape.nodes[g] for g in gates]
            bound = {"a": s.values[[n.args[0] for n in nodes]], "out": s.values[gates]}
            if rule.input == 1 or rule.op in ("pow", "div"):
                bound["b"] = s.values[[n.args[1] for n in nodes]]
            template = _rule_tape(rule.wrong)
            wrong = Loop(template, s.m).forward({n: bound[n] for n in template.variables})[template.output]
            right = np.array([s.row(s.locals[g][rule.input]) for g in gates])
            through = s.grads[gates] * s.tangents[[n.args[rule.input] for n in nodes]]
            rows = s.truth[None, :] + through * (wrong - right)
            yield rows, [_rule_words(rule, kind, g, s.tape.nodes[g].args[rule.input], s) for g in gates]

    return batches


def _rule_applies(rule: WrongRule, g: int, s: _Slips) -> bool:
    node = s.tape.nodes[g]
    return (node.kind == GATE and node.op is not None and node.op.name == rule.op and s.used[g]
            and s.locals[g] is not None and rule.input < len(node.args) and s.below[node.args[rule.input]])


@functools.cache
def _rule_tape(template: str) -> Tape:
    """A wrong rule's template (our own text, over a, b and out) as a tape."""
    from .builder import build
    from .parser import parse_program

    return build(parse_program(template, "<rule>"))


def _rule_words(rule: WrongRule, kind: str, g: int, j: int, s: _Slips) -> Words:
    def say() -> Diagnosis:
        node = s.tape.nodes[g]
        assert node.op is not None
        leaves = [_leaf(s.tape, a) for a in node.args]
        gate_expr = gate_tree(node.op, leaves)
        names: dict[str, Expr] = {"a": leaves[0], "out": gate_expr}
        if len(leaves) > 1:
            names["b"] = leaves[1]
        texts = node.op.grad_formula or node.op.grad_text
        right = tidy_text(substitute(parse_template(texts[min(rule.input, len(texts) - 1)]), names))
        wrong = tidy_text(substitute(parse_template(rule.wrong), names))
        inner = [f"{s.label(a)} = {s.formula(a)}" for a in node.args if s.tape.nodes[a].kind == GATE]
        where = f"{s.label(g)} = {tidy_text(gate_expr)}" + (f" (with {', '.join(inner)})" if inner else "")
        return Diagnosis(kind, f"{rule.words}: at {where}, ∂{s.label(g)}/∂{s.label(j)} was taken as {wrong}; "
                         f"it is {right}", wrong)

    return say


def _constant_factor(s: _Slips) -> Batches:
    """answer / truth the same number at every point (not 1, not -1: those are right, or the sign)."""
    from .tensor import np

    ok = np.abs(s.truth) > 1e-300
    if ok.sum() < FORMULA_MIN_POINTS:
        return
    ratio = float(np.median(s.answer[ok] / s.truth[ok]))
    if not math.isfinite(ratio) or ratio == 0 or abs(abs(ratio) - 1) < 1e-9:
        return
    shown = _ratio_text(ratio)
    yield from _one(ratio * s.truth, lambda: Diagnosis(
        "factor", f"off by a constant factor: yours is {shown} times the true one", shown))


def _not_differentiated(s: _Slips) -> Batches:
    return _one(s.values[s.out], lambda: Diagnosis(
        "not-differentiated", f"this is {s.named(s.out)} itself, not its derivative", None))


# Each diagnosis a row: the first that fits explains the answer.  The chain rule's own slips come first
# (the sign, another variable, a factor of the chain left out, a path left out), then a wrong local rule,
# then a constant factor (which a wrong rule may also be: x^2 for x^3's derivative is 1/3 of it).
SLIPS: tuple[Slip, ...] = (
    Slip("sign", (Kind.GRAD, Kind.UPSTREAM, Kind.NODE, Kind.VALUE), _flipped),
    Slip("other-variable", (Kind.GRAD,), _other_variable),
    Slip("missing-inner", (Kind.GRAD, Kind.UPSTREAM), _outer_only),
    Slip("missing-outer", (Kind.GRAD, Kind.UPSTREAM), _inner_only),
    Slip("one-path", (Kind.GRAD, Kind.UPSTREAM), _only_through),
    Slip("one-path", (Kind.GRAD, Kind.UPSTREAM), _one_input),
    Slip("power-rule", (Kind.GRAD, Kind.UPSTREAM), _wrong_rules(POWER_RULES, "power-rule")),
    Slip("wrong-rule", (Kind.GRAD, Kind.UPSTREAM), _wrong_rules(SWAPPED_RULES, "wrong-rule")),
    Slip("factor", (Kind.GRAD, Kind.UPSTREAM, Kind.NODE, Kind.VALUE), _constant_factor),
    Slip("not-differentiated", (Kind.GRAD, Kind.UPSTREAM), _not_differentiated),
)


# ---------------------------------------------------------------------------
# Formulas written out and tidied, for the words of a diagnosis (never evaluated: shown only)


def _leaf(tape: Tape, i: int) -> Expr:
    node = tape.nodes[i]
    if node.kind == CONST and isinstance(node.const, float) and node.label not in ("pi", "e"):
        return _number(float(node.const))
    return Name(node.label, (0, 0))


def node_formula(tape: Tape, target: int, limit: int = MAX_SHOWN_NODES) -> str | None:
    """Node ``target`` written out over the variables, tidied; None when longer than ``limit`` nodes."""
    need = tape.ancestors(target)
    exprs: dict[int, Expr] = {}
    sizes: dict[int, int] = {}
    for i in sorted(need):
        node = tape.nodes[i]
        if node.kind != GATE or node.op is None:
            exprs[i], sizes[i] = _leaf(tape, i), 1
            continue
        size = 1 + sum(sizes[j] for j in node.args)
        if size > limit:
            return None
        exprs[i], sizes[i] = gate_tree(node.op, [exprs[j] for j in node.args]), size
    return tidy_text(exprs[target])


def program_formula(text: str, name: str, limit: int = MAX_SHOWN_NODES) -> str | None:
    """``name`` of a gradient program (our own text) written out as one formula, tidied; None if too long."""
    from .parser import Assign, parse_program

    env: dict[str, Expr | None] = {}
    sizes: Sizes = {}
    for stmt in parse_program(text, "<gradient graph>").statements:
        if isinstance(stmt, Assign):
            env[stmt.target] = _inline(stmt.expr, env, sizes, limit)
    expr = env.get(name) if name in env else _inline(_parse(name), env, sizes, limit)
    return tidy_text(expr) if expr is not None else None


def _parse(text: str) -> Expr:
    from .parser import parse_expression

    return parse_expression(text, "<gradient graph>")


def _inline(expr: Expr, env: Mapping[str, Expr | None], sizes: Sizes, limit: int) -> Expr | None:
    """``expr`` with the program's names replaced by what they stand for; None past ``limit`` nodes."""
    names = {n.id for n in postorder(expr) if isinstance(n, Name)}
    if any(n in env and env[n] is None for n in names):
        return None
    done = substitute(expr, {n: e for n, e in env.items() if n in names and e is not None})
    return done if _size(done, sizes) <= limit else None


# id of a subtree -> (its size written out, the subtree itself: held so that its id stays its own)
Sizes = dict[int, tuple[int, Expr]]


def _size(root: Expr, sizes: Sizes) -> int:
    """Nodes in the tree written out, counting shared parts each time, without walking them again."""
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in sizes:
            continue
        kids = children(node)
        if expanded:
            sizes[id(node)] = (1 + sum(sizes[id(k)][0] for k in kids), node)
            continue
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in sizes)
    return sizes[id(root)][0]


def tidy_text(expr: Expr) -> str:
    return to_string(tidy(expr), COMPACT)


def _value(e: Expr) -> float | None:
    """The number an expression is, when it is one written plainly (2, -1.5), else None."""
    if isinstance(e, Num):
        try:
            return float(e.text)
        except ValueError:
            return None
    if isinstance(e, Unary) and e.op == "-":
        v = _value(e.operand) if isinstance(e.operand, Num) else None
        return -v if v is not None else None
    return None


def _number(v: float) -> Expr:
    if not math.isfinite(v):
        return Name(repr(v), (0, 0))  # pragma: no cover - our formulas fold only to finite numbers
    text = str(int(v)) if v == int(v) and abs(v) < 1e15 else repr(abs(v))
    text = text.lstrip("-")
    num = Num(abs(v), text, (0, 0))
    return Unary("-", num, (0, 0)) if v < 0 else num


def _fold(op: str, a: float, b: float) -> float | None:
    """a op b when it is a short number (1/3 stays 1/3), else None."""
    try:
        v = {"+": a + b, "-": a - b, "*": a * b}.get(op)
        if op == "/" and b != 0:
            v = a / b
        elif op == "^" and (a > 0 or b == int(b)) and abs(b) <= 64:
            v = math.pow(a, b)
    except (OverflowError, ValueError, ZeroDivisionError):
        return None
    if v is None or not math.isfinite(v) or len(repr(abs(v))) > 8:
        return None
    return v


def tidy(root: Expr) -> Expr:
    """The formula with the gradient graph's bookkeeping tidied away: 2.0 * x^(2.0 - 1) is 2*x.

    Numbers fold when the result is short, ones and zeros of products, sums and powers go, a
    number in a product comes first, and products lean left; the value is unchanged.
    """
    def make(node: Expr, kids: list[Expr]) -> Expr:
        if isinstance(node, Num):
            v = _value(node)
            return _number(v) if v is not None else node
        if isinstance(node, Unary):
            return _negate(kids[0]) if node.op == "-" else kids[0]
        if isinstance(node, Binary):
            return _tidy_binary(node.op, kids[0], kids[1])
        return with_children(node, kids)

    return rebuild(root, make)


def _negate(e: Expr) -> Expr:
    if isinstance(e, Unary) and e.op == "-":
        return e.operand
    v = _value(e)
    if v is not None:
        return _number(-v)
    return Unary("-", e, (0, 0))


def _tidy_binary(op: str, a: Expr, b: Expr) -> Expr:
    va, vb = _value(a), _value(b)
    if va is not None and vb is not None:
        v = _fold(op, va, vb)
        if v is not None:
            return _number(v)
    if op == "+":
        if va == 0:
            return b
        if vb == 0:
            return a
        if isinstance(b, Unary) and b.op == "-":
            return _tidy_binary("-", a, b.operand)
    elif op == "-":
        if vb == 0:
            return a
        if va == 0:
            return _negate(b)
        if isinstance(b, Unary) and b.op == "-":
            return _tidy_binary("+", a, b.operand)
    elif op == "*":
        return _product([*_factors(a), *_factors(b)])
    elif op == "/":
        if vb == 1:
            return a
        if va == 0:
            return _number(0.0)
    elif op == "^":
        if vb == 1:
            return a
        if vb == 0:
            return _number(1.0)
    return Binary(op, a, b, (0, 0), (0, 0))


def _factors(e: Expr) -> list[Expr]:
    """The factors of a product that leans left (a*b*c), in order; [e] for anything else."""
    spine: list[Expr] = []
    while isinstance(e, Binary) and e.op == "*":
        spine.append(e.right)
        e = e.left
    return [e, *reversed(spine)]


def _product(factors: Sequence[Expr]) -> Expr:
    """The factors multiplied, leaning left, their numbers folded into one in front: x*3*y^2 is 3*x*y^2."""
    coefficient: float | None = 1.0
    numbers: list[Expr] = []
    rest: list[Expr] = []
    sign = 1.0
    for f in factors:
        v = _value(f)
        if v is None:
            if isinstance(f, Unary) and f.op == "-":  # -a*b is -(a*b): the signs go in front
                sign, f = -sign, f.operand
            rest.append(f)
            continue
        folded = _fold("*", coefficient, v) if coefficient is not None else None
        if folded is None:
            numbers.append(f)  # a number that does not fold short stays as written
        else:
            coefficient = folded
    if coefficient == 0:
        return _number(0.0)
    if coefficient is not None:
        sign *= math.copysign(1.0, coefficient)
        if abs(coefficient) != 1:
            numbers.insert(0, _number(abs(coefficient)))
    rest.sort(key=_factor_rank)  # x before x^2 before cos(x): 2*x*cos(x^2)
    parts = numbers + rest or [_number(1.0)]
    if sign < 0:  # on the first factor: -2*x, -x*y
        parts[0] = _negate(parts[0])
    product = parts[0]
    for f in parts[1:]:
        product = Binary("*", product, f, (0, 0), (0, 0))
    return product


def _factor_rank(e: Expr) -> tuple[int, str]:
    """Where a factor goes in a product as written by hand: constants, then names and their powers in
    alphabetical order (x^2 before y), then the rest as they come."""
    if all(n.id in ("pi", "e") for n in postorder(e) if isinstance(n, Name)):
        return (0, "")
    if isinstance(e, Name):
        return (1, e.id)
    if isinstance(e, Binary) and e.op == "^" and isinstance(e.left, Name):
        return (1, e.left.id)
    return (2, "")


def _ratio_text(x: float) -> str:
    """A ratio as a person writes it: 2, -3, 1/2, 2/3, or 0.7071 when it is no simple fraction."""
    frac = Fraction(x).limit_denominator(12)
    if abs(float(frac) - x) <= 1e-9 * abs(x):
        return str(frac.numerator) if frac.denominator == 1 else f"{frac.numerator}/{frac.denominator}"
    return f"{x:.6g}"


def _short(x: float) -> str:
    return f"{x:.4g}"


def _clip(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:39] + "…")


__all__ = [
    "COMPACT",
    "SLIPS",
    "Counterexample",
    "Diagnosis",
    "FormulaVerdict",
    "Item",
    "Slip",
    "answer_names",
    "answer_tape",
    "close",
    "judge_formulas",
    "node_formula",
    "program_formula",
    "sample",
    "tidy",
]
