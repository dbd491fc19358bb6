"""``down``: stop and remove the project's containers in reverse dependency order
(concurrently where the graph allows), then its networks; volumes only with ``-v``;
images with ``--rmi``.  Works from labels alone, so it also cleans up what a crashed or
interrupted ``up`` left behind."""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from compose.events import Kind, Status
from compose.project import containers as cops
from compose.project.context import ProjectContext
from compose.project.lifecycle import per_service
from compose.project.observe import Observed, project_containers, warn_orphans
from compose.project.resources import release_volume, remove_network, remove_volume


@dataclass(frozen=True)
class DownOptions:
    volumes: bool = False
    remove_orphans: bool = False
    rmi: str | None = None          # "local" | "all"
    timeout: float | None = None


async def remove_containers(ctx: ProjectContext, found: list[Observed], *,
                            volumes: bool = False, timeout: float | None = None) -> None:
    """Stop+remove ``found``; dependents before their dependencies."""
    await per_service(ctx, found, lambda o: cops.remove(ctx, o, volumes=volumes,
                                                        timeout=timeout), reverse=True)


async def down(ctx: ProjectContext, opts: DownOptions) -> None:
    project = ctx.project
    found = await anyio.to_thread.run_sync(
        lambda: project_containers(ctx.containers, project.name, oneoff=None))
    known = [o for o in found if o.service in project.services or o.oneoff]
    orphans = [o for o in found if o.service not in project.services and not o.oneoff]
    if not opts.remove_orphans:
        warn_orphans(ctx.bus, orphans)
    targets = known + (orphans if opts.remove_orphans else [])
    await remove_containers(ctx, targets, volumes=opts.volumes, timeout=opts.timeout)

    for net in project.networks.values():
        await anyio.to_thread.run_sync(_remove_network_if_unused, ctx, net)
    if opts.volumes:
        for vol in project.volumes.values():
            await anyio.to_thread.run_sync(remove_volume, ctx, vol)
    else:
        for vol in project.volumes.values():
            await anyio.to_thread.run_sync(release_volume, ctx, vol)
    if opts.rmi:
        await anyio.to_thread.run_sync(_remove_images, ctx, opts.rmi)
    import shutil

    # secrets/configs and build secrets written for this project
    shutil.rmtree(ctx.paths.projects / project.name, ignore_errors=True)


def _remove_network_if_unused(ctx: ProjectContext, net) -> None:
    with ctx.net_lock:
        if not ctx.networks.exists(net.name) or net.external:
            return
        if ctx.networks.inspect(net.name).get("Containers"):
            ctx.bus.status(Kind.NETWORK, net.name, Status.WARNING, "Resource is still in use")
            return
    remove_network(ctx, net)


def _remove_images(ctx: ProjectContext, mode: str) -> None:
    from compose.project.images import image_name

    for svc in ctx.project.services.values():
        if mode == "local" and svc.image:
            continue  # local: only built images without a custom tag (as compose)
        ref = image_name(ctx, svc)
        if not ctx.images.exists(ref):
            continue
        ctx.bus.status(Kind.IMAGE, ref, Status.REMOVING)
        try:
            ctx.images.remove(ref)
        except Exception as err:  # in use by another project: warn, as compose does
            ctx.bus.status(Kind.IMAGE, ref, Status.WARNING, str(err))
            continue
        ctx.bus.status(Kind.IMAGE, ref, Status.REMOVED)
