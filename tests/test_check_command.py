"""Homework mode from the command line: answers on `gradcalc grad`, and `gradcalc check FILE.toml`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from conftest import EXAMPLES, NEURON, SAMPLES, cli, table_rows

NEURON_ARGS = ["grad", "1/(1+exp(-(w0*x0+w1*x1+w2)))", *[f"{k}={v:g}" for k, v in NEURON.items()]]
LECTURE = ["--expect-value", "0.73", "--expect-grad", "w0=-0.20", "--expect-grad", "x0=0.39",
           "--expect-grad", "w1=-0.39", "--expect-grad", "x1=-0.59", "--expect-grad", "w2=0.20"]  # fmt: skip
EXAMPLE_8 = str(SAMPLES / "08-network-2-2-2.grad")


# ---------------------------------------------------------------------------
# gradcalc grad --expect-...


def test_the_lectures_rounded_answers_are_all_right() -> None:
    run = cli(*NEURON_ARGS, *LECTURE)
    assert run.exit_code == 0, run.stdout + run.stderr
    rows = table_rows(run.stdout, "answer")
    assert list(rows) == ["f", "∂f/∂w0", "∂f/∂x0", "∂f/∂w1", "∂f/∂x1", "∂f/∂w2"]
    assert rows["∂f/∂x0"][0][1:5] == ["0.39", "0.393224", "±0.005 (2 decimals)", "✓"]
    assert "✓ all 6 answers right" in run.stdout


def test_an_answer_with_one_digit_too_many_is_wrong() -> None:
    run = cli(*NEURON_ARGS, "--no-symbolic", "--expect-grad", "x0=0.40")
    assert run.exit_code == 1
    (row,) = table_rows(run.stdout, "answer")["∂f/∂x0"]
    assert row[1:5] == ["0.40", "0.393224", "±0.005 (2 decimals)", "✗"]
    assert row[5] == "rounded wrong: right to 1 decimal, but 0.393224 rounds to 0.39"
    assert "✗ 0 of 1 answers right; wrong: ∂f/∂x0" in run.stdout


def test_a_flipped_sign_is_named_and_the_chain_shown() -> None:
    run = cli(*NEURON_ARGS, "--no-symbolic", "--expect-grad", "w0=0.20")
    assert run.exit_code == 1
    (row,) = table_rows(run.stdout, "answer")["∂f/∂w0"]
    assert row[1:6] == ["0.20", "-0.196612", "±0.005 (2 decimals)", "✗", "the sign is flipped"]
    lines = run.stdout.splitlines()
    k = lines.index("✗ ∂f/∂w0: you gave 0.20, the true value is -0.196612 (the sign is flipped)")
    assert lines[k + 1 : k + 5] == [
        "  the chain rule along the one path from f down to w0:",
        "    ∂f/∂w0 = ∂f/∂g · ∂g/∂v · ∂v/∂u · ∂u/∂t · ∂t/∂s · ∂s/∂q · ∂q/∂w0",
        "           = (-0.534447) · (1) · (0.367879) · (-1) · (1) · (1) · (-1)",
        "           = -0.196612",
    ]


def test_where_it_first_goes_wrong_from_intermediate_answers() -> None:
    run = cli("grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--no-symbolic",
              "--expect", "q=3", "--expect-upstream", "q=-4", "--expect-grad", "x=4")  # fmt: skip
    assert run.exit_code == 1
    rows = table_rows(run.stdout, "answer")
    assert [r[0][4] for r in rows.values()] == ["✗", "✓", "✓"]
    assert ("  where: your upstream answers along the chain are right down to ∂f/∂q; so the slip is in the gate "
            "q = x + y, whose local gradient is ∂q/∂x = 1") in run.stdout.splitlines()


def test_brief_output_lists_the_answers() -> None:
    run = cli(*NEURON_ARGS, "--no-symbolic", "--brief", "--expect-grad", "w0=0.20", "--expect-value", "0.73")
    assert run.exit_code == 1
    assert run.stdout.splitlines()[-2:] == [
        "✓ f: 0.73 (true 0.731059)",
        "✗ ∂f/∂w0: 0.20 (true -0.196612): the sign is flipped",
    ]


def test_json_has_the_answers() -> None:
    run = cli(*NEURON_ARGS, "--no-symbolic", "--json", "--expect-grad", "x0=0.40", "--expect-value", "0.73")
    assert run.exit_code == 1
    doc = run.json()
    value, x0 = doc["answers"]
    assert value == {
        "what": "value", "name": "f", "label": "f", "claimed": "0.73", "claimed_value": 0.73,
        "true_value": pytest.approx(0.7310585786300049, rel=1e-12), "tolerance": 0.005, "rule": "2 decimals",
        "ok": True, "reason": None, "chain": None,
    }  # fmt: skip
    assert x0["what"] == "grad" and x0["name"] == "x0" and x0["claimed"] == "0.40" and x0["ok"] is False
    assert x0["true_value"] == pytest.approx(0.3932238664829637, rel=1e-12)
    assert x0["reason"].startswith("rounded wrong")
    (path,) = x0["chain"]["paths"]
    assert [f["input"] for f in path["factors"]] == ["g", "v", "u", "t", "s", "q", "x0"]
    assert path["product"] == pytest.approx(0.3932238664829637, rel=1e-12) and path["omitted"] == 0
    assert doc["answers_right"] == 1
    assert doc["gradients"]["x0"] == pytest.approx(0.3932238664829637, rel=1e-12)  # the usual document is intact


def test_rtol_overrides_the_digits() -> None:
    args = ["grad", "w*x+b", "w=-2", "x=5", "b=3", "--no-symbolic", "--brief", "--expect-grad", "w=5.04"]
    assert cli(*args).exit_code == 1  # two decimals: 5.04 is not 5
    assert cli(*args, "--rtol", "0.01").exit_code == 0
    assert cli(*args, "--atol", "0.01").exit_code == 1
    assert cli(*args, "--atol", "0.05").exit_code == 0


def test_one_step_of_gradient_descent_on_example_8() -> None:
    run = cli("grad", "--file", EXAMPLE_8, "--no-symbolic", "--lr", "0.5", "--json")
    assert run.exit_code == 0
    doc = run.json()
    assert abs(doc["updated"]["w5"] - 0.2256272061831281) < 1e-12
    assert doc["learning_rate"] == 0.5 and len(doc["updated"]) == 10
    assert "answers" not in doc


def test_the_step_as_a_table_and_for_chosen_params() -> None:
    run = cli("grad", "--file", EXAMPLE_8, "--no-symbolic", "--lr", "0.5", "--params", "w5,w6")
    assert run.exit_code == 0
    rows = table_rows(run.stdout, "variable")  # the first such table is the gradient table
    assert "w5" in rows
    tail = run.stdout.split("One step of gradient descent")[1]
    step = table_rows(tail, "variable")
    assert list(step) == ["w5", "w6"]
    assert step["w5"][0][1:] == ["0.25", "0.0487456", "0.225627"]
    doc = cli("grad", "--file", EXAMPLE_8, "--no-symbolic", "--lr", "0.5", "--params", "w5", "--json").json()
    assert list(doc["updated"]) == ["w5"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expect-grad", "hidden=1"], "'hidden' is not a variable of the formula"),
        (["--expect-grad", "v=1"], "'v' is an intermediate node"),
        (["--expect-grad", "x0"], "--expect-grad expects NAME=NUMBER"),
        (["--expect-value", "abc"], "'abc' is not a number"),
        (["--expect", "nope=1"], "there is no node called 'nope'"),
        (["--params", "w0"], "--params needs --lr"),
        (["--lr", "0.1", "--params", "zz"], "--params names 'zz'"),
    ],
)
def test_bad_answers_are_input_errors(args: list[str], message: str) -> None:
    run = cli(*NEURON_ARGS, "--no-symbolic", *args)
    assert run.exit_code == 2
    assert run.stderr.startswith(f"error: {message}")
    assert "Traceback" not in run.stderr
    run = cli(*NEURON_ARGS, "--no-symbolic", "--json", *args)
    assert run.exit_code == 2 and run.json()["error"]["message"].startswith(message)


def test_a_negative_answer_after_an_option() -> None:
    run = cli("grad", "x*y", "x=2", "y=-3", "--no-symbolic", "--brief", "--expect-value", "-6", "--expect-grad",
              "x=-3")  # fmt: skip
    assert run.exit_code == 0, run.stderr


# ---------------------------------------------------------------------------
# gradcalc check FILE.toml


def test_the_sample_answer_file_is_all_right() -> None:
    run = cli("check", str(SAMPLES / "homework.toml"))
    assert run.exit_code == 0, run.stdout
    assert "✓ total:" in run.stdout and "could not be graded" not in run.stdout
    doc = cli("check", str(SAMPLES / "homework.toml"), "--json").json()
    assert doc["ok"] is True and doc["errors"] == 0 and doc["right"] == doc["total"] >= 50


def test_the_sample_answer_file_covers_examples_1_to_9() -> None:
    problems = tomllib.loads((SAMPLES / "homework.toml").read_text(encoding="utf-8"))["problem"]
    formulas = {p.get("formula") for p in problems}
    for example in EXAMPLES:
        assert example.formula in formulas, example.number
    assert any("h1 = sigmoid" in p.get("program", "") for p in problems)  # example 8 with named intermediates
    [vectorized] = [p for p in problems if "W @ x" in p.get("program", "")]  # example 9, element by element
    assert vectorized["expect_grad"]["W[1, 0]"] == "0.104" and vectorized["expect_grad"]["x[1]"] == "0.636"


def test_the_wrong_sample_names_its_wrong_answer() -> None:
    run = cli("check", str(SAMPLES / "homework-wrong.toml"))
    assert run.exit_code == 1
    assert "add and mul gates: 5 of 6 right; wrong: ∂f/∂x" in run.stdout
    assert "sigmoid neuron: 6 of 6 right" in run.stdout
    assert "[add and mul gates] ✗ ∂f/∂x: you gave 4, the true value is -4 (the sign is flipped)" in run.stdout
    doc = cli("check", str(SAMPLES / "homework-wrong.toml"), "--json").json()
    wrong = [(p["name"], a["label"]) for p in doc["problems"] for a in p["answers"] if not a["ok"]]
    assert wrong == [("add and mul gates", "∂f/∂x")]
    assert doc["right"] == 11 and doc["total"] == 12 and doc["ok"] is False


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "answers.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_all_right_exits_0_and_one_wrong_exits_1(tmp_path: Path) -> None:
    problem = '[[problem]]\nname = "linear"\nformula = "w*x+b"\nvalues = { w = -2, x = 5, b = 3 }\n'
    path = write(tmp_path, problem + 'expect_value = -7\nexpect_grad = { w = 5, x = "-2", b = 1.0 }\n')
    run = cli("check", path)
    assert run.exit_code == 0
    assert "linear: 4 of 4 right" in run.stdout
    path = write(tmp_path, problem + 'expect_value = -7\nexpect_grad = { w = 5, x = "2", b = 1.0 }\n')
    run = cli("check", path)
    assert run.exit_code == 1
    assert "linear: 3 of 4 right; wrong: ∂f/∂x" in run.stdout


def test_a_malformed_file_exits_2_with_a_located_message(tmp_path: Path) -> None:
    path = write(tmp_path, '[[problem]]\nformula = "x*y"\nexpect_grad = { x = 3, y = 2\n')
    run = cli("check", path)
    assert run.exit_code == 2
    assert run.stderr.splitlines()[:2] == ["error: not valid TOML: unclosed inline table", f" --> {path}:3:29"]
    assert run.stdout == ""
    run = cli("check", path, "--json")
    assert run.exit_code == 2
    error = run.json()["error"]
    assert (error["line"], error["column"], error["source"]) == (3, 29, path)


def test_a_malformed_problem_is_a_row_and_the_rest_are_graded(tmp_path: Path) -> None:
    text = (
        '[[problem]]\nname = "typo"\nformula = "w*x"\nvalues = { w = 2, x = 3 }\nexpect_grads = { w = 3 }\n\n'
        '[[problem]]\nname = "bad formula"\nformula = "w*(x"\nvalues = { w = 2, x = 3 }\nexpect_value = 6\n\n'
        '[[problem]]\nname = "fine"\nformula = "w*x"\nvalues = { w = 2, x = 3 }\nexpect_value = 6\n'
    )
    path = write(tmp_path, text)
    run = cli("check", path)
    assert run.exit_code == 2
    rows = table_rows(run.stdout, "problem")
    assert rows["typo"][0][5] == "error"
    why = " ".join(line[6] for line in rows["typo"])  # the cell may wrap
    assert why.startswith(f"{path}:5:1:") and why.endswith("problem 'typo': unknown key 'expect_grads'")
    assert rows["fine"][0][1:6] == ["f", "6", "6", "±0.5 (the units digit)", "✓"]
    assert "fine: 1 of 1 right" in run.stdout
    assert "2 problems could not be graded" in run.stdout
    # each error also in full, with a caret, on stderr
    assert "error: problem 'bad formula': unclosed '('" in run.stderr
    assert f" --> {path}:9:14" in run.stderr
    assert "hint: did you mean 'expect_grad'?" in run.stderr
    doc = cli("check", path, "--json").json()
    assert [p["status"] for p in doc["problems"]] == ["error", "error", "ok"]
    assert doc["problems"][1]["error"]["where"] == f"{path}:9:14"


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    run = cli("check", str(tmp_path / "nope.toml"))
    assert run.exit_code == 2 and run.stderr.startswith("error: cannot read")


def test_check_has_help() -> None:
    run = cli("check", "--help")
    assert run.exit_code == 0
    assert "expect_upstream" in run.stdout and "Exit codes" in run.stdout
