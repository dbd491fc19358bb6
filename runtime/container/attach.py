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
           tty: bool = False, wait_eof: bool = False) -> int | None:
    """Pump until the container exits; returns its exit code (None if the shim vanished)."""
    reader = frames.FrameReader()
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
