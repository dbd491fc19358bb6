"""The per-container shim: a keeper process and its forked monitor (our conmon).

Started detached by ``runtime.container.start`` as
``python -I -S -c BOOT <pkgdir> <container dir> <sync fd> [<attach fd>]``::

    keeper  (session leader, child-subreaper, holds copies of the stdio fds, sleeps in
     |       waitpid; ~no private memory of its own)
     +- monitor  (fork of the keeper: starts PID 1, writes logs, serves attach,
          |       records exits, applies the restart policy, removes --rm containers)
          +- init  (fork after unshare(CLONE_NEWPID): the container's PID 1)

Why two processes: only a parent or a subreaper ancestor can collect an exit status.
If the monitor is SIGKILLed, PID 1 is re-parented to the keeper, which takes over the
monitor's job (same code, fds inherited) and records the exit code.  If the keeper is
killed, the monitor is unaffected.  Neither lives in the container's cgroup.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import socket
import time

from runtime.container import statefile
from runtime.kernel import consts as C
from runtime.kernel import kernel
from runtime.shim import frames

CONNECT_TIMEOUT = 60.0


class Stdio:
    """The container's stdio, created once and reused across restarts."""

    def __init__(self, b: dict) -> None:
        p = b["process"]
        self.tty = bool(p.get("tty"))
        self.stdin_w = -1
        if self.tty:
            self.master, slave = os.openpty()
            self.child = (slave, slave, slave)
            self.readers = {self.master: "stdout"}
            if p.get("console_size"):
                _set_winsize(self.master, *p["console_size"])
            os.set_blocking(self.master, False)
            self.stdin_w = self.master
        else:
            self.master = -1
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            if p.get("stdin_open"):
                in_r, self.stdin_w = os.pipe2(os.O_CLOEXEC)
            else:
                in_r = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            self.child = (in_r, out_w, err_w)
            self.readers = {out_r: "stdout", err_r: "stderr"}
            for fd in self.readers:
                os.set_blocking(fd, False)

    def write_stdin(self, data: bytes) -> None:
        if self.stdin_w >= 0:
            try:
                os.set_blocking(self.stdin_w, True)
                os.write(self.stdin_w, data)
            except OSError:
                pass
            finally:
                if self.tty:
                    os.set_blocking(self.stdin_w, False)

    def close_stdin(self) -> None:
        if self.stdin_w >= 0 and not self.tty:
            os.close(self.stdin_w)
            self.stdin_w = -1


def _set_winsize(fd: int, rows: int, cols: int) -> None:
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _starttime(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2:].split()[19])


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


