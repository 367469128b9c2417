"""`grad --format table|json|markdown|latex`: golden Markdown and LaTeX text."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLES, cli, gradcalc_process

from gradcalc.api import gradient
from gradcalc.render.latex import latex_name, latex_report, number
from gradcalc.render.markdown import cell, markdown_report

EX3 = ("(x+y)*z", "x=-2", "y=5", "z=-4")

EX3_MARKDOWN = """\
`(x+y)*z` at x = -2, y = 5, z = -4

**Gates:** forward values, then gradients flowing back from f

| node | gate | value | upstream ∂f/∂node | local ∂node/∂input | downstream | pattern |
|:--|:--|--:|--:|:--|:--|:--|
| x | input | -2 | -4 |  |  | input |
| y | input | 5 | -4 |  |  | input |
| q | `q = x + y` | 3 | -4 | x: 1<br>y: 1 | → x: -4<br>→ y: -4 | add distributes |
| z | input | -4 | 3 |  |  | input |
| f | `f = q * z` | -12 | 1 | q: -4<br>z: 3 | → q: -4<br>→ z: 3 | mul swaps |

**Gradients of f, checked**

| variable | value | ∂f/∂variable (backprop) | symbolic derivative (SymPy) | SymPy | forward mode | numeric | check |
|:--|--:|--:|:--|--:|--:|--:|:--|
| x | -2 | **-4** | `z` | -4 | -4 | -4 | ✓ agree |
| y | 5 | **-4** | `z` | -4 | -4 | -4 | ✓ agree |
| z | -4 | **3** | `x + y` | 3 | 3 | 3 | ✓ agree |

**f = -12** — ✓ all 3 gradients agree
"""

EX3_LATEX = r"""% gradcalc grad: (x+y)*z at x = -2, y = 5, z = -4
% needs \usepackage{amsmath}
\begin{align*}
  f &= z \left(x + y\right) = -12 \\
  \frac{\partial f}{\partial x} &= z = -4 \\
  \frac{\partial f}{\partial y} &= z = -4 \\
  \frac{\partial f}{\partial z} &= x + y = 3
\end{align*}

