"""Tokenizer and Pratt parser for formulas and programs.

User text is only ever read by this module: it is never given to ``eval``,
``exec``, ``compile``, ``ast`` or any SymPy parser.  The parser is a Pratt
(precedence-climbing) parser driven by the binding-power table below, run with
explicit stacks instead of recursion, so that 100,000 nested parentheses parse
as easily as one.  Every token and tree node carries its ``(start, end)`` span.

Grammar, informally::

    program    := statement ((NEWLINE | ';') statement)*
    statement  := NAME '=' expr | expr
    expr       := NUMBER | NAME | NAME '(' args ')' | '(' expr ')' | '[' args ']'
                | prefix expr | expr infix expr | expr '[' args ']'
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import NamedTuple

from .errors import GradcalcError, Source, Span

# ---------------------------------------------------------------------------
# The precedence chart: (left binding power, right binding power).
# Left-associative operators bind their right operand one notch tighter;
# '^' is right-associative and binds tighter than unary minus, so -x^2 is
# -(x^2) and 2^-1 is 2^(-1).
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

# Tokens in one formula at the most: a million-node formula has about 1.8
# million; past this, memory and time would grow beyond a one-shot tool's.
MAX_TOKENS = 2_500_000
# Calls f(x) and indexing v[i] bind tightest of all (postfix, 50).

# ---------------------------------------------------------------------------
# Tokens


class Token(NamedTuple):
    """A token and where it stands.  A tuple: the tokenizer makes millions of them."""

    kind: str  # 'num', 'name', 'op', 'nl', 'eof'
    text: str
    start: int
    end: int

    @property
    def span(self) -> Span:
        return (self.start, self.end)


# Characters outside ASCII that mean an ASCII operator, so text pasted from a
# textbook or a PDF works.  Spans keep pointing at the original characters.
UNICODE_OPERATORS = {
    "\u2212": "-",  # − minus sign
    "\u2013": "-",  # – en dash
    "\u00d7": "*",  # × multiplication sign
    "\u00b7": "*",  # · middle dot
    "\u22c5": "*",  # ⋅ dot operator
    "\u2217": "*",  # ∗ asterisk operator
    "\u00f7": "/",  # ÷ division sign
}
SUPERSCRIPTS = {
    "\u207b": "-",
    "\u2070": "0",
    "\u00b9": "1",
    "\u00b2": "2",
    "\u00b3": "3",
    "\u2074": "4",
    "\u2075": "5",
    "\u2076": "6",
    "\u2077": "7",
    "\u2078": "8",
    "\u2079": "9",
}
UNICODE_NAMES = {"\u03c0": "pi"}  # π

_TOKEN_RE = re.compile(
    r"""
     (?P<ws>[ \t\f\v]+|\r(?!\n))
    |(?P<comment>\#(?:[^\r\n]|\r(?!\n))*)
    |(?P<nl>\r?\n)
    |(?P<num>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>\*\*|[-+*/^(),=;\[\]@])
    |(?P<sup>[\u207b\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+)
    |(?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_EXPLAIN_BAD = {
    "'": "string literals are not part of formulas",
    '"': "string literals are not part of formulas",
    ".": "attribute access is not part of formulas; write numbers as 0.5",
    ":": "':' has no meaning in a formula",
    "{": "braces have no meaning in a formula; use ( ) for grouping",
    "}": "braces have no meaning in a formula; use ( ) for grouping",
    "!": "factorials and '!' are not supported",
    "%": "'%' is not supported; write x/100",
    "<": "comparisons are not supported; use max(a, b) or relu(x)",
    ">": "comparisons are not supported; use max(a, b) or relu(x)",
    "&": "logical operators are not supported",
    "|": "logical operators are not supported; write abs(x) for |x|",
    "\\": "backslashes have no meaning in a formula",
    "`": "backticks have no meaning in a formula",
    "$": "'$' has no meaning in a formula",
    "?": "'?' has no meaning in a formula",
    "~": "'~' has no meaning in a formula",
}


def tokenize(text: str) -> list[Token]:
    """Split text into tokens; unknown characters are errors with a caret."""
    tokens: list[Token] = []
    append = tokens.append
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        start, end = m.span()
        if kind == "ws" or kind == "comment":
            continue
        if kind == "op":
            op = m.group()
            append(Token("op", "^" if op == "**" else op, start, end))
        elif kind == "sup":
            append(Token("op", "^", start, start))
            digits = m.group()
            if digits[0] == "\u207b":
                append(Token("op", "-", start, start + 1))
                start += 1
                digits = digits[1:]
            if not digits or "\u207b" in digits:
                raise GradcalcError(
                    "a superscript exponent must be digits",
                    kind="syntax",
                    span=(start, end),
                    hint="write x^-2 for x⁻²",
                )
            append(Token("num", "".join(SUPERSCRIPTS[c] for c in digits), start, end))
        elif kind == "bad":
            ch = m.group()
            if ch == "\ufeff" or unicodedata.category(ch) == "Zs":
                continue  # a byte-order mark, a no-break or thin space: pasted text
            append(_unicode_token(ch, start, end))
        else:
            append(Token(kind or "bad", m.group(), start, end))
    if len(tokens) > MAX_TOKENS:
        raise GradcalcError(
            f"the formula has {len(tokens):,} tokens, more than the limit of {MAX_TOKENS:,}",
            kind="limit",
            hint="split the work, or generate a smaller formula",
        )
    append(Token("eof", "", len(text), len(text)))
    return tokens


def _unicode_token(ch: str, start: int, end: int) -> Token:
    if ch in UNICODE_OPERATORS:
        return Token("op", UNICODE_OPERATORS[ch], start, end)
    if ch in UNICODE_NAMES:
        return Token("name", UNICODE_NAMES[ch], start, end)
    if ch == "\x00":
        raise GradcalcError("NUL byte in the input", kind="syntax", span=(start, end), hint="remove the NUL byte")
    hint = _EXPLAIN_BAD.get(ch)
    if hint is None:
        if ord(ch) > 127:
            hint = _explain_unicode(ch)
        else:
            hint = "formulas use numbers, names, + - * / ^, parentheses and function calls"
    shown = ch if ch.isprintable() else f"U+{ord(ch):04X}"
    return _raise(f"unexpected character {shown!r}", (start, end), hint)


def _explain_unicode(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    uname = unicodedata.name(ch, "")
    what = f"{code} {uname}" if uname else code
    if unicodedata.category(ch)[0] == "C":
        return f"an invisible control or formatting character ({what}); delete it"
    if uname.startswith("GREEK") and ch.isalpha():
        return f"names are ASCII ({what}); write {uname.split()[-1].lower()} instead"
    if ch.isalpha():
        return f"names use ASCII letters, digits and '_' ({what})"
    if ch.isdigit():
        return f"numbers use the ASCII digits 0-9 ({what})"
    return f"only ASCII operators are understood ({what}); write it with + - * / ^"


def _raise(message: str, span: Span, hint: str | None = None) -> Token:
    raise GradcalcError(message, kind="syntax", span=span, hint=hint)


# ---------------------------------------------------------------------------
# The tree: small frozen dataclasses, each with its span.


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


@dataclass(frozen=True, slots=True)
class Assign:
    target: str
    target_span: Span
    expr: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class ExprStmt:
    expr: Expr
    span: Span


Statement = Assign | ExprStmt


@dataclass(frozen=True, slots=True)
class Program:
    statements: tuple[Statement, ...]
    source: Source


# ---------------------------------------------------------------------------
# The parser


@dataclass(slots=True)
class _Frame:
    """An open bracket on the operator stack: '(' group, call, index or list."""

    kind: str  # 'paren', 'call', 'index', 'list'
    token: Token
    base: int  # len(operands) when opened
    name: Token | None = None
    target: Expr | None = None  # the indexed value, for 'index'


@dataclass(slots=True)
class _Op:
    op: str
    lbp: int
    rbp: int
    token: Token
    prefix: bool


_CLOSERS = {"paren": ")", "call": ")", "index": "]", "list": "]"}


def _empty_call(name: Token, closer: Token) -> None:
    """``f()``: say how many arguments f takes (max and min take two or more)."""
    from .ops import FUNCTIONS, OPS, arity_text

    span = (name.start, closer.end)
    if name.text not in FUNCTIONS:
        raise GradcalcError(
            f"empty call {name.text}()",
            kind="syntax",
            span=span,
            hint="a call has its arguments inside the parentheses, such as exp(x)",
        )
    op = OPS[FUNCTIONS[name.text]]
    example = "a, b" if op.arity in (-1, 2) else "x"
    raise GradcalcError(
        f"{name.text}() takes {arity_text(op)}, given none",
        kind="syntax",
        span=span,
        hint=f"write {name.text}({example})",
    )


def _describe(tok: Token) -> str:
    if tok.kind == "eof":
        return "the end of the formula"
    if tok.kind == "nl":
        return "the end of the line"
    return repr(tok.text)


class _Parser:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.tokens = tokenize(source.text)
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    # -- statements -------------------------------------------------------
    def program(self) -> Program:
        statements: list[Statement] = []
        tokens = self.tokens
        while True:
            tok = tokens[self.pos]
            if tok.kind == "nl" or (tok.kind == "op" and tok.text == ";"):
                self.pos += 1
                continue
            if tok.kind == "eof":
                break
            nxt = tokens[self.pos + 1]
            if tok.kind == "name" and nxt.kind == "op" and nxt.text == "=":
                self.pos += 2
                expr = self.expression(after=nxt)
                statements.append(Assign(tok.text, tok.span, expr, (tok.start, expr.span[1])))
            else:
                expr = self.expression(after=None)
                statements.append(ExprStmt(expr, expr.span))
        if not statements:
            raise GradcalcError(
                "the formula is empty",
                kind="syntax",
                span=(0, len(self.source.text)),
                hint="give a formula such as '(x+y)*z' and values such as x=-2",
            )
        return Program(tuple(statements), self.source)

    # -- expressions ------------------------------------------------------
    def expression(self, after: Token | None) -> Expr:
        """Parse one expression, stopping at a newline, ';' or the end at depth 0."""
        tokens = self.tokens
        operands: list[Expr] = []
        stack: list[_Op | _Frame] = []
        expect_operand = True
        prev = after  # the previous token, for messages
        while True:
            tok = tokens[self.pos]
            kind = tok.kind
            text = tok.text
            if expect_operand:
                if kind == "num":
                    operands.append(Num(float(text), text, tok.span))
                    expect_operand = False
                elif kind == "name":
                    nxt = tokens[self.pos + 1]
                    if nxt.kind == "op" and nxt.text == "(":
                        stack.append(_Frame("call", nxt, len(operands), name=tok))
                        self.pos += 1
                        if tokens[self.pos + 1].kind == "op" and tokens[self.pos + 1].text == ")":
                            _empty_call(tok, tokens[self.pos + 1])
                    else:
                        operands.append(Name(text, tok.span))
                        expect_operand = False
                elif kind == "op" and text == "(":
                    stack.append(_Frame("paren", tok, len(operands)))
                elif kind == "op" and text == "[":
                    stack.append(_Frame("list", tok, len(operands)))
                elif kind == "op" and text in PREFIX:
                    stack.append(_Op(text, PREFIX_BP, PREFIX_BP, tok, True))
                elif kind == "nl" and any(isinstance(f, _Frame) for f in stack):
                    pass  # newlines inside brackets join lines
                else:
                    self._expected_value(tok, prev, stack)
            else:
                if kind == "op" and text in INFIX:
                    lbp, rbp = INFIX[text]
                    self._reduce(operands, stack, lbp)
                    stack.append(_Op(text, lbp, rbp, tok, False))
                    expect_operand = True
                elif kind == "op" and text in (",", ")", "]"):
                    self._reduce(operands, stack, 0)
                    frame = stack[-1] if stack else None
                    if not isinstance(frame, _Frame):
                        if text == ",":
                            raise GradcalcError(
                                "unexpected ','",
                                kind="syntax",
                                span=tok.span,
                                hint="commas separate the arguments of a call such as max(a, b)",
                            )
                        raise GradcalcError(
                            f"unmatched {text!r}",
                            kind="syntax",
                            span=tok.span,
                            hint=f"remove it, or add the opening {'(' if text == ')' else '['} it closes",
                        )
                    if text == ",":
                        if frame.kind == "paren":
                            raise GradcalcError(
                                "unexpected ',' inside parentheses",
                                kind="syntax",
                                span=tok.span,
                                hint="commas separate the arguments of a call such as max(a, b)",
                            )
                        expect_operand = True
                    else:
                        if _CLOSERS[frame.kind] != text:
                            raise GradcalcError(
                                f"{text!r} does not match {frame.token.text!r}",
                                kind="syntax",
                                span=tok.span,
                                hint=f"close {frame.token.text!r} with {_CLOSERS[frame.kind]!r}",
                            )
                        stack.pop()
                        self._close(frame, tok, operands)
                elif kind == "op" and text == "[":
                    stack.append(_Frame("index", tok, len(operands) - 1, target=operands.pop()))
                    expect_operand = True
                elif kind == "nl" and any(isinstance(f, _Frame) for f in stack):
                    pass
                elif kind in ("nl", "eof") or (kind == "op" and text == ";"):
                    self._reduce(operands, stack, 0)
                    if stack:
                        frame = stack[-1]
                        assert isinstance(frame, _Frame)
                        closer = _CLOSERS[frame.kind]
                        raise GradcalcError(
                            f"unclosed {frame.token.text!r}",
                            kind="syntax",
                            span=frame.token.span,
                            hint=f"add {closer!r} to close it",
                        )
                    return operands[-1]
                else:
                    self._expected_operator(tok, prev, operands[-1])
            prev = tok
            self.pos += 1

    def _reduce(self, operands: list[Expr], stack: list[_Op | _Frame], lbp: int) -> None:
        """Apply stacked operators that bind at least as tightly as ``lbp``."""
        while stack:
            top = stack[-1]
            if isinstance(top, _Frame) or top.rbp < lbp:
                return
            stack.pop()
            if top.prefix:
                operand = operands.pop()
                operands.append(Unary(top.op, operand, (top.token.start, operand.span[1])))
            else:
                right = operands.pop()
                left = operands.pop()
                operands.append(Binary(top.op, left, right, (left.span[0], right.span[1]), top.token.span))

    def _close(self, frame: _Frame, closer: Token, operands: list[Expr]) -> None:
        if frame.kind == "paren":
            # The group stays on the stack, its span widened to take in the parentheses,
            # so that spans built on it are balanced: (x+y)*z, never x+y)*z.
            operands[-1] = replace(operands[-1], span=(frame.token.start, closer.end))
            return
        args = tuple(operands[frame.base :])
        del operands[frame.base :]
        if frame.kind == "call":
            assert frame.name is not None
            operands.append(Call(frame.name.text, args, (frame.name.start, closer.end), frame.name.span))
        elif frame.kind == "index":
            assert frame.target is not None
            operands.append(Index(frame.target, args, (frame.target.span[0], closer.end)))
        else:
            operands.append(ListLit(args, (frame.token.start, closer.end)))

    def _expected_value(self, tok: Token, prev: Token | None, stack: list[_Op | _Frame]) -> None:
        if tok.kind == "op" and tok.text in (")", "]") and stack and isinstance(stack[-1], _Frame):
            frame = stack[-1]
            if frame.kind in ("paren", "list") and prev is frame.token:
                raise GradcalcError(
                    f"empty {frame.token.text}{tok.text}",
                    kind="syntax",
                    span=(frame.token.start, tok.end),
                    hint="put an expression inside",
                )
        where = f" after {prev.text!r}" if prev is not None and prev.kind != "nl" else ""
        hint = "a value is a number, a name, a call such as exp(x), or an expression in parentheses"
        if tok.kind == "op" and tok.text == "=":
            hint = "assignments look like 'name = expression', one per line or separated by ';'"
        raise GradcalcError(f"expected a value{where}, found {_describe(tok)}", kind="syntax", span=tok.span, hint=hint)

    def _expected_operator(self, tok: Token, prev: Token | None, last: Expr) -> None:
        for word, span in ((last.id, last.span) if isinstance(last, Name) else ("", last.span), (tok.text, tok.span)):
            if keyword.iskeyword(word):  # `import os`, `c for c in x`, `a if b else c`
                raise GradcalcError(
                    f"{word!r} is Python, not part of a formula",
                    kind="syntax",
                    span=span,
                    hint="formulas are arithmetic: numbers, names, + - * / ^ and calls such as exp(x); "
                    "there are no statements, imports, loops or conditions",
                )
        if tok.kind in ("num", "name") or (tok.kind == "op" and tok.text == "("):
            if isinstance(last, Name) and tok.text == "(":
                raise GradcalcError(
                    f"{last.id!r} is not a function",
                    kind="syntax",
                    span=(last.span[0], tok.end),
                    hint=f"to multiply, write {last.id}*(...)",
                )
            left = self.source.text[last.span[0] : last.span[1]]
            if len(left) > 20:
                left = "…"
            raise GradcalcError(
                f"missing operator before {tok.text!r}",
                kind="syntax",
                span=tok.span,
                hint=f"there is no implicit multiplication: write {left}*{tok.text}",
            )
        if tok.kind == "op" and tok.text == "=":
            raise GradcalcError(
                "unexpected '='",
                kind="syntax",
                span=tok.span,
                hint="an assignment is 'name = expression' at the start of a statement",
            )
        raise GradcalcError(f"unexpected {_describe(tok)}", kind="syntax", span=tok.span)


def parse_program(text: str, name: str = "<formula>") -> Program:
    """Parse a formula or a program of statements into a tree."""
    source = Source(text, name)
    try:
        return _Parser(source).program()
    except GradcalcError as err:
        raise err.with_source(source) from None


def parse_expression(text: str, name: str = "<formula>") -> Expr:
    """Parse text that must be a single expression."""
    program = parse_program(text, name)
    if len(program.statements) != 1 or not isinstance(program.statements[0], ExprStmt):
        stmt = program.statements[-1]
        raise GradcalcError(
            "expected a single expression", kind="syntax", span=stmt.span, source=program.source
        )
    return program.statements[0].expr


# ---------------------------------------------------------------------------
# Printing, from the same precedence table


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


def _bp(expr: Expr) -> int:
    """How tightly an expression holds together when printed bare."""
    if isinstance(expr, Binary):
        return INFIX[expr.op][0]
    if isinstance(expr, Unary):
        return PREFIX_BP
    if isinstance(expr, Num) and expr.text.startswith("-"):
        return PREFIX_BP
    return 100


def to_text(root: Expr) -> str:
    """Print an expression with the fewest parentheses that parse back to the same tree."""
    done: dict[int, str] = {}
    for node in postorder(root):
        kids = [done.pop(id(c)) for c in children(node)]
        if isinstance(node, Num):
            text = node.text
        elif isinstance(node, Name):
            text = node.id
        elif isinstance(node, Unary):
            inner = kids[0]
            if _bp(node.operand) < PREFIX_BP or (
                isinstance(node.operand, Binary) and INFIX[node.operand.op][0] <= PREFIX_BP
            ):
                inner = f"({inner})"
            text = node.op + inner
        elif isinstance(node, Binary):
            lbp, rbp = INFIX[node.op]
            left, right = kids
            # A negated base needs its parentheses: -x^2 is -(x^2), so (-x)^2 keeps them.
            if _bp(node.left) < lbp or (_bp(node.left) == lbp and rbp < lbp) or (
                isinstance(node.left, Unary) and lbp > PREFIX_BP
            ):
                left = f"({left})"
            rb = _bp(node.right)
            if (rb < lbp and not isinstance(node.right, Unary)) or (rb == lbp and rbp > lbp):
                right = f"({right})"
            text = f"{left} {node.op} {right}" if node.op != "^" else f"{left}^{right}"
        elif isinstance(node, Call):
            text = f"{node.func}({', '.join(kids)})"
        elif isinstance(node, Index):
            base = kids[0] if _bp(node.base) == 100 else f"({kids[0]})"
            text = f"{base}[{', '.join(kids[1:])}]"
        else:
            text = f"[{', '.join(kids)}]"
        done[id(node)] = text
    return done[id(root)]


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
