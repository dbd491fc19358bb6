"""Project image commands: ``pull``, ``push``, ``images``."""

from __future__ import annotations

import json

import click

from compose.cli.project_cmd import load, operation, run_async


@click.command("pull")
@click.argument("services", nargs=-1)
@click.option("-q", "--quiet", is_flag=True, help="Pull without printing progress.")
@click.option("--ignore-pull-failures", is_flag=True)
@click.option("--ignore-buildable", is_flag=True, help="Ignore images that can be built.")
@click.option("--include-deps", is_flag=True)
@click.option("--policy", type=click.Choice(["missing", "always"]), default="always")
@click.pass_obj
def pull(obj, services, quiet, ignore_pull_failures, ignore_buildable, include_deps,
         policy):
    """Pull service images (all of a project's images concurrently)."""
    from compose.events import Kind, Status
    from compose.project.select import with_dependencies
    from runtime.images.pull import pull_images

    project = load(obj, services)
    names = with_dependencies(project, services, no_deps=not include_deps)
    refs = sorted({s.image for n in names if (s := project.services[n]).image
                   and not (ignore_buildable and s.build is not None)})
    with operation(obj, project, "pull") as ctx:
        def progress(ev) -> None:
            if quiet or ev.id is not None:
                return
            if ev.status == "Resolving":
                ctx.bus.status(Kind.IMAGE, ev.ref, Status.PULLING)
            elif ev.status == "Done":
                ctx.bus.status(Kind.IMAGE, ev.ref, Status.PULLED)

        try:
            run_async(lambda: pull_images(ctx.paths, refs, policy=policy, progress=progress))
        except Exception as err:
            if not ignore_pull_failures:
                raise
            ctx.bus.status(Kind.PROJECT, "", Status.WARNING, str(err))


@click.command("push")
@click.argument("services", nargs=-1)
@click.option("--ignore-push-failures", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.pass_obj
def push(obj, services, ignore_push_failures, quiet):
    """Push service images."""
    from compose.events import Kind, Status
    from compose.project.images import image_name
    from runtime.images.push import push as push_image

    project = load(obj, services)
    names = services or tuple(project.services)
    with operation(obj, project, "push") as ctx:
        for n in names:
            svc = project.service(n)
            if not svc.image and svc.build is None:
                continue
            ref = image_name(ctx, svc)
            ctx.bus.status(Kind.IMAGE, ref, Status.INFO, "Pushing")
            try:
                push_image(ctx.images, ref)
            except Exception as err:
                if not ignore_push_failures:
                    raise
                ctx.bus.status(Kind.IMAGE, ref, Status.WARNING, str(err))
                continue
            ctx.bus.status(Kind.IMAGE, ref, Status.INFO, "Pushed")


@click.command("images")
@click.argument("services", nargs=-1)
@click.option("-q", "--quiet", is_flag=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_obj
def images(obj, services, quiet, fmt):
    """List images used by the created containers."""
    from compose.cli.container_table import human_size
    from compose.cli.project_cmd import make_context
    from compose.project.lifecycle import selected

    project = load(obj)
    ctx = make_context(obj, project)
    rows = []
    for o in selected(ctx, services, oneoff=None):
        spec = o.record.spec
        try:
            img = ctx.images.get(spec.image_id)
        except Exception:
            img = None
        repo, _, tag = spec.image.rpartition(":") if ":" in spec.image.rsplit("/", 1)[-1] \
            else (spec.image, "", "latest")
        rows.append({"ContainerName": o.name, "Repository": repo or spec.image,
                     "Tag": tag or "latest", "ID": spec.image_id,
                     "Size": img.size if img else 0,
                     "Platform": f"{img.os}/{img.architecture}" if img else ""})
    if quiet:
        for r in dict.fromkeys(r["ID"] for r in rows):
            click.echo(r)
    elif fmt == "json":
        click.echo(json.dumps(rows))
    else:
        from compose.cli.tables import echo_table

        echo_table(["CONTAINER", "REPOSITORY", "TAG", "PLATFORM", "IMAGE ID", "SIZE"],
                   [[r["ContainerName"], r["Repository"], r["Tag"], r["Platform"],
                     r["ID"].removeprefix("sha256:")[:12], human_size(r["Size"])]
                    for r in rows])
