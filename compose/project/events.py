"""Container events of a project, daemonless: there is no engine to subscribe to, so
``events`` watches the project's container states (state files) and reports every
change as docker's event actions: create, start, die, destroy, pause, unpause,
health_status: healthy|unhealthy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from compose.project.context import ProjectContext
from compose.project.observe import project_containers

POLL = 0.2


@dataclass(frozen=True, slots=True)
class ContainerEvent:
    time: float
    action: str
    id: str
    name: str
    service: str
    image: str
    exit_code: int | None = None


def _snapshot(ctx: ProjectContext) -> dict[str, tuple]:
    out = {}
    for o in project_containers(ctx.containers, ctx.project.name, oneoff=None):
        st = o.record.state
        health = (st.get("health") or {}).get("Status") if o.record.spec.healthcheck else None
        out[o.id] = (o.status, health, o.name, o.service, o.record.spec.image,
                     st.get("exit_code"), st.get("restart_count", 0))
    return out


def diff(before: dict[str, tuple], after: dict[str, tuple], now: float
         ) -> list[ContainerEvent]:
    events = []
    for cid, cur in after.items():
        status, health, name, service, image, code, restarts = cur
        prev = before.get(cid)
        def ev(action: str, code: int | None = None, cid: str = cid, name: str = name,
               service: str = service, image: str = image) -> ContainerEvent:
            return ContainerEvent(now, action, cid, name, service, image, code)

        if prev is None:
            events.append(ev("create"))
            if status in ("running", "paused"):
                events.append(ev("start"))
            continue
        p_status, p_health, *_rest = prev
        p_restarts = prev[6]
        if restarts != p_restarts and status == "running":
            events += [ev("die", code), ev("start")]
        elif status != p_status:
            if status == "running" and p_status == "paused":
                events.append(ev("unpause"))
            elif status == "paused":
                events.append(ev("pause"))
            elif status == "running":
                events.append(ev("start"))
            elif status in ("exited", "dead") and p_status in ("running", "paused",
                                                                "restarting"):
                events.append(ev("die", code))
        if health != p_health and health in ("healthy", "unhealthy"):
            events.append(ev(f"health_status: {health}"))
    for cid, prev in before.items():
        if cid not in after:
            events.append(ContainerEvent(now, "destroy", cid, prev[2], prev[3], prev[4]))
    return events


def watch(ctx: ProjectContext, services: tuple[str, ...] = ()) -> Iterator[ContainerEvent]:
    """Events from now on (runs until interrupted)."""
    before = _snapshot(ctx)
    while True:
        time.sleep(POLL)
        after = _snapshot(ctx)
        for e in diff(before, after, time.time()):
            if not services or e.service in services:
                yield e
        before = after
