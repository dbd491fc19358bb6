"""Variable substitution: compose-go's template cases, and tree interpolation."""

from __future__ import annotations

import json

import pytest

from compose.loader.interpolate import Interpolator
from compose.loader.template import InvalidTemplate, MissingRequired, substitute
from compose.loader.tree import to_plain
from compose.loader.yamlread import read_yaml
from tests.conftest import CORPUS

CASES_FILE = CORPUS / "compose-go" / "interpolation" / "cases.json"
SPEC = json.loads(CASES_FILE.read_text()) if CASES_FILE.is_file() else None


def _cases(kind: str):
    if SPEC is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason="shared corpus not available"))]
    return [pytest.param(c, id=f"{c['test']}:{c.get('template', c.get('braced_body'))}")
            for c in SPEC["cases"] if kind in c]


@pytest.mark.parametrize("case", _cases("template"))
def test_compose_go_template_case(case):
    env = SPEC["environment"]
    if "expected" in case:
        assert substitute(case["template"], env.get) == case["expected"]
    else:
        with pytest.raises((InvalidTemplate, MissingRequired)) as exc:
            substitute(case["template"], env.get)
        assert case["error"] in str(exc.value)


@pytest.mark.parametrize("case", _cases("braced_body"))
def test_compose_go_operator_choice(case):
    """The first operator after the name governs: check by its behaviour."""
    body, op = case["braced_body"], case["operator"]
    rest = body[len("VARNAME") + len(op):]
    unset: dict[str, str] = {}
    empty = {"VARNAME": ""}
    template = "${" + body + "}"
    if op in (":?", "?"):
        with pytest.raises(MissingRequired) as exc:
            substitute(template, unset.get)
        assert str(exc.value).endswith(f": {rest}")
    elif op in (":-", "-"):
        assert substitute(template, unset.get) == rest
        assert substitute(template, empty.get) == (rest if op == ":-" else "")
    else:
        assert substitute(template, {"VARNAME": "set"}.get) == rest
        assert substitute(template, empty.get) == ("" if op == ":+" else rest)


@pytest.mark.parametrize(("template", "env", "expected"), [
    ("$FOO-bar", {"FOO": "x"}, "x-bar"),
    ("${FOO}", {}, ""),
    ("$$FOO", {"FOO": "x"}, "$FOO"),
    ("$$$FOO", {"FOO": "x"}, "$x"),
    ("a $ b", {}, "a $ b"),
    ("^REGEX$", {}, "^REGEX$"),
    ("${A:-${B:-${C:-deep}}}", {}, "deep"),
    ("${A-x}", {"A": ""}, ""),
    ("${A:+alt}", {"A": "v"}, "alt"),
    ("${A+alt}", {"A": ""}, "alt"),
    ("${lower_case}", {"lower_case": "ok"}, "ok"),
    ('${X:-{"a":1}}', {}, '{"a":1}'),
])
def test_substitution_forms(template, env, expected):
    assert substitute(template, env.get) == expected


def test_unset_names_are_reported():
    unset: list[str] = []
    substitute("$A ${B} ${C:-x}", {}.get, unset)
    assert unset == ["A", "B"]


def test_tree_interpolation_values_only_with_positions():
    doc = read_yaml("services:\n  web:\n    image: '${IMG}'\n    environment:\n"
                    "      - 'K=${V}'\n    labels: {'${KEY}': x}\n"
                    "    command: ['${MISSING:?no}', ok]\n", "c.yaml")[0]
    issues: list = []
    Interpolator({"IMG": "nginx", "V": "1"}, issues).tree(doc)
    data = to_plain(doc)[0]["services"]["web"]
    assert data["image"] == "nginx"
    assert data["environment"] == ["K=1"]
    assert data["labels"] == {"${KEY}": "x"}
    (issue,) = issues
    assert (issue.pos.line, issue.pos.col) == (7, 15)
    assert issue.path == "services.web.command[0]"
    assert issue.message == "required variable MISSING is missing a value: no"


@pytest.mark.parametrize(("yaml_value", "env", "expected"), [
    ("privileged: ${P}", {"P": "true"}, ("privileged", True)),
    ("tty: ${P}", {"P": "off"}, ("tty", False)),
    ("scale: ${N}", {"N": "2"}, ("scale", 2)),
    ("cpus: ${N}", {"N": "0.5"}, ("cpus", 0.5)),
    ("image: ${N}", {"N": "2"}, ("image", "2")),
])
def test_typed_fields_cast(yaml_value, env, expected):
    doc = read_yaml(f"services:\n  s:\n    {yaml_value}\n", "c.yaml")[0]
    issues: list = []
    Interpolator(env, issues).tree(doc)
    key, value = expected
    got = to_plain(doc)[0]["services"]["s"][key]
    assert got == value and type(got) is type(value)
    assert not issues


def test_cast_failure_is_located():
    doc = read_yaml("services:\n  s:\n    deploy:\n      replicas: ${N}\n", "c.yaml")[0]
    issues: list = []
    Interpolator({"N": "many"}, issues).tree(doc)
    (issue,) = issues
    assert (issue.pos.line, issue.path) == (4, "services.s.deploy.replicas")
