"""The monitor: the long-lived half of the shim (our conmon), kept lean on purpose.

Per running container, pycompose keeps two small processes on the host (see
:mod:`runtime.shim.keeper`); this one does the work: it starts PID 1 (through a
short-lived *setup child*, so the heavy setup imports never live in the monitor),
copies the container's output into the json-file log and to attached clients, accepts
attach connections, waits for PID 1, records the exit, applies the restart policy and
removes ``--rm`` containers.

Import budget: ``os``, ``select``, ``time``, ``_socket`` and our lean modules only.  No
``json``/``re``/``enum``/``socket``/``signal``/``ctypes``: together they would add
~4 MB to every container's supervision (measured with ``bench/run_bench.py``).

Process tree::

    keeper (subreaper) -> monitor (subreaper) -> setup child -> PID 1
                                  ^--- PID 1 is re-parented here when the setup child
                                       exits right after the exec
"""

from __future__ import annotations

import _socket
import errno
import os
import select
import time

from runtime.container import statefile
from runtime.shim import frames, minijson
from runtime.shim.trace import mark

SETUP_TIMEOUT = 60.0


def _starttime(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2:].split()[19])


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def set_winsize(fd: int, rows: int, cols: int) -> None:
    import fcntl
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ,
                b"".join(v.to_bytes(2, "little") for v in (rows, cols, 0, 0)))


class Stdio:
    """The container's stdio (made by the keeper, reused across restarts).

    ``fds``: ``[tty, master, in_r, out_w, err_w, out_r, err_r, stdin_w]`` (-1 = none).
    """

    def __init__(self, fds: list[int], console_size: list[int] | None = None) -> None:
        self.fds = fds
        self.tty = bool(fds[0])
        self.master = fds[1]
        self.child = (fds[2], fds[3], fds[4])
        self.stdin_w = fds[7]
        if self.tty:
            self.readers = {self.master: "stdout"}
            if console_size:
                set_winsize(self.master, *console_size)
        else:
            self.readers = {fds[5]: "stdout", fds[6]: "stderr"}
        for fd in self.readers:
            os.set_blocking(fd, False)

    def write_stdin(self, data: bytes) -> None:
        if self.stdin_w < 0:
            return
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


