"""The build step cache: ``<root>/builds/cache/<key hex>.json``.

A value is the image state after the step: the full OCI image config (with history and
``rootfs.diff_ids``) and the layer descriptors.  An entry is used only when every layer
it names is still unpacked in the image store (``image prune``/``gc`` may have removed
it), and only entries this builder wrote exist here — pulled images never act as cache
(CVE-2024-24557).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.fsutil import atomic_write_json
from runtime.images.digest import chain_ids
from runtime.images.store import ImageStore, LayerInfo


@dataclass(frozen=True)
class StepState:
    """An image state between steps: config (full OCI config) + layers (base first)."""

    config: dict[str, Any]
    layers: tuple[LayerInfo, ...]

    @property
    def diff_ids(self) -> list[str]:
        return [lay.diff_id for lay in self.layers]

    def to_json(self) -> dict[str, Any]:
        return {"config": self.config,
                "layers": [[lay.digest, lay.media_type, lay.size, lay.diff_id]
                           for lay in self.layers]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepState:
        return cls(data["config"], tuple(LayerInfo(*row) for row in data["layers"]))


class BuildCache:
    def __init__(self, root: Path, store: ImageStore) -> None:
        self.dir = root / "cache"
        self.store = store

    def _path(self, key: str) -> Path:
        return self.dir / key.removeprefix("sha256:")

    def get(self, key: str) -> StepState | None:
        try:
            with open(self._path(key), "rb") as f:
                state = StepState.from_json(json.load(f))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None
        for lay, chain in zip(state.layers, chain_ids(state.diff_ids), strict=True):
            if not self.store.has_layer(chain) or not self.store.has_blob(lay.digest):
                return None
        return state

    def put(self, key: str, state: StepState) -> None:
        atomic_write_json(self._path(key), state.to_json())

    def clear(self) -> int:
        n = 0
        if self.dir.is_dir():
            for p in self.dir.iterdir():
                os.unlink(p)
                n += 1
        return n


def prune_build_cache(paths) -> tuple[int, int]:
    """``builder prune``: drop step cache entries, RUN cache mounts and the context hash
    memo (layers go with ``image prune``).  Returns (entries removed, bytes freed)."""
    import shutil

    entries = 0
    freed = 0
    root = paths.builds
    for sub in ("cache", "cache-mounts"):
        d = root / sub
        if not d.is_dir():
            continue
        for p in d.iterdir():
            entries += 1
            for f in ([p] if p.is_file() else p.rglob("*")):
                try:
                    if f.is_file() and not f.is_symlink():
                        freed += f.stat().st_size
                except OSError:
                    pass
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
    memo = root / "context-hashes.json"
    if memo.exists():
        freed += memo.stat().st_size
        memo.unlink()
    return entries, freed
