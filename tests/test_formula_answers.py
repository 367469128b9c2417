"""Answers that are formulas: judged as functions, a wrong one named by its slip, hostile ones refused cleanly.

Every true value here is checked against a hand derivation: d/dx sin(x^2) = 2*x*cos(x^2), and so on.
Where a verdict names a point (chosen by the seeded random points), the test reads the point from the
JSON and computes both sides at it by hand, so it holds whatever point the seed picks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import cli

from gradcalc.answers import FormulaAnswer, read_answer
from gradcalc.api import gradient
from gradcalc.commands.homework_options import how_to_ask, parse_expectations
from gradcalc.errors import GradcalcError
from gradcalc.formula_answers import SLIPS, node_formula, program_formula, sample, tidy_text
from gradcalc.gradgraph import gradient_program
from gradcalc.judge import judge, judge_formulas_alone
from gradcalc.limits import FORMULA_POINTS, MAX_FORMULA_ANSWER_CHARS, MAX_FORMULA_PROBLEM_NODES
from gradcalc.parser import parse_expression
from gradcalc.pipeline import load


def flat(text: str) -> str:
    """A plain table's text as one line of words: a cell that wraps onto the next row reads on."""
    return " ".join(text.replace("|", " ").split())


def grad_json(formula: str, *args: str) -> tuple[int, list[dict[str, Any]]]:
    run = cli("grad", formula, *args, "--json")
    doc = run.json()
    assert "error" not in doc, doc
    return run.exit_code, doc["answers"]


def only(formula: str, answer: str, *args: str) -> dict[str, Any]:
    """The one formula answer's JSON (judged without SymPy unless asked: fast, and decided by the points)."""
    _, (doc,) = grad_json(formula, "--expect-grad", answer, *args, *(() if "--symbolic-budget" in args else
                                                                     ("--no-symbolic",)))
    return doc


# ---------------------------------------------------------------------------
# The two cases, exactly


def test_the_chain_rule_answer_is_right_without_values() -> None:
    run = cli("grad", "sin(x^2)", "--expect-grad", "x=cos(x^2)*x*2")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "✓ all 1 answer right" in run.stdout
    assert "Gates" not in run.stdout  # no values: the verdicts alone


def test_the_outer_derivative_alone_is_wrong_and_names_the_missing_inner_derivative() -> None:
    run = cli("grad", "sin(x^2)", "--expect-grad", "x=cos(x^2)")
    assert run.exit_code == 1
    assert "the chain rule multiplies it by the inner derivative ∂q/∂x = 2*x, which is missing" in flat(run.stdout)
    doc = only("sin(x^2)", "x=cos(x^2)")
    assert doc["diagnosis"] == {
        "kind": "missing-inner",
        "text": "this is ∂f/∂q, the outer derivative at q = x^2: the chain rule multiplies it by the inner "
                "derivative ∂q/∂x = 2*x, which is missing",
        "formula": "2*x",
    }


# ---------------------------------------------------------------------------
# Verdicts: which witness decided, and the counterexample's numbers


def test_sympy_proves_a_right_answer() -> None:
    (doc,) = grad_json("sin(x^2)", "--expect-grad", "x=2*x*cos(x^2)")[1]
    assert doc["ok"] and doc["verdict"] == "right"
    assert doc["decided_by"] == "sympy" and doc["note"] == "SymPy proves them equal"
    assert doc["points"] == FORMULA_POINTS


def test_without_sympy_the_points_decide_and_the_note_says_so() -> None:
    doc = only("sin(x^2)", "x=2*x*cos(x^2)")
    assert doc["ok"] and doc["decided_by"] == "random points"
    assert doc["note"] == f"equal at {FORMULA_POINTS} random points (SymPy was not run)"


def test_a_sympy_timeout_is_no_error_the_numbers_stand() -> None:
    # A millionth of a second: the child is stopped before it can answer, and the points decide.
    answers = parse_expectations(None, ["x=cos(x^2)*x*2"], [], [])
    marks = judge_formulas_alone("sin(x^2)", {}, answers, symbolic_budget=1e-6, ask=how_to_ask)
    assert marks is not None
    (mark,) = marks
    assert mark.ok and mark.formula is not None
    assert mark.formula.note.startswith(f"equal at {FORMULA_POINTS} random points (SymPy ")
    assert "budget" in mark.formula.note


