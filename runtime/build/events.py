"""Progress events of a build (rendered by the CLI like BuildKit's plain output)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

EventKind = Literal["start", "cached", "done", "error", "output", "info"]


@dataclass(frozen=True, slots=True)
class BuildEvent:
    kind: EventKind
    step: int               # global step number (#N), 0 for build-wide info
    title: str = ""         # "[stage-1 2/5] RUN make"
    text: str = ""          # output chunk or message
    elapsed: float = 0.0    # seconds, for done/error


EventSink = Callable[[BuildEvent], None]


def ignore(_: BuildEvent) -> None:
    return None


def render_plain(write: Callable[[str], None]) -> EventSink:
    """A sink printing ``#N [stage i/n] INSTRUCTION`` / ``#N CACHED`` / ``#N DONE 0.3s``."""

    def sink(ev: BuildEvent) -> None:
        if ev.kind == "start":
            write(f"#{ev.step} {ev.title}")
        elif ev.kind == "cached":
            write(f"#{ev.step} {ev.title}\n#{ev.step} CACHED")
        elif ev.kind == "done":
            write(f"#{ev.step} DONE {ev.elapsed:.1f}s")
        elif ev.kind == "error":
            write(f"#{ev.step} ERROR {ev.elapsed:.1f}s: {ev.text}")
        elif ev.kind == "output":
            for line in ev.text.rstrip("\n").split("\n"):
                write(f"#{ev.step} {line}")
        else:
            write(ev.text)

    return sink
