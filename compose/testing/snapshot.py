"""Fast reset between tests: snapshot a service's named volumes, put them back later.

``take``: stop the services (gracefully, so databases flush), copy each named volume's
data directory to ``<root>/testing/snapshots/<project>/<volume>``, start them again.
``restore``: SIGKILL the services (their state is about to be thrown away, so there is
nothing to flush), copy the snapshot next to the volume's data directory and swap it in
with two renames, start the services and wait until they are ready.  Copies use
``cp -a --reflink=auto``: copy-on-write clones on btrfs/XFS, a plain copy elsewhere
(hard links are not safe: databases rewrite their files in place).

Compared to ``down``/``up`` this skips creating networks, containers, copy-up and the
database's first-start initialisation; what remains is the process start and its
readiness (see ``bench/fixture_bench.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.errors import RuntimeFailure, UsageError

if TYPE_CHECKING:
    from compose.testing.stack import Stack


def _copy(src: Path, dst: Path) -> None:
    """``src`` (a directory) copied as ``dst``, attributes kept."""
    proc = subprocess.run(["cp", "-a", "--reflink=auto", str(src), str(dst)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeFailure(f"cannot copy volume data {src} -> {dst}: "
                             f"{proc.stderr.strip()}")


class Snapshots:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.dir = stack.paths.root / "testing" / "snapshots" / stack.name
        self.taken: dict[str, list[str]] = {}    # service -> volume names

    def volumes_of(self, service: str) -> list[str]:
        project = self.stack.project
        svc = project.service(service)
        return [project.volumes[v.source].name for v in svc.volumes
                if v.type == "volume" and v.source in project.volumes
                and not project.volumes[v.source].external]

    def _mountpoint(self, volume: str) -> Path:
        from runtime.volumes.store import VolumeStore

        return VolumeStore(self.stack.paths).get(volume).mountpoint

    def take(self, services: Sequence[str]) -> None:
        project = self.stack.project
        names = list(services) or [s for s in project.services if self.volumes_of(s)]
        todo = {s: self.volumes_of(s) for s in names}
        empty = [s for s, v in todo.items() if not v]
        if empty:
            raise UsageError(f"service {empty[0]!r} has no named volume to snapshot",
                             hint="snapshot/restore works on named volumes "
                                  "(`volumes: [data:/path]` with a top-level `data:`)")
        if not todo:
            return
        self.stack.stop(*todo)
        try:
            for vols in todo.values():
                for vol in vols:
                    dest = self.dir / vol
                    if dest.exists():
                        shutil.rmtree(dest)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    _copy(self._mountpoint(vol), dest)
        finally:
            self.stack.start(*todo)
        self.taken.update(todo)

    def restore(self, services: Sequence[str], timeout: float | None = None) -> float:
        t0 = time.monotonic()
        names = list(services) or list(self.taken)
        missing = [s for s in names if s not in self.taken]
        if missing:
            raise UsageError(f"no snapshot of service {missing[0]!r}",
                             hint=f"call snapshot({missing[0]!r}) first")
        if not names:
            return 0.0
        self._kill(names)
        for s in names:
            for vol in self.taken[s]:
                self._swap_in(vol)
        self.stack.start(*names, timeout=timeout)
        return time.monotonic() - t0

    def _kill(self, names: list[str]) -> None:
        ctx = self.stack._ctx
        for c in self.stack.containers():
            if c.service in names and c.status in ("running", "restarting", "paused"):
                ctx.containers.kill(c.id, "SIGKILL")
                ctx.containers.wait(c.id)

    def _swap_in(self, vol: str) -> None:
        data = self._mountpoint(vol)
        snap = self.dir / vol
        if os.path.ismount(data):  # a volume with driver options: replace the contents
            for child in data.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            for child in snap.iterdir():
                _copy(child, data / child.name)
            return
        fresh = data.with_name(data.name + ".restore")
        old = data.with_name(data.name + ".old")
        for leftover in (fresh, old):
            if leftover.exists():
                shutil.rmtree(leftover)
        _copy(snap, fresh)
        os.rename(data, old)
        os.rename(fresh, data)
        shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        self.taken.clear()
