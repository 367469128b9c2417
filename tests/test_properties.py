"""Property tests: random formulas from the grammar.

Formulas are generated as small trees, printed fully parenthesised, and
evaluated independently here in Python.  For smooth formulas whose values stay
inside every domain (log(1+u^2), sqrt(1+u^2), u/(1+v^2), exp(tanh(u)), ...)
reverse mode, forward mode, the central difference and SymPy must agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcalc.api import AGREE, gradient
from gradcalc.parser import parse_expression, to_sexpr
from gradcalc.printer import to_text

Tree = tuple[Any, ...]  # ("num", text) | ("var", name) | ("neg", t) | ("bin", op, l, r) | ("call", f, (args...))

VARIABLES = ("a", "b", "c")


def num(text: str) -> Tree:
    return ("num", text)


def var(name: str) -> Tree:
    return ("var", name)


def neg(t: Tree) -> Tree:
    return ("neg", t)


def binary(op: str, left: Tree, right: Tree) -> Tree:
    return ("bin", op, left, right)


def call(func: str, *args: Tree) -> Tree:
    return ("call", func, args)


def text(t: Tree) -> str:
    """Fully parenthesised source text."""
    kind = t[0]
    if kind in ("num", "var"):
        return str(t[1])
    if kind == "neg":
        return f"(-{text(t[1])})"
    if kind == "bin":
        return f"({text(t[2])} {t[1]} {text(t[3])})"
    return f"{t[1]}({', '.join(text(a) for a in t[2])})"


def sexpr(t: Tree) -> str:
    """The tree as gradcalc.parser.to_sexpr should print it."""
    kind = t[0]
    if kind in ("num", "var"):
        return str(t[1])
    if kind == "neg":
        return f"(- {sexpr(t[1])})"
    if kind == "bin":
        op = "^" if t[1] == "**" else t[1]
        return f"({op} {sexpr(t[2])} {sexpr(t[3])})"
    return f"({t[1]} {' '.join(sexpr(a) for a in t[2])})"


FUNCS: dict[str, Callable[..., float]] = {
    "exp": math.exp,
    "log": math.log,
    "ln": math.log,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "tanh": math.tanh,
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
    "relu": lambda x: max(x, 0.0),
    "abs": abs,
    "max": max,
    "min": min,
    "pow": lambda x, y: x**y,
}
BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": lambda x, y: x / y,
    "^": lambda x, y: x**y,
    "**": lambda x, y: x**y,
}


def evaluate(t: Tree, env: dict[str, float]) -> float:
    """An independent evaluation with Python's math module."""
    kind = t[0]
    if kind == "num":
        return float(t[1])
    if kind == "var":
        return env[t[1]]
    if kind == "neg":
        return -evaluate(t[1], env)
    if kind == "bin":
        return BINARY[t[1]](evaluate(t[2], env), evaluate(t[3], env))
    return float(FUNCS[t[1]](*(evaluate(a, env) for a in t[2])))


# ---------------------------------------------------------------------------
# Strategies

NUMBERS = st.sampled_from(["1", "2", "3", "0.5", ".25", "1e-1", "2.5"])
LEAVES = st.one_of(st.sampled_from(VARIABLES).map(var), NUMBERS.map(num))


def any_formula(kids: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    """Every construct of the grammar, smooth or not, in any combination (for the parser)."""
    return st.one_of(
        kids.map(neg),
        st.builds(binary, st.sampled_from(list(BINARY)), kids, kids),
        st.builds(call, st.sampled_from([f for f in FUNCS if f not in ("max", "min", "pow")]), kids),
        st.builds(
            lambda f, args: call(f, *args), st.sampled_from(["max", "min"]), st.lists(kids, min_size=2, max_size=4)
        ),
        st.builds(lambda x, y: call("pow", x, y), kids, kids),
    )


def squared(t: Tree) -> Tree:
    return binary("^", t, num("2"))


def smooth(kids: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    """Smooth gates whose inputs stay inside their domains, and values that stay moderate."""
    return st.one_of(
        st.builds(binary, st.sampled_from(["+", "-", "*"]), kids, kids),
        kids.map(neg),
        st.builds(call, st.sampled_from(["sin", "cos", "tanh", "sigmoid"]), kids),
        kids.map(lambda t: call("exp", call("tanh", t))),
        st.builds(lambda f, t: call(f, binary("+", num("1"), squared(t))), st.sampled_from(["log", "ln"]), kids),
        kids.map(lambda t: call("sqrt", binary("+", num("1"), squared(t)))),
        st.builds(lambda t, u: binary("/", t, binary("+", num("1"), squared(u))), kids, kids),
        kids.map(lambda t: binary("**", call("tanh", t), num("3"))),
        st.builds(lambda t, u: call("pow", binary("+", num("2"), call("sin", t)), call("cos", u)), kids, kids),
    )


ANY_FORMULA = st.recursive(LEAVES, any_formula, max_leaves=16)
SMOOTH_FORMULA = st.recursive(LEAVES, smooth, max_leaves=8)
POINT = st.fixed_dictionaries(
    {name: st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False) for name in VARIABLES}
)


# ---------------------------------------------------------------------------
# The parser reads back what we print


@settings(max_examples=300, deadline=None)
@given(ANY_FORMULA)
def test_parser_reads_the_tree_it_is_given(tree: Tree) -> None:
    parsed = parse_expression(text(tree))
    assert to_sexpr(parsed) == sexpr(tree)


@settings(max_examples=300, deadline=None)
@given(ANY_FORMULA)
def test_to_text_round_trip(tree: Tree) -> None:
    parsed = parse_expression(text(tree))
    printed = to_text(parsed)
    assert to_sexpr(parse_expression(printed)) == sexpr(tree), printed


# ---------------------------------------------------------------------------
# Every witness agrees on smooth formulas


def used_values(tree: Tree, point: dict[str, float]) -> dict[str, float]:
    source = text(tree)
    return {name: value for name, value in point.items() if name in source}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SMOOTH_FORMULA, POINT)
def test_reverse_equals_forward_and_central_difference(tree: Tree, point: dict[str, float]) -> None:
    values = used_values(tree, point)
    r = gradient(text(tree), values, symbolic=False)
    assert math.isclose(r.value, evaluate(tree, values), rel_tol=1e-12, abs_tol=1e-12)
    for check in r.variables:
        assert check.status == AGREE, (text(tree), values, check)
        assert check.forward is not None and math.isclose(check.forward, check.gradient, rel_tol=1e-9, abs_tol=1e-12)
    assert r.ok


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SMOOTH_FORMULA, POINT)
def test_reverse_equals_sympy(tree: Tree, point: dict[str, float]) -> None:
    values = used_values(tree, point)
    r = gradient(text(tree), values)
    if r.variables:
        assert r.symbolic.state == "done", r.symbolic
    for check in r.variables:
        assert check.symbolic is not None, (text(tree), values, check)
        assert check.status == AGREE, (text(tree), values, check)
    assert r.ok



def test_high_curvature_does_not_fail_a_correct_gradient() -> None:
    # Found with wider values than POINT's: the central difference is off by 6e-5 relative here,
    # while forward mode and SymPy agree with backprop to the last digit.
    r = gradient("cos(a*a)", {"a": 40.0})
    [check] = r.variables
    assert check.symbolic is not None
    assert math.isclose(check.symbolic, -2 * 40.0 * math.sin(1600.0), rel_tol=1e-12)
    assert math.isclose(check.gradient, check.symbolic, rel_tol=1e-12)
    assert r.ok
