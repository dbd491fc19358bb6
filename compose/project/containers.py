"""One container of a service: create (spec + mounts + networks), start, stop, remove,
and wait for health or completion.  Blocking runtime calls; callers run them in threads.
"""

from __future__ import annotations

import time

from compose.events import Kind, Status
from compose.model.types import Service
from compose.project.context import ProjectContext
from compose.project.convert import ImageInfo, build_spec
from compose.project.mounts import secrets_dir, service_mounts
from compose.project.naming import container_labels
from compose.project.observe import Observed, project_containers
from compose.project.resources import DEFAULT_NETWORK
from runtime import spec as rs
from runtime.errors import NotFoundError, RuntimeFailure

HEALTH_POLL = 0.1


class DependencyFailed(RuntimeFailure):
    """A dependency did not reach the condition a dependent waits for."""


def network_mode(ctx: ProjectContext, service: Service) -> rs.NetworkMode:
    """``network_mode`` / ``networks:`` -> the runtime's NetworkMode.  Bridge-mode
    containers are wired by the runtime when they start (``runtime.network.hooks``):
    one attachment per network, highest priority first, the service name as an alias."""
    mode = service.network_mode
    if not mode or mode == "bridge":
        entries = service.networks or {DEFAULT_NETWORK: None}
        attachments = []
        for key, opts in entries.items():
            net = ctx.project.networks[key]
            attachments.append(rs.NetworkAttachment(
                network=net.name,
                aliases=(service.name, *(opts.aliases if opts else ())),
                ipv4_address=opts.ipv4_address if opts else None,
                ipv6_address=opts.ipv6_address if opts else None,
                mac_address=(opts.mac_address if opts else None) or service.mac_address,
                priority=(opts.gw_priority or opts.priority or 0) if opts else 0))
        attachments.sort(key=lambda a: -a.priority)
        return rs.NetworkMode("bridge", attachments=tuple(attachments))
    if mode in ("host", "none"):
        return rs.NetworkMode(mode)  # type: ignore[arg-type]
    kind, _, target = mode.partition(":")
    if kind == "service":
        peers = [o for o in project_containers(ctx.containers, ctx.project.name)
                 if o.service == target and o.running]
        if not peers:
            raise NotFoundError(f"service {service.name!r}: network_mode service:{target} "
                                f"needs a running container of {target!r}")
        return rs.NetworkMode("container", peers[0].id)
    if kind == "container":
        return rs.NetworkMode("container", target)
    raise NotFoundError(f"service {service.name!r}: unsupported network_mode {mode!r}",
                        hint="use bridge, host, none, service:NAME or container:NAME")


def port_specs(service: Service) -> tuple[rs.PortSpec, ...]:
    specs = []
    for p in service.ports:
        rng = p.published_range()
        specs.append(rs.PortSpec(target=p.target, protocol=p.protocol,
                                 host_ip=p.host_ip or "",
                                 host_port_min=rng[0] if rng else None,
                                 host_port_max=rng[1] if rng else None))
    return tuple(specs)


def create(ctx: ProjectContext, service: Service, number: int, image: ImageInfo,
           config_hash: str, *, previous: Observed | None = None,
           renew_anonymous: bool = False, name: str | None = None,
           oneoff: bool = False, publish_ports: bool = True, **overrides) -> str:
    """Create the container (not started): returns its id."""
    from compose.project.naming import container_name

    cname = name or container_name(ctx.project, service, number)
    mode = network_mode(ctx, service)
    mounts = service_mounts(ctx, service, image, container_name=cname,
                            previous=previous.record.spec.mounts if previous else (),
                            renew_anonymous=renew_anonymous,
                            volumes_from=_volumes_from(ctx, service))
    labels = container_labels(ctx.project, service, number, config_hash, image.id,
                              oneoff=oneoff)
    spec = build_spec(ctx.project, service, image, name=cname, labels=labels,
                      mounts=mounts, network=mode,
                      ports=port_specs(service) if publish_ports and mode.kind == "bridge"
                      else (), **overrides)
    ctx.bus.status(Kind.CONTAINER, cname, Status.CREATING)
    cid = ctx.containers.create(spec)
    ctx.bus.status(Kind.CONTAINER, cname, Status.CREATED)
    return cid


