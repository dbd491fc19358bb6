"""``top``: the container's processes as seen on the host (``docker top``).

The process list is the container's cgroup (every process, including ``exec``'d ones;
the exec helper itself never joins it).  Default columns are ``ps -ef``'s, filled from
psutil; with ``ps_args`` the host's ``ps`` runs with those options and its rows are
filtered to the container's pids, as Docker does.
"""

from __future__ import annotations

import pwd
import subprocess
import time

from runtime.container.store import ContainerStore
from runtime.errors import ConflictError, InvalidInputError

TITLES = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]


def pids(store: ContainerStore, cid: str) -> list[int]:
    rec = store.load(cid)
    if rec.status.value not in ("running", "paused"):
        raise ConflictError(f"container {rec.name} is not running",
                            hint=f"pycompose container start {rec.name}")
    from runtime import cgroups

    return cgroups.driver().processes(cid)


def top(store: ContainerStore, cid: str, ps_args: str | None = None
        ) -> tuple[list[str], list[list[str]]]:
    found = pids(store, cid)
    if ps_args:
        return _host_ps(ps_args, set(found))
    rows = []
    for pid in found:
        row = _row(pid)
        if row is not None:
            rows.append(row)
    return list(TITLES), rows


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _cputime(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}-" if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def _stime(created: float, now: float) -> str:
    t = time.localtime(created)
    if time.localtime(now)[:3] == t[:3]:
        return time.strftime("%H:%M", t)
    return time.strftime("%b%d", t)


def _row(pid: int) -> list[str] | None:
    import psutil

    try:
        p = psutil.Process(pid)
        with p.oneshot():
            cpu = p.cpu_times()
            used = cpu.user + cpu.system
            created = p.create_time()
            elapsed = max(time.time() - created, 1e-9)
            tty = p.terminal()
            cmd = p.cmdline()
            return [_user(p.uids().effective), str(pid), str(p.ppid()),
                    str(int(used / elapsed * 100)), _stime(created, time.time()),
                    tty[5:] if tty and tty.startswith("/dev/") else "?",
                    _cputime(used), " ".join(cmd) if cmd else f"[{p.name()}]"]
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None


def _host_ps(ps_args: str, wanted: set[int]) -> tuple[list[str], list[list[str]]]:
    import shlex

    try:
        out = subprocess.run(["ps", *shlex.split(ps_args)], capture_output=True, text=True,
                             check=True).stdout
    except FileNotFoundError:
        raise InvalidInputError("ps options need the host's ps (procps)",
                                hint="apt-get install procps, or call top without options"
                                ) from None
    except subprocess.CalledProcessError as e:
        raise InvalidInputError(f"ps {ps_args}: {e.stderr.strip()}") from None
    lines = out.splitlines()
    if not lines:
        return [], []
    titles = lines[0].split()
    if "PID" not in titles:
        raise InvalidInputError(f"couldn't find PID field in ps output for {ps_args!r}")
    col = titles.index("PID")
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in wanted:
            rows.append(fields)
    return titles, rows
