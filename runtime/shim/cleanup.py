"""Removing a container's host objects: used by ``rm`` and by the shim for ``--rm``.

Everything a container owns is listed in its bundle's ``remove`` section when it is
created: its directories, its name reservation, its netns handle.  Mounts inside the
container die with its mount namespace; the cgroup is removed by the monitor.
"""

from __future__ import annotations

import errno
import os
import shutil

from runtime.errors import KernelError
from runtime.kernel import consts as C


def remove_container(k, b: dict, endpoints: bool = True) -> None:
    """``endpoints=False``: the caller already released the network endpoints."""
    r = b.get("remove", {})
    netns = r.get("netns")
    if netns and endpoints:
        release_endpoints(b)
    if netns and os.path.exists(netns):
        release_netns(k, netns)
    for path in r.get("files", ()):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    forget(b["dir"])
    for d in r.get("dirs", ()):
        shutil.rmtree(d, ignore_errors=True)


def forget(cdir: str) -> None:
    """Make the container invisible before its directory goes: the store lists only
    directories with a config.json, so a removal killed half-way never leaves a record
    without its state file (which would read as a startable "created" container)."""
    try:
        os.unlink(os.path.join(cdir, "config.json"))
    except FileNotFoundError:
        pass


def release_endpoints(b: dict) -> None:
    """Network endpoints of the container (leases, DNS names, published ports, NAT
    rules): the same release ``rm`` does, for ``--rm`` containers removed by the shim."""
    import sys
    from pathlib import Path

    from runtime.paths import StatePaths

    if sys.flags.no_site:
        # The shim runs with -S (lean); this short-lived cleanup child needs pyroute2.
        import site

        site.main()
    cdir = Path(b["dir"])                                 # <root>/containers/<id>
    run = Path(b["attach_socket"]).parent.parent.parent   # <run>/containers/<id>/...
    paths = StatePaths(cdir.parent.parent, run)
    if not paths.networks.is_dir():
        return
    from runtime.network.api import Networks

    nets = Networks(paths)
    try:
        nets.cleanup_container(b["id"])
    finally:
        nets.close()


def release_netns(k, path: str) -> None:
    try:
        k.umount2(path, C.MNT_DETACH)
    except KernelError as e:
        if e.errno not in (errno.EINVAL, errno.ENOENT):
            raise
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
