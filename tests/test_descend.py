"""`gradcalc descend`: gradient descent over a formula, and over data in epochs, batches and iterations.

Seed 002's words: an *epoch* is one pass over all the data; the *batch size* is how many rows
each update averages over; an *iteration* (a step) is one update, so one epoch is ceil(N/B)
iterations.  The numbers below are derived by hand in the comments, or come from examples.md,
or from ``gradcalc.api.gradient`` one row at a time.
"""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import pytest
from conftest import NETWORK, NETWORK_FORMULA, ROOT, SAMPLES, cli, strict_json

from gradcalc.api import gradient
from gradcalc.descend import batches, descend, read_csv, thin
from gradcalc.errors import GradcalcError

LINEAR = "(w*x + b - y)^2"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------------------
# Batching arithmetic: gradcalc.descend.batches


def test_batches_in_order_with_a_partial_last_batch() -> None:
    assert batches(10, 3, False, random.Random(0)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert batches(10, 5, False, random.Random(0)) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert batches(4, 4, False, random.Random(0)) == [[0, 1, 2, 3]]  # full batch: one iteration
    assert batches(3, 1, False, random.Random(0)) == [[0], [1], [2]]  # batch size 1: one row per iteration


@pytest.mark.parametrize(("rows", "size"), [(10, 3), (10, 5), (1000, 100), (7, 7), (7, 1), (7, 2), (1, 1), (5, 4)])
def test_an_epoch_is_ceil_n_over_b_batches_and_every_row_once(rows: int, size: int) -> None:
    for shuffle in (False, True):
        groups = batches(rows, size, shuffle, random.Random(3))
        assert len(groups) == math.ceil(rows / size)
        assert all(len(g) == size for g in groups[:-1])
        assert len(groups[-1]) == rows - size * (len(groups) - 1)  # the last one may be partial
        assert sorted(i for g in groups for i in g) == list(range(rows))


def test_seed_002_numbers() -> None:
    # 1000 rows in batches of 100: 10 iterations make one epoch.
    assert len(batches(1000, 100, True, random.Random(0))) == 10


def test_shuffling_with_a_seed_is_reproducible_and_seeds_differ() -> None:
    a = batches(20, 6, True, random.Random(7))
    b = batches(20, 6, True, random.Random(7))
    c = batches(20, 6, True, random.Random(8))
    assert a == b
    assert a != c
    assert [i for g in a for i in g] != list(range(20))  # it did shuffle
    # Each epoch draws a fresh order from the same generator.
    rng = random.Random(7)
    first, second = batches(20, 6, True, rng), batches(20, 6, True, rng)
    assert first == a and second != first


# ---------------------------------------------------------------------------
# Linear regression on y = 2x + 1 (samples/linear.csv: x = 0, 0.5, ..., 4.5)


def test_linear_csv_holds_ten_points_of_y_equals_2x_plus_1() -> None:
    data = read_csv((SAMPLES / "linear.csv").read_text(encoding="utf-8"), "linear.csv")
    assert data.rows == 10
    assert all(y == 2 * x + 1 for x, y in zip(data.columns["x"], data.columns["y"], strict=True))


def test_linear_regression_recovers_w_2_b_1() -> None:
    run = cli("descend", LINEAR, "w=0", "b=0", "--data", str(SAMPLES / "linear.csv"),
              "--lr", "0.05", "--batch-size", "5", "--epochs", "200", "--json")  # fmt: skip
    assert run.exit_code == 0, run.stdout + run.stderr
    doc = run.json()
    assert doc["iterations"] == 400  # 200 epochs × ceil(10/5) = 2 iterations
    assert doc["epochs"] == 200
    assert set(doc["params"]) == {"w", "b"}
    assert doc["params"]["w"] == pytest.approx(2, abs=1e-3)
    assert doc["params"]["b"] == pytest.approx(1, abs=1e-3)
    assert len(doc["history"]) == 200
    assert doc["loss"] == doc["history"][-1]
    assert doc["loss"] < 1e-6
    # Before any step: residuals -(2x+1) at x = 0, 0.5, ..., 4.5, i.e. -1, -2, ..., -10;
    # the mean of their squares is 385/10.
    assert doc["initial_loss"] == 38.5
    assert doc["history"][0] < doc["initial_loss"]
    assert (doc["status"], doc["diverged"], doc["batch_size"], doc["rows"]) == ("ok", None, 5, 10)


def test_linear_regression_text_report() -> None:
    run = cli("descend", LINEAR, "w=0", "b=0", "--data", str(SAMPLES / "linear.csv"),
              "--lr", "0.05", "--batch-size", "5", "--epochs", "200")  # fmt: skip
    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert lines[0] == "200 epochs × 2 batches of up to 5 of 10 rows, learning rate 0.05: 400 iterations"
    assert "| start |        38.5 |" in run.stdout
    assert "| w         |     0 |        2 |" in run.stdout
    assert lines[-1].startswith("final loss ")
    assert "(log scale)" in run.stdout


def test_iterations_with_a_partial_last_batch() -> None:
    # 10 rows in batches of 3: 4 iterations an epoch (3, 3, 3, 1 rows); 4 epochs make 16.
    run = cli("descend", LINEAR, "w=0", "b=0", "--data", str(SAMPLES / "linear.csv"),
              "--lr", "0.01", "--batch-size", "3", "--epochs", "4", "--json")  # fmt: skip
    doc = run.json()
    assert (doc["iterations"], doc["epochs"], len(doc["history"])) == (16, 4, 4)
    text = cli("descend", LINEAR, "w=0", "b=0", "--data", str(SAMPLES / "linear.csv"),
               "--lr", "0.01", "--batch-size", "3", "--epochs", "4").stdout  # fmt: skip
    assert text.splitlines()[0] == "4 epochs × 4 batches of up to 3 of 10 rows, learning rate 0.01: 16 iterations"


def test_batch_size_larger_than_the_data_is_full_batch() -> None:
    doc = cli("descend", LINEAR, "w=0", "b=0", "--data", str(SAMPLES / "linear.csv"),
              "--batch-size", "50", "--epochs", "3", "--lr", "0.01", "--json").json()  # fmt: skip
    assert (doc["iterations"], doc["batch_size"]) == (3, 10)


# ---------------------------------------------------------------------------
# XOR: a 2-2-1 sigmoid network (samples/xor.grad) learns with full-batch descent


def test_xor_network_learns() -> None:
    run = cli("descend", "--file", str(SAMPLES / "xor.grad"), "--data", str(SAMPLES / "xor.csv"),
              "--lr", "2", "--epochs", "2000", "--json")  # fmt: skip
    assert run.exit_code == 0, run.stdout + run.stderr
    doc = run.json()
    assert doc["iterations"] == 2000  # full batch: one iteration an epoch
    assert doc["loss"] < 0.05
    history = doc["history"]
    assert len(history) == 2000
    assert history[0] > history[-1]
    assert history[0] > 0.25  # near chance: o ≈ 0.5 on every row at the start
    falls = sum(later <= earlier for earlier, later in itertools.pairwise(history))
    assert falls >= 0.95 * (len(history) - 1)
    assert set(doc["params"]) == {"w11", "w12", "b1", "w21", "w22", "b2", "v1", "v2", "c"}
    # The learned network answers XOR: o on the wrong side of 0.5 for no row.
    program = (SAMPLES / "xor.grad").read_text(encoding="utf-8")
    for x1, x2, y in [(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)]:
        o = gradient(program, {**doc["params"], "x1": x1, "x2": x2, "y": y}, output="o",
                     symbolic=False, numeric=False).value  # fmt: skip
        assert abs(o - y) < 0.2, (x1, x2, o)


# ---------------------------------------------------------------------------
# Single steps by hand


def test_one_step_on_a_two_row_batch_by_hand(tmp_path: Path) -> None:
    # Rows (x, y) = (1, 3), (2, 5); w = b = 0; residual r = w*x + b - y = -3, -5.
    # ∂/∂w of r² is 2·r·x: -6, -20, mean -13;  ∂/∂b is 2·r: -6, -10, mean -8.
    # One iteration with lr 0.1: w = 0 - 0.1·(-13) = 1.3, b = 0 - 0.1·(-8) = 0.8.
    # Loss before: (9 + 25)/2 = 17; after: r = -0.9, -1.6, (0.81 + 2.56)/2 = 1.685.
    data = write(tmp_path, "two.csv", "x,y\n1,3\n2,5\n")
    doc = cli("descend", LINEAR, "w=0", "b=0", "--data", data, "--lr", "0.1", "--json").json()
    assert doc["iterations"] == 1
    assert doc["params"]["w"] == pytest.approx(1.3, rel=1e-12)
    assert doc["params"]["b"] == pytest.approx(0.8, rel=1e-12)
    assert doc["initial_loss"] == 17.0
    assert doc["loss"] == pytest.approx(1.685, rel=1e-12)


def test_two_iterations_with_a_partial_batch_by_hand(tmp_path: Path) -> None:
    # (w*x - y)^2 over rows (1, 2), (2, 2), (3, 3) in batches of 2, in order, lr 0.1, w = 0.
    # Iteration 1, rows 1-2: r = -2, -2; 2·r·x = -4, -8, mean -6; w = 0.6.
    # Iteration 2, row 3 alone: r = 0.6·3 - 3 = -1.2; 2·r·x = -7.2; w = 0.6 + 0.72 = 1.32.
    # Epoch loss: r = -0.68, 0.64, 0.96; (0.4624 + 0.4096 + 0.9216)/3 = 1.7936/3.
    data = write(tmp_path, "three.csv", "x,y\n1,2\n2,2\n3,3\n")
    doc = cli("descend", "(w*x - y)^2", "w=0", "--data", data, "--lr", "0.1", "--batch-size", "2",
              "--no-shuffle", "--json").json()  # fmt: skip
    assert doc["iterations"] == 2
    assert doc["params"]["w"] == pytest.approx(1.32, rel=1e-12)
    assert doc["history"] == [pytest.approx(1.7936 / 3, rel=1e-12)]


def test_one_step_of_the_seed_002_network() -> None:
    # examples.md, example 8: ∂E/∂w5 = 0.04874558763374381; one step with lr 0.5 gives
    # w5 = 0.25 - 0.5 × 0.04874558763374381 = 0.2256272061831281.
    values = [f"{k}={v!r}" for k, v in NETWORK.items()]
    doc = cli("descend", NETWORK_FORMULA, *values, "--params", "w5", "--lr", "0.5", "--steps", "1", "--json").json()
    assert list(doc["params"]) == ["w5"]
    assert doc["params"]["w5"] == pytest.approx(0.2256272061831281, rel=1e-12)
    assert doc["initial_loss"] == pytest.approx(0.09550599835677515, rel=1e-12)
    assert doc["iterations"] == 1


def test_plain_descent_on_a_bowl() -> None:
    # (x-3)^2 + (y+1)^2 with lr 0.1: each step multiplies the distance to (3, -1) by 1 - 0.2 = 0.8,
    # so after 50 steps x = 3 - 3·0.8^50, y = -1 + 0.8^50, loss 10·0.8^100.
    run = cli("descend", "(x-3)^2 + (y+1)^2", "x=0", "y=0", "--lr", "0.1", "--steps", "50", "--json")
    doc = run.json()
    assert run.exit_code == 0
    assert doc["params"]["x"] == pytest.approx(3 - 3 * 0.8**50, rel=1e-12)
    assert doc["params"]["y"] == pytest.approx(-1 + 0.8**50, rel=1e-9)
    assert doc["loss"] == pytest.approx(10 * 0.8**100, rel=1e-9)
    assert doc["history"][0] == pytest.approx(6.4, rel=1e-12)  # 10 · 0.8²
    assert (doc["iterations"], doc["epochs"], doc["initial_loss"]) == (50, 50, 10.0)
    text = cli("descend", "(x-3)^2 + (y+1)^2", "x=0", "y=0", "--lr", "0.1", "--steps", "50").stdout
    assert text.splitlines()[0] == "plain gradient descent, learning rate 0.1: 50 steps"
    assert "|  step |" in text and "step 1" in text


def test_params_limits_what_is_learned() -> None:
    doc = cli("descend", "(x-3)^2 + (y+1)^2", "x=0", "y=0", "--params", "x", "--lr", "0.1", "--steps", "5",
              "--json").json()  # fmt: skip
    assert list(doc["params"]) == ["x"]
    assert doc["params"]["x"] == pytest.approx(3 - 3 * 0.8**5, rel=1e-12)
    assert doc["loss"] == pytest.approx(9 * 0.8**10 + 1, rel=1e-12)  # y stays at 0


# ---------------------------------------------------------------------------
# The vectorized batch pass against one row at a time


def reference_descent(
    formula: str, start: dict[str, float], rows: list[dict[str, float]], lr: float, size: int, epochs: int, seed: int
) -> dict[str, float]:
    """Mini-batch descent written out plainly: each row's gradient from gradcalc.api.gradient."""
    params = dict(start)
    rng = random.Random(seed)
    for _ in range(epochs):
        for group in batches(len(rows), size, True, rng):
            total = dict.fromkeys(params, 0.0)
            for i in group:
                grads = gradient(formula, {**params, **rows[i]}, symbolic=False, numeric=False).gradients
                for p in params:
                    total[p] += grads[p]
            for p in params:
                params[p] -= lr * total[p] / len(group)
    return params


# tanh and sigmoid through the rows; 0.1*w^2 and 0.05*exp(v) use no column (one number per batch).
SMOOTH = "(tanh(w*x1 + v*x2 + b) - y)^2 + 0.1*w^2 + 0.05*exp(v)"


def random_rows(n: int, seed: int) -> list[dict[str, float]]:
    rng = random.Random(seed)
    return [{"x1": rng.uniform(-2, 2), "x2": rng.uniform(-2, 2), "y": rng.uniform(-1, 1)} for _ in range(n)]


def csv_of(rows: list[dict[str, float]]) -> str:
    names = list(rows[0])
    return ",".join(names) + "\n" + "".join(",".join(repr(r[k]) for k in names) + "\n" for r in rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batch_gradient_is_the_mean_of_row_gradients(seed: int) -> None:
    rows = random_rows(6, seed)
    start = {"w": 0.3, "v": -0.7, "b": 0.2}
    data = read_csv(csv_of(rows), "random.csv")
    # One full-batch iteration with lr 1 moves each parameter by exactly minus its gradient.
    result = descend(SMOOTH, start, lr=1.0, data=data, epochs=1, shuffle=False)
    assert result.iterations == 1
    for p, value in start.items():
        row_grads = [gradient(SMOOTH, {**start, **r}, symbolic=False, numeric=False).gradients[p] for r in rows]
        assert value - result.params[p] == pytest.approx(sum(row_grads) / len(rows), rel=1e-9, abs=1e-12)
    mean_loss = sum(gradient(SMOOTH, {**start, **r}, symbolic=False, numeric=False).value for r in rows) / 6
    assert result.initial_loss == pytest.approx(mean_loss, rel=1e-12)


def test_mini_batches_with_shuffling_match_row_by_row_descent() -> None:
    rows = random_rows(7, 11)
    start = {"w": 0.3, "v": -0.7, "b": 0.2}
    data = read_csv(csv_of(rows), "random.csv")
    result = descend(SMOOTH, start, lr=0.2, data=data, batch_size=3, epochs=2, shuffle=True, seed=5)
    assert result.iterations == 6  # 2 epochs × ceil(7/3)
    expected = reference_descent(SMOOTH, start, rows, lr=0.2, size=3, epochs=2, seed=5)
    for p in start:
        assert result.params[p] == pytest.approx(expected[p], rel=1e-9)


def test_a_loss_that_uses_no_column_steps_as_without_data() -> None:
    # w^2 is one number for every row: its batch mean is itself, so each step is w -= lr·2w = 0.8·w,
    # however many rows a batch has.  Two iterations (10 rows in batches of 5): w = 0.64.
    result = descend("w^2", {"w": 1.0}, lr=0.1, data=read_csv("x,y\n" + "1,2\n" * 10, "d.csv"), batch_size=5)
    assert result.iterations == 2
    assert result.params["w"] == pytest.approx(0.64, rel=1e-12)
    assert result.warnings == ["column 'x' of d.csv is not used by the formula",
                               "column 'y' of d.csv is not used by the formula"]  # fmt: skip


# ---------------------------------------------------------------------------
# Shuffle and seed through the command line


def shuffled_run(*extra: str) -> dict[str, float]:
    doc = cli("descend", LINEAR, "w=0", "b=0", "--data", str(SAMPLES / "linear.csv"), "--lr", "0.02",
              "--batch-size", "1", "--epochs", "1", "--json", *extra).json()  # fmt: skip
    params = doc["params"]
    assert isinstance(params, dict)
    return params


def test_same_seed_same_result_other_seed_other_result() -> None:
    assert shuffled_run("--seed", "4") == shuffled_run("--seed", "4")
    assert shuffled_run("--seed", "4") != shuffled_run("--seed", "5")


def test_no_shuffle_keeps_the_file_order() -> None:
    in_order = shuffled_run("--no-shuffle", "--seed", "4")
    assert in_order == shuffled_run("--no-shuffle", "--seed", "5")  # the seed no longer matters
    # Row by row in file order, by hand: w -= lr·2·r·x, b -= lr·2·r with r = w*x + b - y.
    w = b = 0.0
    data = read_csv((SAMPLES / "linear.csv").read_text(encoding="utf-8"), "linear.csv")
    for x, y in zip(data.columns["x"], data.columns["y"], strict=True):
        r = w * x + b - y
        w, b = w - 0.02 * 2 * r * x, b - 0.02 * 2 * r
    assert in_order["w"] == pytest.approx(w, rel=1e-12)
    assert in_order["b"] == pytest.approx(b, rel=1e-12)


# ---------------------------------------------------------------------------
# Divergence: exit 1, the epoch and iteration, a smaller learning rate


def test_divergence_names_epoch_and_iteration() -> None:
    # (x-3)^2 with lr 1.5: x - 3 is multiplied by 1 - 2·1.5 = -2 each step, so the loss after k steps
    # is 9·4^k, past the largest double (1.8e308) first at k = 511.
    run = cli("descend", "(x-3)^2", "x=0", "--lr", "1.5", "--steps", "2000")
    assert run.exit_code == 1
    last = run.stdout.splitlines()[-1]
    assert last.startswith("diverged at epoch 511, iteration 511: the loss became inf")
    assert "try a smaller learning rate, e.g. --lr 0.15" in last


def test_divergence_json() -> None:
    run = cli("descend", "(x-3)^2", "x=0", "--lr", "1.5", "--steps", "2000", "--json")
    assert run.exit_code == 1
    doc = strict_json(run.stdout)
    assert doc["status"] == "diverged"
    assert doc["diverged"]["epoch"] == 511 and doc["diverged"]["iteration"] == 511
    assert doc["diverged"]["loss"] is None  # inf is not JSON
    assert doc["history"][:4] == [36.0, 144.0, 576.0, 2304.0]
    assert len(doc["history"]) == 510 and doc["history"][-1] == 9.0 * 4.0**510


def test_divergence_over_data(tmp_path: Path) -> None:
    # lr 1 on linear.csv overshoots: the loss grows until it is no longer finite.
    run = cli("descend", LINEAR, "w=0", "b=0", "--data", str(SAMPLES / "linear.csv"), "--lr", "1",
              "--batch-size", "5", "--epochs", "1000", "--json")  # fmt: skip
    assert run.exit_code == 1
    doc = run.json()
    d = doc["diverged"]
    assert doc["status"] == "diverged"
    assert d["iteration"] in (2 * d["epoch"] - 1, 2 * d["epoch"])  # 2 iterations an epoch
    assert doc["iterations"] == d["iteration"]
    assert len(doc["history"]) == d["epoch"] - 1
    assert all(later > earlier for earlier, later in itertools.pairwise(doc["history"]))


# ---------------------------------------------------------------------------
# Bad data: exit 2, a clear message with the file, row and column


def bad(tmp_path: Path, csv_text: str, *args: str) -> tuple[str, str]:
    """(message on stderr, the same error's message through --json) for a run over ``csv_text``."""
    data = write(tmp_path, "data.csv", csv_text)
    argv = ["descend", *(args or (LINEAR, "w=0", "b=0")), "--data", data]
    run = cli(*argv)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    as_json = cli(*argv, "--json")
    assert as_json.exit_code == 2
    error = as_json.json()["error"]
    assert error["kind"] == "data"
    assert run.stderr.startswith(f"error: {error['message']}")
    return run.stderr, error["message"]


def test_missing_column(tmp_path: Path) -> None:
    err, message = bad(tmp_path, "x,z\n1,2\n")
    assert message.startswith("no column or value for y in ")
    assert "data.csv" in message
    assert "the columns are x, z" in err


def test_non_numeric_cell(tmp_path: Path) -> None:
    err, message = bad(tmp_path, "x,y\n1,2\n3,abc\n")
    assert message.endswith("data.csv, row 3, column 2 (y): 'abc' is not a number")
    assert "hint: " in err


def test_non_numeric_cell_row_counts_blank_lines(tmp_path: Path) -> None:
    _, message = bad(tmp_path, "x,y\n\n1,2\n\n3,four\n")
    assert message.endswith("data.csv, row 5, column 2 (y): 'four' is not a number")


def test_empty_file(tmp_path: Path) -> None:
    err, message = bad(tmp_path, "")
    assert message.endswith("data.csv is empty")
    assert "the first row names the columns" in err
    _, message = bad(tmp_path, "\n \n")
    assert message.endswith("data.csv is empty")


def test_header_only(tmp_path: Path) -> None:
    _, message = bad(tmp_path, "x,y\n")
    assert message.endswith("data.csv has a header but no rows of data")


def test_ragged_row(tmp_path: Path) -> None:
    err, message = bad(tmp_path, "x,y\n1,2\n3\n")
    assert message.endswith("data.csv, row 3: 1 cells, but the header has 2")
    assert "one number per column" in err


def test_a_parameter_that_is_also_a_column(tmp_path: Path) -> None:
    err, message = bad(tmp_path, "x,y,w\n1,2,3\n", LINEAR, "b=0", "--params", "w,b")
    assert message.endswith("data.csv, column 3 (w): 'w' is a parameter and also a column of the data")
    assert "rename one of them" in err


def test_a_value_given_for_a_column(tmp_path: Path) -> None:
    _, message = bad(tmp_path, "x,y,w\n1,2,3\n")  # w=0 given, and w is a column
    assert message.endswith("data.csv, column 3 (w): 'w' is a column of the data and also given as w=VALUE")
    _, message = bad(tmp_path, "x,y\n1,2\n", LINEAR, "w=0", "b=0", "y=1")
    assert message.endswith("data.csv, column 2 (y): 'y' is a column of the data and also given as y=VALUE")


def test_header_that_is_not_a_name_and_twice_the_same_name(tmp_path: Path) -> None:
    _, message = bad(tmp_path, "x,2y\n1,2\n")
    assert message.endswith("data.csv, row 1, column 2: '2y' is not a variable name")
    _, message = bad(tmp_path, "x,y,x\n1,2,3\n")
    assert message.endswith("data.csv, row 1: the column name 'x' appears twice")


def test_a_number_too_large(tmp_path: Path) -> None:
    _, message = bad(tmp_path, "x,y\n1,1e999\n")
    assert message.endswith("data.csv, row 2, column 2 (y): 1e999 is too large")


def test_missing_data_file(tmp_path: Path) -> None:
    run = cli("descend", LINEAR, "w=0", "b=0", "--data", str(tmp_path / "nowhere.csv"))
    assert run.exit_code == 2
    assert run.stderr.startswith("error: cannot read ") and "nowhere.csv" in run.stderr


def test_read_csv_accepts_spaces_quotes_unicode_minus_and_scientific() -> None:
    data = read_csv('x, y\n 1 ,"−2"\n1e-3,+.5\n', "d.csv")
    assert data.columns == {"x": [1.0, 0.001], "y": [-2.0, 0.5]}
    assert data.rows == 2


def test_read_csv_errors_are_gradcalc_errors() -> None:
    with pytest.raises(GradcalcError, match=r"d\.csv, row 2, column 1 \(x\): 'nan' is not a number"):
        read_csv("x\nnan\n", "d.csv")


def test_bad_learning_rate_and_params() -> None:
    run = cli("descend", "(x-3)^2", "x=0", "--lr", "0")
    assert run.exit_code == 2 and "the learning rate must be a positive number" in run.stderr
    run = cli("descend", "(x-3)^2", "x=0", "--params", "q")
    assert run.exit_code == 2 and "--params names 'q', which the formula does not use" in run.stderr


# ---------------------------------------------------------------------------
# The per-epoch table thins long histories


def test_thin_keeps_first_and_last() -> None:
    history = [float(k) for k in range(100)]
    picks = thin(history)
    assert len(picks) == 20
    assert picks[0] == (1, 0.0) and picks[-1] == (100, 99.0)
    assert [e for e, _ in picks] == sorted({e for e, _ in picks})
    assert thin([3.0, 2.0]) == [(1, 3.0), (2, 2.0)]


# ---------------------------------------------------------------------------
# The picture on the Training page is a real run (the page's transcripts are run by test_docs)


def test_the_xor_loss_picture_is_a_real_run(tmp_path: Path) -> None:
    """docs/xor-loss.png is what `--plot` draws for the XOR run docs/training.md shows."""
    picture = tmp_path / "xor-loss.png"
    run = cli("descend", "--file", str(SAMPLES / "xor.grad"), "--data", str(SAMPLES / "xor.csv"), "--lr", "2",
              "--epochs", "2000", "--plot", str(picture))
    assert run.exit_code == 0, run.stderr
    assert run.stdout.rstrip("\n").endswith(f"loss curve written to {picture}")
    assert picture.read_bytes() == (ROOT / "docs" / "xor-loss.png").read_bytes()
    page = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    assert "--file samples/xor.grad --data samples/xor.csv --lr 2 --epochs 2000 | cat" in page
    assert "(xor-loss.png)" in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--steps", "5", "--batch-size", "3"), "--batch-size needs --data: it schedules passes over its rows"),
        (("--epochs", "2", "--batch-size", "3"), "--batch-size and --epochs need --data"),
        (("--data", str(SAMPLES / "linear.csv"), "--steps", "7"), "--steps counts plain steps on the formula"),
    ],
)
def test_steps_and_epochs_do_not_mix(args: tuple[str, ...], message: str) -> None:
    # An option that the run would ignore is bad input, not silence.
    run = cli("descend", "(w*x + b - y)^2", "w=0", "b=0", "x=1", "y=3", "--lr", "0.05", *args, "--json")
    assert run.exit_code == 2
    assert message in strict_json(run.stdout)["error"]["message"]


