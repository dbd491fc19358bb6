"""The dotenv parser: compose-go's fixtures with their expected values, and the rules."""

from __future__ import annotations

import json

import pytest

from compose.loader.dotenv import DotenvError, parse_dotenv
from tests.conftest import CORPUS

FIXTURES = CORPUS / "compose-go" / "dotenv" / "fixtures"
CASES = sorted(FIXTURES.glob("*.expected.json")) if FIXTURES.is_dir() else []
# The expected values of these tests come from godotenv's Load(), which only checks
# the listed keys (or lets the process environment win); compare those keys only.
_SUBSET_TESTS = {"TestLoadPlainEnv", "TestLoadEqualsEnv", "TestUTF8BOM", "TestLoadExportedEnv",
                 "TestLoadDoesNotOverride",
                 # the fixture has a line `456 = ABC` that the expected values leave out
                 "TestReadPlainEnv"}


@pytest.mark.skipif(not CASES, reason="shared corpus (dotenv fixtures) not available")
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_compose_go_dotenv_fixture(case):
    spec = json.loads(case.read_text())
    if spec["test"] == "TestLoadWithFormat":
        pytest.skip("custom env_file format supplied by the Go test, not dotenv syntax")
    preset = spec.get("preset_environment", {})
    got = parse_dotenv((FIXTURES / spec["fixture"]).read_text(encoding="utf-8"), preset.get)
    if spec["test"] == "TestLoadDoesNotOverride":
        got = {**got, **preset}  # Load(): the process environment wins
    if spec["test"] in _SUBSET_TESTS:
        got = {k: got.get(k) for k in spec["expected"]}
    assert got == spec["expected"]


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared corpus not available")
def test_compose_go_invalid_fixture():
    with pytest.raises(DotenvError) as exc:
        parse_dotenv((FIXTURES / "invalid1.env").read_text())
    assert exc.value.line == 7


@pytest.mark.parametrize(("text", "expected"), [
    ("A=1\nB=2", {"A": "1", "B": "2"}),
    ("export A=1", {"A": "1"}),
    ("A: 1\nB:2", {"A": "1", "B": "2"}),
    ("# c\n\nA=1 # inline\nB=x#y", {"A": "1", "B": "x#y"}),
    ("A='a b # c'", {"A": "a b # c"}),
    ('A="a\\nb\\t\\"q\\""', {"A": 'a\nb\t"q"'}),
    ("A='a\\nb'", {"A": "a\\nb"}),
    ('A="line1\nline2"', {"A": "line1\nline2"}),
    ("A=1\nB=${A}-$A-${C:-d}", {"A": "1", "B": "1-1-d"}),
    ("A='${X}'", {"A": "${X}"}),
    ("A=$$", {"A": "$"}),
    ("A=", {"A": ""}),
    ("\ufeffA=1", {"A": "1"}),
    ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
    ("VAR.WITH.DOTS=1\nVAR-DASH=2", {"VAR.WITH.DOTS": "1", "VAR-DASH": "2"}),
])
def test_rules(text, expected):
    assert parse_dotenv(text) == expected


def test_bare_key_takes_the_process_value_or_is_left_out():
    env = {"FROM_OS": "v"}
    assert parse_dotenv("FROM_OS\nMISSING\nX=1", env.get) == {"FROM_OS": "v", "X": "1"}


def test_process_environment_wins_inside_references():
    env = {"A": "shell"}
    assert parse_dotenv("A=file\nB=${A}", env.get) == {"A": "file", "B": "shell"}


@pytest.mark.parametrize(("text", "line", "message"), [
    ("A=1\nB=\"open", 2, "unterminated quoted value"),
    ("A B=1", 1, "key cannot contain a space"),
    ("A=1\nA$=2", 2, "unexpected character"),
    ("A=${B:?need B}", 1, "required variable B is missing a value: need B"),
    ("A=${", 1, "Invalid template"),
])
def test_errors_have_lines(text, line, message):
    with pytest.raises(DotenvError) as exc:
        parse_dotenv(text)
    assert exc.value.line == line
    assert message in str(exc.value)
