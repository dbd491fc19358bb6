"""``pycompose events``: container events of the project as they happen."""

from __future__ import annotations

import datetime
import json

import click

from compose.cli.project_cmd import load, make_context


@click.command("events")
@click.argument("services", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Output events as a stream of json.")
@click.pass_obj
def events(obj, services, as_json):
    """Receive real time events from containers."""
    from compose.project.events import watch

    project = load(obj)
    for s in services:
        project.service(s)
    ctx = make_context(obj, project)
    for e in watch(ctx, tuple(services)):
        ts = datetime.datetime.fromtimestamp(e.time, datetime.UTC).isoformat(
            timespec="microseconds").replace("+00:00", "Z")
        attrs = {"image": e.image, "name": e.name}
        if e.exit_code is not None and e.action == "die":
            attrs["exitCode"] = str(e.exit_code)
        if as_json:
            click.echo(json.dumps({"time": ts, "type": "container", "action": e.action,
                                   "id": e.id, "service": e.service,
                                   "attributes": attrs}))
        else:
            attr_s = ", ".join(f"{k}={v}" for k, v in attrs.items())
            click.echo(f"{ts} container {e.action} {e.id} ({attr_s})")
