"""The two calls the container lifecycle makes into the volume side.

* :func:`prepare_mounts` — on every ``start``, host side, before the shim is spawned:
  mounts driver_opts volumes on the host (idempotent; they do not survive a reboot) and
  performs copy-up for volume mounts with ``copy_up`` (only ever fills an empty
  volume).  The image content is read from the container's layers merged with overlay
  semantics (``<container>/upper`` first, then ``RootFS.layers``), so nothing needs to
  be mounted for it.
* :func:`remove_anonymous_volumes` — after a container is removed with ``rm -v`` /
  ``down -v``: removes its anonymous volumes no other container uses.
"""

from __future__ import annotations

from pathlib import Path

from runtime.errors import ConflictError
from runtime.paths import StatePaths
from runtime.spec import ContainerSpec


def prepare_mounts(paths: StatePaths, spec: ContainerSpec, container_dir: Path) -> None:
    if not any(m.type == "volume" and m.volume_name for m in spec.mounts):
        return                                   # the common start path pays nothing
    from runtime.volumes.copyup import copy_up
    from runtime.volumes.store import VolumeStore

    store = VolumeStore(paths)
    upper = Path(container_dir) / "upper"
    layers = ([upper] if upper.is_dir() else []) + [Path(p) for p in spec.rootfs.layers]
    for m in spec.mounts:
        if m.type != "volume" or not m.volume_name:
            continue
        data = store.prepare(m.volume_name)
        if m.copy_up and m.source and Path(m.source) == data:
            copy_up(layers, m.target, data)


def remove_anonymous_volumes(paths: StatePaths, spec: ContainerSpec) -> list[str]:
    """Remove the anonymous volumes of a removed container; returns their names."""
    from runtime.volumes.store import VolumeStore

    store = VolumeStore(paths)
    removed = []
    for m in spec.mounts:
        if m.type != "volume" or not m.volume_name or not store.exists(m.volume_name):
            continue
        if not store.get(m.volume_name).anonymous:
            continue
        try:
            if store.remove(m.volume_name):
                removed.append(m.volume_name)
        except ConflictError:
            continue  # still used by another container (volumes_from): keep it
    return removed
