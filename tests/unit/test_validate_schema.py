"""The JSON Schema and how its errors read: located, one per mistake, with hints."""

import subprocess
import sys

import pytest

from compose.errors import ConfigError
from compose.validate.schema import SCHEMA_FILE, schema, validate_schema
from tests.conftest import REPO
from tests.unit._compose_helpers import project_of


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("PYCOMPOSE_NO_CACHE", "1")


def test_schema_file_is_generated_from_the_script():
    r = subprocess.run([sys.executable, "scripts/gen_schema.py", "--check"], cwd=REPO)
    assert r.returncode == 0, "run scripts/gen_schema.py after editing it"
    assert schema()["$schema"].startswith("http://json-schema.org/draft-07")
    assert SCHEMA_FILE.is_file()


def test_schema_covers_every_top_level_element_and_service_attribute():
    s = schema()
    assert set(s["properties"]) >= {"version", "name", "include", "services", "networks",
                                    "volumes", "secrets", "configs", "models"}
    svc = s["properties"]["services"]["patternProperties"]["^[a-zA-Z0-9._-]+$"]["properties"]
    expected = """annotations attach build blkio_config cap_add cap_drop cgroup cgroup_parent
    command configs container_name cpu_count cpu_percent cpu_shares cpu_quota cpu_period
    cpu_rt_period cpu_rt_runtime cpus cpuset credential_spec depends_on deploy
    develop device_cgroup_rules devices dns dns_opt dns_search domainname entrypoint
    env_file label_file environment expose extends external_links extra_hosts gpus
    group_add healthcheck hostname image init ipc isolation labels links logging
    mac_address mem_limit mem_reservation mem_swappiness memswap_limit network_mode
    models networks oom_kill_disable oom_score_adj pid pids_limit platform ports
    post_start pre_start pre_stop privileged profiles provider pull_policy
    pull_refresh_after read_only restart runtime scale security_opt shm_size secrets
    sysctls stdin_open stop_grace_period stop_signal storage_opt tmpfs tty ulimits
    use_api_socket user uts userns_mode volumes volumes_from working_dir""".split()  # noqa: SIM905
    assert set(svc) == set(expected)


@pytest.mark.parametrize(("doc", "path", "message"), [
    ({"services": {"w": {"image": "x", "prots": []}}}, "services.w.prots",
     "unknown key 'prots' in services.w"),
    ({"services": {"w": {"image": ["a"]}}}, "services.w.image", "must be a string, not a list"),
    ({"services": {"w": {"environment": "A=1"}}}, "services.w.environment",
     "must be a mapping or a list, not a string"),
    ({"services": {"w": {"environment": {"A": [1]}}}}, "services.w.environment.A",
     "must be a string, a number, a boolean or null, not a list"),
    ({"services": {"w": {"depends_on": {"db": {"condition": "up"}}}}},
     "services.w.depends_on.db.condition", "invalid value 'up'"),
    ({"services": {"w": {"volumes": [{"type": "tmpfs", "target": "/t", "tmpfs": {"size": -1}}]}}},
     "services.w.volumes[0].tmpfs.size", "greater than or equal to 0"),
    ({"services": {"w": {"ports": [{"target": 80, "bogus": 1}]}}}, "services.w.ports[0].bogus",
     "unknown key 'bogus'"),
    ({"services": {"w": {"ports": [[80]]}}}, "services.w.ports[0]",
     "must be a string, a number or a mapping, not a list"),
    ({"services": {"w": {"extends": {"file": "x"}}}}, "services.w.extends",
     "missing required key 'service'"),
    ({"services": {"w": {"privileged": [True]}}}, "services.w.privileged",
     "must be a boolean, not a list"),
    ({"services": {"w": {"scale": 1.5}}}, "services.w.scale", "must be an integer"),
    ({"services": {"bad name": {}}}, "services.bad name", "invalid name 'bad name'"),
    ({"web": {"image": "x"}}, "web", "unknown key 'web' in top level"),
    ({"services": []}, "services", "must be a mapping, not a list"),
    ({"networks": {"n": "bridge"}}, "networks.n", "must be a mapping or null"),
    ({"services": {"w": {"cap_add": ["A", "A"]}}}, None, None),
])
def test_schema_messages(doc, path, message):
    issues = validate_schema(doc)
    if path is None:
        assert issues == []
        return
    assert len(issues) == 1, issues
    assert issues[0].path == path
    assert message in issues[0].message


def test_interpolated_strings_are_accepted_where_numbers_are_expected():
    doc = {"services": {"w": {"image": "x", "scale": "3", "privileged": "true",
                              "cpus": "0.5", "deploy": {"replicas": "2"},
                              "ports": [{"target": "80", "published": "8080"}]}}}
    assert validate_schema(doc) == []


def test_did_you_mean_and_positions_from_the_file(tmp_path):
    with pytest.raises(ConfigError) as exc:
        project_of(tmp_path, """\
            services:
              web:
                image: nginx
                enviroment:
                  A: 1
                ports:
                  - target: 80
                    publishd: 8080
            """)
    issues = exc.value.issues
    assert [i.path for i in issues] == ["services.web.enviroment",
                                        "services.web.ports[0].publishd"]
    assert str(issues[0].pos) == "compose.yaml:4:5"
    assert issues[0].hint == "did you mean 'environment'?"
    assert str(issues[1].pos) == "compose.yaml:8:9"
    assert issues[1].hint == "did you mean 'published'?"
    text = str(exc.value)
    assert "compose.yaml:4:5: services.web.enviroment: unknown key 'enviroment'" in text


def test_all_schema_errors_are_reported_with_model_errors_elsewhere(tmp_path):
    with pytest.raises(ConfigError) as exc:
        project_of(tmp_path, """\
            services:
              a:
                image: x
                bogus: 1
              b:
                image: x
                ports: ["99999:80"]
                healthcheck: {interval: 10}
            """)
    got = {(i.path, str(i.pos)) for i in exc.value.issues}
    assert ("services.a.bogus", "compose.yaml:4:5") in got
    assert ("services.b.ports[0]", "compose.yaml:7:13") in got
    assert any(p == "services.b.healthcheck.interval" for p, _ in got)


def test_fast_and_full_validators_agree():
    """jsonschema-rs only says valid/invalid: it must agree with jsonschema, or a
    broken file would pass unexplained (or a good one fail without a message)."""
    from hypothesis import HealthCheck, given, settings

    from compose.validate.schema import _fast_validator, _validator
    from tests.unit.test_model_property import documents

    fast = _fast_validator()
    if fast is None:
        pytest.skip("jsonschema-rs not installed")
    full = _validator()

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(documents)
    def agree(doc):
        assert fast.is_valid(doc) == full.is_valid(doc)

    agree()
