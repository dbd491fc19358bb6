"""The container lifecycle as an explicit state machine (Docker's status names).

``created -> running -> exited`` with ``paused`` (freezer), ``restarting`` (restart-policy
back-off), ``dead`` (supervision lost and cleanup failed) and ``removing``.  Verbs check
the predicates before acting, so "stop a created container" or "rm a running one" are
refused with a clear error instead of half-done work.
"""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    EXITED = "exited"
    DEAD = "dead"
    REMOVING = "removing"

    @property
    def can_start(self) -> bool:
        return self in (Status.CREATED, Status.EXITED)

    @property
    def can_stop(self) -> bool:
        return self in (Status.RUNNING, Status.PAUSED, Status.RESTARTING)

    @property
    def can_kill(self) -> bool:
        return self in (Status.RUNNING, Status.PAUSED)

    @property
    def can_remove(self) -> bool:
        """Without --force."""
        return self in (Status.CREATED, Status.EXITED, Status.DEAD)

    @property
    def can_pause(self) -> bool:
        return self is Status.RUNNING

    @property
    def can_unpause(self) -> bool:
        return self is Status.PAUSED

    @property
    def can_exec(self) -> bool:
        return self is Status.RUNNING

    @property
    def is_alive(self) -> bool:
        """A supervising shim exists (or should)."""
        return self in (Status.RUNNING, Status.PAUSED, Status.RESTARTING)


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.CREATED: frozenset({Status.RUNNING, Status.REMOVING, Status.CREATED,
                               Status.EXITED}),
    Status.RUNNING: frozenset({Status.EXITED, Status.PAUSED, Status.RESTARTING,
                               Status.DEAD}),
    Status.PAUSED: frozenset({Status.RUNNING, Status.EXITED, Status.DEAD}),
    Status.RESTARTING: frozenset({Status.RUNNING, Status.EXITED, Status.DEAD}),
    Status.EXITED: frozenset({Status.RUNNING, Status.REMOVING, Status.RESTARTING}),
    Status.DEAD: frozenset({Status.REMOVING}),
    Status.REMOVING: frozenset(),
}


def can_transition(current: Status, new: Status) -> bool:
    return new in TRANSITIONS[current]
