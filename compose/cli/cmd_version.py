"""``pycompose version``."""

from __future__ import annotations

import platform

import click


@click.command("version")
@click.option("--format", "fmt", type=click.Choice(["pretty", "json"]), default="pretty")
@click.option("--short", is_flag=True, help="Show only the version number.")
def version(fmt: str, short: bool) -> None:
    """Show the pycompose version information."""
    from compose.cli.main import VERSION

    if short:
        click.echo(VERSION)
    elif fmt == "json":
        import json

        click.echo(json.dumps({"version": VERSION, "python": platform.python_version()}))
    else:
        click.echo(f"pycompose version v{VERSION} (Python {platform.python_version()})")
