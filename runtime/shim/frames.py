"""The attach protocol between a client (CLI) and the shim: typed, length-prefixed frames.

``[type: u8][length: u32 big-endian][payload]`` in both directions over a unix stream
socket.  Client -> shim: HELLO (JSON options), STDIN, STDIN_EOF, RESIZE ("rows cols").
Shim -> client: STDOUT, STDERR, EXIT (JSON ``{"exit_code": N, ...}``).
"""

from __future__ import annotations

import os

STDIN, STDOUT, STDERR, RESIZE, STDIN_EOF, EXIT, HELLO = range(7)
_HDR = 5
MAX_FRAME = 1 << 20


def pack(kind: int, payload: bytes = b"") -> bytes:
    return bytes((kind,)) + len(payload).to_bytes(4, "big") + payload


class FrameReader:
    """Incremental decoder: feed bytes, get complete (kind, payload) frames."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        out = []
        while len(self._buf) >= _HDR:
            kind, n = self._buf[0], int.from_bytes(self._buf[1:_HDR], "big")
            if n > MAX_FRAME:
                raise ValueError("attach frame too large")
            if len(self._buf) < _HDR + n:
                break
            out.append((kind, self._buf[_HDR:_HDR + n]))
            self._buf = self._buf[_HDR + n:]
        return out


def bind_unix(sock, path: str) -> None:
    """bind() that survives the 108-byte sun_path limit (via /proc/self/fd/<dirfd>)."""
    _with_short_path(sock.bind, path)


def connect_unix(sock, path: str) -> None:
    _with_short_path(sock.connect, path)


def _with_short_path(op, path: str) -> None:
    if len(path.encode()) < 100:
        op(path)
        return
    dfd = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        op(f"/proc/self/fd/{dfd}/{os.path.basename(path)}")
    finally:
        os.close(dfd)
