"""Healthchecks, run by the container's monitor (so they outlive the CLI).

Docker's semantics (moby ``daemon/health.go``):

* on every start the status becomes ``starting`` with a zero failing streak (the log
  is kept across restarts);
* the next probe is due ``interval`` after the previous one ended, ``start_interval``
  instead while the container is still ``starting`` and inside ``start_period``;
* exit code 0 -> ``healthy`` (streak reset); anything else is a failure, which does not
  count while the container is ``starting`` inside ``start_period``; ``retries``
  counted failures in a row -> ``unhealthy``;
* a probe running longer than ``timeout`` is SIGKILLed and recorded with ExitCode -1
  and ``Health check exceeded timeout (30s)``; a probe that cannot be started is
  recorded with ExitCode -1 and the error as its output;
* the last 5 results are kept, each ``{Start, End, ExitCode, Output}``, the output
  (stdout and stderr together) cut at 4096 bytes with ``...`` appended;
* no probes while the container is paused (moby stops the monitor on pause).

Each probe is a fork of the (single-threaded) monitor that imports
:mod:`runtime.shim.execproc` *after* the fork and runs its ``middle_main``: no Python
start-up per probe, and the exec machinery (ctypes, json, security) never lives in the
monitor.  This module keeps to the monitor's import budget (no json/socket/signal).
The state lives in ``state.json`` under ``health`` (atomic, locked writes), which
``inspect`` shows as ``State.Health``.
"""

from __future__ import annotations

import _signal
import _socket
import os
import time

from runtime.container import statefile
from runtime.shim import minijson

SIGKILL = 9

MAX_LOG = 5
MAX_OUTPUT = 4096
DEFAULTS = {"interval": 30.0, "timeout": 30.0, "start_interval": 5.0, "retries": 3}


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()`` for the timeout message (``30s``, ``1.5s``,
    ``500ms``, ``1m30s``)."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    if ns < 1_000_000_000:
        for unit, div in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= div:
                return _trim(ns / div) + unit
    h, rest = divmod(ns, 3_600_000_000_000)
    m, rest = divmod(rest, 60_000_000_000)
    s = _trim(rest / 1e9) + "s"
    if h:
        return f"{h}h{m}m{s}"
    return f"{m}m{s}" if m else s


def _trim(x: float) -> str:
    return f"{x:.9f}".rstrip("0").rstrip(".")


def probe_args(test: list[str]) -> list[str]:
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return list(test[1:])


class _Probe:
    __slots__ = ("buf", "deadline", "error", "mid", "midfd", "out", "pid", "pidfd", "sock",
                 "start", "start_mono", "timed_out", "truncated")


