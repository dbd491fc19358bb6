"""Start-up timeline for benchmarks: ``PYCOMPOSE_TRACE=<file>`` appends
``<pid> <name> <CLOCK_MONOTONIC ns>`` lines (the clock is shared by all processes, so
the CLI's and the shim's marks line up).  Off (and free) by default."""

from __future__ import annotations

import os
import time

_PATH = os.environ.get("PYCOMPOSE_TRACE")


def mark(name: str) -> None:
    if _PATH:
        fd = os.open(_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, f"{os.getpid()} {name} {time.monotonic_ns()}\n".encode())
        finally:
            os.close(fd)
