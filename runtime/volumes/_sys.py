"""The few kernel calls the volume side needs: mount, umount2 and /proc/self/mountinfo.

Kept local (tiny ctypes wrappers) because ``runtime/kernel/`` is owned by the runtime
core; once it has ``mount``/``umount2`` these can delegate there.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

from runtime.errors import KernelError, PermissionRequired

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MNT_DETACH = 0x2

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _b(s: str | os.PathLike[str] | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def mount(source: str | None, target: str | os.PathLike[str], fstype: str | None,
          flags: int = 0, data: str | None = None) -> None:
    if _libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)) != 0:
        err = ctypes.get_errno()
        if err == 1:  # EPERM
            raise PermissionRequired(f"mounting {fstype or 'bind'} on {target} needs root",
                                     hint="run pycompose as root")
        raise KernelError("mount", err, os.fspath(target))


def umount2(target: str | os.PathLike[str], flags: int = 0) -> None:
    if _libc.umount2(_b(target), flags) != 0:
        raise KernelError("umount2", ctypes.get_errno(), os.fspath(target))


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as ``\\ooo``."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        code = field[i + 1:i + 4]
        if field[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_points() -> list[str]:
    """Mount points of the calling process's mount namespace, in mount order."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            out.append(_unescape(line.split()[4]))
    return out


def is_mount_point(path: Path) -> bool:
    p = os.path.realpath(path)
    return p in mount_points()


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` (deepest first, ready for unmounting)."""
    base = os.path.realpath(path)
    found = [m for m in mount_points() if m == base or m.startswith(base.rstrip("/") + "/")]
    return sorted(found, key=lambda m: m.count("/"), reverse=True)
