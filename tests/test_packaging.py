"""What a package gives its users besides the code: one version, a licence, links, shell completion."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, cli, gradcalc_process

import gradcalc

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_version_is_written_in_one_place() -> None:
    """pyproject reads gradcalc.__version__; `gradcalc --version` and the installed metadata say the same."""
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gradcalc.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", gradcalc.__version__)
    assert importlib.metadata.version("gradcalc") == gradcalc.__version__
    assert gradcalc_process("--version").stdout == f"gradcalc {gradcalc.__version__}\n"
    written = [p for p in ROOT.glob("gradcalc/**/*.py") if re.search(r"^__version__ = ", p.read_text(), re.M)]
    assert written == [ROOT / "gradcalc" / "__init__.py"]


def test_licence_and_links() -> None:
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License\n\nCopyright (c) 2026 gradcalc developers\n")
    assert PYPROJECT["project"]["license"] == "MIT"
    urls = PYPROJECT["project"]["urls"]
    assert sorted(urls) == ["Documentation", "Homepage", "Issues", "Source"]
    assert all(u.startswith("https://") for u in urls.values())
    meta = importlib.metadata.metadata("gradcalc").get_all("Project-URL") or []
    assert f"Issues, {urls['Issues']}" in meta


def test_the_schemas_ship_as_package_data() -> None:
    """gradcalc/schemas/*.json are package data: a wheel carries them, importlib.resources finds them."""
    assert "schemas/*.json" in PYPROJECT["tool"]["setuptools"]["package-data"]["gradcalc"]
    shipped = sorted(p.name for p in (Path(gradcalc.__file__).parent / "schemas").glob("*.json"))
    assert "grad.schema.json" in shipped and "error.schema.json" in shipped


# ---------------------------------------------------------------------------
# Shell completion


def _gradcalc_script() -> Path:
    script = Path(sys.executable).parent / "gradcalc"
    if not script.exists():
        pytest.skip("the gradcalc script is not installed next to this Python")
    return script


@pytest.mark.parametrize(
    ("shell", "line"),
    [
        ("bash", "complete -o default -F _gradcalc_completion gradcalc"),
        ("zsh", "#compdef gradcalc"),
        ("fish", "complete --command gradcalc"),
    ],
)
def test_show_completion_prints_the_script_of_the_shell_named(shell: str, line: str) -> None:
    run = cli("--show-completion", shell)
    assert run.exit_code == 0
    assert line in run.stdout and "_GRADCALC_COMPLETE" in run.stdout


def test_show_completion_refuses_a_shell_it_cannot_complete_in() -> None:
    run = gradcalc_process("--show-completion", "tcsh")
    assert run.exit_code == 2
    assert "'tcsh' is not a shell gradcalc completes in: bash, zsh, fish, powershell, pwsh" in run.stderr


def _complete(words: str) -> list[str]:
    """What bash's completion script gets back for the words typed so far (the last one unfinished)."""
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1),
           "_GRADCALC_COMPLETE": "complete_bash"}
    proc = subprocess.run([str(_gradcalc_script())], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_completion_of_commands_and_their_options() -> None:
    """The commands load on demand; completing one's options loads it, as running it does."""
    assert _complete("gradcalc gr") == ["grad", "graph"]
    assert _complete("gradcalc grad --ti") == ["--tie"]
    assert _complete("gradcalc descend --batch") == ["--batch-size"]
