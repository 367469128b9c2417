"""The long fuzz run of gradcalc: hostile and random input for minutes, not seconds.

    python tools/fuzz.py --minutes 5               # atheris if installed, else Hypothesis
    python tools/fuzz.py --minutes 5 --engine hypothesis
    python tools/fuzz.py --limits                  # the big-input cases, timed (10 MB, the size limit)

Every input goes through the command line in-process (``gradcalc.cli.main``)
and must end with exit 0, 1 or 2 (3 is a bug), with no traceback, strict JSON
under ``--json``; every formula that parses must print (``to_text``) to text
that parses back to the same tree (``to_sexpr``).  Inputs are formulas and
programs generated from the grammar, valid formulas with characters inserted,
deleted and replaced, arbitrary text, and arbitrary values.  Every
``--sympy-every``-th input runs with the SymPy check on, under a short budget.
An input that takes more than ``--timeout`` seconds counts as a hang.

With atheris (``pip install atheris``; Linux, CPython 3.11+), coverage of
gradcalc guides Hypothesis's choices through ``fuzz_one_input``; without it,
Hypothesis generates examples in batches until the time is up.  Either way the
first failure stops the run and is printed, shrunk by Hypothesis when it can be.
The bounded version of the same properties runs in the test suite
(tests/test_fuzz.py), which imports the strategies from here.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcalc.ops import CALLS

# ---------------------------------------------------------------------------
# What the generated formulas are made of

VARIABLES = ("x", "y", "z", "w0", "x_1")
VALUES = ("x=0.5", "y=-2", "z=3", "w0=1.5", "x_1=-0.25")
CONSTANT_NAMES = ("pi", "e", "π")
# Every call name of the op table, by how many arguments it takes: a new row is fuzzed with no edit here.
UNARY_FUNCTIONS = tuple(name for name, ops in CALLS.items() if any(op.arity == 1 and not op.tensor for op in ops))
BINARY_FUNCTIONS = tuple(name for name, ops in CALLS.items() if any(op.arity == 2 and not op.tensor for op in ops))
VARIADIC_FUNCTIONS = tuple(name for name, ops in CALLS.items() if any(op.arity == -1 for op in ops))
INFIX = ("+", "-", "*", "/", "^", "**", "−", "×", "·", "÷")
SPACES = ("", "", " ", "  ", "\t", "\u00a0")
SUPERSCRIPTS = ("²", "³", "⁻¹", "¹⁰")
NUMBER_TEXTS = ("0", "1", "2", "0.5", ".5", "1.", "007", "1e3", "2E-2", "1e+2", "1e308", "4.9e-324", "1e-400",
                "1e400", "9" * 400, "3.141592653589793238462643")  # fmt: skip

# Valid formulas to mutate: the worked examples and the shapes of the grammar.
SEEDS = (
    "(a*n)*(1+t/100)",
    "(x+y)*z",
    "1/(1+exp(-(w0*x0+w1*x1+w2)))",
    "sigmoid(w0*x0+w1*x1+w2)",
    "w*x+b",
    "max(x, y)*z",
    "0.5*(0.2 - sigmoid(w5*sigmoid(w1*x1+w2*x2) + w6*sigmoid(w3*x1+w4*x2)))^2",
    "x² + 3·x − 1",
    "-x^2 + 2^-x ** 2",
    "a = x*y\nb = a + z # comment\nlog(abs(b)) - sqrt(x^2)",
    "h = tanh(x); o = relu(h - y); o*o",
    "min(x, y, z) / pow(x, 2)",
    "sum([x, y, z])",
    "[x, 2*y][1]",
    "x = -4\ny = 2\n(x+y)^3",
)
# What mutations insert or put in place of a character: operators, brackets,
# odd characters and pieces of hostile text.
MUTATION_PIECES = (
    *"()[],;=+-*/^@.#' \t\n\r0123456789xyzeE_\"`$\\{}:!%<>&|~",
    "\x00", "\x1b", "−", "×", "·", "÷", "²", "⁻", "π", "α", "\ufeff", "\u00a0", "\u200b", "\u202e", "😀", "漢",
    "\r\n", "**", "exp(", "max(", "sum(", "1e400", "1e308", "9^9^9", "0^-1", "log(-1)", "__import__('os')",
    "lambda", "import", " for ", ".__class__", "((((", "))))", "[[", "]]", "x=", "-" * 50,
)  # fmt: skip


def numbers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(0, 10**12).map(str),
        st.floats(0, 1e12, allow_nan=False, allow_infinity=False).map(repr),
        st.sampled_from(NUMBER_TEXTS),
    )


def formulas(max_leaves: int = 25) -> st.SearchStrategy[str]:
    """Formulas from the grammar: numbers, names, infix and prefix operators, calls, groups, lists."""
    atoms = st.one_of(numbers(), st.sampled_from(VARIABLES + CONSTANT_NAMES))
    space = st.sampled_from(SPACES)

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda a, s, op, t, b: f"{a}{s}{op}{t}{b}", inner, space, st.sampled_from(INFIX), space, inner),
            st.builds(lambda op, a: f"{op}{a}", st.sampled_from(("-", "+", "−")), inner),
            inner.map(lambda a: f"({a})"),
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(UNARY_FUNCTIONS), inner),
            st.builds(lambda f, xs: f"{f}({', '.join(xs)})", st.sampled_from(VARIADIC_FUNCTIONS),
                      st.lists(inner, min_size=2, max_size=3)),
            st.builds(lambda f, a, b: f"{f}({a}, {b})", st.sampled_from(BINARY_FUNCTIONS), inner, inner),
            st.builds(lambda a, sup: f"({a}){sup}", inner, st.sampled_from(SUPERSCRIPTS)),
            st.builds(lambda xs, i: f"[{', '.join(xs)}][{i}]", st.lists(inner, min_size=1, max_size=3),
                      st.integers(0, 3)),
            st.builds(lambda f, xs: f"{f}([{', '.join(xs)}])", st.sampled_from(("sum", "mean", "norm")),
                      st.lists(inner, min_size=1, max_size=3)),
        )  # fmt: skip

    return st.recursive(atoms, extend, max_leaves=max_leaves)


def programs() -> st.SearchStrategy[str]:
    """Programs: assignments, then an expression, separated by newlines, CRLF, ';' or comments."""
    statement = st.tuples(st.sampled_from(("a", "b", "h1", "loss", "x")), formulas(8))
    return st.builds(
        lambda stmts, last, sep: sep.join([f"{name} = {expr}" for name, expr in stmts] + [last]),
        st.lists(statement, max_size=4),
        formulas(8),
        st.sampled_from(("\n", "; ", "\r\n", "\n# a comment\n", "\n\n")),
    )


def value_texts() -> st.SearchStrategy[str]:
    """What may follow ``x=``: numbers, arrays, and anything at all."""
    arrays = st.recursive(numbers(), lambda inner: st.lists(inner, min_size=1, max_size=3).map(
        lambda xs: "[" + ", ".join(xs) + "]"), max_leaves=6)  # fmt: skip
    odd = st.sampled_from(("nan", "inf", "-inf", "1e400", "−2", " 2 ", "", "[", "]", "[[1,2],[3]]", "0x10", "1_000",
                           "2j", "True", "None", "__import__('os')", "[" * 200, "1," * 50))  # fmt: skip
    return st.one_of(numbers(), arrays, odd, st.text(max_size=30))


def mutate(text: str, edits: list[tuple[str, float, str]]) -> str:
    """Apply edits: (insert | delete | replace, where as a fraction of the length, the piece)."""
    for kind, where, piece in edits:
        pos = min(len(text), max(0, int(where * len(text))))
        if kind == "insert":
            text = text[:pos] + piece + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + max(1, len(piece) % 4) :]
        else:
            text = text[:pos] + piece + text[pos + 1 :]
    return text


def mutations() -> st.SearchStrategy[str]:
    kinds = st.sampled_from(("insert", "delete", "replace"))
    edit = st.tuples(kinds, st.floats(0, 1), st.sampled_from(MUTATION_PIECES))
    return st.builds(mutate, st.sampled_from(SEEDS), st.lists(edit, min_size=1, max_size=4))


# ---------------------------------------------------------------------------
# The properties


def check_roundtrip(text: str) -> str | None:
    """If text parses: print each statement's tree, parse it again, demand the same tree.

    Returns the trees as s-expressions (None when text does not parse).
    """
    from gradcalc.errors import GradcalcError
    from gradcalc.parser import parse_expression, parse_program, to_sexpr
    from gradcalc.printer import to_text

    try:
        program = parse_program(text)
    except GradcalcError:
        return None
    trees = []
    for stmt in program.statements:
        tree = to_sexpr(stmt.expr)
        printed = to_text(stmt.expr)
        try:
            again = parse_expression(printed)
        except GradcalcError as err:
            raise AssertionError(f"{text!r} prints as {printed!r}, which does not parse: {err.message}") from None
        assert to_sexpr(again) == tree, f"{text!r} prints as {printed!r}: {tree} became {to_sexpr(again)}"
        assert to_text(again) == printed, f"printing {printed!r} again gives {to_text(again)!r}"
        trees.append(tree)
    return " ".join(trees)


@contextmanager
def fast_cli() -> Iterator[None]:
    """Build the click command of ``gradcalc.cli.app`` once, not on every in-process call.

    Typer rebuilds it from the annotations each time ``app()`` is called (about
    25 ms); a fuzzer calling ``main()`` thousands of times spends most of its time
    there.  The command is the same object either way, so nothing tested changes.
    """
    import typer.main

    build = typer.main.get_command
    built: dict[int, Any] = {}

    def once(app: Any) -> Any:
        if id(app) not in built:
            built[id(app)] = build(app)
        return built[id(app)]

    typer.main.get_command = once  # type: ignore[assignment]
    try:
        yield
    finally:
        typer.main.get_command = build


def run_cli(args: list[str], stdin: bytes = b"") -> tuple[int, str, str]:
    """``gradcalc ARGS`` in-process: the exit code, stdout and stderr."""
    from gradcalc.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(args)
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


# Python's own header, not the word: a value "Traceback" is echoed in its error message.
TRACEBACK = "Traceback (most recent call last)"


def strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def check_cli(formula: str, values: tuple[str, ...] | list[str] = VALUES, *, as_json: bool = True,
              sympy: bool = False, extra: tuple[str, ...] = ()) -> Any:  # fmt: skip
    """Run ``gradcalc grad`` and demand a clean, documented answer; return the JSON document."""
    options = ["--json"] if as_json else []
    options += ["--symbolic-budget", "2"] if sympy else ["--no-symbolic"]
    # Options first and "--" before the formula, which may start with '-' (-h would be --help).
    code, out, err = run_cli(["grad", *options, *extra, "--", formula, *values])
    where = f"gradcalc grad {' '.join(options)} -- {formula!r} {' '.join(values)}"
    assert code in (0, 1, 2), f"{where}: exit {code}\n{err[-800:]}{out[-800:]}"
    assert TRACEBACK not in err and TRACEBACK not in out, f"{where}: a traceback\n{err[-2000:]}"
    if not as_json:
        assert code != 2 or err.startswith("error: "), f"{where}: an error not in the documented form\n{err[:500]}"
        return None
    try:
        doc = strict_json(out)
    except ValueError as exc:
        raise AssertionError(f"{where}: stdout is not strict JSON ({exc})\n{out[:800]}") from None
    if code == 2:
        assert set(doc) == {"error"} and doc["error"]["message"], f"{where}: a bad error document {doc}"
    else:
        assert doc["status"] == ("ok" if code == 0 else "disagree"), f"{where}: status {doc['status']}, exit {code}"
    return doc


# ---------------------------------------------------------------------------
# The long run


class Hang(BaseException):
    """One input ran past --timeout (a BaseException, so the CLI's own handler lets it through)."""


@contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    def ring(signum: int, frame: Any) -> None:
        raise Hang(f"an input ran for more than {seconds:g} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Fuzzer:
    """One property over every kind of input, with counts of what was tried and how it ended."""

    def __init__(self, sympy_every: int, timeout: float) -> None:
        self.sympy_every = sympy_every
        self.timeout = timeout
        self.stop_at: float | None = None  # atheris: end the process here, with the report
        self.tried = 0
        self.kinds: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.started = time.monotonic()
        self.last_report = self.started

    def one(self, kind: str, text: str) -> None:
        self.tried += 1
        self.kinds[kind] += 1
        with watchdog(self.timeout):
            if kind == "value":
                doc = check_cli("x*y", [f"x={text}", "y=2"])
                check_cli("x*y", [f"{text}=1", "x=1", "y=2"])
            else:
                check_roundtrip(text)
                sympy = self.sympy_every > 0 and self.tried % self.sympy_every == 0
                doc = check_cli(text, sympy=sympy)
                if self.tried % 4 == 0:
                    check_cli(text, as_json=False, extra=("--brief",) if self.tried % 8 else ())
        self.outcomes["error " + doc["error"]["kind"] if "error" in doc else doc["status"]] += 1
        now = time.monotonic()
        if self.stop_at is not None and now > self.stop_at:
            self.report(final=True)
            print("[fuzz] nothing found", flush=True)
            os._exit(0)  # libFuzzer would exit without our report
        if now - self.last_report > 30:
            self.last_report = now
            self.report(final=False)

    def report(self, final: bool) -> None:
        minutes = (time.monotonic() - self.started) / 60
        head = "done" if final else "so far"
        print(f"[fuzz] {head}: {self.tried:,} inputs in {minutes:.1f} min; by kind {dict(self.kinds)}", flush=True)
        if final:
            print(f"[fuzz] outcomes: {dict(self.outcomes.most_common())}", flush=True)


def inputs() -> st.SearchStrategy[tuple[str, str]]:
    return st.one_of(
        formulas().map(lambda t: ("formula", t)),
        programs().map(lambda t: ("program", t)),
        mutations().map(lambda t: ("mutation", t)),
        st.text(max_size=60).map(lambda t: ("text", t)),
        value_texts().map(lambda t: ("value", t)),
    )


def make_test(fuzzer: Fuzzer, max_examples: int) -> Callable[..., None]:
    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), print_blob=True)  # fmt: skip
    @given(inputs())
    def fuzz_one(item: tuple[str, str]) -> None:
        fuzzer.one(*item)

    return fuzz_one


