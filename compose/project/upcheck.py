"""The no-change ``up``, decided synchronously before anything heavy is imported.

``up -d`` on a project that is already up is the most common command of all (scripts,
CI retries, muscle memory).  When every selected service's containers exist, run, and
carry the current config hash and image ID, its networks and volumes exist, and nothing
asks to build, pull, recreate or remove, there is nothing to do: this module says so
from the state files alone, so the scheduler, asyncio/anyio, the network stack and the
container-spec machinery are never imported.  Anything else returns ``None`` and the
full ``up`` runs (which plans the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from compose.events import Kind, Status
from compose.model.serialize import config_hash
from compose.project.context import ProjectContext
from compose.project.observe import project_containers, replicas, warn_orphans
from compose.project.plan import Action, plan_service
from compose.project.resources import network_exists, used_networks, used_volumes
from compose.project.select import with_dependencies


@dataclass(frozen=True)
class UpOptions:
    services: tuple[str, ...] = ()
    no_deps: bool = False
    build: bool | None = None            # True: --build, False: --no-build
    pull: str | None = None              # --pull always|missing|never
    quiet_pull: bool = False
    force_recreate: bool = False
    no_recreate: bool = False
    always_recreate_deps: bool = False
    no_start: bool = False
    scale: Mapping[str, int] = field(default_factory=dict)
    remove_orphans: bool = False
    renew_anon_volumes: bool = False
    timeout: float | None = None         # -t: stop timeout when recreating
    wait: bool = False
    wait_timeout: float | None = None


# pull policies that never pull an image that is present
_NO_PULL_WHEN_PRESENT = ("missing", "if_not_present", "never", "build")


def already_up(ctx: ProjectContext, opts: UpOptions) -> list[str] | None:
    """The container ids when the project is up to date (and "Running" events for
    them); ``None`` when ``up`` has work to do."""
    if (opts.force_recreate or opts.build or opts.no_start or opts.renew_anon_volumes
            or opts.always_recreate_deps or opts.wait
            or (opts.pull and opts.pull != "missing")):
        return None
    project = ctx.project
    names = with_dependencies(project, opts.services, no_deps=opts.no_deps)
    if any(not network_exists(ctx, net.name) for net in used_networks(project, names)):
        return None
    if any(not vol.external and not ctx.volumes.exists(vol.name)
           for vol in used_volumes(project, names)):
        return None
    observed = project_containers(ctx.containers, project.name)
    orphans = [o for o in observed if o.service not in project.services]
    if orphans and opts.remove_orphans:
        return None
    from compose.project.images import image_name

    ids: list[tuple[str, str]] = []
    for name in names:
        svc = project.services[name]
        if svc.build is not None and svc.pull_policy == "build":
            return None
        if (svc.pull_policy or "missing") not in _NO_PULL_WHEN_PRESENT:
            return None  # daily/weekly/always: let the puller decide
        ref = image_name(ctx, svc)
        if not ctx.images.exists(ref):
            return None
        image_id = ctx.images.resolve(ref).id
        mine = replicas(observed, name)
        steps = plan_service(mine, opts.scale.get(name, svc.replicas), config_hash(svc),
                             image_id, no_recreate=opts.no_recreate)
        if any(s.action is not Action.NOOP for s in steps):
            return None
        ids += [(s.existing.id, s.existing.name) for s in steps if s.existing]
    warn_orphans(ctx.bus, orphans)
    for _cid, cname in ids:
        ctx.bus.status(Kind.CONTAINER, cname, Status.RUNNING)
    return [cid for cid, _ in ids]
