"""Renderers for orchestrator events: ``tty`` (live block), ``plain``, ``json``, ``quiet``.

Chosen once per command from ``--progress`` (``auto``: tty when stderr is a terminal).
All write to stderr, so stdout stays clean for scripts (as ``docker compose`` does).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from compose.render.base import Renderer


def choose_renderer(mode: str = "auto", stream: TextIO | None = None, *,
                    operation: str = "", color: bool | None = None) -> Renderer:
    stream = stream if stream is not None else sys.stderr
    if mode == "auto":
        mode = "tty" if stream.isatty() and os.environ.get("TERM") != "dumb" else "plain"
    if mode == "quiet":
        from compose.render.quiet import QuietRenderer

        return QuietRenderer(stream)
    if mode == "json":
        from compose.render.json import JsonRenderer

        return JsonRenderer(stream)
    if mode == "tty":
        from compose.render.tty import TtyRenderer

        return TtyRenderer(stream, operation=operation)
    from compose.render.plain import PlainRenderer

    return PlainRenderer(stream)
