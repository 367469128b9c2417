"""`gradcalc graph`: DOT and Mermaid text, SVG and PNG through Graphviz, and the pictures in docs/."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import NEURON, NEURON_GRADIENTS, README, ROOT, SAMPLES, cli
from test_hessian import doc_transcripts, run_transcript

from gradcalc.api import gradient
from gradcalc.render import dot as dot_module
from gradcalc.render.dot import edges, title, to_dot
from gradcalc.render.mermaid import to_mermaid

EX3 = ("(x+y)*z", "x=-2", "y=5", "z=-4")
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")

EX3_DOT = """\
digraph gradcalc {
  rankdir=LR;
  graph [fontname="Helvetica", fontsize=12, labelloc=t, nodesep=0.35, ranksep=0.55,
         label=<f = (x+y)*z   at x = -2, y = 5, z = -4<br/><font point-size="10"><font color="#1b7f2a">green: \
forward value</font>   <font color="#c62828">red: gradient ∂f/∂(edge)</font></font>>];
  node [fontname="Helvetica", fontsize=12];
  edge [fontname="Helvetica", fontsize=11, arrowsize=0.7];
  n0 [shape=box, style="rounded", width=0.4, height=0.3, label=<<b>x</b>>];
  n1 [shape=box, style="rounded", width=0.4, height=0.3, label=<<b>y</b>>];
  n2 [shape=circle, margin=0.02, label=<<font point-size="16">+</font><br/>\
<font point-size="9" color="gray35">q</font>>];
  n3 [shape=box, style="rounded", width=0.4, height=0.3, label=<<b>z</b>>];
  n4 [shape=circle, margin=0.02, label=<<font point-size="16">×</font><br/>\
<font point-size="9" color="gray35">f</font>>];
  out [shape=plaintext, label=<<b>f</b>>];
  n0 -> n2 [label=<<font color="#1b7f2a">-2</font><br/><font color="#c62828">-4</font>>];
  n1 -> n2 [label=<<font color="#1b7f2a">5</font><br/><font color="#c62828">-4</font>>];
  n2 -> n4 [label=<<font color="#1b7f2a">3</font><br/><font color="#c62828">-4</font>>];
  n3 -> n4 [label=<<font color="#1b7f2a">-4</font><br/><font color="#c62828">3</font>>];
  n4 -> out [label=<<font color="#1b7f2a">-12</font><br/><font color="#c62828">1</font>>];
}
"""

EX3_MERMAID = """\
flowchart LR
  %% f = (x+y)*z   at x = -2, y = 5, z = -4
  %% each edge: the value going forward, and the gradient ∂f/∂(edge) coming back
  n0(["x"])
  n1(["y"])
  n2(("+ q"))
  n3(["z"])
  n4(("× f"))
  out["f"]
  n0 -- "value -2<br/>grad -4" --> n2
  n1 -- "value 5<br/>grad -4" --> n2
  n2 -- "value 3<br/>grad -4" --> n4
  n3 -- "value -4<br/>grad 3" --> n4
  n4 -- "value -12<br/>grad 1" --> out
  classDef input fill:#eef4ff,stroke:#4a6fa5
  classDef gate fill:#ffffff,stroke:#333333
  classDef const fill:none,stroke:none,color:#777777,font-size:11px
  classDef output fill:none,stroke:none,font-weight:bold
  class n0,n1,n3 input
  class n2,n4 gate
  class out output