class Health:
    def __init__(self, b: dict) -> None:
        self.b = b
        self.dir = b["dir"]
        hc = b["healthcheck"]
        self.args = probe_args(hc["test"])
        self.interval = hc.get("interval") or DEFAULTS["interval"]
        self.timeout = hc.get("timeout") or DEFAULTS["timeout"]
        self.start_interval = hc.get("start_interval") or DEFAULTS["start_interval"]
        self.start_period = hc.get("start_period") or 0.0
        self.retries = hc.get("retries") or DEFAULTS["retries"]
        self.started = 0.0          # monotonic time of the container's start
        self.next_at: float | None = None
        self.probe: _Probe | None = None
        self.health: dict = {}

    # ---- lifecycle -------------------------------------------------------------------
    def on_start(self, resume: bool = False) -> None:
        """The container (re)started; ``resume``: a keeper took over a running one."""
        state = statefile.read(self.dir)
        h = state.get("health") or {"Status": "starting", "FailingStreak": 0, "Log": []}
        if resume and state.get("health_clock"):
            # CLOCK_MONOTONIC is system-wide: the start-period clock carries over.
            self.started = float(state["health_clock"])
        else:
            h["Status"], h["FailingStreak"] = "starting", 0
            self.started = time.monotonic()
        self.health = h
        statefile.update(self.dir, health=h, health_clock=self.started)
        self.next_at = time.monotonic() + self._interval()

    def on_exit(self) -> None:
        self.next_at = None
        if self.probe is not None:
            self._kill()
            self._reap(block=True)
            self.probe = None

    def _interval(self) -> float:
        if time.monotonic() - self.started >= self.start_period:
            return self.interval
        return self.start_interval if self.health.get("Status") == "starting" \
            else self.interval

    # ---- select-loop integration -----------------------------------------------------
    def wait_time(self) -> float | None:
        now = time.monotonic()
        if self.probe is not None:
            return max(self.probe.deadline - now, 0.0)
        if self.next_at is None:
            return None
        return max(self.next_at - now, 0.0)

    def fds(self) -> list[int]:
        p = self.probe
        if p is None:
            return []
        out = [p.midfd]
        if p.out >= 0:
            out.append(p.out)
        if p.sock is not None:
            out.append(p.sock.fileno())
        return out

    def handle(self, fd: int) -> None:
        p = self.probe
        if p is None:
            return
        if fd == p.out:
            self._read_output()
        elif p.sock is not None and fd == p.sock.fileno():
            self._read_report()
        elif fd == p.midfd:
            self._finish()

    def tick(self, pid: int, pid_start: int | None) -> None:
        now = time.monotonic()
        p = self.probe
        if p is not None:
            if now >= p.deadline and not p.timed_out:
                p.timed_out = True
                self._kill()
                p.deadline = now + 5.0            # the middle exits once the probe dies
            elif now >= p.deadline:
                self._kill(middle=True)
                p.deadline = now + 5.0
            return
        if self.next_at is None or now < self.next_at:
            return
        if statefile.read(self.dir).get("status") == "paused":
            self.next_at = now + self._interval()
            return
        self._start(pid, pid_start)

    # ---- one probe -------------------------------------------------------------------
    def _start(self, pid: int, pid_start: int | None) -> None:
        p = _Probe()
        p.start, p.timed_out, p.truncated = statefile.now_rfc3339(), False, False
        p.start_mono = time.monotonic()
        p.buf, p.error, p.pid, p.pidfd = bytearray(), None, 0, -1
        p.deadline = time.monotonic() + self.timeout
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        mid = os.fork()
        if mid == 0:  # -------------------------------------------- probe's middle
            code = 126
            try:
                ours.close()
                os.close(out_r)
                from runtime.kernel import kernel
                from runtime.shim import execproc

                plan = execproc.plan(self.b, {"pid": pid, "pid_start": pid_start},
                                     self.args)
                plan["setsid"] = True
                code = execproc.middle_main(kernel(), plan, theirs, (null, out_w, out_w))
            finally:
                os._exit(code)
        theirs.close()
        os.close(out_w)
        os.close(null)
        os.set_blocking(out_r, False)
        ours.setblocking(False)
        p.mid, p.midfd, p.out, p.sock = mid, os.pidfd_open(mid), out_r, ours
        self.probe = p

    def _read_output(self) -> None:
        p = self.probe
        try:
            data = os.read(p.out, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            os.close(p.out)
            p.out = -1
            return
        keep = MAX_OUTPUT - len(p.buf)
        if keep > 0:
            p.buf += data[:keep]
        if len(data) > max(keep, 0):
            p.truncated = True

    def _read_report(self) -> None:
        p = self.probe
        try:
            data = p.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            p.sock.close()
            p.sock = None
            return
        msg = minijson.loads(data)
        if "pid" in msg:
            p.pid = msg["pid"]
            try:
                p.pidfd = os.pidfd_open(p.pid)
            except OSError:
                p.pidfd = -1
        if "error" in msg:
            p.error = msg["error"]

    def _kill(self, middle: bool = False) -> None:
        p = self.probe
        if p.pidfd >= 0:
            try:
                _signal.pidfd_send_signal(p.pidfd, SIGKILL)
            except OSError:
                pass
        if middle or p.pidfd < 0:
            try:
                _signal.pidfd_send_signal(p.midfd, SIGKILL)
            except OSError:
                pass

    def _reap(self, block: bool) -> int | None:
        p = self.probe
        try:
            wpid, status = os.waitpid(p.mid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return -1
        if not wpid:
            return None
        for fd in (p.midfd, p.pidfd, p.out):
            if fd >= 0:
                os.close(fd)
        if p.sock is not None:
            p.sock.close()
        return os.waitstatus_to_exitcode(status)

    def _finish(self) -> None:
        p = self.probe
        if p.sock is not None:
            self._read_report()
        while p.out >= 0:
            before = len(p.buf)
            self._read_output()
            if p.out >= 0 and len(p.buf) == before and not p.truncated:
                break   # nothing more buffered (a background writer may hold the pipe)
            if p.truncated:
                break
        code = self._reap(block=True)
        self.probe = None
        end = statefile.now_rfc3339()
        if p.timed_out:
            result = {"Start": p.start, "End": end, "ExitCode": -1,
                      "Output": f"Health check exceeded timeout ({go_duration(self.timeout)})"}
        elif p.error is not None:
            result = {"Start": p.start, "End": end, "ExitCode": -1, "Output": p.error}
        else:
            out = p.buf.decode("utf-8", "replace") + ("..." if p.truncated else "")
            result = {"Start": p.start, "End": end,
                      "ExitCode": code if code is not None and code >= 0 else 128 - code,
                      "Output": out}
        self._record(result, p.start_mono - self.started < self.start_period)
        self.next_at = time.monotonic() + self._interval()

    def _record(self, result: dict, in_start_period: bool) -> None:
        with statefile.locked(self.dir):
            state = statefile.read(self.dir)
            h = state.get("health") or self.health
            log = [*(h.get("Log") or [])[-(MAX_LOG - 1):], result]
            h["Log"] = log
            if result["ExitCode"] == 0:
                h["FailingStreak"] = 0
                h["Status"] = "healthy"
            elif not (h.get("Status") == "starting" and in_start_period):
                h["FailingStreak"] = h.get("FailingStreak", 0) + 1
                if h["FailingStreak"] >= self.retries:
                    h["Status"] = "unhealthy"
            state["health"] = h
            statefile.write(self.dir, state)
        self.health = h

