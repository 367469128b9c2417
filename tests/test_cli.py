"""The command line: exit codes, input from arguments, stdin and files, errors, and options."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES, cli, gradcalc_process, strict_json

import gradcalc
from gradcalc import builder, ops
from gradcalc import cli as cli_module

EX3 = ("(x+y)*z", "x=-2", "y=5", "z=-4")
EX3_BRIEF = "f = -12\n∂f/∂x = -4\n∂f/∂y = -4\n∂f/∂z = 3\n"


# ---------------------------------------------------------------------------
# Exit code 0, and the three output forms


def test_example_3_table() -> None:
    run = cli("grad", *EX3)
    assert run.exit_code == 0
    assert run.stderr == ""
    out = run.stdout
    assert "q = x + y" in out
    assert "f = q * z" in out
    assert out.rstrip().splitlines()[-1] == "f = -12   ✓ all 3 gradients agree"
    assert "\x1b[" not in out  # not a terminal: plain text, no colour codes


def test_brief() -> None:
    run = cli("grad", *EX3, "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, EX3_BRIEF)


def test_brief_json_has_only_the_numbers() -> None:
    doc = cli("grad", *EX3, "--brief", "--json", "--no-symbolic").json()
    assert doc["value"] == -12.0
    assert doc["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert "nodes" not in doc and "checks" not in doc


def test_version() -> None:
    run = cli("--version")
    assert (run.exit_code, run.stdout) == (0, f"gradcalc {gradcalc.__version__}\n")


def test_help_exits_0() -> None:
    run = cli("grad", "--help")
    assert run.exit_code == 0
    assert "gradcalc grad '(x+y)*z' x=-2 y=5 z=-4" in run.stdout


def test_values_may_come_before_options_and_formula_may_start_with_minus() -> None:
    run = cli("grad", "--brief", "-x^2", "x=3", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "f = -9\n∂f/∂x = -6\n")


def test_tie_option() -> None:
    run = cli("grad", "max(x, y)", "x=1", "y=1", "--tie", "first", "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "f = 1\n∂f/∂x = 1\n∂f/∂y = 0\n")
    bad = cli("grad", "max(x, y)", "x=1", "y=1", "--tie", "bogus")
    assert bad.exit_code == 2
    assert "--tie must be split, first or all" in bad.stderr


def test_target_option_picks_a_name_of_the_program() -> None:
    run = cli("grad", "a = 3; b = a*a; c = b + a", "--target", "b", "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "b = 9\n∂b/∂a = 6\n")


# ---------------------------------------------------------------------------
# Where the formula comes from: argument, '-' (stdin), --file


def test_dash_reads_stdin() -> None:
    run = cli("grad", "-", "x=3", "--brief", "--no-symbolic", stdin="x^2  # a comment\n")
    assert (run.exit_code, run.stdout) == (0, "f = 9\n∂f/∂x = 6\n")


def test_dash_reads_stdin_in_a_real_process() -> None:
    run = gradcalc_process("grad", "-", "x=-2", "y=5", "z=-4", "--brief", "--no-symbolic", stdin="(x+y)*z\n")
    assert (run.exit_code, run.stdout, run.stderr) == (0, EX3_BRIEF, "")


def test_file(tmp_path: Path) -> None:
    program = tmp_path / "neuron.grad"
    program.write_text("# a program\nw = 2; x = -1\nb = -3\nsigmoid(w*x + b)\n", encoding="utf-8")
    run = cli("grad", "--file", str(program), "--brief", "--no-symbolic")
    assert run.exit_code == 0
    assert run.stdout.splitlines()[0] == "f = 0.00669285"


def test_file_values_override_the_program_defaults() -> None:
    run = cli("grad", "--file", str(SAMPLES / "03-add-and-mul-gates.grad"), "x=1", "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, "f = -24\n∂f/∂x = -4\n∂f/∂y = -4\n∂f/∂z = 6\n")


def test_missing_file_is_exit_2(tmp_path: Path) -> None:
    run = cli("grad", "--file", str(tmp_path / "nope.grad"))
    assert run.exit_code == 2
    assert run.stderr.startswith(f"error: cannot read {tmp_path / 'nope.grad'}: ")


def test_no_formula_is_exit_2() -> None:
    run = cli("grad")
    assert run.exit_code == 2
    assert run.stderr.startswith("error: no formula given")


# ---------------------------------------------------------------------------
# Values


def test_missing_values_are_all_named() -> None:
    run = cli("jacobian", "x*y*z + w", "x=1")
    assert run.exit_code == 2
    first, *rest = run.stderr.splitlines()
    assert first == "error: no value for y, z, w"
    assert any(line.startswith("hint: add y=... z=... w=... after the formula") for line in rest)


def test_unused_value_is_a_warning_on_stderr() -> None:
    run = cli("grad", "x+1", "x=1", "y=2", "--json", "--no-symbolic")
    assert run.exit_code == 0
    # One letter is one edit from any other, so y is no typo of x: no guess.
    assert run.stderr == "warning: 'y' is not used by the formula; its value is ignored\n"
    doc = run.json()  # stdout stays one clean JSON document
    assert doc["gradients"] == {"x": 1.0}
    assert doc["warnings"] == ["'y' is not used by the formula; its value is ignored"]


def test_an_unused_value_near_a_used_name_is_a_likely_typo() -> None:
    run = cli("grad", "x1+1", "x1=1", "x2=2", "--json", "--no-symbolic")
    assert run.stderr == "warning: 'x2' is not used by the formula; its value is ignored (did you mean 'x1'?)\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e999", "error: 1e999 is too large for a 64-bit float"),
        ("-1e999", "error: -1e999 is too large for a 64-bit float"),
        ("nan", "error: 'nan' is not a number"),
        ("inf", "error: 'inf' is not a number"),
        ("1e300*1e300", "error: overflow: gate f = 1e300 * 1e300 is infinite"),  # 1+2 is a value now: 3
        ("", "error: '' is not a number"),
    ],
)
def test_value_that_is_not_a_finite_number_is_exit_2(value: str, message: str) -> None:
    run = cli("grad", "x", f"x={value}")
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == message


def test_value_given_twice_is_exit_2() -> None:
    run = cli("grad", "x", "x=1", "x=2")
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == "error: 'x' is given twice"


# ---------------------------------------------------------------------------
# Errors in the formula: what, where, hint; exit 2; no traceback


def test_caret_under_the_star() -> None:
    run = cli("grad", "(x+*y)", "x=1", "y=2")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.splitlines()[3:5] == ["1 | (x+*y)", "  |    ^"]


def test_sigmod_suggests_sigmoid() -> None:
    run = cli("grad", "sigmod(x)", "x=1")
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert lines[0] == "error: unknown function 'sigmod'"
    assert lines[4] == "  | ^^^^^^"
    assert lines[-1] == "hint: did you mean 'sigmoid'?"


def test_log_of_negative_names_the_gate() -> None:
    run = cli("grad", "2*log(x)", "x=-1")
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert lines[0] == "error: log of a negative number in gate q = log(x)"
    assert lines[3:5] == ["1 | 2*log(x)", "  |   ^^^^^^"]


def test_division_by_zero_names_the_gate() -> None:
    run = cli("grad", "1/x", "x=0")
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == "error: division by zero in gate f = 1 / x"


def test_overflow_names_the_gate() -> None:
    run = cli("grad", "exp(exp(x))", "x=10")
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == "error: overflow: gate f = exp(q) is infinite"


@pytest.mark.parametrize(
    ("args", "kind", "span"),
    [
        (("(x+*y)", "x=1", "y=2"), "syntax", [3, 4]),
        (("sigmod(x)", "x=1"), "name", [0, 6]),
        (("log(x)", "x=-1"), "domain", [0, 6]),
        (("1/x", "x=0"), "domain", [0, 3]),
        (("x", "x=nan"), "value", [2, 5]),
    ],
)
def test_json_error_objects(args: tuple[str, ...], kind: str, span: list[int]) -> None:
    run = cli("grad", *args, "--json")
    assert run.exit_code == 2
    assert run.stderr == ""
    doc = strict_json(run.stdout)
    assert list(doc) == ["error"]
    err = doc["error"]
    assert {"message", "kind", "span"} <= set(err)
    assert (err["kind"], err["span"]) == (kind, span)
    assert isinstance(err["message"], str) and err["message"]


def test_unknown_option_is_exit_2_in_a_real_process() -> None:
    run = gradcalc_process("grad", "x", "x=1", "--frobnicate")
    assert run.exit_code == 2
    assert run.stderr.startswith("error: unknown option '--frobnicate'")
    assert "Traceback" not in run.stderr


def test_bad_input_in_a_real_process_is_exit_2_without_traceback() -> None:
    run = gradcalc_process("grad", "(x+*y)", "x=1", "y=2")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert "  |    ^" in run.stderr.splitlines()


def test_no_arguments_prints_readable_help() -> None:
    run = gradcalc_process()
    assert (run.exit_code, run.stderr) == (0, "")  # the help, plainly: not an error
    lines = run.stdout.splitlines()
    assert lines[0] == "Usage: gradcalc [OPTIONS] COMMAND [ARGS]..."
    assert "Commands:" in lines and "??" not in run.stdout
    assert any(line.split()[:1] == ["grad"] for line in lines)


def test_real_process_exit_0_and_version() -> None:
    run = gradcalc_process("grad", *EX3, "--brief", "--no-symbolic")
    assert (run.exit_code, run.stdout) == (0, EX3_BRIEF)
    version = gradcalc_process("--version")
    assert (version.exit_code, version.stdout) == (0, f"gradcalc {gradcalc.__version__}\n")


# ---------------------------------------------------------------------------
# Exit 1: a real disagreement; exit 3: a bug in gradcalc


def test_a_wrong_local_gradient_is_caught_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    # Break the mul row: both passes use it, so only the central difference can tell.
    wrong = dataclasses.replace(ops.OPS["mul"], local=lambda m, xs, out: (xs[1], 2 * xs[0]))
    monkeypatch.setitem(builder.OPS, "mul", wrong)
    run = cli("grad", *EX3, "--no-symbolic")
    assert run.exit_code == 1
    rows = {line.split("|")[1].strip(): line for line in run.stdout.splitlines() if line.startswith("| ")}
    assert "✗ disagree: numeric" in rows["z"]
    assert "✓ agree" in rows["x"]
    assert run.stdout.rstrip().endswith("f = -12   ✗ check failed for z")
    doc = cli("grad", *EX3, "--no-symbolic", "--json").json()
    assert doc["status"] == "disagree"
    assert doc["checks"]["ok"] is False
    assert doc["gradients"]["z"] == 6.0


LARGE = " + ".join(f"x{i}*x{i}" for i in range(300))  # 300 variables x 899 nodes: past the per-variable checks
LARGE_VALUES = [f"x{i}={i / 100}" for i in range(300)]


def test_a_large_graph_is_checked_along_one_random_direction() -> None:
    doc = cli("grad", LARGE, *LARGE_VALUES, "--json", "--no-symbolic").json()
    d = doc["checks"]["directional"]
    # f = sum x_i^2, so the gradient is 2 x and its dot product with v is sum 2 x_i v_i.
    expected = sum(2 * (i / 100) * d["direction"][f"x{i}"] for i in range(300))
    assert d["reverse"] == pytest.approx(expected, rel=1e-12)
    assert d["forward"] == pytest.approx(expected, rel=1e-12)
    assert d["numeric"] == pytest.approx(expected, rel=1e-6)
    assert d["agree"] is True and doc["status"] == "ok"
    x7 = doc["checks"]["variables"][7]
    assert (x7["name"], x7["status"], x7["checked"]) == ("x7", "agree", "direction")
    assert x7["forward"] is None and x7["numeric"] is None  # no witness of its own
    run = cli("grad", LARGE, *LARGE_VALUES, "--no-symbolic")
    rows = {line.split("|")[1].strip(): line for line in run.stdout.splitlines() if line.startswith("| x")}
    assert "✓ along v" in rows["x7"]  # checked only as part of the sum along v, and the table says so
    assert run.stdout.rstrip().endswith("✓ all 300 gradients agree along a random direction")


def test_a_kink_on_a_large_graph_explains_the_direction_and_marks_its_variable() -> None:
    # relu'(0) is taken as 0; the central difference along v sees relu(h v0) - relu(-h v0) = h |v0| instead.
    formula = "relu(x0) + " + " + ".join(f"x{i}*x{i}" for i in range(1, 300))
    doc = cli("grad", formula, *LARGE_VALUES, "--no-symbolic", "--json").json()
    d = doc["checks"]["directional"]
    assert d["agree"] is False and d["reverse"] == pytest.approx(d["forward"], rel=1e-12)
    assert d["numeric"] == pytest.approx(d["reverse"] + abs(d["direction"]["x0"]) / 2, rel=1e-6)
    assert doc["status"] == "ok" and doc["conventions"][0]["variables"] == ["x0"]
    by_name = {v["name"]: v for v in doc["checks"]["variables"]}
    assert (by_name["x0"]["status"], by_name["x0"]["disagreeing"]) == ("kink", ["numeric"])
    assert by_name["x1"]["status"] == "agree"


def test_a_wrong_local_gradient_on_a_large_graph_fails_the_direction(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = dataclasses.replace(ops.OPS["mul"], local=lambda m, xs, out: (xs[1], 2 * xs[0]))
    monkeypatch.setitem(builder.OPS, "mul", wrong)
    run = cli("grad", LARGE, *LARGE_VALUES, "--no-symbolic")
    assert run.exit_code == 1
    rows = {line.split("|")[1].strip(): line for line in run.stdout.splitlines() if line.startswith("| x")}
    assert "? along v" in rows["x7"]
    assert run.stdout.rstrip().endswith("✗ check failed for the random direction")
    doc = cli("grad", LARGE, *LARGE_VALUES, "--no-symbolic", "--json").json()
    assert doc["status"] == "disagree" and doc["checks"]["directional"]["agree"] is False
    # One direction cannot say which gradient is wrong: none of them is called right.
    assert {v["status"] for v in doc["checks"]["variables"]} == {"undecided"}


def test_internal_error_is_exit_3_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("gradcalc.api.gradient", broken)
    assert cli_module.main(["grad", *EX3]) == 3
    captured = capsys.readouterr()
    assert captured.err.startswith("error: internal error (RuntimeError: boom)")
    assert "Traceback" not in captured.err
    assert cli_module.main(["grad", *EX3, "--json"]) == 3
    assert strict_json(capsys.readouterr().out)["error"]["kind"] == "internal"


# ---------------------------------------------------------------------------
# SymPy and friends stay out of start-up and out of --no-symbolic runs


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_no_symbolic_does_not_import_sympy() -> None:
    proc = python(
        "import sys\n"
        "from gradcalc.cli import main\n"
        "code = main(['grad', '(x+y)*z', 'x=-2', 'y=5', 'z=-4', '--no-symbolic'])\n"
        "assert code == 0, code\n"
        "code = main(['grad', '(x+y)*z', 'x=-2', 'y=5', 'z=-4', '--no-symbolic', '--json'])\n"
        "assert code == 0, code\n"
        "assert 'sympy' not in sys.modules, 'sympy was imported'\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "f = -12" in proc.stdout


def test_start_up_imports_no_heavy_modules() -> None:
    proc = python(
        "import sys\n"
        "import gradcalc.cli\n"
        "heavy = sorted({'sympy', 'numpy'} & set(sys.modules))\n"
        "assert not heavy, heavy\n"
    )
    assert proc.returncode == 0, proc.stderr


def test_brief_and_json_answers_do_not_load_rich_console() -> None:
    # Scripts read --brief and --json; the table's renderer is the heaviest import left.
    proc = python(
        "import sys\n"
        "from gradcalc.cli import main\n"
        "assert main(['grad', '(x+y)*z', 'x=-2', 'y=5', 'z=-4', '--no-symbolic', '--brief']) == 0\n"
        "assert main(['grad', '(x+y)*z', 'x=-2', 'y=5', 'z=-4', '--no-symbolic', '--json']) == 0\n"
        "assert 'rich.console' not in sys.modules, 'rich.console was imported'\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "∂f/∂z = 3" in proc.stdout


def test_symbolic_check_runs_when_asked() -> None:
    doc = cli("grad", *EX3, "--json").json()
    assert doc["checks"]["sympy"]["state"] == "done"
    assert [c["derivative"] for c in doc["checks"]["variables"]] == ["z", "z", "x + y"]


# ---------------------------------------------------------------------------
# Each command is imported only when it is run or listed

LOADED_COMMANDS = "sorted(m for m in sys.modules if m.startswith('gradcalc.commands.'))"


def test_importing_the_cli_imports_no_command() -> None:
    proc = python(f"import sys\nimport gradcalc.cli\nprint({LOADED_COMMANDS})\n")
    assert (proc.returncode, proc.stdout) == (0, "[]\n"), proc.stderr


@pytest.mark.parametrize("name", cli_module.COMMANDS)
def test_a_command_imports_no_other_command_and_not_the_cli(name: str) -> None:
    proc = python(
        f"import sys\nimport gradcalc.commands.{name}\nprint({LOADED_COMMANDS}, 'gradcalc.cli' in sys.modules)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{sorted(['gradcalc.commands.common', f'gradcalc.commands.{name}'])} False\n"


def test_running_a_command_imports_only_that_command() -> None:
    proc = python(
        "import sys\n"
        "from gradcalc.cli import main\n"
        "assert main(['--version']) == 0\n"
        f"print({LOADED_COMMANDS})\n"
        "assert main(['grad', '(x+y)*z', 'x=-2', 'y=5', 'z=-4', '--no-symbolic', '--brief']) == 0\n"
        f"print({LOADED_COMMANDS})\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"gradcalc {gradcalc.__version__}",
        "[]",
        *EX3_BRIEF.splitlines(),
        "['gradcalc.commands.common', 'gradcalc.commands.grad']",
    ]


def test_every_command_module_is_a_command_of_its_name() -> None:
    import importlib
    import pkgutil

    import gradcalc.commands

    shared = {"common", "homework_options", "interrupt"}
    modules = {m.name for m in pkgutil.iter_modules(gradcalc.commands.__path__)} - shared
    assert modules == set(cli_module.COMMANDS)
    for name in cli_module.COMMANDS:
        (info,) = importlib.import_module(f"gradcalc.commands.{name}").app.registered_commands
        assert info.callback is not None and info.callback.__name__ == name


def test_help_lists_every_command_with_its_short_help() -> None:
    run = cli("--help")
    assert run.exit_code == 0
    section = run.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]  # the epilog (--lang) follows a blank line
    assert [line.split()[0] for line in section.splitlines()] == list(cli_module.COMMANDS)
    assert "grad      Forward and backward passes with every gate shown" in run.stdout


def test_an_unknown_command_suggests_the_nearest() -> None:
    run = gradcalc_process("grd", "x", "x=1")
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr == "error: No such command 'grd'. Did you mean 'grad'?\nhint: see gradcalc --help\n"
    run = gradcalc_process("nosuch")
    assert run.stderr == "error: No such command 'nosuch'.\nhint: see gradcalc --help\n"
