"""cgroup v1 driver: one hierarchy per controller (or per co-mounted group).

The driver is given ``controller -> hierarchy mount`` (see
:func:`runtime.cgroups.detect.v1_hierarchies`).  Co-mounted controllers (``cpu,cpuacct``)
share one directory, which is created, joined and removed once.

v1 specifics handled here:

* memory and memory+swap must be written in the order that keeps
  ``memsw >= memory`` at every step (raise memsw first when it grows, as runc does);
* a new cpuset cgroup starts with empty ``cpuset.cpus``/``cpuset.mems`` and refuses
  tasks until they are copied from its parent;
* the freezer may report ``FREEZING`` for a while: the write is repeated until
  ``FROZEN``;
* "kill all" is freeze -> SIGKILL each pid -> thaw (no ``cgroup.kill`` in v1).
"""

from __future__ import annotations

import errno
import os
import signal
import time

from runtime.cgroups import devices
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
    write_lines,
)
from runtime.errors import KernelError, RuntimeFailure

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (lean shim)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from runtime.cgroups.base import Rmdir
    from runtime.spec import Resources

_join = os.path.join

# Controllers this driver uses (others, like net_cls or name=systemd, are left alone).
CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "blkio", "devices")
# v1 reports "unlimited" as the largest page-aligned counter value.
_UNLIMITED = 1 << 62


