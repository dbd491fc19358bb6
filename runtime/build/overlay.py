"""A private overlay mount for builder steps that change files without a container
(COPY, ADD, WORKDIR's mkdir): lower = the stage's layers, upper = the new layer.

The mount lives under ``<root>/builds/tmp/<id>/merged`` and is always unmounted (lazy
detach) when the ``with`` block ends, also on errors, so a failed step leaves no mount.
(Tiny ctypes ``mount``/``umount2``; to be folded into ``runtime/kernel`` later.)
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import KernelError

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
MNT_DETACH = 2
PAGE = os.sysconf("SC_PAGE_SIZE")


def mount_overlay(target: Path, lowers: list[Path], upper: Path, work: Path) -> None:
    opts = (f"lowerdir={':'.join(str(p) for p in lowers)},upperdir={upper},workdir={work}"
            ",index=off,metacopy=off")
    if len(opts) >= PAGE:
        raise KernelError("mount", 7, str(target),
                          hint="too many layers for one overlay mount; flatten the image")
    if _libc.mount(b"overlay", str(target).encode(), b"overlay", 0, opts.encode()) != 0:
        err = ctypes.get_errno()
        raise KernelError("mount(overlay)", err, str(target),
                          hint="the builder needs root and overlayfs")


def umount(target: Path) -> None:
    if _libc.umount2(str(target).encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (22, 2):  # EINVAL: not mounted, ENOENT
            raise KernelError("umount2", err, str(target))


@dataclass
class Workspace:
    root: Path       # where the files of the step are written (merged view)
    upper: Path      # the new layer's contents


@contextlib.contextmanager
def workspace(tmp_root: Path, lowers: list[Path]) -> Iterator[Workspace]:
    """A writable view over ``lowers`` (topmost first); changes land in ``upper``."""
    tmp_root.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="step-", dir=tmp_root))
    from runtime.build.stale import OWNER_FILE, owner_token

    (base / OWNER_FILE).write_text(owner_token())
    upper, work, merged = base / "upper", base / "work", base / "merged"
    for d in (upper, work, merged):
        d.mkdir(mode=0o755)
    mounted = False
    try:
        if lowers:
            mount_overlay(merged, lowers, upper, work)
            mounted = True
            yield Workspace(merged, upper)
        else:  # scratch: there is nothing below, write the layer directly
            yield Workspace(upper, upper)
    finally:
        if mounted:
            umount(merged)
        shutil.rmtree(base, ignore_errors=True)
