"""Korean (and any other catalog): the tables, verdicts and errors in the user's language; JSON never changes."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest
from conftest import ROOT, cli

from gradcalc.i18n import language_from_environment, msg, set_language, tr

EX3 = ("(x+y)*z", "x=-2", "y=5", "z=-4")


def test_the_gate_table_in_korean_has_the_same_numbers() -> None:
    run = cli("grad", *EX3, "--lang", "ko")
    assert run.exit_code == 0
    out = run.stdout
    assert "노드: 순전파 값, 그리고 f에서 거꾸로 흐르는 역전파 기울기" in out
    assert "상류 기울기 ∂f/∂노드" in out and "국소적 미분 ∂노드/∂입력" in out
    assert "덧셈 노드는 상류 값을 그대로 흘려보낸다" in out and "곱셈 노드는 서로 바꾸어 곱한다" in out
    assert "f = -12   ✓ 기울기 3개 모두 일치" in out
    def cells(text: str) -> list[list[str]]:  # every table row's cells but the words: the numbers and names
        rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| ")]
        return [[c.strip() for c in row[:5]] for row in rows if row and row[0].strip() in ("x", "y", "z", "q", "f")]

    assert cells(out) == [[c if c != "input" else "입력" for c in row] for row in cells(cli("grad", *EX3).stdout)]


@pytest.mark.parametrize("args", [
    ("grad", *EX3, "--json"),
    ("grad", "(x+y)*z", "--json"),
    ("grad", "x+", "x=1", "--json"),
    ("grad", "relu(x)", "x=0", "--json", "--expect-grad", "x=1"),
    ("trace", *EX3, "--json"),
    ("hessian", "x^2*y + sin(x*y)", "x=1", "y=2", "--json"),
])
def test_json_is_byte_identical_in_every_language(args: tuple[str, ...]) -> None:
    """The same bytes, but for how long SymPy took, which changes from run to run in any language."""
    english, korean = cli(*args), cli(*args, "--lang", "ko")
    timing = re.compile(r'"seconds": [0-9.e-]+')
    assert timing.sub("", korean.stdout) == timing.sub("", english.stdout)
    assert korean.exit_code == english.exit_code


def test_errors_say_error_and_hint_in_korean_with_the_caret_in_place() -> None:
    run = cli("grad", "x+", "x=1", "--lang", "ko")
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert lines[0].startswith("오류: ")
    assert "1 | x+" in lines and "  |   ^" in lines
    assert lines[-1].startswith("도움말: ")


def test_the_locale_chooses_the_language() -> None:
    assert language_from_environment({"LANG": "ko_KR.UTF-8"}) == "ko"
    assert language_from_environment({"LC_ALL": "C", "LANG": "ko_KR.UTF-8"}) == "en"
    assert language_from_environment({"LANGUAGE": "ko:en", "LANG": "en_US.UTF-8"}) == "ko"
    assert language_from_environment({"LANG": "fr_FR.UTF-8"}) == "en"
    assert language_from_environment({}) == "en"


def test_an_unknown_language_is_bad_input() -> None:
    run = cli("grad", *EX3, "--lang", "fr")
    assert run.exit_code == 2
    assert "Invalid value for '--lang': 'fr': gradcalc speaks English (en) and Korean (ko)" in run.stderr


def test_a_message_keeps_its_english_for_json_and_says_itself_in_korean() -> None:
    m = msg("no value for {names}", names="y, z")
    assert str(m) == "no value for y, z"
    try:
        set_language("ko")
        assert tr(m) == "y, z의 값이 없습니다"
        assert str(m) == "no value for y, z"
    finally:
        set_language("en")
    assert tr(m) == "no value for y, z"


@pytest.mark.skipif(importlib.util.find_spec("babel") is None, reason="Babel is not installed (pip install '.[test]')")
def test_the_catalogs_are_complete_and_compiled() -> None:
    """Every marked text has a Korean translation, and the .mo files are compiled from the .po files."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "catalogs.py"), "--check"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_syntax_errors_in_korean_keep_the_english_in_json() -> None:
    run = cli("grad", "2x", "x=1", "--lang", "ko")
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == "오류: 'x' 앞에 연산자가 없습니다"
    assert run.stderr.splitlines()[-1] == "도움말: 곱셈 기호는 생략할 수 없습니다: 2*x로 쓰세요"
    doc = cli("grad", "2x", "x=1", "--lang", "ko", "--json").json()
    assert doc["error"]["message"] == "missing operator before 'x'"
    assert doc["error"]["hint"] == "there is no implicit multiplication: write 2*x"


def test_homework_verdicts_and_diagnoses_in_korean() -> None:
    run = cli("grad", *EX3, "--expect-grad", "x=4", "--no-symbolic", "--lang", "ko")
    assert run.exit_code == 1
    assert "✗ ∂f/∂x: 답은 4, 참값은 -4 (부호가 뒤집혔습니다)" in run.stdout
    assert "f에서 x까지 내려가는 경로 하나를 따른 연쇄법칙:" in run.stdout
    assert "✗ 답 1개 중 0개 맞음; 틀림: ∂f/∂x" in run.stdout
    doc = cli("grad", *EX3, "--expect-grad", "x=4", "--no-symbolic", "--lang", "ko", "--json").json()
    assert doc["answers"][0]["reason"] == "the sign is flipped"
