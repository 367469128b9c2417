"""The computational graph as a flat tape, and the passes over it.

A tape is a list of nodes in evaluation order.  A node refers to its inputs by
integer index, so every pass is one loop over the list: forward in order,
reverse (backprop) backwards, *adding* into each input's gradient, which is
how a value used twice sums the gradients of its uses.  Nothing here recurses
on the shape of the formula.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import GradcalcError, Source, Span, closest
from .ops import BINARY_OPS, CALLS, CONSTANTS, FUNCTIONS, OPS, Op, ScalarMath, call_op, calls_text, index_op
from .parser import Assign, ExprStmt, Instr, Program

VAR, CONST, GATE = "var", "const", "gate"

# Tapes of at least this many scalar nodes may run gradcalc.sweep's vectorized
# passes.  Measured (2 cores) on sums of relu(w*c_i + b)*(w - d_i*x)^2,
# gradient() in a fresh process, NumPy's import (60-100 ms) included: 10,000
# nodes 59 ms loops / 93 ms swept, 20,000: 111 / 107 ms, 40,000: 248 / 161 ms.
SWEEP_MIN_NODES = 20_000


@dataclass(slots=True)
class Node:
    kind: str  # VAR, CONST or GATE
    op: Op | None
    args: tuple[int, ...]
    span: Span
    label: str  # how the node is called in tables: a variable, a constant's text, q, f, ...
    const: Any = 0.0  # a constant's value: a float, or an array
    named: bool = False  # the label is the user's (a variable or an assigned name)


@dataclass
class Tape:
    nodes: list[Node]
    output: int
    source: Source
    variables: dict[str, int]  # input variable -> node index, in order of first use
    defaults: dict[str, Any] = field(default_factory=dict)  # program values of variables
    bindings: dict[str, int] = field(default_factory=dict)  # every label -> node index
    _tensors: bool | None = field(default=None, repr=False)
    _sweep: Any = field(default=None, repr=False, compare=False)  # gradcalc.sweep's schedule, or False

    def __len__(self) -> int:
        return len(self.nodes)

    def gate_text(self, i: int, style: Any = None) -> str:
        """The right-hand side of a node, in terms of its inputs' labels: ``x + y`` (see gradcalc.printer)."""
        node = self.nodes[i]
        if node.kind != GATE:
            return node.label
        assert node.op is not None
        from .printer import GATE as GATE_STYLE
        from .printer import gate_tree, leaf, to_string

        return to_string(gate_tree(node.op, [leaf(self.nodes[j].label) for j in node.args]), style or GATE_STYLE)

    @property
    def has_tensors(self) -> bool:
        """Whether any gate or constant needs NumPy (vectors, matrices)."""
        if self._tensors is None:
            self._tensors = any(
                (n.op is not None and n.op.tensor) or (n.kind == CONST and not isinstance(n.const, float))
                for n in self.nodes
            )
        return self._tensors

    def reachable(self) -> list[bool]:
        """Which nodes the output depends on."""
        used = [False] * len(self.nodes)
        used[self.output] = True
        nodes = self.nodes
        for i in range(self.output, -1, -1):
            if used[i]:
                for j in nodes[i].args:
                    used[j] = True
        return used

    def needs_grad(self) -> list[bool]:
        """Nodes that depend on some variable and that the output depends on."""
        sweep = sweep_for(self)
        if sweep is not None:
            return sweep.needs()
        nodes = self.nodes
        depends = [False] * len(nodes)
        for i, node in enumerate(nodes):
            kind = node.kind
            if kind == VAR:
                depends[i] = True
            elif kind == GATE:
                for j in node.args:
                    if depends[j]:
                        depends[i] = True
                        break
        used = self.reachable()
        return [d and u for d, u in zip(depends, used, strict=True)]

    def ancestors(self, i: int) -> set[int]:
        """Every node that node ``i`` depends on, ``i`` included."""
        seen = {i}
        stack = [i]
        nodes = self.nodes
        while stack:
            for j in nodes[stack.pop()].args:
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        return seen


# ---------------------------------------------------------------------------
# Building the tape from the parsed program

# Letters for unnamed intermediate gates, in CS231n's habit (q = x + y, f = q z).
_AUTO_NAMES = ("q", "r", "s", "t", "u", "v", "w", "p", "g", "h", "k", "m", "n")