def test_a_wrong_answer_has_a_counterexample_computed_by_hand() -> None:
    doc = only("sin(x^2)", "x=cos(x^2)")
    assert not doc["ok"] and doc["verdict"] == "wrong" and doc["decided_by"] == "random points"
    ce = doc["counterexample"]
    x = ce["at"]["x"]
    assert ce["yours"] == pytest.approx(math.cos(x * x), rel=1e-12)
    assert ce["true"] == pytest.approx(2 * x * math.cos(x * x), rel=1e-12)
    assert doc["note"] == f"differs at x={x:.4g}: yours {ce['yours']:.4g}, true {ce['true']:.4g}"
    assert len(str(x)) <= 5  # rounded to a point one can try by hand (x=-1.2, not x=-1.2097...)


def test_the_verdicts_are_the_same_on_every_run() -> None:
    assert only("x^3*y", "x=x^2*y") == only("x^3*y", "x=x^2*y")


def test_the_points_are_around_the_given_values_the_first_at_them() -> None:
    points = sample(["x", "y"], {"x": 100.0}, 256)
    assert points["x"][0] == 100.0
    assert points["x"].min() >= 100 - 500 and points["x"].max() <= 100 + 500
    assert (abs(points["x"] - 100) <= 100).mean() > 0.7  # three quarters near, a quarter wider
    assert points["y"].min() >= -20 and points["y"].max() <= 20


def test_with_values_the_gate_table_and_the_formula_verdicts() -> None:
    run = cli("grad", "sin(x^2)", "x=1", "--expect-grad", "x=cos(x^2)", "--expect-grad", "x=1.08", "--no-symbolic")
    assert run.exit_code == 1
    assert "Gates: forward values" in run.stdout
    assert "Your answers, judged to the digits given" in run.stdout  # the number keeps the digits rule
    assert "Your formula answers, judged as functions" in run.stdout
    assert "differs at x=1: yours 0.5403, true 1.081" in run.stdout  # at the given values first: cos(1), 2cos(1)
    assert "✗ 1 of 2 answers right; wrong: ∂f/∂x" in run.stdout


def test_a_constant_answer_with_values_is_judged_at_them() -> None:
    doc = only("sin(x^2)", "x=2*cos(1)", "x=1")
    assert doc["ok"] and doc["decided_by"] == "the given values"
    assert doc["claimed_value"] == pytest.approx(2 * math.cos(1), rel=1e-15)
    doc = only("sin(x^2)", "x=cos(1)", "x=1")
    assert not doc["ok"] and doc["counterexample"] == {"at": {"x": 1.0}, "yours": pytest.approx(math.cos(1)),
                                                       "true": pytest.approx(2 * math.cos(1))}


def test_a_number_without_values_is_judged_as_a_constant() -> None:
    code, docs = grad_json("x^3 + y", "--expect-grad", "x=3*x^2", "--expect-grad", "y=1", "--no-symbolic")
    assert code == 0 and [d["ok"] for d in docs] == [True, True] and docs[1]["kind"] == "formula"


def test_upstream_and_node_values_as_formulas() -> None:
    code, docs = grad_json("(x+y)*z", "x=-2", "y=5", "z=-4", "--expect-upstream", "q=z", "--expect", "q=y+x",
                           "--expect-value", "z*x + z*y", "--expect-upstream", "q=-z", "--no-symbolic")
    assert code == 1
    assert [(d["label"], d["ok"]) for d in docs] == [("f", True), ("q", True), ("∂f/∂q", True), ("∂f/∂q", False)]
    assert docs[3]["diagnosis"]["kind"] == "sign"
    assert docs[3]["counterexample"] == {"at": {"x": -2.0, "y": 5.0, "z": -4.0}, "yours": 4.0, "true": -4.0}


def test_a_program_name_may_appear_in_an_answer() -> None:
    doc = only("h = sigmoid(w*x)\nh^2", "w=2*h*h*(1 - h)*x")  # d(σ(wx)^2)/dw = 2σ·σ(1−σ)·x
    assert doc["ok"], doc


# ---------------------------------------------------------------------------
# Diagnoses: one per row of SLIPS, each answer derived wrong by hand


