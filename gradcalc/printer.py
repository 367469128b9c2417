"""One printer for expression trees, parenthesizing from the grammar's one chart.

Every formula gradcalc writes goes through :func:`to_string`: a formula
printed back (``tree.to_text``), a gate as the tables show it (``q = x + y``),
a gate in a trace (``v₁ × v₂``), and each op's local gradient, from the op
row's ``grad_text`` (``1 - v₁²``), in ``--explain``, traces and the gate
table.  A :class:`Style` is only data — how each operator is written, whether
``ln`` stands for ``log`` — so the parenthesization is the same everywhere:
``v̄₁ × (1 + v₁²)``, never ``v̄₁ × 1 + v₁²``.  Nothing here recurses.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .grammar import ATOM_BP, INFIX, PREFIX_BP
from .ops import Op, by_call
from .tree import Binary, Call, Expr, Index, ListLit, Name, Num, Unary, children, postorder, rebuild, with_children

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
NOWHERE = (0, 0)


@dataclass(frozen=True)
class Style:
    """How one format writes formulas.

    ``infix``: each operator of the chart as written, spaces included.
    ``math_names``: functions by their mathematical names (``ln`` for ``log``).
    ``squares``: ``x^2`` as ``x²``.
    ``signed``: a negative number as an operand is parenthesized, ``x * (-1)``.
    ``associative``: ``a + (b - c)`` and ``a × (b/c)`` lose their parentheses
    (the same value, not the same tree: for display, never for text that must
    parse back to the same graph).
    """

    infix: dict[str, str] = field(default_factory=lambda: {
        "+": " + ", "-": " - ", "*": " * ", "/": " / ", "@": " @ ", "^": "^"})
    math_names: bool = False
    squares: bool = False
    signed: bool = False
    associative: bool = False


TEXT = Style()  # gradcalc's own syntax: parses back to the same tree
GATE = replace(TEXT, infix={**TEXT.infix, "^": " ^ "}, signed=True)  # a gate in the tables: x ^ 2
MATH = Style(infix={"+": " + ", "-": " - ", "*": "·", "/": "/", "@": "@", "^": "^"},
             math_names=True, squares=True, signed=True, associative=True)  # a local gradient: 1/(2·q)
TRACE = replace(MATH, infix={**MATH.infix, "*": " × "})  # an adjoint or tangent: v̄₁ × (1 + v₁²)
TRACE_GATE = replace(GATE, infix={**GATE.infix, "*": " × "}, math_names=True)  # a gate in a trace: ln(v₋₁)


def leaf(label: str) -> Expr:
    """A node's label as a leaf: a name, or a number (``-4`` is a signed number)."""
    if label[:1] == "-" or label[:1].isdigit() or label[:1] == ".":
        return Num(math.nan, label, NOWHERE)
    return Name(label, NOWHERE)


def _signed(e: Expr) -> bool:
    return isinstance(e, Num) and e.text.startswith("-")


def _bp(e: Expr) -> int:
    """How tightly an expression holds together when printed bare."""
    if isinstance(e, Binary):
        return INFIX[e.op][0]
    if isinstance(e, Unary) or _signed(e):
        return PREFIX_BP
    return ATOM_BP


def _function_name(e: Call, style: Style) -> str:
    if not style.math_names:
        return e.func
    try:
        op = by_call(e.func, len(e.args))
    except KeyError:  # not one of ours (a template's placeholder call): as written
        return e.func
    return op.math_name or e.func


def to_string(root: Expr, style: Style = TEXT) -> str:
    """Print an expression with the fewest parentheses the style's chart allows."""
    done: list[str] = []  # the printed children of the nodes still to come, in order (a node may repeat)
    for node in postorder(root):
        count = len(children(node))
        kids = done[len(done) - count :]
        del done[len(done) - count :]
        if isinstance(node, Num):
            text = node.text
        elif isinstance(node, Name):
            text = node.id
        elif isinstance(node, Unary):
            inner = kids[0]
            if _bp(node.operand) < PREFIX_BP or (style.signed and _signed(node.operand)):
                inner = f"({inner})"
            text = node.op + inner
        elif isinstance(node, Binary):
            text = _binary(node, kids[0], kids[1], style)
        elif isinstance(node, Call):
            text = f"{_function_name(node, style)}({', '.join(kids)})"
        elif isinstance(node, Index):
            base = kids[0] if _bp(node.base) == ATOM_BP else f"({kids[0]})"
            text = f"{base}[{', '.join(kids[1:])}]"
        else:
            text = f"[{', '.join(kids)}]"
        done.append(text)
    return done[-1]


