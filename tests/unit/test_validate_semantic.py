"""Semantic checks: references, cycles, ports, exclusive keys; all issues at once."""

import pytest

from compose.errors import ConfigError, NoSuchService
from compose.validate.semantic import find_cycle
from tests.unit._compose_helpers import project_of


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("PYCOMPOSE_NO_CACHE", "1")


def issues_of(tmp_path, text, **kw):
    with pytest.raises(ConfigError) as exc:
        project_of(tmp_path, text, **kw)
    return exc.value.issues


def test_unknown_references_are_all_reported_with_positions_and_hints(tmp_path):
    issues = issues_of(tmp_path, """\
        services:
          web:
            image: x
            depends_on: [dbb]
            networks: [frontnet]
            volumes: ["dat:/data"]
            secrets: [pasword]
            configs: [cfg]
            links: ["cach:c"]
            volumes_from: [nope]
            network_mode: "service:ghost"
          db:
            image: x
          cache:
            image: x
        networks:
          front: {}
        volumes:
          data: {}
        secrets:
          password: {file: ./pw}
        """)
    by_path = {i.path: i for i in issues}
    assert by_path["services.web.depends_on.dbb"].hint == "did you mean 'db'?"
    assert str(by_path["services.web.depends_on.dbb"].pos) == "compose.yaml:4:18"
    assert "undefined network 'frontnet'" in by_path["services.web.networks.frontnet"].message
    assert by_path["services.web.networks.frontnet"].hint == "did you mean 'front'?"
    assert by_path["services.web.volumes[0]"].hint == "did you mean 'data'?"
    assert by_path["services.web.secrets[0]"].hint == "did you mean 'password'?"
    assert "undefined config 'cfg'" in by_path["services.web.configs[0]"].message
    assert "by links" in by_path["services.web.links"].message
    assert by_path["services.web.links"].hint == "did you mean 'cache'?"
    assert "by volumes_from" in by_path["services.web.volumes_from"].message
    assert "ghost" in by_path["services.web.network_mode"].message
    mutually = [i for i in issues if "mutually exclusive" in i.message]
    assert len(mutually) == 1
    assert all(i.pos is not None and i.pos.line > 0 for i in issues)


def test_cycle_is_named(tmp_path):
    issues = issues_of(tmp_path, """\
        services:
          a: {image: x, depends_on: [b]}
          b: {image: x, depends_on: {c: {condition: service_healthy}}}
          c: {image: x, links: [a]}
        """)
    [cyc] = [i for i in issues if "cycle" in i.message]
    assert cyc.message == "dependency cycle detected: a -> b -> c -> a"
    assert cyc.pos.line == 2


def test_self_dependency(tmp_path):
    [i] = issues_of(tmp_path, "services:\n  a: {image: x, depends_on: [a]}\n")
    assert i.message == "dependency cycle detected: a -> a"


def test_find_cycle_plain():
    assert find_cycle({"a": ["b"], "b": []}) is None
    assert find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]
    assert find_cycle({"x": ["y"], "y": ["z"], "z": ["y"]}) == ["y", "z", "y"]


def test_duplicate_published_ports(tmp_path):
    issues = issues_of(tmp_path, """\
        services:
          a: {image: x, ports: ["8080:80", "127.0.0.1:9000:90", "53:53/udp"]}
          b: {image: x, ports: ["8080:81", "127.0.0.2:9000:90", "53:53/tcp", "8000-8010:80"]}
          c: {image: x, ports: ["0.0.0.0:9000:91"]}
        """)
    msgs = sorted((i.path, i.message) for i in issues)
    assert msgs == [
        ("services.b.ports[0]", "host port 8080/tcp is already published by service 'a'"),
        ("services.c.ports[0]", "host port 9000/tcp is already published by service 'a'"),
    ]


def test_duplicate_ports_within_one_service(tmp_path):
    [i] = issues_of(tmp_path, "services:\n  a: {image: x, ports: ['80:80', '80:81']}\n")
    assert "by the same service" in i.message


def test_image_or_build_required_unless_no_consistency(tmp_path):
    [i] = issues_of(tmp_path, "services:\n  a: {command: x}\n")
    assert "neither an image nor a build" in i.message
    p = project_of(tmp_path, "services:\n  a: {command: x}\n", consistency=False)
    assert "a" in p.services


def test_container_name_with_replicas_and_host_ports(tmp_path):
    issues = issues_of(tmp_path, """\
        services:
          a: {image: x, container_name: fixed, scale: 2}
          b: {image: x, network_mode: host, ports: ["80:80"]}
          c: {image: x, scale: 2, deploy: {replicas: 3}}
        """)
    msgs = " | ".join(i.message for i in issues)
    assert "cannot have 2 replicas" in msgs
    assert "network_mode: host" in msgs
    assert "disagree" in msgs


def test_syntax_errors_in_many_places_at_once(tmp_path):
    issues = issues_of(tmp_path, """\
        services:
          a:
            image: x
            ports: ["80:80/xyz"]
            volumes: ["./x:/y:bogus", "relative"]
            mem_limit: 12q
            stop_grace_period: 10
            healthcheck: {test: [BAD], interval: 5x}
            restart: sometimes
            pull_policy: often
            ulimits: {nofile: {soft: 10, hard: 5}}
        """)
    paths = sorted(i.path for i in issues)
    assert paths == ["services.a.healthcheck.interval", "services.a.healthcheck.test",
                     "services.a.mem_limit", "services.a.ports[0]", "services.a.pull_policy",
                     "services.a.restart", "services.a.stop_grace_period",
                     "services.a.ulimits.nofile", "services.a.volumes[0]",
                     "services.a.volumes[1]"]
    for i in issues:
        assert i.pos is not None and i.pos.file == "compose.yaml" and i.pos.line >= 4


def test_resource_external_name_conflict(tmp_path):
    [i] = issues_of(tmp_path, """\
        services: {}
        volumes:
          v: {name: a, external: {name: b}}
        """)
    assert i.path == "volumes.v" and "name and external.name conflict" in i.message


def test_unknown_selected_service(tmp_path):
    with pytest.raises(NoSuchService) as exc:
        project_of(tmp_path, "services:\n  web: {image: x}\n", services=["wbe"])
    assert exc.value.hint == "did you mean 'web'?"
