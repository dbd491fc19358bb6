"""Named and anonymous volumes of the ``local`` driver.

On-disk layout (one directory per volume, owned by this module)::

    <root>/volumes/.lock                  fcntl lock: every store mutation holds it
    <root>/volumes/<name>/meta.json       name, driver, labels, options, created, anonymous
    <root>/volumes/<name>/_data/          the content (a host mount point for driver_opts)

Creation is atomic (built in a hidden temp dir, then renamed); removal renames the
volume to a hidden ``.trash-*`` dir before deleting it, so a crash never leaves a
half-visible volume.  Leftover ``.tmp-*``/``.trash-*`` dirs are swept by the next
mutation.  A volume with ``driver_opts`` (bind or tmpfs) is mounted on ``_data`` at
first use (:meth:`VolumeStore.prepare`) and unmounted by :meth:`VolumeStore.remove` /
:meth:`VolumeStore.release`; the mount is derived from ``meta.json``, so it is always
findable from state.  Nothing is ever deleted through a mount point.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets as _secrets
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.errors import ConflictError, InvalidInputError, NotFoundError, RuntimeFailure
from runtime.fsutil import atomic_write_json, read_json
from runtime.paths import StatePaths
from runtime.volumes import _sys, staging
from runtime.volumes.driveropts import HostMount, check_device, plan_host_mount

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
ANON_RE = re.compile(r"^[0-9a-f]{64}$")
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
PROJECT_LABEL = "com.docker.compose.project"
VOLUME_LABEL = "com.docker.compose.volume"
DATA = "_data"
META = "meta.json"


def validate_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise InvalidInputError(
            f"invalid volume name {name!r}",
            hint="volume names match [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters)")
    return name


@dataclass(frozen=True, slots=True)
class Volume:
    name: str
    path: Path                                  # <root>/volumes/<name>
    driver: str = "local"
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    created: str = ""
    anonymous: bool = False
    owner: str | None = None                    # anonymous: "<container>\0<target>"

    @property
    def mountpoint(self) -> Path:
        """The host directory a container bind-mounts (``Mount.source``)."""
        return self.path / DATA

    @property
    def host_mount(self) -> HostMount | None:
        return plan_host_mount(self.driver, self.options)

    def inspect(self) -> dict[str, Any]:
        """Docker's ``volume inspect`` shape."""
        return {
            "CreatedAt": self.created,
            "Driver": self.driver,
            "Labels": dict(self.labels),
            "Mountpoint": str(self.mountpoint),
            "Name": self.name,
            "Options": dict(self.options),
            "Scope": "local",
        }

    def to_meta(self) -> dict[str, Any]:
        return {"Name": self.name, "Driver": self.driver, "Labels": self.labels,
                "Options": self.options, "CreatedAt": self.created,
                "Anonymous": self.anonymous, "Owner": self.owner}

    @classmethod
    def from_meta(cls, path: Path, meta: dict[str, Any]) -> Volume:
        return cls(name=meta["Name"], path=path, driver=meta.get("Driver", "local"),
                   labels=dict(meta.get("Labels") or {}), options=dict(meta.get("Options") or {}),
                   created=meta.get("CreatedAt", ""), anonymous=bool(meta.get("Anonymous")),
                   owner=meta.get("Owner"))


