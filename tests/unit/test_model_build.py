"""The typed model: long forms, conversions, defaults, env_file, profiles, immutability."""

import dataclasses

import pytest

from compose.errors import ConfigError
from compose.model.serialize import config_hash, project_dict
from tests.unit._compose_helpers import project_of


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("PYCOMPOSE_NO_CACHE", "1")


def test_long_forms_and_conversions(tmp_path):
    p = project_of(tmp_path, """\
        services:
          web:
            build: ./app
            command: python -m http.server "8000"
            environment: [A=1, B, C=]
            labels: [x=1, y]
            ports: ["8080:80", {target: 443, published: "8443"}]
            volumes: ["./html:/usr/share/nginx/html:ro", "data:/data", "/anon"]
            depends_on: [db]
            healthcheck:
              test: curl -f http://localhost/
              interval: 1m30s
              timeout: 500ms
              retries: "3"
            mem_limit: 512m
            shm_size: 1gb
            stop_grace_period: 1m
            extra_hosts: ["host1=10.0.0.1", "host2:10.0.0.2"]
            ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 65535}
            tmpfs: /run
            privileged: "true"
            cpus: "0.5"
          db:
            image: postgres
            secrets: [pw, {source: pw, target: other, mode: 0400}]
        volumes:
          data:
        secrets:
          pw: {environment: PW}
        """, env={"B": "from-env"})
    web = p.services["web"]
    assert web.build.context == str(tmp_path / "app") and web.build.dockerfile == "Dockerfile"
    assert web.image is None
    assert web.command == ("python", "-m", "http.server", "8000")
    assert dict(web.environment) == {"A": "1", "B": "from-env", "C": ""}
    assert dict(web.labels) == {"x": "1", "y": ""}
    assert [(x.published, x.target) for x in web.ports] == [("8080", 80), ("8443", 443)]
    assert web.ports[0].pos.line == 7
    binds = web.volumes
    assert binds[0].type == "bind" and binds[0].source == str(tmp_path / "html")
    assert binds[0].read_only and binds[0].bind.create_host_path
    assert (binds[1].type, binds[1].source) == ("volume", "data")
    assert (binds[2].type, binds[2].source, binds[2].target) == ("volume", None, "/anon")
    dep = web.depends_on["db"]
    assert (dep.condition, dep.required, dep.restart) == ("service_started", True, False)
    hc = web.healthcheck
    assert hc.test == ("CMD-SHELL", "curl -f http://localhost/")
    assert (hc.interval, hc.timeout, hc.retries) == (90.0, 0.5, 3)
    assert (web.mem_limit, web.shm_size, web.stop_grace_period) == (512 << 20, 1 << 30, 60.0)
    assert web.extra_hosts == (("host1", "10.0.0.1"), ("host2", "10.0.0.2"))
    assert {(u.name, u.soft, u.hard) for u in web.ulimits} == {("nofile", 1024, 2048),
                                                               ("nproc", 65535, 65535)}
    assert web.tmpfs == ("/run",) and web.privileged is True and web.cpus == 0.5
    assert list(web.networks) == ["default"]
    db = p.services["db"]
    assert [(s.source, s.target, s.mode) for s in db.secrets] == [
        ("pw", "/run/secrets/pw", None), ("pw", "/run/secrets/other", 0o400)]
    assert p.networks["default"].name == "proj_default"
    assert p.volumes["data"].name == "proj_data"
    assert p.secrets["pw"].environment == "PW"


