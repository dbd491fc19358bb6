"""The YAML layer: Compose's scalar rules, duplicate keys, tags, anchors, merge keys,
alias bombs, cycles, syntax errors with positions; the fast reader against ruamel."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compose.errors import ConfigError
from compose.loader.fastyaml import fast_read
from compose.loader.tree import to_plain
from compose.loader.yamlread import read_yaml
from compose.loader.yamlscalar import resolve_plain
from tests.conftest import CORPUS


def plain(text: str, fast: bool = True):
    return to_plain(read_yaml(text, "f.yaml", fast=fast)[0])[0]


@pytest.mark.parametrize(("text", "value"), [
    ("22:22", "22:22"), ("2222:22", "2222:22"), ("53:53", "53:53"), ("80:80", "80:80"),
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"),
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("FALSE", False),
    ("0440", 0o440), ("0o440", 0o440), ("0x1F", 31), ("0b101", 5), ("-12", -12), ("+3", 3),
    ("1_000", 1000), ("08", 8.0), ("1.5", 1.5), ("1e3", 1000.0), (".inf", math.inf),
    ("-.inf", -math.inf), ("2001-12-14", "2001-12-14"), ("~", None), ("null", None),
    ("", None), ("1.2.3", "1.2.3"), ("0", 0), ("-", "-"), ("10s", "10s"),
])
def test_plain_scalar_resolution(text, value):
    assert resolve_plain(text) == value
    assert type(resolve_plain(text)) is type(value)


@pytest.mark.parametrize("fast", [True, False])
def test_compose_reading_rules_in_documents(fast):
    doc = plain("ports:\n  - 22:22\n  - '80'\nmode: 0440\nflag: yes\nb: true\n"
                "s: !!str 0440\ni: !!int '7'\n", fast)
    assert doc == {"ports": ["22:22", "80"], "mode": 288, "flag": "yes", "b": True,
                   "s": "0440", "i": 7}


def test_nan_is_float():
    assert math.isnan(plain("x: .nan\n")["x"])


def test_duplicate_key_reports_both_lines():
    with pytest.raises(ConfigError) as exc:
        read_yaml("name: test\nservices:\n  foo:\n    command: hello\n"
                  "    command: !reset hello world\n", "c.yaml")
    (issue,) = exc.value.issues
    assert (issue.pos.line, issue.pos.col) == (5, 5)
    assert 'mapping key "command" already defined at line 4' in issue.message


def test_syntax_error_position():
    with pytest.raises(ConfigError) as exc:
        read_yaml("services:\n  web:\n    image: [nginx\n", "c.yaml")
    (issue,) = exc.value.issues
    assert issue.pos.file == "c.yaml" and issue.pos.line >= 3
    assert issue.message.startswith("YAML syntax error")


def test_bad_indentation_is_a_located_error():
    with pytest.raises(ConfigError) as exc:
        read_yaml("services:\n  web:\n    image: x\n   ports: []\n", "c.yaml")
    assert exc.value.issues[0].pos.line == 4


def test_tags_kept_for_merge():
    doc = read_yaml("a: !reset []\nb: !override {x: 1}\nc: !reset\nd: [!reset x, y]\n", "f")[0]
    assert doc.tags == {"a": "!reset", "b": "!override", "c": "!reset"}
    assert doc["d"].tags == {0: "!reset"}


def test_unknown_tag_keeps_the_value():
    assert plain("a: !custom value\n") == {"a": "value"}


def test_anchors_aliases_and_merge_keys():
    doc = plain("x-base: &base\n  image: nginx\n  restart: always\nservices:\n"
                "  a:\n    <<: *base\n    restart: 'no'\n  b:\n    <<: [*base, {user: u}]\n")
    assert doc["services"]["a"] == {"restart": "no", "image": "nginx"}
    assert doc["services"]["b"] == {"image": "nginx", "restart": "always", "user": "u"}


def test_merge_key_positions_point_at_the_anchor():
    doc = read_yaml("x: &a\n  k: v\ny:\n  <<: *a\n", "f")[0]
    _, pm = to_plain(doc)
    assert pm.get(("y", "k")).line == 2


def test_merge_key_requires_a_map():
    with pytest.raises(ConfigError, match="map merge requires map"):
        read_yaml("x-scalar: &s not-a-map\nservices:\n  s1:\n    <<: *s\n", "f")


def test_self_referencing_anchor_is_a_cycle():
    with pytest.raises(ConfigError, match="cycle detected"):
        read_yaml("x-h: &h\n  egress:\n    <<: *h\n", "f")


def test_non_scalar_key():
    with pytest.raises(ConfigError, match="mapping keys must be strings"):
        read_yaml("? [a]\n: b\n", "f")


def test_aliases_are_copies():
    doc = read_yaml("a: &x {k: [1]}\nb: *x\n", "f")[0]
    assert doc["a"] == doc["b"] and doc["a"] is not doc["b"]


def test_multiple_documents():
    docs = read_yaml("a: 1\n---\na: 2\n", "f")
    assert [to_plain(d)[0] for d in docs] == [{"a": 1}, {"a": 2}]


def test_bom_is_skipped():
    assert plain("\ufeffa: 1\n") == {"a": 1}


def test_empty_value_located_at_its_key():
    for fast in (True, False):
        _, pm = to_plain(read_yaml("a:\nb: 1\n", "f", fast=fast)[0])
        assert (pm.get(("a",)).line, pm.get(("a",)).col) == (1, 1)


RESET_DIR = CORPUS / "compose-go" / "inline" / "reset"


@pytest.mark.skipif(not RESET_DIR.is_dir(), reason="shared corpus not available")
@pytest.mark.parametrize(("case", "message"), [
    ("TestAliasBombPrevented/02-config.yaml", "excessive aliasing"),
    ("TestAliasNodePreservation/01.yaml", "excessive aliasing"),
    ("TestResetCycle/06-config.yaml", "cycle detected"),
    ("TestMergeKeyAliasToScalarRejected/01.yaml", "map merge requires map"),
])
def test_corpus_yaml_errors(case, message):
    with pytest.raises(ConfigError, match=message) as exc:
        read_yaml((RESET_DIR / case).read_text(), case)
    assert all(i.pos is not None and i.pos.line > 0 for i in exc.value.issues)


@pytest.mark.skipif(not RESET_DIR.is_dir(), reason="shared corpus not available")
@pytest.mark.parametrize("case", ["TestAliasBombPrevented/01-config.yaml",
                                  "TestResetCycle/01-config.yaml",
                                  "TestResetCycle/03-config.yaml",
                                  "TestResetCycle/05-config.yaml",
                                  "TestMergeKeyAliasTargets/02-config.yaml",
                                  "TestMergeKeyAliasTargets/04-config.yaml"])
def test_corpus_yaml_accepted(case):
    doc = to_plain(read_yaml((RESET_DIR / case).read_text(), case)[0])[0]
    assert doc["name"] == "test"


# --- the fast reader must agree with ruamel ------------------------------------------

def _same(text: str) -> None:
    fast = fast_read(text, "f")
    if fast is None:
        return
    try:
        slow = read_yaml(text, "f", fast=False)
    except ConfigError as err:  # pragma: no cover - would be a fast-reader bug
        raise AssertionError(f"fast reader accepted invalid YAML: {err}\n{text}") from None
    assert len(slow) == 1
    pa, ma = to_plain(fast[0])
    pb, mb = to_plain(slow[0])
    assert json.dumps(pa, default=str) == json.dumps(pb, default=str), text
    assert ma._values == mb._values, text
    assert ma._keys == mb._keys, text


_scalar_text = st.one_of(
    st.sampled_from(["80:80", "yes", "0440", "1.5", "x y", "a#b", "a #c", "'q'", '"d"',
                     "'it''s'", '"t\\tab"', "-1", "~", "", "${V:-x}", "a: b", "k:",
                     "[a, b]", "{a: b}", "[1, {x: y}]", "{}", "[]", "true", "- x", "#c",
                     "http://x:80/", "a  b", "é", "&a x", "*a", "!reset []", "|", "-"]),
    st.text(alphabet="ab:- #'\"[]{},\\0123", max_size=8),
)


@st.composite
def _yaml_docs(draw, depth=0):
    lines: list[str] = []
    n = draw(st.integers(1, 4))
    indent = " " * draw(st.sampled_from([0, 2])) if depth else ""
    seq = draw(st.booleans()) and depth > 0
    for i in range(n):
        key = draw(st.sampled_from(["a", "b", "c d", "'q'", "e-f", "x.y", "a"])) + f"{i}"
        if depth < 2 and draw(st.booleans()):
            sub = draw(_yaml_docs(depth=depth + 1))
            head = f"{indent}- " if seq else f"{indent}{key}:"
            if seq:
                lines.append(head + sub[0].lstrip())
                lines += ["  " + indent + s for s in sub[1:]]
            else:
                lines.append(head)
                lines += ["  " + indent + s for s in sub]
        else:
            val = draw(_scalar_text)
            lines.append(f"{indent}- {val}" if seq else f"{indent}{key}: {val}")
        if draw(st.integers(0, 5)) == 0:
            lines.append(indent + "# comment")
    return lines


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_yaml_docs())
def test_fast_reader_matches_ruamel(lines):
    _same("\n".join(lines) + "\n")


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not available")
def test_fast_reader_matches_ruamel_on_the_corpus():
    used = 0
    for path in sorted(CORPUS.rglob("*.y*ml")):
        text = path.read_text(encoding="utf-8")
        if fast_read(text, "f") is not None:
            used += 1
        _same(text)
        _same(text.replace("\n", "\r\n"))
        _same("---\n" + text)
    assert used > 300  # the fast path really is the common path


@pytest.mark.parametrize(("text", "line", "hint"), [
    ("a:\n\tb: 1\n", 2, "tabs"),
    ("a: b: c\n", 1, "quote a value"),
    ("a:\n  - b\n  c: 1\n", 3, "indentation"),
    ("a: 'x\n", 2, "not closed"),
])
def test_syntax_errors_have_hints(text, line, hint):
    with pytest.raises(ConfigError) as exc:
        read_yaml(text, "f")
    (issue,) = exc.value.issues
    assert issue.pos.line == line
    assert hint in issue.hint


def test_leading_document_marker_stays_on_the_fast_path():
    assert fast_read("---\nservices: {}\n", "f") is not None
    assert fast_read("a: 1\n---\na: 2\n", "f") is None  # several documents: ruamel


@pytest.mark.parametrize(("text", "message", "line"), [
    ("123:\n  foo: {image: x}\n", "non-string key at top level: 123", 1),
    ("services:\n  foo: {image: x}\n  123: {image: x}\n", "non-string key in services: 123", 3),
    ("services:\n  e:\n    environment:\n      1: FOO\n",
     "non-string key in services.e.environment: 1", 4),
    ("a: {true: x}\n", "non-string key in a: true", 1),
])
def test_non_string_keys(text, message, line):
    with pytest.raises(ConfigError) as exc:
        read_yaml(text, "f")
    (issue,) = exc.value.issues
    assert issue.message == message and issue.pos.line == line
    assert "quote the key" in issue.hint


def test_quoted_numeric_keys_are_fine():
    assert plain("environment:\n  '1': FOO\n  \"2\": BAR\n") == {
        "environment": {"1": "FOO", "2": "BAR"}}