def owner_key(container: str, target: str) -> str:
    return f"{container}\0{target}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class VolumeStore:
    """All volume operations; safe across concurrent pycompose processes."""

    def __init__(self, paths: StatePaths) -> None:
        self.paths = paths
        self.dir = paths.volumes

    # -- locking and housekeeping ------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._sweep()
            yield
        finally:
            os.close(fd)

    def _sweep(self) -> None:
        for p in self.dir.glob(".t*-*"):
            if p.name.startswith((".tmp-", ".trash-")) and not _sys.mounts_under(p):
                shutil.rmtree(p, ignore_errors=True)

    # -- queries -----------------------------------------------------------------------

    def _vol_dir(self, name: str) -> Path:
        validate_name(name)
        return self.dir / name

    def exists(self, name: str) -> bool:
        return NAME_RE.match(name or "") is not None and (self.dir / name / META).is_file()

    def get(self, name: str) -> Volume:
        d = self._vol_dir(name)
        try:
            return Volume.from_meta(d, read_json(d / META))
        except FileNotFoundError:
            raise NotFoundError(f"no such volume: {name}",
                                hint="list volumes with 'pycompose volume ls'") from None

    def list(self) -> list[Volume]:
        out = []
        if not self.dir.is_dir():
            return out
        for d in sorted(self.dir.iterdir()):
            if d.name.startswith(".") or not (d / META).is_file():
                continue
            try:
                out.append(Volume.from_meta(d, read_json(d / META)))
            except (OSError, ValueError, KeyError):
                continue  # a damaged entry must not hide the others
        return out

    def find_anonymous(self, container: str, target: str) -> Volume | None:
        """The anonymous volume a previous incarnation of ``container`` had at ``target``.

        Compose keeps anonymous volumes across recreation; the orchestrator can also take
        them from the old container's mounts (see :func:`runtime.volumes.mounts.reuse_anonymous`).
        """
        key = owner_key(container, target)
        matches = [v for v in self.list() if v.anonymous and v.owner == key]
        return max(matches, key=lambda v: v.created) if matches else None

    # -- mutations ---------------------------------------------------------------------

    def create(self, name: str | None = None, *, driver: str = "local",
               labels: dict[str, str] | None = None, options: dict[str, str] | None = None,
               anonymous: bool = False, owner: str | None = None,
               exist_ok: bool = False) -> Volume:
        """Create a volume (a random 64-hex name and the anonymous label when ``name`` is
        None).  ``exist_ok`` returns an existing volume of that name unchanged (compose
        semantics: ``up`` reuses volumes); otherwise an existing name is a conflict."""
        options = {str(k): str(v) for k, v in (options or {}).items()}
        labels = {str(k): str(v) for k, v in (labels or {}).items()}
        plan = plan_host_mount(driver, options)
        if plan is not None:
            check_device(plan)
        if name is None:
            name, anonymous = _secrets.token_hex(32), True
        validate_name(name)
        if anonymous:
            labels.setdefault(ANONYMOUS_LABEL, "")
        with self.locked():
            if self.exists(name):
                if exist_ok:
                    return self.get(name)
                raise ConflictError(f"volume {name} already exists",
                                    hint="choose another name or remove it first")
            vol = Volume(name=name, path=self.dir / name, driver=driver, labels=labels,
                         options=options, created=_now(), anonymous=anonymous, owner=owner)
            tmp = self.dir / f".tmp-{name}-{_secrets.token_hex(4)}"
            (tmp / DATA).mkdir(parents=True)
            os.chmod(tmp / DATA, 0o755)
            atomic_write_json(tmp / META, vol.to_meta(), mode=0o600)
            os.rename(tmp, vol.path)
            return vol

    def prepare(self, name: str) -> Path:
        """Make the volume usable and return its host directory (``Mount.source``).

        Mounts the driver_opts filesystem on ``_data`` when it is not mounted yet
        (idempotent).  Call before a container bind-mounts the volume, and before
        export/import."""
        with self.locked():
            vol = self.get(name)
            plan = vol.host_mount
            if plan is not None and not _sys.is_mount_point(vol.mountpoint):
                _mount_host(plan, vol.mountpoint)
        # Outside the store lock: a long copy-up holding this dir's lock must not stall
        # every other volume operation.
        with staging.locked(vol.mountpoint):
            staging.recover(vol.mountpoint)         # an import/copy-up killed half-way
        return vol.mountpoint

    def release(self, name: str) -> bool:
        """Unmount a driver_opts volume no container uses any more; True if unmounted."""
        from runtime.volumes.inuse import volumes_in_use

        with self.locked():
            vol = self.get(name)
            if name in volumes_in_use(self.paths):
                return False
            return _unmount_all(vol.path)

    def remove(self, name: str, *, force: bool = False) -> bool:
        """Remove a volume.  Refused (ConflictError) while any container, running or not,
        lists it in its mounts.  ``force`` only makes a missing volume a no-op (as
        ``docker volume rm -f``).  Returns False when there was nothing to remove."""
        from runtime.volumes.inuse import volume_users

        with self.locked():
            if not self.exists(name):
                if force:
                    return False
                self.get(name)  # raises NotFoundError
            users = volume_users(self.paths).get(name)
            if users:
                raise ConflictError(
                    f"volume {name} is in use by container(s) {', '.join(sorted(users))}",
                    hint="remove the container(s) first (e.g. 'pycompose down')")
            vol = self.get(name)
            _unmount_all(vol.path)
            if _sys.mounts_under(vol.path):
                raise RuntimeFailure(f"volume {name} is still mounted; not removing it",
                                     hint=f"unmount {vol.mountpoint} and retry")
            trash = self.dir / f".trash-{name}-{_secrets.token_hex(4)}"
            os.rename(vol.path, trash)
            shutil.rmtree(trash, ignore_errors=True)
            return True

    def prune(self, *, all_volumes: bool = False,
              label_filters: Iterable[str] = ()) -> list[str]:
        """Remove unused volumes: only anonymous ones unless ``all_volumes`` (Docker 23+).
        ``label_filters``: ``key`` / ``key=value`` / ``!key`` / ``key!=value``."""
        from runtime.volumes.inuse import volumes_in_use

        used = volumes_in_use(self.paths)
        removed = []
        for vol in self.list():
            if vol.name in used or not (all_volumes or vol.anonymous):
                continue
            if not all(match_label(vol.labels, f) for f in label_filters):
                continue
            try:
                if self.remove(vol.name, force=True):
                    removed.append(vol.name)
            except ConflictError:
                continue  # became used meanwhile
        return removed


def match_label(labels: dict[str, str], flt: str) -> bool:
    """Docker's label filter: ``k``, ``k=v``, ``!k`` (label=!k is 'label!=k'), ``k!=v``."""
    if "!=" in flt:
        k, v = flt.split("!=", 1)
        return labels.get(k) != v
    if flt.startswith("!"):
        return flt[1:] not in labels
    if "=" in flt:
        k, v = flt.split("=", 1)
        return labels.get(k) == v
    return flt in labels


def _mount_host(plan: HostMount, target: Path) -> None:
    if plan.kind == "bind":
        check_device(plan)
        _sys.mount(plan.device, target, None, _sys.MS_BIND | (_sys.MS_REC if plan.recursive else 0))
        if plan.read_only:
            try:
                _sys.mount(None, target, None,
                           _sys.MS_BIND | _sys.MS_REMOUNT | _sys.MS_RDONLY)
            except BaseException:
                _sys.umount2(target, _sys.MNT_DETACH)
                raise
        return
    flags = 0
    for f in plan.flags:
        flags |= {"ro": _sys.MS_RDONLY, "nosuid": _sys.MS_NOSUID, "nodev": _sys.MS_NODEV,
                  "noexec": _sys.MS_NOEXEC}.get(f, 0)
    _sys.mount(plan.device, target, "tmpfs", flags, plan.data or None)


def _unmount_all(path: Path) -> bool:
    done = False
    for mp in _sys.mounts_under(path):
        _sys.umount2(mp, _sys.MNT_DETACH)
        done = True
    return done
