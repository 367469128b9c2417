"""The pages of the Python API, the notebooks and the HTML report tell the truth: their Python examples
and their console transcripts are run, as tests/test_docs.py runs the README's."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest
import test_docs
from conftest import ROOT

PAGES = [ROOT / "docs" / name for name in ("python-api.md", "notebooks.md", "html-report.md")]


def transcripts() -> list[tuple[str, str, int]]:
    """(command, expected output, exit code or -1) of each runnable command in the pages."""
    found: list[tuple[str, str, int]] = []
    for page in PAGES:
        for block in re.findall(r"```console\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            steps: list[tuple[str, list[str]]] = []
            for line in block.splitlines():
                if line.startswith("$ "):
                    steps.append((line[2:], []))
                elif steps:
                    steps[-1][1].append(line)
            for cmd, out in steps:
                assert test_docs.RUNNABLE.match(cmd) or cmd == "echo $?", f"{page.name}: not runnable: {cmd}"
                if cmd == "echo $?":
                    previous = found[-1]
                    found[-1] = (previous[0], previous[1], int(out[0]))
                else:
                    found.append((cmd, "\n".join(out), -1))
    return found


TRANSCRIPTS = transcripts()


@pytest.mark.parametrize(("command", "expected", "exit_code"), TRANSCRIPTS, ids=[t[0][:60] for t in TRANSCRIPTS])
def test_transcript(command: str, expected: str, exit_code: int) -> None:
    assert exit_code >= 0, f"{command}: give its exit code with `$ echo $?`"
    test_docs.test_transcript(command, expected, exit_code)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_python_examples_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the examples read samples/ as a reader in the repository would
    text = page.read_text(encoding="utf-8")
    examples = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if ">>>" in b]
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for k, block in enumerate(examples):
        runner.run(parser.get_doctest(block, {}, f"{page.name} python block {k}", str(page), 0))
    assert runner.summarize(verbose=False).failed == 0


def test_the_pages_have_examples() -> None:
    assert len(TRANSCRIPTS) >= 3
    assert "python-api.md" in {p.name for p in PAGES}
