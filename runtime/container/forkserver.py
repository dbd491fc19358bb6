"""Client of :mod:`runtime.shim.zygote`: start shims by fork instead of by exec.

Used by long-lived callers (``Runtime(paths, fork_server=True)``): the first start
spawns the fork server (``posix_spawn``, so it is single-threaded from birth even if the
caller runs threads or an event loop); later starts cost a message and a fork.  The
server exits when this object is closed or the caller exits.
"""

from __future__ import annotations

import os
import socket
import sys
import threading

from runtime.shim import minijson


class ForkServer:
    def __init__(self, pkg_dir: str) -> None:
        self.pkg_dir = pkg_dir
        self._sock: socket.socket | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _ensure(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        from runtime.shim.zygote import BOOT

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        os.set_inheritable(theirs.fileno(), True)
        try:
            self._pid = os.posix_spawn(
                sys.executable, [sys.executable, "-I", "-S", "-c", BOOT, self.pkg_dir,
                                 str(theirs.fileno())], os.environ, setsid=True,
                file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)])
        finally:
            theirs.close()
        self._sock = ours
        return ours

    def spawn(self, cdir: str, sync_w: int, attach_fd: int, tty: bool, stdin: bool) -> None:
        """Ask for a shim; it reports on ``sync_w`` exactly like a spawned one."""
        req = minijson.dumps({"cdir": cdir, "tty": tty, "stdin": stdin,
                              "attach": attach_fd >= 0}).encode()
        fds = [sync_w] + ([attach_fd] if attach_fd >= 0 else [])
        with self._lock:
            socket.send_fds(self._ensure(), [req], fds)

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            if self._pid:
                try:
                    os.waitpid(self._pid, 0)
                except ChildProcessError:
                    pass
                self._pid = 0

    def __del__(self) -> None:  # best effort: the server also exits on EOF
        try:
            self.close()
        except Exception:
            pass
