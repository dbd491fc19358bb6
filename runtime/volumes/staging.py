"""Crash-safe filling of a volume directory (import, copy-up) from a staging dir.

A volume's ``_data`` may be a mount point (driver_opts), so it cannot be swapped by
rename; its *entries* are moved instead, with a commit point:

1. the new content is built in ``_data/.pycompose-stage-*`` (incomplete: thrown away);
2. with ``replace``, the current entries move into ``_data/.pycompose-old-*``;
3. commit: the stage dir is renamed ``.pycompose-ready-*`` (one atomic rename);
4. the ready entries move into ``_data``; ``old`` is renamed ``.pycompose-trash-*``
   *before* ``ready`` is removed (so an ``old`` without a ``ready`` always means "not
   committed"), then the trash is deleted.

:func:`recover` (run under the dir's flock before any new fill and on every
``VolumeStore.prepare``) rolls an interrupted fill forward when it had committed
(``ready`` exists) and back otherwise (``old`` entries return), so a SIGKILL at any
point leaves either the old or the new content, never a mix, and never loses data.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

STAGE = ".pycompose-stage-"
OLD = ".pycompose-old-"
READY = ".pycompose-ready-"
TRASH = ".pycompose-trash-"
PREFIXES = (STAGE, OLD, READY, TRASH)


def is_internal(name: str) -> bool:
    return name.startswith(PREFIXES)


def _remove(path: Path) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


@contextlib.contextmanager
def locked(dest: Path) -> Iterator[None]:
    """flock on the volume dir itself: one fill (import/copy-up) at a time."""
    fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _move_all(src: Path, dest: Path) -> None:
    for name in os.listdir(src):
        target = dest / name
        if os.path.lexists(target):
            _remove(target)
        os.rename(src / name, target)


def _take_root_attrs(src: Path, dest: Path) -> None:
    st = os.lstat(src)
    os.chown(dest, st.st_uid, st.st_gid)
    os.chmod(dest, st.st_mode & 0o7777)


def recover(dest: Path) -> str | None:
    """Finish or undo an interrupted fill of ``dest`` (caller holds :func:`locked`).
    Returns "forward", "back" or None (nothing to do)."""
    names = os.listdir(dest)
    ready = [n for n in names if n.startswith(READY)]
    old = [n for n in names if n.startswith(OLD)]
    action = None
    if ready:
        for r in ready:
            _finish(dest / r, dest, [dest / o for o in old])
        action = "forward"
    elif old:
        for o in old:
            _move_all(dest / o, dest)
            os.rmdir(dest / o)
        action = "back"
    for n in os.listdir(dest):
        if n.startswith((STAGE, TRASH)):
            _remove(dest / n)
            action = action or "back"
    return action


def _finish(ready: Path, dest: Path, olds: list[Path]) -> None:
    _move_all(ready, dest)
    _take_root_attrs(ready, dest)
    trash = []
    for o in olds:
        t = dest / f"{TRASH}{o.name[len(OLD):]}"
        os.rename(o, t)                     # before ready goes: old is now garbage
        trash.append(t)
    os.rmdir(ready)
    for t in trash:
        _remove(t)


def new_stage(dest: Path) -> Path:
    stage = dest / f"{STAGE}{secrets.token_hex(4)}"
    os.mkdir(stage, 0o700)
    return stage


def commit(stage: Path, dest: Path, *, replace: bool) -> None:
    """Make ``stage``'s entries (and its owner/mode) the content of ``dest``."""
    old = None
    if replace:
        old = dest / f"{OLD}{secrets.token_hex(4)}"
        os.mkdir(old, 0o700)
        for name in os.listdir(dest):
            if not is_internal(name):
                os.rename(dest / name, old / name)
    ready = dest / f"{READY}{stage.name[len(STAGE):]}"
    os.rename(stage, ready)                              # the commit point
    _finish(ready, dest, [old] if old is not None else [])
