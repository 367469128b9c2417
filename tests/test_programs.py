"""Programs: statements on lines or after ';', '#' comments, defaults, rebinding, --output,
named intermediates in the tables, and errors that point at line:column.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, NETWORK, NETWORK_FORMULA, REL, SAMPLES, cli, close, column, gradcalc_process, table_rows

from gradcalc.api import AGREE, gradient
from gradcalc.errors import GradcalcError

MICROGRAD = "x = -4; z = 2*x + 2 + x; q = relu(z) + z*x; h = relu(z*z); y = h + q + q*x"


def node(doc: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [n for n in doc["nodes"] if n["name"] == name]
    return found


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


# ---------------------------------------------------------------------------
# micrograd-style code, line by line


def test_micrograd_program() -> None:
    r = gradient(MICROGRAD)
    assert r.output_label == "y"
    assert r.value == -20.0
    assert r.gradients == {"x": 46.0}
    assert r.symbolic.state == "done"
    assert r.variables[0].status == AGREE
    assert r.ok


def test_micrograd_program_named_intermediates() -> None:
    doc = cli("grad", MICROGRAD, "--json", "--no-symbolic").json()
    # x = -4: z = 3x + 2 = -10; q = relu(z) + zx = 40; h = relu(z²) = 100; y = h + q(1 + x)
    values = {n: node(doc, n)["value"] for n in ("x", "z", "q", "h", "y")}
    assert values == {"x": -4.0, "z": -10.0, "q": 40.0, "h": 100.0, "y": -20.0}
    # ∂y/∂h = 1, ∂y/∂q = 1 + x = -3, ∂y/∂z = 2z + (1 + x)(relu'(z) + x) = -20 + 12 = -8
    upstream = {n: node(doc, n)["upstream"] for n in ("h", "q", "z", "x")}
    assert upstream == {"h": 1.0, "q": -3.0, "z": -8.0, "x": 46.0}
    assert node(doc, "z")["expr"] == "s + x"


def test_micrograd_program_with_x_from_the_command_line() -> None:
    # x = 2: z = 8, q = z(1 + x) = 24, h = 64, y = 64 + 24·3 = 136;
    # y = (3x+2)² + (3x+2)(1+x)²  →  y' = 6(3x+2) + 3(1+x)² + 2(3x+2)(1+x) = 48 + 27 + 48 = 123
    run = cli("grad", MICROGRAD, "x=2", "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "y = 136\n∂y/∂x = 123\n")


def test_micrograd_sample() -> None:
    path = str(SAMPLES / "micrograd-example.grad")
    run = cli("grad", "--file", path, "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "y = -20\n∂y/∂x = 46\n")
    run = cli("grad", "--file", path, "x=2", "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "y = 136\n∂y/∂x = 123\n")


def test_a_value_used_twice_twice() -> None:
    run = cli("grad", "a = 1; b = a + a; c = b + b", "--json", "--no-symbolic")
    assert run.exit_code == 0
    doc = run.json()
    assert (doc["output"], doc["value"], doc["gradients"]) == ("c", 4.0, {"a": 4.0})
    assert node(doc, "b")["upstream"] == 2.0
    assert node(doc, "b")["downstream"] == [2.0, 2.0]  # each use of a gets 2; they add up to 4
    assert node(doc, "a")["pattern"] == "input; used 2×: gradients sum"


def test_a_value_used_twice_table() -> None:
    run = cli("grad", "a = 1; b = a + a; c = b + b", "--no-symbolic")
    out = run.stdout
    rows = table_rows(out, "node")
    up = column(out, "node", "upstream")
    assert {name: rows[name][0][up] for name in ("a", "b", "c")} == {"a": "4", "b": "2", "c": "1"}
    assert out.rstrip().splitlines()[-1] == "c = 4   ✓ all 1 gradient agree"


# ---------------------------------------------------------------------------
# Example 8 as a program with h1, h2, o1, o2


def test_example_8_program_equals_the_one_line_formula_on_the_command_line() -> None:
    program = cli("grad", "--file", str(SAMPLES / "08-network-2-2-2-program.grad"), "--json", "--no-symbolic").json()
    args = [f"{k}={v!r}" for k, v in NETWORK.items()]
    formula = cli("grad", NETWORK_FORMULA, *args, "--json", "--no-symbolic").json()
    assert (program["output"], formula["output"]) == ("E", "f")
    assert close(program["value"], 0.09550599835677515)
    assert close(program["value"], formula["value"], 1e-12)
    assert program["gradients"].keys() == formula["gradients"].keys() == NETWORK.keys()
    for name, g in formula["gradients"].items():
        assert close(program["gradients"][name], g, 1e-12), name
    assert close(program["gradients"]["w5"], EXAMPLES[7].gradients["w5"])
    # The named hidden and output units, by hand.
    h1 = sigmoid(0.4 * 0.2 + 0.1 * 0.5)
    h2 = sigmoid(0.4 * 0.2 + 0.3 * 0.5)
    o1 = sigmoid(0.25 * h1 + 0.3 * h2)
    o2 = sigmoid(0.7 * h1 + 0.25 * h2)
    for name, value in {"h1": h1, "h2": h2, "o1": o1, "o2": o2}.items():
        assert close(node(program, name)["value"], value), name
    assert close(node(program, "o1")["upstream"], o1 - 0.2)  # ∂E/∂o1 = -(0.2 - o1)
    assert close(node(program, "o2")["upstream"], o2 - 0.4)


def test_example_8_program_table_names_the_units() -> None:
    run = cli("grad", "--file", str(SAMPLES / "08-network-2-2-2-program.grad"), "--no-symbolic")
    assert run.exit_code == 0
    rows = table_rows(run.stdout, "node")
    gate = column(run.stdout, "node", "gate")
    for name in ("h1", "h2", "o1", "o2"):
        assert rows[name][0][gate].startswith(f"{name} = sigmoid("), rows[name][0]
    assert rows["E"][0][gate].startswith("E = ")


# ---------------------------------------------------------------------------
# Statements, comments, defaults, rebinding, --output


def test_newlines_semicolons_and_comments_are_the_same_program() -> None:
    one = gradient("w = 2; x = -1; b = -3; s = w*x + b; sigmoid(s)", symbolic=False)
    many = gradient("# a neuron\nw = 2   # weight\nx = -1\n\nb = -3; s = w*x + b\nsigmoid(s)  # output\n",
                    symbolic=False)
    assert one.value == many.value
    assert close(many.value, sigmoid(-5.0))
    assert one.gradients == many.gradients
    assert close(many.gradients["w"], -sigmoid(-5.0) * (1 - sigmoid(-5.0)))


@pytest.mark.parametrize(
    ("text", "value"), [("x = -2.5", -2.5), ("x = +2.5", 2.5), ("x = 2.5e0", 2.5), ("x = -25e-1", -2.5)]
)
def test_signed_numbers_are_defaults(text: str, value: float) -> None:
    r = gradient(f"{text}\ny = x*x", symbolic=False)
    assert r.inputs == {"x": value}
    assert (r.value, r.gradients) == (6.25, {"x": 2 * value})


def test_command_line_overrides_a_default_and_the_rest_stay() -> None:
    r = gradient("a = 2; b = 3; c = a*b", {"b": 10.0}, symbolic=False)
    assert r.inputs == {"a": 2.0, "b": 10.0}
    assert (r.value, r.gradients) == (20.0, {"a": 10.0, "b": 2.0})


def test_rebinding_shows_primes() -> None:
    run = cli("grad", "c = 3; c = c + 1; c = c*c", "--json", "--no-symbolic")
    doc = run.json()
    assert (doc["output"], doc["value"], doc["gradients"]) == ("c''", 16.0, {"c": 8.0})  # 2(c + 1)
    assert [(n["name"], n["expr"]) for n in doc["nodes"] if n["kind"] != "constant"] == [
        ("c", "c"), ("c'", "c + 1"), ("c''", "c' * c'"),
    ]


def test_later_statements_see_the_newest_binding() -> None:
    # c = 3; d = 2c (the old c); c = c + 1; e = c d = (c + 1)(2c) = 2c² + 2c → ∂e/∂c = 4c + 2 = 14
    r = gradient("c = 3; d = 2*c; c = c + 1; e = c*d", symbolic=False)
    assert (r.output_label, r.value, r.gradients) == ("e", 24.0, {"c": 14.0})


def test_target_option_picks_a_named_intermediate() -> None:
    run = cli("grad", MICROGRAD, "--target", "z", "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "z = -10\n∂z/∂x = 3\n")
    run = cli("grad", "c = 3; d = 2*c; c = c + 1; e = c*d", "--target", "c", "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "c' = 4\n∂c'/∂c = 1\n")  # the newest c


def test_target_option_unknown_name_is_exit_2() -> None:
    run = cli("grad", MICROGRAD, "--target", "zz")
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == "error: --target 'zz' is not a name in the program"
    assert "did you mean 'z'?" in run.stderr


def test_program_from_stdin_and_from_a_file(tmp_path: Path) -> None:
    run = cli("grad", "-", "--brief", "--no-symbolic", stdin=MICROGRAD.replace("; ", "\n") + "\n")
    assert (run.exit_code, run.stdout) == (0, "y = -20\n∂y/∂x = 46\n")
    path = tmp_path / "micro.grad"
    path.write_text(MICROGRAD.replace("; ", "\n"), encoding="utf-8")
    run = cli("grad", "--file", str(path), "x=2", "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "y = 136\n∂y/∂x = 123\n")


# ---------------------------------------------------------------------------
# Errors point at line:column with a caret


def test_use_before_definition() -> None:
    run = cli("grad", "a = 1\nc = b + a\nb = 2*a\nc")
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr.splitlines() == [
        "error: 'b' is used before it is assigned",
        " --> <formula>:2:5",
        "  |",
        "2 | c = b + a",
        "  |     ^",
        "hint: 'b' is assigned at line 3, column 1; move that line up",
    ]


def test_use_before_definition_json_and_file(tmp_path: Path) -> None:
    path = tmp_path / "p.grad"
    path.write_text("# comment\nx = 1\ny = x + later\nlater = 2\n", encoding="utf-8")
    run = cli("grad", "--file", str(path), "--json")
    assert run.exit_code == 2
    err = run.json()["error"]
    assert (err["kind"], err["line"], err["column"]) == ("name", 3, 9)
    assert err["message"] == "'later' is used before it is assigned"
    run = cli("grad", "--file", str(path))
    assert f" --> {path}:3:9" in run.stderr.splitlines()


def test_a_name_used_in_its_own_first_assignment() -> None:
    with pytest.raises(GradcalcError) as info:
        gradient("x = 1; y = y*2")
    err = info.value
    assert str(err.message) == "'y' is used before it is assigned"
    assert err.span == (11, 12)


def test_a_bare_expression_before_the_end() -> None:
    run = cli("grad", "x = 1\nx*2\ny = x")
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert lines[:5] == ["error: this expression's value is not used", " --> <formula>:2:1", "  |", "2 | x*2",
                         "  | ^^^"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pi = 3; y = pi*2", "error: 'pi' is the constant 3.14159 and cannot be a variable"),
        ("exp = 3; y = exp*2", "error: 'exp' is a function and cannot be a variable"),
    ],
)
def test_reserved_names_cannot_be_assigned(text: str, message: str) -> None:
    run = cli("grad", text)
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == message


def test_a_formula_starting_with_minus_may_contain_the_letter_o() -> None:
    # cli.main, the real entry point, keeps such a formula from click, which would read '-log(x)' as '-l -o g(x)'
    run = gradcalc_process("grad", "-log(x)", "x=2", "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout, run.stderr) == (0, "f = -0.693147\n∂f/∂x = -0.5\n", "")


def test_unknown_values_warn_with_the_program_names() -> None:
    run = cli("grad", MICROGRAD, "xx=1", "--brief", "--no-symbolic")
    assert run.exit_code == 0
    assert run.stderr == "warning: 'xx' is not used by the formula; its value is ignored (did you mean 'x'?)\n"


def test_long_program_is_fast_and_exact() -> None:
    # 500 rebindings of c = c + x: c = 500 x, and no recursion on the length of the program
    text = "x = 0.5; c = 0\n" + "c = c + x\n" * 500
    r = gradient(text, symbolic=False, numeric=False)
    assert math.isclose(r.value, 250.0, rel_tol=REL)
    assert r.gradients == {"x": 500.0, "c": 1.0}


def test_an_input_replaced_before_any_use_is_a_warning() -> None:
    # x = 1 makes x an input; x = 2 rebinds the name to a constant, so f = 2^2 and x's gradient is 0.
    r = gradient("x = 1; x = 2; x^2", {}, symbolic=False)
    assert (r.value, r.gradients) == (4.0, {"x": 0.0})
    assert r.warnings == ["the input 'x' is never used (it is assigned again before any use), so its gradient is 0"]


def test_an_input_updated_from_itself_is_used_and_not_warned() -> None:
    # w = w - 0.1*2*w = 0.8 w; f = (0.8 w)^2 = 0.64 w^2, so ∂f/∂w = 1.28 w = 1.28 at w = 1.
    r = gradient("w = 1; w = w - 0.1*2*w; w^2", {}, symbolic=False)
    assert r.value == pytest.approx(0.64)
    assert r.gradients["w"] == pytest.approx(1.28)
    assert r.warnings == []


def test_an_input_nothing_uses_is_a_warning() -> None:
    r = gradient("x = 1; y = 2; f = x*3", {}, symbolic=False)
    assert r.gradients == {"x": 3.0, "y": 0.0}
    assert r.warnings == ["the input 'y' is never used (nothing uses it), so its gradient is 0"]


def test_assigning_an_input_again_is_warned_and_the_value_sets_only_the_input() -> None:
    from conftest import cli

    run = cli("grad", "x = 1; y = x*2; x = 5; z = x*y", "x=3", "--json", "--no-symbolic")
    assert run.exit_code == 0
    doc = run.json()
    assert doc["value"] == 30.0  # the constant 5 times y = 3·2
    assert doc["gradients"] == {"x": 10.0}  # ∂z/∂x through y only: 5·2
    assert doc["warnings"] == [
        "'x' is an input, and line 1, column 17 assigns it again: from there on x is that expression, and a value "
        "given as x=... reaches only the uses before that line"
    ]
    for program in ("x = 1; y = x*2; z = x*y", "c = 3; c = c + 1; c = c*c"):  # no reassignment; one that keeps c
        assert cli("grad", program, "--json", "--no-symbolic").json()["warnings"] == []
