"""``pycompose config`` and ``pycompose graph`` as a user runs them."""

import json
import textwrap

import pytest

COMPOSE = """\
services:
  web:
    build: ./app
    ports: ["8080:80"]
    depends_on: [db]
    environment: {GREETING: "${GREETING:-hello}"}
  db:
    image: postgres:16
    volumes: ["data:/var/lib/postgresql/data"]
  debug:
    image: busybox
    profiles: [dev]
volumes:
  data: {}
"""


@pytest.fixture
def proj(tmp_path):
    d = tmp_path / "myproj"
    d.mkdir()
    (d / "compose.yaml").write_text(COMPOSE)
    return d


@pytest.fixture
def cli(run_cli, tmp_path):
    env = {"PYCOMPOSE_CACHE_DIR": str(tmp_path / "cache")}
    return lambda *a, **kw: run_cli(*a, env={**env, **kw.pop("env", {})}, **kw)


def test_config_yaml(cli, proj):
    r = cli("config", cwd=proj)
    assert r.returncode == 0, r
    assert r.stdout.startswith("name: myproj\nservices:\n")
    assert "published: '8080'" in r.stdout or 'published: "8080"' in r.stdout
    assert "GREETING: hello" in r.stdout
    assert "name: myproj_default" in r.stdout and "name: myproj_data" in r.stdout
    assert "debug" not in r.stdout


def test_config_json_and_interpolation(cli, proj):
    r = cli("config", "--format", "json", cwd=proj, env={"GREETING": "hi"})
    doc = json.loads(r.stdout)
    assert doc["services"]["web"]["environment"] == {"GREETING": "hi"}
    assert doc["services"]["web"]["build"]["context"] == str(proj / "app")
    assert doc["services"]["web"]["depends_on"]["db"]["condition"] == "service_started"


def test_config_listings(cli, proj):
    assert cli("config", "--services", cwd=proj).stdout == "db\nweb\n"
    assert cli("--profile", "dev", "config", "--services", cwd=proj).stdout == \
        "db\ndebug\nweb\n"
    assert cli("config", "--volumes", cwd=proj).stdout == "data\n"
    assert cli("config", "--networks", cwd=proj).stdout == "default\n"
    assert cli("config", "--profiles", cwd=proj).stdout == "dev\n"
    assert cli("config", "--images", cwd=proj).stdout == "postgres:16\nmyproj-web\n"
    h = cli("config", "--hash", "*", cwd=proj).stdout.splitlines()
    assert [x.split()[0] for x in h] == ["db", "web"] and len(h[0].split()[1]) == 64
    assert cli("config", "--hash", "web", cwd=proj).stdout.split()[0] == "web"


def test_config_quiet_output_file_and_selection(cli, proj, tmp_path):
    r = cli("config", "-q", cwd=proj)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    out = tmp_path / "out.yaml"
    assert cli("config", "-o", str(out), cwd=proj).stdout == ""
    assert out.read_text().startswith("name: myproj\n")
    r = cli("config", "--services", "db", cwd=proj)
    assert r.stdout == "db\n"
    r = cli("config", "--services", "web", cwd=proj)
    assert r.stdout == "db\nweb\n"  # with its dependencies


def test_config_environment_and_no_path_resolution(cli, proj):
    (proj / ".env").write_text("GREETING=from-dotenv\n")
    r = cli("config", "--environment", cwd=proj, env={"ONLY_HERE": "1"})
    assert "GREETING=from-dotenv\n" in r.stdout and "ONLY_HERE=1\n" in r.stdout
    r = cli("config", "--no-path-resolution", "--format", "json", cwd=proj)
    doc = json.loads(r.stdout)
    assert doc["services"]["web"]["build"]["context"] == "./app"


def test_config_variables(cli, proj):
    r = cli("config", "--variables", cwd=proj)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "REQUIRED", "DEFAULT", "VALUE", "ALTERNATE", "VALUE"]
    assert lines[1].split() == ["GREETING", "false", "hello"]
    doc = json.loads(cli("config", "--variables", "--format", "json", cwd=proj).stdout)
    assert doc["GREETING"]["defaultValue"] == "hello"


def test_config_no_interpolate(cli, proj):
    r = cli("config", "--no-interpolate", "--format", "json", cwd=proj)
    assert r.returncode == 0, r
    env = json.loads(r.stdout)["services"]["web"]["environment"]
    assert env == {"GREETING": "${GREETING:-hello}"}


def test_config_errors_are_located_with_exit_code_3(cli, tmp_path):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent("""\
        services:
          web:
            image: nginx
            prots: ["80:80"]
            depends_on: [dbb]
          db:
            image: postgres
            ports: ["5432:5432", "99999:1"]
        """))
    r = cli("config", "-q", cwd=tmp_path)
    assert r.returncode == 3, r
    assert "compose.yaml:4:5: services.web.prots: unknown key 'prots'" in r.stderr
    assert "did you mean 'ports'?" in r.stderr
    assert "compose.yaml:8:26: services.db.ports[1]: invalid host port 99999" in r.stderr
    assert "Traceback" not in r.stderr


def test_config_unknown_service(cli, proj):
    r = cli("config", "wbe", cwd=proj)
    assert r.returncode == 4
    assert "no such service: wbe" in r.stderr and "did you mean 'web'?" in r.stderr


def test_graph_command(cli, proj):
    r = cli("graph", cwd=proj)
    assert r.returncode == 0, r
    assert r.stdout == "web\n└── db (service_started)\n"
    assert cli("graph", "--format", "dot", cwd=proj).stdout.startswith('digraph "myproj"')
    assert "graph TD" in cli("graph", "--format", "mermaid", cwd=proj).stdout


def test_config_does_not_import_networkx(cli, proj):
    r = cli("config", "-q", cwd=proj, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert r.returncode == 0
    assert "networkx" not in r.stderr


def test_errors_point_into_the_override_file(cli, tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n")
    (tmp_path / "compose.override.yaml").write_text(
        "services:\n  web:\n    ports: ['80:80']\n    healthcheck:\n      interval: 1x\n")
    r = cli("config", "-q", cwd=tmp_path)
    assert r.returncode == 3
    assert "compose.override.yaml:5:17: services.web.healthcheck.interval: invalid duration" \
        in r.stderr


def test_valid_config_needs_neither_jsonschema_nor_networkx(cli, proj):
    r = cli("config", cwd=proj, env={"PYTHONPROFILEIMPORTTIME": "1",
                                     "PYCOMPOSE_NO_CACHE": "1"})
    assert r.returncode == 0
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines()}
    assert "networkx" not in imported
    try:
        import jsonschema_rs  # noqa: F401
    except ImportError:
        return
    assert "jsonschema" not in imported
