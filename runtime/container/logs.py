"""Reading json-file logs: ``--tail``, ``--since``/``--until``, ``-t``, ``-f``.

Rotated files (``<id>-json.log.N``, N=1 newest) are read oldest first.  ``follow``
keeps reading the live file, re-opening it when the shim rotates it, until the
container is no longer running and everything written has been read.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runtime.container.store import ContainerStore
from runtime.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class LogEntry:
    stream: str
    time: str          # RFC 3339 with nanoseconds, UTC
    data: bytes


def parse_time(value: str | None) -> str | None:
    """Docker accepts RFC 3339 times, Unix timestamps and relative durations (10m)."""
    if not value:
        return None
    import datetime as dt

    from runtime.container.statefile import now_rfc3339

    units = {"s": 1, "m": 60, "h": 3600}
    if value[-1] in units and value[:-1].replace(".", "", 1).isdigit():
        return now_rfc3339(time.time_ns() - int(float(value[:-1]) * units[value[-1]] * 1e9))
    try:
        return now_rfc3339(int(float(value) * 1e9))
    except ValueError:
        pass
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"invalid time {value!r}",
                                hint="use RFC 3339 (2024-01-02T15:04:05Z), a Unix "
                                     "timestamp, or a duration like 10m") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return now_rfc3339(int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000)


def _files(log: Path) -> list[Path]:
    rotated = sorted((p for p in log.parent.glob(log.name + ".*") if p.suffix[1:].isdigit()),
                     key=lambda p: -int(p.suffix[1:]))
    return [*rotated, log]


def _parse(line: bytes) -> LogEntry | None:
    try:
        d = json.loads(line)
        return LogEntry(d["stream"], d["time"], d["log"].encode())
    except (ValueError, KeyError):
        return None


def read_logs(store: ContainerStore, cid: str, *, tail: int | None = None,
              since: str | None = None, until: str | None = None,
              follow: bool = False) -> Iterator[LogEntry]:
    since_t, until_t = parse_time(since), parse_time(until)
    log = store.dir(cid) / f"{cid}-json.log"

    def keep(e: LogEntry) -> bool:
        return (since_t is None or e.time >= since_t) and (until_t is None or e.time <= until_t)

    entries: Iterator[LogEntry] | deque[LogEntry]
    entries = (e for f in _files(log) for e in _read_file(f) if keep(e))
    if tail is not None and tail >= 0:
        entries = deque(entries, maxlen=tail) if tail else deque()
    yield from entries
    if follow:
        yield from _follow(store, cid, log, keep)


def _read_file(path: Path) -> Iterator[LogEntry]:
    try:
        with open(path, "rb") as f:
            for line in f:
                e = _parse(line)
                if e is not None:
                    yield e
    except FileNotFoundError:
        return


def _follow(store: ContainerStore, cid: str, log: Path, keep) -> Iterator[LogEntry]:
    try:
        f = open(log, "rb")  # noqa: SIM115 - reopened on rotation
    except FileNotFoundError:
        return
    f.seek(0, os.SEEK_END)
    ino = os.fstat(f.fileno()).st_ino
    buf = b""
    idle = 0.01
    try:
        while True:
            chunk = f.read()
            if chunk:
                idle = 0.01
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    e = _parse(line)
                    if e is not None and keep(e):
                        yield e
                continue
            try:
                st = os.stat(log)
            except FileNotFoundError:
                return  # container removed
            if st.st_ino != ino or st.st_size < f.tell():  # rotated or truncated
                f.close()
                f = open(log, "rb")  # noqa: SIM115
                ino = os.fstat(f.fileno()).st_ino
                continue
            status = store.load(cid).state.get("status")
            if status not in ("running", "restarting", "paused"):
                chunk = f.read()
                if not chunk:
                    return
                buf += chunk
                continue
            time.sleep(idle)
            idle = min(idle * 2, 0.2)
    finally:
        f.close()
