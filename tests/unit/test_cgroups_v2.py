"""cgroup v2 driver against a temporary tree laid out like the kernel's unified files."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.cgroups import oom_killed
from runtime.cgroups.v2 import CgroupV2, shares_to_weight
from runtime.errors import KernelError, RuntimeFailure
from runtime.spec import Resources
from tests import cgroupfs

CID = "deadbeef"


class DeviceFilters:
    """Records device-filter attachments (a temp dir cannot take a BPF program)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def __call__(self, cgroup_dir: str, rules: list[str]) -> None:
        self.calls.append((cgroup_dir, rules))


def make(root: Path, filters: DeviceFilters | None = None) -> CgroupV2:
    return CgroupV2(root, rmdir=cgroupfs.fake_rmdir, device_filter=filters or DeviceFilters())


@pytest.fixture
def tree(tmp_path: Path):
    root = cgroupfs.v2_root(tmp_path / "cgroup")
    cgroupfs.v2_group(root / "pycompose")
    group = cgroupfs.v2_group(root / "pycompose" / CID)
    return root, group, make(root)


def test_device_filter_attached_unless_privileged(tmp_path: Path):
    from runtime.cgroups import devices

    root = cgroupfs.v2_root(tmp_path / "cg")
    cgroupfs.v2_group(root / "pycompose")
    cgroupfs.v2_group(root / "pycompose" / "a")
    cgroupfs.v2_group(root / "pycompose" / "b")
    filters = DeviceFilters()
    drv = make(root, filters)
    drv.create("a", Resources())
    drv.create("b", Resources(), privileged=True)
    assert filters.calls == [(str(root / "pycompose" / "a"), list(devices.DEFAULT_ALLOW))]


def test_device_filter_failure_removes_the_cgroup(tmp_path: Path):
    import errno

    root = cgroupfs.v2_root(tmp_path / "cg")
    cgroupfs.v2_group(root / "pycompose")
    cgroupfs.v2_group(root / "pycompose" / "a")

    def refuse(cgroup_dir, rules):
        raise KernelError("bpf(5)", errno.EPERM)

    with pytest.raises(KernelError):
        CgroupV2(root, rmdir=cgroupfs.fake_rmdir, device_filter=refuse).create("a", Resources())
    assert not (root / "pycompose").exists()


def cat(p: Path) -> str:
    return p.read_text().strip()


def test_enables_controllers_down_the_tree(tree):
    root, _, drv = tree
    drv.create(CID, Resources())
    # only those the root offers and the runtime uses; hugetlb/rdma/misc are left alone
    assert cat(root / "cgroup.subtree_control") == "+cpu +cpuset +io +memory +pids"
    assert cat(root / "pycompose" / "cgroup.subtree_control") == "+cpu +cpuset +io +memory +pids"


def test_enables_only_missing_controllers(tree):
    root, _, drv = tree
    (root / "cgroup.subtree_control").write_text("cpu memory\n")
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    drv.create(CID, Resources())
    assert cat(root / "cgroup.subtree_control") == "+pids"


def test_limits(tree):
    _, g, drv = tree
    res = Resources(memory=256 << 20, memory_reservation=128 << 20, memory_swap=512 << 20,
                    cpu_quota=50000, cpu_period=100000, cpu_shares=1024, cpuset_cpus="0-1",
                    cpuset_mems="0", pids_limit=100)
    assert drv.create(CID, res) == []
    assert cat(g / "memory.max") == str(256 << 20)
    assert cat(g / "memory.low") == str(128 << 20)
    assert cat(g / "memory.swap.max") == str(256 << 20)      # swap only = memsw - mem
    assert cat(g / "cpu.max") == "50000 100000"
    assert cat(g / "cpu.weight") == "100"
    assert cat(g / "cpuset.cpus") == "0-1"
    assert cat(g / "cpuset.mems") == "0"
    assert cat(g / "pids.max") == "100"


def test_memory_swap_semantics(tree):
    _, g, drv = tree
    drv.update(CID, Resources(memory=100, memory_swap=100))
    assert cat(g / "memory.swap.max") == "0"                   # no swap at all
    drv.update(CID, Resources(memory=100, memory_swap=-1))
    assert cat(g / "memory.swap.max") == "max"
    drv.update(CID, Resources(memory=100))
    assert cat(g / "memory.swap.max") == "100"                 # docker default: 2x memory
    with pytest.raises(RuntimeFailure):
        drv.update(CID, Resources(memory=100, memory_swap=50))


