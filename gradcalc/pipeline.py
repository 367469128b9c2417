"""One pipeline: a formula, its values and the options, to the evaluated tape every command starts from.

parse → build → fuse (:func:`load`) → bind the values → choose the math and
the executor → forward pass → check it is finite (:func:`evaluate`).  The
gradient, trace, Jacobian, descent and graph commands and the Python API all
start here and add only their own step; the garbage collector's pause, NumPy's
warnings and the search for gates at non-differentiable points (:func:`kinks`)
happen here, once.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .builder import build
from .errors import GradcalcError
from .limits import MAX_SOURCE_CHARS
from .ops import DEFAULT_TIE, TIE_MODES, ScalarMath
from .parser import Program, parse_program
from .passes import Backprop, Executor, check_forward, choose_math, executor
from .tape import GATE, Tape
from .values import resolve_inputs

# Gates at non-differentiable points listed one by one (with the variables below
# each); past this they are counted.  Every one still marks its variables.
MAX_KINKS_LISTED = 50


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building trees and tapes.

    Parsing a large formula allocates hundreds of thousands of small acyclic
    objects; each gen-2 collection would walk all of them again (measured:
    parse and build of a 90,000-node formula take half the time without it).
    Reference counting still frees everything; the collector resumes after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def quiet(m: Any) -> Iterator[None]:
    """NumPy answers inf and nan without warnings; the engine reports them itself."""
    if isinstance(m, ScalarMath):
        yield
        return
    from .tensor import np

    with np.errstate(all="ignore"):
        yield


def load(formula: str | Program | Tape, *, output: str | None = None, fuse: bool = False,
         name: str = "<formula>") -> Tape:
    """Parse and build the tape (fused if asked).

    The program is a temporary: its postfix code, about a third of the memory
    of a large formula, is freed before the passes allocate theirs.
    """
    if isinstance(formula, Tape):
        tape = formula
    elif not isinstance(formula, str | Program):
        raise GradcalcError(f"the formula is {type(formula).__name__!r}, not text", kind="usage",
                            hint="give the formula as a string, e.g. gradient('(x+y)*z', {'x': -2, 'y': 5, 'z': -4})")
    elif isinstance(formula, str) and len(formula) > MAX_SOURCE_CHARS:
        raise GradcalcError(f"the formula is {len(formula):,} characters, more than the limit of "
                            f"{MAX_SOURCE_CHARS:,}", kind="limit", hint="split the work into smaller formulas")
    else:
        with paused_gc():
            tape = build(formula if isinstance(formula, Program) else parse_program(formula, name), output)
    if fuse:
        from .fuse import fuse as fuse_gates

        tape = fuse_gates(tape)
    return tape


@dataclass
class Evaluation:
    """A tape with its values bound and its forward pass run, and the executor for the other passes."""

    tape: Tape
    inputs: dict[str, Any]
    warnings: list[str]
    m: Any  # the math namespace: ScalarMath or NumpyMath
    executor: Executor
    values: list[Any]  # every node's forward value

    @property
    def output_value(self) -> Any:
        return self.values[self.tape.output]

    def backward(self, seed: Any = 1.0) -> Backprop:
        with quiet(self.m):
            return self.executor.backward(self.values, seed)

    def jvp(self, tangents: Mapping[int, Any]) -> list[Any]:
        with quiet(self.m):
            return self.executor.jvp(self.values, tangents)


def evaluate(
    formula: str | Program | Tape,
    values: Mapping[str, Any] | None = None,
    *,
    tie: str = DEFAULT_TIE,
    output: str | None = None,
    fuse: bool = False,
    name: str = "<formula>",
) -> Evaluation:
    """Load the formula, bind ``values``, and run the forward pass, naming the first gate that is not finite."""
    if tie not in TIE_MODES:
        raise GradcalcError(f"--tie must be one of {', '.join(TIE_MODES)}, not {tie!r}", kind="usage")
    tape = load(formula, output=output, fuse=fuse, name=name)
    inputs, warnings = resolve_inputs(tape, {} if values is None else values)
    warnings = [*tape.notes, *warnings]
    m = choose_math(tape, inputs, tie)
    ex = executor(tape, m)
    with quiet(m):
        vals = ex.forward(inputs)
        try:
            check_forward(tape, vals, m)
        except GradcalcError as err:
            if err.kind == "overflow" and not fuse:
                _suggest_stable_form(err, tape)
            raise
    return Evaluation(tape, inputs, warnings, m, ex, vals)


def _suggest_stable_form(err: GradcalcError, tape: Tape) -> None:
    """An overflow in 1/(1+exp(-z)) or exp(z)/sum(exp(z)): name the gate that computes it without overflow."""
    from .fuse import fuse

    found = sorted({n.op.name for n in fuse(tape).nodes if n.op is not None} - {n.op.name for n in tape.nodes if n.op})
    if found:
        forms = " or ".join(f"{name}(...)" for name in found)
        err.hint = f"{err.hint}; this formula is {forms} written out: write {forms}, or add --fuse: it never overflows"


@dataclass
class Kink:
    """A gate evaluated at a non-differentiable point, and the convention used."""

    node: int
    label: str
    note: str
    variables: list[str]


def kinks(ev: Evaluation, bp: Backprop) -> tuple[list[Kink], int, frozenset[str]]:
    """The gates at a non-differentiable point: the first MAX_KINKS_LISTED, how many more, and every variable below one.

    Which variables lie below each kink is one reverse pass, whatever the
    number of kinks: each node carries a bit per listed kink it feeds, and one
    more bit for all the others (a walk per kink was quadratic: 20,000 nested
    relu at 0 took 19 s).
    """
    tape, vals, m = ev.tape, ev.values, ev.m
    nodes = tape.nodes
    found: list[tuple[int, str]] = []
    with quiet(m):
        for i in ev.executor.kink_candidates(vals, bp.needs):  # a large tape: only the gates at a kink
            node = nodes[i]
            if node.kind != GATE or not bp.needs[i] or node.op is None or node.op.kink is None:
                continue
            note = node.op.kink(m, [vals[j] for j in node.args], vals[i])
            if isinstance(note, tuple):  # about one input's gradient: none to note if it needs none
                note = note[0] if bp.needs[node.args[note[1]]] else None
            if note:
                found.append((i, note))
    if not found:
        return [], 0, frozenset()
    listed = found[:MAX_KINKS_LISTED]
    feeds = [0] * (found[-1][0] + 1)  # bit k: the node lies below listed kink k; the top bit: below another
    for k, (i, _) in enumerate(listed):
        feeds[i] = 1 << k
    rest = 1 << len(listed)
    for i, _ in found[MAX_KINKS_LISTED:]:
        feeds[i] = rest
    for i in range(len(feeds) - 1, -1, -1):
        bits = feeds[i]
        if bits:
            for j in nodes[i].args:
                feeds[j] |= bits
    below = [(name, feeds[j]) for name, j in tape.variables.items() if j < len(feeds) and feeds[j]]
    listed_kinks = [
        Kink(i, nodes[i].label, note, [name for name, bits in below if bits >> k & 1])
        for k, (i, note) in enumerate(listed)
    ]
    return listed_kinks, len(found) - len(listed), frozenset(name for name, _ in below)


# ---------------------------------------------------------------------------
# The elements of a variable: a number has one, at position ().


def elements(value: Any) -> list[tuple[int, ...]]:
    """The positions of a variable's elements: [()] for a number."""
    if isinstance(value, float):
        return [()]
    from .tensor import np

    return [tuple(int(k) for k in ix) for ix in np.ndindex(np.shape(value))]


def unit(value: Any, pos: tuple[int, ...], amount: float = 1.0) -> Any:
    if not pos:
        return amount
    from .tensor import np

    e = np.zeros(np.shape(value))
    e[pos] = amount
    return e


def assemble(value: Any, parts: list[Any]) -> Any:
    if isinstance(value, float):
        return parts[0]
    if any(p is None for p in parts):
        return None
    from .tensor import np

    return np.array(parts, dtype=float).reshape(np.shape(value))
