"""Compose ``pull_policy``: should this image be pulled now?"""

from __future__ import annotations

import re
import time

from runtime.errors import UsageError
from runtime.images.errors import InvalidReference
from runtime.images.store import ImageStore

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
POLICIES = ("always", "never", "missing", "if_not_present", "build", "daily", "weekly",
            "every_<duration>")


def interval_of(policy: str) -> float | None:
    """Seconds for ``daily``, ``weekly`` and ``every_12h``-style policies, else None."""
    if policy == "daily":
        return 86400.0
    if policy == "weekly":
        return 7 * 86400.0
    if policy.startswith("every_"):
        spec = policy[len("every_"):]
        parts = re.findall(r"(\d+)([smhdw])", spec)
        if not parts or "".join(n + u for n, u in parts) != spec:
            raise UsageError(f"invalid pull_policy {policy!r}",
                             hint="use e.g. every_12h, every_30m, every_1d")
        return float(sum(int(n) * _UNITS[u] for n, u in parts))
    return None


def needs_pull(store: ImageStore, ref: str, policy: str = "missing", *,
               now: float | None = None) -> bool:
    """True when ``ref`` must be pulled under ``policy``.

    ``build`` and ``never`` never pull (the orchestrator builds, or resolving fails with
    a clear "no such image"); ``missing`` (alias ``if_not_present``) pulls when absent;
    ``always`` always; ``daily``/``weekly``/``every_<d>`` when absent or when the tag
    was last pulled longer ago than the interval.
    """
    policy = (policy or "missing").lower()
    if policy == "always":
        return True
    if policy in ("never", "build"):
        return False
    try:
        present = store.exists(ref)
    except InvalidReference:
        raise
    if policy in ("missing", "if_not_present"):
        return not present
    interval = interval_of(policy)
    if interval is None:
        raise UsageError(f"unknown pull_policy {policy!r}",
                         hint="one of: " + ", ".join(POLICIES))
    if not present:
        return True
    info = store.tag_info(ref)
    if info is None:  # present by digest / ID: nothing to refresh
        return False
    last = info.get("pulled") or info.get("updated") or 0
    return (now if now is not None else time.time()) - last >= interval
