"""Turn volume/bind/tmpfs/volumes_from requests into :class:`runtime.spec.Mount` specs.

Pure helpers (no container needed) plus the anonymous-volume reuse rule.  The
orchestrator translates the compose model into calls to these; ``container run -v``
does the same for the CLI.

Decisions where compose is silent or host-dependent:

* SELinux ``z``/``Z``: accepted; relabelling is not implemented, so they are ignored
  (a no-op on hosts without SELinux, which is what we run on).
* ``volumes_from``: copies bind and volume mounts (not tmpfs, as Docker); mode ``ro``
  or ``rw`` forces that mode, no mode keeps each mount's own.
* tmpfs ``uid=``/``gid=`` and other options go into ``Mount.options`` (tmpfs mount data).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.errors import InvalidInputError, NotFoundError
from runtime.spec import Mount
from runtime.volumes.store import Volume, VolumeStore, owner_key

PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$", re.IGNORECASE)
_TMPFS_NUMERIC = ("uid", "gid", "nr_inodes", "nr_blocks")
_TMPFS_FLAGS = ("ro", "rw", "noexec", "exec", "nosuid", "suid", "nodev", "dev", "noatime")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


@dataclass(frozen=True, slots=True)
class ModeFlags:
    """The ``:MODE`` part of short volume syntax (``ro,z,rshared,nocopy``)."""

    read_only: bool = False
    propagation: str | None = None
    selinux: str | None = None          # "z" | "Z"
    nocopy: bool = False


def parse_mode(mode: str) -> ModeFlags:
    read_only, propagation, selinux, nocopy = False, None, None, False
    for part in (p.strip() for p in mode.split(",")):
        if not part:
            continue
        if part in ("ro", "rw"):
            read_only = part == "ro"
        elif part in ("z", "Z"):
            selinux = part
        elif part in PROPAGATIONS:
            propagation = part
        elif part == "nocopy":
            nocopy = True
        else:
            raise InvalidInputError(
                f"invalid volume mode {part!r}",
                hint="modes are ro, rw, z, Z, nocopy and a propagation "
                     f"({', '.join(PROPAGATIONS)}), comma separated")
    return ModeFlags(read_only, propagation, selinux, nocopy)


def validate_propagation(value: str | None) -> str:
    if value is None or value == "":
        return "rprivate"
    if value not in PROPAGATIONS:
        raise InvalidInputError(f"invalid bind propagation {value!r}",
                                hint=f"use one of {', '.join(PROPAGATIONS)}")
    return value


def validate_target(target: str) -> str:
    if not target or not target.startswith("/"):
        raise InvalidInputError(f"mount target {target!r} must be an absolute container path",
                                hint="write the container path starting with '/'")
    norm = os.path.normpath(target)
    return "/" + norm.lstrip("/") if norm != "/" else "/"


def parse_size(value: int | str | None) -> int | None:
    """``1024``, ``"64m"``, ``"1.5g"``, ``"10MiB"`` -> bytes (compose byte values)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInputError(f"invalid size {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise InvalidInputError(f"invalid size {value!r}", hint="sizes are positive")
        return value
    m = _SIZE_RE.match(str(value))
    if not m:
        raise InvalidInputError(f"invalid size {value!r}",
                                hint="write a byte count or a number with k, m, g (e.g. 64m)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def is_bind_source(source: str) -> bool:
    """Short syntax: a path (``.``, ``/``, ``~``) is a bind; anything else a volume name."""
    return source.startswith(("/", ".", "~"))


def resolve_bind_source(source: str, project_dir: Path, *, create_host_path: bool) -> Path:
    """Expand ``~``, resolve relative paths against the project dir, create or check."""
    path = Path(os.path.expanduser(source))
    if not path.is_absolute():
        path = Path(project_dir) / path
    path = Path(os.path.normpath(path))
    if not os.path.lexists(path):
        if not create_host_path:
            raise NotFoundError(
                f"bind mount source path does not exist: {path}",
                hint="create it, or allow creating it (bind.create_host_path: true)")
        path.mkdir(parents=True, exist_ok=True)
    return path


def bind_mount(source: str, target: str, *, project_dir: Path, read_only: bool = False,
               propagation: str | None = None, create_host_path: bool = True,
               selinux: str | None = None) -> Mount:
    if selinux not in (None, "", "z", "Z"):
        raise InvalidInputError(f"invalid bind selinux option {selinux!r}",
                                hint="use z (shared) or Z (private)")
    host = resolve_bind_source(source, project_dir, create_host_path=create_host_path)
    return Mount(type="bind", source=str(host), target=validate_target(target),
                 read_only=read_only, propagation=validate_propagation(propagation))


def volume_mount(volume: Volume, target: str, *, read_only: bool = False,
                 nocopy: bool = False, subpath: str | None = None) -> Mount:
    """A mount of a (prepared) volume; copy-up is requested unless ``nocopy``."""
    source = volume.mountpoint
    if subpath:
        rel = os.path.normpath(subpath)
        if rel.startswith(("/", "..")) or rel == ".":
            raise InvalidInputError(f"invalid volume subpath {subpath!r}",
                                    hint="subpath is relative and stays inside the volume")
        source = source / rel
        if not source.is_dir() or source.is_symlink():
            raise NotFoundError(f"volume {volume.name} has no directory {subpath!r}",
                                hint="create the directory in the volume first")
    return Mount(type="volume", source=str(source), target=validate_target(target),
                 read_only=read_only, volume_name=volume.name,
                 copy_up=not nocopy and not subpath)


def tmpfs_mount(target: str, *, size: int | str | None = None, mode: int | str | None = None,
                options: Iterable[str] = ()) -> Mount:
    if isinstance(mode, str):
        try:
            mode = int(mode, 8)
        except ValueError:
            raise InvalidInputError(f"invalid tmpfs mode {mode!r}",
                                    hint="write the mode in octal, e.g. 1777") from None
    if mode is not None and not 0 <= mode <= 0o7777:
        raise InvalidInputError(f"invalid tmpfs mode {oct(mode)}")
    return Mount(type="tmpfs", target=validate_target(target), tmpfs_size=parse_size(size),
                 tmpfs_mode=mode, options=tuple(options))


def parse_tmpfs(entry: str) -> Mount:
    """Service-level ``tmpfs:`` entry ``/path[:size=64m,mode=1777,uid=1000,ro,...]``."""
    target, _, opts = entry.partition(":")
    size, mode, rest = None, None, []
    for opt in (o.strip() for o in opts.split(",")):
        if not opt:
            continue
        key, sep, val = opt.partition("=")
        if key == "size" and sep:
            size = val
        elif key == "mode" and sep:
            mode = val
        elif (sep and key in _TMPFS_NUMERIC and val.isdigit()) or \
                (not sep and key in _TMPFS_FLAGS):
            rest.append(opt)
        else:
            raise InvalidInputError(f"invalid tmpfs option {opt!r} in {entry!r}",
                                    hint="tmpfs options: size=, mode=, uid=, gid=, ro, noexec...")
    m = tmpfs_mount(target, size=size, mode=mode, options=rest)
    return dataclasses.replace(m, read_only="ro" in rest)


def volumes_from(mounts: Iterable[Mount], mode: str | None = None) -> list[Mount]:
    """The mounts another container gets from ``volumes_from: [x[:ro|rw]]``."""
    if mode not in (None, "", "ro", "rw"):
        raise InvalidInputError(f"invalid volumes_from mode {mode!r}", hint="use ro or rw")
    out = []
    for m in mounts:
        if m.type == "tmpfs":
            continue
        ro = m.read_only if not mode else mode == "ro"
        out.append(dataclasses.replace(m, read_only=ro, copy_up=False))
    return out


def image_volume_targets(image_config: Mapping[str, Any] | None) -> list[str]:
    """Targets of the image's ``VOLUME`` entries (``config["Volumes"]``), sorted."""
    vols = (image_config or {}).get("Volumes") or {}
    return sorted(validate_target(t) for t in vols)


def anonymous_targets(image_config: Mapping[str, Any] | None,
                      explicit: Iterable[Mount]) -> list[str]:
    """Image VOLUME targets not already covered by an explicit mount."""
    taken = {m.target for m in explicit}
    return [t for t in image_volume_targets(image_config) if t not in taken]


def anonymous_volume(store: VolumeStore, *, container: str, target: str,
                     previous: Iterable[Mount] = (),
                     labels: Mapping[str, str] | None = None) -> Volume:
    """The anonymous volume for ``target`` of ``container``, reused across recreation.

    Order: the volume the previous container (``previous``: its mounts) had at that
    target; else the last anonymous volume created for this container name and target;
    else a new one (labelled, owner recorded so the next recreation finds it)."""
    target = validate_target(target)
    for m in previous:
        if m.type == "volume" and m.target == target and m.volume_name and \
                store.exists(m.volume_name) and store.get(m.volume_name).anonymous:
            return store.get(m.volume_name)
    if not container:                 # an unnamed container: always a fresh volume
        return store.create(None, labels=dict(labels or {}), anonymous=True)
    found = store.find_anonymous(container, target)
    if found is not None:
        return found
    return store.create(None, labels=dict(labels or {}), anonymous=True,
                        owner=owner_key(container, target))


def resolve_volume_mounts(store: VolumeStore, mounts: Iterable[Mount], *, container: str,
                          image_config: Mapping[str, Any] | None = None,
                          previous: Iterable[Mount] = (),
                          labels: Mapping[str, str] | None = None) -> tuple[Mount, ...]:
    """Turn unresolved volume mounts into real ones, and add the image's VOLUMEs.

    An unresolved mount is ``type="volume"`` with ``source=None``: with ``volume_name``
    a named volume (created if missing, as ``docker run -v name:/p`` does), without one an
    anonymous volume (reused from ``previous``/the owner record when ``container`` is
    set).  Image ``VOLUME`` targets not covered by any mount get anonymous volumes too.
    ``copy_up``/``read_only`` of the request are kept."""
    previous = list(previous)
    out = []
    for m in mounts:
        if m.type != "volume" or m.source is not None:
            out.append(m)
            continue
        if m.volume_name:
            vol = store.create(m.volume_name, exist_ok=True)
        else:
            vol = anonymous_volume(store, container=container, target=m.target,
                                   previous=previous, labels=labels)
        out.append(volume_mount(vol, m.target, read_only=m.read_only, nocopy=not m.copy_up))
    for target in anonymous_targets(image_config, out):
        vol = anonymous_volume(store, container=container, target=target, previous=previous,
                               labels=labels)
        out.append(volume_mount(vol, target))
    return tuple(out)
