"""Property tests: random and mutated compose documents never give a traceback; they
give a project, or a ConfigError whose every issue is located (file:line:col)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compose.errors import ConfigError
from compose.loader import LoadOptions
from compose.project_loader import load_project
from compose.validate.schema import schema

SERVICE_KEYS = sorted(schema()["properties"]["services"]["patternProperties"][
    "^[a-zA-Z0-9._-]+$"]["properties"])
TOP_KEYS = ["services", "networks", "volumes", "secrets", "configs", "name", "x-foo"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-70000, 70000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["80:80", "8080-8081:80-81/udp", "./a:/b:ro", "data:/x", "1m30s", "512m",
                     "service:web", "web", "db", "CMD", "always", "host", "A=1", "", "x:y:z",
                     "on-failure:3", "/abs", "0440", "-1", "1gb", "service_healthy"]),
    st.text(alphabet="abc:/-=.0129 ", max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from([*SERVICE_KEYS, "a", "b", "x-y"]),
                                            inner, max_size=3)),
    max_leaves=8,
)
service = st.dictionaries(st.sampled_from(SERVICE_KEYS), values, max_size=6)
base_service = st.fixed_dictionaries({"image": st.just("nginx")}, optional={
    "ports": st.lists(scalars, max_size=3), "volumes": st.lists(scalars, max_size=3),
    "depends_on": st.one_of(st.lists(st.sampled_from(["web", "db", "x"]), max_size=2),
                            st.dictionaries(st.sampled_from(["web", "db"]),
                                            st.dictionaries(st.sampled_from(
                                                ["condition", "required", "restart"]),
                                                scalars, max_size=2), max_size=2)),
    "healthcheck": st.dictionaries(st.sampled_from(
        ["test", "interval", "timeout", "retries", "start_period", "disable"]), scalars,
        max_size=3),
    "environment": values, "deploy": values, "networks": values, "ulimits": values,
    "mem_limit": scalars, "restart": scalars, "network_mode": scalars,
})
documents = st.fixed_dictionaries({"services": st.dictionaries(
    st.sampled_from(["web", "db", "x"]), st.one_of(service, base_service), max_size=3)},
    optional={k: values for k in TOP_KEYS if k != "services"})


def _dump(doc) -> str:
    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)
    buf = io.StringIO()
    y.dump(doc, buf)
    return buf.getvalue()


def _check(doc) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "compose.yaml"
        p.write_text(_dump(doc))
        try:
            load_project(LoadOptions(files=(str(p),), environ={}, project_name="prop",
                                     working_dir=d))
        except ConfigError as err:
            assert err.issues
            for issue in err.issues:
                assert issue.pos is not None and issue.pos.file, issue
                assert issue.pos.line > 0, issue


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("PYCOMPOSE_NO_CACHE", "1")


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents)
def test_random_documents_load_or_fail_located(doc):
    _check(doc)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(["web", "db"]), base_service, min_size=1, max_size=2))
def test_mutated_services_load_or_fail_located(services):
    _check({"services": services, "volumes": {"data": None}})
