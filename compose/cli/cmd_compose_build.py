"""``pycompose build``: build (or rebuild) the project's service images."""

from __future__ import annotations

import click

from compose.cli.project_cmd import load, operation, run_async


@click.command("build")
@click.argument("services", nargs=-1)
@click.option("--no-cache", is_flag=True, help="Do not use cache when building.")
@click.option("--pull", is_flag=True, help="Always attempt to pull a newer base image.")
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY=VAL")
@click.option("-q", "--quiet", is_flag=True, help="Don't print anything to stdout.")
@click.pass_obj
def build(obj, services, no_cache, pull, build_args, quiet):
    """Build or rebuild services."""
    import anyio

    from compose.cli.cmd_build import parse_kv
    from compose.project.images import build_service

    project = load(obj, services)
    names = list(services) or [n for n, s in project.services.items() if s.build]
    targets = [project.service(n) for n in names if project.service(n).build is not None]
    args = parse_kv(build_args, "--build-arg")
    if quiet:
        obj.progress = "quiet"
    with operation(obj, project, "build") as ctx:
        async def all_builds() -> None:
            async with anyio.create_task_group() as tg:
                for svc in targets:
                    tg.start_soon(lambda s=svc: build_service(ctx, s, no_cache=no_cache,
                                                              pull=pull, build_args=args))

        run_async(all_builds)
