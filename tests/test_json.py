"""`--json`: one strict JSON document, its schema, and the error object."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import cli, strict_json

from gradcalc import cli as cli_module
from gradcalc.checks import FORWARD_TOL, NUMERIC_TOL, SYMBOLIC_TOL

EX3 = ("(x+y)*z", "x=-2", "y=5", "z=-4")
NODE_KEYS = {
    "id", "name", "kind", "op", "expr", "inputs", "span", "value", "upstream", "local", "downstream", "pattern",
}  # fmt: skip
CHECK_KEYS = {
    "name", "value", "gradient", "forward", "sympy", "derivative", "numeric", "status", "disagreeing", "notes",
}  # fmt: skip


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    run = cli("grad", *EX3, "--json")
    assert (run.exit_code, run.stderr) == (0, "")
    return strict_json(run.stdout)


def test_top_level(doc: dict[str, Any]) -> None:
    assert {"value", "gradients", "nodes", "checks", "status", "output", "inputs"} <= set(doc)
    assert doc["value"] == -12.0
    assert doc["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert (doc["output"], doc["status"], doc["formula"]) == ("f", "ok", "(x+y)*z")
    assert doc["inputs"] == {"x": -2.0, "y": 5.0, "z": -4.0}


def test_nodes(doc: dict[str, Any]) -> None:
    nodes = doc["nodes"]
    assert all(set(n) >= NODE_KEYS for n in nodes)
    assert [n["id"] for n in nodes] == list(range(len(nodes)))
    table = [(n["name"], n["kind"], n["op"], n["expr"], n["inputs"], n["value"], n["upstream"]) for n in nodes]
    assert table == [
        ("x", "input", None, "x", [], -2.0, -4.0),
        ("y", "input", None, "y", [], 5.0, -4.0),
        ("q", "gate", "add", "x + y", [0, 1], 3.0, -4.0),
        ("z", "input", None, "z", [], -4.0, 3.0),
        ("f", "gate", "mul", "q * z", [2, 3], -12.0, 1.0),
    ]
    assert [(n["local"], n["downstream"]) for n in nodes if n["kind"] == "gate"] == [
        ([1.0, 1.0], [-4.0, -4.0]),
        ([-4.0, 3.0], [-4.0, 3.0]),
    ]
    # Every span points at the node's text in the formula.
    assert ["(x+y)*z"[a:b] for a, b in (n["span"] for n in nodes)] == ["x", "y", "(x+y)", "z", "(x+y)*z"]


def test_checks(doc: dict[str, Any]) -> None:
    checks = doc["checks"]
    assert checks["ok"] is True
    assert all(set(c) >= CHECK_KEYS for c in checks["variables"])
    assert [(c["name"], c["gradient"], c["forward"], c["sympy"], c["derivative"], c["status"])
            for c in checks["variables"]] == [
        ("x", -4.0, -4.0, -4.0, "z", "agree"),
        ("y", -4.0, -4.0, -4.0, "z", "agree"),
        ("z", 3.0, 3.0, 3.0, "x + y", "agree"),
    ]  # fmt: skip
    assert [c["numeric"] for c in checks["variables"]] == pytest.approx([-4.0, -4.0, 3.0], rel=1e-9)
    assert checks["sympy"]["state"] == "done"
    tol = checks["tolerances"]
    assert (tol["forward"]["rtol"], tol["forward"]["atol"]) == (FORWARD_TOL.rtol, FORWARD_TOL.atol) == (1e-9, 1e-12)
    assert (tol["sympy"]["rtol"], tol["sympy"]["atol"]) == (SYMBOLIC_TOL.rtol, SYMBOLIC_TOL.atol) == (1e-8, 1e-10)
    assert (tol["numeric"]["rtol"], tol["numeric"]["atol"]) == (NUMERIC_TOL.rtol, NUMERIC_TOL.atol) == (1e-5, 1e-7)


def test_exact_numbers_not_rounded() -> None:
    doc = cli("grad", "sigmoid(x)", "x=1", "--json", "--no-symbolic").json()
    assert doc["value"] == 0.7310585786300049


def test_infinite_gradient_is_null_with_a_status() -> None:
    run = cli("grad", "sqrt(x) + y", "x=0", "y=1", "--json", "--no-symbolic")
    doc = strict_json(run.stdout)  # still strict: no Infinity
    assert doc["gradients"] == {"x": None, "y": 1.0}
    assert doc["gradient_status"] == {"x": "inf"}
    assert doc["conventions"][0]["note"] == "sqrt at 0: derivative is infinite"


def test_conventions_name_the_node_and_its_variables() -> None:
    doc = cli("grad", "relu(x)*y", "x=0", "y=2", "--json", "--no-symbolic").json()
    assert doc["conventions"] == [
        {"node": 1, "name": "q", "note": "relu at 0: local gradient taken as 0 (PyTorch, JAX)", "variables": ["x"]}
    ]
    assert doc["gradients"] == {"x": 0.0, "y": 0.0}
    assert [c["status"] for c in doc["checks"]["variables"]] == ["kink", "agree"]
    assert doc["status"] == "ok"


def test_each_convention_names_exactly_the_variables_below_it() -> None:
    doc = cli("grad", "relu(x) + relu(y) + relu(x*y)", "x=0", "y=0", "--json", "--no-symbolic").json()
    assert [(c["name"], c["variables"]) for c in doc["conventions"]] == [("q", ["x"]), ("r", ["y"]), ("u", ["x", "y"])]
    assert doc["conventions_more"] == 0


def test_past_fifty_conventions_are_counted_and_still_mark_their_variables() -> None:
    # 60 nested relu of x at 0, then relu(y) at 0: the 61st kink is not listed, and y is still a kink.
    formula = "relu(" * 60 + "x" + ")" * 60 + " + relu(y)"
    doc = cli("grad", formula, "x=0", "y=0", "--json", "--no-symbolic").json()
    assert len(doc["conventions"]) == 50
    assert doc["conventions_more"] == 11
    assert all(c["variables"] == ["x"] for c in doc["conventions"])
    # relu(y) at 0: backprop says 0, the central difference 0.5; the convention explains it.
    assert {c["name"]: c["status"] for c in doc["checks"]["variables"]} == {"x": "kink", "y": "kink"}
    assert doc["gradients"] == {"x": 0.0, "y": 0.0}
    assert doc["status"] == "ok"


def test_inconclusive_numeric_check_has_a_note() -> None:
    # relu's kink lies within the first step h ≈ 6e-6 of x = 1e-7; a step on the scale of x confirms 1.
    doc = cli("grad", "relu(x)", "x=1e-7", "--json", "--no-symbolic").json()
    [check] = doc["checks"]["variables"]
    assert (check["gradient"], check["status"], check["notes"]) == (1.0, "agree", [])
    assert check["numeric"] == pytest.approx(1.0, rel=1e-9)
    # max's kink one unit in the last place away: no step can keep off it, and the note says which gate.
    doc = cli("grad", "max(x, y)", "x=1", "y=1.0000000000000002", "--json", "--no-symbolic").json()
    assert [c["status"] for c in doc["checks"]["variables"]] == ["agree", "agree"]
    assert doc["checks"]["variables"][0]["notes"] == [
        "numeric check inconclusive: the smallest step still crosses the kink of gate f = max(x, y)"
    ]


def test_tie_is_reported() -> None:
    doc = cli("grad", "max(x, y)", "x=1", "y=1", "--tie", "all", "--json", "--no-symbolic").json()
    assert doc["tie"] == "all"
    assert doc["gradients"] == {"x": 1.0, "y": 1.0}


def test_brief_json() -> None:
    doc = cli("grad", *EX3, "--json", "--brief", "--no-symbolic").json()
    assert {"value", "gradients"} <= set(doc)
    assert "nodes" not in doc


def test_error_object() -> None:
    run = cli("grad", "(x+*y)", "x=1", "y=2", "--json")
    assert run.exit_code == 2
    assert strict_json(run.stdout) == {
        "error": {
            "message": "expected a value after '+', found '*'",
            "kind": "syntax",
            "span": [3, 4],
            "line": 1,
            "column": 4,
            "hint": "a value is a number, a name, a call such as exp(x), or an expression in parentheses",
            "source": "<formula>",
        }
    }


def test_error_object_of_a_domain_error() -> None:
    run = cli("grad", "1/x", "x=0", "--json")
    assert run.exit_code == 2
    err = strict_json(run.stdout)["error"]
    assert (err["kind"], err["span"], err["message"]) == ("domain", [0, 3], "division by zero in gate f = 1 / x")


def test_usage_error_under_json_is_a_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_module.main(["grad", "x", "x=1", "--json", "--frobnicate"]) == 2
    captured = capsys.readouterr()
    err = strict_json(captured.out)["error"]
    assert err["kind"] == "usage"
    assert "--frobnicate" in err["message"]
    assert captured.err == ""


def test_one_document_on_stdout_even_with_warnings() -> None:
    run = cli("grad", "x", "x=1", "speed=2", "--json", "--no-symbolic")
    assert run.exit_code == 0
    assert run.stdout.startswith("{") and run.stdout.rstrip().endswith("}")
    assert strict_json(run.stdout)["warnings"] == ["'speed' is not used by the formula; its value is ignored"]
    assert run.stderr.startswith("warning: ")


def test_a_small_document_is_indented_as_json_dumps_does() -> None:
    from gradcalc.api import gradient
    from gradcalc.render.jsondoc import dumps, result_doc

    doc = result_doc(gradient("(x+y)*z", {"x": -2, "y": 5, "z": -4}))
    assert dumps(doc) == json.dumps(doc, indent=2, ensure_ascii=False)


def test_a_large_document_puts_each_node_on_one_line() -> None:
    # 400 squares: 1,199 nodes, far past what the indenting encoder handles quickly.
    from gradcalc.api import gradient
    from gradcalc.render.jsondoc import dumps, result_doc

    formula = " + ".join(f"x{i}*x{i}" for i in range(400))
    doc = result_doc(gradient(formula, {f"x{i}": float(i) for i in range(400)}, symbolic=False))
    text = dumps(doc)
    assert json.loads(text) == doc
    lines = text.splitlines()
    assert '    "x399": 798.0' in lines  # ∂/∂x399 of x399² at 399, one gradient a line
    node_lines = [line for line in lines if line.startswith('    {"id": ')]
    assert len(node_lines) == len(doc["nodes"]) == 1199
    assert json.loads(node_lines[-1].rstrip(","))["name"] == "f"
