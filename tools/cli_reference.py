"""Write docs/reference/cli.md: every command's --help, read from the app itself.

    python tools/cli_reference.py           # write the page
    python tools/cli_reference.py --check   # exit 1 if the committed page is out of date

The docs test compares the committed page with page(), so the reference cannot
drift from the options: a new command or option is documented with no other edit.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer.main
from typer.testing import CliRunner

from gradcalc.cli import app

PAGE = Path(__file__).resolve().parent.parent / "docs" / "reference" / "cli.md"
WIDTH = "80"  # help is wrapped to the terminal: one width, so the page is the same everywhere

INTRO = """\
# Command reference

Every command's `--help`, exactly as gradcalc prints it. The other pages show the commands at
work; this one lists every option. `gradcalc COMMAND --help` prints the same in a terminal.
"""


def commands() -> list[str]:
    """The commands in the order `gradcalc --help` lists them (loaded on demand, as the app does)."""
    group: Any = typer.main.get_command(app)
    return list(group.list_commands(typer.Context(group)))


def help_text(*path: str) -> str:
    runner = CliRunner()
    result = runner.invoke(app, [*path, "--help"], prog_name="gradcalc", env={"COLUMNS": WIDTH, "LINES": "24"})
    if result.exit_code != 0:
        raise SystemExit(f"gradcalc {' '.join(path)} --help failed: {result.output}")
    return "\n".join(line.rstrip() for line in result.stdout.rstrip("\n").splitlines())


def page() -> str:
    parts = [INTRO, "## `gradcalc`\n", "```text\n" + help_text() + "\n```\n"]
    for name in commands():
        parts += [f"## `gradcalc {name}`\n", "```text\n" + help_text(name) + "\n```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    text = page()
    if "--check" in sys.argv[1:]:
        sys.exit(0 if PAGE.is_file() and PAGE.read_text(encoding="utf-8") == text else 1)
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