@pytest.mark.parametrize(
    ("formula", "answer", "kind", "formula_named"),
    [
        ("sin(x^2)", "x=-2*x*cos(x^2)", "sign", "-1"),
        ("sin(x^2)", "x=4*x*cos(x^2)", "factor", "2"),  # twice the truth
        ("sin(x^2)", "x=6*x*cos(x^2)", "factor", "3"),
        ("sin(x^2)", "x=x*cos(x^2)", "power-rule", "x"),  # half the truth: the 2 of (x^2)' = 2*x forgotten
        ("x*y^3", "x=3*x*y^2", "other-variable", "3*x*y^2"),  # ∂f/∂y for ∂f/∂x
        ("sin(x^2)", "x=cos(x^2)", "missing-inner", "2*x"),
        ("exp(sin(x^2))", "x=exp(sin(x^2))", "missing-inner", "2*x*cos(x^2)"),  # ∂f/∂(sin x^2); ∂(sin x^2)/∂x
        ("sin(x^2)", "x=2*x", "missing-outer", "cos(x^2)"),  # the inner derivative alone; the outer left out
        ("x*sin(x)", "x=sin(x)", "one-path", None),  # the product rule's other term x*cos(x) left out
        ("sin(x+1) + x^2", "x=2*x", "one-path", None),  # only the path through x^2
        ("x^3", "x=3*x^3", "power-rule", "3*x^3"),  # x^n → n*x^n
        ("x^3", "x=x^2", "power-rule", "x^2"),  # x^n → x^(n-1)
        ("x^3", "x=3*x^4", "power-rule", "3*x^4"),  # x^n → n*x^(n+1)
        ("(x^2 + 1)^3", "x=3*(x^2+1)^3*2*x", "power-rule", "3*r^3"),  # inside the chain: r = x^2 + 1
        ("2^x", "x=x*2^(x - 1)", "power-rule", "x*2^(x - 1)"),  # the power rule on an exponential
        ("sin(x^2)", "x=-2*x*sin(x^2)", "wrong-rule", "-sin(q)"),  # sin differentiated as cos
        ("cos(x^2)", "x=2*x*sin(x^2)", "sign", "-1"),  # cos without its minus: at the top, the sign
        ("cos(x^2) + x", "x=2*x*sin(x^2) + 1", "wrong-rule", "sin(q)"),  # ... inside a sum, the rule
        ("sqrt(x^2 + 1)", "x=2*x/sqrt(x^2 + 1)", "wrong-rule", "1/sqrt(r)"),
        ("log(x)", "x=log(x)", "not-differentiated", None),
    ],
)
def test_each_diagnosis(formula: str, answer: str, kind: str, formula_named: str | None) -> None:
    doc = only(formula, answer)
    assert not doc["ok"], doc
    assert doc["diagnosis"] is not None, doc["note"]
    assert (doc["diagnosis"]["kind"], doc["diagnosis"]["formula"]) == (kind, formula_named), doc["diagnosis"]


def test_the_power_rule_diagnosis_in_words() -> None:
    doc = only("x^3", "x=3*x^3")
    assert doc["reason"] == ("the power rule without lowering the exponent: at f = x^3, ∂f/∂x was taken as "
                             "3*x^3; it is 3*x^2")


def test_another_variable_in_words() -> None:
    doc = only("x*y^3", "x=3*x*y^2")
    assert doc["reason"] == "this is ∂f/∂y = 3*x*y^2: x and y mixed up?"


def test_the_product_rule_in_words() -> None:
    doc = only("x*sin(x)", "x=sin(x)")
    assert doc["reason"] == ("this leaves out the path through q = sin(x): x reaches f = x*sin(x) through both its "
                             "inputs, and their paths add up (the product rule's two terms)")


def test_a_wrong_answer_that_fits_no_slip_has_no_diagnosis() -> None:
    doc = only("sin(x^2)", "x=x^5 - 3")
    assert not doc["ok"] and doc["diagnosis"] is None and doc["reason"] is None


def test_every_slip_is_tried_for_the_kinds_it_names() -> None:
    kinds = {slip.kind for slip in SLIPS}
    assert {"sign", "factor", "other-variable", "missing-inner", "missing-outer", "one-path", "power-rule",
            "wrong-rule", "not-differentiated"} == kinds


# ---------------------------------------------------------------------------
# Bad input: exit 2, a caret inside the answer, a hint


def test_a_name_the_problem_lacks_is_exit_2_with_a_caret_under_it() -> None:
    run = cli("grad", "sin(x1^2)", "--expect-grad", "x1=2*x2*cos(x1^2)")
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [
        "error: 'x2' is not a variable of the formula (in the answer '2*x2*cos(x1^2)')",
        " --> --expect-grad:1:6",
        "  |",
        "1 | x1=2*x2*cos(x1^2)",
        "  |      ^^",
        "hint: did you mean 'x1'?",
    ]
    doc = cli("grad", "sin(x1^2)", "--expect-grad", "x1=2*x2*cos(x1^2)", "--json").json()
    assert doc["error"]["span"] == [5, 7] and doc["error"]["hint"] == "did you mean 'x1'?"


