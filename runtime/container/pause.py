"""``pause``/``unpause``: the cgroup freezer, and the ``paused`` state.

The status change and the freezer write happen under the container's lock, so a
concurrent ``pause`` and ``unpause`` cannot leave a frozen container marked running.
While paused the monitor runs no healthcheck probes (as moby stops its health monitor).
"""

from __future__ import annotations

from runtime.container import statefile
from runtime.container.store import ContainerStore
from runtime.errors import ConflictError


def _driver():
    from runtime import cgroups

    return cgroups.driver()


def pause(store: ContainerStore, cid: str) -> None:
    rec = store.load(cid)
    cdir = str(rec.dir)
    with statefile.locked(cdir):
        state = statefile.read(cdir)
        status = state.get("status")
        if status == "paused":
            raise ConflictError(f"container {rec.name} is already paused")
        if status != "running":
            raise ConflictError(f"container {rec.name} is not running",
                                hint=f"pycompose container start {rec.name}")
        _driver().freeze(cid)
        state["status"] = "paused"
        statefile.write(cdir, state)


def unpause(store: ContainerStore, cid: str) -> None:
    rec = store.load(cid)
    cdir = str(rec.dir)
    with statefile.locked(cdir):
        state = statefile.read(cdir)
        if state.get("status") != "paused":
            raise ConflictError(f"container {rec.name} is not paused")
        _driver().thaw(cid)
        state["status"] = "running"
        statefile.write(cdir, state)


def thaw_if_paused(store: ContainerStore, cid: str) -> None:
    """For kill/stop/rm: a frozen process cannot act on a signal (v1 freezer)."""
    try:
        unpause(store, cid)
    except ConflictError:
        pass
