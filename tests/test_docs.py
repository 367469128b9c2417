"""The README tells the truth: every command is documented, and its transcripts are real runs."""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from conftest import README, ROOT, SAMPLES, cli

from gradcalc.checks import FORWARD_TOL, NUMERIC_TOL, SYMBOLIC_TOL
from gradcalc.cli import app

TEXT = README.read_text(encoding="utf-8")
# The pages under docs/, which hold the manual besides the README.
PAGES = {path: path.read_text(encoding="utf-8") for path in sorted((ROOT / "docs").glob("**/*.md"))}


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


def test_grad_is_registered() -> None:
    assert ["grad"] in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_command_has_help(path: list[str]) -> None:
    run = cli(*path, "--help")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith(f"Usage: gradcalc {' '.join(path)} ") or run.stdout.startswith("Usage: ")


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_command_is_in_the_readme(path: list[str]) -> None:
    assert any(f"gradcalc {' '.join(path)}" in text for text in (TEXT, *PAGES.values()))


def test_readme_opens_with_the_two_commands() -> None:
    head = TEXT.split("## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", head, re.S)
    assert len(blocks) == 2
    run_sample, run_tests = blocks
    assert "pip install ." in run_sample
    sample = re.search(r"gradcalc grad --file (\S+)", run_sample)
    assert sample is not None and (ROOT / sample.group(1)).is_file()
    assert "pip install -e '.[test]'" in run_tests and run_tests.endswith("pytest")


def test_every_sample_is_listed() -> None:
    for path in sorted(SAMPLES.glob("*.grad")):
        assert f"`{path.name}`" in TEXT, path.name


def test_the_functions_table_is_made_from_the_op_table() -> None:
    """The README's table of functions is tools/op_reference.py's output: a new row is documented with no edit."""
    spec = importlib.util.spec_from_file_location("op_reference", ROOT / "tools" / "op_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.table() in TEXT, "regenerate it: python tools/op_reference.py"


def test_tolerances_are_the_ones_in_the_code() -> None:
    section = TEXT.split("## Checks and tolerances", 1)[1].split("\n## ", 1)[0]
    def short(x: float) -> str:
        return f"{x:g}".replace("e-0", "e-")  # 1e-09 -> 1e-9

    for tol in (FORWARD_TOL, SYMBOLIC_TOL, NUMERIC_TOL):
        assert f"rtol {short(tol.rtol)}, atol {short(tol.atol)}" in section


def test_python_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", TEXT, re.S)
    examples = [b for b in blocks if ">>>" in b]
    assert examples, "the README has a Python API example"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for k, block in enumerate(examples):
        test = parser.get_doctest(block, {}, f"README python block {k}", str(README), 0)
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


# ---------------------------------------------------------------------------
# Console transcripts of `gradcalc grad` are re-run and compared

# `gradcalc COMMAND ...` (writing no file), optionally fed by `echo '...' |` and piped to `cat` or `jq`.
RUNNABLE = re.compile(
    r"^(echo '[^']*' \| )?gradcalc (grad|hessian|jacobian|trace|check|graph|descend|batch) [^|>]*(\| (cat|jq .*))?$"
)


def transcripts() -> list[tuple[str, str, int]]:
    """(command, expected output, index) for each runnable command; `echo $?` rides with its command."""
    found: list[tuple[str, str, int]] = []
    for block in [b for text in (TEXT, *PAGES.values()) for b in re.findall(r"```console\n(.*?)```", text, re.S)]:
        steps: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
        if not steps or not all(RUNNABLE.match(cmd) or cmd == "echo $?" for cmd, _ in steps):
            continue  # not a gradcalc grad transcript
        for cmd, out in steps:
            if cmd == "echo $?":
                previous = found[-1]
                found[-1] = (previous[0], previous[1], int(out[0]))
            else:
                found.append((cmd, "\n".join(out), -1))
    return found


TRANSCRIPTS = transcripts()


def test_readme_has_grad_transcripts() -> None:
    assert len(TRANSCRIPTS) >= 10
    assert any(cmd == "gradcalc grad '(x+y)*z' x=-2 y=5 z=-4 | cat" for cmd, _, _ in TRANSCRIPTS)
    assert any(code == 2 for _, _, code in TRANSCRIPTS)


@pytest.mark.parametrize(("command", "expected", "exit_code"), TRANSCRIPTS, ids=[t[0][:60] for t in TRANSCRIPTS])
def test_transcript(command: str, expected: str, exit_code: int) -> None:
    bindir = Path(sys.executable).parent
    if not (bindir / "gradcalc").exists():
        pytest.skip("the gradcalc script is not installed next to this Python")
    if "| jq" in command and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert [line.rstrip() for line in output.rstrip("\n").splitlines()] == expected.splitlines()
    if exit_code >= 0:
        assert proc.returncode == exit_code
