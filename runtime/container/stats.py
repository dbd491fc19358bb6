"""``stats``: CPU %, memory usage/limit, network and block I/O, pids per container.

Counters come from the cgroup driver (``runtime.cgroups``), network bytes from the
container's netns (``/proc/<pid1>/net/dev``, ``lo`` excluded).  CPU % needs two
samples: :func:`collect` takes one per container, sleeps ``interval`` once, takes the
second.  Memory usage is the working set (usage minus inactive page cache) and an
unlimited container shows the host's memory as its limit, as ``docker stats`` does.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from runtime.container.store import ContainerStore


@dataclass(frozen=True, slots=True)
class ContainerStats:
    id: str
    name: str
    cpu_percent: float
    memory_usage: int
    memory_limit: int
    memory_percent: float
    net_rx: int
    net_tx: int
    block_read: int
    block_write: int
    pids: int

    def to_dict(self) -> dict:
        return asdict(self)


def _sample(drv, rec):
    if rec.status.value not in ("running", "paused") or not drv.exists(rec.id):
        return None
    try:
        return drv.stats(rec.id)
    except OSError:
        return None


def _net(rec) -> tuple[int, int]:
    from runtime.cgroups.stats import net_totals

    pid = rec.state.get("pid") or 0
    if not pid or rec.spec.network.kind == "host":
        return 0, 0
    try:
        return net_totals(pid)
    except OSError:
        return 0, 0


def collect(store: ContainerStore, cids: list[str], interval: float = 1.0,
            previous: dict | None = None) -> tuple[list[ContainerStats], dict]:
    """Stats for ``cids``; ``previous`` (the second value returned by an earlier call)
    replaces the first sample, so a stream costs one sample per round."""
    from runtime import cgroups
    from runtime.cgroups.base import host_memory
    from runtime.cgroups.stats import cpu_percent

    drv = cgroups.driver()
    recs = [store.load(c) for c in cids]
    first = previous if previous is not None else {r.id: _sample(drv, r) for r in recs}
    if previous is None and interval > 0 and any(first.values()):
        time.sleep(interval)
    second = {r.id: _sample(drv, r) for r in recs}
    host_mem = host_memory()
    out = []
    for r in recs:
        cur, prev = second.get(r.id), first.get(r.id)
        if cur is None:
            out.append(ContainerStats(r.id, r.name, 0.0, 0, 0, 0.0, 0, 0, 0, 0, 0))
            continue
        limit = cur.memory_limit if cur.memory_limit and cur.memory_limit < host_mem \
            else host_mem
        usage = cur.memory_working_set
        rx, tx = _net(r)
        out.append(ContainerStats(
            r.id, r.name, cpu_percent(prev, cur) if prev is not None else 0.0, usage, limit,
            usage / limit * 100.0 if limit else 0.0, rx, tx, cur.blkio_read,
            cur.blkio_write, cur.pids_current))
    return out, second
