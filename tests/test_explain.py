"""`grad --explain`: the chain rule along each path, symbols and numbers side by side."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import EXAMPLES, NETWORK, NETWORK_FORMULA, NEURON, NEURON_GRADIENTS, Example, cli

from gradcalc.api import gradient
from gradcalc.explain import MAX_PATHS, PATH_COUNT_CAP, explain
from gradcalc.render.explain import explanation_text
from gradcalc.render.numbers import fmt

EX3 = ("(x+y)*z", "x=-2", "y=5", "z=-4")
SIGMOID_PRIME = 0.7310585786300049 * (1 - 0.7310585786300049)


def explained(formula: str, values: dict[str, float] | None = None, **kw: int) -> str:
    return explanation_text(explain(gradient(formula, values or {}, symbolic=False, numeric=False), **kw))


def test_example_3_reads_like_the_lecture() -> None:
    run = cli("grad", *EX3, "--explain", "--no-symbolic", "--no-numeric")
    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert "∂f/∂x = ∂f/∂q · ∂q/∂x = (-4)(1) = -4" in lines
    assert "∂f/∂y = ∂f/∂q · ∂q/∂y = (-4)(1) = -4" in lines
    assert "∂f/∂z = 3   (one gate: f = q * z, mul swaps)" in lines
    assert "  q = x + y  add distributes  ∂q/∂x = 1, ∂q/∂y = 1" in lines
    assert "  f = q * z  mul swaps        ∂f/∂q = z = -4, ∂f/∂z = q = 3" in lines


def test_max_routes() -> None:
    text = explained("max(x, y)*z", {"x": 4, "y": 2, "z": 3})
    assert "  q = max(x, y)  max routes  ∂q/∂x = [x is the max] = 1, ∂q/∂y = [y is the max] = 0" in text
    assert "∂f/∂x = ∂f/∂q · ∂q/∂x = (3)(1) = 3" in text
    assert "∂f/∂y = ∂f/∂q · ∂q/∂y = (3)(0) = 0" in text


def test_fan_out_sums_over_paths() -> None:
    text = explained("a = 1; b = a + a; c = b + b")
    assert text.splitlines()[-6:] == [
        "a reaches c along 4 paths because a feeds 2 inputs, b feeds 2 inputs; their products add up:",
        "∂c/∂a = ∂c/∂b · ∂b/∂a  = (1)(1) = 1",
        "      + ∂c/∂b · ∂b/∂a  = (1)(1) = 1",
        "      + ∂c/∂b · ∂b/∂a  = (1)(1) = 1",
        "      + ∂c/∂b · ∂b/∂a  = (1)(1) = 1",
        "      = 4",
    ]
    assert "  b = a + a  add distributes  ∂b/∂a = 1 (each of 2 uses)" in text


def test_x_cubed_has_three_paths() -> None:
    ex = explain(gradient("x*x*x", {"x": 2}, symbolic=False, numeric=False))
    (chain,) = ex.variables
    assert chain.path_count == 3
    assert [p.product for p in chain.paths] == [4.0, 4.0, 4.0]  # 3x² = 12 at 2, one x² per use
    assert chain.gradient == 12.0


def test_one_input_chains_collapse_into_sigmoid() -> None:
    ex = explain(gradient("1/(1+exp(-(w0*x0+w1*x1+w2)))", NEURON, symbolic=False, numeric=False))
    (chain,) = ex.chains  # *-1, exp, +1, 1/x: CS231n's sigmoid, four links in one factor
    assert [ex.label(chain.top), ex.label(chain.bottom), len(chain.links)] == ["f", "t", 4]
    assert chain.value == pytest.approx(SIGMOID_PRIME, rel=1e-12)  # σ(1-σ) = 0.1966
    text = explanation_text(ex)
    assert (
        "  ∂f/∂t = ∂f/∂g · ∂g/∂v · ∂v/∂u · ∂u/∂t = (-0.534447)(1)(0.367879)(-1) = 0.196612" in text
    )  # the 1/x gate's -1/x² = -0.53 at x = 1.37
    assert "∂f/∂w0 = ∂f/∂t · ∂t/∂s · ∂s/∂q · ∂q/∂w0 = (0.196612)(1)(1)(-1) = -0.196612" in text
    assert "∂f/∂x1 = ∂f/∂t · ∂t/∂s · ∂s/∂r · ∂r/∂x1 = (0.196612)(1)(1)(-3) = -0.589836" in text
    for v in ex.variables:
        assert math.fsum(p.product for p in v.paths) == pytest.approx(NEURON_GRADIENTS[v.name], rel=1e-12)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"example-{e.number}")
def test_paths_add_up_to_backprop(example: Example) -> None:
    result = gradient(example.formula, example.values, symbolic=False, numeric=False)
    ex = explain(result)
    for v in ex.variables:
        assert v.path_count <= MAX_PATHS
        assert v.shown_sum == pytest.approx(result.gradients[v.name], rel=1e-12, abs=1e-15)
        for p in v.paths:
            assert p.product == pytest.approx(math.prod(link.local for f in p.factors for link in f.links))


def test_the_network_stays_readable() -> None:
    """Example 8, a 31-gate formula: each weight's paths, each line short enough to read."""
    result = gradient(NETWORK_FORMULA, NETWORK, symbolic=False, numeric=False)
    text = explanation_text(explain(result))
    assert "∂f/∂w5 = ∂f/∂n4 · ∂n4/∂n · ∂n/∂u · ∂u/∂w5 = (1)(0.0915489)(1)(0.532454) = 0.0487456" in text
    assert "w1 reaches f along 2 paths because w1 feeds 2 inputs; their products add up:" in text
    assert max(len(line) for line in text.splitlines()) <= 120


