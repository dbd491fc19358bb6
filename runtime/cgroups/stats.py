"""Derived numbers for ``stats``: CPU % between two samples, network I/O of a netns."""

from __future__ import annotations

from runtime.cgroups.base import CgroupStats


def cpu_percent(prev: CgroupStats, cur: CgroupStats) -> float:
    """CPU use between two samples, in percent of one CPU (can exceed 100 on several
    CPUs, like ``docker stats``: its cpu_delta / system_delta x online_cpus is the
    same quantity measured against wall time)."""
    wall = cur.read_at - prev.read_at
    used = cur.cpu_usage_ns - prev.cpu_usage_ns
    if wall <= 0 or used <= 0:
        return 0.0
    return used / wall * 100.0


def net_io(pid: int, *, include_lo: bool = False) -> dict[str, tuple[int, int]]:
    """``{interface: (rx_bytes, tx_bytes)}`` in the network namespace of ``pid`` (the
    container's init), from ``/proc/<pid>/net/dev``.  ``lo`` is left out, as in
    ``docker stats``.  Raises ``FileNotFoundError`` once the process is gone."""
    out: dict[str, tuple[int, int]] = {}
    with open(f"/proc/{pid}/net/dev") as f:
        lines = f.read().splitlines()[2:]               # two header lines
    for line in lines:
        name, _, data = line.partition(":")
        name = name.strip()
        if not data or (name == "lo" and not include_lo):
            continue
        fields = data.split()
        out[name] = (int(fields[0]), int(fields[8]))
    return out


def net_totals(pid: int) -> tuple[int, int]:
    """Summed (rx_bytes, tx_bytes) over the container's interfaces."""
    rx = tx = 0
    for r, t in net_io(pid).values():
        rx += r
        tx += t
    return rx, tx
