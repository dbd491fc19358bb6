"""``pycompose graph``: the service dependency graph."""

from __future__ import annotations

import click


@click.command("graph")
@click.argument("services", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "dot", "mermaid"]),
              default="text", show_default=True, help="Output format.")
@click.pass_obj
def graph(g, services: tuple[str, ...], fmt: str) -> None:
    """Print the service dependency graph (a tree, Graphviz dot or Mermaid)."""
    from compose.graph import ServiceGraph
    from compose.loader import options_from_globals
    from compose.project_loader import load_project, select_services

    project = load_project(options_from_globals(g), services)
    if services:
        project = select_services(project, services)
    sg = ServiceGraph(project)
    text = {"text": sg.to_text, "dot": sg.to_dot, "mermaid": sg.to_mermaid}[fmt]()
    click.echo(text, nl=False)
