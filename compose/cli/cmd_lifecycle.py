"""``start``, ``stop``, ``restart``, ``kill``, ``rm``, ``pause``/``unpause`` (compose)."""

from __future__ import annotations

import click

from compose.cli.project_cmd import load, operation, run_async


@click.command("start")
@click.argument("services", nargs=-1)
@click.pass_obj
def start(obj, services):
    """Start existing containers."""
    from compose.project.lifecycle import start as do

    project = load(obj)
    with operation(obj, project, "start") as ctx:
        run_async(do, ctx, services)


@click.command("stop")
@click.argument("services", nargs=-1)
@click.option("-t", "--timeout", type=float, default=None)
@click.pass_obj
def stop(obj, services, timeout):
    """Stop services (dependents first)."""
    from compose.project.lifecycle import stop as do

    project = load(obj)
    with operation(obj, project, "stop") as ctx:
        run_async(do, ctx, services, timeout)


@click.command("restart")
@click.argument("services", nargs=-1)
@click.option("-t", "--timeout", type=float, default=None)
@click.pass_obj
def restart(obj, services, timeout):
    """Restart service containers."""
    from compose.project.lifecycle import restart as do

    project = load(obj)
    with operation(obj, project, "restart") as ctx:
        run_async(do, ctx, services, timeout)


@click.command("kill")
@click.argument("services", nargs=-1)
@click.option("-s", "--signal", "sig", default="SIGKILL")
@click.option("--remove-orphans", is_flag=True)
@click.pass_obj
def kill(obj, services, sig, remove_orphans):
    """Force stop service containers."""
    from compose.project.lifecycle import kill as do

    project = load(obj)
    with operation(obj, project, "kill") as ctx:
        run_async(do, ctx, services, sig)


@click.command("rm")
@click.argument("services", nargs=-1)
@click.option("-f", "--force", is_flag=True, help="Don't ask to confirm removal.")
@click.option("-s", "--stop", "stop_first", is_flag=True, help="Stop containers first.")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes too.")
@click.pass_obj
def rm(obj, services, force, stop_first, volumes):
    """Remove stopped service containers."""
    from compose.project.context import ProjectContext
    from compose.project.lifecycle import remove, selected

    project = load(obj)
    if not force:
        ctx = ProjectContext(project=project, paths=obj.state_paths())
        stopped = [o.name for o in selected(ctx, services) if not o.running or stop_first]
        if not stopped:
            click.echo("No stopped containers", err=True)
            return
        if not click.confirm("Going to remove " + ", ".join(stopped) + "\nAre you sure?",
                             err=True):
            return
    with operation(obj, project, "rm") as ctx:
        run_async(lambda: remove(ctx, services, stop_first=stop_first, volumes=volumes))
