"""``pycompose logs``: the services' logs merged in time order (``-f`` follows)."""

from __future__ import annotations

import heapq
import os
import threading

import click

from compose.cli.logprinter import LogPrinter
from compose.cli.project_cmd import load, make_context


@click.command("logs")
@click.argument("services", nargs=-1)
@click.option("-f", "--follow", is_flag=True)
@click.option("-n", "--tail", default="all", help="Lines from the end of each log.")
@click.option("-t", "--timestamps", is_flag=True)
@click.option("--since", default=None)
@click.option("--until", default=None)
@click.option("--no-color", is_flag=True)
@click.option("--no-log-prefix", is_flag=True)
@click.option("--index", type=int, default=None, help="Index of the container (replicas).")
@click.pass_obj
def logs(obj, services, follow, tail, timestamps, since, until, no_color, no_log_prefix,
         index):
    """View output from containers."""
    from compose.project.lifecycle import selected
    from compose.project.naming import display_name

    project = load(obj)
    ctx = make_context(obj, project)
    found = selected(ctx, services, oneoff=None)
    if index is not None:
        found = [o for o in found if o.number == index]
    n = None if tail == "all" else int(tail)
    names = {o.id: display_name(project.name, o.name) for o in found}
    color = not no_color and obj.ansi != "never" and not os.environ.get("NO_COLOR") and (
        obj.ansi == "always" or click.get_text_stream("stdout").isatty())
    printer = LogPrinter(names.values(), color=color, prefix=not no_log_prefix,
                         timestamps=timestamps)
    # Stored output, merged by time across containers.
    def stored(i: int, cid: str):
        for e in ctx.containers.logs(cid, tail=n, since=since, until=until):
            yield e.time, i, e

    streams = [stored(i, o.id) for i, o in enumerate(found)]
    for _, i, entry in heapq.merge(*streams):
        printer.line(names[found[i].id], entry.data, stream=entry.stream, time=entry.time)
    if not follow:
        return
    threads = []
    for o in found:
        def one(o=o) -> None:
            for entry in ctx.containers.logs(o.id, follow=True, tail=0, until=until):
                printer.line(names[o.id], entry.data, stream=entry.stream, time=entry.time)

        t = threading.Thread(target=one, daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        while t.is_alive():
            t.join(0.5)
