"""`gradcalc check` over a class: many files, a shared key, points, CSV, JSON Lines and Gradescope.

The problems are the worked examples of samples/homework.toml: the price with tax (example 1:
f = 440, ∂f/∂a = 4.4, ∂f/∂n = 110, ∂f/∂t = 4), the add and mul gates (example 3: f = -12,
∂f/∂x = ∂f/∂y = -4, ∂f/∂z = 3) and the sigmoid neuron (example 4: f = 0.731, ∂f/∂w0 = -0.197,
∂f/∂x0 = 0.393, ∂f/∂w1 = -0.393).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, cli, strict_json, table_rows

from gradcalc import gradebook
from gradcalc.limits import MAX_CHECK_FILES

KEY = """\
[[problem]]
name = "price with tax"
formula = "(a*n)*(1+t/100)"
values = { a = 100, n = 4, t = 10 }
points = 4                                   # 1 per answer
expect_value = "440"
expect_grad = { a = "4.4", n = "110", t = "4" }

[[problem]]
name = "add and mul gates"
formula = "(x+y)*z"
values = { x = -2, y = 5, z = -4 }
expect_value = "-12"
# the gradients are asked by their points alone: the key need not give them
points = { expect_grad = { x = 2, y = 2, z = 1 } }

[[problem]]
name = "sigmoid neuron"
formula = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
values = { w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3 }
points = { expect_grad = 2 }                 # 2/3 each, and the value 1
expect_value = "0.73"
expect_grad = { w0 = "-0.20", x0 = "0.39", w1 = "-0.39" }
"""
# 4 + (1 + 2 + 2 + 1) + (1 + 2) = 13 points in 12 answers
KEY_POINTS = 13

PRICE = '[[problem]]\nname = "price with tax"\nexpect_value = "440"\nexpect_grad = { a = "4.4", n = "110", t = "4" }\n'
GATES = '[[problem]]\nname = "add and mul gates"\nexpect_value = "-12"\nexpect_grad = { x = "-4", y = "-4", z = "3" }\n'
NEURON = ('[[problem]]\nname = "sigmoid neuron"\nexpect_value = "0.73"\n'
          'expect_grad = { w0 = "-0.20", x0 = "0.39", w1 = "-0.39" }\n')

# Ten hand-ins: (the file, its points, its status); the points from the key's by hand.
CLASS: dict[str, tuple[str, Fraction, str]] = {
    "s01": (PRICE + GATES + NEURON, Fraction(13), "ok"),
    "s02": (PRICE + GATES.replace('x = "-4"', 'x = "4"') + NEURON, Fraction(11), "wrong"),  # the sign of ∂f/∂x
    "s03": (PRICE + GATES, Fraction(10), "wrong"),  # the neuron left out: 3 points
    "s04": ('[[problem]]\nname = "price with tax"\nexpect_value = "440"\nexpect_grad = { a = "4.4" }\n'
            + GATES + NEURON, Fraction(11), "wrong"),  # ∂f/∂n and ∂f/∂t missing
    "s05": ("[[problem]\nname = 'x'\n", Fraction(0), "error"),  # not TOML
    "s06": (PRICE + GATES.replace('name = "add and mul gates"\n', 'name = "add and mul gates"\nformula = "1"\n')
            + NEURON, Fraction(7), "error"),  # overrides the formula: the problem is not graded
    "s07": (PRICE + GATES + NEURON.replace('w0 = "-0.20"', 'w0 = "-0.19"'), Fraction(37, 3), "wrong"),
    "s08": (PRICE + GATES + NEURON + '[[problem]]\nname = "bonus"\nexpect_value = "1"\n', Fraction(13), "error"),
    "s09": (PRICE + GATES.replace('z = "3"', 'z = "3", q = "3"')  # q is not asked: noted, not graded
            + '[[problem]]\nname = "sigmoid neuron"\nexpect_value = 0.73\nexpect_grad = { w0 = -0.20, x0 = 0.39, '
            'w1 = -0.39 }\n', Fraction(13), "ok"),  # bare floats keep their digits
    "s10": ('[[problem]]\nname = "price with tax"\n', Fraction(0), "wrong"),  # nothing answered
}


@pytest.fixture
def a_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """key.toml and submissions/sNN/answers.toml in tmp_path, the working directory (names read as typed)."""
    (tmp_path / "key.toml").write_text(KEY, encoding="utf-8")
    for name, (text, _, _) in CLASS.items():
        (tmp_path / "submissions" / name).mkdir(parents=True)
        (tmp_path / "submissions" / name / "answers.toml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(*args: str) -> Any:
    return cli("check", "--key", "key.toml", *args)


# ---------------------------------------------------------------------------
# Gradescope


def test_each_submission_gets_its_gradescope_results_with_the_exact_score(a_class: Path) -> None:
    run = check("submissions", "--gradescope")
    assert run.exit_code == 2  # s05, s06 and s08 are malformed
    for name, (_, points, _) in CLASS.items():
        doc = strict_json((a_class / "submissions" / name / "results.json").read_text(encoding="utf-8"))
        assert doc["score"] == float(points), name
        assert sum(t["score"] for t in doc["tests"]) == pytest.approx(float(points)), name
        assert f"wrote submissions/{name}/results.json" in run.stderr
    # the Gradescope page of s07: one test per problem, plain text, no true value given away
    doc = strict_json((a_class / "submissions" / "s07" / "results.json").read_text(encoding="utf-8"))
    assert doc["score"] == 12.333333333333334 and doc["output"] == "12.33 of 13 points; 11 of 12 answers right"
    assert (doc["output_format"], doc["test_output_format"], doc["test_name_format"]) == ("text",) * 3
    assert [(t["name"], t["score"], t["max_score"], t["status"]) for t in doc["tests"]] == [
        ("price with tax", 4, 4, "passed"),
        ("add and mul gates", 6, 6, "passed"),
        ("sigmoid neuron", float(Fraction(7, 3)), 3, "failed"),  # 1 + 2/3 + 2/3, added exactly
    ]
    assert doc["tests"][2]["output"].splitlines() == [
        "✓ f = 0.73: right (1 of 1 point)",
        "✗ ∂f/∂w0 = -0.19: not right, judged to 2 decimals (0 of 0.67 points)",
        "✓ ∂f/∂x0 = 0.39: right (0.67 of 0.67 points)",
        "✓ ∂f/∂w1 = -0.39: right (0.67 of 0.67 points)",
    ]
    assert "0.196" not in json.dumps(doc) and "0.197" not in json.dumps(doc)


def test_a_malformed_or_overriding_submission_says_why_on_its_page(a_class: Path) -> None:
    check("submissions", "--gradescope")
    s05 = strict_json((a_class / "submissions" / "s05" / "results.json").read_text(encoding="utf-8"))
    assert s05["score"] == 0 and s05["tests"] == []
    assert s05["output"].splitlines()[:3] == [
        "0 of 13 points; 0 of 12 answers right",
        "This file could not be graded:",
        "error: not valid TOML: expected ']]' at the end of an array declaration",
    ]
    s06 = strict_json((a_class / "submissions" / "s06" / "results.json").read_text(encoding="utf-8"))
    gates = s06["tests"][1]
    assert (gates["score"], gates["max_score"], gates["status"]) == (0, 6, "failed")
    assert gates["output"].splitlines() == [
        "not graded: submissions/s06/answers.toml:7:1: problem 'add and mul gates': formula is the key's to set: "
        "a student's file gives only the problem's name and the answers",
        "hint: delete this line; the problem is graded as the key sets it",
    ]
    s10 = strict_json((a_class / "submissions" / "s10" / "results.json").read_text(encoding="utf-8"))
    assert s10["tests"][0]["output"].splitlines() == [
        "– f: no answer (0 of 1 point)", "– ∂f/∂a: no answer (0 of 1 point)",
        "– ∂f/∂n: no answer (0 of 1 point)", "– ∂f/∂t: no answer (0 of 1 point)",
    ]


def test_one_submission_as_gradescope_runs_it(a_class: Path) -> None:
    """Gradescope runs the autograder once per submission: results.json on stdout, or with -o."""
    run = check("submissions/s02/answers.toml", "--gradescope")
    assert run.exit_code == 1
    doc = strict_json(run.stdout)
    assert doc["score"] == 11 and [t["score"] for t in doc["tests"]] == [4, 4, 3]
    out = a_class / "results.json"
    run = check("submissions/s02/answers.toml", "-o", str(out), "--format", "gradescope")
    assert run.exit_code == 1 and strict_json(out.read_text(encoding="utf-8")) == doc


def test_gradescope_refuses_what_it_cannot_hold(a_class: Path) -> None:
    run = check("submissions", "--gradescope", "-o", "results.json")
    assert run.exit_code == 2
    assert strict_json(run.stdout)["error"]["message"] == (
        "--gradescope with --output: a results.json holds one submission, and 10 files are given")
    (a_class / "submissions" / "s01" / "late.toml").write_text(PRICE, encoding="utf-8")
    run = check("submissions", "--gradescope")
    assert run.exit_code == 2 and "are in one directory" in strict_json(run.stdout)["error"]["message"]
    assert not list(a_class.glob("submissions/*/results.json"))  # refused before anything is written
    run = check("submissions/s01/answers.toml", "--gradescope", "-o", "results.txt")
    assert run.exit_code == 2 and strict_json(run.stdout)["error"]["hint"] == "name the file results.json, as " \
        "Gradescope reads it"


def test_a_planted_link_is_not_written_through(a_class: Path) -> None:
    precious = a_class / "precious.txt"
    precious.write_text("keep me", encoding="utf-8")
    (a_class / "submissions" / "s01" / "results.json").symlink_to(precious)
    run = check("submissions", "--gradescope")
    assert "error: submissions/s01/results.json is a symbolic link: not written" in run.stderr
    assert precious.read_text(encoding="utf-8") == "keep me" and run.exit_code == 2


# ---------------------------------------------------------------------------
# The table, JSON, JSON Lines and CSV


def test_the_summary_table_has_each_file_its_answers_and_points(a_class: Path) -> None:
    run = check("submissions", "--summary")
    assert run.exit_code == 2
    assert run.stdout.splitlines()[0] == "Key key.toml: 3 problems, 12 answers, 13 points"
    rows = table_rows(run.stdout, "file")
    assert {name: row[0][1:] for name, row in rows.items()} == {
        "submissions/s01/answers.toml": ["12/12", "13/13", "✓", "all right"],
        "submissions/s02/answers.toml": ["11/12", "11/13", "✗", "not all right"],
        "submissions/s03/answers.toml": ["8/12", "10/13", "✗", "not all right"],
        "submissions/s04/answers.toml": ["10/12", "11/13", "✗", "not all right"],
        "submissions/s05/answers.toml": ["0/12", "0/13", "✗", "not graded in full"],
        "submissions/s06/answers.toml": ["8/12", "7/13", "✗", "not graded in full"],
        "submissions/s07/answers.toml": ["11/12", "12.33/13", "✗", "not all right"],
        "submissions/s08/answers.toml": ["12/12", "13/13", "✗", "not graded in full"],
        "submissions/s09/answers.toml": ["12/12", "13/13", "✓", "all right"],
        "submissions/s10/answers.toml": ["0/12", "0/13", "✗", "not all right"],
    }
    assert run.stdout.splitlines()[-1] == (
        "✗ 10 files: 2 all right, 5 with answers wrong or missing, 3 not graded in full")
    # the errors, each with its line and caret, on standard error
    assert "error: problem 'bonus': the key has no problem of this name" in run.stderr
    assert " --> submissions/s06/answers.toml:7:1" in run.stderr


def test_each_files_table_marks_every_asked_answer(a_class: Path) -> None:
    run = check("submissions/s04/answers.toml", "submissions/s09/answers.toml")
    assert run.exit_code == 1
    s04 = run.stdout.split("Answers in submissions/s09")[0]
    rows = table_rows(s04, "problem")
    assert [r[1:] for r in rows["price with tax"]] == [
        ["f", "440", "440", "±0.5 (the units digit)", "✓", "1/1", ""],
        ["∂f/∂a", "4.4", "4.4", "±0.05 (1 decimal)", "✓", "1/1", ""],
        ["∂f/∂n", "—", "", "", "–", "0/1", "no answer"],
        ["∂f/∂t", "—", "", "", "–", "0/1", "no answer"],
    ]
    assert [r[6] for r in rows["sigmoid neuron"]] == ["1/1", "0.67/0.67", "0.67/0.67", "0.67/0.67"]
    assert "✗ submissions/s04/answers.toml: 10 of 12 answers right, 11 of 13 points (no answer: ∂f/∂n, ∂f/∂t)" in s04
    assert ("[add and mul gates] line 8, column 46: expect_grad.q is not asked in this problem and is not graded "
            "(asked: expect_value, expect_grad.x, expect_grad.y, expect_grad.z)") in run.stdout


def test_json_has_every_file_with_its_points_and_the_totals(a_class: Path) -> None:
    run = check("submissions", "--json")
    assert run.exit_code == 2
    doc = run.json()
    assert doc["key"] == {"file": "key.toml", "problems": ["price with tax", "add and mul gates", "sigmoid neuron"],
                          "answers": 12, "max_points": 13, "warnings": []}
    assert [(f["file"], f["points"], f["status"]) for f in doc["files"]] == [
        (f"submissions/{name}/answers.toml", float(points) if points.denominator > 1 else int(points), status)
        for name, (_, points, status) in CLASS.items()
    ]
    assert doc["totals"] == {"files": 10, "all_right": 2, "wrong": 5, "errors": 3, "right": 84, "answers": 120,
                             "points": float(Fraction(271, 3)), "max_points": 130}
    s02 = doc["files"][1]
    x = s02["problems"][1]["answers"][1]
    assert {k: x[k] for k in ("label", "claimed", "true_value", "ok", "reason", "status", "points", "max_points")} \
        == {"label": "∂f/∂x", "claimed": "4", "true_value": -4.0, "ok": False, "reason": "the sign is flipped",
            "status": "wrong", "points": 0, "max_points": 2}
    s10 = doc["files"][9]["problems"][2]["answers"][0]
    assert (s10["label"], s10["claimed"], s10["status"], s10["max_points"]) == ("f", None, "no answer", 1)
    s05 = doc["files"][4]
    assert s05["error"]["message"] == "not valid TOML: expected ']]' at the end of an array declaration"
    assert (s05["error"]["line"], s05["problems"], s05["max_points"]) == (1, [], 13)


def test_json_lines_is_one_document_per_file(a_class: Path) -> None:
    run = check("submissions", "--jsonl")
    lines = run.stdout.splitlines()
    assert len(lines) == 10 and run.exit_code == 2
    docs = [strict_json(line) for line in lines]
    assert docs == check("submissions", "--json").json()["files"]


def test_csv_is_one_row_per_file_and_answer(a_class: Path) -> None:
    run = check("submissions", "--csv")
    assert run.exit_code == 2
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert list(rows[0]) == ["file", "problem", "answer", "status", "yours", "true_value", "points", "max_points",
                             "judged_to", "why"]
    s02 = [r for r in rows if r["file"] == "submissions/s02/answers.toml"]
    assert len(s02) == 12 and s02[5] == {
        "file": "submissions/s02/answers.toml", "problem": "add and mul gates", "answer": "∂f/∂x", "status": "wrong",
        "yours": "4", "true_value": "-4.0", "points": "0", "max_points": "2", "judged_to": "±0.5 (the units digit)",
        "why": "the sign is flipped"}
    s07 = [r for r in rows if r["file"] == "submissions/s07/answers.toml"]
    assert [r["points"] for r in s07[-3:]] == ["0", "0.6666666666666666", "0.6666666666666666"]
    (s05,) = [r for r in rows if r["file"] == "submissions/s05/answers.toml"]
    assert (s05["problem"], s05["status"], s05["max_points"]) == ("", "error", "13")
    (s06,) = [r for r in rows if r["file"] == "submissions/s06/answers.toml" and r["status"] == "error"]
    assert (s06["problem"], s06["answer"], s06["max_points"]) == ("add and mul gates", "", "6")
    assert sum(float(r["points"]) for r in rows) == pytest.approx(90 + 1 / 3)
    path = a_class / "report.csv"
    assert check("submissions", "-o", str(path)).exit_code == 2 and path.read_text(encoding="utf-8") == run.stdout


# ---------------------------------------------------------------------------
# The key and the students' files


def test_a_student_cannot_change_the_problem(a_class: Path) -> None:
    sheet = a_class / "sneaky.toml"
    sheet.write_text('[[problem]]\nname = "add and mul gates"\nformula = "1"\nvalues = { x = 1 }\n'
                     'expect_value = "1"\n\n' + PRICE, encoding="utf-8")
    run = check(str(sheet), "--json")
    assert run.exit_code == 2
    (doc,) = run.json()["files"]
    gates = doc["problems"][1]
    assert gates["status"] == "error" and gates["points"] == 0 and gates["max_points"] == 6
    assert gates["error"]["where"] == f"{sheet}:3:1"  # the first key it may not set
    assert doc["problems"][0]["points"] == 4  # the rest of the file is graded
    for key, value in (("values", "{ x = 1 }"), ("points", "100"), ("rtol", "1"), ("tie", '"all"'),
                       ("output", '"q"'), ("program", '"f = 1"')):
        sheet.write_text(f'[[problem]]\nname = "add and mul gates"\n{key} = {value}\n', encoding="utf-8")
        err = check(str(sheet), "--json").json()["files"][0]["problems"][1]["error"]
        assert err["message"] == (f"problem 'add and mul gates': {key} is the key's to set: a student's file gives "
                                  "only the problem's name and the answers"), key
        assert (err["line"], err["column"]) == (3, 1)


def test_a_student_file_naming_no_problem_of_the_key(a_class: Path) -> None:
    sheet = a_class / "typo.toml"
    sheet.write_text('[[problem]]\nname = "add and mull gates"\nexpect_value = "-12"\n', encoding="utf-8")
    run = check(str(sheet))
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [
        "error: problem 'add and mull gates': the key has no problem of this name",
        f" --> {sheet}:2:8",
        "  |",
        '2 | name = "add and mull gates"',
        "  |        ^^^^^^^^^^^^^^^^^^^^",
        "hint: did you mean 'add and mul gates'?",
    ]


def test_a_broken_key_grades_nothing(a_class: Path) -> None:
    key = a_class / "key.toml"
    key.write_text(KEY.replace("points = 4 ", "points = -4") + '[[problem]]\nname = "w"\nformula = "x"\n'
                   'values = { x = 1 }\n', encoding="utf-8")
    run = check("submissions")
    assert run.exit_code == 2 and run.stdout == ""
    assert run.stderr.splitlines()[0] == "error: problem 'price with tax': points is negative: points are 0 or more"
    assert "error: problem 'w': the key asks no answers" in run.stderr
    assert run.stderr.splitlines()[-1] == "error: the key key.toml has 2 errors: nothing was graded"
    err = check("submissions", "--json").json()["error"]
    assert err["message"] == "problem 'price with tax': points is negative: points are 0 or more"
    assert err["hint"] == "an answer that counts for nothing is 0; the key has 1 more error"


def test_the_keys_own_wrong_answer_is_a_warning_not_a_grade(a_class: Path) -> None:
    (a_class / "key.toml").write_text(KEY.replace('expect_value = "440"', 'expect_value = "450"'), encoding="utf-8")
    run = check("submissions/s01/answers.toml")
    assert run.exit_code == 0  # the student is judged against the computed 440
    assert ("warning: problem 'price with tax': the key's answer f = 450 is not right (students are judged against "
            "the computed value)") in run.stdout


def test_points_naming_an_answer_the_formula_lacks_is_a_key_error(a_class: Path) -> None:
    (a_class / "key.toml").write_text(KEY.replace("{ x = 2, y = 2, z = 1 }", "{ x = 2, y = 2, w = 1 }"),
                                      encoding="utf-8")
    err = check("submissions", "--json").json()["error"]
    assert err["message"] == ("problem 'add and mul gates': points name an answer that cannot be given: 'w' is not "
                              "a variable of the formula")


# ---------------------------------------------------------------------------
# Points in a whole answer file


PROBLEM = """\
[[problem]]
name = "gates"
formula = "(x+y)*z"
values = { x = -2, y = 5, z = -4 }
expect_value = "-12"
expect_grad = { x = "4", y = "-4", z = "3" }
"""


@pytest.mark.parametrize(("points", "earned", "worth"), [
    ("", 3, 4),  # 1 per answer; ∂f/∂x is wrong
    ("points = 2\n", 1.5, 2),  # 0.5 each
    ("points = { expect_value = 2 }\n", 4, 5),
    ("points = { expect_grad = 6 }\n", 5, 7),  # 2 per gradient, 1 for the value
    ("points = { expect_grad = { x = 3, z = 0.5 } }\n", 2.5, 5.5),  # y keeps 1
    ("points = { expect_value = 0, expect_grad = { x = 1.5 } }\n", 2, 3.5),
    ("points.expect_grad.x = 10\n", 3, 13),  # a dotted key is the same table
])
def test_points_per_problem_and_per_answer(tmp_path: Path, points: str, earned: float, worth: float) -> None:
    path = tmp_path / "hw.toml"
    path.write_text(PROBLEM + points, encoding="utf-8")
    doc = cli("check", str(path), "--jsonl").json()
    assert (doc["points"], doc["max_points"]) == (earned, worth)
    assert [a["points"] for a in doc["problems"][0]["answers"]][1] == 0  # ∂f/∂x, wrong


def test_a_single_file_with_points_says_them_in_its_summary(tmp_path: Path) -> None:
    path = tmp_path / "hw.toml"
    path.write_text(PROBLEM + "points = 2\n", encoding="utf-8")
    run = cli("check", str(path))
    assert "gates: 3 of 4 right; wrong: ∂f/∂x (1.5 of 2 points)" in run.stdout
    assert run.stdout.splitlines()[-1] == "✗ total: 3 of 4 answers right in 1 problem; 1.5 of 2 points"
    doc = cli("check", str(path), "--json").json()
    assert (doc["points"], doc["max_points"], doc["problems"][0]["points"]) == (1.5, 2.0, 1.5)


@pytest.mark.parametrize(("points", "message", "where"), [
    ("points = -1", "points is negative: points are 0 or more", (7, 10)),
    ('points = "2"', "points must be a number of points, not a string", (7, 10)),
    ("points = true", "points must be a number of points, not true/false", (7, 10)),
    ("points = nan", "points must be a finite number of points, not nan", (7, 10)),
    ("points = inf", "points must be a finite number of points, not inf", (7, 10)),
    ("points = 1e7", "points is more than the limit of 1,000,000 points", (7, 10)),
    ("points = { expect_grad = { x = -1 } }", "points.expect_grad.x is negative: points are 0 or more", (7, 32)),
    ("points = { expect_grad = [1] }", "points.expect_grad must be a number of points, not an array", (7, 26)),
    ("points = { grad = 1 }", "points.grad: the keys of points are the answer keys", (7, 12)),
    ("points = { expect_grad = { w = 1 } }", "points name expect_grad.w, which this problem does not answer",
     (7, 28)),
    ("points = { expect_upstream = 1 }", "points.expect_upstream: the problem has no expect_upstream answers to give "
     "these points to", (7, 12)),
])
def test_bad_points_are_located_errors(tmp_path: Path, points: str, message: str, where: tuple[int, int]) -> None:
    path = tmp_path / "hw.toml"
    path.write_text(PROBLEM + points + "\n", encoding="utf-8")
    run = cli("check", str(path), "--json")
    assert run.exit_code == 2
    err = run.json()["problems"][0]["error"]
    assert err["message"] == f"problem 'gates': {message}"
    assert (err["line"], err["column"]) == where


# ---------------------------------------------------------------------------
# Exit codes, directories and limits


def test_exit_codes_0_all_right_1_wrong_or_missing_2_malformed_wins(a_class: Path) -> None:
    s = "submissions/{}/answers.toml".format
    assert check(s("s01"), s("s09")).exit_code == 0
    assert check(s("s01"), s("s02")).exit_code == 1
    assert check(s("s10")).exit_code == 1  # nothing answered is wrong, not malformed
    assert check(s("s02"), s("s05"), s("s01")).exit_code == 2
    assert check(s("s08")).exit_code == 2
    assert check(s("s01"), "missing.toml").exit_code == 2
    assert cli("check", s("s01")).exit_code == 2  # without the key, a sheet has no formulas


def test_a_directory_is_its_toml_files_sorted_hidden_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("b/2.toml", "b/10.toml", "a.toml", "B.toml", "b/c/1.toml", ".hidden/x.toml", "b/.x.toml",
                 "b/notes.txt", "c.toml/inside.toml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(PROBLEM.replace('"4"', '"-4"'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    found = [str(f.path) for f in gradebook.answer_files([Path(".")])]
    assert found == ["B.toml", "a.toml", "b/10.toml", "b/2.toml", "b/c/1.toml", "c.toml/inside.toml"]
    run = cli("check", ".", "b/2.toml", "--jsonl")  # a file given twice is graded once
    assert run.exit_code == 0 and len(run.stdout.splitlines()) == 6


def test_links_are_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret.toml").write_text("[[problem]]\nname = 'the grader\\'s secret'\n", encoding="utf-8")
    (tmp_path / "class" / "s1").mkdir(parents=True)
    (tmp_path / "class" / "s1" / "answers.toml").symlink_to(tmp_path / "secret.toml")
    (tmp_path / "class" / "s2").symlink_to(tmp_path)
    monkeypatch.chdir(tmp_path)
    run = cli("check", "class", "--jsonl")
    docs = [strict_json(line) for line in run.stdout.splitlines()]
    assert [(d["file"], d["error"]["message"]) for d in docs] == [  # a level's links and files, then its directories
        ("class/s2", "class/s2 is a symbolic link: not read"),
        ("class/s1/answers.toml", "class/s1/answers.toml is a symbolic link: not read"),
    ]
    assert "secret" not in run.stdout.replace("secret.toml", "") and run.exit_code == 2


def test_more_files_than_the_limit_is_exit_2_with_the_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_CHECK_FILES == 10_000
    monkeypatch.setattr(gradebook, "MAX_CHECK_FILES", 3)
    for k in range(4):
        (tmp_path / f"{k}.toml").write_text(PROBLEM, encoding="utf-8")
    run = cli("check", str(tmp_path), "--json")
    assert run.exit_code == 2
    assert run.json()["error"] == {"message": "more than 3 answer files to grade, the limit", "kind": "limit",
                                   "span": None, "line": None, "column": None,
                                   "hint": "grade the class in parts, a directory at a time", "source": None}
    monkeypatch.setattr(gradebook, "MAX_CHECK_ENTRIES", 2)
    monkeypatch.setattr(gradebook, "MAX_CHECK_FILES", 10)
    err = cli("check", str(tmp_path), "--json").json()["error"]
    assert err["message"] == "the directories hold more than 2 entries, the limit of what is looked at"


def test_an_empty_directory_is_bad_input(tmp_path: Path) -> None:
    run = cli("check", str(tmp_path))
    assert run.exit_code == 2 and f"error: {tmp_path} holds no *.toml answer files" in run.stderr


def test_two_formats_at_once_are_refused() -> None:
    run = cli("check", "x.toml", "--csv", "--jsonl")
    assert run.exit_code == 2
    assert strict_json(run.stdout)["error"]["message"] == "csv and jsonl asked for together: choose one format"


# ---------------------------------------------------------------------------
# Hostile strings: every format escapes them its own way

HOSTILE = "\x1b[2J\x1b[31m=cmd|' /C calc'!A0 <script>alert(1)</script> **bold** [x](http://e)\u202e"


def hostile_file(tmp_path: Path) -> Path:
    name = json.dumps(HOSTILE)  # a TOML basic string: the same escapes as JSON's
    path = Path("@evil=1+2.toml")  # in the working directory, tmp_path
    path.write_text(f"[[problem]]\nname = {name}\nformula = \"x*y\"\nvalues = {{ x = 2, y = 3 }}\n"
                    'expect_value = "7"\n\n[[problem]]\nname = "=HYPERLINK(\\"http://e\\")"\nformula = "x"\n'
                    'values = { x = 1 }\nexpect_value = "-1"\n', encoding="utf-8")
    return path


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_hostile_names_are_spelled_out_in_tables(in_tmp: Path) -> None:
    tmp_path = in_tmp
    run = cli("check", str(hostile_file(tmp_path)), str(hostile_file(tmp_path)) + "x")
    assert "\x1b" not in run.stdout + run.stderr and "\u202e" not in run.stdout + run.stderr
    assert "\\x1b[2J\\x1b[31m=cmd|' /C calc'!A0 <script>alert(1)</script> **bold** [x](http://e)U+202E" in run.stdout


def test_hostile_names_in_csv_are_text_never_formulas(in_tmp: Path) -> None:
    run = cli("check", str(hostile_file(in_tmp)), "--csv")
    rows = list(csv.reader(io.StringIO(run.stdout)))[1:]
    assert [r[1] for r in rows] == [
        "\\x1b[2J\\x1b[31m=cmd|' /C calc'!A0 <script>alert(1)</script> **bold** [x](http://e)U+202E",
        "'=HYPERLINK(\"http://e\")",
    ]
    assert [r[0] for r in rows] == ["'@evil=1+2.toml"] * 2
    assert [r[4] for r in rows] == ["7", "-1"]  # a plain number stays a number
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not cell.startswith("-") or re.fullmatch(r"-[0-9.e+-]+", cell), cell


def test_csv_cells_that_start_like_formulas_get_an_apostrophe() -> None:
    from gradcalc.render.escape import csv_cell

    assert [csv_cell(c) for c in ("=1+2", "+A1", "-1+2", "@SUM(A1)", "\t=1", "-0.20", "4.87e-2", "+3", "a=b",
                                  "x\ny", "\x1b[31m")] == [
        "'=1+2", "'+A1", "'-1+2", "'@SUM(A1)", "'\\x09=1", "-0.20", "4.87e-2", "+3", "a=b", "x y", "\\x1b[31m"]


def test_hostile_names_in_json_and_gradescope_are_plain_escaped_text(in_tmp: Path) -> None:
    path = hostile_file(in_tmp)
    for args in (("--json",), ("--jsonl",), ("--gradescope",)):
        run = cli("check", str(path), *args)
        assert "\x1b" not in run.stdout and "\u202e" not in run.stdout, args
        strict_json(run.stdout.splitlines()[0] if args == ("--jsonl",) else run.stdout)
    doc = strict_json(cli("check", str(path), "--gradescope").stdout)
    assert doc["tests"][0]["name"] == (
        "\\x1b[2J\\x1b[31m=cmd|' /C calc'!A0 <script>alert(1)</script> **bold** [x](http://e)U+202E")
    assert doc["test_name_format"] == "text"  # shown as typed: Gradescope reads no HTML or Markdown in it
    json_doc = cli("check", str(path), "--json").json()
    assert json_doc["problems"][0]["name"] == HOSTILE  # JSON keeps the string, its invisible characters \u-escaped
    assert "\\u001b" in cli("check", str(path), "--json").stdout


# ---------------------------------------------------------------------------
# Performance: a class is graded in one process, SymPy is never imported without --sympy


def test_grading_a_class_does_not_import_sympy(a_class: Path) -> None:
    code = ("import sys; from gradcalc.cli import main; main(['check', '--key', 'key.toml', 'submissions', "
            "'--summary']); main(['check', 'submissions/s01/answers.toml', 'key.toml', '--csv']); "
            "print('sympy' in sys.modules, file=open('mods.txt', 'w'))")
    subprocess.run([sys.executable, "-c", code], cwd=a_class, capture_output=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (a_class / "mods.txt").read_text() == "False\n"


def test_each_key_problem_is_computed_once(a_class: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gradcalc import api

    calls = []
    real = api.gradient

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "gradient", counting)
    assert check("submissions", "--summary").exit_code == 2
    assert len(calls) == 3  # the key's three problems, for ten students


# ---------------------------------------------------------------------------
# The page docs/check-a-class.md: its transcripts are real runs

DOC = ROOT / "docs" / "check-a-class.md"


def doc_transcripts() -> list[tuple[str, str, int]]:
    found: list[tuple[str, str, int]] = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        steps: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
        for cmd, out in steps:
            if cmd == "echo $?":
                found[-1] = (found[-1][0], found[-1][1], int(out[0]))
            else:
                found.append((cmd, "\n".join(out), -1))
    return found


TRANSCRIPTS = doc_transcripts() if DOC.exists() else []


def test_the_page_has_transcripts() -> None:
    assert len(TRANSCRIPTS) >= 6 and {code for _, _, code in TRANSCRIPTS} >= {1, 2}
    assert all(code >= 0 for cmd, _, code in TRANSCRIPTS if "|" not in cmd)  # a pipe's code is its last command's


@pytest.mark.parametrize(("command", "expected", "exit_code"), TRANSCRIPTS, ids=[t[0][:60] for t in TRANSCRIPTS])
def test_doc_transcript(command: str, expected: str, exit_code: int) -> None:
    bindir = Path(sys.executable).parent
    if not (bindir / "gradcalc").exists():
        pytest.skip("the gradcalc script is not installed next to this Python")
    assert command.startswith("gradcalc check ") and ">" not in command  # and so writes no file
    if "| jq" in command and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    output = proc.stdout + proc.stderr
    assert [line.rstrip() for line in output.rstrip("\n").splitlines()] == expected.splitlines()
    if exit_code >= 0:
        assert proc.returncode == exit_code
