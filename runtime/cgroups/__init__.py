"""cgroup drivers (v1, v2) behind one protocol, chosen at run time.

Typical use by the shim::

    from runtime import cgroups

    cg = cgroups.driver()                       # v1 on legacy/hybrid hosts, v2 on unified
    warnings = cg.create(cid, spec.resources, privileged=spec.security.privileged)
    before = cg.oom_counters(cid)
    cg.add_process(cid, pid1)                   # while PID 1 waits for "go"
    ...                                         # PID 1 exits, shim reaps it
    oom = cgroups.oom_killed(before, cg.oom_counters(cid))
    cg.kill_all(cid); cg.destroy(cid)

Stdlib only, and cheap to import (no pathlib/dataclasses/re/typing at run time): the
shim that uses it is lean.  ``CgroupDriver`` (the protocol) lives in ``api``.
"""

from runtime.cgroups.base import CgroupStats, OomCounters, oom_killed
from runtime.cgroups.detect import CgroupLayout, detect, driver
from runtime.cgroups.stats import cpu_percent, net_io

__all__ = ["CgroupDriver", "CgroupLayout", "CgroupStats", "OomCounters", "cpu_percent",
           "detect", "driver", "net_io", "oom_killed"]


def __getattr__(name: str):
    if name == "CgroupDriver":
        from runtime.cgroups.api import CgroupDriver

        return CgroupDriver
    raise AttributeError(name)
