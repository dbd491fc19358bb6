"""``state.json`` of one container: read, and locked read-modify-write.

Written by both the CLI and the container's shim, so this module stays stdlib-only and
cheap to import (the shim imports it).  Every change takes an exclusive ``flock`` on
``<container dir>/lock`` and replaces the file atomically (write + rename), so readers
never see half a file and two writers never lose each other's fields.
"""

from __future__ import annotations

import fcntl
import os

from runtime.shim import minijson

STATE = "state.json"
LOCK = "lock"


class locked:
    """``with locked(cdir):`` holds the container's lock (exclusive unless ``shared``).

    A plain class, not ``contextlib``: the monitor must not import it.
    """

    def __init__(self, cdir: str, shared: bool = False) -> None:
        self.path = os.path.join(cdir, LOCK)
        self.shared = shared
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def read(cdir: str) -> dict:
    try:
        fd = os.open(os.path.join(cdir, STATE), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return {}
    try:
        data = b""
        while chunk := os.read(fd, 65536):
            data += chunk
    finally:
        os.close(fd)
    return minijson.loads(data or b"{}")  # type: ignore[return-value]


def write(cdir: str, state: dict) -> None:
    """Atomically replace state.json (caller holds the lock)."""
    path = os.path.join(cdir, STATE)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, minijson.dumps(state).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def update(cdir: str, **changes: object) -> dict:
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
