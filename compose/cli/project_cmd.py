"""Shared plumbing for the compose commands: load the project, pick the renderer, hold
the project lock, run the async operation."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

import click

from compose.cli.options import GlobalOptions

T = TypeVar("T")


def load(obj: GlobalOptions, services: Sequence[str] = ()):
    """The project model for the global options (all problems reported at once)."""
    from compose.loader import options_from_globals
    from compose.project_loader import load_project

    return load_project(options_from_globals(obj), services)


def make_context(obj: GlobalOptions, project):
    from compose.project.context import ProjectContext

    parallel = obj.parallel
    if parallel is None:
        import os

        env = os.environ.get("COMPOSE_PARALLEL_LIMIT")
        parallel = int(env) if env and env.lstrip("-").isdigit() else None
    if parallel is not None and parallel < 0:
        parallel = None
    return ProjectContext(project=project, paths=obj.state_paths(), parallel=parallel)


@contextlib.contextmanager
def operation(obj: GlobalOptions, project, name: str, *, lock: bool = True
              ) -> Iterator[Any]:
    """A ProjectContext with a renderer subscribed and the project lock held."""
    from compose.project.lock import project_lock
    from compose.render import choose_renderer

    ctx = make_context(obj, project)
    renderer = choose_renderer(obj.progress, operation=name)
    ctx.bus.subscribe(renderer)
    lock_cm = project_lock(ctx.paths, project.name) if lock else contextlib.nullcontext()
    with lock_cm, renderer:
        try:
            yield ctx
        finally:
            ctx.close()


def run_async(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    import anyio

    return anyio.run(fn, *args)


def parse_scale(values: Sequence[str]) -> dict[str, int]:
    out = {}
    for v in values:
        name, sep, num = v.partition("=")
        if not sep or not num.isdigit():
            raise click.BadParameter(f"{v!r}: expected SERVICE=NUM", param_hint="--scale")
        out[name] = int(num)
    return out
