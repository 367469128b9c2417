"""Examples 1-8 of the worked examples, with their exact numbers.

Each example runs three ways: through the library (with all three cross-checks,
SymPy included), through its sample file, and as a one-line formula with values
on the command line; the command line is read both as a table and as JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import EXAMPLES, NETWORK_PROGRAM, SAMPLES, Example, cli, close, column, table_rows

from gradcalc.api import AGREE, GradResult, gradient

IDS = [f"example-{e.number}" for e in EXAMPLES]


def node_named(doc: dict[str, Any], name: str) -> dict[str, Any]:
    [node] = [n for n in doc["nodes"] if n["name"] == name]
    return node


def node_with_op(doc: dict[str, Any], op: str) -> dict[str, Any]:
    [node] = [n for n in doc["nodes"] if n["op"] == op]
    return node


def assert_numbers(value: float | None, gradients: dict[str, float | None], example: Example) -> None:
    assert close(value, example.value), (value, example.value)
    for name, expected in example.gradients.items():
        assert close(gradients[name], expected), (name, gradients[name], expected)


# ---------------------------------------------------------------------------
# The library, with every witness


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_library_numbers_and_all_checks(example: Example) -> None:
    r = gradient(example.formula, example.values)
    assert_numbers(r.value, r.gradients, example)
    assert r.symbolic.state == "done"
    for v in r.variables:
        assert v.status == AGREE, v
        assert close(v.forward, v.gradient)
        assert close(v.symbolic, v.gradient, 1e-8)
        assert v.numeric is not None and close(v.numeric, v.gradient, 1e-5)
    assert r.ok


# ---------------------------------------------------------------------------
# Sample files and one-line formulas, as JSON


def sample_json(example: Example) -> dict[str, Any]:
    run = cli("grad", "--file", str(SAMPLES / example.sample), "--json")
    assert run.exit_code == 0, run.stdout + run.stderr
    return run.json()


def formula_json(example: Example) -> dict[str, Any]:
    run = cli("grad", example.formula, *example.value_args, "--json", "--no-symbolic")
    assert run.exit_code == 0, run.stdout + run.stderr
    return run.json()


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_sample_file_json(example: Example) -> None:
    doc = sample_json(example)
    assert_numbers(doc["value"], doc["gradients"], example)
    assert doc["output"] == example.output
    assert doc["inputs"] == pytest.approx(example.values, rel=1e-15)
    assert doc["checks"]["ok"] is True
    assert doc["checks"]["sympy"]["state"] == "done"
    assert {c["status"] for c in doc["checks"]["variables"]} == {AGREE}


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_formula_with_values_json(example: Example) -> None:
    doc = formula_json(example)
    assert_numbers(doc["value"], doc["gradients"], example)
    assert set(doc["gradients"]) == set(example.values)
    assert doc["status"] == "ok"


def test_example_3_upstream_into_q() -> None:
    doc = formula_json(EXAMPLES[2])
    q = node_named(doc, "q")
    assert (q["expr"], q["value"], q["upstream"]) == ("x + y", 3.0, -4.0)
    assert (q["local"], q["downstream"], q["pattern"]) == ([1.0, 1.0], [-4.0, -4.0], "add distributes")
    f = node_named(doc, "f")
    assert (f["expr"], f["value"], f["local"], f["pattern"]) == ("q * z", -12.0, [-4.0, 3.0], "mul swaps")


def test_example_4_local_gradient_of_the_reciprocal_gate() -> None:
    doc = sample_json(EXAMPLES[3])
    div = node_with_op(doc, "div")
    assert div["expr"] == "1 / g"
    denominator = node_named(doc, "g")
    assert close(denominator["value"], 1.3678794411714423)  # 1 + e^-1, the seed's 1.37
    local = div["local"][1]  # ∂(1/g)/∂g, for the denominator
    assert close(local, -1 / denominator["value"] ** 2)
    assert round(local, 2) == -0.53
    assert div["local"][0] is None  # the constant 1 needs no gradient


def test_example_5_sigmoid_local_gradient() -> None:
    doc = sample_json(EXAMPLES[4])
    sig = node_with_op(doc, "sigmoid")
    assert close(sig["value"], 0.7310585786300049)
    assert close(sig["local"][0], 0.19661193324148185)
    assert sig["pattern"] == "sigmoid: σ(1-σ)"


def test_example_7_max_routes() -> None:
    doc = formula_json(EXAMPLES[6])
    mx = node_with_op(doc, "max")
    assert (mx["value"], mx["local"], mx["downstream"], mx["pattern"]) == (4.0, [1.0, 0.0], [3.0, 0.0], "max routes")


def test_example_8_program_and_formula_agree() -> None:
    formula = gradient(EXAMPLES[7].formula, EXAMPLES[7].values, symbolic=False)
    program = gradient((SAMPLES / NETWORK_PROGRAM.sample).read_text(), symbolic=False)
    assert program.output_label == "E"
    assert close(program.value, 0.09550599835677515)
    assert close(formula.value, program.value, 1e-12)
    assert set(program.gradients) == set(formula.gradients) == set(EXAMPLES[7].values)
    for name, g in formula.gradients.items():
        assert close(program.gradients[name], g, 1e-12), name
    w5 = program.gradients["w5"]
    assert close(w5, 0.04874558763374381)
    assert close(0.25 - 0.5 * w5, 0.2256272061831281)  # one step of gradient descent, learning rate 0.5


def test_example_8_program_sample_json() -> None:
    doc = sample_json(NETWORK_PROGRAM)
    assert doc["output"] == "E"
    assert_numbers(doc["value"], doc["gradients"], NETWORK_PROGRAM)
    assert [node_named(doc, n)["kind"] for n in ("h1", "h2", "o1", "o2", "E")] == ["gate"] * 5


# ---------------------------------------------------------------------------
# The same numbers in the tables (17 significant digits)


def table_numbers(text: str) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Gradient-table backprop numbers by variable, and each row's first line."""
    grads = table_rows(text, "variable")
    k = column(text, "variable", "backprop")
    return {name: float(lines[0][k]) for name, lines in grads.items()}, {n: ls[0] for n, ls in grads.items()}


