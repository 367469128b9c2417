"""`gradcalc jacobian`: rows by reverse mode, columns by forward mode, both checked,
against Jacobians known in closed form.
"""

from __future__ import annotations

import re
import shlex

import numpy as np
import pytest
from conftest import REL, ROOT, cli, table_rows

from gradcalc.errors import GradcalcError
from gradcalc.jacobian import JacobianResult, jacobian

Z = np.array([1.0, 2.0, 0.5])
W = np.array([[0.1, 0.5], [-0.3, 0.8]])
X = np.array([0.2, 0.4])


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return np.asarray(e / e.sum())


def assert_checked(r: JacobianResult, expected: np.ndarray) -> None:
    """The reverse-mode rows equal the forward-mode columns, the numeric check, and the closed form."""
    rows = np.array(r.reverse)
    np.testing.assert_allclose(rows, np.array(r.forward), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(rows, expected, rtol=REL, atol=1e-15)
    assert r.numeric is not None
    np.testing.assert_allclose(np.array(r.numeric, dtype=float), expected, rtol=1e-6, atol=1e-9)
    assert r.agree_forward and r.agree_numeric and r.ok


def test_softmax_jacobian_is_diag_s_minus_s_s_transposed() -> None:
    r = jacobian("softmax(z)", {"z": Z})
    s = softmax(Z)
    assert r.rows == ["f[0]", "f[1]", "f[2]"]
    assert r.column_labels() == ["z[0]", "z[1]", "z[2]"]
    np.testing.assert_allclose(r.value, s, rtol=REL)
    assert_checked(r, np.diag(s) - np.outer(s, s))
    np.testing.assert_allclose(np.array(r.reverse).sum(axis=0), 0.0, atol=1e-15)  # softmax sums to 1


def test_matrix_vector_product_jacobian() -> None:
    r = jacobian("W@x", {"W": W, "x": X})
    assert r.column_labels() == ["W[0, 0]", "W[0, 1]", "W[1, 0]", "W[1, 1]", "x[0]", "x[1]"]
    # ∂(Wx)_i/∂x = W; ∂(Wx)_i/∂W[k, j] = [i == k] x_j
    d_w = np.array([[0.2, 0.4, 0.0, 0.0], [0.0, 0.0, 0.2, 0.4]])
    assert_checked(r, np.hstack([d_w, W]))


def test_layer_jacobian_is_diag_of_tanh_derivative_times_w() -> None:
    r = jacobian("tanh(W@x + b)", {"W": W, "x": X, "b": np.array([0.1, -0.2])})
    t = np.tanh(W @ X + np.array([0.1, -0.2]))
    d = np.diag(1 - t * t)
    assert_checked(r, np.hstack([d @ np.kron(np.eye(2), X), d @ W, d]))


def test_transpose_jacobian_is_a_permutation() -> None:
    r = jacobian("T(A)", {"A": np.array([[1.0, 2.0], [3.0, 4.0]])})
    assert r.rows == ["f[0, 0]", "f[0, 1]", "f[1, 0]", "f[1, 1]"]
    assert_checked(r, np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=float))


def test_scalar_output_jacobian_is_the_gradient_row() -> None:
    r = jacobian("x*y + sum(v^2)", {"x": 2.0, "y": 3.0, "v": np.array([1.0, -1.0])})
    assert r.rows == ["f"]
    assert r.column_labels() == ["x", "y", "v[0]", "v[1]"]
    assert_checked(r, np.array([[3.0, 2.0, 2.0, -2.0]]))


def test_elementwise_jacobian_is_diagonal() -> None:
    r = jacobian("sigmoid(z) * z", {"z": Z})
    s = 1 / (1 + np.exp(-Z))
    assert_checked(r, np.diag(s + Z * s * (1 - s)))


def test_program_with_output_option() -> None:
    text = "W = [[0.1, 0.5], [-0.3, 0.8]]\nx = [0.2, 0.4]\nq = W @ x\np = softmax(q)"
    r = jacobian(text, output="q")
    assert r.rows == ["q[0]", "q[1]"]
    np.testing.assert_allclose(np.array(r.reverse)[:, 4:], W, rtol=REL)
    r = jacobian(text)
    s = softmax(W @ X)
    np.testing.assert_allclose(np.array(r.reverse)[:, 4:], (np.diag(s) - np.outer(s, s)) @ W, rtol=REL)
    assert r.ok


