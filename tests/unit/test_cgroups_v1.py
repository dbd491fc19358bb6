"""cgroup v1 driver against a temporary tree laid out like the kernel's files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.cgroups import devices, oom_killed
from runtime.cgroups.v1 import CgroupV1
from runtime.errors import KernelError, UsageError
from runtime.spec import Resources
from tests import cgroupfs

CID = "c0ffee"


@pytest.fixture
def tree(tmp_path: Path):
    mounts = cgroupfs.v1_root(tmp_path / "cgroup")
    cgroupfs.v1_group(mounts, "pycompose")
    cgroupfs.v1_group(mounts, f"pycompose/{CID}")
    drv = CgroupV1(mounts, rmdir=cgroupfs.fake_rmdir)
    return mounts, drv


def cat(p: Path) -> str:
    return p.read_text().strip()


def test_create_writes_limits_in_each_hierarchy(tree):
    mounts, drv = tree
    res = Resources(memory=64 << 20, memory_reservation=32 << 20, memory_swap=128 << 20,
                    cpu_quota=150000, cpu_period=100000, cpu_shares=512, cpuset_cpus="1",
                    pids_limit=42)
    assert drv.create(CID, res) == []
    g = {c: m / "pycompose" / CID for c, m in mounts.items()}
    assert cat(g["memory"] / "memory.limit_in_bytes") == str(64 << 20)
    assert cat(g["memory"] / "memory.memsw.limit_in_bytes") == str(128 << 20)
    assert cat(g["memory"] / "memory.soft_limit_in_bytes") == str(32 << 20)
    assert cat(g["cpu"] / "cpu.cfs_quota_us") == "150000"
    assert cat(g["cpu"] / "cpu.cfs_period_us") == "100000"
    assert cat(g["cpu"] / "cpu.shares") == "512"
    assert cat(g["cpuset"] / "cpuset.cpus") == "1"
    assert cat(g["pids"] / "pids.max") == "42"
    assert drv.paths(CID) == [str(g[c]) for c in mounts]


def test_cpuset_copied_from_parent_before_use(tree):
    mounts, drv = tree
    drv.create(CID, Resources())
    assert cat(mounts["cpuset"] / "pycompose" / "cpuset.cpus") == "0-3"
    assert cat(mounts["cpuset"] / "pycompose" / CID / "cpuset.mems") == "0"
    assert cat(mounts["cpuset"] / "pycompose" / CID / "cpuset.cpus") == "0-3"


def test_default_swap_is_twice_memory(tree):
    mounts, drv = tree
    drv.create(CID, Resources(memory=100))
    assert cat(mounts["memory"] / "pycompose" / CID / "memory.memsw.limit_in_bytes") == "200"


class RecordingWrites:
    def __init__(self, monkeypatch):
        import runtime.cgroups.v1 as v1

        self.order: list[str] = []
        real = v1.write

        def rec(path, value):
            self.order.append(f"{Path(path).name}={value}")
            real(path, value)

        monkeypatch.setattr(v1, "write", rec)


def test_memsw_written_first_when_growing(tree, monkeypatch):
    mounts, drv = tree
    mem = mounts["memory"] / "pycompose" / CID
    (mem / "memory.limit_in_bytes").write_text("100\n")      # current limit
    rec = RecordingWrites(monkeypatch)
    drv.update(CID, Resources(memory=300, memory_swap=600))
    assert rec.order[:2] == ["memory.memsw.limit_in_bytes=600", "memory.limit_in_bytes=300"]


def test_memory_written_first_when_shrinking(tree, monkeypatch):
    mounts, drv = tree
    mem = mounts["memory"] / "pycompose" / CID
    (mem / "memory.limit_in_bytes").write_text("1000\n")
    rec = RecordingWrites(monkeypatch)
    drv.update(CID, Resources(memory=300, memory_swap=600))
    assert rec.order[:2] == ["memory.limit_in_bytes=300", "memory.memsw.limit_in_bytes=600"]


def test_unlimited_swap_raises_memsw_first(tree, monkeypatch):
    _, drv = tree
    rec = RecordingWrites(monkeypatch)
    drv.update(CID, Resources(memory=300, memory_swap=-1))
    assert rec.order[:2] == ["memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=300"]


def test_swap_without_accounting_is_a_warning(tree):
    mounts, drv = tree
    (mounts["memory"] / "pycompose" / CID / "memory.memsw.limit_in_bytes").unlink()
    warnings = drv.create(CID, Resources(memory=100, memory_swap=300))
    assert any("swap" in w for w in warnings)
    assert cat(mounts["memory"] / "pycompose" / CID / "memory.limit_in_bytes") == "100"


def test_devices_default_allow_list(tree):
    mounts, drv = tree
    drv.create(CID, Resources())
    d = mounts["devices"] / "pycompose" / CID
    assert cat(d / "devices.deny") == "a"
    rules = (d / "devices.allow").read_text().splitlines()
    assert rules == list(devices.DEFAULT_ALLOW)
    assert "c 1:3 rwm" in rules and "c 136:* rwm" in rules


def test_devices_privileged_allows_all(tree):
    mounts, drv = tree
    drv.create(CID, Resources(), privileged=True)
    assert cat(mounts["devices"] / "pycompose" / CID / "devices.allow") == "a *:* rwm"


def test_oom_kill_disable_and_counters(tree):
    mounts, drv = tree
    drv.create(CID, Resources(memory=100, oom_kill_disable=True))
    mem = mounts["memory"] / "pycompose" / CID
    assert cat(mem / "memory.oom_control") == "1"
    (mem / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    before = drv.oom_counters(CID)
    (mem / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    (mem / "memory.failcnt").write_text("17\n")
    after = drv.oom_counters(CID)
    assert (after.oom_kill, after.failcnt) == (2, 17)
    assert oom_killed(before, after)
    assert not oom_killed(after, after)


def test_add_process_and_processes(tree):
    mounts, drv = tree
    drv.create(CID, Resources())
    drv.add_process(CID, 4242)
    for m in mounts.values():
        assert cat(m / "pycompose" / CID / "cgroup.procs") == "4242"
    assert drv.processes(CID) == [4242]


def test_freeze_thaw(tree):
    mounts, drv = tree
    drv.create(CID, Resources())
    drv.freeze(CID)
    assert cat(mounts["freezer"] / "pycompose" / CID / "freezer.state") == "FROZEN"
    drv.thaw(CID)
    assert cat(mounts["freezer"] / "pycompose" / CID / "freezer.state") == "THAWED"


def test_stats(tree):
    mounts, drv = tree
    drv.create(CID, Resources(memory=1 << 30, pids_limit=10))
    g = {c: m / "pycompose" / CID for c, m in mounts.items()}
    (g["cpuacct"] / "cpuacct.usage").write_text("123456789\n")
    (g["memory"] / "memory.usage_in_bytes").write_text("5000\n")
    (g["memory"] / "memory.stat").write_text("cache 10\ntotal_inactive_file 1000\n")
    (g["pids"] / "pids.current").write_text("3\n")
    (g["blkio"] / "blkio.throttle.io_service_bytes_recursive").write_text(
        "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:16 Read 1\nTotal 12289\n")
    s = drv.stats(CID)
    assert s.cpu_usage_ns == 123456789
    assert (s.memory_usage, s.memory_limit, s.memory_working_set) == (5000, 1 << 30, 4000)
    assert (s.pids_current, s.pids_limit) == (3, 10)
    assert (s.blkio_read, s.blkio_write) == (4097, 8192)


def test_unlimited_memory_reads_as_none(tree):
    _, drv = tree
    drv.create(CID, Resources())
    assert drv.stats(CID).memory_limit is None
    assert drv.stats(CID).pids_limit is None


def test_destroy_removes_child_and_empty_parent(tree):
    mounts, drv = tree
    drv.create(CID, Resources())
    drv.destroy(CID)
    for m in mounts.values():
        assert not (m / "pycompose").exists()
    assert not drv.exists(CID)


def test_destroy_keeps_parent_used_by_another_container(tree):
    mounts, drv = tree
    cgroupfs.v1_group(mounts, "pycompose/other")
    drv.create(CID, Resources())
    drv.destroy(CID)
    assert all((m / "pycompose" / "other").is_dir() for m in mounts.values())
    assert not any((m / "pycompose" / CID).exists() for m in mounts.values())


def test_destroy_waits_for_processes_then_fails(tree):
    mounts, drv = tree
    drv.create(CID, Resources())
    (mounts["pids"] / "pycompose" / CID / "cgroup.procs").write_text("999\n")
    with pytest.raises(KernelError) as ei:
        drv.destroy(CID, timeout=0.05)
    assert "EBUSY" in str(ei.value) or "busy" in str(ei.value).lower()
    assert (mounts["pids"] / "pycompose" / CID).is_dir()
    assert not (mounts["memory"] / "pycompose" / CID).exists()   # the others are gone


def test_comounted_cpu_cpuacct(tmp_path):
    mounts = cgroupfs.v1_root(tmp_path / "cg", comount_cpu=True)
    cgroupfs.v1_group({"cpu": mounts["cpu"]}, "pycompose/x")
    cgroupfs.v1_group({"cpuacct": mounts["cpu"]}, "pycompose/x")
    drv = CgroupV1(mounts, rmdir=cgroupfs.fake_rmdir)
    assert mounts["cpu"] == mounts["cpuacct"]
    paths = drv.paths("x")
    assert len(paths) == len(set(paths)) == len(set(mounts.values()))


def test_failed_create_leaves_nothing(tmp_path):
    mounts = cgroupfs.v1_root(tmp_path / "cg")
    cgroupfs.v1_group(mounts, "pycompose")
    cgroupfs.v1_group(mounts, "pycompose/bad")
    (mounts["pids"] / "pycompose" / "bad" / "pids.max").unlink()   # the write will fail
    drv = CgroupV1(mounts, rmdir=cgroupfs.fake_rmdir)
    with pytest.raises(KernelError):
        drv.create("bad", Resources(pids_limit=5))
    assert not any((m / "pycompose").exists() for m in mounts.values())


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "x" * 200])
def test_rejects_bad_ids(tree, bad):
    _, drv = tree
    with pytest.raises(UsageError):
        drv.create(bad, Resources())


def test_kill_all_without_processes_is_noop(tree):
    _, drv = tree
    drv.create(CID, Resources())
    drv.kill_all(CID)
    assert os.path.exists(tree[0]["freezer"] / "pycompose" / CID / "freezer.state")
    assert (tree[0]["freezer"] / "pycompose" / CID / "freezer.state").read_text() == "THAWED"


def test_containers_lists_children(tree):
    mounts, drv = tree
    assert drv.containers() == [CID]
    cgroupfs.v1_group({"pids": mounts["pids"]}, "pycompose/orphan")
    assert drv.containers() == [CID, "orphan"]
    drv.destroy(CID)
    assert drv.containers() == ["orphan"]