def test_model_is_immutable(tmp_path):
    p = project_of(tmp_path, "services:\n  a: {image: x, environment: {A: 1}}\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.services["a"].image = "y"
    with pytest.raises(TypeError):
        p.services["a"].environment["A"] = "2"
    with pytest.raises(TypeError):
        p.services["b"] = p.services["a"]


def test_env_file_required_false_and_precedence(tmp_path):
    (tmp_path / "a.env").write_text("A=from-file\nB=from-file\n# comment\nQ=\"x y\"\n")
    p = project_of(tmp_path, """\
        services:
          s:
            image: x
            env_file:
              - a.env
              - path: missing.env
                required: false
            environment:
              B: explicit
        """)
    env = dict(p.services["s"].environment)
    assert env == {"A": "from-file", "B": "explicit", "Q": "x y"}
    assert p.services["s"].env_file[1].required is False


def test_missing_required_env_file_is_located(tmp_path):
    with pytest.raises(ConfigError) as exc:
        project_of(tmp_path, "services:\n  s:\n    image: x\n    env_file: nope.env\n")
    [i] = exc.value.issues
    assert i.path == "services.s.env_file" and "not found" in i.message
    assert str(i.pos) == "compose.yaml:4:15"


def test_implicit_dependencies_never_override_explicit(tmp_path):
    p = project_of(tmp_path, """\
        services:
          t:
            image: x
            ipc: service:a
            network_mode: service:b
            volumes_from: [c, "container:ext"]
            links: ["d:alias"]
            depends_on: {a: {condition: service_healthy}}
          a: {image: x}
          b: {image: x}
          c: {image: x}
          d: {image: x}
        """)
    deps = p.services["t"].depends_on
    assert deps["a"].condition == "service_healthy" and deps["a"].via == "depends_on"
    assert (deps["b"].via, deps["b"].restart) == ("network_mode", True)
    assert (deps["c"].via, deps["c"].restart) == ("volumes_from", False)
    assert (deps["d"].via, deps["d"].restart) == ("links", True)
    assert "ext" not in deps
    assert dict(p.services["t"].networks) == {}


def test_profiles(tmp_path):
    text = """\
        services:
          web: {image: x}
          debug: {image: x, profiles: [dev]}
          tool: {image: x, profiles: [dev, ops]}
          opt: {image: x, profiles: [extra]}
          app:
            image: x
            depends_on:
              opt: {condition: service_started, required: false}
        """
    p = project_of(tmp_path, text)
    assert sorted(p.services) == ["app", "web"]
    assert sorted(p.disabled_services) == ["debug", "opt", "tool"]
    assert "opt" not in p.services["app"].depends_on  # optional and disabled: dropped
    assert p.all_profiles() == ("dev", "extra", "ops")
    assert sorted(project_of(tmp_path, text, profiles=["ops"]).services) == ["app", "tool",
                                                                             "web"]
    assert len(project_of(tmp_path, text, profiles=["*"]).services) == 5
    # naming a service enables it and its profiles
    assert sorted(project_of(tmp_path, text, services=["debug"]).services) == [
        "app", "debug", "tool", "web"]
    p = project_of(tmp_path, text, env={"COMPOSE_PROFILES": "extra"})
    assert "opt" in p.services["app"].depends_on


def test_required_dependency_on_disabled_service(tmp_path):
    with pytest.raises(ConfigError) as exc:
        project_of(tmp_path, "services:\n  a: {image: x, depends_on: [b]}\n"
                             "  b: {image: x, profiles: [p]}\n")
    assert "disabled by its profiles (p)" in str(exc.value)


def test_version_is_dropped_with_a_warning(tmp_path):
    p = project_of(tmp_path, "version: '3.8'\nservices:\n  a: {image: x}\n")
    assert any("obsolete" in w for w in p.warnings)


def test_config_hash_changes_with_the_container_config_only(tmp_path):
    h1 = config_hash(project_of(tmp_path, "services:\n  a: {image: x}\n").services["a"])
    h2 = config_hash(project_of(tmp_path, "services:\n  a: {image: x, scale: 1}\n")
                     .services["a"])
    h3 = config_hash(project_of(tmp_path, "services:\n  a: {image: y}\n").services["a"])
    assert h1 == h2 != h3 and len(h1) == 64


def test_project_dict_round_trips_through_the_loader(tmp_path):
    from compose.model.serialize import escape_dollars, to_yaml

    text = """\
        services:
          web:
            image: nginx
            ports: ["8080:80"]
            volumes: ["./x:/x:ro"]
            depends_on: {db: {condition: service_healthy}}
            healthcheck: {test: [CMD-SHELL, "echo $$HOME ${V}"], interval: 10s}
          db: {image: postgres, mem_limit: 1g}
        """
    p1 = project_of(tmp_path, text, env={"V": "x$y"})
    assert p1.services["web"].healthcheck.test[1] == "echo $HOME x$y"
    out = to_yaml(escape_dollars(project_dict(p1)))
    (tmp_path / "again").mkdir()
    p2 = project_of(tmp_path / "again", out)
    assert project_dict(p2) == project_dict(p1)


def test_missing_env_file_only_matters_for_selected_services(tmp_path):
    text = """\
        services:
          web: {image: x, depends_on: [db]}
          db: {image: x}
          other: {image: x, env_file: missing.env}
        """
    with pytest.raises(ConfigError, match=r"missing\.env not found"):
        project_of(tmp_path, text)
    assert "other" in project_of(tmp_path, text, services=["web"]).services
    with pytest.raises(ConfigError, match=r"missing\.env not found"):
        project_of(tmp_path, text, services=["other"])


def test_label_files(tmp_path):
    (tmp_path / "labels.txt").write_text("a=from-file\nb=from-file\n")
    p = project_of(tmp_path, "services:\n  s:\n    image: x\n    label_file: labels.txt\n"
                             "    labels: {b: explicit}\n")
    assert dict(p.services["s"].labels) == {"a": "from-file", "b": "explicit"}
    with pytest.raises(ConfigError, match=r"label file .* not found"):
        project_of(tmp_path, "services:\n  s:\n    image: x\n    label_file: [nope]\n")
