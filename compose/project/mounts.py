"""Service storage (volumes, tmpfs, secrets, configs, image VOLUMEs) -> runtime Mounts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from compose.model.types import FileRef, Service
from compose.project.context import ProjectContext
from compose.project.convert import ImageInfo
from runtime import spec as rs
from runtime.errors import InvalidInputError


def service_mounts(ctx: ProjectContext, service: Service, image: ImageInfo, *,
                   container_name: str, previous: Sequence[rs.Mount] = (),
                   renew_anonymous: bool = False,
                   volumes_from: Sequence[tuple[Sequence[rs.Mount], str | None]] = (),
                   ) -> list[rs.Mount]:
    from runtime.volumes import mounts as vm

    project = ctx.project
    project_dir = Path(project.working_dir)
    out: list[rs.Mount] = []
    for v in service.volumes:
        if v.type == "bind":
            b = v.bind
            out.append(vm.bind_mount(
                v.source or "", v.target, project_dir=project_dir, read_only=v.read_only,
                propagation=b.propagation if b else None,
                create_host_path=b.create_host_path if b else True,
                selinux=b.selinux if b else None))
        elif v.type == "volume":
            if v.source:
                decl = project.volumes.get(v.source)
                name = decl.name if decl else v.source
                with ctx.volume_lock:
                    vol = ctx.volumes.get(name)
            else:
                with ctx.volume_lock:
                    vol = vm.anonymous_volume(
                        ctx.volumes, container=container_name, target=v.target,
                        previous=() if renew_anonymous else previous,
                        labels={"com.docker.compose.project": project.name})
            opts = v.volume
            out.append(vm.volume_mount(vol, v.target, read_only=v.read_only,
                                       nocopy=bool(opts and opts.nocopy),
                                       subpath=opts.subpath if opts else None))
        elif v.type == "tmpfs":
            t = v.tmpfs
            out.append(vm.tmpfs_mount(v.target, size=t.size if t else None,
                                      mode=t.mode if t else None))
        else:
            raise InvalidInputError(f"service {service.name!r}: volume type {v.type!r} is "
                                    "not supported", hint="use bind, volume or tmpfs")
    for entry in service.tmpfs:
        out.append(vm.parse_tmpfs(entry))
    for other_mounts, mode in volumes_from:
        out.extend(vm.volumes_from(other_mounts, mode))
    # Image VOLUME entries not covered above get anonymous volumes (reused on recreate).
    for target in vm.anonymous_targets(image.config, out):
        with ctx.volume_lock:
            vol = vm.anonymous_volume(
                ctx.volumes, container=container_name, target=target,
                previous=() if renew_anonymous else previous,
                labels={"com.docker.compose.project": project.name})
        out.append(vm.volume_mount(vol, target))
    out.extend(secret_mounts(ctx, service, container_name, image))
    return out


def _uses(refs: Sequence[FileRef]):
    from runtime.volumes.secrets import Use

    return [Use(source=r.source, target=r.target,
                uid=int(r.uid) if r.uid not in (None, "") else None,
                gid=int(r.gid) if r.gid not in (None, "") else None, mode=r.mode)
            for r in refs]


def secrets_dir(ctx: ProjectContext, container_name: str) -> Path:
    return ctx.paths.projects / ctx.project.name / "secrets" / container_name


def secret_mounts(ctx: ProjectContext, service: Service, container_name: str,
                  image: ImageInfo) -> list[rs.Mount]:
    """Write the service's secrets/configs under the project's state (root-only) and
    return read-only bind mounts of them, owned by the container's user by default."""
    if not service.secrets and not service.configs:
        return []
    from runtime.volumes.secrets import Source, container_user_ids, materialize

    uid, gid = container_user_ids(image.layers, service.user or image.config.get("User")
                                  or "")

    project = ctx.project
    base = secrets_dir(ctx, container_name)
    env = dict(project.environment)
    out: list[rs.Mount] = []
    for kind, refs, decls in (("secret", service.secrets, project.secrets),
                              ("config", service.configs, project.configs)):
        if not refs:
            continue
        sources = {key: Source(name=d.name, file=Path(d.file) if d.file else None,
                               environment=d.environment, content=d.content,
                               external=d.external) for key, d in decls.items()}
        out.extend(materialize(base, kind, _uses(refs), sources, env=env,
                               project_dir=Path(project.working_dir), default_uid=uid,
                               default_gid=gid))
    return out
