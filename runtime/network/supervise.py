"""Start and stop our helper processes (DNS servers, userland proxies) by PID.

A helper is identified by ``(pid, starttime)`` (field 22 of ``/proc/PID/stat``), so a
recycled PID is never signalled.  Helpers run in their own session, detached from the
CLI, with their listening sockets bound by the caller and passed in: a bind error
(port busy) surfaces in the caller at once, and no readiness handshake is needed.
They are not daemons that outlive their purpose: whoever removes the network or the
container stops them, and ``connect`` restarts a DNS server that died.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import runtime


def starttime(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def alive(proc: dict[str, Any] | None) -> bool:
    """Still running (not a zombie) and still the process we started."""
    if not proc:
        return False
    return starttime(proc["pid"]) == proc["starttime"] and not _zombie(proc["pid"])


def spawn(module: str, args: list[str], fds: list[int], log: Path) -> dict[str, Any]:
    """Run ``python -m module args`` detached; ``fds`` are inherited as-is."""
    env = dict(os.environ)
    root = str(Path(runtime.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], stdin=subprocess.DEVNULL,
            stdout=logf, stderr=logf, pass_fds=fds, start_new_session=True, env=env,
            cwd="/")
    st = starttime(proc.pid)
    # The Popen object is dropped: the helper is reaped by init once it exits
    # (start_new_session + our exit); while we live, mark it so Python never warns.
    proc.returncode = 0
    return {"pid": proc.pid, "starttime": st}


def stop(proc: dict[str, Any] | None, timeout: float = 2.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; only if it is still the same process."""
    if not alive(proc):
        return
    assert proc is not None
    pid = proc["pid"]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(proc) or _zombie(pid):
            _reap(pid)
            return
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)


def stop_strays(module: str, args: list[str]) -> int:
    """Stop helpers running ``-m module args...`` that no state file records: a
    command killed between spawning a helper and saving its pid leaves one (it still
    holds its port).  Matched by their exact command line; returns how many."""
    want = ["-m", module, *args]
    found = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if argv[1:1 + len(want)] == want:
            pid = int(entry.name)
            stop({"pid": pid, "starttime": starttime(pid)})
            found += 1
    return found


def signal_if_alive(proc: dict[str, Any] | None, sig: int) -> bool:
    if not alive(proc):
        return False
    assert proc is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc["pid"], sig)
    return True


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
