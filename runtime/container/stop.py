"""``stop``: stop signal to PID 1, grace period, then SIGKILL; wait for the recorded exit.

``stop_requested`` is set first so the restart policy leaves the container stopped.
"""

from __future__ import annotations

import os
import signal

from runtime.container import signals, statefile
from runtime.container.store import ContainerStore
from runtime.container.wait import wait_recorded


def stop(store: ContainerStore, cid: str, timeout: float | None = None,
         sig: str | None = None, leave_dns: bool = True) -> None:
    """``leave_dns=False``: the caller removes the container next, and ``rm`` takes its
    names out of DNS with its endpoints (one network-state update instead of two)."""
    rec = store.load(cid)
    statefile.update(str(rec.dir), stop_requested=True)
    if not rec.status.can_stop:
        return  # Docker: stopping a stopped container is not an error
    grace = rec.spec.stop_timeout if timeout is None else timeout
    num = signals.parse_signal(sig or rec.spec.stop_signal or "SIGTERM")
    fd = signals.open_pidfd(rec.state.get("pid", 0), rec.state.get("pid_start"))
    if fd is not None:
        try:
            if rec.status.value == "paused":
                _thaw(store, cid)
            signals.send(fd, num)
            if not signals.wait_exit(fd, max(grace, 0)):
                signals.send(fd, signal.SIGKILL)
                signals.wait_exit(fd, 30)
        finally:
            os.close(fd)
    wait_recorded(store, cid, timeout=30)
    if rec.spec.network.kind == "bridge" and leave_dns:
        from runtime.network.hooks import on_stop  # its names leave DNS, as Docker's

        on_stop(store.paths, cid)


def _thaw(store: ContainerStore, cid: str) -> None:
    """A frozen PID 1 cannot handle SIGTERM; pause/unpause is built on the freezer."""
    try:
        from runtime.container import pause  # type: ignore[attr-defined]
    except ImportError:
        return
    pause.unpause(store, cid)  # pragma: no cover
