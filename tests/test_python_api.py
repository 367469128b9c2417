"""The Python API as a new user meets it: bad values refused in the command line's words, short reprs,
one function per command, every result in every format, and `import gradcalc` that loads nothing heavy."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import NEURON, NEURON_GRADIENTS, SAMPLES, cli, strict_json

import gradcalc
from gradcalc import GradcalcError
from gradcalc.limits import MAX_ELEMENTS, MAX_SOURCE_CHARS

# ---------------------------------------------------------------------------
# Bad input: a GradcalcError with a kind and the command line's message, never a raw TypeError

BIG = 10**400
BAD_VALUES: list[tuple[str, str, Any, str, str]] = [
    # (id, formula, values, kind, message); a large formula or values as a function that makes them
    ("string", "x^2", {"x": "3"}, "value", "the value of 'x' is the text '3', not a number"),
    ("None", "x^2", {"x": None}, "value", "the value of 'x' is None, not a number"),
    ("bool", "x^2", {"x": True}, "value", "the value of 'x' is True, a bool, not a number"),
    ("numpy bool", "x^2", {"x": np.bool_(False)}, "value", "the value of 'x' is False, a bool, not a number"),
    ("NaN", "x^2", {"x": math.nan}, "value", "the value of 'x' is nan, not a finite number"),
    ("infinity", "x^2", {"x": -math.inf}, "value", "the value of 'x' is -inf, not a finite number"),
    ("huge int", "x^2", {"x": BIG}, "value", f"the value of 'x' is {str(BIG)[:39]}…, not a finite number"),
    ("complex", "x^2", {"x": 1j}, "value", "the value of 'x' is 1j, a complex number"),
    ("dict value", "x^2", {"x": {"a": 1}}, "value", "the value of 'x' is a dict, not a number"),
    ("set value", "x^2", {"x": {1.0}}, "value", "the value of 'x' is a set, not a number"),
    ("ragged matrix", "sum(W)", {"W": [[1, 2], [3]]}, "value",
     "the value of 'W': the rows have different lengths (row 0 has 2, row 1 1)"),
    ("row not a list", "sum(W)", {"W": [[1, 2], 3]}, "value",
     "the value of 'W': the rows have different lengths (row 0 has 2, row 1 is not a list)"),
    ("three levels", "sum(W)", {"W": [[[1.0]]]}, "value",
     "the value of 'W' is nested too deep: only vectors and matrices are supported"),
    ("3-d array", "sum(W)", {"W": np.zeros((2, 2, 2))}, "value",
     "the value of 'W' has 3 dimensions: only vectors and matrices are supported"),
    ("empty list", "sum(v)", {"v": []}, "value", "the value of 'v' is an empty list"),
    ("string in a list", "sum(v)", {"v": [1.0, "2"]}, "value", "the value of 'v' holds '2', a str, not a number"),
    ("bool in a list", "sum(v)", {"v": [1.0, True]}, "value", "the value of 'v' holds True, a bool, not a number"),
    ("NaN in a list", "sum(v)", {"v": [1.0, math.nan]}, "value",
     "the value of 'v' holds a number that is not finite (nan or inf)"),
    ("NaN in an array", "sum(v)", {"v": np.array([1.0, np.inf])}, "value",
     "the value of 'v' holds a number that is not finite (nan or inf)"),
    ("string array", "sum(v)", {"v": np.array(["a", "b"])}, "value", "the value of 'v' is not an array of numbers"),
    ("huge list", "sum(v)", lambda: {"v": [1.0] * (MAX_ELEMENTS + 1)}, "limit",
     f"the value of 'v' has more than {MAX_ELEMENTS:,} elements"),
    ("huge matrix", "sum(W)", lambda: {"W": [[1.0] * 1001] * 1000}, "limit",
     f"the value of 'W' has more than {MAX_ELEMENTS:,} elements"),
    ("huge array", "sum(v)", lambda: {"v": np.zeros(MAX_ELEMENTS + 1)}, "limit",
     f"the value of 'v' has more than {MAX_ELEMENTS:,} elements"),
    ("not a name", "x^2", {"x": 1, "1x": 2}, "value", "'1x' is not a variable name"),
    ("name not text", "x^2", {"x": 1, 3: 2}, "value", "3 is an int, not a variable name"),
    ("unknown name", "x^2", {"y": 2}, "value", "no value for x"),
    ("misspelt name", "x*yy", {"x": 1, "y": 2}, "value", "no value for yy"),
    ("values not a mapping", "x^2", [("x", 1)], "value", "the values are a list, not a mapping of names to values"),
    ("values a number", "x^2", 5, "value", "the values are an int, not a mapping of names to values"),
    ("formula a number", 5, {}, "usage", "the formula is 'int', not text"),
    ("formula None", None, {}, "usage", "the formula is 'NoneType', not text"),
    ("formula too long", lambda: "x" * (MAX_SOURCE_CHARS + 1), {}, "limit",
     f"the formula is {MAX_SOURCE_CHARS + 1:,} characters, more than the limit of {MAX_SOURCE_CHARS:,}"),
    ("bad syntax", "(x+", {"x": 1}, "syntax", ""),
]


@pytest.mark.parametrize(("formula", "values", "kind", "message"), [b[1:] for b in BAD_VALUES],
                         ids=[b[0] for b in BAD_VALUES])
def test_bad_input_is_a_gradcalc_error(formula: Any, values: Any, kind: str, message: str) -> None:
    # The large inputs are made here, not when the tests are collected: the process that forks
    # the children whose memory test_bench_smoke measures must not hold 20 MB of them.
    formula = formula() if callable(formula) else formula
    values = values() if callable(values) else values
    with pytest.raises(GradcalcError) as caught:
        gradcalc.gradient(formula, values)
    err = caught.value
    assert err.kind == kind
    assert err.message.startswith(message)
    assert err.render().startswith("error: ")  # the CLI's picture of it works too


def test_the_unknown_names_hint_names_the_misspelling() -> None:
    with pytest.raises(GradcalcError) as caught:
        gradcalc.gradient("x*yy", {"x": 1, "y": 2})
    assert caught.value.hint is not None and "a value was given for 'y': is one of them misspelt?" in caught.value.hint


def test_an_unused_value_is_a_warning_as_on_the_command_line() -> None:
    r = gradcalc.gradient("x^2", {"x": 3, "z": 1})
    assert r.warnings == ["'z' is not used by the formula; its value is ignored"]
    run = cli("grad", "x^2", "x=3", "z=1", "--brief")
    assert "warning: 'z' is not used by the formula; its value is ignored" in run.stderr


@pytest.mark.parametrize(("option", "value", "message"), [
    ("tie", "middle", "--tie must be one of split, first, all, not 'middle'"),
    ("symbolic_budget", 0, "symbolic_budget must be a number of seconds more than 0 and at most 600, not 0"),
    ("symbolic_budget", math.nan, "symbolic_budget must be a number of seconds"),
    ("symbolic_budget", "5", "symbolic_budget must be a number of seconds"),
])
def test_bad_options_are_gradcalc_errors(option: str, value: Any, message: str) -> None:
    with pytest.raises(GradcalcError) as caught:
        gradcalc.gradient("x^2", {"x": 3}, **{option: value})
    assert caught.value.kind == "usage" and caught.value.message.startswith(message)


def test_every_entry_point_checks_its_values() -> None:
    for call in (lambda: gradcalc.hessian("x^2", {"x": "3"}), lambda: gradcalc.jacobian("x^2", {"x": None}),
                 lambda: gradcalc.trace("x^2", {"x": True}), lambda: gradcalc.descend("x^2", {"x": [1, [2]]}, lr=0.1),
                 lambda: gradcalc.derivatives("x^2", {"x": math.nan}, 2)):
        with pytest.raises(GradcalcError) as caught:
            call()
        assert caught.value.message.startswith("the value of 'x'")


def test_bad_training_data_from_python() -> None:
    for data, message in (({"x": [1, 2], "y": [1]}, "the data: the column 'y' has 1 rows, the first column 2"),
                          ({"x": 3.0}, "the data: the column 'x' is not a list of numbers"),
                          ([1, 2], "the data is 'list', not a mapping of column names to numbers")):
        with pytest.raises(GradcalcError) as caught:
            gradcalc.descend("(w*x - y)^2", {"w": 0}, data=data, lr=0.1)
        assert caught.value.message == message


# ---------------------------------------------------------------------------
# Good input of every Python kind: the textbook numbers


@pytest.mark.parametrize("v", [[1, 2, 3], (1.0, 2.0, 3.0), np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0],
                                                                                              dtype=np.float32)])
def test_a_vector_from_python(v: Any) -> None:
    r = gradcalc.gradient("sum(v^2)", {"v": v})
    assert r.value == 14.0 and r.ok
    assert r.gradients["v"].tolist() == [2.0, 4.0, 6.0]


def test_the_vectorized_example_from_lists() -> None:
    r = gradcalc.gradient("sum((W@x)^2)", {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]})
    assert r.value == pytest.approx(0.116, rel=1e-12)
    assert r.gradients["W"] == pytest.approx(np.array([[0.088, 0.176], [0.104, 0.208]]), rel=1e-12)
    assert r.gradients["x"] == pytest.approx(np.array([-0.112, 0.636]), rel=1e-12)


def test_the_callers_array_is_copied() -> None:
    v = np.array([1.0, 2.0, 3.0])
    r = gradcalc.gradient("sum(v^2)", {"v": v})
    v[0] = 100.0
    assert r.inputs["v"].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("x", [-2, np.int64(-2), np.float64(-2.0), Fraction(-2), -2.0])
def test_numbers_of_every_kind(x: Any) -> None:
    r = gradcalc.gradient("(x+y)*z", {"x": x, "y": 5, "z": -4})
    assert (r.value, r.gradients) == (-12.0, {"x": -4.0, "y": -4.0, "z": 3.0})


# ---------------------------------------------------------------------------
# Short reprs


def test_reprs_are_one_short_line() -> None:
    r = gradcalc.gradient("1/(1+exp(-(w0*x0+w1*x1+w2)))", NEURON)
    assert repr(r) == "<GradResult f=0.7311 ∂w0=-0.1966 ∂x0=0.3932 ∂w1=-0.3932 ∂x1=-0.5898 ∂w2=0.1966 checks ok>"
    assert repr(r.tape) == "<Tape of 15 nodes: output f, variables w0, x0, w1, x1, w2>"
    assert repr(next(n.op for n in r.tape.nodes if n.op)) == "<Op mul>"
    vector = gradcalc.gradient("sum((W@x)^2)", {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]})
    assert repr(vector) == "<GradResult f=0.116 ∂W=[2×2] ∂x=[-0.112, 0.636] checks ok>"
    many = gradcalc.gradient("+".join(f"a{k}*{k}" for k in range(10)), {f"a{k}": 1 for k in range(10)})
    assert repr(many) == "<GradResult f=45 ∂a0=0 ∂a1=1 ∂a2=2 ∂a3=3 ∂a4=4 ∂a5=5 … 4 more checks ok>"


def test_a_failed_check_says_which() -> None:
    r = gradcalc.gradient("(x+y)*z", {"x": -2, "y": 5, "z": -4})
    r.variables[1].status = "disagree"  # as a wrong op row would leave it
    assert repr(r) == "<GradResult f=-12 ∂x=-4 ∂y=-4 ∂z=3 checks failed: y>"


def test_every_result_has_a_short_repr() -> None:
    assert repr(gradcalc.hessian("x^2*y + sin(x*y)", {"x": 1, "y": 2})) == (
        "<HessianResult f=2.909 2×2 by x, y: indefinite, checks ok>")
    assert repr(gradcalc.jacobian("softmax(v)", {"v": [1, 2, 3]})) == (
        "<JacobianResult ∂f/∂inputs 3×3 f=[0.09003, 0.2447, 0.6652] checks ok>")
    assert repr(gradcalc.trace("(x+y)*z", {"x": -2, "y": 5, "z": -4})) == (
        "<Trace reverse, 5 rows: f=-12 ∂x=-4 ∂y=-4 ∂z=3>")
    assert repr(gradcalc.descend("(x-3)^2 + (y+1)^2", {"x": 0, "y": 0}, lr=0.1, steps=50)) == (
        "<DescendResult loss 10 → 2.037e-09 in 50 steps: x=3 y=-1>")
    assert repr(gradcalc.derivatives("sin(x)", {"x": 0}, 3)) == "<OrderResult by x at 0: 0 1 0 -1 checks ok>"
    assert repr(gradcalc.check(SAMPLES / "homework-wrong.toml")) == (
        f"<FileReport {SAMPLES / 'homework-wrong.toml'}: 11 of 12 answers right in 2 problems, wrong>")


# ---------------------------------------------------------------------------
# One function per command, with the textbook numbers


def test_the_functions_give_the_commands_numbers() -> None:
    r = gradcalc.gradient("1/(1+exp(-(w0*x0+w1*x1+w2)))", NEURON)
    assert all(math.isclose(r.gradients[k], g, rel_tol=1e-12) for k, g in NEURON_GRADIENTS.items())
    h = gradcalc.hessian("x^2*y + sin(x*y)", {"x": 1, "y": 2})
    # f_xx = 2y - y² sin(xy), f_xy = 2x + cos(xy) - xy sin(xy), f_yy = -x² sin(xy)
    s, c = math.sin(2), math.cos(2)
    assert np.array(h.hessian) == pytest.approx(np.array([[4 - 4 * s, 2 + c - 2 * s], [2 + c - 2 * s, -s]]),
                                                rel=1e-12)
    j = gradcalc.jacobian("v*2", {"v": [1, 2]})
    assert j.reverse == [[2.0, 0.0], [0.0, 2.0]]
    t = gradcalc.trace("(x+y)*z", {"x": -2, "y": 5, "z": -4}, mode="forward", seed="x")
    assert (t.value, t.derivative) == (-12.0, -4.0)
    d = gradcalc.descend("(x-3)^2", {"x": 0}, lr=0.25, steps=1)
    assert d.params == {"x": 1.5}  # x − 0.25·2(x − 3) = 1.5
    assert gradcalc.derivatives("x^3", {"x": 2}, 3).values == [8.0, 12.0, 12.0, 6.0]
    report = gradcalc.check(SAMPLES / "homework.toml")
    assert (report.right, report.total, report.status) == (64, 64, "ok")


def test_check_refuses_what_is_no_answer_file(tmp_path: Path) -> None:
    with pytest.raises(GradcalcError) as caught:
        gradcalc.check(tmp_path)
    assert caught.value.message == f"{tmp_path} is not a regular file"
    with pytest.raises(GradcalcError) as caught:
        gradcalc.check(tmp_path / "missing.toml")
    assert caught.value.kind == "file" and caught.value.message.startswith("cannot read")


# ---------------------------------------------------------------------------
# Every result in every format: the command line's own text


EX3 = ("(x+y)*z", "x=-2", "y=5", "z=-4")
EX3_VALUES = {"x": -2, "y": 5, "z": -4}


def test_render_table_is_what_the_command_prints() -> None:
    r = gradcalc.gradient("(x+y)*z", EX3_VALUES)
    assert gradcalc.render_table(r) == cli("grad", *EX3).stdout
    h = gradcalc.hessian("x^2*y + sin(x*y)", {"x": 1, "y": 2})
    assert gradcalc.render_table(h) == cli("hessian", "x^2*y + sin(x*y)", "x=1", "y=2").stdout
    report = gradcalc.check(SAMPLES / "homework.toml")
    assert gradcalc.render_table(report) == cli("check", str(SAMPLES / "homework.toml")).stdout
    d = gradcalc.descend("(x-3)^2", {"x": 0}, lr=0.1, steps=20)
    assert gradcalc.render_table(d) == cli("descend", "(x-3)^2", "x=0", "--lr", "0.1", "--steps", "20").stdout


def test_render_json_is_the_commands_document() -> None:
    r = gradcalc.gradient("(x+y)*z", EX3_VALUES)
    mine, theirs = strict_json(gradcalc.render_json(r)), cli("grad", *EX3, "--json").json()
    for doc in (mine, theirs):
        doc["checks"]["sympy"]["seconds"] = 0
    assert mine == theirs
    assert json.loads(gradcalc.render_json(r, brief=True)) == cli("grad", *EX3, "--json", "--brief").json()
    j = gradcalc.jacobian("v*2", {"v": [1, 2]})
    assert strict_json(gradcalc.render_json(j)) == cli("jacobian", "v*2", "v=[1,2]", "--json").json()
    t = gradcalc.trace("(x+y)*z", EX3_VALUES)
    assert strict_json(gradcalc.render_json(t)) == cli("trace", *EX3, "--json").json()
    d = gradcalc.descend("(x-3)^2", {"x": 0}, lr=0.1, steps=5)
    assert strict_json(gradcalc.render_json(d)) == cli("descend", "(x-3)^2", "x=0", "--lr", "0.1", "--steps", "5",
                                                        "--json").json()


def test_a_hessians_markdown_and_latex_are_the_commands() -> None:
    h = gradcalc.hessian("x^2*y + sin(x*y)", {"x": 1, "y": 2})
    args = ("hessian", "x^2*y + sin(x*y)", "x=1", "y=2", "--format")
    assert gradcalc.render_markdown(h) == cli(*args, "markdown").stdout
    assert gradcalc.render_latex(h) == cli(*args, "latex").stdout


def test_render_markdown_latex_and_dot_are_the_commands() -> None:
    r = gradcalc.gradient("(x+y)*z", EX3_VALUES)
    assert gradcalc.render_markdown(r) == cli("grad", *EX3, "--format", "markdown").stdout
    assert gradcalc.render_latex(r) == cli("grad", *EX3, "--format", "latex").stdout
    assert r"\frac{\partial f}{\partial z} &= x + y = 3" in gradcalc.render_latex(r)
    assert r"\frac{\partial f}{\partial z} &= 3" in gradcalc.render_latex(r, symbolic=False)
    assert gradcalc.render_dot(r) == cli("graph", *EX3).stdout


def test_render_html_is_a_page_with_the_numbers() -> None:
    r = gradcalc.gradient("(x+y)*z", EX3_VALUES)
    page = gradcalc.render_html(r)
    assert page.startswith("<!DOCTYPE html>") and "default-src 'none'" in page
    assert "<td>q = x + y</td>" not in page and '<td class="code">q = x + y</td>' in page
    assert '<td class="num grad">-4</td>' in page  # ∂f/∂x


def test_a_format_a_result_has_not_is_a_usage_error() -> None:
    d = gradcalc.descend("(x-3)^2", {"x": 0}, lr=0.1, steps=2)
    with pytest.raises(GradcalcError) as caught:
        gradcalc.render_markdown(d)  # type: ignore[arg-type]
    assert caught.value.kind == "usage"
    assert caught.value.message == "render_markdown is not made for 'DescendResult'"
    assert caught.value.hint == "render_markdown takes a GradResult or a HessianResult"
    with pytest.raises(GradcalcError):
        gradcalc.render_table(gradcalc.jacobian("v*2", {"v": [1, 2]}))  # type: ignore[arg-type]


def test_save_writes_the_format_its_suffix_names(tmp_path: Path) -> None:
    r = gradcalc.gradient("(x+y)*z", EX3_VALUES)
    assert json.loads(gradcalc.save(r, tmp_path / "r.json").read_text())["gradients"] == {"x": -4, "y": -4, "z": 3}
    assert gradcalc.save(r, tmp_path / "r.md").read_text() == gradcalc.render_markdown(r)
    assert gradcalc.save(r, tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(GradcalcError) as caught:
        gradcalc.save(r, tmp_path / "r.pdf")
    assert caught.value.message == "r.pdf: the file name does not say which format to write"
    with pytest.raises(GradcalcError) as caught:
        gradcalc.save(r, tmp_path / "no" / "such" / "dir" / "r.json")
    assert caught.value.kind == "output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json", "r.md"]  # no temporary left


# ---------------------------------------------------------------------------
# import gradcalc is cheap


def test_import_gradcalc_loads_nothing_heavy() -> None:
    code = ("import sys, gradcalc\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gradcalc', 'numpy', 'sympy', 'rich')))\n"
            "gradcalc.gradient\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'sympy', 'rich')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["['gradcalc', 'gradcalc.shown']", "[]"]


def test_the_public_names_are_listed_and_typed() -> None:
    assert set(gradcalc.__all__) <= set(dir(gradcalc))
    for name in gradcalc.__all__:
        assert getattr(gradcalc, name) is not None
    for name in ("gradient", "jacobian", "hessian", "derivatives", "trace", "descend", "check", "render_table",
                 "render_json", "render_markdown", "render_latex", "render_dot", "render_svg", "render_html", "save"):
        function = getattr(gradcalc, name)
        assert function.__doc__ and "return" in function.__annotations__, name
    with pytest.raises(AttributeError):
        gradcalc.no_such_name  # noqa: B018
