"""What every cgroup driver offers, and the file helpers both drivers share.

A driver works on the directories it is handed (the kernel's ``/sys/fs/cgroup`` or a
temporary tree seeded with the kernel's file names in tests).  It keeps no state of its
own: every method takes the container id, so a later command (``pause``, ``stats``,
``rm``) can build a driver again with :func:`runtime.cgroups.driver` and act.

Naming: ``<hierarchy>/pycompose/<container id>``; the ``pycompose`` parent is removed
when its last container goes (the project's leak check flags any ``*pycompose*`` dir).

Only the standard library is used here: these modules are imported by the lean,
single-threaded container shim.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from runtime.errors import KernelError, UsageError
from runtime.spec import Resources

PARENT = "pycompose"
DEFAULT_CPU_PERIOD = 100_000          # microseconds, as docker and the kernel default
_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

Rmdir = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class CgroupStats:
    """One sample of a container's cgroup counters (``docker stats`` material).

    ``memory_limit`` is ``None`` when unlimited (``docker stats`` then shows the host's
    memory).  ``read_at`` is ``time.monotonic_ns()`` when the sample was taken; feed
    two samples to :func:`runtime.cgroups.stats.cpu_percent`.
    """

    read_at: int
    cpu_usage_ns: int
    memory_usage: int
    memory_limit: int | None
    memory_inactive_file: int
    pids_current: int
    pids_limit: int | None
    blkio_read: int
    blkio_write: int

    @property
    def memory_working_set(self) -> int:
        """What ``docker stats`` calls usage: usage minus the inactive page cache."""
        if self.memory_inactive_file < self.memory_usage:
            return self.memory_usage - self.memory_inactive_file
        return self.memory_usage


@dataclass(frozen=True, slots=True)
class OomCounters:
    """OOM evidence from the memory controller.

    ``oom_kill``: processes the kernel's OOM killer killed in this cgroup (v1
    ``memory.oom_control``, v2 ``memory.events``); ``oom``: times the limit was hit
    and reclaim failed (v2 only, 0 on v1); ``under_oom``: the cgroup is stuck at its
    limit right now (v1 with ``oom_kill_disable``); ``failcnt``: times usage hit the
    limit (v1 ``memory.failcnt``; reclaim usually succeeds, so it is a hint only).
    """

    oom_kill: int = 0
    oom: int = 0
    under_oom: bool = False
    failcnt: int = 0


def oom_killed(before: OomCounters, after: OomCounters) -> bool:
    """The verdict for ``State.OOMKilled``: the OOM killer fired between two readings.

    The shim reads the counters right after creating the cgroup and again after PID 1
    exits (before ``destroy``).  Like runc, this counts any process of the cgroup, not
    only PID 1.  A cgroup frozen at its limit (``oom_kill_disable``) also counts.
    """
    return after.oom_kill > before.oom_kill or after.oom > before.oom or after.under_oom


class CgroupDriver(Protocol):
    """The operations the shim, ``pause``, ``stats`` and ``rm`` need."""

    version: int

    def create(self, container_id: str, resources: Resources, *,
               privileged: bool = False) -> list[str]:
        """Make the container's cgroup(s) and apply limits.  Returns warnings (limits the
        kernel cannot honour, e.g. swap without swap accounting) instead of failing."""

    def update(self, container_id: str, resources: Resources) -> list[str]:
        """Apply changed limits to an existing cgroup."""

    def add_process(self, container_id: str, pid: int) -> None:
        """Move ``pid`` (the whole thread group) into the container's cgroup(s)."""

    def processes(self, container_id: str) -> list[int]:
        """PIDs (host view) currently in the cgroup."""

    def freeze(self, container_id: str) -> None: ...

    def thaw(self, container_id: str) -> None: ...

    def kill_all(self, container_id: str) -> None:
        """SIGKILL every process of the cgroup (returns once the signal is sent)."""

    def stats(self, container_id: str) -> CgroupStats: ...

    def oom_counters(self, container_id: str) -> OomCounters: ...

    def paths(self, container_id: str) -> list[Path]:
        """Every directory this container owns (record them in state for cleanup)."""

    def exists(self, container_id: str) -> bool: ...

    def destroy(self, container_id: str, timeout: float = 5.0) -> None:
        """Remove the container's directories (waiting up to ``timeout`` seconds for
        processes to leave), then the ``pycompose`` parent if it became empty."""


