"""Names as people write them: any script Python allows in identifiers (PEP 3131), NFKC-normalized."""

from __future__ import annotations

import pytest
from conftest import cli


def test_korean_names_compute_the_apple_example() -> None:
    # The blog post's apples with tax, in Korean: 100 won × 2 apples × (1 + 10/100).
    run = cli("grad", "사과가격*사과개수*(1+세율/100)", "사과가격=100", "사과개수=2", "세율=10", "--json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["value"] == pytest.approx(220.0)
    assert doc["gradients"] == pytest.approx({"사과가격": 2.2, "사과개수": 110.0, "세율": 2.0})
    assert doc["checks"]["ok"]  # SymPy takes the names too


def test_greek_names_and_sigma_as_sigmoid() -> None:
    doc = cli("grad", "θ*α + β*λ", "θ=1", "α=2", "β=3", "λ=4", "--json", "--no-symbolic").json()
    assert doc["gradients"] == {"θ": 2.0, "α": 1.0, "β": 4.0, "λ": 3.0}
    doc = cli("grad", "σ(x)", "x=0", "--json", "--no-symbolic").json()
    assert (doc["value"], doc["gradients"]["x"]) == (0.5, 0.25)
    assert doc["nodes"][-1]["expr"] == "sigmoid(x)"  # one op, whatever it is called by


def test_names_are_nfkc_normalized() -> None:
    # The ligature ﬁ (U+FB01) is the two letters fi, in the formula and in the value alike.
    doc = cli("grad", "\ufb01*2", "fi=3", "--json", "--no-symbolic").json()
    assert doc["gradients"] == {"fi": 2.0}


@pytest.mark.parametrize(
    ("formula", "column", "hint"),
    [
        ("x\u200d*2", 2, "U+200D ZERO WIDTH JOINER); delete it"),
        ("x\u202e*2", 2, "U+202E RIGHT-TO-LEFT OVERRIDE); delete it"),
        ("раss*2", 1, "U+0440 CYRILLIC SMALL LETTER ER looks like a Latin letter"),
    ],
)
def test_invisible_and_look_alike_characters_stay_errors(formula: str, column: int, hint: str) -> None:
    run = cli("grad", formula, "x=1", "--json")
    assert run.exit_code == 2
    err = run.json()["error"]
    assert err["column"] == column and hint in err["hint"], err
