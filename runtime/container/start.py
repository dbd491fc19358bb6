"""``start``: build the bundle, spawn the detached shim, wait for exec (or the error).

The CLI never forks for container setup: it ``posix_spawn``s a fresh, single-threaded
``python -I -S`` shim and reads one JSON message from a pipe — ``{"pid": N}`` once the
container's command has exec'd, or ``{"error": ..., "code": 125|126|127}``.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from pathlib import Path

from runtime.container import bundle, statefile
from runtime.container.status import Status
from runtime.container.store import ContainerStore
from runtime.errors import ConflictError, ExitCode, RuntimeFailure
from runtime.shim import minijson
from runtime.shim.trace import mark

SHIM_TIMEOUT = 60.0
PKG_DIR = str(Path(__file__).resolve().parent.parent.parent)


class ContainerStartError(RuntimeFailure):
    """The container could not be started; ``exit_code`` is Docker's (125/126/127)."""

    def __init__(self, message: str, code: int = 125, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = code if code in (125, 126, 127) else ExitCode.FAILURE


def netns_for(store: ContainerStore, rec) -> str:
    """"new", "host", or the path of the netns handle the container must join."""
    kind = rec.spec.network.kind
    if kind == "none":
        return "new"
    if kind == "host":
        return "host"
    if kind == "container":
        other = store.load(store.resolve(rec.spec.network.target or ""))
        if other.status is not Status.RUNNING:
            raise ConflictError(f"cannot join the network of container {other.name}: "
                                "it is not running")
        return f"/proc/{other.state['pid']}/ns/net"
    # bridge: "netns first".  The handle exists before PID 1 does; the network layer
    # (Networks.connect) wires veths into it, before or after the start.
    from runtime.network import netns

    return str(netns.create(netns.handle_path(store.paths.run_dir, rec.id)))


def start(store: ContainerStore, cid: str, attach_fd: int = -1,
          console_size: tuple[int, int] | None = None, fork_server=None,
          prespawned=None) -> int:
    """Start container ``cid``; returns PID 1's host pid.  ``prespawned``: a
    :class:`runtime.container.prespawn.Prespawned` shim (attach fd and flags fixed)."""
    try:
        return _start(store, cid, attach_fd, console_size, fork_server, prespawned)
    finally:
        if prespawned is not None:
            prespawned.cancel()   # no-op once handed over


def _start(store: ContainerStore, cid: str, attach_fd: int,
           console_size: tuple[int, int] | None, fork_server, prespawned) -> int:
    mark("cli.start")
    cdir = store.dir(cid)
    rec = store.load(cid)
    if not rec.status.can_start:
        if rec.status is Status.RUNNING:
            return int(rec.state.get("pid", 0))
        raise ConflictError(f"cannot start container {rec.name}: it is {rec.status.value}")
    netns = netns_for(store, rec)
    run_dir = store.run_dir(cid)
    run_dir.mkdir(parents=True, exist_ok=True)
    bundle.etc_files(rec.spec, cid, cdir, netns)
    if rec.spec.network.kind == "bridge":
        from runtime.network.hooks import on_start as network_start  # veths, ports, DNS

        network_start(store.paths, rec.id, rec.name, rec.spec, netns, cdir)
    if any(m.type == "volume" for m in rec.spec.mounts):
        from runtime.volumes.hooks import prepare_mounts  # host mounts of volumes, copy-up

        prepare_mounts(store.paths, rec.spec, cdir)
    plan = bundle.build(rec.spec, cid, cdir, run_dir, store.name_file(rec.name), netns,
                        console_size, seccomp_cache=store.paths.root / "cache" / "seccomp")
    plan["cgroup"] = create_cgroup(rec)
    # Derived data, rebuilt on every start: atomic, not fsync'd.
    bundle.atomic_write_bytes(cdir / "bundle.json", minijson.dumps(plan).encode())
    statefile.update(str(cdir), stop_requested=False, error="")
    if prespawned is not None:
        mark("cli.spawn")
        r = prespawned.go(str(cdir))
        try:
            msg = _read_report(r)
        finally:
            prespawned.reap()
        return _result(msg, str(cdir / "shim.log"))
    return spawn_shim(cdir, attach_fd, rec.spec.process.tty, rec.spec.process.stdin_open,
                      fork_server)


def create_cgroup(rec) -> dict:
    """Create the container's cgroup with its limits (the driver decides v1/v2) and
    tell the shim where it is: directories to join and the OOM counter file."""
    from runtime import cgroups

    drv = cgroups.driver()
    drv.create(rec.id, rec.spec.resources, privileged=rec.spec.security.privileged)
    paths = [str(p) for p in drv.paths(rec.id)]
    oom_file = None
    for p in paths:
        for name in ("memory.oom_control", "memory.events"):
            if os.path.exists(os.path.join(p, name)):
                oom_file = os.path.join(p, name)
    return {"paths": paths, "oom_file": oom_file, "version": drv.version,
            "mounts": cgroup_mounts(paths)}


_CGROUP_OPTS = {"rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec",
                "nsdelegate", "memory_recursiveprot", "favordynmods", "clone_children"}


def cgroup_mounts(paths: list[str]) -> list[list[str]]:
    """``[[fstype, data, dir name under /sys/fs/cgroup]]`` for the container's own view
    of its cgroups (mounted read-only inside its cgroup namespace, as Docker does)."""
    out = []
    try:
        with open("/proc/self/mounts") as f:
            mounts = [line.split() for line in f]
    except OSError:
        return out
    for fields in mounts:
        if len(fields) < 4 or fields[2] not in ("cgroup", "cgroup2"):
            continue
        if not any(p.startswith(fields[1].rstrip("/") + "/") for p in paths):
            continue
        rel = os.path.relpath(fields[1], "/sys/fs/cgroup")
        if rel.startswith(".."):
            continue
        data = ",".join(o for o in fields[3].split(",") if o not in _CGROUP_OPTS)
        if fields[2] == "cgroup" and data.startswith("name="):
            data = "none," + data
        out.append([fields[2], data, "" if rel == "." else rel])
    return out


_SPAWN_LOCK = threading.Lock()


def spawn_shim(cdir: Path, attach_fd: int = -1, tty: bool = False,
               stdin: bool = False, fork_server=None) -> int:
    """Start the shim (spawned, or forked by ``fork_server``) and wait for its report."""
    from runtime.shim.keeper import BOOT

    log = str(cdir / "shim.log")
    if fork_server is not None:
        r, w = os.pipe()
        mark("cli.spawn")
        try:
            fork_server.spawn(str(cdir), w, attach_fd, tty, stdin)
        finally:
            os.close(w)
        try:
            msg = _read_report(r)
        finally:
            os.close(r)
        return _result(msg, log)
    r, w = os.pipe()
    argv = [sys.executable, "-I", "-S", "-c", BOOT, PKG_DIR, str(cdir), str(w),
            str(attach_fd), str(int(tty)), str(int(stdin))]
    mark("cli.spawn")
    # posix_spawn has no close_fds: while ``w`` is inheritable, a shim spawned by another
    # thread (``up`` starts containers concurrently) would inherit it too and keep our
    # pipe open, so we would never see EOF.  The lock makes the window exclusive.
    with _SPAWN_LOCK:
        os.set_inheritable(w, True)
        if attach_fd >= 0:
            os.set_inheritable(attach_fd, True)
        try:
            pid = os.posix_spawn(sys.executable, argv, os.environ, setsid=True,
                                 file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ])
        finally:
            os.close(w)
            if attach_fd >= 0:
                os.set_inheritable(attach_fd, False)
    try:
        msg = _read_report(r)
    finally:
        os.close(r)
        os.waitpid(pid, 0)  # the shim daemonizes (forks and exits) right away
    return _result(msg, log)


def _result(msg: dict, log: str) -> int:
    mark("cli.reported")
    if "pid" in msg:
        return int(msg["pid"])
    raise ContainerStartError(msg.get("error", "the shim exited without a report"),
                              int(msg.get("code", 125)),
                              hint=None if msg.get("error") else f"see {log}")


def _read_report(fd: int) -> dict:
    data = b""
    while True:
        ready, _, _ = select.select([fd], [], [], SHIM_TIMEOUT)
        if not ready:
            return {"error": f"no answer from the shim within {SHIM_TIMEOUT:.0f}s"}
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    if not data:
        return {}
    try:
        return minijson.loads(data)  # type: ignore[return-value]
    except ValueError:
        return {"error": f"garbled shim report: {data[:200]!r}"}