def test_cpus_without_period_and_unlimited(tree):
    _, g, drv = tree
    drv.update(CID, Resources(cpu_quota=150000))
    assert cat(g / "cpu.max") == "150000 100000"
    drv.update(CID, Resources(cpu_quota=-1))
    assert cat(g / "cpu.max") == "max 100000"


def test_oom_kill_disable_is_a_warning(tree):
    _, _, drv = tree
    warnings = drv.create(CID, Resources(memory=100, oom_kill_disable=True))
    assert any("oom_kill_disable" in w for w in warnings)


def test_missing_controller_is_a_warning(tmp_path):
    root = cgroupfs.v2_root(tmp_path / "cg", controllers=("cpu", "memory"))
    cgroupfs.v2_group(root / "pycompose", controllers=("cpu", "memory"))
    cgroupfs.v2_group(root / "pycompose" / "x", controllers=("cpu", "memory"))
    drv = make(root)
    warnings = drv.create("x", Resources(pids_limit=5))
    assert warnings == ["pids controller not available: pids limit discarded"]
    assert cat(root / "cgroup.subtree_control") == "+cpu +memory"


# 256 -> 35 is an independently published value of runc's conversion.
@pytest.mark.parametrize("shares,weight", [(2, 1), (1024, 100), (262144, 10000),
                                           (256, 35), (0, 0), (1, 1),
                                           (10**6, 10000)])
def test_shares_to_weight(shares, weight):
    assert shares_to_weight(shares) == weight


def test_shares_to_weight_is_monotonic():
    ws = [shares_to_weight(s) for s in range(2, 262145, 97)]
    assert ws == sorted(ws) and ws[0] >= 1 and ws[-1] <= 10000


def test_freeze_waits_for_frozen_event(tree):
    _, g, drv = tree
    drv.create(CID, Resources())
    with pytest.raises(RuntimeFailure):
        drv.freeze(CID, timeout=0.05)                 # events never say frozen 1
    assert cat(g / "cgroup.freeze") == "0"            # rolled back
    (g / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    drv.freeze(CID)
    assert cat(g / "cgroup.freeze") == "1"
    drv.thaw(CID)
    assert cat(g / "cgroup.freeze") == "0"


def test_kill_all_uses_cgroup_kill(tree):
    _, g, drv = tree
    drv.create(CID, Resources())
    drv.kill_all(CID)
    assert cat(g / "cgroup.kill") == "1"


def test_stats_and_oom(tree):
    _, g, drv = tree
    drv.create(CID, Resources(memory=1 << 20))
    (g / "cpu.stat").write_text("usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n")
    (g / "memory.current").write_text("900000\n")
    (g / "memory.stat").write_text("anon 100\nfile 50\ninactive_file 100000\n")
    (g / "pids.current").write_text("4\n")
    (g / "io.stat").write_text("8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
                               "8:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n")
    s = drv.stats(CID)
    assert s.cpu_usage_ns == 2_500_000
    assert (s.memory_usage, s.memory_limit, s.memory_working_set) == (900000, 1 << 20, 800000)
    assert (s.pids_current, s.pids_limit) == (4, None)
    assert (s.blkio_read, s.blkio_write) == (101, 202)
    before = drv.oom_counters(CID)
    (g / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
    after = drv.oom_counters(CID)
    assert (after.oom, after.oom_kill) == (1, 1)
    assert oom_killed(before, after) and not oom_killed(after, after)


def test_destroy_and_parent_cleanup(tree):
    root, _, drv = tree
    drv.create(CID, Resources())
    drv.add_process(CID, 77)
    with pytest.raises(KernelError):
        drv.destroy(CID, timeout=0.02)
    (root / "pycompose" / CID / "cgroup.procs").write_text("")   # the process exited
    drv.destroy(CID)
    assert not (root / "pycompose").exists()
    assert (root / "cgroup.controllers").exists()


def test_ebusy_on_subtree_control_has_a_hint(tmp_path, monkeypatch):
    import errno

    import runtime.cgroups.v2 as v2

    root = cgroupfs.v2_root(tmp_path / "cg")

    def busy(path, value):
        raise KernelError("write", errno.EBUSY, str(path))

    monkeypatch.setattr(v2, "write", busy)
    with pytest.raises(KernelError) as ei:
        make(root).create("y", Resources())
    assert "no internal processes" in (ei.value.hint or "")
    assert not (root / "pycompose").exists()


def test_containers_lists_children(tree):
    _, _, drv = tree
    assert drv.containers() == [CID]
    drv.destroy(CID)
    assert drv.containers() == []