def check_table(text: str, example: Example) -> None:
    grads, first_lines = table_numbers(text)
    for name, expected in example.gradients.items():
        assert close(grads[name], expected), (name, grads[name], expected)
    assert all(line[-1] == "✓ agree" for line in first_lines.values())
    summary = text.rstrip().splitlines()[-1]
    label, _, rest = summary.partition(" = ")
    assert label == example.output
    assert close(float(rest.split()[0]), example.value)
    assert rest.endswith("gradients agree")


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_sample_file_table(example: Example) -> None:
    run = cli("grad", "--file", str(SAMPLES / example.sample), "--digits", "17", "--no-symbolic")
    assert run.exit_code == 0, run.stderr
    check_table(run.stdout, example)


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_formula_with_values_table(example: Example) -> None:
    run = cli("grad", example.formula, *example.value_args, "--digits", "17", "--no-symbolic")
    assert run.exit_code == 0, run.stderr
    check_table(run.stdout, example)


def gate_row(text: str, label: str) -> dict[str, list[str]]:
    """A gate-table row as {header: cell lines}."""
    lines = table_rows(text, "node")[label]
    header = next(
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| node ")
    )
    return {h: [line[k] for line in lines if line[k]] for k, h in enumerate(header)}


def test_example_3_gate_table_row_of_q() -> None:
    run = cli("grad", "--file", str(SAMPLES / EXAMPLES[2].sample), "--no-symbolic")
    q = gate_row(run.stdout, "q")
    assert q["gate"] == ["q = x + y"]
    assert q["value"] == ["3"]
    assert q["upstream ∂f/∂node"] == ["-4"]
    assert q["local ∂node/∂input"] == ["x: 1", "y: 1"]
    assert q["downstream = upstream × local"] == ["→ x: -4", "→ y: -4"]
    assert q["pattern"] == ["add distributes"]


def test_example_4_gate_table_reciprocal_row() -> None:
    run = cli("grad", "--file", str(SAMPLES / EXAMPLES[3].sample), "--no-symbolic", "--digits", "2")
    f = gate_row(run.stdout, "f")
    assert f["gate"] == ["f = 1 / g"]
    assert f["local ∂node/∂input"] == ["g: -0.53"]
    assert gate_row(run.stdout, "g")["value"] == ["1.4"]


def test_example_5_gate_table_sigmoid_row() -> None:
    run = cli("grad", "--file", str(SAMPLES / EXAMPLES[4].sample), "--no-symbolic", "--digits", "17")
    f = gate_row(run.stdout, "f")
    assert f["gate"] == ["f = sigmoid(t)"]
    [cell] = f["local ∂node/∂input"]
    name, _, number = cell.partition(": ")
    assert name == "t" and close(float(number), 0.19661193324148185)


def test_gradient_result_is_plain_data() -> None:
    r: GradResult = gradient("(x+y)*z", {"x": -2, "y": 5, "z": -4}, symbolic=False)
    assert (r.value, r.gradients) == (-12.0, {"x": -4.0, "y": -4.0, "z": 3.0})
    assert r.node_gradient(2) == -4.0  # the upstream gradient into q


# ---------------------------------------------------------------------------
# The book's own figure beside example 2's blog-post numbers

# "Deep Learning from Scratch", ch. 5: 2 apples at 100 and 3 oranges at 150, tax 1.1.
BOOK_FIGURE = Example(
    10, "10-book-apples-and-oranges.grad", "(apple*apple_num + orange*orange_num)*tax",
    {"apple": 100, "apple_num": 2, "orange": 150, "orange_num": 3, "tax": 1.1},
    715.0, {"apple": 2.2, "apple_num": 110.0, "orange": 3.3, "orange_num": 165.0, "tax": 650.0},
)  # fmt: skip


def test_the_books_apples_and_oranges() -> None:
    """f = (100·2 + 150·3)·1.1 = 715; ∂f/∂tax is the price before tax, 650; each count's gradient its price × 1.1."""
    doc = sample_json(BOOK_FIGURE)
    assert_numbers(doc["value"], doc["gradients"], BOOK_FIGURE)
    assert set(doc["gradients"]) == set(BOOK_FIGURE.values)
    assert doc["checks"]["ok"] is True and doc["checks"]["sympy"]["state"] == "done"
    assert_numbers(formula_json(BOOK_FIGURE)["value"], formula_json(BOOK_FIGURE)["gradients"], BOOK_FIGURE)
    assert node_named(doc, "s")["value"] == 650.0  # the price before tax: the upstream of tax's mul gate


def test_example_2_is_the_blog_posts_numbers() -> None:
    """4 apples at 100 and 3 mandarins at 70 with tax 1.1: 671, not the book's 715."""
    text = (SAMPLES / EXAMPLES[1].sample).read_text(encoding="utf-8")
    assert "blog post" in text and "10-book-apples-and-oranges.grad" in text
    assert EXAMPLES[1].value == 671.0 and close(sample_json(EXAMPLES[1])["value"], 671.0)
