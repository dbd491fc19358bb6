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


def _wait_for_dir(ctl: int) -> str:
    data = b""
    while chunk := os.read(ctl, 4096):
        data += chunk
    os.close(ctl)
    if not data:
        os._exit(0)  # the CLI gave up (create failed): nothing to do
    cdir = data.decode()
    log = os.open(os.path.join(cdir, "shim.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                  0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return cdir


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
    if cdir == "-":
        cdir = _wait_for_dir(int(argv[5]))
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
    mpid = os.fork()
    if mpid == 0:
        subreaper()   # PID 1 comes back to the monitor when the setup child exits
        monitor_main(cdir, sync_fd, attach_fd, fds, keeper=os.getppid())  # never returns
    os.close(sync_fd)
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
    if os.WIFSIGNALED(status):
        # The monitor was killed: become a full shim again, in place.
        for fd in fds[1:]:
            if fd >= 0:
                os.set_inheritable(fd, True)
        os.execv(sys.executable, [sys.executable, "-I", "-S", "-c", ADOPT_BOOT, pkgdir, cdir,
                                  ",".join(map(str, fds))])
    os._exit(0)