"""

EDGE = re.compile(r'^  (\w+) -> (\w+) \[label=<<font color="#1b7f2a">([^<]*)</font>'
                  r'(?:<br/><font color="#c62828">([^<]*)</font>)?>\];$', re.M)


def labelled_edges(dot_text: str) -> list[tuple[str, str, str, str | None]]:
    return [(m[1], m[2], m[3], m[4]) for m in EDGE.finditer(dot_text)]


def node_names(dot_text: str) -> dict[str, str]:
    """DOT node id → the name drawn in it (an input's name, or a gate's label under its symbol)."""
    names = {}
    for m in re.finditer(r'^  (n\d+) \[shape=(\w+).*label=<(.*)>\];$', dot_text, re.M):
        texts = re.findall(r">([^<>]+)<", m[3])
        names[m[1]] = texts[-1] if m[2] == "circle" else texts[0]
    return names


# ---------------------------------------------------------------------------
# DOT


def test_dot_of_example_3_is_golden() -> None:
    run = cli("graph", *EX3)
    assert (run.exit_code, run.stdout) == (0, EX3_DOT)


def test_example_3_values_and_gradients_sit_on_the_right_edges() -> None:
    dot_text = cli("graph", *EX3, "--format", "dot").stdout
    names = node_names(dot_text)
    named = {(names[a], names.get(b, b)): (value, grad) for a, b, value, grad in labelled_edges(dot_text)}
    assert named == {
        ("x", "q"): ("-2", "-4"),  # add distributes: -4 to both inputs
        ("y", "q"): ("5", "-4"),
        ("q", "f"): ("3", "-4"),  # q = 3 going forward, -4 coming back (mul swaps: z)
        ("z", "f"): ("-4", "3"),  # mul swaps: q
        ("f", "out"): ("-12", "1"),
    }


def test_a_value_used_twice_has_two_edges_and_its_gradients_add() -> None:
    dot_text = cli("graph", "x*x", "x=3").stdout
    found = labelled_edges(dot_text)
    assert found[:2] == [("n0", "n1", "3", "3"), ("n0", "n1", "3", "3")]  # d(x*x)/dx = 3 + 3
    assert "2 uses: sum 6" in dot_text


def test_constants_are_small_and_their_edges_unlabelled() -> None:
    dot_text = cli("graph", "2*x + 1", "x=5").stdout
    assert 'n0 [shape=plaintext, fontsize=9, fontcolor="gray35", label=<2>];' in dot_text
    assert '  n0 -> n2 [color="gray60", arrowsize=0.5];' in dot_text
    assert ("n1", "n2", "5", "2") in labelled_edges(dot_text)


def test_neuron_edges_carry_the_seed_gradients() -> None:
    result = gradient("1/(1+exp(-(w0*x0+w1*x1+w2)))", NEURON, symbolic=False, numeric=False)
    by_input = {result.tape.nodes[e.src].label: e for e in edges(result) if e.src in result.tape.variables.values()}
    for name, grad in NEURON_GRADIENTS.items():
        assert by_input[name].gradient == pytest.approx(grad, rel=1e-12)
    dot_text = to_dot(result)
    assert ">-0.1966<" in dot_text and ">0.3932<" in dot_text  # w0 and x0 at 4 digits
    assert ">-0.5344<" in dot_text  # the 1/x gate at 1.37: -1/x² (CS231n's -0.53)


def test_fuse_draws_one_sigmoid_gate() -> None:
    plain = cli("graph", "--file", str(SAMPLES / "04-neuron.grad")).stdout
    fused = cli("graph", "--file", str(SAMPLES / "04-neuron.grad"), "--fuse").stdout
    assert plain.count("shape=circle") == 8 and fused.count("shape=circle") == 5
    assert '<font point-size="16">σ</font>' in fused
    assert ">-0.1966<" in fused  # the same gradient for w0


def test_program_target_and_title() -> None:
    run = cli("graph", "a = 2*x; b = a + 1", "x=3", "--target", "a")
    assert run.exit_code == 0
    assert "label=<a = 2*x   at x = 3<br/>" in run.stdout
    assert "out [shape=plaintext, label=<<b>a</b>>];" in run.stdout


def test_title_keeps_the_parentheses_the_span_leaves_out() -> None:
    result = gradient("1/(1+exp(-(a*b)))", {"a": 1, "b": 2}, symbolic=False, numeric=False)
    assert title(result) == "f = 1/(1+exp(-(a*b)))   at a = 1, b = 2"


@needs_dot
def test_graphviz_accepts_the_dot_text() -> None:
    for args in (EX3, ("--file", str(SAMPLES / "08-network-2-2-2-program.grad")), ("x*x", "x=3"),
                 ("sum(max(0, s - s[0] + 1)) - 1", "s=[3.2, 5.1, -1.7]")):  # fmt: skip
        dot_text = cli("graph", *args).stdout
        done = subprocess.run(["dot", "-Tsvg"], input=dot_text.encode(), capture_output=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr.decode()
        assert b"<svg" in done.stdout


# ---------------------------------------------------------------------------
# SVG and PNG


def svg_edges(svg: str) -> dict[str, list[tuple[str, float]]]:
    """Each edge's title (``n0->n2``) → its label texts with their fill colours and heights."""
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg)
    found = {}
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        if g.get("class") != "edge":
            continue
        title_el = g.find("s:title", ns)
        assert title_el is not None and title_el.text is not None
        texts = [(t.get("fill", ""), t.text or "", float(t.get("y", "0"))) for t in g.findall("s:text", ns)]
        found[title_el.text] = [(f"{fill} {text}", y) for fill, text, y in texts]
    return found


