from __future__ import annotations

from runtime.container.status import TRANSITIONS, Status, can_transition


def test_predicates():
    assert Status.CREATED.can_start and Status.EXITED.can_start
    assert not Status.RUNNING.can_start
    assert Status.RUNNING.can_stop and Status.RESTARTING.can_stop
    assert not Status.EXITED.can_stop
    assert Status.EXITED.can_remove and not Status.RUNNING.can_remove
    assert Status.RUNNING.can_pause and Status.PAUSED.can_unpause
    assert not Status.PAUSED.can_exec


def test_every_status_has_transitions_and_removing_is_final():
    assert set(TRANSITIONS) == set(Status)
    assert not TRANSITIONS[Status.REMOVING]
    assert can_transition(Status.RUNNING, Status.EXITED)
    assert not can_transition(Status.EXITED, Status.PAUSED)
