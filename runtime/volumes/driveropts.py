"""``driver_opts`` of the ``local`` volume driver: what we can mount, and how.

Docker's local driver passes ``type``/``device``/``o`` straight to mount(2).  We support
the two forms dev stacks use and refuse the rest with a clear error (no silent
half-support):

* bind:  ``{type: none, o: bind, device: /host/dir}`` (``o`` may add ``rbind``, ``ro``)
* tmpfs: ``{type: tmpfs, device: tmpfs, o: "size=64m,mode=1777,uid=1000"}``

The plan is derived from the options stored in the volume's ``meta.json``, so a mount
made for a volume is always findable (and removable) from state alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import InvalidInputError

SUPPORTED_KEYS = ("type", "device", "o")
BIND_TYPES = ("none", "bind", "")
TMPFS_VALUE_OPTS = ("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "huge")
TMPFS_FLAG_OPTS = ("ro", "rw", "noexec", "exec", "nosuid", "suid", "nodev", "dev",
                   "noatime", "relatime", "strictatime")
BIND_FLAG_OPTS = ("bind", "rbind", "ro", "rw")


class UnsupportedVolumeOption(InvalidInputError):
    """A driver or driver option we cannot honour."""


@dataclass(frozen=True, slots=True)
class HostMount:
    """What to mount on ``<volume>/_data`` on the host (before any container uses it)."""

    kind: str                    # "bind" | "tmpfs"
    device: str                  # host dir for bind, "tmpfs" for tmpfs
    recursive: bool = False      # rbind
    read_only: bool = False
    data: str = ""               # tmpfs mount data (size=...,mode=...)
    flags: tuple[str, ...] = ()  # tmpfs mount flags (nosuid, noexec, ...)


def _split_o(o: str) -> list[str]:
    return [part.strip() for part in o.split(",") if part.strip()]


def plan_host_mount(driver: str, options: dict[str, str]) -> HostMount | None:
    """Validate ``driver``/``options``; return the host mount to make, or None (plain dir)."""
    if driver != "local":
        raise UnsupportedVolumeOption(
            f"volume driver {driver!r} is not supported",
            hint="pycompose only has the 'local' driver; remove 'driver:' or set it to local")
    unknown = sorted(set(options) - set(SUPPORTED_KEYS))
    if unknown:
        raise UnsupportedVolumeOption(
            f"unsupported option(s) for the local volume driver: {', '.join(unknown)}",
            hint="the local driver accepts 'type', 'device' and 'o'")
    if not options:
        return None
    fstype = str(options.get("type", "")).strip()
    device = str(options.get("device", "")).strip()
    o = _split_o(str(options.get("o", "")))
    if fstype == "tmpfs":
        values, flags = [], []
        for item in o:
            key, sep, val = item.partition("=")
            if sep and key in TMPFS_VALUE_OPTS and val:
                values.append(item)
            elif not sep and key in TMPFS_FLAG_OPTS:
                flags.append(key)
            else:
                raise UnsupportedVolumeOption(
                    f"unsupported tmpfs volume option {item!r}",
                    hint=f"tmpfs volumes accept {', '.join(TMPFS_VALUE_OPTS)}=VALUE and "
                         f"the flags {', '.join(TMPFS_FLAG_OPTS)}")
        return HostMount("tmpfs", device or "tmpfs", data=",".join(values),
                         flags=tuple(f for f in flags if f not in ("rw",)),
                         read_only="ro" in flags)
    if fstype in BIND_TYPES and ("bind" in o or "rbind" in o):
        bad = [item for item in o if item not in BIND_FLAG_OPTS]
        if bad:
            raise UnsupportedVolumeOption(
                f"unsupported bind volume option(s): {', '.join(bad)}",
                hint="bind volumes accept o=bind|rbind[,ro]")
        if not device:
            raise UnsupportedVolumeOption("a bind volume needs 'device' (the host directory)",
                                          hint="set driver_opts.device: /path/on/host")
        if not os.path.isabs(device):
            raise UnsupportedVolumeOption(
                f"bind volume device {device!r} must be an absolute path",
                hint="use an absolute host path in driver_opts.device")
        return HostMount("bind", device, recursive="rbind" in o, read_only="ro" in o)
    if fstype in BIND_TYPES:
        raise UnsupportedVolumeOption(
            f"local volume options type={fstype or '(empty)'!s} without o=bind are not supported",
            hint="for a host directory use {type: none, o: bind, device: /path}")
    raise UnsupportedVolumeOption(
        f"local volume type {fstype!r} is not supported (only bind and tmpfs)",
        hint="mount the filesystem on the host yourself and use "
             "{type: none, o: bind, device: /mounted/path}, or a bind mount in the service")


def check_device(plan: HostMount) -> None:
    """A bind volume's device must exist when the volume is created or first used."""
    if plan.kind == "bind" and not Path(plan.device).is_dir():
        raise UnsupportedVolumeOption(
            f"bind volume device {plan.device!r} does not exist or is not a directory",
            hint="create the directory first (driver_opts device paths are not created)")
