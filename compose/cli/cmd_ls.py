"""``pycompose ls``: every project on this host (found from container labels)."""

from __future__ import annotations

import json
from collections import Counter

import click

from compose import labels


@click.command("ls")
@click.option("-a", "--all", "all_", is_flag=True, help="Show stopped projects too.")
@click.option("-q", "--quiet", is_flag=True, help="Only display project names.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--filter", "filters", multiple=True, metavar="name=NAME")
@click.pass_obj
def ls(obj, all_, quiet, fmt, filters):
    """List running compose projects."""
    from compose.project.observe import all_projects
    from runtime.api import Runtime

    rt = Runtime(obj.state_paths())
    rows = []
    for name, found in sorted(all_projects(rt.containers).items()):
        if any(f.startswith("name=") and f[5:] not in name for f in filters):
            continue
        counts = Counter(o.status for o in found)
        if not all_ and not counts.get("running"):
            continue
        status = ", ".join(f"{s}({n})" for s, n in sorted(counts.items()))
        cfg = dict(found[0].record.spec.labels).get(labels.CONFIG_FILES, "")
        rows.append({"Name": name, "Status": status, "ConfigFiles": cfg})
    if quiet:
        for r in rows:
            click.echo(r["Name"])
    elif fmt == "json":
        click.echo(json.dumps(rows))
    else:
        from compose.cli.tables import echo_table

        echo_table(["NAME", "STATUS", "CONFIG FILES"],
                   [[r["Name"], r["Status"], r["ConfigFiles"]] for r in rows])