@needs_dot
def test_svg_of_example_3(tmp_path: Path) -> None:
    target = tmp_path / "g.svg"
    run = cli("graph", *EX3, "--format", "svg", "--output", str(target))
    assert run.exit_code == 0, run.stderr
    found = svg_edges(target.read_text(encoding="utf-8"))
    green, red = "#1b7f2a", "#c62828"
    expected = {"n0->n2": ("-2", "-4"), "n1->n2": ("5", "-4"), "n2->n4": ("3", "-4"), "n3->n4": ("-4", "3"),
                "n4->out": ("-12", "1")}  # fmt: skip
    for edge, (value, grad) in expected.items():
        (value_text, value_y), (grad_text, grad_y) = found[edge]
        assert (value_text, grad_text) == (f"{green} {value}", f"{red} {grad}")
        assert value_y < grad_y  # the value is drawn above the gradient


@needs_dot
def test_png_and_format_from_the_suffix(tmp_path: Path) -> None:
    target = tmp_path / "g.png"
    assert cli("graph", *EX3, "-o", str(target)).exit_code == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_formats_from_the_suffix(tmp_path: Path) -> None:
    assert cli("graph", *EX3, "-o", str(tmp_path / "g.mmd")).exit_code == 0
    assert (tmp_path / "g.mmd").read_text(encoding="utf-8") == EX3_MERMAID
    assert cli("graph", *EX3, "-o", str(tmp_path / "g.gv")).exit_code == 0
    assert (tmp_path / "g.gv").read_text(encoding="utf-8") == EX3_DOT


def test_without_graphviz_svg_exits_2_and_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dot_module, "find_dot", lambda: None)
    run = cli("graph", *EX3, "--format", "svg")
    assert run.exit_code == 2
    assert "needs Graphviz's 'dot' program" in run.stderr
    assert "apt-get install graphviz" in run.stderr and "brew install graphviz" in run.stderr
    assert "Traceback" not in run.stderr
    assert cli("graph", *EX3, "--format", "dot").exit_code == 0  # DOT needs nothing installed


def test_bad_format_and_bad_input_exit_2_and_an_unwritable_file_4(tmp_path: Path) -> None:
    run = cli("graph", *EX3, "--format", "jpeg")
    assert run.exit_code == 2 and "dot, svg, png, pdf, mermaid" in run.stderr
    run = cli("graph", "sum(v*y)", "v=[1, 2]")  # without values, a formula over a vector has no elements
    assert run.exit_code == 2 and "written for scalar variables" in run.stderr
    run = cli("graph", *EX3, "-o", str(tmp_path / "missing" / "g.dot"))
    assert run.exit_code == 4  # the output could not be written
    assert f"could not write {tmp_path}/missing/g.dot: the directory {tmp_path}/missing does not exist" in run.stderr


@pytest.mark.parametrize("graph_format", ["dot", "svg", "mermaid"])
def test_a_control_character_in_a_comment_is_bad_input_not_a_graphviz_failure(
    tmp_path: Path, graph_format: str
) -> None:
    """It reached Graphviz's XML parser in the title, which failed: exit 3 with the raw byte echoed."""
    path = tmp_path / "c.grad"
    path.write_bytes(b"(x # \x01\n)*2\n")
    run = cli("graph", "--file", str(path), "x=1", "--format", graph_format)
    assert run.exit_code == 2 and run.stdout == ""
    assert "unexpected character 'U+0001' in a comment" in run.stderr and "\x01" not in run.stderr


