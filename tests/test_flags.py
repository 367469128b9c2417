"""One meaning per flag: --target NAME chooses a program's node, -o/--output FILE takes the report, in every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SAMPLES, cli

PROGRAM = "a = 3; b = a*a; c = b + a"
COMMANDS = {
    "grad": ["grad", PROGRAM, "--no-symbolic"],
    "trace": ["trace", PROGRAM],
    "jacobian": ["jacobian", PROGRAM],
    "descend": ["descend", PROGRAM, "--steps", "2"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_target_chooses_the_node_in_every_command(command: str) -> None:
    run = cli(*COMMANDS[command], "--target", "b", "--json")
    assert run.exit_code == 0, run.stderr
    assert run.stdout != cli(*COMMANDS[command], "--json").stdout  # b, not the last statement c


def test_graph_takes_target_too() -> None:
    assert cli("graph", PROGRAM, "--target", "b").stdout != cli("graph", PROGRAM).stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_output_writes_the_report_to_a_file_in_every_command(tmp_path: Path, command: str) -> None:
    target = tmp_path / "report.json"
    run = cli(*COMMANDS[command], "-o", str(target))
    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    assert isinstance(json.loads(target.read_text()), dict)  # the suffix asked for JSON
    table = tmp_path / "report.txt"
    run = cli(*COMMANDS[command], "--output", str(table))
    assert run.exit_code == 0 and run.stdout == ""
    assert table.read_text().strip() and "\x1b[" not in table.read_text()


def test_check_writes_its_report_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "grades.json"
    run = cli("check", str(SAMPLES / "homework.toml"), "-o", str(target))
    assert run.exit_code == 0 and run.stdout == ""
    assert isinstance(json.loads(target.read_text()), dict)


@pytest.mark.parametrize(("suffix", "mark"), [(".md", "|:--"), (".tex", "\\begin{align*}"), (".txt", "+---")])
def test_grad_reads_the_format_from_the_suffix(tmp_path: Path, suffix: str, mark: str) -> None:
    target = tmp_path / f"report{suffix}"
    run = cli("grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--no-symbolic", "-o", str(target))
    assert run.exit_code == 0, run.stderr
    assert mark in target.read_text()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_output_with_a_node_name_is_a_usage_error_that_points_at_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli(*COMMANDS[command], "-o", "b")
    assert run.exit_code == 2
    assert "use --target b" in run.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [["--json", "-o", "r.txt"], ["--format", "markdown", "-o", "r.json"], ["-o", "r.docx"], ["--brief", "-o", "r.x"]],
)
def test_a_mismatched_or_unknown_report_suffix_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli("grad", "x*y", "x=1", "y=2", "--no-symbolic", *args)
    assert run.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_target_of_no_name_says_target() -> None:
    run = cli("grad", PROGRAM, "--target", "zz")
    assert run.exit_code == 2 and run.stderr.startswith("error: --target 'zz' is not a name in the program")


# ---------------------------------------------------------------------------
# Unknown options: click's "did you mean", though the commands let unknown options through as arguments


@pytest.mark.parametrize(
    ("args", "meant"),
    [
        (["grad", "x", "x=1", "--jsn"], "--json"),
        (["grad", "x", "x=1", "--breif"], "--brief"),
        (["grad", "--jsn", "x", "x=1"], "--json"),  # before the formula: an option, not the formula
        (["trace", "x", "x=1", "--mdoe", "forward"], "--mode"),
        (["descend", "(x-3)^2", "x=0", "--stpes", "3"], "--steps"),
        (["graph", "x", "x=1", "--tagret", "x"], "--target"),
    ],
)
def test_an_unknown_option_suggests_the_one_meant(args: list[str], meant: str) -> None:
    run = cli(*args)
    assert run.exit_code == 2
    assert run.stderr.startswith("error: unknown option '--")
    assert f"did you mean {meant}" in run.stderr
    assert "NAME=VALUE" not in run.stderr


def test_an_unknown_option_under_json_is_a_json_error() -> None:
    run = cli("grad", "x", "x=1", "--jsn", "--json")
    assert run.exit_code == 2
    assert json.loads(run.stdout)["error"]["hint"] == "did you mean --json?"


def test_a_formula_of_two_minuses_is_still_a_formula() -> None:
    run = cli("grad", "--x", "x=1", "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "f = 1\n∂f/∂x = 1\n")


def test_an_unknown_option_before_the_command_suggests_the_commands_option() -> None:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from gradcalc.cli import main

    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(["--breif"])
    assert code == 2
    assert "did you mean gradcalc grad --brief?" in err.getvalue()


# ---------------------------------------------------------------------------
# --color auto|always|never, and NO_COLOR / FORCE_COLOR for auto

TABLES = {
    "grad": ["grad", "x*y", "x=1", "y=2", "--no-symbolic"],
    "jacobian": ["jacobian", "softmax(z)", "z=[1, 2, 0.5]"],
    "trace": ["trace", "x*y", "x=1", "y=2"],
    "descend": ["descend", "(x-3)^2", "x=0", "--steps", "2"],
    "check": ["check", str(SAMPLES / "homework.toml")],
}


@pytest.mark.parametrize("command", sorted(TABLES))
def test_color_always_colours_a_pipe_and_never_does_not(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert "\x1b[" not in cli(*TABLES[command], "--color", "never").stdout
    assert "\x1b[" not in cli(*TABLES[command]).stdout  # auto: a pipe is plain
    if command != "trace":  # the trace has no styled text, only tables
        assert "\x1b[" in cli(*TABLES[command], "--color", "always").stdout


def test_auto_follows_no_color_and_force_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in cli(*TABLES["grad"]).stdout
    assert "\x1b[" not in cli(*TABLES["grad"], "--color", "never").stdout  # the flag beats the environment
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" in cli(*TABLES["grad"], "--color", "always").stdout


def test_a_bad_color_is_a_usage_error() -> None:
    run = cli(*TABLES["grad"], "--color", "sometimes")
    assert run.exit_code == 2 and "--color must be one of auto, always, never" in run.stderr
