"""cgroup drivers on the real kernel: limits that bite, freezer, kill, stats, cleanup.

v1 tests run on legacy/hybrid hosts (like the development VM); the v2 tests run
wherever the unified hierarchy offers the needed controllers, and skip otherwise.
Every test removes its cgroups; the fixture asserts nothing is left.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime import cgroups
from runtime.spec import Resources
from tests.conftest import needs_root

pytestmark = [pytest.mark.integration, needs_root]

LAYOUT = cgroups.detect()


def _v2_ready() -> str | None:
    if LAYOUT.version != 2:
        what = "hybrid (v1 controllers + empty unified mount)" if LAYOUT.hybrid else "v1"
        return f"host cgroups are {what}; v2 driver covered by the unit tests on a fake tree"
    missing = {"memory", "pids", "cpu", "cpuset"} - LAYOUT.v2_controllers
    if missing:
        return f"cgroup2 lacks controllers {sorted(missing)}"
    root = Path(LAYOUT.v2_root)
    if (root / "cgroup.type").exists() and (root / "cgroup.procs").read_text().strip():
        # a cgroup namespace whose root holds processes (e.g. inside a container):
        # v2's "no internal processes" rule forbids enabling controllers below it
        return "cgroup2 root is a non-root cgroup with processes (nested container)"
    return None


@pytest.fixture(params=[1, 2], ids=["v1", "v2"])
def cg(request):
    if request.param == 1 and LAYOUT.version != 1:
        pytest.skip("host has no cgroup v1 hierarchies")
    if request.param == 2 and (reason := _v2_ready()):
        pytest.skip(reason)
    drv = cgroups.driver(layout=LAYOUT)
    cid = "pytest-" + secrets.token_hex(6)
    procs: list[subprocess.Popen] = []
    yield drv, cid, procs
    try:
        if drv.exists(cid):
            drv.kill_all(cid)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
        drv.destroy(cid, timeout=10)
    assert not any(os.path.exists(p) for p in drv.paths(cid)), "cgroup left behind"


def start_in(drv, cid, procs, argv, **kw) -> subprocess.Popen:
    """Start ``argv`` blocked on a stdin line, move it into the cgroup, then release it
    (so it never runs outside the cgroup)."""
    gate = ["sh", "-c", 'read _ && exec "$@"', "gate", *argv]
    p = subprocess.Popen(gate, stdin=subprocess.PIPE, **kw)
    procs.append(p)
    drv.add_process(cid, p.pid)
    p.stdin.write(b"go\n")
    p.stdin.flush()
    return p


def host_block_device() -> str | None:
    """A block device this (root) test process can open: the cgroup must then refuse it.
    (The root disk is often not openable at all, e.g. under a sandbox's LSM.)"""
    for name in sorted(os.listdir("/dev")):
        path = f"/dev/{name}"
        try:
            if not stat.S_ISBLK(os.stat(path).st_mode):
                continue
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
            return path
        except OSError:
            continue
    return None


OPEN_PROBE = 'head -c1 "$0" >/dev/null && echo opened; echo x >/dev/null && echo null-ok'


def test_memory_limit_oom_kills_and_is_detected(cg):
    drv, cid, procs = cg
    drv.create(cid, Resources(memory=32 << 20, memory_swap=32 << 20))
    before = drv.oom_counters(cid)
    # dd allocates and fills a 128 MiB buffer: far above the 32 MiB limit.
    p = start_in(drv, cid, procs, ["dd", "if=/dev/zero", "of=/dev/null", "bs=128M",
                                   "count=1"], stderr=subprocess.DEVNULL)
    assert p.wait(timeout=60) == -9
    after = drv.oom_counters(cid)
    assert after.oom_kill >= before.oom_kill + 1
    assert cgroups.oom_killed(before, after)


def test_within_limit_is_not_an_oom(cg):
    drv, cid, procs = cg
    drv.create(cid, Resources(memory=64 << 20, memory_swap=64 << 20))
    before = drv.oom_counters(cid)
    p = start_in(drv, cid, procs, ["dd", "if=/dev/zero", "of=/dev/null", "bs=1M", "count=8"],
                 stderr=subprocess.DEVNULL)
    assert p.wait(timeout=60) == 0
    assert not cgroups.oom_killed(before, drv.oom_counters(cid))


FORKER = """
import os, sys, time
n = 0
for _ in range(200):                       # bounded: never more than 200 forks
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    n += 1
print(n, flush=True)
time.sleep(60)
"""


def test_pids_limit_stops_a_fork_bomb(cg):
    drv, cid, procs = cg
    drv.create(cid, Resources(pids_limit=12))
    p = start_in(drv, cid, procs, [sys.executable, "-I", "-S", "-c", FORKER],
                 stdout=subprocess.PIPE)
    forked = int(p.stdout.readline())
    assert forked == 11                     # the forker itself is the 12th task
    stats = drv.stats(cid)
    assert (stats.pids_current, stats.pids_limit) == (12, 12)
    assert len(drv.processes(cid)) == 12
    drv.kill_all(cid)
    assert p.wait(timeout=10) == -9


COUNTER = """
import sys, time
n = 0
while True:
    n += 1
    with open(sys.argv[1], "w") as f:
        f.write(str(n))
    time.sleep(0.005)
"""


def _wait_change(path, old, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cur = path.read_text()
        except FileNotFoundError:
            cur = ""
        if cur and cur != old:
            return cur
        time.sleep(0.01)
    raise AssertionError(f"{path} did not change from {old!r}")


def test_freeze_and_thaw(cg, tmp_path):
    drv, cid, procs = cg
    drv.create(cid, Resources())
    out = tmp_path / "n"
    start_in(drv, cid, procs, [sys.executable, "-I", "-S", "-c", COUNTER, str(out)])
    _wait_change(out, "")
    drv.freeze(cid)
    frozen_at = out.read_text()
    time.sleep(0.3)
    assert out.read_text() == frozen_at     # nothing runs while frozen
    drv.thaw(cid)
    _wait_change(out, frozen_at)


def test_kill_all(cg):
    drv, cid, procs = cg
    drv.create(cid, Resources())
    ps = [start_in(drv, cid, procs, ["sleep", "300"]) for _ in range(3)]
    assert len(drv.processes(cid)) == 3
    drv.kill_all(cid)
    assert [p.wait(timeout=10) for p in ps] == [-9, -9, -9]
    deadline = time.monotonic() + 5
    while drv.processes(cid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert drv.processes(cid) == []


def test_stats_and_cpu_limit(cg, tmp_path):
    drv, cid, procs = cg
    drv.create(cid, Resources(memory=256 << 20, cpu_quota=20000, cpu_period=100000,
                              cpu_shares=512))
    burner = "import time\nt=time.monotonic()\nwhile time.monotonic()-t<30: pass"
    p = start_in(drv, cid, procs, [sys.executable, "-I", "-S", "-c", burner])
    first = drv.stats(cid)
    deadline = time.monotonic() + 10
    cur = first
    while cur.cpu_usage_ns - first.cpu_usage_ns < 20_000_000 and time.monotonic() < deadline:
        time.sleep(0.05)
        cur = drv.stats(cid)
    assert cur.cpu_usage_ns > first.cpu_usage_ns
    assert cgroups.cpu_percent(first, cur) > 0
    assert cur.memory_usage > 0 and cur.memory_limit == 256 << 20
    assert cur.pids_current == 1
    assert cgroups.net_io(p.pid, include_lo=True)       # the host netns has lo at least
    if drv.version == 1:
        mount = Path(LAYOUT.v1["cpu"], "pycompose", cid)
        assert (mount / "cpu.cfs_quota_us").read_text().strip() == "20000"
        assert (mount / "cpu.shares").read_text().strip() == "512"


def test_cpuset_and_devices(cg):
    drv, cid, procs = cg
    assert drv.create(cid, Resources(cpuset_cpus="0")) == []
    p = start_in(drv, cid, procs, ["sleep", "300"])
    assert os.sched_getaffinity(p.pid) == {0}
    if drv.version == 1:
        rules = Path(LAYOUT.v1["devices"], "pycompose", cid, "devices.list").read_text()
        assert "c 1:3 rwm" in rules and "a *:* rwm" not in rules
    dev = host_block_device()
    if dev is None:
        pytest.skip("no block device the host itself can open")
    probe = start_in(drv, cid, procs, ["sh", "-c", OPEN_PROBE, dev],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = probe.communicate(timeout=10)
    assert out.split() == [b"null-ok"]           # opened by the host, refused inside
    assert b"Operation not permitted" in err


# -- the v2 driver on the real kernel without resource controllers -------------------
# A hybrid host's unified mount holds no controllers, but every core cgroup2 feature
# works there: directories, cgroup.procs, cgroup.freeze, cgroup.kill, and the eBPF
# device program.  This runs the v2 driver for real on such hosts.

@pytest.fixture
def unified():
    if LAYOUT.version != 1 or LAYOUT.v2_root is None:
        pytest.skip("no separate cgroup2 mount (pure v2 hosts run the v2 params above)")
    from runtime.cgroups.v2 import CgroupV2

    drv = CgroupV2(LAYOUT.v2_root)
    cid = "pytest-" + secrets.token_hex(6)
    procs: list[subprocess.Popen] = []
    yield drv, cid, procs
    try:
        if drv.exists(cid):
            drv.kill_all(cid)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
        drv.destroy(cid, timeout=10)
    assert not os.path.exists(drv.paths(cid)[0])


def test_v2_core_features_on_unified_mount(unified, tmp_path):
    drv, cid, procs = unified
    warnings = drv.create(cid, Resources(memory=64 << 20, pids_limit=10))
    assert any("memory" in w for w in warnings) and any("pids" in w for w in warnings)
    out = tmp_path / "n"
    p = start_in(drv, cid, procs, [sys.executable, "-I", "-S", "-c", COUNTER, str(out)])
    assert drv.processes(cid) == [p.pid]
    _wait_change(out, "")
    drv.freeze(cid)
    frozen_at = out.read_text()
    time.sleep(0.3)
    assert out.read_text() == frozen_at
    drv.thaw(cid)
    _wait_change(out, frozen_at)
    drv.kill_all(cid)                       # cgroup.kill
    assert p.wait(timeout=10) == -9


def test_v2_device_filter_on_real_kernel(unified):
    drv, cid, procs = unified
    drv.create(cid, Resources())
    dev = host_block_device()
    if dev is None:
        pytest.skip("no block device the host itself can open")
    probe = start_in(drv, cid, procs, ["sh", "-c", OPEN_PROBE, dev],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = probe.communicate(timeout=10)
    assert out.split() == [b"null-ok"]
    assert b"Operation not permitted" in err


def test_v2_privileged_has_no_device_filter(unified):
    drv, cid, procs = unified
    drv.create(cid, Resources(), privileged=True)
    dev = host_block_device()
    if dev is None:
        pytest.skip("no block device the host itself can open")
    probe = start_in(drv, cid, procs, ["sh", "-c", OPEN_PROBE, dev], stdout=subprocess.PIPE)
    assert probe.communicate(timeout=10)[0].split() == [b"opened", b"null-ok"]
