"""Which test stacks are alive, so a killed test session's stacks get cleaned up.

There is no daemon and no reaper container: a stack started by the testing API (with
``record=True``, as the pytest plugin does) writes ``<root>/testing/stacks/<project>.json``
naming its owner process (pid + start time, so a recycled pid is not mistaken for the
owner) and how to load the project again.  ``down`` removes the record.  When pytest is
killed (SIGKILL, OOM, a CI job cancelled) the record stays; the next session calls
:func:`reap_stale`, which brings down every recorded stack whose owner is gone.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from runtime.fsutil import atomic_write_json
from runtime.paths import StatePaths


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # field 22: starttime (clock ticks)


def owner_alive(pid: int, start_time: str | None) -> bool:
    now = _start_time(pid)
    return now is not None and (start_time is None or now == start_time)


@dataclass
class StackRecord:
    project: str
    files: list[str]
    project_dir: str | None = None
    profiles: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    pid: int = 0
    start_time: str | None = None
    keep: bool = False          # --pycompose-keep: left up on purpose, never reaped


def _dir(paths: StatePaths) -> Path:
    return paths.root / "testing" / "stacks"


def write_record(paths: StatePaths, rec: StackRecord) -> None:
    if not rec.pid:
        rec.pid = os.getpid()
        rec.start_time = _start_time(rec.pid)
    d = _dir(paths)
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_json(d / f"{rec.project}.json", asdict(rec))


def remove_record(paths: StatePaths, project: str) -> None:
    try:
        (_dir(paths) / f"{project}.json").unlink()
    except FileNotFoundError:
        pass


def records(paths: StatePaths) -> list[StackRecord]:
    out = []
    for f in sorted(_dir(paths).glob("*.json")) if _dir(paths).is_dir() else []:
        try:
            out.append(StackRecord(**json.loads(f.read_text())))
        except (OSError, ValueError, TypeError):
            continue
    return out


def stale(paths: StatePaths) -> list[StackRecord]:
    return [r for r in records(paths) if not r.keep and not owner_alive(r.pid, r.start_time)]


def reap_stale(paths: StatePaths) -> list[str]:
    """``down -v`` every recorded stack whose owner process is gone; returns their names."""
    from compose.testing.stack import Stack

    done = []
    for rec in stale(paths):
        Stack.from_record(rec, paths).down(volumes=True)
        remove_record(paths, rec.project)
        done.append(rec.project)
    return done