def test_many_paths_are_capped_and_the_rest_summed() -> None:
    program = "a = 1; b = a + a; c = b + b; d = c + c; e = d + d"  # 16 paths from e to a
    ex = explain(gradient(program, {}, symbolic=False, numeric=False), max_paths=MAX_PATHS)
    (chain,) = ex.variables
    assert (chain.path_count, len(chain.paths), chain.rest, chain.gradient) == (16, 8, 8.0, 16.0)
    lines = explanation_text(ex).splitlines()
    assert lines[-2:] == ["      + … 8 more paths, together = 8", "      = 16"]


def test_path_counts_saturate() -> None:
    lines = ["a = 1"] + [f"a{k} = {'a' if k == 1 else f'a{k - 1}'} * 1.0 + {'a' if k == 1 else f'a{k - 1}'}"
                         for k in range(1, 81)]  # fmt: skip
    ex = explain(gradient("\n".join(lines), {}, symbolic=False, numeric=False))
    (chain,) = ex.variables
    assert chain.path_count == PATH_COUNT_CAP and len(chain.paths) == MAX_PATHS
    assert "a reaches a80 along more than 10^18 paths" in explanation_text(ex)
    assert chain.gradient == 2.0**80


def test_a_variable_the_output_does_not_use() -> None:
    result = gradient("x = 1; y = 2; a = 3*x; b = y + 1", {}, output="a", symbolic=False, numeric=False)
    lines = explanation_text(explain(result)).splitlines()
    assert "∂a/∂x = 3   (one gate: a = 3 * x, mul swaps)" in lines
    assert "∂a/∂y = 0   (a does not depend on y)" in lines


def test_json_explanation() -> None:
    doc = cli("grad", *EX3, "--explain", "--json", "--no-symbolic", "--no-numeric").json()
    ex = doc["explanation"]
    x = next(v for v in ex["variables"] if v["name"] == "x")
    assert x == {
        "name": "x",
        "gradient": -4.0,
        "paths_total": 1,
        "paths": [{"factors": [{"of": "f", "by": "q", "value": -4.0}, {"of": "q", "by": "x", "value": 1.0}],
                   "product": -4.0}],
        "rest": None,
        "fanout": [],
    }  # fmt: skip
    assert [g["pattern"] for g in ex["gates"]] == ["add distributes", "mul swaps"]
    assert ex["gates"][1]["local"] == [{"by": "q", "formula": "z", "value": -4.0},
                                       {"by": "z", "formula": "q", "value": 3.0}]  # fmt: skip


def test_markdown_and_latex_carry_the_explanation() -> None:
    md = cli("grad", *EX3, "--explain", "--format", "markdown", "--no-symbolic", "--no-numeric").stdout
    assert "**Chain rule, path by path**\n\n```text\n" in md
    assert "∂f/∂x = ∂f/∂q · ∂q/∂x = (-4)(1) = -4" in md
    tex = cli("grad", *EX3, "--explain", "--format", "latex", "--no-symbolic", "--no-numeric").stdout
    assert (
        r"  \frac{\partial f}{\partial x} &= \frac{\partial f}{\partial q}\,\frac{\partial q}{\partial x} \\"
        "\n"
        r"  &= (-4)(1) = -4 \\"
    ) in tex


def test_tensors_get_a_note_instead() -> None:
    point = {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]), "x": np.array([0.2, 0.4])}
    ex = explain(gradient("sum((W@x)^2)", point, symbolic=False, numeric=False))
    assert ex.variables == [] and ex.note is not None
    assert explanation_text(ex).endswith("this one has vectors or matrices)")


def test_a_long_chain_is_elided_in_the_middle() -> None:
    formula = "sin(" * 200 + "x" + ")" * 200
    result = gradient(formula, {"x": 0.5}, symbolic=False, numeric=False)
    ex = explain(result)
    (chain,) = ex.chains
    assert len(chain.links) == 200 and chain.value == pytest.approx(result.gradients["x"], rel=1e-12)
    lines = explanation_text(ex).splitlines()
    assert lines[-1] == f"∂f/∂x = {fmt(result.gradients['x'])}   (a chain of 200 one-input gates, written out above)"
    (written,) = [line for line in lines if line.startswith("  ∂f/∂x = ")]
    assert " · … (194 more) … · ∂s/∂r · ∂r/∂q · ∂q/∂x = (" in written and ")…(" in written
    assert "  … and 140 more gates" in lines  # 60 gates listed, the rest counted
