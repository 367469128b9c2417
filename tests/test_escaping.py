"""Hostile text through every output format: no raw control byte and no live markup reaches the output.

User text reaches the output in the source of a formula (comments may hold any
visible text), in file names, in the names of an answer file's problems and in
messages that echo them.  Each format's printer escapes it in one place,
:mod:`gradcalc.render.escape`; these tests feed a table of hostile strings to
those functions, to the printers, and through the command line into every format.
"""

from __future__ import annotations

import html as html_module
import json
import re
import shutil
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT, cli, strict_json
from markdown_it import MarkdownIt

from gradcalc.api import gradient
from gradcalc.errors import Source
from gradcalc.render import escape
from gradcalc.render.dot import to_dot
from gradcalc.render.latex import latex_report
from gradcalc.render.markdown import markdown_report
from gradcalc.render.mermaid import to_mermaid

sys.path.insert(0, str(ROOT / "tools"))
from fuzz import fast_cli


@pytest.fixture(scope="module", autouse=True)
def _cli_built_once() -> Iterator[None]:
    """Typer rebuilds the click command on every in-process call; these tests make hundreds."""
    with fast_cli():
        yield

HOSTILE = {
    "nul": "a\x00b",
    "clear-and-title": "\x1b[2J\x1b]0;PWNED\x07",
    "bel": "ding\x07",
    "csi-colour": "\x1b[31mred\x1b[0m",
    "c1-csi": "\x9b31m",
    "rlo": "abc\u202edef",
    "zero-width": "a\u200bb",
    "line-separator": "a\u2028b",
    "carriage-return": "ok\rPWNED",
    "surrogate": "byte\udcff",
    "backticks": "``` ` ``",
    "img": "<img src=x onerror=alert(1)>",
    "dot-breakout": '"]; evil [',
    "brace": "}",
    "backslash": "\\",
    "graphviz-escapes": "\\G \\N \\L",
    "rich-markup": "[bold red]loud[/bold red]",
    "markdown": "*a* _b_ [l](javascript:x) ~~c~~ $m$ | d",
    "mermaid": "%%{init: {'theme': 'dark'}}%% #quot; end",
    "latex": "% & $ # ^ _ { } ~ \\input{/etc/passwd}",
    "html-entity": "&lt;script&gt;",
}
IDS = list(HOSTILE)
PRINTABLE = {k: v for k, v in HOSTILE.items() if v.isprintable()}  # those a comment may hold

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")


def raw_controls(text: str, allowed: str = "\n") -> list[str]:
    """The control, invisible and separator characters in ``text`` (but those allowed)."""
    return [
        ch for ch in text
        if ch not in allowed and not ch.isprintable() and unicodedata.category(ch) != "Zs"
    ]  # fmt: skip


# ---------------------------------------------------------------------------
# The escaping functions, one per format


@pytest.mark.parametrize("text", HOSTILE.values(), ids=IDS)
def test_visible_spells_out_every_invisible_character(text: str) -> None:
    shown = escape.visible(text)
    assert raw_controls(shown, allowed="") == []
    assert escape.visible("\x1b\x07\x00\x9b\u202e\udcff") == "\\x1b\\x07\\x00\\x9bU+202EU+DCFF"
    assert escape.visible(shown) == shown  # nothing left to escape
    assert escape.visible("a\tb\nc", keep="\n") == "a\\x09b\nc"
    assert escape.visible("no-break\u00a0space, π, ∂") == "no-break\u00a0space, π, ∂"


