"""``exec``: run a command in a running container (caller side).

The caller (CLI, orchestrator, tests) never forks: it spawns the lean helper of
:mod:`runtime.shim.execproc` (``python -I -S``, single-threaded since birth), hands it
the plan on a pipe and one end of a SEQPACKET socket, and reads the helper's messages
(the command's host pid, the pty master, or an error) until EOF, which means the
command has exec'd.  The helper's exit status is the command's exit code.

Three ways to run:

* :func:`run_captured`: stdout/stderr collected (``ExecResult``), optional input bytes
  and a ``timeout`` that SIGKILLs the command (through a pidfd) — used by the API;
* :func:`run_attached`: the command uses the caller's terminal/pipes directly (no
  copying) or, with ``tty``, a pty from the container's devpts that the caller pumps in
  raw mode with window-size forwarding — used by ``pycompose container exec``;
* ``detach``: the helper double-forks; the call returns once the command has exec'd.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from runtime.container.store import ContainerStore
from runtime.errors import ConflictError

REPORT_TIMEOUT = 60.0
PKG_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True, slots=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False


def build_plan(store: ContainerStore, cid: str, args: list[str] | tuple[str, ...], *,
               user: str | None = None, workdir: str | None = None,
               env: tuple[str, ...] | list[str] = (), tty: bool = False,
               privileged: bool = False, console_size: tuple[int, int] | None = None
               ) -> dict:
    from runtime.shim.execplan import plan

    rec = store.load(cid)
    if rec.status.value == "paused":
        raise ConflictError(f"container {rec.name} is paused, unpause the container "
                            "before exec", hint=f"pycompose container unpause {rec.name}")
    if not rec.status.can_exec or not rec.state.get("pid"):
        raise ConflictError(f"container {rec.name} is not running",
                            hint=f"pycompose container start {rec.name}")
    if not args:
        from runtime.errors import UsageError

        raise UsageError("exec needs a command", hint="e.g. exec CONTAINER sh")
    for kv in env:
        if not kv or kv.startswith("="):
            from runtime.errors import UsageError

            raise UsageError(f"invalid environment variable {kv!r}", hint="use KEY=value")
    with open(rec.dir / "bundle.json", "rb") as f:
        b = json.loads(f.read())
    return plan(b, rec.state, list(args), user=user, workdir=workdir, env=env,
                         tty=tty, privileged=privileged, console_size=console_size)


class _Session:
    """One spawned helper and its report socket."""

    def __init__(self, plan: dict, stdio: tuple[int, int, int], new_session: bool) -> None:
        from runtime.shim.execproc import BOOT

        self.ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        r, w = os.pipe()
        data = json.dumps(plan).encode()
        try:
            argv = [sys.executable, "-I", "-S", "-c", BOOT, PKG_DIR, str(r),
                    str(theirs.fileno())]
            os.set_inheritable(r, True)
            os.set_inheritable(theirs.fileno(), True)
            self.proc = subprocess.Popen(argv, stdin=stdio[0], stdout=stdio[1],
                                         stderr=stdio[2], close_fds=True,
                                         pass_fds=(r, theirs.fileno()),
                                         start_new_session=new_session)
        finally:
            os.close(r)
            theirs.close()
        try:
            while data:
                n = os.write(w, data)
                data = data[n:]
        finally:
            os.close(w)
        self.pid: int | None = None       # the command's host pid
        self.pidfd: int | None = None
        self.master: int | None = None
        self.error: dict | None = None

    def read_reports(self, timeout: float = REPORT_TIMEOUT) -> None:
        """Until EOF (the command exec'd or failed)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.ours], [], [], left)[0]:
                self.kill()
                self.error = {"error": "exec: no answer from the helper", "code": 126}
                return
            try:
                data, fds, _, _ = socket.recv_fds(self.ours, 65536, 1)
            except OSError:
                data, fds = b"", []
            if not data and not fds:
                return
            msg = json.loads(data) if data else {}
            if "pid" in msg:
                self.pid = int(msg["pid"])
                try:
                    self.pidfd = os.pidfd_open(self.pid)
                except OSError:
                    self.pidfd = None     # already gone
            if fds:
                self.master = fds[0]
            if "error" in msg:
                self.error = msg

    def kill(self) -> None:
        if self.pidfd is not None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except OSError:
                pass

    def wait(self) -> int:
        code = self.proc.wait()
        return 128 - code if code < 0 else code

    def close(self) -> None:
        self.ours.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        if self.master is not None:
            os.close(self.master)
            self.master = None


def _error_result(err: dict) -> ExecResult:
    return ExecResult(int(err.get("code", 126)), b"", (err.get("error", "") + "\n").encode())


def run_captured(plan: dict, stdin: bytes | None = None, timeout: float | None = None,
                 detach: bool = False) -> ExecResult:
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    pipes: list[int] = []
    try:
        if detach:
            plan = dict(plan, detach=True)
            s = _Session(plan, (devnull, devnull, devnull), new_session=True)
            try:
                s.read_reports()
                s.proc.wait()
                return _error_result(s.error) if s.error else ExecResult(0, b"", b"")
            finally:
                s.close()
        in_r, in_w = os.pipe2(os.O_CLOEXEC) if stdin is not None else (devnull, -1)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        pipes = [fd for fd in (in_r, in_w, out_r, out_w, err_r, err_w) if fd not in
                 (devnull, -1)]
        s = _Session(dict(plan, setsid=True), (in_r, out_w, err_w), new_session=True)
        for fd in (in_r, out_w, err_w):
            if fd != devnull:
                os.close(fd)
                pipes.remove(fd)
        try:
            s.read_reports()
            if s.error:
                s.wait()
                return _error_result(s.error)
            if s.master is not None:   # tty: everything comes out of the master
                os.close(out_r)
                pipes.remove(out_r)
                out_r = s.master
                s.master = None
                pipes.append(out_r)
            out, err, timed_out = _pump(s, in_w if stdin is not None else -1, stdin or b"",
                                        out_r, err_r, timeout)
            if in_w in pipes:
                pipes.remove(in_w)
            return ExecResult(s.wait(), out, err, timed_out)
        finally:
            s.close()
    finally:
        for fd in pipes:
            try:
                os.close(fd)
            except OSError:
                pass
        os.close(devnull)


def _pump(s: _Session, in_w: int, data: bytes, out_r: int, err_r: int,
          timeout: float | None) -> tuple[bytes, bytes, bool]:
    deadline = None if timeout is None else time.monotonic() + timeout
    bufs = {out_r: bytearray(), err_r: bytearray()}
    open_r = [out_r, err_r]
    writing = in_w >= 0
    if writing and not data:
        os.close(in_w)
        writing = False
    timed_out = False
    # The helper exits right after the command: stop then, even if a background child
    # of the command still holds the pipes (docker exec does not wait for those).
    helper = os.pidfd_open(s.proc.pid)
    try:
        return _pump_loop(s, helper, in_w, writing, data, bufs, open_r, deadline,
                          timed_out)
    finally:
        os.close(helper)


def _drain(fd: int, buf: bytearray) -> None:
    os.set_blocking(fd, False)
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:        # EAGAIN, or EIO on a pty
            return
        if not chunk:
            return
        buf += chunk


def _pump_loop(s: _Session, helper: int, in_w: int, writing: bool, data: bytes,
               bufs: dict[int, bytearray], open_r: list[int], deadline: float | None,
               timed_out: bool) -> tuple[bytes, bytes, bool]:
    out_r, err_r = list(bufs)
    while open_r:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            if not timed_out:
                timed_out = True
                s.kill()
                deadline = time.monotonic() + 5.0   # then stop reading (orphaned writers)
                continue
            break
        r, w, _ = select.select([*open_r, helper], [in_w] if writing else [], [], left)
        if helper in r:
            for fd in open_r:
                _drain(fd, bufs[fd])
            break
        if w:
            try:
                n = os.write(in_w, data[:65536])
                data = data[n:]
            except BrokenPipeError:
                data = b""
            if not data:
                os.close(in_w)
                writing = False
        for fd in r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:         # EIO: pty slave closed
                chunk = b""
            if chunk:
                bufs[fd] += chunk
            else:
                open_r.remove(fd)
    if writing:
        os.close(in_w)
    return bytes(bufs[out_r]), bytes(bufs[err_r]), timed_out


def run_attached(plan: dict, stdin_fd: int | None, stdout_fd: int, stderr_fd: int) -> int:
    """Run with the caller's own stdio; returns the exit code (126/127 on exec errors,
    with the message written to ``stderr_fd``)."""
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    tty = bool(plan.get("tty"))
    s = _Session(plan, (stdin_fd if stdin_fd is not None and not tty else devnull,
                        stdout_fd if not tty else devnull, stderr_fd if not tty else devnull),
                 new_session=tty)
    os.close(devnull)
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's business
    try:
        s.read_reports()
        if s.error:
            s.wait()
            os.write(stderr_fd, (s.error.get("error", "exec failed") + "\n").encode())
            return int(s.error.get("code", 126))
        if tty and s.master is not None:
            helper = os.pidfd_open(s.proc.pid)
            try:
                _pump_tty(s.master, stdin_fd, stdout_fd, helper)
            finally:
                os.close(helper)
        return s.wait()
    finally:
        signal.signal(signal.SIGINT, old)
        s.close()


def _pump_tty(master: int, stdin_fd: int | None, out_fd: int, helper: int) -> None:
    from runtime.container.attach import _write_all, raw_terminal, terminal_size
    from runtime.shim.execproc import _winsize

    old_winch = None
    if stdin_fd is not None and os.isatty(stdin_fd):
        def on_winch(*_):
            size = terminal_size(stdin_fd)
            if size:
                try:
                    _winsize(master, *size)
                except OSError:
                    pass
        old_winch = signal.signal(signal.SIGWINCH, on_winch)
    watch = stdin_fd is not None
    try:
        with raw_terminal(stdin_fd if watch else None):
            while True:
                fds = [master, helper] + ([stdin_fd] if watch else [])
                try:
                    r, _, _ = select.select(fds, [], [])
                except InterruptedError:
                    continue
                if helper in r:
                    tail = bytearray()
                    _drain(master, tail)
                    _write_all(out_fd, bytes(tail))
                    return
                if watch and stdin_fd in r:
                    data = os.read(stdin_fd, 65536)
                    if data:
                        _write_all(master, data)
                    else:
                        _write_all(master, b"\x04")   # EOF on a terminal is ^D
                        watch = False
                if master in r:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        return
                    if not data:
                        return
                    _write_all(out_fd, data)
    finally:
        if old_winch is not None:
            signal.signal(signal.SIGWINCH, old_winch)
