"""cgroup v2 driver: one unified tree.

Layout: ``<root>/pycompose/<id>``.  Controllers reach a child only if every ancestor
lists them in ``cgroup.subtree_control``, so :meth:`CgroupV2.create` enables the ones
it needs (those the root offers in ``cgroup.controllers``) on the root and on the
``pycompose`` parent.  The "no internal processes" rule means only the leaves (the
containers) hold processes.

Differences from v1 handled here: ``memory.swap.max`` is swap *only* (docker's
memory+swap minus memory), ``cpu.weight`` replaces ``cpu.shares`` (runc's conversion),
``cgroup.freeze`` and ``cgroup.kill`` replace the freezer dance, OOM kills are counted
in ``memory.events``.  ``oom_kill_disable`` does not exist on v2 (a warning is
returned).  Device rules are an eBPF program attached to the cgroup
(``runtime.cgroups.devfilter``).
"""

from __future__ import annotations

import errno
import math
import os
import signal
import time

from runtime.cgroups.base import (
    DEFAULT_CPU_PERIOD,
    PARENT,
    CgroupStats,
    OomCounters,
    check_id,
    mkdir_child,
    read,
    read_int,
    read_keyed,
    read_pids,
    remove_dir,
    remove_parent_if_empty,
    swap_limit,
    write,
)
from runtime.errors import KernelError, RuntimeFailure

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (lean shim)
if TYPE_CHECKING:
    from collections.abc import Callable

    from runtime.cgroups.base import Rmdir
    from runtime.spec import Resources

_join = os.path.join

WANTED = ("cpu", "cpuset", "io", "memory", "pids")


def shares_to_weight(shares: int) -> int:
    """cgroup v1 ``cpu.shares`` (2..262144, default 1024) to v2 ``cpu.weight`` (1..10000,
    default 100), with runc's current log-quadratic fit: 2 -> 1, 1024 -> 100,
    262144 -> 10000 (older runc versions mapped linearly)."""
    if shares <= 0:
        return 0
    if shares <= 2:
        return 1
    if shares >= 262144:
        return 10000
    lg = math.log2(shares)
    exponent = (lg * lg + 125 * lg) / 612.0 - 7.0 / 34.0
    return math.ceil(10 ** exponent)