# ---------------------------------------------------------------------------
# Mermaid


def test_mermaid_of_example_3_is_golden() -> None:
    run = cli("graph", *EX3, "--format", "mermaid")
    assert (run.exit_code, run.stdout) == (0, EX3_MERMAID)


def test_mermaid_constants_fanout_and_tensors() -> None:
    result = gradient("x*x + 1", {"x": 3}, symbolic=False, numeric=False)
    text = to_mermaid(result)
    assert 'n0(["x<br/>2 uses: grad sum 6"])' in text
    assert text.count('n0 -- "value 3<br/>grad 3" --> n1') == 2
    # the constant's edge is the fourth (x, x, x*x, then 1): drawn faint, without a label
    assert "  n2 --> n3\n" in text and "  linkStyle 3 stroke:#bbbbbb\n" in text
    point = {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]), "x": np.array([0.2, 0.4])}
    tensor = to_mermaid(gradient("sum((W@x)^2)", point, symbolic=False, numeric=False))
    assert '"value [0.22, 0.26]<br/>grad [0.44, 0.52]"' in tensor  # q = W@x and 2q


# ---------------------------------------------------------------------------
# The pictures in docs/, in the README and on the graph page


@pytest.mark.parametrize("name", ["add-mul", "neuron", "network-2-2-2"])
def test_docs_pictures_exist(name: str) -> None:
    svg = ROOT / "docs" / f"{name}.svg"
    png = ROOT / "docs" / f"{name}.png"
    assert svg.read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_docs_embed_the_neuron_picture() -> None:
    assert "![" in README.read_text(encoding="utf-8") and "(docs/neuron.svg)" in README.read_text(encoding="utf-8")
    page = (ROOT / "docs" / "graph.md").read_text(encoding="utf-8")
    assert "# Pictures: `gradcalc graph`" in page and "(neuron.svg)" in page


# -- --backward: the gradient graph drawn as a computational graph of its own --------------------------------------

EX3_BACKWARD_DOT = """\
digraph gradcalc {
  rankdir=LR;
  graph [fontname="Helvetica", fontsize=12, labelloc=t, nodesep=0.35, ranksep=0.55,
         label=<gradient graph of f = (x+y)*z   at x = -2, y = 5, z = -4<br/><font point-size="10">\
<font color="#1b7f2a">green: the value on each edge</font>   <font color="#c62828">red: the gradient ∂f/∂(node) a node \
computes</font></font>>];
  node [fontname="Helvetica", fontsize=12];
  edge [fontname="Helvetica", fontsize=11, arrowsize=0.7];
  n0 [shape=box, style="rounded", width=0.4, height=0.3, label=<<b>x</b>>];
  n1 [shape=box, style="rounded", width=0.4, height=0.3, label=<<b>y</b>>];
  n2 [shape=circle, margin=0.02, label=<<font point-size="16">+</font><br/><font point-size="9" color="gray35">\
q = x + y</font><br/><font point-size="9" color="#c62828">∂f/∂z</font>>];
  n3 [shape=box, style="rounded", width=0.4, height=0.3, label=<<b>z</b><br/><font point-size="9" color="#c62828">\
∂f/∂x</font><br/><font point-size="9" color="#c62828">∂f/∂y</font><br/><font point-size="9" color="#c62828">∂f/∂q\
</font>>];
  d0 [shape=plaintext, label=<<font color="#c62828"><b>∂f/∂x</b></font>>];
  d1 [shape=plaintext, label=<<font color="#c62828"><b>∂f/∂y</b></font>>];
  d2 [shape=plaintext, label=<<font color="#c62828"><b>∂f/∂z</b></font>>];
  n0 -> n2 [label=<<font color="#1b7f2a">-2</font>>];
  n1 -> n2 [label=<<font color="#1b7f2a">5</font>>];
  n3 -> d0 [label=<<font color="#1b7f2a">-4</font>>];
  n3 -> d1 [label=<<font color="#1b7f2a">-4</font>>];
  n2 -> d2 [label=<<font color="#1b7f2a">3</font>>];
}
"""