def _volumes_from(ctx: ProjectContext, service: Service):
    out = []
    for entry in service.volumes_from:
        ref, _, mode = entry.partition(":")
        kind, _, name = ref.partition(":")
        if kind == "container":
            rec = ctx.containers.get(name)
        else:
            peers = [o for o in project_containers(ctx.containers, ctx.project.name)
                     if o.service == ref]
            if not peers:
                raise NotFoundError(f"service {service.name!r}: volumes_from {ref!r}: no "
                                    "container of that service exists")
            rec = peers[0].record
        out.append((rec.spec.mounts, mode or None))
    return out


def start(ctx: ProjectContext, cid: str, name: str) -> None:
    ctx.bus.status(Kind.CONTAINER, name, Status.STARTING)
    ctx.containers.start(cid)
    ctx.bus.status(Kind.CONTAINER, name, Status.STARTED)


def stop(ctx: ProjectContext, obs: Observed, timeout: float | None = None, *,
         removing: bool = False) -> None:
    if not obs.running:
        return
    ctx.bus.status(Kind.CONTAINER, obs.name, Status.STOPPING)
    ctx.containers.stop(obs.id, timeout, removing=removing)
    ctx.bus.status(Kind.CONTAINER, obs.name, Status.STOPPED)


def remove(ctx: ProjectContext, obs: Observed, *, volumes: bool = False,
           timeout: float | None = None) -> None:
    import shutil

    stop(ctx, obs, timeout, removing=True)
    ctx.bus.status(Kind.CONTAINER, obs.name, Status.REMOVING)
    ctx.containers.remove(obs.id, force=True)
    if volumes:
        from runtime.volumes.hooks import remove_anonymous_volumes

        with ctx.volume_lock:
            remove_anonymous_volumes(ctx.paths, obs.record.spec)
    shutil.rmtree(secrets_dir(ctx, obs.name), ignore_errors=True)
    ctx.bus.status(Kind.CONTAINER, obs.name, Status.REMOVED)


def health(ctx: ProjectContext, cid: str) -> tuple[str, str | None]:
    """(runtime status, health status or None when there is no healthcheck)."""
    state = ctx.containers.inspect(cid)["State"]
    h = state.get("Health")
    return state.get("Status", ""), (h or {}).get("Status")


def wait_healthy(ctx: ProjectContext, cid: str, name: str, service: str,
                 timeout: float | None = None) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    ctx.bus.status(Kind.CONTAINER, name, Status.WAITING)
    while True:
        status, hs = health(ctx, cid)
        if hs is None:
            raise DependencyFailed(f"container {name} has no healthcheck configured",
                                   hint=f"add a healthcheck to service {service!r}, or "
                                        "depend on it with condition: service_started")
        if hs == "healthy":
            ctx.bus.status(Kind.CONTAINER, name, Status.HEALTHY)
            return
        if hs == "unhealthy":
            raise DependencyFailed(f"container {name} is unhealthy")
        if status in ("exited", "dead"):
            raise DependencyFailed(f"container {name} exited before becoming healthy")
        if deadline is not None and time.monotonic() > deadline:
            raise DependencyFailed(f"container {name} did not become healthy in time")
        time.sleep(HEALTH_POLL)


def wait_completed(ctx: ProjectContext, cid: str, name: str) -> None:
    ctx.bus.status(Kind.CONTAINER, name, Status.WAITING)
    code = ctx.containers.wait(cid)
    if code != 0:
        raise DependencyFailed(f"container {name} didn't complete successfully: "
                               f"exit {code}")
    ctx.bus.status(Kind.CONTAINER, name, Status.EXITED)
