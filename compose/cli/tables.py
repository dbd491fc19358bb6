"""Plain-text tables as docker prints them (tabwriter: columns padded, 3 spaces apart)."""

from __future__ import annotations

from collections.abc import Sequence

import click


def render_table(titles: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    table = [[str(c) for c in titles], *[[str(c) for c in r] for r in rows]]
    n = len(titles)
    widths = [max(len(r[i]) if i < len(r) else 0 for r in table) for i in range(n)]
    return ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()
            for r in table]


def echo_table(titles: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    for line in render_table(titles, rows):
        click.echo(line)