class CgroupV1:
    version = 1

    def __init__(self, hierarchies: Mapping[str, str | os.PathLike[str]], *,
                 parent: str = PARENT, rmdir: Rmdir = os.rmdir) -> None:
        self.hierarchies = {c: os.fspath(p) for c, p in hierarchies.items()
                            if c in CONTROLLERS}
        self.parent = parent
        self._rmdir = rmdir

    # -- layout ----------------------------------------------------------------------

    def _dir(self, controller: str, container_id: str) -> str | None:
        mount = self.hierarchies.get(controller)
        return _join(mount, self.parent, container_id) if mount is not None else None

    def _mounts(self) -> list[str]:
        seen: list[str] = []
        for m in self.hierarchies.values():
            if m not in seen:
                seen.append(m)
        return seen

    def paths(self, container_id: str) -> list[str]:
        check_id(container_id)
        return [_join(m, self.parent, container_id) for m in self._mounts()]

    def exists(self, container_id: str) -> bool:
        return any(os.path.isdir(p) for p in self.paths(container_id))

    def containers(self) -> list[str]:
        """Ids that have a cgroup in any hierarchy (to find orphans no state knows)."""
        ids: set[str] = set()
        for m in self._mounts():
            try:
                ids.update(e.name for e in os.scandir(_join(m, self.parent)) if e.is_dir())
            except FileNotFoundError:
                continue
        return sorted(ids)

    # -- lifecycle -------------------------------------------------------------------

    def create(self, container_id: str, resources: Resources, *,
               privileged: bool = False) -> list[str]:
        check_id(container_id)
        try:
            for mount in self._mounts():
                parent = _join(mount, self.parent)
                child = mkdir_child(parent, container_id)
                if mount == self.hierarchies.get("cpuset"):
                    _inherit_cpuset(mount, parent)
                    _inherit_cpuset(parent, child)
            warnings = self.update(container_id, resources)
            self._apply_devices(container_id, privileged)
        except BaseException:
            try:
                self.destroy(container_id, timeout=1.0)
            except RuntimeFailure:
                pass
            raise
        return warnings

    def update(self, container_id: str, resources: Resources) -> list[str]:
        check_id(container_id)
        warnings: list[str] = []
        r = resources
        mem = self._dir("memory", container_id)
        if mem is not None:
            warnings += _apply_memory(mem, r)
        elif r.memory or r.memory_reservation or r.memory_swap:
            warnings.append("memory cgroup not mounted: memory limits discarded")
        cpu = self._dir("cpu", container_id)
        if cpu is not None:
            if r.cpu_period is not None or r.cpu_quota is not None:
                write(_join(cpu, "cpu.cfs_period_us"), str(r.cpu_period or DEFAULT_CPU_PERIOD))
            if r.cpu_quota is not None:
                write(_join(cpu, "cpu.cfs_quota_us"), str(r.cpu_quota if r.cpu_quota > 0 else -1))
            if r.cpu_shares:
                write(_join(cpu, "cpu.shares"), str(r.cpu_shares))
        elif r.cpu_quota or r.cpu_shares:
            warnings.append("cpu cgroup not mounted: CPU limits discarded")
        cpuset = self._dir("cpuset", container_id)
        if cpuset is not None:
            if r.cpuset_cpus:
                write(_join(cpuset, "cpuset.cpus"), r.cpuset_cpus)
            if r.cpuset_mems:
                write(_join(cpuset, "cpuset.mems"), r.cpuset_mems)
        elif r.cpuset_cpus or r.cpuset_mems:
            warnings.append("cpuset cgroup not mounted: cpuset discarded")
        pids = self._dir("pids", container_id)
        if pids is not None:
            if r.pids_limit is not None:
                write(_join(pids, "pids.max"), str(r.pids_limit) if r.pids_limit > 0 else "max")
        elif r.pids_limit:
            warnings.append("pids cgroup not mounted: pids limit discarded")
        return warnings

    def _apply_devices(self, container_id: str, privileged: bool) -> None:
        d = self._dir("devices", container_id)
        if d is None:
            return
        if privileged:
            write(_join(d, "devices.allow"), devices.ALLOW_ALL)
            return
        write(_join(d, "devices.deny"), devices.DENY_ALL)
        write_lines(_join(d, "devices.allow"), list(devices.DEFAULT_ALLOW))

    def add_process(self, container_id: str, pid: int) -> None:
        for p in self.paths(container_id):
            write(_join(p, "cgroup.procs"), str(pid))

    def processes(self, container_id: str) -> list[int]:
        pids: set[int] = set()
        for p in self.paths(container_id):
            pids.update(read_pids(_join(p, "cgroup.procs")))
        return sorted(pids)

    # -- freezer ---------------------------------------------------------------------

    def freeze(self, container_id: str, timeout: float = 5.0) -> None:
        state = self._freezer_state(container_id)
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            write(state, "FROZEN")
            if read(state).strip() == "FROZEN":
                return
            if time.monotonic() >= deadline:
                write(state, "THAWED")
                raise RuntimeFailure(f"cgroup {container_id} did not freeze in {timeout}s",
                                     hint="a process may be stuck in uninterruptible sleep")
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def thaw(self, container_id: str) -> None:
        write(self._freezer_state(container_id), "THAWED")

    def _freezer_state(self, container_id: str) -> str:
        d = self._dir("freezer", check_id(container_id))
        if d is None:
            raise RuntimeFailure("the freezer cgroup controller is not mounted",
                                 hint="pause/unpause need the v1 freezer hierarchy")
        return _join(d, "freezer.state")

    def kill_all(self, container_id: str) -> None:
        frozen = False
        if self._dir("freezer", check_id(container_id)) is not None:
            self.freeze(container_id)
            frozen = True
        try:
            for _ in range(100):           # without a freezer, forks may race us
                pids = self.processes(container_id)
                if not pids:
                    return
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                if frozen:
                    return
                time.sleep(0.001)
        finally:
            if frozen:
                self.thaw(container_id)

    # -- counters --------------------------------------------------------------------

    def stats(self, container_id: str) -> CgroupStats:
        check_id(container_id)
        now = time.monotonic_ns()
        cpu = 0
        if (d := self._dir("cpuacct", container_id)) is not None:
            cpu = read_int(_join(d, "cpuacct.usage"))
        usage = inactive = 0
        limit: int | None = None
        if (d := self._dir("memory", container_id)) is not None:
            usage = read_int(_join(d, "memory.usage_in_bytes"))
            inactive = read_keyed(_join(d, "memory.stat")).get("total_inactive_file", 0)
            raw = read_int(_join(d, "memory.limit_in_bytes"), _UNLIMITED)
            limit = raw if raw < _UNLIMITED else None
        pids_cur = 0
        pids_max: int | None = None
        if (d := self._dir("pids", container_id)) is not None:
            pids_cur = read_int(_join(d, "pids.current"))
            pids_max = read_int(_join(d, "pids.max"), 0) or None
        rd = wr = 0
        if (d := self._dir("blkio", container_id)) is not None:
            rd, wr = _blkio_bytes(d)
        return CgroupStats(now, cpu, usage, limit, inactive, pids_cur, pids_max, rd, wr)

    def oom_counters(self, container_id: str) -> OomCounters:
        d = self._dir("memory", check_id(container_id))
        if d is None:
            return OomCounters()
        ctl = read_keyed(_join(d, "memory.oom_control"))
        return OomCounters(oom_kill=ctl.get("oom_kill", 0), under_oom=bool(ctl.get("under_oom")),
                           failcnt=read_int(_join(d, "memory.failcnt")))

    # -- removal ---------------------------------------------------------------------

    def destroy(self, container_id: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        errors: list[KernelError] = []
        for p in self.paths(container_id):
            try:
                remove_dir(p, self._rmdir, deadline)
            except KernelError as e:
                errors.append(e)
                continue
            remove_parent_if_empty(os.path.dirname(p), self._rmdir)
        if errors:
            raise errors[0]


def _inherit_cpuset(src: str, dst: str) -> None:
    """Copy cpus/mems into a new cpuset cgroup that still has them empty."""
    for name in ("cpuset.cpus", "cpuset.mems"):
        try:
            if read(_join(dst, name)).strip():
                continue
            value = read(_join(src, name)).strip()
        except FileNotFoundError:
            continue
        if value:
            write(_join(dst, name), value)


def _apply_memory(d: str, r: Resources) -> list[str]:
    warnings: list[str] = []
    has_swap_file = os.path.exists(_join(d, "memory.memsw.limit_in_bytes"))
    swap = swap_limit(r)
    if swap is not None and not has_swap_file:
        if r.memory_swap:
            warnings.append("the kernel has no swap accounting (memory.memsw.*): "
                            "memory+swap limit discarded")
        swap = None
    if r.memory is not None or swap is not None:
        mem = r.memory if r.memory else -1
        if swap is None:
            write(_join(d, "memory.limit_in_bytes"), str(mem))
        else:
            # memsw must stay >= memory at every step: when the new memsw is above the
            # current memory limit, raise memsw first; otherwise lower memory first.
            current = read_int(_join(d, "memory.limit_in_bytes"), _UNLIMITED)
            if swap == -1 or current < swap:
                write(_join(d, "memory.memsw.limit_in_bytes"), str(swap))
                write(_join(d, "memory.limit_in_bytes"), str(mem))
            else:
                write(_join(d, "memory.limit_in_bytes"), str(mem))
                write(_join(d, "memory.memsw.limit_in_bytes"), str(swap))
    if r.memory_reservation:
        write(_join(d, "memory.soft_limit_in_bytes"), str(r.memory_reservation))
    if r.oom_kill_disable:
        try:
            write(_join(d, "memory.oom_control"), "1")
        except KernelError as e:
            if e.errno != errno.EINVAL:
                raise
            warnings.append("oom_kill_disable is not supported by this kernel: discarded")
    return warnings


def _blkio_bytes(d: str) -> tuple[int, int]:
    for name in ("blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes",
                 "blkio.io_service_bytes_recursive"):
        try:
            text = read(_join(d, name))
        except FileNotFoundError:
            continue
        rd = wr = 0
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2].isdigit():
                if parts[1] == "Read":
                    rd += int(parts[2])
                elif parts[1] == "Write":
                    wr += int(parts[2])
        return rd, wr
    return 0, 0
