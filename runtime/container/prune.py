"""``prune``: remove every stopped container."""

from __future__ import annotations

from runtime.container.delete import remove
from runtime.container.store import ContainerStore
from runtime.errors import NotFoundError


def prune(store: ContainerStore) -> list[str]:
    removed = []
    for rec in store.records():
        if rec.status.value in ("created", "exited", "dead"):
            try:
                remove(store, rec.id)
            except NotFoundError:
                continue
            removed.append(rec.id)
    return removed