def test_an_answer_that_does_not_parse_is_exit_2_with_a_caret() -> None:
    run = cli("grad", "sin(x^2)", "x=1", "--expect-grad", "x=2*x*cos(x^2")
    assert run.exit_code == 2 and "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert lines[0] == "error: unclosed '('"
    assert lines[3:5] == ["1 | x=2*x*cos(x^2", "  |          ^"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("x=__import__('os')", "unexpected character \"'\""),
        ("x=__import__(os)", "unknown function '__import__'"),
        ("x=x.__class__", "unexpected character '.'"),
        ("x=lambda: 0", "unexpected character ':'"),
        ("x=y = 2", "an answer is one expression, not an assignment"),
        ("x=2*x; 3", "an answer is one expression"),
        ("x=[1, 2]", "an answer is one number or a formula of numbers, not a vector or matrix"),
        ("x=nan", "'nan' is not a number or a variable of the formula"),
        ("x=" + "x+" * 5_000_000 + "x", f"the answer is 10,000,001 characters long, more than "
                                        f"{MAX_FORMULA_ANSWER_CHARS:,}"),
        ("x=" + "(" * 100_000 + "x" + ")" * 100_000, "the answer is 200,001 characters long"),
        ("x=" + "-" * 1_500 + "x", "the answer has 1,501 nodes, more than 1,000"),
    ],
    ids=["import-string", "import-call", "attribute", "lambda", "assignment", "two-statements", "vector", "nan",
         "10MB", "100k-deep", "1500-nodes"],
)
def test_hostile_answers_are_exit_2_cleanly(answer: str, message: str) -> None:
    run = cli("grad", "sin(x^2)", "--expect-grad", answer)
    assert run.exit_code == 2
    assert run.stderr.startswith(f"error: {message}"), run.stderr[:300]
    assert "Traceback" not in run.stderr and "RecursionError" not in run.stderr
    doc = cli("grad", "sin(x^2)", "x=1", "--expect-grad", answer, "--json").json()
    assert doc["error"]["message"].startswith(message)


def test_deep_nesting_under_the_limit_is_judged_without_recursion() -> None:
    answer = "(" * 900 + "2*x*cos(x^2)" + ")" * 900
    doc = only("sin(x^2)", f"x={answer}")
    assert doc["ok"] and doc["answer"] == answer


def test_a_problem_too_large_for_formula_answers_says_its_limit() -> None:
    formula = " + ".join(f"sin({k}*x)" for k in range(1, 2_600))
    run = cli("grad", formula, "--expect-grad", "x=cos(x)", "--no-symbolic")
    assert run.exit_code == 2
    assert run.stderr.startswith(f"error: formula answers are judged for formulas of at most "
                                 f"{MAX_FORMULA_PROBLEM_NODES:,} nodes")


def test_a_formula_answer_for_a_vector_is_refused() -> None:
    run = cli("grad", "sum(v*v)", "v=[1, 2]", "--expect-grad", "v[0]=2*v", "--no-symbolic")
    assert run.exit_code == 2 and "scalar variables" in run.stderr


# ---------------------------------------------------------------------------
# Answer files


HOMEWORK = '''\
[[problem]]
name = "chain"
formula = "sin(x^2)"
values = { x = 1 }
expect_grad = { x = "cos(x^2)" }

[[problem]]
name = "no values"
formula = "x^3 + y"
expect_grad = { x = "3*x^2", y = "1" }

[[problem]]
name = "typo"
formula = "x*y"
values = { x = 1, y = 2 }
expect_grad = { x = "yy" }
'''


def test_formula_answers_in_an_answer_file(tmp_path: Path) -> None:
    path = tmp_path / "hw.toml"
    path.write_text(HOMEWORK, encoding="utf-8")
    run = cli("check", str(path), "--json")
    assert run.exit_code == 2  # one problem is malformed
    chain, alone, typo = run.json()["problems"]
    (answer,) = chain["answers"]
    assert answer["kind"] == "formula" and answer["diagnosis"]["formula"] == "2*x"
    assert answer["true_value"] == pytest.approx(2 * math.cos(1), rel=1e-12)
    assert chain["status"] == "wrong"
    assert alone["status"] == "ok" and [a["ok"] for a in alone["answers"]] == [True, True]
    assert typo["error"]["message"] == "problem 'typo': 'yy' is not a number or a variable of the formula"
    assert typo["error"]["where"] == f"{path}:16:22"  # under yy, inside the string
    assert typo["error"]["hint"] == "did you mean 'y'?"
    table = flat(cli("check", str(path)).stdout)
    assert "chain ∂f/∂x cos(x^2) 1.0806 as a formula ✗ differs at x=1: yours 0.5403, true 1.081;" in table
    assert "the inner derivative ∂q/∂x = 2*x" in table


