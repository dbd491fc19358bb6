"""The keeper: the shim's first process, kept as small as Python allows.

It imports ``os``/``sys``, ctypes for one prctl and the lean monitor modules, creates
the container's stdio, freezes its heap (``gc.freeze``: the forked monitor then shares
those pages instead of copying them), forks the monitor and sleeps in ``waitpid``.

If the monitor is killed, PID 1 is re-parented to the keeper (a child-subreaper), and
the keeper ``exec``s a fresh shim in *adopt* mode: same pid, same children, the stdio
fds inherited, so the exit status is still collected and logs keep flowing.  If the
keeper is killed instead, the monitor carries on alone.

argv: ``<container dir> <sync fd> <attach fd|-1> <tty 0|1> <stdin 0|1> [<ctl fd>]``.
A container dir of ``-`` means *pre-spawned*: the CLI started the shim before it had
created the container (so the interpreter start-up overlaps the CLI's own work) and
writes the directory to ``<ctl fd>`` when it is ready; EOF without one = cancelled.
"""

from __future__ import annotations

import os
import sys

PR_SET_CHILD_SUBREAPER = 36

BOOT = ("import sys;sys.path.insert(0,sys.argv[1]);"
        "from runtime.shim.keeper import main;main(sys.argv[2:])")
ADOPT_BOOT = ("import sys;sys.path.insert(0,sys.argv[1]);"
              "from runtime.shim.monitor import adopt;adopt(sys.argv[2:])")


def _prctl():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def subreaper() -> None:
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")

    return subreaper


def make_stdio(tty: bool, stdin: bool) -> list[int]:
    """``[tty, master, in_r, out_w, err_w, out_r, err_r, stdin_w]`` (-1 = none)."""
    if tty:
        master, slave = os.openpty()
        return [1, master, slave, slave, slave, master, -1, master]
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    if stdin:
        in_r, stdin_w = os.pipe2(os.O_CLOEXEC)
    else:
        in_r, stdin_w = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC), -1
    return [0, -1, in_r, out_w, err_w, out_r, err_r, stdin_w]


def main(argv: list[str]) -> None:
    import _signal

    pkgdir = sys.path[0]
    cdir, sync_fd, attach_fd = argv[0], int(argv[1]), int(argv[2])
    tty, stdin = argv[3] == "1", argv[4] == "1"
    _signal.signal(_signal.SIGHUP, _signal.SIG_IGN)
    try:
        subreaper = _prctl()
        from runtime.shim.monitor import monitor_main
    except (OSError, ImportError) as e:
        os.write(sync_fd, b'{"error": "shim: %s", "code": 125}' % str(e).encode())
        os._exit(1)
    ctl = int(argv[5]) if cdir == "-" else -1   # pre-spawned: the monitor reads it
    if os.fork():
        os._exit(0)  # daemonize: the CLI reaps this first process at once
    try:
        subreaper()
        fds = make_stdio(tty, stdin)
    except OSError as e:
        os.write(sync_fd, b'{"error": "shim: %s", "code": 125}' % str(e).encode())
        os._exit(1)
    import gc

    gc.freeze()  # shared with the monitor from here on
    # A pre-spawned monitor learns the container dir after the fork: it tells us here,
    # so that we know where to re-adopt from if it is killed.
    dir_r, dir_w = os.pipe2(os.O_CLOEXEC) if cdir == "-" else (-1, -1)
    mpid = os.fork()
    if mpid == 0:
        subreaper()   # PID 1 comes back to the monitor when the setup child exits
        if dir_r >= 0:
            os.close(dir_r)
        monitor_main(cdir, sync_fd, attach_fd, fds, keeper=os.getppid(), ctl=ctl,
                     tell_keeper=dir_w)
    if dir_w >= 0:
        os.close(dir_w)
    os.close(sync_fd)
    if ctl >= 0:
        os.close(ctl)
    if attach_fd >= 0:
        os.close(attach_fd)
    if not tty and fds[7] >= 0:
        os.close(fds[7])  # a copy here would hide stdin EOF from the container
        fds[7] = -1
    while True:
        try:
            _, status = os.waitpid(mpid, 0)
            break
        except InterruptedError:
            continue
    if dir_r >= 0:
        os.set_blocking(dir_r, False)
        try:
            cdir = os.read(dir_r, 4096).decode()
        except BlockingIOError:
            cdir = ""
    if os.WIFSIGNALED(status) and cdir:
        # The monitor was killed: become a full shim again, in place.
        for fd in fds[1:]:
            if fd >= 0:
                os.set_inheritable(fd, True)
        os.execv(sys.executable, [sys.executable, "-I", "-S", "-c", ADOPT_BOOT, pkgdir, cdir,
                                  ",".join(map(str, fds))])
    os._exit(0)
