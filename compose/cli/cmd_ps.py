"""``pycompose ps``: the project's containers (compose's columns)."""

from __future__ import annotations

import json
import time

import click

from compose.cli.project_cmd import load, make_context


def _health(rec) -> str:
    if rec.spec.healthcheck is None:
        return ""
    return (rec.state.get("health") or {}).get("Status", "starting")


def _ports(ctx, rec) -> tuple[str, list[dict]]:
    try:
        bindings = ctx.networks.port(rec.id) if ctx.paths.networks.is_dir() else []
    except Exception:
        bindings = []
    shown, pubs = [], []
    for b in bindings:
        ip = b.host_ip or "0.0.0.0"
        shown.append(f"{ip}:{b.host_port}->{b.container_port}/{b.protocol}")
        pubs.append({"URL": ip, "TargetPort": b.container_port,
                     "PublishedPort": b.host_port, "Protocol": b.protocol})
    return ", ".join(shown), pubs


@click.command("ps")
@click.argument("services", nargs=-1)
@click.option("-a", "--all", "all_", is_flag=True, help="Show all stopped containers.")
@click.option("-q", "--quiet", is_flag=True, help="Only display IDs.")
@click.option("--services", "only_services", is_flag=True, help="Display services.")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["paused", "restarting", "removing", "running", "dead",
                                 "created", "exited"]))
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE")
@click.option("--format", "fmt", default="table", help="table or json.")
@click.option("--no-trunc", is_flag=True)
@click.pass_obj
def ps(obj, services, all_, quiet, only_services, statuses, filters, fmt, no_trunc):
    """List containers of the project."""
    from compose.cli.container_table import human_duration, parse_rfc3339, status_text
    from compose.project.lifecycle import selected

    project = load(obj)
    ctx = make_context(obj, project)
    found = selected(ctx, services, oneoff=None if all_ else False)
    for f in filters:
        key, _, value = f.partition("=")
        if key == "status":
            statuses = (*statuses, value)
        else:
            from runtime.errors import UsageError

            raise UsageError(f"invalid filter {f!r}", hint="supported: status=<state>")
    if statuses:
        found = [o for o in found if o.status in statuses]
    elif not all_:
        found = [o for o in found if o.running]
    if only_services:
        for name in dict.fromkeys(o.service for o in found):
            click.echo(name)
        return
    if quiet:
        for o in found:
            click.echo(o.id)
        return
    now = time.time()
    rows = []
    for o in found:
        rec = o.record
        ports, pubs = _ports(ctx, rec)
        created = parse_rfc3339(rec.created) or now
        status = status_text(rec.state, now)
        health = _health(rec)
        cmd = " ".join(rec.spec.process.args)
        if not no_trunc and len(cmd) > 20:
            cmd = cmd[:19] + "…"
        rows.append({
            "ID": rec.id, "Name": rec.name, "Image": rec.spec.image,
            # Quoted like Go's strconv.Quote, as docker shows it:
            "Command": json.dumps(cmd, ensure_ascii=False),
            "Project": project.name, "Service": o.service,
            "Created": int(created), "RunningFor": f"{human_duration(now - created)} ago",
            "State": o.status, "Status": status, "Health": health,
            "ExitCode": rec.state.get("exit_code", 0), "Ports": ports,
            "Publishers": pubs, "Labels": ",".join(f"{k}={v}" for k, v in rec.spec.labels),
        })
    if fmt == "json":
        for r in rows:
            click.echo(json.dumps(r))
        return
    cols = [("NAME", "Name"), ("IMAGE", "Image"), ("COMMAND", "Command"),
            ("SERVICE", "Service"), ("CREATED", "RunningFor"), ("STATUS", "Status"),
            ("PORTS", "Ports")]
    from compose.cli.tables import echo_table

    echo_table([h for h, _ in cols], [[r[k] for _, k in cols] for r in rows])
