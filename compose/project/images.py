"""Getting each service's image: resolve, pull (per ``pull_policy``) or build.

All pulls of a project run concurrently (``pull_images``); builds run through the
builder.  A built service's image is named ``image:`` or ``<project>-<service>``, as
``docker compose`` names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from compose.events import Kind, Status
from compose.model.types import Service
from compose.project.context import ProjectContext

if TYPE_CHECKING:
    from compose.project.convert import ImageInfo
from runtime.errors import NotFoundError


def image_name(ctx: ProjectContext, service: Service) -> str:
    return service.image or f"{ctx.project.name}-{service.name}"


def info(image, ref: str) -> ImageInfo:
    """``ref`` as the user wrote it (what ``ps`` shows)."""
    from compose.project.convert import ImageInfo

    return ImageInfo(ref=ref, id=image.id, layers=image.layer_dirs(), config=image.config)


def _needs_build(ctx: ProjectContext, service: Service, build: bool | None) -> bool:
    if service.build is None or build is False:
        return False
    if build or service.pull_policy == "build":
        return True
    return not ctx.images.exists(image_name(ctx, service))


async def build_service(ctx: ProjectContext, service: Service, *, no_cache: bool = False,
                        pull: bool = False, build_args: dict[str, str] | None = None):
    from runtime.build.engine import Builder, BuildRequest

    assert service.build is not None
    b = service.build
    name = image_name(ctx, service)
    ctx.bus.status(Kind.IMAGE, name, Status.BUILDING)
    args = {k: v for k, v in b.args.items() if v is not None}
    args.update(build_args or {})
    req = BuildRequest(
        context=Path(b.context),
        dockerfile=(Path(b.context) / b.dockerfile) if b.dockerfile and not
        b.dockerfile_inline else None,
        dockerfile_text=b.dockerfile_inline,
        tags=(name, *b.tags),
        build_args=args,
        target=b.target,
        no_cache=no_cache or b.no_cache,
        pull=pull or b.pull,
        labels=dict(b.labels),
        network=b.network or "default",
        extra_hosts=tuple(b.extra_hosts),
        shm_size=b.shm_size,
        secrets=_build_secrets(ctx, service),
    )
    result = await Builder(ctx.paths, _build_sink(ctx, name)).build_async(req)
    ctx.bus.status(Kind.IMAGE, name, Status.BUILT,
                   f"{result.steps} steps, {result.cached} cached")
    return result.image


def _build_secrets(ctx: ProjectContext, service: Service) -> dict[str, Path]:
    """``build.secrets`` -> ``{id: file}`` for ``RUN --mount=type=secret,id=...``; the
    id is the target's base name (``source`` unless ``target`` says otherwise).
    ``environment:`` secrets are written to a root-only file under the project state."""
    assert service.build is not None
    out: dict[str, Path] = {}
    for ref in service.build.secrets:
        decl = ctx.project.secrets.get(ref.source)
        if decl is None:
            raise NotFoundError(f"service {service.name!r}: build secret {ref.source!r} is "
                                "not declared", hint="declare it under the top-level "
                                "'secrets:'")
        sid = ref.target.rsplit("/", 1)[-1]
        if decl.file:
            out[sid] = Path(decl.file)
        elif decl.environment is not None:
            from runtime.fsutil import atomic_write_bytes

            value = ctx.project.environment.get(decl.environment)
            if value is None:
                raise NotFoundError(f"build secret {ref.source!r}: environment variable "
                                    f"{decl.environment} is not set")
            path = ctx.paths.projects / ctx.project.name / "build-secrets" / sid
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write_bytes(path, value.encode(), mode=0o400)
            out[sid] = path
    return out


def _build_sink(ctx: ProjectContext, image: str):
    """Builder progress -> orchestrator events (one ``Build <image>`` line per step:
    ``#3 [2/5] RUN make``, ``#3 CACHED``, ``#3 DONE 0.4s``)."""
    from compose.events import Event

    def sink(ev) -> None:
        if ev.kind == "start":
            detail = f"#{ev.step} {ev.title}"
        elif ev.kind == "cached":
            detail = f"#{ev.step} CACHED {ev.title}"
        elif ev.kind == "done":
            detail = f"#{ev.step} DONE {ev.elapsed:.1f}s"
        elif ev.kind == "error":
            detail = f"#{ev.step} ERROR {ev.text}"
        else:
            return  # RUN output: shown in the error when a step fails
        ctx.bus.emit(Event(Kind.BUILD, image, Status.BUILDING, detail))

    return sink


async def ensure_images(ctx: ProjectContext, services: Sequence[Service], *,
                        pull: str | None = None, build: bool | None = None,
                        quiet_pull: bool = False) -> dict[str, ImageInfo]:
    """Resolve every service's image; pull and build what is missing.  Returns
    ``{service name: ImageInfo}``."""
    import anyio

    to_build = [s for s in services if _needs_build(ctx, s, build)]
    built = {s.name for s in to_build}
    pulls: dict[str, list[str]] = {}
    for s in services:
        if s.name in built or (s.build is not None and not s.image):
            continue  # built now, or built before under <project>-<service>
        if not s.image:
            raise NotFoundError(f"service {s.name!r} has neither an image nor a build "
                                "section", hint="add `image:` or `build:`")
        policy = pull or s.pull_policy or "missing"
        if s.build is not None and policy == "build":
            policy = "missing"
        pulls.setdefault(policy, []).append(s.image)

    out: dict[str, ImageInfo] = {}
    images_by_ref: dict[str, object] = {}

    def progress(event) -> None:  # PullEvent, called from the puller's worker threads
        if quiet_pull:
            return
        from compose.events import Event

        if event.id is None:
            status = {"Resolving": Status.PULLING, "Done": Status.PULLED}.get(event.status)
            if status is not None:
                ctx.bus.status(Kind.IMAGE, event.ref, status, event.detail)
        else:
            ctx.bus.emit(Event(Kind.LAYER, event.id, Status.DOWNLOADING, event.status,
                               parent=event.ref, current=event.current or None,
                               total=event.total or None))

    async def do_pulls() -> None:
        from runtime.images.policy import needs_pull

        for policy, refs in pulls.items():
            wanted = sorted({r for r in refs if needs_pull(ctx.images, r, policy)})
            if not wanted:
                continue  # the common case: everything present, the puller never imported
            from runtime.images.pull import pull_images

            result = await pull_images(ctx.paths, wanted, policy=policy, progress=progress)
            images_by_ref.update(result)

    async def do_builds() -> None:
        async with anyio.create_task_group() as tg:
            for s in to_build:
                async def one(s: Service = s) -> None:
                    img = await build_service(ctx, s)
                    out[s.name] = info(img, image_name(ctx, s))
                tg.start_soon(one)

    async with anyio.create_task_group() as tg:
        tg.start_soon(do_pulls)
        tg.start_soon(do_builds)

    for s in services:
        if s.name in out:
            continue
        ref = image_name(ctx, s)
        img = images_by_ref.get(ref)
        if img is None:
            img = ctx.images.resolve(ref)  # raises a clear "no such image"
        out[s.name] = info(img, ref)
    return out