EX3_BACKWARD_MERMAID = """\
flowchart LR
  %% gradient graph of f = (x+y)*z
  %% hexagons: the gradient ∂f/∂(node) a node computes
  n0(["x"])
  n1(["y"])
  n2(("+ q = x + y<br/>∂f/∂z"))
  n3(["z<br/>∂f/∂x<br/>∂f/∂y<br/>∂f/∂q"])
  d0["∂f/∂x"]
  d1["∂f/∂y"]
  d2["∂f/∂z"]
  n0 --> n2
  n1 --> n2
  n3 --> d0
  n3 --> d1
  n2 --> d2
  classDef input fill:#eef4ff,stroke:#4a6fa5
  classDef gate fill:#ffffff,stroke:#333333
  classDef gradient fill:#fff1f0,stroke:#c62828,color:#c62828
  classDef const fill:none,stroke:none,color:#777777,font-size:11px
  classDef output fill:none,stroke:none,color:#c62828,font-weight:bold
  class n0,n1,n3 input
  class n2 gate
  class d0,d1,d2 output
"""


def backward_outputs(dot_text: str) -> dict[str, str]:
    """Each output ∂f/∂x of a --backward picture and the value on its edge."""
    names = dict(re.findall(r'^  (d\d+) \[shape=plaintext, label=<<font color="#c62828"><b>([^<]*)</b>', dot_text,
                            re.M))
    return {names[dst]: value for _, dst, value, _ in labelled_edges(dot_text) if dst in names}


def test_backward_dot_of_example_3_is_golden() -> None:
    # CS231n's example 3 by hand: ∂f/∂x = ∂f/∂y = z = -4, ∂f/∂z = x + y = 3; and ∂f/∂x is the node z itself.
    run = cli("graph", *EX3, "--backward")
    assert (run.exit_code, run.stdout) == (0, EX3_BACKWARD_DOT)
    assert backward_outputs(run.stdout) == {"∂f/∂x": "-4", "∂f/∂y": "-4", "∂f/∂z": "3"}


def test_backward_without_values_draws_the_structure() -> None:
    run = cli("graph", "(x+y)*z", "--backward")
    assert run.exit_code == 0, run.stderr
    assert "   at " not in run.stdout and "green" not in run.stdout and labelled_edges(run.stdout) == []
    assert run.stdout.replace(";\n", "\n").splitlines()[-6:-1] == [
        "  n0 -> n2", "  n1 -> n2", "  n3 -> d0", "  n3 -> d1", "  n2 -> d2"]
    with_values = cli("graph", *EX3, "--backward").stdout
    assert node_names(run.stdout) == node_names(with_values)
    mermaid_run = cli("graph", "(x+y)*z", "--backward", "--format", "mermaid")
    assert (mermaid_run.exit_code, mermaid_run.stdout) == (0, EX3_BACKWARD_MERMAID)


def test_backward_never_shows_the_programs_own_names() -> None:
    run = cli("graph", "--file", str(SAMPLES / "04-neuron.grad"), "--backward")
    assert run.exit_code == 0, run.stderr
    assert not re.search(r"_[vg]\d", run.stdout)
    assert "∂f/∂" in run.stdout and "= exp(" in run.stdout


def test_backward_values_are_backprops_gradients() -> None:
    args = [f"{k}={v!r}" for k, v in NEURON.items()]
    run = cli("graph", "--file", str(SAMPLES / "04-neuron.grad"), *args, "--backward", "--digits", "10")
    assert run.exit_code == 0, run.stderr
    found = {label.removeprefix("∂f/∂"): float(value) for label, value in backward_outputs(run.stdout).items()}
    assert found == pytest.approx(NEURON_GRADIENTS, rel=1e-9)


def test_backward_of_a_vector_is_drawn_element_by_element() -> None:
    # ∂/∂v of sum(v^2) + v[0]*v[1] at [1, 2, 3]: 2v + (v[1], v[0], 0) = [4, 5, 6].
    run = cli("graph", "sum(v^2) + v[0]*v[1]", "v=[1,2,3]", "--backward")
    assert run.exit_code == 0, run.stderr
    assert backward_outputs(run.stdout) == {"∂f/∂v[0]": "4", "∂f/∂v[1]": "5", "∂f/∂v[2]": "6"}
    assert "<b>v[0]</b>" in run.stdout and "v_0" not in run.stdout
    bad = cli("graph", "sum(v^2)", "--backward")
    assert bad.exit_code == 2 and "needs their values" in bad.stderr


