"""The renderer protocol."""

from __future__ import annotations

from typing import TextIO

from compose.events import Event


class Renderer:
    """Consumes events; ``close()`` flushes the final state."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: Event) -> None:
        self.handle(event)

    def handle(self, event: Event) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Called before the first event (the TTY renderer starts redrawing)."""

    def close(self) -> None:
        """Called once at the end, also after errors."""

    def __enter__(self) -> Renderer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