class Monitor:
    def __init__(self, b: dict, io: Stdio, sync_fd: int, attach_fd: int, keeper: int,
                 adopt: bool = False, warm: WarmSetup | None = None) -> None:
        from runtime.shim import cgroup
        from runtime.shim.logwriter import LogWriter

        self.b = b
        self.dir = b["dir"]
        self.io = io
        self.sync_fd = sync_fd
        self.keeper = keeper
        self.adopt = adopt
        self.warm = warm
        self.pid = 0
        self.pidfd = -1
        self.pending_status: int | None = None
        self.clients: dict[int, tuple[object, frames.FrameReader, dict]] = {}
        self.cg = cgroup.create(b)
        lc = b.get("log") or {}
        self.log = LogWriter(b["log_path"], lc.get("max_size"), lc.get("max_file") or 1)
        self.listener = self._listen()
        self.pid_start: int | None = None
        self.health = None
        if b.get("healthcheck"):
            from runtime.shim.health import Health

            self.health = Health(b)
        if attach_fd >= 0:
            self._add_client(_socket.socket(fileno=attach_fd))

    # ---- attach ------------------------------------------------------------------
    def _listen(self):
        path = self.b.get("attach_socket")
        if not path:
            return None
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        frames.bind_unix(s, path)
        s.listen(8)
        return s

    def _add_client(self, s) -> None:
        s.setblocking(True)
        self.clients[s.fileno()] = (s, frames.FrameReader(), {})

    def _drop_client(self, fd: int) -> None:
        s, _, opts = self.clients.pop(fd)
        if opts.get("stdin") and opts.get("stdin_once"):
            self.io.close_stdin()
        s.close()  # type: ignore[attr-defined]

    def _send_all(self, kind: int, payload: bytes) -> None:
        data = frames.pack(kind, payload)
        for fd, (s, _, opts) in list(self.clients.items()):
            if kind in (frames.STDOUT, frames.STDERR) and not opts.get("stream", True):
                continue
            try:
                s.sendall(data)  # type: ignore[attr-defined]
            except OSError:
                self._drop_client(fd)

    # ---- one container process ------------------------------------------------------
    def start_once(self) -> dict | None:
        """Run the setup child; returns an error dict, or None once PID 1 has exec'd."""
        if self.warm is not None:
            warm, self.warm = self.warm, None
            r, spid = warm.r, warm.pid
            warm.go(self.dir)
        else:
            r, spid = self._fork_setup()
        return self._await_setup(r, spid)

    def _fork_setup(self) -> tuple[int, int]:
        r, w = os.pipe2(os.O_CLOEXEC)
        mark("monitor.fork_setup")
        spid = os.fork()
        if spid == 0:  # ------------------------------------------------- setup child
            code = 0
            try:
                os.close(r)
                from runtime.shim.setup import run

                run(self.b, self.io.child, self.io.tty, self.cg, w)
            except BaseException as e:
                try:
                    os.write(w, minijson.dumps({"error": f"shim setup: {e}",
                                                "code": 125}).encode())
                except OSError:
                    pass
                code = 1
            finally:
                os._exit(code)
        os.close(w)
        return r, spid

    def _await_setup(self, r: int, spid: int) -> dict | None:
        try:
            data = b""
            deadline = time.monotonic() + SETUP_TIMEOUT
            while True:
                ready, _, _ = select.select([r], [], [], max(0, deadline - time.monotonic()))
                if not ready:
                    os.kill(spid, 9)
                    data = b""
                    break
                chunk = os.read(r, 65536)
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(r)
            os.waitpid(spid, 0)
        msg = minijson.loads(data) if data else {"error": "container setup died", "code": 125}
        if "pid" not in msg:
            return msg  # type: ignore[return-value]
        # The setup child has exited: PID 1 is now our child (we are a subreaper).
        self.pid = pid = msg["pid"]
        self.pidfd = os.pidfd_open(pid)
        try:
            start = _starttime(pid)
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            start = 0
        self.pid_start = start
        statefile.update(self.dir, status="running", pid=pid, pid_start=start,
                         started_at=statefile.now_rfc3339(), monitor_pid=os.getpid(),
                         keeper_pid=self.keeper, exit_code=0, error="", oom_killed=False,
                         finished_at="")
        if self.health is not None:
            self.health.on_start()
        return None

    def _report(self, msg: dict) -> None:
        if self.sync_fd >= 0:
            try:
                os.write(self.sync_fd, minijson.dumps(msg).encode())
            except OSError:
                pass
            os.close(self.sync_fd)
            self.sync_fd = -1

    # ---- supervision loop -------------------------------------------------------------
    def run(self) -> None:
        if self.adopt:
            started = self._adopt()
        else:
            err = self.start_once()
            if err is not None:
                statefile.update(self.dir, status="created", exit_code=err.get("code", 125),
                                 error=err.get("error", ""), monitor_pid=0, keeper_pid=0,
                                 pid=0)
                self._report(err)
                self._send_all(frames.EXIT, minijson.dumps(
                    {"exit_code": err.get("code", 125), "error": err.get("error")}).encode())
                self._finish(remove=self.b.get("auto_remove", False))
                return
            self._report({"pid": self.pid})
            mark("monitor.reported")
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
        policy = self.b.get("restart") or {}
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
        """The keeper, re-exec'd after the monitor died: find PID 1 (now our child)."""
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
        if wpid:
            self.pending_status = status
        else:
            self.pidfd = os.pidfd_open(pid)
            self.pid_start = state.get("pid_start")
            if self.health is not None:
                self.health.on_start(resume=True)
        statefile.update(self.dir, monitor_pid=os.getpid(), keeper_pid=os.getpid())
        return True

    def _poll_once(self, timeout: float | None) -> bool:
        """One round of I/O; True when PID 1 has exited."""
        fds = list(self.io.readers) + list(self.clients)
        if self.listener is not None:
            fds.append(self.listener.fileno())
        if self.pidfd >= 0:
            fds.append(self.pidfd)
        hc = self.health
        if hc is not None:
            fds += hc.fds()
            wait = hc.wait_time()
            if wait is not None and (timeout is None or wait < timeout):
                timeout = wait
        try:
            r, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:
            return False
        exited = False
        if hc is not None:   # probes: their output, report socket and exit
            for fd in hc.fds():
                if fd in r:
                    hc.handle(fd)
            if self.pid and self.pidfd >= 0:
                hc.tick(self.pid, self.pid_start)
        for fd in r:
            if fd in self.io.readers:
                self._pump(fd)
            elif self.listener is not None and fd == self.listener.fileno():
                try:
                    cfd, _ = self.listener._accept()
                except OSError:
                    continue
                self._add_client(_socket.socket(fileno=cfd))
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
            data = s.recv(65536)  # type: ignore[attr-defined]
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
                opts.update(minijson.loads(payload or b"{}"))  # type: ignore[arg-type]
            elif kind == frames.STDIN:
                self.io.write_stdin(payload)
            elif kind == frames.STDIN_EOF:
                self.io.close_stdin()
            elif kind == frames.RESIZE and self.io.master >= 0:
                rows, cols = (int(x) for x in payload.split())
                set_winsize(self.io.master, rows, cols)

    def _supervise(self) -> int:
        if self.pending_status is None:
            while not self._poll_once(None):
                pass
            _, status = os.waitpid(self.pid, 0)
        else:
            status, self.pending_status = self.pending_status, None
        mark("monitor.reaped")
        code = self._record_exit(status)
        mark("monitor.recorded")
        self._send_all(frames.EXIT, minijson.dumps({"exit_code": code}).encode())
        return code

    def _record_exit(self, status: int) -> int:
        if self.health is not None:
            self.health.on_exit()
        while any(self._pump(fd) for fd in list(self.io.readers)):
            pass
        self.log.flush()
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        code = _exit_code(status)
        # PID 1 of a pid namespace takes every other process with it: nothing is left
        # to kill in the cgroup.
        oom = self.cg.oom_killed() if self.cg is not None else False
        statefile.update(self.dir, status="exited", exit_code=code, pid=0,
                         finished_at=statefile.now_rfc3339(), oom_killed=oom)
        return code

    def _finish(self, remove: bool) -> None:
        self.log.close()
        if self.listener is not None:
            self.listener.close()
            try:
                os.unlink(self.b["attach_socket"])
            except FileNotFoundError:
                pass
        if remove:
            # The id dies with the container, so nothing can reuse its cgroup: let the
            # attached `run --rm` go first, then wait out the kernel's release of it.
            self._remove()
            for fd in list(self.clients):
                self._drop_client(fd)
            if self.cg is not None:
                self.cg.destroy()
        else:
            # Before the state says "unsupervised": a new start recreates the cgroup.
            if self.cg is not None:
                self.cg.destroy()
            statefile.update(self.dir, monitor_pid=0, keeper_pid=0)
            for fd in list(self.clients):
                self._drop_client(fd)
        mark("monitor.finished")

    def _remove(self) -> None:
        """``--rm``.  Plain containers are removed right here (files only, no imports);
        a bridge-networked one needs the network layer (pyroute2, from the full
        environment), so a regular ``python`` runs the normal removal, as podman runs
        its exit command."""
        r = self.b.get("remove") or {}
        if r.get("netns"):
            import sys

            pid = os.fork()
            if pid == 0:
                try:
                    code = ("import sys;sys.path.insert(0,sys.argv[1]);"
                            "from runtime.container.delete import remove_after_exit;"
                            "remove_after_exit(*sys.argv[2:])")
                    os.execv(sys.executable, [sys.executable, "-c", code, sys.path[0],
                                              r["root"], r["run_dir"], self.b["id"]])
                finally:
                    os._exit(127)
            os.waitpid(pid, 0)
            return
        for path in r.get("files", ()):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        try:  # as runtime.shim.cleanup.forget (kept import-free here)
            os.unlink(os.path.join(self.b["dir"], "config.json"))
        except FileNotFoundError:
            pass
        for d in r.get("dirs", ()):
            rmtree(d)