class Monitor:
    def __init__(self, k, b: dict, io: Stdio, sync_fd: int, attach_fd: int, keeper: int,
                 adopt: bool = False) -> None:
        self.k = k
        self.b = b
        self.dir = b["dir"]
        self.io = io
        self.sync_fd = sync_fd
        self.keeper = keeper
        self.adopt = adopt
        self.pid = 0
        self.pidfd = -1
        self.clients: dict[int, tuple[socket.socket, frames.FrameReader, dict]] = {}
        self.pidns_used = False
        self.cg = None
        self.log = None
        self.listener = self._listen()
        if attach_fd >= 0:
            self._add_client(socket.socket(fileno=attach_fd))

    # ---- setup -------------------------------------------------------------------
    def _listen(self) -> socket.socket | None:
        path = self.b.get("attach_socket")
        if not path:
            return None
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        frames.bind_unix(s, path)
        s.listen(8)
        return s

    def _add_client(self, s: socket.socket) -> None:
        s.setblocking(True)
        self.clients[s.fileno()] = (s, frames.FrameReader(), {})

    def _drop_client(self, fd: int) -> None:
        s, _, opts = self.clients.pop(fd)
        if opts.get("stdin") and opts.get("stdin_once"):
            self.io.close_stdin()
        s.close()

    def _send_all(self, kind: int, payload: bytes) -> None:
        data = frames.pack(kind, payload)
        for fd, (s, _, opts) in list(self.clients.items()):
            if kind in (frames.STDOUT, frames.STDERR) and not opts.get("stream", True):
                continue
            try:
                s.sendall(data)
            except OSError:
                self._drop_client(fd)

    def _open_log(self) -> None:
        from runtime.shim.logwriter import LogWriter

        lc = self.b.get("log", {})
        self.log = LogWriter(self.b["log_path"], lc.get("max_size"), lc.get("max_file", 1))

    def _cgroup(self):
        from runtime.shim import cgroup

        return cgroup.create(self.b)

    # ---- one container process ------------------------------------------------------
    def start_once(self) -> dict | None:
        """Fork and set up PID 1; returns an error dict, or None once it has exec'd."""
        from runtime.shim import init

        k = self.k
        if self.cg is None:
            self.cg = self._cgroup()
        if self.pidns_used:
            # pid_for_children points at the dead namespace: reset it to our own.
            fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            try:
                k.setns(fd, C.CLONE_NEWPID)
            finally:
                os.close(fd)
        k.unshare(C.CLONE_NEWPID)
        self.pidns_used = True
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        execr, execw = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:  # ---------------------------------------------- container init
            try:
                parent_sock.close()
                os.close(execr)
                init.run(k, self.b, child_sock, execw, self.io.child, self.io.tty)
            finally:
                os._exit(125)
        child_sock.close()
        os.close(execw)
        try:
            if self.cg is not None:
                self.cg.join(pid)
            parent_sock.send(b'{"go": true}')
            r, _, _ = select.select([execr], [], [], CONNECT_TIMEOUT)
            if not r:
                os.kill(pid, signal.SIGKILL)
            os.read(execr, 1)
            parent_sock.setblocking(False)
            try:
                msg = parent_sock.recv(65536)
            except BlockingIOError:
                msg = b""
        except BaseException as e:  # cgroup join failed, ...
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"error": f"{type(e).__name__}: {e}", "code": 125}
        finally:
            parent_sock.close()
            os.close(execr)
        if msg or not r:
            os.waitpid(pid, 0)
            return json.loads(msg) if msg else {"error": "container init timed out",
                                                "code": 125}
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        statefile.update(self.dir, status="running", pid=pid, pid_start=_starttime(pid),
                         started_at=statefile.now_rfc3339(), monitor_pid=os.getpid(),
                         keeper_pid=self.keeper, exit_code=0, error="", oom_killed=False,
                         finished_at="")
        return None

    def _report(self, msg: dict) -> None:
        if self.sync_fd >= 0:
            try:
                os.write(self.sync_fd, json.dumps(msg).encode())
            except OSError:
                pass
            os.close(self.sync_fd)
            self.sync_fd = -1

    # ---- supervision loop -------------------------------------------------------------
    def run(self) -> None:
        self._open_log()
        if self.adopt:
            started = self._adopt()
        else:
            err = self.start_once()
            if err is not None:
                statefile.update(self.dir, status="created", exit_code=err.get("code", 125),
                                 error=err.get("error", ""), monitor_pid=0, keeper_pid=0,
                                 pid=0)
                self._report(err)
                self._send_all(frames.EXIT, json.dumps(
                    {"exit_code": err.get("code", 125), "error": err.get("error")}).encode())
                self._finish(remove=self.b.get("auto_remove", False))
                return
            self._report({"pid": self.pid})
            started = True
        restarts = statefile.read(self.dir).get("restart_count", 0)
        quick_failures = 0
        while started:
            t0 = time.monotonic()
            code = self._supervise()
            state = statefile.read(self.dir)
            if not self._should_restart(code, state, restarts):
                break
            quick_failures = quick_failures + 1 if time.monotonic() - t0 < 10 else 0
            delay = min(0.1 * (2 ** max(quick_failures - 1, 0)), 60.0)
            restarts += 1
            statefile.update(self.dir, status="restarting", restart_count=restarts, pid=0)
            if not self._idle(delay):
                statefile.update(self.dir, status="exited")
                break
            err = self.start_once()
            if err is not None:
                statefile.update(self.dir, status="exited", exit_code=err.get("code", 125),
                                 error=err.get("error", ""), pid=0)
                break
        self._finish(remove=self.b.get("auto_remove", False))

    def _should_restart(self, code: int, state: dict, restarts: int) -> bool:
        if state.get("stop_requested"):
            return False
        policy = self.b.get("restart", {})
        name = policy.get("name", "no")
        if name in ("always", "unless-stopped"):
            return True
        if name == "on-failure" and code != 0:
            limit = policy.get("max_retries", 0)
            return not limit or restarts < limit
        return False

    def _idle(self, seconds: float) -> bool:
        """Wait out a restart back-off while serving clients; False if a stop came in."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return not statefile.read(self.dir).get("stop_requested")
            self._poll_once(min(left, 0.05))
            if statefile.read(self.dir).get("stop_requested"):
                return False

    def _adopt(self) -> bool:
        """Keeper taking over from a dead monitor: find PID 1 again (now our child)."""
        state = statefile.read(self.dir)
        pid = state.get("pid") or 0
        if state.get("status") not in ("running", "paused") or not pid:
            return state.get("status") == "restarting"
        try:
            wpid, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            statefile.update(self.dir, status="exited", exit_code=255, pid=0,
                             error="supervisor lost the container process",
                             finished_at=statefile.now_rfc3339())
            return False
        self.pid = pid
        self.pidns_used = True
        if self.cg is None:
            self.cg = self._cgroup()
        if wpid:
            self._record_exit(status)
            self._pending_exit = True
        else:
            self.pidfd = os.pidfd_open(pid)
        statefile.update(self.dir, monitor_pid=os.getpid(), keeper_pid=os.getpid())
        return True

    def _poll_once(self, timeout: float | None) -> bool:
        """One round of I/O; True when PID 1 has exited and been reaped."""
        fds = list(self.io.readers) + list(self.clients)
        if self.listener is not None:
            fds.append(self.listener.fileno())
        if self.pidfd >= 0:
            fds.append(self.pidfd)
        try:
            r, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:
            return False
        exited = False
        for fd in r:
            if fd in self.io.readers:
                self._pump(fd)
            elif self.listener is not None and fd == self.listener.fileno():
                try:
                    conn, _ = self.listener.accept()
                except OSError:
                    continue
                self._add_client(conn)
            elif fd in self.clients:
                self._client_input(fd)
            elif fd == self.pidfd:
                exited = True
        return exited

    def _pump(self, fd: int) -> bool:
        stream = self.io.readers[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return False
        except OSError as e:
            if e.errno == errno.EIO:  # pty: slave side closed
                return False
            raise
        if not data:
            return False
        self.log.write(stream, data)
        self._send_all(frames.STDOUT if stream == "stdout" else frames.STDERR, data)
        return True

    def _client_input(self, fd: int) -> None:
        s, reader, opts = self.clients[fd]
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop_client(fd)
            return
        try:
            items = reader.feed(data)
        except ValueError:
            self._drop_client(fd)
            return
        for kind, payload in items:
            if kind == frames.HELLO:
                opts.update(json.loads(payload or b"{}"))
            elif kind == frames.STDIN:
                self.io.write_stdin(payload)
            elif kind == frames.STDIN_EOF:
                self.io.close_stdin()
            elif kind == frames.RESIZE and self.io.master >= 0:
                rows, cols = (int(x) for x in payload.split())
                _set_winsize(self.io.master, rows, cols)

    def _supervise(self) -> int:
        if not getattr(self, "_pending_exit", False):
            while not self._poll_once(None):
                pass
            _, status = os.waitpid(self.pid, 0)
            code = self._record_exit(status)
        else:
            self._pending_exit = False
            code = statefile.read(self.dir).get("exit_code", 0)
        self._send_all(frames.EXIT, json.dumps({"exit_code": code}).encode())
        return code

    def _record_exit(self, status: int) -> int:
        while any(self._pump(fd) for fd in list(self.io.readers)):
            pass
        self.log.flush()
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        code = _exit_code(status)
        oom = False
        if self.cg is not None:
            # PID 1 of a pid namespace takes every other process with it: nothing is
            # left to kill in the cgroup.
            oom = self.cg.oom_killed()
        statefile.update(self.dir, status="exited", exit_code=code, pid=0,
                         finished_at=statefile.now_rfc3339(), oom_killed=oom)
        return code

    def _finish(self, remove: bool) -> None:
        if self.cg is not None:
            self.cg.destroy()
        if self.log is not None:
            self.log.close()
        if self.listener is not None:
            self.listener.close()
            try:
                os.unlink(self.b["attach_socket"])
            except FileNotFoundError:
                pass
        if remove:
            from runtime.shim import cleanup

            cleanup.remove_container(self.k, self.b)
        else:
            statefile.update(self.dir, monitor_pid=0, keeper_pid=0)
        for fd in list(self.clients):
            self._drop_client(fd)


BOOT = ("import sys;sys.path.insert(0,sys.argv[1]);"
        "from runtime.shim.main import main;main(sys.argv[2:])")


def main(argv: list[str]) -> None:
    cdir, sync_fd = argv[0], int(argv[1])
    attach_fd = int(argv[2]) if len(argv) > 2 else -1
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if os.fork():
        os._exit(0)  # daemonize: the CLI reaps this first process at once
    k = kernel()
    k.prctl(C.PR_SET_CHILD_SUBREAPER, 1)
    with open(os.path.join(cdir, "bundle.json"), "rb") as f:
        b = json.loads(f.read())
    if b.get("seccomp"):
        with open(b["seccomp"], "rb") as f:   # read now: init cannot after pivot_root
            b["seccomp_bpf"] = f.read()
    try:
        io = Stdio(b)
    except OSError as e:
        os.write(sync_fd, json.dumps({"error": f"stdio: {e}", "code": 125}).encode())
        raise SystemExit(1) from None
    keeper = os.getpid()
    mpid = os.fork()
    if mpid == 0:
        code = 0
        try:
            Monitor(k, b, io, sync_fd, attach_fd, keeper).run()
        except BaseException as e:
            import traceback

            traceback.print_exc()
            try:
                os.write(sync_fd, json.dumps({"error": f"shim: {e}", "code": 125}).encode())
            except OSError:
                pass
            code = 1
        finally:
            os._exit(code)
    os.close(sync_fd)
    if attach_fd >= 0:
        os.close(attach_fd)
    if not io.tty and io.stdin_w >= 0:
        io.close_stdin()  # a copy here would hide stdin EOF from the container
    while True:
        try:
            _, status = os.waitpid(mpid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        # The monitor was killed: PID 1 is now our child (we are its subreaper).
        Monitor(k, b, io, -1, -1, keeper, adopt=True).run()
    os._exit(0)
