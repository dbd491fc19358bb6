"""compose.testing without containers: port rewriting, stale-session records, the
Stack's pure parts and the plugin's helpers."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from compose.model.types import Port
from compose.testing import sessions
from compose.testing.ports import random_port
from compose.testing.stack import HostPort, Stack
from tests.conftest import REPO

COMPOSE = """
name: ${APP:-demo}
services:
  db:
    image: postgres:15
    ports: ["5432:5432", "10.1.2.3:8000:8000/udp", "0.0.0.0:9000:9000", "7000"]
    volumes: ["data:/var/lib/postgresql/data"]
  web:
    image: nginx
volumes:
  data: {}
"""


def test_random_port_keeps_target_and_protocol_and_a_specific_address():
    assert random_port(Port(5432, published="5432")) == Port(5432, host_ip="127.0.0.1")
    p = random_port(Port(8000, published="8000", host_ip="10.1.2.3", protocol="udp"))
    assert (p.target, p.published, p.host_ip, p.protocol) == (8000, None, "10.1.2.3", "udp")
    assert random_port(Port(9000, published="9000", host_ip="0.0.0.0")).host_ip == "127.0.0.1"


def test_from_files_loads_interpolates_and_randomizes(tmp_path):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    s = Stack.from_files([tmp_path / "compose.yaml"], env={"APP": "fromenv"},
                         root=tmp_path / "root", random_ports=True)
    assert s.name == "fromenv"
    assert s.paths.root == tmp_path / "root"
    ports = s.service("db").ports
    assert [p.published for p in ports] == [None] * 4
    assert [p.host_ip for p in ports] == ["127.0.0.1", "10.1.2.3", "127.0.0.1", "127.0.0.1"]
    named = Stack.from_files([tmp_path / "compose.yaml"], "other", root=tmp_path / "root")
    assert named.name == "other"
    assert named.service("db").ports[0].published == "5432"
    with pytest.raises(Exception, match="no such service"):
        s.service("dbb")


def test_url_formats_hosts_and_paths(tmp_path, monkeypatch):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    s = Stack.from_files([tmp_path / "compose.yaml"], root=tmp_path / "root")
    monkeypatch.setattr(s, "host_port", lambda *a, **k: HostPort("127.0.0.1", 41000))
    assert s.url("db", 5432) == "http://127.0.0.1:41000"
    assert s.url("db", 5432, scheme="postgresql", path="app") == "postgresql://127.0.0.1:41000/app"
    monkeypatch.setattr(s, "host_port", lambda *a, **k: HostPort("::1", 41000))
    assert s.url("db", 5432, path="/x") == "http://[::1]:41000/x"
    hp = HostPort("h", 1)
    assert (hp.host, hp.port) == ("h", 1) and hp == ("h", 1)


def test_readiness_budget_is_derived_from_healthchecks(tmp_path, monkeypatch):
    from compose.testing import stack as mod

    (tmp_path / "compose.yaml").write_text(COMPOSE)
    s = Stack.from_files([tmp_path / "compose.yaml"], root=tmp_path / "root")
    budgets = {"a": 30.0, "b": None}
    monkeypatch.setattr(s, "_health_budget", lambda c: budgets[c])
    assert s._derived_budget(["a", "b"]) == 30.0 + mod.MARGIN
    assert s._derived_budget(["b"]) == mod.DEFAULT_BUDGET + mod.MARGIN


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_session_records_tell_live_owners_from_dead_ones(state_paths):
    sessions.write_record(state_paths, sessions.StackRecord("mine", ["/x/compose.yaml"]))
    sessions.write_record(state_paths, sessions.StackRecord("dead", [], pid=dead_pid()))
    sessions.write_record(state_paths, sessions.StackRecord("kept", [], pid=dead_pid(),
                                                            keep=True))
    recycled = sessions.StackRecord("recycled", [], pid=1, start_time="12345")
    sessions.write_record(state_paths, recycled)
    recs = {r.project: r for r in sessions.records(state_paths)}
    assert set(recs) == {"mine", "dead", "kept", "recycled"}
    assert recs["mine"].files == ["/x/compose.yaml"]
    assert sorted(r.project for r in sessions.stale(state_paths)) == ["dead", "recycled"]
    sessions.remove_record(state_paths, "dead")
    sessions.remove_record(state_paths, "dead")  # idempotent
    assert "dead" not in {r.project for r in sessions.records(state_paths)}


def test_stale_record_without_files_still_loads(state_paths, tmp_path):
    rec = sessions.StackRecord("gone", [str(tmp_path / "missing.yaml")])
    s = Stack.from_record(rec, state_paths)
    assert s.name == "gone" and s.services == []


def test_plugin_project_names_are_unique_per_worker(monkeypatch):
    from compose.testing import plugin

    class Cfg:
        def getini(self, name):
            return "MyApp"

    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    a, b = plugin.project_name(Cfg()), plugin.project_name(Cfg())
    assert a.startswith("myapp-gw3-") and b.startswith("myapp-gw3-") and a != b
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert plugin.project_name(Cfg()).startswith("myapp-main-")


def test_plugin_host_problem_says_what_system_check_says(monkeypatch):
    from compose.testing import plugin
    from runtime import features

    monkeypatch.setattr(features, "check", lambda *a: [
        features.Feature("user namespaces", True, required=True),
        features.Feature("overlayfs", False, "module not loaded", "containers",
                         required=True)])
    msg = plugin.host_problem()
    assert "cannot run containers" in msg and "overlayfs: module not loaded" in msg
    assert "pycompose system check" in msg
    monkeypatch.setattr(features, "check", lambda *a: [])
    assert plugin.host_problem() is None


def test_plugin_is_registered_as_a_pytest11_entry_point():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert data["project"]["entry-points"]["pytest11"] == {
        "pycompose": "compose.testing.plugin"}
    assert Path(REPO / "compose" / "testing" / "plugin.py").is_file()


def test_plugin_fails_cleanly_when_the_host_cannot_run_containers(tmp_path):
    """The session fixture errors with what `system check` found, not a traceback."""
    import os

    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:15\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\npycompose_files = compose.yaml\n")
    (tmp_path / "conftest.py").write_text(
        "from runtime import features\n"
        "features.check = lambda *a: [features.Feature('overlayfs', False, "
        "'not supported by this kernel', 'container root filesystems', required=True)]\n")
    (tmp_path / "test_x.py").write_text("def test_x(pycompose):\n    pass\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYCOMPOSE_"))}
    env.update(PYTHONPATH=str(REPO), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "compose.testing.plugin",
                          "-p", "no:cacheprovider", f"--pycompose-root={tmp_path / 'root'}"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "1 error" in res.stdout
    assert "pycompose cannot run containers on this host" in res.stdout
    assert "overlayfs: not supported by this kernel" in res.stdout
    assert "pycompose system check" in res.stdout
    assert "Traceback" not in res.stdout