def test_an_answer_file_formula_with_a_syntax_error_points_inside_the_string(tmp_path: Path) -> None:
    path = tmp_path / "hw.toml"
    path.write_text('[[problem]]\nformula = "x*y"\nvalues = { x = 1, y = 2 }\nexpect_grad = { x = "y*(" }\n',
                    encoding="utf-8")
    err = cli("check", str(path), "--json").json()["problems"][0]["error"]
    assert err["where"] == f"{path}:4:25"


# ---------------------------------------------------------------------------
# The library: judge() takes formula answers beside numbers


def test_judge_marks_formulas_and_numbers_in_order() -> None:
    result = gradient("x*y", {"x": 2, "y": 3}, symbolic=False)
    marks = judge(result, parse_expectations(None, ["x=y", "y=2", "y=y"]), ask=how_to_ask)
    assert [(m.label, m.ok, m.formula is not None) for m in marks] == [
        ("∂f/∂x", True, True), ("∂f/∂y", True, False), ("∂f/∂y", False, True)]
    assert marks[2].reason == "this is ∂f/∂x = y: y and x mixed up?"


def test_without_values_judge_formulas_alone_answers_none_when_values_are_complete() -> None:
    answers = parse_expectations(None, ["x=2*x"])
    assert judge_formulas_alone("x^2", {"x": 3.0}, answers) is None
    (mark,) = judge_formulas_alone("x^2", {}, answers) or []
    assert mark.ok and mark.formula.points == FORMULA_POINTS


def test_numbers_and_formulas_are_told_apart() -> None:
    for text in ("0.39", "-1.2e-3", "4", "1,5", "1e"):
        try:
            assert not isinstance(read_answer(text), FormulaAnswer)
        except GradcalcError as err:
            assert "not a number" in err.message
    for text in ("2*x", "x", "1/3", "pi/2", "-x^2"):
        assert isinstance(read_answer(text), FormulaAnswer)


# ---------------------------------------------------------------------------
# Formulas as a diagnosis writes them: the gradient graph's bookkeeping tidied away


@pytest.mark.parametrize(
    ("text", "tidy"),
    [
        ("2.0 * x^(2.0 - 1)", "2*x"),
        ("x*3*y^2", "3*x*y^2"),
        ("(-1)*x*2", "-2*x"),
        ("x*(2*(y*z))", "2*x*y*z"),
        ("0.5*2*x", "x"),
        ("1/3*x", "1/3*x"),
        ("cos(x^2)*(2*x)", "2*x*cos(x^2)"),
        ("x + 0", "x"),
        ("0 - x", "-x"),
        ("x^1 + y^0", "x + 1"),
    ],
)
def test_tidy(text: str, tidy: str) -> None:
    assert tidy_text(parse_expression(text)) == tidy
    assert tidy_text(parse_expression(tidy)) == tidy  # and it parses back to itself


def test_a_gradient_graph_name_written_out() -> None:
    tape = load("exp(sin(x^2))")
    program = gradient_program(tape)
    assert program_formula(program.text, program.gradients["x"]) == "2*x*exp(sin(x^2))*cos(x^2)"
    assert node_formula(tape, tape.output) == "exp(sin(x^2))"


def test_a_formula_too_long_to_show_is_not_written_out() -> None:
    tape = load(" + ".join(f"x^{k}" for k in range(1, 40)))
    assert node_formula(tape, tape.output) is None


def test_without_values_the_verdicts_go_where_output_says(tmp_path: Path) -> None:
    target = tmp_path / "verdicts.json"
    run = cli("grad", "sin(x^2)", "--expect-grad", "x=cos(x^2)", "--no-symbolic", "-o", str(target))
    assert run.exit_code == 1 and run.stdout == ""
    (doc,) = json.loads(target.read_text(encoding="utf-8"))["answers"]
    assert doc["diagnosis"]["formula"] == "2*x"
