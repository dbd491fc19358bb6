"""``pycompose run``: a one-off command on a service (exit code passed through)."""

from __future__ import annotations

import sys

import click

from compose.cli.project_cmd import load, operation, run_async

_CTX = {"allow_interspersed_args": False}


@click.command("run", context_settings=_CTX)
@click.option("-d", "--detach", is_flag=True, help="Run in the background, print the id.")
@click.option("--rm", "auto_remove", is_flag=True, help="Remove the container on exit.")
@click.option("--name", default=None)
@click.option("-e", "--env", "env", multiple=True, metavar="KEY=VAL")
@click.option("-v", "--volume", "volumes", multiple=True)
@click.option("-p", "--publish", multiple=True)
@click.option("-P", "--service-ports", is_flag=True)
@click.option("--entrypoint", default=None)
@click.option("--no-deps", is_flag=True)
@click.option("-u", "--user", default=None)
@click.option("-w", "--workdir", default=None)
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="Disable pseudo-TTY allocation.")
@click.option("-i", "--interactive/--no-interactive", default=True)
@click.option("--build", "build", flag_value=True, default=None)
@click.option("--pull", type=click.Choice(["always", "missing", "never"]), default=None)
@click.argument("service")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def run(obj, detach, auto_remove, name, env, volumes, publish, service_ports, entrypoint,
        no_deps, user, workdir, no_tty, interactive, build, pull, service, command):
    """Run a one-off command on a service."""
    from compose.project.run import RunOptions, create_one_off

    envmap = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep:
            import os

            value = os.environ.get(key, "")
        envmap[key] = value
    stdin_tty = sys.stdin.isatty() and sys.stdout.isatty()
    tty = not detach and not no_tty and stdin_tty
    stdin_open = not detach and interactive and stdin_tty
    project = load(obj, [service])
    opts = RunOptions(service=service, command=tuple(command), entrypoint=entrypoint,
                      env=envmap, volumes=tuple(volumes), publish=tuple(publish),
                      service_ports=service_ports, no_deps=no_deps, name=name, user=user,
                      workdir=workdir, tty=tty, stdin_open=stdin_open,
                      auto_remove=auto_remove, build=build, pull=pull)
    with operation(obj, project, "run") as ctx:
        cid, cname = run_async(create_one_off, ctx, opts)
        rt = ctx.runtime
    if detach:
        rt.containers.start(cid)
        click.echo(cname)
        return 0
    from compose.cli.cmd_container import _attached_start

    return _attached_start(rt, cid, stdin_open, tty, wait_eof=auto_remove)
