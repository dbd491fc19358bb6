"""The monitor's handle on the container's cgroup: join, OOM verdict, removal.

The cgroup is *created* (with its limits) on the CLI side by the ``runtime.cgroups``
driver (see ``runtime.container.start``), which also records its directories and its
OOM counter file in the bundle.  The shim only needs three file operations, done here
without importing the drivers: importing them (dataclasses, pathlib, re, typing)
costs ~50-70 ms in a fresh ``python -I -S``, more than the rest of the shim together.

PID 1 is joined while it waits for "go", so no user code ever runs outside the limits.
The shim processes stay in the caller's cgroup: an OOM kill in the container cannot
take its supervisor down.
"""

from __future__ import annotations

import errno
import os
import time


def _oom_count(path: str) -> int:
    """oom_kill (+ oom, + under_oom) from ``memory.oom_control`` (v1) or
    ``memory.events`` (v2)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return 0
    total = 0
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key in ("oom_kill", "oom", "under_oom") and value.strip().isdigit():
            total += int(value)
    return total


class ContainerCgroup:
    def __init__(self, plan: dict) -> None:
        self.paths: list[str] = plan["paths"]
        self.oom_file: str | None = plan.get("oom_file")
        self.before = _oom_count(self.oom_file) if self.oom_file else 0

    def join(self, pid: int) -> None:
        data = str(pid).encode()
        for p in self.paths:
            fd = os.open(os.path.join(p, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

    def oom_killed(self) -> bool:
        if not self.oom_file:
            return False
        after = _oom_count(self.oom_file)
        verdict, self.before = after > self.before, after   # a restart starts afresh
        return verdict

    def destroy(self, timeout: float = 5.0) -> None:
        """rmdir each directory (retrying EBUSY while the last processes finish), then
        the shared parent if it became empty."""
        deadline = time.monotonic() + timeout
        for p in self.paths:
            delay = 0.001
            while True:
                try:
                    os.rmdir(p)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY or time.monotonic() > deadline:
                        break
                    time.sleep(delay)
                    delay = min(delay * 2, 0.05)
            try:
                os.rmdir(os.path.dirname(p))
            except OSError:
                pass  # other containers still use it


def create(b: dict) -> ContainerCgroup | None:
    return ContainerCgroup(b["cgroup"]) if b.get("cgroup") else None
