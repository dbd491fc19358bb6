"""Plan, then execute: what ``up`` must do to each service's containers, and why.

The plan compares the desired replicas (config hash included) with what exists; it is
pure, so it is unit-tested without a runtime and printed by ``up --dry-run``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from compose.project.observe import Observed


class Action(enum.StrEnum):
    CREATE = "create"
    RECREATE = "recreate"
    START = "start"
    NOOP = "noop"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    number: int
    existing: Observed | None
    reason: str


def plan_service(observed: Sequence[Observed], desired: int, config_hash: str,
                 image_id: str = "", *,
                 force_recreate: bool = False, no_recreate: bool = False,
                 dependency_recreated: bool = False) -> list[Step]:
    by_number = {o.number: o for o in observed}
    steps: list[Step] = []
    for n in range(1, desired + 1):
        cur = by_number.get(n)
        if cur is None:
            steps.append(Step(Action.CREATE, n, None, "missing"))
        elif cur.status in ("removing", "dead"):
            # An interrupted rm/recreate (e.g. pycompose killed mid-up): finish the
            # removal and make the container again.
            steps.append(Step(Action.RECREATE, n, cur, f"left {cur.status}"))
        elif no_recreate:
            steps.append(_start_or_noop(cur, n))
        elif force_recreate:
            steps.append(Step(Action.RECREATE, n, cur, "forced"))
        elif cur.config_hash != config_hash:
            steps.append(Step(Action.RECREATE, n, cur, "configuration changed"))
        elif image_id and cur.image_id != image_id:
            steps.append(Step(Action.RECREATE, n, cur, "image changed"))
        elif dependency_recreated:
            steps.append(Step(Action.RECREATE, n, cur, "dependency recreated"))
        else:
            steps.append(_start_or_noop(cur, n))
    for o in observed:
        if o.number > desired or o.number < 1:
            steps.append(Step(Action.REMOVE, o.number, o, "scaled down"))
    return steps


def _start_or_noop(cur: Observed, n: int) -> Step:
    if cur.running:
        return Step(Action.NOOP, n, cur, "up to date")
    return Step(Action.START, n, cur, "not running")
