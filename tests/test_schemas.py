"""The JSON Schemas in gradcalc/schemas/ describe real output: answers, wrong answers and errors alike."""

from __future__ import annotations

import importlib.util
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SAMPLES, cli, gradcalc_process

jsonschema = pytest.importorskip("jsonschema")

SCHEMAS = files("gradcalc") / "schemas"
NAMES = ["grad", "check", "hessian", "jacobian", "trace", "descend", "error"]


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return loaded


def validate(name: str, doc: Any) -> None:
    validator = jsonschema.Draft202012Validator(schema(name))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    # A oneOf says only "not valid under any": show the reasons of the variant that came closest.
    reasons = [jsonschema.exceptions.best_match([e]) for e in errors]
    assert not errors, "\n".join(f"{list(r.absolute_path)}: {r.message[:300]}" for r in reasons[:5])


def test_the_files_are_the_scripts_output() -> None:
    spec = importlib.util.spec_from_file_location("json_schemas", ROOT / "tools" / "json_schemas.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    wanted = module.files()
    assert sorted(wanted) == sorted(f"{n}.schema.json" for n in NAMES)
    for filename, text in wanted.items():
        assert (SCHEMAS / filename).read_text(encoding="utf-8") == text, "regenerate: python tools/json_schemas.py"


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_a_valid_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema(name))
    assert schema(name)["$id"].endswith(f"/{name}.schema.json")


def test_the_docs_link_every_schema() -> None:
    page = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"gradcalc/schemas/{name}.schema.json" in page, name


NEURON = str(SAMPLES / "04-neuron.grad")
LINEAR = ["(w*x + b - y)^2", "w=0", "b=0", "--data", str(SAMPLES / "linear.csv")]

# (schema, arguments, exit code): right answers, wrong ones (exit 1) and bad input (exit 2), for each command.
RUNS: list[tuple[str, list[str], int]] = [
    ("grad", ["grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--json"], 0),
    ("grad", ["grad", "--file", NEURON, "--json", "--brief"], 0),
    ("grad", ["grad", "--file", NEURON, "--json", "--explain", "--no-symbolic"], 0),
    ("grad", ["grad", "x*x*x", "x=2", "--json", "--explain", "--no-symbolic"], 0),
    ("grad", ["grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--json", "--expect", "q=3", "--expect-upstream", "q=-4",
              "--expect-grad", "x=4", "--lr", "0.1"], 1),
    ("grad", ["grad", "sum((W@x)^2)", "W=[[0.1,0.5],[-0.3,0.8]]", "x=[0.2,0.4]", "--json"], 0),
    ("grad", ["grad", "--file", str(SAMPLES / "09-vectorized.grad"), "--json", "--expect-grad", "x[1]=-0.636"], 1),
    ("grad", ["grad", "max(x, y)*z", "x=4", "y=4", "z=3", "--json", "--tie", "all"], 0),
    ("grad", ["grad", "sqrt(x) - sqrt(x)", "x=0", "--json"], 0),
    ("grad", ["grad", "2*(1/x)", "x=1e-200", "--json", "--no-symbolic"], 1),
    ("grad", ["grad", "2*(1/x)", "x=1e-200", "--json", "--brief"], 1),
    ("grad", ["grad", "x^3*sin(x)", "x=2", "--order", "3", "--json"], 0),
    ("grad", ["grad", "log(x)", "x=-1", "--json"], 2),
    ("grad", ["grad", "(x+y)*z", "--json"], 0),
    ("grad", ["grad", "relu(x)*y", "y=2", "--json"], 0),
    ("trace", ["trace", "(x+y)*z", "x=-2", "--json"], 0),
    ("trace", ["trace", "ln(x1) + x1*x2", "--mode", "forward", "--seed", "x1", "--json"], 0),
    ("grad", ["grad", "(x+*y)", "x=1", "--json"], 2),
    ("check", ["check", str(SAMPLES / "homework.toml"), "--json"], 0),
    ("check", ["check", str(SAMPLES / "homework-wrong.toml"), "--json"], 1),
    ("check", ["check", str(SAMPLES / "answers-with-errors.toml"), "--json"], 2),
    ("check", ["check", str(SAMPLES / "broken.toml"), "--json"], 2),
    ("hessian", ["hessian", "x^2*y + sin(x*y)", "x=1", "y=2", "--json"], 0),
    ("hessian", ["hessian", "x*x - y*y", "x=0", "y=0", "--json", "--no-symbolic"], 0),
    ("hessian", ["hessian", "sum(v^2) + v[0]*v[1]", "v=[1, 2, 3]", "--json"], 0),
    ("hessian", ["hessian", "sum(v^2)", "v=[1, 2]", "--json", "--hvp"], 0),
    ("hessian", ["hessian", "[x, y]", "x=1", "y=2", "--json"], 2),
    ("jacobian", ["jacobian", "softmax(z)", "z=[1, 2, 0.5]", "--json"], 0),
    ("jacobian", ["jacobian", "relu(v)", "v=[0, 1]", "--json"], 0),
    ("jacobian", ["jacobian", "W@x", "W=[[0.1,0.5],[-0.3,0.8]]", "x=[1, 2, 3]", "--json"], 2),
    ("trace", ["trace", "ln(x1) + x1*x2 - sin(x2)", "x1=2", "x2=5", "--mode", "forward", "--seed", "x1", "--json"], 0),
    ("trace", ["trace", "ln(x1) + x1*x2 - sin(x2)", "x1=2", "x2=5", "--mode", "reverse", "--json"], 0),
    ("trace", ["trace", "v*2", "v=[1, 2]", "--mode", "reverse", "--json"], 2),
    ("descend", ["descend", *LINEAR, "--lr", "0.05", "--batch-size", "5", "--epochs", "3", "--json"], 0),
    ("descend", ["descend", "(x-3)^2 + (y+1)^2", "x=0", "y=0", "--lr", "0.1", "--steps", "5", "--json"], 0),
    ("descend", ["descend", *LINEAR, "--lr", "1", "--batch-size", "5", "--epochs", "100", "--json"], 1),
    ("descend", ["descend", "(w*x + b - y)^2", "w=0", "b=0", "--data", str(SAMPLES / "bad-cell.csv"), "--json"], 2),
]


@pytest.mark.parametrize(("name", "args", "code"), RUNS, ids=[" ".join(a)[:70] for _, a, _ in RUNS])
def test_real_output_is_valid(name: str, args: list[str], code: int, tmp_path: Path) -> None:
    run = cli(*args)
    assert run.exit_code == code, run.stdout + run.stderr
    doc = run.json()
    validate(name, doc)
    if "error" in doc:  # every command's error is the one error object
        validate("error", doc)


def test_usage_errors_are_the_error_object() -> None:
    """An option's bad value is found by the command line itself, before any command: the same object."""
    for args in (["grad", "x", "x=1", "--digits", "0", "--json"], ["jacobian", "v", "v=[1]", "--tie", "x", "--json"]):
        run = gradcalc_process(*args)
        assert run.exit_code == 2
        validate(args[0], run.json())
        validate("error", run.json())


def test_a_schema_refuses_what_gradcalc_never_writes() -> None:
    """The schemas are strict enough to catch drift: an unknown key or a wrong type fails."""
    doc = cli("grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--json", "--brief").json()
    validate("grad", doc)
    with pytest.raises(AssertionError):
        validate("grad", {**doc, "surprise": 1})
    with pytest.raises(AssertionError):
        validate("grad", {**doc, "status": "fine"})
    with pytest.raises(AssertionError):
        validate("error", {"error": {"message": "m"}})
