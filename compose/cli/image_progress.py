"""Render pull/push progress events: a rich bar per layer on a TTY, plain lines otherwise.

The events (``runtime.images.pull.PullEvent``) arrive from worker threads.
"""

from __future__ import annotations

import sys
import threading

import click


class PlainRenderer:
    """One line per status change (Downloading lines only at 25 % steps)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._last: dict[tuple[str, str | None], tuple[str, int]] = {}
        self._lock = threading.Lock()

    def __call__(self, ev) -> None:
        if self.quiet:
            return
        with self._lock:
            key = (ev.ref, ev.id)
            if ev.status in ("Downloading", "Pushing"):
                step = int(4 * ev.current / ev.total) if ev.total else 0
                prev = self._last.get(key)
                if prev and prev[0] == ev.status and prev[1] == step:
                    return
                self._last[key] = (ev.status, step)
                pct = f" {100 * ev.current // ev.total}%" if ev.total else ""
                click.echo(f"{ev.id}: {ev.status}{pct}")
                return
            self._last[key] = (ev.status, -1)
            if ev.id is None:
                if ev.status == "Digest":
                    click.echo(f"Digest: {ev.detail}")
                elif ev.status == "Status":
                    click.echo(f"Status: {ev.detail}")
                elif ev.status == "Resolving":
                    click.echo(f"{ev.ref}: Pulling from {ev.ref.rsplit(':', 1)[0]}")
                return
            detail = f" ({ev.detail})" if ev.detail and ev.status == "Retrying" else ""
            click.echo(f"{ev.id}: {ev.status}{detail}")

    def close(self) -> None:
        pass


class RichRenderer:
    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(TextColumn("{task.fields[lid]}"),
                                 TextColumn("{task.description:<16}"), BarColumn(),
                                 DownloadColumn(), TransferSpeedColumn(), transient=False)
        self.tasks: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.progress.start()

    def __call__(self, ev) -> None:
        with self._lock:
            if ev.id is None:
                if ev.status in ("Digest", "Status"):
                    self.progress.console.print(f"{ev.status}: {ev.detail}")
                return
            key = (ev.ref, ev.id)
            if key not in self.tasks:
                self.tasks[key] = self.progress.add_task(ev.status, total=ev.total or None,
                                                         lid=ev.id)
            tid = self.tasks[key]
            done = ev.status in ("Pull complete", "Already exists", "Pushed",
                                 "Layer already exists")
            self.progress.update(tid, description=ev.status,
                                 completed=ev.total if done and ev.total else ev.current,
                                 total=ev.total or None)

    def close(self) -> None:
        self.progress.stop()


def renderer(mode: str = "auto", quiet: bool = False):
    if quiet or mode == "quiet":
        return PlainRenderer(quiet=True)
    if mode == "tty" or (mode == "auto" and sys.stdout.isatty()):
        return RichRenderer()
    return PlainRenderer()
