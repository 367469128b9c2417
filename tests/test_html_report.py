"""--format html: one self-contained page per report, every user string escaped, loaded in a real
headless browser that must fetch nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES, cli, gradcalc_process

NEURON_NUMBERS = ["0.731059", "-0.196612", "0.393224", "-0.393224", "-0.589836", "0.196612"]
HAS_DOT = shutil.which("dot") is not None


def page_of(*args: str, exit_codes: tuple[int, ...] = (0, 1)) -> str:
    run = cli(*args)
    assert run.exit_code in exit_codes, run.stderr
    return run.stdout


def external_references(page: str) -> list[str]:
    """Whatever could make a browser fetch: URLs outside the SVG namespace names, src/href, CSS url() or @import."""
    found = re.findall(r"""(?:src|href)\s*=|url\(|@import|<script|<link|<iframe|<object|<embed""", page, re.I)
    urls = [u for u in re.findall(r"https?://[^\s\"'<>]+", page)
            if u not in ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")]
    return found + urls


# ---------------------------------------------------------------------------
# The pages


def test_the_neuron_report_has_the_graph_the_tables_and_the_checks() -> None:
    page = page_of("grad", "--file", str(SAMPLES / "04-neuron.grad"), "--format", "html")
    assert page.startswith("<!DOCTYPE html>\n")
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
            "img-src data:; base-uri 'none'; form-action 'none'\">") in page
    for number in NEURON_NUMBERS:
        assert number in page
    assert "<h2>Gates: forward values, then gradients flowing back from f</h2>" in page
    assert "<h2>Gradients of f, checked</h2>" in page
    assert '<p class="verdict ok">f = 0.731059 — ✓ all 5 gradients agree</p>' in page
    assert "checked against forward mode (rtol 1e-9), SymPy (rtol 1e-08)" in page
    assert ("<svg" in page) == HAS_DOT
    assert external_references(page) == []


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_the_graph_carries_values_and_gradients() -> None:
    page = page_of("grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--format", "html")
    svg = page[page.index("<svg"):page.index("</svg>")]
    labels = [n.replace("&#45;", "-") for n in re.findall(r">((?:&#45;)?[0-9.]+)</text>", svg)]  # dot writes − so
    assert {"-2", "5", "3", "-4", "-12", "1"} <= set(labels)  # values forward, gradients back


def test_without_graphviz_the_page_says_so_and_has_the_rest(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env["PATH"] = str(tmp_path)  # no dot here
    run = gradcalc_process("grad", "--file", "samples/04-neuron.grad", "--format", "html", env=env)
    assert run.exit_code == 0, run.stderr
    assert "The graph is not drawn here: Graphviz&#39;s dot program is not installed." in run.stdout
    assert "<svg" not in run.stdout
    for number in NEURON_NUMBERS:
        assert number in run.stdout


def test_explain_answers_and_a_step_are_in_the_report() -> None:
    page = page_of("grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--explain", "--expect-grad", "x=-4",
                   "--expect-grad", "z=4", "--lr", "0.1", "--format", "html")
    assert "<h2>Chain rule, path by path</h2>" in page
    assert "∂f/∂x = ∂f/∂q · ∂q/∂x = (-4)(1) = -4" in page
    assert '<td class="bad">✗</td>' in page and '<td class="ok">✓</td>' in page
    assert "✗ ∂f/∂z: you gave 4, the true value is 3" in page
    assert '<p class="verdict bad">✗ 1 of 2 answers right; wrong: ∂f/∂z</p>' in page
    assert "<h2>One step of gradient descent: v ← v − 0.1 · ∂f/∂v</h2>" in page
    assert '<td class="num value">-1.6</td>' in page  # x − 0.1·(−4) … = −2 + 0.4


def test_check_hessian_and_descend_reports() -> None:
    check = page_of("check", str(SAMPLES / "homework-wrong.toml"), "--format", "html")
    assert '<p class="verdict bad">✗ total: 11 of 12 answers right in 2 problems</p>' in check
    assert "the sign is flipped" in check
    hessian = page_of("hessian", "x^2*y + sin(x*y)", "x=1", "y=2", "--format", "html")
    assert '<td class="num">0.36281</td><td class="num">-0.234742</td>' in hessian  # 2y − y² sin(xy), …
    assert "indefinite, a saddle point" in hessian
    descend = page_of("descend", "(x-3)^2", "x=0", "--lr", "0.25", "--steps", "1", "--format", "html")
    assert '<td class="name">x</td><td class="num">0</td><td class="num value">1.5</td>' in descend
    assert "<polyline" not in descend and "<circle" in descend  # one step: the curve is one point
    for page in (check, hessian, descend):
        assert page.startswith("<!DOCTYPE html>") and external_references(page) == []


def test_output_file_by_suffix_is_the_same_page(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    run = cli("grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "-o", str(target))
    assert (run.exit_code, run.stdout, run.stderr) == (0, "", f"wrote {target}\n")
    assert target.read_text(encoding="utf-8") == page_of("grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--format", "html")
    for command in (["hessian", "x^2", "x=1"], ["check", str(SAMPLES / "homework.toml")],
                    ["descend", "(x-3)^2", "x=0", "--steps", "3"]):
        out = tmp_path / f"{command[0]}.htm"
        assert cli(*command, "-o", str(out)).exit_code == 0
        assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "html", "--json"], "--json and --format html ask for two formats"),
    (["--format", "html", "-o", "r.json"], "--output r.json asks for json, and the command line for html"),
    (["--format", "pdf"], "--format must be one of table, json, markdown, latex, html, not 'pdf'"),
])
def test_format_conflicts_are_usage_errors(args: list[str], message: str, tmp_path: Path) -> None:
    run = cli("hessian", "x^2", "x=1", *args)
    assert run.exit_code == 2 and message in run.stderr + run.stdout
    assert not (tmp_path / "r.json").exists()


# ---------------------------------------------------------------------------
# Hostile text is text

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>&amp;\"'"


def test_a_hostile_comment_and_file_name_are_escaped(tmp_path: Path) -> None:
    (tmp_path / "<b>bold<").mkdir()
    program = tmp_path / "<b>bold<" / "b>.grad"
    program.write_text(f"# {HOSTILE}\nx = 2\nx^2\n", encoding="utf-8")
    page = page_of("grad", "--file", str(program), "--format", "html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&amp;amp;&quot;&#39;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;.grad" in page
    assert "<script" not in page and "<img" not in page and "<b>" not in page


def test_a_hostile_answer_file_is_escaped(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(
        "[[problem]]\n"
        f"name = {json.dumps(HOSTILE)}\n"
        'formula = "(x+y)*z"\nvalues = { x = -2, y = 5, z = -4 }\nexpect_grad = { x = "4" }\n'
        "[[problem]]\n"
        f"name = {json.dumps('<svg onload=alert(3)>')}\n"
        'formula = "(x+"\nvalues = { x = 1 }\nexpect_value = "1"\n', encoding="utf-8")
    page = page_of("check", str(answers), "--format", "html", exit_codes=(2,))  # the second problem is malformed
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;svg onload=alert(3)&gt;" in page
    assert "<script" not in page and "<img" not in page and "<svg" not in page


# ---------------------------------------------------------------------------
# A real browser: the page opens offline, shows its numbers, and fetches nothing


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


BROWSER = chromium()
needs_browser = pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed (apt-get install chromium)")


def browse(page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)


def page_requests(net_log: Path) -> list[str]:
    """The URLs the page asked for (the browser's own requests, initiated by no origin, are not the page's)."""
    log = json.loads(net_log.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"]
            if e["type"] == start and "url" in e.get("params", {})
            and e["params"].get("initiator") != "not an origin" and not e["params"]["url"].startswith("file:")]


@needs_browser
def test_the_report_opens_in_chromium_and_fetches_nothing(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    report.write_text(page_of("grad", "--file", str(SAMPLES / "04-neuron.grad"), "--format", "html"),
                      encoding="utf-8")
    net = tmp_path / "net.json"
    done = browse(report, tmp_path, f"--log-net-log={net}", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    text = re.sub(r"<[^>]+>", " ", dom)
    for number in NEURON_NUMBERS:
        assert number in text
    assert "all 5 gradients agree" in text
    assert ("<svg" in dom) == HAS_DOT
    assert page_requests(net) == []
    shot = tmp_path / "shot.png"
    done = browse(report, tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", "--hide-scrollbars")
    assert done.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 50_000


@needs_browser
def test_the_request_check_sees_a_page_that_fetches(tmp_path: Path) -> None:
    """The check above can fail: a page with a remote image and style sheet is caught asking for both."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><link rel="stylesheet" href="https://fonts.invalid/f.css">'
                   '<img src="http://images.invalid/a.png"><p>hi</p>', encoding="utf-8")
    net = tmp_path / "net.json"
    assert browse(bad, tmp_path, f"--log-net-log={net}", "--dump-dom").returncode == 0
    assert sorted(page_requests(net)) == ["http://images.invalid/a.png", "https://fonts.invalid/f.css"]


