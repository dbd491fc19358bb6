"""Docker's default masked and read-only paths (``docker run`` without --privileged).

The container init bind-mounts ``/dev/null`` over each masked *file* and an empty
read-only tmpfs over each masked *directory*; it remounts each read-only path
read-only (bind onto itself, then ``MS_REMOUNT|MS_BIND|MS_RDONLY``).  Paths that do not
exist in the container's /proc or /sys are skipped.  A privileged container gets
neither list.

``thermal_throttle`` directories are added per CPU at run time
(:func:`masked_paths`), as Docker does since its 2023 advisory.
"""

from __future__ import annotations

import os

MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)

READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)


def masked_paths(sys_root: str = "/sys") -> tuple[str, ...]:
    """The defaults plus each ``/sys/devices/system/cpu/cpu*/thermal_throttle`` that
    exists on this host (``sys_root`` lets tests point at a fake tree)."""
    base = os.path.join(sys_root, "devices/system/cpu")
    try:
        cpus = os.listdir(base)
    except OSError:
        cpus = []
    extra = sorted(f"/sys/devices/system/cpu/{c}/thermal_throttle" for c in cpus
                   if c.startswith("cpu") and c[3:].isdigit()
                   and os.path.isdir(os.path.join(base, c, "thermal_throttle")))
    return MASKED_PATHS + tuple(extra)


def for_container(privileged: bool, masked: tuple[str, ...] | None = None,
                  readonly: tuple[str, ...] | None = None
                  ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(masked, read-only) for a container: ``None`` in the spec = Docker's defaults,
    privileged = none at all."""
    if privileged:
        return (), ()
    return (masked if masked is not None else masked_paths(),
            readonly if readonly is not None else READONLY_PATHS)
