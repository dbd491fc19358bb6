"""``state.json`` of one container: read, and locked read-modify-write.

Written by both the CLI and the container's shim, so this module stays stdlib-only and
cheap to import (the shim imports it).  Every change takes an exclusive ``flock`` on
``<container dir>/lock`` and replaces the file atomically (write + rename), so readers
never see half a file and two writers never lose each other's fields.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from typing import Any

STATE = "state.json"
LOCK = "lock"


@contextmanager
def locked(cdir: str, shared: bool = False):
    """Hold the container's lock (exclusive unless ``shared``)."""
    fd = os.open(os.path.join(cdir, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read(cdir: str) -> dict[str, Any]:
    try:
        with open(os.path.join(cdir, STATE), "rb") as f:
            return json.loads(f.read() or b"{}")
    except FileNotFoundError:
        return {}


def write(cdir: str, state: dict[str, Any]) -> None:
    """Atomically replace state.json (caller holds the lock)."""
    path = os.path.join(cdir, STATE)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, json.dumps(state, sort_keys=True, indent=1).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def update(cdir: str, **changes: Any) -> dict[str, Any]:
    """Merge ``changes`` into the state under the lock; returns the new state."""
    with locked(cdir):
        state = read(cdir)
        state.update(changes)
        write(cdir, state)
        return state


def now_rfc3339(ns: int | None = None) -> str:
    """RFC 3339 with nanoseconds in UTC, as Docker prints times (no datetime import)."""
    import time

    ns = time.time_ns() if ns is None else ns
    secs, frac = divmod(ns, 1_000_000_000)
    t = time.gmtime(secs)
    return (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:"
            f"{t.tm_min:02d}:{t.tm_sec:02d}.{frac:09d}Z")
