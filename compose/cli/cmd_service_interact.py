"""Compose verbs on a service's containers: ``exec``, ``top``, ``pause``, ``unpause``,
``cp``, ``stats`` (the ``container ...`` forms live in ``cmd_interact``)."""

from __future__ import annotations

import sys

import click

from compose.cli.project_cmd import load, make_context


def _container(ctx, service: str, index: int = 1):
    from compose.project.lifecycle import selected
    from runtime.errors import NotFoundError

    found = [o for o in selected(ctx, [service]) if o.number == index]
    if not found:
        raise NotFoundError(f"service {service!r} is not running"
                            if index == 1 else f"service {service!r} has no container "
                            f"with index {index}",
                            hint="start it with: pycompose up -d " + service)
    return found[0]


@click.command("exec", context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True)
@click.option("-e", "--env", multiple=True, metavar="KEY=VAL")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="Disable pseudo-TTY allocation.")
@click.option("-u", "--user", default=None)
@click.option("-w", "--workdir", default=None)
@click.option("--index", type=int, default=1)
@click.option("--privileged", is_flag=True)
@click.argument("service")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_obj
def exec_(obj, detach, env, no_tty, user, workdir, index, privileged, service, command):
    """Execute a command in a running service container."""
    project = load(obj)
    ctx = make_context(obj, project)
    target = _container(ctx, service, index)
    rt = ctx.runtime
    if detach:
        res = rt.containers.exec(target.id, command, user=user, workdir=workdir, env=env,
                                 detach=True, privileged=privileged)
        return res.exit_code
    tty = not no_tty and sys.stdin.isatty() and sys.stdout.isatty()
    sys.stdout.flush()
    return rt.containers.exec_attached(
        target.id, command, user=user, workdir=workdir, env=env, tty=tty,
        stdin_fd=sys.stdin.fileno(), stdout_fd=sys.stdout.fileno(),
        stderr_fd=sys.stderr.fileno(), privileged=privileged)


@click.command("top")
@click.argument("services", nargs=-1)
@click.pass_obj
def top(obj, services):
    """Display the running processes of service containers."""
    from compose.cli.tables import echo_table
    from compose.project.lifecycle import selected

    project = load(obj)
    ctx = make_context(obj, project)
    for o in selected(ctx, services):
        if not o.running:
            continue
        titles, rows = ctx.runtime.containers.top(o.id)
        click.echo(o.name)
        echo_table(titles, rows)
        click.echo()


def _each(obj, services, verb: str, status) -> None:
    from compose.cli.project_cmd import operation
    from compose.events import Kind
    from compose.project.lifecycle import selected

    project = load(obj)
    with operation(obj, project, verb) as ctx:
        for o in selected(ctx, services):
            getattr(ctx.runtime.containers, verb)(o.id)
            ctx.bus.status(Kind.CONTAINER, o.name, status)


@click.command("pause")
@click.argument("services", nargs=-1)
@click.pass_obj
def pause(obj, services):
    """Pause services (cgroup freezer)."""
    from compose.events import Status

    _each(obj, services, "pause", Status.INFO)


@click.command("unpause")
@click.argument("services", nargs=-1)
@click.pass_obj
def unpause(obj, services):
    """Unpause services."""
    from compose.events import Status

    _each(obj, services, "unpause", Status.INFO)


@click.command("cp")
@click.option("-a", "--archive", is_flag=True)
@click.option("-L", "--follow-link", is_flag=True)
@click.option("--index", type=int, default=1)
@click.argument("src")
@click.argument("dst")
@click.pass_obj
def cp(obj, archive, follow_link, index, src, dst):
    """Copy files between a service container and the local filesystem
    (``SERVICE:PATH``)."""
    from runtime.errors import UsageError

    def split(arg: str):
        if arg.startswith(("/", ".")) or ":" not in arg:
            return None, arg
        svc, _, path = arg.partition(":")
        return svc, path

    s_svc, s_path = split(src)
    d_svc, d_path = split(dst)
    if (s_svc is None) == (d_svc is None):
        raise UsageError("copying between services or between local paths is not supported",
                         hint="one of SRC and DEST must be SERVICE:PATH")
    project = load(obj)
    ctx = make_context(obj, project)
    if s_svc is not None:
        target = _container(ctx, s_svc, index)
        ctx.runtime.containers.copy_from(target.id, s_path, d_path, archive, follow_link)
    else:
        target = _container(ctx, d_svc, index)
        ctx.runtime.containers.copy_to(target.id, s_path, d_path, archive)


@click.command("stats")
@click.argument("services", nargs=-1)
@click.option("-a", "--all", "all_", is_flag=True)
@click.option("--no-stream", is_flag=True)
@click.option("--format", "fmt", default=None)
@click.pass_obj
def stats(obj, services, all_, no_stream, fmt):
    """Display a live stream of the services' resource usage."""
    from compose.cli.cmd_interact import stream_stats
    from compose.project.lifecycle import selected

    project = load(obj)
    ctx = make_context(obj, project)
    refs = [o.id for o in selected(ctx, services) if all_ or o.running]
    stream_stats(ctx.runtime, refs, no_stream=no_stream, fmt=fmt)
