"""Run-time detection of the cgroup layout, including hybrid hosts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime import cgroups
from runtime.cgroups.v1 import CgroupV1
from runtime.cgroups.v2 import CgroupV2
from runtime.errors import PermissionRequired
from tests import cgroupfs


def test_pure_v2(tmp_path: Path):
    root = cgroupfs.v2_root(tmp_path / "cg")
    layout = cgroups.detect(root)
    assert layout.version == 2 and not layout.hybrid
    assert "memory" in layout.v2_controllers
    assert isinstance(cgroups.driver(layout=layout), CgroupV2)


def test_hybrid_uses_v1_and_ignores_empty_unified(tmp_path: Path):
    root = tmp_path / "cg"
    cgroupfs.v1_root(root, unified=True)
    layout = cgroups.detect(root)
    assert layout.version == 1 and layout.hybrid
    assert layout.v2_root == str((root / "unified").resolve())
    assert layout.v2_controllers == frozenset()
    assert set(layout.v1) == {"memory", "cpu", "cpuacct", "cpuset", "pids", "freezer",
                              "blkio", "devices"}
    assert "systemd" not in layout.v1
    drv = cgroups.driver(layout=layout)
    assert isinstance(drv, CgroupV1)


def test_legacy_v1_with_comounted_cpu(tmp_path: Path):
    root = tmp_path / "cg"
    cgroupfs.v1_root(root, unified=False, comount_cpu=True)
    layout = cgroups.detect(root)
    assert layout.version == 1 and not layout.hybrid
    assert layout.v1["cpu"] == layout.v1["cpuacct"] == str((root / "cpu,cpuacct").resolve())


def test_no_cgroups(tmp_path: Path):
    layout = cgroups.detect(tmp_path / "missing")
    assert layout.version == 0
    with pytest.raises(PermissionRequired):
        cgroups.driver(layout=layout)


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup"), reason="no /sys/fs/cgroup")
def test_this_host_matches_mountinfo():
    """statfs-based detection agrees with /proc/self/mountinfo on the real host."""
    layout = cgroups.detect()
    fstypes = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstypes[fields[4]] = line.split(" - ")[1].split()[0]
    if fstypes.get("/sys/fs/cgroup") == "cgroup2":
        assert layout.version == 2
    elif any(t == "cgroup" for t in fstypes.values()):
        assert layout.version == 1
        for path in set(layout.v1.values()):
            assert fstypes.get(path) == "cgroup"
        if "/sys/fs/cgroup/unified" in fstypes:
            assert layout.hybrid


def test_cpu_percent_and_net_io():
    from runtime.cgroups import CgroupStats, cpu_percent, net_io

    a = CgroupStats(1_000_000_000, 0, 0, None, 0, 0, None, 0, 0)
    b = CgroupStats(2_000_000_000, 1_500_000_000, 0, None, 0, 0, None, 0, 0)
    assert cpu_percent(a, b) == pytest.approx(150.0)
    assert cpu_percent(b, b) == 0.0
    own = net_io(os.getpid(), include_lo=True)
    assert "lo" in own and all(len(v) == 2 for v in own.values())
    assert "lo" not in net_io(os.getpid())
