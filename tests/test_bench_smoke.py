"""The benchmark's smoke: `python bench/run.py --quick` runs in seconds and its answers are right.

Timings are recorded by the benchmark but never asserted here; what is
asserted are the gradients (against examples.md and hand derivations), the
node counts, the SymPy check's reported states, and that peak memory is
measured per run.
"""

from __future__ import annotations

import importlib.util
import json
import resource
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import gradcalc

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str) -> ModuleType:
    """A module of bench/ by its path, under a name that cannot clash with an installed one."""
    spec = importlib.util.spec_from_file_location(f"gradcalc_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


measure = _load("measure")
workloads = _load("workloads")

# examples.md, example 4: the CS231n neuron.
NEURON_GRADIENTS = {
    "w0": -0.19661193324148185,
    "x0": 0.3932238664829637,
    "w1": -0.3932238664829637,
    "x1": -0.5898357997244457,
    "w2": 0.19661193324148185,
}


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    r = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Targets (issue 6)" in r.stdout
    return json.loads(out.read_text(encoding="utf-8"))


def close(a: float, b: float, rtol: float = 1e-9) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b))


def test_quick_run_has_every_section_and_no_wrong_answer(quick: dict[str, Any]) -> None:
    assert quick["answers_ok"] is True
    assert quick["problems"] == []
    assert {"meta", "latency", "scale", "sympy", "targets"} <= quick.keys()
    names = [t["target"] for t in quick["targets"]]
    assert "checked one-shot / SymPy one-liner" in names
    assert "unchecked one-shot / typer+rich import" in names


def test_latency_answers_are_the_neuron_of_examples_md(quick: dict[str, Any]) -> None:
    answers = quick["latency"]["answers"]
    for label in ("checked", "unchecked"):
        assert answers[label]["value"] == pytest.approx(0.7310585786300049, rel=1e-12)
        for name, want in NEURON_GRADIENTS.items():
            assert answers[label]["gradients"][name] == pytest.approx(want, rel=1e-12)
    assert answers["checked"]["sympy"] == "done"
    for name, want in NEURON_GRADIENTS.items():  # the baseline computes the same thing
        assert answers["sympy_one_liner"]["gradients"][name] == pytest.approx(want, rel=1e-12)
    for label in ("checked", "unchecked"):
        lat = quick["latency"][label]
        assert lat["ratio"] == pytest.approx(lat["gradcalc_seconds"] / lat["baseline_seconds"])


def test_neuron_reference_is_sigma_prime_times_the_other_input() -> None:
    f, grads = workloads.neuron_reference()
    assert f == pytest.approx(0.7310585786300049, rel=1e-15)
    for name, want in NEURON_GRADIENTS.items():
        assert grads[name] == pytest.approx(want, rel=1e-15)


def test_scale_reference_by_hand() -> None:
    # c = 1, d = 1: a = 1.3 - 0.7 = 0.6 > 0, s = 1.3 - 0.6 = 0.7, f = a s^2 = 0.294,
    # df/dw = c s^2 + 2 a s = 0.49 + 0.84, df/db = s^2, df/dx = -2 a s d = -0.84.
    # c = 0.5: a = -0.05, the relu is off and the term adds nothing.
    work = workloads.ScaleWorkload(2, [1.0, 0.5], [1.0, 1.0])
    f, grads = work.reference()
    assert f == pytest.approx(0.294)
    assert grads == pytest.approx({"w": 1.33, "b": 0.49, "x": -0.84})
    r = gradcalc.gradient(work.formula(), workloads.SCALE_VALUES, symbolic=False)
    assert r.value == pytest.approx(0.294, rel=1e-12)
    assert r.gradients == pytest.approx({"w": 1.33, "b": 0.49, "x": -0.84}, rel=1e-12)


def test_scale_formula_has_eleven_tape_nodes_per_term() -> None:
    for terms in (1, 7, 91):
        work = workloads.scale_workload(terms)
        tape = gradcalc.build(gradcalc.parse_program(work.formula()))
        assert len(tape.nodes) == work.nodes == 11 * terms + 2
    assert workloads.terms_for_nodes(100_000) == 9091


