"""Container output -> Docker's json-file log format, with size rotation.

One JSON object per line: ``{"log": "text\\n", "stream": "stdout", "time": RFC3339Nano}``.
Like Docker, a line longer than 16 KiB is split into several entries, and a trailing
partial line is flushed when the stream pauses (``flush``).  Rotation: when the file
reaches ``max_size`` bytes it is renamed to ``.1`` (older ones shift up to
``max_file - 1``) and a new file is started.
"""

from __future__ import annotations

import os

from runtime.container.statefile import now_rfc3339
from runtime.shim.minijson import string

MAX_LINE = 16 * 1024


class LogWriter:
    def __init__(self, path: str, max_size: int | None = None, max_file: int = 1) -> None:
        self.path = path
        self.max_size = max_size
        self.max_file = max(1, max_file)
        self._buf: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._fd = -1
        self._size = 0
        self._open()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                           0o640)
        self._size = os.fstat(self._fd).st_size

    def _emit(self, stream: str, chunk: bytes) -> None:
        line = (f'{{"log":{string(chunk.decode("utf-8", "replace"))},"stream":"{stream}",'
                f'"time":"{now_rfc3339()}"}}\n').encode()
        if self.max_size and self._size and self._size + len(line) > self.max_size:
            self._rotate()
        os.write(self._fd, line)
        self._size += len(line)

    def _rotate(self) -> None:
        os.close(self._fd)
        if self.max_file <= 1:
            os.truncate(self.path, 0)
        else:
            for i in range(self.max_file - 1, 0, -1):
                src = self.path if i == 1 else f"{self.path}.{i - 1}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{i}")
        self._open()

    def write(self, stream: str, data: bytes) -> None:
        buf = self._buf[stream] + data
        while True:
            nl = buf.find(b"\n", 0, MAX_LINE)
            if nl >= 0:
                cut = nl + 1
            elif len(buf) >= MAX_LINE:
                cut = MAX_LINE
            else:
                break
            self._emit(stream, buf[:cut])
            buf = buf[cut:]
        self._buf[stream] = buf

    def flush(self) -> None:
        for stream, buf in self._buf.items():
            if buf:
                self._emit(stream, buf)
                self._buf[stream] = b""

    def close(self) -> None:
        self.flush()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