# -- helpers -------------------------------------------------------------------------

def check_id(container_id: str) -> str:
    if not _ID_RE.match(container_id):
        raise UsageError(f"invalid cgroup name {container_id!r}",
                         hint="container ids are [A-Za-z0-9_.-], at most 128 characters")
    return container_id


def write(path: Path, value: str) -> None:
    """Write one value to a cgroup file (one ``write()``, as the kernel expects)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except OSError as e:
        raise KernelError("open", e.errno, str(path)) from None
    try:
        os.write(fd, value.encode())
    except OSError as e:
        raise KernelError(f"write {value!r} to", e.errno, str(path),
                          hint=_write_hint(e.errno)) from None
    finally:
        os.close(fd)


def write_lines(path: Path, values: list[str]) -> None:
    """Several writes on one open file: the kernel handles each ``write()`` as one rule
    (``devices.allow``), a plain file in a test tree collects them line by line."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except OSError as e:
        raise KernelError("open", e.errno, str(path)) from None
    try:
        for v in values:
            os.write(fd, (v + "\n").encode())
    except OSError as e:
        raise KernelError("write", e.errno, str(path)) from None
    finally:
        os.close(fd)


def _write_hint(err: int) -> str | None:
    if err == errno.EINVAL:
        return "the kernel rejected the value (out of range, or below current usage)"
    if err in (errno.EACCES, errno.EPERM):
        return "cgroup limits need root"
    if err == errno.EBUSY:
        return "the cgroup has children or processes that prevent this change"
    return None


def read(path: Path) -> str:
    with open(path) as f:
        return f.read()


def read_int(path: Path, default: int = 0) -> int:
    """An integer file; ``max`` and missing files read as ``default``."""
    try:
        text = read(path).strip()
    except (FileNotFoundError, ProcessLookupError):
        return default
    if not text or text == "max":
        return default
    return int(text.split()[0])


def read_keyed(path: Path) -> dict[str, int]:
    """``key value`` lines (``memory.stat``, ``memory.events``, ``cpu.stat``...)."""
    out: dict[str, int] = {}
    try:
        text = read(path)
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def read_pids(path: Path) -> list[int]:
    try:
        return [int(x) for x in read(path).split()]
    except FileNotFoundError:
        return []


def mkdir_child(parent: Path, name: str) -> Path:
    """``parent/name``, creating the parent too; retried if a concurrent ``destroy`` of
    another container removes the (empty) parent between the two mkdirs."""
    child = parent / name
    for _ in range(5):
        try:
            parent.mkdir(exist_ok=True)
            child.mkdir(exist_ok=True)
            return child
        except FileNotFoundError:
            continue
        except OSError as e:
            raise KernelError("mkdir", e.errno, str(child),
                              hint="creating cgroups needs root") from None
    raise KernelError("mkdir", errno.ENOENT, str(child))


def remove_dir(path: Path, rmdir: Rmdir, deadline: float) -> None:
    """rmdir a cgroup, retrying on EBUSY while its last processes finish exiting."""
    delay = 0.001
    while True:
        try:
            rmdir(str(path))
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() >= deadline:
                raise KernelError("rmdir", e.errno, str(path),
                                  hint="processes are still in the cgroup; kill them first"
                                  if e.errno == errno.EBUSY else None) from None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def remove_parent_if_empty(parent: Path, rmdir: Rmdir) -> None:
    """Drop the shared ``pycompose`` dir once no container uses it (EBUSY/ENOTEMPTY: in
    use by another container, which is fine)."""
    try:
        rmdir(str(parent))
    except OSError as e:
        if e.errno not in (errno.ENOENT, errno.EBUSY, errno.ENOTEMPTY):
            raise KernelError("rmdir", e.errno, str(parent)) from None


def host_memory() -> int:
    """MemTotal in bytes (``docker stats`` shows it as the limit of an unlimited cgroup)."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def swap_limit(resources: Resources) -> int | None:
    """memory+swap in docker's terms: ``None`` = leave alone, ``-1`` = unlimited.

    Docker's default when only ``memory`` is set is memory+swap = 2 x memory (so the
    container may use as much swap as memory).
    """
    if resources.memory_swap:                     # 0 means unset, as in docker
        return resources.memory_swap
    if resources.memory:
        return 2 * resources.memory
    return None
