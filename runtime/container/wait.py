"""``wait``: block until the container is no longer running; return its exit code.

Waits on PID 1's pidfd (no polling while it runs), then for the shim to record the
exit in state.json (a few ms; polled with a short back-off).
"""

from __future__ import annotations

import os
import time

from runtime.container import signals
from runtime.container.store import ContainerStore
from runtime.errors import PycomposeError

_NOT_RUNNING = ("created", "exited", "dead")


class WaitTimeout(PycomposeError):
    pass


def wait_recorded(store: ContainerStore, cid: str, timeout: float | None = None) -> dict:
    """Wait until state.json no longer says running/paused/restarting."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.002
    while True:
        rec = store.load(cid)
        if rec.state.get("status") in _NOT_RUNNING:
            return rec.state
        if rec.state.get("status") == "running" and delay > 0.05:
            fd = signals.open_pidfd(rec.state.get("pid", 0), rec.state.get("pid_start"))
            if fd is not None:
                try:
                    left = None if deadline is None else max(0, deadline - time.monotonic())
                    signals.wait_exit(fd, left)
                finally:
                    os.close(fd)
        if deadline is not None and time.monotonic() > deadline:
            raise WaitTimeout(f"container {rec.name} did not stop in time")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def wait(store: ContainerStore, cid: str, timeout: float | None = None) -> int:
    state = wait_recorded(store, cid, timeout)
    return int(state.get("exit_code", 0))
