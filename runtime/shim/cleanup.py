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


def remove_container(k, b: dict) -> None:
    r = b.get("remove", {})
    netns = r.get("netns")
    if netns and os.path.exists(netns):
        release_netns(k, netns)
    for path in r.get("files", ()):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    for d in r.get("dirs", ()):
        shutil.rmtree(d, ignore_errors=True)


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
