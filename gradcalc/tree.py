"""The expression tree: made on demand from the parser's postfix code, and printed.

The parser emits flat postfix code (:mod:`gradcalc.parser`) and the tape is
built from it directly; the tree is for printing formulas back
(:mod:`gradcalc.printer`), golden tests (:func:`to_sexpr`) and readers of the
Python API (``Statement.expr``).  Nothing here recurses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .errors import Span
from .grammar import Instr

# Small frozen dataclasses, each with its span.


@dataclass(frozen=True, slots=True)
class Num:
    value: float
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Name:
    id: str
    span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    span: Span
    op_span: Span


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class Index:
    base: Expr
    indices: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple[Expr, ...]
    span: Span


Expr = Num | Name | Unary | Binary | Call | Index | ListLit

_UNARY_OPS = {"neg": "-", "pos": "+"}


def to_tree(code: list[Instr], lo: int, hi: int) -> Expr:
    """The expression tree of ``code[lo:hi]``, made with a stack."""
    stack: list[Expr] = []
    for k in range(lo, hi):
        op, arg, count, start, end, at_start, at_end = code[k]
        span = (start, end)
        if op == "num":
            stack.append(Num(float(arg), arg, span))
        elif op == "name":
            stack.append(Name(arg, span))
        elif op in _UNARY_OPS:
            stack[-1] = Unary(_UNARY_OPS[op], stack[-1], span)
        elif op == "call":
            args = tuple(stack[len(stack) - count :])
            del stack[len(stack) - count :]
            stack.append(Call(arg, args, span, (at_start, at_end)))
        elif op == "index":
            indices = tuple(stack[len(stack) - count :])
            del stack[len(stack) - count :]
            stack[-1] = Index(stack[-1], indices, span)
        elif op == "list":
            items = tuple(stack[len(stack) - count :])
            del stack[len(stack) - count :]
            stack.append(ListLit(items, span))
        else:
            right = stack.pop()
            stack[-1] = Binary(op, stack[-1], right, span, (at_start, at_end))
    return stack[-1]


# ---------------------------------------------------------------------------
# Walking, and the golden tests' form


def children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, Call):
        return expr.args
    if isinstance(expr, Index):
        return (expr.base, *expr.indices)
    if isinstance(expr, ListLit):
        return expr.items
    return ()


def postorder(root: Expr) -> Iterator[Expr]:
    """Every node below ``root``, children before parents, without recursion."""
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            yield node
            continue
        stack.append((node, True))
        for child in reversed(children(node)):
            stack.append((child, False))


def with_children(node: Expr, kids: Sequence[Expr]) -> Expr:
    """``node`` with its children replaced by ``kids`` (a leaf as it is)."""
    if isinstance(node, Unary):
        return Unary(node.op, kids[0], node.span)
    if isinstance(node, Binary):
        return Binary(node.op, kids[0], kids[1], node.span, node.op_span)
    if isinstance(node, Call):
        return Call(node.func, tuple(kids), node.span, node.name_span)
    if isinstance(node, Index):
        return Index(kids[0], tuple(kids[1:]), node.span)
    if isinstance(node, ListLit):
        return ListLit(tuple(kids), node.span)
    return node


def rebuild(root: Expr, make: Callable[[Expr, list[Expr]], Expr]) -> Expr:
    """``root`` rebuilt bottom-up without recursion: ``make(node, its new children)`` gives each node's
    replacement (``with_children`` keeps a node as it is, over its new children)."""
    done: list[Expr] = []
    for node in postorder(root):
        count = len(children(node))
        kids = done[len(done) - count :]
        del done[len(done) - count :]
        done.append(make(node, kids))
    return done[-1]


def to_sexpr(root: Expr) -> str:
    """Lisp-style form for golden tests: ``1+2*3`` is ``(+ 1 (* 2 3))``."""
    done: dict[int, str] = {}
    for node in postorder(root):
        kids = [done.pop(id(c)) for c in children(node)]
        if isinstance(node, Num):
            text = node.text
        elif isinstance(node, Name):
            text = node.id
        elif isinstance(node, Unary):
            text = f"({node.op} {kids[0]})"
        elif isinstance(node, Binary):
            text = f"({node.op} {kids[0]} {kids[1]})"
        elif isinstance(node, Call):
            text = f"({node.func} {' '.join(kids)})"
        elif isinstance(node, Index):
            text = f"([] {' '.join(kids)})"
        else:
            text = f"(list {' '.join(kids)})"
        done[id(node)] = text
    return done[id(root)]
