"""``up`` / ``create``: networks and volumes, images, then every service's containers
through the dependency scheduler — each service starts the moment its own dependencies'
conditions hold (``service_started``, ``service_healthy``,
``service_completed_successfully``)."""

from __future__ import annotations

import anyio

from compose.events import Kind, Status
from compose.model.serialize import config_hash
from compose.project import containers as cops
from compose.project.context import ProjectContext
from compose.project.images import ensure_images
from compose.project.observe import project_containers, replicas, warn_orphans
from compose.project.plan import Action, plan_service
from compose.project.resources import (
    ensure_network,
    ensure_volume,
    used_networks,
    used_volumes,
)
from compose.project.select import with_dependencies
from compose.project.upcheck import UpOptions
from compose.scheduler import Edge, Failed, Skipped, execute
from runtime.errors import RuntimeFailure

MILESTONE = {
    "service_started": "started",
    "service_healthy": "healthy",
    "service_completed_successfully": "completed",
}


class UpFailed(RuntimeFailure):
    pass


def _edges(ctx: ProjectContext, names: list[str]) -> dict[str, list[Edge[str]]]:
    edges: dict[str, list[Edge[str]]] = {}
    for name in names:
        svc = ctx.project.services[name]
        edges[name] = [Edge(dep, MILESTONE.get(d.condition, "started"), d.required)
                       for dep, d in svc.depends_on.items()]
    return edges


async def up(ctx: ProjectContext, opts: UpOptions) -> list[str]:
    """Converge the project; returns the ids of the service containers (all replicas)."""
    project = ctx.project
    names = with_dependencies(project, opts.services, no_deps=opts.no_deps)
    services = [project.services[n] for n in names]

    for net in used_networks(project, names):
        await anyio.to_thread.run_sync(ensure_network, ctx, net)
    for vol in used_volumes(project, names):
        await anyio.to_thread.run_sync(ensure_volume, ctx, vol)

    images = await ensure_images(ctx, services, pull=opts.pull, build=opts.build,
                                 quiet_pull=opts.quiet_pull)
    observed = await anyio.to_thread.run_sync(project_containers, ctx.containers, project.name)
    orphans = [o for o in observed if o.service not in project.services]
    if opts.remove_orphans:
        for o in orphans:
            await anyio.to_thread.run_sync(cops.remove, ctx, o)
    else:
        warn_orphans(ctx.bus, orphans)
    recreated: set[str] = set()
    started_ids: dict[str, list[str]] = {}

    async def converge(name: str, node) -> None:
        svc = project.services[name]
        image = images[name]
        chash = config_hash(svc)
        desired = opts.scale.get(name, svc.replicas)
        # --always-recreate-deps, or `depends_on: {x: {restart: true}}`: a dependent
        # follows a dependency that was recreated in this run (compose restarts it; we
        # recreate, which also picks up the dependency's new address).
        dep_recreated = any(d in recreated and (opts.always_recreate_deps or dep.restart)
                            for d, dep in svc.depends_on.items())
        mine = replicas(observed, name)
        steps = plan_service(mine, desired, chash, image.id,
                             force_recreate=opts.force_recreate,
                             no_recreate=opts.no_recreate,
                             dependency_recreated=dep_recreated)
        ids: list[str] = []

        def run_step(step) -> None:
            cname = step.existing.name if step.existing else None
            if step.action is Action.NOOP:
                ctx.bus.status(Kind.CONTAINER, step.existing.name, Status.RUNNING)
                ids.append(step.existing.id)
            elif step.action is Action.START:
                if not opts.no_start:
                    cops.start(ctx, step.existing.id, step.existing.name)
                ids.append(step.existing.id)
            elif step.action is Action.REMOVE:
                cops.remove(ctx, step.existing, timeout=opts.timeout)
            elif step.action is Action.CREATE:
                cid = cops.create(ctx, svc, step.number, image, chash,
                                  renew_anonymous=opts.renew_anon_volumes)
                if not opts.no_start:
                    from compose.project.naming import container_name

                    cops.start(ctx, cid, container_name(project, svc, step.number))
                ids.append(cid)
            elif step.action is Action.RECREATE:
                old = step.existing
                ctx.bus.status(Kind.CONTAINER, old.name, Status.RECREATE)
                cops.stop(ctx, old, opts.timeout, removing=True)
                ctx.containers.remove(old.id, force=True)
                cid = cops.create(ctx, svc, step.number, image, chash, previous=old,
                                  renew_anonymous=opts.renew_anon_volumes, name=cname)
                recreated.add(name)
                if not opts.no_start:
                    cops.start(ctx, cid, old.name)
                ctx.bus.status(Kind.CONTAINER, old.name, Status.RECREATED)
                ids.append(cid)

        errors: list[BaseException] = []

        async def guarded(step) -> None:
            try:
                await anyio.to_thread.run_sync(run_step, step)
            except Exception as err:  # reported once for the service, below
                errors.append(err)

        async with node.slot(), anyio.create_task_group() as tg:
            for step in steps:
                tg.start_soon(guarded, step)
        if errors:
            raise errors[0]
        started_ids[name] = ids
        node.reach("started")
        if opts.no_start:
            return
        want_healthy = node.wanted("healthy") or (opts.wait and svc.healthcheck is not None)
        if not (want_healthy or node.wanted("completed")):
            return
        names_by_id = {cid: ctx.containers.get(cid).name for cid in ids}
        if want_healthy:
            for cid in ids:
                await anyio.to_thread.run_sync(
                    cops.wait_healthy, ctx, cid, names_by_id[cid], name, opts.wait_timeout)
            node.reach("healthy")
        if node.wanted("completed"):
            for cid in ids:
                await anyio.to_thread.run_sync(cops.wait_completed, ctx, cid,
                                               names_by_id[cid])
            node.reach("completed")

    outcomes = await execute(names, _edges(ctx, names), converge, limit=ctx.parallel)
    errors = []
    for name, outcome in outcomes.items():
        if isinstance(outcome, Failed):
            ctx.bus.status(Kind.CONTAINER, name, Status.ERROR, str(outcome.error))
            errors.append(f"service {name!r}: {outcome.error}")
        elif isinstance(outcome, Skipped):
            msg = f"not started: dependency {outcome.upstream!r} failed"
            if outcome.milestone != "done":
                msg = (f"not started: dependency {outcome.upstream!r} did not reach "
                       f"{outcome.milestone!r}")
            ctx.bus.status(Kind.CONTAINER, name, Status.ERROR, msg)
            errors.append(f"service {name!r}: {msg}")
    if errors:
        raise UpFailed("\n".join(errors))
    return [cid for n in names for cid in started_ids.get(n, ())]
