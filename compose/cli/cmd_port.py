"""``pycompose port`` and ``pycompose wait`` (compose)."""

from __future__ import annotations

import click

from compose.cli.project_cmd import load, make_context


@click.command("port")
@click.argument("service")
@click.argument("private_port")
@click.option("--protocol", default="tcp", type=click.Choice(["tcp", "udp", "sctp"]))
@click.option("--index", type=int, default=1, help="Index of the container (replicas).")
@click.pass_obj
def port(obj, service, private_port, protocol, index):
    """Print the public port for a port binding."""
    from compose.project.lifecycle import selected
    from runtime.errors import NotFoundError

    project = load(obj)
    ctx = make_context(obj, project)
    found = [o for o in selected(ctx, [service]) if o.number == index]
    if not found:
        raise NotFoundError(f"no container found for {service}_{index}")
    number, _, proto = private_port.partition("/")
    bindings = ctx.networks.port(found[0].id, int(number), proto or protocol)
    if not bindings:
        raise NotFoundError(f"no port {private_port}/{proto or protocol} published for "
                            f"{found[0].name}")
    b = bindings[0]
    click.echo(f"{b.host_ip or '0.0.0.0'}:{b.host_port}")


@click.command("wait")
@click.argument("services", nargs=-1, required=True)
@click.option("--down-project", is_flag=True, help="Drop the project when the first "
              "container stops.")
@click.pass_obj
def wait(obj, services, down_project):
    """Block until the first service container stops; exit with its code."""
    import queue
    import threading

    from compose.project.lifecycle import selected

    project = load(obj)
    ctx = make_context(obj, project)
    found = selected(ctx, services)
    q: queue.Queue = queue.Queue()
    for o in found:
        threading.Thread(target=lambda o=o: q.put(ctx.containers.wait(o.id)),
                         daemon=True).start()
    code = q.get() if found else 0
    if down_project:
        from compose.cli.project_cmd import operation, run_async
        from compose.project.down import DownOptions, down

        with operation(obj, project, "down") as octx:
            run_async(down, octx, DownOptions())
    return code
