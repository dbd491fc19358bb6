"""``--progress tty``: a live block redrawn ~10 times a second, like ``docker compose``.

```
[+] up 4/4
 ✔ Network demo_default     Created      0.1s
 ⠹ Container demo-db-1      Waiting      3.2s
```
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TextIO

from compose.events import Event, Kind, Status
from compose.render.base import Renderer

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@dataclass
class _Line:
    event: Event
    started: float
    ended: float | None = None


class TtyRenderer(Renderer):
    def __init__(self, stream: TextIO, *, operation: str = "") -> None:
        super().__init__(stream)
        self.operation = operation
        self.lines: dict[str, _Line] = {}
        self.messages: list[str] = []
        self._live = None

    def start(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=self.stream, highlight=False)
        self._live = Live(console=console, refresh_per_second=10, transient=False,
                          get_renderable=self._renderable)
        self._live.start()

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def handle(self, event: Event) -> None:
        now = time.monotonic()
        if event.kind is Kind.PROJECT:
            self.messages.append(event.detail)
            return
        if event.kind is Kind.LAYER:
            return
        line = self.lines.get(event.id)
        if line is None:
            line = self.lines[event.id] = _Line(event, now)
        line.event = event
        line.ended = now if event.status.done else None

    def _renderable(self):
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        done = sum(1 for ln in self.lines.values() if ln.ended is not None)
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        header = Text(f"[+] {self.operation} {done}/{len(self.lines)}".replace("  ", " "))
        table.add_row(header, "", "", "")
        for ln in self.lines.values():
            ev = ln.event
            if ev.status.failed:
                glyph = Text(" ✘", style="bold red")
            elif ev.status is Status.WARNING:
                glyph = Text(" !", style="bold yellow")
            elif ln.ended is not None:
                glyph = Text(" ✔", style="green")
            else:
                glyph = Text(" " + SPINNER[int(now * 10) % len(SPINNER)], style="yellow")
            status = ev.status.value + (f" {ev.detail}" if ev.detail else "")
            style = "red" if ev.status.failed else ("green" if ln.ended else "")
            elapsed = (ln.ended or now) - ln.started
            table.add_row(glyph, ev.id, Text(status, style=style),
                          Text(f"{elapsed:.1f}s", style="blue"))
        for msg in self.messages:
            table.add_row(Text(" ⦿"), msg, "", "")
        return table