def test_scale_rows_agree_with_the_closed_form(quick: dict[str, Any]) -> None:
    rows = quick["scale"]["rows"]
    assert [r["nodes"] for r in rows] == [1003, 2004]
    for row in rows:
        work = workloads.scale_workload(row["terms"])
        # The closed form, written out again here rather than trusted from the benchmark.
        w, b, x = 1.3, -0.7, 0.6
        want = {"w": 0.0, "b": 0.0, "x": 0.0}
        for c, d in zip(work.c, work.d, strict=True):
            a, s = w * c + b, w - d * x
            if a > 0:
                want["w"] += c * s * s + 2 * a * s
                want["b"] += s * s
                want["x"] -= 2 * a * s * d
        g = row["gradcalc"]
        assert g["agrees_with_closed_form"] is True
        for name in want:
            assert close(g["gradients"][name], want[name])
        assert row["tape_nodes"] == row["nodes"]
        assert g["peak_mb"] > 0


@pytest.mark.parametrize("engine", ["torch", "micrograd"])
def test_scale_engines_agree_with_gradcalc_when_installed(quick: dict[str, Any], engine: str) -> None:
    if importlib.util.find_spec(engine) is None:
        for row in quick["scale"]["rows"]:
            assert "not installed" in row[engine]["error"]
        pytest.skip(f"{engine} is not installed (pip install '.[bench]')")
    for row in quick["scale"]["rows"]:
        assert row[engine]["agrees_with_gradcalc"] is True
        for name, v in row[engine]["gradients"].items():
            assert close(v, row["gradcalc"]["gradients"][name])


def test_sympy_section_reports_done_and_skipped(quick: dict[str, Any]) -> None:
    from gradcalc.symbolic import MAX_SYMBOLIC_NODES

    rows = {r["k"]: r for r in quick["sympy"]["rows"]}
    assert sorted(rows) == [1, MAX_SYMBOLIC_NODES // 13 + 1]
    assert rows[1]["state"] == "done"
    assert rows[1]["sympy_answers"] == 3
    assert rows[1]["nodes"] == 15  # 1/(1+exp(-(w0*a + w1*c + w2))): 3 variables, 12 more nodes
    big = rows[max(rows)]
    assert big["nodes"] == 13 * big["k"] + 2 > MAX_SYMBOLIC_NODES
    assert big["state"] == "skipped"
    assert "more than" in big["reason"]
    assert big["sympy_answers"] == 0
    assert all(r["status"] == "ok" for r in rows.values())  # the other checks stand


def test_sympy_workload_reference_by_hand() -> None:
    # One neuron with a = 0, c = 0: sigma(w2) = sigma(0.25), and only w2's gradient is nonzero.
    work = workloads.SympyWorkload(1, [0.0], [0.0])
    f, grads = work.reference()
    s = 1 / (1 + 2.718281828459045**-0.25)
    assert f == pytest.approx(s, rel=1e-12)
    assert grads == pytest.approx({"w0": 0.0, "w1": 0.0, "w2": s * (1 - s)}, rel=1e-12)


def test_peak_memory_is_measured_per_run() -> None:
    big = measure.run([sys.executable, "-c", "b = b'x' * 200_000_000"])
    small = measure.run([sys.executable, "-c", "pass"])
    assert big.returncode == small.returncode == 0
    assert big.peak_mb > 200
    # Not the largest child so far, as RUSAGE_CHILDREN would say.  Linux counts the parent's peak into a
    # child's when it execs, so the bound is over this process's own (the whole suite's pytest is ~95 MB).
    parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * measure._RSS_UNIT / 1e6
    assert small.peak_mb < max(100, parent_mb + 50) < big.peak_mb


def test_run_reports_exit_code_and_output(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("hello", encoding="utf-8")
    r = measure.run([sys.executable, "-c", "import sys; print(sys.stdin.read()[::-1]); sys.exit(3)"], stdin_path=src)
    assert r.returncode == 3
    assert r.stdout.strip() == "olleh"
    r = measure.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert r.timed_out
