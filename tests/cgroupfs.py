"""Temporary directory trees laid out like the kernel's cgroup files, for driver tests.

The kernel creates a cgroup's interface files when the directory is made; a plain
directory cannot, so tests seed the container's directories up front (the drivers
``mkdir`` with ``exist_ok``).  :func:`fake_rmdir` stands in for ``rmdir`` on cgroupfs:
it refuses while processes or child groups remain and otherwise drops the interface
files with the directory.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

V2_CONTROLLERS = ("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc")


def _files(d: Path, files: dict[str, str]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (d / name).write_text(content)


def v2_root(root: Path, controllers: tuple[str, ...] = V2_CONTROLLERS) -> Path:
    _files(root, {"cgroup.controllers": " ".join(controllers) + "\n",
                  "cgroup.subtree_control": "", "cgroup.procs": "1\n"})
    return root


def v2_group(d: Path, controllers: tuple[str, ...] = ("cpuset", "cpu", "io", "memory", "pids"),
             *, swap: bool = True, kill: bool = True) -> Path:
    files = {
        "cgroup.controllers": " ".join(controllers) + "\n", "cgroup.subtree_control": "",
        "cgroup.procs": "", "cgroup.freeze": "0\n", "cgroup.events": "populated 0\nfrozen 0\n",
        "memory.max": "max\n", "memory.low": "0\n", "memory.current": "0\n",
        "memory.stat": "anon 0\nfile 0\ninactive_file 0\n",
        "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
        "cpu.max": "max 100000\n", "cpu.weight": "100\n",
        "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
        "cpuset.cpus": "", "cpuset.mems": "", "pids.max": "max\n", "pids.current": "0\n",
        "io.stat": "",
    }
    if swap:
        files["memory.swap.max"] = "max\n"
    if kill:
        files["cgroup.kill"] = ""
    _files(d, files)
    return d


V1_FILES: dict[str, dict[str, str]] = {
    "memory": {"memory.limit_in_bytes": "9223372036854771712\n",
               "memory.memsw.limit_in_bytes": "9223372036854771712\n",
               "memory.soft_limit_in_bytes": "9223372036854771712\n",
               "memory.usage_in_bytes": "0\n", "memory.failcnt": "0\n",
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
               "memory.stat": "cache 0\nrss 0\ntotal_inactive_file 0\n"},
    "cpu": {"cpu.cfs_period_us": "100000\n", "cpu.cfs_quota_us": "-1\n",
            "cpu.shares": "1024\n"},
    "cpuacct": {"cpuacct.usage": "0\n"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "pids": {"pids.max": "max\n", "pids.current": "0\n"},
    "freezer": {"freezer.state": "THAWED\n"},
    "blkio": {"blkio.throttle.io_service_bytes_recursive": "Total 0\n"},
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm\n"},
}


def v1_root(root: Path, controllers: tuple[str, ...] = tuple(V1_FILES), *,
            unified: bool = True, comount_cpu: bool = False) -> dict[str, Path]:
    """A hybrid-style ``/sys/fs/cgroup``: one dir per hierarchy (optionally
    ``cpu,cpuacct`` with symlinks), ``systemd``, and an empty ``unified`` cgroup2 mount."""
    root.mkdir(parents=True, exist_ok=True)
    mounts: dict[str, Path] = {}
    for c in controllers:
        if comount_cpu and c in ("cpu", "cpuacct"):
            d = root / "cpu,cpuacct"
            if not d.exists():
                _files(d, {"cgroup.procs": "1\n", "tasks": "1\n"})
                os.symlink("cpu,cpuacct", root / "cpu")
                os.symlink("cpu,cpuacct", root / "cpuacct")
        else:
            d = root / c
            _files(d, {"cgroup.procs": "1\n", "tasks": "1\n"})
        if c == "cpuset":
            _files(d, {"cpuset.cpus": "0-3\n", "cpuset.mems": "0\n"})
        mounts[c] = d
    _files(root / "systemd", {"cgroup.procs": "1\n"})
    if unified:
        _files(root / "unified", {"cgroup.controllers": "", "cgroup.procs": "1\n",
                                  "cgroup.subtree_control": ""})
    return mounts


def v1_group(mounts: dict[str, Path], rel: str) -> None:
    for c, m in mounts.items():
        _files(m / rel, {"cgroup.procs": "", "tasks": "", **V1_FILES.get(c, {})})


def fake_rmdir(path: str) -> None:
    """rmdir as cgroupfs does it: EBUSY with processes, ENOTEMPTY with child groups."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
    if any(c.is_dir() for c in p.iterdir()):
        raise OSError(errno.ENOTEMPTY, "Directory not empty", path)
    procs = p / "cgroup.procs"
    if procs.exists() and procs.read_text().strip():
        raise OSError(errno.EBUSY, "Device or resource busy", path)
    for f in p.iterdir():
        f.unlink()
    p.rmdir()