def test_ci_installs_the_browser() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get install -y -qq chromium" in ci


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_a_graph_too_large_to_draw_is_said_and_the_tables_are_cut() -> None:
    formula = "+".join(f"x{k}*x{k}" for k in range(2000))  # 2,000 inputs, 2,000 mul and 1,999 add gates
    page = page_of("grad", formula, *(f"x{k}=1" for k in range(2000)), "--no-symbolic", "--no-numeric",
                   "--format", "html")
    assert "The graph is not drawn here: it has 5,999 nodes, too many to draw (the limit is 3,000)." in page
    assert "<svg" not in page
    assert "5,799 more nodes (--json lists every node)" in page


def test_a_hessian_vector_product_report() -> None:
    page = page_of("hessian", "sum(v^2)", "v=[1,2,3]", "--hvp", "--format", "html")
    assert "Hessian-vector product H·d, d random (seed 0), instead of the matrix: asked for with --hvp" in page
    # H = 2I, so H·d = 2d: d = (-0.9, 0.5, 0.6) from the seed
    assert ('<td class="name">v[0]</td><td class="num">-0.9</td><td class="num value">-1.8</td>'
            '<td class="num">-1.8</td>') in page
    assert "✓ H·d = dᵀH (symmetric along d)" in page


def test_a_run_without_values_has_no_page() -> None:
    run = cli("grad", "x*y", "x=1", "--format", "html")
    assert run.exit_code == 2 and run.stdout == ""
    assert run.stderr.startswith("error: --format html: every variable needs a value, and this run is without a "
                                 "value for y")
    run = cli("grad", "sin(x^2)", "--expect-grad", "x=cos(x^2)*x*2", "--format", "html")
    assert run.exit_code == 2 and "judges formula answers without values" in run.stderr
    many = cli("check", str(SAMPLES), "--format", "html")
    assert many.exit_code == 2 and "--format html reports one answer file, without --key" in many.stderr
