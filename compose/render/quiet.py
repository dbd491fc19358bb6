"""``--progress quiet``: prints nothing (errors still reach stderr via main())."""

from __future__ import annotations

from compose.events import Event
from compose.render.base import Renderer


class QuietRenderer(Renderer):
    def handle(self, event: Event) -> None:
        return None
