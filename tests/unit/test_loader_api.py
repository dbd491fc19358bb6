"""load_config end to end: discovery, env, project name, positions, errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from compose.errors import ConfigError
from compose.loader import LoadOptions, load_config, options_from_globals


def write(d: Path, name: str, text: str) -> Path:
    p = d / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def load(d: Path, environ: dict | None = None, **kw):
    return load_config(LoadOptions(working_dir=str(d), environ=environ or {}, **kw))


def test_discovery_override_dotenv_and_positions(tmp_path):
    write(tmp_path, "compose.yaml",
          "services:\n  web:\n    image: nginx:${TAG}\n    ports:\n      - 8080:80\n")
    write(tmp_path, "compose.override.yaml", "services:\n  web:\n    image: nginx:2\n")
    write(tmp_path, ".env", "TAG=1.2\n")
    cfg = load(tmp_path)
    assert cfg.data == {"services": {"web": {"image": "nginx:2", "ports": ["8080:80"]}}}
    assert cfg.files == (str(tmp_path / "compose.yaml"), str(tmp_path / "compose.override.yaml"))
    assert cfg.environment["TAG"] == "1.2"
    pos = cfg.positions.get(("services", "web", "image"))
    assert (pos.file, pos.line, pos.col) == ("compose.override.yaml", 3, 12)
    pos = cfg.positions.get(("services", "web", "ports", 0))
    assert (pos.file, pos.line, pos.col) == ("compose.yaml", 5, 9)
    assert cfg.positions.key_pos(("services", "web")).line == 2
    assert cfg.positions.nearest(("services", "web", "nope", "x")).line == 2
    assert cfg.project_name == tmp_path.name.lower().replace(".", "")


def test_discovery_searches_parent_directories(tmp_path):
    write(tmp_path, "docker-compose.yml", "services: {a: {image: x}}\n")
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    cfg = load(sub)
    assert cfg.files == (str(tmp_path / "docker-compose.yml"),)
    assert cfg.project_dir == tmp_path


def test_no_compose_file(tmp_path):
    with pytest.raises(ConfigError, match="no compose file found"):
        load(tmp_path)


def test_process_env_wins_over_dotenv(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: 'x:${T}'}}\n")
    write(tmp_path, ".env", "T=file\n")
    assert load(tmp_path, {"T": "shell"}).data["services"]["a"]["image"] == "x:shell"


def test_dotenv_interpolation_uses_shell_value(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: '${IMAGE}'}}\n")
    write(tmp_path, ".env", "WHEREAMI=EnvFile\nIMAGE=default_env:${WHEREAMI}\n")
    cfg = load(tmp_path, {"WHEREAMI": "shell"})
    assert cfg.data["services"]["a"]["image"] == "default_env:shell"


def test_explicit_env_file_and_missing_env_file(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: '${X}'}}\n")
    write(tmp_path, "custom.env", "X=custom\n")
    write(tmp_path, ".env", "X=dot\n")
    assert load(tmp_path, env_files=("custom.env",)).data["services"]["a"]["image"] == "custom"
    with pytest.raises(ConfigError, match=r"env file .*nope\.env not found"):
        load(tmp_path, env_files=("nope.env",))


def test_compose_file_variable_with_separator(tmp_path):
    write(tmp_path, "a.yaml", "services: {a: {image: a}}\n")
    write(tmp_path, "b.yaml", "services: {b: {image: b}}\n")
    cfg = load(tmp_path, {"COMPOSE_FILE": "a.yaml:b.yaml"})
    assert set(cfg.data["services"]) == {"a", "b"}
    cfg = load(tmp_path, {"COMPOSE_FILE": "a.yaml;b.yaml", "COMPOSE_PATH_SEPARATOR": ";"})
    assert set(cfg.data["services"]) == {"a", "b"}


def test_compose_file_from_dotenv(tmp_path):
    write(tmp_path, "other.yaml", "services: {o: {image: a}}\n")
    write(tmp_path, ".env", "COMPOSE_FILE=other.yaml\nCOMPOSE_PROFILES=dev,debug\n")
    cfg = load(tmp_path)
    assert list(cfg.data["services"]) == ["o"]
    assert cfg.profiles == ("dev", "debug")


def test_stdin(tmp_path):
    cfg = load(tmp_path, files=("-",), stdin=io.StringIO("services: {s: {image: x}}\n"))
    assert cfg.data["services"]["s"]["image"] == "x"
    assert cfg.files == ("-",)
    assert cfg.project_dir == tmp_path
    assert cfg.positions.get(("services", "s", "image")).file == "-"


def test_project_directory_option(tmp_path):
    proj = tmp_path / "proj"
    write(proj, "compose.yaml", "services: {s: {image: '${V}'}}\n")
    write(proj, ".env", "V=fromproj\n")
    cfg = load(tmp_path, project_directory="proj")
    assert cfg.project_dir == proj
    assert cfg.project_name == "proj"
    assert cfg.data["services"]["s"]["image"] == "fromproj"


@pytest.mark.parametrize(("kw", "env", "top", "expected"), [
    ({"project_name": "fromflag"}, {"COMPOSE_PROJECT_NAME": "fromenv"}, "fromfile", "fromflag"),
    ({}, {"COMPOSE_PROJECT_NAME": "fromenv"}, "fromfile", "fromenv"),
    ({}, {}, "fromfile", "fromfile"),
    ({}, {}, None, "unnormalizedpath"),
])
def test_project_name_precedence(tmp_path, kw, env, top, expected):
    d = tmp_path / "UNNORMALIZED PATH"
    write(d, "compose.yaml", (f"name: {top}\n" if top else "") + "services: {a: {image: x}}\n")
    assert load(d, env, **kw).project_name == expected


def test_project_name_interpolated(tmp_path):
    write(tmp_path, "compose.yaml", "name: test-${TEST}-test\nservices: {a: {image: x}}\n")
    assert load(tmp_path, {"TEST": "expected"}).project_name == "test-expected-test"


def test_invalid_explicit_project_name(tmp_path):
    write(tmp_path, "compose.yaml", "name: My_App\nservices: {a: {image: x}}\n")
    with pytest.raises(ConfigError) as exc:
        load(tmp_path)
    assert "compose.yaml:1:7" in str(exc.value)
    assert "my_app" in str(exc.value)


def test_profiles_flag_wins_over_env(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: x}}\n")
    assert load(tmp_path, {"COMPOSE_PROFILES": "a,b"}).profiles == ("a", "b")
    assert load(tmp_path, {"COMPOSE_PROFILES": "a,b"}, profiles=("c",)).profiles == ("c",)


def test_all_errors_at_once_with_positions(tmp_path):
    write(tmp_path, "compose.yaml", "services:\n  web:\n    image: 'nginx:${TAG:?set TAG}'\n"
          "    command: '${BAD!}'\n    read_only: ${RO}\n")
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, {"RO": "maybe"})
    text = str(exc.value)
    assert "compose.yaml:3:12: services.web.image: required variable TAG is missing a value: " \
           "set TAG" in text
    assert "compose.yaml:4:14: services.web.command: Invalid template" in text
    assert "compose.yaml:5:16: services.web.read_only" in text
    assert len(exc.value.issues) == 3


def test_typed_fields_converted_after_interpolation(tmp_path):
    write(tmp_path, "compose.yaml", "services:\n  web:\n    image: x\n    read_only: ${RO}\n"
          "    deploy: {replicas: '${N}'}\n    ports: [{target: '${P}'}]\n")
    svc = load(tmp_path, {"RO": "yes", "N": "3", "P": "80"}).data["services"]["web"]
    assert svc["read_only"] is True
    assert svc["deploy"]["replicas"] == 3
    assert svc["ports"][0]["target"] == 80


def test_no_interpolate(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: '${X:?nope}'}}\n")
    cfg = load(tmp_path, interpolate=False)
    assert cfg.data["services"]["a"]["image"] == "${X:?nope}"


def test_unset_variable_warning(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: 'x${UNSET_ONE}'}}\n")
    cfg = load(tmp_path)
    assert cfg.data["services"]["a"]["image"] == "x"
    assert any('"UNSET_ONE" variable is not set' in w for w in cfg.warnings)


def test_dollar_escape(tmp_path):
    write(tmp_path, "compose.yaml",
          "services: {a: {image: x, command: 'echo $$HOME $$(cat /f)'}}\n")
    assert load(tmp_path).data["services"]["a"]["command"] == "echo $HOME $(cat /f)"


def test_keys_are_not_interpolated(tmp_path):
    write(tmp_path, "compose.yaml",
          "services: {a: {image: x, environment: {'${K}': v}}}\n")
    assert load(tmp_path, {"K": "k"}).data["services"]["a"]["environment"] == {"${K}": "v"}


def test_empty_file_and_non_mapping(tmp_path):
    write(tmp_path, "compose.yaml", "")
    with pytest.raises(ConfigError, match="empty compose file"):
        load(tmp_path)
    write(tmp_path, "compose.yaml", "- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load(tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path, files=("nope.yaml",))


def test_multi_document_files_merge_in_order(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: x}}\n---\n"
          "services: {a: {image: y}, b: {image: z}}\n")
    cfg = load(tmp_path)
    assert cfg.data["services"] == {"a": {"image": "y"}, "b": {"image": "z"}}
    assert cfg.positions.get(("services", "a", "image")).line == 3


def test_options_from_globals():
    from compose.cli.options import GlobalOptions

    g = GlobalOptions(files=("a.yaml", "-"), project_name="p", project_directory="d",
                      env_files=("e",), profiles=("x",))
    o = options_from_globals(g, interpolate=False)
    assert o == LoadOptions(files=("a.yaml", "-"), project_name="p", project_directory="d",
                            env_files=("e",), profiles=("x",), interpolate=False)


def test_default_file_priority_and_warning(tmp_path):
    write(tmp_path, "docker-compose.yml", "services: {old: {image: x}}\n")
    write(tmp_path, "compose.yml", "services: {new: {image: x}}\n")
    write(tmp_path, "docker-compose.override.yml", "services: {new: {user: u}}\n")
    cfg = load(tmp_path)
    assert cfg.files == (str(tmp_path / "compose.yml"),
                         str(tmp_path / "docker-compose.override.yml"))
    assert cfg.data["services"] == {"new": {"image": "x", "user": "u"}}
    assert any("multiple config files" in w for w in cfg.warnings)


def test_override_matching_the_main_file_is_preferred(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: x}}\n")
    write(tmp_path, "compose.override.yml", "services: {a: {image: yml}}\n")
    write(tmp_path, "compose.override.yaml", "services: {a: {image: yaml}}\n")
    assert load(tmp_path).data["services"]["a"]["image"] == "yaml"


def test_disable_env_file_and_compose_env_files(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: 'x${V}'}}\n")
    write(tmp_path, ".env", "V=dot\n")
    write(tmp_path, "a.env", "V=a\n")
    write(tmp_path, "b.env", "V=b\n")
    assert load(tmp_path, {"COMPOSE_DISABLE_ENV_FILE": "1"}).data["services"]["a"]["image"] == "x"
    assert load(tmp_path, {"COMPOSE_ENV_FILES": "a.env,b.env"}).data["services"]["a"][
        "image"] == "xb"
    assert load(tmp_path, env_files=("b.env", "a.env")).data["services"]["a"]["image"] == "xa"


def test_dotenv_syntax_error_is_located(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: x}}\n")
    write(tmp_path, ".env", "A=1\nBAD LINE\n")
    with pytest.raises(ConfigError) as exc:
        load(tmp_path)
    (issue,) = exc.value.issues
    assert (issue.pos.file, issue.pos.line) == (".env", 2)


def test_project_name_from_dotenv(tmp_path):
    write(tmp_path, "compose.yaml", "name: fromfile\nservices: {a: {image: x}}\n")
    write(tmp_path, ".env", "COMPOSE_PROJECT_NAME=fromdotenv\n")
    assert load(tmp_path).project_name == "fromdotenv"


def test_invalid_project_name_flag(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: x}}\n")
    with pytest.raises(ConfigError, match="not a valid project name"):
        load(tmp_path, project_name="Bad Name")


def test_extension_fields_are_kept(tmp_path):
    write(tmp_path, "compose.yaml", "x-common: {k: v}\nservices:\n  a: {image: x, x-meta: 1}\n")
    data = load(tmp_path).data
    assert data["x-common"] == {"k": "v"} and data["services"]["a"]["x-meta"] == 1


def test_later_files_relative_paths_stay_relative(tmp_path):
    write(tmp_path, "compose.yaml", "services: {a: {image: x}}\n")
    write(tmp_path, "sub/over.yaml", "services: {a: {build: ./ctx}}\n")
    cfg = load(tmp_path, files=("compose.yaml", "sub/over.yaml"))
    assert cfg.data["services"]["a"]["build"] == "./ctx"  # against the project dir, later
    assert cfg.project_dir == tmp_path


def test_fast_and_ruamel_paths_give_the_same_config(tmp_path):
    text = ("services:\n  web:\n    image: nginx\n    ports:\n      - 80:80\n"
            "    environment:\n      A: '1'\n")
    write(tmp_path, "plain.yaml", text)
    write(tmp_path, "anchored.yaml", "x-e: &e\n  A: '1'\n" + text.replace(
        "      A: '1'\n", "      <<: *e\n"))
    a = load(tmp_path, files=("plain.yaml",))
    b = load(tmp_path, files=("anchored.yaml",))
    assert a.data["services"] == b.data["services"]


def test_position_map_issue_helper(tmp_path):
    write(tmp_path, "compose.yaml", "services:\n  web:\n    image: x\n    ports: [bad]\n")
    pm = load(tmp_path).positions
    issue = pm.issue(("services", "web", "ports", 0), "invalid port", "use HOST:CONTAINER")
    assert issue.format() == ("compose.yaml:4:13: services.web.ports[0]: invalid port\n"
                              "    hint: use HOST:CONTAINER")
    assert pm.issue(("services", "web", "image"), "x", at_key=True).pos.col == 5
    missing = pm.issue(("services", "web", "healthcheck", "test"), "required")
    assert (missing.pos.line, missing.path) == (2, "services.web.healthcheck.test")


def test_unique_lists_deduplicated_after_merge(tmp_path):
    write(tmp_path, "compose.yaml", "services:\n  a:\n    image: x\n"
          "    environment: [A=1, B=2, A=3]\n    ports: ['80:80', '81:81', '80:80']\n"
          "    cap_add: [NET_ADMIN, NET_ADMIN]\n    volumes: [./a:/d, ./b:/d]\n"
          "    security_opt: [x, x]\n")
    cfg = load(tmp_path)
    a = cfg.data["services"]["a"]
    assert a["environment"] == ["A=3", "B=2"]
    assert a["ports"] == ["80:80", "81:81"]
    assert a["cap_add"] == ["NET_ADMIN"]
    assert a["volumes"] == ["./b:/d"]
    assert a["security_opt"] == ["x", "x"]  # not a unique list
    pos = cfg.positions.get(("services", "a", "environment", 0))
    assert (pos.line, pos.col) == (4, 29)  # the entry that won
