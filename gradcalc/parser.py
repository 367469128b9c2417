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
from dataclasses import dataclass, field
from itertools import accumulate, compress
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import GradcalcError, Source, Span
from .i18n import msg

if TYPE_CHECKING:
    from .tree import Expr

from .grammar import INFIX, PREFIX, PREFIX_BP, UNARY_CODE, Instr

# Tokens in one formula at the most: a million-node formula has about 1.8
# million; past this, memory and time would grow beyond a one-shot tool's.
MAX_TOKENS = 2_500_000

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

# The full tokenizer's pattern, compiled on first use (re caches it): most text never needs it.
_TOKEN_PATTERN = r"""
     (?P<ws>[ \t\f\v]+|\r(?!\n))
    |(?P<comment>\#(?:[^\r\n]|\r(?!\n))*)
    |(?P<nl>\r?\n)
    |(?P<num>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<name>(?![\u207b\u2070\u00b9\u00b2\u00b3\u2074-\u2079])[^\W\d](?:(?![\u207b\u2070\u00b9\u00b2\u00b3\u2074-\u2079])\w)*)
    |(?P<op>\*\*|[-+*/^(),=;\[\]@])
    |(?P<sup>[\u207b\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+)
    |(?P<bad>.)
    """

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


# The common case, scanned without a Python loop: pieces that cover the text
# (so that their lengths add up to each one's start), told apart by their first
# character.  Anything rarer (a carriage return, '.5', Unicode, superscripts, a
# stray character) sends the whole text through the full tokenizer below.
_PIECE_RE = re.compile(
    r" +|[A-Za-z_][A-Za-z0-9_]*|[-+/^(),=;\[\]@]|\*\*?|[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?"
    r"|[\t\f\v]+|\n|\#[^\n]*|.",
    re.DOTALL,
)
_FIRST_KIND: dict[str, str] = {  # a piece's kind by its first character; "" (false): not a token
    **dict.fromkeys("0123456789", "num"),
    **dict.fromkeys("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_", "name"),
    **dict.fromkeys("-+*/^(),=;[]@", "op"),
    **dict.fromkeys(" \t\f\v#", ""),  # blanks and comments
    "\n": "nl",
}
_first = itemgetter(0)


def _scan(text: str) -> tuple[list[str], list[str], list[int], list[int]]:
    """The tokens as four parallel lists: kinds, texts, starts, ends (no end-of-text token)."""
    if "#" in text:
        _check_comments(text)
    if "\r" not in text:
        pieces = _PIECE_RE.findall(text)
        try:
            kinds = list(map(_FIRST_KIND.__getitem__, map(_first, pieces)))
        except KeyError:  # a rarer piece: the full tokenizer below
            pass
        else:
            texts = list(compress(pieces, kinds))
            _check_count(len(texts))  # before the positions, the largest lists
            starts = list(accumulate(map(len, pieces), initial=0))
            if "**" in text:
                texts = ["^" if t == "**" else t for t in texts]
            return list(compress(kinds, kinds)), texts, list(compress(starts, kinds)), list(compress(starts[1:], kinds))
    tokens = _tokenize_slow(text)
    return [t.kind for t in tokens], [t.text for t in tokens], [t.start for t in tokens], [t.end for t in tokens]


# A comment runs from '#' to the end of its line ('#' means nothing else).  The
# tokenizers skip it whole; what it may hold is checked here, once, for both.
_COMMENT_RE = re.compile(r"\#[^\n]*")


def _check_comments(text: str) -> None:
    """Refuse control and invisible characters in comments, as everywhere else in a formula.

    A comment is printed back in Markdown, LaTeX and the pictures' titles, so an
    escape sequence, a NUL or a right-to-left override must not hide in one.
    Tabs, Unicode spaces and the carriage return of a CRLF line end are fine.
    """
    for m in _COMMENT_RE.finditer(text):
        comment = m.group()
        if comment.isprintable():
            continue
        for k, ch in enumerate(comment):
            if ch == "\t" or ch.isprintable() or unicodedata.category(ch) == "Zs":
                continue
            if ch == "\r" and k == len(comment) - 1:
                continue
            start = m.start() + k
            if ch == "\x00":
                raise GradcalcError("NUL byte in the input", kind="syntax", span=(start, start + 1),
                                    hint="remove the NUL byte")
            _raise(f"unexpected character 'U+{ord(ch):04X}' in a comment", (start, start + 1), _explain_unicode(ch))


