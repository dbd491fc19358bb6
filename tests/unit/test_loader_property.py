"""Property tests: random and mutated YAML through load_config never raise anything
but a ConfigError, and every issue of that error is located in a file."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compose.errors import ConfigError
from compose.loader import LoadOptions, load_config

SEEDS = [
    "services:\n  web:\n    image: nginx:${TAG:-1}\n    ports:\n      - 80:80\n"
    "    environment:\n      A: 1\n    depends_on: [db]\n  db:\n    image: pg\n",
    "x-a: &a {image: x}\nservices:\n  s:\n    <<: *a\n    command: !reset []\n",
    "services:\n  a: {extends: b}\n  b: {image: x, volumes: ['./d:/d']}\n---\n"
    "services:\n  a: {image: y}\n",
    "include:\n  - path: x.yaml\nservices: {}\n",
    "name: demo\nservices:\n  s:\n    build: .\n    healthcheck:\n      test: [CMD, 'true']\n"
    "    deploy: {replicas: '${N:-2}'}\n",
]
_NOISE = [*":-[]{}'\"&*!<>$|#\n\t ?,~%@`", "${", "$$", "<<: ", "!reset ", "\n  ", "- ",
          "&x ", "*x", "---\n", "\\"]


def check(text: str, environ: dict[str, str] | None = None) -> None:
    try:
        cfg = load_config(LoadOptions(files=("-",), stdin=io.StringIO(text),
                                      environ=environ or {"N": "3"}, project_name="prop"))
    except ConfigError as err:
        assert err.issues
        for issue in err.issues:
            assert issue.pos is not None, issue.format()
            assert issue.pos.file == "-"
        return
    assert isinstance(cfg.data, dict)


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        noise = draw(st.sampled_from(_NOISE))
        if op == "insert":
            text = text[:i] + noise + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 5)):]
        else:
            text = text[:i] + noise + text[i + 1:]
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_yaml_never_crashes(text):
    check(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text_never_crashes(text):
    check(text)


_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(min_size=1, max_size=6), inner,
                                            max_size=3)),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["services", "networks", "volumes", "name",
                                        "include", "x-a", "secrets"]), _values, max_size=4))
def test_random_structures_never_crash(tree):
    import json

    check(json.dumps(tree))  # JSON is YAML: random shapes in every top-level section


_service = st.dictionaries(
    st.sampled_from(["image", "command", "environment", "labels", "ports", "volumes",
                     "depends_on", "networks", "build", "logging", "ulimits", "extra_hosts",
                     "secrets", "env_file", "dns", "healthcheck", "extends", "profiles"]),
    _values, max_size=5)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b"]), _service, max_size=2),
                min_size=2, max_size=3))
def test_random_multi_file_merges_never_crash(tmp_path_factory, docs):
    import json

    d = tmp_path_factory.mktemp("merge")
    files = []
    for i, services in enumerate(docs):
        p = d / f"f{i}.yaml"
        p.write_text(json.dumps({"services": services}))
        files.append(str(p))
    try:
        cfg = load_config(LoadOptions(files=tuple(files), environ={}, project_name="prop"))
    except ConfigError as err:
        assert all(i.pos is not None for i in err.issues), err
        return
    assert isinstance(cfg.data, dict)
