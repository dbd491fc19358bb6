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
import time

from runtime._record import Record
from runtime.errors import KernelError, UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (lean shim)
if TYPE_CHECKING:
    from collections.abc import Callable

    from runtime.spec import Resources

    Rmdir = Callable[[str], None]

PARENT = "pycompose"
DEFAULT_CPU_PERIOD = 100_000          # microseconds, as docker and the kernel default
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


class CgroupStats(Record):
    """One sample of a container's cgroup counters (``docker stats`` material).

    ``memory_limit`` is ``None`` when unlimited (``docker stats`` then shows the host's
    memory).  ``read_at`` is ``time.monotonic_ns()`` when the sample was taken; feed
    two samples to :func:`runtime.cgroups.stats.cpu_percent`.
    """

    __slots__ = ("read_at", "cpu_usage_ns", "memory_usage", "memory_limit",  # noqa: RUF023
                 "memory_inactive_file", "pids_current", "pids_limit", "blkio_read",
                 "blkio_write")
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


class OomCounters(Record):
    """OOM evidence from the memory controller.

    ``oom_kill``: processes the kernel's OOM killer killed in this cgroup (v1
    ``memory.oom_control``, v2 ``memory.events``); ``oom``: times the limit was hit
    and reclaim failed (v2 only, 0 on v1); ``under_oom``: the cgroup is stuck at its
    limit right now (v1 with ``oom_kill_disable``); ``failcnt``: times usage hit the
    limit (v1 ``memory.failcnt``; reclaim usually succeeds, so it is a hint only).
    """

    __slots__ = ("oom_kill", "oom", "under_oom", "failcnt")  # noqa: RUF023 (positional)
    _defaults = {"oom_kill": 0, "oom": 0, "under_oom": False, "failcnt": 0}
    oom_kill: int
    oom: int
    under_oom: bool
    failcnt: int


def oom_killed(before: OomCounters, after: OomCounters) -> bool:
    """The verdict for ``State.OOMKilled``: the OOM killer fired between two readings.

    The shim reads the counters right after creating the cgroup and again after PID 1
    exits (before ``destroy``).  Like runc, this counts any process of the cgroup, not
    only PID 1.  A cgroup frozen at its limit (``oom_kill_disable``) also counts.
    """
    return after.oom_kill > before.oom_kill or after.oom > before.oom or after.under_oom


# -- helpers -------------------------------------------------------------------------

def check_id(container_id: str) -> str:
    if not (0 < len(container_id) <= 128 and container_id[0] not in ".-"
            and _ID_CHARS.issuperset(container_id)):
        raise UsageError(f"invalid cgroup name {container_id!r}",
                         hint="container ids are [A-Za-z0-9_.-], at most 128 characters")
    return container_id


def write(path: str, value: str) -> None:
    """Write one value to a cgroup file (one ``write()``, as the kernel expects)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except OSError as e:
        raise KernelError("open", e.errno, path) from None
    try:
        os.write(fd, value.encode())
    except OSError as e:
        raise KernelError(f"write {value!r} to", e.errno, path,
                          hint=_write_hint(e.errno)) from None
    finally:
        os.close(fd)


def write_lines(path: str, values: list[str]) -> None:
    """Several writes on one open file: the kernel handles each ``write()`` as one rule
    (``devices.allow``), a plain file in a test tree collects them line by line."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except OSError as e:
        raise KernelError("open", e.errno, path) from None
    try:
        for v in values:
            os.write(fd, (v + "\n").encode())
    except OSError as e:
        raise KernelError("write", e.errno, path) from None
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


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def read_int(path: str, default: int = 0) -> int:
    """An integer file; ``max`` and missing files read as ``default``."""
    try:
        text = read(path).strip()
    except (FileNotFoundError, ProcessLookupError):
        return default
    if not text or text == "max":
        return default
    return int(text.split()[0])


def read_keyed(path: str) -> dict[str, int]:
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


def read_pids(path: str) -> list[int]:
    try:
        return [int(x) for x in read(path).split()]
    except FileNotFoundError:
        return []


def _mkdir(path: str) -> None:
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        pass


def mkdir_child(parent: str, name: str) -> str:
    """``parent/name``, creating the parent too; retried if a concurrent ``destroy`` of
    another container removes the (empty) parent between the two mkdirs."""
    child = os.path.join(parent, name)
    for _ in range(5):
        try:
            _mkdir(parent)
            _mkdir(child)
            return child
        except FileNotFoundError:
            continue
        except OSError as e:
            raise KernelError("mkdir", e.errno, child,
                              hint="creating cgroups needs root") from None
    raise KernelError("mkdir", errno.ENOENT, child)


def remove_dir(path: str, rmdir: Rmdir, deadline: float) -> None:
    """rmdir a cgroup, retrying on EBUSY while its last processes finish exiting."""
    delay = 0.001
    while True:
        try:
            rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() >= deadline:
                raise KernelError("rmdir", e.errno, path,
                                  hint="processes are still in the cgroup; kill them first"
                                  if e.errno == errno.EBUSY else None) from None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def remove_parent_if_empty(parent: str, rmdir: Rmdir) -> None:
    """Drop the shared ``pycompose`` dir once no container uses it (EBUSY/ENOTEMPTY: in
    use by another container, which is fine)."""
    try:
        rmdir(parent)
    except OSError as e:
        if e.errno not in (errno.ENOENT, errno.EBUSY, errno.ENOTEMPTY):
            raise KernelError("rmdir", e.errno, parent) from None


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
