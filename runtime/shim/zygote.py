"""Fork server for shims: one lean, single-threaded process that forks a shim per start.

A long-lived caller (the orchestrator bringing up many services, the API in tests and
benchmarks) pays the interpreter start-up of a shim once instead of once per container:
each start becomes a request on a SEQPACKET socket (JSON + the sync pipe and attach fds
via SCM_RIGHTS) and a ``fork`` here.  The forked child becomes a session leader and
runs :func:`runtime.shim.keeper.main` exactly as a freshly spawned shim would; it
daemonizes at once, so the shims never depend on this process, which exits when its
caller closes the socket.  Only the lean shim modules are imported (they are what a
shim needs anyway), so a shim forked from here costs no more memory than a spawned one.
"""

from __future__ import annotations

import _socket
import os

from runtime.shim import keeper, minijson
from runtime.shim import monitor as _monitor  # noqa: F401 - preloaded for the shims

MAX_FDS = 4


def _recv(sock) -> tuple[dict | None, list[int]]:
    data, ancdata, _, _ = sock.recvmsg(65536, _socket.CMSG_LEN(MAX_FDS * 4))
    fds: list[int] = []
    for level, kind, payload in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds += [int.from_bytes(payload[i:i + 4], "little", signed=True)
                    for i in range(0, usable, 4)]
    if not data:
        return None, fds
    return minijson.loads(data), fds  # type: ignore[return-value]


def serve(fd: int) -> None:
    sock = _socket.socket(fileno=fd)
    while True:
        try:
            req, fds = _recv(sock)
        except InterruptedError:
            continue
        except OSError:
            break
        if req is None:
            break  # the caller is gone
        sync_fd = fds[0]
        attach_fd = fds[1] if req.get("attach") and len(fds) > 1 else -1
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                os.setsid()
                log = os.open(os.path.join(req["cdir"], "shim.log"),
                              os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                os.dup2(log, 1)
                os.dup2(log, 2)
                os.close(log)
                keeper.main([req["cdir"], str(sync_fd), str(attach_fd),
                             "1" if req.get("tty") else "0",
                             "1" if req.get("stdin") else "0"])
            finally:
                os._exit(1)
        for f in fds:
            os.close(f)
        os.waitpid(pid, 0)  # the child daemonizes (forks and exits) right away
    os._exit(0)


BOOT = ("import sys;sys.path.insert(0,sys.argv[1]);"
        "from runtime.shim.zygote import serve;serve(int(sys.argv[2]))")
