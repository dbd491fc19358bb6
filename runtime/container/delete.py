"""``rm``: remove a stopped container (``force`` kills a running one first)."""

from __future__ import annotations

import errno
import json

from runtime.container import statefile
from runtime.container.kill import kill
from runtime.container.store import ContainerStore
from runtime.container.wait import wait_recorded
from runtime.errors import ConflictError


def remove(store: ContainerStore, cid: str, force: bool = False) -> None:
    rec = store.load(cid)
    if rec.status.is_alive:
        if not force:
            raise ConflictError(
                f"cannot remove container {rec.name}: it is {rec.status.value}",
                hint="stop it first, or use --force")
        statefile.update(str(rec.dir), stop_requested=True)
        if rec.status.can_kill:
            kill(store, cid, "SIGKILL")
        wait_recorded(store, cid, timeout=30)
    with statefile.locked(str(rec.dir)):
        state = statefile.read(str(rec.dir))
        if state.get("status") in ("running", "paused", "restarting"):
            raise ConflictError(f"container {rec.name} was started again meanwhile")
        state["status"] = "removing"
        statefile.write(str(rec.dir), state)
    plan = _bundle(rec.dir)
    _destroy_cgroup(cid)
    bridge = rec.spec.network.kind == "bridge"
    if bridge:
        _release_network(store, cid)
    from runtime.kernel import kernel
    from runtime.shim.cleanup import remove_container

    if plan.get("remove"):
        remove_container(kernel(), plan, endpoints=not bridge)  # bridge: released above
    else:  # never started: no bundle yet
        import shutil

        from runtime.shim.cleanup import forget

        store.name_file(rec.name).unlink(missing_ok=True)
        shutil.rmtree(store.run_dir(cid), ignore_errors=True)
        forget(str(rec.dir))
        shutil.rmtree(rec.dir, ignore_errors=True)


def _bundle(cdir) -> dict:
    try:
        return json.loads((cdir / "bundle.json").read_bytes())
    except FileNotFoundError:
        return {}


def _destroy_cgroup(cid: str) -> None:
    """Normally the shim removed it; this covers a shim that died before it could."""
    from runtime import cgroups
    from runtime.errors import KernelError

    drv = cgroups.driver()
    if drv.exists(cid):
        try:
            drv.kill_all(cid)
            drv.destroy(cid)
        except KernelError as e:
            # the shim removed the cgroup meanwhile (ENODEV/ENOENT on its files): done
            if e.errno not in (errno.ENODEV, errno.ENOENT) or drv.exists(cid):
                raise


def _release_network(store: ContainerStore, cid: str) -> None:
    """Endpoints (veths, leases, ports, DNS names) first, then the netns handle."""
    from runtime.network import netns

    if store.paths.networks.is_dir():
        from runtime.network.api import Networks

        nets = Networks(store.paths)
        try:
            nets.cleanup_container(cid)
        finally:
            nets.close()
    netns.delete(netns.handle_path(store.paths.run_dir, cid))


def remove_after_exit(root: str, run_dir: str, cid: str) -> None:
    """``--rm`` of a container with network endpoints, run by its shim after the exit."""
    from runtime.paths import StatePaths

    store = ContainerStore(StatePaths.resolve(root, run_dir))
    remove(store, cid)
