"""Building a tape from a parsed program: the parser's postfix code, one instruction at a time."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .errors import GradcalcError, Span, closest
from .i18n import msg
from .ops import BINARY_OPS, CALLS, CONSTANTS, FUNCTIONS, OPS, Op, call_op, calls_text, index_op
from .parser import Assign, ExprStmt, Instr, Program
from .tape import CONST, GATE, VAR, Node, Tape

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
        self.primes: dict[str, int] = {}  # name -> the primes on its newest label (c'' has 2)
        self.assigned_later: dict[str, Span] = {}
        self.notes: list[str] = []
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
            self._note_cut_input(stmt.target, stmt.target_span, idx)
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
                    f"--target {output!r} is not a name in the program",
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
            self.notes,
            _tensors=None if self.maybe_tensors else False,
        )

    def _note_cut_input(self, name: str, span: Span, idx: int) -> None:
        """Say so when an input that was used is assigned something that does not depend on it.

        ``x = 1; y = x*2; x = 5; z = x*y``: from the third statement on, x is
        the constant 5, and ``x=3`` on the command line reaches only y.  (``c =
        c + 1`` keeps depending on the input, and an input never used before is
        warned about as unused.)
        """
        var = self.variables.get(name)
        if var is None or self.env.get(name) != var:
            return
        nodes = self.nodes
        if not any(var in n.args for n in nodes[var + 1 : idx + 1]):
            return
        seen = {idx}
        stack = [idx]
        while stack:
            for j in nodes[stack.pop()].args:
                if j == var:
                    return
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        line, col = self.program.source.line_col(span[0])
        self.notes.append(
            f"{name!r} is an input, and line {line}, column {col} assigns it again: from there on {name} is that "
            f"expression, and a value given as {name}=... reaches only the uses before that line"
        )

    def _fresh_label(self, name: str) -> str:
        """The label of a gate assigned to ``name``: c, then c', c'', c''' and c'4, c'5, ... as it is rebound.

        Each name remembers its newest label, so a rebinding costs a step: searching
        c, c', c'', ... from the start every time, with labels k primes long, grew
        with the cube of the rebindings (4,000 of ``c = c + 1`` took 9 s).
        """
        k = self.primes.get(name, 0)
        label = name
        while label in self.bindings:
            k += 1
            label = name + ("'" * k if k <= 3 else f"'{k}")
        self.primes[name] = k
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
                hint=f"call it as {_call_example(name)}, or use another name such as {name}_",
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
                hint=f"write {_call_example(name)}; for a variable, use another name such as {name}_",
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
            raise GradcalcError(msg("unknown function {name}", name=repr(func)), kind="name", span=name_span,
                                hint=hint)
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


def _call_example(name: str) -> str:
    """A call of ``name`` with as many arguments as it takes: max(a, b), log(x)."""
    op = CALLS[name][0]
    return f"{name}({', '.join(op.arg_names)}{', ...' if op.arity == -1 else ''})"


def _did_you_mean(name: str, known: list[str]) -> str | None:
    near = closest(name, known)
    return f"did you mean {near!r}?" if near else None
