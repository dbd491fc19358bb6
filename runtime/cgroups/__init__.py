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

Everything here is stdlib-only and cheap to import (the shim is lean).
"""

from runtime.cgroups.base import CgroupDriver, CgroupStats, OomCounters, oom_killed
from runtime.cgroups.detect import CgroupLayout, detect, driver
from runtime.cgroups.stats import cpu_percent, net_io

__all__ = ["CgroupDriver", "CgroupLayout", "CgroupStats", "OomCounters", "cpu_percent",
           "detect", "driver", "net_io", "oom_killed"]
