"""Client side of the attach protocol (``run`` without -d, ``start -a``, ``attach``).

Copies the terminal's stdin to the container and its output back, in frames (see
:mod:`runtime.shim.frames`).  With a tty the local terminal is put in raw mode, so
Ctrl-C reaches the container as a byte (its pty turns it into SIGINT), and window-size
changes are forwarded on SIGWINCH.
"""

from __future__ import annotations

import os
import select
import signal
import socket
from contextlib import contextmanager

from runtime.shim import frames, minijson

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


class Detached(Exception):
    """The user typed the detach sequence: the container keeps running."""


def parse_detach_keys(spec: str) -> bytes:
    """Docker's ``--detach-keys`` syntax: comma-separated ``a``-``z`` or ``ctrl-X``
    (X in ``a-z @ [ \\ ] ^ _``)."""
    from runtime.errors import UsageError

    out = bytearray()
    for key in spec.split(","):
        key = key.strip()
        if len(key) == 1:
            out.append(ord(key))
        elif key.lower().startswith("ctrl-") and len(key) == 6:
            c = key[5].upper()
            if not ("A" <= c <= "Z" or c in "@[\\]^_"):
                raise UsageError(f"invalid detach key {key!r}")
            out.append(ord(c) & 0x1F)
        else:
            raise UsageError(f"invalid detach keys {spec!r}",
                             hint="e.g. ctrl-p,ctrl-q or ctrl-a,x")
    if not out:
        raise UsageError("empty --detach-keys")
    return bytes(out)


class DetachMatcher:
    """Holds back bytes that may start the detach sequence (Docker's escape proxy)."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.pending = bytearray()

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for b in data:
            if b == self.keys[len(self.pending)]:
                self.pending.append(b)
                if len(self.pending) == len(self.keys):
                    return bytes(out), True
                continue
            out += self.pending
            self.pending.clear()
            if b == self.keys[0]:
                self.pending.append(b)
                if len(self.keys) == 1:
                    return bytes(out), True
            else:
                out.append(b)
        return bytes(out), False


def socketpair() -> tuple[socket.socket, socket.socket]:
    """(our end, the shim's end) for an attach session set up before the start."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)


def connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    frames.connect_unix(s, path)
    return s


def hello(sock: socket.socket, stdin: bool, stream: bool = True,
          stdin_once: bool = True) -> None:
    sock.sendall(frames.pack(frames.HELLO, minijson.dumps(
        {"stdin": stdin, "stream": stream, "stdin_once": stdin_once}).encode()))


def terminal_size(fd: int) -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


@contextmanager
def raw_terminal(fd: int | None):
    if fd is None or not os.isatty(fd):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def stream(sock: socket.socket, stdin_fd: int | None, out_fd: int, err_fd: int,
           tty: bool = False, wait_eof: bool = False, detach_keys: bytes | None = None
           ) -> int | None:
    """Pump until the container exits; returns its exit code (None if the shim vanished).
    Raises :class:`Detached` when ``detach_keys`` are typed on stdin."""
    reader = frames.FrameReader()
    matcher = DetachMatcher(detach_keys) if detach_keys and stdin_fd is not None else None
    code: int | None = None
    watch_stdin = stdin_fd is not None
    old_winch = None
    if tty and stdin_fd is not None and os.isatty(stdin_fd):
        def on_winch(*_):
            size = terminal_size(stdin_fd)
            if size:
                try:
                    sock.sendall(frames.pack(frames.RESIZE, f"{size[0]} {size[1]}".encode()))
                except OSError:
                    pass
        old_winch = signal.signal(signal.SIGWINCH, on_winch)
        on_winch()
    try:
        with raw_terminal(stdin_fd if tty else None):
            while True:
                fds = [sock] + ([stdin_fd] if watch_stdin else [])
                try:
                    r, _, _ = select.select(fds, [], [])
                except InterruptedError:
                    continue
                if watch_stdin and stdin_fd in r:
                    data = os.read(stdin_fd, 65536)
                    if matcher is not None and data:
                        data, detached = matcher.feed(data)
                        if detached:
                            if data:
                                sock.sendall(frames.pack(frames.STDIN, data))
                            raise Detached()
                        if not data:
                            continue
                    try:
                        if data:
                            sock.sendall(frames.pack(frames.STDIN, data))
                        else:
                            sock.sendall(frames.pack(frames.STDIN_EOF))
                            watch_stdin = False
                    except OSError:
                        watch_stdin = False
                if sock in r:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        return code
                    for kind, payload in reader.feed(data):
                        if kind == frames.STDOUT:
                            _write_all(out_fd, payload)
                        elif kind == frames.STDERR:
                            _write_all(err_fd, payload)
                        elif kind == frames.EXIT:
                            code = int(minijson.loads(payload).get("exit_code", 0))  # type: ignore[union-attr]
                            if not wait_eof:
                                return code
    finally:
        if old_winch is not None:
            signal.signal(signal.SIGWINCH, old_winch)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        n = os.write(fd, data)
        data = data[n:]
