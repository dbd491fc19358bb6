"""Signal names/numbers and delivery to a container's PID 1 through a pidfd.

A pidfd is opened only after checking the pid's start time against the one recorded at
start, so a recycled pid is never signalled.
"""

from __future__ import annotations

import errno
import os
import select
import signal

from runtime.errors import InvalidInputError, KernelError


def parse_signal(sig: str | int) -> int:
    if isinstance(sig, int) or str(sig).isdigit():
        n = int(sig)
        if 0 < n < signal.NSIG:
            return n
    else:
        name = str(sig).upper()
        if not name.startswith("SIG"):
            name = "SIG" + name
        try:
            return int(signal.Signals[name])
        except KeyError:
            pass
        if name.startswith("SIGRTMIN+") or name.startswith("SIGRTMAX-"):
            base = signal.SIGRTMIN if "MIN" in name else signal.SIGRTMAX
            off = int(name[9:])
            return base + off if "MIN" in name else base - off
    raise InvalidInputError(f"invalid signal: {sig}", hint="use a name like SIGTERM or a number")


def open_pidfd(pid: int, start: int | None) -> int | None:
    """A pidfd for ``pid`` if it is still the process we started, else None."""
    from runtime.container.store import pid_alive

    if not pid or not pid_alive(pid, start):
        return None
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    if not pid_alive(pid, start):  # recycled between the check and the open
        os.close(fd)
        return None
    return fd


def send(pidfd: int, sig: int) -> None:
    try:
        signal.pidfd_send_signal(pidfd, sig)
    except ProcessLookupError:
        pass
    except OSError as e:
        raise KernelError("pidfd_send_signal", e.errno or errno.EIO) from None


def wait_exit(pidfd: int, timeout: float | None) -> bool:
    """True once the process has exited (pidfd readable), False on timeout."""
    r, _, _ = select.select([pidfd], [], [], timeout)
    return bool(r)
