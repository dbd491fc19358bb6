"""Start a shim *before* the container exists, so its interpreter start-up overlaps the
CLI's own work (create, bundle, cgroup): ``pycompose container run`` spawns it first
thing, then hands it the container directory.  Imports nothing heavy on purpose."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PKG_DIR = str(Path(__file__).resolve().parent.parent.parent)


class Prespawned:
    def __init__(self, attach_fd: int = -1, tty: bool = False, stdin: bool = False) -> None:
        from runtime.shim.keeper import BOOT

        self.tty, self.stdin = tty, stdin
        self.sync_r, sync_w = os.pipe()
        ctl_r, self.ctl_w = os.pipe()
        keep = [sync_w, ctl_r] + ([attach_fd] if attach_fd >= 0 else [])
        for fd in keep:
            os.set_inheritable(fd, True)
        argv = [sys.executable, "-I", "-S", "-c", BOOT, PKG_DIR, "-", str(sync_w),
                str(attach_fd), str(int(tty)), str(int(stdin)), str(ctl_r)]
        try:
            self.pid = os.posix_spawn(sys.executable, argv, os.environ, setsid=True,
                                      file_actions=[
                                          (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                                          # never the caller's stdout: a detached shim
                                          # would keep its pipe open (shim.log later)
                                          (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                                          (os.POSIX_SPAWN_DUP2, 1, 2)])
        finally:
            os.close(sync_w)
            os.close(ctl_r)
            if attach_fd >= 0:
                os.set_inheritable(attach_fd, False)

    def go(self, cdir: str) -> int:
        """Hand over the container; returns the read end of the shim's report pipe."""
        os.write(self.ctl_w, cdir.encode())
        os.close(self.ctl_w)
        self.ctl_w = -1
        return self.sync_r

    def reap(self) -> None:
        os.close(self.sync_r)
        try:
            os.waitpid(self.pid, 0)  # the shim daemonizes (forks and exits) right away
        except ChildProcessError:
            pass

    def cancel(self) -> None:
        if self.ctl_w >= 0:
            os.close(self.ctl_w)   # EOF: the shim exits without doing anything
            self.ctl_w = -1
            self.reap()