def _check_count(count: int) -> None:
    if count > MAX_TOKENS:
        raise GradcalcError(
            f"the formula has {count:,} tokens, more than the limit of {MAX_TOKENS:,}",
            kind="limit",
            hint="split the work, or generate a smaller formula",
        )


def tokenize(text: str) -> list[Token]:
    """Split text into tokens, ending with an end-of-text token; unknown characters are errors with a caret."""
    tokens = list(map(Token, *_scan(text)))
    tokens.append(Token("eof", "", len(text), len(text)))
    return tokens


def _tokenize_slow(text: str) -> list[Token]:
    """Every case: carriage returns, Unicode operators, superscripts, and errors."""
    tokens: list[Token] = []
    append = tokens.append
    for m in re.finditer(_TOKEN_PATTERN, text, re.VERBOSE | re.DOTALL):
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
        elif kind == "name":
            append(Token("name", identifier(m.group(), start), start, end))
        else:
            append(Token(kind or "bad", m.group(), start, end))
    _check_count(len(tokens))
    return tokens


# Scripts whose letters pass for one another: a name that mixes two of them is refused.
_LOOKALIKE_SCRIPTS = {"LATIN", "CYRILLIC"}


def identifier(text: str, start: int = 0) -> str:
    """A name as Python reads identifiers (PEP 3131): NFKC-normalized, any script but not Latin and Cyrillic mixed.

    ``사과가격``, ``θ``, ``α_1`` are names; a Cyrillic ``а`` inside ``x_а`` is a
    look-alike and an error with a caret, as are invisible characters (not
    letters, so never part of a name).
    """
    if text.isascii():
        return text
    name = unicodedata.normalize("NFKC", text)
    if name in UNICODE_NAMES:
        return UNICODE_NAMES[name]
    scripts = {unicodedata.name(ch, "?").split()[0] for ch in name if ch.isalpha()}
    if len(scripts & _LOOKALIKE_SCRIPTS) > 1:
        k = next(k for k, ch in enumerate(text) if unicodedata.name(ch, "?").startswith("CYRILLIC"))
        ch = text[k]
        raise GradcalcError(
            f"the name {text!r} mixes Latin and Cyrillic letters",
            kind="syntax",
            span=(start + k, start + k + 1),
            hint=f"U+{ord(ch):04X} {unicodedata.name(ch, '')} looks like a Latin letter; type the name again",
        )
    if not name.isidentifier():
        _raise(f"{text!r} is not a name", (start, start + len(text)), "names are letters, digits and '_'")
    return name


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
    return _raise(msg("unexpected character {char}", char=repr(shown)), (start, end), hint)


