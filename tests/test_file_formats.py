"""Files say what they are: each output file holds the format its name asks for, or nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import cli

EX3 = ("(x+y)*z", "x=-2", "y=5", "z=-4")
DESCENT = ("descend", "(x-3)^2", "x=0", "--steps", "3")

MAGIC = {
    "g.dot": (b"digraph",),
    "g.gv": (b"digraph",),
    "g.svg": (b"<?xml", b"<svg"),
    "g.png": (b"\x89PNG\r\n\x1a\n",),
    "g.pdf": (b"%PDF",),
    "g.mmd": (b"flowchart",),
}


@pytest.mark.parametrize("name", sorted(MAGIC))
def test_graph_writes_the_format_its_file_name_asks_for(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    run = cli("graph", *EX3, "-o", str(target))
    assert run.exit_code == 0, run.stderr
    assert target.read_bytes().startswith(MAGIC[name])


def test_graph_format_and_a_matching_suffix_agree(tmp_path: Path) -> None:
    target = tmp_path / "g.pdf"
    run = cli("graph", *EX3, "--format", "pdf", "-o", str(target))
    assert run.exit_code == 0, run.stderr
    assert target.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["-o", "g.jpeg"], ".dot, .gv, .svg, .png, .pdf, .mmd"),
        (["-o", "graph"], ".dot, .gv, .svg, .png, .pdf, .mmd"),
        (["--format", "svg", "-o", "g.png"], "--format svg and --output"),
        (["--format", "dot", "-o", "g.pdf"], "ask for two formats"),
    ],
)
def test_graph_refuses_an_unknown_or_mismatched_suffix_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], said: str
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli("graph", *EX3, *args)
    assert run.exit_code == 2
    assert said in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_graph_refuses_before_doing_the_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli("graph", "(x+", "-o", "g.jpg")  # a bad formula is not even read: the file name is refused first
    assert run.exit_code == 2 and "does not say which picture format" in run.stderr


@pytest.mark.parametrize(("name", "magic"), [("loss.svg", b"<?xml"), ("loss.png", b"\x89PNG\r\n\x1a\n")])
def test_descend_plot_writes_the_format_its_file_name_asks_for(tmp_path: Path, name: str, magic: bytes) -> None:
    target = tmp_path / name
    run = cli(*DESCENT, "--plot", str(target))
    assert run.exit_code == 0, run.stderr
    data = target.read_bytes()
    assert data.startswith(magic)
    if name.endswith(".svg"):
        text = data.decode("utf-8")
        assert "<svg" in text and "<polyline" in text and text.rstrip().endswith("</svg>")


@pytest.mark.parametrize("name", ["loss.jpg", "loss", "loss.pdf"])
def test_descend_plot_refuses_an_unknown_suffix_before_descending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli(*DESCENT, "--plot", name)
    assert run.exit_code == 2
    assert ".png or .svg" in run.stderr
    assert "final loss" not in run.stdout  # refused before the run, not after it
    assert list(tmp_path.iterdir()) == []


def test_the_svg_plot_escapes_its_labels() -> None:
    from gradcalc.render.plot import loss_svg

    svg = loss_svg([3.0, 2.0, 1.0], unit="<step & co>")
    assert "&lt;step &amp; co&gt;" in svg and "<step" not in svg
