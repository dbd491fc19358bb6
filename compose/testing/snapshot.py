"""Fast reset between tests: snapshot a service's named volumes, put them back later.

``take``: stop the services (gracefully, so databases flush), copy each named volume's
data directory to ``<root>/testing/snapshots/<project>/<volume>``, start them again.
``restore``: SIGKILL the services (their state is about to be thrown away, so there is
nothing to flush), swap a fresh copy of the snapshot in with two renames, start the
services and wait until they are ready.

The copies are double-buffered: right after a snapshot or a restore, a background
thread copies the snapshot to ``<volume>/_data.staged`` (same filesystem, so the swap is
a rename) while the next test runs; another thread deletes the replaced data.  A restore only waits
for that thread when a test was shorter than the copy.  So the reset costs a kill, two
renames, a process start and its readiness, whatever the size of the data.  Copies use
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
import threading
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
        self._stager: threading.Thread | None = None
        self._stage_error: BaseException | None = None
        self._trash: list[Path] = []
        self._sweepers: list[threading.Thread] = []

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
        self._stage()

    def restore(self, services: Sequence[str], timeout: float | None = None) -> float:
        t0 = time.monotonic()
        names = list(services) or list(self.taken)
        missing = [s for s in names if s not in self.taken]
        if missing:
            raise UsageError(f"no snapshot of service {missing[0]!r}",
                             hint=f"call snapshot({missing[0]!r}) first")
        if not names:
            return 0.0
        self._join()
        self._kill(names)
        for s in names:
            for vol in self.taken[s]:
                self._swap_in(vol)
        self._stage()
        self.stack.start(*names, timeout=timeout)
        return time.monotonic() - t0

    # ---- the background copy ------------------------------------------------------------
    def _staged(self, vol: str) -> Path:
        data = self._mountpoint(vol)
        return data.with_name(data.name + ".staged")

    def _stage(self) -> None:
        """Start copying every snapshot to its ``.staged`` place (and emptying the
        trash) in a background thread."""
        self._join()
        vols = [v for vs in self.taken.values() for v in vs]
        trash, self._trash = self._trash, []
        jobs = [(self.dir / v, self._staged(v)) for v in vols]

        def work() -> None:
            try:
                for src, dst in jobs:
                    if not dst.exists():
                        _copy(src, dst)
            except BaseException as err:
                self._stage_error = err

        def sweep() -> None:  # deleting is slow on some disks: never waited for by restore
            for t in trash:
                shutil.rmtree(t, ignore_errors=True)

        self._stager = threading.Thread(target=work, name="pycompose-snapshot-stage",
                                         daemon=True)
        self._stager.start()
        self._sweepers = [t for t in self._sweepers if t.is_alive()]
        if trash:
            sweeper = threading.Thread(target=sweep, name="pycompose-snapshot-sweep",
                                       daemon=True)
            sweeper.start()
            self._sweepers.append(sweeper)

    def _join(self) -> None:
        if self._stager is not None:
            self._stager.join()
            self._stager = None
        if self._stage_error is not None:
            err, self._stage_error = self._stage_error, None
            raise err

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
        fresh = self._staged(vol)
        if not fresh.exists():
            _copy(snap, fresh)
        old = data.with_name(f"{data.name}.old-{time.monotonic_ns()}")
        os.rename(data, old)
        os.rename(fresh, data)
        self._trash.append(old)   # deleted by the next background stage

    def discard(self) -> None:
        """Forget the snapshots: wait for the background copy, remove staged copies,
        replaced data and the snapshots themselves."""
        try:
            self._join()
        except BaseException:
            pass
        for t in self._sweepers:
            t.join()
        self._sweepers.clear()
        for vols in self.taken.values():
            for v in vols:
                try:
                    shutil.rmtree(self._staged(v), ignore_errors=True)
                except Exception:
                    pass
        for t in self._trash:
            shutil.rmtree(t, ignore_errors=True)
        self._trash.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.taken.clear()
