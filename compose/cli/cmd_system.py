"""``pycompose system ...``: host-level commands (``check``: what this kernel offers)."""

from __future__ import annotations

import click


@click.group("system")
def system() -> None:
    """Host-level information and checks."""


@system.command("check")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--cgroup-root", default="/sys/fs/cgroup", show_default=True, hidden=True)
def check(fmt: str, cgroup_root: str) -> None:
    """Report the kernel features pycompose uses and what each missing one disables.

    Exits with status 5 when something every container needs is missing.
    """
    from runtime import features
    from runtime.errors import PermissionRequired

    found = features.check(cgroup_root)
    if fmt == "json":
        import json

        click.echo(json.dumps({"features": [f.to_json() for f in found],
                               "ok": not features.missing_required(found)}, indent=2))
    else:
        width = max(len(f.name) for f in found)
        for f in found:
            mark = "ok" if f.present else ("MISSING" if f.required else "missing")
            line = f"{f.name:<{width}}  {mark:<7}  {f.detail}"
            click.echo(line.rstrip())
            if not f.present and f.disables:
                click.echo(f"{'':<{width}}           disables: {f.disables}")
    missing = features.missing_required(found)
    if missing:
        raise PermissionRequired(
            "required features missing: " + ", ".join(f.name for f in missing),
            hint="run as root on a Linux host with namespaces, overlayfs and cgroups")


def _register_more() -> None:
    from compose.cli.cmd_system_more import df, info, prune

    for cmd in (info, df, prune):
        system.add_command(cmd)


_register_more()
