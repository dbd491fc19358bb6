"""Attached ``up``: interleaved logs until the containers exit; Ctrl-C stops the
project gracefully (a second Ctrl-C kills).  Exit codes as ``docker compose``:
0 after Ctrl-C or when all containers exited; with ``--abort-on-container-exit`` the
code of the container that stopped first; with ``--exit-code-from`` that service's."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence

import click

from compose import labels
from compose.cli.logprinter import LogPrinter
from compose.cli.project_cmd import make_context
from compose.project.naming import display_name


def _selected(recs, attach: Sequence[str], no_attach: Sequence[str], project) -> list:
    out = []
    for rec in recs:
        service = dict(rec.spec.labels).get(labels.SERVICE, "")
        svc = project.services.get(service)
        if attach and service not in attach:
            continue
        if service in no_attach or (svc is not None and not svc.attach and not attach):
            continue
        out.append(rec)
    return out


def run_attached(obj, project, ids: Sequence[str], *, attach=(), no_attach=(),
                 abort_on_exit: bool = False, exit_code_from: str | None = None,
                 timeout: float | None = None, prefix: bool = True, color: bool = True,
                 timestamps: bool = False) -> int:
    ctx = make_context(obj, project)
    recs = [ctx.containers.get(cid) for cid in ids]
    shown = _selected(recs, attach, no_attach, project)
    names = {rec.id: display_name(project.name, rec.name) for rec in recs}
    color = color and obj.ansi != "never" and not os.environ.get("NO_COLOR") and (
        obj.ansi == "always" or click.get_text_stream("stdout").isatty())
    printer = LogPrinter(names.values(), color=color, prefix=prefix, timestamps=timestamps)
    click.echo("Attaching to " + ", ".join(sorted(names[r.id] for r in shown)))
    exits: queue.Queue = queue.Queue()

    def follow(rec) -> None:
        try:
            if rec in shown:
                for entry in ctx.containers.logs(rec.id, follow=True, tail=-1):
                    printer.line(names[rec.id], entry.data, stream=entry.stream,
                                 time=entry.time)
            code = ctx.containers.wait(rec.id)
        except Exception as err:  # the container was removed under us
            exits.put((rec, None, err))
            return
        exits.put((rec, code, None))

    for rec in recs:
        threading.Thread(target=follow, args=(rec,), daemon=True).start()

    remaining = {rec.id for rec in recs}
    result = 0
    try:
        while remaining:
            try:
                rec, code, err = exits.get(timeout=0.2)
            except queue.Empty:
                continue
            remaining.discard(rec.id)
            name = names[rec.id]
            if err is None:
                printer.event(name, f"{name} exited with code {code}")
            service = dict(rec.spec.labels).get(labels.SERVICE)
            if exit_code_from and service == exit_code_from:
                result = code or 0
            if abort_on_exit:
                if not exit_code_from:
                    result = code or 0
                click.echo("Aborting on container exit...", err=True)
                _stop_all(obj, project, timeout)
                break
    except KeyboardInterrupt:
        click.echo("Gracefully Stopping... press Ctrl+C again to force", err=True)
        try:
            _stop_all(obj, project, timeout)
        except KeyboardInterrupt:
            _stop_all(obj, project, 0)
        return 0
    if exit_code_from and remaining:
        # The service to take the code from is still stopping: wait for it.
        for rec in recs:
            if dict(rec.spec.labels).get(labels.SERVICE) == exit_code_from:
                result = ctx.containers.wait(rec.id)
    return result


def _stop_all(obj, project, timeout: float | None) -> None:
    from compose.cli.project_cmd import operation, run_async
    from compose.project.lifecycle import stop

    with operation(obj, project, "stop") as ctx:
        run_async(stop, ctx, (), timeout)