\begin{tabular}{lrrrrrl}
\hline
variable & value & $\partial f/\partial\,\cdot$ (backprop) & SymPy & forward mode & numeric & check \\
\hline
$x$ & $-2$ & $-4$ & $-4$ & $-4$ & $-4$ & agree \\
$y$ & $5$ & $-4$ & $-4$ & $-4$ & $-4$ & agree \\
$z$ & $-4$ & $3$ & $3$ & $3$ & $3$ & agree \\
\hline
\end{tabular}
"""


def test_markdown_of_example_3_is_golden() -> None:
    run = cli("grad", *EX3, "--format", "markdown")
    assert (run.exit_code, run.stdout) == (0, EX3_MARKDOWN)


def test_latex_of_example_3_is_golden() -> None:
    run = cli("grad", *EX3, "--format", "latex")
    assert (run.exit_code, run.stdout) == (0, EX3_LATEX)


def test_latex_of_the_neuron_has_sympys_derivatives() -> None:
    run = cli("grad", "--file", str(SAMPLES / "04-neuron.grad"), "--format", "latex")
    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert lines[0].startswith("% gradcalc grad: ") and lines[0].endswith(
        "04-neuron.grad at w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3"
    )
    assert r"  f &= \frac{1}{e^{- w_{0} x_{0} - w_{1} x_{1} - w_{2}} + 1} = 0.731059 \\" in lines
    assert (
        r"  \frac{\partial f}{\partial w_{0}} &= \frac{x_{0} e^{- w_{0} x_{0} - w_{1} x_{1} - w_{2}}}"
        r"{\left(e^{- w_{0} x_{0} - w_{1} x_{1} - w_{2}} + 1\right)^{2}} = -0.196612 \\" in lines
    )
    assert r"$x_{1}$ & $-2$ & $-0.589836$ & $-0.589836$ & $-0.589836$ & $-0.589836$ & agree \\" in lines


def test_latex_without_sympy_keeps_the_numbers() -> None:
    run = cli("grad", *EX3, "--format", "latex", "--no-symbolic")
    assert run.exit_code == 0
    assert r"  f &= -12 \\" in run.stdout
    assert r"  \frac{\partial f}{\partial z} &= 3" in run.stdout
    assert r"$z$ & $-4$ & $3$ & $\text{---}$ & $3$ & $3$ & agree \\" in run.stdout


def test_latex_says_when_sympy_ran_out_of_time() -> None:
    # A fresh process, so the SymPy child must import SymPy (about 0.3 s) within the 0.1 s budget.
    run = gradcalc_process("grad", *EX3, "--format", "latex", "--symbolic-budget", "0.1", "--no-numeric")
    assert run.exit_code == 0
    # The check and the LaTeX share one budget: the check spent it, and no second child is started.
    assert "% no symbolic form: the SymPy check used all of the 0.1 s budget" in run.stdout
    assert r"  \frac{\partial f}{\partial x} &= -4 \\" in run.stdout


def test_latex_of_vectors_and_matrices() -> None:
    result = gradient("sum((W@x)^2)", {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]), "x": np.array([0.2, 0.4])},
                      symbolic=False, numeric=False)  # fmt: skip
    text = latex_report(result, 6, {"derivatives": {}, "reason": "scalar formulas only"})
    assert r"\frac{\partial f}{\partial W} &= \begin{bmatrix} 0.088 & 0.176 \\ 0.104 & 0.208 \end{bmatrix}" in text


@pytest.mark.parametrize(
    ("name", "latex"),
    [
        ("x", "x"),
        ("w0", "w_{0}"),
        ("x12", "x_{12}"),
        ("x_1", "x_{1}"),
        ("tax", r"\mathit{tax}"),
        ("apple_price", r"\mathit{apple}_{\mathit{price}}"),
        ("w_hidden_2", r"w_{\mathit{hidden\_2}}"),
        ("alpha", r"\alpha"),
        ("theta1", r"\theta_{1}"),
        ("c'", "c'"),
    ],
)
def test_latex_names(name: str, latex: str) -> None:
    assert latex_name(name) == latex


def test_latex_numbers() -> None:
    assert [number(v) for v in (-4.0, 0.5, 1.5e-05, 2.5e20, float("inf"), float("nan"), None)] == [
        "-4", "0.5", r"1.5 \times 10^{-5}", r"2.5 \times 10^{20}", r"\infty", r"\mathrm{NaN}", r"\text{---}"
    ]  # fmt: skip


def test_markdown_program_and_escaping() -> None:
    result = gradient("a = 2*x\nb = abs(a) + 1", {"x": 3.0}, symbolic=False, numeric=False)
    text = markdown_report(result)
    assert text.startswith("```\na = 2*x\nb = abs(a) + 1\n```\n\nat x = 3\n")
    assert "| b | `b = q + 1` | 7 | 1 |" in text
    assert cell("a|b\nc") == "a\\|b<br>c"


def test_json_format_is_the_json_flag() -> None:
    a = cli("grad", *EX3, "--format", "json", "--no-symbolic", "--no-numeric")
    b = cli("grad", *EX3, "--json", "--no-symbolic", "--no-numeric")
    assert a.exit_code == b.exit_code == 0
    assert a.json() == b.json()


def test_format_errors_exit_2() -> None:
    run = cli("grad", *EX3, "--format", "pdf")
    assert run.exit_code == 2 and "--format must be one of table, json, markdown, latex, html" in run.stderr
    run = cli("grad", *EX3, "--json", "--format", "markdown")
    assert run.exit_code == 2
    assert run.json()["error"]["message"] == "--json and --format markdown ask for two formats"
    run = cli("grad", "(x+y)*z", "x=1", "--format", "json", "--explain")  # errors as JSON under --format json too
    assert run.exit_code == 2
    assert run.json()["error"]["message"] == (
        "--explain: every variable needs a value, and this run is without a value for y, z")


ANSWERS_LATEX = r"""\begin{tabular}{lrrll}
\hline
answer & yours & true value & judged to & \\
\hline
$\frac{\partial f}{\partial x}$ & $4$ & $-4$ & the units digit & \textbf{wrong}: the sign is flipped \\
$\frac{\partial f}{\partial q}$ & $-4$ & $-4$ & the units digit & right \\
\hline
\end{tabular}
"""


def test_latex_writes_the_answers_as_a_tabular() -> None:
    run = cli("grad", *EX3, "--format", "latex", "--no-symbolic", "--expect-grad", "x=4", "--expect-upstream", "q=-4")
    assert run.exit_code == 1  # one answer is wrong
    assert run.stdout.endswith("\n\n" + ANSWERS_LATEX)


def test_latex_writes_an_element_answer_and_a_descent_step() -> None:
    # Example 9: ∂f/∂x = [-0.112, 0.636]; a step of 0.1 moves x to [0.2112, 0.3364].
    run = cli("grad", "--file", str(SAMPLES / "09-vectorized.grad"), "--format", "latex", "--no-symbolic",
              "--expect-grad", "x[1]=0.636", "--lr", "0.1")
    assert run.exit_code == 0
    assert r"$\frac{\partial f}{\partial x[1]}$ & $0.636$ & $0.636$ & 3 decimals & right \\" in run.stdout
    step = r"  x &\leftarrow x - 0.1\,\frac{\partial f}{\partial x} = \begin{bmatrix} 0.2112 & 0.3364 \end{bmatrix}"
    assert step in run.stdout


def test_latex_text_escapes_specials_and_signs() -> None:
    from gradcalc.render.latex import latex_text

    assert latex_text("50% of x_1 & {y} ∂f/∂q × 2 ← #") == (
        r"50\% of x\_1 \& \{y\} $\partial$f/$\partial$q $\times$ 2 $\leftarrow$ \#")