def _explain_unicode(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    uname = unicodedata.name(ch, "")
    what = f"{code} {uname}" if uname else code
    if unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp"):
        return f"an invisible control or formatting character ({what}); delete it"
    if ch.isalpha():
        return f"a name starts with a letter or '_' ({what})"
    if ch.isdigit():
        return f"numbers use the ASCII digits 0-9 ({what})"
    return f"only ASCII operators are understood ({what}); write it with + - * / ^"


def _raise(message: str, span: Span, hint: str | None = None) -> Token:
    raise GradcalcError(message, kind="syntax", span=span, hint=hint)


# ---------------------------------------------------------------------------
# Postfix code (its instructions: gradcalc.grammar) is what the parser emits and
# the tape builder reads.  A flat list of tuples costs a fraction of a tree of
# objects; the tree (``Statement.expr``, gradcalc.tree) is made from it on
# demand, for printing and tests.


@dataclass(frozen=True, slots=True)
class Assign:
    """``target = expression``; the expression is ``code[lo:hi]``."""

    target: str
    target_span: Span
    span: Span
    code: list[Instr] = field(repr=False, compare=False)
    lo: int
    hi: int

    @property
    def expr(self) -> Expr:
        from .tree import to_tree

        return to_tree(self.code, self.lo, self.hi)


@dataclass(frozen=True, slots=True)
class ExprStmt:
    """A bare expression (the program's last statement): ``code[lo:hi]``."""

    span: Span
    code: list[Instr] = field(repr=False, compare=False)
    lo: int
    hi: int

    @property
    def expr(self) -> Expr:
        from .tree import to_tree

        return to_tree(self.code, self.lo, self.hi)


Statement = Assign | ExprStmt


@dataclass(frozen=True, slots=True)
class Program:
    statements: tuple[Statement, ...]
    source: Source
    code: list[Instr] = field(default_factory=list, repr=False, compare=False)


# ---------------------------------------------------------------------------
# The parser
#
# The operator stack holds tuples: (rbp, _INFIX, op, token) for operators,
# (rbp, _PREFIX, op, token) for prefix signs, and
# (-1, _FRAME, kind, token, base, name_token) for an open bracket — a group
# '(', a call, an index or a list; base is the operand count when it opened.
# A frame's binding power of -1 stops every reduction at it.

_INFIX, _PREFIX, _FRAME = 0, 1, 2
_CLOSERS = {"paren": ")", "call": ")", "index": "]", "list": "]"}


def _empty_call(name: Token, closer: Token) -> None:
    """``f()``: say how many arguments f takes (max and min take two or more)."""
    from .ops import CALLS, calls_text

    span = (name.start, closer.end)
    if name.text not in CALLS:
        raise GradcalcError(
            f"empty call {name.text}()",
            kind="syntax",
            span=span,
            hint="a call has its arguments inside the parentheses, such as exp(x)",
        )
    op = CALLS[name.text][0]
    example = "a, b" if op.arity in (-1, 2) else "x"
    raise GradcalcError(
        f"{name.text}() takes {calls_text(name.text)}, given none",
        kind="syntax",
        span=span,
        hint=f"write {name.text}({example})",
    )


def _describe(tok: Token) -> str:
    if tok.kind == "eof":
        return msg("the end of the formula")
    if tok.kind == "nl":
        return msg("the end of the line")
    return repr(tok.text)


class _Parser:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.kinds, self.texts, self.starts, self.ends = _scan(source.text)
        n = len(source.text)
        self.kinds.append("eof")
        self.texts.append("")
        self.starts.append(n)
        self.ends.append(n)
        self.pos = 0
        self.code: list[Instr] = []

    def token(self, i: int) -> Token:
        return Token(self.kinds[i], self.texts[i], self.starts[i], self.ends[i])

    # -- statements -------------------------------------------------------
    def program(self) -> Program:
        statements: list[Statement] = []
        kinds, texts, starts, ends = self.kinds, self.texts, self.starts, self.ends
        code = self.code
        while True:
            pos = self.pos
            kind = kinds[pos]
            if kind == "nl" or texts[pos] == ";":
                self.pos += 1
                continue
            if kind == "eof":
                break
            lo = len(code)
            if kind == "name" and texts[pos + 1] == "=":
                self.pos += 2
                self.expression(after=pos + 1)
                end = code[-1][4]
                statements.append(Assign(texts[pos], (starts[pos], ends[pos]), (starts[pos], end), code, lo, len(code)))
            else:
                self.expression(after=None)
                statements.append(ExprStmt((code[-1][3], code[-1][4]), code, lo, len(code)))
        if not statements:
            raise GradcalcError(
                "the formula is empty",
                kind="syntax",
                span=(0, len(self.source.text)),
                hint="give a formula such as '(x+y)*z' and values such as x=-2",
            )
        return Program(tuple(statements), self.source, code)

    # -- expressions ------------------------------------------------------
    def expression(self, after: int | None) -> None:
        """Emit one expression's code, stopping at a newline, ';' or the end outside brackets.

        The hot loop of the whole tool on big formulas: locals only, operators
        reduced in place (see ``_reduce`` for the same step, commented).
        """
        kinds, texts, starts, ends = self.kinds, self.texts, self.starts, self.ends
        code = self.code
        emit = code.append
        operands: list[int] = []  # the code index of each finished operand
        stack: list[tuple[Any, ...]] = []
        depth = 0  # open brackets: inside them newlines join lines
        expect_operand = True
        pos = self.pos
        first = pos  # the token before it is `after`; the one before any later token is pos - 1
        while True:
            kind = kinds[pos]
            text = texts[pos]
            if expect_operand:
                if kind == "num" or (kind == "name" and texts[pos + 1] != "("):
                    start = starts[pos]
                    end = ends[pos]
                    operands.append(len(code))
                    emit((kind, text, 0, start, end, start, end))
                    expect_operand = False
                elif kind == "name":  # a call: f(
                    stack.append((-1, _FRAME, "call", pos + 1, len(operands), pos))
                    depth += 1
                    pos += 1
                    if texts[pos + 1] == ")":
                        _empty_call(self.token(pos - 1), self.token(pos + 1))
                elif text == "(":
                    stack.append((-1, _FRAME, "paren", pos, len(operands), None))
                    depth += 1
                elif text == "[":
                    stack.append((-1, _FRAME, "list", pos, len(operands), None))
                    depth += 1
                elif text in PREFIX and kind == "op":
                    stack.append((PREFIX_BP, _PREFIX, text, pos))
                elif kind == "nl" and depth:
                    pass  # newlines inside brackets join lines
                else:
                    self._expected_value(pos, after if pos == first else pos - 1, stack)
            elif text in INFIX:  # only operator tokens have these texts
                lbp, rbp = INFIX[text]
                while stack and stack[-1][0] >= lbp:
                    top = stack.pop()
                    if top[1] == _INFIX:  # _reduce, inlined for the commonest case
                        right = operands.pop()
                        left = operands[-1]
                        operands[-1] = len(code)
                        at = top[3]
                        emit((top[2], None, 0, code[left][3], code[right][4], starts[at], ends[at]))
                    else:
                        self._reduce(top, operands)
                stack.append((rbp, _INFIX, text, pos))
                expect_operand = True
            elif text == "," or text == ")" or text == "]":
                while stack and stack[-1][0] >= 0:
                    self._reduce(stack.pop(), operands)
                frame = stack[-1] if stack else None
                if frame is None:
                    if text == ",":
                        decimal = kinds[pos - 1] == "num" and kinds[pos + 1] == "num" and ends[pos - 1] == starts[pos]
                        raise GradcalcError(
                            "unexpected ','",
                            kind="syntax",
                            span=(starts[pos], ends[pos]),
                            hint=f"use a decimal point: {texts[pos - 1]}.{texts[pos + 1]}" if decimal
                            else "commas separate the arguments of a call such as max(a, b)",
                        )
                    raise GradcalcError(
                        f"unmatched {text!r}",
                        kind="syntax",
                        span=(starts[pos], ends[pos]),
                        hint=f"remove it, or add the opening {'(' if text == ')' else '['} it closes",
                    )
                if text == ",":
                    if frame[2] == "paren":
                        raise GradcalcError(
                            "unexpected ',' inside parentheses",
                            kind="syntax",
                            span=(starts[pos], ends[pos]),
                            hint="commas separate the arguments of a call such as max(a, b)",
                        )
                    expect_operand = True
                else:
                    if _CLOSERS[frame[2]] != text:
                        opener = texts[frame[3]]
                        raise GradcalcError(
                            f"{text!r} does not match {opener!r}",
                            kind="syntax",
                            span=(starts[pos], ends[pos]),
                            hint=f"close {opener!r} with {_CLOSERS[frame[2]]!r}",
                        )
                    stack.pop()
                    depth -= 1
                    self._close(frame, pos, operands)
            elif text == "[":  # indexing: the indexed value stays below its indices
                stack.append((-1, _FRAME, "index", pos, len(operands), None))
                depth += 1
                expect_operand = True
            elif kind == "nl" and depth:
                pass
            elif kind == "nl" or kind == "eof" or text == ";":
                while stack and stack[-1][0] >= 0:
                    self._reduce(stack.pop(), operands)
                if stack:
                    frame = stack[-1]
                    opener = self.token(frame[3])
                    raise GradcalcError(
                        f"unclosed {opener.text!r}",
                        kind="syntax",
                        span=opener.span,
                        hint=f"add {_CLOSERS[frame[2]]!r} to close it",
                    )
                self.pos = pos
                return
            else:
                self._expected_operator(pos, after if pos == first else pos - 1, operands[-1])
            pos += 1

    def _reduce(self, top: tuple[Any, ...], operands: list[int]) -> None:
        """Emit one stacked operator, applied to the operand(s) on top."""
        code = self.code
        _, what, op, tok = top
        if what == _PREFIX:  # its span runs from the sign to the operand's end
            operand = operands[-1]
            at = self.starts[tok]
            code.append((UNARY_CODE[op], None, 0, at, code[operand][4], at, self.ends[tok]))
        else:  # from the left operand's start to the right one's end
            right = operands.pop()
            left = operands[-1]
            code.append((op, None, 0, code[left][3], code[right][4], self.starts[tok], self.ends[tok]))
        operands[-1] = len(code) - 1

    def _close(self, frame: tuple[Any, ...], closer: int, operands: list[int]) -> None:
        code = self.code
        _, _, kind, opener, base, name = frame
        end = self.ends[closer]
        if kind == "paren":
            # The group's span widens to take in the parentheses, so that spans
            # built on it are balanced: (x+y)*z, never x+y)*z.
            top = operands[-1]
            op, arg, count, _, _, at_start, at_end = code[top]
            code[top] = (op, arg, count, self.starts[opener], end, at_start, at_end)
            return
        count = len(operands) - base
        del operands[base:]
        if kind == "call":
            start, name_end = self.starts[name], self.ends[name]
            operands.append(len(code))
            code.append(("call", self.texts[name], count, start, end, start, name_end))
        elif kind == "index":
            target = operands[-1]
            operands[-1] = len(code)
            code.append(("index", None, count, code[target][3], end, self.starts[opener], self.ends[opener]))
        else:
            start = self.starts[opener]
            operands.append(len(code))
            code.append(("list", None, count, start, end, start, self.ends[opener]))

    def _expected_value(self, pos: int, prev: int | None, stack: list[tuple[Any, ...]]) -> None:
        tok = self.token(pos)
        if tok.kind == "op" and tok.text in (")", "]") and stack and stack[-1][1] == _FRAME:
            frame = stack[-1]
            if frame[2] in ("paren", "list") and prev == frame[3]:
                opener = self.token(frame[3])
                raise GradcalcError(
                    msg("empty {brackets}", brackets=opener.text + tok.text),
                    kind="syntax",
                    span=(opener.start, tok.end),
                    hint=msg("put an expression inside"),
                )
        hint = msg("a value is a number, a name, a call such as exp(x), or an expression in parentheses")
        if tok.kind == "op" and tok.text == "=":
            hint = msg("assignments look like 'name = expression', one per line or separated by ';'")
        found = _describe(tok)
        if prev is not None and self.kinds[prev] != "nl":
            message = msg("expected a value after {prev}, found {found}", prev=repr(self.texts[prev]), found=found)
        else:
            message = msg("expected a value, found {found}", found=found)
        raise GradcalcError(message, kind="syntax", span=tok.span, hint=hint)

    def _expected_operator(self, pos: int, prev: int | None, last_index: int) -> None:
        tok = self.token(pos)
        op, arg, _, start, end, _, _ = self.code[last_index]
        last_span = (start, end)
        last_name = arg if op == "name" else None
        for word, span in ((last_name or "", last_span), (tok.text, tok.span)):
            if keyword.iskeyword(word):  # `import os`, `c for c in x`, `a if b else c`
                raise GradcalcError(
                    msg("{word} is Python, not part of a formula", word=repr(word)),
                    kind="syntax",
                    span=span,
                    hint=msg("formulas are arithmetic: numbers, names, + - * / ^ and calls such as exp(x); "
                             "there are no statements, imports, loops or conditions"),
                )
        if tok.kind in ("num", "name") or (tok.kind == "op" and tok.text == "("):
            if last_name is not None and tok.text == "(":
                raise GradcalcError(
                    msg("{name} is not a function", name=repr(last_name)),
                    kind="syntax",
                    span=(start, tok.end),
                    hint=msg("to multiply, write {name}*(...)", name=last_name),
                )
            from .ops import FUNCTIONS

            if last_name in FUNCTIONS and tok.text != "(":  # sin x
                raise GradcalcError(
                    msg("{name} needs parentheses around its argument", name=last_name),
                    kind="syntax",
                    span=(start, tok.end),
                    hint=msg("write {call}", call=f"{last_name}({tok.text})"),
                )
            left = self.source.text[start:end]
            if len(left) > 20:
                left = "…"
            raise GradcalcError(
                msg("missing operator before {token}", token=repr(tok.text)),
                kind="syntax",
                span=tok.span,
                hint=msg("there is no implicit multiplication: write {product}", product=f"{left}*{tok.text}"),
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


# The tree lives in gradcalc.tree (its printer is gradcalc.printer), loaded when first asked for.
_TREE_NAMES = frozenset(
    ("Num", "Name", "Unary", "Binary", "Call", "Index", "ListLit", "Expr", "to_tree", "children", "postorder",
     "to_sexpr")
)


def __getattr__(name: str) -> Any:
    if name in _TREE_NAMES:
        from . import tree

        return getattr(tree, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