def build(program: Program, output: str | None = None) -> Tape:
    """Turn a parsed program into a tape."""
    try:
        return _Builder(program).build(output)
    except GradcalcError as err:
        raise err.with_source(program.source) from None


class _Builder:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.nodes: list[Node] = []
        self.env: dict[str, int] = {}  # name -> newest binding
        self.variables: dict[str, int] = {}
        self.defaults: dict[str, Any] = {}
        self.bindings: dict[str, int] = {}
        self.assigned_later: dict[str, Span] = {}
        self.literals: set[int] = set()  # constants written as numbers (or lists of them)
        self.maybe_tensors = False  # a tensor gate or an array constant was made: Tape.has_tensors will look

    def add(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def build(self, output: str | None) -> Tape:
        statements = self.program.statements
        # Names assigned somewhere: using one before its assignment is an error.
        first_assign: dict[str, int] = {}
        for k, stmt in enumerate(statements):
            if isinstance(stmt, Assign):
                first_assign.setdefault(stmt.target, k)
        last = len(statements) - 1
        out_index = -1
        for k, stmt in enumerate(statements):
            if isinstance(stmt, ExprStmt):
                if k != last:
                    raise GradcalcError(
                        "this expression's value is not used",
                        kind="syntax",
                        span=stmt.span,
                        hint="only the last statement may be a bare expression; assign it with 'name = ...'",
                    )
                out_index = self.expression(stmt.lo, stmt.hi, first_assign, k)
                continue
            idx = self.expression(stmt.lo, stmt.hi, first_assign, k)
            node = self.nodes[idx]
            if idx in self.literals and stmt.target not in self.env and stmt.target not in self.variables:
                # `x = -4`: an input variable with a default value.
                self._check_variable_name(stmt.target, stmt.target_span)
                self.nodes[idx] = Node(VAR, None, (), stmt.target_span, stmt.target, named=True)
                self.literals.discard(idx)
                self.variables[stmt.target] = idx
                self.defaults[stmt.target] = node.const
                self.env[stmt.target] = idx
                self.bindings[stmt.target] = idx
                out_index = idx
                continue
            if not node.named and node.kind == GATE:
                node.label = self._fresh_label(stmt.target)
                node.named = True
                self.bindings[node.label] = idx
            self.env[stmt.target] = idx
            self.bindings[stmt.target] = idx
            out_index = idx
        if output is not None:
            if output not in self.env:
                raise GradcalcError(
                    f"--output {output!r} is not a name in the program",
                    kind="name",
                    hint=_did_you_mean(output, list(self.env)),
                )
            out_index = self.env[output]
        self._auto_label(out_index)
        return Tape(
            self.nodes,
            out_index,
            self.program.source,
            self.variables,
            self.defaults,
            self.bindings,
            _tensors=None if self.maybe_tensors else False,
        )

    def _fresh_label(self, name: str) -> str:
        label = name
        while label in self.bindings:  # rebinding: c, c', c'', ...
            label += "'"
        return label

    def _auto_label(self, out_index: int) -> None:
        taken = set(self.bindings) | set(self.variables) | set(CONSTANTS)
        out = self.nodes[out_index]
        if out.kind == GATE and not out.named:
            out.label = "f" if "f" not in taken else next(
                n for n in ("out", "f_", "output") if n not in taken
            )
            taken.add(out.label)
        names = label_sequence(taken)
        for node in self.nodes:
            if node.kind == GATE and not node.named and node is not out:
                node.label = next(names)

    def _check_variable_name(self, name: str, span: Span) -> None:
        if name in CONSTANTS:
            raise GradcalcError(
                f"{name!r} is the constant {CONSTANTS[name]:.6g} and cannot be a variable",
                kind="name",
                span=span,
                hint="use another name",
            )
        if name in FUNCTIONS:
            raise GradcalcError(
                f"{name!r} is a function and cannot be a variable",
                kind="name",
                span=span,
                hint=f"call it as {name}(x), or use another name",
            )

    def expression(self, lo: int, hi: int, first_assign: dict[str, int], stmt_index: int) -> int:
        """Append the gates of one expression, ``code[lo:hi]``; return the tape index of its value.

        One loop over the parser's postfix code with a stack of tape indices:
        an instruction's operands are the top entries.  Number literals (and a
        sign or a list of them) become constants, remembered in ``literals``
        so that a list of them folds into one array and an index checks them.
        """
        nodes = self.nodes
        literals = self.literals
        literals.clear()  # only this expression's: a name bound to a literal is not one
        code = self.program.code
        done: list[int] = []
        env = self.env
        rows = {symbol: OPS[name] for symbol, name in BINARY_OPS.items()}  # the rows as they are now
        for k in range(lo, hi):
            op, arg, count, start, end, at_start, at_end = code[k]
            binary = rows.get(op)
            if binary is not None:
                if binary.tensor:
                    self.maybe_tensors = True
                right = done.pop()
                left = done[-1]
                done[-1] = len(nodes)
                nodes.append(Node(GATE, binary, (left, right), (start, end), ""))
            elif op == "name":
                bound = env.get(arg)
                done.append(bound if bound is not None else self.name(arg, (start, end), first_assign, stmt_index))
            elif op == "num":
                value = float(arg)  # digits: finite, or too large (inf)
                if value == _INF:
                    raise _too_large(arg, (start, end))
                done.append(len(nodes))
                literals.add(len(nodes))
                nodes.append(Node(CONST, None, (), (start, end), arg, value))
            elif op == "neg" or op == "pos":
                top = done[-1]
                if code[k - 1][0] == "num":  # -3 is a number, not a gate
                    number = nodes[top]
                    if op == "neg":
                        nodes[top] = Node(CONST, None, (), (start, end), "-" + number.label, const=-number.const)
                    else:
                        nodes[top] = Node(CONST, None, (), (start, end), number.label, const=number.const)
                elif op == "neg":
                    nodes.append(Node(GATE, OPS["neg"], (top,), (start, end), ""))
                    done[-1] = len(nodes) - 1
                # +x is x: its index stays on `done`
            elif op == "call":
                args = tuple(done[len(done) - count :])
                del done[len(done) - count :]
                function = self.function(arg, count, (start, end), (at_start, at_end))
                self.maybe_tensors |= function.tensor
                done.append(len(nodes))
                nodes.append(Node(GATE, function, args, (start, end), ""))
            elif op == "index":
                self.maybe_tensors = True
                positions = tuple(self.position(j, k, count, n) for n, j in enumerate(done[len(done) - count :]))
                del done[len(done) - count :]
                del nodes[len(nodes) - count :]  # the index numbers are part of the gate, not nodes
                done[-1] = self.add(Node(GATE, index_op(positions), (done[-1],), (start, end), ""))
            elif op == "list":
                items = done[len(done) - count :]
                del done[len(done) - count :]
                done.append(self.list_value(items, (start, end)))
            else:  # pragma: no cover - the parser makes no others
                raise _not_yet((at_start, at_end), f"the {op!r} operator")
        return done[-1]

    def list_value(self, items: list[int], span: Span) -> int:
        """``[a, b, ...]``: one constant array when every item is a literal, else a stack gate."""
        nodes = self.nodes
        self.maybe_tensors = True
        if not all(j in self.literals for j in items):
            return self.add(Node(GATE, OPS["stack"], tuple(items), span, ""))
        from .tensor import np

        try:
            array = np.array([nodes[j].const for j in items], dtype=float)
        except ValueError:
            raise GradcalcError(
                "the rows of this matrix have different lengths",
                kind="shape",
                span=span,
                hint="every row needs the same number of items",
            ) from None
        if array.ndim > 2:
            raise GradcalcError("only vectors and matrices are supported", kind="shape", span=span)
        # Literal items are the newest nodes, one each: they fold into the array.
        for j in items:
            self.literals.discard(j)
        del nodes[len(nodes) - len(items) :]
        text = self.program.source.text[span[0] : span[1]]
        idx = self.add(Node(CONST, None, (), span, text if len(text) <= 40 else "[…]", const=array))
        self.literals.add(idx)
        return idx

    def position(self, node: int, k: int, count: int, n: int) -> int:
        """Index ``n`` of the ``count`` inside the [...] of ``code[k]``: a whole number written in the formula."""
        value = self.nodes[node].const if node in self.literals else None
        if not isinstance(value, float) or value != int(value) or value < 0:
            root = self.program.code[_operand_roots(self.program.code, k, count)[n]]
            raise GradcalcError(
                "an index must be a whole number from 0",
                kind="syntax",
                span=(root[3], root[4]),
                hint="write s[0] for the first element and W[1, 0] for row 1, column 0",
            )
        self.literals.discard(node)
        return int(value)

    def name(self, name: str, span: Span, first_assign: dict[str, int], stmt_index: int) -> int:
        if name in self.env:
            return self.env[name]
        if name in CONSTANTS:
            return self.add(Node(CONST, None, (), span, name, const=CONSTANTS[name]))
        if name in first_assign and first_assign[name] >= stmt_index:
            where = self.program.statements[first_assign[name]]
            assert isinstance(where, Assign)
            line, col = self.program.source.line_col(where.target_span[0])
            raise GradcalcError(
                f"{name!r} is used before it is assigned",
                kind="name",
                span=span,
                hint=f"{name!r} is assigned at line {line}, column {col}; move that line up",
            )
        if name in FUNCTIONS:
            raise GradcalcError(
                f"{name!r} is a function; call it with parentheses",
                kind="name",
                span=span,
                hint=f"write {name}(x)",
            )
        idx = self.add(Node(VAR, None, (), span, name, named=True))
        self.variables[name] = idx
        self.env[name] = idx
        self.bindings[name] = idx
        return idx

    def function(self, func: str, n: int, span: Span, name_span: Span) -> Op:
        if func not in CALLS:
            known = [*CALLS, *self.env]
            hint = _did_you_mean(func, known) or f"functions are: {', '.join(sorted(CALLS))}"
            raise GradcalcError(f"unknown function {func!r}", kind="name", span=name_span, hint=hint)
        op = call_op(func, n)
        if op is None:
            first = CALLS[func][0]
            raise GradcalcError(
                f"{func}() takes {calls_text(func)}, given {n}",
                kind="syntax",
                span=span,
                hint="max(a, b, ...) and min(a, b, ...) take two or more" if first.arity < 0 else None,
            )
        return op


def label_sequence(taken: set[str]) -> Iterator[str]:
    """Fresh labels for unnamed gates: q, r, s, ... then n1, n2, ...

    A letter that begins a name in use (w beside w1, w2) is skipped, so
    gate names never look like the user's.
    """
    initials = {name[0] for name in taken if name}
    for name in _AUTO_NAMES:
        if name not in taken and name not in initials:
            yield name
    k = 1
    while True:
        name = f"n{k}"
        if name not in taken:
            yield name
        k += 1


def _operand_roots(code: list[Instr], k: int, count: int) -> list[int]:
    """Where the last ``count`` operands of ``code[k]`` end (their root instructions), walking back."""
    roots = []
    p = k - 1
    for _ in range(count):
        roots.append(p)
        need = 1
        while need:
            op, _, n, *_ = code[p]
            takes = 0 if op in ("num", "name") else 1 if op in ("neg", "pos") else n + 1 if op == "index" else (
                n if op in ("call", "list") else 2)
            need += takes - 1
            p -= 1
    return roots[::-1]


_INF = math.inf


def _too_large(text: str, span: Span) -> GradcalcError:
    return GradcalcError(
        f"the number {text[:30]} is too large for a 64-bit float",
        kind="overflow",
        span=span,
        hint="floats reach about 1.8e308",
    )


def _not_yet(span: Span, what: str) -> GradcalcError:
    return GradcalcError(
        f"{what} are not supported in scalar formulas",
        kind="syntax",
        span=span,
        hint="formulas are built from numbers, names, + - * / ^ and function calls",
    )


def _did_you_mean(name: str, known: list[str]) -> str | None:
    near = closest(name, known)
    return f"did you mean {near!r}?" if near else None


# ---------------------------------------------------------------------------
# The passes
#
# `m` is the math namespace the op rows run on: ScalarMath for plain floats
# (fast, no NumPy), or gradcalc.tensor.NumpyMath for vectors, matrices and
# batches.  choose_math() picks the one a tape and its inputs need.


def sweep_for(tape: Tape, m: Any = None, inputs: Mapping[str, Any] | None = None) -> Any:
    """gradcalc.sweep's schedule when its vectorized passes apply to the tape (see ``sweep_of``), else None.

    A tape under SWEEP_MIN_NODES never loads that module (about 1 ms of every
    one-shot run), unless something loaded it already (tests lower its floor there).
    """
    if len(tape.nodes) < SWEEP_MIN_NODES and f"{__package__}.sweep" not in sys.modules:
        return None
    from .sweep import sweep_of

    return sweep_of(tape, m, inputs)


def output_value(tape: Tape, inputs: Mapping[str, Any], m: Any = None) -> Any:
    """The output's value alone, for central differences: ``forward(tape, inputs, m)[tape.output]``,
    without a large tape's list of every value."""
    sweep = sweep_for(tape, m, inputs)
    if sweep is not None:
        return sweep.output_value(inputs)
    return forward(tape, inputs, m)[tape.output]


def choose_math(tape: Tape, inputs: Mapping[str, Any], tie: str = "split") -> Any:
    if tape.has_tensors or any(not isinstance(v, float | int) for v in inputs.values()):
        from .tensor import NumpyMath

        return NumpyMath(tie)
    return ScalarMath(tie)


def forward(tape: Tape, inputs: Mapping[str, Any], m: Any = None) -> list[Any]:
    """Every node's value, in tape order."""
    m = m if m is not None else ScalarMath()
    sweep = sweep_for(tape, m, inputs)  # a large scalar tape: vectorized by levels
    if sweep is not None:
        return sweep.forward(inputs)
    vals: list[Any] = [0.0] * len(tape.nodes)
    i = 0
    try:
        for i, node in enumerate(tape.nodes):
            kind = node.kind
            if kind == GATE:
                args = node.args
                fwd = node.op.fwd  # type: ignore[union-attr]
                if len(args) == 2:
                    vals[i] = fwd(m, vals[args[0]], vals[args[1]])
                elif len(args) == 1:
                    vals[i] = fwd(m, vals[args[0]])
                else:
                    vals[i] = fwd(m, *[vals[j] for j in args])
            elif kind == VAR:
                vals[i] = inputs[node.label]
            else:
                vals[i] = node.const
    except (ValueError, TypeError, IndexError) as exc:  # shapes that do not fit
        raise shape_error(tape, vals, i, exc) from None
    return vals


def shape_error(tape: Tape, vals: list[Any], i: int, exc: Exception) -> GradcalcError:
    from .tensor import shape_text

    node = tape.nodes[i]
    shapes = ", ".join(f"{tape.nodes[j].label}: {shape_text(vals[j])}" for j in node.args)
    reason = str(exc).split("\n")[0]
    if "broadcast" in reason or "could not be broadcast" in reason:
        reason = "the shapes do not broadcast together"
    elif "mismatch" in reason or "matmul" in reason:
        reason = "the inner dimensions do not match"
    return GradcalcError(
        f"shape error in gate {node.label} = {tape.gate_text(i)}: {reason}",
        kind="shape",
        span=node.span,
        hint=f"the inputs' shapes are {shapes}",
        source=tape.source,
    )


def finite(v: Any) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    from .tensor import np

    return bool(np.all(np.isfinite(v)))


def first_nonfinite(tape: Tape, vals: list[Any]) -> int | None:
    """The first node (in evaluation order) whose value is inf or nan."""
    if tape._sweep and tape._sweep.known_finite(vals):
        return None
    if all(map(finite, vals)):
        return None
    for i, v in enumerate(vals):
        if not finite(v):
            return i
    return None  # pragma: no cover


def check_forward(tape: Tape, vals: list[Any], m: Any = None) -> None:
    """Raise a located error naming the first gate whose value is not finite."""
    i = first_nonfinite(tape, vals)
    if i is None:
        return
    m = m if m is not None else ScalarMath()
    node = tape.nodes[i]
    xs = [vals[j] for j in node.args]
    gate = f"{node.label} = {tape.gate_text(i)}"
    shown = [f"{tape.nodes[j].label} = {_short(vals[j])}" for j in node.args if tape.nodes[j].kind != CONST]
    inputs = ", ".join(shown)
    are = "s are" if len(shown) > 1 else " is"
    problem = node.op.domain(m, xs) if node.op is not None and node.op.domain else None
    if problem:
        raise GradcalcError(
            f"{problem} in gate {gate}",
            kind="domain",
            span=node.span,
            hint=f"its input{are} {inputs}; choose values inside its domain" if shown
            else "its inputs are constants: change the formula",
            source=tape.source,
        )
    what = "not a number" if not _any_inf(vals[i]) else "infinite"
    raise GradcalcError(
        f"overflow: gate {gate} is {what}",
        kind="overflow",
        span=node.span,
        hint=f"its input{are} {inputs}; 64-bit floats reach about 1.8e308" if shown
        else "its inputs are constants; 64-bit floats reach about 1.8e308",
        source=tape.source,
    )


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    from .render.numbers import fmt  # a leaf module: numbers as the tables show them

    return fmt(v, 4)  # [-1, 2], not NumPy's [-1.  2.]


def _any_inf(v: Any) -> bool:
    if isinstance(v, float):
        return math.isinf(v)
    from .tensor import np

    return bool(np.any(np.isinf(v)))


@dataclass
class Backprop:
    """The reverse pass: for every node its gradient and its gate's local gradients."""

    grads: list[Any]  # ∂output/∂node: the upstream gradient at each node
    locals: list[tuple[Any, ...] | None]  # ∂node/∂input for each input of elementwise gates
    needs: list[bool]  # whether the node's gradient matters (depends on a variable)
    downs: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # what structural gates handed back

    def downstream(self, tape: Tape, i: int) -> tuple[Any, ...] | None:
        """What gate ``i`` hands back to each input: upstream × local."""
        if i in self.downs:
            return self.downs[i]
        loc = self.locals[i]
        if loc is None:
            return None
        g = self.grads[i]
        return tuple(0.0 * lg if _zero(g) else g * lg for lg in loc)


def _zero(g: Any) -> bool:
    return isinstance(g, float | int) and g == 0


def backward(tape: Tape, vals: list[Any], m: Any = None, seed: Any = 1.0) -> Backprop:
    """Reverse mode: one loop backwards over the tape, adding into inputs' gradients.

    A zero upstream gradient hands back zero, even through an infinite local
    gradient (sqrt at 0 behind a max that routed elsewhere), rather than NaN.
    ``seed`` is the gradient of the output with respect to itself (an array of
    the output's shape for Jacobian rows).
    """
    m = m if m is not None else ScalarMath()
    scalar = isinstance(m, ScalarMath)
    nodes = tape.nodes
    n = len(nodes)
    needs = tape.needs_grad()
    if scalar and not tape.has_tensors:
        sweep = sweep_for(tape, m)
        if sweep is not None:
            return Backprop(sweep.backward(vals, needs, float(seed)), sweep.lazy_locals(vals, needs), needs, {})
        return _backward_scalar(tape, vals, m, needs, float(seed))
    grads: list[Any] = [0.0] * n
    local: list[tuple[Any, ...] | None] = [None] * n
    downs: dict[int, tuple[Any, ...]] = {}
    grads[tape.output] = seed
    for i in range(tape.output, -1, -1):
        node = nodes[i]
        if node.kind != GATE or not needs[i]:
            continue
        op = node.op
        assert op is not None
        args = node.args
        xs = [vals[j] for j in args]
        g = grads[i]
        if op.vjp is not None:
            down = op.vjp(m, g, xs, vals[i])
            downs[i] = down
            if len(down) != len(args):  # pragma: no cover - a broken op row
                raise AssertionError(f"{op.name}: {len(down)} gradients for {len(args)} inputs")
            for j, d in zip(args, down, strict=True):
                if needs[j]:
                    grads[j] = grads[j] + d
            continue
        loc = op.local(m, xs, vals[i])  # type: ignore[misc]
        if len(loc) != len(args):  # pragma: no cover - a broken op row
            raise AssertionError(f"{op.name}: {len(loc)} local gradients for {len(args)} inputs")
        local[i] = loc
        if scalar:
            if g == 0:
                continue
            for j, lg in zip(args, loc, strict=True):
                if needs[j]:
                    grads[j] += g * lg
        else:
            for j, lg in zip(args, loc, strict=True):
                if needs[j]:
                    grads[j] = grads[j] + m.unbroadcast(g * lg, vals[j])
    return Backprop(grads, local, needs, downs)


def jvp(tape: Tape, vals: list[Any], tangents: Mapping[int, Any], m: Any = None) -> list[Any]:
    """Forward mode: push tangents from the variables through each gate's local gradients.

    Independent of the reverse pass: it visits the tape in the other direction
    and sums over a gate's inputs instead of over a node's uses.  Given the
    tangent of each variable (by node index), returns every node's tangent up
    to the output; the output's is the directional derivative.
    """
    m = m if m is not None else ScalarMath()
    nodes = tape.nodes
    if isinstance(m, ScalarMath) and all(isinstance(t, float | int) for t in tangents.values()):
        sweep = sweep_for(tape, m)
        if sweep is not None:
            return sweep.jvp(vals, tangents)
        return _jvp_scalar(tape, vals, tangents, m)
    tan: list[Any] = [0.0] * len(nodes)
    for i in range(tape.output + 1):
        node = nodes[i]
        if node.kind == VAR:
            tan[i] = tangents.get(i, 0.0)
        elif node.kind == GATE:
            args = node.args
            if all(_zero(tan[j]) for j in args):
                continue
            op = node.op
            assert op is not None
            xs = [vals[j] for j in args]
            if op.jvp is not None:
                ts = [tan[j] if not _zero(tan[j]) else 0.0 * m.ones_like(vals[j]) if not isinstance(vals[j], float)
                      else 0.0 for j in args]
                tan[i] = op.jvp(m, ts, xs, vals[i])
                continue
            loc = op.local(m, xs, vals[i])  # type: ignore[misc]
            total: Any = 0.0
            for j, lg in zip(args, loc, strict=True):
                t = tan[j]
                if not _zero(t):
                    total = total + lg * t
            if not isinstance(vals[i], float) and m.shape(total) != m.shape(vals[i]):
                total = m.broadcast_to(total, m.shape(vals[i])).copy()  # a scalar's tangent spreads like its value
            tan[i] = total
    return tan


def _jvp_scalar(tape: Tape, vals: list[Any], tangents: Mapping[int, Any], m: ScalarMath) -> list[Any]:
    """jvp() for plain floats: the same sums, without the array cases."""
    nodes = tape.nodes
    tan = [0.0] * len(nodes)
    for i in range(tape.output + 1):
        node = nodes[i]
        if node.kind == VAR:
            tan[i] = float(tangents.get(i, 0.0))
            continue
        args = node.args
        if node.kind != GATE or not args:
            continue
        if len(args) == 2:
            ta = tan[args[0]]
            tb = tan[args[1]]
            if ta == 0 and tb == 0:
                continue
            la, lb = node.op.local(m, (vals[args[0]], vals[args[1]]), vals[i])  # type: ignore[union-attr, misc]
            tan[i] = (la * ta if ta != 0 else 0.0) + (lb * tb if tb != 0 else 0.0)
        else:
            ts = [tan[j] for j in args]
            if not any(ts):
                continue
            loc = node.op.local(m, [vals[j] for j in args], vals[i])  # type: ignore[union-attr, misc]
            tan[i] = sum(lg * t for lg, t in zip(loc, ts, strict=True) if t != 0)
    return tan


def _backward_scalar(tape: Tape, vals: list[Any], m: ScalarMath, needs: list[bool], seed: float) -> Backprop:
    """backward() for plain floats: the same loop, with the two-input case unrolled."""
    nodes = tape.nodes
    grads = [0.0] * len(nodes)
    local: list[tuple[Any, ...] | None] = [None] * len(nodes)
    grads[tape.output] = seed
    for i in range(tape.output, -1, -1):
        if not needs[i]:
            continue
        node = nodes[i]
        args = node.args
        if not args:
            continue
        g = grads[i]
        if len(args) == 2:
            a, b = args
            loc = node.op.local(m, (vals[a], vals[b]), vals[i])  # type: ignore[union-attr, misc]
            local[i] = loc
            if g != 0:
                if needs[a]:
                    grads[a] += g * loc[0]
                if needs[b]:
                    grads[b] += g * loc[1]
            continue
        loc = node.op.local(m, [vals[j] for j in args], vals[i])  # type: ignore[union-attr, misc]
        if len(loc) != len(args):  # pragma: no cover - a broken op row
            raise AssertionError(f"{node.op.name}: {len(loc)} local gradients for {len(args)} inputs")  # type: ignore[union-attr]
        local[i] = loc
        if g != 0:
            for j, lg in zip(args, loc, strict=True):
                if needs[j]:
                    grads[j] += g * lg
    return Backprop(grads, local, needs, {})
