"""The protocol both cgroup drivers implement (for type checkers and readers; the
shim never imports this module, so ``typing`` stays out of its start-up)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from runtime.cgroups.base import CgroupStats, OomCounters
    from runtime.spec import Resources


class CgroupDriver(Protocol):
    """The operations the shim, ``pause``, ``stats`` and ``rm`` need.  Stateless: every
    method takes the container id; paths are plain strings."""

    version: int

    def create(self, container_id: str, resources: Resources, *,
               privileged: bool = False) -> list[str]:
        """Make the container's cgroup(s) and apply limits.  Returns warnings (limits the
        kernel cannot honour, e.g. swap without swap accounting) instead of failing.
        On error, whatever was created is removed again."""

    def update(self, container_id: str, resources: Resources) -> list[str]:
        """Apply changed limits to an existing cgroup."""

    def add_process(self, container_id: str, pid: int) -> None:
        """Move ``pid`` (the whole thread group) into the container's cgroup(s)."""

    def processes(self, container_id: str) -> list[int]:
        """PIDs (host view) currently in the cgroup."""

    def freeze(self, container_id: str, timeout: float = 5.0) -> None: ...

    def thaw(self, container_id: str) -> None: ...

    def kill_all(self, container_id: str) -> None:
        """SIGKILL every process of the cgroup (returns once the signal is sent)."""

    def stats(self, container_id: str) -> CgroupStats: ...

    def oom_counters(self, container_id: str) -> OomCounters: ...

    def paths(self, container_id: str) -> list[str]:
        """Every directory this container owns (record them in state for cleanup)."""

    def exists(self, container_id: str) -> bool: ...

    def containers(self) -> list[str]:
        """Container ids that currently have a cgroup under the ``pycompose`` parent."""

    def destroy(self, container_id: str, timeout: float = 5.0) -> None:
        """Remove the container's directories (waiting up to ``timeout`` seconds for
        processes to leave), then the ``pycompose`` parent if it became empty."""
