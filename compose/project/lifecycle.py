"""``start``/``stop``/``restart``/``kill``/``pause``/``unpause``/``rm`` on existing
containers of a project (optionally some services).  Stops go dependents-first, starts
dependencies-first, both through the dependency scheduler."""

from __future__ import annotations

from collections.abc import Sequence

import anyio

from compose.events import Kind, Status
from compose.project import containers as cops
from compose.project.context import ProjectContext
from compose.project.observe import Observed, project_containers
from compose.scheduler import Edge, Failed, execute, reverse_edges
from runtime.errors import RuntimeFailure


def selected(ctx: ProjectContext, services: Sequence[str], *, oneoff: bool | None = False
             ) -> list[Observed]:
    for s in services:
        ctx.project.service(s)
    found = project_containers(ctx.containers, ctx.project.name, oneoff=oneoff)
    return [o for o in found if not services or o.service in services]


def _graph(ctx: ProjectContext, names: list[str], *, reverse: bool):
    edges = {n: [Edge(d) for d in ctx.project.services[n].depends_on if d in names]
             for n in names if n in ctx.project.services}
    return reverse_edges(names, edges) if reverse else edges


async def per_service(ctx: ProjectContext, found: list[Observed], fn, *, reverse: bool
                      ) -> None:
    """Run ``fn(container)`` for ``found`` through the scheduler: dependencies first,
    or dependents first with ``reverse`` (stop/remove); containers of one service
    concurrently."""
    by_service: dict[str, list[Observed]] = {}
    for o in found:
        by_service.setdefault(o.service, []).append(o)
    names = list(by_service)

    async def action(service: str, node) -> None:
        async with anyio.create_task_group() as tg:
            for o in by_service[service]:
                tg.start_soon(lambda o=o: anyio.to_thread.run_sync(fn, o))

    outcomes = await execute(names, _graph(ctx, names, reverse=reverse), action,
                             limit=ctx.parallel)
    failed = [f"{n}: {o.error}" for n, o in outcomes.items() if isinstance(o, Failed)]
    if failed:
        raise RuntimeFailure("could not act on every container:\n" + "\n".join(failed))


async def stop(ctx: ProjectContext, services: Sequence[str] = (),
               timeout: float | None = None) -> None:
    found = await anyio.to_thread.run_sync(lambda: selected(ctx, services))
    await per_service(ctx, found, lambda o: cops.stop(ctx, o, timeout), reverse=True)


async def start(ctx: ProjectContext, services: Sequence[str] = ()) -> None:
    found = await anyio.to_thread.run_sync(lambda: selected(ctx, services))

    def one(o: Observed) -> None:
        if not o.running:
            cops.start(ctx, o.id, o.name)

    await per_service(ctx, found, one, reverse=False)


async def restart(ctx: ProjectContext, services: Sequence[str] = (),
                  timeout: float | None = None) -> None:
    found = await anyio.to_thread.run_sync(lambda: selected(ctx, services))

    def one(o: Observed) -> None:
        ctx.bus.status(Kind.CONTAINER, o.name, Status.RESTARTING)
        if o.running:
            ctx.containers.stop(o.id, timeout)
        ctx.containers.start(o.id)
        ctx.bus.status(Kind.CONTAINER, o.name, Status.RESTARTED)

    await per_service(ctx, found, one, reverse=False)


async def kill(ctx: ProjectContext, services: Sequence[str] = (), signal: str = "SIGKILL"
               ) -> None:
    found = await anyio.to_thread.run_sync(lambda: selected(ctx, services))

    def one(o: Observed) -> None:
        if o.running:
            ctx.bus.status(Kind.CONTAINER, o.name, Status.KILLING)
            ctx.containers.kill(o.id, signal)
            ctx.bus.status(Kind.CONTAINER, o.name, Status.KILLED)

    await per_service(ctx, found, one, reverse=True)


async def remove(ctx: ProjectContext, services: Sequence[str] = (), *, stop_first: bool,
                 volumes: bool, timeout: float | None = None) -> list[str]:
    found = await anyio.to_thread.run_sync(lambda: selected(ctx, services))
    running = [o for o in found if o.running]
    if running and not stop_first:
        found = [o for o in found if not o.running]
    await per_service(ctx, found, lambda o: cops.remove(ctx, o, volumes=volumes,
                                                         timeout=timeout), reverse=True)
    return [o.name for o in found]
