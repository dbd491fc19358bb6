"""The setup child: forked by the monitor for each start of the container.

It carries the heavy imports (ctypes, the kernel interface, the init stage, the
capability code) so that they never live in the long-lived monitor.  It unshares the
pid namespace, forks PID 1, puts it in the cgroup while it waits for "go", waits for
the exec (EOF on a close-on-exec pipe) or a structured error (SEQPACKET socket), writes
one JSON report for the monitor and exits; PID 1 is then re-parented to the monitor.
"""

from __future__ import annotations

import _socket
import os
import select

from runtime.kernel import consts as C
from runtime.kernel import kernel
from runtime.shim import init, minijson
from runtime.shim.trace import mark

CONNECT_TIMEOUT = 60.0


def run(b: dict, child_stdio: tuple[int, int, int], tty: bool, cg, report_w: int) -> None:
    k = kernel()
    if b.get("seccomp"):
        with open(b["seccomp"], "rb") as f:   # read now: init cannot after pivot_root
            b["seccomp_bpf"] = f.read()
    k.unshare(C.CLONE_NEWPID)
    # _socket, not socket: the socket module imports enum (~1 MB, ~2 ms)
    parent_sock, child_sock = _socket.socketpair(_socket.AF_UNIX,
                                                 _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
    execr, execw = os.pipe2(os.O_CLOEXEC)
    mark("setup.fork_init")
    pid = os.fork()
    if pid == 0:  # ------------------------------------------------------ container init
        try:
            parent_sock.close()
            os.close(execr)
            os.close(report_w)
            init.run(k, b, child_sock, execw, child_stdio, tty)
        finally:
            os._exit(125)
    child_sock.close()
    os.close(execw)
    msg = b""
    ok = False
    try:
        mark("setup.forked")
        if cg is not None:
            cg.join(pid)
        mark("setup.go")
        parent_sock.send(b'{"go": true}')
        ready, _, _ = select.select([execr], [], [], CONNECT_TIMEOUT)
        if ready:
            os.read(execr, 1)
            mark("setup.exec_eof")
            parent_sock.setblocking(False)
            try:
                msg = parent_sock.recv(65536)
            except BlockingIOError:
                msg = b""
            ok = not msg
        else:
            msg = b'{"error": "container init timed out", "code": 125}'
    except BaseException as e:
        msg = minijson.dumps({"error": f"{type(e).__name__}: {e}", "code": 125}).encode()
    finally:
        parent_sock.close()
        os.close(execr)
    if ok:
        os.write(report_w, minijson.dumps({"pid": pid}).encode())
        return
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    os.write(report_w, msg)
