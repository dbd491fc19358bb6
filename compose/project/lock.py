"""One lock per project: two commands on the same project never interleave; different
projects run in parallel.  ``fcntl`` locks die with the process, so a crash never leaves
a stale lock behind."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from runtime.errors import ConflictError
from runtime.paths import StatePaths


@contextmanager
def project_lock(paths: StatePaths, project: str, *, wait: bool = True) -> Iterator[None]:
    paths.locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.locks / f"project-{project}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise ConflictError(f"project {project!r} is busy: another pycompose command "
                                    "is working on it", hint="wait for it to finish") from None
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
