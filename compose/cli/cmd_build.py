"""``pycompose image build``, ``image bootstrap`` and ``commit`` (also ``container
commit``).  Rendering only: the work is done by ``runtime.build``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from runtime.errors import UsageError


def _paths(ctx: click.Context):
    return ctx.find_root().obj.state_paths()


def parse_kv(values: tuple[str, ...], what: str) -> dict[str, str]:
    """``KEY=VALUE`` options (``--build-arg``, ``--label``); a bare ``KEY`` takes the
    value from the environment, as docker does."""
    import os

    out: dict[str, str] = {}
    for item in values:
        key, eq, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid {what} {item!r}", hint=f"Write {what} KEY=VALUE.")
        if not eq:
            # docker: --build-arg KEY takes the value from the environment, if set
            if key in os.environ:
                out[key] = os.environ[key]
            continue
        out[key] = value
    return out


@click.command("build")
@click.option("-t", "--tag", "tags", multiple=True, metavar="NAME[:TAG]",
              help="Name and optionally a tag for the image (repeatable).")
@click.option("-f", "--file", "dockerfile", metavar="PATH",
              help="Name of the Dockerfile (default: CONTEXT/Dockerfile); '-' reads stdin.")
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY=VALUE",
              help="Set a build-time variable (repeatable).")
@click.option("--target", help="Build this stage (and the stages it needs) only.")
@click.option("--no-cache", is_flag=True, help="Do not use the build cache.")
@click.option("--pull", is_flag=True, help="Always look for a newer base image.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the image ID.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE",
              help="Set metadata on the image (repeatable).")
@click.option("--network", default="default", show_default=True,
              type=click.Choice(["default", "host", "none"]),
              help="Network for RUN instructions.")
@click.option("--add-host", "add_hosts", multiple=True, metavar="HOST:IP",
              help="Add a custom host-to-IP mapping for RUN.")
@click.argument("context", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def image_build(ctx, tags, dockerfile, build_args, target, no_cache, pull, quiet, labels,
                network, add_hosts, context):
    """Build an image from a Dockerfile."""
    from runtime.build.engine import Builder, BuildRequest
    from runtime.build.events import ignore, render_plain

    paths = _paths(ctx)
    text = None
    df_path = None
    if dockerfile == "-":
        text = sys.stdin.read()
    elif dockerfile:
        df_path = Path(dockerfile)
    hosts = []
    for h in add_hosts:
        name, sep, ip = h.partition(":")
        if not sep or not name or not ip:
            raise UsageError(f"invalid --add-host {h!r}", hint="Write --add-host NAME:IP.")
        hosts.append((name, ip))
    req = BuildRequest(context=context, dockerfile=df_path, dockerfile_text=text,
                       tags=tuple(tags), build_args=parse_kv(build_args, "--build-arg"),
                       target=target, no_cache=no_cache, pull=pull,
                       labels=parse_kv(labels, "--label"), network=network,
                       extra_hosts=tuple(hosts))
    progress = ctx.find_root().obj.progress
    sink = ignore if quiet or progress == "quiet" else render_plain(
        lambda line: click.echo(line, err=True))
    builder = Builder(paths, sink)
    import time

    t0 = time.monotonic()
    result = builder.build(req)
    if quiet:
        click.echo(result.image.id)
        return
    click.echo(f"#{builder._step_no + 1} writing image {result.image.id} "
               f"({result.steps} steps, {result.cached} cached, "
               f"{time.monotonic() - t0:.2f}s)", err=True)
    for t in result.image.references:
        click.echo(f"#{builder._step_no + 1} naming to {t}", err=True)
    click.echo(result.image.id)


@click.command("bootstrap")
@click.option("--mirror", metavar="URL",
              help="Debian mirror (default: the host's configured apt sources).")
@click.option("--include", "include", multiple=True, metavar="PKG",
              help="Extra packages to install (repeatable).")
@click.argument("reference", metavar="debian:SUITE[-slim]")
@click.pass_context
def image_bootstrap(ctx, mirror, include, reference):
    """Make a Debian base image offline with mmdebstrap (no registry needed)."""
    from runtime.build.bootstrap import bootstrap

    click.echo(f"bootstrapping {reference} with mmdebstrap (takes a few minutes)...",
               err=True)
    img = bootstrap(_paths(ctx), reference, mirror=mirror, include=tuple(include))
    click.echo(img.id)


@click.command("commit")
@click.option("-m", "--message", default="", help="Commit message.")
@click.option("-a", "--author", default="", help='Author (e.g. "Jane <jane@example.com>").')
@click.option("-c", "--change", "changes", multiple=True, metavar="INSTRUCTION",
              help="Apply a Dockerfile instruction to the image config (repeatable).")
@click.option("-p", "--pause", is_flag=True, default=True, hidden=True,
              help="Accepted for docker compatibility (containers are not paused).")
@click.argument("container")
@click.argument("reference", metavar="[REPOSITORY[:TAG]]", required=False)
@click.pass_context
def commit(ctx, message, author, changes, pause, container, reference):
    """Create a new image from a container's changes."""
    from runtime.build.commit import commit_container

    img = commit_container(_paths(ctx), container, reference, message=message,
                           author=author, changes=changes)
    click.echo(img.id)


@click.group("builder")
def builder() -> None:
    """Manage the build cache."""


@builder.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_context
def builder_prune(ctx, force):
    """Remove the build cache (step cache, RUN cache mounts, context hash memo)."""
    from runtime.build.cache import prune_build_cache

    if not force and not click.confirm("WARNING! This will remove all build cache. "
                                       "Are you sure you want to continue?", default=False):
        return
    entries, reclaimed = prune_build_cache(_paths(ctx))
    click.echo(f"Deleted build cache objects: {entries}")
    click.echo(f"Total reclaimed space: {reclaimed / 1e6:.3g}MB")