def rmtree(path: str) -> None:
    """``shutil.rmtree`` without importing shutil (fnmatch, re ...)."""
    if not os.path.isdir(path):
        return
    # Each directory fd is only valid while fwalk is suspended on it: no list().
    for _, dirs, files, dfd in os.fwalk(path, topdown=False):
        for name in files:
            try:
                os.unlink(name, dir_fd=dfd)
            except FileNotFoundError:
                pass
        for name in dirs:
            try:
                os.rmdir(name, dir_fd=dfd)
            except NotADirectoryError:       # a symlink to a directory
                os.unlink(name, dir_fd=dfd)
            except FileNotFoundError:
                pass
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass


def load_bundle(cdir: str) -> dict:
    with open(os.path.join(cdir, "bundle.json"), "rb") as f:
        return minijson.loads(f.read())  # type: ignore[return-value]


class WarmSetup:
    """The first setup child, forked before the bundle is even read: it imports the
    heavy setup modules while the CLI (pre-spawned shim) or the monitor itself is still
    busy, then waits for the container directory on a pipe."""

    def __init__(self, child_stdio: tuple[int, int, int], tty: bool) -> None:
        go_r, self.go_w = os.pipe2(os.O_CLOEXEC)
        self.r, w = os.pipe2(os.O_CLOEXEC)
        mark("monitor.fork_setup")
        self.pid = os.fork()
        if self.pid == 0:
            code = 0
            try:
                os.close(self.go_w)
                os.close(self.r)
                from runtime.shim import cgroup, setup

                cdir = _read_all(go_r).decode()
                if not cdir:
                    os._exit(0)       # cancelled
                b = load_bundle(cdir)
                setup.run(b, child_stdio, tty, cgroup.create(b), w)
            except BaseException as e:
                try:
                    os.write(w, minijson.dumps({"error": f"shim setup: {e}",
                                                "code": 125}).encode())
                except OSError:
                    pass
                code = 1
            finally:
                os._exit(code)
        os.close(go_r)
        os.close(w)

    def go(self, cdir: str) -> None:
        os.write(self.go_w, cdir.encode())
        os.close(self.go_w)

    def cancel(self) -> None:
        os.close(self.go_w)
        os.close(self.r)
        os.waitpid(self.pid, 0)


