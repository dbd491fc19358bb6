"""What this host offers the runtime, and what each missing piece disables.

``check()`` is the runtime's API behind ``pycompose system check``; it only reads
files under /proc and /sys, looks up binaries on PATH and opens one netlink socket: it
needs no root and changes nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

from runtime import cgroups

NAMESPACES = ("mnt", "pid", "net", "uts", "ipc", "cgroup", "user")
# cgroup controllers the runtime uses, and what their absence disables.
CONTROLLER_USES = {
    "memory": "mem_limit, memswap_limit, mem_reservation, OOM detection, memory stats",
    "cpu": "cpus, cpu_shares, cpu_quota/cpu_period",
    "cpuacct": "CPU usage in stats (v1)",
    "cpuset": "cpuset",
    "pids": "pids_limit and pids stats",
    "freezer": "pause/unpause and race-free kill of all container processes (v1)",
    "blkio": "block I/O stats (v1)",
    "io": "block I/O stats (v2)",
    "devices": "the device allow-list (v1)",
}


@dataclass(frozen=True)
class Feature:
    """One finding.  ``required``: containers cannot start without it."""

    name: str
    present: bool
    detail: str = ""
    disables: str = ""
    required: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


_SYMBOLS: set[str] | None = None
# One function each module defines, to spot built-in code that has no /sys/module entry.
_MODULE_SYMBOL = {"bridge": "br_dev_xmit", "veth": "veth_newlink", "overlay": "ovl_fill_super"}


def _kernel_symbols() -> set[str]:
    global _SYMBOLS
    if _SYMBOLS is None:
        wanted = set(_MODULE_SYMBOL.values())
        found: set[str] = set()
        try:
            with open("/proc/kallsyms") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 3 and parts[2] in wanted:
                        found.add(parts[2])
        except OSError:
            pass
        _SYMBOLS = found
    return _SYMBOLS


def _kernel_module(name: str, relpath: str) -> tuple[bool, str]:
    """(usable, how): loaded (/sys/module), built in (modules.builtin or its code in
    /proc/kallsyms), or loadable from /lib/modules."""
    if os.path.isdir(f"/sys/module/{name}"):
        return True, "loaded"
    base = Path("/lib/modules") / os.uname().release
    if relpath in _read(str(base / "modules.builtin")) or \
            _MODULE_SYMBOL.get(name) in _kernel_symbols():
        return True, "built in"
    if relpath in _read(str(base / "modules.dep")):
        return True, "module available (loaded on first use)"
    return False, "not loaded and no module found"


def _root() -> Feature:
    root = os.geteuid() == 0
    return Feature("root", root, "running as root" if root else f"running as uid {os.geteuid()}",
                   "" if root else "every command that creates containers, networks or mounts "
                   "(rootless mode is not implemented yet)", required=True)


def _namespaces() -> list[Feature]:
    out = []
    for ns in NAMESPACES:
        present = os.path.exists(f"/proc/self/ns/{ns}")
        detail = ""
        disables = f"the {ns} namespace: containers cannot be isolated" if not present else ""
        required = ns in ("mnt", "pid", "net", "uts", "ipc")
        if ns == "user" and present:
            limit = _read("/proc/sys/user/max_user_namespaces").strip()
            if limit == "0":
                present, detail = False, "user.max_user_namespaces = 0"
            else:
                detail = f"max_user_namespaces = {limit or '?'}"
        if ns in ("user", "cgroup") and not present:
            disables = ("rootless containers (later work)" if ns == "user"
                        else "a private cgroup view inside containers")
        out.append(Feature(f"namespace.{ns}", present, detail, disables, required))
    return out


def _overlay() -> Feature:
    if "overlay" in _read("/proc/filesystems").split():
        return Feature("overlayfs", True, "registered in /proc/filesystems", required=True)
    ok, how = _kernel_module("overlay", "kernel/fs/overlayfs/overlay.ko")
    return Feature("overlayfs", ok, how, "" if ok else "image-based root filesystems "
                   "(every container)", required=True)


def _cgroups(root: str) -> list[Feature]:
    layout = cgroups.detect(root)
    if layout.version == 0:
        return [Feature("cgroups", False, f"no cgroup filesystem at {root}",
                        "all resource limits, stats, pause, OOM detection", required=True)]
    if layout.version == 1:
        hier: dict[str, list[str]] = {}
        for ctrl, path in layout.v1.items():
            hier.setdefault(str(path), []).append(ctrl)
        kind = "v1 (hybrid: controllers on v1, unified mount "
        kind = (kind + f"{layout.v2_root} with {len(layout.v2_controllers)} controller(s) "
                "unused)") if layout.hybrid else "v1"
        used = set(layout.v1)
        wanted = ("memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "blkio", "devices")
        extra: dict[str, object] = {"version": 1, "hybrid": layout.hybrid,
                                    "hierarchies": {p: sorted(c) for p, c in hier.items()}}
    else:
        kind = f"v2 (unified at {layout.v2_root})"
        used = set(layout.v2_controllers)
        wanted = ("memory", "cpu", "cpuset", "pids", "io")
        extra = {"version": 2, "controllers": sorted(layout.v2_controllers)}
    out = [Feature("cgroups", True, f"{kind}; controllers: {' '.join(sorted(used))}",
                   required=True, extra=extra)]
    for ctrl in wanted:
        out.append(Feature(f"cgroup.{ctrl}", ctrl in used, "" if ctrl in used else "not mounted",
                           "" if ctrl in used else CONTROLLER_USES[ctrl]))
    if layout.version == 2:
        from runtime.security.seccomp import kernel_version

        kv = kernel_version()
        out.append(Feature("cgroup.freeze", kv >= (5, 2), "cgroup.freeze needs Linux 5.2+",
                           "" if kv >= (5, 2) else "pause/unpause"))
        out.append(Feature("cgroup.kill", kv >= (5, 14), "cgroup.kill needs Linux 5.14+",
                           "" if kv >= (5, 14) else "none (freeze + kill fallback is used)"))
        out.append(Feature("cgroup.device-filter", kv >= (4, 15),
                           "eBPF device program (BPF_PROG_TYPE_CGROUP_DEVICE, Linux 4.15+)",
                           "" if kv >= (4, 15) else "the device allow-list on cgroup v2"))
    return out


def _seccomp() -> list[Feature]:
    from runtime.security import seccomp

    kernel = seccomp.seccomp_available()
    out = [Feature("seccomp", kernel, "Seccomp in /proc/self/status" if kernel else
                   "kernel built without CONFIG_SECCOMP",
                   "" if kernel else "seccomp profiles (containers run unconfined)")]
    try:
        import ctypes

        ctypes.CDLL("libseccomp.so.2")
        lib = True
    except OSError:
        lib = False
    out.append(Feature("libseccomp", lib, "libseccomp.so.2" if lib else "not found",
                       "" if lib else "Docker's default seccomp profile (install libseccomp2)"))
    return out


def _network() -> list[Feature]:
    out = []
    for name, rel, what in (("bridge", "kernel/net/bridge/bridge.ko", "bridge networks"),
                            ("veth", "kernel/drivers/net/veth.ko", "bridge networks")):
        ok, how = _kernel_module(name, rel)
        out.append(Feature(f"module.{name}", ok, how, "" if ok else what))
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)   # NETLINK_ROUTE
        s.close()
        ok, how = True, "NETLINK_ROUTE socket opened"
    except OSError as e:
        ok, how = False, str(e)
    out.append(Feature("netlink", ok, how, "" if ok else "all networking except --network none",
                       required=False))
    for tool, what in (("iptables", "published ports and outbound NAT on bridge networks"),
                       ("nft", "nftables rules (iptables is used if present)")):
        path = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.path.exists(f"/usr/sbin/{tool}")
                                      else None)
        out.append(Feature(f"binary.{tool}", path is not None, path or "not on PATH",
                           "" if path else what))
    out.append(_nat_backend())
    return out


def _nat_backend() -> Feature:
    """Which NAT backend bridge networks use (``runtime.network.api.nat_backend``)."""
    if os.geteuid() != 0:
        return Feature("nat.backend", True, "not probed (needs root)")
    from runtime.network.nat import detect

    backend = detect()
    if backend == "proxy":
        return Feature("nat.backend", False, "proxy (userland: neither nft nor iptables works)",
                       "kernel NAT for published ports (a userland proxy serves them) and "
                       "outbound access from bridge networks")
    how = {"nft": "nftables, table inet pycompose", "iptables": "iptables, PYCOMPOSE-* chains"}
    return Feature("nat.backend", True, f"{backend} ({how[backend]})",
                   extra={"backend": backend})


def _init_binary() -> Feature:
    for cand in ("tini-static", "/usr/bin/tini-static", "catatonit", "/usr/libexec/catatonit"):
        path = shutil.which(cand) or (cand if os.path.isabs(cand) and os.path.exists(cand)
                                      else None)
        if path:
            return Feature("init.static", True, path)
    return Feature("init.static", False, "tini-static not found",
                   "`init: true` (install tini, which ships tini-static)")


def check(cgroup_root: str = "/sys/fs/cgroup") -> list[Feature]:
    """Every finding, in display order."""
    return [_root(), *_namespaces(), _overlay(), *_cgroups(cgroup_root), *_seccomp(),
            *_network(), _init_binary()]


def missing_required(features: list[Feature]) -> list[Feature]:
    return [f for f in features if f.required and not f.present]