def test_a_loss_that_grows_is_a_warning() -> None:
    # x ← x − 1.5·2(x − 3): the error x − 3 doubles and flips sign each step, so the loss is 9·4^k.
    result = descend("(x-3)^2", {"x": 0.0}, lr=1.5, steps=5)
    assert result.diverged is None and result.loss == pytest.approx(9 * 4**5)
    assert result.warnings == [
        "the loss grew from 9 to 9216: the learning rate 1.5 may be too large for this loss (try a smaller --lr)"
    ]
    assert descend("(x-3)^2", {"x": 0.0}, lr=0.1, steps=5).warnings == []


@pytest.mark.parametrize("lr", ["-0.1", "0", "nan", "inf"])
def test_one_rule_for_the_learning_rate_in_grad_and_descend(lr: str) -> None:
    from conftest import cli

    for command in (("grad", "x^2", "x=1", "--lr", lr), ("descend", "x^2", "x=1", "--lr", lr)):
        run = cli(*command)
        assert run.exit_code == 2, command
        assert run.stderr.startswith("error: the learning rate must be a positive number, not "), run.stderr


def test_the_summary_says_when_the_schedule_is_the_default() -> None:
    from conftest import cli

    default = cli("descend", "(w*x - 3)^2", "w=0", "x=1", "--lr", "0.1").stdout.splitlines()[0]
    assert default == "plain gradient descent, learning rate 0.1: 100 steps (the default: --steps N for another number)"
    given = cli("descend", "(w*x - 3)^2", "w=0", "x=1", "--lr", "0.1", "--steps", "5").stdout.splitlines()[0]
    assert given == "plain gradient descent, learning rate 0.1: 5 steps"
    run = cli("descend", "--file", "samples/06-linear.grad", "--data", "samples/linear.csv", "--lr", "0.05")
    assert "1 iteration (one pass over the data, the default: --epochs N for more)" in run.stdout
