"""Host feature detection behind ``pycompose system check``."""

from __future__ import annotations

import json

from runtime import features
from tests import cgroupfs


def by_name(found):
    return {f.name: f for f in found}


def test_hybrid_tree_reports_v1_controllers(tmp_path):
    cgroupfs.v1_root(tmp_path / "cg", controllers=("memory", "cpu", "cpuacct", "pids"))
    found = by_name(features.check(str(tmp_path / "cg")))
    cg = found["cgroups"]
    assert cg.present and cg.extra["version"] == 1 and cg.extra["hybrid"] is True
    assert "memory" in cg.detail and "hybrid" in cg.detail
    assert found["cgroup.memory"].present
    freezer = found["cgroup.freezer"]
    assert not freezer.present and "pause" in freezer.disables


def test_v2_tree_reports_controllers(tmp_path):
    cgroupfs.v2_root(tmp_path / "cg", controllers=("cpu", "memory"))
    found = by_name(features.check(str(tmp_path / "cg")))
    assert found["cgroups"].extra == {"version": 2, "controllers": ["cpu", "memory"]}
    assert not found["cgroup.pids"].present
    assert "pids_limit" in found["cgroup.pids"].disables
    assert found["cgroup.device-filter"].present          # this kernel is >= 4.15


def test_no_cgroups_is_required_and_missing(tmp_path):
    found = features.check(str(tmp_path / "none"))
    missing = features.missing_required(found)
    assert "cgroups" in [f.name for f in missing]


def test_every_finding_is_json_and_missing_ones_say_what_they_disable():
    found = features.check()
    json.dumps([f.to_json() for f in found])
    names = [f.name for f in found]
    for expected in ("root", "namespace.user", "overlayfs", "cgroups", "seccomp",
                     "libseccomp", "module.bridge", "netlink", "binary.iptables",
                     "binary.nft", "init.static"):
        assert expected in names
    for f in found:
        if not f.present:
            assert f.disables, f.name


def test_cli_system_check(run_cli, tmp_path):
    res = run_cli("system", "check", "--format", "json")
    doc = json.loads(res.stdout)
    assert {f["name"] for f in doc["features"]} >= {"cgroups", "overlayfs", "seccomp"}
    assert res.returncode == (0 if doc["ok"] else 5)
    table = run_cli("system", "check")
    assert "cgroups" in table.stdout and "overlayfs" in table.stdout
    res = run_cli("system", "check", "--cgroup-root", str(tmp_path / "nothing"))
    assert res.returncode == 5
    assert "required features missing" in res.stderr and "cgroups" in res.stderr
    assert "disables:" in res.stdout
