"""Typed progress events emitted by the orchestrator; renderers draw them.

No ``print`` and no progress bars below the CLI layer: operations call
``bus.emit(Event(...))`` and the renderer chosen once by ``--progress`` consumes them
(``compose/render``).  Statuses use compose's words, so the output reads as users know.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class Kind(enum.StrEnum):
    PROJECT = "Compose"
    NETWORK = "Network"
    VOLUME = "Volume"
    IMAGE = "Image"
    CONTAINER = "Container"
    LAYER = "Layer"
    BUILD = "Build"


class Status(enum.StrEnum):
    CREATING = "Creating"
    CREATED = "Created"
    STARTING = "Starting"
    STARTED = "Started"
    WAITING = "Waiting"
    HEALTHY = "Healthy"
    RUNNING = "Running"
    EXITED = "Exited"
    RECREATE = "Recreate"
    RECREATED = "Recreated"
    RESTARTING = "Restarting"
    RESTARTED = "Restarted"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    KILLING = "Killing"
    KILLED = "Killed"
    REMOVING = "Removing"
    REMOVED = "Removed"
    PULLING = "Pulling"
    PULLED = "Pulled"
    DOWNLOADING = "Downloading"
    DOWNLOADED = "Download complete"
    BUILDING = "Building"
    BUILT = "Built"
    SKIPPED = "Skipped"
    WARNING = "Warning"
    ERROR = "Error"
    INFO = ""

    @property
    def done(self) -> bool:
        return self in _DONE

    @property
    def failed(self) -> bool:
        return self is Status.ERROR


_DONE = frozenset({
    Status.CREATED, Status.STARTED, Status.HEALTHY, Status.RUNNING, Status.EXITED,
    Status.RECREATED, Status.RESTARTED, Status.STOPPED, Status.KILLED, Status.REMOVED,
    Status.PULLED, Status.DOWNLOADED, Status.BUILT, Status.SKIPPED, Status.WARNING,
    Status.ERROR,
})


@dataclass(frozen=True, slots=True)
class Event:
    kind: Kind
    name: str
    status: Status
    detail: str = ""
    parent: str | None = None          # e.g. the image a layer belongs to
    current: int | None = None         # bytes done (downloads)
    total: int | None = None
    time: float = field(default_factory=time.monotonic)

    @property
    def id(self) -> str:
        return f"{self.kind.value} {self.name}" if self.kind is not Kind.PROJECT else "Compose"


Listener = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out; listeners must be quick (renderers only buffer/draw)."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, event: Event) -> None:
        for listener in self._listeners:
            listener(event)

    # Conveniences for the common shapes.
    def status(self, kind: Kind, name: str, status: Status, detail: str = "") -> None:
        self.emit(Event(kind, name, status, detail))

    def message(self, text: str) -> None:
        self.emit(Event(Kind.PROJECT, "", Status.INFO, text))
