"""``run``: a one-off container of a service (``<project>-<service>-run-<id>``), its
dependencies started first unless ``--no-deps``."""

from __future__ import annotations

import dataclasses
import secrets
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import anyio

from compose.model.serialize import config_hash
from compose.model.types import Port, Service, ServiceVolume
from compose.project import containers as cops
from compose.project.context import ProjectContext
from compose.project.images import ensure_images
from compose.project.naming import oneoff_name
from compose.project.resources import ensure_network, ensure_volume, used_networks, used_volumes
from compose.project.up import UpOptions, up


@dataclass(frozen=True)
class RunOptions:
    service: str
    command: tuple[str, ...] = ()
    entrypoint: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    volumes: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()
    service_ports: bool = False
    no_deps: bool = False
    name: str | None = None
    user: str | None = None
    workdir: str | None = None
    tty: bool = False
    stdin_open: bool = False
    auto_remove: bool = False
    build: bool | None = None
    pull: str | None = None


def _one_off_service(svc: Service, opts: RunOptions) -> Service:
    """Ports are only published with --service-ports or -p (as compose does)."""
    ports: tuple[Port, ...] = svc.ports if opts.service_ports else ()
    if opts.publish:
        from compose.model.parse import parse_port
        from runtime.errors import UsageError

        try:
            ports = tuple(Port(**d) for spec in opts.publish for d in parse_port(spec))
        except ValueError as err:
            raise UsageError(f"--publish: {err}") from None
    volumes = svc.volumes
    for v in opts.volumes:
        src, _, rest = v.partition(":")
        target, _, mode = rest.partition(":")
        volumes = (*volumes, ServiceVolume(type="bind" if src.startswith(("/", ".", "~"))
                                           else "volume", source=src, target=target,
                                           read_only=mode == "ro"))
    env = dict(svc.environment)
    env.update(opts.env)
    return dataclasses.replace(svc, ports=ports, volumes=volumes, environment=env,
                               container_name=None, restart=None)


async def create_one_off(ctx: ProjectContext, opts: RunOptions) -> tuple[str, str]:
    """Start dependencies, create the one-off container (not started); (id, name)."""
    project = ctx.project
    base = project.service(opts.service)
    deps = [d for d in base.depends_on if d in project.services]
    if deps and not opts.no_deps:
        await up(ctx, UpOptions(services=tuple(deps), build=opts.build, pull=opts.pull))
    svc = _one_off_service(base, opts)
    names = [svc.name]
    for net in used_networks(project, names):
        await anyio.to_thread.run_sync(ensure_network, ctx, net)
    for vol in used_volumes(project, names):
        await anyio.to_thread.run_sync(ensure_volume, ctx, vol)
    image = (await ensure_images(ctx, [svc], pull=opts.pull, build=opts.build))[svc.name]
    name = opts.name or oneoff_name(project, svc, secrets.token_hex(6))
    command: Sequence[str] | None = None
    if opts.entrypoint is not None:
        entry = shlex.split(opts.entrypoint)
        command = (*entry, *opts.command)
    elif opts.command:
        entry = list(image.config.get("Entrypoint") or ()) if svc.entrypoint is None \
            else list(svc.entrypoint)
        command = (*entry, *opts.command)
    chash = config_hash(svc)

    def create() -> str:
        return cops.create(ctx, svc, 1, image, chash, name=name, oneoff=True,
                           publish_ports=bool(svc.ports), command_override=command,
                           user=opts.user, workdir=opts.workdir, tty=opts.tty,
                           stdin_open=opts.stdin_open, auto_remove=opts.auto_remove,
                           restart=False)

    cid = await anyio.to_thread.run_sync(create)
    return cid, name
