"""Clean up what a build killed half-way left behind (found from state, as the
project requires): step workspaces ``<root>/builds/tmp/step-*`` (maybe still mounted)
and heredoc dirs whose owner process is gone, and RUN containers (label
``io.pycompose.build.owner``) whose build process is gone."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from runtime.paths import StatePaths

OWNER_FILE = "owner"
OWNER_LABEL = "io.pycompose.build.owner"


def _start_time(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2:].split()[19])


def owner_token() -> str:
    """``pid:starttime`` of this process (safe against pid reuse)."""
    pid = os.getpid()
    return f"{pid}:{_start_time(pid)}"


def owner_alive(token: str) -> bool:
    try:
        pid_s, _, start_s = token.partition(":")
        pid, start = int(pid_s), int(start_s)
        return _start_time(pid) == start
    except (OSError, ValueError, IndexError):
        return False


def cleanup_workspaces(tmp_root: Path) -> int:
    """Remove dead builds' step dirs (unmounting their overlay first)."""
    from runtime.build.overlay import umount

    removed = 0
    if not tmp_root.is_dir():
        return 0
    for d in tmp_root.iterdir():
        if not d.is_dir() or not d.name.startswith(("step-", "heredoc-")):
            continue
        try:
            token = (d / OWNER_FILE).read_text().strip()
        except OSError:
            continue  # being set up right now (the owner file is written first thing)
        if owner_alive(token):
            continue
        merged = d / "merged"
        if merged.is_dir():
            with contextlib.suppress(OSError):
                umount(merged)
            if os.path.ismount(merged):
                continue  # never delete through a mount
        shutil.rmtree(d, ignore_errors=True)
        removed += 1
    return removed


def cleanup_containers(paths: StatePaths) -> int:
    """Remove RUN containers of builds whose process died."""
    from runtime.api import Runtime
    from runtime.errors import PycomposeError

    rt = Runtime(paths)
    removed = 0
    for rec in rt.containers.store.records():
        labels = dict(rec.spec.labels)
        token = labels.get(OWNER_LABEL)
        if token is None or owner_alive(token):
            continue
        with contextlib.suppress(PycomposeError, OSError):
            rt.containers.remove(rec.id, force=True)
            removed += 1
    return removed