def _binary(node: Binary, left: str, right: str, style: Style) -> str:
    lbp, rbp = INFIX[node.op]
    lb, rb = _bp(node.left), _bp(node.right)
    # A negated base needs its parentheses: -x^2 is -(x^2), so (-x)^2 keeps them.
    if lb < lbp or (lb == lbp and rbp < lbp) or (isinstance(node.left, Unary) and lbp > PREFIX_BP) or (
        style.signed and _signed(node.left)
    ):
        left = f"({left})"
    keep = (rb < lbp and not isinstance(node.right, Unary)) or (rb == lbp and rbp > lbp)
    if keep and style.associative and rb == lbp and node.op in ("+", "*"):
        keep = False  # a + (b - c) is a + b - c; a·(b/c) is a·b/c
    if keep or (style.signed and (_signed(node.right) or (isinstance(node.right, Unary) and lbp > PREFIX_BP))):
        right = f"({right})"
    if style.squares and node.op == "^" and isinstance(node.right, Num) and node.right.text.isdigit():
        return left + node.right.text.translate(_SUPERSCRIPT)
    return f"{left}{style.infix[node.op]}{right}"


def to_text(root: Expr) -> str:
    """Print an expression in gradcalc's syntax with the fewest parentheses that parse back to the same tree."""
    return to_string(root, TEXT)


# ---------------------------------------------------------------------------
# Gates and their local gradients as trees


def gate_tree(op: Op, args: Sequence[Expr]) -> Expr:
    """The expression a gate computes, over its inputs' leaves."""
    if op.index is not None:
        return Index(args[0], tuple(Num(float(k), str(k), NOWHERE) for k in op.index), NOWHERE)
    if op.name == "stack":
        return ListLit(tuple(args), NOWHERE)
    if op.symbol and len(args) == 2:
        return Binary(op.symbol, args[0], args[1], NOWHERE, NOWHERE)
    if op.symbol and len(args) == 1:
        return Unary(op.symbol, args[0], NOWHERE)
    return Call(op.shown_name, tuple(args), NOWHERE, NOWHERE)


@functools.cache
def parse_template(text: str) -> Expr:
    from .parser import parse_expression  # our own parser, on our own op rows' text

    return parse_expression(text, "<op row>")


def substitute(template: Expr, names: dict[str, Expr]) -> Expr:
    """The template with each placeholder name replaced, rebuilt bottom-up without recursion."""
    return rebuild(template, lambda node, kids: names.get(node.id, node) if isinstance(node, Name)
                   else with_children(node, kids))


def local_tree(op: Op, args: Sequence[Expr], out: Expr, k: int, style: Style = MATH) -> Expr | None:
    """∂out/∂args[k] as a tree over the leaves given, from the op row; None if the row writes none.

    A notation (relu's ``[{a} > 0]``) becomes one leaf, its placeholders filled
    with the inputs printed in ``style``.
    """
    if not op.grad_text:
        return None
    text = op.grad_text[k] if k < len(op.grad_text) else op.grad_text[-1]
    if "{" in text:
        printed = [to_string(a, style) for a in args]
        fill = {"a": printed[0], "b": printed[1] if len(printed) > 1 else "", "x": printed[k],
                "out": to_string(out, style)}
        return Name(text.format(**fill), NOWHERE)
    names = {"a": args[0], "out": out}
    if len(args) > 1:
        names["b"] = args[1]
    return substitute(parse_template(text), names)


def local_text(op: Op, args: Sequence[Expr], out: Expr, k: int, style: Style = MATH) -> str | None:
    """∂out/∂args[k] as text in ``style``, or None."""
    tree = local_tree(op, args, out, k, style)
    return None if tree is None else to_string(tree, style)


def is_number(e: Expr | None, value: float) -> bool:
    """Whether ``e`` is the number ``value`` written plainly (1, or -1 as a sign and a 1)."""
    if isinstance(e, Num):
        try:
            return float(e.text) == value
        except ValueError:
            return False
    if isinstance(e, Unary) and e.op == "-":
        return is_number(e.operand, -value)
    return False


def times(factor: Expr, local: Expr | None) -> Expr:
    """``factor × local``, the short way when the local gradient is ±1; ``∂`` when there is no formula."""
    if local is None:
        return Binary("*", factor, Name("∂", NOWHERE), NOWHERE, NOWHERE)
    if is_number(local, 1.0):
        return factor
    if is_number(local, -1.0):
        return Unary("-", factor, NOWHERE)
    return Binary("*", factor, local, NOWHERE, NOWHERE)


__all__ = [
    "GATE",
    "MATH",
    "TEXT",
    "TRACE",
    "TRACE_GATE",
    "Style",
    "gate_tree",
    "is_number",
    "leaf",
    "local_text",
    "local_tree",
    "parse_template",
    "substitute",
    "times",
    "to_string",
    "to_text",
]
