"""``ls``/``ps``: list containers with Docker's filters and sizes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from runtime.container.store import ContainerStore, Record
from runtime.errors import InvalidInputError

FILTER_KEYS = ("status", "name", "id", "label", "exited", "ancestor")


@dataclass(frozen=True, slots=True)
class ContainerSummary:
    record: Record
    size_rw: int | None = None
    size_root_fs: int | None = None


def dir_size(path: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for n in filenames + dirnames:
            try:
                st = os.lstat(os.path.join(dirpath, n))
            except OSError:
                continue
            if not os.path.isdir(os.path.join(dirpath, n)) or os.path.islink(
                    os.path.join(dirpath, n)):
                total += st.st_size
    return total


def parse_filters(filters: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in filters:
        key, sep, value = f.partition("=")
        if not sep or key not in FILTER_KEYS:
            raise InvalidInputError(f"invalid filter {f!r}",
                                    hint="supported: " + ", ".join(f"{k}=..." for k in FILTER_KEYS))
        out.setdefault(key, []).append(value)
    return out


def _match(rec: Record, flt: dict[str, list[str]]) -> bool:
    for key, values in flt.items():
        if key == "status" and rec.status.value not in values:
            return False
        if key == "name" and not any(v.lstrip("/") in rec.name for v in values):
            return False
        if key == "id" and not any(rec.id.startswith(v) for v in values):
            return False
        if key == "exited" and (rec.status.value != "exited" or
                                str(rec.state.get("exit_code", 0)) not in values):
            return False
        if key == "ancestor" and rec.spec.image not in values:
            return False
        if key == "label":
            labels = dict(rec.spec.labels)
            for v in values:
                k, sep, val = v.partition("=")
                if k not in labels or (sep and labels[k] != val):
                    return False
    return True


def list_containers(store: ContainerStore, all: bool = False,
                    filters: tuple[str, ...] | list[str] = (), size: bool = False
                    ) -> list[ContainerSummary]:
    flt = parse_filters(filters)
    out = []
    for rec in sorted(store.records(), key=lambda r: r.created, reverse=True):
        if not all and "status" not in flt and rec.status.value not in ("running", "paused",
                                                                         "restarting"):
            continue
        if not _match(rec, flt):
            continue
        if size:
            rw = dir_size(rec.dir / "upper")
            virt = rw + sum(dir_size(p) for p in rec.spec.rootfs.layers)
            out.append(ContainerSummary(rec, rw, virt))
        else:
            out.append(ContainerSummary(rec))
    return out