def run_hypothesis(fuzzer: Fuzzer, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        make_test(fuzzer, max_examples=500)()


def run_atheris(fuzzer: Fuzzer, seconds: float, artifacts: str | None, verbose: bool) -> None:
    atheris: Any = importlib.import_module("atheris")
    with atheris.instrument_imports(include=["gradcalc"]):
        importlib.import_module("gradcalc.cli")
        importlib.import_module("gradcalc.commands.grad")  # commands load when run: this is the one fuzzed
        importlib.import_module("gradcalc.api")
        importlib.import_module("gradcalc.render.jsondoc")
        importlib.import_module("gradcalc.render.table")
    test = make_test(fuzzer, max_examples=10**9)
    fuzzer.stop_at = time.monotonic() + seconds
    # Long buffers from the start (Hypothesis needs bytes to build big examples); no line per new input.
    args = [sys.argv[0], f"-max_total_time={int(seconds) + 60}", f"-timeout={int(fuzzer.timeout) + 5}",
            "-rss_limit_mb=4096", "-max_len=4096", "-len_control=0"]  # fmt: skip
    if not verbose:
        args.append("-verbosity=0")
    if artifacts:
        args.append(f"-artifact_prefix={artifacts.rstrip('/')}/")
    atheris.Setup(args, test.hypothesis.fuzz_one_input)  # type: ignore[attr-defined]
    try:
        atheris.Fuzz()
    finally:
        fuzzer.report(final=True)  # after a failure: how far it got


# ---------------------------------------------------------------------------
# The big-input cases, timed


def limits() -> None:
    """Time the cases too big for the test suite: near the size limit, and a 10 MB formula."""
    from gradcalc.commands.common import MAX_SOURCE_CHARS
    from gradcalc.parser import MAX_TOKENS

    half = MAX_SOURCE_CHARS // 2
    nested = (MAX_SOURCE_CHARS - 1) // 5  # sin( and ) around x: as many as the size limit allows
    cases = [
        ("10 MB sum (past the limit)", "x+" * 5_000_000 + "x"),
        (f"{MAX_SOURCE_CHARS:,}-char sum", "x+" * (half - 1) + "x1"),
        (f"{MAX_SOURCE_CHARS:,} unary minuses", "-" * (MAX_SOURCE_CHARS - 1) + "x"),
        (f"{MAX_SOURCE_CHARS:,}-char nested parentheses", "(" * (half - 1) + "x1" + ")" * (half - 1)),
        (f"{MAX_SOURCE_CHARS:,}-char power tower", "x^" * (half - 1) + "x1"),
        (f"{nested:,} nested sin", "sin(" * nested + "x" + ")" * nested),
        (f"{MAX_TOKENS - 2:,} unary minuses (the most tokens)", "-" * (MAX_TOKENS - 2) + "x"),
    ]
    for label, formula in cases:
        start = time.monotonic()
        code, out, err = run_cli(["grad", "--json", "--brief", "--no-symbolic", "--", formula, "x=1", "x1=1"])
        seconds = time.monotonic() - start
        doc = strict_json(out)
        what = doc["error"]["message"] if "error" in doc else f"value {doc['value']}"
        peak = _peak_mb()
        print(f"{label:48} {len(formula):>11,} chars  exit {code}  {seconds:5.1f} s  peak {peak:5,} MB  {what[:70]}",
              flush=True)  # fmt: skip
        assert code in (0, 1, 2) and TRACEBACK not in err


# The attack families kept from the safety review: each input of a family at size n and 2n.
GROWTH_FAMILIES: dict[str, Callable[[int], list[str]]] = {
    "did you mean, long names": lambda n: ["grad", "a" * n + " + 1", "a" * (n - 1) + "b=1"],
    "unused values beside variables": lambda n: [
        "grad", "+".join(f"v{k}" for k in range(n)), *[f"v{k}=1" for k in range(n)], *[f"u{k}=1" for k in range(n)],
        "--brief", "--no-symbolic"],
    "rebinding c = c + 1": lambda n: ["grad", "c = 1\n" + "c = c + 1\n" * n + "c", "--brief", "--no-symbolic"],
    "jacobian of exp(v)": lambda n: ["jacobian", "exp(v)", "v=[" + ",".join(["1"] * max(1, n // 40)) + "]"],
    "broadcast a*b": lambda n: ["grad", "sum(a*b)", "a=[" + ",".join(["[1]"] * n) + "]",
                                "b=[" + ",".join(["1"] * n) + "]", "--no-symbolic"],
    "full --json of unary minuses": lambda n: ["grad", "-" * (n * 10) + "x", "x=1", "--json", "--no-symbolic"],
}
HOSTILE = ("\x1b[2J\x1b]0;PWNED\x07", "\u202e", "`<img src=x onerror=alert(1)>`", '"]; evil [', "\\G\\N")
FORMAT_ARGS = (["--format", "markdown"], ["--format", "latex", "--no-symbolic"], ["--json"], [])


def attack() -> None:
    """The safety review's families, as a run you can repeat: growth, orphans, control characters."""
    import subprocess

    exe = [sys.executable, "-m", "gradcalc"]
    print("[attack] growth: doubling an input costs at most about 2.5x (time and peak memory)", flush=True)
    for label, make in GROWTH_FAMILIES.items():
        costs = []
        for n in (2_000, 4_000):
            start = time.monotonic()
            proc = subprocess.run([*exe, *make(n)], capture_output=True, text=True, timeout=120)
            costs.append((time.monotonic() - start, proc.returncode))
            assert proc.returncode in (0, 1, 2) and TRACEBACK not in proc.stderr, (label, proc.stderr[-400:])
        ratio = costs[1][0] / max(costs[0][0], 1e-3)
        print(f"  {label:34} {costs[0][0]:6.2f} s -> {costs[1][0]:6.2f} s  x{ratio:4.2f}  exit {costs[1][1]}",
              flush=True)
    print("[attack] orphans: kill gradcalc mid-check; nothing of its group survives a second", flush=True)
    # Each level nests the last twice: SymPy's derivative does not finish in minutes (tests/test_budget.py's).
    swell = "\n".join(["x = 0.3", "y = 0.2", "z = 0.1", "a0 = x",
                        *[f"a{k} = exp(sin(a{k - 1})*y)^(a{k - 1}+z) + a{k - 1}*x" for k in range(1, 17)], "a16"])
    for sig in ("SIGTERM", "SIGINT", "SIGHUP", "SIGKILL"):
        proc = subprocess.Popen([*exe, "grad", "-", "--json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        assert proc.stdin is not None
        proc.stdin.write(swell.encode())
        proc.stdin.close()
        proc.stdin = None  # written and closed: communicate() must not flush it
        time.sleep(1.5)  # the check is under way
        os.kill(proc.pid, getattr(signal, sig))
        proc.communicate(timeout=10)
        time.sleep(1.0)
        left = [p for p in os.listdir("/proc") if p.isdigit() and _group(int(p)) == proc.pid]
        print(f"  {sig:8} exit {proc.returncode:4}  left running: {len(left)}", flush=True)
        assert not left, (sig, left)
    print("[attack] control characters and markup through every format", flush=True)
    for text in HOSTILE:
        for extra in FORMAT_ARGS:
            proc = subprocess.run([*exe, "grad", f"x*2 # {text}", "x=1", *extra], capture_output=True, text=True,
                                  timeout=60)
            out = proc.stdout + proc.stderr
            raw = [c for c in out if (ord(c) < 32 and c not in "\n\t") or c in "\u202e"]
            assert proc.returncode in (0, 2) and not raw, (text, extra, out[:300])  # markup: tests/test_escaping.py
    print("[attack] nothing found", flush=True)


def _group(pid: int) -> int | None:
    """The process group of a live process (a zombie, dead and waiting to be reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().rpartition(")")[2].split()[0] == "Z":
                return None
        return os.getpgid(pid)
    except OSError:
        return None


def _peak_mb() -> int:
    """The process's peak resident memory so far, in MB (it only grows: read it case by case)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform != "darwin" else peak // 1024**2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to fuzz (default 5)")
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    parser.add_argument("--sympy-every", type=int, default=10, help="run every N-th input with SymPy on (0: never)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds after which one input is a hang")
    parser.add_argument("--artifacts", help="where atheris writes a crashing input (default: the current folder)")
    parser.add_argument("--verbose", action="store_true", help="atheris: print libFuzzer's line per new input")
    parser.add_argument("--limits", action="store_true", help="time the big-input cases instead of fuzzing")
    parser.add_argument("--attack", action="store_true",
                        help="the safety families instead of fuzzing: growth of doubled inputs, orphans, control bytes")
    args = parser.parse_args(argv)
    if args.limits:
        limits()
        return 0
    if args.attack:
        attack()
        return 0
    engine = args.engine
    if engine == "auto":
        try:
            importlib.import_module("atheris")
            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    seconds = args.minutes * 60
    fuzzer = Fuzzer(args.sympy_every, args.timeout)
    if args.sympy_every:
        importlib.import_module("sympy")  # once here: each check's forked child then starts with it
    print(f"[fuzz] engine {engine}, {args.minutes:g} min, SymPy on every {args.sympy_every} inputs", flush=True)
    with fast_cli():
        if engine == "atheris":
            run_atheris(fuzzer, seconds, args.artifacts, args.verbose)
        else:
            try:
                run_hypothesis(fuzzer, seconds)
            finally:
                fuzzer.report(final=True)
    print("[fuzz] nothing found", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
