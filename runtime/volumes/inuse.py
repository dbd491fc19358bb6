"""Which volumes are used by which containers (running or not), read from container state.

The runtime core writes ``<root>/containers/<id>/config.json``; we do not depend on its
exact shape.  A container uses volume ``V`` when its config contains, anywhere:

* a mapping with ``volume_name`` / ``VolumeName`` equal to ``V`` (the serialised
  :class:`runtime.spec.Mount`, or a Docker-style ``Mounts`` entry), or a mapping with
  ``Type: volume`` and ``Name: V``;
* a string path at or below ``<root>/volumes/V/_data`` (a mount ``source``).

Docker refuses ``volume rm`` for a volume referenced by any container, stopped ones
included; so do we.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runtime.fsutil import read_json
from runtime.paths import StatePaths

CONFIG = "config.json"


def _walk(obj: Any) -> Iterator[Any]:
    stack = [obj]
    while stack:
        cur = stack.pop()
        yield cur
        if isinstance(cur, dict):
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)


def volumes_of_config(config: Any, volumes_dir: Path) -> set[str]:
    """Volume names referenced by one container config (pure; tested directly)."""
    prefix = str(volumes_dir).rstrip("/") + "/"
    names: set[str] = set()
    for node in _walk(config):
        if isinstance(node, dict):
            for key in ("volume_name", "VolumeName"):
                if isinstance(node.get(key), str) and node[key]:
                    names.add(node[key])
            if str(node.get("Type", node.get("type", ""))) == "volume":
                name = node.get("Name")
                if isinstance(name, str) and name:
                    names.add(name)
        elif isinstance(node, str) and node.startswith(prefix):
            rest = node[len(prefix):].split("/")
            if len(rest) >= 2 and rest[1] == "_data" and rest[0]:
                names.add(rest[0])
    return names


def volume_users(paths: StatePaths) -> dict[str, set[str]]:
    """volume name -> ids of the containers (any state) that mount it."""
    users: dict[str, set[str]] = {}
    cdir = paths.containers
    if not cdir.is_dir():
        return users
    for d in cdir.iterdir():
        cfg = d / CONFIG
        if d.name.startswith(".") or not cfg.is_file():
            continue
        try:
            config = read_json(cfg)
        except (OSError, ValueError):
            continue
        for name in volumes_of_config(config, paths.volumes):
            users.setdefault(name, set()).add(d.name)
    return users


def volumes_in_use(paths: StatePaths) -> set[str]:
    """Names of the volumes at least one container (running or stopped) mounts."""
    return set(volume_users(paths))
