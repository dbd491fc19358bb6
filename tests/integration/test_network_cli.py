"""``pycompose network ...`` end to end (real bridges)."""

from __future__ import annotations

import json
import os

import pytest

from runtime.network import netns
from tests.conftest import needs_root

pytestmark = [pytest.mark.integration, needs_root]


def test_network_cli_lifecycle(run_cli, state_paths):
    r = run_cli("network", "create", "--subnet", "10.241.0.0/24", "--gateway", "10.241.0.9",
                "--label", "com.docker.compose.project=p", "--internal", "clinet")
    assert r.returncode == 0, r
    net_id = r.stdout.strip()
    assert len(net_id) == 64
    bridge = f"pc-{net_id[:10]}"
    assert os.path.isdir(f"/sys/class/net/{bridge}")
    try:
        r = run_cli("network", "create", "clinet")
        assert r.returncode == 6 and "already exists" in r.stderr
        r = run_cli("network", "ls", "--format", "json")
        row = json.loads(r.stdout.splitlines()[0])
        assert row["Name"] == "clinet" and row["Internal"] and row["Subnets"] == [
            "10.241.0.0/24"]
        assert run_cli("network", "ls", "-q", "-f", "label=nope").stdout == ""
        doc = json.loads(run_cli("network", "inspect", "clinet").stdout)[0]
        assert doc["IPAM"]["Config"][0]["Gateway"] == "10.241.0.9"
        assert doc["Labels"] == {"com.docker.compose.project": "p"}
        # connect/disconnect a running "container" (its netns handle)
        handle = netns.handle_path(state_paths.run_dir, "f00dcafe" * 8)
        netns.create(handle)
        try:
            r = run_cli("network", "connect", "--alias", "svc", "--ip", "10.241.0.50",
                        "clinet", "f00dcafe")
            assert r.returncode == 0, r
            doc = json.loads(run_cli("network", "inspect", "clinet").stdout)[0]
            ep = doc["Containers"]["f00dcafe" * 8]
            assert ep["IPv4Address"] == "10.241.0.50/24" and ep["Aliases"] == ["svc"]
            r = run_cli("network", "rm", "clinet")
            assert r.returncode == 6 and "active endpoints" in r.stderr
            assert run_cli("network", "disconnect", "clinet", "f00dcafe").returncode == 0
            r = run_cli("network", "disconnect", "clinet", "f00dcafe")
            assert r.returncode == 4
        finally:
            netns.delete(handle)
        r = run_cli("network", "connect", "clinet", "nosuchcontainer")
        assert r.returncode == 4 and "no running container" in r.stderr
        r = run_cli("network", "create", "--subnet", "10.241.0.0/16", "clash")
        assert r.returncode == 6 and "overlaps" in r.stderr
        r = run_cli("network", "create", "--subnet", "bogus", "bad")
        assert r.returncode == 3 and "invalid subnet" in r.stderr
    finally:
        r = run_cli("network", "rm", "clinet")
    assert r.returncode == 0, r
    assert not os.path.isdir(f"/sys/class/net/{bridge}")
    assert run_cli("network", "rm", "-f", "clinet").returncode == 0
    assert run_cli("network", "rm", "clinet").returncode == 4


def test_network_prune_keeps_used_and_unlabelled(run_cli):
    for name, label in (("keep", "x=1"), ("go", "y=1"), ("go2", "y=2")):
        assert run_cli("network", "create", "--label", label, name).returncode == 0
    r = run_cli("network", "prune", "-f", "--filter", "label=y")
    assert r.returncode == 0 and "go\n" in r.stdout and "go2" in r.stdout
    assert "keep" not in r.stdout
    r = run_cli("network", "prune", "-f")
    assert "keep" in r.stdout
    assert run_cli("network", "ls", "-q").stdout == ""