class CgroupV2:
    version = 2

    def __init__(self, root: str | os.PathLike[str], *, parent: str = PARENT,
                 rmdir: Rmdir = os.rmdir,
                 device_filter: Callable[[str, list[str]], None] | None = None) -> None:
        """``device_filter(cgroup_dir, rules)`` attaches the device allow-list; the
        default loads the eBPF program of ``runtime.cgroups.devfilter`` (tests inject
        a recorder, a temp dir cannot take a BPF program)."""
        self.root = os.fspath(root)
        self.parent = parent
        self._rmdir = rmdir
        self._device_filter = device_filter

    def _dir(self, container_id: str) -> str:
        return _join(self.root, self.parent, check_id(container_id))

    def paths(self, container_id: str) -> list[str]:
        return [self._dir(container_id)]

    def exists(self, container_id: str) -> bool:
        return os.path.isdir(self._dir(container_id))

    def containers(self) -> list[str]:
        """Ids that have a cgroup (to find orphans no state knows)."""
        try:
            return sorted(e.name for e in os.scandir(_join(self.root, self.parent))
                          if e.is_dir())
        except FileNotFoundError:
            return []

    def available_controllers(self) -> set[str]:
        try:
            return set(read(_join(self.root, "cgroup.controllers")).split())
        except FileNotFoundError:
            return set()

    # -- lifecycle -------------------------------------------------------------------

    def create(self, container_id: str, resources: Resources, *,
               privileged: bool = False) -> list[str]:
        d = self._dir(container_id)
        wanted = [c for c in WANTED if c in self.available_controllers()]
        try:
            _enable(self.root, wanted)
            parent = mkdir_child(self.root, self.parent)
            _enable(parent, wanted)
            mkdir_child(parent, container_id)
            warnings = self.update(container_id, resources)
            if not privileged:                     # privileged: no program, all devices
                self._attach_devices(d)
        except BaseException:
            if os.path.isdir(d):
                try:
                    self.destroy(container_id, timeout=1.0)
                except RuntimeFailure:
                    pass
            raise
        return warnings

    def update(self, container_id: str, resources: Resources) -> list[str]:
        d = self._dir(container_id)
        r = resources
        warnings: list[str] = []
        has = self._has(d)
        if has("memory"):
            if r.memory is not None:
                write(_join(d, "memory.max"), str(r.memory) if r.memory > 0 else "max")
            if r.memory_reservation:
                write(_join(d, "memory.low"), str(r.memory_reservation))
            swap = swap_limit(r)
            if swap is not None:
                if not os.path.exists(_join(d, "memory.swap.max")):
                    if r.memory_swap:
                        warnings.append("the kernel has no swap accounting (memory.swap.max):"
                                        " memory+swap limit discarded")
                elif swap == -1:
                    write(_join(d, "memory.swap.max"), "max")
                elif r.memory:
                    if swap < r.memory:
                        raise RuntimeFailure(
                            f"memory+swap limit {swap} is below the memory limit {r.memory}",
                            hint="memswap_limit must be >= mem_limit (or -1 for unlimited)")
                    write(_join(d, "memory.swap.max"), str(swap - r.memory))
            if r.oom_kill_disable:
                warnings.append("oom_kill_disable is not available on cgroup v2: discarded")
        elif r.memory or r.memory_reservation or r.memory_swap:
            warnings.append("memory controller not available: memory limits discarded")
        if has("cpu"):
            if r.cpu_quota is not None or r.cpu_period is not None:
                quota = str(r.cpu_quota) if r.cpu_quota and r.cpu_quota > 0 else "max"
                write(_join(d, "cpu.max"), f"{quota} {r.cpu_period or DEFAULT_CPU_PERIOD}")
            if r.cpu_shares:
                write(_join(d, "cpu.weight"), str(shares_to_weight(r.cpu_shares)))
        elif r.cpu_quota or r.cpu_shares:
            warnings.append("cpu controller not available: CPU limits discarded")
        if has("cpuset"):
            if r.cpuset_cpus:
                write(_join(d, "cpuset.cpus"), r.cpuset_cpus)
            if r.cpuset_mems:
                write(_join(d, "cpuset.mems"), r.cpuset_mems)
        elif r.cpuset_cpus or r.cpuset_mems:
            warnings.append("cpuset controller not available: cpuset discarded")
        if has("pids"):
            if r.pids_limit is not None:
                write(_join(d, "pids.max"), str(r.pids_limit) if r.pids_limit > 0 else "max")
        elif r.pids_limit:
            warnings.append("pids controller not available: pids limit discarded")
        return warnings

    def _attach_devices(self, d: str) -> None:
        from runtime.cgroups import devices

        attach = self._device_filter
        if attach is None:
            from runtime.cgroups.devfilter import attach
        attach(d, list(devices.DEFAULT_ALLOW))

    def _has(self, d: str):
        try:
            enabled = set(read(_join(d, "cgroup.controllers")).split())
        except FileNotFoundError:
            enabled = set()
        return enabled.__contains__

    def add_process(self, container_id: str, pid: int) -> None:
        write(_join(self._dir(container_id), "cgroup.procs"), str(pid))

    def processes(self, container_id: str) -> list[int]:
        return sorted(read_pids(_join(self._dir(container_id), "cgroup.procs")))

    # -- freeze / kill ---------------------------------------------------------------

    def freeze(self, container_id: str, timeout: float = 5.0) -> None:
        d = self._dir(container_id)
        write(_join(d, "cgroup.freeze"), "1")
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while read_keyed(_join(d, "cgroup.events")).get("frozen", 1) != 1:
            if time.monotonic() >= deadline:
                write(_join(d, "cgroup.freeze"), "0")
                raise RuntimeFailure(f"cgroup {container_id} did not freeze in {timeout}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def thaw(self, container_id: str) -> None:
        write(_join(self._dir(container_id), "cgroup.freeze"), "0")

    def kill_all(self, container_id: str) -> None:
        d = self._dir(container_id)
        if os.path.exists(_join(d, "cgroup.kill")):          # Linux 5.14+
            write(_join(d, "cgroup.kill"), "1")
            return
        self.freeze(container_id)
        try:
            for pid in self.processes(container_id):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        finally:
            self.thaw(container_id)

    # -- counters --------------------------------------------------------------------

    def stats(self, container_id: str) -> CgroupStats:
        d = self._dir(container_id)
        now = time.monotonic_ns()
        cpu = read_keyed(_join(d, "cpu.stat")).get("usage_usec", 0) * 1000
        mem_max = read_int(_join(d, "memory.max"), 0)
        pids_max = read_int(_join(d, "pids.max"), 0)
        rd = wr = 0
        try:
            for line in read(_join(d, "io.stat")).splitlines():
                for field in line.split()[1:]:
                    key, _, val = field.partition("=")
                    if key == "rbytes":
                        rd += int(val)
                    elif key == "wbytes":
                        wr += int(val)
        except FileNotFoundError:
            pass
        return CgroupStats(
            read_at=now, cpu_usage_ns=cpu,
            memory_usage=read_int(_join(d, "memory.current")),
            memory_limit=mem_max or None,
            memory_inactive_file=read_keyed(_join(d, "memory.stat")).get("inactive_file", 0),
            pids_current=read_int(_join(d, "pids.current")), pids_limit=pids_max or None,
            blkio_read=rd, blkio_write=wr)

    def oom_counters(self, container_id: str) -> OomCounters:
        ev = read_keyed(_join(self._dir(container_id), "memory.events"))
        return OomCounters(oom_kill=ev.get("oom_kill", 0), oom=ev.get("oom", 0))

    # -- removal ---------------------------------------------------------------------

    def destroy(self, container_id: str, timeout: float = 5.0) -> None:
        d = self._dir(container_id)
        remove_dir(d, self._rmdir, time.monotonic() + timeout)
        remove_parent_if_empty(os.path.dirname(d), self._rmdir)


def _enable(d: str, controllers: list[str]) -> None:
    """Add the missing controllers to ``d/cgroup.subtree_control``."""
    try:
        current = {c.lstrip("+") for c in read(_join(d, "cgroup.subtree_control")).split()}
    except FileNotFoundError:
        current = set()
    missing = [c for c in controllers if c not in current]
    if not missing:
        return
    try:
        write(_join(d, "cgroup.subtree_control"), " ".join("+" + c for c in missing))
    except KernelError as e:
        if e.errno == errno.EBUSY:
            raise KernelError(
                "enable controllers in", e.errno, _join(d, "cgroup.subtree_control"),
                hint="this cgroup holds processes, so v2's 'no internal processes' rule "
                     "forbids delegating controllers; run pycompose from the host's root "
                     "cgroup namespace or a delegated systemd scope") from None
        raise
