"""Judging answers against a computed result: each named node found in the graph, each answer marked.

Numbers are judged to their digits here; formulas, as functions, by :mod:`gradcalc.formula_answers`
(also without values: :func:`judge_formulas_alone`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .answers import Answer, Ask, Expectation, Kind, Mark, Tolerance, index_text, within
from .diagnose import diagnose_all
from .errors import GradcalcError, suggest
from .formula_answers import Item
from .parser import Program

if TYPE_CHECKING:
    from .api import GradResult
    from .tape import Tape


def judge(
    result: GradResult, expectations: Sequence[Expectation], tolerance: Tolerance | None = None, ask: Ask | None = None,
    *, symbolic_budget: float | None = None,
) -> list[Mark]:
    """Judge each answer against the result; explain the wrong gradients.

    Raises :class:`GradcalcError` for a name that is not in the graph, or an
    answer about a whole vector or matrix (an answer is one number: W[0, 1] is one element).
    Where the hint is to ask for another kind of answer, ``ask`` says how the user writes one.
    Formula answers are judged as functions, with SymPy in ``symbolic_budget`` seconds (None: without).
    """
    tolerance = tolerance or Tolerance()
    tape = result.tape
    out = result.output_label
    labels = node_labels(tape)
    needs = result.backprop.needs
    marks: list[Mark | None] = []
    formulas: list[tuple[int, Item]] = []
    for e in expectations:
        node = _resolve(tape, needs, e, labels, ask)
        if e.is_formula:
            formulas.append((len(marks), Item(e, node, _label(out, e))))
            marks.append(None)
            continue
        if e.what == Kind.VALUE:
            label, true = out, result.values[node]
        elif e.what == Kind.NODE:
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
        answer = e.answer
        assert isinstance(answer, Answer)
        bound, rule = tolerance.bound(answer, true)
        marks.append(Mark(e, label, node, true, bound, rule, within(answer.value, true, bound)))
    if formulas:
        from .formula_answers import judge_formulas

        judged = judge_formulas(tape, [item for _, item in formulas], result.inputs, tie=result.tie,
                                symbolic_budget=symbolic_budget)
        for (k, _), mark in zip(formulas, judged, strict=True):
            marks[k] = mark
    done = [m for m in marks if m is not None]
    diagnose_all(result, done, tolerance)
    return done


def judge_formulas_alone(
    formula: str | Program | Tape, given: Mapping[str, Any], expectations: Sequence[Expectation], *,
    output: str | None = None, name: str = "<formula>", tie: str = "split", symbolic_budget: float | None = None,
    ask: Ask | None = None,
) -> list[Mark] | None:
    """Formula answers judged without values: None when every variable has a value (judge the result instead).

    The random points are drawn around the values there are (given, or the program's own) and
    over a spread for the others.  Without a value there are no digits to judge a number at:
    a number among the answers is judged as a formula, a constant (``1`` for ∂(x + y)/∂y).
    """
    from .answers import parse_formula_answer
    from .formula_answers import judge_formulas
    from .pipeline import load

    tape = load(formula, output=output, name=name)
    if all(n in given or n in tape.defaults for n in tape.variables):
        return None
    expectations = [e if e.is_formula else replace(e, answer=parse_formula_answer(e.answer.text))
                    for e in expectations]
    labels = node_labels(tape)
    needs = tape.needs_grad()
    out = tape.nodes[tape.output].label
    items = [Item(e, _resolve(tape, needs, e, labels, ask), _label(out, e)) for e in expectations]
    return judge_formulas(tape, items, {**tape.defaults, **given}, tie=tie, symbolic_budget=symbolic_budget)


def _label(out: str, e: Expectation) -> str:
    """How an answer is called: f, ∂f/∂x0, q, ∂f/∂q."""
    if e.what == Kind.VALUE:
        return out
    if e.what == Kind.NODE:
        return e.name
    return f"∂{out}/∂{e.name}"


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


def _resolve(tape: Tape, needs: Sequence[bool], e: Expectation, labels: Mapping[str, int], ask: Ask | None) -> int:
    if e.what == Kind.VALUE:
        return tape.output
    if e.what == Kind.GRAD:
        if e.name in tape.variables:
            return tape.variables[e.name]
        if e.name in labels:
            raise _name_error(e, f"{e.name!r} is an intermediate node, not an input variable",
                              f"ask for its upstream gradient{_with(ask, Kind.UPSTREAM, f'{e.name}=...')}")
        raise _name_error(e, f"{e.name!r} is not a variable of the formula",
                          suggest(e.name, list(tape.variables), "the variables are"))
    if e.name not in labels:
        raise _name_error(e, f"there is no node called {e.name!r}",
                          suggest(e.name, list(labels), "the nodes are"))
    i = labels[e.name]
    if e.what == Kind.UPSTREAM and not needs[i]:
        raise _name_error(e, f"{e.name!r} does not depend on any variable, so no gradient flows into it",
                          f"ask for its value{_with(ask, Kind.NODE, '')}")
    return i


def _with(ask: Ask | None, kind: Kind, example: str) -> str:
    return f" with {ask(kind, example)}" if ask else ""


def _name_error(e: Expectation, message: str, hint: str | None) -> GradcalcError:
    return GradcalcError(message, kind="answer", span=e.span, hint=hint, source=e.source)
