"""Snapshot of the host objects pycompose can create, to prove tests leak none.

The same kinds the project's before-stop hook scans (mounts, veth and bridge
interfaces, named network namespaces, processes in other pid namespaces, cgroup
directories named ``*pycompose*``) plus our nftables tables.  A diff lists what
appeared and is still there.

During parallel development on one machine other work may create such objects too;
set ``PYCOMPOSE_LEAKCHECK=warn`` there.  CI runs strict.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _mounts() -> set[str]:
    out = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            out.add(f"{fields[4]} ({line.split(' - ')[1].split()[0]})")
    return out


def _links(kind: str) -> set[str]:
    try:
        res = subprocess.run(["ip", "-o", "link", "show", "type", kind],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {line.split(":")[1].strip().split("@")[0] for line in res.stdout.splitlines()
            if ":" in line}


def _nft_tables() -> set[str]:
    """Our NAT tables (``inet pycompose_<root hash>``): removed with the last network."""
    try:
        res = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {line.strip() for line in res.stdout.splitlines() if "pycompose" in line}


def _netns() -> set[str]:
    d = Path("/run/netns")
    return {p.name for p in d.iterdir()} if d.is_dir() else set()


def _foreign_pidns_processes() -> set[str]:
    own = os.readlink("/proc/self/ns/pid")
    out = set()
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if os.readlink(p / "ns" / "pid") != own:
                out.add(f"pid {p.name} {(p / 'comm').read_text().strip()}")
        except OSError:
            continue
    return out


def _cgroups() -> set[str]:
    out = set()
    if not CGROUP_ROOT.is_dir():
        return out
    for top in CGROUP_ROOT.iterdir():
        for dirpath, dirnames, _ in os.walk(top):
            depth = Path(dirpath).relative_to(top).parts
            if len(depth) >= 3:
                dirnames.clear()
            for d in dirnames:
                if "pycompose" in d.lower():
                    out.add(os.path.join(dirpath, d))
    return out


def snapshot() -> dict[str, set[str]]:
    return {
        "mount": _mounts(),
        "veth": _links("veth"),
        "bridge": _links("bridge"),
        "netns": _netns(),
        "nft": _nft_tables(),
        "process": _foreign_pidns_processes(),
        "cgroup": _cgroups(),
    }


def diff(before: dict[str, set[str]], after: dict[str, set[str]]) -> list[tuple[str, str]]:
    return [(kind, item) for kind in after
            for item in sorted(after[kind] - before.get(kind, set()))]
