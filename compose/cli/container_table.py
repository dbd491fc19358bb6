"""Rendering ``container ls`` rows: Docker's table, ``--format json`` lines, ``-q``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator


def parse_rfc3339(value: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 UTC time with nanoseconds."""
    if not value or value.startswith("0001-"):
        return None
    import calendar

    date, _, frac = value.rstrip("Z").partition(".")
    t = time.strptime(date, "%Y-%m-%dT%H:%M:%S")
    return calendar.timegm(t) + (float("0." + frac) if frac else 0.0)


def human_duration(seconds: float) -> str:
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = round(s / 60)
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    return f"{round(h / 24)} days"


def human_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g}{unit}" if unit != "B" else f"{n}B"
        n /= 1000  # type: ignore[assignment]
    return f"{n}B"


def status_text(state: dict, now: float | None = None) -> str:
    now = time.time() if now is None else now
    st = state.get("status", "created")
    if st in ("running", "paused"):
        started = parse_rfc3339(state.get("started_at", ""))
        up = f"Up {human_duration(now - started)}" if started else "Up"
        if st == "paused":
            return up + " (Paused)"
        return up + health_suffix(state)
    if st == "restarting":
        finished = parse_rfc3339(state.get("finished_at", ""))
        ago = f" {human_duration(now - finished)} ago" if finished else ""
        return f"Restarting ({state.get('exit_code', 0)}){ago}"
    if st == "exited":
        finished = parse_rfc3339(state.get("finished_at", ""))
        ago = f" {human_duration(now - finished)} ago" if finished else ""
        return f"Exited ({state.get('exit_code', 0)}){ago}"
    return st.capitalize()


def health_suffix(state: dict) -> str:
    """`` (healthy)``, `` (health: starting)``, `` (unhealthy)`` as ``docker ps``."""
    status = (state.get("health") or {}).get("Status")
    if status == "starting":
        return " (health: starting)"
    return f" ({status})" if status in ("healthy", "unhealthy") else ""


def _command(args: tuple[str, ...], no_trunc: bool) -> str:
    cmd = " ".join(args)
    if not no_trunc and len(cmd) > 20:
        cmd = cmd[:19] + "…"
    return f'"{cmd}"'


def render(rows, quiet: bool = False, fmt: str | None = None, size: bool = False,
           no_trunc: bool = False) -> Iterator[str]:
    now = time.time()
    if quiet:
        for r in rows:
            yield r.record.id if no_trunc else r.record.id[:12]
        return
    items = []
    for r in rows:
        rec = r.record
        created = parse_rfc3339(rec.created)
        item = {
            "ID": rec.id if no_trunc else rec.id[:12],
            "Image": rec.spec.image,
            "Command": _command(rec.spec.process.args, no_trunc),
            "CreatedAt": rec.created,
            "RunningFor": f"{human_duration(now - created)} ago" if created else "",
            "Status": status_text(rec.state, now),
            "State": rec.status.value,
            "Ports": "",
            "Names": rec.name,
            "Labels": ",".join(f"{k}={v}" for k, v in rec.spec.labels),
            "Networks": rec.spec.network.kind,
            "Mounts": ",".join(m.source or m.target for m in rec.spec.mounts),
        }
        if size:
            item["Size"] = f"{human_size(r.size_rw or 0)} (virtual " \
                           f"{human_size(r.size_root_fs or 0)})"
        items.append(item)
    if fmt == "json":
        for item in items:
            yield json.dumps(item)
        return
    cols = ["ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names"]
    heads = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    if size:
        cols.append("Size")
        heads.append("SIZE")
    table = [heads] + [[str(it[c]) for c in cols] for it in items]
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    for row in table:
        yield "   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
