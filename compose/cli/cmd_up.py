"""``pycompose up`` and ``pycompose create``."""

from __future__ import annotations

import click

from compose.cli.project_cmd import load, operation, parse_scale, run_async


@click.command("up")
@click.argument("services", nargs=-1)
@click.option("-d", "--detach", is_flag=True, help="Run containers in the background.")
@click.option("--build", "build", flag_value=True, default=None,
              help="Build images before starting containers.")
@click.option("--no-build", "build", flag_value=False, help="Don't build missing images.")
@click.option("--pull", type=click.Choice(["always", "missing", "never"]), default=None,
              help="Pull images before running.")
@click.option("--quiet-pull", is_flag=True, help="Pull without printing progress.")
@click.option("--force-recreate", is_flag=True)
@click.option("--no-recreate", is_flag=True)
@click.option("--always-recreate-deps", is_flag=True)
@click.option("--no-start", is_flag=True, help="Don't start the services after creating.")
@click.option("--no-deps", is_flag=True, help="Don't start linked services.")
@click.option("--scale", multiple=True, metavar="SERVICE=NUM")
@click.option("--remove-orphans", is_flag=True)
@click.option("-V", "--renew-anon-volumes", is_flag=True)
@click.option("-t", "--timeout", type=float, default=None, help="Shutdown timeout (s).")
@click.option("--wait", is_flag=True, help="Wait for services to be running|healthy.")
@click.option("--wait-timeout", type=float, default=None)
@click.option("--abort-on-container-exit", is_flag=True)
@click.option("--exit-code-from", metavar="SERVICE")
@click.option("--attach", "attach", multiple=True, metavar="SERVICE")
@click.option("--no-attach", "no_attach", multiple=True, metavar="SERVICE")
@click.option("--no-log-prefix", is_flag=True)
@click.option("--no-color", is_flag=True)
@click.option("--timestamps", is_flag=True)
@click.pass_obj
def up(obj, services, detach, build, pull, quiet_pull, force_recreate, no_recreate,
       always_recreate_deps, no_start, no_deps, scale, remove_orphans, renew_anon_volumes,
       timeout, wait, wait_timeout, abort_on_container_exit, exit_code_from, attach,
       no_attach, no_log_prefix, no_color, timestamps):
    """Create and start containers."""
    from compose.project.upcheck import UpOptions, already_up
    from runtime.errors import UsageError

    if force_recreate and no_recreate:
        raise UsageError("--force-recreate and --no-recreate are incompatible")
    if exit_code_from:
        abort_on_container_exit = True
    if detach and abort_on_container_exit:
        raise UsageError("--abort-on-container-exit and -d are incompatible")
    if wait:
        detach = True
    project = load(obj, services)
    opts = UpOptions(services=tuple(services), no_deps=no_deps, build=build, pull=pull,
                     quiet_pull=quiet_pull, force_recreate=force_recreate,
                     no_recreate=no_recreate, always_recreate_deps=always_recreate_deps,
                     no_start=no_start, scale=parse_scale(scale),
                     remove_orphans=remove_orphans, renew_anon_volumes=renew_anon_volumes,
                     timeout=timeout, wait=wait, wait_timeout=wait_timeout)
    with operation(obj, project, "up") as ctx:
        ids = already_up(ctx, opts)
        if ids is None:
            from compose.project.up import up as do_up

            ids = run_async(do_up, ctx, opts)
    if detach or no_start:
        return 0
    from compose.cli.attached import run_attached

    return run_attached(obj, project, ids, attach=attach, no_attach=no_attach,
                        abort_on_exit=abort_on_container_exit,
                        exit_code_from=exit_code_from, timeout=timeout,
                        prefix=not no_log_prefix, color=not no_color,
                        timestamps=timestamps)


@click.command("create")
@click.argument("services", nargs=-1)
@click.option("--build", "build", flag_value=True, default=None)
@click.option("--no-build", "build", flag_value=False)
@click.option("--pull", type=click.Choice(["always", "missing", "never"]), default=None)
@click.option("--quiet-pull", is_flag=True)
@click.option("--force-recreate", is_flag=True)
@click.option("--no-recreate", is_flag=True)
@click.option("--remove-orphans", is_flag=True)
@click.option("--scale", multiple=True, metavar="SERVICE=NUM")
@click.pass_obj
def create(obj, services, build, pull, quiet_pull, force_recreate, no_recreate,
           remove_orphans, scale):
    """Create containers for a service."""
    from compose.project.up import UpOptions
    from compose.project.up import up as do_up

    project = load(obj, services)
    opts = UpOptions(services=tuple(services), build=build, pull=pull, quiet_pull=quiet_pull,
                     force_recreate=force_recreate, no_recreate=no_recreate, no_start=True,
                     remove_orphans=remove_orphans, scale=parse_scale(scale))
    with operation(obj, project, "create") as ctx:
        run_async(do_up, ctx, opts)
