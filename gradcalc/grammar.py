"""The grammar's one precedence chart, and the instruction kinds of the parser's postfix code.

A leaf module: the parser reads formulas with this chart, and every printer
(:mod:`gradcalc.printer`) parenthesizes with it, so text printed from a graph
parses back to the same graph.
"""

from __future__ import annotations

import re
from typing import Any

# (left binding power, right binding power).  Left-associative operators bind
# their right operand one notch tighter; '^' is right-associative and binds
# tighter than unary minus, so -x^2 is -(x^2) and 2^-1 is 2^(-1).
INFIX: dict[str, tuple[int, int]] = {
    "+": (10, 11),
    "-": (10, 11),
    "*": (20, 21),
    "/": (20, 21),
    "@": (20, 21),
    "^": (40, 39),
}
PREFIX: dict[str, int] = {"-": 30, "+": 30}
PREFIX_BP = 30
# Calls f(x) and indexing v[i] bind tightest of all (postfix).
POSTFIX_BP = 50
ATOM_BP = 100  # a number, a name, a call: never parenthesized

# Postfix code: one instruction per tree node, children before parents, as a tuple
# (op, arg, count, start, end, at_start, at_end):
#   op      'num' 'name' 'neg' 'pos' '+' '-' '*' '/' '^' '@' 'call' 'index' 'list'
#   arg     a number's text, a name, a called function's name; else None
#   count   how many operands a call, index or list takes from the stack
#   start, end        the node's span (a group's parentheses included)
#   at_start, at_end  its operator token, a call's function name, or the node itself
Instr = tuple[str, Any, int, int, int, int, int]
UNARY_CODE = {"-": "neg", "+": "pos"}

# A number as a value (x=-2.5e3): digits with an optional sign, point and exponent.
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
