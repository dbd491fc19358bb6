"""The few system calls the network layer needs (ctypes on libc).

TODO(merge): move into ``runtime/kernel/`` once the runtime-core helper's module lands;
kept here so the network layer does not wait for it.
"""

from __future__ import annotations

import ctypes
import os

from runtime.errors import KernelError

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MNT_DETACH = 0x2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_void_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _check(rc: int, name: str, path: str | None = None) -> None:
    if rc != 0:
        raise KernelError(name, ctypes.get_errno(), path)


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def bind_mount(source: str, target: str) -> None:
    _check(_libc.mount(source.encode(), target.encode(), None, MS_BIND, None), "mount", target)


def umount_detach(target: str) -> None:
    _check(_libc.umount2(os.fsencode(target), MNT_DETACH), "umount2", target)
