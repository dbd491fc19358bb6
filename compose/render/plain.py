"""``--progress plain``: one line per event, ``<Kind> <name> <Status> <detail>``."""

from __future__ import annotations

from compose.events import Event, Kind
from compose.render.base import Renderer


class PlainRenderer(Renderer):
    def handle(self, event: Event) -> None:
        if event.kind is Kind.LAYER:
            return  # per-layer byte counts would flood plain logs; the image line suffices
        parts = [event.id] if event.kind is not Kind.PROJECT else []
        if event.status.value:
            parts.append(event.status.value)
        if event.detail:
            parts.append(event.detail)
        self.stream.write(" " + " ".join(parts) + "\n")
        self.stream.flush()