def _read_all(fd: int) -> bytes:
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    os.close(fd)
    return data


def _log_to(cdir: str) -> None:
    log = os.open(os.path.join(cdir, "shim.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                  0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def monitor_main(cdir: str, sync_fd: int, attach_fd: int, fds: list[int],
                 keeper: int, ctl: int = -1, tell_keeper: int = -1) -> None:
    """The monitor, forked by the keeper; never returns.  ``cdir == "-"``: pre-spawned,
    the container directory arrives on ``ctl`` (EOF without one = cancelled)."""
    mark("shim.monitor")
    code = 0
    warm = None
    try:
        io = Stdio(fds)
        warm = WarmSetup(io.child, io.tty)
        if cdir == "-":
            cdir = _read_all(ctl).decode()
            if not cdir:
                warm.cancel()
                os._exit(0)
            _log_to(cdir)
            os.write(tell_keeper, cdir.encode())
            os.close(tell_keeper)
        b = load_bundle(cdir)
        if io.tty and b["process"].get("console_size"):
            set_winsize(io.master, *b["process"]["console_size"])
        Monitor(b, io, sync_fd, attach_fd, keeper, warm=warm).run()
    except BaseException as e:
        import traceback

        traceback.print_exc()
        try:
            os.write(sync_fd, minijson.dumps({"error": f"shim: {e}", "code": 125}).encode())
        except OSError:
            pass
        code = 1
    finally:
        os._exit(code)


def adopt(argv: list[str]) -> None:
    """The keeper re-exec'd after its monitor was killed: take over PID 1."""
    cdir, fds = argv[0], [int(x) for x in argv[1].split(",")]
    Monitor(load_bundle(cdir), Stdio(fds), -1, -1, os.getpid(), adopt=True).run()
    os._exit(0)
