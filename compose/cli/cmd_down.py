"""``pycompose down``."""

from __future__ import annotations

import click

from compose.cli.project_cmd import load, operation, run_async


@click.command("down")
@click.option("-v", "--volumes", is_flag=True,
              help="Remove named volumes declared in the file and anonymous volumes.")
@click.option("--remove-orphans", is_flag=True)
@click.option("--rmi", type=click.Choice(["local", "all"]), default=None)
@click.option("-t", "--timeout", type=float, default=None, help="Shutdown timeout (s).")
@click.pass_obj
def down(obj, volumes, remove_orphans, rmi, timeout):
    """Stop and remove containers, networks (and with -v, volumes)."""
    from compose.project.down import DownOptions
    from compose.project.down import down as do_down

    project = load(obj)
    with operation(obj, project, "down") as ctx:
        run_async(do_down, ctx, DownOptions(volumes=volumes, remove_orphans=remove_orphans,
                                            rmi=rmi, timeout=timeout))
