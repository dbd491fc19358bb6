"""Compose-style log lines: ``web-1  | text`` with a coloured, aligned prefix.

Colours cycle in registration order (cyan, yellow, green, magenta, blue, then the bold
versions), and names are registered sorted so colours are stable between runs.
stderr lines of a container go to our stderr.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable

COLORS = ("36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1")


class LogPrinter:
    def __init__(self, names: Iterable[str], *, color: bool = True, prefix: bool = True,
                 timestamps: bool = False) -> None:
        self.names = sorted(set(names))
        self.width = max((len(n) for n in self.names), default=0) + 1
        self.colors = {n: COLORS[i % len(COLORS)] for i, n in enumerate(self.names)}
        self.color = color
        self.prefix = prefix
        self.timestamps = timestamps
        self._lock = threading.Lock()

    def _paint(self, name: str, text: str) -> str:
        if not self.color:
            return text
        return f"\x1b[{self.colors.get(name, '0')}m{text}\x1b[0m"

    def line(self, name: str, data: bytes | str, *, stream: str = "stdout",
             time: str | None = None) -> None:
        text = data.decode(errors="replace") if isinstance(data, bytes) else data
        text = text.rstrip("\n")
        head = ""
        if self.prefix:
            head = self._paint(name, f"{name:<{self.width}} | ")
        if self.timestamps and time:
            head += time + " "
        out = sys.stderr if stream == "stderr" else sys.stdout
        with self._lock:
            out.write(head + text + "\n")
            out.flush()

    def event(self, name: str, text: str) -> None:
        """A lifecycle line printed whole in the container's colour."""
        with self._lock:
            sys.stdout.write(self._paint(name, text) + "\n")
            sys.stdout.flush()