def test_backward_of_a_program_with_its_own_values_shows_them() -> None:
    run = cli("graph", "x = 3\ny = x^2\ny*x", "--backward")  # the program gives x: values without any argument
    assert run.exit_code == 0, run.stderr
    assert backward_outputs(run.stdout) == {"∂f/∂x": "27"}  # d(x³)/dx = 3x² = 27


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("3", "--backward"), "the formula has no variables"),
        (("x*y", "x=1", "--backward"), "no value for y"),
        (("[x, x]", "x=1", "--backward"), "not a number"),
        (("max(x, y, z)", "--backward"), "the gradient graph writes max of two inputs"),
    ],
)
def test_backward_bad_input_exits_2(args: tuple[str, ...], message: str) -> None:
    run = cli("graph", *args)
    assert run.exit_code == 2 and message in run.stderr, run.stderr


@needs_dot
def test_graphviz_draws_the_backward_graph(tmp_path: Path) -> None:
    path = tmp_path / "g.svg"
    run = cli("graph", "--file", str(SAMPLES / "04-neuron.grad"), "--backward", "-o", str(path))
    assert run.exit_code == 0, run.stderr
    svg = ET.parse(path).getroot()
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"∂f/∂w0", "∂f/∂x0", "∂f/∂w1", "∂f/∂x1", "∂f/∂w2"} <= texts


def test_the_backward_picture_in_the_docs_has_every_gradient() -> None:
    svg = ET.parse(ROOT / "docs" / "backward-neuron.svg").getroot()
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"∂f/∂w0", "∂f/∂x0", "∂f/∂w1", "∂f/∂x1", "∂f/∂w2"} <= texts
    assert "](backward-neuron.svg)" in (ROOT / "docs" / "backward-graph.md").read_text(encoding="utf-8")


BACKWARD_TRANSCRIPTS = doc_transcripts("backward-graph.md")


def test_the_backward_page_has_transcripts() -> None:
    commands = [c for c, _, _ in BACKWARD_TRANSCRIPTS]
    assert "gradcalc graph '(x+y)*z' --backward" in commands
    assert "gradcalc graph '(x+y)*z' x=-2 y=5 z=-4 --backward" in commands
    assert any(code == 2 for *_, code in BACKWARD_TRANSCRIPTS)


@pytest.mark.parametrize(("command", "expected", "code"), BACKWARD_TRANSCRIPTS,
                         ids=[c[:60] for c, _, _ in BACKWARD_TRANSCRIPTS])
def test_backward_page_transcript(command: str, expected: str, code: int) -> None:
    run_transcript(command, expected, code)


def test_backward_of_constant_gradients_draws_each_number() -> None:
    run = cli("graph", "3*x + y", "x=1", "y=2", "--backward")
    assert run.exit_code == 0, run.stderr
    assert backward_outputs(run.stdout) == {"∂f/∂x": "3", "∂f/∂y": "1"}  # each gradient a number node of its own
    assert re.findall(r"label=<([0-9.]+)>", run.stdout) == ["3", "1"]


def test_without_values_the_edges_carry_formulas() -> None:
    run = cli("graph", "(x+y)*z", "--format", "mermaid")
    assert run.exit_code == 0, run.stderr
    edges = [line.strip() for line in run.stdout.splitlines() if "-->" in line]
    assert edges == [
        'n0 -- "value x<br/>grad z" --> n2',
        'n1 -- "value y<br/>grad z" --> n2',
        'n2 -- "value x + y<br/>grad z" --> n4',
        'n3 -- "value z<br/>grad q" --> n4',
        'n4 -- "value (x + y) * z<br/>grad 1" --> out',
    ]
    dot = cli("graph", "(x+y)*z", "z=2").stdout  # some values: put in, the title says which
    assert "label=<f = (x+y)*z   at z = 2<br/>" in dot
    assert '<font color="#1b7f2a">2 * (x + y)</font>' in dot
