"""What every project operation works with: the model, the runtime, the event bus.

Runtime calls are synchronous and run in worker threads (``anyio.to_thread``).  The
network and volume stores guard their state files with ``fcntl`` locks, which are per
process, not per thread: the context therefore serialises calls into each of them with
an in-process lock as well.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from compose.events import EventBus
from compose.model.types import Project
from runtime.paths import StatePaths


@dataclass
class ProjectContext:
    project: Project
    paths: StatePaths
    bus: EventBus = field(default_factory=EventBus)
    parallel: int | None = None
    net_lock: threading.Lock = field(default_factory=threading.Lock)
    volume_lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def runtime(self) -> Any:
        from runtime.api import Runtime

        # The fork server starts lazily, with the first container start: commands that
        # start several containers (``up``) then pay one shim interpreter start-up
        # instead of one per container.
        return Runtime(self.paths, fork_server=True)

    @property
    def containers(self) -> Any:
        return self.runtime.containers

    @cached_property
    def networks(self) -> Any:
        from runtime.network.api import Networks

        return Networks(self.paths)

    @cached_property
    def volumes(self) -> Any:
        from runtime.volumes.store import VolumeStore

        return VolumeStore(self.paths)

    @cached_property
    def images(self) -> Any:
        from runtime.images import ImageStore

        return ImageStore(self.paths)

    def close(self) -> None:
        if "runtime" in self.__dict__:
            self.runtime.close()
        if "networks" in self.__dict__:
            self.networks.close()