def test_command_line_table() -> None:
    run = cli("jacobian", "softmax(z)", "z=[1, 2, 0.5]")
    assert (run.exit_code, run.stderr) == (0, "")
    lines = run.stdout.splitlines()
    assert lines[0] == "f = [0.231224, 0.628532, 0.140244]"
    assert lines[1] == "Jacobian ∂f/∂inputs: rows by reverse mode, checked column by column in forward mode"
    rows = table_rows(run.stdout, "")
    assert list(rows) == ["f[0]", "f[1]", "f[2]"]
    assert rows["f[0]"][0][1:] == ["0.177759", "-0.145332", "-0.0324279"]
    assert [float(c) for c in rows["f[1]"][0][1:]] == pytest.approx([-0.145332, 0.23348, -0.088148], rel=1e-5)
    assert lines[-2:] == ["✓ forward mode (columns) agree", "✓ central differences agree"]


def test_command_line_json() -> None:
    run = cli("jacobian", "W@x", "W=[[0.1,0.5],[-0.3,0.8]]", "x=[0.2,0.4]", "--json")
    assert run.exit_code == 0
    doc = run.json()
    assert (doc["output"], doc["rows"], doc["status"]) == ("f", ["f[0]", "f[1]"], "ok")
    assert doc["columns"][-2:] == ["x[0]", "x[1]"]
    np.testing.assert_allclose(doc["value"], [0.22, 0.26], rtol=REL)
    np.testing.assert_allclose(np.array(doc["jacobian"])[:, 4:], W, rtol=REL)
    assert doc["jacobian"] == doc["forward"]
    assert doc["checks"] == {"forward_agrees": True, "numeric_agrees": True}


def test_no_numeric() -> None:
    doc = cli("jacobian", "softmax(z)", "z=[1, 2, 0.5]", "--json", "--no-numeric").json()
    assert doc["numeric"] is None
    assert doc["status"] == "ok"
    run = cli("jacobian", "softmax(z)", "z=[1, 2, 0.5]", "--no-numeric")
    assert "central differences" not in run.stdout


def test_shape_error_is_exit_2() -> None:
    run = cli("jacobian", "W@x", "W=[[0.1,0.5],[-0.3,0.8]]", "x=[1, 2, 3]")
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert lines[0] == "error: shape error in gate f = W @ x: the inner dimensions do not match"
    assert lines[-1] == "hint: the inputs' shapes are W: 2×2, x: 3"
    with pytest.raises(GradcalcError):
        jacobian("W@x", {"W": W, "x": Z})


def test_help_names_the_modes() -> None:
    run = cli("jacobian", "--help")
    assert run.exit_code == 0
    assert "reverse mode" in run.stdout and "forward mode" in run.stdout


JACOBIAN_PAGE = ROOT / "docs" / "jacobian.md"


def page_jacobian_transcripts() -> list[tuple[str, str]]:
    """(command, output) of each `$ gradcalc jacobian ... | cat` in the console blocks of docs/jacobian.md."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", JACOBIAN_PAGE.read_text(encoding="utf-8"), re.S):
        for step in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = step.partition("\n")
            if command.startswith("gradcalc jacobian "):
                found.append((command, output.rstrip("\n")))
    return found


def test_page_jacobian_transcripts_are_real(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    transcripts = page_jacobian_transcripts()
    assert len(transcripts) >= 2
    for command, expected in transcripts:
        args = shlex.split(command.removesuffix(" | cat"))[1:]
        run = cli(*args)
        assert run.exit_code == 0, command
        assert [line.rstrip() for line in run.stdout.rstrip("\n").splitlines()] == expected.splitlines(), command


# ---------------------------------------------------------------------------
# Broadcasting: forward mode does not broadcast a scalar or vector tangent through +, -


def test_forward_mode_through_a_broadcast_add() -> None:
    r = jacobian("sum(v + c)", {"v": Z, "c": 2.0})
    assert_checked(r, np.array([[1.0, 1.0, 1.0, 3.0]]))


def test_jacobian_of_matrix_plus_row_vector() -> None:
    r = jacobian("W + x", {"W": W, "x": X})
    expected = np.hstack([np.eye(4), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])])
    assert_checked(r, expected)

