"""Vectors and matrices: example 9, CS231n's SVM loss, softmax cross-entropy, the tensor ops,
shape errors, and property tests that a tensor program has the gradients of the same program
written out element by element with scalar names (W00, W01, ..., x0, x1, ...).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from conftest import REL, SAMPLES, cli, column, strict_json, table_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcalc.api import AGREE, GradResult, gradient
from gradcalc.errors import GradcalcError

W9 = np.array([[0.1, 0.5], [-0.3, 0.8]])
X9 = np.array([0.2, 0.4])
EX9_ARGS = ("sum((W@x)^2)", "W=[[0.1,0.5],[-0.3,0.8]]", "x=[0.2,0.4]")
EX9_Q = [0.22, 0.26]
EX9_DW = [[0.088, 0.176], [0.104, 0.208]]  # 2 q xᵀ
EX9_DX = [-0.112, 0.636]  # 2 Wᵀ q

SVM_ARGS = ("sum(max(0, s - s[0] + 1)) - 1", "s=[3.2, 5.1, -1.7]")


def allclose(actual: Any, expected: Any, rel: float = REL) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rel, atol=1e-12)


def node(doc: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [n for n in doc["nodes"] if n["name"] == name]
    return found


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


# ---------------------------------------------------------------------------
# Example 9: f = sum((W x)^2), W a 2×2 matrix and x a vector


def test_example_9_library() -> None:
    r = gradient("sum((W@x)^2)", {"W": W9, "x": X9}, symbolic=False)
    assert math.isclose(r.value, 0.116, rel_tol=REL)
    [q] = [i for i, n in enumerate(r.tape.nodes) if n.op is not None and n.op.name == "matmul"]
    allclose(r.values[q], EX9_Q)
    assert r.gradients["W"].shape == (2, 2)
    assert r.gradients["x"].shape == (2,)
    allclose(r.gradients["W"], EX9_DW)
    allclose(r.gradients["x"], EX9_DX)
    q_vec = np.array(EX9_Q)
    allclose(r.gradients["W"], 2 * np.outer(q_vec, X9))
    allclose(r.gradients["x"], 2 * W9.T @ q_vec)
    for v in r.variables:
        assert v.status == AGREE
        allclose(v.forward, v.gradient)
        np.testing.assert_allclose(v.numeric, v.gradient, rtol=1e-6)
    assert r.ok


def test_example_9_json() -> None:
    run = cli("grad", *EX9_ARGS, "--json", "--no-symbolic")
    assert run.exit_code == 0, run.stdout + run.stderr
    doc = run.json()
    assert math.isclose(doc["value"], 0.116, rel_tol=REL)
    assert doc["inputs"] == {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}
    allclose(doc["gradients"]["W"], EX9_DW)
    allclose(doc["gradients"]["x"], EX9_DX)
    assert isinstance(doc["gradients"]["W"][0], list)  # nested lists: the shape of W
    q = node(doc, "q")
    assert (q["op"], q["expr"]) == ("matmul", "W @ x")
    allclose(q["value"], EX9_Q)
    allclose(q["upstream"], [0.44, 0.52])  # 2q
    allclose(q["downstream"][0], EX9_DW)
    allclose(q["downstream"][1], EX9_DX)
    assert doc["status"] == "ok"


def test_example_9_table_shows_shapes_and_values() -> None:
    run = cli("grad", *EX9_ARGS, "--no-symbolic")
    assert run.exit_code == 0
    out = run.stdout
    rows = table_rows(out, "node")
    gate, value, upstream = (column(out, "node", h) for h in ("gate", "value", "upstream"))
    assert rows["W"][0][gate] == "input  (2×2)"
    assert rows["x"][0][gate] == "input  (2)"
    assert rows["q"][0][gate] == "q = W @ x  (2)"
    assert rows["f"][0][gate] == "f = sum(r)"  # a number: no shape
    allclose(json.loads(rows["q"][0][value]), EX9_Q)
    allclose(json.loads(rows["W"][0][upstream]), EX9_DW)
    allclose(json.loads(rows["x"][0][upstream]), EX9_DX)
    assert out.rstrip().splitlines()[-1] == "f = 0.116   ✓ all 2 gradients agree"


def test_example_9_brief() -> None:
    run = cli("grad", *EX9_ARGS, "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (
        0, "f = 0.116\n∂f/∂W = [[0.088, 0.176], [0.104, 0.208]]\n∂f/∂x = [-0.112, 0.636]\n"
    )


def test_example_9_sample_program() -> None:
    run = cli("grad", "--file", str(SAMPLES / "09-vectorized.grad"), "--json", "--no-symbolic")
    assert run.exit_code == 0, run.stdout + run.stderr
    doc = run.json()
    assert doc["output"] == "f"
    assert math.isclose(doc["value"], 0.116, rel_tol=REL)
    allclose(node(doc, "q")["value"], EX9_Q)
    allclose(doc["gradients"]["W"], EX9_DW)
    allclose(doc["gradients"]["x"], EX9_DX)


def test_example_9_sample_with_x_from_the_command_line() -> None:
    # x = [1, 0]: q = first column of W = [0.1, -0.3], f = 0.1, df/dx = 2 Wᵀ q = [0.2, -0.38]
    run = cli("grad", "--file", str(SAMPLES / "09-vectorized.grad"), "x=[1, 0]", "--json", "--no-symbolic")
    doc = run.json()
    assert math.isclose(doc["value"], 0.1, rel_tol=REL)
    allclose(doc["gradients"]["x"], [0.2, -0.38])
    allclose(doc["gradients"]["W"], [[0.2, 0.0], [-0.6, 0.0]])


def test_example_9_sympy_expands_the_tensors_into_element_symbols() -> None:
    r = gradient("sum((W@x)^2)", {"W": W9, "x": X9})
    assert r.symbolic.state == "done"
    assert [v.status for v in r.variables] == [AGREE, AGREE]
    w, x = r.variables
    allclose(w.symbolic, EX9_DW, 1e-8)
    allclose(x.symbolic, EX9_DX, 1e-8)
    assert w.derivative is not None and len(w.derivative) == 2 and len(w.derivative[0]) == 2
    assert w.derivative[0][0] == "2*x[0]*(W[0, 0]*x[0] + W[0, 1]*x[1])"
    assert r.ok


# ---------------------------------------------------------------------------
# CS231n's multiclass SVM loss and softmax cross-entropy


def test_svm_loss() -> None:
    r = gradient(SVM_ARGS[0], {"s": np.array([3.2, 5.1, -1.7])}, symbolic=False)
    assert math.isclose(r.value, 2.9, rel_tol=REL)
    allclose(r.gradients["s"], [-1.0, 1.0, 0.0])
    assert r.ok


def test_svm_loss_command_line() -> None:
    run = cli("grad", *SVM_ARGS, "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "f = 2.9\n∂f/∂s = [-1, 1, 0]\n")
    doc = cli("grad", *SVM_ARGS, "--json", "--no-symbolic").json()
    assert math.isclose(doc["value"], 2.9, rel_tol=REL)
    assert doc["gradients"] == {"s": [-1.0, 1.0, 0.0]}
    [index] = [n for n in doc["nodes"] if n["op"] == "index"]
    assert (index["expr"], index["value"]) == ("s[0]", 3.2)


def test_svm_loss_sample() -> None:
    doc = cli("grad", "--file", str(SAMPLES / "svm-loss.grad"), "--json").json()
    assert doc["output"] == "L"
    assert math.isclose(doc["value"], 2.9, rel_tol=REL)
    allclose(doc["gradients"]["s"], [-1.0, 1.0, 0.0])
    allclose(node(doc, "margins")["value"], [1.0, 2.9, 0.0])
    assert doc["checks"]["sympy"]["state"] == "done"
    assert doc["status"] == "ok"


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return np.asarray(e / e.sum())


def test_softmax_cross_entropy_gradient_is_p_minus_y() -> None:
    z = np.array([1.0, 2.0, 0.5])
    y = np.array([0.0, 1.0, 0.0])
    r = gradient("-sum(y*log_softmax(z))", {"z": z, "y": y}, symbolic=False)
    p = softmax(z)
    assert math.isclose(r.value, -math.log(p[1]), rel_tol=REL)
    assert math.isclose(r.value, 0.4643687841079447, rel_tol=REL)
    allclose(r.gradients["z"], p - y)
    allclose(r.gradients["y"], -(z - math.log(np.exp(z).sum())))
    assert r.ok


def test_softmax_cross_entropy_sample() -> None:
    doc = cli("grad", "--file", str(SAMPLES / "softmax-cross-entropy.grad"), "--json", "--no-symbolic").json()
    assert doc["output"] == "loss"
    assert math.isclose(doc["value"], 0.4643687841079447, rel_tol=REL)
    p = softmax(np.array([1.0, 2.0, 0.5]))
    allclose(doc["gradients"]["z"], p - np.array([0.0, 1.0, 0.0]))
    allclose(p, [0.2312238976, 0.6285317192, 0.1402443832], 1e-9)  # the numbers the sample's comment quotes


def test_softmax_cross_entropy_with_huge_scores_stays_finite() -> None:
    r = gradient("-sum(y*log_softmax(z))", {"z": np.array([1000.0, 1001.0]), "y": np.array([0.0, 1.0])},
                 symbolic=False)
    p1 = 1 / (1 + math.exp(-1.0))
    assert math.isclose(r.value, -math.log(p1), rel_tol=1e-12)
    allclose(r.gradients["z"], [1 - p1, p1 - 1])


# ---------------------------------------------------------------------------
# The other tensor ops, each against a hand derivation


V = np.array([3.0, -4.0])


@pytest.mark.parametrize(
    ("formula", "values", "value", "gradients"),
    [
        ("norm(v)", {"v": V}, 5.0, {"v": [0.6, -0.8]}),
        ("mean(v^2)", {"v": V}, 12.5, {"v": [3.0, -4.0]}),  # 2v/n
        ("v@u", {"v": V, "u": np.array([0.5, 2.0])}, -6.5, {"v": [0.5, 2.0], "u": [3.0, -4.0]}),
        ("u@W@v", {"u": np.array([1.0, 2.0]), "W": W9, "v": V},
         -9.9, {"u": W9 @ V, "W": np.outer([1.0, 2.0], V), "v": W9.T @ [1.0, 2.0]}),
        ("sum(T(W)@u)", {"W": W9, "u": np.array([1.0, 2.0])}, 1.6,
         {"W": [[1.0, 1.0], [2.0, 2.0]], "u": [0.6, 0.5]}),
        ("W[1, 0] * W[0, 1]", {"W": W9}, -0.15, {"W": [[0.0, -0.3], [0.5, 0.0]]}),
        ("v[1]^2", {"v": V}, 16.0, {"v": [0.0, -8.0]}),
        ("logsumexp(v)", {"v": V}, 3.0 + math.log(1 + math.exp(-7.0)), {"v": softmax(V)}),
        ("sum(v * s)", {"v": V, "s": 2.0}, -2.0, {"v": [2.0, 2.0], "s": -1.0}),
        ("sum(W * v)", {"W": W9, "v": V}, 0.3 - 2.0 - 0.9 - 3.2, {"W": [V, V], "v": [-0.2, 1.3]}),
        ("sum([a, b] * [b, a])", {"a": 1.5, "b": -2.0}, -6.0, {"a": -4.0, "b": 3.0}),  # 2ab
        ("sum(exp(v - 3))", {"v": V}, 1 + math.exp(-7.0), {"v": [1.0, math.exp(-7.0)]}),
    ],
)
def test_tensor_ops(formula: str, values: dict[str, Any], value: float, gradients: dict[str, Any]) -> None:
    r = gradient(formula, values, symbolic=False)
    assert math.isclose(r.value, value, rel_tol=REL), r.value
    assert set(r.gradients) == set(gradients)
    for name, expected in gradients.items():
        allclose(r.gradients[name], expected)
        assert np.shape(r.gradients[name]) == np.shape(values[name])
    assert r.ok, [(v.name, v.disagreeing) for v in r.variables]


def test_vectors_in_a_program() -> None:
    r = gradient("v = [3, -4]\nu = [0.5, 2]\nd = v @ u\nn = norm(v)\nd / n", symbolic=False)
    assert r.inputs["v"].tolist() == [3.0, -4.0]
    assert math.isclose(r.value, -6.5 / 5, rel_tol=REL)
    # d/dv (v·u/|v|) = u/|v| - (v·u) v/|v|³
    allclose(r.gradients["v"], np.array([0.5, 2.0]) / 5 + 6.5 * V / 125)
    allclose(r.gradients["u"], V / 5)


def test_broadcast_add_gradient() -> None:
    # sum(v + c) with a scalar c: c is added to each of the 3 elements, so ∂f/∂c = 3
    r = gradient("sum(v + c)", {"v": np.array([1.0, 2.0, 0.5]), "c": 2.0}, symbolic=False)
    assert math.isclose(r.value, 9.5, rel_tol=REL)
    assert r.gradients["c"] == 3.0
    allclose(r.gradients["v"], [1.0, 1.0, 1.0])
    assert r.variables[1].numeric is not None and math.isclose(r.variables[1].numeric, 3.0, rel_tol=1e-6)


@pytest.mark.parametrize(
    ("formula", "values"),
    [
        ("sum(v + c)", {"v": np.array([1.0, 2.0, 0.5]), "c": 2.0}),
        ("sum(v - c)", {"v": np.array([1.0, 2.0, 0.5]), "c": 2.0}),
        ("sum(W + x)", {"W": W9, "x": X9}),
    ],
)
def test_broadcast_add_passes_its_checks(formula: str, values: dict[str, Any]) -> None:
    r = gradient(formula, values, symbolic=False)
    assert [v.status for v in r.variables] == [AGREE] * len(values)
    assert r.ok


# ---------------------------------------------------------------------------
# Shape errors: which gate, which shapes, where; exit 2


def test_matmul_shape_error_names_the_gate_and_the_shapes() -> None:
    run = cli("grad", "sum(W@x)", "W=[[0.1,0.5],[-0.3,0.8]]", "x=[1, 2, 3]")
    assert (run.exit_code, run.stdout) == (2, "")
    lines = run.stderr.splitlines()
    assert lines[0] == "error: shape error in gate q = W @ x: the inner dimensions do not match"
    assert lines[1] == " --> <formula>:1:5"
    assert lines[3:5] == ["1 | sum(W@x)", "  |     ^^^"]
    assert lines[-1] == "hint: the inputs' shapes are W: 2×2, x: 3"


def test_shape_error_json() -> None:
    run = cli("grad", "sum(W@x)", "W=[[0.1,0.5],[-0.3,0.8]]", "x=[1, 2, 3]", "--json")
    assert run.exit_code == 2
    err = strict_json(run.stdout)["error"]
    assert (err["kind"], err["span"], err["line"], err["column"]) == ("shape", [4, 7], 1, 5)
    assert "W: 2×2, x: 3" in err["hint"]


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (("sum(v + c)", "v=[1, 2]", "c=[1, 2, 3]"),
         "shape error in gate q = v + c: the shapes do not broadcast together", "v: 2, c: 3"),
        (("sum(v @ W)", "v=[1, 2, 3]", "W=[[1, 2], [3, 4]]"),
         "shape error in gate q = v @ W: the inner dimensions do not match", "v: 3, W: 2×2"),
        (("s[3]", "s=[1, 2, 3]"),
         "shape error in gate f = s[3]: index 3 is out of range for axis 0 of length 3 (indices start at 0)",
         "s: 3"),
        (("x @ v", "x=2", "v=[1, 2]"),
         "shape error in gate f = x @ v: the matrix product needs vectors or matrices on both sides; "
         "use * for scalars", "x: scalar, v: 2"),
    ],
)
def test_shape_errors(args: tuple[str, ...], message: str, hint: str) -> None:
    run = cli("grad", *args)
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert lines[0] == f"error: {message}"
    assert "^" in lines[4]
    assert lines[-1] == f"hint: the inputs' shapes are {hint}"


def test_a_vector_output_asks_for_sum_or_jacobian() -> None:
    run = cli("grad", "W@x", "W=[[0.1,0.5],[-0.3,0.8]]", "x=[0.2,0.4]")
    assert run.exit_code == 2
    assert run.stderr.startswith("error: the output f is a 2 array, not a number")
    assert "gradcalc jacobian" in run.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x=[1, 2", "error: unclosed '['"),
        ("x=[[1, 2], [3]]", "error: the rows have different lengths"),
        ("x=[[[1]]]", "error: only vectors and matrices are supported"),
        ("x=[1, two]", "error: 'two' is not a number"),
        ("x=[]", "error: empty list"),
    ],
)
def test_bad_array_values_are_exit_2(value: str, message: str) -> None:
    run = cli("grad", "sum(x)", value)
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == message


def test_index_must_be_a_whole_number() -> None:
    with pytest.raises(GradcalcError, match="an index must be a whole number from 0"):
        gradient("s[1.5]", {"s": np.array([1.0, 2.0])})


# ---------------------------------------------------------------------------
# Property tests: the tensor program and the same program written with scalars


def floats() -> st.SearchStrategy[float]:
    return st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


def arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    size = int(np.prod(shape))
    return st.lists(floats(), min_size=size, max_size=size).map(lambda xs: np.array(xs).reshape(shape))


def scalar_names(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    """W00, W01, ... (matrices) or x0, x1, ... (vectors), as an array of names."""
    out = np.empty(shape, dtype=object)
    for pos in np.ndindex(*shape):
        out[pos] = prefix + "".join(map(str, pos))
    return out


def scalar_values(prefix: str, array: np.ndarray) -> dict[str, float]:
    return {str(scalar_names(prefix, array.shape)[pos]): float(array[pos]) for pos in np.ndindex(*array.shape)}


def plus(terms: list[str]) -> str:
    return "(" + " + ".join(terms) + ")"


def matvec(w: np.ndarray, x: np.ndarray) -> list[str]:
    return [plus([f"{w[i, j]}*{x[j]}" for j in range(w.shape[1])]) for i in range(w.shape[0])]


def compare(tensor: GradResult, scalar: GradResult, arrays_by_prefix: dict[str, np.ndarray]) -> None:
    """Every element's gradient in the tensor program equals the scalar program's."""
    assert math.isclose(tensor.value, scalar.value, rel_tol=1e-9, abs_tol=1e-12)
    for prefix, array in arrays_by_prefix.items():
        grad = tensor.gradients[prefix]
        assert np.shape(grad) == array.shape
        names = scalar_names(prefix, array.shape)
        for pos in np.ndindex(*array.shape):
            expected = scalar.gradients.get(str(names[pos]), 0.0)
            assert math.isclose(float(grad[pos]), expected, rel_tol=1e-9, abs_tol=1e-12), (prefix, pos)
    assert tensor.ok and scalar.ok


SHAPES = st.sampled_from([(2, 2), (2, 3), (3, 2)])


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_matrix_vector_product_equals_scalar_program(data: st.DataObject) -> None:
    m, n = data.draw(SHAPES)
    w = data.draw(arrays((m, n)))
    x = data.draw(arrays((n,)))
    tensor = gradient("sum(tanh(W@x))", {"W": w, "x": x}, symbolic=False, numeric=False)
    rows = matvec(scalar_names("W", (m, n)), scalar_names("x", (n,)))
    scalar = gradient(" + ".join(f"tanh{r}" for r in rows), {**scalar_values("W", w), **scalar_values("x", x)},
                      symbolic=False, numeric=False)
    compare(tensor, scalar, {"W": w, "x": x})


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_layer_with_bias_and_transpose_equals_scalar_program(data: st.DataObject) -> None:
    # sum(sigmoid(Wᵀ u + b) * c): a transpose, a bias vector, a scalar broadcast
    m, n = data.draw(SHAPES)
    w = data.draw(arrays((m, n)))
    u = data.draw(arrays((m,)))
    b = data.draw(arrays((n,)))
    c = data.draw(floats())
    tensor = gradient("sum(sigmoid(T(W)@u + b) * c)", {"W": w, "u": u, "b": b, "c": c},
                      symbolic=False, numeric=False)
    wn = scalar_names("W", (m, n))
    rows = matvec(wn.T, scalar_names("u", (m,)))
    formula = " + ".join(f"sigmoid({r} + b{j})*c" for j, r in enumerate(rows))
    values = {**scalar_values("W", w), **scalar_values("u", u), **scalar_values("b", b), "c": c}
    scalar = gradient(formula, values, symbolic=False, numeric=False)
    compare(tensor, scalar, {"W": w, "u": u, "b": b})
    assert math.isclose(tensor.gradients["c"], scalar.gradients["c"], rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_elementwise_broadcasting_equals_scalar_program(data: st.DataObject) -> None:
    # (v + c) with a scalar c, v * s with a scalar s, and a matrix plus a row vector
    n = data.draw(st.sampled_from([2, 3, 4]))
    v = data.draw(arrays((n,)))
    w = data.draw(arrays((2, n)))
    c, s = data.draw(floats()), data.draw(floats())
    tensor = gradient("sum((v + c)^2 * s) + sum(exp(v * s)) + sum(tanh(W + v) * W)",
                      {"v": v, "c": c, "s": s, "W": w}, symbolic=False, numeric=False)
    terms = [f"(v{i} + c)^2*s + exp(v{i}*s)" for i in range(n)]
    terms += [f"tanh(W{i}{j} + v{j})*W{i}{j}" for i in range(2) for j in range(n)]
    scalar = gradient(" + ".join(terms), {**scalar_values("v", v), **scalar_values("W", w), "c": c, "s": s},
                      symbolic=False, numeric=False)
    compare(tensor, scalar, {"v": v, "W": w})
    for name in ("c", "s"):
        assert math.isclose(tensor.gradients[name], scalar.gradients[name], rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_softmax_and_logsumexp_equal_scalar_program(data: st.DataObject) -> None:
    n = data.draw(st.sampled_from([2, 3, 4]))
    z = data.draw(arrays((n,)))
    y = data.draw(arrays((n,)))
    tensor = gradient("sum(softmax(z) * y) + logsumexp(z) - sum(y * log_softmax(z))", {"z": z, "y": y},
                      symbolic=False, numeric=False)
    total = plus([f"exp(z{i})" for i in range(n)])
    terms = [f"exp(z{i})/{total}*y{i}" for i in range(n)]
    terms.append(f"log{total}")
    terms += [f"-y{i}*(z{i} - log{total})" for i in range(n)]
    scalar = gradient(" + ".join(terms), {**scalar_values("z", z), **scalar_values("y", y)},
                      symbolic=False, numeric=False)
    compare(tensor, scalar, {"z": z, "y": y})


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_norm_mean_and_indexing_equal_scalar_program(data: st.DataObject) -> None:
    n = data.draw(st.sampled_from([2, 3]))
    w = data.draw(arrays((2, n)))
    x = data.draw(arrays((n,)).filter(lambda a: float(np.abs(a).max()) > 0.1))
    tensor = gradient("norm(x) * mean(W) + W[1, 0] * x[0] - sum(max(0, x))", {"W": w, "x": x},
                      symbolic=False, numeric=False)
    norm = "sqrt" + plus([f"x{j}^2" for j in range(n)])
    mean = plus([f"W{i}{j}" for i in range(2) for j in range(n)]) + f"/{2 * n}"
    relus = " - ".join(f"max(0, x{j})" for j in range(n))
    scalar = gradient(f"{norm} * {mean} + W10 * x0 - {relus}", {**scalar_values("W", w), **scalar_values("x", x)},
                      symbolic=False, numeric=False)
    compare(tensor, scalar, {"W": w, "x": x})


def test_a_domain_error_shows_a_vector_input_as_the_tables_do() -> None:
    run = cli("grad", "sum(relu(log(v)))", "v=[-1, 2.5]", "--json")
    assert run.exit_code == 2
    error = strict_json(run.stdout)["error"]
    assert error["message"] == "log of a negative number in gate q = log(v)"
    assert error["hint"] == "its input is v = [-1, 2.5]; choose values inside its domain"
