"""The parser, golden: one formula and its tree per line, and each error with its caret."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradcalc.api import gradient
from gradcalc.errors import GradcalcError
from gradcalc.parser import Assign, ExprStmt, parse_expression, parse_program, to_sexpr, tokenize
from gradcalc.printer import to_text

# formula -> its tree as an s-expression
TREES = """
1+2*3                   -> (+ 1 (* 2 3))
1*2+3                   -> (+ (* 1 2) 3)
(1+2)*3                 -> (* (+ 1 2) 3)
a-b-c                   -> (- (- a b) c)
a-(b-c)                 -> (- a (- b c))
a/b/c                   -> (/ (/ a b) c)
a/b*c                   -> (* (/ a b) c)
2^3^2                   -> (^ 2 (^ 3 2))
2**3**2                 -> (^ 2 (^ 3 2))
2^3**2                  -> (^ 2 (^ 3 2))
(2^3)^2                 -> (^ (^ 2 3) 2)
-x^2                    -> (- (^ x 2))
-x**2                   -> (- (^ x 2))
(-x)^2                  -> (^ (- x) 2)
2^-1                    -> (^ 2 (- 1))
x**-2                   -> (^ x (- 2))
2^-x^2                  -> (^ 2 (- (^ x 2)))
a^b*c                   -> (* (^ a b) c)
a*b^c                   -> (* a (^ b c))
-a*b                    -> (* (- a) b)
-(a*b)                  -> (- (* a b))
x*-y                    -> (* x (- y))
a - -b                  -> (- a (- b))
--x                     -> (- (- x))
+x                      -> (+ x)
3                       -> 3
2.5                     -> 2.5
.5                      -> .5
1e-3                    -> 1e-3
2.5E+10                 -> 2.5E+10
x_1 + _y                -> (+ x_1 _y)
exp(x)                  -> (exp x)
log(x) + ln(y)          -> (+ (log x) (ln y))
sqrt(x)*sin(x)          -> (* (sqrt x) (sin x))
cos(tan(tanh(x)))       -> (cos (tan (tanh x)))
sigmoid(w*x+b)          -> (sigmoid (+ (* w x) b))
relu(x) + abs(y)        -> (+ (relu x) (abs y))
max(a, b)               -> (max a b)
max(a, b, c)            -> (max a b c)
min(a, b, c)            -> (min a b c)
max(-a, b^2, (c))       -> (max (- a) (^ b 2) c)
pow(a, b)               -> (pow a b)
exp(-x)^2               -> (^ (exp (- x)) 2)
2*pi*e                  -> (* (* 2 pi) e)
((((x))))               -> x
1/(1+exp(-(w0*x0+w1*x1+w2))) -> (/ 1 (+ 1 (exp (- (+ (+ (* w0 x0) (* w1 x1)) w2)))))
"""

TREE_CASES = [tuple(part.strip() for part in line.split("->")) for line in TREES.strip().splitlines()]


@pytest.mark.parametrize(("formula", "tree"), TREE_CASES, ids=[f for f, _ in TREE_CASES])
def test_tree(formula: str, tree: str) -> None:
    assert to_sexpr(parse_expression(formula)) == tree


def test_double_star_is_one_token() -> None:
    tokens = tokenize("x**2")
    assert [(t.kind, t.text, t.start, t.end) for t in tokens] == [
        ("name", "x", 0, 1),
        ("op", "^", 1, 3),
        ("num", "2", 3, 4),
        ("eof", "", 4, 4),
    ]


# ---------------------------------------------------------------------------
# Programs: statements separated by ';' or newlines, '#' comments


def statements(text: str) -> list[str]:
    out = []
    for stmt in parse_program(text).statements:
        if isinstance(stmt, Assign):
            out.append(f"{stmt.target} = {to_sexpr(stmt.expr)}")
        else:
            assert isinstance(stmt, ExprStmt)
            out.append(to_sexpr(stmt.expr))
    return out


def test_program_with_semicolons() -> None:
    assert statements("a = 1; b = a + a; c = b + b") == ["a = 1", "b = (+ a a)", "c = (+ b b)"]


def test_program_with_newlines_and_comments() -> None:
    text = "# the neuron\nw = 2   # a weight\n\nx = -1\n\nw*x  # the output\n"
    assert statements(text) == ["w = 2", "x = (- 1)", "(* w x)"]


def test_newlines_inside_brackets_join_lines() -> None:
    assert statements("y = max(a,\n  b)\ny*(1 +\n 2)") == ["y = (max a b)", "(* y (+ 1 2))"]


def test_statement_spans_point_into_the_text() -> None:
    program = parse_program("a = 1\nb = a*a")
    second = program.statements[1]
    assert isinstance(second, Assign)
    assert second.target_span == (6, 7)
    assert program.source.text[second.expr.span[0] : second.expr.span[1]] == "a*a"


# ---------------------------------------------------------------------------
# Errors: the message, the caret under the exact column, and the hint


def render(text: str) -> str:
    with pytest.raises(GradcalcError) as info:
        parse_program(text)
    assert info.value.kind == "syntax"
    return info.value.render()


def test_caret_under_the_unexpected_operator() -> None:
    assert render("(x+*y)") == (
        "error: expected a value after '+', found '*'\n"
        " --> <formula>:1:4\n"
        "  |\n"
        "1 | (x+*y)\n"
        "  |    ^\n"
        "hint: a value is a number, a name, a call such as exp(x), or an expression in parentheses"
    )


def test_no_implicit_multiplication() -> None:
    assert render("2x") == (
        "error: missing operator before 'x'\n"
        " --> <formula>:1:2\n"
        "  |\n"
        "1 | 2x\n"
        "  |  ^\n"
        "hint: there is no implicit multiplication: write 2*x"
    )


def test_a_function_without_parentheses_is_asked_for_them() -> None:
    # Not "write sin*x": sin is a function, and the fix is a call.
    assert render("2*sin x") == (
        "error: sin needs parentheses around its argument\n"
        " --> <formula>:1:3\n"
        "  |\n"
        "1 | 2*sin x\n"
        "  |   ^^^^^\n"
        "hint: write sin(x)"
    )


def test_unclosed_parenthesis_points_at_the_opening() -> None:
    assert render("(x+y") == (
        "error: unclosed '('\n --> <formula>:1:1\n  |\n1 | (x+y\n  | ^\nhint: add ')' to close it"
    )


def test_unmatched_closing_parenthesis() -> None:
    assert render("x+y)") == (
        "error: unmatched ')'\n"
        " --> <formula>:1:4\n"
        "  |\n"
        "1 | x+y)\n"
        "  |    ^\n"
        "hint: remove it, or add the opening ( it closes"
    )


@pytest.mark.parametrize("text", ["", "   ", "# only a comment", "\n;\n"])
def test_empty_formula(text: str) -> None:
    assert render(text).startswith("error: the formula is empty\n")


# text -> the message, and the caret line as it is drawn under the text
CARETS = """
x+            | expected a value after '+', found the end of the formula | "  ^"
x y           | missing operator before 'y'                              | "  ^"
x,y           | unexpected ','                                           | " ^"
(x,y)         | unexpected ',' inside parentheses                        | "  ^"
3 $ 4         | unexpected character '$'                                 | "  ^"
x = = 1       | expected a value after '=', found '='                    | "    ^"
max(a, b]     | ']' does not match '('                                   | "        ^"
()            | empty ()                                                 | "^^"
sigmoid(x)(y) | missing operator before '('                              | "          ^"
"""


@pytest.mark.parametrize(
    ("text", "message", "caret"),
    [tuple(p.strip() for p in line.split("|")) for line in CARETS.strip().splitlines()],
)
def test_error_caret(text: str, message: str, caret: str) -> None:
    lines = render(text).splitlines()
    assert lines[0] == f"error: {message}"
    assert lines[3] == f"1 | {text}"
    assert lines[4] == "  | " + caret.strip('"')


def test_empty_max_hints_two_arguments() -> None:
    text = render("max()")
    assert "max(x)" not in text
    assert "max(a, b" in text


def test_caret_on_a_later_line_of_a_program() -> None:
    lines = render("a = 1\nb = (a +\n 2)\nb*").splitlines()
    assert lines[1] == " --> <formula>:4:3"
    assert lines[3:5] == ["4 | b*", "  |   ^"]


def test_error_json_has_the_span() -> None:
    with pytest.raises(GradcalcError) as info:
        parse_program("(x+*y)")
    err = info.value.to_json()["error"]
    assert isinstance(err, dict)
    assert err["kind"] == "syntax"
    assert err["span"] == [3, 4]
    assert (err["line"], err["column"]) == (1, 4)


# ---------------------------------------------------------------------------
# Printing: parse → print → parse gives the same tree

ROUND_TRIP = [
    "1+2*3", "(1+2)*3", "a-(b-c)", "(a-b)-(c-d)", "a/(b*c)", "a/(b/c)", "(a*b)/c", "a*(b/c)",
    "2^3^2", "(2^3)^2", "-x^2", "(-x)^2", "-(x^2)", "(-2)^2", "2^-1", "2^-x^2", "-(2^-1)",
    "x^(-1)^2", "(x^2)^-1", "x^-y^z", "--x", "-(+x)", "a - -b", "x*(-y)", "(-x)*y", "-(x*y)",
    "(a+b)^-(c)", "exp(-x)^2", "max(-a, b^2, (c))", "min(a, b, c)", "pow(a+b, -c)",
    "1/(1+exp(-(w0*x0+w1*x1+w2)))", "sigmoid(w0*x0+w1*x1+w2)", "0.5*(0.2 - sigmoid(a))^2",
]  # fmt: skip


@pytest.mark.parametrize("formula", ROUND_TRIP)
def test_to_text_round_trip(formula: str) -> None:
    tree = parse_expression(formula)
    printed = to_text(tree)
    assert to_sexpr(parse_expression(printed)) == to_sexpr(tree), printed


@pytest.mark.parametrize(
    ("formula", "printed"),
    [("-(x^2)", "-x^2"), ("2^(3^2)", "2^3^2"), ("(a*b)/c", "a * b / c"), ("((x))+(y)", "x + y")],
)
def test_to_text_drops_needless_parentheses(formula: str, printed: str) -> None:
    assert to_text(parse_expression(formula)) == printed


def test_to_text_negated_base_has_one_pair_of_parentheses() -> None:
    assert to_text(parse_expression("(-x)^2")) == "(-x)^2"


# ---------------------------------------------------------------------------
# No recursion on the depth of a formula

DEEP = 100_000


def test_deep_parentheses_parse_and_compute() -> None:
    text = "(" * DEEP + "x+1" + ")" * DEEP
    assert to_sexpr(parse_expression(text)) == "(+ x 1)"
    r = gradient(text + "*x", {"x": 3.0}, symbolic=False)
    assert r.value == 12.0
    assert r.gradients == {"x": 7.0}
    assert r.ok


def test_long_sum_computes() -> None:
    r = gradient("+".join(["x"] * DEEP), {"x": 3.0}, symbolic=False)
    assert r.value == 3.0 * DEEP
    assert r.gradients == {"x": float(DEEP)}
    assert r.ok


def test_deep_nesting_of_calls_and_unary_minus() -> None:
    n = 20_000
    tree = parse_expression("sin(" * n + "x" + ")" * n)
    assert to_sexpr(tree).count("(sin") == n
    r = gradient("-" * n + "x", {"x": 2.0}, symbolic=False)
    assert (r.value, r.gradients) == (2.0, {"x": 1.0})


def test_deep_right_associative_power_chain() -> None:
    r = gradient("x" + "^1" * 10_000, {"x": 2.0}, symbolic=False)
    assert (r.value, r.gradients) == (2.0, {"x": 1.0})


# The scanner's fast path (one regex split, kinds by first character) must read
# every text exactly as the full tokenizer does, or hand it over.
_PIECES = st.sampled_from(
    ["x", "w1", "_b", "relu", "0", "12", "3.5", "1e-3", "2.", "1E+2", " ", "  ", "\t", "\n", "# note", "**", "*",
     "+", "-", "/", "^", "(", ")", "[", "]", ",", ";", "=", "@", ".5", "\r\n", "π", "²", "−", "\u00a0", "$", "e"]
)


@given(st.lists(_PIECES, max_size=30).map("".join))
def test_the_fast_scanner_agrees_with_the_full_tokenizer(text: str) -> None:
    from gradcalc.parser import _scan, _tokenize_slow

    try:
        slow = _tokenize_slow(text)
    except GradcalcError:
        with pytest.raises(GradcalcError):
            _scan(text)
        return
    want = ([t.kind for t in slow], [t.text for t in slow], [t.start for t in slow], [t.end for t in slow])
    assert _scan(text) == want


# A comment is printed back (Markdown, LaTeX, the pictures' titles): what is refused in a
# formula is refused in a comment, with a caret on it.
@pytest.mark.parametrize(
    ("text", "column", "hint"),
    [
        ("x*2 # \u202e", 7, "U+202E RIGHT-TO-LEFT OVERRIDE); delete it"),
        ("x*2 # \x1b[2J", 7, "(U+001B); delete it"),
        ("x*2 # bell\x07", 11, "(U+0007); delete it"),
        ("(x # \x01\n)*2\n", 6, "(U+0001); delete it"),
        ("x # a\rb\n", 6, "(U+000D); delete it"),  # a lone carriage return rewinds the terminal's line
        ("x # zero\u200bwidth", 9, "U+200B ZERO WIDTH SPACE"),
        ("y = 2 # ok\nx # \u2028", 5, "(U+2028 LINE SEPARATOR); delete it"),
        ("x # \udcff", 5, "(U+DCFF); delete it"),  # an undecodable byte of a command-line argument
    ],
)
def test_control_and_invisible_characters_in_comments_are_refused(text: str, column: int, hint: str) -> None:
    with pytest.raises(GradcalcError) as caught:
        parse_program(text)
    err = caught.value
    assert err.kind == "syntax" and "in a comment" in err.message
    assert err.location() is not None and err.location()[1] == column  # type: ignore[index]
    assert err.hint is not None and hint in err.hint


def test_a_nul_in_a_comment_is_located() -> None:
    with pytest.raises(GradcalcError) as caught:
        parse_program("x # \x00")
    assert caught.value.message == "NUL byte in the input" and caught.value.span == (4, 5)


@pytest.mark.parametrize(
    "text", ["x # tab\there", "x # café, π², ∂f/∂x", "x # no-break\u00a0space", "x # crlf\r\n", "x # end\r"]
)
def test_comments_keep_visible_text_tabs_and_crlf(text: str) -> None:
    assert to_sexpr(parse_expression(text)) == "x"
