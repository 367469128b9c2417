"""Work grows with the input, never faster: each kind of work an input can grow is bounded or linear.

The doubling tests never read a clock (the suite runs on a loaded machine): they
count work deterministically, as Python lines run (``sys.settrace``), as the
characters that str methods scan in C (``Scanned``), or as the peak of
``tracemalloc``, and hold an input twice as large to at most 2.5 times the cost.
"""

from __future__ import annotations

import math
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import cli

from gradcalc import limits
from gradcalc.answerfile import grade_file
from gradcalc.api import gradient
from gradcalc.errors import GradcalcError, closest
from gradcalc.jacobian import jacobian
from gradcalc.passes import Loop
from gradcalc.pipeline import load
from gradcalc.render.answers import file_doc, file_report
from gradcalc.values import parse_assignments, resolve_inputs

# ---------------------------------------------------------------------------
# Measuring work without a clock


def lines_run(fn: Callable[[], Any]) -> int:
    """How many lines of Python ``fn()`` runs: its work, the same on a quiet or a busy machine."""
    count = 0

    def trace(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        count += event == "line"
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return count


class Scanned(str):
    """Text that counts the characters its own search methods read, the work lines_run cannot see."""

    chars = 0

    def count(self, sub: Any, start: Any = None, end: Any = None) -> int:
        self._charge(start, end)
        return super().count(sub, start, end)

    def find(self, sub: Any, start: Any = None, end: Any = None) -> int:
        found = super().find(sub, start, end)
        self._charge(start, end if found < 0 else found + len(sub))
        return found

    def rfind(self, sub: Any, start: Any = None, end: Any = None) -> int:
        found = super().rfind(sub, start, end)
        self._charge(start if found < 0 else found, end)
        return found

    def split(self, sep: Any = None, maxsplit: int = -1) -> list[str]:
        self._charge(None, None)
        return super().split(sep, maxsplit)

    def _charge(self, start: Any, end: Any) -> None:
        start, end, _ = slice(start, end).indices(len(self))
        self.chars += max(0, end - start)


def at_most_doubled(cost: Callable[[int], int], n: int) -> None:
    """An input twice as large costs at most 2.5 times as much (linear, with room for constant terms)."""
    small, large = cost(n), cost(2 * n)
    assert large <= 2.5 * small, f"size {n}: {small:,}; size {2 * n}: {large:,} ({large / small:.2f}×)"


# ---------------------------------------------------------------------------
# 1. "did you mean"


def test_a_long_name_costs_no_more_than_a_short_one() -> None:
    # An 8,000-letter name beside a one-letter-different neighbour took 40 s (a full table).
    at_most_doubled(lambda n: lines_run(lambda: closest("a" * n, ["a" * (n - 1) + "b"])), 100)


def test_many_candidates_are_compared_a_bounded_number_of_times() -> None:
    def cost(n: int) -> int:
        candidates = [f"value{k:04}" for k in range(n)]
        return lines_run(lambda: closest("value_x", candidates))

    n = 2 * limits.SUGGEST_MAX_CANDIDATES
    assert cost(2 * n) <= 1.1 * cost(n)  # past the limit, more candidates cost nothing more


def test_unused_values_beside_many_variables_are_linear() -> None:
    # 1,000 variables and 1,000 unused values took 25 s: every warning looked through every variable.
    def cost(n: int) -> int:
        tape = load("+".join(f"v{k:04}" for k in range(n)))
        given = {**{f"v{k:04}": 1.0 for k in range(n)}, **{f"u{k:04}": 1.0 for k in range(n)}}  # each a typo
        return lines_run(lambda: resolve_inputs(tape, given))

    at_most_doubled(cost, 100)


def test_suggestions_stay_for_normal_names_and_stop_past_the_limits() -> None:
    assert closest("sqrtt", ["sqrt", "exp"]) == "sqrt"
    near = "n" * (limits.SUGGEST_MAX_NAME - 1)
    assert closest("n" * limits.SUGGEST_MAX_NAME, [near]) == near
    assert closest("n" * (limits.SUGGEST_MAX_NAME + 1), ["n" * limits.SUGGEST_MAX_NAME]) is None
    far = [f"other{k}" for k in range(limits.SUGGEST_MAX_CANDIDATES)]
    assert closest("value", [*far, "valeu"]) is None  # past the candidates compared
    assert closest("value", [*far[:-1], "valeu"]) == "valeu"


def test_only_the_first_warnings_carry_a_suggestion() -> None:
    n = limits.SUGGEST_MAX_WARNINGS + 5
    formula = "+".join(f"w{k}x" for k in range(n))
    run = cli("grad", formula, *[f"w{k}x=1" for k in range(n)], *[f"w{k}y=1" for k in range(n)], "--brief",
              "--no-symbolic")
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == n
    assert sum("did you mean" in w for w in warnings) == limits.SUGGEST_MAX_WARNINGS
    assert warnings[0] == "warning: 'w0y' is not used by the formula; its value is ignored (did you mean 'w0x'?)"


# ---------------------------------------------------------------------------
# 2. Rebinding, and answer files


def rebound(n: int) -> str:
    return "c = x\n" + "c = c + 1\n" * n + "c\n"


def test_rebinding_a_name_is_linear() -> None:
    # 4,000 of c = c + 1 took 9 s: the label search c, c', c'', ... began again at each.
    at_most_doubled(lambda n: lines_run(lambda: load(rebound(n))), 200)


def test_a_rebound_name_is_labelled_c_prime_then_c_prime_4() -> None:
    tape = load(rebound(5))
    assert [node.label for node in tape.nodes if node.kind == "gate"] == ["c'", "c''", "c'''", "c'4", "c'5"]
    run = cli("grad", rebound(5), "x=1", "--expect", "c'4=5", "--expect-upstream", "c'4=1", "--brief",
              "--no-symbolic")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "✓ c'4: 5" in run.stdout


def answer_file(n: int) -> str:
    """n problems, each with a wrong name in its answers: one located error per problem."""
    return "".join(
        f'[[problem]]\nname = "p{k}"\nformula = "x*y"\nvalues = {{ x = 2, y = 3 }}\nexpect_grad = {{ z = 3 }}\n'
        for k in range(n)
    )


def test_an_answer_file_of_errors_is_linear_in_its_problems() -> None:
    # 5,000 problems took 17.6 s: each error counted the lines before it, and each rendering split the file.
    def grade(text: str) -> None:
        report = grade_file(text, "answers.toml")
        file_report(report, 6, plain=True)
        file_doc(report)
        for problem in report.errors:
            assert problem.error is not None
            problem.error.render()

    def lines(n: int) -> int:
        return lines_run(lambda: grade(answer_file(n)))

    def chars(n: int) -> int:
        text = Scanned(answer_file(n))
        grade(text)
        return text.chars

    at_most_doubled(lines, 20)
    at_most_doubled(chars, 100)


def check_file(tmp_path: Any, text: str, *args: str) -> Any:
    path = tmp_path / "answers.toml"
    path.write_text(text, encoding="utf-8")
    return cli("check", str(path), *args)


PROBLEM = '[[problem]]\nformula = "x"\nvalues = {{ x = {x} }}\nexpect_value = {answer}\n'


def test_deep_toml_nesting_is_a_located_limit(tmp_path: Any) -> None:
    deep = limits.MAX_TOML_DEPTH + 1  # the level refused
    run = check_file(tmp_path, PROBLEM.format(x="[" * 1000 + "]" * 1000, answer=1), "--json")
    assert run.exit_code == 2
    error = run.json()["error"]
    assert error["kind"] == "limit"
    assert error["message"] == f"the file nests arrays or tables more than {limits.MAX_TOML_DEPTH} deep"
    assert (error["line"], error["column"]) == (3, 16 + deep - 2)  # the { of values is the first level
    # Brackets in strings and comments are not nesting.
    run = check_file(tmp_path, PROBLEM.format(x=1, answer=1).replace('"x"', '"x" # ' + "[" * 500))
    assert run.exit_code == 0, run.stderr


def test_toml_integers_too_large_for_a_float_are_located_errors(tmp_path: Any) -> None:
    for x, answer in (("9" * 400, 1), ("0x" + "F" * 400, 1), (1, "0x" + "F" * 5000)):
        run = check_file(tmp_path, PROBLEM.format(x=x, answer=answer), "--json")
        assert run.exit_code == 2, run.stdout
        error = run.json()["problems"][0]["error"]
        assert error["message"].endswith("is too large for a 64-bit float")
        assert error["line"] in (3, 4) and error["hint"] == "64-bit floats reach about 1.8e308"
    run = check_file(tmp_path, PROBLEM.format(x=1, answer=1) + "rtol = " + "9" * 400 + "\n", "--json")
    assert run.json()["problems"][0]["error"]["message"] == "problem '#1': rtol is too large for a 64-bit float"
    # Past Python's 4,300 digits tomllib itself refuses the integer.
    run = check_file(tmp_path, PROBLEM.format(x=1, answer="9" * 5000), "--json")
    assert run.exit_code == 2
    error = run.json()["error"]
    assert error["message"].startswith("not valid TOML: exceeds the limit (4300 digits)")
    assert (error["line"], error["column"]) == (4, 16)


# ---------------------------------------------------------------------------
# 3. Jacobians, and the per-element checks of gradients


def element_visits(fn: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> int:
    """How many elements of values the loop executor's passes visit while ``fn()`` runs (NumPy's work)."""
    visits = 0

    def counted(name: str) -> None:
        original = getattr(Loop, name)

        def run(self: Loop, *args: Any) -> Any:
            nonlocal visits
            out = original(self, *args)
            vals = out.grads if name == "backward" else out if isinstance(out, list) else args[0]
            visits += sum(getattr(v, "size", 1) for v in vals)
            return out

        monkeypatch.setattr(Loop, name, run)

    for name in ("forward", "backward", "jvp"):
        counted(name)
    try:
        fn()
    finally:
        monkeypatch.undo()
    return visits


def test_the_checks_of_a_vector_gradient_are_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    # A forward-mode pass per element was chosen by counting nodes, not elements: 2,000 inputs
    # beside a 1,000,000-element value made 2,000 passes over it.
    def cost(n: int) -> int:
        v = np.linspace(-1, 1, n)
        return element_visits(lambda: gradient("sum(exp(v) * v)", {"v": v}, symbolic=False), monkeypatch)

    at_most_doubled(cost, 1_000)


def exp_of(n: int) -> tuple[str, str]:
    return "exp(v)", f"v=[{', '.join(['0.001'] * n)}]"


def test_a_jacobian_past_its_limit_is_refused_before_the_passes() -> None:
    # exp(v) over 2,000 elements took 50 s and 1 GB (110 s and 2.1 GB as a table).
    def cost(n: int) -> int:
        formula, v = exp_of(n)
        return peak_bytes(lambda: jacobian(formula, parse_assignments([v])))

    at_most_doubled(cost, 1_000)
    run = cli("jacobian", *exp_of(1_000), "--json")
    assert run.exit_code == 2
    error = run.json()["error"]
    assert error["kind"] == "limit" and error["span"] == [0, 6]
    assert error["message"] == (
        f"the Jacobian of f would have 1,000 × 1,000 = 1,000,000 entries, more than the limit of "
        f"{limits.MAX_JACOBIAN_ENTRIES:,}")


def test_the_largest_jacobian_computes() -> None:
    n = math.isqrt(limits.MAX_JACOBIAN_ENTRIES)
    result = jacobian(*exp_of(n)[:1], parse_assignments(exp_of(n)[1:]))
    assert len(result.reverse) == n and result.ok
    assert result.reverse[7][7] == result.forward[7][7] == math.exp(0.001) and result.reverse[7][8] == 0


def test_a_jacobian_of_too_many_passes_is_refused() -> None:
    chain = "v" + " * 1.00001" * (limits.MAX_JACOBIAN_NODE_VISITS // 40)  # 10 outputs, 10 inputs: 40 passes
    with pytest.raises(GradcalcError, match="40 passes over 50,001 nodes, more than the limit of 1,000,000 node"):
        jacobian(chain, {"v": np.ones(10)})
    big = f"([{', '.join(['[1]'] * 1_000)}] * [{', '.join(['1'] * 1_000)}])"
    with pytest.raises(GradcalcError, match="elements of values, more than the limit of 200,000,000 element visits"):
        jacobian(f"v * sum({big} * v[0])", {"v": np.ones(100)})


# ---------------------------------------------------------------------------
# 4. Broadcasting


def broadcast(n: int) -> str:
    """A column of n ones times a row of n ones: text that grows with n, a value of n² elements."""
    return f"a = [{', '.join(['[1]'] * n)}]\nb = [{', '.join(['1'] * n)}]\nsum(a*b)\n"


def peak_bytes(fn: Callable[[], Any]) -> int:
    """The most memory Python allocated while ``fn()`` ran (NumPy's arrays included)."""
    tracemalloc.start()
    try:
        fn()
    except GradcalcError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_broadcast_past_the_element_limit_is_refused_before_it_is_made() -> None:
    # 30,000 × 30,000 (150 KB of text) asked for 6.7 GiB and ended in a MemoryError.
    def cost(n: int) -> int:
        return peak_bytes(lambda: gradient(broadcast(n), symbolic=False, numeric=False))

    at_most_doubled(cost, 2_000)
    run = cli("grad", broadcast(2_000), "--json", "--no-symbolic")
    assert run.exit_code == 2
    error = run.json()["error"]
    assert error["kind"] == "limit"
    assert error["message"] == (
        f"gate q = a * b would have 4,000,000 elements (2000×2000), more than the limit of {limits.MAX_ELEMENTS:,}")
    assert error["line"] == 3 and error["column"] == 5
    assert error["hint"].startswith("the inputs' shapes are a: 2000×1, b: 2000")


def test_a_value_at_the_element_limit_computes() -> None:
    result = gradient(broadcast(1_000), symbolic=False, numeric=False)
    assert result.value == 1_000_000


@pytest.mark.parametrize(("formula", "shape"), [
    ("sum(a @ b)", "3000×3000"),  # a column times a row
    ("sum([a, a, a, a])", "4×3000×1"),
])
def test_matmul_and_stack_check_their_result_before_making_it(formula: str, shape: str) -> None:
    column, row = f"a=[{', '.join(['[1]'] * 3000)}]", f"b=[[{', '.join(['1'] * 3000)}]]"
    run = cli("grad", formula.replace("a, a, a, a", ", ".join(["a"] * 400)), column, row, "--json", "--no-symbolic")
    assert run.exit_code == 2
    message = run.json()["error"]["message"]
    assert message.endswith(f"more than the limit of {limits.MAX_ELEMENTS:,}")
    assert shape.replace("4×", "400×") in message


def test_the_values_of_a_pass_together_are_bounded() -> None:
    terms = limits.MAX_PASS_ELEMENTS // limits.MAX_ELEMENTS + 1
    program = broadcast(1_000).replace("sum(a*b)", "c = a*b\nsum(" + " + ".join(["c"] * terms) + ")")
    run = cli("grad", program, "--json", "--no-symbolic")
    assert run.exit_code == 2
    error = run.json()["error"]
    assert error["kind"] == "limit" and error["line"] == 4
    assert error["message"].endswith(f"more than the limit of {limits.MAX_PASS_ELEMENTS:,} in all")


# ---------------------------------------------------------------------------
# 5. Outputs that show every node


def test_a_full_output_is_linear_in_the_nodes() -> None:
    def cost(n: int) -> int:
        return lines_run(lambda: cli("grad", "-" * n + "x", "x=1", "--json", "--no-symbolic"))

    at_most_doubled(cost, 2_000)


@pytest.mark.parametrize(("args", "what"), [
    (("grad", "--json"), "--json without --brief"),
    (("grad", "--format", "markdown"), "--format markdown"),
    (("trace", "--json"), "a trace"),
    (("trace",), "a trace"),
    (("graph",), "a picture"),
    (("graph", "--format", "mermaid"), "a picture"),
])
def test_outputs_that_show_every_node_stop_at_the_limit(
    monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], what: str
) -> None:
    monkeypatch.setattr("gradcalc.commands.common.MAX_FULL_NODES", 50)
    assert cli(*args, "-" * 49 + "x", "x=1").exit_code == 0  # 50 nodes: x and 49 gates
    run = cli(*args, "-" * 50 + "x", "x=1")
    assert run.exit_code == 2
    message = f"{what} would show all 51 nodes of the graph, more than the limit of 50"
    assert message in (run.json()["error"]["message"] if "--json" in args else run.stderr)
    assert "--brief gives the value and every gradient at any size" in run.stdout + run.stderr
    # The outputs of a bounded size answer at any size.
    assert cli("grad", "-" * 50 + "x", "x=1", "--brief").exit_code == 0
    assert cli("grad", "-" * 50 + "x", "x=1", "--json", "--brief").exit_code == 0
    assert cli("grad", "-" * 50 + "x", "x=1").exit_code == 0
