"""``kill``: send a signal to PID 1 (via pidfd, start time checked)."""

from __future__ import annotations

import os
import signal

from runtime.container import signals, statefile
from runtime.container.store import ContainerStore
from runtime.errors import ConflictError


def kill(store: ContainerStore, cid: str, sig: str | int = "SIGKILL") -> None:
    num = signals.parse_signal(sig)
    rec = store.load(cid)
    if not rec.status.can_kill:
        raise ConflictError(f"cannot kill container {rec.name}: it is not running")
    # Like Docker, a killed container is not restarted by its policy.
    statefile.update(str(rec.dir), stop_requested=True)
    fd = signals.open_pidfd(rec.state.get("pid", 0), rec.state.get("pid_start"))
    if fd is None:
        return
    try:
        signals.send(fd, num)
    finally:
        os.close(fd)
    if rec.status.value == "paused" and num == signal.SIGKILL:
        from runtime.container.pause import thaw_if_paused

        thaw_if_paused(store, cid)   # a frozen process dies only once thawed (v1)
