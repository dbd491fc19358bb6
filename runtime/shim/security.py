"""Capabilities, no_new_privs and seccomp for the init stage.

The capability and seccomp machinery itself lives in ``runtime.security`` (cgroups
helper).  Until that lands this module carries the minimal capset/bounding code so the
init stage never runs with full root capabilities.
"""

from __future__ import annotations

import ctypes
import os

from runtime.errors import KernelError
from runtime.kernel import consts as C

try:  # imported before pivot_root: nothing can be imported from the host afterwards
    from runtime.security import seccomp as _seccomp  # type: ignore[attr-defined]
except ImportError:  # TODO(core): remove when runtime.security.seccomp lands
    _seccomp = None

_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def last_cap() -> int:
    with open("/proc/sys/kernel/cap_last_cap") as f:
        return int(f.read())


def drop_bounding(k, keep: list[int]) -> None:
    """Drop every capability not in ``keep`` from the bounding set (needs CAP_SETPCAP)."""
    keep_set = set(keep)
    for cap in range(last_cap() + 1):
        if cap not in keep_set:
            k.prctl(C.PR_CAPBSET_DROP, cap)


def capset(keep: list[int]) -> None:
    """effective = permitted = ``keep``, inheritable empty (as Docker since CVE-2022-24769)."""
    mask = 0
    for cap in keep:
        mask |= 1 << cap
    hdr = _Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()
    for i in range(2):
        word = (mask >> (32 * i)) & 0xFFFFFFFF
        data[i].effective = word
        data[i].permitted = word
        data[i].inheritable = 0
    if _libc.capset(ctypes.byref(hdr), data) != 0:
        raise KernelError("capset", ctypes.get_errno())


def apply(k, caps: list[int], uid: int, gid: int, groups: list[int]) -> None:
    """runc's finalizeNamespace order: bounding drop, keepcaps, ids, capset."""
    drop_bounding(k, caps)
    k.prctl(C.PR_SET_KEEPCAPS, 1)
    os.setgroups(groups)
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    k.prctl(C.PR_SET_KEEPCAPS, 0)
    capset(caps)


def load_seccomp(profile: str) -> None:
    """Load the seccomp filter (``default``, or a path to a Docker JSON profile)."""
    if _seccomp is not None:
        _seccomp.load(profile)  # pragma: no cover
