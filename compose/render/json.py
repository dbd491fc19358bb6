"""``--progress json``: one JSON object per event (compose's keys)."""

from __future__ import annotations

import json

from compose.events import Event, Kind
from compose.render.base import Renderer


class JsonRenderer(Renderer):
    def handle(self, event: Event) -> None:
        percent = None
        if event.current is not None and event.total:
            percent = int(event.current * 100 / event.total)
        obj = {
            "id": event.id if event.kind is not Kind.PROJECT else "",
            "parent_id": event.parent or "",
            "status": event.status.value,
            "text": event.status.value,
            "details": event.detail,
            "current": event.current or 0,
            "total": event.total or 0,
            "percent": percent or 0,
            "error": event.status.failed,
        }
        self.stream.write(json.dumps(obj) + "\n")
        self.stream.flush()
