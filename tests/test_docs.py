"""The docs tell the truth: every command is documented, and every transcript, example and table is real.

The pages are README.md and every docs/**/*.md, found afresh on each run, so a new
page's transcripts are run with no edit here.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer.main
from conftest import README, ROOT, SAMPLES, cli, strict_json

from gradcalc.checks import FORWARD_TOL, NUMERIC_TOL, SYMBOLIC_TOL
from gradcalc.cli import app

DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
TEXT = {page: page.read_text(encoding="utf-8") for page in PAGES}
README_TEXT = TEXT[README]
ALL_TEXT = "\n".join(TEXT.values())


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def tool(name: str) -> ModuleType:
    """One of tools/*.py, which write the generated parts of the docs."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command_paths() -> list[list[str]]:
    """Every command and subcommand of the app, as argument lists."""
    paths: list[list[str]] = []
    pending: list[tuple[list[str], Any]] = [([], typer.main.get_command(app))]
    while pending:
        prefix, command = pending.pop()
        if not hasattr(command, "list_commands"):  # a command, not a group
            continue
        ctx = typer.Context(command)  # commands load on demand: ask the group, not its loaded `commands`
        for name in command.list_commands(ctx):
            paths.append([*prefix, name])
            pending.append(([*prefix, name], command.get_command(ctx, name)))
    return sorted(paths)


COMMANDS = command_paths()
IDS = [" ".join(p) for p in COMMANDS]


def test_grad_is_registered() -> None:
    assert ["grad"] in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=IDS)
def test_command_has_help(path: list[str]) -> None:
    run = cli(*path, "--help")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith(f"Usage: gradcalc {' '.join(path)} ") or run.stdout.startswith("Usage: ")


def command_page(path: list[str]) -> Path | None:
    """The page whose title names `gradcalc COMMAND`, else one with a section that does (the reference aside)."""
    for level in ("#", "#+"):
        heading = re.compile(rf"^{level} .*`gradcalc {' '.join(path)}`", re.M)
        for page in PAGES:
            if page != README and page.parent.name != "reference" and heading.search(TEXT[page]):
                return page
    return None


@pytest.mark.parametrize("path", COMMANDS, ids=IDS)
def test_command_has_a_page_one_click_from_the_readme(path: list[str]) -> None:
    page = command_page(path)
    assert page is not None, f"no docs page has a heading naming `gradcalc {' '.join(path)}`"
    link = f"]({page.relative_to(ROOT).as_posix()}"
    assert link in README_TEXT, f"the README does not link to {page.relative_to(ROOT)}"
    assert f"gradcalc {' '.join(path)}" in README_TEXT


def test_readme_is_short_and_links_the_docs() -> None:
    """The README is a front page, not the manual; every page is in the site's menu (tools/mkdocs_nav.py)."""
    assert len(README_TEXT.splitlines()) <= 200
    assert "](docs/index.md)" in README_TEXT and "](docs/getting-started.md)" in README_TEXT
    for link in re.findall(r"\]\((docs/[^)#]+)", README_TEXT):
        assert (ROOT / link).exists(), link


def test_a_page_the_nav_does_not_name_is_in_the_menu_all_the_same(tmp_path: Path) -> None:
    """mkdocs.yml's hook puts pages added after the nav was written (docs/batch.md, say) under "More"."""
    for name in ("index.md", "grad.md", "batch.md", "reference/cli.md"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("# page\n", encoding="utf-8")
    nav: list[Any] = ["index.md", {"Commands": [{"grad": "grad.md"}, {"Reference": "reference/cli.md"}]}]
    config = tool("mkdocs_nav").on_config({"nav": nav, "docs_dir": str(tmp_path)})
    assert config["nav"][-1] == {"More": ["batch.md"]}
    assert "hooks:\n  - tools/mkdocs_nav.py" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands() -> None:
    head = README_TEXT.split("## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", head, re.S)
    assert len(blocks) == 2
    run_sample, run_tests = blocks
    assert "pip install ." in run_sample
    sample = re.search(r"gradcalc grad --file (\S+)", run_sample)
    assert sample is not None and (ROOT / sample.group(1)).is_file()
    assert "pip install -e '.[test]'" in run_tests and run_tests.endswith("pytest")


def test_every_sample_is_listed() -> None:
    text = TEXT[DOCS / "samples.md"]
    for path in sorted(SAMPLES.iterdir()):
        assert f"`{path.name}`" in text, path.name


def test_the_samples_table_is_their_real_output() -> None:
    """docs/samples.md's table is tools/samples_table.py's output: each sample's first comment and its numbers."""
    assert tool("samples_table").table() in TEXT[DOCS / "samples.md"], "regenerate it: python tools/samples_table.py"


def test_the_functions_table_is_made_from_the_op_table() -> None:
    """The table of functions is tools/op_reference.py's output: a new row is documented with no edit."""
    assert tool("op_reference").table() in TEXT[DOCS / "formulas.md"], "regenerate it: python tools/op_reference.py"


def test_the_cli_reference_is_made_from_the_app() -> None:
    """docs/reference/cli.md is every command's --help, as tools/cli_reference.py writes it."""
    page = DOCS / "reference" / "cli.md"
    assert page.read_text(encoding="utf-8") == tool("cli_reference").page(), (
        "regenerate it: python tools/cli_reference.py"
    )


def test_tolerances_are_the_ones_in_the_code() -> None:
    section = TEXT[DOCS / "checks.md"]

    def short(x: float) -> str:
        return f"{x:g}".replace("e-0", "e-")  # 1e-09 -> 1e-9

    for tol in (FORWARD_TOL, SYMBOLIC_TOL, NUMERIC_TOL):
        assert f"rtol {short(tol.rtol)}, atol {short(tol.atol)}" in section


# ---------------------------------------------------------------------------
# Python examples (doctest) and answer files (TOML), in every page


def blocks(language: str) -> list[tuple[Path, int, str]]:
    """(page, index, text) of every ```language block of every page."""
    found = []
    for page in PAGES:
        for k, block in enumerate(re.findall(rf"^```{language}\n(.*?)^```", TEXT[page], re.S | re.M)):
            found.append((page, k, block))
    return found


DOCTESTS = [b for b in blocks("python") if ">>>" in b[2]]


def test_there_are_python_examples() -> None:
    assert any(page.name == "python-api.md" for page, _, _ in DOCTESTS)


@pytest.mark.parametrize(("page", "k", "block"), DOCTESTS, ids=[f"{page_id(p)}-{k}" for p, k, _ in DOCTESTS])
def test_python_examples_run(page: Path, k: int, block: str) -> None:
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(parser.get_doctest(block, {}, f"{page_id(page)} python block {k}", str(page), 0))
    assert runner.summarize(verbose=False).failed == 0


TOML = blocks("toml")


def test_there_are_toml_examples() -> None:
    assert any(page.name == "homework.md" for page, _, _ in TOML)


@pytest.mark.parametrize(("page", "k", "block"), TOML, ids=[f"{page_id(p)}-{k}" for p, k, _ in TOML])
def test_toml_examples_grade(page: Path, k: int, block: str, tmp_path: Path) -> None:
    """Each answer file shown is one `gradcalc check` grades: no malformed problem, no name that is not there."""
    tomllib.loads(block)
    path = tmp_path / "answers.toml"
    path.write_text(block, encoding="utf-8")
    run = cli("check", str(path), "--json")
    doc = strict_json(run.stdout)
    assert "error" not in doc, doc
    assert doc["errors"] == 0, [p["error"] for p in doc["problems"] if p["error"]]
    assert run.exit_code in (0, 1) and doc["total"] > 0


SHOWN_FILES = [(page, m.group(1), m.group(2)) for page in PAGES
               for m in re.finditer(r'^```\w+ title="(samples/[^"]+)"\n(.*?)^```', TEXT[page], re.S | re.M)]


@pytest.mark.parametrize(("page", "path", "block"), SHOWN_FILES, ids=[f"{page_id(p)}-{f}" for p, f, _ in SHOWN_FILES])
def test_a_file_shown_is_the_sample_itself(page: Path, path: str, block: str) -> None:
    """A block titled with a sample's path shows that file as it is shipped."""
    assert (ROOT / path).read_text(encoding="utf-8") == block


# ---------------------------------------------------------------------------
# Console transcripts are re-run and compared

# `gradcalc COMMAND ...` (any command, those added later too), optionally fed by `echo '...' |`,
# piped to `cat`, `jq`, `head` or `tail`, and followed by `; echo "exit ${PIPESTATUS[0]}"`; or
# `cat samples/FILE`, which shows a shipped file.  No redirection into a file: transcripts write
# nothing, and test_transcript checks that.
RUNNABLE = re.compile(
    r"^(echo '[^']*' \| )?gradcalc( [^|>]*)?( >&-| 2>&-)?"
    r"( \| (cat|jq .*|head -n \d+|tail -n \d+))?"
    r'(; echo "exit \$\{PIPESTATUS\[0\]\}")?$'
    r"|^cat samples/[\w.-]+$"
)


def console_blocks() -> list[tuple[Path, str]]:
    return [(page, block) for page in PAGES for block in re.findall(r"^```console\n(.*?)^```", TEXT[page], re.S | re.M)]


def transcripts() -> list[tuple[str, str, int, str]]:
    """(command, expected output, exit code or -1, page) of each command; `echo $?` rides with its command."""
    found: list[tuple[str, str, int, str]] = []
    for page, block in console_blocks():
        steps: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
        for cmd, out in steps:
            if cmd == "echo $?":
                previous = found[-1]
                found[-1] = (previous[0], previous[1], int(out[0]), previous[3])
            else:
                found.append((cmd, "\n".join(out), -1, page_id(page)))
    return found


TRANSCRIPTS = transcripts()


def test_every_console_block_is_a_runnable_transcript() -> None:
    """A ```console block is run; a command that cannot be (it writes a file, say) belongs in a ```sh block."""
    for page, block in console_blocks():
        commands = [line[2:] for line in block.splitlines() if line.startswith("$ ")]
        assert commands, f"{page_id(page)}: a console block with no $ command"
        for cmd in commands:
            assert cmd == "echo $?" or RUNNABLE.match(cmd), f"{page_id(page)}: not runnable: {cmd}"


def test_the_docs_have_transcripts() -> None:
    assert len(TRANSCRIPTS) >= 60
    assert any(cmd == "gradcalc grad '(x+y)*z' x=-2 y=5 z=-4 | cat" for cmd, _, _, _ in TRANSCRIPTS)
    assert any(code == 2 for _, _, code, _ in TRANSCRIPTS)
    assert {p for _, _, _, p in TRANSCRIPTS} >= {"README.md", "docs/grad.md", "docs/training.md"}


@pytest.mark.parametrize(
    ("command", "expected", "exit_code", "page"), TRANSCRIPTS, ids=[f"{t[3]}: {t[0][:60]}" for t in TRANSCRIPTS]
)
def test_transcript(command: str, expected: str, exit_code: int, page: str, tmp_path: Path) -> None:
    bindir = Path(sys.executable).parent
    if not (bindir / "gradcalc").exists():
        pytest.skip("the gradcalc script is not installed next to this Python")
    if "| jq" in command and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    # Run where the samples are but nothing else is, to see that the command writes no file.
    (tmp_path / "samples").symlink_to(SAMPLES, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    env["NO_COLOR"] = "1"
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["LANGUAGE"] = "en"  # the transcripts are in English, whatever the locale
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert [line.rstrip() for line in output.rstrip("\n").splitlines()] == expected.splitlines()
    if exit_code >= 0:
        assert proc.returncode == exit_code
    assert [p.name for p in tmp_path.iterdir()] == ["samples"], "a transcript wrote a file"