class _Text(HTMLParser):
    """The text of rendered HTML, and the tags it has."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def plain(self) -> str:
        return "".join(self.text).strip()


def rendered(markdown: str) -> _Text:
    parsed = _Text()
    parsed.feed(MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown))
    return parsed


@pytest.mark.parametrize("text", HOSTILE.values(), ids=IDS)
def test_markdown_code_spans_hold_the_text_literally(text: str) -> None:
    span = escape.markdown_code(text)
    page = rendered(f"before {span} after")
    assert page.tags == ["p", "code"]
    assert page.plain == f"before {escape.visible(text)} after"
    table = rendered(f"| a | b |\n|--|--|\n| {escape.markdown_code(text, cell=True)} | z |")
    assert table.tags.count("td") == 2 and "img" not in table.tags  # the cell was not split
    assert escape.visible(text) in table.plain


@pytest.mark.parametrize("text", HOSTILE.values(), ids=IDS)
def test_markdown_text_is_literal_outside_code(text: str) -> None:
    page = rendered(f"before {escape.markdown_text(text)} after")
    assert page.tags == ["p"], page.tags  # no emphasis, link, image, code or HTML
    assert page.plain == f"before {escape.visible(text)} after"
    table = rendered(f"| a | b |\n|--|--|\n| {escape.markdown_text(text, cell=True)} | z |")
    assert [t for t in table.tags if t not in ("table", "thead", "tbody", "tr", "th", "td")] == []
    assert table.tags.count("td") == 2


@pytest.mark.parametrize("text", HOSTILE.values(), ids=IDS)
def test_markdown_fences_are_longer_than_any_backtick_run(text: str) -> None:
    page = rendered("\n".join(escape.markdown_fence(f"x = 1\n{text}\ny = 2", "text")) + "\nafter")
    assert page.tags == ["pre", "code", "p"]
    assert page.plain == f"x = 1\n{escape.visible(text)}\ny = 2\n\nafter"


_LATEX_SAFE = re.compile(r"\\(?:textbackslash|textasciitilde|textasciicircum|textless|textgreater|textbar)\{\}"
                         r"|\\[&%$#_{}]|\$\\(?:partial|times|cdot|leftarrow|rightarrow|leq|geq)\$|\\ldots\{\}")


@pytest.mark.parametrize("text", HOSTILE.values(), ids=IDS)
def test_latex_text_and_comments(text: str) -> None:
    escaped = escape.latex_text(text)
    assert raw_controls(escaped, allowed="") == []
    assert not set(_LATEX_SAFE.sub("", escaped)) & set("\\{}$&#%^_~"), escaped  # every special escaped
    comment = escape.latex_comment(text + "\nnext line")
    assert "\n" not in comment and raw_controls(comment, allowed="") == []


@pytest.mark.parametrize("text", HOSTILE.values(), ids=IDS)
def test_html_and_dot_labels(text: str) -> None:
    escaped = escape.html(text)
    assert raw_controls(escaped, allowed="") == [] and not set(escaped) & set("<>\"'")
    assert html_module.unescape(escaped) == escape.visible(text)
    assert escape.dot_label("\\G") == "\\\\G"


@needs_dot
@pytest.mark.parametrize("text", HOSTILE.values(), ids=IDS)
def test_graphviz_draws_a_dot_label_as_typed(text: str) -> None:
    dot_text = f"digraph g {{ a [label=<{escape.dot_label(text)}>]; }}\n"
    done = subprocess.run(["dot", "-Tsvg"], input=dot_text.encode(), capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    svg = ET.fromstring(done.stdout)
    texts = ["".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == [" ".join(escape.visible(text).split())]  # Graphviz collapses runs of spaces


_MERMAID_CODE = re.compile(r"#(?:\d+|quot|amp|lt|gt);")


@pytest.mark.parametrize("text", HOSTILE.values(), ids=IDS)
def test_mermaid_text_has_no_quote_entity_directive_or_line_break(text: str) -> None:
    escaped = escape.mermaid(text)
    assert raw_controls(escaped, allowed="") == []
    assert not set(_MERMAID_CODE.sub("", escaped)) & set("\"'#%<>&`\n")


@pytest.mark.parametrize("text", HOSTILE.values(), ids=IDS)
def test_json_text_means_the_same_and_shows_nothing_raw(text: str) -> None:
    document = json.dumps({"name": text, "list": [text, 1]}, indent=2, ensure_ascii=False)
    escaped = escape.json_text(document)
    assert raw_controls(escaped) == []
    assert json.loads(escaped) == json.loads(document)


def test_every_console_leaves_markup_uninterpreted() -> None:
    for path in sorted((ROOT / "gradcalc").rglob("*.py")):
        for call in re.findall(r"Console\((.*?)\)", path.read_text(encoding="utf-8"), re.DOTALL):
            assert "markup=False" in call, f"{path}: Console({call})"


# ---------------------------------------------------------------------------
# The printers, given hostile source text and a hostile file name

LONG = " + ".join(f"x*{k}" for k in range(1, 20))  # past the titles' limits: they name the file instead


def _hostile_result(text: str, program: bool) -> object:
    """A result whose source holds ``text`` in a comment and in its name, as no parser would let through."""
    formula = f"y = 2*x\n{LONG} + y" if program else "x*2"
    result = gradient(formula, {"x": 1.0}, symbolic=False, numeric=False, name=f"{text}.grad")
    result.tape.source = Source(f"{formula} # {text}", f"{text}.grad")
    return result


@pytest.mark.parametrize("program", [False, True], ids=["formula", "program"])
@pytest.mark.parametrize("text", HOSTILE.values(), ids=IDS)
def test_every_printer_escapes_the_source_and_its_name(text: str, program: bool) -> None:
    result = _hostile_result(text, program)
    md = markdown_report(result)  # type: ignore[arg-type]
    tex = latex_report(result)  # type: ignore[arg-type]
    dot_text = to_dot(result)  # type: ignore[arg-type]
    mmd = to_mermaid(result)  # type: ignore[arg-type]
    for out in (md, tex, dot_text, mmd):
        assert raw_controls(out) == [], out
    page = rendered(md)
    assert "img" not in page.tags and "a" not in page.tags and "em" not in page.tags
    assert escape.visible(text.replace("\n", " ")) in page.plain
    for line in tex.splitlines():
        if "evil" in line or "img" in line or "PWNED" in line or "input" in line:
            assert line.startswith("%"), line
    assert "\\G" not in dot_text.replace("\\\\", "")  # a lone backslash would be Graphviz's escape
    assert '"]; evil [' not in dot_text and '"]; evil [' not in mmd and "%%{init" not in mmd


# ---------------------------------------------------------------------------
# The command line: a file named with the hostile text, a comment holding it, every format


def _program_file(tmp_path: Path, text: str) -> Path:
    comment = text if text.isprintable() else "a comment"
    path = tmp_path / f"{text.replace('/', '_').replace(chr(0), '0')}.grad"
    path.write_text(f"# {comment}\ny = 2*x\n{LONG} + y  # {comment}\n", encoding="utf-8")
    return path


def _assert_clean(out: str, text: str) -> None:
    assert raw_controls(out) == [], out[-500:]
    assert "Traceback" not in out


@pytest.mark.parametrize("text", HOSTILE.values(), ids=IDS)
def test_every_format_of_the_command_line(tmp_path: Path, text: str) -> None:
    path = _program_file(tmp_path, text)
    for fmt in ("table", "markdown", "latex", "json"):
        run = cli("grad", "--file", str(path), "x=1", "--format", fmt, "--no-symbolic", "--no-numeric")
        assert run.exit_code == 0, run.stderr
        _assert_clean(run.stdout + run.stderr, text)
        if fmt == "markdown":
            assert not {"img", "a", "em", "s", "script"} & set(rendered(run.stdout).tags)
        if fmt == "json":
            assert strict_json(run.stdout)["formula"] == path.read_text(encoding="utf-8")
    for fmt in ("dot", "mermaid", *(["svg"] if HAS_DOT else [])):
        run = cli("graph", "--file", str(path), "x=1", "--format", fmt)
        assert run.exit_code == 0, run.stderr
        _assert_clean(run.stdout + run.stderr, text)
        if fmt == "svg":
            svg = ET.fromstring(run.stdout)
            assert not [e for e in svg.iter() if e.tag.endswith("img") or "onerror" in e.attrib]
            assert escape.visible(path.name) in "".join(svg.itertext())  # the title names the file
    for args in ([], ["--json"]):
        run = cli("trace", "--file", str(path), "x=1", *args)
        assert run.exit_code == 0, run.stderr
        _assert_clean(run.stdout + run.stderr, text)
    run = cli("grad", "--file", str(path), "x=1", "unused=2", "--brief", "--no-symbolic")  # a warning on stderr
    assert run.exit_code == 0 and "warning:" in run.stderr
    _assert_clean(run.stderr, text)


@pytest.mark.parametrize("text", [t for t in HOSTILE.values() if "\udcff" not in t], ids=[
    k for k, t in HOSTILE.items() if "\udcff" not in t])
def test_check_escapes_problem_and_file_names(tmp_path: Path, text: str) -> None:
    answers = tmp_path / f"{text.replace('/', '_').replace(chr(0), '0')}.toml"
    answers.write_text(
        f"[[problem]]\nname = {json.dumps(text)}\nformula = \"x*2\"\nvalues = {{ x = 1 }}\nexpect_value = \"3\"\n"
        f"[[problem]]\nname = {json.dumps(text + ' 2')}\nformula = \"x*\"\nvalues = {{ x = 1 }}\n"
        "expect_value = \"3\"\n",
        encoding="utf-8",
    )
    run = cli("check", str(answers))
    assert run.exit_code == 2  # one answer wrong, one problem malformed
    _assert_clean(run.stdout + run.stderr, text)
    assert escape.visible(text) in run.stdout
    run = cli("check", str(answers), "--json")
    _assert_clean(run.stdout, text)
    assert [p["name"] for p in strict_json(run.stdout)["problems"]] == [text, text + " 2"]
